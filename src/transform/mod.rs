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
//! ([`Transformer::unique_tables`], [`TableTransform::collect_unique`]), or, for a table
//! whose unique domains are its own templates, from the table's one run with its output kept
//! aside until the last row ([`Transformer::deferrable`]).
//!
//! The strategies themselves (one file or folder each, and the dispatch that applies one to a
//! column) live in [`crate::strategy`]; they are re-exported here under their old paths.

pub mod unique;

pub use crate::strategy::{apply, fake, hash, json, mask, noise, redact, values};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, Schema};
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
    /// The tables whose unique domains may be resolved from their own run (see
    /// [`Self::deferrable`]), with those domains.
    deferrable: BTreeMap<String, BTreeSet<String>>,
    /// The domains [`Self::defer`] took out of passes 1 and 1b.
    deferred: OnceLock<BTreeSet<String>>,
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
        let deferrable = deferrable_tables(plan, &states);
        Transformer { tables, states, deferrable, deferred: OnceLock::new() }
    }

    /// Whether `table`'s unique domains can be resolved from the table's own run, without
    /// pass 1: every column of the table in a unique domain is a `unique` template, and no
    /// other table has a column in those domains. Such a table can run once, keeping its
    /// output aside until its last row ([`TableTransform::apply_first`], then
    /// [`TableTransform::apply_ranked`]); the values are the same as after pass 1.
    pub fn deferrable(&self, table: &str) -> bool {
        self.deferrable.contains_key(table)
    }

    /// Takes the domains of these [`Self::deferrable`] tables out of passes 1 and 1b: their
    /// tables resolve them ([`TableTransform::finish_deferred`]). Called once, before pass 1.
    pub fn defer(&self, tables: &[&str]) {
        let domains = tables.iter().filter_map(|t| self.deferrable.get(*t)).flatten().cloned().collect();
        let _ = self.deferred.set(domains);
    }

    /// Whether `table` runs once, resolving its own unique domains ([`Self::defer`]).
    pub fn runs_deferred(&self, table: &str) -> bool {
        self.deferrable
            .get(table)
            .is_some_and(|domains| !domains.is_empty() && domains.iter().all(|d| self.is_deferred(d)))
    }

    fn is_deferred(&self, domain: &str) -> bool {
        self.deferred.get().is_some_and(|d| d.contains(domain))
    }

    /// The states of the domains passes 1 and 1b resolve.
    fn pass_states(&self) -> impl Iterator<Item = (&String, &Arc<DomainState>)> {
        self.states.iter().filter(|(domain, _)| !self.is_deferred(domain))
    }

    /// Whether passes 1 and 1b read `t` (a table of a deferred domain is not read).
    fn read_in_pass(&self, t: &TableTransform) -> bool {
        !t.columns.iter().any(|c| self.is_deferred(&c.domain))
    }

    /// Tables with a `unique` column, in name order: what pass 1 reads.
    pub fn unique_tables(&self) -> Vec<Arc<TableTransform>> {
        let unique = |t: &&Arc<TableTransform>| t.columns.iter().any(|c| c.unique) && self.read_in_pass(t);
        self.tables.values().filter(unique).cloned().collect()
    }

    /// Tables with a `unique` column whose rule redraws (not a template): what pass 1b reads.
    pub fn redraw_tables(&self) -> Vec<Arc<TableTransform>> {
        let redraws = |c: &ColumnRuntime| c.unique && c.family == Family::Redraw;
        self.tables.values().filter(|t| t.columns.iter().any(redraws) && self.read_in_pass(t)).cloned().collect()
    }

    /// After pass 1: sorts every domain's pairs; the number of inputs to redraw (pass 1b).
    pub fn sort_collected(&self) -> usize {
        self.pass_states().map(|(_, s)| s.sort_collected()).sum()
    }

    /// After one pass 1b: the rounds it allows; the inputs still without a value.
    pub fn resolve_redraws(&self, first_attempt: u32) -> Result<usize, RowError> {
        let mut pending = 0;
        for (_, state) in self.pass_states() {
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
        self.pass_states().map(|(domain, s)| (domain.clone(), s.finish())).collect()
    }

    pub fn table(&self, name: &str) -> Option<Arc<TableTransform>> {
        self.tables.get(name).cloned()
    }
}

/// The tables [`Transformer::deferrable`] names, each with its unique domains.
fn deferrable_tables(plan: &Plan, states: &BTreeMap<String, Arc<DomainState>>) -> BTreeMap<String, BTreeSet<String>> {
    let transformed = |t: &'_ TablePlan| {
        let columns = t.columns.iter().filter(|c| !matches!(c.strategy, Strategy::Keep));
        columns.filter(|c| states.contains_key(&c.domain)).cloned().collect::<Vec<_>>()
    };
    let copied: Vec<&TablePlan> = plan.tables.iter().filter(|t| t.action == TableAction::Copy).collect();
    let mut users: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for t in &copied {
        for c in transformed(t) {
            users.entry(c.domain).or_default().insert(&t.name);
        }
    }
    copied
        .iter()
        .filter_map(|t| {
            let columns = transformed(t);
            let templates = columns.iter().all(|c| c.unique && matches!(c.strategy, Strategy::Template(_)));
            let alone = columns.iter().all(|c| users.get(&c.domain).is_some_and(|u| u.len() == 1));
            (!columns.is_empty() && templates && alone)
                .then(|| (t.name.clone(), columns.into_iter().map(|c| c.domain).collect()))
        })
        .collect()
}

struct ColumnRuntime {
    index: usize,
    name: String,
    domain: String,
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
                domain: c.domain.clone(),
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
            self.check_length(c, &output, first_row)?;
            columns[c.index] = output;
        }
        self.assemble(batch.schema(), columns, batch, first_row)
    }

    /// Generated text is never cut: a value longer than the column allows stops the run (a
    /// last line of defence: `check` refuses every rule whose values may not fit).
    fn check_length(&self, c: &ColumnRuntime, output: &ArrayRef, first_row: u64) -> Result<(), RowError> {
        if let Some(limit) = c.length_limit
            && let Some((row, length)) = fit::first_too_long(output, limit)
        {
            return Err(self.row_error(c, first_row, row, fit::too_long_at_run_time(length, limit)));
        }
        Ok(())
    }

    /// The output batch of `batch`: `columns` under `schema`, with `batch`'s row count.
    fn assemble(
        &self,
        schema: arrow_schema::SchemaRef,
        columns: Vec<ArrayRef>,
        batch: &RecordBatch,
        first_row: u64,
    ) -> Result<RecordBatch, RowError> {
        // The row count is kept explicitly: a table without columns still has rows.
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        RecordBatch::try_new_with_options(schema, columns, &options).map_err(|e| RowError {
            table: self.table.clone(),
            column: String::new(),
            row: first_row + 1,
            reason: format!("cannot assemble the output batch: {e}"),
        })
    }

    /// The run of a [`Transformer::deferrable`] table, first half: [`Self::apply`] with the
    /// unique templates at their first values, collected into their domains; each unique
    /// column's ranks follow the table's columns (one `UInt64` column each, in
    /// [`Self::unique_columns`] order). [`Self::finish_deferred`] after the last batch, then
    /// [`Self::apply_ranked`] on each batch.
    pub fn apply_first(&self, batch: &RecordBatch, first_row: u64) -> Result<RecordBatch, RowError> {
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        let mut ranks: Vec<ArrayRef> = Vec::new();
        for c in &self.columns {
            let input = &batch.columns()[c.index];
            let output = self.first_values(c, input, &columns, first_row)?;
            if let Some(state) = &c.state {
                ranks.push(Arc::new(state.collect_ranked(&c.key, input, &output, c.family)));
            }
            columns[c.index] = output;
        }
        let mut fields: Vec<Field> = batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
        for c in self.unique_columns() {
            fields.push(Field::new(format!("doppel.rank.{}", c.index), DataType::UInt64, true));
        }
        columns.extend(ranks);
        self.assemble(
            Arc::new(Schema::new_with_metadata(fields, batch.schema().metadata().clone())),
            columns,
            batch,
            first_row,
        )
    }

    /// After [`Self::apply_first`] saw every row: resolves the table's unique domains.
    pub fn finish_deferred(&self) -> Vec<(String, unique::Summary)> {
        let mut done = BTreeSet::new();
        let mut summaries = Vec::new();
        for c in self.unique_columns() {
            if let Some(state) = &c.state
                && done.insert(c.domain.clone())
            {
                state.sort_collected();
                summaries.push((c.domain.clone(), state.finish()));
            }
        }
        summaries
    }

    /// The run of a deferrable table, second half: a batch of [`Self::apply_first`] with its
    /// unique values final and the ranks dropped.
    pub fn apply_ranked(&self, batch: &RecordBatch, first_row: u64) -> Result<RecordBatch, RowError> {
        let unique: Vec<&ColumnRuntime> = self.unique_columns().collect();
        let width = batch.num_columns() - unique.len();
        let mut columns: Vec<ArrayRef> = batch.columns()[..width].to_vec();
        for (i, c) in unique.iter().enumerate() {
            let Some(state) = &c.state else { continue };
            let ranks = batch.column(width + i).as_primitive::<arrow_array::types::UInt64Type>();
            let output = state
                .apply_ranked(columns[c.index].clone(), ranks)
                .map_err(|(row, reason)| self.row_error(c, first_row, row, reason))?;
            self.check_length(c, &output, first_row)?;
            columns[c.index] = output;
        }
        let fields: Vec<_> = batch.schema().fields()[..width].to_vec();
        let schema = Schema::new_with_metadata(fields, batch.schema().metadata().clone());
        self.assemble(Arc::new(schema), columns, batch, first_row)
    }

    /// The indexes of the columns whose values [`Self::apply_ranked`] makes final.
    pub fn deferred_columns(&self) -> Vec<usize> {
        self.unique_columns().map(|c| c.index).collect()
    }

    /// The columns in a unique domain, in evaluation order.
    fn unique_columns(&self) -> impl Iterator<Item = &ColumnRuntime> {
        self.columns.iter().filter(|c| c.state.is_some())
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
