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
//! - [`plan`]: binding rules to a source schema (fail-closed), templates, `--explain`.
//! - [`strategy`]: what each rule does once checked: one file or folder per strategy, the
//!   fit checks against declared lengths, and the dispatch that applies a strategy to a column.
//! - [`transform`]: the pure, parallel `(plan, batch) -> batch` engine.
//! - [`detect`]: personal-data detectors (email, phone, IBAN, card, IP, names) and their
//!   checksums (Luhn, mod-97), shared by `redact`, `fake`, `scan` and `verify`.
//! - [`source`]: where rows come from (PostgreSQL under one snapshot, Parquet directories).
//! - [`sink`]: where rows go (Parquet directories atomically; PostgreSQL databases, new or
//!   replaced by an atomic swap).
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
pub mod detect;
pub mod error;
pub mod generate;
pub mod pipeline;
pub mod plan;
pub mod rules;
pub mod scan;
pub mod secret;
pub mod sink;
pub mod source;
pub mod strategy;
pub mod subset;
pub mod table_files;
pub mod transform;
pub mod verify;
