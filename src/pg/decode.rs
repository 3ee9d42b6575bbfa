//! Decoding COPY text rows straight into Arrow builders, `batch_rows` rows per
//! `RecordBatch`.
//!
//! ```text
//! row bytes ─split at \t─▶ field ─\N?─▶ NULL
//!                                 └──▶ unescape ─▶ text form decoder (per ColumnKind) ─▶ builder
//! ```
//!
//! Failures name the 1-based row and the column; the value decoders are in
//! [`super::text_forms`].

use std::fmt;
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, FixedSizeBinaryBuilder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{ArrowError, SchemaRef};

use super::copy_text;
use super::text_forms::*;
use super::types::ColumnKind;

/// One column's Arrow builder, fed with unescaped COPY text.
pub enum ColumnBuilder {
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Bool(BooleanBuilder),
    Text(StringBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder, bool),
    Decimal(Decimal128Builder, u8, i8),
    Bytea(BinaryBuilder, Vec<u8>),
    Uuid(FixedSizeBinaryBuilder),
    /// A carried column ([`super::carried`]): the field's bytes as they stand, not decoded.
    Carried(BinaryBuilder),
}

impl ColumnBuilder {
    pub fn new(kind: ColumnKind, capacity: usize) -> ColumnBuilder {
        match kind {
            ColumnKind::Int16 => ColumnBuilder::Int16(Int16Builder::with_capacity(capacity)),
            ColumnKind::Int32 => ColumnBuilder::Int32(Int32Builder::with_capacity(capacity)),
            ColumnKind::Int64 => ColumnBuilder::Int64(Int64Builder::with_capacity(capacity)),
            ColumnKind::Float32 => ColumnBuilder::Float32(Float32Builder::with_capacity(capacity)),
            ColumnKind::Float64 => ColumnBuilder::Float64(Float64Builder::with_capacity(capacity)),
            ColumnKind::Bool => ColumnBuilder::Bool(BooleanBuilder::with_capacity(capacity)),
            ColumnKind::Text => ColumnBuilder::Text(StringBuilder::with_capacity(capacity, capacity * 16)),
            ColumnKind::Date => ColumnBuilder::Date(Date32Builder::with_capacity(capacity)),
            ColumnKind::Time => ColumnBuilder::Time(Time64MicrosecondBuilder::with_capacity(capacity)),
            ColumnKind::Timestamp => {
                ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity), false)
            }
            ColumnKind::TimestampTz => ColumnBuilder::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone(Arc::<str>::from("UTC")),
                true,
            ),
            ColumnKind::Decimal { precision, scale } => ColumnBuilder::Decimal(
                Decimal128Builder::with_capacity(capacity)
                    .with_precision_and_scale(precision, scale)
                    .expect("precision and scale were checked when the type was mapped"),
                precision,
                scale,
            ),
            ColumnKind::Bytea => {
                ColumnBuilder::Bytea(BinaryBuilder::with_capacity(capacity, capacity * 16), Vec::new())
            }
            ColumnKind::Uuid => ColumnBuilder::Uuid(FixedSizeBinaryBuilder::with_capacity(capacity, 16)),
        }
    }

    pub fn append_null(&mut self) {
        match self {
            ColumnBuilder::Int16(b) => b.append_null(),
            ColumnBuilder::Int32(b) => b.append_null(),
            ColumnBuilder::Int64(b) => b.append_null(),
            ColumnBuilder::Float32(b) => b.append_null(),
            ColumnBuilder::Float64(b) => b.append_null(),
            ColumnBuilder::Bool(b) => b.append_null(),
            ColumnBuilder::Text(b) => b.append_null(),
            ColumnBuilder::Date(b) => b.append_null(),
            ColumnBuilder::Time(b) => b.append_null(),
            ColumnBuilder::Timestamp(b, _) => b.append_null(),
            ColumnBuilder::Decimal(b, ..) => b.append_null(),
            ColumnBuilder::Bytea(b, _) => b.append_null(),
            ColumnBuilder::Uuid(b) => b.append_null(),
            ColumnBuilder::Carried(b) => b.append_null(),
        }
    }

    /// Appends one non-NULL value, given its unescaped text.
    pub fn append(&mut self, v: &[u8]) -> Result<(), ValueError> {
        match self {
            ColumnBuilder::Int16(b) => b.append_value(parse_i16(v)?),
            ColumnBuilder::Int32(b) => b.append_value(parse_i32(v)?),
            ColumnBuilder::Int64(b) => b.append_value(parse_i64(v)?),
            ColumnBuilder::Float32(b) => b.append_value(parse_f32(v)?),
            ColumnBuilder::Float64(b) => b.append_value(parse_f64(v)?),
            ColumnBuilder::Bool(b) => b.append_value(parse_bool(v)?),
            ColumnBuilder::Text(b) => b.append_value(std::str::from_utf8(v).map_err(|_| ValueError::InvalidUtf8)?),
            ColumnBuilder::Date(b) => b.append_value(parse_date(v)?),
            ColumnBuilder::Time(b) => b.append_value(parse_time(v)?),
            ColumnBuilder::Timestamp(b, tz) => b.append_value(parse_timestamp(v, *tz)?),
            ColumnBuilder::Decimal(b, p, s) => b.append_value(parse_decimal(v, *p, *s)?),
            ColumnBuilder::Bytea(b, buf) => {
                parse_bytea_hex(v, buf)?;
                b.append_value(&buf[..]);
            }
            ColumnBuilder::Uuid(b) => {
                b.append_value(parse_uuid(v)?).expect("a uuid is 16 bytes");
            }
            ColumnBuilder::Carried(b) => b.append_value(v),
        }
        Ok(())
    }

    pub fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Int16(b) => Arc::new(b.finish()),
            ColumnBuilder::Int32(b) => Arc::new(b.finish()),
            ColumnBuilder::Int64(b) => Arc::new(b.finish()),
            ColumnBuilder::Float32(b) => Arc::new(b.finish()),
            ColumnBuilder::Float64(b) => Arc::new(b.finish()),
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::Text(b) => Arc::new(b.finish()),
            ColumnBuilder::Date(b) => Arc::new(b.finish()),
            ColumnBuilder::Time(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b, _) => Arc::new(b.finish()),
            ColumnBuilder::Decimal(b, ..) => Arc::new(b.finish()),
            ColumnBuilder::Bytea(b, _) => Arc::new(b.finish()),
            ColumnBuilder::Uuid(b) => Arc::new(b.finish()),
            ColumnBuilder::Carried(b) => Arc::new(b.finish()),
        }
    }
}

/// Where decoding a row failed: 1-based row number, 0-based column index (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFailure {
    pub row: u64,
    pub column: Option<usize>,
    pub problem: RowProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowProblem {
    Value(ValueError),
    /// The row has a different number of fields than the table has columns.
    FieldCount {
        expected: usize,
        found: usize,
    },
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowProblem::Value(v) => v.fmt(f),
            RowProblem::FieldCount { expected, found } => write!(
                f,
                "malformed COPY data: the row has {found} fields, the table has {expected} columns; was the table \
                 altered during the run?"
            ),
        }
    }
}

/// Turns COPY text rows into `RecordBatch`es of a fixed schema.
pub struct RowDecoder {
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    scratch: Vec<u8>,
    batch_rows: usize,
    in_batch: usize,
    rows: u64,
}

impl RowDecoder {
    pub fn new(schema: SchemaRef, kinds: Vec<ColumnKind>, batch_rows: usize) -> RowDecoder {
        RowDecoder::carrying(schema, kinds, &[], batch_rows)
    }

    /// [`RowDecoder::new`] with the columns at `carried` (indexes) kept as their escaped COPY
    /// text ([`super::carried`]; `schema` marks them so).
    pub fn carrying(schema: SchemaRef, kinds: Vec<ColumnKind>, carried: &[usize], batch_rows: usize) -> RowDecoder {
        let batch_rows = batch_rows.max(1);
        let columns = kinds
            .iter()
            .enumerate()
            .map(|(i, k)| match carried.contains(&i) {
                true => ColumnBuilder::Carried(BinaryBuilder::with_capacity(batch_rows, batch_rows * 8)),
                false => ColumnBuilder::new(*k, batch_rows),
            })
            .collect();
        RowDecoder { schema, columns, scratch: Vec::new(), batch_rows, in_batch: 0, rows: 0 }
    }

    /// Rows decoded so far, in all batches.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// True when the current batch is full and should be taken with [`RowDecoder::finish_batch`].
    pub fn batch_full(&self) -> bool {
        self.in_batch >= self.batch_rows
    }

    pub fn has_rows(&self) -> bool {
        self.in_batch > 0
    }

    /// Decodes one row (the line without its `\n`).
    pub fn push_row(&mut self, line: &[u8]) -> Result<(), RowFailure> {
        let row = self.rows + 1;
        let expected = self.columns.len();
        if expected == 0 {
            // A table without columns prints an empty line per row.
            if !line.is_empty() {
                return Err(RowFailure { row, column: None, problem: RowProblem::FieldCount { expected, found: 1 } });
            }
        } else {
            // The unread rest of the line; `None` once its last field was taken.
            let mut rest = Some(line);
            for (i, col) in self.columns.iter_mut().enumerate() {
                let Some(unread) = rest else {
                    return Err(RowFailure {
                        row,
                        column: None,
                        problem: RowProblem::FieldCount { expected, found: i },
                    });
                };
                let raw = match memchr::memchr(b'\t', unread) {
                    Some(tab) => {
                        rest = Some(&unread[tab + 1..]);
                        &unread[..tab]
                    }
                    None => {
                        rest = None;
                        unread
                    }
                };
                if raw == copy_text::NULL {
                    col.append_null();
                    continue;
                }
                if let ColumnBuilder::Carried(b) = col {
                    // Checked like decoded text: a dump or a SQL_ASCII database may hold any bytes.
                    if std::str::from_utf8(raw).is_err() {
                        return Err(RowFailure {
                            row,
                            column: Some(i),
                            problem: RowProblem::Value(ValueError::InvalidUtf8),
                        });
                    }
                    b.append_value(raw);
                    continue;
                }
                let fail = |e: ValueError| RowFailure { row, column: Some(i), problem: RowProblem::Value(e) };
                let value = copy_text::unescape(raw, &mut self.scratch).map_err(|e| fail(e.into()))?;
                col.append(value).map_err(fail)?;
            }
            if let Some(unread) = rest {
                let extra = 1 + memchr::memchr_iter(b'\t', unread).count();
                return Err(RowFailure {
                    row,
                    column: None,
                    problem: RowProblem::FieldCount { expected, found: expected + extra },
                });
            }
        }
        self.rows += 1;
        self.in_batch += 1;
        Ok(())
    }

    /// Takes the rows decoded since the last batch as a `RecordBatch`.
    pub fn finish_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        take_batch(&self.schema, &mut self.columns, &mut self.in_batch)
    }
}

/// The `in_batch` rows of `columns` as a `RecordBatch` of `schema`; the builders start anew.
pub(super) fn take_batch(
    schema: &SchemaRef,
    columns: &mut [ColumnBuilder],
    in_batch: &mut usize,
) -> Result<RecordBatch, ArrowError> {
    let arrays: Vec<ArrayRef> = columns.iter_mut().map(ColumnBuilder::finish).collect();
    let options = RecordBatchOptions::new().with_row_count(Some(*in_batch));
    *in_batch = 0;
    RecordBatch::try_new_with_options(schema.clone(), arrays, &options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{
        Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Time64MicrosecondType,
        TimestampMicrosecondType,
    };
    use arrow_array::{Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};

    fn decoder(kinds: &[ColumnKind], batch_rows: usize) -> RowDecoder {
        let fields: Vec<Field> =
            kinds.iter().enumerate().map(|(i, k)| k.field(&format!("c{i}"), "t", true, false)).collect();
        RowDecoder::new(Arc::new(Schema::new(fields)), kinds.to_vec(), batch_rows)
    }

    fn decode_all(d: &mut RowDecoder, data: &[u8]) -> Result<Vec<RecordBatch>, RowFailure> {
        let mut batches = Vec::new();
        for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            d.push_row(line)?;
            if d.batch_full() {
                batches.push(d.finish_batch().unwrap());
            }
        }
        if d.has_rows() {
            batches.push(d.finish_batch().unwrap());
        }
        Ok(batches)
    }

    #[test]
    fn carried_columns_keep_their_escaped_text_and_nulls() {
        let kinds = [ColumnKind::Int64, ColumnKind::Text, ColumnKind::Timestamp];
        let fields: Vec<Field> =
            kinds.iter().enumerate().map(|(i, k)| k.field(&format!("c{i}"), "t", true, false)).collect();
        let carried = [1, 2];
        let schema =
            crate::pg::carried::carrying_schema(&Schema::new(fields), &carried, crate::pg::raw_copy::CopyFormat::Text);
        let mut d = RowDecoder::carrying(schema, kinds.to_vec(), &carried, 10);
        let data = b"7\ta\\\\b\t2020-01-01 00:00:00\n\\N\t\\N\t2020-01-02 00:00:00\n";
        let batches = decode_all(&mut d, data).unwrap();
        let batch = &batches[0];
        assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(0), 7);
        assert!(batch.column(0).is_null(1));
        let text = batch.column(1).as_binary::<i32>();
        assert_eq!(text.value(0), b"a\\\\b", "still escaped");
        assert!(text.is_null(1));
        assert_eq!(batch.column(2).as_binary::<i32>().value(1), b"2020-01-02 00:00:00");
    }

    #[test]
    fn rows_decode_into_batches_of_the_requested_size() {
        let kinds = [
            ColumnKind::Int16,
            ColumnKind::Int32,
            ColumnKind::Int64,
            ColumnKind::Float32,
            ColumnKind::Float64,
            ColumnKind::Bool,
            ColumnKind::Text,
            ColumnKind::Date,
            ColumnKind::Timestamp,
            ColumnKind::TimestampTz,
            ColumnKind::Decimal { precision: 12, scale: 2 },
            ColumnKind::Bytea,
            ColumnKind::Uuid,
            ColumnKind::Time,
        ];
        let data = "1\t2\t3\t0.5\tNaN\tt\ttab\\there\\nnl \\\\ é€\t2024-01-31\t2024-01-31 10:00:00\t2024-01-31 10:00:00+00\t12.34\t\\\\x00ff\ta0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\t12:00:00.5\n\
                    \\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n\
                    -1\t-2\t-3\t-Infinity\tInfinity\tf\t\t0001-01-01 BC\t2000-01-01 00:00:00\t2000-01-01 00:00:00+00\t-0.01\t\\\\x\t00000000-0000-0000-0000-000000000000\t24:00:00\n";
        let mut d = decoder(&kinds, 2);
        let batches = decode_all(&mut d, data.as_bytes()).unwrap();
        assert_eq!(batches.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(), vec![2, 1]);
        let (b0, b1) = (&batches[0], &batches[1]);
        assert_eq!(b0.column(0).as_primitive::<Int16Type>().value(0), 1);
        assert_eq!(b0.column(1).as_primitive::<Int32Type>().value(0), 2);
        assert_eq!(b0.column(2).as_primitive::<Int64Type>().value(0), 3);
        assert_eq!(b0.column(3).as_primitive::<Float32Type>().value(0), 0.5);
        assert!(b0.column(4).as_primitive::<Float64Type>().value(0).is_nan());
        assert!(b0.column(5).as_boolean().value(0));
        assert_eq!(b0.column(6).as_string::<i32>().value(0), "tab\there\nnl \\ é€");
        assert_eq!(b0.column(7).as_primitive::<Date32Type>().value(0), 19_753);
        assert_eq!(b0.column(8).as_primitive::<TimestampMicrosecondType>().value(0), 1_706_695_200_000_000);
        assert_eq!(
            b0.column(9).data_type(),
            &DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(b0.column(10).as_primitive::<Decimal128Type>().value(0), 1234);
        assert_eq!(b0.column(10).data_type(), &DataType::Decimal128(12, 2));
        assert_eq!(b0.column(11).as_binary::<i32>().value(0), &[0, 255]);
        assert_eq!(b0.column(12).as_fixed_size_binary().value(0)[0], 0xa0);
        assert_eq!(b0.column(13).as_primitive::<Time64MicrosecondType>().value(0), 43_200_500_000);
        // Row 2: all NULL.
        for c in b0.columns() {
            assert!(c.is_null(1), "{:?}", c.data_type());
        }
        // Row 3: the empty string is not NULL; empty bytea is not NULL.
        assert_eq!(b1.column(6).as_string::<i32>().value(0), "");
        assert!(!b1.column(6).is_null(0));
        assert_eq!(b1.column(11).as_binary::<i32>().value(0), b"");
        assert_eq!(b1.column(10).as_primitive::<Decimal128Type>().value(0), -1);
        assert_eq!(b1.column(3).as_primitive::<Float32Type>().value(0), f32::NEG_INFINITY);
        assert_eq!(b1.column(13).as_primitive::<Time64MicrosecondType>().value(0), 86_400_000_000);
        assert_eq!(d.rows(), 3);
    }

    #[test]
    fn errors_name_the_row_and_column() {
        let kinds = [ColumnKind::Int32, ColumnKind::Date];
        let mut d = decoder(&kinds, 10);
        let err = decode_all(&mut d, b"1\t2024-01-01\n2\t\\N\n3\tinfinity\n4\t2024-02-30x\n").unwrap_err();
        assert_eq!(err, RowFailure { row: 4, column: Some(1), problem: RowProblem::Value(ValueError::Syntax("date")) });
        let mut d = decoder(&[ColumnKind::Decimal { precision: 5, scale: 2 }], 10);
        let err = decode_all(&mut d, b"1.00\nNaN\n").unwrap_err();
        assert_eq!((err.row, err.column), (2, Some(0)));
        assert_eq!(err.problem, RowProblem::Value(ValueError::NonFiniteNumeric(5, 2)));
        let mut d = decoder(&kinds, 10);
        let err = decode_all(&mut d, b"1\t2024-01-01\textra\n").unwrap_err();
        assert_eq!(err.problem, RowProblem::FieldCount { expected: 2, found: 3 });
        let mut d = decoder(&kinds, 10);
        let err = decode_all(&mut d, b"1\n").unwrap_err();
        assert_eq!(err.problem, RowProblem::FieldCount { expected: 2, found: 1 });
        let mut d = decoder(&[ColumnKind::Text], 10);
        let err = decode_all(&mut d, b"ok\n\\377\n").unwrap_err();
        assert_eq!((err.row, err.problem), (2, RowProblem::Value(ValueError::InvalidUtf8)));
    }

    #[test]
    fn tables_without_columns_count_rows() {
        let mut d = RowDecoder::new(Arc::new(Schema::empty()), vec![], 10);
        d.push_row(b"").unwrap();
        d.push_row(b"").unwrap();
        assert_eq!(d.finish_batch().unwrap().num_rows(), 2);
        assert!(d.push_row(b"x").is_err());
    }
}
