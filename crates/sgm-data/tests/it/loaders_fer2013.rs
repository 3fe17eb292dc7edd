//! FER2013 `fer2013.csv` loader on generated fixtures.

use crate::common;

use common::write;
use sgm_data::loaders::LoadOptions;
use sgm_data::{load, Format, Split};

fn pixels(v: u8) -> String {
    vec![v.to_string(); 48 * 48].join(" ")
}

fn fixture(root: &std::path::Path, extra: &str) {
    write(
        &root.join("fer2013.csv"),
        &format!(
            "emotion,pixels,Usage\n0,{},Training\n3,{},Training\n6,{},PublicTest\n5,{},PrivateTest\n{extra}",
            pixels(1),
            pixels(2),
            pixels(1),
            pixels(3)
        ),
    );
}

#[test]
fn rows_map_to_ferplus_order_with_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path(), "");
    let d = load(Format::Fer2013, dir.path(), &sgm_data::LoadOptions::default()).unwrap();
    let train = d.split(Split::Train).unwrap();
    assert_eq!(train.labels(), vec![4, 1], "angry -> anger (4), happy -> happiness (1)");
    assert_eq!((train.height, train.width), (48, 48));
    assert!(train.image(1).iter().all(|&p| p == 2));
    assert_eq!(d.split(Split::Valid).unwrap().labels(), vec![0]);
    assert_eq!(d.split(Split::Test).unwrap().labels(), vec![2]);
    assert!(train.samples[0].source.to_string_lossy().ends_with("fer2013.csv:2"));
    let s = d.report.duplicates.clone().unwrap();
    assert_eq!((s.groups, s.train_valid), (1, 1));
    assert!(d.report.missing_classes.iter().any(|e| e.name() == "contempt"));
}

#[test]
fn bad_rows_name_the_line() {
    for (extra, want) in [
        ("7,1 2 3,Training\n", "fer2013.csv:6: emotion '7'"),
        (&format!("2,{} 9,Training\n", pixels(0)) as &str, "fer2013.csv:6: expected 2304 pixels"),
        ("2,1 2 300,Training\n", "fer2013.csv:6: pixels"),
        ("2,1 2 3\n", "fer2013.csv:6:"),
        (&format!("2,{},Other\n", pixels(0)) as &str, "fer2013.csv:6: unknown Usage"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        fixture(dir.path(), extra);
        let err = load(Format::Fer2013, dir.path(), &LoadOptions::default()).unwrap_err();
        assert!(err.to_string().contains(want), "{err} / {want}");
        let d = load(Format::Fer2013, dir.path(), &LoadOptions { skip_bad: true, ..Default::default() }).unwrap();
        assert_eq!(d.report.skipped_count(), 1);
        assert_eq!(d.splits.iter().map(|s| s.len()).sum::<usize>(), 4);
    }
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("fer2013.csv"), "label,pixels,Usage\n");
    let err = load(Format::Fer2013, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("fer2013.csv:1: unexpected header"), "{err}");
    let err = load(Format::Fer2013, &dir.path().join("nope"), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}
