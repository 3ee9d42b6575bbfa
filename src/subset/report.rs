//! What a subset selected, per table and why: printed before the run and written into the
//! audit report. Counts only, never a key.

use std::fmt;

use serde::Serialize;

use super::bind::Subset;

/// Why a row was selected (the first reason that selected it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// Root number `n` of the rules.
    Root(usize),
    /// It references a row selected downwards, through edge `n`.
    ChildOf(usize),
    /// A selected row references it through edge `n`.
    ParentOf(usize),
}

impl Reason {
    pub fn describe(&self, subset: &Subset) -> String {
        match *self {
            Reason::Root(i) => subset.roots[i].describe(),
            Reason::ChildOf(e) => {
                let edge = &subset.edges[e];
                format!("children of {} ({})", subset.tables[edge.parent], edge.name)
            }
            Reason::ParentOf(e) => {
                let edge = &subset.edges[e];
                format!("parents of {} ({})", subset.tables[edge.child], edge.name)
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SubsetReport {
    pub tables: Vec<TableReport>,
    /// The foreign keys the closure follows (the graph the assessment page draws).
    pub edges: Vec<EdgeReport>,
    /// The whole source's children per parent, when the report asks for it (the report's
    /// `fan_out` takes it as its source side).
    #[serde(skip)]
    pub source_fan_out: Vec<super::fan_out::SourceFanOut>,
}

/// A foreign key of the subset: `child` references `parent`.
#[derive(Debug, Clone, Serialize)]
pub struct EdgeReport {
    pub name: String,
    pub child: String,
    pub parent: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub table: String,
    /// The table is copied whole (no root reaches it and `unreached = "all"`).
    pub all_rows: bool,
    /// Number of `where` predicates whose rows are taken (an unreached table's own filter).
    pub filters: usize,
    /// Rows selected by key (roots and the closure).
    pub keyed_rows: u64,
    /// Rows by the first reason that selected them.
    pub reasons: Vec<(String, u64)>,
}

impl fmt::Display for SubsetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.tables.iter().map(|t| t.table.len()).max().unwrap_or(0);
        writeln!(f, "subset:")?;
        for t in &self.tables {
            let what = if t.all_rows {
                "all rows (no root reaches it)".to_string()
            } else {
                let mut parts: Vec<String> = t.reasons.iter().map(|(why, n)| format!("{n} {why}")).collect();
                if t.filters > 0 {
                    parts.push("rows matching its own where (no root reaches it)".to_string());
                }
                if parts.is_empty() {
                    "no rows".to_string()
                } else {
                    format!("{} rows: {}", t.keyed_rows, parts.join(", "))
                }
            };
            writeln!(f, "  {:width$}  {what}", t.table)?;
        }
        Ok(())
    }
}
