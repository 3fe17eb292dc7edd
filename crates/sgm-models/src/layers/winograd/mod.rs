//! Winograd convolution for stride-1 layers, forward and both gradients, on plain slices: F(2×2, 3×3), F(3×3, 3×3)
//! and F(4×4, 3×3) for 3×3 filters, F(2×2, 5×5) for 5×5 ones (AlexNet's second layer).
//!
//! Each `m × m` block of outputs ("tile") is computed from the `p × p` input patch under it (`p = m + r − 1` for
//! `r × r` filters) in a transformed domain where the convolution is an element-wise product: `p²` multiply-adds
//! per tile and channel pair, i.e. 4 per output for F(2, 3), 2.8 for F(3, 3) and 2.25 for F(4, 3), where im2col
//! does 9, and 9 for F(2, 5), where im2col does 25. With `V = Bᵀ d B` (input
//! patch), `U = G g Gᵀ` (filter) and `Y = Aᵀ M A` (output), the layer is `p²` matrix products
//! `M[ξ] (O × T) = U[ξ] (O × C) · V[ξ] (C × T)`, one per transformed position ξ, over the `T` tiles of a chunk of
//! images (Lavin and Gray, *Fast Algorithms for Convolutional Neural Networks*, 2016). The matrices are in
//! [`tiling`].
//!
//! Every step is linear, so the backward is the same maps transposed, in the same domain:
//! - `dM = A dY Aᵀ` (output gradient tiles, zero past the map's edge);
//! - weight gradient: `dU[ξ] = Σ_t dM[ξ] · V[ξ]ᵀ`, then `dg = Gᵀ dU G`;
//! - input gradient: `dV[ξ] = U[ξ]ᵀ · dM[ξ]`, then each patch's `B dV Bᵀ` added back into the image.
//!
//! The products of a chunk run in parallel, one per thread at a time, with no synchronisation inside them.
//! The transforms run on [`LANES`] tiles at once ([`Lanes`]): a channel's (or a filter's) tiles, over all the
//! chunk's images, are consecutive columns of `V` and `M`, so one task per channel or filter loads and stores them
//! whole and writes only its own planes.
//! Buffers: `V` and the products' outputs in the scratch pool; `V` is recomputed from the input in the backward
//! rather than kept. [`applies`] says where this beats im2col and [`variant`] which tiling a layer takes (both
//! measured in `docs/performance.md`).

mod tiling;

use rayon::prelude::*;

use super::conv_kernels::{Dims, Epilogue, Float};
use super::lanes::{Lanes, Ring};
use super::scratch::{par_zeroed, Scratch};
use tiling::{both, Tiling, F2, F2K5, F3, F4};

/// Whether a convolution takes this path: 3×3 or 5×5 kernels at stride 1 with at least `MIN_CHANNELS` input
/// channels, whose output map is at least `MIN_SIDE` on both sides. Smaller maps waste most of each tile on outputs
/// past the edge and make products too narrow for gemm to run near its peak; fewer channels make the products as
/// shallow as the channels (one deep on a first layer: FMPNet's 5×5, CVGG13's 3×3), where im2col's are `C·k²` deep
/// (FMPNet evaluation at 48²: 146 ms on F(2, 5), 103 ms on im2col).
pub(crate) fn applies(d: &Dims) -> bool {
    const MIN_SIDE: usize = 4;
    const MIN_CHANNELS: usize = 16;
    matches!(d.g.kernel, 3 | 5) && d.g.stride == 1 && d.c >= MIN_CHANNELS && d.oh >= MIN_SIDE && d.ow >= MIN_SIDE
}

/// The tilings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    /// F(2×2, 3×3).
    F2,
    /// F(3×3, 3×3).
    F3,
    /// F(4×4, 3×3).
    F4,
    /// F(2×2, 5×5).
    F2K5,
}

/// The tiling a layer takes: F(4, 3) where its products (36 per tile, tiles covering the map in steps of 4) come
/// to at most `F4_SHARE` of F(2, 3)'s (16 per tile, steps of 2); its transforms cost more per product. Otherwise
/// F(3, 3) where its products (25 per tile, steps of 3) come to at most `F3_SHARE` of F(2, 3)'s: the maps that F(2, 3)
/// and F(4, 3) both pad by a third or more (5×5, 6×6 and 9×9: AlexNet's last three layers and ResNet18's second stage
/// at 48², CVGG13's fourth block). Else F(2, 3) (10×10). 5×5 filters take F(2, 5).
pub(crate) fn variant(d: &Dims) -> Variant {
    const F4_SHARE: f64 = 0.75;
    const F3_SHARE: f64 = 0.85;
    if d.g.kernel == 5 {
        return Variant::F2K5;
    }
    let cost = |m: usize, p: usize| (d.oh.div_ceil(m) * d.ow.div_ceil(m) * p * p) as f64;
    if cost(4, 6) <= F4_SHARE * cost(2, 4) {
        Variant::F4
    } else if cost(3, 5) <= F3_SHARE * cost(2, 4) {
        Variant::F3
    } else {
        Variant::F2
    }
}

/// `conv2d(x, w)` (3×3 or 5×5, stride 1) followed by `epilogue`, as `(n, o, oh, ow)`, row-major, in the layer's
/// [`variant`].
pub(crate) fn forward<T: Float>(x: &[T], w: &[T], epilogue: &Epilogue<T>, d: &Dims) -> Vec<T> {
    forward_in(variant(d), x, w, epilogue, d)
}

/// Gradients from the output gradient `grad` `(n, o, oh, ow)`: input (when `with_input`), weight and, when asked,
/// bias, as [`super::conv_kernels::backward`], in the layer's [`variant`].
pub(crate) fn backward<T: Float>(
    x: &[T],
    w: &[T],
    grad: &[T],
    d: &Dims,
    with_bias: bool,
    with_input: bool,
) -> (Option<Vec<T>>, Vec<T>, Option<Vec<T>>) {
    backward_in(variant(d), x, w, grad, d, with_bias, with_input)
}

/// [`forward`] in a given variant.
pub(crate) fn forward_in<T: Float>(v: Variant, x: &[T], w: &[T], epilogue: &Epilogue<T>, d: &Dims) -> Vec<T> {
    match v {
        Variant::F2 => forward_with::<T, F2, 2, 4, 3>(x, w, epilogue, d),
        Variant::F3 => forward_with::<T, F3, 3, 5, 3>(x, w, epilogue, d),
        Variant::F4 => forward_with::<T, F4, 4, 6, 3>(x, w, epilogue, d),
        Variant::F2K5 => forward_with::<T, F2K5, 2, 6, 5>(x, w, epilogue, d),
    }
}

/// [`backward`] in a given variant.
pub(crate) fn backward_in<T: Float>(
    v: Variant,
    x: &[T],
    w: &[T],
    grad: &[T],
    d: &Dims,
    with_bias: bool,
    with_input: bool,
) -> (Option<Vec<T>>, Vec<T>, Option<Vec<T>>) {
    match v {
        Variant::F2 => backward_with::<T, F2, 2, 4, 3>(x, w, grad, d, with_bias, with_input),
        Variant::F3 => backward_with::<T, F3, 3, 5, 3>(x, w, grad, d, with_bias, with_input),
        Variant::F4 => backward_with::<T, F4, 4, 6, 3>(x, w, grad, d, with_bias, with_input),
        Variant::F2K5 => backward_with::<T, F2K5, 2, 6, 5>(x, w, grad, d, with_bias, with_input),
    }
}

/// Tiles of side `m` per image along each side and in all.
fn tiles<const M: usize>(d: &Dims) -> (usize, usize, usize) {
    let (th, tw) = (d.oh.div_ceil(M), d.ow.div_ceil(M));
    (th, tw, th * tw)
}

/// Images per chunk: `V` and the products (`p² × max(C, O) × T` values each) stay within a bounded buffer.
fn chunk<const M: usize, const P: usize>(d: &Dims) -> usize {
    const MAX_ELEMS: usize = 8 << 20;
    let per_image = P * P * d.c.max(d.o) * tiles::<M>(d).2;
    (MAX_ELEMS / per_image.max(1)).clamp(1, d.n.max(1))
}

/// A stride of at least `n` values that is an odd number of 64-byte lines (for f32; 128 for f64): the rows that
/// one tile's transform writes (or reads) one value each then fall in different cache sets. At a power-of-two
/// stride (`T` = 4096 tiles at 64², `O·T` for the products) they all map to one set and evict one another.
fn padded(n: usize) -> usize {
    let m = n.next_multiple_of(16);
    if (m / 16) % 2 == 1 {
        m
    } else {
        m + 16
    }
}

/// `U` of the weight `(O, C, r, r)`: `u[(o·p² + ξ)·C + c]`, one block of `p² × C` values per filter.
fn transform_weight<T: Float, W: Tiling<M, P, R>, const M: usize, const P: usize, const R: usize>(
    w: &[T],
    d: &Dims,
    u: &mut [T],
) {
    let (c, xi) = (d.c, P * P);
    u[..d.o * xi * c].par_chunks_mut(xi * c).enumerate().for_each(|(o, uo)| {
        for ci in 0..c {
            let k = &w[(o * c + ci) * R * R..][..R * R];
            let mut kernel = [[T::zero(); R]; R];
            for (i, row) in kernel.iter_mut().enumerate() {
                row.copy_from_slice(&k[i * R..][..R]);
            }
            let m = both(kernel, W::g, W::g);
            for (pos, v) in m.iter().flatten().enumerate() {
                uo[pos * c + ci] = *v;
            }
        }
    });
}

/// The `p²` transformed values of one tile and row, one per position: `buf[ξ·stride + offset]`, as a `p × p` array.
#[inline(always)]
fn gather<T: Float, const P: usize>(buf: &[T], stride: usize, offset: usize) -> [[T; P]; P] {
    let mut out = [[T::zero(); P]; P];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = buf[(i * P + j) * stride + offset];
        }
    }
    out
}

/// The `p × p` input patch of tile `(ti, tj)` in a plane, zero outside it.
#[inline(always)]
fn patch<T: Float, const M: usize, const P: usize>(plane: &[T], d: &Dims, ti: usize, tj: usize) -> [[T; P]; P] {
    let (r0, c0) = ((M * ti) as isize - d.g.padding as isize, (M * tj) as isize - d.g.padding as isize);
    let (h, w) = (d.h as isize, d.w as isize);
    let mut out = [[T::zero(); P]; P];
    if r0 >= 0 && c0 >= 0 && r0 + P as isize <= h && c0 + P as isize <= w {
        for (i, row) in out.iter_mut().enumerate() {
            row.copy_from_slice(&plane[(r0 as usize + i) * d.w + c0 as usize..][..P]);
        }
        return out;
    }
    for (i, row) in out.iter_mut().enumerate() {
        let r = r0 + i as isize;
        if !(0..h).contains(&r) {
            continue;
        }
        for (j, v) in row.iter_mut().enumerate() {
            let cc = c0 + j as isize;
            if (0..w).contains(&cc) {
                *v = plane[r as usize * d.w + cc as usize];
            }
        }
    }
    out
}

/// `V` of `nb` images: `v[(c·p² + ξ)·ld + t]` (`ld` = [`padded`]`(T)`), one block of `p² × ld` per input channel.
/// The tiles of a channel (all its images' in turn) are transformed [`LANES`] at a time.
fn transform_input<T: Float, W: Tiling<M, P, R>, const M: usize, const P: usize, const R: usize>(
    x: &[T],
    d: &Dims,
    nb: usize,
    v: &mut [T],
) {
    let (_, tw, tpi) = tiles::<M>(d);
    let (ld, xi) = (padded(nb * tpi), P * P);
    let hw = d.h * d.w;
    v[..d.c * xi * ld].par_chunks_mut(xi * ld).enumerate().for_each(|(ci, vc)| {
        for (t0, k) in lane_groups(nb * tpi) {
            let mut p = [[Lanes::<T, LANES>::ZERO; P]; P];
            for lane in 0..k {
                let (bi, t) = ((t0 + lane) / tpi, (t0 + lane) % tpi);
                let q = patch::<T, M, P>(&x[(bi * d.c + ci) * hw..][..hw], d, t / tw, t % tw);
                for (pr, qr) in p.iter_mut().zip(q) {
                    for (pv, qv) in pr.iter_mut().zip(qr) {
                        pv.0[lane] = qv;
                    }
                }
            }
            let m = both(p, |v| W::bt(v), |v| W::bt(v));
            for (pos, val) in m.iter().flatten().enumerate() {
                store(&mut vc[pos * ld + t0..], val, k);
            }
        }
    });
}

/// Tiles transformed together: sixteen f32 fill one AVX-512 register.
const LANES: usize = 16;

/// `0..n` in groups of at most [`LANES`]: `(first, count)`.
fn lane_groups(n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n).step_by(LANES).map(move |t0| (t0, LANES.min(n - t0)))
}

/// Planes of a buffer written by several tasks, each its own planes.
struct Planes<V>(*mut V);

// SAFETY: tasks only reach the buffer through `plane`, whose callers keep their planes disjoint.
unsafe impl<V> Sync for Planes<V> {}
unsafe impl<V> Send for Planes<V> {}

impl<V> Planes<V> {
    /// The `len` values from `offset`.
    ///
    /// # Safety
    /// They must lie within the buffer, and no other task may use them while the slice lives.
    #[allow(clippy::mut_from_ref)]
    unsafe fn plane(&self, offset: usize, len: usize) -> &mut [V] {
        // SAFETY: as the caller promised.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(offset), len) }
    }
}

/// The first `k` lanes of `val` into `dst[..k]` (a fixed-size copy when all are used).
#[inline(always)]
fn store<T: Float>(dst: &mut [T], val: &Lanes<T, LANES>, k: usize) {
    if k == LANES {
        dst[..LANES].copy_from_slice(&val.0);
    } else {
        dst[..k].iter_mut().zip(val.0).for_each(|(o, v)| *o = v);
    }
}

/// The `p²` transformed values of `k` consecutive tiles: `buf[ξ·stride + offset + lane]`, as a `p × p` array of
/// lanes (lanes past `k` zero).
#[inline(always)]
fn gather_lanes<T: Float, const P: usize>(
    buf: &[T],
    stride: usize,
    offset: usize,
    k: usize,
) -> [[Lanes<T, LANES>; P]; P] {
    let mut out = [[Lanes::<T, LANES>::ZERO; P]; P];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            let src = &buf[(i * P + j) * stride + offset..];
            if k == LANES {
                v.0.copy_from_slice(&src[..LANES]);
            } else {
                v.0[..k].iter_mut().zip(src).for_each(|(o, &s)| *o = s);
            }
        }
    }
    out
}

/// One product per transformed position, in parallel over the `xi` positions, each on one thread:
/// `dst[ξ] (m × n) [+]= lhs[ξ] (m × k) · rhs[ξ] (k × n)`. Each operand is (base pointer, stride between
/// positions, row stride, column stride); `dst` is row-major, `(stride between positions, row stride)` given.
///
/// # Safety
/// Every operand must address `xi` matrices of the given sizes and strides; `dst` must not overlap the others.
#[allow(clippy::type_complexity)]
unsafe fn products<T: Float>(
    xi: usize,
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
    debug_assert!(dst_pos >= m * dst_row && dst_row >= n && dst.len() >= xi * dst_pos);
    dst[..xi * dst_pos].par_chunks_mut(dst_pos).enumerate().for_each(|(pos, out)| {
        let (l, r) = (&l, &r);
        // SAFETY: as the caller promised, for position `pos`.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                out.as_mut_ptr(),
                1,
                dst_row as isize,
                accumulate,
                l.0.add(pos * lhs.1),
                lhs.3 as isize,
                lhs.2 as isize,
                r.0.add(pos * rhs.1),
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

fn forward_with<T: Float, W: Tiling<M, P, R>, const M: usize, const P: usize, const R: usize>(
    x: &[T],
    w: &[T],
    epilogue: &Epilogue<T>,
    d: &Dims,
) -> Vec<T> {
    let (c, o, l, xi) = (d.c, d.o, d.oh * d.ow, P * P);
    let (_, tw, tpi) = tiles::<M>(d);
    let chunk = chunk::<M, P>(d);
    let img = c * d.h * d.w;
    let mut u = Scratch::<T>::take(o * xi * c);
    transform_weight::<T, W, M, P, R>(w, d, &mut u);
    let mut v = Scratch::<T>::take(c * xi * padded(chunk * tpi));
    let mut m = Scratch::<T>::take(xi * padded(o * padded(chunk * tpi)));
    let total = d.n * o * l;
    // Every output value is written below (each output position lies in exactly one tile) before the length is set.
    let mut y: Vec<T> = Vec::with_capacity(total);
    let yu = &mut y.spare_capacity_mut()[..total];
    let mut start = 0;
    while start < d.n {
        let nb = chunk.min(d.n - start);
        let (tt, ld) = (nb * tpi, padded(nb * tpi));
        let pm = padded(o * ld);
        transform_input::<T, W, M, P, R>(&x[start * img..(start + nb) * img], d, nb, &mut v);
        // M[ξ] (o × tt, rows ld apart, positions pm apart) = U[ξ] (o × c) · V[ξ] (c × tt)
        // SAFETY: U is o blocks of p² × c, V is c blocks of p² × ld, M gets p² blocks of o × ld within its size.
        unsafe {
            products(xi, (o, tt, c), (&mut m, pm, ld), false, (u.as_ptr(), c, xi * c, 1), (v.as_ptr(), ld, xi * ld, 1))
        };
        let m = &*m;
        // One task per filter, over the chunk's images: its tiles are consecutive in M, so they are transformed
        // LANES at a time, and it writes its own planes (image, filter) only.
        let planes = Planes(yu[start * o * l..][..nb * o * l].as_mut_ptr());
        (0..o).into_par_iter().for_each(|oc| {
            let f = epilogue.channel(oc);
            for (t0, k) in lane_groups(nb * tpi) {
                let yt = both(gather_lanes::<T, P>(m, pm, oc * ld + t0, k), |v| W::at(v), |v| W::at(v));
                for lane in 0..k {
                    let (bi, t) = ((t0 + lane) / tpi, (t0 + lane) % tpi);
                    let (ti, tj) = (t / tw, t % tw);
                    // SAFETY: plane (bi, oc) lies within the chunk's outputs and only this task writes it.
                    let out = unsafe { planes.plane((bi * o + oc) * l, l) };
                    for (i, row) in yt.iter().enumerate().take(d.oh.saturating_sub(M * ti)) {
                        let out = &mut out[(M * ti + i) * d.ow + M * tj..];
                        for (o, val) in out.iter_mut().zip(row).take(d.ow.saturating_sub(M * tj)) {
                            o.write(f(val.0[lane]));
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

fn backward_with<T: Float, W: Tiling<M, P, R>, const M: usize, const P: usize, const R: usize>(
    x: &[T],
    w: &[T],
    grad: &[T],
    d: &Dims,
    with_bias: bool,
    with_input: bool,
) -> (Option<Vec<T>>, Vec<T>, Option<Vec<T>>) {
    let (c, o, l, xi) = (d.c, d.o, d.oh * d.ow, P * P);
    let (_, tw, tpi) = tiles::<M>(d);
    let chunk = chunk::<M, P>(d);
    let img = c * d.h * d.w;
    let hw = d.h * d.w;
    let mut u = Scratch::<T>::take(if with_input { o * xi * c } else { 0 });
    if with_input {
        transform_weight::<T, W, M, P, R>(w, d, &mut u);
    }
    // Patches overlap: their gradients are added into a zeroed input gradient.
    let mut dx = with_input.then(|| par_zeroed(d.n * img, img, T::zero(), |_, _| {}));
    let db = with_bias.then(|| {
        (0..o)
            .into_par_iter()
            .map(|oc| (0..d.n).fold(T::zero(), |s, bi| grad[(bi * o + oc) * l..][..l].iter().fold(s, |s, &g| s + g)))
            .collect::<Vec<T>>()
    });
    // dU: p² blocks of o × c (positions pu apart), accumulated over chunks.
    let pu = padded(o * c);
    let mut du = Scratch::<T>::take(xi * pu);
    let ldc = padded(chunk * tpi);
    // V, then dV (p² blocks of c × ld, positions padded(c·ld) apart) in the same buffer.
    let mut v = Scratch::<T>::take((c * xi * ldc).max(xi * padded(c * ldc)));
    let mut dm = Scratch::<T>::take(o * xi * ldc);
    let mut start = 0;
    while start < d.n {
        let nb = chunk.min(d.n - start);
        let (tt, ld) = (nb * tpi, padded(nb * tpi));
        transform_input::<T, W, M, P, R>(&x[start * img..(start + nb) * img], d, nb, &mut v);
        // dM: `dm[(oc·p² + ξ)·ld + t]`, one block of p² × ld per filter.
        let g = &grad[start * o * l..][..nb * o * l];
        dm[..o * xi * ld].par_chunks_mut(xi * ld).enumerate().for_each(|(oc, dmo)| {
            for (t0, k) in lane_groups(nb * tpi) {
                let mut tile = [[Lanes::<T, LANES>::ZERO; M]; M];
                for lane in 0..k {
                    let (bi, t) = ((t0 + lane) / tpi, (t0 + lane) % tpi);
                    let (ti, tj) = (t / tw, t % tw);
                    let plane = &g[(bi * o + oc) * l..][..l];
                    for (i, row) in tile.iter_mut().enumerate().take(d.oh.saturating_sub(M * ti)) {
                        let src = &plane[(M * ti + i) * d.ow + M * tj..];
                        for (v, &gv) in row.iter_mut().zip(src).take(d.ow.saturating_sub(M * tj)) {
                            v.0[lane] = gv;
                        }
                    }
                }
                let q = both(tile, |v| W::a(v), |v| W::a(v));
                for (pos, val) in q.iter().flatten().enumerate() {
                    store(&mut dmo[pos * ld + t0..], val, k);
                }
            }
        });
        // dU[ξ] (o × c) += dM[ξ] (o × tt) · V[ξ]ᵀ (tt × c)
        // SAFETY: dM is o blocks of p² × ld, V c blocks of p² × ld read transposed, dU p² blocks of o × c.
        unsafe {
            products(
                xi,
                (o, c, tt),
                (&mut du, pu, c),
                start > 0,
                (dm.as_ptr(), ld, xi * ld, 1),
                (v.as_ptr(), ld, 1, xi * ld),
            )
        };
        if let Some(dx) = dx.as_mut() {
            // dV[ξ] (c × tt) = U[ξ]ᵀ (c × o) · dM[ξ] (o × tt), into V's buffer (V is no longer needed).
            // SAFETY: U is o blocks of p² × c read transposed, dM as above, dV p² blocks of c × ld.
            let pv = padded(c * ld);
            unsafe {
                products(
                    xi,
                    (c, tt, o),
                    (&mut v, pv, ld),
                    false,
                    (u.as_ptr(), c, 1, xi * c),
                    (dm.as_ptr(), ld, xi * ld, 1),
                )
            };
            let dv = &*v;
            // One task per input channel, over the chunk's images (as the forward's output transform).
            let planes = Planes(dx[start * img..][..nb * img].as_mut_ptr());
            let (r0, c0) = (d.g.padding as isize, d.g.padding as isize);
            (0..c).into_par_iter().for_each(|ci| {
                for (t0, k) in lane_groups(nb * tpi) {
                    let p = both(gather_lanes::<T, P>(dv, pv, ci * ld + t0, k), |v| W::b(v), |v| W::b(v));
                    for lane in 0..k {
                        let (bi, t) = ((t0 + lane) / tpi, (t0 + lane) % tpi);
                        let (ti, tj) = (t / tw, t % tw);
                        // SAFETY: plane (bi, ci) lies within the chunk's input gradient and only this task adds to it.
                        let plane = unsafe { planes.plane((bi * c + ci) * hw, hw) };
                        for (i, row) in p.iter().enumerate() {
                            let r = (M * ti + i) as isize - r0;
                            if r < 0 || r >= d.h as isize {
                                continue;
                            }
                            for (j, val) in row.iter().enumerate() {
                                let cc = (M * tj + j) as isize - c0;
                                if cc >= 0 && cc < d.w as isize {
                                    plane[r as usize * d.w + cc as usize] += val.0[lane];
                                }
                            }
                        }
                    }
                }
            });
        }
        start += nb;
    }
    // dW (o, c, r, r) = Gᵀ dU G per filter and channel.
    let du = &*du;
    let dw = par_zeroed(o * c * R * R, c * R * R, T::zero(), |oc, out| {
        for ci in 0..c {
            let k = both(gather::<T, P>(du, pu, oc * c + ci), W::gt, W::gt);
            for (i, row) in k.iter().enumerate() {
                out[(ci * R + i) * R..][..R].copy_from_slice(row);
            }
        }
    });
    (dx, dw, db)
}

#[cfg(test)]
mod tests;
