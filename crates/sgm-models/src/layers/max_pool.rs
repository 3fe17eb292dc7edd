//! A trainable max-pool for any kernel, stride and padding.
//!
//! candle's `max_pool2d` backward is only right when kernel = stride and there are no ties (candle issues #1593,
//! #1851): it routes the gradient to every element equal to the window maximum. This layer uses the custom ops of
//! the `window_max` module instead (PyTorch semantics: the gradient goes to the first maximal element of
//! each window, and padding cells, −∞, never win). Output size: ⌊(H + 2p − k)/s⌋ + 1 (PyTorch's `ceil_mode=False`).
//! On non-CPU devices a composite of candle ops computes the same forward; only its gradient on tied maxima differs
//! (every tied element receives the full gradient).

use std::sync::Arc;

use candle_core::Tensor;

use super::window_max::{window_max, Windows};
use crate::error::{bad_input, Result};

/// Geometry of a square max-pool, as PyTorch's `nn.MaxPool2d(kernel, stride, padding)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPool2d {
    /// Window side.
    pub kernel: usize,
    /// Step between windows.
    pub stride: usize,
    /// Implicit −∞ padding on every side (at most `kernel / 2`, as PyTorch requires).
    pub padding: usize,
}

impl MaxPool2d {
    /// A max-pool; `stride` and `kernel` must be positive and `padding ≤ kernel / 2`.
    pub fn new(kernel: usize, stride: usize, padding: usize) -> Result<Self> {
        if kernel == 0 || stride == 0 {
            return Err(bad_input("max-pool kernel and stride must be positive"));
        }
        if padding > kernel / 2 {
            return Err(bad_input(format!("max-pool padding {padding} exceeds half the kernel {kernel}")));
        }
        Ok(MaxPool2d { kernel, stride, padding })
    }

    /// The output side for an input side, or `None` when the input is too small.
    pub fn output_size(&self, input: usize) -> Option<usize> {
        let padded = input + 2 * self.padding;
        (padded >= self.kernel).then(|| (padded - self.kernel) / self.stride + 1)
    }

    /// Pools `x` of shape (N, C, H, W), f32 or f64.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (_, _, h, w) =
            x.dims4().map_err(|_| bad_input(format!("max-pool needs (N, C, H, W), got {:?}", x.dims())))?;
        let (Some(oh), Some(ow)) = (self.output_size(h), self.output_size(w)) else {
            return Err(bad_input(format!("max-pool {self:?} cannot pool a {h}×{w} input")));
        };
        let starts = |o: usize| -> Arc<Vec<i64>> {
            Arc::new((0..o).map(|i| (i * self.stride) as i64 - self.padding as i64).collect())
        };
        let windows =
            Windows { kh: self.kernel, kw: self.kernel, oh, ow, rows: starts(oh), cols: starts(ow), per_plane: false };
        window_max(x, windows)
    }

    #[cfg(test)]
    pub(crate) fn windows_for(&self, h: usize, w: usize) -> Windows {
        let (oh, ow) = (self.output_size(h).unwrap(), self.output_size(w).unwrap());
        let starts = |o: usize| Arc::new((0..o).map(|i| (i * self.stride) as i64 - self.padding as i64).collect());
        Windows { kh: self.kernel, kw: self.kernel, oh, ow, rows: starts(oh), cols: starts(ow), per_plane: false }
    }
}

/// Max-pools `x` (N, C, H, W) with a square `kernel`, `stride` and `padding` (see [`MaxPool2d`]).
pub fn max_pool2d(x: &Tensor, kernel: usize, stride: usize, padding: usize) -> Result<Tensor> {
    MaxPool2d::new(kernel, stride, padding)?.forward(x)
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Var};

    use super::super::window_max::window_max_composite;
    use super::*;

    // Expected numbers from PyTorch 2.15 (CPU), produced by:
    //
    // import torch
    // import torch.nn.functional as F
    // def case(shape, k, s, p, off):
    //     n = 1
    //     for d in shape: n *= d
    //     x = torch.tensor([float((i * 37) % 11) - off for i in range(n)]).reshape(shape).relu().requires_grad_()
    //     y = F.max_pool2d(x, k, s, p)
    //     g = torch.tensor([float(j % 7 + 1) for j in range(y.numel())]).reshape(y.shape)
    //     y.backward(g)
    //     print(shape, k, s, p, off, list(y.shape))
    //     print("out", [int(v) for v in y.flatten().tolist()])
    //     print("grad", [int(v) for v in x.grad.flatten().tolist()])
    // case((1, 2, 5, 7), 3, 2, 0, 5.0)
    // case((2, 1, 6, 6), 3, 2, 1, 5.0)
    // case((1, 1, 5, 5), 3, 1, 1, 5.0)
    // case((1, 1, 4, 6), 2, 2, 0, 5.0)
    // case((1, 1, 7, 5), 3, 2, 1, 9.0)   # mostly zeros after ReLU: ties everywhere
    // case((1, 1, 4, 4), 2, 2, 0, 9.0)
    struct Case {
        shape: [usize; 4],
        k: usize,
        s: usize,
        p: usize,
        off: f32,
        out_hw: [usize; 2],
        out: &'static [i32],
        grad: &'static [i32],
    }

    const CASES: &[Case] = &[
        Case {
            shape: [1, 2, 5, 7],
            k: 3,
            s: 2,
            p: 0,
            off: 5.0,
            out_hw: [2, 3],
            out: &[5, 4, 5, 5, 5, 5, 4, 5, 5, 5, 5, 4],
            grad: &[
                0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 3, 0, 0, 0, 0,
                0, 0,
            ],
        },
        Case {
            shape: [2, 1, 6, 6],
            k: 3,
            s: 2,
            p: 1,
            off: 5.0,
            out_hw: [3, 3],
            out: &[1, 5, 4, 5, 5, 4, 5, 5, 4, 2, 4, 5, 4, 4, 5, 4, 5, 5],
            grad: &[
                0, 0, 0, 0, 0, 3, 0, 1, 7, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 4, 0, 0, 5, 0, 3, 0, 0, 0, 0, 0, 13, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 7, 0, 0, 0, 0,
                0, 0, 0, 0,
            ],
        },
        Case {
            shape: [1, 1, 5, 5],
            k: 3,
            s: 1,
            p: 1,
            off: 5.0,
            out_hw: [5, 5],
            out: &[4, 4, 5, 5, 5, 4, 4, 5, 5, 5, 4, 4, 5, 5, 5, 4, 4, 4, 5, 5, 4, 4, 4, 5, 5],
            grad: &[0, 0, 0, 0, 0, 25, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0, 19, 0, 0, 18, 0, 0, 0, 0, 0],
        },
        Case {
            shape: [1, 1, 4, 6],
            k: 2,
            s: 2,
            p: 0,
            off: 5.0,
            out_hw: [2, 3],
            out: &[1, 5, 4, 5, 2, 4],
            grad: &[0, 0, 0, 0, 0, 3, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 4, 0, 5, 0, 0],
        },
        Case {
            shape: [1, 1, 7, 5],
            k: 3,
            s: 2,
            p: 1,
            off: 9.0,
            out_hw: [4, 3],
            out: &[0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0],
            grad: &[
                1, 0, 0, 0, 0, 4, 0, 0, 16, 0, 0, 0, 0, 0, 0, 7, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 4, 0, 5, 0, 3, 0, 0, 0,
                0,
            ],
        },
        Case {
            shape: [1, 1, 4, 4],
            k: 2,
            s: 2,
            p: 0,
            off: 9.0,
            out_hw: [2, 2],
            out: &[0, 0, 1, 0],
            grad: &[1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0],
        },
    ];

    fn input(case: &Case, dtype: DType) -> Var {
        let n: usize = case.shape.iter().product();
        let v: Vec<f32> = (0..n).map(|i| (((i * 37) % 11) as f32 - case.off).max(0.0)).collect();
        Var::from_tensor(&Tensor::from_vec(v, case.shape.as_slice(), &Device::Cpu).unwrap().to_dtype(dtype).unwrap())
            .unwrap()
    }

    fn out_grad(y: &Tensor) -> Tensor {
        let g: Vec<f32> = (0..y.elem_count()).map(|j| (j % 7 + 1) as f32).collect();
        Tensor::from_vec(g, y.shape(), &Device::Cpu).unwrap().to_dtype(y.dtype()).unwrap()
    }

    fn ints(t: &Tensor) -> Vec<i32> {
        t.flatten_all()
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap()
            .to_vec1::<f64>()
            .unwrap()
            .iter()
            .map(|v| *v as i32)
            .collect()
    }

    #[test]
    fn forward_and_gradient_match_pytorch() {
        for dtype in [DType::F32, DType::F64] {
            for case in CASES {
                let x = input(case, dtype);
                let y = max_pool2d(x.as_tensor(), case.k, case.s, case.p).unwrap();
                assert_eq!(&y.dims()[2..], case.out_hw.as_slice());
                assert_eq!(ints(&y), case.out, "forward {:?}", case.shape);
                let loss = (&y * out_grad(&y)).unwrap().sum_all().unwrap();
                let grads = loss.backward().unwrap();
                assert_eq!(
                    ints(grads.get(&x).unwrap()),
                    case.grad,
                    "grad {:?} k{} s{} p{}",
                    case.shape,
                    case.k,
                    case.s,
                    case.p
                );
            }
        }
    }

    #[test]
    fn candle_builtin_pool_gets_ties_wrong() {
        // The reason this layer exists: on the all-ties case candle spreads the gradient over every tied zero.
        let case = &CASES[5];
        let x = input(case, DType::F32);
        let y = x.as_tensor().max_pool2d(2).unwrap();
        let grads = (&y * out_grad(&y)).unwrap().sum_all().unwrap().backward().unwrap();
        assert_ne!(ints(grads.get(&x).unwrap()), case.grad);
    }

    #[test]
    fn composite_fallback_matches_forward_and_untied_gradient() {
        // Distinct values: no ties, so the composite's gradient must equal the custom op's.
        let x: Vec<f32> = (0..2 * 3 * 7 * 9).map(|i| ((i * 7919) % 389) as f32 * 0.01 - 1.5).collect();
        let x = Var::from_tensor(&Tensor::from_vec(x, (2, 3, 7, 9), &Device::Cpu).unwrap()).unwrap();
        for (k, s, p) in [(3, 2, 1), (3, 2, 0), (2, 2, 0), (3, 1, 1)] {
            let pool = MaxPool2d::new(k, s, p).unwrap();
            let a = pool.forward(x.as_tensor()).unwrap();
            let b = window_max_composite(x.as_tensor(), &pool.windows_for(7, 9)).unwrap();
            assert_eq!(
                a.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                b.flatten_all().unwrap().to_vec1::<f32>().unwrap()
            );
            let ga = (&a * out_grad(&a)).unwrap().sum_all().unwrap().backward().unwrap();
            let gb = (&b * out_grad(&b)).unwrap().sum_all().unwrap().backward().unwrap();
            assert_eq!(ints(ga.get(&x).unwrap()), ints(gb.get(&x).unwrap()));
        }
    }

    #[test]
    fn rejects_bad_geometry() {
        assert!(MaxPool2d::new(3, 2, 2).is_err());
        assert!(MaxPool2d::new(0, 2, 0).is_err());
        let x = Tensor::zeros((1, 1, 2, 2), DType::F32, &Device::Cpu).unwrap();
        assert!(max_pool2d(&x, 3, 1, 0).is_err());
        assert!(max_pool2d(&x.flatten_all().unwrap(), 2, 2, 0).is_err());
    }
}
