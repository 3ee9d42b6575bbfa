//! Streaming one table: a dedicated thread owns the reader's connection, runs the COPY and
//! decodes rows into batches, and hands them over a bounded channel (capacity 2), so memory
//! stays at a few batches whatever the table size and the returned stream is `Send`.
//!
//! ```text
//! reader thread: CopyOutReader ─rows─▶ RowDecoder ─RecordBatch─▶ bounded(2) ─▶ BatchStream
//! ```
//!
//! A table copied unchanged ([`spawn_raw`]) goes the same way as raw COPY data cut into
//! chunks of whole rows ([`crate::pg::raw_copy`]), never decoded.
//!
//! After the COPY, before its last batch, the reader checks that the table was not emptied
//! or rewritten after the snapshot was taken ([`check_not_rewritten`]).
//!
//! Dropping the stream early disconnects the channel: the thread's next send fails, it
//! cancels the COPY on the server (otherwise closing the connection would first drain the
//! rest of the table), and drops the connection. A decoding error stops the same way.

use std::io::BufRead;
use std::thread;

use arrow_array::RecordBatch;
use crossbeam_channel::{Receiver, Sender};
use postgres::Client;

use crate::error::{Error, Result};
use crate::pg::catalog::PgTable;
use crate::pg::copy_text::{ReadError, RowReader};
use crate::pg::decode::{RowDecoder, RowFailure};
use crate::pg::decode_binary::BinaryRowDecoder;
use crate::pg::error::describe_query_error;
use crate::pg::raw_copy::{Chunker, CopyFormat, FramingError, RawChunk};
use crate::pg::tls::MakeTls;
use crate::source::{BatchStream, RawStream};

/// What the reader thread sends: batches, or raw chunks.
enum Msg<T> {
    Item(T),
    Failed(Error),
    /// The COPY completed and every row was sent.
    End,
}

/// Why the reader thread stopped early.
enum Stop {
    /// The consumer dropped the stream.
    Disconnected,
    Failed(Error),
}

/// What a reader needs to name things in its messages.
#[derive(Clone)]
pub(super) struct Names {
    pub location: String,
    pub user: String,
    pub table: String,
    pub columns: Vec<String>,
    /// The table's schema and name in the catalog, for [`check_not_rewritten`].
    pub relation: (String, String),
    /// The connection's TLS connector: a cancel request goes the same way as the connection.
    pub tls: MakeTls,
}

impl Names {
    fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::source(&self.location, format!("table {}: {message}", self.table))
    }

    fn row_error(&self, f: &RowFailure) -> Error {
        match f.column {
            Some(c) => self.error(format!("column {}, row {}: {}", self.columns[c], f.row, f.problem)),
            None => self.error(format!("row {}: {}", f.row, f.problem)),
        }
    }
}

/// Starts reading `table` on `client` (already inside the snapshot) in a thread, with `query`
/// (a `COPY (SELECT …) TO STDOUT` of its columns in order); the columns at `carried` come as
/// their COPY text ([`crate::pg::carried`]).
pub(super) fn spawn(
    client: Client,
    table: &PgTable,
    schema: arrow_schema::SchemaRef,
    query: &str,
    names: Names,
    carried: &[usize],
    batch_rows: usize,
) -> Result<BatchStream> {
    let decoder = RowDecoder::carrying(schema, table.kinds(), carried, batch_rows);
    let stream = start(query, names, move |query, names, tx| copy_table(client, query, decoder, names, tx))?;
    Ok(Box::new(stream))
}

/// Starts reading `query` (a `COPY (SELECT …) TO STDOUT (FORMAT binary)` of every column) in
/// a thread, decoded by `decoder` (which carries some columns, [`crate::pg::carried`]).
pub(super) fn spawn_binary(
    client: Client,
    query: &str,
    names: Names,
    decoder: BinaryRowDecoder,
    fields: usize,
) -> Result<BatchStream> {
    let chunker = Chunker::new(CopyFormat::Binary, fields);
    let stream =
        start(query, names, move |query, names, tx| copy_binary_table(client, query, chunker, decoder, names, tx))?;
    Ok(Box::new(stream))
}

/// Starts reading `query` (a `COPY (SELECT …) TO STDOUT` of `fields` columns in `format`) as
/// raw chunks of whole rows, in a thread.
pub(super) fn spawn_raw(
    client: Client,
    query: &str,
    names: Names,
    format: CopyFormat,
    fields: usize,
) -> Result<RawStream> {
    let chunker = Chunker::new(format, fields);
    let stream = start(query, names, move |query, names, tx| copy_raw(client, query, chunker, names, tx))?;
    Ok(Box::new(stream))
}

/// Runs `copy` in a reader thread; its items come out of the returned stream.
fn start<T: Send + 'static>(
    query: &str,
    names: Names,
    copy: impl FnOnce(&str, &Names, &Sender<Msg<T>>) -> Result<u64, Stop> + Send + 'static,
) -> Result<PgStream<T>> {
    let (tx, rx) = crossbeam_channel::bounded(2);
    let query = query.to_string();
    let thread_names = names.clone();
    thread::Builder::new()
        .name(format!("doppel-pg-read {}", names.table))
        .spawn(move || {
            let started = std::time::Instant::now();
            match copy(&query, &thread_names, &tx) {
                Ok(rows) => {
                    tracing::debug!(table = %thread_names.table, rows, elapsed = ?started.elapsed(), "table read");
                    let _ = tx.send(Msg::End);
                }
                Err(Stop::Disconnected) => {
                    tracing::debug!(table = %thread_names.table, "stream dropped; reading stopped");
                }
                Err(Stop::Failed(e)) => {
                    let _ = tx.send(Msg::Failed(e));
                }
            }
        })
        .map_err(|e| names.error(format!("cannot start a reader thread ({e})")))?;
    Ok(PgStream { rx, names: Some(names) })
}

fn copy_table(
    mut client: Client,
    query: &str,
    mut decoder: RowDecoder,
    names: &Names,
    tx: &Sender<Msg<RecordBatch>>,
) -> Result<u64, Stop> {
    // Stopping early must not drain the rest of the table: the server only reads our
    // Terminate after the COPY ends, so ask it to cancel the COPY first.
    let cancel = client.cancel_token();
    let copy = client.copy_out(query).map_err(|e| starting_failed(&e, names))?;
    let mut rows = RowReader::new(copy);
    let result = rows.for_each_row(|line| -> Result<(), Stop> {
        decoder.push_row(line).map_err(|f| Stop::Failed(names.row_error(&f)))?;
        if decoder.batch_full() {
            send_batch(&mut decoder, names, tx)?;
        }
        Ok(())
    });
    match result {
        Ok(()) => {}
        Err(ReadError::Callback(stop)) => return Err(cancelled(&cancel, names, stop)),
        Err(ReadError::Truncated) => return Err(Stop::Failed(truncated(names, decoder.rows() + 1))),
        Err(ReadError::Io(e)) => return Err(Stop::Failed(read_failed(names, &e, decoder.rows()))),
    }
    drop(rows);
    check_not_rewritten(&mut client, names).map_err(Stop::Failed)?;
    if decoder.has_rows() {
        send_batch(&mut decoder, names, tx)?;
    }
    // Read-only: ending the session ends the transaction.
    drop(client);
    Ok(decoder.rows())
}

/// [`copy_table`] for raw COPY data: the bytes as they come, cut into whole rows.
fn copy_raw(
    mut client: Client,
    query: &str,
    mut chunker: Chunker,
    names: &Names,
    tx: &Sender<Msg<RawChunk>>,
) -> Result<u64, Stop> {
    let cancel = client.cancel_token();
    let mut copy = client.copy_out(query).map_err(|e| starting_failed(&e, names))?;
    for_each_chunk(&mut copy, &mut chunker, names, &cancel, |chunk| {
        tx.send(Msg::Item(chunk)).map_err(|_| Stop::Disconnected)
    })?;
    drop(copy);
    check_not_rewritten(&mut client, names).map_err(Stop::Failed)?;
    let rows = chunker.rows();
    let last = chunker.finish().map_err(|e| framing_failed(names, e))?;
    if !last.bytes.is_empty() {
        tx.send(Msg::Item(last)).map_err(|_| Stop::Disconnected)?;
    }
    drop(client);
    Ok(rows)
}

/// [`copy_table`] for binary COPY data: cut into whole tuples, then decoded.
fn copy_binary_table(
    mut client: Client,
    query: &str,
    mut chunker: Chunker,
    mut decoder: BinaryRowDecoder,
    names: &Names,
    tx: &Sender<Msg<RecordBatch>>,
) -> Result<u64, Stop> {
    let cancel = client.cancel_token();
    let mut copy = client.copy_out(query).map_err(|e| starting_failed(&e, names))?;
    let decode = |decoder: &mut BinaryRowDecoder, chunk: RawChunk| {
        decoder.push_tuples(&chunk.bytes, |d| send_binary_batch(d, names, tx), |f| Stop::Failed(names.row_error(&f)))
    };
    for_each_chunk(&mut copy, &mut chunker, names, &cancel, |chunk| decode(&mut decoder, chunk))?;
    drop(copy);
    check_not_rewritten(&mut client, names).map_err(Stop::Failed)?;
    decode(&mut decoder, chunker.finish().map_err(|e| framing_failed(names, e))?)?;
    if decoder.has_rows() {
        send_binary_batch(&mut decoder, names, tx)?;
    }
    drop(client);
    Ok(decoder.rows())
}

/// Feeds the COPY data of `copy` to `chunker` and each chunk of whole rows to `each`; a
/// failure cancels the COPY on the server.
fn for_each_chunk(
    copy: &mut impl BufRead,
    chunker: &mut Chunker,
    names: &Names,
    cancel: &postgres::CancelToken,
    mut each: impl FnMut(RawChunk) -> Result<(), Stop>,
) -> Result<(), Stop> {
    loop {
        let data = match copy.fill_buf() {
            Ok(data) => data,
            Err(e) => return Err(Stop::Failed(read_failed(names, &e, chunker.rows()))),
        };
        if data.is_empty() {
            return Ok(());
        }
        let n = data.len();
        let chunk = chunker.push(data).map_err(|e| framing_failed(names, e));
        copy.consume(n);
        if let Some(chunk) = chunk.map_err(|stop| cancelled(cancel, names, stop))? {
            each(chunk).map_err(|stop| cancelled(cancel, names, stop))?;
        }
    }
}

fn framing_failed(names: &Names, e: FramingError) -> Stop {
    Stop::Failed(names.error(format!("{e}; run again")))
}

fn send_binary_batch(decoder: &mut BinaryRowDecoder, names: &Names, tx: &Sender<Msg<RecordBatch>>) -> Result<(), Stop> {
    let batch = decoder.finish_batch().map_err(|e| {
        Stop::Failed(names.error(format!("cannot assemble a batch ending at row {} ({e})", decoder.rows())))
    })?;
    tx.send(Msg::Item(batch)).map_err(|_| Stop::Disconnected)
}

fn starting_failed(e: &postgres::Error, names: &Names) -> Stop {
    Stop::Failed(names.error(format!("starting COPY: {}", describe_query_error(e, &names.user))))
}

/// Cancels the COPY on the server before the connection is dropped, and passes `stop` on.
fn cancelled(cancel: &postgres::CancelToken, names: &Names, stop: Stop) -> Stop {
    if let Err(e) = cancel.cancel_query(names.tls.clone()) {
        tracing::debug!(table = %names.table, error = %e, "cannot cancel the COPY; the connection is dropped");
    }
    stop
}

fn truncated(names: &Names, row: u64) -> Error {
    names.error(format!("the COPY data ended in the middle of row {row}; the connection was probably lost, run again"))
}

fn read_failed(names: &Names, e: &std::io::Error, after_row: u64) -> Error {
    let why = match e.get_ref().and_then(|inner| inner.downcast_ref::<postgres::Error>()) {
        Some(pg) => describe_query_error(pg, &names.user),
        None => format!("the connection failed ({})", e.kind()),
    };
    names.error(format!("reading failed after row {after_row}: {why}"))
}

/// The storage of a table (and of its partitions) in the snapshot's catalog and now: a row
/// whose file differs was emptied or rewritten after the snapshot was taken.
const REWRITTEN: &str = "WITH RECURSIVE rel(oid) AS ( \
       SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
       WHERE n.nspname = $1 AND c.relname = $2 \
     UNION ALL \
       SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN rel ON i.inhparent = rel.oid \
       JOIN pg_catalog.pg_class p ON p.oid = i.inhrelid WHERE p.relispartition) \
     SELECT count(*) FROM rel JOIN pg_catalog.pg_class c ON c.oid = rel.oid \
     WHERE c.relfilenode <> 0 AND c.relfilenode IS DISTINCT FROM pg_catalog.pg_relation_filenode(c.oid)";

/// After the COPY, still holding its lock: fails if the table was truncated or rewritten
/// (TRUNCATE, a table-rewriting ALTER TABLE) after the snapshot was taken. Such commands are
/// not MVCC-safe: the snapshot then sees the new, empty storage, and the COPY a short table.
/// The source's locks keep them out of the tables it could lock; this catches the rest (a
/// table readable through column privileges only, which cannot be locked). The snapshot's
/// `pg_class` row names the storage the snapshot knew; `pg_relation_filenode` the current one.
fn check_not_rewritten(client: &mut Client, names: &Names) -> Result<(), Error> {
    let (schema, table) = &names.relation;
    let rewritten: i64 = client
        .query_one(REWRITTEN, &[schema, table])
        .map_err(|e| {
            names.error(format!("checking that the table was not rewritten: {}", describe_query_error(&e, &names.user)))
        })?
        .get(0);
    if rewritten > 0 {
        return Err(names.error(
            "another session emptied or rewrote the table (TRUNCATE, ALTER TABLE … TYPE, …) after the snapshot was \
             taken, so the rows read are not the snapshot's; nothing was published. Run again; grant the reading \
             role SELECT on the whole table so that doppel can lock it for the run",
        ));
    }
    Ok(())
}

fn send_batch(decoder: &mut RowDecoder, names: &Names, tx: &Sender<Msg<RecordBatch>>) -> Result<(), Stop> {
    let batch = decoder.finish_batch().map_err(|e| {
        Stop::Failed(names.error(format!("cannot assemble a batch ending at row {} ({e})", decoder.rows())))
    })?;
    tx.send(Msg::Item(batch)).map_err(|_| Stop::Disconnected)
}

/// The consumer's end. Ends after [`Msg::End`]; a thread that vanished without it (a panic)
/// is an error, never a silently short table.
struct PgStream<T> {
    rx: Receiver<Msg<T>>,
    /// `None` once the stream has ended.
    names: Option<Names>,
}

impl<T> Iterator for PgStream<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        let names = self.names.as_ref()?;
        match self.rx.recv() {
            Ok(Msg::Item(item)) => Some(Ok(item)),
            Ok(Msg::End) => {
                self.names = None;
                None
            }
            Ok(Msg::Failed(e)) => {
                self.names = None;
                Some(Err(e))
            }
            Err(_) => {
                let e =
                    names.error("the reader thread stopped unexpectedly; this is a bug in doppel, please report it");
                self.names = None;
                Some(Err(e))
            }
        }
    }
}
