//! CK+ loaders (official layout and CK+48) on generated fixtures.

use crate::common;

use common::{gray, save, write};
use sgm_data::loaders::{CkPlusOptions, LoadOptions};
use sgm_data::{load, DataError, Format, Split};

/// S005/001: 5 frames, disgust (3). S010/002: 4 frames, happy (5). S010/003: frames but no label.
fn official(root: &std::path::Path) {
    let frames = root.join("cohn-kanade-images");
    for f in 1..=5u8 {
        save(&frames.join(format!("S005/001/S005_001_{f:08}.png")), &gray(10, 8, f));
    }
    for f in 1..=4u8 {
        save(&frames.join(format!("S010/002/S010_002_{f:08}.png")), &gray(10, 8, 100 + f));
    }
    save(&frames.join("S010/003/S010_003_00000001.png"), &gray(10, 8, 7));
    write(&root.join("Emotion/S005/001/S005_001_00000005_emotion.txt"), "   3.0000000e+00\n");
    write(&root.join("Emotion/S010/002/S010_002_00000004_emotion.txt"), "   5.0000000e+00\n");
}

#[test]
fn official_layout_takes_the_last_frames_by_subject() {
    let dir = tempfile::tempdir().unwrap();
    official(dir.path());
    let d = load(Format::Ckplus, dir.path(), &LoadOptions::default()).unwrap();
    assert_eq!(d.splits.len(), 1);
    let all = d.split(Split::All).unwrap();
    assert_eq!(all.labels(), vec![5, 5, 5, 1, 1, 1], "3 frames of disgust, 3 of happiness");
    assert!(all.samples[0].source.ends_with("S005_001_00000003.png"));
    assert_eq!(all.samples[0].subject.as_deref(), Some("S005"));
    assert_eq!(all.samples[5].subject.as_deref(), Some("S010"));
    assert_eq!(all.image(2), gray(10, 8, 5).as_raw().as_slice());

    let o = LoadOptions { ckplus: CkPlusOptions { last_frames: 1, neutral_first_frame: true }, ..Default::default() };
    let d = load(Format::Ckplus, dir.path(), &o).unwrap();
    assert_eq!(d.split(Split::All).unwrap().labels(), vec![0, 5, 0, 1]);
}

#[test]
fn official_layout_errors() {
    let dir = tempfile::tempdir().unwrap();
    official(dir.path());
    write(&dir.path().join("Emotion/S010/002/S010_002_00000004_emotion.txt"), "9.0\n");
    let err = load(Format::Ckplus, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("S010_002_00000004_emotion.txt:1:"), "{err}");
    let d = load(Format::Ckplus, dir.path(), &LoadOptions { skip_bad: true, ..Default::default() }).unwrap();
    assert_eq!((d.report.skipped_count(), d.splits[0].len()), (1, 3));

    let dir = tempfile::tempdir().unwrap();
    official(dir.path());
    write(&dir.path().join("Emotion/S099/001/S099_001_00000009_emotion.txt"), "1.0\n");
    let err = load(Format::Ckplus, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Missing { .. }) && err.to_string().contains("S099"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    official(dir.path());
    std::fs::remove_dir_all(dir.path().join("Emotion")).unwrap();
    let err = load(Format::Ckplus, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("Emotion"), "{err}");
}

#[test]
fn ck48_layout_reads_class_folders() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("CK+48");
    save(&base.join("anger/S010_004_00000017.png"), &gray(48, 48, 1));
    save(&base.join("anger/S010_004_00000018.png"), &gray(48, 48, 2));
    save(&base.join("contempt/S138_008_00000007.png"), &gray(48, 48, 3));
    save(&base.join("happy/S011_006_00000013.png"), &gray(48, 48, 4));
    let d = load(Format::Ckplus48, dir.path(), &LoadOptions::default()).unwrap();
    let all = d.split(Split::All).unwrap();
    assert_eq!(all.labels(), vec![4, 4, 7, 1]);
    assert_eq!(all.samples[2].subject.as_deref(), Some("S138"));
    let missing: Vec<_> = d.report.missing_classes.iter().map(|e| e.name()).collect();
    assert_eq!(missing, ["neutral", "surprise", "sadness", "disgust", "fear"]);
    // Loading the CK+48 folder itself works too.
    assert_eq!(load(Format::Ckplus48, &base, &LoadOptions::default()).unwrap().splits[0].len(), 4);

    save(&base.join("smirk/S011_006_00000013.png"), &gray(48, 48, 4));
    let err = load(Format::Ckplus48, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("smirk"), "{err}");
    std::fs::remove_dir_all(base.join("smirk")).unwrap();
    save(&base.join("fear/img.png"), &gray(48, 48, 4));
    let err = load(Format::Ckplus48, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("img.png"), "{err}");
    let d = load(Format::Ckplus48, dir.path(), &LoadOptions { skip_bad: true, ..Default::default() }).unwrap();
    assert_eq!(d.report.skipped_count(), 1);
}
