//! The `redact` strategy: find personal data inside free text and replace it, leaving the
//! rest of the text as it is.
//!
//! Options:
//!
//! - `detectors`: which built-in kinds of personal data to look for (see below), by name:
//!   `email`, `phone`, `iban`, `card`, `ip`.
//! - `patterns`: extra regular expressions (Rust `regex` syntax); every non-empty match is
//!   replaced.
//! - `replacement`: `tag` replaces each finding by its kind in brackets (`[EMAIL]`,
//!   `[PHONE]`, `[IBAN]`, `[CARD]`, `[IP]`, and `[REDACTED]` for the extra patterns);
//!   `mask` keeps the finding's length and separators but turns every letter into `x` and
//!   every digit into `0` (`+44 20 7946 0958` becomes `+00 00 0000 0000`).
//!
//! What the detectors find:
//!
//! - **email**: `local@domain.tld`, letters of any script allowed.
//! - **card**: 13 to 19 digits, contiguous or in groups separated by single spaces or
//!   dashes (every group but the last at least 4 digits), passing the Luhn check. Numbers
//!   that fail the check are left alone.
//! - **iban**: two letters, two check digits and up to 30 letters or digits, contiguous or
//!   in groups separated by single spaces, passing the ISO 13616 mod-97 check (15 to 34
//!   characters). Candidates that fail the check are left alone.
//! - **ip**: IPv4 dotted quads (each part at most 255; not part of a longer dotted
//!   number such as `1.2.3.4.5`) and IPv6 addresses in any notation that contain at least one
//!   decimal digit (`2001:db8::1`, `::1`, `::ffff:192.0.2.1`).
//! - **phone**: 7 to 15 digits, in groups separated by single spaces, dashes, dots or
//!   slashes, with optional parentheses, in one of these shapes: international with a
//!   leading `+` (`+44 20 7946 0958`, `+1 (555) 123-4567`); starting with a parenthesised
//!   area code (`(020) 7946 0958`); national with a trunk prefix `0` (`020 7946 0958`,
//!   `06-12345678`, `0171/1234567`, `0044 20 7946 0958`; but not `00…0`-padded numbers,
//!   nor dates like `01.02.2024`); North American `555-123-4567` or `1-800-555-1234`.
//!
//! Numbers only count when they stand on their own: digits glued to letters (`ID1234567`,
//! `x0612345678`) or to other digits by a dash, dot or slash (`2024-0612345678`) are part of
//! a longer token and are not phone or card numbers. Within a run of space-separated numbers,
//! any space-separated part may be a finding (`invoice 2024 0612345678`).
//!
//! When findings overlap, the one that starts first wins, the longest among those (then
//! in the order email, iban, card, ip, phone, extra patterns); overlapping findings are
//! merged into the winner so that nothing of either is left visible.
//!
//! Speed: each detector only runs when the text could contain its kind of data (an `@`
//! for emails, enough digits for numbers, dots or colons for addresses), so long texts
//! without personal data cost one pass over their bytes.

use std::net::Ipv6Addr;

use regex::Regex;

/// A built-in kind of personal data that `redact` can find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Detector {
    Email,
    Phone,
    Iban,
    Card,
    Ip,
    /// Person names (see [`super::names`]).
    Name,
}

impl Detector {
    /// Every detector, in the order of [`Detector::valid_names`].
    pub const ALL: &'static [Detector] =
        &[Detector::Email, Detector::Phone, Detector::Iban, Detector::Card, Detector::Ip, Detector::Name];

    /// Parses a detector name (ASCII case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Detector::ALL.iter().copied().find(|d| d.name().eq_ignore_ascii_case(s))
    }

    /// The name used in rules files.
    pub fn name(self) -> &'static str {
        match self {
            Detector::Email => "email",
            Detector::Phone => "phone",
            Detector::Iban => "iban",
            Detector::Card => "card",
            Detector::Ip => "ip",
            Detector::Name => "name",
        }
    }

    /// The accepted names, comma-separated, for error messages.
    pub fn valid_names() -> String {
        let names: Vec<&str> = Detector::ALL.iter().map(|d| d.name()).collect();
        names.join(", ")
    }

    /// What a finding is replaced by with `replacement = "tag"` (`[EMAIL]`, …).
    pub fn tag(self) -> &'static str {
        match self {
            Detector::Email => "[EMAIL]",
            Detector::Phone => "[PHONE]",
            Detector::Iban => "[IBAN]",
            Detector::Card => "[CARD]",
            Detector::Ip => "[IP]",
            Detector::Name => "[NAME]",
        }
    }

    /// Tie-break among findings with the same span: lower wins.
    fn priority(self) -> u8 {
        match self {
            Detector::Email => 0,
            Detector::Iban => 1,
            Detector::Card => 2,
            Detector::Ip => 3,
            Detector::Phone => 4,
            Detector::Name => 6,
        }
    }
}

/// What a finding is replaced by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replacement {
    /// `[EMAIL]`, `[PHONE]`, …, and `[REDACTED]` for extra patterns.
    Tag,
    /// Same length in characters: letters become `x`, digits `0`, everything else stays.
    Mask,
}

impl Replacement {
    /// Parses `tag` or `mask` (ASCII case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("tag") {
            Some(Replacement::Tag)
        } else if s.eq_ignore_ascii_case("mask") {
            Some(Replacement::Mask)
        } else {
            None
        }
    }

    /// The name used in rules files.
    pub fn name(self) -> &'static str {
        match self {
            Replacement::Tag => "tag",
            Replacement::Mask => "mask",
        }
    }
}

const EMAIL_RE: &str = r"[\w.%+\-]+@(?:[\w\-]+\.)+\p{L}{2,}";
const IBAN_START_RE: &str = r"(?-u:\b)[A-Za-z]{2}[0-9]{2}";
const IPV4_RE: &str = r"(?-u:\b)(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?-u:\b)";
const IPV6_RE: &str = r"[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*";

const CUSTOM_TAG: &str = "[REDACTED]";
const CUSTOM_PRIORITY: u8 = 5;

/// A compiled `redact` rule for one column: built once, used for every row from any
/// thread.
#[derive(Debug, Clone)]
pub struct Redactor {
    email: Option<Regex>,
    iban: Option<Regex>,
    ipv4: Option<Regex>,
    ipv6: Option<Regex>,
    phone: bool,
    card: bool,
    names: bool,
    custom: Vec<Regex>,
    replacement: Replacement,
}

#[derive(Debug, Clone, Copy)]
struct Hit {
    start: usize,
    end: usize,
    priority: u8,
    tag: &'static str,
}

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

/// Cheap facts about a text that decide which detectors can possibly match.
struct Stats {
    digits: usize,
    at: bool,
    dots: usize,
    colons: usize,
}

impl Stats {
    fn of(b: &[u8]) -> Stats {
        let mut s = Stats { digits: 0, at: false, dots: 0, colons: 0 };
        for &c in b {
            s.digits += usize::from(c.is_ascii_digit());
            s.at |= c == b'@';
            s.dots += usize::from(c == b'.');
            s.colons += usize::from(c == b':');
        }
        s
    }
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn compile_builtin(pattern: &str, name: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|_| format!("internal error: the built-in {name} detector does not compile"))
}

/// The reason part of a regex error, without the pattern text.
fn regex_reason(err: &regex::Error) -> String {
    match err {
        regex::Error::CompiledTooBig(limit) => {
            format!("it compiles to more than {limit} bytes")
        }
        regex::Error::Syntax(msg) => msg
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error:"))
            .map(|r| r.trim().to_string())
            .unwrap_or_else(|| "syntax error".to_string()),
        _ => "it cannot be compiled".to_string(),
    }
}

impl Redactor {
    /// Compiles a redactor. `patterns` are extra regular expressions; if any does not
    /// compile, the error names each bad pattern by its position (`#1` is the first) and the
    /// reason, never the pattern text.
    /// True when no detector is on and there is no pattern: such a redactor copies every
    /// value unchanged, so the plan refuses it.
    pub fn looks_for_nothing(&self) -> bool {
        self.email.is_none()
            && self.iban.is_none()
            && self.ipv4.is_none()
            && self.ipv6.is_none()
            && !self.phone
            && !self.card
            && !self.names
            && self.custom.is_empty()
    }

    pub fn new(detectors: &[Detector], patterns: &[String], replacement: Replacement) -> Result<Redactor, String> {
        let on = |d: Detector| detectors.contains(&d);
        let mut custom = Vec::with_capacity(patterns.len());
        let mut errors = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            match Regex::new(p) {
                Ok(re) => custom.push(re),
                Err(e) => errors.push(format!(
                    "redact pattern #{} is not a valid regular expression: {}",
                    i + 1,
                    regex_reason(&e)
                )),
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        let ip = on(Detector::Ip);
        Ok(Redactor {
            email: on(Detector::Email).then(|| compile_builtin(EMAIL_RE, "email")).transpose()?,
            iban: on(Detector::Iban).then(|| compile_builtin(IBAN_START_RE, "iban")).transpose()?,
            ipv4: ip.then(|| compile_builtin(IPV4_RE, "ip")).transpose()?,
            ipv6: ip.then(|| compile_builtin(IPV6_RE, "ip")).transpose()?,
            phone: on(Detector::Phone),
            card: on(Detector::Card),
            names: on(Detector::Name),
            custom,
            replacement,
        })
    }

    /// Appends `text` with every finding replaced to `out`. Returns the number of
    /// replacements made (overlapping findings count once).
    pub fn redact(&self, text: &str, out: &mut String) -> usize {
        let mut hits = Vec::new();
        self.find(text, &mut hits);
        if hits.is_empty() {
            out.push_str(text);
            return 0;
        }
        hits.sort_unstable_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)).then(a.priority.cmp(&b.priority)));
        out.reserve(text.len());
        let mut pos = 0;
        let mut count = 0;
        let mut k = 0;
        while k < hits.len() {
            let win = hits[k];
            let mut end = win.end;
            k += 1;
            while k < hits.len() && hits[k].start < end {
                end = end.max(hits[k].end);
                k += 1;
            }
            out.push_str(&text[pos..win.start]);
            match self.replacement {
                Replacement::Tag => out.push_str(win.tag),
                Replacement::Mask => out.extend(text[win.start..end].chars().map(|c| {
                    if c.is_numeric() {
                        '0'
                    } else if c.is_alphanumeric() {
                        'x'
                    } else {
                        c
                    }
                })),
            }
            pos = end;
            count += 1;
        }
        out.push_str(&text[pos..]);
        count
    }

    /// The byte ranges `redact` would replace in `text`, in text order, overlaps merged
    /// (used by `doppel verify` to learn which parts of a free text are personal).
    pub fn spans(&self, text: &str) -> Vec<(usize, usize)> {
        let mut hits = Vec::new();
        self.find(text, &mut hits);
        hits.sort_unstable_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
        let mut spans: Vec<(usize, usize)> = Vec::with_capacity(hits.len());
        for h in hits {
            match spans.last_mut() {
                Some(last) if h.start < last.1 => last.1 = last.1.max(h.end),
                _ => spans.push((h.start, h.end)),
            }
        }
        spans
    }

    fn find(&self, text: &str, hits: &mut Vec<Hit>) {
        let b = text.as_bytes();
        let needs_stats = self.email.is_some() || self.iban.is_some() || self.ipv4.is_some() || self.phone || self.card;
        let stats = if needs_stats { Stats::of(b) } else { Stats { digits: 0, at: false, dots: 0, colons: 0 } };
        if let Some(re) = &self.email
            && stats.at
        {
            let d = Detector::Email;
            hits.extend(re.find_iter(text).map(|m| Hit {
                start: m.start(),
                end: m.end(),
                priority: d.priority(),
                tag: d.tag(),
            }));
        }
        if let Some(re) = &self.iban
            && stats.digits >= 2
        {
            find_ibans(re, text, hits);
        }
        if (self.card && stats.digits >= 13) || (self.phone && stats.digits >= 7) {
            self.find_numbers(b, hits);
        }
        if let Some(re) = &self.ipv4
            && stats.digits >= 4
            && stats.dots >= 3
        {
            find_ipv4(re, text, hits);
        }
        if let Some(re) = &self.ipv6
            && stats.colons >= 2
        {
            find_ipv6(re, text, hits);
        }
        if self.names {
            let d = Detector::Name;
            hits.extend(super::names::find_names(text).into_iter().map(|(start, end)| Hit {
                start,
                end,
                priority: d.priority(),
                tag: d.tag(),
            }));
        }
        for re in &self.custom {
            hits.extend(re.find_iter(text).filter(|m| !m.is_empty()).map(|m| Hit {
                start: m.start(),
                end: m.end(),
                priority: CUSTOM_PRIORITY,
                tag: CUSTOM_TAG,
            }));
        }
    }

    /// Finds card and phone numbers: splits the text into runs of digit groups, then looks
    /// for the earliest-longest valid span within each run.
    fn find_numbers(&self, b: &[u8], hits: &mut Vec<Hit>) {
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
            self.spans_in_run(b, p, plus, &groups, glued_start, glued_end, hits);
            p = run_end;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn spans_in_run(
        &self,
        b: &[u8],
        run_start: usize,
        plus: bool,
        groups: &[Group],
        glued_start: bool,
        glued_end: bool,
        hits: &mut Vec<Hit>,
    ) {
        let n = groups.len();
        let mut i = 0;
        'starts: while i < n {
            let can_start = if i == 0 { !glued_start } else { groups[i].sep == b' ' };
            if can_start {
                let mut jmax = i;
                let mut total = 0;
                while jmax < n && total + groups[jmax].digits <= 19 {
                    total += groups[jmax].digits;
                    jmax += 1;
                }
                // `jmax` is now one past the last group that fits.
                for j in (i..jmax).rev() {
                    let can_end = if j + 1 == n { !glued_end } else { groups[j + 1].sep == b' ' };
                    if !can_end {
                        continue;
                    }
                    let span = &groups[i..=j];
                    let plus_here = plus && i == 0;
                    let found = if self.card && !plus_here && is_card(b, span) {
                        Some(Detector::Card)
                    } else if self.phone && is_phone(b, span, plus_here) {
                        Some(Detector::Phone)
                    } else {
                        None
                    };
                    if let Some(d) = found {
                        hits.push(Hit {
                            start: if plus_here { run_start } else { groups[i].start },
                            end: groups[j].end,
                            priority: d.priority(),
                            tag: d.tag(),
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

/// Luhn check over ASCII digits given most significant first (walked left to right, so
/// nothing needs collecting): the doubled digits are those at an odd distance from the last.
fn luhn_digits(digits: impl Iterator<Item = u8>) -> bool {
    // `sums[p]`: the sum if digits at even index parity `p` are the doubled ones.
    let mut sums = [0u32; 2];
    let mut n = 0usize;
    for c in digits {
        let d = u32::from(c - b'0');
        let doubled = if d > 4 { d * 2 - 9 } else { d * 2 };
        let parity = n % 2;
        sums[parity] += doubled;
        sums[1 - parity] += d;
        n += 1;
    }
    // The last digit (index n - 1) is not doubled, so doubled indices have parity n % 2.
    sums[n % 2].is_multiple_of(10)
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

fn find_ibans(re: &Regex, text: &str, hits: &mut Vec<Hit>) {
    let b = text.as_bytes();
    let mut at = 0;
    while let Some(m) = re.find_at(text, at) {
        let start = m.start();
        at = m.end();
        // Candidate ends: after each group of letters/digits (followed by a non-word
        // byte), within 34 characters.
        let mut ends = [0usize; 34];
        let mut n_ends = 0;
        let mut q = m.end();
        let mut count = 4;
        loop {
            while q < b.len() && b[q].is_ascii_alphanumeric() && count < 34 {
                q += 1;
                count += 1;
            }
            if q < b.len() && is_word(b[q]) {
                break; // longer than any IBAN, or glued to `_`
            }
            if count >= 15 && n_ends < ends.len() {
                ends[n_ends] = q;
                n_ends += 1;
            }
            if b.get(q) == Some(&b' ') && b.get(q + 1).is_some_and(u8::is_ascii_alphanumeric) {
                q += 1;
            } else {
                break;
            }
        }
        if let Some(&end) = ends[..n_ends].iter().rev().find(|&&end| iban_valid(&text[start..end])) {
            let d = Detector::Iban;
            hits.push(Hit { start, end, priority: d.priority(), tag: d.tag() });
            at = end;
        }
    }
}

fn find_ipv4(re: &Regex, text: &str, hits: &mut Vec<Hit>) {
    let b = text.as_bytes();
    for m in re.find_iter(text) {
        let (s, e) = (m.start(), m.end());
        let octets_ok =
            m.as_str().split('.').all(|o| o.bytes().fold(0u32, |acc, c| acc * 10 + u32::from(c - b'0')) <= 255);
        let dotted_before = s >= 2 && b[s - 1] == b'.' && b[s - 2].is_ascii_digit();
        let dotted_after = b.get(e) == Some(&b'.') && b.get(e + 1).is_some_and(u8::is_ascii_digit);
        if octets_ok && !dotted_before && !dotted_after {
            let d = Detector::Ip;
            hits.push(Hit { start: s, end: e, priority: d.priority(), tag: d.tag() });
        }
    }
}

fn find_ipv6(re: &Regex, text: &str, hits: &mut Vec<Hit>) {
    let b = text.as_bytes();
    for m in re.find_iter(text) {
        let (mut s, mut e) = (m.start(), m.end());
        while e > s && b[e - 1] == b'.' {
            e -= 1;
        }
        if b.get(s) == Some(&b':') && b.get(s + 1) != Some(&b':') {
            s += 1;
        }
        if (s > 0 && is_word(b[s - 1])) || (e < b.len() && is_word(b[e])) {
            continue;
        }
        if !b[s..e].iter().any(u8::is_ascii_digit) {
            continue;
        }
        let parses = |e: usize| text[s..e].parse::<Ipv6Addr>().is_ok();
        let end = if parses(e) {
            e
        } else if e > s + 1 && b[e - 1] == b':' && parses(e - 1) {
            e - 1
        } else {
            continue;
        };
        let d = Detector::Ip;
        hits.push(Hit { start: s, end, priority: d.priority(), tag: d.tag() });
    }
}

/// Luhn check over the digits of `digits`, ignoring spaces and dashes. Any other character,
/// or fewer than two digits, gives `false`. Length rules (13 to 19 for cards) are the
/// caller's.
pub fn luhn_valid(digits: &str) -> bool {
    let mut n = 0usize;
    for c in digits.bytes() {
        match c {
            b'0'..=b'9' => n += 1,
            b' ' | b'-' => {}
            _ => return false,
        }
    }
    n >= 2 && luhn_digits(digits.bytes().filter(u8::is_ascii_digit))
}

/// ISO 13616 IBAN check, ignoring spaces: 15 to 34 letters or digits (any case), starting
/// with two letters and two check digits in `02..=98`, and the mod-97 remainder of the
/// rearranged number equal to 1. The country's own length is not checked.
pub fn iban_valid(s: &str) -> bool {
    let chars = || s.bytes().filter(|&c| c != b' ');
    let len = chars().count();
    if !(15..=34).contains(&len) || !chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    let mut head = chars();
    let (c0, c1, k0, k1) = match (head.next(), head.next(), head.next(), head.next()) {
        (Some(a), Some(b), Some(c), Some(d)) => (a, b, c, d),
        _ => return false,
    };
    if !(c0.is_ascii_alphabetic() && c1.is_ascii_alphabetic() && k0.is_ascii_digit() && k1.is_ascii_digit()) {
        return false;
    }
    let check = (k0 - b'0') * 10 + (k1 - b'0');
    if !(2..=98).contains(&check) {
        return false;
    }
    let rem = chars().skip(4).chain(chars().take(4)).fold(0u32, |r, c| {
        if c.is_ascii_digit() {
            (r * 10 + u32::from(c - b'0')) % 97
        } else {
            (r * 100 + u32::from(c.to_ascii_uppercase() - b'A') + 10) % 97
        }
    });
    rem == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn red(detectors: &[Detector], text: &str) -> (String, usize) {
        let r = Redactor::new(detectors, &[], Replacement::Tag).unwrap();
        let mut out = String::new();
        let n = r.redact(text, &mut out);
        (out, n)
    }

    fn all(text: &str) -> String {
        red(Detector::ALL, text).0
    }

    #[test]
    fn detector_names_round_trip() {
        for &d in Detector::ALL {
            assert_eq!(Detector::parse(d.name()), Some(d));
            assert_eq!(Detector::parse(&d.name().to_uppercase()), Some(d));
        }
        assert_eq!(Detector::parse("ssn"), None);
        assert_eq!(Detector::valid_names(), "email, phone, iban, card, ip, name");
        assert_eq!(Replacement::parse("MASK"), Some(Replacement::Mask));
        assert_eq!(Replacement::parse("x"), None);
    }

    #[test]
    fn luhn() {
        assert!(luhn_valid("4111111111111111"));
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(luhn_valid("4111-1111-1111-1111"));
        assert!(luhn_valid("378282246310005"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid("79927398710"));
        assert!(!luhn_valid("4111.1111.1111.1111"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("0"));
        assert!(!luhn_valid("ab"));
        // Matches a straightforward right-to-left implementation on many inputs.
        let reference = |s: &str| {
            let sum: u32 = s
                .bytes()
                .rev()
                .enumerate()
                .map(|(i, c)| {
                    let d = u32::from(c - b'0');
                    if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
                })
                .sum();
            sum.is_multiple_of(10)
        };
        let mut x = 12345u64;
        for len in 2..25 {
            for _ in 0..200 {
                let s: String = (0..len)
                    .map(|_| {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                        char::from(b'0' + ((x >> 33) % 10) as u8)
                    })
                    .collect();
                assert_eq!(luhn_valid(&s), reference(&s), "{s}");
            }
        }
    }

    #[test]
    fn iban() {
        assert!(iban_valid("GB82WEST12345698765432"));
        assert!(iban_valid("GB82 WEST 1234 5698 7654 32"));
        assert!(iban_valid("gb82 west 1234 5698 7654 32"));
        assert!(iban_valid("DE89370400440532013000"));
        assert!(iban_valid("NO9386011117947"));
        assert!(iban_valid("MT84MALT011000012345MTLCAST001S"));
        assert!(!iban_valid("GB83WEST12345698765432"));
        assert!(!iban_valid("GB82WEST1234569876543"));
        assert!(!iban_valid("GB82-WEST-1234-5698-7654-32"));
        assert!(!iban_valid("1282WEST12345698765432"));
        assert!(!iban_valid(""));
        assert!(!iban_valid("GB82WEST12345698765432GB82WEST12345698765432"));
    }

    #[test]
    fn emails() {
        assert_eq!(all("Contact alice.smith+tag@mail.example.co.uk now."), "Contact [EMAIL] now.");
        assert_eq!(all("<jürgen@bücher.de>"), "<[EMAIL]>");
        assert_eq!(all("a @ b, user@localhost, x@y.z"), "a @ b, user@localhost, x@y.z");
        let (out, n) = red(&[Detector::Email], "a@b.com and c@d.org");
        assert_eq!((out.as_str(), n), ("[EMAIL] and [EMAIL]", 2));
    }

    #[test]
    fn cards() {
        assert_eq!(all("card 4111 1111 1111 1111 exp"), "card [CARD] exp");
        assert_eq!(all("card 4111-1111-1111-1111."), "card [CARD].");
        assert_eq!(all("amex 3782 822463 10005"), "amex [CARD]");
        assert_eq!(all("pan=4111111111111111;"), "pan=[CARD];");
        // Fails Luhn: left alone.
        assert_eq!(all("card 4111 1111 1111 1112"), "card 4111 1111 1111 1112");
        // Trailing number after a space is not swallowed, nor does it hide the card.
        assert_eq!(all("4111 1111 1111 1111 2 items"), "[CARD] 2 items");
        // Inside a longer token: left alone.
        assert_eq!(all("order ORD4111111111111111"), "order ORD4111111111111111");
        assert_eq!(all("x 41111111111111110000"), "x 41111111111111110000");
        // Small groups are not a card even if the digits pass Luhn.
        assert_eq!(all("1 2 3 4 5 6 7 8 9 1 2 3 0"), "1 2 3 4 5 6 7 8 9 1 2 3 0");
    }

    #[test]
    fn phones() {
        assert_eq!(all("call 91 943 95 58 today"), "call [PHONE] today");
        assert_eq!(all("móvil 612 34 56 78."), "móvil [PHONE].");
        assert_eq!(all("refund of 34.17 EUR on 2024-01-15"), "refund of 34.17 EUR on 2024-01-15");
        let cases = [
            ("call +44 20 7946 0958 today", "call [PHONE] today"),
            ("call +1 (555) 123-4567.", "call [PHONE]."),
            ("tel: (020) 7946 0958", "tel: [PHONE]"),
            ("tel 020 7946 0958", "tel [PHONE]"),
            ("mobile 06-12345678", "mobile [PHONE]"),
            ("mobile 0612345678", "mobile [PHONE]"),
            ("06 12 34 56 78", "[PHONE]"),
            ("0171/1234567", "[PHONE]"),
            ("0044 20 7946 0958", "[PHONE]"),
            ("555-123-4567", "[PHONE]"),
            ("1-800-555-1234", "[PHONE]"),
            ("+442079460958", "[PHONE]"),
            ("invoice 2024 0612345678", "invoice 2024 [PHONE]"),
        ];
        for (input, want) in cases {
            assert_eq!(red(&[Detector::Phone], input).0, want, "{input}");
        }
        let untouched = [
            "order 12345678",
            "ref 0000123456",
            "born 01.02.2024",
            "pi 3.14159265",
            "x 0.123456789",
            "id ID0612345678",
            "ORD-2024-0612345678",
            "call 555-1234",
            "+44 20",
            "qty 1234567890123456",
            "0612345678abc",
        ];
        for input in untouched {
            assert_eq!(red(&[Detector::Phone], input).0, input, "{input}");
        }
    }

    #[test]
    fn ibans_in_text() {
        assert_eq!(all("pay to GB82 WEST 1234 5698 7654 32 please"), "pay to [IBAN] please");
        assert_eq!(all("IBAN: DE89370400440532013000, BIC X"), "IBAN: [IBAN], BIC X");
        assert_eq!(all("GB82WEST12345698765432 AB CD"), "[IBAN] AB CD");
        assert_eq!(all("bad GB83 WEST 1234 5698 7654 32"), "bad GB83 WEST 1234 5698 7654 32");
        assert_eq!(all("XGB82WEST12345698765432"), "XGB82WEST12345698765432");
    }

    #[test]
    fn ips() {
        let cases = [
            ("from 192.168.1.10, ok", "from [IP], ok"),
            ("host 10.0.0.1:8080", "host [IP]:8080"),
            ("at 10.0.0.1.", "at [IP]."),
            ("v6 2001:db8::ff00:42:8329 end", "v6 [IP] end"),
            ("lo ::1", "lo [IP]"),
            ("[2001:db8::1]:443", "[[IP]]:443"),
            ("mapped ::ffff:192.0.2.1.", "mapped [IP]."),
            ("ip:fe80::1", "ip:[IP]"),
            ("full 2001:0db8:85a3:0000:0000:8a2e:0370:7334", "full [IP]"),
        ];
        for (input, want) in cases {
            assert_eq!(red(&[Detector::Ip], input).0, want, "{input}");
        }
        let untouched = [
            "version 1.2.3.4.5",
            "oid 5.1.2.3.4",
            "bad 256.1.1.1",
            "at 12:30:45",
            "std::vector a::b",
            "mac 00:1a:2b:3c:4d:5e",
            "v1.2.3.4",
        ];
        for input in untouched {
            assert_eq!(red(&[Detector::Ip], input).0, input, "{input}");
        }
    }

    #[test]
    fn disabled_detectors_do_nothing() {
        let text = "a@b.com 4111 1111 1111 1111 +44 20 7946 0958 10.0.0.1";
        assert_eq!(red(&[], text), (text.to_string(), 0));
        assert_eq!(red(&[Detector::Card], text).0, "a@b.com [CARD] +44 20 7946 0958 10.0.0.1");
    }

    #[test]
    fn custom_patterns_and_errors() {
        let r = Redactor::new(&[], &[r"EMP-\d{5}".to_string(), "x*".to_string()], Replacement::Tag).unwrap();
        let mut out = String::new();
        assert_eq!(r.redact("staff EMP-12345 and EMP-99999", &mut out), 2);
        assert_eq!(out, "staff [REDACTED] and [REDACTED]");
        let secret = "(?P<alice_secret>unclosed".to_string();
        let err = Redactor::new(&[], &["ok".into(), secret.clone(), "[z-a]".into()], Replacement::Tag).unwrap_err();
        assert!(err.contains("#2") && err.contains("#3"), "{err}");
        assert!(!err.contains("#1"), "{err}");
        assert!(!err.contains("alice_secret") && !err.contains("z-a"), "{err}");
    }

    #[test]
    fn overlaps_merge_into_earliest_longest() {
        let r =
            Redactor::new(Detector::ALL, &[r"call \+44".to_string(), r"\d{4} 32 please".to_string()], Replacement::Tag)
                .unwrap();
        let mut out = String::new();
        let n = r.redact("call +44 20 7946 0958 x", &mut out);
        // The custom match starts first and wins the label; the phone's tail is merged.
        assert_eq!((out.as_str(), n), ("[REDACTED] x", 1));
        out.clear();
        let n = r.redact("GB82 WEST 1234 5698 7654 32 please!", &mut out);
        assert_eq!((out.as_str(), n), ("[IBAN]!", 1));
        // An email containing a phone-like number is one email.
        assert_eq!(all("mail 0612345678@example.com"), "mail [EMAIL]");
    }

    #[test]
    fn mask_replacement_keeps_shape() {
        let r = Redactor::new(Detector::ALL, &[], Replacement::Mask).unwrap();
        let mut out = String::new();
        let input = "Zoë <zoë.x@exämple.com>, +44 20 7946 0958, 4111-1111-1111-1111";
        let n = r.redact(input, &mut out);
        assert_eq!(n, 3);
        assert_eq!(out, "Zoë <xxx.x@xxxxxxx.xxx>, +00 00 0000 0000, 0000-0000-0000-0000");
        assert_eq!(out.chars().count(), input.chars().count());
    }

    #[test]
    fn plain_text_is_copied_and_counts_zero() {
        let r = Redactor::new(Detector::ALL, &[], Replacement::Tag).unwrap();
        let text = "Nothing to see here: 12 apples, 3.5 kg, at 10:30. Ünïcödé ✓ (1) + (2)";
        let mut out = String::from("prefix|");
        assert_eq!(r.redact(text, &mut out), 0);
        assert_eq!(out, format!("prefix|{text}"));
    }

    #[test]
    fn never_panics_on_awkward_text() {
        let r = Redactor::new(Detector::ALL, &[r"\d".to_string()], Replacement::Mask).unwrap();
        let mut x = 7u64;
        let alphabet: Vec<char> = "0123456789 +-./()@:_aZé東\u{200b}GBDE".chars().collect();
        for len in 0..200 {
            let s: String = (0..len)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    alphabet[((x >> 33) as usize) % alphabet.len()]
                })
                .collect();
            let mut out = String::new();
            r.redact(&s, &mut out);
            assert_eq!(out.chars().count(), s.chars().count());
            let t = Redactor::new(Detector::ALL, &[], Replacement::Tag).unwrap();
            let mut out2 = String::new();
            t.redact(&s, &mut out2);
        }
        let long_run = "1 ".repeat(10_000);
        let mut out = String::new();
        r.redact(&long_run, &mut out);
        assert_eq!(out, "0 ".repeat(10_000));
    }

    #[test]
    fn redactor_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Redactor>();
    }
}
