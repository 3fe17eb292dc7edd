//! PyTorch's `AdaptiveAvgPool2d`, as two matrix products (differentiable with candle's own ops).
//!
//! Output cell i along a side of length `n → m` averages input cells ⌊i·n/m⌋ .. ⌈(i+1)·n/m⌉, the bins PyTorch
//! uses; they overlap when n is not a multiple of m, and repeat input cells when m > n.

use candle_core::{Device, Tensor};

use crate::error::{bad_input, Result};

/// The (m, n) averaging matrix of one side.
fn pooling_matrix(n: usize, m: usize, device: &Device) -> Result<Tensor> {
    let mut p = vec![0f32; m * n];
    for i in 0..m {
        let start = i * n / m;
        let end = ((i + 1) * n).div_ceil(m);
        for j in start..end {
            p[i * n + j] = 1.0 / (end - start) as f32;
        }
    }
    Ok(Tensor::from_vec(p, (m, n), device)?)
}

/// Average-pools `x` (N, C, H, W) to (N, C, out_h, out_w) with PyTorch's adaptive bins.
pub fn adaptive_avg_pool2d(x: &Tensor, out_h: usize, out_w: usize) -> Result<Tensor> {
    let (_, _, h, w) =
        x.dims4().map_err(|_| bad_input(format!("adaptive pool needs (N, C, H, W), got {:?}", x.dims())))?;
    if out_h == 0 || out_w == 0 || h == 0 || w == 0 {
        return Err(bad_input("adaptive pool sizes must be positive"));
    }
    if (out_h, out_w) == (1, 1) {
        return Ok(x.mean_keepdim(3)?.mean_keepdim(2)?);
    }
    if (out_h, out_w) == (h, w) {
        return Ok(x.clone());
    }
    let ph = pooling_matrix(h, out_h, x.device())?.to_dtype(x.dtype())?;
    let pw = pooling_matrix(w, out_w, x.device())?.to_dtype(x.dtype())?.t()?;
    // (N, C, H, W) · (W, ow) → (N, C, H, ow); then (oh, H) · (N, C, H, ow) → (N, C, oh, ow).
    let y = x.contiguous()?.broadcast_matmul(&pw.contiguous()?)?;
    Ok(ph.broadcast_matmul(&y)?)
}

#[cfg(test)]
mod tests {
    use candle_core::DType;

    use super::*;

    // Expected values from PyTorch 2.15:
    // import torch, torch.nn.functional as F
    // print(F.adaptive_avg_pool2d(torch.arange(4.).reshape(1,1,2,2),(3,3)).flatten().tolist())
    // x=torch.arange(60.).reshape(1,2,5,6); print(F.adaptive_avg_pool2d(x,(3,4))[0,0].tolist())
    // -> [0.0, 0.5, 1.0, 1.0, 1.5, 2.0, 2.0, 2.5, 3.0]
    // -> [[3.5, 4.5, 6.5, 7.5], [12.5, 13.5, 15.5, 16.5], [21.5, 22.5, 24.5, 25.5]]
    #[test]
    fn upsampling_bins_match_pytorch() {
        let x = Tensor::arange(0f32, 4.0, &Device::Cpu).unwrap().reshape((1, 1, 2, 2)).unwrap();
        let y = adaptive_avg_pool2d(&x, 3, 3).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(y, vec![0.0, 0.5, 1.0, 1.0, 1.5, 2.0, 2.0, 2.5, 3.0]);
    }

    #[test]
    fn global_and_overlapping_bins_match_pytorch() {
        let x = Tensor::arange(0f32, 60.0, &Device::Cpu).unwrap().reshape((1, 2, 5, 6)).unwrap();
        let g = adaptive_avg_pool2d(&x, 1, 1).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(g, vec![14.5, 44.5]);
        let y = adaptive_avg_pool2d(&x, 3, 4).unwrap();
        assert_eq!(y.dims(), &[1, 2, 3, 4]);
        let c0 = y.get(0).unwrap().get(0).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let want = [3.5, 4.5, 6.5, 7.5, 12.5, 13.5, 15.5, 16.5, 21.5, 22.5, 24.5, 25.5];
        assert!(c0.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-4), "{c0:?}");
        assert!(adaptive_avg_pool2d(&Tensor::zeros((2, 2), DType::F32, &Device::Cpu).unwrap(), 1, 1).is_err());
    }
}
