//! The pipeline: source → transform → sink, table by table, with bounded channels.
//!
//! ```text
//! reader thread ──(2 batches)──▶ transform (rayon pool, --threads) ──(2 batches)──▶ writer thread
//! ```
//!
//! At most a few batches per table are in memory whatever the table size. Tables run one
//! after another in name order, which keeps `unique` decisions (made in row order) the same
//! on every run. A cancel flag (set on Ctrl-C) is checked between batches; on any error or
//! cancel the sink is dropped without commit, so nothing is published.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::bounded;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::rules::TableAction;
use crate::sink::Sink;
use crate::source::Source;
use crate::transform::Transformer;

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Worker threads for the transform (1 = sequential).
    pub threads: usize,
    /// Rows per batch read from the source.
    pub batch_rows: usize,
    /// Show progress bars (only when stderr is a terminal).
    pub progress: bool,
}

/// What a run did, per table. Names and counts only.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub table: String,
    pub action: &'static str,
    pub rows: u64,
    pub bytes_written: u64,
    pub seconds: f64,
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

/// Runs the whole plan. Publishes (commits the sink) only if every table succeeded.
pub fn run(
    plan: &Plan,
    transformer: &Transformer,
    source: &dyn Source,
    mut sink: Box<dyn Sink>,
    options: &RunOptions,
    cancel: &AtomicBool,
    key_fingerprint: String,
) -> Result<RunReport> {
    let started = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.max(1))
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {} worker threads: {e}", options.threads)))?;
    let show_progress = options.progress && std::io::stderr().is_terminal();
    let mut tables = Vec::new();
    for table in &plan.tables {
        if table.action == TableAction::Skip {
            tracing::info!(table = %table.name, "skipped by the rules");
            tables.push(TableReport {
                table: table.name.clone(),
                action: "skip",
                rows: 0,
                bytes_written: 0,
                seconds: 0.0,
            });
            continue;
        }
        let table_started = Instant::now();
        let transform = transformer
            .table(&table.name)
            .ok_or_else(|| Error::Usage(format!("{}: no transform was built for this table", table.name)))?;
        let mut table_sink = sink.open_table(&table.name, table.schema.clone())?;
        let stream = source.read(&table.name, options.batch_rows.max(1))?;
        let bar = show_progress.then(|| {
            let bar = ProgressBar::new_spinner();
            let style =
                ProgressStyle::with_template("{spinner} {prefix:30} {human_pos:>12} rows  {rate:>14}  {elapsed}")
                    .map(|s| {
                        s.with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = write!(w, "{:.0} rows/s", state.per_sec());
                        })
                    })
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_prefix(table.name.clone());
            bar
        });
        let (to_transform, from_reader) = bounded(2);
        let (to_writer, from_transform) = bounded::<arrow_array::RecordBatch>(2);
        let rows = std::thread::scope(|scope| -> Result<u64> {
            let reader = scope.spawn(move || {
                for batch in stream {
                    if cancel.load(Ordering::Relaxed) || to_transform.send(batch).is_err() {
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
            let mut rows: u64 = 0;
            let mut failure: Option<Error> = None;
            for batch in from_reader.iter() {
                if cancel.load(Ordering::Relaxed) {
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
                let out = match pool.install(|| transform.apply(&batch, rows)) {
                    Ok(out) => out,
                    Err(e) => {
                        failure = Some(e.into());
                        break;
                    }
                };
                rows += out.num_rows() as u64;
                if let Some(bar) = &bar {
                    bar.set_position(rows);
                }
                if to_writer.send(out).is_err() {
                    break; // the writer failed; its error is collected below
                }
            }
            drop(from_reader);
            drop(to_writer);
            let _ = reader.join();
            let written = writer.join().map_err(|_| Error::target(&table.name, "the writer thread panicked"))?;
            if cancel.load(Ordering::Relaxed) {
                return Err(Error::Interrupted);
            }
            match failure {
                Some(e) => Err(e),
                None => written.map(|bytes| {
                    tables.push(TableReport {
                        table: table.name.clone(),
                        action: "copy",
                        rows,
                        bytes_written: bytes,
                        seconds: table_started.elapsed().as_secs_f64(),
                    });
                    rows
                }),
            }
        })?;
        let seconds = table_started.elapsed().as_secs_f64();
        match bar {
            Some(bar) => {
                bar.finish_and_clear();
                eprintln!(
                    "  {:<30} {:>12} rows  {:>9.0} rows/s  {:.2}s",
                    table.name,
                    rows,
                    rows as f64 / seconds.max(1e-9),
                    seconds
                );
            }
            None => {
                tracing::info!(table = %table.name, rows, rows_per_sec = (rows as f64 / seconds.max(1e-9)) as u64, "done")
            }
        }
    }
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    sink.commit()?;
    let total_rows = tables.iter().map(|t| t.rows).sum();
    Ok(RunReport {
        doppel_version: env!("CARGO_PKG_VERSION"),
        rules_blake3: plan.rules_fingerprint.clone(),
        key_fingerprint,
        tables,
        total_rows,
        seconds: started.elapsed().as_secs_f64(),
    })
}
