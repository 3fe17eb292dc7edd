//! The confusion-matrix heat map: rows are the true classes, columns the predicted ones, each cell shows its
//! count and is shaded by the fraction of its row (so every class reads on the same scale, whatever its size).

use crate::canvas::{render_figure, titled};
use crate::error::{check_nonempty, PlotError, Result};
use crate::style::{bold, font, Figure};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// The `Blues` colour map at `t` in [0, 1].
pub(crate) fn blues(t: f64) -> RGBColor {
    const STOPS: [(f64, (f64, f64, f64)); 3] =
        [(0.0, (247.0, 251.0, 255.0)), (0.5, (107.0, 174.0, 214.0)), (1.0, (8.0, 48.0, 107.0))];
    let t = t.clamp(0.0, 1.0);
    let (i, j) = if t <= 0.5 { (0, 1) } else { (1, 2) };
    let (t0, a) = STOPS[i];
    let (t1, b) = STOPS[j];
    let f = (t - t0) / (t1 - t0);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Draws the confusion matrix `matrix[true][predicted]` with `class_names` on both axes to the PNG `out`.
pub fn confusion_matrix(fig: &Figure, matrix: &[Vec<usize>], class_names: &[String], out: &Path) -> Result<()> {
    fig.validate()?;
    let what = format!("confusion matrix '{}'", fig.title);
    let n = matrix.len();
    check_nonempty(&format!("{what}: rows"), n)?;
    if let Some((i, row)) = matrix.iter().enumerate().find(|(_, r)| r.len() != n) {
        return Err(PlotError::Invalid(format!(
            "{what}: row {i} has {} columns; the matrix must be {n} x {n}",
            row.len()
        )));
    }
    if class_names.len() != n {
        return Err(PlotError::Invalid(format!("{what}: {} class names for {n} classes", class_names.len())));
    }
    if matrix.iter().flatten().all(|&v| v == 0) {
        return Err(PlotError::Empty { what: format!("{what}: every cell is 0") });
    }
    render_figure(fig, out, |root| {
        let body = titled(root, fig)?;
        let (w, h) = body.dim_in_pixel();
        let (w, h) = (w as i32, h as i32);
        let s = fig.scale();
        let tick = font(fig.tick_size());
        let text_w = |t: &str| body.estimate_text_size(t, &tick).map_or(8 * t.len() as i32, |(tw, _)| tw as i32);
        let widest = class_names.iter().map(|c| text_w(c)).max().unwrap_or(0);
        let line = (fig.tick_size() * 1.4) as i32;
        let axis_band = (fig.label_size() * 1.8) as i32;
        let colorbar = (70.0 * s) as i32;
        let pad = (10.0 * s) as i32;
        // Left: axis title + names. Bottom: names (rotated when they do not fit a cell) + axis title.
        let left = axis_band + widest + pad;
        let avail_w = w - left - colorbar - 2 * pad;
        let cell_guess = avail_w.min(h - axis_band - line - 2 * pad) / n as i32;
        let rotate = widest + 4 > cell_guess;
        let bottom = axis_band + if rotate { widest + pad } else { line + pad };
        let cell = ((w - left - colorbar - 2 * pad).min(h - bottom - pad) / n as i32).max(4);
        let grid = cell * n as i32;
        let x0 = left + (w - left - colorbar - pad - grid) / 2;
        let y0 = pad;
        let area = &body;
        for (i, row) in matrix.iter().enumerate() {
            let total: usize = row.iter().sum();
            for (j, &v) in row.iter().enumerate() {
                let frac = if total == 0 { 0.0 } else { v as f64 / total as f64 };
                let (cx, cy) = (x0 + j as i32 * cell, y0 + i as i32 * cell);
                area.draw(&Rectangle::new([(cx, cy), (cx + cell, cy + cell)], blues(frac).filled()))?;
                area.draw(&Rectangle::new([(cx, cy), (cx + cell, cy + cell)], WHITE.stroke_width(1)))?;
                let size = (fig.tick_size()).min(cell as f64 * 0.32);
                let color = if frac > 0.55 { WHITE } else { BLACK };
                let label = if i == j { bold(size) } else { font(size) };
                area.draw(&Text::new(
                    v.to_string(),
                    (cx + cell / 2, cy + cell / 2),
                    label.color(&color).pos(Pos::new(HPos::Center, VPos::Center)),
                ))?;
            }
        }
        area.draw(&Rectangle::new([(x0, y0), (x0 + grid, y0 + grid)], BLACK.stroke_width(1)))?;
        // Class names: rows on the left, columns below.
        for (i, name) in class_names.iter().enumerate() {
            let c = i as i32 * cell + cell / 2;
            area.draw(&Text::new(
                name.clone(),
                (x0 - pad / 2, y0 + c),
                tick.clone().pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            let style = if rotate {
                tick.clone().transform(FontTransform::Rotate270).pos(Pos::new(HPos::Right, VPos::Center))
            } else {
                tick.clone().pos(Pos::new(HPos::Center, VPos::Top))
            };
            area.draw(&Text::new(name.clone(), (x0 + c, y0 + grid + pad / 2), style))?;
        }
        let axis = font(fig.label_size());
        let below = y0 + grid + bottom - axis_band / 2;
        area.draw(&Text::new(
            "predicted class",
            (x0 + grid / 2, below),
            axis.clone().pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        area.draw(&Text::new(
            "true class",
            (axis_band / 2, y0 + grid / 2),
            axis.transform(FontTransform::Rotate270).pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        // Colour bar: fraction of the true class.
        let bx = x0 + grid + 2 * pad;
        let bw = (16.0 * s) as i32;
        for k in 0..grid {
            let t = 1.0 - k as f64 / (grid - 1).max(1) as f64;
            area.draw(&PathElement::new(vec![(bx, y0 + k), (bx + bw, y0 + k)], blues(t)))?;
        }
        area.draw(&Rectangle::new([(bx, y0), (bx + bw, y0 + grid)], BLACK.stroke_width(1)))?;
        for (t, label) in [(1.0, "100%"), (0.5, "50%"), (0.0, "0%")] {
            let y = y0 + ((1.0 - t) * grid as f64) as i32;
            area.draw(&Text::new(label, (bx + bw + 4, y), tick.clone().pos(Pos::new(HPos::Left, VPos::Center))))?;
        }
        area.draw(&Text::new(
            "of row",
            (bx, y0 + grid + pad / 2),
            font(fig.tick_size() * 0.9).pos(Pos::new(HPos::Left, VPos::Top)),
        ))?;
        Ok(())
    })
}
