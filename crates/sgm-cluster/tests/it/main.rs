//! The integration tests of `sgm-cluster`, in one binary (each test binary links all of candle, so a crate has
//! one, as ripgrep's layout has it). One module per area; `cargo test -p sgm-cluster <module>::` runs one.

mod audit;
mod gmm_reference;
mod groups;
mod kmeans_reference;
mod subclasses;
mod tsne;
