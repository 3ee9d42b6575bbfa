//! Branch databases: `doppel branch create|drop|list|prune`, fast clones of a database doppel
//! wrote, one per branch or task, made and thrown away by a CI pipeline.
//!
//! ```text
//! create NAME --template T ── T exists, is not protected, is not being loaded, and carries
//!                             doppel's marker (a finished `run` or another branch; unmarked
//!                             only with --force)
//!                          ── NAME's advisory lock, the one every run building or replacing
//!                             NAME holds (create and drop hold it to their end)
//!                          ── CREATE DATABASE "NAME" TEMPLATE "T" [STRATEGY FILE_COPY on ≥ 15]
//!                          ── COMMENT ON DATABASE "NAME" IS 'doppel V: branch of "T" (created …, by "role")'
//! drop NAME               ── NAME's comment is a branch marker and NAME is not protected
//!                          ── other sessions: refused, or ended with --terminate-connections
//!                             (DROP DATABASE … WITH (FORCE) on ≥ 13)
//! list                    ── every database whose comment is a branch marker, with its size
//! prune --older-than D    ── drop, for every branch created more than D ago (the server's clock)
//! ```
//!
//! Everything goes through one connection to any database of the server (`--url`), which must
//! be neither the template (CREATE DATABASE needs it free of sessions) nor the branch dropped.
//! Only the comment written by `create` ([`marker::BranchMarker`]) lets `drop` and `prune`
//! touch a database: never one a `doppel run` wrote, never one doppel did not create, never a
//! protected one. PostgreSQL copies a template's contents only, not its comment, database-level
//! settings (so not `doppel protect`'s mark) or grants: a branch belongs to the role that
//! created it.
//!
//! - [`name`]: the checks on a branch's name.
//! - [`marker`]: the branch's comment, and what a comment makes a database as a template.

pub mod marker;
pub mod name;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use postgres::Client;
use postgres::error::SqlState;

use crate::error::{Error, Result};
use crate::pg::connect::ConnectParams;
use crate::pg::error::admin_error;
use crate::pg::error::as_target;
use crate::pg::ident::{quote_ident, quote_literal};
use crate::pg::lock::lock_target;
use crate::pg::protect::is_protected;

use marker::{BranchMarker, TemplateKind};

/// A branch database as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    pub name: String,
    pub marker: BranchMarker,
    /// `pg_database_size`; `None` when this role may not connect to it (no CONNECT privilege).
    pub size_bytes: Option<i64>,
}

/// What `drop` did.
#[derive(Debug)]
pub enum Dropped {
    Dropped(Branch),
    /// No database of that name exists.
    Missing,
}

/// What `prune` did (or, with `dry_run`, would do).
#[derive(Debug, Default)]
pub struct Pruned {
    /// Dropped (or to be dropped), by name.
    pub dropped: Vec<Branch>,
    /// Old enough but protected: kept.
    pub protected: Vec<Branch>,
    /// Old enough, but the drop failed (open sessions without --terminate-connections, …).
    pub failed: Vec<(Branch, Error)>,
    /// Branches younger than the limit.
    pub kept: usize,
}

/// One connection to the server holding the branches.
pub struct Server {
    client: Client,
    /// How `--url` connects, for the per-database lock ([`lock_target`]).
    params: ConnectParams,
    /// Where `--url` points (no password).
    location: String,
    /// The database `--url` connects to.
    dbname: String,
    /// `server_version_num`, e.g. 150018.
    version_num: i32,
}

const BRANCHES: &str = "SELECT d.datname::text, pg_catalog.shobj_description(d.oid, 'pg_database'), \
     CASE WHEN pg_catalog.has_database_privilege(d.oid, 'CONNECT') THEN pg_catalog.pg_database_size(d.oid) END \
     FROM pg_catalog.pg_database d \
     WHERE pg_catalog.shobj_description(d.oid, 'pg_database') LIKE 'doppel %branch of %' \
     AND ($1::text IS NULL OR d.datname = $1)";

impl Server {
    /// Connects through `url` (any database of the server; `postgres://` takes the PG* variables).
    pub fn connect(url: &str) -> Result<Server> {
        let params = ConnectParams::from_url(url).map_err(as_target)?;
        let mut client = params.connect().map_err(as_target)?;
        let version_num: i32 = client
            .query_one("SELECT pg_catalog.current_setting('server_version_num')::int4", &[])
            .map_err(|e| Error::target(&params.location, format!("reading the server version: {}", admin_error(&e))))?
            .get(0);
        Ok(Server { client, location: params.location.clone(), dbname: params.dbname.clone(), version_num, params })
    }

    /// Where `--url` points, for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// `<location> (database NAME)`, naming the database a message is about.
    fn at(&self, database: &str) -> String {
        format!("{} (database {database})", self.location)
    }

    fn query_error(&self, database: &str, what: &str, e: &postgres::Error) -> Error {
        Error::target(self.at(database), format!("{what}: {}", admin_error(e)))
    }

    /// The comment of database `name`, `None` when no such database exists.
    fn comment(&mut self, name: &str) -> Result<Option<Option<String>>> {
        let row = self.client.query_opt(
            "SELECT pg_catalog.shobj_description(oid, 'pg_database') FROM pg_catalog.pg_database WHERE datname = $1",
            &[&name],
        );
        Ok(row.map_err(|e| self.query_error(name, "looking the database up", &e))?.map(|r| r.get(0)))
    }

    fn protected(&mut self, name: &str) -> Result<bool> {
        is_protected(&mut self.client, name).map_err(|e| self.query_error(name, "checking protection", &e))
    }

    /// Other sessions connected to database `name`.
    fn sessions(&mut self, name: &str) -> Result<Vec<i32>> {
        let rows = self.client.query(
            "SELECT pid FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()",
            &[&name],
        );
        Ok(rows.map_err(|e| self.query_error(name, "looking for sessions", &e))?.iter().map(|r| r.get(0)).collect())
    }

    /// The branches (all of them, or the one named), by name.
    fn branches(&mut self, only: Option<&str>) -> Result<Vec<Branch>> {
        let rows =
            self.client.query(BRANCHES, &[&only]).map_err(|e| self.query_error("*", "listing the branches", &e))?;
        let mut branches: Vec<Branch> = rows
            .iter()
            .filter_map(|r| {
                let comment: String = r.get(1);
                Some(Branch { name: r.get(0), marker: BranchMarker::parse(&comment)?, size_bytes: r.get(2) })
            })
            .collect();
        branches.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(branches)
    }

    /// The server's clock (branch times are written and measured by it).
    fn now(&mut self) -> Result<DateTime<Utc>> {
        let micros: i64 = self
            .client
            .query_one("SELECT (extract(epoch FROM pg_catalog.now()) * 1000000)::int8", &[])
            .map_err(|e| Error::target(&self.location, format!("reading the server's clock: {}", admin_error(&e))))?
            .get(0);
        DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| Error::target(&self.location, "the server's clock is out of range"))
    }

    /// Refuses `--url` pointing at `name` itself (`role`: what `name` is to the command).
    fn not_connected_to(&self, name: &str, role: &str) -> Result<()> {
        if self.dbname == name {
            return Err(Error::Usage(format!(
                "--url connects to {name}, the {role}; PostgreSQL needs it free of sessions, so connect through \
                 another database of the server (e.g. postgres: ?dbname=postgres or …/postgres)"
            )));
        }
        Ok(())
    }
}

/// Checks a branch's name (a usage error when it cannot be one).
fn checked_name(name: &str) -> Result<()> {
    name::check(name).map_err(|reason| Error::Usage(format!("branch name {name:?} {reason}")))
}

/// `doppel branch create NAME --template TEMPLATE [--force]`.
pub fn create(server: &mut Server, name: &str, template: &str, force: bool) -> Result<Branch> {
    checked_name(name)?;
    if name == template {
        return Err(Error::Usage(format!("the branch {name} cannot be its own template; name another database")));
    }
    server.not_connected_to(template, "template")?;
    let tloc = server.at(template);
    let Some(comment) = server.comment(template)? else {
        return Err(Error::target(&tloc, "no such database on this server; check the template's name and --url"));
    };
    if server.protected(template)? {
        return Err(Error::target(
            &tloc,
            "is protected (`doppel protect`): doppel never clones it, even with --force; give the anonymised \
             database doppel wrote as --template",
        ));
    }
    match TemplateKind::of(comment.as_deref()) {
        TemplateKind::Complete | TemplateKind::Branch => {}
        TemplateKind::Unfinished => {
            return Err(Error::target(
                &tloc,
                "is a database a doppel run has not finished (being loaded or swapped, or left by a killed run); \
                 wait for the run to complete, or give a finished one as --template",
            ));
        }
        TemplateKind::Unmarked if force => {
            tracing::warn!(template = %tloc, "cloning a database doppel did not write (--force)");
        }
        TemplateKind::Unmarked => {
            return Err(Error::target(
                &tloc,
                "was not written by doppel (its comment is not doppel's marker), so it may hold production \
                 data; give the anonymised database a `doppel run` wrote as --template, or --force if this one \
                 really holds no personal data",
            ));
        }
    }
    let loc = server.at(name);
    // No doppel run builds or replaces NAME while the branch is made (held to the end).
    let _lock = lock_target(&server.params, name)?;
    if server.comment(name)?.is_some() {
        return Err(Error::target(
            &loc,
            "already exists; drop it first (`doppel branch drop` if it is a branch) or choose another name",
        ));
    }
    let strategy = if server.version_num >= 150000 { " STRATEGY FILE_COPY" } else { "" };
    let sql = format!("CREATE DATABASE {} TEMPLATE {}{strategy}", quote_ident(name), quote_ident(template));
    let started = Instant::now();
    if let Err(e) = server.client.batch_execute(&sql) {
        return Err(create_error(server, name, template, &e));
    }
    if let Err(e) = mark(server, name, template) {
        // Unmarked, drop and prune would never remove it: remove it now.
        if let Err(d) = server.client.batch_execute(&format!("DROP DATABASE {}", quote_ident(name))) {
            tracing::error!(database = %name, "could not drop the unmarked new database: {}", admin_error(&d));
        }
        return Err(e);
    }
    tracing::debug!(database = %name, seconds = started.elapsed().as_secs_f64(), "branch created");
    server
        .branches(Some(name))?
        .pop()
        .ok_or_else(|| Error::target(&loc, "was created but its branch marker cannot be read back"))
}

/// Comments the new branch `name` with its marker (the server's clock and role).
fn mark(server: &mut Server, name: &str, template: &str) -> Result<()> {
    let created_at = server.now()?;
    let role: String = server
        .client
        .query_one("SELECT current_user::text", &[])
        .map_err(|e| server.query_error(name, "reading the role", &e))?
        .get(0);
    let comment = BranchMarker::new(template, created_at, &role).comment();
    server
        .client
        .batch_execute(&format!("COMMENT ON DATABASE {} IS {}", quote_ident(name), quote_literal(&comment)))
        .map_err(|e| server.query_error(name, "marking the branch", &e))
}

/// Our words for a failed CREATE DATABASE.
fn create_error(server: &mut Server, name: &str, template: &str, e: &postgres::Error) -> Error {
    match e.code() {
        Some(c) if *c == SqlState::OBJECT_IN_USE => {
            let count = server.sessions(template).map_or_else(|_| "other".to_string(), |s| s.len().to_string());
            Error::target(
                server.at(template),
                format!(
                    "has {count} session(s) open, and PostgreSQL clones only a template nobody is connected to \
                     (SQLSTATE 55006); close them (applications, psql, IDEs), or keep connections off the template \
                     for good with ALTER DATABASE {} WITH ALLOW_CONNECTIONS false (`run --replace` keeps that \
                     setting)",
                    quote_ident(template)
                ),
            )
        }
        Some(c) if *c == SqlState::DUPLICATE_DATABASE => Error::target(
            server.at(name),
            "already exists (created meanwhile by someone else); choose another name or drop it first",
        ),
        Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => Error::target(
            server.at(name),
            format!(
                "the role may not create it: {} (CREATE DATABASE needs the CREATEDB attribute, and cloning a \
                 database not marked IS_TEMPLATE needs its owner or a superuser)",
                admin_error(e)
            ),
        ),
        _ => server.query_error(name, "creating the branch", e),
    }
}

/// Why database `name`, with `comment`, may not be dropped as a branch (`None`: it may).
fn not_a_branch(comment: Option<&str>) -> Option<&'static str> {
    match TemplateKind::of(comment) {
        TemplateKind::Branch => None,
        TemplateKind::Complete => Some(
            "was written by `doppel run`, not created by `doppel branch create`; branch drop and prune remove \
             branches only (drop it with dropdb if you really mean to)",
        ),
        TemplateKind::Unfinished => {
            Some("is a database a doppel run is building, not a branch; doppel leaves it alone")
        }
        TemplateKind::Unmarked => Some(
            "was not created by `doppel branch create` (its comment is not doppel's branch marker); doppel never \
             drops it",
        ),
    }
}

/// `doppel branch drop NAME [--terminate-connections]`: drops the branch `name`, or reports it missing.
pub fn drop(server: &mut Server, name: &str, terminate_connections: bool) -> Result<Dropped> {
    checked_name(name)?;
    server.not_connected_to(name, "branch to drop")?;
    let loc = server.at(name);
    // Never dropped while a doppel run builds or replaces it (held to the end).
    let _lock = lock_target(&server.params, name)?;
    let Some(comment) = server.comment(name)? else { return Ok(Dropped::Missing) };
    if let Some(why) = not_a_branch(comment.as_deref()) {
        return Err(Error::target(&loc, why));
    }
    if server.protected(name)? {
        return Err(Error::target(
            &loc,
            "is protected (`doppel protect`): doppel never drops it; lift the mark with `doppel protect --remove` \
             first if it should go",
        ));
    }
    let branch = server.branches(Some(name))?.pop().ok_or_else(|| Error::target(&loc, "its branch marker is gone"))?;
    let sessions = server.sessions(name)?;
    if !sessions.is_empty() && !terminate_connections {
        return Err(sessions_open(&loc, sessions.len()));
    }
    let quoted = quote_ident(name);
    let dropped = if !terminate_connections {
        server.client.batch_execute(&format!("DROP DATABASE {quoted}"))
    } else if server.version_num >= 130000 {
        server.client.batch_execute(&format!("DROP DATABASE {quoted} WITH (FORCE)"))
    } else {
        terminate_and_drop(server, name)
    };
    match dropped {
        Ok(()) => Ok(Dropped::Dropped(branch)),
        Err(e) if e.code() == Some(&SqlState::OBJECT_IN_USE) && !terminate_connections => {
            let count = server.sessions(name).map_or(1, |s| s.len().max(1));
            Err(sessions_open(&loc, count))
        }
        Err(e) => Err(server.query_error(name, "dropping the branch", &e)),
    }
}

fn sessions_open(loc: &str, count: usize) -> Error {
    Error::target(
        loc,
        format!(
            "{count} other session(s) are connected to it; close them, or give --terminate-connections to end \
             them and drop it anyway"
        ),
    )
}

/// Before PostgreSQL 13 (no `WITH (FORCE)`): new connections off, the others ended, then DROP,
/// retried while ended sessions are still on their way out.
fn terminate_and_drop(server: &mut Server, name: &str) -> std::result::Result<(), postgres::Error> {
    let quoted = quote_ident(name);
    server.client.batch_execute(&format!("ALTER DATABASE {quoted} WITH ALLOW_CONNECTIONS false"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        server.client.execute(
            "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()",
            &[&name],
        )?;
        match server.client.batch_execute(&format!("DROP DATABASE {quoted}")) {
            Err(e) if e.code() == Some(&SqlState::OBJECT_IN_USE) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// `doppel branch list`: every branch on the server, by name.
pub fn list(server: &mut Server) -> Result<Vec<Branch>> {
    server.branches(None)
}

/// `doppel branch prune --older-than D`: drops every branch created more than `older_than`
/// ago by the server's clock (with `dry_run`, only says which). Protected branches are kept;
/// a branch that cannot be dropped is reported in [`Pruned::failed`] and the others still go.
pub fn prune(
    server: &mut Server,
    older_than: chrono::Duration,
    terminate_connections: bool,
    dry_run: bool,
) -> Result<Pruned> {
    let cutoff = server.now()? - older_than;
    let mut pruned = Pruned::default();
    for branch in server.branches(None)? {
        if branch.marker.created_at > cutoff {
            pruned.kept += 1;
        } else if server.protected(&branch.name)? {
            pruned.protected.push(branch);
        } else if dry_run {
            pruned.dropped.push(branch);
        } else {
            match drop(server, &branch.name, terminate_connections) {
                Ok(Dropped::Dropped(b)) => pruned.dropped.push(b),
                // Dropped by someone else meanwhile.
                Ok(Dropped::Missing) => {}
                Err(e) => pruned.failed.push((branch, e)),
            }
        }
    }
    Ok(pruned)
}
