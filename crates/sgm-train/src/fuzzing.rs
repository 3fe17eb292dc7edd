//! The fuzz targets: sgm's readers of untrusted input, called as sgm calls them, and the seed corpus they start
//! from, built by code from the real formats.
//!
//! The cargo-fuzz crate in `fuzz/` (outside the workspace; run by `cargo xtask fuzz --seconds N`) has one target per
//! entry of [`TARGETS`], each a call of [`run`]. A reader may refuse its input with an error; it must never panic,
//! abort, or allocate what the input merely claims. The unit test below replays the seeds and every input in
//! `tests/fixtures/fuzz-regressions/` on stable Rust, in CI.

use crate::train::TrainConfig;
use sgm_core::embedding_files::{read_embeddings, read_labels};
use sgm_data::loaders::ferplus::read_votes;
use sgm_data::loaders::FerPlusLabelSource;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Errors of the seed builders (any reader error, or I/O of the scratch folder).
type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Where the repository keeps the kept crash inputs, relative to its root.
pub const REGRESSIONS_DIR: &str = "tests/fixtures/fuzz-regressions";

/// The fuzz targets, by name.
pub const TARGETS: [&str; 7] =
    ["ferplus_label_csv", "fer2013new_csv", "image", "npy", "safetensors", "checkpoint", "config_toml"];

/// Feeds `data` to the reader `target` names; errors are expected and ignored, a panic is a finding. Unknown
/// targets are a programming error of the caller and panic.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "ferplus_label_csv" => ferplus(data, FerPlusLabelSource::LabelCsv),
        "fer2013new_csv" => ferplus(data, FerPlusLabelSource::Fer2013New),
        "image" => image(data),
        "npy" => array_file(data, "fuzz.npy"),
        "safetensors" => array_file(data, "fuzz.safetensors"),
        "checkpoint" => checkpoint(data),
        "config_toml" => config_toml(data),
        other => panic!("unknown fuzz target '{other}' (known: {})", TARGETS.join(", ")),
    }
}

/// A scratch folder of this process with an empty FER+ layout (the three split folders, empty label files).
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sgm-fuzz-{}", std::process::id()));
        for split in ["FER2013Train", "FER2013Valid", "FER2013Test"] {
            let d = dir.join("data").join(split);
            std::fs::create_dir_all(&d).expect("the scratch folder can be made");
            std::fs::write(d.join("label.csv"), b"").expect("the scratch folder can be written");
        }
        dir
    })
}

fn ferplus(data: &[u8], source: FerPlusLabelSource) {
    let root = scratch();
    let file = match source {
        FerPlusLabelSource::LabelCsv => root.join("data/FER2013Train/label.csv"),
        _ => root.join("fer2013new.csv"),
    };
    std::fs::write(&file, data).expect("the scratch file can be written");
    let _ = read_votes(root, source);
    if source == FerPlusLabelSource::LabelCsv {
        std::fs::write(&file, b"").expect("the scratch file can be written");
    }
}

fn image(data: &[u8]) {
    // As the loaders: decode to luma (with the colour flag), then resize to the data set's 48×48.
    if let Ok((img, _)) = sgm_data::image_io::decode_luma_bytes_colour(data, Path::new("fuzz.png")) {
        let _ = sgm_data::image_io::resize(&img, 48, 48, sgm_data::image_io::ResizeFilter::Triangle);
    }
}

fn array_file(data: &[u8], name: &str) {
    let path = scratch().join(name);
    std::fs::write(&path, data).expect("the scratch file can be written");
    let _ = read_embeddings(&path);
    let _ = read_labels(&path, "labels");
}

fn checkpoint(data: &[u8]) {
    // As `sgm embed` before it builds the model: verify, load, and read the recorded training configuration.
    let path = Path::new("fuzz.safetensors");
    if let Ok(ck) = crate::checkpoint::load_bytes(data, path, &candle_core::Device::Cpu) {
        if let Ok(cfg) = serde_json::from_value::<TrainConfig>(ck.meta["train"].clone()) {
            let _ = cfg.validate();
        }
    }
}

fn config_toml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cfg) = TrainConfig::from_toml_str(text, Path::new("fuzz.toml")) {
            let _ = cfg.validate();
        }
    }
}

/// The seed inputs of every target, `(target, file name, bytes)`, built from the real formats by code.
pub fn seeds() -> Result<Vec<(&'static str, String, Vec<u8>)>> {
    let mut out: Vec<(&'static str, String, Vec<u8>)> = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| out.push((target, name.to_string(), bytes));

    // FER+ label files: rows as FER+ writes them, a non-face row, a malformed row.
    add(
        "ferplus_label_csv",
        "rows.csv",
        b"fer0000000.png,\"(0, 0, 48, 48)\",4,0,0,1,3,2,0,0,0,0\n\
          fer0000001.png,\"(0, 0, 48, 48)\",6,0,1,1,0,0,0,0,2,0\n\
          fer0000002.png,\"(0, 0, 48, 48)\",0,10,0,0,0,0,0,0,0,0\n"
            .to_vec(),
    );
    add("ferplus_label_csv", "bad-box.csv", b"fer0000003.png,\"(0, 0, 48)\",1,2,3,4,0,0,0,0,0,0\n".to_vec());
    let header = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n";
    add(
        "fer2013new_csv",
        "rows.csv",
        format!(
            "{header}Training,fer0000000.png,4,0,0,1,3,2,0,0,0,0\nTraining,,0,0,0,0,0,0,0,0,0,10\n\
             PublicTest,fer0028638.png,0,10,0,0,0,0,0,0,0,0\nPrivateTest,fer0032220.png,2,0,0,8,0,0,0,0,0,0\n"
        )
        .into_bytes(),
    );
    add(
        "fer2013new_csv",
        "repeat.csv",
        format!("{header}Training,a.png,5,5,0,0,0,0,0,0,0,0\nTraining,a.png,0,0,0,0,0,0,0,0,0,10\n").into_bytes(),
    );

    // Images: a synthetic face in every codec sgm reads, a colour one, another size.
    let face = sgm_data::generate_synth(&sgm_data::SynthConfig::small(1, 1), sgm_data::Split::Test)?;
    let gray = image::GrayImage::from_raw(face.width as u32, face.height as u32, face.image(0).to_vec())
        .ok_or_else(|| "the synthetic face has the wrong size".to_string())?;
    for (name, format) in [
        ("face.png", image::ImageFormat::Png),
        ("face.jpg", image::ImageFormat::Jpeg),
        ("face.bmp", image::ImageFormat::Bmp),
        ("face.tiff", image::ImageFormat::Tiff),
    ] {
        let mut bytes = Vec::new();
        gray.write_to(&mut std::io::Cursor::new(&mut bytes), format)?;
        add("image", name, bytes);
    }
    let rgb = image::DynamicImage::ImageLuma8(gray.clone()).into_rgb8();
    let mut bytes = Vec::new();
    rgb.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)?;
    add("image", "face-rgb.png", bytes);
    let big = image::imageops::resize(&gray, 64, 64, image::imageops::FilterType::Triangle);
    let mut bytes = Vec::new();
    big.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)?;
    add("image", "face-64.png", bytes);

    // Embeddings and labels as `sgm embed` writes them, and .npy variants sgm reads.
    let dir = tempfile_dir()?;
    let (rows, dim) = (6usize, 4usize);
    let x: Vec<f32> = (0..rows * dim).map(|i| (i as f32 * 0.37).sin()).collect();
    let labels: Vec<u32> = (0..rows as u32).map(|i| i % 3).collect();
    let st = dir.join("emb.safetensors");
    sgm_core::embedding_files::write_embeddings(&st, &x, rows, dim, &labels, Some(&[0, 1, 2, 3, 4, 4]))?;
    add("safetensors", "emb.safetensors", std::fs::read(&st)?);
    let npy = dir.join("emb.npy");
    sgm_core::embedding_files::write_embeddings(&npy, &x, rows, dim, &labels, None)?;
    add("npy", "emb.npy", std::fs::read(&npy)?);
    add("npy", "emb.labels.npy", std::fs::read(dir.join("emb.labels.npy"))?);
    let mut f64_fortran = Vec::new();
    {
        use npyz::WriterBuilder;
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .order(npyz::Order::Fortran)
            .shape(&[3, 2])
            .writer(&mut f64_fortran)
            .begin_nd()?;
        w.extend([0.5f64, -1.0, 2.0, 0.25, 3.0, 1.5])?;
        w.finish()?;
    }
    add("npy", "fortran-f64.npy", f64_fortran);

    // A checkpoint as `sgm train` writes it: small tensors, the metadata of a real run.
    let ck = dir.join("ck.safetensors");
    let dev = candle_core::Device::Cpu;
    let tensors = vec![
        ("embedding.weight".to_string(), candle_core::Tensor::arange(0f32, 8.0, &dev)?.reshape((2, 4))?),
        ("bn.running_mean".to_string(), candle_core::Tensor::new(&[0.5f32, -0.25], &dev)?),
    ];
    let cfg = TrainConfig::default();
    let meta = serde_json::json!({"model": cfg.model, "train": cfg, "run": {"epoch": 1, "class_names": ["neutral", "happiness"]}});
    crate::checkpoint::save(&ck, &tensors, &meta)?;
    add("checkpoint", "ck.safetensors", std::fs::read(&ck)?);
    let _ = std::fs::remove_dir_all(&dir);

    // Training configurations: the whole default, and a partial one as a user writes it.
    add("config_toml", "default.toml", cfg.to_toml()?.into_bytes());
    add(
        "config_toml",
        "partial.toml",
        b"loss = \"triplet\"\nepochs = 5\n[model]\nbackbone = \"fmpnet\"\ninput_size = 32\nembedding_dim = 16\n"
            .to_vec(),
    );
    Ok(out)
}

/// A fresh folder for writing the seeds through sgm's own writers (one per call: tests build seeds in parallel).
fn tempfile_dir() -> Result<PathBuf> {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("sgm-fuzz-seeds-{}-{call}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The inputs kept in `DIR/<target>/` (inputs that once crashed a reader, kept after the fix; the repository keeps
/// them in [`REGRESSIONS_DIR`]).
pub fn regressions(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for target in TARGETS {
        let dir = dir.join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry?.path();
            if path.is_file() {
                out.push((target.to_string(), path));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_and_every_kept_crash_input_replays_without_a_panic() {
        let seeds = seeds().unwrap();
        for target in TARGETS {
            assert!(seeds.iter().any(|(t, _, _)| *t == target), "no seed for {target}");
        }
        for (target, _, bytes) in &seeds {
            run(target, bytes);
            // Truncations and a flipped byte of each seed, as a first mutation.
            for cut in [0, 1, bytes.len() / 2, bytes.len().saturating_sub(1)] {
                run(target, &bytes[..cut]);
            }
            let mut flipped = bytes.clone();
            if let Some(b) = flipped.get_mut(bytes.len() / 3) {
                *b ^= 0xff;
            }
            run(target, &flipped);
        }
        let kept = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(REGRESSIONS_DIR);
        assert!(kept.is_dir(), "{} is missing", kept.display());
        for (target, path) in regressions(&kept).unwrap() {
            run(&target, &std::fs::read(&path).unwrap());
        }
    }

    #[test]
    fn the_seeds_are_read_as_valid_input() {
        // A seed that its reader refuses would only test the error paths.
        let seeds = seeds().unwrap();
        let ck = seeds.iter().find(|(t, _, _)| *t == "checkpoint").unwrap();
        crate::checkpoint::load_bytes(&ck.2, Path::new("ck"), &candle_core::Device::Cpu).unwrap();
        let cfg = seeds.iter().find(|(t, n, _)| *t == "config_toml" && n == "partial.toml").unwrap();
        TrainConfig::from_toml_str(std::str::from_utf8(&cfg.2).unwrap(), Path::new("p")).unwrap().validate().unwrap();
        let face = seeds.iter().find(|(t, n, _)| *t == "image" && n == "face-rgb.png").unwrap();
        let (_, colour) = sgm_data::image_io::decode_luma_bytes_colour(&face.2, Path::new("f")).unwrap();
        assert!(colour);
    }
}
