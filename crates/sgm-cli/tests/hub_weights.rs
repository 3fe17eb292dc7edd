//! `--weights hf:OWNER/REPO/FILE` end to end, without network: a model exported by `sgm export` is put into a
//! hub cache folder laid out as hf-hub lays it out (`refs/main` holding a commit hash,
//! `snapshots/<commit>/model.safetensors` a symlink to `../../blobs/<sha256>`), then `sgm embed` and `sgm train`
//! read it from there. In-process runs pass the cache with `--hub-cache`; one run of the real binary sets
//! `HF_HUB_CACHE` and `HF_HUB_OFFLINE` in its own environment only.

use sgm_models::BackboneKind;
use sgm_train::train::{LossKind, TrainConfig, Trainer};
use std::path::{Path, PathBuf};

const COMMIT: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

fn sgm(args: &[&str]) -> anyhow::Result<()> {
    sgm_cli::run([&["sgm"][..], args].concat())
}

/// An exported model: a seeded FMPNet at 24×24 (seed 7), written as a checkpoint and exported by `sgm export`.
fn exported_model(dir: &Path) -> PathBuf {
    let mut cfg = TrainConfig { loss: LossKind::Sgm, seed: 7, ..Default::default() };
    cfg.model.backbone = BackboneKind::FmpNet;
    cfg.model.input_size = 24;
    let ck = dir.join("checkpoint.safetensors");
    Trainer::new(cfg, candle_core::Device::Cpu).unwrap().save_weights(&ck, serde_json::json!({})).unwrap();
    let model = dir.join("model.safetensors");
    sgm(&["export", "--checkpoint", ck.to_str().unwrap(), "--out", model.to_str().unwrap()]).unwrap();
    model
}

/// The hub cache holding `model` as `me/fer-sgm/model.safetensors` on `main`; returns the cache and the blob.
fn hub_cache(dir: &Path, model: &Path) -> (PathBuf, PathBuf) {
    let cache = dir.join("hub");
    let repo = cache.join("models--me--fer-sgm");
    for sub in ["blobs", "refs", &format!("snapshots/{COMMIT}")] {
        std::fs::create_dir_all(repo.join(sub)).unwrap();
    }
    let sha = sgm_train::hub::sha256_file(model).unwrap();
    let blob = repo.join("blobs").join(&sha);
    std::fs::copy(model, &blob).unwrap();
    std::fs::write(repo.join("refs/main"), COMMIT).unwrap();
    let link = repo.join("snapshots").join(COMMIT).join("model.safetensors");
    #[cfg(unix)]
    std::os::unix::fs::symlink(Path::new("../../blobs").join(&sha), &link).unwrap();
    #[cfg(not(unix))]
    std::fs::copy(&blob, &link).unwrap();
    (cache, blob)
}

fn tensors(path: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut v: Vec<(String, Vec<u8>)> = st.tensors().into_iter().map(|(n, t)| (n, t.data().to_vec())).collect();
    v.sort();
    v
}

fn embed(weights: &str, cache: &Path, out: &Path, extra: &[&str]) -> anyhow::Result<()> {
    let mut args = vec!["embed", "--weights", weights, "--synth-per-class", "12", "--out", out.to_str().unwrap()];
    args.extend(["--hub-cache", cache.to_str().unwrap()]);
    args.extend(extra);
    sgm(&args)
}

#[test]
fn hub_weights_embed_exactly_like_the_local_file_and_bad_caches_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = exported_model(dir.path());
    let (cache, blob) = hub_cache(dir.path(), &model);
    let sha = blob.file_name().unwrap().to_str().unwrap().to_string();

    let local = dir.path().join("local.safetensors");
    embed(model.to_str().unwrap(), &cache, &local, &[]).unwrap();
    let want = tensors(&local);
    for (i, spec) in [
        "hf:me/fer-sgm/model.safetensors".to_string(),
        format!("hf:me/fer-sgm/model.safetensors@{COMMIT}"),
        format!("hf://me/fer-sgm@main/model.safetensors#sha256={sha}"),
    ]
    .iter()
    .enumerate()
    {
        let out = dir.path().join(format!("hub-{i}.safetensors"));
        embed(spec, &cache, &out, &["--offline"]).unwrap();
        assert_eq!(tensors(&out), want, "{spec}");
    }
    // A cached file is used without asking the hub, also when not offline (and in a build with `hub`).
    let out = dir.path().join("hub-online.safetensors");
    embed("hf:me/fer-sgm/model.safetensors", &cache, &out, &[]).unwrap();
    assert_eq!(tensors(&out), want);
    // `--checkpoint` still works, as an alias of `--weights`.
    let out = dir.path().join("alias.safetensors");
    sgm(&["embed", "--checkpoint", model.to_str().unwrap(), "--synth-per-class", "12", "--out", out.to_str().unwrap()])
        .unwrap();
    assert_eq!(tensors(&out), want);

    let err = |spec: &str, extra: &[&str]| {
        let out = dir.path().join("never.safetensors");
        let e = format!("{:#}", embed(spec, &cache, &out, extra).unwrap_err());
        assert!(!out.exists());
        e
    };
    // A revision that is not cached.
    let e = err("hf:me/fer-sgm/model.safetensors@v2", &["--offline"]);
    assert!(e.contains("revision 'v2' is not cached") && e.contains("refs/v2") && e.contains("offline"), "{e}");
    // A file that is not cached.
    let e = err("hf:me/fer-sgm/other.safetensors", &["--offline"]);
    assert!(e.contains("other.safetensors") && e.contains(&cache.display().to_string()), "{e}");
    // A wrong expected digest, given as a flag.
    let zeros = "0".repeat(64);
    let e = err("hf:me/fer-sgm/model.safetensors", &["--offline", "--weights-sha256", &zeros]);
    assert!(e.contains("SHA-256 mismatch") && e.contains(&zeros) && e.contains(&sha), "{e}");
    // Without the hub feature, a file missing from the cache cannot be downloaded; the message says so.
    #[cfg(not(feature = "hub"))]
    {
        let e = err("hf:me/fer-sgm/other.safetensors", &[]);
        assert!(e.contains("without the `hub` feature") && e.contains(&cache.display().to_string()), "{e}");
    }
    // A blob whose content no longer matches its SHA-256 name (a damaged download).
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&blob, &bytes).unwrap();
    let e = err("hf:me/fer-sgm/model.safetensors", &["--offline"]);
    assert!(e.contains("SHA-256 mismatch") && e.contains(&sha) && e.contains("blob name"), "{e}");
    assert!(e.contains(&blob.display().to_string()), "{e}");
}

#[test]
fn train_starts_from_hub_weights_with_their_model_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let model = exported_model(dir.path());
    let (cache, _) = hub_cache(dir.path(), &model);
    let run = dir.path().join("run");
    // No --backbone or --size: both come from the pretrained model (an FMPNet at 24×24, which the default ResNet18
    // at 48×48 would not fit). A learning rate of 1e-9 keeps the trained weights next to the pretrained ones.
    sgm(&[
        "train",
        "--weights",
        "hf:me/fer-sgm/model.safetensors",
        "--offline",
        "--hub-cache",
        cache.to_str().unwrap(),
        "--synth-per-class",
        "12",
        "--samples-per-class",
        "2",
        "--batches-per-epoch",
        "1",
        "--epochs",
        "1",
        "--lr",
        "1e-9",
        "--no-test",
        "--out",
        run.to_str().unwrap(),
    ])
    .unwrap();
    let ck = sgm_train::checkpoint::load(&run.join("last.safetensors"), &candle_core::Device::Cpu).unwrap();
    let cfg: TrainConfig = serde_json::from_value(ck.meta["train"].clone()).unwrap();
    assert_eq!((cfg.model.backbone, cfg.model.input_size, cfg.seed), (BackboneKind::FmpNet, 24, 1));
    let pretrained = sgm_train::checkpoint::load(&model, &candle_core::Device::Cpu).unwrap();
    let mut compared = 0;
    for (name, t) in &ck.tensors {
        if sgm_models::is_buffer(name) {
            continue;
        }
        let p = &pretrained.tensors[name];
        let diff = (t - p).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-6, "{name}: moved by {diff} from the pretrained weights");
        compared += 1;
    }
    assert!(compared > 0);

    // The softmax baseline from the same embedding: its class head is not in the file and starts from its seed.
    let softmax = dir.path().join("softmax");
    sgm(&[
        "train",
        "--weights",
        model.to_str().unwrap(),
        "--loss",
        "softmax",
        "--batch-size",
        "8",
        "--synth-per-class",
        "12",
        "--batches-per-epoch",
        "1",
        "--epochs",
        "1",
        "--no-test",
        "--out",
        softmax.to_str().unwrap(),
    ])
    .unwrap();
    let ck = sgm_train::checkpoint::load(&softmax.join("last.safetensors"), &candle_core::Device::Cpu).unwrap();
    assert!(ck.tensors.contains_key("head.weight"));
}

/// The real binary, with the cache and offline mode given only through the environment.
#[test]
fn the_binary_reads_hf_hub_cache_and_hf_hub_offline() {
    let dir = tempfile::tempdir().unwrap();
    let model = exported_model(dir.path());
    let (cache, _) = hub_cache(dir.path(), &model);
    let run = |spec: &str, out: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_sgm"))
            .args(["embed", "--weights", spec, "--synth-per-class", "12", "--out", out.to_str().unwrap()])
            .env("HF_HUB_CACHE", &cache)
            .env("HF_HUB_OFFLINE", "1")
            .env_remove("HF_HOME")
            .output()
            .unwrap()
    };
    let out = dir.path().join("e.safetensors");
    let ok = run("hf:me/fer-sgm/model.safetensors", &out);
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert!(ok.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("hub cache, commit {COMMIT}")), "{stderr}");
    let local = dir.path().join("local.safetensors");
    embed(model.to_str().unwrap(), &cache, &local, &[]).unwrap();
    assert_eq!(tensors(&out), tensors(&local));
    // HF_HUB_OFFLINE=1 turns the download off even in a build with the hub feature.
    let missing = run("hf:me/fer-sgm/other.safetensors", &dir.path().join("x.safetensors"));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("offline mode") && stderr.contains("other.safetensors"), "{stderr}");
}
