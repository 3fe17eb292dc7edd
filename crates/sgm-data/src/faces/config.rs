//! [`DetectorConfig`]: how faces are found in a photo and how they are cut out.

use crate::error::{DataError, Result};
use serde::{Deserialize, Serialize};

/// Options of the face detector and of the crops it returns. Every field has a default (see [`Default`]), so a
/// TOML/JSON file may give only the fields it changes. [`DetectorConfig::validate`] is called before use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectorConfig {
    /// Smallest face searched for: side of the detector's box in pixels of the photo (as decoded, before
    /// [`max_side`](Self::max_side) scaling). At least 20, the detector's window.
    pub min_face_size: u32,
    /// Largest face searched for, in pixels of the photo; `None` for no limit beyond the photo's size.
    pub max_face_size: Option<u32>,
    /// Score threshold of the detector (SeetaFace's scale: its authors suggest values between 0.95 and 4.5;
    /// higher is stricter). Detections scoring below it are dropped.
    pub score_threshold: f64,
    /// Ratio between adjacent levels of the detector's image pyramid, in (0.1, 0.99): closer to 1 is slower and
    /// finds more faces whose size falls between levels.
    pub pyramid_scale: f32,
    /// Step of the sliding window in pixels (horizontal and vertical).
    pub window_step: u32,
    /// Photos whose longer side exceeds this are scaled down to it for detection (boxes are mapped back and crops
    /// are cut from the full-resolution photo). Detection time grows with the pixel count.
    pub max_side: u32,
    /// Margin added on every side of the detector's box before cropping, as a fraction of the box's side. FER+
    /// crops are framed a little wider than the detector's box: on FER+ faces pasted into photos, the crop's side
    /// is a median 1.12 times the box's, and their centres agree, hence the default 0.06.
    pub margin: f32,
    /// Side of the square grey crop returned for every face, in pixels.
    pub crop_size: u32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            min_face_size: 40,
            max_face_size: None,
            score_threshold: 2.0,
            pyramid_scale: 0.8,
            window_step: 4,
            max_side: 1280,
            margin: 0.06,
            crop_size: 48,
        }
    }
}

impl DetectorConfig {
    /// Checks every field's range; the error names the field and the accepted range.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(DataError::Config(format!("face detector: {what}")));
        if self.min_face_size < 20 {
            return bad(format!("min_face_size is {}, below the detector's window of 20 px", self.min_face_size));
        }
        if let Some(max) = self.max_face_size {
            if max < self.min_face_size {
                return bad(format!("max_face_size {max} is below min_face_size {}", self.min_face_size));
            }
        }
        if !(self.score_threshold.is_finite() && self.score_threshold > 0.0) {
            return bad(format!("score_threshold is {}, expected a number > 0", self.score_threshold));
        }
        if !(self.pyramid_scale > 0.1 && self.pyramid_scale < 0.99) {
            return bad(format!("pyramid_scale is {}, expected a number in (0.1, 0.99)", self.pyramid_scale));
        }
        if self.window_step == 0 || self.window_step > 64 {
            return bad(format!("window_step is {}, expected 1 to 64 pixels", self.window_step));
        }
        if self.max_side < 64 {
            return bad(format!("max_side is {}, expected at least 64 pixels", self.max_side));
        }
        if !(self.margin.is_finite() && (0.0..=2.0).contains(&self.margin)) {
            return bad(format!("margin is {}, expected a fraction of the box's side in [0, 2]", self.margin));
        }
        if self.crop_size == 0 || self.crop_size > 4096 {
            return bad(format!("crop_size is {}, expected 1 to 4096 pixels", self.crop_size));
        }
        Ok(())
    }
}
