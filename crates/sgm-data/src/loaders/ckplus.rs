//! CK+ (Extended Cohn-Kanade), in two layouts.
//!
//! **Official** ([`load_official`]): `cohn-kanade-images/S005/001/S005_001_00000001.png …` with labels in
//! `Emotion/S005/001/S005_001_00000011_emotion.txt`, one float per file: 0 neutral, 1 anger, 2 contempt,
//! 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise. The labelled frame is the last of the sequence; the last
//! [`super::CkPlusOptions::last_frames`] frames (default 3) get the label, and optionally the first frame is
//! taken as neutral. Unlabelled sequences are not used.
//!
//! **CK+48** ([`load_ck48`]): `CK+48/<anger|contempt|disgust|fear|happy|sadness|surprise>/S<subj>_<seq>_<frame>.png`
//! (48×48 crops of the last 3 frames of the 327 labelled sequences). `root` may be the `CK+48` folder or its
//! parent.
//!
//! Both set the subject (`S005`) on every image: splits must be by subject, since frames of one sequence are
//! near-identical. One split, [`Split::All`].

use std::path::Path;

use super::{
    ferplus_class_names, file_name, list_dirs, list_files, list_images, require_dir, Builder, Format, LoadOptions,
    LoadedDataset, Pending,
};
use crate::classes::Expression;
use crate::error::{DataError, Result};
use crate::image_set::{SampleMeta, Split};

/// Parses the content of a CK+ `*_emotion.txt` file (e.g. `   3.0000000e+00`).
pub fn parse_emotion(text: &str) -> Option<Expression> {
    let v: f64 = text.trim().parse().ok()?;
    if v.fract() != 0.0 || !(0.0..=7.0).contains(&v) {
        return None;
    }
    Expression::from_ckplus(v as u32)
}

/// Loads the official layout.
pub fn load_official(root: &Path, opts: &LoadOptions) -> Result<LoadedDataset> {
    let images = require_dir(root.join("cohn-kanade-images"), "CK+ folder cohn-kanade-images")?;
    let emotion = require_dir(root.join("Emotion"), "CK+ label folder Emotion")?;
    let mut b = Builder::new(opts, &[Split::All]);
    let last = opts.ckplus.last_frames;
    let mut sequences = 0usize;
    for subject_dir in list_dirs(&emotion)? {
        let subject = file_name(&subject_dir).to_string();
        for seq_dir in list_dirs(&subject_dir)? {
            let label_files = list_files(&seq_dir, |p| file_name(p).ends_with("_emotion.txt"))?;
            let Some(label_file) = label_files.last() else {
                continue;
            };
            let text = std::fs::read_to_string(label_file).map_err(|e| DataError::io(label_file, e))?;
            let Some(expr) = parse_emotion(&text) else {
                let e = DataError::record(label_file, 1, format!("'{}' is not a CK+ emotion code 0..=7", text.trim()));
                b.bad(Split::All, e)?;
                continue;
            };
            let frames_dir = images.join(&subject).join(file_name(&seq_dir));
            if !frames_dir.is_dir() {
                let e = DataError::Missing {
                    path: frames_dir,
                    what: format!("the frames of the sequence labelled in {}", label_file.display()),
                };
                b.bad(Split::All, e)?;
                continue;
            }
            let frames = list_images(&frames_dir)?;
            if frames.is_empty() {
                let e =
                    DataError::Missing { path: frames_dir, what: "frames (no image in the sequence folder)".into() };
                b.bad(Split::All, e)?;
                continue;
            }
            sequences += 1;
            let take = last.min(frames.len());
            let mut chosen: Vec<(&Path, Expression)> =
                frames[frames.len() - take..].iter().map(|f| (f.as_path(), expr)).collect();
            if opts.ckplus.neutral_first_frame && frames.len() > take {
                chosen.insert(0, (frames[0].as_path(), Expression::Neutral));
            }
            for (frame, e) in chosen {
                b.found(Split::All);
                let mut meta = SampleMeta::new(frame, e.index());
                meta.subject = Some(subject.clone());
                b.push(Pending::file(Split::All, frame.to_path_buf(), meta));
            }
        }
    }
    b.note(format!(
        "{sequences} labelled sequences; last {last} frame(s) each{}",
        if opts.ckplus.neutral_first_frame { ", plus the first frame as neutral" } else { "" }
    ));
    b.finish(Format::Ckplus, ferplus_class_names(), true, false)
}

/// Loads the CK+48 layout.
pub fn load_ck48(root: &Path, opts: &LoadOptions) -> Result<LoadedDataset> {
    let base = if root.join("CK+48").is_dir() { root.join("CK+48") } else { root.to_path_buf() };
    let mut b = Builder::new(opts, &[Split::All]);
    let class_dirs = list_dirs(&base)?;
    if class_dirs.is_empty() {
        return Err(DataError::Missing { path: base, what: "CK+48 class folders (anger, contempt, …)".into() });
    }
    for dir in class_dirs {
        let Ok(expr) = file_name(&dir).parse::<Expression>() else {
            let e = DataError::Layout {
                path: dir.clone(),
                reason: "not a CK+48 class folder (anger, contempt, disgust, fear, happy, sadness, surprise)".into(),
            };
            b.bad(Split::All, e)?;
            continue;
        };
        for img in list_images(&dir)? {
            let subject =
                file_name(&img).split('_').next().filter(|s| s.starts_with('S') && s.len() > 1).map(str::to_string);
            let Some(subject) = subject else {
                let e = DataError::Layout {
                    path: img.clone(),
                    reason: "not a CK+48 name S<subject>_<sequence>_<frame>.png".into(),
                };
                b.bad(Split::All, e)?;
                continue;
            };
            b.found(Split::All);
            let mut meta = SampleMeta::new(img.clone(), expr.index());
            meta.subject = Some(subject);
            b.push(Pending::file(Split::All, img, meta));
        }
    }
    b.finish(Format::Ckplus48, ferplus_class_names(), true, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emotion_files_parse() {
        assert_eq!(parse_emotion("   3.0000000e+00\n"), Some(Expression::Disgust));
        assert_eq!(parse_emotion("7"), Some(Expression::Surprise));
        assert_eq!(parse_emotion("8.0"), None);
        assert_eq!(parse_emotion("2.5"), None);
        assert_eq!(parse_emotion("x"), None);
    }
}
