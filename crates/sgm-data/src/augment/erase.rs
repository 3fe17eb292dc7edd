//! Random erasing (Zhong et al., 2020): a rectangle of random area and aspect ratio is filled with mid-grey, as
//! torchvision's `RandomErasing()` with its defaults (area 2–33% of the image, aspect ratio 0.3–3.3 drawn
//! log-uniformly, up to 10 tries to fit the image, value 0 after normalisation).

use image::{GrayImage, Luma};
use imageproc::drawing::draw_filled_rect_mut;
use imageproc::rect::Rect;
use rand::Rng;

/// Smallest and largest erased area, as fractions of the image (torchvision's `scale=(0.02, 0.33)`).
pub const ERASE_AREA: (f32, f32) = (0.02, 0.33);
/// Smallest and largest aspect ratio (height / width) of the erased rectangle (torchvision's `ratio=(0.3, 3.3)`).
pub const ERASE_RATIO: (f32, f32) = (0.3, 3.3);
/// The fill: mid-grey, which CIFAR-10 normalisation (mean 0.491) maps to about 0, torchvision's `value=0`.
pub const ERASE_FILL: u8 = 125;

/// A rectangle `(x, y, w, h)` drawn as torchvision's `RandomErasing.get_params` draws it: up to 10 tries of a
/// random area and log-uniform aspect ratio, the first that fits strictly inside the image wins; `None` when no try
/// fits (the image is then left unchanged).
pub fn erase_rect<R: Rng>(width: u32, height: u32, rng: &mut R) -> Option<(u32, u32, u32, u32)> {
    let area = (width * height) as f32;
    let (log_lo, log_hi) = (ERASE_RATIO.0.ln(), ERASE_RATIO.1.ln());
    for _ in 0..10 {
        let target = area * rng.random_range(ERASE_AREA.0..=ERASE_AREA.1);
        let ratio = rng.random_range(log_lo..=log_hi).exp();
        let h = (target * ratio).sqrt().round() as u32;
        let w = (target / ratio).sqrt().round() as u32;
        if h == 0 || w == 0 || h >= height || w >= width {
            continue;
        }
        let (x, y) = (rng.random_range(0..=width - w), rng.random_range(0..=height - h));
        return Some((x, y, w, h));
    }
    None
}

/// Fills one random rectangle ([`erase_rect`]) of `img` with [`ERASE_FILL`], in place.
pub fn random_erase<R: Rng>(img: &mut GrayImage, rng: &mut R) {
    if let Some((x, y, w, h)) = erase_rect(img.width(), img.height(), rng) {
        draw_filled_rect_mut(img, Rect::at(x as i32, y as i32).of_size(w, h), Luma([ERASE_FILL]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampler::seeded_rng;

    #[test]
    fn rectangles_cover_two_to_thirty_three_percent_and_fit() {
        let mut rng = seeded_rng(&[7]);
        let mut areas = Vec::new();
        for _ in 0..2000 {
            let (x, y, w, h) = erase_rect(48, 48, &mut rng).expect("48 x 48 always fits within 10 tries here");
            assert!(x + w <= 48 && y + h <= 48 && w < 48 && h < 48);
            let frac = (w * h) as f32 / (48.0 * 48.0);
            // Rounding each side moves the area a little past the drawn range.
            assert!((0.01..=0.37).contains(&frac), "area {frac}");
            let ratio = h as f32 / w as f32;
            assert!((0.2..=4.5).contains(&ratio), "ratio {ratio}");
            areas.push(frac);
        }
        let mean = areas.iter().sum::<f32>() / areas.len() as f32;
        // Uniform in 0.02..0.33 has mean 0.175; tries that do not fit favour the smaller areas a little.
        assert!((0.14..=0.19).contains(&mean), "mean area {mean}");
    }

    #[test]
    fn erasing_fills_one_rectangle_with_grey_and_keeps_the_rest() {
        let img = GrayImage::from_fn(48, 48, |x, y| Luma([if (x + y) % 2 == 0 { 0 } else { 255 }]));
        let mut out = img.clone();
        random_erase(&mut out, &mut seeded_rng(&[3]));
        let (x0, y0, w, h) = erase_rect(48, 48, &mut seeded_rng(&[3])).unwrap();
        for (x, y, p) in out.enumerate_pixels() {
            let inside = (x0..x0 + w).contains(&x) && (y0..y0 + h).contains(&y);
            let want = if inside { ERASE_FILL } else { img.get_pixel(x, y)[0] };
            assert_eq!(p[0], want, "pixel ({x}, {y})");
        }
    }

    #[test]
    fn a_tiny_image_may_be_left_unchanged() {
        // A side must be shorter than the image's (torchvision's rule), so nothing fits in 1 x 1.
        let img = GrayImage::from_pixel(1, 1, Luma([9]));
        assert_eq!(erase_rect(1, 1, &mut seeded_rng(&[1])), None);
        let mut out = img.clone();
        random_erase(&mut out, &mut seeded_rng(&[1]));
        assert_eq!(out, img);
    }
}
