//! Computing a subset inside the source's snapshot: roots, then the closure along foreign
//! keys until nothing new is selected (see the semantics in [`super`]), then the unreached
//! tables' rows and their parents. The result is a [`Selection`]: per table, all rows, filters
//! or the keys of the selected rows, and the SELECT that reads exactly them.
//!
//! Keys go to the server in chunks of [`CHUNK`] as `text[]` parameters; results stream back
//! row by row, so a root over a large table holds only the keys it keeps.

use std::collections::{BTreeMap, BinaryHeap, HashMap};

use postgres::Client;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;

use crate::error::{Error, Result};
use crate::pg::error::describe_subset_query as describe;
use crate::secret::DomainKey;

use super::bind::{Subset, Take, Up};
use super::report::{EdgeReport, Reason, SubsetReport, TableReport};
use super::sql::{self, Key, TableSql};

/// Keys per query.
pub const CHUNK: usize = 10_000;

/// What a subset reads of each table.
#[derive(Debug)]
pub struct Selection {
    tables: Vec<Selected>,
    sql: Vec<TableSql>,
    subset: Subset,
}

#[derive(Debug, Default)]
struct Selected {
    all: bool,
    filters: Vec<String>,
    /// Selected rows by key; `true` when the row was reached as a root or downwards (its
    /// children are followed).
    keys: HashMap<Key, bool>,
    reasons: BTreeMap<Reason, u64>,
    need_parents: Vec<Key>,
    need_children: Vec<Key>,
}

impl Selected {
    /// Adds a row; queues what it must still bring.
    fn insert(&mut self, key: Key, down: bool, reason: Reason) {
        if self.all {
            return;
        }
        match self.keys.get_mut(&key) {
            None => {
                *self.reasons.entry(reason).or_default() += 1;
                self.need_parents.push(key.clone());
                if down {
                    self.need_children.push(key.clone());
                }
                self.keys.insert(key, down);
            }
            Some(was_down) if down && !*was_down => {
                *was_down = true;
                self.need_children.push(key);
            }
            Some(_) => {}
        }
    }
}

/// Runs the closure of `subset` on `client` (a connection inside the source's snapshot).
/// `tables[i]` describes `subset.tables[i]`; `key` chooses sampled rows; `location` names
/// the source in errors.
pub fn select(
    client: &mut Client,
    subset: &Subset,
    tables: Vec<TableSql>,
    key: &DomainKey,
    location: &str,
) -> Result<Selection> {
    let mut closure = Closure { client, subset, sql: &tables, key, location, selected: Vec::new() };
    closure.selected = (0..subset.tables.len()).map(|_| Selected::default()).collect();
    for (i, root) in subset.roots.iter().enumerate() {
        closure.root(i, root.table)?;
    }
    closure.run()?;
    for t in 0..subset.tables.len() {
        if subset.reached[t] {
            continue;
        }
        let (condition, rule_where) = match &subset.unreached[t] {
            Take::None => continue,
            Take::All => {
                closure.selected[t].all = true;
                ("true".to_string(), None)
            }
            Take::Where(w) => {
                closure.selected[t].filters.push(w.clone());
                (format!("({w})"), Some(w.as_str()))
            }
        };
        closure.parents_where(t, &condition, rule_where)?;
    }
    closure.run()?;
    let selected = std::mem::take(&mut closure.selected);
    Ok(Selection { tables: selected, sql: tables, subset: subset.clone() })
}

struct Closure<'a> {
    client: &'a mut Client,
    subset: &'a Subset,
    sql: &'a [TableSql],
    key: &'a DomainKey,
    location: &'a str,
    selected: Vec<Selected>,
}

impl Closure<'_> {
    fn name(&self, t: usize) -> &str {
        &self.subset.tables[t]
    }

    /// Selects a root's rows.
    fn root(&mut self, index: usize, t: usize) -> Result<()> {
        let root = &self.subset.roots[index];
        let query = sql::root_keys(&self.sql[t], root.filter.as_deref());
        let threshold = root.fraction.map(fraction_threshold);
        let limit = root.limit.map(|l| l as usize);
        let table = self.name(t).to_string();
        let mut kept: Vec<Key> = Vec::new();
        // With a limit, the lowest hashes so far (a max-heap of at most `limit`).
        let mut lowest: BinaryHeap<(u64, Key)> = BinaryHeap::new();
        let context = format!("subset root {table}: selecting its rows");
        let key = self.key.clone();
        let filter = root.filter.clone();
        self.stream(&query, &[], &context, filter.as_deref(), |k| {
            let h = keyed(&key, b"subset root", &table, &k);
            if threshold.is_some_and(|limit| h >= limit) {
                return Ok(());
            }
            match limit {
                Some(n) => {
                    lowest.push((h, k));
                    if lowest.len() > n {
                        lowest.pop();
                    }
                }
                None => kept.push(k),
            }
            Ok(())
        })?;
        if limit.is_some() {
            kept = lowest.into_sorted_vec().into_iter().map(|(_, k)| k).collect();
        }
        for k in kept {
            self.selected[t].insert(k, true, Reason::Root(index));
        }
        Ok(())
    }

    /// Follows every queued row until nothing new is selected.
    fn run(&mut self) -> Result<()> {
        loop {
            if let Some(t) = (0..self.selected.len()).find(|&t| !self.selected[t].need_children.is_empty()) {
                let chunk = take_chunk(&mut self.selected[t].need_children);
                for e in 0..self.subset.edges.len() {
                    let edge = &self.subset.edges[e];
                    if edge.parent == t && edge.down {
                        self.children(e, &chunk)?;
                    }
                }
            } else if let Some(t) = (0..self.selected.len()).find(|&t| !self.selected[t].need_parents.is_empty()) {
                let chunk = take_chunk(&mut self.selected[t].need_parents);
                let condition = self.sql[t].key_in_params("c", 1);
                let params = key_params(&chunk, self.sql[t].key_width());
                for e in 0..self.subset.edges.len() {
                    if self.subset.edges[e].child == t && self.subset.edges[e].up == Up::Follow {
                        self.parents(e, &condition, &params, None)?;
                    }
                }
            } else {
                return Ok(());
            }
        }
    }

    /// The parents of an unreached table's rows matching `condition` (over alias `c`), which
    /// applies the rules' `rule_where`, if any.
    fn parents_where(&mut self, t: usize, condition: &str, rule_where: Option<&str>) -> Result<()> {
        for e in 0..self.subset.edges.len() {
            if self.subset.edges[e].child == t && self.subset.edges[e].up == Up::Follow {
                self.parents(e, condition, &[], rule_where)?;
            }
        }
        Ok(())
    }

    /// `rule_where`: the rules' `where` inside `condition`, if any (named in errors).
    fn parents(&mut self, e: usize, condition: &str, params: &[Vec<&str>], rule_where: Option<&str>) -> Result<()> {
        let edge = &self.subset.edges[e];
        let (child, parent) = (edge.child, edge.parent);
        let query =
            sql::parents_of(&self.sql[parent], &edge.parent_columns, &self.sql[child], &edge.child_columns, condition);
        let context =
            format!("subset: rows of {} referenced by {} ({})", self.name(parent), self.name(child), edge.name);
        let mut found = Vec::new();
        self.stream(&query, params, &context, rule_where, |k| {
            found.push(k);
            Ok(())
        })?;
        for k in found {
            self.selected[parent].insert(k, false, Reason::ParentOf(e));
        }
        Ok(())
    }

    fn children(&mut self, e: usize, parents: &[Key]) -> Result<()> {
        let edge = &self.subset.edges[e];
        let (child, parent) = (edge.child, edge.parent);
        let with_reference = edge.max_children.is_some();
        let query = sql::children_of(
            &self.sql[child],
            &edge.child_columns,
            &self.sql[parent],
            &edge.parent_columns,
            with_reference,
        );
        let params = key_params(parents, self.sql[parent].key_width());
        let context = format!("subset: rows of {} referencing {} ({})", self.name(child), self.name(parent), edge.name);
        let width = self.sql[child].key_width();
        let mut found: Vec<Key> = Vec::new();
        let mut groups: HashMap<Key, Vec<(u64, Key)>> = HashMap::new();
        let key = self.key.clone();
        let child_name = self.name(child).to_string();
        self.stream(&query, &params, &context, None, |row| match with_reference {
            false => {
                found.push(row);
                Ok(())
            }
            true => {
                let (k, reference) = row.split_at(width);
                let k: Key = k.to_vec().into_boxed_slice();
                let h = keyed(&key, b"subset children", &child_name, &k);
                groups.entry(reference.to_vec().into_boxed_slice()).or_default().push((h, k));
                Ok(())
            }
        })?;
        if let Some(max) = edge.max_children {
            let mut groups: Vec<(Key, Vec<(u64, Key)>)> = groups.into_iter().collect();
            groups.sort();
            for (_, mut members) in groups {
                members.sort();
                found.extend(members.into_iter().take(max as usize).map(|(_, k)| k));
            }
        }
        for k in found {
            self.selected[child].insert(k, true, Reason::ChildOf(e));
        }
        Ok(())
    }

    /// Runs `query` and hands each row's columns, as text, to `each`. `rule_where` is the
    /// rules' `where` the query applies, if any (named in errors).
    fn stream(
        &mut self,
        query: &str,
        params: &[Vec<&str>],
        context: &str,
        rule_where: Option<&str>,
        mut each: impl FnMut(Key) -> Result<()>,
    ) -> Result<()> {
        let location = self.location;
        let fail = |e: postgres::Error| Error::source(location, format!("{context}: {}", describe(&e, rule_where)));
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let mut rows = self.client.query_raw(query, params).map_err(fail)?;
        while let Some(row) = rows.next().map_err(fail)? {
            let key: Key = (0..row.len())
                .map(|i| row.get::<_, Option<&str>>(i).unwrap_or_default().into())
                .collect::<Vec<Box<str>>>()
                .into_boxed_slice();
            each(key)?;
        }
        Ok(())
    }
}

/// Up to [`CHUNK`] keys from the end of `queue`.
fn take_chunk(queue: &mut Vec<Key>) -> Vec<Key> {
    let at = queue.len().saturating_sub(CHUNK);
    queue.split_off(at)
}

/// Key parts as one `text[]` parameter per key column.
fn key_params(keys: &[Key], width: usize) -> Vec<Vec<&str>> {
    (0..width).map(|i| keys.iter().map(|k| &*k[i]).collect()).collect()
}

/// Keyed hash of a row key, per table and purpose.
fn keyed(key: &DomainKey, purpose: &[u8], table: &str, k: &[Box<str>]) -> u64 {
    let mut input = Vec::with_capacity(64);
    for part in std::iter::once(table).chain(k.iter().map(|p| &**p)) {
        input.extend_from_slice(&(part.len() as u64).to_le_bytes());
        input.extend_from_slice(part.as_bytes());
    }
    key.hash_u64(purpose, &input)
}

/// Hashes below this are kept for `fraction`.
fn fraction_threshold(fraction: f64) -> u64 {
    if fraction >= 1.0 { u64::MAX } else { (fraction * 18_446_744_073_709_551_616.0) as u64 }
}

impl Selection {
    /// The SELECT reading exactly the selected rows of each table that is not read whole,
    /// by table name.
    pub fn queries(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for t in 0..self.tables.len() {
            let nulls: Vec<usize> = (0..self.subset.edges.len())
                .filter(|&e| {
                    let edge = &self.subset.edges[e];
                    edge.child == t && edge.up == Up::NullIfMissing && !self.tables[edge.parent].all
                })
                .collect();
            if self.tables[t].all && nulls.is_empty() {
                continue;
            }
            out.push((self.subset.tables[t].clone(), self.query(t, &nulls)));
        }
        out
    }

    fn predicate(&self, t: usize, alias: &str) -> String {
        let s = &self.tables[t];
        if s.all {
            return "true".into();
        }
        let mut keys: Vec<&Key> = s.keys.keys().collect();
        keys.sort();
        sql::selection_predicate(&self.sql[t], alias, &s.filters, &keys)
    }

    fn query(&self, t: usize, nulls: &[usize]) -> String {
        let table = &self.sql[t];
        let mut ctes = Vec::new();
        let mut conditions: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (i, &e) in nulls.iter().enumerate() {
            let edge = &self.subset.edges[e];
            let parent = &self.sql[edge.parent];
            ctes.push(format!(
                "n{i} AS (SELECT {} FROM {} p WHERE {})",
                sql::qualified("p", &edge.parent_columns),
                parent.from,
                self.predicate(edge.parent, "p")
            ));
            let test = format!("({}) IN (SELECT * FROM n{i})", sql::qualified("t", &edge.child_columns));
            for c in &edge.child_columns {
                conditions.entry(c.as_str()).or_default().push(test.clone());
            }
        }
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|quoted| {
                let bare = unquote(quoted);
                match conditions.get(bare.as_str()) {
                    Some(tests) => format!("CASE WHEN {} THEN t.{quoted} END AS {quoted}", tests.join(" AND ")),
                    None => format!("t.{quoted}"),
                }
            })
            .collect();
        let with = if ctes.is_empty() { String::new() } else { format!("WITH {} ", ctes.join(", ")) };
        format!(
            "{with}SELECT {} FROM {} t WHERE {} ORDER BY {}",
            columns.join(", "),
            table.from,
            self.predicate(t, "t"),
            table.key_list("t")
        )
    }

    /// Rows selected per table, and why.
    pub fn report(&self) -> SubsetReport {
        let tables = (0..self.tables.len())
            .map(|t| {
                let s = &self.tables[t];
                let reasons = s.reasons.iter().map(|(reason, rows)| (reason.describe(&self.subset), *rows)).collect();
                TableReport {
                    table: self.subset.tables[t].clone(),
                    all_rows: s.all,
                    filters: s.filters.len(),
                    keyed_rows: if s.all { 0 } else { s.keys.len() as u64 },
                    reasons,
                }
            })
            .collect();
        let edges = self
            .subset
            .edges
            .iter()
            .map(|e| EdgeReport {
                name: e.name.clone(),
                child: self.subset.tables[e.child].clone(),
                parent: self.subset.tables[e.parent].clone(),
            })
            .collect();
        SubsetReport { tables, edges, source_fan_out: Vec::new() }
    }
}

/// `"a""b"` → `a"b`.
fn unquote(quoted: &str) -> String {
    quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"')).unwrap_or(quoted).replace("\"\"", "\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_map_to_hash_thresholds() {
        assert_eq!(fraction_threshold(1.0), u64::MAX);
        assert_eq!(fraction_threshold(0.5), 1 << 63);
        assert!(fraction_threshold(0.01) < u64::MAX / 99);
    }

    #[test]
    fn quoted_names_unquote() {
        assert_eq!(unquote("\"a\"\"b\""), "a\"b");
        assert_eq!(unquote("\"id\""), "id");
    }

    #[test]
    fn keys_become_one_parameter_per_column() {
        let keys: Vec<Key> = vec![vec!["1".into(), "a".into()].into(), vec!["2".into(), "b".into()].into()];
        assert_eq!(key_params(&keys, 2), vec![vec!["1", "2"], vec!["a", "b"]]);
    }
}
