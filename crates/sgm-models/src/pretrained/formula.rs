//! Formula-filled stand-ins for pretrained weights: every value is a function of the tensor's name, its shape and
//! the element's flat index, computed exactly alike in Rust and in Python (`bench/parity/formula.py`).
//!
//! The parity tests against torchvision fill both frameworks' models this way, so that no 45 MB fixture is needed,
//! and the offline tests of `--init` use such a file in place of ImageNet weights, which cannot be downloaded
//! there. The formula:
//!
//! ```text
//! h    = FNV-1a-64(name as UTF-8)
//! x_i  = splitmix64(h XOR (i · 0x9E3779B97F4A7C15))            (wrapping u64 arithmetic)
//! u_i  = (x_i >> 11) / 2^53 ∈ [0, 1),   v_i = 2·u_i − 1 ∈ [−1, 1)
//! value, by the tensor's role (f64, then rounded to f32):
//!   weight of rank ≥ 2 (convolution, linear)   v · sqrt(6 / fan_in),  fan_in = product of the dims after the first
//!   weight of rank 1 (BatchNorm γ)             1 + 0.2 · v
//!   bias (BatchNorm β, convolution, linear)    0.1 · v
//!   running_mean                               0.1 · v
//!   running_var                                1 + 0.25 · (v + 1)
//!   num_batches_tracked                        0 (i64)
//!   anything else (e.g. an input batch)        v
//! ```
//!
//! The weights are uniform with the variance of Kaiming's initialisation for ReLU networks (2 / fan_in), so
//! activations stay of order one through ResNet18 and AlexNet, as they do with trained weights.

use candle_core::{DType, Device, Tensor};

use crate::Result;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// FNV-1a, 64 bits, of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |h, &b| (h ^ b as u64).wrapping_mul(FNV_PRIME))
}

/// The splitmix64 finaliser (Steele, Lea and Flood 2014) of `x`.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The uniform value `v_i ∈ [−1, 1)` of element `i` of tensor `name`.
pub fn unit_value(name_hash: u64, i: u64) -> f64 {
    let x = splitmix64(name_hash ^ i.wrapping_mul(GOLDEN));
    2.0 * ((x >> 11) as f64 / (1u64 << 53) as f64) - 1.0
}

/// The role of a tensor, from its name and rank, that sets the formula's scale.
fn value_fn(name: &str, dims: &[usize]) -> Box<dyn Fn(f64) -> f64> {
    let last = name.rsplit('.').next().unwrap_or(name);
    match (last, dims.len()) {
        ("weight", r) if r >= 2 => {
            let fan_in: usize = dims[1..].iter().product();
            let a = (6.0 / fan_in.max(1) as f64).sqrt();
            Box::new(move |v| v * a)
        }
        ("weight", _) => Box::new(|v| 1.0 + 0.2 * v),
        ("bias", _) | ("running_mean", _) => Box::new(|v| 0.1 * v),
        ("running_var", _) => Box::new(|v| 1.0 + 0.25 * (v + 1.0)),
        _ => Box::new(|v| v),
    }
}

/// The formula's values of tensor `name` with shape `dims`, flat in row-major order.
pub fn formula_values(name: &str, dims: &[usize]) -> Vec<f32> {
    let h = fnv1a64(name.as_bytes());
    let f = value_fn(name, dims);
    let n: usize = dims.iter().product();
    (0..n as u64).map(|i| f(unit_value(h, i)) as f32).collect()
}

/// Tensor `name` of shape `dims` filled by the formula (f32; `num_batches_tracked` is an i64 zero, as PyTorch's).
pub fn formula_tensor(name: &str, dims: &[usize], device: &Device) -> Result<Tensor> {
    if name.ends_with("num_batches_tracked") {
        return Ok(Tensor::zeros(dims, DType::I64, device)?);
    }
    Ok(Tensor::from_vec(formula_values(name, dims), dims, device)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_their_definitions() {
        // FNV-1a test vectors (Fowler, Noll, Vo): "" and "a".
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        // splitmix64 seeded with 0 (the generator's state advanced once): its first output.
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn values_follow_the_roles() {
        let w = formula_values("layer1.0.conv1.weight", &[64, 64, 3, 3]);
        let a = (6.0f64 / 576.0).sqrt() as f32;
        assert!(w.iter().all(|v| v.abs() <= a));
        let var = formula_values("bn1.running_var", &[64]);
        assert!(var.iter().all(|v| (1.0..=1.5).contains(v)));
        let gamma = formula_values("bn1.weight", &[64]);
        assert!(gamma.iter().all(|v| (0.8..=1.2).contains(v)));
        // Different names give different values; the same name, the same ones.
        assert_ne!(formula_values("a.bias", &[8]), formula_values("b.bias", &[8]));
        assert_eq!(formula_values("a.bias", &[8]), formula_values("a.bias", &[8]));
        let mean = w.iter().map(|&v| v as f64).sum::<f64>() / w.len() as f64;
        assert!(mean.abs() < 0.01 * a as f64, "{mean}");
    }
}
