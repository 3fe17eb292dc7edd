//! `sgm summarize`: the paper's photo-album summarisation. The faces of a folder of photos (found by the face
//! detector; or, with `--no-detect`, the files read as face crops; or cut out with `--crop` boxes) are embedded,
//! clustered into n groups, and the medoid of each group (the member nearest its mean) stands for it; the
//! representatives' crops, largest group first, make one picture (each captioned with its photo) and a JSON list.

use crate::photos::{file_name, image_set, input_side, load_faces, short, tile};
use crate::photos::{DetectArgs, FaceRecord, Faces};
use anyhow::{bail, Context, Result};
use clap::Args;
use image::GrayImage;
use serde::Serialize;
use sgm_cluster::groups_with_medoids;
use sgm_cluster::{fit_groups, CovarianceType, GroupMethod, GroupingConfig};
use sgm_core::embedding_files::write_embeddings;
use sgm_data::faces::{photo_files, DetectorConfig, FaceBox};
use sgm_data::image_io::{crop, Rect};
use sgm_plot::Gallery;
use sgm_train::device::parse as device;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Arguments of `sgm summarize`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sgm summarize --checkpoint runs/demo/best.safetensors --album photos/ --n 12 --out summary.png
  sgm summarize --checkpoint best.safetensors --album photos/ --min-face 60 --skip-bad --out summary.png
  sgm summarize --checkpoint best.safetensors --album crops/ --no-detect --out summary.png
  sgm summarize --checkpoint best.safetensors --album photos/ --crop faces.txt --out summary.png

Faces are detected in every photo (several per photo; photos without one are counted and listed). --no-detect
reads each file whole as a face crop. --crop FILE turns detection off and gives the boxes: one per line,
`file x y w h` (pixels, file relative to the album); blank lines and lines starting with # are ignored. Images
without a box are used whole.")]
pub struct SummarizeArgs {
    /// A checkpoint written by `sgm train` or `sgm export`.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// The album: a folder of photos (JPEG, PNG, TIFF, BMP; not searched recursively).
    #[arg(long, value_name = "DIR")]
    pub album: PathBuf,
    /// Number of groups, hence of representatives.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..))]
    pub n: u32,
    /// Face boxes instead of detection: lines `file x y w h`.
    #[arg(long, value_name = "FILE")]
    pub crop: Option<PathBuf>,
    /// Face detection.
    #[command(flatten)]
    pub detect: DetectArgs,
    /// Skip unreadable images (their count is reported) instead of failing.
    #[arg(long)]
    pub skip_bad: bool,
    /// Clustering method (k-means suits small albums; EM as in the paper needs several images per group and
    /// dimension).
    #[arg(long, value_enum, default_value_t = GroupMethod::Kmeans)]
    pub method: GroupMethod,
    /// Seed of the clustering.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Representatives per row of the picture.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..))]
    pub columns: u32,
    /// Output picture (PNG). The JSON list is written beside it (same name, .json) unless --json says otherwise.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Output JSON list of the chosen files.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write the album's embeddings (.safetensors or .npy), rows in the JSON's `files` order, with each
    /// face's group id as its label.
    #[arg(long, value_name = "FILE")]
    pub embeddings: Option<PathBuf>,
    /// Device: cpu, cuda[:N] or metal.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// One representative.
#[derive(Debug, Serialize)]
pub struct Representative {
    /// 1-based rank (by group size).
    pub rank: usize,
    /// The chosen face (the group's medoid): its photo's file name, with `#k` when the photo holds several faces.
    pub file: String,
    /// The photo it was found in.
    pub photo: String,
    /// Its box in the photo (detected or from --crop).
    #[serde(rename = "box")]
    pub bbox: Option<FaceBox>,
    /// The detector's score.
    pub score: Option<f64>,
    /// Members of its group.
    pub group_size: usize,
    /// Distance of the medoid's embedding to the group mean.
    pub distance_to_mean: f64,
    /// The group's members.
    pub members: Vec<String>,
}

/// The JSON written by `sgm summarize`.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// The album folder.
    pub album: String,
    /// Groups asked for.
    pub n: u32,
    /// The clustering method.
    pub method: GroupMethod,
    /// Seed.
    pub seed: u64,
    /// Every face embedded, in embedding order (file name, `#k` when a photo holds several).
    pub files: Vec<String>,
    /// Every face embedded, with its photo, box and score.
    pub faces: Vec<FaceRecord>,
    /// Readable photos.
    pub photos: usize,
    /// Readable photos in which no face was found.
    pub photos_without_faces: Vec<String>,
    /// Files skipped as unreadable (with --skip-bad), with the reason.
    pub skipped: Vec<String>,
    /// The face detector's options (none with --no-detect or --crop).
    pub detector: Option<DetectorConfig>,
    /// One representative per non-empty group, largest group first.
    pub representatives: Vec<Representative>,
}

/// Reads a `--crop` file: `file x y w h` per line. Errors name the file and line.
pub fn read_crop_boxes(path: &Path) -> Result<BTreeMap<String, (Rect, usize)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut boxes = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let at = || format!("{}:{}", path.display(), i + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != 5 {
            bail!("{}: expected `file x y w h`, found {} fields", at(), fields.len());
        }
        let mut v = [0u32; 4];
        for (slot, (name, text)) in v.iter_mut().zip(["x", "y", "w", "h"].iter().zip(&fields[1..])) {
            *slot =
                text.parse().map_err(|_| anyhow::anyhow!("{}: {name} is '{text}', not a whole number ≥ 0", at()))?;
        }
        if v[2] == 0 || v[3] == 0 {
            bail!("{}: the box of {} is empty (w = {}, h = {})", at(), fields[0], v[2], v[3]);
        }
        let rect = Rect { x: v[0], y: v[1], width: v[2], height: v[3] };
        if boxes.insert(fields[0].to_string(), (rect, i + 1)).is_some() {
            bail!("{}: a second box for {}", at(), fields[0]);
        }
    }
    Ok(boxes)
}

/// The faces of the album: from `--crop` boxes, from files read whole (`--no-detect`), or detected.
fn album_faces(a: &SummarizeArgs, files: &[PathBuf], crop_size: u32) -> Result<Faces> {
    let Some(crop_file) = &a.crop else {
        return load_faces(files, &a.detect, crop_size, a.skip_bad);
    };
    let boxes = read_crop_boxes(crop_file)?;
    let names: std::collections::BTreeSet<String> = files.iter().map(|f| file_name(f)).collect();
    if let Some((name, (_, line))) = boxes.iter().find(|(n, _)| !names.contains(*n)) {
        bail!("{}:{line}: {name} is not an image of the album {}", crop_file.display(), a.album.display());
    }
    let mut faces = load_faces(files, &DetectArgs { no_detect: true, ..a.detect.clone() }, crop_size, a.skip_bad)?;
    for item in &mut faces.items {
        // A box that does not fit is a mistake in the box list, never skipped.
        if let Some((rect, line)) = boxes.get(&item.name) {
            item.image = crop(&item.image, *rect, &item.photo)
                .with_context(|| format!("the box of {}:{line}", crop_file.display()))?;
            item.bbox = Some(FaceBox::new(rect.x as i32, rect.y as i32, rect.width, rect.height));
        }
    }
    Ok(faces)
}

/// Runs `sgm summarize`.
pub fn run(a: SummarizeArgs) -> Result<()> {
    let files = photo_files(&a.album).context("cannot read the album folder")?;
    let trainer = sgm_train::train::Trainer::from_checkpoint(&a.checkpoint, device(&a.device)?)?;
    let side = input_side(&trainer);
    // Crops are cut at tile resolution for the picture at least; the model gets them resized to its input side.
    let faces = album_faces(&a, &files, side.max(112) as u32)?;
    let n = a.n as usize;
    if faces.items.len() < n {
        let skipped =
            if faces.skipped.is_empty() { String::new() } else { format!(" ({} skipped)", faces.skipped.len()) };
        if faces.detector.is_some() {
            bail!(
                "{}: {} faces found in {} photos for {n} groups ({} photos without a face{skipped}; --min-face and \
                 --face-threshold tune the detector, --no-detect reads the files as face crops)",
                a.album.display(),
                faces.items.len(),
                faces.photos.len(),
                faces.without_faces.len(),
            );
        }
        bail!("{}: {} readable images for {n} groups{skipped}", a.album.display(), faces.items.len());
    }
    let images: Vec<(PathBuf, GrayImage)> = faces.items.iter().map(|f| (f.photo.clone(), f.image.clone())).collect();
    let set = image_set("album", &images, side);
    let (emb, _) = trainer.embed(&set)?;
    let cfg =
        GroupingConfig { covariance: CovarianceType::Diagonal, ..GroupingConfig::new(a.n as usize, a.method, a.seed) };
    let fit = fit_groups(&emb, &cfg).with_context(|| format!("grouping the faces of {}", a.album.display()))?;
    let groups = groups_with_medoids(&emb, &fit.assignments, 1, None)?; // largest first
    let rel = |i: usize| faces.items[i].name.clone();
    let representatives: Vec<Representative> = groups
        .iter()
        .enumerate()
        .map(|(r, g)| {
            let face = &faces.items[g.medoid];
            Representative {
                rank: r + 1,
                file: rel(g.medoid),
                photo: file_name(&face.photo),
                bbox: face.bbox,
                score: face.score,
                group_size: g.size,
                distance_to_mean: g.medoid_to_mean,
                members: g.members.iter().map(|&i| rel(i)).collect(),
            }
        })
        .collect();
    let noun = if faces.detector.is_some() { "face" } else { "image" };
    let plural = |k: usize| if k == 1 { noun.to_string() } else { format!("{noun}s") };
    let tiles = groups
        .iter()
        .zip(&representatives)
        .map(|(g, r)| {
            let caption = vec![format!("#{} · {} {}", r.rank, g.size, plural(g.size)), short(&r.file, 22)];
            tile(&faces.items[g.medoid].image, caption, false)
        })
        .collect();
    let photos_note =
        if faces.detector.is_some() { format!(" in {} photos", faces.photos.len()) } else { String::new() };
    let gallery = Gallery {
        title: format!(
            "{}: {} groups of {} {}{photos_note}",
            short(&a.album.display().to_string(), 40),
            groups.len(),
            faces.items.len(),
            plural(faces.items.len())
        ),
        tiles,
        columns: a.columns as usize,
        tile_size: 112,
    };
    sgm_plot::gallery(&gallery, &a.out).with_context(|| format!("writing {}", a.out.display()))?;
    if let Some(path) = &a.embeddings {
        write_embeddings(path, emb.as_slice(), emb.rows(), emb.dim(), &fit.assignments, None)?;
    }
    let json = a.json.clone().unwrap_or_else(|| a.out.with_extension("json"));
    let summary = Summary {
        album: a.album.display().to_string(),
        n: a.n,
        method: a.method,
        seed: a.seed,
        files: (0..faces.items.len()).map(rel).collect(),
        faces: faces.items.iter().map(FaceRecord::from).collect(),
        photos: faces.photos.len(),
        photos_without_faces: faces.without_faces.iter().map(|p| file_name(p)).collect(),
        skipped: faces.skipped.clone(),
        detector: faces.detector.clone(),
        representatives,
    };
    sgm_core::fs::write_json_atomic(&json, &summary)?;
    if !summary.skipped.is_empty() {
        eprintln!("{} unreadable images skipped", summary.skipped.len());
    }
    if !summary.photos_without_faces.is_empty() {
        eprintln!(
            "{} photos without a face: {}",
            summary.photos_without_faces.len(),
            summary.photos_without_faces.join(", ")
        );
    }
    println!(
        "{} representatives of {} {}{photos_note} written to {} and {}",
        summary.representatives.len(),
        faces.items.len(),
        plural(faces.items.len()),
        a.out.display(),
        json.display()
    );
    Ok(())
}
