//! The pipeline: source → transform → sink, with bounded channels, several tables at once.
//!
//! ```text
//!            ┌ lane 1: table a, then table c ┐
//! --jobs N ──┤ lane 2: table b               ├── each table: reader thread ──(2 batches)──▶
//!            └ …                             ┘   transform (shared rayon pool, --threads)
//!                                                ──(2 batches)──▶ writer thread
//! ```
//!
//! At most a few batches per table are in memory whatever the table size, so memory grows
//! with `--jobs`, not with the data (the one exception: `unique` columns, whose decisions are
//! made before the tables run, in [`unique_pass`], and held as 8 bytes per distinct value; a
//! table whose unique domains are its own templates makes them in its own run instead,
//! keeping its output aside on disk until its last row: [`deferred`]).
//! With [`RunOptions::collect_risk`], each output batch of a table with `quasi_identifiers`
//! is also sent to a [`ClassCounter`] on its own thread (bounded: it spills to disk); with
//! [`RunOptions::utility`], so is each source batch and its output for the [`fan_out`] of the
//! table's foreign keys.
//! `jobs` workers take tables in name order. A sink that can only take one table at a time
//! (a SQL dump) gets one worker.
//!
//! A cancel flag (set on Ctrl-C) and the first failure of any table stop every table between
//! batches; the sink is then dropped without commit, so nothing is published.

pub mod classes;
mod deferred;
pub mod fan_out;
mod unique_pass;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use arrow_array::RecordBatch;
use crossbeam_channel::bounded;
use serde::Serialize;

use crate::error::{Error, Result, RowError};
use crate::pg::raw_copy::RawRequest;
use crate::plan::{Plan, TablePlan};
use crate::progress::Tracker;
use crate::rules::TableAction;
use crate::sink::{Sink, TableSink};
use crate::source::{BatchStream, RawStream, Source};
use crate::transform::{TableTransform, Transformer};
use classes::{ClassCounter, ClassCounts};
use fan_out::{CountedFanOut, FanOutCounter};

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Worker threads for the transform (1 = sequential).
    pub threads: usize,
    /// Tables read, transformed and written at the same time (each with its own source and
    /// target connection). Output is identical for any value.
    pub jobs: usize,
    /// Rows per batch read from the source.
    pub batch_rows: usize,
    /// Count the equivalence classes of each table's output on its `quasi_identifiers` (the
    /// audit report's `risk`; see [`crate::audit::risk`]). A table with quasi-identifiers is
    /// then always decoded, never copied as raw COPY data.
    pub collect_risk: bool,
    /// Collect the report's utility figures beside the transform (`None`: not asked for).
    pub utility: Option<crate::utility::Options>,
}

/// What a run did, per table. Names and counts only.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub table: String,
    pub action: &'static str,
    /// Rows read from the source.
    pub rows_read: u64,
    /// Rows written to the sink (equal to `rows_read` for a finished table).
    pub rows: u64,
    pub bytes_written: u64,
    pub seconds: f64,
    /// The output's equivalence classes on the quasi-identifiers, when counted.
    #[serde(skip)]
    pub risk: Option<ClassCounts>,
    /// The utility figures, when asked for and the rows were decoded (not for a table
    /// copied unchanged: its output is its source).
    #[serde(skip)]
    pub utility: Option<crate::utility::Utility>,
    /// Referencing rows per key of each foreign key, when the utility figures are asked for.
    #[serde(skip)]
    pub fan_out: Vec<CountedFanOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub doppel_version: &'static str,
    pub rules_blake3: String,
    pub key_fingerprint: String,
    pub tables: Vec<TableReport>,
    pub total_rows: u64,
    pub seconds: f64,
}

/// Everything a worker needs to run tables; shared by reference between workers.
struct Shared<'a> {
    transformer: &'a Transformer,
    source: &'a dyn Source,
    sink: Mutex<Box<dyn Sink>>,
    options: &'a RunOptions,
    pool: rayon::ThreadPool,
    cancel: &'a AtomicBool,
    /// Set by the first table that fails, so the others stop between batches.
    failed: AtomicBool,
}

impl Shared<'_> {
    fn stopping(&self) -> bool {
        self.cancel.load(Ordering::Relaxed) || self.failed.load(Ordering::Relaxed)
    }
}

/// Runs the whole plan. Publishes (commits the sink) only if every table succeeded.
pub fn run(
    plan: &Plan,
    transformer: &Transformer,
    source: &dyn Source,
    sink: Box<dyn Sink>,
    options: &RunOptions,
    cancel: &AtomicBool,
    key_fingerprint: String,
) -> Result<RunReport> {
    run_checked(plan, transformer, source, sink, options, cancel, key_fingerprint, None)
}

/// A check of the finished, unpublished output (where [`Sink::staged_location`] says it is);
/// an error from it stops the run before anything is published.
pub type BeforePublish<'a> = &'a dyn Fn(&crate::source::Location) -> Result<()>;

/// [`run`], with `before_publish` called after the last table and before the commit.
#[allow(clippy::too_many_arguments)]
pub fn run_checked(
    plan: &Plan,
    transformer: &Transformer,
    source: &dyn Source,
    sink: Box<dyn Sink>,
    options: &RunOptions,
    cancel: &AtomicBool,
    key_fingerprint: String,
    before_publish: Option<BeforePublish>,
) -> Result<RunReport> {
    let started = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.max(1))
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {} worker threads: {e}", options.threads)))?;
    let jobs = if sink.tables_in_parallel() { options.jobs.max(1) } else { 1 };
    let order = sink.table_order();
    let shared =
        Shared { transformer, source, sink: Mutex::new(sink), options, pool, cancel, failed: AtomicBool::new(false) };

    let mut reports: Vec<TableReport> = plan
        .tables
        .iter()
        .filter(|t| t.action == TableAction::Skip)
        .map(|t| {
            tracing::info!(table = %t.name, "skipped by the rules");
            TableReport {
                table: t.name.clone(),
                action: "skip",
                rows_read: 0,
                rows: 0,
                bytes_written: 0,
                seconds: 0.0,
                risk: None,
                utility: None,
                fan_out: Vec::new(),
            }
        })
        .collect();
    // Tables that need no `unique` decision start at once, beside pass 1; the others wait for
    // it. A sink that takes one table at a time gets them in name order (or the order it
    // asks for), after pass 1.
    let in_order = jobs == 1;
    let mut tables: Vec<&TablePlan> = plan.tables.iter().filter(|t| t.action == TableAction::Copy).collect();
    if let Some(order) = order {
        tables.sort_by_key(|t| order.iter().position(|name| *name == t.name).map_or(0, |p| p + 1));
    }
    let queue = Queue {
        state: Mutex::new(QueueState { tables: tables.into(), unique_resolved: false }),
        changed: Condvar::new(),
        in_order,
    };
    // Tables whose unique domains are their own templates run once, without pass 1 (deferred).
    let deferred: Vec<&str> = plan
        .tables
        .iter()
        .filter(|t| t.action == TableAction::Copy && transformer.deferrable(&t.name))
        .map(|t| t.name.as_str())
        .collect();
    transformer.defer(&deferred);
    let done: Mutex<Vec<TableReport>> = Mutex::new(Vec::new());
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            match unique_pass::resolve(transformer, source, options.batch_rows, &shared.pool, cancel) {
                Ok(()) => lock(&queue.state).unique_resolved = true,
                Err(e) => {
                    shared.failed.store(true, Ordering::Relaxed);
                    record_failure(&first_error, e);
                }
            }
            queue.changed.notify_all();
        });
        for _ in 0..jobs {
            scope.spawn(|| {
                while let Some(table) = queue.next(&shared) {
                    let outcome = run_table(table, &shared);
                    match outcome {
                        Ok(report) => lock(&done).push(report),
                        Err(e) => {
                            shared.failed.store(true, Ordering::Relaxed);
                            record_failure(&first_error, e);
                            queue.changed.notify_all();
                            return;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = lock(&first_error).take() {
        return Err(e);
    }
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    let sink = shared.sink.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(check) = before_publish {
        let staged = sink.staged_location().ok_or_else(|| {
            Error::Usage("this target cannot be checked before it is published; run doppel verify after the run".into())
        })?;
        check(&staged)?;
    }
    sink.commit()?;
    reports.append(&mut lock(&done));
    reports.sort_by(|a, b| a.table.cmp(&b.table));
    let total_rows = reports.iter().map(|t| t.rows).sum();
    Ok(RunReport {
        doppel_version: env!("CARGO_PKG_VERSION"),
        rules_blake3: plan.rules_fingerprint.clone(),
        key_fingerprint,
        tables: reports,
        total_rows,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The tables still to run, handed to workers (see [`run_checked`]).
struct Queue<'p> {
    state: Mutex<QueueState<'p>>,
    changed: Condvar,
    /// Take tables strictly in name order (after pass 1).
    in_order: bool,
}

struct QueueState<'p> {
    tables: VecDeque<&'p TablePlan>,
    unique_resolved: bool,
}

impl<'p> Queue<'p> {
    /// The next table a worker may run now, waiting while every remaining one needs the
    /// `unique` decisions of pass 1; `None` when none is left or the run is stopping.
    fn next(&self, shared: &Shared<'_>) -> Option<&'p TablePlan> {
        let mut state = lock(&self.state);
        loop {
            if shared.stopping() || state.tables.is_empty() {
                return None;
            }
            let ready = |t: &&TablePlan| {
                let independent = shared.transformer.runs_deferred(&t.name)
                    || !shared.transformer.table(&t.name).is_some_and(|t| t.needs_unique());
                state.unique_resolved || (!self.in_order && independent)
            };
            if let Some(i) = state.tables.iter().position(ready) {
                return state.tables.remove(i);
            }
            // Woken when pass 1 ends or a table fails; the timeout re-checks a cancel.
            state = self
                .changed
                .wait_timeout(state, std::time::Duration::from_millis(200))
                .map(|(s, _)| s)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }
}

/// Keeps the error that explains the failure: a table's own error wins over the
/// "interrupted" that other tables report when they are stopped because of it.
fn record_failure(slot: &Mutex<Option<Error>>, e: Error) {
    let mut slot = lock(slot);
    match &*slot {
        None => *slot = Some(e),
        Some(Error::Interrupted) if !matches!(e, Error::Interrupted) => *slot = Some(e),
        Some(_) => {}
    }
}

/// Copies one table: its rows as they are when nothing changes them and the source and sink
/// can ([`copy_unchanged`]), else read, transformed and written ([`transform_batches`]).
fn run_table(table: &TablePlan, shared: &Shared<'_>) -> Result<TableReport> {
    let table_started = Instant::now();
    let transform = shared
        .transformer
        .table(&table.name)
        .ok_or_else(|| Error::Usage(format!("{}: no transform was built for this table", table.name)))?;
    let table_sink = lock(&shared.sink).open_table(&table.name, table.schema.clone())?;
    let progress = crate::progress::track(&table.name, shared.source.expected_rows(&table.name));
    let mut classes = match shared.options.collect_risk && !table.quasi_identifiers.is_empty() {
        true => Some(ClassCounter::new(table.quasi_identifiers.clone())?),
        false => None,
    };
    let mut fan_out = match (shared.options.utility, shared.source.tables().iter().find(|t| t.name == table.name)) {
        (Some(_), Some(source)) => FanOutCounter::for_table(table, source),
        _ => Vec::new(),
    };
    let request = table_sink.raw_request();
    // Every column kept and a sink that takes the source's COPY data: the rows may pass as
    // they are, and then have no utility figures (the output is the source).
    let unchanged = request.is_some() && transform.is_identity() && classes.is_none();
    let raw = match &request {
        Some(request) if unchanged && fan_out.is_empty() => {
            let raw = shared.source.read_raw(&table.name, request)?;
            if raw.is_some() {
                tracing::debug!(table = %table.name, format = ?request.format, "copied unchanged, without decoding");
            }
            raw
        }
        _ => None,
    };
    let ((rows_read, rows, bytes), utility) = match raw {
        Some(chunks) => (copy_unchanged(chunks, table_sink, &progress, shared)?, None),
        None => {
            let mut collector = match unchanged {
                true => None,
                false => shared.options.utility.map(|o| crate::utility::TableCollector::new(table, o)),
            };
            let mut counted: Vec<usize> = fan_out.iter().flat_map(|f| f.columns().to_vec()).collect();
            if classes.is_some() {
                counted.extend(&table.quasi_identifiers);
            }
            let decoded = Decoded { counted, all: collector.is_some() };
            let stream = read_batches(table, &transform, request.as_ref(), decoded, shared)?;
            let observers = Observers { classes: classes.as_mut(), fan_out: &mut fan_out, utility: collector.as_mut() };
            let counts = match shared.transformer.runs_deferred(&table.name) {
                true => run_deferred(table, stream, &transform, table_sink, &progress, shared, observers)?,
                false => {
                    let apply = |b: &RecordBatch, first_row| transform.apply(b, first_row);
                    transform_batches(&table.name, stream, &apply, table_sink, Some(&progress), shared, observers)?
                }
            };
            (counts, collector.map(|c| c.finish()))
        }
    };
    let risk = classes.map(ClassCounter::finish).transpose()?;
    let fan_out = fan_out.into_iter().map(FanOutCounter::finish).collect::<Result<Vec<_>>>()?;
    let seconds = table_started.elapsed().as_secs_f64();
    progress.finish();
    Ok(TableReport {
        table: table.name.clone(),
        action: "copy",
        rows_read,
        rows,
        bytes_written: bytes,
        seconds,
        risk,
        utility,
        fan_out,
    })
}

/// Which columns must be decoded beyond those the rules read.
#[derive(Debug, Clone)]
struct Decoded {
    /// Those the counts read: the quasi-identifiers (risk), the foreign keys' (fan-out).
    counted: Vec<usize>,
    /// Every column: the utility figures profile each source column. A kept column may still
    /// be carried when the collector can decode its bytes itself (on its own thread), so that
    /// the path to the sink stays as without the report.
    all: bool,
}

/// The batches of one table: with the columns no rule reads carried undecoded when the sink
/// takes raw COPY data the source can give ([`crate::pg::carried`]), else every column decoded.
fn read_batches(
    table: &TablePlan,
    transform: &TableTransform,
    request: Option<&RawRequest>,
    decoded: Decoded,
    shared: &Shared<'_>,
) -> Result<BatchStream> {
    let batch_rows = shared.options.batch_rows.max(1);
    let mut carried = transform.unread_columns(table.schema.fields().len());
    if let (true, Some(request)) = (decoded.all, request) {
        // The utility figures read every column: a carried one only if they can decode it.
        carried.retain(|&i| utility_decodes(table.schema.field(i), request.format));
    }
    carried.retain(|i| !decoded.counted.contains(i));
    if let Some(request) = request
        && !carried.is_empty()
        && let Some(stream) = shared.source.read_carrying(&table.name, &carried, request, batch_rows)?
    {
        tracing::debug!(table = %table.name, carried = carried.len(), format = ?request.format, "kept columns carried without decoding");
        return Ok(stream);
    }
    shared.source.read(&table.name, batch_rows)
}

/// Whether the utility collector can decode `field` carried in `format` ([`crate::pg::carried::decode`]).
fn utility_decodes(field: &arrow_schema::Field, format: crate::pg::raw_copy::CopyFormat) -> bool {
    let pg_type = field.metadata().get(crate::schema::PG_TYPE);
    match (crate::pg::types::ColumnKind::of_data_type(field.data_type()), pg_type) {
        (Some(kind), Some(pg_type)) => crate::pg::carried::decodable(kind, pg_type, format),
        _ => false,
    }
}

/// A table that runs once though it has unique values ([`deferred`]): transformed into a
/// spill, its domains resolved, then the spill's batches with their final values written.
fn run_deferred(
    table: &TablePlan,
    stream: BatchStream,
    transform: &TableTransform,
    table_sink: Box<dyn TableSink>,
    progress: &Tracker,
    shared: &Shared<'_>,
    observers: Observers<'_>,
) -> Result<(u64, u64, u64)> {
    let started = Instant::now();
    let Observers { classes, fan_out, mut utility } = observers;
    let (spill, spilled) = deferred::Spill::new(&table.name);
    let first = |b: &RecordBatch, first_row| transform.apply_first(b, first_row);
    // The first half sees the source batches: the utility figures (but the output side of the
    // unique templates, final only in the second half) and the foreign keys' fan-out (their
    // columns are never the table's unique templates: those are in no other table's domain).
    if let Some(collector) = utility.as_deref_mut() {
        collector.defer_outputs(&transform.deferred_columns());
    }
    let seeing_sources = Observers { classes: None, fan_out, utility: utility.as_deref_mut() };
    let (rows_read, ..) =
        transform_batches(&table.name, stream, &first, Box::new(spill), Some(progress), shared, seeing_sources)?;
    unique_pass::log_resolved(shared.pool.install(|| transform.finish_deferred()), started);
    // The second half's source batches are the spill's: its observers read only outputs (the
    // risk counter, and the unique templates' utility output side).
    if let Some(collector) = utility.as_deref_mut() {
        collector.second_half();
    }
    let seeing_outputs = Observers { classes, fan_out: &mut [], utility };
    let last = |b: &RecordBatch, first_row| transform.apply_ranked(b, first_row);
    let (_, rows, bytes) =
        transform_batches(&table.name, spilled.into_stream()?, &last, table_sink, None, shared, seeing_outputs)?;
    Ok((rows_read, rows, bytes))
}

/// What watches a table's batches go by, for the audit report.
struct Observers<'o> {
    /// Counts each output batch's equivalence classes (the risk), on a thread of its own fed
    /// like the writer.
    classes: Option<&'o mut ClassCounter>,
    /// Count each source batch's and output batch's references, on the same thread.
    fan_out: &'o mut [FanOutCounter],
    /// Sees each source batch with its output (the utility figures).
    utility: Option<&'o mut crate::utility::TableCollector>,
}

/// Transforms and writes one table's batches: the reader, the transform (on the pool) and
/// the writer run side by side, and so do the `observers`. `apply` is the transform of one
/// batch whose first row has the given index. Returns (rows read, rows written,
/// bytes written).
fn transform_batches(
    table: &str,
    stream: BatchStream,
    apply: &(dyn Fn(&RecordBatch, u64) -> std::result::Result<RecordBatch, RowError> + Sync),
    mut table_sink: Box<dyn TableSink>,
    progress: Option<&Tracker>,
    shared: &Shared<'_>,
    observers: Observers<'_>,
) -> Result<(u64, u64, u64)> {
    let Observers { mut classes, fan_out, utility: collector } = observers;
    let (to_transform, from_reader) = bounded(2);
    let (to_writer, from_transform) = bounded::<RecordBatch>(2);
    std::thread::scope(|scope| -> Result<(u64, u64, u64)> {
        let reader = scope.spawn(move || {
            for batch in stream {
                if shared.stopping() || to_transform.send(batch).is_err() {
                    break;
                }
            }
        });
        let writer = scope.spawn(move || -> Result<u64> {
            for batch in from_transform {
                table_sink.write(&batch)?;
            }
            table_sink.finish()
        });
        let (to_counter, from_transform_counted) = bounded::<(RecordBatch, RecordBatch)>(2);
        let counting = classes.is_some() || !fan_out.is_empty();
        let counter = counting.then(|| {
            scope.spawn(move || -> Result<()> {
                for (source, output) in from_transform_counted {
                    shared.pool.install(|| -> Result<()> {
                        if let Some(counter) = classes.as_deref_mut() {
                            counter.add(&output)?;
                        }
                        fan_out.iter_mut().try_for_each(|f| f.add(&source, &output))
                    })?;
                }
                Ok(())
            })
        });
        let to_counter = counter.is_some().then_some(to_counter);
        // The utility figures, on a thread of their own too: the transform does not wait for
        // them unless they fall two batches behind.
        let (to_collector, from_transform_observed) = bounded::<(RecordBatch, RecordBatch)>(2);
        let collector = collector.map(|collector| {
            scope.spawn(move || {
                for (source, output) in from_transform_observed {
                    shared.pool.install(|| collector.observe(&source, &output));
                }
            })
        });
        let to_collector = collector.is_some().then_some(to_collector);
        let mut rows: u64 = 0;
        let mut rows_read: u64 = 0;
        let mut failure: Option<Error> = None;
        for batch in from_reader.iter() {
            if shared.stopping() {
                failure = Some(Error::Interrupted);
                break;
            }
            let batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            rows_read += batch.num_rows() as u64;
            let out = match shared.pool.install(|| apply(&batch, rows)) {
                Ok(out) => out,
                Err(e) => {
                    failure = Some(e.into());
                    break;
                }
            };
            if let Some(to_counter) = &to_counter
                && to_counter.send((batch.clone(), out.clone())).is_err()
            {
                break; // the counter failed; its error is collected below
            }
            rows += out.num_rows() as u64;
            if let Some(progress) = progress {
                progress.add(out.num_rows() as u64);
            }
            if let Some(to_collector) = &to_collector
                && to_collector.send((batch.clone(), out.clone())).is_err()
            {
                break; // the collector panicked; said below
            }
            if to_writer.send(out).is_err() {
                break; // the writer failed; its error is collected below
            }
        }
        drop(from_reader);
        drop(to_writer);
        drop(to_counter);
        drop(to_collector);
        let _ = reader.join();
        let written = writer.join().map_err(|_| Error::target(table, "the writer thread panicked"))?;
        let counted =
            counter.map(|c| c.join().map_err(|_| Error::target(table, "the risk and fan-out counter panicked")));
        if let Some(collector) = collector {
            collector.join().map_err(|_| Error::target(table, "the utility collector panicked"))?;
        }
        if let Some(e) = failure {
            return Err(e);
        }
        counted.transpose()?.transpose()?;
        if shared.stopping() {
            return Err(Error::Interrupted);
        }
        written.map(|bytes| (rows_read, rows, bytes))
    })
}

/// A table whose every column is kept, from a source that can send its COPY data as the sink
/// takes it: the rows pass as they are, never decoded ([`crate::pg::raw_copy`]).
fn copy_unchanged(
    chunks: RawStream,
    mut table_sink: Box<dyn TableSink>,
    progress: &Tracker,
    shared: &Shared<'_>,
) -> Result<(u64, u64, u64)> {
    let mut rows = 0u64;
    for chunk in chunks {
        if shared.stopping() {
            return Err(Error::Interrupted);
        }
        let chunk = chunk?;
        rows += chunk.rows;
        progress.add(chunk.rows);
        table_sink.write_raw(chunk)?;
    }
    let bytes = table_sink.finish()?;
    Ok((rows, rows, bytes))
}
