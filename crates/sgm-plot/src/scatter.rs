//! The t-SNE scatter (the paper's Figures 2 and 7): one point per item, coloured by class; with sub-classes, each
//! class's points take shades of the class colour and a marker per sub-class.

use crate::canvas::{render_figure, titled};
use crate::error::{check_finite, check_nonempty, PlotError, Result};
use crate::style::{
    class_color, draw_legend, draw_marker, font, legend_width, padded_range, subclass_color, tick_label, Figure,
    LegendEntry, Marker,
};
use plotters::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The points of a scatter and what colours them.
#[derive(Debug, Clone, PartialEq)]
pub struct Scatter {
    /// 2-d coordinates.
    pub points: Vec<(f64, f64)>,
    /// The class of each point.
    pub classes: Vec<u32>,
    /// Class names, indexed by class (a class beyond the list is shown as "class N").
    pub class_names: Vec<String>,
    /// The sub-class of each point, when known (any ids; they are ranked within each class).
    pub subclasses: Option<Vec<u32>>,
    /// The x axis label.
    pub x_label: String,
    /// The y axis label.
    pub y_label: String,
    /// One unit the same length on both axes (t-SNE maps have no preferred direction).
    pub equal_aspect: bool,
}

impl Scatter {
    /// A t-SNE scatter of `points` coloured by `classes`.
    pub fn new(points: Vec<(f64, f64)>, classes: Vec<u32>, class_names: Vec<String>) -> Self {
        Self {
            points,
            classes,
            class_names,
            subclasses: None,
            x_label: "t-SNE 1".into(),
            y_label: "t-SNE 2".into(),
            equal_aspect: true,
        }
    }

    /// The same scatter with sub-class shades and markers.
    pub fn with_subclasses(mut self, subclasses: Vec<u32>) -> Self {
        self.subclasses = Some(subclasses);
        self
    }

    fn class_name(&self, c: u32) -> String {
        self.class_names.get(c as usize).cloned().unwrap_or_else(|| format!("class {c}"))
    }
}

/// Draws `data` with `fig`'s title and size to the PNG `out`.
pub fn scatter(fig: &Figure, data: &Scatter, out: &Path) -> Result<()> {
    fig.validate()?;
    let what = format!("scatter '{}'", fig.title);
    check_nonempty(&format!("{what}: points"), data.points.len())?;
    check_finite(&format!("{what}: x"), data.points.iter().map(|p| p.0))?;
    check_finite(&format!("{what}: y"), data.points.iter().map(|p| p.1))?;
    if data.classes.len() != data.points.len() {
        return Err(PlotError::Invalid(format!(
            "{what}: {} classes for {} points",
            data.classes.len(),
            data.points.len()
        )));
    }
    if let Some(sub) = &data.subclasses {
        if sub.len() != data.points.len() {
            return Err(PlotError::Invalid(format!(
                "{what}: {} sub-classes for {} points",
                sub.len(),
                data.points.len()
            )));
        }
    }
    // Rank of each (class, sub-class) within its class, and the number of sub-classes per class.
    let mut subs: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    if let Some(sub) = &data.subclasses {
        for (&c, &s) in data.classes.iter().zip(sub) {
            subs.entry(c).or_default().insert(s);
        }
    }
    let style_of = |i: usize| -> (RGBColor, Marker) {
        let c = data.classes[i];
        match (&data.subclasses, subs.get(&c)) {
            (Some(sub), Some(set)) => {
                let rank = set.iter().position(|&s| s == sub[i]).unwrap_or(0);
                (subclass_color(c as usize, rank, set.len()), Marker::nth(rank))
            }
            _ => (class_color(c as usize), Marker::Circle),
        }
    };
    let classes: BTreeSet<u32> = data.classes.iter().copied().collect();
    let mut entries: Vec<LegendEntry> = classes
        .iter()
        .map(|&c| LegendEntry { label: data.class_name(c), color: class_color(c as usize), marker: Marker::Circle })
        .collect();
    let max_subs = subs.values().map(BTreeSet::len).max().unwrap_or(0);
    if data.subclasses.is_some() {
        let gray = RGBColor(90, 90, 90);
        for k in 0..max_subs.min(4) {
            entries.push(LegendEntry { label: format!("sub-class {}", k + 1), color: gray, marker: Marker::nth(k) });
        }
        if max_subs > 4 {
            entries.push(LegendEntry { label: "(markers repeat)".into(), color: WHITE, marker: Marker::Circle });
        }
    }
    render_figure(fig, out, |root| {
        let body = titled(root, fig)?;
        let heading = Some("class");
        let lw = legend_width(&body, fig, heading, &entries);
        let (w, _) = body.dim_in_pixel();
        let (plot, legend) = body.split_horizontally(w.saturating_sub(lw));
        let s = fig.scale();
        let (mut x0, mut x1) = padded_range(data.points.iter().map(|p| p.0), 0.04);
        let (mut y0, mut y1) = padded_range(data.points.iter().map(|p| p.1), 0.04);
        let (margin, x_area, y_area) = ((12.0 * s) as u32, (44.0 * s) as u32, (64.0 * s) as u32);
        if data.equal_aspect {
            // Widen the narrower range so that a unit spans as many pixels on both axes.
            let (pw, ph) = plot.dim_in_pixel();
            let w = f64::from(pw.saturating_sub(2 * margin + y_area).max(1));
            let h = f64::from(ph.saturating_sub(2 * margin + x_area).max(1));
            let (ux, uy) = ((x1 - x0) / w, (y1 - y0) / h);
            if ux > uy {
                let grow = (ux * h - (y1 - y0)) / 2.0;
                (y0, y1) = (y0 - grow, y1 + grow);
            } else {
                let grow = (uy * w - (x1 - x0)) / 2.0;
                (x0, x1) = (x0 - grow, x1 + grow);
            }
        }
        let mut chart = ChartBuilder::on(&plot)
            .margin(margin)
            .x_label_area_size(x_area)
            .y_label_area_size(y_area)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        let fmt = |v: &f64| tick_label(*v);
        chart
            .configure_mesh()
            .x_desc(data.x_label.as_str())
            .y_desc(data.y_label.as_str())
            .label_style(font(fig.tick_size()))
            .axis_desc_style(font(fig.label_size()))
            .x_label_formatter(&fmt)
            .y_label_formatter(&fmt)
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.1))
            .draw()?;
        let r = (if data.points.len() > 2000 { 2.0 } else { 3.0 } * s).round().max(1.0) as i32;
        let area = chart.plotting_area();
        for (i, &p) in data.points.iter().enumerate() {
            let (color, marker) = style_of(i);
            // map_coordinate gives canvas pixels, which is the root area's coordinate system.
            draw_marker(root, marker, area.map_coordinate(&p), r, color)?;
        }
        draw_legend(&legend, fig, heading, &entries)
    })
}
