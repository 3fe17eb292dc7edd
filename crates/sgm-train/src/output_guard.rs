//! Outputs that would overwrite what sgm did not write for that purpose. The commands that write results
//! (`sgm embed`, `export`, `cluster`, `tsne`, `reproduce`) refuse an output that is an sgm checkpoint, or that is or
//! lies inside a run directory (whose files `sgm train` writes and resumes from), unless forced.

use crate::checkpoint;
use crate::error::{Result, TrainError};
use crate::train::RunDir;
use std::path::Path;

/// `Ok` when `path` may be written by a results command; [`TrainError::OutputRefused`] when it is an sgm
/// checkpoint or is, or lies inside, a run directory. `force` allows everything.
pub fn check_output(path: &Path, force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    let refuse = |reason: String| Err(TrainError::OutputRefused { path: path.to_path_buf(), reason });
    if checkpoint::is_checkpoint(path) {
        return refuse("is an sgm checkpoint; writing there would replace it".into());
    }
    let absolute = std::path::absolute(path).map_err(|e| TrainError::io(path, e))?;
    for dir in absolute.ancestors() {
        if RunDir::is_run_dir(dir) {
            return refuse(if dir == absolute {
                "is a run directory of sgm train".into()
            } else {
                format!(
                    "lies inside the run directory {}, whose files sgm train writes and resumes from",
                    dir.display()
                )
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_and_run_directories_are_refused_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("out.safetensors");
        check_output(&plain, false).unwrap();
        let ck = dir.path().join("model.safetensors");
        checkpoint::save(&ck, &[], &serde_json::json!({})).unwrap();
        let err = check_output(&ck, false).unwrap_err().to_string();
        assert!(err.contains("model.safetensors: is an sgm checkpoint") && err.contains("--force"), "{err}");
        check_output(&ck, true).unwrap();

        let run = dir.path().join("run");
        let _lock = RunDir::open(&run).unwrap();
        let err = check_output(&run.join("emb.npy"), false).unwrap_err().to_string();
        assert!(err.contains("lies inside the run directory"), "{err}");
        let err = check_output(&run.join("sub").join("groups"), false).unwrap_err().to_string();
        assert!(err.contains("lies inside the run directory"), "{err}");
        let err = check_output(&run, false).unwrap_err().to_string();
        assert!(err.contains("is a run directory"), "{err}");
        check_output(&run.join("emb.npy"), true).unwrap();
    }
}
