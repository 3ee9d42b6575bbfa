//! Custom-format archive target (`--to FILE --format custom`): what the SQL dump target writes
//! ([`super::dump`]), as pg_dump's custom format (`pg_dump -Fc`, archive version 1.14, which
//! pg_restore 12 and later read, uncompressed), so that `pg_restore --jobs N` loads the tables
//! side by side and builds the indexes and constraints in parallel.
//!
//! ```text
//! "PGDMP" 1.14, int 4 / offset 8 bytes, custom, no compression, fixed date, names
//! TOC  ENCODING, STDSTRINGS, SEARCHPATH         settings pg_restore applies on every connection
//!      PRE-DATA                                 the whole schema before the data, one entry
//!      TABLE DATA per table written             COPY statement, offset of its data block
//!      SEQUENCE SET per sequence                as the SQL dump target sets it
//!      INDEX / CONSTRAINT / FK CONSTRAINT / …   one entry per post-data statement, depending on
//!                                               the TABLE DATA of the tables it names
//! data blocks: 1, dump id, chunks (length, COPY text rows), 0
//! ```
//!
//! Rows go to a spool file beside the target while the run goes (one table after the other);
//! the TOC, which holds every block's offset and the sequences' final values, is known only
//! at the end, so [`Sink::commit`] writes the header and TOC into the partial file, copies the
//! spool after them, and renames the file into place as the SQL dump target does. The output
//! is a pure function of the input, rules and key, like the plain script. The post-data
//! statements are told apart with PostgreSQL's parser (`pg_query`), which names the tables
//! each one reads; pg_restore then runs an index as soon as its table is loaded, and never two
//! statements that lock the same table at once.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use arrow_schema::SchemaRef;
use pg_query::NodeEnum;

use super::dump::{DumpTableSink, Output, Prepared, SequenceValue, Shared, abandon_unless, open_output};
use crate::error::{Error, Result};
use crate::sink::staging::{Claim, FileTarget};
use crate::sink::{Sink, TableSink};

/// The archive version written: 1.14 (PostgreSQL 12 to 15's pg_dump).
const VERSION: [u8; 3] = [1, 14, 0];
/// Bytes of the format: pg_dump's `archCustom`, a data block's first byte, a TOC entry's
/// offset flags (set; no data).
const FORMAT_CUSTOM: u8 = 1;
const BLOCK_DATA: u8 = 1;
const OFFSET_SET: u8 = 2;
const NO_DATA: u8 = 3;
/// Dump ids of the settings and the pre-data entry; tables are numbered after them.
const PRE_DATA_ID: i32 = 4;

/// The rows written so far, in a spool file beside the target (removed when dropped).
pub(super) struct DataSpool {
    pub(super) writer: BufWriter<File>,
    _path: tempfile::TempPath,
    /// Bytes written.
    position: u64,
    /// Inside a data block: writes are framed as chunks.
    chunked: bool,
}

impl DataSpool {
    /// Writes `bytes`: as one chunk (length, bytes) inside a data block.
    pub(super) fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.chunked {
            if bytes.is_empty() {
                return Ok(());
            }
            let mut length = Vec::with_capacity(5);
            put_int(&mut length, bytes.len() as i64);
            self.raw(&length)?;
        }
        self.raw(bytes)
    }

    fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes)?;
        self.position += bytes.len() as u64;
        Ok(())
    }
}

/// A table's data block in the spool.
struct Block {
    id: i32,
    schema: String,
    table: String,
    copy: String,
    /// Offset of the block in the spool.
    offset: u64,
}

/// A custom-format archive being written, as a [`Sink`].
pub struct ArchiveSink {
    shared: Arc<Mutex<Shared>>,
    location: String,
    target: std::path::PathBuf,
    options: FileTarget,
    held: Option<Claim>,
    tables: HashMap<String, (String, String)>,
    sequences: Arc<Vec<SequenceValue>>,
    pre_data: Vec<u8>,
    post_data: Vec<u8>,
    rules_fingerprint: String,
    blocks: Vec<Block>,
    committed: bool,
}

impl std::fmt::Debug for ArchiveSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveSink").field("target", &self.location).finish_non_exhaustive()
    }
}

impl ArchiveSink {
    /// Starts the archive of `prepared` into the file `target` (not stdout: pg_restore needs
    /// to seek in it); `rules` is the rules' fingerprint, for its header.
    pub fn create(target: &Path, options: &FileTarget, prepared: Prepared, rules: &str) -> Result<ArchiveSink> {
        let location = target.display().to_string();
        let Some(held) = prepared.held else {
            return Err(Error::Usage("--format custom writes a file: name one with --to FILE".into()));
        };
        let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let spool = tempfile::Builder::new()
            .prefix(".doppel-archive-rows-")
            .tempfile_in(dir)
            .map_err(|e| Error::target(&location, format!("cannot create the rows' spool file beside it ({e})")))?;
        let (file, path) = spool.into_parts();
        let data =
            DataSpool { writer: BufWriter::with_capacity(1 << 20, file), _path: path, position: 0, chunked: false };
        Ok(ArchiveSink {
            shared: Shared::new(Output::Archive(data), &location, prepared.sequences.len()),
            location,
            target: target.to_path_buf(),
            options: options.clone(),
            held: Some(held),
            tables: prepared.tables,
            sequences: Arc::new(prepared.sequences),
            pre_data: prepared.pre_data,
            post_data: prepared.post_data,
            rules_fingerprint: rules.to_string(),
            blocks: Vec::new(),
            committed: false,
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Shared>> {
        self.shared.lock().map_err(|_| Error::target(&self.location, "a writer thread panicked"))
    }

    /// Ends the data block being written, if any.
    fn end_block(&self) -> Result<()> {
        let mut shared = self.lock()?;
        let loc = self.location.clone();
        let Output::Archive(data) = &mut shared.out else {
            return Err(Error::target(&loc, "internal error: the archive's rows are not being spooled"));
        };
        if data.chunked {
            data.chunked = false;
            data.write(&int(0)).map_err(|e| Error::target(&loc, format!("writing the rows' spool file: {e}")))?;
        }
        Ok(())
    }

    /// The archive's header and TOC, the data blocks starting `data_start` bytes into the file.
    fn head_and_toc(&self, shared: &Shared, data_start: u64) -> Vec<u8> {
        let mut entries = vec![
            Entry::setting(1, "ENCODING", "SET client_encoding = 'UTF8';\n"),
            Entry::setting(2, "STDSTRINGS", "SET standard_conforming_strings = 'on';\n"),
            Entry::setting(3, "SEARCHPATH", "SELECT pg_catalog.set_config('search_path', '', false);\n"),
            Entry {
                id: PRE_DATA_ID,
                tag: "doppel".into(),
                desc: "PRE-DATA".into(),
                section: Section::PreData,
                defn: without_meta_commands(&self.pre_data),
                ..Entry::default()
            },
        ];
        for block in &self.blocks {
            entries.push(Entry {
                id: block.id,
                has_data: true,
                tag: block.table.clone(),
                desc: "TABLE DATA".into(),
                section: Section::Data,
                copy: Some(block.copy.clone()),
                namespace: Some(block.schema.clone()),
                depends: vec![PRE_DATA_ID],
                offset: Some(data_start + block.offset),
                ..Entry::default()
            });
        }
        let mut next = PRE_DATA_ID + 1 + self.blocks.len() as i32;
        let setvals = shared.setvals(&self.sequences, false);
        for (sequence, setval) in self.sequences.iter().zip(String::from_utf8_lossy(&setvals).lines()) {
            entries.push(Entry {
                id: next,
                tag: sequence.qualified.clone(),
                desc: "SEQUENCE SET".into(),
                section: Section::Data,
                defn: format!("{setval}\n"),
                depends: vec![PRE_DATA_ID],
                ..Entry::default()
            });
            next += 1;
        }
        let by_table: HashMap<String, i32> =
            self.blocks.iter().map(|b| (format!("{}.{}", b.schema, b.table), b.id)).collect();
        let statements = post_data_statements(&without_meta_commands(&self.post_data));
        let first = next;
        for (desc, defn, tables) in &statements {
            let mut depends: Vec<i32> = tables.iter().filter_map(|t| by_table.get(t).copied()).collect();
            if depends.len() < tables.len() || tables.is_empty() {
                // A table without data here, or none named: after everything.
                depends = self.blocks.iter().map(|b| b.id).collect();
            }
            depends.insert(0, PRE_DATA_ID);
            if desc == "FK CONSTRAINT" {
                // After the keys and indexes of the tables it links (the referenced key's).
                depends.extend(statements.iter().enumerate().filter_map(|(k, (d, _, named))| {
                    (d != "FK CONSTRAINT" && named.iter().any(|t| tables.contains(t))).then_some(first + k as i32)
                }));
            }
            depends.sort_unstable();
            depends.dedup();
            let tag = if tables.is_empty() { desc.to_lowercase() } else { tables.join(" ") };
            entries.push(Entry {
                id: next,
                tag,
                desc: desc.clone(),
                section: Section::PostData,
                defn: defn.clone(),
                depends,
                ..Entry::default()
            });
            next += 1;
        }
        let mut out = Vec::new();
        out.extend_from_slice(b"PGDMP");
        out.extend_from_slice(&VERSION);
        out.extend_from_slice(&[4, 8, FORMAT_CUSTOM]);
        put_int(&mut out, 0); // no compression
        // A fixed creation date (2000-01-01 00:00:00): the output is a function of its input.
        for field in [0, 0, 0, 1, 0, 100, 0] {
            put_int(&mut out, field);
        }
        put_str(&mut out, Some("doppel"));
        put_str(
            &mut out,
            Some(&format!("doppel {}, rules blake3 {}", env!("CARGO_PKG_VERSION"), self.rules_fingerprint)),
        );
        put_str(&mut out, Some(&format!("doppel {}", env!("CARGO_PKG_VERSION"))));
        put_int(&mut out, entries.len() as i64);
        for entry in &entries {
            entry.write(&mut out);
        }
        out
    }
}

/// A TOC entry's section.
#[derive(Debug, Clone, Copy, Default)]
enum Section {
    #[default]
    PreData = 2,
    Data = 3,
    PostData = 4,
}

/// One TOC entry.
#[derive(Default)]
struct Entry {
    id: i32,
    has_data: bool,
    tag: String,
    desc: String,
    section: Section,
    defn: String,
    copy: Option<String>,
    namespace: Option<String>,
    depends: Vec<i32>,
    /// Where its data block starts, for a table.
    offset: Option<u64>,
}

impl Entry {
    fn setting(id: i32, desc: &str, defn: &str) -> Entry {
        Entry {
            id,
            tag: desc.into(),
            desc: desc.into(),
            section: Section::PreData,
            defn: defn.into(),
            ..Entry::default()
        }
    }

    /// The entry as pg_restore reads it (archive version 1.14).
    fn write(&self, out: &mut Vec<u8>) {
        put_int(out, i64::from(self.id));
        put_int(out, i64::from(self.has_data));
        put_str(out, Some("0")); // table oid
        put_str(out, Some("0")); // oid
        put_str(out, Some(&self.tag));
        put_str(out, Some(&self.desc));
        put_int(out, self.section as i64);
        put_str(out, Some(&self.defn));
        put_str(out, Some("")); // drop statement
        put_str(out, self.copy.as_deref());
        put_str(out, self.namespace.as_deref());
        put_str(out, None); // tablespace
        put_str(out, None); // table access method
        put_str(out, Some("")); // owner: set by the statements themselves
        put_str(out, Some("false")); // WITH OIDS
        for id in &self.depends {
            put_str(out, Some(&id.to_string()));
        }
        put_str(out, None);
        match self.offset {
            Some(offset) => {
                out.push(OFFSET_SET);
                out.extend_from_slice(&offset.to_le_bytes());
            }
            None => {
                out.push(NO_DATA);
                out.extend_from_slice(&0u64.to_le_bytes());
            }
        }
    }
}

/// pg_dump's integer: a sign byte, then 4 bytes of magnitude, least significant first.
fn put_int(out: &mut Vec<u8>, value: i64) {
    out.push(u8::from(value < 0));
    let magnitude = value.unsigned_abs() as u32;
    out.extend_from_slice(&magnitude.to_le_bytes());
}

fn int(value: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(5);
    put_int(&mut out, value);
    out
}

/// pg_dump's string: its length and bytes; `None` is length -1.
fn put_str(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(s) => {
            put_int(out, s.len() as i64);
            out.extend_from_slice(s.as_bytes());
        }
        None => put_int(out, -1),
    }
}

/// A section's SQL without psql's meta-commands (pg_dump's `\restrict` lines): pg_restore
/// sends the text to the server.
fn without_meta_commands(sql: &[u8]) -> String {
    String::from_utf8_lossy(sql).split_inclusive('\n').filter(|l| !l.starts_with('\\')).collect()
}

/// The post-data statements with what pg_restore calls them and the tables (`schema.table`)
/// they name; session settings are left out (pg_restore sets its own on every connection).
fn post_data_statements(sql: &str) -> Vec<(String, String, Vec<String>)> {
    let Ok(pieces) = pg_query::split_with_parser(sql) else {
        // Not split: one statement after every table.
        return vec![("POST-DATA".into(), sql.to_string(), Vec::new())];
    };
    let mut statements = Vec::new();
    for piece in pieces {
        let Ok(parsed) = pg_query::parse(piece, 0) else {
            statements.push(("POST-DATA".into(), format!("{piece};\n"), Vec::new()));
            continue;
        };
        let node = parsed.protobuf.stmts.first().and_then(|s| s.stmt.as_ref()).and_then(|n| n.node.as_ref());
        let desc = match node {
            Some(NodeEnum::VariableSetStmt(_)) => continue,
            Some(NodeEnum::SelectStmt(_)) if piece.contains("set_config") => continue,
            Some(NodeEnum::IndexStmt(_)) => "INDEX",
            Some(NodeEnum::AlterTableStmt(_)) if piece.contains("FOREIGN KEY") => "FK CONSTRAINT",
            Some(NodeEnum::AlterTableStmt(_)) => "CONSTRAINT",
            Some(NodeEnum::CreateTrigStmt(_)) => "TRIGGER",
            Some(NodeEnum::RuleStmt(_)) => "RULE",
            Some(NodeEnum::CommentStmt(_)) => "COMMENT",
            _ => "POST-DATA",
        };
        let mut tables = parsed.tables();
        if let Some(NodeEnum::AlterTableStmt(alter)) = node {
            tables.extend(referenced_tables(alter));
        }
        tables.sort();
        tables.dedup();
        statements.push((desc.to_string(), format!("{};\n", piece.trim()), tables));
    }
    statements
}

/// The tables the foreign keys an `ALTER TABLE` adds refer to (which `tables()` leaves out).
fn referenced_tables(alter: &pg_query::protobuf::AlterTableStmt) -> Vec<String> {
    alter
        .cmds
        .iter()
        .filter_map(|cmd| match cmd.node.as_ref()? {
            NodeEnum::AlterTableCmd(cmd) => match cmd.def.as_ref()?.node.as_ref()? {
                NodeEnum::Constraint(c) => c.pktable.as_ref().map(|t| match t.schemaname.as_str() {
                    "" => t.relname.clone(),
                    schema => format!("{schema}.{}", t.relname),
                }),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

impl Sink for ArchiveSink {
    fn open_table(&mut self, name: &str, schema: SchemaRef) -> Result<Box<dyn TableSink>> {
        let (mut sink, table_schema, table_name) =
            DumpTableSink::of_table(&self.tables, &self.shared, &self.location, &self.sequences, name, &schema)?;
        self.end_block()?;
        sink.trailer = b"";
        let id = PRE_DATA_ID + 1 + self.blocks.len() as i32;
        let copy = format!("{};\n", super::copy_text::copy_statement(&table_schema, &table_name, sink.schema()));
        let mut shared = self.lock()?;
        let loc = self.location.clone();
        let Output::Archive(data) = &mut shared.out else {
            return Err(Error::target(&loc, "internal error: the archive's rows are not being spooled"));
        };
        let offset = data.position;
        let mut start = vec![BLOCK_DATA];
        put_int(&mut start, i64::from(id));
        data.write(&start).map_err(|e| Error::target(&loc, format!("writing the rows' spool file: {e}")))?;
        data.chunked = true;
        drop(shared);
        self.blocks.push(Block { id, schema: table_schema, table: table_name, copy, offset });
        Ok(Box::new(sink))
    }

    /// The data blocks follow each other in the spool.
    fn tables_in_parallel(&self) -> bool {
        false
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.end_block()?;
        let loc = self.location.clone();
        let write_error = |e: std::io::Error| Error::target(&loc, format!("writing the archive: {e}"));
        let shared = self.shared.clone();
        let mut shared = shared.lock().map_err(|_| Error::target(&loc, "a writer thread panicked"))?;
        // The TOC's length does not depend on the offsets in it (fixed width).
        let length = self.head_and_toc(&shared, 0).len() as u64;
        let head = self.head_and_toc(&shared, length);
        let out = open_output(&self.target, &self.options, self.held.take())?;
        let Output::Archive(mut data) = std::mem::replace(&mut shared.out, out) else {
            return Err(Error::target(&loc, "internal error: the archive's rows are not being spooled"));
        };
        data.writer.flush().map_err(write_error)?;
        let mut rows = data.writer.into_inner().map_err(|e| write_error(e.into_error()))?;
        rows.seek(SeekFrom::Start(0)).map_err(write_error)?;
        shared.write(&head)?;
        std::io::copy(&mut rows, shared.out.writer()).map_err(write_error)?;
        shared.publish()?;
        self.committed = true;
        tracing::info!(target = %loc, tables = self.blocks.len(), "custom-format archive complete");
        Ok(())
    }
}

impl Drop for ArchiveSink {
    fn drop(&mut self) {
        abandon_unless(&self.shared, self.committed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_strings_are_written_as_pg_dump_writes_them() {
        assert_eq!(int(0), [0, 0, 0, 0, 0]);
        assert_eq!(int(300), [0, 44, 1, 0, 0]);
        assert_eq!(int(-1), [1, 1, 0, 0, 0]);
        let mut s = Vec::new();
        put_str(&mut s, Some("ab"));
        put_str(&mut s, None);
        assert_eq!(s, [0, 2, 0, 0, 0, b'a', b'b', 1, 1, 0, 0, 0]);
    }

    #[test]
    fn post_data_statements_are_named_with_their_tables() {
        let sql = "SET x = 1;\nSELECT pg_catalog.set_config('search_path', '', false);\n\
                   ALTER TABLE ONLY public.a ADD CONSTRAINT a_pkey PRIMARY KEY (id);\n\
                   CREATE INDEX a_x ON public.a USING btree (x);\n\
                   ALTER TABLE ONLY public.b ADD CONSTRAINT b_a FOREIGN KEY (a) REFERENCES public.a(id);\n";
        let got = post_data_statements(sql);
        let names: Vec<(&str, Vec<&str>)> =
            got.iter().map(|(d, _, t)| (d.as_str(), t.iter().map(String::as_str).collect())).collect();
        assert_eq!(
            names,
            [
                ("CONSTRAINT", vec!["public.a"]),
                ("INDEX", vec!["public.a"]),
                ("FK CONSTRAINT", vec!["public.a", "public.b"])
            ]
        );
        assert!(got[1].1.starts_with("CREATE INDEX a_x") && got[1].1.ends_with(";\n"));
    }

    #[test]
    fn meta_commands_are_left_out() {
        assert_eq!(without_meta_commands(b"\\restrict k\nSET a = 1;\n\\unrestrict k\n"), "SET a = 1;\n");
    }
}
