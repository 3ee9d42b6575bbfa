//! One table's rows, read from its COPY block in the plain script on disk up to its `\.`
//! line: decoded into batches ([`Rows`]), or handed on as raw COPY text in chunks of whole rows
//! for a table copied unchanged ([`RawRows`], each row checked for its field count and UTF-8,
//! never decoded). Errors name the table, the row and the dump's line, never a value.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchOptions, new_null_array};
use arrow_schema::{Schema, SchemaRef};

use crate::error::{Error, Result};
use crate::pg::decode::{RowDecoder, RowFailure, RowProblem};
use crate::pg::raw_copy::{Chunker, CopyFormat, FramingError, RawChunk};

/// The rows of one COPY block, line by line.
pub struct BlockLines {
    input: BufReader<File>,
    line: Vec<u8>,
    /// Rows read so far.
    row: u64,
    location: String,
    table: String,
    /// Line of the dump holding row 1.
    first_line: u64,
}

impl BlockLines {
    /// `input` positioned at row 1 of `table`'s block, which is line `first_line` of the dump.
    pub fn new(input: BufReader<File>, location: &str, table: &str, first_line: u64) -> BlockLines {
        BlockLines {
            input,
            line: Vec::new(),
            row: 0,
            location: location.to_string(),
            table: table.to_string(),
            first_line,
        }
    }

    /// The next row with its line end, or `None` at the block's end.
    fn next_row(&mut self) -> Result<Option<&[u8]>> {
        self.line.clear();
        let n = self.input.read_until(b'\n', &mut self.line).map_err(|e| Error::source(&self.location, e))?;
        if n == 0 || self.line == b"\\.\n" || self.line == b"\\." || self.line == b"\\.\r\n" {
            return Ok(None);
        }
        self.row += 1;
        Ok(Some(&self.line))
    }

    /// An error about row `row` of the table.
    fn error(&self, row: u64, message: impl std::fmt::Display) -> Error {
        let line = self.first_line + row.max(1) - 1;
        Error::source(&self.location, format!("table {}, row {row} (line {line}): {message}", self.table))
    }
}

/// The message for a row with the wrong number of fields.
fn field_count(found: impl std::fmt::Display, expected: usize) -> String {
    format!("the row has {found} fields, the table has {expected} columns; the dump is damaged or was edited")
}

/// One table's rows, decoded.
pub struct Rows {
    lines: BlockLines,
    decoder: RowDecoder,
    /// The table's full schema (generated columns included).
    schema: SchemaRef,
    /// Positions in `schema` of the columns the block holds, in its order.
    copied: Vec<usize>,
    /// Their names.
    names: Vec<String>,
    done: bool,
}

impl Rows {
    pub fn new(
        lines: BlockLines,
        decoder: RowDecoder,
        schema: SchemaRef,
        copied: Vec<usize>,
        names: Vec<String>,
    ) -> Rows {
        Rows { lines, decoder, schema, copied, names, done: false }
    }

    fn failure(&self, f: &RowFailure) -> Error {
        let what = match (&f.problem, f.column) {
            (RowProblem::FieldCount { expected, found }, _) => field_count(found, *expected),
            (RowProblem::Value(v), Some(c)) => format!("column {}: {v}", self.names[c]),
            (RowProblem::Value(v), None) => v.to_string(),
        };
        self.lines.error(f.row, what)
    }

    /// The decoded batch, the columns the dump leaves out (generated) as NULL.
    fn batch(&mut self) -> Result<RecordBatch> {
        let location = &self.lines.location;
        let decoded = self.decoder.finish_batch().map_err(|e| Error::source(location, e))?;
        let rows = decoded.num_rows();
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        if self.copied.len() == self.schema.fields().len() {
            return RecordBatch::try_new_with_options(self.schema.clone(), decoded.columns().to_vec(), &options)
                .map_err(|e| Error::source(location, e));
        }
        let mut columns = Vec::with_capacity(self.schema.fields().len());
        let mut fields = Vec::with_capacity(self.schema.fields().len());
        for (i, field) in self.schema.fields().iter().enumerate() {
            match self.copied.iter().position(|&c| c == i) {
                Some(p) => {
                    columns.push(decoded.column(p).clone());
                    fields.push(field.as_ref().clone());
                }
                None => {
                    columns.push(new_null_array(field.data_type(), rows));
                    fields.push(field.as_ref().clone().with_nullable(true));
                }
            }
        }
        let schema = Arc::new(Schema::new_with_metadata(fields, self.schema.metadata().clone()));
        RecordBatch::try_new_with_options(schema, columns, &options).map_err(|e| Error::source(location, e))
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            let Some(line) = self.lines.next_row()? else {
                self.done = true;
                return if self.decoder.has_rows() { self.batch().map(Some) } else { Ok(None) };
            };
            let row = line.strip_suffix(b"\n").unwrap_or(line);
            if let Err(f) = self.decoder.push_row(row) {
                return Err(self.failure(&f));
            }
            if self.decoder.batch_full() {
                return self.batch().map(Some);
            }
        }
    }
}

impl Iterator for Rows {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_batch();
        if next.is_err() {
            self.done = true;
        }
        next.transpose()
    }
}

/// One table's COPY text in chunks of whole rows.
pub struct RawRows {
    lines: BlockLines,
    /// `None` once the block ended or failed.
    chunker: Option<Chunker>,
}

impl RawRows {
    /// The rows of `lines`, each of `fields` fields.
    pub fn new(lines: BlockLines, fields: usize) -> RawRows {
        RawRows { lines, chunker: Some(Chunker::new(CopyFormat::Text, fields)) }
    }

    fn next_chunk(&mut self) -> Result<Option<RawChunk>> {
        loop {
            let Some(chunker) = self.chunker.as_mut() else { return Ok(None) };
            let Some(row) = self.lines.next_row()? else {
                let chunk = self.chunker.take().map(Chunker::finish).transpose();
                let chunk = chunk.map_err(|e| self.lines.error(self.lines.row, e))?;
                return Ok(chunk.filter(|c| c.rows > 0));
            };
            if std::str::from_utf8(row).is_err() {
                return Err(self.lines.error(self.lines.row, "the row is not UTF-8 text"));
            }
            match chunker.push(row) {
                Ok(Some(chunk)) => return Ok(Some(chunk)),
                Ok(None) => {}
                Err(FramingError::FieldCount { found, expected, .. }) => {
                    return Err(self.lines.error(self.lines.row, field_count(found, expected)));
                }
                Err(e) => return Err(self.lines.error(self.lines.row, e)),
            }
        }
    }
}

impl Iterator for RawRows {
    type Item = Result<RawChunk>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.next_chunk();
        if next.is_err() {
            self.chunker = None;
        }
        next.transpose()
    }
}
