//! The lock of a run directory: one writer at a time.
//!
//! [`RunLock::acquire`] takes an exclusive advisory lock (the operating system's file lock, `flock` on Unix) on
//! `DIR/.sgm-run.lock` and writes the holder's PID into it. A second writer is refused at once with the directory
//! and that PID. The operating system releases the lock when its holder ends, however it ends, so a killed run
//! leaves no lock behind, only its PID in the file: the next writer takes the lock over and says so. On a file
//! system without locks, the PID in the file decides: a live process other than this one holds the directory.

use crate::error::{Result, TrainError};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside a run directory.
pub const LOCK_FILE: &str = ".sgm-run.lock";

/// An exclusive lock on a run directory, held until it is dropped.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    dir: PathBuf,
    taken_over_from: Option<u32>,
}

impl RunLock {
    /// Locks the existing directory `dir`, or refuses with [`TrainError::RunLocked`] when another process holds it.
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| TrainError::io(&path, e))?;
        let own = std::process::id();
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(TrainError::RunLocked { dir: dir.to_path_buf(), pid: holder_pid(&mut file) });
            }
            Err(TryLockError::Error(e)) => {
                // A file system without locks (some network file systems): the PID in the file decides.
                if let Some(pid) = read_pid(&mut file).filter(|&p| p != own && pid_alive(p) != Some(false)) {
                    return Err(TrainError::RunLocked { dir: dir.to_path_buf(), pid: Some(pid) });
                }
                tracing::warn!("{}: no file locks here ({e}); relying on the PID written in it", path.display());
            }
        }
        let taken_over_from = read_pid(&mut file).filter(|&p| p != own);
        if let Some(pid) = taken_over_from {
            tracing::warn!(
                "{}: taking over the lock left by sgm process {pid}, which ended without releasing the directory \
                 (killed?)",
                dir.display()
            );
        }
        let write = |f: &mut File| -> std::io::Result<()> {
            f.set_len(0)?;
            f.seek(SeekFrom::Start(0))?;
            writeln!(f, "{own}")?;
            f.sync_all()
        };
        write(&mut file).map_err(|e| TrainError::io(&path, e))?;
        Ok(Self { file, dir: dir.to_path_buf(), taken_over_from })
    }

    /// Refuses at once, as [`RunLock::acquire`] would, when another process holds `dir`; takes and keeps nothing
    /// and creates nothing. For an early check before slow preparations; the lock itself is taken by `acquire`.
    pub fn check_free(dir: &Path) -> Result<()> {
        let Ok(mut file) = File::open(dir.join(LOCK_FILE)) else { return Ok(()) };
        match file.try_lock_shared() {
            Err(TryLockError::WouldBlock) => {
                Err(TrainError::RunLocked { dir: dir.to_path_buf(), pid: holder_pid(&mut file) })
            }
            _ => Ok(()),
        }
    }

    /// The locked directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The PID of an earlier holder that ended without releasing the directory (a killed run), if there was one.
    pub fn taken_over_from(&self) -> Option<u32> {
        self.taken_over_from
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // A clean end leaves an empty lock file; the operating system releases the lock when the file is closed.
        let _ = self.file.set_len(0);
    }
}

/// The PID written in the lock file, if any.
fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// The holder's PID; it writes it just after taking the lock, so a refused writer waits briefly for it.
fn holder_pid(file: &mut File) -> Option<u32> {
    for _ in 0..20 {
        if let Some(pid) = read_pid(file) {
            return Some(pid);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    None
}

/// Whether process `pid` is running: `Some` where the system says (Linux's `/proc`), `None` elsewhere.
pub fn pid_alive(pid: u32) -> Option<bool> {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return None;
    }
    Some(proc.join(pid.to_string()).exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_with_the_holder_pid() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path()).unwrap();
        assert_eq!(first.taken_over_from(), None);
        let err = RunLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        assert!(err.contains(&format!("PID {}", std::process::id())), "{err}");
        drop(first);
        let again = RunLock::acquire(dir.path()).unwrap();
        assert_eq!(again.taken_over_from(), None, "a clean release leaves no stale PID");
    }

    #[test]
    fn the_lock_of_a_dead_process_is_taken_over_with_its_pid() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), format!("{dead}\n")).unwrap();
        let lock = RunLock::acquire(dir.path()).unwrap();
        assert_eq!(lock.taken_over_from(), Some(dead));
        let text = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
    }
}
