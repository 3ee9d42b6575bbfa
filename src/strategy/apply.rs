//! Applying one column's strategy to an array: the generic part. [`apply`] hands the column
//! to its strategy ([`Behaviour::apply`]); the helpers here (text mapping, one row's value
//! again at another attempt for `unique`) are shared by the strategies. Pure: no I/O,
//! no clock; every random choice comes from a [`DomainKey`] seeded with the canonical bytes
//! of the input value.

use std::sync::Arc;

use arrow_array::builder::GenericStringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, GenericStringArray, OffsetSizeTrait};
use arrow_schema::DataType;

use super::{Behaviour, Strategy};
use crate::secret::DomainKey;

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

pub fn map_text(
    input: &ArrayRef,
    mut f: impl FnMut(&str, &mut String) -> Result<(), String>,
) -> Result<ArrayRef, CellError> {
    map_text_indexed(input, |_, s, out| f(s, out))
}

/// [`map_text`] for an `f` that is a function of the value alone: outputs are remembered by
/// value within the array, so a value met again (first names, cities, statuses: columns with
/// few distinct values) costs a lookup instead of a keyed hash and a generator. Remembering
/// stops for the rest of the array once most values turn out to be new.
pub fn map_text_memo(
    input: &ArrayRef,
    mut f: impl FnMut(&str, &mut String) -> Result<(), String>,
) -> Result<ArrayRef, CellError> {
    map_text_with(input, true, |_, s, out| f(s, out))
}

/// Maps a Utf8 or LargeUtf8 array value by value, keeping NULLs and the offset width.
pub fn map_text_indexed(
    input: &ArrayRef,
    f: impl FnMut(usize, &str, &mut String) -> Result<(), String>,
) -> Result<ArrayRef, CellError> {
    map_text_with(input, false, f)
}

fn map_text_with(
    input: &ArrayRef,
    memo: bool,
    f: impl FnMut(usize, &str, &mut String) -> Result<(), String>,
) -> Result<ArrayRef, CellError> {
    match input.data_type() {
        DataType::Utf8 => map_generic::<i32>(input.as_string::<i32>(), memo, f),
        DataType::LargeUtf8 => map_generic::<i64>(input.as_string::<i64>(), memo, f),
        other => Err((0, format!("expected a text column, found {other}"))),
    }
}

/// Values looked up before [`map_text_memo`] decides whether remembering pays (a quarter of
/// them seen before).
const MEMO_TRIAL: usize = 512;

fn map_generic<O: OffsetSizeTrait>(
    a: &GenericStringArray<O>,
    mut memo: bool,
    mut f: impl FnMut(usize, &str, &mut String) -> Result<(), String>,
) -> Result<ArrayRef, CellError> {
    // Size from the offsets: `value_data()` of a sliced array is the whole parent buffer.
    let offsets = a.value_offsets();
    let data_len = (offsets[a.len()] - offsets[0]).as_usize();
    let mut builder = GenericStringBuilder::<O>::with_capacity(a.len(), data_len);
    let mut out = String::new();
    let mut seen: foldhash::HashMap<&str, String> = foldhash::HashMap::default();
    let (mut lookups, mut hits) = (0usize, 0usize);
    for row in 0..a.len() {
        if a.is_null(row) {
            builder.append_null();
            continue;
        }
        let value = a.value(row);
        if memo {
            lookups += 1;
            if let Some(known) = seen.get(value) {
                hits += 1;
                builder.append_value(known);
                continue;
            }
        }
        out.clear();
        f(row, value, &mut out).map_err(|e| (row, e))?;
        builder.append_value(&out);
        if memo {
            seen.insert(value, out.clone());
            if lookups == MEMO_TRIAL && hits * 4 < MEMO_TRIAL {
                memo = false;
                seen = foldhash::HashMap::default();
            }
        }
    }
    Ok(Arc::new(builder.finish()))
}

#[cfg(test)]
mod tests {
    use arrow_array::StringArray;

    use super::*;

    /// Runs `map_text_memo` with a counting `f`; returns the output and how often `f` ran.
    fn memo_run(values: Vec<Option<String>>) -> (ArrayRef, usize, ArrayRef) {
        let input: ArrayRef = Arc::new(StringArray::from(values));
        let mut calls = 0;
        let f = |s: &str, out: &mut String| {
            out.push_str(&s.to_uppercase());
            out.push('!');
            Ok(())
        };
        let memo = map_text_memo(&input, |s, out| {
            calls += 1;
            f(s, out)
        })
        .unwrap();
        let plain = map_text(&input, f).unwrap();
        (memo, calls, plain)
    }

    #[test]
    fn remembered_outputs_are_the_outputs_and_repeated_values_run_once() {
        let values: Vec<Option<String>> = (0..3000).map(|i| (i % 7 != 0).then(|| format!("name {}", i % 40))).collect();
        let (memo, calls, plain) = memo_run(values);
        assert_eq!(memo.as_ref(), plain.as_ref());
        assert_eq!(calls, 40, "each distinct value once; NULLs stay NULL");
    }

    #[test]
    fn mostly_new_values_stop_being_remembered_with_the_same_outputs() {
        let values: Vec<Option<String>> = (0..3000).map(|i| Some(format!("v{}", i % 2900))).collect();
        let (memo, calls, plain) = memo_run(values);
        assert_eq!(memo.as_ref(), plain.as_ref());
        assert_eq!(calls, 3000, "no longer remembered after the trial, so repeats late in the array run again");
    }
}
