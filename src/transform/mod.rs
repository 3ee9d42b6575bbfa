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
//! or batch size. Columns in a domain that has a `unique` column then pass through that
//! domain's [`unique::DomainState`], which tags or redraws the values of inputs that lost
//! their value to a lower-ranked input; the pipeline resolves those before the run
//! ([`Transformer::unique_tables`], [`TableTransform::collect_unique`]).
//!
//! The strategies themselves (one file or folder each, and the dispatch that applies one to a
//! column) live in [`crate::strategy`]; they are re-exported here under their old paths.

pub mod unique;

pub use crate::strategy::{apply, fake, hash, json, mask, noise, redact, values};

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_select::concat::concat;
use rayon::prelude::*;

use crate::error::RowError;
use crate::plan::{Plan, Strategy, TablePlan, fit};
use crate::rules::TableAction;
use crate::secret::{DomainKey, Key};

use apply::{ColumnInput, apply};
use unique::{DomainState, Family, RowAt};

/// Rows per parallel work unit. Fixed, so that work splitting never depends on batch size.
const CHUNK_ROWS: usize = 4096;

/// The run-time form of a plan: domain keys derived, unique state shared per domain.
pub struct Transformer {
    tables: BTreeMap<String, Arc<TableTransform>>,
    /// The state of every domain with a `unique` column.
    states: BTreeMap<String, Arc<DomainState>>,
}

impl Transformer {
    pub fn new(plan: &Plan, key: &Key) -> Transformer {
        let mut states: BTreeMap<String, Arc<DomainState>> = BTreeMap::new();
        for table in &plan.tables {
            for c in table.columns.iter().filter(|c| c.unique) {
                // One case-insensitive unique column makes its whole domain compare folded.
                let folded = plan
                    .tables
                    .iter()
                    .flat_map(|t| &t.columns)
                    .any(|o| o.unique && o.fold_case && o.domain == c.domain);
                states.entry(c.domain.clone()).or_insert_with(|| {
                    Arc::new(if folded { DomainState::case_insensitive() } else { DomainState::default() })
                });
            }
        }
        let tables = plan
            .tables
            .iter()
            .filter(|t| t.action == TableAction::Copy)
            .map(|t| (t.name.clone(), Arc::new(TableTransform::new(t, key, &states))))
            .collect();
        Transformer { tables, states }
    }

    /// Tables with a `unique` column, in name order: what pass 1 reads.
    pub fn unique_tables(&self) -> Vec<Arc<TableTransform>> {
        self.tables.values().filter(|t| t.columns.iter().any(|c| c.unique)).cloned().collect()
    }

    /// Tables with a `unique` column whose rule redraws (not a template): what pass 1b reads.
    pub fn redraw_tables(&self) -> Vec<Arc<TableTransform>> {
        let redraws = |c: &ColumnRuntime| c.unique && c.family == Family::Redraw;
        self.tables.values().filter(|t| t.columns.iter().any(redraws)).cloned().collect()
    }

    /// After pass 1: sorts every domain's pairs; the number of inputs to redraw (pass 1b).
    pub fn sort_collected(&self) -> usize {
        self.states.values().map(|s| s.sort_collected()).sum()
    }

    /// After one pass 1b: the rounds it allows; the inputs still without a value.
    pub fn resolve_redraws(&self, first_attempt: u32) -> Result<usize, RowError> {
        let mut pending = 0;
        for state in self.states.values() {
            pending += state.resolve_redraws(first_attempt).map_err(|(at, reason)| RowError {
                table: at.table.to_string(),
                column: at.column.to_string(),
                row: at.row,
                reason,
            })?;
        }
        Ok(pending)
    }

    /// Passes 1 and 1b from batches in memory (each table one batch whose first row is
    /// numbered `first_row`), then [`Self::finish_unique`]: for callers without a source,
    /// such as benchmarks and tests. The pipeline does the same from a source.
    pub fn resolve_unique_from(&self, tables: &[(&str, &RecordBatch)], first_row: u64) -> Result<(), RowError> {
        let batch_of = |name: &str| tables.iter().find(|(n, _)| *n == name).map(|(_, b)| *b);
        for t in self.unique_tables() {
            if let Some(b) = batch_of(t.name()) {
                t.collect_unique(b, first_row)?;
            }
        }
        let (mut pending, mut first_attempt) = (self.sort_collected(), 1);
        while pending > 0 {
            for t in self.redraw_tables() {
                if let Some(b) = batch_of(t.name()) {
                    t.collect_redraws(b, first_row, first_attempt)?;
                }
            }
            pending = self.resolve_redraws(first_attempt)?;
            first_attempt += unique::REDRAWS_PER_READ;
        }
        self.finish_unique();
        Ok(())
    }

    /// Makes every domain's decisions final; (domain, summary) for the log.
    pub fn finish_unique(&self) -> Vec<(String, unique::Summary)> {
        self.states.iter().map(|(domain, s)| (domain.clone(), s.finish())).collect()
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
    family: Family,
    state: Option<Arc<DomainState>>,
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
    fn new(plan: &TablePlan, key: &Key, states: &BTreeMap<String, Arc<DomainState>>) -> TableTransform {
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
                family: if matches!(c.strategy, Strategy::Template(_)) { Family::Tag } else { Family::Redraw },
                state: states.get(&c.domain).cloned(),
                length_limit: c.length_limit,
            })
            .collect();
        TableTransform { table: plan.name.clone(), columns }
    }

    fn row_error(&self, c: &ColumnRuntime, first_row: u64, row: usize, reason: String) -> RowError {
        RowError { table: self.table.clone(), column: c.name.clone(), row: first_row + row as u64 + 1, reason }
    }

    /// Column `c` at attempt 0 for every row, in parallel over fixed-size chunks.
    fn first_values(
        &self,
        c: &ColumnRuntime,
        input: &ArrayRef,
        columns: &[ArrayRef],
        first_row: u64,
    ) -> Result<ArrayRef, RowError> {
        let len = input.len();
        let starts: Vec<usize> = (0..len).step_by(CHUNK_ROWS).collect();
        let parts: Vec<ArrayRef> = starts
            .par_iter()
            .map(|&start| {
                let n = CHUNK_ROWS.min(len - start);
                c.apply_rows(input, columns, start, n, 0)
                    .map_err(|(row, reason)| self.row_error(c, first_row, start + row, reason))
            })
            .collect::<Result<_, _>>()?;
        match parts.len() {
            0 => Ok(input.slice(0, 0)),
            1 => Ok(parts.into_iter().next().unwrap_or_else(|| input.slice(0, 0))),
            _ => {
                let refs: Vec<&dyn arrow_array::Array> = parts.iter().map(|a| a.as_ref()).collect();
                concat(&refs).map_err(|e| self.row_error(c, first_row, 0, e.to_string()))
            }
        }
    }

    /// The columns among the first `width` that no rule reads or writes: kept, and read by no
    /// template. The source may carry them undecoded ([`crate::pg::carried`]).
    pub fn unread_columns(&self, width: usize) -> Vec<usize> {
        let read: std::collections::BTreeSet<usize> = self
            .columns
            .iter()
            .flat_map(|c| match &c.strategy {
                Strategy::Template(t) => t.references(),
                _ => Vec::new(),
            })
            .chain(self.columns.iter().map(|c| c.index))
            .collect();
        (0..width).filter(|i| !read.contains(i)).collect()
    }

    /// Whether every column is kept: the batches come out as they went in.
    pub fn is_identity(&self) -> bool {
        self.columns.is_empty()
    }

    /// Transforms one batch. `first_row` is the 0-based index of the batch's first row in
    /// the table, used to report 1-based row numbers in errors.
    pub fn apply(&self, batch: &RecordBatch, first_row: u64) -> Result<RecordBatch, RowError> {
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        let inputs: Vec<ArrayRef> = batch.columns().to_vec();
        for c in &self.columns {
            let input = &inputs[c.index];
            let mut output = self.first_values(c, input, &columns, first_row)?;
            if let Some(state) = &c.state {
                let first = output.clone();
                let regenerate = |row: usize, attempt: u32| c.regenerate(input, &first, &columns, row, attempt);
                output = state
                    .apply(&c.key, input, output, c.family, regenerate)
                    .map_err(|(row, reason)| self.row_error(c, first_row, row, reason))?;
            }
            // Generated text is never cut: a value longer than the column allows stops the run
            // (a last line of defence: `check` refuses every rule whose values may not fit).
            if let Some(limit) = c.length_limit
                && let Some((row, length)) = fit::first_too_long(&output, limit)
            {
                return Err(self.row_error(c, first_row, row, fit::too_long_at_run_time(length, limit)));
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

    /// Whether a column of this table is in a domain with a `unique` column, so that the
    /// table can run only after passes 1 and 1b (see [`unique`]).
    pub fn needs_unique(&self) -> bool {
        self.columns.iter().any(|c| c.state.is_some())
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.table
    }

    /// Pass 1 of `unique` (see [`unique`]): the first values of this batch's unique columns,
    /// and of the columns their templates read, into their domains.
    pub fn collect_unique(&self, batch: &RecordBatch, first_row: u64) -> Result<(), RowError> {
        let needed = self.needed_for_unique();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for c in self.columns.iter().filter(|c| needed.contains(&c.index)) {
            let input = &batch.columns()[c.index];
            let output = self.first_values(c, input, &columns, first_row)?;
            if let (true, Some(state)) = (c.unique, &c.state) {
                state.collect(&c.key, input, &output, c.family);
            }
            columns[c.index] = output;
        }
        Ok(())
    }

    /// Pass 1b of `unique`: the next attempts of this batch's losing inputs of redrawn rules.
    pub fn collect_redraws(&self, batch: &RecordBatch, first_row: u64, first_attempt: u32) -> Result<(), RowError> {
        let columns: Vec<ArrayRef> = batch.columns().to_vec();
        for c in self.columns.iter().filter(|c| c.unique && c.family == Family::Redraw) {
            let Some(state) = &c.state else { continue };
            let input = &columns[c.index];
            let first = self.first_values(c, input, &columns, first_row)?;
            let (table, column): (Arc<str>, Arc<str>) = (self.table.as_str().into(), c.name.as_str().into());
            let at =
                |row: usize| RowAt { table: table.clone(), column: column.clone(), row: first_row + row as u64 + 1 };
            let regenerate = |row: usize, attempt: u32| c.regenerate(input, &first, &columns, row, attempt);
            state
                .collect_redraws(&c.key, input, &first, first_attempt, at, regenerate)
                .map_err(|(row, reason)| self.row_error(c, first_row, row, reason))?;
        }
        Ok(())
    }

    /// The columns pass 1 reads: [`Self::collect_unique`] uses no other column's values.
    pub fn unique_inputs(&self) -> Vec<usize> {
        self.needed_for_unique().into_iter().collect()
    }

    /// The columns pass 1b reads: [`Self::collect_redraws`] uses no other column's values.
    pub fn redraw_inputs(&self) -> Vec<usize> {
        self.columns.iter().filter(|c| c.unique && c.family == Family::Redraw).map(|c| c.index).collect()
    }

    /// Indexes of the unique columns and of every column their templates read (directly or
    /// through other templates).
    fn needed_for_unique(&self) -> std::collections::BTreeSet<usize> {
        let mut needed: std::collections::BTreeSet<usize> =
            self.columns.iter().filter(|c| c.unique).map(|c| c.index).collect();
        loop {
            let more: Vec<usize> = self
                .columns
                .iter()
                .filter(|c| needed.contains(&c.index))
                .filter_map(|c| match &c.strategy {
                    Strategy::Template(t) => Some(t.references()),
                    _ => None,
                })
                .flatten()
                .filter(|i| !needed.contains(i))
                .collect();
            if more.is_empty() {
                return needed;
            }
            needed.extend(more);
        }
    }
}

impl ColumnRuntime {
    /// One row's value at `attempt` (a 1-element array); `first` is the column at attempt 0.
    fn regenerate(
        &self,
        input: &ArrayRef,
        first: &ArrayRef,
        columns: &[ArrayRef],
        row: usize,
        attempt: u32,
    ) -> Result<ArrayRef, String> {
        // Text values are re-generated without building arrays for the row.
        if let Some(text) = apply::regenerate_text(&self.strategy, &self.key, input, first, row, attempt) {
            let text = text?;
            return Ok(match input.data_type() {
                arrow_schema::DataType::LargeUtf8 => {
                    Arc::new(arrow_array::LargeStringArray::from(vec![text])) as ArrayRef
                }
                _ => Arc::new(arrow_array::StringArray::from(vec![text])) as ArrayRef,
            });
        }
        self.apply_rows(input, columns, row, 1, attempt).map_err(|(_, reason)| reason)
    }
}

#[cfg(test)]
pub(crate) mod tests;
