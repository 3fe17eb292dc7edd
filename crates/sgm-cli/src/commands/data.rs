//! `sgm data …`: the data set registry and tools. (Being filled in by the sgm-data work.)

use clap::Subcommand;

/// `sgm data` subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// List the data sets sgm knows and whether each is found locally.
    List,
}

/// Runs an `sgm data` subcommand.
pub fn run(cmd: DataCommand) -> anyhow::Result<()> {
    match cmd {
        DataCommand::List => anyhow::bail!("sgm data list: the data set registry is not built yet"),
    }
}
