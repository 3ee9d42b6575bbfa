//! `doppel check`: bind the rules to the source schema and report every problem; with
//! `--lock`, record the schema the rules cover in the schema lock beside them.

use serde_json::{Value, json};

use crate::error::{Error, Problem, Result};
use crate::plan;
use crate::rules::lock::{render_lock, write_lock};
use crate::rules::{TableAction, load_rules};
use crate::source::{self, Location};

use super::CheckArgs;
use super::output::print_json;

/// The `--json` schema's name and version: bumped when a field changes meaning or goes.
pub const SCHEMA: &str = "doppel.check/1";

pub fn check(args: CheckArgs) -> Result<()> {
    let json = args.json;
    let rules = args.rules.display().to_string();
    let from = Location::parse_source(&args.from).display();
    match check_inner(args) {
        Ok(summary) => {
            if json {
                let mut out = serde_json::Map::new();
                out.insert("schema".into(), json!(SCHEMA));
                out.insert("ok".into(), json!(true));
                out.insert("rules".into(), json!(rules));
                out.insert("source".into(), json!(from));
                out.extend(summary);
                out.insert("problems".into(), json!([]));
                print_json(&Value::Object(out))?;
            }
            Ok(())
        }
        Err(e) => {
            // Problems with the rules (exit 3) are the outcome of a check; other failures
            // (usage, an unreachable source) leave stdout empty.
            let problems: Option<Vec<Value>> = match &e {
                Error::Rules(problems) => Some(problems.0.iter().map(problem_json).collect()),
                Error::Drift(text) => Some(vec![json!({
                    "kind": "drift", "file": null, "line": null, "table": null, "column": null, "message": text
                })]),
                _ => None,
            };
            if let (true, Some(problems)) = (json, problems) {
                print_json(
                    &json!({"schema": SCHEMA, "ok": false, "rules": rules, "source": from, "problems": problems}),
                )?;
            }
            Err(e)
        }
    }
}

fn problem_json(p: &Problem) -> Value {
    json!({
        "kind": "rules",
        "file": p.file.as_ref().map(|f| f.display().to_string()),
        "line": p.line,
        "table": p.table,
        "column": p.column,
        "message": p.message,
    })
}

/// Checks, says so on stderr, and returns the summary's fields for `--json`.
fn check_inner(args: CheckArgs) -> Result<serde_json::Map<String, Value>> {
    let mut summary = serde_json::Map::new();
    let mut rules = load_rules(&args.rules)?;
    let source = source::open(&Location::parse_source(&args.from))?;
    let tables = source.tables();
    // Recording a new lock: the old one is what is being replaced, so only the rules bind.
    let old_lock = if args.lock { rules.lock.take() } else { None };
    let plan = crate::scan::bind(&rules, tables)?;
    super::constants::check_constants(&plan, source.as_ref())?;
    if let Some(spec) = &rules.subset {
        let subset = crate::subset::bind(spec, tables, &plan)?;
        if subset.edges.is_empty() && tables.iter().all(|t| t.foreign_keys.is_empty()) {
            crate::say!(
                "note: the source declares no foreign keys (a Parquet source cannot), so the subset takes the roots' \
                 rows only; doppel run computes subsets from a PostgreSQL source"
            );
        }
        let unreached = subset.reached.iter().filter(|r| !**r).count();
        crate::say!(
            "ok: the subset starts from {} root(s) and follows {} foreign key(s); {unreached} table(s) no root reaches",
            subset.roots.len(),
            subset.edges.len(),
        );
        summary.insert(
            "subset".into(),
            json!({"roots": subset.roots.len(), "foreign_keys": subset.edges.len(), "unreached_tables": unreached}),
        );
    } else {
        summary.insert("subset".into(), Value::Null);
    }
    if args.explain {
        print!("{}", plan::explain(&plan));
    }
    let copied = plan.tables.iter().filter(|t| t.action == TableAction::Copy).count();
    let personal: usize = plan.tables.iter().flat_map(|t| &t.columns).filter(|c| c.is_personal()).count();
    crate::say!(
        "ok: the rules cover all {} tables ({} copied, {} skipped); {} columns are transformed",
        plan.tables.len(),
        copied,
        plan.tables.len() - copied,
        personal
    );
    summary.insert("tables".into(), json!(plan.tables.len()));
    summary.insert("copied_tables".into(), json!(copied));
    summary.insert("skipped_tables".into(), json!(plan.tables.len() - copied));
    summary.insert("transformed_columns".into(), json!(personal));
    let lock_path = rules.lock_path.clone().unwrap_or_else(|| crate::rules::lock_path(&args.rules));
    if args.lock {
        let skipped = |t: &str| rules.tables.get(t).is_some_and(|r| r.action == TableAction::Skip);
        let text = render_lock(tables, skipped);
        write_lock(&lock_path, &text)?;
        let count =
            old_lock.as_ref().map(|old| plan::drift::diff(&old.tables, &plan::drift::live_schema(tables)).len());
        let changes = match count {
            Some(n) => format!("{n} change(s) since the previous lock"),
            None => "a new lock".to_string(),
        };
        summary.insert(
            "lock".into(),
            json!({"path": lock_path.display().to_string(), "status": "recorded", "changes": count}),
        );
        crate::say!(
            "recorded the schema of {} tables in {} ({changes}); review and commit it with the rules",
            tables.len(),
            lock_path.display()
        );
    } else if rules.lock.is_some() {
        crate::say!("ok: the source schema matches {}", lock_path.display());
        summary
            .insert("lock".into(), json!({"path": lock_path.display().to_string(), "status": "matches", "changes": 0}));
    } else {
        summary.insert(
            "lock".into(),
            json!({"path": lock_path.display().to_string(), "status": "absent", "changes": null}),
        );
        crate::say!(
            "note: no schema lock at {}: a column retyped in the source would go unnoticed; record the schema the \
             rules were reviewed against with `doppel check --lock` and commit it with the rules",
            lock_path.display()
        );
    }
    Ok(summary)
}
