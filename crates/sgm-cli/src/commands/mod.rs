//! One module per `sgm` subcommand.

pub mod data;
pub mod eval;
