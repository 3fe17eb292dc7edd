//! Conversion of an augmented grey image to normalised `f32` planes, one or three channels.

use crate::error::{DataError, Result};
use image::GrayImage;
use serde::{Deserialize, Serialize};

/// Per-channel mean and standard deviation applied to grey levels scaled to `[0, 1]`: `(v / 255 − mean) / std`.
/// [`Default`] is the CIFAR-10 statistics the paper uses. A 1-channel output uses the average of the three means
/// and of the three standard deviations (a grey image is the average of identical R, G and B planes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Normalization {
    /// Mean of the R, G, B channels.
    pub mean: [f32; 3],
    /// Standard deviation of the R, G, B channels.
    pub std: [f32; 3],
}

impl Default for Normalization {
    fn default() -> Self {
        Self::cifar10()
    }
}

impl Normalization {
    /// CIFAR-10: mean (0.4914, 0.4822, 0.4465), std (0.2023, 0.1994, 0.2010).
    pub fn cifar10() -> Self {
        Self { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010] }
    }

    /// ImageNet: mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225), the statistics torchvision's and timm's
    /// ImageNet weights were trained with.
    pub fn imagenet() -> Self {
        Self { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }
    }

    /// No normalisation beyond scaling to `[0, 1]`: mean 0, std 1.
    pub fn unit() -> Self {
        Self { mean: [0.0; 3], std: [1.0; 3] }
    }

    /// The named statistics: `cifar10`, `imagenet` or `unit`.
    pub fn by_name(name: &str) -> Result<Self> {
        match name {
            "cifar10" | "cifar" => Ok(Self::cifar10()),
            "imagenet" => Ok(Self::imagenet()),
            "unit" | "none" => Ok(Self::unit()),
            other => {
                Err(DataError::Config(format!("unknown normalization '{other}' (expected cifar10, imagenet or unit)")))
            }
        }
    }

    /// The name of these statistics when they are one of [`Normalization::by_name`]'s, else `"custom"`.
    pub fn name(&self) -> &'static str {
        for (name, n) in [("cifar10", Self::cifar10()), ("imagenet", Self::imagenet()), ("unit", Self::unit())] {
            if *self == n {
                return name;
            }
        }
        "custom"
    }

    /// Checks that means are finite and standard deviations positive.
    pub fn validate(&self) -> Result<()> {
        if self.mean.iter().any(|m| !m.is_finite()) || self.std.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return Err(DataError::Config(format!(
                "normalization: mean must be finite and std positive, got mean {:?} std {:?}",
                self.mean, self.std
            )));
        }
        Ok(())
    }

    /// `(mean, std)` used for channel `c` of a `channels`-channel output (1 or 3).
    pub fn channel(&self, c: usize, channels: usize) -> (f32, f32) {
        if channels == 1 {
            (self.mean.iter().sum::<f32>() / 3.0, self.std.iter().sum::<f32>() / 3.0)
        } else {
            (self.mean[c], self.std[c])
        }
    }
}

/// Appends `img` as `channels` (1, or 3 identical grey planes) normalised planes in CHW order to `out`.
pub fn push_normalized(img: &GrayImage, channels: usize, norm: &Normalization, out: &mut Vec<f32>) {
    for c in 0..channels {
        let (m, s) = norm.channel(c, channels);
        out.extend(img.as_raw().iter().map(|&v| (v as f32 / 255.0 - m) / s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    #[test]
    fn cifar_numbers_and_channel_layout() {
        let img = GrayImage::from_fn(2, 1, |x, _| Luma([if x == 0 { 0 } else { 255 }]));
        let n = Normalization::cifar10();
        let mut three = Vec::new();
        push_normalized(&img, 3, &n, &mut three);
        assert_eq!(three.len(), 6);
        let close = |a: f32, b: f32| (a - b).abs() < 1e-5;
        assert!(close(three[0], -0.4914 / 0.2023));
        assert!(close(three[1], (1.0 - 0.4914) / 0.2023));
        assert!(close(three[2], -0.4822 / 0.1994));
        assert!(close(three[5], (1.0 - 0.4465) / 0.2010));
        let mut one = Vec::new();
        push_normalized(&img, 1, &n, &mut one);
        assert_eq!(Normalization::by_name("imagenet").unwrap().name(), "imagenet");
        assert_eq!(Normalization::default().name(), "cifar10");
        assert!(Normalization::by_name("coco").is_err());
        let (m, s) = ((0.4914 + 0.4822 + 0.4465) / 3.0, (0.2023 + 0.1994 + 0.2010) / 3.0);
        assert!(close(one[0], -m / s) && close(one[1], (1.0 - m) / s));
        let mut unit = Vec::new();
        push_normalized(&img, 1, &Normalization::unit(), &mut unit);
        assert_eq!(unit, vec![0.0, 1.0]);
        assert!(Normalization { std: [1.0, 0.0, 1.0], ..n }.validate().is_err());
    }
}
