//! `--replace` into PostgreSQL: the pieces of an atomic environment refresh, and the lock every
//! run that creates or replaces a database holds.
//!
//! ```text
//! start     ── maintenance db: pg_try_advisory_lock(key of the target's name), held until the
//!              run ends, by EVERY run that creates or replaces that database (a second run
//!              against the same target fails at once, exit 5; a marker of a live run is
//!              therefore never taken over)
//!           ── holding the lock: drop this target's leftovers, databases named
//!              <target>__doppel_<pid> / <target>__doppel_old_<pid> whose comment is doppel's
//!              marker (no live run can own them, on any host), turning connections back on
//!              for the target first when one's marker says "swapping into oid O"
//!           ── the target exists: refuse it unless its comment is doppel's marker or --force;
//!              build into "<target>__doppel_<pid>" (comment "doppel V: loading (pid, host, …)")
//! commit    ── (after post-data, sequences, ANALYZE, constraint check)
//!           ── temp comment "doppel V: swapping into oid O (…)"; ALTER DATABASE target
//!              ALLOW_CONNECTIONS false; wait (or, with --terminate-connections, end) the other
//!              sessions on it, at most --swap-timeout
//!           ── one transaction: target RENAME TO "<target>__doppel_old_<pid>" (comment
//!              "doppel V: replaced (…)"), temp RENAME TO target, owner, database-level settings
//!              and grants of the old one (ALLOW_CONNECTIONS false only when it was off on
//!              purpose: what a failed swap turned off, the clean-up at start turned back on),
//!              comment "doppel V: complete"; COMMIT
//!           ── DROP DATABASE "<target>__doppel_old_<pid>" WITH (FORCE)
//! failure   ── the transaction rolls back; ALLOW_CONNECTIONS true again (on a new connection
//!              if the admin one died); the temp is dropped only once connections are back on,
//!              else it stays as the record from which the next run turns them on
//! ```
//!
//! Whether a leftover belongs to a live run is decided by the advisory lock alone, never by a
//! pid: the lock is the server's, so it also covers runs on other machines.

use std::time::{Duration, Instant};

use postgres::Client;

use crate::error::{Error, Result};
use crate::pg::ident::{quote_ident, quote_literal};

use crate::pg::error::admin_error;
use crate::pg::marker::{self as markers, COMMENT_PREFIX, is_doppel_marker};
use crate::pg::roles::RoleMap;

/// How long the swap waits, by default, for other sessions to leave the target.
pub const DEFAULT_SWAP_TIMEOUT: Duration = Duration::from_secs(30);

/// PostgreSQL's limit on identifiers (NAMEDATALEN - 1), in bytes.
const MAX_NAME: usize = 63;

/// What a PostgreSQL target may do to an existing database.
#[derive(Debug, Clone)]
pub struct TargetOptions {
    /// Build beside an existing target and swap it in on success.
    pub replace: bool,
    /// Replace a database whose comment is not doppel's marker.
    pub force: bool,
    /// End other sessions on the target at the swap instead of waiting for them.
    pub terminate_connections: bool,
    /// How long the swap waits for other sessions to leave the target.
    pub swap_timeout: Duration,
    /// Owners and privileges to restore (`--role-map`); empty: none (`--no-owner`).
    pub role_map: RoleMap,
    /// Connections that build post-data (`pg_restore --jobs`) and run ANALYZE at once: `run
    /// --jobs`; by default the core count, at most 4. 1: one after another on one connection.
    pub jobs: usize,
}

/// [`TargetOptions::jobs`] when not given: the core count, at most 4 (as `run --jobs`).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(4)
}

impl Default for TargetOptions {
    fn default() -> Self {
        TargetOptions {
            replace: false,
            force: false,
            terminate_connections: false,
            swap_timeout: DEFAULT_SWAP_TIMEOUT,
            role_map: RoleMap::default(),
            jobs: default_jobs(),
        }
    }
}

/// `name` truncated (on a character boundary) so that `name + suffix` fits in 63 bytes.
fn with_suffix(name: &str, suffix: &str) -> String {
    let mut end = name.len().min(MAX_NAME.saturating_sub(suffix.len()));
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{suffix}", &name[..end])
}

/// The database a replacing run builds in: `<target>__doppel_<pid>`.
pub fn temp_name(target: &str, pid: u32) -> String {
    with_suffix(target, &format!("__doppel_{pid}"))
}

/// The name the replaced database has between the swap and its drop: `<target>__doppel_old_<pid>`.
pub fn old_name(target: &str, pid: u32) -> String {
    with_suffix(target, &format!("__doppel_old_{pid}"))
}

/// A leftover of one of this target's runs, recognised from its name and comment.
#[derive(Debug, PartialEq, Eq)]
struct Leftover {
    pid: u32,
    /// The target whose connections a killed or failed run had turned off (a "swapping" marker).
    swapping_into: Option<u32>,
}

/// Reads a leftover of `target`'s runs: the name is [`temp_name`] or [`old_name`] of `target`
/// for some pid, and the comment is doppel's marker naming the same pid.
fn parse_leftover(target: &str, name: &str, comment: &str) -> Option<Leftover> {
    let (_, tail) = name.rsplit_once("__doppel_")?;
    let pid: u32 = tail.strip_prefix("old_").unwrap_or(tail).parse().ok()?;
    if name != temp_name(target, pid) && name != old_name(target, pid) {
        return None;
    }
    if !is_doppel_marker(Some(comment)) {
        return None;
    }
    let (_, state) = comment.split_once(": ")?;
    let swapping_into = swapping_into(comment);
    if state.starts_with("swapping into oid ") && swapping_into.is_none() {
        return None;
    }
    let (marked_pid, _host) = marked_process(state)?;
    if marked_pid != pid {
        return None;
    }
    Some(Leftover { pid, swapping_into })
}

/// The target oid a "swapping into oid O" marker names.
pub fn swapping_into(comment: &str) -> Option<u32> {
    let (_, state) = comment.split_once(": ")?;
    state.strip_prefix("swapping into oid ")?.split(' ').next()?.parse().ok()
}

/// The `(pid N, host H…)` a marker's state names.
fn marked_process(state: &str) -> Option<(u32, String)> {
    let details = &state[state.find("(pid ")? + 5..];
    let (marked_pid, rest) = details.split_once(", host ")?;
    let host: String = rest.chars().take_while(|c| *c != ',' && *c != ')').collect();
    Some((marked_pid.parse().ok()?, host))
}

/// True when `comment` says a run was loading the database: with the target's lock held, that
/// run is gone (killed) and the database is a half-built leftover under its final name.
pub fn is_abandoned_load(comment: Option<&str>) -> bool {
    let Some(comment) = comment.filter(|c| is_doppel_marker(Some(c))) else { return false };
    comment.split_once(": ").is_some_and(|(_, state)| state.starts_with("loading (pid "))
}

/// Turns connections back on for the database of oid `oid` if they are off; returns its name
/// when it did.
pub fn allow_connections_again(client: &mut Client, oid: u32) -> std::result::Result<Option<String>, postgres::Error> {
    let target: Option<String> = client
        .query_opt(
            "SELECT datname FROM pg_catalog.pg_database WHERE oid = $1::int8::oid AND NOT datallowconn",
            &[&i64::from(oid)],
        )?
        .map(|r| r.get(0));
    if let Some(name) = &target {
        client.batch_execute(&format!("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true", quote_ident(name)))?;
    }
    Ok(target)
}

/// Drops the databases left by this target's killed or failed runs (and turns connections back
/// on for the target where such a run had turned them off). Call it only with the target's lock
/// held. Never touches a database whose comment is not doppel's marker, nor another target's
/// leftovers. Problems are logged, never fatal; a leftover whose target could not be reopened
/// is kept (it is the record of what to reopen).
pub fn clean_leftovers(maintenance: &mut Client, target: &str, location: &str) {
    let rows = match maintenance.query(
        "SELECT d.datname, pg_catalog.shobj_description(d.oid, 'pg_database') FROM pg_catalog.pg_database d \
         WHERE d.datname LIKE '%\\_\\_doppel\\_%' AND pg_catalog.shobj_description(d.oid, 'pg_database') LIKE $1",
        &[&format!("{COMMENT_PREFIX} %")],
    ) {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(target = %location, "could not look for leftovers of killed runs: {}", admin_error(&e));
            return;
        }
    };
    for row in rows {
        let (name, comment): (String, String) = (row.get(0), row.get(1));
        let Some(left) = parse_leftover(target, &name, &comment) else { continue };
        if let Some(oid) = left.swapping_into {
            match allow_connections_again(maintenance, oid) {
                Ok(Some(reopened)) => tracing::info!(
                    database = %reopened,
                    pid = left.pid,
                    "allowed connections again to a database an earlier doppel run was replacing"
                ),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(database = %target, "could not allow connections again: {}", admin_error(&e));
                    continue;
                }
            }
        }
        match maintenance.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&name))) {
            Ok(()) => tracing::info!(database = %name, pid = left.pid, "dropped the leftover of an earlier doppel run"),
            Err(e) => tracing::warn!(
                database = %name,
                "could not drop the leftover of an earlier doppel run: {}",
                admin_error(&e)
            ),
        }
    }
}

/// What the swap needs to know about the database it replaces.
struct Existing {
    oid: u32,
    allow_connections: bool,
    owner: String,
    connection_limit: i32,
}

/// Swaps the fully built database `new` into the name `target` (see the module docs), then
/// drops the old one. On failure the old database keeps its name, connections are allowed
/// again as before, and the caller drops `new`. `marker` is updated to `new`'s comment.
pub fn swap(
    admin: &mut Client,
    new: &str,
    target: &str,
    marker: &mut String,
    options: &TargetOptions,
    location: &str,
) -> Result<()> {
    let err = |what: &str, e: &postgres::Error| Error::target(location, format!("{what}: {}", admin_error(e)));
    let done = markers::complete();
    let existing = admin
        .query_opt(
            "SELECT d.oid::int8, d.datallowconn, pg_catalog.pg_get_userbyid(d.datdba), d.datconnlimit \
             FROM pg_catalog.pg_database d WHERE d.datname = $1",
            &[&target],
        )
        .map_err(|e| err("looking up the database to replace", &e))?
        .map(|r| Existing {
            oid: r.get::<_, i64>(0) as u32,
            allow_connections: r.get(1),
            owner: r.get(2),
            connection_limit: r.get(3),
        });
    let Some(existing) = existing else {
        // Dropped by someone while we were loading: nothing to swap with.
        let mut tx = admin.transaction().map_err(|e| err("renaming into place", &e))?;
        tx.batch_execute(&format!(
            "ALTER DATABASE {} RENAME TO {}; COMMENT ON DATABASE {} IS {}",
            quote_ident(new),
            quote_ident(target),
            quote_ident(target),
            quote_literal(&done)
        ))
        .map_err(|e| err("renaming into place", &e))?;
        tx.commit().map_err(|e| err("renaming into place", &e))?;
        *marker = done;
        return Ok(());
    };
    if existing.allow_connections {
        // Recorded first, so that the clean-up after a kill turns connections back on.
        let swapping = markers::marker(&format!("swapping into oid {}", existing.oid), "");
        admin
            .batch_execute(&format!("COMMENT ON DATABASE {} IS {}", quote_ident(new), quote_literal(&swapping)))
            .map_err(|e| err("marking the new database", &e))?;
        *marker = swapping;
        admin
            .batch_execute(&format!("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false", quote_ident(target)))
            .map_err(|e| err("stopping new connections to the database to replace", &e))?;
    }
    let old = old_name(target, std::process::id());
    let swapped = swap_when_alone(admin, new, target, &old, &existing, options, location);
    if let Err(e) = swapped {
        // The old database keeps serving: connections are allowed again (if they were before).
        if existing.allow_connections
            && let Err(again) =
                admin.batch_execute(&format!("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true", quote_ident(target)))
        {
            tracing::warn!(database = %target, "could not allow connections again (tried again on a new connection): {}", admin_error(&again));
        }
        return Err(e);
    }
    *marker = done;
    tracing::info!(database = %target, "swapped the new database into place");
    match admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&old))) {
        Ok(()) => tracing::info!(database = %old, "dropped the replaced database"),
        Err(e) => tracing::warn!(
            database = %old,
            "could not drop the replaced database (the next run removes it): {}",
            admin_error(&e)
        ),
    }
    Ok(())
}

/// Waits until no other session is connected to `target` or `new` (ending those on `target`
/// with --terminate-connections), then runs the swap's transaction; retries while a session
/// slips in, until the timeout.
fn swap_when_alone(
    admin: &mut Client,
    new: &str,
    target: &str,
    old: &str,
    existing: &Existing,
    options: &TargetOptions,
    location: &str,
) -> Result<()> {
    let err = |what: &str, e: &postgres::Error| Error::target(location, format!("{what}: {}", admin_error(e)));
    let deadline = Instant::now()
        .checked_add(options.swap_timeout)
        .ok_or_else(|| Error::Usage(format!("--swap-timeout {} s is too long", options.swap_timeout.as_secs())))?;
    loop {
        let sessions: Vec<(i32, String)> = admin
            .query(
                "SELECT pid, datname::text FROM pg_catalog.pg_stat_activity \
                 WHERE datname IN ($1, $2) AND pid <> pg_catalog.pg_backend_pid()",
                &[&target, &new],
            )
            .map_err(|e| err("looking for sessions on the database to replace", &e))?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        if sessions.is_empty() {
            match swap_transaction(admin, new, target, old, existing) {
                Ok(()) => return Ok(()),
                // Someone connected between the check and the rename: look again.
                Err(e) if e.code() == Some(&postgres::error::SqlState::OBJECT_IN_USE) && Instant::now() < deadline => {}
                Err(e) => return Err(err("swapping the new database into place", &e)),
            }
        } else if options.terminate_connections {
            for (pid, db) in sessions.iter().filter(|(_, db)| db == target) {
                tracing::info!(database = %db, pid, "ending a session on the database being replaced");
                admin
                    .execute("SELECT pg_catalog.pg_terminate_backend($1)", &[pid])
                    .map_err(|e| err("ending the sessions on the database to replace", &e))?;
            }
        }
        if Instant::now() >= deadline {
            let on_target = sessions.iter().filter(|(_, db)| db == target).count();
            return Err(Error::target(
                location,
                format!(
                    "{on_target} other session(s) still connected to {target} after {} s; the existing database \
                     is unchanged and serving (end those sessions, give --terminate-connections, or a longer \
                     --swap-timeout)",
                    options.swap_timeout.as_secs()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The swap itself, in one transaction (ALTER DATABASE RENAME, OWNER, SET, GRANT and COMMENT
/// are all transactional): either all of it happens or none.
fn swap_transaction(
    admin: &mut Client,
    new: &str,
    target: &str,
    old: &str,
    existing: &Existing,
) -> std::result::Result<(), postgres::Error> {
    let mut tx = admin.transaction()?;
    let oid = i64::from(existing.oid);
    let replaced = markers::marker("replaced", "");
    let done = markers::complete();
    let (t, o, n) = (quote_ident(target), quote_ident(old), quote_ident(new));
    tx.batch_execute(&format!(
        "ALTER DATABASE {t} RENAME TO {o}; COMMENT ON DATABASE {o} IS {}; ALTER DATABASE {n} RENAME TO {t}",
        quote_literal(&replaced)
    ))?;
    let owner: String = tx
        .query_one(
            "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database WHERE datname = $1",
            &[&target],
        )?
        .get(0);
    if owner != existing.owner {
        tx.batch_execute(&format!("ALTER DATABASE {t} OWNER TO {}", quote_ident(&existing.owner)))?;
    }
    if existing.connection_limit != -1 {
        tx.batch_execute(&format!("ALTER DATABASE {t} WITH CONNECTION LIMIT {}", existing.connection_limit))?;
    }
    if !existing.allow_connections {
        // Off on purpose (a branch template, say): what a crashed swap turned off was turned
        // back on by this run's clean-up before it started, from that swap's record.
        tx.batch_execute(&format!("ALTER DATABASE {t} WITH ALLOW_CONNECTIONS false"))?;
    }
    // Database-level settings, and per-role settings in this database.
    let settings = tx.query(
        "SELECT r.rolname, s.setconfig FROM pg_catalog.pg_db_role_setting s \
         LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole WHERE s.setdatabase = $1::int8::oid",
        &[&oid],
    )?;
    for row in settings {
        let role: Option<String> = row.get(0);
        let config: Vec<String> = row.get(1);
        for item in config {
            let Some((name, value)) = item.split_once('=') else { continue };
            let who = match &role {
                Some(r) => format!("ROLE {} IN DATABASE {t}", quote_ident(r)),
                None => format!("DATABASE {t}"),
            };
            tx.batch_execute(&format!("ALTER {who} SET {} = {}", quote_ident(name), setting_value(name, value)))?;
        }
    }
    // Grants: the old database's ACL exactly (a NULL ACL means the defaults, which the new one has).
    let acl = tx.query(
        "SELECT a.grantee = 0, coalesce(r.rolname, ''), a.privilege_type, a.is_grantable \
         FROM pg_catalog.pg_database d CROSS JOIN LATERAL pg_catalog.aclexplode(d.datacl) a \
         LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee WHERE d.oid = $1::int8::oid",
        &[&oid],
    )?;
    let has_acl: bool = tx
        .query_one("SELECT datacl IS NOT NULL FROM pg_catalog.pg_database WHERE oid = $1::int8::oid", &[&oid])?
        .get(0);
    if has_acl {
        tx.batch_execute(&format!(
            "REVOKE ALL ON DATABASE {t} FROM PUBLIC; REVOKE ALL ON DATABASE {t} FROM {}",
            quote_ident(&existing.owner)
        ))?;
        for row in acl {
            let (public, role, privilege, grantable): (bool, String, String, bool) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            let grantee = if public { "PUBLIC".to_string() } else { quote_ident(&role) };
            let option = if grantable { " WITH GRANT OPTION" } else { "" };
            tx.batch_execute(&format!("GRANT {privilege} ON DATABASE {t} TO {grantee}{option}"))?;
        }
    }
    tx.batch_execute(&format!("COMMENT ON DATABASE {t} IS {}", quote_literal(&done)))?;
    tx.commit()
}

/// A stored setting's value as SQL: list settings (stored as `"a", b`) element by element,
/// like pg_dump does; every other one as one literal.
fn setting_value(name: &str, value: &str) -> String {
    const LIST_QUOTE: [&str; 5] = [
        "search_path",
        "temp_tablespaces",
        "session_preload_libraries",
        "local_preload_libraries",
        "shared_preload_libraries",
    ];
    if !LIST_QUOTE.contains(&name.to_ascii_lowercase().as_str()) {
        return quote_literal(value);
    }
    let mut items = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut item = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        item.push('"');
                    } else {
                        break;
                    }
                } else {
                    item.push(c);
                }
            }
            while chars.peek().is_some_and(|c| *c != ',') {
                chars.next();
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                item.push(c);
                chars.next();
            }
            item = item.trim_end().to_string();
        }
        items.push(quote_literal(&item));
        if chars.next().is_none() {
            break;
        }
    }
    items.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_in_63_bytes_and_keep_the_pid() {
        assert_eq!(temp_name("staging", 42), "staging__doppel_42");
        assert_eq!(old_name("staging", 42), "staging__doppel_old_42");
        let long = "é".repeat(40);
        for name in [temp_name(&long, 4_194_304), old_name(&long, 4_194_304)] {
            assert!(name.len() <= 63, "{name}");
            assert!(name.ends_with("_4194304"), "{name}");
        }
    }

    #[test]
    fn leftovers_are_recognised_by_the_targets_name_and_doppels_marker_only() {
        let c = "doppel 0.1.0: loading (pid 77, host h1, snapshot 00000003-1)";
        assert_eq!(parse_leftover("st", "st__doppel_77", c), Some(Leftover { pid: 77, swapping_into: None }));
        assert_eq!(parse_leftover("st", "st__doppel_78", c), None, "the pid must match the name");
        assert_eq!(parse_leftover("other", "st__doppel_77", c), None, "another target's leftover");
        assert_eq!(parse_leftover("st", "staging", c), None);
        assert_eq!(parse_leftover("st", "st__doppel_77", "my own database"), None);
        let s = "doppel 0.1.0: swapping into oid 16384 (pid 9, host h, snapshot x)";
        assert_eq!(parse_leftover("st", "st__doppel_9", s).unwrap().swapping_into, Some(16384));
        let r = "doppel 0.1.0: replaced (pid 9, host elsewhere)";
        assert_eq!(parse_leftover("st", "st__doppel_old_9", r), Some(Leftover { pid: 9, swapping_into: None }));
        let long = "é".repeat(40);
        let truncated = temp_name(&long, 5);
        let marker = "doppel 0.1.0: loading (pid 5, host h)";
        assert!(parse_leftover(&long, &truncated, marker).is_some(), "a truncated name is still the target's");
    }

    #[test]
    fn a_loading_marker_under_the_targets_lock_is_abandoned_whatever_its_pid_or_host() {
        let own =
            format!("doppel 0.1.0: loading (pid {}, host {}, snapshot x)", std::process::id(), markers::host_name());
        assert!(is_abandoned_load(Some(&own)));
        assert!(is_abandoned_load(Some("doppel 0.1.0: loading (pid 1, host elsewhere, snapshot x)")));
        assert!(!is_abandoned_load(Some("doppel 0.1.0: complete")));
        assert!(!is_abandoned_load(Some("not doppel's")));
        assert!(!is_abandoned_load(None));
        assert!(is_doppel_marker(Some("doppel 0.1.0: complete")));
        assert!(!is_doppel_marker(Some("doppelganger: complete")));
        // A branch is doppel's too: `run --replace` may rebuild it without --force.
        assert!(is_doppel_marker(Some(
            "doppel 0.1.0: branch of \"staging\" (created 2026-11-26T10:54:55Z, by \"ci\")"
        )));
    }

    #[test]
    fn list_settings_are_split_like_pg_dump_does() {
        assert_eq!(setting_value("search_path", "\"$user\", public"), "'$user', 'public'");
        assert_eq!(setting_value("search_path", "\"a,\"\"b\", c"), "'a,\"b', 'c'");
        assert_eq!(setting_value("work_mem", "8MB"), "'8MB'");
    }
}
