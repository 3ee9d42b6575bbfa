//! Constraints in scan's suggestions. Unique keys: a transformed column of a unique key (primary key,
//! unique constraint or index) gets a rule that keeps distinct values distinct, so the
//! suggested rules pass the plan's key check (`plan::constraints`) and the target can
//! create the key after the load.
//!
//! `fake`, `template`, hex `hash` and format-preserving `mask` get `unique = true`; `hash`
//! of integers and uuids is a permutation already, and `null` keeps a key unique (NULLs
//! differ) unless it is `NULLS NOT DISTINCT`. Other rules (`constant`, `noise`, `redact`,
//! `json`, a plain mask) are replaced: text by a format-preserving mask with
//! `unique = true`, integers and uuids by `hash`, other types by `null` when the column
//! allows it; a NOT NULL date, timestamp or number (a unique birth date under `noise`, say)
//! gets a `fake` of its type with `unique = true`. A NOT NULL column of any other type has
//! no rule that keeps it unique but `keep`, which scan does not choose for it: the plan's
//! check names it, and scan reports its rules do not bind.
//!
//! A column whose domain is declared NOT NULL (the column itself may be nullable) never gets
//! `null`: it gets the safe rule of a NOT NULL column of its type instead.

use arrow_schema::{DataType, Field};

use super::ScannedTable;
use super::suggest::{Action, Rule};
use crate::schema::{SourceTable, UniqueKey};

/// Makes the suggestions for the transformed columns of every unique key keep it unique,
/// and says so in their comments. `scanned` and `tables` are in the same order.
pub(super) fn keep_keys_unique(scanned: &mut [ScannedTable], tables: &[SourceTable]) {
    for (table, scan) in tables.iter().zip(scanned.iter_mut()) {
        for key in &table.unique_keys {
            for name in &key.columns {
                let Ok(field) = table.schema.field_with_name(name) else { continue };
                let Some((_, s)) = scan.columns.iter_mut().find(|(n, _)| n == name) else { continue };
                let Action::Rule(rule) = &s.action else { continue };
                let Some(next) = distinct(rule, field, key) else { continue };
                let kind = if key.primary { "the primary key" } else { "the unique index" };
                s.why = if next.action == rule.action {
                    format!("{}; `unique = true`: {kind} `{}` needs distinct values", s.why, key.name)
                } else {
                    format!(
                        "{}; `{}` with distinct values instead: {kind} `{}` needs them",
                        s.why, next.action, key.name
                    )
                };
                s.action = Action::Rule(next);
                if let Some(fallback) = &s.fallback
                    && let Some(next) = distinct(fallback, field, key)
                {
                    s.fallback = Some(next);
                }
            }
        }
    }
}

/// Replaces `null` (suggested, or as the fallback) on a column whose domain is declared
/// NOT NULL by the safe rule of a NOT NULL column of its type, and says so.
pub(super) fn no_null_on_not_null_domains(scanned: &mut [ScannedTable], tables: &[SourceTable]) {
    for (table, scan) in tables.iter().zip(scanned.iter_mut()) {
        for check in table.checks.iter().filter(|c| c.not_null) {
            for name in &check.columns {
                let Ok(field) = table.schema.field_with_name(name) else { continue };
                let Some((_, s)) = scan.columns.iter_mut().find(|(n, _)| n == name) else { continue };
                let safe = super::suggest::safe_rule(&field.clone().with_nullable(false));
                if matches!(&s.action, Action::Rule(r) if r.action == "null") {
                    s.why = format!("{}; `{}`, not `null`: the domain {} is NOT NULL", s.why, safe.action, check.name);
                    s.action = Action::Rule(safe.clone());
                }
                if s.fallback.as_ref().is_some_and(|r| r.action == "null") {
                    s.fallback = Some(safe);
                }
            }
        }
    }
}

/// The rule to use instead of `rule` on a column of `key` so that distinct values stay
/// distinct; `None` when `rule` already does (or no such rule fits the type).
fn distinct(rule: &Rule, field: &Field, key: &UniqueKey) -> Option<Rule> {
    let option = |name: &str| rule.options.iter().find(|(k, _)| *k == name).map(|(_, v)| v);
    if option("unique").and_then(|v| v.as_bool()) == Some(true) {
        return None;
    }
    let text = matches!(field.data_type(), DataType::Utf8 | DataType::LargeUtf8);
    let with_unique = || Some(rule.clone().opt("unique", true));
    match rule.action {
        "hash" if !text || option("format").and_then(|v| v.as_str()) == Some("preserve") => None,
        "hash" | "fake" | "template" => with_unique(),
        "mask" if option("format_preserving").and_then(|v| v.as_bool()) == Some(true) => with_unique(),
        "null" if !key.nulls_not_distinct => None,
        _ if text => {
            let mut next = Rule::mask_fp();
            if let Some(domain) = option("domain").and_then(|v| v.as_str()) {
                next = next.domain(domain);
            }
            Some(next.opt("unique", true))
        }
        _ if matches!(
            field.data_type(),
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::FixedSizeBinary(16)
        ) =>
        {
            Some(Rule::new("hash"))
        }
        // Noise on a unique number or date: NULLs never collide.
        _ if field.is_nullable() && !key.nulls_not_distinct => Some(Rule::new("null")),
        // NOT NULL: a fake value of the type, re-generated until distinct.
        _ => {
            let generator = match field.data_type() {
                DataType::Date32 | DataType::Date64 => "date",
                DataType::Timestamp(..) => "datetime",
                DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => "decimal",
                _ => return None,
            };
            Some(Rule::fake(generator).opt("unique", true))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(nulls_not_distinct: bool) -> UniqueKey {
        UniqueKey {
            name: "k".into(),
            columns: vec!["c".into()],
            case_insensitive: Vec::new(),
            partial: false,
            expression: false,
            nulls_not_distinct,
            primary: false,
        }
    }

    #[test]
    fn rules_on_unique_columns_become_ones_that_keep_values_distinct() {
        let text = Field::new("c", DataType::Utf8, true);
        let int = Field::new("c", DataType::Int32, false);
        let render = |rule: Rule, field: &Field, nnd: bool| distinct(&rule, field, &key(nnd)).map(|r| r.render());
        let email = Rule::fake("email").domain("email");
        assert_eq!(
            render(email, &text, false).as_deref(),
            Some(r#"{ action = "fake", generator = "email", domain = "email", unique = true }"#)
        );
        assert_eq!(render(Rule::fake("email").opt("unique", true), &text, false), None);
        // A NOT NULL date, timestamp or number under noise: a fake of its type, distinct.
        let noise = || Rule::new("noise").opt("duration", "365d");
        for (dt, generator) in [
            (DataType::Date32, "date"),
            (DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, None), "datetime"),
            (DataType::Float64, "decimal"),
        ] {
            let field = Field::new("c", dt, false);
            let expected = format!(r#"{{ action = "fake", generator = "{generator}", unique = true }}"#);
            assert_eq!(render(noise(), &field, false), Some(expected));
        }
        assert_eq!(
            render(noise(), &Field::new("c", DataType::Date32, true), false).as_deref(),
            Some(r#"{ action = "null" }"#)
        );
        assert_eq!(render(Rule::new("hash"), &int, false), None);
        assert_eq!(
            render(Rule::new("hash").opt("length", 8), &text, false).as_deref(),
            Some(r#"{ action = "hash", length = 8, unique = true }"#)
        );
        assert_eq!(render(Rule::new("null"), &text, false), None);
        assert_eq!(
            render(Rule::new("null"), &text, true).as_deref(),
            Some(r#"{ action = "mask", format_preserving = true, unique = true }"#)
        );
        assert_eq!(
            render(Rule::new("noise").opt("absolute", 2), &int, false).as_deref(),
            Some(r#"{ action = "hash" }"#)
        );
        let float = Field::new("c", DataType::Float64, false);
        assert_eq!(
            render(Rule::new("noise").opt("relative", 0.1), &float, false).as_deref(),
            Some(r#"{ action = "fake", generator = "decimal", unique = true }"#)
        );
        let nullable = Field::new("c", DataType::Float64, true);
        assert_eq!(
            render(Rule::new("noise").opt("relative", 0.1), &nullable, false).as_deref(),
            Some(r#"{ action = "null" }"#)
        );
    }
}
