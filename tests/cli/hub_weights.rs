//! `--weights hf:OWNER/REPO/FILE` end to end, without network: a model exported by `sgm export` is put into a
//! hub cache folder laid out as hf-hub lays it out (`refs/main` holding a commit hash,
//! `snapshots/<commit>/model.safetensors` a symlink to `../../blobs/<sha256>`), then `sgm embed` and `sgm train`
//! read it from there. In-process runs pass the cache with `--hub-cache`; one run of the real binary sets
//! `HF_HUB_CACHE` and `HF_HUB_OFFLINE` in its own environment only.

use crate::common::sgm;

use sgm_models::BackboneKind;
use sgm_train::train::{LossKind, TrainConfig, Trainer};
use std::path::{Path, PathBuf};

const COMMIT: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

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
    let sha = sgm_models::pretrained::hub::sha256_file(model).unwrap();
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
    // `--flip` averages each embedding with its mirror image's: other values, the same shapes and labels.
    let flipped = dir.path().join("flipped.safetensors");
    let args = ["embed", "--weights", model.to_str().unwrap(), "--synth-per-class", "12", "--flip", "--out"];
    sgm(&[&args[..], &[flipped.to_str().unwrap()]].concat()).unwrap();
    for ((name, a), (wname, b)) in tensors(&flipped).iter().zip(&want) {
        assert_eq!((name, a.len()), (wname, b.len()));
        assert_eq!(a == b, name != "embeddings", "{name}: --flip changes the embeddings only");
    }

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

/// timm's `resnet18.tv_in1k` in a hub cache, with a formula-filled torchvision-layout file standing in for ImageNet's
/// weights (which cannot be fetched in tests): `refs/main`, `snapshots/<commit>/model.safetensors` linked to
/// `blobs/<sha256>`.
fn timm_cache(dir: &Path, kind: BackboneKind) -> (PathBuf, String) {
    let file = sgm_models::pretrained::formula_state_dict(kind, 1000, &candle_core::Device::Cpu).unwrap();
    let path = dir.join("tv.safetensors");
    let map: std::collections::HashMap<String, candle_core::Tensor> = file.into_iter().collect();
    candle_core::safetensors::save(&map, &path).unwrap();
    let cache = dir.join("hub");
    let repo = cache.join("models--timm--resnet18.tv_in1k");
    for sub in ["blobs", "refs", &format!("snapshots/{COMMIT}")] {
        std::fs::create_dir_all(repo.join(sub)).unwrap();
    }
    let sha = sgm_models::pretrained::hub::sha256_file(&path).unwrap();
    std::fs::copy(&path, repo.join("blobs").join(&sha)).unwrap();
    std::fs::write(repo.join("refs/main"), COMMIT).unwrap();
    let link = repo.join("snapshots").join(COMMIT).join("model.safetensors");
    #[cfg(unix)]
    std::os::unix::fs::symlink(Path::new("../../blobs").join(&sha), &link).unwrap();
    #[cfg(not(unix))]
    std::fs::copy(repo.join("blobs").join(&sha), &link).unwrap();
    (cache, sha)
}

fn train_init(init: &str, cache: &Path, out: &Path, extra: &[&str]) -> anyhow::Result<()> {
    let mut args = vec!["train", "--init", init, "--offline", "--hub-cache", cache.to_str().unwrap()];
    args.extend([
        "--size",
        "32",
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
        out.to_str().unwrap(),
    ]);
    args.extend(extra);
    sgm(&args)
}

#[test]
fn train_init_imagenet_reads_timms_resnet18_from_the_hub_cache_offline() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, sha) = timm_cache(dir.path(), BackboneKind::ResNet18);
    let run = dir.path().join("run");
    // `imagenet` is hf:timm/resnet18.tv_in1k/model.safetensors for ResNet18; 1 channel folds conv1.
    train_init("imagenet", &cache, &run, &[]).unwrap();

    let cfg = TrainConfig::from_toml_file(&run.join("config.toml")).unwrap();
    let init = cfg.init.clone().expect("config.toml records the init");
    assert_eq!(init.source, "hf:timm/resnet18.tv_in1k/model.safetensors");
    assert_eq!(init.sha256, sha);
    assert_eq!(cfg.normalization, sgm_data::augment::Normalization::imagenet(), "ImageNet statistics with --init");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("init.json")).unwrap()).unwrap();
    assert_eq!(report["loaded"].as_array().unwrap().len(), 100);
    assert_eq!(report["fresh"], serde_json::json!(["embedding.bias", "embedding.weight"]));
    assert_eq!(report["adapted"][0]["tensor"], "conv1.weight");
    assert_eq!(report["unused"].as_array().unwrap().len(), 22);

    // At lr 1e-9 the trained weights are the file's: conv1 summed over RGB, layer4 as it is.
    let ck = sgm_train::checkpoint::load(&run.join("last.safetensors"), &candle_core::Device::Cpu).unwrap();
    let file =
        sgm_models::pretrained::formula_state_dict(BackboneKind::ResNet18, 1000, &candle_core::Device::Cpu).unwrap();
    let max_diff = |a: &candle_core::Tensor, b: &candle_core::Tensor| {
        (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
    };
    assert!(max_diff(&ck.tensors["conv1.weight"], &file["conv1.weight"].sum_keepdim(1).unwrap()) < 1e-5);
    assert!(max_diff(&ck.tensors["layer4.1.conv2.weight"], &file["layer4.1.conv2.weight"]) < 1e-5);

    // The same repository named without its file, 3 channels and the authors' scope: convolutions only.
    let authors = dir.path().join("authors");
    train_init(
        "hf:timm/resnet18.tv_in1k",
        &cache,
        &authors,
        &["--channels", "3", "--init-scope", "features", "--no-batch-norm", "--normalization", "cifar10"],
    )
    .unwrap();
    let cfg = TrainConfig::from_toml_file(&authors.join("config.toml")).unwrap();
    assert_eq!(cfg.normalization, sgm_data::augment::Normalization::cifar10());
    assert!(!cfg.model.batch_norm);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(authors.join("init.json")).unwrap()).unwrap();
    assert_eq!(report["loaded"].as_array().unwrap().len(), 20);
    assert_eq!(report["scope"], "features");
    let ck = sgm_train::checkpoint::load(&authors.join("last.safetensors"), &candle_core::Device::Cpu).unwrap();
    assert!(max_diff(&ck.tensors["conv1.weight"], &file["conv1.weight"]) < 1e-5);
}

#[test]
fn train_init_refuses_a_missing_file_a_wrong_digest_and_another_architecture_writing_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (cache, _) = timm_cache(dir.path(), BackboneKind::ResNet18);
    let out = dir.path().join("run");
    let zeros = "0".repeat(64);
    for (init, want) in [
        ("hf:timm/resnet18.tv_in1k/pytorch_model.safetensors".to_string(), "not in the hub cache"),
        (format!("hf:timm/resnet18.tv_in1k#sha256={zeros}"), "SHA-256 mismatch"),
        ("hf:timm/resnet34.tv_in1k".to_string(), "not in the hub cache"),
    ] {
        let e = format!("{:#}", train_init(&init, &cache, &out, &[]).unwrap_err());
        assert!(e.contains(want), "{init}: {e}");
        assert!(!out.exists(), "{init}: nothing may be written");
    }
    // AlexNet weights where ResNet18's are expected: every misplaced tensor is named.
    let alex_dir = dir.path().join("alex");
    std::fs::create_dir_all(&alex_dir).unwrap();
    let (alex_cache, _) = timm_cache(&alex_dir, BackboneKind::AlexNet);
    let e = format!("{:#}", train_init("imagenet", &alex_cache, &out, &[]).unwrap_err());
    assert!(e.contains("have no place in sgm's resnet18") && e.contains("another architecture"), "{e}");
    assert!(!out.exists(), "nothing may be written");
    // AlexNet has no hub copy, the other backbones no ImageNet weights at all.
    let e = format!("{:#}", train_init("imagenet", &cache, &out, &["--backbone", "alexnet"]).unwrap_err());
    assert!(e.contains("convert_torchvision.py"), "{e}");
    let e = format!("{:#}", train_init("imagenet", &cache, &out, &["--backbone", "cvgg13"]).unwrap_err());
    assert!(e.contains("no ImageNet weights for cvgg13"), "{e}");
    // An sgm checkpoint belongs to --weights.
    let model = exported_model(dir.path());
    let e = format!("{:#}", train_init(model.to_str().unwrap(), &cache, &out, &[]).unwrap_err());
    assert!(e.contains("--weights instead of --init"), "{e}");
    assert!(!out.exists());
}
