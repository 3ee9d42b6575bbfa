//! The run key and the per-domain subkeys derived from it.
//!
//! The key is text of at least [`MIN_KEY_LEN`] characters, read from the `DOPPEL_KEY`
//! environment variable or from a key file (never both, never from a rules file). It is
//! never printed: `Debug` shows `Key(<redacted>)`. Every keyed operation goes through a
//! [`DomainKey`], derived with `blake3::derive_key` so that two domains never share a
//! subkey and equal inputs in one domain always give equal outputs.

use std::fmt;
use std::path::{Path, PathBuf};

use fake::rand::SeedableRng;
use fake::rand::rngs::ChaCha8Rng;

/// Minimum key length in characters.
pub const MIN_KEY_LEN: usize = 32;
/// A key must use at least this many different (non-space) characters.
pub const MIN_DISTINCT_CHARS: usize = 8;

/// Name of the environment variable holding the key.
pub const KEY_ENV: &str = "DOPPEL_KEY";

/// Why a key could not be loaded. Never carries the key itself.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "no key: set {KEY_ENV} or pass --key-file FILE (at least {MIN_KEY_LEN} characters); \
         `doppel check` needs no key, `run` does"
    )]
    Missing,
    #[error("both {KEY_ENV} and --key-file are set: give the key one way only")]
    Both,
    #[error("the key is {len} characters long; it must be at least {MIN_KEY_LEN} characters")]
    TooShort { len: usize },
    #[error(
        "the key has only {distinct} different characters; use a random key of at least {MIN_KEY_LEN} \
         characters, e.g. `head -c 32 /dev/urandom | base64`"
    )]
    TooSimple { distinct: usize },
    #[error("cannot read key file {path}: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("key file {path} can be read by other users (mode {mode:o}); run `chmod 600 {path}` and retry")]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("key file {path} is not valid UTF-8 text")]
    NotText { path: PathBuf },
}

/// The run key. Cloning is cheap; the bytes are never shown.
#[derive(Clone)]
pub struct Key {
    master: [u8; 32],
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

impl Key {
    /// Builds a key from its text. The text is hashed into a fixed-size master secret.
    pub fn from_text(text: &str) -> Result<Key, KeyError> {
        let len = text.chars().count();
        if len < MIN_KEY_LEN {
            return Err(KeyError::TooShort { len });
        }
        // Spaces only, or one character repeated: a placeholder, not a key.
        let distinct = text.chars().filter(|c| !c.is_whitespace()).collect::<std::collections::BTreeSet<_>>().len();
        if distinct < MIN_DISTINCT_CHARS {
            return Err(KeyError::TooSimple { distinct });
        }
        Ok(Key { master: blake3::derive_key("doppel 2026 master key", text.as_bytes()) })
    }

    /// Loads the key from `DOPPEL_KEY` (given as `env_value`) or from `key_file`.
    pub fn load(env_value: Option<String>, key_file: Option<&Path>) -> Result<Key, KeyError> {
        match (env_value.filter(|v| !v.is_empty()), key_file) {
            (Some(_), Some(_)) => Err(KeyError::Both),
            (None, None) => Err(KeyError::Missing),
            (Some(text), None) => Key::from_text(&text),
            (None, Some(path)) => Key::from_file(path),
        }
    }

    fn from_file(path: &Path) -> Result<Key, KeyError> {
        let unreadable = |source| KeyError::Unreadable { path: path.to_path_buf(), source };
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::TooOpen { path: path.to_path_buf(), mode });
            }
        }
        let bytes = std::fs::read(path).map_err(unreadable)?;
        let text = String::from_utf8(bytes).map_err(|_| KeyError::NotText { path: path.to_path_buf() })?;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        Key::from_text(text)
    }

    /// The subkey for one domain (e.g. `"email"` or `"public.customers.id"`).
    pub fn domain(&self, domain: &str) -> DomainKey {
        let mut material = Vec::with_capacity(32 + domain.len());
        material.extend_from_slice(&self.master);
        material.extend_from_slice(domain.as_bytes());
        let key = blake3::derive_key("doppel 2026 domain subkey", &material);
        let round_key =
            blake3::keyed_hash(&key, b"doppel permutation rounds").as_bytes()[..16].try_into().expect("16 bytes");
        DomainKey { key, round_key }
    }

    /// A fingerprint that identifies the key without revealing it (for reports).
    pub fn fingerprint(&self) -> String {
        let h = blake3::keyed_hash(&self.master, b"doppel key fingerprint");
        h.to_hex()[..16].to_string()
    }
}

/// A keyed hasher for one domain. Equal inputs give equal outputs; inputs in different
/// domains, or under different keys, are unrelated.
#[derive(Clone)]
pub struct DomainKey {
    key: [u8; 32],
    /// SipHash key for permutation rounds, derived from `key` (see [`DomainKey::round`]).
    round_key: [u8; 16],
}

impl fmt::Debug for DomainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DomainKey(<redacted>)")
    }
}

impl DomainKey {
    /// Keyed blake3 of `purpose` and `input`. `purpose` separates uses of one domain
    /// (e.g. `b"hash"` vs `b"fake"`), so a hash output never reveals a fake seed.
    pub fn hash(&self, purpose: &[u8], input: &[u8]) -> blake3::Hash {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(&(purpose.len() as u64).to_le_bytes());
        h.update(purpose);
        h.update(input);
        h.finalize()
    }

    /// First 8 bytes of [`DomainKey::hash`] as an integer.
    pub fn hash_u64(&self, purpose: &[u8], input: &[u8]) -> u64 {
        let bytes = self.hash(purpose, input);
        u64::from_le_bytes(bytes.as_bytes()[..8].try_into().expect("8 bytes"))
    }

    /// A deterministic random generator for `input`: the seed is the keyed hash of the
    /// input and the attempt number (attempts > 0 are used to resolve unique collisions).
    pub fn rng(&self, purpose: &[u8], input: &[u8], attempt: u32) -> ChaCha8Rng {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(&(purpose.len() as u64).to_le_bytes());
        h.update(purpose);
        h.update(&attempt.to_le_bytes());
        h.update(input);
        ChaCha8Rng::from_seed(*h.finalize().as_bytes())
    }

    /// Round function of keyed permutations: a keyed PRF of `(purpose, round, x)`.
    ///
    /// SipHash-2-4 (a keyed PRF made for short inputs) under a subkey derived from the
    /// domain key with blake3: a blake3 call per Feistel round made integer permutations
    /// cost about 2 µs per value. Only the low 64 bits carry randomness.
    pub fn round(&self, purpose: &[u8], round: u8, x: u128) -> u128 {
        use std::hash::Hasher;
        let mut h = siphasher::sip::SipHasher24::new_with_key(&self.round_key);
        h.write(purpose);
        h.write_u8(round);
        h.write(&x.to_le_bytes());
        h.finish() as u128
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_or_repeated_keys_are_refused() {
        for text in [" ".repeat(40), "a".repeat(40), "ab".repeat(20), format!("{}\t", " ".repeat(40))] {
            assert!(matches!(Key::from_text(&text), Err(KeyError::TooSimple { .. })), "{text:?}");
        }
        assert!(Key::from_text("correct horse battery staple 0123456789").is_ok());
    }

    #[test]
    fn short_key_is_refused_without_echoing_it() {
        let err = Key::from_text("tooshort-secret").unwrap_err();
        assert!(matches!(err, KeyError::TooShort { len: 15 }));
        assert!(!err.to_string().contains("tooshort-secret"));
    }

    #[test]
    fn debug_is_redacted() {
        let k = Key::from_text("0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(format!("{k:?}"), "Key(<redacted>)");
        assert_eq!(format!("{:?}", k.domain("x")), "DomainKey(<redacted>)");
    }

    #[test]
    fn domains_and_keys_separate_outputs() {
        let a = Key::from_text("0123456789abcdef0123456789abcdef").unwrap();
        let b = Key::from_text("0123456789abcdef0123456789abcdeX").unwrap();
        let h = |k: &Key, d: &str| k.domain(d).hash(b"hash", b"alice@example.com");
        assert_eq!(h(&a, "email"), h(&a, "email"));
        assert_ne!(h(&a, "email"), h(&a, "other"));
        assert_ne!(h(&a, "email"), h(&b, "email"));
    }

    #[test]
    fn both_sources_is_an_error_and_none_is_missing() {
        let p = Path::new("/nonexistent");
        assert!(matches!(Key::load(Some("x".repeat(40)), Some(p)), Err(KeyError::Both)));
        assert!(matches!(Key::load(None, None), Err(KeyError::Missing)));
    }

    #[test]
    fn key_file_trailing_newline_ignored_and_open_mode_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, "0123456789abcdef0123456789abcdef\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(Key::load(None, Some(&path)), Err(KeyError::TooOpen { .. })));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let from_file = Key::load(None, Some(&path)).unwrap();
        let from_text = Key::from_text("0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(from_file.fingerprint(), from_text.fingerprint());
    }
}
