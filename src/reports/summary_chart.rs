//! The panels of the summary chart: one school's focus indicator levels over time (every date
//! from the first level set to today, the five levels named, an indicator without a level drawn
//! dashed in a "no level yet" band), or for every school how many schools sit at each level per
//! indicator (stacked bars), and action steps by status. Labels are indicator ids and names,
//! levels and statuses: never a person.

use chrono::{DateTime, Datelike as _, TimeDelta, Utc};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::chart::{COLOURS, FONT, draw_error};
use crate::domain::framework::Level;
use crate::domain::summary::IndicatorSummary;
use crate::domain::text::clip;

pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// Indicators a chart draws; the rest are counted in a note under it.
pub(crate) const MAX_DRAWN: usize = 10;

/// Fills for levels 1 to 5 (light to dark), then for "no level yet".
const LEVEL_FILLS: [RGBColor; 5] = [
    RGBColor(0xDE, 0xEB, 0xF7),
    RGBColor(0x9E, 0xCA, 0xE1),
    RGBColor(0x6B, 0xAE, 0xD6),
    RGBColor(0x31, 0x82, 0xBD),
    RGBColor(0x08, 0x51, 0x9C),
];
const NO_LEVEL: RGBColor = RGBColor(0xEE, 0xEE, 0xEE);
const GREY: RGBColor = RGBColor(0x88, 0x88, 0x88);

/// An indicator as the chart draws it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Drawn {
    /// `12a Leader partnerships`.
    pub label: String,
    /// No school has set a level on it: drawn as "no level yet", not left out.
    pub unset: bool,
}

impl Drawn {
    /// The legend's text in at most `chars` characters: the label, and for an indicator
    /// without a level, saying so (the label is cut first).
    pub(crate) fn legend(&self, chars: usize) -> String {
        const UNSET: &str = ": no level yet";
        if self.unset {
            format!(
                "{}{UNSET}",
                clip(&self.label, chars.saturating_sub(UNSET.len()))
            )
        } else {
            clip(&self.label, chars)
        }
    }
}

/// The indicators the chart draws, in the summary's order, and how many it leaves out.
pub(crate) fn drawn(summary: &IndicatorSummary) -> (Vec<Drawn>, usize) {
    let shown = summary
        .indicators
        .iter()
        .take(MAX_DRAWN)
        .map(|line| {
            let unset = line.schools.at.iter().all(|n| *n == 0);
            Drawn {
                label: format!("{} {}", line.indicator_id, clip(&line.name, 60)),
                unset,
            }
        })
        .collect();
    (shown, summary.indicators.len().saturating_sub(MAX_DRAWN))
}

fn level_name(y: f64) -> String {
    if (y - y.round()).abs() > 0.01 {
        return String::new();
    }
    match y.round() as i64 {
        0 => "no level yet".to_owned(),
        rank @ 1..=5 => {
            let level = Level::ALL[usize::try_from(rank - 1).unwrap_or(0)];
            format!("{rank} {}", level.label())
        }
        _ => String::new(),
    }
}

/// A note under a chart for the indicators it leaves out.
fn left_out_note(area: &Area<'_>, left_out: usize, y: i32) -> anyhow::Result<()> {
    if left_out == 0 {
        return Ok(());
    }
    area.draw(&Text::new(
        format!("+ {left_out} more indicators not drawn: see the summary's text, or /export"),
        (12, y),
        (FONT, 13).into_font().color(&GREY),
    ))
    .map_err(draw_error)
}

fn no_indicators(area: &Area<'_>) -> anyhow::Result<()> {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        "No focus indicators yet",
        (
            i32::try_from(w / 2).unwrap_or(0),
            i32::try_from(h / 2).unwrap_or(0),
        ),
        TextStyle::from((FONT, 18).into_font())
            .color(&GREY)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .map_err(draw_error)
}

/// One school: each focus indicator's level from the first level set until today.
pub(crate) fn levels(
    area: &Area<'_>,
    summary: &IndicatorSummary,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let (drawn, left_out) = drawn(summary);
    if drawn.is_empty() {
        return no_indicators(area);
    }
    let rows = i32::try_from(drawn.len().div_ceil(2)).unwrap_or(5);
    let legend_height = 14 + rows * 20 + if left_out > 0 { 20 } else { 0 };
    let (_, height) = area.dim_in_pixel();
    let (plot, legend) =
        area.split_vertically(i32::try_from(height).unwrap_or(400) - legend_height);
    let lines = &summary.indicators[..drawn.len()];
    let start = lines
        .iter()
        .filter_map(|l| l.history.first().map(|(at, _)| *at))
        .min()
        .unwrap_or(now - TimeDelta::days(30))
        .min(now - TimeDelta::days(7));
    let span = (now - start).num_seconds().max(1) as f64;
    let x_of = |at: DateTime<Utc>| (at - start).num_seconds() as f64 / span;
    let with_year = start.year() != now.year();
    let date_at = |x: f64| {
        let at = start + TimeDelta::seconds((x * span).round() as i64);
        if with_year {
            at.format("%-d %b %Y").to_string()
        } else {
            at.format("%-d %b").to_string()
        }
    };
    let mut chart = ChartBuilder::on(&plot)
        .caption("Focus indicator levels, to today", (FONT, 18))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(130)
        .build_cartesian_2d(-0.03_f64..1.03_f64, -0.6_f64..5.5_f64)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .y_labels(7)
        .y_label_formatter(&|y| level_name(*y))
        .x_labels(6)
        .x_label_formatter(&|x| date_at(*x))
        .label_style((FONT, 13))
        .draw()
        .map_err(draw_error)?;
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(-0.03, -0.5), (1.03, 0.5)],
            NO_LEVEL.filled(),
        )))
        .map_err(draw_error)?;
    let unset = drawn.iter().filter(|d| d.unset).count();
    let mut unset_index = 0;
    for (i, (line, shown)) in lines.iter().zip(&drawn).enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        if shown.unset {
            // Spread within the band, so that several stay apart.
            let y = if unset == 1 {
                0.0
            } else {
                -0.35 + 0.7 * unset_index as f64 / (unset - 1) as f64
            };
            unset_index += 1;
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, y), (1.0, y)],
                    8,
                    5,
                    colour.stroke_width(2),
                ))
                .map_err(draw_error)?;
            chart
                .draw_series(std::iter::once(Circle::new(
                    (1.0, y),
                    5,
                    colour.stroke_width(2),
                )))
                .map_err(draw_error)?;
            continue;
        }
        // A level holds until it changes: draw steps, not slopes, on to today.
        let mut points: Vec<(f64, f64)> = Vec::new();
        for (at, level) in &line.history {
            let y = f64::from(level.rank());
            if let Some(&(_, before)) = points.last() {
                points.push((x_of(*at), before));
            }
            points.push((x_of(*at), y));
        }
        if let Some(level) = line.schools.only() {
            points.push((1.0, f64::from(level.rank())));
        }
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(3)))
            .map_err(draw_error)?;
        chart
            .draw_series(line.history.iter().map(|(at, level)| {
                Circle::new((x_of(*at), f64::from(level.rank())), 5, colour.filled())
            }))
            .map_err(draw_error)?;
    }
    let (width, _) = legend.dim_in_pixel();
    let column = i32::try_from(width / 2).unwrap_or(300);
    let chars = usize::try_from((column - 50) / 7).unwrap_or(30);
    for (i, shown) in drawn.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let x = 24 + column * i32::try_from(i % 2).unwrap_or(0);
        let y = 8 + 20 * i32::try_from(i / 2).unwrap_or(0);
        if shown.unset {
            legend
                .draw(&DashedPathElement::new(
                    [(x, y + 8), (x + 26, y + 8)],
                    6,
                    4,
                    colour.stroke_width(2),
                ))
                .map_err(draw_error)?;
        } else {
            legend
                .draw(&PathElement::new(
                    [(x, y + 8), (x + 26, y + 8)],
                    colour.stroke_width(3),
                ))
                .map_err(draw_error)?;
        }
        legend
            .draw(&Text::new(shown.legend(chars), (x + 34, y), (FONT, 13)))
            .map_err(draw_error)?;
    }
    left_out_note(&legend, left_out, 8 + 20 * rows)
}

/// Every school: per indicator, how many schools sit at each level and how many have none.
pub(crate) fn distribution(area: &Area<'_>, summary: &IndicatorSummary) -> anyhow::Result<()> {
    let (drawn, left_out) = drawn(summary);
    if drawn.is_empty() {
        return no_indicators(area);
    }
    let legend_height = 34 + if left_out > 0 { 20 } else { 0 };
    let (_, height) = area.dim_in_pixel();
    let (plot, legend) =
        area.split_vertically(i32::try_from(height).unwrap_or(400) - legend_height);
    let lines = &summary.indicators[..drawn.len()];
    let count = i32::try_from(lines.len()).unwrap_or(0);
    let most = lines
        .iter()
        .map(|l| l.schools.total())
        .max()
        .unwrap_or(1)
        .max(1);
    let top = most as f64 + 0.3;
    let mut chart = ChartBuilder::on(&plot)
        .caption("Schools at each level, per focus indicator", (FONT, 18))
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(250)
        // A segmented range holds its end too: `0..count - 1` is `count` rows.
        .build_cartesian_2d(0.0_f64..top, (0..count - 1).into_segmented())
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels((most + 1).min(11))
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 0.01 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .x_desc("schools")
        .y_label_formatter(&|value| match value {
            SegmentValue::CenterOf(i) => usize::try_from(count - 1 - *i)
                .ok()
                .and_then(|k| drawn.get(k))
                .map(|d| clip(&d.label, 34))
                .unwrap_or_default(),
            _ => String::new(),
        })
        .label_style((FONT, 13))
        .draw()
        .map_err(draw_error)?;
    let centred = |colour: &'static RGBColor| -> TextStyle<'static> {
        TextStyle::from((FONT, 13).into_font())
            .color(colour)
            .pos(Pos::new(HPos::Center, VPos::Center))
    };
    for (k, line) in lines.iter().enumerate() {
        let row = count - 1 - i32::try_from(k).unwrap_or(0);
        let mut from = 0.0;
        let parts = line
            .schools
            .at
            .iter()
            .zip(LEVEL_FILLS)
            .enumerate()
            .map(|(rank, (n, fill))| (*n, fill, rank >= 3))
            .chain(std::iter::once((line.schools.unset, NO_LEVEL, false)));
        for (n, fill, dark) in parts {
            if n == 0 {
                continue;
            }
            let to = from + n as f64;
            let corners = [
                (from, SegmentValue::Exact(row)),
                (to, SegmentValue::Exact(row + 1)),
            ];
            let mut bar = Rectangle::new(corners.clone(), fill.filled());
            bar.set_margin(6, 6, 0, 0);
            let mut edge = Rectangle::new(corners.clone(), GREY.stroke_width(1));
            edge.set_margin(6, 6, 0, 0);
            chart.draw_series([bar, edge]).map_err(draw_error)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    n.to_string(),
                    ((from + to) / 2.0, SegmentValue::CenterOf(row)),
                    centred(if dark { &WHITE } else { &BLACK }),
                )))
                .map_err(draw_error)?;
            from = to;
        }
    }
    let swatches = Level::ALL
        .iter()
        .map(|l| {
            (
                format!("{} {}", l.rank(), l.label()),
                LEVEL_FILLS[usize::from(l.rank()) - 1],
            )
        })
        .chain(std::iter::once(("no level yet".to_owned(), NO_LEVEL)));
    let mut x = 12;
    for (label, fill) in swatches {
        legend
            .draw(&Rectangle::new([(x, 8), (x + 16, 22)], fill.filled()))
            .map_err(draw_error)?;
        legend
            .draw(&Rectangle::new(
                [(x, 8), (x + 16, 22)],
                GREY.stroke_width(1),
            ))
            .map_err(draw_error)?;
        legend
            .draw(&Text::new(label.clone(), (x + 22, 8), (FONT, 13)))
            .map_err(draw_error)?;
        x += 30 + i32::try_from(label.chars().count()).unwrap_or(10) * 7;
    }
    left_out_note(&legend, left_out, 30)
}

/// Action steps by status, as bars.
pub(crate) fn steps(area: &Area<'_>, summary: &IndicatorSummary) -> anyhow::Result<()> {
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
        .caption("Action steps by status", (FONT, 18))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(40)
        .build_cartesian_2d((0..count.max(1) - 1).into_segmented(), 0_u32..top)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
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
