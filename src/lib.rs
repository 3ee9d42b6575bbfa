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
//! - [`type_kind`]: the kind of a column's PostgreSQL type (`pg.kind`, enum labels, domain
//!   flags) that decides which strategies can write valid values of it.
//! - [`plan`]: binding rules to a source schema (fail-closed), templates, `--explain`.
//! - [`strategy`]: what each rule does: one file or folder per strategy (options, binding,
//!   checks, description, apply), registered in one table in `strategy/mod.rs`, with the
//!   generic fit checks against declared lengths and the helpers that apply a strategy.
//! - [`transform`]: the pure, parallel `(plan, batch) -> batch` engine.
//! - [`detect`]: personal-data detectors (email, phone, IBAN, card, IP, names) and their
//!   checksums (Luhn, mod-97), shared by `redact`, `fake`, `scan` and `verify`.
//! - [`source`]: where rows come from (PostgreSQL under one snapshot, Parquet directories).
//! - [`sink`]: where rows go (Parquet directories atomically; PostgreSQL databases, new or
//!   replaced by an atomic swap).
//! - [`pg`]: the PostgreSQL toolkit both sides share: connecting (URL, PG* environment,
//!   pgpass, TLS), catalog and types, COPY codecs, quoting, pg_dump/psql, error wording by
//!   SQLSTATE, and the locks and markers of the databases doppel writes.
//! - [`store`]: object-store locations (`s3://`, `gs://`, `az://`) for Parquet sources and
//!   targets, and (feature `object-store`) the client that reads and writes them.
//! - [`table_files`]: table names as file names in a Parquet directory (encoded, never a path).
//! - [`subset`]: referentially complete subsets along foreign keys, computed in the snapshot.
//! - [`pipeline`]: reader → transform → writer with bounded channels, several tables at once;
//!   before them, `unique`'s pass over the tables with a unique column; beside the writer, the
//!   count of each output's equivalence classes on its quasi-identifiers (with `--report`).
//! - [`progress`]: what stderr shows while commands work: a bar per table on a terminal,
//!   periodic log lines otherwise, nothing but errors with `--quiet`.
//! - [`audit`]: the run's audit report (`--report`, with each table's re-identification risk)
//!   and its summary on stderr.
//! - [`utility`]: the report's utility figures (profiles before and after, distances,
//!   correlations), collected beside the transform in bounded memory.
//! - [`report_html`]: the assessment page (`--report-html`, `doppel report`): one
//!   self-contained HTML file drawn from the audit report.
//! - [`verify`]: `doppel verify`, checking an output against its source for personal data.
//! - [`scan`]: `doppel scan`, suggested rules from names and a bounded sample of values.
//! - [`branch`]: `doppel branch`, branch databases cloned from a database doppel wrote.
//! - [`generate`]: `doppel profile` and `doppel generate`, synthetic datasets from statistics.
//! - [`secret`]: the key and per-domain subkeys.
//! - [`error`]: typed errors and exit codes; names, never values.
//! - [`cli`]: argument definitions and subcommands.
//!
//! Layers only call downwards (each one below calls the ones above it):
//!
//! ```text
//! strategy (each strategy's options, binding, checks, description, apply)
//!   ▲ rules (the TOML files; column rules decode into strategy::ColumnRule)
//!   ▲ plan (binds rules to a schema) ▲ transform (the engine)
//!   ▲ pipeline / capabilities ▲ cli
//! detect (personal-data detectors, checksums) sits under strategy, scan and verify.
//! ```
//!
//! Adding a strategy, step by step (a strategy is one file or folder, whole; the compiler
//! points at each registration line, since the two `match`es there are exhaustive):
//!
//! 1. `src/strategy/<name>.rs` (or `src/strategy/<name>/` for a larger one), holding:
//!    - the rule options, a serde struct with `#[serde(deny_unknown_fields)]` (its doc
//!      comments are the user docs), implementing [`strategy::RuleOptions`]: `action`, and
//!      `bind`, which checks the options against the column ([`strategy::BindContext`]: the
//!      Arrow field with its `pg.type` metadata, the table's schema, the default domain) and
//!      returns the bound [`strategy::Strategy`]. Override `bind_in_json` if the rule binds
//!      differently inside `json` paths (or is refused there);
//!    - the bound spec, implementing [`strategy::Behaviour`]: `action`, `describe` (one line
//!      for `check --explain`, never data), `apply` (one array; share
//!      [`strategy::apply::map_text`] for text), and where they apply `keyed` (false when
//!      the domain key plays no part), `fit` (how long its values can be against a declared
//!      `varchar(n)`; the default checks every value at run time, and its arm in
//!      `strategy::fit::output_longest` says how long a value is as a `template` reads it),
//!      `check_changes` (refuse options that leave every value unchanged), `text_value` (one
//!      text value: text columns and JSON strings), `regenerate_text` (a new value for a
//!      `unique` collision);
//!    - its unit tests.
//! 2. The registry in `src/strategy/mod.rs` (nowhere else): `pub mod <name>;`, a
//!    [`strategy::ColumnRule`] variant holding the options and a [`strategy::Strategy`]
//!    variant holding the bound spec, one arm in each of `ColumnRule::options` and
//!    `Strategy::behaviour`, the name in [`strategy::ACTIONS`], and a row in the module table.
//! 3. Which PostgreSQL types it can write valid values of, when they travel as text: its row
//!    in `src/strategy/pg_types.rs` (the one table `check` refuses other pairings by), a
//!    column in the type matrix test (`tests/it/pg/type_matrix.rs`) and in docs/rules.md's
//!    per-type table.
//! 4. Tests in `src/transform/tests.rs` pinning its output, and an example in `rules/`.
//!
//! Nothing else changes: binding (`plan/bind.rs`), the fit and change checks, `--explain`,
//! the engine, `profile` and `verify` reach the strategy through the two traits. A few
//! places match one variant on purpose, for what only that strategy means: `keep` (a
//! column is personal unless kept; the engine skips it) and `null` (`subset`, `generate`),
//! templates' evaluation order (`plan/bind.rs`), integer hash widths per domain
//! (`plan/mod.rs`), the JSON paths' keys (`transform/mod.rs`) and JSON value types
//! (`strategy/json.rs`), free text in `redact` and `json` for `verify`
//! (`verify/collect.rs`), and `fake` generators for `profile` and `generate`.
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
pub mod progress;
pub mod report_html;
pub mod rules;
pub mod scan;
pub mod schema;
pub mod secret;
pub mod sink;
pub mod source;
pub mod store;
pub mod strategy;
pub mod subset;
pub mod table_files;
pub mod transform;
pub mod type_kind;
pub mod utility;
pub mod verify;
