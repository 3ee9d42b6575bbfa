//! Scan's suggestions for rules that have gaps: the rule lines the schema-drift guard
//! ([`crate::plan::drift`]) prints for new, renamed and retyped columns, and that binding
//! adds to each column or table without a rule. [`bind`] is how the commands bind rules:
//! [`crate::plan::bind_with`] with these suggestions.
//!
//! Suggestions here come from names, types and keys only ([`super::scan`] with no sampled
//! rows: no value is read, none is printed). Scan's own self-check binds with
//! [`crate::plan::bind`], which asks for no suggestions, so scan never calls itself.

use crate::error::{Error, Result};
use crate::plan::{self, Plan};
use crate::rules::suggestion::{Action, Rule, Suggested, Suggestion};
use crate::rules::{ColumnRule, HashFormat, RuleSet};
use crate::schema::SourceTable;
use crate::source::{BatchStream, Source};
use crate::strategy::hash::HashRule;

use super::suggest::safe_rule;

/// Binds `rules` to `tables` ([`crate::plan::bind`]), with scan's suggestion in the drift
/// report and on each problem of a column or table that has no rule.
pub fn bind(rules: &RuleSet, tables: &[SourceTable]) -> Result<Plan> {
    plan::bind_with(rules, tables, Some(&suggestions))
}

/// What `doppel scan` suggests per `(table, column)` with no sampled rows (names, types and
/// keys only). Should scan fail, each column gets its type's safe rule, marked for review.
/// Scan knows the schema, not the rules: a column in a declared foreign key whose referenced
/// column the rules hash gets that `hash` and domain instead, so the join still works.
pub fn suggestions(rules: &RuleSet, tables: &[SourceTable]) -> Suggested {
    let mut suggested: Suggested = match super::scan(&SchemaOnly(tables), "the source", 0) {
        Ok(scan) => scan
            .tables
            .into_iter()
            .flat_map(|t| {
                let name = t.name;
                t.columns.into_iter().map(move |(column, s)| ((name.clone(), column), s))
            })
            .collect(),
        Err(_) => tables
            .iter()
            .flat_map(|t| t.schema.fields().iter().map(move |f| (t, f)))
            .map(|(t, f)| {
                let s = Suggestion {
                    action: Action::Rule(safe_rule(f)),
                    why: "scan could not judge it".into(),
                    review: true,
                    fallback: None,
                };
                ((t.name.clone(), f.name().clone()), s)
            })
            .collect(),
    };
    for table in tables {
        for fk in &table.foreign_keys {
            for (column, referenced) in fk.columns.iter().zip(&fk.references_columns) {
                let Some(rule) = hashed_like(rules, &fk.references_table, referenced) else { continue };
                let why = format!(
                    "foreign key to {}.{referenced}, whose rule is `hash` in this domain: the same, so the join still works",
                    fk.references_table
                );
                suggested.insert(
                    (table.name.clone(), column.clone()),
                    Suggestion { action: Action::Rule(rule), why, review: false, fallback: None },
                );
            }
        }
    }
    suggested
}

/// The `hash` rule the rules give `table.column`, with its domain made explicit.
fn hashed_like(rules: &RuleSet, table: &str, column: &str) -> Option<Rule> {
    let entry = rules.tables.get(table)?.columns.iter().find(|c| c.name == column)?;
    let ColumnRule::Hash(HashRule { format, length, domain, .. }) = entry.rule.as_ref()? else { return None };
    let mut rule = Rule::new("hash");
    if let Some(format) = format {
        rule = rule.opt("format", if *format == HashFormat::Hex { "hex" } else { "preserve" });
    }
    if let Some(length) = length {
        rule = rule.opt("length", *length as i64);
    }
    Some(rule.opt("domain", domain.clone().unwrap_or_else(|| format!("{table}.{column}"))))
}

/// A source that presents tables but no rows: scan with no sampled rows reads none.
struct SchemaOnly<'a>(&'a [SourceTable]);

impl Source for SchemaOnly<'_> {
    fn tables(&self) -> &[SourceTable] {
        self.0
    }

    fn read(&self, table: &str, _batch_rows: usize) -> Result<BatchStream> {
        Err(Error::source(table, "the drift check reads no rows"))
    }
}
