//! Properties of the synthetic expression-face set.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sgm_data::synth::{
    generate, render, write_image_folder, Actions, FaceParams, SynthConfig, EXPRESSION_NAMES, SUBCLASSES_PER_CLASS,
};
use sgm_data::{DataError, Split};

fn small(seed: u64) -> SynthConfig {
    SynthConfig { train_per_class: 20, valid_per_class: 5, test_per_class: 10, ..SynthConfig::small(0, seed) }
}

#[test]
fn split_sizes_labels_and_subclasses() {
    let cfg = small(4);
    for (split, per) in [(Split::Train, 20usize), (Split::Valid, 5), (Split::Test, 10)] {
        let set = generate(&cfg, split).unwrap();
        assert_eq!(set.len(), 8 * per);
        assert_eq!(set.split, split);
        assert_eq!((set.height, set.width), (48, 48));
        assert_eq!(set.pixels.len(), set.len() * 48 * 48);
        assert_eq!(set.class_names, EXPRESSION_NAMES.map(String::from).to_vec());
        assert_eq!(set.class_counts(), vec![per; 8]);
        for s in &set.samples {
            assert!(s.label < 8);
            assert!(s.subclass.unwrap() < SUBCLASSES_PER_CLASS as u32);
            assert!(s
                .source
                .to_string_lossy()
                .starts_with(&format!("{split}/{}/", EXPRESSION_NAMES[s.label as usize])));
        }
    }
    // Default weights 0.5/0.3/0.2: 10/6/4 of 20 in every class of train.
    let train = generate(&cfg, Split::Train).unwrap();
    for c in 0..8u32 {
        let mut n = [0usize; 3];
        for s in train.samples.iter().filter(|s| s.label == c) {
            n[s.subclass.unwrap() as usize] += 1;
        }
        assert_eq!(n, [10, 6, 4], "class {c}");
    }
    let all = generate(&cfg, Split::All).unwrap();
    assert_eq!(all.len(), 8 * 35);
}

#[test]
fn deterministic_per_seed_and_independent_of_thread_count() {
    let cfg = small(9);
    let a = generate(&cfg, Split::Test).unwrap();
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let b = one_thread.install(|| generate(&cfg, Split::Test)).unwrap();
    assert_eq!(a, b);
    let c = generate(&small(10), Split::Test).unwrap();
    assert_ne!(a.pixels, c.pixels);
    // Splits are different images, and a split does not depend on the other splits' sizes.
    let v = generate(&cfg, Split::Valid).unwrap();
    assert_ne!(a.image(0), v.image(0));
    let bigger_train = SynthConfig { train_per_class: 50, ..cfg.clone() };
    assert_eq!(generate(&bigger_train, Split::Test).unwrap().pixels, a.pixels);
}

#[test]
fn images_use_the_grey_range_and_vary() {
    let set = generate(&small(2), Split::Train).unwrap();
    let min = *set.pixels.iter().min().unwrap();
    let max = *set.pixels.iter().max().unwrap();
    assert!(min < 40 && max > 215, "range {min}..{max}");
    // No two images are identical.
    let mut imgs: Vec<&[u8]> = (0..set.len()).map(|i| set.image(i)).collect();
    imgs.sort();
    imgs.dedup();
    assert_eq!(imgs.len(), set.len());
}

#[test]
fn expressions_change_the_face_and_size_is_configurable() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for label in 1..8u32 {
        let p = FaceParams::sample(&mut rng, label, 0, 0.0).unwrap();
        let relaxed = FaceParams { actions: Actions::default(), ..p.clone() };
        let (a, b) = (render(&p, 48, 0.0, 0), render(&relaxed, 48, 0.0, 0));
        let changed = a.pixels().zip(b.pixels()).filter(|(x, y)| x.0[0].abs_diff(y.0[0]) > 10).count();
        assert!(changed >= 25, "{}: only {changed} pixels change", EXPRESSION_NAMES[label as usize]);
    }
    assert!(FaceParams::sample(&mut rng, 8, 0, 1.0).is_err());
    assert!(FaceParams::sample(&mut rng, 0, 3, 1.0).is_err());
    let cfg = SynthConfig { size: 64, ..small(1) };
    let set = generate(&cfg, Split::Valid).unwrap();
    assert_eq!((set.height, set.width, set.pixels.len()), (64, 64, 40 * 64 * 64));
}

/// Raw-pixel kNN (K = 11) is clearly better than chance and clearly imperfect: the set is neither trivial nor noise.
#[test]
fn raw_pixel_knn_is_above_chance_and_imperfect() {
    let cfg = SynthConfig { train_per_class: 120, valid_per_class: 0, test_per_class: 40, ..SynthConfig::small(0, 5) };
    let train = generate(&cfg, Split::Train).unwrap();
    let test = generate(&cfg, Split::Test).unwrap();
    let d = 48 * 48;
    let mut correct = 0;
    for q in 0..test.len() {
        let x = test.image(q);
        let mut dist: Vec<(u32, u32)> = (0..train.len())
            .map(|i| {
                let s = x.iter().zip(train.image(i)).map(|(&a, &b)| (a as i32 - b as i32).pow(2) as u32).sum::<u32>();
                (s, train.samples[i].label)
            })
            .collect();
        dist.sort_unstable();
        let mut votes = [0usize; 8];
        for &(_, l) in &dist[..11] {
            votes[l as usize] += 1;
        }
        let best = votes.iter().enumerate().max_by_key(|&(l, v)| (*v, std::cmp::Reverse(l))).unwrap().0;
        correct += usize::from(best as u32 == test.samples[q].label);
        let _ = d;
    }
    let acc = correct as f64 / test.len() as f64;
    assert!((0.25..0.85).contains(&acc), "raw-pixel kNN accuracy {acc}");
}

#[test]
fn image_folder_is_written_atomically_with_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("synth");
    let cfg = SynthConfig::small(2, 6);
    let summary = write_image_folder(&cfg, &out).unwrap();
    assert_eq!(summary.counts, vec![(Split::Train, 16), (Split::Valid, 16), (Split::Test, 16)]);
    let csv = std::fs::read_to_string(&summary.labels_csv).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("file,expression,subclass,subclass_name"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 48);
    for row in &rows {
        let cols: Vec<&str> = row.split(',').collect();
        let path = out.join(cols[0]);
        let img = image::open(&path).unwrap().into_luma8();
        assert_eq!(img.dimensions(), (48, 48));
        assert!(cols[0].contains(&format!("/{}/", cols[1])));
    }
    // The PNG holds exactly the in-memory pixels.
    let test = generate(&cfg, Split::Test).unwrap();
    let png = image::open(out.join(&test.samples[3].source)).unwrap().into_luma8();
    assert_eq!(png.as_raw().as_slice(), test.image(3));
    let saved: SynthConfig = toml::from_str(&std::fs::read_to_string(out.join("synth.toml")).unwrap()).unwrap();
    assert_eq!(saved, cfg, "synth.toml reproduces the set");
    // No temporary folder is left next to the output.
    let siblings: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(siblings.len(), 1);

    // A non-empty output is refused and left alone; an empty one is filled.
    match write_image_folder(&cfg, &out) {
        Err(DataError::Io { source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::AlreadyExists)
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert!(out.join("labels.csv").exists());
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    write_image_folder(&cfg, &empty).unwrap();
    assert!(empty.join("test/contempt").is_dir());
}

#[test]
fn invalid_config_is_rejected_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let cfg = SynthConfig { size: 4, ..SynthConfig::default() };
    assert!(matches!(generate(&cfg, Split::Train), Err(DataError::Config(_))));
    assert!(matches!(write_image_folder(&cfg, &out), Err(DataError::Config(_))));
    assert!(!out.exists());
}

#[test]
fn class_names_match_the_fer_plus_class_space() {
    assert_eq!(EXPRESSION_NAMES.map(String::from).to_vec(), sgm_data::classes::Expression::class_names());
}

/// What `sgm data synth` writes, the ImageFolder loader reads back: same pixels, labels and sub-classes.
#[test]
fn written_folder_round_trips_through_the_image_folder_loader() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("synth");
    let cfg = SynthConfig::small(3, 12);
    write_image_folder(&cfg, &out).unwrap();
    let loaded = sgm_data::load(sgm_data::Format::ImageFolder, &out, &sgm_data::LoadOptions::default()).unwrap();
    for split in [Split::Train, Split::Valid, Split::Test] {
        let mem = generate(&cfg, split).unwrap();
        let disk = loaded.split(split).unwrap();
        assert_eq!(disk.len(), mem.len());
        assert_eq!(disk.class_names, mem.class_names);
        let key = |s: &sgm_data::ImageSet, i: usize| {
            let name = s.samples[i].source.file_name().unwrap().to_string_lossy().into_owned();
            (name, s.samples[i].label, s.samples[i].subclass, s.image(i).to_vec())
        };
        let mut a: Vec<_> = (0..mem.len()).map(|i| key(&mem, i)).collect();
        let mut b: Vec<_> = (0..disk.len()).map(|i| key(disk, i)).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "{split}");
    }
}

/// The extremes of the configuration space render without panicking and keep their shape.
#[test]
fn extreme_configurations_render() {
    for (size, nuisance, noise_std) in [(16, 3.0, 64.0), (256, 3.0, 0.0), (33, 0.0, 0.0)] {
        let cfg = SynthConfig { size, nuisance, noise_std, ..SynthConfig::small(2, size as u64) };
        let set = generate(&cfg, Split::Valid).unwrap();
        assert_eq!(set.pixels.len(), 16 * size * size);
    }
}
