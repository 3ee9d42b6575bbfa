//! The plan: rules bound to a real source schema, checked before anything is written.
//!
//! ```text
//! RuleSet (rules/) + [SourceTable] (source/) ──bind──▶ Plan ──TableTransform::new(key)──▶ runtime
//! ```
//!
//! Binding is fail-closed: every column of every source table must have exactly one rule
//! (a column rule, a `keep` list entry, or a skipped table); rules naming missing tables or
//! columns, options that do not fit the column's type, unknown generators or locales are
//! all errors, collected and reported together, each with its file, line and the valid
//! choices. When the rules have a schema lock and the source differs from it, the drift
//! report comes first (see [`drift`]). Any column whose rule is not `keep` is personal data
//! for every later feature.
//!
//! | module        | what it checks                                                        |
//! |---------------|-----------------------------------------------------------------------|
//! | `bind`        | one table's rules against its columns and their Arrow types          |
//! | `changes`     | every transforming rule can change the value (`keep` is the way to copy) |
//! | `constraints` | rules on unique-key columns keep the keys unique; case-insensitive keys |
//! | [`fit`]       | generated values against the declared `varchar(n)`, `char(n)`, `numeric(p,s)` (in [`crate::strategy`]) |
//! | `relations`   | across tables: foreign keys into skipped tables, row-level security   |
//! | [`drift`]     | the source against the schema lock the rules were reviewed with       |
//! | [`template`]  | template parsing and filters (in [`crate::strategy`])                 |

mod bind;
mod changes;
mod constraints;
pub mod drift;
mod explain;
mod relations;

use std::fmt;
use std::path::PathBuf;

use arrow_schema::{DataType, SchemaRef};

use crate::error::{Error, Problem, Result};
use crate::rules::{RuleSet, TableAction};
use crate::strategy::hash::HashSpec;

pub use crate::schema::SourceTable;
pub use crate::strategy::{JsonPathRule, JsonStep, Strategy, Template, fit, template};
pub use explain::explain;

/// The bound plan for a whole run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub tables: Vec<TablePlan>,
    /// blake3 of the rules files (see [`RuleSet::fingerprint`]).
    pub rules_fingerprint: String,
}

#[derive(Debug, Clone)]
pub struct TablePlan {
    pub name: String,
    pub schema: SchemaRef,
    pub action: TableAction,
    /// One per schema field, in schema order (empty for skipped tables).
    pub columns: Vec<ColumnPlan>,
    /// Column indexes in evaluation order: templates after the columns they read.
    pub eval_order: Vec<usize>,
    /// The rules' `quasi_identifiers`, as schema indexes in the order written (empty when
    /// none): what the audit report's re-identification risk counts classes over.
    pub quasi_identifiers: Vec<usize>,
    pub origin: Origin,
}

/// Where a rule was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

#[derive(Debug, Clone)]
pub struct ColumnPlan {
    pub name: String,
    pub index: usize,
    pub data_type: DataType,
    pub nullable: bool,
    pub strategy: Strategy,
    /// Equal inputs in one domain map to equal outputs (default: `schema.table.column`).
    pub domain: String,
    pub unique: bool,
    /// `unique` compares outputs without regard to case: the column is `citext`, or a unique
    /// index reads it as `lower(column)` / `upper(column)` (set by `constraints`).
    pub fold_case: bool,
    /// The CHECK constraints (the table's, or its domain's) that read this column, by name:
    /// the target checks the rule's values against them (set by `constraints`).
    pub checks: Vec<String>,
    /// The declared `varchar(n)` / `char(n)` length every output value is checked against at
    /// run time (see [`fit`]); `None` when the column has none or the plan proved the rule's
    /// values fit.
    pub length_limit: Option<usize>,
    pub origin: Origin,
}

impl ColumnPlan {
    /// Whether this column holds personal data (its rule is not `keep`).
    pub fn is_personal(&self) -> bool {
        !matches!(self.strategy, Strategy::Keep)
    }
}

/// Binds `rules` to the tables a source presents. Collects every problem before failing.
/// Problems carry no suggested rules; the commands bind through [`crate::scan::bind`],
/// which adds `doppel scan`'s.
pub fn bind(rules: &RuleSet, tables: &[SourceTable]) -> Result<Plan> {
    bind_with(rules, tables, None)
}

/// [`bind`], with `suggest` giving the rules suggested for what the rules do not cover: in
/// the schema-drift report and on the problem of each column or table without a rule.
pub fn bind_with(rules: &RuleSet, tables: &[SourceTable], suggest: Option<drift::Suggest>) -> Result<Plan> {
    let mut problems: Vec<Problem> = rules.problems.clone();
    let mut plans = Vec::new();
    let source_names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    for (name, table_rules) in &rules.tables {
        if !source_names.contains(&name.as_str()) {
            problems.push(
                Problem::new(format!(
                    "the source has no such table; its tables are: {}",
                    list_or_none(source_names.iter().copied())
                ))
                .at(&table_rules.file, Some(table_rules.line))
                .table(name),
            );
        }
    }
    for table in tables {
        match rules.tables.get(&table.name) {
            None => {
                let columns: Vec<&str> = table.schema.fields().iter().map(|f| f.name().as_str()).collect();
                problems.push(Problem::new(format!(
                    "the source table has no rules; add [tables.\"{}\"] with action = \"skip\", or rules for its columns: {}",
                    table.name,
                    columns.join(", ")
                )).table(&table.name));
            }
            Some(table_rules) => {
                if let Some(plan) = bind::bind_table(table, table_rules, &mut problems) {
                    plans.push(plan);
                }
            }
        }
    }
    check_domains(&plans, &mut problems);
    relations::check(rules, tables, &mut problems);
    drift::check(rules, tables, &problems, suggest)?;
    if !problems.is_empty() {
        if let Some(suggest) = suggest {
            drift::suggest_for_unruled(rules, tables, &mut problems, suggest);
        }
        return Err(Error::problems(problems));
    }
    plans.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Plan { tables: plans, rules_fingerprint: rules.fingerprint.clone() })
}

/// Columns that share a domain must produce comparable outputs: an integer permutation of
/// 32 bits never equals one of 64 bits, so such a "join" would silently break.
fn check_domains(plans: &[TablePlan], problems: &mut Vec<Problem>) {
    let mut widths: std::collections::BTreeMap<&str, (u32, &TablePlan, &ColumnPlan)> = Default::default();
    for table in plans {
        for c in &table.columns {
            let Strategy::Hash(HashSpec::Int { bits }) = c.strategy else { continue };
            match widths.get(c.domain.as_str()) {
                None => {
                    widths.insert(&c.domain, (bits, table, c));
                }
                Some(&(first_bits, first_table, first)) if first_bits != bits => problems.push(
                    Problem::new(format!(
                        "domain `{}` hashes {bits}-bit integers here and {first_bits}-bit integers in {}.{}; \
                         their pseudonyms would not match, so keys in this domain would not join. \
                         Use columns of one integer width per domain, or separate domains",
                        c.domain, first_table.name, first.name
                    ))
                    .at(&c.origin.file, Some(c.origin.line))
                    .table(&table.name)
                    .column(&c.name),
                ),
                Some(_) => {}
            }
        }
    }
}

fn list_or_none<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = names.collect();
    if v.is_empty() { "(none)".into() } else { v.join(", ") }
}
