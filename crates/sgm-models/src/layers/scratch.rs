//! Scratch buffers reused from one call to the next: the column matrices and product buffers of the convolution
//! kernels. A training step asks for the same few sizes again and again; taking them from a small pool saves
//! zeroing fresh memory (and the page faults of fresh allocations) on every layer of every step.
//!
//! A [`Scratch`] holds whatever its previous user left in it: every caller writes the part it reads first.

use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};

use rayon::prelude::*;
use std::sync::Mutex;

use super::conv_kernels::Float;

/// Buffers kept per element type; more are freed when returned.
const POOLED: usize = 4;

/// Element types with a scratch pool.
pub(crate) trait Pooled: Sized + 'static {
    /// The pool of this element type.
    fn pool() -> &'static Mutex<Vec<Vec<Self>>>;
}

impl Pooled for f32 {
    fn pool() -> &'static Mutex<Vec<Vec<f32>>> {
        static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());
        &POOL
    }
}

impl Pooled for f64 {
    fn pool() -> &'static Mutex<Vec<Vec<f64>>> {
        static POOL: Mutex<Vec<Vec<f64>>> = Mutex::new(Vec::new());
        &POOL
    }
}

/// A buffer of at least the asked length, returned to the pool when dropped.
pub(crate) struct Scratch<T: Float> {
    buf: Vec<T>,
}

impl<T: Float> Scratch<T> {
    /// At least `n` values (the smallest pooled buffer that holds them, else the largest, grown). Their contents
    /// are unspecified: the caller writes before it reads.
    pub(crate) fn take(n: usize) -> Self {
        let mut buf = {
            let mut pool = T::pool().lock().unwrap_or_else(|p| p.into_inner());
            let fits = (0..pool.len()).filter(|&i| pool[i].len() >= n).min_by_key(|&i| pool[i].len());
            let pick = fits.or_else(|| (0..pool.len()).max_by_key(|&i| pool[i].len()));
            pick.map(|i| pool.swap_remove(i)).unwrap_or_default()
        };
        if buf.len() < n {
            buf.resize(n, T::zero());
        }
        Scratch { buf }
    }
}

impl<T: Float> Deref for Scratch<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.buf
    }
}

impl<T: Float> DerefMut for Scratch<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.buf
    }
}

impl<T: Float> Drop for Scratch<T> {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let mut pool = T::pool().lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < POOLED {
            pool.push(std::mem::take(&mut self.buf));
        } else if let Some(smallest) = (0..pool.len()).min_by_key(|&i| pool[i].len()) {
            // Keep the larger buffers: they are the expensive ones to make again.
            if pool[smallest].len() < self.buf.len() {
                pool[smallest] = std::mem::take(&mut self.buf);
            }
        }
    }
}

/// A vector of `n` values written straight into fresh memory by `fill(i, chunk)`, chunk `i` being values
/// `i·size ..` (the last chunk may be shorter), chunks in parallel: no zeroing pass before the real one.
///
/// # Safety
/// `fill` must write every element of every chunk it is given.
pub(crate) unsafe fn par_filled<T: Send>(
    n: usize,
    size: usize,
    fill: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync + Send,
) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    v.spare_capacity_mut()[..n].par_chunks_mut(size.max(1)).enumerate().for_each(|(i, c)| fill(i, c));
    // SAFETY: the chunks cover 0..n and the caller's `fill` wrote all of each.
    unsafe { v.set_len(n) };
    v
}

/// A vector of `n` values built chunk by chunk in parallel: each chunk of `size` values (the last may be shorter)
/// is set to `zero`, then handed to `fill(i, chunk)` to add into or overwrite while it is in cache. It replaces
/// `vec![zero; n]` followed by a parallel pass, whose zeroing runs on one thread.
pub(crate) fn par_zeroed<T: Copy + Send + Sync>(
    n: usize,
    size: usize,
    zero: T,
    fill: impl Fn(usize, &mut [T]) + Sync + Send,
) -> Vec<T> {
    // SAFETY: each chunk is wholly written with `zero` before it is viewed as initialised values.
    unsafe {
        par_filled(n, size, |i, c| {
            for o in c.iter_mut() {
                o.write(zero);
            }
            fill(i, &mut *(c as *mut [MaybeUninit<T>] as *mut [T]));
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_filled_writes_every_chunk_and_par_zeroed_keeps_what_is_added() {
        // SAFETY: the closure writes every element of its chunk.
        let v: Vec<u32> = unsafe {
            par_filled(10, 4, |i, c| {
                for (j, o) in c.iter_mut().enumerate() {
                    o.write((i * 4 + j) as u32);
                }
            })
        };
        assert_eq!(v, (0..10).collect::<Vec<u32>>());
        // Chunks start zeroed and keep what `fill` adds.
        let z = par_zeroed(10, 4, 0u32, |i, c| c[0] += i as u32 + 1);
        assert_eq!(z, [1, 0, 0, 0, 2, 0, 0, 0, 3, 0]);
        assert!(par_zeroed(0, 4, 0u8, |_, _| unreachable!("no chunks")).is_empty());
    }

    #[test]
    fn buffers_come_back_and_are_reused_when_large_enough() {
        // f64 pool: other tests in this binary use it too, so only what this test can see is asserted.
        let mut a = Scratch::<f64>::take(1000);
        assert!(a.len() >= 1000);
        a[..1000].fill(7.0);
        let ptr = a.as_ptr();
        drop(a);
        let b = Scratch::<f64>::take(1000);
        assert!(b.len() >= 1000);
        // Another thread may have taken it in between; when it is the same buffer, the values are still there.
        if b.as_ptr() == ptr {
            assert_eq!(b[999], 7.0);
        }
        let c = Scratch::<f64>::take(5000);
        assert!(c.len() >= 5000);
    }
}
