//! [`AugmentConfig`]: the training augmentation's strengths and probabilities.

use crate::error::{DataError, Result};
use serde::{Deserialize, Serialize};

/// Strengths and probabilities of the training augmentation. [`Default`] is the paper's set (see
/// `shared/reference/paper-protocol.md`); [`AugmentConfig::none`] is the evaluation setting, which only resizes.
/// Validate with [`AugmentConfig::validate`] (the batch builder does) before use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    /// Random scale, always applied: factor uniform in `[1 − scale, 1 + scale]` (paper: 0.2).
    pub scale: f32,
    /// Probability of a random rotation plus translation (paper: 0.5).
    pub rotate_p: f32,
    /// Largest rotation in degrees, either way (paper: 30).
    pub max_rotation_deg: f32,
    /// Largest translation as a fraction of the image side, along each axis (paper: 0.2).
    pub max_translation: f32,
    /// Probability of a left–right mirror (paper: 0.5).
    pub mirror_p: f32,
    /// Brightness jitter: factor uniform in `[1 − b, 1 + b]` (paper: 0.25).
    pub brightness: f32,
    /// Probability of the brightness jitter (paper: 0.5).
    pub brightness_p: f32,
    /// Contrast jitter about the image mean: factor uniform in `[1 − c, 1 + c]` (paper: 0.25).
    pub contrast: f32,
    /// Probability of the contrast jitter (paper: 0.5).
    pub contrast_p: f32,
    /// Gamma jitter: exponent uniform in `[1 − g, 1 + g]` (paper: 0.25).
    pub gamma: f32,
    /// Probability of the gamma jitter (paper: 0.5).
    pub gamma_p: f32,
    /// Probability of CLAHE (paper: 0.25).
    pub clahe_p: f32,
    /// CLAHE clip limit, as a multiple of the mean histogram bin height (OpenCV's `clipLimit`).
    pub clahe_clip: f32,
    /// CLAHE tiles along each axis.
    pub clahe_tiles: u32,
    /// Probability of a slight Gaussian blur (paper: 0.25).
    pub blur_p: f32,
    /// Largest blur standard deviation in pixels; the blur's sigma is uniform in `[0.3, blur_sigma]`.
    pub blur_sigma: f32,
    /// Random crop: the image is resized to `round(size · (1 + crop))` and a `size × size` window is cut at a
    /// random position. 0 resizes straight to the output size.
    pub crop: f32,
    /// Random shift by reflection padding, after the resize and crop: the image is padded by `pad_crop` pixels on
    /// every side (reflect mode) and a window of the output size is cut at a random position, as torchvision's
    /// `RandomCrop(size, padding=pad_crop, padding_mode="reflect")`. 0 (the default) is off; it is at most 32 and
    /// less than the input size.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pad_crop: u32,
    /// Probability of random erasing, the last step: one rectangle of 2–33% of the image, aspect ratio 0.3–3.3,
    /// filled with mid-grey, as torchvision's `RandomErasing(p)` after normalisation (see
    /// [`crate::augment::erase`]). 0 (the default) is off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub erase_p: f32,
}

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            scale: 0.2,
            rotate_p: 0.5,
            max_rotation_deg: 30.0,
            max_translation: 0.2,
            mirror_p: 0.5,
            brightness: 0.25,
            brightness_p: 0.5,
            contrast: 0.25,
            contrast_p: 0.5,
            gamma: 0.25,
            gamma_p: 0.5,
            clahe_p: 0.25,
            clahe_clip: 2.0,
            clahe_tiles: 4,
            blur_p: 0.25,
            blur_sigma: 1.0,
            crop: 0.125,
            pad_crop: 0,
            erase_p: 0.0,
        }
    }
}

impl AugmentConfig {
    /// No augmentation: every probability and strength is 0, so images are only resized (evaluation).
    pub fn none() -> Self {
        Self {
            scale: 0.0,
            rotate_p: 0.0,
            max_rotation_deg: 0.0,
            max_translation: 0.0,
            mirror_p: 0.0,
            brightness: 0.0,
            brightness_p: 0.0,
            contrast: 0.0,
            contrast_p: 0.0,
            gamma: 0.0,
            gamma_p: 0.0,
            clahe_p: 0.0,
            blur_p: 0.0,
            crop: 0.0,
            ..Self::default()
        }
    }

    /// True when the configuration leaves every image unchanged apart from resizing.
    pub fn is_none(&self) -> bool {
        self.scale == 0.0
            && (self.rotate_p == 0.0 || (self.max_rotation_deg == 0.0 && self.max_translation == 0.0))
            && self.mirror_p == 0.0
            && (self.brightness_p == 0.0 || self.brightness == 0.0)
            && (self.contrast_p == 0.0 || self.contrast == 0.0)
            && (self.gamma_p == 0.0 || self.gamma == 0.0)
            && self.clahe_p == 0.0
            && self.blur_p == 0.0
            && self.crop == 0.0
            && self.pad_crop == 0
            && self.erase_p == 0.0
    }

    /// The augmentation named `name`:
    /// - `paper`: the authors' set ([`Default`]);
    /// - `light`: mirror, ±10° rotation with 5% translation (half the images), 10% scale, and a crop of up to
    ///   4 pixels at 48 (resized to 56 and cut back), with no photometric jitter, CLAHE or blur (`--recipe cpu-fast`
    ///   until 2026-12-04);
    /// - `flip-crop`: mirror and a 4-pixel reflect-padded random crop, nothing else: torchvision's
    ///   `RandomHorizontalFlip()` + `RandomCrop(size, padding=4, padding_mode="reflect")`, the plain classifier's
    ///   augmentation of issue 12's calibration run and of `--recipe cpu-fast`;
    /// - `flip-crop-erase`: `flip-crop` then random erasing with probability 0.5 (torchvision's
    ///   `RandomErasing(p=0.5)` after the crop);
    /// - `none`: resize only.
    pub fn preset(name: &str) -> Result<Self> {
        match name {
            "paper" => Ok(Self::default()),
            "light" => Ok(Self::light()),
            "flip-crop" => Ok(Self::flip_crop()),
            "flip-crop-erase" => Ok(Self::flip_crop_erase()),
            "none" => Ok(Self::none()),
            other => Err(DataError::Config(format!(
                "unknown augmentation '{other}' (expected one of {})",
                Self::PRESETS.join(", ")
            ))),
        }
    }

    /// The names [`AugmentConfig::preset`] knows.
    pub const PRESETS: [&'static str; 5] = ["paper", "light", "flip-crop", "flip-crop-erase", "none"];

    /// The `flip-crop` preset (see [`AugmentConfig::preset`]).
    pub fn flip_crop() -> Self {
        Self { mirror_p: 0.5, pad_crop: 4, ..Self::none() }
    }

    /// The `flip-crop-erase` preset (see [`AugmentConfig::preset`]).
    pub fn flip_crop_erase() -> Self {
        Self { erase_p: 0.5, ..Self::flip_crop() }
    }

    /// The `light` preset (see [`AugmentConfig::preset`]).
    pub fn light() -> Self {
        Self {
            scale: 0.1,
            rotate_p: 0.5,
            max_rotation_deg: 10.0,
            max_translation: 0.05,
            mirror_p: 0.5,
            crop: 1.0 / 6.0,
            ..Self::none()
        }
    }

    /// Checks every field's range; the error names the field.
    pub fn validate(&self) -> Result<()> {
        let probs = [
            ("rotate_p", self.rotate_p),
            ("mirror_p", self.mirror_p),
            ("brightness_p", self.brightness_p),
            ("contrast_p", self.contrast_p),
            ("gamma_p", self.gamma_p),
            ("clahe_p", self.clahe_p),
            ("blur_p", self.blur_p),
            ("erase_p", self.erase_p),
        ];
        let ranges = [
            ("scale", self.scale, 0.0, 0.9),
            ("max_rotation_deg", self.max_rotation_deg, 0.0, 180.0),
            ("max_translation", self.max_translation, 0.0, 1.0),
            ("brightness", self.brightness, 0.0, 1.0),
            ("contrast", self.contrast, 0.0, 1.0),
            ("gamma", self.gamma, 0.0, 0.95),
            ("clahe_clip", self.clahe_clip, 1.0, 256.0),
            ("blur_sigma", self.blur_sigma, 0.3, 5.0),
            ("crop", self.crop, 0.0, 1.0),
        ];
        let all = probs.iter().map(|&(n, v)| (n, v, 0.0, 1.0)).chain(ranges);
        for (name, v, lo, hi) in all {
            if !v.is_finite() || v < lo || v > hi {
                return Err(DataError::Config(format!("augment: {name} must be in {lo}..={hi}, got {v}")));
            }
        }
        if self.pad_crop > 32 {
            return Err(DataError::Config(format!("augment: pad_crop must be in 0..=32, got {}", self.pad_crop)));
        }
        if !(1..=16).contains(&self.clahe_tiles) {
            return Err(DataError::Config(format!("augment: clahe_tiles must be in 1..=16, got {}", self.clahe_tiles)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_paper_and_valid() {
        let c = AugmentConfig::default();
        c.validate().unwrap();
        assert_eq!((c.scale, c.rotate_p, c.max_rotation_deg, c.max_translation), (0.2, 0.5, 30.0, 0.2));
        assert_eq!((c.brightness, c.contrast, c.gamma, c.clahe_p, c.blur_p), (0.25, 0.25, 0.25, 0.25, 0.25));
        assert!(!c.is_none());
        AugmentConfig::none().validate().unwrap();
        assert!(AugmentConfig::none().is_none());
    }

    #[test]
    fn presets_are_valid_and_named() {
        for name in AugmentConfig::PRESETS {
            AugmentConfig::preset(name).unwrap().validate().unwrap();
        }
        assert_eq!(AugmentConfig::preset("paper").unwrap(), AugmentConfig::default());
        assert!(AugmentConfig::preset("none").unwrap().is_none());
        let fc = AugmentConfig::preset("flip-crop").unwrap();
        assert_eq!((fc.mirror_p, fc.pad_crop, fc.crop, fc.scale, fc.rotate_p), (0.5, 4, 0.0, 0.0, 0.0));
        assert!(!fc.is_none());
        let fce = AugmentConfig::preset("flip-crop-erase").unwrap();
        assert_eq!(fce, AugmentConfig { erase_p: 0.5, ..fc.clone() });
        assert!(!AugmentConfig { erase_p: 0.5, ..AugmentConfig::none() }.is_none());
        let e = AugmentConfig::preset("heavy").unwrap_err().to_string();
        assert!(e.contains("heavy") && e.contains("flip-crop"), "{e}");
        // Written configurations without the new field read as before, and it is left out when 0.
        let toml = toml::to_string(&AugmentConfig::default()).unwrap();
        assert!(!toml.contains("pad_crop") && !toml.contains("erase_p"), "{toml}");
        let back: AugmentConfig = toml::from_str(&toml::to_string(&fce).unwrap()).unwrap();
        assert_eq!(back, fce);
    }

    #[test]
    fn out_of_range_fields_are_named() {
        for (cfg, field) in [
            (AugmentConfig { mirror_p: 1.5, ..Default::default() }, "mirror_p"),
            (AugmentConfig { gamma: f32::NAN, ..Default::default() }, "gamma"),
            (AugmentConfig { clahe_tiles: 0, ..Default::default() }, "clahe_tiles"),
            (AugmentConfig { crop: -0.1, ..Default::default() }, "crop"),
            (AugmentConfig { pad_crop: 33, ..Default::default() }, "pad_crop"),
            (AugmentConfig { erase_p: -0.5, ..Default::default() }, "erase_p"),
        ] {
            let e = cfg.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        }
    }
}
