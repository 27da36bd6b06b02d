//! The summary chart as a PNG: levels per focus indicator over time (left) and action steps by
//! status (right). Drawn with plotters into memory, with a font compiled in so it looks the
//! same on every machine. Labels are indicator ids and statuses: never a person.

use std::sync::Once;

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, Utc};
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::domain::framework::Level;
use crate::domain::summary::IndicatorSummary;

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 480;
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

/// Draws the summary's chart and encodes it as PNG.
pub fn summary_png(summary: &IndicatorSummary, now: DateTime<Utc>) -> anyhow::Result<Vec<u8>> {
    register_font();
    let mut pixels = vec![0_u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let (left, right) = root.split_horizontally(WIDTH * 3 / 5);
        levels(&left, summary, now)?;
        steps(&right, summary)?;
        root.present().map_err(draw_error)?;
    }
    encode(&pixels, WIDTH, HEIGHT)
}

pub(crate) fn draw_error<E: std::fmt::Debug>(error: E) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart: {error:?}")
}

fn levels(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    summary: &IndicatorSummary,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let start = summary
        .indicators
        .iter()
        .filter_map(|l| l.history.first().map(|(at, _)| *at))
        .min()
        .unwrap_or(now - TimeDelta::days(30))
        .min(now - TimeDelta::days(1));
    let span = (now - start).num_seconds().max(1);
    let x_of = |at: DateTime<Utc>| (at - start).num_seconds() as f64 / span as f64;
    let mut chart = ChartBuilder::on(area)
        .caption("Focus indicator levels", (FONT, 20))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(110)
        .build_cartesian_2d(0.0_f64..1.0_f64, 0.5_f64..5.5_f64)
        .map_err(draw_error)?;
    let start_label = start.format("%-d %b").to_string();
    let end_label = now.format("%-d %b").to_string();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_labels(5)
        .y_label_formatter(&|y| {
            let rank = y.round().clamp(1.0, 5.0) as usize;
            Level::ALL[rank - 1].label().to_owned()
        })
        .x_labels(2)
        .x_label_formatter(&|x| {
            if *x < 0.5 {
                start_label.clone()
            } else {
                end_label.clone()
            }
        })
        .label_style((FONT, 13))
        .draw()
        .map_err(draw_error)?;
    for (i, line) in summary.indicators.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        // A level holds until it changes: draw steps, not slopes.
        let mut points: Vec<(f64, f64)> = Vec::new();
        for (at, m) in &line.history {
            if let Some(&(_, before)) = points.last() {
                points.push((x_of(*at), before));
            }
            points.push((x_of(*at), *m));
        }
        if let Some(m) = line.mean {
            points.push((1.0, m));
        }
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(3)))
            .map_err(draw_error)?
            .label(line.indicator_id.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(3))
            });
        chart
            .draw_series(
                line.history
                    .iter()
                    .map(|(at, m)| Circle::new((x_of(*at), *m), 4, colour.filled())),
            )
            .map_err(draw_error)?;
    }
    if !summary.indicators.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 13))
            .draw()
            .map_err(draw_error)?;
    }
    Ok(())
}

fn steps(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    summary: &IndicatorSummary,
) -> anyhow::Result<()> {
    let most = summary
        .steps
        .iter()
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(0)
        .max(1);
    let count = i32::try_from(summary.steps.len()).unwrap_or(0);
    let top = u32::try_from(most + most / 6 + 1).unwrap_or(u32::MAX);
    let mut chart = ChartBuilder::on(area)
        .caption("Action steps by status", (FONT, 20))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(40)
        .build_cartesian_2d((0..count).into_segmented(), 0_u32..top)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&|value| match value {
            SegmentValue::CenterOf(i) => usize::try_from(*i)
                .ok()
                .and_then(|i| summary.steps.get(i))
                .map(|(status, _)| status.label().to_owned())
                .unwrap_or_default(),
            _ => String::new(),
        })
        .label_style((FONT, 12))
        .draw()
        .map_err(draw_error)?;
    chart
        .draw_series(summary.steps.iter().zip(0..).map(|((_, n), i)| {
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0),
                    (
                        SegmentValue::Exact(i + 1),
                        u32::try_from(*n).unwrap_or(u32::MAX),
                    ),
                ],
                COLOURS[0].mix(0.85).filled(),
            );
            bar.set_margin(0, 0, 8, 8);
            bar
        }))
        .map_err(draw_error)?;
    Ok(())
}

/// RGB pixels, `width` × `height`, as a PNG.
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
    use crate::domain::ids::{SchoolId, UserId};
    use std::collections::BTreeMap;

    use chrono::TimeZone as _;

    use super::*;
    use crate::domain::summary::{self, BarrierFact, FocusLevel, SummaryFacts};

    #[test]
    fn the_chart_is_a_png_of_its_stated_size() {
        let at = |d: u32| {
            Utc.with_ymd_and_hms(2026, 11, d, 15, 0, 0)
                .single()
                .expect("time")
        };
        let facts = SummaryFacts {
            school: None,
            schools: 2,
            indicator_names: BTreeMap::new(),
            focus: vec![
                FocusLevel {
                    school_id: SchoolId::new(1),
                    indicator_id: "12a".into(),
                    level: Some(Level::GettingBetter),
                    history: vec![(at(2), Level::GettingReady), (at(12), Level::GettingBetter)],
                },
                FocusLevel {
                    school_id: SchoolId::new(2),
                    indicator_id: "12b".into(),
                    level: Some(Level::GettingStarted),
                    history: vec![
                        (at(5), Level::GettingAware),
                        (at(15), Level::GettingStarted),
                    ],
                },
            ],
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
            previous: None,
            min_group: summary::MIN_GROUP,
        };
        let built = summary::build(&facts, at(24), at(24).date_naive());
        let png = summary_png(&built, at(24)).expect("a chart");
        if let Ok(path) = std::env::var("COACHBOT_CHART_OUT") {
            std::fs::write(path, &png).expect("the chart is written");
        }
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().expect("a PNG");
        assert_eq!((reader.info().width, reader.info().height), (WIDTH, HEIGHT));
    }
}
