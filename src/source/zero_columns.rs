//! Tables without columns in Parquet files (`CREATE TABLE t ();` still has rows).
//!
//! A Parquet row group counts its rows through its column chunks, so a file without columns
//! holds no rows: the parquet crate writes such a file with `num_rows = 0` whatever was
//! written. doppel therefore writes a table without columns with one placeholder column,
//! [`PLACEHOLDER`], of Arrow type Null (all values null, no data pages worth speaking of) and
//! field metadata [`PLACEHOLDER_KEY`]. Any Parquet reader sees the right number of rows; the
//! Parquet source recognises the placeholder (a file whose only column carries the key) and
//! reads the table back as it was: no columns, the same rows.
//!
//! ```text
//! sink:   RecordBatch { 0 columns, N rows } ──with_placeholder──▶ { "__doppel_no_columns": Null × N }
//! source: { "__doppel_no_columns": Null × N } ──without_placeholder──▶ RecordBatch { 0 columns, N rows }
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, NullArray, RecordBatch, RecordBatchOptions};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};

/// The placeholder column's name.
pub const PLACEHOLDER: &str = "__doppel_no_columns";
/// The field metadata key that marks the placeholder (its value says what it is).
pub const PLACEHOLDER_KEY: &str = "doppel.no_columns";

/// The schema a Parquet file of `schema` is written with: `schema` itself, or, when it has no
/// columns, the placeholder column (schema metadata kept).
pub fn with_placeholder_schema(schema: &SchemaRef) -> SchemaRef {
    if !schema.fields().is_empty() {
        return schema.clone();
    }
    let marker = HashMap::from([(
        PLACEHOLDER_KEY.to_string(),
        "the table has no columns; this column only carries its row count".to_string(),
    )]);
    let field = Field::new(PLACEHOLDER, DataType::Null, true).with_metadata(marker);
    Arc::new(Schema::new_with_metadata(vec![field], schema.metadata().clone()))
}

/// `batch` as written to Parquet: itself, or, when it has no columns, its rows in the
/// placeholder column.
pub fn with_placeholder(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    if batch.num_columns() > 0 {
        return Ok(batch.clone());
    }
    let nulls: ArrayRef = Arc::new(NullArray::new(batch.num_rows()));
    RecordBatch::try_new(with_placeholder_schema(&batch.schema()), vec![nulls])
}

fn is_placeholder(schema: &Schema) -> bool {
    schema.fields().len() == 1 && schema.field(0).metadata().contains_key(PLACEHOLDER_KEY)
}

/// The schema of a table read from a Parquet file of `schema`: without the placeholder.
pub fn without_placeholder_schema(schema: &SchemaRef) -> SchemaRef {
    if is_placeholder(schema) {
        Arc::new(Schema::new_with_metadata(Vec::<Field>::new(), schema.metadata().clone()))
    } else {
        schema.clone()
    }
}

/// A batch read from Parquet, without the placeholder: no columns, the same rows.
pub fn without_placeholder(batch: RecordBatch) -> Result<RecordBatch, ArrowError> {
    if !is_placeholder(&batch.schema()) {
        return Ok(batch);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(without_placeholder_schema(&batch.schema()), Vec::new(), &options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_without_columns_goes_through_parquet_with_its_rows() {
        let schema = Arc::new(Schema::new_with_metadata(
            Vec::<Field>::new(),
            HashMap::from([("doppel.version".to_string(), "x".to_string())]),
        ));
        let options = RecordBatchOptions::new().with_row_count(Some(5));
        let batch = RecordBatch::try_new_with_options(schema.clone(), Vec::new(), &options).unwrap();

        let mut file = tempfile::tempfile().unwrap();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(&mut file, with_placeholder_schema(&schema), None).unwrap();
        writer.write(&with_placeholder(&batch).unwrap()).unwrap();
        writer.write(&with_placeholder(&batch.slice(1, 2)).unwrap()).unwrap();
        writer.close().unwrap();

        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 7, "any reader sees the rows");
        assert_eq!(without_placeholder_schema(reader.schema()).fields().len(), 0);
        let back: Vec<RecordBatch> =
            reader.build().unwrap().map(|b| without_placeholder(b.unwrap()).unwrap()).collect();
        assert_eq!(back.iter().map(RecordBatch::num_rows).sum::<usize>(), 7);
        assert!(back.iter().all(|b| b.num_columns() == 0));
    }

    #[test]
    fn tables_with_columns_are_left_alone() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int32, true)]));
        assert_eq!(with_placeholder_schema(&schema), schema);
        assert_eq!(without_placeholder_schema(&schema), schema);
        let named_alike = Arc::new(Schema::new(vec![Field::new(PLACEHOLDER, DataType::Null, true)]));
        assert_eq!(without_placeholder_schema(&named_alike), named_alike, "only the marked column is a placeholder");
    }
}
