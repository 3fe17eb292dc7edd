//! BU-3DFE 2D textures: one folder per subject holding files named like `F0001_AN01WH_F2D.bmp`:
//! subject (F/M + 4 digits), expression (AN DI FE HA NE SA SU) with intensity 01–04 (NE is 00), race code, and
//! `F2D` for the frontal 2D texture. Only `*_F2D.bmp` files are read (the 3D model files are ignored).
//! Intensity is set on every image (0 for neutral), and the subject. One split, [`Split::All`]; contempt is
//! missing.

use std::path::Path;

use super::{
    ferplus_class_names, file_name, list_dirs, list_files, Builder, Format, LoadOptions, LoadedDataset, Pending,
};
use crate::classes::Expression;
use crate::error::{DataError, Result};
use crate::image_set::{SampleMeta, Split};

/// A parsed BU-3DFE texture name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bu3dfeName {
    /// Subject, e.g. `F0001`.
    pub subject: String,
    /// Expression.
    pub expression: Expression,
    /// Intensity 1–4, or 0 for neutral.
    pub intensity: u8,
    /// Race code, e.g. `WH`.
    pub race: String,
}

/// Parses `F0001_AN01WH_F2D.bmp`.
pub fn parse_name(name: &str) -> Option<Bu3dfeName> {
    let stem = name.strip_suffix(".bmp").or_else(|| name.strip_suffix(".BMP"))?;
    let mut parts = stem.split('_');
    let subject = parts.next()?;
    let code = parts.next()?;
    if parts.next()? != "F2D" || parts.next().is_some() {
        return None;
    }
    let subject_ok = subject.len() == 5
        && matches!(subject.as_bytes()[0], b'F' | b'M')
        && subject[1..].chars().all(|c| c.is_ascii_digit());
    if !subject_ok || code.len() < 4 || !code.is_ascii() {
        return None;
    }
    let expression = Expression::from_code(&code[..2]).filter(|e| *e != Expression::Contempt)?;
    let intensity: u8 = code[2..4].parse().ok()?;
    let valid = if expression == Expression::Neutral { intensity == 0 } else { (1..=4).contains(&intensity) };
    if !valid {
        return None;
    }
    Some(Bu3dfeName { subject: subject.to_string(), expression, intensity, race: code[4..].to_string() })
}

/// Loads every `<subject>/*_F2D.bmp` under `root`.
pub fn load(root: &Path, opts: &LoadOptions) -> Result<LoadedDataset> {
    let mut b = Builder::new(opts, &[Split::All]);
    let subjects = list_dirs(root)?;
    for dir in subjects {
        for path in list_files(&dir, |p| file_name(p).to_ascii_uppercase().ends_with("_F2D.BMP"))? {
            let Some(n) = parse_name(file_name(&path)) else {
                let e =
                    DataError::Layout { path, reason: "not a BU-3DFE texture name like F0001_AN01WH_F2D.bmp".into() };
                b.bad(Split::All, e)?;
                continue;
            };
            b.found(Split::All);
            let mut meta = SampleMeta::new(path.clone(), n.expression.index());
            meta.subject = Some(n.subject);
            meta.intensity = Some(n.intensity);
            b.push(Pending::file(Split::All, path, meta));
        }
    }
    if b.report.splits[0].found == 0 && b.report.skipped.is_empty() {
        return Err(DataError::Missing {
            path: root.to_path_buf(),
            what: "BU-3DFE <subject>/*_F2D.bmp textures".into(),
        });
    }
    b.finish(Format::Bu3dfe, ferplus_class_names(), true, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        let n = parse_name("F0001_AN01WH_F2D.bmp").unwrap();
        assert_eq!(
            (n.subject.as_str(), n.expression, n.intensity, n.race.as_str()),
            ("F0001", Expression::Anger, 1, "WH")
        );
        assert_eq!(parse_name("M0044_NE00BL_F2D.bmp").unwrap().intensity, 0);
        assert_eq!(parse_name("M0044_NE01BL_F2D.bmp"), None);
        assert_eq!(parse_name("F0001_AN05WH_F2D.bmp"), None);
        assert_eq!(parse_name("F0001_AN01WH_F3D.bmp"), None);
        assert_eq!(parse_name("X0001_AN01WH_F2D.bmp"), None);
    }
}
