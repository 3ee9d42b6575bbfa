//! Parquet sink: writes `DIR/<schema>.<table>.parquet` with the input's Arrow schema, zstd
//! compression, and key-value metadata naming the doppel version and the rules' blake3.
//!
//! Atomicity: everything is written into a staging folder beside DIR
//! (`.<name>.doppel-partial-<pid>`) and renamed to DIR only at [`Sink::commit`]. An existing
//! non-empty DIR is refused unless `replace` is set; then it is moved aside, the staging
//! folder renamed into place, and the old folder removed. Dropping the sink without a commit
//! removes the staging folder; staging folders left by killed runs (whose process is gone)
//! are removed when the next run starts.
//!
//! Determinism: batches are re-cut into [`WRITE_CHUNK_ROWS`]-row chunks and row groups are
//! cut every [`ROW_GROUP_ROWS`] rows, so the file bytes do not depend on batch sizes.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};

use super::staging::{clean_leftovers, sibling};
use super::{Rechunker, Sink, TableSink};

/// Rows per write call into the Parquet writer.
pub const WRITE_CHUNK_ROWS: usize = 8192;
/// Rows per row group (a multiple of [`WRITE_CHUNK_ROWS`]).
pub const ROW_GROUP_ROWS: usize = 16 * WRITE_CHUNK_ROWS;
/// A row group is flushed early when its encoded size passes this many bytes (bounds memory).
pub const ROW_GROUP_MAX_BYTES: usize = 256 * 1024 * 1024;

pub struct ParquetSink {
    target: PathBuf,
    staging: PathBuf,
    replace: bool,
    properties: WriterProperties,
    committed: bool,
}

fn target_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::target(path.display(), e)
}

impl ParquetSink {
    /// Prepares a sink writing to `target`. `metadata` is added to every file's key-value
    /// metadata.
    pub fn create(target: &Path, replace: bool, metadata: Vec<(String, String)>) -> Result<ParquetSink> {
        clean_leftovers(target, &["partial", "old"]);
        if target.exists() {
            if !target.is_dir() {
                return Err(target_err(
                    target,
                    "exists and is not a directory; --to takes a directory for Parquet output",
                ));
            }
            let non_empty = std::fs::read_dir(target).map_err(|e| target_err(target, e))?.next().is_some();
            if non_empty && !replace {
                return Err(target_err(
                    target,
                    "exists and is not empty; pass --replace to replace it (it is swapped only when the run succeeds)",
                ));
            }
        }
        let staging = sibling(target, "partial", std::process::id());
        if let Some(parent) = staging.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| target_err(parent, e))?;
        }
        std::fs::create_dir(&staging).map_err(|e| target_err(&staging, e))?;
        let kv = metadata.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect();
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).map_err(|e| target_err(target, e))?))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_key_value_metadata(Some(kv))
            .build();
        Ok(ParquetSink { target: target.to_path_buf(), staging, replace, properties, committed: false })
    }
}

impl Sink for ParquetSink {
    fn open_table(&mut self, name: &str, schema: SchemaRef) -> Result<Box<dyn TableSink>> {
        let path = self.staging.join(format!("{name}.parquet"));
        let file = File::create(&path).map_err(|e| target_err(&path, e))?;
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(self.properties.clone()))
            .map_err(|e| target_err(&path, e))?;
        Ok(Box::new(ParquetTableSink { writer, chunks: Rechunker::new(schema, WRITE_CHUNK_ROWS), path }))
    }

    fn staged_location(&self) -> Option<crate::source::Location> {
        Some(crate::source::Location::Parquet(self.staging.clone()))
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let old = sibling(&self.target, "old", std::process::id());
        let had_old = self.target.exists();
        if had_old {
            if !self.replace {
                return Err(target_err(&self.target, "appeared during the run; pass --replace to replace it"));
            }
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

impl Drop for ParquetSink {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

struct ParquetTableSink {
    writer: ArrowWriter<File>,
    chunks: Rechunker,
    path: PathBuf,
}

impl ParquetTableSink {
    fn write_chunk(&mut self, chunk: &RecordBatch) -> Result<()> {
        self.writer.write(chunk).map_err(|e| target_err(&self.path, e))?;
        if self.writer.in_progress_size() > ROW_GROUP_MAX_BYTES {
            self.writer.flush().map_err(|e| target_err(&self.path, e))?;
        }
        Ok(())
    }
}

impl TableSink for ParquetTableSink {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let chunks = self.chunks.push(batch).map_err(|e| target_err(&self.path, e))?;
        for chunk in &chunks {
            self.write_chunk(chunk)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<u64> {
        if let Some(last) = self.chunks.finish().map_err(|e| target_err(&self.path, e))? {
            self.write_chunk(&last)?;
        }
        let path = self.path.clone();
        let file = self.writer.into_inner().map_err(|e| target_err(&path, e))?;
        file.sync_all().map_err(|e| target_err(&path, e))?;
        Ok(file.metadata().map(|m| m.len()).unwrap_or(0))
    }
}
