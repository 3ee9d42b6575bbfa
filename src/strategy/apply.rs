//! Applying one column's strategy to an array: the generic part. [`apply`] hands the column
//! to its strategy ([`Behaviour::apply`]); the helpers here (text mapping, the keyed number
//! that makes a colliding unique value distinct) are shared by the strategies. Pure: no I/O,
//! no clock; every random choice comes from a [`DomainKey`] seeded with the canonical bytes
//! of the input value.

use std::sync::Arc;

use arrow_array::builder::GenericStringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, GenericStringArray, OffsetSizeTrait};
use arrow_schema::DataType;

use super::{Behaviour, Strategy};
use crate::secret::DomainKey;

use super::values::text_key;

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
    c.strategy.behaviour().apply(c)
}

/// What re-generating one text value of a unique column needs (see
/// [`Behaviour::regenerate_text`]).
pub struct Regenerate<'a> {
    pub key: &'a DomainKey,
    /// The row's own input value.
    pub own: &'a str,
    /// The column's output at attempt 0.
    pub attempt0: &'a ArrayRef,
    pub row: usize,
    pub attempt: u32,
}

impl Regenerate<'_> {
    /// The value from the strategy's [`Behaviour::text_value`] at this attempt.
    pub fn by_text_value(&self, strategy: &dyn Behaviour) -> Option<Result<String, String>> {
        let mut out = String::new();
        Some(strategy.text_value(self.key, self.own, self.attempt, &mut out).map(|()| out))
    }
}

/// Re-generates one text value of a unique column at `attempt`, without arrays: `None` when
/// the column is not text or the strategy cannot (the caller then recomputes the row through
/// [`apply`]). `attempt0` is the column's output at attempt 0.
pub fn regenerate_text(
    strategy: &Strategy,
    key: &DomainKey,
    input: &ArrayRef,
    attempt0: &ArrayRef,
    row: usize,
    attempt: u32,
) -> Option<Result<String, String>> {
    let own = text_at(input, row)?;
    strategy.behaviour().regenerate_text(&Regenerate { key, own: &own, attempt0, row, attempt })
}

/// The text value at `row` of a Utf8 or LargeUtf8 array; `None` for other types.
pub(crate) fn text_at(a: &ArrayRef, row: usize) -> Option<String> {
    match a.data_type() {
        DataType::Utf8 => Some(a.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Some(a.as_string::<i64>().value(row).to_string()),
        _ => None,
    }
}

/// The text-producing strategies on one value (text columns and JSON strings).
pub fn text_value(strategy: &Strategy, key: &DomainKey, s: &str, attempt: u32, out: &mut String) -> Result<(), String> {
    strategy.behaviour().text_value(key, s, attempt, out)
}

/// Makes a colliding text value distinct: a keyed number inserted before the last `@`
/// (so emails stay emails), or appended after a `-`.
///
/// The number is a keyed hash of the row's own input value and the attempt, so rows that
/// built the same text try different numbers; it gets a digit longer every 8 attempts.
pub(crate) fn distinguish(key: &DomainKey, own_input: &str, out: &mut String, attempt: u32) {
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

/// The most characters [`distinguish`] adds to a value, at any attempt: a `-` and up to 12
/// digits. What `check` adds to a `unique` template's longest value (see
/// [`super::fit`]); keep it in step with the suffix made above.
pub const fn unique_suffix_max_chars() -> usize {
    1 + 2 + 10
}

pub fn map_text(
    input: &ArrayRef,
    mut f: impl FnMut(&str, &mut String) -> Result<(), String>,
) -> Result<ArrayRef, CellError> {
    map_text_indexed(input, |_, s, out| f(s, out))
}

/// Maps a Utf8 or LargeUtf8 array value by value, keeping NULLs and the offset width.
pub fn map_text_indexed(
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
