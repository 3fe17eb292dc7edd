//! End-to-end tests of `sgm eval`: files written to disk, parsed by the real command line, scored, and compared
//! with scikit-learn; and every kind of bad input rejected with the file named.
//!
//! The reference numbers:
//! ```python
//! import numpy as np
//! from sklearn.neighbors import KNeighborsClassifier
//! from sklearn.metrics import precision_recall_fscore_support, accuracy_score, f1_score
//! def data(n, d, phase, nclass):
//!     i = np.arange(n)[:,None]; j = np.arange(d)[None,:]
//!     lab = (np.arange(n) * 7 % nclass)
//!     off = np.cos(lab[:,None] * 1.7 + j * 0.9) * 0.6
//!     x = (off + np.sin(1.3*i*(j+1) + 0.7*j + phase)).astype(np.float32)
//!     return x, lab
//! Xtr, ytr = data(600, 16, 0.0, 8); Xte, yte = data(200, 16, 0.5, 8)
//! X = np.concatenate([Xte, Xte[:30]]).astype(np.float64); y = np.concatenate([yte, yte[:30]])
//! groups = np.concatenate([np.arange(200), np.arange(30)])       # copies share their original's group
//! pred = KNeighborsClassifier(n_neighbors=11).fit(Xtr.astype(np.float64), ytr).predict(X)
//! p,r,_,_ = precision_recall_fscore_support(y, pred, average="macro", zero_division=0)
//! print(accuracy_score(y,pred), p, r, 2*p*r/(p+r), f1_score(y,pred,average="macro",zero_division=0))
//! D = ((X[:,None,:]-X[None,:,:])**2).sum(-1)
//! def retrieval(groups):
//!     Dm = D.copy(); np.fill_diagonal(Dm, np.inf)
//!     if groups is not None: Dm[groups[:,None]==groups[None,:]] = np.inf
//!     order = np.argsort(Dm, axis=1, kind="stable")[:, :8]
//!     hits = y[order] == y[:,None]
//!     return [(hits[:,:K].any(1).mean(), hits[:,:K].mean()) for K in (1,2,4,8)]
//! print(retrieval(None)); print(retrieval(groups))
//! ```

use npyz::WriterBuilder;
use sgm_train::evaluate::EvalReport;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

fn data(n: usize, d: usize, phase: f64, nclass: usize) -> (Vec<f32>, Vec<i64>) {
    let (x, labels) = sgm_core::testing::formula_data(n, d, phase, nclass);
    (x, labels.into_iter().map(i64::from).collect())
}

fn write_npy<T: npyz::AutoSerialize + Copy>(path: &Path, shape: &[u64], values: &[T]) {
    let mut file = std::fs::File::create(path).unwrap();
    let mut w = npyz::WriteOptions::new().default_dtype().shape(shape).writer(&mut file).begin_nd().unwrap();
    w.extend(values.iter().copied()).unwrap();
    w.finish().unwrap();
}

struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (xtr, ytr) = data(600, 16, 0.0, 8);
        let (mut xte, mut yte) = data(200, 16, 0.5, 8);
        xte.extend_from_within(..30 * 16);
        yte.extend_from_within(..30);
        let groups: Vec<i32> = (0..200).chain(0..30).collect();
        let p = |n: &str| dir.path().join(n);
        write_npy(&p("train.npy"), &[600, 16], &xtr);
        write_npy(&p("train_labels.npy"), &[600], &ytr);
        write_npy(&p("test.npy"), &[230, 16], &xte);
        write_npy(&p("test_labels.npy"), &[230], &yte);
        write_npy(&p("groups.npy"), &[230], &groups);
        Self { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn args(&self, extra: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = vec!["sgm".into(), "eval".into()];
        for (flag, file) in [
            ("--train", "train.npy"),
            ("--train-labels", "train_labels.npy"),
            ("--test", "test.npy"),
            ("--test-labels", "test_labels.npy"),
        ] {
            v.push(flag.into());
            v.push(self.path(file).display().to_string());
        }
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    }
}

/// Runs `sgm eval ARGS --out FILE` and reads the report back from FILE.
fn eval(mut args: Vec<String>) -> anyhow::Result<EvalReport> {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("report.json");
    args.extend(["--out".to_string(), out.display().to_string()]);
    sgm_cli::run(args)?;
    Ok(serde_json::from_slice(&std::fs::read(&out)?)?)
}

fn close(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-6, "got {got}, want {want}");
}

#[test]
fn eval_matches_sklearn_without_duplicate_groups() {
    let f = Fixture::new();
    let r = eval(f.args(&[])).unwrap();
    let knn = r.knn.unwrap();
    close(knn.accuracy, 0.3521739130434783);
    close(knn.precision, 0.4009440739760179);
    close(knn.recall, 0.354064039408867);
    close(knn.f1, 0.3760486169414944);
    close(knn.macro_f1, 0.3147393855271122);
    let ret = r.retrieval.unwrap();
    assert!(!ret.dedup);
    let want = [
        (0.2608695652173913, 0.2608695652173913),
        (0.26521739130434785, 0.13260869565217392),
        (0.2956521739130435, 0.07717391304347826),
        (0.6608695652173913, 0.11576086956521739),
    ];
    for (k, (rec, acc)) in [1, 2, 4, 8].into_iter().zip(want) {
        close(ret.recall_at_k[&k], rec);
        close(ret.acc_at_k[&k], acc);
    }
    let c = r.clustering.unwrap();
    assert_eq!((c.k, c.init.as_str()), (8, "per-class"));
    assert!((0.0..=1.0).contains(&c.nmi));
}

#[test]
fn eval_matches_sklearn_with_duplicate_groups() {
    let f = Fixture::new();
    let groups = f.path("groups.npy").display().to_string();
    let r = eval(f.args(&["--groups", &groups])).unwrap();
    let ret = r.retrieval.unwrap();
    assert!(ret.dedup);
    let want = [
        (0.0, 0.0),
        (0.004347826086956522, 0.002173913043478261),
        (0.06086956521739131, 0.016304347826086956),
        (0.591304347826087, 0.08641304347826087),
    ];
    for (k, (rec, acc)) in [1, 2, 4, 8].into_iter().zip(want) {
        close(ret.recall_at_k[&k], rec);
        close(ret.acc_at_k[&k], acc);
    }
}

#[test]
fn json_output_has_the_documented_keys() {
    let f = Fixture::new();
    let r = eval(f.args(&["--recall-k", "1,4", "--clusters", "5"])).unwrap();
    let v = serde_json::to_value(&r).unwrap();
    for key in ["accuracy", "precision", "recall", "f1", "macro_f1"] {
        assert!(v["knn"][key].is_f64(), "knn.{key}");
    }
    assert!(v["clustering"]["nmi"].is_f64() && v["clustering"]["ami"].is_f64());
    assert_eq!(v["clustering"]["init"], "k-means++");
    assert!(v["retrieval"]["recall_at_k"]["4"].is_f64() && v["retrieval"]["acc_at_k"]["1"].is_f64());
    assert!(v["retrieval"]["recall_at_k"]["8"].is_null());
}

#[test]
fn safetensors_input_with_labels_inside() {
    use candle_core::{Device, Tensor};
    let f = Fixture::new();
    let (x, y) = data(200, 16, 0.5, 8);
    let dev = Device::Cpu;
    let tensors = [
        ("embeddings", Tensor::from_vec(x, (200, 16), &dev).unwrap()),
        ("labels", Tensor::from_vec(y, 200, &dev).unwrap()),
    ];
    let path = f.path("test.safetensors");
    candle_core::safetensors::save(&tensors.into_iter().map(|(k, v)| (k.to_string(), v)).collect(), &path).unwrap();
    let args: Vec<String> =
        ["sgm", "eval", "--test", path.to_str().unwrap(), "--no-clustering"].iter().map(|s| s.to_string()).collect();
    let r = eval(args).unwrap();
    assert!(r.knn.is_none() && r.clustering.is_none());
    assert_eq!(r.inputs.test, 200);

    // A truncated safetensors file is named in the error.
    let bytes = std::fs::read(&path).unwrap();
    let cut = f.path("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = format!(
        "{:#}",
        eval(vec!["sgm".into(), "eval".into(), "--test".into(), cut.display().to_string()]).unwrap_err()
    );
    assert!(err.contains("cut.safetensors") && err.contains("not a valid safetensors"), "{err}");
}

fn expect_error(f: &Fixture, replace: &str, file: &str, extra: &[&str], needle: &str) {
    let mut args = f.args(extra);
    let pos = args.iter().position(|a| a == replace).unwrap();
    args[pos + 1] = f.path(file).display().to_string();
    let err = format!("{:#}", eval(args).unwrap_err());
    assert!(err.contains(file), "error does not name {file}: {err}");
    assert!(err.contains(needle), "error lacks '{needle}': {err}");
}

#[test]
fn bad_inputs_are_named_in_clear_errors() {
    let f = Fixture::new();
    // NaN in the embeddings, with its row.
    let mut x = data(200, 16, 0.5, 8).0;
    x[5 * 16 + 3] = f32::NAN;
    write_npy(&f.path("nan.npy"), &[200, 16], &x);
    expect_error(&f, "--test", "nan.npy", &[], "non-finite value (NaN or inf) in");
    // Label count differs from the embeddings.
    write_npy(&f.path("short_labels.npy"), &[10], &[0i64; 10]);
    expect_error(&f, "--test-labels", "short_labels.npy", &[], "230 embeddings but 10 test labels");
    // Float labels.
    write_npy(&f.path("float_labels.npy"), &[230], &[0.5f32; 230]);
    expect_error(&f, "--test-labels", "float_labels.npy", &[], "labels must be integers");
    // Negative labels.
    let mut neg = vec![0i64; 230];
    neg[17] = -3;
    write_npy(&f.path("neg_labels.npy"), &[230], &neg);
    expect_error(&f, "--test-labels", "neg_labels.npy", &[], "entry 17 is -3");
    // Integer embeddings.
    write_npy(&f.path("int.npy"), &[230, 16], &vec![1i32; 230 * 16]);
    expect_error(&f, "--test", "int.npy", &[], "not float32 or float64");
    // 1-D embeddings.
    write_npy(&f.path("flat.npy"), &[230], &vec![1f32; 230]);
    expect_error(&f, "--test", "flat.npy", &[], "must be 2-D");
    // Dimension mismatch between train and test.
    write_npy(&f.path("narrow.npy"), &[600, 8], &vec![1f32; 600 * 8]);
    expect_error(&f, "--train", "narrow.npy", &[], "has dimension 8");
    // Truncated file.
    let bytes = std::fs::read(f.path("test.npy")).unwrap();
    std::fs::write(f.path("trunc.npy"), &bytes[..bytes.len() - 100]).unwrap();
    expect_error(&f, "--test", "trunc.npy", &[], "truncated");
    // Not an npy file at all.
    std::fs::write(f.path("junk.npy"), b"hello").unwrap();
    expect_error(&f, "--test", "junk.npy", &[], "not a valid .npy file");
    // Wrong number of group ids.
    write_npy(&f.path("few_groups.npy"), &[3], &[0i64; 3]);
    let g = f.path("few_groups.npy").display().to_string();
    let err = format!("{:#}", eval(f.args(&["--groups", &g])).unwrap_err());
    assert!(err.contains("few_groups.npy: 3 group ids for 230 test embeddings"), "{err}");
    // K larger than the training set.
    let err = format!("{:#}", eval(f.args(&["--k", "601"])).unwrap_err());
    assert!(err.contains("larger than the training set"), "{err}");
    // Missing file.
    expect_error(&f, "--test", "absent.npy", &[], "cannot open");
}

/// A safetensors file written by hand: `(name, dtype, shape, little-endian bytes)` per tensor.
fn write_safetensors(path: &Path, tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) {
    let (mut entries, mut data) = (Vec::new(), Vec::new());
    for (name, dtype, shape, bytes) in tensors {
        let (start, end) = (data.len(), data.len() + bytes.len());
        entries.push(format!(r#""{name}":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[{start},{end}]}}"#));
        data.extend_from_slice(bytes);
    }
    let mut header = format!("{{{}}}", entries.join(","));
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(&data);
    std::fs::write(path, file).unwrap();
}

#[test]
fn labels_stored_as_u64_in_a_safetensors_file_are_read_not_called_corrupt() {
    let f = Fixture::new();
    let (x, y) = data(200, 16, 0.5, 8);
    let x_bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    let y_bytes: Vec<u8> = y.iter().flat_map(|&v| (v as u64).to_le_bytes()).collect();
    let path = f.path("u64.safetensors");
    write_safetensors(
        &path,
        &[("embeddings", "F32", vec![200, 16], x_bytes.clone()), ("labels", "U64", vec![200], y_bytes)],
    );
    let args: Vec<String> = ["sgm", "eval", "--test", path.to_str().unwrap(), "--no-clustering", "--recall-k", "1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let r = eval(args.clone()).unwrap();
    assert_eq!(r.inputs.test, 200);
    // A label beyond 2³² is named, with the file and the entry.
    let mut big: Vec<u8> = y.iter().flat_map(|&v| (v as u64).to_le_bytes()).collect();
    big[8 * 7..8 * 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    write_safetensors(
        &path,
        &[("embeddings", "F32", vec![200, 16], x_bytes.clone()), ("labels", "U64", vec![200], big)],
    );
    let err = format!("{:#}", eval(args.clone()).unwrap_err());
    assert!(err.contains("u64.safetensors") && err.contains("entry 7 is 1099511627776"), "{err}");
    // A dtype sgm does not read is named as such, not as corruption.
    write_safetensors(
        &path,
        &[("embeddings", "F32", vec![200, 16], x_bytes), ("labels", "BOOL", vec![200], vec![1; 200])],
    );
    let err = format!("{:#}", eval(args).unwrap_err());
    assert!(err.contains("'labels' has dtype BOOL") && !err.contains("corrupt"), "{err}");
}

#[test]
fn a_k_beyond_the_data_is_refused_with_a_message_not_an_abort() {
    let f = Fixture::new();
    // Recall@K and the classifier's K are bounded by the data before anything is allocated for them.
    let err = format!("{:#}", eval(f.args(&["--recall-k", "1,100000000000", "--no-clustering"])).unwrap_err());
    assert!(err.contains("K = 100000000000 needs more than 230 items"), "{err}");
    let err = format!("{:#}", eval(f.args(&["--k", "4000000000"])).unwrap_err());
    assert!(err.contains("larger than the training set"), "{err}");
}

#[test]
fn an_empty_f1_k_list_skips_the_curve_as_the_help_says() {
    let f = Fixture::new();
    let r = serde_json::to_value(eval(f.args(&["--f1-k", "", "--no-clustering"])).unwrap()).unwrap();
    assert!(r["knn"]["f1_by_k"].is_null(), "no curve: {}", r["knn"]);
    let r = serde_json::to_value(eval(f.args(&["--f1-k", "1,3", "--no-clustering"])).unwrap()).unwrap();
    assert!(r["knn"]["f1_by_k"]["3"].is_f64() && r["knn"]["f1_by_k"]["5"].is_null(), "{}", r["knn"]);
    let err = format!("{:#}", eval(f.args(&["--f1-k", "1,x"])).unwrap_err());
    assert!(err.contains("\"x\" is not a K value"), "{err}");
}
