//! The embedded default data set: procedurally drawn 48 × 48 grey expression faces.
//!
//! Every image is a face drawn from parameters ([`FaceParams`]): the expression enters as facial-action changes
//! ([`Actions`], see [`expression()`]), the identity and the picture as nuisance variation (face shape, skin and hair
//! tone, fringe, background clutter, head rotation / scale / shift, lighting gradient, contrast, noise). Each class
//! has [`SUBCLASSES_PER_CLASS`] hidden sub-classes ([`SUBCLASS_NAMES`]: glasses, child proportions, open vs closed
//! mouth, intensity) recorded in [`SampleMeta::subclass`](crate::SampleMeta::subclass), so sub-class discovery can
//! be scored against ground truth.
//!
//! - [`generate()`] serves a split from memory;
//! - [`write_image_folder()`] writes the set as `<out>/<split>/<class>/<id>.png` plus `labels.csv`.
//!
//! See `docs/synthetic-data.md` for the design and the measured difficulty.

pub mod config;
pub mod expression;
pub mod face;
pub mod generate;
pub mod render;
pub mod write;

pub use config::SynthConfig;
pub use expression::{expression, Actions, SubclassSpec, EXPRESSION_NAMES, SUBCLASSES_PER_CLASS, SUBCLASS_NAMES};
pub use face::{FaceParams, Tones};
pub use generate::{generate, image_id, SYNTH_NAME};
pub use render::render;
pub use write::{write_image_folder, SynthWriteSummary};
