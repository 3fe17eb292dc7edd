//! Layers that candle lacks or gets wrong for these backbones.
//!
//! - [`max_pool2d`]/[`MaxPool2d`]: overlapping max-pooling with a correct gradient (PyTorch's first-max rule);
//! - [`FractionalMaxPool2d`]: Graham's fractional max-pooling, PyTorch semantics, seeded;
//! - [`Norm2d`] and [`is_buffer`]: switchable BatchNorm with running statistics, and the buffer rule;
//! - [`SeededDropout`]: dropout with reproducible masks;
//! - [`adaptive_avg_pool2d`]: PyTorch's adaptive average pooling;
//! - [`Conv`], [`Dense`]: convolution and linear layers with the backbones' initialisations and FLOP counting;
//!   on the CPU the convolution's backward runs on gemm + col2im (candle's uses a slow direct transposed conv);
//! - [`fused`]: BatchNorm (+ ReLU) and ReLU as single CPU ops with hand-written backwards;
//!   [`use_candle_kernels`] switches every fast kernel back to candle's ops (the tested reference);
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
pub mod max_pool;
mod window_max;

pub use adaptive_avg_pool::adaptive_avg_pool2d;

use std::sync::atomic::{AtomicBool, Ordering};

static CANDLE_KERNELS: AtomicBool = AtomicBool::new(false);

/// Makes every layer run on candle's own ops instead of sgm's fused CPU kernels (convolution, BatchNorm, ReLU):
/// the reference the kernels are tested against, e.g. for a loss curve with and without them. Process-wide;
/// off by default. On non-CPU devices candle's ops are always used.
pub fn use_candle_kernels(on: bool) {
    CANDLE_KERNELS.store(on, Ordering::SeqCst);
}

pub(crate) fn candle_kernels() -> bool {
    CANDLE_KERNELS.load(Ordering::Relaxed)
}
pub use batch_norm::{is_buffer, Norm2d};
pub use context::ForwardCtx;
pub use conv::{Conv, Dense, DenseInit};
pub use dropout::SeededDropout;
pub use fractional_max_pool::{fmp_intervals, FractionalMaxPool2d};
pub use fused::relu;
pub use max_pool::{max_pool2d, MaxPool2d};
