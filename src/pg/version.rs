//! Server version checks: PostgreSQL 10 or newer (partitioned tables, `relispartition`),
//! and not newer than the local `pg_dump`, which the PostgreSQL sink uses for the schema and
//! which refuses servers of a newer major version.

use std::process::Command;

/// The oldest server major version read.
pub const MIN_MAJOR: u32 = 10;

/// Major version from `server_version_num` (e.g. 150018 → 15).
pub fn major_of(server_version_num: i32) -> u32 {
    (server_version_num / 10000).max(0) as u32
}

/// The major version in `pg_dump --version` output, e.g.
/// `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` → 15.
pub fn parse_pg_dump_major(output: &str) -> Option<u32> {
    let after = output.split(')').nth(1).unwrap_or(output);
    let token = after.split_whitespace().next()?;
    let digits: String = token.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The local pg_dump's major version; `None` (with a warning) when it cannot be run.
pub fn pg_dump_major() -> Option<u32> {
    match Command::new("pg_dump").arg("--version").output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let major = parse_pg_dump_major(&text);
            if major.is_none() {
                tracing::warn!(
                    "cannot read the version in `pg_dump --version` output; skipping the server version check"
                );
            }
            major
        }
        _ => {
            tracing::warn!(
                "pg_dump not found on PATH; skipping the check that the server is not newer than pg_dump \
                 (install the PostgreSQL client to enable it)"
            );
            None
        }
    }
}

/// `Err(message)` when the server cannot be read with this setup.
pub fn check(server_major: u32, pg_dump_major: Option<u32>) -> Result<(), String> {
    if server_major < MIN_MAJOR {
        return Err(format!("the server is PostgreSQL {server_major}; doppel reads PostgreSQL {MIN_MAJOR} or newer"));
    }
    match pg_dump_major {
        Some(dump) if server_major > dump => Err(format!(
            "the server is PostgreSQL {server_major}, newer than the local pg_dump ({dump}); install the \
             PostgreSQL {server_major} client tools (pg_dump {server_major} or newer) and put them first on PATH"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(major_of(150018), 15);
        assert_eq!(major_of(100005), 10);
        assert_eq!(parse_pg_dump_major("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"), Some(15));
        assert_eq!(parse_pg_dump_major("pg_dump (PostgreSQL) 17beta1\n"), Some(17));
        assert_eq!(parse_pg_dump_major("pg_dump (PostgreSQL) 9.6.24\n"), Some(9));
        assert_eq!(parse_pg_dump_major("garbage"), None);
    }

    #[test]
    fn newer_servers_and_old_servers_are_refused() {
        assert!(check(15, Some(15)).is_ok());
        assert!(check(14, Some(16)).is_ok());
        assert!(check(16, None).is_ok());
        let e = check(17, Some(15)).unwrap_err();
        assert!(e.contains("17") && e.contains("pg_dump (15)"), "{e}");
        assert!(check(9, Some(15)).unwrap_err().contains("10 or newer"));
    }
}
