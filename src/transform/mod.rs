//! Transform: a pure function `(plan, batch) -> batch`, parallel with rayon, no I/O.
//!
//! ```text
//! Plan ──Transformer::new(plan, key)──▶ TableTransform (one per table)
//! RecordBatch ──TableTransform::apply──▶ RecordBatch  (same schema, same row count)
//! ```
//!
//! Columns are computed in the plan's evaluation order (templates after what they read).
//! Each column is computed in parallel over fixed-size row chunks; every value depends only
//! on (input value, domain key, attempt), so output bytes do not depend on the thread count
//! or batch size. Columns in a domain that has a `unique` column then pass, in row order,
//! through that domain's [`unique::DomainState`], which re-generates colliding values.
//!
//! The strategies themselves (one file or folder each, and the dispatch that applies one to a
//! column) live in [`crate::strategy`]; they are re-exported here under their old paths.

pub mod unique;

pub use crate::strategy::{apply, fake, hash, json, mask, noise, redact, values};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use arrow_array::{ArrayRef, RecordBatch};
use arrow_select::concat::concat;
use rayon::prelude::*;

use crate::error::RowError;
use crate::plan::{Plan, Strategy, TablePlan, fit};
use crate::rules::TableAction;
use crate::secret::{DomainKey, Key};

use apply::{ColumnInput, apply};
use unique::DomainState;

/// Rows per parallel work unit. Fixed, so that work splitting never depends on batch size.
const CHUNK_ROWS: usize = 4096;

/// The run-time form of a plan: domain keys derived, unique state shared per domain.
pub struct Transformer {
    tables: BTreeMap<String, Arc<TableTransform>>,
}

impl Transformer {
    pub fn new(plan: &Plan, key: &Key) -> Transformer {
        let mut states: BTreeMap<String, Arc<Mutex<DomainState>>> = BTreeMap::new();
        for table in &plan.tables {
            for c in table.columns.iter().filter(|c| c.unique) {
                // One case-insensitive unique column makes its whole domain compare folded.
                let folded = plan
                    .tables
                    .iter()
                    .flat_map(|t| &t.columns)
                    .any(|o| o.unique && o.fold_case && o.domain == c.domain);
                states.entry(c.domain.clone()).or_insert_with(|| {
                    Arc::new(Mutex::new(if folded { DomainState::case_insensitive() } else { DomainState::default() }))
                });
            }
        }
        let tables = plan
            .tables
            .iter()
            .filter(|t| t.action == TableAction::Copy)
            .map(|t| (t.name.clone(), Arc::new(TableTransform::new(t, key, &states))))
            .collect();
        Transformer { tables }
    }

    pub fn table(&self, name: &str) -> Option<Arc<TableTransform>> {
        self.tables.get(name).cloned()
    }
}

struct ColumnRuntime {
    index: usize,
    name: String,
    strategy: Strategy,
    key: DomainKey,
    json_keys: Vec<DomainKey>,
    unique: bool,
    state: Option<Arc<Mutex<DomainState>>>,
    /// Declared `varchar(n)` / `char(n)` length the output must fit (see [`crate::plan::fit`]).
    length_limit: Option<usize>,
}

impl ColumnRuntime {
    /// Applies the column's strategy to rows `start..start + n` of `input`, with `columns`
    /// (the batch's current columns) for templates.
    fn apply_rows(
        &self,
        input: &ArrayRef,
        columns: &[ArrayRef],
        start: usize,
        n: usize,
        attempt: u32,
    ) -> Result<ArrayRef, apply::CellError> {
        let sliced_input = input.slice(start, n);
        let sliced: Vec<ArrayRef> = columns.iter().map(|a| a.slice(start, n)).collect();
        apply(&ColumnInput {
            strategy: &self.strategy,
            key: &self.key,
            input: &sliced_input,
            columns: &sliced,
            json_keys: &self.json_keys,
            attempt,
        })
    }
}

/// The transform of one table.
pub struct TableTransform {
    table: String,
    columns: Vec<ColumnRuntime>,
}

impl TableTransform {
    fn new(plan: &TablePlan, key: &Key, states: &BTreeMap<String, Arc<Mutex<DomainState>>>) -> TableTransform {
        let columns = plan
            .eval_order
            .iter()
            .map(|&i| &plan.columns[i])
            .filter(|c| !matches!(c.strategy, Strategy::Keep))
            .map(|c| ColumnRuntime {
                index: c.index,
                name: c.name.clone(),
                strategy: c.strategy.clone(),
                key: key.domain(&c.domain),
                json_keys: match &c.strategy {
                    Strategy::Json(paths) => paths.0.iter().map(|p| key.domain(&p.domain)).collect(),
                    _ => Vec::new(),
                },
                unique: c.unique,
                state: states.get(&c.domain).cloned(),
                length_limit: c.length_limit,
            })
            .collect();
        TableTransform { table: plan.name.clone(), columns }
    }

    /// Transforms one batch. `first_row` is the 0-based index of the batch's first row in
    /// the table, used to report 1-based row numbers in errors.
    pub fn apply(&self, batch: &RecordBatch, first_row: u64) -> Result<RecordBatch, RowError> {
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        let inputs: Vec<ArrayRef> = batch.columns().to_vec();
        let len = batch.num_rows();
        for c in &self.columns {
            let row_error = |row: usize, reason: String| RowError {
                table: self.table.clone(),
                column: c.name.clone(),
                row: first_row + row as u64 + 1,
                reason,
            };
            let input = &inputs[c.index];
            let starts: Vec<usize> = (0..len).step_by(CHUNK_ROWS).collect();
            let parts: Vec<ArrayRef> = starts
                .par_iter()
                .map(|&start| {
                    let n = CHUNK_ROWS.min(len - start);
                    c.apply_rows(input, &columns, start, n, 0).map_err(|(row, reason)| row_error(start + row, reason))
                })
                .collect::<Result<_, _>>()?;
            let mut output = match parts.len() {
                0 => input.slice(0, 0),
                1 => parts.into_iter().next().unwrap_or_else(|| input.slice(0, 0)),
                _ => {
                    let refs: Vec<&dyn arrow_array::Array> = parts.iter().map(|a| a.as_ref()).collect();
                    concat(&refs).map_err(|e| row_error(0, e.to_string()))?
                }
            };
            if let Some(state) = &c.state {
                let mut state = state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let attempt0 = output.clone();
                let regenerate = |row: usize, attempt: u32| {
                    // Text values are re-generated without building arrays for the row.
                    if let Some(text) = apply::regenerate_text(&c.strategy, &c.key, input, &attempt0, row, attempt) {
                        let text = text?;
                        return Ok(match input.data_type() {
                            arrow_schema::DataType::LargeUtf8 => {
                                Arc::new(arrow_array::LargeStringArray::from(vec![text])) as ArrayRef
                            }
                            _ => Arc::new(arrow_array::StringArray::from(vec![text])) as ArrayRef,
                        });
                    }
                    c.apply_rows(input, &columns, row, 1, attempt).map_err(|(_, reason)| reason)
                };
                output = state
                    .resolve(input, output, c.unique, regenerate)
                    .map_err(|(row, reason)| row_error(row, reason))?;
            }
            // Generated text is never cut: a value longer than the column allows stops the run
            // (a last line of defence: `check` refuses every rule whose values may not fit).
            if let Some(limit) = c.length_limit
                && let Some((row, length)) = fit::first_too_long(&output, limit)
            {
                return Err(row_error(row, fit::too_long_at_run_time(length, limit)));
            }
            columns[c.index] = output;
        }
        // The row count is kept explicitly: a table without columns still has rows.
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        RecordBatch::try_new_with_options(batch.schema(), columns, &options).map_err(|e| RowError {
            table: self.table.clone(),
            column: String::new(),
            row: first_row + 1,
            reason: format!("cannot assemble the output batch: {e}"),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests;
