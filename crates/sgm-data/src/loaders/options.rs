//! [`LoadOptions`]: how a loader reads a data set. A serde struct (so it can come from TOML or JSON), with
//! defaults for every field, validated by [`LoadOptions::validate`] before use.

use crate::error::{DataError, Result};
use crate::image_io::ResizeFilter;
use crate::image_set::Split;

/// Options common to all loaders, plus one section per format that needs more.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoadOptions {
    /// Target size `[height, width]` every image is resized to; `None` keeps the native size, which must then be
    /// the same for all images (true for FER+, FER2013, CK+48).
    pub size: Option<[u32; 2]>,
    /// Resampling filter for the resize.
    pub filter: ResizeFilter,
    /// Log and skip bad input (unreadable image, malformed row, absent file) instead of failing; the skipped
    /// items are counted in the [`super::LoadReport`].
    pub skip_bad: bool,
    /// Refuse images whose stored size differs from `size`, or that hold colour, instead of resizing and converting
    /// them (each is bad input: an error, or skipped with `skip_bad`).
    pub strict_size: bool,
    /// Only these splits are returned (`None`: all). Data sets with a duplicate index still read every split.
    pub splits: Option<Vec<Split>>,
    /// Drop from valid (test) the images whose exact pixels also occur in train (train or valid). Applies to the
    /// data sets with a duplicate index (FER+, FER2013).
    pub drop_cross_split_duplicates: bool,
    /// FER+ options.
    pub ferplus: FerPlusOptions,
    /// CK+ official-layout options.
    pub ckplus: CkPlusOptions,
    /// CelebA options.
    pub celeba: CelebaOptions,
}

/// Which FER+ vote file to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum FerPlusLabelSource {
    /// `fer2013new.csv`, rows matched to images by the `Image name` column. The default: it is Microsoft's
    /// published label file and the source of the data README's count table.
    #[default]
    #[cfg_attr(feature = "clap", value(name = "fer2013new"))]
    Fer2013New,
    /// The `label.csv` of each split folder (no header; `name,"(x, y, w, h)",<10 votes>`).
    LabelCsv,
    /// The original FER2013 7-class labels of the FER+ PNGs, from `derived_fer2013_original_labels.csv` (recovered
    /// by pixel matching; not part of the FER+ release). The label mode does not apply.
    Fer2013Original,
}

/// How FER+ votes become a label (the four modes of Barsoum et al. 2016 and Microsoft's FERPlus code). In all
/// modes, votes of 1 or fewer are first set to 0 (outlier removal), and images whose result is "unknown" or
/// "not a face" are dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum FerPlusLabelMode {
    /// The paper's rule: keep the top class only if it holds more than half of the remaining votes.
    #[default]
    Majority,
    /// Soft label: the top classes, taken until they hold 75% of the votes (at most 3), must hold more than half;
    /// the soft label is their normalised vote share.
    Probability,
    /// The same target distribution as `probability` (the two modes differ only in the training loss).
    Crossentropy,
    /// Every class with at least 30% of the votes, normalised; kept when they hold more than half.
    MultiTarget,
}

/// FER+ options.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FerPlusOptions {
    /// Which vote file to read.
    pub label_source: FerPlusLabelSource,
    /// How votes become labels.
    pub label_mode: FerPlusLabelMode,
    /// Exclude the documented known-bad images (see [`super::ferplus::KNOWN_BAD`]).
    pub exclude_known_bad: bool,
}

impl Default for FerPlusOptions {
    fn default() -> Self {
        Self {
            label_source: FerPlusLabelSource::default(),
            label_mode: FerPlusLabelMode::default(),
            exclude_known_bad: true,
        }
    }
}

/// CK+ official-layout options.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CkPlusOptions {
    /// How many frames at the end of each labelled sequence get the sequence's label (the labelled frame is the
    /// last one; the common protocol, and CK+48, take the last 3).
    pub last_frames: usize,
    /// Also take the first frame of each labelled sequence as a neutral image.
    pub neutral_first_frame: bool,
}

impl Default for CkPlusOptions {
    fn default() -> Self {
        Self { last_frames: 3, neutral_first_frame: false }
    }
}

/// CelebA options. CelebA has no expression labels: by default every image gets label 0 of the single class
/// `unlabelled` (it is used for qualitative retrieval only).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CelebaOptions {
    /// Label by one binary attribute of `list_attr_celeba.txt` instead (e.g. `Smiling`): label 1 where it is +1,
    /// 0 where it is -1; classes `not <attr>`, `<attr>`.
    pub label_attribute: Option<String>,
}

impl LoadOptions {
    /// Checks every value; call before loading ([`super::load`] does).
    pub fn validate(&self) -> Result<()> {
        if let Some([h, w]) = self.size {
            if !(1..=4096).contains(&h) || !(1..=4096).contains(&w) {
                return Err(DataError::Config(format!("size [{h}, {w}] must be within 1..=4096 on each side")));
            }
        }
        if let Some(s) = &self.splits {
            if s.is_empty() {
                return Err(DataError::Config("splits, when given, must list at least one split".into()));
            }
        }
        if self.ckplus.last_frames == 0 {
            return Err(DataError::Config("ckplus.last_frames must be at least 1".into()));
        }
        if self.celeba.label_attribute.as_deref().is_some_and(|a| a.trim().is_empty()) {
            return Err(DataError::Config("celeba.label_attribute must not be empty".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented_choices() {
        let o = LoadOptions::default();
        o.validate().unwrap();
        assert_eq!(o.ferplus.label_source, FerPlusLabelSource::Fer2013New);
        assert_eq!(o.ferplus.label_mode, FerPlusLabelMode::Majority);
        assert!(o.ferplus.exclude_known_bad);
    }

    #[test]
    fn parses_from_toml_and_rejects_bad_values() {
        let o: LoadOptions = toml::from_str(
            "size = [64, 64]\nskip_bad = true\n[ferplus]\nlabel_source = \"label_csv\"\nlabel_mode = \"multi_target\"\n",
        )
        .unwrap();
        assert_eq!(o.size, Some([64, 64]));
        assert_eq!(o.ferplus.label_mode, FerPlusLabelMode::MultiTarget);
        assert!(toml::from_str::<LoadOptions>("sise = [1, 1]").is_err());
        let bad = LoadOptions { size: Some([0, 48]), ..Default::default() };
        assert!(matches!(bad.validate(), Err(DataError::Config(_))));
        let bad =
            LoadOptions { ckplus: CkPlusOptions { last_frames: 0, neutral_first_frame: false }, ..Default::default() };
        assert!(bad.validate().is_err());
        let bad = LoadOptions { splits: Some(vec![]), ..Default::default() };
        assert!(bad.validate().is_err());
    }
}
