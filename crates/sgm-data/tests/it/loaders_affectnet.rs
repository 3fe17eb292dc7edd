//! AffectNet loader on generated fixtures: face-box crop, codes 8–10 dropped, bad rows.

use crate::common;

use common::{save, save_rgb_jpeg, write};
use sgm_data::loaders::LoadOptions;
use sgm_data::{load, Format, Split};

const HEADER: &str =
    "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal\n";

fn fixture(root: &std::path::Path, extra_valid: &str) {
    let imgs = root.join("Manually_Annotated_Images");
    save_rgb_jpeg(&imgs.join("1/a.jpg"), 40, 30);
    save_rgb_jpeg(&imgs.join("1/b.jpg"), 40, 30);
    save(&imgs.join("2/c.png"), &common::gray(20, 20, 5));
    write(
        &root.join("training.csv"),
        &format!("{HEADER}1/a.jpg,5,5,20,20,\"1;2;3\",2,0.1,0.2\n1/b.jpg,0,0,40,30,\"1;2\",7,0,0\n1/missing.jpg,0,0,1,1,,9,0,0\n"),
    );
    write(&root.join("validation.csv"), &format!("{HEADER}2/c.png,2,4,10,12,,6,-0.5,0.5\n{extra_valid}"));
}

#[test]
fn crops_maps_and_drops() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path(), "");
    let o = LoadOptions { size: Some([16, 16]), ..Default::default() };
    let d = load(Format::Affectnet, dir.path(), &o).unwrap();
    let train = d.split(Split::Train).unwrap();
    assert_eq!(train.labels(), vec![3, 7], "sad -> sadness (3), contempt (7)");
    let r = &d.report.splits[0];
    assert_eq!((r.found, r.unlabelled, r.kept), (3, 1, 2), "code 9 is dropped (its image is not even needed)");
    assert_eq!(d.split(Split::Valid).unwrap().labels(), vec![4]);
    assert_eq!(train.pixels.len(), 2 * 16 * 16);
    // Without a target size the crops differ in size: that is an error naming the image.
    let err = load(Format::Affectnet, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("target size"), "{err}");
    // Only the validation split.
    let o = LoadOptions { size: Some([8, 8]), splits: Some(vec![Split::Valid]), ..Default::default() };
    std::fs::remove_file(dir.path().join("training.csv")).unwrap();
    let d = load(Format::Affectnet, dir.path(), &o).unwrap();
    assert_eq!(d.splits.len(), 1);
    // The crop really is the face box: a 10x12 crop of c.png at (2, 4).
    let o = LoadOptions { size: Some([12, 10]), splits: Some(vec![Split::Valid]), ..Default::default() };
    let d = load(Format::Affectnet, dir.path(), &o).unwrap();
    assert_eq!(d.splits[0].image(0)[0], common::gray(20, 20, 5).get_pixel(2, 4).0[0]);
}

#[test]
fn bad_rows_name_file_and_line() {
    let o = LoadOptions { size: Some([8, 8]), ..Default::default() };
    for (extra, want) in [
        ("2/c.png,0,0,5,5,,11,0,0\n", "validation.csv:3: expression 11"),
        ("2/zzz.png,0,0,5,5,,1,0,0\n", "validation.csv:3: image"),
        ("2/c.png,0,0,5,5,,1,0\n", "validation.csv:3: expected 9 columns"),
        ("2/c.png,x,0,5,5,,1,0,0\n", "validation.csv:3: column face_x"),
        ("2/c.png,15,15,10,10,,1,0,0\n", "validation.csv:3:"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        fixture(dir.path(), extra);
        let err = load(Format::Affectnet, dir.path(), &o).unwrap_err();
        assert!(err.to_string().contains(want), "{err} / {want}");
        let d = load(Format::Affectnet, dir.path(), &LoadOptions { skip_bad: true, ..o.clone() }).unwrap();
        assert_eq!((d.report.skipped_count(), d.split(Split::Valid).unwrap().len()), (1, 1));
    }
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path(), "");
    write(&dir.path().join("validation.csv"), "path,x\n");
    let err = load(Format::Affectnet, dir.path(), &o).unwrap_err();
    assert!(err.to_string().contains("validation.csv:1: unexpected header"), "{err}");
    std::fs::remove_file(dir.path().join("validation.csv")).unwrap();
    let err = load(Format::Affectnet, dir.path(), &o).unwrap_err();
    assert!(err.to_string().contains("validation.csv"), "{err}");
}
