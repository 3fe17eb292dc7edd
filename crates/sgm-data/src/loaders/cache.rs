//! A process-wide in-memory cache of loaded data sets, so that a data set decoded once (FER+ train is
//! 25k × 48 × 48 bytes) is not decoded again by a later step of the same process (training, then evaluation).
//!
//! Entries are keyed by the format, the root folder (canonicalised) and the options. The cache does not watch the
//! disk: a data set changed on disk during the process is served stale until [`clear_cache`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use super::{load, Format, LoadOptions, LoadedDataset};
use crate::error::{DataError, Result};

type Key = (Format, PathBuf, String);

fn cache() -> &'static Mutex<HashMap<Key, Arc<LoadedDataset>>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Arc<LoadedDataset>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// [`load`], served from the cache when the same data set was loaded with the same options before.
pub fn load_cached(format: Format, root: &Path, opts: &LoadOptions) -> Result<Arc<LoadedDataset>> {
    opts.validate()?;
    let canonical = root.canonicalize().map_err(|e| DataError::io(root, e))?;
    let options = serde_json::to_string(opts).map_err(|e| DataError::Config(format!("options: {e}")))?;
    let key = (format, canonical, options);
    if let Some(hit) = cache().lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(Arc::clone(hit));
    }
    // Decode outside the lock: other data sets can be served meanwhile.
    let loaded = Arc::new(load(format, root, opts)?);
    let mut map = cache().lock().unwrap_or_else(|p| p.into_inner());
    Ok(Arc::clone(map.entry(key).or_insert(loaded)))
}

/// Empties the cache.
pub fn clear_cache() {
    cache().lock().unwrap_or_else(|p| p.into_inner()).clear();
}
