//! # sgm-cli
//!
//! The `sgm` command-line tool. The binary is a thin wrapper around [`run`], so integration tests can drive every
//! command in-process.
//!
//! ## Tutorial: commands as library calls
//!
//! Every command takes the same arguments as on the command line; [`reproduce::run`] is the paper's whole
//! protocol (`cargo xtask reproduce`).
//!
//! ```
//! # fn main() -> anyhow::Result<()> {
//! // The backbones, their input sizes, parameters and FLOPs, as `sgm models list` prints them.
//! sgm_cli::run(["sgm", "models", "list"])?;
//! // Errors are returned, not printed: an unknown backbone is refused with the list of known ones.
//! let err = sgm_cli::run(["sgm", "train", "--backbone", "lenet", "--out", "runs/x"]).unwrap_err();
//! assert!(err.to_string().contains("lenet"));
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::process::ExitCode;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

mod args;
mod commands;
mod csv_files;
mod groups_files;
mod metrics_log;
mod photos;
pub mod process;
pub mod reproduce;
mod subclass_run;

/// sgm: deep metric learning for facial expressions (Structured Gaussian Manifold loss).
#[derive(Debug, Parser)]
#[command(name = "sgm", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// More log output (-v info, -vv debug, -vvv trace). `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The sgm commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Score embeddings the way the paper does: kNN classification, clustering NMI, Recall@K.
    Eval(commands::eval::EvalArgs),
    /// Data sets: list the known ones, count, verify, look at them, write the synthetic set.
    #[command(subcommand)]
    Data(commands::data::DataCommand),
    /// Train an embedding (SGM, triplet or softmax) and score it on the test split.
    Train(Box<commands::train::TrainArgs>),
    /// Compute the embeddings of a data set split with a trained checkpoint.
    Embed(commands::embed::EmbedArgs),
    /// Write an inference-only model file (no optimiser state) from a training checkpoint.
    Export(commands::export::ExportArgs),
    /// The backbones sgm has.
    #[command(subcommand)]
    Models(commands::models::ModelsCommand),
    /// EM (or k-means) groups over embeddings, each with its medoid and the members nearest it.
    Cluster(commands::cluster::ClusterArgs),
    /// Algorithm 2: split each class into sub-classes and train over them, level by level.
    Subclasses(Box<commands::subclasses::SubclassesArgs>),
    /// A 2-d t-SNE map of embeddings (perplexity 30, PCA initialisation, the first 4000 points) as CSV.
    Tsne(commands::tsne::TsneArgs),
    /// One contact-sheet PNG per group of `sgm cluster`: the top-k images, medoid first.
    Sheets(Box<commands::sheets::SheetsArgs>),
    /// Images whose label disagrees with most of their nearest neighbours, ranked (label audit).
    Audit(Box<commands::audit::AuditArgs>),
    /// PNG plots: training curves of a run, a t-SNE map, Recall@K / F1-vs-K / confusion matrix of a report.
    Plot(Box<commands::plot::PlotArgs>),
    /// The k expressions of an index (`sgm embed`) nearest to a query image, as a picture and a JSON list.
    Retrieve(Box<commands::retrieve::RetrieveArgs>),
    /// Summarise a photo album: n groups of faces, one representative (medoid) each, largest group first.
    Summarize(Box<commands::summarize::SummarizeArgs>),
    /// The paper's protocol in one command, with a report next to the paper's numbers (also `cargo xtask reproduce`).
    Reproduce(Box<reproduce::ReproduceArgs>),
}

/// Parses `args` and runs the command. Errors are returned, not printed.
pub fn run<I, T>(args: I) -> anyhow::Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)?;
    run_cli(cli)
}

/// Runs an already parsed command line.
pub fn run_cli(cli: Cli) -> anyhow::Result<()> {
    init_tracing(cli.verbose);
    match cli.command {
        Command::Eval(args) => commands::eval::run(args),
        Command::Data(cmd) => commands::data::run(cmd),
        Command::Train(args) => commands::train::run(*args),
        Command::Embed(args) => commands::embed::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::Models(cmd) => commands::models::run(cmd),
        Command::Cluster(args) => commands::cluster::run(args),
        Command::Subclasses(args) => commands::subclasses::run(*args),
        Command::Tsne(args) => commands::tsne::run(args),
        Command::Sheets(args) => commands::sheets::run(*args),
        Command::Audit(args) => commands::audit::run(*args),
        Command::Plot(args) => commands::plot::run(*args),
        Command::Retrieve(args) => commands::retrieve::run(*args),
        Command::Summarize(args) => commands::summarize::run(*args),
        Command::Reproduce(args) => reproduce::run(*args).map(|_| ()),
    }
}

/// Entry point of the binary: parses `args`, then [`main_with_cli`].
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    match Cli::try_parse_from(args) {
        Ok(cli) => main_with_cli(cli),
        Err(e) => {
            // clap prints help/version to stdout and usage errors to stderr with its own exit code.
            let _ = e.print();
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Runs a parsed command line as the `sgm` binary does (also `cargo xtask reproduce`): the process-wide CPU settings
/// of [`process::tune`] first, then the command; an error is printed as `error: …` with its causes and maps to a
/// failing exit code.
pub fn main_with_cli(cli: Cli) -> ExitCode {
    process::tune();
    match run_cli(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    // By default: warnings, plus the training progress lines that replace the bars when stderr is not a terminal.
    let default = match verbose {
        0 => "warn,sgm_train=info",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // A second call (in-process tests) keeps the first subscriber.
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
