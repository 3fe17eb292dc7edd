//! Buffers sized by arguments (image counts, target sizes) are reserved without aborting: a buffer the allocator
//! cannot grant is a [`DataError::TooLarge`] naming what it was for. (sgm-core has the same check for the layers
//! above; sgm-data, a layer-1 crate, depends on candle alone.)

use crate::error::{DataError, Result};

/// Reserves room for `additional` more elements in `v`, or refuses naming `what`.
pub fn reserve<T>(v: &mut Vec<T>, additional: usize, what: impl FnOnce() -> String) -> Result<()> {
    let bytes = (additional as u128).saturating_mul(std::mem::size_of::<T>().max(1) as u128);
    v.try_reserve_exact(additional).map_err(|_| DataError::TooLarge { what: what(), bytes })
}

/// Whether `bytes` could be allocated now, probed by a reservation freed at once; else refuses naming `what`.
pub fn probe(bytes: u128, what: impl FnOnce() -> String) -> Result<()> {
    let Ok(n) = usize::try_from(bytes) else { return Err(DataError::TooLarge { what: what(), bytes }) };
    let mut v: Vec<u8> = Vec::new();
    reserve(&mut v, n, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_impossible_buffer_is_an_error_not_an_abort() {
        let err = probe(u128::from(u64::MAX), || "a test buffer".into()).unwrap_err().to_string();
        assert!(err.starts_with("a test buffer needs 17179869184.0 GiB"), "{err}");
        probe(1 << 20, || "a small buffer".into()).unwrap();
    }
}
