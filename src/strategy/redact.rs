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
//! On a column with a declared `varchar(n)` / `char(n)`, `tag` redaction fits by
//! construction: a text whose tags would make it too long is redacted again with the
//! findings shorter than their tag masked instead ([`Fit`]), never longer than it was.
//!
//! What the detectors find, and what they leave alone, is described in [`crate::detect`].
//!
//! When findings overlap, the one that starts first wins, the longest among those (then
//! in the order email, iban, card, ip, phone, extra patterns); overlapping findings are
//! merged into the winner so that nothing of either is left visible.
//!

use std::sync::Arc;

use arrow_array::ArrayRef;
use regex::Regex;
use serde::Deserialize;

pub use crate::detect::Detector;
use crate::detect::{BuiltinError, Detectors, Finding};
use crate::secret::DomainKey;

use super::apply::{CellError, ColumnInput, map_text};
use super::words::Words;
use super::{Behaviour, BindContext, Bound, RuleOptions, Strategy};

/// `action = "redact"`: find personal data inside free text and replace it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactRule {
    /// Detectors: `email`, `phone`, `iban`, `card`, `ip`, `name` (default: all). `[]` needs
    /// `patterns`: a redact that looks for nothing is a plan error.
    #[serde(default)]
    pub detect: Option<Vec<String>>,
    /// Extra regular expressions to redact.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// `"tag"` (default): `[EMAIL]`, `[PHONE]`, ...; `"mask"`: same length, alphanumerics replaced.
    #[serde(default)]
    pub replacement: Option<String>,
}

impl RuleOptions for RedactRule {
    fn action(&self) -> &'static str {
        "redact"
    }

    fn bind(&self, ctx: &BindContext) -> Result<Bound, Vec<String>> {
        ctx.text_only("redact")?;
        let mut redactor = bind(&self.detect, &self.patterns, &self.replacement).map_err(|e| vec![e])?;
        redactor.fit = super::fit::declared_limit(ctx.field).map(Fit::Within);
        ctx.plain(Strategy::Redact(Arc::new(redactor)))
    }
}

impl Behaviour for Redactor {
    fn action(&self) -> &'static str {
        "redact"
    }

    fn describe(&self) -> String {
        let detect: Vec<toml::Value> = self.detect.iter().map(|d| d.name().into()).collect();
        let patterns: Vec<toml::Value> = self.custom.iter().map(|re| re.as_str().into()).collect();
        let replacement = match self.replacement {
            Replacement::Tag => "tag",
            Replacement::Mask => "mask",
        };
        Words::new("redact")
            .opt("detect", detect)
            .opt_some("patterns", (!patterns.is_empty()).then_some(patterns))
            .opt("replacement", replacement)
            .finish()
    }

    fn keyed(&self) -> bool {
        false
    }

    fn check_changes(&self, _field: &arrow_schema::Field) -> Result<(), String> {
        if self.looks_for_nothing() {
            return Err("`redact` with `detect = []` and no `patterns` looks for nothing, so every value would be \
                        copied unchanged; leave `detect` out (all detectors), list detectors or `patterns`, or use \
                        `keep` to copy the column on purpose"
                .into());
        }
        Ok(())
    }

    /// `mask` keeps the length; tags fit by construction on a column with a declared length
    /// (see [`Fit`]): never longer than the text read, which fits the same type.
    fn fit(&self, declared: &super::fit::Declared) -> Result<Option<usize>, String> {
        match (self.replacement, self.fit) {
            (Replacement::Mask, _) => Ok(None),
            (Replacement::Tag, Some(Fit::Within(n))) if n <= declared.limit => Ok(None),
            (Replacement::Tag, _) => Ok(Some(declared.limit)),
        }
    }

    fn apply(&self, c: &ColumnInput) -> Result<ArrayRef, CellError> {
        map_text(c.input, |s, out| self.text_value(c.key, s, c.attempt, out))
    }

    fn text_value(&self, _key: &DomainKey, s: &str, _attempt: u32, out: &mut String) -> Result<(), String> {
        self.redact(s, out);
        Ok(())
    }
}

/// How a `tag` redaction is kept within a length. A tag can be longer than what it replaces
/// (`[EMAIL]` for `a@b.co`, `[IP]` for `::1`, `[REDACTED]` for a one-character match), so a
/// redacted text can be longer than the text read. When it would not fit, the text is
/// redacted again with each finding shorter than its tag masked instead (as `replacement =
/// "mask"`: same length, letters `x`, digits `0`): the result is then never longer than the
/// text read. Deterministic: it depends only on the text and the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// At most this many characters (trailing spaces not counted): the column's declared
    /// `varchar(n)` / `char(n)`, which the text read fits too.
    Within(usize),
    /// Never longer than the text read, in characters: a string inside a JSON document
    /// stored in a column with a declared length (see [`super::json`]).
    NoLonger,
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

const CUSTOM_TAG: &str = "[REDACTED]";
const CUSTOM_PRIORITY: u8 = 5;

/// Tie-break among findings with the same span: lower wins.
fn priority(d: Detector) -> u8 {
    match d {
        Detector::Email => 0,
        Detector::Iban => 1,
        Detector::Card => 2,
        Detector::Ip => 3,
        Detector::Phone => 4,
        Detector::Name => 6,
    }
}

/// A compiled `redact` rule for one column: built once, used for every row from any
/// thread.
#[derive(Debug, Clone)]
pub struct Redactor {
    /// The detectors as the rules name them (for `--explain`), compiled in `detectors`.
    detect: Vec<Detector>,
    detectors: Detectors,
    custom: Vec<Regex>,
    replacement: Replacement,
    /// How `tag` replacements are kept within a length (`None`: they are not).
    fit: Option<Fit>,
}

#[derive(Debug, Clone, Copy)]
struct Hit {
    start: usize,
    end: usize,
    priority: u8,
    tag: &'static str,
}

impl From<Finding> for Hit {
    fn from(f: Finding) -> Hit {
        Hit { start: f.start, end: f.end, priority: priority(f.detector), tag: f.detector.tag() }
    }
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
    /// True when no detector is on and there is no pattern: such a redactor copies every
    /// value unchanged, so the plan refuses it.
    pub fn looks_for_nothing(&self) -> bool {
        self.detectors.is_empty() && self.custom.is_empty()
    }

    /// Compiles a redactor. `patterns` are extra regular expressions; if any does not
    /// compile, the error names each bad pattern by its position (`#1` is the first) and the
    /// reason, never the pattern text.
    pub fn new(detectors: &[Detector], patterns: &[String], replacement: Replacement) -> Result<Redactor, String> {
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
        let detect = detectors.to_vec();
        let detectors = Detectors::new(detectors).map_err(|e: BuiltinError| e.to_string())?;
        Ok(Redactor { detect, detectors, custom, replacement, fit: None })
    }

    /// The redactor with its `tag` replacements kept within `fit` (see [`Fit`]).
    pub fn fitting(self, fit: Fit) -> Redactor {
        Redactor { fit: Some(fit), ..self }
    }

    /// Whether a redacted text is never longer than the text read (see [`Fit::NoLonger`]).
    pub fn never_longer(&self) -> bool {
        self.replacement == Replacement::Mask || self.fit == Some(Fit::NoLonger)
    }

    /// Appends `text` with every finding replaced to `out`. Returns the number of
    /// replacements made (overlapping findings count once). With a [`Fit`], a result that
    /// would not fit is made again with the findings shorter than their tag masked.
    pub fn redact(&self, text: &str, out: &mut String) -> usize {
        let start = out.len();
        let count = self.replace(text, out, false);
        let too_long = match self.fit {
            None => false,
            Some(_) if self.replacement == Replacement::Mask => false,
            Some(Fit::Within(limit)) => super::fit::pg_chars(&out[start..]) > limit,
            Some(Fit::NoLonger) => out[start..].chars().count() > text.chars().count(),
        };
        if too_long {
            out.truncate(start);
            self.replace(text, out, true);
        }
        count
    }

    /// [`Redactor::redact`] without the fit; `no_longer`: a finding shorter than its tag is
    /// masked instead.
    fn replace(&self, text: &str, out: &mut String, no_longer: bool) -> usize {
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
            let span = &text[win.start..end];
            let masked = self.replacement == Replacement::Mask || no_longer && span.chars().count() < win.tag.len();
            if !masked {
                out.push_str(win.tag);
            } else {
                out.extend(span.chars().map(|c| {
                    if c.is_numeric() {
                        '0'
                    } else if c.is_alphanumeric() {
                        'x'
                    } else {
                        c
                    }
                }));
            }
            pos = end;
            count += 1;
        }
        out.push_str(&text[pos..]);
        count
    }

    /// The byte ranges `redact` would replace in `text`, in text order, overlaps merged.
    pub fn spans(&self, text: &str) -> Vec<(usize, usize)> {
        let mut hits = Vec::new();
        self.find(text, &mut hits);
        crate::detect::merged_spans(hits.into_iter().map(|h| (h.start, h.end)))
    }

    fn find(&self, text: &str, hits: &mut Vec<Hit>) {
        let mut found = Vec::new();
        self.detectors.find(text, &mut found);
        hits.extend(found.into_iter().map(Hit::from));
        for re in &self.custom {
            hits.extend(re.find_iter(text).filter(|m| !m.is_empty()).map(|m| Hit {
                start: m.start(),
                end: m.end(),
                priority: CUSTOM_PRIORITY,
                tag: CUSTOM_TAG,
            }));
        }
    }
}

/// Binds a `redact` rule's options: detector names, extra patterns and the replacement.
fn bind(detect: &Option<Vec<String>>, patterns: &[String], replacement: &Option<String>) -> Result<Redactor, String> {
    let detectors = match detect {
        None => Detector::ALL.to_vec(),
        Some(names) => names
            .iter()
            .map(|n| {
                Detector::parse(n)
                    .ok_or_else(|| format!("unknown detector `{n}`; valid detectors: {}", Detector::valid_names()))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let replacement = match replacement.as_deref() {
        None | Some("tag") => Replacement::Tag,
        Some("mask") => Replacement::Mask,
        Some(other) => return Err(format!("unknown replacement `{other}`; valid: tag, mask")),
    };
    Redactor::new(&detectors, patterns, replacement)
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

    /// One text of each length below `lengths`, of characters drawn from `alphabet` by a
    /// generator seeded with `seed`.
    fn awkward_texts(alphabet: &str, seed: u64, lengths: usize) -> Vec<String> {
        let alphabet: Vec<char> = alphabet.chars().collect();
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            alphabet[((x >> 33) as usize) % alphabet.len()]
        };
        (0..lengths).map(|len| (0..len).map(|_| next()).collect()).collect()
    }

    #[test]
    fn never_panics_on_awkward_text() {
        let r = Redactor::new(Detector::ALL, &[r"\d".to_string()], Replacement::Mask).unwrap();
        for s in awkward_texts("0123456789 +-./()@:_aZé東\u{200b}GBDE", 7, 200) {
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
    fn tags_too_long_for_the_column_become_masks_and_the_text_is_never_longer_than_it_was() {
        let tag = Redactor::new(Detector::ALL, &[r"\d".to_string()], Replacement::Tag).unwrap();
        let r = |fit: Fit, text: &str| {
            let mut out = String::from("kept|");
            tag.clone().fitting(fit).redact(text, &mut out);
            out.split_off(5)
        };
        // Fits with its tags: as without a fit.
        assert_eq!(r(Fit::Within(20), "ip ::1 ok"), "ip [IP] ok");
        // Would not: the findings shorter than their tag are masked, the others keep it.
        assert_eq!(r(Fit::Within(9), "ip ::1 ok"), "ip ::0 ok");
        assert_eq!(r(Fit::Within(12), "a@b.co 7 x@example.com"), "x@x.xx 0 [EMAIL]");
        assert_eq!(r(Fit::NoLonger, "7"), "0");
        assert_eq!(r(Fit::NoLonger, "x@example.com"), "[EMAIL]");
        // Any text: never longer than it was (nor than the limit it fits).
        for s in awkward_texts("0123456789 .:@abxé[]", 11, 300) {
            let n = s.chars().count();
            assert!(r(Fit::Within(n), &s).chars().count() <= n, "{s}");
            assert!(r(Fit::NoLonger, &s).chars().count() <= n, "{s}");
        }
    }

    #[test]
    fn redact_fits_a_declared_length_by_construction() {
        use crate::strategy::fit::{check, declared_text};
        use crate::strategy::{BindContext, RuleOptions};
        let field = declared_text("character varying(12)");
        let schema = arrow_schema::Schema::new(vec![field.clone()]);
        let ctx = BindContext { field: &field, schema: &schema, default_domain: "d" };
        for replacement in ["tag", "mask"] {
            let rule = RedactRule { detect: None, patterns: vec![], replacement: Some(replacement.into()) };
            let bound = rule.bind(&ctx).unwrap();
            assert_eq!(check(&field, &bound.strategy), Ok(None), "{replacement}");
        }
    }

    #[test]
    fn redactor_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Redactor>();
    }
}
