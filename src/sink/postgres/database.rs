//! PostgreSQL target database: create it, restore the source's schema, load every table with
//! `COPY … FROM STDIN`, then finish it (post-data, sequences, ANALYZE, validation).
//!
//! ```text
//! create()     ── maintenance db: CREATE DATABASE "t" TEMPLATE template0 (source's encoding
//!                  and locale); COMMENT ON DATABASE "t" IS 'doppel … loading …'
//!              ── pg_dump --schema-only --section=pre-data --snapshot=S (source) | psql (target)
//! open_table() ── own connection: COPY "s"."t" (non-generated columns) FROM STDIN (text),
//!                  fed batch by batch from a writer thread
//! commit()     ── pg_dump --section=post-data --snapshot=S | psql (indexes, constraints, triggers)
//!              ── setval every sequence as the source has it under snapshot S (or above
//!                  the loaded maximum of its owning column, when a rule changed that column)
//!              ── ANALYZE; refuse if any constraint is NOT VALID
//!              ── COMMENT ON DATABASE "t" IS 'doppel …: complete'
//! drop without commit ── DROP DATABASE "t" WITH (FORCE), only if this sink created it
//! ```
//!
//! With `--replace` ([`TargetOptions::replace`]) and an existing target, "t" above is a fresh
//! database beside it, `<target>__doppel_<pid>`, swapped into the target's name at the end of
//! `commit()`; see [`super::replace`].
//!
//! Every run holds the target's advisory lock ([`replace::lock`]) from the start to its end,
//! so two runs never build or replace the same database at once.
//!
//! An existing, empty target (a database someone created for doppel, where the role may not
//! create databases) is loaded in ONE transaction on one connection: `BEGIN`, the emptiness
//! check, pre-data (pg_dump's script run on that connection), every COPY in turn, post-data,
//! sequences, ANALYZE, the NOT VALID check, `COMMIT`. A failed, interrupted or killed run
//! leaves the database as empty as it found it (the server rolls back), and the next run
//! takes it as it is. Nothing is visible to other sessions before the commit, so `run
//! --verify` cannot check such a target before publishing it.
//!
//! Child processes (pg_dump, psql) get the connection through their environment only
//! (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, …): nothing on their command line names a
//! password, and `DOPPEL_KEY` is removed from their environment. Server messages that could
//! quote a cell value (COPY and post-data failures) are reduced to SQLSTATE, constraint,
//! column and line number.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use crossbeam_channel::{Receiver, Sender, bounded};
use postgres::Client;
use postgres::config::Host;

use crate::error::{Error, Result};
use crate::sink::{Sink, TableSink};
use crate::source::postgres::catalog::{quote_ident, quote_literal};
use crate::source::postgres::connect::ConnectParams;

use super::copy_binary::{self, BinaryEncoder};
use super::replace::{self, TargetOptions};
use super::{copy_text, dump};

/// Prefix of the comment doppel puts on the databases it creates.
pub const COMMENT_PREFIX: &str = "doppel";

/// A PostgreSQL database being built as a [`Sink`].
pub struct PostgresSink {
    /// The database being built: the target itself, or the temporary one beside it.
    target: ConnectParams,
    /// The same as a URL (the user's, with the database name of the one being built), for
    /// `run --verify` to read it before it is published.
    target_url: String,
    /// With `--replace` over an existing database: its name, swapped into at commit.
    swap_into: Option<String>,
    /// The maintenance connection holding the target's advisory lock for the whole run ([`replace::lock`]).
    lock: Option<Client>,
    options: TargetOptions,
    source: ConnectParams,
    snapshot: String,
    /// The schema's pre-data and post-data SQL when there is no source to dump it from
    /// ([`PostgresSink::create_from_ddl`]); `source` and `snapshot` are then unused.
    ddl: Option<(Vec<u8>, Vec<u8>)>,
    /// Connection to the target database, for catalog look-ups and the final steps; in
    /// [`PostgresSink::in_transaction`] mode also the one connection everything is loaded through.
    control: Option<Arc<Mutex<Client>>>,
    /// Loading into an existing, empty database: schema, rows, post-data and sequences go
    /// through `control` in ONE transaction, committed last (see the module docs).
    in_transaction: bool,
    /// True when this sink ran CREATE DATABASE (and so may drop it).
    created: bool,
    /// The comment put on the created database; it is dropped only if the comment still says this.
    marker: String,
    committed: bool,
}

impl std::fmt::Debug for PostgresSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSink")
            .field("target", &self.target.location)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// The connection errors of [`ConnectParams`] are worded for a source; here they are the target's.
pub fn as_target(e: Error) -> Error {
    match e {
        Error::Source { location, message } => Error::Target { location, message },
        other => other,
    }
}

fn with_dbname(p: &ConnectParams, dbname: &str) -> ConnectParams {
    let mut config = p.config.clone();
    config.dbname(dbname);
    let location = match p.location.rfind(&format!("/{}", p.dbname)) {
        Some(i) => format!("{}/{}{}", &p.location[..i], dbname, &p.location[i + 1 + p.dbname.len()..]),
        None => p.location.clone(),
    };
    ConnectParams { config, location, dbname: dbname.to_string(), ..p.clone() }
}

/// `url` naming database `dbname` instead (percent-encoded; query parameters kept).
fn url_with_dbname(url: &str, dbname: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let after = &rest[authority_end..];
    let query = after.find('?').map_or("", |i| &after[i..]);
    let encoded: String = dbname
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{}{}/{encoded}{query}", &url[..scheme_end], &rest[..authority_end])
}

/// Hosts as comparable strings: every loopback address and every Unix socket is "local".
fn host_keys(p: &ConnectParams) -> Vec<String> {
    p.config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) if matches!(name.as_str(), "localhost" | "127.0.0.1" | "::1") => "local".to_string(),
            Host::Tcp(name) => name.to_ascii_lowercase(),
            Host::Unix(_) => "local".to_string(),
        })
        .collect()
}

/// True when both resolve to the same server (a shared host and port) and database name.
fn same_database(a: &ConnectParams, b: &ConnectParams) -> bool {
    let (ha, hb) = (host_keys(a), host_keys(b));
    let (pa, pb) = (a.config.get_ports(), b.config.get_ports());
    let shared_host = ha.iter().any(|h| hb.contains(h));
    let shared_port = pa.iter().any(|p| pb.contains(p)) || (pa.is_empty() && pb.is_empty());
    shared_host && shared_port && a.dbname == b.dbname
}

/// The constraints of the database `client` is connected to that are NOT VALID, as
/// `schema.table: constraint` (or the domain's name), in name order.
pub(super) fn not_valid_constraints(client: &mut Client) -> std::result::Result<Vec<String>, postgres::Error> {
    let rows = client.query(
        "SELECT n.nspname || '.' || coalesce(c.relname, t.typname, '?') || ': ' || k.conname \
         FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_namespace n ON n.oid = k.connamespace \
         LEFT JOIN pg_catalog.pg_class c ON c.oid = k.conrelid LEFT JOIN pg_catalog.pg_type t ON t.oid = k.contypid \
         WHERE NOT k.convalidated ORDER BY 1",
        &[],
    )?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Our words for a failed query on the target; the server's text is not shown (it can quote
/// a value), but identifiers it reports (constraint, column, table) and the COPY line are.
pub(super) fn describe(e: &postgres::Error) -> String {
    let Some(db) = e.as_db_error() else {
        return if e.is_closed() {
            "the connection was lost; check the server log and the network, then run again".to_string()
        } else {
            format!("the database driver failed ({e})")
        };
    };
    let code = db.code().code();
    let what = match &code[..2] {
        "23" => match code {
            "23505" => "a unique constraint or index is violated (duplicate values)",
            "23503" => "a foreign key is violated",
            "23502" => "a NOT NULL constraint is violated",
            "23514" => "a CHECK constraint is violated",
            "23P01" => "an exclusion constraint is violated",
            _ => "a constraint is violated",
        },
        "22" => "a value does not fit the column's type (too long, out of range or malformed)",
        "42" => "the statement does not fit the target's schema (missing table or column, or a permission)",
        "08" | "57" => "the connection was lost or the server shut down",
        "53" => "the server ran out of resources (disk, memory or connections)",
        _ => "the server reported an error",
    };
    let mut out = format!("{what} (SQLSTATE {code}");
    if let Some(t) = db.table() {
        out.push_str(&format!(", table {t}"));
    }
    if let Some(c) = db.column() {
        out.push_str(&format!(", column {c}"));
    }
    if let Some(c) = db.constraint() {
        out.push_str(&format!(", constraint {c}"));
    }
    // COPY context reads `COPY t, line 5, column c: "value"`: keep only the line number.
    if let Some(line) = db.where_().and_then(copy_line) {
        out.push_str(&format!(", row {line}"));
    }
    out.push_str("); the target server's log may show the value");
    out
}

/// A failed administrative statement (CREATE, COMMENT, DROP DATABASE): these touch no rows, so
/// the server's message names only databases, locales and roles and may be shown.
fn describe_admin(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => describe(e),
    }
}

/// Sets sequence `qualified` (quoted; `shown` unquoted, for messages) to `last_value` and
/// `is_called`, or just above the largest value loaded into the integer column owning it when
/// that is higher: an ascending sequence owned by a column (serial, identity) must stay above
/// the values loaded into it.
pub(super) fn set_sequence(
    control: &mut Client,
    loc: &str,
    qualified: &str,
    shown: &str,
    mut last_value: i64,
    mut is_called: bool,
) -> Result<()> {
    let owner = control
        .query_opt(
            "SELECT format('%I.%I', n.nspname, c.relname), quote_ident(a.attname) \
             FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid = d.refobjid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
             JOIN pg_catalog.pg_sequence s ON s.seqrelid = d.objid \
             WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = $1::text::regclass \
             AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i') \
             AND d.refobjsubid > 0 AND s.seqincrement > 0 \
             AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)",
            &[&qualified],
        )
        .map_err(|e| Error::target(loc, format!("sequence {shown}: finding its column: {}", describe(&e))))?;
    if let Some(owner) = owner {
        let (table, column): (String, String) = (owner.get(0), owner.get(1));
        let max: Option<i64> = control
            .query_one(&format!("SELECT max({column})::int8 FROM {table}"), &[])
            .map_err(|e| Error::target(loc, format!("sequence {shown}: reading its column: {}", describe(&e))))?
            .get(0);
        if let Some(max) = max
            && (max > last_value || (max == last_value && !is_called))
        {
            (last_value, is_called) = (max, true);
        }
    }
    control
        .execute("SELECT pg_catalog.setval($1::text::regclass, $2, $3)", &[&qualified, &last_value, &is_called])
        .map_err(|e| Error::target(loc, format!("setting sequence {shown}: {}", describe(&e))))?;
    Ok(())
}

fn copy_line(context: &str) -> Option<u64> {
    let rest = &context[context.find(", line ")? + 7..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The environment of a pg_dump or psql child connecting as `p` to its database: every PG*
/// variable and DOPPEL_KEY removed, then the resolved connection set.
pub(super) fn child_command(program: &str, p: &ConnectParams) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("PG") {
            cmd.env_remove(&key);
        }
    }
    cmd.env_remove(crate::secret::KEY_ENV);
    let hosts: Vec<String> = p
        .config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = p.config.get_ports().iter().map(u16::to_string).collect();
    cmd.env("PGHOST", hosts.join(","))
        .env("PGPORT", ports.join(","))
        .env("PGUSER", &p.user)
        .env("PGDATABASE", &p.dbname)
        .env("PGAPPNAME", "doppel");
    // The same TLS settings: PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY (files, no secrets).
    cmd.envs(p.tls.child_env());
    if let Some(pw) = p.config.get_password() {
        cmd.env("PGPASSWORD", String::from_utf8_lossy(pw).into_owned());
    }
    if let Some(t) = p.config.get_connect_timeout() {
        cmd.env("PGCONNECT_TIMEOUT", t.as_secs().max(1).to_string());
    }
    if let Some(o) = p.config.get_options() {
        cmd.env("PGOPTIONS", o);
    }
    cmd
}

/// The last `max` characters of `text`, on a character boundary.
pub(super) fn tail(text: &str, max: usize) -> &str {
    let text = text.trim();
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// The last statement psql echoed (`-e`), on one line: schema text from pg_dump, no data.
/// Statements end with `;`; a blank line ends the output of a query echoed before.
fn last_statement(echoed: &str) -> String {
    let lines: Vec<&str> = echoed.trim_end().lines().collect();
    let start = lines
        .iter()
        .enumerate()
        .rev()
        .skip(1)
        .find(|(_, l)| l.trim().is_empty() || l.trim_end().ends_with(';'))
        .map(|(i, _)| i + 1)
        .unwrap_or(0);
    lines[start..].iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ")
}

/// Which pg_dump section to pipe into psql.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    PreData,
    PostData,
}

/// Takes the advisory lock every run that creates, replaces or drops database `dbname` holds
/// ([`replace::lock`]) on a maintenance connection of `server`'s server; the lock lasts as long
/// as the returned connection.
pub fn lock_target(server: &ConnectParams, dbname: &str) -> Result<Client> {
    let mut lock = PostgresSink::maintenance(server)?;
    replace::lock(&mut lock, dbname, &with_dbname(server, dbname).location)?;
    Ok(lock)
}

impl PostgresSink {
    /// Creates the database `target_url` names (or takes an existing empty one) and restores
    /// the pre-data schema of the source (`source_url`, under the exported `snapshot`) into it.
    /// Refuses a target that exists and is not empty, and the source database itself.
    pub fn create(target_url: &str, source_url: &str, snapshot: &str) -> Result<PostgresSink> {
        Self::create_with(target_url, source_url, snapshot, &TargetOptions::default())
    }

    /// Like [`PostgresSink::create`], with `--replace`, `--force` and `--terminate-connections`
    /// (see [`super::replace`]): an existing target is rebuilt beside it and swapped in at
    /// commit; it is refused unless doppel created it, or `options.force`.
    pub fn create_with(
        target_url: &str,
        source_url: &str,
        snapshot: &str,
        options: &TargetOptions,
    ) -> Result<PostgresSink> {
        Self::create_inner(target_url, Some((source_url, snapshot)), None, options)
    }

    /// Like [`PostgresSink::create_with`] without a source (`doppel generate --profile`): the
    /// schema is `pre_data` / `post_data` (pg_dump's sections, as a profile keeps them), the
    /// database takes the server's default encoding and locale, and each sequence is set just
    /// above the loaded maximum of the integer column owning it.
    pub fn create_from_ddl(
        target_url: &str,
        pre_data: &str,
        post_data: &str,
        options: &TargetOptions,
    ) -> Result<PostgresSink> {
        let ddl = (pre_data.as_bytes().to_vec(), post_data.as_bytes().to_vec());
        Self::create_inner(target_url, None, Some(ddl), options)
    }

    fn create_inner(
        target_url: &str,
        from: Option<(&str, &str)>,
        ddl: Option<(Vec<u8>, Vec<u8>)>,
        options: &TargetOptions,
    ) -> Result<PostgresSink> {
        let target = ConnectParams::from_url(target_url).map_err(as_target)?;
        let (source, snapshot) = match from {
            Some((source_url, snapshot)) => (ConnectParams::from_url(source_url)?, snapshot),
            None => (target.clone(), "none"),
        };
        let loc = target.location.clone();
        if from.is_some() && same_database(&target, &source) {
            return Err(Error::target(
                &loc,
                "is the source database itself; doppel never writes into the database it reads from",
            ));
        }
        if matches!(target.dbname.as_str(), "postgres" | "template0" | "template1") {
            return Err(Error::target(&loc, "is a system database; name a database of its own for the target"));
        }

        // The source's encoding and locale, for a faithful CREATE DATABASE.
        let encoding: Option<(String, String, String)> = match from {
            Some(_) => {
                let mut src = source.connect()?;
                let row = src
                    .query_one(
                        "SELECT pg_catalog.pg_encoding_to_char(encoding), datcollate, datctype FROM pg_catalog.pg_database \
                         WHERE datname = pg_catalog.current_database()",
                        &[],
                    )
                    .map_err(|e| Error::source(&source.location, format!("reading the database encoding: {}", describe(&e))))?;
                Some((row.get(0), row.get(1), row.get(2)))
            }
            // Without a source: the server's defaults.
            None => None,
        };

        let mut maintenance = Self::maintenance(&target)?;
        for role in options.role_map.target_roles() {
            let found = maintenance
                .query_opt("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", &[&role])
                .map_err(|e| Error::target(&loc, format!("looking up role {role}: {}", describe(&e))))?;
            if found.is_none() {
                return Err(Error::target(
                    &loc,
                    format!(
                        "role {role}, named by --role-map, does not exist on the target server; create it or fix the map"
                    ),
                ));
            }
        }
        // Two runs on one target never overlap: the lock is held by a connection kept until the
        // end, by every run that creates or replaces the database.
        let lock = Some(lock_target(&target, &target.dbname)?);
        replace::clean_leftovers(&mut maintenance, &target.dbname, &loc);
        let existing: Option<Option<String>> = maintenance
            .query_opt(
                "SELECT pg_catalog.shobj_description(oid, 'pg_database') FROM pg_catalog.pg_database WHERE datname = $1",
                &[&target.dbname],
            )
            .map_err(|e| Error::target(&loc, format!("looking for the database: {}", describe_admin(&e))))?
            .map(|r| r.get(0));
        let mut exists = existing.is_some();
        let protected = exists
            && super::protect::is_protected(&mut maintenance, &target.dbname)
                .map_err(|e| Error::target(&loc, format!("checking protection: {}", describe_admin(&e))))?;
        if protected {
            return Err(Error::target(
                &loc,
                "is protected (`doppel protect`): doppel never writes into, replaces or drops it, whatever \
                 the flags; name another target, or lift the mark with `doppel protect --remove`",
            ));
        }
        // A run killed while loading left its half-built database under the target's name (the
        // lock we hold says that run is gone).
        if exists && replace::is_abandoned_load(existing.as_ref().and_then(|c| c.as_deref())) {
            maintenance.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", quote_ident(&target.dbname))).map_err(
                |e| {
                    Error::target(
                        &loc,
                        format!("dropping the half-built database of a killed run: {}", describe_admin(&e)),
                    )
                },
            )?;
            tracing::info!(target = %loc, "removed the half-built database of a killed run");
            exists = false;
        }
        let marker = replace::marker("loading", &format!(", snapshot {snapshot}"));
        let mut sink = PostgresSink {
            target: target.clone(),
            target_url: target_url.to_string(),
            swap_into: None,
            lock,
            options: options.clone(),
            source,
            snapshot: snapshot.to_string(),
            ddl,
            control: None,
            in_transaction: false,
            created: false,
            marker,
            committed: false,
        };
        let build_beside = if let (Some(comment), true) = (&existing, options.replace) {
            if !replace::is_doppel_marker(comment.as_deref()) && !options.force {
                return Err(Error::target(
                    &loc,
                    "exists and was not created by doppel (its comment is not doppel's marker); --replace \
                     refuses to replace it unless --force is given",
                ));
            }
            let temp = replace::temp_name(&target.dbname, std::process::id());
            sink.swap_into = Some(target.dbname.clone());
            sink.target = with_dbname(&target, &temp);
            sink.target_url = url_with_dbname(target_url, &temp);
            true
        } else {
            false
        };
        if exists && !build_beside {
            // Everything from here to the commit is one transaction: a failed or killed run
            // leaves the database exactly as empty as it found it.
            let mut client = target.connect().map_err(as_target)?;
            client
                .batch_execute("BEGIN")
                .map_err(|e| Error::target(&loc, format!("starting the load's transaction: {}", describe(&e))))?;
            let used: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
                     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'",
                    &[],
                )
                .map_err(|e| Error::target(&loc, format!("checking that the database is empty: {}", describe(&e))))?
                .get(0);
            if used > 0 {
                return Err(Error::target(
                    &loc,
                    "exists and is not empty; doppel loads only into a new or empty database (give --replace to \
                     build a new copy beside it and swap it in, drop it, or name another database)",
                ));
            }
            sink.control = Some(Arc::new(Mutex::new(client)));
            sink.in_transaction = true;
        } else {
            let build = sink.target.dbname.clone();
            let create = match &encoding {
                Some((encoding, collate, ctype)) => format!(
                    "CREATE DATABASE {} TEMPLATE template0 ENCODING {} LC_COLLATE {} LC_CTYPE {}",
                    quote_ident(&build),
                    quote_literal(encoding),
                    quote_literal(collate),
                    quote_literal(ctype)
                ),
                None => format!("CREATE DATABASE {} TEMPLATE template0", quote_ident(&build)),
            };
            maintenance
                .batch_execute(&create)
                .map_err(|e| Error::target(&loc, format!("creating the database: {}", describe_admin(&e))))?;
            sink.created = true;
            let marked = maintenance.batch_execute(&format!(
                "COMMENT ON DATABASE {} IS {}",
                quote_ident(&build),
                quote_literal(&sink.marker)
            ));
            if let Err(e) = marked {
                // Unmarked, the drop on failure would not recognise it: remove it now.
                sink.created = false;
                let _ = maintenance.batch_execute(&format!("DROP DATABASE {}", quote_ident(&build)));
                return Err(Error::target(&loc, format!("marking the database: {}", describe_admin(&e))));
            }
            sink.control = Some(Arc::new(Mutex::new(sink.target.connect().map_err(as_target)?)));
        }
        drop(maintenance);
        sink.restore(Section::PreData)?;
        tracing::info!(target = %loc, created = sink.created, "PostgreSQL target prepared");
        Ok(sink)
    }

    /// A connection to the target server's maintenance database (`postgres`, else `template1`).
    fn maintenance(target: &ConnectParams) -> Result<Client> {
        match with_dbname(target, "postgres").connect() {
            Ok(c) => Ok(c),
            Err(first) => with_dbname(target, "template1").connect().map_err(|_| as_target(first)),
        }
    }

    fn control(&self) -> Result<MutexGuard<'_, Client>> {
        let loc = &self.target.location;
        let control =
            self.control.as_ref().ok_or_else(|| Error::target(loc, "the connection to the target is gone"))?;
        Ok(control.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// `pg_dump --schema-only --section=… --snapshot=…` of the source (owners and privileges
    /// as `--role-map` says) restored with psql on the target.
    fn restore(&self, section: Section) -> Result<()> {
        let loc = &self.target.location;
        let (flag, what) = match section {
            Section::PreData => ("--section=pre-data", "restoring the schema (pre-data)"),
            Section::PostData => ("--section=post-data", "restoring indexes, constraints and triggers (post-data)"),
        };
        let sql = match (&self.ddl, section) {
            (Some((pre_data, _)), Section::PreData) => Ok(pre_data.clone()),
            (Some((_, post_data)), Section::PostData) => Ok(post_data.clone()),
            (None, _) => dump::schema_section(&self.source, &self.snapshot, flag, None, &self.options.role_map, loc),
        }
        .map_err(|e| match e {
            Error::Target { location, message } => Error::Target { location, message: format!("{what}: {message}") },
            other => other,
        })?;
        if self.in_transaction {
            return self.run_in_transaction(&sql, section, what);
        }
        let mut psql = child_command("psql", &self.target);
        psql.args(["-X", "-q", "-v", "ON_ERROR_STOP=1"]);
        if section == Section::PostData {
            // Post-data runs over loaded rows: its errors may quote a value (DETAIL). Keep only
            // the SQLSTATE, and echo the statements (schema text) to name the one that failed.
            psql.args(["-v", "VERBOSITY=sqlstate", "-e"]);
        }
        let restored =
            psql.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().and_then(|mut child| {
                let mut stdin = child.stdin.take().expect("piped stdin");
                // psql may stop reading early (ON_ERROR_STOP): its exit status tells why.
                let feeder = std::thread::spawn(move || {
                    let _ = stdin.write_all(&sql);
                });
                let output = child.wait_with_output();
                let _ = feeder.join();
                output
            });
        let restored = restored
            .map_err(|e| Error::target(loc, format!("{what}: cannot run psql ({e}); install the PostgreSQL client")))?;
        if !restored.status.success() {
            let stderr = String::from_utf8_lossy(&restored.stderr);
            let detail = match section {
                // Pre-data restores into an empty database: the output holds schema text only.
                Section::PreData => tail(&stderr, 2000).to_string(),
                Section::PostData => {
                    let stdout = String::from_utf8_lossy(&restored.stdout);
                    format!("{} in: {}", tail(&stderr, 300), tail(&last_statement(&stdout), 600))
                }
            };
            return Err(Error::target(loc, format!("{what}: psql failed ({}): {detail}", restored.status)));
        }
        Ok(())
    }

    /// Runs pg_dump's schema script `sql` on the load's connection, inside its transaction: what
    /// psql would do with it, but on the connection holding the transaction. psql's
    /// `\restrict` / `\unrestrict` lines (pg_dump 15.14+) are psql's own and are left out.
    fn run_in_transaction(&self, sql: &[u8], section: Section, what: &str) -> Result<()> {
        let loc = &self.target.location;
        let text = std::str::from_utf8(sql)
            .map_err(|_| Error::target(loc, format!("{what}: pg_dump's output is not UTF-8")))?;
        let script: String = text
            .lines()
            .filter(|line| !(line.starts_with("\\restrict ") || line.starts_with("\\unrestrict ")))
            .flat_map(|line| [line, "\n"])
            .collect();
        self.control()?.batch_execute(&script).map_err(|e| {
            let why = match section {
                // Pre-data runs before any row is loaded: the server's text names schema objects only.
                Section::PreData => describe_admin(&e),
                Section::PostData => describe(&e),
            };
            Error::target(loc, format!("{what}: {why}"))
        })
    }

    /// Sets every sequence of the target as the source has it under the snapshot, or just above
    /// the largest value of the integer column owning it when that is higher (the column was
    /// pseudonymised).
    fn copy_sequences(&mut self) -> Result<usize> {
        if self.ddl.is_some() {
            return self.raise_sequences();
        }
        let src_loc = self.source.location.clone();
        let mut src = self.source.connect()?;
        src.batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}",
            quote_literal(&self.snapshot)
        ))
        .map_err(|e| Error::source(&src_loc, format!("importing the snapshot to read sequences: {}", describe(&e))))?;
        let names: Vec<(String, String)> = src
            .query(
                "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
                 AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' ORDER BY 1, 2",
                &[],
            )
            .map_err(|e| Error::source(&src_loc, format!("listing sequences: {}", describe(&e))))?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut values = Vec::with_capacity(names.len());
        for (schema, name) in &names {
            let qualified = format!("{}.{}", quote_ident(schema), quote_ident(name));
            let row = src
                .query_one(&format!("SELECT last_value, is_called FROM {qualified}"), &[])
                .map_err(|e| Error::source(&src_loc, format!("reading sequence {schema}.{name}: {}", describe(&e))))?;
            values.push((qualified, format!("{schema}.{name}"), row.get::<_, i64>(0), row.get::<_, bool>(1)));
        }
        drop(src);
        let loc = self.target.location.clone();
        let mut control = self.control()?;
        for (qualified, shown, last_value, is_called) in &values {
            // The loaded values differ from the source's when the owning column's rule
            // transformed them.
            set_sequence(&mut control, &loc, qualified, shown, *last_value, *is_called)?;
        }
        Ok(values.len())
    }

    /// Without a source: every sequence of the target just above the loaded maximum of the
    /// column owning it (or unused, at its start, when it owns none or the column is empty).
    fn raise_sequences(&mut self) -> Result<usize> {
        let loc = self.target.location.clone();
        let mut control = self.control()?;
        let names: Vec<(String, String, i64)> = control
            .query(
                "SELECT format('%I.%I', n.nspname, c.relname), n.nspname || '.' || c.relname, s.seqstart \
                 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid ORDER BY 2",
                &[],
            )
            .map_err(|e| Error::target(&loc, format!("listing sequences: {}", describe(&e))))?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        for (qualified, shown, start) in &names {
            set_sequence(&mut control, &loc, qualified, shown, *start, false)?;
        }
        Ok(names.len())
    }

    fn drop_created(&mut self) {
        self.control = None;
        if !self.created {
            return;
        }
        let name = self.target.dbname.clone();
        let result = Self::maintenance(&self.target).and_then(|mut m| {
            // A failed swap may have left the target refusing connections: turn them on first,
            // and keep this database (the record of what to reopen) if that fails.
            if let Some(oid) = replace::swapping_into(&self.marker) {
                replace::allow_connections_again(&mut m, oid).map_err(|e| {
                    Error::target(
                        &self.target.location,
                        format!(
                            "could not allow connections again to the database being replaced ({}); the next \
                             doppel run on this target does it, or ALTER DATABASE … WITH ALLOW_CONNECTIONS true",
                            describe_admin(&e)
                        ),
                    )
                })?;
            }
            // Only the database this sink created: its comment still carries this run's marker.
            let ours = m
                .query_opt(
                    "SELECT 1 FROM pg_catalog.pg_database d WHERE d.datname = $1 \
                     AND pg_catalog.shobj_description(d.oid, 'pg_database') = $2",
                    &[&name, &self.marker],
                )
                .map_err(|e| Error::target(&self.target.location, describe(&e)))?
                .is_some();
            if ours {
                m.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&name)))
                    .map_err(|e| Error::target(&self.target.location, describe_admin(&e)))?;
            }
            Ok(())
        });
        match result {
            Ok(()) => tracing::info!(target = %self.target.location, "removed the partly built target database"),
            Err(e) => tracing::error!("could not remove the partly built target database: {e}"),
        }
    }
}

impl Sink for PostgresSink {
    /// The database being built (beside the target with `--replace`), loaded but without its
    /// indexes and constraints yet, and not marked complete.
    fn staged_location(&self) -> Option<crate::source::Location> {
        // Inside the load's transaction nothing is visible to another connection yet.
        (!self.in_transaction).then(|| crate::source::Location::Postgres(self.target_url.clone()))
    }

    fn open_table(&mut self, name: &str, schema: SchemaRef) -> Result<Box<dyn TableSink>> {
        let loc = self.target.location.clone();
        let found = self
            .control()?
            .query(
                "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind IN ('r', 'p') AND n.nspname || '.' || c.relname = $1",
                &[&name],
            )
            .map_err(|e| Error::target(&loc, format!("table {name}: looking it up: {}", describe(&e))))?;
        let (table_schema, table_name): (String, String) = match found.as_slice() {
            [row] => (row.get(0), row.get(1)),
            [] => return Err(Error::target(&loc, format!("table {name} is not in the restored schema"))),
            _ => return Err(Error::target(&loc, format!("table {name}: the name is ambiguous in the target"))),
        };
        let (columns, projected) = copy_text::copied_columns(&schema, name).map_err(|m| Error::target(&loc, m))?;
        // Binary where every column has a binary form (faster for the server to parse).
        let binary = BinaryEncoder::for_schema(&projected);
        let mut statement = copy_text::copy_statement(&table_schema, &table_name, &projected);
        if binary.is_some() {
            statement.push_str(" (FORMAT binary)");
        }
        tracing::debug!(table = name, binary = binary.is_some(), "COPY format");
        if self.in_transaction {
            // One table at a time on the load's connection: a COPY holds it until it is done.
            let shared =
                self.control.clone().ok_or_else(|| Error::target(&loc, "the connection to the target is gone"))?;
            return start_copy(&loc, name, columns, projected, binary, move |chunks| {
                let mut client = shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                copy_thread(&mut client, &statement, chunks)
            });
        }
        let mut client = self.target.connect().map_err(as_target)?;
        start_copy(&loc, name, columns, projected, binary, move |chunks| copy_thread(&mut client, &statement, chunks))
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let loc = self.target.location.clone();
        self.restore(Section::PostData)?;
        let sequences = self.copy_sequences()?;
        {
            let mut control = self.control()?;
            control.batch_execute("ANALYZE").map_err(|e| Error::target(&loc, format!("ANALYZE: {}", describe(&e))))?;
            let names = not_valid_constraints(&mut control)
                .map_err(|e| Error::target(&loc, format!("checking constraints: {}", describe(&e))))?;
            if !names.is_empty() {
                return Err(Error::target(
                    &loc,
                    format!("constraints left NOT VALID after the load: {}", names.join(", ")),
                ));
            }
            if self.in_transaction {
                control
                    .batch_execute("COMMIT")
                    .map_err(|e| Error::target(&loc, format!("committing the load: {}", describe(&e))))?;
            }
        }
        if let Some(final_name) = self.swap_into.clone() {
            // Our own sessions on the new database end here: the rename needs it to be unused.
            self.control = None;
            let build = self.target.dbname.clone();
            let options = self.options.clone();
            let final_loc = with_dbname(&self.target, &final_name).location;
            let PostgresSink { lock, marker, .. } = &mut *self;
            let admin =
                lock.as_mut().ok_or_else(|| Error::target(&final_loc, "the replace lock's connection is gone"))?;
            replace::swap(admin, &build, &final_name, marker, &options, &final_loc)?;
        } else if self.created {
            let dbname = self.target.dbname.clone();
            let done = format!("{COMMENT_PREFIX} {}: complete", env!("CARGO_PKG_VERSION"));
            self.control()?
                .batch_execute(&format!("COMMENT ON DATABASE {} IS {}", quote_ident(&dbname), quote_literal(&done)))
                .map_err(|e| Error::target(&loc, format!("marking the database complete: {}", describe(&e))))?;
        }
        self.committed = true;
        self.control = None;
        tracing::info!(target = %loc, sequences, "PostgreSQL target complete");
        Ok(())
    }
}

impl Drop for PostgresSink {
    fn drop(&mut self) {
        if !self.committed {
            if self.in_transaction
                && let Ok(mut control) = self.control()
            {
                // Closing the connection would roll back too; this says so at once.
                let _ = control.batch_execute("ROLLBACK");
                tracing::info!(target = %self.target.location, "rolled back the load: the database is empty again");
            }
            self.drop_created();
        }
    }
}

/// What a [`TableSink`] of [`start_copy`] sends its writer thread.
pub(super) enum Chunk {
    Data(Vec<u8>),
    Finish,
}

/// Starts the [`TableSink`] of table `name`: batches are projected on `columns`, given the
/// `projected` schema, encoded as COPY text and passed to `copy`, which runs on a writer thread
/// of its own (usually [`copy_thread`] on some connection).
pub(super) fn start_copy(
    location: &str,
    name: &str,
    columns: Vec<usize>,
    projected: SchemaRef,
    binary: Option<BinaryEncoder>,
    copy: impl FnOnce(Receiver<Chunk>) -> std::result::Result<u64, String> + Send + 'static,
) -> Result<Box<dyn TableSink>> {
    let (sender, receiver) = bounded::<Chunk>(2);
    if binary.is_some() {
        // The channel is empty: this cannot block.
        let _ = sender.send(Chunk::Data(copy_binary::HEADER.to_vec()));
    }
    let writer = std::thread::Builder::new()
        .name(format!("copy-in {name}"))
        .spawn(move || copy(receiver))
        .map_err(|e| Error::target(location, format!("table {name}: cannot start a writer thread: {e}")))?;
    Ok(Box::new(PostgresTableSink {
        location: location.to_string(),
        table: name.to_string(),
        columns,
        schema: projected,
        sender: Some(sender),
        writer: Some(writer),
        binary,
        rows: 0,
        bytes: 0,
        buffer: Vec::new(),
    }))
}

/// Runs one COPY: writes the chunks it receives; finishes the COPY only on [`Chunk::Finish`]
/// (a closed channel without it aborts the COPY, so a failed run loads nothing more).
pub(super) fn copy_thread(
    client: &mut Client,
    statement: &str,
    chunks: Receiver<Chunk>,
) -> std::result::Result<u64, String> {
    let mut writer = client.copy_in(statement).map_err(|e| format!("starting COPY: {}", describe(&e)))?;
    for chunk in chunks {
        match chunk {
            Chunk::Data(bytes) => {
                if let Err(e) = writer.write_all(&bytes) {
                    // The server's reason arrives when the COPY is finished.
                    let finish = writer.finish();
                    return Err(match finish {
                        Err(pe) => format!("COPY failed: {}", describe(&pe)),
                        Ok(_) => format!("COPY failed: writing to the server: {}", e.kind()),
                    });
                }
            }
            Chunk::Finish => return writer.finish().map_err(|e| format!("COPY failed: {}", describe(&e))),
        }
    }
    Err("the run stopped before the table was complete".to_string())
}

struct PostgresTableSink {
    location: String,
    table: String,
    /// Indices of the columns sent (generated columns are left out).
    columns: Vec<usize>,
    schema: Arc<Schema>,
    sender: Option<Sender<Chunk>>,
    writer: Option<JoinHandle<std::result::Result<u64, String>>>,
    /// Binary COPY (header already sent); `None`: text.
    binary: Option<BinaryEncoder>,
    /// Rows sent so far, for row numbers in errors.
    rows: u64,
    bytes: u64,
    buffer: Vec<u8>,
}

impl PostgresTableSink {
    fn writer_error(&mut self) -> Error {
        self.sender = None;
        let message = match self.writer.take().map(JoinHandle::join) {
            Some(Ok(Err(m))) => m,
            Some(Err(_)) => "the COPY writer thread panicked".to_string(),
            _ => "the COPY stopped".to_string(),
        };
        Error::target(&self.location, format!("table {}: {message}", self.table))
    }
}

impl TableSink for PostgresTableSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let batch = batch.project(&self.columns).map_err(|e| Error::target(&self.location, e))?;
        let batch = crate::sink::with_schema(&batch, self.schema.clone())
            .map_err(|e| Error::target(&self.location, format!("table {}: {e}", self.table)))?;
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        match &self.binary {
            Some(encoder) => encoder.encode(&batch, &mut buffer).map_err(|e| {
                Error::target(
                    &self.location,
                    format!(
                        "table {}, column {}, row {}: {}",
                        self.table,
                        e.column,
                        self.rows + e.row as u64 + 1,
                        e.reason
                    ),
                )
            })?,
            None => copy_text::encode_batch(&batch, &mut buffer),
        }
        self.rows += batch.num_rows() as u64;
        self.bytes += buffer.len() as u64;
        let sent = self.sender.as_ref().map(|s| s.send(Chunk::Data(buffer)).is_ok()).unwrap_or(false);
        if !sent {
            return Err(self.writer_error());
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<u64> {
        let trailer = self.binary.is_some().then(|| Chunk::Data(copy_binary::TRAILER.to_vec()));
        let sent = self
            .sender
            .take()
            .map(|s| trailer.into_iter().chain([Chunk::Finish]).all(|chunk| s.send(chunk).is_ok()))
            .unwrap_or(false);
        match self.writer.take().map(JoinHandle::join) {
            Some(Ok(Ok(rows))) if sent => {
                tracing::debug!(table = %self.table, rows, "COPY finished");
                Ok(self.bytes)
            }
            Some(Ok(Err(m))) => Err(Error::target(&self.location, format!("table {}: {m}", self.table))),
            Some(Err(_)) => {
                Err(Error::target(&self.location, format!("table {}: the COPY writer thread panicked", self.table)))
            }
            _ => Err(Error::target(&self.location, format!("table {}: the COPY stopped", self.table))),
        }
    }
}

impl Drop for PostgresTableSink {
    fn drop(&mut self) {
        // Closing the channel without Finish aborts the COPY.
        self.sender = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(url: &str) -> ConnectParams {
        ConnectParams::resolve(url, &|_| None).unwrap()
    }

    #[test]
    fn a_url_names_another_database_with_its_query_kept() {
        assert_eq!(
            url_with_dbname("postgres://u:p@h:5/prod?sslmode=require", "x y"),
            "postgres://u:p@h:5/x%20y?sslmode=require"
        );
        assert_eq!(url_with_dbname("postgresql://h", "st__doppel_7"), "postgresql://h/st__doppel_7");
        assert_eq!(url_with_dbname("postgres://h/?x=1", "d"), "postgres://h/d?x=1");
        let p =
            ConnectParams::resolve(&url_with_dbname("postgres://u@h/prod", "staging__doppel_9"), &|_| None).unwrap();
        assert_eq!(p.dbname, "staging__doppel_9");
    }

    #[test]
    fn the_source_database_is_recognised_through_spellings() {
        assert!(same_database(&params("postgres://a@localhost:5432/prod"), &params("postgres://b@127.0.0.1/prod")));
        assert!(same_database(
            &params("postgres://a@db.example:6000/prod"),
            &params("postgresql://a:pw@DB.example:6000/prod")
        ));
        assert!(!same_database(&params("postgres://a@localhost/prod"), &params("postgres://a@localhost/staging")));
        assert!(!same_database(&params("postgres://a@localhost:5433/prod"), &params("postgres://a@localhost/prod")));
        assert!(!same_database(&params("postgres://a@other/prod"), &params("postgres://a@localhost/prod")));
    }

    #[test]
    fn the_failing_post_data_statement_is_named_on_one_line() {
        let echoed = "SET x = 1;\n set_config \n(1 row)\n\nALTER TABLE ONLY t\n    ADD CONSTRAINT k FOREIGN KEY (a) REFERENCES u(id);\n";
        assert_eq!(last_statement(echoed), "ALTER TABLE ONLY t ADD CONSTRAINT k FOREIGN KEY (a) REFERENCES u(id);");
        assert_eq!(last_statement("CREATE INDEX i ON t (a);"), "CREATE INDEX i ON t (a);");
    }

    #[test]
    fn children_get_the_password_in_their_environment_only_and_never_the_key() {
        let cmd = child_command("pg_dump", &params("postgres://app:hunter2@db:6000/prod?options=-c%20x%3D1"));
        let envs: Vec<(String, Option<String>)> = cmd
            .get_envs()
            .map(|(k, v)| (k.to_string_lossy().into_owned(), v.map(|v| v.to_string_lossy().into_owned())))
            .collect();
        let get = |name: &str| envs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        assert_eq!(get("PGPASSWORD"), Some(Some("hunter2".to_string())));
        assert_eq!(get("PGHOST"), Some(Some("db".to_string())));
        assert_eq!(get("PGPORT"), Some(Some("6000".to_string())));
        assert_eq!(get("PGDATABASE"), Some(Some("prod".to_string())));
        assert_eq!(get("PGOPTIONS"), Some(Some("-c x=1".to_string())));
        assert_eq!(get(crate::secret::KEY_ENV), Some(None), "DOPPEL_KEY is removed");
        assert!(cmd.get_args().all(|a| !a.to_string_lossy().contains("hunter2")));
    }

    #[test]
    fn copy_context_gives_the_line_not_the_value() {
        assert_eq!(copy_line("COPY orders, line 17, column x: \"secret\""), Some(17));
        assert_eq!(copy_line("SQL statement"), None);
    }

    #[test]
    fn the_maintenance_location_names_the_other_database() {
        let p = params("postgres://u:pw@db:6000/staging");
        let m = with_dbname(&p, "postgres");
        assert_eq!(m.location, "postgresql://u@db:6000/postgres");
        assert_eq!(m.config.get_dbname(), Some("postgres"));
    }

    #[test]
    fn the_sink_is_send() {
        fn is_send<T: Send>() {}
        is_send::<PostgresSink>();
        is_send::<PostgresTableSink>();
    }
}
