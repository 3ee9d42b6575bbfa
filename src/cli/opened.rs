//! A run's opened source with what it offers beyond rows, as named capabilities: a
//! PostgreSQL source's exported snapshot (a target's schema is restored under it) and the
//! source's identity for the audit report (`--report`).
//!
//! ```text
//! PostgresSource ──(subset applied)──▶ OpenedSource::postgres ─┬─ source()    rows
//! Parquet files, dump files ──────────▶ OpenedSource::open ────┼─ snapshot()  TargetSchema::Source or
//!                                                              │              ::Dumped, if any
//!                                                              └─ identity()  for the report
//! ```

use crate::audit::{Identity, identity};
use crate::error::{Error, Result};
use crate::schema::DumpedSchema;
use crate::sink::TargetSchema;
use crate::source::dump::DumpSource;
use crate::source::postgres::PostgresSource;
use crate::source::{self, Location, Source};

/// An opened source, its snapshot (PostgreSQL) and its identity (for the report).
pub struct OpenedSource {
    source: Box<dyn Source>,
    /// The source's URL and exported snapshot.
    snapshot: Option<(String, String)>,
    /// A dump file's schema, for the targets that rebuild it.
    dumped: Option<DumpedSchema>,
    identity: Option<Identity>,
}

impl OpenedSource {
    /// A PostgreSQL source opened from `url`: its snapshot and identity come with it.
    pub fn postgres(source: PostgresSource, url: &str) -> OpenedSource {
        let snapshot = source.snapshot().to_string();
        let identity = Identity::Postgres {
            location: source.location().to_string(),
            database: source.database().to_string(),
            server_version: Some(version_text(source.server_version_num())),
            snapshot: Some(snapshot.clone()),
            snapshot_taken_at: Some(source.snapshot_taken_at().to_string()),
        };
        OpenedSource {
            source: Box::new(source),
            snapshot: Some((url.to_string(), snapshot)),
            dumped: None,
            identity: Some(identity),
        }
    }

    /// Any other source, without a snapshot. With `identify`, a Parquet directory's files are
    /// hashed for the report before they are read.
    pub fn open(from: &Location, identify: bool) -> Result<OpenedSource> {
        let identity = match from {
            Location::Parquet(dir) if identify => {
                let files = identity::parquet_files(dir).map_err(|e| as_source(e, from))?;
                Some(Identity::Parquet { path: from.display(), files })
            }
            Location::Store(url) if identify => {
                let files = identity::store_files(url).map_err(|e| as_source(e, from))?;
                Some(Identity::Parquet { path: from.display(), files })
            }
            _ => None,
        };
        if let Location::Dump(path) = from {
            // A dump file is hashed for the report (stdin and directory dumps are named only).
            let file = match path.file_name() {
                Some(name) if identify && path.is_file() => Some(
                    identity::hash_file(path, name.to_string_lossy().into_owned()).map_err(|e| as_source(e, from))?,
                ),
                _ => None,
            };
            let identity = Some(Identity::SqlDump { path: from.display(), file });
            let dump = DumpSource::open(path)?;
            let dumped = Some(dump.dumped_schema());
            return Ok(OpenedSource { source: Box::new(dump), snapshot: None, dumped, identity });
        }
        Ok(OpenedSource { source: source::open(from)?, snapshot: None, dumped: None, identity })
    }

    /// The rows.
    pub fn source(&self) -> &dyn Source {
        self.source.as_ref()
    }

    /// Where a database or SQL dump target restores its schema from: the source's snapshot,
    /// or a dump file's own schema, if the source has one.
    pub fn snapshot(&self) -> Option<TargetSchema<'_>> {
        match (&self.snapshot, &self.dumped) {
            (Some((url, snapshot)), _) => Some(TargetSchema::Source { url, snapshot }),
            (None, Some(dumped)) => Some(TargetSchema::Dumped(dumped)),
            (None, None) => None,
        }
    }

    /// The source as the report names it (`from` shown when nothing was identified).
    pub fn identity(&self, from: &Location) -> Identity {
        self.identity.clone().unwrap_or(Identity::Parquet { path: from.display(), files: Vec::new() })
    }
}

/// `150018` → `15.18`; `90624` → `9.6.24`.
fn version_text(num: i32) -> String {
    if num >= 100_000 {
        format!("{}.{}", num / 10_000, num % 10_000)
    } else {
        format!("{}.{}.{}", num / 10_000, num / 100 % 100, num % 100)
    }
}

/// A failure to hash the input is the source's.
fn as_source(e: Error, from: &Location) -> Error {
    match e {
        Error::Target { message, .. } => Error::source(from.display(), message),
        other => other,
    }
}
