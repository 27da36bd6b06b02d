//! Errors a person reads. Each `Display` is a sentence for a principal or a coach: what went
//! wrong and what to do. Internal errors stay `anyhow::Error` with context; `on_error` keeps
//! the two apart.

/// A mistake in what someone asked for. Shown to them (ephemeral), never logged as a fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserError {
    #[error("This command works inside a server, not in a direct message.")]
    ServerOnly,

    #[error(
        "`{given}` is not a time zone I know. Use an IANA name such as `America/Chicago` or \
         `Europe/London` (start typing in the time zone box to see suggestions)."
    )]
    UnknownTimeZone { given: String },

    #[error(
        "Only {needed} can {action}. If that should include you, ask a server admin to map one of \
         your Discord roles with `/setup role`."
    )]
    NotPermitted {
        needed: &'static str,
        action: &'static str,
    },

    #[error("The {field} is empty. Please give a {field}.")]
    Empty { field: &'static str },

    #[error(
        "The {field} is {len} characters long; the limit is {max}. Please shorten it and try again."
    )]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },

    #[error("The {field} may not contain line breaks. Please keep it on one line.")]
    MultiLine { field: &'static str },

    #[error(
        "`{given}` is not a coachbot role. Pick one of: principal, team, coach, district, admin."
    )]
    UnknownRole { given: String },

    #[error(
        "There is no school called `{name}` in this server. Check the spelling, or add it first \
         with `/setup school`."
    )]
    UnknownSchool { name: String },

    #[error("`@everyone` is not a role that can be mapped. Pick a role that you give to people.")]
    EveryoneRole,
}
