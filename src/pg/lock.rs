//! Locks around databases: the advisory lock every run that creates, replaces or drops a
//! database holds for that database's name (runs and `doppel branch` alike), taken on the
//! server's maintenance database, and the default `lock_timeout` of connections that read.
//!
//! The advisory lock is the server's, so it also covers runs on other machines: whether a
//! leftover belongs to a live run is decided by it alone, never by a pid.

use postgres::Client;

use super::connect::ConnectParams;
use super::error::{admin_error, as_target};
use crate::error::{Error, Result};

/// How long doppel waits for a lock when the session says nothing (`lock_timeout = 0`).
pub const DEFAULT_LOCK_TIMEOUT: &str = "60s";

/// The advisory lock key for replacing `dbname` (one per target name, on the maintenance db).
pub fn lock_key(dbname: &str) -> i64 {
    let hash = blake3::hash(format!("doppel replace\0{dbname}").as_bytes());
    i64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// Takes the advisory lock of `dbname` on `maintenance`, or fails at once when another run holds it.
pub fn lock(maintenance: &mut Client, dbname: &str, location: &str) -> Result<()> {
    let got: bool = maintenance
        .query_one("SELECT pg_catalog.pg_try_advisory_lock($1)", &[&lock_key(dbname)])
        .map_err(|e| Error::target(location, format!("taking the replace lock: {}", admin_error(&e))))?
        .get(0);
    if !got {
        return Err(Error::target(
            location,
            format!(
                "another doppel run is building or replacing {dbname} (it holds the advisory lock for this target); \
                 wait for it to finish, then run again"
            ),
        ));
    }
    Ok(())
}

/// Takes the advisory lock every run that creates, replaces or drops database `dbname` holds
/// ([`lock`]) on a maintenance connection of `server`'s server; the lock lasts as long
/// as the returned connection.
pub fn lock_target(server: &ConnectParams, dbname: &str) -> Result<Client> {
    let mut client = maintenance(server)?;
    lock(&mut client, dbname, &server.with_dbname(dbname).location)?;
    Ok(client)
}

/// A connection to the target server's maintenance database (`postgres`, else `template1`).
pub fn maintenance(target: &ConnectParams) -> Result<Client> {
    match target.with_dbname("postgres").connect() {
        Ok(c) => Ok(c),
        Err(first) => target.with_dbname("template1").connect().map_err(|_| as_target(first)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_differ_per_target() {
        assert_ne!(lock_key("staging"), lock_key("staging2"));
        assert_eq!(lock_key("staging"), lock_key("staging"));
    }
}
