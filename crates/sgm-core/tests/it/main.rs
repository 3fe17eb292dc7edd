//! The integration tests of `sgm-core`, in one binary (each test binary links all of candle, so a crate has
//! one, as ripgrep's layout has it). One module per area; `cargo test -p sgm-core <module>::` runs one.

mod gradcheck;
mod losses_reference;
mod metrics_reference;
mod properties;
