//! Fractional max pooling (Graham 2014) with PyTorch's `FractionalMaxPool2d` semantics.
//!
//! Each plane (image × channel) gets two numbers u_w, u_h ∈ [0, 1). From u, an input side `n`, an output side
//! `m = ⌊n · ratio⌋` and the window side `k`, the window starts are PyTorch's pseudo-random sequence
//!
//! ```text
//! α = (n − k) / (m − 1);   start_i = ⌊(i + u) α⌋ − ⌊u α⌋  (i < m − 1);   start_{m−1} = n − k
//! ```
//!
//! (computed in `f32` like PyTorch's float kernel), and each output is the max of the overlapping `k×k` window at
//! (start_h, start_w). The pooling runs on the custom window-max op of the `window_max` module, so gradients flow
//! to the first maximal element of each window exactly as in PyTorch.
//!
//! Randomness is always explicit: [`FractionalMaxPool2d::forward_with_samples`] takes the samples (PyTorch's
//! `_random_samples`, laid out (N, C, 2) with u_w first), [`FractionalMaxPool2d::forward`] draws a fresh pair per
//! plane from a seeded generator (training), and [`FractionalMaxPool2d::forward_shared`] draws one pair per channel
//! shared by every image of the batch, so that an image's output does not depend on its batch (evaluation with a
//! fixed generator).

use std::sync::Arc;

use candle_core::Tensor;
use rand::Rng;

use super::window_max::{window_max, Windows};
use crate::error::{bad_input, Result};

/// PyTorch's pooling-window start sequence for one side (see the module docs).
pub fn fmp_intervals(sample: f32, input: usize, output: usize, kernel: usize) -> Vec<i64> {
    let mut seq = vec![0i64; output];
    if output > 1 {
        let alpha = (input - kernel) as f32 / (output - 1) as f32;
        for (i, s) in seq.iter_mut().enumerate().take(output - 1) {
            *s = (((i as f32 + sample) * alpha) as i64) - ((sample * alpha) as i64);
        }
    }
    if output > 0 {
        seq[output - 1] = (input - kernel) as i64;
    }
    seq
}

/// A fractional max-pool with square `kernel` windows and output side `⌊input · output_ratio⌋`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FractionalMaxPool2d {
    /// Window side (the paper: 3).
    pub kernel: usize,
    /// Output side / input side, in (0, 1) (the paper: 0.5).
    pub output_ratio: f64,
}

impl FractionalMaxPool2d {
    /// A fractional max-pool; `kernel ≥ 1`, `0 < output_ratio < 1`.
    pub fn new(kernel: usize, output_ratio: f64) -> Result<Self> {
        if kernel == 0 || !(output_ratio > 0.0 && output_ratio < 1.0) {
            return Err(bad_input(format!("fractional max-pool: kernel {kernel}, ratio {output_ratio}")));
        }
        Ok(FractionalMaxPool2d { kernel, output_ratio })
    }

    /// The output side for an input side, or `None` when PyTorch would refuse it (output < 1 or
    /// output + kernel − 1 > input).
    pub fn output_size(&self, input: usize) -> Option<usize> {
        let out = (input as f64 * self.output_ratio) as usize;
        (out >= 1 && out + self.kernel - 1 <= input).then_some(out)
    }

    fn sizes(&self, x: &Tensor) -> Result<(usize, usize, usize, usize, usize, usize)> {
        let (n, c, h, w) =
            x.dims4().map_err(|_| bad_input(format!("fractional max-pool needs (N, C, H, W), got {:?}", x.dims())))?;
        match (self.output_size(h), self.output_size(w)) {
            (Some(oh), Some(ow)) => Ok((n, c, h, w, oh, ow)),
            _ => Err(bad_input(format!("fractional max-pool {self:?} cannot pool a {h}×{w} input"))),
        }
    }

    /// Pools with explicit samples: `samples[2·(n·C + c)]` is u_w and `samples[2·(n·C + c) + 1]` is u_h of plane
    /// (n, c), each in [0, 1).
    pub fn forward_with_samples(&self, x: &Tensor, samples: &[f32]) -> Result<Tensor> {
        let (n, c, h, w, oh, ow) = self.sizes(x)?;
        let planes = n * c;
        if samples.len() != 2 * planes {
            return Err(bad_input(format!("fractional max-pool: {} samples for {planes} planes", samples.len())));
        }
        if samples.iter().any(|u| !(0.0..1.0).contains(u)) {
            return Err(bad_input("fractional max-pool samples must lie in [0, 1)"));
        }
        let mut rows = Vec::with_capacity(planes * oh);
        let mut cols = Vec::with_capacity(planes * ow);
        for p in 0..planes {
            cols.extend(fmp_intervals(samples[2 * p], w, ow, self.kernel));
            rows.extend(fmp_intervals(samples[2 * p + 1], h, oh, self.kernel));
        }
        let windows = Windows {
            kh: self.kernel,
            kw: self.kernel,
            oh,
            ow,
            rows: Arc::new(rows),
            cols: Arc::new(cols),
            per_plane: true,
        };
        window_max(x, windows)
    }

    /// Pools with a fresh pair of samples per plane drawn from `rng` (training).
    pub fn forward<R: Rng + ?Sized>(&self, x: &Tensor, rng: &mut R) -> Result<Tensor> {
        let (n, c, ..) = self.sizes(x)?;
        let samples: Vec<f32> = (0..2 * n * c).map(|_| rng.random::<f32>()).collect();
        self.forward_with_samples(x, &samples)
    }

    /// Pools with one pair of samples per channel drawn from `rng`, shared by all images (evaluation).
    pub fn forward_shared<R: Rng + ?Sized>(&self, x: &Tensor, rng: &mut R) -> Result<Tensor> {
        let (n, c, ..) = self.sizes(x)?;
        let per_channel: Vec<f32> = (0..2 * c).map(|_| rng.random::<f32>()).collect();
        let samples: Vec<f32> = (0..n).flat_map(|_| per_channel.iter().copied()).collect();
        self.forward_with_samples(x, &samples)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Var};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    // Expected numbers from PyTorch 2.15 (CPU), given the same `_random_samples`:
    //
    // import torch
    // import torch.nn.functional as F
    // def case(shape, off):
    //     n = 1
    //     for d in shape: n *= d
    //     x = torch.tensor([float((i * 7919) % 23) - off for i in range(n)]).reshape(shape).relu().requires_grad_()
    //     u = torch.tensor([(k * 0.618034 + 0.1) % 1.0 for k in range(shape[0] * shape[1] * 2)],
    //                      dtype=torch.float32).reshape(shape[0], shape[1], 2)
    //     y = F.fractional_max_pool2d(x, 3, output_ratio=(0.5, 0.5), _random_samples=u)
    //     g = torch.tensor([float(j % 7 + 1) for j in range(y.numel())]).reshape(y.shape)
    //     y.backward(g)
    //     out = ", ".join(str(int(v)) for v in y.flatten().tolist())
    //     grad = ", ".join(str(int(v)) for v in x.grad.flatten().tolist())
    //     print(f"FmpCase {{ shape: {list(shape)}, off: {off}, out_hw: {list(y.shape[2:])}, out: &[{out}], grad: &[{grad}] }},")
    // case((2, 2, 9, 11), 3.0)
    // case((1, 3, 12, 7), 18.0)   # mostly zeros after ReLU: ties
    struct FmpCase {
        shape: [usize; 4],
        off: f32,
        out_hw: [usize; 2],
        out: &'static [i32],
        grad: &'static [i32],
    }

    #[rustfmt::skip]
    const CASES: &[FmpCase] = &[
        FmpCase { shape: [2, 2, 9, 11], off: 3.0, out_hw: [4, 5], out: &[19, 19, 18, 16, 15, 13, 19, 18, 17, 16, 14, 19, 19, 18, 16, 15, 13, 19, 18, 17, 16, 14, 19, 19, 18, 16, 15, 14, 19, 19, 17, 16, 14, 19, 19, 18, 16, 15, 14, 19, 19, 17, 16, 15, 13, 19, 18, 17, 15, 14, 19, 19, 17, 16, 15, 19, 19, 18, 17, 15, 14, 19, 19, 18, 16, 15, 13, 19, 18, 17, 15, 14, 19, 19, 18, 16, 15, 13, 19, 18], grad: &[0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 5, 0, 0, 6, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 4, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 6, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 12, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 15, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 11, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 5, 0, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 7, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 6, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0] },
        FmpCase { shape: [1, 3, 12, 7], off: 18.0, out_hw: [6, 3], out: &[2, 3, 4, 2, 2, 3, 4, 2, 3, 4, 2, 2, 3, 4, 2, 3, 3, 4, 2, 3, 3, 4, 2, 3, 4, 4, 3, 4, 4, 2, 3, 4, 4, 2, 4, 4, 2, 2, 4, 4, 2, 3, 4, 2, 2, 3, 4, 2, 3, 4, 2, 3, 3, 4], grad: &[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0] },
    ];

    fn input(shape: [usize; 4], off: f32) -> Var {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|i| (((i * 7919) % 23) as f32 - off).max(0.0)).collect();
        Var::from_tensor(&Tensor::from_vec(v, shape.as_slice(), &Device::Cpu).unwrap()).unwrap()
    }

    fn samples(planes: usize) -> Vec<f32> {
        (0..2 * planes).map(|k| ((k as f64 * 0.618034 + 0.1) % 1.0) as f32).collect()
    }

    fn ints(t: &Tensor) -> Vec<i32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap().iter().map(|v| *v as i32).collect()
    }

    fn weighted_sum(y: &Tensor) -> Tensor {
        let g: Vec<f32> = (0..y.elem_count()).map(|j| (j % 7 + 1) as f32).collect();
        (y * Tensor::from_vec(g, y.shape(), y.device()).unwrap()).unwrap().sum_all().unwrap()
    }

    #[test]
    fn forward_and_gradient_match_pytorch_given_the_samples() {
        let fmp = FractionalMaxPool2d::new(3, 0.5).unwrap();
        for case in CASES {
            let x = input(case.shape, case.off);
            let y = fmp.forward_with_samples(x.as_tensor(), &samples(case.shape[0] * case.shape[1])).unwrap();
            assert_eq!(&y.dims()[2..], case.out_hw.as_slice());
            assert_eq!(ints(&y), case.out);
            let grads = weighted_sum(&y).backward().unwrap();
            assert_eq!(ints(grads.get(&x).unwrap()), case.grad);
        }
    }

    #[test]
    fn intervals_cover_the_input() {
        for u in [0.0f32, 0.3, 0.999] {
            for (n, k) in [(48, 3), (24, 3), (12, 3), (11, 3), (64, 3)] {
                let m = n / 2;
                let s = fmp_intervals(u, n, m, k);
                assert_eq!(s[0], 0);
                assert_eq!(*s.last().unwrap(), (n - k) as i64);
                // Non-decreasing, steps of 1 or 2 for ratio 0.5: overlapping 3×3 windows leave no gap.
                assert!(s.windows(2).all(|w| (1..=2).contains(&(w[1] - w[0]))), "{s:?}");
            }
        }
    }

    #[test]
    fn finite_differences_agree_with_the_gradient() {
        // Distinct values (no ties): the pool is locally linear, so central differences are exact up to rounding.
        let shape = (2, 2, 10, 9);
        let n = 2 * 2 * 10 * 9;
        let v: Vec<f64> = (0..n).map(|i| ((i * 7919) % 997) as f64 / 97.0).collect();
        let x = Var::from_tensor(&Tensor::from_vec(v.clone(), shape, &Device::Cpu).unwrap()).unwrap();
        let fmp = FractionalMaxPool2d::new(3, 0.5).unwrap();
        let u = samples(4);
        let f = |t: &Tensor| -> f64 {
            let y = fmp.forward_with_samples(t, &u).unwrap();
            let w: Vec<f64> = (0..y.elem_count()).map(|j| (j % 5) as f64 - 1.5).collect();
            (&y * Tensor::from_vec(w, y.shape(), &Device::Cpu).unwrap())
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar()
                .unwrap()
        };
        let y = fmp.forward_with_samples(x.as_tensor(), &u).unwrap();
        let w: Vec<f64> = (0..y.elem_count()).map(|j| (j % 5) as f64 - 1.5).collect();
        let loss = (y * Tensor::from_vec(w, (2, 2, 5, 4), &Device::Cpu).unwrap()).unwrap().sum_all().unwrap();
        let grad = loss.backward().unwrap().get(&x).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let eps = 1e-4;
        for i in (0..n).step_by(7) {
            let mut p = v.clone();
            p[i] += eps;
            let mut m = v.clone();
            m[i] -= eps;
            let fd = (f(&Tensor::from_vec(p, shape, &Device::Cpu).unwrap())
                - f(&Tensor::from_vec(m, shape, &Device::Cpu).unwrap()))
                / (2.0 * eps);
            assert!((fd - grad[i]).abs() < 1e-6, "element {i}: fd {fd} vs grad {}", grad[i]);
        }
    }

    #[test]
    fn seeded_sampling_is_reproducible_and_fresh() {
        let fmp = FractionalMaxPool2d::new(3, 0.5).unwrap();
        let x = input([2, 4, 24, 24], 0.0);
        let a = fmp.forward(x.as_tensor(), &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        let b = fmp.forward(x.as_tensor(), &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        assert_eq!(ints(&a), ints(&b));
        assert_eq!(a.dims(), &[2, 4, 12, 12]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let first = fmp.forward(x.as_tensor(), &mut rng).unwrap();
        let differs = (0..5).any(|_| ints(&fmp.forward(x.as_tensor(), &mut rng).unwrap()) != ints(&first));
        assert!(differs, "successive draws should pool differently");
        // Shared samples: both images of a batch of identical images pool identically.
        let one = input([1, 4, 24, 24], 0.0);
        let two = Tensor::cat(&[one.as_tensor(), one.as_tensor()], 0).unwrap();
        let y = fmp.forward_shared(&two, &mut ChaCha8Rng::seed_from_u64(9)).unwrap();
        assert_eq!(ints(&y.get(0).unwrap()), ints(&y.get(1).unwrap()));
    }

    #[test]
    fn composite_fallback_matches_the_custom_op() {
        // The non-CPU path (gather + max), run on the CPU: same forward; same gradient when there are no ties.
        let n = 2 * 3 * 11 * 10;
        let v: Vec<f32> = (0..n).map(|i| ((i * 7919) % 997) as f32 / 97.0).collect();
        let x = Var::from_tensor(&Tensor::from_vec(v, (2, 3, 11, 10), &Device::Cpu).unwrap()).unwrap();
        let fmp = FractionalMaxPool2d::new(3, 0.5).unwrap();
        let u = samples(6);
        let a = fmp.forward_with_samples(x.as_tensor(), &u).unwrap();
        let mut rows = Vec::new();
        let mut cols = Vec::new();
        for p in 0..6 {
            cols.extend(fmp_intervals(u[2 * p], 10, 5, 3));
            rows.extend(fmp_intervals(u[2 * p + 1], 11, 5, 3));
        }
        let windows =
            Windows { kh: 3, kw: 3, oh: 5, ow: 5, rows: Arc::new(rows), cols: Arc::new(cols), per_plane: true };
        let b = super::super::window_max::window_max_composite(x.as_tensor(), &windows).unwrap();
        assert_eq!(
            a.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            b.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
        let ga = weighted_sum(&a).backward().unwrap();
        let gb = weighted_sum(&b).backward().unwrap();
        assert_eq!(ints(ga.get(&x).unwrap()), ints(gb.get(&x).unwrap()));
    }

    #[test]
    fn rejects_bad_inputs() {
        assert!(FractionalMaxPool2d::new(3, 1.0).is_err());
        let fmp = FractionalMaxPool2d::new(3, 0.5).unwrap();
        let x = Tensor::zeros((1, 1, 4, 4), DType::F32, &Device::Cpu).unwrap();
        assert!(fmp.forward_with_samples(&x, &[0.5]).is_err());
        assert!(fmp.forward_with_samples(&x, &[0.5, 1.0]).is_err());
        let tiny = Tensor::zeros((1, 1, 2, 2), DType::F32, &Device::Cpu).unwrap();
        assert!(fmp.forward_with_samples(&tiny, &[0.5, 0.5]).is_err());
    }
}
