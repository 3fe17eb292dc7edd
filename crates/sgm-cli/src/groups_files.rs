//! The files of a grouping (`sgm cluster`, and the groups of `sgm reproduce`): `groups.json`, `groups.csv` (one
//! row per top-k member) and `assignments.csv` (one row per point), written atomically.

use crate::csv_files::write_csv;
use anyhow::Result;
use serde::Serialize;
use sgm_cluster::{Group, GroupFit, GroupMethod, GroupingConfig};
use std::path::Path;

/// The JSON written as `groups.json`.
#[derive(Debug, Serialize)]
pub struct GroupsReport {
    /// The embeddings grouped (a file name, or a description).
    pub embeddings: String,
    /// Points clustered.
    pub n: usize,
    /// Groups asked for.
    pub requested_groups: u32,
    /// Method used.
    pub method: GroupMethod,
    /// GMM: mean log-likelihood per point; k-means: absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lower_bound: Option<f64>,
    /// GMM: whether EM converged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converged: Option<bool>,
    /// k-means: sum of squared distances to the centres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inertia: Option<f64>,
    /// Non-empty groups, largest first.
    pub groups: Vec<Group>,
}

impl GroupsReport {
    /// The report of `fit` (made with `cfg`) over `embeddings`.
    pub fn new(embeddings: String, cfg: &GroupingConfig, fit: &GroupFit, groups: Vec<Group>) -> Self {
        GroupsReport {
            embeddings,
            n: fit.assignments.len(),
            requested_groups: cfg.groups as u32,
            method: cfg.method,
            lower_bound: fit.lower_bound,
            converged: fit.converged,
            inertia: fit.inertia,
            groups,
        }
    }

    /// Writes `groups.json`, `groups.csv` and `assignments.csv` into `out`.
    pub fn write(&self, out: &Path, assignments: &[u32]) -> Result<()> {
        sgm_core::fs::write_json_atomic(&out.join("groups.json"), self)?;
        let rows = self.groups.iter().flat_map(|g| {
            let lab = g.majority_label.map_or(String::new(), |l| l.to_string());
            let pur = g.purity.map_or(String::new(), |p| format!("{p:.6}"));
            g.top.iter().zip(&g.top_distances).enumerate().map(move |(rank, (&i, &d))| {
                let (id, size) = (g.id.to_string(), g.size.to_string());
                [id, size, lab.clone(), pur.clone(), rank.to_string(), i.to_string(), format!("{d:.6}")]
            })
        });
        let header = ["group", "size", "majority_label", "purity", "rank", "index", "distance_to_medoid"];
        write_csv(&out.join("groups.csv"), &header, rows)?;
        let rows = assignments.iter().enumerate().map(|(i, g)| [i.to_string(), g.to_string()]);
        write_csv(&out.join("assignments.csv"), &["index", "group"], rows)
    }
}
