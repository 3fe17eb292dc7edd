//! [`write_image_folder`]: the synthetic set on disk as an ImageFolder, so that it can be looked at and read back
//! by any ImageFolder loader.

use super::config::SynthConfig;
use super::expression::SUBCLASS_NAMES;
use super::generate::generate;
use crate::error::{DataError, Result};
use crate::image_set::Split;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// What [`write_image_folder`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthWriteSummary {
    /// The output folder.
    pub root: PathBuf,
    /// Number of images written per split, in train, valid, test order.
    pub counts: Vec<(Split, usize)>,
    /// Path of the `labels.csv` index.
    pub labels_csv: PathBuf,
}

/// Removes a half-written temporary folder unless the write succeeded.
struct TempDirGuard(Option<PathBuf>);

impl Drop for TempDirGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// Writes the train, valid and test splits of `cfg` to `out` as
/// `<out>/<split>/<class>/<split>_<index>.png` (8-bit grey PNG), plus
/// - `labels.csv` with the header `file,expression,subclass,subclass_name` (`file` relative to `out`), one row per
///   image, and
/// - `synth.toml`, the configuration that reproduces the set.
///
/// The set is written to a temporary sibling folder first and renamed to `out` at the end, so `out` is either
/// absent or complete. `out` must not exist, or be an empty folder; a non-empty `out` is an
/// [`std::io::ErrorKind::AlreadyExists`] error and is left untouched.
pub fn write_image_folder(cfg: &SynthConfig, out: &Path) -> Result<SynthWriteSummary> {
    cfg.validate()?;
    if out.exists() {
        let empty_dir = out.is_dir() && std::fs::read_dir(out).map_err(|e| DataError::io(out, e))?.next().is_none();
        if !empty_dir {
            return Err(DataError::io(
                out,
                std::io::Error::new(std::io::ErrorKind::AlreadyExists, "output exists and is not an empty folder"),
            ));
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| DataError::io(&parent, e))?;
    let stem = out.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "synth".into());
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let tmp = parent.join(format!(".{stem}.tmp-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&tmp).map_err(|e| DataError::io(&tmp, e))?;
    let mut guard = TempDirGuard(Some(tmp.clone()));

    let csv_path = tmp.join("labels.csv");
    let mut csv = csv::Writer::from_path(&csv_path).map_err(|e| csv_error(&csv_path, e))?;
    csv.write_record(["file", "expression", "subclass", "subclass_name"]).map_err(|e| csv_error(&csv_path, e))?;
    let mut counts = Vec::new();
    for split in [Split::Train, Split::Valid, Split::Test] {
        let set = generate(cfg, split)?;
        for class in &set.class_names {
            let dir = tmp.join(split.as_str()).join(class);
            std::fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
        }
        (0..set.len()).into_par_iter().try_for_each(|i| {
            let path = tmp.join(&set.samples[i].source);
            image::save_buffer_with_format(
                &path,
                set.image(i),
                set.width as u32,
                set.height as u32,
                image::ExtendedColorType::L8,
                image::ImageFormat::Png,
            )
            .map_err(|e| DataError::Image { path: path.clone(), reason: e.to_string() })
        })?;
        for s in &set.samples {
            let sub = s.subclass.unwrap_or(0);
            let row = [
                s.source.to_string_lossy().into_owned(),
                set.class_names[s.label as usize].clone(),
                sub.to_string(),
                SUBCLASS_NAMES[s.label as usize][sub as usize].to_string(),
            ];
            csv.write_record(&row).map_err(|e| csv_error(&csv_path, e))?;
        }
        counts.push((split, set.len()));
    }
    csv.flush().map_err(|e| DataError::io(&csv_path, e))?;
    drop(csv);
    let toml_path = tmp.join("synth.toml");
    let text = toml::to_string(cfg).map_err(|e| DataError::Config(format!("synth: cannot serialise config: {e}")))?;
    std::fs::write(&toml_path, text).map_err(|e| DataError::io(&toml_path, e))?;

    if out.exists() {
        std::fs::remove_dir(out).map_err(|e| DataError::io(out, e))?;
    }
    std::fs::rename(&tmp, out).map_err(|e| DataError::io(out, e))?;
    guard.0 = None;
    Ok(SynthWriteSummary { root: out.to_path_buf(), counts, labels_csv: out.join("labels.csv") })
}

fn csv_error(path: &Path, e: csv::Error) -> DataError {
    DataError::io(path, std::io::Error::other(e.to_string()))
}
