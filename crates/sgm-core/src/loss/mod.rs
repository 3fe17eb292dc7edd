//! Losses: the SGM loss of the paper and its two baselines.

pub mod cross_entropy;
pub mod labels;
pub mod miners;
pub mod sgm;
pub mod triplet;

pub use cross_entropy::CrossEntropyLoss;
pub use miners::{mine_triplets, Miner, Triplet};
pub use sgm::{KnnConsistencyConfig, MixupConfig, MixupDraw, Posterior, SgmConfig, SgmLoss};
pub use triplet::{TripletConfig, TripletLoss, TripletStep};
