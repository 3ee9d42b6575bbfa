//! Encoding Arrow batches as PostgreSQL's binary `COPY … FROM STDIN (FORMAT binary)`.
//!
//! PostgreSQL parses binary COPY faster than text for numbers, dates and times (measured by
//! `scripts/measure_copy_formats.sh`: loading a table of int8, float8, numeric, timestamptz,
//! date and uuid columns 2.2–3× faster; text columns about the same). A COPY has one format
//! for all its columns, so a table is loaded in binary only when every column it sends has
//! a binary form here ([`BinaryEncoder::for_schema`]); otherwise it is loaded as text
//! ([`super::copy_text`]). Types carried as PostgreSQL text (arrays, ranges, composites,
//! enums, intervals, domains …) have none — and binary arrays of enums or composites would
//! embed type OIDs, which differ between databases.
//!
//! ```text
//! header  "PGCOPY\n\xff\r\n\0", flags 0, extension length 0
//! row     field count (int16), then per field: length (int32, -1 for NULL) and the bytes
//! trailer -1 (int16)
//! ```
//!
//! | PostgreSQL type (field metadata `pg.type`) | Arrow type                 | binary form |
//! |--------------------------------------------|----------------------------|-------------|
//! | smallint, integer, bigint                  | Int16, Int32, Int64        | big-endian integer |
//! | real, double precision                     | Float32, Float64           | IEEE 754 bits |
//! | boolean                                    | Boolean                    | one byte    |
//! | text, character varying(n), character(n), json | Utf8, LargeUtf8        | UTF-8 bytes |
//! | jsonb                                      | Utf8, LargeUtf8            | version 1, then the text |
//! | bytea                                      | Binary, LargeBinary        | the bytes   |
//! | uuid                                       | FixedSizeBinary(16)        | 16 bytes    |
//! | date                                       | Date32                     | days since 2000-01-01 (int32; ±infinity as i32::MAX/MIN) |
//! | timestamp, timestamptz                     | Timestamp(any unit)        | µs since 2000-01-01 (int64; ±infinity as i64::MAX/MIN) |
//! | time                                       | Time64(µs)                 | µs since midnight (int64) |
//! | numeric, numeric(p,s) with s ≥ 0           | Decimal128                 | base-10000 digits, weight, sign, scale |
//!
//! Values the server would refuse (a string too long for varchar(n), a date out of range) are
//! refused by the server as in text COPY, with the row number.

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Schema, TimeUnit};

use crate::pg::carried::carried_format;
use crate::pg::raw_copy::CopyFormat;
use crate::pg::text_forms::{DATE_INFINITY, DATE_NEG_INFINITY, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY};
use crate::schema::PG_TYPE;

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
const EPOCH_MICROS: i64 = 946_684_800_000_000;

/// The start of every binary COPY stream.
pub const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The end of every binary COPY stream.
pub const TRAILER: &[u8] = &[0xff, 0xff];

/// How one column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Bool,
    Text,
    Jsonb,
    Bytes,
    Date,
    Timestamp(TimeUnit),
    Time,
    Numeric,
}

/// A row that cannot be written: its 0-based index in the batch and the column's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError {
    pub row: usize,
    pub column: String,
    pub reason: &'static str,
}

/// The binary encoder of one table's columns.
#[derive(Debug, Clone)]
pub struct BinaryEncoder {
    kinds: Vec<Kind>,
    names: Vec<String>,
}

impl BinaryEncoder {
    /// The encoder for `schema` (the columns a COPY sends), or `None` when some column has no
    /// binary form here: then the table goes as text.
    pub fn for_schema(schema: &Schema) -> Option<BinaryEncoder> {
        let kinds = schema
            .fields()
            .iter()
            .map(|f| kind_of(f.metadata().get(PG_TYPE).map(String::as_str)?, f.data_type()))
            .collect::<Option<Vec<Kind>>>()?;
        Some(BinaryEncoder { kinds, names: schema.fields().iter().map(|f| f.name().clone()).collect() })
    }

    /// Appends the rows of `batch` (whose columns are those of the schema given to
    /// [`BinaryEncoder::for_schema`]).
    pub fn encode(&self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let count = (batch.num_columns() as i16).to_be_bytes();
        let mut digits = String::new();
        // Carried columns ([`crate::pg::carried`]): the source's binary fields, as they are.
        let carried: Vec<Option<&arrow_array::BinaryArray>> = batch
            .schema_ref()
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(f, c)| (carried_format(f) == Some(CopyFormat::Binary)).then(|| c.as_binary::<i32>()))
            .collect();
        for row in 0..batch.num_rows() {
            out.extend_from_slice(&count);
            for (i, (column, kind)) in batch.columns().iter().zip(&self.kinds).enumerate() {
                if column.is_null(row) {
                    out.extend_from_slice(&(-1i32).to_be_bytes());
                    continue;
                }
                if let Some(bytes) = carried[i] {
                    field(out, bytes.value(row));
                    continue;
                }
                write_value(column.as_ref(), *kind, row, out, &mut digits).map_err(|reason| EncodeError {
                    row,
                    column: self.names[i].clone(),
                    reason,
                })?;
            }
        }
        Ok(())
    }
}

fn kind_of(pg_type: &str, data_type: &DataType) -> Option<Kind> {
    // An array (`character varying(10)[]`) travels as its text form: no binary form here.
    if pg_type.ends_with(']') {
        return None;
    }
    let base = pg_type.split('(').next().unwrap_or(pg_type);
    Some(match (base, data_type) {
        ("smallint", DataType::Int16) | ("integer", DataType::Int32) | ("bigint", DataType::Int64) => Kind::Int,
        ("real", DataType::Float32) | ("double precision", DataType::Float64) => Kind::Float,
        ("boolean", DataType::Boolean) => Kind::Bool,
        ("text" | "character varying" | "character" | "json", DataType::Utf8 | DataType::LargeUtf8) => Kind::Text,
        ("jsonb", DataType::Utf8 | DataType::LargeUtf8) => Kind::Jsonb,
        ("bytea", DataType::Binary | DataType::LargeBinary) | ("uuid", DataType::FixedSizeBinary(16)) => Kind::Bytes,
        ("date", DataType::Date32) => Kind::Date,
        ("timestamp without time zone", DataType::Timestamp(unit, None))
        | ("timestamp with time zone", DataType::Timestamp(unit, Some(_))) => Kind::Timestamp(*unit),
        ("time without time zone", DataType::Time64(TimeUnit::Microsecond)) => Kind::Time,
        ("numeric", DataType::Decimal128(_, scale)) if *scale >= 0 => Kind::Numeric,
        _ => return None,
    })
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn write_value(
    array: &dyn Array,
    kind: Kind,
    row: usize,
    out: &mut Vec<u8>,
    digits: &mut String,
) -> Result<(), &'static str> {
    match (kind, array.data_type()) {
        (Kind::Int, DataType::Int16) => field(out, &array.as_primitive::<Int16Type>().value(row).to_be_bytes()),
        (Kind::Int, DataType::Int32) => field(out, &array.as_primitive::<Int32Type>().value(row).to_be_bytes()),
        (Kind::Int, DataType::Int64) => field(out, &array.as_primitive::<Int64Type>().value(row).to_be_bytes()),
        (Kind::Float, DataType::Float32) => {
            field(out, &array.as_primitive::<Float32Type>().value(row).to_bits().to_be_bytes())
        }
        (Kind::Float, _) => field(out, &array.as_primitive::<Float64Type>().value(row).to_bits().to_be_bytes()),
        (Kind::Bool, _) => field(out, &[u8::from(array.as_boolean().value(row))]),
        (Kind::Text, DataType::LargeUtf8) => field(out, array.as_string::<i64>().value(row).as_bytes()),
        (Kind::Text, _) => field(out, array.as_string::<i32>().value(row).as_bytes()),
        (Kind::Jsonb, _) => {
            let text = match array.data_type() {
                DataType::LargeUtf8 => array.as_string::<i64>().value(row),
                _ => array.as_string::<i32>().value(row),
            };
            out.extend_from_slice(&(text.len() as i32 + 1).to_be_bytes());
            out.push(1);
            out.extend_from_slice(text.as_bytes());
        }
        (Kind::Bytes, DataType::Binary) => field(out, array.as_binary::<i32>().value(row)),
        (Kind::Bytes, DataType::LargeBinary) => field(out, array.as_binary::<i64>().value(row)),
        (Kind::Bytes, _) => field(out, array.as_fixed_size_binary().value(row)),
        (Kind::Date, _) => {
            let days = match array.as_primitive::<Date32Type>().value(row) {
                DATE_INFINITY => i32::MAX,
                DATE_NEG_INFINITY => i32::MIN,
                d => d
                    .checked_sub(EPOCH_DAYS)
                    .filter(|d| *d != i32::MIN)
                    .ok_or("the date is outside PostgreSQL's range")?,
            };
            field(out, &days.to_be_bytes());
        }
        (Kind::Timestamp(unit), _) => {
            let value = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
                TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().value(row),
                TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().value(row),
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
            };
            let micros = match value {
                TIMESTAMP_INFINITY => i64::MAX,
                TIMESTAMP_NEG_INFINITY => i64::MIN,
                v => match unit {
                    TimeUnit::Second => v.checked_mul(1_000_000),
                    TimeUnit::Millisecond => v.checked_mul(1_000),
                    TimeUnit::Microsecond => Some(v),
                    TimeUnit::Nanosecond => Some(v.div_euclid(1_000)),
                }
                .and_then(|us| us.checked_sub(EPOCH_MICROS))
                .filter(|us| *us != i64::MIN && *us != i64::MAX)
                .ok_or("the timestamp is outside PostgreSQL's range")?,
            };
            field(out, &micros.to_be_bytes());
        }
        (Kind::Time, _) => field(out, &array.as_primitive::<Time64MicrosecondType>().value(row).to_be_bytes()),
        (Kind::Numeric, DataType::Decimal128(_, scale)) => {
            numeric(array.as_primitive::<Decimal128Type>().value(row), *scale as u16, out, digits)
        }
        _ => return Err("the column's type changed after the plan was made"),
    }
    Ok(())
}

/// PostgreSQL's binary numeric: ndigits, weight (of the first base-10000 digit), sign,
/// display scale, then the base-10000 digits, all int16. `v` is the unscaled value.
fn numeric(v: i128, scale: u16, out: &mut Vec<u8>, decimal: &mut String) {
    let mut buffer = itoa::Buffer::new();
    let text = buffer.format(v.unsigned_abs());
    let scale_digits = usize::from(scale);
    // At least one whole digit: 5 at scale 2 is 0.05.
    let padded = text.len().max(scale_digits + 1);
    let whole = padded - scale_digits;
    // Whole digits left-padded to groups of 4; the fraction right-padded below.
    let lead = (4 - whole % 4) % 4;
    decimal.clear();
    for _ in 0..lead + (padded - text.len()) {
        decimal.push('0');
    }
    decimal.push_str(text);
    while !decimal.len().is_multiple_of(4) {
        decimal.push('0');
    }
    let whole_groups = (lead + whole) / 4;
    let groups: Vec<i16> =
        decimal.as_bytes().chunks(4).map(|g| g.iter().fold(0i16, |n, d| n * 10 + i16::from(d - b'0'))).collect();
    let first = groups.iter().position(|&g| g != 0);
    let last = groups.iter().rposition(|&g| g != 0);
    let (digits, weight) = match (first, last) {
        (Some(f), Some(l)) => (&groups[f..=l], whole_groups as i16 - 1 - f as i16),
        _ => (&groups[..0], 0),
    };
    let sign: u16 = if v < 0 && !digits.is_empty() { 0x4000 } else { 0 };
    out.extend_from_slice(&((8 + 2 * digits.len()) as i32).to_be_bytes());
    out.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&scale.to_be_bytes());
    for d in digits {
        out.extend_from_slice(&d.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_parts(v: i128, scale: u16) -> (i16, i16, u16, u16, Vec<i16>) {
        let mut out = Vec::new();
        numeric(v, scale, &mut out, &mut String::new());
        let i16_at = |i: usize| i16::from_be_bytes([out[i], out[i + 1]]);
        let n = i16_at(4);
        let digits = (0..n as usize).map(|k| i16_at(12 + 2 * k)).collect();
        assert_eq!(i32::from_be_bytes(out[..4].try_into().unwrap()), 8 + 2 * i32::from(n));
        (n, i16_at(6), i16_at(8) as u16, i16_at(10) as u16, digits)
    }

    #[test]
    fn numerics_are_grouped_from_the_decimal_point() {
        // 1234.56 → digits [1234, 5600], weight 0, scale 2.
        assert_eq!(numeric_parts(123456, 2), (2, 0, 0, 2, vec![1234, 5600]));
        // -0.05 → [500] at weight -1.
        assert_eq!(numeric_parts(-5, 2), (1, -1, 0x4000, 2, vec![500]));
        // 0.00 → no digits, positive.
        assert_eq!(numeric_parts(0, 2), (0, 0, 0, 2, vec![]));
        // 10000 → [1] at weight 1 (trailing zero groups dropped).
        assert_eq!(numeric_parts(10000, 0), (1, 1, 0, 0, vec![1]));
        // 12345678.9 (scale 1) → [1234, 5678, 9000].
        assert_eq!(numeric_parts(123456789, 1), (3, 1, 0, 1, vec![1234, 5678, 9000]));
        // 0.000012345 (scale 9) → groups [0 | 0000, 1234, 5000]: zero groups dropped, weight -2.
        assert_eq!(numeric_parts(12345, 9), (2, -2, 0, 9, vec![1234, 5000]));
    }

    #[test]
    fn tables_with_a_column_without_binary_form_go_as_text() {
        use arrow_schema::Field;
        use std::collections::HashMap;
        let field = |name: &str, t: DataType, pg: &str| {
            Field::new(name, t, true).with_metadata(HashMap::from([(PG_TYPE.to_string(), pg.to_string())]))
        };
        let binary = Schema::new(vec![
            field("id", DataType::Int64, "bigint"),
            field("name", DataType::Utf8, "character varying(40)"),
            field("amount", DataType::Decimal128(12, 2), "numeric(12,2)"),
            field("at", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), "timestamp with time zone"),
        ]);
        assert!(BinaryEncoder::for_schema(&binary).is_some());
        let mut with_array = binary.fields().to_vec();
        with_array.push(std::sync::Arc::new(field("tags", DataType::Utf8, "text[]")));
        assert!(BinaryEncoder::for_schema(&Schema::new(with_array)).is_none());
        // Nor an array of a type with a length: its text form is not a varchar's binary form.
        for array in ["character varying(10)[]", "character(2)[]", "numeric(5,2)[]"] {
            let schema = Schema::new(vec![field("tags", DataType::Utf8, array)]);
            assert!(BinaryEncoder::for_schema(&schema).is_none(), "{array}");
        }
        // Without the PostgreSQL type (a Parquet input), no guess is made.
        assert!(BinaryEncoder::for_schema(&Schema::new(vec![Field::new("id", DataType::Int64, true)])).is_none());
        // An Arrow type that does not match the declared one.
        assert!(BinaryEncoder::for_schema(&Schema::new(vec![field("id", DataType::Int64, "integer")])).is_none());
    }
}
