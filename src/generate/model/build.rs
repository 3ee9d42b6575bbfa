//! [`Dataset::build`](super::Dataset::build), step by step: row counts, then per table its
//! foreign keys, its keys' layouts, the references outside keys, every other column and the
//! CHECKs; then the references across tables. Every problem is collected and reported at once.

use std::collections::BTreeMap;

use crate::error::{Error, Problem, Result};
use crate::plan::{Plan, Strategy, TablePlan};
use crate::secret::DomainKey;

use super::{
    ColumnGen, Component, ComponentSource, Counter, FkGen, KeyLayout, MAX_TABLE_ROWS, Options, TableGen, column_values,
    counter_capacity, counter_for, distinct_for,
};
use crate::generate::checks;
use crate::generate::profile::{Profile, TableProfile};
use crate::generate::values::{Bands, Perm};

/// The row count of every table of `profile`, in its order; `--rows` naming a table that is
/// not generated, or a count out of range, is a problem.
pub(super) fn row_counts(profile: &Profile, options: &Options, problems: &mut Vec<Problem>) -> Result<Vec<u64>> {
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
        .map(|t| options.rows.get(&t.name).copied().unwrap_or_else(|| (t.rows as f64 * options.scale).round() as u64))
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
        return Err(Error::problems(std::mem::take(problems)));
    }
    Ok(rows)
}

/// What every table's generator is built from.
pub(super) struct Builder<'a> {
    pub profile: &'a Profile,
    pub plan: &'a Plan,
    pub key: &'a DomainKey,
    pub rows: Vec<u64>,
    pub index: BTreeMap<&'a str, usize>,
    pub problems: Vec<Problem>,
}

/// One table's generator while it is built.
struct Table<'a> {
    t: &'a TableProfile,
    tp: &'a TablePlan,
    n: u64,
    columns: Vec<Option<ColumnGen>>,
    fks: Vec<Option<FkGen>>,
    keys: Vec<KeyLayout>,
}

impl Table<'_> {
    fn col_index(&self, c: &str) -> Option<usize> {
        self.t.columns.iter().position(|x| x.name == c)
    }

    fn purpose(&self, c: &str) -> Vec<u8> {
        format!("{}\0{c}", self.t.name).into_bytes()
    }

    fn strategy(&self, column: &str) -> Option<&Strategy> {
        self.tp.columns.iter().find(|x| x.name == column).map(|x| &x.strategy)
    }
}

impl<'a> Builder<'a> {
    fn perm_for(&self, p: &[u8], n: u64) -> Perm {
        Perm::new(n, self.key.round(p, 1, 0) as u64, self.key.round(p, 2, 0) as u64)
    }

    /// Table `ti`'s generator; `None` (with the problem recorded) when the rules do not cover it.
    pub fn table(&mut self, ti: usize) -> Option<TableGen> {
        let t = &self.profile.tables[ti];
        let Some(tp) = self.plan.tables.iter().find(|p| p.name == t.name) else {
            self.problems.push(Problem::new("the rules do not cover this table of the profile").table(&t.name));
            return None;
        };
        let mut table = Table {
            t,
            tp,
            n: self.rows[ti],
            columns: (0..t.columns.len()).map(|_| None).collect(),
            fks: Vec::new(),
            keys: Vec::new(),
        };
        self.foreign_keys(&mut table);
        for (what, cols) in key_sets(t) {
            self.key_layout(&mut table, &what, &cols);
        }
        self.reference_bands(&mut table);
        self.other_columns(&mut table);
        fold_checks(&mut table);
        let Table { t, n, columns, fks, keys, .. } = table;
        Some(TableGen {
            name: t.name.clone(),
            schema: t.arrow_schema(),
            kinds: t.kinds(),
            rows: n,
            columns: columns.into_iter().map(|c| c.unwrap_or(ColumnGen::Null)).collect(),
            keys,
            fks: fks
                .into_iter()
                .map(|f| {
                    f.unwrap_or(FkGen { parent: ti, parent_columns: Vec::new(), perm: Perm::new(1, 1, 0), bands: None })
                })
                .collect(),
        })
    }

    /// Each foreign key's parent and referenced columns, or `None` with a problem.
    fn foreign_keys(&mut self, table: &mut Table) {
        let t = table.t;
        for fk in &t.foreign_keys {
            let Some(&parent) = self.index.get(fk.references_table.as_str()) else {
                self.problems.push(
                    Problem::new(format!(
                        "foreign key {} references {}, which is not in the profile (skipped?)",
                        fk.name, fk.references_table
                    ))
                    .table(&t.name),
                );
                table.fks.push(None);
                continue;
            };
            let pt = &self.profile.tables[parent];
            let parent_columns: Option<Vec<usize>> =
                fk.references_columns.iter().map(|c| pt.columns.iter().position(|x| &x.name == c)).collect();
            let Some(parent_columns) = parent_columns else {
                self.problems.push(
                    Problem::new(format!("foreign key {}: referenced columns not found", fk.name)).table(&t.name),
                );
                table.fks.push(None);
                continue;
            };
            let p = table.purpose(&format!("fk {}", fk.name));
            let perm = self.perm_for(&p, self.rows[parent]);
            table.fks.push(Some(FkGen { parent, parent_columns, perm, bands: None }));
        }
    }

    /// One key (`what`, over `cols`): its components (foreign keys inside it, bounded; then
    /// counters, the last one unbounded), checked to hold the table's rows.
    fn key_layout(&mut self, table: &mut Table, what: &str, cols: &[String]) {
        let (t, n) = (table.t, table.n);
        if cols.iter().any(|c| table.col_index(c).is_some_and(|i| table.columns[i].is_some())) {
            tracing::warn!(table = %t.name, "{what} shares columns with an earlier key: its uniqueness is not guaranteed");
            return;
        }
        let layout = table.keys.len();
        let mut components: Vec<Component> = Vec::new();
        let mut assigned: Vec<(usize, usize, usize)> = Vec::new();
        // Foreign keys whose columns all lie in this key are bounded components.
        for (fi, fk) in t.foreign_keys.iter().enumerate() {
            if !fk.columns.iter().all(|c| cols.contains(c)) || table.fks[fi].is_none() {
                continue;
            }
            if fk.columns.iter().any(|c| assigned.iter().any(|(i, ..)| Some(*i) == table.col_index(c))) {
                continue;
            }
            let parent_rows = self.rows[table.fks[fi].as_ref().map_or(0, |f| f.parent)];
            let component = components.len();
            components.push(Component { radix: Some(parent_rows), source: ComponentSource::Foreign(fi) });
            for (pos, c) in fk.columns.iter().enumerate() {
                if let Some(i) = table.col_index(c) {
                    assigned.push((i, component, pos));
                }
            }
        }
        let mut failed = false;
        let counters: Vec<&String> =
            cols.iter().filter(|c| !assigned.iter().any(|(i, ..)| Some(*i) == table.col_index(c))).collect();
        for (k, c) in counters.iter().enumerate() {
            let Some(ci) = table.col_index(c) else { continue };
            let col = &t.columns[ci];
            match counter_for(col, table.strategy(&col.name), n) {
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
                    self.problems.push(Problem::new(m).table(&t.name).column(&col.name));
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
            self.problems.push(
                Problem::new(format!(
                    "{what} ({}): {n} rows cannot have distinct keys: its columns combine into {cap} \
                     values at most at these row counts; lower --scale or set --rows for this table",
                    cols.join(", ")
                ))
                .table(&t.name),
            );
        }
        for (ci, component, position) in assigned {
            table.columns[ci] = Some(ColumnGen::Key { layout, component, position });
        }
        table.keys.push(KeyLayout { components, purpose: table.purpose(&format!("key {what}")) });
    }

    /// Foreign keys outside keys: bands from the first column's statistics.
    fn reference_bands(&mut self, table: &mut Table) {
        let (t, n) = (table.t, table.n);
        for (fi, fk) in t.foreign_keys.iter().enumerate() {
            let cis: Vec<usize> = fk.columns.iter().filter_map(|c| table.col_index(c)).collect();
            let Some(parent) = table.fks[fi].as_ref().map(|f| f.parent) else { continue };
            if cis.iter().any(|&ci| table.columns[ci].is_some()) {
                continue;
            }
            let first = &t.columns[cis[0]];
            let parent_rows = self.rows[parent];
            let nullable = cis.iter().all(|&ci| !t.columns[ci].not_null);
            let mut null_frac = first.null_frac.unwrap_or(0.0);
            if parent_rows == 0 {
                if !nullable && n > 0 {
                    self.problems.push(
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
            let distinct = distinct_for(first.n_distinct, n, null_frac).min(parent_rows.max(1)).max(freqs.len() as u64);
            let p = table.purpose(&format!("fk bands {}", fk.name));
            let bands = Bands::new(n, null_frac, &freqs, distinct, self.perm_for(&p, n));
            if let Some(f) = table.fks[fi].as_mut() {
                f.bands = Some(bands);
            }
            for (pos, &ci) in cis.iter().enumerate() {
                table.columns[ci] = Some(ColumnGen::Foreign { fk: fi, position: pos });
            }
        }
    }

    /// Every other column from its statistics or its rule.
    fn other_columns(&mut self, table: &mut Table) {
        let (t, n) = (table.t, table.n);
        for (ci, col) in t.columns.iter().enumerate() {
            if table.columns[ci].is_some() {
                continue;
            }
            let purpose = table.purpose(&col.name);
            let perm = self.perm_for(&purpose, n);
            match column_values(col, table.strategy(&col.name), n, purpose, &perm) {
                Ok(g) => table.columns[ci] = Some(g),
                Err(m) => self.problems.push(Problem::new(m).table(&t.name).column(&col.name)),
            }
        }
    }

    /// References must land on key columns, which are computed from the row index; a
    /// reference to a key that does not fit names the referencing columns too.
    pub fn check_references(&mut self, tables: &[TableGen]) {
        for t in tables {
            let declared = self.profile.table(&t.name).map_or(&[][..], |p| &p.foreign_keys[..]);
            for (f, fk) in t.fks.iter().zip(declared) {
                let parent = &tables.get(f.parent).filter(|p| p.name == fk.references_table);
                let on_keys = parent.is_some_and(|p| {
                    f.parent_columns.iter().all(|&c| matches!(p.columns.get(c), Some(ColumnGen::Key { .. })))
                });
                if !on_keys && !f.parent_columns.is_empty() {
                    self.problems.push(
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
        let bad: Vec<(String, String)> =
            self.problems.iter().filter_map(|p| Some((p.table.clone()?, p.column.clone()?))).collect();
        for t in &self.profile.tables {
            for fk in &t.foreign_keys {
                for (c, rc) in fk.columns.iter().zip(&fk.references_columns) {
                    if bad.contains(&(fk.references_table.clone(), rc.clone())) {
                        self.problems.push(
                            Problem::new(format!("references {}.{rc}, whose keys do not fit", fk.references_table))
                                .table(&t.name)
                                .column(c),
                        );
                    }
                }
            }
        }
    }
}

/// The keys of `t`: the primary key, then unique constraints it does not imply.
fn key_sets(t: &TableProfile) -> Vec<(String, Vec<String>)> {
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
    key_sets
}

/// Simple CHECKs are folded into the values of columns generated without the source's
/// statistics; any other CHECK on such a column is reported.
fn fold_checks(table: &mut Table) {
    let t = table.t;
    for check in &t.checks {
        let parsed = checks::parse(&check.definition);
        let generated_otherwise: Vec<usize> = (0..t.columns.len())
            .filter(|&ci| {
                let c = &t.columns[ci];
                check.definition.contains(c.name.as_str())
                    && (c.is_personal() || matches!(table.columns[ci], Some(ColumnGen::Key { .. })))
            })
            .collect();
        let mut unmet = Vec::new();
        for ci in generated_otherwise {
            let c = &t.columns[ci];
            let simple = parsed.as_ref().and_then(|p| p.iter().find(|(name, _)| *name == c.name));
            match (simple, &mut table.columns[ci]) {
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
}
