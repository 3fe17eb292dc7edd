//! Writes a contact sheet of augmented training inputs, to check the augmentation by eye: each row is one
//! synthetic test image, first as is, then in eight augmented draws (epochs 0–7) with the paper's settings.
//!
//! `cargo run -p sgm-data --example augment_preview -- [OUT.png] [SIZE]`

use candle_core::Device;
use sgm_data::augment::{AugmentConfig, BatchBuilder, BatchConfig, Normalization};
use sgm_data::synth::{generate, SynthConfig};
use sgm_data::Split;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args.next().unwrap_or_else(|| "augment-preview.png".into());
    let size: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(48);
    let set = generate(&SynthConfig::small(1, 1), Split::Test)?;
    let cfg = BatchConfig { size, channels: 1, normalization: Normalization::unit() };
    let eval = BatchBuilder::eval(cfg.clone(), Device::Cpu)?;
    let train = BatchBuilder::new(cfg, AugmentConfig::default(), 1, Device::Cpu)?;
    let rows = set.len();
    let cols = 9;
    let mut sheet = image::GrayImage::new((cols * size) as u32, (rows * size) as u32);
    for r in 0..rows {
        for c in 0..cols {
            let t = if c == 0 { eval.images(&set, &[r], 0, 0)? } else { train.images(&set, &[r], c as u64 - 1, 0)? };
            let v: Vec<f32> = t.flatten_all()?.to_vec1()?;
            let px: Vec<u8> = v.iter().map(|x| (x * 255.0).round().clamp(0.0, 255.0) as u8).collect();
            let img = image::GrayImage::from_raw(size as u32, size as u32, px).ok_or("size")?;
            image::imageops::replace(&mut sheet, &img, (c * size) as i64, (r * size) as i64);
        }
    }
    sheet.save(&out)?;
    println!("wrote {out}: {rows} images × (original + 8 augmented draws)");
    Ok(())
}
