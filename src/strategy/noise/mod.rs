//! The `noise` strategy: move numbers, dates and timestamps by a random amount.
//!
//! The value is replaced by `value ± amount`, the offset drawn uniformly from the
//! generator given by the caller (seeded from the keyed hash of the value, so the same value
//! always gets the same noise). Aggregates stay roughly right while individual values no
//! longer match production.
//!
//! Options:
//!
//! - an **absolute** amount (`Amount::Absolute(5.0)`: up to 5 units either way; for decimals
//!   the unit is the real value, not the unscaled integer), or a **relative** amount
//!   (`Amount::Relative(0.1)`: up to ±10% of the value itself; zero stays zero). A negative
//!   amount counts as its absolute value; a NaN amount as zero.
//! - for dates and timestamps, a **maximum shift** as a duration: a number followed by a
//!   unit, `w` (weeks), `d` (days), `h` (hours), `m` (minutes), `s` (seconds), `ms`, `us`,
//!   combined freely: `30d`, `12h`, `90m`, `1d12h`, `2w`.
//!
//! Rules:
//!
//! - **Integers, decimals, dates, timestamps**: when the amount is at least one unit (one
//!   integer, one unit of the decimal's last digit, one date/time unit), the offset is drawn
//!   uniformly among the *non-zero* whole offsets in `[-amount, amount]`, so the value always
//!   changes. Below one unit the offset is the rounded uniform draw, which is often zero.
//! - **Range**: results stay within the column's range (for decimals, what `precision`
//!   digits can hold; for dates and timestamps, what PostgreSQL holds: 4713 BC to 5874897 AD
//!   for dates, 4713 BC to the end of Arrow's microseconds, 294247 AD, for timestamps). An
//!   offset that would leave the range is applied in the other direction instead. If both
//!   directions leave it (an amount wider than the range, or a value already outside it), the
//!   functions return `None` and the caller reports a row error: a value is never clamped to
//!   the limit, which would silently make many values equal.
//! - **Floats**: the offset is continuous; NaN and ±infinity pass through unchanged, and a
//!   finite value gives a finite result within the type (`f32::MAX` for float4), or `None`.
//!   An offset below the value's rounding step leaves it as it is.
//!
//! The plan refuses amounts that cannot move any value of the column (below one unit, see
//! `plan::changes`).
//!
//! On an `interval` column (PostgreSQL's text form) a `duration` moves the time part and
//! keeps years, months and days (`interval.rs`).

use arrow_schema::{DataType, TimeUnit};
use fake::rand::RngExt;
use fake::rand::rngs::ChaCha8Rng;
use serde::Deserialize;

use super::types::int_range;
use super::{BindContext, Bound, RuleOptions, Strategy};

mod apply;
mod interval;

/// `action = "noise"`: numbers moved by a keyed random amount; dates and timestamps shifted
/// by a duration. An amount that cannot move any value (below one unit of the column) is a
/// plan error.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseRule {
    /// Numbers: at most this much up or down, e.g. `absolute = 5`.
    #[serde(default)]
    pub absolute: Option<f64>,
    /// Numbers: at most this fraction of the value up or down, e.g. `relative = 0.1`.
    #[serde(default)]
    pub relative: Option<f64>,
    /// Dates and timestamps: at most this far earlier or later, e.g. `"30d"`, `"12h"`.
    #[serde(default)]
    pub duration: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
}

/// The bound `noise`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NoiseSpec {
    /// Numbers moved by up to `Amount`.
    Number(Amount),
    /// Shift in the column's own unit (days for dates, the timestamp's unit otherwise), and the
    /// `duration` as written, in microseconds.
    Shift { max_shift: i64, duration_micros: i64 },
}

impl RuleOptions for NoiseRule {
    fn action(&self) -> &'static str {
        "noise"
    }

    fn bind(&self, ctx: &BindContext) -> Result<Bound, Vec<String>> {
        if crate::type_kind::TypeKind::of(ctx.field) == Some(crate::type_kind::TypeKind::Interval) {
            let spec = bind_interval(self).map_err(|e| vec![e])?;
            return Ok(Bound { strategy: Strategy::Noise(spec), domain: ctx.domain_of(&self.domain), unique: false });
        }
        let spec =
            bind(ctx.data_type(), self.absolute, self.relative, self.duration.as_deref()).map_err(|e| vec![e])?;
        Ok(Bound { strategy: Strategy::Noise(spec), domain: ctx.domain_of(&self.domain), unique: false })
    }

    /// Inside JSON, noise moves numbers (bound as Float64; integers stay integers).
    fn bind_in_json(&self, default_domain: &str) -> Result<(Strategy, String), String> {
        let spec = bind(&DataType::Float64, self.absolute, self.relative, self.duration.as_deref())?;
        Ok((Strategy::Noise(spec), self.domain.clone().unwrap_or_else(|| default_domain.to_string())))
    }
}

/// The dates PostgreSQL holds, in days since 1970-01-01: 4713-11-24 BC to 5874897-12-31.
pub const DATE_DAYS: (i64, i64) = (-2_440_588, 2_145_042_905);

/// The timestamps PostgreSQL holds, in microseconds since 1970-01-01, within Arrow's
/// microseconds: 4713-11-24 BC to 294247 AD (`i64::MAX` stands for `infinity`).
pub const TIMESTAMP_MICROS: (i64, i64) = (-210_866_803_200_000_000, i64::MAX - 1);

/// How far values may move.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    /// Up to this many units either way.
    Absolute(f64),
    /// Up to this fraction of the value either way (0.1 = ±10%).
    Relative(f64),
}

impl Amount {
    /// The maximum offset for `value`, in the same units as `value`; never negative or NaN.
    fn spread(self, value: f64) -> f64 {
        let d = match self {
            Amount::Absolute(a) => a,
            Amount::Relative(r) => value * r,
        }
        .abs();
        if d.is_nan() { 0.0 } else { d.min(f64::MAX) }
    }
}

/// Uniform in `[-1, 1)`.
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    rng.random::<f64>() * 2.0 - 1.0
}

/// 2^53: below this every integer is exactly representable as f64.
const EXACT: f64 = 9_007_199_254_740_992.0;

/// A whole offset for a maximum spread of `d` units (see the module docs).
fn int_offset(d: f64, rng: &mut ChaCha8Rng) -> i128 {
    if d < 1.0 {
        return (unit(rng) * d).round() as i128;
    }
    if d < EXACT {
        let k = rng.random_range(1..=d as u64) as i128;
        return if rng.random::<bool>() { k } else { -k };
    }
    // Huge spreads: a continuous draw; zero is then (practically) impossible, but guard it.
    let k = (unit(rng) * d).round() as i128; // `as` saturates
    if k == 0 { 1 } else { k }
}

/// Applies `offset` to `value` within `[lo, hi]`: reflected if it leaves the range, `None`
/// if both directions do.
fn apply(value: i128, offset: i128, lo: i128, hi: i128) -> Option<i128> {
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    [value.saturating_add(offset), value.saturating_sub(offset)].into_iter().find(|v| (lo..=hi).contains(v))
}

/// Integer noise: `value ± amount`, a non-zero whole offset when the amount is at least 1,
/// within `[min, max]` (the column type's range); `None` when neither direction fits.
pub fn noise_int(value: i64, amount: Amount, min: i64, max: i64, rng: &mut ChaCha8Rng) -> Option<i64> {
    let offset = int_offset(amount.spread(value as f64), rng);
    apply(value as i128, offset, min as i128, max as i128).map(|v| v as i64)
}

/// Float noise: `value ± amount` (continuous), within `±max` (`f32::MAX as f64` for a
/// float4). NaN and ±infinity pass through unchanged; `None` when neither direction fits.
pub fn noise_float(value: f64, amount: Amount, max: f64, rng: &mut ChaCha8Rng) -> Option<f64> {
    if !value.is_finite() {
        return Some(value);
    }
    let u = unit(rng) * amount.spread(value);
    [value + u, value - u].into_iter().find(|v| v.abs() <= max)
}

/// Largest unscaled value `precision` digits can hold: `10^precision - 1`, with precision
/// clamped to `1..=38` (the range of a 128-bit decimal).
fn decimal_limit(precision: u8) -> i128 {
    10i128.pow(u32::from(precision.clamp(1, 38))) - 1
}

/// Decimal noise on the unscaled integer of a `(precision, scale)` decimal. The amount is in
/// real units (`Absolute(0.5)` on a price is fifty cents at scale 2); the result keeps
/// `scale` digits and stays within `±(10^precision - 1)` unscaled; `None` when neither
/// direction fits.
pub fn noise_decimal(unscaled: i128, precision: u8, scale: i8, amount: Amount, rng: &mut ChaCha8Rng) -> Option<i128> {
    // One real unit is 10^scale unscaled units (a fraction of one for negative scales).
    let spread = match amount {
        Amount::Absolute(_) => (amount.spread(1.0) * 10f64.powi(i32::from(scale))).min(f64::MAX),
        Amount::Relative(_) => amount.spread(unscaled as f64),
    };
    let offset = int_offset(spread, rng);
    let limit = decimal_limit(precision);
    apply(unscaled, offset, -limit, limit)
}

/// Shift noise for dates and timestamps (any integer unit): `value ± max_shift`, a non-zero
/// whole shift when `max_shift >= 1`, within `[min, max]`; `None` when neither direction fits.
pub fn noise_shift(value: i64, max_shift: i64, min: i64, max: i64, rng: &mut ChaCha8Rng) -> Option<i64> {
    let d = max_shift.unsigned_abs();
    let offset = if d == 0 {
        0
    } else {
        let k = rng.random_range(1..=d) as i128;
        if rng.random::<bool>() { k } else { -k }
    };
    apply(value as i128, offset, min as i128, max as i128).map(|v| v as i64)
}

const DURATION_HELP: &str = "a duration is one or more numbers each followed by a unit: \
     w (weeks), d (days), h (hours), m (minutes), s (seconds), ms, us; e.g. \"30d\", \"12h\", \
     \"1d12h\"";

/// Parses a duration like `30d`, `12h`, `90m`, `45s`, `2w`, `1d12h` or `1d 12h` into
/// microseconds. Units: `w`, `d`, `h`, `m`, `s`, `ms`, `us` (case-insensitive). Errors
/// describe the problem and list the units without repeating the text.
pub fn parse_duration_micros(s: &str) -> Result<i64, String> {
    let b = s.trim().as_bytes();
    if b.is_empty() {
        return Err(format!("empty duration: {DURATION_HELP}"));
    }
    let mut total: i64 = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let mut n: i64 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(i64::from(b[i] - b'0')))
                .ok_or_else(|| "duration is too large".to_string())?;
            i += 1;
        }
        if i == start {
            return Err(format!("duration must start each part with a whole number: {DURATION_HELP}"));
        }
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let per: i64 = match b[ustart..i].to_ascii_lowercase().as_slice() {
            b"w" => 7 * 86_400_000_000,
            b"d" => 86_400_000_000,
            b"h" => 3_600_000_000,
            b"m" => 60_000_000,
            b"s" => 1_000_000,
            b"ms" => 1_000,
            b"us" => 1,
            [] => {
                return Err(format!("a number in the duration has no unit: {DURATION_HELP}"));
            }
            _ => return Err(format!("unknown unit in duration: {DURATION_HELP}")),
        };
        total =
            n.checked_mul(per).and_then(|v| total.checked_add(v)).ok_or_else(|| "duration is too large".to_string())?;
    }
    Ok(total)
}

/// Binds a `noise` rule to an `interval` column: a shift of its time part, in microseconds
/// (see `interval.rs`).
fn bind_interval(rule: &NoiseRule) -> Result<NoiseSpec, String> {
    let Some(duration) = rule.duration.as_deref().filter(|_| rule.absolute.is_none() && rule.relative.is_none()) else {
        return Err("noise on an interval column takes `duration` (e.g. \"1h\"), not `absolute` or `relative`".into());
    };
    let max_shift = parse_duration_micros(duration)?;
    if max_shift < 1 {
        return Err("`duration` is shorter than one microsecond; use a longer duration".into());
    }
    Ok(NoiseSpec::Shift { max_shift, duration_micros: max_shift })
}

/// Binds a `noise` rule to a column of type `dt`: a time shift in the column's unit for dates
/// and timestamps, an amount for numbers.
fn bind(
    dt: &DataType,
    absolute: Option<f64>,
    relative: Option<f64>,
    duration: Option<&str>,
) -> Result<NoiseSpec, String> {
    let temporal = matches!(dt, DataType::Date32 | DataType::Date64 | DataType::Timestamp(..));
    let numeric =
        int_range(dt).is_some() || matches!(dt, DataType::Float32 | DataType::Float64 | DataType::Decimal128(..));
    if temporal {
        if absolute.is_some() || relative.is_some() {
            return Err(format!("a {dt} column takes `duration` (e.g. \"30d\"), not `absolute` or `relative`"));
        }
        let Some(duration) = duration else {
            return Err("noise on dates and timestamps needs `duration`, e.g. duration = \"30d\"".into());
        };
        let micros = parse_duration_micros(duration)?;
        let unit_micros: i64 = match dt {
            DataType::Date32 => 86_400_000_000,
            DataType::Date64 | DataType::Timestamp(TimeUnit::Millisecond, _) => 1_000,
            DataType::Timestamp(TimeUnit::Second, _) => 1_000_000,
            DataType::Timestamp(TimeUnit::Microsecond, _) => 1,
            _ => -1, // nanoseconds: multiply instead
        };
        let max_shift = if unit_micros > 0 { micros / unit_micros } else { micros.saturating_mul(1_000) };
        if max_shift < 1 {
            return Err(format!("`duration` is shorter than one unit of a {dt} column; use a longer duration"));
        }
        return Ok(NoiseSpec::Shift { max_shift, duration_micros: micros });
    }
    if !numeric {
        return Err(format!("`noise` works on numbers, dates and timestamps, and this column is {dt}"));
    }
    if duration.is_some() {
        return Err("`duration` applies to dates and timestamps; numbers take `absolute` or `relative`".into());
    }
    let amount = match (absolute, relative) {
        (Some(a), None) if a.is_finite() && a > 0.0 => Amount::Absolute(a),
        (None, Some(r)) if r.is_finite() && r > 0.0 => Amount::Relative(r),
        (Some(_), Some(_)) => return Err("give either `absolute` or `relative`, not both".into()),
        (None, None) => return Err("noise on numbers needs `absolute` (e.g. 5) or `relative` (e.g. 0.1)".into()),
        _ => return Err("the noise amount must be a positive finite number".into()),
    };
    Ok(NoiseSpec::Number(amount))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fake::rand::SeedableRng;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    #[test]
    fn int_noise_stays_within_amount_and_always_moves() {
        let mut seen = std::collections::HashSet::new();
        for seed in 0..2000 {
            let v = noise_int(1000, Amount::Absolute(5.0), i64::MIN, i64::MAX, &mut rng(seed)).unwrap();
            assert!((995..=1005).contains(&v));
            assert_ne!(v, 1000);
            seen.insert(v);
        }
        assert_eq!(seen.len(), 10, "all ten non-zero offsets are drawn");
    }

    #[test]
    fn int_noise_relative() {
        for seed in 0..500 {
            let v = noise_int(-200, Amount::Relative(0.1), i64::MIN, i64::MAX, &mut rng(seed)).unwrap();
            assert!((-220..=-180).contains(&v) && v != -200, "{v}");
        }
        // Zero stays zero under relative noise.
        assert_eq!(noise_int(0, Amount::Relative(0.5), -10, 10, &mut rng(1)).unwrap(), 0);
    }

    #[test]
    fn int_noise_is_deterministic_per_rng() {
        let a = noise_int(42, Amount::Absolute(100.0), 0, 1000, &mut rng(9)).unwrap();
        let b = noise_int(42, Amount::Absolute(100.0), 0, 1000, &mut rng(9)).unwrap();
        assert_eq!(a, b);
        let others: Vec<i64> =
            (0..20).map(|s| noise_int(42, Amount::Absolute(100.0), 0, 1000, &mut rng(s)).unwrap()).collect();
        assert!(others.iter().any(|&v| v != a));
    }

    #[test]
    fn int_noise_reflects_at_range_edges_and_never_clamps() {
        for seed in 0..500 {
            // At the top of an i8 column: offsets upwards are reflected down.
            let v = noise_int(127, Amount::Absolute(3.0), -128, 127, &mut rng(seed)).unwrap();
            assert!((124..=126).contains(&v), "{v}");
            let v = noise_int(i64::MIN, Amount::Absolute(3.0), i64::MIN, i64::MAX, &mut rng(seed)).unwrap();
            assert!(v > i64::MIN && v <= i64::MIN + 3);
            // Range narrower than the amount: moved within it, or None (a row error), never
            // clamped to an end.
            if let Some(v) = noise_int(5, Amount::Absolute(1e6), 0, 10, &mut rng(seed)) {
                assert!((0..=10).contains(&v) && v != 5, "{v}");
            }
            assert_eq!(noise_int(5, Amount::Absolute(3.0), 10, 20, &mut rng(seed)), None, "outside the range");
        }
    }

    #[test]
    fn int_noise_never_panics_on_odd_inputs() {
        let amounts = [
            Amount::Absolute(f64::NAN),
            Amount::Absolute(f64::INFINITY),
            Amount::Absolute(-3.0),
            Amount::Absolute(0.0),
            Amount::Absolute(0.4),
            Amount::Relative(f64::INFINITY),
            Amount::Relative(-0.5),
            Amount::Absolute(1e300),
        ];
        for a in amounts {
            for v in [i64::MIN, -1, 0, 1, i64::MAX] {
                let r = noise_int(v, a, i64::MIN, i64::MAX, &mut rng(3));
                let _ = r;
                // Inverted bounds are tolerated.
                if let Some(r) = noise_int(v, a, 10, -10, &mut rng(3)) {
                    assert!((-10..=10).contains(&r));
                }
            }
        }
        assert_eq!(noise_int(7, Amount::Absolute(f64::NAN), 0, 100, &mut rng(1)).unwrap(), 7);
        assert_eq!(noise_int(7, Amount::Absolute(0.0), 0, 100, &mut rng(1)).unwrap(), 7);
        for seed in 0..200 {
            let v = noise_int(7, Amount::Absolute(-3.0), 0, 100, &mut rng(seed)).unwrap();
            assert!((4..=10).contains(&v) && v != 7);
        }
    }

    #[test]
    fn float_noise_bounds_and_special_values() {
        let mut distinct = std::collections::HashSet::new();
        for seed in 0..1000 {
            let v = noise_float(10.0, Amount::Relative(0.1), f64::MAX, &mut rng(seed)).unwrap();
            assert!((9.0..=11.0).contains(&v));
            distinct.insert(v.to_bits());
            let v = noise_float(-3.5, Amount::Absolute(0.25), f64::MAX, &mut rng(seed)).unwrap();
            assert!((-3.75..=-3.25).contains(&v));
        }
        assert!(distinct.len() > 990);
        assert!(noise_float(f64::NAN, Amount::Absolute(1.0), f64::MAX, &mut rng(1)).unwrap().is_nan());
        assert_eq!(noise_float(f64::INFINITY, Amount::Absolute(1.0), f64::MAX, &mut rng(1)).unwrap(), f64::INFINITY);
        assert_eq!(
            noise_float(f64::NEG_INFINITY, Amount::Relative(1.0), f64::MAX, &mut rng(1)).unwrap(),
            f64::NEG_INFINITY
        );
        for seed in 0..100 {
            for v in [f64::MAX, -f64::MAX, 1.0] {
                for a in [Amount::Absolute(f64::INFINITY), Amount::Relative(10.0)] {
                    assert!(noise_float(v, a, f64::MAX, &mut rng(seed)).unwrap().is_finite());
                }
            }
        }
        assert_eq!(noise_float(2.5, Amount::Absolute(f64::NAN), f64::MAX, &mut rng(1)).unwrap(), 2.5);
    }

    #[test]
    fn float_noise_stays_within_the_type_or_refuses() {
        let max = f32::MAX as f64;
        for seed in 0..200 {
            // float4 near its top with a huge amount: reflected down, never Infinity.
            let v = noise_float(3e38, Amount::Absolute(1e38), max, &mut rng(seed)).unwrap();
            assert!(v.abs() <= max && (v as f32).is_finite() && v != 3e38, "{v}");
            // Wider than the whole type in both directions: None.
            assert_eq!(noise_float(1.0, Amount::Absolute(1e39), max, &mut rng(seed)).map(|_| ()).is_none(), {
                let u = noise_float(1.0, Amount::Absolute(1e39), f64::MAX, &mut rng(seed)).unwrap() - 1.0;
                u.abs() > max + 1.0
            });
        }
    }

    #[test]
    fn dates_and_timestamps_move_across_the_whole_postgresql_range() {
        let day = 86_400_000_000i64;
        // 12000-01-01 with one day of noise: moves by a day, not to 9999-12-31.
        let y12000 = 3_713_920;
        for seed in 0..100 {
            let v = noise_shift(y12000, 1, DATE_DAYS.0, DATE_DAYS.1, &mut rng(seed)).unwrap();
            assert!(v == y12000 - 1 || v == y12000 + 1, "{v}");
        }
        // Two far timestamps stay distinct (they used to collapse onto one limit).
        let far = [200_000 * 365 * day, 200_001 * 365 * day];
        let moved: Vec<i64> = far
            .iter()
            .map(|&t| noise_shift(t, day, TIMESTAMP_MICROS.0, TIMESTAMP_MICROS.1, &mut rng(1)).unwrap())
            .collect();
        assert!(moved[0] != moved[1] && (moved[0] - far[0]).abs() <= day && moved[0] != far[0]);
        // The last day of the range moves down, the first up.
        let top = noise_shift(DATE_DAYS.1, 30, DATE_DAYS.0, DATE_DAYS.1, &mut rng(2)).unwrap();
        assert!(top < DATE_DAYS.1);
        let bottom = noise_shift(DATE_DAYS.0, 30, DATE_DAYS.0, DATE_DAYS.1, &mut rng(2)).unwrap();
        assert!(bottom > DATE_DAYS.0);
        // Beyond the range (only a Parquet source can hold such a date): None, not clamped.
        assert_eq!(noise_shift(DATE_DAYS.1 + 5, 1, DATE_DAYS.0, DATE_DAYS.1, &mut rng(2)), None);
    }

    #[test]
    fn decimal_noise_in_real_units() {
        // numeric(10, 2): 123.45 ± 0.50 is 12345 ± 50 unscaled.
        let mut seen = std::collections::HashSet::new();
        for seed in 0..2000 {
            let v = noise_decimal(12345, 10, 2, Amount::Absolute(0.5), &mut rng(seed)).unwrap();
            assert!((12295..=12395).contains(&v) && v != 12345, "{v}");
            seen.insert(v);
        }
        assert_eq!(seen.len(), 100);
        // Negative scale: unit is 100, so ±150 real is ±1.5 unscaled -> ±1.
        for seed in 0..200 {
            let v = noise_decimal(7, 5, -2, Amount::Absolute(150.0), &mut rng(seed)).unwrap();
            assert!(v == 6 || v == 8, "{v}");
        }
        // Relative on the value itself.
        for seed in 0..200 {
            let v = noise_decimal(-10_000, 10, 2, Amount::Relative(0.01), &mut rng(seed)).unwrap();
            assert!((-10_100..=-9_900).contains(&v) && v != -10_000);
        }
    }

    #[test]
    fn decimal_noise_respects_precision() {
        for seed in 0..300 {
            // numeric(3, 0) holds up to 999.
            let v = noise_decimal(998, 3, 0, Amount::Absolute(5.0), &mut rng(seed)).unwrap();
            assert!((993..=999).contains(&v) && v != 998, "{v}");
            if let Some(v) = noise_decimal(999, 3, 0, Amount::Absolute(1e9), &mut rng(seed)) {
                assert!((-999..=999).contains(&v) && v != 999, "{v}");
            }
            let max38 = 10i128.pow(38) - 1;
            let v = noise_decimal(max38, 38, 0, Amount::Relative(0.5), &mut rng(seed)).unwrap();
            assert!((-max38..=max38).contains(&v) && v != max38);
            if let Some(v) = noise_decimal(i128::MIN, 200, 127, Amount::Absolute(f64::INFINITY), &mut rng(seed)) {
                assert!((-max38..=max38).contains(&v));
            }
            let v = noise_decimal(5, 0, -128, Amount::Relative(f64::NAN), &mut rng(seed)).unwrap();
            assert_eq!(v, 5);
        }
        // Large values keep their low digits exactly: only the offset is computed in f64.
        let big = 123_456_789_012_345_678_901_234_567i128;
        let v = noise_decimal(big, 38, 0, Amount::Absolute(3.0), &mut rng(1)).unwrap();
        assert!((v - big).abs() <= 3 && v != big);
    }

    #[test]
    fn shift_noise() {
        let day = 86_400_000_000i64;
        let mut neg = 0;
        for seed in 0..1000 {
            let v = noise_shift(0, 30 * day, i64::MIN, i64::MAX, &mut rng(seed)).unwrap();
            assert!(v.abs() <= 30 * day && v != 0);
            if v < 0 {
                neg += 1;
            }
        }
        assert!((400..600).contains(&neg), "both directions: {neg}");
        assert_eq!(noise_shift(5, 0, 0, 10, &mut rng(1)).unwrap(), 5);
        for seed in 0..100 {
            let v = noise_shift(i64::MAX, i64::MIN, i64::MIN, i64::MAX, &mut rng(seed)).unwrap();
            assert!(v < i64::MAX);
            let v = noise_shift(9, 3, 0, 10, &mut rng(seed)).unwrap();
            assert!((6..=10).contains(&v) && v != 9);
        }
    }

    #[test]
    fn durations_parse() {
        let s = 1_000_000i64;
        assert_eq!(parse_duration_micros("30d"), Ok(30 * 86_400 * s));
        assert_eq!(parse_duration_micros("12h"), Ok(12 * 3_600 * s));
        assert_eq!(parse_duration_micros("90m"), Ok(90 * 60 * s));
        assert_eq!(parse_duration_micros("45s"), Ok(45 * s));
        assert_eq!(parse_duration_micros("2w"), Ok(14 * 86_400 * s));
        assert_eq!(parse_duration_micros("1d12h"), Ok(36 * 3_600 * s));
        assert_eq!(parse_duration_micros(" 1d 12H "), Ok(36 * 3_600 * s));
        assert_eq!(parse_duration_micros("1500ms"), Ok(1_500_000));
        assert_eq!(parse_duration_micros("7us"), Ok(7));
        assert_eq!(parse_duration_micros("0s"), Ok(0));
    }

    #[test]
    fn duration_errors_list_units_and_do_not_echo() {
        for bad in ["", "   ", "30", "1d12", "d", "-1d", "1.5h", "3y", "1x2d", "1d-3h"] {
            let err = parse_duration_micros(bad).unwrap_err();
            assert!(err.contains("w (weeks)") && err.contains("ms"), "{err}");
        }
        for bad in ["42zz", "17q5d", "-17d", "8.25h"] {
            let err = parse_duration_micros(bad).unwrap_err();
            assert!(!err.contains(bad), "{err}");
        }
        for big in ["99999999999999999999d", "20000000w", "9223372036854775807s"] {
            let err = parse_duration_micros(big).unwrap_err();
            assert!(err.contains("too large"), "{err}");
        }
        // The largest representable duration still parses.
        assert_eq!(parse_duration_micros("9223372036854775807us"), Ok(i64::MAX));
    }
}
