//! Subsets: a small, referentially complete selection of a PostgreSQL source's rows, chosen by
//! the rules' `[subset]` section (see [`crate::rules::model::SubsetRules`]) and computed inside
//! the source's snapshot before any row is read.
//!
//! ```text
//! [subset] rules ──bind──▶ Subset (roots, foreign-key edges, per-table policy; plan errors)
//!                              │
//! snapshot connection ──closure──▶ Selection (row keys per table, or all / a filter)
//!                              │
//!                  restrict() each table's COPY query ──▶ the usual pipeline and sinks
//! ```
//!
//! Closure semantics:
//!
//! 1. **Roots** select rows: those matching `where` (all when absent), then the `fraction`
//!    of them whose keyed hash of the primary key falls below the fraction, then at most
//!    `limit` of them, lowest keyed hash first. The hash is keyed with the run's key, so the
//!    same snapshot, rules and key give the same subset, and a row stays selected when other
//!    rows are added to the table.
//! 2. **Downwards**: a root row, and every row reached downwards, brings the rows that
//!    reference it through each foreign key whose `children = "follow"` (the default), at
//!    most `max_children` per referenced row (lowest keyed hash of their key first).
//! 3. **Upwards**: every selected row brings the rows it references (transitively), so
//!    every foreign key of the subset resolves; with `parents = "null"` a reference whose
//!    row is not selected for another reason is written as NULL instead. Rows brought in
//!    only as parents do not bring their own children: a customer brings its orders, each
//!    order its employee, but not that employee's other orders.
//! 4. **Unreached tables** — no root reaches them along the edges above — take all their rows
//!    (`unreached = "all"`, the default), none, or the rows matching their own `where`; those
//!    rows bring their parents too.
//!
//! Self-references and cycles are followed until nothing new is selected. Foreign keys whose
//! columns the rules all set to NULL are not followed upwards (nothing would reference the
//! row). Rows are identified by their primary key, or by `(tableoid, ctid)` inside the
//! snapshot for tables without one (`fraction` and `limit` need a primary key). Keys are held
//! in memory as text, one entry per selected row; tables taken whole hold none.
//!
//! | module      | what it does                                                 |
//! |-------------|--------------------------------------------------------------|
//! | [`mod@bind`] | rules `[subset]` + source tables → [`Subset`], every problem at once |
//! | [`sql`]     | row keys, key lists and the queries that use them             |
//! | [`closure`] | the selection, computed in the snapshot                       |
//! | [`report`]  | rows selected per table and why                               |
//! | [`fan_out`] | the whole source's children per parent, for the report        |

pub mod bind;
pub mod closure;
pub mod fan_out;
pub mod report;
pub mod sql;

pub use bind::{Edge, Root, Subset, Take, bind};
pub use closure::{Selection, select};
pub use report::SubsetReport;

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::progress::Total;
use crate::rules::SubsetSpec;
use crate::secret::Key;
use crate::source::Source;
use crate::source::postgres::PostgresSource;

use self::sql::TableSql;

/// The key domain the subset's keyed choices use (not a name rules can give a column domain).
const KEY_DOMAIN: &str = "\0doppel subset";

/// Binds `spec`, computes the selection in `source`'s snapshot and makes `source` read only
/// the selected rows. Prints what was selected (stderr) and returns it for the audit report;
/// with `fan_out`, also the whole source's children per parent ([`fan_out`]).
pub fn apply(
    spec: &SubsetSpec,
    source: &mut PostgresSource,
    plan: &Plan,
    key: &Key,
    fan_out: bool,
) -> Result<SubsetReport> {
    let started = std::time::Instant::now();
    let subset = bind(spec, source.tables(), plan)?;
    let mut tables = Vec::with_capacity(subset.tables.len());
    for (name, row_key) in subset.tables.iter().zip(&subset.row_keys) {
        let pg = source.pg_table(name).ok_or_else(|| {
            Error::source(source.location(), format!("table {name}: not in the catalog read at the start; run again"))
        })?;
        tables.push(TableSql { from: pg.from_clause(), columns: pg.quoted_columns(), row_key: row_key.clone() });
    }
    let mut client = source.connection_in_snapshot("subset")?;
    let selection = select(&mut client, &subset, tables, &key.domain(KEY_DOMAIN), source.location())?;
    let mut report = selection.report();
    if fan_out {
        report.source_fan_out = fan_out::source_fan_out(&mut client, source, plan)?;
    }
    drop(client);
    for (table, query) in selection.queries() {
        // For progress: rows selected by key are known, all rows are estimated as before, a
        // table's own `where` gives an unknown number.
        let rows = match report.tables.iter().find(|t| t.table == table) {
            Some(t) if t.all_rows => source.expected_rows(&table),
            Some(t) if t.filters == 0 => Some(Total::Exact(t.keyed_rows)),
            _ => None,
        };
        source.restrict(&table, query, rows);
    }
    crate::progress::say(&report);
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "subset computed");
    Ok(report)
}
