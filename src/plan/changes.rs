//! Every transforming rule must be able to change the value.
//!
//! `keep` is the one way to copy a column; a rule that provably copies every value unchanged
//! (a `redact` that looks for nothing, noise finer than the column can hold) would publish the
//! real values while the plan, `--explain` and the audit call them transformed. Such a rule
//! is a plan error. Strategy by strategy:
//!
//! | strategy | can it leave every value as it was? |
//! |---|---|
//! | `keep` | yes: that is what it is for |
//! | `null`, `constant` | no: one value for every row (a constant is the rules' text, not data) |
//! | `mask` | no: at least half of every non-empty value is masked (a value made only of `mask_char`, or in format-preserving mode only of separators, stays: that depends on the value, not the rule) |
//! | `hash`, `fake` | no: keyed pseudonyms and generated values; equal only by chance |
//! | `template` | no: it cannot read its own column |
//! | `redact` | yes with `detect = []` and no `patterns`: refused |
//! | `json` | as its paths' rules; `paths` cannot be empty |
//! | `noise`, `absolute` | yes below one unit of the column (1 for integers, `10^-s` for `numeric(p,s)`): refused. Floats: any positive amount moves values near zero |
//! | `noise`, `relative` | yes when even the largest value the type holds would move by less than one unit (or, for floats, by less than half a rounding step): refused. Values smaller than that stay as they are: zero under any amount, and numbers below `1 / relative` units |
//! | `noise`, `duration` | yes below one unit of the column (a day for dates): refused when bound |

use arrow_schema::{DataType, Field};

use crate::strategy::noise::Amount;

use super::Strategy;

/// `Err` (what to do) when `strategy` cannot change any value of a column like `field`.
pub(super) fn check(field: &Field, strategy: &Strategy) -> Result<(), String> {
    match strategy {
        Strategy::Redact(r) if r.looks_for_nothing() => {
            Err("`redact` with `detect = []` and no `patterns` looks for nothing, so every value would be copied \
             unchanged; leave `detect` out (all detectors), list detectors or `patterns`, or use `keep` to copy the \
             column on purpose"
                .into())
        }
        Strategy::NoiseNumber(amount) => noise_moves(field.data_type(), *amount),
        Strategy::Json(paths) => {
            let errors: Vec<String> = paths
                .iter()
                .filter_map(|p| {
                    let dt =
                        if matches!(p.strategy, Strategy::NoiseNumber(_)) { DataType::Float64 } else { DataType::Utf8 };
                    check(&Field::new("json", dt, true), &p.strategy).err().map(|e| format!("path `{}`: {e}", p.path))
                })
                .collect();
            if errors.is_empty() { Ok(()) } else { Err(errors.join("; ")) }
        }
        _ => Ok(()),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(dt: DataType, amount: Amount) -> Result<(), String> {
        check(&Field::new("c", dt, true), &Strategy::NoiseNumber(amount))
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
