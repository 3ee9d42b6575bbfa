//! The `hash` strategy: keyed, deterministic replacement of identifiers.
//!
//! Every output depends on the value and the column's domain key only, so the same input
//! gives the same output in every table that shares the domain, and joins keep working.
//! Without the key the outputs cannot be reversed or recomputed (no dictionary attacks on
//! hashed e-mails or phone numbers).
//!
//! Three forms, chosen by the column type:
//!
//! - **hex** (text and binary columns): the keyed blake3 hash of the value, written as
//!   lowercase hexadecimal and truncated to `length` characters (1 to 64; values outside
//!   are clamped into that range). Shorter hashes collide sooner: with `length = 16`
//!   (64 bits) a collision is expected after about four billion distinct values.
//! - **integers** (8, 16, 32 and 64 bit columns): a keyed *permutation* that keeps the
//!   sign and the magnitude of the value (see [below](#integer-keys-keep-their-magnitude)),
//!   so distinct ids stay distinct (primary keys stay unique), no value ever falls outside
//!   the type, positive ids stay positive, and a pseudonymised key stays in the key space
//!   the source uses.
//! - **uuid**: a keyed permutation of the 122 bits that are not the version and variant
//!   fields. Those 6 bits are kept, so a valid uuid of any version stays a valid uuid of
//!   that version, and distinct uuids stay distinct (the mapping is a bijection on all
//!   2^128 values).
//!
//! ## Integer keys keep their magnitude
//!
//! A key fed by a sequence is loaded with its pseudonyms, and the target's sequence is then
//! set above the largest one. Were the pseudonyms spread over the whole type, an `integer`
//! key's sequence would end near 2^31 and a refreshed database would take only a few thousand
//! new rows before `nextval` overflowed. So the non-negative values are permuted in intervals
//! that each map onto themselves:
//!
//! ```text
//! [0, 2^16)          one block, permuted as a whole          ids 0 ..= 65535
//! [2^16, 2^17)       permuted within itself                  ids 65536 ..= 131071
//! [2^(j-1), 2^j)     permuted within itself (the low j-1 bits; the leading one is kept),
//!                    for every bit length j up to the type's
//! ```
//!
//! For 8 and 16 bit types the block is their whole non-negative half (2^7, 2^15 values), so
//! those are permuted over their whole range as before. A negative value `v` goes through the same scheme as `-(v + 1)` and comes back
//! negative. Every interval has its own permutation: a balanced Feistel network (10 rounds,
//! a SipHash round function under a subkey of the domain key, round tags naming the interval
//! and the type's width)
//! over the interval's bits, with cycle-walking for odd widths. Nothing is read from the data,
//! so every column of a domain (primary and foreign keys) agrees by construction, and a value
//! maps the same way whichever rows a run sees.
//!
//! Hence every pseudonym is below `2^b`, where `b` is the bit length of the source's largest
//! value, or below 2^16: the smallest power-of-two range that holds the source's values. The
//! sequence set after the load (the source's, or the largest pseudonym if that is higher) is
//! below twice the source's largest value or 65536, and a refreshed database accepts about as
//! many new rows as production does.
//!
//! **What this reveals.** Compared with a permutation of the whole range, a pseudonym shows
//! the sign of the value and, from 2^16 up, its bit length: which doubling interval it lies
//! in. For a key drawn from a sequence that is a coarse age: a row whose pseudonym is in
//! `[2^20, 2^21)` was created between the 1,048,576th and the 2,097,151st value. The order and
//! the value within an interval, and within the low block, stay hidden. A key's anonymity set
//! is the source's keys in its interval, and the top interval is usually only partly filled:
//! when the largest id is 2^20 + 1000, a pseudonym at or above 2^20 is one of the 1001 newest
//! rows. The largest pseudonym also gives the source's largest value within a factor of two.
//! Numbers that are not keys give away the same: the bit length of a card number stored as
//! an integer narrows the range of its leading digits.
//! Where the magnitude itself must not be known, do not pseudonymise the key with `hash`.
//!
//! The permutations are not encryption of the value for the purpose of secrecy against
//! someone holding the key: whoever has the key can invert them (the inverse functions
//! here exist for tests and for auditing).

use crate::secret::DomainKey;

/// The `hash` rule: its options, binding, fit check and application to arrays.
mod rule;
pub use rule::{HashFormat, HashRule, HashSpec};

const PURPOSE_HEX: &[u8] = b"hash.hex";
const PURPOSE_INT: &[u8] = b"hash.int";
const PURPOSE_UUID: &[u8] = b"hash.uuid";

/// Number of Feistel rounds for both integer and uuid permutations.
const ROUNDS: u8 = 10;

/// Appends the lowercase hex of the keyed blake3 hash of `input`, truncated to `length`
/// hex characters. `length` is clamped to `1..=64`.
pub fn hash_hex(key: &DomainKey, input: &[u8], length: usize, out: &mut String) {
    let n = length.clamp(1, 64);
    let hex = key.hash(PURPOSE_HEX, input).to_hex();
    out.push_str(&hex.as_str()[..n]);
}

/// A balanced Feistel permutation on `2 * half` bits (`half` in `1..=61`), keyed by
/// `purpose`; `tag` separates different widths sharing one purpose.
struct Feistel<'a> {
    key: &'a DomainKey,
    purpose: &'static [u8],
    half: u32,
    tag: u128,
}

impl Feistel<'_> {
    fn mask(&self) -> u128 {
        (1u128 << self.half) - 1
    }

    fn f(&self, round: u8, r: u128) -> u128 {
        self.key.round(self.purpose, round, r | self.tag) & self.mask()
    }

    fn forward(&self, x: u128) -> u128 {
        let m = self.mask();
        let (mut l, mut r) = ((x >> self.half) & m, x & m);
        for round in 0..ROUNDS {
            let next = l ^ self.f(round, r);
            l = r;
            r = next;
        }
        (l << self.half) | r
    }

    fn backward(&self, y: u128) -> u128 {
        let m = self.mask();
        let (mut l, mut r) = ((y >> self.half) & m, y & m);
        for round in (0..ROUNDS).rev() {
            let prev = r ^ self.f(round, l);
            r = l;
            l = prev;
        }
        (l << self.half) | r
    }
}

/// Bits of the low block: non-negative values below `2^LOW_BLOCK_BITS` are permuted among
/// themselves as one block (fewer bits for narrow types, see [`low_bits`]).
const LOW_BLOCK_BITS: u32 = 16;

/// Round tags of the two kinds of interval, so that the low block and an interval of the same
/// width never share a permutation (placed above the width, itself above the largest half).
/// The type's width goes above them (see [`type_tag`]).
const TAG_LOW_BLOCK: u128 = 1 << 72;
const TAG_INTERVAL: u128 = 2 << 72;

/// Round tag of a `bits`-bit type: integer columns of different widths never share a
/// permutation, so keys of different widths in one domain would not join by chance (the
/// plan refuses such domains).
fn type_tag(bits: u32) -> u128 {
    (bits as u128) << 80
}

/// Keyed permutation of `[0, 2^width)` for `width` in `0..=63` (`x` is below `2^width`):
/// a balanced Feistel network over `width` rounded up to an even number of bits, cycle-walked
/// back into range (for an odd width about two passes on average). `tag` (the interval's
/// kind and the type's width) and `width` both enter the round tag, so every interval has its
/// own permutation. Width 0 is the identity.
fn permute_bits(key: &DomainKey, width: u32, tag: u128, x: u64, forward: bool) -> u64 {
    if width == 0 {
        return x;
    }
    let f = Feistel { key, purpose: PURPOSE_INT, half: width.div_ceil(2), tag: tag | (width as u128) << 64 };
    let step = |y: u128| if forward { f.forward(y) } else { f.backward(y) };
    let limit = 1u128 << width;
    // Cycle-walking: the Feistel cycle through `x` (which is below `limit`) comes back below it.
    let mut y = step(x as u128);
    while y >= limit {
        y = step(y);
    }
    y as u64
}

/// Width of the low block for a `bits`-bit type (`bits` in `2..=64`): 16, or every
/// non-negative value when the type is narrower (`bits - 1`).
fn low_bits(bits: u32) -> u32 {
    LOW_BLOCK_BITS.min(bits - 1)
}

/// The magnitude-preserving permutation of non-negative `m` (below `2^(bits-1)`) for a
/// `bits`-bit type: the low block `[0, 2^low)` as one, and every `[2^(j-1), 2^j)` above it on
/// its own, leading one kept.
fn permute_magnitude(key: &DomainKey, m: u64, bits: u32, forward: bool) -> u64 {
    let len = u64::BITS - m.leading_zeros();
    let low = low_bits(bits);
    if len <= low {
        return permute_bits(key, low, TAG_LOW_BLOCK | type_tag(bits), m, forward);
    }
    let top = 1u64 << (len - 1);
    top | permute_bits(key, len - 1, TAG_INTERVAL | type_tag(bits), m - top, forward)
}

/// Reduces `value` to the signed range of `bits` (two's complement wrap, like `as i8`).
fn wrap(value: i64, bits: u32) -> i64 {
    let shift = 64 - bits;
    (value << shift) >> shift
}

fn sign_and_magnitude(key: &DomainKey, value: i64, bits: u32, forward: bool) -> i64 {
    let bits = bits.clamp(2, 64);
    let value = wrap(value, bits);
    // Negative v has the magnitude !v = -(v + 1), in [0, 2^(bits-1)) like the non-negative
    // values (so the type's minimum maps to a negative value too, and nothing overflows).
    let negative = value < 0;
    let m = if negative { !value } else { value } as u64;
    let y = permute_magnitude(key, m, bits, forward) as i64;
    if negative { !y } else { y }
}

/// Keyed, sign- and magnitude-preserving permutation of the signed integer range of `bits`
/// bits (see the module doc for the intervals and what they reveal).
///
/// `bits` is meant to be 8, 16, 32 or 64; other widths in `2..=64` work the same way and
/// widths outside are clamped. A `value` outside the range of `bits` is first wrapped into
/// it (as a cast to the narrower type would).
pub fn permute_int(key: &DomainKey, value: i64, bits: u32) -> i64 {
    sign_and_magnitude(key, value, bits, true)
}

/// Inverse of [`permute_int`] with the same key and width.
pub fn unpermute_int(key: &DomainKey, value: i64, bits: u32) -> i64 {
    sign_and_magnitude(key, value, bits, false)
}

// UUID layout as a big-endian u128: version = bits 76..80, variant = bits 62..64.
const UUID_FIXED: u128 = (0xF << 76) | (0x3 << 62);

/// The 122 free bits of a uuid, packed contiguously.
fn uuid_compact(u: u128) -> u128 {
    let top = u >> 80; // 48 bits
    let mid = (u >> 64) & 0xFFF; // 12 bits
    let low = u & ((1u128 << 62) - 1); // 62 bits
    (top << 74) | (mid << 62) | low
}

fn uuid_expand(c: u128, fixed: u128) -> u128 {
    let top = (c >> 74) & ((1u128 << 48) - 1);
    let mid = (c >> 62) & 0xFFF;
    let low = c & ((1u128 << 62) - 1);
    (top << 80) | (mid << 64) | low | (fixed & UUID_FIXED)
}

fn uuid_step(key: &DomainKey, value: [u8; 16], forward: bool) -> [u8; 16] {
    let u = u128::from_be_bytes(value);
    let f = Feistel { key, purpose: PURPOSE_UUID, half: 61, tag: 0 };
    let c = uuid_compact(u);
    let c = if forward { f.forward(c) } else { f.backward(c) };
    uuid_expand(c, u).to_be_bytes()
}

/// Keyed permutation of uuids that keeps the version and variant fields.
pub fn permute_uuid(key: &DomainKey, value: [u8; 16]) -> [u8; 16] {
    uuid_step(key, value, true)
}

/// Inverse of [`permute_uuid`].
pub fn unpermute_uuid(key: &DomainKey, value: [u8; 16]) -> [u8; 16] {
    uuid_step(key, value, false)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parses uuid text: canonical `8-4-4-4-12` hyphenated form or 32 hex digits without
/// hyphens, either optionally wrapped in `{}`; hex digits in any case. Anything else
/// (including surrounding spaces) gives `None`.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    let b = match b {
        [b'{', inner @ .., b'}'] => inner,
        _ => b,
    };
    let hyphenated = match b.len() {
        36 => true,
        32 => false,
        _ => return None,
    };
    let mut out = [0u8; 16];
    let mut nibbles = 0usize;
    for (i, &c) in b.iter().enumerate() {
        if hyphenated && matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        let v = hex_val(c)?;
        out[nibbles / 2] |= if nibbles.is_multiple_of(2) { v << 4 } else { v };
        nibbles += 1;
    }
    (nibbles == 32).then_some(out)
}

/// Appends `u` as lowercase hyphenated uuid text (`8-4-4-4-12`).
pub fn format_uuid(u: &[u8; 16], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(36);
    for (i, &byte) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[(byte >> 4) as usize] as char);
        out.push(HEX[(byte & 0xF) as usize] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Key;

    fn key(domain: &str) -> DomainKey {
        Key::from_text("0123456789abcdef0123456789abcdef").unwrap().domain(domain)
    }

    #[test]
    fn hex_is_deterministic_keyed_and_truncated() {
        let k = key("email");
        let mut a = String::new();
        hash_hex(&k, b"alice@example.com", 16, &mut a);
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        let mut b = String::new();
        hash_hex(&k, b"alice@example.com", 16, &mut b);
        assert_eq!(a, b);
        let mut full = String::new();
        hash_hex(&k, b"alice@example.com", 64, &mut full);
        assert!(full.starts_with(&a));
        assert_eq!(full, k.hash(PURPOSE_HEX, b"alice@example.com").to_hex().as_str());
        let mut other = String::new();
        hash_hex(&key("other"), b"alice@example.com", 16, &mut other);
        assert_ne!(a, other);
        let mut c = String::new();
        hash_hex(&k, b"bob@example.com", 16, &mut c);
        assert_ne!(a, c);
    }

    #[test]
    fn hex_length_is_clamped_and_appends() {
        let k = key("d");
        let mut s = String::from("x");
        hash_hex(&k, b"v", 0, &mut s);
        assert_eq!(s.len(), 2);
        let mut s = String::new();
        hash_hex(&k, b"v", 1000, &mut s);
        assert_eq!(s.len(), 64);
    }

    fn check_exhaustive(bits: u32) {
        let k = key("ids");
        let lo = -(1i64 << (bits - 1));
        let hi = (1i64 << (bits - 1)) - 1;
        let n = (hi - lo + 1) as usize;
        let mut seen = vec![false; n];
        let mut fixed = 0;
        for v in lo..=hi {
            let p = permute_int(&k, v, bits);
            assert!((lo..=hi).contains(&p), "{bits}: out of range");
            assert_eq!(v < 0, p < 0, "{bits}: sign changed");
            let idx = (p - lo) as usize;
            assert!(!seen[idx], "{bits}: collision");
            seen[idx] = true;
            assert_eq!(unpermute_int(&k, p, bits), v);
            if p == v {
                fixed += 1;
            }
        }
        assert!(seen.iter().all(|&s| s));
        // A random permutation has about one fixed point; allow generous slack.
        assert!(fixed < 10, "{bits}: {fixed} fixed points");
    }

    #[test]
    fn int_permutation_is_bijective_8_bits() {
        check_exhaustive(8);
    }

    #[test]
    fn int_permutation_is_bijective_16_bits() {
        check_exhaustive(16);
    }

    /// The interval a value of a type of 17 bits or more stays in: its sign and the bit
    /// length of its magnitude, the low block counting as one length.
    fn interval(v: i64) -> (bool, u32) {
        let m = if v < 0 { !v } else { v } as u64;
        (v < 0, (u64::BITS - m.leading_zeros()).max(LOW_BLOCK_BITS))
    }

    /// A few thousand values: every bit length, both signs, the ends of the type.
    fn samples(bits: u32) -> Vec<i64> {
        let lo = if bits == 64 { i64::MIN } else { -(1i64 << (bits - 1)) };
        let hi = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
        let mut samples: Vec<i64> = (-500..500).collect();
        samples.extend([lo, lo + 1, hi, hi - 1, 0, -1, 1]);
        for j in 1..bits - 1 {
            let p = 1i64 << j;
            samples.extend([p - 1, p, p + 1, -p - 1, -p, -p + 1]);
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..4000u32 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // Random values of every magnitude, not only huge ones.
            samples.push(wrap((x as i64) >> (i % 64), bits));
        }
        samples.sort();
        samples.dedup();
        samples
    }

    #[test]
    fn int_permutation_sampled_32_and_64_bits_keeps_sign_and_magnitude() {
        let k = key("ids");
        for bits in [32u32, 64] {
            let mut outputs = std::collections::HashSet::new();
            let mut moved = 0;
            let samples = samples(bits);
            for &v in &samples {
                let p = permute_int(&k, v, bits);
                assert_eq!(wrap(p, bits), p, "{bits}: out of the type's range");
                assert_eq!(interval(p), interval(v), "{bits}: left its interval");
                assert_eq!(unpermute_int(&k, p, bits), v);
                assert_eq!(permute_int(&k, v, bits), p, "deterministic");
                assert!(outputs.insert(p), "collision at {bits} bits");
                if p != v {
                    moved += 1;
                }
            }
            // Every interval has 2^16 values or more: fixed points are rare.
            assert!(moved + 5 >= samples.len(), "{bits}: {moved} of {} moved", samples.len());
        }
    }

    #[test]
    fn int_permutation_is_bijective_on_every_interval_below_2_pow_18() {
        let k = key("ids");
        let n = 1usize << 18;
        for negative in [false, true] {
            let mut seen = vec![false; n];
            for m in 0..n as i64 {
                let v = if negative { !m } else { m };
                let p = permute_int(&k, v, 32);
                assert_eq!(interval(p), interval(v), "left its interval");
                let idx = if negative { !p } else { p } as usize;
                assert!(!seen[idx], "collision");
                seen[idx] = true;
                assert_eq!(unpermute_int(&k, p, 32), v);
            }
            assert!(seen.iter().all(|&s| s));
        }
    }

    #[test]
    fn int_intervals_of_every_width_are_keyed_permutations() {
        let k = key("ids");
        for kind in [TAG_LOW_BLOCK, TAG_INTERVAL] {
            assert_eq!(permute_bits(&k, 0, kind, 0, true), 0);
            for width in 1..=12u32 {
                let n = 1u64 << width;
                let mut seen = vec![false; n as usize];
                for x in 0..n {
                    let y = permute_bits(&k, width, kind, x, true);
                    assert!(y < n && !seen[y as usize], "width {width}");
                    seen[y as usize] = true;
                    assert_eq!(permute_bits(&k, width, kind, y, false), x);
                }
            }
            for width in 13..=63u32 {
                let mask = (1u64 << width) - 1;
                let mut x = 0x2545_F491_4F6C_DD1Du64 ^ width as u64;
                for _ in 0..200 {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let v = x & mask;
                    let y = permute_bits(&k, width, kind, v, true);
                    assert!(y <= mask, "width {width}");
                    assert_eq!(permute_bits(&k, width, kind, y, false), v);
                }
                for v in [0, mask] {
                    assert_eq!(permute_bits(&k, width, kind, permute_bits(&k, width, kind, v, true), false), v);
                }
            }
        }
        // The block and the interval of 16 bits, and intervals of neighbouring widths, differ.
        let shuffled = |width, kind| (0..64u64).map(|x| permute_bits(&k, width, kind, x, true)).collect::<Vec<_>>();
        assert_ne!(shuffled(16, TAG_LOW_BLOCK), shuffled(16, TAG_INTERVAL));
        assert_ne!(shuffled(16, TAG_INTERVAL), shuffled(17, TAG_INTERVAL));
        assert_ne!(shuffled(17, TAG_INTERVAL), shuffled(18, TAG_INTERVAL));
    }

    #[test]
    fn int_permutation_depends_on_key_and_keeps_small_ids_small() {
        let a = key("a");
        let b = key("b");
        let va: Vec<i64> = (1..50).map(|v| permute_int(&a, v, 32)).collect();
        let vb: Vec<i64> = (1..50).map(|v| permute_int(&b, v, 32)).collect();
        assert_ne!(va, vb);
        let v16: Vec<i64> = (1..50).map(|v| permute_int(&a, v, 16)).collect();
        let v64: Vec<i64> = (1..50).map(|v| permute_int(&a, v, 64)).collect();
        assert_ne!(va, v16);
        assert_ne!(va, v64);
        assert_ne!(permute_int(&a, 100_000, 32), permute_int(&a, 100_000, 64));
        // Ids below 2^16 stay below 2^16 whatever the type, and are shuffled over that block.
        assert!(va.iter().chain(&v64).all(|&v| (0..1 << 16).contains(&v)));
        assert!(va.iter().any(|&v| v > 1 << 12));
        // 100000 ids (17 bits) stay below 2^17, i.e. below twice the largest.
        let b = key("ids");
        let max = (1..=100_000).map(|v| permute_int(&b, v, 32)).max().unwrap();
        assert!((100_000..1 << 17).contains(&max), "{max}");
    }

    #[test]
    fn int_odd_widths_and_out_of_range_do_not_panic() {
        let k = key("x");
        for bits in [0u32, 1, 2, 3, 7, 17, 63, 65, 1000] {
            for v in [i64::MIN, -1, 0, 1, 300, i64::MAX] {
                let p = permute_int(&k, v, bits);
                let b = bits.clamp(2, 64);
                assert_eq!(wrap(p, b), p);
                assert_eq!(unpermute_int(&k, p, bits), wrap(v, b));
            }
        }
        // Out-of-range input for 8 bits wraps like `as i8`, output stays in range.
        let p = permute_int(&k, 300, 8);
        assert!((0..=127).contains(&p));
        assert_eq!(p, permute_int(&k, 300i64 as i8 as i64, 8));
    }

    #[test]
    fn uuid_parse_and_format_round_trip() {
        let text = "123e4567-e89b-42d3-a456-426614174000";
        let u = parse_uuid(text).unwrap();
        assert_eq!(u[0], 0x12);
        assert_eq!(u[15], 0x00);
        let mut s = String::new();
        format_uuid(&u, &mut s);
        assert_eq!(s, text);
        assert_eq!(parse_uuid("123E4567-E89B-42D3-A456-426614174000"), Some(u));
        assert_eq!(parse_uuid("{123e4567-e89b-42d3-a456-426614174000}"), Some(u));
        assert_eq!(parse_uuid("123e4567e89b42d3a456426614174000"), Some(u));
        assert_eq!(parse_uuid("{123e4567e89b42d3a456426614174000}"), Some(u));
        for bad in [
            "",
            "{}",
            "123e4567-e89b-42d3-a456-42661417400",
            "123e4567-e89b-42d3-a456-4266141740000",
            "123e4567e-89b-42d3-a456-426614174000",
            "123e4567-e89b-42d3-a456-42661417400g",
            " 123e4567-e89b-42d3-a456-426614174000",
            "{123e4567-e89b-42d3-a456-426614174000",
            "123e4567-e89b-42d3-a456-4266141740é",
        ] {
            assert_eq!(parse_uuid(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn uuid_permutation_keeps_version_and_variant_and_inverts() {
        let k = key("uuids");
        let mut seen = std::collections::HashSet::new();
        let mut x = 1u128;
        for i in 0..2000u32 {
            x = x.wrapping_mul(0x2360ED051FC65DA44385DF649FCCF645).wrapping_add(0x5851F42D4C957F2D14057B7EF767814F);
            let u = x.to_be_bytes();
            let p = permute_uuid(&k, u);
            assert_eq!(p[6] >> 4, u[6] >> 4, "version kept");
            assert_eq!(p[8] >> 6, u[8] >> 6, "variant kept");
            assert_eq!(unpermute_uuid(&k, p), u);
            assert_ne!(p, u);
            assert!(seen.insert(p), "collision at {i}");
        }
        // A v4 uuid stays a v4 uuid.
        let u = parse_uuid("123e4567-e89b-42d3-a456-426614174000").unwrap();
        let p = permute_uuid(&k, u);
        let mut s = String::new();
        format_uuid(&p, &mut s);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(permute_uuid(&k, u), p);
        assert_ne!(permute_uuid(&key("other"), u), p);
    }

    #[test]
    fn uuid_bit_packing_round_trips() {
        for u in [0u128, u128::MAX, 0x0123456789ABCDEF_FEDCBA9876543210] {
            let c = uuid_compact(u);
            assert!(c < 1u128 << 122);
            assert_eq!(uuid_expand(c, u), u);
        }
        // Every free bit moves to a distinct compact bit.
        let mut all = 0u128;
        for bit in 0..128 {
            let u = 1u128 << bit;
            if u & UUID_FIXED != 0 {
                assert_eq!(uuid_compact(u), 0);
            } else {
                let c = uuid_compact(u);
                assert_eq!(c.count_ones(), 1);
                assert_eq!(all & c, 0);
                all |= c;
            }
        }
        assert_eq!(all, (1u128 << 122) - 1);
    }
}
