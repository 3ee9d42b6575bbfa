//! doppel: a production-shaped, anonymised double of a dataset.
//!
//! ```text
//! source ──RecordBatch──▶ transform ──RecordBatch──▶ sink
//!   ▲                        ▲                          ▲
//! schema ──▶ plan (rules bound to real columns and types; fail-closed) ──┘
//! ```
//!
//! Module map:
//!
//! - [`rules`]: the TOML rules model and loading, with every structural problem reported at once.
//! - [`schema`]: the table, column and key descriptions every layer shares (`SourceTable`,
//!   `ForeignKey`, the `pg.*` field-metadata keys).
//! - [`plan`]: binding rules to a source schema (fail-closed), templates, `--explain`.
//! - [`transform`]: the pure, parallel `(plan, batch) -> batch`; one file per strategy.
//! - [`source`]: where rows come from (PostgreSQL under one snapshot, Parquet directories).
//! - [`sink`]: where rows go (Parquet directories atomically; PostgreSQL databases, new or
//!   replaced by an atomic swap).
//! - [`pg`]: the PostgreSQL toolkit both sides share: connecting (URL, PG* environment,
//!   pgpass, TLS), catalog and types, COPY codecs, quoting, pg_dump/psql, error wording by
//!   SQLSTATE, and the locks and markers of the databases doppel writes.
//! - [`table_files`]: table names as file names in a Parquet directory (encoded, never a path).
//! - [`subset`]: referentially complete subsets along foreign keys, computed in the snapshot.
//! - [`pipeline`]: reader → transform → writer with bounded channels, several tables at once.
//! - [`audit`]: the run's audit report (`--report`) and its summary on stderr.
//! - [`verify`]: `doppel verify`, checking an output against its source for personal data.
//! - [`scan`]: `doppel scan`, suggested rules from names and a bounded sample of values.
//! - [`branch`]: `doppel branch`, branch databases cloned from a database doppel wrote.
//! - [`generate`]: `doppel profile` and `doppel generate`, synthetic datasets from statistics.
//! - [`secret`]: the key and per-domain subkeys.
//! - [`error`]: typed errors and exit codes; names, never values.
//! - [`cli`]: argument definitions and subcommands.

pub mod audit;
pub mod branch;
pub mod cli;
pub mod error;
pub mod generate;
pub mod pg;
pub mod pipeline;
pub mod plan;
pub mod rules;
pub mod scan;
pub mod schema;
pub mod secret;
pub mod sink;
pub mod source;
pub mod subset;
pub mod table_files;
pub mod transform;
pub mod verify;
