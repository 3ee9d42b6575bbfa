//! PostgreSQL's text forms → Rust values, one decoder per type: the forms PostgreSQL prints
//! under the session settings of [`super::connect::SESSION_SETTINGS`] (ISO dates with a
//! ` BC` suffix, UTC offsets, hex bytea, shortest-exact floats, `NaN`/`Infinity`).
//!
//! `infinity` and `-infinity` dates and timestamps become the extreme values of the Arrow
//! type ([`DATE_INFINITY`], [`TIMESTAMP_INFINITY`] and their negatives, as PostgreSQL stores
//! them itself), which the PostgreSQL target writes back as `infinity` / `-infinity`. A value
//! the Arrow type cannot hold (a numeric NaN or infinity in a Decimal128 column, a timestamp
//! outside Arrow's range or equal to a reserved extreme) is a [`ValueError`], never changed
//! silently. Errors never carry the value itself.

use std::fmt;

use super::copy_text::EscapeError;

/// Date32 value standing for `infinity` (`i32::MIN` stands for `-infinity`): both lie outside
/// PostgreSQL's date range (4714 BC to 5874897 AD), so no real date maps to them.
pub const DATE_INFINITY: i32 = i32::MAX;
pub const DATE_NEG_INFINITY: i32 = i32::MIN;
/// Timestamp (microseconds since 1970) value standing for `infinity`, `i64::MIN` for
/// `-infinity`, as PostgreSQL itself stores them. `i64::MIN` lies before PostgreSQL's range;
/// `i64::MAX` is 294247-01-10 04:00:54.775807, a valid PostgreSQL timestamp, which is refused
/// as out of range rather than read as infinity.
pub const TIMESTAMP_INFINITY: i64 = i64::MAX;
pub const TIMESTAMP_NEG_INFINITY: i64 = i64::MIN;
/// Why one value could not be decoded. Display never includes the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueError {
    /// The text is not a valid form of the expected type (should not happen with a healthy
    /// server and the session settings doppel applies).
    Syntax(&'static str),
    /// Not valid UTF-8 (a text column in a database whose encoding is not UTF-8-clean).
    InvalidUtf8,
    /// `NaN`, `Infinity` or `-Infinity` in a numeric column read as Decimal128.
    NonFiniteNumeric(u8, i8),
    /// More digits than Decimal128(p, s) holds.
    DecimalOverflow(u8, i8),
    /// A date or timestamp outside the Arrow type's range.
    OutOfRange(&'static str),
    /// A backslash at the end of a field: the COPY stream is malformed.
    Escape,
}

const WHAT_TO_DO: &str = "doppel does not change values silently; fix or remove such values in the source, \
                          or skip the table in the rules";

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::Syntax(what) => write!(
                f,
                "the server sent a text form that is not a valid {what}; this is a bug in doppel or an unexpected \
                 server setting, please report it with the column's type"
            ),
            ValueError::InvalidUtf8 => write!(
                f,
                "the value is not valid UTF-8 (is the database encoding SQL_ASCII?); fix the data or the encoding"
            ),
            ValueError::NonFiniteNumeric(p, s) => {
                write!(f, "the value is NaN or infinite, which Arrow Decimal128({p}, {s}) cannot hold; {WHAT_TO_DO}")
            }
            ValueError::DecimalOverflow(p, s) => {
                write!(f, "the value has more digits than Arrow Decimal128({p}, {s}) holds; {WHAT_TO_DO}")
            }
            ValueError::OutOfRange(arrow) => {
                write!(f, "the value is outside the range Arrow {arrow} can hold; {WHAT_TO_DO}")
            }
            ValueError::Escape => write!(f, "malformed COPY data (a field ends with a backslash)"),
        }
    }
}

impl From<EscapeError> for ValueError {
    fn from(_: EscapeError) -> ValueError {
        ValueError::Escape
    }
}

pub fn parse_bool(s: &[u8]) -> Result<bool, ValueError> {
    match s {
        b"t" => Ok(true),
        b"f" => Ok(false),
        _ => Err(ValueError::Syntax("boolean")),
    }
}

/// A decimal integer with an optional sign.
pub fn parse_int(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    // Accumulate negatively so that i64::MIN parses.
    let mut acc: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        acc = acc.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
    }
    if neg { Some(acc) } else { acc.checked_neg() }
}

pub fn parse_i16(s: &[u8]) -> Result<i16, ValueError> {
    parse_int(s).and_then(|v| i16::try_from(v).ok()).ok_or(ValueError::Syntax("smallint"))
}

pub fn parse_i32(s: &[u8]) -> Result<i32, ValueError> {
    parse_int(s).and_then(|v| i32::try_from(v).ok()).ok_or(ValueError::Syntax("integer"))
}

pub fn parse_i64(s: &[u8]) -> Result<i64, ValueError> {
    parse_int(s).ok_or(ValueError::Syntax("bigint"))
}

fn special_float(s: &[u8]) -> Option<f64> {
    match s {
        b"NaN" => Some(f64::NAN),
        b"Infinity" => Some(f64::INFINITY),
        b"-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// float8: shortest-exact decimal, `NaN`, `Infinity`, `-Infinity`.
pub fn parse_f64(s: &[u8]) -> Result<f64, ValueError> {
    if let Some(v) = special_float(s) {
        return Ok(v);
    }
    std::str::from_utf8(s)
        .ok()
        .filter(|t| t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')))
        .and_then(|t| t.parse().ok())
        .ok_or(ValueError::Syntax("double precision"))
}

/// float4, parsed as f32 directly (no double rounding).
pub fn parse_f32(s: &[u8]) -> Result<f32, ValueError> {
    if let Some(v) = special_float(s) {
        return Ok(v as f32);
    }
    std::str::from_utf8(s)
        .ok()
        .filter(|t| t.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')))
        .and_then(|t| t.parse().ok())
        .ok_or(ValueError::Syntax("real"))
}

/// numeric text (`-123.45`) as a Decimal128(p, s) integer. Fewer fraction digits than `s`
/// are padded; more are refused unless they are zeros.
pub fn parse_decimal(s: &[u8], precision: u8, scale: i8) -> Result<i128, ValueError> {
    if matches!(s, b"NaN" | b"Infinity" | b"-Infinity") {
        return Err(ValueError::NonFiniteNumeric(precision, scale));
    }
    let overflow = ValueError::DecimalOverflow(precision, scale);
    let syntax = ValueError::Syntax("numeric");
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int_part, frac_part) = match body.iter().position(|&b| b == b'.') {
        Some(dot) => (&body[..dot], &body[dot + 1..]),
        None => (body, &[][..]),
    };
    if (int_part.is_empty() && frac_part.is_empty()) || !int_part.iter().chain(frac_part).all(u8::is_ascii_digit) {
        return Err(syntax);
    }
    let scale_digits = usize::try_from(scale).map_err(|_| syntax)?;
    let (kept_frac, dropped) =
        if frac_part.len() > scale_digits { frac_part.split_at(scale_digits) } else { (frac_part, &[][..]) };
    if dropped.iter().any(|&d| d != b'0') {
        return Err(overflow);
    }
    let mut v: i128 = 0;
    for &d in int_part.iter().chain(kept_frac) {
        v = v.checked_mul(10).and_then(|v| v.checked_add(i128::from(d - b'0'))).ok_or(overflow)?;
    }
    for _ in kept_frac.len()..scale_digits {
        v = v.checked_mul(10).ok_or(overflow)?;
    }
    if v >= 10i128.pow(u32::from(precision)) {
        return Err(overflow);
    }
    Ok(if neg { -v } else { v })
}

/// Days from 1970-01-01 to a proleptic Gregorian date (astronomical year numbering).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date (astronomical year, month, day) `days` after 1970-01-01: the
/// inverse of [`days_from_civil`], for any `i32` day count (chrono stops at year 262143).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A tiny cursor over ASCII text.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn digits(&mut self, min: usize, max: usize) -> Option<i64> {
        let start = self.pos;
        while self.pos < self.s.len() && self.pos - start < max && self.s[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        let n = self.pos - start;
        if n < min {
            return None;
        }
        let mut v: i64 = 0;
        for &d in &self.s[start..self.pos] {
            v = v.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
        }
        Some(v)
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn rest(&self) -> &'a [u8] {
        &self.s[self.pos..]
    }
}

/// Strips PostgreSQL's ` BC` suffix.
fn split_era(s: &[u8]) -> (&[u8], bool) {
    match s.strip_suffix(b" BC") {
        Some(body) => (body, true),
        None => (s, false),
    }
}

/// `YYYY-MM-DD` (four or more year digits) → days since the epoch, before the BC suffix.
fn parse_ymd(c: &mut Cursor<'_>, bc: bool, what: &'static str) -> Result<i64, ValueError> {
    let syntax = ValueError::Syntax(what);
    let year = c.digits(4, 9).ok_or(syntax)?;
    if !c.eat(b'-') {
        return Err(syntax);
    }
    let month = c.digits(2, 2).ok_or(syntax)?;
    if !c.eat(b'-') {
        return Err(syntax);
    }
    let day = c.digits(2, 2).ok_or(syntax)?;
    if year == 0 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return Err(syntax);
    }
    // 1 BC is astronomical year 0.
    let year = if bc { 1 - year } else { year };
    Ok(days_from_civil(year, month as u32, day as u32))
}

/// date → days since 1970-01-01 (Date32); `±infinity` → [`DATE_INFINITY`] /
/// [`DATE_NEG_INFINITY`].
pub fn parse_date(s: &[u8]) -> Result<i32, ValueError> {
    match s {
        b"infinity" => return Ok(DATE_INFINITY),
        b"-infinity" => return Ok(DATE_NEG_INFINITY),
        _ => {}
    }
    let (body, bc) = split_era(s);
    let mut c = Cursor { s: body, pos: 0 };
    let days = parse_ymd(&mut c, bc, "date")?;
    if !c.rest().is_empty() {
        return Err(ValueError::Syntax("date"));
    }
    i32::try_from(days)
        .ok()
        .filter(|d| !matches!(*d, DATE_INFINITY | DATE_NEG_INFINITY))
        .ok_or(ValueError::OutOfRange("Date32"))
}

/// timestamp / timestamptz → microseconds since 1970-01-01 00:00 UTC. `with_offset`: the
/// text carries a UTC offset (`+00`, `+05:30`, `-03:00:00`), as timestamptz does.
/// `±infinity` → [`TIMESTAMP_INFINITY`] / [`TIMESTAMP_NEG_INFINITY`].
pub fn parse_timestamp(s: &[u8], with_offset: bool) -> Result<i64, ValueError> {
    let (what, arrow) = if with_offset {
        ("timestamp with time zone", "Timestamp(Microsecond, UTC)")
    } else {
        ("timestamp", "Timestamp(Microsecond)")
    };
    match s {
        b"infinity" => return Ok(TIMESTAMP_INFINITY),
        b"-infinity" => return Ok(TIMESTAMP_NEG_INFINITY),
        _ => {}
    }
    let syntax = ValueError::Syntax(what);
    let (body, bc) = split_era(s);
    let mut c = Cursor { s: body, pos: 0 };
    let days = parse_ymd(&mut c, bc, what)?;
    if !c.eat(b' ') {
        return Err(syntax);
    }
    let (h, m, sec, micros) = clock(&mut c, syntax)?;
    if h > 24 || m > 59 || sec > 60 {
        return Err(syntax);
    }
    let mut offset_secs = 0i64;
    if with_offset {
        let sign = match c.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(syntax),
        };
        c.pos += 1;
        let oh = c.digits(2, 2).ok_or(syntax)?;
        let om = if c.eat(b':') { c.digits(2, 2).ok_or(syntax)? } else { 0 };
        let os = if c.eat(b':') { c.digits(2, 2).ok_or(syntax)? } else { 0 };
        offset_secs = sign * (oh * 3600 + om * 60 + os);
    }
    if !c.rest().is_empty() {
        return Err(syntax);
    }
    let secs = days * 86_400 + h * 3600 + m * 60 + sec - offset_secs;
    secs.checked_mul(1_000_000)
        .and_then(|v| v.checked_add(micros))
        .filter(|v| !matches!(*v, TIMESTAMP_INFINITY | TIMESTAMP_NEG_INFINITY))
        .ok_or(ValueError::OutOfRange(arrow))
}

/// `HH:MM:SS[.f…]` (up to six fraction digits; a seventh is a syntax error) →
/// (hours, minutes, seconds, microseconds), ranges unchecked.
fn clock(c: &mut Cursor, syntax: ValueError) -> Result<(i64, i64, i64, i64), ValueError> {
    let h = c.digits(2, 2).ok_or(syntax)?;
    let m = if c.eat(b':') { c.digits(2, 2).ok_or(syntax)? } else { return Err(syntax) };
    let sec = if c.eat(b':') { c.digits(2, 2).ok_or(syntax)? } else { return Err(syntax) };
    let mut micros = 0i64;
    if c.eat(b'.') {
        let start = c.pos;
        let frac = c.digits(1, 6).ok_or(syntax)?;
        micros = frac * 10i64.pow(6 - (c.pos - start) as u32);
        if c.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err(syntax);
        }
    }
    Ok((h, m, sec, micros))
}

/// Microseconds in a day: `24:00:00`, which PostgreSQL's time type allows (and stores so).
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// time → microseconds since midnight (Time64(Microsecond)): `HH:MM:SS` with up to six
/// fraction digits, `00:00:00` to `24:00:00` inclusive.
pub fn parse_time(s: &[u8]) -> Result<i64, ValueError> {
    let syntax = ValueError::Syntax("time");
    let mut c = Cursor { s, pos: 0 };
    let (h, m, sec, micros) = clock(&mut c, syntax)?;
    if !c.rest().is_empty() || m > 59 || sec > 59 {
        return Err(syntax);
    }
    let total = (h * 3600 + m * 60 + sec) * 1_000_000 + micros;
    if total > MICROS_PER_DAY {
        return Err(syntax);
    }
    Ok(total)
}

/// bytea in hex output form: `\x0123ab` (after COPY unescaping).
pub fn parse_bytea_hex(s: &[u8], out: &mut Vec<u8>) -> Result<(), ValueError> {
    let syntax = ValueError::Syntax("bytea in hex format");
    let hex = s.strip_prefix(b"\\x").ok_or(syntax)?;
    if hex.len() % 2 != 0 {
        return Err(syntax);
    }
    out.clear();
    out.reserve(hex.len() / 2);
    for pair in hex.chunks_exact(2) {
        out.push((hex_digit(pair[0]).ok_or(syntax)? << 4) | hex_digit(pair[1]).ok_or(syntax)?);
    }
    Ok(())
}

fn hex_digit(d: u8) -> Option<u8> {
    match d {
        b'0'..=b'9' => Some(d - b'0'),
        b'a'..=b'f' => Some(d - b'a' + 10),
        b'A'..=b'F' => Some(d - b'A' + 10),
        _ => None,
    }
}

/// uuid `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` → 16 bytes.
pub fn parse_uuid(s: &[u8]) -> Result<[u8; 16], ValueError> {
    let syntax = ValueError::Syntax("uuid");
    if s.len() != 36 || [8, 13, 18, 23].iter().any(|&i| s[i] != b'-') {
        return Err(syntax);
    }
    let mut out = [0u8; 16];
    let mut digits = s.iter().copied().filter(|&b| b != b'-');
    for byte in &mut out {
        let hi = digits.next().and_then(hex_digit).ok_or(syntax)?;
        let lo = digits.next().and_then(hex_digit).ok_or(syntax)?;
        *byte = (hi << 4) | lo;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        assert_eq!(parse_bool(b"t"), Ok(true));
        assert_eq!(parse_bool(b"f"), Ok(false));
        assert!(parse_bool(b"true").is_err());
    }

    #[test]
    fn integers_cover_their_full_range() {
        assert_eq!(parse_i16(b"-32768"), Ok(i16::MIN));
        assert_eq!(parse_i16(b"32767"), Ok(i16::MAX));
        assert!(parse_i16(b"32768").is_err());
        assert_eq!(parse_i32(b"-2147483648"), Ok(i32::MIN));
        assert_eq!(parse_i64(b"-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Ok(i64::MAX));
        assert!(parse_i64(b"9223372036854775808").is_err());
        assert_eq!(parse_i64(b"0"), Ok(0));
        for bad in [&b""[..], b"-", b"1.0", b" 1", b"1e3", b"12345678901234567890"] {
            assert!(parse_i64(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn floats_keep_special_values_and_round_trip() {
        assert!(parse_f64(b"NaN").unwrap().is_nan());
        assert_eq!(parse_f64(b"Infinity"), Ok(f64::INFINITY));
        assert_eq!(parse_f64(b"-Infinity"), Ok(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"1.5e+300"), Ok(1.5e300));
        assert_eq!(parse_f64(b"0.1"), Ok(0.1));
        assert_eq!(parse_f64(b"-0").map(f64::to_bits), Ok((-0.0f64).to_bits()));
        assert_eq!(parse_f64(b"4.9406564584124654e-324"), Ok(f64::from_bits(1)));
        assert_eq!(parse_f32(b"0.1"), Ok(0.1f32));
        assert_eq!(parse_f32(b"3.4028235e+38"), Ok(f32::MAX));
        assert!(parse_f32(b"NaN").unwrap().is_nan());
        assert_eq!(parse_f32(b"-Infinity"), Ok(f32::NEG_INFINITY));
        // Rust would accept these spellings; PostgreSQL never prints them.
        assert!(parse_f64(b"inf").is_err());
        assert!(parse_f64(b"nan").is_err());
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(parse_decimal(b"123.45", 12, 2), Ok(12345));
        assert_eq!(parse_decimal(b"-0.50", 12, 2), Ok(-50));
        assert_eq!(parse_decimal(b"7", 12, 2), Ok(700));
        assert_eq!(parse_decimal(b"7.5", 12, 2), Ok(750));
        assert_eq!(parse_decimal(b"7.500", 12, 2), Ok(750));
        assert_eq!(parse_decimal(b"9999999999.99", 12, 2), Ok(999_999_999_999));
        assert_eq!(parse_decimal(b"0.00000000000000000000000000000000000001", 38, 38), Ok(1));
        let max38 = "9".repeat(38);
        assert_eq!(parse_decimal(max38.as_bytes(), 38, 0), Ok(10i128.pow(38) - 1));
        assert_eq!(parse_decimal(b"7.501", 12, 2), Err(ValueError::DecimalOverflow(12, 2)));
        assert_eq!(parse_decimal(b"10000000000.00", 12, 2), Err(ValueError::DecimalOverflow(12, 2)));
        for special in [&b"NaN"[..], b"Infinity", b"-Infinity"] {
            assert_eq!(parse_decimal(special, 12, 2), Err(ValueError::NonFiniteNumeric(12, 2)));
        }
        for bad in [&b""[..], b"-", b".", b"1.2.3", b"1e5", b"12a"] {
            assert!(matches!(parse_decimal(bad, 12, 2), Err(ValueError::Syntax(_))), "{bad:?}");
        }
    }

    #[test]
    fn dates_cover_bc_and_far_future() {
        assert_eq!(parse_date(b"1970-01-01"), Ok(0));
        assert_eq!(parse_date(b"2000-03-01"), Ok(11_017));
        assert_eq!(parse_date(b"1969-12-31"), Ok(-1));
        // 1 BC is year 0 (a leap year); 4714-11-24 BC is PostgreSQL's first day (Julian day 0).
        assert_eq!(parse_date(b"0001-01-01 BC"), Ok(-719_528));
        assert_eq!(parse_date(b"0001-12-31 BC").unwrap() + 1, parse_date(b"0001-01-01").unwrap());
        assert_eq!(parse_date(b"4714-11-24 BC"), Ok(-2_440_588));
        assert_eq!(parse_date(b"5874897-12-31"), Ok(2_145_042_905));
        assert_eq!(parse_date(b"infinity"), Ok(DATE_INFINITY));
        assert_eq!(parse_date(b"-infinity"), Ok(DATE_NEG_INFINITY));
        // Beyond PostgreSQL's range: the day equal to the infinity value is refused, not read
        // as infinity; the day before it is read.
        assert_eq!(parse_date(b"5881580-07-11"), Err(ValueError::OutOfRange("Date32")));
        assert_eq!(parse_date(b"5881580-07-10"), Ok(i32::MAX - 1));
        for bad in [&b"2024-1-01"[..], b"2024-13-01", b"0000-01-01", b"2024-01-01 AD", b"24-01-01"] {
            assert!(matches!(parse_date(bad), Err(ValueError::Syntax(_))), "{bad:?}");
        }
    }

    #[test]
    fn civil_dates_invert_day_counts_over_the_whole_date32_range() {
        for days in [i64::from(i32::MIN), -2_440_588, -719_528, -1, 0, 11_017, 2_145_042_905, i64::from(i32::MAX)] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{days}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-719_528), (0, 1, 1)); // 0001-01-01 BC
        assert_eq!(civil_from_days(2_145_042_905), (5_874_897, 12, 31));
        assert_eq!(civil_from_days(i64::from(i32::MAX)), (5_881_580, 7, 11));
    }

    #[test]
    fn timestamps_in_utc_microseconds() {
        assert_eq!(parse_timestamp(b"1970-01-01 00:00:00", false), Ok(0));
        assert_eq!(parse_timestamp(b"1970-01-01 00:00:01.5", false), Ok(1_500_000));
        assert_eq!(parse_timestamp(b"1969-12-31 23:59:59.999999", false), Ok(-1));
        assert_eq!(parse_timestamp(b"2024-02-29 12:34:56.000001", false), Ok(1_709_210_096_000_001));
        assert_eq!(parse_timestamp(b"2024-02-29 12:34:56.000001+00", true), Ok(1_709_210_096_000_001));
        assert_eq!(
            parse_timestamp(b"2024-01-01 06:30:00+05:30", true),
            parse_timestamp(b"2024-01-01 01:00:00+00", true)
        );
        assert_eq!(parse_timestamp(b"2024-01-01 00:00:00-00:00:36", true), Ok(1_704_067_236_000_000));
        assert_eq!(
            parse_timestamp(b"0001-01-01 00:00:00 BC", false),
            Ok(i64::from(parse_date(b"0001-01-01 BC").unwrap()) * 86_400_000_000)
        );
        assert_eq!(parse_timestamp(b"2024-01-01 12:00:00+00 BC", true).map(|v| v < 0), Ok(true));
        assert_eq!(parse_timestamp(b"4714-11-24 00:00:00 BC", false), Ok(-2_440_588 * 86_400_000_000));
        // PostgreSQL accepts timestamps up to 294276 AD; i64 microseconds since 1970 stop in 294247.
        assert_eq!(parse_timestamp(b"294246-12-31 23:59:59.999999", false).map(|v| v > 0), Ok(true));
        assert_eq!(
            parse_timestamp(b"294276-12-31 23:59:59.999999", false),
            Err(ValueError::OutOfRange("Timestamp(Microsecond)"))
        );
        assert_eq!(parse_timestamp(b"infinity", false), Ok(TIMESTAMP_INFINITY));
        assert_eq!(parse_timestamp(b"-infinity", true), Ok(TIMESTAMP_NEG_INFINITY));
        // The one real timestamp equal to the infinity value is refused, its neighbour read.
        assert_eq!(
            parse_timestamp(b"294247-01-10 04:00:54.775807", false),
            Err(ValueError::OutOfRange("Timestamp(Microsecond)"))
        );
        assert_eq!(parse_timestamp(b"294247-01-10 04:00:54.775806", false), Ok(i64::MAX - 1));
        for bad in [
            &b"2024-01-01"[..],
            b"2024-01-01 12:00",
            b"2024-01-01 12:00:00+00",
            b"2024-01-01T12:00:00",
            b"2024-01-01 12:00:00.1234567",
        ] {
            assert!(matches!(parse_timestamp(bad, false), Err(ValueError::Syntax(_))), "{bad:?}");
        }
        assert!(matches!(parse_timestamp(b"2024-01-01 12:00:00", true), Err(ValueError::Syntax(_))));
    }

    #[test]
    fn times_of_day_in_microseconds() {
        assert_eq!(parse_time(b"00:00:00"), Ok(0));
        assert_eq!(parse_time(b"00:00:00.000001"), Ok(1));
        assert_eq!(parse_time(b"12:34:56.789"), Ok(45_296_789_000));
        assert_eq!(parse_time(b"23:59:59.999999"), Ok(MICROS_PER_DAY - 1));
        assert_eq!(parse_time(b"24:00:00"), Ok(MICROS_PER_DAY));
        for bad in [&b"24:00:00.000001"[..], b"25:00:00", b"12:60:00", b"12:00", b"12:00:00+00", b"1:00:00", b""] {
            assert!(matches!(parse_time(bad), Err(ValueError::Syntax(_))), "{bad:?}");
        }
    }

    #[test]
    fn bytea_and_uuid() {
        let mut out = Vec::new();
        parse_bytea_hex(br"\x00ff10Ab", &mut out).unwrap();
        assert_eq!(out, vec![0, 255, 16, 171]);
        parse_bytea_hex(br"\x", &mut out).unwrap();
        assert!(out.is_empty());
        assert!(parse_bytea_hex(br"\x0", &mut out).is_err());
        assert!(parse_bytea_hex(br"\000", &mut out).is_err());
        assert_eq!(
            parse_uuid(b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            Ok([0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11])
        );
        assert!(parse_uuid(b"a0eebc999c0b4ef8bb6d6bb9bd380a11").is_err());
        assert!(parse_uuid(b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g").is_err());
    }

    #[test]
    fn messages_never_hold_the_value() {
        for e in [
            ValueError::Syntax("date"),
            ValueError::InvalidUtf8,
            ValueError::NonFiniteNumeric(12, 2),
            ValueError::DecimalOverflow(12, 2),
            ValueError::OutOfRange("Timestamp(Microsecond)"),
        ] {
            let msg = e.to_string();
            assert!(!msg.contains("1234") && !msg.contains("2024"), "{msg}");
        }
        assert!(ValueError::OutOfRange("Date32").to_string().contains("Arrow Date32 can hold"));
    }
}
