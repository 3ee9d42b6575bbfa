//! `doppel verify`: check a finished output against its source (see [`crate::verify`]).

use std::sync::atomic::AtomicBool;

use crate::error::{Error, Result};
use crate::rules::load_rules;
use crate::scan;
use crate::source::{self, Location};
use crate::verify::{self, VerifyOptions};

use serde_json::{Value, json};

use super::VerifyArgs;
use super::output::{is_stdout, print_json, stdout_taken, write_stdout};

/// The `--json` schema's name and version: bumped when a field changes meaning or goes.
pub const SCHEMA: &str = "doppel.verify/1";

pub fn verify(args: VerifyArgs, cancel: &AtomicBool) -> Result<()> {
    if args.json && args.report.as_deref().is_some_and(is_stdout) {
        return Err(stdout_taken(
            "--report -",
            "the --json output",
            "write the report to a file (--report FILE), or leave out --json",
        ));
    }
    let rules = load_rules(&args.rules)?;
    let from = Location::parse_source(&args.from);
    let to = Location::parse(&args.to);
    if matches!(to, Location::Dump(_)) {
        return Err(Error::Usage(format!(
            "{}: verify reads a PostgreSQL database or a Parquet directory; restore a SQL dump into a database first",
            to.display()
        )));
    }
    let source = source::open(&from)?;
    let plan = scan::bind(&rules, source.tables())?;
    let output = source::open(&to)?;
    let options = VerifyOptions {
        cancel,
        max_same_rate: args.max_same_rate,
        batch_rows: args.batch_rows as usize,
        pair_by_position: rules.subset.is_none(),
    };
    let report = verify::verify(&plan, source.as_ref(), output.as_ref(), &options)?;
    // The summary is for people (stderr); --json and --report - are for programs (stdout).
    say_report(&report);
    if args.json {
        print_json(&report_json(&report, &from.display(), &to.display()))?;
    }
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&report).map_err(|e| Error::target(path.display(), e))?;
        if is_stdout(path) {
            write_stdout((json + "\n").as_bytes(), "the report")?;
        } else {
            crate::sink::file::write_replacing(path, (json + "\n").as_bytes())
                .map_err(|e| Error::target(path.display(), e))?;
        }
    }
    match report.findings.len() {
        0 => Ok(()),
        count => Err(Error::Findings { location: to.display(), count }),
    }
}

/// The report for people on stderr: hidden by `--quiet` when clean; findings are the error
/// they explain, so they are printed even then.
pub fn say_report(report: &verify::Report) {
    match report.findings.is_empty() {
        true => crate::progress::say(report),
        false => eprintln!("{report}"),
    }
}

/// `verify --json` (schema [`SCHEMA`], fields in docs/machine-output.md): counts and names, never a value.
pub fn report_json(report: &verify::Report, source: &str, target: &str) -> Value {
    let finding = |f: &verify::Finding| {
        json!({
            "table": f.table,
            "column": if f.column.is_empty() { None } else { Some(&f.column) },
            "kind": f.kind,
            "count": f.count,
            "from": f.from,
            "rule": f.rule,
        })
    };
    json!({
        "schema": SCHEMA,
        "outcome": if report.findings.is_empty() { "clean" } else { "findings" },
        "source": source,
        "target": target,
        "tables_checked": report.tables_checked,
        "personal_columns": report.personal_columns,
        "values_searched": report.values_searched,
        "max_same_rate": report.max_same_rate,
        "findings": report.findings.iter().map(finding).collect::<Vec<_>>(),
        "notes": report.published.iter().map(|n| {
            let mut note = finding(n);
            note["kind"] = json!("kept");
            note
        }).collect::<Vec<_>>(),
    })
}
