//! Sources: where rows come from. Each yields its tables' schemas and a stream of Arrow
//! `RecordBatch`es per table.
//!
//! | location                          | source                           |
//! |-----------------------------------|----------------------------------|
//! | `postgres://…`, `postgresql://…`, `host=… dbname=…`, `service=…` | PostgreSQL ([`postgres`]) |
//! | `-`, a file, a directory with `toc.dat` | a pg_dump output in any format ([`dump`]) |
//! | any other path                    | a directory of Parquet files ([`parquet`]) |
//! | `s3://…`, `gs://…`, `az://…`      | Parquet files under an object-store prefix ([`crate::store`]) |
//!
//! [`Location::parse_source`] reads `--from` (a file is a dump whatever its name);
//! [`Location::parse`] reads `--to` (`*.sql` and `-` are SQL dump targets). A `file://` URL
//! is the local path it names.

pub mod dump;
pub mod parquet;
pub mod postgres;
pub mod zero_columns;

use std::path::PathBuf;

use crate::error::Result;
use crate::pg::raw_copy::{RawChunk, RawRequest};
use crate::pg::url::redact_url_password;
use crate::schema::SourceTable;
use crate::store::StoreUrl;
use arrow_array::RecordBatch;

/// A stream of batches of one table.
pub type BatchStream = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// A stream of raw COPY data of one table, in chunks of whole rows.
pub type RawStream = Box<dyn Iterator<Item = Result<RawChunk>> + Send>;

pub trait Source: Send + Sync {
    /// Tables in name order.
    fn tables(&self) -> &[SourceTable];
    /// Streams one table in batches of at most `batch_rows` rows, in a stable row order.
    fn read(&self, table: &str, batch_rows: usize) -> Result<BatchStream>;
    /// [`Source::read`] for a reader that needs only the values of `columns` (indexes), such
    /// as `unique`'s pass 1: the other columns may come back all NULL (their fields then
    /// nullable), which spares decoding them. The same rows in the same order as `read`.
    fn read_columns(&self, table: &str, _columns: &[usize], batch_rows: usize) -> Result<BatchStream> {
        self.read(table, batch_rows)
    }
    /// The rows of `table` as raw COPY data in the form `request` asks (its columns, in its
    /// format), for a table copied unchanged ([`crate::pg::raw_copy`]); `None` when this
    /// source cannot produce it, and the table is then read with [`Source::read`].
    fn read_raw(&self, _table: &str, _request: &RawRequest) -> Result<Option<RawStream>> {
        Ok(None)
    }
    /// [`Source::read`] with the columns at `carried` (indexes) not decoded: each comes as the
    /// bytes of its fields in raw COPY data of `request.format` ([`crate::pg::carried`]), for a
    /// sink that writes them back as they are (`request.columns` is not used). `None` when this
    /// source cannot, and the table is then read with [`Source::read`].
    fn read_carrying(
        &self,
        _table: &str,
        _carried: &[usize],
        _request: &RawRequest,
        _batch_rows: usize,
    ) -> Result<Option<BatchStream>> {
        Ok(None)
    }
    /// How many rows [`Source::read`] of `table` is expected to give, for progress: exact,
    /// estimated, or unknown (`None`).
    fn expected_rows(&self, _table: &str) -> Option<crate::progress::Total> {
        None
    }
    /// Whether the source's database accepts `text` as a value of the PostgreSQL type
    /// `pg_type` (as its catalog spells it); `None` when there is no database to ask.
    fn accepts_text(&self, _pg_type: &str, _text: &str) -> Result<Option<bool>> {
        Ok(None)
    }
}

/// What a `--from` / `--to` argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Postgres(String),
    Dump(PathBuf),
    Parquet(PathBuf),
    /// Parquet files under an object-store prefix.
    Store(StoreUrl),
}

impl Location {
    pub fn parse(s: &str) -> Location {
        if let Some(url) = StoreUrl::parse(s) {
            return Location::Store(url);
        }
        if let Some(path) = crate::store::file_url_path(s) {
            return Location::parse_path(path);
        }
        if crate::pg::url::is_connection(s) {
            Location::Postgres(s.to_string())
        } else if s == "-" || s.ends_with(".sql") {
            Location::Dump(PathBuf::from(s))
        } else {
            Location::Parquet(PathBuf::from(s))
        }
    }

    /// A local path: `*.sql` a SQL dump, anything else Parquet.
    fn parse_path(path: PathBuf) -> Location {
        match path.extension() {
            Some(e) if e == "sql" => Location::Dump(path),
            _ => Location::Parquet(path),
        }
    }

    /// `--from`: `-`, a file, or a directory holding pg_dump's `toc.dat` is a dump (its format
    /// is read from its content); another directory is Parquet; `*.sql` that does not exist is
    /// a dump (and fails to open as one).
    pub fn parse_source(s: &str) -> Location {
        match Location::parse(s) {
            Location::Parquet(p) if p.is_file() || p.join("toc.dat").is_file() => Location::Dump(p),
            other => other,
        }
    }

    /// A printable form; database URLs lose their password.
    pub fn display(&self) -> String {
        match self {
            Location::Postgres(url) => redact_url_password(url),
            Location::Dump(p) | Location::Parquet(p) => p.display().to_string(),
            Location::Store(url) => url.to_string(),
        }
    }
}

/// Opens a source.
pub fn open(location: &Location) -> Result<Box<dyn Source>> {
    match location {
        Location::Parquet(dir) => Ok(Box::new(parquet::ParquetSource::open(dir)?)),
        Location::Postgres(url) => Ok(Box::new(postgres::PostgresSource::open(url)?)),
        Location::Dump(path) => Ok(Box::new(dump::DumpSource::open(path)?)),
        #[cfg(feature = "object-store")]
        Location::Store(url) => Ok(Box::new(parquet::ParquetSource::open_store(url)?)),
        #[cfg(not(feature = "object-store"))]
        Location::Store(url) => Err(crate::store::not_built(url)),
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
        let kv = Location::parse("host=db dbname=prod password='s3 cr3t'");
        assert_eq!(kv.display(), "host=db dbname=prod password=***");
        assert_eq!(Location::parse("service=prod"), Location::Postgres("service=prod".into()));
        assert_eq!(Location::parse("data/year=2024"), Location::Parquet("data/year=2024".into()));
        assert_eq!(Location::parse("file:///tmp/out"), Location::Parquet("/tmp/out".into()));
        assert_eq!(Location::parse("file:///tmp/out.sql"), Location::Dump("/tmp/out.sql".into()));
        let s3 = Location::parse("s3://key:secret@bucket/data");
        assert!(matches!(&s3, Location::Store(url) if url.prefix == "data"));
        assert_eq!(s3.display(), "s3://bucket/data");
    }
}
