//! Binding one table's rules to its schema: coverage, then each rule against its column type
//! (whether it can write valid values of the PostgreSQL type, then each strategy binds its
//! own options: [`crate::strategy::pg_types::bind`], [`crate::strategy::RuleOptions::bind`]), whether it
//! can change a value, whether its values fit, and the templates' evaluation order and
//! longest values.

use crate::error::Problem;
use crate::rules::{TableAction, TableRules};
use crate::schema::generated_reads;
use crate::strategy::BindContext;

use super::{ColumnPlan, Origin, SourceTable, Strategy, TablePlan, changes, fit};

pub(super) fn bind_table(table: &SourceTable, rules: &TableRules, problems: &mut Vec<Problem>) -> Option<TablePlan> {
    let before = problems.len();
    let origin = Origin { file: rules.file.clone(), line: rules.line };
    let fields = table.schema.fields();
    let valid_columns = || fields.iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ");
    if rules.action == TableAction::Skip {
        return Some(TablePlan {
            name: table.name.clone(),
            schema: table.schema.clone(),
            action: TableAction::Skip,
            columns: Vec::new(),
            eval_order: Vec::new(),
            quasi_identifiers: Vec::new(),
            origin,
        });
    }
    let problem = |line: usize, column: &str, msg: String| {
        Problem::new(msg).at(&rules.file, Some(line)).table(&table.name).column(column)
    };
    for entry in &rules.columns {
        if table.schema.index_of(&entry.name).is_err() {
            problems.push(problem(
                entry.line,
                &entry.name,
                format!("the source table has no such column; its columns are: {}", valid_columns()),
            ));
        }
    }
    let mut quasi_identifiers = Vec::with_capacity(rules.quasi_identifiers.len());
    for q in &rules.quasi_identifiers {
        match table.schema.index_of(&q.item) {
            Ok(index) => quasi_identifiers.push(index),
            Err(_) => problems.push(problem(
                q.line,
                &q.item,
                format!(
                    "`quasi_identifiers` names a column the source table does not have; its columns are: {}",
                    valid_columns()
                ),
            )),
        }
    }
    let mut columns = Vec::with_capacity(fields.len());
    for (index, field) in fields.iter().enumerate() {
        let Some(entry) = rules.columns.iter().find(|c| c.name == *field.name()) else {
            problems.push(
                Problem::new(format!(
                    "column has no rule (type {}); add it to `keep` or give it a rule under [tables.\"{}\".columns]",
                    field.data_type(),
                    table.name
                ))
                .at(&rules.file, Some(rules.line))
                .table(&table.name)
                .column(field.name()),
            );
            continue;
        };
        let Some(rule) = &entry.rule else { continue }; // undecodable: already reported
        let default_domain = format!("{}.{}", table.name, field.name());
        let ctx = BindContext { field, schema: &table.schema, default_domain: &default_domain };
        let checked = crate::strategy::pg_types::bind(rule, &ctx).and_then(|bound| {
            changes::check(field, &bound.strategy).map_err(|m| vec![m])?;
            let limit = fit::check(field, &bound.strategy).map_err(|m| vec![m])?;
            Ok((bound, limit))
        });
        match checked {
            Ok((bound, length_limit)) => columns.push(ColumnPlan {
                name: field.name().clone(),
                index,
                data_type: field.data_type().clone(),
                nullable: field.is_nullable(),
                strategy: bound.strategy,
                domain: bound.domain,
                unique: bound.unique,
                fold_case: false,
                checks: Vec::new(),
                length_limit,
                origin: Origin { file: rules.file.clone(), line: entry.line },
            }),
            Err(messages) => {
                for m in messages {
                    problems.push(problem(entry.line, field.name(), m));
                }
            }
        }
    }
    if problems.len() > before || columns.len() != fields.len() {
        return None;
    }
    for (column, message) in kept_generated_problems(&columns, fields) {
        let c = &columns[column];
        problems.push(problem(c.origin.line, &c.name, message));
    }
    super::constraints::check(table, &mut columns, problems);
    if problems.len() > before {
        return None;
    }
    let eval_order = match evaluation_order(&columns) {
        Ok(order) => order,
        Err(column) => {
            let c = &columns[column];
            problems.push(problem(c.origin.line, &c.name, "templates refer to each other in a cycle".into()));
            return None;
        }
    };
    // A template's longest value needs the rules of the columns it reads.
    let bound: Vec<_> = columns.iter().map(|c| (fields[c.index].as_ref(), &c.strategy, c.unique)).collect();
    for (column, message) in fit::templates(&bound) {
        let c = &columns[column];
        problems.push(problem(c.origin.line, &c.name, message));
    }
    if problems.len() > before {
        return None;
    }
    Some(TablePlan {
        name: table.name.clone(),
        schema: table.schema.clone(),
        action: TableAction::Copy,
        columns,
        eval_order,
        quasi_identifiers,
        origin,
    })
}

/// A kept generated column whose expression reads a column the rules transform would carry
/// values derived from the real ones (into Parquet, where nothing computes it again): each
/// such column's index with the problem. A generated column whose list of read columns is
/// unknown is taken to read them all.
fn kept_generated_problems(columns: &[ColumnPlan], fields: &arrow_schema::Fields) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        if !matches!(c.strategy, Strategy::Keep) {
            continue;
        }
        let Some(reads) = generated_reads(&fields[c.index]) else { continue };
        let transformed: Vec<&str> = columns
            .iter()
            .filter(|r| r.index != c.index && !matches!(r.strategy, Strategy::Keep))
            .filter(|r| reads.as_ref().is_none_or(|names| names.contains(&r.name)))
            .map(|r| r.name.as_str())
            .collect();
        if transformed.is_empty() {
            continue;
        }
        out.push((
            i,
            format!(
                "a generated column computed from {}, which the rules transform: kept, it would copy values derived \
                 from the real ones (Parquet has nothing to compute it again). Give it `null` or a rule of its own: a \
                 PostgreSQL target or SQL dump computes it again from the transformed columns, Parquet gets the \
                 rule's values",
                transformed.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    out
}

/// Non-template columns first in schema order, then templates after what they read.
/// Returns the index of a column in a cycle on failure.
fn evaluation_order(columns: &[ColumnPlan]) -> Result<Vec<usize>, usize> {
    let mut order: Vec<usize> = Vec::with_capacity(columns.len());
    let mut done = vec![false; columns.len()];
    for (i, c) in columns.iter().enumerate() {
        if !matches!(c.strategy, Strategy::Template(_)) {
            order.push(i);
            done[i] = true;
        }
    }
    while order.len() < columns.len() {
        let mut progressed = false;
        for (i, c) in columns.iter().enumerate() {
            if done[i] {
                continue;
            }
            let Strategy::Template(t) = &c.strategy else { continue };
            if t.references().iter().all(|&r| done[r]) {
                order.push(i);
                done[i] = true;
                progressed = true;
            }
        }
        if !progressed {
            return Err(done.iter().position(|d| !d).unwrap_or(0));
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::Arc;

    use arrow_schema::{DataType, Field, Schema};

    use super::*;
    use crate::error::Error;
    use crate::plan::bind;
    use crate::rules::parse_rules;
    use crate::schema::{PG_GENERATED, PG_GENERATED_READS};

    /// `public.t (id, name, note, g)`, `g` generated with `reads` (`None`: no list recorded).
    fn problems(reads: Option<&str>, rules: &str) -> Vec<String> {
        let mut metadata = HashMap::from([(PG_GENERATED.to_string(), "stored".to_string())]);
        if let Some(r) = reads {
            metadata.insert(PG_GENERATED_READS.to_string(), r.to_string());
        }
        let fields = ["id", "name", "note"].map(|c| Field::new(c, DataType::Utf8, true)).into_iter();
        let fields: Vec<Field> =
            fields.chain([Field::new("g", DataType::Utf8, true).with_metadata(metadata)]).collect();
        let table = SourceTable::new("public.t", Arc::new(Schema::new(fields)));
        let text = format!("version = 1\n[tables.\"public.t\"]\nkeep = [\"id\", \"g\"]\n{rules}");
        let set = parse_rules(&[(PathBuf::from("r.toml"), text)]).unwrap();
        match bind(&set, &[table]) {
            Ok(_) => Vec::new(),
            Err(Error::Rules(p)) => p.0.iter().map(|p| p.to_string()).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_kept_generated_column_may_read_only_kept_columns_and_unknown_reads_count_as_all() {
        let rules = "[tables.\"public.t\".columns]\nname = { action = \"null\" }\nnote = { action = \"keep\" }\n";
        let p = problems(Some(r#"["name", "id"]"#), rules);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("r.toml:3: public.t.g: a generated column computed from `name`,"), "{p:?}");
        assert!(problems(Some(r#"["note", "id"]"#), rules).is_empty());
        // No list (or an unreadable one): it may read anything, so any transformed column counts.
        assert_eq!(problems(None, rules).len(), 1);
        assert_eq!(problems(Some("not json"), rules).len(), 1);
        let all_kept = "[tables.\"public.t\".columns]\nname = { action = \"keep\" }\nnote = { action = \"keep\" }\n";
        assert!(problems(None, all_kept).is_empty());
    }

    #[test]
    fn quasi_identifiers_name_columns_of_a_copied_table_once() {
        let rules = "quasi_identifiers = [\"name\", \"zip\"]\n[tables.\"public.t\".columns]\nname = { action = \"keep\" }\n\
                     note = { action = \"keep\" }\n";
        let p = problems(Some("[]"), rules);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("r.toml:4: public.t.zip: `quasi_identifiers` names a column"), "{p:?}");
        assert!(p[0].contains("id, name, note, g"), "{p:?}");

        let parse = |text: &str| match parse_rules(&[(PathBuf::from("r.toml"), format!("version = 1\n{text}"))]) {
            Err(Error::Rules(p)) => p.0.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            Ok(_) => Vec::new(),
            Err(e) => panic!("{e}"),
        };
        let p = parse("[tables.\"public.t\"]\naction = \"skip\"\nquasi_identifiers = [\"name\"]\n");
        assert!(p.len() == 1 && p[0].contains("a skipped table has no output"), "{p:?}");
        let p = parse("[tables.\"public.t\"]\nkeep = [\"name\"]\nquasi_identifiers = [\"name\",\n \"name\"]\n");
        assert!(p.len() == 1 && p[0].starts_with("r.toml:5: public.t.name: named twice"), "{p:?}");
    }
}
