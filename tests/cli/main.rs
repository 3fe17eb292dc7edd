//! End-to-end tests of the `sgm` command line: every command driven in-process through `sgm_cli::run`, and, where
//! a real process is needed (killing a run, a second writer), the built binary. They belong to the `sgm-cli`
//! package (its `[[test]]` named `cli`), in one binary, and run with `cargo test --workspace` or
//! `cargo test -p sgm-cli --test cli`.
//!
//! Tests that need the real data sets are `#[ignore = "needs SGM_DATA_DIR"]`: `cargo test -- --ignored` runs
//! them with `SGM_DATA_DIR` set.

mod cluster_cmd;
mod common;
mod data_cmd;
mod eval_cli;
mod hub_weights;
mod kill_resume;
mod plot_retrieve_summarize;
mod reproduce_cli;
mod subclasses_cmd;
mod train_cli;
