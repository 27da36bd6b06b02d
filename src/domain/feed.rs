//! A school's team feed: after a confirmed check-in, one short message in the school's feed
//! channel with what the person shared to the plan and the steps it touched. Only what went
//! onto the plan (the check-in's [`Outcome`]s) is ever quoted; private answers are not
//! mentioned at all, not even counted.

use super::checkin::Outcome;
use super::ids::StepId;
use super::text::{MESSAGE_CONTENT, clip, join_within};

/// The longest quote of one shared answer in the feed: the plan holds it whole.
pub const QUOTE_MAX: usize = 300;
/// The longest step title or name quoted.
const TITLE_MAX: usize = 80;

/// The outbox key of a check-in's feed post: one per check-in, never posted twice.
pub fn key(session_id: i64) -> String {
    format!("feed:{session_id}")
}

/// The message for the feed, or None when nothing was shared (then nothing is posted).
/// `steps` are the person's open steps when the check-in began, to name the ones touched.
pub fn post(
    name: &str,
    flow_title: &str,
    shared: &[Outcome],
    steps: &[(StepId, String)],
) -> Option<String> {
    if shared.is_empty() {
        return None;
    }
    let step_name = |id: StepId| {
        let title = steps
            .iter()
            .find(|(s, _)| *s == id)
            .map_or_else(String::new, |(_, t)| format!(" “{}”", clip(t, TITLE_MAX)));
        format!("step #{id}{title}")
    };
    let mut touched: Vec<StepId> = Vec::new();
    let lines: Vec<String> = shared
        .iter()
        .map(|outcome| match outcome {
            Outcome::StepUpdate { step_id, note } => {
                if !touched.contains(step_id) {
                    touched.push(*step_id);
                }
                format!("• On {}: {}", step_name(*step_id), quote(note))
            }
            Outcome::Barrier {
                step_id,
                category,
                text,
            } => {
                let on = match step_id {
                    Some(id) => {
                        if !touched.contains(id) {
                            touched.push(*id);
                        }
                        step_name(*id)
                    }
                    None => "the plan".to_owned(),
                };
                format!("• A {category} barrier on {on}: {}", quote(text))
            }
            Outcome::BarrierNote { barrier_id, text } => {
                format!("• Underneath barrier #{barrier_id}: {}", quote(text))
            }
        })
        .collect();
    let head = format!(
        "**{}** shared from their {}:",
        clip(name.trim(), TITLE_MAX),
        clip(flow_title, TITLE_MAX)
    );
    let tail = if touched.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = touched.iter().map(|id| format!("#{id}")).collect();
        format!("\nSteps touched: {}", join_within(&names, ", ", 200, ""))
    };
    let room = MESSAGE_CONTENT - head.chars().count() - tail.chars().count() - 1;
    let body = join_within(&lines, "\n", room, "the plan has the rest");
    Some(clip(&format!("{head}\n{body}{tail}"), MESSAGE_CONTENT))
}

/// An answer as the feed quotes it: on one line, at most [`QUOTE_MAX`] characters.
fn quote(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    clip(&one_line, QUOTE_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps() -> Vec<(StepId, String)> {
        vec![
            (StepId::new(3), "Partnership meetings".to_owned()),
            (StepId::new(4), "Notes template".to_owned()),
        ]
    }

    #[test]
    fn nothing_shared_posts_nothing() {
        assert_eq!(post("Pat Lee", "Weekly", &[], &steps()), None);
    }

    #[test]
    fn names_the_person_the_answers_and_the_steps() {
        let shared = [
            Outcome::StepUpdate {
                step_id: StepId::new(3),
                note: "We met\ntwice".to_owned(),
            },
            Outcome::Barrier {
                step_id: None,
                category: "time".to_owned(),
                text: "No time".to_owned(),
            },
        ];
        let text = post("Pat Lee", "Weekly step check-in", &shared, &steps()).expect("a post");
        assert_eq!(
            text,
            "**Pat Lee** shared from their Weekly step check-in:\n\
             • On step #3 “Partnership meetings”: We met twice\n\
             • A time barrier on the plan: No time\n\
             Steps touched: #3"
        );
    }

    #[test]
    fn long_answers_are_clipped_and_the_post_fits_a_message() {
        let shared: Vec<Outcome> = (0..30)
            .map(|_| Outcome::StepUpdate {
                step_id: StepId::new(4),
                note: "x".repeat(2000),
            })
            .collect();
        let text = post(&"N".repeat(500), "Weekly", &shared, &steps()).expect("a post");
        assert!(text.chars().count() <= MESSAGE_CONTENT, "{}", text.len());
        assert!(text.contains("…"));
        assert!(text.contains("more; the plan has the rest"), "{text}");
        assert!(text.ends_with("Steps touched: #4"), "{text}");
    }
}
