//! A school's rhythm: how many check-ins asked in the last 30 days were confirmed, the
//! check-ins each person has missed in a row (per flow), and the last contact with the school.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::domain::checkin::SessionStatus;
use crate::domain::coaching::SessionKind;
use crate::domain::ids::UserId;

/// The response rate looks back this many days.
pub const RATE_DAYS: i64 = 30;

/// A check-in whose first question went out, as the digest counts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckinOutcome {
    pub person: UserId,
    pub person_name: String,
    pub flow_id: String,
    pub flow_title: String,
    pub started_at: DateTime<Utc>,
    pub status: SessionStatus,
}

/// Check-ins confirmed of those asked in the last [`RATE_DAYS`] days. Asked: the first
/// question went out in the window and the check-in is over (confirmed, ran out, or stopped);
/// one still open is not counted yet. Those skipped because the person was away or the school
/// on a break never went out, so they are not asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseRate {
    pub confirmed: usize,
    pub asked: usize,
}

impl ResponseRate {
    pub fn of(outcomes: &[CheckinOutcome], now: DateTime<Utc>) -> Self {
        let from = now - TimeDelta::days(RATE_DAYS);
        let over = outcomes
            .iter()
            .filter(|o| o.started_at > from && o.started_at <= now)
            .filter(|o| o.status != SessionStatus::Open);
        let (mut confirmed, mut asked) = (0, 0);
        for outcome in over {
            asked += 1;
            if outcome.status == SessionStatus::Confirmed {
                confirmed += 1;
            }
        }
        Self { confirmed, asked }
    }

    /// The rate in whole percent, rounded half up; None when nothing was asked.
    pub fn percent(self) -> Option<usize> {
        (self.asked > 0).then(|| (self.confirmed * 200 + self.asked) / (self.asked * 2))
    }

    /// "3 of 4 check-ins answered in 30 days (75%)", or that none was asked.
    pub fn label(self) -> String {
        match self.percent() {
            Some(percent) => format!(
                "{} of {} check-ins answered in {RATE_DAYS} days ({percent}%)",
                self.confirmed, self.asked
            ),
            None => format!("no check-ins asked in {RATE_DAYS} days"),
        }
    }
}

/// Check-ins of one flow that one person let run out, one after another, since they last
/// confirmed that flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissedStreak {
    pub person: UserId,
    pub person_name: String,
    pub flow_id: String,
    pub flow_title: String,
    pub missed: usize,
    pub last_asked: DateTime<Utc>,
}

impl MissedStreak {
    /// The item's name for snoozing.
    pub fn key(&self) -> String {
        format!("missed:{}:{}", self.person.get(), self.flow_id)
    }
}

/// The streaks of `outcomes`: per person and flow, the check-ins that ran out since the last
/// confirmed one. Only a confirmed check-in ends a streak; one stopped or still open neither
/// ends nor lengthens it. Ordered by person's name, then flow.
pub fn streaks(outcomes: &[CheckinOutcome]) -> Vec<MissedStreak> {
    let mut sorted: Vec<&CheckinOutcome> = outcomes.iter().collect();
    sorted.sort_by_key(|o| o.started_at);
    let mut by_key: BTreeMap<(UserId, &str), MissedStreak> = BTreeMap::new();
    for outcome in sorted {
        let key = (outcome.person, outcome.flow_id.as_str());
        match outcome.status {
            SessionStatus::Confirmed => {
                by_key.remove(&key);
            }
            SessionStatus::Expired => {
                let streak = by_key.entry(key).or_insert_with(|| MissedStreak {
                    person: outcome.person,
                    person_name: outcome.person_name.clone(),
                    flow_id: outcome.flow_id.clone(),
                    flow_title: outcome.flow_title.clone(),
                    missed: 0,
                    last_asked: outcome.started_at,
                });
                streak.missed += 1;
                streak.last_asked = outcome.started_at;
                streak.flow_title.clone_from(&outcome.flow_title);
            }
            SessionStatus::Skipped | SessionStatus::Open => {}
        }
    }
    let mut streaks: Vec<MissedStreak> = by_key.into_values().collect();
    streaks.sort_by(|a, b| (&a.person_name, &a.flow_title).cmp(&(&b.person_name, &b.flow_title)));
    streaks
}

/// The last time the coach and the school were in touch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastContact {
    /// The school's local date.
    pub on: NaiveDate,
    pub what: String,
}

/// The later of the latest coaching session (the day it was held) and the last confirmed
/// check-in (the school's local day it was confirmed); on the same day, the session.
pub fn last_contact(
    session: Option<(NaiveDate, SessionKind)>,
    confirmed: Option<DateTime<Utc>>,
    zone: Tz,
) -> Option<LastContact> {
    let session = session.map(|(on, kind)| LastContact {
        on,
        what: kind.label().to_owned(),
    });
    let checkin = confirmed.map(|at| LastContact {
        on: at.with_timezone(&zone).date_naive(),
        what: "a confirmed check-in".to_owned(),
    });
    match (session, checkin) {
        (Some(s), Some(c)) => Some(if c.on > s.on { c } else { s }),
        (s, c) => s.or(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 15, 0, 0)
            .single()
            .expect("a time")
    }

    fn outcome(person: u64, flow: &str, d: u32, status: SessionStatus) -> CheckinOutcome {
        CheckinOutcome {
            person: UserId::new(person),
            person_name: format!("Person {person}"),
            flow_id: flow.to_owned(),
            flow_title: flow.to_uppercase(),
            started_at: at(d),
            status,
        }
    }

    #[test]
    fn a_streak_counts_misses_since_the_last_confirmed_check_in_of_that_flow() {
        use SessionStatus::{Confirmed, Expired, Open, Skipped};
        let history = [
            outcome(1, "weekly", 2, Expired),
            outcome(1, "weekly", 3, Confirmed),
            outcome(1, "weekly", 9, Expired),
            outcome(1, "weekly", 12, Skipped),
            outcome(1, "weekly", 16, Expired),
            outcome(1, "weekly", 23, Open),
            // Another flow of the same person, and another person: streaks of their own.
            outcome(1, "wellbeing", 10, Expired),
            outcome(2, "weekly", 16, Expired),
            outcome(2, "weekly", 20, Confirmed),
        ];
        let found = streaks(&history);
        let summary: Vec<(u64, &str, usize, DateTime<Utc>)> = found
            .iter()
            .map(|s| (s.person.get(), s.flow_id.as_str(), s.missed, s.last_asked))
            .collect();
        assert_eq!(
            summary,
            [(1, "weekly", 2, at(16)), (1, "wellbeing", 1, at(10))]
        );
        assert_eq!(found[0].key(), "missed:1:weekly");
        // Answering ends the streak; order of the input does not matter.
        let mut answered = history.to_vec();
        answered.insert(0, outcome(1, "weekly", 24, Confirmed));
        assert_eq!(streaks(&answered).len(), 1);
    }

    #[test]
    fn the_rate_counts_only_check_ins_asked_and_over_within_thirty_days() {
        use SessionStatus::{Confirmed, Expired, Open, Skipped};
        let now = at(30);
        let history = [
            outcome(1, "weekly", 1, Expired), // 29 days before: in
            outcome(1, "weekly", 5, Confirmed),
            outcome(1, "weekly", 12, Confirmed),
            outcome(2, "weekly", 19, Skipped),
            outcome(2, "weekly", 29, Open), // not over: not counted yet
        ];
        let rate = ResponseRate::of(&history, now);
        assert_eq!((rate.confirmed, rate.asked), (2, 4));
        assert_eq!(rate.percent(), Some(50));
        assert_eq!(rate.label(), "2 of 4 check-ins answered in 30 days (50%)");
        // A day later the first falls out of the window.
        let rate = ResponseRate::of(&history, now + TimeDelta::days(1));
        assert_eq!((rate.confirmed, rate.asked), (2, 3));
        assert_eq!(rate.percent(), Some(67));
        let none = ResponseRate::of(&[], now);
        assert_eq!(none.percent(), None);
        assert_eq!(none.label(), "no check-ins asked in 30 days");
    }

    #[test]
    fn last_contact_is_the_later_of_the_session_and_the_confirmed_check_in() {
        let zone = chrono_tz::America::Chicago;
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).expect("date");
        let session = Some((day(20), SessionKind::OneToOne));
        let later = last_contact(session, Some(at(24)), zone).expect("some");
        assert_eq!(
            (later.on, later.what.as_str()),
            (day(24), "a confirmed check-in")
        );
        let earlier = last_contact(session, Some(at(19)), zone).expect("some");
        assert_eq!(earlier.on, day(20));
        assert_eq!(earlier.what, SessionKind::OneToOne.label());
        // 02:00 UTC on the 21st is still the 20th in Chicago: the same day, the session wins.
        let late_evening = Utc
            .with_ymd_and_hms(2026, 11, 21, 2, 0, 0)
            .single()
            .expect("time");
        assert_eq!(
            last_contact(session, Some(late_evening), zone).map(|c| c.what),
            Some(SessionKind::OneToOne.label().to_owned())
        );
        assert_eq!(last_contact(None, None, zone), None);
    }
}
