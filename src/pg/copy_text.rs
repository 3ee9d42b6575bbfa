//! PostgreSQL `COPY … TO STDOUT` text format: reading rows off the stream and undoing the
//! backslash escapes of a field.
//!
//! A row ends with a raw `\n` byte and its fields are separated by raw `\t` bytes; newlines
//! and tabs inside values are always escaped, so both bytes are unambiguous. A field that is
//! exactly `\N` is NULL (an escaped backslash followed by `N`, `\\N`, is the text `\N`).
//! Escapes, per the COPY documentation: `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, `\v`, `\NNN`
//! (one to three octal digits) and `\xHH` (one or two hex digits); a backslash before any
//! other character stands for that character.

use std::io::{self, BufRead};

/// The NULL marker of the text format.
pub const NULL: &[u8] = b"\\N";

/// A problem with the framing of the COPY data itself (not with one value's text form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscapeError {
    /// A backslash at the very end of a field.
    TrailingBackslash,
}

/// Undoes the escapes of one (non-NULL) field. Returns `raw` itself when it holds no
/// backslash, else the decoded bytes in `scratch`.
pub fn unescape<'a>(raw: &'a [u8], scratch: &'a mut Vec<u8>) -> Result<&'a [u8], EscapeError> {
    let Some(first) = memchr::memchr(b'\\', raw) else { return Ok(raw) };
    scratch.clear();
    scratch.extend_from_slice(&raw[..first]);
    let mut i = first;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' {
            scratch.push(b);
            i += 1;
            continue;
        }
        let Some(&c) = raw.get(i + 1) else { return Err(EscapeError::TrailingBackslash) };
        i += 2;
        match c {
            b'b' => scratch.push(0x08),
            b'f' => scratch.push(0x0c),
            b'n' => scratch.push(b'\n'),
            b'r' => scratch.push(b'\r'),
            b't' => scratch.push(b'\t'),
            b'v' => scratch.push(0x0b),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match raw.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = (v << 3) + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                scratch.push((v & 0o377) as u8);
            }
            b'x' if raw.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut v = hex_value(raw[i]);
                i += 1;
                if let Some(&d) = raw.get(i).filter(|d| d.is_ascii_hexdigit()) {
                    v = (v << 4) + hex_value(d);
                    i += 1;
                }
                scratch.push(v);
            }
            other => scratch.push(other),
        }
    }
    Ok(scratch)
}

fn hex_value(d: u8) -> u8 {
    match d {
        b'0'..=b'9' => d - b'0',
        b'a'..=b'f' => d - b'a' + 10,
        _ => d - b'A' + 10,
    }
}

/// Reads rows (lines without their `\n`) from a COPY stream, handing each to a callback.
///
/// A row that arrives whole in the reader's buffer (the server sends one row per CopyData
/// message) is passed without copying; a row split across buffers is gathered in `line`.
/// Memory use is one row, whatever the table size.
pub struct RowReader<R> {
    inner: R,
    line: Vec<u8>,
}

/// What ended [`RowReader::for_each_row`].
pub enum ReadError<E> {
    Io(io::Error),
    /// The stream ended in the middle of a row.
    Truncated,
    /// The callback asked to stop.
    Callback(E),
}

impl<R: BufRead> RowReader<R> {
    pub fn new(inner: R) -> RowReader<R> {
        RowReader { inner, line: Vec::new() }
    }

    /// Calls `row` for each row until the stream ends (`Ok`) or `row` fails.
    pub fn for_each_row<E>(&mut self, mut row: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), ReadError<E>> {
        loop {
            let buf = self.inner.fill_buf().map_err(ReadError::Io)?;
            if buf.is_empty() {
                return if self.line.is_empty() { Ok(()) } else { Err(ReadError::Truncated) };
            }
            match memchr::memchr(b'\n', buf) {
                Some(end) => {
                    let result = if self.line.is_empty() {
                        row(&buf[..end])
                    } else {
                        self.line.extend_from_slice(&buf[..end]);
                        let r = row(&self.line);
                        self.line.clear();
                        r
                    };
                    self.inner.consume(end + 1);
                    result.map_err(ReadError::Callback)?;
                }
                None => {
                    let n = buf.len();
                    self.line.extend_from_slice(buf);
                    self.inner.consume(n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn un(raw: &[u8]) -> Vec<u8> {
        let mut scratch = Vec::new();
        unescape(raw, &mut scratch).unwrap().to_vec()
    }

    #[test]
    fn escapes_are_undone() {
        assert_eq!(un(b"plain"), b"plain");
        assert_eq!(un(br"a\\b"), br"a\b");
        assert_eq!(un(br"\b\f\n\r\t\v"), b"\x08\x0c\n\r\t\x0b");
        assert_eq!(un(br"tab\there"), b"tab\there");
        assert_eq!(un(br"line\nbreak\r\n"), b"line\nbreak\r\n");
        assert_eq!(un(br"\101\7\0127"), b"A\x07\n7");
        assert_eq!(un(br"\777"), b"\xff");
        assert_eq!(un(br"\x41\x4a\xg\x7"), b"AJxg\x07");
        assert_eq!(un(br"\q\."), b"q.");
        // The text \N is escaped as \\N and is not NULL.
        assert_eq!(un(br"\\N"), br"\N");
        assert_eq!(un("é\\t€".as_bytes()), "é\t€".as_bytes());
        let mut scratch = Vec::new();
        assert_eq!(unescape(br"abc\", &mut scratch), Err(EscapeError::TrailingBackslash));
    }

    #[test]
    fn unescaped_fields_are_not_copied() {
        let raw = b"no escapes".to_vec();
        let mut scratch = Vec::new();
        assert!(std::ptr::eq(unescape(&raw, &mut scratch).unwrap(), &raw[..]));
    }

    /// A reader that hands out its data in small pieces, to split rows across buffers.
    struct Chunked<'a> {
        data: &'a [u8],
        chunk: usize,
    }
    impl io::Read for Chunked<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.fill_buf()?.len().min(out.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.consume(n);
            Ok(n)
        }
    }
    impl BufRead for Chunked<'_> {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            Ok(&self.data[..self.chunk.min(self.data.len())])
        }
        fn consume(&mut self, n: usize) {
            self.data = &self.data[n..];
        }
    }

    fn rows(data: &[u8], chunk: usize) -> Result<Vec<Vec<Vec<u8>>>, ()> {
        let mut out = Vec::new();
        let r = RowReader::new(Chunked { data, chunk }).for_each_row(|row| -> Result<(), ()> {
            out.push(row.split(|&b| b == b'\t').map(<[u8]>::to_vec).collect());
            Ok(())
        });
        match r {
            Ok(()) => Ok(out),
            Err(_) => Err(()),
        }
    }

    #[test]
    fn rows_split_at_raw_newlines_and_tabs_for_any_chunking() {
        let data = "1\ta\\tb\t\\N\n2\t\t\\\\N\n3\tline\\nnext\tüñí€😀\n".as_bytes();
        for chunk in 1..data.len() + 2 {
            let got = rows(data, chunk).unwrap();
            assert_eq!(got.len(), 3);
            assert_eq!(got[0], vec![b"1".to_vec(), br"a\tb".to_vec(), NULL.to_vec()]);
            // Empty string and NULL differ.
            assert_eq!(got[1], vec![b"2".to_vec(), b"".to_vec(), br"\\N".to_vec()]);
            assert_eq!(got[2][2], "üñí€😀".as_bytes());
        }
    }

    #[test]
    fn a_truncated_last_row_is_an_error() {
        assert!(rows(b"1\ta\n2\tb", 3).is_err());
        assert_eq!(rows(b"", 3).unwrap().len(), 0);
        // A zero-column row is an empty line.
        assert_eq!(rows(b"\n\n", 1).unwrap().len(), 2);
    }
}
