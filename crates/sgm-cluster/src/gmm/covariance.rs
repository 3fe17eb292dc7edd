//! The three covariance structures: estimation from responsibilities (the M-step) and per-component log densities.
//!
//! The formulas follow scikit-learn's `sklearn.mixture._gaussian_mixture`, so that the two produce the same
//! numbers from the same start. Precisions are kept as Cholesky factors `P = C Cᵀ`; the log density of `x` under
//! component `k` is `−½ (d ln 2π + ‖(x − μₖ) Cₖ‖²) + ln det Cₖ`.

use crate::error::{ClusterError, Result};
use crate::matmul::dot;
use linfa_linalg::cholesky::Cholesky;
use ndarray::{s, Array1, Array2, Array3, Axis};
use rayon::prelude::*;

/// How the components' covariances are parameterised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum CovarianceType {
    /// A general `d × d` covariance per component.
    Full,
    /// A diagonal covariance per component (`d` variances).
    Diagonal,
    /// One variance per component (`σ² I`).
    Spherical,
}

/// Fitted covariances (and their precision Cholesky factors), shaped by the covariance type.
#[derive(Debug, Clone, PartialEq)]
pub enum Covariances {
    /// `k × d × d` covariances and upper-triangular precision factors `Cₖ = L⁻ᵀ`.
    Full {
        /// Covariance matrices.
        covariances: Array3<f64>,
        /// Precision Cholesky factors.
        precisions_chol: Array3<f64>,
    },
    /// `k × d` variances and `1/σ` factors.
    Diagonal {
        /// Variances.
        covariances: Array2<f64>,
        /// `1 / sqrt(variance)`.
        precisions_chol: Array2<f64>,
    },
    /// `k` variances and `1/σ` factors.
    Spherical {
        /// Variances.
        covariances: Array1<f64>,
        /// `1 / sqrt(variance)`.
        precisions_chol: Array1<f64>,
    },
}

impl Covariances {
    /// The covariance type.
    pub fn kind(&self) -> CovarianceType {
        match self {
            Self::Full { .. } => CovarianceType::Full,
            Self::Diagonal { .. } => CovarianceType::Diagonal,
            Self::Spherical { .. } => CovarianceType::Spherical,
        }
    }

    /// Estimates the covariances from data `x` (`n × d`), responsibilities `resp` (`n × k`), their column sums `nk`
    /// and the component means, adding `reg_covar` to every variance.
    pub(crate) fn estimate(
        kind: CovarianceType,
        x: &Array2<f64>,
        resp: &Array2<f64>,
        nk: &Array1<f64>,
        means: &Array2<f64>,
        reg_covar: f64,
    ) -> Result<Self> {
        let (k, d) = means.dim();
        match kind {
            CovarianceType::Full => {
                let mut covariances = Array3::zeros((k, d, d));
                let mut precisions_chol = Array3::zeros((k, d, d));
                // Components in parallel (each is the same arithmetic as a sequential loop: identical results).
                let per: Vec<Result<(Array2<f64>, Array2<f64>)>> = (0..k)
                    .into_par_iter()
                    .map(|c| {
                        let diff = x - &means.row(c);
                        let weighted = &diff * &resp.column(c).insert_axis(Axis(1));
                        let mut cov = dot(weighted.t(), diff.view()) / nk[c];
                        cov.diag_mut().mapv_inplace(|v| v + reg_covar);
                        let factor = precision_factor(&cov, c)?;
                        Ok((cov, factor))
                    })
                    .collect();
                for (c, r) in per.into_iter().enumerate() {
                    let (cov, factor) = r?;
                    precisions_chol.slice_mut(s![c, .., ..]).assign(&factor);
                    covariances.slice_mut(s![c, .., ..]).assign(&cov);
                }
                Ok(Self::Full { covariances, precisions_chol })
            }
            CovarianceType::Diagonal | CovarianceType::Spherical => {
                let nk_col = nk.view().insert_axis(Axis(1));
                let avg_x2 = dot(resp.t(), x.mapv(|v| v * v).view()) / nk_col;
                let avg_means2 = means.mapv(|v| v * v);
                let avg_x_means = means * &(dot(resp.t(), x.view()) / nk_col);
                let diag = avg_x2 - 2.0 * avg_x_means + avg_means2 + reg_covar;
                if kind == CovarianceType::Diagonal {
                    let precisions_chol = positive_inv_sqrt(&diag, d)?;
                    Ok(Self::Diagonal { covariances: diag, precisions_chol })
                } else {
                    let covariances = diag.mean_axis(Axis(1)).expect("d ≥ 1");
                    let precisions_chol = positive_inv_sqrt(&covariances, 1)?;
                    Ok(Self::Spherical { covariances, precisions_chol })
                }
            }
        }
    }

    /// `n × k` log densities `ln N(xᵢ | μₖ, Σₖ)`. The diagonal and spherical cases expand the squared distance
    /// into matrix products, as scikit-learn does.
    pub(crate) fn log_gaussian_prob(&self, x: &Array2<f64>, means: &Array2<f64>) -> Array2<f64> {
        let (n, d) = x.dim();
        let k = means.nrows();
        let log_2pi_d = d as f64 * (2.0 * std::f64::consts::PI).ln();
        let (sq, log_det): (Array2<f64>, Array1<f64>) = match self {
            Self::Full { precisions_chol, .. } => {
                let mut sq = Array2::zeros((n, k));
                let columns: Vec<Array1<f64>> = (0..k)
                    .into_par_iter()
                    .map(|c| {
                        let pc = precisions_chol.index_axis(Axis(0), c);
                        let y = dot(x.view(), pc) - means.row(c).dot(&pc);
                        y.mapv(|v| v * v).sum_axis(Axis(1))
                    })
                    .collect();
                for (c, col) in columns.iter().enumerate() {
                    sq.column_mut(c).assign(col);
                }
                let log_det =
                    (0..k).map(|c| precisions_chol.index_axis(Axis(0), c).diag().mapv(f64::ln).sum()).collect();
                (sq, log_det)
            }
            Self::Diagonal { precisions_chol, .. } => {
                let prec = precisions_chol.mapv(|v| v * v);
                let means_term = (means.mapv(|v| v * v) * &prec).sum_axis(Axis(1));
                let cross = dot(x.view(), (means * &prec).t());
                let sq = dot(x.mapv(|v| v * v).view(), prec.t()) - 2.0 * cross + means_term.insert_axis(Axis(0));
                (sq, precisions_chol.mapv(f64::ln).sum_axis(Axis(1)))
            }
            Self::Spherical { precisions_chol, .. } => {
                let prec = precisions_chol.mapv(|v| v * v);
                let means_term = means.mapv(|v| v * v).sum_axis(Axis(1)) * &prec;
                let cross = dot(x.view(), (means.t().to_owned() * &prec).view());
                let norms = x.mapv(|v| v * v).sum_axis(Axis(1));
                let outer = norms.insert_axis(Axis(1)) * prec.view().insert_axis(Axis(0));
                (outer - 2.0 * cross + means_term.insert_axis(Axis(0)), precisions_chol.mapv(|p| d as f64 * p.ln()))
            }
        };
        let mut out = sq.mapv(|q| -0.5 * (log_2pi_d + q));
        out += &log_det.insert_axis(Axis(0));
        out
    }

    /// Number of free covariance parameters (for BIC/AIC).
    pub(crate) fn n_parameters(&self, k: usize, d: usize) -> usize {
        match self {
            Self::Full { .. } => k * d * (d + 1) / 2,
            Self::Diagonal { .. } => k * d,
            Self::Spherical { .. } => k,
        }
    }
}

/// Upper-triangular `C = L⁻ᵀ` with `Σ = L Lᵀ`, so that `C Cᵀ = Σ⁻¹`.
fn precision_factor(cov: &Array2<f64>, component: usize) -> Result<Array2<f64>> {
    let l = cov.cholesky().map_err(|e| ClusterError::IllDefinedCovariance {
        component,
        reason: format!("Cholesky factorisation failed ({e})"),
    })?;
    let d = l.nrows();
    // Forward substitution for L⁻¹, column by column.
    let mut inv = Array2::<f64>::zeros((d, d));
    for j in 0..d {
        for i in j..d {
            let mut v = if i == j { 1.0 } else { 0.0 };
            for m in j..i {
                v -= l[[i, m]] * inv[[m, j]];
            }
            inv[[i, j]] = v / l[[i, i]];
        }
    }
    Ok(inv.reversed_axes())
}

/// `1 / sqrt(v)` element-wise (`per_component` values per component, row-major), failing on a non-positive variance.
fn positive_inv_sqrt<D: ndarray::Dimension>(
    v: &ndarray::Array<f64, D>,
    per_component: usize,
) -> Result<ndarray::Array<f64, D>> {
    if let Some((i, bad)) = v.iter().enumerate().find(|(_, &x)| !(x > 0.0 && x.is_finite())) {
        return Err(ClusterError::IllDefinedCovariance {
            component: i / per_component,
            reason: format!("variance {bad} is not positive"),
        });
    }
    Ok(v.mapv(|x| 1.0 / x.sqrt()))
}
