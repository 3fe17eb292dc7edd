//! The lock of a run directory: one writer at a time.
//!
//! [`RunLock::acquire`] takes an exclusive advisory lock (the operating system's file lock, `flock` on Unix) on
//! `DIR/.sgm-run.lock` and writes the holder's PID into it. A second writer is refused at once with the directory
//! and that PID (a lock with no PID in it yet is retried for half a second: see `wait_for_holder`). The operating
//! system releases the lock when its holder ends, however it ends, so a killed run leaves no lock behind, only its
//! PID in the file: the next writer takes the lock over and says so. On a file system without locks, the PID in
//! the file decides: a live process other than this one holds the directory.

use crate::error::{Result, TrainError};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
            Err(TryLockError::WouldBlock) => wait_for_holder(dir, &mut file, File::try_lock)?,
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
            Err(TryLockError::WouldBlock) => wait_for_holder(dir, &mut file, File::try_lock_shared),
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

/// How long a writer that finds the lock taken but no PID in the file waits before it refuses.
const PIDLESS_LOCK_WAIT: Duration = Duration::from_millis(500);

/// After `try_lock` found `file` locked: refuses with the holder's PID, or returns once `try_lock` takes the lock.
///
/// A live holder writes its PID just after locking. A lock with no PID in the file is either that moment or a
/// released lock whose descriptor a child process still holds: a process forked by any thread of the holder's
/// program (a test harness, a data tool) shares its open files until the child's `exec` closes them. Both pass
/// within moments, so the writer retries for [`PIDLESS_LOCK_WAIT`] before it refuses.
fn wait_for_holder(
    dir: &Path,
    file: &mut File,
    try_lock: fn(&File) -> std::result::Result<(), TryLockError>,
) -> Result<()> {
    let deadline = Instant::now() + PIDLESS_LOCK_WAIT;
    loop {
        if let Some(pid) = read_pid(file) {
            return Err(TrainError::RunLocked { dir: dir.to_path_buf(), pid: Some(pid) });
        }
        if Instant::now() >= deadline {
            return Err(TrainError::RunLocked { dir: dir.to_path_buf(), pid: None });
        }
        std::thread::sleep(Duration::from_millis(5));
        match try_lock(file) {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(TrainError::io(dir.join(LOCK_FILE), e)),
        }
    }
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
    fn a_released_lock_is_free_again_while_other_threads_spawn_processes() {
        // A child forked between `drop` and the next `acquire` holds a copy of the locked descriptor until its
        // `exec`; that once made this sequence fail in CI while a sibling test spawned a process.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spawner = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::process::Command::new("true").status().unwrap();
                }
            })
        };
        let dir = tempfile::tempdir().unwrap();
        let result = (0..200).try_for_each(|round| {
            let lock = RunLock::acquire(dir.path()).map_err(|e| format!("round {round}: {e}"))?;
            drop(lock);
            Ok::<_, String>(())
        });
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        spawner.join().unwrap();
        result.unwrap();
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
