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
//! - [`strategy`]: what each rule does once checked: one file or folder per strategy, the
//!   fit checks against declared lengths, and the dispatch that applies a strategy to a column.
//! - [`transform`]: the pure, parallel `(plan, batch) -> batch` engine.
//! - [`detect`]: personal-data detectors (email, phone, IBAN, card, IP, names) and their
//!   checksums (Luhn, mod-97), shared by `redact`, `fake`, `scan` and `verify`.
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
//!
//! Layers only call downwards:
//!
//! ```text
//! rules (TOML model) ──▶ strategy (specs, option binding, fit checks, apply) ──▶ plan (binds
//! rules to a schema) ──▶ transform (the engine) ──▶ pipeline / capabilities ──▶ cli
//! detect (personal-data detectors, checksums) sits under strategy, scan and verify.
//! ```
//!
//! Adding a strategy, step by step (the dispatch is still spread over a few `match`es on
//! `ColumnRule` and `Strategy`; most are exhaustive, so the compiler points at each):
//!
//! 1. [`rules::model`]: a `ColumnRule` variant with its options (doc comments are the user
//!    docs) and its arm in `ColumnRule::action_name`.
//! 2. `src/strategy/<name>.rs` (or a folder): the validated spec, a `bind` that checks the
//!    options against the column type (see [`strategy::noise`], [`strategy::redact`]), the
//!    function that computes the values, and `pub mod <name>;` in [`strategy`].
//! 3. [`strategy::Strategy`]: a variant holding the spec, and its arm in `describe`.
//! 4. `plan/bind.rs` (`bind_rule`, and `bind_json_path` if it works inside JSON): one arm
//!    calling `<name>::bind`.
//! 5. [`strategy::apply`]: one arm calling the strategy; [`strategy::fit`]: how long its
//!    values can be (text columns with a declared length).
//! 6. `plan/changes.rs` (can it leave a value unchanged?), `plan/explain.rs`,
//!    `generate/stats.rs` and `verify/collect.rs`: their arms, where the compiler asks.
//! 7. Tests in `src/transform/tests.rs` pinning its output, and an example in `rules/`.
//!
//! Adding a source (say, object storage):
//!
//! 1. A [`source::Location`] variant and its arm in `Location::parse` / `display`.
//! 2. `src/source/<name>.rs`: a type implementing [`source::Source`] — `tables()` describes
//!    every table as a [`schema::SourceTable`] (Arrow schema with the `pg.*` metadata when the
//!    PostgreSQL type is known), `read()` streams Arrow batches of a table.
//! 3. Its arm in [`source::open`]; if it has capabilities beyond reading (a snapshot a
//!    PostgreSQL target can restore the schema from, an identity for the report), give them
//!    to `cli::opened::OpenedSource`.
//! 4. Errors name the file or table ([`error::Error::source`]), never a value.
//!
//! Adding a sink:
//!
//! 1. A [`source::Location`] variant if the target is a new kind of place.
//! 2. `src/sink/<name>.rs`: a type implementing [`sink::Sink`] (`open_table` returns a
//!    [`sink::TableSink`] that takes batches; `commit` publishes everything at once, and a sink
//!    dropped without `commit` publishes nothing). File targets stage beside the target with
//!    [`sink::staging`]; a PostgreSQL-side sink uses [`pg`] for connecting and wording errors.
//! 3. Its arm in [`sink::open`], with any options in `sink::SinkOptions`; flag combinations it
//!    cannot take are refused in `cli::config` before anything is opened.
//! 4. Tests in `tests/it/`, including a killed run that must leave the previous output intact.

pub mod audit;
pub mod branch;
pub mod cli;
pub mod detect;
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
pub mod strategy;
pub mod subset;
pub mod table_files;
pub mod transform;
pub mod verify;
