//! The one-read run of a table whose `unique` domains are its own templates
//! ([`crate::transform::Transformer::deferrable`]): instead of reading the table once for
//! pass 1 and again for the run, the run reads it once and keeps its output aside on disk
//! until the last row, when the domains are resolved; the output then goes to the target
//! with its unique values made final. The values are the same as after pass 1: the same
//! pairs, the same ranks, the same decisions.
//!
//! ```text
//! first half   reader ──▶ apply_first (pool): first values, pairs collected, ranks kept
//!              ──▶ spill (Arrow IPC, an unnamed temporary file: gone when the run ends)
//! resolve      the table's domains sorted and made final (finish_deferred)
//! second half  spill ──▶ apply_ranked (pool): tags where an input lost ──▶ writer
//! ```
//!
//! Memory stays as for any table (a few batches); disk holds the table's output once, in
//! Arrow's uncompressed form, in the system's temporary directory (`TMPDIR`). The target
//! receives the rows only in the second half, so a table's load does not overlap its
//! transform; the gain is the read and the first values that pass 1 would compute again.

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;

use crate::error::{Error, Result};
use crate::sink::TableSink;
use crate::source::BatchStream;

/// Where the first half's output goes: a [`TableSink`] writing Arrow IPC to an unnamed
/// temporary file, handed back by [`Spill::into_stream`] once finished.
pub struct Spill {
    table: String,
    writer: Option<StreamWriter<BufWriter<File>>>,
    done: Arc<Mutex<Option<File>>>,
}

/// The finished spill of a table, read back by [`SpillDone::into_stream`].
pub struct SpillDone {
    table: String,
    done: Arc<Mutex<Option<File>>>,
}

impl Spill {
    /// A spill for `table` (for messages) and the handle its file comes back through.
    pub fn new(table: &str) -> (Spill, SpillDone) {
        let done = Arc::new(Mutex::new(None));
        let spill = Spill { table: table.to_string(), writer: None, done: done.clone() };
        (spill, SpillDone { table: table.to_string(), done })
    }

    fn error(&self, doing: &str, e: impl std::fmt::Display) -> Error {
        spill_error(&self.table, doing, e)
    }
}

/// A failure of the spill: a target error (the output could not be written), naming the
/// temporary directory it was written to.
fn spill_error(table: &str, doing: &str, e: impl std::fmt::Display) -> Error {
    Error::target(
        format!("{} (temporary file)", std::env::temp_dir().display()),
        format!(
            "table {table}: {doing} the output kept aside while its unique values are resolved: {e}; set TMPDIR \
             to a directory on a disk with room for the table's output"
        ),
    )
}

impl TableSink for Spill {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => {
                let file = tempfile::tempfile().map_err(|e| self.error("creating", e))?;
                let writer = StreamWriter::try_new(BufWriter::with_capacity(1 << 20, file), batch.schema_ref())
                    .map_err(|e| self.error("writing", e))?;
                self.writer.insert(writer)
            }
        };
        writer.write(batch).map_err(|e| spill_error(&self.table, "writing", e))
    }

    fn finish(mut self: Box<Self>) -> Result<u64> {
        let Some(mut writer) = self.writer.take() else { return Ok(0) };
        writer.finish().map_err(|e| self.error("writing", e))?;
        let file = writer.into_inner().map_err(|e| self.error("writing", e))?;
        let file = file.into_inner().map_err(|e| self.error("writing", e.error()))?;
        *self.done.lock().unwrap_or_else(|p| p.into_inner()) = Some(file);
        Ok(0)
    }
}

impl SpillDone {
    /// The batches written, in their order (none if the table had no rows).
    pub fn into_stream(self) -> Result<BatchStream> {
        let file = self.done.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(mut file) = file else { return Ok(Box::new(std::iter::empty())) };
        let table = self.table;
        file.seek(SeekFrom::Start(0)).map_err(|e| spill_error(&table, "reading", e))?;
        let reader = StreamReader::try_new(BufReader::with_capacity(1 << 20, file), None)
            .map_err(|e| spill_error(&table, "reading", e))?;
        Ok(Box::new(reader.map(move |batch| batch.map_err(|e| spill_error(&table, "reading", e)))))
    }
}
