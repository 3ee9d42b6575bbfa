//! Generated values must fit the column's declared type.
//!
//! A PostgreSQL source records each column's declared type in the field metadata `pg.type`
//! (`character varying(40)`, `character(2)`, `numeric(12,2)`, …). Arrow's types already bound
//! integers (`smallint` is Int16) and decimals of up to 38 digits (`numeric(p,s)` is
//! Decimal128(p,s)); every strategy stays within them (`noise` keeps values inside the
//! type's range and precision). What Arrow does not bound is the length of text, so for a
//! column declared `varchar(n)` or `char(n)`:
//!
//! - **Every rule's longest value is known at plan time, and a rule whose values cannot fit
//!   is a plan error** naming the longest value and the limit: a `constant` longer than `n`
//!   (or not fitting `numeric(p,s)`), `hash` with a `length` above `n` (a uuid-preserving
//!   hash on text makes 36 characters), a `fake` generator whose longest value exceeds `n`
//!   (see [`super::fake::max_chars`]). A `mask` keeps the length, `keep` copies what the
//!   column held, `null` has none.
//! - **Generators without a fixed bound** (emails, names, addresses) make values that fit by
//!   construction: a value too long is made again from another keyed seed
//!   ([`super::fake::FakeSpec::fit_within`]); the plan accepts such a generator only when a
//!   measured sample says a fitting value is all but certain, and refuses it otherwise.
//! - **`template`**: its longest value is its fixed text, plus for each `{column|filters}`
//!   the longest value of that column after its own rule ([`output_longest`]: a generator's
//!   longest value, a hash's length, the column's own declared length for `keep`, `mask`,
//!   `redact`, `json` and generators without a fixed bound, the longest display of its Arrow
//!   type for numbers, dates and uuids, nothing for NULL), after its filters (`lower`,
//!   `upper` and `slug` keep the length of ASCII text; other text may grow, by Unicode's case
//!   mappings and accent folding, up to [`super::template::UPPER_GROWTH`] characters for one),
//!   plus with `unique` the longest number a collision gets
//!   ([`super::tag::max_added_chars`]). Computed once every column is bound
//!   ([`templates`]). Longer than `n`, or without a longest value (it reads a kept `text`
//!   column, an email generator on `text`, …): a plan error that says which and why. A
//!   template is never made to fit by re-drawing what it reads: it must insert the very
//!   values the other columns got, or the row would no longer be coherent.
//! - **`redact`** with `tag` replacements can lengthen text (`[EMAIL]` for `a@b.co`). On a
//!   column with a declared length it fits by construction
//!   ([`super::redact::Fit`]): a redacted text that would not fit is redacted again with each
//!   finding shorter than its tag masked instead, so it is never longer than the text read,
//!   which fits the same type.
//! - **`json`** in a `varchar(n)`: a document read may already be `n` characters long, so
//!   the plan accepts only path rules that never lengthen a value (`mask` with a character
//!   JSON writes as it is, `redact`, whose strings are then kept no longer than they were);
//!   the document is written back compactly, never longer than it was read. Any other path
//!   rule (`fake`, `hash`, `null`, …) is a plan error.
//! - Values that depend on what was read (templates, `json`, fitted generators; not `mask`
//!   and `redact`, never longer than what they read) are checked at run time too, as a last
//!   line of defence: one that does not
//!   fit stops the run with an error naming table, column and row (never the value). A rule
//!   `check` accepts never reaches it. doppel never cuts a generated value short: a cut email
//!   or hash would silently change what the rule promises (validity, uniqueness, joins).
//!
//! Length is counted in characters, as PostgreSQL counts it, and trailing spaces beyond the
//! limit do not count (PostgreSQL drops them). A domain column's `pg.type` names the domain;
//! its base type with the length in effect is in `pg.base_type`, which is what is checked.
//!
//! Each strategy says how long its values can be in [`super::Behaviour::fit`] (one that
//! does not say has every value checked at run time), and, for the templates that read it,
//! in [`output_longest`].

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Field};

use crate::schema::PG_TYPE;

use super::Strategy;

/// How long a column's value can be as text, as a `template` inserts it (Arrow's display of
/// the value after the column's own rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Longest {
    /// At most this many characters.
    pub chars: usize,
    /// Only ASCII characters: case mapping keeps the length, `slug` never lengthens.
    pub ascii: bool,
}

impl Longest {
    /// `chars` ASCII characters at most.
    pub const fn ascii(chars: usize) -> Longest {
        Longest { chars, ascii: true }
    }

    /// `chars` characters at most, of any kind.
    pub const fn text(chars: usize) -> Longest {
        Longest { chars, ascii: false }
    }

    /// Both bounds hold: the shorter length, ASCII if either says so.
    fn and(self, other: Longest) -> Longest {
        Longest { chars: self.chars.min(other.chars), ascii: self.ascii || other.ascii }
    }
}

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

/// The templates of a table against their columns' declared `varchar(n)` / `char(n)`:
/// `(column, problem)` for each one whose longest value does not fit, or has no longest value.
/// `columns[i]` is the column at schema index `i` with its bound strategy and `unique`. Run
/// once every column is bound and the templates are known not to form a cycle.
pub(crate) fn templates(columns: &[(&Field, &Strategy, bool)]) -> Vec<(usize, String)> {
    let mut problems = Vec::new();
    for (i, &(field, strategy, unique)) in columns.iter().enumerate() {
        let Strategy::Template(template) = strategy else { continue };
        let Some(pg_type) = declared_type(field) else { continue };
        let Some(limit) = declared_limit(field) else { continue };
        let longest = template.longest(unique, &mut |j| column_longest(columns, j, 0));
        let problem = match longest {
            Ok((longest, _)) if longest.chars <= limit => continue,
            Ok((longest, parts)) => format!(
                "the template makes values of up to {} characters ({}), and the column's type {pg_type} holds at \
                 most {limit}; shorten the template, give the columns it reads rules with shorter values (a `fake` \
                 generator with shorter values, `hash` with a smaller `length`){}, or widen the column",
                longest.chars,
                parts.join(", "),
                if unique { ", leave out `unique`" } else { "" }
            ),
            Err(why) => format!(
                "the template's values have no longest length: {why}, so doppel cannot promise that every value \
                 fits the column's type {pg_type}, which holds at most {limit}; give that column a rule whose values \
                 have a longest length (`hash` with a `length`, a `fake` generator with a longest value, `null`), \
                 read another column, or use a rule of its own for this column"
            ),
        };
        problems.push((i, problem));
    }
    problems
}

/// The longest value of `columns[j]` after its rule (a template: of what it builds, and at
/// most the column's declared length).
fn column_longest(columns: &[(&Field, &Strategy, bool)], j: usize, depth: usize) -> Result<Longest, String> {
    let (field, strategy, unique) = columns[j];
    let Strategy::Template(template) = strategy else { return output_longest(field, strategy) };
    let declared = declared_limit(field).map(Longest::text);
    // No cycle reaches here (checked first); the depth only guards against one anyway.
    let built = if depth < columns.len() {
        template.longest(unique, &mut |k| column_longest(columns, k, depth + 1)).map(|(l, _)| l)
    } else {
        Err("templates refer to each other in a cycle".into())
    };
    match (built, declared) {
        (Ok(built), Some(declared)) => Ok(built.and(declared)),
        (Ok(built), None) => Ok(built),
        // Its own check refuses it if its values can exceed its length.
        (Err(_), Some(declared)) => Ok(declared),
        (Err(why), None) => Err(why),
    }
}

/// The longest value of a column after its rule, as text (see [`Longest`]); `Err` says why
/// there is none. Templates are measured by [`templates`], which knows the other columns.
pub(crate) fn output_longest(field: &Field, strategy: &Strategy) -> Result<Longest, String> {
    use super::hash::HashSpec;
    let name = field.name();
    // What the column's type bounds: a declared length (every accepted rule's values fit
    // it), or the longest display of its Arrow type.
    let of_type = declared_limit(field).map(Longest::text).or_else(|| type_longest(field));
    let bounded = |longest: Longest| Ok(of_type.map_or(longest, |t| t.and(longest)));
    let unbounded = |what: &str| {
        of_type.ok_or_else(|| {
            let type_name = field.metadata().get(PG_TYPE).cloned().unwrap_or_else(|| field.data_type().to_string());
            format!("`{name}` {what}, and its type {type_name} has no length limit")
        })
    };
    let text = matches!(field.data_type(), DataType::Utf8 | DataType::LargeUtf8);
    match strategy {
        Strategy::Null => Ok(Longest::ascii(0)),
        Strategy::Keep => unbounded("is kept"),
        Strategy::Constant(constant) => {
            let value = &constant.0;
            if value.is_empty() || value.is_null(0) {
                return Ok(Longest::ascii(0));
            }
            let shown = arrow_cast::display::ArrayFormatter::try_new(value.as_ref(), &Default::default())
                .ok()
                .and_then(|f| f.value(0).try_to_string().ok())
                .ok_or_else(|| format!("`{name}` gets a constant that cannot be shown as text"))?;
            Ok(Longest { chars: shown.chars().count(), ascii: shown.is_ascii() })
        }
        Strategy::Mask(_) => unbounded("is masked (a mask keeps the length of what it reads)"),
        Strategy::Hash(HashSpec::Hex { length }) => bounded(Longest::ascii(*length)),
        Strategy::Hash(HashSpec::Uuid) if text => bounded(Longest::ascii(36)),
        Strategy::Hash(_) => unbounded("gets a keyed permutation"),
        Strategy::Fake(spec) => match super::fake::max_chars(spec).filter(|_| text) {
            Some(max) => bounded(Longest { chars: max, ascii: ascii_generator(spec.generator) }),
            None => unbounded(&format!(
                "gets generator `{}` (locale {}), which has no longest value",
                spec.generator.name(),
                spec.locale.name()
            )),
        },
        Strategy::Noise(_) => unbounded("gets `noise`"),
        Strategy::Generalise(super::generalise::GeneraliseSpec::Prefix(n)) if text => bounded(Longest::text(*n)),
        Strategy::Generalise(_) => unbounded("is generalised"),
        Strategy::Redact(_) => unbounded("gets `redact`, whose values are as long as the text it reads"),
        Strategy::Json(_) => unbounded("gets `json`, whose values are as long as the documents it reads"),
        Strategy::Elements(_) => unbounded("is an array whose elements get a rule"),
        Strategy::Template(_) => unbounded("is a template"),
    }
}

/// Generators whose values are ASCII whatever the locale.
fn ascii_generator(generator: super::fake::Generator) -> bool {
    use super::fake::Generator as G;
    matches!(
        generator,
        G::Uuid
            | G::Ipv4
            | G::Ipv6
            | G::Ip
            | G::MacAddress
            | G::CreditCard
            | G::Iban
            | G::CountryCode
            | G::CurrencyCode
            | G::Boolean
    )
}

/// The longest text of any value of a column's type, as a template shows it (Arrow's
/// display); `None` when the type has no such bound (text without a declared length, binary,
/// lists, intervals, …). A uuid carried as text has 36 characters, an enum its longest label.
fn type_longest(field: &Field) -> Option<Longest> {
    let ascii = |n: usize| Some(Longest::ascii(n));
    match field.data_type() {
        DataType::Boolean => ascii(5),
        DataType::Int8 => ascii(4),
        DataType::Int16 => ascii(6),
        DataType::Int32 => ascii(11),
        DataType::Int64 => ascii(20),
        DataType::UInt8 => ascii(3),
        DataType::UInt16 => ascii(5),
        DataType::UInt32 => ascii(10),
        DataType::UInt64 => ascii(20),
        DataType::Float32 | DataType::Float64 => ascii(FLOAT_CHARS),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => ascii(decimal_chars(*p, *s)),
        DataType::Date32 => ascii(DATE_CHARS),
        DataType::Date64 => ascii(DATE64_CHARS),
        DataType::Time32(_) | DataType::Time64(_) => ascii(TIME_CHARS),
        DataType::Timestamp(_, None) => ascii(TIMESTAMP_CHARS),
        DataType::Timestamp(_, Some(_)) => ascii(TIMESTAMPTZ_CHARS),
        DataType::FixedSizeBinary(n) => ascii(2 * usize::try_from(*n).ok()?),
        DataType::Utf8 | DataType::LargeUtf8 => {
            let pg_type = declared_type(field)?;
            if pg_type == "uuid" {
                return ascii(36);
            }
            let labels = crate::type_kind::enum_labels(field)?;
            let chars = labels.iter().map(|l| l.chars().count()).max()?;
            Some(Longest { chars, ascii: labels.iter().all(|l| l.is_ascii()) })
        }
        _ => None,
    }
}

/// Arrow shows floats with `ryu`, which writes at most 24 characters
/// (`-2.2250738585072014e-308`, `-1106337100000.0`, `NaN`, `-inf`).
const FLOAT_CHARS: usize = 24;
/// `+262142-12-31` (chrono's range; days outside it are not shown).
const DATE_CHARS: usize = 13;
/// `+262142-12-31T23:59:59.999`.
const DATE64_CHARS: usize = 26;
/// `23:59:59.999999999`.
const TIME_CHARS: usize = 18;
/// `+262142-12-31T23:59:59.999999999` (nanoseconds reach only the years 1677 to 2262).
const TIMESTAMP_CHARS: usize = 32;
/// With the zone's offset: `+262142-12-31T23:59:59.999999999+14:00`.
const TIMESTAMPTZ_CHARS: usize = 38;

/// Arrow's display of a `Decimal(p, s)`: a sign, the digits (at least one before the point)
/// and the point.
fn decimal_chars(precision: u8, scale: i8) -> usize {
    let p = usize::from(precision);
    match usize::try_from(scale) {
        Ok(0) => 1 + p,
        Ok(s) => 1 + p.max(s + 1) + 1,
        // A negative scale shows the digits followed by its zeros.
        Err(_) => 1 + p + usize::from(scale.unsigned_abs()),
    }
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

    /// Arrow's display of `array`'s values, as a template inserts them (those it can show).
    fn shown(array: &dyn Array) -> Vec<String> {
        let f = arrow_cast::display::ArrayFormatter::try_new(array, &Default::default()).unwrap();
        (0..array.len()).filter_map(|i| f.value(i).try_to_string().ok()).collect()
    }

    fn assert_within(array: ArrayRef) {
        let field = Field::new("c", array.data_type().clone(), true);
        let bound = type_longest(&field).unwrap_or_else(|| panic!("{} has a bound", array.data_type()));
        for s in shown(array.as_ref()) {
            assert!(s.chars().count() <= bound.chars, "{}: {s} longer than {}", array.data_type(), bound.chars);
            assert!(s.is_ascii());
        }
    }

    #[test]
    fn the_longest_display_of_each_bounded_type_holds_for_its_extreme_values() {
        use arrow_array::*;
        assert_within(Arc::new(Int8Array::from(vec![i8::MIN, i8::MAX])));
        assert_within(Arc::new(Int16Array::from(vec![i16::MIN, i16::MAX])));
        assert_within(Arc::new(Int32Array::from(vec![i32::MIN, i32::MAX])));
        assert_within(Arc::new(Int64Array::from(vec![i64::MIN, i64::MAX])));
        assert_within(Arc::new(UInt8Array::from(vec![u8::MAX])));
        assert_within(Arc::new(UInt16Array::from(vec![u16::MAX])));
        assert_within(Arc::new(UInt32Array::from(vec![u32::MAX])));
        assert_within(Arc::new(UInt64Array::from(vec![u64::MAX])));
        assert_within(Arc::new(BooleanArray::from(vec![true, false])));
        // Floats: the extremes, and many bit patterns (every exponent, random mantissas).
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut doubles = vec![f64::MIN, f64::MAX, f64::MIN_POSITIVE, -f64::MIN_POSITIVE, -5e-324, f64::NAN];
        doubles.extend([f64::INFINITY, f64::NEG_INFINITY, -1.2345678901234567e-300, -1e21, -1e-7, -0.1 - 0.2]);
        doubles.extend((0..200_000).map(|_| f64::from_bits(next())));
        assert_within(Arc::new(Float64Array::from(doubles)));
        let mut floats = vec![f32::MIN, f32::MAX, -f32::MIN_POSITIVE, -1e-45, -1.1754942e-38];
        floats.extend((0..200_000).map(|_| f32::from_bits(next() as u32)));
        assert_within(Arc::new(Float32Array::from(floats)));
        for (p, s) in [(1, 0), (5, 2), (12, 2), (38, 0), (38, 10), (38, 38), (4, -3), (38, -10)] {
            let digits = 10i128.pow(u32::from(p)) - 1;
            let a = Decimal128Array::from(vec![-digits, digits, -1, 0]).with_precision_and_scale(p, s).unwrap();
            assert_within(Arc::new(a));
        }
        // The edges of what chrono (and so Arrow's display) can show, and just inside them.
        let (min, max) = (chrono::NaiveDateTime::MIN.and_utc(), chrono::NaiveDateTime::MAX.and_utc());
        let epoch_days = |d: chrono::DateTime<chrono::Utc>| (d.timestamp() / 86_400) as i32;
        let days = vec![i32::MIN, i32::MAX, epoch_days(min), epoch_days(min) + 1, epoch_days(max), epoch_days(max) - 1];
        assert_within(Arc::new(Date32Array::from(days)));
        let millis = vec![min.timestamp_millis(), max.timestamp_millis(), min.timestamp_millis() + 86_400_000];
        assert_within(Arc::new(Date64Array::from(millis)));
        assert_within(Arc::new(Time64MicrosecondArray::from(vec![0, 86_399_999_999])));
        assert_within(Arc::new(Time64NanosecondArray::from(vec![0, 86_399_999_999_999])));
        assert_within(Arc::new(Time32SecondArray::from(vec![0, 86_399])));
        assert_within(Arc::new(Time32MillisecondArray::from(vec![0, 86_399_999])));
        let instants = |scale: i64| {
            let (lo, hi) = (min.timestamp() + 86_400, max.timestamp() - 86_400);
            vec![
                i64::MIN,
                i64::MAX,
                lo.saturating_mul(scale).saturating_sub(1),
                hi.saturating_mul(scale).saturating_add(scale - 1),
            ]
        };
        for tz in [None, Some("+14:00"), Some("-12:00"), Some("Pacific/Kiritimati"), Some("America/St_Johns")] {
            let with = |a: ArrayRef| {
                arrow_cast::cast(
                    &a,
                    &DataType::Timestamp(
                        match a.data_type() {
                            DataType::Timestamp(u, _) => *u,
                            _ => unreachable!(),
                        },
                        tz.map(Into::into),
                    ),
                )
                .unwrap()
            };
            assert_within(with(Arc::new(TimestampSecondArray::from(instants(1)))));
            assert_within(with(Arc::new(TimestampMillisecondArray::from(instants(1_000)))));
            assert_within(with(Arc::new(TimestampMicrosecondArray::from(instants(1_000_000)))));
            assert_within(with(Arc::new(TimestampNanosecondArray::from(instants(1_000_000_000)))));
        }
        let uuid = FixedSizeBinaryArray::try_from_iter(vec![[0xffu8; 16]].into_iter()).unwrap();
        assert_within(Arc::new(uuid));
    }

    /// `public.t`: columns of the given types and rules (a template reads them by name).
    fn template_problems(columns: &[(&str, &str, &str)], template: &str, unique: bool, limit: &str) -> Vec<String> {
        use crate::strategy::{BindContext, ColumnRule};
        let mut fields: Vec<Field> = columns
            .iter()
            .map(|(name, pg_type, _)| match *pg_type {
                "integer" => Field::new(*name, DataType::Int32, true),
                "date" => Field::new(*name, DataType::Date32, true),
                t => Field::new(*name, DataType::Utf8, true)
                    .with_metadata(HashMap::from([(PG_TYPE.to_string(), t.to_string())])),
            })
            .collect();
        fields.push(declared_text(limit).with_name("t"));
        let schema = arrow_schema::Schema::new(fields);
        let mut rules: Vec<String> = columns.iter().map(|(_, _, rule)| rule.to_string()).collect();
        rules.push(format!("{{ action = \"template\", template = \"{template}\", unique = {unique} }}"));
        let bound: Vec<(Strategy, bool)> = schema
            .fields()
            .iter()
            .zip(&rules)
            .map(|(field, rule)| {
                let rule: ColumnRule = toml::from_str(&format!("r = {rule}"))
                    .map(|t: HashMap<String, ColumnRule>| t["r"].clone())
                    .unwrap();
                let ctx = BindContext { field, schema: &schema, default_domain: "d" };
                let b = rule.options().bind(&ctx).unwrap_or_else(|e| panic!("{e:?}"));
                (b.strategy, b.unique)
            })
            .collect();
        let columns: Vec<(&Field, &Strategy, bool)> =
            schema.fields().iter().zip(&bound).map(|(f, (s, u))| (f.as_ref(), s, *u)).collect();
        templates(&columns).into_iter().map(|(i, m)| format!("{i}: {m}")).collect()
    }

    #[test]
    fn a_template_fits_when_its_longest_value_does() {
        let keep = "{ action = \"keep\" }";
        let fake_first = "{ action = \"fake\", generator = \"first_name\" }";
        let name = [("first", "character varying(10)", keep)];
        // 10 + 12 of fixed text: fits 22, not 21.
        assert!(template_problems(&name, "{first}@example.com", false, "character varying(22)").is_empty());
        let p = template_problems(&name, "{first}@example.com", false, "character varying(21)");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("1: the template makes values of up to 22 characters (12 of fixed text, `{first}` up to 10), and the column's type character varying(21) holds at most 21; "),
            "{p:?}"
        );
        // `upper` on text that may not be ASCII: three characters for one; `slug`: two.
        let p = template_problems(&name, "{first|upper}", false, "character varying(29)");
        assert!(p[0].contains("up to 30 characters (0 of fixed text, `{first|upper}` up to 30)"), "{p:?}");
        assert!(template_problems(&name, "{first|slug}", false, "character varying(20)").is_empty());
        assert!(!template_problems(&name, "{first|slug}", false, "character varying(19)").is_empty());
        // ASCII values keep their length: a hash, an integer, a date.
        let ascii = [
            ("h", "text", "{ action = \"hash\", length = 8 }"),
            ("n", "integer", keep),
            ("d", "date", "{ action = \"noise\", duration = \"3d\" }"),
        ];
        assert!(template_problems(&ascii, "{h|upper}-{n}-{d|slug}", false, "character varying(34)").is_empty());
        let p = template_problems(&ascii, "{h|upper}-{n}-{d|slug}", false, "character varying(33)");
        assert!(
            p[0].contains(
                "up to 34 characters (2 of fixed text, `{h|upper}` up to 8, `{n}` up to 11, `{d|slug}` up to 13"
            ),
            "{p:?}"
        );
        // A fake with a longest value: at most the shorter of it and the column's length.
        let fake = [("first", "character varying(100)", fake_first)];
        let longest = crate::strategy::fake::max_chars(&crate::strategy::fake::FakeSpec::new(
            crate::strategy::fake::Generator::FirstName,
        ))
        .unwrap();
        assert!(template_problems(&fake, "{first}", false, &format!("character varying({longest})")).is_empty());
        assert!(!template_problems(&fake, "{first}", false, &format!("character varying({})", longest - 1)).is_empty());
        // `unique` adds the collision number.
        let suffix = crate::strategy::tag::max_added_chars();
        let limit = format!("character varying({})", 10 + suffix);
        assert!(template_problems(&name, "{first}", true, &limit).is_empty());
        let limit = format!("character varying({})", 9 + suffix);
        let p = template_problems(&name, "{first}", true, &limit);
        assert!(p[0].contains(&format!("up to {suffix} for the number `unique` adds to a collision")), "{p:?}");
        // A template read by another: what it builds.
        let nested = [
            ("first", "character varying(10)", keep),
            ("inner", "text", "{ action = \"template\", template = \"{first}-x\" }"),
        ];
        assert!(template_problems(&nested, "{inner}", false, "character varying(12)").is_empty());
        assert!(!template_problems(&nested, "{inner}", false, "character varying(11)").is_empty());
        // On a column without a declared length nothing is checked.
        assert!(template_problems(&name, "{first|upper}{first|upper}", true, "text").is_empty());
    }

    #[test]
    fn a_template_reading_a_column_without_a_longest_value_is_refused_saying_why() {
        let cases = [
            (("note", "text", "{ action = \"keep\" }"), "`note` is kept, and its type text has no length limit"),
            (
                ("mail", "text", "{ action = \"fake\", generator = \"email\" }"),
                "`mail` gets generator `email` (locale en), which has no longest value, and its type text has no length limit",
            ),
            (("note", "text", "{ action = \"redact\" }"), "`note` gets `redact`"),
            (("note", "text", "{ action = \"mask\" }"), "`note` is masked"),
        ];
        for (column, why) in cases {
            let p = template_problems(&[column], &format!("{{{}}}", column.0), false, "character varying(40)");
            assert_eq!(p.len(), 1, "{p:?}");
            assert!(p[0].starts_with(&format!("1: the template's values have no longest length: {why}")), "{p:?}");
            assert!(p[0].contains("character varying(40), which holds at most 40"), "{p:?}");
        }
        // The same columns with a declared length bound what a template reads of them.
        let bounded = [("mail", "character varying(30)", "{ action = \"fake\", generator = \"email\" }")];
        assert!(template_problems(&bounded, "{mail}", false, "character varying(30)").is_empty());
        let bounded = [("note", "character varying(30)", "{ action = \"redact\" }")];
        assert!(template_problems(&bounded, "<{note}>", false, "character varying(32)").is_empty());
        assert!(!template_problems(&bounded, "<{note}>", false, "character varying(31)").is_empty());
        // NULL inserts nothing; a constant its own text.
        let nothing =
            [("a", "text", "{ action = \"null\" }"), ("b", "text", "{ action = \"constant\", value = \"abc\" }")];
        assert!(template_problems(&nothing, "{a}{b}", false, "character varying(3)").is_empty());
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
