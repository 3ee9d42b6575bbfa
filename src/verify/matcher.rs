//! The search side of `verify`: one Aho-Corasick automaton over the source's distinctive
//! personal values, and sorted sets of the unkeyed digests of every personal value.
//!
//! ```text
//! normalised output text ──automaton (first ≤8 bytes of each value)──▶ candidate starts
//!                          └─ text up to each word boundary looked up among the values
//!                             sharing that prefix (sorted: binary search) ─▶ hit
//!                        ──hex runs of 32/40/64 digits──▶ first 8 bytes ∈ md5/sha1/sha256/blake3 set ─▶ hit
//! ```
//!
//! Memory and speed: the automaton holds only each value's first [`PREFIX_BYTES`] bytes (a
//! million emails `user123456@…` need a few thousand states), the full values are kept once
//! in a sorted list, and a digest is kept
//! as its first 8 bytes (a chance match needs 64 equal bits). Digests are not put into the
//! automaton: four 32-64 character strings per value would make it many times larger, while
//! hex runs are cheap to find directly.

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::error::{Error, Result};

use super::text::{ValueClass, hex_runs, is_word_char, number_digits, number_runs};

/// Bytes of each value the automaton holds (every searched value has at least 8 characters).
pub const PREFIX_BYTES: usize = 8;

/// Which digest a hex run matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    Md5,
    Sha1,
    Sha256,
    Blake3,
}

impl Algorithm {
    pub const ALL: [Algorithm; 4] = [Algorithm::Md5, Algorithm::Sha1, Algorithm::Sha256, Algorithm::Blake3];

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Md5 => 32,
            Algorithm::Sha1 => 40,
            Algorithm::Sha256 | Algorithm::Blake3 => 64,
        }
    }

    /// The unkeyed digest of `bytes`, as its first 8 bytes.
    pub fn prefix(self, bytes: &[u8]) -> u64 {
        use sha2::Digest;
        let prefix = super::text::digest_prefix;
        match self {
            Algorithm::Md5 => prefix(&md5::Md5::digest(bytes)),
            Algorithm::Sha1 => prefix(&sha1::Sha1::digest(bytes)),
            Algorithm::Sha256 => prefix(&sha2::Sha256::digest(bytes)),
            Algorithm::Blake3 => prefix(blake3::hash(bytes).as_bytes()),
        }
    }
}

/// What one search found in one text: a value (with the index of the source column it came
/// from, and its class) or a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hit {
    Value(u32, ValueClass),
    Digest(Algorithm),
}

/// The compiled search.
pub struct Matcher {
    automaton: Option<AhoCorasick>,
    /// Full values (normal form), sorted, so the values of one automaton pattern (one prefix)
    /// are a contiguous range.
    values: Vec<Box<str>>,
    /// The source column each value was first seen in (index into the report's list).
    value_column: Vec<u32>,
    value_class: Vec<ValueClass>,
    /// Fingerprints of the digits of the values that are numbers written with separators,
    /// sorted, with their source column: a phone is found whatever separators it is given.
    numbers: Vec<(u64, u32)>,
    /// `ranges[p]`: the values whose prefix is automaton pattern `p`, and the longest one's
    /// length in bytes.
    ranges: Vec<(u32, u32, u32)>,
    /// Sorted digest prefixes, one list per [`Algorithm::ALL`] entry.
    digests: [Vec<u64>; 4],
    /// One bit per value of a digest's top [`FILTER_BITS`] bits, set for every digest: most hex
    /// runs that are no digest of a personal value stop here, without a binary search.
    filter: Vec<u64>,
}

/// Bits of the digest filter's index (2^27 bits: 16 MiB).
const FILTER_BITS: u32 = 27;

fn filter_slot(prefix: u64) -> (usize, u64) {
    let i = prefix >> (64 - FILTER_BITS);
    ((i / 64) as usize, 1u64 << (i % 64))
}

/// Digits a number needs, once its country code is dropped, to be looked for that way.
const MIN_DIGITS_WITHOUT_COUNTRY: usize = 8;

fn number_fp(digits: &str) -> u64 {
    super::collect::fingerprint(digits.as_bytes())
}

fn prefix_of(s: &str) -> &str {
    let mut end = s.len().min(PREFIX_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Matcher {
    /// `values`: (normal form, source column). `digests` as collected, in any order.
    pub fn build(mut values: Vec<(Box<str>, u32)>, mut digests: [Vec<u64>; 4]) -> Result<Matcher> {
        values.sort_unstable();
        values.dedup_by(|a, b| a.0 == b.0);
        let mut prefixes: Vec<&str> = Vec::new();
        let mut ranges: Vec<(u32, u32, u32)> = Vec::new();
        for (i, (v, _)) in values.iter().enumerate() {
            let p = prefix_of(v);
            if prefixes.last() == Some(&p)
                && let Some(r) = ranges.last_mut()
            {
                r.1 = i as u32 + 1;
                r.2 = r.2.max(v.len() as u32);
            } else {
                prefixes.push(p);
                ranges.push((i as u32, i as u32 + 1, v.len() as u32));
            }
        }
        let automaton =
            if prefixes.is_empty() {
                None
            } else {
                Some(AhoCorasickBuilder::new().match_kind(MatchKind::Standard).build(&prefixes).map_err(|e| {
                    Error::Usage(format!("verify: cannot build the search over the source's values: {e}"))
                })?)
            };
        let mut filter = vec![0u64; 1 << (FILTER_BITS - 6)];
        for d in &mut digests {
            d.sort_unstable();
            d.dedup();
            for &p in d.iter() {
                let (word, bit) = filter_slot(p);
                filter[word] |= bit;
            }
        }
        let mut numbers: Vec<(u64, u32)> = Vec::new();
        for (v, column) in &values {
            let Some(d) = number_digits(v) else { continue };
            numbers.push((number_fp(&d), *column));
            // An international number is also looked for without its country code (1 to 3
            // digits), as it is written at home.
            if v.starts_with('+') {
                for cc in 1..=3 {
                    if d.len() - cc > MIN_DIGITS_WITHOUT_COUNTRY {
                        numbers.push((number_fp(&d[cc..]), *column));
                    }
                }
            }
        }
        numbers.sort_unstable();
        numbers.dedup_by_key(|n| n.0);
        let value_class = values.iter().map(|(v, _)| ValueClass::of(v)).collect();
        let (values, value_column) = values.into_iter().unzip();
        Ok(Matcher { automaton, values, value_column, value_class, numbers, ranges, digests, filter })
    }

    /// How many values the automaton searches for.
    pub fn value_count(&self) -> usize {
        self.values.len()
    }

    /// Whether `normalised` is one of the searched values (a distinctive value).
    pub fn is_value(&self, normalised: &str) -> bool {
        self.values.binary_search_by(|v| v.as_ref().cmp(normalised)).is_ok()
    }

    /// Every hit in `text` (normal form), each (kind, column) at most once.
    pub fn scan(&self, text: &str, hits: &mut HashSet<Hit>) {
        if let Some(ac) = &self.automaton {
            for m in ac.find_overlapping_iter(text) {
                let (from, to, longest) = self.ranges[m.pattern().as_usize()];
                let (from, to) = (from as usize, to as usize);
                let start = m.start();
                let rest = &text[start..];
                let first = rest.chars().next().unwrap_or(' ');
                if is_word_char(first) && text[..start].chars().next_back().is_some_and(is_word_char) {
                    continue;
                }
                // Every end at a word boundary, from the prefix to the longest value: the
                // character before it or the one at it (none at the end) is not a word character.
                let mut limit = rest.len().min(longest as usize);
                while !rest.is_char_boundary(limit) {
                    limit -= 1;
                }
                let min_end = m.end() - start;
                let ends = rest[..limit].char_indices().map(|(e, c)| (e, Some(c)));
                let mut before: Option<char> = None;
                for (e, at) in ends.chain(std::iter::once((limit, rest[limit..].chars().next()))) {
                    let boundary = at.is_none_or(|c| !is_word_char(c)) || before.is_some_and(|c| !is_word_char(c));
                    before = at;
                    if e < min_end || !boundary {
                        continue;
                    }
                    if let Ok(i) = self.values[from..to].binary_search_by(|v| v.as_ref().cmp(&rest[..e])) {
                        hits.insert(Hit::Value(self.value_column[from + i], self.value_class[from + i]));
                    }
                }
            }
        }
        if !self.numbers.is_empty() {
            number_runs(text, |digits| {
                let fp = number_fp(digits);
                let at = self.numbers.partition_point(|n| n.0 < fp);
                if let Some(&(found, column)) = self.numbers.get(at)
                    && found == fp
                {
                    hits.insert(Hit::Value(column, ValueClass::Strong));
                }
            });
        }
        hex_runs(text, |prefix, len| {
            let (word, bit) = filter_slot(prefix);
            if self.filter[word] & bit == 0 {
                return;
            }
            for (a, set) in Algorithm::ALL.iter().zip(&self.digests) {
                if a.hex_len() == len && set.binary_search(&prefix).is_ok() {
                    hits.insert(Hit::Digest(*a));
                }
            }
        });
    }

    /// Bytes held, roughly: the automaton, the values and the digests.
    pub fn memory_bytes(&self) -> usize {
        self.automaton.as_ref().map_or(0, |a| a.memory_usage())
            + self.values.iter().map(|v| v.len() + 16).sum::<usize>()
            + self.digests.iter().map(|d| d.len() * 8).sum::<usize>()
            + self.numbers.len() * 16
            + self.filter.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::text::normalise;

    fn matcher(values: &[&str], hashed: &[&str]) -> Matcher {
        let values = values.iter().enumerate().map(|(i, v)| (normalise(v).into_boxed_str(), i as u32)).collect();
        let mut digests: [Vec<u64>; 4] = Default::default();
        for h in hashed {
            for (a, d) in Algorithm::ALL.iter().zip(&mut digests) {
                d.push(a.prefix(h.as_bytes()));
            }
        }
        Matcher::build(values, digests).unwrap()
    }

    fn scan(m: &Matcher, text: &str) -> Vec<Hit> {
        let mut hits = HashSet::new();
        m.scan(&normalise(text), &mut hits);
        let mut v: Vec<Hit> = hits.into_iter().collect();
        v.sort();
        v
    }

    #[test]
    fn values_are_found_case_and_whitespace_insensitively_on_word_boundaries() {
        let m = matcher(&["maria.anders@example.com", "Maria  Anders", "maria.anderson@example.com"], &[]);
        assert_eq!(scan(&m, "Write to MARIA.ANDERS@example.com today"), [Hit::Value(0, ValueClass::Strong)]);
        assert_eq!(scan(&m, "ask maria\n anders"), [Hit::Value(1, ValueClass::Other)]);
        assert_eq!(scan(&m, "ask mariaanders"), []);
        assert_eq!(scan(&m, "jmaria.anders@example.com"), [], "glued to a longer address");
        // A dot is a word boundary, as in a regular expression's \b.
        assert_eq!(scan(&m, "joe.maria.anders@example.com"), [Hit::Value(0, ValueClass::Strong)]);
        // Values sharing their first 16 bytes are told apart by the full comparison.
        assert_eq!(scan(&m, "maria.anderson@example.com"), [Hit::Value(2, ValueClass::Strong)]);
        assert_eq!(
            scan(&m, "{\"contact\":{\"email\":\"maria.anders@example.com\"}}"),
            [Hit::Value(0, ValueClass::Strong)]
        );
        assert!(m.is_value("maria anders"));
        // Multi-byte characters around and inside values, and values longer than the text.
        let m = matcher(&["Zoë Ångström-Lindqvist", "ÉÉÉÉÉÉÉÉÉÉ"], &[]);
        assert_eq!(scan(&m, "from zoë ångström-lindqvist, ok"), [Hit::Value(0, ValueClass::Other)]);
        assert_eq!(scan(&m, "zoë ångström-lindqvistö"), []);
        assert_eq!(scan(&m, "éééééééééé"), [Hit::Value(1, ValueClass::Other)]);
        assert_eq!(scan(&m, "ééééééééé"), []);
        assert_eq!(scan(&m, "zoë ångström-lindq"), []);
        assert!(!m.is_value("maria"));
    }

    #[test]
    fn numbers_are_found_whatever_their_separators() {
        let m = matcher(&["(503) 555-9831", "john smith"], &[]);
        let strong = [Hit::Value(0, ValueClass::Strong)];
        assert_eq!(scan(&m, "call 503.555.9831 now"), strong);
        assert_eq!(scan(&m, "+1 503 555 98 31"), strong, "a country code in front");
        assert_eq!(scan(&m, "5035559831"), strong);
        assert_eq!(scan(&m, "ref 50355598312"), [], "a longer number");
        assert_eq!(scan(&m, "by John  Smith"), [Hit::Value(1, ValueClass::Dictionary)]);
        let m = matcher(&["+1 (503) 555-9831", "+44 20 7946 0958"], &[]);
        assert_eq!(scan(&m, "503-555-9831"), [Hit::Value(0, ValueClass::Strong)], "without the country code");
        assert_eq!(scan(&m, "020 7946 0958"), [Hit::Value(1, ValueClass::Strong)], "with a trunk zero");
    }

    #[test]
    fn unkeyed_digests_are_found_in_hex() {
        let m = matcher(&[], &["maria.anders@example.com"]);
        let v = b"maria.anders@example.com";
        let md5 = hex(&<md5::Md5 as sha2::Digest>::digest(v));
        assert_eq!(scan(&m, &format!("x {md5} y")), [Hit::Digest(Algorithm::Md5)]);
        assert_eq!(scan(&m, &md5.to_uppercase()), [Hit::Digest(Algorithm::Md5)]);
        let b3 = blake3::hash(v).to_hex().to_string();
        assert_eq!(scan(&m, &format!("id={b3}")), [Hit::Digest(Algorithm::Blake3)]);
        assert_eq!(scan(&m, &format!("id=a{md5}")), [], "part of a longer hex run");
        assert_eq!(scan(&m, "5d41402abc4b2a76b9719d911017c592"), [], "md5 of another value");
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
