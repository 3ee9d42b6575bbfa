//! Card and phone numbers in free text: the text is split into runs of digit groups, and
//! each run is searched for the earliest, longest span that is a card (Luhn-valid) or a
//! phone number of a known shape. See [`super`] for what matches and what does not.

use super::checksum::luhn_digits;
use super::{Detector, Finding, is_word};

/// One group of digits in a run of numbers.
#[derive(Debug, Clone, Copy)]
struct Group {
    /// Byte offset of the group, including an opening parenthesis.
    start: usize,
    /// Byte offset of the first digit.
    digits_at: usize,
    /// Byte offset after the group, including a closing parenthesis.
    end: usize,
    digits: usize,
    /// The separator before this group: 0 at the start of a run or next to a parenthesis.
    sep: u8,
    paren: bool,
}

/// Finds card (when `card`) and phone (when `phone`) numbers in `b`.
pub(super) fn find_numbers(b: &[u8], card: bool, phone: bool, hits: &mut Vec<Finding>) {
    let mut groups: Vec<Group> = Vec::new();
    let mut p = 0;
    while p < b.len() {
        if !run_starts(b, p) {
            p += 1;
            continue;
        }
        let plus = b[p] == b'+';
        let glued_start = p > 0 && is_word(b[p - 1]);
        parse_run(b, if plus { p + 1 } else { p }, &mut groups);
        let Some(last) = groups.last() else {
            p += 1;
            continue;
        };
        let run_end = last.end;
        let glued_end = run_end < b.len() && is_word(b[run_end]);
        let run = Run { b, start: p, plus, groups: &groups, glued_start, glued_end };
        run.spans(card, phone, hits);
        p = run_end;
    }
}

/// A run of digit groups and what surrounds it.
struct Run<'a> {
    b: &'a [u8],
    start: usize,
    plus: bool,
    groups: &'a [Group],
    glued_start: bool,
    glued_end: bool,
}

impl Run<'_> {
    fn spans(&self, card: bool, phone: bool, hits: &mut Vec<Finding>) {
        let (b, groups) = (self.b, self.groups);
        let n = groups.len();
        let mut i = 0;
        'starts: while i < n {
            let can_start = if i == 0 { !self.glued_start } else { groups[i].sep == b' ' };
            if can_start {
                let mut jmax = i;
                let mut total = 0;
                while jmax < n && total + groups[jmax].digits <= 19 {
                    total += groups[jmax].digits;
                    jmax += 1;
                }
                // `jmax` is now one past the last group that fits.
                for j in (i..jmax).rev() {
                    let can_end = if j + 1 == n { !self.glued_end } else { groups[j + 1].sep == b' ' };
                    if !can_end {
                        continue;
                    }
                    let span = &groups[i..=j];
                    let plus_here = self.plus && i == 0;
                    let found = if card && !plus_here && is_card(b, span) {
                        Some(Detector::Card)
                    } else if phone && is_phone(b, span, plus_here) {
                        Some(Detector::Phone)
                    } else {
                        None
                    };
                    if let Some(detector) = found {
                        hits.push(Finding {
                            start: if plus_here { self.start } else { groups[i].start },
                            end: groups[j].end,
                            detector,
                        });
                        i = j + 1;
                        continue 'starts;
                    }
                }
            }
            i += 1;
        }
    }
}

/// Whether a group of digits starts at `i`: a digit, or `(` followed by a digit.
fn group_starts(b: &[u8], i: usize) -> bool {
    match b.get(i) {
        Some(c) if c.is_ascii_digit() => true,
        Some(b'(') => b.get(i + 1).is_some_and(u8::is_ascii_digit),
        _ => false,
    }
}

/// Whether a run of numbers starts at `p`: a group, or `+` followed by a group.
fn run_starts(b: &[u8], p: usize) -> bool {
    group_starts(b, p) || (b[p] == b'+' && group_starts(b, p + 1))
}

/// Parses the digit groups of a run starting at `q` (after any `+`) into `groups`.
fn parse_run(b: &[u8], mut q: usize, groups: &mut Vec<Group>) {
    groups.clear();
    let mut sep = 0u8;
    while group_starts(b, q) {
        let paren = b[q] == b'(';
        let digits_at = if paren { q + 1 } else { q };
        let mut r = digits_at;
        while r < b.len() && b[r].is_ascii_digit() {
            r += 1;
        }
        if paren {
            if b.get(r) != Some(&b')') {
                // An unclosed parenthesis ends the run before it.
                break;
            }
            r += 1;
        }
        groups.push(Group { start: q, digits_at, end: r, digits: r - digits_at - usize::from(paren), sep, paren });
        q = r;
        match b.get(q) {
            Some(&c @ (b' ' | b'-' | b'.' | b'/')) if group_starts(b, q + 1) => {
                sep = c;
                q += 1;
            }
            Some(b'(') => sep = 0,
            Some(c) if paren && c.is_ascii_digit() => sep = 0,
            _ => break,
        }
    }
}

/// The digits of a span, most significant first.
fn span_digits<'a>(b: &'a [u8], span: &'a [Group]) -> impl Iterator<Item = u8> + 'a {
    span.iter().flat_map(move |g| b[g.digits_at..g.digits_at + g.digits].iter().copied())
}

fn span_total(span: &[Group]) -> usize {
    span.iter().map(|g| g.digits).sum()
}

fn is_card(b: &[u8], span: &[Group]) -> bool {
    let total = span_total(span);
    if !(13..=19).contains(&total) {
        return false;
    }
    let (last, rest) = match span.split_last() {
        Some(x) => x,
        None => return false,
    };
    let shape_ok = !span.iter().any(|g| g.paren)
        && span[1..].iter().all(|g| matches!(g.sep, b' ' | b'-'))
        && rest.iter().all(|g| g.digits >= 4)
        && !last.paren;
    shape_ok && luhn_digits(span_digits(b, span))
}

fn is_phone(b: &[u8], span: &[Group], plus: bool) -> bool {
    let total = span_total(span);
    if !(7..=15).contains(&total) {
        return false;
    }
    if plus {
        return true;
    }
    let first = span[0];
    if first.paren {
        return (2..=5).contains(&first.digits) && span.len() > 1;
    }
    let d = &b[first.digits_at..first.digits_at + first.digits];
    if d[0] == b'0' && first.digits >= 2 {
        let trunk_ok = d[1] != b'0' || (first.digits >= 3 && d[2] != b'0');
        return trunk_ok && !date_like(span);
    }
    let nanp_seps = span[1..].iter().all(|g| matches!(g.sep, b' ' | b'-' | b'.'));
    // National numbers written in groups without a trunk prefix (Spain `91 943 95 58`,
    // `612 34 56 78`; Italy `347 123 4567`): 9 to 12 digits in 3 to 5 groups of 2 to 4,
    // joined by one kind of separator, an area code of 2 or 3 digits first, at least one group of exactly 2 (so runs of 4-digit
    // groups stay cards or IBAN parts), and not a date.
    let same_sep = span[1..].iter().all(|g| g.sep == span[1].sep && matches!(g.sep, b' ' | b'-' | b'.'));
    if (3..=5).contains(&span.len())
        && (9..=12).contains(&total)
        && same_sep
        && span.iter().all(|g| (2..=4).contains(&g.digits) && !g.paren)
        && span.iter().any(|g| g.digits == 2)
        && span[0].digits <= 3
        && !date_like(span)
    {
        return true;
    }
    let digits = |k: usize| span.get(k).map(|g| (g.digits, g.paren));
    match span.len() {
        3 => {
            nanp_seps
                && (b'2'..=b'9').contains(&d[0])
                && digits(0) == Some((3, false))
                && digits(1) == Some((3, false))
                && digits(2) == Some((4, false))
        }
        4 => {
            nanp_seps
                && d[0] == b'1'
                && digits(0) == Some((1, false))
                && digits(1) == Some((3, false))
                && digits(2) == Some((3, false))
                && digits(3) == Some((4, false))
        }
        _ => false,
    }
}

/// `dd.mm.yyyy`, `dd/mm/yy`, `yyyy-mm-dd` and the like.
fn date_like(span: &[Group]) -> bool {
    let [a, m, c] = span else {
        return false;
    };
    if m.sep != c.sep || a.paren || m.paren || c.paren {
        return false;
    }
    (a.digits <= 2 && m.digits <= 2 && (c.digits == 4 || c.digits == 2))
        || (a.digits == 4 && m.digits <= 2 && c.digits <= 2)
}
