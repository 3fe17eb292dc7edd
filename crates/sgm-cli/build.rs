//! Records the git commit this crate is built from (`SGM_GIT_COMMIT`, with `+dirty` for uncommitted changes to
//! tracked files), so that reports name the code that produced them, not whatever the checkout holds when they are
//! written. Outside a git checkout (a crates.io build) nothing is recorded.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string()).filter(|s| !s.is_empty())
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let workspace = Path::new(&manifest).join("../..");
    // Re-run when the sources change (for the dirty flag) or HEAD moves.
    for path in ["crates", "xtask", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", workspace.join(path).display());
    }
    let Some(commit) = git(&["-C", &manifest, "rev-parse", "--short=12", "HEAD"]) else { return };
    let mut watched = vec!["HEAD".to_string(), "index".to_string(), "packed-refs".to_string()];
    if let Some(head_ref) = git(&["-C", &manifest, "symbolic-ref", "-q", "HEAD"]) {
        watched.push(head_ref);
    }
    for name in watched {
        if let Some(path) = git(&["-C", &manifest, "rev-parse", "--path-format=absolute", "--git-path", &name]) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let dirty = git(&["-C", &manifest, "status", "--porcelain", "--untracked-files=no"]).is_some();
    println!("cargo:rustc-env=SGM_GIT_COMMIT={commit}{}", if dirty { "+dirty" } else { "" });
}
