//! The user's path end to end, in-process: `sgm train` on the synthetic set, `sgm embed` of two splits, `sgm eval`
//! of those embeddings; and a damaged checkpoint refused by `sgm embed`.

use crate::common::sgm;

use std::path::Path;

const TINY: &[&str] = &[
    "--synth-per-class",
    "6",
    "--backbone",
    "fmpnet",
    "--size",
    "24",
    "--channels",
    "1",
    "--epochs",
    "1",
    "--samples-per-class",
    "2",
    "--batches-per-epoch",
    "1",
];

fn train(out: &Path) {
    let mut args = vec!["train", "--out", out.to_str().unwrap()];
    args.extend_from_slice(TINY);
    sgm(&args).unwrap();
}

#[test]
fn train_embed_eval() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train(&run);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("test_report.json")).unwrap()).unwrap();
    for key in ["accuracy", "precision", "recall", "f1"] {
        assert!(report["knn"][key].as_f64().is_some_and(|v| (0.0..=1.0).contains(&v)), "knn.{key}");
    }
    assert!(report["clustering"]["nmi"].is_f64());

    // An exported model embeds like the checkpoint it came from.
    let model = dir.path().join("model.safetensors");
    sgm(&[
        "export",
        "--checkpoint",
        run.join("resume.safetensors").to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ])
    .unwrap();
    let ck = model;
    let (tr, te) = (dir.path().join("train.safetensors"), dir.path().join("test.npy"));
    let common = ["--checkpoint", ck.to_str().unwrap(), "--synth-per-class", "6"];
    sgm(&[&["embed"][..], &common, &["--split", "train", "--out", tr.to_str().unwrap()]].concat()).unwrap();
    sgm(&[&["embed"][..], &common, &["--split", "test", "--out", te.to_str().unwrap()]].concat()).unwrap();
    assert!(dir.path().join("test.labels.npy").is_file());
    let labels = dir.path().join("test.labels.npy");
    sgm(&[
        "eval",
        "--train",
        tr.to_str().unwrap(),
        "--test",
        te.to_str().unwrap(),
        "--test-labels",
        labels.to_str().unwrap(),
        "--k",
        "3",
    ])
    .unwrap();

    // A second `sgm train` into the same folder is refused; --resume with more epochs continues it.
    let mut again = vec!["train", "--out", run.to_str().unwrap()];
    again.extend_from_slice(TINY);
    let err = format!("{:#}", sgm(&again).unwrap_err());
    assert!(err.contains("--resume"), "{err}");
    let mut resume = again.clone();
    let epochs = resume.iter().position(|a| *a == "--epochs").unwrap() + 1;
    resume[epochs] = "2";
    resume.extend(["--resume", "--no-test"]);
    sgm(&resume).unwrap();
    let log = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 2);
}

#[test]
fn embed_refuses_a_truncated_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train(&run);
    let bytes = std::fs::read(run.join("best.safetensors")).unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let out = dir.path().join("e.safetensors");
    let err = format!(
        "{:#}",
        sgm(&["embed", "--checkpoint", cut.to_str().unwrap(), "--out", out.to_str().unwrap()]).unwrap_err()
    );
    assert!(err.contains("cut.safetensors") && err.contains("truncated or corrupt"), "{err}");
    assert!(!out.exists());
}

#[test]
fn duplicate_groups_cover_every_image() {
    let mut set = sgm_data::generate_synth(&sgm_data::SynthConfig::small(2, 1), sgm_data::Split::Test).unwrap();
    assert_eq!(set.duplicate_groups(), None, "no duplicate index: no groups");
    set.samples[0].group = Some(4);
    set.samples[3].group = Some(4);
    let g = set.duplicate_groups().unwrap();
    assert_eq!(g.len(), set.len());
    assert_eq!(g[0], g[3], "grouped copies share their id");
    let mut others: Vec<u32> = g.iter().enumerate().filter(|(i, _)| *i != 0 && *i != 3).map(|(_, &x)| x).collect();
    others.sort_unstable();
    others.dedup();
    assert_eq!(others.len(), set.len() - 2, "every other image is alone in its group");
    assert!(!others.contains(&4));
}

fn err_of(args: &[&str]) -> String {
    format!("{:#}", sgm(args).unwrap_err())
}

#[test]
fn results_commands_refuse_to_overwrite_a_checkpoint_or_write_inside_a_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train(&run);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let best = s(&run.join("best.safetensors"));
    let resume = run.join("resume.safetensors");
    let before = std::fs::read(&resume).unwrap();
    // The issue's case: embeddings written over the run's resume checkpoint.
    let err = err_of(&["embed", "--checkpoint", &best, "--synth-per-class", "6", "--out", &s(&resume)]);
    assert!(err.contains("resume.safetensors: is an sgm checkpoint") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&resume).unwrap(), before, "the checkpoint is untouched");
    let inside = s(&run.join("test.npy"));
    let err = err_of(&["embed", "--checkpoint", &best, "--synth-per-class", "6", "--out", &inside]);
    assert!(err.contains("lies inside the run directory"), "{err}");
    // export, cluster, tsne and reproduce refuse the same outputs before reading anything.
    let model = s(&dir.path().join("model.safetensors"));
    let err = err_of(&["export", "--checkpoint", &best, "--out", &s(&run.join("last.safetensors"))]);
    assert!(err.contains("is an sgm checkpoint"), "{err}");
    let err = err_of(&["cluster", "--embeddings", "x.npy", "--out", &s(&run.join("groups"))]);
    assert!(err.contains("lies inside the run directory"), "{err}");
    let err = err_of(&["tsne", "--embeddings", "x.npy", "--out", &best]);
    assert!(err.contains("is an sgm checkpoint"), "{err}");
    let err = err_of(&["reproduce", "--quick", "--out", &s(&run)]);
    assert!(err.contains("is a run directory"), "{err}");
    // Elsewhere, or with --force, they write.
    sgm(&["export", "--checkpoint", &best, "--out", &model]).unwrap();
    let forced = s(&run.join("forced.safetensors"));
    sgm(&["embed", "--checkpoint", &model, "--synth-per-class", "6", "--out", &forced, "--force"]).unwrap();
    assert!(run.join("forced.safetensors").is_file());
}

#[test]
fn an_embedding_dim_too_large_to_allocate_is_refused_with_a_message_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut args = vec!["train", "--out", out.to_str().unwrap(), "--embedding-dim", "4000000000"];
    args.extend_from_slice(TINY);
    let err = err_of(&args);
    assert!(err.contains("embedding_dim 4000000000") && err.contains("more than this machine can allocate"), "{err}");
    // The same value from a TOML configuration.
    let config = dir.path().join("train.toml");
    std::fs::write(&config, "[model]\nembedding_dim = 4000000000\n").unwrap();
    let mut args = vec!["train", "--out", out.to_str().unwrap(), "--config", config.to_str().unwrap()];
    args.extend_from_slice(&TINY[..2]);
    let err = err_of(&args);
    assert!(err.contains("embedding_dim 4000000000"), "{err}");
    assert!(!out.exists(), "no empty run directory is left");
}

#[test]
fn overwrite_with_no_test_leaves_no_stale_test_report() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    train(&run);
    assert!(run.join("test_report.json").is_file());
    let mut args = vec!["train", "--out", run.to_str().unwrap(), "--overwrite", "--no-test"];
    args.extend_from_slice(TINY);
    sgm(&args).unwrap();
    assert!(!run.join("test_report.json").exists(), "the old run's test report sits next to the new checkpoints");
    assert!(run.join("best.safetensors").is_file());
}

#[test]
fn resume_into_a_directory_with_no_run_fails_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("runz");
    let mut args = vec!["train", "--out", typo.to_str().unwrap(), "--resume"];
    args.extend_from_slice(TINY);
    let err = err_of(&args);
    assert!(err.contains("holds no training run to resume") && err.contains("leave out --resume"), "{err}");
    assert!(!typo.join("best.safetensors").exists());
}

#[test]
fn an_out_that_is_a_file_or_a_symlink_loop_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, b"mine").unwrap();
    let mut args = vec!["train", "--out", file.to_str().unwrap()];
    args.extend_from_slice(TINY);
    let err = err_of(&args);
    assert!(err.contains("notes.txt: exists and is not a directory"), "{err}");
    assert!(!err.contains("os error 17"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"mine");
    #[cfg(unix)]
    {
        let looped = dir.path().join("loop");
        std::os::unix::fs::symlink(&looped, &looped).unwrap();
        let mut args = vec!["train", "--out", looped.to_str().unwrap()];
        args.extend_from_slice(TINY);
        let err = err_of(&args);
        assert!(err.contains("symbolic link that leads nowhere"), "{err}");
        let out = dir.path().join("e.safetensors");
        let err = err_of(&["embed", "--weights", looped.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        assert!(err.contains("symbolic link that leads nowhere") && !err.contains("no such weights file"), "{err}");
    }
}

#[test]
fn a_half_precision_run_on_the_cpu_is_refused_before_the_run_directory_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let err = sgm(&[&["train", "--dtype", "bf16", "--out", out.to_str().unwrap()][..], TINY].concat()).unwrap_err();
    assert!(format!("{err:#}").contains("precision bf16: a bf16/f16 forward needs a GPU"), "{err:#}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn a_softmax_run_reports_its_argmax_plain_and_prior_corrected_and_can_train_on_shuffled_passes() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    // The calibration classifier's recipe: shuffled passes, one-cycle stepped per batch, flip and padded crop.
    let mut args = vec!["train", "--out", run.to_str().unwrap(), "--loss", "softmax", "--softmax-sampler", "shuffled"];
    args.extend_from_slice(TINY);
    args.extend_from_slice(&["--batch-size", "16", "--schedule", "one-cycle", "--schedule-step", "batch"]);
    args.extend_from_slice(&["--augment", "flip-crop", "--lr", "0.002"]);
    sgm(&args).unwrap();
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    // `--recipe calibration` is exactly those flags.
    let recipe = dir.path().join("recipe");
    let mut args = vec!["train", "--out", recipe.to_str().unwrap(), "--recipe", "calibration"];
    args.extend_from_slice(TINY);
    args.extend_from_slice(&["--batch-size", "16"]);
    sgm(&args).unwrap();
    assert_eq!(std::fs::read_to_string(recipe.join("config.toml")).unwrap(), config);
    assert!(config.contains("softmax_sampler = \"shuffled\""), "{config}");
    assert!(config.contains("schedule_step = \"batch\"") && config.contains("pad_crop = 4"), "{config}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("test_report.json")).unwrap()).unwrap();
    for side in ["plain", "prior_corrected"] {
        for key in ["accuracy", "precision", "recall", "f1"] {
            let v = report["argmax"][side][key].as_f64();
            assert!(v.is_some_and(|v| (0.0..=1.0).contains(&v)), "argmax.{side}.{key}: {v:?}");
        }
    }
    // An SGM run has no argmax section (its model is the embedding), and a default config names no sampler.
    let sgm_run = dir.path().join("sgm");
    train(&sgm_run);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sgm_run.join("test_report.json")).unwrap()).unwrap();
    assert!(report.get("argmax").is_none());
    let config = std::fs::read_to_string(sgm_run.join("config.toml")).unwrap();
    assert!(!config.contains("softmax_sampler") && !config.contains("schedule_step"), "{config}");
    // `--recipe cpu-fast` adds a cross-entropy term to SGM; the baselines trained by the recipe drop it, and all
    // three draw the same shuffled passes (the CNN too, not the paper's class-balanced draws).
    for (loss, head) in [("sgm", true), ("triplet", false), ("softmax", true)] {
        let out = dir.path().join(format!("cpu-fast-{loss}"));
        let mut args =
            vec!["train", "--out", out.to_str().unwrap(), "--recipe", "cpu-fast", "--loss", loss, "--no-test"];
        args.extend_from_slice(TINY);
        args.extend_from_slice(&["--batch-size", "16"]);
        sgm(&args).unwrap();
        let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
        let ce = if loss == "sgm" { "ce_weight = 1.0" } else { "ce_weight = 0.0" };
        assert!(config.contains(ce) && config.contains("metric_sampler = \"shuffled\""), "{loss}: {config}");
        assert!(config.contains("softmax_sampler = \"shuffled\""), "{loss}: {config}");
        assert_eq!(config.contains("num_classes = 8"), head, "{loss}: {config}");
        assert!(config.contains("eval_flip = true"), "the recipe scores with the test-time flip: {config}");
        assert!(config.contains("decoupled_weight_decay = true"), "the recipe trains with AdamW's decay: {config}");
        // Its triplet network mines batch-all on the unit sphere at margin 0.2; the other two keep the raw embedding.
        let unit = ["miner = \"batch-all\"", "margin = 0.2", "normalize_embedding = true"];
        for line in unit {
            assert_eq!(config.contains(line), loss == "triplet", "{loss}, {line}: {config}");
        }
    }
    // The flags still override the triplet baseline: the authors' random triplets on the raw embedding.
    let out = dir.path().join("cpu-fast-random");
    let mut args = vec!["train", "--out", out.to_str().unwrap(), "--recipe", "cpu-fast", "--loss", "triplet"];
    args.extend_from_slice(&["--miner", "random", "--normalize-embedding=false", "--margin", "1", "--no-test"]);
    args.extend_from_slice(TINY);
    sgm(&args).unwrap();
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(!config.contains("miner") && !config.contains("normalize_embedding"), "{config}");
    assert!(config.contains("margin = 1.0"), "{config}");
    let bad = dir.path().join("bad-miner");
    let err = sgm(&[&["train", "--miner", "hardest", "--out", bad.to_str().unwrap()][..], TINY].concat()).unwrap_err();
    assert!(format!("{err:#}").contains("expected random, all-valid, batch-all"), "{err:#}");
    // An unknown augmentation is named with the ones there are, before anything is written.
    let bad = dir.path().join("bad");
    let err = sgm(&[&["train", "--augment", "heavy", "--out", bad.to_str().unwrap()][..], TINY].concat()).unwrap_err();
    assert!(format!("{err:#}").contains("unknown augmentation 'heavy'"), "{err:#}");
    assert!(!bad.exists());
}

#[test]
fn triplet_margin_and_unit_embeddings_reach_the_config_and_the_embeddings() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("unit");
    let mut args = vec!["train", "--out", run.to_str().unwrap(), "--no-test"];
    args.extend_from_slice(TINY);
    args.extend_from_slice(&["--loss", "triplet", "--miner", "batch-hard", "--margin", "0.2", "--normalize-embedding"]);
    sgm(&args).unwrap();
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(config.contains("margin = 0.2") && config.contains("normalize_embedding = true"), "{config}");
    // The model keeps the setting: it is in the checkpoint's metadata, which `sgm embed` builds the model from.
    let best = std::fs::read(run.join("best.safetensors")).unwrap();
    let header = String::from_utf8_lossy(&best[..best.len().min(1 << 16)]).into_owned();
    assert!(header.contains(r#"normalize_embedding\":true"#), "{header}");
    // The distances logged for the mined triplets are between unit vectors: at most 2.
    let log = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    let an = first["train_an_distance"].as_f64().unwrap();
    assert!(an > 0.0 && an <= 2.0 + 1e-6, "{first}");
    let bad = dir.path().join("bad");
    let args = [&["train", "--out", bad.to_str().unwrap(), "--loss", "triplet", "--margin=-1"][..], TINY].concat();
    let err = format!("{:#}", sgm(&args).unwrap_err());
    assert!(err.contains("margin"), "{err}");
    assert!(!bad.exists(), "nothing written");
}

#[test]
fn weight_decay_flags_reach_the_optimiser_and_a_negative_decay_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("adamw");
    let mut args = vec!["train", "--out", run.to_str().unwrap(), "--no-test"];
    args.extend_from_slice(TINY);
    args.extend_from_slice(&["--weight-decay", "0.05", "--decoupled-weight-decay"]);
    sgm(&args).unwrap();
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(config.contains("weight_decay = 0.05") && config.contains("decoupled_weight_decay = true"), "{config}");
    let bad = dir.path().join("bad");
    let args = [&["train", "--out", bad.to_str().unwrap(), "--weight-decay=-1"][..], TINY].concat();
    let err = format!("{:#}", sgm(&args).unwrap_err());
    assert!(err.contains("weight_decay ≥ 0"), "{err}");
    assert!(!bad.exists(), "nothing written");
}
