//! Sinks: where transformed rows go. A sink publishes nothing until [`Sink::commit`]; a sink
//! dropped without a commit (error, interrupt, panic) removes what it staged.
//!
//! | location                          | sink                                                   |
//! |-----------------------------------|--------------------------------------------------------|
//! | `postgres://…`, `postgresql://…`  | a PostgreSQL database, new or replaced ([`postgres`])  |
//! | `*.sql`, `-`                      | a plain SQL dump ([`postgres::dump`])                  |
//! | any other path                    | a directory of Parquet files ([`parquet`])             |

pub mod parquet;
pub mod postgres;
mod rechunk;
pub mod staging;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::error::Result;

pub use rechunk::Rechunker;

pub trait Sink: Send {
    /// Starts writing one table.
    fn open_table(&mut self, name: &str, schema: SchemaRef) -> Result<Box<dyn TableSink>>;
    /// Publishes everything written, atomically where the target allows it.
    fn commit(self: Box<Self>) -> Result<()>;
    /// Whether several tables may be open at once (`--jobs`). A sink that writes one stream
    /// (a SQL dump) says no, and the pipeline then runs one table at a time.
    fn tables_in_parallel(&self) -> bool {
        true
    }
    /// Where the finished but unpublished output can be read before [`Sink::commit`] (for
    /// `doppel run --verify`), if this sink can tell.
    fn staged_location(&self) -> Option<crate::source::Location> {
        None
    }
}

pub trait TableSink: Send {
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
    /// Completes the table; returns the bytes written.
    fn finish(self: Box<Self>) -> Result<u64>;
}
