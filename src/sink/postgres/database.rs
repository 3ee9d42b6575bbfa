//! PostgreSQL target database: create it, restore the source's schema, load every table with
//! `COPY … FROM STDIN`, then finish it (post-data, sequences, ANALYZE, validation).
//!
//! ```text
//! create()     ── maintenance db: CREATE DATABASE "t" TEMPLATE template0 (source's encoding
//!                  and locale); COMMENT ON DATABASE "t" IS 'doppel … loading …'
//!              ── pg_dump --schema-only --section=pre-data --snapshot=S (source) | psql (target)
//! open_table() ── own connection: COPY "s"."t" (non-generated columns) FROM STDIN (text),
//!                  fed batch by batch from a writer thread
//! commit()     ── post-data (indexes, constraints, triggers) over --jobs connections:
//!                  pg_dump --section=post-data --format=custom --snapshot=S → temporary file,
//!                  pg_restore --jobs N (see crate::pg::restore)
//!              ── setval every sequence as the source has it under snapshot S (or above
//!                  the loaded maximum of its owning column, when a rule changed that column)
//!              ── ANALYZE "s"."t" per table over N connections, largest first;
//!                  refuse if any constraint is NOT VALID
//!              ── COMMENT ON DATABASE "t" IS 'doppel …: complete'
//! drop without commit ── DROP DATABASE "t" WITH (FORCE), only if this sink created it
//! ```
//!
//! With `--replace` ([`TargetOptions::replace`]) and an existing target, "t" above is a fresh
//! database beside it, `<target>__doppel_<pid>`, swapped into the target's name at the end of
//! `commit()`; see [`super::replace`].
//!
//! Every run holds the target's advisory lock ([`crate::pg::lock`]) from the start to its end,
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
//! Post-data over several connections: `pg_restore --jobs N` builds the indexes and keys of
//! different tables at once and a foreign key once the key it refers to exists, as a restore of
//! a whole dump does. N is [`TargetOptions::jobs`] (`run --jobs`: the core count, at most 4),
//! lowered to what the target server can still give: pg_restore holds N + 1 connections, beside
//! the run's two (the advisory lock on the maintenance database, the control connection), and a
//! source on the same server keeps its snapshot's; the load before it held `--jobs` COPY
//! connections, so a server that took the load takes post-data. Its `max_connections` needs
//! `--jobs` + 3 free slots (more for a source on the same server); with fewer, fewer jobs, and
//! with fewer than two, one connection (logged). One connection, statement after statement
//! (psql), also:
//! - in the ONE transaction of an existing, empty target (below): nothing else can see its
//!   tables before it commits, so no other connection can build their indexes;
//! - for a profile's schema (`generate --profile`: post-data SQL text, no source to dump an
//!   archive from);
//! - with a `--role-map` that rewrites a post-data statement (an owner or a grant: pg_restore
//!   cannot rename roles); a map that changes nothing there keeps pg_restore.
//!
//! With pg_restore and no `--role-map`, the archive is dumped before the load instead, and the
//! indexes of a large table are built as soon as its COPY ends ([`super::early`]); pg_restore
//! `--jobs` then builds the rest of the archive's entries (`--use-list`).
//!
//! Child processes (pg_dump, psql, pg_restore) get the connection through their environment only
//! (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, …): nothing on their command line names a
//! password, and `DOPPEL_KEY` is removed from their environment. Server messages that could
//! quote a cell value (COPY and post-data failures) are reduced to SQLSTATE, constraint,
//! column and line number: psql runs post-data with `VERBOSITY=sqlstate`; pg_restore's stderr
//! is never shown as it is (it quotes `DETAIL: Key (email)=(…)`), the statement it names as
//! failed is run again alone, in a transaction rolled back, for its SQLSTATE.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use arrow_schema::SchemaRef;
use postgres::Client;
use postgres::config::Host;

use super::early::EarlyIndexes;
use crate::error::{Error, Result};
use crate::pg::catalog::not_valid_constraints;
use crate::pg::child::{child_command, last_statement, map_roles, run_with_input, schema_section, tail};
use crate::pg::connect::ConnectParams;
use crate::pg::error::{as_target, describe, describe_admin};
use crate::pg::ident::{quote_ident, quote_literal};
use crate::pg::lock::{lock_target, maintenance};
use crate::pg::restore::{self, PostDataArchive};
use crate::pg::url::url_with_dbname;
use crate::pg::{marker, protect};
use crate::sink::{Sink, TableSink};

use super::copy_binary::BinaryEncoder;
use super::copy_in::{CopyForm, copy_thread, start_copy};
use super::replace::{self, TargetOptions};
use super::{copy_text, dumped_sql, sequences};
use crate::schema::DumpedSchema;

/// A PostgreSQL database being built as a [`Sink`].
pub struct PostgresSink {
    /// The database being built: the target itself, or the temporary one beside it.
    target: ConnectParams,
    /// The same as a URL (the user's, with the database name of the one being built), for
    /// `run --verify` to read it before it is published.
    target_url: String,
    /// With `--replace` over an existing database: its name, swapped into at commit.
    swap_into: Option<String>,
    /// The maintenance connection holding the target's advisory lock for the whole run ([`crate::pg::lock`]).
    lock: Option<Client>,
    options: TargetOptions,
    source: ConnectParams,
    snapshot: String,
    /// The schema's pre-data and post-data SQL when there is no source to dump it from
    /// ([`PostgresSink::create_from_ddl`]); `source` and `snapshot` are then unused.
    ddl: Option<(Vec<u8>, Vec<u8>)>,
    /// The sequences' values when they come from a dump file instead of the source.
    sequence_values: Option<Vec<sequences::SequenceValue>>,
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
    /// The target server's major version, once asked ([`PostgresSink::server_major`]).
    server_major: Option<u32>,
    /// The source's post-data archive, when dumped before the load (for [`Self::early`]).
    post_data: Option<Arc<PostDataArchive>>,
    /// Indexes of the tables loaded first, built while the others load ([`super::early`]).
    early: Mutex<Option<EarlyIndexes>>,
}

fn lock_early(early: &Mutex<Option<EarlyIndexes>>) -> MutexGuard<'_, Option<EarlyIndexes>> {
    early.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl std::fmt::Debug for PostgresSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSink")
            .field("target", &self.target.location)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
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

/// Refuses a target that is the source database itself (`source`, when there is one) or a
/// system database.
fn refuse_target(target: &ConnectParams, source: Option<&ConnectParams>) -> Result<()> {
    let loc = &target.location;
    if source.is_some_and(|source| same_database(target, source)) {
        return Err(Error::target(
            loc,
            "is the source database itself; doppel never writes into the database it reads from",
        ));
    }
    if matches!(target.dbname.as_str(), "postgres" | "template0" | "template1") {
        return Err(Error::target(loc, "is a system database; name a database of its own for the target"));
    }
    Ok(())
}

/// The source database's encoding, collation and ctype.
fn source_encoding(source: &ConnectParams) -> Result<(String, String, String)> {
    let mut src = source.connect()?;
    let row = src
        .query_one(
            "SELECT pg_catalog.pg_encoding_to_char(encoding), datcollate, datctype FROM pg_catalog.pg_database \
             WHERE datname = pg_catalog.current_database()",
            &[],
        )
        .map_err(|e| Error::source(&source.location, format!("reading the database encoding: {}", describe(&e))))?;
    Ok((row.get(0), row.get(1), row.get(2)))
}

/// Every role `--role-map` maps to must exist on the target server.
fn check_roles(maintenance: &mut Client, options: &TargetOptions, loc: &str) -> Result<()> {
    for role in options.role_map.target_roles() {
        let found = maintenance
            .query_opt("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", &[&role])
            .map_err(|e| Error::target(loc, format!("looking up role {role}: {}", describe(&e))))?;
        if found.is_none() {
            return Err(Error::target(
                loc,
                format!(
                    "role {role}, named by --role-map, does not exist on the target server; create it or fix the map"
                ),
            ));
        }
    }
    Ok(())
}

/// Whether database `dbname` exists (with its comment) and still exists after this: a protected
/// one is refused, and the half-built database of a killed run (the lock we hold says that run
/// is gone) is dropped.
fn existing_target(maintenance: &mut Client, dbname: &str, loc: &str) -> Result<(Option<Option<String>>, bool)> {
    let existing: Option<Option<String>> = maintenance
        .query_opt(
            "SELECT pg_catalog.shobj_description(oid, 'pg_database') FROM pg_catalog.pg_database WHERE datname = $1",
            &[&dbname],
        )
        .map_err(|e| Error::target(loc, format!("looking for the database: {}", describe_admin(&e))))?
        .map(|r| r.get(0));
    let mut exists = existing.is_some();
    let protected = exists
        && protect::is_protected(maintenance, dbname)
            .map_err(|e| Error::target(loc, format!("checking protection: {}", describe_admin(&e))))?;
    if protected {
        return Err(Error::target(
            loc,
            "is protected (`doppel protect`): doppel never writes into, replaces or drops it, whatever \
             the flags; name another target, or lift the mark with `doppel protect --remove`",
        ));
    }
    if exists && replace::is_abandoned_load(existing.as_ref().and_then(|c| c.as_deref())) {
        maintenance.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", quote_ident(dbname))).map_err(|e| {
            Error::target(loc, format!("dropping the half-built database of a killed run: {}", describe_admin(&e)))
        })?;
        tracing::info!(target = %loc, "removed the half-built database of a killed run");
        exists = false;
    }
    Ok((existing, exists))
}

/// What post-data failures are prefixed with.
const POST_DATA: &str = "restoring indexes, constraints and triggers (post-data)";

/// A target error `e` prefixed with `what` was being done.
fn prefixed(e: Error, what: &str) -> Error {
    match e {
        Error::Target { location, message } => Error::Target { location, message: format!("{what}: {message}") },
        other => other,
    }
}

/// Which pg_dump section to pipe into psql.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    PreData,
    PostData,
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

    /// Like [`PostgresSink::create_from_ddl`] from a dump file (`run --from dump`): its
    /// sections (owners and privileges as `--role-map` says, none without one), and each
    /// sequence set as the dump sets it, or just above the loaded maximum of the integer
    /// column owning it when that is higher.
    pub fn create_from_dump(target_url: &str, dumped: &DumpedSchema, options: &TargetOptions) -> Result<PostgresSink> {
        let roles = &options.role_map;
        let section = |body: &str| dumped_sql(&format!("{}\n{body}", dumped.preamble), roles);
        let ddl = (section(&dumped.pre_data), section(&dumped.post_data));
        let mut sink = Self::create_inner(target_url, None, Some(ddl), options)?;
        let values = dumped.sequences.iter().map(|s| {
            let qualified = format!("{}.{}", quote_ident(&s.schema), quote_ident(&s.name));
            (qualified, format!("{}.{}", s.schema, s.name), s.last_value, s.is_called)
        });
        sink.sequence_values = Some(values.collect());
        Ok(sink)
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
        refuse_target(&target, from.is_some().then_some(&source))?;
        // The source's encoding and locale, for a faithful CREATE DATABASE; without a source,
        // the server's defaults.
        let encoding = match from {
            Some(_) => Some(source_encoding(&source)?),
            None => None,
        };

        let mut maintenance = maintenance(&target)?;
        check_roles(&mut maintenance, options, &loc)?;
        // Two runs on one target never overlap: the lock is held by a connection kept until the
        // end, by every run that creates or replaces the database.
        let lock = Some(lock_target(&target, &target.dbname)?);
        replace::clean_leftovers(&mut maintenance, &target.dbname, &loc);
        let (existing, exists) = existing_target(&mut maintenance, &target.dbname, &loc)?;
        let marker = marker::marker("loading", &format!(", snapshot {snapshot}"));
        let mut sink = PostgresSink {
            target: target.clone(),
            target_url: target_url.to_string(),
            swap_into: None,
            lock,
            options: options.clone(),
            source,
            snapshot: snapshot.to_string(),
            ddl,
            sequence_values: None,
            control: None,
            in_transaction: false,
            created: false,
            marker,
            committed: false,
            server_major: None,
            post_data: None,
            early: Mutex::new(None),
        };
        let build_beside = if let (Some(comment), true) = (&existing, options.replace) {
            if !marker::is_doppel_marker(comment.as_deref()) && !options.force {
                return Err(Error::target(
                    &loc,
                    "exists and was not created by doppel (its comment is not doppel's marker); --replace \
                     refuses to replace it unless --force is given",
                ));
            }
            let temp = replace::temp_name(&target.dbname, std::process::id());
            sink.swap_into = Some(target.dbname.clone());
            sink.target = target.with_dbname(&temp);
            sink.target_url = url_with_dbname(target_url, &temp);
            true
        } else {
            false
        };
        if exists && !build_beside {
            sink.take_empty()?;
        } else {
            sink.create_database(&mut maintenance, encoding.as_ref(), &loc)?;
        }
        drop(maintenance);
        sink.restore(Section::PreData)?;
        sink.start_early_indexes()?;
        tracing::info!(target = %loc, created = sink.created, "PostgreSQL target prepared");
        Ok(sink)
    }

    /// Dumps the source's post-data now and starts [`EarlyIndexes`], when post-data will be
    /// restored by `pg_restore --jobs` (a source to dump it from, no load in one transaction, no
    /// `--role-map`, `--jobs` of 2 or more) and the target server has a connection to spare
    /// beside the load's.
    fn start_early_indexes(&mut self) -> Result<()> {
        let jobs = self.options.jobs;
        if self.ddl.is_some() || self.in_transaction || !self.options.role_map.is_empty() || jobs < 2 {
            return Ok(());
        }
        // The load's COPY connections, the control and lock connections, the source's, and one.
        let needed = jobs as i64 + 4;
        match self.control().map(|mut c| restore::free_connections(&mut c)) {
            Ok(Ok(free)) if free >= needed => {}
            _ => return Ok(()),
        }
        let loc = self.target.location.clone();
        let archive = PostDataArchive::dump(&self.source, &self.snapshot, &self.options.role_map, &loc)
            .map_err(|e| prefixed(e, POST_DATA))?;
        let archive = Arc::new(archive);
        let early = EarlyIndexes::start(archive.clone(), &self.source, self.target.clone())
            .map_err(|e| prefixed(e, POST_DATA))?;
        self.post_data = Some(archive);
        *lock_early(&self.early) = Some(early);
        Ok(())
    }

    /// Loads into the existing target in ONE transaction, begun here on the control connection,
    /// after checking that the database is empty: everything from here to the commit is one
    /// transaction, so a failed or killed run leaves the database exactly as empty as it found it.
    fn take_empty(&mut self) -> Result<()> {
        let loc = &self.target.location;
        let mut client = self.target.connect().map_err(as_target)?;
        client
            .batch_execute("BEGIN")
            .map_err(|e| Error::target(loc, format!("starting the load's transaction: {}", describe(&e))))?;
        let used: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') \
                 AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'",
                &[],
            )
            .map_err(|e| Error::target(loc, format!("checking that the database is empty: {}", describe(&e))))?
            .get(0);
        if used > 0 {
            return Err(Error::target(
                loc,
                "exists and is not empty; doppel loads only into a new or empty database (give --replace to \
                 build a new copy beside it and swap it in, drop it, or name another database)",
            ));
        }
        self.control = Some(Arc::new(Mutex::new(client)));
        self.in_transaction = true;
        Ok(())
    }

    /// CREATE DATABASE for the database being built (with the source's `encoding` and locale
    /// when there is a source), marked with this run's comment; `loc` names the target in errors.
    fn create_database(
        &mut self,
        maintenance: &mut Client,
        encoding: Option<&(String, String, String)>,
        loc: &str,
    ) -> Result<()> {
        let build = self.target.dbname.clone();
        let create = match encoding {
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
            .map_err(|e| Error::target(loc, format!("creating the database: {}", describe_admin(&e))))?;
        self.created = true;
        let marked = maintenance.batch_execute(&format!(
            "COMMENT ON DATABASE {} IS {}",
            quote_ident(&build),
            quote_literal(&self.marker)
        ));
        if let Err(e) = marked {
            // Unmarked, the drop on failure would not recognise it: remove it now.
            self.created = false;
            let _ = maintenance.batch_execute(&format!("DROP DATABASE {}", quote_ident(&build)));
            return Err(Error::target(loc, format!("marking the database: {}", describe_admin(&e))));
        }
        self.control = Some(Arc::new(Mutex::new(self.target.connect().map_err(as_target)?)));
        Ok(())
    }

    /// The target server's major version (asked once).
    fn server_major(&mut self) -> Result<u32> {
        if let Some(major) = self.server_major {
            return Ok(major);
        }
        let loc = self.target.location.clone();
        let number: String = self
            .control()?
            .query_one("SHOW server_version_num", &[])
            .map_err(|e| Error::target(&loc, format!("reading the server version: {}", describe(&e))))?
            .get(0);
        let number: i32 =
            number.trim().parse().map_err(|_| Error::target(&loc, "the server reported an unreadable version"))?;
        let major = crate::pg::version::major_of(number);
        self.server_major = Some(major);
        Ok(major)
    }

    fn control(&self) -> Result<MutexGuard<'_, Client>> {
        let loc = &self.target.location;
        let control =
            self.control.as_ref().ok_or_else(|| Error::target(loc, "the connection to the target is gone"))?;
        Ok(control.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// `pg_dump --schema-only --section=… --snapshot=…` of the source (owners and privileges
    /// as `--role-map` says), or the profile's section, restored with psql on the target (or
    /// on the load's connection, inside its transaction).
    fn restore(&self, section: Section) -> Result<()> {
        let loc = &self.target.location;
        let (flag, what) = match section {
            Section::PreData => ("--section=pre-data", "restoring the schema (pre-data)"),
            Section::PostData => ("--section=post-data", POST_DATA),
        };
        let sql = match (&self.ddl, section) {
            (Some((pre_data, _)), Section::PreData) => Ok(pre_data.clone()),
            (Some((_, post_data)), Section::PostData) => Ok(post_data.clone()),
            (None, _) => schema_section(&self.source, &self.snapshot, flag, None, &self.options.role_map, loc),
        }
        .map_err(|e| prefixed(e, what))?;
        if self.in_transaction {
            return self.run_in_transaction(&sql, section, what);
        }
        self.run_psql(sql, section, what)
    }

    /// Runs the schema script `sql` with psql on the database being built.
    fn run_psql(&self, sql: Vec<u8>, section: Section, what: &str) -> Result<()> {
        let loc = &self.target.location;
        let mut psql = child_command("psql", &self.target);
        psql.args(["-X", "-q", "-v", "ON_ERROR_STOP=1"]);
        if section == Section::PostData {
            // Post-data runs over loaded rows: its errors may quote a value (DETAIL). Keep only
            // the SQLSTATE, and echo the statements (schema text) to name the one that failed.
            psql.args(["-v", "VERBOSITY=sqlstate", "-e"]);
        }
        let restored = run_with_input(psql, sql)
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

    /// Post-data: over [`TargetOptions::jobs`] connections with `pg_restore --jobs` (see
    /// [`crate::pg::restore`]) when the schema comes from a source and the database is being
    /// built (not the one transaction of an existing, empty target), otherwise one statement
    /// after another ([`PostgresSink::restore`]). Logs how long it took.
    fn restore_post_data(&self) -> Result<()> {
        let loc = &self.target.location;
        let started = Instant::now();
        let jobs = self.parallel_jobs("post-data", 1);
        // Indexes already built early leave pg_restore the rest of its archive to build.
        let how = if jobs < 2 && self.post_data.is_none() {
            self.restore(Section::PostData).map(|()| "one connection")
        } else {
            self.restore_parallel(jobs)
        }?;
        let jobs = if how == "pg_restore" { jobs } else { 1 };
        tracing::info!(
            target = %loc,
            seconds = %format_args!("{:.2}", started.elapsed().as_secs_f64()),
            jobs,
            how,
            "post-data restored"
        );
        Ok(())
    }

    /// How many connections `step` may use at once: [`TargetOptions::jobs`], within what the
    /// target server can still give (`reserve` more of them taken by the step itself); 1 inside
    /// the load's one transaction, and for a profile's post-data (pg_restore needs an archive).
    fn parallel_jobs(&self, step: &str, reserve: i64) -> usize {
        let wanted = self.options.jobs.max(1);
        let profile_post_data = self.ddl.is_some() && step == "post-data";
        if wanted < 2 || self.in_transaction || profile_post_data {
            return 1;
        }
        let free = match self.control().map(|mut c| restore::free_connections(&mut c)) {
            Ok(Ok(free)) => free,
            Ok(Err(e)) => {
                tracing::debug!(step, error = %describe(&e), "free connections unknown; one connection");
                return 1;
            }
            Err(_) => return 1,
        };
        let fits = usize::try_from(free - reserve).unwrap_or(0);
        if fits < wanted {
            tracing::info!(
                target = %self.target.location,
                step,
                wanted,
                free_connections = free,
                "fewer connections than --jobs: the target server's max_connections (or the role's limit) leaves no more"
            );
        }
        wanted.min(fits).max(1)
    }

    /// `pg_restore --jobs` of the source's post-data section (archived under the snapshot). With
    /// a `--role-map` that changes a statement of post-data (an owner, a grant), psql runs the
    /// rewritten script instead: pg_restore cannot rewrite roles.
    fn restore_parallel(&self, jobs: usize) -> Result<&'static str> {
        let loc = &self.target.location;
        let roles = &self.options.role_map;
        let archive = match &self.post_data {
            Some(archive) => archive.clone(),
            None => Arc::new(
                PostDataArchive::dump(&self.source, &self.snapshot, roles, loc).map_err(|e| prefixed(e, POST_DATA))?,
            ),
        };
        // What the indexes built early left: the rest of the archive.
        let mut only = None;
        if let Some(early) = lock_early(&self.early).take() {
            let built = early.finish();
            match built.failure {
                Some(Ok(failure)) => return Err(self.restore_failure(failure)),
                Some(Err(e)) => return Err(prefixed(e, POST_DATA)),
                None => {}
            }
            if !built.done.is_empty() {
                let entries = archive.entries(loc).map_err(|e| prefixed(e, POST_DATA))?;
                only = Some(entries.into_iter().filter(|e| !built.done.contains(e)).collect::<Vec<_>>());
            }
        }
        if !roles.is_empty() {
            let sql = archive.as_sql(loc).map_err(|e| prefixed(e, POST_DATA))?;
            let mapped = map_roles(roles, sql.clone(), "--section=post-data", &self.source.location, loc)
                .map_err(|e| prefixed(e, POST_DATA))?;
            if mapped != sql {
                tracing::debug!("--role-map rewrites post-data statements: psql, one connection");
                return self.run_psql(mapped, Section::PostData, POST_DATA).map(|()| "one connection");
            }
        }
        if only.as_ref().is_some_and(Vec::is_empty) {
            return Ok("pg_restore");
        }
        match archive
            .restore(&self.target, jobs, !roles.is_empty(), only.as_deref())
            .map_err(|e| prefixed(e, POST_DATA))?
        {
            Ok(()) => Ok("pg_restore"),
            Err(failure) => Err(self.restore_failure(failure)),
        }
    }

    /// pg_restore's failure in words without values: the failed statement run again, alone, in
    /// a transaction rolled back, on the control connection, for its SQLSTATE, constraint and
    /// table ([`describe`]); the statement is schema text from the archive.
    fn restore_failure(&self, failure: restore::Failure) -> Error {
        let loc = &self.target.location;
        let Some(statement) = failure.statement else {
            return Error::target(
                loc,
                format!("{POST_DATA}: pg_restore failed ({}): {}", failure.status, failure.summary),
            );
        };
        let why = match self.control() {
            Ok(mut control) => {
                let again = control
                    .batch_execute("BEGIN; SET LOCAL search_path = ''")
                    .and_then(|()| control.batch_execute(&statement));
                let _ = control.batch_execute("ROLLBACK");
                match again {
                    Err(e) => describe(&e),
                    Ok(()) => "it succeeded when run again alone (a lock or a resource of the moment?); the target \
                               server's log has the server's message"
                        .to_string(),
                }
            }
            Err(e) => e.to_string(),
        };
        Error::target(
            loc,
            format!("{POST_DATA}: pg_restore failed ({}): {why} in: {}", failure.status, tail(&statement, 600)),
        )
    }

    /// ANALYZE every table: over [`TargetOptions::jobs`] connections at once, largest tables
    /// first, each its own `ANALYZE "s"."t"`; in the load's transaction, one `ANALYZE`. Logs how
    /// long it took.
    fn analyze(&self) -> Result<()> {
        let loc = &self.target.location;
        let started = Instant::now();
        let jobs = self.parallel_jobs("ANALYZE", 0);
        let analyze_error = |table: &str, e: &postgres::Error| {
            let on = if table.is_empty() { String::new() } else { format!(" {table}") };
            Error::target(loc, format!("ANALYZE{on}: {}", describe(e)))
        };
        let tables: Vec<String> = if jobs < 2 {
            Vec::new()
        } else {
            self.control()?
                .query(
                    "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c \
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                     WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname <> 'information_schema' \
                     AND n.nspname NOT LIKE 'pg\\_%' \
                     ORDER BY pg_catalog.pg_relation_size(c.oid) DESC, 1",
                    &[],
                )
                .map_err(|e| analyze_error("", &e))?
                .iter()
                .map(|r| r.get(0))
                .collect()
        };
        let jobs = jobs.min(tables.len());
        if jobs < 2 {
            self.control()?.batch_execute("ANALYZE").map_err(|e| analyze_error("", &e))?;
        } else {
            let (next, target, tables, analyze_error) = (&AtomicUsize::new(0), &self.target, &tables, &analyze_error);
            std::thread::scope(|scope| {
                let workers: Vec<_> = (0..jobs)
                    .map(|_| {
                        scope.spawn(move || -> Result<()> {
                            let mut client = target.connect().map_err(as_target)?;
                            loop {
                                let i = next.fetch_add(1, Ordering::Relaxed);
                                let Some(table) = tables.get(i) else { return Ok(()) };
                                client
                                    .batch_execute(&format!("ANALYZE {table}"))
                                    .map_err(|e| analyze_error(table, &e))?;
                            }
                        })
                    })
                    .collect();
                workers.into_iter().try_for_each(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            })?;
        }
        tracing::info!(
            target = %loc,
            seconds = %format_args!("{:.2}", started.elapsed().as_secs_f64()),
            jobs = jobs.max(1),
            "ANALYZE done"
        );
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
    /// pseudonymised); without a source, just above that value.
    fn copy_sequences(&mut self) -> Result<usize> {
        let loc = self.target.location.clone();
        if let Some(values) = &self.sequence_values {
            return sequences::set_all(&mut *self.control()?, &loc, values);
        }
        if self.ddl.is_some() {
            return sequences::raise_all(&mut *self.control()?, &loc);
        }
        let values = sequences::read_from_source(&self.source, &self.snapshot)?;
        sequences::set_all(&mut *self.control()?, &loc, &values)
    }

    fn drop_created(&mut self) {
        self.control = None;
        if !self.created {
            return;
        }
        let name = self.target.dbname.clone();
        let result = maintenance(&self.target).and_then(|mut m| {
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
        let major = Some(self.server_major()?);
        if self.in_transaction {
            // One table at a time on the load's connection: a COPY holds it until it is done.
            let shared =
                self.control.clone().ok_or_else(|| Error::target(&loc, "the connection to the target is gone"))?;
            return start_copy(
                &loc,
                name,
                columns,
                projected,
                CopyForm { binary, raw_major: major },
                None,
                move |chunks| {
                    let mut client = shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    copy_thread(&mut client, &statement, chunks)
                },
            );
        }
        let mut client = self.target.connect().map_err(as_target)?;
        let loaded = lock_early(&self.early).as_ref().map(|e| e.on_loaded(&format!("{table_schema}.{table_name}")));
        let form = CopyForm { binary, raw_major: major };
        start_copy(&loc, name, columns, projected, form, loaded, move |chunks| {
            copy_thread(&mut client, &statement, chunks)
        })
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let loc = self.target.location.clone();
        self.restore_post_data()?;
        let sequences = self.copy_sequences()?;
        self.analyze()?;
        {
            let mut control = self.control()?;
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
            let final_loc = self.target.with_dbname(&final_name).location;
            let PostgresSink { lock, marker, .. } = &mut *self;
            let admin =
                lock.as_mut().ok_or_else(|| Error::target(&final_loc, "the replace lock's connection is gone"))?;
            replace::swap(admin, &build, &final_name, marker, &options, &final_loc)?;
        } else if self.created {
            let dbname = self.target.dbname.clone();
            let done = marker::complete();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn params(url: &str) -> ConnectParams {
        ConnectParams::resolve(url, &|_| None).unwrap()
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
    fn the_sink_is_send() {
        fn is_send<T: Send>() {}
        is_send::<PostgresSink>();
    }
}
