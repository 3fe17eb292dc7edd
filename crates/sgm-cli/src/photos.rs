//! Face images from loose files (a query, a photo album) turned into an [`ImageSet`] the model embeds: faces
//! detected in photos (`sgm_data::faces`) or files read whole as crops, resized to the model's input side. Shared
//! by `sgm retrieve`, `sgm summarize` and `sgm embed --photos`.

use anyhow::{Context, Result};
use image::GrayImage;
pub use sgm_data::faces::file_name;
use sgm_data::faces::{decode_photo, detect_photos, DetectorConfig, FaceBox};
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

/// How faces are taken from photos: detected (the default) or the whole file read as a face crop.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DetectArgs {
    /// Read the files as face crops (whole, no detection), as before photos were supported.
    #[arg(long)]
    pub no_detect: bool,
    /// Detector options from a TOML file (fields of sgm_data::faces::DetectorConfig: min_face_size,
    /// max_face_size, score_threshold, pyramid_scale, window_step, max_side, margin); the flags below override it.
    #[arg(long, value_name = "FILE")]
    pub detector_config: Option<PathBuf>,
    /// Smallest face to find, in pixels of the photo (at least 20; default 40).
    #[arg(long, value_name = "PX")]
    pub min_face: Option<u32>,
    /// Detector score threshold: higher finds fewer, surer faces (default 2.0).
    #[arg(long, value_name = "SCORE")]
    pub face_threshold: Option<f64>,
    /// Margin around the detector's box before cropping, as a fraction of its side (default 0.06, which frames a
    /// face as FER+ crops are framed).
    #[arg(long, value_name = "FRACTION")]
    pub face_margin: Option<f32>,
}

impl DetectArgs {
    /// The detector's options, with crops of `crop_size` pixels, validated.
    pub fn config(&self, crop_size: u32) -> Result<DetectorConfig> {
        let mut cfg = match &self.detector_config {
            Some(p) => {
                let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("{}: not a detector configuration", p.display()))?
            }
            None => DetectorConfig::default(),
        };
        cfg.crop_size = crop_size;
        if let Some(v) = self.min_face {
            cfg.min_face_size = v;
        }
        if let Some(v) = self.face_threshold {
            cfg.score_threshold = v;
        }
        if let Some(v) = self.face_margin {
            cfg.margin = v;
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

/// One face to embed: a detected face, or a whole file read as a crop.
#[derive(Debug, Clone)]
pub struct FaceItem {
    /// Its name in lists and captions: the photo's file name, with `#k` when the photo holds several faces.
    pub name: String,
    /// The photo.
    pub photo: PathBuf,
    /// The face's box in pixels of the photo: the detector's, or a `--crop` box; none for a whole file.
    pub bbox: Option<FaceBox>,
    /// The detector's score (detected faces only).
    pub score: Option<f64>,
    /// The grey face crop.
    pub image: GrayImage,
}

/// The faces of a list of photos.
#[derive(Debug, Default)]
pub struct Faces {
    /// Every face, photo by photo (left to right within a photo).
    pub items: Vec<FaceItem>,
    /// Readable photos, in order.
    pub photos: Vec<PathBuf>,
    /// Readable photos in which no face was found.
    pub without_faces: Vec<PathBuf>,
    /// Unreadable files skipped (with --skip-bad), with the reason.
    pub skipped: Vec<String>,
    /// The detector's options (none with --no-detect).
    pub detector: Option<DetectorConfig>,
}

/// The faces of `files`: detected (crops of `crop_size` pixels), or with --no-detect the files read whole. An
/// unreadable file is an error naming it, unless `skip_bad`.
pub fn load_faces(files: &[PathBuf], detect: &DetectArgs, crop_size: u32, skip_bad: bool) -> Result<Faces> {
    let unreadable = "an unreadable image (--skip-bad skips such images)";
    let mut out = Faces::default();
    if detect.no_detect {
        for f in files {
            match decode_photo(f) {
                Ok(img) => {
                    let item = FaceItem { name: file_name(f), photo: f.clone(), bbox: None, score: None, image: img };
                    out.items.push(item);
                    out.photos.push(f.clone());
                }
                Err(e) if skip_bad => {
                    tracing::warn!("skipping {e}");
                    out.skipped.push(e.to_string());
                }
                Err(e) => return Err(anyhow::Error::from(e).context(unreadable)),
            }
        }
        return Ok(out);
    }
    let cfg = detect.config(crop_size)?;
    let report = detect_photos(files, &cfg, skip_bad).map_err(|e| anyhow::Error::from(e).context(unreadable))?;
    for e in &report.skipped {
        tracing::warn!("skipping {e}");
    }
    out.skipped = report.skipped.iter().map(ToString::to_string).collect();
    for p in report.photos {
        let several = p.faces.len() > 1;
        if p.faces.is_empty() {
            out.without_faces.push(p.path.clone());
        }
        out.photos.push(p.path);
        out.items.extend(p.faces.into_iter().map(|d| FaceItem {
            name: d.label(several),
            photo: d.source.clone(),
            bbox: Some(d.bbox),
            score: Some(d.score),
            image: d.crop,
        }));
    }
    out.detector = Some(cfg);
    Ok(out)
}

/// One face of a JSON list: where it came from and, when detected, its box and score.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FaceRecord {
    /// The face's name (file name, `#k` when its photo holds several faces).
    pub name: String,
    /// The photo's file name.
    pub photo: String,
    /// The face's box in pixels of the photo (orientation applied); none for a whole file.
    #[serde(rename = "box")]
    pub bbox: Option<FaceBox>,
    /// The detector's score.
    pub score: Option<f64>,
}

impl From<&FaceItem> for FaceRecord {
    fn from(f: &FaceItem) -> Self {
        FaceRecord { name: f.name.clone(), photo: file_name(&f.photo), bbox: f.bbox, score: f.score }
    }
}
