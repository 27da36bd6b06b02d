//! The comparison chart as a PNG: for each indicator, its level in the earlier administration
//! (grey) and the later one (coloured), joined by a line, so a glance shows what moved and how
//! far. Indicators run down the left, labelled by id and name; the five levels are named along
//! the bottom. The title says whose results and which two administrations.

use plotters::prelude::*;

use super::chart::{COLOURS, FONT, draw_error, encode, register_font};
use crate::domain::assessment::Change;
use crate::domain::framework::{Framework, Level};
use crate::domain::text::clip;

const WIDTH: u32 = 1000;
/// Room for the title, the axis and the legend; each indicator adds a row.
const BASE_HEIGHT: u32 = 170;
const ROW_HEIGHT: u32 = 44;
/// More rows than this are left out of the picture (and the title says so).
pub const MAX_ROWS: usize = 40;

const BEFORE: RGBColor = RGBColor(0x9A, 0x9A, 0x9A);

/// What the chart shows.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareChart {
    /// `Lincoln Elementary: Fall 2026 → Spring 2027`
    pub title: String,
    /// What each colour is: `Fall 2026 (15 Oct 2026)`.
    pub before: String,
    pub after: String,
    pub rows: Vec<ChartRow>,
}

/// One indicator: its label and its result (1.0–5.0) in each administration, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartRow {
    pub label: String,
    pub before: Option<f64>,
    pub after: Option<f64>,
}

impl CompareChart {
    /// The chart of `changes`, each indicator labelled `12a · Leader partnerships` from the
    /// framework (the id alone when the framework no longer has it).
    pub fn new(
        title: String,
        before: String,
        after: String,
        changes: &[Change],
        framework: &Framework,
    ) -> Self {
        let rows = changes
            .iter()
            .map(|c| ChartRow {
                label: clip(
                    &framework
                        .indicator(&c.indicator_id)
                        .map_or_else(|| c.indicator_id.clone(), |i| i.title()),
                    42,
                ),
                before: c.before.as_ref().map(|r| r.rank),
                after: c.after.as_ref().map(|r| r.rank),
            })
            .collect();
        Self {
            title,
            before,
            after,
            rows,
        }
    }
}

/// Draws the chart and encodes it as PNG.
pub fn compare_png(chart: &CompareChart) -> anyhow::Result<Vec<u8>> {
    register_font();
    let shown = &chart.rows[..chart.rows.len().min(MAX_ROWS)];
    let count = shown.len().max(1);
    let height = BASE_HEIGHT + ROW_HEIGHT * u32::try_from(count).unwrap_or(1);
    let mut pixels = vec![0_u8; (WIDTH * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let title = if shown.len() < chart.rows.len() {
            format!(
                "{} (first {} of {} indicators)",
                chart.title,
                shown.len(),
                chart.rows.len()
            )
        } else {
            chart.title.clone()
        };
        let rows = i32::try_from(count).unwrap_or(1);
        // Row 0 at the top: the framework's order reads downwards.
        let y_of = |i: usize| SegmentValue::CenterOf(rows - 1 - i32::try_from(i).unwrap_or(0));
        let mut plot = ChartBuilder::on(&root)
            .caption(clip(&title, 110), (FONT, 22))
            .margin(16)
            .x_label_area_size(34)
            .y_label_area_size(330)
            .build_cartesian_2d(0.5_f64..5.5_f64, (0..rows).into_segmented())
            .map_err(draw_error)?;
        plot.configure_mesh()
            .disable_y_mesh()
            .x_labels(5)
            .x_label_formatter(&|x| {
                let rank = x.round().clamp(1.0, 5.0) as usize;
                Level::ALL[rank - 1].label().to_owned()
            })
            .y_label_formatter(&|value| match value {
                SegmentValue::CenterOf(i) => usize::try_from(rows - 1 - *i)
                    .ok()
                    .and_then(|i| shown.get(i))
                    .map(|r| r.label.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .label_style((FONT, 14))
            .draw()
            .map_err(draw_error)?;
        let after_colour = COLOURS[0];
        plot.draw_series(shown.iter().enumerate().filter_map(|(i, r)| {
            let (b, a) = (r.before?, r.after?);
            Some(PathElement::new(
                vec![(b, y_of(i)), (a, y_of(i))],
                after_colour.mix(0.5).stroke_width(4),
            ))
        }))
        .map_err(draw_error)?;
        plot.draw_series(shown.iter().enumerate().filter_map(|(i, r)| {
            r.before
                .map(|b| Circle::new((b, y_of(i)), 8, BEFORE.filled()))
        }))
        .map_err(draw_error)?
        .label(clip(&chart.before, 60))
        .legend(|(x, y)| Circle::new((x + 8, y), 6, BEFORE.filled()));
        plot.draw_series(shown.iter().enumerate().filter_map(|(i, r)| {
            r.after
                .map(|a| Circle::new((a, y_of(i)), 8, after_colour.filled()))
        }))
        .map_err(draw_error)?
        .label(clip(&chart.after, 60))
        .legend(move |(x, y)| Circle::new((x + 8, y), 6, after_colour.filled()));
        // An indicator missing from one administration says so instead of vanishing.
        plot.draw_series(shown.iter().enumerate().filter_map(|(i, r)| {
            let note = match (r.before, r.after) {
                (None, None) => "no level yet".to_owned(),
                (None, Some(_)) => format!("not in {}", clip(&chart.before, 30)),
                (Some(_), None) => format!("not in {}", clip(&chart.after, 30)),
                _ => return None,
            };
            Some(Text::new(
                note,
                (0.6, y_of(i)),
                (FONT, 13).into_font().color(&BLACK.mix(0.6)),
            ))
        }))
        .map_err(draw_error)?;
        plot.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 14))
            .draw()
            .map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    encode(&pixels, WIDTH, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_is_a_png_as_tall_as_its_rows() {
        let chart = CompareChart {
            title: "Lincoln Elementary: Fall 2026 → Spring 2027".into(),
            before: "Fall 2026 (15 Oct 2026)".into(),
            after: "Spring 2027 (20 Apr 2027)".into(),
            rows: vec![
                ChartRow {
                    label: "11 · Coaching and feedback".into(),
                    before: Some(2.2),
                    after: Some(3.4),
                },
                ChartRow {
                    label: "12a · Leader partnerships".into(),
                    before: Some(3.0),
                    after: Some(2.0),
                },
                ChartRow {
                    label: "12b · Student support".into(),
                    before: None,
                    after: Some(1.0),
                },
            ],
        };
        let png = compare_png(&chart).expect("a chart");
        if let Ok(path) = std::env::var("COACHBOT_COMPARE_CHART_OUT") {
            std::fs::write(path, &png).expect("the chart is written");
        }
        let reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .expect("a PNG");
        assert_eq!(
            (reader.info().width, reader.info().height),
            (WIDTH, BASE_HEIGHT + 3 * ROW_HEIGHT)
        );
        let many = CompareChart {
            rows: vec![chart.rows[0].clone(); MAX_ROWS + 5],
            ..chart
        };
        let png = compare_png(&many).expect("a chart");
        let reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .expect("a PNG");
        assert_eq!(
            reader.info().height,
            BASE_HEIGHT + ROW_HEIGHT * MAX_ROWS as u32
        );
    }
}
