//! Checks that a buffer can be allocated before it is. A size that comes from an argument or a configuration (an
//! embedding dimension, a batch size, a number of points or clusters) is refused with a message naming it when the
//! buffers it implies cannot exist, instead of the process aborting on a failed allocation.
//!
//! A buffer of `b` bytes is allocatable when `b` is at most the machine's physical memory (`MemTotal` of
//! `/proc/meminfo`, where there is one) and the allocator grants `b` bytes now: [`can_allocate`] reserves them and
//! frees them at once, without touching a page, so the probe costs nothing.

/// A buffer too large for this machine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} needs {}, more than this machine can allocate{}", human(*bytes), limit_text(*limit))]
pub struct TooLarge {
    /// What the buffer is for, and which setting sized it.
    pub what: String,
    /// Bytes it would take (saturated at `u128::MAX`).
    pub bytes: u128,
    /// The machine's physical memory, when known.
    pub limit: Option<u64>,
}

fn limit_text(limit: Option<u64>) -> String {
    limit.map(|l| format!(" ({} of memory)", human(u128::from(l)))).unwrap_or_default()
}

/// Bytes in a human unit: `1.5 GiB`, `16 TiB`.
pub fn human(bytes: u128) -> String {
    const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// The machine's physical memory in bytes (`MemTotal` of `/proc/meminfo`), or `None` where it cannot be read.
pub fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Whether `bytes` can be allocated now: within physical memory, and granted by the allocator (probed by a
/// reservation that is freed at once).
pub fn can_allocate(bytes: u128) -> bool {
    if physical_memory().is_some_and(|m| bytes > u128::from(m)) {
        return false;
    }
    let Ok(n) = usize::try_from(bytes) else { return false };
    if n > isize::MAX as usize {
        return false;
    }
    let mut probe: Vec<u8> = Vec::new();
    probe.try_reserve_exact(n).is_ok()
}

/// `Ok` when `count` elements of `elem_bytes` bytes each can be allocated; else [`TooLarge`] naming `what`.
pub fn check(what: impl Into<String>, count: u128, elem_bytes: u128) -> Result<(), TooLarge> {
    let bytes = count.saturating_mul(elem_bytes);
    if can_allocate(bytes) {
        Ok(())
    } else {
        Err(TooLarge { what: what.into(), bytes, limit: physical_memory() })
    }
}

/// A vector of `n` copies of `value`, or [`TooLarge`] naming `what` when it cannot be allocated (never an abort).
pub fn try_filled<T: Clone>(what: impl Into<String>, n: usize, value: T) -> Result<Vec<T>, TooLarge> {
    let mut v = Vec::new();
    let elem = std::mem::size_of::<T>().max(1) as u128;
    check_reserve(&mut v, n).map_err(|_| TooLarge {
        what: what.into(),
        bytes: (n as u128).saturating_mul(elem),
        limit: physical_memory(),
    })?;
    v.resize(n, value);
    Ok(v)
}

/// Reserves room for `additional` more elements in `v` without aborting: the same check as [`check`], then
/// `try_reserve_exact`.
pub fn check_reserve<T>(v: &mut Vec<T>, additional: usize) -> Result<(), TooLarge> {
    let elem = std::mem::size_of::<T>().max(1) as u128;
    let bytes = (additional as u128).saturating_mul(elem);
    let fail = || TooLarge { what: "a buffer".into(), bytes, limit: physical_memory() };
    if physical_memory().is_some_and(|m| bytes > u128::from(m)) {
        return Err(fail());
    }
    v.try_reserve_exact(additional).map_err(|_| fail())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_buffers_pass_and_absurd_ones_are_refused_with_their_name() {
        check("a small buffer", 1024, 4).unwrap();
        let err = check("the embedding layer (embedding_dim 4000000000)", 4_000_000_000, 4096 * 4).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("the embedding layer (embedding_dim 4000000000) needs 59.6 TiB"), "{text}");
        assert!(check("overflow", u128::MAX, 8).is_err());
        assert!(try_filled("points", usize::MAX / 2, 0u64).is_err());
        assert_eq!(try_filled("points", 3, 7u8).unwrap(), vec![7, 7, 7]);
    }

    #[test]
    fn a_neighbour_search_too_large_to_allocate_is_refused() {
        let emb = crate::Embeddings::new(vec![0.0, 1.0, 2.0], 3, 1, "points").unwrap();
        let err = crate::knn_search(&emb, &emb, 1 << 60, crate::Exclusion::None).unwrap_err().to_string();
        assert!(err.contains("nearest neighbours (k) of 3 queries"), "{err}");
    }

    #[test]
    fn human_units() {
        assert_eq!(human(10), "10 bytes");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(16 << 40), "16.0 TiB");
    }
}
