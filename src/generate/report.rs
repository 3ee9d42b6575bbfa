//! A generation as the audit report counts it (`generate --report-html`): per table the rows
//! generated and the utility figures of the generated data against the source the profile
//! describes. The source side comes from the profile's statistics: its rows, null share and
//! distinct count, and for kept columns the distribution its most common values and
//! histogram bounds describe ([`crate::utility::expected`]), drawn over the generated
//! column's bins with a distance (KS for numbers and dates, TV for categories); and the
//! re-identification risk of tables whose rules name `quasi_identifiers`, counted on the
//! generated rows as a run counts its output ([`crate::pipeline::classes`]).

use arrow_array::RecordBatch;

use crate::error::Result;
use crate::generate::model::Dataset;
use crate::generate::profile::{ColumnProfile, Profile, kind_of};
use crate::generate::rows::Shard;
use crate::generate::values::bound_number;
use crate::pg::types::ColumnKind;
use crate::pipeline::TableReport;
use crate::pipeline::classes::ClassCounter;
use crate::plan::TablePlan;
use crate::utility::expected::{Category, Expected};
use crate::utility::{Profile as Side, TableCollector};

/// What watches one generated table's batches for the report: its utility figures, and its
/// equivalence classes on the rules' `quasi_identifiers` (the risk), if it has any.
pub struct Observer {
    pub utility: TableCollector,
    pub classes: Option<ClassCounter>,
}

impl Observer {
    /// For `table` of the plan (its schema is the generated batches').
    pub fn new(table: &TablePlan, options: crate::utility::Options) -> Result<Observer> {
        let classes = match table.quasi_identifiers.is_empty() {
            true => None,
            false => Some(ClassCounter::new(table.quasi_identifiers.clone())?),
        };
        Ok(Observer { utility: TableCollector::for_output(table, options), classes })
    }

    /// Counts one generated batch (on the caller's rayon pool).
    pub fn observe(&mut self, batch: &RecordBatch) -> Result<()> {
        self.utility.observe_output(batch);
        match &mut self.classes {
            Some(classes) => classes.add(batch),
            None => Ok(()),
        }
    }
}

/// The generated tables (of `shard`), in the dataset's order, with one observer per table.
pub fn generated_tables(
    dataset: &Dataset,
    profile: &Profile,
    shard: Shard,
    observers: Vec<Observer>,
) -> Result<Vec<TableReport>> {
    dataset
        .tables
        .iter()
        .zip(observers)
        .map(|(t, Observer { utility: mut collector, classes })| {
            let source = profile.table(&t.name);
            if let Some(source) = source {
                for c in &source.columns {
                    if let Some(expected) = expected(c) {
                        let non_null = (source.rows as f64 * (1.0 - c.null_frac.unwrap_or(0.0)).max(0.0)).round();
                        collector.expect(&c.name, &expected, non_null as u64);
                    }
                }
            }
            let mut utility = collector.finish();
            if let Some(source) = source {
                for c in &mut utility.columns {
                    if let Some(stats) = source.column(&c.column) {
                        statistics(&mut c.before, stats, source.rows);
                    }
                }
            }
            let range = shard.range(t.rows);
            Ok(TableReport {
                table: t.name.clone(),
                action: "generate",
                rows_read: 0,
                rows: range.end - range.start,
                bytes_written: 0,
                seconds: 0.0,
                risk: classes.map(ClassCounter::finish).transpose()?,
                utility: Some(utility),
                fan_out: Vec::new(),
            })
        })
        .collect()
}

/// The source side's counts as the statistics (pg_stats) give them: rows, nulls, distinct
/// values (estimated).
fn statistics(side: &mut Side, stats: &ColumnProfile, rows: u64) {
    side.rows = rows;
    side.nulls = (stats.null_frac.unwrap_or(0.0) * rows as f64).round() as u64;
    side.distinct = match stats.n_distinct {
        Some(n) if n < 0.0 => (-n * rows as f64).round() as u64,
        Some(n) => n.round() as u64,
        None => 0,
    };
    side.distinct_exact = false;
}

/// What the statistics of a kept column say about its values; `None` for a personal column
/// (its profile holds no value) or without statistics.
pub fn expected(c: &ColumnProfile) -> Option<Expected> {
    if c.is_personal() || c.most_common_vals.len() != c.most_common_freqs.len() {
        return None;
    }
    let kind = kind_of(c);
    let shares = || c.most_common_vals.iter().zip(c.most_common_freqs.iter().copied());
    match kind {
        ColumnKind::Bool => {
            let values = shares().filter_map(|(v, f)| Some((Category::Bool(pg_bool(v)?), f))).collect();
            Some(Expected::Categories(values))
        }
        ColumnKind::Text if c.histogram_bounds.len() < 2 && !c.most_common_vals.is_empty() => {
            Some(Expected::Categories(shares().map(|(v, f)| (Category::Text(v.clone()), f)).collect()))
        }
        ColumnKind::Text => None,
        _ => {
            let common: Vec<(f64, f64)> = shares().filter_map(|(v, f)| Some((bound_number(v, kind)?, f))).collect();
            let bounds: Vec<f64> = c.histogram_bounds.iter().filter_map(|b| bound_number(b, kind)).collect();
            if common.len() != c.most_common_vals.len() || bounds.len() != c.histogram_bounds.len() {
                return None; // a value that is no number (infinity, say): no picture rather than a wrong one
            }
            let spread = 1.0 - c.null_frac.unwrap_or(0.0) - common.iter().map(|(_, f)| f).sum::<f64>();
            (!common.is_empty() || bounds.len() >= 2).then_some(Expected::Numbers { common, bounds, spread })
        }
    }
}

/// A boolean in PostgreSQL's text form.
fn pg_bool(v: &str) -> Option<bool> {
    match v {
        "t" | "true" => Some(true),
        "f" | "false" => Some(false),
        _ => None,
    }
}
