//! Reading values out of Arrow arrays: the canonical bytes a keyed strategy hashes, and
//! converting generated values into an array of the column's own type.
//!
//! Canonical bytes depend on the logical value, not the storage width: the integer 42 in an
//! Int32 column and in an Int64 column (or as a JSON number) hash the same, and so do equal
//! strings in Utf8 and LargeUtf8 columns. That is what lets a `domain` join across tables.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, FixedSizeBinaryArray, Float64Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::{DataType, TimeUnit};

use super::fake::FakeValue;
use super::hash::format_uuid;

/// Appends the canonical bytes of `array[row]` (which must not be NULL) to `buf`.
pub fn value_key(array: &dyn Array, row: usize, buf: &mut Vec<u8>) {
    macro_rules! int {
        ($t:ty) => {{
            buf.push(b'i');
            buf.extend_from_slice(&(array.as_primitive::<$t>().value(row) as i128).to_le_bytes());
        }};
    }
    match array.data_type() {
        DataType::Utf8 => text_key(array.as_string::<i32>().value(row), buf),
        DataType::LargeUtf8 => text_key(array.as_string::<i64>().value(row), buf),
        DataType::Utf8View => text_key(array.as_string_view().value(row), buf),
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Float32 => float_key(array.as_primitive::<Float32Type>().value(row) as f64, buf),
        DataType::Float64 => float_key(array.as_primitive::<Float64Type>().value(row), buf),
        DataType::Decimal128(_, scale) => {
            buf.push(b'd');
            buf.push(*scale as u8);
            buf.extend_from_slice(&array.as_primitive::<Decimal128Type>().value(row).to_le_bytes());
        }
        DataType::Boolean => {
            buf.push(b'?');
            buf.push(array.as_boolean().value(row) as u8);
        }
        DataType::Date32 => {
            buf.push(b'D');
            buf.extend_from_slice(&(array.as_primitive::<Date32Type>().value(row) as i64).to_le_bytes());
        }
        DataType::Timestamp(unit, _) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row) as i128 * 1_000_000_000,
                TimeUnit::Millisecond => {
                    array.as_primitive::<TimestampMillisecondType>().value(row) as i128 * 1_000_000
                }
                TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().value(row) as i128 * 1_000,
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row) as i128,
            };
            buf.push(b'T');
            buf.extend_from_slice(&v.to_le_bytes());
        }
        DataType::Binary => binary_key(array.as_binary::<i32>().value(row), buf),
        DataType::LargeBinary => binary_key(array.as_binary::<i64>().value(row), buf),
        DataType::FixedSizeBinary(_) => binary_key(array.as_fixed_size_binary().value(row), buf),
        _ => {
            // Any other type: its display form identifies the value.
            buf.push(b'x');
            if let Ok(f) = ArrayFormatter::try_new(array, &FormatOptions::default()) {
                use std::fmt::Write;
                let mut s = String::new();
                let _ = write!(s, "{}", f.value(row));
                buf.extend_from_slice(s.as_bytes());
            }
        }
    }
}

/// Canonical bytes of a text value.
pub fn text_key(s: &str, buf: &mut Vec<u8>) {
    buf.push(b's');
    buf.extend_from_slice(s.as_bytes());
}

/// Canonical bytes of a float; integral floats hash like the integer.
pub fn float_key(f: f64, buf: &mut Vec<u8>) {
    if f.fract() == 0.0 && f.abs() < 1e18 {
        buf.push(b'i');
        buf.extend_from_slice(&(f as i128).to_le_bytes());
    } else {
        buf.push(b'f');
        buf.extend_from_slice(&f.to_bits().to_le_bytes());
    }
}

fn binary_key(b: &[u8], buf: &mut Vec<u8>) {
    buf.push(b'b');
    buf.extend_from_slice(b);
}

/// Formats a generated value as text (for text columns and JSON strings).
pub fn fake_text(value: &FakeValue, out: &mut String) {
    use std::fmt::Write;
    match value {
        FakeValue::Text(s) => out.push_str(s),
        FakeValue::Date(days) => {
            let _ = write!(out, "{}", date_from_days(*days));
        }
        FakeValue::DateTime(micros) => match chrono::DateTime::from_timestamp_micros(*micros) {
            Some(dt) => {
                let _ = write!(out, "{}", dt.format("%Y-%m-%dT%H:%M:%SZ"));
            }
            None => out.push_str("1970-01-01T00:00:00Z"),
        },
        FakeValue::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        FakeValue::Decimal(f) => {
            let _ = write!(out, "{f}");
        }
        FakeValue::Boolean(b) => {
            let _ = write!(out, "{b}");
        }
        FakeValue::Uuid(u) => format_uuid(u, out),
    }
}

fn date_from_days(days: i32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_num_days_from_ce_opt(days + 719_163).unwrap_or_default()
}

/// Builds an array of type `target` from generated values (`None` = NULL).
///
/// Values are first collected into their natural Arrow type, then cast to the column's type
/// with overflow checks. On failure returns the index of the first value that does not fit.
pub fn fake_array(
    values: &[Option<FakeValue>],
    target: &DataType,
    decimal_scale: u32,
) -> Result<ArrayRef, (usize, String)> {
    if matches!(target, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
        let mut s = String::new();
        let texts: StringArray = values
            .iter()
            .map(|v| {
                v.as_ref().map(|v| {
                    s.clear();
                    match v {
                        FakeValue::Decimal(f) => {
                            use std::fmt::Write;
                            let _ = write!(s, "{f:.*}", decimal_scale as usize);
                        }
                        other => fake_text(other, &mut s),
                    }
                    s.clone()
                })
            })
            .collect();
        return cast_checked(Arc::new(texts), target);
    }
    let first = values.iter().flatten().next();
    let natural: ArrayRef = match first {
        None => return Ok(arrow_array::new_null_array(target, values.len())),
        Some(FakeValue::Text(_)) => Arc::new(values.iter().map(|v| v.as_ref().map(text_of)).collect::<StringArray>()),
        Some(FakeValue::Date(_)) => Arc::new(
            values
                .iter()
                .map(|v| v.as_ref().and_then(|v| if let FakeValue::Date(d) = v { Some(*d) } else { None }))
                .collect::<Date32Array>(),
        ),
        Some(FakeValue::DateTime(_)) => Arc::new(
            values
                .iter()
                .map(|v| v.as_ref().and_then(|v| if let FakeValue::DateTime(d) = v { Some(*d) } else { None }))
                .collect::<TimestampMicrosecondArray>(),
        ),
        Some(FakeValue::Integer(_)) => Arc::new(
            values
                .iter()
                .map(|v| v.as_ref().and_then(|v| if let FakeValue::Integer(i) = v { Some(*i) } else { None }))
                .collect::<Int64Array>(),
        ),
        Some(FakeValue::Decimal(_)) => Arc::new(
            values
                .iter()
                .map(|v| v.as_ref().and_then(|v| if let FakeValue::Decimal(f) = v { Some(*f) } else { None }))
                .collect::<Float64Array>(),
        ),
        Some(FakeValue::Boolean(_)) => Arc::new(
            values
                .iter()
                .map(|v| v.as_ref().and_then(|v| if let FakeValue::Boolean(b) = v { Some(*b) } else { None }))
                .collect::<BooleanArray>(),
        ),
        Some(FakeValue::Uuid(_)) => {
            let iter = values
                .iter()
                .map(|v| v.as_ref().and_then(|v| if let FakeValue::Uuid(u) = v { Some(*u) } else { None }));
            Arc::new(
                FixedSizeBinaryArray::try_from_sparse_iter_with_size(iter, 16)
                    .map_err(|e| (0, format!("cannot build uuid values: {e}")))?,
            )
        }
    };
    cast_checked(natural, target)
}

fn text_of(v: &FakeValue) -> String {
    let mut s = String::new();
    fake_text(v, &mut s);
    s
}

/// Casts with overflow checks, naming the first row that does not fit.
pub fn cast_checked(array: ArrayRef, target: &DataType) -> Result<ArrayRef, (usize, String)> {
    if array.data_type() == target {
        return Ok(array);
    }
    let safe = CastOptions { safe: true, ..Default::default() };
    let out = cast_with_options(&array, target, &safe).map_err(|e| (0, format!("cannot convert to {target}: {e}")))?;
    if out.null_count() != array.null_count() {
        let row = (0..array.len()).find(|&i| array.is_valid(i) && out.is_null(i)).unwrap_or(0);
        return Err((
            row,
            format!("the generated value does not fit the column type {target}; narrow the rule's range"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, LargeStringArray};

    fn key(a: &dyn Array, row: usize) -> Vec<u8> {
        let mut b = Vec::new();
        value_key(a, row, &mut b);
        b
    }

    #[test]
    fn equal_logical_values_have_equal_keys_across_widths() {
        assert_eq!(key(&Int32Array::from(vec![42]), 0), key(&Int64Array::from(vec![42]), 0));
        assert_eq!(key(&StringArray::from(vec!["a"]), 0), key(&LargeStringArray::from(vec!["a"]), 0));
        assert_ne!(key(&StringArray::from(vec!["42"]), 0), key(&Int64Array::from(vec![42]), 0));
    }

    #[test]
    fn fake_values_convert_to_column_types_and_overflow_names_the_row() {
        let vals = vec![Some(FakeValue::Integer(5)), None, Some(FakeValue::Integer(300))];
        let err = fake_array(&vals, &DataType::Int8, 2).unwrap_err();
        assert_eq!(err.0, 2);
        let ok = fake_array(&vals[..2], &DataType::Int16, 2).unwrap();
        assert_eq!(ok.data_type(), &DataType::Int16);
        assert!(ok.is_null(1));
        let dec = fake_array(&[Some(FakeValue::Decimal(12.345))], &DataType::Utf8, 2).unwrap();
        assert_eq!(dec.as_string::<i32>().value(0), "12.35");
    }
}
