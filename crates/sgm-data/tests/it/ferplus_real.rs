//! Checks against the real FER+ copy: the count table, known-fault handling and duplicate statistics of the
//! data README. Reads `$SGM_DATA_DIR/ferplus`; the tests are ignored unless run with `--ignored`.

use std::path::PathBuf;
use std::time::Instant;

use sgm_data::loaders::{ferplus, FerPlusLabelSource, LoadOptions};
use sgm_data::{load, Format, LoadedDataset, Split};

fn root() -> PathBuf {
    crate::common::data_dir().join("ferplus")
}

fn counts(d: &LoadedDataset, split: Split) -> (usize, usize, Vec<usize>) {
    let r = d.report.splits.iter().find(|r| r.split == split).unwrap();
    (r.found, r.kept, r.class_counts.clone())
}

/// The data README table (majority rule on fer2013new.csv).
const README_TABLE: [(Split, [usize; 8], usize); 3] = [
    (Split::Train, [8739, 7287, 3149, 3013, 2099, 119, 532, 119], 25_057),
    (Split::Valid, [1182, 865, 415, 351, 287, 24, 62, 13], 3_199),
    (Split::Test, [1090, 893, 396, 384, 273, 18, 83, 16], 3_153),
];

#[test]
#[ignore = "needs SGM_DATA_DIR"]
fn default_load_matches_the_readme_with_the_known_bad_image_excluded() {
    let root = root();
    let t = Instant::now();
    let d = load(Format::Ferplus, &root, &LoadOptions::default()).unwrap();
    eprintln!("loaded FER+ in {:.2?}", t.elapsed());
    for (split, n) in [(Split::Train, 28_558), (Split::Valid, 3_579), (Split::Test, 3_573)] {
        assert_eq!(counts(&d, split).0, n, "{split} PNGs");
    }
    // Train and valid: exactly the README table.
    for (split, classes, kept) in &README_TABLE[..2] {
        let (_, k, c) = counts(&d, *split);
        assert_eq!((k, c.as_slice()), (*kept, &classes[..]), "{split}");
    }
    // Test: the README table counts fer0033120.png as neutral; it is excluded here, so one neutral fewer.
    let (_, k, c) = counts(&d, Split::Test);
    assert_eq!(k, 3_152);
    assert_eq!(c, vec![1089, 893, 396, 384, 273, 18, 83, 16]);
    assert_eq!(d.report.excluded.len(), 1);
    let ex = &d.report.excluded[0];
    assert_eq!(ex.split, Split::Test);
    assert!(ex.source.ends_with("FER2013Test/fer0033120.png"), "{}", ex.source.display());
    assert!(ex.reason.contains("would be: neutral"), "{}", ex.reason);
    let test = d.split(Split::Test).unwrap();
    assert!(test.samples.iter().all(|s| !s.source.ends_with("fer0033120.png")));
    assert_eq!((test.height, test.width), (48, 48));
    assert_eq!(test.pixels.len(), 3_152 * 48 * 48);
    assert!(d.report.skipped.is_empty());
    assert!(d.report.missing_classes.is_empty());

    // Duplicates over all 35,710 PNGs, with the README's definitions.
    let s = d.report.duplicates.clone().unwrap();
    assert_eq!(s.indexed, 35_710);
    assert_eq!((s.groups, s.images), (1_513, 3_353));
    assert_eq!(s.cross_split_groups, 556);
    assert_eq!((s.train_valid, s.train_test, s.valid_test, s.all_three), (252, 261, 26, 17));
    // Group ids are shared across splits: some kept test image has its group in train too.
    let train_groups: std::collections::HashSet<u32> =
        d.split(Split::Train).unwrap().samples.iter().filter_map(|m| m.group).collect();
    assert!(test.samples.iter().any(|m| m.group.is_some_and(|g| train_groups.contains(&g))));
    assert_eq!(ferplus::KNOWN_BAD[0].1, "fer0033120.png");

    // The registry's expected counts and checksums hold for this copy.
    let entry = sgm_data::Registry::embedded().unwrap().require("ferplus").unwrap().clone();
    let checks: Vec<_> = entry.verify(&d).into_iter().chain(entry.verify_files(&root)).collect();
    assert_eq!(checks.len(), 13);
    for c in checks {
        assert!(c.ok, "{}: expected {}, found {}", c.what, c.expected, c.found);
    }
}

#[test]
#[ignore = "needs SGM_DATA_DIR"]
fn decode_speed_from_disk_and_from_the_cache() {
    let root = root();
    let o = LoadOptions { splits: Some(vec![Split::Train]), ..Default::default() };
    let t = Instant::now();
    let a = sgm_data::loaders::load_cached(Format::Ferplus, &root, &o).unwrap();
    let disk = t.elapsed();
    let t = Instant::now();
    let b = sgm_data::loaders::load_cached(Format::Ferplus, &root, &o).unwrap();
    let cached = t.elapsed();
    assert!(std::sync::Arc::ptr_eq(&a, &b), "the second load is served from the cache");
    assert_eq!(a.splits.len(), 1);
    // All 35,710 PNGs are decoded (the duplicate index needs every split); 25,057 train images are kept.
    let n = 35_710.0;
    eprintln!(
        "FER+ decode: {:.0} images/s from disk ({disk:.2?}; OS file cache state unknown), {:.0} images/s from the \
         in-memory cache ({cached:.2?})",
        n / disk.as_secs_f64(),
        n / cached.as_secs_f64().max(1e-9)
    );
}

#[test]
#[ignore = "needs SGM_DATA_DIR"]
fn original_fer2013_labels_of_the_ferplus_pngs() {
    let root = root();
    let mut o = LoadOptions::default();
    o.ferplus.label_source = FerPlusLabelSource::Fer2013Original;
    let d = load(Format::Ferplus, &root, &o).unwrap();
    // Counted independently from derived_fer2013_original_labels.csv (fer0033120.png excluded); the empty labels
    // are duplicates whose copies carry conflicting FER2013 labels.
    let expected = [
        (Split::Train, [4914, 7185, 3133, 4752, 3941, 431, 4027, 0], 175),
        (Split::Valid, [603, 891, 414, 652, 465, 56, 494, 0], 4),
        (Split::Test, [623, 876, 413, 587, 489, 55, 525, 0], 4),
    ];
    for (split, classes, unlabelled) in expected {
        let r = d.report.splits.iter().find(|r| r.split == split).unwrap();
        assert_eq!((r.class_counts.as_slice(), r.unlabelled), (&classes[..], unlabelled), "{split}");
    }
    assert_eq!(d.report.missing_classes.iter().map(|e| e.name()).collect::<Vec<_>>(), ["contempt"]);
}

#[test]
#[ignore = "needs SGM_DATA_DIR"]
fn the_two_vote_files_disagree_as_the_readme_says() {
    let root = root();
    let new = ferplus::read_votes(&root, FerPlusLabelSource::Fer2013New).unwrap();
    let csv = ferplus::read_votes(&root, FerPlusLabelSource::LabelCsv).unwrap();
    assert_eq!(new.len(), 35_710);
    assert_eq!(csv.len(), 35_710);
    let by_name: std::collections::HashMap<(Split, &str), &ferplus::Votes> =
        new.iter().map(|r| ((r.split, r.name.as_str()), &r.votes)).collect();
    let top = |v: &ferplus::Votes| (0..10).fold(0, |best, i| if v[i] > v[best] { i } else { best });
    let mut differ = std::collections::HashMap::new();
    for r in &csv {
        let other = by_name[&(r.split, r.name.as_str())];
        if *other != r.votes {
            let e = differ.entry(r.split).or_insert((0, 0));
            e.0 += 1;
            e.1 += usize::from(top(other) != top(&r.votes));
        }
    }
    // The data README says 1,073 / 246 / 283 rows differ and the top class changes on 194 / 38 / 50. Train and valid
    // agree exactly. For test, the README counts FER2013Test/fer0033120.png, whose name is listed twice in
    // fer2013new.csv, by its second row (not a face, 10 votes), which differs from label.csv; matching by name
    // with the first row (as label.csv does), it agrees with label.csv, so test has one row and one top-class
    // change fewer.
    assert_eq!(differ[&Split::Train], (1_073, 194));
    assert_eq!(differ[&Split::Valid], (246, 38));
    assert_eq!(differ[&Split::Test], (282, 49));
}

#[test]
#[ignore = "needs SGM_DATA_DIR"]
fn without_the_exclusion_the_readme_table_is_reproduced_exactly() {
    let root = root();
    let mut o = LoadOptions::default();
    o.ferplus.exclude_known_bad = false;
    let d = load(Format::Ferplus, &root, &o).unwrap();
    for (split, classes, kept) in README_TABLE {
        let (_, k, c) = counts(&d, split);
        assert_eq!((k, c.as_slice()), (kept, &classes[..]), "{split}");
    }
    assert!(d.report.excluded.is_empty());
}

#[test]
#[ignore = "needs SGM_DATA_DIR"]
fn label_csv_source_and_dropping_leaked_copies() {
    let root = root();
    let mut o = LoadOptions { drop_cross_split_duplicates: true, ..Default::default() };
    o.ferplus.label_source = FerPlusLabelSource::LabelCsv;
    let d = load(Format::Ferplus, &root, &o).unwrap();
    // label.csv votes differ from fer2013new.csv on some rows (data README): other kept counts.
    let (_, train_kept, _) = counts(&d, Split::Train);
    assert_ne!(train_kept, 25_057);
    let v = d.report.splits.iter().find(|r| r.split == Split::Valid).unwrap();
    let t = d.report.splits.iter().find(|r| r.split == Split::Test).unwrap();
    assert!(v.dropped_duplicates > 0 && t.dropped_duplicates > 0);
    assert_eq!(d.report.splits[0].dropped_duplicates, 0, "train keeps its copies");
    // No kept valid/test image shares its pixels with an image of an earlier split.
    let train: std::collections::HashSet<u32> =
        d.split(Split::Train).unwrap().samples.iter().filter_map(|m| m.group).collect();
    assert!(d.split(Split::Valid).unwrap().samples.iter().all(|m| m.group.is_none_or(|g| !train.contains(&g))));
}
