//! Index samplers for training: they take a label vector (`&[u32]`, one label per image; original classes or
//! sub-class labels alike) and return image indices, never images.
//!
//! Epoch semantics, shared by all samplers: `epoch(e)` is a pure function of `(seed, e)` and the labels. Epoch 3
//! is the same whether or not epochs 0–2 were drawn, so a run resumed at epoch `e` sees exactly the batches the
//! uninterrupted run would have seen.

pub mod seed;

pub use seed::{derive_seed, seeded_rng};
