//! Tables copied unchanged: the source's `COPY … TO STDOUT` data handed to the sink's
//! `COPY … FROM STDIN` (or written into a SQL dump) as it comes, without decoding a value.
//!
//! A table whose every column is kept has nothing to transform; decoding its rows into Arrow
//! and encoding them again only costs time. When the sink takes COPY data in a format the
//! source can produce, the pipeline asks for a [`RawRequest`] and moves [`RawChunk`]s: the
//! bytes of whole rows, cut at row boundaries by a [`Chunker`], which also counts the rows
//! (for the report and the progress) and checks that each holds the expected number of fields.
//!
//! ```text
//! COPY … TO STDOUT ──bytes──▶ Chunker (whole rows, counted) ──RawChunk──▶ COPY … FROM STDIN / dump
//! ```
//!
//! Formats: text is what pg_dump writes and every server version reads. Binary is offered by a
//! sink only for built-in types whose binary form it writes itself ([`crate::sink`]'s binary
//! COPY encoder), and only between servers of the same major version, as PostgreSQL's
//! documentation advises; the binary stream's header and trailer are the sink's, so the
//! chunks carry tuples only.

use std::fmt;

/// The format of raw COPY data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    Text,
    Binary,
}

/// What a sink takes as raw COPY data for one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRequest {
    /// The source columns (indexes) in the order the sink's COPY lists them.
    pub columns: Vec<usize>,
    pub format: CopyFormat,
    /// For [`CopyFormat::Binary`]: the major version of the sink's server, which the source's
    /// must equal.
    pub server_major: Option<u32>,
}

/// The bytes of whole rows and how many there are.
#[derive(Debug, Default)]
pub struct RawChunk {
    pub bytes: Vec<u8>,
    pub rows: u64,
}

/// A problem in the framing of raw COPY data (never a value: none is decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramingError {
    /// The binary stream does not start with PostgreSQL's binary COPY signature.
    BadSignature,
    /// Row `row` (1-based) has `found` fields where `expected` were asked for.
    FieldCount { row: u64, found: i64, expected: usize },
    /// A field of row `row` has a negative length other than -1 (NULL).
    BadLength { row: u64 },
    /// The data ended inside row `row` (or inside the header, row 0).
    Truncated { row: u64 },
    /// Bytes after the binary trailer.
    AfterTrailer,
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FramingError::BadSignature => write!(f, "the binary COPY data does not start with its signature"),
            FramingError::FieldCount { row, found, expected } => {
                write!(f, "row {row} has {found} fields where {expected} were expected")
            }
            FramingError::BadLength { row } => write!(f, "row {row} has a field with an invalid length"),
            FramingError::Truncated { row: 0 } => write!(f, "the COPY data ended inside its header"),
            FramingError::Truncated { row } => write!(f, "the COPY data ended in the middle of row {row}"),
            FramingError::AfterTrailer => write!(f, "the binary COPY data goes on after its end marker"),
        }
    }
}

/// The size a chunk reaches before it is handed on.
pub const CHUNK_BYTES: usize = 1 << 20;

/// The binary header: signature, flags (no OIDs) and header-extension length.
const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Cuts a stream of raw COPY data into chunks of whole rows and counts them.
///
/// Feed it the bytes as they come ([`Chunker::push`]); it returns a chunk each time at
/// least [`CHUNK_BYTES`] of whole rows are ready, and [`Chunker::finish`] returns the rest.
pub struct Chunker {
    format: CopyFormat,
    fields: usize,
    /// Bytes received and not handed on yet; `buffer[..parsed]` holds whole rows.
    buffer: Vec<u8>,
    parsed: usize,
    /// Rows in `buffer[..parsed]`.
    pending_rows: u64,
    /// Rows handed on before.
    rows: u64,
    /// Binary: the header was read (and dropped).
    header_done: bool,
    /// Binary: the trailer was read.
    ended: bool,
}

impl Chunker {
    /// A chunker for rows of `fields` fields in `format`.
    pub fn new(format: CopyFormat, fields: usize) -> Chunker {
        Chunker {
            format,
            fields,
            buffer: Vec::with_capacity(CHUNK_BYTES + (CHUNK_BYTES >> 2)),
            parsed: 0,
            pending_rows: 0,
            rows: 0,
            header_done: format == CopyFormat::Text,
            ended: false,
        }
    }

    /// Rows handed on and ready so far.
    pub fn rows(&self) -> u64 {
        self.rows + self.pending_rows
    }

    /// Takes `data`; returns a chunk when enough whole rows are ready.
    pub fn push(&mut self, data: &[u8]) -> Result<Option<RawChunk>, FramingError> {
        if self.ended && !data.is_empty() {
            return Err(FramingError::AfterTrailer);
        }
        self.buffer.extend_from_slice(data);
        match self.format {
            CopyFormat::Text => self.scan_text(),
            CopyFormat::Binary => self.scan_binary()?,
        }
        Ok((self.parsed >= CHUNK_BYTES).then(|| self.take()))
    }

    /// The rows not handed on yet; fails if the data ended inside a row (or, for binary,
    /// before its trailer).
    pub fn finish(mut self) -> Result<RawChunk, FramingError> {
        let truncated = match self.format {
            CopyFormat::Text => self.parsed < self.buffer.len(),
            CopyFormat::Binary => !self.ended,
        };
        if truncated {
            return Err(FramingError::Truncated { row: if self.header_done { self.rows() + 1 } else { 0 } });
        }
        Ok(self.take())
    }

    /// Hands on the whole rows, keeping the bytes after them.
    fn take(&mut self) -> RawChunk {
        let rest = self.buffer.split_off(self.parsed);
        let bytes = std::mem::replace(&mut self.buffer, rest);
        self.buffer.reserve(CHUNK_BYTES + (CHUNK_BYTES >> 2));
        let chunk = RawChunk { bytes, rows: self.pending_rows };
        self.rows += self.pending_rows;
        self.pending_rows = 0;
        self.parsed = 0;
        chunk
    }

    /// Text rows end with a raw `\n` (newlines inside values are escaped). The fields are not
    /// counted: the server sent the columns asked for, and a short row fails the sink's COPY.
    fn scan_text(&mut self) {
        let fresh = &self.buffer[self.parsed..];
        let Some(last) = memchr::memrchr(b'\n', fresh) else { return };
        self.pending_rows += memchr::memchr_iter(b'\n', &fresh[..=last]).count() as u64;
        self.parsed += last + 1;
    }

    /// Binary: the header (dropped), then tuples (field count, then each field's length and
    /// bytes), then the trailer, a field count of -1 (dropped).
    fn scan_binary(&mut self) -> Result<(), FramingError> {
        if !self.header_done {
            // Signature, flags, header extension length, extension.
            if self.buffer.len() < SIGNATURE.len() + 8 {
                return Ok(());
            }
            if !self.buffer.starts_with(SIGNATURE) {
                return Err(FramingError::BadSignature);
            }
            let at = SIGNATURE.len() + 4;
            let extension = u32::from_be_bytes(self.buffer[at..at + 4].try_into().unwrap_or_default()) as usize;
            let header = at + 4 + extension;
            if self.buffer.len() < header {
                return Ok(());
            }
            self.buffer.drain(..header);
            self.header_done = true;
        }
        loop {
            let at = self.parsed;
            let Some(count) = self.buffer.get(at..at + 2) else { return Ok(()) };
            let count = i16::from_be_bytes([count[0], count[1]]);
            if count == -1 {
                if self.buffer.len() > at + 2 {
                    return Err(FramingError::AfterTrailer);
                }
                self.buffer.truncate(at);
                self.ended = true;
                return Ok(());
            }
            let row = self.rows() + 1;
            if count < 0 || count as usize != self.fields {
                return Err(FramingError::FieldCount { row, found: i64::from(count), expected: self.fields });
            }
            let mut end = at + 2;
            for _ in 0..count {
                let Some(length) = self.buffer.get(end..end + 4) else { return Ok(()) };
                let length = i32::from_be_bytes([length[0], length[1], length[2], length[3]]);
                end += 4;
                match length {
                    -1 => {}
                    n if n < 0 => return Err(FramingError::BadLength { row }),
                    n => end += n as usize,
                }
            }
            if end > self.buffer.len() {
                return Ok(());
            }
            self.parsed = end;
            self.pending_rows += 1;
        }
    }
}

/// The field at `index` of each row of a text chunk (`None` for NULL), still escaped.
pub fn text_fields(chunk: &[u8], index: usize) -> impl Iterator<Item = Option<&[u8]>> {
    let rows = chunk.strip_suffix(b"\n").unwrap_or(chunk);
    let count = if chunk.is_empty() { 0 } else { usize::MAX };
    rows.split(|&b| b == b'\n').take(count).map(move |row| {
        let field = row.split(|&b| b == b'\t').nth(index).unwrap_or_default();
        (field != super::copy_text::NULL).then_some(field)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binary_tuple(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut out = (fields.len() as i16).to_be_bytes().to_vec();
        for f in fields {
            match f {
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(b) => {
                    out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                    out.extend_from_slice(b);
                }
            }
        }
        out
    }

    fn binary_stream(rows: usize) -> (Vec<u8>, Vec<u8>) {
        let mut tuples = Vec::new();
        for i in 0..rows {
            let text = format!("row {i}");
            tuples.extend(binary_tuple(&[Some(&(i as i32).to_be_bytes()), None, Some(text.as_bytes())]));
        }
        let mut stream = SIGNATURE.to_vec();
        stream.extend_from_slice(&0u32.to_be_bytes());
        stream.extend_from_slice(&0u32.to_be_bytes());
        stream.extend_from_slice(&tuples);
        stream.extend_from_slice(&(-1i16).to_be_bytes());
        (stream, tuples)
    }

    /// Feeds `stream` in pieces of `piece` bytes; returns the chunks' bytes and rows.
    fn feed(format: CopyFormat, fields: usize, stream: &[u8], piece: usize) -> Result<(Vec<u8>, u64), FramingError> {
        let mut chunker = Chunker::new(format, fields);
        let (mut bytes, mut rows) = (Vec::new(), 0);
        for part in stream.chunks(piece.max(1)) {
            if let Some(chunk) = chunker.push(part)? {
                bytes.extend(chunk.bytes);
                rows += chunk.rows;
            }
        }
        let last = chunker.finish()?;
        bytes.extend(last.bytes);
        Ok((bytes, rows + last.rows))
    }

    #[test]
    fn binary_tuples_pass_without_header_and_trailer_however_the_data_is_cut() {
        let (stream, tuples) = binary_stream(100_000);
        for piece in [1, 7, 19, 4096, stream.len()] {
            let (bytes, rows) = feed(CopyFormat::Binary, 3, &stream, piece).unwrap();
            assert_eq!(rows, 100_000, "pieces of {piece}");
            assert!(bytes == tuples, "pieces of {piece}");
        }
    }

    #[test]
    fn large_streams_come_out_in_several_chunks_of_whole_rows() {
        let (stream, _) = binary_stream(200_000);
        let mut chunker = Chunker::new(CopyFormat::Binary, 3);
        let mut chunks = 0;
        for part in stream.chunks(65536) {
            if let Some(chunk) = chunker.push(part).unwrap() {
                assert!(chunk.bytes.len() >= CHUNK_BYTES && chunk.rows > 0);
                chunks += 1;
            }
        }
        assert!(chunks >= 2);
        let text: Vec<u8> = (0..300_000).flat_map(|i| format!("{i}\tx\\ty\t\\N\n").into_bytes()).collect();
        let (bytes, rows) = feed(CopyFormat::Text, 3, &text, 10_000).unwrap();
        assert_eq!((bytes.len(), rows), (text.len(), 300_000));
    }

    #[test]
    fn broken_framing_is_refused_with_the_row() {
        let (stream, _) = binary_stream(3);
        // Cut inside the second row, before the trailer, and without the header's end.
        let first_row = SIGNATURE.len() + 8 + binary_tuple(&[Some(b"1234"), None, Some(b"row 0")]).len();
        assert_eq!(feed(CopyFormat::Binary, 3, &stream[..first_row + 5], 3), Err(FramingError::Truncated { row: 2 }));
        assert_eq!(
            feed(CopyFormat::Binary, 3, &stream[..stream.len() - 2], 64),
            Err(FramingError::Truncated { row: 4 })
        );
        assert_eq!(feed(CopyFormat::Binary, 3, &stream[..10], 64), Err(FramingError::Truncated { row: 0 }));
        assert_eq!(
            feed(CopyFormat::Binary, 4, &stream, 64),
            Err(FramingError::FieldCount { row: 1, found: 3, expected: 4 })
        );
        assert_eq!(feed(CopyFormat::Binary, 3, b"not a copy stream at all", 64), Err(FramingError::BadSignature));
        let mut extra = stream.clone();
        extra.push(0);
        assert_eq!(feed(CopyFormat::Binary, 3, &extra, 64), Err(FramingError::AfterTrailer));
        assert_eq!(feed(CopyFormat::Text, 2, b"1\ta\n2\tb", 3), Err(FramingError::Truncated { row: 2 }));
    }

    #[test]
    fn text_fields_are_picked_by_position() {
        let chunk = b"1\ta\\tb\t7\n2\t\\N\t\\N\n";
        assert_eq!(text_fields(chunk, 2).collect::<Vec<_>>(), vec![Some(&b"7"[..]), None]);
        assert_eq!(text_fields(chunk, 0).collect::<Vec<_>>(), vec![Some(&b"1"[..]), Some(&b"2"[..])]);
        assert_eq!(text_fields(b"", 0).count(), 0);
    }
}
