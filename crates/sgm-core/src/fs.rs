//! Atomic file writes, the one implementation every sgm crate uses.
//!
//! The bytes go to a temporary sibling (`.NAME.tmp-PID-XXXXXX`, created by [`tempfile`] with a unique name), are
//! flushed to disk (`fsync`), then renamed over the target. A reader never sees a half-written file; a crash or a
//! full disk leaves the previous version intact, and the temporary file is removed on failure. The PID in the
//! name lets a later run tell a dead writer's leftovers from a live one's (see [`temp_file_owner`]).

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file that could not be written; names it.
#[derive(Debug, thiserror::Error)]
#[error("writing {}: {error}", path.display())]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// What the system said.
    pub error: std::io::Error,
}

impl WriteError {
    /// The kind of the underlying I/O error (e.g. `StorageFull`).
    pub fn kind(&self) -> std::io::ErrorKind {
        self.error.kind()
    }
}

/// Writes `bytes` to `path` atomically, creating the parent folder if needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write(path, bytes).map_err(|error| WriteError { path: path.to_path_buf(), error })
}

fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut tmp = tempfile::Builder::new().prefix(&format!(".{name}.tmp-{}-", std::process::id())).tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    // On failure the temporary file is removed when `persist`'s error (which owns it) is dropped.
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes `value` as pretty-printed JSON with a final newline, atomically ([`write_atomic`]).
pub fn write_json_atomic(path: &Path, value: &impl serde::Serialize) -> Result<(), WriteError> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| WriteError { path: path.to_path_buf(), error: std::io::Error::other(e) })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// For the name of a temporary file of [`write_atomic`] (`.NAME.tmp-PID-XXXXXX`, or `.NAME.tmp-PID` as earlier
/// versions wrote them): the target's `NAME` and the writer's `PID`.
pub fn temp_file_owner(name: &str) -> Option<(&str, u32)> {
    let (target, rest) = name.strip_prefix('.')?.rsplit_once(".tmp-")?;
    let pid = rest.split_once('-').map_or(rest, |(pid, _)| pid);
    Some((target, pid.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_an_existing_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        std::fs::write(&p, b"old").unwrap();
        write_json_atomic(&p, &serde_json::json!({"x": 1})).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{\n  \"x\": 1\n}\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_removes_the_temporary() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a non-empty directory: the rename fails.
        let p = dir.path().join("t");
        std::fs::create_dir_all(p.join("inside")).unwrap();
        assert!(write_atomic(&p, b"new").is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("t")]);
    }

    #[test]
    fn temporary_names_carry_the_pid() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".x.bin.tmp-{}-", std::process::id()))
            .tempfile_in(dir.path())
            .unwrap();
        let name = tmp.path().file_name().unwrap().to_str().unwrap().to_string();
        assert_eq!(temp_file_owner(&name), Some(("x.bin", std::process::id())));
        assert_eq!(temp_file_owner(".log.jsonl.tmp-17"), Some(("log.jsonl", 17)), "as earlier versions named them");
        assert_eq!(temp_file_owner("log.jsonl"), None);
        assert_eq!(temp_file_owner(".a.tmp-x1"), None);
    }
}
