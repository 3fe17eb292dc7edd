//! [`ImageSet`]: a decoded, in-memory split of a data set. Every loader and the synthetic generator produce one;
//! samplers, augmentation and the trainer consume it.

use std::path::PathBuf;

/// Which split of a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training split.
    Train,
    /// Validation split (model selection).
    Valid,
    /// Test split (reporting).
    Test,
    /// A data set with no official split (JAFFE, CK+, BU-3DFE are evaluated whole).
    All,
}

impl Split {
    /// Lower-case name, as used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
            Split::All => "all",
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Split {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "train" | "training" => Ok(Split::Train),
            "valid" | "val" | "validation" => Ok(Split::Valid),
            "test" => Ok(Split::Test),
            "all" => Ok(Split::All),
            other => Err(format!("unknown split '{other}' (expected train, valid, test or all)")),
        }
    }
}

/// What is known about one image besides its pixels.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SampleMeta {
    /// Where the image came from: a file path, or `file.csv:row` for images stored inside a CSV, or a synthetic id.
    pub source: PathBuf,
    /// Class index in the FER+ order (see [`crate::classes`]), or in the set's own class list for ImageFolder data.
    pub label: u32,
    /// Soft label (a distribution over classes) for the FER+ probability / crossentropy / multi-target modes.
    pub soft_label: Option<Vec<f32>>,
    /// Subject (person) identifier, for subject-disjoint splits.
    pub subject: Option<String>,
    /// Duplicate group: images with identical pixels share a group id (see the dedup index).
    pub group: Option<u32>,
    /// Ground-truth sub-class within the class (synthetic data only).
    pub subclass: Option<u32>,
    /// Expression intensity level, where the data set has one (BU-3DFE 1–4).
    pub intensity: Option<u8>,
}

impl SampleMeta {
    /// Metadata with only a source and a label.
    pub fn new(source: impl Into<PathBuf>, label: u32) -> Self {
        Self {
            source: source.into(),
            label,
            soft_label: None,
            subject: None,
            group: None,
            subclass: None,
            intensity: None,
        }
    }
}

/// A decoded split: `len()` gray images of `height × width` bytes, stored contiguously, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// Data set name (e.g. "ferplus").
    pub name: String,
    /// The split.
    pub split: Split,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// `len() * height * width` luma bytes.
    pub pixels: Vec<u8>,
    /// One entry per image.
    pub samples: Vec<SampleMeta>,
    /// Class names, indexed by label.
    pub class_names: Vec<String>,
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.samples.len()
    }
    /// True when the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
    /// Number of classes (the length of `class_names`).
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }
    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.height * self.width;
        &self.pixels[i * n..(i + 1) * n]
    }
    /// Labels of all images, in order.
    pub fn labels(&self) -> Vec<u32> {
        self.samples.iter().map(|s| s.label).collect()
    }
    /// Duplicate-group ids of every image, for retrieval that must not count copies of the query as hits: images
    /// the loader grouped keep their group; every other image gets a group of its own. `None` when the loader
    /// grouped nothing (no duplicate index for this data set).
    pub fn duplicate_groups(&self) -> Option<Vec<u32>> {
        let next = self.samples.iter().filter_map(|s| s.group).max()? + 1;
        Some(self.samples.iter().enumerate().map(|(i, s)| s.group.unwrap_or(next + i as u32)).collect())
    }
    /// Number of images of each class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes()];
        for s in &self.samples {
            if let Some(c) = counts.get_mut(s.label as usize) {
                *c += 1;
            }
        }
        counts
    }
}
