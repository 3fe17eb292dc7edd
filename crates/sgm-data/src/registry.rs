//! The data set registry: the known data sets, from `datasets.toml` at the repository root, embedded in the
//! binary so that the CLI works from any folder.
//!
//! Each entry gives the name, [`Format`], default root, splits with expected counts, number of classes, where to
//! obtain the data (sgm never redistributes it) and checksums of index files where known. The root of a data set is
//! resolved by [`DatasetEntry::resolve_root`]: an explicit path, else `$SGM_DATA_DIR/<name>`, else the entry's
//! `default_root`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};
use crate::image_set::Split;
use crate::loaders::{Format, LoadOptions, LoadedDataset};

/// The text of `datasets.toml`, embedded at build time.
pub const DATASETS_TOML: &str = include_str!("../../../datasets.toml");

/// Environment variable naming a folder that holds data sets as `<folder>/<name>`.
pub const DATA_DIR_ENV: &str = "SGM_DATA_DIR";

/// All known data sets.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// The entries, in file order.
    #[serde(rename = "dataset")]
    pub datasets: Vec<DatasetEntry>,
}

/// One known data set.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetEntry {
    /// Short name used on the command line.
    pub name: String,
    /// On-disk layout.
    pub format: Format,
    /// One line about the set.
    pub description: String,
    /// Number of classes of the loaded set (8 for the FER+ order).
    pub classes: usize,
    /// Default model input size `[height, width]` the CLI resizes to.
    #[serde(default)]
    pub image_size: Option<[u32; 2]>,
    /// Root used when neither a path nor `$SGM_DATA_DIR` is given (relative to the current folder).
    pub default_root: String,
    /// Official pages to obtain the data from.
    pub download: Vec<String>,
    /// Licence terms in short.
    pub licence: String,
    /// Facts about labels, exclusions and duplicates.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Splits with expected counts.
    #[serde(rename = "split", default)]
    pub splits: Vec<SplitEntry>,
    /// Files with known checksums, relative to the root.
    #[serde(rename = "file", default)]
    pub files: Vec<FileChecksum>,
}

/// Expected counts of one split.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitEntry {
    /// The split.
    pub split: Split,
    /// Images found on disk or listed in the index.
    #[serde(default)]
    pub images: Option<usize>,
    /// Images kept with the default options.
    #[serde(default)]
    pub kept: Option<usize>,
    /// Kept images per class.
    #[serde(default)]
    pub class_counts: Option<Vec<usize>>,
}

/// A file with a known SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileChecksum {
    /// Path relative to the data set root.
    pub path: String,
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

/// Where a resolved root came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RootSource {
    /// Given explicitly (the `--root` flag).
    Flag,
    /// `$SGM_DATA_DIR/<name>`.
    Env,
    /// The registry's `default_root`.
    Default,
}

impl RootSource {
    /// How the command line names it: `--root`, `$SGM_DATA_DIR` or `default`.
    pub fn as_str(self) -> &'static str {
        match self {
            RootSource::Flag => "--root",
            RootSource::Env => "$SGM_DATA_DIR",
            RootSource::Default => "default",
        }
    }
}

impl std::fmt::Display for RootSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One expected-versus-found comparison made by [`DatasetEntry::verify`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// What was checked (e.g. "test kept").
    pub what: String,
    /// Expected value.
    pub expected: String,
    /// Found value.
    pub found: String,
    /// Whether they agree.
    pub ok: bool,
}

impl Check {
    fn new(what: String, expected: impl ToString, found: impl ToString) -> Self {
        let (expected, found) = (expected.to_string(), found.to_string());
        Self { ok: expected == found, what, expected, found }
    }
}

impl Registry {
    /// The embedded registry.
    pub fn embedded() -> Result<Self> {
        Self::parse(DATASETS_TOML)
    }

    /// Parses and validates registry text.
    pub fn parse(text: &str) -> Result<Self> {
        let r: Registry =
            toml::from_str(text).map_err(|e| DataError::Config(format!("datasets.toml: {}", e.message())))?;
        r.validate()?;
        Ok(r)
    }

    /// Checks names are unique and counts consistent.
    pub fn validate(&self) -> Result<()> {
        for (i, d) in self.datasets.iter().enumerate() {
            if d.name.is_empty() || self.datasets[..i].iter().any(|o| o.name == d.name) {
                return Err(DataError::Config(format!("datasets.toml: empty or repeated name '{}'", d.name)));
            }
            for s in &d.splits {
                if let Some(c) = &s.class_counts {
                    if c.len() != d.classes {
                        return Err(DataError::Config(format!(
                            "datasets.toml: {} {}: {} class counts for {} classes",
                            d.name,
                            s.split,
                            c.len(),
                            d.classes
                        )));
                    }
                    if let Some(k) = s.kept {
                        if c.iter().sum::<usize>() != k {
                            return Err(DataError::Config(format!(
                                "datasets.toml: {} {}: class counts do not sum to kept",
                                d.name, s.split
                            )));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&DatasetEntry> {
        self.datasets.iter().find(|d| d.name == name)
    }

    /// Opens the data set called `name`: resolves its root (`root` if given, else `$SGM_DATA_DIR/<name>`, else
    /// its default root), refuses a missing root with where to get the data, and loads it with `opts` (the
    /// registry's image size when `opts.size` is `None`).
    pub fn open(&self, name: &str, root: Option<&Path>, opts: &LoadOptions) -> Result<OpenedDataset> {
        self.require(name)?.clone().open(root, opts)
    }

    /// The entry called `name`, or a configuration error listing the known names.
    pub fn require(&self, name: &str) -> Result<&DatasetEntry> {
        self.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.datasets.iter().map(|d| d.name.as_str()).collect();
            DataError::Config(format!("unknown data set '{name}' (known: {})", known.join(", ")))
        })
    }
}

/// A data set found and loaded by [`Registry::open`] (or [`DatasetEntry::open`]).
#[derive(Debug, Clone)]
pub struct OpenedDataset {
    /// Its registry entry (or the ad-hoc entry of [`DatasetEntry::ad_hoc`]).
    pub entry: DatasetEntry,
    /// The root folder read.
    pub root: PathBuf,
    /// Where the root came from.
    pub root_source: RootSource,
    /// The splits and the load report.
    pub data: LoadedDataset,
}

impl DatasetEntry {
    /// An entry with no expected counts, for reading any folder of layout `format` (your own ImageFolder data, or
    /// a copy of a known set under another name).
    pub fn ad_hoc(name: &str, format: Format) -> Self {
        DatasetEntry {
            name: name.to_string(),
            format,
            description: format!("{name} read as {format}"),
            classes: 0,
            image_size: None,
            default_root: name.to_string(),
            download: Vec::new(),
            licence: String::new(),
            notes: Vec::new(),
            splits: Vec::new(),
            files: Vec::new(),
        }
    }

    /// Resolves the root ([`Self::resolve_root`]) and loads the data set with `opts` (this entry's image size when
    /// `opts.size` is `None`); a missing root is refused with where to get the data.
    pub fn open(self, root: Option<&Path>, opts: &LoadOptions) -> Result<OpenedDataset> {
        let (root, root_source) = self.resolve_root(root);
        if !root.is_dir() {
            return Err(DataError::DatasetNotFound {
                path: root,
                name: self.name.clone(),
                from: root_source,
                download: self.download.join(" or "),
            });
        }
        let opts = LoadOptions { size: opts.size.or(self.image_size), ..opts.clone() };
        let data = crate::loaders::load(self.format, &root, &opts)?;
        Ok(OpenedDataset { entry: self, root, root_source, data })
    }

    /// The root folder: `flag` if given, else `$SGM_DATA_DIR/<name>`, else `default_root`.
    pub fn resolve_root(&self, flag: Option<&Path>) -> (PathBuf, RootSource) {
        self.resolve_root_with(flag, std::env::var_os(DATA_DIR_ENV))
    }

    /// [`Self::resolve_root`] with the value of `$SGM_DATA_DIR` given (for tests).
    pub fn resolve_root_with(&self, flag: Option<&Path>, data_dir: Option<OsString>) -> (PathBuf, RootSource) {
        match (flag, data_dir.filter(|d| !d.is_empty())) {
            (Some(p), _) => (p.to_path_buf(), RootSource::Flag),
            (None, Some(d)) => (PathBuf::from(d).join(&self.name), RootSource::Env),
            (None, None) => (PathBuf::from(&self.default_root), RootSource::Default),
        }
    }

    /// The expected counts of `split`, if listed.
    pub fn split(&self, split: Split) -> Option<&SplitEntry> {
        self.splits.iter().find(|s| s.split == split)
    }

    /// Compares a data set loaded with the default options to the expected counts.
    pub fn verify(&self, loaded: &LoadedDataset) -> Vec<Check> {
        let mut checks = Vec::new();
        for e in &self.splits {
            let Some(r) = loaded.report.splits.iter().find(|r| r.split == e.split) else {
                checks.push(Check::new(format!("{} split present", e.split), "yes", "no"));
                continue;
            };
            if let Some(n) = e.images {
                checks.push(Check::new(format!("{} images", e.split), n, r.found));
            }
            if let Some(n) = e.kept {
                checks.push(Check::new(format!("{} kept", e.split), n, r.kept));
            }
            if let Some(c) = &e.class_counts {
                checks.push(Check::new(
                    format!("{} class counts", e.split),
                    format!("{c:?}"),
                    format!("{:?}", r.class_counts),
                ));
            }
        }
        checks
    }

    /// Checks the SHA-256 of every listed file under `root`.
    pub fn verify_files(&self, root: &Path) -> Vec<Check> {
        self.files
            .iter()
            .map(|f| {
                let path = root.join(&f.path);
                let found = match std::fs::read(&path) {
                    Ok(bytes) => hex(&Sha256::digest(&bytes)),
                    Err(e) => format!("unreadable: {e}"),
                };
                Check::new(format!("sha256 {}", f.path), &f.sha256, found)
            })
            .collect()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_refuses_a_missing_root_saying_where_to_get_the_data() {
        let registry = Registry::embedded().unwrap();
        let err = registry.open("jaffe", Some(Path::new("/no/such/folder")), &LoadOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("data set 'jaffe' not found (from --root)") && msg.contains("zenodo"), "{msg}");
        assert!(registry.open("mnist", None, &LoadOptions::default()).unwrap_err().to_string().contains("ferplus"));
    }

    #[test]
    fn embedded_registry_parses_and_has_ferplus() {
        let r = Registry::embedded().unwrap();
        let f = r.require("ferplus").unwrap();
        assert_eq!(f.format, Format::Ferplus);
        assert_eq!(f.split(Split::Train).unwrap().images, Some(28_558));
        assert_eq!(f.split(Split::Valid).unwrap().kept, Some(3_199));
        assert_eq!(f.files.len(), 4);
        assert!(r.require("nope").unwrap_err().to_string().contains("ferplus"));
        for name in ["fer2013", "ckplus", "ckplus48", "jaffe", "affectnet", "bu3dfe", "celeba"] {
            assert!(r.get(name).is_some(), "{name}");
        }
    }

    #[test]
    fn roots_resolve_flag_then_env_then_default() {
        let r = Registry::embedded().unwrap();
        let f = r.require("jaffe").unwrap();
        let flag = Path::new("/x/y");
        assert_eq!(f.resolve_root_with(Some(flag), Some("/d".into())), (flag.to_path_buf(), RootSource::Flag));
        assert_eq!(f.resolve_root_with(None, Some("/d".into())), (PathBuf::from("/d/jaffe"), RootSource::Env));
        assert_eq!(f.resolve_root_with(None, None), (PathBuf::from("data/jaffe"), RootSource::Default));
    }

    #[test]
    fn inconsistent_counts_are_rejected() {
        let text = r#"
[[dataset]]
name = "x"
format = "jaffe"
description = ""
classes = 2
default_root = "x"
download = []
licence = ""
[[dataset.split]]
split = "all"
kept = 3
class_counts = [1, 1]
"#;
        assert!(Registry::parse(text).is_err());
        assert!(Registry::parse(&text.replace("kept = 3", "kept = 2")).is_ok());
        assert!(Registry::parse(&text.replace("format = \"jaffe\"", "format = \"nope\"")).is_err());
    }
}
