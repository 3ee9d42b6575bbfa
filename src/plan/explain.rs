//! `doppel check --explain`: the bound plan as text, table by table, column by column, each
//! rule in its rules file's words (`noise duration="180d" domain="dob"`, see
//! [`crate::strategy::words`]). A
//! column whose PostgreSQL type travels as text and is not a string type (or is a domain with
//! CHECK constraints or NOT NULL) also shows the type,
//! its kind and the actions that can write valid values of it (`[tsvector, tsvector: keep,
//! null, constant]`).

use std::fmt::Write;

use crate::rules::TableAction;
use crate::schema::{PG_TYPE, generated_reads};
use crate::strategy::pg_types::applicable;
use crate::type_kind::{TypeKind, domain_check, domain_not_null};

use super::Plan;

/// Renders the plan. Contains names, types, rules and their origins; never data.
pub fn explain(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "rules fingerprint {}", plan.rules_fingerprint);
    for table in &plan.tables {
        let _ = writeln!(out);
        if table.action == TableAction::Skip {
            let _ = writeln!(out, "{}  skip  ({})", table.name, table.origin);
            continue;
        }
        let personal = table.columns.iter().filter(|c| c.is_personal()).count();
        let _ = writeln!(
            out,
            "{}  copy, {} columns, {} personal  ({})",
            table.name,
            table.columns.len(),
            personal,
            table.origin
        );
        if !table.quasi_identifiers.is_empty() {
            let names: Vec<&str> =
                table.quasi_identifiers.iter().map(|&i| table.schema.field(i).name().as_str()).collect();
            let _ = writeln!(
                out,
                "  quasi-identifiers: {}  (the audit report measures the risk on them)",
                names.join(", ")
            );
        }
        let width = table.columns.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for c in &table.columns {
            let mut rule = c.strategy.describe();
            if c.strategy.behaviour().keyed() {
                let _ = write!(rule, " domain={}", toml::Value::from(c.domain.as_str()));
            }
            if c.unique {
                rule.push_str(if c.fold_case { " unique=true (case-insensitive)" } else { " unique=true" });
            }
            if c.is_personal() && !c.checks.is_empty() {
                let _ = write!(rule, " [the target checks: {}]", c.checks.join(", "));
            }
            let field = table.schema.field(c.index);
            let restricted = |k: &TypeKind| *k != TypeKind::String || domain_check(field) || domain_not_null(field);
            if let Some(kind) = TypeKind::of(field).filter(restricted)
                && let Some(pg_type) = field.metadata().get(PG_TYPE)
            {
                let _ = write!(rule, " [{pg_type}, {}: {}]", kind.name(), applicable(field).join(", "));
            }
            if let Some(reads) = generated_reads(field) {
                let from = reads.map(|r| r.join(", ")).unwrap_or_else(|| "unknown columns".into());
                let _ = write!(rule, " [generated from {from}: PostgreSQL targets compute it again]");
            }
            let _ = writeln!(
                out,
                "  {:width$}  {:<28}  {}  ({})",
                c.name,
                format!("{}{}", c.data_type, if c.nullable { "" } else { " not null" }),
                rule,
                c.origin,
            );
        }
    }
    out
}
