//! Text rules shared by both sides of `verify`: the normal form values are compared in, word
//! boundaries, tokens, which values are distinctive enough to look for, and hex runs.
//!
//! - **Normal form**: Unicode lowercase, every run of whitespace turned into one space,
//!   leading and trailing whitespace dropped. Source values and output text both go through
//!   it, so one search finds exact and case/whitespace-variant copies.
//! - **Word boundary**: a match counts only when the characters on either side of it are
//!   not word characters (letters, digits, `_`), unless the match itself begins or ends
//!   with a non-word character. `anna.smith@example.com` is not found inside
//!   `joanna.smith@example.com`.
//! - **Distinctive** (`is_distinctive`): at least [`MIN_CHARS`] characters, and when the
//!   value is a number (digits and `+ - . / ( )` and spaces only), at least [`MIN_CHARS`]
//!   digits. Shorter values (first names, countries, small numbers) collide by chance and
//!   are left to the own-row comparison, which reports them as a rate.
//! - **Common words** (`is_common_word`): a single word that the `fake` crate's lists
//!   hold (first and last names, cities, streets, countries, companies, jobs, lorem words,
//!   in every locale doppel generates), compared without accents. A generated value can
//!   equal such a word by chance, so a source value that is one is not searched for on its
//!   own; values of several words (a full name, an address) still are.
//! - **Strong** (`is_strong`): contains `@` or at least [`MIN_CHARS`] digits (emails,
//!   phone, card and account numbers). These are always searched for, even when the same
//!   text also appears in a column the rules keep.
//! - **Value classes** ([`ValueClass`]): strong; dictionary (every word is in the `fake`
//!   lists, or has at most two characters: a generator can make it by chance); other.
//! - **Numbers** (`number_runs`): a run of digits and separators (`+ - . / ( )`, space)
//!   compared by its digits alone, so a phone written with other separators is still found.

use std::collections::HashSet;
use std::sync::OnceLock;

use fake::locales::{CY_GB, DE_DE, Data, EN, FR_FR, IT_IT, NL_NL, PT_BR, PT_PT, TR_TR};

use crate::detect::names::fold;

/// Fewest characters (and digits, for numbers) a value needs to be searched for.
pub const MIN_CHARS: usize = 8;

/// Writes the normal form of `s` into `out` (cleared first).
pub fn normalise_into(s: &str, out: &mut String) {
    out.clear();
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

/// The normal form of `s`.
pub fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    normalise_into(s, &mut out);
    out
}

/// A letter, digit or `_`.
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `text[start..end]` stands on word boundaries (see the module docs).
pub fn at_word_boundaries(text: &str, start: usize, end: usize) -> bool {
    let found = &text[start..end];
    let (Some(first), Some(last)) = (found.chars().next(), found.chars().next_back()) else { return false };
    let before_ok = !is_word_char(first) || text[..start].chars().next_back().is_none_or(|c| !is_word_char(c));
    let after_ok = !is_word_char(last) || text[end..].chars().next().is_none_or(|c| !is_word_char(c));
    before_ok && after_ok
}

/// Whitespace-separated tokens with leading and trailing punctuation removed (keeps `@`,
/// `+`, and characters inside a token: `maria.anders@example.com.` gives the address).
pub fn tokens(normalised: &str) -> impl Iterator<Item = &str> {
    normalised
        .split(' ')
        .map(|t| t.trim_matches(|c: char| !(is_word_char(c) || c == '@' || c == '+')))
        .filter(|t| !t.is_empty())
}

fn digits(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

/// Worth searching the output for (see the module docs). `s` is in normal form.
pub fn is_distinctive(s: &str) -> bool {
    if s.chars().count() < MIN_CHARS {
        return false;
    }
    let numeric = s.chars().all(|c| c.is_ascii_digit() || " +-./()".contains(c));
    !numeric || digits(s) >= MIN_CHARS
}

/// An email or a long number: searched for even where a kept column has the same text.
pub fn is_strong(s: &str) -> bool {
    s.contains('@') || digits(s) >= MIN_CHARS
}

/// Words of [`MIN_CHARS`]+ characters in the `fake` crate's lists, folded.
fn common_words() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    fn lists<L: Data>() -> [&'static [&'static str]; 18] {
        [
            L::NAME_FIRST_NAME,
            L::NAME_LAST_NAME,
            L::LOREM_WORD,
            L::ADDRESS_COUNTRY,
            L::ADDRESS_CITY_PREFIX,
            L::ADDRESS_CITY_SUFFIX,
            L::ADDRESS_STREET_SUFFIX,
            L::ADDRESS_STATE,
            L::COMPANY_SUFFIX,
            L::COMPANY_BS_ADJ,
            L::COMPANY_BS_NOUNS,
            L::COMPANY_BS_VERBS,
            L::COMPANY_BUZZWORD_HEAD,
            L::COMPANY_BUZZWORD_MIDDLE,
            L::COMPANY_BUZZWORD_TAIL,
            L::COMPANY_PROFESSION,
            L::JOB_FIELD,
            L::JOB_POSITION,
        ]
    }
    SET.get_or_init(|| {
        let all = [
            lists::<EN>(),
            lists::<FR_FR>(),
            lists::<DE_DE>(),
            lists::<IT_IT>(),
            lists::<PT_BR>(),
            lists::<PT_PT>(),
            lists::<NL_NL>(),
            lists::<TR_TR>(),
            lists::<CY_GB>(),
        ];
        all.iter()
            .flatten()
            .flat_map(|l| l.iter())
            .flat_map(|entry| entry.split(|c: char| !is_word_char(c)))
            .filter(|w| !w.is_empty())
            .map(fold)
            .collect()
    })
}

/// A single word from the `fake` crate's lists (see the module docs). `s` is in normal form.
pub fn is_common_word(s: &str) -> bool {
    s.chars().all(is_word_char) && common_words().contains(&fold(s))
}

/// What kind of value a searched value is, which decides where a copy of it is a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValueClass {
    /// An email or a long number ([`is_strong`]): a finding wherever it appears.
    Strong,
    /// Made only of words from the `fake` crate's lists and short tokens (`john smith`,
    /// `maple avenue`): a generator of the rules can make it by chance, so it is no finding
    /// in a column whose rule generates values.
    Dictionary,
    /// Anything else (a rare name, an address with a house number, a code).
    Other,
}

impl ValueClass {
    /// The class of `s` (in normal form).
    pub fn of(s: &str) -> ValueClass {
        if is_strong(s) {
            return ValueClass::Strong;
        }
        let mut words = s.split(|c: char| !is_word_char(c)).filter(|w| !w.is_empty()).peekable();
        let generated =
            words.peek().is_some() && words.all(|w| w.chars().count() <= 2 || common_words().contains(&fold(w)));
        if generated { ValueClass::Dictionary } else { ValueClass::Other }
    }
}

/// Characters that may separate the digits of a phone or account number.
fn is_number_separator(c: char) -> bool {
    matches!(c, ' ' | '+' | '-' | '.' | '/' | '(' | ')')
}

/// The digits of `s` when it is a number written with separators (`+44 20 7946 0958`,
/// `(503) 555-9831`) of at least [`MIN_CHARS`] digits; `None` otherwise.
pub fn number_digits(s: &str) -> Option<String> {
    let numeric = s.chars().all(|c| c.is_ascii_digit() || is_number_separator(c));
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    (numeric && d.len() >= MIN_CHARS).then_some(d)
}

/// Calls `f` with the digits of every run of digits and separators in `text` that holds at
/// least [`MIN_CHARS`] digits and stands on word boundaries, and with each of its digit
/// suffixes of [`MIN_CHARS`] digits or more (a country code written in front of a number).
pub fn number_runs(text: &str, mut f: impl FnMut(&str)) {
    let mut digits = String::new();
    let mut chars = text.char_indices().peekable();
    let mut before: Option<char> = None;
    while let Some((_, c)) = chars.next() {
        if !c.is_ascii_digit() || before.is_some_and(is_word_char) {
            before = Some(c);
            continue;
        }
        digits.clear();
        digits.push(c);
        let mut last = c;
        while let Some(&(_, n)) = chars.peek() {
            if !(n.is_ascii_digit() || is_number_separator(n)) {
                break;
            }
            if n.is_ascii_digit() {
                digits.push(n);
            }
            last = n;
            chars.next();
        }
        let glued = chars.peek().is_some_and(|&(_, n)| is_word_char(n)) && last.is_ascii_digit();
        before = Some(last);
        if glued || digits.len() < MIN_CHARS {
            continue;
        }
        for start in 0..=digits.len() - MIN_CHARS {
            f(&digits[start..]);
        }
    }
}

/// Lengths of the hex digests looked for: md5, sha1, sha256 and blake3.
pub const HEX_LENGTHS: [usize; 3] = [32, 40, 64];

/// Calls `f` with every run of hex digits of a digest's length in `text` that stands on word
/// boundaries, as the 64-bit number its first 16 digits spell, and the run's length.
pub fn hex_runs(text: &str, mut f: impl FnMut(u64, usize)) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_hexdigit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_hexdigit() {
            i += 1;
        }
        let len = i - start;
        if HEX_LENGTHS.contains(&len) && at_word_boundaries(text, start, i) {
            // 16 hex digits, checked above: always a valid u64.
            if let Ok(v) = u64::from_str_radix(&text[start..start + 16], 16) {
                f(v, len);
            }
        }
    }
}

/// The first 8 bytes of a digest as the number its first 16 lowercase hex digits spell.
pub fn digest_prefix(digest: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_form_lowercases_and_collapses_whitespace() {
        assert_eq!(normalise("  Maria \t\n ANDERS  "), "maria anders");
        assert_eq!(normalise("ÉMILE Zola"), "émile zola");
        assert_eq!(normalise("İ"), "i\u{307}");
        assert_eq!(normalise(""), "");
        assert_eq!(normalise(" \n "), "");
        let mut buf = String::from("old");
        normalise_into("A  B", &mut buf);
        assert_eq!(buf, "a b");
    }

    #[test]
    fn word_boundaries() {
        let t = "mail joanna.smith@example.com or anna.smith@example.com.";
        let p = "anna.smith@example.com";
        let hits: Vec<usize> = t.match_indices(p).map(|(i, _)| i).collect();
        assert_eq!(hits.len(), 2);
        assert!(!at_word_boundaries(t, hits[0], hits[0] + p.len()), "inside joanna");
        assert!(at_word_boundaries(t, hits[1], hits[1] + p.len()));
        // Letters glued on either side.
        assert!(!at_word_boundaries("xanders", 1, 7));
        assert!(!at_word_boundaries("anders_", 0, 6));
        assert!(at_word_boundaries("(anders)", 1, 7));
        assert!(at_word_boundaries("anders", 0, 6));
        // A match that starts with a non-word character needs no boundary before it.
        assert!(at_word_boundaries("tel+44 20 7946 0958", 3, 19));
        // Unicode letters are word characters.
        assert!(!at_word_boundaries("émile", 2, 6));
    }

    #[test]
    fn distinctive_values() {
        assert!(is_distinctive("maria anders"));
        assert!(is_distinctive("a@bc.de.f"));
        assert!(is_distinctive("+44 20 7946 0958"));
        assert!(!is_distinctive("germany"), "short");
        assert!(!is_distinctive("1234567"), "7 digits");
        assert!(!is_distinctive("12-34-567"), "7 digits with separators");
        assert!(is_distinctive("12345678"));
        assert!(is_distinctive("straße 1a"));
        assert!(is_common_word("christopher"));
        assert!(is_common_word("williamson"));
        assert!(!is_common_word("christopher williamson"), "several words");
        assert!(!is_common_word("futterkiste"));
        assert!(is_strong("x@y.z"));
        assert!(is_strong("de89 3704 0044 0532 0130 00"));
        assert!(!is_strong("maria anders"));
    }

    #[test]
    fn value_classes() {
        assert_eq!(ValueClass::of("maria.anders@example.com"), ValueClass::Strong);
        assert_eq!(ValueClass::of("+1 (503) 555-9831"), ValueClass::Strong);
        assert_eq!(ValueClass::of("john smith"), ValueClass::Dictionary);
        assert_eq!(ValueClass::of("maria anders"), ValueClass::Other, "anders is in no list");
        assert_eq!(ValueClass::of("zebulon quartermaine"), ValueClass::Other);
    }

    #[test]
    fn number_runs_give_digits_whatever_the_separators() {
        let mut seen = Vec::new();
        number_runs("call 503.555.9831, or +1 (503) 555-9831; id x12345678 12-34", |d| seen.push(d.to_string()));
        assert!(seen.contains(&"5035559831".to_string()), "{seen:?}");
        assert!(seen.contains(&"15035559831".to_string()), "{seen:?}");
        assert!(!seen.iter().any(|d| d.starts_with("1234")), "glued to a letter, or too short: {seen:?}");
        assert_eq!(number_digits("(503) 555-9831").as_deref(), Some("5035559831"));
        assert_eq!(number_digits("503-555"), None);
        assert_eq!(number_digits("maria 12345678"), None);
    }

    #[test]
    fn tokens_trim_punctuation() {
        let t: Vec<&str> = tokens("call +44 or \"maria.anders@example.com\". (thanks!)").collect();
        assert_eq!(t, ["call", "+44", "or", "maria.anders@example.com", "thanks"]);
    }

    #[test]
    fn hex_runs_of_digest_lengths_on_boundaries() {
        let md5 = "5d41402abc4b2a76b9719d911017c592";
        let mut seen = Vec::new();
        hex_runs(&format!("md5:{md5} x{md5} {md5}0 {}", &md5[..31]), |v, len| seen.push((v, len)));
        assert_eq!(seen, [(0x5d41402abc4b2a76, 32)]);
        assert_eq!(digest_prefix(&[0x5d, 0x41, 0x40, 0x2a, 0xbc, 0x4b, 0x2a, 0x76, 0xff]), 0x5d41402abc4b2a76);
    }
}
