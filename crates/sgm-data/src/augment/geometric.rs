//! Geometric transforms: scale / rotation / translation in one warp, mirror, resize and crop.

use image::imageops::{crop_imm, flip_horizontal, resize, FilterType};
use image::{GrayImage, Luma};
use imageproc::geometric_transformations::{warp, Interpolation, Projection};

/// Scales by `scale` and rotates by `degrees` about the image centre, then shifts by `(tx, ty)` pixels, in one
/// bilinear warp (the sign of the angle follows imageproc's `Projection::rotate`; the augmentation draws it
/// symmetrically). Pixels from outside the input are black (0). The identity parameters `(1, 0, 0, 0)` return an
/// exact copy.
pub fn scale_rotate_translate(img: &GrayImage, scale: f32, degrees: f32, tx: f32, ty: f32) -> GrayImage {
    if scale == 1.0 && degrees == 0.0 && tx == 0.0 && ty == 0.0 {
        return img.clone();
    }
    let (cx, cy) = (img.width() as f32 / 2.0, img.height() as f32 / 2.0);
    let p = Projection::translate(-cx, -cy)
        .and_then(Projection::scale(scale, scale))
        .and_then(Projection::rotate(degrees.to_radians()))
        .and_then(Projection::translate(cx + tx, cy + ty));
    warp(img, &p, Interpolation::Bilinear, Luma([0]))
}

/// Left–right mirror.
pub fn mirror(img: &GrayImage) -> GrayImage {
    flip_horizontal(img)
}

/// Resizes to `size × size` (triangle filter); a copy when the size already matches.
pub fn resize_square(img: &GrayImage, size: u32) -> GrayImage {
    if img.dimensions() == (size, size) {
        return img.clone();
    }
    resize(img, size, size, FilterType::Triangle)
}

/// The `size × size` window at `(x, y)` of `img` padded by `pad` pixels on every side by reflection (numpy's and
/// PyTorch's `reflect` mode: the edge pixel is not repeated), as torchvision's
/// `RandomCrop(size, padding=pad, padding_mode="reflect")` cuts it. Needs `pad < width, height` and the window
/// inside the padded image.
pub fn reflect_pad_crop(img: &GrayImage, pad: u32, x: u32, y: u32, size: u32) -> GrayImage {
    let reflect = |k: i64, n: i64| -> u32 {
        let k = if k < 0 { -k } else { k };
        (if k >= n { 2 * (n - 1) - k } else { k }) as u32
    };
    let (w, h) = (img.width() as i64, img.height() as i64);
    GrayImage::from_fn(size, size, |i, j| {
        let sx = reflect(x as i64 + i as i64 - pad as i64, w);
        let sy = reflect(y as i64 + j as i64 - pad as i64, h);
        *img.get_pixel(sx, sy)
    })
}

/// Cuts the `size × size` window whose top-left corner is at `(x, y)`; the window must lie inside the image.
pub fn crop(img: &GrayImage, x: u32, y: u32, size: u32) -> GrayImage {
    crop_imm(img, x, y, size, size).to_image()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp() -> GrayImage {
        GrayImage::from_fn(12, 10, |x, y| Luma([(x * 20 + y) as u8]))
    }

    #[test]
    fn mirror_twice_is_identity_and_once_flips_columns() {
        let img = ramp();
        assert_eq!(mirror(&mirror(&img)), img);
        assert_eq!(mirror(&img).get_pixel(0, 3), img.get_pixel(11, 3));
    }

    #[test]
    fn identity_warp_is_exact_and_shift_moves_content() {
        let img = ramp();
        assert_eq!(scale_rotate_translate(&img, 1.0, 0.0, 0.0, 0.0), img);
        let shifted = scale_rotate_translate(&img, 1.0, 0.0, 2.0, 0.0);
        assert_eq!(shifted.get_pixel(5, 4), img.get_pixel(3, 4));
        assert_eq!(shifted.get_pixel(0, 4).0[0], 0, "uncovered pixels are black");
        let turned = scale_rotate_translate(&img, 1.0, 90.0, 0.0, 0.0);
        assert_eq!(turned.dimensions(), img.dimensions());
        assert_ne!(turned, img);
    }

    #[test]
    fn zoom_in_keeps_the_centre() {
        let img = GrayImage::from_fn(21, 21, |x, y| Luma([if x == 10 && y == 10 { 255 } else { 0 }]));
        let z = scale_rotate_translate(&img, 2.0, 0.0, 0.0, 0.0);
        assert!(z.get_pixel(10, 10).0[0] > 0);
    }

    #[test]
    fn resize_and_crop_sizes() {
        let img = ramp();
        assert_eq!(resize_square(&img, 7).dimensions(), (7, 7));
        let c = crop(&img, 2, 1, 5);
        assert_eq!(c.dimensions(), (5, 5));
        assert_eq!(c.get_pixel(0, 0), img.get_pixel(2, 1));
    }

    #[test]
    fn reflect_pad_crop_is_numpys_reflect_padding() {
        // Expected rows from:
        //   img = np.arange(20, dtype=np.uint8).reshape(4, 5) * 10
        //   np.pad(img, 2, mode="reflect")[1:1 + 4, 3:3 + 4]     # torchvision pads with the same mode
        let img = GrayImage::from_fn(5, 4, |x, y| Luma([((y * 5 + x) * 10) as u8]));
        let c = reflect_pad_crop(&img, 2, 3, 1, 4);
        #[rustfmt::skip]
        let numpy: [u8; 16] = [
            60, 70, 80, 90,
            10, 20, 30, 40,
            60, 70, 80, 90,
            110, 120, 130, 140,
        ];
        assert_eq!(c.as_raw().as_slice(), numpy.as_slice());
        // The centred window is the image itself.
        assert_eq!(reflect_pad_crop(&img, 2, 2, 2, 4), crop(&img, 0, 0, 4));
    }

    #[test]
    fn upscaling_is_opencvs_bilinear() {
        // The authors resized with cv2.INTER_LINEAR (half-pixel centres, edges clamped). Expected values from:
        //   img = np.array([[(x*37 + y*91) % 256 for x in range(6)] for y in range(6)], dtype=np.uint8)
        //   cv2.resize(img, (14, 14), interpolation=cv2.INTER_LINEAR)        # opencv-python-headless 4.x
        let img = GrayImage::from_fn(6, 6, |x, y| Luma([((x * 37 + y * 91) % 256) as u8]));
        #[rustfmt::skip]
        let cv2: [u8; 196] = [
            0, 5, 21, 37, 53, 69, 84, 100, 116, 132, 148, 164, 180, 185, 13, 18, 34, 50, 66, 82, 97, 113, 129, 145,
            161, 161, 161, 161, 52, 57, 73, 89, 105, 120, 137, 152, 168, 184, 200, 153, 106, 91, 91, 96, 112, 128, 144,
            160, 176, 191, 207, 223, 239, 145, 51, 20, 130, 135, 151, 167, 136, 104, 105, 121, 136, 152, 168, 121, 75,
            59, 169, 174, 190, 206, 128, 50, 34, 50, 66, 82, 97, 98, 98, 98, 135, 140, 156, 172, 109, 47, 37, 52, 68,
            84, 100, 116, 132, 137, 64, 69, 85, 101, 85, 70, 76, 91, 107, 123, 139, 155, 171, 176, 30, 35, 51, 67, 83,
            99, 115, 130, 141, 141, 141, 157, 173, 178, 69, 74, 90, 106, 122, 137, 154, 169, 164, 117, 71, 87, 102, 108,
            108, 113, 129, 145, 161, 177, 193, 208, 188, 94, 0, 16, 32, 37, 147, 152, 168, 184, 153, 121, 122, 138,
            132, 86, 39, 55, 71, 76, 186, 191, 207, 223, 145, 67, 51, 67, 78, 78, 78, 94, 110, 115, 199, 204, 220, 236,
            142, 48, 27, 43, 59, 75, 91, 107, 123, 128,
        ];
        let ours = resize_square(&img, 14);
        // OpenCV's 8-bit path uses 11-bit fixed-point weights: one grey level of rounding is allowed.
        let worst = ours.as_raw().iter().zip(cv2).map(|(&a, b)| (a as i32 - b as i32).abs()).max().unwrap();
        assert!(worst <= 1, "largest difference from cv2.INTER_LINEAR: {worst} grey levels");
    }
}
