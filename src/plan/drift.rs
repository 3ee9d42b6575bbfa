//! The schema-drift guard: what changed in the source since its rules were reviewed.
//!
//! ```text
//! SchemaLock (rules/*.schema.lock) ─┐
//!                                   ├─ diff ──▶ [Change] ──report (+ scan's suggestions)──▶ Error::Drift
//! [SourceTable] (live schema) ──────┘
//! ```
//!
//! [`crate::plan::bind_with`] runs [`diff`] first whenever the rules have a schema lock
//! ([`crate::rules::lock`]). Any change (a new or dropped table, a new or dropped column, a
//! column that looks renamed, a retyped column) stops `check` and `run` (exit 3) before
//! anything is read or written, with one report listing every change and, for each new,
//! renamed or retyped column, the suggested rule line. Problems of the rules that the drift
//! does not explain follow the report. Without a lock, the binding problems stay as they are
//! and [`suggest_for_unruled`] adds the same suggestion to each column and table that has no
//! rule.
//!
//! Plan does not call `doppel scan`: the suggestions come from the caller as a [`Suggest`]
//! (the commands bind through [`crate::scan::bind`], which passes scan's suggestions from
//! names and types, no value read; a column in a declared foreign key to a column the rules
//! hash gets that hash and domain). [`crate::plan::bind`] passes none, and so does scan's
//! own self-check, so scan never calls itself.
//!
//! A dropped and a new column of one table with the same type are reported as a likely
//! rename (pairs in schema order). A table the lock records without columns (the rules skip
//! it) is compared by presence only.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::error::{Error, Problem, Problems, Result};
use crate::rules::lock::{RecordedTables, SchemaLock, toml_key, type_name};
use crate::rules::suggestion::{Action, Suggested, Suggestion};
use crate::rules::toml_text::string as toml_string;
use crate::rules::{RuleSet, TableRules};
use crate::schema::SourceTable;

/// Columns with their types, in schema order.
pub type Columns = Vec<(String, String)>;

/// One difference between the recorded and the live schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    NewTable {
        table: String,
        columns: Columns,
    },
    DroppedTable {
        table: String,
    },
    NewColumn {
        table: String,
        column: String,
        ty: String,
    },
    DroppedColumn {
        table: String,
        column: String,
        ty: String,
    },
    /// A dropped and a new column of the same type: likely one column renamed.
    Renamed {
        table: String,
        from: String,
        to: String,
        ty: String,
    },
    Retyped {
        table: String,
        column: String,
        from: String,
        to: String,
    },
}

impl Change {
    fn table(&self) -> &str {
        match self {
            Change::NewTable { table, .. }
            | Change::DroppedTable { table }
            | Change::NewColumn { table, .. }
            | Change::DroppedColumn { table, .. }
            | Change::Renamed { table, .. }
            | Change::Retyped { table, .. } => table,
        }
    }

    /// Whether a binding problem about `column` of `table` (or the whole table) is explained
    /// by this change.
    fn explains(&self, table: &str, column: Option<&str>) -> bool {
        if self.table() != table {
            return false;
        }
        match (self, column) {
            (Change::NewTable { .. } | Change::DroppedTable { .. }, _) => true,
            (Change::NewColumn { column: c, .. } | Change::DroppedColumn { column: c, .. }, Some(col)) => c == col,
            (Change::Renamed { from, to, .. }, Some(col)) => from == col || to == col,
            _ => false,
        }
    }
}

/// The live schema of `tables`: per table its columns and their recorded type names.
pub fn live_schema(tables: &[SourceTable]) -> BTreeMap<String, Columns> {
    tables
        .iter()
        .map(|t| (t.name.clone(), t.schema.fields().iter().map(|f| (f.name().clone(), type_name(f))).collect()))
        .collect()
}

/// Every difference between the `recorded` schema and the `live` one, table by table in
/// name order.
pub fn diff(recorded: &RecordedTables, live: &BTreeMap<String, Columns>) -> Vec<Change> {
    let mut changes = Vec::new();
    let names: std::collections::BTreeSet<&String> = recorded.keys().chain(live.keys()).collect();
    for table in names {
        let t = table.clone();
        let (was, now) = match (recorded.get(table), live.get(table)) {
            (None, Some(now)) => {
                changes.push(Change::NewTable { table: t, columns: now.clone() });
                continue;
            }
            (Some(_), None) => {
                changes.push(Change::DroppedTable { table: t });
                continue;
            }
            (Some(Some(was)), Some(now)) => (was, now),
            // Recorded without columns (skipped), or in neither: presence is all that counts.
            _ => continue,
        };
        let mut added: Vec<&(String, String)> = Vec::new();
        for entry in now {
            let (column, ty) = entry;
            match was.get(column) {
                None => added.push(entry),
                Some(old) if old != ty => changes.push(Change::Retyped {
                    table: t.clone(),
                    column: column.clone(),
                    from: old.clone(),
                    to: ty.clone(),
                }),
                Some(_) => {}
            }
        }
        for (column, ty) in was {
            if now.iter().any(|(c, _)| c == column) {
                continue;
            }
            match added.iter().position(|(_, new_ty)| new_ty == ty) {
                Some(i) => {
                    let (to, _) = added.remove(i);
                    changes.push(Change::Renamed {
                        table: t.clone(),
                        from: column.clone(),
                        to: to.clone(),
                        ty: ty.clone(),
                    });
                }
                None => {
                    changes.push(Change::DroppedColumn { table: t.clone(), column: column.clone(), ty: ty.clone() })
                }
            }
        }
        for (column, ty) in added {
            changes.push(Change::NewColumn { table: t.clone(), column: column.clone(), ty: ty.clone() });
        }
    }
    changes
}

/// The drift check `bind` runs first: `Ok(())` when the rules have no lock or the source
/// matches it; otherwise the report, with the binding `problems` the drift does not explain.
pub fn check(rules: &RuleSet, tables: &[SourceTable], problems: &[Problem], suggest: Option<Suggest>) -> Result<()> {
    let Some(lock) = &rules.lock else { return Ok(()) };
    let changes = diff(&lock.tables, &live_schema(tables));
    if changes.is_empty() {
        return Ok(());
    }
    let others: Vec<Problem> = problems
        .iter()
        .filter(|p| {
            let Some(table) = &p.table else { return true };
            !changes.iter().any(|c| c.explains(table, p.column.as_deref()))
        })
        .cloned()
        .collect();
    let suggested = suggest.map(|suggest| suggest(rules, tables)).unwrap_or_default();
    Err(Error::Drift(report(lock, rules, &changes, &suggested, &others)))
}

/// Where suggested rules come from: a layer above plan passes `doppel scan`'s in
/// ([`crate::scan::bind`]); plan itself knows no suggestions.
pub type Suggest<'a> = &'a dyn Fn(&RuleSet, &[SourceTable]) -> Suggested;

/// Without a schema lock, binding problems are listed as they are; this adds the
/// suggestion to each column without a rule and each table without rules, so the fix is on
/// the line that names the problem.
pub fn suggest_for_unruled(rules: &RuleSet, tables: &[SourceTable], problems: &mut [Problem], suggest: Suggest) {
    let unruled = |p: &Problem| {
        let Some(table) = tables.iter().find(|t| Some(&t.name) == p.table.as_ref()) else { return false };
        match (rules.tables.get(&table.name), &p.column) {
            (None, None) => true,
            (Some(r), Some(c)) => table.schema.index_of(c).is_ok() && !r.columns.iter().any(|e| &e.name == c),
            _ => false,
        }
    };
    if !problems.iter().any(unruled) {
        return;
    }
    let suggested = suggest(rules, tables);
    for p in problems.iter_mut().filter(|p| unruled(p)) {
        let Some(table) = tables.iter().find(|t| Some(&t.name) == p.table.as_ref()) else { continue };
        match &p.column {
            Some(c) => {
                if let Some(s) = suggested.get(&(table.name.clone(), c.clone())) {
                    p.message = format!("{}; `doppel scan` suggests:\n        {}", p.message, rule_line(c, s));
                }
            }
            None => {
                let columns = live_schema(std::slice::from_ref(table)).remove(&table.name).unwrap_or_default();
                let block = table_block(&table.name, &columns, &suggested, "        ");
                p.message = format!("{}; `doppel scan` suggests:\n{}", p.message, block.trim_end());
            }
        }
    }
}

/// Scan's reason as a comment.
fn why(s: &Suggestion) -> String {
    let why: String = s.why.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if s.review { format!("# review: {why}") } else { format!("# {why}") }
}

/// A column's suggestion as a line of a rules file, with scan's reason.
fn rule_line(column: &str, s: &Suggestion) -> String {
    match &s.action {
        Action::Keep => format!("keep = [..., {}]  {}", toml_string(column), why(s)),
        Action::Rule(rule) => format!("{} = {}  {}", toml_key(column), rule.render(), why(s)),
    }
}

/// A new table's suggested rules, as scan would write them, each line after `indent`.
fn table_block(table: &str, columns: &Columns, suggested: &Suggested, indent: &str) -> String {
    let key = toml_key(table);
    let of = |c: &String| suggested.get(&(table.to_string(), c.clone()));
    let mut out = format!("{indent}[tables.{key}]\n");
    let kept: Vec<(&String, &Suggestion)> =
        columns.iter().filter_map(|(c, _)| of(c).filter(|s| s.is_keep()).map(|s| (c, s))).collect();
    if !kept.is_empty() {
        out.push_str(&format!("{indent}keep = [\n"));
        for (c, s) in kept {
            out.push_str(&format!("{indent}  {},  {}\n", toml_string(c), why(s)));
        }
        out.push_str(&format!("{indent}]\n"));
    }
    let ruled: Vec<String> =
        columns.iter().filter_map(|(c, _)| of(c).filter(|s| !s.is_keep()).map(|s| rule_line(c, s))).collect();
    if !ruled.is_empty() {
        out.push_str(&format!("{indent}[tables.{key}.columns]\n"));
        for line in ruled {
            out.push_str(&format!("{indent}{line}\n"));
        }
    }
    out
}

/// The report: one entry per change, what to do, and the other problems.
fn report(lock: &SchemaLock, rules: &RuleSet, changes: &[Change], suggested: &Suggested, others: &[Problem]) -> String {
    let suggestion = |table: &str, column: &str| {
        suggested
            .get(&(table.to_string(), column.to_string()))
            .map_or_else(|| "(none)".into(), |s| rule_line(column, s))
    };
    let table_rules = |table: &str| rules.tables.get(table);
    let rule_at = |table: &str, column: &str| -> Option<String> {
        let t = table_rules(table)?;
        let c = t.columns.iter().find(|c| c.name == column)?;
        let action = c.rule.as_ref().map_or("an undecodable rule", |r| r.action_name());
        Some(format!("its rule `{action}` at {}:{}", t.file.display(), c.line))
    };
    let mut out = format!(
        "the source schema changed since the rules were reviewed ({} change(s) against {}):\n",
        changes.len(),
        lock.file.display()
    );
    for change in changes {
        let _ = match change {
            Change::NewTable { table, columns } => {
                let block = table_block(table, columns, suggested, "        ");
                write!(out, "  - new table {table} ({} column(s)); suggested rules:\n{block}", columns.len())
            }
            Change::DroppedTable { table } => {
                let at = table_rules(table)
                    .map_or(String::new(), |t: &TableRules| format!(" at {}:{}", t.file.display(), t.line));
                writeln!(out, "  - dropped table {table}: remove its rules{at}")
            }
            Change::NewColumn { table, column, ty } => {
                let rule = match rule_at(table, column) {
                    None => "column has no rule: it is new in the source".to_string(),
                    Some(at) => format!("new in the source since the lock; {at} is not recorded as reviewed"),
                };
                writeln!(out, "  - {table}.{column}: {rule} ({ty}); suggested:\n        {}", suggestion(table, column))
            }
            Change::DroppedColumn { table, column, ty } => {
                let rule = rule_at(table, column).unwrap_or_else(|| "no rule".into());
                writeln!(out, "  - {table}.{column}: dropped from the source ({ty}); remove {rule}")
            }
            Change::Renamed { table, from, to, ty } => writeln!(
                out,
                "  - {table}.{from}: renamed to {to}? (a dropped and a new column, both {ty}); move {} to {to} if it \
                 still fits, or use the suggestion:\n        {}",
                rule_at(table, from).unwrap_or_else(|| "its rule".into()),
                suggestion(table, to)
            ),
            Change::Retyped { table, column, from, to } => writeln!(
                out,
                "  - {table}.{column}: retyped from {from} to {to}; {} was reviewed for the old type; suggested:\n        {}",
                rule_at(table, column).unwrap_or_else(|| "its rule".into()),
                suggestion(table, column)
            ),
        };
    }
    out.push_str(
        "Update the rules for each change, then record the schema they now cover with `doppel check --lock` (same \
         --rules and --from) and have both files reviewed.\n",
    );
    if !others.is_empty() {
        out.push_str(&Problems(others.to_vec()).to_string());
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(pairs: &[(&str, &str)]) -> Columns {
        pairs.iter().map(|(c, t)| (c.to_string(), t.to_string())).collect()
    }

    /// A table name and its recorded columns (`None`: skipped).
    type Recorded<'a> = (&'a str, Option<&'a [(&'a str, &'a str)]>);

    fn recorded(tables: &[Recorded]) -> RecordedTables {
        tables.iter().map(|(t, c)| (t.to_string(), c.map(|c| cols(c).into_iter().collect()))).collect()
    }

    fn live(tables: &[(&str, &[(&str, &str)])]) -> BTreeMap<String, Columns> {
        tables.iter().map(|(t, c)| (t.to_string(), cols(c))).collect()
    }

    #[test]
    fn same_schema_is_no_drift_and_column_order_does_not_matter() {
        let was = recorded(&[("p.a", Some(&[("id", "integer"), ("name", "text")]))]);
        let now = live(&[("p.a", &[("name", "text"), ("id", "integer")])]);
        assert_eq!(diff(&was, &now), vec![]);
    }

    #[test]
    fn new_and_dropped_tables_and_columns() {
        let was = recorded(&[("p.a", Some(&[("id", "integer"), ("old", "date")])), ("p.gone", Some(&[("x", "text")]))]);
        let now = live(&[("p.a", &[("id", "integer"), ("fresh", "text")]), ("p.new", &[("y", "bigint")])]);
        assert_eq!(
            diff(&was, &now),
            vec![
                Change::DroppedColumn { table: "p.a".into(), column: "old".into(), ty: "date".into() },
                Change::NewColumn { table: "p.a".into(), column: "fresh".into(), ty: "text".into() },
                Change::DroppedTable { table: "p.gone".into() },
                Change::NewTable { table: "p.new".into(), columns: cols(&[("y", "bigint")]) },
            ]
        );
    }

    #[test]
    fn a_dropped_and_a_new_column_of_one_type_are_a_rename() {
        let was =
            recorded(&[("p.a", Some(&[("id", "integer"), ("surname", "character varying(40)"), ("n", "integer")]))]);
        let now = live(&[(
            "p.a",
            &[("id", "integer"), ("last_name", "character varying(40)"), ("notes", "text"), ("n", "integer")],
        )]);
        assert_eq!(
            diff(&was, &now),
            vec![
                Change::Renamed {
                    table: "p.a".into(),
                    from: "surname".into(),
                    to: "last_name".into(),
                    ty: "character varying(40)".into()
                },
                Change::NewColumn { table: "p.a".into(), column: "notes".into(), ty: "text".into() },
            ]
        );
    }

    #[test]
    fn retyped_columns_name_both_types_and_skipped_tables_count_by_presence() {
        let was = recorded(&[("p.a", Some(&[("id", "integer"), ("zip", "integer")])), ("p.log", None)]);
        let now = live(&[("p.a", &[("id", "bigint"), ("zip", "integer")]), ("p.log", &[("anything", "jsonb")])]);
        assert_eq!(
            diff(&was, &now),
            vec![Change::Retyped {
                table: "p.a".into(),
                column: "id".into(),
                from: "integer".into(),
                to: "bigint".into()
            }]
        );
        let gone = live(&[("p.a", &[("id", "integer"), ("zip", "integer")])]);
        assert_eq!(diff(&was, &gone), vec![Change::DroppedTable { table: "p.log".into() }]);
    }
}
