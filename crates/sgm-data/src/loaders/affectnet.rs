//! AffectNet (manually annotated part): `training.csv` and `validation.csv` with the header
//! `subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal`, and
//! the images under `Manually_Annotated_Images/<subDirectory_filePath>` (or directly under the root).
//!
//! Each image is cropped to its face box before resizing. Expression codes 0–7 are mapped to the FER+ order
//! (0 neutral, 1 happy, 2 sad, 3 surprise, 4 fear, 5 disgust, 6 anger, 7 contempt); codes 8 (none),
//! 9 (uncertain) and 10 (no face) are dropped and counted as unlabelled. `training.csv` → train,
//! `validation.csv` → valid (the paper evaluates on the validation set).

use std::path::{Path, PathBuf};

use super::{
    check_header, ferplus_class_names, read_csv, require_file, Builder, Format, LoadOptions, LoadedDataset, Pending,
    PixelSource,
};
use crate::classes::Expression;
use crate::error::{DataError, Result};
use crate::image_io::Rect;
use crate::image_set::{SampleMeta, Split};

/// The expected header columns.
pub const HEADER: [&str; 9] = [
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "facial_landmarks",
    "expression",
    "valence",
    "arousal",
];

/// Loads the training and validation lists (only the splits asked for in [`LoadOptions::splits`]).
pub fn load(root: &Path, opts: &LoadOptions) -> Result<LoadedDataset> {
    let images = {
        let m = root.join("Manually_Annotated_Images");
        if m.is_dir() {
            m
        } else {
            root.to_path_buf()
        }
    };
    let mut b = Builder::new(opts, &[Split::Train, Split::Valid]);
    for (file, split) in [("training.csv", Split::Train), ("validation.csv", Split::Valid)] {
        if !b.wants(split) {
            continue;
        }
        let csv = require_file(root.join(file), &format!("AffectNet list {file}"))?;
        read_list(&csv, &images, split, &mut b)?;
    }
    b.note("labels: AffectNet codes 0-7 mapped to the FER+ order; 8 none, 9 uncertain, 10 no-face dropped");
    b.finish(Format::Affectnet, ferplus_class_names(), true, false)
}

fn read_list(csv: &Path, images: &Path, split: Split, b: &mut Builder<'_>) -> Result<()> {
    let (header, records) = read_csv(csv, true)?;
    check_header(csv, header.as_ref().expect("read with a header"), &HEADER)?;
    for (line, rec) in records {
        match parse_row(csv, line, &rec, images) {
            Ok(None) => {
                b.found(split);
                b.unlabelled(split);
            }
            Ok(Some((path, rect, expr))) => {
                b.found(split);
                b.push(Pending {
                    split,
                    source: PixelSource::File(path.clone()),
                    meta: SampleMeta::new(path, expr.index()),
                    crop: Some(rect),
                    row: Some((csv.to_path_buf(), line)),
                    keep: true,
                });
            }
            Err(e) => b.bad(split, e)?,
        }
    }
    Ok(())
}

/// `Ok(None)` for the dropped codes 8–10.
fn parse_row(
    csv: &Path,
    line: usize,
    rec: &csv::StringRecord,
    images: &Path,
) -> Result<Option<(PathBuf, Rect, Expression)>> {
    if rec.len() != HEADER.len() {
        return Err(DataError::record(csv, line, format!("expected {} columns, found {}", HEADER.len(), rec.len())));
    }
    let int = |i: usize| -> Result<u32> {
        rec[i].trim().parse::<u32>().map_err(|_| {
            DataError::record(
                csv,
                line,
                format!("column {} must be a non-negative integer, found '{}'", HEADER[i], &rec[i]),
            )
        })
    };
    let code = int(6)?;
    if code > 10 {
        return Err(DataError::record(csv, line, format!("expression {code} is out of range 0..=10")));
    }
    let Some(expr) = Expression::from_affectnet(code) else {
        return Ok(None);
    };
    let rect = Rect { x: int(1)?, y: int(2)?, width: int(3)?, height: int(4)? };
    let path = images.join(rec[0].trim());
    if !path.is_file() {
        return Err(DataError::record(csv, line, format!("image {} is listed but absent", path.display())));
    }
    Ok(Some((path, rect, expr)))
}
