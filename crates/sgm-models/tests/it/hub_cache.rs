//! `--weights` resolution against a hub cache folder built here exactly as hf-hub lays it out
//! (`models--OWNER--REPO/{refs/main, snapshots/<commit>/FILE -> ../../blobs/<sha256>}`). No network: the cache
//! folder is passed explicitly, no environment variable is set.

use sgm_models::pretrained::hub::{resolve, sha256_file, HubError, ResolveOptions, Source, WeightsSpec};
use std::path::{Path, PathBuf};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// Puts `content` into the cache as `OWNER/REPO/FILE` at `COMMIT`, with `refs/main` pointing at it; the blob is
/// named `blob_name` (its SHA-256 unless a test wants otherwise). Returns the blob path.
fn put(cache: &Path, repo_folder: &str, file: &str, content: &[u8], blob_name: Option<&str>) -> PathBuf {
    let repo = cache.join(repo_folder);
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::create_dir_all(repo.join("snapshots").join(COMMIT)).unwrap();
    let tmp = repo.join("blobs").join("tmp");
    std::fs::write(&tmp, content).unwrap();
    let sha = sha256_file(&tmp).unwrap();
    let blob = repo.join("blobs").join(blob_name.unwrap_or(&sha));
    std::fs::rename(&tmp, &blob).unwrap();
    std::fs::write(repo.join("refs").join("main"), COMMIT).unwrap();
    let link = repo.join("snapshots").join(COMMIT).join(file);
    link_to_blob(&blob, &link);
    blob
}

#[cfg(unix)]
fn link_to_blob(blob: &Path, link: &Path) {
    let target = Path::new("../../blobs").join(blob.file_name().unwrap());
    std::os::unix::fs::symlink(target, link).unwrap();
}

#[cfg(not(unix))]
fn link_to_blob(blob: &Path, link: &Path) {
    std::fs::copy(blob, link).unwrap();
}

fn opts(cache: &Path, offline: bool) -> ResolveOptions {
    ResolveOptions { cache_dir: cache.to_path_buf(), offline, sha256: None }
}

fn spec(s: &str) -> WeightsSpec {
    s.parse().unwrap()
}

#[test]
fn a_cached_file_resolves_by_branch_and_by_commit_and_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let blob = put(dir.path(), "models--me--repo", "model.safetensors", b"weights", None);
    let sha = blob.file_name().unwrap().to_str().unwrap().to_string();
    let snapshot = dir.path().join("models--me--repo/snapshots").join(COMMIT).join("model.safetensors");
    for s in ["hf:me/repo/model.safetensors", &format!("hf:me/repo/model.safetensors@{COMMIT}")] {
        let r = resolve(&spec(s), &opts(dir.path(), true)).unwrap();
        assert_eq!(r.path, snapshot);
        assert_eq!(r.source, Source::Cache { commit: COMMIT.into() });
        assert_eq!(r.sha256.as_deref(), Some(sha.as_str()), "{s}");
        assert_eq!(std::fs::read(&r.path).unwrap(), b"weights");
    }
    // The expected digest may be given in the spec or separately; upper case is accepted.
    let r =
        resolve(&spec(&format!("hf:me/repo/model.safetensors#sha256={}", sha.to_uppercase())), &opts(dir.path(), true));
    assert!(r.is_ok());
    let o = ResolveOptions { sha256: Some(sha.clone()), ..opts(dir.path(), true) };
    assert!(resolve(&spec("hf:me/repo/model.safetensors"), &o).is_ok());
}

#[test]
fn a_missing_revision_names_the_ref_and_the_cached_ones() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "models--me--repo", "model.safetensors", b"weights", None);
    let err = resolve(&spec("hf:me/repo/model.safetensors@v2"), &opts(dir.path(), true)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HubError::NotCached { .. }), "{msg}");
    assert!(msg.contains("revision 'v2' is not cached"), "{msg}");
    assert!(msg.contains(&dir.path().join("models--me--repo/refs/v2").display().to_string()), "{msg}");
    assert!(msg.contains("cached refs: main"), "{msg}");
    assert!(msg.contains("offline"), "{msg}");
    // A commit that is not in the cache.
    let other = "f".repeat(40);
    let msg = resolve(&spec(&format!("hf:me/repo/model.safetensors@{other}")), &opts(dir.path(), true))
        .unwrap_err()
        .to_string();
    assert!(msg.contains(&format!("no snapshot of commit {other}")), "{msg}");
}

#[test]
fn a_missing_file_or_repository_names_the_path_looked_at() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "models--me--repo", "model.safetensors", b"weights", None);
    let msg = resolve(&spec("hf:me/repo/other.safetensors"), &opts(dir.path(), true)).unwrap_err().to_string();
    let snap = dir.path().join("models--me--repo/snapshots").join(COMMIT).join("other.safetensors");
    assert!(msg.contains(&snap.display().to_string()), "{msg}");
    assert!(msg.contains("cached files of this commit: model.safetensors"), "{msg}");
    let msg = resolve(&spec("hf:me/nothing/model.safetensors"), &opts(dir.path(), true)).unwrap_err().to_string();
    assert!(msg.contains("no models--me--nothing in") && msg.contains(&dir.path().display().to_string()), "{msg}");
}

#[cfg(not(feature = "hub"))]
#[test]
fn without_the_hub_feature_a_missing_file_says_so_and_names_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let msg = resolve(&spec("hf:me/repo/model.safetensors"), &opts(dir.path(), false)).unwrap_err().to_string();
    assert!(msg.contains("built without the `hub` feature"), "{msg}");
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    assert!(msg.contains("huggingface-cli download me/repo model.safetensors"), "{msg}");
}

#[test]
fn a_blob_that_does_not_match_its_sha256_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = sha256_file(&{
        let p = dir.path().join("good");
        std::fs::write(&p, b"weights").unwrap();
        p
    })
    .unwrap();
    let blob = put(dir.path(), "models--me--repo", "model.safetensors", b"weightz", Some(&good));
    let err = resolve(&spec("hf:me/repo/model.safetensors"), &opts(dir.path(), true)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HubError::Sha256Mismatch { .. }), "{msg}");
    let actual = sha256_file(&blob).unwrap();
    assert!(msg.contains(&good) && msg.contains(&actual) && msg.contains("blob name"), "{msg}");
    assert!(msg.contains(&blob.display().to_string()), "{msg}");
}

#[test]
fn an_expected_digest_that_differs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let blob = put(dir.path(), "models--me--repo", "model.safetensors", b"weights", None);
    let actual = sha256_file(&blob).unwrap();
    let wrong = "0".repeat(64);
    let o = ResolveOptions { sha256: Some(wrong.clone()), ..opts(dir.path(), true) };
    let msg = resolve(&spec("hf:me/repo/model.safetensors"), &o).unwrap_err().to_string();
    assert!(msg.contains("--weights-sha256") && msg.contains(&wrong) && msg.contains(&actual), "{msg}");
    assert!(msg.contains("model.safetensors"), "{msg}");
    // Both given and different: a contradiction, refused before reading anything.
    let s = spec(&format!("hf:me/repo/model.safetensors#sha256={actual}"));
    let msg = resolve(&s, &o).unwrap_err().to_string();
    assert!(msg.contains("contradicts"), "{msg}");
    // Local files are checked too.
    let local = dir.path().join("local.safetensors");
    std::fs::write(&local, b"weights").unwrap();
    let msg = resolve(&spec(local.to_str().unwrap()), &o).unwrap_err().to_string();
    assert!(msg.contains("local.safetensors") && msg.contains(&actual), "{msg}");
    let r = resolve(&spec(local.to_str().unwrap()), &opts(dir.path(), true)).unwrap();
    assert_eq!((r.source, r.sha256), (Source::Local, None));
    let msg = resolve(&spec("/no/such/file.safetensors"), &opts(dir.path(), true)).unwrap_err().to_string();
    assert!(msg.contains("/no/such/file.safetensors: no such weights file"), "{msg}");
}

#[cfg(unix)]
#[test]
fn a_dangling_snapshot_link_is_a_broken_cache_not_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let blob = put(dir.path(), "models--me--repo", "model.safetensors", b"weights", None);
    std::fs::remove_file(&blob).unwrap();
    let err = resolve(&spec("hf:me/repo/model.safetensors"), &opts(dir.path(), false)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HubError::BrokenCache { .. }), "{msg}");
    assert!(msg.contains("blob that is missing"), "{msg}");
}
