//! `doppel protect`: a mark on a database (production, say) that makes doppel refuse to write
//! into it, replace it or drop it, whatever the flags.
//!
//! The mark is a setting, `ALTER DATABASE db SET doppel.protected = 'on'`: it lives in the
//! catalog (`pg_db_role_setting`), survives restarts, needs no extension, leaves the
//! database's comment alone, and any role can read it. Sessions of that database see a
//! harmless custom setting `doppel.protected`.
//!
//! Reading the mark is deliberately wider than writing it. [`is_protected`] is the one
//! decision every writer goes through (new and replaced databases, existing tables, branches),
//! and it counts every place the setting can come from that says something about the target:
//!
//! | where                                                  | `pg_db_role_setting` row          |
//! |--------------------------------------------------------|-----------------------------------|
//! | the database (`ALTER DATABASE db SET …`)               | `setdatabase = db, setrole = 0`   |
//! | any role in the database (`ALTER ROLE r IN DATABASE db SET …`) | `setdatabase = db, setrole = r` |
//! | the role doppel connects as (`ALTER ROLE me SET …`)    | `setdatabase = 0, setrole = me`   |
//!
//! A role-wide setting of another role says nothing about this database and is not read; a
//! role-wide setting of doppel's own role applies to every session doppel opens, so it
//! protects every database from that role. The server's configuration file is not read.
//!
//! Values are read the way PostgreSQL reads booleans ([`parse_bool`]: `on`/`off`,
//! `true`/`false`, `yes`/`no`, `1`/`0`, any case, unambiguous prefixes, surrounding
//! whitespace). A value that is not a boolean (`maybe`, a list) protects: only a clear "off"
//! lifts a mark. Setting names are compared without case, as PostgreSQL does.

use postgres::Client;

use crate::pg::ident::quote_ident;

/// The setting that marks a protected database.
pub const SETTING: &str = "doppel.protected";

/// Where a mark that protects a database was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// `ALTER DATABASE db SET doppel.protected …`
    Database,
    /// `ALTER ROLE role IN DATABASE db SET doppel.protected …`
    RoleInDatabase(String),
    /// `ALTER ROLE role SET doppel.protected …`, on the role doppel connects as.
    Role(String),
}

impl Mark {
    /// The statement that lifts this mark, for messages.
    pub fn how_to_lift(&self, dbname: &str) -> String {
        match self {
            Mark::Database => format!("ALTER DATABASE {} RESET {SETTING}", quote_ident(dbname)),
            Mark::RoleInDatabase(role) => {
                format!("ALTER ROLE {} IN DATABASE {} RESET {SETTING}", quote_ident(role), quote_ident(dbname))
            }
            Mark::Role(role) => format!("ALTER ROLE {} RESET {SETTING}", quote_ident(role)),
        }
    }
}

/// Whether database `dbname` is protected: see the module docs for where the mark is read.
/// An error reading the catalog is returned; callers refuse to write when it happens.
pub fn is_protected(client: &mut Client, dbname: &str) -> Result<bool, postgres::Error> {
    Ok(!marks(client, dbname)?.is_empty())
}

/// Every mark that protects database `dbname`.
pub fn marks(client: &mut Client, dbname: &str) -> Result<Vec<Mark>, postgres::Error> {
    let rows = client.query(
        "SELECT s.setdatabase <> 0, s.setrole <> 0, COALESCE(r.rolname::text, ''), s.setconfig \
         FROM pg_catalog.pg_db_role_setting s \
         LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole \
         WHERE s.setdatabase = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = $1) \
            OR (s.setdatabase = 0 \
                AND s.setrole = (SELECT u.oid FROM pg_catalog.pg_roles u WHERE u.rolname = session_user)) \
         ORDER BY 1 DESC, 3",
        &[&dbname],
    )?;
    let mut found = Vec::new();
    for row in rows {
        let (on_database, on_role, role): (bool, bool, String) = (row.get(0), row.get(1), row.get(2));
        let config: Option<Vec<String>> = row.get(3);
        if !config.iter().flatten().any(|entry| entry_protects(entry)) {
            continue;
        }
        found.push(match (on_database, on_role) {
            (true, false) => Mark::Database,
            (true, true) => Mark::RoleInDatabase(role),
            _ => Mark::Role(role),
        });
    }
    Ok(found)
}

/// Whether one `name=value` entry of `setconfig` is a mark: the name is [`SETTING`] (any
/// case) and the value is not a clear "off".
fn entry_protects(entry: &str) -> bool {
    match entry.split_once('=') {
        Some((name, value)) => name.trim().eq_ignore_ascii_case(SETTING) && parse_bool(value) != Some(false),
        None => false,
    }
}

/// A boolean as PostgreSQL reads one (`parse_bool` in src/backend/utils/adt/bool.c, with
/// `boolin`'s trimming of surrounding whitespace): `true`/`false`, `yes`/`no`, `on`/`off`,
/// `1`/`0`, in any case, or an unambiguous prefix of a word (`t`, `fa`, `y`, `of`; `o` alone
/// is ambiguous). `None` for anything else.
pub fn parse_bool(value: &str) -> Option<bool> {
    let v = value.trim().to_ascii_lowercase();
    let prefix_of = |word: &str, min: usize| v.len() >= min && word.starts_with(v.as_str());
    match v.as_bytes().first()? {
        b't' if prefix_of("true", 1) => Some(true),
        b'f' if prefix_of("false", 1) => Some(false),
        b'y' if prefix_of("yes", 1) => Some(true),
        b'n' if prefix_of("no", 1) => Some(false),
        b'o' if prefix_of("on", 2) => Some(true),
        b'o' if prefix_of("off", 2) => Some(false),
        b'1' if v.len() == 1 => Some(true),
        b'0' if v.len() == 1 => Some(false),
        _ => None,
    }
}

/// Marks (or, with `protect = false`, unmarks) database `dbname` at the database level;
/// marks elsewhere (see [`marks`]) stay.
pub fn set_protected(client: &mut Client, dbname: &str, protect: bool) -> Result<(), postgres::Error> {
    let sql = if protect {
        format!("ALTER DATABASE {} SET {SETTING} = 'on'", quote_ident(dbname))
    } else {
        format!("ALTER DATABASE {} RESET {SETTING}", quote_ident(dbname))
    };
    client.batch_execute(&sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_are_read_as_postgresql_reads_them() {
        for yes in
            ["on", "ON", "On", "true", "TRUE", "t", "tr", "tru", "yes", "YES", "y", "ye", "1", " on ", "\ttrue\n"]
        {
            assert_eq!(parse_bool(yes), Some(true), "{yes:?}");
        }
        for no in ["off", "OFF", "of", "false", "f", "fal", "no", "n", "NO", "0", " off "] {
            assert_eq!(parse_bool(no), Some(false), "{no:?}");
        }
        for odd in ["", " ", "o", "maybe", "2", "10", "00", "onn", "offf", "truee", "yess", "on, off", "nope", "-1"] {
            assert_eq!(parse_bool(odd), None, "{odd:?}");
        }
    }

    #[test]
    fn only_a_clear_off_lifts_a_mark() {
        for protects in ["doppel.protected=on", "DOPPEL.Protected=true", "doppel.protected=maybe", "doppel.protected="]
        {
            assert!(entry_protects(protects), "{protects}");
        }
        for lifts in ["doppel.protected=off", "doppel.protected=0", "doppel.protected=false", "work_mem=on"] {
            assert!(!entry_protects(lifts), "{lifts}");
        }
    }

    #[test]
    fn each_mark_says_how_to_lift_it() {
        assert_eq!(Mark::Database.how_to_lift("prod"), "ALTER DATABASE \"prod\" RESET doppel.protected");
        assert_eq!(
            Mark::RoleInDatabase("app".into()).how_to_lift("prod"),
            "ALTER ROLE \"app\" IN DATABASE \"prod\" RESET doppel.protected"
        );
        assert_eq!(Mark::Role("me".into()).how_to_lift("prod"), "ALTER ROLE \"me\" RESET doppel.protected");
    }
}
