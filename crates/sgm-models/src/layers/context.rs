//! [`ForwardCtx`]: what a forward pass carries besides the tensor (train flag, seeded noise, a FLOP counter).

use candle_core::Tensor;
use rand_chacha::ChaCha8Rng;

use super::Kernels;

/// The state of one forward pass.
///
/// Every layer with train/eval behaviour (BatchNorm, dropout, fractional max-pooling) reads `train`; every random
/// layer draws from `rng`, so a forward is a deterministic function of the weights, the input and the generator's
/// seed. Convolutions and linear layers add their multiply-adds × 2 to `flops`.
#[derive(Debug, Clone)]
pub struct ForwardCtx {
    /// Training mode: batch statistics (and running-statistic updates) in BatchNorm, active dropout, fresh
    /// fractional-pooling regions per image.
    pub train: bool,
    /// The generator every random layer draws from, in layer order.
    pub rng: ChaCha8Rng,
    /// Floating-point operations counted so far (2 × multiply-adds of convolutions and linear layers).
    pub flops: u64,
    /// sgm's CPU kernels or candle's ops (see [`super::route`]); [`Kernels::Fast`] unless asked otherwise.
    pub kernels: Kernels,
    /// Whether the outputs will be differentiated (`true` unless [`ForwardCtx::without_grad`]). Without, every
    /// layer uses its weights detached ([`ForwardCtx::param`]), so no result keeps the tensors it was computed
    /// from alive for a backward pass: each activation is freed once the next layer has read it, as under
    /// PyTorch's `no_grad`.
    pub grad: bool,
}

impl ForwardCtx {
    /// A context in the given mode drawing from `rng`.
    pub fn new(train: bool, rng: ChaCha8Rng) -> Self {
        ForwardCtx { train, rng, flops: 0, kernels: Kernels::Fast, grad: true }
    }

    /// This context for a forward whose outputs are not differentiated (evaluation, embedding).
    pub fn without_grad(mut self) -> Self {
        self.grad = false;
        self
    }

    /// A layer's weight as this forward uses it: the variable itself, or detached from it without
    /// [`ForwardCtx::grad`].
    pub fn param(&self, weight: &Tensor) -> Tensor {
        if self.grad {
            weight.clone()
        } else {
            weight.detach()
        }
    }
}
