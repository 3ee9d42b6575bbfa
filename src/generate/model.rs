//! The plan of a generation: how many rows each table gets, and how each column's value is
//! computed from the row index, with every key and reference decided before a row is made.
//!
//! - **Row counts**: `round(rows · scale)`, or `--rows schema.table=N`.
//! - **Keys** (the primary key, then each unique constraint not already implied by it): a
//!   key's row index `j` is split in mixed radix over its columns ("components"). A column
//!   that is also a foreign key is a bounded component (radix: the parent's row count; the
//!   digit picks a parent through a keyed permutation); any other column is a counter (the
//!   last digit, unbounded): integers `1, 2, …`, text in base 36 (`0`–`9`, `A`–`Z`) padded to
//!   the column's width (a personal text column with a `fake` rule: the generator's value with
//!   the counter added, `maude.schaden.0k3@example.com`), uuids with the counter in their last bytes, dates and timestamps
//!   counted from 2000-01-01. Digits after the first are shifted by a keyed hash of the first,
//!   so composite keys do not line up. Distinct `j` give distinct keys by construction.
//! - **Foreign keys** outside keys: row `i` falls in a band of the first column's
//!   statistics ([`Bands`]): NULL, one of the "heavy" parents (one per most common value of
//!   the source, with its frequency), or one of the other referenced parents, evenly. The
//!   number of parents referenced is the column's distinct count (scaled when `n_distinct` <
//!   0, at most the parent's rows). Parent slot `s` is parent row `perm(s)`, whose key
//!   columns are computed from that index alone: no parent row is generated or looked up.
//! - **Fit**: a key whose counter cannot hold the table's rows in its type (`smallint` holds
//!   32767, `varchar(5)` in base 36 holds 36^5), a composite key with more rows than its
//!   components can combine, a NOT NULL reference to a table without rows: plan errors
//!   before anything is generated, every one named.
//! - **CHECK constraints**: kept columns take values from the source's own statistics (within
//!   its ranges and enumerations); on a column generated otherwise, a simple range or
//!   enumeration is respected ([`super::checks`]) and any other CHECK is logged as a warning
//!   naming it.

use std::collections::BTreeMap;

use arrow_schema::SchemaRef;

use crate::error::{Error, Problem, Result};
use crate::pg::types::ColumnKind;
use crate::plan::{Plan, Strategy, fit::declared_chars};
use crate::secret::{DomainKey, Key};
use crate::transform::fake::{self, FakeSpec, FakeValue, OutputKind};

use super::checks;
use super::profile::{ColumnProfile, Profile};
use super::values::{
    Band, Bands, Cell, ColumnValues, Perm, Rest, base36, bound_number, is_plain_text, synthetic_supported,
};

/// The most rows one generated table may have (`--rows`, or `--scale` times the source's rows).
pub const MAX_TABLE_ROWS: u64 = 1_000_000_000_000;

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Rows per source row (may be fractional).
    pub scale: f64,
    /// Row counts for some tables (`schema.table`), instead of the scale.
    pub rows: BTreeMap<String, u64>,
    /// Picks one of many datasets for one key.
    pub seed: u64,
}

/// Everything needed to compute any row of any table.
pub struct Dataset {
    pub tables: Vec<TableGen>,
    key: DomainKey,
}

pub struct TableGen {
    pub name: String,
    pub schema: SchemaRef,
    pub kinds: Vec<ColumnKind>,
    pub rows: u64,
    pub columns: Vec<ColumnGen>,
    keys: Vec<KeyLayout>,
    fks: Vec<FkGen>,
}

/// How one column's values are made.
pub enum ColumnGen {
    Null,
    Values(Box<ColumnValues>),
    /// Column of key `layout`: component `component`, at `position` within it (a foreign key
    /// component covers several columns).
    Key {
        layout: usize,
        component: usize,
        position: usize,
    },
    /// Column `position` of foreign key `fk`, outside any key.
    Foreign {
        fk: usize,
        position: usize,
    },
}

struct KeyLayout {
    components: Vec<Component>,
    purpose: Vec<u8>,
}

struct Component {
    /// `None` for the unbounded counter (always last).
    radix: Option<u64>,
    source: ComponentSource,
}

enum ComponentSource {
    Counter(Counter),
    Foreign(usize),
}

enum Counter {
    Int,
    Decimal,
    Text {
        width: usize,
    },
    /// A personal text column with a `fake` rule: the generator's value for the counter, made
    /// unique by the counter in base 36 (`maude.schaden.0k3@example.com`, `Kuhn LLC 0k3`).
    Fake {
        spec: Box<FakeSpec>,
        digits: usize,
        limit: Option<usize>,
    },
    Uuid,
    Date,
    Timestamp,
}

struct FkGen {
    parent: usize,
    /// The referenced columns' indexes in the parent.
    parent_columns: Vec<usize>,
    perm: Perm,
    /// For a reference outside a key: which parent slot a row takes.
    bands: Option<Bands>,
}

/// Distinct non-NULL values for `rows` rows, from PostgreSQL's `n_distinct`.
pub fn distinct_for(n_distinct: Option<f64>, rows: u64, null_frac: f64) -> u64 {
    let non_null = ((1.0 - null_frac.clamp(0.0, 1.0)) * rows as f64).round() as u64;
    let d = match n_distinct {
        Some(n) if n > 0.0 => n.round() as u64,
        Some(n) if n < 0.0 => (-n * rows as f64).round() as u64,
        _ => non_null,
    };
    d.clamp(1, non_null.max(1))
}

impl Dataset {
    /// Decides rows, keys and column generators; every problem found is reported at once.
    pub fn build(profile: &Profile, plan: &Plan, key: &Key, options: &Options) -> Result<Dataset> {
        let key = key.domain(&format!("doppel generate, seed {}", options.seed));
        let mut problems = Vec::new();
        for name in options.rows.keys() {
            if profile.table(name).is_none() {
                let names: Vec<&str> = profile.tables.iter().map(|t| t.name.as_str()).collect();
                problems.push(
                    Problem::new(format!("--rows names a table that is not generated; tables: {}", names.join(", ")))
                        .table(name),
                );
            }
        }
        let rows: Vec<u64> = profile
            .tables
            .iter()
            .map(|t| {
                options.rows.get(&t.name).copied().unwrap_or_else(|| (t.rows as f64 * options.scale).round() as u64)
            })
            .collect();
        for (t, n) in profile.tables.iter().zip(&rows) {
            if *n > MAX_TABLE_ROWS {
                problems.push(
                    Problem::new(format!(
                        "{n} rows asked for ({} source rows times --scale {}), more than the {MAX_TABLE_ROWS} a \
                         generated table may have; lower --scale or set --rows for this table",
                        t.rows, options.scale
                    ))
                    .table(&t.name),
                );
            }
        }
        // Keys and generators are sized by the row counts: stop before sizing anything by a
        // count out of range.
        if rows.iter().any(|n| *n > MAX_TABLE_ROWS) {
            return Err(Error::problems(problems));
        }
        let index: BTreeMap<&str, usize> =
            profile.tables.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();

        let mut tables = Vec::new();
        for (ti, t) in profile.tables.iter().enumerate() {
            let Some(tp) = plan.tables.iter().find(|p| p.name == t.name) else {
                problems.push(Problem::new("the rules do not cover this table of the profile").table(&t.name));
                continue;
            };
            let n = rows[ti];
            let col_index = |c: &str| t.columns.iter().position(|x| x.name == c);
            let purpose = |c: &str| format!("{}\0{c}", t.name).into_bytes();
            let perm_for = |p: &[u8], n: u64| Perm::new(n, key.round(p, 1, 0) as u64, key.round(p, 2, 0) as u64);

            // Foreign keys.
            let mut fks = Vec::new();
            for fk in &t.foreign_keys {
                let Some(&parent) = index.get(fk.references_table.as_str()) else {
                    problems.push(
                        Problem::new(format!(
                            "foreign key {} references {}, which is not in the profile (skipped?)",
                            fk.name, fk.references_table
                        ))
                        .table(&t.name),
                    );
                    fks.push(None);
                    continue;
                };
                let pt = &profile.tables[parent];
                let parent_columns: Option<Vec<usize>> =
                    fk.references_columns.iter().map(|c| pt.columns.iter().position(|x| &x.name == c)).collect();
                let Some(parent_columns) = parent_columns else {
                    problems.push(
                        Problem::new(format!("foreign key {}: referenced columns not found", fk.name)).table(&t.name),
                    );
                    fks.push(None);
                    continue;
                };
                let p = purpose(&format!("fk {}", fk.name));
                fks.push(Some(FkGen { parent, parent_columns, perm: perm_for(&p, rows[parent]), bands: None }));
            }

            // Keys: the primary key, then unique constraints it does not imply.
            let mut key_sets: Vec<(String, Vec<String>)> = Vec::new();
            if let Some(pk) = &t.primary_key {
                key_sets.push(("primary key".into(), pk.clone()));
            }
            for u in &t.unique {
                let implied = key_sets.iter().any(|(_, k)| k.iter().all(|c| u.columns.contains(c)));
                if !implied {
                    key_sets.push((format!("unique constraint {}", u.name), u.columns.clone()));
                }
            }
            let mut columns: Vec<Option<ColumnGen>> = (0..t.columns.len()).map(|_| None).collect();
            let mut keys = Vec::new();
            for (what, cols) in &key_sets {
                if cols.iter().any(|c| col_index(c).is_some_and(|i| columns[i].is_some())) {
                    tracing::warn!(table = %t.name, "{what} shares columns with an earlier key: its uniqueness is not guaranteed");
                    continue;
                }
                let layout = keys.len();
                let mut components: Vec<Component> = Vec::new();
                let mut assigned: Vec<(usize, usize, usize)> = Vec::new();
                // Foreign keys whose columns all lie in this key are bounded components.
                for (fi, fk) in t.foreign_keys.iter().enumerate() {
                    if !fk.columns.iter().all(|c| cols.contains(c)) || fks[fi].is_none() {
                        continue;
                    }
                    if fk.columns.iter().any(|c| assigned.iter().any(|(i, ..)| Some(*i) == col_index(c))) {
                        continue;
                    }
                    let parent_rows = rows[fks[fi].as_ref().map_or(0, |f| f.parent)];
                    let component = components.len();
                    components.push(Component { radix: Some(parent_rows), source: ComponentSource::Foreign(fi) });
                    for (pos, c) in fk.columns.iter().enumerate() {
                        if let Some(i) = col_index(c) {
                            assigned.push((i, component, pos));
                        }
                    }
                }
                let mut failed = false;
                let counters: Vec<&String> =
                    cols.iter().filter(|c| !assigned.iter().any(|(i, ..)| Some(*i) == col_index(c))).collect();
                for (k, c) in counters.iter().enumerate() {
                    let Some(ci) = col_index(c) else { continue };
                    let col = &t.columns[ci];
                    let strategy = tp.columns.iter().find(|x| x.name == col.name).map(|x| &x.strategy);
                    match counter_for(col, strategy, n) {
                        Ok(counter) => {
                            let last = k + 1 == counters.len();
                            let radix = if last { None } else { Some(counter_capacity(&counter, col).min(n.max(1))) };
                            let component = components.len();
                            components.push(Component { radix, source: ComponentSource::Counter(counter) });
                            assigned.push((ci, component, 0));
                        }
                        Err(m) => {
                            // Reported; the column stays a key column so references to it are
                            // not reported again.
                            problems.push(Problem::new(m).table(&t.name).column(&col.name));
                            failed = true;
                            let component = components.len();
                            components.push(Component { radix: None, source: ComponentSource::Counter(Counter::Int) });
                            assigned.push((ci, component, 0));
                        }
                    }
                }
                // Bounded components first, the unbounded counter last.
                let capacity = components.iter().try_fold(1u128, |acc, c| c.radix.map(|r| acc * r as u128));
                if let Some(cap) = capacity.filter(|_| !failed)
                    && (n as u128) > cap
                {
                    problems.push(
                        Problem::new(format!(
                            "{what} ({}): {n} rows cannot have distinct keys: its columns combine into {cap} \
                             values at most at these row counts; lower --scale or set --rows for this table",
                            cols.join(", ")
                        ))
                        .table(&t.name),
                    );
                }
                for (ci, component, position) in assigned {
                    columns[ci] = Some(ColumnGen::Key { layout, component, position });
                }
                keys.push(KeyLayout { components, purpose: purpose(&format!("key {what}")) });
            }

            // Foreign keys outside keys: bands from the first column's statistics.
            for (fi, fk) in t.foreign_keys.iter().enumerate() {
                let Some(f) = fks[fi].as_mut() else { continue };
                let cis: Vec<usize> = fk.columns.iter().filter_map(|c| col_index(c)).collect();
                if cis.iter().any(|&ci| columns[ci].is_some()) {
                    continue;
                }
                let first = &t.columns[cis[0]];
                let parent_rows = rows[f.parent];
                let nullable = cis.iter().all(|&ci| !t.columns[ci].not_null);
                let mut null_frac = first.null_frac.unwrap_or(0.0);
                if parent_rows == 0 {
                    if !nullable && n > 0 {
                        problems.push(
                            Problem::new(format!(
                                "foreign key {} is NOT NULL and {} gets no rows; give it rows (--rows) or this table none",
                                fk.name, fk.references_table
                            ))
                            .table(&t.name),
                        );
                    }
                    null_frac = 1.0;
                }
                let freqs: Vec<f64> = first.most_common_freqs.iter().copied().take(parent_rows as usize).collect();
                let distinct =
                    distinct_for(first.n_distinct, n, null_frac).min(parent_rows.max(1)).max(freqs.len() as u64);
                let p = purpose(&format!("fk bands {}", fk.name));
                f.bands = Some(Bands::new(n, null_frac, &freqs, distinct, perm_for(&p, n)));
                for (pos, &ci) in cis.iter().enumerate() {
                    columns[ci] = Some(ColumnGen::Foreign { fk: fi, position: pos });
                }
            }

            // Every other column from its statistics or its rule.
            for (ci, col) in t.columns.iter().enumerate() {
                if columns[ci].is_some() {
                    continue;
                }
                let strategy = tp.columns.iter().find(|c| c.name == col.name).map(|c| &c.strategy);
                match column_values(col, strategy, n, purpose(&col.name), &perm_for(&purpose(&col.name), n)) {
                    Ok(g) => columns[ci] = Some(g),
                    Err(m) => problems.push(Problem::new(m).table(&t.name).column(&col.name)),
                }
            }
            // Simple CHECKs are folded into the values of columns generated without the
            // source's statistics; any other CHECK on such a column is reported.
            for check in &t.checks {
                let parsed = checks::parse(&check.definition);
                let generated_otherwise: Vec<usize> = (0..t.columns.len())
                    .filter(|&ci| {
                        let c = &t.columns[ci];
                        check.definition.contains(c.name.as_str())
                            && (c.is_personal() || matches!(columns[ci], Some(ColumnGen::Key { .. })))
                    })
                    .collect();
                let mut unmet = Vec::new();
                for ci in generated_otherwise {
                    let c = &t.columns[ci];
                    let simple = parsed.as_ref().and_then(|p| p.iter().find(|(name, _)| *name == c.name));
                    match (simple, &mut columns[ci]) {
                        (Some((_, rule)), Some(ColumnGen::Values(v))) => v.check = Some(rule.clone()),
                        (_, Some(ColumnGen::Null)) => {}
                        // Counters start at 1.
                        (Some((_, checks::SimpleCheck::Range { lo, hi: None })), Some(ColumnGen::Key { .. }))
                            if lo.is_none_or(|l| l <= 1.0) => {}
                        _ => unmet.push(c.name.as_str()),
                    }
                }
                if !unmet.is_empty() {
                    tracing::warn!(
                        table = %t.name,
                        constraint = %check.name,
                        columns = %unmet.join(", "),
                        "CHECK constraint on columns generated without the source's statistics, not a simple range \
                         or enumeration doppel can respect: the target may refuse the generated rows"
                    );
                }
            }
            tables.push(TableGen {
                name: t.name.clone(),
                schema: t.arrow_schema(),
                kinds: t.kinds(),
                rows: n,
                columns: columns.into_iter().map(|c| c.unwrap_or(ColumnGen::Null)).collect(),
                keys,
                fks: fks
                    .into_iter()
                    .map(|f| {
                        f.unwrap_or(FkGen {
                            parent: ti,
                            parent_columns: Vec::new(),
                            perm: Perm::new(1, 1, 0),
                            bands: None,
                        })
                    })
                    .collect(),
            });
        }
        // References must land on key columns, which are computed from the row index.
        for t in &tables {
            for (f, fk) in t.fks.iter().zip(profile.table(&t.name).map_or(&[][..], |p| &p.foreign_keys[..])) {
                let parent = &tables.get(f.parent).filter(|p| p.name == fk.references_table);
                let on_keys = parent.is_some_and(|p| {
                    f.parent_columns.iter().all(|&c| matches!(p.columns.get(c), Some(ColumnGen::Key { .. })))
                });
                if !on_keys && !f.parent_columns.is_empty() {
                    problems.push(
                        Problem::new(format!(
                            "foreign key {} references {} ({}), which is not its primary key or a unique constraint: \
                             doppel generates references to keys only",
                            fk.name,
                            fk.references_table,
                            fk.references_columns.join(", ")
                        ))
                        .table(&t.name),
                    );
                }
            }
        }
        // A reference to a key that does not fit: name the referencing columns too.
        let bad: Vec<(String, String)> =
            problems.iter().filter_map(|p| Some((p.table.clone()?, p.column.clone()?))).collect();
        for t in &profile.tables {
            for fk in &t.foreign_keys {
                for (c, rc) in fk.columns.iter().zip(&fk.references_columns) {
                    if bad.contains(&(fk.references_table.clone(), rc.clone())) {
                        problems.push(
                            Problem::new(format!("references {}.{rc}, whose keys do not fit", fk.references_table))
                                .table(&t.name)
                                .column(c),
                        );
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(Error::problems(problems));
        }
        Ok(Dataset { tables, key })
    }

    /// The value of column `c` of table `t` in row `row`.
    pub fn cell(&self, t: usize, c: usize, row: u64) -> Cell {
        let table = &self.tables[t];
        match &table.columns[c] {
            ColumnGen::Null => Cell::Null,
            ColumnGen::Values(v) => v.value(&self.key, row),
            ColumnGen::Key { .. } => self.key_cell(t, c, row, 0),
            ColumnGen::Foreign { fk, position } => {
                let f = &table.fks[*fk];
                let Some(bands) = &f.bands else { return Cell::Null };
                let slot = match bands.locate(row) {
                    Band::Null => return Cell::Null,
                    Band::Common(k) => k as u64,
                    Band::Rest(s) => bands.common_count() as u64 + s,
                };
                self.key_cell(f.parent, f.parent_columns[*position], f.perm.apply(slot), 0)
            }
        }
    }

    /// A key column's value for row `row`, computed from the index alone.
    fn key_cell(&self, t: usize, c: usize, row: u64, depth: usize) -> Cell {
        let table = &self.tables[t];
        let ColumnGen::Key { layout, component, position } = &table.columns[c] else {
            // Referenced columns outside a key (the plan reported them); a column of a
            // table referencing itself through its key is bounded by `depth`.
            return Cell::Null;
        };
        let layout = &table.keys[*layout];
        let digit = self.digit(layout, row, *component);
        match &layout.components[*component].source {
            ComponentSource::Counter(counter) => counter_cell(counter, digit, &self.key, &layout.purpose),
            ComponentSource::Foreign(fi) if depth < 16 => {
                let f = &table.fks[*fi];
                self.key_cell(f.parent, f.parent_columns[*position], f.perm.apply(digit), depth + 1)
            }
            ComponentSource::Foreign(_) => Cell::Null,
        }
    }

    /// Digit `k` of `row` in the layout's mixed radix, shifted by the first digit.
    fn digit(&self, layout: &KeyLayout, row: u64, k: usize) -> u64 {
        let mut rest = row;
        let mut first = 0;
        for (i, comp) in layout.components.iter().enumerate() {
            let d = match comp.radix {
                Some(r) if r > 0 => {
                    let d = rest % r;
                    rest /= r;
                    if i == 0 { d } else { (d + self.key.round(&layout.purpose, 3, first as u128) as u64 % r) % r }
                }
                _ => rest,
            };
            if i == 0 {
                first = d;
            }
            if i == k {
                return d;
            }
        }
        rest
    }
}

/// The counter for a key column of this type, or why there is none.
fn counter_for(col: &ColumnProfile, strategy: Option<&Strategy>, rows: u64) -> Result<Counter, String> {
    let kind = super::profile::kind_of(col);
    let limit = declared_chars(&col.pg_type);
    let digits = base36_digits(rows);
    let counter = match (kind, strategy) {
        (ColumnKind::Text, Some(Strategy::Fake(spec)))
            if spec.generator.output() == OutputKind::Text && limit.is_none_or(|l| l >= digits + 6) =>
        {
            Counter::Fake { spec: Box::new(spec.clone()), digits, limit }
        }
        _ => counter_of_kind(col, kind, rows)?,
    };
    let capacity = counter_capacity(&counter, col);
    if rows > capacity {
        return Err(format!(
            "{rows} rows need {rows} distinct keys, and {} holds {capacity} at most; lower --scale or set --rows \
             for this table",
            col.pg_type
        ));
    }
    Ok(counter)
}

fn counter_of_kind(col: &ColumnProfile, kind: ColumnKind, rows: u64) -> Result<Counter, String> {
    Ok(match kind {
        ColumnKind::Int16 | ColumnKind::Int32 | ColumnKind::Int64 | ColumnKind::Float32 | ColumnKind::Float64 => {
            Counter::Int
        }
        ColumnKind::Decimal { .. } => Counter::Decimal,
        ColumnKind::Uuid => Counter::Uuid,
        ColumnKind::Date => Counter::Date,
        ColumnKind::Timestamp | ColumnKind::TimestampTz => Counter::Timestamp,
        ColumnKind::Text if is_plain_text(&col.pg_type) => {
            // As wide as the source's values (avg_width counts a 1-byte header), at most the
            // declared length.
            let desired = base36_digits(rows).max(col.avg_width.unwrap_or(9).max(2) as usize - 1);
            Counter::Text { width: desired.min(declared_chars(&col.pg_type).unwrap_or(16)) }
        }
        _ => {
            return Err(format!(
                "doppel cannot generate unique keys of type {} (integers, numerics, plain text, uuids, dates and \
                 timestamps can be)",
                col.pg_type
            ));
        }
    })
}

/// How many distinct counter values the column's type holds.
fn counter_capacity(counter: &Counter, col: &ColumnProfile) -> u64 {
    match (counter, super::profile::kind_of(col)) {
        (Counter::Int, ColumnKind::Int16) => i16::MAX as u64,
        (Counter::Int, ColumnKind::Int32) => i32::MAX as u64,
        (Counter::Int, ColumnKind::Float32) => 1 << 24,
        (Counter::Int, _) => 1 << 53,
        (Counter::Decimal, ColumnKind::Decimal { precision, scale }) => {
            10u64.saturating_pow((precision as i32 - scale as i32).clamp(0, 19) as u32).saturating_sub(1)
        }
        (Counter::Text { width }, _) => 36u64.saturating_pow(*width as u32),
        (Counter::Fake { digits, .. }, _) => 36u64.saturating_pow(*digits as u32),
        (Counter::Date, _) => 2_000_000,
        _ => 1 << 56,
    }
}

/// Base-36 digits needed to count `n` values.
fn base36_digits(n: u64) -> usize {
    let (mut digits, mut capacity) = (1, 36u128);
    while capacity < n as u128 {
        capacity *= 36;
        digits += 1;
    }
    digits
}

/// The counter's value for digit `d` (0-based).
fn counter_cell(counter: &Counter, d: u64, key: &DomainKey, purpose: &[u8]) -> Cell {
    match counter {
        Counter::Int => Cell::Int(d as i64 + 1),
        Counter::Decimal => Cell::Text((d + 1).to_string()),
        Counter::Text { width } => Cell::Text(base36(d, *width)),
        Counter::Fake { spec, digits, limit } => {
            let mut rng = key.rng(b"generate unique fake", &[purpose, &d.to_le_bytes()[..]].concat(), 0);
            let FakeValue::Text(text) = fake::generate(spec, &mut rng, 0) else {
                return Cell::Text(base36(d, *digits));
            };
            Cell::Text(unique_text(&text, &base36(d, *digits).to_ascii_lowercase(), *limit))
        }
        Counter::Uuid => {
            let mut u: [u8; 16] = key.hash(purpose, b"uuid").as_bytes()[..16].try_into().expect("16 bytes");
            u[8..].copy_from_slice(&d.to_be_bytes());
            u[6] = (u[6] & 0x0f) | 0x40;
            u[8] = (u[8] & 0x3f) | 0x80;
            Cell::Uuid(u)
        }
        // From 2000-01-01.
        Counter::Date => Cell::Days(10_957 + d as i64),
        Counter::Timestamp => Cell::Micros(946_684_800_000_000 + d as i64 * 1_000_000),
    }
}

/// `text` made unique by `suffix`: before the `@` of an email (`local.suffix@domain`), else
/// after a space; the text is cut so the whole fits `limit` characters.
fn unique_text(text: &str, suffix: &str, limit: Option<usize>) -> String {
    let room = |taken: usize| limit.map_or(usize::MAX, |l| l.saturating_sub(taken));
    match text.split_once('@') {
        Some((local, domain)) => {
            let local: String = local.chars().take(room(domain.chars().count() + suffix.len() + 2)).collect();
            format!("{local}.{suffix}@{domain}")
        }
        None => {
            let base: String = text.chars().take(room(suffix.len() + 1)).collect();
            format!("{} {suffix}", base.trim_end())
        }
    }
}

/// The generator of a column outside keys: statistics for kept columns, the rule for
/// personal ones.
fn column_values(
    col: &ColumnProfile,
    strategy: Option<&Strategy>,
    rows: u64,
    purpose: Vec<u8>,
    perm: &Perm,
) -> Result<ColumnGen, String> {
    let kind = super::profile::kind_of(col);
    let limit = declared_chars(&col.pg_type);
    let null_frac = col.null_frac.unwrap_or(0.0);
    let distinct = distinct_for(col.n_distinct, rows, null_frac);
    let width = col.avg_width.unwrap_or(8).max(1) as usize;
    let synthetic = || -> Result<Rest, String> {
        if synthetic_supported(kind, &col.pg_type) {
            Ok(Rest::Synthetic { kind, pg_type: col.pg_type.clone(), width, limit })
        } else {
            Err(format!(
                "no statistics to generate values of type {} from, and no rule generator: keep the column with \
                 analysed statistics, give it a fake rule, or null",
                col.pg_type
            ))
        }
    };
    let values = |bands: Bands, common: Vec<String>, rest: Rest| {
        ColumnGen::Values(Box::new(ColumnValues { bands, common, rest, purpose: purpose.clone(), limit, check: None }))
    };
    match strategy {
        Some(Strategy::Null) => Ok(ColumnGen::Null),
        Some(Strategy::Fake(spec)) => Ok(values(
            Bands::new(rows, null_frac, &[], distinct, *perm),
            Vec::new(),
            Rest::Fake(Box::new(spec.clone())),
        )),
        Some(Strategy::Keep) | None if !col.is_personal() => {
            let common = col.most_common_vals.clone();
            let freqs = &col.most_common_freqs;
            if col.histogram_bounds.len() < 2 && !common.is_empty() {
                return Ok(values(
                    Bands::common_only(rows, null_frac, freqs, *perm),
                    common,
                    synthetic().unwrap_or(Rest::Text { bounds: col.most_common_vals.clone(), suffix: false, limit }),
                ));
            }
            let bands = Bands::new(rows, null_frac, freqs, distinct, *perm);
            let numbers: Vec<f64> = col.histogram_bounds.iter().filter_map(|b| bound_number(b, kind)).collect();
            let rest = if numbers.len() >= 2 {
                Rest::Numeric { bounds: numbers, kind }
            } else if !col.histogram_bounds.is_empty() && kind == ColumnKind::Text {
                Rest::Text { bounds: col.histogram_bounds.clone(), suffix: is_plain_text(&col.pg_type), limit }
            } else {
                synthetic()?
            };
            Ok(values(bands, common, rest))
        }
        _ => Ok(values(Bands::new(rows, null_frac, &[], distinct, *perm), Vec::new(), synthetic()?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_fakes_keep_their_shape_and_fit() {
        assert_eq!(unique_text("maude.schaden@example.com", "0k3", None), "maude.schaden.0k3@example.com");
        assert_eq!(unique_text("maude.schaden@example.com", "0k3", Some(20)), "maud.0k3@example.com");
        assert_eq!(unique_text("Kuhn and Sons", "01", Some(8)), "Kuhn 01");
        assert_eq!(base36_digits(36), 1);
        assert_eq!(base36_digits(37), 2);
    }
}
