//! The augmentation chain and the batch builder: shapes, ranges, determinism, channel layout, probabilities.

use candle_core::{DType, Device};
use image::{GrayImage, Luma};
use proptest::prelude::*;
use sgm_data::augment::geometric::mirror;
use sgm_data::augment::{augment, AugmentConfig, BatchBuilder, BatchConfig, Normalization};
use sgm_data::sampler::seeded_rng;
use sgm_data::synth::{generate, SynthConfig};
use sgm_data::{DataError, ImageSet, Split};

fn set() -> ImageSet {
    generate(&SynthConfig::small(3, 1), Split::Test).unwrap()
}

fn builder(size: usize, channels: usize, norm: Normalization, aug: AugmentConfig, seed: u64) -> BatchBuilder {
    BatchBuilder::new(BatchConfig { size, channels, normalization: norm }, aug, seed, Device::Cpu).unwrap()
}

#[test]
fn batch_shapes_dtypes_and_labels() {
    let s = set();
    let idx = [0, 5, 23, 7];
    for (size, ch) in [(48, 3), (64, 1), (32, 3)] {
        let b = builder(size, ch, Normalization::default(), AugmentConfig::default(), 1).build(&s, &idx, 0, 0).unwrap();
        assert_eq!(b.images.dims(), &[4, ch, size, size]);
        assert_eq!(b.images.dtype(), DType::F32);
        assert_eq!(b.labels.dims(), &[4]);
        assert_eq!(b.labels.dtype(), DType::U32);
        let labels: Vec<u32> = b.labels.to_vec1().unwrap();
        assert_eq!(labels, idx.iter().map(|&i| s.samples[i].label).collect::<Vec<_>>());
        assert_eq!(b.indices, idx);
    }
    // Relabelled batches (sub-class labels).
    let sub: Vec<u32> = s.samples.iter().map(|m| m.label * 3 + m.subclass.unwrap()).collect();
    let b = builder(48, 1, Normalization::default(), AugmentConfig::none(), 0)
        .build_with_labels(&s, &sub, &idx, 0, 0)
        .unwrap();
    assert_eq!(b.labels.to_vec1::<u32>().unwrap(), idx.iter().map(|&i| sub[i]).collect::<Vec<_>>());
}

#[test]
fn augmented_values_stay_in_range_with_unit_normalisation() {
    let s = set();
    let idx: Vec<usize> = (0..s.len()).collect();
    let b = builder(48, 1, Normalization::unit(), AugmentConfig::default(), 3).build(&s, &idx, 2, 1).unwrap();
    let v: Vec<f32> = b.images.flatten_all().unwrap().to_vec1().unwrap();
    assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
    assert!(v.iter().any(|&x| x > 0.5) && v.iter().any(|&x| x < 0.5));
}

#[test]
fn one_and_three_channels_carry_the_same_grey_plane() {
    let s = set();
    let idx = [1, 2];
    let one = builder(40, 1, Normalization::unit(), AugmentConfig::default(), 9).images(&s, &idx, 1, 4).unwrap();
    let three = builder(40, 3, Normalization::unit(), AugmentConfig::default(), 9).images(&s, &idx, 1, 4).unwrap();
    for c in 0..3 {
        let plane = three.narrow(1, c, 1).unwrap();
        let diff = (plane - &one).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert_eq!(diff, 0.0, "channel {c}");
    }
    // With CIFAR statistics the three planes differ (per-channel mean/std) but are affine images of each other.
    let cifar = builder(40, 3, Normalization::cifar10(), AugmentConfig::none(), 0).images(&s, &idx, 0, 0).unwrap();
    let r: Vec<f32> = cifar.narrow(1, 0, 1).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let b: Vec<f32> = cifar.narrow(1, 2, 1).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    for (x, y) in r.iter().zip(&b) {
        let grey = x * 0.2023 + 0.4914;
        assert!((y - (grey - 0.4465) / 0.2010).abs() < 1e-4);
    }
}

#[test]
fn batches_are_reproducible_per_seed_epoch_and_batch() {
    let s = set();
    let idx = [3, 3, 4, 10];
    let b = builder(48, 1, Normalization::default(), AugmentConfig::default(), 5);
    let flat = |t: candle_core::Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let a = flat(b.images(&s, &idx, 2, 7).unwrap());
    assert_eq!(a, flat(b.images(&s, &idx, 2, 7).unwrap()));
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    assert_eq!(a, one_thread.install(|| flat(b.images(&s, &idx, 2, 7).unwrap())));
    assert_ne!(a, flat(b.images(&s, &idx, 3, 7).unwrap()), "another epoch");
    assert_ne!(a, flat(b.images(&s, &idx, 2, 8).unwrap()), "another batch");
    let other = builder(48, 1, Normalization::default(), AugmentConfig::default(), 6);
    assert_ne!(a, flat(other.images(&s, &idx, 2, 7).unwrap()), "another seed");
    // The same image twice in one batch is augmented independently.
    let n = 48 * 48;
    assert_ne!(a[..n], a[n..2 * n]);
}

#[test]
fn eval_batches_are_the_normalised_images() {
    let s = set();
    let b =
        BatchBuilder::eval(BatchConfig { size: 48, channels: 1, normalization: Normalization::unit() }, Device::Cpu)
            .unwrap();
    let v: Vec<f32> = b.images(&s, &[6], 0, 0).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let expected: Vec<f32> = s.image(6).iter().map(|&p| p as f32 / 255.0).collect();
    assert_eq!(v, expected);
    let again: Vec<f32> = b.images(&s, &[6], 9, 9).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(v, again, "evaluation ignores epoch and batch");
}

#[test]
fn bad_requests_are_errors() {
    let s = set();
    let b = builder(48, 3, Normalization::default(), AugmentConfig::none(), 0);
    assert!(matches!(b.build(&s, &[s.len()], 0, 0), Err(DataError::Config(_))));
    assert!(matches!(b.build_with_labels(&s, &[0, 1], &[0], 0, 0), Err(DataError::Config(_))));
    let mut broken = s.clone();
    broken.pixels.pop();
    assert!(matches!(b.build(&broken, &[0], 0, 0), Err(DataError::Config(_))));
    let bad = BatchConfig { channels: 2, ..BatchConfig::default() };
    assert!(BatchBuilder::new(bad, AugmentConfig::none(), 0, Device::Cpu).is_err());
    let bad_aug = AugmentConfig { rotate_p: 2.0, ..AugmentConfig::default() };
    assert!(BatchBuilder::new(BatchConfig::default(), bad_aug, 0, Device::Cpu).is_err());
}

#[test]
fn mirror_probability_is_respected() {
    // An asymmetric image; with only mirroring enabled at p = 0.5, about half the outputs are mirrored.
    let img = GrayImage::from_fn(16, 16, |x, y| Luma([(x * 15 + y) as u8]));
    let cfg = AugmentConfig { mirror_p: 0.5, ..AugmentConfig::none() };
    let flipped = mirror(&img);
    let mut n = 0;
    for i in 0..2000 {
        let out = augment(&img, &cfg, 16, &mut seeded_rng(&[i]));
        if out == flipped {
            n += 1;
        } else {
            assert_eq!(out, img);
        }
    }
    assert!((900..1100).contains(&n), "{n} of 2000 mirrored");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Any valid configuration, input size and output size gives an image of the output size.
    #[test]
    fn augment_output_has_the_requested_size(
        w in 8u32..80, h in 8u32..80, size in 8u32..72, seed in any::<u64>(),
        scale in 0.0f32..0.5, crop in 0.0f32..0.5, tiles in 1u32..9,
    ) {
        let img = GrayImage::from_fn(w, h, |x, y| Luma([((x * 31 + y * 17) % 256) as u8]));
        let cfg = AugmentConfig {
            scale, crop, clahe_tiles: tiles, rotate_p: 1.0, clahe_p: 0.5, blur_p: 0.5, ..AugmentConfig::default()
        };
        cfg.validate().unwrap();
        let out = augment(&img, &cfg, size, &mut seeded_rng(&[seed]));
        prop_assert_eq!(out.dimensions(), (size, size));
    }
}
