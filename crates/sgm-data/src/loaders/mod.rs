//! Loaders: each reads one data set's official on-disk layout into decoded, labelled [`ImageSet`]s, one per split.
//!
//! Entry point: [`load`] with a [`Format`], the data set's root folder and [`LoadOptions`] (validated before
//! use). Every loader
//! - maps its labels to the FER+ class order ([`crate::classes::Expression`]) and reports the classes it lacks;
//! - decodes images in parallel to luma and resizes them to [`LoadOptions::size`];
//! - on bad input (unreadable image, malformed index row, label out of range, missing split folder, image listed
//!   but absent) returns a [`DataError`] naming the file and 1-based line; with [`LoadOptions::skip_bad`] it logs a
//!   warning, skips the item and counts it in the [`LoadReport`] instead. It never panics on bad input.
//!
//! One file per format: [`ferplus`], [`fer2013`], [`ckplus`] (official and CK+48 layouts), [`jaffe`],
//! [`affectnet`], [`bu3dfe`], [`celeba`], [`image_folder`].

use std::path::Path;

use crate::error::{DataError, Result};
use crate::image_set::{ImageSet, Split};

pub mod affectnet;
pub mod bu3dfe;
mod cache;
pub mod celeba;
pub mod ckplus;
pub mod fer2013;
pub mod ferplus;
pub mod image_folder;
pub mod jaffe;

mod builder;
mod files;
mod options;
mod report;

pub(crate) use builder::{Builder, Pending, PixelSource};
pub(crate) use files::{
    check_header, ferplus_class_names, file_name, list_dirs, list_files, list_images, read_csv, require_dir,
    require_file,
};

pub use cache::{clear_cache, load_cached};
pub use options::{CelebaOptions, CkPlusOptions, FerPlusLabelMode, FerPlusLabelSource, FerPlusOptions, LoadOptions};
pub use report::{ExcludedItem, LoadReport, NativeSize, SkippedItem, SplitReport};

/// The on-disk layouts sgm can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// FER+ (`data/FER2013{Train,Valid,Test}/*.png` + `label.csv`, and `fer2013new.csv`).
    Ferplus,
    /// The original FER2013 `fer2013.csv` (`emotion,pixels,Usage`), 7 classes.
    Fer2013,
    /// CK+ official layout (`cohn-kanade-images/` + `Emotion/`).
    Ckplus,
    /// The CK+48 crop layout (`CK+48/<emotion>/*.png`).
    Ckplus48,
    /// JAFFE: a flat folder of `<subject>.<EXPR><n>.<index>.tiff`.
    Jaffe,
    /// AffectNet manually annotated images with `training.csv` / `validation.csv`.
    Affectnet,
    /// BU-3DFE 2D textures `<subject>/<subject>_<EXPR><level><race>_F2D.bmp`.
    Bu3dfe,
    /// CelebA `img_align_celeba/` + `list_eval_partition.txt` (no expression labels).
    Celeba,
    /// `<root>/<class>/<image>` or `<root>/<split>/<class>/<image>`.
    ImageFolder,
}

impl Format {
    /// Every layout, in the order of the docs.
    pub const ALL: [Format; 9] = [
        Format::Ferplus,
        Format::Fer2013,
        Format::Ckplus,
        Format::Ckplus48,
        Format::Jaffe,
        Format::Affectnet,
        Format::Bu3dfe,
        Format::Celeba,
        Format::ImageFolder,
    ];

    /// The name used in `datasets.toml` and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Ferplus => "ferplus",
            Format::Fer2013 => "fer2013",
            Format::Ckplus => "ckplus",
            Format::Ckplus48 => "ckplus48",
            Format::Jaffe => "jaffe",
            Format::Affectnet => "affectnet",
            Format::Bu3dfe => "bu3dfe",
            Format::Celeba => "celeba",
            Format::ImageFolder => "image_folder",
        }
    }
}

/// Parses the names of [`Format::as_str`]; an unknown name is refused with the list of known ones.
impl std::str::FromStr for Format {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self> {
        Format::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| {
            let known: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
            DataError::Config(format!("unknown format '{s}' (expected {})", known.join(", ")))
        })
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A loaded data set: one [`ImageSet`] per split, and what happened while loading.
#[derive(Debug, Clone)]
pub struct LoadedDataset {
    /// The layout read.
    pub format: Format,
    /// The splits, in the order train, valid, test (or a single [`Split::All`]).
    pub splits: Vec<ImageSet>,
    /// Counts, skipped and excluded items, duplicates.
    pub report: LoadReport,
}

impl LoadedDataset {
    /// The set of one split, if loaded.
    pub fn split(&self, split: Split) -> Option<&ImageSet> {
        self.splits.iter().find(|s| s.split == split)
    }
}

/// Loads the data set of layout `format` found at `root`. The options are validated first.
pub fn load(format: Format, root: &Path, opts: &LoadOptions) -> Result<LoadedDataset> {
    opts.validate()?;
    if !root.is_dir() {
        return Err(DataError::Missing { path: root.to_path_buf(), what: "data set root folder".into() });
    }
    let name = format.as_str();
    match format {
        Format::Ferplus => ferplus::load(root, opts),
        Format::Fer2013 => fer2013::load(root, opts),
        Format::Ckplus => ckplus::load_official(root, opts),
        Format::Ckplus48 => ckplus::load_ck48(root, opts),
        Format::Jaffe => jaffe::load(root, opts),
        Format::Affectnet => affectnet::load(root, opts),
        Format::Bu3dfe => bu3dfe::load(root, opts),
        Format::Celeba => celeba::load(root, opts),
        Format::ImageFolder => image_folder::load(root, opts),
    }
    .map(|mut d| {
        for s in &mut d.splits {
            s.name = name.to_string();
        }
        d
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_by_their_names_and_unknown_ones_are_listed() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
        }
        let err = "mnist".parse::<Format>().unwrap_err().to_string();
        assert!(err.contains("unknown format 'mnist'") && err.contains("image_folder"), "{err}");
    }
}
