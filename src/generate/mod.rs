//! Synthetic datasets: the shape of a database from its statistics (`doppel profile`), and
//! any number of rows that follow it (`doppel generate`), without copying a row.
//!
//! ```text
//! PostgreSQL catalog + pg_stats ──stats──▶ Profile (TOML, no personal values)
//!                                             │
//! rules + key + seed + scale ──model──▶ per table: rows, per column a value model
//!                                             │  row i of table t is a pure function of
//!                                             ▼  (key, seed, t, i): shards need no parent rows
//!                                   values ──▶ COPY text rows ──RowDecoder──▶ RecordBatch ──▶ sink
//! ```
//!
//! | module       | what it does                                                           |
//! |--------------|------------------------------------------------------------------------|
//! | [`profile`]  | the profile file: serde model, TOML, the no-personal-values check       |
//! | [`stats`]    | reading a profile from PostgreSQL under one snapshot                    |
//! | [`checks`]   | simple CHECK ranges and enumerations the values are folded into         |
//! | [`model`]    | the plan of a generation: row counts, keys, foreign keys, fit checks    |
//! | [`values`]   | per column value generators driven by the statistics                    |
//! | [`rows`]     | rows → Arrow batches, in parallel, for one table's range of rows        |
//! | [`report`]   | the generated data against the profile, for the audit report's page     |

pub mod checks;
pub mod model;
pub mod profile;
pub mod report;
pub mod rows;
pub mod stats;
pub mod values;
