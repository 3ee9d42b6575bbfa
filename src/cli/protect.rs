//! `doppel protect DB [--remove]`: set or lift the mark that keeps doppel away from a database.

use crate::error::{Error, Result};
use crate::pg::connect::ConnectParams;
use crate::pg::error::sqlstate;
use crate::pg::protect::{marks, set_protected};

use super::ProtectArgs;

pub fn protect(args: ProtectArgs) -> Result<()> {
    let params = ConnectParams::from_url(&args.url)?;
    let mut client = params.connect()?;
    let target = || format!("{} (database {})", params.location, args.database);
    let exists = client
        .query_opt("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", &[&args.database])
        .map_err(|e| Error::target(target(), format!("cannot look the database up (SQLSTATE {})", sqlstate(&e))))?
        .is_some();
    if !exists {
        return Err(Error::target(target(), "no such database on this server; check the name and --url"));
    }
    set_protected(&mut client, &args.database, !args.remove).map_err(|e| {
        Error::target(
            target(),
            format!(
                "cannot change the mark (SQLSTATE {}); ALTER DATABASE needs the database's owner or a superuser",
                sqlstate(&e)
            ),
        )
    })?;
    let now = marks(&mut client, &args.database)
        .map_err(|e| Error::target(target(), format!("cannot read the mark back (SQLSTATE {})", sqlstate(&e))))?;
    if args.remove && !now.is_empty() {
        let lift: Vec<String> = now.iter().map(|m| m.how_to_lift(&args.database)).collect();
        return Err(Error::target(
            target(),
            format!(
                "the database-level mark is lifted, but the database is still protected by {} other mark(s) \
                 (doppel reads the mark on the database, on any role in it, and on the role it connects as); \
                 lift them with: {}",
                now.len(),
                lift.join("; ")
            ),
        ));
    }
    crate::say!(
        "{}: {}",
        args.database,
        if now.is_empty() {
            "no longer protected"
        } else {
            "protected: doppel will never write into, replace or drop it"
        }
    );
    Ok(())
}
