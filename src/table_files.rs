//! How table names become file names in a Parquet directory, and back: written by the Parquet
//! sink, read by the Parquet source.
//!
//! A table name comes from the data (anyone who can create a schema or a table in production
//! chooses it), so it is never used as a path as it is. It is encoded into ONE file name:
//!
//! - ASCII letters, digits, `_`, `-` and `.` stand for themselves, except a `.` at the start;
//! - every other byte of the name's UTF-8 (`/`, `\`, `%`, spaces, control characters, a
//!   leading `.`, every non-ASCII byte) is written `%XX`, two upper-case hex digits.
//!
//! So `public.customers` stays `public.customers.parquet`, `sales/2024` becomes
//! `sales%2F2024.parquet`, `../../escaped.t` becomes `%2E.%2F..%2Fescaped.t.parquet`, and
//! `"/some/dir/pwnd".t` becomes `%2Fsome%2Fdir%2Fpwnd.t.parquet`. The encoding is injective (`%`
//! itself is encoded) and reversible ([`decode`]); an encoded name never holds a separator,
//! never starts with `.` (doppel's own hidden staging entries, which the source skips) and is
//! never `.` or `..`. [`path_in`] checks again that the joined path is a direct child of its
//! directory before anything is created.
//!
//! Decoding is lenient: a file written by another tool (`my table.parquet`) keeps its name as
//! it is; only `%XX` sequences are decoded. Two files that decode to the same table are
//! reported by the source. On a case-insensitive file system two tables whose names differ
//! only in case would share a file: the sink creates every file with `create_new` and reports
//! the clash instead of overwriting.

use std::path::{Component, Path, PathBuf};

/// The longest file name most file systems take, in bytes.
const MAX_FILE_NAME: usize = 255;

/// True for the bytes that stand for themselves (at any position but the first for `.`).
fn plain(byte: u8, first: bool) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' || (byte == b'.' && !first)
}

/// The file-name form of `name` (without an extension).
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, byte) in name.bytes().enumerate() {
        if plain(byte, i == 0) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The table name a file name (without its extension) stands for: `%XX` decoded, everything
/// else as it is. `None` when the decoded bytes are not UTF-8.
pub fn decode(file_stem: &str) -> Option<String> {
    let bytes = file_stem.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = match bytes.get(i..i + 3) {
            Some([b'%', high, low]) if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() => {
                std::str::from_utf8(&[*high, *low]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
            }
            _ => None,
        };
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A table name shown in a message: quoted, with control characters escaped, so that a
/// hostile name cannot forge lines of output.
pub fn shown(name: &str) -> String {
    format!("{name:?}")
}

/// `dir/<encoded name><suffix>`, checked to be a direct child of `dir` with a name that file
/// systems take. `suffix` is `.parquet` for a file, empty for a folder of part files.
pub fn path_in(dir: &Path, name: &str, suffix: &str) -> Result<PathBuf, String> {
    let file_name = format!("{}{suffix}", encode(name));
    if file_name.len() > MAX_FILE_NAME {
        return Err(format!(
            "table {}: its file name would be {} bytes once encoded, more than the {MAX_FILE_NAME} file systems \
             take; rename the table, or skip it in the rules",
            shown(name),
            file_name.len()
        ));
    }
    let mut components = Path::new(&file_name).components();
    let single = matches!((components.next(), components.next()), (Some(Component::Normal(_)), None));
    let path = dir.join(&file_name);
    if !single || path.parent() != Some(dir) {
        return Err(format!("table {}: its file name does not stay inside {}", shown(name), dir.display()));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_names_keep_their_file_names() {
        assert_eq!(encode("public.customers"), "public.customers");
        assert_eq!(encode("sales_2024.order-lines"), "sales_2024.order-lines");
        assert_eq!(decode("public.customers").as_deref(), Some("public.customers"));
    }

    #[test]
    fn separators_dots_and_percent_signs_are_encoded() {
        assert_eq!(encode("/some/dir/pwnd.t"), "%2Fsome%2Fdir%2Fpwnd.t");
        assert_eq!(encode("../../escaped.t"), "%2E.%2F..%2Fescaped.t");
        assert_eq!(encode(".."), "%2E.");
        assert_eq!(encode("a%2F.b"), "a%252F.b");
        assert_eq!(encode("a\\b.c d"), "a%5Cb.c%20d");
        assert_eq!(encode("é.\n"), "%C3%A9.%0A");
    }

    #[test]
    fn files_of_other_tools_decode_to_their_own_names() {
        assert_eq!(decode("my table").as_deref(), Some("my table"));
        assert_eq!(decode("100%").as_deref(), Some("100%"));
        assert_eq!(decode("a%zz").as_deref(), Some("a%zz"));
        assert_eq!(decode("%FF"), None, "not UTF-8");
    }

    #[test]
    fn every_path_stays_a_direct_child_of_its_directory() {
        let dir = Path::new("/tmp/out");
        for name in ["/etc/passwd.x", "../../escaped.t", "..", ".", "a/b.c", "public.t", "\u{0}.x"] {
            let path = path_in(dir, name, ".parquet").unwrap();
            assert_eq!(path.parent(), Some(dir), "{name:?}");
            let folder = path_in(dir, name, "").unwrap();
            assert_eq!(folder.parent(), Some(dir), "{name:?}");
            assert!(!folder.file_name().unwrap().to_string_lossy().starts_with('.'), "{name:?}");
        }
        let long = format!("{}.{}", "/".repeat(63), "/".repeat(63));
        assert!(path_in(dir, &long, ".parquet").unwrap_err().contains("more than the 255"));
    }

    proptest! {
        #[test]
        fn encoding_is_reversible_and_never_a_path(name in "\\PC{0,40}") {
            let encoded = encode(&name);
            prop_assert_eq!(decode(&encoded), Some(name.clone()));
            prop_assert!(!encoded.contains('/') && !encoded.starts_with('.'));
        }

        #[test]
        fn different_names_get_different_file_names(a in "[./%a-c\u{e9}]{0,6}", b in "[./%a-c\u{e9}]{0,6}") {
            prop_assume!(a != b);
            prop_assert_ne!(encode(&a), encode(&b));
        }
    }
}
