//! What uses a framework's indicators: a school's focus (with its steps and level records)
//! and assessment results. A framework that drops one of them is not loaded.

use crate::domain::framework::Framework;

/// Tables whose rows name an indicator; a load holds new rows back while it checks them.
pub(super) const TABLES: &[&str] = &["focus_indicators"];

/// Each focus of the server: its indicator, its school, and how many steps and level
/// records hang on it. `$1` is the server.
pub(super) const FOCUSES: &str = "SELECT f.indicator_id, s.name,
        (SELECT COUNT(*) FROM action_steps a WHERE a.focus_id = f.id),
        (SELECT COUNT(*) FROM indicator_levels l WHERE l.focus_id = f.id)
     FROM focus_indicators f JOIN schools s ON s.id = f.school_id
     WHERE f.server_id = $1
     ORDER BY f.indicator_id, s.name";

/// A record that uses an indicator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndicatorUse {
    /// The indicator id as the record names it.
    pub indicator_id: String,
    pub what: Use,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Use {
    /// A school's focus indicator, with the steps and level records that hang on it.
    Focus {
        school: String,
        steps: i64,
        levels: i64,
    },
    /// An assessment's results for the indicator.
    Assessment { name: String, school: String },
}

/// The uses among `focuses` whose indicator `framework` does not have (ids in any case).
pub(super) fn missing_from(
    framework: &Framework,
    focuses: Vec<(String, String, i64, i64)>,
) -> Vec<IndicatorUse> {
    focuses
        .into_iter()
        .filter(|(id, ..)| framework.indicator(id).is_none())
        .map(|(indicator_id, school, steps, levels)| IndicatorUse {
            indicator_id,
            what: Use::Focus {
                school,
                steps,
                levels,
            },
        })
        .collect()
}
