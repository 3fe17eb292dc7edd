//! CPU convolution kernels on plain slices: im2col/col2im in the `(C·k·k) × L` layout and direct `gemm` calls.
//!
//! Layout: an image `(C, H, W)` becomes a column matrix with one row per `(c, ki, kj)` and one column per output
//! position; a chunk of `nb` images sits side by side (`nb·L` columns, image `b` at columns `b·L..(b+1)·L`). The
//! rows are filled with contiguous runs (a plain copy when the stride is 1), so im2col and col2im move memory at
//! copy speed, and every product is one `gemm` call with the strides it needs: no transposes, no temporaries
//! beyond the column buffer.
//!
//! - forward: `Y_chunk (O × nb·L) = W (O × K) · cols (K × nb·L)`;
//! - weight gradient: `dW (O × K) += G_chunk (O × nb·L) · colsᵀ`;
//! - input gradient: `dcols (K × nb·L) = Wᵀ · G_chunk`, then col2im (the adjoint of im2col).

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::lanes::Ring;
use super::scratch::{par_zeroed, Pooled, Scratch};

/// Square-kernel convolution geometry (dilation 1, one group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Geometry {
    pub(crate) fn out(&self, size: usize) -> usize {
        (size + 2 * self.padding - self.kernel) / self.stride + 1
    }
}

/// The element types the kernels run on.
pub(crate) trait Float: candle_core::WithDType + Copy + Send + Sync + Pooled + Ring + 'static {}
impl Float for f32 {}
impl Float for f64 {}

/// Shapes of one convolution: input `(n, c, h, w)`, `o` filters, output `oh × ow`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub o: usize,
    pub oh: usize,
    pub ow: usize,
    pub g: Geometry,
}

impl Dims {
    pub(crate) fn new(x: (usize, usize, usize, usize), o: usize, g: Geometry) -> Self {
        let (n, c, h, w) = x;
        Dims { n, c, h, w, o, oh: g.out(h), ow: g.out(w), g }
    }

    fn l(&self) -> usize {
        self.oh * self.ow
    }

    fn kk(&self) -> usize {
        self.c * self.g.kernel * self.g.kernel
    }

    /// Images per chunk: enough columns for an efficient product, a bounded column buffer.
    fn chunk(&self) -> usize {
        const MIN_COLS: usize = 1024;
        const MAX_ELEMS: usize = 8 << 20;
        let l = self.l().max(1);
        let by_cols = MIN_COLS.div_ceil(l);
        let by_mem = (MAX_ELEMS / (self.kk() * l).max(1)).max(1);
        by_cols.min(by_mem).clamp(1, self.n.max(1))
    }
}

/// The output columns `j` of a kernel offset `b` that read inside the input: `j·s + b − p ∈ [0, w)`.
fn valid_range(out: usize, size: usize, offset: usize, g: Geometry) -> (usize, usize) {
    let (s, p) = (g.stride as isize, g.padding as isize);
    let lo = (p - offset as isize).max(0);
    let lo = ((lo + s - 1) / s) as usize;
    let hi = ((size as isize - 1 + p - offset as isize).div_euclid(s) + 1).clamp(0, out as isize) as usize;
    (lo.min(out), hi.max(lo.min(out)))
}

/// Fills the column rows of channel block `rows` (`k·k` rows of `ld` columns) from images `x` (`nb` images of
/// `(c, h, w)`) for channel `ch`.
fn im2col_channel<T: Float>(x: &[T], d: &Dims, nb: usize, ch: usize, rows: &mut [T], ld: usize) {
    let (k, s, p) = (d.g.kernel, d.g.stride, d.g.padding);
    let (h, w, oh, ow, l) = (d.h, d.w, d.oh, d.ow, d.l());
    for a in 0..k {
        let (i_lo, i_hi) = valid_range(oh, h, a, d.g);
        for bb in 0..k {
            let (j_lo, j_hi) = valid_range(ow, w, bb, d.g);
            let row = &mut rows[(a * k + bb) * ld..][..ld];
            for b in 0..nb {
                let plane = &x[(b * d.c + ch) * h * w..][..h * w];
                let dst = &mut row[b * l..][..l];
                dst[..i_lo * ow].fill(T::zero());
                dst[i_hi * ow..].fill(T::zero());
                for i in i_lo..i_hi {
                    let r = i * s + a - p;
                    let out = &mut dst[i * ow..][..ow];
                    out[..j_lo].fill(T::zero());
                    out[j_hi..].fill(T::zero());
                    if j_hi > j_lo {
                        let c0 = j_lo * s + bb - p;
                        let src = &plane[r * w..][..w];
                        if s == 1 {
                            out[j_lo..j_hi].copy_from_slice(&src[c0..c0 + (j_hi - j_lo)]);
                        } else {
                            for (t, o) in out[j_lo..j_hi].iter_mut().enumerate() {
                                *o = src[c0 + t * s];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Maps whose output rows are at most this wide are gathered through a per-tap index table ([`TapTable`]) instead
/// of row runs: at ResNet18's 12², 6², 3² and 2² maps a run is a few values, and the per-run bookkeeping of
/// [`im2col_channel`] cost more than the copy.
const TABLE_MAX_WIDTH: usize = 16;

/// For every kernel tap `(a, b)` and output position `t`, the input offset it reads in a `(h, w)` plane, or
/// [`TapTable::PAD`] where it reads the zero padding. The same for every channel and image.
struct TapTable {
    offsets: Vec<u32>,
    l: usize,
}

impl TapTable {
    const PAD: u32 = u32::MAX;

    fn new(d: &Dims) -> Self {
        let (k, s, p) = (d.g.kernel, d.g.stride, d.g.padding);
        let mut offsets = Vec::with_capacity(k * k * d.l());
        for a in 0..k {
            for bb in 0..k {
                for i in 0..d.oh {
                    for j in 0..d.ow {
                        let (r, c) = ((i * s + a) as isize - p as isize, (j * s + bb) as isize - p as isize);
                        let inside = (0..d.h as isize).contains(&r) && (0..d.w as isize).contains(&c);
                        offsets.push(if inside { (r as usize * d.w + c as usize) as u32 } else { Self::PAD });
                    }
                }
            }
        }
        TapTable { offsets, l: d.l() }
    }

    /// The offsets of tap `t` (`a·k + b`), one per output position.
    fn tap(&self, t: usize) -> &[u32] {
        &self.offsets[t * self.l..][..self.l]
    }
}

/// Whether [`im2col`] and [`col2im`] go through a [`TapTable`]: small maps, and strided ones (whose runs are
/// element-by-element copies anyway), when the planes fit in `u32` offsets.
fn use_table(d: &Dims) -> bool {
    (d.ow <= TABLE_MAX_WIDTH || d.g.stride > 1) && d.h * d.w < TapTable::PAD as usize
}

/// One column row (channel `ch`, tap `tap`) through a tap table: every image's `L` values gathered in one loop.
fn im2col_row_table<T: Float>(x: &[T], d: &Dims, nb: usize, ch: usize, tap: usize, row: &mut [T], t: &TapTable) {
    let (hw, l) = (d.h * d.w, d.l());
    let offsets = t.tap(tap);
    for (b, dst) in row[..nb * l].chunks_exact_mut(l).enumerate() {
        let plane = &x[(b * d.c + ch) * hw..][..hw];
        for (o, &off) in dst.iter_mut().zip(offsets) {
            *o = if off == TapTable::PAD { T::zero() } else { plane[off as usize] };
        }
    }
}

/// `cols (K × nb·L)` of `nb` images. Work is split by column row (channel and tap) through a tap table, or by
/// channel for the row-run copies, so that a one-channel input (the stem) still uses every thread.
pub(crate) fn im2col<T: Float>(x: &[T], d: &Dims, nb: usize, cols: &mut [T]) {
    let kk2 = d.g.kernel * d.g.kernel;
    let ld = nb * d.l();
    let cols = &mut cols[..d.kk() * ld];
    if use_table(d) {
        let table = TapTable::new(d);
        cols.par_chunks_mut(ld)
            .enumerate()
            .for_each(|(r, row)| im2col_row_table(x, d, nb, r / kk2, r % kk2, row, &table));
    } else {
        cols.par_chunks_mut(kk2 * ld).enumerate().for_each(|(ch, rows)| im2col_channel(x, d, nb, ch, rows, ld));
    }
}

/// Adds the columns back into images: `dx` (`nb` images of `(c, h, w)`) `+=` col2im(`cols`), the adjoint of
/// [`im2col`]. `dx` must start zeroed.
pub(crate) fn col2im<T: Float>(cols: &[T], d: &Dims, nb: usize, dx: &mut [T]) {
    let (k, s, p) = (d.g.kernel, d.g.stride, d.g.padding);
    let (h, w, oh, ow, l) = (d.h, d.w, d.oh, d.ow, d.l());
    let ld = nb * l;
    let table = use_table(d).then(|| TapTable::new(d));
    dx[..nb * d.c * h * w].par_chunks_mut(h * w).enumerate().for_each(|(plane_idx, plane)| {
        let (b, ch) = (plane_idx / d.c, plane_idx % d.c);
        if let Some(t) = &table {
            for tap in 0..k * k {
                let src = &cols[(ch * k * k + tap) * ld + b * l..][..l];
                for (&v, &off) in src.iter().zip(t.tap(tap)) {
                    if off != TapTable::PAD {
                        plane[off as usize] += v;
                    }
                }
            }
            return;
        }
        for a in 0..k {
            let (i_lo, i_hi) = valid_range(oh, h, a, d.g);
            for bb in 0..k {
                let (j_lo, j_hi) = valid_range(ow, w, bb, d.g);
                if j_hi <= j_lo {
                    continue;
                }
                let src = &cols[((ch * k + a) * k + bb) * ld + b * l..][..l];
                for i in i_lo..i_hi {
                    let r = i * s + a - p;
                    let c0 = j_lo * s + bb - p;
                    let dst = &mut plane[r * w..][..w];
                    let run = &src[i * ow + j_lo..i * ow + j_hi];
                    if s == 1 {
                        for (o, &v) in dst[c0..c0 + run.len()].iter_mut().zip(run) {
                            *o += v;
                        }
                    } else {
                        for (t, &v) in run.iter().enumerate() {
                            dst[c0 + t * s] += v;
                        }
                    }
                }
            }
        }
    });
}

fn parallelism() -> gemm::Parallelism {
    match candle_core::utils::get_num_threads() {
        0 | 1 => gemm::Parallelism::None,
        n => gemm::Parallelism::Rayon(n),
    }
}

/// `dst (m × n) = [dst +] lhs (m × k) · rhs (k × n)`, every matrix given by (pointer, row stride, column stride).
///
/// # Safety
/// The pointers must address matrices of the given sizes and strides; `dst` must not alias the others.
#[allow(clippy::too_many_arguments)]
unsafe fn matmul<T: Float>(
    (m, n, k): (usize, usize, usize),
    dst: (*mut T, usize, usize),
    accumulate: bool,
    lhs: (*const T, usize, usize),
    rhs: (*const T, usize, usize),
) {
    gemm::gemm(
        m,
        n,
        k,
        dst.0,
        dst.2 as isize,
        dst.1 as isize,
        accumulate,
        lhs.0,
        lhs.2 as isize,
        lhs.1 as isize,
        rhs.0,
        rhs.2 as isize,
        rhs.1 as isize,
        T::from_f64(if accumulate { 1.0 } else { 0.0 }),
        T::one(),
        false,
        false,
        false,
        parallelism(),
    )
}

/// What happens to each output value of channel `c` as it is written: `v·scale[c] + shift[c]`, then `max(·, 0)`
/// when `relu`. A bias is a shift; an evaluation-mode BatchNorm is a scale and a shift.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Epilogue<'a, T> {
    pub scale: Option<&'a [T]>,
    pub shift: Option<&'a [T]>,
    pub relu: bool,
}

impl<T: Float> Epilogue<'_, T> {
    /// Plain output: no scale, no shift, no ReLU.
    pub(crate) fn none() -> Self {
        Epilogue { scale: None, shift: None, relu: false }
    }

    fn is_identity(&self) -> bool {
        self.scale.is_none() && self.shift.is_none() && !self.relu
    }

    /// The map of channel `c`: `v·scale[c] + shift[c]`, then the ReLU.
    pub(crate) fn channel(&self, c: usize) -> impl Fn(T) -> T {
        let (scale, shift) = (self.scale.map_or(T::one(), |s| s[c]), self.shift.map_or(T::zero(), |t| t[c]));
        let relu = self.relu;
        move |v: T| {
            let v = v * scale + shift;
            if relu && v < T::zero() {
                T::zero()
            } else {
                v
            }
        }
    }

    /// Writes channel `c`'s values `f(src)` into uninitialised `dst` (a plain copy for the identity).
    fn write(&self, c: usize, dst: &mut [MaybeUninit<T>], src: &[T]) {
        if self.is_identity() {
            dst.iter_mut().zip(src).for_each(|(d, &v)| _ = d.write(v));
        } else {
            let f = self.channel(c);
            dst.iter_mut().zip(src).for_each(|(d, &v)| _ = d.write(f(v)));
        }
    }

    /// Applies channel `c`'s map to `dst` in place.
    fn apply(&self, c: usize, dst: &mut [T]) {
        let f = self.channel(c);
        dst.iter_mut().for_each(|d| *d = f(*d));
    }
}

/// `conv2d(x, w)` followed by `epilogue`, as `(n, o, oh, ow)`, row-major. The epilogue is applied while the
/// chunk's product is scattered into the output (or in one pass over a single image's output), so a bias, an
/// evaluation BatchNorm and a ReLU cost no extra pass over memory.
pub(crate) fn forward<T: Float>(x: &[T], w: &[T], epilogue: &Epilogue<T>, d: &Dims) -> Vec<T> {
    let (l, kk, o) = (d.l(), d.kk(), d.o);
    let chunk = d.chunk();
    let img = d.c * d.h * d.w;
    let total = d.n * o * l;
    // Every output value is written below (by the product or the scatter) before the length is set.
    let mut y: Vec<T> = Vec::with_capacity(total);
    let mut cols = Scratch::<T>::take(kk * chunk * l);
    let mut tmp = Scratch::<T>::take(if chunk > 1 { o * chunk * l } else { 0 });
    let identity = epilogue.is_identity();
    let yu = &mut y.spare_capacity_mut()[..total];
    let mut start = 0;
    while start < d.n {
        let nb = chunk.min(d.n - start);
        let ld = nb * l;
        im2col(&x[start * img..(start + nb) * img], d, nb, &mut cols);
        if nb == 1 {
            let out = &mut yu[start * o * l..][..o * l];
            // SAFETY: w is (o × kk), cols (kk × ld) and out (o × ld), all row-major and distinct; the product
            // writes every value of `out` without reading it (no accumulation).
            unsafe {
                matmul(
                    (o, ld, kk),
                    (out.as_mut_ptr().cast::<T>(), ld, 1),
                    false,
                    (w.as_ptr(), kk, 1),
                    (cols.as_ptr(), ld, 1),
                )
            };
            if !identity {
                // SAFETY: the product above wrote all of `out`.
                let out = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<T>(), o * l) };
                out.par_chunks_mut(l).enumerate().for_each(|(oc, row)| epilogue.apply(oc, row));
            }
        } else {
            let prod = &mut tmp[..o * ld];
            // SAFETY: as above, into the chunk's product buffer.
            unsafe {
                matmul((o, ld, kk), (prod.as_mut_ptr(), ld, 1), false, (w.as_ptr(), kk, 1), (cols.as_ptr(), ld, 1))
            };
            let prod = &*prod;
            // (o, nb·l) → (nb, o, l), through the epilogue: every value of the chunk's output block is written.
            let block = &mut yu[start * o * l..][..nb * o * l];
            block.par_chunks_mut(o * l).enumerate().for_each(|(b, yb)| {
                for (oc, row) in yb.chunks_mut(l).enumerate() {
                    epilogue.write(oc, row, &prod[oc * ld + b * l..][..l]);
                }
            });
        }
        start += nb;
    }
    // SAFETY: the chunks cover images 0..n, and each wrote all of its o·l values per image.
    unsafe { y.set_len(total) };
    y
}

/// Gradients of the convolution from the output gradient `grad` `(n, o, oh, ow)`: input (when `with_input`),
/// weight and, when asked, bias.
pub(crate) fn backward<T: Float>(
    x: &[T],
    w: &[T],
    grad: &[T],
    d: &Dims,
    with_bias: bool,
    with_input: bool,
) -> (Option<Vec<T>>, Vec<T>, Option<Vec<T>>) {
    let (l, kk, o) = (d.l(), d.kk(), d.o);
    let chunk = d.chunk();
    let img = d.c * d.h * d.w;
    // col2im adds into dx: zeroed in parallel (`vec!` zeroes on one thread).
    let mut dx = with_input.then(|| par_zeroed(d.n * img, img, T::zero(), |_, _| {}));
    let mut db = with_bias.then(|| vec![T::zero(); o]);
    if d.n == 0 {
        return (dx, vec![T::zero(); o * kk], db);
    }
    // The first chunk's product writes every value of dw without reading it; later chunks add to it.
    let mut dw: Vec<T> = Vec::with_capacity(o * kk);
    let dw_ptr = dw.spare_capacity_mut()[..o * kk].as_mut_ptr().cast::<T>();
    let mut cols = Scratch::<T>::take(kk * chunk * l);
    let mut gmat = Scratch::<T>::take(if chunk > 1 { o * chunk * l } else { 0 });
    let mut start = 0;
    while start < d.n {
        let nb = chunk.min(d.n - start);
        let ld = nb * l;
        let gblock = &grad[start * o * l..][..nb * o * l];
        // G_chunk (o × nb·l)
        let g: &[T] = if nb == 1 {
            gblock
        } else {
            gmat[..o * ld].par_chunks_mut(ld).enumerate().for_each(|(oc, row)| {
                for b in 0..nb {
                    row[b * l..][..l].copy_from_slice(&gblock[(b * o + oc) * l..][..l]);
                }
            });
            &gmat[..o * ld]
        };
        if let Some(db) = db.as_mut() {
            for (acc, row) in db.iter_mut().zip(g.chunks(ld)) {
                *acc += row.iter().fold(T::zero(), |s, &v| s + v);
            }
        }
        im2col(&x[start * img..(start + nb) * img], d, nb, &mut cols);
        // SAFETY: g is (o × ld), cols (kk × ld) read as colsᵀ (ld × kk), dw (o × kk) within its capacity; the
        // first product (start = 0) only writes it, later ones read what the first wrote.
        unsafe { matmul((o, kk, ld), (dw_ptr, kk, 1), start > 0, (g.as_ptr(), ld, 1), (cols.as_ptr(), 1, ld)) };
        if let Some(dx) = dx.as_mut() {
            // dcols (kk × ld) = wᵀ (kk × o) · g, reusing the column buffer.
            // SAFETY: w is (o × kk) read transposed; cols is written, not read, here.
            unsafe { matmul((kk, ld, o), (cols.as_mut_ptr(), ld, 1), false, (w.as_ptr(), 1, kk), (g.as_ptr(), ld, 1)) };
            col2im(&cols, d, nb, &mut dx[start * img..(start + nb) * img]);
        }
        start += nb;
    }
    // SAFETY: n ≥ 1, so the first chunk's product wrote all o·kk values.
    unsafe { dw.set_len(o * kk) };
    (dx, dw, db)
}
