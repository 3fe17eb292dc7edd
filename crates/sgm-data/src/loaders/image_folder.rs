//! ImageFolder: any user data as `<root>/<class>/<image>` (one split, [`Split::All`]) or
//! `<root>/<split>/<class>/<image>` with split folders named train / valid / test (or training, val,
//! validation). Images are png, jpg, jpeg, tif, tiff or bmp.
//!
//! Classes: when every class folder name is a FER+ expression or a common synonym (`happy`, `angry`, …), labels
//! are FER+ indices and the class names the 8 FER+ names (so missing classes are reported); otherwise the
//! classes are the folder names in sorted order, the same for every split.
//!
//! Sub-classes: when the root holds a `labels.csv` with columns `file` (relative to the root) and `subclass`
//! (as `sgm data synth` writes), [`SampleMeta::subclass`] is set from it; an image it does not list keeps `None`.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::{
    ferplus_class_names, file_name, list_dirs, list_images, read_csv, Builder, Format, LoadOptions, LoadedDataset,
    Pending,
};
use crate::classes::Expression;
use crate::error::{DataError, Result};
use crate::image_set::{SampleMeta, Split};

/// Loads an ImageFolder tree.
pub fn load(root: &Path, opts: &LoadOptions) -> Result<LoadedDataset> {
    let top = list_dirs(root)?;
    let split_dirs: Vec<(Split, PathBuf)> = top
        .iter()
        .filter_map(|d| file_name(d).parse::<Split>().ok().filter(|s| *s != Split::All).map(|s| (s, d.clone())))
        .collect();
    let layout: Vec<(Split, PathBuf)> = if split_dirs.is_empty() {
        vec![(Split::All, root.to_path_buf())]
    } else {
        let order = |s: &Split| [Split::Train, Split::Valid, Split::Test].iter().position(|x| x == s);
        let mut v = split_dirs;
        v.sort_by_key(|(s, _)| order(s));
        v.dedup_by_key(|(s, _)| *s);
        v
    };
    let mut class_dirs: Vec<(Split, PathBuf)> = Vec::new();
    for (split, dir) in &layout {
        for c in list_dirs(dir)? {
            class_dirs.push((*split, c));
        }
    }
    if class_dirs.is_empty() {
        return Err(DataError::Missing { path: root.to_path_buf(), what: "class folders <class>/<image>".into() });
    }
    let names: BTreeSet<String> = class_dirs.iter().map(|(_, d)| file_name(d).to_string()).collect();
    let all_expressions = names.iter().all(|n| n.parse::<Expression>().is_ok());
    let class_names: Vec<String> =
        if all_expressions { ferplus_class_names() } else { names.iter().cloned().collect() };
    let label_of = |name: &str| -> u32 {
        if all_expressions {
            name.parse::<Expression>().map(|e| e.index()).unwrap_or(0)
        } else {
            names.iter().position(|n| n == name).unwrap_or(0) as u32
        }
    };
    let splits: Vec<Split> = layout.iter().map(|(s, _)| *s).collect();
    let mut b = Builder::new(opts, &splits);
    let subclasses = read_subclasses(root, &mut b)?;
    for (split, dir) in class_dirs {
        if !b.wants(split) {
            continue;
        }
        let label = label_of(file_name(&dir));
        for img in list_images(&dir)? {
            b.found(split);
            let mut meta = SampleMeta::new(img.clone(), label);
            meta.subclass = img.strip_prefix(root).ok().and_then(|rel| subclasses.get(rel).copied());
            b.push(Pending::file(split, img, meta));
        }
    }
    b.note(if all_expressions {
        "labels: class folders are FER+ expressions".to_string()
    } else {
        format!("labels: class folders in sorted order: {}", class_names.join(", "))
    });
    b.finish(Format::ImageFolder, class_names, all_expressions, false)
}

/// Reads `<root>/labels.csv` (when present with `file` and `subclass` columns): relative path → sub-class.
fn read_subclasses(root: &Path, b: &mut Builder<'_>) -> Result<HashMap<PathBuf, u32>> {
    let csv = root.join("labels.csv");
    let mut out = HashMap::new();
    if !csv.is_file() {
        return Ok(out);
    }
    let (header, rows) = read_csv(&csv, true)?;
    let header = header.unwrap_or_default();
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let (Some(file_col), Some(sub_col)) = (col("file"), col("subclass")) else {
        return Ok(out);
    };
    for (line, rec) in rows {
        let (Some(file), Some(sub)) = (rec.get(file_col), rec.get(sub_col)) else {
            b.bad(Split::All, DataError::record(&csv, line, format!("expected {} columns", header.len())))?;
            continue;
        };
        match sub.trim().parse::<u32>() {
            Ok(v) => {
                out.insert(PathBuf::from(file.trim()), v);
            }
            Err(_) => b.bad(Split::All, DataError::record(&csv, line, format!("subclass '{sub}' is not a number")))?,
        }
    }
    b.note(format!("sub-classes: {} entries from {}", out.len(), csv.display()));
    Ok(out)
}
