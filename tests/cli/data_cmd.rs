//! `sgm data`: stats, show, synth, verify and list on generated folders; a missing data set named with where to
//! get it.

use crate::common::sgm;

fn png(path: &std::path::Path, seed: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let px: Vec<u8> = (0..48u32 * 48).map(|i| seed.wrapping_add(i as u8)).collect();
    sgm_data::image_io::write_png_atomic(path, 48, 48, 1, &px).unwrap();
}

#[test]
fn stats_show_and_synth_run_on_generated_folders() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("faces");
    png(&root.join("happy/a.png"), 1);
    png(&root.join("happy/b.png"), 2);
    png(&root.join("angry/c.png"), 3);
    let r = root.to_str().unwrap();
    sgm(&["data", "stats", "mine", "--format", "image_folder", "--root", r]).unwrap();
    sgm(&["data", "stats", "mine", "--format", "image_folder", "--root", r, "--json"]).unwrap();
    let out = dir.path().join("sheet.png");
    let o = out.to_str().unwrap();
    sgm(&["data", "show", "mine", "--format", "image_folder", "--root", r, "--split", "all", "--n", "2", "--out", o])
        .unwrap();
    let sheet = sgm_data::image_io::decode_luma(&out).unwrap();
    // 2 images, 2 per row: 2 + 2 * (48 + 2) wide, 2 + 48 + 5 + 2 high.
    assert_eq!((sheet.width(), sheet.height()), (102, 57));
    let legend = std::fs::read_to_string(dir.path().join("sheet.csv")).unwrap();
    assert_eq!(legend.lines().count(), 3);
    assert!(legend.lines().nth(1).unwrap().contains(",anger,"), "{legend}");
    let err = sgm(&["data", "show", "mine", "--format", "image_folder", "--root", r, "--split", "test"]).unwrap_err();
    assert!(err.to_string().contains("no split 'test'"), "{err}");

    let synth = dir.path().join("synth");
    let s = synth.to_str().unwrap();
    sgm(&["data", "synth", "--out", s, "--train-per-class", "2", "--valid-per-class", "1", "--test-per-class", "1"])
        .unwrap();
    let d = sgm_data::load(sgm_data::Format::ImageFolder, &synth, &sgm_data::LoadOptions::default()).unwrap();
    assert_eq!(d.splits.iter().map(|s| s.len()).collect::<Vec<_>>(), vec![16, 8, 8]);
    assert!(d.splits.iter().all(|s| s.samples.iter().all(|m| m.subclass.is_some())), "labels.csv read back");
}

#[test]
fn verify_reports_mismatches_and_missing_data() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("jaffe");
    // Two JAFFE images where the registry expects 213. (PNG bytes under a .tiff name: the decoder goes by
    // content, and sgm-cli has no TIFF encoder; the JAFFE loader itself is tested on real TIFFs in sgm-data.)
    png(&root.join("KA.AN1.39.tiff"), 0);
    png(&root.join("KA.HA1.40.tiff"), 9);
    let r = root.to_str().unwrap();
    let err = sgm(&["data", "verify", "jaffe", "--root", r]).unwrap_err();
    assert!(err.to_string().contains("checks failed"), "{err}");
    let err = sgm(&["data", "stats", "jaffe", "--root", "/nonexistent/jaffe"]).unwrap_err();
    assert!(err.to_string().contains("not found") && err.to_string().contains("zenodo"), "{err}");
    let err = sgm(&["data", "stats", "nope"]).unwrap_err();
    assert!(err.to_string().contains("ferplus"), "{err}");
    sgm(&["data", "list"]).unwrap();
}
