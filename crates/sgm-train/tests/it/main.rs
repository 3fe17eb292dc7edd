//! The integration tests of `sgm-train`, in one binary (each test binary links all of candle, so a crate has
//! one, as ripgrep's layout has it). One module per area; `cargo test -p sgm-train <module>::` runs one.

mod adam_reference;
mod checkpoint;
mod eval_flip;
mod every_backbone_and_loss;
mod fast_kernels_loss_curve;
mod fit;
mod learns;
mod parity_smoke;
mod precise_bn;
