//! The `utility` section of the audit report: how much of the data's usefulness survived
//! the rules, per column (a profile of the source values and of the output values, and a
//! distance between them) and per pair of kept or noised numeric columns (their correlation
//! before and after). Computed in the run's one pass over the data, batch by batch beside
//! the transform, in bounded memory; only when a report is asked for.
//!
//! ```text
//! source batch ─┬─ transform ─▶ output batch ─▶ sink
//!               └──────────────┬─┘
//!               TableCollector::observe (per column, on the run's thread pool)
//!               ──finish──▶ Utility (serialised into the report; read back by the page)
//! ```
//!
//! What a profile may hold: counts, shapes (histograms of numbers and dates, of text
//! lengths) and, only for kept columns, the values that occur at least `min_count` times.
//! Nothing of a transformed column's values: its categories are counted by hash, in memory,
//! for the distance alone.
//!
//! - [`bins`]: histograms over shared bins that grow as values stream, and the KS distance.
//! - [`distinct`]: distinct counts, exact up to a cap, then HyperLogLog.
//! - [`collect`]: the per-table collector the pipeline feeds.
//! - [`expected`]: `generate`'s source side, from the profile's statistics.
//! - [`fan_out`]: children per parent of each foreign key, before and after.

pub mod bins;
mod collect;
pub mod distinct;
pub mod expected;
pub mod fan_out;

use serde::{Deserialize, Serialize};

pub use collect::TableCollector;
pub use expected::Expected;

/// The smallest number of rows a value of a kept column needs to be named in the report.
pub const DEFAULT_MIN_COUNT: u64 = 10;

/// What the collectors are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// See [`DEFAULT_MIN_COUNT`].
    pub min_count: u64,
}

/// One table's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Utility {
    pub columns: Vec<ColumnUtility>,
    /// Pairs of kept or noised numeric (or date) columns, at least one of them noised.
    #[serde(default)]
    pub correlations: Vec<Correlation>,
    /// Children per parent of each of the table's foreign keys (a PostgreSQL source's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fan_out: Vec<fan_out::FanOut>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnUtility {
    pub column: String,
    pub kind: Kind,
    /// The column is transformed (its rule is not `keep`): its profiles show only shape.
    pub personal: bool,
    pub before: Profile,
    pub after: Profile,
    pub distance: Option<Distance>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Numeric,
    /// Dates (in days since 1970-01-01) and timestamps (in seconds since then).
    Temporal,
    /// Booleans, and text with few distinct values.
    Categorical,
    Text,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub rows: u64,
    pub nulls: u64,
    pub distinct: u64,
    /// False when `distinct` is an estimate (HyperLogLog, about 1.6% standard error).
    pub distinct_exact: bool,
    pub histogram: Option<Histogram>,
    /// Values of a kept column that occur at least `min_count` times, most frequent first.
    pub categories: Option<Vec<Category>>,
    /// Non-null rows whose value is not in `categories`.
    pub other: u64,
    /// Text lengths, in characters.
    pub length: Option<Histogram>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    pub value: String,
    pub count: u64,
}

/// Counts over bins: `counts[i]` values in `[edges[i], edges[i + 1])`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Distance {
    pub metric: Metric,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Kolmogorov–Smirnov: the largest gap between the cumulative distributions (0 to 1).
    Ks,
    /// Total variation: half the summed differences of the category shares (0 to 1).
    Tv,
}

/// Pearson correlation of two columns over the rows where both have a finite value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    pub columns: [String; 2],
    pub before: Option<f64>,
    pub after: Option<f64>,
}
