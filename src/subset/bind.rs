//! Binding the rules' `[subset]` section to the source's tables and foreign keys: every
//! problem is reported at once, with the rules file and line, before anything is read.

use std::collections::{BTreeMap, BTreeSet};

use arrow_schema::Schema;

use crate::error::{Error, Problem, Result};
use crate::plan::{Plan, Strategy};
use crate::rules::model::{Children, Parents, Unreached};
use crate::rules::{SubsetSpec, TableAction};
use crate::schema::PG_TYPE;
use crate::schema::SourceTable;

/// A bound subset: tables are indexes into [`Subset::tables`] (the copied tables, in name order).
#[derive(Debug, Clone)]
pub struct Subset {
    /// Copied tables' names, in name order.
    pub tables: Vec<String>,
    /// How each table's rows are identified.
    pub row_keys: Vec<RowKey>,
    pub roots: Vec<Root>,
    /// Foreign keys between copied tables, in (table, constraint) order.
    pub edges: Vec<Edge>,
    /// What each table takes when no root reaches it.
    pub unreached: Vec<Take>,
    /// Whether a root reaches the table along the edges (from the schema, not the rows).
    pub reached: Vec<bool>,
}

/// How rows of a table are identified while the subset is computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowKey {
    /// The primary key's columns and their PostgreSQL types, in key order.
    PrimaryKey(Vec<(String, String)>),
    /// `(tableoid, ctid)`: stable inside the snapshot, for tables without a primary key.
    Ctid,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Root {
    pub table: usize,
    pub filter: Option<String>,
    pub fraction: Option<f64>,
    pub limit: Option<u64>,
}

impl Root {
    /// `where …, fraction 0.1, limit 5` as written, for the report.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.filter.is_some() {
            parts.push("where".to_string());
        }
        if let Some(f) = self.fraction {
            parts.push(format!("fraction {f}"));
        }
        if let Some(l) = self.limit {
            parts.push(format!("limit {l}"));
        }
        if parts.is_empty() { "root, all rows".to_string() } else { format!("root ({})", parts.join(", ")) }
    }
}

/// A foreign key `child.child_columns → parent.parent_columns` and how the subset follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub name: String,
    pub child: usize,
    pub child_columns: Vec<String>,
    pub parent: usize,
    pub parent_columns: Vec<String>,
    /// Rows referencing a selected (root or downwards) row come with it.
    pub down: bool,
    /// At most this many children per parent row.
    pub max_children: Option<u64>,
    pub up: Up,
}

/// How a selected row's reference is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Up {
    /// The referenced row comes with it.
    Follow,
    /// The reference is written as NULL unless the referenced row is selected anyway.
    NullIfMissing,
    /// Not followed: the rules set every column of the key to NULL.
    NulledByRules,
}

/// What an unreached table takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Take {
    All,
    None,
    Where(String),
}

/// Binds `spec` to the source tables and the plan.
pub fn bind(spec: &SubsetSpec, tables: &[SourceTable], plan: &Plan) -> Result<Subset> {
    let copied: Vec<&SourceTable> = tables
        .iter()
        .filter(|t| plan.tables.iter().any(|p| p.name == t.name && p.action == TableAction::Copy))
        .collect();
    let index = copied.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
    let mut binder = Binder { spec, tables, copied: &copied, index, problems: Vec::new() };

    let row_keys: Vec<RowKey> = copied.iter().map(|t| row_key(t)).collect();
    let roots = binder.roots(&row_keys);
    let mut edges = foreign_key_edges(&copied, &binder.index, plan);
    binder.configure_relations(&mut edges);
    let reached = reachable(copied.len(), &roots, &edges);
    let unreached = binder.unreached(&reached);

    if !binder.problems.is_empty() {
        return Err(Error::problems(binder.problems));
    }
    Ok(Subset { tables: copied.iter().map(|t| t.name.clone()).collect(), row_keys, roots, edges, unreached, reached })
}

/// Every foreign key between copied tables, followed both ways until the rules' relations
/// say otherwise; a key whose columns the rules all null is not followed upwards.
fn foreign_key_edges(copied: &[&SourceTable], index: &BTreeMap<&str, usize>, plan: &Plan) -> Vec<Edge> {
    let mut edges = Vec::new();
    for (child, t) in copied.iter().enumerate() {
        for fk in &t.foreign_keys {
            // A key into a skipped table is nulled by the rules (the plan checks it).
            let Some(&parent) = index.get(fk.references_table.as_str()) else { continue };
            let up = if fk.columns.iter().all(|c| nulled_by_rules(plan, &t.name, c)) {
                Up::NulledByRules
            } else {
                Up::Follow
            };
            edges.push(Edge {
                name: fk.name.clone(),
                child,
                child_columns: fk.columns.clone(),
                parent,
                parent_columns: fk.references_columns.clone(),
                down: true,
                max_children: None,
                up,
            });
        }
    }
    edges
}

/// The binding's state: the copied tables by name, and every problem found so far (all are
/// reported at once).
struct Binder<'a> {
    spec: &'a SubsetSpec,
    tables: &'a [SourceTable],
    copied: &'a [&'a SourceTable],
    index: BTreeMap<&'a str, usize>,
    problems: Vec<Problem>,
}

impl Binder<'_> {
    fn problem(&mut self, line: usize, table: &str, message: String) {
        let mut p = Problem::new("").at(&self.spec.file, Some(line)).table(table);
        p.message = message;
        self.problems.push(p);
    }

    /// The copied table called `name`, or a problem saying why there is none.
    fn lookup(&mut self, name: &str, line: usize, what: &str) -> Option<usize> {
        if let Some(&i) = self.index.get(name) {
            return Some(i);
        }
        let why = if self.tables.iter().any(|t| t.name == name) {
            format!("{what}: the rules skip this table, so the subset cannot use it; copy it or remove the entry")
        } else {
            format!("{what}: no such table in the source (tables are named schema.table, without quotes)")
        };
        self.problem(line, name, why);
        None
    }

    fn roots(&mut self, row_keys: &[RowKey]) -> Vec<Root> {
        let spec = self.spec;
        if spec.roots.is_empty() {
            let mut p = Problem::new("").at(&spec.file, Some(spec.line));
            p.message =
                "[subset] has no roots; add a [[subset.roots]] entry with a table (and a where, fraction or limit)"
                    .to_string();
            self.problems.push(p);
        }
        let mut roots = Vec::new();
        for r in &spec.roots {
            let root = &r.item;
            let Some(table) = self.lookup(&root.table, r.line, "subset root") else { continue };
            if let Some(f) = root.fraction
                && !(f > 0.0 && f <= 1.0)
            {
                self.problem(r.line, &root.table, "subset root: fraction must be above 0 and at most 1".into());
            }
            if root.limit == Some(0) {
                self.problem(r.line, &root.table, "subset root: limit must be at least 1".into());
            }
            if root.filter.as_deref().is_some_and(|w| w.trim().is_empty()) {
                self.problem(r.line, &root.table, "subset root: where is empty; remove it or write a predicate".into());
            }
            if (root.fraction.is_some() || root.limit.is_some()) && row_keys[table] == RowKey::Ctid {
                self.problem(
                    r.line,
                    &root.table,
                    "subset root: fraction and limit choose rows by a keyed hash of the primary key, and this table \
                     has none; select its rows with where instead"
                        .into(),
                );
            }
            roots.push(Root { table, filter: root.filter.clone(), fraction: root.fraction, limit: root.limit });
        }
        roots
    }

    /// Applies each `[[subset.relations]]` entry to the foreign key it names.
    fn configure_relations(&mut self, edges: &mut [Edge]) {
        let spec = self.spec;
        let mut configured = BTreeSet::new();
        for r in &spec.relations {
            let rel = &r.item;
            let Some(child) = self.lookup(&rel.table, r.line, "subset relation") else { continue };
            let matching: Vec<usize> = (0..edges.len())
                .filter(|&e| edges[e].child == child && edges[e].child_columns == rel.columns)
                .collect();
            if matching.is_empty() {
                let keys: Vec<String> = edges
                    .iter()
                    .filter(|e| e.child == child)
                    .map(|e| format!("[{}] → {}", quoted_list(&e.child_columns), self.copied[e.parent].name))
                    .collect();
                self.problem(
                    r.line,
                    &rel.table,
                    format!(
                        "subset relation: the table has no foreign key on columns [{}] into a copied table; its foreign keys: {}",
                        quoted_list(&rel.columns),
                        if keys.is_empty() { "none".to_string() } else { keys.join("; ") }
                    ),
                );
                continue;
            }
            if !configured.insert((child, rel.columns.clone())) {
                self.problem(r.line, &rel.table, "subset relation: this foreign key is configured twice".into());
                continue;
            }
            match (rel.children, rel.max_children) {
                (Children::Ignore, Some(_)) => self.problem(
                    r.line,
                    &rel.table,
                    "subset relation: max_children applies when children = \"follow\"".into(),
                ),
                (_, Some(0)) => self.problem(
                    r.line,
                    &rel.table,
                    "subset relation: max_children must be at least 1 (use children = \"ignore\" for none)".into(),
                ),
                _ => {}
            }
            if rel.parents == Parents::Null {
                self.check_nullable_reference(r.line, &rel.table, child, &rel.columns);
            }
            for e in matching {
                let edge = &mut edges[e];
                edge.down = rel.children == Children::Follow;
                edge.max_children = rel.max_children;
                if edge.up != Up::NulledByRules && rel.parents == Parents::Null {
                    edge.up = Up::NullIfMissing;
                }
            }
        }
    }

    /// `parents = "null"` writes NULL into the reference: its columns must take it.
    fn check_nullable_reference(&mut self, line: usize, table: &str, child: usize, columns: &[String]) {
        let schema = &self.copied[child].schema;
        let pk = self.copied[child].primary_key.clone().unwrap_or_default();
        for column in columns {
            if !nullable(schema, column) || pk.contains(column) {
                let mut p = Problem::new("").at(&self.spec.file, Some(line)).table(table).column(column);
                p.message = "subset relation: parents = \"null\" needs nullable columns outside the primary key; \
                             this one is NOT NULL or part of the key, so use parents = \"follow\""
                    .into();
                self.problems.push(p);
            }
        }
    }

    /// What each table takes when no root reaches it: the default, or its `[subset.tables]` entry.
    fn unreached(&mut self, reached: &[bool]) -> Vec<Take> {
        let spec = self.spec;
        let default_take = match spec.unreached {
            Unreached::All => Take::All,
            Unreached::None => Take::None,
        };
        let mut unreached = vec![default_take; self.copied.len()];
        for (name, entry) in &spec.tables {
            let Some(table) = self.lookup(name, entry.line, "[subset.tables]") else { continue };
            let take = match (&entry.item.unreached, &entry.item.filter) {
                (Some(_), Some(_)) => {
                    self.problem(entry.line, name, "[subset.tables]: give unreached or where, not both".into());
                    continue;
                }
                (_, Some(w)) if w.trim().is_empty() => {
                    self.problem(entry.line, name, "[subset.tables]: where is empty".into());
                    continue;
                }
                (_, Some(w)) => Take::Where(w.clone()),
                (Some(Unreached::All), None) => Take::All,
                (Some(Unreached::None), None) => Take::None,
                (None, None) => {
                    self.problem(
                        entry.line,
                        name,
                        "[subset.tables]: give unreached = \"all\"/\"none\" or a where".into(),
                    );
                    continue;
                }
            };
            if reached[table] {
                self.problem(
                    entry.line,
                    name,
                    "[subset.tables]: a root reaches this table along foreign keys, so its rows follow from the roots \
                     and this entry would never apply; remove it (or stop following the relation that reaches it)"
                        .into(),
                );
            }
            unreached[table] = take;
        }
        unreached
    }
}

fn row_key(t: &SourceTable) -> RowKey {
    match &t.primary_key {
        Some(columns) => RowKey::PrimaryKey(
            columns
                .iter()
                .map(|c| {
                    let pg_type = t
                        .schema
                        .field_with_name(c)
                        .ok()
                        .and_then(|f| f.metadata().get(PG_TYPE).cloned())
                        .unwrap_or_else(|| "text".to_string());
                    (c.clone(), pg_type)
                })
                .collect(),
        ),
        None => RowKey::Ctid,
    }
}

fn nulled_by_rules(plan: &Plan, table: &str, column: &str) -> bool {
    plan.tables
        .iter()
        .find(|t| t.name == table)
        .and_then(|t| t.columns.iter().find(|c| c.name == column))
        .is_some_and(|c| matches!(c.strategy, Strategy::Null))
}

fn nullable(schema: &Schema, column: &str) -> bool {
    schema.field_with_name(column).is_ok_and(|f| f.is_nullable())
}

fn quoted_list(columns: &[String]) -> String {
    columns.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
}

/// Tables a root reaches: downwards along followed child edges, upwards along followed
/// parent edges; tables reached only upwards do not go down.
fn reachable(tables: usize, roots: &[Root], edges: &[Edge]) -> Vec<bool> {
    let mut down = vec![false; tables];
    let mut up = vec![false; tables];
    let mut work: Vec<(usize, bool)> = roots.iter().map(|r| (r.table, true)).collect();
    while let Some((t, is_down)) = work.pop() {
        let seen = if is_down { &mut down[t] } else { &mut up[t] };
        if *seen {
            continue;
        }
        *seen = true;
        for e in edges {
            if is_down && e.down && e.parent == t {
                work.push((e.child, true));
            }
            if e.up == Up::Follow && e.child == t {
                work.push((e.parent, false));
            }
        }
    }
    down.iter().zip(&up).map(|(d, u)| *d || *u).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(child: usize, parent: usize, down: bool, up: Up) -> Edge {
        Edge {
            name: "fk".into(),
            child,
            child_columns: vec!["p".into()],
            parent,
            parent_columns: vec!["id".into()],
            down,
            max_children: None,
            up,
        }
    }

    #[test]
    fn parents_reached_upwards_do_not_reach_their_other_children() {
        // 0 customers ← 1 orders → 2 employees ← 3 territories_of_employee
        let edges = vec![edge(1, 0, true, Up::Follow), edge(1, 2, true, Up::Follow), edge(3, 2, true, Up::Follow)];
        let roots = vec![Root { table: 0, filter: None, fraction: None, limit: None }];
        assert_eq!(reachable(4, &roots, &edges), vec![true, true, true, false]);
    }

    #[test]
    fn ignored_and_nulled_edges_are_not_followed() {
        let edges = vec![
            edge(1, 0, false, Up::Follow),
            edge(0, 2, true, Up::NullIfMissing),
            edge(0, 3, true, Up::NulledByRules),
        ];
        let roots = vec![Root { table: 0, filter: None, fraction: None, limit: None }];
        assert_eq!(reachable(4, &roots, &edges), vec![true, false, false, false]);
    }

    #[test]
    fn a_root_describes_its_choices() {
        let r = Root { table: 0, filter: Some("x > 1".into()), fraction: Some(0.1), limit: None };
        assert_eq!(r.describe(), "root (where, fraction 0.1)");
        assert_eq!(Root { table: 0, filter: None, fraction: None, limit: None }.describe(), "root, all rows");
    }
}
