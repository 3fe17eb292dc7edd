//! The integration tests of `sgm-plot`, in one binary (each test binary links all of candle, so a crate has
//! one, as ripgrep's layout has it). One module per area; `cargo test -p sgm-plot <module>::` runs one.

mod plots;
