//! The look shared by every plot: the embedded font, the class palette, markers, sizes, the [`Figure`] settings,
//! and a legend drawn in its own panel.

use crate::error::{PlotError, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::sync::OnceLock;

/// The font family every text uses: DejaVu Sans, embedded (the `dejavu` crate), registered with plotters' ab_glyph
/// renderer on first use, so plots render the same on a machine without any system font.
pub(crate) const FONT: &str = "sans-serif";

/// Registers the embedded font (once per process).
pub(crate) fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let fail = |_| "the embedded DejaVu Sans font could not be parsed".to_string();
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).map_err(fail)?;
            plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).map_err(fail)?;
            Ok(())
        })
        .clone()
        .map_err(PlotError::Draw)
}

/// Title, size and scale of a plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The title printed at the top.
    pub title: String,
    /// Width in pixels (at least 200).
    pub width: u32,
    /// Height in pixels (at least 150).
    pub height: u32,
}

impl Figure {
    /// An 800 × 600 figure with `title`.
    pub fn new(title: impl Into<String>) -> Self {
        Self { title: title.into(), width: 800, height: 600 }
    }

    /// The same figure at `width × height` pixels.
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if !(200..=8192).contains(&self.width) || !(150..=8192).contains(&self.height) {
            return Err(PlotError::Invalid(format!(
                "figure '{}': size {}x{} is outside 200x150 ..= 8192x8192",
                self.title, self.width, self.height
            )));
        }
        Ok(())
    }

    /// Font sizes scaled with the figure (tuned for 800 × 600).
    pub(crate) fn scale(&self) -> f64 {
        (f64::from(self.width.min(self.height * 4 / 3)) / 800.0).clamp(0.5, 4.0)
    }
    pub(crate) fn title_size(&self) -> f64 {
        22.0 * self.scale()
    }
    pub(crate) fn label_size(&self) -> f64 {
        16.0 * self.scale()
    }
    pub(crate) fn tick_size(&self) -> f64 {
        13.0 * self.scale()
    }
}

/// The ten colours of matplotlib's `tab10`, then further hues.
const TAB10: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// The colour of class `c`: `tab10` for the first ten, then evenly spread hues.
pub fn class_color(c: usize) -> RGBColor {
    match TAB10.get(c) {
        Some(&(r, g, b)) => RGBColor(r, g, b),
        None => {
            let hue = ((c - 10) as f64 * 0.381_966) % 1.0; // golden-ratio steps
            let HSLColor(h, s, l) = HSLColor(hue, 0.65, 0.45);
            let (r, g, b) = hsl_to_rgb(h, s, l);
            RGBColor(r, g, b)
        }
    }
}

/// Shade `s` of `n` of class `c`'s colour: from darker to lighter around the class colour (sub-class families).
pub fn subclass_color(c: usize, s: usize, n: usize) -> RGBColor {
    let RGBColor(r, g, b) = class_color(c);
    if n <= 1 {
        return RGBColor(r, g, b);
    }
    // t in [-0.45, 0.45]: negative darkens, positive mixes with white.
    let t = -0.45 + 0.9 * (s % n) as f64 / (n - 1) as f64;
    let mix = |v: u8| -> u8 {
        let v = f64::from(v);
        (if t < 0.0 { v * (1.0 + t) } else { v + (255.0 - v) * t }).round().clamp(0.0, 255.0) as u8
    };
    RGBColor(mix(r), mix(g), mix(b))
}

fn hsl_to_rgb(h: f64, s: f64, l: f64) -> (u8, u8, u8) {
    let q = if l < 0.5 { l * (1.0 + s) } else { l + s - l * s };
    let p = 2.0 * l - q;
    let f = |t: f64| {
        let t = t.rem_euclid(1.0);
        let v = if t < 1.0 / 6.0 {
            p + (q - p) * 6.0 * t
        } else if t < 0.5 {
            q
        } else if t < 2.0 / 3.0 {
            p + (q - p) * (2.0 / 3.0 - t) * 6.0
        } else {
            p
        };
        (v * 255.0).round().clamp(0.0, 255.0) as u8
    };
    (f(h + 1.0 / 3.0), f(h), f(h - 1.0 / 3.0))
}

/// Point markers: sub-classes cycle through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// A filled circle.
    Circle,
    /// A filled square.
    Square,
    /// A filled triangle.
    Triangle,
    /// A cross.
    Cross,
    /// A short horizontal line (line-plot legends).
    Line,
}

impl Marker {
    /// The marker of index `i` (cycling through circle, square, triangle, cross).
    pub fn nth(i: usize) -> Self {
        [Marker::Circle, Marker::Square, Marker::Triangle, Marker::Cross][i % 4]
    }
}

/// Draws `marker` centred at `(x, y)` (pixels) with half-size `r`.
pub(crate) fn draw_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    marker: Marker,
    (x, y): (i32, i32),
    r: i32,
    color: RGBColor,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    match marker {
        Marker::Circle => area.draw(&Circle::new((x, y), r, color.filled()))?,
        Marker::Square => area.draw(&Rectangle::new([(x - r, y - r), (x + r, y + r)], color.filled()))?,
        Marker::Triangle => {
            area.draw(&Polygon::new(vec![(x, y - r - 1), (x - r - 1, y + r), (x + r + 1, y + r)], color.filled()))?
        }
        Marker::Cross => {
            let s = color.stroke_width(2);
            area.draw(&PathElement::new(vec![(x - r, y - r), (x + r, y + r)], s))?;
            area.draw(&PathElement::new(vec![(x - r, y + r), (x + r, y - r)], s))?;
        }
        Marker::Line => {
            area.draw(&PathElement::new(vec![(x - 2 * r, y), (x + 2 * r, y)], color.stroke_width(3)))?;
            area.draw(&Circle::new((x, y), r.max(2) - 1, color.filled()))?;
        }
    }
    Ok(())
}

/// One legend line.
#[derive(Debug, Clone)]
pub(crate) struct LegendEntry {
    pub label: String,
    pub color: RGBColor,
    pub marker: Marker,
}

/// The width a legend of `entries` needs at `fig`'s label size (marker, gap, longest label, margins).
pub(crate) fn legend_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fig: &Figure,
    heading: Option<&str>,
    entries: &[LegendEntry],
) -> u32 {
    let style = font(fig.tick_size());
    let widest = entries
        .iter()
        .map(|e| e.label.as_str())
        .chain(heading)
        .map(|t| area.estimate_text_size(t, &style).map_or(8 * t.len() as u32, |(w, _)| w))
        .max()
        .unwrap_or(0);
    let s = fig.scale();
    (widest as f64 + 48.0 * s) as u32
}

/// Draws a boxed legend at the top of `area` (its own panel beside the plot).
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fig: &Figure,
    heading: Option<&str>,
    entries: &[LegendEntry],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let s = fig.scale();
    let line = (fig.tick_size() * 1.6).ceil() as i32;
    let pad = (8.0 * s) as i32;
    let (w, _) = area.dim_in_pixel();
    let rows = entries.len() as i32 + i32::from(heading.is_some());
    let top = (10.0 * s) as i32;
    let bottom = top + 2 * pad + rows * line;
    area.draw(&Rectangle::new([(2, top), (w as i32 - 6, bottom)], WHITE.filled()))?;
    area.draw(&Rectangle::new([(2, top), (w as i32 - 6, bottom)], BLACK.mix(0.5).stroke_width(1)))?;
    let text = |t: &str, x: i32, y: i32, bold: bool| {
        let mut font = (FONT, fig.tick_size()).into_font();
        if bold {
            font = font.style(FontStyle::Bold);
        }
        area.draw(&Text::new(t.to_string(), (x, y), font.color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center))))
    };
    let mut y = top + pad + line / 2;
    if let Some(h) = heading {
        text(h, 2 + pad, y, true)?;
        y += line;
    }
    let r = (4.0 * s).round().max(2.0) as i32;
    for e in entries {
        draw_marker(area, e.marker, (2 + pad + 2 * r, y), r, e.color)?;
        text(&e.label, 2 + pad + 5 * r + pad / 2, y, false)?;
        y += line;
    }
    Ok(())
}

/// A text style of the embedded font.
pub(crate) fn font(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

/// Bold text.
pub(crate) fn bold(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().style(FontStyle::Bold).color(&BLACK)
}

/// Formats an axis value compactly: at most three decimals, trailing zeros dropped (2, 0.8, 1.25).
pub(crate) fn tick_label(v: f64) -> String {
    if v.abs() >= 1e6 {
        return format!("{v:.2e}");
    }
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// The range `[lo, hi]` of `values` with a margin, never empty.
pub(crate) fn padded_range(values: impl IntoIterator<Item = f64>, margin: f64) -> (f64, f64) {
    let (lo, hi) = values.into_iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= 0.0 {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    (lo - span * margin, hi + span * margin)
}
