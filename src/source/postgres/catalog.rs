//! Reading the catalog, inside the exported snapshot: which relations are tables, their
//! columns in attnum order, their PostgreSQL types (domains resolved) and the Arrow schema,
//! and the COPY query that reads each one.
//!
//! Tables are ordinary (relkind `r`) and partitioned (`p`) relations of every schema but
//! `pg_catalog`, `information_schema`, `pg_toast*` and `pg_temp*`. Partitions are read
//! through their partitioned parent, never on their own; an inheritance parent is read with
//! `FROM ONLY` so its children's rows are read once, as their own tables. Foreign tables are
//! reported (not copied); views, materialized views and sequences are not tables.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{Field, Schema, SchemaRef};
use postgres::Client;

use super::types::{ColumnKind, resolve_domain};

/// One column as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgColumn {
    pub name: String,
    /// `format_type(atttypid, atttypmod)`, e.g. `character varying(40)`; names the domain for
    /// a domain column.
    pub pg_type: String,
    pub kind: ColumnKind,
    pub not_null: bool,
    pub generated: bool,
}

/// One table to read.
#[derive(Debug, Clone)]
pub struct PgTable {
    pub schema_name: String,
    pub table_name: String,
    pub partitioned: bool,
    pub columns: Vec<PgColumn>,
}

impl PgTable {
    /// `schema.table`, unquoted, as in rules files.
    pub fn name(&self) -> String {
        format!("{}.{}", self.schema_name, self.table_name)
    }

    pub fn arrow_schema(&self) -> SchemaRef {
        let fields: Vec<Field> =
            self.columns.iter().map(|c| c.kind.field(&c.name, &c.pg_type, !c.not_null, c.generated)).collect();
        Arc::new(Schema::new(fields))
    }

    pub fn kinds(&self) -> Vec<ColumnKind> {
        self.columns.iter().map(|c| c.kind).collect()
    }

    /// `COPY (SELECT "a", "b" FROM ONLY "s"."t") TO STDOUT`; partitioned tables without ONLY.
    pub fn copy_query(&self) -> String {
        let columns: Vec<String> = self.columns.iter().map(|c| quote_ident(&c.name)).collect();
        format!(
            "COPY (SELECT {} FROM {}{}.{}) TO STDOUT",
            columns.join(", "),
            if self.partitioned { "" } else { "ONLY " },
            quote_ident(&self.schema_name),
            quote_ident(&self.table_name)
        )
    }
}

/// Quotes an SQL identifier: always double-quoted, inner quotes doubled, so case, spaces
/// and keywords are kept as they are.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes an SQL string literal (standard_conforming_strings on, the default since 9.1).
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

const SCHEMA_FILTER: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

/// Every domain of the database: its oid → (base type oid, typmod), for
/// [`super::types::resolve_domain`].
pub fn read_domains(client: &mut Client) -> Result<HashMap<u32, (u32, i32)>, postgres::Error> {
    Ok(client
        .query("SELECT oid, typbasetype, typtypmod FROM pg_catalog.pg_type WHERE typtype = 'd'", &[])?
        .into_iter()
        .map(|r| (r.get::<_, u32>(0), (r.get::<_, u32>(1), r.get::<_, i32>(2))))
        .collect())
}

/// Reads the tables and their columns. `server_version_num` selects the catalog columns
/// that exist (attgenerated since 12). Returns tables sorted by `schema.table`.
pub fn read_tables(client: &mut Client, server_version_num: i32) -> Result<Vec<PgTable>, postgres::Error> {
    // Foreign tables are not copied: say so.
    let foreign = client.query(
        &format!(
            "SELECT n.nspname::text, c.relname::text FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'f' AND NOT c.relispartition AND {SCHEMA_FILTER}"
        ),
        &[],
    )?;
    for row in foreign {
        let (schema, table): (String, String) = (row.get(0), row.get(1));
        tracing::warn!(table = %format!("{schema}.{table}"), "foreign table {schema}.{table} is not copied: doppel reads only ordinary and partitioned tables");
    }

    let domains = read_domains(client)?;

    let generated = if server_version_num >= 120000 { "a.attgenerated::text" } else { "''::text" };
    let rows = client.query(
        &format!(
            "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind = 'p', \
                    a.attname::text, a.atttypid, a.atttypmod, \
                    pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, {generated} \
             FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_catalog.pg_attribute a \
                    ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {SCHEMA_FILTER} \
             ORDER BY c.oid, a.attnum"
        ),
        &[],
    )?;

    let mut tables: Vec<PgTable> = Vec::new();
    let mut last_oid = None;
    for row in rows {
        let oid: u32 = row.get(0);
        if last_oid != Some(oid) {
            last_oid = Some(oid);
            tables.push(PgTable {
                schema_name: row.get(1),
                table_name: row.get(2),
                partitioned: row.get(3),
                columns: Vec::new(),
            });
        }
        // A table without columns comes back as one row of NULL attributes.
        let Some(name) = row.get::<_, Option<String>>(4) else { continue };
        let (type_oid, typmod): (u32, i32) = (row.get(5), row.get(6));
        let (base, effective_typmod) = resolve_domain(type_oid, typmod, &domains);
        let table = tables.last_mut().expect("a table was pushed above");
        table.columns.push(PgColumn {
            name,
            pg_type: row.get(7),
            kind: ColumnKind::of(base, effective_typmod),
            not_null: row.get(8),
            generated: row.get::<_, String>(9) == "s",
        });
    }
    tables.sort_by_key(PgTable::name);
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(schema: &str, name: &str, partitioned: bool, cols: &[&str]) -> PgTable {
        PgTable {
            schema_name: schema.into(),
            table_name: name.into(),
            partitioned,
            columns: cols
                .iter()
                .map(|c| PgColumn {
                    name: c.to_string(),
                    pg_type: "text".into(),
                    kind: ColumnKind::Text,
                    not_null: false,
                    generated: false,
                })
                .collect(),
        }
    }

    #[test]
    fn identifiers_are_always_quoted() {
        assert_eq!(quote_ident("id"), "\"id\"");
        assert_eq!(quote_ident("Mixed Case"), "\"Mixed Case\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }

    #[test]
    fn copy_queries_use_only_for_plain_tables() {
        let t = table("Sales Data", "Mixed \"Case\"", false, &["id", "Full Name"]);
        assert_eq!(t.name(), "Sales Data.Mixed \"Case\"");
        assert_eq!(
            t.copy_query(),
            "COPY (SELECT \"id\", \"Full Name\" FROM ONLY \"Sales Data\".\"Mixed \"\"Case\"\"\") TO STDOUT"
        );
        let p = table("public", "events", true, &["id"]);
        assert_eq!(p.copy_query(), "COPY (SELECT \"id\" FROM \"public\".\"events\") TO STDOUT");
        let empty = table("public", "nothing", false, &[]);
        assert_eq!(empty.copy_query(), "COPY (SELECT  FROM ONLY \"public\".\"nothing\") TO STDOUT");
    }
}
