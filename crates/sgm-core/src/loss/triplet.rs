//! The triplet baseline: `mean max(d(a,p) − d(a,n) + margin, 0)` with non-squared Euclidean distance, exactly as
//! PyTorch's `triplet_margin_loss(a, p, n, margin, p=2, eps=1e-6)` (whose distance is `‖x − y + eps‖₂`), plus the
//! authors' regulariser `λ · (‖A‖_F + ‖P‖_F + ‖N‖_F)` over the batch's anchor, positive and negative matrices.

use crate::error::{invalid, CoreError, Result};
use crate::loss::labels::check_batch;
use crate::loss::miners::{mine_triplets, Miner};
use candle_core::{Tensor, D};

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
        let hinge = (d_ap - d_an)?.affine(1.0, self.cfg.margin)?.relu()?.mean_all()?;
        if self.cfg.frobenius_weight == 0.0 {
            return Ok(hinge);
        }
        let frob = (frobenius(anchor)? + frobenius(positive)?)?;
        let frob = (frob + frobenius(negative)?)?;
        Ok((hinge + (frob * self.cfg.frobenius_weight)?)?)
    }

    /// Forms triplets from a labelled `(B, D)` batch with `miner`, then applies [`TripletLoss::forward`].
    /// Returns `None` when the batch admits no triplet (a single class, or singletons only).
    pub fn forward_mined(&self, embeddings: &Tensor, labels: &Tensor, miner: Miner) -> Result<Option<Tensor>> {
        match self.mine(embeddings, labels, miner)? {
            Some((a, p, n)) => self.forward(&a, &p, &n).map(Some),
            None => Ok(None),
        }
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
