//! CelebA loader on generated JPEG fixtures.

use crate::common;

use common::{save_rgb_jpeg, write};
use sgm_data::loaders::{CelebaOptions, LoadOptions};
use sgm_data::{load, Format, Split};

fn fixture(root: &std::path::Path) {
    for i in 1..=4 {
        save_rgb_jpeg(&root.join(format!("img_align_celeba/{i:06}.jpg")), 18, 22);
    }
    write(&root.join("Eval/list_eval_partition.txt"), "000001.jpg 0\n000002.jpg 0\n000003.jpg 1\n000004.jpg 2\n");
    write(
        &root.join("Anno/list_attr_celeba.txt"),
        "4\nBlond_Hair Smiling\n000001.jpg -1  1\n000002.jpg  1 -1\n000003.jpg -1 -1\n000004.jpg 1 1\n",
    );
}

#[test]
fn unlabelled_by_default_attribute_on_request() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    let d = load(Format::Celeba, dir.path(), &LoadOptions::default()).unwrap();
    let counts: Vec<usize> = d.splits.iter().map(|s| s.len()).collect();
    assert_eq!(counts, vec![2, 1, 1]);
    assert_eq!(d.splits[0].class_names, vec!["unlabelled".to_string()]);
    assert_eq!((d.splits[0].height, d.splits[0].width), (22, 18));
    assert!(d.report.missing_classes.is_empty(), "no FER+ classes to report");

    let o = LoadOptions { celeba: CelebaOptions { label_attribute: Some("Smiling".into()) }, ..Default::default() };
    let d = load(Format::Celeba, dir.path(), &o).unwrap();
    assert_eq!(d.split(Split::Train).unwrap().labels(), vec![1, 0]);
    assert_eq!(d.split(Split::Test).unwrap().labels(), vec![1]);
    assert_eq!(d.splits[0].class_names, vec!["not Smiling".to_string(), "Smiling".to_string()]);
    let o = LoadOptions { celeba: CelebaOptions { label_attribute: Some("Frowning".into()) }, ..Default::default() };
    let err = load(Format::Celeba, dir.path(), &o).unwrap_err();
    assert!(err.to_string().contains("list_attr_celeba.txt:2:"), "{err}");
}

#[test]
fn absent_images_and_bad_rows_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    write(&dir.path().join("Eval/list_eval_partition.txt"), "000001.jpg 0\n000009.jpg 1\n000003.jpg 5\n");
    let err = load(Format::Celeba, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("list_eval_partition.txt:2:"), "{err}");
    let d = load(Format::Celeba, dir.path(), &LoadOptions { skip_bad: true, ..Default::default() }).unwrap();
    assert_eq!(d.report.skipped_count(), 2);
    assert_eq!(d.split(Split::Train).unwrap().len(), 1);
}
