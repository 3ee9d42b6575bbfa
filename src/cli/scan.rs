//! `doppel scan`: print (or write) the rules [`crate::scan`] suggests for a source.

use std::path::Path;

use crate::error::{Error, Result};
use crate::scan;
use crate::source::{self, Location};

use super::ScanArgs;
use super::output::{data_out, print_json, write_stdout};

/// The `--json` schema's name and version: bumped when a field changes meaning or goes.
pub const SCHEMA: &str = "doppel.scan/1";

pub fn scan(args: ScanArgs) -> Result<()> {
    let location = Location::parse_source(&args.from);
    // `--out -` is stdout, as without --out.
    let out = data_out(args.out.as_deref(), args.json, "rules")?;
    if let Some(out) = out
        && out.exists()
    {
        return Err(Error::Usage(format!(
            "{}: the file exists; scan never overwrites rules (they may hold reviewed changes): remove it or choose another --out",
            out.display()
        )));
    }
    let source = source::open(&location)?;
    let result = scan::scan(source.as_ref(), &location.display(), args.sample_rows)?;
    match out {
        None => write_stdout(result.text.as_bytes(), "the rules")?,
        Some(out) => write_new(out, &result.text)?,
    }
    let t = &result.tally;
    crate::progress::say(format_args!(
        "scanned {} tables, {} columns: {} kept, {} transformed, {} to review (marked `# review`)",
        result.tables.len(),
        t.kept + t.transformed,
        t.kept,
        t.transformed,
        t.review
    ));
    if args.json {
        print_json(&serde_json::json!({
            "schema": SCHEMA,
            "source": location.display(),
            "out": out.map(|p| p.display().to_string()),
            "tables": result.tables.len(),
            "columns": t.kept + t.transformed,
            "kept_columns": t.kept,
            "transformed_columns": t.transformed,
            "review_columns": t.review,
            "sample_rows": args.sample_rows,
        }))?;
    }
    Ok(())
}

/// Writes `text` to a new file `path` atomically ([`crate::sink::file`]): a failure leaves
/// nothing and an existing file is never replaced.
fn write_new(path: &Path, text: &str) -> Result<()> {
    let fail = |e: std::io::Error| Error::Usage(format!("{}: cannot write the rules ({e})", path.display()));
    let result = crate::sink::file::write_new(path, text.as_bytes());
    result.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Usage(format!("{}: the file exists; scan never overwrites rules", path.display()))
        } else {
            fail(e)
        }
    })
}
