//! One module per `sgm` subcommand.

pub mod audit;
pub mod cluster;
pub mod data;
pub mod embed;
pub mod eval;
pub mod export;
pub mod models;
pub mod plot;
pub mod retrieve;
pub mod sheets;
pub mod subclasses;
pub mod summarize;
pub mod train;
pub mod tsne;
