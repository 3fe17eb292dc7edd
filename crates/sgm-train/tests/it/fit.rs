//! Whole training runs on a tiny synthetic set: the run directory, resuming, refusing to clobber a run, divergence,
//! and the three losses.

use sgm_core::Miner;
use sgm_data::{ImageSet, Split, SynthConfig};
use sgm_models::BackboneKind;
use sgm_train::checkpoint;
use sgm_train::train::{fit, Existing, FitOptions, LossKind, TrainConfig, Trainer};
use std::path::Path;

fn sets() -> (ImageSet, ImageSet) {
    let cfg = SynthConfig::small(6, 3);
    (sgm_data::generate_synth(&cfg, Split::Train).unwrap(), sgm_data::generate_synth(&cfg, Split::Valid).unwrap())
}

/// FMPNet at 24×24, batches of 2 images × 8 classes, 2 batches per epoch: seconds, not minutes.
fn tiny(loss: LossKind, epochs: usize) -> TrainConfig {
    let mut cfg =
        TrainConfig { loss, epochs, samples_per_class: 2, batches_per_epoch: Some(2), ..TrainConfig::default() };
    cfg.model.backbone = BackboneKind::FmpNet;
    cfg.model.in_channels = 1;
    cfg.model.input_size = 24;
    cfg.batch_size = 16;
    cfg.triplets_per_epoch = 16;
    cfg.triplets_per_batch = 8;
    cfg.eval_batch_size = 32;
    cfg.validation.train_subset = Some(24);
    cfg.validation.k = 3;
    cfg.checkpoint_every = 2;
    if loss == LossKind::Softmax {
        cfg.model.num_classes = Some(8);
    }
    cfg
}

fn run(cfg: TrainConfig, out: &Path, existing: Existing) -> sgm_train::Result<sgm_train::train::FitSummary> {
    let (train, valid) = sets();
    fit(cfg, &train, Some(&valid), out, FitOptions { existing, ..FitOptions::default() })
}

fn weights(path: &Path) -> Vec<(String, Vec<f32>)> {
    let ck = checkpoint::load(path, &candle_core::Device::Cpu).unwrap();
    let mut v: Vec<_> = ck
        .tensors
        .iter()
        .filter(|(n, _)| !n.starts_with("optim/"))
        .map(|(n, t)| (n.clone(), t.flatten_all().unwrap().to_vec1::<f32>().unwrap()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn a_run_leaves_a_complete_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run(tiny(LossKind::Sgm, 2), dir.path(), Existing::Refuse).unwrap();
    assert_eq!(summary.records.len(), 2);
    assert!(summary.records.iter().all(|r| r.train_loss.is_finite() && r.val_knn_accuracy.is_some()));
    for f in [
        "config.toml",
        "metrics.jsonl",
        "metrics.csv",
        "last.safetensors",
        "best.safetensors",
        "resume.safetensors",
        "epoch-002.safetensors",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let jsonl = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    assert_eq!(jsonl.lines().count(), 2);
    let csv = std::fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "header + 2 epochs");
    // The stored configuration reads back as the one that ran.
    let back = TrainConfig::from_toml_file(&dir.path().join("config.toml")).unwrap();
    assert_eq!(back, tiny(LossKind::Sgm, 2));
    // The checkpoint rebuilds the model, and its embeddings are finite and deterministic.
    let (_, valid) = sets();
    let mut t = Trainer::new(back, candle_core::Device::Cpu).unwrap();
    t.load(&dir.path().join("best.safetensors"), false).unwrap();
    let (a, _) = t.embed(&valid).unwrap();
    let (b, _) = t.embed(&valid).unwrap();
    assert_eq!(a, b);
    assert_eq!((a.rows(), a.dim()), (valid.len(), 64));
}

#[test]
fn resuming_gives_the_same_weights_as_an_uninterrupted_run() {
    let whole = tempfile::tempdir().unwrap();
    run(tiny(LossKind::Sgm, 2), whole.path(), Existing::Refuse).unwrap();

    let split = tempfile::tempdir().unwrap();
    run(tiny(LossKind::Sgm, 1), split.path(), Existing::Refuse).unwrap();
    let resumed = run(tiny(LossKind::Sgm, 2), split.path(), Existing::Resume).unwrap();
    assert_eq!(resumed.resumed_from, 1);
    assert_eq!(resumed.records.len(), 1);

    assert_eq!(weights(&whole.path().join("last.safetensors")), weights(&split.path().join("last.safetensors")));
    let log = std::fs::read_to_string(split.path().join("metrics.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 2, "one line per epoch across the two calls");
}

#[test]
fn an_existing_run_is_refused_resumed_only_with_the_same_config_or_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    run(tiny(LossKind::Sgm, 1), dir.path(), Existing::Refuse).unwrap();
    let err = run(tiny(LossKind::Sgm, 1), dir.path(), Existing::Refuse).unwrap_err().to_string();
    assert!(err.contains("already holds a training run") && err.contains("--resume"), "{err}");

    let mut other = tiny(LossKind::Sgm, 2);
    other.optimizer.lr = 1e-3;
    let err = run(other, dir.path(), Existing::Resume).unwrap_err().to_string();
    assert!(err.contains("differs from the run's in optimizer"), "{err}");

    let summary = run(tiny(LossKind::Sgm, 1), dir.path(), Existing::Overwrite).unwrap();
    assert_eq!(summary.resumed_from, 0);
    let log = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 1);
}

#[test]
fn a_diverging_loss_stops_the_run_with_its_epoch_and_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = tiny(LossKind::Sgm, 1);
    cfg.sgm.sigma = 1e-200; // every logit is -inf: the posterior is NaN
    let err = run(cfg, dir.path(), Existing::Refuse).unwrap_err().to_string();
    assert!(err.contains("diverged at epoch 1, step 1") && err.contains("the loss is not finite"), "{err}");
    assert!(!dir.path().join("last.safetensors").exists(), "nothing half-trained is saved");
}

#[test]
fn triplet_softmax_and_mined_runs_train() {
    for (loss, miner) in
        [(LossKind::Triplet, None), (LossKind::Triplet, Some(Miner::BatchHard)), (LossKind::Softmax, None)]
    {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = tiny(loss, 1);
        cfg.miner = miner;
        let summary = run(cfg, dir.path(), Existing::Refuse).unwrap();
        let r = &summary.records[0];
        assert!(r.train_loss.is_finite(), "{loss} {miner:?}");
        assert_eq!(r.val_top1.is_some(), loss == LossKind::Softmax);
    }
}

#[test]
fn triplet_runs_log_their_distances_random_or_mined() {
    for miner in [None, Some(Miner::SemiHard), Some(Miner::BatchHard), Some(Miner::BatchAll)] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = tiny(LossKind::Triplet, 1);
        cfg.miner = miner;
        let summary = run(cfg, dir.path(), Existing::Refuse).unwrap();
        let r = &summary.records[0];
        let (ap, an) = (r.train_ap_distance.unwrap(), r.train_an_distance.unwrap());
        assert!(ap.is_finite() && an.is_finite() && ap > 0.0 && an > 0.0, "{miner:?}: {ap} {an}");
        let active = r.train_active_triplets.unwrap();
        assert!(active > 0.0 && active <= 1.0, "{miner:?}: {active}");
        let line = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
        assert!(line.contains("\"train_ap_distance\"") && line.contains("\"train_an_distance\""), "{line}");
        assert!(line.contains("\"train_active_triplets\""), "{line}");
    }
    // Other losses write no distance fields.
    let dir = tempfile::tempdir().unwrap();
    run(tiny(LossKind::Sgm, 1), dir.path(), Existing::Refuse).unwrap();
    let line = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    assert!(!line.contains("distance") && !line.contains("active"), "{line}");
}

#[test]
fn sgm_with_a_cross_entropy_term_trains_its_head_and_selects_by_knn() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = tiny(LossKind::Sgm, 1);
    cfg.ce_weight = 1.0;
    cfg.model.num_classes = Some(8);
    let summary = run(cfg.clone(), dir.path(), Existing::Refuse).unwrap();
    let r = &summary.records[0];
    assert!(r.val_top1.is_none() && r.val_knn_accuracy.is_some(), "SGM runs select by kNN, head or not");
    // The head moved from its seeded initialisation: the cross-entropy term reached it.
    let trained = checkpoint::load(&dir.path().join("last.safetensors"), &candle_core::Device::Cpu).unwrap();
    let fresh = Trainer::new(cfg.clone(), candle_core::Device::Cpu).unwrap();
    let init = fresh.weights().into_iter().find(|(n, _)| n == "head.weight").unwrap().1;
    let moved = (&trained.tensors["head.weight"] - init).unwrap().abs().unwrap().max_all().unwrap();
    assert!(moved.to_scalar::<f32>().unwrap() > 0.0);
    // A head is required, and the term belongs to the SGM loss only.
    let mut bad = cfg.clone();
    bad.model.num_classes = None;
    assert!(bad.validate().unwrap_err().to_string().contains("needs a class head"));
    let mut bad = cfg;
    bad.loss = LossKind::Triplet;
    assert!(bad.validate().unwrap_err().to_string().contains("SGM loss"));
}

#[test]
fn invalid_configurations_are_rejected_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = tiny(LossKind::Softmax, 1);
    cfg.model.num_classes = None;
    let err = run(cfg, dir.path(), Existing::Refuse).unwrap_err().to_string();
    assert!(err.contains("needs a class head"), "{err}");
    let err =
        run(TrainConfig { epochs: 0, ..tiny(LossKind::Sgm, 1) }, dir.path(), Existing::Refuse).unwrap_err().to_string();
    assert!(err.contains("epochs must be at least 1"), "{err}");
}

#[test]
fn the_time_budget_stops_at_an_epoch_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let (train, valid) = sets();
    // A budget far below one epoch: the first epoch always runs, then the run stops cleanly.
    let opts = FitOptions { max_minutes: Some(1e-6), ..FitOptions::default() };
    let summary = fit(tiny(LossKind::Sgm, 3), &train, Some(&valid), dir.path(), opts).unwrap();
    assert!(summary.out_of_time);
    assert_eq!(summary.records.len(), 1);
    assert!(dir.path().join("best.safetensors").is_file() && dir.path().join("resume.safetensors").is_file());
    let fresh = tempfile::tempdir().unwrap();
    let bad = FitOptions { max_minutes: Some(-1.0), ..FitOptions::default() };
    let err = fit(tiny(LossKind::Sgm, 1), &train, Some(&valid), fresh.path(), bad).unwrap_err().to_string();
    assert!(err.contains("max_minutes must be positive"), "{err}");
}

#[test]
fn export_drops_the_optimiser_and_keeps_the_model() {
    let dir = tempfile::tempdir().unwrap();
    run(tiny(LossKind::Sgm, 1), dir.path(), Existing::Refuse).unwrap();
    let out = dir.path().join("model.safetensors");
    let summary = sgm_train::train::export(&dir.path().join("resume.safetensors"), &out).unwrap();
    assert!(summary.dropped > 0 && summary.tensors > 0);
    assert_eq!(weights(&out), weights(&dir.path().join("last.safetensors")));
    let ck = checkpoint::load(&out, &candle_core::Device::Cpu).unwrap();
    assert!(ck.tensors.keys().all(|n| !n.starts_with("optim/")));
    // The export rebuilds the same model.
    let (_, valid) = sets();
    let mut a = Trainer::new(tiny(LossKind::Sgm, 1), candle_core::Device::Cpu).unwrap();
    a.load(&out, false).unwrap();
    let mut b = Trainer::new(tiny(LossKind::Sgm, 1), candle_core::Device::Cpu).unwrap();
    b.load(&dir.path().join("last.safetensors"), false).unwrap();
    assert_eq!(a.embed(&valid).unwrap().0, b.embed(&valid).unwrap().0);
    // A foreign checkpoint is refused.
    let foreign = dir.path().join("foreign.safetensors");
    checkpoint::save(&foreign, &[], &serde_json::json!({})).unwrap();
    let err = sgm_train::train::export(&foreign, &out).unwrap_err().to_string();
    assert!(err.contains("not a model checkpoint"), "{err}");
}

/// The PID of a process that has ended.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn resume_on_a_directory_without_a_run_fails_with_a_hint_and_trains_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("typo");
    let err = run(tiny(LossKind::Sgm, 1), &out, Existing::Resume).unwrap_err().to_string();
    assert!(err.contains("typo holds no training run to resume") && err.contains("leave out --resume"), "{err}");
    assert!(!out.join("last.safetensors").exists() && !out.join("metrics.jsonl").exists());
    // `ResumeIfAny` (sgm reproduce) starts a run there instead.
    let summary = run(tiny(LossKind::Sgm, 1), &out, Existing::ResumeIfAny).unwrap();
    assert_eq!((summary.resumed_from, summary.records.len()), (0, 1));
    // Checkpoints without resume.safetensors cannot be resumed, and are not deleted by trying.
    std::fs::remove_file(out.join("resume.safetensors")).unwrap();
    let err = run(tiny(LossKind::Sgm, 2), &out, Existing::Resume).unwrap_err().to_string();
    assert!(err.contains("no resume.safetensors") && err.contains("--overwrite"), "{err}");
    assert!(out.join("best.safetensors").is_file());
    // A run killed in its first epoch (its configuration only) starts again from the beginning.
    let first = dir.path().join("first");
    std::fs::create_dir(&first).unwrap();
    std::fs::write(first.join("config.toml"), tiny(LossKind::Sgm, 1).to_toml().unwrap()).unwrap();
    let summary = run(tiny(LossKind::Sgm, 1), &first, Existing::Resume).unwrap();
    assert_eq!((summary.resumed_from, summary.records.len()), (0, 1));
}

#[test]
fn a_corrupt_best_checkpoint_is_found_before_the_first_step_of_a_resumed_run() {
    let dir = tempfile::tempdir().unwrap();
    run(tiny(LossKind::Sgm, 1), dir.path(), Existing::Refuse).unwrap();
    let best = dir.path().join("best.safetensors");
    let mut bytes = std::fs::read(&best).unwrap();
    let at = bytes.len() - 5;
    bytes[at] ^= 0x40;
    std::fs::write(&best, &bytes).unwrap();
    let last_before = std::fs::read(dir.path().join("last.safetensors")).unwrap();
    let err = run(tiny(LossKind::Sgm, 2), dir.path(), Existing::Resume).unwrap_err().to_string();
    assert!(err.contains("best.safetensors") && err.contains("checksum mismatch"), "{err}");
    assert!(err.contains("nothing was trained") && err.contains("--overwrite"), "{err}");
    let log = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 1, "no epoch was trained");
    assert_eq!(std::fs::read(dir.path().join("last.safetensors")).unwrap(), last_before);
    // A missing last checkpoint is found the same way.
    std::fs::write(&best, std::fs::read(dir.path().join("last.safetensors")).unwrap()).unwrap();
    std::fs::remove_file(dir.path().join("last.safetensors")).unwrap();
    let err = run(tiny(LossKind::Sgm, 2), dir.path(), Existing::Resume).unwrap_err().to_string();
    assert!(err.contains("last.safetensors is missing"), "{err}");
}

#[test]
fn stale_temporary_files_of_a_killed_writer_are_removed_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    run(tiny(LossKind::Sgm, 1), dir.path(), Existing::Refuse).unwrap();
    let dead = dead_pid();
    let stale = [format!(".resume.safetensors.tmp-{dead}"), format!(".metrics.csv.tmp-{dead}")];
    for name in &stale {
        std::fs::write(dir.path().join(name), vec![7u8; 4096]).unwrap();
    }
    // A file of the user's that merely looks like one stays.
    std::fs::write(dir.path().join(".notes.txt.tmp-1"), b"mine").unwrap();
    run(tiny(LossKind::Sgm, 2), dir.path(), Existing::Resume).unwrap();
    for name in &stale {
        assert!(!dir.path().join(name).exists(), "{name} left behind");
    }
    assert!(dir.path().join(".notes.txt.tmp-1").exists());
}

#[test]
fn overwrite_clears_every_file_of_the_previous_run_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    run(tiny(LossKind::Sgm, 2), dir.path(), Existing::Refuse).unwrap();
    // What `sgm train` and `sgm reproduce` write beside the checkpoints, and files of the user's.
    std::fs::write(dir.path().join("test_report.json"), b"{\"stale\": true}").unwrap();
    std::fs::write(dir.path().join("eval.json"), b"{}").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
    std::fs::write(dir.path().join("mine.safetensors"), b"mine").unwrap();
    run(tiny(LossKind::Sgm, 1), dir.path(), Existing::Overwrite).unwrap();
    assert!(!dir.path().join("test_report.json").exists(), "a stale test report survived --overwrite");
    assert!(!dir.path().join("eval.json").exists());
    assert!(!dir.path().join("epoch-002.safetensors").exists());
    assert!(dir.path().join("notes.txt").exists() && dir.path().join("mine.safetensors").exists());
    assert_eq!(std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap().lines().count(), 1);
}

#[test]
fn a_second_writer_of_a_run_directory_is_refused_while_the_first_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let held = sgm_train::train::RunDir::open(dir.path()).unwrap();
    for existing in [Existing::Refuse, Existing::Resume, Existing::Overwrite] {
        let err = run(tiny(LossKind::Sgm, 1), dir.path(), existing).unwrap_err().to_string();
        assert!(
            err.contains("in use by another sgm process") && err.contains(&std::process::id().to_string()),
            "{err}"
        );
    }
    drop(held);
    run(tiny(LossKind::Sgm, 1), dir.path(), Existing::Refuse).unwrap();
}

#[test]
fn a_configuration_too_large_to_allocate_is_refused_before_the_directory_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut cfg = tiny(LossKind::Sgm, 1);
    cfg.model.embedding_dim = 4_000_000_000;
    let err = run(cfg, &out, Existing::Refuse).unwrap_err().to_string();
    assert!(err.contains("embedding_dim 4000000000") && err.contains("more than this machine can allocate"), "{err}");
    let mut cfg = tiny(LossKind::Sgm, 1);
    cfg.samples_per_class = 1 << 40;
    let err = run(cfg, &out, Existing::Refuse).unwrap_err().to_string();
    assert!(err.contains("samples_per_class"), "{err}");
    assert!(!out.exists(), "nothing is created for a configuration that cannot run");
}

#[test]
fn batches_per_epoch_sets_the_steps_of_every_batch_composition() {
    let (train, _) = sets();
    for (loss, miner, shuffled) in [
        (LossKind::Sgm, None, false),
        (LossKind::Sgm, None, true),
        (LossKind::Softmax, None, false),
        (LossKind::Softmax, None, true),
        (LossKind::Triplet, Some(Miner::BatchHard), false),
        (LossKind::Triplet, Some(Miner::BatchHard), true),
    ] {
        let mut cfg = tiny(loss, 1);
        cfg.miner = miner;
        cfg.batches_per_epoch = Some(5); // more than the 3 batches of one pass over 6 images × 8 classes
        if shuffled {
            cfg.softmax_sampler = sgm_train::train::SoftmaxSampler::Shuffled;
            cfg.metric_sampler = sgm_train::train::MetricSampler::Shuffled;
        }
        let mut trainer = Trainer::new(cfg, candle_core::Device::Cpu).unwrap();
        let stats = trainer.train_epoch(&train, 0).unwrap();
        assert_eq!(stats.steps, 5, "{loss} {miner:?} shuffled {shuffled}");
    }
}

#[test]
fn sgm_on_shuffled_batches_trains_with_classes_missing_from_a_batch() {
    use sgm_train::train::MetricSampler;
    let (train, _) = sets();
    let mut cfg = tiny(LossKind::Sgm, 1);
    cfg.metric_sampler = MetricSampler::Shuffled;
    // Batches of 5 over 48 images of 8 classes: every batch lacks at least 3 classes, and the last holds 3 images.
    cfg.batch_size = 5;
    cfg.batches_per_epoch = None;
    let mut trainer = Trainer::new(cfg.clone(), candle_core::Device::Cpu).unwrap();
    let stats = trainer.train_epoch(&train, 0).unwrap();
    assert_eq!(stats.steps, train.len().div_ceil(5), "one shuffled pass over the training set");
    assert!(stats.loss.is_finite() && stats.loss > 0.0, "{}", stats.loss);
    // A different composition from the stratified default's, and written to the configuration only when set.
    let mut stratified = Trainer::new(tiny(LossKind::Sgm, 1), candle_core::Device::Cpu).unwrap();
    assert_ne!(stratified.train_epoch(&train, 0).unwrap().steps, stats.steps);
    assert!(!toml::to_string(&tiny(LossKind::Sgm, 1)).unwrap().contains("metric_sampler"));
    let written = toml::to_string(&cfg).unwrap();
    assert!(written.contains("metric_sampler = \"shuffled\""), "{written}");
    assert_eq!(toml::from_str::<TrainConfig>(&written).unwrap(), cfg);
}

#[test]
fn a_schedule_stepped_per_batch_changes_the_rate_inside_the_epoch() {
    use sgm_train::train::{Schedule, ScheduleStep};
    let (train, _) = sets();
    let mut per_epoch = tiny(LossKind::Sgm, 2);
    per_epoch.schedule = Schedule::one_cycle();
    per_epoch.optimizer.lr = 2e-3;
    per_epoch.batches_per_epoch = Some(4);
    let per_batch = TrainConfig { schedule_step: ScheduleStep::Batch, ..per_epoch.clone() };
    let mut a = Trainer::new(per_epoch.clone(), candle_core::Device::Cpu).unwrap();
    let mut b = Trainer::new(per_batch.clone(), candle_core::Device::Cpu).unwrap();
    let (a0, b0) = (a.train_epoch(&train, 0).unwrap(), b.train_epoch(&train, 0).unwrap());
    let (a1, b1) = (a.train_epoch(&train, 1).unwrap(), b.train_epoch(&train, 1).unwrap());
    // The recorded rate is the epoch's first step's: epoch e of 2 against step 4e of 8.
    let s = Schedule::one_cycle();
    assert_eq!((a0.lr, a1.lr), (s.lr(2e-3, 0, 2), s.lr(2e-3, 1, 2)));
    assert_eq!((b0.lr, b1.lr), (s.lr(2e-3, 0, 8), s.lr(2e-3, 4, 8)));
    // Two epochs of one cycle start past the warm-up (PyTorch's OneCycleLR with total_steps 2 does the same);
    // eight steps start at lr / 25 and change the rate at every step.
    assert!((b0.lr - 2e-3 / 25.0).abs() < 1e-15 && a0.lr > 10.0 * b0.lr, "{} {}", a0.lr, b0.lr);
    assert_ne!(a0.loss, b0.loss, "the per-batch schedule trains differently inside the first epoch");
    // The setting is written only when it is not the default, so older configurations read as before.
    assert!(!toml::to_string(&per_epoch).unwrap().contains("schedule_step"));
    let written = toml::to_string(&per_batch).unwrap();
    assert!(written.contains("schedule_step = \"batch\""), "{written}");
    assert_eq!(toml::from_str::<TrainConfig>(&written).unwrap(), per_batch);
}
