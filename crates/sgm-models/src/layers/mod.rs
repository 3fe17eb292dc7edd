//! Layers that candle lacks or gets wrong for these backbones.
//!
//! - [`max_pool2d`]/[`MaxPool2d`]: overlapping max-pooling with a correct gradient (PyTorch's first-max rule);
//! - [`FractionalMaxPool2d`]: Graham's fractional max-pooling, PyTorch semantics, seeded;
//! - [`Norm2d`] and [`is_buffer`]: switchable BatchNorm with running statistics, and the buffer rule;
//! - [`SeededDropout`]: dropout with reproducible masks;
//! - [`adaptive_avg_pool2d`]: PyTorch's adaptive average pooling;
//! - [`l2_normalize`]: PyTorch's `F.normalize` (each embedding on the unit sphere);
//! - [`Conv`], [`Dense`]: convolution and linear layers with the backbones' initialisations and FLOP counting;
//!   on the CPU the convolution's backward runs on gemm + col2im (candle's uses a slow direct transposed conv),
//!   and 3×3 and 5×5 stride-1 layers on Winograd F(2×2, 3×3), F(3×3, 3×3), F(4×4, 3×3) or F(2×2, 5×5)
//!   (`winograd`);
//! - [`fused`]: BatchNorm (+ ReLU) and ReLU as single CPU ops with hand-written backwards;
//!   [`Kernels::Candle`] switches every fast kernel back to candle's ops (the tested reference), and [`route`] is
//!   the one decision between sgm's CPU kernels and candle's ops (GPU tensors always take candle's);
//! - [`ForwardCtx`]: the train flag, generator and FLOP counter threaded through a forward pass.

pub mod adaptive_avg_pool;
pub mod batch_norm;
pub mod context;
pub mod conv;
mod conv_kernels;
pub mod dropout;
pub mod fractional_max_pool;
pub mod fused;
mod im2col_conv;
pub mod l2_normalize;
mod lanes;
pub mod max_pool;
mod plane_sums;
mod scratch;
mod window_max;
mod winograd;

pub use adaptive_avg_pool::adaptive_avg_pool2d;
pub use l2_normalize::{l2_normalize, NORMALIZE_EPS};

use candle_core::{DType, DeviceLocation};
use serde::{Deserialize, Serialize};

/// Which implementation runs the ops that sgm has its own CPU kernels for (convolution, BatchNorm (+ ReLU), ReLU;
/// sgm-train's Adam follows the same choice). Carried by [`ForwardCtx::kernels`], set per model with
/// [`EmbeddingModel::with_kernels`](crate::EmbeddingModel::with_kernels); nothing process-wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kernels {
    /// sgm's fused kernels where they apply (CPU, f32/f64), candle's ops everywhere else. The default.
    #[default]
    Fast,
    /// candle's own ops everywhere: the reference the fast kernels are tested against.
    Candle,
}

/// Where one op runs: the outcome of [`route`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// sgm's CPU kernel (a candle `CustomOp` with only a CPU implementation).
    CpuKernel,
    /// A composition of candle's ops, which every backend (CPU, CUDA, Metal) implements.
    CandleOps,
}

/// The one routing decision of every op with an sgm CPU kernel: the kernel for CPU tensors of f32 or f64 when
/// `kernels` is [`Kernels::Fast`], candle's ops otherwise. Tensors on a GPU (CUDA, Metal) therefore never reach a
/// CPU-only custom op, whatever the switch says, and other dtypes (bf16, f16) always take candle's ops.
pub fn route(location: DeviceLocation, dtype: DType, kernels: Kernels) -> Route {
    match (kernels, location, dtype) {
        (Kernels::Fast, DeviceLocation::Cpu, DType::F32 | DType::F64) => Route::CpuKernel,
        _ => Route::CandleOps,
    }
}

/// [`route`] for a tensor.
pub(crate) fn route_of(x: &candle_core::Tensor, kernels: Kernels) -> Route {
    route(x.device().location(), x.dtype(), kernels)
}

pub use batch_norm::{is_buffer, Norm2d};
pub use context::ForwardCtx;
pub use conv::{Conv, Dense, DenseInit};
pub use dropout::SeededDropout;
pub use fractional_max_pool::{fmp_intervals, FractionalMaxPool2d};
pub use fused::{add_relu, relu};
pub use max_pool::{max_pool2d, MaxPool2d};

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    const GPUS: [DeviceLocation; 3] =
        [DeviceLocation::Cuda { gpu_id: 0 }, DeviceLocation::Cuda { gpu_id: 3 }, DeviceLocation::Metal { gpu_id: 0 }];

    #[test]
    fn gpu_tensors_always_take_candle_ops() {
        for gpu in GPUS {
            for dtype in [DType::F32, DType::F64, DType::BF16, DType::F16] {
                for kernels in [Kernels::Fast, Kernels::Candle] {
                    assert_eq!(route(gpu, dtype, kernels), Route::CandleOps, "{gpu:?} {dtype:?} {kernels:?}");
                }
            }
        }
    }

    #[test]
    fn cpu_kernels_only_for_f32_f64_and_only_when_fast() {
        for dtype in [DType::F32, DType::F64] {
            assert_eq!(route(DeviceLocation::Cpu, dtype, Kernels::Fast), Route::CpuKernel);
            assert_eq!(route(DeviceLocation::Cpu, dtype, Kernels::Candle), Route::CandleOps);
        }
        for dtype in [DType::BF16, DType::F16, DType::U8, DType::U32, DType::I64] {
            assert_eq!(route(DeviceLocation::Cpu, dtype, Kernels::Fast), Route::CandleOps, "{dtype:?}");
        }
    }

    #[test]
    fn the_switch_is_per_context_fast_by_default_and_serialises_lowercase() {
        let ctx = ForwardCtx::new(true, ChaCha8Rng::seed_from_u64(0));
        assert_eq!(ctx.kernels, Kernels::Fast);
        assert_eq!(Kernels::default(), Kernels::Fast);
        assert_eq!(serde_json::to_string(&Kernels::Candle).unwrap(), "\"candle\"");
        assert_eq!(serde_json::from_str::<Kernels>("\"fast\"").unwrap(), Kernels::Fast);
    }

    /// Every routed entry point gives candle's own result on the candle route, on CPU tensors of every dtype the
    /// fast kernels do not take (f16 here, as a GPU's mixed precision would send; the CPU has no bf16 matmul).
    #[test]
    fn entry_points_follow_the_route() {
        let x = Tensor::from_vec(
            (0..2 * 3 * 6 * 6).map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0).collect::<Vec<_>>(),
            (2, 3, 6, 6),
            &Device::Cpu,
        )
        .unwrap();
        let w = Tensor::from_vec(
            (0..4 * 3 * 3 * 3).map(|i| ((i * 7 % 5) as f32 - 2.0) / 7.0).collect::<Vec<_>>(),
            (4, 3, 3, 3),
            &Device::Cpu,
        )
        .unwrap();
        let b = Tensor::new(&[0.1f32, -0.2, 0.3, 0.0], &Device::Cpu).unwrap();
        let flat = |t: &Tensor| t.to_dtype(DType::F32).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for (dtype, kernels) in [(DType::F32, Kernels::Candle), (DType::F16, Kernels::Fast)] {
            let (x, w, b) = (x.to_dtype(dtype).unwrap(), w.to_dtype(dtype).unwrap(), b.to_dtype(dtype).unwrap());
            let candle = x.conv2d(&w, 1, 1, 1, 1).unwrap().broadcast_add(&b.reshape((1, 4, 1, 1)).unwrap()).unwrap();
            let ours = im2col_conv::conv2d(&x, &w, Some(&b), 1, 1, kernels).unwrap();
            assert_eq!(flat(&ours), flat(&candle), "conv2d {dtype:?} {kernels:?}");
            let ours = im2col_conv::conv2d_bias_relu(&x, &w, &b, 1, 1, kernels).unwrap();
            assert_eq!(flat(&ours), flat(&candle.relu().unwrap()), "conv2d+relu {dtype:?} {kernels:?}");
            assert_eq!(flat(&relu(&x, kernels).unwrap()), flat(&x.relu().unwrap()), "relu {dtype:?} {kernels:?}");
            assert!(!fused::fused_applies(&x, kernels));
        }
        // The fast route on CPU f32 takes the kernels (same values to rounding).
        assert!(fused::fused_applies(&x, Kernels::Fast));
        assert!(im2col_conv::fast(&x, Kernels::Fast));
    }
}
