//! The schema lock: the source schema the rules were reviewed against, kept beside them.
//!
//! The rules name tables and columns but not their types, so a column retyped in the source
//! (`integer` → `text`, say) would still bind to a `keep` written for the old type. The lock
//! records every table and column with its type; [`crate::plan::drift`] compares it with the
//! live source on every `check` and `run`, and any difference stops them.
//!
//! Where it lives: `rules/shop.toml` → `rules/shop.schema.lock`; a rules directory → its
//! `schema.lock`. It is written by `doppel check --lock` (after the rules bind, so only a
//! schema the rules fully cover is recorded) and lives in git beside the rules, reviewed like
//! them: a schema change shows up as a diff of a few lines. It is plain TOML:
//!
//! ```toml
//! version = 1
//!
//! [tables."public.customers"]
//! id    = "integer"
//! email = "character varying(120)"
//!
//! [tables."public.audit_log"]  # skipped by the rules: only the table is recorded
//! ```
//!
//! A type is PostgreSQL's name of it (field metadata `pg.type`, `format_type` of the column)
//! when the source knows it, else the Arrow type (`Utf8`, `Int64`, ...). A table the rules
//! skip is recorded without columns: nothing of it is copied, so its columns may change.
//! Without a lock, check and run bind as before (names only) and `check` says a retype would
//! go unnoticed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow_schema::Field;
use serde::Deserialize;

use crate::error::{Error, Problem, Result};
use crate::schema::PG_TYPE;
use crate::schema::SourceTable;

/// The lock format version this build reads and writes.
pub const LOCK_VERSION: i64 = 1;

/// Per table, its columns and their types (`None` for a table the rules skip, whose
/// columns are not recorded).
pub type RecordedTables = BTreeMap<String, Option<BTreeMap<String, String>>>;

/// The recorded schema and the file it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaLock {
    pub file: PathBuf,
    pub tables: RecordedTables,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLock {
    version: i64,
    #[serde(default)]
    tables: BTreeMap<String, BTreeMap<String, String>>,
}

/// Where the lock of `rules` (a `.toml` file or a directory) lives.
pub fn lock_path(rules: &Path) -> PathBuf {
    if rules.is_dir() { rules.join("schema.lock") } else { rules.with_extension("schema.lock") }
}

/// The type recorded for a field: `pg.type` when present, else the Arrow type.
pub fn type_name(field: &Field) -> String {
    field.metadata().get(PG_TYPE).cloned().unwrap_or_else(|| field.data_type().to_string())
}

/// Reads the lock at `path`; `Ok(None)` when there is none.
pub fn read_lock(path: &Path) -> Result<Option<SchemaLock>> {
    // A lock that is there but not a file (a broken link, a FIFO that would block the read)
    // is refused: ignoring it would bind the rules without the check it exists for.
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => match std::fs::metadata(path) {
            Ok(meta) if !meta.is_file() => {
                return Err(problem(
                    path,
                    None,
                    format!(
                        "{}, not a regular file: the schema lock is a file written by `doppel check --lock`; move it \
                         away and record the lock again",
                        super::load::file_kind(&meta.file_type())
                    ),
                ));
            }
            Err(e) => return Err(problem(path, None, format!("cannot read the schema lock: {e}"))),
            Ok(_) => {}
        },
    }
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(problem(path, None, format!("cannot read the schema lock: {e}"))),
    };
    parse_lock(path, &text).map(Some)
}

/// Parses lock text (`path` names it in problems).
pub fn parse_lock(path: &Path, text: &str) -> Result<SchemaLock> {
    let raw: RawLock = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| super::load::line_of(text, s.start));
        problem(
            path,
            line,
            format!(
                "invalid schema lock: {}; rewrite it with `doppel check --lock` and review the diff",
                e.message().trim_end()
            ),
        )
    })?;
    if raw.version != LOCK_VERSION {
        return Err(problem(
            path,
            None,
            format!("unsupported schema lock version {}; this doppel reads version {LOCK_VERSION}", raw.version),
        ));
    }
    let tables = raw.tables.into_iter().map(|(t, cols)| (t, (!cols.is_empty()).then_some(cols))).collect();
    Ok(SchemaLock { file: path.to_path_buf(), tables })
}

/// The lock text for `tables`; `skipped` says which tables the rules skip. Columns are in
/// schema order, one per line.
pub fn render_lock(tables: &[SourceTable], skipped: impl Fn(&str) -> bool) -> String {
    let mut out = String::from(
        "# The source schema the rules beside this file were reviewed against: every table and\n\
         # column with its type. Written by `doppel check --lock`; `doppel check` and `doppel run`\n\
         # stop when the source differs from it. Review changes to it like changes to the rules.\n\
         version = 1\n",
    );
    for table in tables {
        out.push_str(&format!("\n[tables.{}]\n", toml_key(&table.name)));
        if skipped(&table.name) {
            out.push_str("# skipped by the rules: its columns are not recorded\n");
            continue;
        }
        let keys: Vec<String> = table.schema.fields().iter().map(|f| toml_key(f.name())).collect();
        let width = keys.iter().map(|k| k.chars().count()).max().unwrap_or(0).min(32);
        for (key, field) in keys.iter().zip(table.schema.fields()) {
            let pad = " ".repeat(width.saturating_sub(key.chars().count()));
            out.push_str(&format!("{key}{pad} = {}\n", super::toml_text::string(&type_name(field))));
        }
    }
    out
}

/// A TOML key: bare when it can be, quoted otherwise, always on one line.
pub fn toml_key(name: &str) -> String {
    super::toml_text::key(name)
}

/// Writes `text` to `path` through a temporary file renamed into place.
pub fn write_lock(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("lock.tmp");
    std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, path)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        problem(path, None, format!("cannot write the schema lock: {e}"))
    })
}

fn problem(path: &Path, line: Option<usize>, message: String) -> Error {
    Error::problems(vec![Problem::new(message).at(path, line)])
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use arrow_schema::{DataType, Schema};

    use super::*;

    fn table(name: &str, fields: Vec<Field>) -> SourceTable {
        SourceTable {
            name: name.into(),
            schema: Arc::new(Schema::new(fields)),
            primary_key: None,
            unique_keys: vec![],
            checks: vec![],
            foreign_keys: vec![],
            row_security: false,
        }
    }

    #[test]
    fn render_then_parse_round_trips_with_pg_and_arrow_types() {
        let pg = |n: &str, t: &str| {
            Field::new(n, DataType::Utf8, true).with_metadata(HashMap::from([(PG_TYPE.to_string(), t.to_string())]))
        };
        let tables = vec![
            table("public.a", vec![pg("id", "integer"), pg("odd \"name\"", "character varying(20)")]),
            table("public.b", vec![Field::new("x", DataType::Int64, false)]),
            table("public.skipped", vec![Field::new("y", DataType::Int64, false)]),
        ];
        let text = render_lock(&tables, |t| t == "public.skipped");
        let lock = parse_lock(Path::new("r.schema.lock"), &text).unwrap();
        assert_eq!(lock.tables["public.a"].as_ref().unwrap()["odd \"name\""], "character varying(20)");
        assert_eq!(lock.tables["public.a"].as_ref().unwrap()["id"], "integer");
        assert_eq!(lock.tables["public.b"].as_ref().unwrap()["x"], "Int64");
        assert_eq!(lock.tables["public.skipped"], None);
    }

    #[test]
    fn bad_locks_are_problems_naming_the_file() {
        let e = parse_lock(Path::new("r.schema.lock"), "version = 2\n").unwrap_err().to_string();
        assert!(e.contains("r.schema.lock") && e.contains("version 2"), "{e}");
        let e = parse_lock(Path::new("r.schema.lock"), "version = 1\n[tables.\"t\"]\nx = 3\n").unwrap_err().to_string();
        assert!(e.contains("r.schema.lock:3") && e.contains("check --lock"), "{e}");
        assert_eq!(lock_path(Path::new("rules/shop.toml")), PathBuf::from("rules/shop.schema.lock"));
    }
}
