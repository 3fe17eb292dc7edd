//! `sgm models`: what backbones sgm has.

use anyhow::Result;
use clap::{Args, Subcommand};
use sgm_models::{model_info, BackboneKind, ModelConfig};

/// `sgm models` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// The backbones: accepted input sizes, parameter count and FLOPs per image.
    List(ListArgs),
}

/// Arguments of `sgm models list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Input side for the FLOPs column.
    #[arg(long, default_value_t = 48)]
    pub size: usize,
    /// Input channels.
    #[arg(long, default_value_t = 1)]
    pub channels: usize,
    /// Embedding dimension.
    #[arg(long, default_value_t = 64)]
    pub embedding_dim: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs an `sgm models` subcommand.
pub fn run(cmd: ModelsCommand) -> Result<()> {
    let ModelsCommand::List(a) = cmd;
    let mut rows = Vec::new();
    for kind in BackboneKind::ALL {
        let cfg = ModelConfig {
            in_channels: a.channels,
            input_size: a.size,
            embedding_dim: a.embedding_dim,
            ..ModelConfig::new(kind)
        };
        let info = model_info(&cfg)?;
        rows.push(serde_json::json!({
            "name": info.name,
            "input_sizes": info.input_sizes,
            "params": info.params,
            "flops": info.flops,
            "size": a.size,
        }));
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!("{:<16} {:<24} {:>12} {:>14}", "backbone", "input sizes", "parameters", format!("GFLOPs @{}²", a.size));
    for r in &rows {
        println!(
            "{:<16} {:<24} {:>12} {:>14.3}",
            r["name"].as_str().unwrap_or(""),
            r["input_sizes"].as_str().unwrap_or(""),
            r["params"],
            r["flops"].as_f64().unwrap_or(0.0) / 1e9
        );
    }
    Ok(())
}
