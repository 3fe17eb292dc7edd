//! `sgm subclasses` (Algorithm 2) end to end on a tiny synthetic set: it runs both splitting variants and writes
//! well-formed per-level outputs. A ResNet18 at 32×32 with one channel and batches of 2 per sub-class keeps it to
//! seconds; the NMI numbers of such a run are not meaningful, only their presence and range are checked.

use sgm_models::BackboneKind;
use sgm_train::train::{LossKind, Trainer};
use std::path::Path;

fn starting_checkpoint(path: &Path) {
    let mut cfg = sgm_train::train::TrainConfig {
        loss: LossKind::Sgm,
        samples_per_class: 2,
        eval_batch_size: 120,
        ..Default::default()
    };
    cfg.model.backbone = BackboneKind::ResNet18;
    cfg.model.input_size = 32;
    cfg.augment = sgm_data::augment::AugmentConfig::none();
    Trainer::new(cfg, candle_core::Device::Cpu).unwrap().save_weights(path, serde_json::json!({})).unwrap();
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| l.split(',').map(str::to_string).collect()).collect()
}

fn run(ck: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec!["sgm", "subclasses", "--checkpoint", ck.to_str().unwrap(), "--data", "synth"];
    args.extend(["--synth-per-class", "30", "--levels", "2", "--epochs-per-level", "1"]);
    args.extend(["--samples-per-subclass", "2", "--batches-per-epoch", "1", "--out", out.to_str().unwrap()]);
    args.extend(extra);
    sgm_cli::run(args).unwrap();
}

#[test]
fn both_variants_write_assignments_sizes_models_and_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("start.safetensors");
    starting_checkpoint(&ck);

    // GMM: min(30/10, k) components, k = 2 then 3.
    let gmm = dir.path().join("gmm");
    run(&ck, &gmm, &["--split", "gmm"]);
    for (level, per_class) in [(1, 2), (2, 3)] {
        let rows = read_csv(&gmm.join(format!("level-{level}/assignment.csv")));
        assert_eq!(rows[0], ["index", "file", "class", "subclass"]);
        assert_eq!(rows.len(), 1 + 8 * 30);
        let sizes = read_csv(&gmm.join(format!("level-{level}/sizes.csv")));
        assert_eq!(sizes.len(), 1 + 8 * per_class, "level {level}");
        let total: usize = sizes[1..].iter().map(|r| r[3].parse::<usize>().unwrap()).sum();
        assert_eq!(total, 240);
        // Contiguous ids 0..K, ordered by class.
        let ids: Vec<usize> = sizes[1..].iter().map(|r| r[0].parse().unwrap()).collect();
        assert_eq!(ids, (0..8 * per_class).collect::<Vec<_>>());
        let classes: Vec<u32> = sizes[1..].iter().map(|r| r[1].parse().unwrap()).collect();
        assert!(classes.windows(2).all(|w| w[0] <= w[1]));
        assert!(gmm.join(format!("level-{level}/model.safetensors")).is_file());
    }
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(gmm.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["levels"].as_array().unwrap().len(), 2);
    for key in ["discovered", "final_embedding", "plain_sgm_baseline", "untrained_baseline"] {
        let v = report["nmi"][key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    // A level's model is a checkpoint that `sgm embed` reads back.
    let emb = dir.path().join("level2.safetensors");
    let model = gmm.join("level-2/model.safetensors");
    sgm_cli::run(
        ["sgm", "embed", "--checkpoint", model.to_str().unwrap(), "--data", "synth", "--synth-per-class", "30"]
            .into_iter()
            .chain(["--out", emb.to_str().unwrap()]),
    )
    .unwrap();
    assert!(emb.is_file());

    // Binary k-means: level 1 halves every class of 30; level 2 splits only the halves of at least --min-size 20.
    let binary = dir.path().join("binary");
    run(&ck, &binary, &["--split", "binary-kmeans", "--min-size", "20"]);
    let level1 = read_csv(&binary.join("level-1/sizes.csv"));
    assert_eq!(level1.len(), 1 + 16);
    let large = level1[1..].iter().filter(|r| r[3].parse::<usize>().unwrap() >= 20).count();
    assert_eq!(read_csv(&binary.join("level-2/sizes.csv")).len(), 1 + 16 + large);
}
