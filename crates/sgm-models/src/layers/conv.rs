//! Convolution and linear layers with explicit initialisation and FLOP counting.

use candle_core::{Module, Tensor};
use candle_nn::{Init, VarBuilder};

use super::im2col_conv::{conv2d, conv2d_affine, conv2d_bias_relu, fast as fast_kernels};
use super::{route_of, ForwardCtx, Norm2d, Route};
use crate::error::Result;
use crate::seeded::KAIMING_NORMAL_FAN_OUT;

/// A 2-d convolution, weight Kaiming-normal (fan-out, ReLU gain) as torchvision's ResNet/VGG, bias zero.
///
/// On the CPU it runs through the crate's im2col convolution, whose backward uses matrix products instead of
/// candle's slow `conv_transpose2d`.
#[derive(Debug, Clone)]
pub struct Conv {
    weight: Tensor,
    bias: Option<Tensor>,
    stride: usize,
    padding: usize,
    in_channels: usize,
    out_channels: usize,
    kernel: usize,
}

impl Conv {
    /// A `kernel×kernel` convolution `in_channels → out_channels` with `stride` and zero `padding`; variables
    /// `weight` (out, in, k, k) and, when `bias`, `bias` (out).
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        bias: bool,
        vb: VarBuilder,
    ) -> Result<Self> {
        let weight =
            vb.get_with_hints((out_channels, in_channels, kernel, kernel), "weight", KAIMING_NORMAL_FAN_OUT)?;
        let bias = if bias { Some(vb.get_with_hints(out_channels, "bias", Init::Const(0.0))?) } else { None };
        Ok(Conv { weight, bias, stride, padding, in_channels, out_channels, kernel })
    }

    /// Convolves `x` (N, C, H, W) and counts its FLOPs in `ctx`.
    ///
    /// The weights are cast to `x`'s dtype when it differs (a bf16/f16 forward on a GPU; the cast is part of the
    /// graph, so the gradients reach the f32 variables).
    pub fn forward(&self, x: &Tensor, ctx: &mut ForwardCtx) -> Result<Tensor> {
        let (w, b) = self.weights_for(x, ctx)?;
        let y = conv2d(x, &w, b.as_ref(), self.stride, self.padding, ctx.kernels)?;
        self.count(y, ctx)
    }

    /// `relu(self.forward(x))`; on the CPU the ReLU is applied as the convolution writes its output.
    pub fn forward_relu(&self, x: &Tensor, ctx: &mut ForwardCtx) -> Result<Tensor> {
        let (w, b) = self.weights_for(x, ctx)?;
        let y = match &b {
            Some(b) => conv2d_bias_relu(x, &w, b, self.stride, self.padding, ctx.kernels)?,
            None => super::relu(&conv2d(x, &w, None, self.stride, self.padding, ctx.kernels)?, ctx.kernels)?,
        };
        self.count(y, ctx)
    }

    /// `bn(self.forward(x))`, then ReLU when `relu`. In evaluation mode the BatchNorm is a per-channel affine map
    /// (running statistics), which the CPU kernels apply, with the ReLU, as the convolution writes its output:
    /// no separate pass. In training mode it is `bn.forward(_relu)` on the convolution's output.
    pub fn forward_bn(&self, x: &Tensor, bn: &Norm2d, relu: bool, ctx: &mut ForwardCtx) -> Result<Tensor> {
        if !ctx.train && self.bias.is_none() && fast_kernels(x, ctx.kernels) {
            if let Some(scale_shift) = bn.eval_scale_shift()? {
                let (w, scale_shift) = (ctx.param(&self.weight), ctx.param(&scale_shift));
                let y = conv2d_affine(x, &w, &scale_shift, self.stride, self.padding, relu, ctx.kernels)?;
                return self.count(y, ctx);
            }
        }
        let y = self.forward(x, ctx)?;
        if relu {
            bn.forward_relu(&y, ctx)
        } else {
            bn.forward(&y, ctx)
        }
    }

    /// The weight and bias in `x`'s dtype, as `ctx` uses them ([`ForwardCtx::param`]).
    fn weights_for(&self, x: &Tensor, ctx: &ForwardCtx) -> Result<(Tensor, Option<Tensor>)> {
        let dtype = x.dtype();
        let w = cast(&ctx.param(&self.weight), dtype)?;
        let b = self.bias.as_ref().map(|b| cast(&ctx.param(b), dtype)).transpose()?;
        Ok((w, b))
    }

    fn count(&self, y: Tensor, ctx: &mut ForwardCtx) -> Result<Tensor> {
        let (n, _, oh, ow) = y.dims4()?;
        ctx.flops += 2 * (n * self.out_channels * oh * ow * self.in_channels * self.kernel * self.kernel) as u64;
        Ok(y)
    }
}

/// How a [`Dense`] layer's weight is initialised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DenseInit {
    /// PyTorch's `nn.Linear` default: weight and bias U(−1/√fan_in, 1/√fan_in).
    PyTorchDefault,
    /// Weight N(0, std²), bias 0 (torchvision's VGG classifier: std 0.01).
    Normal(f64),
}

/// A linear layer `y = x Wᵀ + b`.
#[derive(Debug, Clone)]
pub struct Dense {
    inner: candle_nn::Linear,
    in_features: usize,
    out_features: usize,
}

impl Dense {
    /// A linear layer `in_features → out_features` with variables `weight` (out, in) and `bias` (out).
    pub fn new(in_features: usize, out_features: usize, init: DenseInit, vb: VarBuilder) -> Result<Self> {
        let (w_init, b_init) = match init {
            DenseInit::PyTorchDefault => {
                let bound = 1.0 / (in_features as f64).sqrt();
                (Init::Uniform { lo: -bound, up: bound }, Init::Uniform { lo: -bound, up: bound })
            }
            DenseInit::Normal(std) => (Init::Randn { mean: 0.0, stdev: std }, Init::Const(0.0)),
        };
        let weight = vb.get_with_hints((out_features, in_features), "weight", w_init)?;
        let bias = vb.get_with_hints(out_features, "bias", b_init)?;
        Ok(Dense { inner: candle_nn::Linear::new(weight, Some(bias)), in_features, out_features })
    }

    /// Applies the layer to `x` (N, in_features) and counts its FLOPs in `ctx`.
    /// Weights are cast to `x`'s dtype when it differs, as in [`Conv::forward`].
    pub fn forward(&self, x: &Tensor, ctx: &mut ForwardCtx) -> Result<Tensor> {
        let w = &ctx.param(self.inner.weight());
        let bias = self.inner.bias().map(|b| ctx.param(b));
        let y = if x.dtype() == w.dtype() && x.rank() == 2 && route_of(x, ctx.kernels) == Route::CpuKernel {
            // y = (W · xᵀ)ᵀ + b. candle's `x · Wᵀ` has gemm repack the (out × in) weight, stored along `in`, into
            // panels on every call; for a batch of 64 through AlexNet's 9216 → 4096 layer the repacking took longer
            // than the product. `W · xᵀ` is the same product with the weight as gemm's right-hand operand, read in
            // place, and only the (in × batch) input is packed.
            let yt = w.matmul(&x.t()?)?.t()?;
            match &bias {
                Some(b) => yt.broadcast_add(b)?,
                None => yt.contiguous()?,
            }
        } else {
            let b = bias.map(|b| cast(&b, x.dtype())).transpose()?;
            candle_nn::Linear::new(cast(w, x.dtype())?, b).forward(x)?
        };
        ctx.flops += 2 * (x.dim(0)? * self.in_features * self.out_features) as u64;
        Ok(y)
    }
}

/// `t` in `dtype` (the same tensor when it already is).
fn cast(t: &Tensor, dtype: candle_core::DType) -> Result<Tensor> {
    Ok(if t.dtype() == dtype { t.clone() } else { t.to_dtype(dtype)? })
}
