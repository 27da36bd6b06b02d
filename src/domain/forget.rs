//! `/privacy forget`, pure: the confirmation buttons' ids, the mark that keeps a forgotten
//! person from being recorded or written to again, and how text that named them is rewritten.
//!
//! The rule after a forget: coachbot holds nothing about the person in that server, and
//! records nothing new about them from Discord's member sync (GUILD_MEMBER_UPDATE, member
//! chunks, someone else naming them) and sends them nothing, even if they keep a mapped
//! Discord role, until they themselves use a coachbot command there again. Only a keyed hash
//! of (server, person) is kept for that ([`contact_key`]).

use sha2::{Digest, Sha256};

use super::ids::{ServerId, UserId};
use super::privacy::FORMER_MEMBER;

/// The start of the confirmation button's id: `privacy:forget:<server>:<person>:<actor>`.
pub const FORGET_PREFIX: &str = "privacy:forget:";
/// The start of the cancel button's id: `privacy:keep:<actor>`.
pub const KEEP_PREFIX: &str = "privacy:keep:";

/// Names shorter than this are not looked for in free text (a one- or two-letter name would
/// match ordinary words); mentions and ids always are.
pub const MIN_NAME_CHARS: usize = 3;

/// The mark kept for a forgotten person: SHA-256 over a fixed label, the server and the
/// person, in hex. It is keyed by the server, so the same person's marks in two servers are
/// unrelated, and holds no id: reading the table tells nobody who was forgotten. It is not a
/// secret (whoever holds the database and a candidate id can check that one id), which is
/// all it is for: member sync and the outbox check the person in front of them.
pub fn contact_key(server: ServerId, person: UserId) -> String {
    let mut hash = Sha256::new();
    hash.update(b"coachbot forgotten contact v1\0");
    hash.update(server.get().to_be_bytes());
    hash.update(person.get().to_be_bytes());
    hash.finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The id of the button that confirms forgetting `person` in `server`, pressed by `actor`.
pub fn forget_button_id(server: ServerId, person: UserId, actor: UserId) -> String {
    format!("{FORGET_PREFIX}{server}:{person}:{actor}")
}

/// The id of the button that cancels, for `actor`.
pub fn keep_button_id(actor: UserId) -> String {
    format!("{KEEP_PREFIX}{actor}")
}

/// What a click on a `/privacy forget` button asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Click {
    /// Forget `person` in `server`, as `actor` confirmed.
    Forget {
        server: ServerId,
        person: UserId,
        actor: UserId,
    },
    /// Keep everything; only `actor` may say so.
    Keep { actor: UserId },
    /// Not a button this version knows.
    Unknown,
}

impl Click {
    /// Who may press the button (the one who ran the command), when it is a known one.
    pub fn actor(self) -> Option<UserId> {
        match self {
            Click::Forget { actor, .. } | Click::Keep { actor } => Some(actor),
            Click::Unknown => None,
        }
    }
}

/// Reads a button's id.
pub fn parse_click(custom_id: &str) -> Click {
    let id = |raw: &str| raw.parse::<u64>().ok();
    if let Some(rest) = custom_id.strip_prefix(FORGET_PREFIX) {
        let parts: Vec<&str> = rest.split(':').collect();
        if let [server, person, actor] = parts.as_slice()
            && let (Some(server), Some(person), Some(actor)) = (id(server), id(person), id(actor))
        {
            return Click::Forget {
                server: ServerId::new(server),
                person: UserId::new(person),
                actor: UserId::new(actor),
            };
        }
    } else if let Some(actor) = custom_id.strip_prefix(KEEP_PREFIX).and_then(id) {
        return Click::Keep {
            actor: UserId::new(actor),
        };
    }
    Click::Unknown
}

/// How text that named a forgotten person is rewritten: their mentions and names read
/// [`FORMER_MEMBER`], and their id (in keys and stored message data) becomes the stand-in's,
/// so what was one person's stays one (unnamed) person's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scrub {
    person: UserId,
    stand_in: UserId,
    names: Vec<String>,
}

impl Scrub {
    /// `names`: every name the person went by here (the stored one, the one Discord shows);
    /// those shorter than [`MIN_NAME_CHARS`] are left out.
    pub fn new(person: UserId, stand_in: UserId, names: impl IntoIterator<Item = String>) -> Self {
        let mut names: Vec<String> = names
            .into_iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| n.chars().count() >= MIN_NAME_CHARS && n != FORMER_MEMBER)
            .collect();
        // The longest first, so that "Dana Whitfield" goes before "Dana" would split it.
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        names.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        Self {
            person,
            stand_in,
            names,
        }
    }

    /// What a text must contain to need rewriting (ASCII case aside): the id's digits or one
    /// of the names. The store looks only at rows holding one of these.
    pub fn needles(&self) -> Vec<String> {
        let mut needles = vec![self.person.to_string()];
        needles.extend(self.names.iter().cloned());
        needles
    }

    /// `text` rewritten, or None when it does not name the person.
    pub fn apply(&self, text: &str) -> Option<String> {
        let id = self.person.to_string();
        let mut out = text
            .replace(&format!("<@!{id}>"), FORMER_MEMBER)
            .replace(&format!("<@{id}>"), FORMER_MEMBER);
        for name in &self.names {
            out = replace_bounded(&out, name, FORMER_MEMBER, |c| c.is_alphanumeric(), true);
        }
        out = replace_bounded(
            &out,
            &id,
            &self.stand_in.to_string(),
            |c| c.is_ascii_digit(),
            false,
        );
        (out != text).then_some(out)
    }
}

/// `text` with every occurrence of `word` that is not part of a longer run (the characters
/// either side fail `joins`) replaced by `with`; ASCII case ignored when `any_case`.
fn replace_bounded(
    text: &str,
    word: &str,
    with: &str,
    joins: impl Fn(char) -> bool,
    any_case: bool,
) -> String {
    if word.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    let mut at = 0;
    while at + word.len() <= text.len() {
        let end = at + word.len();
        let hit = text.is_char_boundary(at)
            && text.is_char_boundary(end)
            && if any_case {
                text[at..end].eq_ignore_ascii_case(word)
            } else {
                &text[at..end] == word
            }
            && !text[..at].chars().next_back().is_some_and(&joins)
            && !text[end..].chars().next().is_some_and(&joins);
        if hit {
            out.push_str(&text[rest..at]);
            out.push_str(with);
            rest = end;
            at = end;
        } else {
            at += 1;
        }
    }
    out.push_str(&text[rest..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DANA: UserId = UserId::new(412_345_678_901_234_567);

    #[test]
    fn buttons_round_trip_and_name_who_may_press_them() {
        let server = ServerId::new(900_000_000_000_000_001);
        let admin = UserId::new(500_000_000_000_000_002);
        let id = forget_button_id(server, DANA, admin);
        assert!(id.starts_with("privacy:"), "under the /privacy prefix");
        assert!(id.len() <= 100, "Discord's limit for a custom id");
        assert_eq!(
            parse_click(&id),
            Click::Forget {
                server,
                person: DANA,
                actor: admin
            }
        );
        assert_eq!(parse_click(&id).actor(), Some(admin));
        assert_eq!(
            parse_click(&keep_button_id(DANA)),
            Click::Keep { actor: DANA }
        );
        for bad in [
            "privacy:forget:1:2",
            "privacy:forget:a:b:c",
            "privacy:keep:",
            "ci:1:2",
        ] {
            assert_eq!(parse_click(bad), Click::Unknown, "{bad}");
        }
    }

    #[test]
    fn the_mark_depends_on_server_and_person_and_holds_no_id() {
        let one = ServerId::new(1);
        let key = contact_key(one, DANA);
        assert_eq!(key.len(), 64);
        assert!(!key.contains(&DANA.to_string()));
        assert_eq!(key, contact_key(one, DANA));
        assert_ne!(key, contact_key(ServerId::new(2), DANA));
        assert_ne!(key, contact_key(one, UserId::new(DANA.get() + 1)));
    }

    #[test]
    fn mentions_names_and_ids_become_the_former_member() {
        let scrub = Scrub::new(
            DANA,
            UserId::new(7),
            [
                "Dana Whitfield".to_owned(),
                "Dana".to_owned(),
                "Al".to_owned(),
            ],
        );
        assert_eq!(
            scrub
                .apply("Ask <@412345678901234567> or <@!412345678901234567>")
                .as_deref(),
            Some("Ask a former member or a former member")
        );
        assert_eq!(
            scrub
                .apply("DANA WHITFIELD and dana will lead; Danae stays")
                .as_deref(),
            Some("a former member and a former member will lead; Danae stays")
        );
        assert_eq!(
            scrub
                .apply(
                    r#"{"person_id":412345678901234567,"key":"checkin:4:2026:412345678901234567"}"#
                )
                .as_deref(),
            Some(r#"{"person_id":7,"key":"checkin:4:2026:7"}"#)
        );
        // A longer number that merely contains the id is another id.
        assert_eq!(scrub.apply("94123456789012345670"), None);
        // Two-letter names are not looked for in free text.
        assert_eq!(scrub.apply("Al said"), None);
        assert_eq!(
            scrub.needles(),
            ["412345678901234567", "Dana Whitfield", "Dana"]
        );
        // Text in other scripts is left whole.
        assert_eq!(scrub.apply("Zoë: été"), None);
        assert_eq!(
            scrub.apply("Dana: été").as_deref(),
            Some("a former member: été")
        );
    }
}
