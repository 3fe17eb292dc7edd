//! Model weights by name: a local path or `hf:OWNER/REPO/FILE` on the Hugging Face hub.
//!
//! A hub file is looked up in the local hub cache first, laid out as `huggingface_hub` and the `hf-hub` crate lay
//! it out:
//!
//! ```text
//! <cache>/models--OWNER--REPO/refs/main                    the commit hash `main` points at
//! <cache>/models--OWNER--REPO/snapshots/<commit>/FILE      a symlink to ../../blobs/<etag>
//! <cache>/models--OWNER--REPO/blobs/<etag>                 the content; for LFS files the etag is its SHA-256
//! ```
//!
//! The cache is `$HF_HUB_CACHE`, else `$HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else
//! `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub` (see [`cache_dir_from_env`]). Reading the cache
//! needs no network and no extra dependency. A file missing from the cache is downloaded through the `hf-hub`
//! crate only when sgm-train is built with the `hub` feature and the lookup is not offline (`--offline`, or
//! `HF_HUB_OFFLINE=1`, which `hf-hub` 1.0 does not read by itself: see [`offline_from_env`]).
//!
//! Every resolved file is checked: a blob whose name is a SHA-256 must have that digest, and an expected digest
//! (`hf:…#sha256=HEX`, or [`ResolveOptions::sha256`]) must match. sgm checkpoints carry their own checksum on top of
//! this, which `sgm_train::checkpoint::load` verifies.

use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The revision used when a spec names none.
pub const DEFAULT_REVISION: &str = "main";

/// Errors of weight resolution. Each names the file or cache path concerned.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// A `--weights` spec that cannot be parsed.
    #[error("invalid weights spec '{spec}': {reason}")]
    Spec {
        /// The spec as given.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// A local weights file that does not exist or cannot be read as a file.
    #[error("{path}: {reason}")]
    LocalMissing {
        /// The path.
        path: PathBuf,
        /// Why: no such file, a directory, a symbolic link that leads nowhere, …
        reason: String,
    },
    /// A hub file that is not in the cache, and was not downloaded (see `reason`).
    #[error("{file} is not in the hub cache: {detail}; {reason}")]
    NotCached {
        /// `OWNER/REPO/FILE@REVISION`.
        file: String,
        /// What is missing, with the path looked at.
        detail: String,
        /// Why it was not downloaded.
        reason: String,
    },
    /// The hub file was not in the cache, and the download failed.
    #[error("{file} is not in the hub cache ({detail}) and the download failed: {reason}")]
    Download {
        /// `OWNER/REPO/FILE@REVISION`.
        file: String,
        /// What is missing, with the path looked at.
        detail: String,
        /// The hub's or the network's answer, and what to do.
        reason: String,
    },
    /// A file whose content does not have the expected SHA-256.
    #[error("{path}: SHA-256 mismatch: {expected_from} says {expected}, the content has {actual}{hint}")]
    Sha256Mismatch {
        /// The file read.
        path: PathBuf,
        /// Where the expected digest comes from (the blob name, `#sha256=`, `--weights-sha256`).
        expected_from: String,
        /// The expected digest.
        expected: String,
        /// The digest of the content.
        actual: String,
        /// What to do about it.
        hint: String,
    },
    /// A cache entry that is present but broken (a dangling symlink, an unreadable ref).
    #[error("{path}: {reason}")]
    BrokenCache {
        /// The cache path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// File-system errors, with the path.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// A file of a hub model repository at a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubFile {
    /// Owner (user or organisation).
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// Path of the file in the repository (may contain `/`).
    pub filename: String,
    /// Branch, tag or 40-hex commit hash ([`DEFAULT_REVISION`] when the spec names none).
    pub revision: String,
}

impl HubFile {
    /// The cache folder name of the repository: `models--OWNER--REPO`.
    pub fn repo_folder(&self) -> String {
        format!("models--{}--{}", self.owner, self.repo)
    }
}

impl fmt::Display for HubFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hf:{}/{}/{}@{}", self.owner, self.repo, self.filename, self.revision)
    }
}

/// Where the weights are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsLocation {
    /// A file on disk.
    Local(PathBuf),
    /// A file on the hub.
    Hub(HubFile),
}

/// A parsed `--weights` value: `PATH` or `hf:OWNER/REPO/FILE`, optionally with `@REVISION` (after the file, or
/// after the repository as in `hf://OWNER/REPO@REVISION/FILE`) and `#sha256=HEX` at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightsSpec {
    /// The file.
    pub location: WeightsLocation,
    /// The expected SHA-256 of the file (lower-case hex), from `#sha256=`.
    pub sha256: Option<String>,
}

impl fmt::Display for WeightsSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            WeightsLocation::Local(p) => write!(f, "{}", p.display())?,
            WeightsLocation::Hub(h) => write!(f, "{h}")?,
        }
        match &self.sha256 {
            Some(s) => write!(f, "#sha256={s}"),
            None => Ok(()),
        }
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Checks and normalises a SHA-256 given by the user (64 hex digits, any case).
pub fn parse_sha256(s: &str) -> Result<String, String> {
    let s = s.trim();
    if is_hex(s, 64) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(format!("'{s}' is not a SHA-256 (64 hexadecimal digits)"))
    }
}

impl FromStr for WeightsSpec {
    type Err = HubError;

    fn from_str(spec: &str) -> Result<Self, HubError> {
        let bad = |reason: &str| HubError::Spec { spec: spec.to_string(), reason: reason.to_string() };
        let (body, sha256) = match spec.rsplit_once("#sha256=") {
            Some((body, hex)) => (body, Some(parse_sha256(hex).map_err(|e| bad(&e))?)),
            None => (spec, None),
        };
        let Some(rest) = body.strip_prefix("hf:") else {
            if body.is_empty() {
                return Err(bad("empty path"));
            }
            return Ok(Self { location: WeightsLocation::Local(PathBuf::from(body)), sha256 });
        };
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let usage = "expected hf:OWNER/REPO/FILE, hf:OWNER/REPO/FILE@REVISION or hf:OWNER/REPO@REVISION/FILE";
        let mut parts = rest.splitn(3, '/');
        let (owner, repo, file) = match (parts.next(), parts.next(), parts.next()) {
            (Some(o), Some(r), Some(f)) if !o.is_empty() && !r.is_empty() && !f.is_empty() => (o, r, f),
            _ => return Err(bad(usage)),
        };
        let (repo, mut revision) = match repo.split_once('@') {
            Some((r, rev)) => (r, Some(rev)),
            None => (repo, None),
        };
        let (file, file_rev) = match file.rsplit_once('@') {
            Some((f, rev)) if !rev.contains('/') => (f, Some(rev)),
            _ => (file, None),
        };
        if let Some(r) = file_rev {
            if revision.is_some() {
                return Err(bad("two revisions given"));
            }
            revision = Some(r);
        }
        let revision = revision.unwrap_or(DEFAULT_REVISION);
        let valid_name = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && !s.contains("--")
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        if !valid_name(owner) || !valid_name(repo) {
            return Err(bad("owner and repository names are letters, digits, '-', '_' and '.' (and no '--')"));
        }
        if repo.is_empty() || file.is_empty() || revision.is_empty() {
            return Err(bad(usage));
        }
        if file.split('/').any(|c| c.is_empty() || c == "." || c == "..") || file.contains('\\') {
            return Err(bad("the file path must be relative, without empty, '.' or '..' components"));
        }
        if revision.contains(['/', '\\']) || revision == "." || revision == ".." {
            return Err(bad("the revision must be a branch, a tag or a commit hash without '/'"));
        }
        let hub = HubFile {
            owner: owner.to_string(),
            repo: repo.to_string(),
            filename: file.to_string(),
            revision: revision.to_string(),
        };
        Ok(Self { location: WeightsLocation::Hub(hub), sha256 })
    }
}

/// How [`resolve`] finds a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveOptions {
    /// The hub cache folder (see [`cache_dir_from_env`]).
    pub cache_dir: PathBuf,
    /// Never use the network (`--offline`, `HF_HUB_OFFLINE=1`).
    pub offline: bool,
    /// The expected SHA-256 (`--weights-sha256`); must agree with the spec's `#sha256=` when both are given.
    pub sha256: Option<String>,
}

impl ResolveOptions {
    /// Options from the environment: [`cache_dir_from_env`] and [`offline_from_env`], no expected digest.
    pub fn from_env() -> Self {
        Self { cache_dir: cache_dir_from_env(), offline: offline_from_env(), sha256: None }
    }
}

/// Where a resolved file came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local path.
    Local,
    /// The hub cache, at this commit.
    Cache {
        /// The commit hash of the snapshot.
        commit: String,
    },
    /// Downloaded from the hub into the cache (with the `hub` feature).
    Downloaded,
}

/// A weights file found and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The file to read.
    pub path: PathBuf,
    /// Where it came from.
    pub source: Source,
    /// Its SHA-256, when one was checked (a blob named by its digest, or an expected digest).
    pub sha256: Option<String>,
}

impl fmt::Display for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        match &self.source {
            Source::Local => {}
            Source::Cache { commit } => write!(f, " (hub cache, commit {commit})")?,
            Source::Downloaded => write!(f, " (downloaded from the hub)")?,
        }
        if let Some(s) = &self.sha256 {
            write!(f, ", SHA-256 {s} verified")?;
        }
        Ok(())
    }
}

/// Whether a value of `HF_HUB_OFFLINE` turns offline mode on (`1`, `ON`, `YES`, `TRUE`, any case, as
/// `huggingface_hub`).
pub fn is_truthy(value: Option<&str>) -> bool {
    value.is_some_and(|v| matches!(v.trim().to_ascii_uppercase().as_str(), "1" | "ON" | "YES" | "TRUE"))
}

/// `HF_HUB_OFFLINE` from the environment (see [`is_truthy`]).
pub fn offline_from_env() -> bool {
    is_truthy(std::env::var("HF_HUB_OFFLINE").ok().as_deref())
}

/// The hub cache folder given a variable lookup: `HF_HUB_CACHE`, `HUGGINGFACE_HUB_CACHE`, `HF_HOME`/hub,
/// `XDG_CACHE_HOME`/huggingface/hub, `HOME`/.cache/huggingface/hub, in that order (as `hf-hub` 1.0). Empty values
/// count as unset.
pub fn cache_dir_from(var: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    let var = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = var("HF_HUB_CACHE").or_else(|| var("HUGGINGFACE_HUB_CACHE")) {
        return p;
    }
    if let Some(home) = var("HF_HOME") {
        return home.join("hub");
    }
    if let Some(xdg) = var("XDG_CACHE_HOME") {
        return xdg.join("huggingface").join("hub");
    }
    var("HOME").unwrap_or_else(|| PathBuf::from("/tmp")).join(".cache").join("huggingface").join("hub")
}

/// The hub cache folder from the environment (see [`cache_dir_from`]).
pub fn cache_dir_from_env() -> PathBuf {
    cache_dir_from(|k| std::env::var_os(k))
}

/// The SHA-256 of a file's content, in lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String, HubError> {
    let io = |source| HubError::Io { path: path.to_path_buf(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Why `path` cannot be read as a weights file, or `None` when it can.
fn unusable_local_file(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => None,
        Ok(_) => Some("is a directory, not a weights file".into()),
        Err(e) if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) => {
            Some(format!("is a symbolic link that leads nowhere (a loop, or a missing target): {e}"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("no such weights file".into()),
        Err(e) => Some(format!("cannot read the weights file: {e}")),
    }
}

/// Finds and checks the weights of `spec`: a local file as it is, a hub file in the cache or (with the `hub`
/// feature, not offline) downloaded into it.
pub fn resolve(spec: &WeightsSpec, opts: &ResolveOptions) -> Result<Resolved, HubError> {
    let expected = expected_sha256(spec, opts)?;
    match &spec.location {
        WeightsLocation::Local(path) => {
            if let Some(reason) = unusable_local_file(path) {
                return Err(HubError::LocalMissing { path: path.clone(), reason });
            }
            let sha256 = match &expected {
                Some((want, from)) => Some(check_digest(path, want, from, "")?),
                None => None,
            };
            Ok(Resolved { path: path.clone(), source: Source::Local, sha256 })
        }
        WeightsLocation::Hub(file) => {
            let (path, source) = match lookup_cache(&opts.cache_dir, file)? {
                Ok((path, commit)) => (path, Source::Cache { commit }),
                Err(detail) if opts.offline => {
                    return Err(HubError::NotCached {
                        file: file.to_string(),
                        detail,
                        reason: "offline mode (--offline or HF_HUB_OFFLINE) does not download".into(),
                    })
                }
                Err(detail) => (download(&opts.cache_dir, file, detail)?, Source::Downloaded),
            };
            let sha256 = verify_cached(&path, expected.as_ref())?;
            Ok(Resolved { path, source, sha256 })
        }
    }
}

/// The expected digest and where it comes from, when given; the spec's and the options' must agree.
fn expected_sha256(spec: &WeightsSpec, opts: &ResolveOptions) -> Result<Option<(String, String)>, HubError> {
    let flag = opts
        .sha256
        .as_deref()
        .map(parse_sha256)
        .transpose()
        .map_err(|reason| HubError::Spec { spec: opts.sha256.clone().unwrap_or_default(), reason })?;
    match (&spec.sha256, flag) {
        (Some(a), Some(b)) if *a != b => Err(HubError::Spec {
            spec: spec.to_string(),
            reason: format!("its #sha256={a} contradicts --weights-sha256 {b}"),
        }),
        (Some(a), _) => Ok(Some((a.clone(), "#sha256=".into()))),
        (None, Some(b)) => Ok(Some((b, "--weights-sha256".into()))),
        (None, None) => Ok(None),
    }
}

/// Compares the file's digest with `want`; returns the digest.
fn check_digest(path: &Path, want: &str, from: &str, hint: &str) -> Result<String, HubError> {
    let actual = sha256_file(path)?;
    if actual != want {
        return Err(HubError::Sha256Mismatch {
            path: path.to_path_buf(),
            expected_from: from.to_string(),
            expected: want.to_string(),
            actual,
            hint: hint.to_string(),
        });
    }
    Ok(actual)
}

/// Checks a snapshot file: a blob named by a SHA-256 (LFS files) must have that digest, and the expected digest
/// must match. Returns the digest when one was checked.
fn verify_cached(snapshot: &Path, expected: Option<&(String, String)>) -> Result<Option<String>, HubError> {
    let blob =
        std::fs::canonicalize(snapshot).map_err(|source| HubError::Io { path: snapshot.to_path_buf(), source })?;
    let blob_name = blob.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let mut checked = None;
    if is_hex(blob_name, 64) {
        let hint = format!(
            " (a corrupt or incomplete download: delete {} and {} and fetch it again)",
            snapshot.display(),
            blob.display()
        );
        checked = Some(check_digest(&blob, &blob_name.to_ascii_lowercase(), "its blob name", &hint)?);
    }
    if let Some((want, from)) = expected {
        let actual = match checked {
            Some(a) => a,
            None => sha256_file(&blob)?,
        };
        if &actual != want {
            return Err(HubError::Sha256Mismatch {
                path: snapshot.to_path_buf(),
                expected_from: from.clone(),
                expected: want.clone(),
                actual,
                hint: String::new(),
            });
        }
        checked = Some(actual);
    }
    Ok(checked)
}

/// Looks `file` up in the cache. `Ok(Ok((snapshot path, commit)))` when present, `Ok(Err(what is missing))` when
/// absent, `Err` when the cache entry is broken or contradicts itself.
fn lookup_cache(cache_dir: &Path, file: &HubFile) -> Result<Result<(PathBuf, String), String>, HubError> {
    let repo_dir = cache_dir.join(file.repo_folder());
    if !repo_dir.is_dir() {
        return Ok(Err(format!("no {} in {}", file.repo_folder(), cache_dir.display())));
    }
    let commit = if is_hex(&file.revision, 40) {
        file.revision.to_ascii_lowercase()
    } else {
        let ref_path = repo_dir.join("refs").join(&file.revision);
        match std::fs::read_to_string(&ref_path) {
            Ok(s) => {
                let c = s.trim().to_string();
                if !is_hex(&c, 40) {
                    return Err(HubError::BrokenCache {
                        path: ref_path,
                        reason: format!("holds '{c}', not a commit hash"),
                    });
                }
                c
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let known = list_dir(&repo_dir.join("refs"));
                let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
                return Ok(Err(format!(
                    "revision '{}' is not cached: no {} (cached refs: {known})",
                    file.revision,
                    ref_path.display()
                )));
            }
            Err(source) => return Err(HubError::Io { path: ref_path, source }),
        }
    };
    let snap_dir = repo_dir.join("snapshots").join(&commit);
    if !snap_dir.is_dir() {
        return Ok(Err(format!("no snapshot of commit {commit}: {} does not exist", snap_dir.display())));
    }
    let snapshot = snap_dir.join(&file.filename);
    if snapshot.is_file() {
        return Ok(Ok((snapshot, commit)));
    }
    if std::fs::symlink_metadata(&snapshot).is_ok() {
        let target = std::fs::read_link(&snapshot).map(|t| t.display().to_string()).unwrap_or_default();
        return Err(HubError::BrokenCache {
            path: snapshot,
            reason: format!("points at a blob that is missing ({target}); delete it and fetch the file again"),
        });
    }
    let no_exist = repo_dir.join(".no_exist").join(&commit).join(&file.filename);
    let mut detail = format!("no {}", snapshot.display());
    if no_exist.exists() {
        detail.push_str(" (the hub reported earlier that the file does not exist at this commit)");
    } else {
        let files = list_dir(&snap_dir);
        if !files.is_empty() {
            detail.push_str(&format!(" (cached files of this commit: {})", files.join(", ")));
        }
    }
    Ok(Err(detail))
}

fn list_dir(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[cfg(not(feature = "hub"))]
fn download(cache_dir: &Path, file: &HubFile, detail: String) -> Result<PathBuf, HubError> {
    Err(HubError::NotCached {
        file: file.to_string(),
        detail,
        reason: format!(
            "this sgm was built without the `hub` feature and cannot download; rebuild with `--features hub`, or fetch \
             the file into the cache with `huggingface-cli download {}/{} {} --revision {} --cache-dir {}`",
            file.owner,
            file.repo,
            file.filename,
            file.revision,
            cache_dir.display()
        ),
    })
}

#[cfg(feature = "hub")]
fn download(cache_dir: &Path, file: &HubFile, detail: String) -> Result<PathBuf, HubError> {
    use hf_hub::{HFClient, HFError};
    let fail = |reason: String| HubError::Download { file: file.to_string(), detail: detail.clone(), reason };
    // The same cache folder as the lookup above; the token comes from HF_TOKEN (or HF_TOKEN_PATH, $HF_HOME/token).
    let client = HFClient::builder()
        .cache_dir(cache_dir)
        .build_sync()
        .map_err(|e| fail(format!("cannot set up the hub client: {e}")))?;
    tracing::info!("downloading {file} into {}", cache_dir.display());
    let started = std::time::Instant::now();
    let result = client
        .model(file.owner.as_str(), file.repo.as_str())
        .download_file()
        .filename(file.filename.as_str())
        .revision(file.revision.as_str())
        .send();
    result.map_err(|e| {
        let reason = match &e {
            HFError::RepoNotFound { .. }
            | HFError::EntryNotFound { .. }
            | HFError::RevisionNotFound { .. }
            | HFError::AuthRequired { .. }
            | HFError::Forbidden { .. } => format!("the hub answered: {e}"),
            // Connection errors and timeouts: hf-hub has retried, then looked in the cache again.
            HFError::Request { .. } => format!(
                "the hub could not be reached after {:.1} s: {e}; use --offline (or HF_HUB_OFFLINE=1) to skip the \
                 network",
                started.elapsed().as_secs_f64()
            ),
            _ => e.to_string(),
        };
        fail(reason)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(spec: &str) -> HubFile {
        match spec.parse::<WeightsSpec>().unwrap().location {
            WeightsLocation::Hub(h) => h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_specs() {
        let h = hub("hf:me/fer-sgm/model.safetensors");
        assert_eq!((h.owner.as_str(), h.repo.as_str()), ("me", "fer-sgm"));
        assert_eq!((h.filename.as_str(), h.revision.as_str()), ("model.safetensors", "main"));
        assert_eq!(hub("hf:me/r/sub/dir/m.safetensors@v1").filename, "sub/dir/m.safetensors");
        assert_eq!(hub("hf:me/r/sub/dir/m.safetensors@v1").revision, "v1");
        assert_eq!(hub("hf://me/r@dev/m.safetensors").revision, "dev");
        assert_eq!(hub("hf:me/r/m.safetensors").repo_folder(), "models--me--r");
        let hex = "AB".repeat(32);
        let s: WeightsSpec = format!("hf:me/r/m.safetensors#sha256={hex}").parse().unwrap();
        assert_eq!(s.sha256.as_deref(), Some("ab".repeat(32).as_str()));
        let local: WeightsSpec = "runs/x/best.safetensors".parse().unwrap();
        assert_eq!(local.location, WeightsLocation::Local("runs/x/best.safetensors".into()));
        for bad in [
            "hf:me/m.safetensors",
            "hf:me/r/",
            "hf:me/r@a/m.safetensors@b",
            "hf:me/r/../m.safetensors",
            "hf:m e/r/m.safetensors",
            "hf:me/r/m.safetensors#sha256=123",
            "",
        ] {
            let err = bad.parse::<WeightsSpec>().unwrap_err().to_string();
            assert!(err.contains("invalid weights spec"), "{bad}: {err}");
        }
    }

    #[test]
    fn offline_values_and_cache_dir_order() {
        for v in ["1", "true", "ON", "yes"] {
            assert!(is_truthy(Some(v)), "{v}");
        }
        for v in [None, Some("0"), Some(""), Some("false"), Some("off")] {
            assert!(!is_truthy(v), "{v:?}");
        }
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| OsString::from(v))
        };
        let all = &[("HF_HUB_CACHE", "/a"), ("HUGGINGFACE_HUB_CACHE", "/b"), ("HF_HOME", "/c"), ("HOME", "/h")];
        assert_eq!(cache_dir_from(env(all)), PathBuf::from("/a"));
        assert_eq!(cache_dir_from(env(&[("HUGGINGFACE_HUB_CACHE", "/b"), ("HF_HOME", "/c")])), PathBuf::from("/b"));
        assert_eq!(cache_dir_from(env(&[("HF_HUB_CACHE", ""), ("HF_HOME", "/c")])), PathBuf::from("/c/hub"));
        assert_eq!(
            cache_dir_from(env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")])),
            PathBuf::from("/x/huggingface/hub")
        );
        assert_eq!(cache_dir_from(env(&[("HOME", "/h")])), PathBuf::from("/h/.cache/huggingface/hub"));
    }
}
