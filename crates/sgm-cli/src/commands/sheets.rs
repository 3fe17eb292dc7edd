//! `sgm sheets`: one contact-sheet PNG per group of `sgm cluster` (the paper's Figure 8): the group's top-k
//! images, medoid first (framed in white), row by row. The file name carries the group id, size, majority class
//! and purity, e.g. `group-007-n120-happiness-p93.png`.

use crate::args::DataArgs;
use anyhow::{bail, Context, Result};
use clap::Args;
use sgm_cluster::Group;
use sgm_data::Split;
use sgm_plot::sheet::{contact_sheet, SheetCell, SheetLayout};
use std::path::PathBuf;

/// Arguments of `sgm sheets`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  sgm embed --checkpoint best.safetensors --data synth --split test --out test.safetensors
  sgm cluster --embeddings test.safetensors --groups 40 --out groups
  sgm sheets --groups groups/groups.json --data synth --split test --out groups/sheets")]
pub struct SheetsArgs {
    /// The `groups.json` written by `sgm cluster`.
    #[arg(long, value_name = "FILE")]
    pub groups: PathBuf,
    /// The data set the embeddings were computed from (same split, same order).
    #[command(flatten)]
    pub data: DataArgs,
    /// The split the embeddings came from.
    #[arg(long, default_value = "test")]
    pub split: Split,
    /// Images per row.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub columns: u32,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(serde::Deserialize)]
struct GroupsFile {
    n: usize,
    groups: Vec<Group>,
}

/// Runs `sgm sheets`.
pub fn run(a: SheetsArgs) -> Result<()> {
    let what = a.groups.display().to_string();
    let file: GroupsFile =
        serde_json::from_slice(&std::fs::read(&a.groups).with_context(|| format!("reading {what}"))?)
            .with_context(|| format!("{what}: not a groups.json of `sgm cluster`"))?;
    let set = a.data.load(&[a.split])?.remove(0);
    if set.len() != file.n {
        bail!("{what}: {} points, but the {} split of {} has {} images", file.n, a.split, a.data.data, set.len());
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    for g in &file.groups {
        if let Some(&bad) = g.top.iter().find(|&&i| i >= set.len()) {
            bail!("{what}: group {} lists image {bad}, beyond the {} images", g.id, set.len());
        }
        let columns = (a.columns as usize).min(g.top.len()).max(1);
        let layout = SheetLayout { columns, height: set.height, width: set.width, gap: 2, bar: 0, background: [40; 3] };
        // The medoid (first) is framed in white.
        let cells: Vec<SheetCell<'_>> = (g.top.iter().enumerate())
            .map(|(k, &i)| SheetCell { pixels: set.image(i), frame: (k == 0).then_some([255; 3]), bar: None })
            .collect();
        let (sw, sh, rgb) = contact_sheet(&layout, &cells);
        let sheet: Vec<u8> = rgb.chunks_exact(3).map(|p| p[0]).collect();
        let class = g.majority_label.map(|l| set.class_names.get(l as usize).cloned().unwrap_or_else(|| l.to_string()));
        let mut name = format!("group-{:03}-n{}", g.id, g.size);
        if let (Some(c), Some(p)) = (class, g.purity) {
            name += &format!("-{}-p{:.0}", c.replace(|ch: char| !ch.is_ascii_alphanumeric(), "_"), p * 100.0);
        }
        let path = a.out.join(format!("{name}.png"));
        sgm_data::image_io::write_png_atomic(&path, sw, sh, 1, &sheet)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{} contact sheets written to {}", file.groups.len(), a.out.display());
    Ok(())
}
