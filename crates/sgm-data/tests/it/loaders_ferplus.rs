//! FER+ loader on a generated fixture in the official layout (8×8 PNGs instead of 48×48, to stay small).

use crate::common;

use std::path::Path;

use common::{gray, save, write};
use sgm_data::loaders::{FerPlusLabelMode, FerPlusLabelSource, LoadOptions};
use sgm_data::{load, DataError, Format, Split};

const HEADER: &str = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n";

/// Train: fer0000000 (neutral), fer0000001 (happiness), fer0000002 (unknown: no majority), fer0000003 (a copy of
/// fer0000000). Valid: fer0000010 (surprise; a copy of fer0000001). Test: fer0000020 (anger; a copy of
/// fer0000000), fer0033120 (known bad). Plus a nameless non-face row.
fn fixture(root: &Path) {
    let d = root.join("data");
    let img = |split: &str, name: &str, seed: u8| save(&d.join(split).join(name), &gray(8, 8, seed));
    img("FER2013Train", "fer0000000.png", 0);
    img("FER2013Train", "fer0000001.png", 50);
    img("FER2013Train", "fer0000002.png", 100);
    img("FER2013Train", "fer0000003.png", 0);
    img("FER2013Valid", "fer0000010.png", 50);
    img("FER2013Test", "fer0000020.png", 0);
    img("FER2013Test", "fer0033120.png", 200);
    write(
        &root.join("fer2013new.csv"),
        &format!(
            "{HEADER}Training,fer0000000.png,10,0,0,0,0,0,0,0,0,0\n\
             Training,fer0000001.png,1,8,0,0,0,0,0,0,1,0\n\
             Training,,0,0,0,0,0,0,0,0,0,10\n\
             Training,fer0000002.png,4,0,0,1,3,2,0,0,0,0\n\
             Training,fer0000003.png,9,0,0,0,0,0,0,1,0,0\n\
             PublicTest,fer0000010.png,0,0,6,0,0,0,4,0,0,0\n\
             PrivateTest,fer0000020.png,0,0,0,0,7,3,0,0,0,0\n\
             PrivateTest,fer0033120.png,5,0,0,1,1,0,0,0,3,0\n\
             PrivateTest,fer0033120.png,0,0,0,0,0,0,0,0,0,10\n"
        ),
    );
    let lc = |split: &str, rows: &str| write(&d.join(split).join("label.csv"), rows);
    lc(
        "FER2013Train",
        "fer0000000.png,\"(0, 0, 8, 8)\",10,0,0,0,0,0,0,0,0,0\n\
         fer0000001.png,\"(0, 0, 8, 8)\",0,2,0,0,0,0,8,0,0,0\n\
         fer0000002.png,\"(0, 0, 8, 8)\",4,0,0,1,3,2,0,0,0,0\n\
         fer0000003.png,\"(0, 0, 8, 8)\",9,0,0,0,0,0,0,1,0,0\n",
    );
    lc("FER2013Valid", "fer0000010.png,\"(0, 0, 8, 8)\",0,0,6,0,0,0,4,0,0,0\n");
    lc(
        "FER2013Test",
        "fer0000020.png,\"(0, 0, 8, 8)\",0,0,0,0,7,3,0,0,0,0\n\
         fer0033120.png,\"(0, 0, 8, 8)\",5,0,0,1,1,0,0,0,3,0\n",
    );
}

fn split_counts(d: &sgm_data::LoadedDataset, s: Split) -> sgm_data::loaders::SplitReport {
    d.report.splits.iter().find(|r| r.split == s).unwrap().clone()
}

#[test]
fn majority_labels_exclusions_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    let d = load(Format::Ferplus, dir.path(), &LoadOptions::default()).unwrap();
    let train = d.split(Split::Train).unwrap();
    assert_eq!(train.labels(), vec![0, 1, 0], "fer0000002 has no majority and is dropped");
    assert_eq!((train.height, train.width), (8, 8));
    assert_eq!(train.image(1), gray(8, 8, 50).as_raw().as_slice());
    let r = split_counts(&d, Split::Train);
    assert_eq!((r.found, r.unlabelled, r.kept), (4, 1, 3));
    assert_eq!(d.split(Split::Valid).unwrap().labels(), vec![2]);
    let test = d.split(Split::Test).unwrap();
    assert_eq!(test.labels(), vec![4]);
    let r = split_counts(&d, Split::Test);
    assert_eq!((r.found, r.excluded, r.kept), (2, 1, 1));
    assert!(d.report.excluded[0].source.ends_with("fer0033120.png"));
    assert!(d.report.excluded[0].reason.contains("neutral"));
    // Duplicates: {train 0, train 3, test 20} and {train 1, valid 10}.
    let s = d.report.duplicates.clone().unwrap();
    assert_eq!((s.indexed, s.groups, s.images, s.cross_split_groups), (7, 2, 5, 2));
    assert_eq!((s.train_valid, s.train_test, s.valid_test, s.all_three), (1, 1, 0, 0));
    let g0 = train.samples[0].group.unwrap();
    assert_eq!(train.samples[2].group, Some(g0));
    assert_eq!(test.samples[0].group, Some(g0));
    assert_eq!(d.split(Split::Valid).unwrap().samples[0].group, train.samples[1].group);
    assert!(d.report.notes.iter().any(|n| n.contains("1 rows without an image name")));
    assert_eq!(
        d.report.missing_classes.iter().map(|e| e.name()).collect::<Vec<_>>(),
        ["sadness", "disgust", "fear", "contempt"]
    );
}

#[test]
fn keeping_the_known_bad_image_uses_its_first_row() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    let mut o = LoadOptions::default();
    o.ferplus.exclude_known_bad = false;
    let d = load(Format::Ferplus, dir.path(), &o).unwrap();
    assert_eq!(d.split(Split::Test).unwrap().labels(), vec![4, 0]);
    assert!(d.report.notes.iter().any(|n| n.contains("fer0033120.png") && n.contains("different votes")));
}

#[test]
fn label_csv_source_reads_split_files() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    let mut o = LoadOptions::default();
    o.ferplus.label_source = FerPlusLabelSource::LabelCsv;
    let d = load(Format::Ferplus, dir.path(), &o).unwrap();
    // label.csv gives fer0000001 8 fear votes (fer2013new.csv: happiness).
    assert_eq!(d.split(Split::Train).unwrap().labels(), vec![0, 6, 0]);
}

#[test]
fn original_fer2013_labels_can_label_the_pngs() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    write(
        &dir.path().join("derived_fer2013_original_labels.csv"),
        "ferplus_split,ferplus_png,fer2013_usage,msambare_best_path,fer2013_label,status\n\
         FER2013Train,fer0000000.png,Training,x.jpg,angry,unique\n\
         FER2013Train,fer0000001.png,Training,x.jpg,happy,unique\n\
         FER2013Train,fer0000002.png,Training,x.jpg,,dup_label_conflict\n\
         FER2013Train,fer0000003.png,Training,x.jpg,sad,unique\n\
         FER2013Valid,fer0000010.png,PublicTest,x.jpg,surprise,unique\n\
         FER2013Test,fer0000020.png,PrivateTest,x.jpg,neutral,unique\n\
         FER2013Test,fer0033120.png,PrivateTest,x.jpg,neutral,unique\n",
    );
    let mut o = LoadOptions::default();
    o.ferplus.label_source = FerPlusLabelSource::Fer2013Original;
    let d = load(Format::Ferplus, dir.path(), &o).unwrap();
    assert_eq!(d.split(Split::Train).unwrap().labels(), vec![4, 1, 3]);
    assert_eq!(d.report.splits[0].unlabelled, 1);
    assert_eq!(d.split(Split::Test).unwrap().labels(), vec![0]);
    let csv = dir.path().join("derived_fer2013_original_labels.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    write(&csv, &text.replace(",sad,", ",smirk,"));
    let err = load(Format::Ferplus, dir.path(), &o).unwrap_err();
    assert!(err.to_string().contains("derived_fer2013_original_labels.csv:5:"), "{err}");
}

#[test]
fn soft_modes_give_distributions() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    for mode in [FerPlusLabelMode::Probability, FerPlusLabelMode::Crossentropy, FerPlusLabelMode::MultiTarget] {
        let mut o = LoadOptions::default();
        o.ferplus.label_mode = mode;
        let d = load(Format::Ferplus, dir.path(), &o).unwrap();
        let valid = d.split(Split::Valid).unwrap();
        let soft = valid.samples[0].soft_label.clone().unwrap();
        assert_eq!(soft.len(), 8);
        assert!((soft[2] - 0.6).abs() < 1e-6 && (soft[6] - 0.4).abs() < 1e-6, "{mode:?}: {soft:?}");
        assert_eq!(valid.samples[0].label, 2);
    }
    let d = load(Format::Ferplus, dir.path(), &LoadOptions::default()).unwrap();
    assert!(d.split(Split::Valid).unwrap().samples[0].soft_label.is_none());
}

#[test]
fn cross_split_copies_can_be_dropped_and_size_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    let o = LoadOptions { drop_cross_split_duplicates: true, size: Some([4, 6]), ..Default::default() };
    let d = load(Format::Ferplus, dir.path(), &o).unwrap();
    assert!(d.split(Split::Valid).unwrap().is_empty());
    assert!(d.split(Split::Test).unwrap().is_empty());
    assert_eq!(split_counts(&d, Split::Test).dropped_duplicates, 1);
    let train = d.split(Split::Train).unwrap();
    assert_eq!((train.len(), train.height, train.width, train.pixels.len()), (3, 4, 6, 72));
    assert!(d.report.dedup_mode.as_deref().unwrap().contains("dropped"));
    // Only some splits.
    let o = LoadOptions { splits: Some(vec![Split::Test]), ..Default::default() };
    let d = load(Format::Ferplus, dir.path(), &o).unwrap();
    assert_eq!(d.splits.len(), 1);
    assert_eq!(d.report.duplicates.unwrap().groups, 2, "the index still covers all splits");
}

#[test]
fn missing_split_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    std::fs::remove_dir_all(dir.path().join("data/FER2013Valid")).unwrap();
    let err = load(Format::Ferplus, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("FER2013Valid"), "{err}");
}

#[test]
fn listed_but_absent_image_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    std::fs::remove_file(dir.path().join("data/FER2013Train/fer0000002.png")).unwrap();
    let err = load(Format::Ferplus, dir.path(), &LoadOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("fer2013new.csv:5:") && msg.contains("fer0000002.png"), "{msg}");
    let o = LoadOptions { skip_bad: true, ..Default::default() };
    let d = load(Format::Ferplus, dir.path(), &o).unwrap();
    assert_eq!(d.report.skipped_count(), 1);
    assert_eq!(split_counts(&d, Split::Train).skipped, 1);
}

#[test]
fn malformed_rows_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    let csv = dir.path().join("fer2013new.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    write(&csv, &text.replace("PublicTest,fer0000010.png,0,0,6,0,0,0,4,0,0,0", "PublicTest,fer0000010.png,0,0,6"));
    let err = load(Format::Ferplus, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("fer2013new.csv:7: expected 12 columns"), "{err}");
    // skip_bad: the row is skipped once (its image is not reported a second time).
    let d = load(Format::Ferplus, dir.path(), &LoadOptions { skip_bad: true, ..Default::default() }).unwrap();
    assert_eq!(d.report.skipped_count(), 1);
    assert!(d.split(Split::Valid).unwrap().is_empty());

    write(&csv, &text.replace("Training,fer0000001.png,1,8,", "Training,fer0000001.png,1,x,"));
    let err = load(Format::Ferplus, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("fer2013new.csv:3:") && err.to_string().contains("happiness"), "{err}");

    write(&csv, &text.replace("Usage,Image name", "Usage,Name"));
    let err = load(Format::Ferplus, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("fer2013new.csv:1:"), "{err}");

    write(&csv, &text.replace("PublicTest,fer0000010", "Public,fer0000010"));
    let err = load(Format::Ferplus, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("fer2013new.csv:7: unknown Usage"), "{err}");
}

#[test]
fn unreadable_image_and_unlisted_image_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    write(&dir.path().join("data/FER2013Train/fer0000001.png"), "not a png");
    let err = load(Format::Ferplus, dir.path(), &LoadOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("fer2013new.csv:3:") && msg.contains("fer0000001.png") && msg.contains("decode"), "{msg}");
    let d = load(Format::Ferplus, dir.path(), &LoadOptions { skip_bad: true, ..Default::default() }).unwrap();
    assert_eq!(d.split(Split::Train).unwrap().labels(), vec![0, 0]);
    assert_eq!(d.report.skipped_count(), 1);

    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    save(&dir.path().join("data/FER2013Valid/fer0000099.png"), &gray(8, 8, 9));
    let err = load(Format::Ferplus, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("fer0000099.png") && err.to_string().contains("label row"), "{err}");
}

#[test]
fn label_csv_with_a_bad_box_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    write(&dir.path().join("data/FER2013Valid/label.csv"), "fer0000010.png,\"0 0 8 8\",0,0,6,0,0,0,4,0,0,0\n");
    let mut o = LoadOptions::default();
    o.ferplus.label_source = FerPlusLabelSource::LabelCsv;
    let err = load(Format::Ferplus, dir.path(), &o).unwrap_err();
    assert!(err.to_string().contains("label.csv:1: face box"), "{err}");
    // A face box outside the image names the image.
    write(&dir.path().join("data/FER2013Valid/label.csv"), "fer0000010.png,\"(4, 4, 8, 8)\",0,0,6,0,0,0,4,0,0,0\n");
    let err = load(Format::Ferplus, dir.path(), &o).unwrap_err();
    assert!(err.to_string().contains("fer0000010.png") && err.to_string().contains("crop box"), "{err}");
}

#[test]
fn raw_votes_are_readable_from_both_sources() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    let new = sgm_data::loaders::ferplus::read_votes(dir.path(), FerPlusLabelSource::Fer2013New).unwrap();
    assert_eq!(new.len(), 7, "the nameless row is skipped and the repeated name kept once");
    let bad = new.iter().find(|r| r.name == "fer0033120.png").unwrap();
    assert_eq!((bad.split, bad.line, bad.votes), (Split::Test, 9, [5, 0, 0, 1, 1, 0, 0, 0, 3, 0]));
    let csv = sgm_data::loaders::ferplus::read_votes(dir.path(), FerPlusLabelSource::LabelCsv).unwrap();
    assert_eq!(csv.len(), 7);
    assert_eq!(csv.iter().find(|r| r.name == "fer0000001.png").unwrap().votes[6], 8);
    assert!(sgm_data::loaders::ferplus::read_votes(dir.path(), FerPlusLabelSource::Fer2013Original).is_err());
}
