//! Line charts: several named series of `(x, y)` points with a legend. [`retrieval_curves`] draws Recall@K and
//! Acc@K against K (the paper's Figure 3), [`f1_vs_k`] the kNN F1 against K (Figure 5); [`line_chart`] any other.

use crate::canvas::{render_figure, titled, Area};
use crate::error::{check_finite, check_nonempty, PlotError, Result};
use crate::style::{
    class_color, draw_legend, font, legend_width, padded_range, tick_label, Figure, LegendEntry, Marker,
};
use plotters::prelude::*;
use std::path::Path;

/// One named curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The name shown in the legend.
    pub name: String,
    /// Points in drawing order.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series from its name and points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self { name: name.into(), points }
    }

    /// A series from parallel `x` and `y` values (the shorter length wins).
    pub fn from_xy(name: impl Into<String>, x: &[f64], y: &[f64]) -> Self {
        Self::new(name, x.iter().copied().zip(y.iter().copied()).collect())
    }
}

/// What a line chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// The x axis label.
    pub x_label: String,
    /// The y axis label.
    pub y_label: String,
    /// The curves, each in its own colour.
    pub series: Vec<Series>,
    /// A fixed y range; `None` fits the data.
    pub y_range: Option<(f64, f64)>,
}

impl LineChart {
    /// A chart of `series` with axis labels and a y range fitted to the data.
    pub fn new(x_label: impl Into<String>, y_label: impl Into<String>, series: Vec<Series>) -> Self {
        Self { x_label: x_label.into(), y_label: y_label.into(), series, y_range: None }
    }
}

/// Recall@K and Acc@K of one model (one entry per K).
#[derive(Debug, Clone, PartialEq)]
pub struct RetrievalCurve {
    /// The model's name in the legend ("" for a single model).
    pub name: String,
    /// The K values.
    pub ks: Vec<usize>,
    /// Recall@K for each K.
    pub recall: Vec<f64>,
    /// Acc@K for each K.
    pub acc: Vec<f64>,
}

/// Draws `chart` with `fig`'s title and size to the PNG `out`.
pub fn line_chart(fig: &Figure, chart: &LineChart, out: &Path) -> Result<()> {
    check_chart(fig, chart)?;
    render_figure(fig, out, |root| {
        let body = titled(root, fig)?;
        let entries = legend_entries(&chart.series, 0);
        let lw = legend_width(&body, fig, None, &entries);
        let (w, _) = body.dim_in_pixel();
        let (plot, legend) = body.split_horizontally(w.saturating_sub(lw));
        draw_lines(&plot, fig, chart, 0)?;
        draw_legend(&legend, fig, None, &entries)
    })
}

/// Recall@K and Acc@K against K for one or more models (the paper's Figure 3), y from 0 to 1.
pub fn retrieval_curves(fig: &Figure, curves: &[RetrievalCurve], out: &Path) -> Result<()> {
    check_nonempty(&format!("retrieval curves '{}'", fig.title), curves.len())?;
    let mut series = Vec::new();
    for c in curves {
        let what = format!("retrieval curves '{}', model '{}'", fig.title, c.name);
        if c.recall.len() != c.ks.len() || c.acc.len() != c.ks.len() {
            return Err(PlotError::Invalid(format!(
                "{what}: {} K values but {} Recall@K and {} Acc@K values",
                c.ks.len(),
                c.recall.len(),
                c.acc.len()
            )));
        }
        let ks: Vec<f64> = c.ks.iter().map(|&k| k as f64).collect();
        let prefix = if c.name.is_empty() { String::new() } else { format!("{} ", c.name) };
        series.push(Series::from_xy(format!("{prefix}Recall@K"), &ks, &c.recall));
        series.push(Series::from_xy(format!("{prefix}Acc@K"), &ks, &c.acc));
    }
    let mut chart = LineChart::new("K (neighbours retrieved)", "score", series);
    chart.y_range = Some(unit_range(chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.1))));
    line_chart(fig, &chart, out)
}

/// kNN F1 against the number of neighbours K, one series per model (the paper's Figure 5).
pub fn f1_vs_k(fig: &Figure, series: &[Series], out: &Path) -> Result<()> {
    let mut chart = LineChart::new("K (neighbours voting)", "kNN F1", series.to_vec());
    chart.y_range = Some(unit_range(series.iter().flat_map(|s| s.points.iter().map(|p| p.1))));
    line_chart(fig, &chart, out)
}

/// A y range for scores in [0, 1]: the data's range with a margin, kept within [0, 1.02].
pub(crate) fn unit_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = padded_range(values, 0.1);
    let (lo, hi) = (lo.max(0.0), hi.min(1.02));
    if hi - lo < 0.05 {
        ((hi - 0.05).max(0.0), (lo + 0.05).min(1.02))
    } else {
        (lo, hi)
    }
}

pub(crate) fn check_chart(fig: &Figure, chart: &LineChart) -> Result<()> {
    fig.validate()?;
    check_nonempty(&format!("line chart '{}': series", fig.title), chart.series.len())?;
    for s in &chart.series {
        let what = format!("line chart '{}', series '{}'", fig.title, s.name);
        check_nonempty(&what, s.points.len())?;
        check_finite(&format!("{what}: x"), s.points.iter().map(|p| p.0))?;
        check_finite(&format!("{what}: y"), s.points.iter().map(|p| p.1))?;
    }
    if let Some((lo, hi)) = chart.y_range {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(PlotError::Invalid(format!("line chart '{}': y range {lo}..{hi} is empty", fig.title)));
        }
    }
    Ok(())
}

pub(crate) fn legend_entries(series: &[Series], color_offset: usize) -> Vec<LegendEntry> {
    series
        .iter()
        .enumerate()
        .map(|(i, s)| LegendEntry { label: s.name.clone(), color: class_color(i + color_offset), marker: Marker::Line })
        .collect()
}

/// Draws the axes and curves of `chart` on `area`; series `i` gets colour `i + color_offset`.
pub(crate) fn draw_lines(area: &Area<'_>, fig: &Figure, chart: &LineChart, color_offset: usize) -> Result<()> {
    let s = fig.scale();
    let (x0, x1) = padded_range(chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)), 0.04);
    let (y0, y1) = chart
        .y_range
        .unwrap_or_else(|| padded_range(chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)), 0.08));
    let mut c = ChartBuilder::on(area)
        .margin((12.0 * s) as u32)
        .x_label_area_size((44.0 * s) as u32)
        .y_label_area_size((64.0 * s) as u32)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let integer_x = chart.series.iter().all(|s| s.points.iter().all(|p| p.0.fract() == 0.0));
    let fmt_x = |v: &f64| if integer_x && v.fract() != 0.0 { String::new() } else { tick_label(*v) };
    let fmt_y = |v: &f64| tick_label(*v);
    c.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .label_style(font(fig.tick_size()))
        .axis_desc_style(font(fig.label_size()))
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&fmt_y)
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.15))
        .draw()?;
    let r = (3.5 * s).round().max(2.0) as i32;
    for (i, series) in chart.series.iter().enumerate() {
        let color = class_color(i + color_offset);
        c.draw_series(LineSeries::new(series.points.iter().copied(), color.stroke_width((2.0 * s).max(1.0) as u32)))?;
        c.draw_series(series.points.iter().map(|&p| Circle::new(p, r, color.filled())))?;
    }
    Ok(())
}
