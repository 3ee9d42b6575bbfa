//! `noise` with a `duration` on an `interval` column (PostgreSQL's text form, read with
//! `intervalstyle = postgres`: `1 year 2 mons 3 days 04:05:06.789012`, `-3 mons`,
//! `-1 years +2 mons -3 days +00:00:00.000001`). The years, months and days are kept as
//! written; the time part moves by a non-zero whole number of microseconds within
//! `[-duration, duration]` (drawn as for timestamps), and is written with an explicit sign
//! so it reads the same under every `intervalstyle`.

use std::fmt::Write;

use fake::rand::rngs::ChaCha8Rng;

use super::noise_shift;

/// The interval `text` with its time part moved by up to `max_shift` microseconds; `Err`
/// (never quoting the value) when `text` is not an interval in that form or the result
/// leaves what an interval's time part holds.
pub(super) fn shift_interval(text: &str, max_shift: i64, rng: &mut ChaCha8Rng, out: &mut String) -> Result<(), String> {
    let not_interval = || "a value is not an interval in PostgreSQL's output form".to_string();
    let mut fields: Vec<&str> = Vec::new();
    let mut time: i64 = 0;
    let mut tokens = text.split_whitespace().peekable();
    while let Some(token) = tokens.next() {
        if token.contains(':') {
            if tokens.peek().is_some() {
                return Err(not_interval());
            }
            time = parse_time(token).ok_or_else(not_interval)?;
            break;
        }
        let unit = tokens.next().ok_or_else(not_interval)?;
        let number_ok = token.strip_prefix(['-', '+']).unwrap_or(token).chars().all(|c| c.is_ascii_digit());
        let unit_ok = matches!(unit, "year" | "years" | "mon" | "mons" | "day" | "days");
        if !number_ok || !unit_ok {
            return Err(not_interval());
        }
        fields.push(token);
        fields.push(unit);
    }
    let moved = noise_shift(time, max_shift, -i64::MAX, i64::MAX, rng)
        .ok_or_else(|| "noise cannot move this interval's time within range in either direction".to_string())?;
    for f in &fields {
        out.push_str(f);
        out.push(' ');
    }
    let sign = if moved < 0 { '-' } else { '+' };
    let m = moved.unsigned_abs();
    let (seconds, micros) = (m / 1_000_000, m % 1_000_000);
    let _ = write!(out, "{sign}{:02}:{:02}:{:02}", seconds / 3600, (seconds / 60) % 60, seconds % 60);
    if micros > 0 {
        let _ = write!(out, ".{micros:06}");
    }
    Ok(())
}

/// `[+-]H:MM:SS[.ffffff]` in microseconds.
fn parse_time(token: &str) -> Option<i64> {
    let (negative, rest) = match token.as_bytes().first()? {
        b'-' => (true, &token[1..]),
        b'+' => (false, &token[1..]),
        _ => (false, token),
    };
    let mut parts = rest.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    if !digits(h) || !digits(m) || !digits(whole) || (!fraction.is_empty() && !digits(fraction)) || fraction.len() > 6 {
        return None;
    }
    let micros_of_fraction: i128 = if fraction.is_empty() { 0 } else { format!("{fraction:0<6}").parse().ok()? };
    let total: i128 = (h.parse::<i128>().ok()? * 3600 + m.parse::<i128>().ok()? * 60 + whole.parse::<i128>().ok()?)
        * 1_000_000
        + micros_of_fraction;
    let total = if negative { -total } else { total };
    i64::try_from(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fake::rand::SeedableRng;

    fn shift(text: &str, max: i64, seed: u64) -> Result<String, String> {
        let mut out = String::new();
        shift_interval(text, max, &mut ChaCha8Rng::seed_from_u64(seed), &mut out).map(|()| out)
    }

    #[test]
    fn the_time_part_moves_and_the_calendar_fields_stay() {
        for seed in 0..100 {
            let out = shift("1 year 2 mons 3 days 04:05:06.789012", 3_600_000_000, seed).unwrap();
            assert!(out.starts_with("1 year 2 mons 3 days +0"), "{out}");
            let moved = parse_time(out.rsplit(' ').next().unwrap()).unwrap();
            let original = parse_time("04:05:06.789012").unwrap();
            assert!(moved != original && (moved - original).abs() <= 3_600_000_000, "{out}");
            let out = shift("-3 mons", 60_000_000, seed).unwrap();
            assert!(out.starts_with("-3 mons ") && parse_time(out.rsplit(' ').next().unwrap()).unwrap() != 0);
        }
        assert_eq!(parse_time("-00:00:00.5"), Some(-500_000));
        assert_eq!(parse_time("2562047788:00:54.775807"), Some(i64::MAX));
        assert!(shift("1 fortnight", 1, 0).is_err());
        assert!(!shift("secret 1", 1, 0).unwrap_err().contains("secret"));
    }
}
