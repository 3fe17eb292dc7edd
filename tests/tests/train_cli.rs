//! The user's path end to end, in-process: `sgm train` on the synthetic set, `sgm embed` of two splits, `sgm eval`
//! of those embeddings; and a damaged checkpoint refused by `sgm embed`.

use std::path::Path;

fn sgm(args: &[&str]) -> anyhow::Result<()> {
    let mut v = vec!["sgm"];
    v.extend_from_slice(args);
    sgm_cli::run(v)
}

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
    use sgm_cli::commands::dataset::duplicate_groups;
    let mut set = sgm_data::generate_synth(&sgm_data::SynthConfig::small(2, 1), sgm_data::Split::Test).unwrap();
    assert_eq!(duplicate_groups(&set), None, "no duplicate index: no groups");
    set.samples[0].group = Some(4);
    set.samples[3].group = Some(4);
    let g = duplicate_groups(&set).unwrap();
    assert_eq!(g.len(), set.len());
    assert_eq!(g[0], g[3], "grouped copies share their id");
    let mut others: Vec<u32> = g.iter().enumerate().filter(|(i, _)| *i != 0 && *i != 3).map(|(_, &x)| x).collect();
    others.sort_unstable();
    others.dedup();
    assert_eq!(others.len(), set.len() - 2, "every other image is alone in its group");
    assert!(!others.contains(&4));
}
