//! The source's unique keys against the rules: a rule on a key column must keep the key
//! unique, or the target refuses the constraint (a PostgreSQL target or SQL dump creates
//! indexes and constraints after the load, and the run fails there).
//!
//! A key ([`UniqueKey`]: primary key, unique constraint, unique index, partial or on
//! expressions) whose columns are all kept stays as it was. Otherwise every column of it that
//! the rules transform must map distinct values to distinct values (within its domain):
//!
//! | rule                                         | keeps the key unique             |
//! |----------------------------------------------|----------------------------------|
//! | `keep`                                       | yes                              |
//! | `hash` on integers and uuids (`preserve`)    | yes: a keyed permutation         |
//! | any rule with `unique = true`                | yes: re-generated on collision   |
//! | `null`                                       | yes: NULLs differ (not with `NULLS NOT DISTINCT`; NOT NULL columns refuse `null` anyway) |
//! | `constant`                                   | no: every row gets the same value |
//! | anything else (`fake`, hex `hash`, `mask`, `template`, `noise`, `redact`, `json`) | no: two values may come out equal |
//!
//! For a key of several columns every transformed column must keep distinct values
//! distinct: that keeps each tuple distinct, whatever the kept columns hold. A key with a
//! column made `null` cannot be broken (NULLs differ), unless it is `NULLS NOT DISTINCT`. A partial
//! index only needs the rows its predicate selects to differ; keeping the column unique in
//! every row is stronger, and is what `unique = true` does. An expression key other than
//! `lower(column)` / `upper(column)` is checked through the columns it reads: doppel cannot
//! tell whether the expression of distinct values stays distinct.
//!
//! NOT NULL: a column whose domain is declared NOT NULL refuses `null` like a NOT NULL
//! column. CHECK constraints (the table's and its domains') are not evaluated: each column
//! lists the ones that read it, for `check --explain`, and the target checks the values.
//!
//! Case: a `citext` column, one a key compares under a nondeterministic collation, or one a
//! key reads as `lower(column)` / `upper(column)`, must
//! differ without regard to case. Its plan gets `fold_case`, and `unique = true` then
//! compares outputs case-folded (see [`crate::transform::unique`]).

use crate::error::Problem;
use crate::schema::{SourceTable, UniqueKey};
use crate::strategy::hash::HashSpec;

use super::{ColumnPlan, Strategy};

/// Checks `columns` (the table's bound plans) against the table's unique keys, pushes a
/// problem for each column whose rule could break one (once per column, naming the first
/// such key), and marks the columns compared without regard to case.
pub(super) fn check(table: &SourceTable, columns: &mut [ColumnPlan], problems: &mut Vec<Problem>) {
    let mut reported: Vec<&str> = Vec::new();
    for key in &table.unique_keys {
        let members: Vec<&ColumnPlan> =
            key.columns.iter().filter_map(|name| columns.iter().find(|c| c.name == *name)).collect();
        // A member made NULL in every row: no two rows of the key can be equal.
        if !key.nulls_not_distinct && members.iter().any(|c| matches!(c.strategy, Strategy::Null)) {
            continue;
        }
        for c in members.iter().filter(|c| !matches!(c.strategy, Strategy::Keep)) {
            if reported.contains(&c.name.as_str()) {
                continue;
            }
            if let Some(message) = refusal(c, key, &members) {
                reported.push(&c.name);
                problems.push(
                    Problem::new(message).at(&c.origin.file, Some(c.origin.line)).table(&table.name).column(&c.name),
                );
            }
        }
    }
    for key in &table.unique_keys {
        for c in columns.iter_mut().filter(|c| key.case_insensitive.contains(&c.name)) {
            c.fold_case = true;
        }
    }
    for check in &table.checks {
        for c in columns.iter_mut().filter(|c| check.columns.contains(&c.name)) {
            if check.not_null && matches!(c.strategy, Strategy::Null) {
                problems.push(
                    Problem::new(format!(
                        "`null` on a column whose domain {} is declared NOT NULL would break it; choose another action",
                        check.name
                    ))
                    .at(&c.origin.file, Some(c.origin.line))
                    .table(&table.name)
                    .column(&c.name),
                );
            } else if !check.not_null {
                c.checks.push(match &check.domain {
                    Some(domain) => format!("{} (domain {domain})", check.name),
                    None => check.name.clone(),
                });
            }
        }
    }
}

/// Why `c`'s rule could break `key` (whose columns with rules are `members`); `None` when
/// it keeps distinct values distinct.
fn refusal(c: &ColumnPlan, key: &UniqueKey, members: &[&ColumnPlan]) -> Option<String> {
    let fix = match &c.strategy {
        Strategy::Keep | Strategy::Hash(HashSpec::Int { .. } | HashSpec::Uuid) => return None,
        Strategy::Null if !key.nulls_not_distinct => return None,
        _ if c.unique => return None,
        Strategy::Null => "`null` gives every row NULL, which this key counts as equal (NULLS NOT DISTINCT)",
        Strategy::Constant(_) => "a constant gives every row the same value",
        Strategy::Fake(_) | Strategy::Template(_) | Strategy::Hash(HashSpec::Hex { .. }) => {
            "two values may come out equal; add `unique = true` (outputs are then re-generated until distinct)"
        }
        Strategy::Mask(m) if m.format_preserving => {
            "two values may come out equal; add `unique = true` (outputs are then re-generated until distinct)"
        }
        _ => {
            "this rule can make two values equal; use `hash` (a keyed permutation of integers and uuids) or a rule \
             with `unique = true` (`fake`, `template`, `hash` with format = \"hex\", `mask` with format_preserving = true)"
        }
    };
    let kind = if key.primary { "the primary key" } else { "the unique index" };
    let mut what = format!("{kind} `{}`", key.name);
    if key.columns.len() > 1 {
        let kept: Vec<String> =
            members.iter().filter(|m| matches!(m.strategy, Strategy::Keep)).map(|m| format!("`{}`", m.name)).collect();
        what += &format!(" on ({})", key.columns.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "));
        if !kept.is_empty() {
            what += &format!(", with {} kept,", kept.join(", "));
        }
    }
    let mut notes = Vec::new();
    if key.case_insensitive.contains(&c.name) {
        notes.push("compared without regard to case");
    }
    if key.partial {
        notes.push("partial: doppel keeps the column distinct in every row, which is stronger");
    }
    if key.expression {
        notes.push("on an expression: checked through the columns it reads");
    }
    let notes = if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) };
    Some(format!("{what} needs this column's values to stay distinct{notes}, and {fix}; or keep the column"))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use arrow_schema::{DataType, Field, Schema};

    use crate::error::Error;
    use crate::plan::bind;
    use crate::rules::parse_rules;
    use crate::schema::{SourceTable, UniqueKey};

    fn key(name: &str, columns: &[&str]) -> UniqueKey {
        UniqueKey {
            name: name.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            case_insensitive: Vec::new(),
            partial: false,
            expression: false,
            nulls_not_distinct: false,
            primary: false,
        }
    }

    /// `public.t (id int8 NOT NULL, email text NOT NULL, a text, b text)` with `keys`, the
    /// columns not in `rules` (the `[tables."public.t".columns]` body) kept: the problems,
    /// or the plan's `(column, unique, fold_case)`.
    fn bind_with(keys: Vec<UniqueKey>, rules: &str) -> Result<Vec<(String, bool, bool)>, Vec<String>> {
        let fields = vec![
            Field::new("id", DataType::Int64, false),
            Field::new("email", DataType::Utf8, false),
            Field::new("a", DataType::Utf8, true),
            Field::new("b", DataType::Utf8, true),
        ];
        let keep: Vec<String> = ["id", "email", "a", "b"]
            .iter()
            .filter(|c| !rules.lines().any(|l| l.starts_with(&format!("{c} ="))))
            .map(|c| format!("\"{c}\""))
            .collect();
        let table = SourceTable { unique_keys: keys, ..SourceTable::new("public.t", Arc::new(Schema::new(fields))) };
        let text = format!(
            "version = 1\n[tables.\"public.t\"]\nkeep = [{}]\n[tables.\"public.t\".columns]\n{rules}",
            keep.join(", ")
        );
        let set = parse_rules(&[(PathBuf::from("r.toml"), text)]).map_err(|e| vec![e.to_string()])?;
        match bind(&set, &[table]) {
            Ok(plan) => Ok(plan.tables[0].columns.iter().map(|c| (c.name.clone(), c.unique, c.fold_case)).collect()),
            Err(Error::Rules(p)) => Err(p.0.iter().map(|p| p.to_string()).collect()),
            Err(e) => Err(vec![e.to_string()]),
        }
    }

    #[test]
    fn a_transformed_unique_column_needs_unique_true_a_permutation_or_keep() {
        let keys = || vec![UniqueKey { primary: true, ..key("t_pkey", &["id"]) }, key("t_email_key", &["email"])];
        let p = bind_with(keys(), "email = { action = \"fake\", generator = \"email\" }\n").unwrap_err();
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with(
                "r.toml:5: public.t.email: the unique index `t_email_key` needs this column's values to stay distinct, \
                 and two values may come out equal; add `unique = true`"
            ),
            "{p:?}"
        );
        let unique =
            "id = { action = \"hash\" }\nemail = { action = \"fake\", generator = \"email\", unique = true }\n";
        assert!(bind_with(keys(), unique).is_ok());
        let p = bind_with(keys(), "email = { action = \"constant\", value = \"x\" }\n").unwrap_err();
        assert!(p[0].contains("a constant gives every row the same value"), "{p:?}");
        let p = bind_with(keys(), "email = { action = \"hash\", length = 12 }\n").unwrap_err();
        assert!(p[0].contains("add `unique = true`"), "{p:?}");
        let p = bind_with(keys(), "id = { action = \"noise\", absolute = 5 }\n").unwrap_err();
        assert!(p[0].starts_with("r.toml:5: public.t.id: the primary key `t_pkey` needs"), "{p:?}");
        assert!(p[0].contains("use `hash`"), "{p:?}");
    }

    #[test]
    fn a_multi_column_key_needs_every_transformed_column_distinct_and_null_is_fine_unless_nulls_not_distinct() {
        let keys = || vec![key("t_a_b_key", &["a", "b"])];
        let p = bind_with(keys(), "a = { action = \"fake\", generator = \"city\" }\n").unwrap_err();
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("the unique index `t_a_b_key` on (`a`, `b`), with `b` kept, needs"), "{p:?}");
        let both = "a = { action = \"fake\", generator = \"city\", unique = true }\n\
                    b = { action = \"mask\", format_preserving = true }\n";
        let p = bind_with(keys(), both).unwrap_err();
        assert!(p.len() == 1 && p[0].contains("public.t.b: the unique index `t_a_b_key` on (`a`, `b`) needs"), "{p:?}");
        assert!(bind_with(keys(), "a = { action = \"null\" }\n").is_ok());
        let null_and_fake = "a = { action = \"null\" }\nb = { action = \"fake\", generator = \"city\" }\n";
        assert!(bind_with(keys(), null_and_fake).is_ok());
        let strict = vec![UniqueKey { nulls_not_distinct: true, ..key("t_a_b_key", &["a", "b"]) }];
        assert!(bind_with(strict, "a = { action = \"null\" }\n").unwrap_err()[0].contains("NULLS NOT DISTINCT"));
    }

    #[test]
    fn case_insensitive_keys_mark_their_columns_and_say_so() {
        let keys = vec![UniqueKey {
            case_insensitive: vec!["email".into()],
            partial: true,
            ..key("t_lower_email", &["email"])
        }];
        let p = bind_with(keys.clone(), "email = { action = \"fake\", generator = \"email\" }\n").unwrap_err();
        assert!(p[0].contains("(compared without regard to case; partial: doppel keeps"), "{p:?}");
        let plan = bind_with(keys, "email = { action = \"fake\", generator = \"email\", unique = true }\n").unwrap();
        assert_eq!(plan[1], ("email".to_string(), true, true));
        assert_eq!(plan[2], ("a".to_string(), false, false));
    }
}
