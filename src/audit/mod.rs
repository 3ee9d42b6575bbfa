//! The audit report of a run (`--report FILE`, JSON) and the short summary every run prints
//! on stderr: what was read, what was done to every column under which reviewed rules and
//! key, and what was written — names, counts and hashes, never a value or the key.
//!
//! ```text
//! Plan + RunReport (pipeline) + identities (source, target) + rules (files, git) ──▶ AuditReport
//! ```
//!
//! Two runs with the same inputs, rules and key give reports that differ only in their times
//! (`started_at`, `seconds`, `snapshot_taken_at`, per-table `seconds`).
//!
//! - [`git`]: the rules' last commit, author, date and whether they changed since.
//! - [`identity`]: databases and files identified by place, version, snapshot, size and blake3.
//! - [`risk`]: k-anonymity of each table's output on its `quasi_identifiers`, from the classes
//!   the run counted ([`crate::pipeline::classes`]).

pub mod git;
pub mod identity;
pub mod risk;

use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::pipeline::{RunReport, TableReport};
use crate::plan::Plan;
use crate::rules::{RuleSet, TableAction};
use crate::schema::PG_TYPE;
use crate::utility::fan_out::{Children, FanOut};

pub use git::RulesCommit;
pub use identity::{FileHash, Identity};

#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub doppel_version: &'static str,
    /// UTC, ISO 8601.
    pub started_at: String,
    pub seconds: f64,
    pub rules: RulesIdentity,
    /// blake3 over every rules file's name and content (as in the output's metadata).
    pub rules_blake3: String,
    /// A keyed hash of a fixed string: tells keys apart, reveals nothing of the key.
    pub key_fingerprint: String,
    pub source: Identity,
    pub target: Identity,
    pub tables: Vec<TableAudit>,
    pub total_rows: u64,
    /// The check of the output before it was published (`run --verify`); `null` when not asked.
    pub verify: Option<crate::verify::Report>,
    /// Rows the rules' `[subset]` selected per table and why; `null` without a subset.
    pub subset: Option<crate::subset::SubsetReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RulesIdentity {
    /// The `--rules` argument.
    pub path: String,
    /// Every rules file, then the schema lock (if any), with size and blake3.
    pub files: Vec<FileHash>,
    /// `None` when the rules are not in a git repository (or git is not installed).
    pub git: Option<RulesCommit>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableAudit {
    pub table: String,
    pub action: &'static str,
    pub rows_read: u64,
    pub rows_written: u64,
    pub bytes_written: u64,
    pub seconds: f64,
    pub columns: Vec<ColumnAudit>,
    /// Re-identification risk on the table's `quasi_identifiers` (absent when the rules name
    /// none, or the run did not count it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<risk::RiskSection>,
    /// Profiles of the source and output values and their distances (absent for a table
    /// not decoded: skipped, or copied unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utility: Option<crate::utility::Utility>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnAudit {
    pub column: String,
    /// The PostgreSQL type where the source is PostgreSQL, else the Arrow type.
    #[serde(rename = "type")]
    pub data_type: String,
    /// The rule applied, as `check --explain` prints it.
    pub action: String,
    /// The pseudonym domain, for transformed columns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unique: bool,
}

/// What the report needs besides the plan and the pipeline's counts.
pub struct RunContext<'a> {
    pub rules_path: &'a Path,
    pub rules: &'a RuleSet,
    pub key_fingerprint: String,
    pub started_at: String,
    pub source: Identity,
    pub target: Identity,
    pub verify: Option<crate::verify::Report>,
    pub subset: Option<crate::subset::SubsetReport>,
}

impl AuditReport {
    pub fn new(plan: &Plan, run: &RunReport, context: RunContext<'_>) -> Result<AuditReport> {
        let mut files = Vec::with_capacity(context.rules.files.len());
        for file in &context.rules.files {
            let name = file
                .strip_prefix(context.rules_path)
                .ok()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(|| Path::new(file.file_name().unwrap_or(file.as_os_str())))
                .to_string_lossy()
                .into_owned();
            files.push(identity::hash_file(file, name)?);
        }
        // The schema lock the rules were reviewed against, when there is one.
        let lock = crate::rules::lock::lock_path(context.rules_path);
        if lock.is_file() {
            let name = lock.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            files.push(identity::hash_file(&lock, name)?);
        }
        let tables = plan
            .tables
            .iter()
            .map(|table| {
                let counts = run.tables.iter().find(|t| t.table == table.name);
                TableAudit {
                    table: table.name.clone(),
                    // What the pipeline did (`generate` for a generated table), else the rules' word.
                    action: counts.map_or(
                        match table.action {
                            TableAction::Copy => "copy",
                            TableAction::Skip => "skip",
                        },
                        |c| c.action,
                    ),
                    rows_read: counts.map_or(0, |c| c.rows_read),
                    rows_written: counts.map_or(0, |c| c.rows),
                    bytes_written: counts.map_or(0, |c| c.bytes_written),
                    seconds: counts.map_or(0.0, |c| c.seconds),
                    columns: table
                        .columns
                        .iter()
                        .map(|c| {
                            let field = table.schema.field(c.index);
                            ColumnAudit {
                                column: c.name.clone(),
                                data_type: field
                                    .metadata()
                                    .get(PG_TYPE)
                                    .cloned()
                                    .unwrap_or_else(|| field.data_type().to_string()),
                                action: c.strategy.describe(),
                                domain: c.is_personal().then(|| c.domain.clone()),
                                unique: c.unique,
                            }
                        })
                        .collect(),
                    risk: counts.and_then(|c| c.risk.as_ref()).map(|r| risk::RiskSection::new(table, r)),
                    utility: counts.and_then(|c| utility(c, run, context.subset.as_ref())),
                }
            })
            .collect();
        Ok(AuditReport {
            doppel_version: env!("CARGO_PKG_VERSION"),
            started_at: context.started_at,
            seconds: run.seconds,
            rules: RulesIdentity {
                path: context.rules_path.display().to_string(),
                files,
                git: git::rules_commit(context.rules_path),
            },
            rules_blake3: plan.rules_fingerprint.clone(),
            key_fingerprint: context.key_fingerprint,
            source: context.source,
            target: context.target,
            tables,
            total_rows: run.total_rows,
            verify: context.verify,
            subset: context.subset,
        })
    }
}

/// A table's utility figures with its foreign keys' fan-out: the counted references with the
/// referenced tables' rows, and for a subset the whole source's side.
fn utility(
    counts: &TableReport,
    run: &RunReport,
    subset: Option<&crate::subset::SubsetReport>,
) -> Option<crate::utility::Utility> {
    let parent_rows = |parent: &str, side: fn(&TableReport) -> u64| {
        run.tables.iter().find(|t| t.table == parent && t.action != "skip").map(side)
    };
    let fan_out: Vec<FanOut> = counts
        .fan_out
        .iter()
        .map(|f| {
            let whole_source = subset
                .and_then(|s| s.source_fan_out.iter().find(|s| s.table == counts.table && s.foreign_key == f.name));
            let before = match whole_source {
                Some(s) => Children::new(&s.sizes, Some(s.parent_rows)),
                None => {
                    Children::new(&f.before.as_ref().unwrap_or(&f.after).sizes, parent_rows(&f.parent, |t| t.rows_read))
                }
            };
            FanOut {
                foreign_key: f.name.clone(),
                columns: f.columns.clone(),
                parent: f.parent.clone(),
                before,
                after: Children::new(&f.after.sizes, parent_rows(&f.parent, |t| t.rows)),
            }
        })
        .collect();
    if fan_out.is_empty() {
        return counts.utility.clone();
    }
    let mut utility = counts.utility.clone().unwrap_or_else(|| crate::utility::Utility {
        columns: Vec::new(),
        correlations: Vec::new(),
        fan_out: Vec::new(),
    });
    utility.fan_out = fan_out;
    Some(utility)
}

/// The one-paragraph summary printed after every run: rules (and their commit), key
/// fingerprint, tables copied and skipped, columns transformed and kept.
pub fn summary(plan: &Plan, run: &RunReport, rules_path: &Path, key_fingerprint: &str) -> String {
    let copied = plan.tables.iter().filter(|t| t.action == TableAction::Copy);
    let (mut transformed, mut kept) = (0, 0);
    for c in copied.clone().flat_map(|t| &t.columns) {
        if c.is_personal() { transformed += 1 } else { kept += 1 }
    }
    let skipped = plan.tables.len() - copied.count();
    let git = match git::rules_commit(rules_path) {
        Some(c) => format!(
            " (git {} by {}, {}{})",
            &c.commit[..c.commit.len().min(12)],
            c.author,
            c.date,
            if c.modified { "; modified since" } else { "" }
        ),
        None => " (not in git)".to_string(),
    };
    format!(
        "rules {}{git}\nkey fingerprint {} · {} tables copied, {skipped} skipped · {transformed} columns transformed, \
         {kept} kept · {} rows in {:.2}s",
        &plan.rules_fingerprint[..12],
        key_fingerprint,
        plan.tables.len() - skipped,
        run.total_rows,
        run.seconds
    )
}
