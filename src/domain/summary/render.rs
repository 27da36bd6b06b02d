//! How the summary reads: one message with one embed, the chart shown in it. The embed's
//! description is bounded (Discord's 4,096 characters): when the indicators or the movement
//! lines do not all fit, it says how many were left out and where to see them.

use super::{IndicatorLine, IndicatorSummary, Previous};
use crate::domain::framework::Level;
use crate::domain::message::{Embed, MessageBody};
use crate::domain::summary::Figure;
use crate::domain::text::{EMBED_DESCRIPTION, THREAD_NAME, clip};

/// Where to see what a summary left out.
const MORE_HINT: &str = "see the chart, or `/export` for every one";

/// Characters an indicator's name may take on a line.
const NAME: usize = 80;

/// The change since the last summary, honestly: one school's level against its last, or the
/// schools' distribution against the last one.
fn change(line: &IndicatorLine, one_school: bool) -> String {
    let now = line.schools;
    if one_school {
        let before = match line.previous {
            Previous::Schools(d) => d.only(),
            // A mean from one school is that school's level.
            Previous::Mean(m) if (m - m.round()).abs() < 0.05 => Level::ALL
                .get((m.round() as usize).wrapping_sub(1))
                .copied(),
            _ => None,
        };
        return match (now.only(), before, line.previous) {
            (None, _, _) => "set one with `/indicator level`".to_owned(),
            (Some(_), _, Previous::None) => "first summary".to_owned(),
            (Some(_), None, _) => "level set since the last summary".to_owned(),
            (Some(now), Some(before), _) if now == before => {
                "no change since the last summary".to_owned()
            }
            (Some(now), Some(before), _) if now.rank() > before.rank() => {
                format!("up from {}", before.label())
            }
            (Some(_), Some(before), _) => format!("down from {}", before.label()),
        };
    }
    match line.previous {
        Previous::None => "first summary".to_owned(),
        Previous::Mean(_) => "first summary to count schools per level".to_owned(),
        Previous::Schools(before) if before == now => "no change since the last summary".to_owned(),
        Previous::Schools(before) => format!("last summary: {}", before.describe()),
    }
}

fn indicator_line(line: &IndicatorLine, one_school: bool) -> String {
    let now = if one_school {
        line.schools.only().map_or_else(
            || "no level set".to_owned(),
            |l| format!("{} ({} of 5)", l.label(), l.rank()),
        )
    } else {
        line.schools.describe()
    };
    format!(
        "• {} {}: {now}; {}",
        line.indicator_id,
        clip(&line.name, NAME),
        change(line, one_school)
    )
}

/// As many of `lines` as fit in `budget` characters (each with its line break), then a line
/// saying how many `what` were left out.
fn fit(lines: &[String], budget: usize, what: &str) -> Vec<String> {
    let need: usize = lines.iter().map(|l| l.chars().count() + 1).sum();
    if need <= budget {
        return lines.to_vec();
    }
    let mut out = Vec::new();
    let mut used = 0;
    for (index, line) in lines.iter().enumerate() {
        let left = lines.len() - index;
        let more = format!("… and {left} more {what}: {MORE_HINT}.");
        let len = line.chars().count() + 1;
        if used + len + more.chars().count() + 1 > budget {
            out.push(more);
            return out;
        }
        used += len;
        out.push(line.clone());
    }
    out
}

fn length(lines: &[String]) -> usize {
    lines.iter().map(|l| l.chars().count() + 1).sum()
}

/// Splits `budget` between two lists: each gets what it needs if both fit; else the smaller
/// gets its need up to half, the other the rest.
fn share(budget: usize, first: usize, second: usize) -> (usize, usize) {
    if first + second <= budget {
        return (first, second);
    }
    let half = budget / 2;
    if first <= half {
        (first, budget - first)
    } else if second <= half {
        (budget - second, second)
    } else {
        (half, budget - half)
    }
}

impl IndicatorSummary {
    fn indicator_lines(&self) -> Vec<String> {
        if self.indicators.is_empty() {
            return vec!["No focus indicators yet.".to_owned()];
        }
        self.indicators
            .iter()
            .map(|l| indicator_line(l, self.one_school))
            .collect()
    }

    fn movement_lines(&self) -> Vec<String> {
        self.movement
            .iter()
            .map(|m| {
                let moved = m
                    .detail
                    .clone()
                    .unwrap_or_else(|| format!("{} up · {} same · {} down", m.up, m.same, m.down));
                format!("• {} {}: {moved}", m.indicator_id, clip(&m.name, NAME))
            })
            .collect()
    }

    fn cycle_line(&self) -> Option<String> {
        if self.one_school {
            let (stage, _) = self.stages.first()?;
            let since = self
                .stage_since
                .map(|at| format!(", since {}", at.format("%a %-d %b %Y")))
                .unwrap_or_default();
            return Some(format!(
                "**Coaching cycle:** {} (stage {} of 6){since}",
                stage.label(),
                stage.number()
            ));
        }
        if self.stages.is_empty() {
            return None;
        }
        Some(format!(
            "**Schools by stage:** {}",
            self.stages
                .iter()
                .map(|(stage, n)| format!("{n} {}", stage.label()))
                .collect::<Vec<_>>()
                .join(" · ")
        ))
    }

    /// The sections after the lists: steps, barriers, themes.
    fn tail_lines(&self) -> Vec<String> {
        let mut lines = vec![String::new(), "**Action steps**".to_owned()];
        lines.push(
            self.steps
                .iter()
                .map(|(status, n)| format!("{n} {}", status.label()))
                .collect::<Vec<_>>()
                .join(" · "),
        );
        lines.push(String::new());
        lines.push("**Open barriers by category**".to_owned());
        if self.barriers.is_empty() {
            lines.push("None open.".to_owned());
        }
        for category in &self.barriers {
            lines.push(match category.figure {
                Figure::Shown((count, days)) => {
                    format!(
                        "• {}: {count} open, {days} days on average",
                        category.category
                    )
                }
                Figure::Withheld => format!(
                    "• {}: withheld (raised by fewer than {} people, or it would let such a figure be worked out)",
                    category.category, self.min_group
                ),
            });
        }
        if !self.themes.is_empty() {
            lines.push(String::new());
            lines.push(format!(
                "**Themes:** most barriers named are about {}.",
                self.themes.join(", then ")
            ));
        }
        lines
    }

    /// The embed's description: every section, the two lists cut to fit 4,096 characters
    /// with a line saying how many were left out.
    pub fn description(&self) -> String {
        let head = if self.one_school {
            "**Focus indicators** (level 1 Getting Aware to 5 Keep Improving)"
        } else {
            "**Focus indicators**: how many schools sit at each level (1 Getting Aware to 5 Keep Improving)"
        };
        let mut fixed = vec![head.to_owned()];
        let mut middle = Vec::new();
        if let Some(cycle) = self.cycle_line() {
            middle.push(String::new());
            middle.push(cycle);
        }
        let movement = self.movement_lines();
        if !movement.is_empty() {
            middle.push(String::new());
            middle.push(if self.one_school {
                "**Since the last assessment**".to_owned()
            } else {
                format!(
                    "**Since the last assessment**: schools that moved up, stayed, moved down ({} with two assessments)",
                    self.assessed_schools
                )
            });
        }
        let tail = self.tail_lines();
        fixed.extend(middle.iter().cloned());
        fixed.extend(tail.iter().cloned());
        let indicators = self.indicator_lines();
        let budget = EMBED_DESCRIPTION.saturating_sub(length(&fixed) + 1);
        let (for_indicators, for_movement) = share(budget, length(&indicators), length(&movement));
        let mut lines = vec![head.to_owned()];
        lines.extend(fit(&indicators, for_indicators, "focus indicators"));
        lines.extend(middle);
        lines.extend(fit(&movement, for_movement, "indicators"));
        lines.extend(tail);
        // A last guard: the lines were measured to fit.
        clip(&lines.join("\n"), EMBED_DESCRIPTION)
    }

    /// The summary as one message with one embed, the chart shown in it.
    pub fn render(&self) -> MessageBody {
        let footer = format!(
            "Aggregates only: no names. Figures about fewer than {} people are withheld, and so is any figure from which one could be worked out by subtraction, here or in the other schools' summaries{}.",
            self.min_group,
            if self.withheld > 0 {
                format!(" ({} here)", self.withheld)
            } else {
                String::new()
            }
        );
        MessageBody {
            content: clip(
                &format!("**{}**, {}", self.title, self.date.format("%a %-d %b %Y")),
                crate::domain::text::MESSAGE_CONTENT,
            ),
            embeds: vec![Embed {
                title: clip(&self.title, 250),
                description: self.description(),
                footer: Some(footer),
                image: Some(self.chart_file()),
            }],
            buttons: Vec::new(),
        }
    }

    /// The name of the thread the summary is posted in, where the server prefers threads.
    pub fn thread_name(&self) -> String {
        clip(
            &format!("{} · {}", self.title, self.date.format("%-d %b %Y")),
            THREAD_NAME,
        )
    }

    /// The channel message the thread opens on.
    pub fn starter(&self) -> MessageBody {
        MessageBody {
            content: clip(
                &format!(
                    "**{}**, {}: the figures and the chart are in this thread.",
                    self.title,
                    self.date.format("%a %-d %b %Y")
                ),
                crate::domain::text::MESSAGE_CONTENT,
            ),
            embeds: Vec::new(),
            buttons: Vec::new(),
        }
    }
}
