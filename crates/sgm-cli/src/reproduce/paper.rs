//! The paper's published numbers (Tables 1 and 2), kept as data in `paper_numbers.toml`.

use serde::Deserialize;
use std::sync::OnceLock;

/// One row of Table 2 (FER+ test, percentages).
#[derive(Debug, Clone, Deserialize)]
pub struct Table2Row {
    /// `softmax` (the paper's "CNN"), `triplet` or `sgm`.
    pub method: String,
    /// Backbone name as `sgm models list` spells it.
    pub backbone: String,
    /// Accuracy.
    pub acc: f64,
    /// Macro precision.
    pub prec: f64,
    /// Macro recall.
    pub rec: f64,
    /// 2PR/(P+R).
    pub f1: f64,
}

/// One row of Table 1 (clustering NMI × 100 per test set).
#[derive(Debug, Clone, Deserialize)]
pub struct Table1Row {
    /// `triplet` or `sgm`.
    pub method: String,
    /// Backbone name.
    pub backbone: String,
    /// FER+ test.
    pub ferplus: f64,
    /// AffectNet validation.
    pub affectnet: f64,
    /// JAFFE, whole set.
    pub jaffe: f64,
    /// CK+, whole set.
    pub ckplus: f64,
    /// BU-3DFE, whole set.
    pub bu3dfe: f64,
}

impl Table1Row {
    /// The published NMI × 100 for a data set name (`ferplus`, `affectnet`, `jaffe`, `ckplus`, `bu3dfe`).
    pub fn value(&self, dataset: &str) -> Option<f64> {
        match dataset {
            "ferplus" => Some(self.ferplus),
            "affectnet" => Some(self.affectnet),
            "jaffe" => Some(self.jaffe),
            "ckplus" | "ckplus48" => Some(self.ckplus),
            "bu3dfe" => Some(self.bu3dfe),
            _ => None,
        }
    }
}

/// The published numbers.
#[derive(Debug, Clone, Deserialize)]
pub struct PaperNumbers {
    /// Table 2.
    pub table2: Vec<Table2Row>,
    /// Table 1.
    pub table1: Vec<Table1Row>,
    /// Figure 5: the K at which kNN F1 on FER+ validation peaks.
    pub best_k: usize,
}

impl PaperNumbers {
    /// The numbers, parsed once from the embedded file.
    pub fn get() -> &'static PaperNumbers {
        static CELL: OnceLock<PaperNumbers> = OnceLock::new();
        CELL.get_or_init(|| {
            toml::from_str(include_str!("paper_numbers.toml")).expect("paper_numbers.toml is valid (tested)")
        })
    }

    /// Table 2's row for a method and backbone.
    pub fn table2(&self, method: &str, backbone: &str) -> Option<&Table2Row> {
        self.table2.iter().find(|r| r.method == method && r.backbone == backbone)
    }

    /// Table 1's row for a method and backbone.
    pub fn table1(&self, method: &str, backbone: &str) -> Option<&Table1Row> {
        self.table1.iter().find(|r| r.method == method && r.backbone == backbone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_row_is_there() {
        let p = PaperNumbers::get();
        assert_eq!(p.table2.len(), 15);
        assert_eq!(p.table1.len(), 10);
        for b in sgm_models::BackboneKind::ALL {
            let name = b.to_string();
            for m in ["softmax", "triplet", "sgm"] {
                assert!(p.table2(m, &name).is_some(), "table 2 lacks {m} {name}");
            }
            for m in ["triplet", "sgm"] {
                assert!(p.table1(m, &name).is_some(), "table 1 lacks {m} {name}");
            }
        }
        // Spot checks against the paper: SGM ResNet18 and the F1 definition 2PR/(P+R).
        let r = p.table2("sgm", "resnet18").unwrap();
        assert_eq!((r.acc, r.f1), (87.631, 77.412));
        for r in &p.table2 {
            let f1 = 2.0 * r.prec * r.rec / (r.prec + r.rec);
            assert!((f1 - r.f1).abs() < 2e-3, "{} {}: 2PR/(P+R) = {f1:.3}, table {}", r.method, r.backbone, r.f1);
        }
        assert_eq!(p.table1("sgm", "resnet18").unwrap().value("ckplus"), Some(77.902));
        assert_eq!(p.best_k, 11);
    }
}
