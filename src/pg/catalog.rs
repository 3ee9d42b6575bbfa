//! Reading the catalog, inside the exported snapshot: which relations are tables, their
//! columns in attnum order, their PostgreSQL types (domains resolved) and the Arrow schema,
//! their primary and foreign keys, whether row-level security hides rows from the reading
//! role, and the COPY query that reads each one.
//!
//! Tables are ordinary (relkind `r`) and partitioned (`p`) relations of every schema but
//! `pg_catalog`, `information_schema`, `pg_toast*` and `pg_temp*`. Partitions are read
//! through their partitioned parent, never on their own; an inheritance parent is read with
//! `FROM ONLY` so its children's rows are read once, as their own tables. Views,
//! materialized views and sequences are not tables.
//!
//! Keys: a table's primary key and the foreign keys declared on it (`pg_constraint` types
//! `p` and `f`), columns in the constraint's order. Foreign keys of a partitioned table are
//! declared on it (its partitions' clones are not listed), and a reference to a partition
//! names the partitioned table it is read through. Inheritance children declare their own.
//!
//! What is not copied is logged as a warning naming it: foreign tables, and large objects
//! (`pg_largeobject_metadata`; a column of type `oid` or `lo` is copied as the number it
//! holds, which names nothing on the target).

use std::collections::HashMap;
use std::sync::Arc;

use crate::schema::{CheckConstraint, ForeignKey, UniqueKey};

use arrow_schema::{Field, Schema, SchemaRef};
use postgres::Client;

use super::ident::quote_ident;
use super::type_class::{TypeClass, read_type_classes};
use super::types::{ColumnKind, resolve_domain};
use crate::schema::{PG_GENERATED_READS, generated_reads_text};

/// One column as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgColumn {
    pub name: String,
    /// `format_type(atttypid, atttypmod)`, e.g. `character varying(40)`; names the domain for
    /// a domain column.
    pub pg_type: String,
    pub kind: ColumnKind,
    pub not_null: bool,
    pub generated: bool,
    /// For a generated column, the columns its expression reads (from `pg_depend`), in
    /// attnum order; carried in the field metadata `pg.generated.reads` (see [`PG_GENERATED_READS`]).
    pub reads: Vec<String>,
    /// The type's kind, enum labels and domain flags ([`super::type_class`]).
    pub class: TypeClass,
}

/// One table to read.
#[derive(Debug, Clone)]
pub struct PgTable {
    pub schema_name: String,
    pub table_name: String,
    pub partitioned: bool,
    pub columns: Vec<PgColumn>,
    /// Primary key columns in key order.
    pub primary_key: Option<Vec<String>>,
    /// Unique indexes (primary key included), in index name order.
    pub unique_keys: Vec<UniqueKey>,
    /// CHECK constraints of the table and its columns' domains, domains' NOT NULL.
    pub checks: Vec<CheckConstraint>,
    /// Foreign keys declared on the table, in constraint name order.
    pub foreign_keys: Vec<ForeignKey>,
    /// Row-level security policies apply to the reading role (`row_security_active`): the
    /// table has RLS enabled, and the role is neither a superuser, nor BYPASSRLS, nor the
    /// owner of a table that does not FORCE row security.
    pub row_security: bool,
}

impl PgTable {
    /// `schema.table`, unquoted, as in rules files.
    pub fn name(&self) -> String {
        format!("{}.{}", self.schema_name, self.table_name)
    }

    pub fn arrow_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| {
                let field = c.kind.field(&c.name, &c.pg_type, !c.not_null, c.generated);
                let mut metadata = field.metadata().clone();
                c.class.annotate(&mut metadata);
                if c.generated {
                    metadata.insert(PG_GENERATED_READS.to_string(), generated_reads_text(&c.reads));
                }
                field.with_metadata(metadata)
            })
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// The table as sources present it.
    pub fn source_table(&self) -> crate::schema::SourceTable {
        crate::schema::SourceTable {
            name: self.name(),
            schema: self.arrow_schema(),
            primary_key: self.primary_key.clone(),
            unique_keys: self.unique_keys.clone(),
            checks: self.checks.clone(),
            foreign_keys: self.foreign_keys.clone(),
            row_security: self.row_security,
        }
    }

    pub fn kinds(&self) -> Vec<ColumnKind> {
        self.columns.iter().map(|c| c.kind).collect()
    }

    /// `COPY (SELECT "a", "b" FROM ONLY "s"."t") TO STDOUT`; partitioned tables without ONLY.
    pub fn copy_query(&self) -> String {
        format!("COPY (SELECT {} FROM {}) TO STDOUT", self.quoted_columns().join(", "), self.from_clause())
    }

    /// Every column of `columns` (indexes), quoted, and `NULL` in place of the others, in
    /// attnum order.
    pub fn projected_columns(&self, columns: &[usize]) -> Vec<String> {
        let quoted = self.quoted_columns();
        quoted.into_iter().enumerate().map(|(i, q)| if columns.contains(&i) { q } else { "NULL".into() }).collect()
    }

    /// [`Self::arrow_schema`] with the fields not in `columns` nullable (read as NULL).
    pub fn projected_schema(&self, columns: &[usize]) -> SchemaRef {
        let schema = self.arrow_schema();
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .enumerate()
            .map(
                |(i, f)| if columns.contains(&i) { f.as_ref().clone() } else { f.as_ref().clone().with_nullable(true) },
            )
            .collect();
        std::sync::Arc::new(arrow_schema::Schema::new_with_metadata(fields, schema.metadata().clone()))
    }

    /// Every column, quoted, in attnum order.
    pub fn quoted_columns(&self) -> Vec<String> {
        self.columns.iter().map(|c| quote_ident(&c.name)).collect()
    }

    /// `ONLY "s"."t"`, or `"s"."t"` for a partitioned table (read with its partitions).
    pub fn from_clause(&self) -> String {
        relation_clause(&self.schema_name, &self.table_name, self.partitioned)
    }
}

/// `ONLY "s"."t"`, or `"s"."t"` for a partitioned table: what a read of the table (and a
/// lock taken for it) covers.
fn relation_clause(schema: &str, table: &str, partitioned: bool) -> String {
    format!("{}{}.{}", if partitioned { "" } else { "ONLY " }, quote_ident(schema), quote_ident(table))
}

/// One table [`read_tables`] lists that the session may read (SELECT on the table), with
/// what `LOCK TABLE` takes to cover the read (`ONLY "s"."t"`, or `"s"."t"` for a partitioned
/// table, whose partitions the lock covers too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockable {
    /// `schema.table`, unquoted.
    pub name: String,
    pub lock_target: String,
}

/// The tables to lock before the snapshot is taken (see [`Lockable`]), sorted by name. Run
/// it again inside the snapshot to check that no table appeared, vanished or was renamed in
/// between.
pub fn lockable_tables(client: &mut Client) -> Result<Vec<Lockable>, postgres::Error> {
    let rows = client.query(
        &format!(
            "SELECT n.nspname::text, c.relname::text, c.relkind = 'p' \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {SCHEMA_FILTER} \
               AND pg_catalog.has_table_privilege(c.oid, 'SELECT') \
             ORDER BY 1, 2"
        ),
        &[],
    )?;
    let mut tables: Vec<Lockable> = rows
        .into_iter()
        .map(|r| {
            let (schema, table, partitioned): (String, String, bool) = (r.get(0), r.get(1), r.get(2));
            Lockable { name: format!("{schema}.{table}"), lock_target: relation_clause(&schema, &table, partitioned) }
        })
        .collect();
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tables)
}

const SCHEMA_FILTER: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

/// The planner's row count (`pg_class.reltuples`) of every table, by `schema.table`; a
/// partitioned table sums its leaf partitions (at any depth). Negative when the table, or one
/// of its leaves, was never analysed (PostgreSQL 14 and later; older servers say 0).
pub fn row_estimates(client: &mut Client) -> Result<HashMap<String, f64>, postgres::Error> {
    let rows = client.query(
        "WITH RECURSIVE tree(root, relid) AS ( \
             SELECT c.oid, c.oid FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'p') \
           UNION ALL \
             SELECT t.root, i.inhrelid FROM tree t \
             JOIN pg_catalog.pg_class p ON p.oid = t.relid AND p.relkind = 'p' \
             JOIN pg_catalog.pg_inherits i ON i.inhparent = t.relid) \
         SELECT n.nspname::text || '.' || r.relname::text, \
                CASE WHEN bool_or(l.reltuples < 0) THEN -1 ELSE coalesce(sum(l.reltuples), 0) END::float8 \
         FROM tree t \
         JOIN pg_catalog.pg_class r ON r.oid = t.root \
         JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace \
         LEFT JOIN pg_catalog.pg_class l ON l.oid = t.relid AND l.relkind <> 'p' \
         GROUP BY 1",
        &[],
    )?;
    Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Every domain of the database: its oid → (base type oid, typmod), for
/// [`super::types::resolve_domain`].
pub fn read_domains(client: &mut Client) -> Result<HashMap<u32, (u32, i32)>, postgres::Error> {
    Ok(client
        .query("SELECT oid, typbasetype, typtypmod FROM pg_catalog.pg_type WHERE typtype = 'd'", &[])?
        .into_iter()
        .map(|r| (r.get::<_, u32>(0), (r.get::<_, u32>(1), r.get::<_, i32>(2))))
        .collect())
}

/// Reads the tables, their columns and keys, and logs what is not copied (see the module
/// docs). `server_version_num` selects the catalog columns that exist (attgenerated since
/// 12, conparentid since 11). Returns tables sorted by `schema.table`.
pub fn read_tables(client: &mut Client, server_version_num: i32) -> Result<Vec<PgTable>, postgres::Error> {
    warn_not_copied(client)?;
    describe_tables(client, server_version_num)
}

/// [`read_tables`] without the warnings about what is not copied: for a database doppel
/// writes into, whose tables' keys the plan checks.
pub fn describe_tables(client: &mut Client, server_version_num: i32) -> Result<Vec<PgTable>, postgres::Error> {
    let domains = read_domains(client)?;

    let generated = if server_version_num >= 120000 { "a.attgenerated::text" } else { "''::text" };
    // The columns a generated column's expression reads: PostgreSQL records them as
    // dependencies of the column (12+), or of its default expression in pg_attrdef.
    let reads = "ARRAY(SELECT r.attname::text FROM pg_catalog.pg_attribute r \
                   WHERE r.attrelid = c.oid AND r.attnum > 0 AND r.attnum <> a.attnum AND r.attnum IN ( \
                     SELECT d.refobjsubid FROM pg_catalog.pg_depend d \
                     WHERE d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = c.oid \
                       AND ((d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid \
                             AND d.objsubid = a.attnum) \
                         OR (d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND d.objid IN ( \
                             SELECT ad.oid FROM pg_catalog.pg_attrdef ad \
                             WHERE ad.adrelid = c.oid AND ad.adnum = a.attnum)))) \
                   ORDER BY r.attnum)";
    let rows = client.query(
        &format!(
            "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind = 'p', \
                    a.attname::text, a.atttypid, a.atttypmod, \
                    pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, {generated}, {reads} \
             FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_catalog.pg_attribute a \
                    ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {SCHEMA_FILTER} \
             ORDER BY c.oid, a.attnum"
        ),
        &[],
    )?;

    let mut tables: Vec<PgTable> = Vec::new();
    let mut oids: Vec<u32> = Vec::new();
    let mut type_oids: Vec<(u32, ColumnKind)> = Vec::new();
    for row in rows {
        let oid: u32 = row.get(0);
        if oids.last() != Some(&oid) {
            oids.push(oid);
            tables.push(PgTable {
                schema_name: row.get(1),
                table_name: row.get(2),
                partitioned: row.get(3),
                columns: Vec::new(),
                primary_key: None,
                unique_keys: Vec::new(),
                checks: Vec::new(),
                foreign_keys: Vec::new(),
                row_security: false,
            });
        }
        // A table without columns comes back as one row of NULL attributes.
        let Some(name) = row.get::<_, Option<String>>(4) else { continue };
        let (type_oid, typmod): (u32, i32) = (row.get(5), row.get(6));
        let (base, effective_typmod) = resolve_domain(type_oid, typmod, &domains);
        let table = tables.last_mut().expect("a table was pushed above");
        let kind = ColumnKind::of(base, effective_typmod);
        type_oids.push((type_oid, kind));
        table.columns.push(PgColumn {
            name,
            pg_type: row.get(7),
            kind,
            not_null: row.get(8),
            generated: row.get::<_, String>(9) == "s",
            reads: row.get(10),
            class: TypeClass::plain(&kind),
        });
    }
    let classes = read_type_classes(client, &type_oids, &domains)?;
    for (column, (type_oid, _)) in tables.iter_mut().flat_map(|t| t.columns.iter_mut()).zip(&type_oids) {
        if let Some(class) = classes.get(type_oid) {
            column.class = class.clone();
        }
    }
    read_keys(client, server_version_num, &oids, &mut tables)?;
    read_unique_keys(client, server_version_num, &oids, &mut tables)?;
    read_checks(client, &oids, &mut tables)?;
    let protected: Vec<u32> = client
        .query(
            "SELECT c.oid FROM pg_catalog.pg_class c WHERE c.oid = ANY($1) AND pg_catalog.row_security_active(c.oid)",
            &[&oids],
        )?
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    for (oid, table) in oids.iter().zip(tables.iter_mut()) {
        table.row_security = protected.contains(oid);
    }
    tables.sort_by_key(PgTable::name);
    Ok(tables)
}

/// Logs a warning for what exists in the database but is not copied: foreign tables (by
/// name) and large objects (how many).
fn warn_not_copied(client: &mut Client) -> Result<(), postgres::Error> {
    let foreign = client.query(
        &format!(
            "SELECT n.nspname::text, c.relname::text FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'f' AND NOT c.relispartition AND {SCHEMA_FILTER} \
             ORDER BY 1, 2"
        ),
        &[],
    )?;
    for row in foreign {
        let (schema, table): (String, String) = (row.get(0), row.get(1));
        tracing::warn!(table = %format!("{schema}.{table}"), "foreign table {schema}.{table} is not copied: doppel reads only ordinary and partitioned tables");
    }
    let large_objects: i64 = client.query_one("SELECT count(*) FROM pg_catalog.pg_largeobject_metadata", &[])?.get(0);
    if large_objects > 0 {
        tracing::warn!(
            large_objects,
            "the database holds {large_objects} large object(s) (pg_largeobject); they are not copied, and a column \
             of type oid or lo referring to one is copied as the number it holds, which names no large object on \
             the target"
        );
    }
    Ok(())
}

/// Fills in the primary and foreign keys of `tables` (whose relation oids are `oids`, in
/// the same order).
fn read_keys(
    client: &mut Client,
    server_version_num: i32,
    oids: &[u32],
    tables: &mut [PgTable],
) -> Result<(), postgres::Error> {
    // Partition → parent, to name a referenced partition by the table doppel reads.
    let parents: HashMap<u32, u32> = client
        .query(
            "SELECT i.inhrelid, i.inhparent FROM pg_catalog.pg_inherits i \
             JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid WHERE c.relispartition",
            &[],
        )?
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let names: HashMap<u32, String> = oids.iter().copied().zip(tables.iter().map(PgTable::name)).collect();
    let read_through = |mut oid: u32| {
        // Partitions nest; the catalog has no cycles, but do not trust it blindly.
        for _ in 0..64 {
            if names.contains_key(&oid) {
                break;
            }
            match parents.get(&oid) {
                Some(&parent) => oid = parent,
                None => break,
            }
        }
        names.get(&oid).cloned()
    };
    // Clones of a partitioned table's constraints on its partitions, and the per-partition
    // constraints PostgreSQL adds for a reference to a partitioned table, have a parent.
    let own = if server_version_num >= 110000 { "AND con.conparentid = 0" } else { "" };
    let column_names = |keys: &str, rel: &str| {
        format!(
            "ARRAY(SELECT a.attname::text FROM unnest(con.{keys}) WITH ORDINALITY k(attnum, i) \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.{rel} AND a.attnum = k.attnum ORDER BY k.i)"
        )
    };
    let rows = client.query(
        &format!(
            "SELECT con.conrelid, con.contype = 'p', con.conname::text, con.condeferrable, {}, con.confrelid, \
                    {}, rn.nspname::text || '.' || rc.relname::text \
             FROM pg_catalog.pg_constraint con \
             LEFT JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid \
             LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace \
             WHERE con.contype IN ('p', 'f') AND con.conrelid = ANY($1) {own} \
             ORDER BY con.conrelid, con.conname",
            column_names("conkey", "conrelid"),
            column_names("confkey", "confrelid"),
        ),
        &[&oids],
    )?;
    let index: HashMap<u32, usize> = oids.iter().enumerate().map(|(i, &oid)| (oid, i)).collect();
    for row in rows {
        let Some(&i) = index.get(&row.get::<_, u32>(0)) else { continue };
        let columns: Vec<String> = row.get(4);
        if row.get(1) {
            tables[i].primary_key = Some(columns);
            continue;
        }
        let referenced: u32 = row.get(5);
        let references_table = read_through(referenced).or_else(|| row.get(7)).unwrap_or_default();
        tables[i].foreign_keys.push(ForeignKey {
            name: row.get(2),
            columns,
            references_table,
            references_columns: row.get(6),
            deferrable: row.get(3),
        });
    }
    Ok(())
}

/// Fills in the unique keys of `tables` (whose relation oids are `oids`, in the same order):
/// every unique index on the table itself (a partitioned table's own index, not its
/// partitions'), with each key position read as a column, a column under `lower()` /
/// `upper()`, or another expression (see [`UniqueKey`]). A `citext` column (or a domain
/// over it), and a column compared under a nondeterministic collation (PostgreSQL 12+, e.g.
/// an ICU collation with `ks-level2`), are compared without regard to case (doppel folds
/// case only: an accent-insensitive collation can still find two outputs equal).
fn read_unique_keys(
    client: &mut Client,
    server_version_num: i32,
    oids: &[u32],
    tables: &mut [PgTable],
) -> Result<(), postgres::Error> {
    let key_count = if server_version_num >= 110000 { "i.indnkeyatts" } else { "i.indnatts" };
    let nulls_not_distinct = if server_version_num >= 150000 { "i.indnullsnotdistinct" } else { "false" };
    // A nondeterministic collation (12+) may compare without regard to case; doppel folds case.
    let nondeterministic = if server_version_num >= 120000 { "NOT co.collisdeterministic" } else { "false" };
    let rows = client.query(
        &format!(
            "SELECT i.indrelid, ic.relname::text, i.indisprimary, i.indpred IS NOT NULL, {nulls_not_distinct}, \
                    ARRAY(SELECT coalesce(a.attname::text, '') FROM generate_series(1, {key_count}) g(n) \
                          LEFT JOIN pg_catalog.pg_attribute a \
                                 ON a.attrelid = i.indrelid AND a.attnum = i.indkey[g.n - 1] AND a.attnum > 0 \
                          ORDER BY g.n), \
                    ARRAY(SELECT pg_catalog.pg_get_indexdef(i.indexrelid, g.n, true) \
                          FROM generate_series(1, {key_count}) g(n) ORDER BY g.n), \
                    ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a \
                          JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
                          JOIN pg_catalog.pg_type b \
                            ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END \
                          WHERE a.attrelid = i.indrelid AND a.attnum > 0 AND NOT a.attisdropped \
                            AND b.typname = 'citext' ORDER BY a.attnum), \
                    ARRAY(SELECT coalesce({nondeterministic}, false) FROM generate_series(1, {key_count}) g(n) \
                          LEFT JOIN pg_catalog.pg_collation co ON co.oid = i.indcollation[g.n - 1] \
                          ORDER BY g.n) \
             FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
             WHERE i.indisunique AND i.indrelid = ANY($1) \
             ORDER BY i.indrelid, ic.relname"
        ),
        &[&oids],
    )?;
    let index: HashMap<u32, usize> = oids.iter().enumerate().map(|(i, &oid)| (oid, i)).collect();
    for row in rows {
        let Some(&i) = index.get(&row.get::<_, u32>(0)) else { continue };
        let names: Vec<String> = row.get(5);
        let definitions: Vec<String> = row.get(6);
        let citext: Vec<String> = row.get(7);
        let nondeterministic: Vec<bool> = row.get(8);
        let table_columns: Vec<String> = tables[i].columns.iter().map(|c| c.name.clone()).collect();
        let mut key = UniqueKey {
            name: row.get(1),
            columns: Vec::new(),
            case_insensitive: Vec::new(),
            partial: row.get(3),
            expression: false,
            nulls_not_distinct: row.get(4),
            primary: row.get(2),
        };
        let add = |key: &mut UniqueKey, column: &str, folded: bool| {
            if !key.columns.iter().any(|c| c == column) {
                key.columns.push(column.to_string());
            }
            if (folded || citext.iter().any(|c| c == column)) && !key.case_insensitive.iter().any(|c| c == column) {
                key.case_insensitive.push(column.to_string());
            }
        };
        for ((name, definition), &collation_folds) in names.iter().zip(&definitions).zip(&nondeterministic) {
            match key_position(name, definition, &table_columns) {
                KeyPosition::Column(c) => add(&mut key, &c, collation_folds),
                KeyPosition::Folded(c) => add(&mut key, &c, true),
                KeyPosition::Expression(read) => {
                    key.expression = true;
                    for c in read {
                        add(&mut key, &c, false);
                    }
                }
            }
        }
        tables[i].unique_keys.push(key);
    }
    Ok(())
}

/// Fills in the CHECK constraints of `tables` (whose relation oids are `oids`, in the same
/// order): the table's own (`pg_constraint` type `c`, with the columns they read), and
/// for each column of a domain type (domains over domains followed) its domains' CHECKs and
/// NOT NULL. Sorted by domain (the table's own first), then name.
fn read_checks(client: &mut Client, oids: &[u32], tables: &mut [PgTable]) -> Result<(), postgres::Error> {
    let rows = client.query(
        "SELECT con.conrelid, con.conname::text, \
                ARRAY(SELECT a.attname::text FROM unnest(con.conkey) k(n) \
                      JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.n), \
                NULL::text, false \
         FROM pg_catalog.pg_constraint con WHERE con.contype = 'c' AND con.conrelid = ANY($1) \
         UNION ALL \
         SELECT * FROM ( \
           WITH RECURSIVE chain(attrelid, attnum, attname, typid, depth) AS ( \
             SELECT a.attrelid, a.attnum, a.attname::text, a.atttypid, 0 FROM pg_catalog.pg_attribute a \
             WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped \
             UNION ALL \
             SELECT c.attrelid, c.attnum, c.attname, t.typbasetype, c.depth + 1 FROM chain c \
             JOIN pg_catalog.pg_type t ON t.oid = c.typid WHERE t.typtype = 'd' AND c.depth < 16) \
           SELECT c.attrelid, con.conname::text, ARRAY[c.attname], \
                  tn.nspname::text || '.' || t.typname::text, false \
           FROM chain c JOIN pg_catalog.pg_type t ON t.oid = c.typid AND t.typtype = 'd' \
           JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace \
           JOIN pg_catalog.pg_constraint con ON con.contypid = t.oid AND con.contype = 'c' \
           UNION ALL \
           SELECT c.attrelid, tn.nspname::text || '.' || t.typname::text, ARRAY[c.attname], \
                  tn.nspname::text || '.' || t.typname::text, true \
           FROM chain c JOIN pg_catalog.pg_type t ON t.oid = c.typid AND t.typtype = 'd' AND t.typnotnull \
           JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace) d \
         ORDER BY 1, 4 NULLS FIRST, 2, 3",
        &[&oids],
    )?;
    let index: HashMap<u32, usize> = oids.iter().enumerate().map(|(i, &oid)| (oid, i)).collect();
    for row in rows {
        let Some(&i) = index.get(&row.get::<_, u32>(0)) else { continue };
        tables[i].checks.push(CheckConstraint {
            name: row.get(1),
            columns: row.get(2),
            domain: row.get(3),
            not_null: row.get(4),
        });
    }
    Ok(())
}

/// What one position of a unique index compares.
#[derive(Debug, PartialEq, Eq)]
enum KeyPosition {
    Column(String),
    /// `lower(column)` or `upper(column)` (casts allowed around the column).
    Folded(String),
    /// Any other expression, with the table's columns its text names.
    Expression(Vec<String>),
}

/// Reads one key position: `name` is the column's name for a plain column (empty for an
/// expression), `definition` what `pg_get_indexdef(index, n, true)` prints for it.
fn key_position(name: &str, definition: &str, columns: &[String]) -> KeyPosition {
    if !name.is_empty() {
        return KeyPosition::Column(name.to_string());
    }
    let text = definition.trim();
    let lowered = text.to_ascii_lowercase();
    if (lowered.starts_with("lower(") || lowered.starts_with("upper(")) && text.ends_with(')') {
        let inner = strip_casts(&text[6..text.len() - 1]);
        if let [one] = identifiers(inner).as_slice()
            && identifiers_only(inner)
            && columns.contains(one)
        {
            return KeyPosition::Folded(one.clone());
        }
    }
    let mut read: Vec<String> = Vec::new();
    for id in identifiers(text) {
        if columns.contains(&id) && !read.contains(&id) {
            read.push(id);
        }
    }
    KeyPosition::Expression(read)
}

/// `(email)::text` → `email`: outer parentheses and trailing `::type` casts removed.
fn strip_casts(mut text: &str) -> &str {
    loop {
        text = text.trim();
        if let Some(cast) = top_level_cast(text) {
            text = &text[..cast];
        } else if text.starts_with('(') && text.ends_with(')') && top_level_cast(&text[1..text.len() - 1]).is_some()
            || text.starts_with('(') && text.ends_with(')') && !text[1..text.len() - 1].contains(['(', ')'])
        {
            text = &text[1..text.len() - 1];
        } else {
            return text;
        }
    }
}

/// The byte offset of the first `::` outside parentheses and double quotes.
fn top_level_cast(text: &str) -> Option<usize> {
    let (mut depth, mut quoted) = (0i32, false);
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            b':' if !quoted && depth == 0 && bytes.get(i + 1) == Some(&b':') => return Some(i),
            _ => {}
        }
    }
    None
}

/// Whether `text` is one identifier, bare or double-quoted.
fn identifiers_only(text: &str) -> bool {
    let t = text.trim();
    (t.starts_with('"') && t.ends_with('"') && t.len() >= 2)
        || (!t.is_empty() && t.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$'))
}

/// The identifiers `text` names, bare or double-quoted (`""` inside quotes is one `"`);
/// string literals are skipped.
fn identifiers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                while let Some(c) = chars.next() {
                    if c == '\'' {
                        if chars.peek() == Some(&'\'') {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
            }
            '"' => {
                let mut id = String::new();
                while let Some(c) = chars.next() {
                    if c == '"' {
                        if chars.peek() == Some(&'"') {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    id.push(c);
                }
                out.push(id);
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut id = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_alphanumeric() || n == '_' || n == '$' {
                        id.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(id);
            }
            _ => {}
        }
    }
    out
}

/// The constraints of the database `client` is connected to that are NOT VALID, as
/// `schema.table: constraint` (or the domain's name), in name order.
pub fn not_valid_constraints(client: &mut Client) -> std::result::Result<Vec<String>, postgres::Error> {
    let rows = client.query(
        "SELECT n.nspname || '.' || coalesce(c.relname, t.typname, '?') || ': ' || k.conname \
         FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_namespace n ON n.oid = k.connamespace \
         LEFT JOIN pg_catalog.pg_class c ON c.oid = k.conrelid LEFT JOIN pg_catalog.pg_type t ON t.oid = k.contypid \
         WHERE NOT k.convalidated ORDER BY 1",
        &[],
    )?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::generated_reads;

    #[test]
    fn generated_columns_carry_the_columns_they_read_and_unknown_reads_are_told_apart() {
        let mut t = table("public", "t", false, &["a", "g"]);
        t.columns[1].generated = true;
        t.columns[1].reads = vec!["a".into(), "we\"ird, name".into()];
        let schema = t.arrow_schema();
        assert_eq!(generated_reads(schema.field(0)), None);
        assert_eq!(generated_reads(schema.field(1)), Some(Some(vec!["a".to_string(), "we\"ird, name".to_string()])));
        let bare = Field::new("g", arrow_schema::DataType::Utf8, true)
            .with_metadata(HashMap::from([(crate::schema::PG_GENERATED.to_string(), "stored".to_string())]));
        assert_eq!(generated_reads(&bare), Some(None));
    }

    fn table(schema: &str, name: &str, partitioned: bool, cols: &[&str]) -> PgTable {
        PgTable {
            schema_name: schema.into(),
            table_name: name.into(),
            partitioned,
            columns: cols
                .iter()
                .map(|c| PgColumn {
                    name: c.to_string(),
                    pg_type: "text".into(),
                    kind: ColumnKind::Text,
                    not_null: false,
                    generated: false,
                    reads: Vec::new(),
                    class: TypeClass::plain(&ColumnKind::Text),
                })
                .collect(),
            primary_key: None,
            unique_keys: Vec::new(),
            checks: Vec::new(),
            foreign_keys: Vec::new(),
            row_security: false,
        }
    }

    #[test]
    fn unique_index_positions_are_columns_case_folded_columns_or_expressions() {
        let columns: Vec<String> = ["email", "Mixed Case", "a", "b"].map(String::from).to_vec();
        let position = |d: &str| key_position("", d, &columns);
        assert_eq!(key_position("a", "a", &columns), KeyPosition::Column("a".into()));
        assert_eq!(position("lower(email)"), KeyPosition::Folded("email".into()));
        assert_eq!(position("lower(email::text)"), KeyPosition::Folded("email".into()));
        assert_eq!(position("lower((email)::text)"), KeyPosition::Folded("email".into()));
        assert_eq!(position("upper(\"Mixed Case\"::text)"), KeyPosition::Folded("Mixed Case".into()));
        assert_eq!(position("lower(a || b)"), KeyPosition::Expression(vec!["a".into(), "b".into()]));
        assert_eq!(position("(a + 1)"), KeyPosition::Expression(vec!["a".into()]));
        assert_eq!(position("COALESCE(a, 'b'::text)"), KeyPosition::Expression(vec!["a".into()]));
        assert_eq!(position("date_trunc('day'::text, b)"), KeyPosition::Expression(vec!["b".into()]));
    }

    #[test]
    fn copy_queries_use_only_for_plain_tables() {
        let t = table("Sales Data", "Mixed \"Case\"", false, &["id", "Full Name"]);
        assert_eq!(t.name(), "Sales Data.Mixed \"Case\"");
        assert_eq!(
            t.copy_query(),
            "COPY (SELECT \"id\", \"Full Name\" FROM ONLY \"Sales Data\".\"Mixed \"\"Case\"\"\") TO STDOUT"
        );
        let p = table("public", "events", true, &["id"]);
        assert_eq!(p.copy_query(), "COPY (SELECT \"id\" FROM \"public\".\"events\") TO STDOUT");
        let empty = table("public", "nothing", false, &[]);
        assert_eq!(empty.copy_query(), "COPY (SELECT  FROM ONLY \"public\".\"nothing\") TO STDOUT");
    }
}
