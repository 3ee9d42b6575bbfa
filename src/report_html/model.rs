//! The audit report as the page reads it: the JSON of `doppel run --report` (see
//! [`crate::audit::AuditReport`]), with every section that a run may leave out optional, so
//! that reports of older runs, runs without `--verify` or a subset, and runs without the risk
//! figures all make a page. Fields the page does not show are not read.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::utility::Utility;

#[derive(Debug, Deserialize)]
pub struct Report {
    #[serde(default)]
    pub doppel_version: String,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub seconds: f64,
    pub rules: Rules,
    pub rules_blake3: String,
    pub key_fingerprint: String,
    /// Tagged by `kind`; shown as its fields.
    pub source: BTreeMap<String, serde_json::Value>,
    pub target: BTreeMap<String, serde_json::Value>,
    pub tables: Vec<Table>,
    #[serde(default)]
    pub total_rows: u64,
    #[serde(default)]
    pub verify: Option<Verify>,
    #[serde(default)]
    pub subset: Option<Subset>,
}

#[derive(Debug, Deserialize)]
pub struct Rules {
    pub path: String,
    #[serde(default)]
    pub files: Vec<FileHash>,
    #[serde(default)]
    pub git: Option<Git>,
}

#[derive(Debug, Deserialize)]
pub struct FileHash {
    pub name: String,
    pub bytes: u64,
    pub blake3: String,
}

#[derive(Debug, Deserialize)]
pub struct Git {
    pub commit: String,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub modified: bool,
}

#[derive(Debug, Deserialize)]
pub struct Table {
    pub table: String,
    pub action: String,
    #[serde(default)]
    pub rows_read: u64,
    #[serde(default)]
    pub rows_written: u64,
    #[serde(default)]
    pub seconds: f64,
    #[serde(default)]
    pub columns: Vec<Column>,
    #[serde(default)]
    pub utility: Option<Utility>,
    #[serde(default)]
    pub risk: Option<Risk>,
}

#[derive(Debug, Deserialize)]
pub struct Column {
    pub column: String,
    #[serde(rename = "type", default)]
    pub data_type: String,
    pub action: String,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub unique: bool,
}

/// Re-identification risk on the output (issue 20's `risk` section).
#[derive(Debug, Deserialize)]
pub struct Risk {
    pub quasi_identifiers: Vec<String>,
    pub rows: u64,
    pub unique_rows: u64,
    pub unique_share: f64,
    pub k: u64,
    /// `[class size, number of classes of that size]`, ascending.
    #[serde(default)]
    pub classes: Vec<(u64, u64)>,
    #[serde(default = "yes")]
    pub exact: bool,
    #[serde(default)]
    pub error_bound: Option<f64>,
    #[serde(default)]
    pub warning: Option<String>,
    #[serde(default)]
    pub suggestion: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
pub struct Verify {
    #[serde(default)]
    pub tables_checked: u64,
    #[serde(default)]
    pub personal_columns: u64,
    #[serde(default)]
    pub values_searched: u64,
    #[serde(default)]
    pub max_same_rate: f64,
    #[serde(default)]
    pub same: Vec<SameStat>,
    #[serde(default)]
    pub findings: Vec<Finding>,
    #[serde(default)]
    pub published: Vec<Finding>,
}

#[derive(Debug, Deserialize)]
pub struct SameStat {
    pub table: String,
    pub column: String,
    pub compared: u64,
    pub same: u64,
    pub rate: f64,
}

#[derive(Debug, Deserialize)]
pub struct Finding {
    pub table: String,
    #[serde(default)]
    pub column: String,
    pub kind: String,
    pub count: u64,
    #[serde(default)]
    pub rule: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Subset {
    pub tables: Vec<SubsetTable>,
    #[serde(default)]
    pub edges: Vec<Edge>,
}

#[derive(Debug, Deserialize)]
pub struct SubsetTable {
    pub table: String,
    #[serde(default)]
    pub all_rows: bool,
    #[serde(default)]
    pub keyed_rows: u64,
}

#[derive(Debug, Deserialize)]
pub struct Edge {
    pub name: String,
    pub child: String,
    pub parent: String,
}
