//! Away and calendar: a person's absence and a school's breaks, as spans of local dates (both
//! ends included), and owner reminders for steps. What falls in a span is skipped (recorded as
//! such), never counted as missed. Pure: every date and time is a parameter.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use super::ids::{SchoolId, ServerId, StepId, UserId};
use super::text::{clip, day};
use crate::error::UserError;

/// A span of local dates, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Span {
    /// A window someone asked for: `from` not after `to`, and not over already.
    pub fn new(from: NaiveDate, to: NaiveDate, today: NaiveDate) -> Result<Self, UserError> {
        if from > to {
            return Err(UserError::BadWindow {
                why: format!(
                    "it starts ({}) after it ends ({}). Give the first day, then the last",
                    day(from),
                    day(to)
                ),
            });
        }
        if to < today {
            return Err(UserError::BadWindow {
                why: format!(
                    "it ended on {}, before today ({}). Give a last day of today or later",
                    day(to),
                    day(today)
                ),
            });
        }
        Ok(Self { from, to })
    }

    pub fn covers(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }

    /// How it reads: `Mon 21 Dec – Fri 1 Jan`, or one day.
    pub fn label(&self) -> String {
        if self.from == self.to {
            day(self.from)
        } else {
            format!("{} – {}", day(self.from), day(self.to))
        }
    }
}

/// Why something due was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// The person was away that day.
    Away,
    /// Their school was on a break that day.
    Break,
}

impl Skip {
    /// The word stored with a skipped check-in.
    pub fn reason(self) -> &'static str {
        match self {
            Skip::Away => "away",
            Skip::Break => "break",
        }
    }

    /// The outcome stored for a schedule's run in which nobody was asked.
    pub fn outcome(self) -> &'static str {
        match self {
            Skip::Away => "skipped_away",
            Skip::Break => "skipped_break",
        }
    }
}

/// The away periods and breaks around a moment, for every server: what the scheduler checks
/// each occurrence against.
#[derive(Clone, Debug, Default)]
pub struct Absences {
    pub away: Vec<(ServerId, UserId, Span)>,
    pub breaks: Vec<(ServerId, SchoolId, Span)>,
}

impl Absences {
    pub fn is_away(&self, server: ServerId, person: UserId, date: NaiveDate) -> bool {
        self.away
            .iter()
            .any(|(s, p, span)| *s == server && *p == person && span.covers(date))
    }

    pub fn on_break(&self, server: ServerId, school: SchoolId, date: NaiveDate) -> bool {
        self.breaks
            .iter()
            .any(|(s, id, span)| *s == server && *id == school && span.covers(date))
    }

    /// Why `person` (of `school`) is skipped on `date`, if they are: the school's break first.
    pub fn skip(
        &self,
        server: ServerId,
        school: Option<SchoolId>,
        person: UserId,
        date: NaiveDate,
    ) -> Option<Skip> {
        if school.is_some_and(|school| self.on_break(server, school, date)) {
            Some(Skip::Break)
        } else if self.is_away(server, person, date) {
            Some(Skip::Away)
        } else {
            None
        }
    }
}

/// Days after `since` up to and including `today` that fall in one of `breaks`: the days a
/// school's silence does not count.
pub fn break_days(breaks: &[Span], since: NaiveDate, today: NaiveDate) -> i64 {
    let mut count = 0;
    let mut date = since;
    while date < today {
        date += TimeDelta::days(1);
        if breaks.iter().any(|b| b.covers(date)) {
            count += 1;
        }
    }
    count
}

/// Local time of day at which owner reminders go out.
pub const REMINDER_TIME: NaiveTime = match NaiveTime::from_hms_opt(8, 0, 0) {
    Some(time) => time,
    None => panic!("08:00 is a time"),
};
/// Days before the due date of the first reminder.
pub const REMIND_DAYS_BEFORE: i64 = 2;
/// An overdue reminder is sent within this many days after the due date, not later (a step
/// long overdue when reminders began gets none).
pub const OVERDUE_WINDOW_DAYS: i64 = 7;

/// Which reminder an owner gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReminderKind {
    /// Due in two days (or one, when the first morning was skipped).
    DueSoon,
    /// Past its due date.
    Overdue,
}

impl ReminderKind {
    pub fn key(self) -> &'static str {
        match self {
            ReminderKind::DueSoon => "soon",
            ReminderKind::Overdue => "overdue",
        }
    }
}

/// The reminder due for a step due on `due_on` at the school's local time `local_now`, if
/// any: from 08:00 two days before (until the due date), and from 08:00 the day after it (for
/// a week). Each is sent once (the caller keys it); a morning skipped (away, break) leaves the
/// rest of its window.
pub fn reminder_due(due_on: NaiveDate, local_now: NaiveDateTime) -> Option<ReminderKind> {
    if local_now.time() < REMINDER_TIME {
        return None;
    }
    let today = local_now.date();
    let before = (due_on - today).num_days();
    if (1..=REMIND_DAYS_BEFORE).contains(&before) {
        Some(ReminderKind::DueSoon)
    } else if (-OVERDUE_WINDOW_DAYS..=-1).contains(&before) {
        Some(ReminderKind::Overdue)
    } else {
        None
    }
}

/// The outbox key of one reminder: once per step, owner and kind.
pub fn reminder_key(step: StepId, owner: UserId, kind: ReminderKind) -> String {
    format!("reminder:{step}:{owner}:{}", kind.key())
}

/// The reminder's text: the step (#id, title, due date), a question, and `/step update`.
pub fn reminder_text(
    kind: ReminderKind,
    step: StepId,
    title: &str,
    school: &str,
    due_on: NaiveDate,
) -> String {
    let title = clip(title, 200);
    let school = clip(school, 100);
    let due = day(due_on);
    let body = match kind {
        ReminderKind::DueSoon => format!(
            "A reminder: step **#{step} · {title}** at {school} is due {due}. How is it going? \
             `/step update step:#{step}` records where it stands."
        ),
        ReminderKind::Overdue => format!(
            "Step **#{step} · {title}** at {school} was due {due}. Where does it stand now? \
             `/step update step:#{step}` records progress, a new status, or what is in the way."
        ),
    };
    format!("{body}\n-# `/reminders off` stops these reminders.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).expect("a date")
    }

    fn at(m: u32, d: u32, h: u32) -> NaiveDateTime {
        date(m, d).and_hms_opt(h, 0, 0).expect("a time")
    }

    #[test]
    fn a_window_starting_after_it_ends_or_already_over_is_refused() {
        let today = date(12, 1);
        assert!(Span::new(date(12, 3), date(12, 2), today).is_err());
        let err = Span::new(date(11, 20), date(11, 30), today).expect_err("over");
        assert!(err.to_string().contains("before today"), "{err}");
        let span = Span::new(date(11, 30), date(12, 1), today).expect("ends today");
        assert!(span.covers(date(12, 1)) && span.covers(date(11, 30)));
        assert!(!span.covers(date(12, 2)));
        assert_eq!(
            Span::new(today, today, today).expect("one day").label(),
            "Tue 1 Dec 2026"
        );
    }

    #[test]
    fn a_break_comes_before_an_absence_and_each_is_per_server() {
        let server = ServerId::new(1);
        let other = ServerId::new(2);
        let school = SchoolId::new(3);
        let pat = UserId::new(4);
        let span = Span {
            from: date(12, 21),
            to: date(12, 31),
        };
        let absences = Absences {
            away: vec![(server, pat, span)],
            breaks: vec![(server, school, span)],
        };
        assert_eq!(
            absences.skip(server, Some(school), pat, date(12, 22)),
            Some(Skip::Break)
        );
        assert_eq!(
            absences.skip(server, None, pat, date(12, 22)),
            Some(Skip::Away)
        );
        assert_eq!(absences.skip(other, Some(school), pat, date(12, 22)), None);
        assert_eq!(absences.skip(server, Some(school), pat, date(1, 2)), None);
    }

    #[test]
    fn break_days_count_only_the_days_inside_a_break() {
        let winter = Span {
            from: date(12, 21),
            to: date(12, 31),
        };
        assert_eq!(break_days(&[winter], date(12, 15), date(12, 20)), 0);
        assert_eq!(break_days(&[winter], date(12, 15), date(12, 23)), 3);
        assert_eq!(
            break_days(&[winter], date(12, 15), date(12, 31) + TimeDelta::days(5)),
            11
        );
    }

    #[test]
    fn reminders_come_two_days_before_and_the_day_after_at_eight() {
        let due = date(12, 10);
        assert_eq!(reminder_due(due, at(12, 7, 9)), None, "three days before");
        assert_eq!(reminder_due(due, at(12, 8, 7)), None, "before 08:00");
        assert_eq!(reminder_due(due, at(12, 8, 8)), Some(ReminderKind::DueSoon));
        assert_eq!(
            reminder_due(due, at(12, 9, 12)),
            Some(ReminderKind::DueSoon)
        );
        assert_eq!(reminder_due(due, at(12, 10, 12)), None, "the day itself");
        assert_eq!(
            reminder_due(due, at(12, 11, 8)),
            Some(ReminderKind::Overdue)
        );
        assert_eq!(
            reminder_due(due, at(12, 17, 8)),
            Some(ReminderKind::Overdue)
        );
        assert_eq!(reminder_due(due, at(12, 18, 8)), None, "long overdue");
    }

    #[test]
    fn a_reminder_names_the_step_and_offers_the_update_command() {
        let text = reminder_text(
            ReminderKind::DueSoon,
            StepId::new(7),
            "Walkthroughs",
            "Lincoln Elementary",
            date(12, 10),
        );
        assert!(text.contains("#7 · Walkthroughs"), "{text}");
        assert!(text.contains("Thu 10 Dec 2026"), "{text}");
        assert!(text.contains("`/step update step:#7`"), "{text}");
        assert!(text.contains('?'), "asks: {text}");
        assert!(text.chars().count() <= super::super::text::MESSAGE_CONTENT);
    }
}
