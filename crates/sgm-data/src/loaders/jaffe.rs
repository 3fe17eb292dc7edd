//! JAFFE: a flat folder of 213 TIFF files, 256×256, named `<subject>.<EXPR><n>.<index>.tiff` (e.g.
//! `KA.AN1.39.tiff`), EXPR one of AN, DI, FE, HA, NE, SA, SU. Some files are 8-bit palette images with a gray
//! palette; [`crate::image_io`] converts both kinds to luma. The subject (e.g. `KA`) is set on every image, for
//! leave-one-subject-out evaluation. One split, [`Split::All`]; contempt is missing.

use std::path::Path;

use super::{ferplus_class_names, file_name, list_files, Builder, Format, LoadOptions, LoadedDataset, Pending};
use crate::classes::Expression;
use crate::error::{DataError, Result};
use crate::image_set::{SampleMeta, Split};

/// Parses a JAFFE file name into (subject, expression).
pub fn parse_name(name: &str) -> Option<(String, Expression)> {
    let mut parts = name.split('.');
    let subject = parts.next().filter(|s| !s.is_empty())?;
    let expr = parts.next()?;
    let code = expr.get(..2)?;
    if !expr[2..].chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let index = parts.next()?;
    if index.is_empty() || !index.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((subject.to_string(), Expression::from_code(code)?))
}

/// Loads every `*.tif`/`*.tiff` directly inside `root`.
pub fn load(root: &Path, opts: &LoadOptions) -> Result<LoadedDataset> {
    let mut b = Builder::new(opts, &[Split::All]);
    let files = list_files(root, |p| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("tiff") || e.eq_ignore_ascii_case("tif"))
    })?;
    if files.is_empty() {
        return Err(DataError::Missing { path: root.to_path_buf(), what: "JAFFE .tiff images".into() });
    }
    for path in files {
        match parse_name(file_name(&path)) {
            Some((subject, expr)) => {
                b.found(Split::All);
                let mut meta = SampleMeta::new(path.clone(), expr.index());
                meta.subject = Some(subject);
                b.push(Pending::file(Split::All, path, meta));
            }
            None => {
                let e = DataError::Layout {
                    path,
                    reason: "not a JAFFE name <subject>.<EXPR><n>.<index>.tiff with EXPR in AN DI FE HA NE SA SU"
                        .into(),
                };
                b.bad(Split::All, e)?;
            }
        }
    }
    b.finish(Format::Jaffe, ferplus_class_names(), true, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(parse_name("KA.AN1.39.tiff"), Some(("KA".into(), Expression::Anger)));
        assert_eq!(parse_name("YM.NE2.50.tiff"), Some(("YM".into(), Expression::Neutral)));
        assert_eq!(parse_name("KA.XX1.39.tiff"), None);
        assert_eq!(parse_name("README.tiff"), None);
        assert_eq!(parse_name("KA.AN1.x.tiff"), None);
    }
}
