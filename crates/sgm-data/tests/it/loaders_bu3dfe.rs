//! BU-3DFE loader on generated BMP fixtures.

use crate::common;

use common::{gray, save, write};
use sgm_data::loaders::LoadOptions;
use sgm_data::{load, Format, Split};

#[test]
fn textures_carry_intensity_and_subject() {
    let dir = tempfile::tempdir().unwrap();
    save(&dir.path().join("F0001/F0001_AN01WH_F2D.bmp"), &gray(12, 10, 1));
    save(&dir.path().join("F0001/F0001_NE00WH_F2D.bmp"), &gray(12, 10, 2));
    save(&dir.path().join("M0002/M0002_SU04BL_F2D.bmp"), &gray(12, 10, 3));
    save(&dir.path().join("M0002/M0002_SU04BL_F3D.bmp"), &gray(12, 10, 3));
    write(&dir.path().join("M0002/M0002_SU04BL_F3D.wrl"), "3d model");
    let d = load(Format::Bu3dfe, dir.path(), &LoadOptions::default()).unwrap();
    let all = d.split(Split::All).unwrap();
    assert_eq!(all.labels(), vec![4, 0, 2]);
    let intensities: Vec<_> = all.samples.iter().map(|m| m.intensity).collect();
    assert_eq!(intensities, vec![Some(1), Some(0), Some(4)]);
    assert_eq!(all.samples[2].subject.as_deref(), Some("M0002"));
    assert_eq!(all.image(2), gray(12, 10, 3).as_raw().as_slice());
}

#[test]
fn bad_names_and_empty_roots_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    save(&dir.path().join("F0001/F0001_AN01WH_F2D.bmp"), &gray(12, 10, 1));
    save(&dir.path().join("F0001/F0001_AN07WH_F2D.bmp"), &gray(12, 10, 1));
    let err = load(Format::Bu3dfe, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("F0001_AN07WH_F2D.bmp"), "{err}");
    let d = load(Format::Bu3dfe, dir.path(), &LoadOptions { skip_bad: true, ..Default::default() }).unwrap();
    assert_eq!((d.splits[0].len(), d.report.skipped_count()), (1, 1));
    let empty = tempfile::tempdir().unwrap();
    assert!(load(Format::Bu3dfe, empty.path(), &LoadOptions::default()).is_err());
}
