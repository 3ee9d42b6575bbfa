//! The serde model of a rules file: what users write, checked only for structure.
//!
//! A rules file looks like this (the README has the full reference):
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
//! The doc comments on the fields are the user documentation of each option.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

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
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableAction {
    #[default]
    Copy,
    Skip,
}

/// One column's rule. `action` selects the strategy; the other keys are its options.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ColumnRule {
    /// Copy the value unchanged (bit for bit).
    Keep,
    /// Replace every value with NULL. The column must be nullable.
    Null,
    /// Replace every value, NULLs included, with one typed value. The value is written as it
    /// would be in the column's type: `value = 0`, `value = "2020-01-01"`, `value = "12.50"`.
    Constant { value: toml::Value },
    /// Hide characters of a text value.
    Mask {
        /// Characters kept at the start (default 0).
        #[serde(default)]
        keep_first: usize,
        /// Characters kept at the end (default 0).
        #[serde(default)]
        keep_last: usize,
        /// Replacement character in plain mode (default `*`).
        #[serde(default = "default_mask_char")]
        mask_char: char,
        /// Keep length, separators and character classes, replacing each digit with a keyed
        /// random digit and each letter with a letter of the same case (default false).
        #[serde(default)]
        format_preserving: bool,
        #[serde(default)]
        domain: Option<String>,
        #[serde(default)]
        unique: bool,
    },
    /// Keyed blake3 pseudonym.
    Hash {
        /// `"hex"` (text columns): lowercase hex of the keyed hash. `"preserve"`: a keyed
        /// permutation (integers stay distinct integers of the same sign, width and bit
        /// length, values below 2^16 shuffled among themselves, so keys stay in the range
        /// the source uses; uuids, binary or text, stay valid distinct uuids). Default: `hex`
        /// for text, `preserve` for integer and uuid columns.
        #[serde(default)]
        format: Option<HashFormat>,
        /// Hex characters kept, 1 to 64 (default 32). Only with `format = "hex"`.
        #[serde(default)]
        length: Option<usize>,
        #[serde(default)]
        domain: Option<String>,
        #[serde(default)]
        unique: bool,
    },
    /// A synthetic value from a generator, seeded by the keyed hash of the original value.
    Fake {
        /// Generator name, e.g. `"first_name"`, `"email"`, `"date"` (see the README).
        generator: String,
        /// Locale of the generated text: `en` (default), `fr_fr`, `de_de`, ...
        #[serde(default)]
        locale: Option<String>,
        /// Lower bound for `date` (`"1950-01-01"`), `datetime` (`"2020-01-01T00:00:00Z"`),
        /// `integer` and `decimal` (numbers).
        #[serde(default)]
        min: Option<toml::Value>,
        /// Upper bound, inclusive; same forms as `min`.
        #[serde(default)]
        max: Option<toml::Value>,
        /// `[min, max]` number of words (`words`) or sentences (`paragraph`).
        #[serde(default)]
        count: Option<[usize; 2]>,
        /// Mail domain for `email` and host for `url` (default example.com / example.org).
        #[serde(default)]
        email_domain: Option<String>,
        /// Decimal places for `decimal` when the column is text or float (default 2).
        #[serde(default)]
        scale: Option<u32>,
        #[serde(default)]
        domain: Option<String>,
        #[serde(default)]
        unique: bool,
    },
    /// Numbers moved by a keyed random amount; dates and timestamps shifted by a duration.
    /// An amount that cannot move any value (below one unit of the column) is a plan error.
    Noise {
        /// Numbers: at most this much up or down, e.g. `absolute = 5`.
        #[serde(default)]
        absolute: Option<f64>,
        /// Numbers: at most this fraction of the value up or down, e.g. `relative = 0.1`.
        #[serde(default)]
        relative: Option<f64>,
        /// Dates and timestamps: at most this far earlier or later, e.g. `"30d"`, `"12h"`.
        #[serde(default)]
        duration: Option<String>,
        #[serde(default)]
        domain: Option<String>,
    },
    /// Text built from other columns' output values in the same row, e.g.
    /// `"{first_name|slug}.{last_name|slug}@example.com"`. Filters: `lower`, `upper`, `slug`.
    Template {
        template: String,
        #[serde(default)]
        unique: bool,
        #[serde(default)]
        domain: Option<String>,
    },
    /// Find personal data inside free text and replace it.
    Redact {
        /// Detectors: `email`, `phone`, `iban`, `card`, `ip`, `name` (default: all). `[]` needs
        /// `patterns`: a redact that looks for nothing is a plan error.
        #[serde(default)]
        detect: Option<Vec<String>>,
        /// Extra regular expressions to redact.
        #[serde(default)]
        patterns: Vec<String>,
        /// `"tag"` (default): `[EMAIL]`, `[PHONE]`, ...; `"mask"`: same length, alphanumerics replaced.
        #[serde(default)]
        replacement: Option<String>,
    },
    /// Rules for paths inside JSON text: `paths = { "contact.email" = { action = "fake", generator = "email" } }`.
    /// Paths are dot-separated keys; `[*]` steps into every array element. Unlisted parts are kept.
    Json {
        paths: BTreeMap<String, ColumnRule>,
        #[serde(default)]
        domain: Option<String>,
    },
}

fn default_mask_char() -> char {
    '*'
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HashFormat {
    Hex,
    Preserve,
}

impl ColumnRule {
    /// The strategy name as written in rules.
    pub fn action_name(&self) -> &'static str {
        match self {
            ColumnRule::Keep => "keep",
            ColumnRule::Null => "null",
            ColumnRule::Constant { .. } => "constant",
            ColumnRule::Mask { .. } => "mask",
            ColumnRule::Hash { .. } => "hash",
            ColumnRule::Fake { .. } => "fake",
            ColumnRule::Noise { .. } => "noise",
            ColumnRule::Template { .. } => "template",
            ColumnRule::Redact { .. } => "redact",
            ColumnRule::Json { .. } => "json",
        }
    }
}
