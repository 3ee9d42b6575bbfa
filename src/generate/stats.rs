//! Reading a [`Profile`] from a PostgreSQL source: catalog and planner statistics, never rows.
//!
//! ```text
//! PostgresSource::open ── snapshot, tables, columns, primary and foreign keys
//! connection_in_snapshot (REPEATABLE READ READ ONLY, the same snapshot):
//!     pg_class.reltuples                 rows per table (never analysed: an error)
//!     pg_constraint u / c                unique constraints, CHECK definitions
//!     pg_stats                           null_frac, avg_width, n_distinct, MCVs, histogram
//! pg_dump --schema-only --snapshot       pre-data / post-data DDL
//! ```
//!
//! The rules, bound to the source like `doppel check` binds them, decide what is personal:
//! a column whose rule is not `keep` keeps its `null_frac`, `avg_width` and `n_distinct`
//! only. Skipped tables are left out. Array-valued statistics are read as text
//! (`most_common_vals::text`) and parsed with [`super::profile::parse_array_text`].

use std::collections::HashMap;

use postgres::Client;

use crate::error::{Error, Result};
use crate::pg::catalog;
use crate::pg::child::schema_section;
use crate::pg::connect::{ConnectParams, query_error};
use crate::pg::roles::RoleMap;
use crate::plan::{Plan, Strategy};
use crate::rules::TableAction;
use crate::source::postgres::PostgresSource;

use super::profile::{
    CheckProfile, ColumnProfile, ForeignKeyProfile, PROFILE_VERSION, Profile, SchemaDdl, TableProfile, UniqueProfile,
    kind_name, parse_array_text,
};

/// One column's row of `pg_stats`.
struct Stats {
    null_frac: f64,
    avg_width: i32,
    n_distinct: f64,
    mcv: Option<String>,
    mcf: Option<Vec<f32>>,
    histogram: Option<String>,
}

/// Reads the profile of the tables `plan` copies from `source` (opened from `url`).
pub fn read_profile(source: &PostgresSource, url: &str, plan: &Plan) -> Result<Profile> {
    let params = ConnectParams::from_url(url)?;
    let location = source.location().to_string();
    let mut client = source.connection_in_snapshot("statistics")?;
    let step = crate::progress::step("reading the planner statistics");
    let rows = read_row_counts(&mut client, &params)?;
    let (unique, checks) = read_constraints(&mut client, &params)?;
    let stats = read_stats(&mut client, &params)?;
    step.finish();

    let mut never_analysed = Vec::new();
    let mut tables = Vec::new();
    for table_plan in plan.tables.iter().filter(|t| t.action == TableAction::Copy) {
        let Some(pg) = source.pg_tables().iter().find(|t| t.name() == table_plan.name) else {
            return Err(Error::source(&location, format!("table {} vanished from the catalog", table_plan.name)));
        };
        let name = table_plan.name.clone();
        let reltuples = match rows.get(&name) {
            Some(&r) if r >= 0.0 => r,
            _ => {
                never_analysed.push(name);
                continue;
            }
        };
        let mut columns = Vec::new();
        for (pg_col, col_plan) in pg.columns.iter().zip(&table_plan.columns) {
            let personal = col_plan.is_personal();
            let s = stats.get(&(name.clone(), pg_col.name.clone()));
            let parse = |text: &Option<String>, what: &str| -> Result<Vec<String>> {
                match text {
                    Some(t) if !personal => parse_array_text(t)
                        .map_err(|m| Error::source(&location, format!("{name}.{}: pg_stats.{what}: {m}", pg_col.name))),
                    _ => Ok(Vec::new()),
                }
            };
            let (most_common_vals, histogram_bounds) = match s {
                Some(s) => (parse(&s.mcv, "most_common_vals")?, parse(&s.histogram, "histogram_bounds")?),
                None => (Vec::new(), Vec::new()),
            };
            let most_common_freqs = match s.and_then(|s| s.mcf.as_ref()) {
                Some(f) if !personal => f.iter().map(|&x| round6(x as f64)).collect(),
                _ => Vec::new(),
            };
            columns.push(ColumnProfile {
                name: pg_col.name.clone(),
                pg_type: pg_col.pg_type.clone(),
                kind: kind_name(pg_col.kind),
                not_null: pg_col.not_null,
                generated: pg_col.generated,
                rule: col_plan.strategy.action().to_string(),
                generator: match &col_plan.strategy {
                    Strategy::Fake(spec) => Some(spec.generator.name().to_string()),
                    _ => None,
                },
                null_frac: s.map(|s| round6(s.null_frac)),
                avg_width: s.map(|s| s.avg_width),
                n_distinct: s.map(|s| round6(s.n_distinct)),
                most_common_vals,
                most_common_freqs,
                histogram_bounds,
            });
        }
        tables.push(TableProfile {
            rows: reltuples.round() as u64,
            primary_key: pg.primary_key.clone(),
            unique: unique.get(&name).cloned().unwrap_or_default(),
            foreign_keys: pg.foreign_keys.iter().map(ForeignKeyProfile::of).collect(),
            checks: checks.get(&name).cloned().unwrap_or_default(),
            columns,
            name,
        });
    }
    if !never_analysed.is_empty() {
        return Err(Error::source(
            &location,
            format!(
                "no statistics for {}: the table(s) were never analysed; run ANALYZE on them (or on the whole \
                 database) and profile again",
                never_analysed.join(", ")
            ),
        ));
    }
    drop(client);

    let as_source = |e: Error| match e {
        Error::Target { message, .. } => Error::source(&location, message),
        other => other,
    };
    let section = |flag: &str| -> Result<String> {
        let bytes = schema_section(&params, source.snapshot(), flag, None, &RoleMap::default(), &location)
            .map_err(as_source)?;
        String::from_utf8(bytes)
            .map_err(|_| Error::source(&location, format!("pg_dump {flag} wrote text that is not UTF-8")))
    };
    let step = crate::progress::step("dumping the schema (pg_dump)");
    let schema = SchemaDdl { pre_data: section("--section=pre-data")?, post_data: section("--section=post-data")? };
    step.finish();
    let skipped = plan.tables.iter().filter(|t| t.action != TableAction::Copy).map(|t| t.name.clone()).collect();
    let profile = Profile { version: PROFILE_VERSION, source: location.clone(), skipped, tables, schema };
    profile.check_no_values().map_err(|m| Error::source(&location, m))?;
    Ok(profile)
}

/// Six significant decimals are plenty for fractions and keep the file readable.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// `schema.table` → reltuples ([`catalog::row_estimates`]).
fn read_row_counts(client: &mut Client, params: &ConnectParams) -> Result<HashMap<String, f64>> {
    catalog::row_estimates(client).map_err(|e| query_error(&e, params, "reading row counts (pg_class.reltuples)"))
}

type Constraints = (HashMap<String, Vec<UniqueProfile>>, HashMap<String, Vec<CheckProfile>>);

/// Unique constraints (columns in key order) and CHECK constraints (their definition).
fn read_constraints(client: &mut Client, params: &ConnectParams) -> Result<Constraints> {
    let rows = client
        .query(
            "SELECT n.nspname::text || '.' || c.relname::text, con.contype = 'u', con.conname::text, \
                    pg_catalog.pg_get_constraintdef(con.oid), \
                    ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, i) \
                          JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
                          ORDER BY k.i) \
             FROM pg_catalog.pg_constraint con \
             JOIN pg_catalog.pg_class c ON c.oid = con.conrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE con.contype IN ('u', 'c') AND con.conislocal \
             ORDER BY 1, con.conname",
            &[],
        )
        .map_err(|e| query_error(&e, params, "reading unique and CHECK constraints"))?;
    let (mut unique, mut checks): Constraints = Default::default();
    for r in rows {
        let table: String = r.get(0);
        if r.get(1) {
            unique.entry(table).or_default().push(UniqueProfile { name: r.get(2), columns: r.get(4) });
        } else {
            checks.entry(table).or_default().push(CheckProfile { name: r.get(2), definition: r.get(3) });
        }
    }
    Ok((unique, checks))
}

/// `(schema.table, column)` → its `pg_stats` row: of the table itself (`inherited = false`)
/// for plain tables, of the whole tree for partitioned ones (the only row they have).
fn read_stats(client: &mut Client, params: &ConnectParams) -> Result<HashMap<(String, String), Stats>> {
    let rows = client
        .query(
            "SELECT s.schemaname::text || '.' || s.tablename::text, s.attname::text, s.null_frac::float8, \
                    s.avg_width, s.n_distinct::float8, s.most_common_vals::text, s.most_common_freqs, \
                    s.histogram_bounds::text \
             FROM pg_catalog.pg_stats s \
             JOIN pg_catalog.pg_namespace n ON n.nspname = s.schemaname \
             JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename \
             WHERE s.inherited = (c.relkind = 'p')",
            &[],
        )
        .map_err(|e| query_error(&e, params, "reading planner statistics (pg_stats)"))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let stats = Stats {
                null_frac: r.get(2),
                avg_width: r.get(3),
                n_distinct: r.get(4),
                mcv: r.get(5),
                mcf: r.get(6),
                histogram: r.get(7),
            };
            ((r.get(0), r.get(1)), stats)
        })
        .collect())
}
