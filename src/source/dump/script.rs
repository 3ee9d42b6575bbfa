//! Reading a plain SQL dump once, line by line, in constant memory: the SQL outside table
//! data is collected and parsed with PostgreSQL's own grammar (`pg_query`) into [`Piece`]s;
//! each `COPY … FROM stdin;` block is checked and remembered by where its rows start in the
//! file ([`CopyBlock`]), never held in memory. What is read can be copied to a spool file as
//! it goes (stdin, or `pg_restore`'s output), so that the rows can be read again later.
//!
//! A line starting with `COPY ` or `\` is taken as such only where a statement may begin
//! (the SQL before it parses completely); inside a function body or a string it is SQL text.
//! Refused, naming the line: psql meta-commands other than `\restrict` / `\unrestrict`
//! (`\connect`, `\i`, `\!`, …: a dump of several databases, or a script, not one database's
//! dump), `COPY … FROM PROGRAM` or from a file, text that is not UTF-8, a COPY block without
//! its `\.` line, a script that does not end with pg_dump's closing comment (truncated), and
//! SQL that PostgreSQL's parser rejects (the message never quotes the dump's text).

use std::io::{BufRead, Write};

use pg_query::NodeEnum;
use pg_query::protobuf::RawStmt;

use crate::error::{Error, Result};

/// pg_dump's last line; a script without it was cut short.
pub const COMPLETE: &str = "-- PostgreSQL database dump complete";

/// SQL between data blocks: its text and its parsed statements (locations index `text`).
#[derive(Debug)]
pub struct SqlPiece {
    /// The line of the dump where `text` starts.
    pub first_line: u64,
    pub text: String,
    pub statements: Vec<RawStmt>,
}

/// One `COPY "s"."t" (cols) FROM stdin;` block.
#[derive(Debug, Clone)]
pub struct CopyBlock {
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    /// The `COPY` line, as in the dump.
    pub statement: String,
    /// Line number of the `COPY` line.
    pub line: u64,
    /// Byte offset of the `COPY` line.
    pub copy_line: u64,
    /// Byte offset of its first row.
    pub offset: u64,
    /// Byte offset just past its `\.` line.
    pub end: u64,
    pub rows: u64,
}

#[derive(Debug)]
pub enum Piece {
    Sql(SqlPiece),
    /// Index into [`Script::blocks`].
    Copy(usize),
}

/// A scanned script.
#[derive(Debug, Default)]
pub struct Script {
    pub pieces: Vec<Piece>,
    pub blocks: Vec<CopyBlock>,
}

/// PostgreSQL's parser message without the text it quotes (`at or near "…"`).
pub fn parse_message(e: &pg_query::Error) -> String {
    let message = match e {
        pg_query::Error::Parse(m) => m.clone(),
        other => other.to_string(),
    };
    match message.find(" at or near") {
        Some(i) => message[..i].to_string(),
        None => message,
    }
}

/// The parsed statements of `text`, if it is complete SQL.
fn parse(text: &str) -> std::result::Result<Vec<RawStmt>, pg_query::Error> {
    Ok(pg_query::parse(text, 0)?.protobuf.stmts)
}

struct Scanner<'a, R, W> {
    input: R,
    spool: Option<W>,
    location: &'a str,
    line: Vec<u8>,
    line_no: u64,
    offset: u64,
}

impl<R, W> Scanner<'_, R, W> {
    fn error(&self, line: u64, message: impl std::fmt::Display) -> Error {
        Error::source(self.location, format!("line {line}: {message}"))
    }
}

impl<R: BufRead, W: Write> Scanner<'_, R, W> {
    /// The next line (with its `\n`), or `false` at the end.
    fn next(&mut self) -> Result<bool> {
        self.line.clear();
        let n = self
            .input
            .read_until(b'\n', &mut self.line)
            .map_err(|e| Error::source(self.location, format!("reading the dump: {e}")))?;
        if n == 0 {
            return Ok(false);
        }
        if let Some(spool) = self.spool.as_mut() {
            spool
                .write_all(&self.line)
                .map_err(|e| Error::source(self.location, format!("writing the dump's spool file: {e}")))?;
        }
        self.offset += n as u64;
        self.line_no += 1;
        Ok(true)
    }

    /// Skips a COPY block's rows up to its `\.` line; returns how many there were.
    fn skip_rows(&mut self, table: &str) -> Result<u64> {
        let mut rows = 0u64;
        loop {
            if !self.next()? {
                return Err(Error::source(
                    self.location,
                    format!(
                        "table {table}: the dump ends inside its data after row {rows}, without the \\. line that \
                         closes it: the file is truncated; take the dump again"
                    ),
                ));
            }
            if self.line == b"\\.\n" || self.line == b"\\." || self.line == b"\\.\r\n" {
                return Ok(rows);
            }
            rows += 1;
            if !self.line.ends_with(b"\n") {
                return Err(Error::source(
                    self.location,
                    format!("table {table}, row {rows}: the dump ends inside this row: the file is truncated"),
                ));
            }
        }
    }
}

/// Scans a plain dump from `input`, copying every byte read to `spool` if given.
pub fn scan<R: BufRead, W: Write>(input: R, spool: Option<W>, location: &str) -> Result<Script> {
    let mut s = Scanner { input, spool, location, line: Vec::new(), line_no: 0, offset: 0 };
    let mut script = Script::default();
    let mut pending = String::new();
    let mut pending_line = 1u64;
    let mut complete = false;
    while s.next()? {
        let text = std::str::from_utf8(&s.line).map_err(|_| {
            s.error(s.line_no, "is not UTF-8 text; doppel reads dumps in the UTF8 encoding (pg_dump -E UTF8)")
        })?;
        if (text.starts_with("COPY ") || text.starts_with('\\'))
            && let Ok(statements) = parse(&pending)
        {
            let text = text.to_string();
            if !pending.trim().is_empty() {
                let piece = SqlPiece { first_line: pending_line, text: std::mem::take(&mut pending), statements };
                script.pieces.push(Piece::Sql(piece));
            }
            pending.clear();
            pending_line = s.line_no + 1;
            if text.starts_with('\\') {
                meta_command(&s, &text)?;
                continue;
            }
            let mut block = copy_block(&s, &text)?;
            block.rows = s.skip_rows(&format!("{}.{}", block.schema, block.table))?;
            block.end = s.offset;
            script.pieces.push(Piece::Copy(script.blocks.len()));
            script.blocks.push(block);
            pending_line = s.line_no + 1;
            continue;
        }
        if text.trim_end() == COMPLETE {
            complete = true;
        }
        if pending.is_empty() {
            pending_line = s.line_no;
        }
        pending.push_str(text);
    }
    if !pending.trim().is_empty() {
        let statements = parse(&pending).map_err(|e| {
            s.error(
                pending_line,
                format!(
                    "the SQL from here on does not parse ({}); a dump cut short ends this way: take the dump again",
                    parse_message(&e)
                ),
            )
        })?;
        script.pieces.push(Piece::Sql(SqlPiece { first_line: pending_line, text: pending, statements }));
    }
    if !complete {
        return Err(Error::source(
            location,
            format!(
                "does not end with pg_dump's closing line ({COMPLETE}): the dump is truncated, or not a pg_dump \
                 script; take the dump again"
            ),
        ));
    }
    Ok(script)
}

/// A psql meta-command where a statement may begin: `\restrict` / `\unrestrict` (pg_dump's
/// guard against restoring into psql's meta-commands) are skipped, anything else refused.
fn meta_command<R, W>(s: &Scanner<'_, R, W>, text: &str) -> Result<()> {
    let command = text.split_whitespace().next().unwrap_or("\\");
    match command {
        "\\restrict" | "\\unrestrict" => Ok(()),
        "\\connect" | "\\c" => Err(s.error(
            s.line_no,
            "the dump switches databases (\\connect): it is a dump of several databases (pg_dumpall) or made with \
             --create; dump one database with pg_dump without --create",
        )),
        _ => Err(s.error(
            s.line_no,
            format!(
                "the dump runs the psql meta-command {command}, which pg_dump never writes; doppel reads pg_dump's \
                 output only"
            ),
        )),
    }
}

/// Reads the `COPY … FROM stdin;` line `text`.
fn copy_block<R, W>(s: &Scanner<'_, R, W>, text: &str) -> Result<CopyBlock> {
    let parsed = parse(text)
        .map_err(|e| s.error(s.line_no, format!("a COPY statement that does not parse ({})", parse_message(&e))))?;
    let copy = match parsed.as_slice() {
        [one] => match one.stmt.as_ref().and_then(|n| n.node.as_ref()) {
            Some(NodeEnum::CopyStmt(copy)) => copy.clone(),
            _ => return Err(s.error(s.line_no, "expected one COPY statement")),
        },
        _ => return Err(s.error(s.line_no, "expected one COPY statement on the line")),
    };
    let Some(relation) = copy.relation.as_ref().filter(|_| copy.query.is_none()) else {
        return Err(s.error(s.line_no, "COPY of a query: pg_dump writes COPY of tables only"));
    };
    let table = format!("{}.{}", relation.schemaname, relation.relname);
    check_copy(&copy, &table).map_err(|m| s.error(s.line_no, m))?;
    let columns = copy
        .attlist
        .iter()
        .filter_map(|n| match n.node.as_ref()? {
            NodeEnum::String(name) => Some(name.sval.clone()),
            _ => None,
        })
        .collect();
    Ok(CopyBlock {
        schema: relation.schemaname.clone(),
        table: relation.relname.clone(),
        columns,
        statement: text.to_string(),
        line: s.line_no,
        copy_line: s.offset - text.len() as u64,
        offset: s.offset,
        end: s.offset,
        rows: 0,
    })
}

/// Refuses a COPY other than pg_dump's `COPY t (cols) FROM stdin;` in text format.
pub fn check_copy(copy: &pg_query::protobuf::CopyStmt, table: &str) -> std::result::Result<(), String> {
    if copy.is_program {
        return Err(format!(
            "COPY {table} FROM PROGRAM runs a shell command: refused; pg_dump never writes it, so this is not a \
             plain pg_dump output"
        ));
    }
    if !copy.filename.is_empty() {
        return Err(format!("COPY {table} reads a server file: refused; pg_dump writes COPY … FROM stdin only"));
    }
    if !copy.is_from {
        return Err(format!("COPY {table} TO: refused; a dump loads data, it does not write it"));
    }
    if !copy.options.is_empty() {
        return Err(format!("COPY {table} with options: doppel reads pg_dump's text format only"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_text(text: &str) -> Result<Script> {
        scan(text.as_bytes(), None::<Vec<u8>>, "d.sql")
    }

    const END: &str = "--\n-- PostgreSQL database dump complete\n--\n";

    #[test]
    fn data_blocks_are_found_and_skipped() {
        let text = format!(
            "SET x = 1;\nCREATE TABLE public.t (a integer);\nCOPY public.t (a) FROM stdin;\n1\n2\n\\.\n\n\
             CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$\nCOPY x FROM stdin;\n$$;\n{END}"
        );
        let script = scan_text(&text).unwrap();
        assert_eq!(script.blocks.len(), 1);
        let b = &script.blocks[0];
        assert_eq!((b.schema.as_str(), b.table.as_str(), b.rows, b.line), ("public", "t", 2, 3));
        assert_eq!(&text.as_bytes()[b.offset as usize..b.offset as usize + 2], b"1\n");
        assert_eq!(&text.as_bytes()[b.copy_line as usize..b.offset as usize], b"COPY public.t (a) FROM stdin;\n");
        assert_eq!(&text.as_bytes()[b.end as usize - 3..b.end as usize + 1], b"\\.\n\n");
        assert_eq!(script.pieces.len(), 3);
    }

    #[test]
    fn hostile_scripts_are_refused_naming_the_line() {
        let cases = [
            ("\\connect other\n", "line 1: the dump switches databases"),
            ("COPY public.t (a) FROM PROGRAM 'id';\n", "FROM PROGRAM"),
            ("COPY public.t (a) FROM stdin;\n1\n", "without the \\. line"),
            ("CREATE TABLE t (a int);\n", "does not end with pg_dump's closing line"),
            ("CREATE TABLE t (a int;\n", "does not parse (syntax error)"),
        ];
        for (text, expected) in cases {
            let end = if text.starts_with("CREATE TABLE t (a int)") { "" } else { END };
            let e = scan_text(&format!("{text}{end}")).unwrap_err().to_string();
            assert!(e.contains(expected), "{text:?}: {e}");
        }
        let e = scan(&b"SELECT '\xff';\n"[..], None::<Vec<u8>>, "d.sql").unwrap_err().to_string();
        assert!(e.contains("line 1: is not UTF-8"), "{e}");
    }
}
