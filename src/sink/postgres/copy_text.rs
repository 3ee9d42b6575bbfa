//! Encoding Arrow batches as PostgreSQL `COPY … FROM STDIN` text format.
//!
//! One line per row (an empty line for a table without columns), fields separated by tabs, `\N`
//! for NULL, and backslash, tab, newline and carriage return escaped. Each Arrow type is
//! written in the text form PostgreSQL reads back into the same value: integers and decimals
//! exactly, floats in their shortest round-trip form (`NaN`, `Infinity`, `-Infinity` spelled as
//! PostgreSQL spells them), dates as `YYYY-MM-DD`, times of day as `HH:MM:SS.ffffff`
//! (`24:00:00` kept), timestamps with microseconds (`+00` for timestamps with a time zone,
//! which the PostgreSQL source reads in UTC; the extreme values the source reads `±infinity`
//! into as `infinity` / `-infinity`), binary as `\x` hex (bytea), 16-byte binary as uuid text,
//! and text as is (columns the source carried as PostgreSQL text, such as intervals, arrays or
//! enums, go back unchanged).

use std::fmt::Write as _;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use std::sync::Arc;

use crate::pg::ident::quote_ident;
use crate::pg::raw_copy::CopyFormat;
use crate::pg::text_forms::{
    DATE_INFINITY, DATE_NEG_INFINITY, MICROS_PER_DAY, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY, civil_from_days,
};
use crate::schema::PG_GENERATED;

/// Why a column cannot be written as COPY text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedType {
    pub column: String,
    pub data_type: DataType,
}

/// The columns a COPY into PostgreSQL sends, as indexes into `schema` and the projected
/// schema: every column except generated ones (field metadata `pg.generated`; the target
/// computes those), each checked with [`check_types`]. `table` names the table in errors.
pub fn copied_columns(schema: &arrow_schema::Schema, table: &str) -> Result<(Vec<usize>, SchemaRef), String> {
    let columns: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.metadata().contains_key(PG_GENERATED))
        .map(|(i, _)| i)
        .collect();
    let projected = Arc::new(schema.project(&columns).map_err(|e| format!("table {table}: {e}"))?);
    check_types(&projected)
        .map_err(|u| format!("table {table}, column {}: type {} cannot be written with COPY", u.column, u.data_type))?;
    Ok((columns, projected))
}

/// `COPY "schema"."table" ("col", …) FROM stdin` for the columns of `projected`. Without
/// columns (a table with none, or only generated ones) there is no list, as pg_dump writes
/// it: `COPY t ()` is a syntax error, and PostgreSQL's default list leaves generated columns
/// out. Each row is then an empty line (text) or a tuple of zero fields (binary).
pub fn copy_statement(schema: &str, table: &str, projected: &arrow_schema::Schema) -> String {
    let list: Vec<String> = projected.fields().iter().map(|f| quote_ident(f.name())).collect();
    let columns = if list.is_empty() { String::new() } else { format!(" ({})", list.join(", ")) };
    format!("COPY {}.{}{columns} FROM stdin", quote_ident(schema), quote_ident(table))
}

/// Checks once, before any row is written, that every column's type can be encoded.
pub fn check_types(schema: &arrow_schema::Schema) -> Result<(), UnsupportedType> {
    for f in schema.fields() {
        let ok = matches!(
            f.data_type(),
            DataType::Boolean
                | DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32
                | DataType::UInt64
                | DataType::Float32
                | DataType::Float64
                | DataType::Decimal128(..)
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Binary
                | DataType::LargeBinary
                | DataType::FixedSizeBinary(_)
                | DataType::Date32
                | DataType::Time32(TimeUnit::Second | TimeUnit::Millisecond)
                | DataType::Time64(TimeUnit::Microsecond | TimeUnit::Nanosecond)
                | DataType::Timestamp(..)
        );
        if !ok {
            return Err(UnsupportedType { column: f.name().clone(), data_type: f.data_type().clone() });
        }
    }
    Ok(())
}

/// Appends the rows of `batch` to `out`. Call [`check_types`] on the schema first; columns of
/// other types are written as NULL.
///
/// Each column's array is resolved to its concrete type once per batch (`ColumnWriter`);
/// text and integers, the bulk of most tables, are then written straight from the array.
pub fn encode_batch(batch: &RecordBatch, out: &mut Vec<u8>) {
    let writers: Vec<ColumnWriter> = batch
        .schema_ref()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| ColumnWriter::new(f, c.as_ref()))
        .collect();
    let mut field = String::new();
    let mut digits = itoa::Buffer::new();
    for row in 0..batch.num_rows() {
        for (i, writer) in writers.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            writer.write(row, out, &mut field, &mut digits);
        }
        out.push(b'\n');
    }
}

/// One column of a batch, resolved to its concrete array type.
enum ColumnWriter<'a> {
    Utf8(&'a arrow_array::StringArray),
    LargeUtf8(&'a arrow_array::LargeStringArray),
    Int16(&'a arrow_array::Int16Array),
    Int32(&'a arrow_array::Int32Array),
    Int64(&'a arrow_array::Int64Array),
    /// A carried column ([`crate::pg::carried`]): its fields as the source's COPY text had them.
    Carried(&'a arrow_array::BinaryArray),
    /// Every other type, through [`encode_value`].
    Other(&'a dyn Array),
}

impl<'a> ColumnWriter<'a> {
    fn new(field: &arrow_schema::Field, array: &'a dyn Array) -> ColumnWriter<'a> {
        if crate::pg::carried::carried_format(field) == Some(CopyFormat::Text) {
            return ColumnWriter::Carried(array.as_binary::<i32>());
        }
        match array.data_type() {
            DataType::Utf8 => ColumnWriter::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => ColumnWriter::LargeUtf8(array.as_string::<i64>()),
            DataType::Int16 => ColumnWriter::Int16(array.as_primitive::<Int16Type>()),
            DataType::Int32 => ColumnWriter::Int32(array.as_primitive::<Int32Type>()),
            DataType::Int64 => ColumnWriter::Int64(array.as_primitive::<Int64Type>()),
            _ => ColumnWriter::Other(array),
        }
    }

    /// Appends the field of `row` (`\N` for NULL); `field` and `digits` are scratch space.
    fn write(&self, row: usize, out: &mut Vec<u8>, field: &mut String, digits: &mut itoa::Buffer) {
        match self {
            ColumnWriter::Utf8(a) if a.is_valid(row) => escape_into(a.value(row), out),
            ColumnWriter::LargeUtf8(a) if a.is_valid(row) => escape_into(a.value(row), out),
            ColumnWriter::Int16(a) if a.is_valid(row) => out.extend_from_slice(digits.format(a.value(row)).as_bytes()),
            ColumnWriter::Int32(a) if a.is_valid(row) => out.extend_from_slice(digits.format(a.value(row)).as_bytes()),
            ColumnWriter::Int64(a) if a.is_valid(row) => out.extend_from_slice(digits.format(a.value(row)).as_bytes()),
            ColumnWriter::Carried(a) if a.is_valid(row) => out.extend_from_slice(a.value(row)),
            ColumnWriter::Other(a) if a.is_valid(row) => {
                field.clear();
                if encode_value(*a, row, field) {
                    escape_into(field, out);
                } else {
                    out.extend_from_slice(b"\\N");
                }
            }
            _ => out.extend_from_slice(b"\\N"),
        }
    }
}

/// Appends `s` with COPY's escapes; most values need none and are copied in one piece.
fn escape_into(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    if !bytes.iter().any(|&b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

fn float_text(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        let _ = write!(out, "{f:?}");
    }
}

fn decimal_text(v: i128, scale: i8, out: &mut String) {
    if scale <= 0 {
        let _ = write!(out, "{v}");
        for _ in 0..(-scale) {
            out.push('0');
        }
        return;
    }
    let scale = scale as usize;
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(v.unsigned_abs());
    if v < 0 {
        out.push('-');
    }
    if digits.len() <= scale {
        out.push_str("0.");
        for _ in digits.len()..scale {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
}

/// `YYYY-MM-DD` (four digits at least) for `days` since 1970-01-01, the year counted back before
/// year 1 (without the suffix, which goes last), for any day count (PostgreSQL's dates reach
/// 5874897 AD, beyond chrono's range). Returns the astronomical year (0 is 1 BC).
fn date_text(days: i64, out: &mut String) -> i64 {
    let (year, month, day) = civil_from_days(days);
    let shown = if year <= 0 { 1 - year } else { year };
    push_padded(out, shown.unsigned_abs(), 4);
    out.push('-');
    push_padded(out, u64::from(month), 2);
    out.push('-');
    push_padded(out, u64::from(day), 2);
    year
}

/// `value` in decimal, zero-padded to at least `width` digits (no `fmt` machinery: this runs
/// for every date and time written).
fn push_padded(out: &mut String, value: u64, width: usize) {
    let mut buffer = itoa::Buffer::new();
    let digits = buffer.format(value);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
}

/// `HH:MM:SS.ffffff` for microseconds within a day (24:00:00 included).
fn push_time_of_day(out: &mut String, micros: i64) {
    let (secs, frac) = ((micros / 1_000_000) as u64, (micros % 1_000_000) as u64);
    push_padded(out, secs / 3600, 2);
    out.push(':');
    push_padded(out, secs / 60 % 60, 2);
    out.push(':');
    push_padded(out, secs % 60, 2);
    out.push('.');
    push_padded(out, frac, 6);
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` (`+00` with a zone, ` BC` last) for microseconds since 1970.
fn timestamp_text(micros: i128, with_zone: bool, out: &mut String) {
    let days = micros.div_euclid(86_400_000_000) as i64;
    let in_day = micros.rem_euclid(86_400_000_000) as i64;
    let year = date_text(days, out);
    out.push(' ');
    push_time_of_day(out, in_day);
    if with_zone {
        out.push_str("+00");
    }
    if year <= 0 {
        out.push_str(" BC");
    }
}

/// `HH:MM:SS.ffffff` for microseconds since midnight; `24:00:00` (PostgreSQL's time allows it)
/// for a whole day. False outside 00:00 to 24:00, which no PostgreSQL time holds.
fn time_text(micros: i64, out: &mut String) -> bool {
    if !(0..=MICROS_PER_DAY).contains(&micros) {
        return false;
    }
    push_time_of_day(out, micros);
    true
}

/// PostgreSQL's spelling of an infinite date or timestamp, if the value is one.
fn infinity_text(positive: bool, negative: bool) -> Option<&'static str> {
    if positive {
        Some("infinity")
    } else if negative {
        Some("-infinity")
    } else {
        None
    }
}

fn hex_into(bytes: &[u8], out: &mut String) {
    out.push_str("\\x");
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

/// Writes the text form of `array[row]` (not NULL) into `out`; false if it cannot.
fn encode_value(array: &dyn Array, row: usize, out: &mut String) -> bool {
    macro_rules! display {
        ($t:ty) => {{
            let _ = write!(out, "{}", array.as_primitive::<$t>().value(row));
        }};
    }
    match array.data_type() {
        DataType::Boolean => out.push(if array.as_boolean().value(row) { 't' } else { 'f' }),
        DataType::Int8 => display!(Int8Type),
        DataType::Int16 => display!(Int16Type),
        DataType::Int32 => display!(Int32Type),
        DataType::Int64 => display!(Int64Type),
        DataType::UInt8 => display!(UInt8Type),
        DataType::UInt16 => display!(UInt16Type),
        DataType::UInt32 => display!(UInt32Type),
        DataType::UInt64 => display!(UInt64Type),
        DataType::Float32 => {
            let f = array.as_primitive::<Float32Type>().value(row);
            if f.is_finite() {
                let _ = write!(out, "{f:?}");
            } else {
                float_text(f as f64, out);
            }
        }
        DataType::Float64 => float_text(array.as_primitive::<Float64Type>().value(row), out),
        DataType::Decimal128(_, scale) => decimal_text(array.as_primitive::<Decimal128Type>().value(row), *scale, out),
        DataType::Utf8 => out.push_str(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => out.push_str(array.as_string::<i64>().value(row)),
        DataType::Binary => hex_into(array.as_binary::<i32>().value(row), out),
        DataType::LargeBinary => hex_into(array.as_binary::<i64>().value(row), out),
        DataType::FixedSizeBinary(16) => {
            let v: [u8; 16] = array.as_fixed_size_binary().value(row).try_into().unwrap_or([0; 16]);
            crate::transform::hash::format_uuid(&v, out);
        }
        DataType::FixedSizeBinary(_) => hex_into(array.as_fixed_size_binary().value(row), out),
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row);
            if let Some(infinity) = infinity_text(days == DATE_INFINITY, days == DATE_NEG_INFINITY) {
                out.push_str(infinity);
                return true;
            }
            if date_text(i64::from(days), out) <= 0 {
                out.push_str(" BC");
            }
        }
        DataType::Time32(TimeUnit::Second) => {
            return time_text(i64::from(array.as_primitive::<Time32SecondType>().value(row)) * 1_000_000, out);
        }
        DataType::Time32(TimeUnit::Millisecond) => {
            return time_text(i64::from(array.as_primitive::<Time32MillisecondType>().value(row)) * 1_000, out);
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            return time_text(array.as_primitive::<Time64MicrosecondType>().value(row), out);
        }
        DataType::Time64(TimeUnit::Nanosecond) => {
            // PostgreSQL keeps microseconds; it rounds the nanoseconds itself.
            let ns = array.as_primitive::<Time64NanosecondType>().value(row);
            if !time_text(ns / 1_000, out) {
                return false;
            }
            let _ = write!(out, "{:03}", ns % 1_000);
        }
        DataType::Timestamp(unit, zone) => {
            let (value, per_second) = match unit {
                TimeUnit::Second => (array.as_primitive::<TimestampSecondType>().value(row), 1),
                TimeUnit::Millisecond => (array.as_primitive::<TimestampMillisecondType>().value(row), 1_000),
                TimeUnit::Microsecond => (array.as_primitive::<TimestampMicrosecondType>().value(row), 1_000_000),
                TimeUnit::Nanosecond => (array.as_primitive::<TimestampNanosecondType>().value(row), 1_000_000_000),
            };
            // The extremes mean ±infinity whatever the unit (none is a real PostgreSQL timestamp).
            if let Some(infinity) = infinity_text(value == TIMESTAMP_INFINITY, value == TIMESTAMP_NEG_INFINITY) {
                out.push_str(infinity);
                return true;
            }
            timestamp_text(i128::from(value) * 1_000_000 / per_second, zone.is_some(), out);
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_without_columns_has_no_column_list() {
        use arrow_schema::{Field, Schema};
        let none = Schema::new(Vec::<Field>::new());
        assert_eq!(copy_statement("s", "t", &none), "COPY \"s\".\"t\" FROM stdin");
        let one = Schema::new(vec![Field::new("a b", DataType::Int32, true)]);
        assert_eq!(copy_statement("s", "t", &one), "COPY \"s\".\"t\" (\"a b\") FROM stdin");
        // One empty line per row.
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(3));
        let batch = RecordBatch::try_new_with_options(Arc::new(none), Vec::new(), &options).unwrap();
        let mut out = Vec::new();
        encode_batch(&batch, &mut out);
        assert_eq!(out, b"\n\n\n");
    }
    use arrow_array::*;
    use std::sync::Arc;

    fn encode(columns: Vec<(&str, ArrayRef)>) -> String {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        check_types(&batch.schema()).unwrap();
        let mut out = Vec::new();
        encode_batch(&batch, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_is_escaped_and_null_differs_from_empty() {
        let s: ArrayRef = Arc::new(StringArray::from(vec![Some("a\tb\nc\\d\re"), Some(""), None, Some("ünï")]));
        assert_eq!(encode(vec![("s", s)]), "a\\tb\\nc\\\\d\\re\n\n\\N\nünï\n");
    }

    #[test]
    fn numbers_keep_their_exact_value() {
        let f: ArrayRef =
            Arc::new(Float64Array::from(vec![0.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1e300]));
        assert_eq!(encode(vec![("f", f)]), "0.1\nNaN\nInfinity\n-Infinity\n-0.0\n1e300\n");
        let d: ArrayRef =
            Arc::new(Decimal128Array::from(vec![123456, -5, 0, 100]).with_precision_and_scale(12, 2).unwrap());
        assert_eq!(encode(vec![("d", d)]), "1234.56\n-0.05\n0.00\n1.00\n");
        let r: ArrayRef = Arc::new(Float32Array::from(vec![0.1f32, 3.4028235e38]));
        assert_eq!(encode(vec![("r", r)]), "0.1\n3.4028235e38\n");
    }

    #[test]
    fn dates_timestamps_binary_and_uuids() {
        let d: ArrayRef = Arc::new(Date32Array::from(vec![0, 19000, -719_163]));
        assert_eq!(encode(vec![("d", d)]), "1970-01-01\n2022-01-08\n0001-12-31 BC\n");
        let t: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![1_500_000_000_123_456]).with_timezone("UTC"));
        assert_eq!(encode(vec![("t", t)]), "2017-07-14 02:40:00.123456+00\n");
        let t: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![-1]));
        assert_eq!(encode(vec![("t", t)]), "1969-12-31 23:59:59.999999\n");
        let t: ArrayRef =
            Arc::new(TimestampMicrosecondArray::from(vec![-1_500_000, 1_001, -1_001]).with_timezone("UTC"));
        assert_eq!(
            encode(vec![("t", t)]),
            "1969-12-31 23:59:58.500000+00\n1970-01-01 00:00:00.001001+00\n1969-12-31 23:59:59.998999+00\n"
        );
        let b: ArrayRef = Arc::new(BinaryArray::from(vec![&b"\x00\xff"[..]]));
        assert_eq!(encode(vec![("b", b)]), "\\\\x00ff\n");
        let u: ArrayRef = Arc::new(FixedSizeBinaryArray::try_from_iter(vec![[0x12u8; 16]].into_iter()).unwrap());
        assert_eq!(encode(vec![("u", u)]), "12121212-1212-1212-1212-121212121212\n");
    }

    #[test]
    fn infinite_dates_and_timestamps_are_written_as_infinity() {
        // Regression: the source reads `±infinity` into the extreme values; they must go back
        // as PostgreSQL's words, not as dates in the year 5881580 or 294247.
        let d: ArrayRef = Arc::new(Date32Array::from(vec![i32::MAX, i32::MIN, i32::MAX - 1]));
        assert_eq!(encode(vec![("d", d)]), "infinity\n-infinity\n5881580-07-10\n");
        let t: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![i64::MAX, i64::MIN]).with_timezone("UTC"));
        assert_eq!(encode(vec![("t", t)]), "infinity\n-infinity\n");
        let t: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![i64::MAX, i64::MIN]));
        assert_eq!(encode(vec![("t", t)]), "infinity\n-infinity\n");
        let t: ArrayRef = Arc::new(TimestampNanosecondArray::from(vec![i64::MAX, i64::MIN, 1_500]));
        assert_eq!(encode(vec![("t", t)]), "infinity\n-infinity\n1970-01-01 00:00:00.000001\n");
        let t: ArrayRef = Arc::new(TimestampSecondArray::from(vec![i64::MIN]));
        assert_eq!(encode(vec![("t", t)]), "-infinity\n");
    }

    #[test]
    fn dates_and_timestamps_beyond_chronos_range_are_written_not_nulled() {
        // Regression: dates after 262143 AD (PostgreSQL's reach 5874897 AD) were written as NULL.
        let d: ArrayRef = Arc::new(Date32Array::from(vec![2_145_042_905, -2_440_588]));
        assert_eq!(encode(vec![("d", d)]), "5874897-12-31\n4714-11-24 BC\n");
        let far = 280_000 * 365 * 86_400_000_000i64; // about 281800 AD, past chrono's 262143
        let t: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![i64::MAX - 1, far]).with_timezone("UTC"));
        let text = encode(vec![("t", t)]);
        assert!(text.starts_with("294247-01-10 04:00:54.775806+00\n"), "{text}");
        assert!(!text.contains("\\N"), "{text}");
        let t: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![-62_135_596_800_000_001]).with_timezone("UTC"));
        assert_eq!(encode(vec![("t", t)]), "0001-12-31 23:59:59.999999+00 BC\n");
    }

    #[test]
    fn times_of_day_keep_microseconds_and_24_00() {
        let t: ArrayRef = Arc::new(Time64MicrosecondArray::from(vec![0, 45_296_789_012, 86_400_000_000]));
        assert_eq!(encode(vec![("t", t)]), "00:00:00.000000\n12:34:56.789012\n24:00:00.000000\n");
        let t: ArrayRef = Arc::new(Time32SecondArray::from(vec![3_661]));
        assert_eq!(encode(vec![("t", t)]), "01:01:01.000000\n");
        let t: ArrayRef = Arc::new(Time64NanosecondArray::from(vec![1_234]));
        assert_eq!(encode(vec![("t", t)]), "00:00:00.000001234\n");
    }

    #[test]
    fn unsupported_types_are_refused_up_front() {
        let l: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]));
        let batch = RecordBatch::try_from_iter(vec![("l", l)]).unwrap();
        assert_eq!(check_types(&batch.schema()).unwrap_err().column, "l");
    }
}
