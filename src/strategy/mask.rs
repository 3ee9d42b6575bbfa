//! The `mask` strategy: hide most of a text value, keeping a few characters at its ends.
//!
//! Options:
//!
//! - `keep_first` / `keep_last`: how many characters to keep at the start and at the end
//!   (characters, not bytes, so accented letters and emoji count as one).
//! - `mask_char`: the character that replaces every other character (plain mode).
//! - `format_preserving`: instead of `mask_char`, replace characters by random characters
//!   of the same kind, so the result still looks like the original (see below).
//!
//! **Short values are never kept whole.** At least half of the characters (rounded up) are
//! always masked: at most `len / 2` characters (rounded down) are kept in total. When
//! `keep_first + keep_last` asks for more, both are reduced, keeping the smaller of the two
//! as asked when it fits in half of the allowance and splitting evenly otherwise (the extra
//! character, if any, going to the start). For example with `keep_first = 0, keep_last = 4`:
//! `4111111111111111` becomes `************1111`, but `1234` becomes `**34` and `7` becomes
//! `*`. An empty value stays empty.
//!
//! **Plain mode** replaces every masked character, whatever it is (spaces and separators
//! included), by `mask_char`. The length in characters is preserved.
//!
//! **Format-preserving mode** keeps the kept characters and, among the masked ones:
//! an ASCII digit becomes a random digit, an ASCII lowercase letter a random lowercase
//! letter, an ASCII uppercase letter a random uppercase letter, any other letter (accented,
//! other scripts) a random ASCII letter (uppercase if the original is uppercase, lowercase
//! otherwise); everything else (spaces, separators, punctuation, symbols) stays as it is.
//! So `+44 20 7946 0958` keeps its shape and `Zoë` may become `Kxa`. The random choices come
//! from the generator given by the caller, which is seeded from the keyed hash of the value,
//! so the same value always gets the same mask. The length in characters is preserved.
//! Note that this mode keeps separators and the letter/digit layout visible by design.

use arrow_array::ArrayRef;
use fake::rand::RngExt;
use fake::rand::rngs::ChaCha8Rng;
use serde::Deserialize;

use super::apply::{CellError, ColumnInput, Regenerate, map_text};
use super::fit::Declared;
use super::values::text_key;
use super::words::Words;
use super::{Behaviour, BindContext, Bound, RuleOptions, Strategy};
use crate::secret::DomainKey;

/// `action = "mask"`: hide characters of a text value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskRule {
    /// Characters kept at the start (default 0).
    #[serde(default)]
    pub keep_first: usize,
    /// Characters kept at the end (default 0).
    #[serde(default)]
    pub keep_last: usize,
    /// Replacement character in plain mode (default `*`).
    #[serde(default = "default_mask_char")]
    pub mask_char: char,
    /// Keep length, separators and character classes, replacing each digit with a keyed
    /// random digit and each letter with a letter of the same case (default false).
    #[serde(default)]
    pub format_preserving: bool,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub unique: bool,
}

fn default_mask_char() -> char {
    '*'
}

impl RuleOptions for MaskRule {
    fn action(&self) -> &'static str {
        "mask"
    }

    fn bind(&self, ctx: &BindContext) -> Result<Bound, Vec<String>> {
        ctx.text_only("mask")?;
        if self.unique && !self.format_preserving {
            return Err(vec![
                "`unique` needs `format_preserving = true`: plain masking cannot keep values distinct".into(),
            ]);
        }
        let spec = MaskSpec {
            keep_first: self.keep_first,
            keep_last: self.keep_last,
            mask_char: self.mask_char,
            format_preserving: self.format_preserving,
        };
        Ok(Bound { strategy: Strategy::Mask(spec), domain: ctx.domain_of(&self.domain), unique: self.unique })
    }
}

impl Behaviour for MaskSpec {
    fn action(&self) -> &'static str {
        "mask"
    }

    fn describe(&self) -> String {
        let words =
            Words::new("mask").opt("keep_first", self.keep_first as i64).opt("keep_last", self.keep_last as i64);
        if self.format_preserving {
            words.opt("format_preserving", true).finish()
        } else {
            words.opt("mask_char", self.mask_char.to_string()).finish()
        }
    }

    /// A mask keeps the length.
    fn fit(&self, _declared: &Declared) -> Result<Option<usize>, String> {
        Ok(None)
    }

    fn apply(&self, c: &ColumnInput) -> Result<ArrayRef, CellError> {
        map_text(c.input, |s, out| self.text_value(c.key, s, c.attempt, out))
    }

    fn text_value(&self, key: &DomainKey, s: &str, attempt: u32, out: &mut String) -> Result<(), String> {
        let mut buf = Vec::with_capacity(s.len() + 1);
        text_key(s, &mut buf);
        let mut rng = key.rng(b"mask", &buf, attempt);
        mask(self, s, &mut rng, out);
        Ok(())
    }

    fn regenerate_text(&self, r: &Regenerate) -> Option<Result<String, String>> {
        r.by_text_value(self)
    }
}

/// Options of the `mask` strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskSpec {
    /// Characters kept at the start.
    pub keep_first: usize,
    /// Characters kept at the end.
    pub keep_last: usize,
    /// Replacement character in plain mode.
    pub mask_char: char,
    /// Replace by random characters of the same kind instead of `mask_char`.
    pub format_preserving: bool,
}

/// How many characters are actually kept at the start and end of a value of `len`
/// characters: at most `len / 2` in total (see the module docs).
fn kept_counts(keep_first: usize, keep_last: usize, len: usize) -> (usize, usize) {
    let allowed = len / 2;
    if keep_first.saturating_add(keep_last) <= allowed {
        return (keep_first, keep_last);
    }
    let half_down = allowed / 2;
    if keep_first <= half_down {
        (keep_first, allowed - keep_first)
    } else if keep_last <= half_down {
        (allowed - keep_last, keep_last)
    } else {
        (allowed - half_down, half_down)
    }
}

/// Appends the masked `value` to `out`. `rng` is used only in format-preserving mode.
pub fn mask(spec: &MaskSpec, value: &str, rng: &mut ChaCha8Rng, out: &mut String) {
    let len = value.chars().count();
    let (first, last) = kept_counts(spec.keep_first, spec.keep_last, len);
    let masked_end = len - last;
    out.reserve(value.len());
    for (i, c) in value.chars().enumerate() {
        if i < first || i >= masked_end {
            out.push(c);
        } else if !spec.format_preserving {
            out.push(spec.mask_char);
        } else {
            out.push(random_like(c, rng));
        }
    }
}

/// A random character of the same kind as `c`, or `c` itself for non-alphanumerics.
fn random_like(c: char, rng: &mut ChaCha8Rng) -> char {
    let pick = |rng: &mut ChaCha8Rng, base: u8, n: u8| char::from(base + rng.random_range(0..n));
    if c.is_ascii_digit() {
        pick(rng, b'0', 10)
    } else if c.is_ascii_lowercase() {
        pick(rng, b'a', 26)
    } else if c.is_ascii_uppercase() {
        pick(rng, b'A', 26)
    } else if c.is_alphabetic() {
        if c.is_uppercase() { pick(rng, b'A', 26) } else { pick(rng, b'a', 26) }
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fake::rand::SeedableRng;

    fn rng(seed: u8) -> ChaCha8Rng {
        ChaCha8Rng::from_seed([seed; 32])
    }

    fn plain(first: usize, last: usize) -> MaskSpec {
        MaskSpec { keep_first: first, keep_last: last, mask_char: '*', format_preserving: false }
    }

    fn run(spec: &MaskSpec, v: &str) -> String {
        let mut out = String::new();
        mask(spec, v, &mut rng(7), &mut out);
        out
    }

    #[test]
    fn plain_keeps_ends_and_masks_middle() {
        assert_eq!(run(&plain(0, 4), "4111111111111111"), "************1111");
        assert_eq!(run(&plain(2, 2), "alice@example.com"), "al*************om");
        assert_eq!(run(&plain(0, 0), "secret"), "******");
        let mut hash = plain(1, 0);
        hash.mask_char = '#';
        assert_eq!(run(&hash, "a-b c"), "a####");
    }

    #[test]
    fn counts_chars_not_bytes() {
        let out = run(&plain(1, 1), "Zoë Müller");
        assert_eq!(out, "Z********r");
        let mut bullet = plain(2, 0);
        bullet.mask_char = '•';
        let out = run(&bullet, "ab😀cd");
        assert_eq!(out, "ab•••");
        assert_eq!(out.chars().count(), 5);
    }

    #[test]
    fn short_values_are_never_kept_whole() {
        assert_eq!(run(&plain(0, 4), "1234"), "**34");
        assert_eq!(run(&plain(0, 4), "123"), "**3");
        assert_eq!(run(&plain(4, 4), "7"), "*");
        assert_eq!(run(&plain(3, 3), "abcdef"), "ab***f");
        assert_eq!(run(&plain(1, 5), "abcdef"), "a***ef");
        assert_eq!(run(&plain(usize::MAX, usize::MAX), "abcdefgh"), "ab****gh");
        assert_eq!(run(&plain(3, 3), ""), "");
        for len in 0..40usize {
            for f in 0..12 {
                for l in 0..12 {
                    let (kf, kl) = kept_counts(f, l, len);
                    assert!(kf <= f && kl <= l);
                    assert!(kf + kl <= len / 2, "len {len} f {f} l {l}");
                    // Never reduce more than needed.
                    assert_eq!(kf + kl, (f + l).min(len / 2));
                }
            }
        }
    }

    #[test]
    fn plain_appends_and_ignores_rng() {
        let mut out = String::from(">");
        let mut r = rng(1);
        mask(&plain(1, 1), "hello", &mut r, &mut out);
        assert_eq!(out, ">h***o");
        let mut fresh = rng(1);
        assert_eq!(r.random::<u64>(), fresh.random::<u64>());
    }

    fn fp(first: usize, last: usize) -> MaskSpec {
        MaskSpec { keep_first: first, keep_last: last, mask_char: '*', format_preserving: true }
    }

    #[test]
    fn format_preserving_keeps_shape() {
        let input = "+44 20 7946-0958 Ab.cd Zoë ÉÀ 東京";
        let mut seen_changed = false;
        for seed in 0..50 {
            let mut out = String::new();
            mask(&fp(1, 2), input, &mut rng(seed), &mut out);
            assert_eq!(out.chars().count(), input.chars().count());
            let n = input.chars().count();
            for (i, (a, b)) in input.chars().zip(out.chars()).enumerate() {
                if i < 1 || i >= n - 2 {
                    assert_eq!(a, b);
                } else if a.is_ascii_digit() {
                    assert!(b.is_ascii_digit());
                } else if a.is_ascii_lowercase() || (a.is_alphabetic() && !a.is_uppercase()) {
                    assert!(b.is_ascii_lowercase(), "{a} -> {b}");
                } else if a.is_uppercase() {
                    assert!(b.is_ascii_uppercase(), "{a} -> {b}");
                } else {
                    assert_eq!(a, b, "separators stay");
                }
                if a != b {
                    seen_changed = true;
                }
            }
        }
        assert!(seen_changed);
    }

    #[test]
    fn format_preserving_is_deterministic_per_rng_and_varies_with_seed() {
        let v = "4111 1111 1111 1111";
        let a = {
            let mut o = String::new();
            mask(&fp(0, 4), v, &mut rng(3), &mut o);
            o
        };
        let b = {
            let mut o = String::new();
            mask(&fp(0, 4), v, &mut rng(3), &mut o);
            o
        };
        let c = {
            let mut o = String::new();
            mask(&fp(0, 4), v, &mut rng(4), &mut o);
            o
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.ends_with(" 1111"));
        assert_eq!(a.as_bytes()[4], b' ');
        // 12 random digits: the chance of all staying '1' is 1e-12.
        assert_ne!(&a[..14], &v[..14]);
    }

    #[test]
    fn format_preserving_digits_cover_all_values() {
        let v = "0".repeat(2000);
        let mut out = String::new();
        mask(&fp(0, 0), &v, &mut rng(9), &mut out);
        for d in b'0'..=b'9' {
            assert!(out.as_bytes().contains(&d));
        }
    }
}
