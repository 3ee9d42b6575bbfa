//! SQL dump target (`--to file.sql` or `--to -`): a plain SQL script that
//! `psql -X -v ON_ERROR_STOP=1 -d <empty database> -f file.sql` restores with the same result
//! as the database target ([`super::database`]).
//!
//! ```text
//! -- doppel header (version, rules blake3; no time)
//! pg_dump --schema-only --section=pre-data --snapshot=S   (plain; tables, types, sequences)
//! BEGIN;
//! SET client_encoding = 'UTF8';
//! COPY "s"."t" (non-generated columns) FROM stdin;   one block per copied table, in plan order
//! …COPY text rows…
//! \.
//! pg_dump --schema-only --section=post-data --snapshot=S  (indexes, constraints, triggers)
//! SELECT pg_catalog.setval('"s"."seq"', v, called);  every sequence, as the database target
//! ANALYZE;
//! COMMIT;                                            the last statement of the script
//! ```
//!
//! The rows, post-data, sequence values and ANALYZE run in ONE transaction that commits at the
//! very end of the script: a truncated script (a failed run to stdout, a cut copy) restores the
//! empty schema at most, never a database with some rows or without its indexes and
//! constraints that looks complete.
//!
//! Sequences are set as the database target sets them: the source's value under the snapshot,
//! or the maximum written into the integer column owning it when that is higher (the column
//! was pseudonymised). The maximum is computed from the rows as they are written.
//!
//! Both pg_dump calls get the same `--restrict-key`, a keyed hash of the rules' blake3
//! ([`restrict_key`]; pg_dump 15.14+ otherwise writes a random `\restrict` key), so the same
//! input, rules and key give a byte-identical script. pg_dump's plain output has no timestamp.
//!
//! A file is written as `.<name>.doppel-partial-<pid>` beside the target, fsynced and renamed
//! into place at [`Sink::commit`]; the target is claimed first ([`crate::sink::staging::claim`]:
//! never an input of the run, one run at a time, partial files of killed runs removed). An
//! existing file is refused unless `--replace`, and replaced only when it starts with doppel's
//! header ([`HEADER_START`]) or with `--force`; a sink dropped without commit removes its
//! partial file. `-` streams to stdout as it goes (not atomic).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int16Type, Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Schema, SchemaRef};

use crate::error::{Error, Result};
use crate::pg::connect::ConnectParams;
use crate::pg::ident::{quote_ident, quote_literal};
use crate::pg::raw_copy::{self, CopyFormat, RawChunk, RawRequest};
use crate::secret::Key;
use crate::sink::staging::{Claim, FileTarget, claim};
use crate::sink::{Sink, TableSink};

use super::copy_text;
use crate::pg::catalog::not_valid_constraints;
use crate::pg::child::schema_section;
use crate::pg::error::describe;
use crate::pg::roles::RoleMap;
use crate::schema::DumpedSchema;

/// How every dump doppel writes begins; an existing file that does not is not replaced
/// without `--force`.
pub const HEADER_START: &str = "--\n-- doppel ";

/// Where the script goes.
pub(super) enum Output {
    /// A partial file beside the target, renamed into place at commit.
    File {
        writer: BufWriter<File>,
        staging: PathBuf,
        target: PathBuf,
        options: FileTarget,
        /// This run's hold on the target.
        _claim: Claim,
    },
    Stdout(BufWriter<std::io::Stdout>),
    /// The rows of a custom-format archive, until its commit writes the file.
    Archive(super::archive::DataSpool),
}

impl Output {
    pub(super) fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::File { writer, .. } => writer,
            Output::Stdout(w) => w,
            Output::Archive(data) => &mut data.writer,
        }
    }
}

/// One sequence of the source and what the script sets it to.
pub(super) struct SequenceValue {
    /// `"schema"."name"`.
    pub(super) qualified: String,
    last_value: i64,
    is_called: bool,
    /// The table (`schema.table`, as the plan names it) and column owning it, when it is an
    /// ascending sequence owned by an integer column.
    owner: Option<(String, String)>,
}

pub(super) struct Shared {
    pub(super) out: Output,
    location: String,
    /// The largest value written per sequence's owning column (index into `sequences`).
    maxima: Vec<Option<i64>>,
    /// A COPY block's rows are being written (its `\.` line is still to come).
    pub(super) in_copy: bool,
}

/// What a failed run appends to a script it streamed: the open COPY block closed, then a
/// statement that fails, so that a restore stops there and loads nothing even when psql wraps
/// the script in its own transaction (`--single-transaction`); `ON_ERROR_STOP` or not, the
/// transaction never commits.
const ABANDONED: &[u8] = b"\n--\n-- doppel: the run failed; this script is incomplete and must not be restored\n--\n\n\
    DO $$BEGIN RAISE EXCEPTION 'doppel: this SQL dump is incomplete: the run that wrote it failed'; END$$;\n";

impl Shared {
    pub(super) fn new(out: Output, location: &str, sequences: usize) -> Arc<Mutex<Shared>> {
        let maxima = vec![None; sequences];
        Arc::new(Mutex::new(Shared { out, location: location.to_string(), maxima, in_copy: false }))
    }

    /// Raises the largest value of sequence `seq`'s owning column to `max`.
    fn raise_max(&mut self, seq: usize, max: Option<i64>) {
        if let Some(max) = max {
            let m = &mut self.maxima[seq];
            *m = Some(m.map_or(max, |m| m.max(max)));
        }
    }

    pub(super) fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let loc = &self.location;
        let written = match &mut self.out {
            Output::Archive(data) => data.write(bytes),
            out => out.writer().write_all(bytes),
        };
        written.map_err(|e| Error::target(loc, format!("writing the SQL dump: {e}")))
    }

    /// The `setval` calls of `sequences` as the database target sets them: each sequence's
    /// source value, or the largest value written into its owning column when that is higher;
    /// with `raised_only`, only the sequences the written values raise.
    pub(super) fn setvals(&self, sequences: &[SequenceValue], raised_only: bool) -> Vec<u8> {
        let mut sql = Vec::new();
        for (i, s) in sequences.iter().enumerate() {
            let (mut last_value, mut is_called) = (s.last_value, s.is_called);
            if let Some(max) = self.maxima[i]
                && (max > last_value || (max == last_value && !is_called))
            {
                (last_value, is_called) = (max, true);
            } else if raised_only {
                continue;
            }
            sql.extend_from_slice(
                format!("SELECT pg_catalog.setval({}, {last_value}, {is_called});\n", quote_literal(&s.qualified))
                    .as_bytes(),
            );
        }
        sql
    }

    /// A run that failed: a partial file is removed; a script streamed to stdout is closed
    /// with [`ABANDONED`] (write errors ignored: the run is failing already).
    fn abandon(&mut self) {
        match &mut self.out {
            Output::File { staging, .. } => {
                let _ = std::fs::remove_file(&*staging);
            }
            Output::Stdout(w) => {
                if self.in_copy {
                    let _ = w.write_all(b"\\.\n");
                }
                let _ = w.write_all(ABANDONED);
                let _ = w.flush();
            }
            // The spool file is removed with it.
            Output::Archive(_) => {}
        }
    }

    /// Flushes the script and publishes it: a file is synced and renamed into place (if
    /// `options` still allow replacing what is there).
    pub(super) fn publish(&mut self) -> Result<()> {
        let loc = self.location.clone();
        match &mut self.out {
            Output::Stdout(w) => w.flush().map_err(|e| Error::target(&loc, format!("writing the SQL dump: {e}"))),
            Output::Archive(_) => Err(Error::target(&loc, "internal error: the archive's file was never written")),
            Output::File { writer, staging, target, options, .. } => {
                writer.flush().map_err(|e| Error::target(staging.display(), e))?;
                writer.get_ref().sync_all().map_err(|e| Error::target(staging.display(), e))?;
                // Looked at again: the target may have appeared or changed during the run.
                check_replaceable(target, options)?;
                std::fs::rename(&*staging, &*target).map_err(|e| Error::target(&loc, e))?;
                if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty())
                    && let Ok(dir) = File::open(parent)
                {
                    let _ = dir.sync_all();
                }
                Ok(())
            }
        }
    }
}

/// A dropped sink: unless `committed`, what it wrote is abandoned ([`Shared::abandon`]).
pub(super) fn abandon_unless(shared: &Mutex<Shared>, committed: bool) {
    if !committed {
        shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).abandon();
    }
}

/// A plain SQL script being written as a [`Sink`].
pub struct DumpSink {
    shared: Arc<Mutex<Shared>>,
    location: String,
    /// `schema.table` → (schema, table), the source's tables.
    tables: HashMap<String, (String, String)>,
    sequences: Arc<Vec<SequenceValue>>,
    post_data: Vec<u8>,
    committed: bool,
}

impl std::fmt::Debug for DumpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpSink").field("target", &self.location).finish_non_exhaustive()
    }
}

/// The `--restrict-key` for a run: `doppel` and 32 hex digits of a keyed hash of the rules'
/// blake3. Fixed for the same rules and key (byte-identical dumps), yet not guessable without
/// the key by whoever controls the source's schema text; pg_dump accepts letters and digits only.
pub fn restrict_key(key: &Key, rules_fingerprint: &str) -> String {
    let hash = key.domain("doppel sql dump").hash(b"psql restrict key", rules_fingerprint.as_bytes());
    format!("doppel{}", &hash.to_hex()[..32])
}

fn partial_path(target: &Path, pid: u32) -> PathBuf {
    crate::sink::staging::sibling(target, "partial", pid)
}

impl DumpSink {
    /// Starts the script of `prepared` into its target: doppel's header (naming
    /// `rules_fingerprint`), the pre-data, then the data transaction.
    pub fn create(
        target: &Path,
        options: &FileTarget,
        prepared: Prepared,
        rules_fingerprint: &str,
    ) -> Result<DumpSink> {
        let location = target.display().to_string();
        let out = open_output(target, options, prepared.held)?;
        let sink = DumpSink {
            shared: Shared::new(out, &location, prepared.sequences.len()),
            location,
            tables: prepared.tables,
            sequences: Arc::new(prepared.sequences),
            post_data: prepared.post_data,
            committed: false,
        };
        let header = format!(
            "{HEADER_START}{} SQL dump (rules blake3 {rules_fingerprint})\n-- Restore into an empty database with: \
             psql -X -v ON_ERROR_STOP=1 -d DBNAME -f FILE\n-- Rows, post-data and sequence values load in one \
             transaction that commits at the end of this file.\n--\n\n",
            env!("CARGO_PKG_VERSION")
        );
        {
            let mut shared = sink.lock()?;
            shared.write(header.as_bytes())?;
            shared.write(&prepared.pre_data)?;
            shared.write(b"\n--\n-- doppel: data\n--\n\nBEGIN;\n\nSET client_encoding = 'UTF8';\n\n")?;
        }
        Ok(sink)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Shared>> {
        self.shared.lock().map_err(|_| Error::target(&self.location, "a writer thread panicked"))
    }
}

/// What a SQL dump or archive target writes besides the rows, gathered before it starts:
/// the claim on its file, the tables, the sequences, the schema before and after the data.
pub struct Prepared {
    pub(super) held: Option<Claim>,
    /// `schema.table` → (schema, table), the source's tables.
    pub(super) tables: HashMap<String, (String, String)>,
    pub(super) sequences: Vec<SequenceValue>,
    pub(super) pre_data: Vec<u8>,
    pub(super) post_data: Vec<u8>,
}

impl Prepared {
    /// For a dump of the source `source_url` (under the exported `snapshot`) into `target`
    /// (`-` for stdout), as `options` allow (see the module docs): pg_dump's sections with
    /// `restrict_key` ([`restrict_key`]), owners and privileges as `roles` decides
    /// ([`crate::pg::roles`]), the sequences' values under the snapshot.
    pub fn from_source(
        target: &Path,
        options: &FileTarget,
        source_url: &str,
        snapshot: &str,
        restrict_key: &str,
        roles: &RoleMap,
    ) -> Result<Prepared> {
        let source = ConnectParams::from_url(source_url)?;
        let location = target.display().to_string();
        let held = claim_target(target, options, &location, restrict_key)?;
        let (tables, sequences) = read_source(&source, snapshot)?;
        let section = |name| schema_section(&source, snapshot, name, Some(restrict_key), roles, &location);
        let pre_data = section("--section=pre-data")?;
        let post_data = section("--section=post-data")?;
        Ok(Prepared { held, tables, sequences, pre_data, post_data })
    }

    /// For a dump of a dump file's schema (`dumped`) into `target`: its sections stand where
    /// pg_dump's of a live source would (with `restrict_key`, owners and privileges as `roles`
    /// says), its sequences are set as it sets them (see the module docs).
    pub fn from_dump(
        target: &Path,
        options: &FileTarget,
        dumped: &DumpedSchema,
        restrict_key: &str,
        roles: &RoleMap,
    ) -> Result<Prepared> {
        let location = target.display().to_string();
        let held = claim_target(target, options, &location, restrict_key)?;
        let tables = dumped.tables.iter().map(|(s, t)| (format!("{s}.{t}"), (s.clone(), t.clone()))).collect();
        let sequences = dumped_sequences(dumped);
        // The dump's pre-data starts with its session settings; post-data gets them as pg_dump
        // writes them at the top of a section.
        let pre_data = dumped_section("", &dumped.pre_data, restrict_key, roles);
        let post_data = dumped_section(&format!("{}\n", dumped.preamble), &dumped.post_data, restrict_key, roles);
        Ok(Prepared { held, tables, sequences, pre_data, post_data })
    }
}

/// The output for `target`: its partial file beside it when `held`, else stdout.
pub(super) fn open_output(target: &Path, options: &FileTarget, held: Option<Claim>) -> Result<Output> {
    let Some(held) = held else {
        return Ok(Output::Stdout(BufWriter::with_capacity(1 << 20, std::io::stdout())));
    };
    let staging = partial_path(target, std::process::id());
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&staging)
        .map_err(|e| Error::target(staging.display(), e))?;
    Ok(Output::File {
        writer: BufWriter::with_capacity(1 << 20, file),
        staging,
        target: target.to_path_buf(),
        options: options.clone(),
        _claim: held,
    })
}

/// A dump file's sequences as the script sets them.
pub(super) fn dumped_sequences(dumped: &DumpedSchema) -> Vec<SequenceValue> {
    dumped
        .sequences
        .iter()
        .map(|s| SequenceValue {
            qualified: format!("{}.{}", quote_ident(&s.schema), quote_ident(&s.name)),
            last_value: s.last_value,
            is_called: s.is_called,
            owner: s.owner.clone(),
        })
        .collect()
}

/// Claims the file `target` (none for stdout) and checks it may be written, and that
/// `restrict_key` is one psql takes.
fn claim_target(target: &Path, options: &FileTarget, location: &str, restrict_key: &str) -> Result<Option<Claim>> {
    if restrict_key.is_empty() || !restrict_key.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::Usage("the psql restrict key must be letters and digits only".to_string()));
    }
    if target.as_os_str() == "-" {
        return Ok(None);
    }
    let held = claim(target, &options.inputs)?;
    if target.is_dir() {
        return Err(Error::target(location, "is a directory; --to takes a file name ending in .sql here"));
    }
    check_replaceable(target, options)?;
    Ok(Some(held))
}

/// One section of a dump file's schema as pg_dump would write it for a live source: its
/// header with `restrict_key`, pg_dump's session settings, the dump's SQL, the closing lines;
/// owners and privileges filtered by `roles` ([`RoleMap::rewrite`]; all of them without a map,
/// as pg_dump's `--no-owner --no-privileges`).
fn dumped_section(preamble: &str, body: &str, restrict_key: &str, roles: &RoleMap) -> Vec<u8> {
    let body = super::dumped_sql(body, roles);
    let body = String::from_utf8_lossy(&body);
    format!(
        "--\n-- PostgreSQL database dump\n--\n\n\\restrict {restrict_key}\n\n-- From a dump file\n\n{preamble}{}\n\n\n--\n\
         -- PostgreSQL database dump complete\n--\n\n\\unrestrict {restrict_key}\n\n",
        body.trim_end()
    )
    .into_bytes()
}

/// Refuses to replace the existing file `target` unless `options` allow it (see the module docs).
fn check_replaceable(target: &Path, options: &FileTarget) -> Result<()> {
    if !target.exists() {
        return Ok(());
    }
    let location = target.display();
    if !options.replace {
        return Err(Error::target(
            location,
            "exists; pass --replace to replace it (it is replaced only when the run succeeds)",
        ));
    }
    if options.force || starts_with_header(target) {
        return Ok(());
    }
    Err(Error::target(
        location,
        "exists and is not a SQL dump doppel wrote (it does not start with doppel's header); --replace replaces \
         only doppel's outputs: name another file, or give --force to replace it anyway",
    ))
}

/// True when the regular file `path` begins with [`HEADER_START`].
fn starts_with_header(path: &Path) -> bool {
    use std::io::Read;
    let mut start = [0u8; HEADER_START.len()];
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
        && File::open(path).and_then(|mut f| f.read_exact(&mut start)).is_ok()
        && start == HEADER_START.as_bytes()
}

/// Reads the source's tables, NOT VALID constraints and sequences under the snapshot.
#[allow(clippy::type_complexity)]
fn read_source(
    source: &ConnectParams,
    snapshot: &str,
) -> Result<(HashMap<String, (String, String)>, Vec<SequenceValue>)> {
    let loc = &source.location;
    let mut src = source.connect()?;
    src.batch_execute(&format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}",
        quote_literal(snapshot)
    ))
    .map_err(|e| Error::source(loc, format!("importing the snapshot: {}", describe(&e))))?;
    let filter = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
                  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";
    let tables = src
        .query(
            &format!(
                "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND {filter}"
            ),
            &[],
        )
        .map_err(|e| Error::source(loc, format!("listing tables: {}", describe(&e))))?
        .iter()
        .map(|r| {
            let (s, t): (String, String) = (r.get(0), r.get(1));
            (format!("{s}.{t}"), (s, t))
        })
        .collect();
    // The database target refuses these after its load; a dump refuses them before writing.
    let invalid = not_valid_constraints(&mut src)
        .map_err(|e| Error::source(loc, format!("checking constraints: {}", describe(&e))))?;
    if !invalid.is_empty() {
        return Err(Error::source(
            loc,
            format!("constraints are NOT VALID in the source and would stay so in the dump: {}", invalid.join(", ")),
        ));
    }
    let rows = src
        .query(
            &format!(
                "SELECT n.nspname, c.relname, \
                 (SELECT format('%s.%s', tn.nspname, tc.relname) || chr(1) || a.attname \
                    FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class tc ON tc.oid = d.refobjid \
                    JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace \
                    JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
                    JOIN pg_catalog.pg_sequence s ON s.seqrelid = d.objid \
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid \
                    AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i') \
                    AND d.refobjsubid > 0 AND s.seqincrement > 0 \
                    AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) LIMIT 1) \
                 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind = 'S' AND {filter} ORDER BY 1, 2"
            ),
            &[],
        )
        .map_err(|e| Error::source(loc, format!("listing sequences: {}", describe(&e))))?;
    let mut sequences = Vec::with_capacity(rows.len());
    for r in &rows {
        let (schema, name, owner): (String, String, Option<String>) = (r.get(0), r.get(1), r.get(2));
        let qualified = format!("{}.{}", quote_ident(&schema), quote_ident(&name));
        let value = src
            .query_one(&format!("SELECT last_value, is_called FROM {qualified}"), &[])
            .map_err(|e| Error::source(loc, format!("reading sequence {schema}.{name}: {}", describe(&e))))?;
        let owner = owner.and_then(|o| o.split_once('\u{1}').map(|(t, c)| (t.to_string(), c.to_string())));
        sequences.push(SequenceValue { qualified, last_value: value.get(0), is_called: value.get(1), owner });
    }
    Ok((tables, sequences))
}

impl Sink for DumpSink {
    /// COPY blocks follow each other in one script, in table name order.
    fn tables_in_parallel(&self) -> bool {
        false
    }

    fn open_table(&mut self, name: &str, schema: SchemaRef) -> Result<Box<dyn TableSink>> {
        let (mut sink, table_schema, table_name) =
            DumpTableSink::of_table(&self.tables, &self.shared, &self.location, &self.sequences, name, &schema)?;
        let header = format!("{};\n", copy_text::copy_statement(&table_schema, &table_name, &sink.schema));
        let mut shared = self.lock()?;
        shared.write(header.as_bytes())?;
        shared.in_copy = true;
        sink.bytes = header.len() as u64;
        Ok(Box::new(sink))
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let mut tail_sql = Vec::new();
        tail_sql.extend_from_slice(&self.post_data);
        let shared = self.shared.clone();
        let mut shared = shared.lock().map_err(|_| Error::target(&self.location, "a writer thread panicked"))?;
        if !self.sequences.is_empty() {
            tail_sql.extend_from_slice(b"\n--\n-- doppel: sequences\n--\n\n");
        }
        tail_sql.extend_from_slice(&shared.setvals(&self.sequences, false));
        tail_sql.extend_from_slice(b"\nANALYZE;\n\nCOMMIT;\n");
        shared.write(&tail_sql)?;
        shared.publish()?;
        self.committed = true;
        tracing::info!(target = %self.location, sequences = self.sequences.len(), "SQL dump complete");
        Ok(())
    }
}

impl Drop for DumpSink {
    fn drop(&mut self) {
        abandon_unless(&self.shared, self.committed);
    }
}

pub(super) struct DumpTableSink {
    shared: Arc<Mutex<Shared>>,
    location: String,
    table: String,
    /// Indices of the columns written (generated columns are left out).
    columns: Vec<usize>,
    schema: Arc<Schema>,
    owned: Vec<(usize, usize)>,
    bytes: u64,
    buffer: Vec<u8>,
    /// What closes the block: `\.` and a blank line.
    pub(super) trailer: &'static [u8],
}

impl DumpTableSink {
    /// [`DumpTableSink::new`] for `name`, one of `tables`, with its schema and table names.
    pub(super) fn of_table(
        tables: &HashMap<String, (String, String)>,
        shared: &Arc<Mutex<Shared>>,
        location: &str,
        sequences: &[SequenceValue],
        name: &str,
        schema: &Schema,
    ) -> Result<(DumpTableSink, String, String)> {
        let Some((table_schema, table_name)) = tables.get(name).cloned() else {
            return Err(Error::target(location, format!("table {name} is not in the source's schema")));
        };
        Ok((DumpTableSink::new(shared, location, sequences, name, schema)?, table_schema, table_name))
    }

    /// The columns written.
    pub(super) fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The rows of table `name` (of `schema`) into `shared`'s script, after its COPY line.
    pub(super) fn new(
        shared: &Arc<Mutex<Shared>>,
        location: &str,
        sequences: &[SequenceValue],
        name: &str,
        schema: &Schema,
    ) -> Result<DumpTableSink> {
        let (columns, projected) = copy_text::copied_columns(schema, name).map_err(|m| Error::target(location, m))?;
        // Sequences owned by a column of this table: (sequence index, column index in `projected`).
        let owned: Vec<(usize, usize)> = sequences
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match &s.owner {
                Some((t, c)) if t == name => projected.index_of(c).ok().map(|col| (i, col)),
                _ => None,
            })
            .collect();
        Ok(DumpTableSink {
            shared: shared.clone(),
            location: location.to_string(),
            table: name.to_string(),
            columns,
            schema: projected,
            owned,
            bytes: 0,
            buffer: Vec::new(),
            trailer: b"\\.\n\n",
        })
    }
}

/// The largest non-null value of an integer column.
fn column_max(array: &dyn Array) -> Option<i64> {
    match array.data_type() {
        DataType::Int16 => array.as_primitive::<Int16Type>().iter().flatten().max().map(i64::from),
        DataType::Int32 => array.as_primitive::<Int32Type>().iter().flatten().max().map(i64::from),
        DataType::Int64 => array.as_primitive::<Int64Type>().iter().flatten().max(),
        // A carried integer column ([`crate::pg::carried`]): its COPY text is plain digits.
        DataType::Binary => array.as_binary::<i32>().iter().flatten().filter_map(parse_digits).max(),
        _ => None,
    }
}

/// An integer's COPY text form.
fn parse_digits(field: &[u8]) -> Option<i64> {
    std::str::from_utf8(field).ok()?.parse::<i64>().ok()
}

impl TableSink for DumpTableSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let batch = batch.project(&self.columns).map_err(|e| Error::target(&self.location, e))?;
        let batch = crate::sink::with_schema(&batch, self.schema.clone())
            .map_err(|e| Error::target(&self.location, format!("table {}: {e}", self.table)))?;
        self.buffer.clear();
        copy_text::encode_batch(&batch, &mut self.buffer);
        self.bytes += self.buffer.len() as u64;
        let mut shared = self.shared.lock().map_err(|_| Error::target(&self.location, "a writer thread panicked"))?;
        for &(seq, col) in &self.owned {
            shared.raise_max(seq, column_max(batch.column(col).as_ref()));
        }
        shared.write(&self.buffer)
    }

    /// The source's COPY text, as pg_dump writes it.
    fn raw_request(&self) -> Option<RawRequest> {
        Some(RawRequest { columns: self.columns.clone(), format: CopyFormat::Text, server_major: None })
    }

    fn write_raw(&mut self, chunk: RawChunk) -> Result<()> {
        self.bytes += chunk.bytes.len() as u64;
        let mut shared = self.shared.lock().map_err(|_| Error::target(&self.location, "a writer thread panicked"))?;
        for &(seq, col) in &self.owned {
            // Integer columns: their text form is plain digits, never escaped.
            let max = raw_copy::text_fields(&chunk.bytes, col).flatten().filter_map(parse_digits).max();
            shared.raise_max(seq, max);
        }
        shared.write(&chunk.bytes)
    }

    fn finish(mut self: Box<Self>) -> Result<u64> {
        let end = self.trailer;
        self.bytes += end.len() as u64;
        let mut shared = self.shared.lock().map_err(|_| Error::target(&self.location, "a writer thread panicked"))?;
        shared.write(end)?;
        shared.in_copy = false;
        Ok(self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_restrict_key_is_fixed_keyed_and_alphanumeric() {
        let a = Key::from_text("test-key-0123456789abcdef0123456789").unwrap();
        let b = Key::from_text("other-key-0123456789abcdef012345678").unwrap();
        let k = restrict_key(&a, "ab12");
        assert_eq!(k, restrict_key(&a, "ab12"));
        assert_ne!(k, restrict_key(&b, "ab12"));
        assert_ne!(k, restrict_key(&a, "ab13"));
        assert_eq!(k.len(), 38);
        assert!(k.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn the_partial_file_sits_beside_the_target() {
        assert_eq!(partial_path(Path::new("out/x.sql"), 42), PathBuf::from("out/.x.sql.doppel-partial-42"));
    }

    #[test]
    fn maxima_of_integer_columns() {
        let a = arrow_array::Int32Array::from(vec![Some(3), None, Some(9)]);
        assert_eq!(column_max(&a), Some(9));
        let e = arrow_array::Int64Array::from(Vec::<Option<i64>>::new());
        assert_eq!(column_max(&e), None);
    }

    #[test]
    fn the_sink_is_send() {
        fn is_send<T: Send>() {}
        is_send::<DumpSink>();
        is_send::<DumpTableSink>();
    }
}
