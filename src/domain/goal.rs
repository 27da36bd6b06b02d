//! A principal's growth goal: one personal leadership goal at a time, private to them and
//! their coach (`Access::may_see_goal`), with notes on how it is going (`/goal update`, and the
//! monthly reflection's answer about it).

use chrono::{DateTime, Utc};

use super::ids::{ServerId, UserId};
use super::text;
use crate::error::UserError;

/// Characters in a goal: one line, short enough to quote in a check-in question.
pub const GOAL_MAX: usize = 300;
/// Characters in a note from `/goal update` (the monthly reflection's answer keeps its own
/// limit, a message).
pub const NOTE_MAX: usize = 1000;
/// Notes `/goal show` lists, newest first; older ones are counted.
pub const NOTES_SHOWN: usize = 5;
/// Characters of a note quoted in `/goal show`.
const NOTE_QUOTE: usize = 300;

/// A goal as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrowthGoal {
    pub id: i64,
    pub server_id: ServerId,
    pub user_id: UserId,
    pub text: String,
    /// The framework indicator it serves (`12a`), if one was named.
    pub indicator_id: Option<String>,
    pub set_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// A note on a goal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoalNote {
    pub note: String,
    pub at: DateTime<Utc>,
}

/// A goal's text as typed: trimmed, one line, at most [`GOAL_MAX`] characters.
pub fn parse_goal(raw: &str) -> Result<String, UserError> {
    text::one_line("goal", raw, GOAL_MAX)
}

/// A note as typed: trimmed, at most [`NOTE_MAX`] characters (line breaks kept).
pub fn parse_note(raw: &str) -> Result<String, UserError> {
    text::bounded("note", raw, NOTE_MAX)
}

/// `/goal show`: the goal, the indicator it serves, when it was set, and its latest notes
/// (`notes` newest first), within one message. `whose` names the principal when a coach asks.
pub fn render(
    goal: &GrowthGoal,
    indicator_name: Option<&str>,
    notes: &[GoalNote],
    whose: Option<&str>,
) -> String {
    let title = match whose {
        Some(name) => format!("**{}'s growth goal**", text::clip(name, 80)),
        None => "**Your growth goal**".to_owned(),
    };
    let mut lines = vec![
        format!("{title} (set {}):", text::day(goal.set_at.date_naive())),
        format!("> {}", goal.text),
    ];
    match (&goal.indicator_id, indicator_name) {
        (Some(id), Some(name)) => lines.push(format!("Towards {id} {name}.")),
        (Some(id), None) => lines.push(format!("Towards {id}.")),
        _ => {}
    }
    if notes.is_empty() {
        lines.push(
            "No notes yet: `/goal update` adds one, and the monthly reflection asks how it is going."
                .to_owned(),
        );
        return text::clip(&lines.join("\n"), text::MESSAGE_CONTENT);
    }
    lines.push("Notes, newest first:".to_owned());
    for n in notes.iter().take(NOTES_SHOWN) {
        let one_line = n.note.split_whitespace().collect::<Vec<_>>().join(" ");
        lines.push(format!(
            "• {}: {}",
            text::day(n.at.date_naive()),
            text::clip(&one_line, NOTE_QUOTE)
        ));
    }
    let older = notes.len().saturating_sub(NOTES_SHOWN);
    if older > 0 {
        let noun = if older == 1 { "note" } else { "notes" };
        lines.push(format!("… and {older} older {noun}"));
    }
    text::clip(&lines.join("\n"), text::MESSAGE_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goal() -> GrowthGoal {
        GrowthGoal {
            id: 1,
            server_id: ServerId::new(1),
            user_id: UserId::new(2),
            text: "Give teachers feedback within a day of each visit".to_owned(),
            indicator_id: Some("12a".to_owned()),
            set_at: "2026-11-02T15:00:00Z".parse().expect("time"),
            ended_at: None,
        }
    }

    #[test]
    fn goal_text_is_one_short_line() {
        assert_eq!(
            parse_goal("  Listen first  ").as_deref(),
            Ok("Listen first")
        );
        assert!(matches!(parse_goal(" "), Err(UserError::Empty { .. })));
        assert!(matches!(
            parse_goal("a\nb"),
            Err(UserError::MultiLine { .. })
        ));
        assert!(matches!(
            parse_goal(&"x".repeat(GOAL_MAX + 1)),
            Err(UserError::TooLong { max: GOAL_MAX, .. })
        ));
        assert!(matches!(
            parse_note(&"x".repeat(NOTE_MAX + 1)),
            Err(UserError::TooLong { max: NOTE_MAX, .. })
        ));
    }

    #[test]
    fn show_bounds_the_notes_and_fits_a_message() {
        let notes: Vec<GoalNote> = (0..12)
            .map(|_| GoalNote {
                note: "y".repeat(2000),
                at: "2026-11-20T15:00:00Z".parse().expect("time"),
            })
            .collect();
        let shown = render(
            &goal(),
            Some("Leader partnerships"),
            &notes,
            Some("Pat Lee"),
        );
        assert!(
            shown.starts_with("**Pat Lee's growth goal** (set Mon 2 Nov 2026):"),
            "{shown}"
        );
        assert!(
            shown.contains("Towards 12a Leader partnerships."),
            "{shown}"
        );
        assert!(shown.ends_with("… and 7 older notes"), "{shown}");
        assert!(shown.chars().count() <= text::MESSAGE_CONTENT);
        let empty = render(&goal(), None, &[], None);
        assert!(empty.contains("No notes yet"), "{empty}");
    }
}
