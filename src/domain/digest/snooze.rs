//! Snoozing a digest item for a week: the items' names (`step:12`, `barrier:4`,
//! `missed:<person>:<flow>`, `noplan:<school>`) and the ids of the buttons that do it. A
//! button's id carries the server and the coach, so it works in a DM and after a restart.

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::ids::{ServerId, UserId};
use crate::domain::message::{Button, ButtonStyle};
use crate::domain::text::clip;

/// A snoozed item stays out of the digest this long.
pub const SNOOZE_DAYS: i64 = 7;
/// Discord's limits: a button's id, a label, and 5 rows of 5 buttons.
pub const CUSTOM_ID_MAX: usize = 100;
const LABEL_MAX: usize = 80;
pub const BUTTONS_MAX: usize = 25;

/// The prefix of the **Snooze…** button under a digest (`digest:snooze:<server>:<coach>`).
pub const MENU_PREFIX: &str = "digest:snooze:";
/// The prefix of a button that snoozes one item (`digest:item:<server>:<coach>:<item>`).
pub const ITEM_PREFIX: &str = "digest:item:";

/// An item of the digest that can be snoozed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snoozable {
    pub key: String,
    /// What the button says: "Step #12 Walkthroughs".
    pub label: String,
}

/// Whether `key` names an item the digest can snooze.
pub fn is_item_key(key: &str) -> bool {
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match key.split_once(':') {
        Some(("step" | "barrier" | "noplan", id)) => number(id),
        Some(("missed", rest)) => rest
            .split_once(':')
            .is_some_and(|(person, flow)| number(person) && !flow.is_empty()),
        _ => false,
    }
}

/// The item in words, for the reply to a snooze: "step #12", "barrier #4", "no plan at
/// school #3", "the check-ins <@5> missed (`weekly`)".
pub fn describe(key: &str) -> String {
    match key.split_once(':') {
        Some(("step", id)) => format!("step #{id}"),
        Some(("barrier", id)) => format!("barrier #{id}"),
        Some(("noplan", _)) => "the school's missing plan".to_owned(),
        Some(("missed", rest)) => match rest.split_once(':') {
            Some((person, flow)) => {
                format!(
                    "the check-ins <@{person}> missed in a row (`{}`)",
                    clip(flow, 60)
                )
            }
            None => "a missed check-in".to_owned(),
        },
        _ => "that item".to_owned(),
    }
}

/// When a snooze made at `now` ends.
pub fn until(now: DateTime<Utc>) -> DateTime<Utc> {
    now + TimeDelta::days(SNOOZE_DAYS)
}

/// The one **Snooze…** button under a digest.
pub fn menu_button(server: ServerId, coach: UserId) -> Button {
    Button::new(
        format!("{MENU_PREFIX}{}:{}", server.get(), coach.get()),
        "Snooze an item for a week…",
        ButtonStyle::Secondary,
    )
}

/// The server and coach of a **Snooze…** button.
pub fn parse_menu(custom_id: &str) -> Option<(ServerId, UserId)> {
    let (server, coach) = custom_id.strip_prefix(MENU_PREFIX)?.split_once(':')?;
    Some((
        ServerId::new(server.parse().ok()?),
        UserId::new(coach.parse().ok()?),
    ))
}

/// A button per item, five to a row, at most 25; an item whose id would be too long for
/// Discord gets none. Returns the rows and how many items got no button.
pub fn item_buttons(
    server: ServerId,
    coach: UserId,
    items: &[Snoozable],
) -> (Vec<Vec<Button>>, usize) {
    let buttons: Vec<Button> = items
        .iter()
        .map(|item| {
            (
                format!("{ITEM_PREFIX}{}:{}:{}", server.get(), coach.get(), item.key),
                item,
            )
        })
        .filter(|(id, _)| id.len() <= CUSTOM_ID_MAX)
        .take(BUTTONS_MAX)
        .map(|(id, item)| Button::new(id, clip(&item.label, LABEL_MAX), ButtonStyle::Secondary))
        .collect();
    let left = items.len() - buttons.len();
    (buttons.chunks(5).map(<[Button]>::to_vec).collect(), left)
}

/// The server, coach and item of an item button.
pub fn parse_item(custom_id: &str) -> Option<(ServerId, UserId, &str)> {
    let rest = custom_id.strip_prefix(ITEM_PREFIX)?;
    let (server, rest) = rest.split_once(':')?;
    let (coach, item) = rest.split_once(':')?;
    is_item_key(item).then_some(())?;
    Some((
        ServerId::new(server.parse().ok()?),
        UserId::new(coach.parse().ok()?),
        item,
    ))
}

/// What a click on one of the digest's buttons asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Click<'a> {
    /// The coach's snoozable items, a button each.
    Menu { server: ServerId },
    /// Snooze this item.
    Item { server: ServerId, item: &'a str },
    /// The button is another coach's: refused.
    NotTheirs,
    /// Not a button this version knows.
    Unknown,
}

/// The click of `clicker` on the button `custom_id`: only the coach whose digest it is may
/// use it.
pub fn claim(custom_id: &str, clicker: UserId) -> Click<'_> {
    if let Some((server, coach)) = parse_menu(custom_id) {
        if coach == clicker {
            Click::Menu { server }
        } else {
            Click::NotTheirs
        }
    } else if let Some((server, coach, item)) = parse_item(custom_id) {
        if coach == clicker {
            Click::Item { server, item }
        } else {
            Click::NotTheirs
        }
    } else {
        Click::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_coach_whose_digest_it_is_may_press_its_buttons() {
        let (server, casey, dana) = (ServerId::new(1), UserId::new(2), UserId::new(3));
        let menu = menu_button(server, casey).id;
        assert_eq!(claim(&menu, casey), Click::Menu { server });
        assert_eq!(claim(&menu, dana), Click::NotTheirs);
        let items = [Snoozable {
            key: "step:12".into(),
            label: "Step #12".into(),
        }];
        let (rows, _) = item_buttons(server, casey, &items);
        let item = &rows[0][0].id;
        assert_eq!(
            claim(item, casey),
            Click::Item {
                server,
                item: "step:12"
            }
        );
        assert_eq!(claim(item, dana), Click::NotTheirs);
        assert_eq!(claim("digest:item:1:2:bogus", casey), Click::Unknown);
    }

    #[test]
    fn item_keys_and_button_ids_round_trip_within_discords_limits() {
        for key in [
            "step:12",
            "barrier:4",
            "noplan:3",
            "missed:1234:weekly-step",
        ] {
            assert!(is_item_key(key), "{key}");
        }
        for key in [
            "step:",
            "step:x",
            "missed:12",
            "missed:x:flow",
            "other:1",
            "",
        ] {
            assert!(!is_item_key(key), "{key}");
        }
        let (server, coach) = (ServerId::new(u64::MAX / 3), UserId::new(u64::MAX / 5));
        assert_eq!(
            parse_menu(&menu_button(server, coach).id),
            Some((server, coach))
        );
        let items: Vec<Snoozable> = (0..30)
            .map(|n| Snoozable {
                key: format!("step:{n}"),
                label: format!("Step #{n} {}", "long title ".repeat(20)),
            })
            .chain(std::iter::once(Snoozable {
                key: format!("missed:1:{}", "f".repeat(90)),
                label: "too long an id".into(),
            }))
            .collect();
        let (rows, left) = item_buttons(server, coach, &items);
        assert_eq!(rows.len(), 5);
        assert!(rows.iter().all(|r| r.len() == 5));
        assert_eq!(left, 6);
        let first = &rows[0][0];
        assert!(first.label.chars().count() <= LABEL_MAX);
        assert_eq!(parse_item(&first.id), Some((server, coach, "step:0")));
        assert_eq!(parse_item("digest:item:1:2:bogus:3"), None);
    }
}
