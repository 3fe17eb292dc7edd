//! FER+: FER2013 images with Microsoft's crowd-sourced FER+ votes (10 taggers per image).
//!
//! Layout (what FER+'s `generate_training_data.py` writes), under the root folder:
//! ```text
//! data/FER2013Train/*.png + label.csv     (FER2013 Usage = Training)
//! data/FER2013Valid/*.png + label.csv     (Usage = PublicTest)
//! data/FER2013Test/*.png  + label.csv     (Usage = PrivateTest)
//! fer2013new.csv                          (Usage,Image name,<8 emotions>,unknown,NF)
//! ```
//! The split folders may also sit directly in the root (no `data/`).
//!
//! **Label source.** [`FerPlusLabelSource::Fer2013New`] (the default) reads `fer2013new.csv` and matches rows to
//! images by the `Image name` column, not by row number (173 rows are non-faces with no name). A name listed
//! twice uses its first row (as `label.csv` does); a conflicting repeat is logged and noted in the report.
//! [`FerPlusLabelSource::LabelCsv`] reads each split's headerless `label.csv` (`name,"(x, y, w, h)",<10 votes>`)
//! and crops the given face box. The two sources disagree on some votes.
//! [`FerPlusLabelSource::Fer2013Original`] labels the same PNGs with their original FER2013 7-class label, read
//! from `derived_fer2013_original_labels.csv` (columns `ferplus_split,ferplus_png,fer2013_usage,…,fer2013_label`;
//! an empty label, e.g. for duplicates whose copies carry conflicting labels, leaves the image unlabelled).
//!
//! **Label modes** follow Microsoft's FERPlus code ([`FerPlusLabelMode`]); see [`label_from_votes`].
//!
//! **Known-bad images** ([`KNOWN_BAD`]) are excluded by default and listed in the report with the label they
//! would have had.
//!
//! **Duplicates.** Every PNG of the three splits (including those the label rule drops) is hashed, and
//! [`crate::SampleMeta::group`] is set from the duplicate index ([`crate::dedup`]); all three splits are always
//! read for that reason.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::{
    check_header, ferplus_class_names, file_name, list_files, read_csv, require_dir, require_file, Builder,
    FerPlusLabelMode, FerPlusLabelSource, Format, LoadOptions, LoadedDataset, Pending, PixelSource,
};
use crate::classes::Expression;
use crate::error::{DataError, Result};
use crate::image_io::Rect;
use crate::image_set::{SampleMeta, Split};

/// Images excluded by default: (split folder, file name, reason).
///
/// `FER2013Test/fer0033120.png` is a non-face (a warning icon), although its `label.csv` row and its first
/// `fer2013new.csv` row carry face votes; the name appears twice in `fer2013new.csv` (the second row says
/// "not a face" with 10 votes), and the PNG on disk holds the pixels of that second row.
pub const KNOWN_BAD: &[(&str, &str, &str)] = &[(
    "FER2013Test",
    "fer0033120.png",
    "a non-face (warning icon) listed twice in fer2013new.csv; its first row and label.csv carry face votes",
)];

/// The split folders and the FER2013 `Usage` value of each.
pub const SPLIT_FOLDERS: [(&str, &str, Split); 3] = [
    ("FER2013Train", "Training", Split::Train),
    ("FER2013Valid", "PublicTest", Split::Valid),
    ("FER2013Test", "PrivateTest", Split::Test),
];

/// The vote columns, in file order: the 8 FER+ classes, then `unknown` and `NF` (not a face).
pub const VOTE_COLUMNS: [&str; 10] =
    ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF"];

/// Ten vote counts in [`VOTE_COLUMNS`] order.
pub type Votes = [u32; 10];

/// Turns votes into a FER+ class and, for the soft modes, a distribution over the 8 classes; `None` when the
/// result is unknown or not-a-face (the image is dropped). This follows Microsoft's FERPlus `_process_data`:
/// 1. votes of 1 or fewer are set to 0;
/// 2. majority: the top class is kept only if it has more than half of the remaining votes;
///    probability / crossentropy: the top classes (ties together) are taken until they hold 75% of the votes
///    or 3 classes are taken (stopping at unknown / not-a-face); kept when they hold more than half and are at
///    most 3; multi_target: every class with at least 30% of the votes, kept when they hold more than half;
/// 3. the label is the first class of highest weight; unknown (index 8) or not-a-face (9) drop the image;
///    the soft label is the weights of the 8 classes, normalised.
pub fn label_from_votes(votes: &Votes, mode: FerPlusLabelMode) -> Option<(u32, Option<Vec<f32>>)> {
    let mut raw: [f64; 10] = votes.map(f64::from);
    for v in &mut raw {
        if *v < 1.0 + f64::EPSILON {
            *v = 0.0;
        }
    }
    let sum: f64 = raw.iter().sum();
    let mut unknown = [0.0f64; 10];
    unknown[8] = 1.0;
    let max_of = |a: &[f64; 10]| a.iter().copied().fold(f64::MIN, f64::max);
    let mut emotion = [0.0f64; 10];
    match mode {
        FerPlusLabelMode::Majority => {
            let maxval = max_of(&raw);
            if maxval > 0.5 * sum {
                emotion[first_argmax(&raw)] = maxval;
            } else {
                emotion = unknown;
            }
        }
        FerPlusLabelMode::Probability | FerPlusLabelMode::Crossentropy => {
            let (mut sum_part, mut count, mut valid) = (0.0f64, 0usize, true);
            while sum_part < 0.75 * sum && count < 3 && valid {
                let maxval = max_of(&raw);
                for i in 0..10 {
                    if raw[i] == maxval {
                        emotion[i] = maxval;
                        raw[i] = 0.0;
                        sum_part += emotion[i];
                        count += 1;
                        if i >= 8 {
                            valid = false;
                            if emotion.iter().sum::<f64>() > maxval {
                                emotion[i] = 0.0;
                                count -= 1;
                            }
                            break;
                        }
                    }
                }
            }
            if emotion.iter().sum::<f64>() <= 0.5 * sum || count > 3 {
                emotion = unknown;
            }
        }
        FerPlusLabelMode::MultiTarget => {
            for i in 0..10 {
                if raw[i] >= 0.3 * sum {
                    emotion[i] = raw[i];
                }
            }
            if emotion.iter().sum::<f64>() <= 0.5 * sum {
                emotion = unknown;
            }
        }
    }
    let label = first_argmax(&emotion);
    if label >= 8 {
        return None;
    }
    let soft = match mode {
        FerPlusLabelMode::Majority => None,
        _ => {
            let total: f64 = emotion[..8].iter().sum();
            Some(emotion[..8].iter().map(|&w| (w / total) as f32).collect())
        }
    };
    Some((label as u32, soft))
}

/// The FER+ name of a label mode (as in Microsoft's code: majority, probability, crossentropy, multi_target).
pub fn mode_name(mode: FerPlusLabelMode) -> &'static str {
    match mode {
        FerPlusLabelMode::Majority => "majority",
        FerPlusLabelMode::Probability => "probability",
        FerPlusLabelMode::Crossentropy => "crossentropy",
        FerPlusLabelMode::MultiTarget => "multi_target",
    }
}

fn first_argmax(a: &[f64; 10]) -> usize {
    let mut best = 0;
    for i in 1..a.len() {
        if a[i] > a[best] {
            best = i;
        }
    }
    best
}

/// What a label row says.
#[derive(Debug, Clone, PartialEq)]
enum RowLabel {
    /// FER+ votes, turned into a label by the label mode.
    Votes(Votes),
    /// A fixed class (FER2013 original label), or `None` when the source has none for the image.
    Fixed(Option<Expression>),
}

/// One label row: its 1-based line in `file`, the label, and the face box (label.csv only).
#[derive(Debug, Clone)]
struct LabelRow {
    file: PathBuf,
    line: usize,
    label: RowLabel,
    face_box: Option<Rect>,
}

/// The folder that holds the split folders: `root/data` when present, else `root`.
pub fn data_dir(root: &Path) -> PathBuf {
    let data = root.join("data");
    if data.join(SPLIT_FOLDERS[0].0).is_dir() {
        data
    } else {
        root.to_path_buf()
    }
}

/// Loads the three FER+ splits.
pub fn load(root: &Path, opts: &LoadOptions) -> Result<LoadedDataset> {
    let fopts = &opts.ferplus;
    let data = data_dir(root);
    let mut b = Builder::new(opts, &[Split::Train, Split::Valid, Split::Test]);
    let mut split_dirs = Vec::new();
    for (folder, _, split) in SPLIT_FOLDERS {
        split_dirs.push((require_dir(data.join(folder), &format!("split folder {folder}"))?, split));
    }
    // Label rows per split, keyed by image name; names of rows that were bad (already reported).
    let (mut rows, bad_names) = read_label_rows(root, &data, &split_dirs, opts, &mut b)?;
    for (dir, split) in &split_dirs {
        let folder = file_name(dir).to_string();
        let pngs = list_files(dir, |p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")))?;
        let mut by_name: HashMap<String, LabelRow> = HashMap::new();
        let mut listed: Vec<String> = Vec::new();
        for (name, row) in rows.remove(split).unwrap_or_default() {
            if let std::collections::hash_map::Entry::Vacant(slot) = by_name.entry(name.clone()) {
                listed.push(name);
                slot.insert(row);
            }
        }
        let on_disk: HashSet<String> = pngs.iter().map(|p| file_name(p).to_string()).collect();
        for name in &listed {
            if !on_disk.contains(name) {
                let row = &by_name[name];
                let e = DataError::record(
                    &row.file,
                    row.line,
                    format!("image {name} is listed but absent from {}", dir.display()),
                );
                b.bad(*split, e)?;
            }
        }
        for png in pngs {
            let name = file_name(&png).to_string();
            if bad_names.contains(&(*split, name.clone())) {
                continue;
            }
            let Some(row) = by_name.get(&name) else {
                let e = DataError::Missing { path: png.clone(), what: "a FER+ label row for this image".into() };
                b.bad(*split, e)?;
                continue;
            };
            b.found(*split);
            let labelled = match &row.label {
                RowLabel::Votes(votes) => label_from_votes(votes, fopts.label_mode),
                RowLabel::Fixed(e) => e.map(|e| (e.index(), None)),
            };
            let known_bad = KNOWN_BAD.iter().find(|(f, n, _)| *f == folder && *n == name);
            let mut p = Pending {
                split: *split,
                source: PixelSource::File(png.clone()),
                meta: SampleMeta::new(png.clone(), 0),
                crop: row.face_box,
                row: Some((row.file.clone(), row.line)),
                keep: false,
            };
            match (known_bad, labelled) {
                (Some((_, _, reason)), l) if fopts.exclude_known_bad => {
                    let would = match l {
                        Some((c, _)) => Expression::from_index(c).map_or("?", |e| e.name()).to_string(),
                        None => "dropped by the label rule".to_string(),
                    };
                    b.exclude(*split, png.clone(), format!("{reason} (its label would be: {would})"));
                }
                (_, None) => b.unlabelled(*split),
                (_, Some((label, soft))) => {
                    p.meta.label = label;
                    p.meta.soft_label = soft;
                    p.keep = true;
                }
            }
            b.push(p);
        }
    }
    b.finish(Format::Ferplus, ferplus_class_names(), true, true)
}

/// Label rows per split keyed by image name, and the (split, name) pairs of rows that were bad (already reported).
type LabelRows = (HashMap<Split, Vec<(String, LabelRow)>>, HashSet<(Split, String)>);

/// Reads the label source chosen in `opts`.
fn read_label_rows(
    root: &Path,
    data: &Path,
    split_dirs: &[(PathBuf, Split)],
    opts: &LoadOptions,
    b: &mut Builder<'_>,
) -> Result<LabelRows> {
    let mut rows: HashMap<Split, Vec<(String, LabelRow)>> = HashMap::new();
    let mut bad_names: HashSet<(Split, String)> = HashSet::new();
    match opts.ferplus.label_source {
        FerPlusLabelSource::Fer2013New => {
            let csv = [root.join("fer2013new.csv"), data.join("fer2013new.csv")]
                .into_iter()
                .find(|p| p.is_file())
                .map(Ok)
                .unwrap_or_else(|| require_file(root.join("fer2013new.csv"), "FER+ label file fer2013new.csv"))?;
            b.note(format!(
                "labels: {} (rows matched by Image name), {} rule",
                csv.display(),
                mode_name(opts.ferplus.label_mode)
            ));
            read_fer2013new(&csv, b, &mut rows, &mut bad_names)?;
        }
        FerPlusLabelSource::Fer2013Original => {
            let csv = [root.join(ORIGINAL_LABELS), data.join(ORIGINAL_LABELS)]
                .into_iter()
                .find(|p| p.is_file())
                .map(Ok)
                .unwrap_or_else(|| require_file(root.join(ORIGINAL_LABELS), "FER2013 original-label file"))?;
            b.note(format!(
                "labels: original FER2013 7-class labels from {} (no contempt; images without one are unlabelled)",
                csv.display()
            ));
            read_original_labels(&csv, b, &mut rows, &mut bad_names)?;
        }
        FerPlusLabelSource::LabelCsv => {
            for (dir, split) in split_dirs {
                let csv = require_file(dir.join("label.csv"), "FER+ label file label.csv")?;
                read_label_csv(&csv, *split, b, &mut rows, &mut bad_names)?;
            }
            b.note(format!("labels: label.csv of each split folder, {} rule", mode_name(opts.ferplus.label_mode)));
        }
    }
    Ok((rows, bad_names))
}

/// The raw votes of one image, as read from a label source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoteRow {
    /// The split.
    pub split: Split,
    /// Image file name (e.g. `fer0000000.png`).
    pub name: String,
    /// The ten vote counts.
    pub votes: Votes,
    /// The label file and 1-based line the votes come from.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
}

/// Reads the votes of every image from `source` (`fer2013new.csv` or the `label.csv` files), strictly (any bad
/// row is an error). A name listed twice keeps its first row, as [`load`] does.
pub fn read_votes(root: &Path, source: FerPlusLabelSource) -> Result<Vec<VoteRow>> {
    if source == FerPlusLabelSource::Fer2013Original {
        return Err(DataError::Config("the FER2013 original-label source holds no votes".into()));
    }
    let mut opts = LoadOptions::default();
    opts.ferplus.label_source = source;
    let data = data_dir(root);
    let mut split_dirs = Vec::new();
    for (folder, _, split) in SPLIT_FOLDERS {
        split_dirs.push((require_dir(data.join(folder), &format!("split folder {folder}"))?, split));
    }
    let mut b = Builder::new(&opts, &[Split::Train, Split::Valid, Split::Test]);
    let (mut rows, _) = read_label_rows(root, &data, &split_dirs, &opts, &mut b)?;
    let mut out = Vec::new();
    for (_, split) in &split_dirs {
        let mut seen = HashSet::new();
        for (name, row) in rows.remove(split).unwrap_or_default() {
            if let RowLabel::Votes(votes) = row.label {
                if seen.insert(name.clone()) {
                    out.push(VoteRow { split: *split, name, votes, file: row.file, line: row.line });
                }
            }
        }
    }
    Ok(out)
}

fn parse_votes(file: &Path, line: usize, fields: &[&str]) -> Result<Votes> {
    let mut votes = [0u32; 10];
    for (i, (v, f)) in votes.iter_mut().zip(fields).enumerate() {
        *v = f.trim().parse().map_err(|_| {
            DataError::record(file, line, format!("vote column '{}' is not a count: '{f}'", VOTE_COLUMNS[i]))
        })?;
    }
    Ok(votes)
}

fn read_fer2013new(
    csv: &Path,
    b: &mut Builder<'_>,
    rows: &mut HashMap<Split, Vec<(String, LabelRow)>>,
    bad_names: &mut HashSet<(Split, String)>,
) -> Result<()> {
    let (header, records) = read_csv(csv, true)?;
    let mut expected = vec!["Usage", "Image name"];
    expected.extend(VOTE_COLUMNS);
    check_header(csv, header.as_ref().expect("read with a header"), &expected)?;
    let mut nameless = 0usize;
    let mut first_line: HashMap<(Split, String), (usize, Votes)> = HashMap::new();
    for (line, rec) in records {
        let fields: Vec<&str> = rec.iter().collect();
        let usage = fields.first().copied().unwrap_or("").trim();
        let Some(split) = SPLIT_FOLDERS.iter().find(|(_, u, _)| *u == usage).map(|t| t.2) else {
            let e = DataError::record(
                csv,
                line,
                format!("unknown Usage '{usage}' (expected Training, PublicTest or PrivateTest)"),
            );
            b.bad(Split::Train, e)?;
            continue;
        };
        let name = fields.get(1).copied().unwrap_or("").trim().to_string();
        if fields.len() != 12 {
            if !name.is_empty() {
                bad_names.insert((split, name));
            }
            let e = DataError::record(csv, line, format!("expected 12 columns, found {}", fields.len()));
            b.bad(split, e)?;
            continue;
        }
        if name.is_empty() {
            nameless += 1;
            continue;
        }
        let votes = match parse_votes(csv, line, &fields[2..]) {
            Ok(v) => v,
            Err(e) => {
                bad_names.insert((split, name));
                b.bad(split, e)?;
                continue;
            }
        };
        if let Some((first, first_votes)) = first_line.get(&(split, name.clone())) {
            if *first_votes != votes {
                // The known-bad names are expected here (and excluded by default): no warning for them.
                if KNOWN_BAD.iter().any(|(_, n, _)| *n == name) {
                    tracing::debug!("{}:{line}: known-bad {name} repeats line {first}", csv.display());
                } else {
                    tracing::warn!(
                        "{}:{line}: {name} repeats line {first} with other votes; line {first} is used",
                        csv.display()
                    );
                }
                b.note(format!("{name}: listed at lines {first} and {line} with different votes; line {first} used"));
            }
            continue;
        }
        first_line.insert((split, name.clone()), (line, votes));
        rows.entry(split)
            .or_default()
            .push((name, LabelRow { file: csv.to_path_buf(), line, label: RowLabel::Votes(votes), face_box: None }));
    }
    b.note(format!("fer2013new.csv: {nameless} rows without an image name (non-faces with no PNG) ignored"));
    Ok(())
}

/// File name of the original FER2013 labels recovered for the FER+ PNGs (see [`FerPlusLabelSource::Fer2013Original`]).
pub const ORIGINAL_LABELS: &str = "derived_fer2013_original_labels.csv";

fn read_original_labels(
    csv: &Path,
    b: &mut Builder<'_>,
    rows: &mut HashMap<Split, Vec<(String, LabelRow)>>,
    bad_names: &mut HashSet<(Split, String)>,
) -> Result<()> {
    let (header, records) = read_csv(csv, true)?;
    let expected = ["ferplus_split", "ferplus_png", "fer2013_usage", "msambare_best_path", "fer2013_label"];
    check_header(csv, header.as_ref().expect("read with a header"), &expected)?;
    for (line, rec) in records {
        let folder = rec.get(0).unwrap_or("").trim();
        let Some(split) = SPLIT_FOLDERS.iter().find(|(f, _, _)| *f == folder).map(|t| t.2) else {
            let e = DataError::record(csv, line, format!("unknown ferplus_split '{folder}'"));
            b.bad(Split::Train, e)?;
            continue;
        };
        let name = rec.get(1).unwrap_or("").trim().to_string();
        let text = rec.get(4).map(str::trim);
        let label = match text {
            Some("") => RowLabel::Fixed(None),
            Some(t) => match t.parse::<Expression>() {
                Ok(e) if e != Expression::Contempt => RowLabel::Fixed(Some(e)),
                _ => {
                    bad_names.insert((split, name));
                    b.bad(split, DataError::record(csv, line, format!("'{t}' is not a FER2013 class")))?;
                    continue;
                }
            },
            None => {
                bad_names.insert((split, name));
                b.bad(
                    split,
                    DataError::record(csv, line, format!("expected at least 5 columns, found {}", rec.len())),
                )?;
                continue;
            }
        };
        rows.entry(split).or_default().push((name, LabelRow { file: csv.to_path_buf(), line, label, face_box: None }));
    }
    Ok(())
}

fn parse_box(s: &str) -> Option<Rect> {
    let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
    let v: Vec<u32> = inner.split(',').map(|x| x.trim().parse().ok()).collect::<Option<_>>()?;
    match v[..] {
        [x, y, width, height] => Some(Rect { x, y, width, height }),
        _ => None,
    }
}

fn read_label_csv(
    csv: &Path,
    split: Split,
    b: &mut Builder<'_>,
    rows: &mut HashMap<Split, Vec<(String, LabelRow)>>,
    bad_names: &mut HashSet<(Split, String)>,
) -> Result<()> {
    let (_, records) = read_csv(csv, false)?;
    for (line, rec) in records {
        let fields: Vec<&str> = rec.iter().collect();
        let name = fields.first().copied().unwrap_or("").trim().to_string();
        let parsed = (|| {
            if fields.len() != 12 {
                return Err(DataError::record(csv, line, format!("expected 12 columns, found {}", fields.len())));
            }
            let face_box = parse_box(fields[1]).ok_or_else(|| {
                DataError::record(csv, line, format!("face box '{}' is not of the form \"(x, y, w, h)\"", fields[1]))
            })?;
            Ok((face_box, parse_votes(csv, line, &fields[2..])?))
        })();
        match parsed {
            Ok((face_box, votes)) => rows.entry(split).or_default().push((
                name,
                LabelRow { file: csv.to_path_buf(), line, label: RowLabel::Votes(votes), face_box: Some(face_box) },
            )),
            Err(e) => {
                bad_names.insert((split, name));
                b.bad(split, e)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: [u32; 10]) -> Votes {
        x
    }

    #[test]
    fn majority_rule_matches_the_readme() {
        // 4 neutral, 1 sadness (dropped as a single vote), 3 anger, 2 disgust: 4/9 is not a majority.
        assert_eq!(label_from_votes(&v([4, 0, 0, 1, 3, 2, 0, 0, 0, 0]), FerPlusLabelMode::Majority), None);
        // 6 neutral, 1 surprise, 1 sadness, 2 unknown -> single votes dropped -> 6/8 neutral.
        assert_eq!(label_from_votes(&v([6, 0, 1, 1, 0, 0, 0, 0, 2, 0]), FerPlusLabelMode::Majority), Some((0, None)));
        // 5 neutral + 3 unknown: 5/8 > 1/2 -> neutral (fer0033120.png's first row).
        assert_eq!(label_from_votes(&v([5, 0, 0, 1, 1, 0, 0, 0, 3, 0]), FerPlusLabelMode::Majority), Some((0, None)));
        // Not a face.
        assert_eq!(label_from_votes(&v([0, 0, 0, 0, 0, 0, 0, 0, 0, 10]), FerPlusLabelMode::Majority), None);
        // Exactly half is not more than half.
        assert_eq!(label_from_votes(&v([0, 5, 5, 0, 0, 0, 0, 0, 0, 0]), FerPlusLabelMode::Majority), None);
        // Unknown majority drops the image.
        assert_eq!(label_from_votes(&v([2, 0, 0, 0, 0, 0, 0, 0, 8, 0]), FerPlusLabelMode::Majority), None);
        // All single votes: nothing left.
        assert_eq!(label_from_votes(&v([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]), FerPlusLabelMode::Majority), None);
    }

    #[test]
    fn soft_modes_follow_ferplus() {
        // 4 neutral, 3 anger, 2 disgust (sadness 1 dropped): top classes 4+3 = 7 < 6.75? no: 7 >= 0.75*9 -> stop.
        let (label, soft) =
            label_from_votes(&v([4, 0, 0, 1, 3, 2, 0, 0, 0, 0]), FerPlusLabelMode::Probability).unwrap();
        assert_eq!(label, 0);
        let soft = soft.unwrap();
        assert!((soft[0] - 4.0 / 7.0).abs() < 1e-6 && (soft[4] - 3.0 / 7.0).abs() < 1e-6 && soft[5] == 0.0);
        // Unknown as top class: dropped.
        assert_eq!(label_from_votes(&v([3, 0, 0, 0, 0, 0, 0, 0, 5, 2]), FerPlusLabelMode::Crossentropy), None);
        // Multi-target: classes with >= 30% of 10 votes.
        let (label, soft) =
            label_from_votes(&v([3, 4, 0, 0, 0, 0, 0, 0, 3, 0]), FerPlusLabelMode::MultiTarget).unwrap();
        assert_eq!(label, 1);
        let soft = soft.unwrap();
        assert!((soft[0] - 3.0 / 7.0).abs() < 1e-6 && (soft[1] - 4.0 / 7.0).abs() < 1e-6);
        assert!((soft.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        // Multi-target with too spread votes: dropped.
        assert_eq!(label_from_votes(&v([2, 2, 2, 2, 2, 0, 0, 0, 0, 0]), FerPlusLabelMode::MultiTarget), None);
    }

    #[test]
    fn face_boxes_parse() {
        assert_eq!(parse_box("(0, 0, 48, 48)"), Some(Rect { x: 0, y: 0, width: 48, height: 48 }));
        assert_eq!(parse_box("0, 0, 48, 48"), None);
        assert_eq!(parse_box("(0, 0, 48)"), None);
    }
}
