//! Ranges and option checks of the `fake` generators: default and allowed ranges of dates,
//! numbers and coordinates, word and sentence counts, and the validation of a rule's options.

use fake::rand::RngExt;
use fake::rand::rngs::ChaCha8Rng;

use super::{FakeSpec, Generator};

pub(super) const RANGE_GENERATORS: &str = "date, datetime, integer, decimal, latitude, longitude";

/// 1940-01-01 and 2010-12-31, in days since 1970-01-01.
pub(super) const DEFAULT_DATE: (f64, f64) = (-10_958.0, 14_974.0);
/// 0001-01-01 and 9999-12-31.
pub(super) const DATE_LIMITS: (f64, f64) = (-719_162.0, 2_932_896.0);
/// 2015-01-01T00:00:00Z and 2025-12-31T23:59:59.999999Z, in microseconds.
pub(super) const DEFAULT_DATETIME: (f64, f64) = (1_420_070_400_000_000.0, 1_767_225_599_999_999.0);
/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z.
pub(super) const DATETIME_LIMITS: (f64, f64) = (-62_135_596_800_000_000.0, 253_402_300_799_999_999.0);
pub(super) const DEFAULT_INTEGER: (f64, f64) = (0.0, 1_000_000.0);
/// -2^63 ..= 2^63 (2^63 itself saturates to `i64::MAX`, which has no exact f64).
pub(super) const INTEGER_LIMITS: (f64, f64) = (-9_223_372_036_854_775_808.0, 9_223_372_036_854_775_808.0);
pub(super) const DEFAULT_DECIMAL: (f64, f64) = (0.0, 10_000.0);
pub(super) const LATITUDE: (f64, f64) = (-90.0, 90.0);
pub(super) const LONGITUDE: (f64, f64) = (-180.0, 180.0);

pub(super) const DEFAULT_WORDS: (usize, usize) = (3, 6);
pub(super) const DEFAULT_SENTENCE_WORDS: (usize, usize) = (6, 14);
pub(super) const DEFAULT_SENTENCES: (usize, usize) = (3, 6);
pub(super) const MAX_WORDS: usize = 1000;
pub(super) const MAX_SENTENCES: usize = 100;

pub(super) const MAX_SCALE: u32 = 10;
/// 2^53: integers up to this are exact in an f64.
pub(super) const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

pub(super) struct RangeRule {
    pub(super) default: (f64, f64),
    pub(super) limits: (f64, f64),
    pub(super) whole: bool,
    pub(super) what: &'static str,
}

pub(super) fn range_rules(g: Generator) -> Option<RangeRule> {
    let r = |default, limits, whole, what| Some(RangeRule { default, limits, whole, what });
    match g {
        Generator::Date => r(
            DEFAULT_DATE,
            DATE_LIMITS,
            true,
            "days since 1970-01-01, between -719162 (0001-01-01) and 2932896 (9999-12-31)",
        ),
        Generator::DateTime => r(
            DEFAULT_DATETIME,
            DATETIME_LIMITS,
            true,
            "microseconds since 1970-01-01T00:00:00Z, between years 0001 and 9999",
        ),
        Generator::Integer => r(DEFAULT_INTEGER, INTEGER_LIMITS, true, "whole numbers within the 64-bit integer range"),
        Generator::Decimal => r(DEFAULT_DECIMAL, (-f64::MAX, f64::MAX), false, "finite numbers"),
        Generator::Latitude => r(LATITUDE, LATITUDE, false, "between -90 and 90"),
        Generator::Longitude => r(LONGITUDE, LONGITUDE, false, "between -180 and 180"),
        _ => None,
    }
}

pub(super) fn default_scale(g: Generator) -> u32 {
    match g {
        Generator::Latitude | Generator::Longitude => 6,
        _ => 2,
    }
}

pub(super) fn validate_range(spec: &FakeSpec, r: &RangeRule, errors: &mut Vec<String>) {
    let g = spec.generator;
    let mut ok = true;
    for (v, which) in [(spec.min, "min"), (spec.max, "max")] {
        if let Some(v) = v {
            let fits = v.is_finite() && v >= r.limits.0 && v <= r.limits.1 && (!r.whole || v.fract() == 0.0);
            if !fits {
                errors.push(format!("{which} for `{g}` must be {}", r.what));
                ok = false;
            }
        }
    }
    if !ok {
        return;
    }
    let lo = spec.min.unwrap_or(r.default.0);
    let hi = spec.max.unwrap_or(r.default.1);
    if lo > hi {
        let note = match (spec.min, spec.max) {
            (Some(_), None) => format!(" (max defaults to {} for `{g}`)", r.default.1),
            (None, Some(_)) => format!(" (min defaults to {} for `{g}`)", r.default.0),
            _ => String::new(),
        };
        errors.push(format!("min must be <= max{note}"));
        return;
    }
    if !r.whole {
        let scale = spec.scale.unwrap_or(default_scale(g));
        if scale <= MAX_SCALE {
            let p = 10f64.powi(scale as i32);
            if lo.abs() * p > MAX_EXACT || hi.abs() * p > MAX_EXACT {
                errors.push(format!("min and max for `{g}` with scale {scale} must be within ±{}", MAX_EXACT / p));
            } else if (lo * p).ceil() > (hi * p).floor() {
                errors.push(format!(
                    "no number with {scale} decimal places lies between min and max; \
                     widen the range or raise scale"
                ));
            }
        }
    }
}

/// The inclusive range of a range generator, clamped to its limits, defaults filled in,
/// swapped if reversed (so unvalidated specs still work).
pub(super) fn bounds(spec: &FakeSpec) -> (f64, f64) {
    let Some(r) = range_rules(spec.generator) else {
        return (0.0, 0.0);
    };
    let get =
        |v: Option<f64>, default: f64| v.filter(|v| v.is_finite()).unwrap_or(default).clamp(r.limits.0, r.limits.1);
    let lo = get(spec.min, r.default.0);
    let hi = get(spec.max, r.default.1);
    if lo <= hi { (lo, hi) } else { (hi, lo) }
}

pub(super) fn count(spec: &FakeSpec, default: (usize, usize), cap: usize) -> (usize, usize) {
    let (lo, hi) = spec.count.unwrap_or(default);
    let (lo, hi) = (lo.min(cap), hi.min(cap));
    if lo <= hi { (lo, hi) } else { (hi, lo) }
}

pub(super) fn decimal(spec: &FakeSpec, rng: &mut ChaCha8Rng) -> f64 {
    let (lo, hi) = bounds(spec);
    let scale = spec.scale.unwrap_or(default_scale(spec.generator)).min(MAX_SCALE);
    let p = 10f64.powi(scale as i32);
    let (klo, khi) = ((lo * p).ceil(), (hi * p).floor());
    let v = if klo <= khi && klo.abs() <= MAX_EXACT && khi.abs() <= MAX_EXACT {
        rng.random_range(klo as i64..=khi as i64) as f64 / p
    } else {
        // Only for specs `validate` rejects: a plain uniform draw.
        let u: f64 = rng.random();
        lo * (1.0 - u) + hi * u
    };
    v.clamp(lo, hi)
}

pub(super) fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

pub(super) fn join_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut s = String::new();
    for (i, n) in names.enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(n);
    }
    s
}
