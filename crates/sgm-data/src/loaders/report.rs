//! [`LoadReport`]: what a loader found, kept, dropped, skipped and excluded.

use std::path::PathBuf;

use crate::classes::Expression;
use crate::dedup::DuplicateStats;
use crate::image_set::Split;

/// Counts for one split.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SplitReport {
    /// The split.
    pub split: Split,
    /// Images found (on disk, or listed in the index file).
    pub found: usize,
    /// Bad items skipped (`skip_bad`).
    pub skipped: usize,
    /// Images excluded by a documented rule (e.g. the FER+ known-bad list).
    pub excluded: usize,
    /// Images the label rule dropped (FER+ unknown / not-a-face, AffectNet codes 8–10).
    pub unlabelled: usize,
    /// Leaked cross-split copies dropped (`drop_cross_split_duplicates`).
    pub dropped_duplicates: usize,
    /// Images kept in the returned set.
    pub kept: usize,
    /// Kept images per class, indexed by label.
    pub class_counts: Vec<usize>,
}

impl SplitReport {
    /// All-zero counts for `split`.
    pub fn new(split: Split) -> Self {
        Self {
            split,
            found: 0,
            skipped: 0,
            excluded: 0,
            unlabelled: 0,
            dropped_duplicates: 0,
            kept: 0,
            class_counts: Vec::new(),
        }
    }
}

/// A bad item skipped in `skip_bad` mode.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SkippedItem {
    /// The split it belonged to.
    pub split: Split,
    /// The error, naming the file (and line).
    pub reason: String,
}

/// An image excluded by a documented rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExcludedItem {
    /// The split it belonged to.
    pub split: Split,
    /// The image.
    pub source: PathBuf,
    /// Why, and what label it would have had.
    pub reason: String,
}

/// How many kept images were stored at one size and colour.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NativeSize {
    /// Stored width (after a face-box crop).
    pub width: u32,
    /// Stored height.
    pub height: u32,
    /// Whether the images held colour (converted to gray on loading).
    pub colour: bool,
    /// Images of this size and colour.
    pub count: usize,
    /// The first of them.
    pub example: PathBuf,
    /// Whether they were resized or converted (their format is not the target's).
    pub converted: bool,
}

/// What happened while loading a data set.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoadReport {
    /// Per-split counts, in output order.
    pub splits: Vec<SplitReport>,
    /// Bad items skipped (`skip_bad`); empty otherwise (bad input is an error).
    pub skipped: Vec<SkippedItem>,
    /// Images excluded by a documented rule.
    pub excluded: Vec<ExcludedItem>,
    /// Duplicate statistics over every image read, for data sets with a duplicate index.
    pub duplicates: Option<DuplicateStats>,
    /// How cross-split duplicates were handled, for data sets with a duplicate index.
    pub dedup_mode: Option<String>,
    /// FER+ classes with no image in any returned split (for sets labelled in FER+ order).
    pub missing_classes: Vec<Expression>,
    /// The label source and rule used, and other facts worth reporting.
    pub notes: Vec<String>,
    /// The kept images by stored size and colour, smallest first.
    #[serde(default)]
    pub native_sizes: Vec<NativeSize>,
}

impl LoadReport {
    /// Total number of skipped bad items.
    pub fn skipped_count(&self) -> usize {
        self.skipped.len()
    }
}
