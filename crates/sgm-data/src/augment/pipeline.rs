//! The paper's augmentation chain applied to one image, in the paper's order: scale, rotation + translation,
//! mirror, brightness / contrast / gamma, CLAHE, blur, random crop.

use super::clahe::clahe;
use super::config::AugmentConfig;
use super::geometric::{crop, mirror, resize_square, scale_rotate_translate};
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
    let out = resize_square(&out, big);
    if big == size {
        return out;
    }
    let (x, y) = (rng.random_range(0..=big - size), rng.random_range(0..=big - size));
    crop(&out, x, y, size)
}

#[cfg(test)]
mod tests {
    use super::*;
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
