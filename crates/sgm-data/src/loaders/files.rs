//! File-system and CSV helpers shared by the loaders: sorted listings, required files and folders, CSV records
//! with their line numbers.

use std::path::{Path, PathBuf};

use crate::classes::Expression;
use crate::error::{DataError, Result};

/// The image files (png, jpg, jpeg, tif, tiff, bmp; case-insensitive) directly inside `dir`, sorted by name.
pub(crate) fn list_images(dir: &Path) -> Result<Vec<PathBuf>> {
    list_files(dir, is_image)
}

/// True for the file extensions sgm decodes.
pub(crate) fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg" | "tif" | "tiff" | "bmp"))
}

/// The files directly inside `dir` that satisfy `keep`, sorted by name.
pub(crate) fn list_files(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        if path.is_file() && keep(&path) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// The sub-folders of `dir`, sorted by name.
pub(crate) fn list_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        if path.is_dir() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// `dir` when it is a folder, else a [`DataError::Missing`] saying what was expected.
pub(crate) fn require_dir(dir: PathBuf, what: &str) -> Result<PathBuf> {
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(DataError::Missing { path: dir, what: what.to_string() })
    }
}

/// `file` when it is a file, else a [`DataError::Missing`] saying what was expected.
pub(crate) fn require_file(file: PathBuf, what: &str) -> Result<PathBuf> {
    if file.is_file() {
        Ok(file)
    } else {
        Err(DataError::Missing { path: file, what: what.to_string() })
    }
}

/// The file name of `p` as text ("" when it has none).
pub(crate) fn file_name(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// The FER+ class names, for data sets labelled in FER+ order.
pub(crate) fn ferplus_class_names() -> Vec<String> {
    Expression::class_names()
}

/// A CSV header (when read with one) and the (1-based line, record) pairs.
pub(crate) type CsvRows = (Option<csv::StringRecord>, Vec<(usize, csv::StringRecord)>);

/// Reads a CSV file with the `csv` crate: `has_header` as given, flexible rows (column counts are checked by the
/// caller, so the error names the line). Returns (1-based line, record) pairs.
pub(crate) fn read_csv(path: &Path, has_header: bool) -> Result<CsvRows> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(has_header)
        .flexible(true)
        .from_path(path)
        .map_err(|e| csv_error(path, e))?;
    let header = if has_header { Some(rdr.headers().map_err(|e| csv_error(path, e))?.clone()) } else { None };
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(path, e))?;
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
        rows.push((line, rec));
    }
    Ok((header, rows))
}

fn csv_error(path: &Path, e: csv::Error) -> DataError {
    let line = e.position().map(|p| p.line() as usize);
    match (line, e.kind()) {
        (_, csv::ErrorKind::Io(_)) => {
            let kind = match e.into_kind() {
                csv::ErrorKind::Io(io) => io,
                _ => std::io::Error::other("csv"),
            };
            DataError::io(path, kind)
        }
        (Some(line), _) => DataError::record(path, line, e.to_string()),
        (None, _) => DataError::record(path, 1, e.to_string()),
    }
}

/// Checks that `header` starts with the `expected` column names (trimmed, case-insensitive).
pub(crate) fn check_header(path: &Path, header: &csv::StringRecord, expected: &[&str]) -> Result<()> {
    let got: Vec<String> = header.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    let ok = got.len() >= expected.len() && expected.iter().zip(&got).all(|(e, g)| e.to_ascii_lowercase() == *g);
    if ok {
        Ok(())
    } else {
        Err(DataError::record(
            path,
            1,
            format!("unexpected header {:?}; expected columns {:?}", header.iter().collect::<Vec<_>>(), expected),
        ))
    }
}
