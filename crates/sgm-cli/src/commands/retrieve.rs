//! `sgm retrieve`: the expressions most similar to a query image (the paper's Figure 4). The query (the
//! highest-scoring face the detector finds in the photo, or with `--no-detect` the whole file) is embedded with the
//! model, its k nearest neighbours are found among the embeddings of an index (written by `sgm embed`),
//! and the query and the results (label, distance, source image) are drawn as one picture plus a JSON list.

use crate::args::DataArgs;
use crate::photos::{image_set, input_side, set_tile, short, tile, DetectArgs};
use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use sgm_core::embedding_files::{is_safetensors, read_embeddings, read_labels};
use sgm_core::{knn_search, Exclusion};
use sgm_data::Split;
use sgm_plot::Gallery;
use sgm_train::device::parse as device;
use std::path::PathBuf;

/// Arguments of `sgm retrieve`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sgm embed --checkpoint runs/demo/best.safetensors --data synth --split test --out test.safetensors
  sgm retrieve --checkpoint runs/demo/best.safetensors --index test.safetensors --data synth --split test \\
               --query photo.jpg --k 5 --out result.png
  sgm retrieve --checkpoint best.safetensors --index test.safetensors --data synth --split test \\
               --query face-crop.png --no-detect --out result.png

The query photo's best-scoring face is used; --no-detect reads the whole file as a face crop.")]
pub struct RetrieveArgs {
    /// A checkpoint written by `sgm train` or `sgm export`.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// Embeddings to search, written by `sgm embed` from the same model (.safetensors with `embeddings` and
    /// `labels`, or .npy with labels beside it as <stem>.labels.npy).
    #[arg(long, value_name = "FILE")]
    pub index: PathBuf,
    /// The query photo (JPEG, PNG, TIFF or BMP; colour is converted to gray). Its highest-scoring face is used.
    #[arg(long, value_name = "FILE")]
    pub query: PathBuf,
    /// Face detection in the query.
    #[command(flatten)]
    pub detect: DetectArgs,
    /// Results to return.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub k: u32,
    /// The data set the index was embedded from (same split, same order): its images are drawn.
    #[command(flatten)]
    pub data: DataArgs,
    /// The split the index was embedded from.
    #[arg(long, default_value = "test")]
    pub split: Split,
    /// Output picture (PNG). The JSON list is written beside it (same name, .json) unless --json says otherwise.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Output JSON list of the results.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Device: cpu, cuda[:N] or metal.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// One result of the JSON list.
#[derive(Debug, Serialize)]
pub struct Hit {
    /// 1-based rank.
    pub rank: usize,
    /// Row of the index (= image of the split).
    pub index: usize,
    /// Label stored in the index.
    pub label: u32,
    /// Its class name.
    pub class: String,
    /// Euclidean distance to the query's embedding.
    pub distance: f32,
    /// Where the image came from (a file, or a synthetic id).
    pub source: String,
}

/// The JSON written by `sgm retrieve`.
#[derive(Debug, Serialize)]
pub struct RetrieveReport {
    /// The query image.
    pub query: String,
    /// The query face's box in the photo (none with --no-detect).
    pub query_box: Option<sgm_data::faces::FaceBox>,
    /// The detector's score of the query face.
    pub query_score: Option<f64>,
    /// Faces the detector found in the query photo (the best-scoring one is used).
    pub faces_in_query: Option<usize>,
    /// The checkpoint.
    pub checkpoint: String,
    /// The index file.
    pub index: String,
    /// Results asked for.
    pub k: usize,
    /// The results, nearest first.
    pub results: Vec<Hit>,
}

/// Runs `sgm retrieve`.
pub fn run(a: RetrieveArgs) -> Result<()> {
    let index = read_embeddings(&a.index)?;
    let labels_path = if is_safetensors(&a.index) { a.index.clone() } else { a.index.with_extension("labels.npy") };
    let labels = read_labels(&labels_path, "labels")
        .with_context(|| format!("{}: the index needs its labels", a.index.display()))?;
    if labels.len() != index.rows() {
        bail!("{}: {} labels for {} embeddings", labels_path.display(), labels.len(), index.rows());
    }
    let set = a.data.load(&[a.split])?.remove(0);
    if set.len() != index.rows() {
        bail!(
            "{}: {} embeddings, but the {} split of {} has {} images (embed the same split with `sgm embed`)",
            a.index.display(),
            index.rows(),
            a.split,
            a.data.data,
            set.len()
        );
    }
    let trainer = sgm_train::train::Trainer::from_checkpoint(&a.checkpoint, device(&a.device)?)?;
    let side = input_side(&trainer);
    let (query, found) = if a.detect.no_detect {
        (sgm_data::faces::decode_photo(&a.query)?, None)
    } else {
        let cfg = a.detect.config(side.max(112) as u32)?;
        let (face, n) = sgm_data::faces::best_face(&a.query, &cfg).map_err(|e| {
            let hint = matches!(e, sgm_data::DataError::NoFace { .. })
                .then_some(" (--no-detect reads a face crop whole; --min-face and --face-threshold tune the detector)");
            anyhow::anyhow!("{e}{}", hint.unwrap_or(""))
        })?;
        if n > 1 {
            eprintln!(
                "{}: {n} faces found; the best-scoring one (score {:.2}) is the query",
                a.query.display(),
                face.score
            );
        }
        (face.crop, Some((face.bbox, face.score, n)))
    };
    let query_set = image_set("query", &[(a.query.clone(), query.clone())], side);
    let (q, _) = trainer.embed(&query_set)?;
    if q.dim() != index.dim() {
        bail!(
            "{}: embeddings of dimension {}, but {} embeds to dimension {} (an index of another model?)",
            a.index.display(),
            index.dim(),
            a.checkpoint.display(),
            q.dim()
        );
    }
    let k = (a.k as usize).min(index.rows());
    let nn = knn_search(&q, &index, k, Exclusion::None)?;
    let class = |l: u32| set.class_names.get(l as usize).cloned().unwrap_or_else(|| format!("class {l}"));
    let results: Vec<Hit> = nn
        .indices(0)
        .iter()
        .zip(nn.distances(0))
        .enumerate()
        .map(|(r, (&i, &d))| Hit {
            rank: r + 1,
            index: i as usize,
            label: labels[i as usize],
            class: class(labels[i as usize]),
            distance: d,
            source: set.samples[i as usize].source.display().to_string(),
        })
        .collect();
    let query_name = crate::photos::file_name(&a.query);
    let mut tiles = vec![tile(&query, vec!["query".into(), short(&query_name, 22)], true)];
    for h in &results {
        let source =
            std::path::Path::new(&h.source).file_name().map_or(h.source.clone(), |n| n.to_string_lossy().into());
        tiles.push(set_tile(
            &set,
            h.index,
            vec![format!("#{} {}", h.rank, h.class), format!("d = {:.3}", h.distance), short(&source, 22)],
        ));
    }
    let gallery = Gallery {
        title: format!("{} nearest expressions to {}", results.len(), short(&query_name, 40)),
        columns: tiles.len(),
        tiles,
        tile_size: 112,
    };
    sgm_plot::gallery(&gallery, &a.out).with_context(|| format!("writing {}", a.out.display()))?;
    let json = a.json.clone().unwrap_or_else(|| a.out.with_extension("json"));
    let report = RetrieveReport {
        query: a.query.display().to_string(),
        query_box: found.map(|f| f.0),
        query_score: found.map(|f| f.1),
        faces_in_query: found.map(|f| f.2),
        checkpoint: a.checkpoint.display().to_string(),
        index: a.index.display().to_string(),
        k,
        results,
    };
    sgm_core::fs::write_json_atomic(&json, &report)?;
    for h in &report.results {
        println!("{:>3}  {:>6}  {:<10}  {:.4}  {}", h.rank, h.index, h.class, h.distance, h.source);
    }
    println!("written to {} and {}", a.out.display(), json.display());
    Ok(())
}
