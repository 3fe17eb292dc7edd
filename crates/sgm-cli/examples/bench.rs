//! The sgm side of `cargo xtask bench`: times one workload and prints one JSON line.
//!
//! ```text
//! bench model BACKBONE SIZE BATCH train|eval|embed REPS [WARMUP]
//! bench cluster knn|kmeans|kmeans-linfa|gmm-diag|gmm-full|tsne REPS [WARMUP]
//! ```
//!
//! - `train`: forward (training mode) + SGM loss + backward + Adam (AMSGrad) step, batch `BATCH` of 1×SIZE² images
//!   with 8 classes; also reports the process's peak RSS (`VmHWM`) and its RSS before the first step.
//! - `eval`: one evaluation-mode forward of the batch.
//! - `embed`: evaluation-mode forwards over 4 batches (embedding extraction); `images_per_s` is reported.
//! - cluster rows run on 25,000 × 64 formula blobs (40 groups), the data of `sgm-cluster`'s `speed` example and of
//!   `bench/cluster_sklearn.py`.
//!
//! Threads: `RAYON_NUM_THREADS` (candle's gemm reads it as well). `xtask` builds this with `--release` and compares
//! against `bench/train_step_torch.py` and `bench/cluster_sklearn.py`.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use sgm_cluster::{
    gmm, kmeans, kmeans_linfa, tsne_2d, CovarianceType, GmmConfig, KMeansConfig, KMeansInitMethod, TsneConfig,
};
use sgm_core::{knn_classify, Embeddings, SgmLoss};
use sgm_models::{on_workers, seeded_var_builder, BackboneKind, EmbeddingModel, ModelConfig};
use sgm_train::train::trainable;
use sgm_train::{Adam, AdamConfig};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    // The `sgm` binary's process settings (malloc thresholds, candle's element-wise pool off).
    sgm_cli::process::tune();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().ok_or_else(|| format!("missing argument {i}; see the module docs"));
    match arg(0)?.as_str() {
        "model" => {
            let kind: BackboneKind = arg(1)?.parse()?;
            let size: usize = arg(2)?.parse()?;
            let batch: usize = arg(3)?.parse()?;
            let what = arg(4)?;
            let reps: usize = arg(5)?.parse()?;
            let warmup: usize = args.get(6).map(|s| s.parse()).transpose()?.unwrap_or(1);
            model(kind, size, batch, &what, reps, warmup)
        }
        "cluster" => {
            let what = arg(1)?;
            let reps: usize = arg(2)?.parse()?;
            let warmup: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(1);
            cluster(&what, reps, warmup)
        }
        other => Err(format!("unknown workload {other:?}: model or cluster").into()),
    }
}

/// `(VmHWM, VmRSS)` of this process in KiB.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn median(times: &[f64]) -> f64 {
    let mut t = times.to_vec();
    t.sort_by(f64::total_cmp);
    match t.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => t[n / 2],
        n => 0.5 * (t[n / 2 - 1] + t[n / 2]),
    }
}

fn time_reps(reps: usize, warmup: usize, mut f: impl FnMut() -> Res<()>) -> Res<Vec<f64>> {
    for _ in 0..warmup {
        f()?;
    }
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t0 = Instant::now();
        f()?;
        times.push(t0.elapsed().as_secs_f64());
    }
    Ok(times)
}

fn threads() -> usize {
    candle_core::utils::get_num_threads()
}

/// Deterministic pseudo-random images in [-1, 1) (no RNG dependency needed; speed does not depend on values).
fn images(batch: usize, size: usize) -> Res<Tensor> {
    let n = batch * size * size;
    let v: Vec<f32> = (0..n as u64)
        .map(|i| {
            let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ 0xD1B5_4A32_D192_ED03;
            (h >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect();
    Ok(Tensor::from_vec(v, (batch, 1, size, size), &Device::Cpu)?)
}

fn model(kind: BackboneKind, size: usize, batch: usize, what: &str, reps: usize, warmup: usize) -> Res<()> {
    let cfg = ModelConfig { backbone: kind, input_size: size, num_classes: None, ..Default::default() };
    let vm = VarMap::new();
    let model = EmbeddingModel::new(&cfg, seeded_var_builder(&vm, 1, DType::F32, &Device::Cpu))?;
    let params = trainable(&vm);
    let n_params: usize = params.iter().map(|(_, v)| v.elem_count()).sum();
    let (times, images_per_rep, rss_before) = match what {
        "train" => {
            let x = images(batch, size)?;
            let labels: Vec<u32> = (0..batch as u32).map(|i| i % 8).collect();
            let labels = Tensor::from_vec(labels, batch, &Device::Cpu)?;
            let loss_fn = SgmLoss::new(1.0);
            let mut opt = Adam::new(params, AdamConfig { amsgrad: true, ..AdamConfig::default() })?;
            let rss_before = rss_kib().1;
            // As sgm's trainer: forward, backward and the optimiser step each run on the pool's workers.
            let times = time_reps(reps, warmup, || {
                let out = on_workers(|| model.forward(&x, true))?;
                let loss = loss_fn.forward(&out.embedding, &labels)?;
                let grads = on_workers(|| loss.backward())?;
                on_workers(|| opt.step(&grads))?;
                Ok(())
            })?;
            (times, batch, rss_before)
        }
        "eval" => {
            let x = images(batch, size)?;
            let rss_before = rss_kib().1;
            let times = time_reps(reps, warmup, || {
                let out = on_workers(|| model.infer(&x))?;
                out.embedding.to_vec2::<f32>()?;
                Ok(())
            })?;
            (times, batch, rss_before)
        }
        "embed" => {
            let batches: Vec<Tensor> = (0..4).map(|_| images(batch, size)).collect::<Res<_>>()?;
            let rss_before = rss_kib().1;
            let times = time_reps(reps, warmup, || {
                for x in &batches {
                    let out = on_workers(|| model.infer(x))?;
                    out.embedding.to_vec2::<f32>()?;
                }
                Ok(())
            })?;
            (times, 4 * batch, rss_before)
        }
        other => return Err(format!("unknown model workload {other:?}: train, eval or embed").into()),
    };
    let (hwm, _) = rss_kib();
    let med = median(&times);
    println!(
        "{{\"impl\":\"sgm\",\"backbone\":\"{kind}\",\"size\":{size},\"batch\":{batch},\"what\":\"{what}\",\
         \"params\":{n_params},\"threads\":{},\"times_s\":{times:?},\"median_s\":{med},\
         \"images_per_s\":{},\"peak_rss_kib\":{hwm},\"rss_before_kib\":{rss_before}}}",
        threads(),
        images_per_rep as f64 / med
    );
    Ok(())
}

/// 25,000 × 64 blobs around 40 centres (the formula of `sgm-cluster`'s `speed` example), and their group labels.
fn blobs() -> Res<(Embeddings, Vec<u32>)> {
    let (n, d, k) = (25_000usize, 64usize, 40usize);
    let mut x = Vec::with_capacity(n * d);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let g = ((i * 7) % k) as f64;
        labels.push(((i * 7) % k) as u32);
        for j in 0..d {
            let jf = j as f64;
            let v = 4.0 * (g * 1.3 + jf * 0.7 + g * jf * 0.11).cos() + (2.3 * i as f64 * (jf + 1.0) + 0.5 * jf).sin();
            x.push(v as f32);
        }
    }
    Ok((Embeddings::new(x, n, d, "bench blobs")?, labels))
}

fn cluster(what: &str, reps: usize, warmup: usize) -> Res<()> {
    let (emb, labels) = blobs()?;
    let k = 40;
    let mut detail = String::new();
    let times = match what {
        "knn" => {
            // Every 5th block of 40 rows is a query against the other 20,000 (k = 11), as bench/cluster_sklearn.py.
            let (mut tr, mut te, mut ytr, mut yte) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (i, &label) in labels.iter().enumerate() {
                if (i / 40) % 5 == 0 {
                    te.extend_from_slice(emb.row(i));
                    yte.push(label);
                } else {
                    tr.extend_from_slice(emb.row(i));
                    ytr.push(label);
                }
            }
            let train = Embeddings::new(tr, ytr.len(), emb.dim(), "train")?;
            let test = Embeddings::new(te, yte.len(), emb.dim(), "test")?;
            time_reps(reps, warmup, || {
                let pred = knn_classify(&train, &ytr, &test, 11)?;
                let acc = pred.iter().enumerate().filter(|(q, &p)| p == yte[*q]).count();
                detail = format!("\"accuracy\":{}", acc as f64 / pred.len() as f64);
                Ok(())
            })?
        }
        "kmeans" | "kmeans-linfa" => {
            let cfg = KMeansConfig {
                k,
                init: KMeansInitMethod::KMeansPlusPlus { n_runs: 3 },
                max_iter: 300,
                tol: 1e-4,
                seed: 0,
            };
            let run = if what == "kmeans" { kmeans } else { kmeans_linfa };
            time_reps(reps, warmup, || {
                let c = run(&emb, &cfg, None)?;
                detail = format!("\"inertia\":{}", c.inertia);
                Ok(())
            })?
        }
        "gmm-diag" | "gmm-full" => {
            let cov = if what == "gmm-diag" { CovarianceType::Diagonal } else { CovarianceType::Full };
            time_reps(reps, warmup, || {
                let g = gmm(&emb, &GmmConfig::new(k, cov, 0))?;
                detail = format!("\"lower_bound\":{},\"n_iter\":{}", g.lower_bound, g.n_iter);
                Ok(())
            })?
        }
        "tsne" => {
            // 2 threads like scikit-learn's Barnes-Hut gradient (`sgm tsne --parallel`); the default is one thread.
            let cfg = TsneConfig { deterministic: false, ..TsneConfig::default() };
            time_reps(reps, warmup, || {
                tsne_2d(&emb, &cfg)?;
                Ok(())
            })?
        }
        other => return Err(format!("unknown cluster workload {other:?}").into()),
    };
    let (hwm, _) = rss_kib();
    let sep = if detail.is_empty() { "" } else { "," };
    println!(
        "{{\"impl\":\"sgm\",\"what\":\"{what}\",\"threads\":{},\"times_s\":{times:?},\"median_s\":{},\
         \"peak_rss_kib\":{hwm}{sep}{detail}}}",
        threads(),
        median(&times)
    );
    Ok(())
}
