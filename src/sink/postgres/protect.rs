//! `doppel protect`: a mark on a database (production, say) that makes doppel refuse to write
//! into it, replace it or drop it, whatever the flags.
//!
//! The mark is a database-level setting, `ALTER DATABASE db SET doppel.protected = 'on'`: it
//! lives in the catalog (`pg_db_role_setting`), survives restarts, needs no extension, leaves
//! the database's comment alone, and any role can read it. Sessions of that database see a
//! harmless custom setting `doppel.protected`.

use postgres::Client;

use crate::source::postgres::catalog::quote_ident;

/// The setting that marks a protected database.
pub const SETTING: &str = "doppel.protected";

/// Whether database `dbname` carries the protection mark.
pub fn is_protected(client: &mut Client, dbname: &str) -> Result<bool, postgres::Error> {
    let row = client.query_opt(
        "SELECT 1 FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase \
         WHERE d.datname = $1 AND s.setrole = 0 AND 'doppel.protected=on' = ANY (s.setconfig)",
        &[&dbname],
    )?;
    Ok(row.is_some())
}

/// Marks (or, with `protect = false`, unmarks) database `dbname`.
pub fn set_protected(client: &mut Client, dbname: &str, protect: bool) -> Result<(), postgres::Error> {
    let sql = if protect {
        format!("ALTER DATABASE {} SET {SETTING} = 'on'", quote_ident(dbname))
    } else {
        format!("ALTER DATABASE {} RESET {SETTING}", quote_ident(dbname))
    };
    client.batch_execute(&sql)
}
