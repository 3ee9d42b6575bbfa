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
//! - **integers** (8, 16, 32 and 64 bit columns): a keyed *permutation* of the column's
//!   range, so distinct ids stay distinct (primary keys stay unique) and no value ever
//!   falls outside the type. It is sign-preserving: non-negative values map to
//!   non-negative values and negative values to negative ones, so positive ids stay
//!   positive. It is built from a balanced Feistel network (10 rounds, round function
//!   keyed blake3) over the full width, with cycle-walking to stay within the
//!   non-negative half.
//! - **uuid**: a keyed permutation of the 122 bits that are not the version and variant
//!   fields. Those 6 bits are kept, so a valid uuid of any version stays a valid uuid of
//!   that version, and distinct uuids stay distinct (the mapping is a bijection on all
//!   2^128 values).
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

/// The integer permutation setup for `bits`: (feistel, bits actually used).
fn int_feistel(key: &DomainKey, bits: u32) -> (Feistel<'_>, u32) {
    let bits = bits.clamp(2, 64);
    // Balanced Feistel needs an even width; cycle-walking brings results back into range.
    let width = bits + (bits & 1);
    let f = Feistel {
        key,
        purpose: PURPOSE_INT,
        half: width / 2,
        // Place the width above the largest half (32 bits) so widths never share rounds.
        tag: (width as u128) << 64,
    };
    (f, bits)
}

/// Reduces `value` to the signed range of `bits` (two's complement wrap, like `as i8`).
fn wrap(value: i64, bits: u32) -> i64 {
    let shift = 64 - bits;
    (value << shift) >> shift
}

fn sign_preserving(key: &DomainKey, value: i64, bits: u32, step: impl Fn(&Feistel<'_>, u128) -> u128) -> i64 {
    let (feistel, bits) = int_feistel(key, bits);
    let value = wrap(value, bits);
    // Non-negative values are in [0, 2^(bits-1)); negative v maps to !v in the same range.
    let negative = value < 0;
    let magnitude = if negative { !value } else { value } as u128;
    let limit = 1u128 << (bits - 1);
    let mut y = step(&feistel, magnitude);
    // Cycle-walking: the permutation's cycle through `magnitude` returns below `limit`.
    while y >= limit {
        y = step(&feistel, y);
    }
    let y = y as i64;
    if negative { !y } else { y }
}

/// Keyed, sign-preserving permutation of the signed integer range of `bits` bits.
///
/// `bits` is meant to be 8, 16, 32 or 64; other widths in `2..=64` work the same way and
/// widths outside are clamped. A `value` outside the range of `bits` is first wrapped into
/// it (as a cast to the narrower type would).
pub fn permute_int(key: &DomainKey, value: i64, bits: u32) -> i64 {
    sign_preserving(key, value, bits, |f, x| f.forward(x))
}

/// Inverse of [`permute_int`] with the same key and width.
pub fn unpermute_int(key: &DomainKey, value: i64, bits: u32) -> i64 {
    sign_preserving(key, value, bits, |f, x| f.backward(x))
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

    #[test]
    fn int_permutation_sampled_32_and_64_bits() {
        let k = key("ids");
        for bits in [32u32, 64] {
            let lo = if bits == 64 { i64::MIN } else { -(1i64 << (bits - 1)) };
            let hi = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
            let mut outputs = std::collections::HashSet::new();
            let mut moved = 0;
            let mut samples: Vec<i64> = (-500..500).collect();
            samples.extend([lo, lo + 1, hi, hi - 1, 0, -1, 1]);
            let mut x = 0x9E37_79B9_7F4A_7C15u64;
            for _ in 0..2000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                samples.push(wrap(x as i64, bits));
            }
            samples.sort();
            samples.dedup();
            for &v in &samples {
                let p = permute_int(&k, v, bits);
                assert!((lo..=hi).contains(&p));
                assert_eq!(v < 0, p < 0);
                assert_eq!(unpermute_int(&k, p, bits), v);
                assert_eq!(permute_int(&k, v, bits), p, "deterministic");
                assert!(outputs.insert(p), "collision at {bits} bits");
                if p != v {
                    moved += 1;
                }
            }
            assert!(moved + 2 >= samples.len());
        }
    }

    #[test]
    fn int_permutation_depends_on_key_and_width() {
        let a = key("a");
        let b = key("b");
        let va: Vec<i64> = (1..50).map(|v| permute_int(&a, v, 32)).collect();
        let vb: Vec<i64> = (1..50).map(|v| permute_int(&b, v, 32)).collect();
        assert_ne!(va, vb);
        let v64: Vec<i64> = (1..50).map(|v| permute_int(&a, v, 64)).collect();
        assert_ne!(va, v64);
        // Small ids are spread over the range, not kept small.
        assert!(v64.iter().any(|&v| v > 1 << 40));
    }

    #[test]
    fn int_odd_widths_and_out_of_range_do_not_panic() {
        let k = key("x");
        for bits in [0u32, 1, 2, 3, 7, 63, 65, 1000] {
            for v in [i64::MIN, -1, 0, 1, 300, i64::MAX] {
                let p = permute_int(&k, v, bits);
                let b = bits.clamp(2, 64);
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
