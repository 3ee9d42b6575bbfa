//! Personal-data detectors: where in a free text an email address, a phone number, an IBAN,
//! a payment card number, an IP address or a person's name is. Used by the `redact`
//! strategy (to replace them), `doppel scan` (to count them in sampled values), `doppel
//! verify` (to learn which parts of a text are personal), and the `fake` generators (whose
//! card numbers and IBANs carry the same check digits, see [`checksum`]).
//!
//! What each detector finds:
//!
//! - **email**: `local@domain.tld`, letters of any script allowed. Not `user@localhost`
//!   (no dot in the domain), nor a one-letter top-level domain (`x@y.z`).
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
//!   nor dates like `01.02.2024`); national numbers in groups of 2 to 4 digits without a
//!   trunk prefix (`91 943 95 58`, `612 34 56 78`); North American `555-123-4567` or
//!   `1-800-555-1234`.
//! - **name**: person names, by a known first name followed by capitalised words, or
//!   capitalised words after a cue (`my name is`, `Mr`, …); see [`names`].
//!
//! Numbers only count when they stand on their own: digits glued to letters (`ID1234567`,
//! `x0612345678`) or to other digits by a dash, dot or slash (`2024-0612345678`) are part of
//! a longer token and are not phone or card numbers. Within a run of space-separated numbers,
//! any space-separated part may be a finding (`invoice 2024 0612345678`).
//!
//! Findings may overlap (a card number is also digits of a phone shape); the detectors
//! report them all and the caller decides ([`Detectors::spans`] merges them).
//!
//! Speed: each detector only runs when the text could contain its kind of data (an `@`
//! for emails, enough digits for numbers, dots or colons for addresses), so long texts
//! without personal data cost one pass over their bytes.
//!
//! Module map: `numbers` (cards and phones), `addresses` (IBANs and IP addresses),
//! [`names`] (person names, accent folding), [`checksum`] (Luhn and mod-97, written once).

mod addresses;
pub mod checksum;
pub mod names;
mod numbers;

use regex::Regex;

pub use checksum::{iban_valid, luhn_valid};

/// A built-in kind of personal data that can be found in free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Detector {
    Email,
    Phone,
    Iban,
    Card,
    Ip,
    /// Person names (see [`names`]).
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

    /// The kind in brackets (`[EMAIL]`, …): what `redact` puts in place of a finding with
    /// `replacement = "tag"`.
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
}

/// One finding: the byte range `start..end` of the text, and what was found there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    pub start: usize,
    pub end: usize,
    pub detector: Detector,
}

/// A built-in detector's pattern did not compile (a bug, never the user's input).
#[derive(Debug, Clone, thiserror::Error)]
#[error("internal error: the built-in {0} detector does not compile")]
pub struct BuiltinError(&'static str);

const EMAIL_RE: &str = r"[\w.%+\-]+@(?:[\w\-]+\.)+\p{L}{2,}";
const IBAN_START_RE: &str = r"(?-u:\b)[A-Za-z]{2}[0-9]{2}";
const IPV4_RE: &str = r"(?-u:\b)(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?-u:\b)";
const IPV6_RE: &str = r"[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*";

/// A compiled set of detectors: built once, used for every value from any thread.
#[derive(Debug, Clone)]
pub struct Detectors {
    email: Option<Regex>,
    iban: Option<Regex>,
    ipv4: Option<Regex>,
    ipv6: Option<Regex>,
    phone: bool,
    card: bool,
    names: bool,
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

fn compile_builtin(pattern: &str, name: &'static str) -> Result<Regex, BuiltinError> {
    Regex::new(pattern).map_err(|_| BuiltinError(name))
}

impl Detectors {
    /// Compiles the given detectors (the others stay off).
    pub fn new(detectors: &[Detector]) -> Result<Detectors, BuiltinError> {
        let on = |d: Detector| detectors.contains(&d);
        let ip = on(Detector::Ip);
        Ok(Detectors {
            email: on(Detector::Email).then(|| compile_builtin(EMAIL_RE, "email")).transpose()?,
            iban: on(Detector::Iban).then(|| compile_builtin(IBAN_START_RE, "iban")).transpose()?,
            ipv4: ip.then(|| compile_builtin(IPV4_RE, "ip")).transpose()?,
            ipv6: ip.then(|| compile_builtin(IPV6_RE, "ip")).transpose()?,
            phone: on(Detector::Phone),
            card: on(Detector::Card),
            names: on(Detector::Name),
        })
    }

    /// True when every detector is off.
    pub fn is_empty(&self) -> bool {
        self.email.is_none()
            && self.iban.is_none()
            && self.ipv4.is_none()
            && self.ipv6.is_none()
            && !self.phone
            && !self.card
            && !self.names
    }

    /// Appends every finding in `text` to `hits`, overlapping ones included, grouped by
    /// detector (emails, IBANs, cards and phones, IPv4, IPv6, names), each group in text
    /// order.
    pub fn find(&self, text: &str, hits: &mut Vec<Finding>) {
        let b = text.as_bytes();
        let needs_stats = self.email.is_some() || self.iban.is_some() || self.ipv4.is_some() || self.phone || self.card;
        let stats = if needs_stats { Stats::of(b) } else { Stats { digits: 0, at: false, dots: 0, colons: 0 } };
        if let Some(re) = &self.email
            && stats.at
        {
            let detector = Detector::Email;
            hits.extend(re.find_iter(text).map(|m| Finding { start: m.start(), end: m.end(), detector }));
        }
        if let Some(re) = &self.iban
            && stats.digits >= 2
        {
            addresses::find_ibans(re, text, hits);
        }
        let card = self.card && stats.digits >= 13;
        let phone = self.phone && stats.digits >= 7;
        if card || phone {
            numbers::find_numbers(b, self.card, self.phone, hits);
        }
        if let Some(re) = &self.ipv4
            && stats.digits >= 4
            && stats.dots >= 3
        {
            addresses::find_ipv4(re, text, hits);
        }
        if let Some(re) = &self.ipv6
            && stats.colons >= 2
        {
            addresses::find_ipv6(re, text, hits);
        }
        if self.names {
            let detector = Detector::Name;
            hits.extend(names::find_names(text).into_iter().map(|(start, end)| Finding { start, end, detector }));
        }
    }

    /// The byte ranges of the findings in `text`, in text order, overlaps merged (used by
    /// `doppel verify` to learn which parts of a free text are personal).
    pub fn spans(&self, text: &str) -> Vec<(usize, usize)> {
        let mut hits = Vec::new();
        self.find(text, &mut hits);
        merged_spans(hits.into_iter().map(|h| (h.start, h.end)))
    }

    /// True when `text` holds at least one finding.
    pub fn any(&self, text: &str) -> bool {
        let mut hits = Vec::new();
        self.find(text, &mut hits);
        !hits.is_empty()
    }
}

/// Byte ranges sorted by start (longest first) with overlapping ones merged.
pub(crate) fn merged_spans(ranges: impl Iterator<Item = (usize, usize)>) -> Vec<(usize, usize)> {
    let mut ranges: Vec<(usize, usize)> = ranges.collect();
    ranges.sort_unstable_by_key(|&(start, end)| (start, std::cmp::Reverse(end)));
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match spans.last_mut() {
            Some(last) if start < last.1 => last.1 = last.1.max(end),
            _ => spans.push((start, end)),
        }
    }
    spans
}
