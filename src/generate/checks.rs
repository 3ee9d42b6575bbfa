//! CHECK constraints that generation can respect: simple ranges and enumerations of one
//! column, as `pg_get_constraintdef` prints them.
//!
//! ```text
//! CHECK ((quantity > 0))                                   range, exclusive lower bound
//! CHECK (((rating >= 1) AND (rating <= 5)))                range, both bounds
//! CHECK ((plan = ANY (ARRAY['free'::text, 'pro'::text])))  enumeration
//! CHECK (((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[])))
//! ```
//!
//! A generated value outside a range is folded into it (`lo + v mod (hi − lo + 1)` for
//! integers, likewise for other numbers); a value outside an enumeration is replaced by one of
//! its values picked by the row's slot. Kept columns need none of this (their values come from
//! the source's own statistics). Any other CHECK on a column generated otherwise is reported
//! (a warning naming it) and may fail when the target validates it.

use std::sync::OnceLock;

use regex::Regex;

use super::values::Cell;

/// A CHECK on one column that generation respects.
#[derive(Debug, Clone, PartialEq)]
pub enum SimpleCheck {
    /// Inclusive bounds (an exclusive integer bound is moved by one; others by a tiny step).
    Range { lo: Option<f64>, hi: Option<f64> },
    /// The column's text must be one of these.
    OneOf(Vec<String>),
}

/// One column's part of a CHECK definition: `(column, check)` for each conjunct understood,
/// or `None` when any part is not a simple range or enumeration of one column.
pub fn parse(definition: &str) -> Option<Vec<(String, SimpleCheck)>> {
    static COMPARE: OnceLock<Regex> = OnceLock::new();
    static ANY: OnceLock<Regex> = OnceLock::new();
    static ITEM: OnceLock<Regex> = OnceLock::new();
    let compare = COMPARE.get_or_init(|| {
        Regex::new(r#"^\(*"?([A-Za-z_][A-Za-z0-9_$]*)"?\)*(?:::[a-z ]+)?\s*(>=|<=|>|<)\s*\(*'?(-?[0-9]+(?:\.[0-9]+)?)'?(?:::[a-z ]+)?\)*$"#)
            .expect("regex")
    });
    let any = ANY.get_or_init(|| {
        Regex::new(r#"^\(*"?([A-Za-z_][A-Za-z0-9_$]*)"?\)*(?:::[a-z ]+)?\s*=\s*ANY\s*\(+ARRAY\[(.*?)\]\)*(?:::[a-z ]+\[\])?\)*$"#)
            .expect("regex")
    });
    let item = ITEM.get_or_init(|| Regex::new(r"^'((?:[^']|'')*)'(?:::[a-z ]+)?$").expect("regex"));

    let body = definition.trim().strip_prefix("CHECK ")?.trim();
    let body = strip_outer(body);
    let mut out: Vec<(String, SimpleCheck)> = Vec::new();
    for part in split_and(body) {
        let part = strip_outer(part.trim());
        if let Some(c) = compare.captures(part) {
            let v: f64 = c[3].parse().ok()?;
            let integral = !c[3].contains('.');
            let step = if integral { 1.0 } else { 1e-9 };
            let check = match &c[2] {
                ">=" => SimpleCheck::Range { lo: Some(v), hi: None },
                ">" => SimpleCheck::Range { lo: Some(v + step), hi: None },
                "<=" => SimpleCheck::Range { lo: None, hi: Some(v) },
                _ => SimpleCheck::Range { lo: None, hi: Some(v - step) },
            };
            merge(&mut out, c[1].to_string(), check);
        } else if let Some(c) = any.captures(part) {
            let values: Option<Vec<String>> =
                c[2].split(", ").map(|i| item.captures(i.trim()).map(|m| m[1].replace("''", "'"))).collect();
            merge(&mut out, c[1].to_string(), SimpleCheck::OneOf(values?));
        } else {
            return None;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Two bounds of one column make one range.
fn merge(out: &mut Vec<(String, SimpleCheck)>, column: String, check: SimpleCheck) {
    if let Some((_, SimpleCheck::Range { lo, hi })) = out.iter_mut().find(|(c, _)| *c == column)
        && let SimpleCheck::Range { lo: l2, hi: h2 } = &check
    {
        *lo = lo.or(*l2);
        *hi = hi.or(*h2);
        return;
    }
    out.push((column, check));
}

/// `(x)` → `x` while the parentheses enclose the whole text.
fn strip_outer(mut s: &str) -> &str {
    while s.starts_with('(') && s.ends_with(')') && closes_at_end(s) {
        s = s[1..s.len() - 1].trim();
    }
    s
}

fn closes_at_end(s: &str) -> bool {
    let mut depth = 0i32;
    for (i, ch) in s.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 && i != s.len() - 1 {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

/// Splits on ` AND ` outside parentheses and quotes.
fn split_and(s: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut quoted, mut start) = (Vec::new(), 0i32, false, 0);
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            b' ' if !quoted && depth == 0 && s[i..].starts_with(" AND ") => {
                parts.push(&s[start..i]);
                i += 5;
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&s[start..]);
    parts
}

impl SimpleCheck {
    /// `cell` made to satisfy the check; `slot` picks an enumeration's value.
    pub fn apply(&self, cell: Cell, slot: u64) -> Cell {
        match (self, cell) {
            (_, Cell::Null) => Cell::Null,
            (SimpleCheck::OneOf(values), cell) if !values.is_empty() => {
                let text = super::values::text_of(&cell);
                if values.contains(&text) {
                    cell
                } else {
                    Cell::Text(values[(slot % values.len() as u64) as usize].clone())
                }
            }
            (SimpleCheck::Range { lo, hi }, Cell::Int(v)) => {
                let (lo, hi) = (lo.map(|x| x.ceil() as i64), hi.map(|x| x.floor() as i64));
                Cell::Int(fold_int(v, lo, hi))
            }
            (SimpleCheck::Range { lo, hi }, Cell::Float(v)) => Cell::Float(fold_float(v, *lo, *hi)),
            (SimpleCheck::Range { lo, hi }, Cell::Text(t)) => match t.parse::<f64>() {
                Ok(v) if lo.is_some_and(|l| v < l) || hi.is_some_and(|h| v > h) => {
                    let decimals = t.split_once('.').map_or(0, |(_, f)| f.len());
                    Cell::Text(format!("{:.*}", decimals, fold_float(v, *lo, *hi)))
                }
                _ => Cell::Text(t),
            },
            (_, cell) => cell,
        }
    }
}

fn fold_int(v: i64, lo: Option<i64>, hi: Option<i64>) -> i64 {
    match (lo, hi) {
        (Some(l), Some(h)) if h >= l => {
            if (l..=h).contains(&v) {
                v
            } else {
                l + (v as i128).rem_euclid((h - l) as i128 + 1) as i64
            }
        }
        (Some(l), None) if v < l => l.saturating_add((l - v).min(1_000_000)),
        (None, Some(h)) if v > h => h.saturating_sub((v - h).min(1_000_000)),
        _ => v,
    }
}

fn fold_float(v: f64, lo: Option<f64>, hi: Option<f64>) -> f64 {
    match (lo, hi) {
        (Some(l), Some(h)) if h >= l => {
            if (l..=h).contains(&v) {
                v
            } else {
                l + v.abs() % (h - l).max(f64::MIN_POSITIVE)
            }
        }
        (Some(l), None) if v < l => l + (l - v),
        (None, Some(h)) if v > h => h - (v - h),
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_ranges_and_enumerations_parse() {
        assert_eq!(
            parse("CHECK ((quantity > 0))"),
            Some(vec![("quantity".into(), SimpleCheck::Range { lo: Some(1.0), hi: None })])
        );
        assert_eq!(
            parse("CHECK (((rating >= 1) AND (rating <= 5)))"),
            Some(vec![("rating".into(), SimpleCheck::Range { lo: Some(1.0), hi: Some(5.0) })])
        );
        assert_eq!(
            parse("CHECK ((plan = ANY (ARRAY['free'::text, 'pro'::text])))"),
            Some(vec![("plan".into(), SimpleCheck::OneOf(vec!["free".into(), "pro".into()]))])
        );
        assert_eq!(
            parse(
                "CHECK (((status)::text = ANY ((ARRAY['a'::character varying, 'it''s'::character varying])::text[])))"
            ),
            Some(vec![("status".into(), SimpleCheck::OneOf(vec!["a".into(), "it's".into()]))])
        );
        assert_eq!(parse("CHECK ((lower(email) = email))"), None);
        assert_eq!(parse("CHECK (((a > 0) OR (b > 0)))"), None);
        assert_eq!(parse("CHECK ((ends > starts))"), None);
    }

    #[test]
    fn values_are_folded_into_the_check() {
        let r = SimpleCheck::Range { lo: Some(1.0), hi: Some(9.0) };
        assert_eq!(r.apply(Cell::Int(5), 0), Cell::Int(5));
        assert!(matches!(r.apply(Cell::Int(123_456), 0), Cell::Int(v) if (1..=9).contains(&v)));
        assert!(matches!(r.apply(Cell::Text("-3.50".into()), 0), Cell::Text(t) if t.parse::<f64>().unwrap() >= 1.0));
        let e = SimpleCheck::OneOf(vec!["free".into(), "pro".into()]);
        assert_eq!(e.apply(Cell::Text("Xyz".into()), 3), Cell::Text("pro".into()));
        assert_eq!(e.apply(Cell::Null, 3), Cell::Null);
    }
}
