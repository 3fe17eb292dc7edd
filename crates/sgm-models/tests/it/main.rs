//! The integration tests of `sgm-models`, in one binary (each test binary links all of candle, so a crate has
//! one, as ripgrep's layout has it). One module per area; `cargo test -p sgm-models <module>::` runs one.

mod backward;
mod checkpoint_roundtrip;
mod fast_kernels_eval;
mod forward_shapes;
mod hub_cache;
mod input_sizes;
mod param_counts;
mod pretrained;
