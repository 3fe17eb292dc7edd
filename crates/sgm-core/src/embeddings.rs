//! [`Embeddings`]: a validated, row-major `n × d` matrix of f32 embeddings, the input of every metric.

use crate::error::{CoreError, Result};

/// A dense row-major matrix of embeddings: `rows` samples of dimension `dim`, all values finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    rows: usize,
    dim: usize,
    data: Vec<f32>,
}

impl Embeddings {
    /// Wraps `data` (length `rows * dim`) after checking the shape and that every value is finite.
    /// `what` names the input in error messages (a file name, say).
    pub fn new(data: Vec<f32>, rows: usize, dim: usize, what: &str) -> Result<Self> {
        if rows == 0 {
            return Err(CoreError::Empty(format!("{what} has no rows")));
        }
        if dim == 0 {
            return Err(CoreError::Empty(format!("{what} has dimension 0")));
        }
        if data.len() != rows * dim {
            return Err(CoreError::Shape(format!("{what}: {} values cannot form {rows} × {dim}", data.len())));
        }
        if let Some(pos) = data.iter().position(|v| !v.is_finite()) {
            return Err(CoreError::NonFinite { what: what.to_string(), row: pos / dim });
        }
        Ok(Self { rows, dim, data })
    }

    /// Builds from a 2-D tensor (any float dtype, any device).
    pub fn from_tensor(t: &candle_core::Tensor, what: &str) -> Result<Self> {
        let (rows, dim) = t.dims2()?;
        let data = t.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        Self::new(data, rows, dim, what)
    }

    /// Number of samples.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// All values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }
    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
    /// The first `n` rows (all of them when `n >= rows`).
    pub fn head(&self, n: usize) -> Embeddings {
        let n = n.min(self.rows);
        Self { rows: n, dim: self.dim, data: self.data[..n * self.dim].to_vec() }
    }
}

/// Checks that a label vector has one entry per embedding row.
pub(crate) fn check_labels(emb: &Embeddings, labels: &[u32], what: &str) -> Result<()> {
    if labels.len() != emb.rows() {
        return Err(CoreError::Shape(format!("{what}: {} labels for {} embeddings", labels.len(), emb.rows())));
    }
    Ok(())
}
