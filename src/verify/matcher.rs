//! The search side of `verify`: one Aho-Corasick automaton over the first bytes of the
//! source's distinctive personal values, their 64-bit fingerprints, and the digest check.
//!
//! ```text
//! normalised output text ──automaton (first ≤8 bytes of each value)──▶ candidate starts
//!                          └─ fingerprint of the text up to each word boundary looked up
//!                             among the values sharing that prefix (sorted: binary search) ─▶ hit
//!                        ──number runs──▶ fingerprint of the digits ∈ numbers ─▶ hit
//!                        ──hex runs of 32/40/64 digits──▶ kept for the digest check ([`DigestSearch`])
//! ```
//!
//! Memory and speed: the automaton holds only each value's first [`PREFIX_BYTES`] bytes (a
//! million emails `user123456@…` need a few thousand states); each value is held as its
//! 64-bit fingerprint (8 bytes) and its column and class (4 bytes), sorted by prefix then
//! fingerprint. No text is held: a text matches a value when its fingerprint does, so equal
//! texts always match and a collision (odds 2^-64 per comparison) can only add a finding.
//! Digests are not held at all: see [`DigestSearch`].

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rayon::slice::ParallelSliceMut;

use crate::error::{Error, Result};

use super::text::{ValueClass, is_word_char, number_digits, number_runs};

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

/// A value's identity without its text: its first [`PREFIX_BYTES`] bytes, its length and its
/// 64-bit fingerprint. Equal texts have equal keys; two different texts share one only when
/// they begin with the same 8 bytes, have the same length and collide on 64 bits (odds 2^-64
/// per such pair), so wherever merging two values could hide one (counting a value's rows,
/// the public vocabulary, the kept cells) the odds of a missed leak are negligible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValueKey {
    /// The value's first [`PREFIX_BYTES`] bytes (cut at a character boundary), zero-padded.
    pub prefix: [u8; PREFIX_BYTES],
    /// Bytes of `prefix` that are the value's.
    pub prefix_len: u8,
    /// [`value_fp`] of the whole value (normal form).
    pub fp: u64,
    /// Length of the value in bytes.
    pub len: u32,
}

impl ValueKey {
    /// The key of `normalised` (a value in normal form).
    pub fn of(normalised: &str) -> ValueKey {
        let (prefix, prefix_len) = prefix_key(normalised);
        ValueKey { prefix, prefix_len, fp: value_fp(normalised), len: normalised.len() as u32 }
    }
}

/// The 64-bit fingerprint a searched value is held and looked up by. Equal texts always have
/// equal fingerprints, so a value is never missed; two different texts share one with odds
/// of 2^-64 per comparison, which can only add a finding, never hide one.
pub fn value_fp(normalised: &str) -> u64 {
    super::collect::fingerprint(normalised.as_bytes())
}

/// The compiled search over values and numbers (digests: [`DigestSearch`]).
///
/// Memory: per searched value 12 bytes (its 8-byte fingerprint and a 4-byte column and
/// class); per distinct 8-byte prefix one automaton pattern and 21 bytes of range and prefix;
/// per number (and per form without its country code) 12 bytes. No value's text is held.
pub struct Matcher {
    automaton: Option<AhoCorasick>,
    /// Fingerprints of the values, sorted by (prefix, fingerprint), so the values of one
    /// automaton pattern (one prefix) are a contiguous range, sorted by fingerprint.
    values: Vec<u64>,
    /// Per value: the source column (index into the report's list) in the low 30 bits, the
    /// class in the top 2.
    value_meta: Vec<u32>,
    /// Fingerprints of the digits of the values that are numbers written with separators,
    /// sorted, with their source column: a phone is found whatever separators it is given.
    numbers: Vec<u64>,
    number_column: Vec<u32>,
    /// `ranges[p]`: the values whose prefix is automaton pattern `p`, and the longest one's
    /// length in bytes.
    ranges: Vec<(u32, u32, u32)>,
    /// `prefixes[p]`: the prefix of automaton pattern `p` (zero-padded, and its length), sorted.
    prefixes: Vec<([u8; PREFIX_BYTES], u8)>,
}

/// Digits a number needs, once its country code is dropped, to be looked for that way.
const MIN_DIGITS_WITHOUT_COUNTRY: usize = 8;

fn number_fp(digits: &str) -> u64 {
    super::collect::fingerprint(digits.as_bytes())
}

/// The fingerprints a number value is looked for by (its digits, and without a country code
/// of 1 to 3 digits when it is written with one), or nothing when `normalised` is no number.
pub fn number_fps(normalised: &str, mut f: impl FnMut(u64)) {
    let Some(d) = number_digits(normalised) else { return };
    f(number_fp(&d));
    // An international number is also looked for without its country code (1 to 3
    // digits), as it is written at home.
    if normalised.starts_with('+') {
        for cc in 1..=3 {
            if d.len() - cc > MIN_DIGITS_WITHOUT_COUNTRY {
                f(number_fp(&d[cc..]));
            }
        }
    }
}

fn prefix_of(s: &str) -> &str {
    let mut end = s.len().min(PREFIX_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn prefix_key(s: &str) -> ([u8; PREFIX_BYTES], u8) {
    let p = prefix_of(s);
    let mut prefix = [0u8; PREFIX_BYTES];
    prefix[..p.len()].copy_from_slice(p.as_bytes());
    (prefix, p.len() as u8)
}

fn class_bits(c: ValueClass) -> u32 {
    match c {
        ValueClass::Strong => 0,
        ValueClass::Dictionary => 1,
        ValueClass::Other => 2,
    }
}

fn class_of_bits(meta: u32) -> ValueClass {
    match meta >> 30 {
        0 => ValueClass::Strong,
        1 => ValueClass::Dictionary,
        _ => ValueClass::Other,
    }
}

impl Matcher {
    /// `values`: the searched values (key, source column, class), in any order; several with
    /// one prefix and fingerprint are all kept, and each is reported when a text matches
    /// them. `numbers`: (number fingerprint from [`number_fps`], source column), any order.
    pub fn build(mut values: Vec<(ValueKey, u32, ValueClass)>, mut numbers: Vec<(u64, u32)>) -> Result<Matcher> {
        values.par_sort_unstable();
        values.dedup();
        let mut prefixes: Vec<&[u8]> = Vec::new();
        let mut ranges: Vec<(u32, u32, u32)> = Vec::new();
        for (i, (v, _, _)) in values.iter().enumerate() {
            let p = &v.prefix[..v.prefix_len as usize];
            if prefixes.last() == Some(&p)
                && let Some(r) = ranges.last_mut()
            {
                r.1 = i as u32 + 1;
                r.2 = r.2.max(v.len);
            } else {
                prefixes.push(p);
                ranges.push((i as u32, i as u32 + 1, v.len));
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
        let prefixes = prefixes
            .iter()
            .map(|p| {
                let mut a = [0u8; PREFIX_BYTES];
                a[..p.len()].copy_from_slice(p);
                (a, p.len() as u8)
            })
            .collect();
        numbers.par_sort_unstable();
        numbers.dedup_by_key(|n| n.0);
        let (numbers, number_column) = numbers.into_iter().unzip();
        let value_meta = values.iter().map(|&(_, column, class)| column | (class_bits(class) << 30)).collect();
        let values = values.into_iter().map(|(v, _, _)| v.fp).collect();
        Ok(Matcher { automaton, values, value_meta, numbers, number_column, ranges, prefixes })
    }

    /// How many values the automaton searches for.
    pub fn value_count(&self) -> usize {
        self.values.len()
    }

    /// Whether `normalised` is one of the searched values (a distinctive value). A
    /// fingerprint collision can only make this true for another text (a finding too many).
    pub fn is_value(&self, normalised: &str) -> bool {
        let key = prefix_key(normalised);
        let Ok(p) = self.prefixes.binary_search(&key) else { return false };
        let (from, to, _) = self.ranges[p];
        self.values[from as usize..to as usize].binary_search(&value_fp(normalised)).is_ok()
    }

    /// Every hit in `text` (normal form), each (kind, column) at most once.
    pub fn scan(&self, text: &str, hits: &mut HashSet<Hit>) {
        if let Some(ac) = &self.automaton {
            for m in ac.find_overlapping_iter(text) {
                let (from, to, longest) = self.ranges[m.pattern().as_usize()];
                let range = &self.values[from as usize..to as usize];
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
                    let fp = value_fp(&rest[..e]);
                    let mut i = range.partition_point(|&v| v < fp);
                    while i < range.len() && range[i] == fp {
                        let meta = self.value_meta[from as usize + i];
                        hits.insert(Hit::Value(meta & 0x3fff_ffff, class_of_bits(meta)));
                        i += 1;
                    }
                }
            }
        }
        if !self.numbers.is_empty() {
            number_runs(text, |digits| {
                let fp = number_fp(digits);
                let at = self.numbers.partition_point(|&n| n < fp);
                if self.numbers.get(at) == Some(&fp) {
                    hits.insert(Hit::Value(self.number_column[at], ValueClass::Strong));
                }
            });
        }
    }

    /// Bytes held, roughly: the automaton, the values and the numbers.
    pub fn memory_bytes(&self) -> usize {
        self.automaton.as_ref().map_or(0, |a| a.memory_usage())
            + self.values.capacity() * 8
            + self.value_meta.capacity() * 4
            + self.ranges.capacity() * 12
            + self.prefixes.capacity() * 9
            + self.numbers.capacity() * 12
    }
}

/// The digest check, run after the output is read: the output's hex runs of a digest's length
/// ([`hex_runs`]) are collected while it is read (their first 8 bytes, sorted: `wanted`), and
/// only when there are any is the source read again to compute the md5, sha1, sha256 and
/// blake3 of each personal value and keep those whose first 8 bytes are wanted. So the
/// digests of the source are never held (an output without hex runs costs nothing), and a
/// hex run is a hit when its first 8 bytes equal a digest's of its length (a chance match
/// needs 64 equal bits: a finding too many, never one missed).
#[derive(Debug, Default)]
pub struct DigestSearch {
    /// Sorted, deduplicated first 8 bytes of the output's hex runs.
    wanted: Vec<u64>,
    /// (first 8 bytes, algorithm) of the source's digests that are wanted.
    found: HashSet<(u64, Algorithm)>,
}

impl DigestSearch {
    /// `wanted`: the first 8 bytes of the output's hex runs, any order.
    pub fn new(mut wanted: Vec<u64>) -> DigestSearch {
        wanted.sort_unstable();
        wanted.dedup();
        wanted.shrink_to_fit();
        DigestSearch { wanted, found: HashSet::new() }
    }

    /// Whether the output has hex runs at all (else the source need not be read again).
    pub fn is_empty(&self) -> bool {
        self.wanted.is_empty()
    }

    /// Adds the digests of a personal value: `raw` as it is, and lowercased and trimmed.
    pub fn add(&mut self, raw: &str) {
        let variant = raw.trim().to_lowercase();
        for a in Algorithm::ALL {
            self.add_one(a, raw.as_bytes());
            if variant != raw {
                self.add_one(a, variant.as_bytes());
            }
        }
    }

    fn add_one(&mut self, a: Algorithm, bytes: &[u8]) {
        let p = a.prefix(bytes);
        if self.wanted.binary_search(&p).is_ok() {
            self.found.insert((p, a));
        }
    }

    /// Merges what another search over other values found.
    pub fn merge(&mut self, other: DigestSearch) {
        self.found.extend(other.found);
    }

    /// A search with the same wanted runs and nothing found yet.
    pub fn fork(&self) -> DigestSearch {
        DigestSearch { wanted: self.wanted.clone(), found: HashSet::new() }
    }

    /// The digests a hex run (its first 8 bytes, its length) is, of the values added.
    pub fn hits(&self, prefix: u64, len: usize, mut f: impl FnMut(Algorithm)) {
        for a in Algorithm::ALL {
            if a.hex_len() == len && self.found.contains(&(prefix, a)) {
                f(a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::text::{hex_runs, normalise};

    struct Test {
        matcher: Matcher,
        hashed: Vec<String>,
    }

    fn matcher(values: &[&str], hashed: &[&str]) -> Test {
        let mut numbers = Vec::new();
        let values = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let v = normalise(v);
                number_fps(&v, |fp| numbers.push((fp, i as u32)));
                (ValueKey::of(&v), i as u32, ValueClass::of(&v))
            })
            .collect();
        Test {
            matcher: Matcher::build(values, numbers).unwrap(),
            hashed: hashed.iter().map(|h| h.to_string()).collect(),
        }
    }

    impl Test {
        fn is_value(&self, normalised: &str) -> bool {
            self.matcher.is_value(normalised)
        }
    }

    /// The matcher's hits, and the digests as `verify` finds them (hex runs, then the source).
    fn scan(m: &Test, text: &str) -> Vec<Hit> {
        let mut hits = HashSet::new();
        let norm = normalise(text);
        m.matcher.scan(&norm, &mut hits);
        let mut runs = Vec::new();
        hex_runs(&norm, |prefix, len| runs.push((prefix, len)));
        let mut digests = DigestSearch::new(runs.iter().map(|r| r.0).collect());
        for h in &m.hashed {
            digests.add(h);
        }
        for (prefix, len) in runs {
            digests.hits(prefix, len, |a| {
                hits.insert(Hit::Digest(a));
            });
        }
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
