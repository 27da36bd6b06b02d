//! An assessment file: the CSV a coach imports, read and checked against the framework as a
//! whole, so that a file with any mistake saves nothing and the reply names every row to fix.
//!
//! Columns (header names in any case, in any order, others ignored): `indicator` (an id of the
//! framework), `level` (1–5 or a level name) or `score` (with its scale: a header such as
//! `score (of 4)`, a `score_max` column, or the import's `scale` option), and optionally
//! `group` (who answered, e.g. teachers) and `n` (how many answered).

use std::collections::HashMap;

use chrono::{Datelike as _, NaiveDate};

use super::assessment::ResultRow;
use super::framework::{Framework, Level};
use super::text;

/// The largest file accepted, in bytes (1 MiB).
pub const MAX_BYTES: usize = 1 << 20;

/// The longest group name and administration name.
pub const GROUP_MAX: usize = 60;
pub const NAME_MAX: usize = 100;

/// One thing wrong with a file: the row (1 is the header; None for the file as a whole) and
/// what to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub row: Option<u64>,
    pub text: String,
}

impl Problem {
    fn file(text: impl Into<String>) -> Self {
        Self {
            row: None,
            text: text.into(),
        }
    }

    fn at(row: u64, text: impl Into<String>) -> Self {
        Self {
            row: Some(row),
            text: text.into(),
        }
    }

    /// `row 4: …`, or the text alone for the whole file.
    pub fn line(&self) -> String {
        match self.row {
            Some(row) => format!("row {row}: {}", self.text),
            None => self.text.clone(),
        }
    }
}

/// Everything wrong with a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// What to tell the person, within `max` characters: nothing was saved, each problem on a
    /// line, and how many more there are when they do not all fit.
    pub fn describe(&self, file_name: &str, max: usize) -> String {
        let head = format!(
            "Nothing was imported from `{}`: fix {} and attach it again.",
            text::clip(file_name, 80),
            if self.0.len() == 1 {
                "this".to_owned()
            } else {
                format!("these {} problems", self.0.len())
            }
        );
        let mut out = head;
        for (index, problem) in self.0.iter().enumerate() {
            let line = format!("\n• {}", text::clip(&problem.line(), 300));
            let left = self.0.len() - index;
            let more =
                format!("\n… and {left} more (fix these first, then import again to see the rest)");
            if out.chars().count() + line.chars().count() + more.chars().count() > max {
                out.push_str(&more);
                return out;
            }
            out.push_str(&line);
        }
        out
    }
}

/// Reads `bytes` (a CSV file) against `framework`; `scale` is the top of the score scale when
/// the import gave one. Every row comes back, or every problem.
pub fn parse(
    bytes: &[u8],
    framework: &Framework,
    scale: Option<f64>,
) -> Result<Vec<ResultRow>, Problems> {
    if bytes.len() > MAX_BYTES {
        return Err(Problems(vec![too_large(bytes.len() as u64)]));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let row = bytes[..error.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64
                + 1;
            return Err(Problems(vec![Problem::at(
                row,
                "this is not UTF-8 text. Save the file as \"CSV UTF-8\" (in Excel: File, Save As, \
                 CSV UTF-8) and attach it again.",
            )]));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(Problems(vec![Problem::file(
            "The file is empty. It needs a header row (`indicator,level`, or `indicator,score`) \
             and one row per indicator; see prompts/sample-assessment.csv.",
        )]));
    }
    Reader::new(framework, scale).read(text)
}

/// The problem of a file over [`MAX_BYTES`].
pub fn too_large(size: u64) -> Problem {
    Problem::file(format!(
        "The file is {} KiB; the most I accept is 1 MiB. An assessment file has one row per \
         indicator (and group): check that you attached the right file.",
        size.div_ceil(1024)
    ))
}

/// Where each column is.
#[derive(Default)]
struct Columns {
    indicator: Option<usize>,
    level: Option<usize>,
    score: Option<usize>,
    score_max: Option<usize>,
    group: Option<usize>,
    n: Option<usize>,
    /// The scale a `score (of 4)` header gives.
    header_scale: Option<f64>,
}

impl Columns {
    fn find(headers: &csv::StringRecord) -> Self {
        let mut columns = Self::default();
        for (index, raw) in headers.iter().enumerate() {
            let name = raw.trim().to_lowercase();
            let slot = match name.as_str() {
                "indicator" | "indicator_id" | "indicator id" => &mut columns.indicator,
                "level" => &mut columns.level,
                "score_max" | "score max" | "scale" | "max" | "max_score" => &mut columns.score_max,
                "group" | "respondent_group" | "respondents_group" | "role" => &mut columns.group,
                "n" | "respondents" | "count" => &mut columns.n,
                _ if name.starts_with("score") => {
                    columns.header_scale = scale_in(&name);
                    &mut columns.score
                }
                _ => continue,
            };
            slot.get_or_insert(index);
        }
        columns
    }
}

/// `score (of 4)`, `score /4`, `score out of 100` → the number.
fn scale_in(header: &str) -> Option<f64> {
    let digits: String = header
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits.parse::<f64>().ok().filter(|n| *n > 0.0)
}

struct Reader<'f> {
    framework: &'f Framework,
    scale: Option<f64>,
    problems: Vec<Problem>,
}

impl<'f> Reader<'f> {
    fn new(framework: &'f Framework, scale: Option<f64>) -> Self {
        Self {
            framework,
            scale,
            problems: Vec::new(),
        }
    }

    fn read(mut self, text: &str) -> Result<Vec<ResultRow>, Problems> {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .from_reader(text.as_bytes());
        let headers = match csv.headers() {
            Ok(headers) => headers.clone(),
            Err(error) => {
                return Err(Problems(vec![Problem::at(
                    1,
                    format!("the header row cannot be read ({error})."),
                )]));
            }
        };
        let columns = Columns::find(&headers);
        let Some(indicator_column) = columns.indicator else {
            return Err(Problems(vec![Problem::at(
                1,
                "no `indicator` column. The header row should name the columns, e.g. \
                 `indicator,level` or `indicator,group,n,score (of 4)`.",
            )]));
        };
        if columns.level.is_none() && columns.score.is_none() {
            return Err(Problems(vec![Problem::at(
                1,
                "no `level` or `score` column. Give each indicator's level (1–5 or a level name) \
                 or its score.",
            )]));
        }
        let scale = self.scale.or(columns.header_scale);
        if columns.level.is_none() && scale.is_none() && columns.score_max.is_none() {
            return Err(Problems(vec![Problem::at(
                1,
                "scores need their scale: name the column `score (of 4)`, add a `score_max` \
                 column, or give the import's `scale` option.",
            )]));
        }
        let mut rows: Vec<ResultRow> = Vec::new();
        let mut seen: HashMap<(String, String), u64> = HashMap::new();
        for record in csv.records() {
            let record = match record {
                Ok(record) => record,
                Err(error) => {
                    let row = error.position().map_or(0, csv::Position::line);
                    self.problems.push(Problem::at(
                        row,
                        "this row cannot be read as CSV (check its quotes).",
                    ));
                    continue;
                }
            };
            let row = record.position().map_or(0, csv::Position::line);
            if record.iter().all(|cell| cell.trim().is_empty()) {
                continue;
            }
            let cell = |column: Option<usize>| {
                column
                    .and_then(|c| record.get(c))
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
            };
            let Some(indicator) = self.indicator(row, cell(Some(indicator_column))) else {
                continue;
            };
            let group = match cell(columns.group) {
                Some(g) if is_everyone(g) => String::new(),
                Some(g) if g.chars().count() > GROUP_MAX => {
                    self.problems.push(Problem::at(
                        row,
                        format!("the group name is longer than {GROUP_MAX} characters."),
                    ));
                    continue;
                }
                Some(g) => g.to_owned(),
                None => String::new(),
            };
            let respondents = match cell(columns.n).map(|n| n.parse::<i64>()) {
                None => None,
                Some(Ok(n)) if n >= 0 => Some(n),
                Some(_) => {
                    self.problems.push(Problem::at(
                        row,
                        format!(
                            "`n` should be how many answered, a whole number (it is `{}`).",
                            text::clip(cell(columns.n).unwrap_or_default(), 20)
                        ),
                    ));
                    continue;
                }
            };
            let row_scale = match cell(columns.score_max) {
                Some(raw) => match raw.parse::<f64>() {
                    Ok(max) if max > 0.0 => Some(max),
                    _ => {
                        self.problems.push(Problem::at(
                            row,
                            format!(
                                "`score_max` should be a number above 0 (it is `{}`).",
                                text::clip(raw, 20)
                            ),
                        ));
                        continue;
                    }
                },
                None => scale,
            };
            let Some((level, score)) =
                self.level(row, cell(columns.level), cell(columns.score), row_scale)
            else {
                continue;
            };
            let key = (indicator.to_lowercase(), group.to_lowercase());
            if let Some(first) = seen.get(&key) {
                let who = if group.is_empty() {
                    "everyone".to_owned()
                } else {
                    format!("group `{}`", text::clip(&group, 40))
                };
                self.problems.push(Problem::at(
                    row,
                    format!(
                        "repeats row {first} ({indicator}, {who}). Keep one row per indicator \
                         and group."
                    ),
                ));
                continue;
            }
            seen.insert(key, row);
            rows.push(ResultRow {
                row_number: i64::try_from(row).unwrap_or(i64::MAX),
                indicator_id: indicator,
                group,
                level,
                score,
                scale_max: score.and(row_scale),
                respondents,
            });
        }
        if !self.problems.is_empty() {
            return Err(Problems(self.problems));
        }
        if rows.is_empty() {
            return Err(Problems(vec![Problem::file(
                "The file has a header row but no results: add one row per indicator.",
            )]));
        }
        Ok(rows)
    }

    /// The framework's id for `given`, in any case.
    fn indicator(&mut self, row: u64, given: Option<&str>) -> Option<String> {
        let Some(given) = given else {
            self.problems
                .push(Problem::at(row, "the `indicator` is empty."));
            return None;
        };
        if let Some(found) = self
            .framework
            .indicators()
            .find(|i| i.id.eq_ignore_ascii_case(given))
        {
            return Some(found.id.clone());
        }
        let ids: Vec<&str> = self.framework.indicators().map(|i| i.id.as_str()).collect();
        let shown = if ids.len() > 12 {
            format!(
                "{}, … ({} in all; `/indicator list` shows them)",
                ids[..12].join(", "),
                ids.len()
            )
        } else {
            ids.join(", ")
        };
        self.problems.push(Problem::at(
            row,
            format!(
                "`{}` is not an indicator of this server's framework. Use one of: {shown}.",
                text::clip(given, 40)
            ),
        ));
        None
    }

    /// The level a row gives, with its raw score when it gave a score.
    fn level(
        &mut self,
        row: u64,
        level: Option<&str>,
        score: Option<&str>,
        scale: Option<f64>,
    ) -> Option<(Level, Option<f64>)> {
        if let Some(raw) = level {
            return match read_level(raw) {
                Some(level) => Some((level, score.and_then(|s| s.parse().ok()))),
                None => {
                    self.problems.push(Problem::at(
                        row,
                        format!(
                            "level `{}` is out of range: use 1 to 5, or a level name such as \
                             Getting Started.",
                            text::clip(raw, 30)
                        ),
                    ));
                    None
                }
            };
        }
        let Some(raw) = score else {
            self.problems
                .push(Problem::at(row, "no level and no score: give one."));
            return None;
        };
        let Some(max) = scale else {
            self.problems.push(Problem::at(
                row,
                "a score without its scale: add `score_max` or the import's `scale` option.",
            ));
            return None;
        };
        match raw.parse::<f64>() {
            Ok(score) if (0.0..=max).contains(&score) => {
                Some((score_level(score, max), Some(score)))
            }
            _ => {
                self.problems.push(Problem::at(
                    row,
                    format!(
                        "score `{}` is not a number from 0 to {max}.",
                        text::clip(raw, 30)
                    ),
                ));
                None
            }
        }
    }
}

fn is_everyone(group: &str) -> bool {
    ["all", "everyone", "total", "school"]
        .iter()
        .any(|w| group.eq_ignore_ascii_case(w))
}

/// `1`–`5` (also `3.0`) or a level's name or key.
pub fn read_level(raw: &str) -> Option<Level> {
    if let Ok(number) = raw.trim().parse::<f64>() {
        if number.fract() != 0.0 || !(1.0..=5.0).contains(&number) {
            return None;
        }
        return Level::ALL.get(number as usize - 1).copied();
    }
    Level::parse(raw)
}

/// A score's level: each fifth of the scale is one level (up to 20 % Getting Aware, over 80 %
/// Keep Improving).
pub fn score_level(score: f64, max: f64) -> Level {
    let fifths = (score / max * 5.0).ceil().clamp(1.0, 5.0) as usize;
    Level::ALL[fifths - 1]
}

/// The name an import gets when none is given: the season and year it was given in
/// (`Fall 2026`, `Spring 2027`, `Summer 2027`).
pub fn season_name(administered: NaiveDate) -> String {
    let season = match administered.month() {
        1..=5 => "Spring",
        6 | 7 => "Summer",
        _ => "Fall",
    };
    format!("{season} {}", administered.year())
}

/// The fallback when the season's name is taken: `Assessment 2026-12-01`.
pub fn dated_name(administered: NaiveDate) -> String {
    format!("Assessment {administered}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framework() -> Framework {
        Framework::parse(
            &std::fs::read_to_string("prompts/framework.toml").expect("the shipped framework"),
        )
        .expect("it parses")
    }

    fn problems(text: &str) -> Vec<String> {
        parse(text.as_bytes(), &framework(), None)
            .expect_err("refused")
            .0
            .iter()
            .map(Problem::line)
            .collect()
    }

    #[test]
    fn the_sample_file_reads_with_groups_and_counts() {
        let bytes = std::fs::read("prompts/sample-assessment.csv").expect("the sample");
        let rows = parse(&bytes, &framework(), None).expect("the sample is valid");
        assert!(rows.len() >= 3);
        assert!(
            rows.iter()
                .any(|r| !r.group.is_empty() && r.respondents.is_some())
        );
        assert_eq!(rows[0].row_number, 2);
    }

    #[test]
    fn levels_by_number_or_name_ids_in_any_case_and_a_bom() {
        let text = "\u{feff}Indicator,LEVEL,Group,N\n12A,getting better,teachers,20\n11,2,,\n12b,Keep Improving,all,30\n";
        let rows = parse(text.as_bytes(), &framework(), None).expect("valid");
        assert_eq!(rows[0].indicator_id, "12a");
        assert_eq!(rows[0].level, Level::GettingBetter);
        assert_eq!(rows[0].respondents, Some(20));
        assert_eq!(rows[1].level, Level::GettingReady);
        assert_eq!(rows[2].group, "", "`all` is everyone");
        assert_eq!(rows[2].row_number, 4);
    }

    #[test]
    fn scores_map_to_levels_by_fifths_and_keep_the_raw_score() {
        let text = "indicator,score (of 4)\n11,3\n12a,0.5\n12b,4\n";
        let rows = parse(text.as_bytes(), &framework(), None).expect("valid");
        assert_eq!(rows[0].level, Level::GettingBetter, "75 %");
        assert_eq!((rows[0].score, rows[0].scale_max), (Some(3.0), Some(4.0)));
        assert_eq!(rows[1].level, Level::GettingAware);
        assert_eq!(rows[2].level, Level::KeepImproving);
        let with_column = "indicator,score,score_max\n11,60,100\n";
        let rows = parse(with_column.as_bytes(), &framework(), None).expect("valid");
        assert_eq!(rows[0].level, Level::GettingStarted);
        let option = "indicator,score\n11,2.5\n";
        let rows = parse(option.as_bytes(), &framework(), Some(5.0)).expect("valid");
        assert_eq!(rows[0].level, Level::GettingStarted);
        assert!(
            problems("indicator,score\n11,2\n")[0].starts_with("row 1: scores need their scale")
        );
        assert!(problems("indicator,score (of 4)\n11,5\n")[0].starts_with("row 2: score `5`"));
    }

    #[test]
    fn every_problem_is_named_with_its_row() {
        let found = problems(
            "indicator,level,group\n11,3,\n13,2,\n12a,7,\n11,4,\n12b,3,teachers\n12B,2,Teachers\n",
        );
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(
            found[0].starts_with("row 3: `13` is not an indicator"),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("row 4: level `7` is out of range"),
            "{found:?}"
        );
        assert!(found[2].starts_with("row 5: repeats row 2"), "{found:?}");
        assert!(found[3].starts_with("row 7: repeats row 6"), "{found:?}");
        assert!(problems("")[0].starts_with("The file is empty"));
        assert!(problems("\u{feff}  \n")[0].starts_with("The file is empty"));
        assert!(problems("indicator,level\n")[0].contains("no results"));
        assert!(problems("name,level\n11,3\n")[0].starts_with("row 1: no `indicator` column"));
        let latin1 = b"indicator,level,group\n11,3,\n12a,2,\xe9quipe\n";
        let refused = parse(latin1, &framework(), None).expect_err("refused");
        assert_eq!(refused.0[0].row, Some(3));
        assert!(refused.0[0].text.contains("not UTF-8"));
        let big = vec![b'a'; MAX_BYTES + 1];
        let refused = parse(&big, &framework(), None).expect_err("refused");
        assert!(refused.0[0].text.contains("1 MiB"));
    }

    #[test]
    fn the_description_fits_and_counts_what_it_leaves_out() {
        let many = Problems(
            (2..500)
                .map(|row| Problem::at(row, "`zz` is not an indicator of this server's framework."))
                .collect(),
        );
        let text = many.describe("big.csv", 2000);
        assert!(text.chars().count() <= 2000);
        assert!(text.starts_with("Nothing was imported from `big.csv`"));
        assert!(text.contains("more (fix these first"), "{text}");
    }

    #[test]
    fn default_names_follow_the_season() {
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("a date");
        assert_eq!(season_name(day(10, 1)), "Fall 2026");
        assert_eq!(season_name(day(3, 1)), "Spring 2026");
        assert_eq!(dated_name(day(12, 1)), "Assessment 2026-12-01");
    }
}
