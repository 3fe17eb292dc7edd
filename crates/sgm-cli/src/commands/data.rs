//! `sgm data …`: the data set registry and tools.
//!
//! - `list`: the known data sets, where each is looked for and whether it is found;
//! - `stats <name>`: counts per split and class after the label rule, exclusions, duplicates (`--json` for a
//!   machine-readable report);
//! - `verify <name>`: compares the counts and file checksums with the registry; fails on any mismatch;
//! - `show <name>`: a contact sheet of images with a colour bar per class, plus a legend CSV;
//! - `synth`: writes the built-in synthetic set as an ImageFolder.
//!
//! The root of a data set is `--root`, else `$SGM_DATA_DIR/<name>`, else the registry's default root.

use std::path::PathBuf;

use std::io::Write;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use sgm_data::image_io::write_png_atomic;
use sgm_data::loaders::{FerPlusLabelMode, FerPlusLabelSource};
use sgm_data::registry::DatasetEntry;
use sgm_data::{Format, ImageSet, LoadOptions, OpenedDataset, Registry, Split};

/// Prints a line to stdout; a closed pipe (e.g. `| head`) ends the command quietly instead of panicking.
macro_rules! say {
    ($($t:tt)*) => {
        if let Err(e) = writeln!(std::io::stdout().lock(), $($t)*) {
            return stdout_error(e);
        }
    };
}

/// [`say!`] without the newline.
macro_rules! say_part {
    ($($t:tt)*) => {
        if let Err(e) = write!(std::io::stdout().lock(), $($t)*) {
            return stdout_error(e);
        }
    };
}

fn stdout_error(e: std::io::Error) -> anyhow::Result<()> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(anyhow::Error::new(e).context("writing to stdout"))
    }
}

/// `sgm data` subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// List the data sets sgm knows and whether each is found locally.
    List,
    /// Count images per split and class after the label rule; duplicates and excluded files.
    Stats(StatsArgs),
    /// Check a local copy against the registry's expected counts and checksums.
    Verify(LoadArgs),
    /// Write a contact sheet (PNG) of images of one split with a colour bar per class, and a legend CSV.
    Show(ShowArgs),
    /// Write the built-in synthetic expression set as an ImageFolder with a labels.csv.
    Synth(SynthArgs),
}

/// Which data set to load, and how.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Data set name (see `sgm data list`).
    pub name: String,
    /// Root folder of the data set (default: $SGM_DATA_DIR/<name>, else the registry's default root).
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Resize every image to HxW (default: the registry's image size).
    #[arg(long, value_parser = parse_size)]
    pub size: Option<[u32; 2]>,
    /// How bad or unusual images are handled.
    #[command(flatten)]
    pub load: crate::args::LoadFlags,
    /// FER+ vote file.
    #[arg(long, value_enum, default_value_t = FerPlusLabelSource::Fer2013New)]
    pub label_source: FerPlusLabelSource,
    /// FER+ label rule.
    #[arg(long, value_enum, default_value_t = FerPlusLabelMode::Majority)]
    pub label_mode: FerPlusLabelMode,
    /// Keep the FER+ known-bad images (fer0033120.png) instead of excluding them.
    #[arg(long)]
    pub keep_known_bad: bool,
    /// Read the folder with this layout instead of a registry entry (then NAME is free, e.g. for your own
    /// ImageFolder data): ferplus, fer2013, ckplus, ckplus48, jaffe, affectnet, bu3dfe, celeba, image_folder.
    #[arg(long, requires = "root")]
    pub format: Option<Format>,
}

/// `sgm data stats` arguments.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The data set.
    #[command(flatten)]
    pub load: LoadArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `sgm data show` arguments.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The data set.
    #[command(flatten)]
    pub load: LoadArgs,
    /// Split to show (train, valid, test, all).
    #[arg(long, default_value = "test")]
    pub split: Split,
    /// Number of images, taken evenly spaced through the split.
    #[arg(long, default_value_t = 64)]
    pub n: usize,
    /// Output PNG; the legend is written next to it with the extension .csv.
    #[arg(long, default_value = "grid.png")]
    pub out: PathBuf,
}

/// `sgm data synth` arguments.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Output folder (must not exist, or be empty).
    #[arg(long)]
    pub out: PathBuf,
    /// Master seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Images per class in train (default: the generator's default).
    #[arg(long)]
    pub train_per_class: Option<usize>,
    /// Images per class in valid.
    #[arg(long)]
    pub valid_per_class: Option<usize>,
    /// Images per class in test.
    #[arg(long)]
    pub test_per_class: Option<usize>,
}

fn parse_size(s: &str) -> Result<[u32; 2], String> {
    let (h, w) = s.split_once(['x', 'X']).ok_or_else(|| format!("size '{s}' is not HxW (e.g. 48x48)"))?;
    let p = |v: &str| v.trim().parse::<u32>().map_err(|_| format!("size '{s}' is not HxW (e.g. 48x48)"));
    Ok([p(h)?, p(w)?])
}

/// Runs an `sgm data` subcommand.
pub fn run(cmd: DataCommand) -> anyhow::Result<()> {
    let registry = Registry::embedded().context("the embedded datasets.toml is invalid")?;
    match cmd {
        DataCommand::List => list(&registry),
        DataCommand::Stats(a) => stats(&registry, &a),
        DataCommand::Verify(a) => verify(&registry, &a),
        DataCommand::Show(a) => show(&registry, &a),
        DataCommand::Synth(a) => synth(&a),
    }
}

fn list(registry: &Registry) -> anyhow::Result<()> {
    say!("{:<10} {:<12} {:>7} {:>9}  {:<7} root", "name", "format", "classes", "images", "found");
    let synth = sgm_data::SynthConfig::default();
    let synth_images = 8 * (synth.train_per_class + synth.valid_per_class + synth.test_per_class);
    say!(
        "{:<10} {:<12} {:>7} {:>9}  {:<7} generated in memory",
        crate::args::SYNTH,
        "built-in",
        8,
        synth_images,
        "yes"
    );
    say!("{:<10} the default of --data for train/embed; `sgm data synth --out DIR` writes it as files", "");
    for d in &registry.datasets {
        let (root, source) = d.resolve_root(None);
        let images: Option<usize> = d.splits.iter().map(|s| s.images.or(s.kept)).sum();
        let images = images.map_or("?".to_string(), |n| n.to_string());
        let found = if root.is_dir() { "yes" } else { "no" };
        say!(
            "{:<10} {:<12} {:>7} {:>9}  {:<7} {} ({})",
            d.name,
            d.format.as_str(),
            d.classes,
            images,
            found,
            root.display(),
            source
        );
        say!("{:<10} get it from: {}", "", d.download.join(" , "));
    }
    say!("\nsgm never redistributes these data sets; obtain each from its official page under its licence.");
    say!("Roots: --root DIR, else ${}/<name>, else the default root.", sgm_data::registry::DATA_DIR_ENV);
    Ok(())
}

impl LoadArgs {
    /// The loader options of these arguments.
    pub fn options(&self) -> LoadOptions {
        let mut o = LoadOptions { size: self.size, ..self.load.options() };
        o.ferplus.label_source = self.label_source;
        o.ferplus.label_mode = self.label_mode;
        o.ferplus.exclude_known_bad = !self.keep_known_bad;
        o
    }

    /// Finds and loads the data set: the registry's entry, or with `--format` any folder of that layout.
    pub fn open(&self, registry: &Registry) -> anyhow::Result<OpenedDataset> {
        let entry = match self.format {
            Some(format) => DatasetEntry::ad_hoc(&self.name, format),
            None => registry.require(&self.name)?.clone(),
        };
        let name = entry.name.clone();
        entry.open(self.root.as_deref(), &self.options()).map_err(|e| crate::args::loading(e, &name))
    }
}

fn group_digits(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn stats(registry: &Registry, a: &StatsArgs) -> anyhow::Result<()> {
    let OpenedDataset { entry, root, root_source: source, data: d } = a.load.open(registry)?;
    let class_names = d.splits.first().map(|s| s.class_names.clone()).unwrap_or_default();
    if a.json {
        let v = serde_json::json!({
            "name": entry.name,
            "format": entry.format,
            "root": root,
            "root_source": source,
            "class_names": class_names,
            "report": d.report,
        });
        say!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    say!("{} ({}) at {} [{source}]", entry.name, entry.format, root.display());
    for n in &d.report.notes {
        say!("  {n}");
    }
    say!();
    say_part!("{:<6}", "split");
    for c in &class_names {
        say_part!(" {:>9}", truncate(c, 9));
    }
    say!(" {:>7} | {:>6} {:>10} {:>8} {:>7} {:>8}", "kept", "found", "unlabelled", "excluded", "skipped", "dup-drop");
    for r in &d.report.splits {
        say_part!("{:<6}", r.split.as_str());
        for n in &r.class_counts {
            say_part!(" {n:>9}");
        }
        say!(
            " {:>7} | {:>6} {:>10} {:>8} {:>7} {:>8}",
            group_digits(r.kept),
            r.found,
            r.unlabelled,
            r.excluded,
            r.skipped,
            r.dropped_duplicates
        );
    }
    say!();
    if d.report.excluded.is_empty() {
        say!("excluded: none");
    }
    for e in &d.report.excluded {
        say!("excluded: {} ({}): {}", e.source.display(), e.split, e.reason);
    }
    let readme_rule =
        a.load.label_source == FerPlusLabelSource::Fer2013New && a.load.label_mode == FerPlusLabelMode::Majority;
    if entry.format == Format::Ferplus && readme_rule && !d.report.excluded.is_empty() {
        say!(
            "  (--keep-known-bad counts them instead, as the data README's FER+ count table does: \
             test 3,153, neutral 1,090)"
        );
    }
    if let Some(s) = &d.report.duplicates {
        say!(
            "duplicates: {} groups of identical pixels hold {} images (of {} indexed); {} groups span splits: \
             train-valid {}, train-test {}, valid-test {}, all three {}",
            group_digits(s.groups),
            group_digits(s.images),
            group_digits(s.indexed),
            s.cross_split_groups,
            s.train_valid,
            s.train_test,
            s.valid_test,
            s.all_three
        );
    }
    if let Some(m) = &d.report.dedup_mode {
        say!("dedup mode: {m}");
    }
    let target = a.load.size.or(entry.image_size).map(|[h, w]| (w, h));
    for n in &d.report.native_sizes {
        let resized = target.is_some_and(|t| t != (n.width, n.height));
        let what = match (resized, n.colour, target) {
            (true, true, Some((w, h))) => format!(", resized to {w}x{h} and converted to gray"),
            (true, false, Some((w, h))) => format!(", resized to {w}x{h}"),
            (false, true, _) => ", converted to gray".to_string(),
            _ => String::new(),
        };
        let example = if n.converted { format!(" (e.g. {})", n.example.display()) } else { String::new() };
        say!(
            "stored as {}x{}{}: {} image{}{example}{what}",
            n.width,
            n.height,
            if n.colour { " colour" } else { " gray" },
            group_digits(n.count),
            if n.count == 1 { "" } else { "s" }
        );
    }
    if d.report.missing_classes.is_empty() {
        say!("missing classes: none");
    } else {
        let names: Vec<&str> = d.report.missing_classes.iter().map(|e| e.name()).collect();
        say!("missing classes: {}", names.join(", "));
    }
    if !d.report.skipped.is_empty() {
        say!("skipped {} bad items (--skip-bad):", d.report.skipped_count());
        for s in &d.report.skipped {
            say!("  {}: {}", s.split, s.reason);
        }
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn verify(registry: &Registry, a: &LoadArgs) -> anyhow::Result<()> {
    let OpenedDataset { entry, root, root_source: source, data: d } = a.open(registry)?;
    say!("verifying {} at {} [{source}]", entry.name, root.display());
    let mut checks = entry.verify_files(&root);
    checks.extend(entry.verify(&d));
    if checks.is_empty() {
        say!("the registry lists no expected counts or checksums for {}", entry.name);
        return Ok(());
    }
    let mut failed = 0;
    for c in &checks {
        let mark = if c.ok { "ok  " } else { "FAIL" };
        if c.ok {
            say!("{mark} {}: {}", c.what, c.found);
        } else {
            failed += 1;
            say!("{mark} {}: expected {}, found {}", c.what, c.expected, c.found);
        }
    }
    if !d.report.skipped.is_empty() {
        say!("note: {} bad items were skipped (--skip-bad)", d.report.skipped_count());
    }
    if failed > 0 {
        bail!(
            "{failed} of {} checks failed for {} (the registry assumes the default options)",
            checks.len(),
            entry.name
        );
    }
    say!("all {} checks passed", checks.len());
    Ok(())
}

/// Distinct colours for class bars (RGB), cycled when a set has more classes.
const PALETTE: [[u8; 3]; 12] = [
    [128, 128, 128],
    [255, 200, 0],
    [0, 200, 255],
    [40, 80, 255],
    [230, 30, 30],
    [40, 170, 40],
    [170, 60, 220],
    [255, 120, 180],
    [140, 90, 40],
    [0, 130, 130],
    [250, 130, 20],
    [255, 255, 255],
];

/// Lays out `indices` of `set` on a grid, each image with a bar in its class colour under it.
fn contact_sheet(set: &ImageSet, indices: &[usize], cols: usize) -> (u32, u32, Vec<u8>) {
    use sgm_plot::sheet::{contact_sheet, SheetCell, SheetLayout};
    let layout =
        SheetLayout { columns: cols, height: set.height, width: set.width, gap: 2, bar: 4, background: [0, 0, 0] };
    let cells: Vec<SheetCell<'_>> = indices
        .iter()
        .map(|&i| SheetCell {
            pixels: set.image(i),
            frame: None,
            bar: Some(PALETTE[set.samples[i].label as usize % PALETTE.len()]),
        })
        .collect();
    contact_sheet(&layout, &cells)
}

fn show(registry: &Registry, a: &ShowArgs) -> anyhow::Result<()> {
    if a.n == 0 {
        bail!("--n must be at least 1");
    }
    let OpenedDataset { entry, data: d, .. } = a.load.open(registry)?;
    let Some(set) = d.split(a.split) else {
        let have: Vec<&str> = d.splits.iter().map(|s| s.split.as_str()).collect();
        bail!("{} has no split '{}' (it has: {})", entry.name, a.split, have.join(", "));
    };
    if set.is_empty() {
        bail!("{} {} holds no image", entry.name, a.split);
    }
    let n = a.n.min(set.len());
    // Evenly spaced through the split, so the sheet covers it from start to end (deterministic).
    let indices: Vec<usize> = (0..n).map(|k| k * set.len() / n).collect();
    let cols = (n as f64).sqrt().ceil() as usize;
    let (w, h, rgb) = contact_sheet(set, &indices, cols);
    write_png_atomic(&a.out, w, h, 3, &rgb).with_context(|| format!("writing {}", a.out.display()))?;
    let legend_path = a.out.with_extension("csv");
    let rows = indices.iter().enumerate().map(|(k, &i)| {
        let m = &set.samples[i];
        let c = PALETTE[m.label as usize % PALETTE.len()];
        let class = set.class_names.get(m.label as usize).map_or("?", |s| s.as_str());
        [
            k.to_string(),
            (k / cols).to_string(),
            (k % cols).to_string(),
            m.label.to_string(),
            class.to_string(),
            format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]),
            m.source.display().to_string(),
        ]
    });
    let header = ["cell", "row", "col", "label", "class", "colour", "source"];
    crate::csv_files::write_csv(&legend_path, &header, rows)?;
    say!(
        "wrote {} ({n} images of {} {}, {cols} per row) and {}",
        a.out.display(),
        entry.name,
        a.split,
        legend_path.display()
    );
    say!("class colours (bar under each image):");
    for (label, name) in set.class_names.iter().enumerate() {
        let c = PALETTE[label % PALETTE.len()];
        say!("  {label} {name:<10} #{:02x}{:02x}{:02x}", c[0], c[1], c[2]);
    }
    Ok(())
}

fn synth(a: &SynthArgs) -> anyhow::Result<()> {
    let mut cfg = sgm_data::SynthConfig { seed: a.seed, ..Default::default() };
    if let Some(n) = a.train_per_class {
        cfg.train_per_class = n;
    }
    if let Some(n) = a.valid_per_class {
        cfg.valid_per_class = n;
    }
    if let Some(n) = a.test_per_class {
        cfg.test_per_class = n;
    }
    let summary =
        sgm_data::write_synth_image_folder(&cfg, &a.out).with_context(|| format!("writing {}", a.out.display()))?;
    for (split, n) in &summary.counts {
        say!("{split}: {n} images");
    }
    say!("wrote {} (index: {})", summary.root.display(), summary.labels_csv.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("48x64"), Ok([48, 64]));
        assert!(parse_size("48").is_err());
        assert!(parse_size("ax4").is_err());
    }

    #[test]
    fn digits_group() {
        assert_eq!(group_digits(25057), "25,057");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1234567), "1,234,567");
    }

    #[test]
    fn contact_sheet_places_images_and_bars() {
        let set = ImageSet {
            name: "t".into(),
            split: Split::Test,
            height: 2,
            width: 3,
            pixels: vec![10; 6].into_iter().chain(vec![200; 6]).collect(),
            samples: vec![sgm_data::SampleMeta::new("a", 0), sgm_data::SampleMeta::new("b", 4)],
            class_names: sgm_data::Expression::class_names(),
        };
        let (w, h, rgb) = contact_sheet(&set, &[0, 1], 2);
        assert_eq!((w, h), (2 + 2 * 5, 2 + 9));
        let px = |x: usize, y: usize| &rgb[(y * w as usize + x) * 3..(y * w as usize + x) * 3 + 3];
        assert_eq!(px(2, 2), &[10, 10, 10]);
        assert_eq!(px(7, 2), &[200, 200, 200]);
        assert_eq!(px(7, 5), &PALETTE[4]);
        assert_eq!(px(0, 0), &[0, 0, 0]);
    }
}
