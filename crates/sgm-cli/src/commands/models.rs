//! `sgm models`: what backbones sgm has, and what an image costs each of them at several input sizes.

use anyhow::Result;
use clap::{Args, Subcommand};
use sgm_models::{model_info, BackboneKind, ModelConfig};

/// `sgm models` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// The backbones: accepted input sizes, parameter count and the cost of one image at several input sizes.
    List(ListArgs),
}

/// Arguments of `sgm models list`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sgm models list                        # GFLOPs per image at 48, 64, 112 and 224
  sgm models list --size 96 --measure    # one size, with the evaluation time per image on this machine")]
pub struct ListArgs {
    /// Input side(s) for the cost columns [default: 48, 64, 112, 224].
    #[arg(long, value_delimiter = ',', value_name = "SIZE,…")]
    pub size: Vec<usize>,
    /// Input channels.
    #[arg(long, default_value_t = 1)]
    pub channels: usize,
    /// Embedding dimension.
    #[arg(long, default_value_t = 64)]
    pub embedding_dim: usize,
    /// Also time an evaluation forward pass (batch 16, seeded weights) per image on this machine.
    #[arg(long)]
    pub measure: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs an `sgm models` subcommand.
pub fn run(cmd: ModelsCommand) -> Result<()> {
    let ModelsCommand::List(a) = cmd;
    let sizes = if a.size.is_empty() { vec![48, 64, 112, 224] } else { a.size.clone() };
    let mut rows = Vec::new();
    for kind in BackboneKind::ALL {
        let (lo, hi) = kind.input_size_range();
        let mut params = None;
        let mut costs = Vec::new();
        for &size in &sizes {
            if !(lo..=hi).contains(&size) {
                costs.push(serde_json::json!({ "size": size, "gflops": null, "ms_per_image": null }));
                continue;
            }
            let cfg = ModelConfig {
                in_channels: a.channels,
                input_size: size,
                embedding_dim: a.embedding_dim,
                ..ModelConfig::new(kind)
            };
            let info = model_info(&cfg)?;
            params.get_or_insert(info.params);
            let ms = if a.measure { Some(sgm_models::eval_ms_per_image(&cfg, 16)?) } else { None };
            costs.push(serde_json::json!({ "size": size, "gflops": info.flops as f64 / 1e9, "ms_per_image": ms }));
        }
        rows.push(serde_json::json!({
            "name": kind.name(),
            "input_sizes": kind.input_sizes_text(),
            "params": params,
            "cost": costs,
        }));
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let mut header = format!("{:<16} {:<24} {:>11}", "backbone", "input sizes", "parameters");
    for s in &sizes {
        header.push_str(&format!(" {:>11}", format!("GFLOPs@{s}")));
        if a.measure {
            header.push_str(&format!(" {:>10}", format!("ms/img@{s}")));
        }
    }
    println!("{header}");
    for r in &rows {
        let mut line = format!(
            "{:<16} {:<24} {:>11}",
            r["name"].as_str().unwrap_or(""),
            r["input_sizes"].as_str().unwrap_or(""),
            r["params"].as_u64().map_or("-".into(), |p| p.to_string())
        );
        for c in r["cost"].as_array().into_iter().flatten() {
            line.push_str(&format!(" {:>11}", c["gflops"].as_f64().map_or("-".into(), |g| format!("{g:.3}"))));
            if a.measure {
                line.push_str(&format!(
                    " {:>10}",
                    c["ms_per_image"].as_f64().map_or("-".into(), |m| format!("{m:.2}"))
                ));
            }
        }
        println!("{line}");
    }
    println!(
        "GFLOPs: one evaluation forward pass per image (2 × multiply-adds of convolutions and linear layers); a \
         training step costs about 3× that. Images are resized from their stored size (48×48 for FER+) bilinearly; \
         '-' is outside the backbone's input range."
    );
    Ok(())
}
