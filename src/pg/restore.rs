//! Post-data (indexes, constraints, foreign keys, triggers) built over several connections at
//! once by PostgreSQL's own `pg_restore --jobs`, which orders the work by dependency: the
//! indexes and keys of different tables side by side, a foreign key once the key it refers to
//! exists.
//!
//! ```text
//! pg_dump --schema-only --section=post-data --format=custom --snapshot=S --file=TMP/post-data.dump
//! pg_restore --section=post-data --jobs N --exit-on-error [--no-owner --no-privileges] -d '' TMP/post-data.dump
//!            (the database from PGDATABASE: children get the connection through their environment)
//! ```
//!
//! A pg_dump archive must be a file for `--jobs` (workers seek in it); it holds schema text
//! only, in a private temporary directory removed when the [`PostDataArchive`] is dropped.
//!
//! pg_restore prints the server's whole message when a statement fails, and the message can
//! quote loaded values (`DETAIL: Key (email)=(…) is duplicated.`). None of its stderr is shown
//! as it is: [`Failure`] keeps the statement that failed (`Command was: …`, schema text from
//! the archive) and, when no statement is named, only pg_restore's own one-line messages
//! (connections, workers), never the server's ERROR, DETAIL, HINT or CONTEXT text. The sink
//! then runs the statement again on a connection of its own, in a transaction rolled back, to
//! word the error by SQLSTATE as every other target error is ([`super::error::describe`]).
//!
//! Connections: pg_restore holds one for its own steps and one per job; [`free_connections`]
//! says how many the target server (its `max_connections`, the reserved slots, the role's
//! connection limit) can still give.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};

use postgres::Client;
use tempfile::TempDir;

use super::child::{child_command, schema_archive, tail};
use super::connect::ConnectParams;
use super::roles::RoleMap;
use crate::error::{Error, Result};

/// The source's post-data section as a pg_dump archive in a private temporary directory.
pub struct PostDataArchive {
    _dir: TempDir,
    path: PathBuf,
}

/// A failed `pg_restore`, in words that carry no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// pg_restore's exit status, as text.
    pub status: String,
    /// The statement that failed, as the archive has it (schema text), when pg_restore named it.
    pub statement: Option<String>,
    /// pg_restore's own one-line messages (never the server's text).
    pub summary: String,
}

impl PostDataArchive {
    /// `pg_dump --format=custom` of the source's post-data section under `snapshot`, owners and
    /// privileges as `roles` says; `location` names the target in errors.
    pub fn dump(source: &ConnectParams, snapshot: &str, roles: &RoleMap, location: &str) -> Result<PostDataArchive> {
        let dir = tempfile::Builder::new()
            .prefix("doppel-post-data-")
            .tempdir()
            .map_err(|e| Error::target(location, format!("cannot make a temporary directory for post-data: {e}")))?;
        let path = dir.path().join("post-data.dump");
        schema_archive(source, snapshot, "--section=post-data", roles, &path, location)?;
        Ok(PostDataArchive { _dir: dir, path })
    }

    /// The archive as the plain SQL pg_dump would have written (`pg_restore --file=-`): to
    /// check what a `--role-map` would change in it.
    pub fn as_sql(&self, location: &str) -> Result<Vec<u8>> {
        self.read_with(&["--section=post-data", "--file=-"], location)
    }

    /// The archive's entries, one `pg_restore --list` line each (`3206; 1259 16412 INDEX public
    /// orders_customer_id_idx postgres`), in the archive's order.
    pub fn entries(&self, location: &str) -> Result<Vec<String>> {
        let text = self.read_with(&["--list"], location)?;
        let text = String::from_utf8_lossy(&text);
        Ok(text.lines().filter(|l| l.starts_with(|c: char| c.is_ascii_digit())).map(str::to_string).collect())
    }

    /// What `pg_restore ARGS ARCHIVE` prints (no server involved).
    fn read_with(&self, args: &[&str], location: &str) -> Result<Vec<u8>> {
        let out = std::process::Command::new("pg_restore")
            .env_remove(crate::secret::KEY_ENV)
            .args(args)
            .arg(&self.path)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                Error::target(location, format!("cannot run pg_restore ({e}); install the PostgreSQL client"))
            })?;
        if !out.status.success() {
            // No server is involved: the archive's own problems (schema text only).
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(Error::target(
                location,
                format!("pg_restore could not read the post-data archive ({}): {}", out.status, tail(&stderr, 600)),
            ));
        }
        Ok(out.stdout)
    }

    /// `pg_restore --jobs jobs` of the archive into `target`; of the `only` entries (lines of
    /// [`Self::entries`]) when given. `owners`: restore the owners and privileges the archive
    /// has (a `--role-map` that changes nothing in it); otherwise none.
    /// `Err(Error)` when pg_restore cannot be started, `Ok(Err(Failure))` when it failed.
    pub fn restore(
        &self,
        target: &ConnectParams,
        jobs: usize,
        owners: bool,
        only: Option<&[String]>,
    ) -> Result<std::result::Result<(), Failure>> {
        let mut cmd = child_command("pg_restore", target);
        // `-d ''`: connect (rather than print a script) to the database PGDATABASE names; libpq
        // ignores the empty value. No connection detail is on the command line.
        cmd.args(["--section=post-data", "--exit-on-error", "--dbname="]).arg(format!("--jobs={}", jobs.max(1)));
        if !owners {
            cmd.args(["--no-owner", "--no-privileges"]);
        }
        // The list file lives as long as the command.
        let _list = match only {
            Some(lines) => {
                let list = self.list_file(lines, &target.location)?;
                cmd.arg("--use-list").arg(list.path());
                Some(list)
            }
            None => None,
        };
        cmd.arg(&self.path);
        let out = cmd.stdin(Stdio::null()).output().map_err(|e| {
            Error::target(&target.location, format!("cannot run pg_restore ({e}); install the PostgreSQL client"))
        })?;
        if out.status.success() {
            return Ok(Ok(()));
        }
        Ok(Err(Failure::from_stderr(out.status, &String::from_utf8_lossy(&out.stderr))))
    }
}

impl PostDataArchive {
    /// `lines` as a pg_restore list file beside the archive.
    fn list_file(&self, lines: &[String], location: &str) -> Result<tempfile::NamedTempFile> {
        use std::io::Write;
        let dir = self.path.parent().unwrap_or(std::path::Path::new("."));
        let written = tempfile::NamedTempFile::new_in(dir).and_then(|mut f| {
            f.write_all(lines.join("\n").as_bytes())?;
            f.write_all(b"\n")?;
            f.flush()?;
            Ok(f)
        });
        written.map_err(|e| Error::target(location, format!("cannot write a pg_restore list for post-data: {e}")))
    }
}

impl Failure {
    fn from_stderr(status: ExitStatus, stderr: &str) -> Failure {
        Failure { status: status.to_string(), statement: failed_statement(stderr), summary: own_messages(stderr) }
    }
}

/// The first statement pg_restore names as failed (`Command was: …`, up to its next own
/// message), on one line.
fn failed_statement(stderr: &str) -> Option<String> {
    let start = stderr.find("Command was: ")? + "Command was: ".len();
    let rest = &stderr[start..];
    let end = rest.find("\npg_restore: ").unwrap_or(rest.len());
    let statement = rest[..end].split_whitespace().collect::<Vec<_>>().join(" ");
    (!statement.is_empty()).then_some(statement)
}

/// pg_restore's own one-line messages (`pg_restore: …`), without those that quote the
/// server (`could not execute query: ERROR: …`) and without the lines that follow them
/// (DETAIL, HINT, CONTEXT, `Command was:`): connection failures, workers that died, counts.
fn own_messages(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("pg_restore: "))
        .filter(|l| !l.contains("could not execute query") && !l.contains("ERROR:"))
        .collect();
    tail(&lines.join("; "), 600).to_string()
}

/// Connections the server can still give this role: `max_connections` less the reserved slots
/// (unless a superuser) and the client sessions open now, and within the role's own limit.
pub fn free_connections(client: &mut Client) -> std::result::Result<i64, postgres::Error> {
    let row = client.query_one(
        "SELECT (current_setting('max_connections')::int \
           - CASE WHEN r.rolsuper THEN 0 ELSE current_setting('superuser_reserved_connections')::int \
             + coalesce(current_setting('reserved_connections', true), '0')::int END \
           - (SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend'))::bigint, \
         (CASE WHEN r.rolconnlimit < 0 THEN NULL ELSE r.rolconnlimit \
           - (SELECT count(*) FROM pg_catalog.pg_stat_activity a \
              WHERE a.usename = current_user AND a.backend_type = 'client backend') END)::bigint \
         FROM pg_catalog.pg_roles r WHERE r.rolname = current_user",
        &[],
    )?;
    let server: i64 = row.get(0);
    let role: Option<i64> = row.get(1);
    Ok(role.map_or(server, |r| r.min(server)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARALLEL_FAILURE: &str = "pg_restore: error: could not execute query: ERROR:  could not create unique index \"customers_email_key\"\nDETAIL:  Key (email)=(x@y.example) is duplicated.\nCommand was: ALTER TABLE ONLY public.customers\n    ADD CONSTRAINT customers_email_key UNIQUE (email);\n\n\npg_restore: error: a worker process died unexpectedly\n";

    #[test]
    fn a_failed_statement_is_named_and_the_server_text_is_left_out() {
        assert_eq!(
            failed_statement(PARALLEL_FAILURE).as_deref(),
            Some("ALTER TABLE ONLY public.customers ADD CONSTRAINT customers_email_key UNIQUE (email);")
        );
        let own = own_messages(PARALLEL_FAILURE);
        assert_eq!(own, "pg_restore: error: a worker process died unexpectedly");
        assert!(!own.contains("x@y.example") && !own.contains("Key ("), "{own}");
    }

    #[test]
    fn a_failure_without_a_statement_keeps_pg_restores_own_lines_only() {
        let stderr = "pg_restore: while PROCESSING TOC:\npg_restore: from TOC entry 3209; 2606 16407 FK CONSTRAINT public orders orders_customer_id_fkey postgres\npg_restore: error: could not execute query: ERROR:  insert or update on table \"orders\" violates foreign key constraint \"orders_customer_id_fkey\"\nDETAIL:  Key (customer_id)=(987654) is not present in table \"customers\".\n";
        assert_eq!(failed_statement(stderr), None);
        let own = own_messages(stderr);
        assert!(own.contains("FK CONSTRAINT public orders orders_customer_id_fkey"), "{own}");
        assert!(!own.contains("987654") && !own.contains("DETAIL"), "{own}");
        let refused = "pg_restore: error: connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  too many connections for role \"app\"\n";
        assert!(own_messages(refused).contains("too many connections"));
    }
}
