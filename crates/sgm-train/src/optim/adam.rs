//! Adam with the AMSGrad option, as PyTorch's `torch.optim.Adam` (weight decay is the coupled L2 form: added to
//! the gradient) or, with [`AdamConfig::decoupled_weight_decay`], as `torch.optim.AdamW` (each weight shrunk by
//! `1 − lr·weight_decay` before the step). The authors trained with `Adam(amsgrad=True, lr=1e-4)`.
//!
//! On the CPU the update of each parameter is one fused in-place kernel over its storage (a candle
//! [`InplaceOp2`]): the moments live in plain vectors and nothing is allocated per step. Elsewhere the same
//! arithmetic runs as a chain of candle tensor ops, which is also the reference the fused kernel is tested
//! against.

use crate::error::{Result, TrainError};
use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, InplaceOp2, Layout, Tensor, Var};
use sgm_models::layers::{route, Kernels, Route};
use std::cell::RefCell;
use std::sync::Mutex;

/// Adam hyper-parameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamConfig {
    /// Learning rate (the paper: 1e-4).
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator epsilon.
    pub eps: f64,
    /// Weight decay; the paper: 0. Coupled (PyTorch's Adam `weight_decay`: added to the gradient as an L2 term)
    /// unless [`AdamConfig::decoupled_weight_decay`].
    pub weight_decay: f64,
    /// AdamW (Loshchilov & Hutter): decay the weights directly, `w ← w·(1 − lr·weight_decay)`, instead of adding
    /// `weight_decay·w` to the gradient, as PyTorch's `AdamW`. Left out of a written configuration when off.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub decoupled_weight_decay: bool,
    /// Use the running maximum of the second moment (AMSGrad); the paper: true.
    pub amsgrad: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-4,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            amsgrad: true,
        }
    }
}

impl AdamConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<()> {
        let ok = self.lr.is_finite()
            && self.lr > 0.0
            && (0.0..1.0).contains(&self.beta1)
            && (0.0..1.0).contains(&self.beta2)
            && self.eps.is_finite()
            && self.eps > 0.0
            && self.weight_decay.is_finite()
            && self.weight_decay >= 0.0;
        if !ok {
            return Err(TrainError::Config(format!(
                "adam needs lr > 0, 0 ≤ beta < 1, eps > 0 and weight_decay ≥ 0; got {self:?}"
            )));
        }
        Ok(())
    }
}

/// The moments of one parameter.
#[derive(Debug)]
enum Moments {
    /// CPU: plain vectors updated by the fused kernel.
    Host { m: Vec<f32>, v: Vec<f32>, v_max: Vec<f32> },
    /// Other devices: tensors.
    Device { m: Tensor, v: Tensor, v_max: Tensor },
}

#[derive(Debug)]
struct Slot {
    name: String,
    var: Var,
    moments: Mutex<Moments>,
}

/// Adam over a fixed list of named parameters.
#[derive(Debug)]
pub struct Adam {
    cfg: AdamConfig,
    slots: Vec<Slot>,
    step: u64,
    fused: bool,
}

impl Adam {
    /// An optimiser over `params` (name, variable). Names identify the moments in [`Adam::state`].
    pub fn new(params: Vec<(String, Var)>, cfg: AdamConfig) -> Result<Self> {
        Self::with_fused(params, cfg, true)
    }

    /// As [`Adam::new`]; `fused = false` forces the tensor-op path even on the CPU (the reference).
    pub fn with_fused(params: Vec<(String, Var)>, cfg: AdamConfig, fused: bool) -> Result<Self> {
        cfg.validate()?;
        let slots = params
            .into_iter()
            .map(|(name, var)| {
                let t = var.as_tensor();
                // The kernel exists for CPU f32 only: sgm_models' one routing decision, then the dtype.
                let kernels = if fused { Kernels::Fast } else { Kernels::Candle };
                let on_kernel = route(t.device().location(), t.dtype(), kernels) == Route::CpuKernel;
                let moments = if on_kernel && t.dtype() == candle_core::DType::F32 {
                    let n = t.elem_count();
                    Moments::Host { m: vec![0.0; n], v: vec![0.0; n], v_max: vec![0.0; n] }
                } else {
                    Moments::Device { m: t.zeros_like()?, v: t.zeros_like()?, v_max: t.zeros_like()? }
                };
                Ok(Slot { name, var, moments: Mutex::new(moments) })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { cfg, slots, step: 0, fused })
    }

    /// The configuration.
    pub fn config(&self) -> &AdamConfig {
        &self.cfg
    }

    /// Changes the learning rate (for schedules).
    pub fn set_lr(&mut self, lr: f64) {
        self.cfg.lr = lr;
    }

    /// Steps taken so far.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// One update from the gradients in `grads`. Parameters without a gradient are left unchanged (their
    /// moments too), as PyTorch does.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let hyper = StepHyper::new(&self.cfg, self.step);
        for slot in &self.slots {
            let Some(grad) = grads.get(slot.var.as_tensor()) else { continue };
            let mut moments = slot.moments.lock().unwrap_or_else(|p| p.into_inner());
            match &mut *moments {
                Moments::Host { m, v, v_max } => {
                    let grad = grad.contiguous()?;
                    let kernel = FusedAdam { hyper, moments: RefCell::new((m, v, v_max)) };
                    slot.var.as_tensor().inplace_op2(&grad, &kernel)?;
                }
                Moments::Device { m, v, v_max } => {
                    let new = device_step(slot.var.as_tensor(), grad, m, v, v_max, &hyper)?;
                    slot.var.set(&new)?;
                }
            }
        }
        Ok(())
    }

    /// The optimiser state as named tensors (`<param>.m`, `<param>.v`, `<param>.v_max`, and `step`), for
    /// checkpoints.
    pub fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = vec![("step".to_string(), Tensor::new(&[self.step as i64], &candle_core::Device::Cpu)?)];
        for slot in &self.slots {
            let moments = slot.moments.lock().unwrap_or_else(|p| p.into_inner());
            let shape = slot.var.as_tensor().shape().clone();
            let tensors: [(&str, Tensor); 3] = match &*moments {
                Moments::Host { m, v, v_max } => {
                    let dev = &candle_core::Device::Cpu;
                    [
                        ("m", Tensor::from_slice(m, shape.clone(), dev)?),
                        ("v", Tensor::from_slice(v, shape.clone(), dev)?),
                        ("v_max", Tensor::from_slice(v_max, shape, dev)?),
                    ]
                }
                Moments::Device { m, v, v_max } => [("m", m.clone()), ("v", v.clone()), ("v_max", v_max.clone())],
            };
            out.extend(tensors.into_iter().map(|(k, t)| (format!("{}.{k}", slot.name), t)));
        }
        Ok(out)
    }

    /// Restores a state written by [`Adam::state`]; every parameter must be present with its shape.
    pub fn load_state(&mut self, state: &std::collections::HashMap<String, Tensor>) -> Result<()> {
        let missing = |k: &str| TrainError::Checkpoint(format!("optimiser state lacks '{k}'"));
        let step = state.get("step").ok_or_else(|| missing("step"))?;
        self.step = step.flatten_all()?.to_vec1::<i64>()?.first().copied().unwrap_or(0).max(0) as u64;
        for slot in &self.slots {
            let get = |k: &str| -> Result<Tensor> {
                let key = format!("{}.{k}", slot.name);
                let t = state.get(&key).ok_or_else(|| missing(&key))?;
                if t.shape() != slot.var.as_tensor().shape() {
                    return Err(TrainError::Checkpoint(format!(
                        "optimiser state '{key}' has shape {:?}, the parameter {:?}",
                        t.dims(),
                        slot.var.as_tensor().dims()
                    )));
                }
                Ok(t.to_dtype(slot.var.as_tensor().dtype())?.to_device(slot.var.as_tensor().device())?)
            };
            let (m, v, v_max) = (get("m")?, get("v")?, get("v_max")?);
            let mut moments = slot.moments.lock().unwrap_or_else(|p| p.into_inner());
            *moments = match &*moments {
                Moments::Host { .. } => Moments::Host {
                    m: m.flatten_all()?.to_vec1()?,
                    v: v.flatten_all()?.to_vec1()?,
                    v_max: v_max.flatten_all()?.to_vec1()?,
                },
                Moments::Device { .. } => Moments::Device { m, v, v_max },
            };
        }
        Ok(())
    }

    /// Whether the fused CPU kernel is in use for at least one parameter.
    pub fn is_fused(&self) -> bool {
        self.fused
            && self
                .slots
                .iter()
                .any(|s| matches!(*s.moments.lock().unwrap_or_else(|p| p.into_inner()), Moments::Host { .. }))
    }
}

/// candle's optimiser interface, so that `Adam` drops into code written for `candle_nn::AdamW` or `SGD`. Variables
/// given without names are called `param.0`, `param.1`, … in [`Adam::state`].
impl candle_nn::Optimizer for Adam {
    type Config = AdamConfig;

    fn new(vars: Vec<Var>, config: AdamConfig) -> candle_core::Result<Self> {
        let named = vars.into_iter().enumerate().map(|(i, v)| (format!("param.{i}"), v)).collect();
        Adam::new(named, config).map_err(candle_core::Error::wrap)
    }

    fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        Adam::step(self, grads).map_err(candle_core::Error::wrap)
    }

    fn learning_rate(&self) -> f64 {
        self.cfg.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.set_lr(lr);
    }
}

/// Per-step constants.
#[derive(Debug, Clone, Copy)]
struct StepHyper {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// Coupled weight decay (0 when decoupled).
    weight_decay: f64,
    /// The factor every weight is multiplied by before the step: `1 − lr·weight_decay` when decoupled, else 1.
    shrink: f64,
    amsgrad: bool,
    bias1: f64,
    bias2_sqrt: f64,
}

impl StepHyper {
    fn new(cfg: &AdamConfig, step: u64) -> Self {
        let t = step as i32;
        Self {
            lr: cfg.lr,
            beta1: cfg.beta1,
            beta2: cfg.beta2,
            eps: cfg.eps,
            weight_decay: if cfg.decoupled_weight_decay { 0.0 } else { cfg.weight_decay },
            shrink: if cfg.decoupled_weight_decay { 1.0 - cfg.lr * cfg.weight_decay } else { 1.0 },
            amsgrad: cfg.amsgrad,
            bias1: 1.0 - cfg.beta1.powi(t),
            bias2_sqrt: (1.0 - cfg.beta2.powi(t)).sqrt(),
        }
    }
}

/// The fused kernel: borrows one parameter's moments for the duration of the call.
struct FusedAdam<'a> {
    hyper: StepHyper,
    #[allow(clippy::type_complexity)]
    moments: RefCell<(&'a mut Vec<f32>, &'a mut Vec<f32>, &'a mut Vec<f32>)>,
}

impl InplaceOp2 for FusedAdam<'_> {
    fn name(&self) -> &'static str {
        "sgm-fused-adam"
    }

    fn cpu_fwd(&self, s1: &mut CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> candle_core::Result<()> {
        let (CpuStorage::F32(param), CpuStorage::F32(grad)) = (s1, s2) else {
            candle_core::bail!("fused adam supports f32 parameters only")
        };
        let (Some((p0, p1)), Some((g0, g1))) = (l1.contiguous_offsets(), l2.contiguous_offsets()) else {
            candle_core::bail!("fused adam needs contiguous parameters and gradients")
        };
        let (param, grad) = (&mut param[p0..p1], &grad[g0..g1]);
        let mut guard = self.moments.borrow_mut();
        let (m, v, v_max) = &mut *guard;
        if m.len() != param.len() || grad.len() != param.len() {
            candle_core::bail!("fused adam: parameter, gradient and moments differ in length");
        }
        let c = Coefficients::new(&self.hyper);
        use rayon::prelude::*;
        const CHUNK: usize = 1 << 15;
        if param.len() > 4 * CHUNK {
            param
                .par_chunks_mut(CHUNK)
                .zip(grad.par_chunks(CHUNK))
                .zip(m.par_chunks_mut(CHUNK))
                .zip(v.par_chunks_mut(CHUNK).zip(v_max.par_chunks_mut(CHUNK)))
                .for_each(|(((p, g), m), (v, vm))| c.update(p, g, m, v, vm));
        } else {
            c.update(param, grad, m, v, v_max);
        }
        Ok(())
    }
}

/// The per-step constants of the fused kernel, in f32.
#[derive(Debug, Clone, Copy)]
struct Coefficients {
    beta1: f32,
    beta2: f32,
    weight_decay: f32,
    shrink: f32,
    eps: f32,
    step_size: f32,
    inv_bias2_sqrt: f32,
    amsgrad: bool,
}

impl Coefficients {
    fn new(h: &StepHyper) -> Self {
        Self {
            beta1: h.beta1 as f32,
            beta2: h.beta2 as f32,
            weight_decay: h.weight_decay as f32,
            shrink: h.shrink as f32,
            eps: h.eps as f32,
            step_size: (h.lr / h.bias1) as f32,
            inv_bias2_sqrt: (1.0 / h.bias2_sqrt) as f32,
            amsgrad: h.amsgrad,
        }
    }

    /// One Adam/AMSGrad update of a slice of parameters, in place. The decoupled decay's factor is applied on
    /// every path: without it the factor is exactly 1 and changes no result.
    fn update(&self, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], v_max: &mut [f32]) {
        match (self.amsgrad, self.weight_decay != 0.0) {
            (true, true) => self.update_with::<true, true>(p, g, m, v, v_max),
            (true, false) => self.update_with::<true, false>(p, g, m, v, v_max),
            (false, true) => self.update_with::<false, true>(p, g, m, v, v_max),
            (false, false) => self.update_with::<false, false>(p, g, m, v, v_max),
        }
    }

    /// [`Coefficients::update`] with its two switches fixed, and every slice cut to the parameters' length, so that
    /// the loop has no branches and no bounds checks and is vectorised (the arithmetic, and so every result, is
    /// the same as one element at a time).
    #[inline(always)]
    fn update_with<const AMSGRAD: bool, const DECAY: bool>(
        &self,
        p: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        v_max: &mut [f32],
    ) {
        let n = p.len();
        let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
        let v_max = &mut v_max[..if AMSGRAD { n } else { 0 }];
        for i in 0..n {
            let g = if DECAY { g[i] + self.weight_decay * p[i] } else { g[i] };
            m[i] = self.beta1 * m[i] + (1.0 - self.beta1) * g;
            v[i] = self.beta2 * v[i] + (1.0 - self.beta2) * g * g;
            let second = if AMSGRAD {
                v_max[i] = v_max[i].max(v[i]);
                v_max[i]
            } else {
                v[i]
            };
            p[i] = p[i] * self.shrink - self.step_size * m[i] / (second.sqrt() * self.inv_bias2_sqrt + self.eps);
        }
    }
}

/// The same update as the fused kernel, with candle tensor ops.
fn device_step(
    p: &Tensor,
    grad: &Tensor,
    m: &mut Tensor,
    v: &mut Tensor,
    v_max: &mut Tensor,
    h: &StepHyper,
) -> Result<Tensor> {
    let g = if h.weight_decay != 0.0 { (grad + (p * h.weight_decay)?)? } else { grad.clone() };
    *m = ((&*m * h.beta1)? + (&g * (1.0 - h.beta1))?)?;
    *v = ((&*v * h.beta2)? + (g.sqr()? * (1.0 - h.beta2))?)?;
    let second = if h.amsgrad {
        *v_max = v_max.maximum(&*v)?;
        v_max.clone()
    } else {
        v.clone()
    };
    let denom = ((second.sqrt()? / h.bias2_sqrt)? + h.eps)?;
    let p = if h.shrink != 1.0 { (p * h.shrink)? } else { p.clone() };
    Ok((p - ((&*m / denom)? * (h.lr / h.bias1))?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use candle_nn::Optimizer;

    /// Through candle's interface (unnamed variables, `backward_step`), Adam minimises |w|² as it does directly.
    #[test]
    fn as_a_candle_optimizer_it_minimises_and_names_unnamed_variables() {
        let w = Var::new(&[3.0f32, -2.0], &Device::Cpu).unwrap();
        let cfg = AdamConfig { lr: 0.1, ..Default::default() };
        let mut opt = <Adam as Optimizer>::new(vec![w.clone()], cfg).unwrap();
        assert_eq!(opt.learning_rate(), 0.1);
        for _ in 0..100 {
            opt.backward_step(&w.as_tensor().sqr().unwrap().sum_all().unwrap()).unwrap();
        }
        assert!(w.as_tensor().abs().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap() < 0.5);
        opt.set_learning_rate(0.01);
        assert_eq!(opt.config().lr, 0.01);
        assert!(opt.state().unwrap().iter().any(|(n, _)| n == "param.0.m"), "moments named param.0.*");
    }
}
