//! The whole source's foreign-key fan-out, for a subset run's report: a subset run reads only
//! the selected rows, so the source side of children per parent is counted by the source
//! database itself, in the run's snapshot: per foreign key, one `GROUP BY` of the referencing
//! columns folded into a count per number of children (doppel holds one row per distinct
//! number of children, at most √(2 × rows)), and the referenced table's rows.

use std::collections::BTreeMap;

use postgres::Client;

use crate::error::{Error, Result};
use crate::pg::ident::quote_ident;
use crate::plan::Plan;
use crate::rules::TableAction;
use crate::source::Source;
use crate::source::postgres::PostgresSource;

/// One foreign key's children per parent in the whole source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFanOut {
    /// The referencing table.
    pub table: String,
    pub foreign_key: String,
    /// Children per key → keys with that many.
    pub sizes: BTreeMap<u64, u64>,
    /// Rows of the referenced table.
    pub parent_rows: u64,
}

/// Counts the fan-out of every foreign key of the tables `plan` copies, in `client`'s snapshot.
pub fn source_fan_out(client: &mut Client, source: &PostgresSource, plan: &Plan) -> Result<Vec<SourceFanOut>> {
    let mut out = Vec::new();
    for table in plan.tables.iter().filter(|t| t.action == TableAction::Copy) {
        let (Some(described), Some(pg)) =
            (source.tables().iter().find(|t| t.name == table.name), source.pg_table(&table.name))
        else {
            continue;
        };
        for fk in &described.foreign_keys {
            let Some(parent) = source.pg_table(&fk.references_table) else { continue };
            let columns: Vec<String> = fk.columns.iter().map(|c| quote_ident(c)).collect();
            let not_null: Vec<String> = columns.iter().map(|c| format!("{c} IS NOT NULL")).collect();
            let query = format!(
                "SELECT n, count(*) FROM (SELECT count(*) AS n FROM {} WHERE {} GROUP BY {}) AS keys GROUP BY n",
                pg.from_clause(),
                not_null.join(" AND "),
                columns.join(", ")
            );
            let fail = |e: postgres::Error| {
                Error::source(
                    source.location(),
                    format!("{}: counting the children per parent of foreign key {}: {e}", table.name, fk.name),
                )
            };
            let mut sizes = BTreeMap::new();
            for row in client.query(&query, &[]).map_err(fail)? {
                sizes.insert(row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64);
            }
            let rows =
                client.query_one(&format!("SELECT count(*) FROM {}", parent.from_clause()), &[]).map_err(fail)?;
            out.push(SourceFanOut {
                table: table.name.clone(),
                foreign_key: fk.name.clone(),
                sizes,
                parent_rows: rows.get::<_, i64>(0) as u64,
            });
        }
    }
    Ok(out)
}
