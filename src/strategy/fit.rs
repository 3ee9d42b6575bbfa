//! Generated values must fit the column's declared type.
//!
//! A PostgreSQL source records each column's declared type in the field metadata `pg.type`
//! (`character varying(40)`, `character(2)`, `numeric(12,2)`, …). Arrow's types already bound
//! integers (`smallint` is Int16) and decimals of up to 38 digits (`numeric(p,s)` is
//! Decimal128(p,s)); every strategy stays within them (`noise` keeps values inside the
//! type's range and precision). What Arrow does not bound is the length of text, so for a
//! column declared `varchar(n)` or `char(n)`:
//!
//! - **Where the plan can tell, a rule whose values cannot fit is a plan error**: a
//!   `constant` longer than `n` (or not fitting `numeric(p,s)`), `hash` with a `length` above
//!   `n` (a uuid-preserving hash on text makes 36 characters), a `fake` generator whose
//!   longest value exceeds `n` (see [`super::fake::max_chars`]), a `template` whose fixed text alone
//!   exceeds `n`. A `mask` keeps the length, `keep` copies what the column held, `null` has
//!   none.
//! - **Generators without a fixed bound** (emails, names, addresses) make values that fit by
//!   construction: a value too long is made again from another keyed seed
//!   ([`super::fake::FakeSpec::fit_within`]); the plan accepts such a generator only when a
//!   measured sample says a fitting value is all but certain, and refuses it otherwise.
//! - **Where nothing can be known** (templates of other columns, `redact`, `json`), every
//!   value is checked at run time, and one that does not fit stops the run with an error
//!   naming table, column and row (never the value). Fitted generators are checked too.
//!   doppel never cuts a generated value short: a cut email or hash would silently change
//!   what the rule promises (validity, uniqueness, joins).
//!
//! Length is counted in characters, as PostgreSQL counts it, and trailing spaces beyond the
//! limit do not count (PostgreSQL drops them). A domain column's `pg.type` names the domain;
//! its base type with the length in effect is in `pg.base_type`, which is what is checked.
//!
//! Each strategy says how long its values can be in [`super::Behaviour::fit`]; one that
//! does not say has every value checked at run time.

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Field};

use crate::schema::PG_TYPE;

use super::Strategy;

/// A text column's declared length, as each strategy's [`super::Behaviour::fit`] sees it.
pub struct Declared<'a> {
    /// The PostgreSQL type as the catalog spells it, e.g. `character varying(40)`.
    pub pg_type: &'a str,
    /// Its length in characters.
    pub limit: usize,
}

impl Declared<'_> {
    /// The plan error for a rule whose values are `length` characters long.
    pub fn too_long(&self, what: String, length: usize, advice: &str) -> Result<Option<usize>, String> {
        Err(format!(
            "{what} makes values of {length} characters, and the column's type {} holds at most {}; {advice}",
            self.pg_type, self.limit
        ))
    }
}

/// Checks a bound strategy against the column's declared type. `Ok(Some(n))`: values must
/// be checked against `n` characters at run time; `Ok(None)`: nothing to check (no limit,
/// or every value provably fits); `Err`: no value of the rule can be relied on to fit.
/// Constants are checked as they are bound ([`constant`]). The strategy answers for its
/// own values ([`super::Behaviour::fit`]).
pub(crate) fn check(field: &Field, strategy: &Strategy) -> Result<Option<usize>, String> {
    let Some(pg_type) = declared_type(field) else { return Ok(None) };
    let Some(limit) = declared_chars(pg_type) else { return Ok(None) };
    if !matches!(field.data_type(), DataType::Utf8 | DataType::LargeUtf8) {
        return Ok(None);
    }
    strategy.behaviour().fit(&Declared { pg_type, limit })
}

/// The declared `varchar(n)` / `char(n)` of a text column, in characters; `None` when the
/// column is not text or has no declared length.
pub(crate) fn declared_limit(field: &Field) -> Option<usize> {
    if !matches!(field.data_type(), DataType::Utf8 | DataType::LargeUtf8) {
        return None;
    }
    declared_chars(declared_type(field)?)
}

/// The type whose length and precision bind the column's values: a domain's base type with
/// the typmod in effect (`pg.base_type`), else `pg.type`.
fn declared_type(field: &Field) -> Option<&String> {
    field.metadata().get(crate::type_kind::PG_BASE_TYPE).or_else(|| field.metadata().get(PG_TYPE))
}

/// `n` of `character varying(n)` / `character(n)` (and their short spellings); `None` for
/// any other type, unbounded `varchar`, and arrays.
pub fn declared_chars(pg_type: &str) -> Option<usize> {
    let inner = ["character varying(", "varchar(", "character(", "char(", "bpchar("]
        .iter()
        .find_map(|prefix| pg_type.strip_prefix(prefix))?
        .strip_suffix(')')?;
    inner.parse().ok()
}

/// `(precision, scale)` of `numeric(p,s)` / `numeric(p)` / `decimal(…)`.
fn declared_numeric(pg_type: &str) -> Option<(usize, i64)> {
    let inner = ["numeric(", "decimal("].iter().find_map(|prefix| pg_type.strip_prefix(prefix))?.strip_suffix(')')?;
    let (p, s) = inner.split_once(',').unwrap_or((inner, "0"));
    Some((p.trim().parse().ok()?, s.trim().parse().ok()?))
}

/// The length PostgreSQL checks against `varchar(n)` / `char(n)`: characters, without the
/// trailing spaces it would drop.
pub fn pg_chars(s: &str) -> usize {
    s.trim_end_matches(' ').chars().count()
}

/// The first row of a text array whose value does not fit `limit` characters, with its
/// length. Non-text arrays always fit.
pub fn first_too_long(array: &ArrayRef, limit: usize) -> Option<(usize, usize)> {
    let check = |i: usize, s: &str| {
        // Fast path: a value of at most `limit` bytes has at most `limit` characters.
        (s.len() > limit).then(|| pg_chars(s)).filter(|&n| n > limit).map(|n| (i, n))
    };
    match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            (0..a.len()).filter(|&i| a.is_valid(i)).find_map(|i| check(i, a.value(i)))
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            (0..a.len()).filter(|&i| a.is_valid(i)).find_map(|i| check(i, a.value(i)))
        }
        _ => None,
    }
}

/// The run-time error for a value of `length` characters in a column of `pg_type`.
pub fn too_long_at_run_time(length: usize, limit: usize) -> String {
    format!(
        "the rule made a value of {length} characters, and the column's declared type holds at most {limit}; \
         doppel does not cut generated values: choose a rule whose values fit (a generator with shorter values, \
         `hash` with a `length` of at most {limit}, a shorter template) or widen the column"
    )
}

/// A constant, as written in the rules, must fit the declared `varchar(n)` / `char(n)` and
/// `numeric(p,s)` (checked before it is parsed as the Arrow type, for a clearer message).
pub(crate) fn constant(text: &str, field: &Field) -> Result<(), String> {
    let Some(pg_type) = declared_type(field) else { return Ok(()) };
    if let Some(limit) = declared_chars(pg_type) {
        let length = pg_chars(text);
        if length > limit {
            return Err(format!(
                "the constant is {length} characters long, and the column's type {pg_type} holds at most {limit}; \
                 use a shorter constant"
            ));
        }
    }
    if let Some((precision, scale)) = declared_numeric(pg_type)
        && numeric_fits(text, precision, scale) == Some(false)
    {
        let whole = precision as i64 - scale;
        return Err(format!(
            "the constant does not fit the column's type {pg_type}: at most {whole} digit(s) before the decimal \
             point (after rounding to {scale} decimal place(s)); use a smaller constant"
        ));
    }
    Ok(())
}

/// Whether a plain decimal number fits `numeric(precision, scale)` after PostgreSQL rounds
/// it to `scale` places (half away from zero). `None` when it cannot tell (exponents, NaN,
/// Infinity, a scale outside `0..=precision`).
fn numeric_fits(text: &str, precision: usize, scale: i64) -> Option<bool> {
    let scale = usize::try_from(scale).ok().filter(|&s| s <= precision)?;
    let digits = text.trim().trim_start_matches(['+', '-']);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() || !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    // The number scaled to `scale` places, as digits: whole part, then `scale` fraction digits.
    let mut scaled: Vec<u8> =
        whole.bytes().chain(fraction.bytes().chain(std::iter::repeat(b'0')).take(scale)).collect();
    if fraction.as_bytes().get(scale).is_some_and(|&d| d >= b'5') {
        // Round up: add one at the last place, carrying.
        let mut i = scaled.len();
        loop {
            if i == 0 {
                scaled.insert(0, b'1');
                break;
            }
            i -= 1;
            if scaled[i] == b'9' {
                scaled[i] = b'0';
            } else {
                scaled[i] += 1;
                break;
            }
        }
    }
    let whole_digits = scaled.len() - scale;
    let significant_whole = scaled[..whole_digits].iter().skip_while(|&&d| d == b'0').count();
    Some(significant_whole <= precision - scale)
}

/// A text column declared as `pg_type`, for the strategies' fit tests.
#[cfg(test)]
pub(crate) fn declared_text(pg_type: &str) -> Field {
    let metadata = std::collections::HashMap::from([(PG_TYPE.to_string(), pg_type.to_string())]);
    Field::new("c", DataType::Utf8, true).with_metadata(metadata)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use arrow_array::StringArray;

    use super::*;
    use crate::strategy::fake::{FakeSpec, Generator, Locale};

    fn field(pg_type: &str) -> Field {
        declared_text(pg_type)
    }

    #[test]
    fn declared_lengths_are_read_from_pg_type() {
        assert_eq!(declared_chars("character varying(40)"), Some(40));
        assert_eq!(declared_chars("character(2)"), Some(2));
        assert_eq!(declared_chars("character varying"), None);
        assert_eq!(declared_chars("character varying(40)[]"), None);
        assert_eq!(declared_chars("text"), None);
        assert_eq!(declared_numeric("numeric(12,2)"), Some((12, 2)));
        assert_eq!(declared_numeric("numeric(5)"), Some((5, 0)));
        assert_eq!(declared_numeric("numeric"), None);
    }

    #[test]
    fn numeric_fit_rounds_like_postgresql() {
        assert_eq!(numeric_fits("9.99", 3, 2), Some(true));
        assert_eq!(numeric_fits("9.994", 3, 2), Some(true));
        assert_eq!(numeric_fits("9.995", 3, 2), Some(false), "rounds to 10.00");
        assert_eq!(numeric_fits("-12345678901.00", 12, 2), Some(false));
        assert_eq!(numeric_fits("1234567890.12", 12, 2), Some(true));
        assert_eq!(numeric_fits("0.5", 1, 1), Some(true));
        assert_eq!(numeric_fits("007", 1, 0), Some(true));
        assert_eq!(numeric_fits("1e5", 3, 0), None);
        assert_eq!(numeric_fits("12", 3, -1), None);
    }

    #[test]
    fn constants_must_fit_the_declared_length_and_precision() {
        assert_eq!(constant("abc", &field("character varying(3)")), Ok(()));
        assert_eq!(constant("abc   ", &field("character(3)")), Ok(()), "trailing spaces do not count");
        let e = constant("abcd", &field("character varying(3)")).unwrap_err();
        assert!(e.contains("4 characters") && e.contains("character varying(3)") && !e.contains("abcd"), "{e}");
        assert_eq!(constant("ÄÖ", &field("character(2)")), Ok(()), "characters, not bytes");
        // numeric(p,s) with p > 38 arrives as text; Decimal128 columns are checked the same way.
        let e = constant("123.5", &field("numeric(40,38)")).unwrap_err();
        assert!(e.contains("at most 2 digit(s) before the decimal point") && !e.contains("123"), "{e}");
        let f = Field::new("c", DataType::Decimal128(6, 2), true)
            .with_metadata(HashMap::from([(PG_TYPE.into(), "numeric(6,2)".into())]));
        assert_eq!(constant("1234.56", &f), Ok(()));
        assert!(constant("9999.995", &f).is_err());
        assert_eq!(constant("anything", &Field::new("c", DataType::Utf8, true)), Ok(()));
    }

    #[test]
    fn masks_keep_the_length_and_unlimited_columns_need_nothing() {
        // Each strategy's own limits are pinned beside it (hash, fake, template).
        let c = field("character varying(12)");
        let fake = |g: Generator, locale: Locale| Strategy::Fake(FakeSpec { locale, ..FakeSpec::new(g) });
        let mask = Strategy::Mask(crate::strategy::mask::MaskSpec {
            keep_first: 0,
            keep_last: 0,
            mask_char: '*',
            format_preserving: false,
        });
        assert_eq!(check(&c, &mask), Ok(None));
        assert_eq!(check(&field("text"), &fake(Generator::Email, Locale::En)), Ok(None));
        assert_eq!(check(&Field::new("c", DataType::Utf8, true), &fake(Generator::Email, Locale::En)), Ok(None));
    }

    #[test]
    fn run_time_check_finds_the_first_value_too_long() {
        let a: ArrayRef =
            Arc::new(StringArray::from(vec![Some("abc"), None, Some("abcd  "), Some("abcde"), Some("ÄÖÜ")]));
        assert_eq!(first_too_long(&a, 4), Some((3, 5)));
        assert_eq!(first_too_long(&a, 5), None);
        assert_eq!(first_too_long(&a.slice(4, 1), 3), None, "three characters in six bytes");
    }

    #[test]
    fn a_domain_is_checked_against_the_length_of_its_base_type() {
        let metadata = HashMap::from([
            (PG_TYPE.to_string(), "app.short_code".to_string()),
            (crate::type_kind::PG_BASE_TYPE.to_string(), "character varying(8)".to_string()),
        ]);
        let field = Field::new("c", DataType::Utf8, true).with_metadata(metadata);
        let hash = Strategy::Hash(crate::strategy::hash::HashSpec::Hex { length: 16 });
        let e = check(&field, &hash).unwrap_err();
        assert!(e.contains("holds at most 8"), "{e}");
        assert!(constant("123456789", &field).is_err());
        assert!(constant("12345678", &field).is_ok());
    }
}
