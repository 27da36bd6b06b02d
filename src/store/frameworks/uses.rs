//! What uses a framework's indicators: a school's focus (with its steps and level records)
//! and assessment results. A framework that drops one of them is not loaded.

use crate::domain::framework::Framework;
use crate::domain::school::name_order_key;

/// Tables whose rows name an indicator; a load holds new rows back while it checks them.
pub(super) const TABLES: &[&str] = &["focus_indicators", "assessment_results"];

/// Each focus of the server: its indicator, its school, and how many steps and level
/// records hang on it. `$1` is the server.
pub(super) const FOCUSES: &str = "SELECT f.indicator_id, s.name,
        (SELECT COUNT(*) FROM action_steps a WHERE a.focus_id = f.id),
        (SELECT COUNT(*) FROM indicator_levels l WHERE l.focus_id = f.id)
     FROM focus_indicators f JOIN schools s ON s.id = f.school_id
     WHERE f.server_id = $1
     ORDER BY f.indicator_id, s.name";

/// Each assessment of the server and the indicators it has results for: indicator,
/// assessment, school, date. `$1` is the server.
pub(super) const ASSESSMENTS: &str =
    "SELECT DISTINCT r.indicator_id, a.name, s.name, a.administered
     FROM assessment_results r
     JOIN assessments a ON a.id = r.assessment_id
     JOIN schools s ON s.id = a.school_id
     WHERE a.server_id = $1
     ORDER BY 1, 4, 2, 3";

/// A record that uses an indicator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndicatorUse {
    /// The indicator id as the record names it.
    pub indicator_id: String,
    pub what: Use,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Use {
    /// A school's focus indicator, with the steps and level records that hang on it.
    Focus {
        school: String,
        steps: i64,
        levels: i64,
    },
    /// An assessment's results for the indicator.
    Assessment { name: String, school: String },
}

/// The uses among `focuses` and `assessments` (rows of [`FOCUSES`] and [`ASSESSMENTS`])
/// whose indicator `framework` does not have (ids in any case), by indicator.
pub(super) fn missing_from(
    framework: &Framework,
    focuses: Vec<(String, String, i64, i64)>,
    assessments: Vec<(String, String, String, chrono::NaiveDate)>,
) -> Vec<IndicatorUse> {
    let focuses = focuses
        .into_iter()
        .map(|(indicator_id, school, steps, levels)| IndicatorUse {
            indicator_id,
            what: Use::Focus {
                school,
                steps,
                levels,
            },
        });
    let assessments = assessments
        .into_iter()
        .map(|(indicator_id, name, school, _)| IndicatorUse {
            indicator_id,
            what: Use::Assessment { name, school },
        });
    let mut missing: Vec<IndicatorUse> = focuses
        .chain(assessments)
        .filter(|u| framework.indicator(&u.indicator_id).is_none())
        .collect();
    // Each indicator's focuses, their schools in reading order, then its assessments in date
    // order (as read: the sort is stable).
    missing.sort_by_cached_key(|u| {
        let within = match &u.what {
            Use::Focus { school, .. } => (0, Some(name_order_key(school))),
            Use::Assessment { .. } => (1, None),
        };
        (u.indicator_id.to_lowercase(), within)
    });
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_indicators_focuses_are_listed_by_school_in_reading_order() {
        let mut file = String::from(
            "name = \"Small\"\n[[practice]]\nid = \"p\"\nname = \"P\"\n\
             [[practice.indicator]]\nid = \"1a\"\nname = \"N\"\n[practice.indicator.levels]\n",
        );
        for level in crate::domain::framework::Level::ALL {
            file.push_str(&format!("{} = \"d\"\n", level.key()));
        }
        let framework = Framework::parse(&file).expect("framework");
        let focus = |school: &str| ("12A".to_owned(), school.to_owned(), 1, 0);
        let day = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).expect("date");
        let missing = missing_from(
            &framework,
            vec![
                focus("Zeta Academy"),
                focus("école Nord"),
                focus("Adams High"),
                ("1a".to_owned(), "Kept".to_owned(), 1, 0),
            ],
            vec![(
                "12a".to_owned(),
                "Fall".to_owned(),
                "Zeta Academy".to_owned(),
                day,
            )],
        );
        let read: Vec<String> = missing
            .iter()
            .map(|u| match &u.what {
                Use::Focus { school, .. } => format!("{} focus {school}", u.indicator_id),
                Use::Assessment { name, .. } => format!("{} assessment {name}", u.indicator_id),
            })
            .collect();
        assert_eq!(
            read,
            [
                "12A focus Adams High",
                "12A focus école Nord",
                "12A focus Zeta Academy",
                "12a assessment Fall",
            ]
        );
    }
}
