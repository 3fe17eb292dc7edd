//! Learning-rate schedules over epochs, stepped once per epoch or once per batch. The paper trains at a constant
//! rate.

use crate::error::{Result, TrainError};
use serde::{Deserialize, Serialize};

/// A learning-rate schedule, evaluated once per epoch or, with [`ScheduleStep::Batch`], once per batch.
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
    /// PyTorch's `OneCycleLR` (two phases, cosine annealing) over the run's epochs, peaking at the base rate: from
    /// `lr / div_factor` up to `lr` over the first `pct_start` of the epochs, then down to
    /// `lr / (div_factor · final_div_factor)`.
    OneCycle {
        /// Share of the epochs spent warming up (PyTorch: 0.3).
        pct_start: f64,
        /// The initial rate is `lr / div_factor` (PyTorch: 25).
        div_factor: f64,
        /// The final rate is the initial one divided by this (PyTorch: 1e4).
        final_div_factor: f64,
    },
}

impl Schedule {
    /// PyTorch's `OneCycleLR` defaults (pct_start 0.3, div_factor 25, final_div_factor 1e4).
    pub fn one_cycle() -> Self {
        Schedule::OneCycle { pct_start: 0.3, div_factor: 25.0, final_div_factor: 1e4 }
    }

    /// A schedule by name: `constant`, `cosine` (to 0), `one-cycle` (PyTorch's defaults).
    pub fn by_name(name: &str) -> Result<Self> {
        match name {
            "constant" | "fixed" => Ok(Schedule::Constant),
            "cosine" => Ok(Schedule::Cosine { min_lr: 0.0 }),
            "one-cycle" | "onecycle" => Ok(Schedule::one_cycle()),
            other => Err(TrainError::Config(format!(
                "unknown learning-rate schedule '{other}' (expected constant, cosine or one-cycle)"
            ))),
        }
    }
}

/// How often the schedule is stepped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ScheduleStep {
    /// Once per epoch: every batch of an epoch trains at the same rate (sgm's default until 2026-12).
    #[default]
    Epoch,
    /// Once per batch, over `epochs × batches per epoch` steps: PyTorch's `OneCycleLR(total_steps=epochs *
    /// steps_per_epoch)` stepped after every optimiser step, as a plain PyTorch classifier trains. `Step` still
    /// decays at epoch boundaries.
    Batch,
}

impl ScheduleStep {
    /// Whether this is the default (left out of written configurations, so that they read as before).
    pub fn is_epoch(&self) -> bool {
        *self == ScheduleStep::Epoch
    }
}

impl std::fmt::Display for ScheduleStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ScheduleStep::Epoch => "epoch",
            ScheduleStep::Batch => "batch",
        })
    }
}

impl Schedule {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Cosine { min_lr } if min_lr.is_finite() && min_lr >= 0.0 => Ok(()),
            Schedule::Step { every, gamma } if every > 0 && gamma.is_finite() && gamma > 0.0 => Ok(()),
            Schedule::OneCycle { pct_start, div_factor, final_div_factor }
                if (0.0..1.0).contains(&pct_start)
                    && div_factor.is_finite()
                    && div_factor >= 1.0
                    && final_div_factor.is_finite()
                    && final_div_factor >= 1.0 =>
            {
                Ok(())
            }
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
            Schedule::OneCycle { pct_start, div_factor, final_div_factor } => {
                // As torch.optim.lr_scheduler.OneCycleLR with total_steps = epochs, stepped once per epoch.
                let initial = lr / div_factor;
                let min = initial / final_div_factor;
                let anneal = |start: f64, end: f64, pct: f64| {
                    end + (start - end) / 2.0 * ((std::f64::consts::PI * pct).cos() + 1.0)
                };
                let up_end = pct_start * epochs as f64 - 1.0;
                let down_end = epochs as f64 - 1.0;
                let t = epoch as f64;
                if t <= up_end {
                    anneal(initial, lr, if up_end > 0.0 { t / up_end } else { 1.0 })
                } else {
                    let span = down_end - up_end;
                    anneal(lr, min, if span > 0.0 { (t - up_end) / span } else { 1.0 })
                }
            }
        }
    }

    /// The rate of 0-based `batch` of `batches` in 0-based `epoch` of `epochs`, stepped as `step` says: with
    /// [`ScheduleStep::Epoch`] this is [`Schedule::lr`] of the epoch; with [`ScheduleStep::Batch`] the schedule
    /// runs over `epochs × batches` steps (a `Step` schedule still decays every `every` epochs).
    pub fn lr_at(&self, lr: f64, step: ScheduleStep, epoch: usize, epochs: usize, batch: usize, batches: usize) -> f64 {
        match (step, self) {
            (ScheduleStep::Epoch, _) | (_, Schedule::Step { .. }) | (_, Schedule::Constant) => {
                self.lr(lr, epoch, epochs)
            }
            (ScheduleStep::Batch, _) => {
                let batches = batches.max(1);
                self.lr(lr, epoch * batches + batch.min(batches - 1), epochs * batches)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cycle_equals_pytorchs() {
        // p = torch.nn.Parameter(torch.zeros(1)); o = torch.optim.Adam([p], lr=1e-3)
        // s = OneCycleLR(o, max_lr=1e-3, total_steps=10, pct_start=0.3, div_factor=25, final_div_factor=1e4)
        // [o.param_groups[0]["lr"] before each of the 10 steps]                      (torch 2.15)
        let want = [
            3.9999999999999996e-05,
            0.0005200000000000001,
            0.001,
            0.0009504846320134736,
            0.000811745653949763,
            0.0006112620219362892,
            0.00038874197806371076,
            0.00018825834605023698,
            4.9519367986526286e-05,
            4e-09,
        ];
        let s = Schedule::one_cycle();
        s.validate().unwrap();
        for (e, w) in want.iter().enumerate() {
            let got = s.lr(1e-3, e, 10);
            assert!((got - w).abs() <= 1e-12 * w.max(1e-9) + 1e-18, "epoch {e}: {got} vs {w}");
        }
        assert!(Schedule::OneCycle { pct_start: 1.5, div_factor: 25.0, final_div_factor: 1e4 }.validate().is_err());
        assert_eq!(Schedule::by_name("one-cycle").unwrap(), Schedule::one_cycle());
        assert!(Schedule::by_name("linear").is_err());
    }

    #[test]
    fn one_cycle_per_batch_equals_pytorchs() {
        // p = torch.nn.Parameter(torch.zeros(1)); o = torch.optim.Adam([p], lr=2e-3)
        // s = OneCycleLR(o, max_lr=2e-3, epochs=3, steps_per_epoch=4)    # pct_start 0.3, div 25, final 1e4
        // [o.param_groups[0]["lr"] before each of the 12 steps, s.step() after each]        (torch 2.15)
        let want = [
            7.999999999999999e-05,
            0.000699579308439166,
            0.0017585703182442574,
            0.0019888308709018233,
            0.0018660259396828232,
            0.0016234913078995259,
            0.0012947579953902066,
            0.0009252742053339501,
            0.0005661219964173984,
            0.0002669550603776612,
            6.913397485079044e-05,
            8e-09,
        ];
        let s = Schedule::one_cycle();
        for (i, w) in want.iter().enumerate() {
            let got = s.lr_at(2e-3, ScheduleStep::Batch, i / 4, 3, i % 4, 4);
            assert!((got - w).abs() <= 1e-12 * w, "step {i}: {got} vs {w}");
        }
        // Stepped per epoch, every batch of an epoch has the epoch's rate.
        for b in 0..4 {
            assert_eq!(s.lr_at(2e-3, ScheduleStep::Epoch, 1, 3, b, 4), s.lr(2e-3, 1, 3));
        }
        // Step decays at epoch boundaries either way.
        let step = Schedule::Step { every: 1, gamma: 0.5 };
        assert_eq!(step.lr_at(1.0, ScheduleStep::Batch, 1, 3, 3, 4), 0.5);
    }

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
