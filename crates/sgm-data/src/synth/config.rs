//! [`SynthConfig`]: what the synthetic generator draws, and how many.

use crate::error::{DataError, Result};
use crate::image_set::Split;
use serde::{Deserialize, Serialize};

/// Configuration of the synthetic expression-face generator. Every field has a default (see [`Default`]), so a
/// TOML/JSON file may give only the fields it changes. Call [`SynthConfig::validate`] (the generator does) before
/// use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SynthConfig {
    /// Master seed. Each image is drawn from its own stream derived from `(seed, split, index)`.
    pub seed: u64,
    /// Side of the square output images in pixels (faces are drawn at twice this size and downsampled).
    pub size: usize,
    /// Images per class in the train split.
    pub train_per_class: usize,
    /// Images per class in the valid split.
    pub valid_per_class: usize,
    /// Images per class in the test split.
    pub test_per_class: usize,
    /// Relative frequency of the sub-classes within every class (one weight per sub-class, see
    /// [`crate::synth::SUBCLASSES_PER_CLASS`]). They need not sum to 1.
    pub subclass_weights: Vec<f64>,
    /// Multiplier on the nuisance variation (head pose, lighting, face shape, background clutter). 1 is the
    /// documented default difficulty; 0 gives frontal, evenly lit faces of average shape.
    pub nuisance: f32,
    /// Standard deviation of the additive Gaussian pixel noise, in grey levels (0–255).
    pub noise_std: f32,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            size: 48,
            train_per_class: 600,
            valid_per_class: 100,
            test_per_class: 100,
            subclass_weights: vec![0.5, 0.3, 0.2],
            nuisance: 1.0,
            noise_std: 6.0,
        }
    }
}

impl SynthConfig {
    /// A small configuration for tests and demos: `per_class` images per class in every split.
    pub fn small(per_class: usize, seed: u64) -> Self {
        Self {
            seed,
            train_per_class: per_class,
            valid_per_class: per_class,
            test_per_class: per_class,
            ..Self::default()
        }
    }

    /// Images per class in `split`. [`Split::All`] is the sum of the three splits.
    pub fn per_class(&self, split: Split) -> usize {
        match split {
            Split::Train => self.train_per_class,
            Split::Valid => self.valid_per_class,
            Split::Test => self.test_per_class,
            Split::All => self.train_per_class + self.valid_per_class + self.test_per_class,
        }
    }

    /// Checks every field's range; the error names the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(DataError::Config(format!("synth: {msg}")));
        if !(16..=256).contains(&self.size) {
            return bad(format!("size must be in 16..=256, got {}", self.size));
        }
        for (name, n) in [
            ("train_per_class", self.train_per_class),
            ("valid_per_class", self.valid_per_class),
            ("test_per_class", self.test_per_class),
        ] {
            if n > 1_000_000 {
                return bad(format!("{name} must be at most 1000000, got {n}"));
            }
        }
        if self.subclass_weights.len() != super::SUBCLASSES_PER_CLASS {
            return bad(format!(
                "subclass_weights needs {} entries, got {}",
                super::SUBCLASSES_PER_CLASS,
                self.subclass_weights.len()
            ));
        }
        if self.subclass_weights.iter().any(|w| !w.is_finite() || *w < 0.0)
            || self.subclass_weights.iter().sum::<f64>() <= 0.0
        {
            return bad(format!(
                "subclass_weights must be finite, non-negative and not all zero, got {:?}",
                self.subclass_weights
            ));
        }
        if !self.nuisance.is_finite() || !(0.0..=3.0).contains(&self.nuisance) {
            return bad(format!("nuisance must be in 0..=3, got {}", self.nuisance));
        }
        if !self.noise_std.is_finite() || !(0.0..=64.0).contains(&self.noise_std) {
            return bad(format!("noise_std must be in 0..=64, got {}", self.noise_std));
        }
        Ok(())
    }

    /// The sub-class of the `j`-th image (0-based) of a class holding `n` images: the classes are cut into
    /// contiguous blocks whose sizes follow `subclass_weights` (largest-remainder rounding), so the counts are
    /// exact and the same in every class.
    pub(crate) fn subclass_of(&self, j: usize, n: usize) -> u32 {
        let total: f64 = self.subclass_weights.iter().sum();
        let mut cum = 0.0;
        let pos = (j as f64 + 0.5) / n.max(1) as f64;
        for (s, w) in self.subclass_weights.iter().enumerate() {
            cum += w / total;
            if pos < cum {
                return s as u32;
            }
        }
        // Rounding at the very end of the cumulative sum: the last sub-class with a positive weight.
        self.subclass_weights.iter().rposition(|w| *w > 0.0).unwrap_or(0) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_sizes_match_the_issue() {
        let c = SynthConfig::default();
        c.validate().unwrap();
        assert_eq!((c.per_class(Split::Train), c.per_class(Split::Valid), c.per_class(Split::Test)), (600, 100, 100));
        assert_eq!(c.size, 48);
    }

    #[test]
    fn invalid_fields_are_rejected_with_their_name() {
        let cases: Vec<(SynthConfig, &str)> = vec![
            (SynthConfig { size: 8, ..Default::default() }, "size"),
            (SynthConfig { subclass_weights: vec![1.0], ..Default::default() }, "subclass_weights"),
            (SynthConfig { subclass_weights: vec![0.0, 0.0, 0.0], ..Default::default() }, "subclass_weights"),
            (SynthConfig { subclass_weights: vec![1.0, -1.0, 1.0], ..Default::default() }, "subclass_weights"),
            (SynthConfig { nuisance: f32::NAN, ..Default::default() }, "nuisance"),
            (SynthConfig { noise_std: -1.0, ..Default::default() }, "noise_std"),
        ];
        for (cfg, field) in cases {
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.contains(field), "{err} should name {field}");
        }
    }

    #[test]
    fn subclass_blocks_follow_the_weights() {
        let c = SynthConfig::default();
        let mut counts = [0usize; 3];
        for j in 0..600 {
            counts[c.subclass_of(j, 600) as usize] += 1;
        }
        assert_eq!(counts, [300, 180, 120]);
        let z = SynthConfig { subclass_weights: vec![1.0, 0.0, 1.0], ..Default::default() };
        let mut counts = [0usize; 3];
        for j in 0..10 {
            counts[z.subclass_of(j, 10) as usize] += 1;
        }
        assert_eq!(counts, [5, 0, 5]);
    }

    #[test]
    fn partial_toml_uses_defaults() {
        let c: SynthConfig = toml::from_str("seed = 9\ntrain_per_class = 10").unwrap();
        assert_eq!(c.seed, 9);
        assert_eq!(c.train_per_class, 10);
        assert_eq!(c.valid_per_class, 100);
    }
}
