//! The face detector: SeetaFace's frontal face detector (a funnel-structured cascade) through the pure-Rust
//! [`rustface`] port, with its model embedded in the binary.
//!
//! The model file, `seeta_fd_frontal_v1.0.bin` (BSD-2-Clause, 1.2 MB), ships inside the `rustface` crate; the
//! build script copies it from that crate's package and [`MODEL_BYTES`] embeds it, so nothing is downloaded. It
//! is parsed once per process. A [`FaceDetector`] is cheap to make (a copy of the parsed model) and is used by one
//! thread at a time; [`crate::faces::detect_photos`] makes one per rayon worker.

use std::sync::OnceLock;

use image::GrayImage;

use super::config::DetectorConfig;
use super::crop::FaceBox;
use crate::error::{DataError, Result};

/// SeetaFace's frontal detector model, `seeta_fd_frontal_v1.0.bin` from the `rustface` crate.
pub static MODEL_BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/seeta_fd_frontal_v1.0.bin"));

/// The parsed model, shared by every detector of the process.
fn model() -> Result<&'static rustface::Model> {
    static MODEL: OnceLock<std::result::Result<rustface::Model, String>> = OnceLock::new();
    MODEL
        .get_or_init(|| rustface::read_model(std::io::Cursor::new(MODEL_BYTES)).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| DataError::Detector(format!("cannot read the embedded SeetaFace model: {e}")))
}

/// A face found by the detector, in pixels of the image it was given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawFace {
    /// The detector's box: a tight square around brows, eyes, nose and mouth.
    pub bbox: FaceBox,
    /// The detector's score (higher is surer; compare with [`DetectorConfig::score_threshold`]).
    pub score: f64,
}

/// A configured face detector. Not shared between threads: make one per thread (cheap).
pub struct FaceDetector {
    inner: Box<dyn rustface::Detector>,
    cfg: DetectorConfig,
}

impl std::fmt::Debug for FaceDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceDetector").field("cfg", &self.cfg).finish_non_exhaustive()
    }
}

impl FaceDetector {
    /// A detector with the options of `cfg` (validated here).
    pub fn new(cfg: &DetectorConfig) -> Result<Self> {
        cfg.validate()?;
        let mut inner = rustface::create_detector_with_model(model()?.clone());
        inner.set_score_thresh(cfg.score_threshold);
        inner.set_pyramid_scale_factor(cfg.pyramid_scale);
        inner.set_slide_window_step(cfg.window_step, cfg.window_step);
        Ok(Self { inner, cfg: cfg.clone() })
    }

    /// The options this detector was made with.
    pub fn config(&self) -> &DetectorConfig {
        &self.cfg
    }

    /// The faces in `img`, in its pixel coordinates, left to right (then top to bottom). A photo whose longer
    /// side exceeds [`DetectorConfig::max_side`] is searched at that size and the boxes are scaled back.
    pub fn detect(&mut self, img: &GrayImage) -> Vec<RawFace> {
        let (w, h) = img.dimensions();
        let long = w.max(h);
        let (scaled, factor) = if long > self.cfg.max_side {
            let f = f64::from(self.cfg.max_side) / f64::from(long);
            let (sw, sh) = (((f64::from(w) * f).round() as u32).max(1), ((f64::from(h) * f).round() as u32).max(1));
            (Some(image::imageops::resize(img, sw, sh, image::imageops::FilterType::Triangle)), f)
        } else {
            (None, 1.0)
        };
        let search = scaled.as_ref().unwrap_or(img);
        let to_search = |px: u32| ((f64::from(px) * factor).round() as u32).max(20);
        let min_face = to_search(self.cfg.min_face_size);
        let (sw, sh) = search.dimensions();
        if sw < min_face || sh < min_face {
            return Vec::new(); // no window of the minimum size fits
        }
        self.inner.set_min_face_size(min_face);
        let max_face = self.cfg.max_face_size.map_or(sw.min(sh), |m| to_search(m).min(sw.min(sh))).max(min_face);
        self.inner.set_max_face_size(max_face);
        let data = rustface::ImageData::new(search.as_raw(), sw, sh);
        let mut faces: Vec<RawFace> = self
            .inner
            .detect(&data)
            .into_iter()
            .filter(|f| f.score() >= self.cfg.score_threshold)
            .map(|f| {
                let b = f.bbox();
                let bbox = FaceBox::new(b.x(), b.y(), b.width(), b.height()).scaled(1.0 / factor);
                RawFace { bbox, score: f.score() }
            })
            .collect();
        faces.sort_by_key(|f| (f.bbox.x, f.bbox.y));
        faces
    }
}
