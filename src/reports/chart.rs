//! Charts as PNG, drawn with plotters into memory, with a font compiled in so they look the
//! same on every machine; the summary chart's panels are in `summary_chart`.

use std::sync::Once;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::summary_chart;
use crate::domain::summary::IndicatorSummary;
use crate::domain::text::clip;

/// Room for a title, a plot and a legend under it.
const WIDTH: u32 = 1200;
const HEIGHT: u32 = 640;
pub(crate) const FONT: &str = "sans-serif";

/// Line colours for the indicators, in order (then repeated).
pub(crate) const COLOURS: [RGBColor; 6] = [
    RGBColor(0x2E, 0x7D, 0x6B),
    RGBColor(0xD9, 0x6C, 0x2C),
    RGBColor(0x3B, 0x5B, 0xA9),
    RGBColor(0xA2, 0x3B, 0x72),
    RGBColor(0x6B, 0x8E, 0x23),
    RGBColor(0x7A, 0x5C, 0x3E),
];

pub(crate) fn register_font() {
    static FONTS: Once = Once::new();
    FONTS.call_once(|| {
        if plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_err()
        {
            tracing::error!("the compiled-in chart font could not be read");
        }
    });
}

/// Draws the summary's chart and encodes it as PNG: titled with the school's (or server's)
/// name and the date; its levels (one school) or schools per level (every school) on the
/// left, action steps by status on the right.
pub fn summary_png(summary: &IndicatorSummary, now: DateTime<Utc>) -> anyhow::Result<Vec<u8>> {
    register_font();
    let mut pixels = vec![0_u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let title = format!(
            "{}: indicator summary, {}",
            clip(&summary.scope_name, 90),
            summary.date.format("%a %-d %b %Y")
        );
        let root = root.titled(&title, (FONT, 24)).map_err(draw_error)?;
        let (left, right) = root.split_horizontally(WIDTH * 2 / 3);
        if summary.one_school {
            summary_chart::levels(&left, summary, now)?;
        } else {
            summary_chart::distribution(&left, summary)?;
        }
        summary_chart::steps(&right, summary)?;
        root.present().map_err(draw_error)?;
    }
    encode(&pixels, WIDTH, HEIGHT)
}

pub(crate) fn draw_error<E: std::fmt::Debug>(error: E) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart: {error:?}")
}

/// `pixels` (RGB, `width` × `height`) as PNG.
pub(crate) fn encode(pixels: &[u8], width: u32, height: u32) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().context("writing the PNG header")?;
        writer
            .write_image_data(pixels)
            .context("writing the PNG image")?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::TimeZone as _;

    use super::*;
    use crate::domain::cycle::{Stage, StageEntry};
    use crate::domain::framework::Level;
    use crate::domain::ids::{SchoolId, UserId};
    use crate::domain::summary::{self, BarrierFact, FocusLevel, SummaryFacts};
    use crate::reports::summary_chart::{Drawn, drawn};

    fn at(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 15, 0, 0)
            .single()
            .expect("time")
    }

    fn focus(school: i64, id: &str, history: &[(u32, Level)]) -> FocusLevel {
        FocusLevel {
            school_id: SchoolId::new(school),
            indicator_id: id.into(),
            level: history.last().map(|(_, l)| *l),
            history: history.iter().map(|(d, l)| (at(*d), *l)).collect(),
        }
    }

    /// Lincoln's facts (two indicators with levels, one without), or the district's (three
    /// schools).
    fn facts(one_school: bool) -> SummaryFacts {
        let focus = if one_school {
            vec![
                focus(1, "11", &[]),
                focus(
                    1,
                    "12a",
                    &[(2, Level::GettingReady), (12, Level::GettingStarted)],
                ),
                focus(
                    1,
                    "12b",
                    &[(5, Level::GettingAware), (20, Level::GettingReady)],
                ),
            ]
        } else {
            vec![
                focus(1, "12a", &[(2, Level::GettingReady)]),
                focus(2, "12a", &[(3, Level::GettingStarted)]),
                focus(3, "12a", &[]),
                focus(1, "12b", &[(5, Level::GettingStarted)]),
                focus(2, "12b", &[(6, Level::GettingBetter)]),
                focus(3, "11", &[]),
            ]
        };
        SummaryFacts {
            school: one_school.then(|| (SchoolId::new(1), "Lincoln Elementary".into())),
            server_name: "Springfield District".into(),
            schools: if one_school { 1 } else { 3 },
            indicator_names: BTreeMap::from([
                ("11".into(), "Coaching informs professional learning".into()),
                ("12a".into(), "Leader partnerships".into()),
                ("12b".into(), "Instructional coaching".into()),
            ]),
            focus,
            steps_by_status: BTreeMap::from([
                ("planned".into(), 4),
                ("in_progress".into(), 7),
                ("blocked".into(), 2),
                ("done".into(), 9),
            ]),
            open_barriers: vec![BarrierFact {
                school_id: SchoolId::new(1),
                category: "time".into(),
                raised_at: at(3),
                raised_by: UserId::new(1),
            }],
            stages: vec![StageEntry {
                school_id: SchoolId::new(1),
                stage: Stage::Implement,
                began_at: at(1),
                moved_by: None,
                note: None,
            }],
            assessed: Vec::new(),
            previous: None,
            min_group: summary::MIN_GROUP,
        }
    }

    /// Writes the chart where `COACHBOT_CHART_OUT` says (a directory), to look at.
    fn keep(png: &[u8], name: &str) {
        if let Ok(dir) = std::env::var("COACHBOT_CHART_OUT") {
            std::fs::write(std::path::Path::new(&dir).join(name), png).expect("written");
        }
    }

    #[test]
    fn both_charts_are_pngs_of_their_stated_size() {
        for one_school in [true, false] {
            let built = summary::build(&facts(one_school), at(24), at(24).date_naive());
            let png = summary_png(&built, at(24)).expect("a chart");
            keep(&png, &built.chart_file());
            let decoder = png::Decoder::new(std::io::Cursor::new(png));
            let reader = decoder.read_info().expect("a PNG");
            assert_eq!((reader.info().width, reader.info().height), (WIDTH, HEIGHT));
        }
    }

    #[test]
    fn an_indicator_without_a_level_is_drawn_as_no_level_yet() {
        let built = summary::build(&facts(true), at(24), at(24).date_naive());
        let (shown, left_out) = drawn(&built);
        assert_eq!(left_out, 0);
        assert_eq!(
            shown[0].legend(50),
            "11 Coaching informs professional le…: no level yet",
            "the legend says so even when the name is cut"
        );
        assert_eq!(
            shown,
            [
                Drawn {
                    label: "11 Coaching informs professional learning".into(),
                    unset: true
                },
                Drawn {
                    label: "12a Leader partnerships".into(),
                    unset: false
                },
                Drawn {
                    label: "12b Instructional coaching".into(),
                    unset: false
                },
            ]
        );
        // Across schools, an indicator no school has a level on gets its bar all the same.
        let all = summary::build(&facts(false), at(24), at(24).date_naive());
        let (shown, _) = drawn(&all);
        assert_eq!(
            shown
                .iter()
                .map(|d| (d.label.as_str(), d.unset))
                .collect::<Vec<_>>(),
            [
                ("11 Coaching informs professional learning", true),
                ("12a Leader partnerships", false),
                ("12b Instructional coaching", false),
            ]
        );
    }
}
