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
//! | `rows`     | one table's rows from its COPY block: decoded batches, or raw text     |
//! | [`types`]  | a column type's name → what the catalog would say of it                |
//!
//! What a dump cannot tell: statistics (row estimates are exact counts of its COPY rows
//! instead), row-level security (no role reads it), and the values of generated columns
//! (pg_dump leaves them out; they read as NULL, and database targets compute them again).

pub mod ddl;
pub mod detect;
pub mod input;
mod rows;
pub mod script;
pub mod types;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::Schema;

use crate::error::{Error, Result};
use crate::pg::carried;
use crate::pg::catalog::PgTable;
use crate::pg::decode::RowDecoder;
use crate::pg::raw_copy::{CopyFormat, RawRequest};
use crate::progress::Total;
use crate::schema::SourceTable;
use crate::source::{BatchStream, RawStream, Source};
use rows::{BlockLines, RawRows, Rows};

use crate::pg::types::ColumnKind;
use crate::schema::{DataBlock, DumpedSchema, ScriptLayout, SequenceState};
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
    /// The blocks in the script's order.
    layout: ScriptLayout,
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
        let layout = ScriptLayout {
            file: scanned.file.clone(),
            blocks: scanned
                .script
                .blocks
                .iter()
                .map(|b| DataBlock {
                    table: format!("{}.{}", b.schema, b.table),
                    copy_line: b.copy_line,
                    rows: b.offset,
                    end: b.end,
                })
                .collect(),
        };
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
            layout,
            schema,
        })
    }

    /// The dump's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The schema as the database and SQL dump targets rebuild it: the dump's sections and
    /// its sequences' values (a sequence the dump does not set is unused: 1, not called).
    pub fn dumped_schema(&self) -> DumpedSchema {
        let owner_column = |owner: &Option<(String, String)>| {
            let (table, column) = owner.as_ref()?;
            let t = self.pg_tables.iter().find(|t| &t.name() == table)?;
            let c = t.columns.iter().find(|c| &c.name == column)?;
            matches!(c.kind, ColumnKind::Int16 | ColumnKind::Int32 | ColumnKind::Int64)
                .then(|| (table.clone(), column.clone()))
        };
        DumpedSchema {
            preamble: self.schema.preamble.clone(),
            pre_data: self.schema.pre_data.clone(),
            post_data: self.schema.post_data.clone(),
            tables: self.pg_tables.iter().map(|t| (t.schema_name.clone(), t.table_name.clone())).collect(),
            sequences: self
                .schema
                .sequences
                .iter()
                .map(|s| {
                    let (last_value, is_called) = s.value.unwrap_or((1, false));
                    SequenceState {
                        schema: s.schema.clone(),
                        name: s.name.clone(),
                        last_value,
                        is_called,
                        owner: if s.ascending { owner_column(&s.owner) } else { None },
                    }
                })
                .collect(),
            script: self.layout.clone(),
        }
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

impl DumpSource {
    /// The rows of `table`, every column decoded but the `carried` ones (their COPY text
    /// fields as they stand, [`crate::pg::carried`]).
    fn read_decoding(&self, table: &str, carried: &[usize], batch_rows: usize) -> Result<BatchStream> {
        let (index, pg) = self.table(table)?;
        let schema = carried::carrying_schema(&self.tables[index].schema, carried, CopyFormat::Text);
        let Some(block) = self.blocks.get(table) else {
            return Ok(Box::new(std::iter::empty()));
        };
        let copied: Vec<usize> = pg.columns.iter().enumerate().filter(|(_, c)| !c.generated).map(|(i, _)| i).collect();
        let copied_schema = Arc::new(Schema::new(copied.iter().map(|&i| schema.field(i).clone()).collect::<Vec<_>>()));
        let kinds = copied.iter().map(|&i| pg.columns[i].kind).collect();
        let names = pg.columns.iter().filter(|c| !c.generated).map(|c| c.name.clone()).collect();
        // Positions in the block of the carried columns.
        let carried_copied: Vec<usize> =
            copied.iter().enumerate().filter(|(_, c)| carried.contains(c)).map(|(p, _)| p).collect();
        let decoder = RowDecoder::carrying(copied_schema, kinds, &carried_copied, batch_rows);
        Ok(Box::new(Rows::new(self.lines(table, block)?, decoder, schema, copied, names)))
    }

    /// The rows of `block` (of `table`), line by line.
    fn lines(&self, table: &str, block: &CopyBlock) -> Result<BlockLines> {
        let open = |e: std::io::Error| Error::source(&self.location, format!("cannot read the dump ({e})"));
        let mut file = File::open(&self.file).map_err(open)?;
        file.seek(SeekFrom::Start(block.offset)).map_err(open)?;
        Ok(BlockLines::new(BufReader::with_capacity(1 << 20, file), &self.location, table, block.line + 1))
    }
}

impl Source for DumpSource {
    fn tables(&self) -> &[SourceTable] {
        &self.tables
    }

    fn read(&self, table: &str, batch_rows: usize) -> Result<BatchStream> {
        self.read_decoding(table, &[], batch_rows)
    }

    /// The dump's COPY text fields of the `carried` columns as they stand (text only).
    fn read_carrying(
        &self,
        table: &str,
        carried: &[usize],
        request: &RawRequest,
        batch_rows: usize,
    ) -> Result<Option<BatchStream>> {
        match request.format {
            CopyFormat::Text => self.read_decoding(table, carried, batch_rows).map(Some),
            CopyFormat::Binary => Ok(None),
        }
    }

    /// A table's COPY text as the dump holds it, when asked for all its columns in the
    /// dump's order (rows checked for their field count and UTF-8, never decoded).
    fn read_raw(&self, table: &str, request: &RawRequest) -> Result<Option<RawStream>> {
        let (_, pg) = self.table(table)?;
        let copied: Vec<usize> = pg.columns.iter().enumerate().filter(|(_, c)| !c.generated).map(|(i, _)| i).collect();
        if request.format != CopyFormat::Text || request.columns != copied {
            return Ok(None);
        }
        match self.blocks.get(table) {
            None => Ok(Some(Box::new(std::iter::empty()))),
            Some(block) => Ok(Some(Box::new(RawRows::new(self.lines(table, block)?, copied.len())))),
        }
    }

    fn expected_rows(&self, table: &str) -> Option<Total> {
        Some(Total::Exact(self.blocks.get(table).map_or(0, |b| b.rows)))
    }
}
