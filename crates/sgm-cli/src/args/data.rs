//! Resolving `--data NAME` for the commands that train on or embed a data set: either the built-in synthetic
//! faces (generated in memory, no download) or a data set of the registry (`sgm data list`).

use anyhow::{bail, Context, Result};
use clap::Args;
use sgm_data::registry::DatasetEntry;
use sgm_data::{ImageSet, LoadOptions, Registry, Split, SynthConfig};
use std::path::PathBuf;

/// The name of the built-in synthetic data set.
pub const SYNTH: &str = "synth";

/// How bad or unusual input is handled while a data set is read; shared by every command that reads one.
#[derive(Debug, Clone, Default, Args)]
pub struct LoadFlags {
    /// Log and skip bad input (unreadable images, malformed rows) instead of failing; the count is reported.
    #[arg(long)]
    pub skip_bad: bool,
    /// Drop from valid/test the exact copies of images of an earlier split (FER+, FER2013).
    #[arg(long)]
    pub drop_cross_split_duplicates: bool,
    /// Refuse images whose stored size differs from the target size, or that hold colour, instead of resizing and
    /// converting them (with --skip-bad they are skipped and counted).
    #[arg(long)]
    pub strict_size: bool,
}

impl LoadFlags {
    /// These flags as loader options (everything else at its default).
    pub fn options(&self) -> LoadOptions {
        LoadOptions {
            skip_bad: self.skip_bad,
            drop_cross_split_duplicates: self.drop_cross_split_duplicates,
            strict_size: self.strict_size,
            ..LoadOptions::default()
        }
    }
}

/// Which data set to read.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Data set: `synth` (built-in synthetic faces, generated in memory) or a registry name (`sgm data list`).
    #[arg(long, default_value = SYNTH)]
    pub data: String,
    /// Root folder of a registry data set (default: $SGM_DATA_DIR/<name>, else the registry's default root).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// How bad or unusual images are handled.
    #[command(flatten)]
    pub load: LoadFlags,
    /// Synthetic set: training images per class (valid and test get a sixth of it each; default 600).
    #[arg(long, value_name = "N")]
    pub synth_per_class: Option<usize>,
    /// Read --root with this layout instead of a registry entry (then --data is a free name, e.g. for your own
    /// ImageFolder data with train/valid/test folders): ferplus, fer2013, ckplus, ckplus48, jaffe, affectnet,
    /// bu3dfe, celeba, image_folder.
    #[arg(long, requires = "root")]
    pub format: Option<sgm_data::Format>,
    /// Synthetic set: generator seed.
    #[arg(long, default_value_t = 1, value_name = "SEED")]
    pub synth_seed: u64,
}

impl DataArgs {
    /// The synthetic set's configuration for these arguments.
    pub fn synth_config(&self) -> SynthConfig {
        let mut cfg = SynthConfig { seed: self.synth_seed, ..SynthConfig::default() };
        if let Some(n) = self.synth_per_class {
            cfg.train_per_class = n;
            cfg.valid_per_class = (n / 6).max(2);
            cfg.test_per_class = (n / 6).max(2);
        }
        cfg
    }

    /// Loads `splits` (in that order).
    pub fn load(&self, splits: &[Split]) -> Result<Vec<ImageSet>> {
        if self.data == SYNTH {
            let cfg = self.synth_config();
            return splits
                .iter()
                .map(|&s| {
                    sgm_data::generate_synth(&cfg, s).with_context(|| format!("generating the synthetic {s} split"))
                })
                .collect();
        }
        let (name, loaded) = self.load_registered()?;
        splits
            .iter()
            .map(|&s| match loaded.split(s) {
                Some(set) => Ok(set.clone()),
                None => bail!("data set '{name}' has no {s} split"),
            })
            .collect()
    }

    /// Every split the data set has, read once: train, valid and test, or the single `all` split of a set that
    /// has no splits.
    pub fn load_all(&self) -> Result<Vec<ImageSet>> {
        if self.data == SYNTH {
            return self.load(&[Split::Train, Split::Valid, Split::Test]);
        }
        Ok(self.load_registered()?.1.splits)
    }

    /// Reads a registry data set with the options of these arguments; returns its name and its splits.
    fn load_registered(&self) -> Result<(String, sgm_data::LoadedDataset)> {
        let registry = Registry::embedded().context("the embedded datasets.toml is invalid")?;
        let entry = match self.format {
            Some(format) => DatasetEntry::ad_hoc(&self.data, format),
            None => registry.require(&self.data)?.clone(),
        };
        let opts = self.load.options();
        let name = entry.name.clone();
        let opened = entry.open(self.root.as_deref(), &opts).map_err(|e| super::loading(e, &name))?;
        Ok((name, opened.data))
    }
}
