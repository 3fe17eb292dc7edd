//! Rendering into an in-memory RGB buffer, PNG encoding, and atomic writes (a temporary sibling file renamed into
//! place, so the output is either the old file or the complete new one).

use crate::error::{PlotError, Result};
use crate::style::{ensure_font, Figure};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// The drawing area every plot draws on.
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Renders `draw` on a white `width × height` canvas and returns the RGB pixels.
pub(crate) fn render(width: u32, height: u32, draw: impl FnOnce(&Area<'_>) -> Result<()>) -> Result<Vec<u8>> {
    ensure_font()?;
    let mut buf = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    Ok(buf)
}

/// Renders a figure and writes it as a PNG at `out`.
pub(crate) fn render_figure(fig: &Figure, out: &Path, draw: impl FnOnce(&Area<'_>) -> Result<()>) -> Result<()> {
    fig.validate()?;
    let rgb = render(fig.width, fig.height, draw)?;
    write_png(out, fig.width, fig.height, &rgb)
}

/// Encodes RGB pixels as PNG and writes them atomically to `path`.
pub fn write_png(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<()> {
    if rgb.len() != width as usize * height as usize * 3 {
        return Err(PlotError::Invalid(format!(
            "{}: {} bytes for a {width}x{height} RGB image",
            path.display(),
            rgb.len()
        )));
    }
    let mut bytes = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut bytes),
        rgb,
        width,
        height,
        image::ExtendedColorType::Rgb8,
    )
    .map_err(|e| PlotError::Encode { path: path.to_path_buf(), reason: e.to_string() })?;
    Ok(sgm_core::fs::write_atomic(path, &bytes)?)
}

/// Splits off the title band at the top of `root`, draws `title` in it, and returns the rest.
pub(crate) fn titled<'a>(root: &Area<'a>, fig: &Figure) -> Result<Area<'a>> {
    let band = (fig.title_size() * 2.0).ceil() as u32;
    let (top, rest) = root.split_vertically(band);
    let (w, h) = top.dim_in_pixel();
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    top.draw(&Text::new(
        fig.title.clone(),
        (w as i32 / 2, h as i32 / 2 + 2),
        crate::style::bold(fig.title_size()).pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(rest)
}
