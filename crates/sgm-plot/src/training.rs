//! Training curves of a run: the training loss per epoch (left panel) and the validation metrics per epoch (right
//! panel), one legend for both. The caller reads the run's log (`metrics.jsonl`) and passes plain numbers.

use crate::canvas::{render_figure, titled};
use crate::curves::{check_chart, draw_lines, legend_entries, unit_range, LineChart, Series};
use crate::error::{check_finite, check_nonempty, PlotError, Result};
use crate::style::{draw_legend, legend_width, Figure};
use plotters::prelude::*;
use std::path::Path;

/// What a run logged, epoch by epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingCurves {
    /// The epochs (x of the loss curve).
    pub epochs: Vec<f64>,
    /// The mean training loss of each epoch.
    pub loss: Vec<f64>,
    /// Validation metrics in [0, 1] (kNN accuracy, F1, …), each with its own epochs; may be empty.
    pub metrics: Vec<Series>,
}

/// Draws the training loss and the validation metrics against the epoch to the PNG `out`.
pub fn training_curves(fig: &Figure, run: &TrainingCurves, out: &Path) -> Result<()> {
    fig.validate()?;
    let what = format!("training curves '{}'", fig.title);
    check_nonempty(&format!("{what}: epochs"), run.epochs.len())?;
    if run.loss.len() != run.epochs.len() {
        return Err(PlotError::Invalid(format!(
            "{what}: {} loss values for {} epochs",
            run.loss.len(),
            run.epochs.len()
        )));
    }
    check_finite(&format!("{what}: epochs"), run.epochs.iter().copied())?;
    check_finite(&format!("{what}: loss"), run.loss.iter().copied())?;
    let loss = LineChart::new("epoch", "training loss", vec![Series::from_xy("training loss", &run.epochs, &run.loss)]);
    let mut metrics = LineChart::new("epoch", "validation score", run.metrics.clone());
    if !metrics.series.is_empty() {
        check_chart(fig, &metrics)?;
        metrics.y_range = Some(unit_range(metrics.series.iter().flat_map(|s| s.points.iter().map(|p| p.1))));
    }
    let mut entries = legend_entries(&loss.series, 0);
    entries.extend(legend_entries(&metrics.series, 1));
    render_figure(fig, out, |root| {
        let body = titled(root, fig)?;
        let lw = legend_width(&body, fig, None, &entries);
        let (w, h) = body.dim_in_pixel();
        let (plots, legend) = body.split_horizontally(w.saturating_sub(lw));
        let (left, right) = plots.split_horizontally((w.saturating_sub(lw)) / 2);
        draw_lines(&left, fig, &loss, 0)?;
        if metrics.series.is_empty() {
            use plotters::style::text_anchor::{HPos, Pos, VPos};
            let (rw, _) = right.dim_in_pixel();
            right.draw(&Text::new(
                "no validation metrics logged",
                (rw as i32 / 2, h as i32 / 2),
                crate::style::font(fig.label_size()).pos(Pos::new(HPos::Center, VPos::Center)),
            ))?;
        } else {
            draw_lines(&right, fig, &metrics, 1)?;
        }
        draw_legend(&legend, fig, None, &entries)
    })
}
