//! Winograd F(2×2, 3×3) convolution for 3×3 stride-1 layers, forward and both gradients, on plain slices.
//!
//! Each 2×2 block of outputs ("tile") is computed from the 4×4 input patch under it in a transformed domain where
//! the convolution is an element-wise product: 16 multiply-adds per tile and channel pair instead of im2col's 36.
//! With `V = Bᵀ d B` (input patch), `U = G g Gᵀ` (filter) and `Y = Aᵀ M A` (output), the layer is 16 matrix
//! products `M[ξ] (O × T) = U[ξ] (O × C) · V[ξ] (C × T)`, one per transformed position ξ, over the `T` tiles of a
//! chunk of images (Lavin and Gray, *Fast Algorithms for Convolutional Neural Networks*, 2016).
//!
//! Every step is linear, so the backward is the same maps transposed, in the same domain:
//! - `dM = A dY Aᵀ` (output gradient tiles, zero past the map's edge);
//! - weight gradient: `dU[ξ] = Σ_t dM[ξ] · V[ξ]ᵀ`, then `dg = Gᵀ dU G`;
//! - input gradient: `dV[ξ] = U[ξ]ᵀ · dM[ξ]`, then each patch's `B dV Bᵀ` added back into the image.
//!
//! The 16 products of a chunk run in parallel, one per thread at a time, with no synchronisation inside them.
//! Buffers: `V` and the products' outputs in the scratch pool; `V` is recomputed from the input in the backward
//! rather than kept. [`applies`] says where this beats im2col (measured in `docs/performance.md`).

use rayon::prelude::*;

use super::conv_kernels::{Dims, Epilogue, Float};
use super::scratch::{par_zeroed, Scratch};

/// Transformed positions per tile (4 × 4).
const XI: usize = 16;

/// Whether a convolution takes this path: 3×3 kernels at stride 1 whose output map is at least `MIN_SIDE` on both
/// sides. Smaller maps waste most of each 2×2 tile on outputs past the edge and make products too narrow for
/// gemm to run near its peak.
pub(crate) fn applies(d: &Dims) -> bool {
    const MIN_SIDE: usize = 4;
    d.g.kernel == 3 && d.g.stride == 1 && d.oh >= MIN_SIDE && d.ow >= MIN_SIDE
}

/// Tiles per image along each side and in all.
fn tiles(d: &Dims) -> (usize, usize, usize) {
    let (th, tw) = (d.oh.div_ceil(2), d.ow.div_ceil(2));
    (th, tw, th * tw)
}

/// Images per chunk: `V` and the products (`16 × max(C, O) × T` values each) stay within a bounded buffer.
fn chunk(d: &Dims) -> usize {
    const MAX_ELEMS: usize = 8 << 20;
    let per_image = XI * d.c.max(d.o) * tiles(d).2;
    (MAX_ELEMS / per_image.max(1)).clamp(1, d.n.max(1))
}

/// A stride of at least `n` values that is an odd number of 64-byte lines (for f32; 128 for f64): the 16 rows
/// that one tile's transform writes (or reads) one value each then fall in 16 different cache sets. At a power-of-two
/// stride (`T` = 4096 tiles at 64², `O·T` for the products) they all map to one set and evict one another.
fn padded(n: usize) -> usize {
    let m = n.next_multiple_of(16);
    if (m / 16) % 2 == 1 {
        m
    } else {
        m + 16
    }
}

fn half<T: Float>() -> T {
    T::from_f64(0.5)
}

/// `Bᵀ v` on four values (one column or row of a patch).
#[inline(always)]
fn bt<T: Float>(v: [T; 4]) -> [T; 4] {
    [v[0] - v[2], v[1] + v[2], v[2] - v[1], v[1] - v[3]]
}

/// `B v`, the adjoint of [`bt`].
#[inline(always)]
fn b<T: Float>(v: [T; 4]) -> [T; 4] {
    [v[0], v[1] - v[2] + v[3], v[1] + v[2] - v[0], T::zero() - v[3]]
}

/// `G g` on three filter values.
#[inline(always)]
fn g<T: Float>(v: [T; 3]) -> [T; 4] {
    let h = half::<T>();
    [v[0], (v[0] + v[1] + v[2]) * h, (v[0] - v[1] + v[2]) * h, v[2]]
}

/// `Gᵀ u`, the adjoint of [`g`].
#[inline(always)]
fn gt<T: Float>(u: [T; 4]) -> [T; 3] {
    let h = half::<T>();
    [u[0] + (u[1] + u[2]) * h, (u[1] - u[2]) * h, (u[1] + u[2]) * h + u[3]]
}

/// `Aᵀ m` on four values.
#[inline(always)]
fn at<T: Float>(m: [T; 4]) -> [T; 2] {
    [m[0] + m[1] + m[2], m[1] - m[2] - m[3]]
}

/// `A y`, the adjoint of [`at`].
#[inline(always)]
fn a<T: Float>(y: [T; 2]) -> [T; 4] {
    [y[0], y[0] + y[1], y[0] - y[1], T::zero() - y[1]]
}

/// `L p Rᵀ` for a row map `L` and a column map `R` given as functions on one line of values.
#[inline(always)]
fn both<T: Float, const I: usize, const O: usize, const J: usize, const P: usize>(
    p: [[T; J]; I],
    rows: impl Fn([T; I]) -> [T; O],
    cols: impl Fn([T; J]) -> [T; P],
) -> [[T; P]; O] {
    // Columns first: each of the I rows of p through `cols`, then each of the P columns through `rows`.
    let mapped: [[T; P]; I] = p.map(&cols);
    let mut out = [[T::zero(); P]; O];
    for j in 0..P {
        let col = rows(std::array::from_fn(|i| mapped[i][j]));
        for i in 0..O {
            out[i][j] = col[i];
        }
    }
    out
}

/// `U` of the weight `(O, C, 3, 3)`: `u[(o·16 + ξ)·C + c]`, one block of `16 × C` values per filter.
fn transform_weight<T: Float>(w: &[T], d: &Dims, u: &mut [T]) {
    let c = d.c;
    u[..d.o * XI * c].par_chunks_mut(XI * c).enumerate().for_each(|(o, uo)| {
        for ci in 0..c {
            let k = &w[(o * c + ci) * 9..][..9];
            let m = both([[k[0], k[1], k[2]], [k[3], k[4], k[5]], [k[6], k[7], k[8]]], g, g);
            for (xi, v) in m.iter().flatten().enumerate() {
                uo[xi * c + ci] = *v;
            }
        }
    });
}

/// The 16 transformed values of one tile and row, one per position: `buf[ξ·stride + offset]`, as a 4×4 array.
#[inline(always)]
fn gather<T: Float>(buf: &[T], stride: usize, offset: usize) -> [[T; 4]; 4] {
    std::array::from_fn(|i| std::array::from_fn(|j| buf[(i * 4 + j) * stride + offset]))
}

/// The 4×4 input patch of tile `(ti, tj)` in a plane, zero outside it.
#[inline(always)]
fn patch<T: Float>(plane: &[T], d: &Dims, ti: usize, tj: usize) -> [[T; 4]; 4] {
    let (r0, c0) = ((2 * ti) as isize - d.g.padding as isize, (2 * tj) as isize - d.g.padding as isize);
    let (h, w) = (d.h as isize, d.w as isize);
    if r0 >= 0 && c0 >= 0 && r0 + 4 <= h && c0 + 4 <= w {
        let at = |i: usize| &plane[(r0 as usize + i) * d.w + c0 as usize..][..4];
        return std::array::from_fn(|i| {
            let row = at(i);
            [row[0], row[1], row[2], row[3]]
        });
    }
    std::array::from_fn(|i| {
        std::array::from_fn(|j| {
            let (r, cc) = (r0 + i as isize, c0 + j as isize);
            if (0..h).contains(&r) && (0..w).contains(&cc) {
                plane[r as usize * d.w + cc as usize]
            } else {
                T::zero()
            }
        })
    })
}

/// `V` of `nb` images: `v[(c·16 + ξ)·ld + t]` (`ld` = [`padded`]`(T)`), one block of `16 × ld` per input channel.
fn transform_input<T: Float>(x: &[T], d: &Dims, nb: usize, v: &mut [T]) {
    let (th, tw, tpi) = tiles(d);
    let ld = padded(nb * tpi);
    let hw = d.h * d.w;
    v[..d.c * XI * ld].par_chunks_mut(XI * ld).enumerate().for_each(|(ci, vc)| {
        for bi in 0..nb {
            let plane = &x[(bi * d.c + ci) * hw..][..hw];
            for ti in 0..th {
                for tj in 0..tw {
                    let t = bi * tpi + ti * tw + tj;
                    let m = both(patch(plane, d, ti, tj), bt, bt);
                    for (xi, val) in m.iter().flatten().enumerate() {
                        vc[xi * ld + t] = *val;
                    }
                }
            }
        }
    });
}

/// One product per transformed position, in parallel over the 16, each on one thread: `dst[ξ] (m × n)
/// [+]= lhs[ξ] (m × k) · rhs[ξ] (k × n)`. Each operand is (base pointer, stride between positions, row stride,
/// column stride); `dst` is row-major, `(stride between positions, row stride)` given.
///
/// # Safety
/// Every operand must address 16 matrices of the given sizes and strides; `dst` must not overlap the others.
#[allow(clippy::type_complexity)]
unsafe fn products<T: Float>(
    (m, n, k): (usize, usize, usize),
    (dst, dst_pos, dst_row): (&mut [T], usize, usize),
    accumulate: bool,
    lhs: (*const T, usize, usize, usize),
    rhs: (*const T, usize, usize, usize),
) {
    struct Ptr<T>(*const T);
    // SAFETY: the operands are only read while `products` runs, and the caller keeps them alive.
    unsafe impl<T> Sync for Ptr<T> {}
    unsafe impl<T> Send for Ptr<T> {}
    let (l, r) = (Ptr(lhs.0), Ptr(rhs.0));
    debug_assert!(dst_pos >= m * dst_row && dst_row >= n && dst.len() >= XI * dst_pos);
    dst[..XI * dst_pos].par_chunks_mut(dst_pos).enumerate().for_each(|(xi, out)| {
        let (l, r) = (&l, &r);
        // SAFETY: as the caller promised, for position `xi`.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                out.as_mut_ptr(),
                1,
                dst_row as isize,
                accumulate,
                l.0.add(xi * lhs.1),
                lhs.3 as isize,
                lhs.2 as isize,
                r.0.add(xi * rhs.1),
                rhs.3 as isize,
                rhs.2 as isize,
                T::from_f64(if accumulate { 1.0 } else { 0.0 }),
                T::one(),
                false,
                false,
                false,
                gemm::Parallelism::None,
            )
        }
    });
}

/// `conv2d(x, w)` (3×3, stride 1) followed by `epilogue`, as `(n, o, oh, ow)`, row-major.
pub(crate) fn forward<T: Float>(x: &[T], w: &[T], epilogue: &Epilogue<T>, d: &Dims) -> Vec<T> {
    let (c, o, l) = (d.c, d.o, d.oh * d.ow);
    let (_, tw, tpi) = tiles(d);
    let chunk = chunk(d);
    let img = c * d.h * d.w;
    let mut u = Scratch::<T>::take(o * XI * c);
    transform_weight(w, d, &mut u);
    let mut v = Scratch::<T>::take(c * XI * padded(chunk * tpi));
    let mut m = Scratch::<T>::take(XI * padded(o * padded(chunk * tpi)));
    let total = d.n * o * l;
    // Every output value is written below (each output position lies in exactly one tile) before the length is set.
    let mut y: Vec<T> = Vec::with_capacity(total);
    let yu = &mut y.spare_capacity_mut()[..total];
    let mut start = 0;
    while start < d.n {
        let nb = chunk.min(d.n - start);
        let (tt, ld) = (nb * tpi, padded(nb * tpi));
        let pm = padded(o * ld);
        transform_input(&x[start * img..(start + nb) * img], d, nb, &mut v);
        // M[ξ] (o × tt, rows ld apart, positions pm apart) = U[ξ] (o × c) · V[ξ] (c × tt)
        // SAFETY: U is o blocks of 16 × c, V is c blocks of 16 × ld, M gets 16 blocks of o × ld within its size.
        unsafe {
            products((o, tt, c), (&mut m, pm, ld), false, (u.as_ptr(), c, XI * c, 1), (v.as_ptr(), ld, XI * ld, 1))
        };
        let m = &*m;
        yu[start * o * l..][..nb * o * l].par_chunks_mut(l).enumerate().for_each(|(plane_idx, out)| {
            let (bi, oc) = (plane_idx / o, plane_idx % o);
            let f = epilogue.channel(oc);
            for t in 0..tpi {
                let (ti, tj) = (t / tw, t % tw);
                let col = bi * tpi + t;
                let mt: [[T; 4]; 4] = gather(m, pm, oc * ld + col);
                let yt = both(mt, at, at);
                for (i, row) in yt.iter().enumerate() {
                    let r = 2 * ti + i;
                    if r >= d.oh {
                        break;
                    }
                    for (j, &val) in row.iter().enumerate() {
                        let cc = 2 * tj + j;
                        if cc < d.ow {
                            out[r * d.ow + cc].write(f(val));
                        }
                    }
                }
            }
        });
        start += nb;
    }
    // SAFETY: the chunks cover images 0..n, and every (image, filter) plane was wholly written.
    unsafe { y.set_len(total) };
    y
}

/// Gradients from the output gradient `grad` `(n, o, oh, ow)`: input (when `with_input`), weight and, when asked,
/// bias, as [`super::conv_kernels::backward`].
pub(crate) fn backward<T: Float>(
    x: &[T],
    w: &[T],
    grad: &[T],
    d: &Dims,
    with_bias: bool,
    with_input: bool,
) -> (Option<Vec<T>>, Vec<T>, Option<Vec<T>>) {
    let (c, o, l) = (d.c, d.o, d.oh * d.ow);
    let (_, tw, tpi) = tiles(d);
    let chunk = chunk(d);
    let img = c * d.h * d.w;
    let hw = d.h * d.w;
    let mut u = Scratch::<T>::take(if with_input { o * XI * c } else { 0 });
    if with_input {
        transform_weight(w, d, &mut u);
    }
    // Patches overlap: their gradients are added into a zeroed input gradient.
    let mut dx = with_input.then(|| par_zeroed(d.n * img, img, T::zero(), |_, _| {}));
    let db = with_bias.then(|| {
        (0..o)
            .into_par_iter()
            .map(|oc| (0..d.n).fold(T::zero(), |s, bi| grad[(bi * o + oc) * l..][..l].iter().fold(s, |s, &g| s + g)))
            .collect::<Vec<T>>()
    });
    // dU: 16 blocks of o × c (positions pu apart), accumulated over chunks.
    let pu = padded(o * c);
    let mut du = Scratch::<T>::take(XI * pu);
    let ldc = padded(chunk * tpi);
    // V, then dV (16 blocks of c × ld, positions padded(c·ld) apart) in the same buffer.
    let mut v = Scratch::<T>::take((c * XI * ldc).max(XI * padded(c * ldc)));
    let mut dm = Scratch::<T>::take(o * XI * ldc);
    let mut start = 0;
    while start < d.n {
        let nb = chunk.min(d.n - start);
        let (tt, ld) = (nb * tpi, padded(nb * tpi));
        transform_input(&x[start * img..(start + nb) * img], d, nb, &mut v);
        // dM: `dm[(oc·16 + ξ)·ld + t]`, one block of 16 × ld per filter.
        let g = &grad[start * o * l..][..nb * o * l];
        dm[..o * XI * ld].par_chunks_mut(XI * ld).enumerate().for_each(|(oc, dmo)| {
            for bi in 0..nb {
                let plane = &g[(bi * o + oc) * l..][..l];
                for t in 0..tpi {
                    let (ti, tj) = (t / tw, t % tw);
                    let at_ = |i: usize, j: usize| {
                        let (r, cc) = (2 * ti + i, 2 * tj + j);
                        if r < d.oh && cc < d.ow {
                            plane[r * d.ow + cc]
                        } else {
                            T::zero()
                        }
                    };
                    let gt_ = [[at_(0, 0), at_(0, 1)], [at_(1, 0), at_(1, 1)]];
                    let q = both(gt_, a, a);
                    for (xi, val) in q.iter().flatten().enumerate() {
                        dmo[xi * ld + bi * tpi + t] = *val;
                    }
                }
            }
        });
        // dU[ξ] (o × c) += dM[ξ] (o × tt) · V[ξ]ᵀ (tt × c)
        // SAFETY: dM is o blocks of 16 × ld, V c blocks of 16 × ld read transposed, dU 16 blocks of o × c.
        unsafe {
            products(
                (o, c, tt),
                (&mut du, pu, c),
                start > 0,
                (dm.as_ptr(), ld, XI * ld, 1),
                (v.as_ptr(), ld, 1, XI * ld),
            )
        };
        if let Some(dx) = dx.as_mut() {
            // dV[ξ] (c × tt) = U[ξ]ᵀ (c × o) · dM[ξ] (o × tt), into V's buffer (V is no longer needed).
            // SAFETY: U is o blocks of 16 × c read transposed, dM as above, dV 16 blocks of c × ld.
            let pv = padded(c * ld);
            unsafe {
                products((c, tt, o), (&mut v, pv, ld), false, (u.as_ptr(), c, 1, XI * c), (dm.as_ptr(), ld, XI * ld, 1))
            };
            let dv = &*v;
            dx[start * img..][..nb * img].par_chunks_mut(hw).enumerate().for_each(|(plane_idx, plane)| {
                let (bi, ci) = (plane_idx / c, plane_idx % c);
                let (r0, c0) = (d.g.padding as isize, d.g.padding as isize);
                for t in 0..tpi {
                    let (ti, tj) = (t / tw, t % tw);
                    let col = bi * tpi + t;
                    let q: [[T; 4]; 4] = gather(dv, pv, ci * ld + col);
                    let p = both(q, b, b);
                    for (i, row) in p.iter().enumerate() {
                        let r = (2 * ti + i) as isize - r0;
                        if r < 0 || r >= d.h as isize {
                            continue;
                        }
                        for (j, &val) in row.iter().enumerate() {
                            let cc = (2 * tj + j) as isize - c0;
                            if cc >= 0 && cc < d.w as isize {
                                plane[r as usize * d.w + cc as usize] += val;
                            }
                        }
                    }
                }
            });
        }
        start += nb;
    }
    // dW (o, c, 3, 3) = Gᵀ dU G per filter and channel.
    let du = &*du;
    let dw = par_zeroed(o * c * 9, c * 9, T::zero(), |oc, out| {
        for ci in 0..c {
            let q: [[T; 4]; 4] = gather(du, pu, oc * c + ci);
            let k = both(q, gt, gt);
            out[ci * 9..][..9]
                .copy_from_slice(&[k[0][0], k[0][1], k[0][2], k[1][0], k[1][1], k[1][2], k[2][0], k[2][1], k[2][2]]);
        }
    });
    (dx, dw, db)
}

#[cfg(test)]
mod tests {
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

    /// Odd and even sides, non-square maps, paddings 0–2, one channel, and batches large enough to make several
    /// image chunks: forward (with a bias + ReLU epilogue) and every gradient equal im2col's to rounding.
    #[test]
    fn matches_im2col_forward_and_backward() {
        let cases = [
            (2, 3, 9, 7, 4, 1),
            (3, 1, 6, 6, 2, 1),
            (1, 5, 13, 10, 3, 0),
            (2, 2, 5, 8, 3, 2),
            (4, 6, 12, 12, 5, 1),
            (2, 4, 7, 5, 6, 1),
            (300, 2, 6, 6, 3, 1),
            (3, 700, 6, 6, 2, 1),
            (15, 1100, 12, 12, 2, 1),
        ];
        for (i, (n, c, h, w, o, p)) in cases.into_iter().enumerate() {
            let d = Dims::new((n, c, h, w), o, Geometry { kernel: 3, stride: 1, padding: p });
            assert!(applies(&d), "case {i}");
            if c == 1100 {
                assert!(chunk(&d) < n, "several chunks");
            }
            let x = values(n * c * h * w, 1 + i as u64);
            let wt = values(o * c * 9, 100 + i as u64);
            let bias = values(o, 200 + i as u64);
            let g = values(n * o * d.oh * d.ow, 300 + i as u64);
            for epilogue in [Epilogue::none(), Epilogue { scale: None, shift: Some(&bias[..]), relu: true }] {
                let ours = forward(&x, &wt, &epilogue, &d);
                let theirs = conv_kernels::forward(&x, &wt, &epilogue, &d);
                let e = max_diff(&ours, &theirs);
                assert!(e < 1e-12, "case {i} forward: {e}");
            }
            for (with_bias, with_input) in [(true, true), (false, false)] {
                let (dx, dw, db) = backward(&x, &wt, &g, &d, with_bias, with_input);
                let (rx, rw, rb) = conv_kernels::backward(&x, &wt, &g, &d, with_bias, with_input);
                assert_eq!(dx.is_some(), with_input);
                if let (Some(dx), Some(rx)) = (dx, rx) {
                    let e = max_diff(&dx, &rx);
                    assert!(e < 1e-11, "case {i} input gradient: {e}");
                }
                let e = max_diff(&dw, &rw);
                assert!(e < 1e-9, "case {i} weight gradient: {e}");
                assert_eq!(db.is_some(), with_bias);
                if let (Some(db), Some(rb)) = (db, rb) {
                    assert!(max_diff(&db, &rb) < 1e-9, "case {i} bias gradient");
                }
            }
        }
    }

    /// In f32 the transforms' rounding stays at the level of im2col's own (relative to the values' scale).
    #[test]
    fn f32_stays_close_to_im2col() {
        let (n, c, h, w, o) = (8, 64, 12, 12, 32);
        let d = Dims::new((n, c, h, w), o, Geometry { kernel: 3, stride: 1, padding: 1 });
        let x: Vec<f32> = values(n * c * h * w, 7).into_iter().map(|v| v as f32).collect();
        let wt: Vec<f32> = values(o * c * 9, 8).into_iter().map(|v| v as f32 / 24.0).collect();
        let g: Vec<f32> = values(n * o * h * w, 9).into_iter().map(|v| v as f32).collect();
        let rel = |a: &[f32], b: &[f32]| {
            let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
            a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max) / scale
        };
        let e = rel(&forward(&x, &wt, &Epilogue::none(), &d), &conv_kernels::forward(&x, &wt, &Epilogue::none(), &d));
        assert!(e < 1e-5, "forward {e}");
        let (dx, dw, _) = backward(&x, &wt, &g, &d, false, true);
        let (rx, rw, _) = conv_kernels::backward(&x, &wt, &g, &d, false, true);
        assert!(rel(&dx.unwrap(), &rx.unwrap()) < 1e-5, "input gradient");
        assert!(rel(&dw, &rw) < 1e-5, "weight gradient");
    }

    #[test]
    fn applies_only_to_3x3_stride_1_maps_of_4_and_more() {
        let d = |k, s, h, p| Dims::new((1, 1, h, h), 1, Geometry { kernel: k, stride: s, padding: p });
        assert!(applies(&d(3, 1, 4, 1)));
        assert!(!applies(&d(3, 1, 3, 1)), "3×3 map");
        assert!(!applies(&d(3, 2, 12, 1)), "stride 2");
        assert!(!applies(&d(5, 1, 12, 2)), "5×5 kernel");
        assert!(!applies(&d(3, 1, 5, 0)), "3×3 output");
    }
}
