//! The original FER2013 release: one `fer2013.csv` with header `emotion,pixels,Usage`, where `pixels` holds
//! 2,304 space-separated gray values (48×48) and `Usage` is `Training`, `PublicTest` or `PrivateTest`
//! (→ train, valid, test, as in FER+).
//!
//! The 7 FER2013 labels (0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral) are mapped to the
//! FER+ order; contempt is missing. Images are keyed `fer2013.csv:<line>` and carry duplicate groups as in FER+.

use std::path::Path;

use super::{
    check_header, ferplus_class_names, read_csv, require_file, Builder, Format, LoadOptions, LoadedDataset, Pending,
    PixelSource,
};
use crate::classes::Expression;
use crate::error::{DataError, Result};
use crate::image_set::{SampleMeta, Split};

/// Side of a FER2013 image.
pub const SIDE: u32 = 48;

/// Loads `root/fer2013.csv` (or `root` itself when it is that file's folder).
pub fn load(root: &Path, opts: &LoadOptions) -> Result<LoadedDataset> {
    let csv = require_file(root.join("fer2013.csv"), "FER2013 file fer2013.csv")?;
    let (header, records) = read_csv(&csv, true)?;
    check_header(&csv, header.as_ref().expect("read with a header"), &["emotion", "pixels", "Usage"])?;
    let mut b = Builder::new(opts, &[Split::Train, Split::Valid, Split::Test]);
    for (line, rec) in records {
        let usage = rec.get(2).unwrap_or("").trim();
        let split = match usage {
            "Training" => Split::Train,
            "PublicTest" => Split::Valid,
            "PrivateTest" => Split::Test,
            other => {
                let e = DataError::record(
                    &csv,
                    line,
                    format!("unknown Usage '{other}' (expected Training, PublicTest or PrivateTest)"),
                );
                b.bad(Split::Train, e)?;
                continue;
            }
        };
        match parse_row(&csv, line, &rec) {
            Ok((label, pixels)) => {
                b.found(split);
                let meta = SampleMeta::new(format!("{}:{line}", csv.display()), label.index());
                b.push(Pending {
                    split,
                    source: PixelSource::Raw { width: SIDE, height: SIDE, pixels },
                    meta,
                    crop: None,
                    row: Some((csv.clone(), line)),
                    keep: true,
                });
            }
            Err(e) => b.bad(split, e)?,
        }
    }
    b.note("labels: FER2013 original 7 classes mapped to the FER+ order (no contempt)");
    b.finish(Format::Fer2013, ferplus_class_names(), true, true)
}

fn parse_row(csv: &Path, line: usize, rec: &csv::StringRecord) -> Result<(Expression, Vec<u8>)> {
    if rec.len() != 3 {
        return Err(DataError::record(csv, line, format!("expected 3 columns, found {}", rec.len())));
    }
    let code = rec[0].trim();
    let label = code
        .parse::<u32>()
        .ok()
        .and_then(Expression::from_fer2013)
        .ok_or_else(|| DataError::record(csv, line, format!("emotion '{code}' is not a FER2013 label 0..=6")))?;
    let pixels: Vec<u8> = rec[1]
        .split_ascii_whitespace()
        .map(|v| v.parse::<u8>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| DataError::record(csv, line, "pixels must be integers 0..=255 separated by spaces"))?;
    if pixels.len() != (SIDE * SIDE) as usize {
        return Err(DataError::record(csv, line, format!("expected {} pixels, found {}", SIDE * SIDE, pixels.len())));
    }
    Ok((label, pixels))
}
