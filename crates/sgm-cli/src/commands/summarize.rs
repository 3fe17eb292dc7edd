//! `sgm summarize`: the paper's photo-album summarisation. A folder of face images (any sizes; faces already
//! cropped, or cut out with `--crop`) is embedded, clustered into n groups, and the medoid of each group (the
//! member nearest its mean) stands for it; the representatives, largest group first, make one picture and a JSON
//! list.

use super::cluster::{cluster, ClusterArgs, Covariance, Method};
use super::embed::{trainer_from_checkpoint, write_embeddings};
use super::faces::{image_set, input_side, short, tile, write_json};
use super::train::device;
use anyhow::{bail, Context, Result};
use clap::Args;
use image::GrayImage;
use serde::Serialize;
use sgm_cluster::groups_with_medoids;
use sgm_data::image_io::{crop, decode_luma, Rect};
use sgm_plot::Gallery;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Image file extensions read from the album.
const EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "pgm"];

/// Arguments of `sgm summarize`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sgm summarize --checkpoint runs/demo/best.safetensors --album photos/ --n 12 --out summary.png
  sgm summarize --checkpoint best.safetensors --album photos/ --crop faces.txt --skip-bad --out summary.png

--crop FILE: one face box per line, `file x y w h` (pixels, file relative to the album); blank lines and lines
starting with # are ignored. Images without a box are used whole.")]
pub struct SummarizeArgs {
    /// A checkpoint written by `sgm train` or `sgm export`.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// The album: a folder of face images (PNG, JPEG, TIFF, BMP; not searched recursively).
    #[arg(long, value_name = "DIR")]
    pub album: PathBuf,
    /// Number of groups, hence of representatives.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..))]
    pub n: u32,
    /// Face boxes: lines `file x y w h`.
    #[arg(long, value_name = "FILE")]
    pub crop: Option<PathBuf>,
    /// Skip unreadable images (their count is reported) instead of failing.
    #[arg(long)]
    pub skip_bad: bool,
    /// Clustering method (k-means suits small albums; EM as in the paper needs several images per group and
    /// dimension).
    #[arg(long, value_enum, default_value_t = Method::Kmeans)]
    pub method: Method,
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
    /// image's group id as its label.
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
    /// The chosen file (the group's medoid).
    pub file: String,
    /// Members of its group.
    pub group_size: usize,
    /// Distance of the medoid's embedding to the group mean.
    pub distance_to_mean: f64,
    /// The group's member files.
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
    pub method: Method,
    /// Seed.
    pub seed: u64,
    /// Every image embedded, in embedding order.
    pub files: Vec<String>,
    /// Images skipped as unreadable (with --skip-bad), with the reason.
    pub skipped: Vec<String>,
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

/// The image files of `dir`, sorted by name.
fn album_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("{}: cannot read the album folder", dir.display()))?;
    let mut files = Vec::new();
    for e in entries {
        let path = e.with_context(|| format!("{}: cannot list the album folder", dir.display()))?.path();
        let ext = path.extension().and_then(|x| x.to_str()).map(str::to_ascii_lowercase);
        if path.is_file() && ext.is_some_and(|x| EXTENSIONS.contains(&x.as_str())) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// Runs `sgm summarize`.
pub fn run(a: SummarizeArgs) -> Result<()> {
    let files = album_files(&a.album)?;
    let boxes = match &a.crop {
        Some(p) => read_crop_boxes(p)?,
        None => BTreeMap::new(),
    };
    let names: std::collections::BTreeSet<String> = files.iter().map(|f| file_name(f)).collect();
    if let Some((name, (_, line))) = boxes.iter().find(|(n, _)| !names.contains(*n)) {
        bail!(
            "{}:{line}: {name} is not an image of the album {}",
            a.crop.as_ref().expect("boxes come from --crop").display(),
            a.album.display()
        );
    }
    let mut images: Vec<(PathBuf, GrayImage)> = Vec::with_capacity(files.len());
    let mut skipped = Vec::new();
    for f in &files {
        let img = match decode_luma(f) {
            Ok(img) => img,
            Err(e) if a.skip_bad => {
                tracing::warn!("skipping {}: {e}", f.display());
                skipped.push(e.to_string());
                continue;
            }
            Err(e) => {
                return Err(anyhow::Error::from(e).context("an unreadable album image (--skip-bad skips such images)"))
            }
        };
        // A box that does not fit is a mistake in the box list, never skipped.
        let img = match boxes.get(&file_name(f)) {
            Some((rect, line)) => crop(&img, *rect, f).with_context(|| {
                format!("the box of {}:{line}", a.crop.as_ref().expect("boxes come from --crop").display())
            })?,
            None => img,
        };
        images.push((f.clone(), img));
    }
    let n = a.n as usize;
    if images.len() < n {
        bail!(
            "{}: {} readable images for {n} groups{}",
            a.album.display(),
            images.len(),
            if skipped.is_empty() { String::new() } else { format!(" ({} skipped)", skipped.len()) }
        );
    }
    let trainer = trainer_from_checkpoint(&a.checkpoint, device(&a.device)?)?;
    let set = image_set("album", &images, input_side(&trainer));
    let (emb, _) = trainer.embed(&set)?;
    let cluster_args = ClusterArgs {
        embeddings: a.album.clone(),
        labels: None,
        groups: a.n,
        method: a.method,
        covariance: Covariance::Diagonal,
        top: 1,
        n_init: 3,
        max_iter: 100,
        seed: a.seed,
        out: PathBuf::new(),
        force: false,
    };
    let fit = cluster(&emb, &cluster_args)?;
    let groups = groups_with_medoids(&emb, &fit.assignments, 1, None)?; // largest first
    let rel = |i: usize| file_name(&images[i].0);
    let representatives: Vec<Representative> = groups
        .iter()
        .enumerate()
        .map(|(r, g)| Representative {
            rank: r + 1,
            file: rel(g.medoid),
            group_size: g.size,
            distance_to_mean: g.medoid_to_mean,
            members: g.members.iter().map(|&i| rel(i)).collect(),
        })
        .collect();
    let tiles = groups
        .iter()
        .zip(&representatives)
        .map(|(g, r)| {
            let caption = vec![
                format!("#{} · {} image{}", r.rank, g.size, if g.size == 1 { "" } else { "s" }),
                short(&r.file, 22),
            ];
            tile(&images[g.medoid].1, caption, false)
        })
        .collect();
    let gallery = Gallery {
        title: format!(
            "{}: {} groups of {} images",
            short(&a.album.display().to_string(), 40),
            groups.len(),
            images.len()
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
        files: (0..images.len()).map(rel).collect(),
        skipped,
        representatives,
    };
    write_json(&json, &summary)?;
    if !summary.skipped.is_empty() {
        eprintln!("{} unreadable images skipped", summary.skipped.len());
    }
    println!(
        "{} representatives of {} images written to {} and {}",
        summary.representatives.len(),
        images.len(),
        a.out.display(),
        json.display()
    );
    Ok(())
}
