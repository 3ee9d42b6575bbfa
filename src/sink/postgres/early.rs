//! A table's own indexes and keys built as soon as its rows are in, while other tables are
//! still loading, instead of all of post-data after the last table (what `pg_restore` does).
//!
//! ```text
//! start()        post-data archive's entries (pg_restore --list), each INDEX and CONSTRAINT
//!                (primary key, unique, exclusion, check; never a foreign key, a trigger or an
//!                attached partition index) mapped to its table through the source's catalog
//! table loaded   (its COPY finished, at least EARLY_ROWS rows, another table still loading)
//!                ──▶ worker thread: pg_restore --use-list (that table's entries)
//!                --exit-on-error, one connection
//! finish()       the entries built, or the first failure ──▶ the sink restores the rest of
//!                post-data with pg_restore --jobs (foreign keys, triggers, the small tables)
//! ```
//!
//! The entries are the archive's own (the same statements in the same words), so the
//! database built is the same; only the order differs, as between two `pg_restore --jobs`
//! runs. Only plain tables take part (not partitioned tables nor their partitions, whose
//! indexes are attached to their parent's). A table of fewer than [`EARLY_ROWS`] rows waits
//! for the end: its indexes are quick, and one pg_restore per small table would cost more
//! than it saves. So does a table loaded when no other is loading (the last one): the final
//! `pg_restore --jobs` builds its indexes side by side.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Sender, unbounded};

use crate::error::{Error, Result};
use crate::pg::connect::ConnectParams;
use crate::pg::error::describe;
use crate::pg::restore::{Failure, PostDataArchive};

/// Tables with at least this many rows have their indexes built as soon as they are loaded.
pub const EARLY_ROWS: u64 = 100_000;

/// The entries of each table that may be built early, and the worker building them.
pub struct EarlyIndexes {
    by_table: Arc<HashMap<String, Vec<String>>>,
    /// Tables whose COPY has begun and not ended.
    loading: Arc<AtomicUsize>,
    sender: Option<Sender<String>>,
    worker: Option<JoinHandle<Built>>,
}

/// What the worker did: the entries built, and the failure that stopped it.
#[derive(Default)]
pub struct Built {
    pub done: HashSet<String>,
    pub failure: Option<std::result::Result<Failure, Error>>,
}

/// Tells the worker that a table is loaded; handed to each table's COPY.
pub type Loaded = Box<dyn FnOnce(u64) + Send>;

impl EarlyIndexes {
    /// The entries of `archive` that belong to one plain table of `source` (its catalog,
    /// looked up by the entries' OIDs), and a worker that builds them into `target`.
    pub fn start(archive: Arc<PostDataArchive>, source: &ConnectParams, target: ConnectParams) -> Result<EarlyIndexes> {
        let loc = target.location.clone();
        let entries = archive.entries(&loc)?;
        let by_table = Arc::new(tables_of(&entries, source, &loc)?);
        let (sender, receiver) = unbounded::<String>();
        let tables = by_table.clone();
        let loading = Arc::new(AtomicUsize::new(0));
        let still_loading = loading.clone();
        let worker = std::thread::Builder::new()
            .name("early-indexes".into())
            .spawn(move || {
                let mut built = Built::default();
                for table in receiver {
                    if built.failure.is_some() {
                        continue;
                    }
                    let Some(lines) = tables.get(&table) else { continue };
                    // Once no table is loading, pg_restore --jobs builds the rest sooner.
                    if still_loading.load(Ordering::SeqCst) == 0 {
                        continue;
                    }
                    let started = Instant::now();
                    match archive.restore(&target, 1, false, Some(lines)) {
                        Ok(Ok(())) => {
                            tracing::debug!(table, entries = lines.len(), seconds = %format_args!("{:.2}", started.elapsed().as_secs_f64()), "indexes built after the table's load");
                            built.done.extend(lines.iter().cloned());
                        }
                        Ok(Err(failure)) => built.failure = Some(Ok(failure)),
                        Err(e) => built.failure = Some(Err(e)),
                    }
                }
                built
            })
            .map_err(|e| Error::target(&loc, format!("cannot start a thread for post-data: {e}")))?;
        Ok(EarlyIndexes { by_table, loading, sender: Some(sender), worker: Some(worker) })
    }

    /// For the COPY of `table`, which begins now: called with its row count once its rows
    /// are in.
    pub fn on_loaded(&self, table: &str) -> Loaded {
        self.loading.fetch_add(1, Ordering::SeqCst);
        let loading = self.loading.clone();
        let sender = self.sender.clone().filter(|_| self.by_table.contains_key(table));
        let table = table.to_string();
        Box::new(move |rows| {
            loading.fetch_sub(1, Ordering::SeqCst);
            if let Some(sender) = sender.filter(|_| rows >= EARLY_ROWS) {
                let _ = sender.send(table);
            }
        })
    }

    /// Waits for the worker: what it built, or why it stopped.
    pub fn finish(mut self) -> Built {
        self.sender = None;
        self.worker.take().and_then(|w| w.join().ok()).unwrap_or_default()
    }
}

impl Drop for EarlyIndexes {
    fn drop(&mut self) {
        self.sender = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// The entries that can be built early, by table (`schema.table`): INDEX and CONSTRAINT
/// entries whose object (by OID) is on a plain table that is not a partition.
fn tables_of(entries: &[String], source: &ConnectParams, loc: &str) -> Result<HashMap<String, Vec<String>>> {
    let wanted: Vec<(i64, &String)> =
        entries.iter().filter_map(|line| early_oid(line).map(|oid| (oid, line))).collect();
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let mut client = source.connect()?;
    let rows = client
        .query(
            "SELECT o.oid::int8, n.nspname || '.' || t.relname FROM ( \
               SELECT indexrelid AS oid, indrelid AS rel FROM pg_catalog.pg_index \
               UNION ALL SELECT oid, conrelid FROM pg_catalog.pg_constraint WHERE contype <> 'f' AND conrelid <> 0 \
             ) o JOIN pg_catalog.pg_class t ON t.oid = o.rel \
             JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
             WHERE t.relkind = 'r' AND NOT t.relispartition AND o.oid::int8 = ANY($1)",
            &[&wanted.iter().map(|(oid, _)| *oid).collect::<Vec<i64>>()],
        )
        .map_err(|e| Error::target(loc, format!("post-data: looking up the tables of indexes: {}", describe(&e))))?;
    let table_of: HashMap<i64, String> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let mut by_table: HashMap<String, Vec<String>> = HashMap::new();
    for (oid, line) in wanted {
        if let Some(table) = table_of.get(&oid) {
            by_table.entry(table.clone()).or_default().push(line.clone());
        }
    }
    Ok(by_table)
}

/// The object OID of a `pg_restore --list` line that is an INDEX or a (non-foreign-key)
/// CONSTRAINT: `3206; 1259 16412 INDEX public orders_customer_id_idx postgres`.
fn early_oid(line: &str) -> Option<i64> {
    let (_, rest) = line.split_once("; ")?;
    let mut words = rest.split(' ');
    let (_catalog, oid, kind, next) = (words.next()?, words.next()?, words.next()?, words.next()?);
    (matches!(kind, "INDEX" | "CONSTRAINT") && next != "ATTACH").then(|| oid.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::early_oid;

    #[test]
    fn only_indexes_and_constraints_other_than_foreign_keys_are_built_early() {
        assert_eq!(early_oid("3206; 1259 16412 INDEX public orders_customer_id_idx postgres"), Some(16412));
        assert_eq!(early_oid("3205; 2606 16402 CONSTRAINT public customers customers_pkey postgres"), Some(16402));
        assert_eq!(early_oid("3209; 2606 16407 FK CONSTRAINT public orders orders_customer_id_fkey postgres"), None);
        assert_eq!(early_oid("3300; 0 0 INDEX ATTACH public p_1_idx postgres"), None);
        assert_eq!(early_oid("3301; 2620 16500 TRIGGER public t t_audit postgres"), None);
        assert_eq!(early_oid("; a comment"), None);
    }
}
