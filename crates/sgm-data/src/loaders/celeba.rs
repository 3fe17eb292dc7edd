//! CelebA (aligned): `img_align_celeba/*.jpg`, `list_eval_partition.txt` (`<file> <0|1|2>`: train, valid, test)
//! and optionally `list_attr_celeba.txt`; the two lists may also sit in `Eval/` and `Anno/` as in the official
//! download.
//!
//! CelebA has no expression labels; the paper uses it for qualitative retrieval only. **Label convention:** by
//! default every image has label 0 of the single class `unlabelled`. With
//! [`super::CelebaOptions::label_attribute`] (e.g. `Smiling`), images are labelled by that binary attribute:
//! 0 `not <attr>`, 1 `<attr>`. Neither is a FER+ class, so no missing classes are reported.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{require_dir, Builder, Format, LoadOptions, LoadedDataset, Pending};
use crate::error::{DataError, Result};
use crate::image_set::{SampleMeta, Split};

fn find_list(root: &Path, sub: &str, name: &str) -> Option<PathBuf> {
    [root.join(name), root.join(sub).join(name)].into_iter().find(|p| p.is_file())
}

/// Loads the splits asked for.
pub fn load(root: &Path, opts: &LoadOptions) -> Result<LoadedDataset> {
    let images = require_dir(root.join("img_align_celeba"), "CelebA image folder img_align_celeba")?;
    let partition = find_list(root, "Eval", "list_eval_partition.txt").ok_or_else(|| DataError::Missing {
        path: root.join("list_eval_partition.txt"),
        what: "CelebA split list list_eval_partition.txt".into(),
    })?;
    let attribute = match &opts.celeba.label_attribute {
        Some(attr) => {
            let file = find_list(root, "Anno", "list_attr_celeba.txt").ok_or_else(|| DataError::Missing {
                path: root.join("list_attr_celeba.txt"),
                what: "CelebA attribute list list_attr_celeba.txt".into(),
            })?;
            Some((attr.clone(), read_attribute(&file, attr)?))
        }
        None => None,
    };
    let class_names = match &attribute {
        Some((attr, _)) => vec![format!("not {attr}"), attr.clone()],
        None => vec!["unlabelled".to_string()],
    };
    let mut b = Builder::new(opts, &[Split::Train, Split::Valid, Split::Test]);
    let text = std::fs::read_to_string(&partition).map_err(|e| DataError::io(&partition, e))?;
    for (i, row) in text.lines().enumerate() {
        let line = i + 1;
        if row.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = row.split_whitespace().collect();
        let split = match fields.as_slice() {
            [_, "0"] => Split::Train,
            [_, "1"] => Split::Valid,
            [_, "2"] => Split::Test,
            _ => {
                let e = DataError::record(&partition, line, format!("expected '<file> <0|1|2>', found '{row}'"));
                b.bad(Split::Train, e)?;
                continue;
            }
        };
        if !b.wants(split) {
            continue;
        }
        let path = images.join(fields[0]);
        if !path.is_file() {
            let e = DataError::record(&partition, line, format!("image {} is listed but absent", path.display()));
            b.bad(split, e)?;
            continue;
        }
        let label = match &attribute {
            Some((attr, values)) => match values.get(fields[0]) {
                Some(&v) => u32::from(v),
                None => {
                    let e = DataError::record(&partition, line, format!("{} has no '{attr}' attribute row", fields[0]));
                    b.bad(split, e)?;
                    continue;
                }
            },
            None => 0,
        };
        b.found(split);
        b.push(Pending::file(split, path.clone(), SampleMeta::new(path, label)));
    }
    b.note(match &attribute {
        Some((attr, _)) => {
            format!("labels: CelebA attribute '{attr}' (1 = present); no expression labels")
        }
        None => "labels: none (CelebA has no expression labels; every image is class 0 'unlabelled')".to_string(),
    });
    b.finish(Format::Celeba, class_names, false, false)
}

/// Reads one attribute column of `list_attr_celeba.txt`: line 1 the image count, line 2 the 40 attribute names,
/// then `<file> <±1 × 40>`. Returns file → present.
fn read_attribute(file: &Path, attr: &str) -> Result<HashMap<String, bool>> {
    let text = std::fs::read_to_string(file).map_err(|e| DataError::io(file, e))?;
    let mut lines = text.lines();
    lines.next();
    let names: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    let col = names
        .iter()
        .position(|n| *n == attr)
        .ok_or_else(|| DataError::record(file, 2, format!("no attribute '{attr}' (known: {})", names.join(", "))))?;
    let mut out = HashMap::new();
    for (i, row) in lines.enumerate() {
        let line = i + 3;
        let fields: Vec<&str> = row.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        if fields.len() != names.len() + 1 {
            return Err(DataError::record(
                file,
                line,
                format!("expected {} columns, found {}", names.len() + 1, fields.len()),
            ));
        }
        let present = match fields[col + 1] {
            "1" => true,
            "-1" => false,
            other => return Err(DataError::record(file, line, format!("attribute value '{other}' is not 1 or -1"))),
        };
        out.insert(fields[0].to_string(), present);
    }
    Ok(out)
}
