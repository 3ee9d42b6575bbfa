//! The serde model of a rules file: what users write, checked only for structure.
//!
//! A rules file looks like this (docs/rules.md has the full reference):
//!
//! ```toml
//! version = 1
//!
//! [tables."public.customers"]
//! keep = ["id", "created_at"]
//! [tables."public.customers".columns]
//! first_name = { action = "fake", generator = "first_name", locale = "de_de" }
//! email      = { action = "template", template = "{first_name|slug}.{last_name|slug}@example.com", unique = true }
//!
//! [tables."public.audit_log"]
//! action = "skip"
//! ```
//!
//! Every struct denies unknown fields, so a misspelt option is an error, not a silent no-op.
//! The doc comments on the fields are the user documentation of each option. Column rules
//! ([`ColumnRule`]) and their options live with their strategies in [`crate::strategy`].

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub use crate::strategy::ColumnRule;
pub use crate::strategy::hash::HashFormat;

/// The rules format version this build understands.
pub const RULES_VERSION: i64 = 1;

/// One rules file as parsed, before column rules are decoded.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRulesFile {
    /// Format version; must be 1.
    pub version: Spanned<i64>,
    /// Tables by schema-qualified name, e.g. `"public.customers"`.
    #[serde(default)]
    pub tables: BTreeMap<String, Spanned<RawTable>>,
    /// Copy a referentially complete subset instead of every row (see [`SubsetRules`]).
    #[serde(default)]
    pub subset: Option<Spanned<SubsetRules>>,
}

/// `[subset]`: which rows to copy, from root tables along foreign keys (see
/// [`crate::subset`] for the closure semantics).
///
/// ```toml
/// [subset]
/// unreached = "all"                # tables no root reaches: "all" (default) or "none"
///
/// [[subset.roots]]
/// table = "public.customers"
/// where = "country <> 'Antarctica'" # optional SQL predicate on the table's columns
/// fraction = 0.1                    # optional share of the matching rows (keyed hash of the primary key)
/// limit = 500                       # optional upper bound (the lowest keyed hashes)
///
/// [[subset.relations]]
/// table = "public.orders"           # the table declaring the foreign key
/// columns = ["employee_id"]         # its columns, as in the constraint
/// children = "follow"               # "follow" (default) or "ignore": rows that reference a selected row
/// max_children = 5                  # at most this many per parent row
/// parents = "follow"                # "follow" (default) or "null": set the key to NULL when its row is not selected
///
/// [subset.tables."public.audit_log"]
/// unreached = "none"                # or "all", or where = "…": when no root reaches this table
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubsetRules {
    /// Root tables: where the selection starts. At least one.
    #[serde(default)]
    pub roots: Vec<Spanned<SubsetRoot>>,
    /// Per foreign key: how it is followed (default: both ways, children without limit).
    #[serde(default)]
    pub relations: Vec<Spanned<SubsetRelation>>,
    /// What to take of a table no root reaches (default `"all"`).
    #[serde(default)]
    pub unreached: Unreached,
    /// Per-table choices for tables no root reaches.
    #[serde(default)]
    pub tables: BTreeMap<String, Spanned<SubsetTable>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubsetRoot {
    /// `schema.table`.
    pub table: String,
    /// SQL predicate over the table's columns (without `WHERE`).
    #[serde(default, rename = "where")]
    pub filter: Option<String>,
    /// Share of the (filtered) rows, 0 < fraction <= 1, chosen by a keyed hash of the primary key.
    #[serde(default)]
    pub fraction: Option<f64>,
    /// At most this many rows: the ones with the lowest keyed hash of the primary key.
    #[serde(default)]
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubsetRelation {
    /// `schema.table` declaring the foreign key.
    pub table: String,
    /// The foreign key's columns on that table, in the constraint's order.
    pub columns: Vec<String>,
    #[serde(default)]
    pub children: Children,
    /// With `children = "follow"`: at most this many referencing rows per referenced row.
    #[serde(default)]
    pub max_children: Option<u64>,
    #[serde(default)]
    pub parents: Parents,
}

/// Whether rows referencing a selected row come with it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Children {
    #[default]
    Follow,
    Ignore,
}

/// Whether a selected row's referenced row comes with it, or the reference is set to NULL
/// when that row is not otherwise selected.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parents {
    #[default]
    Follow,
    Null,
}

/// What a subset takes of a table that no root reaches.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unreached {
    #[default]
    All,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubsetTable {
    /// `"all"` or `"none"`; overrides `[subset] unreached` for this table.
    #[serde(default)]
    pub unreached: Option<Unreached>,
    /// Instead of all or none: the rows matching this SQL predicate.
    #[serde(default, rename = "where")]
    pub filter: Option<String>,
}

/// Table-level rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTable {
    /// `"copy"` (default): copy the table, every column by its rule. `"skip"`: do not copy
    /// the table at all (no rows, and for database targets no data).
    #[serde(default)]
    pub action: TableAction,
    /// Columns copied unchanged. Naming them (rather than "keep everything") means a column
    /// added to the source later is never copied without review.
    #[serde(default)]
    pub keep: Vec<Spanned<String>>,
    /// Column rules by column name; each is a table with an `action` and its options.
    #[serde(default)]
    pub columns: BTreeMap<String, Spanned<toml::Value>>,
    /// Columns that together narrow a person down (birth date, postcode, gender, …): the
    /// audit report counts how many output rows share each combination of their values
    /// (see docs/risk.md). Names columns of this table; a skipped table takes none.
    #[serde(default)]
    pub quasi_identifiers: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableAction {
    #[default]
    Copy,
    Skip,
}
