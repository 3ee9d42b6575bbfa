//! The search side of `verify`: the source's distinctive personal values and numbers, held on
//! disk, found in the output's text; and the digest check.
//!
//! ```text
//! normalised output text ── every start on a word boundary ──▶ its first ≤8 bytes: any value
//!                           begins so? (table of 2^24 slots, the longest such value's length)
//!                        └─ key of the text up to each word boundary (prefix, fingerprint,
//!                           length) ──Bloom filter──▶ lookup in the sorted values file ─▶ hit
//!                        ──number runs──▶ fingerprint of the digits ──Bloom──▶ numbers file ─▶ hit
//!                        ──hex runs of 32/40/64 digits──▶ kept for the digest check ([`DigestSearch`])
//! ```
//!
//! Memory is fixed, whatever the number of values: the start table (16 MiB), the Bloom filters
//! of the values (64 MiB) and of the numbers (32 MiB), and one record in memory per 256 on disk
//! ([`SortedFile`]). Disk: 26 bytes per value, 12 per number fingerprint. No text is held: a
//! text matches a value when its key does, so equal texts always match and a collision (odds
//! 2^-64 per comparison, with the same first bytes and length) can only add a finding. The
//! start table and the Bloom filters answer "maybe" for some texts that are no value, which
//! only costs a lookup on disk. Digests are not held at all: see [`DigestSearch`].

use std::collections::HashSet;

use crate::error::Result;

use super::spill::{Bloom, Pair, Record, SortedFile, SpillDir};
use super::text::{ValueClass, is_word_char, number_digits, number_runs};

/// Bytes of each value the start table is keyed by (every searched value has at least 8 bytes).
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

    /// Bytes of [`ValueKey::encode`].
    pub const SIZE: usize = 21;

    pub fn encode(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.prefix);
        out[8] = self.prefix_len;
        out[9..17].copy_from_slice(&self.fp.to_ne_bytes());
        out[17..21].copy_from_slice(&self.len.to_ne_bytes());
    }

    pub fn decode(b: &[u8]) -> ValueKey {
        ValueKey {
            prefix: b[..8].try_into().expect("8 bytes"),
            prefix_len: b[8],
            fp: u64::from_ne_bytes(b[9..17].try_into().expect("8 bytes")),
            len: u32::from_ne_bytes(b[17..21].try_into().expect("4 bytes")),
        }
    }

    /// The hash the Bloom filter of the values holds.
    fn hash(&self) -> u64 {
        self.fp ^ u64::from(self.len).wrapping_mul(0xff51_afd7_ed55_8ccd)
    }
}

/// A key alone as a record (the public vocabulary, the kept cells): one per key.
impl Record for ValueKey {
    const SIZE: usize = ValueKey::SIZE;
    fn encode(&self, out: &mut [u8]) {
        ValueKey::encode(self, out)
    }
    fn decode(b: &[u8]) -> Self {
        ValueKey::decode(b)
    }
    fn fold(&mut self, next: &Self) -> bool {
        self == next
    }
}

/// A searched value: its key, the source column it was first seen in and its class. Sorted by
/// key then column: one per key, with the lowest column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Searched {
    pub key: ValueKey,
    pub column: u32,
    pub class: ValueClass,
}

impl Record for Searched {
    const SIZE: usize = ValueKey::SIZE + 5;
    fn encode(&self, out: &mut [u8]) {
        self.key.encode(out);
        out[21..25].copy_from_slice(&self.column.to_ne_bytes());
        out[25] = class_bits(self.class);
    }
    fn decode(b: &[u8]) -> Self {
        Searched {
            key: ValueKey::decode(b),
            column: u32::from_ne_bytes(b[21..25].try_into().expect("4 bytes")),
            class: class_of_bits(b[25]),
        }
    }
    fn fold(&mut self, next: &Self) -> bool {
        self.key == next.key
    }
}

/// The 64-bit fingerprint a searched value is held and looked up by. Equal texts always have
/// equal fingerprints, so a value is never missed; two different texts share one with odds
/// of 2^-64 per comparison, which can only add a finding, never hide one.
pub fn value_fp(normalised: &str) -> u64 {
    super::collect::fingerprint(normalised.as_bytes())
}

/// Slots of the start table (one byte each).
const START_SLOTS_LOG2: u32 = 24;
/// Bits of the Bloom filters of the values and of the numbers.
const VALUE_BLOOM_LOG2: u32 = 29;
const NUMBER_BLOOM_LOG2: u32 = 28;

/// The compiled search over values and numbers (digests: [`DigestSearch`]), on disk.
pub struct Matcher {
    /// The values, sorted by key.
    values: SortedFile<Searched>,
    value_filter: Bloom,
    /// Per slot (a hash of a value's prefix): the length in bytes of the longest value whose
    /// prefix falls in it, 0 when none does, 255 for 255 or more (then `longest`).
    starts: Vec<u8>,
    longest: u32,
    /// Fingerprints of the digits of the values that are numbers written with separators,
    /// with their source column: a phone is found whatever separators it is given.
    numbers: SortedFile<Pair>,
    number_filter: Bloom,
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

pub fn class_bits(c: ValueClass) -> u8 {
    match c {
        ValueClass::Strong => 0,
        ValueClass::Dictionary => 1,
        ValueClass::Other => 2,
    }
}

pub fn class_of_bits(bits: u8) -> ValueClass {
    match bits {
        0 => ValueClass::Strong,
        1 => ValueClass::Dictionary,
        _ => ValueClass::Other,
    }
}

fn start_slot(prefix: &[u8; PREFIX_BYTES], len: u8) -> usize {
    let h = (u64::from_le_bytes(*prefix) ^ u64::from(len)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> (64 - START_SLOTS_LOG2)) as usize
}

impl Matcher {
    /// `values`: the searched values, sorted by key, one per key. `numbers`: (number fingerprint
    /// from [`number_fps`], source column), sorted, one per fingerprint. Both are written to
    /// `dir`.
    pub fn build(
        dir: &SpillDir,
        values: impl Iterator<Item = Result<Searched>>,
        numbers: impl Iterator<Item = Result<Pair>>,
    ) -> Result<Matcher> {
        let mut value_filter = Bloom::new(VALUE_BLOOM_LOG2);
        let mut starts = vec![0u8; 1 << START_SLOTS_LOG2];
        let mut longest = 0;
        let values = SortedFile::write(dir, values, |v| {
            value_filter.insert(v.key.hash());
            let slot = &mut starts[start_slot(&v.key.prefix, v.key.prefix_len)];
            *slot = (*slot).max(v.key.len.min(255) as u8);
            longest = longest.max(v.key.len);
        })?;
        let mut number_filter = Bloom::new(NUMBER_BLOOM_LOG2);
        let numbers = SortedFile::write(dir, numbers, |n| number_filter.insert(n.0))?;
        Ok(Matcher { values, value_filter, starts, longest, numbers, number_filter })
    }

    /// A matcher over values and numbers in any order (as [`Matcher::build`] wants them sorted).
    pub fn of(dir: &SpillDir, mut values: Vec<Searched>, mut numbers: Vec<Pair>) -> Result<Matcher> {
        values.sort_unstable();
        values.dedup_by(|next, kept| kept.fold(next));
        numbers.sort_unstable();
        numbers.dedup_by(|next, kept| kept.fold(next));
        Matcher::build(dir, values.into_iter().map(Ok), numbers.into_iter().map(Ok))
    }

    /// How many values are searched for.
    pub fn value_count(&self) -> usize {
        self.values.len()
    }

    fn lookup(&self, key: &ValueKey) -> Result<Option<Searched>> {
        if !self.value_filter.may_contain(key.hash()) {
            return Ok(None);
        }
        self.values.get(|v| v.key.cmp(key))
    }

    /// Whether `normalised` is one of the searched values (a distinctive value). A
    /// fingerprint collision can only make this true for another text (a finding too many).
    pub fn is_value(&self, normalised: &str) -> Result<bool> {
        if normalised.len() < PREFIX_BYTES {
            return Ok(false);
        }
        Ok(self.lookup(&ValueKey::of(normalised))?.is_some())
    }

    /// Every hit in `text` (normal form), each (kind, column) at most once.
    pub fn scan(&self, text: &str, hits: &mut HashSet<Hit>) -> Result<()> {
        let mut previous: Option<char> = None;
        for (start, first) in text.char_indices() {
            let before = previous.replace(first);
            if is_word_char(first) && before.is_some_and(is_word_char) {
                continue;
            }
            let rest = &text[start..];
            if rest.len() < PREFIX_BYTES {
                break;
            }
            // A value found here begins with the same first bytes as `rest` (it has 8 or more).
            let (prefix, prefix_len) = prefix_key(rest);
            let longest = match self.starts[start_slot(&prefix, prefix_len)] {
                0 => continue,
                255 => self.longest,
                n => u32::from(n),
            };
            // Every end at a word boundary, from 8 bytes to the longest value: the character
            // before it or the one at it (none at the end) is not a word character.
            let mut limit = rest.len().min(longest as usize);
            while !rest.is_char_boundary(limit) {
                limit -= 1;
            }
            let ends = rest[..limit].char_indices().map(|(e, c)| (e, Some(c)));
            let mut before: Option<char> = None;
            for (e, at) in ends.chain(std::iter::once((limit, rest[limit..].chars().next()))) {
                let boundary = at.is_none_or(|c| !is_word_char(c)) || before.is_some_and(|c| !is_word_char(c));
                before = at;
                if e < PREFIX_BYTES || !boundary {
                    continue;
                }
                let key = ValueKey { prefix, prefix_len, fp: value_fp(&rest[..e]), len: e as u32 };
                if let Some(v) = self.lookup(&key)? {
                    hits.insert(Hit::Value(v.column, v.class));
                }
            }
        }
        if !self.numbers.is_empty() {
            let mut failed = None;
            number_runs(text, |digits| {
                let fp = number_fp(digits);
                if failed.is_some() || !self.number_filter.may_contain(fp) {
                    return;
                }
                match self.numbers.get(|n| n.0.cmp(&fp)) {
                    Ok(Some(n)) => {
                        hits.insert(Hit::Value(n.1, ValueClass::Strong));
                    }
                    Ok(None) => {}
                    Err(e) => failed = Some(e),
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Bytes held in memory, roughly.
    pub fn memory_bytes(&self) -> usize {
        self.values.memory_bytes()
            + self.value_filter.memory_bytes()
            + self.starts.capacity()
            + self.numbers.memory_bytes()
            + self.number_filter.memory_bytes()
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
        _dir: SpillDir,
    }

    fn matcher(values: &[&str], hashed: &[&str]) -> Test {
        let mut numbers = Vec::new();
        let values = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let v = normalise(v);
                number_fps(&v, |fp| numbers.push(Pair(fp, i as u32)));
                Searched { key: ValueKey::of(&v), column: i as u32, class: ValueClass::of(&v) }
            })
            .collect();
        let dir = SpillDir::with_run_records(crate::verify::spill::Part::Verify, 2).unwrap();
        Test {
            matcher: Matcher::of(&dir, values, numbers).unwrap(),
            hashed: hashed.iter().map(|h| h.to_string()).collect(),
            _dir: dir,
        }
    }

    impl Test {
        fn is_value(&self, normalised: &str) -> bool {
            self.matcher.is_value(normalised).unwrap()
        }
    }

    /// The matcher's hits, and the digests as `verify` finds them (hex runs, then the source).
    fn scan(m: &Test, text: &str) -> Vec<Hit> {
        let mut hits = HashSet::new();
        let norm = normalise(text);
        m.matcher.scan(&norm, &mut hits).unwrap();
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
