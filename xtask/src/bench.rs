//! `cargo xtask bench`: sgm against PyTorch and scikit-learn in one invocation, written to `docs/performance.md`.
//!
//! The sgm side is the release-built example `crates/sgm-cli/examples/bench.rs`; the references are
//! `bench/train_step_torch.py` and `bench/cluster_sklearn.py`. Every child prints one JSON line; each row runs
//! sgm and its reference alternately (which goes first alternates by round) and reports medians.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, run, workspace_root};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Run the criterion benchmarks instead (optionally only those whose name contains FILTER).
    #[arg(long)]
    pub criterion: bool,
    /// With --criterion: only benchmarks whose name contains this.
    pub filter: Option<String>,
    /// A quick run: one size (48), one round of 2 repetitions.
    #[arg(long)]
    quick: bool,
    /// Only rows whose id contains one of these (comma-separated), e.g. `train/resnet18`, `48`, `cluster/kmeans`.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Input sides (default 48,64; --quick: 48).
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<usize>,
    /// Batch size of the model rows.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Threads for both sides (RAYON_NUM_THREADS, OMP_NUM_THREADS, torch.set_num_threads).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Timed repetitions per round (default 3; --quick: 2).
    #[arg(long)]
    reps: Option<usize>,
    /// Rounds per row; sgm and the reference alternate in every round, which goes first alternating too
    /// (default 2; --quick: 1).
    #[arg(long)]
    rounds: Option<usize>,
    /// Skip the Python references.
    #[arg(long)]
    no_reference: bool,
    /// Print the table only; do not write docs/performance.md.
    #[arg(long)]
    no_write: bool,
}

/// One row of the table: the sgm command and the reference command, with the same arguments.
struct Row {
    /// e.g. `train/resnet18/48`, `cluster/kmeans`.
    id: String,
    /// Arguments of the sgm bench example (after the workload's own repetition count is appended).
    sgm: Vec<String>,
    /// The reference script (relative to the root) and its arguments.
    reference: (&'static str, Vec<String>),
    /// Whether the reference needs torch (else scikit-learn).
    torch: bool,
    /// `embed` rows are reported as images per second.
    throughput: bool,
}

/// What one side measured for a row.
#[derive(Default)]
struct Measured {
    times: Vec<f64>,
    peak_rss_kib: Option<u64>,
    params: Option<u64>,
    images_per_rep: Option<f64>,
    error: Option<String>,
}

impl Measured {
    fn median(&self) -> Option<f64> {
        let mut t = self.times.clone();
        if t.is_empty() {
            return None;
        }
        t.sort_by(f64::total_cmp);
        let n = t.len();
        Some(if n % 2 == 1 { t[n / 2] } else { 0.5 * (t[n / 2 - 1] + t[n / 2]) })
    }

    fn absorb(&mut self, out: Result<Value>) {
        match out {
            Ok(v) => {
                if let Some(ts) = v["times_s"].as_array() {
                    self.times.extend(ts.iter().filter_map(Value::as_f64));
                }
                if let Some(r) = v["peak_rss_kib"].as_u64() {
                    self.peak_rss_kib = Some(self.peak_rss_kib.map_or(r, |p| p.max(r)));
                }
                self.params = v["params"].as_u64().or(self.params);
                if let (Some(ips), Some(med)) = (v["images_per_s"].as_f64(), v["median_s"].as_f64()) {
                    self.images_per_rep = Some(ips * med);
                }
            }
            Err(e) => self.error = Some(format!("{e:#}")),
        }
    }
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    let root = workspace_root();
    let sizes = if !args.sizes.is_empty() {
        args.sizes.clone()
    } else if args.quick {
        vec![48]
    } else {
        vec![48, 64]
    };
    let reps = args.reps.unwrap_or(if args.quick { 2 } else { 3 }).max(1);
    let rounds = args.rounds.unwrap_or(if args.quick { 1 } else { 2 }).max(1);
    let threads = args.threads.max(1).to_string();

    let rows = rows(&sizes, args.batch);
    let rows: Vec<Row> = rows
        .into_iter()
        .filter(|r| args.only.is_empty() || args.only.iter().any(|o| r.id.contains(o.as_str())))
        .collect();
    if rows.is_empty() {
        bail!("no benchmark row matches --only {:?}", args.only);
    }

    eprintln!("building the sgm bench (release)…");
    run(cargo().args(["build", "--release", "-p", "sgm-cli", "--example", "bench"]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let sgm_bin = target.join("release").join("examples").join("bench");

    let python = std::env::var("SGM_PYTHON").unwrap_or_else(|_| "python3".into());
    let importable = |module: &str| {
        !args.no_reference
            && Command::new(&python)
                .args(["-c", &format!("import {module}")])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
    };
    let (has_torch, has_sklearn) = (importable("torch"), importable("sklearn"));
    let ref_version = |module: &str| -> String {
        Command::new(&python)
            .args(["-c", &format!("import {module}; print({module}.__version__)")])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let torch_version = if has_torch { ref_version("torch") } else { "not available".into() };
    let sklearn_version = if has_sklearn { ref_version("sklearn") } else { "not available".into() };
    eprintln!("reference: {python} (torch {torch_version}, scikit-learn {sklearn_version})");

    // No spin-waiting thread pools on either side: the sgm bench turns candle's element-wise pool off as the `sgm`
    // binary does, and OpenMP (torch, scikit-learn) waits passively. On a shared machine with more runnable
    // threads than cores, spinning waiters slowed a PyTorch ResNet18 step 5× (4.4 s against 0.9 s).
    let env: [(&str, &str); 5] = [
        ("RAYON_NUM_THREADS", &threads),
        ("OMP_NUM_THREADS", &threads),
        ("MKL_NUM_THREADS", &threads),
        ("SGM_BENCH_THREADS", &threads),
        ("OMP_WAIT_POLICY", "PASSIVE"),
    ];
    let warmup = "1".to_string();
    let mut results = Vec::new();
    for row in &rows {
        let available = if row.torch { has_torch } else { has_sklearn };
        let (mut ours, mut theirs) = (Measured::default(), Measured::default());
        for round in 0..rounds {
            let sgm_first = round % 2 == 0;
            for side in 0..2 {
                let run_sgm = (side == 0) == sgm_first;
                if run_sgm {
                    let mut cmd = Command::new(&sgm_bin);
                    cmd.args(&row.sgm).args([reps.to_string(), warmup.clone()]).envs(env);
                    ours.absorb(json_of(&mut cmd));
                } else if available {
                    let mut cmd = Command::new(&python);
                    cmd.arg(root.join(row.reference.0)).args(&row.reference.1);
                    cmd.args([reps.to_string(), warmup.clone()]).envs(env);
                    theirs.absorb(json_of(&mut cmd));
                }
            }
        }
        if let (Some(a), Some(b)) = (ours.params, theirs.params) {
            if a != b {
                theirs.error = Some(format!("parameter counts differ: sgm {a}, reference {b}"));
            }
        }
        let line = format_row(row, &ours, &theirs, available);
        eprintln!("{line}");
        results.push((line, row.id.clone()));
    }

    let table = table_header() + &results.iter().map(|(l, _)| format!("{l}\n")).collect::<String>();
    let machine = machine(&threads, &python, &torch_version, &sklearn_version, args, reps, rounds);
    println!("\n{machine}\n{table}");
    if !args.no_write {
        let path = root.join("docs").join("performance.md");
        write_performance(&path, &machine, &table)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn rows(sizes: &[usize], batch: usize) -> Vec<Row> {
    const BACKBONES: [&str; 5] = ["fmpnet", "cvgg13", "alexnet", "resnet18", "preact-resnet18"];
    let mut rows = Vec::new();
    for &size in sizes {
        for what in ["train", "eval", "embed"] {
            for b in BACKBONES {
                let a = vec![b.to_string(), size.to_string(), batch.to_string(), what.to_string()];
                let mut sgm = vec!["model".to_string()];
                sgm.extend(a.clone());
                rows.push(Row {
                    id: format!("{what}/{b}/{size}"),
                    sgm,
                    reference: ("bench/train_step_torch.py", a),
                    torch: true,
                    throughput: what == "embed",
                });
            }
        }
    }
    // `kmeans-linfa` is linfa-clustering's k-means on the same seeds: the naive version sgm's Lloyd loop replaced.
    for (what, reference) in [
        ("knn", "knn"),
        ("kmeans", "kmeans"),
        ("kmeans-linfa", "kmeans"),
        ("gmm-diag", "gmm-diag"),
        ("gmm-full", "gmm-full"),
        ("tsne", "tsne"),
    ] {
        rows.push(Row {
            id: format!("cluster/{what}"),
            sgm: vec!["cluster".into(), what.into()],
            reference: ("bench/cluster_sklearn.py", vec![reference.into()]),
            torch: false,
            throughput: false,
        });
    }
    rows
}

/// Runs a bench child and parses the last line of its standard output as JSON.
fn json_of(cmd: &mut Command) -> Result<Value> {
    let out = cmd.output().with_context(|| format!("cannot start {cmd:?}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
        bail!("exit {}: {last}", out.status);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().rev().find(|l| l.trim_start().starts_with('{')).ok_or_else(|| anyhow!("no JSON"))?;
    Ok(serde_json::from_str(line)?)
}

fn table_header() -> String {
    "| workload | sgm | reference | ratio sgm/ref | sgm peak RSS | ref peak RSS |\n\
     |---|---:|---:|---:|---:|---:|\n"
        .into()
}

fn format_row(row: &Row, ours: &Measured, theirs: &Measured, available: bool) -> String {
    let what = if row.torch { "torch" } else { "scikit-learn" };
    let show = |m: &Measured| match (m.median(), &m.error) {
        (_, Some(e)) => format!("failed: {}", e.replace('|', "/")),
        (Some(t), None) if row.throughput => format!("{:.0} img/s", m.images_per_rep.unwrap_or(f64::NAN) / t),
        (Some(t), None) if t < 10.0 => format!("{:.0} ms", t * 1e3),
        (Some(t), None) => format!("{t:.1} s"),
        (None, None) => "–".into(),
    };
    let reference = if available { show(theirs) } else { format!("{what} not available") };
    let ratio = match (ours.median(), theirs.median(), &ours.error, &theirs.error) {
        (Some(a), Some(b), None, None) => format!("{:.2}", a / b),
        _ => "–".into(),
    };
    let rss = |m: &Measured| m.peak_rss_kib.map_or("–".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0));
    format!("| {} | {} | {} | {} | {} | {} |", row.id, show(ours), reference, ratio, rss(ours), rss(theirs))
}

fn capture(cmd: &mut Command) -> String {
    cmd.output().ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
}

fn machine(
    threads: &str,
    python: &str,
    torch: &str,
    sklearn: &str,
    args: &BenchArgs,
    reps: usize,
    rounds: usize,
) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field =
        |name: &str| cpuinfo.lines().find(|l| l.starts_with(name)).and_then(|l| l.split(':').nth(1)).map(str::trim);
    let cpu = field("model name").unwrap_or("unknown CPU");
    // The vector instructions gemm's run-time dispatch can choose from (one binary serves both).
    let flags = cpuinfo.lines().find(|l| l.starts_with("flags")).unwrap_or_default();
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    let isa = if has("avx512f") {
        "AVX-512"
    } else if has("avx2") {
        "AVX2"
    } else {
        "no AVX2"
    };
    let cpu = format!(
        "{cpu} (family {} model {}, {isa})",
        field("cpu family").unwrap_or("?"),
        field("model\t").unwrap_or("?")
    );
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let root = workspace_root();
    let commit = capture(Command::new("git").current_dir(&root).args(["rev-parse", "--short", "HEAD"]));
    let dirty =
        !capture(Command::new("git").current_dir(&root).args(["status", "--porcelain", "--untracked-files=no"]))
            .is_empty();
    let date = capture(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "- machine: {cpu}, {cores} cores available; {threads} threads on both sides, no spin-waiting pools \
         (`OMP_WAIT_POLICY=PASSIVE`; candle's element-wise pool off as in the `sgm` binary); load average \
         (1 min) at the end: {load}"
    );
    let _ = writeln!(s, "- commit: {commit}{}; date: {date}", if dirty { " (with uncommitted changes)" } else { "" });
    let _ = writeln!(s, "- reference: `{python}`, torch {torch}, scikit-learn {sklearn}");
    let _ = writeln!(
        s,
        "- run: `cargo xtask bench{}{}`: batch {}, medians of {} timed repetitions ({rounds} round(s) × {reps}, \
         after a warm-up per process)",
        if args.quick { " --quick" } else { "" },
        if args.sizes.is_empty() {
            String::new()
        } else {
            format!(" --sizes {}", args.sizes.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(","))
        },
        args.batch,
        rounds * reps
    );
    s
}

const HEADER: &str = "# Performance: sgm against PyTorch and scikit-learn

Generated by `cargo xtask bench` (the tables and the run description above the hand-written notes; everything
below the marker line is kept from one run to the next). `cargo xtask bench --quick` runs one size with fewer
repetitions; `--only train/resnet18,cluster` selects rows; `cargo xtask bench --criterion [FILTER]` runs the
criterion benchmarks instead. The reference is `python3` (or `$SGM_PYTHON`) running `bench/train_step_torch.py`
and `bench/cluster_sklearn.py`; where torch or scikit-learn cannot be imported the row says so.

How to read it: **ratio = sgm time / reference time**, so below 1 means sgm is faster (for `embed`, throughput in
images/s is shown and the ratio is still of times). The machine is shared and noisy: ratios from the same run,
sgm and the reference alternating, are the headline, not absolute times.

- `train/B/S`: one training step at batch 64 of 1×S² images, 8 classes: forward in training mode (batch
  statistics, dropout, fractional pooling) + SGM loss (σ = 1) + backward + Adam (AMSGrad) step. Peak RSS is the
  process's high-water mark (`VmHWM` / `ru_maxrss`) after the model, one warm-up step and the timed steps; for
  PyTorch it includes the interpreter and torch's libraries (about 300–400 MiB before the first step).
- `eval/B/S`: one evaluation-mode forward of the batch (PyTorch under `no_grad`).
- `embed/B/S`: embedding extraction, 4 batches in evaluation mode (PyTorch under `inference_mode`).
- `cluster/…`: 25,000 × 64 f32 blobs around 40 centres. kNN k = 11 (20,000 reference rows, 5,000 queries,
  scikit-learn brute force); k-means k = 40 with 3 k-means++ restarts (scikit-learn `n_init=3`; `kmeans-linfa`
  is linfa-clustering's Lloyd loop from the same seeds, against the same scikit-learn time); GMM k = 40,
  diagonal and full covariances; t-SNE of the first 4,000 rows (perplexity 30, PCA start, Barnes-Hut θ 0.5,
  both sides on 2 threads: `sgm tsne --parallel`).

";

const MARKER: &str = "<!-- everything below this line is hand-written and kept by `cargo xtask bench` -->";

fn write_performance(path: &Path, machine: &str, table: &str) -> Result<()> {
    let kept = std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.find(MARKER).map(|i| s[i + MARKER.len()..].to_string()))
        .unwrap_or_else(|| "\n\n## What limits it\n\n(to be written)\n".into());
    let text = format!("{HEADER}## Run\n\n{machine}\n## Results\n\n{table}\n{MARKER}{kept}");
    sgm_core::fs::write_atomic(path, text.as_bytes())?;
    Ok(())
}
