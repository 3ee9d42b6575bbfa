//! [`open`]: a target location, where its schema comes from and the target options → a
//! [`Sink`]. The one place `run` and `generate` turn `--to` into a sink.
//!
//! | `--to`              | schema from                         | sink                                   |
//! |---------------------|-------------------------------------|----------------------------------------|
//! | `postgres://…`      | a PostgreSQL source's snapshot      | a new database, or one replaced        |
//! | `postgres://…`      | a profile's DDL (`generate`)        | a new database, or one replaced        |
//! | `postgres://…`      | the target's existing, empty tables | those tables, loaded in one transaction |
//! | `postgres://…`      | a dump file's DDL and sequences     | a new database, or one replaced        |
//! | `*.sql`, `-`        | a PostgreSQL source's snapshot      | a plain SQL dump                       |
//! | `*.sql`             | a dump file's DDL and sequences     | a plain SQL dump                       |
//! | `-`                 | a dump file's own script            | the script, its table data replaced    |
//! | any other path      | (the batches' own schemas)          | a directory of Parquet files           |
//! | `s3://…` and others | (the batches' own schemas)          | Parquet files under an object-store prefix |
//!
//! Whether a combination of flags makes sense for a target is decided before anything is
//! opened (`cli`'s argument resolution); a combination this table does not have is refused
//! here too, as a usage error naming the target.

use arrow_schema::SchemaRef;

use super::Sink;
use super::parquet::ParquetSink;
use super::postgres::archive::ArchiveSink;
use super::postgres::database::PostgresSink;
use super::postgres::dump::{DumpSink, Prepared};
use super::postgres::existing::ExistingTablesSink;
use super::postgres::filter::FilterSink;
use super::postgres::replace::TargetOptions;
use super::staging::FileTarget;
use crate::error::{Error, Result};
use crate::schema::DumpedSchema;
use crate::source::Location;

/// Where a database or SQL dump target takes its schema from.
#[derive(Debug, Clone, Copy)]
pub enum TargetSchema<'a> {
    /// A PostgreSQL source, read by pg_dump under its exported snapshot.
    Source { url: &'a str, snapshot: &'a str },
    /// pg_dump's pre-data and post-data sections, as a profile keeps them (`generate --profile`).
    Ddl { pre_data: &'a str, post_data: &'a str },
    /// The target's own existing, empty tables: these, by name and columns.
    Existing(&'a [(String, SchemaRef)]),
    /// A dump file's own schema and sequence values (`run --from dump`).
    Dumped(&'a DumpedSchema),
}

/// Everything a sink is opened with besides its location and schema.
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// File targets (Parquet, SQL dump): replace or not, and the run's inputs they must not touch.
    pub files: FileTarget,
    /// Database targets (and a SQL dump's owners and privileges, `role_map`).
    pub database: TargetOptions,
    /// Key-value metadata of every Parquet file.
    pub metadata: Vec<(String, String)>,
    /// Parquet: a table of more rows than this is written as a folder of parts (`generate`).
    pub file_rows: Option<u64>,
    /// SQL dump: the rules' fingerprint, written in its header.
    pub rules_fingerprint: String,
    /// SQL dump: a custom-format archive (`--format custom`) instead of a plain script.
    pub archive: bool,
    /// SQL dump: psql's `\restrict` key ([`super::postgres::dump::restrict_key`]).
    pub restrict_key: String,
}

/// Opens the sink for `location`, with its schema from `schema`.
pub fn open(location: &Location, schema: TargetSchema, options: &SinkOptions) -> Result<Box<dyn Sink>> {
    Ok(match (location, schema) {
        (Location::Parquet(dir), _) => {
            let sink = ParquetSink::create(dir, &options.files, options.metadata.clone())?;
            match options.file_rows {
                Some(rows) => Box::new(sink.split_files(rows)),
                None => Box::new(sink),
            }
        }
        #[cfg(feature = "object-store")]
        (Location::Store(url), _) => Box::new(super::object_store::StoreSink::create(
            url,
            &options.files,
            options.metadata.clone(),
            options.file_rows,
        )?),
        #[cfg(not(feature = "object-store"))]
        (Location::Store(url), _) => return Err(crate::store::not_built(url)),
        (Location::Postgres(url), TargetSchema::Source { url: source_url, snapshot }) => {
            Box::new(PostgresSink::create_with(url, source_url, snapshot, &options.database)?)
        }
        (Location::Postgres(url), TargetSchema::Ddl { pre_data, post_data }) => {
            Box::new(PostgresSink::create_from_ddl(url, pre_data, post_data, &options.database)?)
        }
        (Location::Postgres(url), TargetSchema::Existing(tables)) => Box::new(ExistingTablesSink::open(url, tables)?),
        (Location::Postgres(url), TargetSchema::Dumped(dumped)) => {
            Box::new(PostgresSink::create_from_dump(url, dumped, &options.database)?)
        }
        (Location::Dump(path), TargetSchema::Dumped(dumped)) if path.as_os_str() == "-" => {
            Box::new(FilterSink::create(dumped, &options.rules_fingerprint, &options.database.role_map)?)
        }
        (Location::Dump(path), TargetSchema::Source { url: source_url, snapshot }) => {
            let prepared = Prepared::from_source(
                path,
                &options.files,
                source_url,
                snapshot,
                &options.restrict_key,
                &options.database.role_map,
            )?;
            dump_sink(path, prepared, options)?
        }
        (Location::Dump(path), TargetSchema::Dumped(dumped)) => {
            let prepared =
                Prepared::from_dump(path, &options.files, dumped, &options.restrict_key, &options.database.role_map)?;
            dump_sink(path, prepared, options)?
        }
        (Location::Dump(_), _) => {
            return Err(Error::Usage(format!(
                "{}: a SQL dump target takes its schema from a PostgreSQL source or a dump file",
                location.display()
            )));
        }
    })
}

/// A SQL dump target: a plain script, or a custom-format archive with `options.archive`.
fn dump_sink(path: &std::path::Path, prepared: Prepared, options: &SinkOptions) -> Result<Box<dyn Sink>> {
    Ok(match options.archive {
        true => Box::new(ArchiveSink::create(path, &options.files, prepared, &options.rules_fingerprint)?),
        false => Box::new(DumpSink::create(path, &options.files, prepared, &options.rules_fingerprint)?),
    })
}
