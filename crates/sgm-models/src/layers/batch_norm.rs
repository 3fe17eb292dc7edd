//! BatchNorm that can be switched off, and the rule telling buffers from parameters.
//!
//! candle_nn's `BatchNorm` already normalises with batch statistics and updates its running mean and variance in
//! training (`forward_t(x, true)`) and uses the running statistics in evaluation. The running statistics are
//! `Var`s in the `VarMap` (named `….running_mean`, `….running_var`) but never receive a gradient: the trainer must
//! keep them out of the optimiser ([`is_buffer`]) and save them in checkpoints.

use candle_core::{DType, Tensor, Var};
use candle_nn::{BatchNormConfig, ModuleT, VarBuilder};

use super::{fused, ForwardCtx};
use crate::error::{bad_input, Result};

/// `true` for variables that are state, not parameters: BatchNorm running statistics (`running_mean`,
/// `running_var`, and PyTorch's `num_batches_tracked`, should a converted checkpoint hold it).
pub fn is_buffer(var_name: &str) -> bool {
    let last = var_name.rsplit('.').next().unwrap_or(var_name);
    matches!(last, "running_mean" | "running_var" | "num_batches_tracked")
}

/// A 2-d BatchNorm (PyTorch defaults: eps 1e-5, momentum 0.1, affine) or, when disabled, the identity.
#[derive(Debug, Clone)]
pub struct Norm2d {
    bn: Option<candle_nn::BatchNorm>,
}

impl Norm2d {
    /// BatchNorm over `channels` under `vb` (weight 1, bias 0, running mean 0, running var 1) when `enabled`,
    /// else the identity with no variables.
    pub fn new(channels: usize, enabled: bool, vb: VarBuilder) -> Result<Self> {
        let bn = if enabled {
            let cfg = BatchNormConfig { eps: 1e-5, remove_mean: true, affine: true, momentum: 0.1 };
            Some(candle_nn::batch_norm(channels, cfg, vb)?)
        } else {
            None
        };
        Ok(Norm2d { bn })
    }

    /// Whether this is a real BatchNorm.
    pub fn is_enabled(&self) -> bool {
        self.bn.is_some()
    }

    /// Normalises `x` (N, C, H, W): batch statistics and running-statistic update when `train`, running
    /// statistics otherwise.
    ///
    /// On the CPU (f32/f64) this is one fused op with a hand-written backward; elsewhere candle_nn's `BatchNorm`.
    /// `ctx.kernels` picks sgm's fused op or candle_nn's (see [`super::route`]); `ctx.train` the mode; without
    /// `ctx.grad` the weight and bias are used detached ([`ForwardCtx::param`]).
    pub fn forward(&self, x: &Tensor, ctx: &ForwardCtx) -> Result<Tensor> {
        self.forward_inner(x, ctx, false)
    }

    /// `relu(self.forward(x, ctx))`, fused into the same pass on the CPU.
    pub fn forward_relu(&self, x: &Tensor, ctx: &ForwardCtx) -> Result<Tensor> {
        self.forward_inner(x, ctx, true)
    }

    fn forward_inner(&self, x: &Tensor, ctx: &ForwardCtx, relu: bool) -> Result<Tensor> {
        let (train, kernels) = (ctx.train, ctx.kernels);
        if let Some(bn) = &self.bn {
            if let (true, Some((w, b))) = (fused::fused_applies(x, kernels), bn.weight_and_bias()) {
                self.check_train_input(x, train)?;
                let running = (!train).then(|| (bn.running_mean(), bn.running_var()));
                let (w, b) = (ctx.param(w), ctx.param(b));
                let (y, stats) = fused::batch_norm(x, &w, &b, bn.eps(), running, relu)?;
                if train {
                    let (n, c, h, w) = x.dims4()?;
                    let m = (n * h * w) as f64;
                    let mom = bn.momentum();
                    let update = |var: &Tensor, batch: &[f64], factor: f64| -> Result<()> {
                        let old: Vec<f64> = var.to_dtype(DType::F64)?.to_vec1()?;
                        let new: Vec<f64> =
                            old.iter().zip(batch).map(|(o, b)| (1.0 - mom) * o + mom * factor * b).collect();
                        let new = Tensor::from_vec(new, c, var.device())?.to_dtype(var.dtype())?;
                        Var::from_tensor(var)?.set(&new)?;
                        Ok(())
                    };
                    update(bn.running_mean(), &stats.mean, 1.0)?;
                    update(bn.running_var(), &stats.var, m / (m - 1.0))?;
                }
                return Ok(y);
            }
        }
        let y = self.forward_candle(x, train)?;
        let y = ctx.param(&y);
        if relu {
            fused::relu(&y, kernels)
        } else {
            Ok(y)
        }
    }

    /// The evaluation-mode BatchNorm as a per-channel affine map, `(2, C)`: scales `γ/√(running_var + ε)`, then
    /// shifts `β − running_mean · scale`, computed with tensor ops so that gradients reach γ and β (not the running statistics). `None` when
    /// disabled.
    pub(crate) fn eval_scale_shift(&self) -> Result<Option<Tensor>> {
        let Some(bn) = &self.bn else { return Ok(None) };
        let Some((gamma, beta)) = bn.weight_and_bias() else { return Ok(None) };
        // The running statistics are state, not parameters: constants here, as in candle_nn's evaluation forward.
        let scale = (gamma / (bn.running_var().detach() + bn.eps())?.sqrt()?)?;
        let shift = (beta - (bn.running_mean().detach() * &scale)?)?;
        Ok(Some(Tensor::stack(&[scale, shift], 0)?))
    }

    fn check_train_input(&self, x: &Tensor, train: bool) -> Result<()> {
        // As PyTorch: batch statistics need more than one value per channel (the unbiased running variance would
        // divide by zero).
        if train && x.elem_count() / x.dim(1)?.max(1) < 2 {
            return Err(bad_input(format!(
                "BatchNorm in training mode needs more than one value per channel, got input {:?}",
                x.dims()
            )));
        }
        Ok(())
    }

    /// candle_nn's BatchNorm (the reference the fused op is tested against, and the non-CPU path).
    pub(crate) fn forward_candle(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        match &self.bn {
            Some(bn) => {
                self.check_train_input(x, train)?;
                Ok(bn.forward_t(x, train)?)
            }
            None => Ok(x.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;
    use candle_nn::VarMap;

    use super::*;
    use crate::seeded_var_builder;

    fn ctx(train: bool) -> ForwardCtx {
        use rand::SeedableRng;
        ForwardCtx::new(train, rand_chacha::ChaCha8Rng::seed_from_u64(0))
    }

    fn stats(vm: &VarMap, name: &str) -> Vec<f32> {
        let data = vm.data().lock().unwrap();
        data[name].as_tensor().to_dtype(DType::F32).unwrap().to_vec1().unwrap()
    }

    #[test]
    fn running_statistics_update_in_train_only_and_are_used_in_eval() {
        let vm = VarMap::new();
        let bn = Norm2d::new(2, true, seeded_var_builder(&vm, 0, DType::F32, &Device::Cpu).pp("bn")).unwrap();
        // Channel 0 holds 1..=8, channel 1 holds 10·(1..=8): means 4.5 and 45.
        let v: Vec<f32> = (0..2)
            .flat_map(|n| {
                (0..2).flat_map(move |c| {
                    (0..4).map(move |i| {
                        let k = (n * 4 + i + 1) as f32;
                        if c == 0 {
                            k
                        } else {
                            10.0 * k
                        }
                    })
                })
            })
            .collect();
        let x = Tensor::from_vec(v, (2, 2, 2, 2), &Device::Cpu).unwrap();
        assert_eq!(stats(&vm, "bn.running_mean"), vec![0.0, 0.0]);

        bn.forward(&x, &ctx(false)).unwrap();
        assert_eq!(stats(&vm, "bn.running_mean"), vec![0.0, 0.0], "eval must not update");
        assert_eq!(stats(&vm, "bn.running_var"), vec![1.0, 1.0]);

        let y = bn.forward(&x, &ctx(true)).unwrap();
        let m = stats(&vm, "bn.running_mean");
        assert!((m[0] - 0.45).abs() < 1e-5 && (m[1] - 4.5).abs() < 1e-4, "{m:?}");
        // Unbiased variance of 1..=8 is 6, momentum 0.1: 0.9 + 0.6.
        let var = stats(&vm, "bn.running_var");
        assert!((var[0] - 1.5).abs() < 1e-4 && (var[1] - (0.9 + 60.0)).abs() < 1e-2, "{var:?}");
        // Training output is batch-normalised: zero mean per channel.
        let mean0 = y.narrow(1, 0, 1).unwrap().mean_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(mean0.abs() < 1e-5);

        // Eval uses the running statistics: (x − 0.45)/sqrt(1.5 + eps) for channel 0.
        let e = bn.forward(&x, &ctx(false)).unwrap();
        let e0 = e.flatten_all().unwrap().to_vec1::<f32>().unwrap()[0];
        assert!((e0 - (1.0 - 0.45) / (1.5f32 + 1e-5).sqrt()).abs() < 1e-4, "{e0}");
        assert_eq!(stats(&vm, "bn.running_mean"), m, "eval must not update");

        // One value per channel cannot be batch-normalised in training (PyTorch refuses it too); eval can.
        let single = Tensor::ones((1, 2, 1, 1), DType::F32, &Device::Cpu).unwrap();
        assert!(bn.forward(&single, &ctx(true)).is_err());
        assert!(bn.forward(&single, &ctx(false)).is_ok());
    }

    #[test]
    fn disabled_is_identity_without_variables() {
        let vm = VarMap::new();
        let bn = Norm2d::new(3, false, seeded_var_builder(&vm, 0, DType::F32, &Device::Cpu)).unwrap();
        assert!(!bn.is_enabled());
        assert!(vm.all_vars().is_empty());
        let x = Tensor::ones((1, 3, 2, 2), DType::F32, &Device::Cpu).unwrap();
        assert_eq!(bn.forward(&x, &ctx(true)).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap(), 12.0);
    }

    /// The fused op against candle_nn's BatchNorm (and candle's ReLU): outputs, gradients of x, weight and bias,
    /// running statistics, in training and evaluation, with and without the fused ReLU, on odd shapes.
    #[test]
    fn fused_matches_candle_batch_norm() {
        for (case, (n, c, h, w)) in
            [(2, 3, 5, 7), (4, 1, 1, 3), (3, 5, 4, 4), (1, 2, 9, 1), (6, 4, 2, 3)].into_iter().enumerate()
        {
            for dtype in [DType::F64, DType::F32] {
                let tol = if dtype == DType::F64 { 1e-10 } else { 2e-4 };
                for relu in [false, true] {
                    let (vm1, vm2) = (VarMap::new(), VarMap::new());
                    let bn1 = Norm2d::new(c, true, seeded_var_builder(&vm1, 0, dtype, &Device::Cpu)).unwrap();
                    let bn2 = Norm2d::new(c, true, seeded_var_builder(&vm2, 0, dtype, &Device::Cpu)).unwrap();
                    // Non-trivial affine parameters, identical in both.
                    for vm in [&vm1, &vm2] {
                        let data = vm.data().lock().unwrap();
                        let wv: Vec<f64> = (0..c).map(|i| 0.5 + 0.3 * i as f64).collect();
                        let bv: Vec<f64> = (0..c).map(|i| 0.1 * i as f64 - 0.2).collect();
                        data["weight"].set(&Tensor::new(wv, &Device::Cpu).unwrap().to_dtype(dtype).unwrap()).unwrap();
                        data["bias"].set(&Tensor::new(bv, &Device::Cpu).unwrap().to_dtype(dtype).unwrap()).unwrap();
                    }
                    let x = Var::from_tensor(
                        &(Tensor::randn(0f64, 2.0, (n, c, h, w), &Device::Cpu).unwrap() + 0.7)
                            .unwrap()
                            .to_dtype(dtype)
                            .unwrap(),
                    )
                    .unwrap();
                    let weights =
                        Tensor::randn(0f64, 1.0, (n, c, h, w), &Device::Cpu).unwrap().to_dtype(dtype).unwrap();
                    for train in [true, false, true] {
                        let ours = bn1.forward_inner(x.as_tensor(), &ctx(train), relu).unwrap();
                        let theirs = bn2.forward_candle(x.as_tensor(), train).unwrap();
                        let theirs = if relu { theirs.relu().unwrap() } else { theirs };
                        let diff = |a: &Tensor, b: &Tensor| -> f64 {
                            (a - b)
                                .unwrap()
                                .abs()
                                .unwrap()
                                .flatten_all()
                                .unwrap()
                                .max(0)
                                .unwrap()
                                .to_dtype(DType::F64)
                                .unwrap()
                                .to_scalar::<f64>()
                                .unwrap()
                        };
                        let what = format!("case {case} {dtype:?} relu {relu} train {train}");
                        assert!(diff(&ours, &theirs) < tol, "{what}: output");
                        let g1 = (&ours * &weights).unwrap().sum_all().unwrap().backward().unwrap();
                        let g2 = (&theirs * &weights).unwrap().sum_all().unwrap().backward().unwrap();
                        let d = diff(g1.get(x.as_tensor()).unwrap(), g2.get(x.as_tensor()).unwrap());
                        assert!(d < tol * 10.0, "{what}: input gradient {d}");
                        for name in ["weight", "bias"] {
                            let (v1, v2) =
                                (vm1.data().lock().unwrap()[name].clone(), vm2.data().lock().unwrap()[name].clone());
                            let d = diff(g1.get(&v1).unwrap(), g2.get(&v2).unwrap());
                            assert!(d < tol * 10.0 * (n * h * w) as f64, "{what}: {name} gradient {d}");
                        }
                        for name in ["running_mean", "running_var"] {
                            let (a, b) = (stats(&vm1, name), stats(&vm2, name));
                            let d = a.iter().zip(&b).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
                            assert!(d < 1e-4, "{what}: {name} {a:?} vs {b:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn buffers_are_running_statistics() {
        assert!(is_buffer("layer1.0.bn1.running_mean"));
        assert!(is_buffer("bn.running_var"));
        assert!(is_buffer("running_var"));
        assert!(!is_buffer("layer1.0.bn1.weight"));
        assert!(!is_buffer("running_mean_scale.weight"));
    }
}
