//! The transform matrices of the Winograd variants, as maps on one line of values, and the 2-D map built from them.
//!
//! A variant F(m×m, r×r) computes an `m × m` block of outputs ("tile") from the `p × p` input patch under it,
//! `p = m + r − 1`: `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`. The matrices for F(2, 3) and F(4, 3) are Lavin and Gray's
//! (2016), the ones oneDNN and NNPACK use; F(3, 3) takes the points 0, ±1, 2, ∞. F(2, 5) is built on F(4, 3)'s six points (0, ±1, ±2, ∞), so it shares
//! its `Bᵀ`; `G` evaluates the 5-tap filter at the points (divided by the same factors) and `Aᵀ` keeps the first two
//! rows of the Vandermonde map. Each map comes with its adjoint (the transposed matrix), which the backward passes
//! apply.

use super::super::lanes::Ring;

/// One Winograd variant: `R × R` filters, output tiles of `M × M`, input patches of `P × P` (`P = M + R − 1`), `P²`
/// products per tile.
pub(crate) trait Tiling<const M: usize, const P: usize, const R: usize> {
    /// `Bᵀ v`: one line of an input patch into the transformed domain.
    fn bt<T: Ring>(v: [T; P]) -> [T; P];
    /// `B v`, the adjoint of [`Tiling::bt`].
    fn b<T: Ring>(v: [T; P]) -> [T; P];
    /// `G g`: one line of an `R × R` filter into the transformed domain.
    fn g<T: Ring>(v: [T; R]) -> [T; P];
    /// `Gᵀ u`, the adjoint of [`Tiling::g`].
    fn gt<T: Ring>(u: [T; P]) -> [T; R];
    /// `Aᵀ m`: one line of a product back to `M` outputs.
    fn at<T: Ring>(m: [T; P]) -> [T; M];
    /// `A y`, the adjoint of [`Tiling::at`].
    fn a<T: Ring>(y: [T; M]) -> [T; P];
}

fn c<T: Ring>(v: f64) -> T {
    T::of(v)
}

/// F(2×2, 3×3): 16 products per 4 outputs.
pub(crate) struct F2;

impl Tiling<2, 4, 3> for F2 {
    #[inline(always)]
    fn bt<T: Ring>(v: [T; 4]) -> [T; 4] {
        [v[0] - v[2], v[1] + v[2], v[2] - v[1], v[1] - v[3]]
    }

    #[inline(always)]
    fn b<T: Ring>(v: [T; 4]) -> [T; 4] {
        [v[0], v[1] - v[2] + v[3], v[1] + v[2] - v[0], T::ZERO - v[3]]
    }

    #[inline(always)]
    fn g<T: Ring>(v: [T; 3]) -> [T; 4] {
        let h = c::<T>(0.5);
        [v[0], (v[0] + v[1] + v[2]) * h, (v[0] - v[1] + v[2]) * h, v[2]]
    }

    #[inline(always)]
    fn gt<T: Ring>(u: [T; 4]) -> [T; 3] {
        let h = c::<T>(0.5);
        [u[0] + (u[1] + u[2]) * h, (u[1] - u[2]) * h, (u[1] + u[2]) * h + u[3]]
    }

    #[inline(always)]
    fn at<T: Ring>(m: [T; 4]) -> [T; 2] {
        [m[0] + m[1] + m[2], m[1] - m[2] - m[3]]
    }

    #[inline(always)]
    fn a<T: Ring>(y: [T; 2]) -> [T; 4] {
        [y[0], y[0] + y[1], y[0] - y[1], T::ZERO - y[1]]
    }
}

/// F(3×3, 3×3): 25 products per 9 outputs (2.8 per output), on the points 0, ±1, 2 and ∞. It serves the maps that
/// F(2, 3) and F(4, 3) both pad by a third or more (5×5, 6×6, 9×9). `Bᵀ` was solved for from `G` and `Aᵀ` (the
/// points' Vandermonde maps, as for F(4, 3)) and checked against the 1-D correlation below.
pub(crate) struct F3;

impl Tiling<3, 5, 3> for F3 {
    #[inline(always)]
    fn bt<T: Ring>(v: [T; 5]) -> [T; 5] {
        let two = c::<T>(2.0);
        [
            two * (v[0] - v[2]) + v[3] - v[1],
            v[3] - v[2] - two * v[1],
            two * v[1] - c::<T>(3.0) * v[2] + v[3],
            v[3] - v[1],
            two * (v[1] - v[3]) - v[2] + v[4],
        ]
    }

    #[inline(always)]
    fn b<T: Ring>(u: [T; 5]) -> [T; 5] {
        let two = c::<T>(2.0);
        [
            two * u[0],
            two * (u[2] - u[1] + u[4]) - u[0] - u[3],
            T::ZERO - two * u[0] - u[1] - c::<T>(3.0) * u[2] - u[4],
            u[0] + u[1] + u[2] + u[3] - two * u[4],
            u[4],
        ]
    }

    #[inline(always)]
    fn g<T: Ring>(v: [T; 3]) -> [T; 5] {
        let (half, sixth) = (c::<T>(0.5), c::<T>(1.0 / 6.0));
        [
            v[0] * half,
            T::ZERO - (v[0] + v[1] + v[2]) * half,
            (v[1] - v[0] - v[2]) * sixth,
            (v[0] + c::<T>(2.0) * v[1] + c::<T>(4.0) * v[2]) * sixth,
            v[2],
        ]
    }

    #[inline(always)]
    fn gt<T: Ring>(u: [T; 5]) -> [T; 3] {
        let (half, sixth, third) = (c::<T>(0.5), c::<T>(1.0 / 6.0), c::<T>(1.0 / 3.0));
        [
            (u[0] - u[1]) * half + (u[3] - u[2]) * sixth,
            u[2] * sixth + u[3] * third - u[1] * half,
            u[4] + u[3] * c::<T>(2.0 / 3.0) - u[1] * half - u[2] * sixth,
        ]
    }

    #[inline(always)]
    fn at<T: Ring>(m: [T; 5]) -> [T; 3] {
        [m[0] + m[1] + m[2] + m[3], m[1] - m[2] + c::<T>(2.0) * m[3], m[1] + m[2] + c::<T>(4.0) * m[3] + m[4]]
    }

    #[inline(always)]
    fn a<T: Ring>(y: [T; 3]) -> [T; 5] {
        [y[0], y[0] + y[1] + y[2], y[0] - y[1] + y[2], y[0] + c::<T>(2.0) * y[1] + c::<T>(4.0) * y[2], y[2]]
    }
}

/// F(4×4, 3×3): 36 products per 16 outputs (2.25 per output, against F(2, 3)'s 4 and im2col's 9).
pub(crate) struct F4;

impl Tiling<4, 6, 3> for F4 {
    #[inline(always)]
    fn bt<T: Ring>(v: [T; 6]) -> [T; 6] {
        let (two, four, five) = (c::<T>(2.0), c::<T>(4.0), c::<T>(5.0));
        // Shared terms: rows 1/2 and 3/4 differ in the sign of one half.
        let (p12, p34) = (v[4] - four * v[2], v[4] - v[2]);
        let (m12, m34) = (v[3] - four * v[1], two * (v[3] - v[1]));
        [four * v[0] - five * v[2] + v[4], p12 + m12, p12 - m12, p34 + m34, p34 - m34, four * v[1] - five * v[3] + v[5]]
    }

    #[inline(always)]
    fn b<T: Ring>(u: [T; 6]) -> [T; 6] {
        let (two, four, five) = (c::<T>(2.0), c::<T>(4.0), c::<T>(5.0));
        [
            four * u[0],
            four * (u[2] - u[1]) + two * (u[4] - u[3]) + four * u[5],
            T::ZERO - five * u[0] - four * (u[1] + u[2]) - u[3] - u[4],
            u[1] - u[2] + two * (u[3] - u[4]) - five * u[5],
            u[0] + u[1] + u[2] + u[3] + u[4],
            u[5],
        ]
    }

    #[inline(always)]
    fn g<T: Ring>(v: [T; 3]) -> [T; 6] {
        let (sixth, twelfth, quarter) = (c::<T>(1.0 / 6.0), c::<T>(1.0 / 12.0), c::<T>(0.25));
        let (even, odd) = (v[0] + v[2], v[1]);
        let (e2, o2) = (v[0] * c::<T>(1.0 / 24.0) + v[2] * sixth, odd * twelfth);
        [v[0] * quarter, T::ZERO - (even + odd) * sixth, (odd - even) * sixth, e2 + o2, e2 - o2, v[2]]
    }

    #[inline(always)]
    fn gt<T: Ring>(u: [T; 6]) -> [T; 3] {
        let (sixth, twelfth, quarter) = (c::<T>(1.0 / 6.0), c::<T>(1.0 / 12.0), c::<T>(0.25));
        let (s12, d12, s34, d34) = (u[1] + u[2], u[2] - u[1], u[3] + u[4], u[3] - u[4]);
        [
            u[0] * quarter - s12 * sixth + s34 * c::<T>(1.0 / 24.0),
            d12 * sixth + d34 * twelfth,
            (s34 - s12) * sixth + u[5],
        ]
    }

    #[inline(always)]
    fn at<T: Ring>(m: [T; 6]) -> [T; 4] {
        let (s12, d12, s34, d34) = (m[1] + m[2], m[1] - m[2], m[3] + m[4], m[3] - m[4]);
        let (two, four, eight) = (c::<T>(2.0), c::<T>(4.0), c::<T>(8.0));
        [m[0] + s12 + s34, d12 + two * d34, s12 + four * s34, d12 + eight * d34 + m[5]]
    }

    #[inline(always)]
    fn a<T: Ring>(y: [T; 4]) -> [T; 6] {
        let (two, four, eight) = (c::<T>(2.0), c::<T>(4.0), c::<T>(8.0));
        let (e, o) = (y[0] + four * y[2], two * y[1] + eight * y[3]);
        [y[0], y[0] + y[1] + y[2] + y[3], y[0] - y[1] + y[2] - y[3], e + o, e - o, y[3]]
    }
}

/// F(2×2, 5×5): 36 products per 4 outputs (9 per output, against im2col's 25), on F(4, 3)'s points and `Bᵀ`.
pub(crate) struct F2K5;

impl Tiling<2, 6, 5> for F2K5 {
    #[inline(always)]
    fn bt<T: Ring>(v: [T; 6]) -> [T; 6] {
        <F4 as Tiling<4, 6, 3>>::bt(v)
    }

    #[inline(always)]
    fn b<T: Ring>(u: [T; 6]) -> [T; 6] {
        <F4 as Tiling<4, 6, 3>>::b(u)
    }

    #[inline(always)]
    fn g<T: Ring>(v: [T; 5]) -> [T; 6] {
        // Rows: the filter polynomial at 0, 1, −1, 2, −2 divided by 4, −6, −6, 24, 24; then its top coefficient.
        let (sixth, quarter, twenty_fourth) = (c::<T>(1.0 / 6.0), c::<T>(0.25), c::<T>(1.0 / 24.0));
        let (even, odd) = (v[0] + v[2] + v[4], v[1] + v[3]);
        let e2 = (v[0] + c::<T>(4.0) * v[2] + c::<T>(16.0) * v[4]) * twenty_fourth;
        let o2 = (c::<T>(2.0) * v[1] + c::<T>(8.0) * v[3]) * twenty_fourth;
        [v[0] * quarter, T::ZERO - (even + odd) * sixth, (odd - even) * sixth, e2 + o2, e2 - o2, v[4]]
    }

    #[inline(always)]
    fn gt<T: Ring>(u: [T; 6]) -> [T; 5] {
        let (sixth, twelfth, third) = (c::<T>(1.0 / 6.0), c::<T>(1.0 / 12.0), c::<T>(1.0 / 3.0));
        let (s12, d21, s34, d34) = (u[1] + u[2], u[2] - u[1], u[3] + u[4], u[3] - u[4]);
        [
            u[0] * c::<T>(0.25) - s12 * sixth + s34 * c::<T>(1.0 / 24.0),
            d21 * sixth + d34 * twelfth,
            (s34 - s12) * sixth,
            d21 * sixth + d34 * third,
            s34 * c::<T>(2.0 / 3.0) - s12 * sixth + u[5],
        ]
    }

    #[inline(always)]
    fn at<T: Ring>(m: [T; 6]) -> [T; 2] {
        [m[0] + m[1] + m[2] + m[3] + m[4], m[1] - m[2] + c::<T>(2.0) * (m[3] - m[4]) + m[5]]
    }

    #[inline(always)]
    fn a<T: Ring>(y: [T; 2]) -> [T; 6] {
        let two = c::<T>(2.0) * y[1];
        [y[0], y[0] + y[1], y[0] - y[1], y[0] + two, y[0] - two, y[1]]
    }
}

/// `L p Rᵀ` for a row map `L` and a column map `R` given as functions on one line of values.
#[inline(always)]
pub(crate) fn both<T: Ring, const I: usize, const O: usize, const J: usize, const Q: usize>(
    p: [[T; J]; I],
    rows: impl Fn([T; I]) -> [T; O],
    cols: impl Fn([T; J]) -> [T; Q],
) -> [[T; Q]; O] {
    // Columns first: each of the I rows of p through `cols`, then each of the Q columns through `rows`. Plain
    // loops rather than `map`/`from_fn`, which LLVM leaves as calls on the 6-wide arrays of F(4, 3).
    let mut mapped = [[T::ZERO; Q]; I];
    for i in 0..I {
        mapped[i] = cols(p[i]);
    }
    let mut out = [[T::ZERO; Q]; O];
    for j in 0..Q {
        let mut line = [T::ZERO; I];
        for i in 0..I {
            line[i] = mapped[i][j];
        }
        let col = rows(line);
        for i in 0..O {
            out[i][j] = col[i];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matrix of a linear map on `N` values, one column per unit vector.
    fn matrix<const N: usize, const K: usize>(f: impl Fn([f64; N]) -> [f64; K]) -> Vec<Vec<f64>> {
        (0..K).map(|i| (0..N).map(|j| f(std::array::from_fn(|k| f64::from(k == j)))[i]).collect()).collect()
    }

    fn transposed(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
        (0..m[0].len()).map(|j| m.iter().map(|row| row[j]).collect()).collect()
    }

    /// Each map's adjoint is its transposed matrix, exactly.
    fn adjoints<W: Tiling<M, P, R>, const M: usize, const P: usize, const R: usize>() {
        assert_eq!(matrix(W::b::<f64>), transposed(&matrix(W::bt::<f64>)), "B");
        assert_eq!(matrix(W::gt::<f64>), transposed(&matrix(W::g::<f64>)), "G");
        assert_eq!(matrix(W::a::<f64>), transposed(&matrix(W::at::<f64>)), "A");
    }

    #[test]
    fn every_adjoint_is_the_transposed_map() {
        adjoints::<F2, 2, 4, 3>();
        adjoints::<F3, 3, 5, 3>();
        adjoints::<F4, 4, 6, 3>();
        adjoints::<F2K5, 2, 6, 5>();
    }

    /// Lavin and Gray's matrices for F(4, 3), written out as in the paper (rows of Bᵀ, G and Aᵀ).
    #[test]
    fn f4_matrices_are_lavin_and_grays() {
        let bt = [
            [4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
            [0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
            [0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
            [0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
            [0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
            [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
        ];
        let g = [
            [1.0 / 4.0, 0.0, 0.0],
            [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
            [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
            [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
            [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
            [0.0, 0.0, 1.0],
        ];
        let at = [
            [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
            [0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
            [0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
            [0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
        ];
        let close = |a: Vec<Vec<f64>>, b: Vec<Vec<f64>>, what: &str| {
            for (ra, rb) in a.iter().zip(&b) {
                for (x, y) in ra.iter().zip(rb) {
                    assert!((x - y).abs() < 1e-15, "{what}: {a:?} against {b:?}");
                }
            }
        };
        close(matrix(F4::bt::<f64>), bt.iter().map(|r| r.to_vec()).collect(), "Bᵀ");
        close(matrix(F4::g::<f64>), g.iter().map(|r| r.to_vec()).collect(), "G");
        close(matrix(F4::at::<f64>), at.iter().map(|r| r.to_vec()).collect(), "Aᵀ");
    }

    /// The 1-D identity the variants rest on: `Aᵀ [(G g) ⊙ (Bᵀ d)]` is the correlation of `d` with `g`.
    fn correlates<W: Tiling<M, P, R>, const M: usize, const P: usize, const R: usize>() {
        let d: [f64; P] = std::array::from_fn(|i| (i as f64 * 0.37).sin() + 0.2);
        let k: [f64; R] = std::array::from_fn(|i| (i as f64 * 1.3).cos() - 0.4);
        let (u, v) = (W::g(k), W::bt(d));
        let y = W::at(std::array::from_fn(|i| u[i] * v[i]));
        for (i, yi) in y.iter().enumerate() {
            let want: f64 = (0..R).map(|j| k[j] * d[i + j]).sum();
            assert!((yi - want).abs() < 1e-12, "output {i}: {yi} against {want}");
        }
    }

    #[test]
    fn each_variant_computes_a_correlation() {
        correlates::<F2, 2, 4, 3>();
        correlates::<F3, 3, 5, 3>();
        correlates::<F4, 4, 6, 3>();
        correlates::<F2K5, 2, 6, 5>();
    }
}
