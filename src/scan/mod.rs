//! `doppel scan`: suggest a complete rules file for a source nobody has written rules for.
//!
//! ```text
//! Source ──tables()──▶ names, types, keys ─┐
//!        ──read() ≤ N rows per table──▶ evidence (counts only) ─┤
//!                                             suggest ──▶ rules text ──bind (self-check)──▶ print
//! ```
//!
//! Every table and every column gets a rule, so the output passes `doppel check` as
//! printed. Each line carries a comment saying why; `# review` marks columns scan could not
//! judge, which get a safe transforming rule, never `keep` (see [`suggest`] for the order
//! of judgement, [`dictionary`] for the names it knows, [`evidence`] for the value
//! detectors).
//!
//! Sampling reads at most `--sample-rows` rows per table, in the source's stable order,
//! then drops the stream (a PostgreSQL reader cancels its COPY).
//!
//! Keys: a column referencing a key that gets a transforming rule (a national id used as
//! primary key, say) gets the same `hash` in the same `domain` as that key, so joins still
//! work. Foreign keys come from the source (PostgreSQL); when the source declares none
//! (Parquet), `<table>_id` / `<table>Id` columns are taken to reference table `<table>`
//! (singular or plural) and its primary key or `id` column, and the comment says so.
//!
//! Unique keys (PostgreSQL): a transformed column of a primary key, unique constraint or
//! unique index gets a rule that keeps distinct values distinct, usually `unique = true`
//! A column whose domain is declared NOT NULL
//! never gets `null` (module `constraints`).
//!
//! The output is bound with [`crate::plan::bind`] before it is printed. A suggestion that
//! does not bind (a generated value longer than a `varchar(n)` allows, say) is replaced by
//! its fallback (a format-preserving mask, which keeps the length), then by the type's
//! safe rule ([`suggest::safe_rule`]); the comment says so.
//!
//! Nothing printed comes from a value: comments hold counts, column names and detector
//! names only.

mod constraints;
pub mod dictionary;
pub mod evidence;
mod gaps;
mod render;
pub mod suggest;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::plan;
use crate::plan::fit::declared_chars;
use crate::progress::Total;
use crate::rules::parse_rules;
use crate::schema::PG_TYPE;
use crate::schema::SourceTable;
use crate::source::Source;

pub use gaps::{bind, suggestions};

use dictionary::Tokens;
use evidence::{Evidence, JsonEvidence};
use suggest::{Action, Column, KeyRole, Rule, Suggestion, TableContext, Tally};

/// Default rows sampled per table.
pub const DEFAULT_SAMPLE_ROWS: usize = 1000;

/// One table's scan result.
#[derive(Debug)]
pub struct ScannedTable {
    pub name: String,
    pub sampled: usize,
    pub context: TableContext,
    /// In schema order: column name and suggestion.
    pub columns: Vec<(String, Suggestion)>,
    /// The columns suggested as the table's `quasi_identifiers` (see
    /// [`suggest::quasi_identifiers`]), in schema order.
    pub quasi_identifiers: Vec<String>,
}

/// The result of a scan: the rules text and counts.
#[derive(Debug)]
pub struct Scan {
    pub tables: Vec<ScannedTable>,
    pub text: String,
    pub tally: Tally,
}

/// Scans `source` (named `location` in the header, which must hold no password) reading
/// at most `sample_rows` rows per table.
pub fn scan(source: &dyn Source, location: &str, sample_rows: usize) -> Result<Scan> {
    let tables = source.tables();
    let infer_fks = tables.iter().all(|t| t.foreign_keys.is_empty());
    let mut scanned = Vec::with_capacity(tables.len());
    let mut all_columns: Vec<Vec<Column>> = Vec::with_capacity(tables.len());
    for table in tables {
        let (columns, sampled) = sample_table(source, table, tables, infer_fks, sample_rows)?;
        let context = suggest::context(&table.name, &columns, table.primary_key.as_deref(), sampled);
        let suggestions = columns.iter().map(|c| (c.field.name().clone(), suggest::suggest(c, &context))).collect();
        scanned.push(ScannedTable {
            name: table.name.clone(),
            sampled,
            context,
            columns: suggestions,
            quasi_identifiers: Vec::new(),
        });
        all_columns.push(columns);
    }
    share_key_domains(&mut scanned, &all_columns);
    constraints::no_null_on_not_null_domains(&mut scanned, tables);
    constraints::keep_keys_unique(&mut scanned, tables);
    for (t, columns) in scanned.iter_mut().zip(&all_columns) {
        t.quasi_identifiers = suggest::quasi_identifiers(columns, &t.context, &t.columns);
    }
    let text = self_check(&mut scanned, tables, location, sample_rows)?;
    let mut tally = Tally::default();
    for t in &scanned {
        for (_, s) in &t.columns {
            tally.add(s);
        }
    }
    Ok(Scan { tables: scanned, text, tally })
}

/// Reads up to `sample_rows` rows of `table` and gathers what they say per column.
fn sample_table(
    source: &dyn Source,
    table: &SourceTable,
    tables: &[SourceTable],
    infer_fks: bool,
    sample_rows: usize,
) -> Result<(Vec<Column>, usize)> {
    let fields = table.schema.fields();
    let mut evidence: Vec<Evidence> = fields.iter().map(|f| Evidence::for_type(f.data_type())).collect();
    let pg_types: Vec<Option<String>> = fields.iter().map(|f| f.metadata().get(PG_TYPE).cloned()).collect();
    let mut json: Vec<Option<JsonEvidence>> = fields
        .iter()
        .zip(&pg_types)
        .map(|(f, t)| {
            let is_json = matches!(t.as_deref(), Some("json" | "jsonb"));
            (is_json || matches!(f.data_type(), arrow_schema::DataType::Utf8 | arrow_schema::DataType::LargeUtf8))
                .then(JsonEvidence::default)
        })
        .collect();
    let mut sampled = 0usize;
    if sample_rows > 0 {
        let mut stream = source.read(&table.name, sample_rows.min(8192))?;
        let cap = sample_rows as u64;
        let expected = source.expected_rows(&table.name).map(|total| match total {
            Total::Exact(n) => Total::Exact(n.min(cap)),
            Total::About(n) => Total::About(n.min(cap)),
        });
        let progress = crate::progress::track(format!("{} (sample)", table.name), expected);
        while sampled < sample_rows {
            let Some(batch) = stream.next() else { break };
            let batch = batch?;
            let take = batch.num_rows().min(sample_rows - sampled);
            let batch = batch.slice(0, take);
            for (i, column) in batch.columns().iter().enumerate() {
                evidence[i].add_array(column);
                if let Some(j) = &mut json[i] {
                    j.add_array(column);
                }
            }
            sampled += take;
            progress.add(take as u64);
        }
        progress.finish();
        // Dropping the stream stops the reader (a PostgreSQL COPY is cancelled).
        drop(stream);
    }
    let mut columns = Vec::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        let tokens = Tokens::of(field.name());
        let ev = std::mem::replace(&mut evidence[i], Evidence::Other { non_null: 0 });
        // JSON analysis applies to json/jsonb columns, and to text columns whose values
        // are mostly JSON objects or arrays.
        let is_json_type = matches!(pg_types[i].as_deref(), Some("json" | "jsonb"));
        let mostly_json = match &ev {
            Evidence::Text(t) => t.values() > 0 && t.json * 10 >= t.values() * 9,
            _ => false,
        };
        let j = json[i].take().filter(|_| is_json_type || mostly_json).filter(|j| is_json_type || j.invalid == 0);
        columns.push(Column {
            field: field.as_ref().clone(),
            concepts: tokens.concepts(),
            tokens,
            evidence: ev,
            json: j,
            key: key_role(table, field.name(), tables, infer_fks),
            limit: pg_types[i].as_deref().and_then(declared_chars),
            pg_type: pg_types[i].clone(),
        });
    }
    Ok((columns, sampled))
}

/// The column's place in the keys: declared, or inferred from names when the source
/// declares no foreign keys at all.
fn key_role(table: &SourceTable, column: &str, tables: &[SourceTable], infer_fks: bool) -> Option<KeyRole> {
    for fk in &table.foreign_keys {
        if let Some(pos) = fk.columns.iter().position(|c| c == column) {
            return Some(KeyRole::ForeignKey {
                table: fk.references_table.clone(),
                column: fk.references_columns[pos].clone(),
                declared: true,
            });
        }
    }
    if table.primary_key.as_ref().is_some_and(|k| k.iter().any(|c| c == column)) {
        return Some(KeyRole::PrimaryKey);
    }
    if !infer_fks {
        return None;
    }
    let tokens = Tokens::of(column).tokens;
    let (last, stem) = tokens.split_last()?;
    if last != "id" || stem.is_empty() {
        if tokens.len() == 1 && last == "id" {
            return Some(KeyRole::PrimaryKey);
        }
        return None;
    }
    let stem = stem.join("_");
    let schema = table.name.split_once('.').map(|(s, _)| s);
    let candidates =
        [stem.clone(), format!("{stem}s"), format!("{stem}es"), stem.trim_end_matches('y').to_string() + "ies"];
    let target = tables.iter().find(|t| {
        let (t_schema, t_name) = t.name.split_once('.').map_or((None, t.name.as_str()), |(s, n)| (Some(s), n));
        t_schema == schema && candidates.iter().any(|c| c.eq_ignore_ascii_case(t_name)) && t.name != table.name
    })?;
    let referenced = match &target.primary_key {
        Some(k) if k.len() == 1 => k[0].clone(),
        Some(_) => return None,
        None => ["id", column].iter().find(|c| target.schema.index_of(c).is_ok())?.to_string(),
    };
    Some(KeyRole::ForeignKey { table: target.name.clone(), column: referenced, declared: false })
}

/// A column referencing a key (or referenced by one) that gets a transforming rule: both
/// get one `hash` in the referenced column's domain, so joins still work.
fn share_key_domains(scanned: &mut [ScannedTable], columns: &[Vec<Column>]) {
    // (table index, column index) → referenced (table index, column index).
    let index_of = |t: &str| scanned.iter().position(|s| s.name == t);
    let mut links: Vec<((usize, usize), (usize, usize))> = Vec::new();
    for (ti, cols) in columns.iter().enumerate() {
        for (ci, c) in cols.iter().enumerate() {
            let Some(KeyRole::ForeignKey { table, column, .. }) = &c.key else { continue };
            let Some(rt) = index_of(table) else { continue };
            let Some(rc) = columns[rt].iter().position(|x| x.field.name() == column) else { continue };
            links.push(((ti, ci), (rt, rc)));
        }
    }
    // Repeat until stable: a hashed key makes its references hashed, and back.
    // A column linked to two keys of different domains would flip between them: stop
    // after as many rounds as there are links (the binder then reports nothing worse than
    // a join that does not hold, which the comment names).
    let mut changed = true;
    let mut rounds = 0;
    while changed && rounds <= links.len() {
        changed = false;
        rounds += 1;
        for &((ti, ci), (rt, rc)) in &links {
            let domain = format!("{}.{}", scanned[rt].name, scanned[rt].columns[rc].0);
            let transformed = !scanned[ti].columns[ci].1.is_keep() || !scanned[rt].columns[rc].1.is_keep();
            if !transformed {
                continue;
            }
            for (t, c, other) in [(rt, rc, (ti, ci)), (ti, ci, (rt, rc))] {
                let col = &columns[t][c];
                let rule = key_hash(col, &domain);
                let s = &mut scanned[t].columns[c].1;
                if s.action != Action::Rule(rule.clone()) {
                    let other_name = format!("{}.{}", scanned[other.0].name, scanned[other.0].columns[other.1].0);
                    let s = &mut scanned[t].columns[c].1;
                    s.why = format!(
                        "{}; hashed in domain `{domain}` like {other_name}, so the join between them still works",
                        s.why
                    );
                    s.action = Action::Rule(rule);
                    s.fallback = None;
                    changed = true;
                }
            }
        }
    }
}

/// The hash rule for a key column in `domain`: a keyed permutation for integers and
/// uuids, hex text otherwise (unique, as short as the column needs).
fn key_hash(col: &Column, domain: &str) -> Rule {
    let rule = Rule::new("hash");
    match col.field.data_type() {
        arrow_schema::DataType::Utf8 | arrow_schema::DataType::LargeUtf8 => {
            let length = col.limit.unwrap_or(32).clamp(1, 32) as i64;
            rule.opt("format", "hex").opt("length", length).opt("domain", domain).opt("unique", true)
        }
        _ => rule.opt("domain", domain),
    }
}

/// Renders the rules and binds them to the source; replaces suggestions that do not bind
/// by their fallback, then by the type's safe rule. Returns the final text.
fn self_check(
    scanned: &mut [ScannedTable],
    tables: &[SourceTable],
    location: &str,
    sample_rows: usize,
) -> Result<String> {
    let file = PathBuf::from("<doppel scan>");
    for round in 0..3 {
        let text = render::render(scanned, location, sample_rows);
        let rules = parse_rules(&[(file.clone(), text.clone())])?;
        let problems = match plan::bind(&rules, tables) {
            Ok(_) => return Ok(text),
            Err(Error::Rules(p)) => p.0,
            Err(e) => return Err(e),
        };
        let mut unplaced = Vec::new();
        let mut failing: BTreeMap<(String, String), String> = BTreeMap::new();
        for p in problems {
            match (&p.table, &p.column) {
                (Some(t), Some(c)) => {
                    failing.insert((t.clone(), c.clone()), p.message.clone());
                }
                _ => unplaced.push(p),
            }
        }
        if !unplaced.is_empty() || round == 2 {
            let mut all = unplaced;
            all.extend(failing.into_iter().map(|((t, c), m)| crate::error::Problem::new(m).table(&t).column(&c)));
            return Err(Error::Rules(crate::error::Problems(
                std::iter::once(crate::error::Problem::new(
                    "doppel scan made rules that do not bind to the source; this is a bug in doppel, please report it with these problems",
                ))
                .chain(all)
                .collect(),
            )));
        }
        for ((t, c), message) in failing {
            let Some(table) = scanned.iter_mut().find(|s| s.name == t) else { continue };
            let Some(field) =
                tables.iter().find(|s| s.name == t).and_then(|s| s.schema.field_with_name(&c).ok().cloned())
            else {
                continue;
            };
            let Some((_, s)) = table.columns.iter_mut().find(|(n, _)| *n == c) else { continue };
            let before = match &s.action {
                Action::Rule(r) => r.action,
                Action::Keep => "keep",
            };
            let next = s.fallback.take().unwrap_or_else(|| suggest::safe_rule(&field));
            let reason = first_clause(&message);
            s.why = format!("{}; `{before}` does not fit here ({reason}), so `{}`", s.why, next.action);
            s.action = Action::Rule(next);
        }
    }
    unreachable!("the loop returns on its last round")
}

/// The first clause of a plan message (before `;`), which names types and lengths, never
/// values.
fn first_clause(message: &str) -> &str {
    message.split(';').next().unwrap_or(message).trim()
}
