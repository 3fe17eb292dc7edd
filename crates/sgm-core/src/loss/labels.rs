//! Reading a batch's label tensor and finding the classes present in it.

use crate::error::{invalid, CoreError, Result};
use candle_core::{DType, Device, Tensor};

/// The classes present in a batch: `classes[j]` is the label of column `j`, `column[i]` the column of sample `i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchClasses {
    /// Distinct labels present, ascending.
    pub classes: Vec<u32>,
    /// For each sample, the index of its label in `classes`.
    pub column: Vec<usize>,
    /// Number of samples of each present class.
    pub counts: Vec<usize>,
}

impl BatchClasses {
    /// Finds the classes present in `labels`.
    pub fn new(labels: &[u32]) -> Self {
        let mut classes: Vec<u32> = labels.to_vec();
        classes.sort_unstable();
        classes.dedup();
        let column: Vec<usize> = labels.iter().map(|l| classes.binary_search(l).expect("label is present")).collect();
        let mut counts = vec![0; classes.len()];
        for &c in &column {
            counts[c] += 1;
        }
        Self { classes, column, counts }
    }

    /// Number of classes present.
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    /// True when the batch was empty.
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// The `(B, C)` one-hot matrix of the batch in `dtype` on `device`.
    pub fn one_hot(&self, dtype: DType, device: &Device) -> Result<Tensor> {
        let (b, c) = (self.column.len(), self.len());
        let mut m = vec![0f32; b * c];
        for (i, &j) in self.column.iter().enumerate() {
            m[i * c + j] = 1.0;
        }
        Ok(Tensor::from_vec(m, (b, c), device)?.to_dtype(dtype)?)
    }
}

/// Reads a `(B,)` label tensor of dtype u32, u8 or i64 into a vector, rejecting negative labels.
pub fn labels_to_vec(labels: &Tensor) -> Result<Vec<u32>> {
    let n = labels
        .dims1()
        .map_err(|_| CoreError::Shape(format!("labels must be 1-D (B,), got shape {:?}", labels.dims())))?;
    let v: Vec<i64> = labels.to_dtype(DType::I64)?.to_vec1()?;
    v.iter()
        .enumerate()
        .map(|(i, &l)| {
            u32::try_from(l).map_err(|_| invalid(format!("label {l} at index {i} of {n} is negative or too large")))
        })
        .collect()
}

/// Checks that embeddings are `(B, D)` and labels `(B,)`; returns `(B, D)` and the labels.
pub fn check_batch(embeddings: &Tensor, labels: &Tensor) -> Result<(usize, usize, Vec<u32>)> {
    let (b, d) = embeddings
        .dims2()
        .map_err(|_| CoreError::Shape(format!("embeddings must be 2-D (B, D), got shape {:?}", embeddings.dims())))?;
    let labels = labels_to_vec(labels)?;
    if labels.len() != b {
        return Err(CoreError::Shape(format!("{} labels for a batch of {b} embeddings", labels.len())));
    }
    if b == 0 {
        return Err(CoreError::Empty("the batch has no samples".into()));
    }
    Ok((b, d, labels))
}
