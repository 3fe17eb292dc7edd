//! [`Trainer`]: one model, its optimiser and its samplers; trains epoch by epoch, validates, embeds and saves.

use crate::checkpoint;
use crate::error::{Result, TrainError};
use crate::optim::Adam;
use crate::train::config::{LossKind, MetricSampler, SoftmaxSampler, TrainConfig};
use crate::train::prefetch::prefetch;
use crate::train::progress::{Progress, ProgressMode};
use candle_core::{DType, Device, Tensor, D};
use candle_nn::VarMap;
use sgm_core::{classification_report, knn_classify, CrossEntropyLoss, Embeddings, SgmLoss, TripletLoss};
use sgm_data::augment::BatchBuilder;
use sgm_data::sampler::{
    derive_seed, seeded_rng, BalancedSampler, ShuffledSampler, StratifiedBatchSampler, TripletSampler,
};
use sgm_data::ImageSet;
use sgm_models::pretrained::ImportReport;
use sgm_models::{is_buffer, seeded_var_builder, EmbeddingModel, NoiseState};
use std::collections::HashMap;
use std::path::Path;

/// Validation scores of one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Validation {
    /// kNN accuracy on the validation set.
    pub knn_accuracy: f64,
    /// kNN paper-F1.
    pub knn_f1: f64,
    /// Top-1 accuracy of the class head, when the model has one.
    pub top1: Option<f64>,
}

/// Loss and throughput of one training epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochStats {
    /// Mean loss over the epoch's steps.
    pub loss: f64,
    /// Steps taken.
    pub steps: usize,
    /// Training images per second.
    pub images_per_second: f64,
    /// The learning rate of the epoch's first step.
    pub lr: f64,
    /// Triplet runs: what the epoch's triplets looked like (see [`TripletEpochStats`]).
    pub triplet: Option<TripletEpochStats>,
}

/// The triplets of a triplet epoch, averaged over its steps: a collapse shows as both distances near 0, a margin
/// that is never met as `mean_an − mean_ap` far below it, and learning as a falling active fraction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TripletEpochStats {
    /// Mean anchor–positive distance over the epoch's triplets (random, or those the miner formed; batch-all: the
    /// active ones).
    pub mean_ap: f64,
    /// Mean anchor–negative distance over the same triplets.
    pub mean_an: f64,
    /// Mean fraction of the weighed triplets whose hinge was positive (batch-all: of every valid triplet).
    pub active_fraction: f64,
}

/// A model being trained.
pub struct Trainer {
    cfg: TrainConfig,
    device: Device,
    varmap: VarMap,
    model: EmbeddingModel,
    opt: Adam,
    builder: BatchBuilder,
    eval_builder: BatchBuilder,
    progress: ProgressMode,
    pipeline: Pipeline,
}

/// How a training epoch overlaps the data with the device, and how often it reads the loss back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pipeline {
    /// Batches built (loaded, augmented, moved to the device) ahead of the step on a worker thread; 0 builds each
    /// batch on the training thread right before its step. Either way the batches are the same
    /// ([`prefetch`](crate::train::prefetch::prefetch)).
    pub prefetch: usize,
    /// Steps between reads of the loss into host memory. In between the losses are summed on the device (in
    /// f64, so the epoch's mean equals the per-step sum); a NaN or infinite loss is reported at the next read,
    /// with the steps it may have come from. 1 reads every step.
    pub sync_every: usize,
}

impl Pipeline {
    /// The default for `device`: on the CPU the serial loop with a read per step (nothing to overlap: the data
    /// and the step share the cores, and a read costs nothing); on a GPU two batches ahead and a read every 50
    /// steps.
    pub fn for_device(device: &Device) -> Self {
        if device.is_cpu() {
            Pipeline { prefetch: 0, sync_every: 1 }
        } else {
            Pipeline { prefetch: 2, sync_every: 50 }
        }
    }
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer").field("cfg", &self.cfg).field("device", &self.device).finish_non_exhaustive()
    }
}

impl Trainer {
    /// A fresh model with seeded weights.
    pub fn new(cfg: TrainConfig, device: Device) -> Result<Self> {
        cfg.validate()?;
        cfg.check_device(&device)?;
        let varmap = VarMap::new();
        let vb = seeded_var_builder(&varmap, cfg.seed, DType::F32, &device);
        let model = EmbeddingModel::new(&cfg.model, vb)?;
        model.set_noise_state(NoiseState { seed: derive_seed(&[cfg.seed, 0xD0]), forwards: 0 });
        let opt = Adam::new(trainable(&varmap), cfg.optimizer.clone())?;
        let builder = BatchBuilder::new(
            cfg.batch_config(),
            cfg.augment.clone(),
            derive_seed(&[cfg.seed, 0xA06]),
            device.clone(),
        )?;
        let eval_builder = BatchBuilder::eval(cfg.batch_config(), device.clone())?;
        let pipeline = Pipeline::for_device(&device);
        Ok(Self { cfg, device, varmap, model, opt, builder, eval_builder, progress: ProgressMode::Hidden, pipeline })
    }

    /// Sets the data pipeline (default [`Pipeline::for_device`]). It changes speed only, never the result.
    pub fn with_pipeline(mut self, pipeline: Pipeline) -> Self {
        self.pipeline = Pipeline { prefetch: pipeline.prefetch, sync_every: pipeline.sync_every.max(1) };
        self
    }

    /// The data pipeline in use.
    pub fn pipeline(&self) -> Pipeline {
        self.pipeline
    }

    /// Sets how progress is reported (hidden by default).
    pub fn with_progress(mut self, mode: ProgressMode) -> Self {
        self.progress = mode;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.cfg
    }

    /// The model.
    pub fn model(&self) -> &EmbeddingModel {
        &self.model
    }

    /// The device.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Trains 0-based epoch `epoch` on `train`.
    pub fn train_epoch(&mut self, train: &ImageSet, epoch: usize) -> Result<EpochStats> {
        let labels = train.labels();
        let seed = derive_seed(&[self.cfg.seed, 0x5A3]);
        let e = epoch as u64;
        // Balanced and shuffled samplers draw the data set's size per epoch unless `batches_per_epoch` says
        // otherwise.
        let draws = self.cfg.batches_per_epoch.map_or(labels.len(), |n| n * self.cfg.batch_size);
        let shuffled = || -> Result<Vec<Vec<usize>>> {
            Ok(ShuffledSampler::new(labels.len(), seed)?.with_num_samples(draws).batches(e, self.cfg.batch_size))
        };
        // SGM's batches, and the mined triplets': C×S stratified (`batches_per_epoch` of them when set), or
        // shuffled.
        let metric = || -> Result<Vec<Vec<usize>>> {
            if self.cfg.metric_sampler == MetricSampler::Shuffled {
                return shuffled();
            }
            let s = StratifiedBatchSampler::all_classes(&labels, self.cfg.samples_per_class, seed)?;
            let s = match self.cfg.batches_per_epoch {
                Some(n) => s.with_batches_per_epoch(n),
                None => s,
            };
            Ok(s.epoch(e))
        };
        let batches: Vec<Vec<usize>> = match self.cfg.loss {
            LossKind::Sgm => metric()?,
            LossKind::Softmax => match self.cfg.softmax_sampler {
                SoftmaxSampler::Balanced => {
                    BalancedSampler::new(&labels, seed)?.with_num_samples(draws).batches(e, self.cfg.batch_size)
                }
                SoftmaxSampler::Shuffled => shuffled()?,
            },
            LossKind::Triplet => match self.cfg.miner {
                // Random triplets: each batch is anchors ++ positives ++ negatives.
                None => TripletSampler::new(&labels, self.cfg.triplets_per_epoch, seed)?
                    .batches(e, self.cfg.triplets_per_batch)
                    .into_iter()
                    .map(|b| {
                        let mut idx: Vec<usize> = b.iter().map(|t| t.anchor).collect();
                        idx.extend(b.iter().map(|t| t.positive));
                        idx.extend(b.iter().map(|t| t.negative));
                        idx
                    })
                    .collect(),
                // Mined triplets come from SGM's batches.
                Some(_) => metric()?,
            },
        };
        // One mixup stream per epoch (derived from the configured seed), so that epochs do not replay the same
        // draws, and a resumed run draws what the uninterrupted run would have.
        let mut sgm_cfg = self.cfg.sgm.clone();
        if let Some(m) = &mut sgm_cfg.mixup {
            m.seed = derive_seed(&[m.seed, 0x313C, e]);
        }
        let sgm = SgmLoss::with_config(sgm_cfg)?;
        let triplet = TripletLoss::new(self.cfg.triplet.clone())?;
        let ce = CrossEntropyLoss::new();
        let n_batches = batches.len();
        let lr_of = |b: usize| {
            let c = &self.cfg;
            c.schedule.lr_at(c.optimizer.lr, c.schedule_step, epoch, c.epochs, b, n_batches)
        };
        let first_lr = lr_of(0);
        let mut progress = Progress::epoch(self.progress, epoch + 1, self.cfg.epochs, batches.len());
        let (mut total, mut steps) = (0.0, 0);
        let (mut triplet_sums, mut triplet_steps) = ([0.0f64; 3], 0usize);
        // Losses (and triplet statistics) summed on the device since the last read, in f64, with their step count.
        let mut pending: Option<(Tensor, Option<[Tensor; 3]>)> = None;
        let mut pending_steps = 0usize;
        let Pipeline { prefetch: depth, sync_every } = self.pipeline;
        let (model, opt, builder, cfg) = (&self.model, &mut self.opt, &self.builder, &self.cfg);
        // Reads the pending sums into `total` and `triplet_sums`; a non-finite sum fails the epoch.
        let mut flush = |pending: &mut Option<(Tensor, Option<[Tensor; 3]>)>,
                         pending_steps: &mut usize,
                         total: &mut f64,
                         steps: &mut usize,
                         last_step: usize|
         -> Result<Option<f64>> {
            let Some((loss_sum, dist_sum)) = pending.take() else { return Ok(None) };
            let n = std::mem::take(pending_steps);
            let value = loss_sum.to_scalar::<f64>()?;
            if !value.is_finite() {
                let what = if n == 1 {
                    "the loss".to_string()
                } else {
                    format!("the loss of one of steps {}..={last_step}", last_step + 1 - n)
                };
                return Err(TrainError::NonFinite {
                    epoch: epoch + 1,
                    step: last_step,
                    what,
                    last_loss: (*steps > 0).then(|| *total / *steps as f64),
                });
            }
            if let Some(sums) = dist_sum {
                for (d, s) in triplet_sums.iter_mut().zip(sums) {
                    *d += s.to_scalar::<f64>()?;
                }
            }
            *total += value;
            *steps += n;
            Ok(Some(value / n as f64))
        };
        let mut last_value = f64::NAN;
        prefetch(
            batches.len(),
            depth,
            |b| -> Result<_> { Ok(builder.build(train, &batches[b], e, b as u64)?) },
            |b, batch| -> Result<()> {
                let idx = &batches[b];
                let t_start = std::time::Instant::now();
                // The heavy parts of the step run on the thread pool's workers (`on_workers`): one hand-off each
                // instead of one per parallel section inside them.
                let out = sgm_models::on_workers(|| -> Result<sgm_models::ModelOutput> {
                    if cfg.precision.is_f32() {
                        return Ok(model.forward(&batch.images, true)?);
                    }
                    // Mixed precision: the forward in bf16/f16, the loss in f32.
                    let out = model.forward_dtype(&batch.images, true, cfg.precision.dtype())?;
                    let f32 = |t: &Tensor| t.to_dtype(DType::F32);
                    Ok(sgm_models::ModelOutput {
                        embedding: f32(&out.embedding)?,
                        logits: out.logits.as_ref().map(f32).transpose()?,
                    })
                })?;
                let mut dist = None;
                let loss = match cfg.loss {
                    LossKind::Sgm => {
                        let loss = sgm.forward(&out.embedding, &batch.labels)?;
                        match (&out.logits, cfg.ce_weight > 0.0) {
                            (Some(logits), true) => {
                                Some((loss + (ce.forward(logits, &batch.labels)? * cfg.ce_weight)?)?)
                            }
                            _ => Some(loss),
                        }
                    }
                    LossKind::Softmax => {
                        let logits = out.logits.as_ref().ok_or_else(|| {
                            TrainError::Config("the softmax loss needs a model with a class head".into())
                        })?;
                        Some(ce.forward(logits, &batch.labels)?)
                    }
                    LossKind::Triplet => {
                        let z = &out.embedding;
                        let step = match cfg.miner {
                            None => {
                                let n = idx.len() / 3;
                                Some(triplet.step(&z.narrow(0, 0, n)?, &z.narrow(0, n, n)?, &z.narrow(0, 2 * n, n)?)?)
                            }
                            Some(miner) => triplet.step_mined(z, &batch.labels, miner)?,
                        };
                        step.map(|s| {
                            dist = Some([s.mean_ap, s.mean_an, s.active_fraction]);
                            triplet_steps += 1;
                            s.loss
                        })
                    }
                };
                let Some(loss) = loss else { return Ok(()) }; // a mined batch with no valid triplet
                let value = loss.detach().to_dtype(DType::F64)?;
                pending = Some(match pending.take() {
                    None => (value, dist),
                    Some((sum, sum_dist)) => {
                        let sum_dist = match (sum_dist, dist) {
                            (Some([sa, sn, sf]), Some([da, dn, df])) => Some([(sa + da)?, (sn + dn)?, (sf + df)?]),
                            (s, d) => s.or(d),
                        };
                        ((sum + value)?, sum_dist)
                    }
                });
                pending_steps += 1;
                // Reading the loss before the backward (when it is read every step) keeps a non-finite loss
                // from reaching the weights, as before; with `sync_every` > 1 it is read after the step.
                if sync_every == 1 {
                    if let Some(v) = flush(&mut pending, &mut pending_steps, &mut total, &mut steps, b + 1)? {
                        last_value = v;
                    }
                }
                let t_forward = t_start.elapsed();
                let grads = sgm_models::on_workers(|| loss.backward())?;
                let t_backward = t_start.elapsed();
                opt.set_lr(lr_of(b)); // the epoch's rate at every step unless the schedule is stepped per batch
                sgm_models::on_workers(|| opt.step(&grads))?;
                tracing::debug!(
                    "step {}: forward+loss {:?}, backward {:?}, optimiser {:?}",
                    b + 1,
                    t_forward,
                    t_backward - t_forward,
                    t_start.elapsed() - t_backward
                );
                if pending_steps >= sync_every || b + 1 == batches.len() {
                    if let Some(v) = flush(&mut pending, &mut pending_steps, &mut total, &mut steps, b + 1)? {
                        last_value = v;
                    }
                }
                progress.step(b + 1, idx.len(), last_value);
                Ok(())
            },
        )?;
        let images_per_second = progress.images_per_second();
        let mean = |i: usize| triplet_sums[i] / triplet_steps as f64;
        let triplet = (triplet_steps > 0).then(|| TripletEpochStats {
            mean_ap: mean(0),
            mean_an: mean(1),
            active_fraction: mean(2),
        });
        let stats = EpochStats {
            loss: if steps > 0 { total / steps as f64 } else { f64::NAN },
            steps,
            images_per_second,
            lr: first_lr,
            triplet,
        };
        let dist = triplet.map_or(String::new(), |t| {
            let active = 100.0 * t.active_fraction;
            format!(", d(a,p) {:.3}, d(a,n) {:.3}, {active:.1}% active", t.mean_ap, t.mean_an)
        });
        progress.finish(&format!("loss {:.4}{dist}, {:.0} img/s", stats.loss, stats.images_per_second));
        Ok(stats)
    }

    /// Embeddings (and class-head logits, when present) of every image of `set`, in order, in evaluation mode
    /// without augmentation (averaged with the mirror images' when the configuration's `eval_flip` is on).
    pub fn embed(&self, set: &ImageSet) -> Result<(Embeddings, Option<Vec<f32>>)> {
        let how = EmbedOptions { batch_size: self.cfg.eval_batch_size, flip: self.cfg.eval_flip };
        embed_set(&self.model, &self.eval_builder, set, how, &set.name)
    }

    /// Switches the test-time flip of [`Trainer::embed`] on or off (the configuration's `eval_flip`).
    pub fn set_eval_flip(&mut self, flip: bool) {
        self.cfg.eval_flip = flip;
    }

    /// Re-estimates every BatchNorm's running statistics for the current weights ("precise BN", Wu & Johnson 2021):
    /// the mean of the batch statistics of `batches` training batches (seeded, without augmentation) replaces the
    /// exponential moving average. The model's noise state is left as it was, so training continues unchanged.
    pub fn recalibrate_batch_norm(&self, train: &ImageSet, batches: usize) -> Result<()> {
        use rand::seq::SliceRandom;
        let stats: Vec<candle_core::Var> = {
            let data = self.varmap.data().lock().unwrap_or_else(|p| p.into_inner());
            let mut v: Vec<(String, candle_core::Var)> =
                data.iter().filter(|(n, _)| is_buffer(n)).map(|(n, v)| (n.clone(), v.clone())).collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v.into_iter().map(|(_, v)| v).collect()
        };
        if stats.is_empty() || batches == 0 || train.len() < 2 {
            return Ok(());
        }
        // With the statistic zeroed before a training-mode forward, the moving-average update leaves
        // `momentum · batch statistic` in it (PyTorch's momentum 0.1, as every sgm BatchNorm).
        const MOMENTUM: f64 = 0.1;
        let noise = self.model.noise_state();
        let mut idx: Vec<usize> = (0..train.len()).collect();
        idx.shuffle(&mut seeded_rng(&[self.cfg.seed, 0xB7]));
        let size = self.cfg.batch_size.clamp(2, train.len());
        let mut sums: Vec<Option<Tensor>> = vec![None; stats.len()];
        let mut n = 0usize;
        for (b, chunk) in idx.chunks(size).take(batches).enumerate() {
            if chunk.len() < 2 {
                break;
            }
            for v in &stats {
                v.set(&v.as_tensor().zeros_like()?)?;
            }
            let images = self.eval_builder.images(train, chunk, 0, b as u64)?;
            sgm_models::on_workers(|| self.model.forward(&images, true))?;
            for (sum, v) in sums.iter_mut().zip(&stats) {
                let s = v.as_tensor().to_dtype(DType::F64)?;
                *sum = Some(match sum.take() {
                    Some(t) => (t + s)?,
                    None => s,
                });
            }
            n += 1;
        }
        for (sum, v) in sums.into_iter().zip(&stats) {
            if let Some(s) = sum {
                v.set(&(s / (MOMENTUM * n as f64))?.to_dtype(v.dtype())?)?;
            }
        }
        self.model.set_noise_state(noise);
        Ok(())
    }

    /// Scores the model on `valid`: kNN (fitted on a seeded subset of `train`) and, with a class head, top-1. With
    /// `validation.precise_bn_batches`, the BatchNorm statistics are re-estimated first.
    pub fn validate(&self, train: &ImageSet, valid: &ImageSet) -> Result<Validation> {
        if let Some(b) = self.cfg.validation.precise_bn_batches {
            self.recalibrate_batch_norm(train, b)?;
        }
        let subset = self.validation_subset(train);
        let sub = subset_of(train, &subset);
        let (train_emb, _) = self.embed(&sub)?;
        let (valid_emb, logits) = self.embed(valid)?;
        let k = self.cfg.validation.k.min(train_emb.rows());
        let pred = knn_classify(&train_emb, &sub.labels(), &valid_emb, k)?;
        let truth = valid.labels();
        let report = classification_report(&truth, &pred)?;
        // The class head's top-1 selects the softmax baseline's checkpoints; an SGM run's auxiliary head does not.
        let logits = logits.filter(|_| self.cfg.loss == LossKind::Softmax);
        let top1 = logits.map(|l| {
            let c = l.len() / truth.len();
            let hits = truth.iter().enumerate().filter(|&(i, &y)| argmax(&l[i * c..(i + 1) * c]) == y as usize).count();
            hits as f64 / truth.len() as f64
        });
        Ok(Validation { knn_accuracy: report.accuracy, knn_f1: report.f1, top1 })
    }

    fn validation_subset(&self, train: &ImageSet) -> Vec<usize> {
        use rand::seq::SliceRandom;
        let mut idx: Vec<usize> = (0..train.len()).collect();
        if let Some(n) = self.cfg.validation.train_subset {
            if n < idx.len() {
                idx.shuffle(&mut seeded_rng(&[self.cfg.seed, 0x7A1]));
                idx.truncate(n);
                idx.sort_unstable();
            }
        }
        idx
    }

    /// The weights and BatchNorm statistics, by name.
    pub fn weights(&self) -> Vec<(String, Tensor)> {
        let data = self.varmap.data().lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<(String, Tensor)> = data.iter().map(|(n, var)| (n.clone(), var.as_tensor().clone())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Saves the weights with `meta` (plus the model and training configuration) to `path`.
    pub fn save_weights(&self, path: &Path, meta: serde_json::Value) -> Result<()> {
        checkpoint::save(path, &self.weights(), &self.meta(meta))
    }

    /// Saves weights and optimiser state (optimiser tensors under `optim/`) for resuming.
    pub fn save_resume(&self, path: &Path, meta: serde_json::Value) -> Result<()> {
        let mut tensors = self.weights();
        tensors.extend(self.opt.state()?.into_iter().map(|(n, t)| (format!("optim/{n}"), t)));
        checkpoint::save(path, &tensors, &self.meta(meta))
    }

    fn meta(&self, extra: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "model": self.cfg.model,
            "train": self.cfg,
            "noise": self.model.noise_state(),
            "run": extra,
        })
    }

    /// Rebuilds the trainer a checkpoint was written by (the training configuration recorded in its metadata) on
    /// `device`, with the checkpoint's weights loaded: what `sgm embed`, `eval` and `reproduce` score.
    pub fn from_checkpoint(path: &Path, device: Device) -> Result<Self> {
        let ck = checkpoint::load(path, &Device::Cpu)?;
        let bad = |reason: String| TrainError::CheckpointFile { path: path.to_path_buf(), reason };
        let train = ck
            .meta
            .get("train")
            .cloned()
            .filter(|v| !v.is_null())
            .ok_or_else(|| bad("the checkpoint does not record its training configuration".into()))?;
        let cfg: TrainConfig = serde_json::from_value(train)
            .map_err(|e| bad(format!("unreadable training configuration in the checkpoint: {e}")))?;
        let mut trainer = Trainer::new(cfg, device)?;
        trainer.load(path, false)?;
        Ok(trainer)
    }

    /// Loads weights (and, when `with_optimizer`, the optimiser state) from a checkpoint.
    pub fn load(&mut self, path: &Path, with_optimizer: bool) -> Result<serde_json::Value> {
        let ck = checkpoint::load(path, &self.device)?;
        load_weights(&self.varmap, &ck.tensors, path)?;
        if with_optimizer {
            let state: HashMap<String, Tensor> = ck
                .tensors
                .iter()
                .filter_map(|(n, t)| n.strip_prefix("optim/").map(|k| (k.to_string(), t.clone())))
                .collect();
            self.opt.load_state(&state).map_err(|e| TrainError::CheckpointFile {
                path: path.to_path_buf(),
                reason: format!("no usable optimiser state: {e}"),
            })?;
            // Dropout masks and pooling regions continue exactly where the saved run stopped.
            let noise: NoiseState = serde_json::from_value(ck.meta["noise"].clone()).map_err(|e| {
                TrainError::CheckpointFile { path: path.to_path_buf(), reason: format!("no usable noise state: {e}") }
            })?;
            self.model.set_noise_state(noise);
        }
        Ok(ck.meta)
    }

    /// Initialises a fresh model from pretrained weights (any sgm checkpoint or exported model; its checksum is
    /// verified). Every weight of the model must be in the file with its shape, except the class head (`head.*`):
    /// a head that is absent or shaped for another number of classes keeps its seeded initialisation. Returns the
    /// names of the variables so kept, sorted. The optimiser state starts afresh.
    pub fn init_from(&mut self, path: &Path) -> Result<Vec<String>> {
        let mut ck = checkpoint::load(path, &self.device)?;
        {
            let data = self.varmap.data().lock().unwrap_or_else(|p| p.into_inner());
            ck.tensors.retain(|n, t| {
                !n.starts_with("head.") || data.get(n).is_some_and(|v| v.as_tensor().shape() == t.shape())
            });
        }
        load_weights_except(&self.varmap, &ck.tensors, path, |n| n.starts_with("head."))
    }
}

impl Trainer {
    /// Initialises a fresh model from a torchvision state dict in `path` (see [`crate::pretrained`]): the tensors
    /// `scope` selects are set, the rest of the model keeps its seeded initialisation. Returns what was done with
    /// every tensor. The optimiser state starts afresh.
    pub fn init_torchvision(&mut self, path: &Path, scope: sgm_models::pretrained::InitScope) -> Result<ImportReport> {
        let (tensors, report) = crate::pretrained::map_file(&self.cfg.model, path, scope, &self.device)?;
        sgm_models::pretrained::assign(&self.varmap, &tensors)?;
        Ok(report)
    }
}

/// The trainable parameters of `varmap` (everything but BatchNorm running statistics), sorted by name.
pub fn trainable(varmap: &VarMap) -> Vec<(String, candle_core::Var)> {
    let data = varmap.data().lock().unwrap_or_else(|p| p.into_inner());
    let mut v: Vec<_> = data.iter().filter(|(n, _)| !is_buffer(n)).map(|(n, var)| (n.clone(), var.clone())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Copies checkpoint tensors into the model's variables; every variable must be present with its shape.
pub fn load_weights(varmap: &VarMap, tensors: &HashMap<String, Tensor>, path: &Path) -> Result<()> {
    load_weights_except(varmap, tensors, path, |_| false).map(|_| ())
}

/// As [`load_weights`], except that variables for which `may_be_new(name)` holds may be absent from the
/// checkpoint (a class head added to a trained embedding, say): they keep their initial values and their names are
/// returned, sorted.
pub fn load_weights_except(
    varmap: &VarMap,
    tensors: &HashMap<String, Tensor>,
    path: &Path,
    may_be_new: impl Fn(&str) -> bool,
) -> Result<Vec<String>> {
    let bad = |reason: String| TrainError::CheckpointFile { path: path.to_path_buf(), reason };
    let data = varmap.data().lock().unwrap_or_else(|p| p.into_inner());
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut new = Vec::new();
    for name in names {
        let var = &data[name];
        let Some(t) = tensors.get(name) else {
            if may_be_new(name) {
                new.push(name.clone());
                continue;
            }
            return Err(bad(format!("lacks the model weight '{name}'")));
        };
        if t.shape() != var.as_tensor().shape() {
            return Err(bad(format!(
                "weight '{name}' has shape {:?}, the model expects {:?} (a checkpoint of another model?)",
                t.dims(),
                var.as_tensor().dims()
            )));
        }
        var.set(&t.to_dtype(var.as_tensor().dtype())?)?;
    }
    Ok(new)
}

/// How [`embed_set`] runs: images per forward pass, and whether each embedding is averaged with its mirror
/// image's (test-time flip).
#[derive(Debug, Clone, Copy)]
pub struct EmbedOptions {
    /// Images per forward pass.
    pub batch_size: usize,
    /// Average each embedding (and the logits) with the mirror image's.
    pub flip: bool,
}

/// The images `(N, C, H, W)` mirrored left to right.
fn mirrored(images: &Tensor) -> Result<Tensor> {
    let w = images.dim(D::Minus1)?;
    let reversed: Vec<u32> = (0..w as u32).rev().collect();
    let idx = Tensor::from_vec(reversed, w, images.device())?;
    Ok(images.index_select(&idx, 3)?)
}

/// Embeds every image of `set` in evaluation mode; returns the embeddings and the flattened logits, if any.
pub fn embed_set(
    model: &EmbeddingModel,
    builder: &BatchBuilder,
    set: &ImageSet,
    how: EmbedOptions,
    what: &str,
) -> Result<(Embeddings, Option<Vec<f32>>)> {
    let mut emb = Vec::new();
    let mut logits: Option<Vec<f32>> = None;
    let mut dim = model.config().embedding_dim;
    let idx: Vec<usize> = (0..set.len()).collect();
    for (b, chunk) in idx.chunks(how.batch_size.max(1)).enumerate() {
        let images = builder.images(set, chunk, 0, b as u64)?;
        let mut out = sgm_models::on_workers(|| model.infer(&images))?;
        if how.flip {
            let mirror = mirrored(&images)?;
            let other = sgm_models::on_workers(|| model.infer(&mirror))?;
            out.embedding = ((&out.embedding + &other.embedding)? * 0.5)?;
            out.logits = match (out.logits, other.logits) {
                (Some(a), Some(b)) => Some(((a + b)? * 0.5)?),
                _ => None,
            };
        }
        dim = out.embedding.dim(D::Minus1)?;
        emb.extend(out.embedding.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?);
        if let Some(l) = out.logits {
            logits.get_or_insert_with(Vec::new).extend(l.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?);
        }
    }
    let emb = Embeddings::new(emb, set.len(), dim, what).map_err(|e| match e {
        sgm_core::CoreError::NonFinite { row, .. } => {
            TrainError::NonFiniteEmbedding { image: format!("image {row} ({})", set.samples[row].source.display()) }
        }
        other => other.into(),
    })?;
    Ok((emb, logits))
}

/// The images of `set` at `indices`, as a new set.
pub fn subset_of(set: &ImageSet, indices: &[usize]) -> ImageSet {
    let mut pixels = Vec::with_capacity(indices.len() * set.height * set.width);
    for &i in indices {
        pixels.extend_from_slice(set.image(i));
    }
    ImageSet {
        name: set.name.clone(),
        split: set.split,
        height: set.height,
        width: set.width,
        pixels,
        samples: indices.iter().map(|&i| set.samples[i].clone()).collect(),
        class_names: set.class_names.clone(),
    }
}

fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().fold((0, f32::NEG_INFINITY), |best, (i, &x)| if x > best.1 { (i, x) } else { best }).0
}
