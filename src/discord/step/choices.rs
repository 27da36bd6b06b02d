//! The fixed choices of the step commands: a step's status and a barrier's kind.

use crate::domain::plan::{BarrierCategory, StepStatus};

#[derive(Clone, Copy, Debug, poise::ChoiceParameter)]
pub enum StatusChoice {
    #[name = "planned"]
    Planned,
    #[name = "in progress"]
    InProgress,
    #[name = "blocked"]
    Blocked,
    #[name = "done"]
    Done,
    #[name = "dropped"]
    Dropped,
}

impl From<StatusChoice> for StepStatus {
    fn from(choice: StatusChoice) -> Self {
        match choice {
            StatusChoice::Planned => StepStatus::Planned,
            StatusChoice::InProgress => StepStatus::InProgress,
            StatusChoice::Blocked => StepStatus::Blocked,
            StatusChoice::Done => StepStatus::Done,
            StatusChoice::Dropped => StepStatus::Dropped,
        }
    }
}

#[derive(Clone, Copy, Debug, poise::ChoiceParameter)]
pub enum CategoryChoice {
    #[name = "time"]
    Time,
    #[name = "people"]
    People,
    #[name = "resources"]
    Resources,
    #[name = "policy"]
    Policy,
    #[name = "knowledge"]
    Knowledge,
    #[name = "other"]
    Other,
}

impl From<CategoryChoice> for BarrierCategory {
    fn from(choice: CategoryChoice) -> Self {
        match choice {
            CategoryChoice::Time => BarrierCategory::Time,
            CategoryChoice::People => BarrierCategory::People,
            CategoryChoice::Resources => BarrierCategory::Resources,
            CategoryChoice::Policy => BarrierCategory::Policy,
            CategoryChoice::Knowledge => BarrierCategory::Knowledge,
            CategoryChoice::Other => BarrierCategory::Other,
        }
    }
}
