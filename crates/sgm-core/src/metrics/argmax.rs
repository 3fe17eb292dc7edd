//! Class predictions from a class head's logits: the plain argmax, and the argmax corrected for the training prior.
//!
//! The softmax baseline trains on class-balanced batches (weights 1/frequency), so its logits estimate the
//! posterior under equal priors. On a test set with the training set's imbalance, adding `log π_c` (the training
//! frequencies) gives the posterior under the real prior: Bayes' rule, no retraining (Saerens et al. 2002's prior
//! shift with known priors).

use crate::error::{invalid, Result};

/// The index of the largest value of `row` (the first one on ties, as NumPy's `argmax`).
pub fn argmax(row: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best as u32
}

/// Argmax predictions of `logits` (row-major, `classes` per row).
pub fn argmax_predictions(logits: &[f32], classes: usize) -> Result<Vec<u32>> {
    if classes == 0 || !logits.len().is_multiple_of(classes) {
        return Err(invalid(format!("{} logits are not rows of {classes} classes", logits.len())));
    }
    Ok(logits.chunks(classes).map(argmax).collect())
}

/// `log π_c`: the log frequency of each class `0..classes` in `train_labels`. A class absent from the training set
/// gets `−∞`, so it is never predicted; a label of `classes` or more is an error.
pub fn log_prior(train_labels: &[u32], classes: usize) -> Result<Vec<f64>> {
    let mut counts = vec![0usize; classes];
    for &y in train_labels {
        *counts
            .get_mut(y as usize)
            .ok_or_else(|| invalid(format!("training label {y} is outside the {classes} classes of the logits")))? += 1;
    }
    let n = train_labels.len().max(1) as f64;
    Ok(counts.iter().map(|&c| if c == 0 { f64::NEG_INFINITY } else { (c as f64 / n).ln() }).collect())
}

/// Argmax of `logits + log π_train` (see the module docs).
pub fn prior_corrected_predictions(logits: &[f32], classes: usize, train_labels: &[u32]) -> Result<Vec<u32>> {
    argmax_predictions(logits, classes)?;
    let prior = log_prior(train_labels, classes)?;
    Ok(logits
        .chunks(classes)
        .map(|row| {
            let shifted: Vec<f32> = row.iter().zip(&prior).map(|(&l, &p)| (l as f64 + p) as f32).collect();
            argmax(&shifted)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prior_moves_close_calls_to_the_frequent_class() {
        // Two classes seen 9:1 in training. Row 0 leans to class 1 by less than ln 9 ≈ 2.197, row 1 by more.
        let logits = [0.0, 2.0, 0.0, 2.5];
        let train: Vec<u32> = [vec![0; 9], vec![1; 1]].concat();
        assert_eq!(argmax_predictions(&logits, 2).unwrap(), [1, 1]);
        assert_eq!(prior_corrected_predictions(&logits, 2, &train).unwrap(), [0, 1]);
        // Reference: numpy.argmax(logits.reshape(2, 2) + numpy.log([0.9, 0.1]), axis=1) == [0, 1]
        assert!(prior_corrected_predictions(&logits, 2, &[0, 2]).is_err(), "label 2 of 2 classes");
        assert!(argmax_predictions(&logits, 3).is_err());
        assert_eq!(log_prior(&[0, 0], 2).unwrap()[1], f64::NEG_INFINITY);
    }
}
