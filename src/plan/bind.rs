//! Binding one table's rules to its schema: coverage, then each rule against its column type.

use std::sync::Arc;

use arrow_array::StringArray;
use arrow_schema::{DataType, Field};

use crate::error::Problem;
use crate::rules::{ColumnRule, HashFormat, TableAction, TableRules};
use crate::schema::generated_reads;
use crate::strategy::fake;
use crate::strategy::mask::MaskSpec;
use crate::strategy::types::{int_bits, is_text, is_uuid_binary};

use super::template::Template;
use super::{ColumnPlan, JsonPathRule, JsonStep, Origin, SourceTable, Strategy, TablePlan, changes, fit};

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
        let ctx = RuleContext { field, default_domain: &default_domain, table };
        let checked = bind_rule(&ctx, rule).and_then(|bound| {
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
    Some(TablePlan {
        name: table.name.clone(),
        schema: table.schema.clone(),
        action: TableAction::Copy,
        columns,
        eval_order,
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

struct RuleContext<'a> {
    field: &'a Field,
    default_domain: &'a str,
    table: &'a SourceTable,
}

struct Bound {
    strategy: Strategy,
    domain: String,
    unique: bool,
}

fn bind_rule(ctx: &RuleContext, rule: &ColumnRule) -> Result<Bound, Vec<String>> {
    let dt = ctx.field.data_type();
    let domain_of = |d: &Option<String>| d.clone().unwrap_or_else(|| ctx.default_domain.to_string());
    let plain = |strategy| Ok(Bound { strategy, domain: ctx.default_domain.to_string(), unique: false });
    let text_only = |action: &str| -> Result<(), Vec<String>> {
        if is_text(dt) {
            Ok(())
        } else {
            Err(vec![format!("`{action}` works on text columns, and this column is {dt}")])
        }
    };
    match rule {
        ColumnRule::Keep => plain(Strategy::Keep),
        ColumnRule::Null => {
            if !ctx.field.is_nullable() {
                return Err(vec!["`null` on a column declared NOT NULL would break it; choose another action".into()]);
            }
            plain(Strategy::Null)
        }
        ColumnRule::Constant { value } => {
            plain(Strategy::Constant(crate::strategy::constant::bind(value, ctx.field).map_err(|e| vec![e])?))
        }
        ColumnRule::Mask { keep_first, keep_last, mask_char, format_preserving, domain, unique } => {
            text_only("mask")?;
            if *unique && !format_preserving {
                return Err(vec![
                    "`unique` needs `format_preserving = true`: plain masking cannot keep values distinct".into(),
                ]);
            }
            let spec = MaskSpec {
                keep_first: *keep_first,
                keep_last: *keep_last,
                mask_char: *mask_char,
                format_preserving: *format_preserving,
            };
            Ok(Bound { strategy: Strategy::Mask(spec), domain: domain_of(domain), unique: *unique })
        }
        ColumnRule::Hash { format, length, domain, unique } => {
            let written = format.is_some();
            let format = format.unwrap_or(if is_text(dt) { HashFormat::Hex } else { HashFormat::Preserve });
            let strategy = match format {
                HashFormat::Hex => {
                    text_only("hash with format = \"hex\"")?;
                    let length = length.unwrap_or(32);
                    if !(1..=64).contains(&length) {
                        return Err(vec![format!("`length` must be between 1 and 64 hex characters, not {length}")]);
                    }
                    Strategy::HashHex { length }
                }
                HashFormat::Preserve => {
                    if length.is_some() {
                        return Err(vec!["`length` applies only to format = \"hex\"".into()]);
                    }
                    if let Some(bits) = int_bits(dt) {
                        Strategy::HashInt { bits }
                    } else if is_uuid_binary(dt) || is_text(dt) {
                        Strategy::HashUuid
                    } else if written {
                        return Err(vec![format!(
                            "format = \"preserve\" works on Int8/16/32/64, uuid (FixedSizeBinary(16)) and uuid text columns, and this column is {dt}"
                        )]);
                    } else {
                        return Err(vec![format!(
                            "`hash` works on text, integer and uuid columns, and this column is {dt}; use `null` or \
                             `constant` for it"
                        )]);
                    }
                }
            };
            Ok(Bound { strategy, domain: domain_of(domain), unique: *unique })
        }
        ColumnRule::Fake { generator, locale, min, max, count, email_domain, scale, domain, unique } => {
            let spec = fake::bind::bind(dt, generator, locale, min, max, count, email_domain, scale)?;
            Ok(Bound { strategy: Strategy::Fake(spec), domain: domain_of(domain), unique: *unique })
        }
        ColumnRule::Noise { absolute, relative, duration, domain } => {
            let strategy =
                crate::strategy::noise::bind(dt, *absolute, *relative, duration.as_deref()).map_err(|e| vec![e])?;
            Ok(Bound { strategy, domain: domain_of(domain), unique: false })
        }
        ColumnRule::Template { template, unique, domain } => {
            text_only("template")?;
            let names: Vec<String> = ctx.table.schema.fields().iter().map(|f| f.name().clone()).collect();
            let t = Template::parse(template, &names, ctx.field.name()).map_err(|e| vec![e])?;
            Ok(Bound { strategy: Strategy::Template(t), domain: domain_of(domain), unique: *unique })
        }
        ColumnRule::Redact { detect, patterns, replacement } => {
            text_only("redact")?;
            plain(Strategy::Redact(Arc::new(
                crate::strategy::redact::bind(detect, patterns, replacement).map_err(|e| vec![e])?,
            )))
        }
        ColumnRule::Json { paths, domain } => {
            text_only("json")?;
            let base = domain_of(domain);
            let mut bound = Vec::new();
            let mut errors = Vec::new();
            for (path, rule) in paths {
                match bind_json_path(path, rule, &base) {
                    Ok(p) => bound.push(p),
                    Err(e) => errors.push(format!("path `{path}`: {e}")),
                }
            }
            if paths.is_empty() {
                errors.push("`paths` is empty; list at least one JSON path, or use keep".into());
            }
            if !errors.is_empty() {
                return Err(errors);
            }
            Ok(Bound { strategy: Strategy::Json(bound), domain: base, unique: false })
        }
    }
}

/// Parses `a.b[*].c` into steps.
fn parse_json_path(path: &str) -> Result<Vec<JsonStep>, String> {
    let mut steps = Vec::new();
    for (n, part) in path.split('.').enumerate() {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if key.is_empty() && (n != 0 || rest.is_empty()) {
            return Err("empty key; write paths as `key.sub_key` or `items[*].email`".into());
        }
        if !key.is_empty() {
            steps.push(JsonStep::Key(key.to_string()));
        }
        while let Some(r) = rest.strip_prefix("[*]") {
            steps.push(JsonStep::EveryElement);
            rest = r;
        }
        if !rest.is_empty() {
            return Err("only `[*]` may follow a key; write paths as `key.sub_key` or `items[*].email`".into());
        }
    }
    Ok(steps)
}

fn bind_json_path(path: &str, rule: &ColumnRule, base_domain: &str) -> Result<JsonPathRule, String> {
    let steps = parse_json_path(path)?;
    let default_domain = format!("{base_domain}.{path}");
    let domain_of = |d: &Option<String>| d.clone().unwrap_or_else(|| default_domain.clone());
    // JSON scalars are bound as text (strings) or Float64 (numbers); the runtime checks the
    // JSON type of each value and reports a row error on a mismatch.
    let text = Field::new("json", DataType::Utf8, true);
    let (strategy, domain) = match rule {
        ColumnRule::Keep => return Err("`keep` is the default for unlisted paths; remove this entry".into()),
        ColumnRule::Json { .. } => return Err("`json` cannot nest; list deeper paths instead".into()),
        ColumnRule::Template { .. } => return Err("`template` is not available inside JSON".into()),
        ColumnRule::Constant { value } => {
            let json = serde_json::to_value(value).map_err(|e| format!("constant cannot be written as JSON: {e}"))?;
            let s = serde_json::to_string(&json).map_err(|e| e.to_string())?;
            (Strategy::Constant(Arc::new(StringArray::from(vec![s]))), default_domain.clone())
        }
        ColumnRule::Noise { absolute, relative, duration, domain } => (
            crate::strategy::noise::bind(&DataType::Float64, *absolute, *relative, duration.as_deref())?,
            domain_of(domain),
        ),
        ColumnRule::Fake { generator, locale, min, max, count, email_domain, scale, domain, .. } => {
            let spec = fake::bind::bind(&DataType::Utf8, generator, locale, min, max, count, email_domain, scale)
                .map_err(|e| e.join("; "))?;
            (Strategy::Fake(spec), domain_of(domain))
        }
        other => {
            let table = SourceTable::new(String::new(), Arc::new(arrow_schema::Schema::new(vec![text.clone()])));
            let ctx = RuleContext { field: &text, default_domain: &default_domain, table: &table };
            let bound = bind_rule(&ctx, other).map_err(|e| e.join("; "))?;
            if bound.unique {
                return Err("`unique` is not available inside JSON".into());
            }
            (bound.strategy, bound.domain)
        }
    };
    Ok(JsonPathRule { path: path.to_string(), steps, strategy, domain })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use arrow_schema::Schema;

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
}
