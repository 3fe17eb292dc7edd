//! Embeds the face detector's model, SeetaFace's frontal detector `seeta_fd_frontal_v1.0.bin` (BSD-2-Clause), from
//! the `rustface` crate's own package: the file ships inside the crate at `model/seeta_fd_frontal_v1.0.bin`, so no
//! download is needed. Cargo does not tell a build script where a dependency's sources are, so this looks in turn:
//!
//! 1. `SGM_FACE_MODEL=/path/to/seeta_fd_frontal_v1.0.bin`, when set (vendored or unusual builds);
//! 2. `cargo metadata --frozen` (offline, and never writing a lock file) for the resolved rustface package;
//! 3. the newest `rustface-0.1.*` under `$CARGO_HOME/registry/src/*/` (a build outside a locked workspace).
//!
//! The file is copied into `OUT_DIR`, from where `sgm_data::faces` embeds it with `include_bytes!`.

use std::path::{Path, PathBuf};

const MODEL: &str = "seeta_fd_frontal_v1.0.bin";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SGM_FACE_MODEL");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let source = match std::env::var_os("SGM_FACE_MODEL") {
        Some(p) => PathBuf::from(p),
        None => rustface_dir()
            .or_else(|e| registry_dir().ok_or(e))
            .unwrap_or_else(|e| panic!("cannot find the rustface crate's model: {e} (set SGM_FACE_MODEL to the file)"))
            .join(MODEL),
    };
    println!("cargo:rerun-if-changed={}", source.display());
    std::fs::copy(&source, out.join(MODEL)).unwrap_or_else(|e| {
        panic!("cannot copy the face detector model {}: {e} (set SGM_FACE_MODEL to the file)", source.display())
    });
}

/// The `model/` folder of the rustface package this build resolved.
fn rustface_dir() -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest =
        Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").ok_or("no CARGO_MANIFEST_DIR")?).join("Cargo.toml");
    let target = std::env::var("TARGET").map_err(|e| e.to_string())?;
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--frozen", "--filter-platform", &target, "--manifest-path"])
        .arg(&manifest)
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    let packages = meta["packages"].as_array().ok_or("cargo metadata lists no packages")?;
    // The rustface that sgm-data depends on (0.1.x; the only one in the graph).
    let manifest_path = packages
        .iter()
        .find(|p| p["name"] == "rustface")
        .and_then(|p| p["manifest_path"].as_str())
        .ok_or("rustface is not among the resolved packages")?;
    let dir = Path::new(manifest_path).parent().ok_or("rustface's manifest has no folder")?.join("model");
    if !dir.join(MODEL).is_file() {
        return Err(format!("{} is missing from the rustface package", dir.join(MODEL).display()));
    }
    Ok(dir)
}

/// The `model/` folder of the newest rustface 0.1.x unpacked in cargo's registry cache, if any.
fn registry_dir() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
    let mut found: Vec<(Vec<u64>, PathBuf)> = Vec::new();
    for index in std::fs::read_dir(home.join("registry/src")).ok()?.flatten() {
        for krate in std::fs::read_dir(index.path()).into_iter().flatten().flatten() {
            let name = krate.file_name().to_string_lossy().into_owned();
            let Some(version) = name.strip_prefix("rustface-0.1.") else { continue };
            let dir = krate.path().join("model");
            if let (Ok(patch), true) = (version.parse::<u64>(), dir.join(MODEL).is_file()) {
                found.push((vec![patch], dir));
            }
        }
    }
    found.into_iter().max().map(|(_, dir)| dir)
}
