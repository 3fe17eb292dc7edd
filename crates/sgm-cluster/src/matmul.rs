//! f64 matrix products for the EM and covariance steps, through the `gemm` crate that candle's CPU backend uses:
//! its kernels are chosen at run time for the processor (AVX2, AVX-512 with the `x86-v4` feature sgm-models turns
//! on), and large products are split over rayon's threads. ndarray's own `dot` (matrixmultiply) runs on one
//! thread. Each output element is accumulated in the same order whatever the thread count, so results do not
//! depend on it.

use ndarray::{Array2, ArrayView2};

/// Products smaller than this many multiply-adds stay on the calling thread.
const PARALLEL_FROM: usize = 1 << 20;

/// `a · b` for any strides (transposed views included).
pub(crate) fn dot(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert_eq!(k, k2, "matmul: {m}×{k} · {k2}×{n}");
    let mut out = Array2::<f64>::zeros((m, n));
    if m == 0 || n == 0 || k == 0 {
        return out;
    }
    let parallelism = if m * n * k >= PARALLEL_FROM {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    };
    let (a_s, b_s, o_s) = (a.strides(), b.strides(), out.strides().to_vec());
    // SAFETY: the pointers and strides describe the live views `a`, `b` and the owned `out` with the dimensions
    // checked above; `out` does not alias the inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            o_s[1],
            o_s[0],
            false,
            a.as_ptr(),
            a_s[1],
            a_s[0],
            b.as_ptr(),
            b_s[1],
            b_s[0],
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array;

    #[test]
    fn equals_ndarray_dot_for_plain_and_transposed_views() {
        let a = Array::from_shape_fn((37, 13), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
        let b = Array::from_shape_fn((13, 29), |(i, j)| ((i * 5 + j) % 7) as f64 * 0.5);
        let bt = b.t().to_owned();
        for (got, want) in [
            (dot(a.view(), b.view()), a.dot(&b)),
            (dot(a.view(), bt.t()), a.dot(&b)),
            (dot(b.t(), a.t()), b.t().dot(&a.t())),
        ] {
            assert_eq!(got.dim(), want.dim());
            for (g, w) in got.iter().zip(want.iter()) {
                assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "{g} vs {w}");
            }
        }
        let big = Array::from_shape_fn((300, 64), |(i, j)| ((i * 31 + j * 17) % 23) as f64 / 7.0);
        let w = Array::from_shape_fn((64, 80), |(i, j)| ((i + 2 * j) % 5) as f64 - 2.0);
        let (got, want) = (dot(big.view(), w.view()), big.dot(&w));
        assert!(got.iter().zip(want.iter()).all(|(g, w)| (g - w).abs() <= 1e-9 * w.abs().max(1.0)));
    }
}
