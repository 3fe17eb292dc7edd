//! Embeddings and labels in files: what `sgm embed` writes and `sgm eval`, `cluster`, `tsne` and `audit` read.
//!
//! - `.npy`: embeddings are a 2-D f32 or f64 array (C or Fortran order); labels a 1-D (or `n × 1`) integer array,
//!   written beside the embeddings as `NAME.labels.npy` (and `NAME.groups.npy`).
//! - `.safetensors`: embeddings are the tensor named `embeddings`, labels the tensor named `labels` (and duplicate
//!   groups `groups`); all in one file.
//!
//! Every error names the file ([`CoreError::File`]). A file is never trusted: a header that promises more data
//! than the file holds, or a `.npy` header built to make its parser slow, is refused before anything is allocated.

use crate::error::{CoreError, Result};
use crate::Embeddings;
use candle_core::{DType, Device, Tensor};
use npyz::{NpyFile, Order, TypeChar};
use std::path::Path;

/// Returns a [`CoreError::File`] with the formatted message.
macro_rules! bail {
    ($($t:tt)*) => { return Err(CoreError::File(format!($($t)*))) };
}

/// `.with_context(…)` for any error: the context, then the error, as one message.
trait Context<T> {
    fn with_context(self, ctx: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: std::fmt::Display> Context<T> for std::result::Result<T, E> {
    fn with_context(self, ctx: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| CoreError::File(format!("{}: {e}", ctx())))
    }
}

/// The file formats sgm reads arrays from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Npy,
    Safetensors,
}

fn format_of(path: &Path) -> Result<Format> {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("npy") => Ok(Format::Npy),
        Some("safetensors") => Ok(Format::Safetensors),
        _ => bail!("{}: unknown file type (expected .npy or .safetensors)", path.display()),
    }
}

/// Whether `path` is a safetensors file (which may hold labels beside embeddings).
pub fn is_safetensors(path: &Path) -> bool {
    matches!(format_of(path), Ok(Format::Safetensors))
}

/// Reads a 2-D embedding matrix.
pub fn read_embeddings(path: &Path) -> Result<Embeddings> {
    let what = path.display().to_string();
    let (rows, dim, data) = match format_of(path)? {
        Format::Npy => read_npy_matrix(path)?,
        Format::Safetensors => {
            let bytes = read_file(path)?;
            let view = safetensors_view(path, &bytes, "embeddings")?;
            use safetensors::Dtype as St;
            if !matches!(view.dtype(), St::F16 | St::BF16 | St::F32 | St::F64) {
                bail!("{what}: tensor 'embeddings' has dtype {:?}; expected f32 or f64", view.dtype());
            }
            let (rows, dim) = match view.shape() {
                [r, c] => (*r, *c),
                dims => bail!("{what}: tensor 'embeddings' has shape {dims:?}; expected 2-D (n, dim)"),
            };
            use candle_core::safetensors::Load;
            let t = view.load(&Device::Cpu).with_context(|| format!("{what}: tensor 'embeddings'"))?;
            (rows, dim, t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
        }
    };
    Embeddings::new(data, rows, dim, &what)
}

/// Reads a vector of non-negative integer labels (also used for duplicate-group ids).
pub fn read_labels(path: &Path, name: &str) -> Result<Vec<u32>> {
    let what = path.display();
    let values: Vec<i64> = match format_of(path)? {
        Format::Npy => read_npy_ints(path)?,
        Format::Safetensors => {
            let bytes = read_file(path)?;
            let view = safetensors_view(path, &bytes, name)?;
            match view.shape() {
                [_] | [_, 1] => {}
                dims => bail!("{what}: tensor '{name}' has shape {dims:?}; expected 1-D (n,)"),
            }
            safetensors_ints(&view).map_err(|reason| file_error(format!("{what}: tensor '{name}' {reason}")))?
        }
    };
    if values.is_empty() {
        bail!("{what}: no {name}");
    }
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            u32::try_from(v)
                .map_err(|_| file_error(format!("{what}: {name} entry {i} is {v}; expected 0 ≤ value < 2³²")))
        })
        .collect()
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// The tensor `name` of the safetensors file held in `bytes`.
fn safetensors_view<'a>(path: &Path, bytes: &'a [u8], name: &str) -> Result<safetensors::tensor::TensorView<'a>> {
    let st = safetensors::SafeTensors::deserialize(bytes)
        .with_context(|| format!("{}: not a valid safetensors file (truncated or corrupt?)", path.display()))?;
    match st.tensor(name) {
        Ok(view) => Ok(view),
        Err(_) => {
            let mut names = st.names();
            names.sort();
            bail!("{}: no tensor named '{name}' (found: {})", path.display(), names.join(", "))
        }
    }
}

/// The values of an integer tensor of any width and sign; an error says what is wrong, for "tensor 'NAME' …".
fn safetensors_ints(view: &safetensors::tensor::TensorView<'_>) -> std::result::Result<Vec<i64>, String> {
    use safetensors::Dtype as St;
    let data = view.data();
    fn le<const N: usize>(data: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
        data.chunks_exact(N).map(|c| c.try_into().unwrap_or([0; N]))
    }
    Ok(match view.dtype() {
        St::I8 => data.iter().map(|&b| i64::from(b as i8)).collect(),
        St::U8 => data.iter().map(|&b| i64::from(b)).collect(),
        St::I16 => le::<2>(data).map(|b| i64::from(i16::from_le_bytes(b))).collect(),
        St::U16 => le::<2>(data).map(|b| i64::from(u16::from_le_bytes(b))).collect(),
        St::I32 => le::<4>(data).map(|b| i64::from(i32::from_le_bytes(b))).collect(),
        St::U32 => le::<4>(data).map(|b| i64::from(u32::from_le_bytes(b))).collect(),
        St::I64 => le::<8>(data).map(i64::from_le_bytes).collect(),
        St::U64 => le::<8>(data)
            .enumerate()
            .map(|(i, b)| {
                let v = u64::from_le_bytes(b);
                i64::try_from(v).map_err(|_| format!("entry {i} is {v}; expected 0 ≤ value < 2³²"))
            })
            .collect::<std::result::Result<_, _>>()?,
        St::F16 | St::BF16 | St::F32 | St::F64 => {
            return Err(format!("has dtype {:?}; expected integers", view.dtype()));
        }
        other => return Err(format!("has dtype {other:?}; expected an integer type")),
    })
}

/// Opens a `.npy` file and checks that its data can hold what the header promises (before anything is allocated
/// for it).
fn open_npy(path: &Path) -> Result<NpyFile<std::io::BufReader<std::fs::File>>> {
    let mut file = std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let len = file.metadata().with_context(|| format!("{}: cannot read", path.display()))?.len();
    check_npy_header(path, &mut file, len)?;
    let npy = NpyFile::new(std::io::BufReader::new(file))
        .with_context(|| format!("{}: not a valid .npy file (bad header)", path.display()))?;
    let width = match npy.dtype() {
        npyz::DType::Plain(t) => t.size_field(),
        _ => 1,
    };
    let count = npy.shape().iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    match count.and_then(|n| n.checked_mul(width)) {
        Some(bytes) if bytes <= len => Ok(npy),
        _ => bail!(
            "{}: header promises shape {:?} of {width}-byte values, more than the file's {len} bytes (truncated?)",
            path.display(),
            npy.shape()
        ),
    }
}

/// The `.npy` header's Python-literal parser (npyz's, through `py_literal`) takes time exponential in the nesting
/// of unclosed brackets. sgm reads plain arrays, whose header is a dict holding one tuple: a header nested deeper,
/// with a list (a structured dtype), or longer than 64 KiB is refused before it is parsed. The file is left at its
/// start.
fn check_npy_header(path: &Path, file: &mut std::fs::File, len: u64) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let what = path.display();
    let mut prefix = Vec::with_capacity(12);
    file.by_ref().take(12).read_to_end(&mut prefix).with_context(|| format!("{what}: cannot read"))?;
    let header_len = match (prefix.get(..6), prefix.get(6)) {
        (Some(b"\x93NUMPY"), Some(1)) if prefix.len() >= 10 => {
            Some((u64::from(u16::from_le_bytes([prefix[8], prefix[9]])), 10))
        }
        (Some(b"\x93NUMPY"), Some(2 | 3)) if prefix.len() >= 12 => {
            Some((u64::from(u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]])), 12))
        }
        _ => None, // not an .npy file (or a version npyz refuses): its own error says so
    };
    if let Some((n, start)) = header_len {
        if n > 64 << 10 || start + n > len {
            bail!("{what}: not a valid .npy file (header of {n} bytes, file of {len}; truncated?)");
        }
        let mut header = vec![0u8; n as usize];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut header))
            .with_context(|| format!("{what}: cannot read"))?;
        let mut depth = 0usize;
        for &b in &header {
            match b {
                b'[' => bail!(
                    "{what}: unsupported .npy header (a structured dtype); sgm reads plain float and integer arrays"
                ),
                b'{' | b'(' => {
                    depth += 1;
                    if depth > 2 {
                        bail!("{what}: not a valid .npy header (nested deeper than a dict holding the shape tuple)");
                    }
                }
                b'}' | b')' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    file.seek(SeekFrom::Start(0)).with_context(|| format!("{what}: cannot read"))?;
    Ok(())
}

/// `(rows, cols, row-major f32 values)` of a 2-D float `.npy` array.
fn read_npy_matrix(path: &Path) -> Result<(usize, usize, Vec<f32>)> {
    let what = path.display();
    let npy = open_npy(path)?;
    let (rows, cols) = match npy.shape() {
        [r, c] => (*r as usize, *c as usize),
        shape => bail!("{what}: array has shape {shape:?}; embeddings must be 2-D (n, dim)"),
    };
    let order = npy.order();
    let type_str = match npy.dtype() {
        npyz::DType::Plain(t) => t,
        other => bail!("{what}: unsupported dtype {}; expected float32 or float64", other.descr()),
    };
    let values: Vec<f32> = match (type_str.type_char(), type_str.size_field()) {
        (TypeChar::Float, 4) => npy.into_vec::<f32>(),
        (TypeChar::Float, 8) => npy.into_vec::<f64>().map(|v| v.into_iter().map(|x| x as f32).collect()),
        _ => bail!("{what}: dtype {type_str} is not float32 or float64"),
    }
    .with_context(|| format!("{what}: cannot read the array data (truncated file?)"))?;
    if values.len() != rows * cols {
        bail!("{what}: header promises {rows} × {cols} values but the file holds {}", values.len());
    }
    Ok((rows, cols, if order == Order::Fortran { transpose(&values, rows, cols) } else { values }))
}

fn transpose(col_major: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; rows * cols];
    for c in 0..cols {
        for r in 0..rows {
            out[r * cols + c] = col_major[c * rows + r];
        }
    }
    out
}

/// Values of a 1-D (or `n × 1`) integer `.npy` array.
fn read_npy_ints(path: &Path) -> Result<Vec<i64>> {
    let what = path.display();
    let npy = open_npy(path)?;
    match npy.shape() {
        [_] | [_, 1] => {}
        shape => bail!("{what}: array has shape {shape:?}; labels must be 1-D (n,)"),
    }
    let type_str = match npy.dtype() {
        npyz::DType::Plain(t) => t,
        other => bail!("{what}: unsupported dtype {}; expected an integer type", other.descr()),
    };
    let ctx = || format!("{what}: cannot read the array data (truncated file?)");
    Ok(match (type_str.type_char(), type_str.size_field()) {
        (TypeChar::Int, 1) => npy.into_vec::<i8>().with_context(ctx)?.into_iter().map(i64::from).collect(),
        (TypeChar::Int, 2) => npy.into_vec::<i16>().with_context(ctx)?.into_iter().map(i64::from).collect(),
        (TypeChar::Int, 4) => npy.into_vec::<i32>().with_context(ctx)?.into_iter().map(i64::from).collect(),
        (TypeChar::Int, 8) => npy.into_vec::<i64>().with_context(ctx)?,
        (TypeChar::Uint, 1) => npy.into_vec::<u8>().with_context(ctx)?.into_iter().map(i64::from).collect(),
        (TypeChar::Uint, 2) => npy.into_vec::<u16>().with_context(ctx)?.into_iter().map(i64::from).collect(),
        (TypeChar::Uint, 4) => npy.into_vec::<u32>().with_context(ctx)?.into_iter().map(i64::from).collect(),
        (TypeChar::Uint, 8) => {
            npy.into_vec::<u64>().with_context(ctx)?.into_iter().map(|v| i64::try_from(v).unwrap_or(i64::MAX)).collect()
        }
        _ => bail!("{what}: dtype {type_str} is not an integer type; labels must be integers"),
    })
}

/// Writes embeddings, labels and optional group ids as .safetensors or .npy files (atomically).
pub fn write_embeddings(
    out: &Path,
    data: &[f32],
    rows: usize,
    dim: usize,
    labels: &[u32],
    groups: Option<&[u32]>,
) -> Result<()> {
    let ext = out.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "safetensors" => {
            let dev = Device::Cpu;
            let mut tensors = vec![
                ("embeddings", Tensor::from_slice(data, (rows, dim), &dev)?),
                ("labels", Tensor::from_vec(labels.iter().map(|&l| l as i64).collect::<Vec<_>>(), rows, &dev)?),
            ];
            if let Some(g) = groups {
                tensors
                    .push(("groups", Tensor::from_vec(g.iter().map(|&l| l as i64).collect::<Vec<_>>(), rows, &dev)?));
            }
            let bytes = safetensors::serialize(tensors.iter().map(|(n, t)| (*n, t)), None)
                .with_context(|| format!("{}: cannot encode", out.display()))?;
            crate::fs::write_atomic(out, &bytes).map_err(|e| CoreError::File(e.to_string()))?;
        }
        "npy" => {
            write_npy(out, &[rows as u64, dim as u64], data)?;
            let stem = out.with_extension("");
            write_npy(
                &stem.with_extension("labels.npy"),
                &[rows as u64],
                &labels.iter().map(|&l| l as i64).collect::<Vec<_>>(),
            )?;
            if let Some(g) = groups {
                write_npy(
                    &stem.with_extension("groups.npy"),
                    &[rows as u64],
                    &g.iter().map(|&l| l as i64).collect::<Vec<_>>(),
                )?;
            }
        }
        _ => bail!("{}: unknown output type (use .safetensors or .npy)", out.display()),
    }
    Ok(())
}

fn write_npy<T: npyz::AutoSerialize + Copy>(path: &Path, shape: &[u64], values: &[T]) -> Result<()> {
    use npyz::WriterBuilder;
    let mut bytes = Vec::new();
    {
        let encode = || format!("{}: cannot encode", path.display());
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(shape)
            .writer(&mut bytes)
            .begin_nd()
            .with_context(encode)?;
        w.extend(values.iter().copied()).with_context(encode)?;
        w.finish().with_context(encode)?;
    }
    crate::fs::write_atomic(path, &bytes).map_err(|e| CoreError::File(e.to_string()))?;
    Ok(())
}

fn file_error(msg: String) -> CoreError {
    CoreError::File(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let x = [0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0];
        for name in ["e.safetensors", "e.npy"] {
            let path = dir.path().join(name);
            write_embeddings(&path, &x, 3, 2, &[0, 1, 1], Some(&[7, 7, 8])).unwrap();
            let e = read_embeddings(&path).unwrap();
            assert_eq!((e.rows(), e.dim(), e.row(2)), (3, 2, &[4.0f32, 5.0][..]), "{name}");
            let (labels, groups) = if name.ends_with(".npy") {
                (dir.path().join("e.labels.npy"), dir.path().join("e.groups.npy"))
            } else {
                (path.clone(), path.clone())
            };
            assert_eq!(read_labels(&labels, "labels").unwrap(), vec![0, 1, 1]);
            assert_eq!(read_labels(&groups, "groups").unwrap(), vec![7, 7, 8]);
        }
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.safetensors");
        std::fs::write(&bad, b"not a safetensors file").unwrap();
        let msg = read_embeddings(&bad).unwrap_err().to_string();
        assert!(msg.contains("bad.safetensors") && msg.contains("not a valid safetensors file"), "{msg}");
        let msg = read_embeddings(&dir.path().join("x.csv")).unwrap_err().to_string();
        assert!(msg.contains("x.csv: unknown file type"), "{msg}");
    }
}
