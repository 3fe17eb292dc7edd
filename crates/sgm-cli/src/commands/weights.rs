//! `--weights SPEC` for the commands that load a model: a local file or `hf:OWNER/REPO/FILE[@REVISION]`, found in
//! the Hugging Face hub cache (or downloaded, when sgm is built with the `hub` feature), with a SHA-256 check.

use anyhow::{Context, Result};
use clap::Args;
use sgm_train::hub::{self, ResolveOptions, Source, WeightsSpec};
use std::path::PathBuf;

/// How `--weights` is found and checked.
#[derive(Debug, Clone, Default, Args)]
pub struct HubArgs {
    /// Never use the network for hf: weights, read the hub cache only (also turned on by HF_HUB_OFFLINE=1).
    #[arg(long, requires = "weights")]
    pub offline: bool,
    /// Expected SHA-256 of the weights file (64 hex digits; as `#sha256=HEX` after the spec); a mismatch is an error.
    #[arg(long, value_name = "HEX", requires = "weights")]
    pub weights_sha256: Option<String>,
    /// The Hugging Face hub cache [default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub].
    #[arg(long, value_name = "DIR", requires = "weights")]
    pub hub_cache: Option<PathBuf>,
}

impl HubArgs {
    /// The resolver's options: these flags, then the environment.
    pub fn options(&self) -> ResolveOptions {
        ResolveOptions {
            cache_dir: self.hub_cache.clone().unwrap_or_else(hub::cache_dir_from_env),
            offline: self.offline || hub::offline_from_env(),
            sha256: self.weights_sha256.clone(),
        }
    }
}

/// Resolves `spec` to a checked local file; says on stderr where a hub file was found.
pub fn resolve_weights(spec: &str, args: &HubArgs) -> Result<PathBuf> {
    let parsed: WeightsSpec = spec.parse()?;
    let resolved = hub::resolve(&parsed, &args.options()).with_context(|| format!("resolving --weights {spec}"))?;
    if resolved.source != Source::Local || resolved.sha256.is_some() {
        eprintln!("weights {spec}: {resolved}");
    }
    Ok(resolved.path)
}
