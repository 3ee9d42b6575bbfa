//! The description of tables every layer shares: a table's name, Arrow schema and keys
//! ([`SourceTable`], [`ForeignKey`]), and the field-metadata keys a PostgreSQL source puts on
//! its columns ([`PG_TYPE`], [`PG_GENERATED`], [`PG_GENERATED_READS`]) that plans, rules locks,
//! scans, verification and sinks read. Sources produce these; nothing here talks to a database.

use arrow_schema::{Field, SchemaRef};

/// One table as a source presents it: its name, its columns, and the keys and access
/// facts the plan checks before anything is written.
#[derive(Debug, Clone)]
pub struct SourceTable {
    /// Schema-qualified name, e.g. `public.customers`.
    pub name: String,
    pub schema: SchemaRef,
    /// The primary key's columns in key order; `None` when the table has no primary key or
    /// the source cannot tell (Parquet).
    pub primary_key: Option<Vec<String>>,
    /// Every unique index (primary key, unique constraints, unique indexes, partial or on
    /// expressions), in index name order; empty for sources without constraints (Parquet).
    pub unique_keys: Vec<UniqueKey>,
    /// CHECK constraints of the table and of its columns' domains, and domains declared
    /// NOT NULL; empty for sources without constraints (Parquet).
    pub checks: Vec<CheckConstraint>,
    /// Foreign keys declared on this table, in constraint name order; empty for sources
    /// without constraints (Parquet).
    pub foreign_keys: Vec<ForeignKey>,
    /// PostgreSQL row-level security policies apply to the reading role on this table, so a
    /// read would see only the rows they allow (the reader refuses instead; see
    /// `source::postgres`). Always false for Parquet.
    pub row_security: bool,
}

impl SourceTable {
    /// A table without keys or row security (what a Parquet file can describe).
    pub fn new(name: impl Into<String>, schema: SchemaRef) -> SourceTable {
        SourceTable {
            name: name.into(),
            schema,
            primary_key: None,
            unique_keys: Vec::new(),
            checks: Vec::new(),
            foreign_keys: Vec::new(),
            row_security: false,
        }
    }
}

/// A unique index of a table (what PostgreSQL enforces for a primary key, a unique
/// constraint or `CREATE UNIQUE INDEX`): no two rows (that its predicate selects, when
/// `partial`) hold equal values in all of `columns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueKey {
    /// The index's name.
    pub name: String,
    /// The columns the key compares, in key order, each once. For an expression other than
    /// `lower(column)` / `upper(column)`, the columns the expression reads (`expression`).
    pub columns: Vec<String>,
    /// Those of `columns` compared without regard to case: a `citext` column, one the index
    /// compares under a nondeterministic collation, or one it reads through `lower(...)` /
    /// `upper(...)`.
    pub case_insensitive: Vec<String>,
    /// A partial index (`WHERE ...`): only the rows its predicate selects must differ.
    pub partial: bool,
    /// A key position is an expression other than `lower(column)` / `upper(column)`;
    /// `columns` then lists what the expressions read.
    pub expression: bool,
    /// `NULLS NOT DISTINCT` (PostgreSQL 15+): two NULLs count as equal.
    pub nulls_not_distinct: bool,
    /// The table's primary key.
    pub primary: bool,
}

/// A CHECK constraint the target enforces on every row: the table's own, or one of a
/// column's domain (`CREATE DOMAIN … CHECK (…)`), or a domain's NOT NULL. doppel cannot
/// evaluate a CHECK's expression: the target checks the rules' values, and the plan shows
/// which transformed columns a CHECK reads (`check --explain`); a domain's NOT NULL refuses
/// `null` like a column's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConstraint {
    /// The constraint's name (for a domain's NOT NULL, the domain's name).
    pub name: String,
    /// The columns it reads, in attnum order.
    pub columns: Vec<String>,
    /// The domain that declares it; `None` for the table's own CHECK.
    pub domain: Option<String>,
    /// A domain declared NOT NULL (no expression).
    pub not_null: bool,
}

/// A foreign key: `columns` of the table that declares it reference `references_columns`
/// of `references_table`, position by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The constraint's name (unique per table in PostgreSQL).
    pub name: String,
    /// Referencing columns, in the constraint's order; at least one.
    pub columns: Vec<String>,
    /// `schema.table` of the referenced table, as sources name tables (a reference to a
    /// partition names the partitioned table doppel reads it through). May be this table.
    pub references_table: String,
    /// Referenced columns, in the same order as `columns`.
    pub references_columns: Vec<String>,
    /// `DEFERRABLE` (initially deferred or not).
    pub deferrable: bool,
}

/// Field metadata key holding PostgreSQL's name of the column type.
pub const PG_TYPE: &str = "pg.type";
/// Field metadata key marking generated columns.
pub const PG_GENERATED: &str = "pg.generated";
/// Field metadata of a generated column: the columns its expression reads, as a JSON array
/// of names (`["first_name", "last_name"]`).
pub const PG_GENERATED_READS: &str = "pg.generated.reads";
/// The `pg.generated.reads` metadata: the column names as a JSON array of strings.
pub fn generated_reads_text(reads: &[String]) -> String {
    serde_json::Value::from(reads.to_vec()).to_string()
}

/// The columns a field's `pg.generated.reads` metadata names; `None` when the field is not
/// generated, `Some(None)` when it is but the list is missing or unreadable (a reader must
/// then assume it reads every column).
pub fn generated_reads(field: &Field) -> Option<Option<Vec<String>>> {
    let metadata = field.metadata();
    metadata.get(PG_GENERATED)?;
    Some(metadata.get(PG_GENERATED_READS).and_then(|t| serde_json::from_str(t).ok()))
}

/// A schema as a dump file states it, for the targets that rebuild it (a database, a SQL
/// dump): the dump's own SQL before and after its table data, and its sequences' values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpedSchema {
    /// pg_dump's session settings (`SET …;` lines), which each section runs first.
    pub preamble: String,
    /// The SQL before the first table data (pre-data), as in the dump, owners and privileges
    /// included (the targets filter them as `--role-map` says).
    pub pre_data: String,
    /// The SQL after the last table data (post-data).
    pub post_data: String,
    /// Every table as `(schema, table)`.
    pub tables: Vec<(String, String)>,
    /// Every sequence, in (schema, name) order.
    pub sequences: Vec<SequenceState>,
    /// The plain script itself and where each table's rows sit in it (the stream filter).
    pub script: ScriptLayout,
}

/// A dump's plain script on disk and where each table's data block sits in it, by byte
/// offset, in the script's order: what the stream filter ([`crate::sink::postgres::filter`])
/// copies through and what it replaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptLayout {
    /// The script: the plain dump itself, or the spool of stdin or of an archive (which lives
    /// as long as the source).
    pub file: std::path::PathBuf,
    pub blocks: Vec<DataBlock>,
}

/// One table's `COPY … FROM stdin;` block in a [`ScriptLayout`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataBlock {
    /// `schema.table`.
    pub table: String,
    /// Offset of the `COPY` line.
    pub copy_line: u64,
    /// Offset of the first row.
    pub rows: u64,
    /// Offset just past the `\.` line.
    pub end: u64,
}

/// A sequence's value as a dump sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceState {
    pub schema: String,
    pub name: String,
    pub last_value: i64,
    pub is_called: bool,
    /// `schema.table` and column of the integer column owning it, when it is ascending.
    pub owner: Option<(String, String)>,
}
