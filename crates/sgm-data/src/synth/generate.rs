//! [`generate`]: renders a whole split of the synthetic set into an in-memory [`ImageSet`], in parallel.

use super::config::SynthConfig;
use super::expression::EXPRESSION_NAMES;
use super::face::FaceParams;
use super::render::render;
use crate::error::{DataError, Result};
use crate::image_set::{ImageSet, SampleMeta, Split};
use crate::sampler::seed::seeded_rng;
use rand::Rng;
use rayon::prelude::*;

/// Name of the synthetic data set, as it appears in [`ImageSet::name`].
pub const SYNTH_NAME: &str = "synth";

/// Stream id of each split in the per-image seed `(seed, split id, index)`.
fn split_id(split: Split) -> Result<u64> {
    match split {
        Split::Train => Ok(0),
        Split::Valid => Ok(1),
        Split::Test => Ok(2),
        Split::All => Err(DataError::Config("synth: split 'all' has no stream of its own".into())),
    }
}

/// The id of image `index` of `split` (also its file stem in [`write_image_folder`](super::write_image_folder)).
pub fn image_id(split: Split, index: usize) -> String {
    format!("{split}_{index:05}")
}

/// Renders one split of the synthetic set described by `cfg`. Images are ordered by class, then sub-class (see
/// [`SynthConfig::subclass_weights`]); image `i` of a split is drawn from its own stream seeded by
/// `(cfg.seed, split, i)`, so the result depends neither on the number of rayon threads nor on the other splits'
/// sizes. [`Split::All`] is train, valid and test concatenated (each image keeps its split's id).
///
/// Every [`SampleMeta`] has `label` (FER+ order), `subclass` (0..[`SUBCLASSES_PER_CLASS`](super::SUBCLASSES_PER_CLASS))
/// and `source` = `<split>/<class>/<id>.png`, the path that [`write_image_folder`](super::write_image_folder)
/// uses. Nothing touches the disk.
pub fn generate(cfg: &SynthConfig, split: Split) -> Result<ImageSet> {
    cfg.validate()?;
    if split == Split::All {
        let mut all = generate(cfg, Split::Train)?;
        for s in [Split::Valid, Split::Test] {
            let part = generate(cfg, s)?;
            all.pixels.extend_from_slice(&part.pixels);
            all.samples.extend(part.samples);
        }
        all.split = Split::All;
        return Ok(all);
    }
    let sid = split_id(split)?;
    let per_class = cfg.per_class(split);
    let total = per_class * EXPRESSION_NAMES.len();
    let side = cfg.size * cfg.size;
    let mut pixels: Vec<u8> = Vec::new();
    crate::memory::reserve(&mut pixels, total.saturating_mul(side), || {
        format!("the synthetic {split} split ({per_class} images per class × 8 classes at {0}×{0})", cfg.size)
    })?;
    pixels.resize(total * side, 0);
    let samples: Vec<SampleMeta> = pixels
        .par_chunks_mut(side)
        .enumerate()
        .map(|(i, out)| {
            let label = (i / per_class) as u32;
            let subclass = cfg.subclass_of(i % per_class, per_class);
            let mut rng = seeded_rng(&[cfg.seed, sid, i as u64]);
            let params = FaceParams::sample(&mut rng, label, subclass, cfg.nuisance)?;
            let img = render(&params, cfg.size, cfg.noise_std, rng.random());
            out.copy_from_slice(img.as_raw());
            let source = format!("{split}/{}/{}.png", EXPRESSION_NAMES[label as usize], image_id(split, i));
            let mut meta = SampleMeta::new(source, label);
            meta.subclass = Some(subclass);
            Ok(meta)
        })
        .collect::<Result<_>>()?;
    Ok(ImageSet {
        name: SYNTH_NAME.to_string(),
        split,
        height: cfg.size,
        width: cfg.size,
        pixels,
        samples,
        class_names: EXPRESSION_NAMES.iter().map(|s| s.to_string()).collect(),
    })
}
