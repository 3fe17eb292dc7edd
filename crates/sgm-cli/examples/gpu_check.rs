//! The sgm side of the prepared GPU check (`scripts/gpu-check.sh`, docs/gpu.md): one binary that travels to the
//! GPU machine, holding the whole `sgm` command line plus three measurements. Every measurement prints one JSON
//! line per case as soon as it is done, so a run cut short keeps what it finished.
//!
//! ```text
//! gpu_check info    [--device D]
//! gpu_check compare --device D [--size 48] [--batch 16] [--backbones all]
//! gpu_check step    --device D [--sizes 48,64,224] [--batches 64,256] [--reps 3] [--warmup 1] [--dtype f32]
//! gpu_check embed   --device D [--size 48] [--batch 256] [--reps 3] [--warmup 1] [--dtype f32]
//! gpu_check sgm ARGS…          the `sgm` command line (train, embed, eval, …)
//! ```
//!
//! - `compare`: the same weights and batch on the CPU (sgm's fast kernels) and on D (candle's ops): a training
//!   forward, the backward of `Σ embedding · w` (fixed w), and an evaluation forward. Reports the largest relative
//!   difference (max |a − b| / max |b|) of the embeddings and of every variable's gradient (the worst one named).
//! - `step`: forward (training mode) + SGM loss + backward + Adam (AMSGrad) step per backbone, size and batch,
//!   the twin of `bench/gpu_torch.py step`; the device is synchronised after every step.
//! - `embed`: evaluation forwards of 4 batches, each copied back to the host (as `sgm embed` does): images/s.
//!
//! `--dtype bf16|f16` runs the model's forward in that precision (weights cast per step, the loss and Adam in
//! f32); the CPU refuses it (candle's CPU convolutions are f32/f64 only for sgm's backbones).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use serde_json::{json, Value};
use sgm_core::SgmLoss;
use sgm_models::{seeded_var_builder, BackboneKind, EmbeddingModel, ModelConfig, NoiseState};
use sgm_train::train::trainable;
use sgm_train::{Adam, AdamConfig};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first().cloned() else {
        return Err("usage: gpu_check info|compare|step|embed|sgm …; see the module docs".into());
    };
    if cmd == "sgm" {
        sgm_cli::process::tune();
        let rest = std::iter::once("sgm".to_string()).chain(args[1..].iter().cloned());
        return match sgm_cli::run(rest) {
            Ok(()) => Ok(()),
            Err(e) => {
                eprintln!("error: {e}");
                for cause in e.chain().skip(1) {
                    eprintln!("  caused by: {cause}");
                }
                std::process::exit(1)
            }
        };
    }
    sgm_cli::process::tune();
    let result = Flags::parse(&args[1..]).and_then(|flags| match cmd.as_str() {
        "info" => info(&flags),
        "compare" => compare(&flags),
        "step" => step(&flags),
        "embed" => embed(&flags),
        other => Err(format!("unknown command {other:?}: info, compare, step, embed or sgm").into()),
    });
    if let Err(e) = result {
        // A refusal (a bf16 forward on the CPU, an unknown device) is a result too: one JSON line, exit 1.
        emit(json!({"what": cmd, "impl": "sgm", "error": e.to_string()}));
        std::process::exit(1);
    }
    Ok(())
}

/// `--name value` pairs.
struct Flags(BTreeMap<String, String>);

impl Flags {
    fn parse(args: &[String]) -> Res<Self> {
        let mut map = BTreeMap::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let name = a.strip_prefix("--").ok_or_else(|| format!("expected --flag, got {a:?}"))?;
            let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            map.insert(name.to_string(), value.clone());
        }
        Ok(Flags(map))
    }

    fn get(&self, name: &str, default: &str) -> String {
        self.0.get(name).cloned().unwrap_or_else(|| default.to_string())
    }

    fn num(&self, name: &str, default: usize) -> Res<usize> {
        match self.0.get(name) {
            Some(v) => Ok(v.parse().map_err(|_| format!("--{name}: not a number: {v:?}"))?),
            None => Ok(default),
        }
    }

    fn nums(&self, name: &str, default: &str) -> Res<Vec<usize>> {
        self.get(name, default)
            .split(',')
            .map(|v| v.trim().parse().map_err(|_| format!("--{name}: not a number: {v:?}").into()))
            .collect()
    }

    fn device(&self) -> Res<Device> {
        Ok(sgm_train::device::parse(&self.get("device", "cpu"))?)
    }

    fn dtype(&self, dev: &Device) -> Res<DType> {
        let d = match self.get("dtype", "f32").as_str() {
            "f32" => DType::F32,
            "bf16" => DType::BF16,
            "f16" => DType::F16,
            other => return Err(format!("--dtype {other:?}: f32, bf16 or f16").into()),
        };
        if d != DType::F32 && dev.is_cpu() {
            return Err(format!("--dtype {d:?} needs a GPU: on the CPU sgm's backbones run in f32 (or f64)").into());
        }
        Ok(d)
    }

    fn backbones(&self) -> Res<Vec<BackboneKind>> {
        match self.get("backbones", "all").as_str() {
            "all" => Ok(BackboneKind::ALL.to_vec()),
            list => list.split(',').map(|b| Ok(b.parse::<BackboneKind>()?)).collect(),
        }
    }
}

fn emit(v: Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

fn device_name(dev: &Device) -> String {
    format!("{:?}", dev.location())
}

fn info(flags: &Flags) -> Res<()> {
    let dev = flags.device();
    emit(json!({
        "what": "info",
        "sgm_version": env!("CARGO_PKG_VERSION"),
        "cuda_compiled": cfg!(feature = "cuda"),
        "metal_compiled": cfg!(feature = "metal"),
        "device": flags.get("device", "cpu"),
        "device_ok": dev.is_ok(),
        "device_error": dev.err().map(|e| e.to_string()),
        "threads": candle_core::utils::get_num_threads(),
    }));
    Ok(())
}

/// Deterministic pseudo-random images in [-1, 1), on the CPU.
fn images(batch: usize, size: usize, salt: u64) -> Res<Tensor> {
    let n = batch * size * size;
    let v: Vec<f32> = (0..n as u64)
        .map(|i| {
            let h = (i ^ salt.wrapping_mul(0x5851_F42D_4C95_7F2D)).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
                ^ 0xD1B5_4A32_D192_ED03;
            (h >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect();
    Ok(Tensor::from_vec(v, (batch, 1, size, size), &Device::Cpu)?)
}

fn model_on(kind: BackboneKind, size: usize, dev: &Device) -> Res<(VarMap, EmbeddingModel)> {
    let cfg = ModelConfig { backbone: kind, input_size: size, num_classes: None, ..Default::default() };
    let vm = VarMap::new();
    // The seeded builder draws every initial value on the CPU, then moves it: the same weights on every device.
    let model = EmbeddingModel::new(&cfg, seeded_var_builder(&vm, 1, DType::F32, dev))?;
    model.set_noise_state(NoiseState { seed: 11, forwards: 0 });
    Ok((vm, model))
}

fn fits(kind: BackboneKind, size: usize) -> bool {
    let (lo, hi) = kind.input_size_range();
    (lo..=hi).contains(&size)
}

fn flat(t: &Tensor) -> Res<Vec<f32>> {
    Ok(t.to_device(&Device::Cpu)?.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
}

/// max |a − b| / max |b|.
fn max_rel(a: &[f32], b: &[f32]) -> f64 {
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs() as f64)).max(1e-12);
    a.iter().zip(b).fold(0f64, |m, (x, y)| m.max((*x as f64 - *y as f64).abs())) / scale
}

/// What one device computed for the same batch.
struct Pass {
    /// The training forward's embeddings.
    train: Vec<f32>,
    /// The evaluation forward's embeddings.
    eval: Vec<f32>,
    /// Every variable's gradient, by name, sorted.
    grads: Vec<(String, Vec<f32>)>,
}

/// The training forward + backward and the evaluation forward of one model: embeddings and gradients by name.
fn forward_backward(vm: &VarMap, model: &EmbeddingModel, x: &Tensor) -> Res<Pass> {
    let dev = x.device().clone();
    let emb = model.forward(x, true)?.embedding;
    let n = emb.elem_count();
    let w: Vec<f32> = (0..n).map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0).collect();
    let w = Tensor::from_vec(w, emb.dims(), &Device::Cpu)?.to_device(&dev)?;
    let grads = (&emb * w)?.sum_all()?.backward()?;
    let mut out = Vec::new();
    let data = vm.data().lock().map_err(|_| "VarMap lock poisoned")?;
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let var: &Var = &data[name];
        if let Some(g) = grads.get(var) {
            out.push((name.clone(), flat(g)?));
        }
    }
    drop(data);
    let eval = model.forward(x, false)?.embedding;
    Ok(Pass { train: flat(&emb)?, eval: flat(&eval)?, grads: out })
}

fn compare(flags: &Flags) -> Res<()> {
    let dev = flags.device()?;
    let (size, batch) = (flags.num("size", 48)?, flags.num("batch", 16)?);
    for kind in flags.backbones()? {
        let t0 = Instant::now();
        let result = (|| -> Res<Value> {
            let x = images(batch, size, 7)?;
            let (vm_c, m_c) = model_on(kind, size, &Device::Cpu)?;
            let (vm_d, m_d) = model_on(kind, size, &dev)?;
            let cpu = forward_backward(&vm_c, &m_c, &x)?;
            let other = forward_backward(&vm_d, &m_d, &x.to_device(&dev)?)?;
            if cpu.grads.len() != other.grads.len() {
                let (a, b) = (cpu.grads.len(), other.grads.len());
                return Err(format!("{a} gradients on the CPU, {b} on {}", device_name(&dev)).into());
            }
            let (mut worst, mut worst_name) = (0f64, String::new());
            for ((name, a), (_, b)) in other.grads.iter().zip(&cpu.grads) {
                let d = max_rel(a, b);
                if d > worst || worst_name.is_empty() {
                    (worst, worst_name) = (d, name.clone());
                }
            }
            Ok(json!({
                "train_embedding_max_rel": max_rel(&other.train, &cpu.train),
                "eval_embedding_max_rel": max_rel(&other.eval, &cpu.eval),
                "gradient_max_rel": worst,
                "gradient_worst": worst_name,
                "gradients": cpu.grads.len(),
            }))
        })();
        let mut v = json!({"what": "compare", "backbone": kind.name(), "size": size, "batch": batch,
            "device": device_name(&dev), "seconds": t0.elapsed().as_secs_f64()});
        match result {
            Ok(r) => v.as_object_mut().unwrap().extend(r.as_object().unwrap().clone()),
            Err(e) => v["error"] = json!(e.to_string()),
        }
        emit(v);
    }
    Ok(())
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

/// The model's forward in `dtype`: the input and every weight cast (the casts are part of the graph, so the
/// gradients reach the f32 variables); embeddings back in f32 for the loss.
fn forward_in(model: &EmbeddingModel, x: &Tensor, train: bool, dtype: DType) -> Res<Tensor> {
    if dtype == DType::F32 {
        return Ok(model.forward(x, train)?.embedding);
    }
    Ok(model.forward_dtype(x, train, dtype)?.embedding.to_dtype(DType::F32)?)
}

fn step(flags: &Flags) -> Res<()> {
    let dev = flags.device()?;
    let dtype = flags.dtype(&dev)?;
    let (reps, warmup) = (flags.num("reps", 3)?, flags.num("warmup", 1)?);
    let (sizes, batches) = (flags.nums("sizes", "48,64,224")?, flags.nums("batches", "64,256")?);
    // Small cases first, so that a run cut short by its time limit has the most rows.
    for &size in &sizes {
        for &batch in &batches {
            for kind in flags.backbones()? {
                let mut v = json!({"what": "step", "impl": "sgm", "backbone": kind.name(), "size": size,
                    "batch": batch, "device": device_name(&dev), "dtype": format!("{dtype:?}").to_lowercase()});
                if !fits(kind, size) {
                    v["skipped"] = json!(format!("input {size} outside {:?}", kind.input_size_range()));
                    emit(v);
                    continue;
                }
                let r = (|| -> Res<Vec<f64>> {
                    let (vm, model) = model_on(kind, size, &dev)?;
                    let x = images(batch, size, 1)?.to_device(&dev)?;
                    let labels: Vec<u32> = (0..batch as u32).map(|i| i % 8).collect();
                    let labels = Tensor::from_vec(labels, batch, &Device::Cpu)?.to_device(&dev)?;
                    let loss_fn = SgmLoss::new(1.0);
                    let mut opt = Adam::new(trainable(&vm), AdamConfig { amsgrad: true, ..AdamConfig::default() })?;
                    let mut one = || -> Res<f64> {
                        let t0 = Instant::now();
                        let emb = forward_in(&model, &x, true, dtype)?;
                        let loss = loss_fn.forward(&emb, &labels)?;
                        let grads = loss.backward()?;
                        opt.step(&grads)?;
                        dev.synchronize()?;
                        Ok(t0.elapsed().as_secs_f64())
                    };
                    for _ in 0..warmup {
                        one()?;
                    }
                    (0..reps).map(|_| one()).collect()
                })();
                match r {
                    Ok(times) => {
                        let med = median(&times);
                        v["times_s"] = json!(times);
                        v["median_s"] = json!(med);
                        v["images_per_s"] = json!(batch as f64 / med);
                    }
                    Err(e) => v["error"] = json!(e.to_string()),
                }
                emit(v);
            }
        }
    }
    Ok(())
}

fn embed(flags: &Flags) -> Res<()> {
    let dev = flags.device()?;
    let dtype = flags.dtype(&dev)?;
    let (reps, warmup) = (flags.num("reps", 3)?, flags.num("warmup", 1)?);
    let (size, batch) = (flags.num("size", 48)?, flags.num("batch", 256)?);
    for kind in flags.backbones()? {
        let mut v = json!({"what": "embed", "impl": "sgm", "backbone": kind.name(), "size": size, "batch": batch,
            "device": device_name(&dev), "dtype": format!("{dtype:?}").to_lowercase()});
        if !fits(kind, size) {
            v["skipped"] = json!(format!("input {size} outside {:?}", kind.input_size_range()));
            emit(v);
            continue;
        }
        let r = (|| -> Res<Vec<f64>> {
            let (_vm, model) = model_on(kind, size, &dev)?;
            let xs: Vec<Tensor> =
                (0..4).map(|i| -> Res<Tensor> { Ok(images(batch, size, i)?.to_device(&dev)?) }).collect::<Res<_>>()?;
            let one = || -> Res<f64> {
                let t0 = Instant::now();
                for x in &xs {
                    forward_in(&model, x, false, dtype)?.to_device(&Device::Cpu)?.to_vec2::<f32>()?;
                }
                Ok(t0.elapsed().as_secs_f64())
            };
            for _ in 0..warmup {
                one()?;
            }
            (0..reps).map(|_| one()).collect()
        })();
        match r {
            Ok(times) => {
                let med = median(&times);
                v["times_s"] = json!(times);
                v["median_s"] = json!(med);
                v["images_per_s"] = json!(4.0 * batch as f64 / med);
            }
            Err(e) => v["error"] = json!(e.to_string()),
        }
        emit(v);
    }
    Ok(())
}
