//! Parquet source: a directory with, per table, `<schema>.<table>.parquet` or a folder
//! `<schema>.<table>/` of part files (read in name order). Names are decoded as
//! [`crate::table_files`] says (`%2F` → `/`; other names as they are). Hidden entries
//! (starting with `.`) are ignored, so doppel's own staging folders and marker are never read as
//! tables.
//!
//! The same layout under an object-store prefix (`s3://bucket/prefix`, [`crate::store`]) is
//! read through parquet's async reader over ranged GETs: the footer first, then the column
//! chunks each read needs, never a whole file ahead (see [`crate::store::client`]).

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderBuilder, ParquetRecordBatchReaderBuilder};
use parquet::basic::Compression;
use parquet::file::metadata::ParquetMetaData;

use crate::error::{Error, Result};
use crate::progress::Total;
use crate::table_files;

use super::{BatchStream, Source};
use crate::schema::SourceTable;

pub struct ParquetSource {
    tables: Vec<SourceTable>,
    files: Vec<Vec<PartFile>>,
    /// Rows per table, from the files' footers.
    rows: Vec<u64>,
}

/// One Parquet file of a table: on the local file system, or in an object store.
#[derive(Debug, Clone)]
enum PartFile {
    Local(PathBuf),
    #[cfg(feature = "object-store")]
    Remote(crate::store::client::Store, crate::store::client::Object),
}

type Batches = Box<dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>> + Send>;

impl PartFile {
    fn display(&self) -> String {
        match self {
            PartFile::Local(path) => path.display().to_string(),
            #[cfg(feature = "object-store")]
            PartFile::Remote(store, object) => store.url().join(&object.name).to_string(),
        }
    }

    fn open_err(&self, e: impl std::fmt::Display) -> Error {
        Error::source(
            self.display(),
            format!("cannot read Parquet file ({e}); check that it is a complete Parquet file"),
        )
    }

    /// The file's schema and row count (from its footer).
    fn schema(&self) -> Result<(SchemaRef, u64)> {
        let (schema, metadata) = match self {
            PartFile::Local(path) => {
                let file = File::open(path).map_err(|e| self.open_err(e))?;
                let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| self.open_err(e))?;
                (builder.schema().clone(), builder.metadata().clone())
            }
            #[cfg(feature = "object-store")]
            PartFile::Remote(store, object) => {
                let builder = store.parquet(object).map_err(|e| self.open_err(e))?;
                (builder.schema().clone(), builder.metadata().clone())
            }
        };
        refuse_unreadable_codec(&self.display(), &metadata)?;
        let rows = metadata.file_metadata().num_rows().max(0) as u64;
        Ok((super::zero_columns::without_placeholder_schema(&schema), rows))
    }

    /// The file's full schema, and its batches (only `columns` decoded, when given).
    fn batches(&self, columns: Option<&[usize]>, batch_rows: usize) -> Result<(SchemaRef, Batches)> {
        match self {
            PartFile::Local(path) => {
                let file = File::open(path).map_err(|e| self.open_err(e))?;
                let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| self.open_err(e))?;
                let (full, builder) = configure(builder, columns, batch_rows);
                Ok((full, Box::new(builder.build().map_err(|e| self.open_err(e))?)))
            }
            #[cfg(feature = "object-store")]
            PartFile::Remote(store, object) => {
                let builder = store.parquet(object).map_err(|e| self.open_err(e))?;
                let (full, builder) = configure(builder, columns, batch_rows);
                let stream = builder.build().map_err(|e| self.open_err(e))?;
                Ok((full, Box::new(crate::store::client::batches(stream).map(|r| r.map_err(Into::into)))))
            }
        }
    }
}

/// A reader builder (local or remote) set to decode only `columns` (all when `None`) in
/// batches of `batch_rows`; with the file's full schema.
fn configure<T>(
    builder: ArrowReaderBuilder<T>,
    columns: Option<&[usize]>,
    batch_rows: usize,
) -> (SchemaRef, ArrowReaderBuilder<T>) {
    let full = builder.schema().clone();
    let builder = match columns {
        Some(columns) => {
            let mask = ProjectionMask::roots(builder.parquet_schema(), columns.iter().copied());
            builder.with_projection(mask)
        }
        None => builder,
    };
    (full, builder.with_batch_size(batch_rows))
}

fn is_parquet(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "parquet") && p.is_file()
}

fn hidden(name: &str) -> bool {
    name.starts_with('.')
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

fn refuse_unreadable_codec(file: &str, metadata: &ParquetMetaData) -> Result<()> {
    let columns = metadata.row_groups().iter().flat_map(|g| g.columns());
    match columns.into_iter().find(|c| !readable_codec(c.compression())) {
        None => Ok(()),
        Some(column) => Err(Error::source(
            file,
            format!(
                "column {} is compressed with {}, which doppel cannot read; rewrite the file uncompressed or with \
                 snappy, gzip, lz4, zstd or brotli",
                column.column_path(),
                column.compression()
            ),
        )),
    }
}

/// The Parquet files of a directory: `<name>.parquet` at the top, and the `*.parquet` files
/// of its folders (`<folder>/<part>`), named relative to it; hidden entries skipped.
fn list_local(dir: &Path) -> Result<Vec<(String, PartFile)>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::source(
            dir.display(),
            format!("cannot open the input directory ({e}); --from takes a directory of Parquet files"),
        )
    })?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::source(dir.display(), e))?.path();
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { continue };
        if hidden(&name) {
            continue;
        }
        if is_parquet(&path) {
            found.push((name, PartFile::Local(path)));
        } else if path.is_dir() {
            for part in std::fs::read_dir(&path).map_err(|e| Error::source(path.display(), e))? {
                let part = part.map_err(|e| Error::source(path.display(), e))?.path();
                let part_name = part.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if is_parquet(&part) && !hidden(&part_name) {
                    found.push((format!("{name}/{part_name}"), PartFile::Local(part)));
                }
            }
        }
    }
    Ok(found)
}

/// The Parquet objects under a store location, as [`list_local`] names files. A location
/// doppel is publishing into (or failed to finish publishing into) is refused.
#[cfg(feature = "object-store")]
fn list_store(url: &crate::store::StoreUrl) -> Result<Vec<(String, PartFile)>> {
    use crate::store::client::Store;
    let store = Store::open(url).map_err(|e| Error::source(url, e))?;
    let objects = store.list("").map_err(|e| Error::source(url, e))?;
    if objects.iter().any(|o| o.name == crate::store::PUBLISHING) {
        return Err(Error::source(
            url,
            format!(
                "a doppel run is publishing into it, or one failed while publishing ({} is there); wait for the \
                 run to finish, or run it again with --replace to publish a complete output",
                crate::store::PUBLISHING
            ),
        ));
    }
    Ok(objects
        .into_iter()
        .filter(|o| {
            let parts: Vec<&str> = o.name.split('/').collect();
            parts.len() <= 2 && !parts.iter().any(|p| hidden(p)) && o.name.ends_with(".parquet")
        })
        .map(|o| (o.name.clone(), PartFile::Remote(store.clone(), o)))
        .collect())
}

impl ParquetSource {
    pub fn open(dir: &Path) -> Result<ParquetSource> {
        ParquetSource::from_files(&dir.display().to_string(), list_local(dir)?)
    }

    /// The Parquet dataset under an object-store location.
    #[cfg(feature = "object-store")]
    pub fn open_store(url: &crate::store::StoreUrl) -> Result<ParquetSource> {
        url.check()?;
        ParquetSource::from_files(&url.to_string(), list_store(url)?)
    }

    /// The tables of `location`'s Parquet files, named relative to it (`<name>.parquet` for a
    /// table, `<folder>/<part>.parquet` for the parts of the table `<folder>`).
    fn from_files(location: &str, listed: Vec<(String, PartFile)>) -> Result<ParquetSource> {
        let mut found: Vec<(String, Vec<(String, PartFile)>)> = Vec::new();
        let mut folders: std::collections::BTreeMap<String, Vec<(String, PartFile)>> = Default::default();
        for (name, file) in listed {
            let (stem, folder) = match name.split_once('/') {
                Some((folder, _)) => (folder.to_string(), true),
                None => (name.strip_suffix(".parquet").unwrap_or(&name).to_string(), false),
            };
            let table = table_files::decode(&stem).ok_or_else(|| {
                Error::source(
                    format!("{location}/{stem}"),
                    "its name does not decode to a table name (a %XX sequence gives bytes that are not UTF-8); \
                     rename it",
                )
            })?;
            if folder {
                folders.entry(table).or_default().push((name, file));
            } else {
                found.push((table, vec![(name, file)]));
            }
        }
        for (table, mut parts) in folders {
            parts.sort_by(|a, b| a.0.cmp(&b.0));
            found.push((table, parts));
        }
        if found.is_empty() {
            return Err(Error::source(
                location,
                "no tables found; expected <schema>.<table>.parquet files or <schema>.<table>/ folders of part files",
            ));
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(pair) = found.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::source(
                location,
                format!(
                    "table {} is given twice, as {} and {}; keep either the file or the folder of parts",
                    pair[0].0,
                    pair[0].1[0].1.display(),
                    pair[1].1[0].1.display()
                ),
            ));
        }
        let mut tables = Vec::new();
        let mut files = Vec::new();
        let mut rows = Vec::new();
        for (name, parts) in found {
            let parts: Vec<PartFile> = parts.into_iter().map(|(_, file)| file).collect();
            let (schema, mut table_rows) = parts[0].schema()?;
            for part in &parts[1..] {
                let (other, part_rows) = part.schema()?;
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
        let iter = files.into_iter().flat_map(move |file| -> Box<dyn Iterator<Item = Result<_>> + Send> {
            let columns = columns.clone();
            match file.batches(columns.as_deref(), batch_rows) {
                Err(e) => Box::new(std::iter::once(Err(e))),
                Ok((full, reader)) => Box::new(reader.map(move |r| {
                    r.and_then(|batch| match &columns {
                        Some(columns) => with_null_columns(&full, columns, batch),
                        None => super::zero_columns::without_placeholder(batch),
                    })
                    .map_err(|e| file.open_err(e))
                })),
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
