//! CLAHE (contrast-limited adaptive histogram equalisation), which imageproc lacks: per-tile histograms with the
//! bins clipped and the excess spread evenly, per-tile equalisation maps, and bilinear interpolation between the
//! maps of the four nearest tile centres (Zuiderveld 1994; OpenCV's `createCLAHE`).

use image::GrayImage;

/// The equalisation map of one tile: its histogram, clipped at `clip_limit × (pixels / 256)` with the excess
/// redistributed over all bins, then turned into a cumulative map (as `imageproc::contrast::equalize_histogram`).
fn tile_lut(img: &GrayImage, x0: u32, x1: u32, y0: u32, y1: u32, clip_limit: f32) -> [u8; 256] {
    let mut hist = [0u32; 256];
    for y in y0..y1 {
        for x in x0..x1 {
            hist[img.get_pixel(x, y).0[0] as usize] += 1;
        }
    }
    let n = ((x1 - x0) * (y1 - y0)).max(1);
    let clip = ((clip_limit * n as f32 / 256.0).ceil() as u32).max(1);
    let mut excess = 0u32;
    for h in hist.iter_mut() {
        if *h > clip {
            excess += *h - clip;
            *h = clip;
        }
    }
    let (each, rest) = (excess / 256, excess % 256);
    for (i, h) in hist.iter_mut().enumerate() {
        *h += each + u32::from((i as u32) < rest);
    }
    let mut lut = [0u8; 256];
    let mut cdf = 0u32;
    for (v, h) in hist.iter().enumerate() {
        cdf += h;
        lut[v] = (255.0 * cdf as f32 / n as f32).min(255.0) as u8;
    }
    lut
}

/// Position of a pixel between tile centres along one axis: (lower tile, upper tile, weight of the upper).
fn axis_weight(p: u32, len: u32, tiles: u32) -> (usize, usize, f32) {
    let f = (p as f32 + 0.5) * tiles as f32 / len as f32 - 0.5;
    if f <= 0.0 {
        return (0, 0, 0.0);
    }
    let lo = (f.floor() as u32).min(tiles - 1);
    let hi = (lo + 1).min(tiles - 1);
    (lo as usize, hi as usize, if hi == lo { 0.0 } else { f - lo as f32 })
}

/// CLAHE with `tiles × tiles` tiles and clip limit `clip_limit` (a multiple of the mean bin height; OpenCV's
/// default is 40, a common choice 2). More tiles than pixels along an axis are reduced to one tile per pixel.
pub fn clahe(img: &GrayImage, tiles: u32, clip_limit: f32) -> GrayImage {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return img.clone();
    }
    let (tx, ty) = (tiles.clamp(1, w), tiles.clamp(1, h));
    let bound = |i: u32, len: u32, t: u32| i * len / t;
    let luts: Vec<Vec<[u8; 256]>> = (0..ty)
        .map(|j| {
            (0..tx)
                .map(|i| {
                    tile_lut(
                        img,
                        bound(i, w, tx),
                        bound(i + 1, w, tx),
                        bound(j, h, ty),
                        bound(j + 1, h, ty),
                        clip_limit,
                    )
                })
                .collect()
        })
        .collect();
    let xs: Vec<(usize, usize, f32)> = (0..w).map(|x| axis_weight(x, w, tx)).collect();
    GrayImage::from_fn(w, h, |x, y| {
        let (y0, y1, wy) = axis_weight(y, h, ty);
        let (x0, x1, wx) = xs[x as usize];
        let v = img.get_pixel(x, y).0[0] as usize;
        let top = luts[y0][x0][v] as f32 * (1.0 - wx) + luts[y0][x1][v] as f32 * wx;
        let bottom = luts[y1][x0][v] as f32 * (1.0 - wx) + luts[y1][x1][v] as f32 * wx;
        image::Luma([(top * (1.0 - wy) + bottom * wy).round() as u8])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    fn low_contrast() -> GrayImage {
        GrayImage::from_fn(32, 32, |x, y| Luma([100 + ((x * 7 + y * 3) % 20) as u8 + if x < 16 { 0 } else { 15 }]))
    }

    fn std(img: &GrayImage) -> f32 {
        let v: Vec<f32> = img.as_raw().iter().map(|&p| p as f32).collect();
        let m = v.iter().sum::<f32>() / v.len() as f32;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f32>() / v.len() as f32).sqrt()
    }

    #[test]
    fn one_unclipped_tile_is_global_equalisation() {
        let img = low_contrast();
        assert_eq!(clahe(&img, 1, 256.0), imageproc::contrast::equalize_histogram(&img));
    }

    #[test]
    fn raises_contrast_and_the_clip_limits_it() {
        let img = low_contrast();
        let strong = clahe(&img, 4, 40.0);
        let mild = clahe(&img, 4, 1.5);
        assert_eq!(strong.dimensions(), img.dimensions());
        assert!(std(&strong) > 2.0 * std(&img), "{} vs {}", std(&strong), std(&img));
        assert!(std(&mild) < std(&strong));
    }

    #[test]
    fn is_monotone_within_a_tile_and_handles_flat_images() {
        let flat = GrayImage::from_pixel(10, 10, Luma([77]));
        let out = clahe(&flat, 3, 2.0);
        let first = out.get_pixel(0, 0).0[0];
        assert!(out.pixels().all(|p| p.0[0] == first), "a flat image stays flat");
        let ramp = GrayImage::from_fn(8, 8, |x, _| Luma([(x * 30) as u8]));
        let r = clahe(&ramp, 1, 2.0);
        for x in 1..8 {
            assert!(r.get_pixel(x, 0).0[0] >= r.get_pixel(x - 1, 0).0[0]);
        }
    }
}
