//! Times one training step (forward + backward of a squared-norm loss) per backbone on the CPU.
//!
//! `cargo run --release -p sgm-models --example step_timing -- [SIZE] [BATCH] [BACKBONE…]`
//! (defaults: 48, 32, all backbones). Prints milliseconds per step and images per second.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use sgm_models::{seeded_var_builder, BackboneKind, EmbeddingModel, ModelConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let size: usize = args.first().map(|s| s.parse()).transpose()?.unwrap_or(48);
    let batch: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(32);
    let kinds: Vec<BackboneKind> = if args.len() > 2 {
        args[2..].iter().map(|s| s.parse()).collect::<Result<_, _>>()?
    } else {
        BackboneKind::ALL.to_vec()
    };
    for kind in kinds {
        let cfg = ModelConfig { backbone: kind, input_size: size, num_classes: Some(8), ..Default::default() };
        let vm = VarMap::new();
        let model = EmbeddingModel::new(&cfg, seeded_var_builder(&vm, 1, DType::F32, &Device::Cpu))?;
        let x = Tensor::randn(0f32, 1.0, (batch, 1, size, size), &Device::Cpu)?;
        let mut times = Vec::new();
        for _ in 0..3 {
            let t0 = Instant::now();
            let out = model.forward(&x, true)?;
            out.embedding.sqr()?.sum_all()?.backward()?;
            times.push(t0.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let t = times[1];
        println!("{kind:>16} {size}x{size} batch {batch}: {:8.1} ms/step, {:7.1} images/s", t * 1e3, batch as f64 / t);
    }
    Ok(())
}
