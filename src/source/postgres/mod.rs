//! PostgreSQL source: every table of a database, read under one consistent snapshot.
//!
//! ```text
//! open(url) ──▶ coordinator connection: list the tables it may read
//!                 │                      BEGIN REPEATABLE READ READ ONLY
//!                 │                      LOCK TABLE … IN ACCESS SHARE MODE (each, before the snapshot)
//!                 │                      SELECT pg_export_snapshot()  ──▶ snapshot id
//!                 │                      catalog → tables, Arrow schemas
//!                 │  (kept open, in a Mutex, for the life of the source)
//! read(table) ──▶ new connection: BEGIN …; SET TRANSACTION SNAPSHOT 'id'
//!                 reader thread: COPY (SELECT cols FROM [ONLY] s.t) TO STDOUT
//!                                 → COPY text rows → Arrow builders → RecordBatch
//!                                 → bounded channel → BatchStream
//! ```
//!
//! This module holds what reads: the snapshot (coordinator, locks, export) here and the reader
//! thread in `reader`; connecting, the catalog, types and the COPY text decoding are the
//! PostgreSQL toolkit's ([`crate::pg`]).
//!
//! Several `read`s may run at once from different threads: each has its own connection, and
//! all of them see the same snapshot. The coordinator's transaction must stay open while
//! they start, so keep the source alive until every table has been read.
//!
//! Locks: TRUNCATE and table-rewriting ALTER TABLE are not MVCC-safe (once one commits, an
//! older snapshot sees the table empty), so the coordinator takes an ACCESS SHARE lock on every
//! table it may read before the snapshot is taken and holds it while the source lives, as
//! pg_dump does. Such a command from another session then waits for doppel. Every connection
//! in the snapshot (readers, subset and statistics queries, `verify`, `scan`) waits at most
//! `lock_timeout` for a lock: the session's own setting (server, role, database, or
//! `options=-c lock_timeout=…` in the URL or PGOPTIONS), or [`DEFAULT_LOCK_TIMEOUT`] when it is
//! 0. A table that cannot be locked in time fails the open, naming it; a reader whose table
//! another session is waiting to empty (queued behind doppel's own lock) fails after the timeout
//! instead of waiting for ever. Either way the run stops with nothing published, never with a
//! short table. Tables the role can read but not lock (column privileges only) are checked
//! instead: after its COPY, a reader compares the table's storage in the snapshot's catalog
//! with the current one and fails if it was emptied or rewritten since.

mod reader;

use std::collections::HashMap;
use std::sync::Mutex;

use postgres::Client;
use postgres::error::SqlState;

use crate::error::{Error, Result};
use crate::progress::Total;
use crate::schema::SourceTable;
use crate::source::{BatchStream, RawStream, Source};

use crate::pg::carried;
use crate::pg::catalog::{self, PgTable};
use crate::pg::connect::{ConnectParams, query_error};
use crate::pg::decode_binary::BinaryRowDecoder;
use crate::pg::ident::quote_literal;
use crate::pg::lock::DEFAULT_LOCK_TIMEOUT;
use crate::pg::raw_copy::{CopyFormat, RawRequest};
use crate::pg::version;

/// A PostgreSQL database as a [`Source`].
pub struct PostgresSource {
    params: ConnectParams,
    snapshot: String,
    /// When the snapshot was taken (the exporting transaction's start), UTC, ISO 8601.
    snapshot_taken_at: String,
    server_version_num: i32,
    /// `lock_timeout` of every connection in the snapshot, as PostgreSQL writes it (`60s`).
    lock_timeout: String,
    /// Holds the exporting transaction open, and with it the snapshot and an ACCESS SHARE
    /// lock on every table it may read.
    coordinator: Mutex<Client>,
    tables: Vec<SourceTable>,
    pg_tables: Vec<PgTable>,
    /// Tables read through a SELECT of their own instead of whole (a subset), by name.
    restrictions: HashMap<String, String>,
    /// Rows each table's read is expected to give (for progress), by name.
    expected_rows: HashMap<String, Total>,
}

impl std::fmt::Debug for PostgresSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSource")
            .field("location", &self.params.location)
            .field("snapshot", &self.snapshot)
            .field("tables", &self.tables.len())
            .finish_non_exhaustive()
    }
}

impl PostgresSource {
    /// `url` is postgres://… or postgresql://…; unset parts come from the libpq environment
    /// variables PGHOST, PGPORT, PGUSER, PGPASSWORD (or PGPASSFILE), PGDATABASE (URL wins).
    /// TLS follows libpq (see [`crate::pg::tls`]): `sslmode` (URL or PGSSLMODE; default `prefer`),
    /// `sslrootcert` (PGSSLROOTCERT; default `~/.postgresql/root.crt`, or `system`), and a
    /// client certificate from `sslcert`/`sslkey` (PGSSLCERT/PGSSLKEY; default
    /// `~/.postgresql/postgresql.crt`/`.key`). `require` encrypts without checking the server's
    /// certificate unless a root certificate file exists, `verify-ca` checks the chain,
    /// `verify-full` the chain and the host name; a failed check is an error naming the host,
    /// port and database.
    pub fn open(url: &str) -> Result<PostgresSource> {
        let params = ConnectParams::from_url(url)?;
        let mut client = params.connect()?;

        let version: String = client
            .query_one("SHOW server_version_num", &[])
            .map_err(|e| query_error(&e, &params, "reading the server version"))?
            .get(0);
        let server_version_num: i32 = version
            .trim()
            .parse()
            .map_err(|_| Error::source(&params.location, "the server reported a version number doppel cannot read"))?;
        version::check(version::major_of(server_version_num), version::pg_dump_major())
            .map_err(|m| Error::source(&params.location, m))?;

        let lock_timeout = lock_timeout_of(&mut client, &params)?;
        let (snapshot, snapshot_taken_at, pg_tables) =
            lock_and_export(&mut client, &params, &lock_timeout, server_version_num)?;
        if let Some(pair) = pg_tables.windows(2).find(|w| w[0].name() == w[1].name()) {
            return Err(Error::source(
                &params.location,
                format!(
                    "two tables are both named {} once schema and table are joined with a dot (schema \"{}\" table \"{}\", \
                     and schema \"{}\" table \"{}\"); rules could not tell them apart: rename one of them",
                    pair[0].name(),
                    pair[0].schema_name,
                    pair[0].table_name,
                    pair[1].schema_name,
                    pair[1].table_name
                ),
            ));
        }
        let tables = pg_tables.iter().map(PgTable::source_table).collect();
        // The planner's estimates, for progress; a table never analysed has none.
        let expected_rows = catalog::row_estimates(&mut client)
            .map_err(|e| query_error(&e, &params, "reading row estimates (pg_class.reltuples)"))?
            .into_iter()
            .filter(|(_, rows)| *rows >= 0.0)
            .map(|(name, rows)| (name, Total::About(rows.round() as u64)))
            .collect();
        tracing::info!(
            location = %params.location,
            snapshot = %snapshot,
            tables = pg_tables.len(),
            "PostgreSQL source opened"
        );
        Ok(PostgresSource {
            params,
            snapshot,
            snapshot_taken_at,
            server_version_num,
            lock_timeout,
            coordinator: Mutex::new(client),
            tables,
            pg_tables,
            restrictions: HashMap::new(),
            expected_rows,
        })
    }

    /// The exported snapshot id (e.g. for `pg_dump --snapshot`); valid while the source lives.
    pub fn snapshot(&self) -> &str {
        &self.snapshot
    }

    /// When the snapshot was taken, UTC, ISO 8601 (for the audit report).
    pub fn snapshot_taken_at(&self) -> &str {
        &self.snapshot_taken_at
    }

    /// The database name.
    pub fn database(&self) -> &str {
        &self.params.dbname
    }

    /// The printable location: host, port, database and user, never the password.
    pub fn location(&self) -> &str {
        &self.params.location
    }

    /// `server_version_num`, e.g. 150018.
    pub fn server_version_num(&self) -> i32 {
        self.server_version_num
    }

    /// The tables as the catalog describes them (typed columns, keys), in the order of
    /// [`Source::tables`].
    pub fn pg_tables(&self) -> &[PgTable] {
        &self.pg_tables
    }

    /// A new connection inside the snapshot, for catalog and statistics queries consistent
    /// with the tables read (`doppel profile`); `purpose` names it in errors.
    pub fn connection_in_snapshot(&self, purpose: &str) -> Result<Client> {
        self.snapshot_connection(purpose)
    }

    /// The catalog's description of `table` (`schema.table`).
    pub fn pg_table(&self, table: &str) -> Option<&PgTable> {
        self.tables.binary_search_by(|t| t.name.as_str().cmp(table)).ok().map(|i| &self.pg_tables[i])
    }

    /// From now on, `read(table)` returns the rows of `select` (a SELECT of the table's
    /// columns in their order, e.g. a subset's) instead of the whole table: `rows` of them,
    /// when known.
    pub fn restrict(&mut self, table: &str, select: String, rows: Option<Total>) {
        self.restrictions.insert(table.to_string(), select);
        match rows {
            Some(rows) => self.expected_rows.insert(table.to_string(), rows),
            None => self.expected_rows.remove(table),
        };
    }

    /// Opens a connection inside the snapshot, with `row_security = off`: should row-level
    /// security policies apply to the role after all, PostgreSQL then refuses the read
    /// instead of silently returning only the rows they allow.
    fn snapshot_connection(&self, table: &str) -> Result<Client> {
        {
            let coordinator = self.coordinator.lock().unwrap_or_else(|p| p.into_inner());
            if coordinator.is_closed() {
                return Err(Error::source(
                    &self.params.location,
                    format!(
                        "table {table}: the coordinating connection that holds the snapshot was lost; check the \
                         server log and run again"
                    ),
                ));
            }
        }
        let mut client = self.params.connect()?;
        client
            .batch_execute(&format!(
                "SET lock_timeout = {}; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}; \
                 SET row_security = off",
                quote_literal(&self.lock_timeout),
                quote_literal(&self.snapshot)
            ))
            .map_err(|e| query_error(&e, &self.params, &format!("table {table}: importing the snapshot")))?;
        Ok(client)
    }
}

impl PostgresSource {
    /// Reads `table`; with `columns`, only those have values (the others are sent as NULL).
    fn read_projected(&self, table: &str, columns: Option<&[usize]>, batch_rows: usize) -> Result<BatchStream> {
        let pg_table = self.readable(table)?;
        let client = self.snapshot_connection(table)?;
        let names = self.names(pg_table, table);
        let query = match (self.restrictions.get(table), columns) {
            (Some(select), None) => format!("COPY ({select}) TO STDOUT"),
            (None, None) => pg_table.copy_query(),
            (Some(select), Some(columns)) => format!(
                "COPY (SELECT {} FROM ({select}) AS doppel_rows) TO STDOUT",
                pg_table.projected_columns(columns).join(", ")
            ),
            (None, Some(columns)) => format!(
                "COPY (SELECT {} FROM {}) TO STDOUT",
                pg_table.projected_columns(columns).join(", "),
                pg_table.from_clause()
            ),
        };
        let schema = match columns {
            Some(columns) => pg_table.projected_schema(columns),
            None => pg_table.arrow_schema(),
        };
        reader::spawn(client, pg_table, schema, &query, names, &[], batch_rows)
    }

    /// The catalog entry of `table`, refused when row-level security applies to the role.
    fn readable(&self, table: &str) -> Result<&PgTable> {
        let index = self.tables.binary_search_by(|t| t.name.as_str().cmp(table)).map_err(|_| {
            Error::source(
                &self.params.location,
                format!("no table {table} in the database (tables are named schema.table, without quotes)"),
            )
        })?;
        let pg_table = &self.pg_tables[index];
        if pg_table.row_security {
            return Err(Error::source(&self.params.location, row_security_refusal(table, &self.params.user)));
        }
        Ok(pg_table)
    }

    fn names(&self, pg_table: &PgTable, table: &str) -> reader::Names {
        reader::Names {
            location: self.params.location.clone(),
            user: self.params.user.clone(),
            table: table.to_string(),
            columns: pg_table.columns.iter().map(|c| c.name.clone()).collect(),
            relation: (pg_table.schema_name.clone(), pg_table.table_name.clone()),
            tls: self.params.tls.connector(),
        }
    }
}

impl Source for PostgresSource {
    fn tables(&self) -> &[SourceTable] {
        &self.tables
    }

    /// Asked in the snapshot's transaction: `pg_input_is_valid` (16+), else the cast in a
    /// savepoint rolled back whatever it gives. `pg_type` comes from the catalog's
    /// `format_type`, so it is a valid type name.
    fn accepts_text(&self, pg_type: &str, text: &str) -> Result<Option<bool>> {
        let mut client = self.coordinator.lock().unwrap_or_else(|p| p.into_inner());
        let failed = |e: postgres::Error| query_error(&e, &self.params, "checking a constant against its type");
        if self.server_version_num >= 160000 {
            let row =
                client.query_one("SELECT pg_catalog.pg_input_is_valid($1, $2)", &[&text, &pg_type]).map_err(failed)?;
            return Ok(Some(row.get(0)));
        }
        client.batch_execute("SAVEPOINT doppel_constant").map_err(failed)?;
        let accepted = client.query_one(&format!("SELECT CAST($1::text AS {pg_type}) IS NOT NULL"), &[&text]).is_ok();
        client
            .batch_execute("ROLLBACK TO SAVEPOINT doppel_constant; RELEASE SAVEPOINT doppel_constant")
            .map_err(failed)?;
        Ok(Some(accepted))
    }

    fn read(&self, table: &str, batch_rows: usize) -> Result<BatchStream> {
        self.read_projected(table, None, batch_rows)
    }

    fn expected_rows(&self, table: &str) -> Option<Total> {
        self.expected_rows.get(table).copied()
    }

    fn read_columns(&self, table: &str, columns: &[usize], batch_rows: usize) -> Result<BatchStream> {
        self.read_projected(table, Some(columns), batch_rows)
    }

    /// Binary only from a server of the sink's major version (binary forms may differ between
    /// major versions) and when every decoded column has a binary decoder
    /// ([`crate::pg::decode_binary`]); text always.
    fn read_carrying(
        &self,
        table: &str,
        carried: &[usize],
        request: &RawRequest,
        batch_rows: usize,
    ) -> Result<Option<BatchStream>> {
        let pg_table = self.readable(table)?;
        let query = match self.restrictions.get(table) {
            Some(select) => format!("COPY ({select}) TO STDOUT"),
            None => pg_table.copy_query(),
        };
        let schema = carried::carrying_schema(&pg_table.arrow_schema(), carried, request.format);
        let kinds = pg_table.kinds();
        if request.format == CopyFormat::Binary {
            if request.server_major != Some(version::major_of(self.server_version_num)) {
                return Ok(None);
            }
            let Some(decoder) = BinaryRowDecoder::new(schema, &kinds, carried, batch_rows) else {
                return Ok(None);
            };
            let client = self.snapshot_connection(table)?;
            let names = self.names(pg_table, table);
            let query = format!("{query} (FORMAT binary)");
            return reader::spawn_binary(client, &query, names, decoder, kinds.len()).map(Some);
        }
        let client = self.snapshot_connection(table)?;
        let names = self.names(pg_table, table);
        reader::spawn(client, pg_table, schema, &query, names, carried, batch_rows).map(Some)
    }

    /// Binary only from a server of the sink's major version (binary forms may differ
    /// between major versions); text always.
    fn read_raw(&self, table: &str, request: &RawRequest) -> Result<Option<RawStream>> {
        let major = version::major_of(self.server_version_num);
        if request.format == CopyFormat::Binary && request.server_major != Some(major) {
            return Ok(None);
        }
        let pg_table = self.readable(table)?;
        let quoted = pg_table.quoted_columns();
        let Some(list) = request.columns.iter().map(|&i| quoted.get(i).cloned()).collect::<Option<Vec<_>>>() else {
            return Ok(None);
        };
        let from = match self.restrictions.get(table) {
            Some(select) => format!("({select}) AS doppel_rows"),
            None => pg_table.from_clause(),
        };
        let options = if request.format == CopyFormat::Binary { " (FORMAT binary)" } else { "" };
        let query = format!("COPY (SELECT {} FROM {from}) TO STDOUT{options}", list.join(", "));
        let client = self.snapshot_connection(table)?;
        let stream = reader::spawn_raw(client, &query, self.names(pg_table, table), request.format, list.len())?;
        Ok(Some(stream))
    }
}

/// The session's `lock_timeout` (the server's, the role's or the database's setting, or
/// `-c lock_timeout=…` in the URL's `options` or PGOPTIONS), or [`DEFAULT_LOCK_TIMEOUT`] when
/// it is 0 (wait for ever); set on the session.
fn lock_timeout_of(client: &mut Client, params: &ConnectParams) -> Result<String> {
    let current: String =
        client.query_one("SHOW lock_timeout", &[]).map_err(|e| query_error(&e, params, "reading lock_timeout"))?.get(0);
    let timeout = if current.trim() == "0" { DEFAULT_LOCK_TIMEOUT.to_string() } else { current };
    client
        .batch_execute(&format!("SET lock_timeout = {}", quote_literal(&timeout)))
        .map_err(|e| query_error(&e, params, "setting lock_timeout"))?;
    Ok(timeout)
}

/// How many times the tables are listed and locked before giving up, when tables keep
/// appearing, vanishing or being renamed in between.
const LOCK_ATTEMPTS: usize = 3;

/// Starts the snapshot's transaction, locks every table the snapshot may read in ACCESS SHARE
/// mode *before* the snapshot is taken (a LOCK does not take it; the first SELECT does), then
/// exports the snapshot and reads the catalog in it. Returns the snapshot id, its time and
/// the tables.
///
/// Why: TRUNCATE and the table-rewriting forms of ALTER TABLE are not MVCC-safe: once one
/// commits, an older snapshot sees the table empty. Holding the locks from before the
/// snapshot until the source is dropped makes such a command wait for doppel instead. The
/// tables are listed before the transaction and again inside the snapshot; if the lists
/// differ (a table created, dropped or renamed in between), the transaction is rolled back
/// and all is done again, at most [`LOCK_ATTEMPTS`] times.
fn lock_and_export(
    client: &mut Client,
    params: &ConnectParams,
    lock_timeout: &str,
    server_version_num: i32,
) -> Result<(String, String, Vec<PgTable>)> {
    let rollback = |client: &mut Client| {
        client.batch_execute("ROLLBACK").map_err(|e| query_error(&e, params, "rolling back to lock again"))
    };
    for attempt in 1..=LOCK_ATTEMPTS {
        let wanted = catalog::lockable_tables(client).map_err(|e| query_error(&e, params, "listing the tables"))?;
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .map_err(|e| query_error(&e, params, "starting the snapshot transaction"))?;
        let mut vanished = false;
        for (locked, table) in wanted.iter().enumerate() {
            match client.batch_execute(&format!("LOCK TABLE {} IN ACCESS SHARE MODE", table.lock_target)) {
                Ok(()) => {}
                Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => {
                    vanished = true;
                    break;
                }
                Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                    return Err(Error::source(&params.location, lock_refusal(&table.name, lock_timeout)));
                }
                Err(e) if e.code() == Some(&SqlState::OUT_OF_MEMORY) => {
                    return Err(Error::source(
                        &params.location,
                        format!(
                            "table {}: the server's lock table is full after {locked} of {} tables were locked \
                             (SQLSTATE 53200). doppel locks every table it may read for the whole run, as pg_dump \
                             does, partitions included; raise max_locks_per_transaction on the server (it needs \
                             about as many locks per connection as there are tables and partitions) and run again",
                            table.name,
                            wanted.len()
                        ),
                    ));
                }
                Err(e) => {
                    return Err(query_error(&e, params, &format!("table {}: locking it for reading", table.name)));
                }
            }
        }
        if vanished {
            tracing::debug!(attempt, "a table vanished while it was being locked; listing the tables again");
            rollback(client)?;
            continue;
        }
        let snapshot: String = client
            .query_one("SELECT pg_catalog.pg_export_snapshot()", &[])
            .map_err(|e| query_error(&e, params, "exporting the snapshot (is this a standby older than 10?)"))?
            .get(0);
        let taken_at: String = client
            .query_one(r#"SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#, &[])
            .map_err(|e| query_error(&e, params, "reading the snapshot's time"))?
            .get(0);
        let seen = catalog::lockable_tables(client).map_err(|e| query_error(&e, params, "listing the tables"))?;
        if seen != wanted {
            tracing::debug!(attempt, "the tables changed while they were being locked; locking again");
            rollback(client)?;
            continue;
        }
        let pg_tables = catalog::read_tables(client, server_version_num)
            .map_err(|e| query_error(&e, params, "reading the catalog"))?;
        return Ok((snapshot, taken_at, pg_tables));
    }
    Err(Error::source(
        &params.location,
        format!(
            "tables were created, dropped or renamed while doppel locked them for its snapshot, {LOCK_ATTEMPTS} times \
             in a row; run again when the schema changes are done"
        ),
    ))
}

/// Why a table could not be locked for the snapshot, and what to do.
fn lock_refusal(table: &str, lock_timeout: &str) -> String {
    format!(
        "table {table}: cannot lock it for reading (ACCESS SHARE) within lock_timeout ({lock_timeout}): another \
         session holds or waits for a conflicting lock on it (ALTER TABLE, TRUNCATE, DROP, VACUUM FULL, CLUSTER, \
         REINDEX, LOCK TABLE). Nothing was read. Let that session finish (pg_stat_activity and pg_locks show it), \
         then run again; to wait longer, set lock_timeout in the URL (options=-c%20lock_timeout%3D5min) or in \
         PGOPTIONS"
    )
}

/// Why a table under row-level security is not read, and what to do.
fn row_security_refusal(table: &str, role: &str) -> String {
    format!(
        "table {table} has row-level security enabled and its policies apply to role {role}: reading it would \
         silently return only the rows they allow. Read as the table's owner (without FORCE ROW LEVEL SECURITY), a \
         superuser or a role with BYPASSRLS (ALTER ROLE {role} BYPASSRLS), or skip the table"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_send_and_sync() {
        fn is_send_sync<T: Send + Sync>() {}
        is_send_sync::<PostgresSource>();
    }

    #[test]
    fn a_refused_connection_names_the_place_but_not_the_password() {
        // Port 1 on localhost: nothing listens there.
        let e = PostgresSource::open("postgres://app:hunter2@127.0.0.1:1/prod?connect_timeout=5").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("127.0.0.1:1") && msg.contains("prod"), "{msg}");
        assert!(msg.contains("connection refused"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
        assert_eq!(e.exit_code(), crate::error::exit::SOURCE);
    }
}
