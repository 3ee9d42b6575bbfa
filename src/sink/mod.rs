//! Sinks: where transformed rows go. A sink publishes nothing until [`Sink::commit`]; a sink
//! dropped without a commit (error, interrupt, panic) removes what it staged.
//!
//! | location                          | sink                                                   |
//! |-----------------------------------|--------------------------------------------------------|
//! | `postgres://…`, `postgresql://…`  | a PostgreSQL database, new or replaced ([`postgres`])  |
//! | `*.sql`, `-`                      | a plain SQL dump ([`postgres::dump`])                  |
//! | `-` from a dump file              | the dump's script, filtered ([`postgres::filter`])     |
//! | any other path                    | a directory of Parquet files ([`parquet`])             |
//! | `s3://…`, `gs://…`, `az://…`      | Parquet files under an object-store prefix (`object_store`, feature `object-store`) |
//!
//! [`open()`] picks and opens the sink for a target location.

pub mod file;
#[cfg(feature = "object-store")]
pub mod object_store;
mod open;
pub mod parquet;
pub mod postgres;
pub mod staging;

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_schema::{ArrowError, SchemaRef};

use crate::error::Result;
use crate::pg::raw_copy::{RawChunk, RawRequest};

pub use open::{SinkOptions, TargetSchema, open};

pub trait Sink: Send {
    /// Starts writing one table.
    fn open_table(&mut self, name: &str, schema: SchemaRef) -> Result<Box<dyn TableSink>>;
    /// Starts writing a table of `table_rows` rows known in advance (`doppel generate`),
    /// from its row `first_row` on (a shard writes a range of the rows). A sink may lay out a
    /// large table differently (Parquet: several files); by default this is
    /// [`Sink::open_table`].
    fn open_table_rows(
        &mut self,
        name: &str,
        schema: SchemaRef,
        table_rows: u64,
        first_row: u64,
    ) -> Result<Box<dyn TableSink>> {
        let _ = (table_rows, first_row);
        self.open_table(name, schema)
    }
    /// Publishes everything written, atomically where the target allows it.
    fn commit(self: Box<Self>) -> Result<()>;
    /// Whether several tables may be open at once (`--jobs`). A sink that writes one stream
    /// (a SQL dump) says no, and the pipeline then runs one table at a time.
    fn tables_in_parallel(&self) -> bool {
        true
    }
    /// The order a sink that takes one table at a time needs its tables in (the stream
    /// filter: the dump's); `None`: name order. Tables it does not name come first.
    fn table_order(&self) -> Option<Vec<String>> {
        None
    }
    /// Where the finished but unpublished output can be read before [`Sink::commit`] (for
    /// `doppel run --verify`), if this sink can tell.
    fn staged_location(&self) -> Option<crate::source::Location> {
        None
    }
}

pub trait TableSink: Send {
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
    /// The raw COPY data this table sink takes in place of batches when the table is copied
    /// unchanged ([`crate::pg::raw_copy`]); `None` when it takes only batches.
    fn raw_request(&self) -> Option<RawRequest> {
        None
    }
    /// Writes whole rows of raw COPY data in the form of [`TableSink::raw_request`].
    fn write_raw(&mut self, _chunk: RawChunk) -> Result<()> {
        Err(crate::error::Error::Usage("internal error: this target takes no raw COPY data".into()))
    }
    /// Completes the table; returns the bytes written.
    fn finish(self: Box<Self>) -> Result<u64>;
}

/// `batch`'s columns under `schema` (the same columns with the target's names and metadata),
/// keeping the row count: a table without columns still has rows, which a plain
/// `RecordBatch::try_new` cannot express. Carried columns ([`crate::pg::carried`]) keep their
/// own field.
pub(crate) fn with_schema(batch: &RecordBatch, schema: SchemaRef) -> std::result::Result<RecordBatch, ArrowError> {
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    let schema = crate::pg::carried::with_carried_fields(&schema, batch.schema_ref());
    RecordBatch::try_new_with_options(schema, batch.columns().to_vec(), &options)
}
