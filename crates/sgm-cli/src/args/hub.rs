//! `--weights SPEC` for the commands that load a model: a local file or `hf:OWNER/REPO/FILE[@REVISION]`, found in
//! the Hugging Face hub cache (or downloaded, when sgm is built with the `hub` feature), with a SHA-256 check.

use anyhow::{Context, Result};
use clap::Args;
use sgm_models::pretrained::hub::{self, ResolveOptions, Source, WeightsSpec};
use sgm_models::pretrained::InitScope;
use sgm_models::BackboneKind;
use sgm_train::pretrained::{imagenet_source, ForeignInit, PretrainedInit};
use std::path::PathBuf;

/// How `--weights` is found and checked.
#[derive(Debug, Clone, Default, Args)]
pub struct HubArgs {
    /// Never use the network for hf: weights, read the hub cache only (also turned on by HF_HUB_OFFLINE=1).
    #[arg(long)]
    pub offline: bool,
    /// Expected SHA-256 of the weights file (64 hex digits; as `#sha256=HEX` after the spec); a mismatch is an error.
    #[arg(long, value_name = "HEX")]
    pub weights_sha256: Option<String>,
    /// The Hugging Face hub cache [default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub].
    #[arg(long, value_name = "DIR")]
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

/// `hf:OWNER/REPO` names the repository's `model.safetensors` (timm's file name), with or without `@REVISION`.
fn with_default_file(spec: &str) -> String {
    let (body, digest) = match spec.rsplit_once("#sha256=") {
        Some((b, d)) => (b, format!("#sha256={d}")),
        None => (spec, String::new()),
    };
    let Some(rest) = body.strip_prefix("hf:") else { return spec.to_string() };
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.split('/').count() != 2 {
        return spec.to_string();
    }
    match path.split_once('@') {
        Some((repo, rev)) => format!("hf:{repo}@{rev}/{}{digest}", sgm_train::pretrained::HUB_FILE),
        None => format!("hf:{path}/{}{digest}", sgm_train::pretrained::HUB_FILE),
    }
}

/// Resolves `--init SPEC` for `backbone` to a checked local file and the record kept in the run's configuration.
/// `imagenet` names the backbone's ImageNet weights on the hub; says on stderr where the file was found.
pub fn resolve_init(
    spec: &str,
    backbone: BackboneKind,
    scope: InitScope,
    args: &HubArgs,
) -> Result<(ForeignInit, PretrainedInit)> {
    let full = if spec == "imagenet" { imagenet_source(backbone)?.to_string() } else { with_default_file(spec) };
    let parsed: WeightsSpec = full.parse()?;
    let resolved = hub::resolve(&parsed, &args.options()).with_context(|| format!("resolving --init {spec}"))?;
    eprintln!("init {full}: {resolved}");
    let sha256 = match resolved.sha256 {
        Some(s) => s,
        None => hub::sha256_file(&resolved.path)?,
    };
    let record = PretrainedInit { source: full, sha256, scope };
    Ok((ForeignInit { path: resolved.path, scope }, record))
}

#[cfg(test)]
mod tests {
    use super::with_default_file;

    #[test]
    fn a_bare_hub_repository_means_its_model_safetensors() {
        assert_eq!(with_default_file("hf:timm/resnet18.tv_in1k"), "hf:timm/resnet18.tv_in1k/model.safetensors");
        assert_eq!(with_default_file("hf:a/b@v1"), "hf:a/b@v1/model.safetensors");
        let d = "0".repeat(64);
        assert_eq!(with_default_file(&format!("hf:a/b#sha256={d}")), format!("hf:a/b/model.safetensors#sha256={d}"));
        assert_eq!(with_default_file("hf:a/b/w.safetensors"), "hf:a/b/w.safetensors");
        assert_eq!(with_default_file("weights/r18.safetensors"), "weights/r18.safetensors");
    }
}
