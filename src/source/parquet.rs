//! Parquet source: a directory with, per table, `<schema>.<table>.parquet` or a folder
//! `<schema>.<table>/` of part files (read in name order). Names are decoded as
//! [`crate::table_files`] says (`%2F` → `/`; other names as they are). Hidden entries
//! (starting with `.`) are ignored, so doppel's own staging folders and marker are never read as
//! tables.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::metadata::ParquetMetaData;

use crate::error::{Error, Result};
use crate::progress::Total;
use crate::table_files;

use super::{BatchStream, Source};
use crate::schema::SourceTable;

pub struct ParquetSource {
    tables: Vec<SourceTable>,
    files: Vec<Vec<PathBuf>>,
    /// Rows per table, from the files' footers.
    rows: Vec<u64>,
}

fn is_parquet(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "parquet") && p.is_file()
}

fn hidden(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

fn open_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::source(path.display(), format!("cannot read Parquet file ({e}); check that it is a complete Parquet file"))
}

/// A file's schema and row count (from its footer).
fn file_schema(path: &Path) -> Result<(SchemaRef, u64)> {
    let file = File::open(path).map_err(|e| open_err(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| open_err(path, e))?;
    refuse_unreadable_codec(path, builder.metadata())?;
    let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    Ok((super::zero_columns::without_placeholder_schema(builder.schema()), rows))
}

/// The codecs this build reads (the parquet crate's features in Cargo.toml): a file using
/// another one is refused when the source is opened (by `scan` and `check` too), not when
/// `run` reaches its first page.
fn readable_codec(codec: Compression) -> bool {
    match codec {
        Compression::UNCOMPRESSED
        | Compression::SNAPPY
        | Compression::GZIP(_)
        | Compression::LZ4
        | Compression::LZ4_RAW
        | Compression::ZSTD(_)
        | Compression::BROTLI(_) => true,
        Compression::LZO => false,
    }
}

fn refuse_unreadable_codec(path: &Path, metadata: &ParquetMetaData) -> Result<()> {
    let columns = metadata.row_groups().iter().flat_map(|g| g.columns());
    match columns.into_iter().find(|c| !readable_codec(c.compression())) {
        None => Ok(()),
        Some(column) => Err(Error::source(
            path.display(),
            format!(
                "column {} is compressed with {}, which doppel cannot read; rewrite the file uncompressed or with \
                 snappy, gzip, lz4, zstd or brotli",
                column.column_path(),
                column.compression()
            ),
        )),
    }
}

impl ParquetSource {
    pub fn open(dir: &Path) -> Result<ParquetSource> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            Error::source(
                dir.display(),
                format!("cannot open the input directory ({e}); --from takes a directory of Parquet files"),
            )
        })?;
        let mut found: Vec<(String, Vec<PathBuf>)> = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| Error::source(dir.display(), e))?.path();
            if hidden(&path) {
                continue;
            }
            let Some(file_name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { continue };
            if !is_parquet(&path) && !path.is_dir() {
                continue;
            }
            let stem = file_name.strip_suffix(".parquet").filter(|_| is_parquet(&path)).unwrap_or(&file_name);
            let name = table_files::decode(stem).ok_or_else(|| {
                Error::source(
                    path.display(),
                    "its name does not decode to a table name (a %XX sequence gives bytes that are not UTF-8); \
                     rename it",
                )
            })?;
            if is_parquet(&path) {
                found.push((name, vec![path]));
            } else if path.is_dir() {
                let mut parts: Vec<PathBuf> = std::fs::read_dir(&path)
                    .map_err(|e| Error::source(path.display(), e))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| is_parquet(p) && !hidden(p))
                    .collect();
                parts.sort();
                if !parts.is_empty() {
                    found.push((name, parts));
                }
            }
        }
        if found.is_empty() {
            return Err(Error::source(
                dir.display(),
                "no tables found; expected <schema>.<table>.parquet files or <schema>.<table>/ folders of part files",
            ));
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(pair) = found.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::source(
                dir.display(),
                format!(
                    "table {} is given twice, as {} and {}; keep either the file or the folder of parts",
                    pair[0].0,
                    pair[0].1[0].display(),
                    pair[1].1[0].display()
                ),
            ));
        }
        let mut tables = Vec::new();
        let mut files = Vec::new();
        let mut rows = Vec::new();
        for (name, parts) in found {
            let (schema, mut table_rows) = file_schema(&parts[0])?;
            for part in &parts[1..] {
                let (other, part_rows) = file_schema(part)?;
                table_rows += part_rows;
                if other.fields() != schema.fields() {
                    return Err(Error::source(
                        part.display(),
                        format!(
                            "its schema differs from {}; all part files of a table must share one schema",
                            parts[0].display()
                        ),
                    ));
                }
            }
            tables.push(SourceTable::new(name, schema));
            files.push(parts);
            rows.push(table_rows);
        }
        Ok(ParquetSource { tables, files, rows })
    }
}

impl Source for ParquetSource {
    fn tables(&self) -> &[SourceTable] {
        &self.tables
    }

    fn read(&self, table: &str, batch_rows: usize) -> Result<BatchStream> {
        self.read_projected(table, None, batch_rows)
    }

    fn read_columns(&self, table: &str, columns: &[usize], batch_rows: usize) -> Result<BatchStream> {
        self.read_projected(table, Some(columns.to_vec()), batch_rows)
    }

    fn expected_rows(&self, table: &str) -> Option<Total> {
        self.tables.iter().position(|t| t.name == table).map(|i| Total::Exact(self.rows[i]))
    }
}

impl ParquetSource {
    /// Reads `table`'s files in order; with `columns`, only those are decoded and the others
    /// come back as NULL arrays (their fields nullable).
    fn read_projected(&self, table: &str, columns: Option<Vec<usize>>, batch_rows: usize) -> Result<BatchStream> {
        let index = self
            .tables
            .iter()
            .position(|t| t.name == table)
            .ok_or_else(|| Error::source(table, "no such table in the input directory"))?;
        let files = self.files[index].clone();
        let iter = files.into_iter().flat_map(move |path| -> Box<dyn Iterator<Item = Result<_>> + Send> {
            let columns = columns.clone();
            let reader = File::open(&path)
                .map_err(|e| open_err(&path, e))
                .and_then(|f| ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| open_err(&path, e)))
                .and_then(|b| {
                    let full = b.schema().clone();
                    let b = match &columns {
                        Some(columns) => {
                            let mask = ProjectionMask::roots(b.parquet_schema(), columns.iter().copied());
                            b.with_projection(mask)
                        }
                        None => b,
                    };
                    Ok((full, b.with_batch_size(batch_rows).build().map_err(|e| open_err(&path, e))?))
                });
            match reader {
                Err(e) => Box::new(std::iter::once(Err(e))),
                Ok((full, reader)) => {
                    let path = path.clone();
                    Box::new(reader.map(move |r| {
                        r.and_then(|batch| match &columns {
                            Some(columns) => with_null_columns(&full, columns, batch),
                            None => super::zero_columns::without_placeholder(batch),
                        })
                        .map_err(|e| open_err(&path, e))
                    }))
                }
            }
        });
        Ok(Box::new(iter))
    }
}

/// A projected batch (the columns `columns` of `full`, in order) as a batch of `full`'s
/// shape: the other columns all NULL, their fields nullable.
fn with_null_columns(
    full: &arrow_schema::SchemaRef,
    columns: &[usize],
    batch: RecordBatch,
) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    let mut projected = batch.columns().iter();
    let mut fields = Vec::with_capacity(full.fields().len());
    let mut arrays = Vec::with_capacity(full.fields().len());
    for (i, field) in full.fields().iter().enumerate() {
        if columns.contains(&i) {
            let array = projected.next().cloned().ok_or_else(|| {
                arrow_schema::ArrowError::SchemaError(format!(
                    "column {} missing from the projected read",
                    field.name()
                ))
            })?;
            fields.push(field.as_ref().clone());
            arrays.push(array);
        } else {
            fields.push(field.as_ref().clone().with_nullable(true));
            arrays.push(arrow_array::new_null_array(field.data_type(), batch.num_rows()));
        }
    }
    let schema = std::sync::Arc::new(arrow_schema::Schema::new_with_metadata(fields, full.metadata().clone()));
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(schema, arrays, &options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, RecordBatch};
    use std::sync::Arc;

    fn write(path: &Path, rows: i32) {
        let batch = RecordBatch::try_from_iter([("x", Arc::new(Int32Array::from_iter_values(0..rows)) as _)]).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    #[test]
    fn every_codec_said_readable_is_compiled_in_and_lzo_is_not() {
        use parquet::basic::{BrotliLevel, GzipLevel, ZstdLevel};
        let codecs = [
            Compression::UNCOMPRESSED,
            Compression::SNAPPY,
            Compression::GZIP(GzipLevel::default()),
            Compression::LZ4,
            Compression::LZ4_RAW,
            Compression::ZSTD(ZstdLevel::default()),
            Compression::BROTLI(BrotliLevel::default()),
        ];
        for codec in codecs {
            assert!(readable_codec(codec), "{codec}");
            let dir = tempfile::tempdir().unwrap();
            let batch =
                RecordBatch::try_from_iter([("x", Arc::new(Int32Array::from_iter_values(0..100)) as _)]).unwrap();
            let props = parquet::file::properties::WriterProperties::builder().set_compression(codec).build();
            let file = File::create(dir.path().join("public.t.parquet")).unwrap();
            let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
            let source = ParquetSource::open(dir.path()).unwrap();
            let rows: usize = source.read("public.t", 1000).unwrap().map(|b| b.unwrap().num_rows()).sum();
            assert_eq!(rows, 100, "{codec}");
        }
        assert!(!readable_codec(Compression::LZO));
    }

    #[test]
    fn files_and_part_folders_become_tables_and_hidden_entries_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("public.a.parquet"), 3);
        std::fs::create_dir(dir.path().join("public.b")).unwrap();
        write(&dir.path().join("public.b/part-1.parquet"), 2);
        write(&dir.path().join("public.b/part-0.parquet"), 5);
        std::fs::create_dir(dir.path().join(".out.doppel-partial-1")).unwrap();
        write(&dir.path().join(".out.doppel-partial-1/public.c.parquet"), 1);
        let source = ParquetSource::open(dir.path()).unwrap();
        let names: Vec<&str> = source.tables().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["public.a", "public.b"]);
        let rows: Vec<usize> = source.read("public.b", 4).unwrap().map(|b| b.unwrap().num_rows()).collect();
        assert_eq!(rows, [4, 1, 2], "parts in name order, batches of at most 4 rows");
    }

    #[test]
    fn a_projected_read_has_the_same_rows_with_the_other_columns_null() {
        use arrow_array::{Array, StringArray};
        let dir = tempfile::tempdir().unwrap();
        let batch = RecordBatch::try_from_iter_with_nullable([
            ("a", Arc::new(Int32Array::from_iter_values(0..5)) as _, false),
            ("b", Arc::new(StringArray::from_iter_values(["p", "q", "r", "s", "t"])) as _, false),
            ("c", Arc::new(Int32Array::from_iter_values(10..15)) as _, false),
        ])
        .unwrap();
        let path = dir.path().join("public.t.parquet");
        let mut w = parquet::arrow::ArrowWriter::try_new(File::create(&path).unwrap(), batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let source = ParquetSource::open(dir.path()).unwrap();
        let read: Vec<RecordBatch> = source.read_columns("public.t", &[0, 2], 3).unwrap().map(|b| b.unwrap()).collect();
        let all = arrow_select::concat::concat_batches(&read[0].schema(), &read).unwrap();
        assert_eq!(all.num_columns(), 3);
        assert_eq!(all.column(0).as_ref(), batch.column(0).as_ref());
        assert_eq!(all.column(2).as_ref(), batch.column(2).as_ref());
        assert_eq!(all.column(1).null_count(), 5);
        assert!(all.schema().field(1).is_nullable() && !all.schema().field(0).is_nullable());
    }

    #[test]
    fn a_table_given_twice_or_an_empty_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = ParquetSource::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("no tables found"), "{err}");
        write(&dir.path().join("public.a.parquet"), 1);
        std::fs::create_dir(dir.path().join("public.a")).unwrap();
        write(&dir.path().join("public.a/p.parquet"), 1);
        let err = ParquetSource::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("table public.a is given twice"), "{err}");
    }

    #[test]
    fn part_files_with_different_schemas_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("public.b")).unwrap();
        write(&dir.path().join("public.b/0.parquet"), 1);
        let batch = RecordBatch::try_from_iter([("y", Arc::new(Int32Array::from(vec![1])) as _)]).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            File::create(dir.path().join("public.b/1.parquet")).unwrap(),
            batch.schema(),
            None,
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let err = ParquetSource::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("1.parquet") && err.contains("share one schema"), "{err}");
    }
}
