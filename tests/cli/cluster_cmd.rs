//! `sgm cluster` end to end, in-process, on a small formula data set.

use crate::common::write_embeddings;

fn blobs() -> (Vec<f32>, Vec<u32>) {
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for i in 0..120 {
        let g = i % 3;
        for j in 0..4 {
            x.push(6.0 * g as f32 * ((j % 2) as f32 - 0.5) + g as f32 * 3.0 + ((i * (j + 1)) as f32 * 0.9).sin());
        }
        labels.push(g as u32);
    }
    (x, labels)
}

#[test]
fn cluster_writes_groups_with_medoids_for_both_methods() {
    let dir = tempfile::tempdir().unwrap();
    let (x, labels) = blobs();
    let emb = dir.path().join("emb.safetensors");
    write_embeddings(&emb, &x, 120, 4, &labels);
    for method in ["gmm", "kmeans"] {
        let out = dir.path().join(method);
        let args = ["sgm", "cluster", "--embeddings", emb.to_str().unwrap(), "--groups", "3", "--method", method];
        let mut args: Vec<&str> = args.to_vec();
        args.extend(["--top", "5", "--out", out.to_str().unwrap()]);
        sgm_cli::run(args).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("groups.json")).unwrap()).unwrap();
        let groups = json["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 3, "{method}");
        assert_eq!(groups.iter().map(|g| g["size"].as_u64().unwrap()).sum::<u64>(), 120);
        for g in groups {
            assert_eq!(g["purity"].as_f64(), Some(1.0), "{method}: the blobs are separable");
            assert_eq!(g["top"][0], g["medoid"]);
            assert_eq!(g["top"].as_array().unwrap().len(), 5);
        }
        let csv = std::fs::read_to_string(out.join("groups.csv")).unwrap();
        assert_eq!(csv.lines().count(), 1 + 3 * 5);
        let assignments = std::fs::read_to_string(out.join("assignments.csv")).unwrap();
        assert_eq!(assignments.lines().count(), 121);
    }
    // Errors name the file.
    let err = sgm_cli::run(["sgm", "cluster", "--embeddings", "missing.npy", "--out", "x"]).unwrap_err();
    assert!(format!("{err:#}").contains("missing.npy"), "{err:#}");
    let too_many = ["sgm", "cluster", "--embeddings", emb.to_str().unwrap(), "--groups", "500", "--out", "x"];
    assert!(format!("{:#}", sgm_cli::run(too_many).unwrap_err()).contains("emb.safetensors"));
}

#[test]
fn tsne_writes_one_row_per_point_with_labels() {
    let dir = tempfile::tempdir().unwrap();
    let (x, labels) = blobs();
    let emb = dir.path().join("emb.safetensors");
    write_embeddings(&emb, &x, 120, 4, &labels);
    let out = dir.path().join("tsne.csv");
    let args = ["sgm", "tsne", "--embeddings", emb.to_str().unwrap(), "--epochs", "100", "--max-points", "100"];
    sgm_cli::run(args.into_iter().chain(["--out", out.to_str().unwrap()])).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0], ["index", "x", "y", "label"]);
    assert_eq!(rows.len(), 101, "the first --max-points points");
    for (i, r) in rows[1..].iter().enumerate() {
        assert_eq!(r[0].parse::<usize>().unwrap(), i);
        assert!(r[1].parse::<f32>().unwrap().is_finite() && r[2].parse::<f32>().unwrap().is_finite());
        assert_eq!(r[3].parse::<u32>().unwrap(), labels[i]);
    }
}

#[test]
fn sheets_draw_each_groups_top_images_with_the_medoid_framed() {
    let dir = tempfile::tempdir().unwrap();
    // The synthetic test split with --synth-per-class 30 has 5 images per class, 40 in all; embeddings from a
    // formula stand in for a model's.
    let labels: Vec<u32> = (0..40).map(|i| i / 5).collect();
    let x: Vec<f32> =
        (0..40).flat_map(|i| [(i / 5) as f32 * 10.0 + (i as f32).sin(), (i as f32 * 0.7).cos()]).collect();
    let emb = dir.path().join("emb.safetensors");
    write_embeddings(&emb, &x, 40, 2, &labels);
    let groups = dir.path().join("groups");
    let args = ["sgm", "cluster", "--embeddings", emb.to_str().unwrap(), "--groups", "8", "--method", "kmeans"];
    sgm_cli::run(args.into_iter().chain(["--top", "4", "--out", groups.to_str().unwrap()])).unwrap();
    let sheets = dir.path().join("sheets");
    let json = groups.join("groups.json");
    let args = ["sgm", "sheets", "--groups", json.to_str().unwrap(), "--data", "synth", "--synth-per-class", "30"];
    sgm_cli::run(args.into_iter().chain(["--columns", "2", "--out", sheets.to_str().unwrap()])).unwrap();
    let mut names: Vec<String> =
        std::fs::read_dir(&sheets).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names.len(), 8, "{names:?}");
    assert!(
        names.iter().all(|n| n.starts_with("group-") && n.contains("-n5-") && n.ends_with("-p100.png")),
        "{names:?}"
    );
    let img = sgm_data::image_io::decode_luma(&sheets.join(&names[0])).unwrap();
    // 2 × 2 images of 48 px with 2 px gaps; the medoid's frame is white.
    assert_eq!(img.dimensions(), (2 * 50 + 2, 2 * 50 + 2));
    assert_eq!(img.get_pixel(1, 1).0, [255]);
    assert_eq!(img.get_pixel(50, 20).0, [255]);
    // A groups file for another split is refused, naming the file.
    let args = ["sgm", "sheets", "--groups", json.to_str().unwrap(), "--data", "synth", "--synth-per-class", "60"];
    let err = sgm_cli::run(args.into_iter().chain(["--out", sheets.to_str().unwrap()])).unwrap_err();
    assert!(format!("{err:#}").contains("groups.json"), "{err:#}");
}

#[test]
fn audit_ranks_planted_flips_first() {
    let dir = tempfile::tempdir().unwrap();
    let (x, mut labels) = blobs();
    for i in [5usize, 40, 61] {
        labels[i] = (labels[i] + 1) % 3; // one flip per blob
    }
    let emb = dir.path().join("emb.safetensors");
    write_embeddings(&emb, &x, 120, 4, &labels);
    let out = dir.path().join("audit");
    let args = ["sgm", "audit", "--embeddings", emb.to_str().unwrap(), "--k", "11", "--top", "10"];
    sgm_cli::run(args.into_iter().chain(["--out", out.to_str().unwrap()])).unwrap();
    let text = std::fs::read_to_string(out.join("audit.csv")).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 10);
    let mut top: Vec<usize> = rows[..3].iter().map(|r| r[1].parse().unwrap()).collect();
    top.sort_unstable();
    assert_eq!(top, [5, 40, 61]);
    assert!(rows[..3].iter().all(|r| r[6].parse::<f64>().unwrap() > 0.5), "{rows:?}");
    assert!(rows[3..].iter().all(|r| r[6].parse::<f64>().unwrap() < 0.5), "{rows:?}");
    // Neither a checkpoint nor embeddings: a usage error.
    assert!(sgm_cli::run(["sgm", "audit", "--out", "x"]).is_err());
}

#[test]
fn max_iter_zero_is_refused_naming_max_iter_not_n_init() {
    let dir = tempfile::tempdir().unwrap();
    let (x, labels) = blobs();
    let emb = dir.path().join("emb.safetensors");
    write_embeddings(&emb, &x, 120, 4, &labels);
    let out = dir.path().join("groups");
    let args =
        ["sgm", "cluster", "--embeddings", emb.to_str().unwrap(), "--max-iter", "0", "--out", out.to_str().unwrap()];
    let err = format!("{:#}", sgm_cli::run(args).unwrap_err());
    assert!(err.contains("--max-iter") && !err.contains("n_init"), "{err}");
    // The library says the same.
    let cfg =
        sgm_cluster::GmmConfig { max_iter: 0, ..sgm_cluster::GmmConfig::new(3, sgm_cluster::CovarianceType::Full, 1) };
    let err = cfg.validate().unwrap_err().to_string();
    assert!(err.contains("max_iter must be at least 1") && !err.contains("n_init"), "{err}");
}
