//! Small helpers of the `fake` generators: picking from tables, `#`-templates, a
//! fixed-size ASCII buffer, slugs and retry numbering.

use fake::rand::rngs::ChaCha8Rng;
use fake::rand::{Rng, RngExt};

/// One entry of a table, uniformly; `""` for an empty table.
#[inline]
pub(super) fn pick(rng: &mut ChaCha8Rng, list: &'static [&'static str]) -> &'static str {
    match list.len() {
        0 => "",
        n => list[rng.random_range(0..n)],
    }
}

/// Letters for `$` in postcode formats (no C, F, I, K, M, O, Q, U, V, Y: valid in both UK
/// inward codes and Dutch postcodes).
pub(super) const POSTCODE_LETTERS: &[u8] = b"ABDEGHJLNPRSTWXZ";

/// Writes `fmt` with `#` replaced by a digit, `^` by a non-zero digit, `$` by a letter.
pub(super) fn numerify(fmt: &str, rng: &mut ChaCha8Rng, out: &mut String) {
    for c in fmt.chars() {
        match c {
            '#' => out.push(char::from(b'0' + rng.random_range(0..10u8))),
            '^' => out.push(char::from(b'0' + rng.random_range(1..10u8))),
            '$' => out.push(char::from(POSTCODE_LETTERS[rng.random_range(0..POSTCODE_LETTERS.len())])),
            c => out.push(c),
        }
    }
}

/// Writes `tpl`, replacing each `{Key}` by what `f` writes for `Key`.
pub(super) fn expand(
    tpl: &str,
    rng: &mut ChaCha8Rng,
    out: &mut String,
    mut f: impl FnMut(&str, &mut ChaCha8Rng, &mut String),
) {
    let mut rest = tpl;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                f(&after[..end], rng, out);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
}

/// SplitMix64 finaliser.
pub(super) fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The number added on a retry: `attempt + 1` digits (capped at 9), mixed with the attempt
/// so that attempts differ even if the caller reseeds the rng identically.
pub(super) fn retry_number(rng: &mut ChaCha8Rng, attempt: u32) -> u64 {
    let digits = attempt.saturating_add(1).min(9);
    let lo = 10u64.pow(digits - 1);
    let span = 9 * lo;
    let x = mix(rng.next_u64() ^ u64::from(attempt).wrapping_mul(0xD1B5_4A32_D192_ED03));
    lo + x % span
}

/// A fixed-size ASCII buffer (no allocation per row).
pub(super) struct Buf<const N: usize> {
    pub(super) b: [u8; N],
    pub(super) n: usize,
}

impl<const N: usize> Buf<N> {
    pub(super) fn new() -> Self {
        Buf { b: [0; N], n: 0 }
    }
    pub(super) fn push(&mut self, c: u8) {
        if self.n < N {
            self.b[self.n] = c;
            self.n += 1;
        }
    }
    pub(super) fn push_str(&mut self, s: &str) {
        for c in s.bytes() {
            self.push(c);
        }
    }
    pub(super) fn digits(&mut self, rng: &mut ChaCha8Rng, count: usize) {
        for _ in 0..count {
            self.push(b'0' + rng.random_range(0..10u8));
        }
    }
    pub(super) fn letters(&mut self, rng: &mut ChaCha8Rng, count: usize) {
        for _ in 0..count {
            self.push(b'A' + rng.random_range(0..26u8));
        }
    }
    pub(super) fn bytes(&self) -> &[u8] {
        &self.b[..self.n]
    }
    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(self.bytes()).unwrap_or("")
    }
    pub(super) fn is_empty(&self) -> bool {
        self.n == 0
    }
    /// The value of digits `from..to` (ASCII digits only).
    pub(super) fn number(&self, from: usize, to: usize) -> u64 {
        self.bytes()
            .get(from..to)
            .unwrap_or(&[])
            .iter()
            .fold(0u64, |acc, &c| acc * 10 + u64::from(c.wrapping_sub(b'0') % 10))
    }
}

/// Lowercase ASCII letters and digits of `s`, with common Latin accents folded
/// (`Müller` gives `muller`, `Ørsted` gives `orsted`); everything else is dropped.
pub(super) fn slug<const N: usize>(s: &str) -> Buf<N> {
    let mut b = Buf::new();
    for c in s.chars() {
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                b.push(c.to_ascii_lowercase() as u8);
            }
            continue;
        }
        for lc in c.to_lowercase() {
            if lc.is_ascii_alphanumeric() {
                b.push(lc as u8);
            } else if let Some(f) = crate::detect::names::fold_accent(lc) {
                b.push_str(f);
            }
        }
    }
    b
}
