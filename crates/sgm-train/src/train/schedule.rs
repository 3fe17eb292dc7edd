//! Learning-rate schedules over epochs. The paper trains at a constant rate.

use crate::error::{Result, TrainError};
use serde::{Deserialize, Serialize};

/// A learning-rate schedule, evaluated once per epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Schedule {
    /// The base rate throughout (the paper's).
    #[default]
    Constant,
    /// Cosine decay from the base rate to `min_lr` over the run.
    Cosine {
        /// Final learning rate.
        min_lr: f64,
    },
    /// Multiply by `gamma` every `every` epochs.
    Step {
        /// Epochs between decays.
        every: usize,
        /// Decay factor.
        gamma: f64,
    },
}

impl Schedule {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Cosine { min_lr } if min_lr.is_finite() && min_lr >= 0.0 => Ok(()),
            Schedule::Step { every, gamma } if every > 0 && gamma.is_finite() && gamma > 0.0 => Ok(()),
            ref s => Err(TrainError::Config(format!("invalid learning-rate schedule {s:?}"))),
        }
    }

    /// The rate for 0-based `epoch` of `epochs`, from the base rate `lr`.
    pub fn lr(&self, lr: f64, epoch: usize, epochs: usize) -> f64 {
        match *self {
            Schedule::Constant => lr,
            Schedule::Cosine { min_lr } => {
                let t = if epochs > 1 { epoch as f64 / (epochs - 1) as f64 } else { 1.0 };
                min_lr + 0.5 * (lr - min_lr) * (1.0 + (std::f64::consts::PI * t).cos())
            }
            Schedule::Step { every, gamma } => lr * gamma.powi((epoch / every) as i32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        assert_eq!(Schedule::Constant.lr(0.1, 5, 10), 0.1);
        let cos = Schedule::Cosine { min_lr: 0.0 };
        assert!((cos.lr(1.0, 0, 11) - 1.0).abs() < 1e-12);
        assert!((cos.lr(1.0, 5, 11) - 0.5).abs() < 1e-12);
        assert!(cos.lr(1.0, 10, 11).abs() < 1e-12);
        let step = Schedule::Step { every: 3, gamma: 0.1 };
        assert!((step.lr(1.0, 2, 10) - 1.0).abs() < 1e-12);
        assert!((step.lr(1.0, 3, 10) - 0.1).abs() < 1e-12);
        assert!(Schedule::Step { every: 0, gamma: 0.1 }.validate().is_err());
    }
}
