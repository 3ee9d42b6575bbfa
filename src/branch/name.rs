//! Branch names: the new database's name, checked before anything reaches the server.
//!
//! A name is always quoted (`quote_ident`) in SQL, so any character PostgreSQL accepts in an
//! identifier is fine, upper case and spaces included. Refused: an empty name; one longer than
//! 63 bytes (PostgreSQL would silently cut it, and two branches could end up as one); control
//! characters and surrounding spaces (names that print the same but differ); the server's own
//! databases (`postgres`, `template0`, `template1`); and names containing `__doppel_`, which
//! `doppel run --replace` uses for the databases it builds beside a target and removes after a
//! killed run.

/// PostgreSQL's limit on identifiers (NAMEDATALEN - 1), in bytes.
pub const MAX_BYTES: usize = 63;

/// The part of a name that doppel's own temporary databases carry.
pub const RESERVED_PART: &str = "__doppel_";

/// `Err(reason)` when `name` cannot be a branch database's name. The reason does not repeat
/// the name (the caller names it).
pub fn check(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty; give the new database's name".into());
    }
    if name.len() > MAX_BYTES {
        return Err(format!(
            "is {} bytes long; PostgreSQL names hold at most {MAX_BYTES} bytes (a longer one would be cut \
             silently), so shorten it",
            name.len()
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("contains a control character (NUL, newline, tab, …); use letters, digits and _".into());
    }
    if name.trim() != name {
        return Err("starts or ends with a space; remove it".into());
    }
    if matches!(name, "postgres" | "template0" | "template1") {
        return Err("is one of the server's own databases; name a database of its own for the branch".into());
    }
    if name.contains(RESERVED_PART) {
        return Err(format!(
            "contains {RESERVED_PART}, which doppel reserves for the databases `run --replace` builds and cleans up"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass() {
        for name in ["app_feature_123", "Feature-X", "with space", "ünïcødé", &"a".repeat(63), "pg_branch"] {
            assert_eq!(check(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn bad_names_are_refused_with_a_reason() {
        for (name, reason) in [
            ("", "is empty"),
            (&"a".repeat(64), "64 bytes"),
            (&"é".repeat(32), "64 bytes"),
            ("a\0b", "control character"),
            ("a\nb", "control character"),
            (" app", "space"),
            ("app ", "space"),
            ("postgres", "server's own"),
            ("template0", "server's own"),
            ("template1", "server's own"),
            ("staging__doppel_123", "__doppel_"),
        ] {
            let err = check(name).expect_err(name);
            assert!(err.contains(reason), "{name:?}: {err}");
        }
    }
}
