//! What the bot has promised to send, as it waits in the outbox: one enum, a variant a kind.
//! The kind is stored in its own column and the rest as JSON; a row whose kind this program
//! does not know fails to decode, and is marked failed, never taken for something else.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{SchoolId, StepId, UserId};
use super::message::{MessageBody, Prompt};

/// One row's message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutboxMessage {
    /// A scheduled check-in: started, and its first question sent, when delivered.
    CheckinStart(CheckinStart),
    /// The one gentle reminder for a check-in left unanswered.
    Nudge { session_id: i64 },
    /// A DM to a coach of a school (someone they coach cannot be reached): sent only while
    /// they still coach it (notices queued before the school was stored go to any coach).
    Notice {
        text: String,
        #[serde(default)]
        school_id: Option<SchoolId>,
    },
    /// A coach's digest, composed from the data of the moment it is delivered.
    Digest(DigestDue),
    /// An indicator summary, composed from the data of the moment it is delivered.
    Summary(SummaryDue),
    /// One Discord message of a composed report.
    Message(Outgoing),
    /// One line in a school's channel about a change to its plan; also a team-feed post (what
    /// a person shared in a confirmed check-in, `domain::feed`), a few lines in its feed channel.
    Announcement { channel_id: u64, text: String },
    /// A reminder to one owner of a step (due soon, or overdue), by DM: sent only while the
    /// step is open, they still own it, want reminders and are not away.
    Reminder { step_id: StepId, text: String },
    /// One prompt of a check-in conversation (a question, the reflection: one or more
    /// messages, in order), to the person in DM, sent only while the check-in is open.
    Prompt {
        session_id: i64,
        messages: Vec<Prompt>,
    },
}

/// Every kind [`OutboxMessage::kind`] names: the outbox backlog metric shows each, at 0 when
/// none waits.
pub const KINDS: &[&str] = &[
    "checkin_start",
    "nudge",
    "notice",
    "digest",
    "summary",
    "message",
    "announcement",
    "prompt",
    "reminder",
];

impl OutboxMessage {
    /// The kind as stored (`checkin_start`, `nudge`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            OutboxMessage::CheckinStart(_) => "checkin_start",
            OutboxMessage::Nudge { .. } => "nudge",
            OutboxMessage::Notice { .. } => "notice",
            OutboxMessage::Digest(_) => "digest",
            OutboxMessage::Summary(_) => "summary",
            OutboxMessage::Message(_) => "message",
            OutboxMessage::Announcement { .. } => "announcement",
            OutboxMessage::Prompt { .. } => "prompt",
            OutboxMessage::Reminder { .. } => "reminder",
        }
    }

    /// The kind and the JSON of the rest, as stored.
    pub fn encode(&self) -> Result<(&'static str, String), serde_json::Error> {
        let mut value = serde_json::to_value(self)?;
        if let Some(fields) = value.as_object_mut() {
            fields.remove("kind");
        }
        Ok((self.kind(), value.to_string()))
    }

    /// The message of a stored row: its kind and the JSON of the rest.
    pub fn decode(kind: &str, payload: &str) -> Result<Self, serde_json::Error> {
        let mut value: serde_json::Value = serde_json::from_str(payload)?;
        if let Some(fields) = value.as_object_mut() {
            fields.insert(
                "kind".to_owned(),
                serde_json::Value::String(kind.to_owned()),
            );
        }
        serde_json::from_value(value)
    }
}

/// What to do with a row whose send failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Discord error 50007: this person's DMs are closed. Stop, and remember it.
    Unreachable,
    /// Try again at `at`; `counts` when the failure counts against the outbox's most attempts (a 429
    /// does not: Discord said when).
    At {
        at: DateTime<Utc>,
        counts: bool,
        /// A 429 that paused every request of the bot, not only this route.
        global: bool,
    },
    /// Trying again will not help (Discord refused the request), or it has been tried enough.
    GiveUp,
}

/// A scheduled check-in waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckinStart {
    pub schedule_id: i64,
    pub school_id: SchoolId,
    pub person_id: UserId,
    pub flow_id: String,
    pub occurrence: DateTime<Utc>,
    /// Who set the schedule up: recorded as who started the check-in.
    pub started_by: UserId,
    pub nudge_hours: i64,
    /// For a follow-up: the step it comes back to.
    #[serde(default)]
    pub step_id: Option<StepId>,
    /// While the person's previous check-in in this server is open it waits, until this
    /// time (the schedule's next occurrence); then it is recorded as missed. None: a week
    /// after `occurrence`.
    #[serde(default)]
    pub start_by: Option<DateTime<Utc>>,
}

/// A coach's digest waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestDue {
    pub schedule_id: i64,
    pub coach_id: UserId,
    pub time_zone: String,
    pub occurrence: DateTime<Utc>,
}

/// An indicator summary waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryDue {
    /// The schedule that fired it; None when someone asked with `/summary post`.
    pub schedule_id: Option<i64>,
    pub school_id: Option<SchoolId>,
    pub channel_id: u64,
    pub occurrence: DateTime<Utc>,
}

/// One message of a report: to the row's person by DM, or to a channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// A channel post; None sends to the row's person by DM.
    #[serde(default)]
    pub channel_id: Option<u64>,
    pub body: MessageBody,
    /// Post in a thread opened on an earlier message of the same report, not in the channel.
    #[serde(default)]
    pub thread: Option<InThread>,
}

/// Where a threaded message goes: the thread on the message its starter row sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InThread {
    /// The outbox key of the starter message.
    pub starter: String,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips_through_its_kind_and_payload() {
        let messages = [
            OutboxMessage::Nudge { session_id: 7 },
            OutboxMessage::Notice {
                text: "hello".into(),
                school_id: Some(SchoolId::new(3)),
            },
            OutboxMessage::Announcement {
                channel_id: 42,
                text: "New step #3".into(),
            },
            OutboxMessage::Prompt {
                session_id: 5,
                messages: vec![Prompt::text("What moved this week?")],
            },
            OutboxMessage::Summary(SummaryDue {
                schedule_id: None,
                school_id: Some(SchoolId::new(2)),
                channel_id: 9,
                occurrence: DateTime::UNIX_EPOCH,
            }),
        ];
        for message in messages {
            let (kind, payload) = message.encode().expect("encodes");
            assert!(!payload.contains("\"kind\""), "{payload}");
            assert_eq!(
                OutboxMessage::decode(kind, &payload).expect("decodes"),
                message
            );
        }
    }

    #[test]
    fn rows_written_before_the_enum_still_decode() {
        let nudge = OutboxMessage::decode("nudge", r#"{"session_id":12}"#).expect("decodes");
        assert_eq!(nudge, OutboxMessage::Nudge { session_id: 12 });
    }

    #[test]
    fn an_unknown_kind_is_an_error_not_a_check_in() {
        let payload = r#"{"schedule_id":1,"school_id":1,"person_id":5,"flow_id":"weekly","occurrence":"2026-01-01T00:00:00Z","started_by":1,"nudge_hours":24}"#;
        assert!(OutboxMessage::decode("checkin_start", payload).is_ok());
        assert!(OutboxMessage::decode("fax", payload).is_err());
    }
}
