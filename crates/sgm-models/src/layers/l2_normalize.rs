//! [`l2_normalize`]: each row divided by its Euclidean norm, as PyTorch's `F.normalize(x, p=2, dim=1, eps)`.

use candle_core::{Tensor, D};

use crate::error::Result;

/// The eps of PyTorch's `F.normalize`: a row whose norm is below it is divided by eps instead.
pub const NORMALIZE_EPS: f64 = 1e-12;

/// `x / max(‖x‖₂, eps)` along the last dimension, with PyTorch's gradient: computed as `x / sqrt(max(Σx², eps²))`,
/// so that an all-zero row gets the finite gradient `w / eps` that PyTorch's clamp gives it, not `0/0`.
pub fn l2_normalize(x: &Tensor, eps: f64) -> Result<Tensor> {
    let sq = x.sqr()?.sum_keepdim(D::Minus1)?;
    let norm = sq.maximum(eps * eps)?.sqrt()?;
    Ok(x.broadcast_div(&norm)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Var};

    #[test]
    fn values_and_gradients_match_pytorch() {
        // import torch, torch.nn.functional as F
        // x = torch.tensor([[3.0, -4.0, 0.5], [0.0, 0.0, 0.0], [1e-3, 2e-3, -2e-3]], dtype=torch.float64,
        //                  requires_grad=True)
        // w = torch.tensor([[0.2, -0.7, 1.1], [0.3, 0.4, -0.5], [-1.0, 0.25, 0.6]], dtype=torch.float64)
        // y = F.normalize(x, p=2.0, dim=1, eps=1e-12); (y * w).sum().backward()
        // print(y.tolist(), x.grad.tolist())   # torch 2.15
        let want_y = [
            [0.5970223141259935, -0.7960297521679913, 0.09950371902099892],
            [0.0, 0.0, 0.0],
            [0.3333333333333333, 0.6666666666666666, -0.6666666666666666],
        ];
        let want_grad = [
            [-0.05359408232418158, -0.014777780052623604, 0.2033422535241008],
            [300000000000.0, 400000000000.0, -500000000000.0],
            [-270.3703703703704, 209.25925925925924, 74.0740740740741],
        ];
        let dev = Device::Cpu;
        let x = Var::from_vec(vec![3.0f64, -4.0, 0.5, 0.0, 0.0, 0.0, 1e-3, 2e-3, -2e-3], (3, 3), &dev).unwrap();
        let w = Tensor::from_vec(vec![0.2f64, -0.7, 1.1, 0.3, 0.4, -0.5, -1.0, 0.25, 0.6], (3, 3), &dev).unwrap();
        let y = l2_normalize(x.as_tensor(), NORMALIZE_EPS).unwrap();
        let grads = (&y * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let grad = grads.get(x.as_tensor()).unwrap().to_vec2::<f64>().unwrap();
        let y = y.to_vec2::<f64>().unwrap();
        for r in 0..3 {
            for c in 0..3 {
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
                assert!(close(y[r][c], want_y[r][c]), "y[{r}][{c}] = {} against {}", y[r][c], want_y[r][c]);
                assert!(
                    close(grad[r][c], want_grad[r][c]),
                    "grad[{r}][{c}] = {} against {}",
                    grad[r][c],
                    want_grad[r][c]
                );
            }
        }
        // f32 as well: unit rows.
        let x = Tensor::randn(0f32, 3.0, (5, 64), &dev).unwrap();
        let n = l2_normalize(&x, NORMALIZE_EPS).unwrap().sqr().unwrap().sum(1).unwrap().to_vec1::<f32>().unwrap();
        assert!(n.iter().all(|v| (v - 1.0).abs() < 1e-5), "{n:?}");
        assert_eq!(l2_normalize(&x.to_dtype(DType::F64).unwrap(), NORMALIZE_EPS).unwrap().dtype(), DType::F64);
    }
}
