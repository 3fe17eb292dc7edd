//! The training loop.

pub mod algorithm2;
pub mod config;
pub mod export;
pub mod fit;
pub mod memory_needs;
pub mod prefetch;
pub mod progress;
pub mod recipe;
pub mod run_dir;
pub mod run_lock;
pub mod schedule;
pub mod subclass;
pub mod trainer;

pub use config::{LossKind, MetricSampler, Precision, SoftmaxSampler, TrainConfig, ValidationConfig};
pub use export::{export, ExportSummary};
pub use fit::{check_inputs, fit, fit_in, Existing, FitOptions, FitSummary, InitWeights};
pub use progress::ProgressMode;
pub use recipe::{recipe, recipe_for_loss, RECIPES};
pub use run_dir::{EpochRecord, RunDir};
pub use run_lock::RunLock;
pub use schedule::{Schedule, ScheduleStep};
pub use trainer::{
    embed_set, load_weights, load_weights_except, subset_of, trainable, EmbedOptions, EpochStats, Trainer,
    TripletEpochStats, Validation,
};
