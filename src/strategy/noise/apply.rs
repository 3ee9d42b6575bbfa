//! The bound `noise` strategy: its description, the check that it can move some value of its
//! column, and its application to arrays.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, PrimitiveArray};
use arrow_schema::{DataType, Field, TimeUnit};
use fake::rand::rngs::ChaCha8Rng;

use super::{Amount, DATE_DAYS, NoiseSpec, TIMESTAMP_MICROS, noise_decimal, noise_float, noise_int, noise_shift};
use crate::secret::DomainKey;
use crate::strategy::Behaviour;
use crate::strategy::apply::{CellError, ColumnInput, map_text_indexed};
use crate::strategy::fit::Declared;
use crate::strategy::values::value_key;
use crate::strategy::words::{Words, duration, number};

impl Behaviour for NoiseSpec {
    fn action(&self) -> &'static str {
        "noise"
    }

    fn describe(&self) -> String {
        match self {
            NoiseSpec::Number(Amount::Absolute(a)) => Words::new("noise").opt("absolute", number(*a)).finish(),
            NoiseSpec::Number(Amount::Relative(r)) => Words::new("noise").opt("relative", number(*r)).finish(),
            NoiseSpec::Shift { duration_micros, .. } => {
                Words::new("noise").opt("duration", duration(*duration_micros)).finish()
            }
        }
    }

    /// Numbers, dates and timestamps are not text.
    fn fit(&self, _declared: &Declared) -> Result<Option<usize>, String> {
        Ok(None)
    }

    /// Number noise finer than the column is refused; a shift below one unit is refused as
    /// it is bound.
    fn check_changes(&self, field: &Field) -> Result<(), String> {
        match self {
            NoiseSpec::Number(amount) => noise_moves(field.data_type(), *amount),
            NoiseSpec::Shift { .. } => Ok(()),
        }
    }

    fn apply(&self, c: &ColumnInput) -> Result<ArrayRef, CellError> {
        noise(c.input, self, c.key)
    }
}

/// Whether number noise of `amount` can move some value of type `dt`.
fn noise_moves(dt: &DataType, amount: Amount) -> Result<(), String> {
    // The smallest step of the type and the largest magnitude it holds.
    let (unit, largest, step_name): (f64, f64, String) = match dt {
        DataType::Int8 => (1.0, 128.0, "1".into()),
        DataType::UInt8 => (1.0, 255.0, "1".into()),
        DataType::Int16 => (1.0, 32_768.0, "1".into()),
        DataType::UInt16 => (1.0, 65_535.0, "1".into()),
        DataType::Int32 => (1.0, 2_147_483_648.0, "1".into()),
        DataType::UInt32 => (1.0, 4_294_967_295.0, "1".into()),
        DataType::Int64 | DataType::UInt64 => (1.0, 9.223_372_036_854_776e18, "1".into()),
        DataType::Decimal128(p, s) => {
            let unit = 10f64.powi(-i32::from(*s));
            (unit, (10f64.powi(i32::from(*p)) - 1.0) * unit, format!("{unit}"))
        }
        DataType::Float32 | DataType::Float64 => {
            // x·(1 ± r) rounds back to x when r is below a quarter of the type's epsilon.
            let eps = if *dt == DataType::Float32 { f64::from(f32::EPSILON) } else { f64::EPSILON };
            return match amount {
                Amount::Relative(r) if r.abs() < eps / 4.0 => Err(format!(
                    "`relative = {r}` is below the precision of a {dt} column: every value would round back to \
                     itself; use `relative` of at least {} (or `absolute`), or `keep` to copy the column on purpose",
                    eps / 4.0
                )),
                _ => Ok(()),
            };
        }
        _ => return Ok(()),
    };
    match amount {
        Amount::Absolute(a) if a.abs() < unit => Err(format!(
            "`absolute = {a}` is smaller than one unit of a {dt} column ({step_name}), so no value would change; use \
             `absolute` of at least {step_name}, or `keep` to copy the column on purpose"
        )),
        Amount::Relative(r) if r.abs() * largest < unit => Err(format!(
            "`relative = {r}` moves even the largest value a {dt} column holds by less than one unit ({step_name}), \
             so no value would change; use a larger `relative` or an `absolute` amount, or `keep` to copy the column \
             on purpose"
        )),
        _ => Ok(()),
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

fn noise(input: &ArrayRef, spec: &NoiseSpec, key: &DomainKey) -> Result<ArrayRef, CellError> {
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
    match (spec, dt) {
        (NoiseSpec::Number(amount), dt) => {
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
        (NoiseSpec::Shift { max_shift, .. }, dt) => {
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
                // An interval column (bound only there): its time part moves, in microseconds.
                DataType::Utf8 => map_text_indexed(input, |row, s, out| {
                    let mut rng = rng_for(row);
                    super::interval::shift_interval(s, m, &mut rng, out)
                }),
                other => Err((0, format!("noise with a duration does not apply to {other}"))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(dt: DataType, amount: Amount) -> Result<(), String> {
        NoiseSpec::Number(amount).check_changes(&Field::new("c", dt, true))
    }

    #[test]
    fn noise_finer_than_the_column_is_refused_and_says_what_to_do() {
        let e = noise(DataType::Decimal128(12, 2), Amount::Absolute(0.001)).unwrap_err();
        assert!(e.contains("0.01") && e.contains("keep"), "{e}");
        assert!(noise(DataType::Decimal128(12, 2), Amount::Absolute(0.01)).is_ok());
        let e = noise(DataType::Decimal128(12, 2), Amount::Relative(1e-12)).unwrap_err();
        assert!(e.contains("largest value"), "{e}");
        assert!(noise(DataType::Decimal128(12, 2), Amount::Relative(1e-10)).is_ok());
        assert!(noise(DataType::Int32, Amount::Absolute(0.5)).is_err());
        assert!(noise(DataType::Int32, Amount::Absolute(1.0)).is_ok());
        assert!(noise(DataType::Int8, Amount::Relative(0.005)).is_err());
        assert!(noise(DataType::Int8, Amount::Relative(0.01)).is_ok());
        assert!(noise(DataType::Int64, Amount::Relative(1e-12)).is_ok());
        assert!(noise(DataType::Float32, Amount::Relative(1e-12)).is_err());
        assert!(noise(DataType::Float64, Amount::Relative(1e-12)).is_ok());
        assert!(noise(DataType::Float64, Amount::Relative(1e-17)).is_err());
        assert!(noise(DataType::Float64, Amount::Absolute(1e-300)).is_ok());
    }
}
