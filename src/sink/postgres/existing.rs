//! PostgreSQL target made of existing, empty tables: how Parquet files (or any source without
//! a PostgreSQL schema to restore) are loaded into PostgreSQL.
//!
//! The schema is the user's: created beforehand by restoring a schema-only dump or by running
//! their migrations. doppel checks it against the input, then loads every table in ONE
//! transaction on one connection, so the tables are either all loaded or all left empty.
//!
//! ```text
//! open()        ── refuse a protected database (`doppel protect`)
//!               ── BEGIN; find every table to load as schema.table (ordinary or partitioned)
//!               ── LOCK TABLE … IN ACCESS EXCLUSIVE MODE (waits at most 30 s)
//!               ── check, reporting every problem at once: the table exists and is empty;
//!                  every input column exists in it with a type that fits; every target
//!                  column the input lacks is nullable or has a default (or is generated)
//!               ── drop the foreign keys between loaded tables (their definitions kept)
//! open_table()  ── COPY "s"."t" (input columns minus the target's generated ones) FROM STDIN,
//!                  on the shared connection, one table at a time
//! commit()      ── SET CONSTRAINTS ALL IMMEDIATE; re-add the foreign keys (each checked
//!                  against all loaded rows), with their comments
//!               ── raise the sequences owned by loaded columns above the loaded maximum
//!               ── ANALYZE the loaded tables; COMMIT
//! drop without commit (error, Ctrl-C) ── ROLLBACK: every table is empty again
//! ```
//!
//! Tables the input does not have, and tables the rules skip, are left untouched (not
//! locked, not checked). Columns are matched by name. A target column the input lacks gets its
//! default (or NULL). Generated columns of the target are never written: an input column of
//! that name is dropped and the value computed again. Identity columns, `GENERATED ALWAYS`
//! included, take the input's values: `COPY FROM` writes identity columns as
//! `INSERT … OVERRIDING SYSTEM VALUE` would.
//!
//! Foreign keys: a non-deferrable foreign key is checked at the end of each statement, so a
//! child table loaded before its parent would fail, and the pipeline loads tables in name
//! order (or several at once with `--jobs`), which follows no foreign key graph; cycles
//! (`a` → `b` → `a`) have no good order at all. So the foreign keys whose two tables are both
//! loaded are dropped inside the transaction before the load and re-added (from
//! `pg_get_constraintdef`, so `ON DELETE`, `DEFERRABLE`, `MATCH` and `NOT VALID` are kept) at
//! commit, as pg_restore does: one validating query per key instead of one check per row,
//! whatever the order. As DDL is transactional in PostgreSQL, and the tables are locked,
//! no other session ever sees them without their keys; a rollback restores them. Dropping a
//! key needs the role to own the tables (as after restoring the schema or running the
//! migrations as that role). Keys from a loaded table to a table that is not loaded stay in
//! place and check each row against the rows already there.
//!
//! Type fit, checked before anything is loaded, from the target column's type (domains
//! resolved) and the input's Arrow type: integer columns take any Arrow integer (a value out of
//! range is then a row error from the server, naming table, column and row); float columns
//! take floats and integers; numeric takes integers, decimals, floats and text; uuid takes
//! 16-byte binary and text; bytea takes binary; bool, date, timestamp (also from a date) and
//! timestamptz (instants only: an Arrow timestamp with a time zone) take their own Arrow type;
//! every other type (text, varchar, json, enums, arrays, intervals, …) takes text, the form
//! doppel's PostgreSQL source writes them in. A field whose `pg.type` metadata names another
//! type than the target column's is loaded, with a warning.
//!
//! Values go through [`super::copy_text`], the COPY encoder of the database target; server
//! errors are reduced by [`crate::pg::error::describe`] (no value is ever shown).
//! `setval` is not transactional: if COMMIT itself failed, the sequences would stay raised
//! (a gap, never a collision).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use arrow_schema::{DataType, Schema, SchemaRef};
use postgres::Client;

use crate::error::{Error, Problem, Result};
use crate::pg::catalog::{describe_tables, read_domains};
use crate::pg::connect::ConnectParams;
use crate::pg::ident::{quote_ident, quote_literal};
use crate::pg::types::{ColumnKind, oid, resolve_domain};
use crate::schema::{PG_GENERATED, PG_TYPE, UniqueKey};
use crate::sink::{Sink, TableSink};

use super::copy_in::{CopyForm, copy_thread, start_copy};
use super::copy_text;
use super::sequences::set_sequence;
use crate::pg::error::{as_target, describe};

/// How long `open` waits for other sessions' locks on the tables to load.
const LOCK_TIMEOUT: &str = "30s";

/// One column of a target table.
#[derive(Debug, Clone)]
struct TargetColumn {
    name: String,
    /// `format_type(atttypid, atttypmod)`: names the domain for a domain column.
    pg_type: String,
    /// The Arrow type doppel's PostgreSQL source reads this column as.
    kind: ColumnKind,
    /// The type under any domains.
    base_oid: u32,
    not_null: bool,
    /// A default expression or an identity: what COPY fills in when the column is left out.
    has_default: bool,
    generated: bool,
}

/// One table to load, as found (and locked) in the target.
#[derive(Debug, Clone)]
struct TargetTable {
    oid: u32,
    schema_name: String,
    table_name: String,
    columns: Vec<TargetColumn>,
}

impl TargetTable {
    fn qualified(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema_name), quote_ident(&self.table_name))
    }
}

/// A foreign key dropped for the load and re-added at commit.
#[derive(Debug, Clone)]
struct ForeignKey {
    /// `"schema"."table"` of the referencing table.
    table: String,
    /// `schema.table` of the referencing table, for messages.
    shown: String,
    name: String,
    definition: String,
    comment: Option<String>,
}

/// Existing, empty tables of a PostgreSQL database as a [`Sink`] (see the module docs).
pub struct ExistingTablesSink {
    location: String,
    /// The one connection, inside the load's transaction; each COPY takes it in turn.
    client: Arc<Mutex<Client>>,
    /// The first table whose COPY failed, and why: the transaction is then aborted, and the
    /// tables after it say so instead of the server's "transaction is aborted".
    failed: Arc<Mutex<Option<String>>>,
    tables: HashMap<String, TargetTable>,
    foreign_keys: Vec<ForeignKey>,
    committed: bool,
}

impl std::fmt::Debug for ExistingTablesSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExistingTablesSink")
            .field("target", &self.location)
            .field("tables", &self.tables.len())
            .finish_non_exhaustive()
    }
}

/// The unique keys of the existing tables of the database at `url`, by `schema.table` (see
/// [`crate::schema::UniqueKey`]): what the plan checks the rules against when the source
/// has none (Parquet), since the load fails on a key the rules break.
pub fn unique_keys(url: &str) -> Result<HashMap<String, Vec<UniqueKey>>> {
    let params = ConnectParams::from_url(url).map_err(as_target)?;
    let loc = params.location.clone();
    let mut client = params.connect().map_err(as_target)?;
    let query_err = |what: &str, e: postgres::Error| Error::target(&loc, format!("{what}: {}", describe(&e)));
    let version: i32 = client
        .query_one("SELECT pg_catalog.current_setting('server_version_num')::int4", &[])
        .map_err(|e| query_err("reading the server version", e))?
        .get(0);
    let tables = describe_tables(&mut client, version).map_err(|e| query_err("reading the unique keys", e))?;
    Ok(tables.into_iter().map(|t| (t.name(), t.unique_keys)).collect())
}

fn lock(client: &Mutex<Client>) -> MutexGuard<'_, Client> {
    client.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ExistingTablesSink {
    /// Connects to the database `url` names, opens the load's transaction and checks `tables`
    /// (the tables the run copies, `schema.table` with the schema their batches will have)
    /// against the target's tables, which it locks; reports every mismatch at once. Refuses a
    /// protected database.
    pub fn open(url: &str, tables: &[(String, SchemaRef)]) -> Result<ExistingTablesSink> {
        let params = ConnectParams::from_url(url).map_err(as_target)?;
        let loc = params.location.clone();
        let mut client = params.connect().map_err(as_target)?;
        let protected = crate::pg::protect::is_protected(&mut client, &params.dbname)
            .map_err(|e| Error::target(&loc, format!("checking protection: {}", describe(&e))))?;
        if protected {
            return Err(Error::target(
                &loc,
                "is protected (`doppel protect`): doppel never writes into it, whatever the flags; name another \
                 target, or lift the mark with `doppel protect --remove`",
            ));
        }
        let query_err = |what: &str, e: postgres::Error| Error::target(&loc, format!("{what}: {}", describe(&e)));
        client.batch_execute("BEGIN").map_err(|e| query_err("starting the transaction", e))?;
        let version: i32 = client
            .query_one("SELECT pg_catalog.current_setting('server_version_num')::int4", &[])
            .map_err(|e| query_err("reading the server version", e))?
            .get(0);

        let mut problems: Vec<Problem> = Vec::new();
        let found = find_tables(&mut client, tables, &mut problems).map_err(|e| query_err("finding the tables", e))?;
        if !found.is_empty() {
            lock_tables(&mut client, &found, &loc)?;
        }
        let domains = read_domains(&mut client).map_err(|e| query_err("reading the domains", e))?;
        let mut by_name: HashMap<String, TargetTable> = HashMap::new();
        for (name, mut table) in found {
            table.columns = read_columns(&mut client, table.oid, version, &domains)
                .map_err(|e| query_err(&format!("table {name}: reading its columns"), e))?;
            let has_rows: bool = client
                .query_one(&format!("SELECT EXISTS (SELECT FROM {})", table.qualified()), &[])
                .map_err(|e| query_err(&format!("table {name}: checking that it is empty"), e))?
                .get(0);
            if has_rows {
                problems.push(
                    Problem::new(
                        "the target table is not empty; doppel loads only into empty tables: empty it (TRUNCATE) or \
                     load into a database with an empty schema",
                    )
                    .table(&name),
                );
            }
            by_name.insert(name, table);
        }
        for (name, schema) in tables {
            if let Some(target) = by_name.get(name)
                && let Err(mut found) = projection(name, schema, target)
            {
                problems.append(&mut found);
            }
        }
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
            return Err(Error::target(
                &loc,
                format!(
                    "the target's tables do not fit the input ({} problem(s)); nothing was loaded:\n{}",
                    problems.len(),
                    list.join("\n")
                ),
            ));
        }
        let oids: Vec<u32> = by_name.values().map(|t| t.oid).collect();
        let foreign_keys = drop_foreign_keys(&mut client, &oids, version).map_err(|(what, e)| query_err(&what, e))?;
        tracing::info!(
            target = %loc,
            tables = by_name.len(),
            foreign_keys = foreign_keys.len(),
            "existing tables checked and locked; loading in one transaction"
        );
        Ok(ExistingTablesSink {
            location: loc,
            client: Arc::new(Mutex::new(client)),
            failed: Arc::new(Mutex::new(None)),
            tables: by_name,
            foreign_keys,
            committed: false,
        })
    }
}

/// Finds each table to load as `schema.table` among the target's ordinary and partitioned
/// tables; a missing or ambiguous name is a problem.
fn find_tables(
    client: &mut Client,
    tables: &[(String, SchemaRef)],
    problems: &mut Vec<Problem>,
) -> Result<BTreeMap<String, TargetTable>, postgres::Error> {
    let names: Vec<&str> = tables.iter().map(|(name, _)| name.as_str()).collect();
    let rows = client.query(
        "SELECT n.nspname || '.' || c.relname, c.oid, n.nspname::text, c.relname::text \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND n.nspname || '.' || c.relname = ANY($1)",
        &[&names],
    )?;
    let mut found: BTreeMap<String, Vec<TargetTable>> = BTreeMap::new();
    for row in rows {
        found.entry(row.get(0)).or_default().push(TargetTable {
            oid: row.get(1),
            schema_name: row.get(2),
            table_name: row.get(3),
            columns: Vec::new(),
        });
    }
    let mut out = BTreeMap::new();
    for name in names {
        match found.remove(name).unwrap_or_default().as_slice() {
            [] => problems.push(
                Problem::new(
                    "the table is not in the target; create the schema first (restore a schema-only dump, or run \
                     your migrations), or skip the table in the rules",
                )
                .table(name),
            ),
            [one] => {
                out.insert(name.to_string(), one.clone());
            }
            _ => problems.push(
                Problem::new("the name is ambiguous in the target (a dot in a schema or table name)").table(name),
            ),
        }
    }
    Ok(out)
}

/// Locks the tables against every other session until the end of the transaction, waiting at
/// most [`LOCK_TIMEOUT`].
fn lock_tables(client: &mut Client, tables: &BTreeMap<String, TargetTable>, loc: &str) -> Result<()> {
    let list: Vec<String> = tables.values().map(TargetTable::qualified).collect();
    let names: Vec<&str> = tables.keys().map(String::as_str).collect();
    let locked = client.batch_execute(&format!(
        "SET LOCAL lock_timeout = {}; LOCK TABLE {} IN ACCESS EXCLUSIVE MODE; SET LOCAL lock_timeout = DEFAULT",
        quote_literal(LOCK_TIMEOUT),
        list.join(", ")
    ));
    match locked {
        Ok(()) => Ok(()),
        Err(e) if e.as_db_error().is_some_and(|db| db.code().code() == "55P03") => Err(Error::target(
            loc,
            format!(
                "other sessions kept a lock on the tables to load ({}) for {LOCK_TIMEOUT}; end them or try again",
                names.join(", ")
            ),
        )),
        Err(e) => Err(Error::target(loc, format!("locking the tables to load: {}", describe(&e)))),
    }
}

/// The columns of table `oid` in attnum order, domains resolved.
fn read_columns(
    client: &mut Client,
    table_oid: u32,
    version: i32,
    domains: &HashMap<u32, (u32, i32)>,
) -> Result<Vec<TargetColumn>, postgres::Error> {
    let generated = if version >= 120000 { "a.attgenerated <> ''" } else { "false" };
    let rows = client.query(
        &format!(
            "SELECT a.attname::text, a.atttypid, a.atttypmod, pg_catalog.format_type(a.atttypid, a.atttypmod), \
                    a.attnotnull, a.atthasdef OR a.attidentity <> '', {generated} \
             FROM pg_catalog.pg_attribute a \
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
        ),
        &[&table_oid],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (base_oid, typmod) = resolve_domain(r.get(1), r.get(2), domains);
            TargetColumn {
                name: r.get(0),
                pg_type: r.get(3),
                kind: ColumnKind::of(base_oid, typmod),
                base_oid,
                not_null: r.get(4),
                has_default: r.get(5),
                generated: r.get(6),
            }
        })
        .collect())
}

/// Whether values of Arrow type `arrow`, written as COPY text, fit a column of `kind` over
/// base type `base_oid` (the table in the module docs).
fn fits(arrow: &DataType, kind: ColumnKind, base_oid: u32) -> bool {
    use DataType as A;
    let integer =
        matches!(arrow, A::Int8 | A::Int16 | A::Int32 | A::Int64 | A::UInt8 | A::UInt16 | A::UInt32 | A::UInt64);
    let float = matches!(arrow, A::Float32 | A::Float64);
    let text = matches!(arrow, A::Utf8 | A::LargeUtf8);
    if base_oid == oid::NUMERIC {
        return integer || float || text || matches!(arrow, A::Decimal128(..));
    }
    match kind {
        ColumnKind::Int16 | ColumnKind::Int32 | ColumnKind::Int64 => integer,
        ColumnKind::Float32 | ColumnKind::Float64 => integer || float,
        ColumnKind::Bool => matches!(arrow, A::Boolean),
        ColumnKind::Date => matches!(arrow, A::Date32),
        // Text too: doppel's PostgreSQL source wrote time as text before it read it as Time64.
        ColumnKind::Time => text || matches!(arrow, A::Time32(_) | A::Time64(_)),
        ColumnKind::Timestamp => matches!(arrow, A::Timestamp(_, None) | A::Date32),
        ColumnKind::TimestampTz => matches!(arrow, A::Timestamp(_, Some(_))),
        ColumnKind::Bytea => {
            matches!(arrow, A::Binary | A::LargeBinary) || matches!(arrow, A::FixedSizeBinary(n) if *n != 16)
        }
        ColumnKind::Uuid => text || matches!(arrow, A::FixedSizeBinary(16)),
        ColumnKind::Decimal { .. } | ColumnKind::Text => text,
    }
}

/// The indexes of the columns of `schema` that a COPY into `target` sends: every input column
/// but the target's generated ones. Problems: an input column the target lacks or whose type
/// does not fit, a target column that would get no value.
fn projection(table: &str, schema: &Schema, target: &TargetTable) -> Result<Vec<usize>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut sent = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        let Some(column) = target.columns.iter().find(|c| c.name == *field.name()) else {
            problems.push(
                Problem::new("the input has this column and the target table does not; add it to the table")
                    .table(table)
                    .column(field.name()),
            );
            continue;
        };
        if column.generated {
            tracing::info!(table, column = %column.name, "generated in the target: the input's values are left out and computed again");
            continue;
        }
        if !fits(field.data_type(), column.kind, column.base_oid) {
            problems.push(
                Problem::new(format!(
                    "the input column is {} and the target column is {}; they do not fit (change the target column's \
                     type, or the input)",
                    field.data_type(),
                    column.pg_type
                ))
                .table(table)
                .column(field.name()),
            );
            continue;
        }
        if let Some(input_type) = field.metadata().get(PG_TYPE)
            && *input_type != column.pg_type
            && !field.metadata().contains_key(PG_GENERATED)
        {
            tracing::warn!(
                table,
                column = %column.name,
                "the input column was {input_type} and the target column is {}; values that do not fit will fail the load",
                column.pg_type
            );
        }
        sent.push(i);
    }
    for column in &target.columns {
        let given = schema.fields().iter().any(|f| *f.name() == column.name);
        if !given && column.not_null && !column.has_default && !column.generated {
            problems.push(
                Problem::new(
                    "the target column is NOT NULL without a default and the input has no such column; give it a \
                     default, or add the column to the input",
                )
                .table(table)
                .column(&column.name),
            );
        }
    }
    // Nothing to send is fine when the target takes no values either (a table without columns,
    // or with generated ones only): `COPY t FROM stdin` then loads one row per empty line.
    if sent.is_empty() && problems.is_empty() && target.columns.iter().any(|c| !c.generated) {
        let why = if schema.fields().is_empty() {
            "the input table has no columns and the target table has some: its rows cannot be loaded without \
             values; drop the target table's columns, or skip the table"
        } else {
            "none of the input's columns can be written (all are generated in the target)"
        };
        problems.push(Problem::new(why).table(table));
    }
    if problems.is_empty() { Ok(sent) } else { Err(problems) }
}

/// Drops the foreign keys whose referencing and referenced tables are both in `oids` and
/// returns their definitions, fully qualified, in a stable order.
fn drop_foreign_keys(
    client: &mut Client,
    oids: &[u32],
    version: i32,
) -> std::result::Result<Vec<ForeignKey>, (String, postgres::Error)> {
    // Keys inherited by partitions come back with their partitioned table's key.
    let top_level = if version >= 110000 { "AND k.conparentid = 0" } else { "" };
    // An empty search_path makes pg_get_constraintdef qualify every table it names.
    client.batch_execute("SET LOCAL search_path = ''").map_err(|e| ("emptying search_path".to_string(), e))?;
    let rows = client
        .query(
            &format!(
                "SELECT format('%I.%I', n.nspname, c.relname), n.nspname || '.' || c.relname, k.conname::text, \
                        pg_catalog.pg_get_constraintdef(k.oid), pg_catalog.obj_description(k.oid, 'pg_constraint') \
                 FROM pg_catalog.pg_constraint k \
                 JOIN pg_catalog.pg_class c ON c.oid = k.conrelid \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE k.contype = 'f' AND k.conrelid = ANY($1) AND k.confrelid = ANY($1) {top_level} \
                 ORDER BY 2, 3"
            ),
            &[&oids],
        )
        .map_err(|e| ("reading the foreign keys".to_string(), e))?;
    client.batch_execute("SET LOCAL search_path = DEFAULT").map_err(|e| ("resetting search_path".to_string(), e))?;
    let keys: Vec<ForeignKey> = rows
        .iter()
        .map(|r| ForeignKey {
            table: r.get(0),
            shown: r.get(1),
            name: r.get(2),
            definition: r.get(3),
            comment: r.get(4),
        })
        .collect();
    for key in &keys {
        client
            .batch_execute(&format!("ALTER TABLE {} DROP CONSTRAINT {}", key.table, quote_ident(&key.name)))
            .map_err(|e| {
                (
                    format!(
                        "table {}: setting foreign key {} aside for the load (the loading role must own the tables \
                         that have foreign keys)",
                        key.shown, key.name
                    ),
                    e,
                )
            })?;
    }
    Ok(keys)
}

impl Sink for ExistingTablesSink {
    fn open_table(&mut self, name: &str, schema: SchemaRef) -> Result<Box<dyn TableSink>> {
        let loc = self.location.clone();
        let target = self
            .tables
            .get(name)
            .ok_or_else(|| Error::target(&loc, format!("table {name} was not checked when the target was opened")))?;
        let columns = projection(name, &schema, target).map_err(|problems| {
            let list: Vec<String> = problems.iter().map(Problem::to_string).collect();
            Error::target(&loc, list.join("; "))
        })?;
        let projected =
            Arc::new(schema.project(&columns).map_err(|e| Error::target(&loc, format!("table {name}: {e}")))?);
        copy_text::check_types(&projected).map_err(|u| {
            Error::target(
                &loc,
                format!("table {name}, column {}: type {} cannot be written with COPY", u.column, u.data_type),
            )
        })?;
        let statement = copy_text::copy_statement(&target.schema_name, &target.table_name, &projected);
        let (client, failed, table) = (Arc::clone(&self.client), Arc::clone(&self.failed), name.to_string());
        // Text COPY: the input's types may differ from the target's declared ones (Int64 into int4).
        start_copy(&loc, name, columns, projected, CopyForm { binary: None, raw_major: None }, None, move |chunks| {
            // Tables opened at the same time (--jobs) wait here for the connection, one COPY at a time.
            let mut client = lock(&client);
            let mut failed = failed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(first) = failed.as_ref() {
                return Err(format!("not loaded: table {first}"));
            }
            copy_thread(&mut client, &statement, chunks).inspect_err(|m| *failed = Some(format!("{table} failed: {m}")))
        })
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let loc = self.location.clone();
        let mut guard = lock(&self.client);
        let client = &mut *guard;
        let query_err = |what: String, e: postgres::Error| Error::target(&loc, format!("{what}: {}", describe(&e)));
        // Deferred checks run now, so that re-adding a key never meets pending trigger events.
        client
            .batch_execute("SET CONSTRAINTS ALL IMMEDIATE")
            .map_err(|e| query_err("checking deferred constraints".to_string(), e))?;
        for key in &self.foreign_keys {
            client
                .batch_execute(&format!(
                    "ALTER TABLE {} ADD CONSTRAINT {} {}",
                    key.table,
                    quote_ident(&key.name),
                    key.definition
                ))
                .map_err(|e| query_err(format!("table {}: foreign key {} after the load", key.shown, key.name), e))?;
            if let Some(comment) = &key.comment {
                client
                    .batch_execute(&format!(
                        "COMMENT ON CONSTRAINT {} ON {} IS {}",
                        quote_ident(&key.name),
                        key.table,
                        quote_literal(comment)
                    ))
                    .map_err(|e| query_err(format!("table {}: commenting foreign key {}", key.shown, key.name), e))?;
            }
        }
        let oids: Vec<u32> = self.tables.values().map(|t| t.oid).collect();
        let sequences = client
            .query(
                "SELECT DISTINCT format('%I.%I', n.nspname, s.relname), n.nspname || '.' || s.relname \
                 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class s ON s.oid = d.objid \
                 JOIN pg_catalog.pg_namespace n ON n.oid = s.relnamespace \
                 WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass \
                 AND d.refobjid = ANY($1) AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i') AND s.relkind = 'S' \
                 ORDER BY 2",
                &[&oids],
            )
            .map_err(|e| query_err("listing the sequences of the loaded tables".to_string(), e))?;
        for row in &sequences {
            let (qualified, shown): (String, String) = (row.get(0), row.get(1));
            let current = client
                .query_one(&format!("SELECT last_value, is_called FROM {qualified}"), &[])
                .map_err(|e| query_err(format!("reading sequence {shown}"), e))?;
            set_sequence(client, &loc, &qualified, &shown, current.get(0), current.get(1))?;
        }
        let mut names: Vec<&String> = self.tables.keys().collect();
        names.sort();
        for name in names {
            let table = &self.tables[name];
            client
                .batch_execute(&format!("ANALYZE {}", table.qualified()))
                .map_err(|e| query_err(format!("table {name}: ANALYZE"), e))?;
        }
        client.batch_execute("COMMIT").map_err(|e| query_err("committing the load".to_string(), e))?;
        drop(guard);
        self.committed = true;
        tracing::info!(target = %loc, tables = self.tables.len(), sequences = sequences.len(), "existing tables loaded");
        Ok(())
    }
}

impl Drop for ExistingTablesSink {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        // Closing the connection would roll back too; say it explicitly, and log it.
        match lock(&self.client).batch_execute("ROLLBACK") {
            Ok(()) => tracing::info!(target = %self.location, "rolled back: the target tables are as they were"),
            Err(e) => tracing::warn!(
                target = %self.location,
                "ROLLBACK failed ({}); the server rolls the load back when the connection closes",
                describe(&e)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{Field, TimeUnit};

    fn column(name: &str, pg_type: &str, kind: ColumnKind, base_oid: u32) -> TargetColumn {
        TargetColumn {
            name: name.to_string(),
            pg_type: pg_type.to_string(),
            kind,
            base_oid,
            not_null: false,
            has_default: false,
            generated: false,
        }
    }

    #[test]
    fn types_fit_as_the_module_docs_say() {
        let int4 = (ColumnKind::Int32, oid::INT4);
        assert!(fits(&DataType::Int64, int4.0, int4.1), "overflow is a row error, not a plan error");
        assert!(!fits(&DataType::Utf8, int4.0, int4.1));
        assert!(!fits(&DataType::Float64, int4.0, int4.1));
        assert!(fits(&DataType::Utf8, ColumnKind::Text, oid::NUMERIC), "unconstrained numeric as text");
        assert!(fits(&DataType::Decimal128(12, 2), ColumnKind::Decimal { precision: 10, scale: 2 }, oid::NUMERIC));
        assert!(fits(&DataType::Utf8, ColumnKind::Text, 3802), "jsonb takes text");
        assert!(!fits(&DataType::Int32, ColumnKind::Text, oid::TEXT));
        let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let naive = DataType::Timestamp(TimeUnit::Millisecond, None);
        assert!(fits(&utc, ColumnKind::TimestampTz, oid::TIMESTAMPTZ));
        assert!(!fits(&naive, ColumnKind::TimestampTz, oid::TIMESTAMPTZ), "a naive time is no instant");
        assert!(fits(&naive, ColumnKind::Timestamp, oid::TIMESTAMP));
        assert!(fits(&DataType::FixedSizeBinary(16), ColumnKind::Uuid, oid::UUID));
        assert!(!fits(&DataType::FixedSizeBinary(16), ColumnKind::Bytea, oid::BYTEA), "encoded as uuid text");
        assert!(fits(&DataType::Binary, ColumnKind::Bytea, oid::BYTEA));
    }

    #[test]
    fn projection_leaves_out_generated_columns_and_names_every_problem() {
        let mut not_null = column("required", "integer", ColumnKind::Int32, oid::INT4);
        not_null.not_null = true;
        let mut with_default = column("created", "date", ColumnKind::Date, oid::DATE);
        with_default.not_null = true;
        with_default.has_default = true;
        let mut generated = column("total", "integer", ColumnKind::Int32, oid::INT4);
        generated.generated = true;
        let target = TargetTable {
            oid: 1,
            schema_name: "public".into(),
            table_name: "t".into(),
            columns: vec![
                column("id", "bigint", ColumnKind::Int64, oid::INT8),
                generated,
                with_default,
                not_null.clone(),
            ],
        };
        let fine = Schema::new(vec![
            Field::new("id", DataType::Int32, false),
            Field::new("total", DataType::Int32, true),
            Field::new("required", DataType::Int64, false),
        ]);
        assert_eq!(projection("public.t", &fine, &target).unwrap(), vec![0, 2]);
        let wrong =
            Schema::new(vec![Field::new("id", DataType::Utf8, false), Field::new("extra", DataType::Int32, true)]);
        let problems: Vec<String> =
            projection("public.t", &wrong, &target).unwrap_err().iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("public.t.id: the input column is Utf8 and the target column is bigint"));
        assert!(problems[1].starts_with("public.t.extra: the input has this column"));
        assert!(problems[2].starts_with("public.t.required: the target column is NOT NULL without a default"));
    }
}
