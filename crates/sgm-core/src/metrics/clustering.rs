//! Clustering agreement: mutual information, NMI and AMI with arithmetic normalisation (scikit-learn's default,
//! `average_method="arithmetic"`), in nats. The paper's Table 1 reports NMI (×100).

use crate::error::{CoreError, Result};

/// A contingency table between two labelings, kept as its non-zero cells and its margins.
#[derive(Debug, Clone)]
struct Contingency {
    n: usize,
    /// Non-zero cells `(n_ij, i, j)`.
    cells: Vec<(usize, usize, usize)>,
    /// Row sums `a_i` (sizes of the true classes).
    rows: Vec<usize>,
    /// Column sums `b_j` (sizes of the clusters).
    cols: Vec<usize>,
}

/// Maps arbitrary labels to `0..distinct`; returns the mapped labels and the number of distinct values.
fn dense(v: &[u32]) -> (Vec<usize>, usize) {
    let mut u: Vec<u32> = v.to_vec();
    u.sort_unstable();
    u.dedup();
    (v.iter().map(|x| u.binary_search(x).expect("present")).collect(), u.len())
}

impl Contingency {
    fn new(a: &[u32], b: &[u32]) -> Result<Self> {
        if a.len() != b.len() {
            return Err(CoreError::Shape(format!("{} true labels but {} cluster labels", a.len(), b.len())));
        }
        let (ia, na) = dense(a);
        let (ib, nb) = dense(b);
        let mut table = vec![0usize; na * nb];
        for (&i, &j) in ia.iter().zip(&ib) {
            table[i * nb + j] += 1;
        }
        let mut rows = vec![0; na];
        let mut cols = vec![0; nb];
        let mut cells = Vec::new();
        for (k, &v) in table.iter().enumerate().filter(|(_, &v)| v > 0) {
            let (i, j) = (k / nb, k % nb);
            rows[i] += v;
            cols[j] += v;
            cells.push((v, i, j));
        }
        Ok(Self { n: a.len(), cells, rows, cols })
    }

    fn mutual_info(&self) -> f64 {
        let n = self.n as f64;
        self.cells
            .iter()
            .map(|&(nij, i, j)| {
                let nij = nij as f64;
                nij / n * (n * nij / (self.rows[i] as f64 * self.cols[j] as f64)).ln()
            })
            .sum::<f64>()
            .max(0.0)
    }
}

fn entropy(counts: &[usize], n: usize) -> f64 {
    let n = n as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.ln()
        })
        .sum()
}

fn check(a: &[u32]) -> Result<()> {
    if a.is_empty() {
        return Err(CoreError::Empty("no labels to compare".into()));
    }
    Ok(())
}

/// Mutual information between two labelings, in nats.
pub fn mutual_info(labels_true: &[u32], labels_pred: &[u32]) -> Result<f64> {
    check(labels_true)?;
    Ok(Contingency::new(labels_true, labels_pred)?.mutual_info())
}

/// Normalised mutual information `MI / ((H(y) + H(ŷ)) / 2)`. 1.0 when both labelings have a single class (a
/// perfect match of trivial labelings), as scikit-learn.
pub fn nmi(labels_true: &[u32], labels_pred: &[u32]) -> Result<f64> {
    check(labels_true)?;
    let c = Contingency::new(labels_true, labels_pred)?;
    if c.rows.len() == 1 && c.cols.len() == 1 {
        return Ok(1.0);
    }
    let mi = c.mutual_info();
    if mi == 0.0 {
        return Ok(0.0);
    }
    let norm = (entropy(&c.rows, c.n) + entropy(&c.cols, c.n)) / 2.0;
    Ok(mi / norm)
}

/// Adjusted mutual information `(MI − E[MI]) / (mean(H(y), H(ŷ)) − E[MI])`, with the expected MI under the
/// hypergeometric model of Vinh et al. (2010), as scikit-learn's `adjusted_mutual_info_score`.
pub fn ami(labels_true: &[u32], labels_pred: &[u32]) -> Result<f64> {
    check(labels_true)?;
    let c = Contingency::new(labels_true, labels_pred)?;
    if c.rows.len() == 1 && c.cols.len() == 1 {
        return Ok(1.0);
    }
    let mi = c.mutual_info();
    let emi = expected_mutual_info(&c.rows, &c.cols, c.n);
    let norm = (entropy(&c.rows, c.n) + entropy(&c.cols, c.n)) / 2.0;
    let mut denom = norm - emi;
    // As scikit-learn: keep the sign, avoid 0/0 when the expectation equals the maximum.
    denom = if denom < 0.0 { denom.min(-f64::EPSILON) } else { denom.max(f64::EPSILON) };
    Ok((mi - emi) / denom)
}

/// `E[MI]` for random labelings with the given marginals.
fn expected_mutual_info(rows: &[usize], cols: &[usize], n: usize) -> f64 {
    use libm::lgamma;
    let nf = n as f64;
    let lg_n1 = lgamma(nf + 1.0);
    let mut emi = 0.0;
    for &a in rows {
        for &b in cols {
            let lo = (a + b).saturating_sub(n).max(1);
            let hi = a.min(b);
            let (af, bf) = (a as f64, b as f64);
            let fixed = lgamma(af + 1.0) + lgamma(bf + 1.0) + lgamma(nf - af + 1.0) + lgamma(nf - bf + 1.0) - lg_n1;
            for nij in lo..=hi {
                let x = nij as f64;
                let term = x / nf * (nf * x / (af * bf)).ln();
                let log_p = fixed
                    - lgamma(x + 1.0)
                    - lgamma(af - x + 1.0)
                    - lgamma(bf - x + 1.0)
                    - lgamma(nf - af - bf + x + 1.0);
                emi += term * log_p.exp();
            }
        }
    }
    emi
}
