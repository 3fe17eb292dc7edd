//! Fused CPU kernels for the element-wise layers around the convolutions: BatchNorm (+ ReLU) and ReLU.
//!
//! candle's `BatchNorm::forward_train` is a chain of about ten tensor ops (a transposing copy, means, broadcast
//! subtract/divide/multiply/add, a transposed result that the next convolution copies again), and its backward
//! walks the same chain; candle's ReLU backward allocates three temporaries (`zeros_like`, `ge`, a cast) before the
//! multiply. Here each is one custom op with a hand-written backward:
//!
//! - [`batch_norm`]: per-channel statistics in f64 (two passes), then one pass writing `x·scale + shift`, with an
//!   optional ReLU in the same pass. In training it normalises with the batch statistics (biased variance) and
//!   returns them so that the caller updates its running statistics; in evaluation it uses the running ones. The
//!   backward is two passes: per-channel sums of `dz` and `dz·x̂`, then `dx` per plane.
//! - [`relu`]: `max(x, 0)`; backward `grad · [y > 0]` (PyTorch's rule) in one pass.
//!
//! Both fall back to candle's ops on other devices and other dtypes.

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Storage, Tensor};
use rayon::prelude::*;

use super::conv_kernels::Float;
use super::plane_sums::{channel_grad_sums, channel_mean_var, dz};
use super::scratch::par_filled;
use super::{Kernels, Route};

fn slice<'a, T>(data: &'a [T], layout: &Layout) -> candle_core::Result<&'a [T]> {
    match layout.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => candle_core::bail!("fused op needs contiguous tensors"),
    }
}

/// Per-channel statistics of a batch-norm forward.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stats {
    /// Mean used for normalisation (batch mean in training, running mean in evaluation).
    pub mean: Vec<f64>,
    /// Biased variance used (batch variance in training, running variance in evaluation).
    pub var: Vec<f64>,
}

/// The batch-norm op: inputs `x (N, C, H, W)`, `weight (C)`, `bias (C)`.
struct BatchNormOp {
    eps: f64,
    relu: bool,
    /// `Some` in evaluation: normalise with these instead of the batch statistics.
    fixed: Option<Stats>,
    /// What the forward used, for the backward and for the caller's running-statistic update.
    used: Arc<Mutex<Option<Stats>>>,
}

fn dims4(l: &Layout) -> candle_core::Result<(usize, usize, usize)> {
    let (n, c, h, w) = l.shape().dims4()?;
    Ok((n, c, h * w))
}

/// Per-channel mean and biased variance of `x (n, c, hw)` in f64 (one read of the data: see [`plane_sums`]).
fn channel_stats<T: Float>(x: &[T], n: usize, c: usize, hw: usize) -> Stats {
    let per: Vec<(f64, f64)> = (0..c).into_par_iter().map(|ch| channel_mean_var(x, (n, c, hw), ch)).collect();
    Stats { mean: per.iter().map(|p| p.0).collect(), var: per.iter().map(|p| p.1).collect() }
}

impl BatchNormOp {
    fn forward_typed<T: Float>(&self, x: &[T], lx: &Layout, w: &[T], b: &[T]) -> candle_core::Result<Vec<T>> {
        let (n, c, hw) = dims4(lx)?;
        let x = slice(x, lx)?;
        let stats = match &self.fixed {
            Some(s) => s.clone(),
            None => channel_stats(x, n, c, hw),
        };
        // z = (x − mean)·scale + bias: subtracting the mean first keeps f32 exact where |mean| ≫ std (the folded
        // form x·scale + (bias − mean·scale) cancels catastrophically there).
        let scale: Vec<T> = (0..c).map(|ch| T::from_f64(w[ch].to_f64() / (stats.var[ch] + self.eps).sqrt())).collect();
        let mean: Vec<T> = stats.mean.iter().map(|&m| T::from_f64(m)).collect();
        let relu = self.relu;
        let hw1 = hw.max(1);
        // SAFETY: every plane's values are written.
        let y = unsafe {
            par_filled(x.len(), hw1, |p, yp| {
                let xp = &x[p * hw1..][..yp.len()];
                let (m, s, t) = (mean[p % c], scale[p % c], b[p % c]);
                if relu {
                    for (o, &v) in yp.iter_mut().zip(xp) {
                        let z = (v - m) * s + t;
                        o.write(if z > T::zero() { z } else { T::zero() });
                    }
                } else {
                    for (o, &v) in yp.iter_mut().zip(xp) {
                        o.write((v - m) * s + t);
                    }
                }
            })
        };
        *self.used.lock().unwrap_or_else(|p| p.into_inner()) = Some(stats);
        Ok(y)
    }

    #[allow(clippy::too_many_arguments)]
    fn backward_typed<T: Float>(
        &self,
        (x, lx): (&[T], &Layout),
        w: &[T],
        (y, ly): (&[T], &Layout),
        (g, lg): (&[T], &Layout),
        stats: &Stats,
    ) -> candle_core::Result<(Vec<T>, Vec<T>, Vec<T>)> {
        let (n, c, hw) = dims4(lx)?;
        let (x, y, g) = (slice(x, lx)?, slice(y, ly)?, slice(g, lg)?);
        let m = (n * hw) as f64;
        let invstd: Vec<f64> = stats.var.iter().map(|v| 1.0 / (v + self.eps).sqrt()).collect();
        let mean: Vec<T> = stats.mean.iter().map(|&v| T::from_f64(v)).collect();
        // Σ dz and Σ dz·(x − mean) per channel.
        let sums: Vec<(f64, f64)> = (0..c)
            .into_par_iter()
            .map(|ch| match self.relu {
                true => channel_grad_sums::<T, true>(x, y, g, (n, c, hw), ch, mean[ch]),
                false => channel_grad_sums::<T, false>(x, y, g, (n, c, hw), ch, mean[ch]),
            })
            .collect();
        // dx = k·(dz − Σdz/m − x̂·Σ(dz·x̂)/m), k = w/σ, x̂ = (x − mean)/σ: per channel a·dz + b·(x − mean) + c
        // (in evaluation, with fixed statistics, k·dz).
        let train = self.fixed.is_none();
        let coef: Vec<[T; 3]> = (0..c)
            .map(|ch| {
                let (is, (s, sxc)) = (invstd[ch], sums[ch]);
                let k = w[ch].to_f64() * is;
                match train {
                    true => [k, -k * is * is * sxc / m, -k * s / m].map(T::from_f64),
                    false => [k, 0.0, 0.0].map(T::from_f64),
                }
            })
            .collect();
        let dx = match (self.relu, train) {
            (true, true) => input_gradient::<T, true, true>(x, y, g, c, hw, &mean, &coef),
            (true, false) => input_gradient::<T, true, false>(x, y, g, c, hw, &mean, &coef),
            (false, true) => input_gradient::<T, false, true>(x, y, g, c, hw, &mean, &coef),
            (false, false) => input_gradient::<T, false, false>(x, y, g, c, hw, &mean, &coef),
        };
        let sums: Vec<(f64, f64)> = sums.iter().zip(&invstd).map(|(&(s, sxc), is)| (s, sxc * is)).collect();
        let dw = sums.iter().map(|s| T::from_f64(s.1)).collect();
        let db = sums.iter().map(|s| T::from_f64(s.0)).collect();
        Ok((dx, dw, db))
    }
}

/// BatchNorm's input gradient, plane by plane: `a·dz + b·(x − mean) + c` with channel `ch`'s `[a, b, c]` (without
/// `TRAIN`, `a·dz`).
fn input_gradient<T: Float, const RELU: bool, const TRAIN: bool>(
    x: &[T],
    y: &[T],
    g: &[T],
    c: usize,
    hw: usize,
    mean: &[T],
    coef: &[[T; 3]],
) -> Vec<T> {
    let hw = hw.max(1);
    // SAFETY: every plane's values are written (the zip runs over the whole chunk: x, y and g are as long).
    unsafe {
        par_filled(x.len(), hw, |p, out| {
            let (ch, off) = (p % c, p * hw);
            let ([a, b, k], mean) = (coef[ch], mean[ch]);
            let (x, y, g) = (&x[off..][..out.len()], &y[off..][..out.len()], &g[off..][..out.len()]);
            for (((o, &xv), &yv), &gv) in out.iter_mut().zip(x).zip(y).zip(g) {
                let d = dz::<T, RELU>(yv, gv);
                o.write(if TRAIN { a * d + b * (xv - mean) + k } else { a * d });
            }
        })
    }
}

impl CustomOp3 for BatchNormOp {
    fn name(&self) -> &'static str {
        "sgm-batch-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let shape = l1.shape().clone();
        match (s1, s2, s3) {
            (CpuStorage::F32(x), CpuStorage::F32(w), CpuStorage::F32(b)) => {
                Ok((CpuStorage::F32(self.forward_typed(x, l1, slice(w, l2)?, slice(b, l3)?)?), shape))
            }
            (CpuStorage::F64(x), CpuStorage::F64(w), CpuStorage::F64(b)) => {
                Ok((CpuStorage::F64(self.forward_typed(x, l1, slice(w, l2)?, slice(b, l3)?)?), shape))
            }
            _ => candle_core::bail!("sgm batch-norm supports f32 and f64 with matching dtypes"),
        }
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let stats = self.used.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(stats) = stats else { candle_core::bail!("sgm batch-norm: backward before forward") };
        let grad = grad.contiguous()?;
        let (xs, lx) = x.storage_and_layout();
        let (ws, lw) = w.storage_and_layout();
        let (ys, ly) = res.storage_and_layout();
        let (gs, lg) = grad.storage_and_layout();
        let cpu = &candle_core::Device::Cpu;
        macro_rules! run {
            ($x:expr, $w:expr, $y:expr, $g:expr) => {{
                let (dx, dw, db) = self.backward_typed(($x, lx), slice($w, lw)?, ($y, ly), ($g, lg), &stats)?;
                (
                    Tensor::from_vec(dx, lx.shape(), cpu)?,
                    Tensor::from_vec(dw, b.shape(), cpu)?,
                    Tensor::from_vec(db, b.shape(), cpu)?,
                )
            }};
        }
        let (dx, dw, db) = match (&*xs, &*ws, &*ys, &*gs) {
            (
                Storage::Cpu(CpuStorage::F32(x)),
                Storage::Cpu(CpuStorage::F32(w)),
                Storage::Cpu(CpuStorage::F32(y)),
                Storage::Cpu(CpuStorage::F32(g)),
            ) => run!(x, w, y, g),
            (
                Storage::Cpu(CpuStorage::F64(x)),
                Storage::Cpu(CpuStorage::F64(w)),
                Storage::Cpu(CpuStorage::F64(y)),
                Storage::Cpu(CpuStorage::F64(g)),
            ) => run!(x, w, y, g),
            _ => candle_core::bail!("sgm batch-norm backward supports f32 and f64 CPU tensors"),
        };
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

/// Whether the fused CPU kernels apply to `x`.
pub(crate) fn fused_applies(x: &Tensor, kernels: Kernels) -> bool {
    super::route_of(x, kernels) == Route::CpuKernel && x.rank() == 4
}

/// BatchNorm (+ ReLU when `relu`) of `x (N, C, H, W)` on the CPU. `running` = `Some((mean, var))` normalises with
/// those (evaluation); `None` normalises with the batch statistics, which are returned (mean, biased variance).
pub(crate) fn batch_norm(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
    running: Option<(&Tensor, &Tensor)>,
    relu: bool,
) -> candle_core::Result<(Tensor, Stats)> {
    let fixed = match running {
        Some((m, v)) => Some(Stats {
            mean: m.to_dtype(candle_core::DType::F64)?.to_vec1()?,
            var: v.to_dtype(candle_core::DType::F64)?.to_vec1()?,
        }),
        None => None,
    };
    let used = Arc::new(Mutex::new(None));
    let op = BatchNormOp { eps, relu, fixed, used: used.clone() };
    let y = x.contiguous()?.apply_op3(&weight.contiguous()?, &bias.contiguous()?, op)?;
    let stats = used.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_default();
    Ok((y, stats))
}

/// ReLU with a one-pass backward.
struct ReluOp;

impl ReluOp {
    fn forward_typed<T: Float>(x: &[T], l: &Layout) -> candle_core::Result<Vec<T>> {
        let x = slice(x, l)?;
        const CHUNK: usize = 1 << 14;
        // SAFETY: every chunk's values are written.
        Ok(unsafe {
            par_filled(x.len(), CHUNK, |i, yc| {
                for (o, &v) in yc.iter_mut().zip(&x[i * CHUNK..]) {
                    o.write(if v > T::zero() { v } else { T::zero() });
                }
            })
        })
    }

    fn backward_typed<T: Float>(y: &[T], ly: &Layout, g: &[T], lg: &Layout) -> candle_core::Result<Vec<T>> {
        let (y, g) = (slice(y, ly)?, slice(g, lg)?);
        if g.len() != y.len() {
            candle_core::bail!("sgm relu backward: {} gradient values for {} outputs", g.len(), y.len())
        }
        Ok(zip_map(y, g, |v, gv| if v > T::zero() { gv } else { T::zero() }))
    }
}

/// `f(a[i], b[i])` for every `i`, in one parallel pass; `a` and `b` have the same length.
fn zip_map<T: Float>(a: &[T], b: &[T], f: impl Fn(T, T) -> T + Sync) -> Vec<T> {
    debug_assert_eq!(a.len(), b.len());
    const CHUNK: usize = 1 << 14;
    // SAFETY: every chunk's values are written (zip stops at the chunk's end, and a and b are as long as the output).
    unsafe {
        par_filled(a.len(), CHUNK, |i, out| {
            for ((o, &x), &y) in out.iter_mut().zip(&a[i * CHUNK..]).zip(&b[i * CHUNK..]) {
                o.write(f(x, y));
            }
        })
    }
}

impl CustomOp1 for ReluOp {
    fn name(&self) -> &'static str {
        "sgm-relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let shape = l.shape().clone();
        match s {
            CpuStorage::F32(x) => Ok((CpuStorage::F32(Self::forward_typed(x, l)?), shape)),
            CpuStorage::F64(x) => Ok((CpuStorage::F64(Self::forward_typed(x, l)?), shape)),
            _ => candle_core::bail!("sgm relu supports f32 and f64"),
        }
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(relu_backward(res, grad)?))
    }
}

/// `relu(a + b)` (a residual connection) in one pass; the backward is the ReLU's, given to both inputs.
struct AddReluOp;

impl AddReluOp {
    fn forward_typed<T: Float>(a: &[T], la: &Layout, b: &[T], lb: &Layout) -> candle_core::Result<Vec<T>> {
        let (a, b) = (slice(a, la)?, slice(b, lb)?);
        if a.len() != b.len() {
            candle_core::bail!("sgm add-relu: {} and {} values", a.len(), b.len())
        }
        Ok(zip_map(a, b, |x, y| {
            let v = x + y;
            if v > T::zero() {
                v
            } else {
                T::zero()
            }
        }))
    }
}

impl CustomOp2 for AddReluOp {
    fn name(&self) -> &'static str {
        "sgm-add-relu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        if l1.shape() != l2.shape() {
            candle_core::bail!("sgm add-relu: shapes {:?} and {:?}", l1.shape(), l2.shape())
        }
        let shape = l1.shape().clone();
        match (s1, s2) {
            (CpuStorage::F32(a), CpuStorage::F32(b)) => {
                Ok((CpuStorage::F32(Self::forward_typed(a, l1, b, l2)?), shape))
            }
            (CpuStorage::F64(a), CpuStorage::F64(b)) => {
                Ok((CpuStorage::F64(Self::forward_typed(a, l1, b, l2)?), shape))
            }
            _ => candle_core::bail!("sgm add-relu supports f32 and f64 with matching dtypes"),
        }
    }

    fn bwd(
        &self,
        _a: &Tensor,
        _b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = relu_backward(res, grad)?;
        Ok((Some(g.clone()), Some(g)))
    }
}

/// `relu(a + b)`: on the CPU one pass forward and one backward ([`Kernels::Candle`]: candle's add and ReLU).
pub fn add_relu(a: &Tensor, b: &Tensor, kernels: Kernels) -> crate::Result<Tensor> {
    if super::route_of(a, kernels) == Route::CpuKernel && a.dtype() == b.dtype() && a.shape() == b.shape() {
        Ok(a.contiguous()?.apply_op2(&b.contiguous()?, AddReluOp)?)
    } else {
        relu(&(a + b)?, kernels)
    }
}

/// The gradient through a ReLU from its output `y`: `grad` where `y > 0`, else 0, in one parallel pass (candle's
/// `grad * y.gt(0)` is a comparison, a conversion and a product). `y` is a contiguous CPU f32/f64 tensor.
pub(crate) fn relu_backward(y: &Tensor, grad: &Tensor) -> candle_core::Result<Tensor> {
    let grad = grad.contiguous()?;
    let (ys, ly) = y.storage_and_layout();
    let (gs, lg) = grad.storage_and_layout();
    let cpu = &candle_core::Device::Cpu;
    match (&*ys, &*gs) {
        (Storage::Cpu(CpuStorage::F32(y)), Storage::Cpu(CpuStorage::F32(g))) => {
            Tensor::from_vec(ReluOp::backward_typed(y, ly, g, lg)?, ly.shape(), cpu)
        }
        (Storage::Cpu(CpuStorage::F64(y)), Storage::Cpu(CpuStorage::F64(g))) => {
            Tensor::from_vec(ReluOp::backward_typed(y, ly, g, lg)?, ly.shape(), cpu)
        }
        _ => candle_core::bail!("sgm relu backward supports f32 and f64 CPU tensors"),
    }
}

/// `max(x, 0)`: the fused op where [`route`](super::route) picks sgm's kernel (CPU f32/f64 with
/// [`Kernels::Fast`]), candle's `relu` elsewhere.
pub fn relu(x: &Tensor, kernels: Kernels) -> crate::Result<Tensor> {
    if super::route_of(x, kernels) == Route::CpuKernel {
        Ok(x.contiguous()?.apply_op1(ReluOp)?)
    } else {
        Ok(x.relu()?)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    /// `add_relu` equals candle's `relu(a + b)`, forward and both gradients (f64; values on both sides of zero).
    #[test]
    fn add_relu_matches_candle_forward_and_backward() {
        let dev = Device::Cpu;
        let vals = |n: usize, seed: f64| -> Vec<f64> { (0..n).map(|i| (i as f64 * 0.91 + seed).sin()).collect() };
        let n = 3 * 5 * 7 * 11;
        let a = Var::from_vec(vals(n, 0.3), (3, 5, 7, 11), &dev).unwrap();
        let b = Var::from_vec(vals(n, 2.1), (3, 5, 7, 11), &dev).unwrap();
        let g = Tensor::from_vec(vals(n, 4.4), (3, 5, 7, 11), &dev).unwrap();
        let ours = add_relu(&a, &b, Kernels::Fast).unwrap();
        let want = (a.as_tensor() + b.as_tensor()).unwrap().relu().unwrap();
        let diff = |x: &Tensor, y: &Tensor| {
            x.sub(y).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f64>().unwrap()
        };
        assert_eq!(diff(&ours, &want), 0.0);
        let go = (ours * &g).unwrap().sum_all().unwrap().backward().unwrap();
        let gw = (want * &g).unwrap().sum_all().unwrap().backward().unwrap();
        for v in [&a, &b] {
            assert_eq!(diff(go.get(v).unwrap(), gw.get(v).unwrap()), 0.0);
        }
    }
}
