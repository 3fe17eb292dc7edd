//! ImageFolder loader on generated fixtures (PNG, JPEG, BMP, TIFF mixed).

use crate::common;

use common::{gray, save, save_rgb_jpeg, write};
use sgm_data::loaders::LoadOptions;
use sgm_data::{load, Format, Split};

#[test]
fn expression_folders_use_the_ferplus_order() {
    let dir = tempfile::tempdir().unwrap();
    save(&dir.path().join("happy/a.png"), &gray(8, 8, 1));
    save(&dir.path().join("angry/b.bmp"), &gray(8, 8, 2));
    save(&dir.path().join("angry/c.tiff"), &gray(8, 8, 3));
    save_rgb_jpeg(&dir.path().join("neutral/d.jpg"), 8, 8);
    write(&dir.path().join("neutral/notes.txt"), "ignored");
    let d = load(Format::ImageFolder, dir.path(), &LoadOptions::default()).unwrap();
    let all = d.split(Split::All).unwrap();
    assert_eq!(all.labels(), vec![4, 4, 1, 0]);
    assert_eq!(all.num_classes(), 8);
    assert_eq!(all.image(1), gray(8, 8, 3).as_raw().as_slice());
    assert_eq!(d.report.missing_classes.len(), 5);
}

#[test]
fn other_folders_are_sorted_classes_and_splits_are_found() {
    let dir = tempfile::tempdir().unwrap();
    save(&dir.path().join("train/cat/a.png"), &gray(8, 8, 1));
    save(&dir.path().join("train/dog/b.png"), &gray(8, 8, 2));
    save(&dir.path().join("test/dog/c.png"), &gray(8, 8, 3));
    save(&dir.path().join("val/bird/d.png"), &gray(8, 8, 4));
    let d = load(Format::ImageFolder, dir.path(), &LoadOptions::default()).unwrap();
    let splits: Vec<Split> = d.splits.iter().map(|s| s.split).collect();
    assert_eq!(splits, vec![Split::Train, Split::Valid, Split::Test]);
    assert_eq!(d.splits[0].class_names, vec!["bird", "cat", "dog"]);
    assert_eq!(d.split(Split::Train).unwrap().labels(), vec![1, 2]);
    assert_eq!(d.split(Split::Valid).unwrap().labels(), vec![0]);
    assert_eq!(d.split(Split::Test).unwrap().labels(), vec![2]);
    assert!(d.report.missing_classes.is_empty());
}

#[test]
fn unreadable_images_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    save(&dir.path().join("happy/a.png"), &gray(8, 8, 1));
    write(&dir.path().join("happy/broken.png"), "nope");
    let err = load(Format::ImageFolder, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("broken.png"), "{err}");
    let d = load(Format::ImageFolder, dir.path(), &LoadOptions { skip_bad: true, ..Default::default() }).unwrap();
    assert_eq!((d.splits[0].len(), d.report.skipped_count()), (1, 1));
    let empty = tempfile::tempdir().unwrap();
    assert!(load(Format::ImageFolder, empty.path(), &LoadOptions::default()).is_err());
    let bad = LoadOptions { size: Some([0, 5]), ..Default::default() };
    assert!(matches!(load(Format::ImageFolder, dir.path(), &bad), Err(sgm_data::DataError::Config(_))));
}

#[test]
fn labels_csv_sets_subclasses_and_the_cache_serves_repeats() {
    let dir = tempfile::tempdir().unwrap();
    save(&dir.path().join("train/happiness/t0.png"), &gray(8, 8, 1));
    save(&dir.path().join("train/happiness/t1.png"), &gray(8, 8, 2));
    save(&dir.path().join("test/fear/t2.png"), &gray(8, 8, 3));
    write(
        &dir.path().join("labels.csv"),
        "file,expression,subclass,subclass_name\ntrain/happiness/t0.png,1,2,child\ntest/fear/t2.png,6,0,adult\n",
    );
    let d = load(Format::ImageFolder, dir.path(), &LoadOptions::default()).unwrap();
    let train = d.split(Split::Train).unwrap();
    assert_eq!(train.samples.iter().map(|m| m.subclass).collect::<Vec<_>>(), vec![Some(2), None]);
    assert_eq!(d.split(Split::Test).unwrap().samples[0].subclass, Some(0));

    write(&dir.path().join("labels.csv"), "file,subclass\ntrain/happiness/t0.png,x\n");
    let err = load(Format::ImageFolder, dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("labels.csv:2:"), "{err}");

    std::fs::remove_file(dir.path().join("labels.csv")).unwrap();
    let a = sgm_data::loaders::load_cached(Format::ImageFolder, dir.path(), &LoadOptions::default()).unwrap();
    let b = sgm_data::loaders::load_cached(Format::ImageFolder, dir.path(), &LoadOptions::default()).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    let small = LoadOptions { size: Some([4, 4]), ..Default::default() };
    let c = sgm_data::loaders::load_cached(Format::ImageFolder, dir.path(), &small).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&a, &c), "other options, other entry");
    sgm_data::loaders::clear_cache();
    let d = sgm_data::loaders::load_cached(Format::ImageFolder, dir.path(), &LoadOptions::default()).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&a, &d));
    assert_eq!(a.splits[0].pixels, d.splits[0].pixels);
}

/// Collects the messages of the tracing events emitted on this thread, with their level.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<(tracing::Level, String)>>>);

impl tracing::Subscriber for Captured {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut m = Message(String::new());
        event.record(&mut m);
        self.0.lock().unwrap().push((*event.metadata().level(), m.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn wrong_size_and_colour_images_are_logged_once_per_size_counted_and_refused_when_strict() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..4 {
        save(&dir.path().join(format!("happy/g{i}.png")), &gray(48, 48, i));
    }
    save(&dir.path().join("happy/big1.png"), &gray(64, 64, 1));
    save(&dir.path().join("angry/big2.png"), &gray(64, 64, 2));
    save_rgb_jpeg(&dir.path().join("angry/rgb.jpg"), 48, 48);
    let opts = LoadOptions { size: Some([48, 48]), ..Default::default() };
    let captured = Captured::default();
    let d =
        tracing::subscriber::with_default(captured.clone(), || load(Format::ImageFolder, dir.path(), &opts)).unwrap();
    assert_eq!(d.split(Split::All).unwrap().len(), 7, "without --strict-size they are resized and kept");
    let sizes: Vec<(u32, u32, bool, usize, bool)> =
        d.report.native_sizes.iter().map(|n| (n.width, n.height, n.colour, n.count, n.converted)).collect();
    assert_eq!(sizes, vec![(48, 48, false, 4, false), (48, 48, true, 1, true), (64, 64, false, 2, true)]);
    let warnings: Vec<String> = captured
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(level, _)| *level == tracing::Level::WARN)
        .map(|(_, m)| m.clone())
        .collect();
    assert_eq!(warnings.len(), 2, "one warning per distinct size or colour: {warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("2 images of 64x64") && w.contains("resized to 48x48")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("1 colour image of 48x48") && w.contains("gray")), "{warnings:?}");

    let strict = LoadOptions { strict_size: true, ..opts.clone() };
    let err = load(Format::ImageFolder, dir.path(), &strict).unwrap_err().to_string();
    assert!(err.contains("--strict-size") && (err.contains("big2.png") || err.contains("rgb.jpg")), "{err}");
    let skipping = LoadOptions { strict_size: true, skip_bad: true, ..opts };
    let d = load(Format::ImageFolder, dir.path(), &skipping).unwrap();
    assert_eq!(d.split(Split::All).unwrap().len(), 4);
    assert_eq!(d.report.skipped_count(), 3);
}
