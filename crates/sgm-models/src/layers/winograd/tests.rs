use super::super::conv_kernels::{self, Geometry};
use super::*;

fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 2001) as f64 / 1000.0 - 1.0
        })
        .collect()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// Odd and even sides (maps that the tilings cover exactly and ones they pad), non-square maps, paddings 0–2 (1–3
/// for 5×5 filters), one channel, and batches large enough to make several image chunks: in every variant, forward
/// (with a bias + ReLU epilogue) and every gradient equal im2col's to rounding.
#[test]
fn every_variant_matches_im2col_forward_and_backward() {
    let cases = [
        (2, 3, 9, 7, 4, 1),
        (3, 1, 6, 6, 2, 1),
        (1, 5, 13, 10, 3, 0),
        (2, 2, 5, 8, 3, 2),
        (4, 6, 12, 12, 5, 1),
        (2, 4, 7, 5, 6, 1),
        (2, 3, 17, 11, 2, 1),
        (300, 2, 6, 6, 3, 1),
        (3, 700, 6, 6, 2, 1),
        (30, 1100, 12, 12, 2, 1),
    ];
    for (variant, kernel) in [(Variant::F2, 3), (Variant::F3, 3), (Variant::F4, 3), (Variant::F2K5, 5)] {
        for (i, (n, c, h, w, o, p)) in cases.into_iter().enumerate() {
            let padding = p + kernel / 2 - 1;
            let d = Dims::new((n, c, h, w), o, Geometry { kernel, stride: 1, padding });
            // Called directly: `applies` would send the shallow cases (fewer than 16 channels) to im2col.
            assert!(d.oh >= 4 && d.ow >= 4, "case {i}");
            assert_eq!(variant == Variant::F2K5, super::variant(&d) == Variant::F2K5);
            if c == 1100 {
                let chunk = match variant {
                    Variant::F2 => chunk::<2, 4>(&d),
                    Variant::F3 => chunk::<3, 5>(&d),
                    Variant::F4 => chunk::<4, 6>(&d),
                    Variant::F2K5 => chunk::<2, 6>(&d),
                };
                assert!(chunk < n, "several chunks");
            }
            let x = values(n * c * h * w, 1 + i as u64);
            let wt = values(o * c * kernel * kernel, 100 + i as u64);
            let bias = values(o, 200 + i as u64);
            let g = values(n * o * d.oh * d.ow, 300 + i as u64);
            for epilogue in [Epilogue::none(), Epilogue { scale: None, shift: Some(&bias[..]), relu: true }] {
                let ours = forward_in(variant, &x, &wt, &epilogue, &d);
                let theirs = conv_kernels::forward(&x, &wt, &epilogue, &d);
                let e = max_diff(&ours, &theirs);
                assert!(e < 1e-11, "{variant:?} case {i} forward: {e}");
            }
            for (with_bias, with_input) in [(true, true), (false, false)] {
                let (dx, dw, db) = backward_in(variant, &x, &wt, &g, &d, with_bias, with_input);
                let (rx, rw, rb) = conv_kernels::backward(&x, &wt, &g, &d, with_bias, with_input);
                assert_eq!(dx.is_some(), with_input);
                if let (Some(dx), Some(rx)) = (dx, rx) {
                    let e = max_diff(&dx, &rx);
                    assert!(e < 1e-10, "{variant:?} case {i} input gradient: {e}");
                }
                let e = max_diff(&dw, &rw);
                assert!(e < 1e-9, "{variant:?} case {i} weight gradient: {e}");
                assert_eq!(db.is_some(), with_bias);
                if let (Some(db), Some(rb)) = (db, rb) {
                    assert!(max_diff(&db, &rb) < 1e-9, "{variant:?} case {i} bias gradient");
                }
            }
        }
    }
}

/// In f32 the transforms' rounding stays close to im2col's own, relative to the values' scale: to 1e-5 for
/// F(2, 3), and 1e-4 for F(4, 3) and F(2, 5), whose matrices have larger entries (up to 8 and 16) and fractions (down
/// to 1/24).
#[test]
fn f32_stays_close_to_im2col() {
    let (n, c, h, w, o) = (8, 64, 12, 12, 32);
    let variants = [(Variant::F2, 3, 1e-5), (Variant::F3, 3, 1e-5), (Variant::F4, 3, 1e-4), (Variant::F2K5, 5, 1e-4)];
    for (variant, kernel, tol) in variants {
        let d = Dims::new((n, c, h, w), o, Geometry { kernel, stride: 1, padding: kernel / 2 });
        let x: Vec<f32> = values(n * c * h * w, 7).into_iter().map(|v| v as f32).collect();
        let wt: Vec<f32> = values(o * c * kernel * kernel, 8).into_iter().map(|v| v as f32 / 24.0).collect();
        let g: Vec<f32> = values(n * o * h * w, 9).into_iter().map(|v| v as f32).collect();
        let rel = |a: &[f32], b: &[f32]| {
            let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
            a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max) / scale
        };
        let (rx, rw, _) = conv_kernels::backward(&x, &wt, &g, &d, false, true);
        let ry = conv_kernels::forward(&x, &wt, &Epilogue::none(), &d);
        let e = rel(&forward_in(variant, &x, &wt, &Epilogue::none(), &d), &ry);
        assert!(e < tol, "{variant:?} forward {e}");
        let (dx, dw, _) = backward_in(variant, &x, &wt, &g, &d, false, true);
        let e = rel(&dx.unwrap(), rx.as_ref().unwrap());
        assert!(e < tol, "{variant:?} input gradient {e}");
        let e = rel(&dw, &rw);
        assert!(e < tol, "{variant:?} weight gradient {e}");
    }
}

#[test]
fn applies_only_to_3x3_and_5x5_stride_1_maps_of_4_and_more_with_16_channels() {
    let d = |k, s, h, p| Dims::new((1, 16, h, h), 1, Geometry { kernel: k, stride: s, padding: p });
    assert!(applies(&d(3, 1, 4, 1)));
    assert!(applies(&d(5, 1, 11, 2)), "AlexNet's second layer at 48²");
    assert!(!applies(&d(3, 1, 3, 1)), "3×3 map");
    assert!(!applies(&d(3, 2, 12, 1)), "stride 2");
    assert!(!applies(&d(5, 2, 12, 2)), "5×5 at stride 2");
    assert!(!applies(&d(7, 1, 12, 3)), "7×7 kernel");
    assert!(!applies(&d(3, 1, 5, 0)), "3×3 output");
    assert!(!applies(&d(5, 1, 7, 0)), "5×5 kernel, 3×3 output");
    let shallow = |k, c| Dims::new((1, c, 48, 48), 64, Geometry { kernel: k, stride: 1, padding: k / 2 });
    assert!(!applies(&shallow(5, 1)), "FMPNet's first layer");
    assert!(!applies(&shallow(3, 1)), "CVGG13's first layer");
    assert!(!applies(&shallow(3, 15)), "15 channels");
    assert!(applies(&shallow(3, 16)));
}

/// F(4, 3) on maps that its tiles cover with little waste, F(2, 3) where the two tile counts come out alike.
#[test]
fn the_variant_follows_the_products_count() {
    let d = |h, w| Dims::new((1, 1, h, w), 1, Geometry { kernel: 3, stride: 1, padding: 1 });
    for side in [4, 7, 8, 12, 16, 24, 48, 64] {
        assert_eq!(variant(&d(side, side)), Variant::F4, "{side}×{side}");
    }
    for side in [5, 6, 9] {
        assert_eq!(variant(&d(side, side)), Variant::F3, "{side}×{side}");
    }
    assert_eq!(variant(&d(10, 10)), Variant::F2, "10×10: 25 tiles of 16 against 16 of 25");
    assert_eq!(variant(&d(8, 6)), Variant::F4, "8×6: 12 tiles of 16 against 2 of 36");
    let k5 = Dims::new((1, 1, 11, 11), 1, Geometry { kernel: 5, stride: 1, padding: 2 });
    assert_eq!(variant(&k5), Variant::F2K5);
}
