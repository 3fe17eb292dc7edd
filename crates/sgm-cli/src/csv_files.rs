//! Every CSV the commands write or read goes through the `csv` crate here: fields are quoted where they need it
//! (file names with commas or quotes), and a malformed file is refused naming the file and the line.

use anyhow::{Context, Result};
use std::path::Path;

/// Writes a CSV atomically: the header, then one record per row.
pub fn write_csv<R, F>(path: &Path, header: &[&str], rows: R) -> Result<()>
where
    R: IntoIterator,
    R::Item: IntoIterator<Item = F>,
    F: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).with_context(|| format!("writing {}", path.display()))?;
    for row in rows {
        w.write_record(row).with_context(|| format!("writing {}", path.display()))?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("writing {}: {}", path.display(), e.error()))?;
    sgm_core::fs::write_atomic(path, &bytes)?;
    Ok(())
}

/// A CSV read whole: its header and its records, each with its line number in the file (for error messages).
pub struct CsvTable {
    /// Column names.
    pub header: Vec<String>,
    /// (line, fields) of every record.
    pub rows: Vec<(u64, Vec<String>)>,
}

impl CsvTable {
    /// Reads `path`; a record with another number of fields than the header is refused, naming its line.
    pub fn read(path: &Path) -> Result<Self> {
        let mut r = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(path)
            .with_context(|| format!("reading {}", path.display()))?;
        let header: Vec<String> =
            r.headers().with_context(|| format!("reading {}", path.display()))?.iter().map(str::to_string).collect();
        if header.iter().all(String::is_empty) {
            anyhow::bail!("{}: empty file (expected a header line)", path.display());
        }
        let mut rows = Vec::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(String::new(), |p| format!(":{}", p.line()));
                anyhow::anyhow!("{}{line}: {e}", path.display())
            })?;
            let line = rec.position().map_or(0, |p| p.line());
            rows.push((line, rec.iter().map(str::to_string).collect()));
        }
        Ok(Self { header, rows })
    }

    /// The index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

/// Writes a 2-d map (`y`: x0, y0, x1, y1, …) as `index,x,y[,label][,subclass]`, the CSV of `sgm tsne` that
/// `sgm plot tsne` reads.
pub fn write_map_csv(path: &Path, y: &[f32], labels: Option<&[u32]>, subclasses: Option<&[u32]>) -> Result<()> {
    let mut header = vec!["index", "x", "y"];
    header.extend(labels.map(|_| "label"));
    header.extend(subclasses.map(|_| "subclass"));
    let rows = (0..y.len() / 2).map(|i| {
        let mut row = vec![i.to_string(), y[2 * i].to_string(), y[2 * i + 1].to_string()];
        row.extend(labels.map(|l| l[i].to_string()));
        row.extend(subclasses.map(|s| s[i].to_string()));
        row
    });
    write_csv(path, &header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_and_quotes_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        write_csv(&p, &["index", "file"], [["0", "a,b.png"], ["1", "say \"hi\".png"]]).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "index,file\n0,\"a,b.png\"\n1,\"say \"\"hi\"\".png\"\n");
        let t = CsvTable::read(&p).unwrap();
        assert_eq!(t.column("file"), Some(1));
        assert_eq!(t.rows[0], (2, vec!["0".to_string(), "a,b.png".to_string()]));
        assert_eq!(t.rows[1].1[1], "say \"hi\".png");
    }

    #[test]
    fn a_short_record_is_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.csv");
        std::fs::write(&p, "index,x,y\n0,1,2\n1,3\n").unwrap();
        let e = CsvTable::read(&p).err().unwrap().to_string();
        assert!(e.contains("bad.csv:3"), "{e}");
    }
}
