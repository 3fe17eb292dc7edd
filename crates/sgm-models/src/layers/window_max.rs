//! The kernel shared by [`max_pool2d`](super::max_pool2d) and
//! [`FractionalMaxPool2d`](super::FractionalMaxPool2d): a max over `kh×kw` windows whose top-left corners are given
//! explicitly per output row and column (shared by all planes, or one sequence per plane).
//!
//! On the CPU it is a candle custom op whose forward computes the maxima (for max-pooling's shared windows in two
//! separable passes) and whose backward finds each window's arg-max in the input and routes the output gradient
//! to it: the **first** maximal element of the window in row-major order, as PyTorch does (a NaN wins over
//! numbers, the last NaN of a window wins). Window cells outside
//! the input are padding and never win (PyTorch pads max-pooling with −∞).
//!
//! On other devices [`window_max_composite`] builds the same forward from candle ops (−∞ padding, an index
//! `gather`, a `max` over the window axis). Its gradient differs only on ties: candle's `max` backward gives the
//! full output gradient to **every** maximal element of a window, not to the first one.

use std::sync::{Arc, OnceLock};

use rayon::prelude::*;

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Shape, Tensor, WithDType};

use super::scratch::{par_filled, par_zeroed};
use super::{Kernels, Route};

use crate::error::{bad_input, Result};

/// Where the pooling windows lie.
#[derive(Debug, Clone)]
pub(crate) struct Windows {
    /// Window height.
    pub kh: usize,
    /// Window width.
    pub kw: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
    /// Row of the top edge of each output row's windows: `oh` values shared by all planes, or `planes·oh`.
    pub rows: Arc<Vec<i64>>,
    /// Column of the left edge of each output column's windows: `ow` values, or `planes·ow`.
    pub cols: Arc<Vec<i64>>,
    /// Whether `rows`/`cols` hold one sequence per plane (plane = n·C + c).
    pub per_plane: bool,
}

impl Windows {
    fn row(&self, plane: usize, i: usize) -> i64 {
        if self.per_plane {
            self.rows[plane * self.oh + i]
        } else {
            self.rows[i]
        }
    }

    fn col(&self, plane: usize, j: usize) -> i64 {
        if self.per_plane {
            self.cols[plane * self.ow + j]
        } else {
            self.cols[j]
        }
    }

    fn check(&self, planes: usize) -> candle_core::Result<()> {
        let (nr, nc) = if self.per_plane { (planes * self.oh, planes * self.ow) } else { (self.oh, self.ow) };
        if self.rows.len() != nr || self.cols.len() != nc {
            candle_core::bail!(
                "window-max: {} row / {} col starts for {planes} planes",
                self.rows.len(),
                self.cols.len()
            )
        }
        Ok(())
    }

    /// Calls `f(out_index, argmax_index)` for every window of plane `p`, given that plane's `h×w` values
    /// (indices are local to the plane). `f` is called exactly once for every window, `out_index` running over
    /// `0..oh·ow`: callers rely on it to write every output.
    fn plane_argmax<T: WithDType>(&self, x: &[T], p: usize, h: usize, w: usize, mut f: impl FnMut(usize, usize)) {
        let neg_inf = T::from_f64(f64::NEG_INFINITY);
        for i in 0..self.oh {
            let (r0, r1) = span(self.row(p, i), self.kh, h);
            for j in 0..self.ow {
                let (c0, c1) = span(self.col(p, j), self.kw, w);
                let mut best = neg_inf;
                let mut best_idx = r0.min(h.saturating_sub(1)) * w + c0.min(w.saturating_sub(1));
                for r in r0..r1 {
                    for c in c0..c1 {
                        let idx = r * w + c;
                        let v = x[idx];
                        #[allow(clippy::eq_op)]
                        let is_nan = v != v;
                        if v > best || is_nan {
                            best = v;
                            best_idx = idx;
                        }
                    }
                }
                f(i * self.ow + j, best_idx);
            }
        }
    }
}

/// The cells `start..start + k` of a side of `size` that lie inside it (a window's rows or columns; the rest is
/// padding).
fn span(start: i64, k: usize, size: usize) -> (usize, usize) {
    (start.max(0) as usize, ((start + k as i64).min(size as i64)).max(0) as usize)
}

/// `best` or `v`, whichever the row-major search of [`Windows::plane_argmax`] keeps as a window's maximum value: the
/// larger, and a NaN over any number.
#[inline(always)]
fn nan_max<T: PartialOrd + Copy>(best: T, v: T) -> T {
    #[allow(clippy::eq_op)]
    let is_nan = v != v;
    if v > best || is_nan {
        v
    } else {
        best
    }
}

impl Windows {
    /// The window maxima of `planes` planes of `h×w` values under windows shared by every plane (max-pooling): the
    /// values of [`Windows::plane_argmax`], in two passes. For each output row, a pass down the window's rows keeps
    /// each input column's maximum (along contiguous rows, so vectorised), then a pass along each window's columns
    /// takes the maximum of those.
    fn max_shared<T: WithDType>(&self, x: &[T], planes: usize, h: usize, w: usize) -> Vec<T> {
        debug_assert!(!self.per_plane);
        let neg_inf = T::from_f64(f64::NEG_INFINITY);
        let per_plane = (self.oh * self.ow).max(1);
        let len = planes * self.oh * self.ow;
        let mut out = Vec::<T>::with_capacity(len);
        out.spare_capacity_mut()[..len].par_chunks_mut(per_plane).enumerate().for_each_init(
            || vec![neg_inf; w],
            |col_max, (p, out)| {
                let plane = &x[p * h * w..][..h * w];
                for i in 0..self.oh {
                    let (r0, r1) = span(self.rows[i], self.kh, h);
                    col_max.fill(neg_inf);
                    for r in r0..r1 {
                        for (m, &v) in col_max.iter_mut().zip(&plane[r * w..][..w]) {
                            *m = nan_max(*m, v);
                        }
                    }
                    for j in 0..self.ow {
                        let (c0, c1) = span(self.cols[j], self.kw, w);
                        let m = col_max[c0..c1.max(c0)].iter().fold(neg_inf, |m, &v| nan_max(m, v));
                        out[i * self.ow + j].write(m);
                    }
                }
            },
        );
        // SAFETY: every plane's chunk had all of its oh·ow values written above.
        unsafe { out.set_len(len) };
        out
    }

    /// Every window's arg-max (local to its plane) in `planes` planes of `h×w` values, given the windows' maxima
    /// (the forward's output): the indices of [`Windows::plane_argmax`]. For windows shared by every plane, each
    /// window is scanned for the first cell equal to its maximum (the last NaN where the maximum is NaN) with
    /// conditional moves, not the search's data-dependent branches.
    fn argmaxes<T: WithDType>(&self, x: &[T], maxima: &[T], planes: usize, h: usize, w: usize) -> Vec<u32> {
        let per_plane = (self.oh * self.ow).max(1);
        // SAFETY: both branches write every index of their plane (`plane_argmax` calls back once per window).
        unsafe {
            par_filled(planes * self.oh * self.ow, per_plane, |p, idx| {
                let plane = &x[p * h * w..][..h * w];
                if self.per_plane {
                    self.plane_argmax(plane, p, h, w, |o, a| {
                        idx[o].write(a as u32);
                    });
                    return;
                }
                let maxima = &maxima[p * per_plane..][..per_plane];
                for i in 0..self.oh {
                    let (r0, r1) = span(self.rows[i], self.kh, h);
                    for j in 0..self.ow {
                        let (c0, c1) = span(self.cols[j], self.kw, w);
                        let m = maxima[i * self.ow + j];
                        // `plane_argmax`'s choice when no cell beats −∞.
                        let mut a = r0.min(h - 1) * w + c0.min(w - 1);
                        #[allow(clippy::eq_op)]
                        if m != m {
                            for r in r0..r1 {
                                for c in c0..c1 {
                                    let v = plane[r * w + c];
                                    #[allow(clippy::eq_op)]
                                    let nan = v != v;
                                    a = if nan { r * w + c } else { a };
                                }
                            }
                        } else {
                            for r in (r0..r1).rev() {
                                for c in (c0..c1).rev() {
                                    a = if plane[r * w + c] == m { r * w + c } else { a };
                                }
                            }
                        }
                        idx[i * self.ow + j].write(a as u32);
                    }
                }
            })
        }
    }
}

fn contiguous<'a, T>(data: &'a [T], layout: &Layout) -> candle_core::Result<&'a [T]> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("window-max needs a contiguous input"),
    }
}

fn dims4(layout: &Layout) -> candle_core::Result<(usize, usize, usize, usize)> {
    layout.shape().dims4()
}

/// The custom op. For max-pooling's shared windows its forward computes the maxima only and its backward finds the
/// arg-maxes from them (as PyTorch's pooling keeps them), so an evaluation forward, whose input still tracks the
/// weights' graph, neither searches for indices nor keeps them. For per-plane (fractional) windows, where finding
/// an arg-max again costs a second search, the forward keeps them when its input is differentiated.
pub(crate) struct WindowMaxOp {
    windows: Windows,
    /// `Some` when the forward records the arg-maxes (per-plane windows, differentiated input); set once by it.
    argmax: Option<OnceLock<Vec<u32>>>,
}

impl WindowMaxOp {
    fn fwd<T: WithDType>(&self, x: &[T], layout: &Layout) -> candle_core::Result<(Vec<T>, Shape)> {
        let (n, c, h, w) = dims4(layout)?;
        let win = &self.windows;
        win.check(n * c)?;
        if h * w > u32::MAX as usize {
            candle_core::bail!("window-max: a {h}×{w} plane is too large");
        }
        let x = contiguous(x, layout)?;
        let shape = Shape::from((n, c, win.oh, win.ow));
        let (len, per_plane) = (n * c * win.oh * win.ow, (win.oh * win.ow).max(1));
        // `plane_argmax` calls back once for every window of its plane: every output value (and index) is written.
        let Some(cell) = &self.argmax else {
            if !win.per_plane {
                return Ok((win.max_shared(x, n * c, h, w), shape));
            }
            // SAFETY: see above.
            let out = unsafe {
                par_filled(len, per_plane, |p, out| {
                    let plane = &x[p * h * w..][..h * w];
                    win.plane_argmax(plane, p, h, w, |o, a| {
                        out[o].write(plane[a]);
                    });
                })
            };
            return Ok((out, shape));
        };
        let (mut out, mut idx) = (Vec::<T>::with_capacity(len), Vec::<u32>::with_capacity(len));
        out.spare_capacity_mut()[..len]
            .par_chunks_mut(per_plane)
            .zip(idx.spare_capacity_mut()[..len].par_chunks_mut(per_plane))
            .enumerate()
            .for_each(|(p, (out, idx))| {
                let plane = &x[p * h * w..][..h * w];
                win.plane_argmax(plane, p, h, w, |o, a| {
                    out[o].write(plane[a]);
                    idx[o].write(a as u32);
                });
            });
        // SAFETY: the chunks cover 0..len of both, and every value of every chunk was written (see above).
        unsafe {
            out.set_len(len);
            idx.set_len(len);
        }
        // A second forward through the same op cannot happen (candle applies an op once); keep the first.
        let _ = cell.set(idx);
        Ok((out, shape))
    }

    /// The input gradient of `planes` planes of `h×w` values `x` from the output gradient `g`: at the arg-maxes
    /// the forward kept, or else at those found from its output `maxima`.
    fn input_gradient<T: WithDType>(
        &self,
        x: &[T],
        maxima: &[T],
        g: &[T],
        (planes, h, w): (usize, usize, usize),
    ) -> Vec<T> {
        match self.argmax.as_ref().and_then(OnceLock::get) {
            Some(idx) => scatter_argmax(g, idx, planes, h * w),
            None => scatter_argmax(g, &self.windows.argmaxes(x, maxima, planes, h, w), planes, h * w),
        }
    }
}

/// The input gradient from the arg-maxes: `grad` of each window added at its arg-max.
fn scatter_argmax<T: WithDType>(g: &[T], idx: &[u32], planes: usize, hw: usize) -> Vec<T> {
    let per_plane = idx.len() / planes.max(1);
    par_zeroed(planes * hw, hw, T::zero(), |p, dx| {
        for (&a, &gv) in idx[p * per_plane..][..per_plane].iter().zip(&g[p * per_plane..][..per_plane]) {
            dx[a as usize] += gv;
        }
    })
}

impl CustomOp1 for WindowMaxOp {
    fn name(&self) -> &'static str {
        "sgm-window-max"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        match storage {
            CpuStorage::F32(x) => self.fwd(x, layout).map(|(v, s)| (CpuStorage::F32(v), s)),
            CpuStorage::F64(x) => self.fwd(x, layout).map(|(v, s)| (CpuStorage::F64(v), s)),
            _ => candle_core::bail!("window-max supports f32 and f64 only"),
        }
    }

    fn bwd(&self, arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let (n, c, h, w) = arg.dims4()?;
        let win = &self.windows;
        let (x, res, grad) = (arg.contiguous()?, res.contiguous()?, grad_res.contiguous()?);
        let ((xs, lx), (rs, lr), (gs, lg)) =
            (x.storage_and_layout(), res.storage_and_layout(), grad.storage_and_layout());
        if lg.shape().elem_count() != n * c * win.oh * win.ow {
            candle_core::bail!(
                "window-max backward: {} gradient values for {} windows",
                lg.shape().elem_count(),
                n * c * win.oh * win.ow
            )
        }
        use candle_core::Storage::Cpu;
        let dims = (n * c, h, w);
        let dx = match (&*xs, &*rs, &*gs) {
            (Cpu(CpuStorage::F32(x)), Cpu(CpuStorage::F32(r)), Cpu(CpuStorage::F32(g))) => {
                let dx = self.input_gradient(contiguous(x, lx)?, contiguous(r, lr)?, contiguous(g, lg)?, dims);
                Tensor::from_vec(dx, (n, c, h, w), arg.device())?
            }
            (Cpu(CpuStorage::F64(x)), Cpu(CpuStorage::F64(r)), Cpu(CpuStorage::F64(g))) => {
                let dx = self.input_gradient(contiguous(x, lx)?, contiguous(r, lr)?, contiguous(g, lg)?, dims);
                Tensor::from_vec(dx, (n, c, h, w), arg.device())?
            }
            _ => candle_core::bail!("window-max backward supports f32 and f64 CPU tensors of one dtype"),
        };
        Ok(Some(dx))
    }
}

/// The window max of `x` (N, C, H, W): the custom op where [`route`](super::route) picks a CPU kernel,
/// [`window_max_composite`] elsewhere (GPU tensors). The pooling's gradient rule is part of its semantics, not a
/// speed-up, so the CPU always takes the custom op ([`Kernels::Fast`] whatever the model's switch).
pub(crate) fn window_max(x: &Tensor, windows: Windows) -> Result<Tensor> {
    let (n, c, _, _) = x.dims4().map_err(|_| bad_input(format!("pooling needs (N, C, H, W), got {:?}", x.dims())))?;
    // On a GPU the composite also serves bf16/f16 (mixed precision); the CPU op is f32/f64 only.
    if x.device().is_cpu() && !matches!(x.dtype(), DType::F32 | DType::F64) {
        return Err(bad_input(format!("pooling supports f32 and f64, got {:?}", x.dtype())));
    }
    windows.check(n * c)?;
    if super::route_of(x, Kernels::Fast) == Route::CpuKernel {
        let argmax = (windows.per_plane && x.track_op()).then(OnceLock::new);
        Ok(x.contiguous()?.apply_op1(WindowMaxOp { windows, argmax })?)
    } else {
        window_max_composite(x, &windows)
    }
}

fn neg_inf_like(x: &Tensor, shape: &[usize]) -> Result<Tensor> {
    Ok(Tensor::full(f32::NEG_INFINITY, shape, x.device())?.to_dtype(x.dtype())?)
}

/// The same window max built from candle ops (−∞ padding, `gather`, `max`), for devices without the custom op.
///
/// Its forward equals the custom op's; its backward gives each tied maximum the full gradient (see module docs).
pub(crate) fn window_max_composite(x: &Tensor, w: &Windows) -> Result<Tensor> {
    let (n, c, h, wd) = x.dims4()?;
    let planes = n * c;
    w.check(planes)?;
    let np = if w.per_plane { planes } else { 1 };
    let min_r = (0..np).flat_map(|p| (0..w.oh).map(move |i| (p, i))).map(|(p, i)| w.row(p, i)).min().unwrap_or(0);
    let max_r = (0..np).flat_map(|p| (0..w.oh).map(move |i| (p, i))).map(|(p, i)| w.row(p, i)).max().unwrap_or(0);
    let min_c = (0..np).flat_map(|p| (0..w.ow).map(move |j| (p, j))).map(|(p, j)| w.col(p, j)).min().unwrap_or(0);
    let max_c = (0..np).flat_map(|p| (0..w.ow).map(move |j| (p, j))).map(|(p, j)| w.col(p, j)).max().unwrap_or(0);
    let top = (-min_r).max(0) as usize;
    let bottom = (max_r + w.kh as i64 - h as i64).max(0) as usize;
    let left = (-min_c).max(0) as usize;
    let right = (max_c + w.kw as i64 - wd as i64).max(0) as usize;
    let mut xp = x.clone();
    if top + bottom > 0 {
        let mut parts = Vec::new();
        if top > 0 {
            parts.push(neg_inf_like(x, &[n, c, top, wd])?);
        }
        parts.push(xp);
        if bottom > 0 {
            parts.push(neg_inf_like(x, &[n, c, bottom, wd])?);
        }
        xp = Tensor::cat(&parts, 2)?;
    }
    let hp = h + top + bottom;
    if left + right > 0 {
        let mut parts = Vec::new();
        if left > 0 {
            parts.push(neg_inf_like(x, &[n, c, hp, left])?);
        }
        parts.push(xp);
        if right > 0 {
            parts.push(neg_inf_like(x, &[n, c, hp, right])?);
        }
        xp = Tensor::cat(&parts, 3)?;
    }
    let wp = wd + left + right;
    let len = w.oh * w.ow * w.kh * w.kw;
    let mut idx = Vec::with_capacity(np * len);
    for p in 0..np {
        for i in 0..w.oh {
            for j in 0..w.ow {
                for a in 0..w.kh {
                    for b in 0..w.kw {
                        let r = (w.row(p, i) + top as i64 + a as i64) as usize;
                        let col = (w.col(p, j) + left as i64 + b as i64) as usize;
                        idx.push((r * wp + col) as u32);
                    }
                }
            }
        }
    }
    let idx = Tensor::from_vec(idx, (np, len), x.device())?;
    let idx = if np == planes { idx } else { idx.broadcast_as((planes, len))?.contiguous()? };
    let flat = xp.reshape((planes, hp * wp))?;
    let out = flat.gather(&idx, 1)?.reshape((planes, w.oh * w.ow, w.kh * w.kw))?.max(2)?;
    Ok(out.reshape((n, c, w.oh, w.ow))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two-pass maxima of shared windows, and the arg-maxes found from them, equal the row-major search's:
    /// kernels 2–3, strides 1–3, paddings up to half the kernel, ties (many zeros), NaNs and −∞ in the input.
    #[test]
    fn shared_window_maxima_equal_the_argmax_search() {
        for (k, s, p, h, w) in [(3, 2, 0, 24, 24), (3, 2, 1, 11, 7), (2, 2, 0, 6, 5), (3, 1, 1, 5, 9), (2, 3, 1, 10, 8)]
        {
            let starts = |o: usize| Arc::new((0..o).map(|i| (i * s) as i64 - p as i64).collect::<Vec<_>>());
            let (oh, ow) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
            let win = Windows { kh: k, kw: k, oh, ow, rows: starts(oh), cols: starts(ow), per_plane: false };
            let planes = 3;
            // Pseudo-random cells from few values: a ReLU's output (maxima mostly tied: the first one wins), then
            // NaNs (one in five: often several in a window, and the last one wins) and −∞ among them.
            for pattern in 0..2 {
                let x: Vec<f32> = (0..planes * h * w)
                    .map(|i| {
                        let r = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 59;
                        match (pattern, r % 10) {
                            (0, v) => (v as f32 - 6.0).max(0.0),
                            (_, 0 | 1) => f32::NAN,
                            (_, 2) => f32::NEG_INFINITY,
                            (_, v) => (v as f32 - 6.0).max(0.0),
                        }
                    })
                    .collect();
                let fast = win.max_shared(&x, planes, h, w);
                let (mut want, mut want_idx) = (vec![0f32; planes * oh * ow], vec![0u32; planes * oh * ow]);
                for pl in 0..planes {
                    let plane = &x[pl * h * w..][..h * w];
                    win.plane_argmax(plane, pl, h, w, |o, a| {
                        want[pl * oh * ow + o] = plane[a];
                        want_idx[pl * oh * ow + o] = a as u32;
                    });
                }
                assert_eq!(win.argmaxes(&x, &fast, planes, h, w), want_idx, "k{k} s{s} p{p} {h}×{w}: arg-maxes");
                for (i, (a, b)) in fast.iter().zip(&want).enumerate() {
                    assert!(
                        a == b || (a.is_nan() && b.is_nan()),
                        "k{k} s{s} p{p} {h}×{w}: output {i}: {a} against {b}"
                    );
                }
            }
        }
    }
}
