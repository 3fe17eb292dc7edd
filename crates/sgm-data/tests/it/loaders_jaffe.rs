//! JAFFE loader on generated TIFF fixtures, gray and gray-palette alike.

use crate::common;

use common::{gray, palette_tiff, save, write};
use sgm_data::loaders::LoadOptions;
use sgm_data::{load, Format, Split};

#[test]
fn gray_and_palette_tiffs_load_with_subjects() {
    let dir = tempfile::tempdir().unwrap();
    save(&dir.path().join("KA.AN1.39.tiff"), &gray(16, 16, 10));
    let indices: Vec<u8> = (0..256u32).map(|i| i as u8).collect();
    palette_tiff(&dir.path().join("YM.HA2.53.tiff"), 16, 16, &indices);
    write(&dir.path().join("README.txt"), "not an image");
    let d = load(Format::Jaffe, dir.path(), &LoadOptions::default()).unwrap();
    let all = d.split(Split::All).unwrap();
    assert_eq!(all.labels(), vec![4, 1]);
    assert_eq!(all.samples[1].subject.as_deref(), Some("YM"));
    assert_eq!(all.image(0), gray(16, 16, 10).as_raw().as_slice());
    let expected: Vec<u8> = indices.iter().map(|i| 255 - i).collect();
    assert_eq!(all.image(1), expected.as_slice(), "palette indices are looked up in the colour map");
    assert!(d.report.missing_classes.iter().any(|e| e.name() == "contempt"));

    let o = LoadOptions { size: Some([8, 8]), ..Default::default() };
    let d = load(Format::Jaffe, dir.path(), &o).unwrap();
    assert_eq!((d.splits[0].height, d.splits[0].width, d.splits[0].pixels.len()), (8, 8, 128));
}

#[test]
fn bad_names_sizes_and_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    save(&dir.path().join("KA.AN1.39.tiff"), &gray(16, 16, 10));
    save(&dir.path().join("KA.XX1.40.tiff"), &gray(16, 16, 10));
    let err = load(Format::Jaffe, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("KA.XX1.40.tiff"), "{err}");
    std::fs::remove_file(dir.path().join("KA.XX1.40.tiff")).unwrap();

    save(&dir.path().join("KA.DI1.41.tiff"), &gray(12, 16, 10));
    let err = load(Format::Jaffe, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("KA.DI1.41.tiff") && err.to_string().contains("target size"), "{err}");
    std::fs::remove_file(dir.path().join("KA.DI1.41.tiff")).unwrap();

    write(&dir.path().join("KA.SU1.42.tiff"), "II*\0garbage");
    let err = load(Format::Jaffe, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("KA.SU1.42.tiff"), "{err}");
    let d = load(Format::Jaffe, dir.path(), &LoadOptions { skip_bad: true, ..Default::default() }).unwrap();
    assert_eq!((d.splits[0].len(), d.report.skipped_count()), (1, 1));

    let empty = tempfile::tempdir().unwrap();
    assert!(load(Format::Jaffe, empty.path(), &LoadOptions::default()).is_err());
}
