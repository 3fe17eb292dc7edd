//! Photos in, faces out: decode ordinary photos, find the faces in them, and cut each out as a grey square the
//! way FER+ crops are framed, ready for a model.
//!
//! - [`photo`]: the photos of a folder; decoding to grey with the EXIF orientation applied;
//! - [`detect`]: [`FaceDetector`], SeetaFace's frontal detector (the `rustface` crate) with its model embedded;
//! - [`config`]: [`DetectorConfig`] (minimum face size, score threshold, pyramid scale, margin, crop size …);
//! - [`crop`]: [`FaceBox`], the margin around a detector box, the crop itself and IoU;
//! - [`compose`]: test photos composed from face crops pasted on a textured canvas at known places.
//!
//! [`detect_photos`] runs the detector over many photos in parallel (rayon) and keeps the bookkeeping a photo
//! album needs: several faces per photo, photos without a face, unreadable files (an error naming the file, or
//! skipped and listed).
//!
//! ```
//! use sgm_data::faces::{compose, detect_image, DetectorConfig, FaceDetector};
//!
//! # fn main() -> Result<(), sgm_data::DataError> {
//! // A textured canvas holds no face.
//! let canvas = compose::textured_canvas(320, 240, 7);
//! let mut detector = FaceDetector::new(&DetectorConfig::default())?;
//! assert!(detect_image(&mut detector, &canvas, std::path::Path::new("canvas.png")).is_empty());
//! # Ok(())
//! # }
//! ```

pub mod compose;
pub mod config;
pub mod crop;
pub mod detect;
pub mod photo;

use std::path::{Path, PathBuf};

use image::GrayImage;
use rayon::prelude::*;

pub use config::DetectorConfig;
pub use crop::{crop_face, margin_box, FaceBox};
pub use detect::{FaceDetector, RawFace};
pub use photo::{decode_photo, decode_photo_bytes, photo_files, PHOTO_EXTENSIONS};

use crate::error::{DataError, Result};

/// One face found in a photo.
#[derive(Debug, Clone)]
pub struct Detection {
    /// The photo it was found in.
    pub source: PathBuf,
    /// Its number within the photo (0-based, faces ordered left to right).
    pub index: usize,
    /// The detector's box, in pixels of the photo as shown (orientation applied).
    pub bbox: FaceBox,
    /// The square region cropped: the box with [`DetectorConfig::margin`] on every side (may reach past the
    /// photo's edges, which are repeated).
    pub crop_box: FaceBox,
    /// The detector's score.
    pub score: f64,
    /// The grey crop, [`DetectorConfig::crop_size`] pixels square.
    pub crop: GrayImage,
}

impl Detection {
    /// A short name for captions and lists: the photo's file name, and `#k` (1-based) when `several`.
    pub fn label(&self, several: bool) -> String {
        let name = file_name(&self.source);
        if several {
            format!("{name}#{}", self.index + 1)
        } else {
            name
        }
    }
}

/// The file name of `path`, for captions and lists (the whole path when it has none).
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// The faces of one photo.
#[derive(Debug, Clone)]
pub struct PhotoFaces {
    /// The photo.
    pub path: PathBuf,
    /// Its width and height as shown (orientation applied).
    pub size: (u32, u32),
    /// Its faces, left to right; empty when none was found.
    pub faces: Vec<Detection>,
}

/// What [`detect_photos`] found in a list of photos.
#[derive(Debug, Default)]
pub struct DetectReport {
    /// Every readable photo, in the order given, with its faces (possibly none).
    pub photos: Vec<PhotoFaces>,
    /// Unreadable photos skipped (with `skip_bad`), in the order given, with the error.
    pub skipped: Vec<DataError>,
}

impl DetectReport {
    /// Every face, photo by photo, left to right within a photo.
    pub fn faces(&self) -> impl Iterator<Item = &Detection> {
        self.photos.iter().flat_map(|p| p.faces.iter())
    }

    /// The number of faces.
    pub fn num_faces(&self) -> usize {
        self.photos.iter().map(|p| p.faces.len()).sum()
    }

    /// The readable photos in which no face was found.
    pub fn without_faces(&self) -> Vec<&Path> {
        self.photos.iter().filter(|p| p.faces.is_empty()).map(|p| p.path.as_path()).collect()
    }
}

/// The faces of the decoded photo `img` (from `source`, for the records): detected, then cropped with the
/// detector's margin and crop size.
pub fn detect_image(detector: &mut FaceDetector, img: &GrayImage, source: &Path) -> Vec<Detection> {
    let (margin, side) = (detector.config().margin, detector.config().crop_size);
    detector
        .detect(img)
        .into_iter()
        .enumerate()
        .map(|(index, f)| {
            let crop_box = margin_box(f.bbox, margin);
            Detection {
                source: source.to_path_buf(),
                index,
                bbox: f.bbox,
                crop_box,
                score: f.score,
                crop: crop_face(img, crop_box, side),
            }
        })
        .collect()
}

/// Decodes and searches many photos in parallel (rayon; one detector per worker). An unreadable photo is an
/// error naming the file (the first in the order given), unless `skip_bad`, when it is listed in
/// [`DetectReport::skipped`] instead.
pub fn detect_photos(paths: &[PathBuf], cfg: &DetectorConfig, skip_bad: bool) -> Result<DetectReport> {
    FaceDetector::new(cfg)?; // validates once, and fails early when the model cannot be read
    let results: Vec<Result<PhotoFaces>> = paths
        .par_iter()
        .map_init(
            || FaceDetector::new(cfg).expect("checked above"),
            |detector, path| {
                let img = decode_photo(path)?;
                let faces = detect_image(detector, &img, path);
                Ok(PhotoFaces { path: path.clone(), size: img.dimensions(), faces })
            },
        )
        .collect();
    let mut report = DetectReport::default();
    for r in results {
        match r {
            Ok(p) => report.photos.push(p),
            Err(e) if skip_bad => report.skipped.push(e),
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// The highest-scoring face of the photo at `path` and the number of faces found; [`DataError::NoFace`] when
/// there is none.
pub fn best_face(path: &Path, cfg: &DetectorConfig) -> Result<(Detection, usize)> {
    let mut detector = FaceDetector::new(cfg)?;
    let img = decode_photo(path)?;
    let faces = detect_image(&mut detector, &img, path);
    let n = faces.len();
    faces.into_iter().max_by(|a, b| a.score.total_cmp(&b.score)).map(|d| (d, n)).ok_or_else(|| DataError::NoFace {
        path: path.to_path_buf(),
        min_face_size: cfg.min_face_size,
        score_threshold: cfg.score_threshold,
    })
}
