//! `doppel preview`: the first rows of one table before and after the rules, side by side on
//! the terminal, for a reviewer who may read the source anyway (docs/preview.md).
//!
//! ```text
//! rules + source ──bind (drift guard, check's refusals)──▶ plan ──Transformer──▶ one table
//! source.read(table) ──first N rows, then the stream is dropped──▶ apply ──▶ render ──▶ stdout
//! ```
//!
//! It prints real values, so it refuses a stdout that is not a terminal unless `--force`, and
//! says so on stderr first. A preview of N rows cannot know which values of a `unique` domain
//! collide elsewhere in the table: those columns show their first-choice (attempt 0) values,
//! marked, which `run` keeps unless another row of the domain took the same value first.

mod render;

use std::collections::BTreeSet;
use std::io::IsTerminal;

use arrow_array::RecordBatch;

use crate::error::{Error, Result};
use crate::plan::{Plan, Strategy, TablePlan};
use crate::rules::{TableAction, load_rules};
use crate::scan;
use crate::source::{self, Location, Source};
use crate::transform::Transformer;

use super::output::write_stdout;
use super::{ColorChoice, PreviewArgs};

/// Tables named in the error for an unknown `--table`, at most.
const LISTED_TABLES: usize = 20;

pub fn preview(args: PreviewArgs, color: ColorChoice) -> Result<()> {
    let stdout_is_terminal = std::io::stdout().is_terminal();
    if !stdout_is_terminal && !args.force {
        return Err(Error::Usage(
            "preview prints real values of the source, and stdout is not a terminal (a pipe or a file, where they \
             could be kept or passed on); run it in a terminal, or add --force to write them there anyway"
                .to_string(),
        ));
    }
    let rules = load_rules(&args.rules)?;
    let key = args.key.load()?;
    let from = Location::parse_source(&args.from);
    let source = source::open(&from)?;
    // As `run` binds: the schema lock's drift guard and every refusal of `check` apply.
    let plan = scan::bind(&rules, source.tables())?;
    super::constants::check_constants(&plan, source.as_ref())?;
    let table = find_table(&plan, &args.table, &from)?;
    let transformer = Transformer::new(&plan, &key);
    // Nothing collected: every `unique` column keeps its attempt-0 values (see the module doc).
    transformer.finish_unique();
    let transform = transformer
        .table(&table.name)
        .ok_or_else(|| Error::Usage(format!("{}: no transform was built for this table", table.name)))?;
    let before = first_rows(source.as_ref(), table, args.rows, &from)?;
    let after = transform.apply(&before, 0)?;
    crate::say!(
        "warning: the preview below prints real values of {} ({}); keep them off shared screens, tickets and logs",
        from.display(),
        table.name
    );
    let view = render::View {
        table,
        unique: unique_columns(&plan, table),
        all_columns: args.all_columns,
        width: render::width(stdout_is_terminal),
        color: color_on_stdout(color, stdout_is_terminal),
        asked: args.rows,
    };
    write_stdout(view.render(&before, &after).as_bytes(), "the preview")
}

/// The table `name` of the plan, which `run` copies; else a usage error saying how tables are
/// named, with the source's names.
fn find_table<'p>(plan: &'p Plan, name: &str, from: &Location) -> Result<&'p TablePlan> {
    match plan.tables.iter().find(|t| t.name == name) {
        Some(t) if t.action == TableAction::Copy => Ok(t),
        Some(t) => Err(Error::Usage(format!(
            "--table {}: the rules skip this table (action = \"skip\" at {}), so run writes none of its rows; \
             there is nothing to preview",
            t.name, t.origin
        ))),
        None => {
            let names: Vec<&str> = plan.tables.iter().map(|t| t.name.as_str()).collect();
            let mut listed = names.iter().take(LISTED_TABLES).copied().collect::<Vec<_>>().join(", ");
            if names.len() > LISTED_TABLES {
                listed.push_str(&format!(" and {} more", names.len() - LISTED_TABLES));
            }
            Err(Error::Usage(format!(
                "--table {name}: {} has no such table; name it as schema.table, as the rules do (tables: {listed})",
                from.display()
            )))
        }
    }
}

/// The first `rows` rows of `table` as the source gives them (in its stable order), in one
/// batch. Stops reading there: dropping the stream ends a PostgreSQL COPY on the server.
fn first_rows(source: &dyn Source, table: &TablePlan, rows: usize, from: &Location) -> Result<RecordBatch> {
    let mut batches: Vec<RecordBatch> = Vec::new();
    let mut read = 0;
    for batch in source.read(&table.name, rows)? {
        let batch = batch?;
        let take = (rows - read).min(batch.num_rows());
        batches.push(batch.slice(0, take));
        read += take;
        if read >= rows {
            break;
        }
    }
    let schema = batches.first().map(|b| b.schema()).unwrap_or_else(|| table.schema.clone());
    arrow_select::concat::concat_batches(&schema, &batches)
        .map_err(|e| Error::source(from.display(), format!("{}: cannot join the first batches: {e}", table.name)))
}

/// Indexes of the columns of `table` whose values pass through a `unique` domain in `run`.
fn unique_columns(plan: &Plan, table: &TablePlan) -> BTreeSet<usize> {
    let domains: BTreeSet<&str> =
        plan.tables.iter().flat_map(|t| &t.columns).filter(|c| c.unique).map(|c| c.domain.as_str()).collect();
    table
        .columns
        .iter()
        .filter(|c| !matches!(c.strategy, Strategy::Keep) && domains.contains(c.domain.as_str()))
        .map(|c| c.index)
        .collect()
}

/// `--color` for stdout: `auto` means a terminal and no NO_COLOR (as for stderr).
fn color_on_stdout(color: ColorChoice, stdout_is_terminal: bool) -> bool {
    match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stdout_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}
