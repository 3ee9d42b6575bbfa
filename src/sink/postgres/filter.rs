//! The stream filter: `doppel run --from DUMP --to -` writes the dump's own plain script to
//! stdout with only its table data replaced, so that `pg_dump … | doppel run --from - --to - |
//! psql …` restores exactly what the dump would, anonymised.
//!
//! ```text
//! -- doppel header                            (comment lines)
//! BEGIN;
//! <the script up to table a's COPY line, COPY line included, byte for byte>
//! <table a's anonymised rows>
//! \.
//! <the script up to the next table's COPY line …>   a skipped table's block is left out
//! <the rest of the script: post-data, grants, comments, \unrestrict …>
//! SELECT pg_catalog.setval(…);                only for sequences the written keys raise
//! COMMIT;                                     the last line, written only on success
//! ```
//!
//! Everything that is not table data (settings, extensions, types, functions, views, owners,
//! grants, comments, sequence values, constraints, indexes) is copied from the script as it
//! stands and in its order; tables come in the script's order ([`Sink::table_order`]). The
//! source has already read the whole dump to disk (its keys and constraints come after the
//! data, and `unique` columns need a first pass over the rows), so the filter reads the
//! script back from that file by offsets ([`ScriptLayout`]): memory does not grow with it.
//!
//! A failed run leaves the script without its `COMMIT;` and appends a statement that fails
//! ([`super::dump`]'s abandonment), so no restore of it loads anything.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use super::dump::{DumpTableSink, HEADER_START, Output, SequenceValue, Shared, abandon_unless, dumped_sequences};
use crate::error::{Error, Result};
use crate::pg::roles::RoleMap;
use crate::schema::{DumpedSchema, ScriptLayout};
use crate::sink::{Sink, TableSink};

/// A dump's script, filtered to stdout, as a [`Sink`].
pub struct FilterSink {
    shared: Arc<Mutex<Shared>>,
    location: String,
    script: ScriptLayout,
    input: File,
    /// How far the script has been written (or skipped).
    written: u64,
    /// The first block not yet reached.
    next: usize,
    sequences: Arc<Vec<SequenceValue>>,
    committed: bool,
}

impl std::fmt::Debug for FilterSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilterSink").field("script", &self.script.file).finish_non_exhaustive()
    }
}

impl FilterSink {
    /// Starts the filtered script of `dumped` on stdout: doppel's header and `BEGIN;`.
    /// `roles` must be empty: owners and privileges pass through as the dump has them.
    pub fn create(dumped: &DumpedSchema, rules_fingerprint: &str, roles: &RoleMap) -> Result<FilterSink> {
        let location = "-".to_string();
        if !roles.is_empty() {
            return Err(Error::Usage(
                "--role-map: a dump filtered to stdout keeps its owners and privileges as they stand; write to a \
                 FILE.sql to have them rewritten"
                    .into(),
            ));
        }
        let script = dumped.script.clone();
        let input = File::open(&script.file)
            .map_err(|e| Error::source(script.file.display(), format!("cannot read the dump again ({e})")))?;
        let sequences = dumped_sequences(dumped);
        let out = Output::Stdout(std::io::BufWriter::with_capacity(1 << 20, std::io::stdout()));
        let shared = Shared::new(out, &location, sequences.len());
        let header = format!(
            "{HEADER_START}{} SQL dump filter: the dump's own script, its table data anonymised (rules blake3 \
             {rules_fingerprint})\n-- Restore into an empty database with: psql -X -v ON_ERROR_STOP=1 -d DBNAME -f \
             FILE\n-- It runs in one transaction that commits at the end of this file.\n--\n\nBEGIN;\n\n",
            env!("CARGO_PKG_VERSION")
        );
        shared.lock().map_err(|_| poisoned(&location))?.write(header.as_bytes())?;
        Ok(FilterSink {
            shared,
            location,
            script,
            input,
            written: 0,
            next: 0,
            sequences: Arc::new(sequences),
            committed: false,
        })
    }

    /// Writes the script from where it stands up to `to`, leaving out the blocks of the
    /// tables not opened before it (skipped by the rules), and goes on from `resume`.
    fn pass_through(&mut self, blocks_before: usize, to: u64, resume: u64) -> Result<()> {
        let mut shared = self.shared.lock().map_err(|_| poisoned(&self.location))?;
        for i in self.next..blocks_before {
            let block = &self.script.blocks[i];
            copy_range(&mut self.input, &self.script, self.written, block.copy_line, &mut shared)?;
            self.written = block.end;
        }
        copy_range(&mut self.input, &self.script, self.written, to, &mut shared)?;
        self.written = resume;
        self.next = blocks_before;
        Ok(())
    }
}

/// Copies bytes `from..to` of the script to the output.
fn copy_range(input: &mut File, script: &ScriptLayout, from: u64, to: u64, shared: &mut Shared) -> Result<()> {
    let read = |e: std::io::Error| Error::source(script.file.display(), format!("reading the dump again: {e}"));
    input.seek(SeekFrom::Start(from)).map_err(read)?;
    let mut buffer = vec![0u8; 1 << 16];
    let mut left = to.saturating_sub(from);
    while left > 0 {
        let n = input.read(&mut buffer[..left.min(1 << 16) as usize]).map_err(read)?;
        if n == 0 {
            return Err(read(std::io::ErrorKind::UnexpectedEof.into()));
        }
        shared.write(&buffer[..n])?;
        left -= n as u64;
    }
    Ok(())
}

fn poisoned(location: &str) -> Error {
    Error::target(location, "a writer thread panicked")
}

impl Sink for FilterSink {
    /// One script, written in order.
    fn tables_in_parallel(&self) -> bool {
        false
    }

    fn table_order(&self) -> Option<Vec<String>> {
        Some(self.script.blocks.iter().map(|b| b.table.clone()).collect())
    }

    fn open_table(&mut self, name: &str, schema: SchemaRef) -> Result<Box<dyn TableSink>> {
        let Some(index) = self.script.blocks.iter().position(|b| b.table == name) else {
            // No data in the dump: nothing to write.
            return Ok(Box::new(NoBlock { location: self.location.clone(), table: name.to_string() }));
        };
        if index < self.next {
            return Err(Error::target(&self.location, format!("internal error: table {name} came out of order")));
        }
        let mut sink = DumpTableSink::new(&self.shared, &self.location, &self.sequences, name, &schema)?;
        sink.trailer = b"\\.\n";
        let (rows, end) = (self.script.blocks[index].rows, self.script.blocks[index].end);
        self.pass_through(index, rows, end)?;
        self.next = index + 1;
        self.shared.lock().map_err(|_| poisoned(&self.location))?.in_copy = true;
        Ok(Box::new(sink))
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let end = self.input.metadata().map_err(|e| Error::source(self.script.file.display(), e))?.len();
        self.pass_through(self.script.blocks.len(), end, end)?;
        let shared = self.shared.clone();
        let mut shared = shared.lock().map_err(|_| poisoned(&self.location))?;
        let raised = shared.setvals(&self.sequences, true);
        if !raised.is_empty() {
            shared.write(b"\n--\n-- doppel: sequences below the values written into their columns\n--\n\n")?;
            shared.write(&raised)?;
        }
        shared.write(b"\nCOMMIT;\n")?;
        shared.publish()?;
        self.committed = true;
        tracing::info!(target = %self.location, "SQL dump filter complete");
        Ok(())
    }
}

impl Drop for FilterSink {
    fn drop(&mut self) {
        abandon_unless(&self.shared, self.committed);
    }
}

/// A table the dump holds no data for: it gets none.
struct NoBlock {
    location: String,
    table: String,
}

impl TableSink for NoBlock {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match batch.num_rows() {
            0 => Ok(()),
            _ => Err(Error::target(
                &self.location,
                format!("internal error: rows for table {}, which has no data block in the dump", self.table),
            )),
        }
    }

    fn finish(self: Box<Self>) -> Result<u64> {
        Ok(0)
    }
}
