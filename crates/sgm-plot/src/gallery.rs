//! Image galleries: gray images in a grid, each with caption lines below it, optionally framed — the query and
//! its neighbours of `sgm retrieve`, the representatives of `sgm summarize`.

use crate::canvas::{render, write_png};
use crate::error::{check_nonempty, PlotError, Result};
use crate::style::{bold, font, Figure};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// One image of a gallery.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    /// `width × height` 8-bit gray pixels, row-major.
    pub pixels: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Lines of text under the image.
    pub caption: Vec<String>,
    /// Draw a coloured frame around the image (the query, say).
    pub highlight: bool,
}

/// A grid of tiles.
#[derive(Debug, Clone, PartialEq)]
pub struct Gallery {
    /// The title above the grid.
    pub title: String,
    /// The images, row by row.
    pub tiles: Vec<Tile>,
    /// Tiles per row.
    pub columns: usize,
    /// Side of the square box each image is scaled into (nearest neighbour, aspect kept), in pixels.
    pub tile_size: u32,
}

/// Draws `gallery` to the PNG `out`; returns the picture's `(width, height)`, which follows from the tiles.
pub fn gallery(gallery: &Gallery, out: &Path) -> Result<(u32, u32)> {
    let what = format!("gallery '{}'", gallery.title);
    check_nonempty(&format!("{what}: tiles"), gallery.tiles.len())?;
    if gallery.columns == 0 || !(8..=1024).contains(&gallery.tile_size) {
        return Err(PlotError::Invalid(format!(
            "{what}: {} columns and tile size {} (need at least 1 column, size 8..=1024)",
            gallery.columns, gallery.tile_size
        )));
    }
    for (i, t) in gallery.tiles.iter().enumerate() {
        if t.width == 0 || t.height == 0 || t.pixels.len() != t.width as usize * t.height as usize {
            return Err(PlotError::Invalid(format!(
                "{what}: tile {i} has {} pixels for {}x{}",
                t.pixels.len(),
                t.width,
                t.height
            )));
        }
    }
    // Text sizes for an image box of `tile_size`, never below 11 px.
    let fig = Figure::new(gallery.title.clone());
    let text_size = (f64::from(gallery.tile_size) * 0.11).clamp(11.0, 16.0);
    let title_size = text_size * 1.35;
    let lines = gallery.tiles.iter().map(|t| t.caption.len()).max().unwrap_or(0) as u32;
    let line = (text_size * 1.3).ceil() as u32;
    let pad = 12u32;
    // Cells as wide as the widest caption (rendered size estimated with the real font), at least the image.
    crate::style::ensure_font()?;
    let caption_font = font(text_size);
    let widest = gallery
        .tiles
        .iter()
        .flat_map(|t| t.caption.iter())
        .map(|c| caption_font.font.box_size(c).map_or(c.chars().count() as u32 * text_size as u32, |(w, _)| w))
        .max()
        .unwrap_or(0);
    let cell_w = gallery.tile_size.max(widest + 4);
    let cols = gallery.columns.min(gallery.tiles.len()) as u32;
    let rows = gallery.tiles.len().div_ceil(cols as usize) as u32;
    let title_band = (title_size * 2.2).ceil() as u32;
    let cell_h = gallery.tile_size + 6 + lines * line;
    let width = (cols * cell_w + (cols + 1) * pad).max(fig.width.min(320));
    let height = title_band + rows * cell_h + (rows + 1) * pad;
    let rgb = render(width, height, |root| {
        root.draw(&Text::new(
            gallery.title.clone(),
            (width as i32 / 2, (title_band / 2) as i32),
            bold(title_size).pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        for (k, t) in gallery.tiles.iter().enumerate() {
            let (col, row) = (k as u32 % cols, k as u32 / cols);
            let cx = pad + col * (cell_w + pad);
            let cy = title_band + pad + row * (cell_h + pad);
            // Scale into the square box, aspect kept, centred.
            let scale = f64::from(gallery.tile_size) / f64::from(t.width.max(t.height));
            let (dw, dh) =
                (((f64::from(t.width) * scale) as u32).max(1), ((f64::from(t.height) * scale) as u32).max(1));
            let ox = cx + (cell_w - dw) / 2;
            let oy = cy + (gallery.tile_size - dh) / 2;
            for y in 0..dh {
                let sy = ((f64::from(y) / scale) as u32).min(t.height - 1);
                for x in 0..dw {
                    let sx = ((f64::from(x) / scale) as u32).min(t.width - 1);
                    let v = t.pixels[(sy * t.width + sx) as usize];
                    root.draw_pixel(((ox + x) as i32, (oy + y) as i32), &RGBColor(v, v, v))?;
                }
            }
            if t.highlight {
                let (x0, y0, x1, y1) = (ox as i32 - 3, oy as i32 - 3, (ox + dw) as i32 + 2, (oy + dh) as i32 + 2);
                root.draw(&Rectangle::new([(x0, y0), (x1, y1)], RGBColor(230, 120, 0).stroke_width(3)))?;
            }
            for (l, text) in t.caption.iter().enumerate() {
                root.draw(&Text::new(
                    text.clone(),
                    ((cx + cell_w / 2) as i32, (cy + gallery.tile_size + 6 + l as u32 * line) as i32),
                    font(text_size).pos(Pos::new(HPos::Center, VPos::Top)),
                ))?;
            }
        }
        Ok(())
    })?;
    write_png(out, width, height, &rgb)?;
    Ok((width, height))
}
