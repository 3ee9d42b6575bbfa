//! Parquet sink: writes `DIR/<schema>.<table>.parquet` with the input's Arrow schema, zstd
//! compression, and key-value metadata naming the doppel version and the rules' blake3. Table
//! names become file names through [`crate::table_files`] (encoded, never a path).
//!
//! Atomicity: everything is written into a staging folder beside DIR
//! (`.<name>.doppel-partial-<pid>`) and renamed to DIR only at [`Sink::commit`]; the target is
//! claimed first ([`super::staging::claim`]: never an input of the run, one run at a time,
//! leftovers of killed runs removed). Dropping the sink without a commit removes the staging
//! folder.
//!
//! Replacing: an existing non-empty DIR is refused unless `replace` is set, and then only
//! when doppel wrote it: it holds the marker file [`MARKER`] (every output has it since this
//! version; hidden, so never read as a table; its text names doppel and the metadata above, no
//! time or pid, so outputs stay byte-identical across runs), or every entry in it is a Parquet
//! file (or a folder of them) whose metadata carries `doppel.version` (outputs written before
//! the marker existed). Anything else is replaced only with `force`. The old DIR is moved
//! aside, the staging folder renamed into place, and the old folder removed.
//!
//! Determinism: batches are re-cut into [`WRITE_CHUNK_ROWS`]-row chunks and row groups are
//! cut every [`ROW_GROUP_ROWS`] rows, so the file bytes do not depend on batch sizes.
//!
//! Large tables of known size ([`Sink::open_table_rows`], with [`ParquetSink::split_files`]):
//! a table of more rows than the limit (all of it, whichever shard is written) is written as a folder `<schema>.<table>/` of files
//! `part-<first row, 12 digits>.parquet`, a new file at every multiple of the limit in the
//! table's row numbering. Names sort in row order, and the folders of the shards of one
//! dataset never share a file name: their files together are the whole table.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};
use crate::table_files;

use super::staging::{Claim, FileTarget, claim, sibling};
use arrow_select::coalesce::BatchCoalescer;

use super::{Sink, TableSink};
use crate::source::zero_columns;

/// The marker file every Parquet output of doppel holds (see the module docs).
pub const MARKER: &str = ".doppel-output";

/// Rows per write call into the Parquet writer.
pub const WRITE_CHUNK_ROWS: usize = 8192;
/// Rows per row group (a multiple of [`WRITE_CHUNK_ROWS`]).
pub const ROW_GROUP_ROWS: usize = 16 * WRITE_CHUNK_ROWS;
/// A row group is flushed early when its encoded size passes this many bytes (bounds memory).
pub const ROW_GROUP_MAX_BYTES: usize = 256 * 1024 * 1024;

pub struct ParquetSink {
    target: PathBuf,
    staging: PathBuf,
    options: FileTarget,
    /// This run's hold on the target, released when the sink is dropped.
    _claim: Claim,
    properties: WriterProperties,
    committed: bool,
    /// Rows per file for tables of known size above it (see the module doc).
    file_rows: Option<u64>,
}

fn target_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::target(path.display(), e)
}

impl ParquetSink {
    /// Prepares a sink writing to `target` as `options` allow. `metadata` is added to every
    /// file's key-value metadata and to the marker file.
    pub fn create(target: &Path, options: &FileTarget, metadata: Vec<(String, String)>) -> Result<ParquetSink> {
        let held = claim(target, &options.inputs)?;
        if target.exists() {
            if !target.is_dir() {
                return Err(target_err(
                    target,
                    "exists and is not a directory; --to takes a directory for Parquet output",
                ));
            }
            check_replaceable(target, options)?;
        }
        let staging = sibling(target, "partial", std::process::id());
        std::fs::create_dir(&staging).map_err(|e| target_err(&staging, e))?;
        let mut marker =
            String::from("Parquet tables written by doppel; `doppel run --replace` replaces this folder.\n");
        for (key, value) in &metadata {
            marker.push_str(&format!("{key} = {value}\n"));
        }
        std::fs::write(staging.join(MARKER), marker).map_err(|e| target_err(&staging, e))?;
        let kv = metadata.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect();
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).map_err(|e| target_err(target, e))?))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_key_value_metadata(Some(kv))
            .build();
        Ok(ParquetSink {
            target: target.to_path_buf(),
            staging,
            options: options.clone(),
            _claim: held,
            properties,
            committed: false,
            file_rows: None,
        })
    }

    /// Writes tables of known size with more than `rows` rows (at least 1) as folders of
    /// files of at most `rows` rows (also when only a shard of such a table is written).
    pub fn split_files(mut self, rows: u64) -> ParquetSink {
        self.file_rows = Some(rows.max(1));
        self
    }
}

impl Sink for ParquetSink {
    fn open_table(&mut self, name: &str, schema: SchemaRef) -> Result<Box<dyn TableSink>> {
        let path = table_files::path_in(&self.staging, name, ".parquet").map_err(|m| target_err(&self.target, m))?;
        Ok(Box::new(open_file(&self.properties, path, schema)?))
    }

    fn open_table_rows(
        &mut self,
        name: &str,
        schema: SchemaRef,
        table_rows: u64,
        first_row: u64,
    ) -> Result<Box<dyn TableSink>> {
        match self.file_rows {
            Some(limit) if table_rows > limit => {
                let folder = table_files::path_in(&self.staging, name, "").map_err(|m| target_err(&self.target, m))?;
                std::fs::create_dir(&folder).map_err(|e| clash_err(&folder, name, e))?;
                Ok(Box::new(SplitTableSink {
                    current: None,
                    properties: self.properties.clone(),
                    schema,
                    folder,
                    limit,
                    next_row: first_row,
                    bytes: 0,
                }))
            }
            _ => self.open_table(name, schema),
        }
    }

    fn staged_location(&self) -> Option<crate::source::Location> {
        Some(crate::source::Location::Parquet(self.staging.clone()))
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let old = sibling(&self.target, "old", std::process::id());
        let had_old = self.target.exists();
        if had_old {
            // Looked at again: the target may have changed while the run was writing.
            check_replaceable(&self.target, &self.options)?;
            std::fs::rename(&self.target, &old).map_err(|e| target_err(&self.target, e))?;
        }
        if let Err(e) = std::fs::rename(&self.staging, &self.target) {
            if had_old {
                let _ = std::fs::rename(&old, &self.target);
            }
            return Err(target_err(&self.target, e));
        }
        self.committed = true;
        if had_old {
            std::fs::remove_dir_all(&old).map_err(|e| target_err(&old, e))?;
        }
        Ok(())
    }
}

/// Refuses to replace the existing directory `target` unless it is empty, or `options` allow
/// it (see the module docs).
fn check_replaceable(target: &Path, options: &FileTarget) -> Result<()> {
    let mut entries = std::fs::read_dir(target).map_err(|e| target_err(target, e))?.peekable();
    if entries.peek().is_none() {
        return Ok(());
    }
    if !options.replace {
        return Err(target_err(
            target,
            "exists and is not empty; pass --replace to replace it (it is swapped only when the run succeeds)",
        ));
    }
    if options.force || written_by_doppel(target) {
        return Ok(());
    }
    Err(target_err(
        target,
        format!(
            "exists and was not written by doppel (it has no {MARKER} marker, and not every entry is a Parquet file \
             doppel wrote); --replace replaces only doppel's outputs: name another target, empty it yourself, or \
             give --force to replace it anyway"
        ),
    ))
}

/// True when `dir` holds doppel's marker, or only Parquet files (or folders of them) whose
/// metadata names doppel (outputs written before the marker).
fn written_by_doppel(dir: &Path) -> bool {
    if dir.join(MARKER).is_file() {
        return true;
    }
    fn doppel_file(path: &Path) -> bool {
        let Ok(file) = File::open(path) else { return false };
        let Ok(reader) = parquet::file::reader::SerializedFileReader::new(file) else { return false };
        use parquet::file::reader::FileReader;
        reader
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .is_some_and(|kv| kv.iter().any(|e| e.key == "doppel.version"))
    }
    fn all_doppel(dir: &Path, depth: usize) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else { return false };
        let mut any = false;
        for entry in entries {
            let Ok(entry) = entry else { return false };
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { return false };
            let ok = if kind.is_dir() {
                depth == 0 && all_doppel(&path, 1)
            } else {
                kind.is_file() && path.extension().is_some_and(|e| e == "parquet") && doppel_file(&path)
            };
            if !ok {
                return false;
            }
            any = true;
        }
        any
    }
    all_doppel(dir, 0)
}

/// A file or folder that already exists in the staging folder: another table encoded to the
/// same name, which only a case-insensitive file system does.
fn clash_err(path: &Path, name: &str, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::AlreadyExists {
        return target_err(
            path,
            format!(
                "table {} and another table share this file name on this file system (names differing only in \
                 case, on a case-insensitive file system?); write to a case-sensitive file system, or skip one \
                 of the tables in the rules",
                table_files::shown(name)
            ),
        );
    }
    target_err(path, e)
}

impl Drop for ParquetSink {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// A new Parquet file at `path` with the sink's settings.
fn open_file(properties: &WriterProperties, path: PathBuf, schema: SchemaRef) -> Result<ParquetTableSink> {
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(|e| {
        let name = path.file_stem().and_then(|s| table_files::decode(&s.to_string_lossy())).unwrap_or_default();
        clash_err(&path, &name, e)
    })?;
    // A table without columns is written with a placeholder column that carries its rows.
    let file_schema = zero_columns::with_placeholder_schema(&schema);
    let writer = ArrowWriter::try_new(file, file_schema, Some(properties.clone())).map_err(|e| target_err(&path, e))?;
    Ok(ParquetTableSink { writer, chunks: BatchCoalescer::new(schema, WRITE_CHUNK_ROWS), path })
}

/// A table written as a folder of files, a new one at every multiple of `limit` rows.
struct SplitTableSink {
    current: Option<ParquetTableSink>,
    properties: WriterProperties,
    schema: SchemaRef,
    folder: PathBuf,
    limit: u64,
    /// The table's row number of the next row written.
    next_row: u64,
    bytes: u64,
}

impl TableSink for SplitTableSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if self.current.is_none() || self.next_row.is_multiple_of(self.limit) {
                if let Some(done) = self.current.take() {
                    self.bytes += Box::new(done).finish()?;
                }
                let path = self.folder.join(format!("part-{:012}.parquet", self.next_row));
                self.current = Some(open_file(&self.properties, path, self.schema.clone())?);
            }
            let room = (self.limit - self.next_row % self.limit) as usize;
            let n = room.min(batch.num_rows() - offset);
            if let Some(file) = self.current.as_mut() {
                file.write(&batch.slice(offset, n))?;
            }
            offset += n;
            self.next_row += n as u64;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<u64> {
        if let Some(done) = self.current.take() {
            self.bytes += Box::new(done).finish()?;
        }
        Ok(self.bytes)
    }
}

struct ParquetTableSink {
    writer: ArrowWriter<File>,
    /// Re-cuts whatever batches arrive into exactly [`WRITE_CHUNK_ROWS`]-row chunks (the last
    /// may be shorter), so the output bytes never depend on the batch size upstream.
    chunks: BatchCoalescer,
    path: PathBuf,
}

impl ParquetTableSink {
    fn write_chunk(&mut self, chunk: &RecordBatch) -> Result<()> {
        let chunk = zero_columns::with_placeholder(chunk).map_err(|e| target_err(&self.path, e))?;
        self.writer.write(&chunk).map_err(|e| target_err(&self.path, e))?;
        if self.writer.in_progress_size() > ROW_GROUP_MAX_BYTES {
            self.writer.flush().map_err(|e| target_err(&self.path, e))?;
        }
        Ok(())
    }
}

impl TableSink for ParquetTableSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.chunks.push_batch(batch.clone()).map_err(|e| target_err(&self.path, e))?;
        while let Some(chunk) = self.chunks.next_completed_batch() {
            self.write_chunk(&chunk)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<u64> {
        self.chunks.finish_buffered_batch().map_err(|e| target_err(&self.path, e))?;
        while let Some(last) = self.chunks.next_completed_batch() {
            self.write_chunk(&last)?;
        }
        let path = self.path.clone();
        let file = self.writer.into_inner().map_err(|e| target_err(&path, e))?;
        file.sync_all().map_err(|e| target_err(&path, e))?;
        Ok(file.metadata().map(|m| m.len()).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Array, Int64Array};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;
    use crate::source::Source;
    use crate::source::parquet::ParquetSource;

    #[test]
    fn a_large_table_of_known_size_is_split_at_multiples_of_the_limit_and_reads_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let schema = Arc::new(Schema::new(vec![Field::new("i", DataType::Int64, false)]));
        let mut sink = Box::new(ParquetSink::create(&out, &FileTarget::default(), Vec::new()).unwrap().split_files(10));
        // Rows 3..28 of the table (a shard), written in uneven batches.
        let mut table = sink.open_table_rows("public.t", schema.clone(), 28, 3).unwrap();
        for range in [3..7, 7..21, 21..28] {
            let batch =
                RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from_iter_values(range))]).unwrap();
            table.write(&batch).unwrap();
        }
        assert!(table.finish().unwrap() > 0);
        let mut small = sink.open_table_rows("public.u", schema.clone(), 10, 0).unwrap();
        small
            .write(&RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(0..10))]).unwrap())
            .unwrap();
        small.finish().unwrap();
        sink.commit().unwrap();

        let mut parts: Vec<String> = std::fs::read_dir(out.join("public.t"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        parts.sort();
        assert_eq!(parts, ["part-000000000003.parquet", "part-000000000010.parquet", "part-000000000020.parquet"]);
        assert!(out.join("public.u.parquet").is_file(), "a table within the limit stays one file");
        let source = ParquetSource::open(&out).unwrap();
        let values: Vec<i64> = source
            .read("public.t", 4)
            .unwrap()
            .flat_map(|b| {
                let b = b.unwrap();
                let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap().clone();
                (0..a.len()).map(move |i| a.value(i)).collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(values, (3..28).collect::<Vec<_>>());
    }
}
