//! Applying one column's strategy to an array: the single `match` that dispatches every
//! strategy. Pure: no I/O, no clock; every random choice comes from a [`DomainKey`] seeded
//! with the canonical bytes of the input value.

use std::sync::Arc;

use arrow_array::builder::GenericStringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{
    Array, ArrayRef, FixedSizeBinaryArray, GenericStringArray, OffsetSizeTrait, PrimitiveArray, UInt32Array,
};
use arrow_schema::{DataType, TimeUnit};
use fake::rand::rngs::ChaCha8Rng;

use super::{Strategy, template::Part};
use crate::secret::DomainKey;

use super::fake::{FakeValue, generate};
use super::hash::{format_uuid, hash_hex, parse_uuid, permute_int, permute_uuid};
use super::json::apply_json;
use super::mask::mask;
use super::noise::{DATE_DAYS, TIMESTAMP_MICROS, noise_decimal, noise_float, noise_int, noise_shift};
use super::values::{fake_array, fake_text, text_key, value_key};

/// A failure inside one array: the row index within the array and the reason (no value).
pub type CellError = (usize, String);

/// What a column transform needs at run time.
pub struct ColumnInput<'a> {
    pub strategy: &'a Strategy,
    pub key: &'a DomainKey,
    /// The column's own input values.
    pub input: &'a ArrayRef,
    /// The batch's current columns (outputs for columns already transformed), for templates.
    pub columns: &'a [ArrayRef],
    /// Domain keys of the paths of a `json` strategy, in order.
    pub json_keys: &'a [DomainKey],
    /// 0 normally; > 0 when re-generating a value that collided in a unique column.
    pub attempt: u32,
}

/// Applies the strategy to every row of `c.input`. NULL stays NULL except for `constant`.
pub fn apply(c: &ColumnInput) -> Result<ArrayRef, CellError> {
    let input = c.input;
    let len = input.len();
    match c.strategy {
        Strategy::Keep => Ok(input.clone()),
        Strategy::Null => Ok(arrow_array::new_null_array(input.data_type(), len)),
        Strategy::Constant(value) => {
            let zeros = UInt32Array::from(vec![0u32; len]);
            arrow_select::take::take(value.as_ref(), &zeros, None).map_err(|e| (0, e.to_string()))
        }
        Strategy::Json(paths) => map_text(input, |s, out| apply_json(paths, c.json_keys, s, out)),
        Strategy::Mask(_) | Strategy::HashHex { .. } | Strategy::Redact(_) => {
            map_text(input, |s, out| text_value(c.strategy, c.key, s, c.attempt, out))
        }
        Strategy::HashUuid => match input.data_type() {
            DataType::FixedSizeBinary(16) => {
                let a = input.as_fixed_size_binary();
                let iter = (0..len).map(|i| {
                    a.is_valid(i).then(|| {
                        let v: [u8; 16] = a.value(i).try_into().unwrap_or([0; 16]);
                        permute_uuid(c.key, v)
                    })
                });
                let out =
                    FixedSizeBinaryArray::try_from_sparse_iter_with_size(iter, 16).map_err(|e| (0, e.to_string()))?;
                Ok(Arc::new(out))
            }
            _ => map_text(input, |s, out| text_value(c.strategy, c.key, s, c.attempt, out)),
        },
        Strategy::HashInt { bits } => hash_ints(input, c.key, *bits),
        Strategy::Fake(spec) => {
            if matches!(input.data_type(), DataType::Utf8 | DataType::LargeUtf8) {
                return map_text(input, |s, out| text_value(c.strategy, c.key, s, c.attempt, out));
            }
            let mut buf = Vec::with_capacity(32);
            let values: Vec<Option<FakeValue>> = (0..len)
                .map(|row| {
                    input.is_valid(row).then(|| {
                        buf.clear();
                        value_key(input.as_ref(), row, &mut buf);
                        let mut rng = c.key.rng(b"fake", &buf, c.attempt);
                        generate(spec, &mut rng, c.attempt)
                    })
                })
                .collect();
            fake_array(&values, input.data_type(), spec.scale.unwrap_or(2))
        }
        Strategy::NoiseNumber(_) | Strategy::NoiseShift { .. } => noise(input, c.strategy, c.key),
        Strategy::Template(t) => {
            let references = t.references();
            let formatters: Vec<Option<arrow_cast::display::ArrayFormatter>> = c
                .columns
                .iter()
                .enumerate()
                .map(|(i, col)| {
                    references
                        .contains(&i)
                        .then(|| arrow_cast::display::ArrayFormatter::try_new(col.as_ref(), &Default::default()).ok())
                        .flatten()
                })
                .collect();
            let mut scratch = String::new();
            map_text_indexed(input, |row, own, out| {
                for part in t.parts() {
                    match part {
                        Part::Literal(l) => out.push_str(l),
                        Part::Column { index, filters } => {
                            let col = &c.columns[*index];
                            if col.is_null(row) {
                                continue;
                            }
                            scratch.clear();
                            if let Some(f) = &formatters[*index] {
                                use std::fmt::Write;
                                let _ = write!(scratch, "{}", f.value(row));
                            }
                            super::template::apply_filters(&scratch, filters, out);
                        }
                    }
                }
                if c.attempt > 0 {
                    distinguish(c.key, own, out, c.attempt);
                }
                Ok(())
            })
        }
    }
}

/// Re-generates one text value of a unique column at `attempt`, without arrays: `None` when
/// the column is not text (the caller then recomputes the row through [`apply`]).
/// `attempt0` is the column's output at attempt 0: a template's text does not change between
/// attempts, only the number `distinguish` inserts.
pub fn regenerate_text(
    strategy: &Strategy,
    key: &DomainKey,
    input: &ArrayRef,
    attempt0: &ArrayRef,
    row: usize,
    attempt: u32,
) -> Option<Result<String, String>> {
    let value = |a: &ArrayRef| match a.data_type() {
        DataType::Utf8 => Some(a.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Some(a.as_string::<i64>().value(row).to_string()),
        _ => None,
    };
    let own = value(input)?;
    let mut out = String::new();
    match strategy {
        Strategy::Template(_) => {
            out = value(attempt0)?;
            distinguish(key, &own, &mut out, attempt);
            Some(Ok(out))
        }
        Strategy::Mask(_) | Strategy::HashHex { .. } | Strategy::HashUuid | Strategy::Fake(_) => {
            Some(text_value(strategy, key, &own, attempt, &mut out).map(|()| out))
        }
        _ => None,
    }
}

/// The text-producing strategies on one value (text columns and JSON strings).
pub fn text_value(strategy: &Strategy, key: &DomainKey, s: &str, attempt: u32, out: &mut String) -> Result<(), String> {
    let mut buf = Vec::with_capacity(s.len() + 1);
    text_key(s, &mut buf);
    match strategy {
        Strategy::Mask(spec) => {
            let mut rng = key.rng(b"mask", &buf, attempt);
            mask(spec, s, &mut rng, out);
        }
        Strategy::HashHex { length } => {
            if attempt > 0 {
                buf.extend_from_slice(&attempt.to_le_bytes());
            }
            hash_hex(key, &buf, *length, out);
        }
        Strategy::HashUuid => {
            let u = parse_uuid(s).ok_or("the value is not a uuid; hash with format = \"preserve\" on a text column needs uuid text (use format = \"hex\" otherwise)")?;
            format_uuid(&permute_uuid(key, u), out);
        }
        Strategy::Fake(spec) => {
            let mut rng = key.rng(b"fake", &buf, attempt);
            fake_text(&generate(spec, &mut rng, attempt), out);
        }
        Strategy::Redact(r) => {
            r.redact(s, out);
        }
        other => return Err(format!("{} does not apply to text", other.describe())),
    }
    Ok(())
}

/// Makes a colliding text value distinct: a keyed number inserted before the last `@`
/// (so emails stay emails), or appended after a `-`.
///
/// The number is a keyed hash of the row's own input value and the attempt, so rows that
/// built the same text try different numbers; it gets a digit longer every 8 attempts.
fn distinguish(key: &DomainKey, own_input: &str, out: &mut String, attempt: u32) {
    let mut material = Vec::with_capacity(own_input.len() + 5);
    text_key(own_input, &mut material);
    material.extend_from_slice(&attempt.to_le_bytes());
    let digits = 2 + (attempt / 8).min(10);
    let n = key.hash_u64(b"unique", &material) % 10u64.pow(digits);
    let suffix = format!("{n}");
    match out.rfind('@') {
        Some(at) => out.insert_str(at, &suffix),
        None => {
            out.push('-');
            out.push_str(&suffix);
        }
    }
}

fn map_text(
    input: &ArrayRef,
    mut f: impl FnMut(&str, &mut String) -> Result<(), String>,
) -> Result<ArrayRef, CellError> {
    map_text_indexed(input, |_, s, out| f(s, out))
}

/// Maps a Utf8 or LargeUtf8 array value by value, keeping NULLs and the offset width.
fn map_text_indexed(
    input: &ArrayRef,
    f: impl FnMut(usize, &str, &mut String) -> Result<(), String>,
) -> Result<ArrayRef, CellError> {
    match input.data_type() {
        DataType::Utf8 => map_generic::<i32>(input.as_string::<i32>(), f),
        DataType::LargeUtf8 => map_generic::<i64>(input.as_string::<i64>(), f),
        other => Err((0, format!("expected a text column, found {other}"))),
    }
}

fn map_generic<O: OffsetSizeTrait>(
    a: &GenericStringArray<O>,
    mut f: impl FnMut(usize, &str, &mut String) -> Result<(), String>,
) -> Result<ArrayRef, CellError> {
    // Size from the offsets: `value_data()` of a sliced array is the whole parent buffer.
    let offsets = a.value_offsets();
    let data_len = (offsets[a.len()] - offsets[0]).as_usize();
    let mut builder = GenericStringBuilder::<O>::with_capacity(a.len(), data_len);
    let mut out = String::new();
    for row in 0..a.len() {
        if a.is_null(row) {
            builder.append_null();
            continue;
        }
        out.clear();
        f(row, a.value(row), &mut out).map_err(|e| (row, e))?;
        builder.append_value(&out);
    }
    Ok(Arc::new(builder.finish()))
}

fn hash_ints(input: &ArrayRef, key: &DomainKey, bits: u32) -> Result<ArrayRef, CellError> {
    macro_rules! permute {
        ($t:ty, $native:ty) => {{
            let a = input.as_primitive::<$t>();
            let out: PrimitiveArray<$t> = a.unary(|v| permute_int(key, v as i64, bits) as $native);
            Ok(Arc::new(out.with_data_type(input.data_type().clone())))
        }};
    }
    match input.data_type() {
        DataType::Int8 => permute!(Int8Type, i8),
        DataType::Int16 => permute!(Int16Type, i16),
        DataType::Int32 => permute!(Int32Type, i32),
        DataType::Int64 => permute!(Int64Type, i64),
        other => Err((0, format!("hash preserve expects an integer column, found {other}"))),
    }
}

/// Why a value could not be moved (the value itself is never named).
fn cannot_move(dt: &DataType) -> String {
    format!(
        "noise cannot move this value within the range of {dt} in either direction (the amount is wider than the \
         range, or the value lies beyond what the target holds); lower the amount, or give the column another \
         action"
    )
}

fn noise(input: &ArrayRef, strategy: &Strategy, key: &DomainKey) -> Result<ArrayRef, CellError> {
    let mut buf = Vec::with_capacity(24);
    let mut rng_for = |row: usize| {
        buf.clear();
        value_key(input.as_ref(), row, &mut buf);
        key.rng(b"noise", &buf, 0)
    };
    let dt = input.data_type();
    // `$body` gives `Some(new value)`, or `None` when the value cannot move (a row error).
    macro_rules! each {
        ($t:ty, |$v:ident, $rng:ident| $body:expr) => {{
            let a = input.as_primitive::<$t>();
            let out: PrimitiveArray<$t> = (0..a.len())
                .map(|row| {
                    if a.is_null(row) {
                        return Ok(None);
                    }
                    let $v = a.value(row);
                    let mut $rng = rng_for(row);
                    $body.map(Some).ok_or_else(|| (row, cannot_move(dt)))
                })
                .collect::<Result<_, CellError>>()?;
            Ok(Arc::new(out.with_data_type(dt.clone())) as ArrayRef)
        }};
    }
    match (strategy, dt) {
        (Strategy::NoiseNumber(amount), dt) => {
            let amount = *amount;
            macro_rules! int {
                ($t:ty, $n:ty) => {
                    each!($t, |v, rng| noise_int(v as i64, amount, <$n>::MIN as i64, <$n>::MAX as i64, &mut rng)
                        .map(|v| v as $n))
                };
            }
            match dt {
                DataType::Int8 => int!(Int8Type, i8),
                DataType::Int16 => int!(Int16Type, i16),
                DataType::Int32 => int!(Int32Type, i32),
                DataType::Int64 => int!(Int64Type, i64),
                DataType::UInt8 => int!(UInt8Type, u8),
                DataType::UInt16 => int!(UInt16Type, u16),
                DataType::UInt32 => int!(UInt32Type, u32),
                DataType::UInt64 => {
                    each!(UInt64Type, |v, rng| i64::try_from(v)
                        .ok()
                        .and_then(|v| noise_int(v, amount, 0, i64::MAX, &mut rng))
                        .map(|v| v as u64))
                }
                DataType::Float32 => {
                    each!(Float32Type, |v, rng| noise_float(v as f64, amount, f32::MAX as f64, &mut rng)
                        .map(|v| v as f32))
                }
                DataType::Float64 => each!(Float64Type, |v, rng| noise_float(v, amount, f64::MAX, &mut rng)),
                DataType::Decimal128(p, s) => {
                    let (p, s) = (*p, *s);
                    each!(Decimal128Type, |v, rng| noise_decimal(v, p, s, amount, &mut rng))
                }
                other => Err((0, format!("noise on numbers does not apply to {other}"))),
            }
        }
        (Strategy::NoiseShift { max_shift }, dt) => {
            let m = *max_shift;
            // The extremes stand for ±infinity (the PostgreSQL source reads them so): they stay.
            // Others move within what PostgreSQL holds, in the column's unit.
            let shift = |v: i64, (lo, hi): (i64, i64), rng: &mut ChaCha8Rng| {
                if v == i64::MIN || v == i64::MAX { Some(v) } else { noise_shift(v, m, lo, hi, rng) }
            };
            let (lo, hi) = TIMESTAMP_MICROS;
            match dt {
                DataType::Date32 => each!(Date32Type, |v, rng| if v == i32::MIN || v == i32::MAX {
                    Some(v)
                } else {
                    noise_shift(v as i64, m, DATE_DAYS.0, DATE_DAYS.1, &mut rng).map(|v| v as i32)
                }),
                DataType::Date64 | DataType::Timestamp(TimeUnit::Millisecond, _) => {
                    let range = (lo / 1_000, hi / 1_000);
                    match dt {
                        DataType::Date64 => each!(Date64Type, |v, rng| shift(v, range, &mut rng)),
                        _ => each!(TimestampMillisecondType, |v, rng| shift(v, range, &mut rng)),
                    }
                }
                DataType::Timestamp(TimeUnit::Second, _) => {
                    each!(TimestampSecondType, |v, rng| shift(v, (lo / 1_000_000, hi / 1_000_000), &mut rng))
                }
                DataType::Timestamp(TimeUnit::Microsecond, _) => {
                    each!(TimestampMicrosecondType, |v, rng| shift(v, (lo, hi), &mut rng))
                }
                DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                    each!(TimestampNanosecondType, |v, rng| shift(v, (i64::MIN + 1, i64::MAX - 1), &mut rng))
                }
                other => Err((0, format!("noise with a duration does not apply to {other}"))),
            }
        }
        _ => Err((0, "not a noise strategy".into())),
    }
}
