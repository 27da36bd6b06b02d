//! What `/cycle show` and `/cycle advance` say, as text: the six stages of the school's
//! current round with their dates, what the stage is for, and the history of moves, newest
//! first, fitted to an embed and saying how many earlier moves did not fit.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::cycle::{ExpectedDays, Stage, StageEntry};
use crate::domain::ids::UserId;
use crate::domain::text::{EMBED_DESCRIPTION, day, plural};

/// Longest note on a move.
pub const NOTE_MAX: usize = 300;

/// Whether moving `from` → `to` goes back (and so needs a note): anything that is not the
/// next stage and not further on in the round. Entering the same stage again (to restart its
/// clock) counts as going back.
pub fn goes_back(from: Stage, to: Stage) -> bool {
    to != from.next() && to.number() <= from.number()
}

/// Where the school's current round begins in `history` (oldest first): after the last move
/// out of re-assessing into assess or debrief.
pub fn round_start(history: &[StageEntry]) -> usize {
    history
        .windows(2)
        .enumerate()
        .filter(|(_, pair)| {
            pair[0].stage == Stage::Reassess
                && matches!(pair[1].stage, Stage::Assess | Stage::Debrief)
        })
        .map(|(i, _)| i + 1)
        .next_back()
        .unwrap_or(0)
}

/// The round the school is in: 1 for its first time round.
pub fn round(history: &[StageEntry]) -> usize {
    1 + history
        .windows(2)
        .filter(|pair| {
            pair[0].stage == Stage::Reassess
                && matches!(pair[1].stage, Stage::Assess | Stage::Debrief)
        })
        .count()
}

fn local_day(at: DateTime<Utc>, zone: Tz) -> String {
    day(at.with_timezone(&zone).date_naive())
}

/// The six stages of the current round, one a line: done ✓ with the day it began, current ▶
/// with how long and how long it usually takes, the next →, the rest ·.
pub fn stage_lines(
    history: &[StageEntry],
    expected: &ExpectedDays,
    zone: Tz,
    now: DateTime<Utc>,
) -> Vec<String> {
    let round = &history[round_start(history)..];
    let Some(current) = round.last() else {
        return Vec::new();
    };
    let first_round = round_start(history) == 0;
    Stage::ALL
        .into_iter()
        .map(|stage| {
            let began = round
                .iter()
                .rev()
                .find(|e| e.stage == stage)
                .map(|e| local_day(e.began_at, zone));
            let name = format!("{}. {}", stage.number(), stage.label());
            if stage == current.stage {
                let days = current.days_in(now);
                let late = if current.overdue(expected, now) {
                    ", longer than usual"
                } else {
                    ""
                };
                format!(
                    "▶ **{name}** · since {}, {} (usually {}{late})",
                    local_day(current.began_at, zone),
                    plural(days, "day"),
                    plural(i64::from(expected.of(stage)), "day")
                )
            } else if stage.number() < current.stage.number() {
                match began {
                    Some(began) => format!("✓ {name} · {began}"),
                    None if stage == Stage::Assess && !first_round => {
                        format!("✓ {name} · the re-assessment that closed the last round")
                    }
                    None => format!("✓ {name} · skipped"),
                }
            } else if stage == current.stage.next() {
                format!("→ {name} · next")
            } else {
                match began {
                    Some(began) => format!("· {name} · entered {began}, then moved back"),
                    None => format!("· {name}"),
                }
            }
        })
        .collect()
}

/// One move, as the history lists it.
pub fn history_line(entry: &StageEntry, zone: Tz, name: &dyn Fn(UserId) -> String) -> String {
    let who = entry
        .moved_by
        .map_or_else(|| "when the school was set up".to_owned(), name);
    let mut line = format!(
        "{} · **{}** · {who}",
        local_day(entry.began_at, zone),
        entry.stage.label()
    );
    if let Some(note) = entry.note.as_deref().filter(|n| !n.is_empty()) {
        line.push_str(&format!(" · “{note}”"));
    }
    line
}

/// The whole of `/cycle show` for a school: the current round, what the stage is for and
/// what comes next, then the moves newest first, within an embed's description.
pub fn show(
    history: &[StageEntry],
    expected: &ExpectedDays,
    zone: Tz,
    now: DateTime<Utc>,
    name: &dyn Fn(UserId) -> String,
) -> String {
    let Some(current) = history.last() else {
        return String::new();
    };
    let mut out = stage_lines(history, expected, zone, now).join("\n");
    out.push_str(&format!(
        "\n\n**What it is for:** {}\n**What usually happens next:** {}\n\n**History**, newest first\n",
        current.stage.purpose(),
        current.stage.what_next()
    ));
    let lines: Vec<String> = history
        .iter()
        .rev()
        .map(|e| history_line(e, zone, name))
        .collect();
    let budget = (EMBED_DESCRIPTION - 96).saturating_sub(out.chars().count());
    out.push_str(&fit_history(&lines, budget));
    out
}

/// The history lines that fit in `budget` characters, then how many earlier moves did not
/// and where to see them all.
pub fn fit_history(lines: &[String], budget: usize) -> String {
    let mut out = String::new();
    for (index, line) in lines.iter().enumerate() {
        let left = lines.len() - index;
        let more = format!(
            "… and {} earlier: `/export` has the whole history (cycle.csv)",
            plural(i64::try_from(left).unwrap_or(i64::MAX), "move")
        );
        if out.chars().count() + line.chars().count() + 1 + more.chars().count() > budget {
            out.push_str(&more);
            return out;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::SchoolId;
    use chrono::{TimeDelta, TimeZone as _};

    fn at(day: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 9, 1, 15, 0, 0)
            .single()
            .expect("a time")
            + TimeDelta::days(day)
    }

    fn entry(stage: Stage, day: i64, note: Option<&str>) -> StageEntry {
        StageEntry {
            school_id: SchoolId::new(1),
            stage,
            began_at: at(day),
            moved_by: (day > 0).then(|| UserId::new(7)),
            note: note.map(str::to_owned),
        }
    }

    fn name(_: UserId) -> String {
        "Casey Morgan".to_owned()
    }

    #[test]
    fn going_back_is_anything_but_forward() {
        assert!(!goes_back(Stage::Assess, Stage::Debrief));
        assert!(
            !goes_back(Stage::Assess, Stage::Implement),
            "skipping ahead"
        );
        assert!(
            !goes_back(Stage::Reassess, Stage::Debrief),
            "the next round"
        );
        assert!(goes_back(Stage::Plan, Stage::Debrief));
        assert!(goes_back(Stage::Plan, Stage::Plan), "the same stage again");
        assert!(goes_back(Stage::Reassess, Stage::Assess));
    }

    #[test]
    fn the_current_round_shows_done_current_and_next() {
        let history = [
            entry(Stage::Assess, 0, None),
            entry(Stage::Debrief, 10, None),
            entry(Stage::Plan, 20, Some("targets chosen")),
        ];
        let lines = stage_lines(&history, &ExpectedDays::default(), chrono_tz::UTC, at(25));
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[0], "✓ 1. Assess · Tue 1 Sep 2026");
        assert_eq!(lines[1], "✓ 2. Data debrief · Fri 11 Sep 2026");
        assert_eq!(
            lines[2],
            "▶ **3. Action planning** · since Mon 21 Sep 2026, 5 days (usually 30 days)"
        );
        assert_eq!(lines[3], "→ 4. Implement action steps · next");
        assert_eq!(lines[5], "· 6. Re-assess");
    }

    #[test]
    fn a_second_round_starts_after_the_reassessment() {
        let history = [
            entry(Stage::Assess, 0, None),
            entry(Stage::Debrief, 1, None),
            entry(Stage::Plan, 2, None),
            entry(Stage::Implement, 3, None),
            entry(Stage::Support, 4, None),
            entry(Stage::Reassess, 200, None),
            entry(Stage::Debrief, 230, None),
        ];
        assert_eq!(round_start(&history), 6);
        assert_eq!(round(&history), 2);
        let lines = stage_lines(&history, &ExpectedDays::default(), chrono_tz::UTC, at(260));
        assert!(lines[0].contains("re-assessment"), "{lines:?}");
        assert!(
            lines[1].starts_with("▶ **2. Data debrief**") && lines[1].contains("longer than usual"),
            "{lines:?}"
        );
        assert_eq!(lines[5], "· 6. Re-assess", "not yet in this round");
    }

    #[test]
    fn a_long_history_says_how_many_moves_were_left_out() {
        let mut history = vec![entry(Stage::Assess, 0, None)];
        for n in 1..=120 {
            let stage = Stage::ALL[n % 6];
            history.push(entry(
                stage,
                i64::try_from(n).expect("n"),
                Some(&"why ".repeat(70)),
            ));
        }
        let text = show(
            &history,
            &ExpectedDays::default(),
            chrono_tz::UTC,
            at(200),
            &name,
        );
        assert!(
            text.chars().count() <= EMBED_DESCRIPTION,
            "{}",
            text.chars().count()
        );
        assert!(
            text.contains("earlier: `/export` has the whole history"),
            "{text}"
        );
        assert!(text.contains("Casey Morgan"));
    }

    #[test]
    fn the_start_reads_as_the_schools_setup() {
        let line = history_line(&entry(Stage::Assess, 0, None), chrono_tz::UTC, &name);
        assert_eq!(
            line,
            "Tue 1 Sep 2026 · **Assess** · when the school was set up"
        );
        let line = history_line(&entry(Stage::Plan, 3, Some("ready")), chrono_tz::UTC, &name);
        assert_eq!(
            line,
            "Fri 4 Sep 2026 · **Action planning** · Casey Morgan · “ready”"
        );
    }
}
