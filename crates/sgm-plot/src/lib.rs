//! # sgm-plot
//!
//! PNG plots for sgm, drawn with [`plotters`]' bitmap backend: plain numbers in, a PNG file out. Text uses the
//! DejaVu Sans font embedded in the binary (through the `dejavu` crate and plotters' `ab_glyph` renderer), so
//! plots look the same on a machine without any system font. Every plot has a title, axis labels and a legend,
//! and is legible at its default 800 × 600 pixels; files are written atomically (a temporary sibling renamed into
//! place). Empty input and NaN or infinite values are refused with a [`PlotError`] that names the plot, the
//! series and the index.
//!
//! | function | draws |
//! |---|---|
//! | [`scatter`] | a t-SNE map coloured by class, optionally shaded and marked by sub-class (Figures 2 and 7) |
//! | [`retrieval_curves`] | Recall@K and Acc@K against K (Figure 3) |
//! | [`f1_vs_k`] | kNN F1 against K (Figure 5) |
//! | [`line_chart`] | any named series of points |
//! | [`confusion_matrix`] | a heat map with class names on both axes and the counts in the cells |
//! | [`training_curves`] | training loss and validation metrics against the epoch |
//! | [`gallery`] | gray images in a grid with captions (retrieval results, album summaries) |
//! | [`sheet::contact_sheet`] | gray images in a grid without text, framed or with a colour bar (contact sheets) |
//!
//! ## Tutorial
//!
//! ```
//! use sgm_plot::{confusion_matrix, retrieval_curves, scatter, Figure, RetrievalCurve, Scatter};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//!
//! // Recall@K and Acc@K of two models (the paper's Figure 3).
//! let curves = [
//!     RetrievalCurve { name: "SGM".into(), ks: vec![1, 2, 4, 8], recall: vec![0.81, 0.88, 0.92, 0.95], acc: vec![0.81, 0.79, 0.78, 0.76] },
//!     RetrievalCurve { name: "triplet".into(), ks: vec![1, 2, 4, 8], recall: vec![0.78, 0.85, 0.9, 0.94], acc: vec![0.78, 0.76, 0.74, 0.72] },
//! ];
//! let out = dir.path().join("recall.png");
//! retrieval_curves(&Figure::new("Retrieval on the test set"), &curves, &out)?;
//!
//! // A 2-d map of three classes.
//! let points: Vec<(f64, f64)> = (0..90).map(|i| ((i % 3) as f64 * 5.0 + (i as f64).sin(), (i as f64 * 0.7).cos())).collect();
//! let classes: Vec<u32> = (0..90).map(|i| i % 3).collect();
//! let names = vec!["neutral".to_string(), "happiness".into(), "surprise".into()];
//! scatter(&Figure::new("t-SNE of the test embeddings"), &Scatter::new(points, classes, names.clone()), &dir.path().join("tsne.png"))?;
//!
//! // A confusion matrix (rows: true class, columns: predicted class).
//! let m = vec![vec![50, 3, 2], vec![4, 60, 1], vec![6, 2, 40]];
//! confusion_matrix(&Figure::new("kNN on the test set"), &m, &names, &dir.path().join("confusion.png"))?;
//!
//! // Bad input is refused, naming the problem.
//! let nan = [RetrievalCurve { name: "broken".into(), ks: vec![1, 2], recall: vec![0.5, f64::NAN], acc: vec![0.5, 0.4] }];
//! let err = retrieval_curves(&Figure::new("bad"), &nan, &out).unwrap_err();
//! assert!(err.to_string().contains("'broken Recall@K'"), "{err}");
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod canvas;
pub mod confusion;
pub mod curves;
pub mod error;
pub mod gallery;
pub mod scatter;
pub mod sheet;
pub mod style;
pub mod training;

pub use canvas::write_png;
pub use confusion::confusion_matrix;
pub use curves::{f1_vs_k, line_chart, retrieval_curves, LineChart, RetrievalCurve, Series};
pub use error::{PlotError, Result};
pub use gallery::{gallery, Gallery, Tile};
/// The colour type of [`class_color`] and [`subclass_color`] (plotters').
pub use plotters::style::RGBColor;
pub use scatter::{scatter, Scatter};
pub use style::{class_color, subclass_color, Figure, Marker};
pub use training::{training_curves, TrainingCurves};
