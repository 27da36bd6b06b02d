//! The digest as messages: a header line, the wins since the last digest, then one embed per
//! school that needs the coach: its rhythm and counts in two lines, the details under them.

use super::{CoachDigest, SchoolDigest, day, snooze};
use crate::domain::ids::{ServerId, UserId};
use crate::domain::message::{MessageBody, Section, pack};
use crate::domain::text::{join_within, plural};

/// Room for the names of quiet and not-yet-planned schools in the header.
const NAMES: usize = 600;

/// The title of the wins' embed.
pub const WINS_TITLE: &str = "Since your last digest";

impl CoachDigest {
    /// The digest as messages within Discord's limits: the wins, then one embed per school
    /// (continued across embeds and messages when long); one line when nothing moved and
    /// nothing needs the coach.
    pub fn render(&self) -> Vec<MessageBody> {
        let total = self.schools.len() + self.quiet.len();
        let date = day(self.date);
        let mut sections = Vec::new();
        let wins = self.wins.lines();
        if !wins.is_empty() {
            sections.push(Section {
                title: format!("{WINS_TITLE} ({})", self.since.format("%a %-d %b %H:%M")),
                lines: wins,
            });
        }
        sections.extend(self.schools.iter().map(section));
        let mut named = String::new();
        if !self.schools.is_empty() && !self.quiet.is_empty() {
            named.push_str(&format!(
                " Nothing to report: {}.",
                join_within(&self.quiet, ", ", NAMES, "")
            ));
        }
        if !self.no_plan_yet.is_empty() {
            named.push_str(&format!(
                " No plan yet (expected before the plan stage): {}.",
                join_within(&self.no_plan_yet, ", ", NAMES, "")
            ));
        }
        if sections.is_empty() {
            return vec![MessageBody {
                content: format!(
                    "**Coaching digest, {date}:** nothing needs you today across your {}.{named}",
                    plural(i64::try_from(total).unwrap_or(i64::MAX), "school")
                ),
                ..MessageBody::default()
            }];
        }
        let needing = self.schools.len();
        pack(&sections, |i, n| {
            let mut header = if needing == 0 {
                format!(
                    "**Coaching digest, {date}:** nothing needs you today across your {}.",
                    plural(i64::try_from(total).unwrap_or(i64::MAX), "school")
                )
            } else {
                format!("**Coaching digest, {date}:** {needing} of your {total} schools need you.")
            };
            if i == 1 {
                header.push_str(&named);
            }
            if n > 1 {
                header.push_str(&format!(" (part {i} of {n})"));
            }
            header
        })
    }
}

impl CoachDigest {
    /// The messages to send `coach`: [`render`](Self::render), with the **Snooze…** button
    /// under the last one when something can be snoozed.
    pub fn messages(&self, server: ServerId, coach: UserId) -> Vec<MessageBody> {
        let mut messages = self.render();
        if !self.snoozable().is_empty()
            && let Some(last) = messages.last_mut()
        {
            last.buttons = vec![vec![snooze::menu_button(server, coach)]];
        }
        messages
    }
}

/// The school's rhythm in one line: stage, last contact, response rate, next session.
fn rhythm_line(school: &SchoolDigest) -> String {
    let mut parts = Vec::new();
    if let Some(stage) = school.stage {
        parts.push(format!("**{}**", stage.label()));
    }
    parts.push(match &school.last_contact {
        Some(contact) => format!("last contact {} ({})", day(contact.on), contact.what),
        None => "no contact on record".to_owned(),
    });
    parts.push(school.rate.label());
    parts.push(match school.next_session {
        Some(on) => format!("next session {}", day(on)),
        None => "no next session on the calendar".to_owned(),
    });
    if school.no_plan_yet {
        parts.push("no plan yet".to_owned());
    }
    parts.join(" · ")
}

/// What needs the coach, counted, in one line.
fn counts_line(school: &SchoolDigest) -> String {
    let mut counts = Vec::new();
    let mut count = |n: usize, one: &str, many: &str| {
        if n > 0 {
            counts.push(format!("{n} {}", if n == 1 { one } else { many }));
        }
    };
    count(school.missed.len(), "check-in missed", "check-ins missed");
    count(school.overdue.len(), "step overdue", "steps overdue");
    count(school.due_soon.len(), "step due soon", "steps due soon");
    count(school.new_barriers.len(), "new barrier", "new barriers");
    count(
        school.old_barriers.len(),
        "barrier open long",
        "barriers open long",
    );
    count(school.snoozed, "item snoozed", "items snoozed");
    if counts.is_empty() {
        "Counts: nothing overdue, missed or blocked".to_owned()
    } else {
        format!("Counts: {}", counts.join(" · "))
    }
}

fn section(school: &SchoolDigest) -> Section {
    let mut lines = vec![rhythm_line(school), counts_line(school)];
    let mut group = |title: &str, items: &[String]| {
        if !items.is_empty() {
            lines.push(format!("**{title}**"));
            lines.extend(items.iter().map(|item| format!("• {item}")));
        }
    };
    group("Coaching cycle", &school.cycle);
    group("Check-ins missed", &school.missed);
    group("Overdue steps", &school.overdue);
    group("Due in the next 7 days", &school.due_soon);
    group("New barriers", &school.new_barriers);
    group("Barriers open more than 14 days", &school.old_barriers);
    group("Not reachable by DM", &school.unreachable);
    group("Away", &school.away);
    if let Some(days) = school.quiet_days {
        lines.push(format!(
            "**Quiet:** no update in {days} days → `/step list` or `/checkin start`"
        ));
    }
    Section {
        title: school.name.clone(),
        lines,
    }
}
