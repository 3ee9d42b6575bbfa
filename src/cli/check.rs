//! `doppel check`: bind the rules to the source schema and report every problem; with
//! `--lock`, record the schema the rules cover in the schema lock beside them.

use crate::error::Result;
use crate::plan;
use crate::rules::lock::{render_lock, write_lock};
use crate::rules::{TableAction, load_rules};
use crate::source::{self, Location};

use super::CheckArgs;

pub fn check(args: CheckArgs) -> Result<()> {
    let mut rules = load_rules(&args.rules)?;
    let source = source::open(&Location::parse(&args.from))?;
    let tables = source.tables();
    // Recording a new lock: the old one is what is being replaced, so only the rules bind.
    let old_lock = if args.lock { rules.lock.take() } else { None };
    let plan = crate::scan::bind(&rules, tables)?;
    super::constants::check_constants(&plan, source.as_ref())?;
    if let Some(spec) = &rules.subset {
        let subset = crate::subset::bind(spec, tables, &plan)?;
        if subset.edges.is_empty() && tables.iter().all(|t| t.foreign_keys.is_empty()) {
            eprintln!(
                "note: the source declares no foreign keys (a Parquet source cannot), so the subset takes the roots' \
                 rows only; doppel run computes subsets from a PostgreSQL source"
            );
        }
        eprintln!(
            "ok: the subset starts from {} root(s) and follows {} foreign key(s); {} table(s) no root reaches",
            subset.roots.len(),
            subset.edges.len(),
            subset.reached.iter().filter(|r| !**r).count()
        );
    }
    if args.explain {
        print!("{}", plan::explain(&plan));
    }
    let copied = plan.tables.iter().filter(|t| t.action == TableAction::Copy).count();
    let personal: usize = plan.tables.iter().flat_map(|t| &t.columns).filter(|c| c.is_personal()).count();
    eprintln!(
        "ok: the rules cover all {} tables ({} copied, {} skipped); {} columns are transformed",
        plan.tables.len(),
        copied,
        plan.tables.len() - copied,
        personal
    );
    let lock_path = rules.lock_path.clone().unwrap_or_else(|| crate::rules::lock_path(&args.rules));
    if args.lock {
        let skipped = |t: &str| rules.tables.get(t).is_some_and(|r| r.action == TableAction::Skip);
        let text = render_lock(tables, skipped);
        write_lock(&lock_path, &text)?;
        let changes = match &old_lock {
            Some(old) => format!(
                "{} change(s) since the previous lock",
                plan::drift::diff(&old.tables, &plan::drift::live_schema(tables)).len()
            ),
            None => "a new lock".to_string(),
        };
        eprintln!(
            "recorded the schema of {} tables in {} ({changes}); review and commit it with the rules",
            tables.len(),
            lock_path.display()
        );
    } else if rules.lock.is_some() {
        eprintln!("ok: the source schema matches {}", lock_path.display());
    } else {
        eprintln!(
            "note: no schema lock at {}: a column retyped in the source would go unnoticed; record the schema the \
             rules were reviewed against with `doppel check --lock` and commit it with the rules",
            lock_path.display()
        );
    }
    Ok(())
}
