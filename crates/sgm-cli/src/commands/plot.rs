//! `sgm plot`: PNG plots of what the other commands write.
//!
//! - `sgm plot runs/NAME`: training curves (loss and validation metrics per epoch) from the run's `metrics.jsonl`;
//! - `sgm plot tsne --csv FILE`: the map written by `sgm tsne`, coloured by class (and by sub-class);
//! - `sgm plot report FILE.json …`: Recall@K / Acc@K curves, kNN F1 against K and the confusion matrix of the
//!   JSON of `sgm eval --json` or a run's `test_report.json` (several reports: one curve each).

use crate::csv_files::CsvTable;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde::Deserialize;
use sgm_plot::{Figure, RetrievalCurve, Scatter, Series};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Arguments of `sgm plot`.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:
  sgm plot runs/demo                                  # runs/demo/curves.png
  sgm tsne --embeddings test.safetensors --out tsne.csv && sgm plot tsne --csv tsne.csv
  sgm plot report runs/demo/test_report.json          # -retrieval, -f1 and -confusion PNGs beside it
  sgm eval --train a-train.safetensors --test a-test.safetensors --json > a.json
  sgm plot report a.json b.json --names SGM,triplet --out-dir cmp/"
)]
pub struct PlotArgs {
    /// What to plot.
    #[command(subcommand)]
    pub what: Option<PlotCommand>,
    /// A run directory of `sgm train`: plots its training curves (same as `sgm plot training DIR`; write `./NAME`
    /// for a folder named like a subcommand).
    #[arg(value_name = "RUN_DIR")]
    pub run: Option<PathBuf>,
    /// Output PNG for the training curves (default: RUN_DIR/curves.png).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Figure width in pixels.
    #[arg(long, default_value_t = 800)]
    pub width: u32,
    /// Figure height in pixels.
    #[arg(long, default_value_t = 600)]
    pub height: u32,
}

/// The plots.
#[derive(Debug, Subcommand)]
pub enum PlotCommand {
    /// Training curves of a run directory (loss and validation metrics per epoch, from metrics.jsonl).
    Training(RunPlotArgs),
    /// The t-SNE map written by `sgm tsne` (CSV index,x,y[,label][,subclass]), coloured by class.
    Tsne(TsnePlotArgs),
    /// Recall@K / Acc@K, F1 against K and the confusion matrix of `sgm eval --json` output or test_report.json.
    Report(ReportPlotArgs),
}

/// Arguments of `sgm plot training`.
#[derive(Debug, Args)]
pub struct RunPlotArgs {
    /// The run directory (holds metrics.jsonl).
    #[arg(value_name = "RUN_DIR")]
    pub run: PathBuf,
    /// Output PNG (default: RUN_DIR/curves.png).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Figure width in pixels.
    #[arg(long, default_value_t = 800)]
    pub width: u32,
    /// Figure height in pixels.
    #[arg(long, default_value_t = 600)]
    pub height: u32,
}

/// Arguments of `sgm plot tsne`.
#[derive(Debug, Args)]
pub struct TsnePlotArgs {
    /// The CSV of `sgm tsne`: index,x,y and optionally label and subclass columns.
    #[arg(long, value_name = "FILE")]
    pub csv: PathBuf,
    /// Sub-classes to shade and mark the points by: a CSV with `index` and `subclass` columns (the
    /// assignment.csv of `sgm subclasses`, when the map was made from the same embeddings in the same order).
    #[arg(long, value_name = "FILE")]
    pub subclasses: Option<PathBuf>,
    /// Class names, in label order (default: the FER+ order every sgm loader maps to).
    #[arg(long, value_delimiter = ',', value_name = "NAME,…")]
    pub class_names: Vec<String>,
    /// Title.
    #[arg(long, default_value = "t-SNE of the embeddings")]
    pub title: String,
    /// Output PNG (default: the CSV's path with .png).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Figure width in pixels.
    #[arg(long, default_value_t = 800)]
    pub width: u32,
    /// Figure height in pixels.
    #[arg(long, default_value_t = 600)]
    pub height: u32,
}

/// Arguments of `sgm plot report`.
#[derive(Debug, Args)]
pub struct ReportPlotArgs {
    /// JSON reports of `sgm eval --json` or `sgm train` (test_report.json); several are drawn as several curves.
    #[arg(value_name = "FILE.json", required = true)]
    pub reports: Vec<PathBuf>,
    /// Legend names of the reports, in order (default: the file stem, or the run folder for test_report.json).
    #[arg(long, value_delimiter = ',', value_name = "NAME,…")]
    pub names: Vec<String>,
    /// Class names, in label order (default: the FER+ order every sgm loader maps to).
    #[arg(long, value_delimiter = ',', value_name = "NAME,…")]
    pub class_names: Vec<String>,
    /// Output folder (default: the first report's folder). Files: STEM-retrieval.png, STEM-f1.png and
    /// STEM-confusion.png (one per report), where STEM is the first report's file stem.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Figure width in pixels.
    #[arg(long, default_value_t = 800)]
    pub width: u32,
    /// Figure height in pixels.
    #[arg(long, default_value_t = 600)]
    pub height: u32,
}

/// Runs `sgm plot`.
pub fn run(a: PlotArgs) -> Result<()> {
    match a.what {
        Some(PlotCommand::Training(r)) => plot_run(&r),
        Some(PlotCommand::Tsne(t)) => plot_tsne(&t),
        Some(PlotCommand::Report(r)) => plot_reports(&r),
        None => match a.run {
            Some(run) => plot_run(&RunPlotArgs { run, out: a.out, width: a.width, height: a.height }),
            None => {
                bail!("sgm plot: give a run directory, or one of `training`, `tsne`, `report` (see sgm plot --help)")
            }
        },
    }
}

fn plot_run(a: &RunPlotArgs) -> Result<()> {
    let jsonl = a.run.join("metrics.jsonl");
    if !a.run.is_dir() {
        bail!("{}: not a run directory", a.run.display());
    }
    let curves = crate::metrics_log::read_training_curves(&jsonl)?;
    let out = a.out.clone().unwrap_or_else(|| a.run.join("curves.png"));
    let name = a.run.file_name().map_or_else(|| a.run.display().to_string(), |n| n.to_string_lossy().into_owned());
    let fig = Figure::new(format!("Training: {name}")).with_size(a.width, a.height);
    sgm_plot::training_curves(&fig, &curves, &out).with_context(|| format!("plotting {}", jsonl.display()))?;
    println!("training curves of {} epochs written to {}", curves.epochs.len(), out.display());
    Ok(())
}

fn class_names(given: &[String]) -> Vec<String> {
    if given.is_empty() {
        sgm_data::Expression::class_names()
    } else {
        given.to_vec()
    }
}

fn parse<T: std::str::FromStr>(path: &Path, line: u64, name: &str, v: Option<&String>) -> Result<T> {
    let v = v.with_context(|| format!("{}:{line}: no '{name}' value", path.display()))?;
    v.parse().map_err(|_| anyhow::anyhow!("{}:{line}: '{name}' is '{v}', not a number", path.display()))
}

fn plot_tsne(a: &TsnePlotArgs) -> Result<()> {
    let map = CsvTable::read(&a.csv)?;
    let (Some(ix), Some(iy)) = (map.column("x"), map.column("y")) else {
        bail!(
            "{}: expected a header with x and y columns (the CSV of `sgm tsne`), found {}",
            a.csv.display(),
            map.header.join(",")
        );
    };
    let il = map.column("label");
    let is = map.column("subclass");
    let mut points = Vec::with_capacity(map.rows.len());
    let mut classes = Vec::with_capacity(map.rows.len());
    let mut subs = Vec::new();
    for (line, row) in &map.rows {
        let line = *line;
        points.push((parse(&a.csv, line, "x", row.get(ix))?, parse(&a.csv, line, "y", row.get(iy))?));
        classes.push(match il {
            Some(i) => parse(&a.csv, line, "label", row.get(i))?,
            None => 0u32,
        });
        if let Some(i) = is {
            subs.push(parse::<u32>(&a.csv, line, "subclass", row.get(i))?);
        }
    }
    let names =
        if il.is_none() && a.class_names.is_empty() { vec!["points".into()] } else { class_names(&a.class_names) };
    let mut data = Scatter::new(points, classes, names);
    if is.is_some() {
        data = data.with_subclasses(subs);
    }
    if let Some(path) = &a.subclasses {
        let t = CsvTable::read(path)?;
        let (Some(ii), Some(isub)) = (t.column("index"), t.column("subclass")) else {
            bail!("{}: expected index and subclass columns, found {}", path.display(), t.header.join(","));
        };
        let mut by_index = BTreeMap::new();
        for (line, row) in &t.rows {
            by_index.insert(
                parse::<usize>(path, *line, "index", row.get(ii))?,
                parse::<u32>(path, *line, "subclass", row.get(isub))?,
            );
        }
        let subs = (0..data.points.len())
            .map(|i| {
                by_index.get(&i).copied().with_context(|| format!("{}: no sub-class for point {i}", path.display()))
            })
            .collect::<Result<Vec<_>>>()?;
        data = data.with_subclasses(subs);
    }
    let out = a.out.clone().unwrap_or_else(|| a.csv.with_extension("png"));
    let fig = Figure::new(a.title.clone()).with_size(a.width, a.height);
    sgm_plot::scatter(&fig, &data, &out).with_context(|| format!("plotting {}", a.csv.display()))?;
    println!("t-SNE scatter of {} points written to {}", data.points.len(), out.display());
    Ok(())
}

/// The parts of an eval report that are plotted (every field optional: reports from before a field existed).
#[derive(Debug, Deserialize)]
struct ReportFile {
    knn: Option<KnnPart>,
    retrieval: Option<RetrievalPart>,
}

#[derive(Debug, Deserialize)]
struct KnnPart {
    k: Option<u32>,
    f1: Option<f64>,
    #[serde(default)]
    per_class: Vec<ClassPart>,
    #[serde(default)]
    confusion: Vec<Vec<usize>>,
    #[serde(default)]
    f1_by_k: BTreeMap<usize, f64>,
}

#[derive(Debug, Deserialize)]
struct ClassPart {
    label: u32,
}

#[derive(Debug, Deserialize)]
struct RetrievalPart {
    recall_at_k: BTreeMap<usize, f64>,
    acc_at_k: BTreeMap<usize, f64>,
}

/// The legend name of a report: its run folder for `test_report.json`, else its file stem.
fn report_name(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if stem == "test_report" {
        if let Some(dir) = path.parent().and_then(Path::file_name) {
            return dir.to_string_lossy().into_owned();
        }
    }
    stem
}

fn plot_reports(a: &ReportPlotArgs) -> Result<()> {
    if !a.names.is_empty() && a.names.len() != a.reports.len() {
        bail!("--names has {} names for {} reports", a.names.len(), a.reports.len());
    }
    let mut reports = Vec::new();
    for (i, path) in a.reports.iter().enumerate() {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let r: ReportFile = serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: not a report of `sgm eval --json` or `sgm train`", path.display()))?;
        let name = a.names.get(i).cloned().unwrap_or_else(|| report_name(path));
        reports.push((path, name, r));
    }
    let first = a.reports[0].as_path();
    let out_dir = a.out_dir.clone().unwrap_or_else(|| first.parent().map(Path::to_path_buf).unwrap_or_default());
    let out_dir = if out_dir.as_os_str().is_empty() { PathBuf::from(".") } else { out_dir };
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let stem = first.file_stem().map_or_else(|| "report".into(), |s| s.to_string_lossy().into_owned());
    let fig = |title: &str| Figure::new(title).with_size(a.width, a.height);
    let single = reports.len() == 1;
    let mut written = Vec::new();

    let curves: Vec<RetrievalCurve> = reports
        .iter()
        .filter_map(|(_, name, r)| {
            r.retrieval.as_ref().map(|t| RetrievalCurve {
                name: if single { String::new() } else { name.clone() },
                ks: t.recall_at_k.keys().copied().collect(),
                recall: t.recall_at_k.values().copied().collect(),
                acc: t.acc_at_k.values().copied().collect(),
            })
        })
        .collect();
    if !curves.is_empty() {
        let out = out_dir.join(format!("{stem}-retrieval.png"));
        let title = if single { format!("Retrieval: {}", reports[0].1) } else { "Retrieval".to_string() };
        sgm_plot::retrieval_curves(&fig(&title), &curves, &out).context("plotting Recall@K and Acc@K")?;
        written.push(out);
    }

    let f1: Vec<Series> = reports
        .iter()
        .filter_map(|(_, name, r)| {
            let k = r.knn.as_ref()?;
            let pts: Vec<(f64, f64)> = if k.f1_by_k.is_empty() {
                // A report from before f1_by_k: its one K.
                vec![(f64::from(k.k?), k.f1?)]
            } else {
                k.f1_by_k.iter().map(|(&kk, &v)| (kk as f64, v)).collect()
            };
            Some(Series::new(name.clone(), pts))
        })
        .collect();
    if !f1.is_empty() {
        let out = out_dir.join(format!("{stem}-f1.png"));
        sgm_plot::f1_vs_k(&fig("kNN F1 against K"), &f1, &out).context("plotting F1 against K")?;
        written.push(out);
    }

    let names = class_names(&a.class_names);
    for (i, (path, name, r)) in reports.iter().enumerate() {
        let Some(k) = r.knn.as_ref().filter(|k| !k.confusion.is_empty()) else { continue };
        let labels: Vec<String> = if k.per_class.len() == k.confusion.len() {
            k.per_class
                .iter()
                .map(|c| names.get(c.label as usize).cloned().unwrap_or_else(|| c.label.to_string()))
                .collect()
        } else {
            (0..k.confusion.len()).map(|c| names.get(c).cloned().unwrap_or_else(|| c.to_string())).collect()
        };
        let out = if single {
            out_dir.join(format!("{stem}-confusion.png"))
        } else {
            out_dir.join(format!("{stem}-confusion-{}.png", i + 1))
        };
        let title = format!("kNN confusion (K = {}): {name}", k.k.unwrap_or(0));
        sgm_plot::confusion_matrix(&fig(&title), &k.confusion, &labels, &out)
            .with_context(|| format!("plotting the confusion matrix of {}", path.display()))?;
        written.push(out);
    }
    if written.is_empty() {
        bail!("{}: nothing to plot (no retrieval and no kNN section)", first.display());
    }
    for w in &written {
        println!("{}", w.display());
    }
    Ok(())
}
