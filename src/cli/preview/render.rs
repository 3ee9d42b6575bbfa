//! The preview's text: per row, each column's value before and after the rules side by side,
//! fitted to a width. Values are made inert first ([`inert`]): no value can move the cursor,
//! change colours or hide text, NULL and the empty string look different from any text.

use std::collections::BTreeSet;
use std::fmt::Write;

use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use unicode_width::UnicodeWidthChar;

use crate::plan::{Strategy, TablePlan};

/// The width when there is no terminal to ask and no COLUMNS.
const DEFAULT_WIDTH: usize = 100;
/// The narrowest layout: below, lines wrap rather than values vanish.
const MIN_WIDTH: usize = 40;
/// Widest column-name column; longer names are cut.
const MAX_NAME_WIDTH: usize = 24;
/// Kept columns named in the header, at most.
const LISTED_KEPT: usize = 10;
const SEPARATOR: &str = " │ ";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// What to show and how wide.
pub struct View<'a> {
    pub table: &'a TablePlan,
    /// Columns whose values `run` may still tag or redraw (a `unique` domain).
    pub unique: BTreeSet<usize>,
    /// Show kept columns too (their value once).
    pub all_columns: bool,
    pub width: usize,
    pub color: bool,
    /// Rows asked for (`--rows`).
    pub asked: usize,
}

/// One cell as shown: text, or a marker (NULL, kept) drawn dim.
enum Cell {
    Text(String),
    Marker(&'static str),
}

impl View<'_> {
    /// The preview of `before` (the source's rows) and `after` (the same rows transformed).
    pub fn render(&self, before: &RecordBatch, after: &RecordBatch) -> String {
        let mut out = String::new();
        let shown: Vec<usize> =
            (0..self.table.columns.len()).filter(|&i| self.all_columns || self.changes(i)).collect();
        let _ = writeln!(out, "{}", self.header(before.num_rows()));
        if shown.iter().any(|i| self.unique.contains(i)) {
            let _ = writeln!(
                out,
                "* unique: the first-choice values; run replaces one that another row of its domain (anywhere in \
                 the table) took first, which a preview of a few rows cannot know"
            );
        }
        let names: Vec<String> = shown.iter().map(|&i| self.name(i)).collect();
        let name_width = names.iter().map(|n| text_width(n)).max().unwrap_or(0).min(MAX_NAME_WIDTH);
        let fixed = 2 + name_width + 2 * text_width(SEPARATOR);
        let value_width = (self.width.saturating_sub(fixed) / 2).max(8);
        let columns: Vec<(usize, Vec<Cell>, Vec<Cell>)> = shown
            .iter()
            .map(|&i| {
                let after_cells = match self.changes(i) {
                    true => cells(after.column(i).as_ref()),
                    false => (0..after.num_rows()).map(|_| Cell::Marker("(kept)")).collect(),
                };
                (i, cells(before.column(i).as_ref()), after_cells)
            })
            .collect();
        for row in 0..before.num_rows() {
            let _ = writeln!(out, "\n{}", self.style(BOLD, &format!("row {}", row + 1)));
            for ((_, before, after), name) in columns.iter().zip(&names) {
                let _ = writeln!(
                    out,
                    "  {}{SEPARATOR}{}{SEPARATOR}{}",
                    fit(name, name_width, true),
                    self.cell(&before[row], value_width, true),
                    self.cell(&after[row], value_width, false),
                );
            }
        }
        out
    }

    /// The first line: which rows, how many columns change, which are not shown.
    fn header(&self, rows: usize) -> String {
        let table = inert(&self.table.name);
        let which = match rows {
            0 => "no rows (the table is empty)".to_string(),
            n if n < self.asked => format!("rows 1 to {n} in the source's order (all the table has)"),
            n => format!("rows 1 to {n} in the source's order"),
        };
        let total = self.table.columns.len();
        let changed = (0..total).filter(|&i| self.changes(i)).count();
        let kept: Vec<String> =
            (0..total).filter(|&i| !self.changes(i)).map(|i| inert(&self.table.columns[i].name)).collect();
        let mut line = format!("{table}: {which}; {changed} of {total} columns change");
        if !kept.is_empty() && !self.all_columns {
            let mut listed = kept.iter().take(LISTED_KEPT).cloned().collect::<Vec<_>>().join(", ");
            if kept.len() > LISTED_KEPT {
                let _ = write!(listed, " and {} more", kept.len() - LISTED_KEPT);
            }
            let _ = write!(line, " (kept, not shown: {listed}; --all-columns shows them)");
        }
        line
    }

    /// Whether column `i`'s rule changes it (not `keep`).
    fn changes(&self, i: usize) -> bool {
        !matches!(self.table.columns[i].strategy, Strategy::Keep)
    }

    /// Column `i`'s name as shown, `*` marking a unique domain.
    fn name(&self, i: usize) -> String {
        let name = inert(&self.table.columns[i].name);
        if self.unique.contains(&i) { format!("{name} *") } else { name }
    }

    fn cell(&self, cell: &Cell, width: usize, pad: bool) -> String {
        match cell {
            Cell::Text(text) => fit(text, width, pad),
            Cell::Marker(marker) => {
                let padding = if pad { width.saturating_sub(marker.len()) } else { 0 };
                format!("{}{}", self.style(DIM, marker), " ".repeat(padding))
            }
        }
    }

    fn style(&self, style: &str, text: &str) -> String {
        if self.color { format!("{style}{text}{RESET}") } else { text.to_string() }
    }
}

/// Every value of `array` as a cell.
fn cells(array: &dyn Array) -> Vec<Cell> {
    let options = FormatOptions::default();
    let formatter = ArrayFormatter::try_new(array, &options).ok();
    (0..array.len())
        .map(|i| match (array.is_null(i), &formatter) {
            (true, _) => Cell::Marker("NULL"),
            (false, Some(f)) => match f.value(i).try_to_string() {
                Ok(text) => Cell::Text(shown(&text)),
                Err(_) => Cell::Marker("(not displayable)"),
            },
            (false, None) => Cell::Marker("(not displayable)"),
        })
        .collect()
}

/// A value as shown: [`inert`], and quoted where it would look like a marker or be invisible
/// (the empty string is `""`; a text `NULL` is `"NULL"`, unlike the NULL marker).
fn shown(text: &str) -> String {
    let safe = inert(text);
    if safe.is_empty() || safe == "NULL" || safe.starts_with('"') || safe.starts_with('(') {
        format!("\"{}\"", safe.replace('"', "\\\""))
    } else {
        safe
    }
}

/// `text` with nothing a terminal acts on: control characters (C0, DEL, C1: escape sequences,
/// cursor moves, bells), bidirectional overrides and invisible characters written as `\n`,
/// `\t`, `\r` or `\u{…}`, and `\` as `\\` so that the forms stay unambiguous.
pub fn inert(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || is_invisible(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Format characters that reorder or hide text (bidi controls, zero-width, BOM, soft hyphen).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// Columns `text` takes on a terminal.
fn text_width(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// `text` in `width` columns: cut with `…` when longer; padded with spaces when `pad`.
fn fit(text: &str, width: usize, pad: bool) -> String {
    let full = text_width(text);
    let (mut out, used) = if full <= width {
        (text.to_string(), full)
    } else {
        let mut out = String::new();
        let mut used = 0;
        for c in text.chars() {
            let w = c.width().unwrap_or(0);
            if used + w + 1 > width {
                break;
            }
            out.push(c);
            used += w;
        }
        out.push('…');
        (out, used + 1)
    };
    if pad {
        out.push_str(&" ".repeat(width.saturating_sub(used)));
    }
    out
}

/// The width to fit: the terminal's (stdout), else COLUMNS, else [`DEFAULT_WIDTH`].
pub fn width(stdout_is_terminal: bool) -> usize {
    let terminal = if stdout_is_terminal { terminal_width() } else { None };
    let columns = || std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok()).filter(|&c| c > 0);
    terminal.or_else(columns).unwrap_or(DEFAULT_WIDTH).max(MIN_WIDTH)
}

/// The columns of the terminal on stdout, if it says.
fn terminal_width() -> Option<usize> {
    let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the pointer given, which outlives the call.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (rc == 0 && size.ws_col > 0).then_some(size.ws_col as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_invisible_characters_are_printed_inert() {
        let hostile = "a\x1b[31mred\x1b[2J\x07\u{9b}1A\r\nb\u{202e}c\\d";
        let safe = inert(hostile);
        assert_eq!(safe, "a\\u{1b}[31mred\\u{1b}[2J\\u{7}\\u{9b}1A\\r\\nb\\u{202e}c\\\\d");
        assert!(!safe.chars().any(|c| c.is_control() || is_invisible(c)));
    }

    #[test]
    fn null_empty_and_marker_like_texts_look_different() {
        assert_eq!(shown(""), "\"\"");
        assert_eq!(shown("NULL"), "\"NULL\"");
        assert_eq!(shown("(kept)"), "\"(kept)\"");
        assert_eq!(shown("\"q\""), "\"\\\"q\\\"\"");
        assert_eq!(shown("Anna"), "Anna");
    }

    #[test]
    fn long_values_are_cut_with_an_ellipsis_to_their_width() {
        assert_eq!(fit("abcdef", 4, false), "abc…");
        assert_eq!(fit("abc", 5, true), "abc  ");
        assert_eq!(fit("日本語です", 5, true), "日本…");
        assert_eq!(fit("日本語です", 6, true), "日本… ");
        assert_eq!(text_width(&fit("日本語です", 6, true)), 6);
    }
}
