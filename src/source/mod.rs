//! Sources: where rows come from. Each yields its tables' schemas and a stream of Arrow
//! `RecordBatch`es per table.
//!
//! | location                          | source                           |
//! |-----------------------------------|----------------------------------|
//! | `postgres://…`, `postgresql://…`  | PostgreSQL ([`postgres`])        |
//! | `*.sql`, `-`                      | SQL dump (not in this version)   |
//! | any other path                    | a directory of Parquet files ([`parquet`]) |

pub mod parquet;
pub mod postgres;
pub mod zero_columns;

use std::path::PathBuf;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::error::{Error, Result};

/// One table as a source presents it: its name, its columns, and the keys and access
/// facts the plan checks before anything is written.
#[derive(Debug, Clone)]
pub struct SourceTable {
    /// Schema-qualified name, e.g. `public.customers`.
    pub name: String,
    pub schema: SchemaRef,
    /// The primary key's columns in key order; `None` when the table has no primary key or
    /// the source cannot tell (Parquet).
    pub primary_key: Option<Vec<String>>,
    /// Foreign keys declared on this table, in constraint name order; empty for sources
    /// without constraints (Parquet).
    pub foreign_keys: Vec<ForeignKey>,
    /// PostgreSQL row-level security policies apply to the reading role on this table, so a
    /// read would see only the rows they allow (the reader refuses instead; see
    /// [`postgres`]). Always false for Parquet.
    pub row_security: bool,
}

impl SourceTable {
    /// A table without keys or row security (what a Parquet file can describe).
    pub fn new(name: impl Into<String>, schema: SchemaRef) -> SourceTable {
        SourceTable { name: name.into(), schema, primary_key: None, foreign_keys: Vec::new(), row_security: false }
    }
}

/// A foreign key: `columns` of the table that declares it reference `references_columns`
/// of `references_table`, position by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The constraint's name (unique per table in PostgreSQL).
    pub name: String,
    /// Referencing columns, in the constraint's order; at least one.
    pub columns: Vec<String>,
    /// `schema.table` of the referenced table, as sources name tables (a reference to a
    /// partition names the partitioned table doppel reads it through). May be this table.
    pub references_table: String,
    /// Referenced columns, in the same order as `columns`.
    pub references_columns: Vec<String>,
    /// `DEFERRABLE` (initially deferred or not).
    pub deferrable: bool,
}

/// A stream of batches of one table.
pub type BatchStream = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

pub trait Source: Send + Sync {
    /// Tables in name order.
    fn tables(&self) -> &[SourceTable];
    /// Streams one table in batches of at most `batch_rows` rows, in a stable row order.
    fn read(&self, table: &str, batch_rows: usize) -> Result<BatchStream>;
}

/// What a `--from` / `--to` argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Postgres(String),
    Dump(PathBuf),
    Parquet(PathBuf),
}

impl Location {
    pub fn parse(s: &str) -> Location {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Location::Postgres(s.to_string())
        } else if s == "-" || s.ends_with(".sql") {
            Location::Dump(PathBuf::from(s))
        } else {
            Location::Parquet(PathBuf::from(s))
        }
    }

    /// A printable form; database URLs lose their password.
    pub fn display(&self) -> String {
        match self {
            Location::Postgres(url) => redact_url_password(url),
            Location::Dump(p) | Location::Parquet(p) => p.display().to_string(),
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return url.to_string() };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => {
            format!("{}{}:***{}", &url[..scheme_end + 3], &authority[..colon], &rest[at..])
        }
        _ => url.to_string(),
    }
}

/// Opens a source.
pub fn open(location: &Location) -> Result<Box<dyn Source>> {
    match location {
        Location::Parquet(dir) => Ok(Box::new(parquet::ParquetSource::open(dir)?)),
        Location::Postgres(url) => Ok(Box::new(postgres::PostgresSource::open(url)?)),
        Location::Dump(_) => Err(Error::Usage(format!(
            "{}: SQL dump sources are not supported by this version of doppel; use a Parquet directory",
            location.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_classified_and_passwords_hidden() {
        assert_eq!(Location::parse("-"), Location::Dump("-".into()));
        assert_eq!(Location::parse("out/x.sql"), Location::Dump("out/x.sql".into()));
        assert_eq!(Location::parse("out/x"), Location::Parquet("out/x".into()));
        let pg = Location::parse("postgresql://app:s3cr3t@db:5432/prod?sslmode=require");
        assert_eq!(pg.display(), "postgresql://app:***@db:5432/prod?sslmode=require");
        assert!(!pg.display().contains("s3cr3t"));
        assert_eq!(redact_url_password("postgres://db/prod"), "postgres://db/prod");
    }
}
