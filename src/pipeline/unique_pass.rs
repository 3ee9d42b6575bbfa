//! Passes 1 and 1b of `unique = true` (see [`crate::transform::unique`]): the tables with a
//! unique column are read once before the run, so that each row's decision in the run
//! itself is known when the row arrives, and is the same whatever order rows arrive in.
//!
//! ```text
//! pass 1   each table with a unique column: reader thread ──▶ collect_unique (pool)
//!          ──▶ every domain's pairs sorted
//! pass 1b  while a redrawn input has no value: its tables again ──▶ collect_redraws
//!          ──▶ rounds (at most MAX_ATTEMPTS / REDRAWS_PER_READ readings)
//! ```
//!
//! Only the columns the decisions need are read ([`Source::read_columns`]; the others come
//! as NULLs). Reading a table again in the same source gives the same rows: a PostgreSQL
//! source reads every table in one snapshot, Parquet files do not change while they are read.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use arrow_array::RecordBatch;
use crossbeam_channel::bounded;

use crate::error::{Error, Result, RowError};
use crate::source::Source;
use crate::transform::unique::REDRAWS_PER_READ;
use crate::transform::{TableTransform, Transformer};

/// Resolves every unique domain of `transformer` from `source`, in `pool`.
pub fn resolve(
    transformer: &Transformer,
    source: &dyn Source,
    batch_rows: usize,
    pool: &rayon::ThreadPool,
    cancel: &AtomicBool,
) -> Result<()> {
    let tables = transformer.unique_tables();
    if tables.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    for table in &tables {
        let columns = table.unique_inputs();
        read_table(table, &columns, source, batch_rows, pool, cancel, |t, batch, first_row| {
            t.collect_unique(batch, first_row)
        })?;
    }
    let mut pending = pool.install(|| transformer.sort_collected());
    let mut first_attempt = 1;
    while pending > 0 {
        tracing::debug!(pending, first_attempt, "unique: reading again for the next attempts of losing inputs");
        for table in &transformer.redraw_tables() {
            let columns = table.redraw_inputs();
            read_table(table, &columns, source, batch_rows, pool, cancel, |t, batch, first_row| {
                t.collect_redraws(batch, first_row, first_attempt)
            })?;
        }
        pending = transformer.resolve_redraws(first_attempt)?;
        first_attempt += REDRAWS_PER_READ;
    }
    log_resolved(transformer.finish_unique(), started);
    Ok(())
}

/// Logs what each resolved domain holds, `started` being when its resolution began.
pub(super) fn log_resolved(domains: Vec<(String, crate::transform::unique::Summary)>, started: Instant) {
    for (domain, s) in domains {
        tracing::info!(
            domain = %domain,
            values = s.pairs,
            distinct = s.groups,
            tagged = s.tagged,
            redrawn = s.redrawn,
            seconds = format!("{:.2}", started.elapsed().as_secs_f64()),
            "unique values resolved"
        );
    }
}

/// Reads `columns` of one table with a reader thread and hands each batch to `each` in
/// `pool`.
fn read_table(
    table: &TableTransform,
    columns: &[usize],
    source: &dyn Source,
    batch_rows: usize,
    pool: &rayon::ThreadPool,
    cancel: &AtomicBool,
    each: impl Fn(&TableTransform, &RecordBatch, u64) -> std::result::Result<(), RowError> + Sync,
) -> Result<()> {
    let stream = source.read_columns(table.name(), columns, batch_rows.max(1))?;
    let progress =
        crate::progress::track(format!("{} (unique values)", table.name()), source.expected_rows(table.name()));
    let (to_transform, from_reader) = bounded(2);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for batch in stream {
                if cancel.load(Ordering::Relaxed) || to_transform.send(batch).is_err() {
                    break;
                }
            }
        });
        let mut rows: u64 = 0;
        let mut outcome = Ok(());
        for batch in from_reader.iter() {
            if cancel.load(Ordering::Relaxed) {
                outcome = Err(Error::Interrupted);
                break;
            }
            let step = batch.and_then(|batch| {
                pool.install(|| each(table, &batch, rows))?;
                rows += batch.num_rows() as u64;
                progress.add(batch.num_rows() as u64);
                Ok(())
            });
            if let Err(e) = step {
                outcome = Err(e);
                break;
            }
        }
        // The reader stops at its next send once nobody receives.
        drop(from_reader);
        if outcome.is_ok() && cancel.load(Ordering::Relaxed) {
            outcome = Err(Error::Interrupted);
        }
        if outcome.is_ok() {
            progress.finish();
        }
        outcome
    })
}
