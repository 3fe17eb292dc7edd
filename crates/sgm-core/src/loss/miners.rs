//! In-batch triplet miners: turn a labelled batch into `(anchor, positive, negative)` index triples.
//!
//! Distances are computed without gradient (in f64 on the host); the loss then gathers the rows, so gradients
//! flow through the selected embeddings only. Ties are broken by the lower index.

use crate::error::Result;
use candle_core::{DType, Tensor};

/// One triplet, as row indices into the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Triplet {
    /// Anchor row.
    pub anchor: u32,
    /// Positive row: same label as the anchor, a different row.
    pub positive: u32,
    /// Negative row: a different label.
    pub negative: u32,
}

/// How to form triplets from a labelled batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Miner {
    /// Every valid `(a, p, n)`: `O(B³)`, for small batches.
    AllValid,
    /// Every valid `(a, p, n)` whose hinge is still positive (`d(a,p) − d(a,n) + margin > 0`), so that the loss is
    /// the mean over the triplets that still teach something (Hermans et al. 2017's batch-all). `O(B³)`;
    /// [`TripletLoss`](crate::TripletLoss) computes it densely from the batch's distance matrix.
    BatchAll,
    /// For each anchor, its farthest positive and nearest negative (Hermans et al. 2017).
    BatchHard,
    /// For each `(a, p)` pair, the nearest negative farther than the positive but inside the margin
    /// (`d(a,p) < d(a,n) < d(a,p) + margin`, Schroff et al. 2015); pairs with no such negative are skipped.
    SemiHard,
}

impl std::str::FromStr for Miner {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "all-valid" | "all" => Ok(Miner::AllValid),
            "batch-all" => Ok(Miner::BatchAll),
            "batch-hard" | "hard" => Ok(Miner::BatchHard),
            "semi-hard" | "semihard" => Ok(Miner::SemiHard),
            other => Err(format!("unknown miner '{other}' (expected all-valid, batch-all, batch-hard or semi-hard)")),
        }
    }
}

/// Mines triplets from `(B, D)` embeddings and their labels.
pub fn mine_triplets(embeddings: &Tensor, labels: &[u32], miner: Miner, margin: f64) -> Result<Vec<Triplet>> {
    let z = embeddings.detach().to_dtype(DType::F64)?.to_vec2::<f64>()?;
    let b = z.len();
    let dist =
        |i: usize, j: usize| -> f64 { z[i].iter().zip(&z[j]).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt() };
    let t = |a: usize, p: usize, n: usize| Triplet { anchor: a as u32, positive: p as u32, negative: n as u32 };
    let mut out = Vec::new();
    match miner {
        Miner::AllValid => {
            for a in 0..b {
                for p in (0..b).filter(|&p| p != a && labels[p] == labels[a]) {
                    out.extend((0..b).filter(|&n| labels[n] != labels[a]).map(|n| t(a, p, n)));
                }
            }
        }
        Miner::BatchAll => {
            let d: Vec<Vec<f64>> = (0..b).map(|i| (0..b).map(|j| dist(i, j)).collect()).collect();
            for a in 0..b {
                for p in (0..b).filter(|&p| p != a && labels[p] == labels[a]) {
                    let active = (0..b).filter(|&n| labels[n] != labels[a] && d[a][p] - d[a][n] + margin > 0.0);
                    out.extend(active.map(|n| t(a, p, n)));
                }
            }
        }
        Miner::BatchHard => {
            for a in 0..b {
                let hardest_pos = (0..b)
                    .filter(|&p| p != a && labels[p] == labels[a])
                    .max_by(|&x, &y| dist(a, x).total_cmp(&dist(a, y)).then(y.cmp(&x)));
                let hardest_neg = (0..b)
                    .filter(|&n| labels[n] != labels[a])
                    .min_by(|&x, &y| dist(a, x).total_cmp(&dist(a, y)).then(x.cmp(&y)));
                if let (Some(p), Some(n)) = (hardest_pos, hardest_neg) {
                    out.push(t(a, p, n));
                }
            }
        }
        Miner::SemiHard => {
            for a in 0..b {
                for p in (0..b).filter(|&p| p != a && labels[p] == labels[a]) {
                    let dap = dist(a, p);
                    let semi = (0..b)
                        .filter(|&n| labels[n] != labels[a])
                        .map(|n| (dist(a, n), n))
                        .filter(|&(dan, _)| dan > dap && dan < dap + margin)
                        .min_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                    if let Some((_, n)) = semi {
                        out.push(t(a, p, n));
                    }
                }
            }
        }
    }
    Ok(out)
}
