//! `doppel verify`: check a finished output against its source (see [`crate::verify`]).

use crate::error::{Error, Result};
use crate::rules::load_rules;
use crate::scan;
use crate::source::{self, Location};
use crate::verify::{self, VerifyOptions};

use super::VerifyArgs;

pub fn verify(args: VerifyArgs) -> Result<()> {
    let rules = load_rules(&args.rules)?;
    let from = Location::parse(&args.from);
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
        max_same_rate: args.max_same_rate,
        batch_rows: args.batch_rows as usize,
        pair_by_position: rules.subset.is_none(),
    };
    let report = verify::verify(&plan, source.as_ref(), output.as_ref(), &options)?;
    println!("{report}");
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&report).map_err(|e| Error::target(path.display(), e))?;
        crate::sink::file::write_replacing(path, (json + "\n").as_bytes())
            .map_err(|e| Error::target(path.display(), e))?;
    }
    match report.findings.len() {
        0 => Ok(()),
        count => Err(Error::Findings { location: to.display(), count }),
    }
}
