//! `sgm plot`, `sgm retrieve` and `sgm summarize` end to end, in-process, on the synthetic set with a tiny model:
//! the pictures exist and decode, retrieval finds the query's own copy first, the album summary picks n distinct
//! medoids ordered by group size. Photos: faces are detected by default (several per photo, photos without one
//! listed, bad files refused or skipped) in `summarize`, `retrieve` and `embed --photos`; with `SGM_DATA_DIR`, on
//! composed photos of FER+ faces.

use crate::common::sgm;

use sgm_models::BackboneKind;
use sgm_train::train::{LossKind, TrainConfig, Trainer};
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn png_size(path: &Path) -> (u32, u32) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (img.width(), img.height())
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// An untrained FMPNet checkpoint at 24 × 24, one channel: embeddings in a fraction of a second.
fn tiny_checkpoint(path: &Path) {
    let mut cfg = TrainConfig { loss: LossKind::Sgm, samples_per_class: 2, eval_batch_size: 64, ..Default::default() };
    cfg.model.backbone = BackboneKind::FmpNet;
    cfg.model.input_size = 24;
    cfg.model.in_channels = 1;
    cfg.augment = sgm_data::augment::AugmentConfig::none();
    Trainer::new(cfg, candle_core::Device::Cpu).unwrap().save_weights(path, serde_json::json!({})).unwrap();
}

/// The synthetic set as `--data synth --synth-per-class 30` loads it (test split: 5 images per class).
fn synth_test() -> sgm_data::ImageSet {
    let cfg =
        sgm_data::SynthConfig { train_per_class: 30, valid_per_class: 5, test_per_class: 5, ..Default::default() };
    sgm_data::generate_synth(&cfg, sgm_data::Split::Test).unwrap()
}

fn write_gray_png(path: &Path, w: u32, h: u32, pixels: Vec<u8>) {
    image::GrayImage::from_raw(w, h, pixels).unwrap().save(path).unwrap();
}

#[test]
fn plot_draws_a_runs_curves_its_test_report_and_a_tsne_map() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("tiny");
    let tiny = ["--synth-per-class", "6", "--backbone", "fmpnet", "--size", "24", "--channels", "1"];
    let mut args = vec!["train", "--out", s(&run), "--epochs", "2", "--samples-per-class", "2"];
    args.extend(["--batches-per-epoch", "1"]);
    args.extend(tiny);
    sgm(&args).unwrap();

    // Training curves, default output in the run folder.
    sgm(&["plot", s(&run)]).unwrap();
    assert_eq!(png_size(&run.join("curves.png")), (800, 600));
    let out = dir.path().join("small.png");
    sgm(&["plot", "training", s(&run), "--out", s(&out), "--width", "640", "--height", "480"]).unwrap();
    assert_eq!(png_size(&out), (640, 480));

    // The test report carries the new F1-against-K curve; its K = 11 point is the report's F1.
    let report = json(&run.join("test_report.json"));
    let f1_by_k = report["knn"]["f1_by_k"].as_object().expect("knn.f1_by_k");
    assert!(f1_by_k.len() >= 5, "{f1_by_k:?}");
    assert_eq!(f1_by_k["11"].as_f64(), report["knn"]["f1"].as_f64());
    sgm(&["plot", "report", s(&run.join("test_report.json"))]).unwrap();
    for name in ["test_report-retrieval.png", "test_report-f1.png", "test_report-confusion.png"] {
        assert_eq!(png_size(&run.join(name)), (800, 600), "{name}");
    }
    // Two reports, one of them from before f1_by_k existed: one curve each, one confusion matrix each.
    let mut old = report.clone();
    old["knn"].as_object_mut().unwrap().remove("f1_by_k");
    let old_path = dir.path().join("old.json");
    std::fs::write(&old_path, serde_json::to_vec(&old).unwrap()).unwrap();
    let cmp = dir.path().join("cmp");
    let new_path = run.join("test_report.json");
    sgm(&["plot", "report", s(&new_path), s(&old_path), "--names", "new,old", "--out-dir", s(&cmp)]).unwrap();
    for name in ["retrieval", "f1", "confusion-1", "confusion-2"] {
        assert!(cmp.join(format!("test_report-{name}.png")).is_file(), "{name}");
    }

    // A t-SNE CSV as `sgm tsne` writes it, plus a sub-class column.
    let csv = dir.path().join("tsne.csv");
    let mut text = String::from("index,x,y,label,subclass\n");
    for i in 0..60 {
        text += &format!("{i},{},{},{},{}\n", (i % 4) as f32 * 3.0 + (i as f32).sin(), (i as f32).cos(), i % 4, i % 2);
    }
    std::fs::write(&csv, text).unwrap();
    sgm(&["plot", "tsne", "--csv", s(&csv)]).unwrap();
    assert_eq!(png_size(&csv.with_extension("png")), (800, 600));

    // Errors name the file and line.
    std::fs::write(&csv, "index,x,y,label\n0,1,2,0\n1,oops,2,0\n").unwrap();
    let err = format!("{:#}", sgm(&["plot", "tsne", "--csv", s(&csv)]).unwrap_err());
    assert!(err.contains("tsne.csv:3") && err.contains("oops"), "{err}");
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("metrics.jsonl"), "{\"epoch\":1,\"train_loss\":1.0}\nnot json\n").unwrap();
    let err = format!("{:#}", sgm(&["plot", s(&broken)]).unwrap_err());
    assert!(err.contains("metrics.jsonl:2"), "{err}");
    let err = format!("{:#}", sgm(&["plot", "report", s(&dir.path().join("missing.json"))]).unwrap_err());
    assert!(err.contains("missing.json"), "{err}");
}

#[test]
fn retrieve_finds_the_querys_own_copy_first() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck.safetensors");
    tiny_checkpoint(&ck);
    let index = dir.path().join("index.safetensors");
    let data = ["--data", "synth", "--synth-per-class", "30", "--split", "test"];
    sgm(&[&["embed", "--checkpoint", s(&ck), "--out", s(&index)][..], &data].concat()).unwrap();
    let set = synth_test();
    for q in [3usize, 22] {
        let query = dir.path().join(format!("query-{q}.png"));
        write_gray_png(&query, set.width as u32, set.height as u32, set.image(q).to_vec());
        let out = dir.path().join(format!("result-{q}.png"));
        let args = ["retrieve", "--checkpoint", s(&ck), "--index", s(&index), "--query", s(&query), "--k", "5"];
        sgm(&[&args[..], &data, &["--no-detect", "--out", s(&out)]].concat()).unwrap();
        let (w, h) = png_size(&out);
        assert!(w > 6 * 112 && h > 112, "six tiles in a row: {w}x{h}");
        let r = json(&out.with_extension("json"));
        let hits = r["results"].as_array().unwrap();
        assert_eq!(hits.len(), 5);
        assert_eq!(hits[0]["index"].as_u64(), Some(q as u64), "the query's own copy comes first: {hits:?}");
        assert!(hits[0]["distance"].as_f64().unwrap() < 1e-3, "{hits:?}");
        let d: Vec<f64> = hits.iter().map(|h| h["distance"].as_f64().unwrap()).collect();
        assert!(d.windows(2).all(|w| w[0] <= w[1]), "nearest first: {d:?}");
        for h in hits {
            let i = h["index"].as_u64().unwrap() as usize;
            assert_eq!(h["label"].as_u64(), Some(u64::from(set.samples[i].label)));
        }
    }
    // A query that is not an image, and an index of another split, are refused naming the file.
    let bad = dir.path().join("notes.png");
    std::fs::write(&bad, "not an image").unwrap();
    let args = ["retrieve", "--checkpoint", s(&ck), "--index", s(&index), "--query", s(&bad)];
    let err = format!("{:#}", sgm(&[&args[..], &data, &["--out", s(&dir.path().join("x.png"))]].concat()).unwrap_err());
    assert!(err.contains("notes.png"), "{err}");
    let mut other = data.to_vec();
    other[3] = "60"; // 10 test images per class: not the 40 of the index
    let good = dir.path().join("query-3.png");
    let args = ["retrieve", "--checkpoint", s(&ck), "--index", s(&index), "--query", s(&good), "--no-detect"];
    let err =
        format!("{:#}", sgm(&[&args[..], &other, &["--out", s(&dir.path().join("x.png"))]].concat()).unwrap_err());
    assert!(err.contains("index.safetensors") && err.contains("40 embeddings") && err.contains("80 images"), "{err}");
}

/// An album of the synthetic test split's first `n` images at assorted sizes, as PNG files.
fn album(dir: &Path, n: usize) -> Vec<PathBuf> {
    let set = synth_test();
    std::fs::create_dir_all(dir).unwrap();
    (0..n)
        .map(|i| {
            let img = image::GrayImage::from_raw(set.width as u32, set.height as u32, set.image(i).to_vec()).unwrap();
            let side = [48u32, 64, 37, 100][i % 4];
            let img =
                image::imageops::resize(&img, side, side + (i as u32 % 3) * 5, image::imageops::FilterType::Triangle);
            let path = dir.join(format!("face-{i:02}.png"));
            img.save(&path).unwrap();
            path
        })
        .collect()
}

#[test]
fn summarize_picks_n_distinct_medoids_ordered_by_group_size() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck.safetensors");
    tiny_checkpoint(&ck);
    let photos = dir.path().join("photos");
    album(&photos, 24);
    std::fs::write(photos.join("broken.png"), b"\x89PNG truncated").unwrap();
    std::fs::write(photos.join("notes.txt"), "not an image, not read").unwrap();
    let out = dir.path().join("summary.png");
    let emb = dir.path().join("album.safetensors");
    let base =
        ["summarize", "--checkpoint", s(&ck), "--album", s(&photos), "--n", "4", "--no-detect", "--out", s(&out)];

    // A corrupt image stops the run, naming the file; --skip-bad skips and counts it.
    let err = format!("{:#}", sgm(&base).unwrap_err());
    assert!(err.contains("broken.png") && err.contains("--skip-bad"), "{err}");
    assert!(!out.exists());
    sgm(&[&base[..], &["--skip-bad", "--embeddings", s(&emb)]].concat()).unwrap();
    let (w, h) = png_size(&out);
    assert!(w >= 4 * 112 && h > 112, "{w}x{h}");
    let summary = json(&out.with_extension("json"));
    assert_eq!(summary["skipped"].as_array().unwrap().len(), 1);
    assert!(summary["skipped"][0].as_str().unwrap().contains("broken.png"));
    let files: Vec<String> =
        summary["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_string()).collect();
    assert_eq!(files.len(), 24);
    let reps = summary["representatives"].as_array().unwrap();
    assert_eq!(reps.len(), 4);
    let chosen: std::collections::BTreeSet<&str> = reps.iter().map(|r| r["file"].as_str().unwrap()).collect();
    assert_eq!(chosen.len(), 4, "distinct files");
    let sizes: Vec<u64> = reps.iter().map(|r| r["group_size"].as_u64().unwrap()).collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "largest group first: {sizes:?}");
    assert_eq!(sizes.iter().sum::<u64>(), 24);

    // Each representative is the member of its group nearest the group's mean, in the model's embedding.
    let e = crate::common::read_embeddings(&emb);
    let row = |f: &str| e.row(files.iter().position(|x| x == f).unwrap()).to_vec();
    for r in reps {
        let members: Vec<&str> = r["members"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
        assert_eq!(members.len() as u64, r["group_size"].as_u64().unwrap());
        let mut mean = vec![0f64; e.dim()];
        for m in &members {
            mean.iter_mut().zip(row(m)).for_each(|(a, v)| *a += f64::from(v) / members.len() as f64);
        }
        let dist = |f: &str| row(f).iter().zip(&mean).map(|(&v, m)| (f64::from(v) - m).powi(2)).sum::<f64>();
        let medoid = r["file"].as_str().unwrap();
        assert!(members.contains(&medoid));
        for m in &members {
            assert!(dist(medoid) <= dist(m) + 1e-9, "{medoid} is not nearer the mean than {m}");
        }
    }
    // The same run again chooses the same files (seeded).
    let again = dir.path().join("again.png");
    sgm(&[&base[..7], &["--no-detect", "--skip-bad", "--out", s(&again)]].concat()).unwrap();
    assert_eq!(json(&again.with_extension("json"))["representatives"], summary["representatives"]);

    // --crop: boxes are validated with file and line.
    let crop = dir.path().join("faces.txt");
    let with_crop = |text: &str| {
        std::fs::write(&crop, text).unwrap();
        sgm(&[&base[..], &["--skip-bad", "--crop", s(&crop)]].concat())
    };
    with_crop("# file x y w h\nface-00.png 4 4 40 40\n\nface-01.png 0 0 30 30\n").unwrap();
    let err = format!("{:#}", with_crop("face-00.png 4 4 40\n").unwrap_err());
    assert!(err.contains("faces.txt:1") && err.contains("file x y w h"), "{err}");
    let err = format!("{:#}", with_crop("face-00.png 1 1 10 10\nface-01.png 1 -1 10 10\n").unwrap_err());
    assert!(err.contains("faces.txt:2") && err.contains("'-1'"), "{err}");
    let err = format!("{:#}", with_crop("face-00.png 40 40 30 30\n").unwrap_err());
    assert!(err.contains("faces.txt:1") && err.contains("face-00.png") && err.contains("does not fit"), "{err}");
    let err = format!("{:#}", with_crop("face-99.png 0 0 5 5\n").unwrap_err());
    assert!(err.contains("faces.txt:1") && err.contains("face-99.png"), "{err}");

    // More groups than images is refused.
    let err = format!(
        "{:#}",
        sgm(&[&base[..5], &["--n", "30", "--no-detect", "--skip-bad", "--out", s(&out)]].concat()).unwrap_err()
    );
    assert!(err.contains("24 readable images for 30 groups"), "{err}");
}

/// Photos without faces (textured canvases) and with: detection is the default, and an album or a query
/// without a face says so; `embed --photos --no-detect` keeps one row per readable file and skips bad ones.
#[test]
fn photos_without_faces_are_counted_and_bad_files_refused_or_skipped() {
    use sgm_data::faces::compose::textured_canvas;
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck.safetensors");
    tiny_checkpoint(&ck);
    let photos = dir.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    for (i, (w, h)) in [(640u32, 480u32), (480, 640), (800, 600)].into_iter().enumerate() {
        textured_canvas(w, h, i as u64).save(photos.join(format!("canvas-{i}.jpg"))).unwrap();
    }
    let out = dir.path().join("summary.png");
    let base = ["summarize", "--checkpoint", s(&ck), "--album", s(&photos), "--n", "2", "--out", s(&out)];
    let err = format!("{:#}", sgm(&base).unwrap_err());
    assert!(err.contains("0 faces found in 3 photos") && err.contains("3 photos without a face"), "{err}");
    let err = format!("{:#}", sgm(&[&base[..], &["--min-face", "10"]].concat()).unwrap_err());
    assert!(err.contains("min_face_size"), "options are validated: {err}");

    // A query photo without a face is refused, naming it and the way out.
    let index = dir.path().join("index.safetensors");
    let data = ["--data", "synth", "--synth-per-class", "30", "--split", "test"];
    sgm(&[&["embed", "--checkpoint", s(&ck), "--out", s(&index)][..], &data].concat()).unwrap();
    let query = photos.join("canvas-0.jpg");
    let args = ["retrieve", "--checkpoint", s(&ck), "--index", s(&index), "--query", s(&query)];
    let err = format!("{:#}", sgm(&[&args[..], &data, &["--out", s(&dir.path().join("r.png"))]].concat()).unwrap_err());
    assert!(err.contains("canvas-0.jpg") && err.contains("no face found") && err.contains("--no-detect"), "{err}");

    // embed --photos: no face anywhere is an error; --no-detect embeds every readable file; bad files are refused
    // (named) or skipped and listed.
    let emb = dir.path().join("photos.safetensors");
    let embed = ["embed", "--checkpoint", s(&ck), "--photos", s(&photos), "--out", s(&emb)];
    let err = format!("{:#}", sgm(&embed).unwrap_err());
    assert!(err.contains("no face found in 3 photos"), "{err}");
    std::fs::write(photos.join("broken.jpg"), b"\xFF\xD8 truncated").unwrap();
    let err = format!("{:#}", sgm(&[&embed[..], &["--no-detect"]].concat()).unwrap_err());
    assert!(err.contains("broken.jpg") && err.contains("--skip-bad"), "{err}");
    sgm(&[&embed[..], &["--no-detect", "--skip-bad"]].concat()).unwrap();
    let e = crate::common::read_embeddings(&emb);
    assert_eq!(e.rows(), 3);
    assert_eq!(crate::common::read_labels(&emb, "labels"), vec![0, 1, 2], "a row's label is its photo");
    let side = json(&dir.path().join("photos.faces.json"));
    assert_eq!(side["photos"].as_array().unwrap().len(), 3);
    assert_eq!(side["faces"][1]["photo"], "canvas-1.jpg");
    assert!(side["faces"][1]["box"].is_null() && side["detector"].is_null());
    assert!(side["skipped"][0].as_str().unwrap().contains("broken.jpg"));
}

/// The FER2013Test faces of `$SGM_DATA_DIR` (the first `n`, without the known non-face).
fn ferplus_faces(n: usize) -> Vec<image::GrayImage> {
    let dir = crate::common::data_dir().join("ferplus/data/FER2013Test");
    let mut files = sgm_data::faces::photo_files(&dir).unwrap();
    files.retain(|p| !p.ends_with("fer0033120.png"));
    files.iter().take(n).map(|p| sgm_data::image_io::decode_luma(p).unwrap()).collect()
}

/// Done when: `sgm summarize --album DIR` on a folder of ordinary photos, of several sizes and with several faces
/// each, writes a sheet of representatives, each from a detected face.
#[test]
#[ignore = "needs SGM_DATA_DIR"]
fn summarize_embed_and_retrieve_detect_the_faces_of_composed_photos() {
    use sgm_data::faces::compose::{compose_album, textured_canvas, AlbumSpec};
    let faces = ferplus_faces(60);
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck.safetensors");
    tiny_checkpoint(&ck);
    let photos = dir.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    let sizes = vec![(640, 480), (1024, 768), (480, 640), (1600, 1200)];
    let spec = AlbumSpec { photos: 8, faces_per_photo: (2, 4), sizes, face_fraction: (0.2, 0.28), seed: 3 };
    let album = compose_album(&faces, &spec).unwrap();
    let mut pasted = std::collections::BTreeMap::new();
    for (i, p) in album.iter().enumerate() {
        let name = format!("photo-{i}.{}", ["jpg", "png"][i % 2]);
        image::DynamicImage::ImageLuma8(p.image.clone()).to_rgb8().save(photos.join(&name)).unwrap();
        pasted.insert(name, p.faces.clone());
    }
    textured_canvas(800, 600, 99).save(photos.join("empty.jpg")).unwrap();
    std::fs::write(photos.join("zz-broken.png"), b"\x89PNG truncated").unwrap();

    let out = dir.path().join("summary.png");
    let base = ["summarize", "--checkpoint", s(&ck), "--album", s(&photos), "--n", "5", "--out", s(&out)];
    let err = format!("{:#}", sgm(&base).unwrap_err());
    assert!(err.contains("zz-broken.png") && err.contains("--skip-bad"), "{err}");
    sgm(&[&base[..], &["--skip-bad"]].concat()).unwrap();
    let (w, h) = png_size(&out);
    assert!(w >= 5 * 112 && h > 112, "{w}x{h}");
    let summary = json(&out.with_extension("json"));
    assert_eq!(summary["photos"], 9);
    assert_eq!(summary["photos_without_faces"], serde_json::json!(["empty.jpg"]));
    assert!(summary["skipped"][0].as_str().unwrap().contains("zz-broken.png"));
    let found = summary["faces"].as_array().unwrap();
    let truth: usize = pasted.values().map(Vec::len).sum();
    println!("{} faces found of {truth} pasted", found.len());
    assert!(found.len() * 10 >= truth * 8, "{} of {truth}", found.len());
    // Every face found lies on a pasted face, most of them framed as the pasted crop (IoU ≥ 0.5).
    let margin = summary["detector"]["margin"].as_f64().unwrap() as f32;
    let mut framed_well = 0;
    for f in found {
        let b: sgm_data::faces::FaceBox = serde_json::from_value(f["box"].clone()).unwrap();
        let framed = sgm_data::faces::margin_box(b, margin);
        let best = pasted[f["photo"].as_str().unwrap()].iter().map(|t| t.iou(&framed)).fold(0.0, f64::max);
        assert!(best >= 0.25, "{f}: IoU {best:.2}");
        framed_well += usize::from(best >= 0.5);
    }
    assert!(framed_well * 10 >= found.len() * 8, "{framed_well} of {} with IoU ≥ 0.5", found.len());
    let several = found.iter().filter(|f| f["name"].as_str().unwrap().contains('#')).count();
    assert!(several >= found.len() / 2, "photos with several faces name them #k");
    let reps = summary["representatives"].as_array().unwrap();
    assert_eq!(reps.len(), 5);
    for r in reps {
        assert!(r["box"].is_object() && r["score"].as_f64().unwrap() > 0.0, "{r}");
        assert!(pasted.contains_key(r["photo"].as_str().unwrap()), "{r}");
    }

    // embed --photos: one row per face, boxes in the sidecar, labels = photo index.
    let emb = dir.path().join("album.npy");
    sgm(&["embed", "--checkpoint", s(&ck), "--photos", s(&photos), "--skip-bad", "--out", s(&emb)]).unwrap();
    let e = crate::common::read_embeddings(&emb);
    assert_eq!(e.rows(), found.len());
    let side = json(&dir.path().join("album.faces.json"));
    assert_eq!(side["faces"].as_array().unwrap().len(), found.len());
    let labels = crate::common::read_labels(&dir.path().join("album.labels.npy"), "labels");
    for (row, f) in side["faces"].as_array().unwrap().iter().enumerate() {
        assert_eq!(side["photos"][labels[row] as usize], f["photo"]);
    }

    // retrieve --query PHOTO: the best-scoring face of the photo is the query.
    let index = dir.path().join("index.safetensors");
    let data = ["--data", "synth", "--synth-per-class", "30", "--split", "test"];
    sgm(&[&["embed", "--checkpoint", s(&ck), "--out", s(&index)][..], &data].concat()).unwrap();
    let query = photos.join("photo-0.jpg");
    let r_out = dir.path().join("result.png");
    let args = ["retrieve", "--checkpoint", s(&ck), "--index", s(&index), "--query", s(&query), "--k", "3"];
    sgm(&[&args[..], &data, &["--out", s(&r_out)]].concat()).unwrap();
    let r = json(&r_out.with_extension("json"));
    assert!(r["faces_in_query"].as_u64().unwrap() >= 1 && r["query_box"].is_object(), "{r}");
    assert_eq!(r["results"].as_array().unwrap().len(), 3);
}
