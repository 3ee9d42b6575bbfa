//! The PostgreSQL client programs doppel runs as children: `pg_dump` (the schema, under the
//! source's snapshot) and `psql` (restoring it). Children get the connection through their
//! environment only (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, the TLS settings): nothing
//! on their command line names a password, and `DOPPEL_KEY` is removed from their environment.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use postgres::config::Host;

use super::connect::ConnectParams;
use super::lock::DEFAULT_LOCK_TIMEOUT;
use super::roles::RoleMap;
use crate::error::{Error, Result};

/// The environment of a pg_dump or psql child connecting as `p` to its database: every PG*
/// variable and DOPPEL_KEY removed, then the resolved connection set.
pub fn child_command(program: &str, p: &ConnectParams) -> Command {
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
pub fn tail(text: &str, max: usize) -> &str {
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
pub fn last_statement(echoed: &str) -> String {
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

/// Runs `cmd` (stdout and stderr captured) with `input` on its stdin, fed from a thread of its
/// own; the child may stop reading early (psql with ON_ERROR_STOP): its exit status tells why.
pub fn run_with_input(mut cmd: Command, input: Vec<u8>) -> std::io::Result<Output> {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().and_then(|mut child| {
        let mut stdin = child.stdin.take().expect("piped stdin");
        let feeder = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let output = child.wait_with_output();
        let _ = feeder.join();
        output
    })
}

/// One section of the source's schema (`--section=pre-data` or `post-data`) as plain SQL under
/// the snapshot, owners and privileges as `roles` says (see [`super::roles`]). With
/// `restrict_key`, pg_dump's `\restrict` key is fixed (byte-identical scripts).
///
/// pg_dump locks the tables it describes. The source holds ACCESS SHARE locks on them for the
/// whole run, so a TRUNCATE or ALTER TABLE from another session queues behind doppel, and
/// pg_dump's own lock would queue behind that, for ever: `--lock-wait-timeout` (the source's
/// default lock timeout) makes it fail instead.
pub fn schema_section(
    source: &ConnectParams,
    snapshot: &str,
    section: &str,
    restrict_key: Option<&str>,
    roles: &RoleMap,
    location: &str,
) -> Result<Vec<u8>> {
    let mut cmd = schema_dump_command(source, snapshot, section, roles);
    cmd.arg("--format=plain");
    if let Some(key) = restrict_key {
        cmd.arg(format!("--restrict-key={key}"));
    }
    let out = run_pg_dump(cmd, source, section, location)?;
    map_roles(roles, out, section, &source.location, location)
}

/// One section of the source's schema as a pg_dump archive (`--format=custom`) at `path`, for
/// `pg_restore --jobs` ([`super::restore`]); otherwise as [`schema_section`]. Owners and
/// privileges: with an empty `roles`, none are in the archive's SQL (pass `--no-owner
/// --no-privileges` to pg_restore as well); with a map, the archive keeps the source's, and
/// whoever restores it must check the map first ([`super::restore::PostDataArchive::as_sql`]).
pub fn schema_archive(
    source: &ConnectParams,
    snapshot: &str,
    section: &str,
    roles: &RoleMap,
    path: &std::path::Path,
    location: &str,
) -> Result<()> {
    let mut cmd = schema_dump_command(source, snapshot, section, roles);
    cmd.arg("--format=custom").arg("--file").arg(path);
    run_pg_dump(cmd, source, section, location).map(|_| ())
}

/// `pg_dump --schema-only SECTION --snapshot=… --lock-wait-timeout=…` of the source, owners
/// and privileges as `roles` says.
fn schema_dump_command(source: &ConnectParams, snapshot: &str, section: &str, roles: &RoleMap) -> Command {
    let mut cmd = child_command("pg_dump", source);
    cmd.args(["--schema-only", section])
        .args(roles.pg_dump_args())
        .arg(format!("--snapshot={snapshot}"))
        .arg(format!("--lock-wait-timeout={}", DEFAULT_LOCK_TIMEOUT));
    cmd
}

/// Runs pg_dump, returning its standard output.
fn run_pg_dump(mut cmd: Command, source: &ConnectParams, section: &str, location: &str) -> Result<Vec<u8>> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::target(location, format!("cannot run pg_dump ({e}); install the PostgreSQL client")))?;
    if !out.status.success() {
        // pg_dump reads the source only, under its snapshot: a failure (the connection holding
        // the snapshot lost, the source unreachable) is the source's, whatever is being
        // written. Its errors concern connections, permissions and the schema, not rows.
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(Error::source(
            &source.location,
            format!(
                "pg_dump {section} for {location} failed ({}): {}; if the snapshot is no longer valid, the connection \
                 holding it was lost: run again",
                out.status,
                tail(&stderr, 2000)
            ),
        ));
    }
    Ok(out.stdout)
}

/// pg_dump's plain SQL of `section` with owners and privileges rewritten by `roles`
/// ([`RoleMap::rewrite`]); unchanged when the map is empty (pg_dump left them out).
/// `source_location` names the source in errors, `location` the target.
pub fn map_roles(
    roles: &RoleMap,
    sql: Vec<u8>,
    section: &str,
    source_location: &str,
    location: &str,
) -> Result<Vec<u8>> {
    if roles.is_empty() {
        return Ok(sql);
    }
    let sql = String::from_utf8(sql).map_err(|_| {
        Error::source(source_location, format!("pg_dump {section} for {location} wrote text that is not UTF-8"))
    })?;
    let (sql, dropped) = roles.rewrite(&sql);
    if !dropped.is_empty() {
        tracing::warn!(
            section,
            roles = %dropped.join(", "),
            "owners and privileges of roles not named by --role-map are not restored"
        );
    }
    Ok(sql.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(url: &str) -> ConnectParams {
        ConnectParams::resolve(url, &|_| None).unwrap()
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
}
