//! The triplet baseline: `mean max(d(a,p) − d(a,n) + margin, 0)` with non-squared Euclidean distance, exactly as
//! PyTorch's `triplet_margin_loss(a, p, n, margin, p=2, eps=1e-6)` (whose distance is `‖x − y + eps‖₂`), plus the
//! authors' regulariser `λ · (‖A‖_F + ‖P‖_F + ‖N‖_F)` over the batch's anchor, positive and negative matrices.

use crate::error::{invalid, CoreError, Result};
use crate::loss::labels::check_batch;
use crate::loss::miners::{mine_triplets, Miner};
use candle_core::{DType, Tensor, D};

/// One triplet step: the loss, and the mean anchor–positive and anchor–negative distances of its triplets (f64
/// scalars, detached), which a trainer logs to show a collapse (both near 0) or a margin never met.
#[derive(Debug, Clone)]
pub struct TripletStep {
    /// The loss, with its graph.
    pub loss: Tensor,
    /// Mean `d(a, p)` over the triplets.
    pub mean_ap: Tensor,
    /// Mean `d(a, n)` over the triplets.
    pub mean_an: Tensor,
    /// The fraction of the triplets the step weighed whose hinge is positive (`d(a,p) − d(a,n) + margin > 0`): of
    /// the given triplets for [`TripletLoss::step`] and the gathering miners, of every valid triplet of the batch
    /// for [`Miner::BatchAll`] (whose loss averages over these). It falls as the network meets the margin.
    pub active_fraction: Tensor,
}

/// Configuration of [`TripletLoss`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TripletConfig {
    /// Hinge margin (the authors: 1.0).
    pub margin: f64,
    /// Weight `λ` of the Frobenius-norm regulariser (the authors: 0.001; 0 disables it).
    pub frobenius_weight: f64,
    /// The `eps` of PyTorch's pairwise distance (1e-6).
    pub eps: f64,
}

impl Default for TripletConfig {
    fn default() -> Self {
        Self { margin: 1.0, frobenius_weight: 0.001, eps: 1e-6 }
    }
}

impl TripletConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<()> {
        if !(self.margin.is_finite() && self.margin >= 0.0) {
            return Err(invalid(format!("triplet margin must be ≥ 0, got {}", self.margin)));
        }
        if !(self.frobenius_weight.is_finite() && self.frobenius_weight >= 0.0) {
            return Err(invalid(format!("triplet frobenius_weight must be ≥ 0, got {}", self.frobenius_weight)));
        }
        if !(self.eps.is_finite() && self.eps >= 0.0) {
            return Err(invalid(format!("triplet eps must be ≥ 0, got {}", self.eps)));
        }
        Ok(())
    }
}

/// The triplet loss.
#[derive(Debug, Clone, Default)]
pub struct TripletLoss {
    cfg: TripletConfig,
}

impl TripletLoss {
    /// A loss from a validated configuration.
    pub fn new(cfg: TripletConfig) -> Result<Self> {
        cfg.validate()?;
        Ok(Self { cfg })
    }

    /// The configuration.
    pub fn config(&self) -> &TripletConfig {
        &self.cfg
    }

    /// The loss over explicit `(N, D)` anchor, positive and negative embeddings.
    pub fn forward(&self, anchor: &Tensor, positive: &Tensor, negative: &Tensor) -> Result<Tensor> {
        Ok(self.forward_with_hinge(anchor, positive, negative)?.0)
    }

    /// [`TripletLoss::forward`] with the per-triplet hinge argument `d(a,p) − d(a,n) + margin` (before the ReLU).
    fn forward_with_hinge(&self, anchor: &Tensor, positive: &Tensor, negative: &Tensor) -> Result<(Tensor, Tensor)> {
        let shape = anchor
            .dims2()
            .map_err(|_| CoreError::Shape(format!("triplet anchors must be 2-D (N, D), got {:?}", anchor.dims())))?;
        for (name, t) in [("positive", positive), ("negative", negative)] {
            if t.dims() != [shape.0, shape.1] {
                return Err(CoreError::Shape(format!(
                    "triplet {name} has shape {:?}, anchors have {:?}",
                    t.dims(),
                    anchor.dims()
                )));
            }
        }
        if shape.0 == 0 {
            return Err(CoreError::Empty("no triplets".into()));
        }
        let d_ap = self.distance(anchor, positive)?;
        let d_an = self.distance(anchor, negative)?;
        let margin_gap = (d_ap - d_an)?.affine(1.0, self.cfg.margin)?;
        let hinge = margin_gap.relu()?.mean_all()?;
        if self.cfg.frobenius_weight == 0.0 {
            return Ok((hinge, margin_gap));
        }
        let frob = (frobenius(anchor)? + frobenius(positive)?)?;
        let frob = (frob + frobenius(negative)?)?;
        Ok(((hinge + (frob * self.cfg.frobenius_weight)?)?, margin_gap))
    }

    /// Forms triplets from a labelled `(B, D)` batch with `miner`, then applies [`TripletLoss::forward`].
    /// Returns `None` when the batch admits no triplet (a single class, or singletons only; for
    /// [`Miner::BatchAll`], also when every valid triplet already meets the margin).
    pub fn forward_mined(&self, embeddings: &Tensor, labels: &Tensor, miner: Miner) -> Result<Option<Tensor>> {
        Ok(self.step_mined(embeddings, labels, miner)?.map(|s| s.loss))
    }

    /// [`TripletLoss::forward`] with the mean distances of the triplets.
    pub fn step(&self, anchor: &Tensor, positive: &Tensor, negative: &Tensor) -> Result<TripletStep> {
        let (loss, margin_gap) = self.forward_with_hinge(anchor, positive, negative)?;
        let mean = |x: &Tensor, y: &Tensor| -> Result<Tensor> {
            Ok((x - y)?.detach().sqr()?.sum(D::Minus1)?.sqrt()?.mean_all()?.to_dtype(DType::F64)?)
        };
        // Active as the loss sees it: the hinge's own argument, distances with `eps`.
        let active_fraction = margin_gap.detach().gt(0.0)?.to_dtype(DType::F64)?.mean_all()?;
        Ok(TripletStep { loss, mean_ap: mean(anchor, positive)?, mean_an: mean(anchor, negative)?, active_fraction })
    }

    /// [`TripletLoss::forward_mined`] with the mean distances of the mined triplets. [`Miner::BatchAll`] runs on
    /// the batch's `(B, B)` distance matrix instead of gathering its `O(B³)` triplets, with the same value and
    /// gradient as [`TripletLoss::forward`] over them (tested).
    pub fn step_mined(&self, embeddings: &Tensor, labels: &Tensor, miner: Miner) -> Result<Option<TripletStep>> {
        if miner == Miner::BatchAll {
            return self.batch_all(embeddings, labels);
        }
        match self.mine(embeddings, labels, miner)? {
            Some((a, p, n)) => self.step(&a, &p, &n).map(Some),
            None => Ok(None),
        }
    }

    /// Batch-all, densely: `D[i, j] = ‖z_i − z_j + eps‖`, the hinge `D[a,p] − D[a,n] + margin` over the `(B, B, B)`
    /// cube, averaged over the valid triplets where it is positive; the regulariser takes each row as often as the
    /// active triplets gather it (`‖A‖_F² = Σ_i count_a(i)·‖z_i‖²`, and so for P and N).
    fn batch_all(&self, embeddings: &Tensor, labels: &Tensor) -> Result<Option<TripletStep>> {
        let (b, _, labels) = check_batch(embeddings, labels)?;
        let z = embeddings;
        let diff = z.unsqueeze(1)?.broadcast_sub(&z.unsqueeze(0)?)?;
        let dist = diff.affine(1.0, self.cfg.eps)?.sqr()?.sum(D::Minus1)?; // (B, B), squared
        let dist = dist.sqrt()?;
        let hinge = dist.unsqueeze(2)?.broadcast_sub(&dist.unsqueeze(1)?)?.affine(1.0, self.cfg.margin)?.relu()?;
        let h = hinge.detach().to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
        let d = dist.detach().to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
        let mut active = vec![0f64; b * b * b];
        let (mut count, mut valid, mut sum_ap, mut sum_an) = (0usize, 0usize, 0.0, 0.0);
        let (mut count_a, mut count_p, mut count_n) = (vec![0f64; b], vec![0f64; b], vec![0f64; b]);
        for a in 0..b {
            for p in (0..b).filter(|&p| p != a && labels[p] == labels[a]) {
                for n in (0..b).filter(|&n| labels[n] != labels[a]) {
                    valid += 1;
                    let k = (a * b + p) * b + n;
                    if h[k] > 0.0 {
                        active[k] = 1.0;
                        count += 1;
                        (sum_ap, sum_an) = (sum_ap + d[a * b + p], sum_an + d[a * b + n]);
                        count_a[a] += 1.0;
                        count_p[p] += 1.0;
                        count_n[n] += 1.0;
                    }
                }
            }
        }
        if count == 0 {
            return Ok(None);
        }
        let (dev, dtype) = (z.device(), z.dtype());
        let active = Tensor::from_vec(active, (b, b, b), dev)?.to_dtype(dtype)?;
        let loss = ((hinge * active)?.sum_all()? / count as f64)?;
        let scalar = |v: f64| Tensor::new(v, dev);
        let (mean_ap, mean_an) = (scalar(sum_ap / count as f64)?, scalar(sum_an / count as f64)?);
        let active_fraction = scalar(count as f64 / valid as f64)?;
        if self.cfg.frobenius_weight == 0.0 {
            return Ok(Some(TripletStep { loss, mean_ap, mean_an, active_fraction }));
        }
        let sq = z.sqr()?.sum(D::Minus1)?;
        let weighted = |counts: Vec<f64>| -> Result<Tensor> {
            let counts = Tensor::from_vec(counts, b, dev)?.to_dtype(dtype)?;
            Ok((&sq * counts)?.sum_all()?.sqrt()?)
        };
        let frob = ((weighted(count_a)? + weighted(count_p)?)? + weighted(count_n)?)?;
        let loss = (loss + (frob * self.cfg.frobenius_weight)?)?;
        Ok(Some(TripletStep { loss, mean_ap, mean_an, active_fraction }))
    }

    /// The triplets `miner` forms from a labelled `(B, D)` batch, as anchor, positive and negative rows of
    /// `embeddings` (gathered, so gradients flow back to the batch), or `None` when the batch admits none.
    /// [`TripletLoss::forward`] of the three is [`TripletLoss::forward_mined`].
    pub fn mine(&self, embeddings: &Tensor, labels: &Tensor, miner: Miner) -> Result<Option<(Tensor, Tensor, Tensor)>> {
        let (_, _, labels) = check_batch(embeddings, labels)?;
        let triplets = mine_triplets(embeddings, &labels, miner, self.cfg.margin)?;
        if triplets.is_empty() {
            return Ok(None);
        }
        let dev = embeddings.device();
        let pick = |f: fn(&crate::loss::miners::Triplet) -> u32| -> Result<Tensor> {
            let idx: Vec<u32> = triplets.iter().map(f).collect();
            let n = idx.len();
            Ok(embeddings.index_select(&Tensor::from_vec(idx, n, dev)?, 0)?)
        };
        Ok(Some((pick(|t| t.anchor)?, pick(|t| t.positive)?, pick(|t| t.negative)?)))
    }

    /// `‖x − y + eps‖₂` per row.
    fn distance(&self, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        Ok((x - y)?.affine(1.0, self.cfg.eps)?.sqr()?.sum(D::Minus1)?.sqrt()?)
    }
}

fn frobenius(x: &Tensor) -> Result<Tensor> {
    Ok(x.sqr()?.sum_all()?.sqrt()?)
}
