//! Rows → Arrow batches: one table's range of rows, cut into [`CHUNK_ROWS`]-row chunks that
//! are generated in parallel (rayon) and written in order, a window of chunks at a time, so
//! memory stays bounded whatever the row count and the output does not depend on the number
//! of threads.
//!
//! Shards (`--shard K/N`) are contiguous ranges: shard K of a table with R rows holds rows
//! `⌊(K−1)·R/N⌋ .. ⌊K·R/N⌋`, so the N shards' files, concatenated in order, are the single
//! run's rows.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow_array::{ArrayRef, RecordBatch};
use rayon::prelude::*;

use crate::error::{Error, Result, RowError};
use crate::pg::decode::ColumnBuilder;
use crate::progress::Total;
use crate::sink::{Sink, TableSink};

use super::model::Dataset;
use super::values::append;

/// Rows per generated batch.
pub const CHUNK_ROWS: u64 = 8192;

/// `--shard K/N`: the K-th of N parts (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Parses `K/N` with 1 ≤ K ≤ N.
    pub fn parse(s: &str) -> std::result::Result<Shard, String> {
        let parsed =
            s.split_once('/').and_then(|(k, n)| Some((k.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?)));
        match parsed {
            Some((index, count)) if index >= 1 && index <= count => Ok(Shard { index, count }),
            _ => Err(format!("--shard {s}: expected K/N with 1 ≤ K ≤ N, e.g. 2/8")),
        }
    }

    /// This shard's rows of a table of `rows` rows.
    pub fn range(&self, rows: u64) -> Range<u64> {
        let at = |k: u64| (rows as u128 * k as u128 / self.count as u128) as u64;
        at(self.index - 1)..at(self.index)
    }
}

/// Rows `range` of table `t` as one batch.
pub fn batch(ds: &Dataset, t: usize, range: Range<u64>) -> Result<RecordBatch> {
    let table = &ds.tables[t];
    let len = (range.end - range.start) as usize;
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(table.kinds.len());
    for (c, kind) in table.kinds.iter().enumerate() {
        let mut builder = ColumnBuilder::new(*kind, len);
        for row in range.clone() {
            append(&mut builder, &ds.cell(t, c, row)).map_err(|e| {
                Error::Transform(RowError {
                    table: table.name.clone(),
                    column: table.schema.field(c).name().clone(),
                    row: row + 1,
                    reason: format!("the generated value does not fit the column: {e}"),
                })
            })?;
        }
        arrays.push(builder.finish());
    }
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(len));
    RecordBatch::try_new_with_options(table.schema.clone(), arrays, &options)
        .map_err(|e| Error::target(&table.name, format!("building a batch: {e}")))
}

/// Generates `shard` of every table of `ds` into `sink` through the [`Sink`] contract: each
/// table opened with its row count and first row ([`Sink::open_table_rows`]), written a
/// window of chunks at a time, finished; everything published by one [`Sink::commit`] at the
/// end (nothing on an error or an interrupt). `observers` (the report's figures), when given,
/// hold one observer per table of `ds` and see every batch written. Returns the rows written.
pub fn write_dataset(
    ds: &Dataset,
    shard: Shard,
    mut sink: Box<dyn Sink>,
    pool: &rayon::ThreadPool,
    cancel: &AtomicBool,
    mut observers: Option<&mut [super::report::Observer]>,
) -> Result<u64> {
    let mut total = 0u64;
    for (t, table) in ds.tables.iter().enumerate() {
        let range = shard.range(table.rows);
        let mut table_sink = sink.open_table_rows(&table.name, table.schema.clone(), table.rows, range.start)?;
        let observer = observers.as_deref_mut().and_then(|o| o.get_mut(t));
        total += write_table(ds, t, range, pool, table_sink.as_mut(), cancel, observer)?;
        table_sink.finish()?;
    }
    sink.commit()?;
    Ok(total)
}

/// Generates rows `range` of table `t` into `sink`: windows of chunks are generated on
/// `pool` while the previous window is written (and counted by `observer`, if any); returns
/// the rows written.
pub fn write_table(
    ds: &Dataset,
    t: usize,
    range: Range<u64>,
    pool: &rayon::ThreadPool,
    sink: &mut dyn TableSink,
    cancel: &AtomicBool,
    mut observer: Option<&mut super::report::Observer>,
) -> Result<u64> {
    let progress = crate::progress::track(&ds.tables[t].name, Some(Total::Exact(range.end - range.start)));
    // Chunks are made a window at a time: a table of 10^12 rows has 10^8 of them.
    let window = pool.current_num_threads().max(1) as u64 * 2;
    let (sender, receiver) = crossbeam_channel::bounded::<Vec<Result<RecordBatch>>>(1);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || {
            let mut next = range.start;
            while next < range.end {
                if cancel.load(Ordering::Relaxed) {
                    return;
                }
                let group: Vec<Range<u64>> = (0..window)
                    .map_while(|_| {
                        let start = next;
                        (start < range.end).then(|| {
                            next = (start + CHUNK_ROWS).min(range.end);
                            start..next
                        })
                    })
                    .collect();
                let batches = pool.install(|| group.par_iter().map(|r| batch(ds, t, r.clone())).collect());
                if sender.send(batches).is_err() {
                    return;
                }
            }
        });
        let mut written = Ok(());
        for batches in receiver.iter() {
            for b in batches {
                written = b.and_then(|b| {
                    if let Some(o) = observer.as_deref_mut() {
                        pool.install(|| o.observe(&b))?;
                    }
                    sink.write(&b)?;
                    progress.add(b.num_rows() as u64);
                    Ok(())
                });
                if written.is_err() {
                    break;
                }
            }
            if written.is_err() {
                break;
            }
        }
        // Dropping the receiver stops the producer at its next window.
        drop(receiver);
        let _ = producer.join();
        written
    })?;
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    progress.finish();
    Ok(range.end - range.start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_rows_into_contiguous_disjoint_ranges() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "x", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        let ranges: Vec<_> = (1..=3).map(|k| Shard { index: k, count: 3 }.range(10)).collect();
        assert_eq!(ranges, [0..3, 3..6, 6..10]);
        assert_eq!(Shard::WHOLE.range(7), 0..7);
    }
}
