//! Test photos composed from code: face crops, upscaled, pasted at known places onto a textured canvas. With the
//! boxes known, a detector's recall (IoU with the pasted box) and false positives can be measured without any
//! third-party photo in the repository. Everything is seeded.
//!
//! The canvas is clutter without faces: a lighting gradient, smooth value noise at three scales, rectangles and
//! stripes of random grey, and fine pixel noise.

use image::{imageops, GrayImage, Luma};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::crop::FaceBox;
use crate::error::{DataError, Result};

/// A composed photo and where its faces are.
#[derive(Debug, Clone)]
pub struct ComposedPhoto {
    /// The photo.
    pub image: GrayImage,
    /// Where each face was pasted (the whole upscaled crop), in the order of the faces given.
    pub faces: Vec<FaceBox>,
}

/// A `width × height` textured canvas without faces, a pure function of `seed`.
pub fn textured_canvas(width: u32, height: u32, seed: u64) -> GrayImage {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (w, h) = (width as usize, height as usize);
    let mut acc = vec![0f32; w * h];
    // Lighting gradient.
    let (g0, gx, gy) =
        (rng.random_range(70.0..150.0f32), rng.random_range(-60.0..60.0f32), rng.random_range(-40.0..40.0));
    for y in 0..h {
        for x in 0..w {
            acc[y * w + x] = g0 + gx * x as f32 / w.max(1) as f32 + gy * y as f32 / h.max(1) as f32;
        }
    }
    // Smooth value noise at three scales.
    for (cell, amp) in [(96usize, 45.0f32), (24, 22.0), (6, 10.0)] {
        let (gw, gh) = (w / cell + 2, h / cell + 2);
        let grid: Vec<f32> = (0..gw * gh).map(|_| rng.random_range(-amp..amp)).collect();
        for y in 0..h {
            let (fy, ty) = (y / cell, (y % cell) as f32 / cell as f32);
            for x in 0..w {
                let (fx, tx) = (x / cell, (x % cell) as f32 / cell as f32);
                let at = |i: usize, j: usize| grid[j * gw + i];
                let top = at(fx, fy) * (1.0 - tx) + at(fx + 1, fy) * tx;
                let bottom = at(fx, fy + 1) * (1.0 - tx) + at(fx + 1, fy + 1) * tx;
                acc[y * w + x] += top * (1.0 - ty) + bottom * ty;
            }
        }
    }
    // Rectangles (furniture, frames) and stripes (blinds, shelves).
    if w > 4 && h > 4 {
        for _ in 0..rng.random_range(8..16) {
            let (rw, rh) = (rng.random_range(4..w.max(5) / 3 + 5), rng.random_range(4..h.max(5) / 3 + 5));
            let (x0, y0) = (rng.random_range(0..w), rng.random_range(0..h));
            let level = rng.random_range(-50.0..50.0f32);
            for y in y0..(y0 + rh).min(h) {
                for x in x0..(x0 + rw).min(w) {
                    acc[y * w + x] += level;
                }
            }
        }
        for _ in 0..rng.random_range(1..4) {
            let (y0, period, len) = (rng.random_range(0..h), rng.random_range(6..16), rng.random_range(20..h.max(21)));
            let level = rng.random_range(15.0..40.0f32);
            for y in y0..(y0 + len).min(h) {
                if (y - y0) % period < period / 2 {
                    acc[y * w..(y + 1) * w].iter_mut().for_each(|v| *v += level);
                }
            }
        }
    }
    GrayImage::from_fn(width, height, |x, y| {
        let v = acc[y as usize * w + x as usize] + rng.random_range(-6.0..6.0f32);
        Luma([v.round().clamp(0.0, 255.0) as u8])
    })
}

/// Pastes `faces` onto `canvas` (a copy), each upscaled to a square of a side drawn from `sides` (inclusive
/// range), at places drawn with `seed` so that a face is at least a quarter of its side away from every other face
/// and from the canvas's edges. Errors when the faces do not fit.
pub fn compose(canvas: &GrayImage, faces: &[GrayImage], sides: (u32, u32), seed: u64) -> Result<ComposedPhoto> {
    let (lo, hi) = sides;
    if lo == 0 || hi < lo {
        return Err(DataError::Config(format!("compose: face sides {lo}..={hi} (expected 1 ≤ min ≤ max)")));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut image = canvas.clone();
    let mut placed: Vec<FaceBox> = Vec::with_capacity(faces.len());
    for (i, face) in faces.iter().enumerate() {
        let side = rng.random_range(lo..=hi);
        let gap = (side / 4) as i64;
        let (w, h) = (i64::from(canvas.width()), i64::from(canvas.height()));
        if i64::from(side) + 2 * gap > w.min(h) {
            return Err(DataError::Config(format!(
                "compose: a face of side {side} does not fit in a {w}x{h} canvas with its margin"
            )));
        }
        let spot = (0..2000).find_map(|_| {
            let x = rng.random_range(gap..=w - gap - i64::from(side));
            let y = rng.random_range(gap..=h - gap - i64::from(side));
            let padded = FaceBox::new((x - gap) as i32, (y - gap) as i32, side + 2 * gap as u32, side + 2 * gap as u32);
            let clear = placed.iter().all(|p| padded.iou(p) == 0.0);
            clear.then_some((x, y))
        });
        let Some((x, y)) = spot else {
            return Err(DataError::Config(format!(
                "compose: no room left for face {} of {} (side {side}) in the {w}x{h} canvas",
                i + 1,
                faces.len()
            )));
        };
        let big = imageops::resize(face, side, side, imageops::FilterType::CatmullRom);
        imageops::replace(&mut image, &big, x, y);
        placed.push(FaceBox::new(x as i32, y as i32, side, side));
    }
    Ok(ComposedPhoto { image, faces: placed })
}

/// What [`compose_album`] makes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlbumSpec {
    /// Number of photos.
    pub photos: usize,
    /// Faces per photo, drawn from this inclusive range (0 gives empty canvases).
    pub faces_per_photo: (usize, usize),
    /// Photo sizes `(width, height)`, used in turn.
    pub sizes: Vec<(u32, u32)>,
    /// Side of the pasted faces, drawn from this inclusive range, as a fraction of the photo's shorter side.
    pub face_fraction: (f32, f32),
    /// Seed of the canvases, the face counts and the placements.
    pub seed: u64,
}

impl Default for AlbumSpec {
    fn default() -> Self {
        Self { photos: 8, faces_per_photo: (1, 3), sizes: vec![(640, 480)], face_fraction: (0.2, 0.3), seed: 1 }
    }
}

/// Composes `spec.photos` photos, taking the faces from `faces` in turn (each face is used once before any is
/// used again). Photo `i` has size `spec.sizes[i % len]` and a canvas seeded by `(spec.seed, i)`.
pub fn compose_album(faces: &[GrayImage], spec: &AlbumSpec) -> Result<Vec<ComposedPhoto>> {
    let (lo, hi) = spec.faces_per_photo;
    let (flo, fhi) = spec.face_fraction;
    if spec.sizes.is_empty() || hi < lo || (hi > 0 && faces.is_empty()) || !(flo > 0.0 && fhi >= flo && fhi < 1.0) {
        return Err(DataError::Config(format!(
            "compose_album: {} sizes, {lo}..={hi} faces per photo from {} faces, face fraction {flo}..={fhi}",
            spec.sizes.len(),
            faces.len()
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut next = 0usize;
    (0..spec.photos)
        .map(|i| {
            let (w, h) = spec.sizes[i % spec.sizes.len()];
            let n = rng.random_range(lo..=hi);
            let chosen: Vec<GrayImage> = (0..n).map(|k| faces[(next + k) % faces.len().max(1)].clone()).collect();
            next += n;
            let short = f64::from(w.min(h));
            let sides = ((short * f64::from(flo)).round() as u32, (short * f64::from(fhi)).round() as u32);
            let seed = spec.seed.wrapping_mul(1_000_003).wrapping_add(i as u64);
            compose(&textured_canvas(w, h, seed), &chosen, sides, seed)
        })
        .collect()
}

/// How found boxes match the true ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Matching {
    /// True boxes matched by a found box.
    pub hits: usize,
    /// True boxes not matched.
    pub misses: usize,
    /// Found boxes matching no true box.
    pub false_positives: usize,
}

impl std::ops::AddAssign for Matching {
    fn add_assign(&mut self, o: Self) {
        self.hits += o.hits;
        self.misses += o.misses;
        self.false_positives += o.false_positives;
    }
}

impl Matching {
    /// Hits over true boxes (1 when there are none).
    pub fn recall(&self) -> f64 {
        let n = self.hits + self.misses;
        if n == 0 {
            1.0
        } else {
            self.hits as f64 / n as f64
        }
    }
}

/// Matches `found` boxes to `truth` boxes greedily, best IoU first; a pair counts when its IoU is at least
/// `min_iou`, and each box is matched at most once.
pub fn match_boxes(truth: &[FaceBox], found: &[FaceBox], min_iou: f64) -> Matching {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, t) in truth.iter().enumerate() {
        for (j, f) in found.iter().enumerate() {
            let iou = t.iou(f);
            if iou >= min_iou {
                pairs.push((iou, i, j));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut t_used, mut f_used) = (vec![false; truth.len()], vec![false; found.len()]);
    let mut hits = 0;
    for (_, i, j) in pairs {
        if !t_used[i] && !f_used[j] {
            t_used[i] = true;
            f_used[j] = true;
            hits += 1;
        }
    }
    Matching { hits, misses: truth.len() - hits, false_positives: found.len() - hits }
}
