//! Sequences of a loaded database: set as the source has them under its snapshot, but never
//! below the values loaded into the integer column owning them (a rule may have changed that
//! column), or, without a source, just above those values.

use postgres::Client;

use crate::error::{Error, Result};
use crate::pg::connect::ConnectParams;
use crate::pg::error::describe;
use crate::pg::ident::{quote_ident, quote_literal};

/// Sets sequence `qualified` (quoted; `shown` unquoted, for messages) to `last_value` and
/// `is_called`, or just above the largest value loaded into the integer column owning it when
/// that is higher: an ascending sequence owned by a column (serial, identity) must stay above
/// the values loaded into it.
pub fn set_sequence(
    control: &mut Client,
    loc: &str,
    qualified: &str,
    shown: &str,
    mut last_value: i64,
    mut is_called: bool,
) -> Result<()> {
    let owner = control
        .query_opt(
            "SELECT format('%I.%I', n.nspname, c.relname), quote_ident(a.attname) \
             FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid = d.refobjid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
             JOIN pg_catalog.pg_sequence s ON s.seqrelid = d.objid \
             WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = $1::text::regclass \
             AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i') \
             AND d.refobjsubid > 0 AND s.seqincrement > 0 \
             AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)",
            &[&qualified],
        )
        .map_err(|e| Error::target(loc, format!("sequence {shown}: finding its column: {}", describe(&e))))?;
    if let Some(owner) = owner {
        let (table, column): (String, String) = (owner.get(0), owner.get(1));
        let max: Option<i64> = control
            .query_one(&format!("SELECT max({column})::int8 FROM {table}"), &[])
            .map_err(|e| Error::target(loc, format!("sequence {shown}: reading its column: {}", describe(&e))))?
            .get(0);
        if let Some(max) = max
            && (max > last_value || (max == last_value && !is_called))
        {
            (last_value, is_called) = (max, true);
        }
    }
    control
        .execute("SELECT pg_catalog.setval($1::text::regclass, $2, $3)", &[&qualified, &last_value, &is_called])
        .map_err(|e| Error::target(loc, format!("setting sequence {shown}: {}", describe(&e))))?;
    Ok(())
}

/// A sequence's value in the source: (quoted name, `schema.name` for messages, last_value,
/// is_called).
pub type SequenceValue = (String, String, i64, bool);

/// Every sequence of the source as it is under `snapshot`, in name order.
pub fn read_from_source(source: &ConnectParams, snapshot: &str) -> Result<Vec<SequenceValue>> {
    let src_loc = source.location.clone();
    let mut src = source.connect()?;
    src.batch_execute(&format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}",
        quote_literal(snapshot)
    ))
    .map_err(|e| Error::source(&src_loc, format!("importing the snapshot to read sequences: {}", describe(&e))))?;
    let names: Vec<(String, String)> = src
        .query(
            "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' ORDER BY 1, 2",
            &[],
        )
        .map_err(|e| Error::source(&src_loc, format!("listing sequences: {}", describe(&e))))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut values = Vec::with_capacity(names.len());
    for (schema, name) in &names {
        let qualified = format!("{}.{}", quote_ident(schema), quote_ident(name));
        let row = src
            .query_one(&format!("SELECT last_value, is_called FROM {qualified}"), &[])
            .map_err(|e| Error::source(&src_loc, format!("reading sequence {schema}.{name}: {}", describe(&e))))?;
        values.push((qualified, format!("{schema}.{name}"), row.get::<_, i64>(0), row.get::<_, bool>(1)));
    }
    Ok(values)
}

/// Sets every sequence of `values` on the target (`control`), or just above the largest value
/// of the integer column owning it when that is higher (the column was pseudonymised).
pub fn set_all(control: &mut Client, loc: &str, values: &[SequenceValue]) -> Result<usize> {
    for (qualified, shown, last_value, is_called) in values {
        // The loaded values differ from the source's when the owning column's rule
        // transformed them.
        set_sequence(control, loc, qualified, shown, *last_value, *is_called)?;
    }
    Ok(values.len())
}

/// Without a source: every sequence of the target just above the loaded maximum of the
/// column owning it (or unused, at its start, when it owns none or the column is empty).
pub fn raise_all(control: &mut Client, loc: &str) -> Result<usize> {
    let names: Vec<(String, String, i64)> = control
        .query(
            "SELECT format('%I.%I', n.nspname, c.relname), n.nspname || '.' || c.relname, s.seqstart \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid ORDER BY 2",
            &[],
        )
        .map_err(|e| Error::target(loc, format!("listing sequences: {}", describe(&e))))?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    for (qualified, shown, start) in &names {
        set_sequence(control, loc, qualified, shown, *start, false)?;
    }
    Ok(names.len())
}
