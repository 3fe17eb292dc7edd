//! The paper's augmentation chain applied to one image, in the paper's order: scale, rotation + translation,
//! mirror, brightness / contrast / gamma, CLAHE, blur, random crop; then the reflect-padded shift and random
//! erasing when they are on.

use super::clahe::clahe;
use super::config::AugmentConfig;
use super::erase::random_erase;
use super::geometric::{crop, mirror, reflect_pad_crop, resize_square, scale_rotate_translate};
use super::photometric::{blur, brightness, contrast, gamma};
use image::GrayImage;
use rand::Rng;

/// Uniform in `[1 − s, 1 + s]`.
fn around_one<R: Rng>(rng: &mut R, s: f32) -> f32 {
    if s > 0.0 {
        rng.random_range(1.0 - s..=1.0 + s)
    } else {
        1.0
    }
}

fn symmetric<R: Rng>(rng: &mut R, m: f32) -> f32 {
    if m > 0.0 {
        rng.random_range(-m..=m)
    } else {
        0.0
    }
}

/// Augments `img` with `cfg` using `rng` and returns a `size × size` image. With [`AugmentConfig::none`] this is
/// a plain resize and `rng` is not used. The caller validates `cfg`.
pub fn augment<R: Rng>(img: &GrayImage, cfg: &AugmentConfig, size: u32, rng: &mut R) -> GrayImage {
    let side = img.width().min(img.height()) as f32;
    let s = around_one(rng, cfg.scale);
    let (mut deg, mut tx, mut ty) = (0.0, 0.0, 0.0);
    if rng.random_bool(cfg.rotate_p as f64) {
        deg = symmetric(rng, cfg.max_rotation_deg);
        tx = symmetric(rng, cfg.max_translation) * side;
        ty = symmetric(rng, cfg.max_translation) * side;
    }
    let mut out = scale_rotate_translate(img, s, deg, tx, ty);
    if rng.random_bool(cfg.mirror_p as f64) {
        out = mirror(&out);
    }
    if rng.random_bool(cfg.brightness_p as f64) {
        out = brightness(&out, around_one(rng, cfg.brightness));
    }
    if rng.random_bool(cfg.contrast_p as f64) {
        out = contrast(&out, around_one(rng, cfg.contrast));
    }
    if rng.random_bool(cfg.gamma_p as f64) {
        out = gamma(&out, around_one(rng, cfg.gamma));
    }
    if rng.random_bool(cfg.clahe_p as f64) {
        out = clahe(&out, cfg.clahe_tiles, cfg.clahe_clip);
    }
    if rng.random_bool(cfg.blur_p as f64) {
        out = blur(&out, rng.random_range(0.3..=cfg.blur_sigma.max(0.3)));
    }
    let big = ((size as f32) * (1.0 + cfg.crop)).round().max(size as f32) as u32;
    let mut out = resize_square(&out, big);
    if big != size {
        let (x, y) = (rng.random_range(0..=big - size), rng.random_range(0..=big - size));
        out = crop(&out, x, y, size);
    }
    let pad = cfg.pad_crop.min(size.saturating_sub(1));
    if pad > 0 {
        let (x, y) = (rng.random_range(0..=2 * pad), rng.random_range(0..=2 * pad));
        out = reflect_pad_crop(&out, pad, x, y, size);
    }
    // Guarded, so that configurations without erasing draw the same random stream as before it existed.
    if cfg.erase_p > 0.0 && rng.random_bool(cfg.erase_p as f64) {
        random_erase(&mut out, rng);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::erase::ERASE_FILL;
    use crate::sampler::seeded_rng;
    use image::Luma;

    fn face_like() -> GrayImage {
        GrayImage::from_fn(48, 48, |x, y| Luma([((x * 5 + y * 3) % 256) as u8]))
    }

    #[test]
    fn none_is_a_plain_resize() {
        let img = face_like();
        let mut rng = seeded_rng(&[1]);
        assert_eq!(augment(&img, &AugmentConfig::none(), 48, &mut rng), img);
        assert_eq!(augment(&img, &AugmentConfig::none(), 32, &mut rng), resize_square(&img, 32));
    }

    #[test]
    fn pad_crop_shifts_by_at_most_the_padding() {
        let img = face_like();
        let cfg = AugmentConfig { pad_crop: 4, ..AugmentConfig::none() };
        let mut shifted = 0;
        for i in 0..20 {
            let out = augment(&img, &cfg, 48, &mut seeded_rng(&[i]));
            assert_eq!(out.dimensions(), (48, 48));
            // Some shift (dx, dy) in -4..=4 maps the output's interior onto the input.
            let found = (-4i32..=4).flat_map(|dx| (-4i32..=4).map(move |dy| (dx, dy))).find(|&(dx, dy)| {
                (8..40).all(|y| {
                    (8..40)
                        .all(|x| out.get_pixel(x, y) == img.get_pixel((x as i32 + dx) as u32, (y as i32 + dy) as u32))
                })
            });
            let (dx, dy) = found.expect("the output is the input shifted by at most 4 pixels");
            shifted += usize::from((dx, dy) != (0, 0));
        }
        assert!(shifted >= 15, "only {shifted} of 20 draws moved the image");
    }

    #[test]
    fn erasing_is_the_last_step_and_off_by_default() {
        let img = face_like();
        let cfg = AugmentConfig { erase_p: 1.0, ..AugmentConfig::none() };
        let out = augment(&img, &cfg, 48, &mut seeded_rng(&[5]));
        let grey = out.pixels().filter(|p| p[0] == ERASE_FILL).count();
        let was = img.pixels().filter(|p| p[0] == ERASE_FILL).count();
        assert!(grey >= was + 40, "{grey} grey pixels against {was}: a rectangle of at least 2% of 48 x 48");
        let changed = out.pixels().zip(img.pixels()).filter(|(a, b)| a != b).count();
        assert!(changed > 0 && changed <= (0.37 * 48.0 * 48.0) as usize, "{changed} pixels changed");
        // Off (p = 0) draws nothing, so runs without erasing replay the stream they had before it existed; any
        // p > 0 draws the coin (here it falls on "keep", so the images agree but the streams part).
        let fc = AugmentConfig::flip_crop();
        let mut a = seeded_rng(&[9]);
        let mut b = seeded_rng(&[9]);
        let rare = AugmentConfig { erase_p: 1e-9, ..fc.clone() };
        assert_eq!(augment(&img, &fc, 48, &mut a), augment(&img, &rare, 48, &mut b));
        assert_ne!(a.random::<u64>(), b.random::<u64>());
    }

    #[test]
    fn always_applied_transforms_change_the_image() {
        let img = face_like();
        let cfg = AugmentConfig { mirror_p: 1.0, ..AugmentConfig::none() };
        assert_eq!(augment(&img, &cfg, 48, &mut seeded_rng(&[1])), mirror(&img));
        let all = AugmentConfig {
            rotate_p: 1.0,
            brightness_p: 1.0,
            contrast_p: 1.0,
            gamma_p: 1.0,
            clahe_p: 1.0,
            blur_p: 1.0,
            ..AugmentConfig::default()
        };
        for i in 0..5 {
            let out = augment(&img, &all, 40, &mut seeded_rng(&[i]));
            assert_eq!(out.dimensions(), (40, 40));
            assert_ne!(out, resize_square(&img, 40));
        }
    }
}
