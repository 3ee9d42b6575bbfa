//! `doppel check`: bind the rules to the source schema and report every problem.

use crate::error::Result;
use crate::plan;
use crate::rules::load_rules;
use crate::source::{self, Location};

use super::CheckArgs;

pub fn check(args: CheckArgs) -> Result<()> {
    let rules = load_rules(&args.rules)?;
    let source = source::open(&Location::parse(&args.from))?;
    let plan = plan::bind(&rules, source.tables())?;
    if args.explain {
        print!("{}", plan::explain(&plan));
    }
    let copied = plan.tables.iter().filter(|t| t.action == crate::rules::TableAction::Copy).count();
    let personal: usize = plan.tables.iter().flat_map(|t| &t.columns).filter(|c| c.is_personal()).count();
    eprintln!(
        "ok: the rules cover all {} tables ({} copied, {} skipped); {} columns are transformed",
        plan.tables.len(),
        copied,
        plan.tables.len() - copied,
        personal
    );
    Ok(())
}
