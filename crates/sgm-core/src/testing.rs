//! Closed-form data for reference tests: the same numbers in Rust and in the Python scripts (numpy, scikit-learn,
//! PyTorch) that produced the expected values, with no random generator to keep in step.
//!
//! The Python twin of [`formula_data`]:
//! ```python
//! def data(n, d, phase, nclass):
//!     i = np.arange(n)[:,None]; j = np.arange(d)[None,:]
//!     lab = (np.arange(n) * 7 % nclass)
//!     off = np.cos(lab[:,None] * 1.7 + j * 0.9) * 0.6
//!     x = (off + np.sin(1.3*i*(j+1) + 0.7*j + phase)).astype(np.float32)
//!     return x, lab
//! ```

/// `n` rows of dimension `d` in `nclass` classes (label of row `i`: `7i mod nclass`): a class offset
/// `0.6·cos(1.7·label + 0.9·j)` plus `sin(1.3·i·(j+1) + 0.7·j + phase)`, computed in f64 and rounded to f32.
/// Returns the row-major values and the labels.
pub fn formula_data(n: usize, d: usize, phase: f64, nclass: usize) -> (Vec<f32>, Vec<u32>) {
    let labels: Vec<u32> = (0..n).map(|i| (i * 7 % nclass) as u32).collect();
    let mut x = Vec::with_capacity(n * d);
    for (i, &lab) in labels.iter().enumerate() {
        for j in 0..d {
            let off = (lab as f64 * 1.7 + j as f64 * 0.9).cos() * 0.6;
            x.push((off + (1.3 * i as f64 * (j + 1) as f64 + 0.7 * j as f64 + phase).sin()) as f32);
        }
    }
    (x, labels)
}
