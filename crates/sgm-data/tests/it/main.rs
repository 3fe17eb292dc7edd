//! The integration tests of `sgm-data`, in one binary (each test binary links all of candle, so a crate has
//! one, as ripgrep's layout has it). One module per area; `cargo test -p sgm-data <module>::` runs one.
//!
//! Tests that need the real data sets are `#[ignore = "needs SGM_DATA_DIR"]`: `cargo test -- --ignored` runs
//! them with `SGM_DATA_DIR` set.

mod augment;
mod common;
mod faces;
mod ferplus_real;
mod loaders_affectnet;
mod loaders_bu3dfe;
mod loaders_celeba;
mod loaders_ckplus;
mod loaders_fer2013;
mod loaders_ferplus;
mod loaders_image_folder;
mod loaders_jaffe;
mod samplers;
mod synth;
