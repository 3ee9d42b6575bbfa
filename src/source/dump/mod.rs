//! Dump source: a pg_dump output read without a database. `--from` a plain SQL script, a
//! custom-format (`-Fc`), directory-format (`-Fd`) or tar (`-Ft`) archive, told apart by their
//! content ([`detect`]), or `-` for a plain script on stdin.
//!
//! ```text
//! open(path) ──▶ detect ──▶ input: the plain script (the file; or stdin / pg_restore -f - spooled)
//!                              │ script: one pass, SQL parsed with pg_query, COPY blocks located
//!                              ▼
//!                            ddl: tables (as the catalog reader builds them), sequences, sections
//! read(table) ──▶ seek to the table's COPY block ──▶ RowDecoder ──▶ RecordBatch, …
//! ```
//!
//! | module     | what it does                                                          |
//! |------------|-----------------------------------------------------------------------|
//! | [`detect`] | which of pg_dump's four formats a path holds                          |
//! | [`input`]  | the plain script on disk, spooling stdin and archives                 |
//! | [`script`] | the line scanner: SQL pieces, COPY blocks, refusals of hostile scripts |
//! | [`ddl`]    | the schema, sequences and sections from the parsed SQL                 |
//! | [`types`]  | a column type's name → what the catalog would say of it                |
//!
//! What a dump cannot tell: statistics (row estimates are exact counts of its COPY rows
//! instead), row-level security (no role reads it), and the values of generated columns
//! (pg_dump leaves them out; they read as NULL, and database targets compute them again).

pub mod ddl;
pub mod detect;
pub mod input;
pub mod script;
pub mod types;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchOptions, new_null_array};
use arrow_schema::{Schema, SchemaRef};

use crate::error::{Error, Result};
use crate::pg::catalog::PgTable;
use crate::pg::decode::{RowDecoder, RowFailure, RowProblem};
use crate::progress::Total;
use crate::schema::SourceTable;
use crate::source::{BatchStream, Source};

pub use ddl::{DumpSchema, Sequence};
pub use detect::Format;
use script::CopyBlock;

/// A pg_dump output as a [`Source`].
pub struct DumpSource {
    location: String,
    format: Format,
    /// The plain script the rows are read from.
    file: PathBuf,
    _spool: Option<tempfile::TempPath>,
    tables: Vec<SourceTable>,
    pg_tables: Vec<PgTable>,
    /// Each table's data block, by `schema.table`.
    blocks: HashMap<String, CopyBlock>,
    schema: DumpSchema,
}

impl std::fmt::Debug for DumpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpSource")
            .field("location", &self.location)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl DumpSource {
    /// Opens the dump at `path` (`-`: stdin), reading it once (see the module docs).
    pub fn open(path: &Path) -> Result<DumpSource> {
        let location = path.display().to_string();
        let format = detect::detect(path)?;
        let scanned = input::scan(path, format)?;
        let schema = ddl::read(&scanned.script).map_err(|m| Error::source(&location, m))?;
        let mut blocks: HashMap<String, CopyBlock> = HashMap::new();
        for block in &scanned.script.blocks {
            let name = format!("{}.{}", block.schema, block.table);
            let Some(table) = schema.tables.iter().find(|t| t.name() == name) else {
                return Err(Error::source(
                    &location,
                    format!(
                        "line {}: the dump holds data for table {name}, which its DDL does not define; the dump is \
                         damaged or was edited: take it again",
                        block.line
                    ),
                ));
            };
            let copied: Vec<&str> = table.columns.iter().filter(|c| !c.generated).map(|c| c.name.as_str()).collect();
            if block.columns != copied {
                return Err(Error::source(
                    &location,
                    format!(
                        "line {}: the data of table {name} lists the columns ({}), the table has ({}); the dump is \
                         damaged or was edited: take it again",
                        block.line,
                        block.columns.join(", "),
                        copied.join(", ")
                    ),
                ));
            }
            if blocks.insert(name.clone(), block.clone()).is_some() {
                return Err(Error::source(
                    &location,
                    format!("line {}: the dump holds the data of table {name} twice", block.line),
                ));
            }
        }
        if let Some(pair) = schema.tables.windows(2).find(|w| w[0].name() == w[1].name()) {
            return Err(Error::source(
                &location,
                format!(
                    "two tables are both named {} once schema and table are joined with a dot; rules could not tell \
                     them apart",
                    pair[0].name()
                ),
            ));
        }
        let tables = schema.tables.iter().map(PgTable::source_table).collect();
        tracing::info!(
            source = %location,
            format = format.name(),
            tables = schema.tables.len(),
            sequences = schema.sequences.len(),
            "dump read"
        );
        Ok(DumpSource {
            location,
            format,
            file: scanned.file,
            _spool: scanned.spool,
            tables,
            pg_tables: schema.tables.clone(),
            blocks,
            schema,
        })
    }

    /// The dump's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The dump's sequences, sections and tables as its DDL describes them.
    pub fn schema(&self) -> &DumpSchema {
        &self.schema
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    fn table(&self, name: &str) -> Result<(usize, &PgTable)> {
        self.pg_tables
            .iter()
            .enumerate()
            .find(|(_, t)| t.name() == name)
            .ok_or_else(|| Error::source(&self.location, format!("no table {name} in the dump")))
    }
}

impl Source for DumpSource {
    fn tables(&self) -> &[SourceTable] {
        &self.tables
    }

    fn read(&self, table: &str, batch_rows: usize) -> Result<BatchStream> {
        let (index, pg) = self.table(table)?;
        let schema = self.tables[index].schema.clone();
        let Some(block) = self.blocks.get(table) else {
            return Ok(Box::new(std::iter::empty()));
        };
        let copied: Vec<usize> = pg.columns.iter().enumerate().filter(|(_, c)| !c.generated).map(|(i, _)| i).collect();
        let copied_schema = Arc::new(Schema::new(copied.iter().map(|&i| schema.field(i).clone()).collect::<Vec<_>>()));
        let kinds = copied.iter().map(|&i| pg.columns[i].kind).collect();
        let mut file =
            File::open(&self.file).map_err(|e| Error::source(&self.location, format!("cannot read the dump ({e})")))?;
        file.seek(SeekFrom::Start(block.offset)).map_err(|e| Error::source(&self.location, e))?;
        Ok(Box::new(Rows {
            input: BufReader::with_capacity(1 << 20, file),
            decoder: RowDecoder::new(copied_schema, kinds, batch_rows),
            schema,
            copied,
            names: pg.columns.iter().filter(|c| !c.generated).map(|c| c.name.clone()).collect(),
            location: self.location.clone(),
            table: table.to_string(),
            first_line: block.line + 1,
            line: Vec::new(),
            done: false,
        }))
    }

    fn expected_rows(&self, table: &str) -> Option<Total> {
        Some(Total::Exact(self.blocks.get(table).map_or(0, |b| b.rows)))
    }
}

/// One table's rows from its COPY block.
struct Rows {
    input: BufReader<File>,
    decoder: RowDecoder,
    /// The table's full schema (generated columns included).
    schema: SchemaRef,
    /// Positions in `schema` of the columns the block holds.
    copied: Vec<usize>,
    names: Vec<String>,
    location: String,
    table: String,
    /// Line of the dump holding row 1.
    first_line: u64,
    line: Vec<u8>,
    done: bool,
}

impl Rows {
    fn failure(&self, f: &RowFailure) -> Error {
        let line = self.first_line + f.row - 1;
        let what = match (&f.problem, f.column) {
            (RowProblem::FieldCount { expected, found }, _) => {
                format!(
                    "the row has {found} fields, the table has {expected} columns; the dump is damaged or was edited"
                )
            }
            (RowProblem::Value(v), Some(c)) => format!("column {}: {v}", self.names[c]),
            (RowProblem::Value(v), None) => v.to_string(),
        };
        Error::source(&self.location, format!("table {}, row {} (line {line}): {what}", self.table, f.row))
    }

    /// The decoded batch with the columns the dump leaves out (generated) as NULL.
    fn batch(&mut self) -> Result<RecordBatch> {
        let decoded = self.decoder.finish_batch().map_err(|e| Error::source(&self.location, e))?;
        if self.copied.len() == self.schema.fields().len() {
            return RecordBatch::try_new_with_options(
                self.schema.clone(),
                decoded.columns().to_vec(),
                &RecordBatchOptions::new().with_row_count(Some(decoded.num_rows())),
            )
            .map_err(|e| Error::source(&self.location, e));
        }
        let rows = decoded.num_rows();
        let columns = (0..self.schema.fields().len())
            .map(|i| match self.copied.iter().position(|&c| c == i) {
                Some(p) => decoded.column(p).clone(),
                None => new_null_array(self.schema.field(i).data_type(), rows),
            })
            .collect();
        let fields: Vec<_> = self
            .schema
            .fields()
            .iter()
            .enumerate()
            .map(
                |(i, f)| {
                    if self.copied.contains(&i) { f.as_ref().clone() } else { f.as_ref().clone().with_nullable(true) }
                },
            )
            .collect();
        let schema = Arc::new(Schema::new_with_metadata(fields, self.schema.metadata().clone()));
        RecordBatch::try_new_with_options(schema, columns, &RecordBatchOptions::new().with_row_count(Some(rows)))
            .map_err(|e| Error::source(&self.location, e))
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            self.line.clear();
            let n = self.input.read_until(b'\n', &mut self.line).map_err(|e| Error::source(&self.location, e))?;
            if n == 0 || self.line == b"\\.\n" || self.line == b"\\." || self.line == b"\\.\r\n" {
                self.done = true;
                return if self.decoder.has_rows() { self.batch().map(Some) } else { Ok(None) };
            }
            let row = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
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
        match self.next_batch() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
