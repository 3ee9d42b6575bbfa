//! PostgreSQL errors in doppel's words, by SQLSTATE; never a cell value, never a password.
//!
//! Server messages about queries can quote data (`invalid input syntax for type integer:
//! "…"`), so for reads ([`describe_query_error`]) and writes ([`describe`]) only the SQLSTATE,
//! our own words and the identifiers the server reports (table, column, constraint, COPY line)
//! are shown. Messages that cannot carry row data may be shown as the server wrote them:
//! connecting ([`connect_failure`]: users, databases, hosts) and administrative statements on
//! databases ([`describe_admin`], [`admin_error`]: databases, locales, roles).
//!
//! | function                | for                                                     |
//! |-------------------------|---------------------------------------------------------|
//! | [`connect_failure`]     | opening a session (authentication, pg_hba, sockets, TLS) |
//! | [`describe_query_error`] | a failed query while reading (source, snapshot, catalog) |
//! | [`describe`]            | a failed statement or COPY on a target                  |
//! | [`describe_admin`], [`admin_error`] | CREATE / COMMENT / DROP / ALTER DATABASE, locks |
//! | [`describe_subset_query`] | a failed query of a subset's closure (its `where`)    |
//! | [`sqlstate`]            | just the SQLSTATE (`doppel protect`)                    |
//! | [`as_target`]           | a connection error of a target, not a source            |

use std::io;

use postgres::error::SqlState;

use crate::error::Error;

/// Our words for a failure to open a session as `user` to database `db` (`tls_failure` words
/// the TLS causes). Server messages at this stage carry no table data (they name users,
/// databases and hosts), so they may be shown.
pub fn connect_failure(
    e: &postgres::Error,
    user: &str,
    db: &str,
    tls_disabled: bool,
    tls_failure: &dyn Fn(&postgres::Error) -> Option<String>,
) -> String {
    if let Some(db_err) = e.as_db_error() {
        let code = db_err.code();
        if *code == SqlState::INVALID_PASSWORD {
            format!(
                "authentication failed for user \"{user}\"; check the user name and the password \
                 (prefer PGPASSWORD over a password in the URL)"
            )
        } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
            let tls_hint = if tls_disabled {
                " (sslmode=disable: if the server accepts only TLS connections, use sslmode=require)"
            } else {
                ""
            };
            format!(
                "the server refused the connection ({}); check pg_hba.conf on the server, the user name and the \
                 database{tls_hint}",
                db_err.message()
            )
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            format!("database \"{db}\" does not exist; check the database name in the URL or PGDATABASE")
        } else if *code == SqlState::TOO_MANY_CONNECTIONS {
            "the server has no free connection slots (too many connections); doppel opens one connection per \
             table being read plus one, so lower --threads or raise max_connections"
                .to_string()
        } else if *code == SqlState::CANNOT_CONNECT_NOW {
            "the server is starting up or shutting down; try again when it is ready".to_string()
        } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            format!("permission denied to connect ({}); grant CONNECT on the database to \"{user}\"", db_err.message())
        } else {
            format!("cannot connect (SQLSTATE {}: {}); check the URL and the server log", code.code(), db_err.message())
        }
    } else if let Some(message) = tls_failure(e) {
        message
    } else if let Some(io) = io_cause(e) {
        match io.kind() {
            io::ErrorKind::ConnectionRefused => "connection refused; is PostgreSQL running there and listening on \
                 that host and port? check the host and port in the URL, PGHOST and PGPORT"
                .to_string(),
            io::ErrorKind::NotFound => "no server socket found there; is PostgreSQL running locally? give the host \
                 (and port) in the URL or PGHOST"
                .to_string(),
            io::ErrorKind::TimedOut => "connecting timed out; check the host, port and firewall".to_string(),
            io::ErrorKind::PermissionDenied => {
                "permission denied opening the server socket; check the socket directory's permissions".to_string()
            }
            _ => format!("cannot connect ({io}); check the host and port in the URL, PGHOST and PGPORT"),
        }
    } else if chain_mentions(e, "password missing") {
        format!("the server asks for a password for user \"{user}\" and none was given; set PGPASSWORD")
    } else if e.is_closed() {
        "the server closed the connection while it was being set up; check the server log".to_string()
    } else {
        format!("cannot connect ({e}); check the URL and the server log")
    }
}

/// Our wording for a failed query, never the server's text.
pub fn describe_query_error(e: &postgres::Error, user: &str) -> String {
    if let Some(code) = e.code() {
        let c = code.code();
        if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            format!(
                "permission denied (SQLSTATE {c}); grant SELECT on the table to \"{user}\", or mark the table \
                 action = \"skip\" in the rules"
            )
        } else if *code == SqlState::UNDEFINED_TABLE {
            format!("the table does not exist any more (SQLSTATE {c}); it was dropped or renamed during the run")
        } else if *code == SqlState::UNDEFINED_COLUMN {
            format!("a column does not exist any more (SQLSTATE {c}); the table was altered during the run")
        } else if *code == SqlState::LOCK_NOT_AVAILABLE {
            format!(
                "a lock on the table was not granted within lock_timeout (SQLSTATE {c}): another session holds or \
                 waits for a conflicting lock (TRUNCATE, ALTER TABLE, VACUUM FULL, …). doppel holds its locks until \
                 the run ends, so such a session waits for doppel and the tables not yet read wait for it; let it \
                 finish or stop it (pg_stat_activity and pg_locks show it), then run again"
            )
        } else if *code == SqlState::QUERY_CANCELED {
            format!("the query was cancelled (SQLSTATE {c}), by an administrator or a timeout; run again")
        } else if *code == SqlState::INVALID_PARAMETER_VALUE {
            format!(
                "the server rejected a parameter (SQLSTATE {c}); if this is the snapshot, the coordinating \
                 connection was closed or the server restarted: run again"
            )
        } else if *code == SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE {
            format!("the server cannot do this in its current state (SQLSTATE {c}); check the server log")
        } else if c.starts_with("08") || c.starts_with("57P") {
            format!("the connection was lost (SQLSTATE {c}); check the server log and the network, then run again")
        } else if c.starts_with("53") {
            format!("the server ran out of resources (SQLSTATE {c}); check its disk and memory, then run again")
        } else if c.starts_with("22") {
            format!("the server could not convert a value (SQLSTATE {c}); check the database encoding and the data")
        } else {
            format!("the server reported an error (SQLSTATE {c}); check the server log")
        }
    } else if e.is_closed() || io_cause(e).is_some() {
        "the connection was lost; check the server log and the network, then run again".to_string()
    } else {
        // Driver-side errors (protocol, conversion) carry no server text.
        format!("the database driver failed ({e})")
    }
}

/// Our words for a failed query on the target; the server's text is not shown (it can quote
/// a value), but identifiers it reports (constraint, column, table) and the COPY line are.
pub fn describe(e: &postgres::Error) -> String {
    let Some(db) = e.as_db_error() else {
        return if e.is_closed() {
            "the connection was lost; check the server log and the network, then run again".to_string()
        } else {
            format!("the database driver failed ({e})")
        };
    };
    let code = db.code().code();
    let copy_row = db.where_().and_then(copy_line);
    let what = match &code[..2] {
        // Type input functions (tsvector, xml, geometric types, ...) report malformed text as
        // a syntax error: inside a COPY that is a value, not the statement.
        "42" if code == "42601" && copy_row.is_some() => {
            "a value is not valid input for its column's type (malformed); check that the column's rule can \
             write valid values of its type"
        }
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
    if let Some(c) = db.column().or_else(|| db.where_().and_then(copy_column)) {
        out.push_str(&format!(", column {c}"));
    }
    if let Some(c) = db.constraint() {
        out.push_str(&format!(", constraint {c}"));
    }
    // COPY context reads `COPY t, line 5, column c: "value"`: keep only the line number.
    if let Some(line) = copy_row {
        out.push_str(&format!(", row {line}"));
    }
    out.push_str("); the target server's log may show the value");
    out
}

/// A failed administrative statement (CREATE, COMMENT, DROP DATABASE): these touch no rows, so
/// the server's message names only databases, locales and roles and may be shown.
pub fn describe_admin(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => describe(e),
    }
}

/// A failed administrative statement (CREATE, ALTER, DROP DATABASE, locks) in words: these
/// touch no rows, so the server's message names only databases and roles and may be shown.
pub fn admin_error(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None if e.is_closed() => "the connection was lost".to_string(),
        None => format!("the database driver failed ({e})"),
    }
}

/// A failed query of a subset's closure, in our words: the server's text is never shown, since even a
/// mistake in a `where` can make it quote a cell (a cast to `regrole` answers `role "…" does
/// not exist` with the row's value). The SQLSTATE and the rules' own `where` say what to fix.
pub fn describe_subset_query(e: &postgres::Error, rule_where: Option<&str>) -> String {
    let Some(db) = e.as_db_error() else {
        return if e.is_closed() {
            "the connection was lost; check the server log and the network, then run again".to_string()
        } else {
            "the database driver failed; run again".to_string()
        };
    };
    let code = db.code().code();
    let what = match code {
        "42601" => "it is not valid SQL (syntax error)",
        "42703" => "it names a column the table does not have",
        "42P01" => "it names a table that does not exist",
        "42883" => "it calls a function or operator that does not exist for these argument types",
        "42704" => "it names (or casts a value to) a type, role or other object that does not exist",
        "42804" | "42846" | "42P18" => "it compares or converts values of types that do not match",
        "42501" => "permission denied for something it reads",
        "42702" => "it names a column ambiguously",
        "42803" => "it uses an aggregate or window function, which a where clause cannot",
        "0A000" => "it asks for something PostgreSQL does not support there",
        _ if code.starts_with("42") => "it does not fit the table's schema",
        _ if code.starts_with("22") => "a value of the table cannot be converted or computed as it asks",
        _ if code.starts_with("08") || code.starts_with("57") => {
            return format!("the connection was lost or the query was cancelled (SQLSTATE {code}); run again");
        }
        _ => "the server refused it",
    };
    match rule_where {
        Some(w) => format!(
            "the subset's where clause `{w}` cannot be run: {what} (SQLSTATE {code}); fix it in the rules' [subset] \
             section (the server's own message is not shown: it may quote a value)"
        ),
        None => format!(
            "the query failed: {what} (SQLSTATE {code}); check the subset's relations in the rules and the server \
             log (the server's own message is not shown: it may quote a value)"
        ),
    }
}

/// The SQLSTATE of a failed statement, or why there is none.
pub fn sqlstate(e: &postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| "none: the connection failed".into())
}

/// The line number of a COPY error context (`COPY t, line 5, column c: "value"`).
/// The column of a COPY context `COPY t, line 5, column c: "value"` (the name only: what
/// follows `: ` is the value and is never kept).
fn copy_column(context: &str) -> Option<&str> {
    let start = context.find(", column ")? + 9;
    let rest = &context[start..];
    let end = rest.find(": ").unwrap_or(rest.len());
    Some(&rest[..end]).filter(|c| !c.is_empty())
}

fn copy_line(context: &str) -> Option<u64> {
    let rest = &context[context.find(", line ")? + 7..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The connection errors of `ConnectParams` are worded for a source; here they are the target's.
pub fn as_target(e: Error) -> Error {
    match e {
        Error::Source { location, message } => Error::Target { location, message },
        other => other,
    }
}

/// The io::Error under a driver error, if any.
fn io_cause(e: &postgres::Error) -> Option<&io::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<io::Error>() {
            return Some(io);
        }
        cause = c.source();
    }
    None
}

/// True when `e` or one of its causes says `text` (driver-side errors only).
pub fn chain_mentions(e: &postgres::Error, text: &str) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.to_string().contains(text) {
            return true;
        }
        cause = c.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_context_gives_the_line_not_the_value() {
        assert_eq!(copy_line("COPY orders, line 17, column x: \"secret\""), Some(17));
        assert_eq!(copy_line("SQL statement"), None);
        assert_eq!(copy_column("COPY docs, line 1, column body: \"'1':3 'x':0\""), Some("body"));
        assert_eq!(copy_column("COPY docs, line 1, column Col With Space"), Some("Col With Space"));
        assert_eq!(copy_column("COPY docs, line 1"), None);
    }
}
