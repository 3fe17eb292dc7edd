//! Arithmetic on a fixed number of values at once, for code written once for one value and run on many.
//!
//! The Winograd transforms are linear maps written with `+`, `−` and multiplication by constants on one value per
//! patch cell ([`Ring`]). Run on [`Lanes`], the same code transforms `L` tiles at once: each operation is a loop
//! over `L` values that LLVM turns into vector instructions, and the results land in `L` consecutive columns of
//! the transformed matrices, so they are stored whole rather than one value at a time.

use std::ops::{Add, Mul, Sub};

/// Values with ring arithmetic and real constants: `f32`, `f64`, and [`Lanes`] of them.
pub(crate) trait Ring: Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> {
    /// Zero.
    const ZERO: Self;
    /// The constant `v` (in every lane).
    fn of(v: f64) -> Self;
}

impl Ring for f32 {
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn of(v: f64) -> Self {
        v as f32
    }
}

impl Ring for f64 {
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn of(v: f64) -> Self {
        v
    }
}

/// `L` values operated on together, lane by lane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Lanes<T, const L: usize>(pub [T; L]);

macro_rules! lanewise {
    ($tr:ident, $f:ident, $op:tt) => {
        impl<T: Ring, const L: usize> $tr for Lanes<T, L> {
            type Output = Self;
            #[inline(always)]
            fn $f(self, rhs: Self) -> Self {
                let mut out = self.0;
                for (o, r) in out.iter_mut().zip(rhs.0) {
                    *o = *o $op r;
                }
                Lanes(out)
            }
        }
    };
}

lanewise!(Add, add, +);
lanewise!(Sub, sub, -);
lanewise!(Mul, mul, *);

impl<T: Ring, const L: usize> Ring for Lanes<T, L> {
    const ZERO: Self = Lanes([T::ZERO; L]);
    #[inline(always)]
    fn of(v: f64) -> Self {
        Lanes([T::of(v); L])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_compute_each_lane_as_one_value() {
        let f = |a: f64, b: f64| a * <f64 as Ring>::of(2.0) - b + a * b;
        let (a, b) = (Lanes([1.0, -2.0, 0.5]), Lanes([3.0, 4.0, -1.0]));
        let got = a * Lanes::of(2.0) - b + a * b;
        assert_eq!(got, Lanes([f(1.0, 3.0), f(-2.0, 4.0), f(0.5, -1.0)]));
        assert_eq!(Lanes::<f32, 2>::ZERO, Lanes([0.0, 0.0]));
    }
}
