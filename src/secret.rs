//! The run key and the per-domain subkeys derived from it.
//!
//! The key is text of at least [`MIN_KEY_LEN`] characters, read from the `DOPPEL_KEY`
//! environment variable or from a key file (never both, never from a rules file). Both are
//! read the same way ([`key_text`]): UTF-8 text, one trailing line ending (`\n` or `\r\n`)
//! removed and nothing else, so `DOPPEL_KEY="$(cat key)"`, `DOPPEL_KEY=$(cat key)$'\n'` and
//! `--key-file key` give the same key. A key file must be a regular file (a FIFO or a device
//! would block or never end) of at most [`MAX_KEY_FILE_BYTES`]. The key is never printed: `Debug` shows `Key(<redacted>)`. Every keyed operation goes through a
//! [`DomainKey`], derived with `blake3::derive_key` so that two domains never share a
//! subkey and equal inputs in one domain always give equal outputs.

use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use fake::rand::SeedableRng;
use fake::rand::rngs::ChaCha8Rng;

/// Minimum key length in characters.
pub const MIN_KEY_LEN: usize = 32;
/// A key must use at least this many different (non-space) characters.
pub const MIN_DISTINCT_CHARS: usize = 8;

/// Name of the environment variable holding the key.
pub const KEY_ENV: &str = "DOPPEL_KEY";

/// The largest key file read: a key is one line of text.
pub const MAX_KEY_FILE_BYTES: u64 = 4096;

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
    #[error("{origin} is not valid UTF-8 text: write the key as text, e.g. `head -c 32 /dev/urandom | base64`")]
    NotText { origin: String },
    #[error(
        "key file {path} is {kind}, not a regular file: doppel reads the key from a regular file only \
         (a FIFO or a device could block the run); write the key to a file with mode 600"
    )]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("key file {path} is larger than {MAX_KEY_FILE_BYTES} bytes: a key is one line of text; check the path")]
    TooLarge { path: PathBuf },
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

    /// Loads the key from the `DOPPEL_KEY` environment variable or from `key_file`.
    pub fn from_environment(key_file: Option<&Path>) -> Result<Key, KeyError> {
        Key::load(std::env::var_os(KEY_ENV), key_file)
    }

    /// Loads the key from `DOPPEL_KEY` (given as `env_value`, any bytes) or from `key_file`.
    pub fn load(env_value: Option<OsString>, key_file: Option<&Path>) -> Result<Key, KeyError> {
        match (env_value.filter(|v| !v.is_empty()), key_file) {
            (Some(_), Some(_)) => Err(KeyError::Both),
            (None, None) => Err(KeyError::Missing),
            (Some(value), None) => Key::from_text(&key_text(os_bytes(value), KEY_ENV)?),
            (None, Some(path)) => Key::from_file(path),
        }
    }

    fn from_file(path: &Path) -> Result<Key, KeyError> {
        let unreadable = |source| KeyError::Unreadable { path: path.to_path_buf(), source };
        // Looked at before opening (opening a FIFO waits for a writer), opened without
        // blocking, and looked at again through the open file (it may have been replaced).
        check_key_file(path, &std::fs::metadata(path).map_err(unreadable)?)?;
        let mut file = open_nonblocking(path).map_err(unreadable)?;
        check_key_file(path, &file.metadata().map_err(unreadable)?)?;
        let mut bytes = Vec::new();
        (&mut file).take(MAX_KEY_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(unreadable)?;
        if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
            return Err(KeyError::TooLarge { path: path.to_path_buf() });
        }
        Key::from_text(&key_text(bytes, &format!("key file {}", path.display()))?)
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

/// The key's text from its bytes, the same for `DOPPEL_KEY` and a key file: UTF-8, one
/// trailing `\n` or `\r\n` removed (what `echo` and editors add), nothing else trimmed.
/// `origin` names where the bytes came from, for the error.
pub fn key_text(bytes: Vec<u8>, origin: &str) -> Result<String, KeyError> {
    let mut text = String::from_utf8(bytes).map_err(|_| KeyError::NotText { origin: origin.to_string() })?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

#[cfg(unix)]
fn os_bytes(value: OsString) -> Vec<u8> {
    std::os::unix::ffi::OsStringExt::into_vec(value)
}

#[cfg(not(unix))]
fn os_bytes(value: OsString) -> Vec<u8> {
    // Not UTF-8 on this platform: refused as such by `key_text`.
    value.into_string().map(String::into_bytes).unwrap_or_else(|_| vec![0xff])
}

/// A key file is a regular file that other users cannot read.
fn check_key_file(path: &Path, meta: &std::fs::Metadata) -> Result<(), KeyError> {
    let file_type = meta.file_type();
    if !file_type.is_file() {
        #[cfg(unix)]
        use std::os::unix::fs::FileTypeExt;
        let kind = match () {
            _ if file_type.is_dir() => "a directory",
            #[cfg(unix)]
            _ if file_type.is_fifo() => "a FIFO (named pipe)",
            #[cfg(unix)]
            _ if file_type.is_socket() => "a socket",
            #[cfg(unix)]
            _ if file_type.is_char_device() || file_type.is_block_device() => "a device",
            _ => "not a regular file",
        };
        return Err(KeyError::NotRegular { path: path.to_path_buf(), kind });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::TooOpen { path: path.to_path_buf(), mode });
        }
    }
    Ok(())
}

/// Opens for reading without waiting for a writer, should `path` have become a FIFO.
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    options.open(path)
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
        self.keyed_hash(&[&(purpose.len() as u64).to_le_bytes(), purpose, input])
    }

    /// Keyed blake3 of the concatenation of `parts`. Short messages (nearly every value) are
    /// gathered on the stack and hashed in one call, which skips the incremental hasher's
    /// set-up; the bytes hashed, hence the output, are the same either way.
    fn keyed_hash(&self, parts: &[&[u8]]) -> blake3::Hash {
        const SHORT: usize = 256;
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if total > SHORT {
            let mut h = blake3::Hasher::new_keyed(&self.key);
            for part in parts {
                h.update(part);
            }
            return h.finalize();
        }
        let mut buffer = [0u8; SHORT];
        let mut at = 0;
        for part in parts {
            buffer[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        blake3::keyed_hash(&self.key, &buffer[..at])
    }

    /// First 8 bytes of [`DomainKey::hash`] as an integer.
    pub fn hash_u64(&self, purpose: &[u8], input: &[u8]) -> u64 {
        let bytes = self.hash(purpose, input);
        u64::from_le_bytes(bytes.as_bytes()[..8].try_into().expect("8 bytes"))
    }

    /// A deterministic random generator for `input`: the seed is the keyed hash of the
    /// input and the attempt number (attempts > 0 are used to resolve unique collisions).
    pub fn rng(&self, purpose: &[u8], input: &[u8], attempt: u32) -> ChaCha8Rng {
        let seed = self.keyed_hash(&[&(purpose.len() as u64).to_le_bytes(), purpose, &attempt.to_le_bytes(), input]);
        ChaCha8Rng::from_seed(*seed.as_bytes())
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
    fn short_and_long_inputs_hash_as_one_keyed_message() {
        let key = Key::from_text("0123456789abcdef0123456789abcdef-test").unwrap().domain("d");
        for len in [0, 10, 231, 232, 300, 5000] {
            let input = vec![7u8; len];
            let mut h = blake3::Hasher::new_keyed(&key.key);
            h.update(&4u64.to_le_bytes());
            h.update(b"fake");
            h.update(&3u32.to_le_bytes());
            h.update(&input);
            let seed = *h.finalize().as_bytes();
            assert_eq!(key.rng(b"fake", &input, 3), ChaCha8Rng::from_seed(seed), "{len} bytes");
        }
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
        assert!(matches!(Key::load(Some("x".repeat(40).into()), Some(p)), Err(KeyError::Both)));
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

    fn key_file(text: &[u8]) -> (tempfile::TempDir, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        (dir, path)
    }

    #[test]
    fn environment_and_key_file_read_the_same_text_into_the_same_key() {
        let key = "0123456789abcdef0123456789abcdef";
        let expected = Key::from_text(key).unwrap().fingerprint();
        for written in [key.to_string(), format!("{key}\n"), format!("{key}\r\n")] {
            let from_env = Key::load(Some(written.clone().into()), None).unwrap();
            let (_dir, path) = key_file(written.as_bytes());
            let from_file = Key::load(None, Some(&path)).unwrap();
            assert_eq!(from_env.fingerprint(), expected, "{written:?}");
            assert_eq!(from_file.fingerprint(), expected, "{written:?}");
        }
        // Only one line ending goes; spaces are part of the key, on both paths.
        let spaced = format!("{key} \n\n");
        let (_dir, path) = key_file(spaced.as_bytes());
        let env = Key::load(Some(spaced.clone().into()), None).unwrap().fingerprint();
        assert_eq!(env, Key::load(None, Some(&path)).unwrap().fingerprint());
        assert_ne!(env, expected);
    }

    #[test]
    fn non_utf8_key_is_reported_as_not_text_naming_where_it_came_from() {
        use std::os::unix::ffi::OsStringExt;
        let bytes = b"0123456789abcdef0123456789abcdef\xff".to_vec();
        let err = Key::load(Some(OsString::from_vec(bytes.clone())), None).unwrap_err();
        assert!(matches!(&err, KeyError::NotText { origin } if origin == KEY_ENV), "{err}");
        let (_dir, path) = key_file(&bytes);
        let err = Key::load(None, Some(&path)).unwrap_err();
        assert!(matches!(&err, KeyError::NotText { origin } if origin.contains(&path.display().to_string())), "{err}");
    }

    #[test]
    fn key_file_must_be_a_regular_file_of_bounded_size() {
        let dir = tempfile::tempdir().unwrap();
        let err = Key::load(None, Some(dir.path())).unwrap_err();
        assert!(matches!(err, KeyError::NotRegular { kind: "a directory", .. }), "{err}");
        let err = Key::load(None, Some(Path::new("/dev/null"))).unwrap_err();
        assert!(matches!(err, KeyError::NotRegular { kind: "a device", .. }), "{err}");
        let (_dir, path) = key_file(&vec![b'a'; MAX_KEY_FILE_BYTES as usize + 1]);
        assert!(matches!(Key::load(None, Some(&path)), Err(KeyError::TooLarge { .. })));
    }
}
