//! Rendering [`FaceParams`] to a grey image with imageproc: filled ellipses and polygons on a canvas twice the
//! output size, one warp for the head pose, a downsample (which anti-aliases the shapes), then lighting and noise.

use super::face::FaceParams;
use image::{GrayImage, Luma};
use imageproc::drawing::{draw_filled_ellipse_mut, draw_hollow_ellipse_mut, draw_line_segment_mut, draw_polygon_mut};
use imageproc::geometric_transformations::{warp, Interpolation, Projection};
use imageproc::point::Point;
use std::f32::consts::PI;

/// Side of the face-unit frame in which [`FaceParams`] geometry is expressed.
const UNITS: f32 = 96.0;

/// Draws shapes given in face units onto a canvas of any size.
struct Painter {
    img: GrayImage,
    /// Pixels per face unit.
    k: f32,
}

impl Painter {
    fn ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, tone: u8) {
        let (k, c) = (self.k, (cx * self.k).round() as i32);
        let r = |v: f32| ((v * k).round() as i32).max(1);
        draw_filled_ellipse_mut(&mut self.img, (c, (cy * k).round() as i32), r(rx), r(ry), Luma([tone]));
    }

    fn ring(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, width: f32, tone: u8) {
        let k = self.k;
        let steps = (width * k).round().max(1.0) as i32;
        for i in 0..steps {
            let d = i as f32 / k;
            let r = |v: f32| (((v - d) * k).round() as i32).max(1);
            draw_hollow_ellipse_mut(
                &mut self.img,
                ((cx * k).round() as i32, (cy * k).round() as i32),
                r(rx),
                r(ry),
                Luma([tone]),
            );
        }
    }

    /// A closed polygon; degenerate polygons (fewer than three distinct vertices) fall back to an outline.
    fn polygon(&mut self, pts: &[(f32, f32)], tone: u8) {
        let mut poly: Vec<Point<i32>> = Vec::with_capacity(pts.len());
        for &(x, y) in pts {
            let p = Point::new((x * self.k).round() as i32, (y * self.k).round() as i32);
            if poly.last() != Some(&p) {
                poly.push(p);
            }
        }
        while poly.len() > 1 && poly.first() == poly.last() {
            poly.pop();
        }
        if poly.len() >= 3 {
            draw_polygon_mut(&mut self.img, &poly, Luma([tone]));
        } else {
            for w in pts.windows(2) {
                self.line(w[0], w[1], 0.0, tone);
            }
        }
    }

    /// A segment `width` face units thick (a one-pixel line when thinner than a pixel).
    fn line(&mut self, a: (f32, f32), b: (f32, f32), width: f32, tone: u8) {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = (dx * dx + dy * dy).sqrt();
        if width * self.k <= 1.0 || len < 1e-3 {
            let k = self.k;
            draw_line_segment_mut(&mut self.img, (a.0 * k, a.1 * k), (b.0 * k, b.1 * k), Luma([tone]));
            return;
        }
        let (nx, ny) = (-dy / len * width / 2.0, dx / len * width / 2.0);
        self.polygon(&[(a.0 + nx, a.1 + ny), (b.0 + nx, b.1 + ny), (b.0 - nx, b.1 - ny), (a.0 - nx, a.1 - ny)], tone);
    }

    fn polyline(&mut self, pts: &[(f32, f32)], width: f32, tone: u8) {
        for w in pts.windows(2) {
            self.line(w[0], w[1], width, tone);
        }
    }
}

fn shade(tone: u8, delta: f32) -> u8 {
    (tone as f32 + delta).round().clamp(0.0, 255.0) as u8
}

/// Samples `t ∈ [0, 1]` at `n + 1` points.
fn ts(n: usize) -> impl Iterator<Item = f32> + Clone {
    (0..=n).map(move |i| i as f32 / n as f32)
}

/// Renders `p` as a `size × size` grey image; `noise_std` grey levels of Gaussian noise are drawn with `noise_seed`.
pub fn render(p: &FaceParams, size: usize, noise_std: f32, noise_seed: u64) -> GrayImage {
    let canvas = (size * 2) as u32;
    let mut g =
        Painter { img: GrayImage::from_pixel(canvas, canvas, Luma([p.tones.background])), k: canvas as f32 / UNITS };
    let t = p.tones;
    let a = p.actions;
    let (frx, fry, fcy) = p.face;
    let (eye_y, eye_sep, eye_w, eye_h) = p.eyes;
    let cx = UNITS / 2.0;

    // Background clutter, clothes and neck.
    for &(x, y, rx, ry, tone) in &p.blobs {
        g.ellipse(x, y, rx, ry, tone);
    }
    g.ellipse(cx, fcy + fry + 26.0, frx + 16.0, 22.0, t.clothes);
    g.polygon(
        &[(cx - 10.0, fcy), (cx + 10.0, fcy), (cx + 11.0, fcy + fry + 8.0), (cx - 11.0, fcy + fry + 8.0)],
        shade(t.skin, -20.0),
    );

    // Hair behind the head, ears, face.
    let (hair_extra, fringe) = p.hair;
    g.ellipse(cx, fcy - fry * 0.2, frx + hair_extra, fry * 0.95 + hair_extra * 0.5, t.hair);
    for s in [-1.0, 1.0] {
        g.ellipse(cx + s * (frx - 0.5), eye_y + 5.0, 3.5, 6.5, shade(t.skin, -12.0));
    }
    g.ellipse(cx, fcy, frx, fry, t.skin);

    // Fringe: never lower than the highest a raised brow can reach.
    let brow_top = eye_y - p.brow.0 - 14.0;
    let crown = fcy - fry;
    let fringe_y = crown + (brow_top - crown).max(0.0) * fringe;
    if fringe_y > crown + 1.0 {
        let ry = (fringe_y - crown) / 2.0 + 2.0;
        g.ellipse(cx, crown + ry - 2.0, frx * 0.95, ry, t.hair);
    }

    // Cheek raise: lighter cheek bulges and nasolabial folds.
    let (nose_y, nose_w) = p.nose;
    let (mouth_y, mouth_w0, lip) = p.mouth;
    if a.cheek_raise > 0.05 {
        for s in [-1.0, 1.0] {
            g.ellipse(
                cx + s * eye_sep,
                eye_y + 9.0,
                6.5,
                3.0 + 2.0 * a.cheek_raise,
                shade(t.skin, 14.0 * a.cheek_raise.min(1.2)),
            );
        }
    }
    let fold = a.cheek_raise + a.upper_lip_raise + 0.6 * a.lip_corner_pull;
    if fold > 0.3 {
        for s in [-1.0, 1.0] {
            g.line(
                (cx + s * (nose_w + 1.5), nose_y - 1.0),
                (cx + s * (mouth_w0 + 2.5 + 1.5 * a.lip_corner_pull), mouth_y + 1.0),
                1.2,
                shade(t.skin, -30.0 * fold.min(1.5)),
            );
        }
    }

    // Eyes: white, iris clipped to the opening, upper lid line.
    let open = (eye_h * (1.0 + 0.7 * a.eye_widen - 0.5 * a.lid_tighten - 0.3 * a.cheek_raise)).max(0.5);
    for s in [-1.0, 1.0] {
        let ex = cx + s * eye_sep;
        g.ellipse(ex, eye_y, eye_w, open, shade(t.skin, 70.0).max(170));
        g.ellipse(ex, eye_y, p.iris_r, p.iris_r.min(open), t.iris);
        let lid: Vec<(f32, f32)> =
            ts(6).map(|u| (ex - eye_w + 2.0 * eye_w * u, eye_y - open * (PI * u).sin())).collect();
        g.polyline(&lid, 1.0, shade(t.brow, -10.0));
    }

    // Brows: inner end, arch, outer end, moved by AU1, AU1+2 and AU4.
    let (gap, thick) = p.brow;
    for s in [-1.0, 1.0] {
        let ex = cx + s * eye_sep;
        let base = eye_y - gap;
        let inner_x = ex - s * (eye_w * 0.9 + 1.5 * a.brow_lower);
        let outer_x = ex + s * eye_w * 1.3;
        let inner_y = base - 6.0 * a.brow_raise - 5.0 * a.brow_inner_raise + 4.5 * a.brow_lower;
        let outer_y = base - 6.0 * a.brow_raise + 1.5 * a.brow_inner_raise + 1.0 * a.brow_lower;
        let mid = ((inner_x + outer_x) / 2.0, (inner_y + outer_y) / 2.0 - 2.0 - 1.0 * a.brow_raise);
        g.polyline(&[(inner_x, inner_y), mid, (outer_x, outer_y)], thick, t.brow);
    }

    // Nose: bridge shadow, nostrils (flared and lifted by AU9), wrinkles.
    let nose_y = nose_y - 1.5 * a.nose_wrinkle;
    g.line((cx + 1.5, eye_y + 3.0), (cx + 2.0, nose_y - 3.0), 1.0, shade(t.skin, -18.0));
    let flare = nose_w * (1.0 + 0.25 * a.nose_wrinkle);
    for s in [-1.0, 1.0] {
        g.ellipse(cx + s * flare * 0.55, nose_y, 1.8, 1.1, shade(t.skin, -75.0));
    }
    if a.nose_wrinkle > 0.2 {
        let tone = shade(t.skin, -45.0 * a.nose_wrinkle.min(1.3));
        for i in 0..3 {
            let y = eye_y + 1.0 + 2.2 * i as f32;
            g.line((cx - 3.5, y), (cx + 3.5, y + 0.6), 0.9, tone);
        }
    }

    draw_mouth(&mut g, p, cx, mouth_y, mouth_w0, lip);

    if p.glasses {
        let (rx, ry) = (eye_w + 3.5, eye_h + 4.0);
        for s in [-1.0, 1.0] {
            let ex = cx + s * eye_sep;
            g.ring(ex, eye_y, rx, ry, 1.6, t.frame);
            g.line((ex + s * rx, eye_y - 1.0), (cx + s * (frx + 1.0), eye_y - 2.0), 1.4, t.frame);
        }
        g.line((cx - eye_sep + rx, eye_y - 1.0), (cx + eye_sep - rx, eye_y - 1.0), 1.4, t.frame);
    }

    // Head pose about the face centre, then downsample, light and add noise.
    let (theta, scale, dx, dy) = p.pose;
    let k = g.k;
    let (ox, oy) = (cx * k, fcy * k);
    let proj = Projection::translate(-ox, -oy)
        .and_then(Projection::scale(scale, scale))
        .and_then(Projection::rotate(theta))
        .and_then(Projection::translate(ox + dx * k, oy + dy * k));
    let posed = warp(&g.img, &proj, Interpolation::Bilinear, Luma([t.background]));
    let mut img = halve(&posed);
    light(&mut img, p.light);
    if noise_std > 0.0 {
        imageproc::noise::gaussian_noise_mut(&mut img, 0.0, noise_std as f64, noise_seed);
    }
    img
}

/// Lips (upper and lower outline around a curved mouth line), the opening with teeth, or the closed mouth line.
fn draw_mouth(g: &mut Painter, p: &FaceParams, cx: f32, my: f32, w0: f32, lip: f32) {
    let a = p.actions;
    let t = p.tones;
    let w = w0 * (1.0 + 0.25 * a.lip_corner_pull + 0.35 * a.lip_stretch - 0.15 * a.lip_press - 0.1 * a.jaw_drop);
    let corner_dy = -6.0 * a.lip_corner_pull + 4.5 * a.lip_corner_depress - 0.5 * a.lip_stretch;
    let mut left = (cx - w, my + corner_dy);
    let mut right = (cx + w, my + corner_dy);
    let smirk = if p.smirk_side > 0.0 { &mut right } else { &mut left };
    smirk.1 -= 5.5 * a.smirk;
    smirk.0 += p.smirk_side * 2.0 * a.smirk;
    let open = 11.0 * a.jaw_drop + 1.5 * a.upper_lip_raise;
    let lift = 2.5 * a.upper_lip_raise;
    let upper = lip * (1.0 - 0.7 * a.lip_press.min(1.0));
    let lower = lip * 1.25 * (1.0 - 0.7 * a.lip_press.min(1.0));
    let line = |u: f32| {
        let x = left.0 + (right.0 - left.0) * u;
        let base = left.1 + (right.1 - left.1) * u;
        let mid = (left.1 + right.1) / 2.0;
        (x, base + (my - mid) * (PI * u).sin())
    };
    let s = |u: f32| (PI * u).sin();
    let n = 10;
    let top = |u: f32, extra: f32| {
        let (x, y) = line(u);
        (x, y - (lift + 0.2 * open + extra) * s(u))
    };
    let bottom = |u: f32, extra: f32| {
        let (x, y) = line(u);
        (x, y + (open + extra) * s(u))
    };
    let mut lips: Vec<(f32, f32)> = ts(n).map(|u| top(u, upper)).collect();
    lips.extend(ts(n).map(|u| bottom(1.0 - u, lower)).skip(1).take(n - 1));
    g.polygon(&lips, t.lips);
    if open + lift > 1.2 {
        let mut hole: Vec<(f32, f32)> = ts(n).map(|u| top(u, 0.0)).collect();
        hole.extend(ts(n).map(|u| bottom(1.0 - u, 0.0)).skip(1).take(n - 1));
        g.polygon(&hole, 25);
        if a.teeth > 0.0 {
            let depth = (open * 0.35 + lift).min(4.0) * a.teeth.min(1.0);
            let mut teeth: Vec<(f32, f32)> = ts(n).map(|u| top(u, 0.0)).collect();
            teeth.extend(
                ts(n)
                    .map(|u| {
                        let (x, y) = top(1.0 - u, 0.0);
                        (x, y + depth * s(1.0 - u).sqrt())
                    })
                    .skip(1)
                    .take(n - 1),
            );
            g.polygon(&teeth, 225);
        }
    } else {
        let mouth_line: Vec<(f32, f32)> = ts(n).map(line).collect();
        g.polyline(&mouth_line, 1.0, shade(t.lips, -45.0));
    }
}

/// 2 × 2 box downsampling of the supersampled canvas (anti-aliases the drawn shapes; cheaper than a general
/// resize, which matters when thousands of faces are drawn).
fn halve(img: &GrayImage) -> GrayImage {
    GrayImage::from_fn(img.width() / 2, img.height() / 2, |x, y| {
        let p = |dx: u32, dy: u32| img.get_pixel(2 * x + dx, 2 * y + dy).0[0] as u16;
        Luma([((p(0, 0) + p(1, 0) + p(0, 1) + p(1, 1) + 2) / 4) as u8])
    })
}

/// Global contrast and brightness plus a linear lighting gradient.
fn light(img: &mut GrayImage, (gx, gy, contrast, brightness): (f32, f32, f32, f32)) {
    let (w, h) = img.dimensions();
    let (hw, hh) = (w as f32 / 2.0, h as f32 / 2.0);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let v = px.0[0] as f32;
        let grad = gx * (x as f32 - hw) / hw + gy * (y as f32 - hh) / hh;
        px.0[0] = ((v - 128.0) * contrast + 128.0 + brightness + grad).round().clamp(0.0, 255.0) as u8;
    }
}
