//! `sgm embed`: embeddings of a data set split from a trained checkpoint, ready for `sgm eval`; or, with
//! `--photos DIR`, one embedding per face detected in a folder of photos, the boxes in a JSON sidecar.

use crate::args::DataArgs;
use anyhow::{bail, Context, Result};
use clap::Args;
use sgm_core::embedding_files::write_embeddings;
use sgm_data::Split;
use sgm_train::device::parse as device;
use sgm_train::train::Trainer;
use std::path::{Path, PathBuf};

/// Arguments of `sgm embed`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sgm embed --weights runs/demo/best.safetensors --split train --out train.safetensors
  sgm embed --weights runs/demo/best.safetensors --split test --out test.safetensors
  sgm eval --train train.safetensors --test test.safetensors
  sgm embed --weights hf:OWNER/REPO/model.safetensors --offline --split test --out test.safetensors
  sgm embed --weights runs/demo/best.safetensors --photos holiday/ --out holiday.safetensors

--photos DIR: one row per face detected in the photos of DIR (photo by photo, faces left to right); the label of
a row is its photo's number (0-based, photos sorted by name). The sidecar <stem>.faces.json lists each row's
photo, box and score, the photos without a face and the files skipped (--skip-bad).")]
pub struct EmbedArgs {
    /// A checkpoint written by `sgm train` or `sgm export`: a path, or hf:OWNER/REPO/FILE[@REVISION][#sha256=HEX]
    /// from the Hugging Face hub (see docs/training.md, "Pretrained weights").
    #[arg(long, visible_alias = "checkpoint", value_name = "SPEC")]
    pub weights: String,
    /// How hub weights are found and checked.
    #[command(flatten)]
    pub hub: crate::args::HubArgs,
    /// The data set.
    #[command(flatten)]
    pub data: DataArgs,
    /// Embed the faces found in the photos of this folder instead of a data set (--data and --split are
    /// ignored).
    #[arg(long, value_name = "DIR")]
    pub photos: Option<PathBuf>,
    /// Face detection in --photos.
    #[command(flatten)]
    pub detect: crate::photos::DetectArgs,
    /// Which split: train, valid, test or all.
    #[arg(long, default_value = "test")]
    pub split: Split,
    /// Output: .safetensors (tensors `embeddings`, `labels` and, when known, `groups`) or .npy (embeddings; labels
    /// beside it as <stem>.labels.npy, groups as <stem>.groups.npy).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Device: cpu, cuda[:N] or metal.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Write --out even when it is an sgm checkpoint or lies inside a run directory of `sgm train`.
    #[arg(long)]
    pub force: bool,
    /// Test-time flip: average each image's embedding with its mirror image's (on by default when the run was
    /// trained with --eval-flip).
    #[arg(long)]
    pub flip: bool,
}

/// Runs `sgm embed`.
pub fn run(a: EmbedArgs) -> Result<()> {
    let mut outputs = output_files(&a.out);
    if a.photos.is_some() {
        outputs.push(faces_sidecar(&a.out));
    }
    for out in outputs {
        sgm_train::output_guard::check_output(&out, a.force)?;
    }
    let weights = crate::args::resolve_weights(&a.weights, &a.hub)?;
    let mut trainer = Trainer::from_checkpoint(&weights, device(&a.device)?)?;
    if a.flip {
        trainer.set_eval_flip(true);
    }
    if let Some(dir) = &a.photos {
        return embed_photos(&a, dir, &trainer);
    }
    let set = a.data.load(&[a.split])?.pop().expect("one split");
    let (emb, _) = trainer.embed(&set)?;
    let labels = set.labels();
    let groups = set.duplicate_groups();
    write_embeddings(&a.out, emb.as_slice(), emb.rows(), emb.dim(), &labels, groups.as_deref())?;
    eprintln!("{} embeddings of dimension {} written to {}", emb.rows(), emb.dim(), a.out.display());
    Ok(())
}

/// The sidecar of `sgm embed --photos`: `<stem>.faces.json` beside OUT.
pub fn faces_sidecar(out: &Path) -> PathBuf {
    out.with_extension("").with_extension("faces.json")
}

/// The sidecar JSON of `sgm embed --photos`.
#[derive(Debug, serde::Serialize)]
pub struct PhotoFacesSidecar {
    /// The photo folder.
    pub photos_dir: String,
    /// Readable photos, in label order (a row's label is its photo's index here).
    pub photos: Vec<String>,
    /// One entry per embedding row: its photo, box and score.
    pub faces: Vec<crate::photos::FaceRecord>,
    /// Readable photos in which no face was found.
    pub photos_without_faces: Vec<String>,
    /// Files skipped as unreadable (with --skip-bad), with the reason.
    pub skipped: Vec<String>,
    /// The face detector's options (none with --no-detect).
    pub detector: Option<sgm_data::faces::DetectorConfig>,
}

/// `sgm embed --photos DIR`: one embedding per face.
fn embed_photos(a: &EmbedArgs, dir: &Path, trainer: &Trainer) -> Result<()> {
    use crate::photos::{file_name, image_set, input_side, load_faces, FaceRecord};
    let files = sgm_data::faces::photo_files(dir).context("cannot read the photo folder")?;
    let side = input_side(trainer);
    let faces = load_faces(&files, &a.detect, side as u32, a.data.load.skip_bad)?;
    if faces.items.is_empty() {
        bail!(
            "{}: no face found in {} photos{} (--no-detect reads the files as face crops)",
            dir.display(),
            faces.photos.len(),
            if faces.skipped.is_empty() { String::new() } else { format!(", {} skipped", faces.skipped.len()) }
        );
    }
    let images: Vec<(PathBuf, image::GrayImage)> =
        faces.items.iter().map(|f| (f.photo.clone(), f.image.clone())).collect();
    let (emb, _) = trainer.embed(&image_set("photos", &images, side))?;
    let labels: Vec<u32> = faces
        .items
        .iter()
        .map(|f| faces.photos.iter().position(|p| *p == f.photo).expect("a face's photo is readable") as u32)
        .collect();
    write_embeddings(&a.out, emb.as_slice(), emb.rows(), emb.dim(), &labels, None)?;
    let sidecar = PhotoFacesSidecar {
        photos_dir: dir.display().to_string(),
        photos: faces.photos.iter().map(|p| file_name(p)).collect(),
        faces: faces.items.iter().map(FaceRecord::from).collect(),
        photos_without_faces: faces.without_faces.iter().map(|p| file_name(p)).collect(),
        skipped: faces.skipped.clone(),
        detector: faces.detector.clone(),
    };
    let side_path = faces_sidecar(&a.out);
    sgm_core::fs::write_json_atomic(&side_path, &sidecar)?;
    if !sidecar.skipped.is_empty() {
        eprintln!("{} unreadable images skipped", sidecar.skipped.len());
    }
    if !sidecar.photos_without_faces.is_empty() {
        eprintln!(
            "{} photos without a face: {}",
            sidecar.photos_without_faces.len(),
            sidecar.photos_without_faces.join(", ")
        );
    }
    eprintln!(
        "{} embeddings of dimension {} ({} faces in {} photos) written to {}, boxes to {}",
        emb.rows(),
        emb.dim(),
        sidecar.faces.len(),
        sidecar.photos.len(),
        a.out.display(),
        side_path.display()
    );
    Ok(())
}

/// The files `sgm embed --out OUT` writes: OUT, and beside a .npy its labels and groups.
pub fn output_files(out: &Path) -> Vec<PathBuf> {
    if out.extension().and_then(|e| e.to_str()) == Some("npy") {
        let stem = out.with_extension("");
        vec![out.to_path_buf(), stem.with_extension("labels.npy"), stem.with_extension("groups.npy")]
    } else {
        vec![out.to_path_buf()]
    }
}
