//! Photometric transforms on grey images: brightness, contrast and gamma jitter (as 256-entry lookup tables) and
//! a slight Gaussian blur.

use image::GrayImage;

fn apply_lut(img: &GrayImage, lut: impl Fn(f32) -> f32) -> GrayImage {
    let table: Vec<u8> = (0..256).map(|v| lut(v as f32).round().clamp(0.0, 255.0) as u8).collect();
    let mut out = img.clone();
    for p in out.iter_mut() {
        *p = table[*p as usize];
    }
    out
}

/// Multiplies every grey level by `factor` (1 = identity), saturating at 0 and 255.
pub fn brightness(img: &GrayImage, factor: f32) -> GrayImage {
    apply_lut(img, |v| v * factor)
}

/// Scales the distance of every grey level from the image mean by `factor` (1 = identity).
pub fn contrast(img: &GrayImage, factor: f32) -> GrayImage {
    let n = img.as_raw().len().max(1) as f32;
    let mean = img.as_raw().iter().map(|&v| v as f32).sum::<f32>() / n;
    apply_lut(img, |v| mean + (v - mean) * factor)
}

/// Gamma curve `255 · (v / 255)^exponent` (1 = identity; below 1 brightens, above 1 darkens).
pub fn gamma(img: &GrayImage, exponent: f32) -> GrayImage {
    apply_lut(img, |v| 255.0 * (v / 255.0).powf(exponent))
}

/// Gaussian blur of standard deviation `sigma` pixels (imageproc); `sigma <= 0` returns a copy.
pub fn blur(img: &GrayImage, sigma: f32) -> GrayImage {
    if sigma <= 0.0 {
        return img.clone();
    }
    imageproc::filter::gaussian_blur_f32(img, sigma)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    fn ramp() -> GrayImage {
        GrayImage::from_fn(16, 16, |x, y| Luma([(x * 16 + y) as u8]))
    }

    fn std(img: &GrayImage) -> f32 {
        let v: Vec<f32> = img.as_raw().iter().map(|&p| p as f32).collect();
        let m = v.iter().sum::<f32>() / v.len() as f32;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f32>() / v.len() as f32).sqrt()
    }

    #[test]
    fn zero_strength_jitter_is_identity() {
        let img = ramp();
        assert_eq!(brightness(&img, 1.0), img);
        assert_eq!(contrast(&img, 1.0), img);
        assert_eq!(gamma(&img, 1.0), img);
        assert_eq!(blur(&img, 0.0), img);
    }

    #[test]
    fn jitters_move_the_image_the_right_way() {
        let img = ramp();
        let mean = |i: &GrayImage| i.as_raw().iter().map(|&v| v as f32).sum::<f32>() / 256.0;
        assert!(mean(&brightness(&img, 1.25)) > mean(&img));
        assert!(mean(&brightness(&img, 0.75)) < mean(&img));
        assert!(std(&contrast(&img, 0.75)) < std(&img));
        assert!(std(&contrast(&img, 1.25)) > std(&img));
        assert!(mean(&gamma(&img, 0.75)) > mean(&img));
        assert!(mean(&gamma(&img, 1.25)) < mean(&img));
        // Black and white are fixed points of the gamma curve.
        let g = gamma(&img, 1.25);
        assert_eq!((g.as_raw()[0], g.as_raw()[255]), (0, 255));
    }

    #[test]
    fn blur_smooths_and_keeps_shape() {
        let img = GrayImage::from_fn(16, 16, |x, y| Luma([if (x + y) % 2 == 0 { 255 } else { 0 }]));
        let b = blur(&img, 1.0);
        assert_eq!(b.dimensions(), img.dimensions());
        assert!(std(&b) < 0.5 * std(&img));
    }
}
