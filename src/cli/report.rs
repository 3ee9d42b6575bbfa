//! `doppel report`: the assessment page from a JSON report written earlier
//! (`run --report`), and the page of a run (`run --report-html`), both through
//! [`crate::report_html::render`].

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::report_html;
use crate::sink::staging::StagedFile;

use super::ReportArgs;
use super::output::{is_stdout, write_stdout};

pub fn report(args: ReportArgs) -> Result<()> {
    let json = read_report(&args.from)?;
    let html = page(&json, &args.from.display().to_string())?;
    if is_stdout(&args.to_html) {
        return write_stdout(html.as_bytes(), "the page");
    }
    let inputs = if is_stdout(&args.from) { Vec::new() } else { vec![args.from.clone()] };
    StagedFile::open(&args.to_html, &inputs)?.publish(html.as_bytes())
}

/// The page of the report `json`, read from `from` (named in errors).
pub fn page(json: &str, from: &str) -> Result<String> {
    report_html::render(json)
        .map_err(|e| Error::source(from, format!("{e}; give the JSON written by doppel run --report FILE")))
}

fn read_report(from: &Path) -> Result<String> {
    let mut text = String::new();
    let read = if is_stdout(from) {
        std::io::stdin().lock().read_to_string(&mut text)
    } else {
        std::fs::File::open(from).and_then(|mut f| f.read_to_string(&mut text))
    };
    read.map_err(|e| Error::source(from.display(), format!("cannot read the report ({e})")))?;
    Ok(text)
}
