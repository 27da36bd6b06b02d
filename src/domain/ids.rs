//! Ids that travel between layers, each its own type: a school's id cannot be passed where a
//! step's is wanted, nor a person's where a server's is. Discord's ids (servers, people) are
//! unsigned snowflakes; our own rows' ids (schools, steps) are the database's signed keys.
//! How they are stored is the store's business (`store::id_column!`).

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($raw:ty)) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name($raw);

        impl $name {
            pub const fn new(raw: $raw) -> Self {
                Self(raw)
            }

            pub const fn get(self) -> $raw {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

id_type!(
    /// A Discord server (guild): one coaching organisation or district.
    ServerId(u64)
);
id_type!(
    /// A Discord user: a coach, a principal, a team member, a district leader.
    UserId(u64)
);
id_type!(
    /// A school in a server (our row).
    SchoolId(i64)
);
id_type!(
    /// An action step in a school's plan (our row).
    StepId(i64)
);
id_type!(
    /// A coaching session a coach logged with a school (our row).
    CoachingSessionId(i64)
);

/// Ids below this are never Discord ids (a snowflake carries its millisecond timestamp in the
/// bits above 22, and Discord's epoch began in 2015), so coachbot uses them for the stand-ins of
/// forgotten people (`former_members`, `/privacy forget`).
pub const FORMER_MEMBER_CEILING: u64 = 1 << 22;

impl UserId {
    /// How Discord writes a mention of this person; a forgotten person's stand-in reads
    /// "a former member".
    pub fn mention(self) -> String {
        if self.is_former_member() {
            crate::domain::privacy::FORMER_MEMBER.to_owned()
        } else {
            format!("<@{}>", self.0)
        }
    }

    /// Whether this id stands in for a forgotten person rather than naming a Discord user.
    pub fn is_former_member(self) -> bool {
        self.0 < FORMER_MEMBER_CEILING
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_show_and_serialize_as_their_number() {
        assert_eq!(ServerId::new(42).to_string(), "42");
        assert_eq!(
            UserId::new(41_771_983_423_143_936).mention(),
            "<@41771983423143936>"
        );
        // A forgotten person's stand-in is never a mention.
        assert_eq!(UserId::new(7).mention(), "a former member");
        let json = serde_json::to_string(&(SchoolId::new(3), StepId::new(9))).expect("serializes");
        assert_eq!(json, "[3,9]");
        let back: (SchoolId, StepId) = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, (SchoolId::new(3), StepId::new(9)));
    }
}
