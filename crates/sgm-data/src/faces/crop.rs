//! Face boxes and crops: the box a detector returns, the square crop region around it with a margin, the grey crop
//! itself (resized to a model's input side) and the overlap (IoU) of two boxes.

use crate::image_io::{resize, ResizeFilter};
use image::GrayImage;
use serde::{Deserialize, Serialize};

/// A box in pixel coordinates of a photo. Unlike [`crate::image_io::Rect`] it may reach past the photo's edges (a
/// crop region with a margin, around a face near the border, does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FaceBox {
    /// Left edge (may be negative).
    pub x: i32,
    /// Top edge (may be negative).
    pub y: i32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl FaceBox {
    /// The box `(x, y, width, height)`.
    pub fn new(x: i32, y: i32, width: u32, height: u32) -> Self {
        Self { x, y, width, height }
    }

    /// Area in pixels.
    pub fn area(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// Centre `(x, y)`.
    pub fn centre(&self) -> (f64, f64) {
        (f64::from(self.x) + f64::from(self.width) / 2.0, f64::from(self.y) + f64::from(self.height) / 2.0)
    }

    /// Intersection over union with `other`: 0 when they do not overlap, 1 when they are equal.
    pub fn iou(&self, other: &FaceBox) -> f64 {
        let (ax1, ay1) = (i64::from(self.x), i64::from(self.y));
        let (ax2, ay2) = (ax1 + i64::from(self.width), ay1 + i64::from(self.height));
        let (bx1, by1) = (i64::from(other.x), i64::from(other.y));
        let (bx2, by2) = (bx1 + i64::from(other.width), by1 + i64::from(other.height));
        let iw = (ax2.min(bx2) - ax1.max(bx1)).max(0);
        let ih = (ay2.min(by2) - ay1.max(by1)).max(0);
        let inter = (iw * ih) as f64;
        let union = self.area() as f64 + other.area() as f64 - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }

    /// This box scaled by `factor` about the origin (from detection-image to photo coordinates).
    pub fn scaled(&self, factor: f64) -> FaceBox {
        FaceBox {
            x: (f64::from(self.x) * factor).round() as i32,
            y: (f64::from(self.y) * factor).round() as i32,
            width: ((f64::from(self.width) * factor).round() as u32).max(1),
            height: ((f64::from(self.height) * factor).round() as u32).max(1),
        }
    }
}

/// The square crop region of a face: centred on `face`, of side `max(width, height) × (1 + 2 × margin)`. It may
/// reach past the photo's edges; [`crop_face`] fills what lies outside.
pub fn margin_box(face: FaceBox, margin: f32) -> FaceBox {
    let (cx, cy) = face.centre();
    let side = (f64::from(face.width.max(face.height)) * (1.0 + 2.0 * f64::from(margin.max(0.0)))).round().max(1.0);
    FaceBox {
        x: (cx - side / 2.0).round() as i32,
        y: (cy - side / 2.0).round() as i32,
        width: side as u32,
        height: side as u32,
    }
}

/// Cuts `region` out of `img` and resizes it to `side × side` (bilinear). Pixels of the region outside the photo
/// repeat the nearest edge pixel, so a face at the border keeps its size and position in the crop instead of being
/// stretched. An empty `img` gives a black crop.
pub fn crop_face(img: &GrayImage, region: FaceBox, side: u32) -> GrayImage {
    let (w, h) = (img.width(), img.height());
    let side = side.max(1);
    if w == 0 || h == 0 || region.width == 0 || region.height == 0 {
        return GrayImage::new(side, side);
    }
    let inside = region.x >= 0
        && region.y >= 0
        && i64::from(region.x) + i64::from(region.width) <= i64::from(w)
        && i64::from(region.y) + i64::from(region.height) <= i64::from(h);
    let cut = if inside {
        image::imageops::crop_imm(img, region.x as u32, region.y as u32, region.width, region.height).to_image()
    } else {
        let clamp = |v: i64, n: u32| v.clamp(0, i64::from(n) - 1) as u32;
        GrayImage::from_fn(region.width, region.height, |x, y| {
            *img.get_pixel(clamp(i64::from(region.x) + i64::from(x), w), clamp(i64::from(region.y) + i64::from(y), h))
        })
    };
    resize(&cut, side, side, ResizeFilter::Triangle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_equal_disjoint_and_half_overlapping_boxes() {
        let a = FaceBox::new(10, 10, 20, 20);
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&FaceBox::new(40, 40, 5, 5)), 0.0);
        let b = FaceBox::new(20, 10, 20, 20); // half of a
        assert!((a.iou(&b) - 200.0 / 600.0).abs() < 1e-12);
        assert_eq!(a.iou(&FaceBox::new(0, 0, 0, 0)), 0.0);
    }

    #[test]
    fn margin_box_is_a_centred_square() {
        let m = margin_box(FaceBox::new(100, 50, 40, 40), 0.25);
        assert_eq!(m, FaceBox::new(90, 40, 60, 60));
        let m = margin_box(FaceBox::new(0, 0, 40, 20), 0.0);
        assert_eq!(m, FaceBox::new(0, -10, 40, 40));
        assert_eq!(margin_box(FaceBox::new(5, 5, 10, 10), 0.0), FaceBox::new(5, 5, 10, 10));
    }

    #[test]
    fn crop_inside_copies_and_outside_repeats_the_edge() {
        let img = GrayImage::from_fn(8, 6, |x, y| image::Luma([(10 * x + y) as u8]));
        let c = crop_face(&img, FaceBox::new(2, 1, 3, 3), 3);
        assert_eq!(c.get_pixel(0, 0).0[0], 21);
        assert_eq!(c.get_pixel(2, 2).0[0], 43);
        let c = crop_face(&img, FaceBox::new(-2, -2, 4, 4), 4);
        assert_eq!(c.get_pixel(0, 0).0[0], 0, "top-left corner repeated");
        assert_eq!(c.get_pixel(3, 3).0[0], 11);
        assert_eq!(c.get_pixel(3, 0).0[0], 10);
        let c = crop_face(&img, FaceBox::new(6, 4, 4, 4), 2);
        assert_eq!((c.width(), c.height()), (2, 2));
        assert_eq!(crop_face(&GrayImage::new(0, 0), FaceBox::new(0, 0, 3, 3), 5).dimensions(), (5, 5));
    }

    #[test]
    fn scaling_maps_boxes_between_resolutions() {
        assert_eq!(FaceBox::new(10, 20, 30, 40).scaled(2.0), FaceBox::new(20, 40, 60, 80));
        assert_eq!(FaceBox::new(1, 1, 1, 1).scaled(0.1).width, 1);
    }
}
