//! Loading one table: `COPY … FROM STDIN` fed batch by batch from a writer thread of its own,
//! as text ([`super::copy_text`]) or binary ([`super::copy_binary`]). The [`TableSink`] the
//! pipeline writes to projects each batch on the copied columns, encodes it and hands it to
//! the writer through a bounded channel; a COPY is finished only when the table is, so a failed
//! or interrupted run loads nothing more.

use std::io::Write;
use std::sync::Arc;
use std::thread::JoinHandle;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use crossbeam_channel::{Receiver, Sender, bounded};
use postgres::Client;

use crate::error::{Error, Result};
use crate::pg::error::describe;
use crate::pg::raw_copy::{CopyFormat, RawChunk, RawRequest};
use crate::sink::TableSink;

use super::copy_binary::{self, BinaryEncoder};
use super::copy_text;

/// What a [`TableSink`] of [`start_copy`] sends its writer thread.
pub enum Chunk {
    Data(Vec<u8>),
    Finish,
}

/// Starts the [`TableSink`] of table `name`: batches are projected on `columns`, given the
/// `projected` schema, encoded as COPY text and passed to `copy`, which runs on a writer thread
/// of its own (usually [`copy_thread`] on some connection). With `raw_major` (the target
/// server's major version), the table sink also takes raw COPY data of a table copied
/// unchanged, in its own format ([`crate::pg::raw_copy`]).
/// The form of the COPY data a table sink sends.
pub struct CopyForm {
    /// Binary COPY; `None`: text.
    pub binary: Option<BinaryEncoder>,
    /// The target's major version, when raw COPY data of the source is taken.
    pub raw_major: Option<u32>,
}

pub fn start_copy(
    location: &str,
    name: &str,
    columns: Vec<usize>,
    projected: SchemaRef,
    form: CopyForm,
    on_loaded: Option<super::early::Loaded>,
    copy: impl FnOnce(Receiver<Chunk>) -> std::result::Result<u64, String> + Send + 'static,
) -> Result<Box<dyn TableSink>> {
    let CopyForm { binary, raw_major } = form;
    let (sender, receiver) = bounded::<Chunk>(2);
    if binary.is_some() {
        // The channel is empty: this cannot block.
        let _ = sender.send(Chunk::Data(copy_binary::HEADER.to_vec()));
    }
    let writer = std::thread::Builder::new()
        .name(format!("copy-in {name}"))
        .spawn(move || copy(receiver))
        .map_err(|e| Error::target(location, format!("table {name}: cannot start a writer thread: {e}")))?;
    Ok(Box::new(PostgresTableSink {
        location: location.to_string(),
        table: name.to_string(),
        columns,
        schema: projected,
        sender: Some(sender),
        writer: Some(writer),
        binary,
        raw_major,
        on_loaded,
        rows: 0,
        bytes: 0,
        buffer: Vec::new(),
    }))
}

/// Runs one COPY: writes the chunks it receives; finishes the COPY only on [`Chunk::Finish`]
/// (a closed channel without it aborts the COPY, so a failed run loads nothing more).
pub fn copy_thread(client: &mut Client, statement: &str, chunks: Receiver<Chunk>) -> std::result::Result<u64, String> {
    let mut writer = client.copy_in(statement).map_err(|e| format!("starting COPY: {}", describe(&e)))?;
    for chunk in chunks {
        match chunk {
            Chunk::Data(bytes) => {
                if let Err(e) = writer.write_all(&bytes) {
                    // The server's reason arrives when the COPY is finished.
                    let finish = writer.finish();
                    return Err(match finish {
                        Err(pe) => format!("COPY failed: {}", describe(&pe)),
                        Ok(_) => format!("COPY failed: writing to the server: {}", e.kind()),
                    });
                }
            }
            Chunk::Finish => return writer.finish().map_err(|e| format!("COPY failed: {}", describe(&e))),
        }
    }
    Err("the run stopped before the table was complete".to_string())
}

struct PostgresTableSink {
    location: String,
    table: String,
    /// Indices of the columns sent (generated columns are left out).
    columns: Vec<usize>,
    schema: Arc<Schema>,
    sender: Option<Sender<Chunk>>,
    writer: Option<JoinHandle<std::result::Result<u64, String>>>,
    /// Binary COPY (header already sent); `None`: text.
    binary: Option<BinaryEncoder>,
    /// The target's major version when raw COPY data is taken.
    raw_major: Option<u32>,
    /// Told the row count once the COPY has finished ([`super::early`]).
    on_loaded: Option<super::early::Loaded>,
    /// Rows sent so far, for row numbers in errors.
    rows: u64,
    bytes: u64,
    buffer: Vec<u8>,
}

impl PostgresTableSink {
    /// Hands encoded rows to the writer thread.
    fn send(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.bytes += bytes.len() as u64;
        let sent = self.sender.as_ref().map(|s| s.send(Chunk::Data(bytes)).is_ok()).unwrap_or(false);
        if !sent {
            return Err(self.writer_error());
        }
        Ok(())
    }

    fn writer_error(&mut self) -> Error {
        self.sender = None;
        let message = match self.writer.take().map(JoinHandle::join) {
            Some(Ok(Err(m))) => m,
            Some(Err(_)) => "the COPY writer thread panicked".to_string(),
            _ => "the COPY stopped".to_string(),
        };
        Error::target(&self.location, format!("table {}: {message}", self.table))
    }
}

impl TableSink for PostgresTableSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let batch = batch.project(&self.columns).map_err(|e| Error::target(&self.location, e))?;
        let batch = crate::sink::with_schema(&batch, self.schema.clone())
            .map_err(|e| Error::target(&self.location, format!("table {}: {e}", self.table)))?;
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        match &self.binary {
            Some(encoder) => encoder.encode(&batch, &mut buffer).map_err(|e| {
                Error::target(
                    &self.location,
                    format!(
                        "table {}, column {}, row {}: {}",
                        self.table,
                        e.column,
                        self.rows + e.row as u64 + 1,
                        e.reason
                    ),
                )
            })?,
            None => copy_text::encode_batch(&batch, &mut buffer),
        }
        self.rows += batch.num_rows() as u64;
        self.send(buffer)
    }

    fn raw_request(&self) -> Option<RawRequest> {
        let format = if self.binary.is_some() { CopyFormat::Binary } else { CopyFormat::Text };
        Some(RawRequest { columns: self.columns.clone(), format, server_major: Some(self.raw_major?) })
    }

    fn write_raw(&mut self, chunk: RawChunk) -> Result<()> {
        self.rows += chunk.rows;
        self.send(chunk.bytes)
    }

    fn finish(mut self: Box<Self>) -> Result<u64> {
        let trailer = self.binary.is_some().then(|| Chunk::Data(copy_binary::TRAILER.to_vec()));
        let sent = self
            .sender
            .take()
            .map(|s| trailer.into_iter().chain([Chunk::Finish]).all(|chunk| s.send(chunk).is_ok()))
            .unwrap_or(false);
        match self.writer.take().map(JoinHandle::join) {
            Some(Ok(Ok(rows))) if sent => {
                tracing::debug!(table = %self.table, rows, "COPY finished");
                if let Some(loaded) = self.on_loaded.take() {
                    loaded(self.rows);
                }
                Ok(self.bytes)
            }
            Some(Ok(Err(m))) => Err(Error::target(&self.location, format!("table {}: {m}", self.table))),
            Some(Err(_)) => {
                Err(Error::target(&self.location, format!("table {}: the COPY writer thread panicked", self.table)))
            }
            _ => Err(Error::target(&self.location, format!("table {}: the COPY stopped", self.table))),
        }
    }
}

impl Drop for PostgresTableSink {
    fn drop(&mut self) {
        // Closing the channel without Finish aborts the COPY.
        self.sender = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_sink_is_send() {
        fn is_send<T: Send>() {}
        is_send::<PostgresTableSink>();
    }
}
