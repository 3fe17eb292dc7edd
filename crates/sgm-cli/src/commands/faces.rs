//! Face images from loose files (a query, a photo album) turned into an [`ImageSet`] the model embeds: decoded to
//! gray, optionally cropped, resized to the model's input side. Shared by `sgm retrieve` and `sgm summarize`.

use anyhow::Result;
use image::GrayImage;
use sgm_data::image_io::{resize, ResizeFilter};
use sgm_data::{ImageSet, SampleMeta, Split};
use sgm_plot::Tile;
use sgm_train::train::Trainer;
use std::path::PathBuf;

/// An [`ImageSet`] of `images` (label 0), each resized to `side × side` (bilinear, as the data loaders).
pub fn image_set(name: &str, images: &[(PathBuf, GrayImage)], side: usize) -> ImageSet {
    let mut pixels = Vec::with_capacity(images.len() * side * side);
    for (_, img) in images {
        pixels.extend_from_slice(resize(img, side as u32, side as u32, ResizeFilter::Triangle).as_raw());
    }
    ImageSet {
        name: name.to_string(),
        split: Split::All,
        height: side,
        width: side,
        pixels,
        samples: images.iter().map(|(p, _)| SampleMeta::new(p.clone(), 0)).collect(),
        class_names: vec![name.to_string()],
    }
}

/// The input side of the trainer's model.
pub fn input_side(trainer: &Trainer) -> usize {
    trainer.config().model.input_size
}

/// A gallery tile of a gray image.
pub fn tile(img: &GrayImage, caption: Vec<String>, highlight: bool) -> Tile {
    Tile { pixels: img.as_raw().clone(), width: img.width(), height: img.height(), caption, highlight }
}

/// A gallery tile of image `i` of `set`.
pub fn set_tile(set: &ImageSet, i: usize, caption: Vec<String>) -> Tile {
    Tile {
        pixels: set.image(i).to_vec(),
        width: set.width as u32,
        height: set.height as u32,
        caption,
        highlight: false,
    }
}

/// `name` shortened to at most `max` characters (an ellipsis in the middle), for captions.
pub fn short(name: &str, max: usize) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= max {
        return name.to_string();
    }
    let keep = max.saturating_sub(1);
    let head: String = chars[..keep / 2].iter().collect();
    let tail: String = chars[chars.len() - (keep - keep / 2)..].iter().collect();
    format!("{head}…{tail}")
}

/// Writes pretty JSON atomically.
pub fn write_json(path: &std::path::Path, v: &impl serde::Serialize) -> Result<()> {
    sgm_train::atomic::write_atomic(path, serde_json::to_string_pretty(v)?.as_bytes())?;
    Ok(())
}
