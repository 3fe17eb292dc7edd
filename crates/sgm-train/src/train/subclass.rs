//! Training over sub-class labels, for the paper's Algorithm 2 (Deep Gaussian Mixture Sub-space).
//!
//! Each batch holds `samples_per_subclass` images of every current sub-class; the loss is the SGM loss over the
//! sub-class labels plus `ce_weight` × cross-entropy of a class head on the original labels (the authors'
//! `train_mitosis.py` keeps the classifier alongside). A checkpoint trained with SGM alone has no class head: it is
//! added with its seeded initialisation, every other weight must be in the checkpoint.

use crate::checkpoint;
use crate::error::{Result, TrainError};
use crate::optim::Adam;
use crate::train::config::TrainConfig;
use crate::train::trainer::{embed_set, load_weights_except, trainable, EmbedOptions, EpochStats};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use sgm_core::{CrossEntropyLoss, Embeddings, SgmLoss};
use sgm_data::augment::BatchBuilder;
use sgm_data::sampler::{derive_seed, StratifiedBatchSampler};
use sgm_data::ImageSet;
use sgm_models::{seeded_var_builder, EmbeddingModel, NoiseState};
use std::path::Path;

/// How the sub-class epochs are run, validated by [`SubclassTrainConfig::validate`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubclassTrainConfig {
    /// Weight of the cross-entropy on the original labels (0 turns it off).
    pub ce_weight: f64,
    /// Images of each sub-class in a batch.
    pub samples_per_subclass: usize,
    /// Batches per epoch (default: the sampler's, one pass over the largest sub-class).
    pub batches_per_epoch: Option<usize>,
}

impl Default for SubclassTrainConfig {
    fn default() -> Self {
        Self { ce_weight: 1.0, samples_per_subclass: 8, batches_per_epoch: None }
    }
}

impl SubclassTrainConfig {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        if !(self.ce_weight.is_finite() && self.ce_weight >= 0.0) {
            return Err(TrainError::Config(format!("ce_weight must be ≥ 0, got {}", self.ce_weight)));
        }
        if self.samples_per_subclass < 2 {
            return Err(TrainError::Config("samples_per_subclass must be at least 2".into()));
        }
        if self.batches_per_epoch == Some(0) {
            return Err(TrainError::Config("batches_per_epoch must be at least 1 when given".into()));
        }
        Ok(())
    }
}

/// A model trained over sub-class labels with a class head on the original labels.
pub struct SubclassTrainer {
    cfg: TrainConfig,
    device: Device,
    varmap: VarMap,
    model: EmbeddingModel,
    opt: Adam,
    builder: BatchBuilder,
    eval_builder: BatchBuilder,
}

impl std::fmt::Debug for SubclassTrainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubclassTrainer").field("cfg", &self.cfg).finish_non_exhaustive()
    }
}

impl SubclassTrainer {
    /// Loads an sgm checkpoint (its recorded training configuration and weights) and gives the model a class head
    /// of `num_classes` outputs when it has none.
    pub fn from_checkpoint(path: &Path, num_classes: usize, device: Device) -> Result<Self> {
        let bad = |reason: String| TrainError::CheckpointFile { path: path.to_path_buf(), reason };
        let ck = checkpoint::load(path, &device)?;
        let mut cfg: TrainConfig = serde_json::from_value(ck.meta["train"].clone())
            .map_err(|e| bad(format!("no usable training configuration: {e}")))?;
        match cfg.model.num_classes {
            None => cfg.model.num_classes = Some(num_classes),
            Some(c) if c == num_classes => {}
            Some(c) => return Err(bad(format!("its class head has {c} outputs, the data set {num_classes} classes"))),
        }
        cfg.validate()?;
        let varmap = VarMap::new();
        let vb = seeded_var_builder(&varmap, derive_seed(&[cfg.seed, 0x5C1]), DType::F32, &device);
        let model = EmbeddingModel::new(&cfg.model, vb)?;
        model.set_noise_state(NoiseState { seed: derive_seed(&[cfg.seed, 0x5C2]), forwards: 0 });
        for name in load_weights_except(&varmap, &ck.tensors, path, |n| n.starts_with("head."))? {
            tracing::info!("{}: new class head '{name}'", path.display());
        }
        let opt = Adam::new(trainable(&varmap), cfg.optimizer.clone())?;
        let builder = BatchBuilder::new(
            cfg.batch_config(),
            cfg.augment.clone(),
            derive_seed(&[cfg.seed, 0x5C3]),
            device.clone(),
        )?;
        let eval_builder = BatchBuilder::eval(cfg.batch_config(), device.clone())?;
        Ok(Self { cfg, device, varmap, model, opt, builder, eval_builder })
    }

    /// The training configuration (with the class head).
    pub fn config(&self) -> &TrainConfig {
        &self.cfg
    }

    /// The device.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// One epoch of SGM over `subclasses` (one id per image of `set`, contiguous from 0) plus cross-entropy on the
    /// images' own labels. `epoch` seeds the sampler and the augmentation.
    pub fn train_epoch(
        &mut self,
        set: &ImageSet,
        subclasses: &[u32],
        sub: &SubclassTrainConfig,
        epoch: usize,
    ) -> Result<EpochStats> {
        sub.validate()?;
        if subclasses.len() != set.len() {
            return Err(TrainError::Config(format!("{} sub-class labels for {} images", subclasses.len(), set.len())));
        }
        let seed = derive_seed(&[self.cfg.seed, 0x5C4]);
        let sampler = StratifiedBatchSampler::all_classes(subclasses, sub.samples_per_subclass, seed)?;
        let sampler = match sub.batches_per_epoch {
            Some(n) => sampler.with_batches_per_epoch(n),
            None => sampler,
        };
        let sgm = SgmLoss::with_config(self.cfg.sgm.clone())?;
        let ce = CrossEntropyLoss::new();
        let start = std::time::Instant::now();
        let (mut total, mut steps, mut images) = (0.0, 0, 0);
        let e = epoch as u64;
        for (b, idx) in sampler.epoch(e).iter().enumerate() {
            let batch = self.builder.build(set, idx, e, b as u64)?;
            let sub_labels =
                Tensor::from_vec(idx.iter().map(|&i| subclasses[i]).collect::<Vec<u32>>(), idx.len(), &self.device)?;
            let out = self.model.forward(&batch.images, true)?;
            let mut loss = sgm.forward(&out.embedding, &sub_labels)?;
            if sub.ce_weight > 0.0 {
                let logits = out.logits.as_ref().expect("the class head is added on load");
                loss = (loss + (ce.forward(logits, &batch.labels)? * sub.ce_weight)?)?;
            }
            let value = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            if !value.is_finite() {
                return Err(TrainError::NonFinite {
                    epoch: epoch + 1,
                    step: b + 1,
                    what: "the sub-class loss".into(),
                    last_loss: (steps > 0).then(|| total / steps as f64),
                });
            }
            self.opt.step(&loss.backward()?)?;
            total += value;
            steps += 1;
            images += idx.len();
        }
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        Ok(EpochStats {
            loss: if steps > 0 { total / steps as f64 } else { f64::NAN },
            steps,
            images_per_second: images as f64 / secs,
            lr: self.opt.config().lr,
            triplet: None,
        })
    }

    /// Embeddings of every image of `set`, in order, without augmentation.
    pub fn embed(&self, set: &ImageSet) -> Result<Embeddings> {
        let how = EmbedOptions { batch_size: self.cfg.eval_batch_size, flip: self.cfg.eval_flip };
        Ok(embed_set(&self.model, &self.eval_builder, set, how, &set.name)?.0)
    }

    /// Saves the weights with `meta` under `run`, in the format `sgm embed` and [`SubclassTrainer::from_checkpoint`]
    /// read back.
    pub fn save_weights(&self, path: &Path, meta: serde_json::Value) -> Result<()> {
        let data = self.varmap.data().lock().unwrap_or_else(|p| p.into_inner());
        let mut tensors: Vec<(String, Tensor)> =
            data.iter().map(|(n, var)| (n.clone(), var.as_tensor().clone())).collect();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        let meta = serde_json::json!({
            "model": self.cfg.model,
            "train": self.cfg,
            "noise": self.model.noise_state(),
            "run": meta,
        });
        checkpoint::save(path, &tensors, &meta)
    }
}
