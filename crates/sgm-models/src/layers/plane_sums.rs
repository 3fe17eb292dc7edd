//! Per-channel sums over `(n, c, hw)` data for BatchNorm, one plane (`hw` contiguous values) at a time.
//!
//! Within a plane the sums run in [`LANES`] lanes of the data's own type, so that they are vectorised (a plane is
//! at most a few thousand values, so each lane adds a few hundred at most); each plane's result is then added in
//! f64, so a channel's total does not drift however many planes it has. A channel's variance comes from the
//! planes' own means and squared deviations, combined as Chan, Golub and LeVeque do: one read of the data,
//! without the cancellation of `Σx² − (Σx)²/m`.

use super::conv_kernels::Float;

/// Lanes of a plane sum: sixteen f32 fill one AVX-512 register (two of AVX2's).
const LANES: usize = 16;

/// Σ `f(v)` over `x`, in lanes of `T`, returned in f64.
#[inline(always)]
fn lane_sum<T: Float>(x: &[T], f: impl Fn(T) -> T) -> f64 {
    let mut acc = [T::zero(); LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            acc[l] += f(c[l]);
        }
    }
    let rest: f64 = chunks.remainder().iter().map(|&v| f(v).to_f64()).sum();
    acc.iter().map(|a| a.to_f64()).sum::<f64>() + rest
}

/// [`lane_sum`] of two functions at once.
#[inline(always)]
fn lane_sums<T: Float>(x: &[T], f: impl Fn(T) -> [T; 2]) -> [f64; 2] {
    let mut acc = [[T::zero(); LANES]; 2];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            let [u, v] = f(c[l]);
            acc[0][l] += u;
            acc[1][l] += v;
        }
    }
    let mut out = acc.map(|a| a.iter().map(|v| v.to_f64()).sum::<f64>());
    for &v in chunks.remainder() {
        let [u, w] = f(v);
        out[0] += u.to_f64();
        out[1] += w.to_f64();
    }
    out
}

/// The mean and biased variance of channel `ch` of `x (n, c, hw)`, in f64.
pub(crate) fn channel_mean_var<T: Float>(x: &[T], (n, c, hw): (usize, usize, usize), ch: usize) -> (f64, f64) {
    if n * hw == 0 {
        return (f64::NAN, f64::NAN);
    }
    // Each plane's mean and squared deviations from it, from the deviations `d` from a first rough mean `a`
    // (the shifted-data formulas: x̄ = a + Σd/len, Σ(x − x̄)² = Σd² − (Σd)²/len, accurate while `a` is near x̄).
    let len = hw as f64;
    let planes: Vec<(f64, f64)> = (0..n)
        .map(|b| {
            let plane = &x[(b * c + ch) * hw..][..hw];
            let about = T::from_f64(lane_sum(plane, |v| v) / len);
            let [sd, sq] = lane_sums(plane, |v| {
                let d = v - about;
                [d, d * d]
            });
            (about.to_f64() + sd / len, (sq - sd * sd / len).max(0.0))
        })
        .collect();
    let m = n as f64 * len;
    let mean = planes.iter().map(|p| p.0).sum::<f64>() * len / m;
    let m2: f64 = planes.iter().map(|&(pm, sq)| sq + len * (pm - mean) * (pm - mean)).sum();
    (mean, m2 / m)
}

/// BatchNorm's backward sums for channel `ch`: `Σ dz` and `Σ dz·(x − mean)`, where `dz` is the output
/// gradient `g`, or with `RELU` the gradient where the output `y` is positive and 0 elsewhere.
pub(crate) fn channel_grad_sums<T: Float, const RELU: bool>(
    x: &[T],
    y: &[T],
    g: &[T],
    (n, c, hw): (usize, usize, usize),
    ch: usize,
    mean: T,
) -> (f64, f64) {
    let mut total = (0.0, 0.0);
    for b in 0..n {
        let off = (b * c + ch) * hw;
        let (x, y, g) = (&x[off..][..hw], &y[off..][..hw], &g[off..][..hw]);
        let mut s = [T::zero(); LANES];
        let mut sx = [T::zero(); LANES];
        let (mut xc, mut yc, mut gc) = (x.chunks_exact(LANES), y.chunks_exact(LANES), g.chunks_exact(LANES));
        for ((xl, yl), gl) in (&mut xc).zip(&mut yc).zip(&mut gc) {
            for l in 0..LANES {
                let d = dz::<T, RELU>(yl[l], gl[l]);
                s[l] += d;
                sx[l] += d * (xl[l] - mean);
            }
        }
        for ((&xv, &yv), &gv) in xc.remainder().iter().zip(yc.remainder()).zip(gc.remainder()) {
            let d = dz::<T, RELU>(yv, gv);
            total.0 += d.to_f64();
            total.1 += (d * (xv - mean)).to_f64();
        }
        total.0 += s.iter().map(|a| a.to_f64()).sum::<f64>();
        total.1 += sx.iter().map(|a| a.to_f64()).sum::<f64>();
    }
    total
}

/// The gradient reaching a BatchNorm's output: `g`, or with `RELU` `g` where the output `y` is positive.
#[inline(always)]
pub(crate) fn dz<T: Float, const RELU: bool>(y: T, g: T) -> T {
    if RELU && y <= T::zero() {
        T::zero()
    } else {
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Channel `ch` of `(n, c, hw)` data, in order.
    fn channel(x: &[f64], (n, c, hw): (usize, usize, usize), ch: usize) -> Vec<f64> {
        (0..n).flat_map(|b| x[(b * c + ch) * hw..][..hw].to_vec()).collect()
    }

    #[test]
    fn mean_and_variance_equal_the_two_pass_formula_even_far_from_zero() {
        // Planes shorter and longer than a lane of sixteen, with remainders; values around 1e4 with spread 1e-2
        // (where Σx² − (Σx)²/m in f32 would lose every digit).
        for &(n, c, hw) in &[(3, 2, 5), (2, 3, 37), (4, 1, 16), (1, 2, 1)] {
            let x64: Vec<f64> = (0..n * c * hw).map(|i| 1e4 + ((i * 7919) % 101) as f64 * 1e-4).collect();
            let x32: Vec<f32> = x64.iter().map(|&v| v as f32).collect();
            for ch in 0..c {
                let v = channel(&x64, (n, c, hw), ch);
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                let var = v.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / v.len() as f64;
                let (m, s) = channel_mean_var(&x64, (n, c, hw), ch);
                assert!((m - mean).abs() < 1e-9 && (s - var).abs() < 1e-12 * (1.0 + var), "{m} {s} {mean} {var}");
                // f32 data: the f32 values' own statistics, to f32 rounding of the deviations.
                let v32: Vec<f64> = channel(&x32.iter().map(|&a| a as f64).collect::<Vec<_>>(), (n, c, hw), ch);
                let mean32 = v32.iter().sum::<f64>() / v32.len() as f64;
                let var32 = v32.iter().map(|a| (a - mean32) * (a - mean32)).sum::<f64>() / v32.len() as f64;
                let (m, s) = channel_mean_var(&x32, (n, c, hw), ch);
                assert!((m - mean32).abs() < 1e-9 && (s - var32).abs() < 1e-3 * var32 + 1e-12, "{s} against {var32}");
            }
        }
        assert!(channel_mean_var::<f32>(&[], (0, 2, 4), 1).0.is_nan());
    }

    #[test]
    fn gradient_sums_mask_with_the_relu_and_add_every_value() {
        let (n, c, hw) = (3, 2, 21);
        let len = n * c * hw;
        let x: Vec<f64> = (0..len).map(|i| ((i * 37) % 11) as f64 - 5.0).collect();
        let y: Vec<f64> = (0..len).map(|i| ((i * 13) % 7) as f64 - 3.0).collect();
        let g: Vec<f64> = (0..len).map(|i| ((i * 5) % 9) as f64 * 0.5 - 2.0).collect();
        for ch in 0..c {
            let mean = 0.25;
            let idx: Vec<usize> = (0..n).flat_map(|b| (b * c + ch) * hw..(b * c + ch + 1) * hw).collect();
            for relu in [false, true] {
                let d = |i: usize| if relu && y[i] <= 0.0 { 0.0 } else { g[i] };
                let s: f64 = idx.iter().map(|&i| d(i)).sum();
                let sx: f64 = idx.iter().map(|&i| d(i) * (x[i] - mean)).sum();
                let got = if relu {
                    channel_grad_sums::<f64, true>(&x, &y, &g, (n, c, hw), ch, mean)
                } else {
                    channel_grad_sums::<f64, false>(&x, &y, &g, (n, c, hw), ch, mean)
                };
                assert!((got.0 - s).abs() < 1e-9 && (got.1 - sx).abs() < 1e-9, "relu {relu}: {got:?} {s} {sx}");
            }
        }
    }
}
