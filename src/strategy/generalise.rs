//! The `generalise` strategy: make a value coarser, so that fewer rows stand out on it.
//!
//! - `to = "year"` / `to = "month"` on dates and timestamps: the first day (midnight) of the
//!   value's year or month, in the column's own type (1987-06-14 becomes 1987-01-01 or
//!   1987-06-01). Timestamps with a time zone are truncated in UTC. `-infinity` and
//!   `infinity` stay as they are.
//! - `band = 10` on integers, `numeric(p,s)` and floats: the lower bound of the value's band,
//!   bands counted from zero (`[0, 10)`, `[10, 20)`, `[-10, 0)`, …), in the column's own type:
//!   47 becomes 40, -3 becomes -10. The lowest band of a type is cut at the type's minimum
//!   (an `i8` -128 with `band = 10` stays -128, not -130, which the type cannot hold). Floats
//!   are banded in binary floating point; NaN and ±infinity stay.
//! - `prefix = 3` on text: the first three characters (Unicode scalar values); nothing marks
//!   the cut, and a shorter value stays whole ("SW1A 1AA" becomes "SW1").
//!
//! Deterministic and unkeyed: equal values give equal outputs in every table and run, and
//! NULL stays NULL. Binding refuses an option that does not fit the column (`to` on numbers,
//! `band` on text, …), none or more than one option, and options that would change no
//! value (`band = 1` on integers, a band of one unit of a `numeric(p,s)`, a `prefix` at least
//! as long as the column's declared `varchar(n)`).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, PrimitiveArray};
use arrow_schema::{DataType, Field, TimeUnit};
use serde::Deserialize;

use super::apply::{CellError, ColumnInput, map_text};
use super::fit::{Declared, declared_limit};
use super::types::{int_range, is_text};
use super::words::{Words, number};
use super::{Behaviour, BindContext, Bound, RuleOptions, Strategy};
use crate::pg::text_forms::{civil_from_days, days_from_civil};
use crate::secret::DomainKey;

/// `action = "generalise"`: a coarser value of the same type. Exactly one option:
/// `to = "year"` or `"month"` (dates, timestamps), `band = 10` (numbers: the lower bound of
/// the value's band), `prefix = 3` (text: the first characters).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneraliseRule {
    /// Dates and timestamps: `"year"` or `"month"`, the first day of it.
    #[serde(default)]
    pub to: Option<Period>,
    /// Numbers: the width of a band, e.g. `band = 10`; a value becomes its band's lower bound.
    #[serde(default)]
    pub band: Option<f64>,
    /// Text: how many leading characters are kept, e.g. `prefix = 3`.
    #[serde(default)]
    pub prefix: Option<i64>,
}

/// What dates and timestamps are truncated to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Year,
    Month,
}

impl Period {
    pub fn name(self) -> &'static str {
        match self {
            Period::Year => "year",
            Period::Month => "month",
        }
    }
}

/// The bound `generalise`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GeneraliseSpec {
    /// Dates and timestamps to the first day of their year or month.
    Period(Period),
    /// Numbers to the lower bound of their band: `band` as written, and `step`, the band in
    /// the column's unscaled units (integers and decimals; 0 for floats).
    Band { band: f64, step: i128 },
    /// Text to its first characters.
    Prefix(usize),
}

impl RuleOptions for GeneraliseRule {
    fn action(&self) -> &'static str {
        "generalise"
    }

    fn bind(&self, ctx: &BindContext) -> Result<Bound, Vec<String>> {
        let spec = bind(self, ctx.field).map_err(|e| vec![e])?;
        ctx.plain(Strategy::Generalise(spec))
    }
}

fn bind(rule: &GeneraliseRule, field: &Field) -> Result<GeneraliseSpec, String> {
    let dt = field.data_type();
    let given = [rule.to.is_some(), rule.band.is_some(), rule.prefix.is_some()].iter().filter(|g| **g).count();
    if given != 1 {
        return Err(format!(
            "`generalise` takes exactly one of `to` (dates and timestamps: \"year\" or \"month\"), `band` (numbers) \
             or `prefix` (text), and this rule gives {given}; this column is {dt}"
        ));
    }
    let temporal = matches!(dt, DataType::Date32 | DataType::Date64 | DataType::Timestamp(..));
    if let Some(period) = rule.to {
        if !temporal {
            return Err(format!("`to` applies to dates and timestamps, and this column is {dt}{}", instead(dt)));
        }
        return Ok(GeneraliseSpec::Period(period));
    }
    if let Some(prefix) = rule.prefix {
        if !is_text(dt) {
            return Err(format!("`prefix` applies to text, and this column is {dt}{}", instead(dt)));
        }
        let prefix = usize::try_from(prefix)
            .ok()
            .filter(|&p| p >= 1)
            .ok_or("`prefix` must be 1 or more characters; use `null` to drop the whole value")?;
        if let Some(limit) = declared_limit(field).filter(|&l| l <= prefix) {
            return Err(format!(
                "`prefix = {prefix}` keeps every value of a column declared {limit} characters long whole, so no \
                 value would change; use a prefix shorter than {limit}"
            ));
        }
        return Ok(GeneraliseSpec::Prefix(prefix));
    }
    let band = rule.band.unwrap_or_default();
    if !(band.is_finite() && band > 0.0) {
        return Err("`band` must be a positive number, e.g. band = 10".into());
    }
    let whole = |units: f64, unit: &str| -> Result<i128, String> {
        let step = units.round();
        if (units - step).abs() > 1e-9 * units.max(1.0) || step > 1e36 {
            return Err(format!("`band = {band}` is not a whole number of {unit}; use a multiple of it"));
        }
        if step < 2.0 {
            return Err(format!(
                "`band = {band}` is one {unit}, so no value would change; use a band of at least two units"
            ));
        }
        Ok(step as i128)
    };
    let step = match dt {
        dt if int_range(dt).is_some() => whole(band, "unit of an integer column (1)")?,
        DataType::Decimal128(_, s) => {
            let unit = 10f64.powi(-i32::from(*s));
            whole(band / unit, &format!("unit of a {dt} column ({unit})"))?
        }
        DataType::Float32 | DataType::Float64 => 0,
        _ => return Err(format!("`band` applies to numbers, and this column is {dt}{}", instead(dt))),
    };
    Ok(GeneraliseSpec::Band { band, step })
}

/// The option that fits a column of type `dt`, for messages.
fn instead(dt: &DataType) -> &'static str {
    match dt {
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => "; use `to = \"year\"` or `to = \"month\"`",
        dt if is_text(dt) => "; use `prefix` (e.g. prefix = 3)",
        dt if int_range(dt).is_some() => "; use `band` (e.g. band = 10)",
        DataType::Decimal128(..) | DataType::Float32 | DataType::Float64 => "; use `band` (e.g. band = 10)",
        _ => "; `generalise` applies to dates, timestamps, numbers and text",
    }
}

impl Behaviour for GeneraliseSpec {
    fn action(&self) -> &'static str {
        "generalise"
    }

    fn describe(&self) -> String {
        let words = Words::new("generalise");
        match self {
            GeneraliseSpec::Period(p) => words.opt("to", p.name()),
            GeneraliseSpec::Band { band, .. } => words.opt("band", number(*band)),
            GeneraliseSpec::Prefix(n) => words.opt("prefix", *n as i64),
        }
        .finish()
    }

    fn keyed(&self) -> bool {
        false
    }

    /// A prefix is never longer than the value it is cut from; numbers and dates are not text.
    fn fit(&self, _declared: &Declared) -> Result<Option<usize>, String> {
        Ok(None)
    }

    fn apply(&self, c: &ColumnInput) -> Result<ArrayRef, CellError> {
        match *self {
            GeneraliseSpec::Prefix(n) => map_text(c.input, |s, out| {
                out.extend(s.chars().take(n));
                Ok(())
            }),
            GeneraliseSpec::Period(p) => period(c.input, p),
            GeneraliseSpec::Band { band, step } => banded(c.input, band, step),
        }
    }

    fn text_value(&self, _key: &DomainKey, s: &str, _attempt: u32, out: &mut String) -> Result<(), String> {
        match self {
            GeneraliseSpec::Prefix(n) => {
                out.extend(s.chars().take(*n));
                Ok(())
            }
            _ => Err(format!("{} does not apply to text", self.describe())),
        }
    }
}

/// Maps every non-NULL value of a primitive array; `f` gives `None` for a row error.
fn map_values<T: ArrowPrimitiveType>(
    input: &ArrayRef,
    why: &str,
    f: impl Fn(T::Native) -> Option<T::Native>,
) -> Result<ArrayRef, CellError> {
    let a = input.as_primitive::<T>();
    let out: PrimitiveArray<T> = (0..a.len())
        .map(|row| if a.is_null(row) { Ok(None) } else { f(a.value(row)).map(Some).ok_or((row, why.to_string())) })
        .collect::<Result<_, CellError>>()?;
    Ok(Arc::new(out.with_data_type(input.data_type().clone())))
}

/// Dates and timestamps to the first instant of their year or month.
fn period(input: &ArrayRef, p: Period) -> Result<ArrayRef, CellError> {
    let why = "the start of this value's year or month lies before the earliest value the column's type holds; \
               use `noise` or another action for such values";
    // Per day in the column's unit; the extremes stand for -infinity and infinity.
    let ticks = |per_day: i64| {
        move |v: i64| {
            if v == i64::MIN || v == i64::MAX {
                return Some(v);
            }
            let day = v.div_euclid(per_day);
            truncate_days(day, p).checked_mul(per_day)
        }
    };
    const DAY_S: i64 = 86_400;
    match input.data_type() {
        DataType::Date32 => map_values::<Date32Type>(input, why, |v| {
            if v == i32::MIN || v == i32::MAX { Some(v) } else { i32::try_from(truncate_days(v.into(), p)).ok() }
        }),
        DataType::Date64 => map_values::<Date64Type>(input, why, ticks(DAY_S * 1_000)),
        DataType::Timestamp(TimeUnit::Second, _) => map_values::<TimestampSecondType>(input, why, ticks(DAY_S)),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            map_values::<TimestampMillisecondType>(input, why, ticks(DAY_S * 1_000))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            map_values::<TimestampMicrosecondType>(input, why, ticks(DAY_S * 1_000_000))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            map_values::<TimestampNanosecondType>(input, why, ticks(DAY_S * 1_000_000_000))
        }
        other => Err((0, format!("generalise to a year or month does not apply to {other}"))),
    }
}

/// The first day of the year or month of `days` since 1970-01-01 (proleptic Gregorian).
pub fn truncate_days(days: i64, p: Period) -> i64 {
    let (y, m, _) = civil_from_days(days);
    days_from_civil(y, if p == Period::Year { 1 } else { m }, 1)
}

/// The lower bound of `v`'s band of width `step`, not below `min`.
fn band_floor(v: i128, step: i128, min: i128) -> i128 {
    (v.div_euclid(step) * step).max(min)
}

/// Numbers to the lower bound of their band (see the module docs). Integers are banded as
/// 38-digit decimals and cast back to their own type (exactly: every bound lies in the type).
fn banded(input: &ArrayRef, band: f64, step: i128) -> Result<ArrayRef, CellError> {
    let why = "cannot be banded";
    let float = |v: f64| if v.is_finite() { (v / band).floor() * band } else { v };
    let dt = input.data_type();
    if let Some((min, _)) = int_range(dt) {
        let wide = arrow_cast::cast(input, &DataType::Decimal128(38, 0)).map_err(|e| (0, e.to_string()))?;
        let banded = map_values::<Decimal128Type>(&wide, why, |v| Some(band_floor(v, step, min.into())))?;
        let options = arrow_cast::CastOptions { safe: false, ..Default::default() };
        return arrow_cast::cast_with_options(&banded, dt, &options).map_err(|e| (0, e.to_string()));
    }
    match dt {
        DataType::Decimal128(p, _) => {
            let limit = 10i128.pow(u32::from((*p).clamp(1, 38))) - 1;
            map_values::<Decimal128Type>(input, why, |v| Some(band_floor(v, step, -limit)))
        }
        DataType::Float32 => map_values::<Float32Type>(input, why, |v| Some(float(f64::from(v)) as f32)),
        DataType::Float64 => map_values::<Float64Type>(input, why, |v| Some(float(v))),
        other => Err((0, format!("generalise with a band does not apply to {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Date32Array, Decimal128Array, Float64Array, Int8Array, Int32Array, StringArray};

    fn run(rule: &str, input: ArrayRef) -> Result<ArrayRef, String> {
        let rule: GeneraliseRule = toml::from_str(rule).map_err(|e| e.to_string())?;
        let field = Field::new("c", input.data_type().clone(), true);
        let spec = bind(&rule, &field)?;
        let key = crate::secret::Key::from_text("0123456789abcdef0123456789abcdef").unwrap().domain("t");
        let strategy = Strategy::Generalise(spec);
        let c = ColumnInput { strategy: &strategy, key: &key, input: &input, columns: &[], json_keys: &[], attempt: 0 };
        spec.apply(&c).map_err(|e| e.1)
    }

    fn days(y: i64, m: u32, d: u32) -> i32 {
        days_from_civil(y, m, d) as i32
    }

    #[test]
    fn dates_become_the_first_day_of_their_year_or_month_and_keep_their_type() {
        let input: ArrayRef =
            Arc::new(Date32Array::from(vec![Some(days(1987, 6, 14)), None, Some(days(1969, 12, 31)), Some(i32::MAX)]));
        let year = run("to = \"year\"", input.clone()).unwrap();
        let month = run("to = \"month\"", input).unwrap();
        assert_eq!(year.data_type(), &DataType::Date32);
        let year = year.as_primitive::<Date32Type>();
        let month = month.as_primitive::<Date32Type>();
        assert_eq!(year.value(0), days(1987, 1, 1));
        assert_eq!(month.value(0), days(1987, 6, 1));
        assert!(year.is_null(1) && month.is_null(1), "NULL stays NULL");
        assert_eq!(year.value(2), days(1969, 1, 1));
        assert_eq!(month.value(2), days(1969, 12, 1));
        assert_eq!(year.value(3), i32::MAX, "infinity stays");
    }

    #[test]
    fn timestamps_are_truncated_in_utc_to_midnight() {
        let micros = |d: i32, secs: i64| i64::from(d) * 86_400_000_000 + secs * 1_000_000;
        let input: ArrayRef = Arc::new(
            arrow_array::TimestampMicrosecondArray::from(vec![micros(days(1987, 6, 14), 3_723), i64::MIN])
                .with_timezone("UTC"),
        );
        let out = run("to = \"month\"", input.clone()).unwrap();
        assert_eq!(out.data_type(), input.data_type(), "the time zone is kept");
        let out = out.as_primitive::<TimestampMicrosecondType>();
        assert_eq!(out.value(0), micros(days(1987, 6, 1), 0));
        assert_eq!(out.value(1), i64::MIN, "-infinity stays");
        // Nanoseconds near their earliest value: the year's start is out of range, a row error.
        let ns: ArrayRef = Arc::new(arrow_array::TimestampNanosecondArray::from(vec![i64::MIN + 1]));
        assert!(run("to = \"year\"", ns).unwrap_err().contains("earliest value"));
    }

    #[test]
    fn numbers_become_the_lower_bound_of_their_band() {
        let ints: ArrayRef = Arc::new(Int32Array::from(vec![Some(47), Some(40), Some(-3), None, Some(0)]));
        let out = run("band = 10", ints).unwrap();
        let out = out.as_primitive::<Int32Type>();
        assert_eq!(out.iter().collect::<Vec<_>>(), vec![Some(40), Some(40), Some(-10), None, Some(0)]);
        // The lowest band is cut at the type's minimum.
        let out = run("band = 10", Arc::new(Int8Array::from(vec![-128i8, 127]))).unwrap();
        assert_eq!(out.as_primitive::<Int8Type>().values().to_vec(), vec![-128, 120]);
        let out = run("band = 10", Arc::new(arrow_array::Int64Array::from(vec![i64::MIN, i64::MAX]))).unwrap();
        assert_eq!(out.as_primitive::<Int64Type>().values().to_vec(), vec![i64::MIN, i64::MAX - 7]);
        let out = run("band = 100", Arc::new(arrow_array::UInt64Array::from(vec![u64::MAX, 99]))).unwrap();
        assert_eq!(out.as_primitive::<UInt64Type>().values().to_vec(), vec![u64::MAX - 15, 0]);
        // numeric(6,2): band 2.5 is 250 unscaled units.
        let dec: ArrayRef =
            Arc::new(Decimal128Array::from(vec![1_234i128, -1]).with_precision_and_scale(6, 2).unwrap());
        let out = run("band = 2.5", dec).unwrap();
        assert_eq!(out.data_type(), &DataType::Decimal128(6, 2));
        assert_eq!(out.as_primitive::<Decimal128Type>().values().to_vec(), vec![1_000, -250]);
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![17.5, -0.5, f64::NAN, f64::INFINITY]));
        let out = run("band = 5", floats).unwrap();
        let out = out.as_primitive::<Float64Type>();
        assert_eq!((out.value(0), out.value(1)), (15.0, -5.0));
        assert!(out.value(2).is_nan() && out.value(3) == f64::INFINITY);
    }

    #[test]
    fn a_generalised_value_is_its_own_generalisation_and_never_above_the_value() {
        let days: Vec<i32> = (-800_000..800_000).step_by(997).collect();
        let input: ArrayRef = Arc::new(Date32Array::from(days.clone()));
        for rule in ["to = \"year\"", "to = \"month\""] {
            let once = run(rule, input.clone()).unwrap();
            assert_eq!(run(rule, once.clone()).unwrap().as_ref(), once.as_ref(), "{rule}");
            let once = once.as_primitive::<Date32Type>();
            for (v, g) in days.iter().zip(once.values()) {
                assert!(g <= v && v - g < 366, "{rule}: {v} -> {g}");
            }
        }
        let ints: Vec<i64> = (-100_000..100_000).step_by(37).collect();
        let input: ArrayRef = Arc::new(arrow_array::Int64Array::from(ints.clone()));
        let once = run("band = 25", input).unwrap();
        assert_eq!(run("band = 25", once.clone()).unwrap().as_ref(), once.as_ref());
        for (v, g) in ints.iter().zip(once.as_primitive::<Int64Type>().values()) {
            assert!(g <= v && v - g < 25 && g % 25 == 0, "{v} -> {g}");
        }
    }

    #[test]
    fn text_keeps_its_first_characters_and_nothing_marks_the_cut() {
        let input: ArrayRef = Arc::new(StringArray::from(vec![Some("SW1A 1AA"), Some("Zü"), None, Some("")]));
        let out = run("prefix = 3", input).unwrap();
        let out = out.as_string::<i32>();
        assert_eq!(out.iter().collect::<Vec<_>>(), vec![Some("SW1"), Some("Zü"), None, Some("")]);
        let out = run("prefix = 1", Arc::new(StringArray::from(vec!["Ärger"]))).unwrap();
        assert_eq!(out.as_string::<i32>().value(0), "Ä", "characters, not bytes");
    }

    #[test]
    fn options_that_do_not_fit_the_column_are_refused_saying_what_fits() {
        let field = |dt: DataType| Field::new("c", dt, true);
        let err = |rule: &str, dt: DataType| {
            let rule: GeneraliseRule = toml::from_str(rule).unwrap();
            bind(&rule, &field(dt)).unwrap_err()
        };
        let e = err("to = \"year\"", DataType::Int32);
        assert!(e.contains("`to` applies to dates") && e.contains("band"), "{e}");
        let e = err("band = 10", DataType::Utf8);
        assert!(e.contains("prefix"), "{e}");
        let e = err("prefix = 3", DataType::Date32);
        assert!(e.contains("to = \\\"year\\\"") || e.contains("to = \"year\""), "{e}");
        assert!(err("", DataType::Int32).contains("exactly one"));
        assert!(err("band = 10\nprefix = 2", DataType::Int32).contains("gives 2"));
        for bad in ["band = 0", "band = -5", "band = nan"] {
            assert!(err(bad, DataType::Int64).contains("positive"), "{bad}");
        }
        assert!(err("band = 1", DataType::Int64).contains("no value would change"));
        assert!(err("band = 2.5", DataType::Int64).contains("whole number"));
        assert!(err("band = 0.01", DataType::Decimal128(8, 2)).contains("no value would change"));
        assert!(err("band = 0.001", DataType::Decimal128(8, 2)).contains("whole number"));
        assert!(err("prefix = 0", DataType::Utf8).contains("1 or more"));
        let declared = Field::new("c", DataType::Utf8, true)
            .with_metadata([(crate::schema::PG_TYPE.to_string(), "character varying(3)".to_string())]);
        let rule: GeneraliseRule = toml::from_str("prefix = 3").unwrap();
        assert!(bind(&rule, &declared).unwrap_err().contains("no value would change"));
        assert!(toml::from_str::<GeneraliseRule>("to = \"week\"").is_err());
    }
}
