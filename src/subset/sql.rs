//! The SQL of subsets: how a table's rows are keyed, how key lists travel to the server (as
//! `text[]` parameters, or as array literals inside a COPY query, which takes no parameters),
//! and the queries of the closure and of the final reads.
//!
//! Keys travel as text and are cast back to the key columns' types on the server, so an
//! index on the key is used. User `where` predicates are always evaluated in a scope of
//! their own table only (a CTE body or the outer query), never inside a subquery where an
//! unknown column name could silently resolve to another table.

use crate::pg::ident::{quote_ident, quote_literal};

use super::bind::RowKey;

/// A row key: the text of each key column (or of `tableoid` and `ctid`).
pub type Key = Box<[Box<str>]>;

/// What the queries need to know of one table.
#[derive(Debug, Clone)]
pub struct TableSql {
    /// `ONLY "s"."t"` (or without ONLY for a partitioned table).
    pub from: String,
    /// Every column, quoted, in the table's order.
    pub columns: Vec<String>,
    pub row_key: RowKey,
}

impl TableSql {
    /// Number of parts of a key.
    pub fn key_width(&self) -> usize {
        match &self.row_key {
            RowKey::PrimaryKey(c) => c.len(),
            RowKey::Ctid => 2,
        }
    }

    fn key_columns(&self, alias: &str) -> Vec<(String, String)> {
        match &self.row_key {
            RowKey::PrimaryKey(columns) => {
                columns.iter().map(|(c, t)| (format!("{alias}.{}", quote_ident(c)), t.clone())).collect()
            }
            RowKey::Ctid => vec![(format!("{alias}.tableoid"), "oid".into()), (format!("{alias}.ctid"), "tid".into())],
        }
    }

    /// `t."a"::text, t."b"::text`: the key as the closure reads it.
    pub fn key_text(&self, alias: &str) -> String {
        self.key_columns(alias).iter().map(|(c, _)| format!("{c}::text")).collect::<Vec<_>>().join(", ")
    }

    /// `t."a", t."b"`: the key for ORDER BY.
    pub fn key_list(&self, alias: &str) -> String {
        self.key_columns(alias).into_iter().map(|(c, _)| c).collect::<Vec<_>>().join(", ")
    }

    /// `(t."a", t."b") IN (SELECT … FROM unnest(…))` for keys given as `$first…` text[] parameters.
    pub fn key_in_params(&self, alias: &str, first: usize) -> String {
        let arrays: Vec<String> = (0..self.key_width()).map(|i| format!("${}::text[]", first + i)).collect();
        self.key_in(alias, &arrays)
    }

    /// The same with the keys written into the query as array literals.
    pub fn key_in_literal(&self, alias: &str, keys: &[&Key]) -> String {
        let arrays: Vec<String> =
            (0..self.key_width()).map(|i| format!("{}::text[]", array_literal(keys.iter().map(|k| &*k[i])))).collect();
        self.key_in(alias, &arrays)
    }

    fn key_in(&self, alias: &str, arrays: &[String]) -> String {
        let columns = self.key_columns(alias);
        let names: Vec<String> = (0..columns.len()).map(|i| format!("k{i}")).collect();
        let casts: Vec<String> = columns.iter().zip(&names).map(|((_, t), n)| format!("k.{n}::{t}")).collect();
        let tuple: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
        format!(
            "({}) IN (SELECT {} FROM unnest({}) AS k({}))",
            tuple.join(", "),
            casts.join(", "),
            arrays.join(", "),
            names.join(", ")
        )
    }
}

/// `"a", "b"` with an alias: `c."a", c."b"`.
pub fn qualified(alias: &str, columns: &[String]) -> String {
    columns.iter().map(|c| format!("{alias}.{}", quote_ident(c))).collect::<Vec<_>>().join(", ")
}

/// A PostgreSQL array literal of text elements, as an SQL string literal:
/// `'{"a","b \"q\""}'`.
pub fn array_literal<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::from("{");
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for ch in item.chars() {
            if ch == '"' || ch == '\\' {
                out.push('\\');
            }
            out.push(ch);
        }
        out.push('"');
    }
    out.push('}');
    quote_literal(&out)
}

/// The rows of a table a root starts from: their keys.
pub fn root_keys(table: &TableSql, filter: Option<&str>) -> String {
    let mut sql = format!("SELECT {} FROM {} t", table.key_text("t"), table.from);
    if let Some(w) = filter {
        sql.push_str(&format!(" WHERE ({w})"));
    }
    sql
}

/// Keys of the `parent` rows referenced by the `child` rows selected by `child_condition`
/// (a predicate over alias `c`, e.g. [`TableSql::key_in_params`] or a user filter).
pub fn parents_of(
    parent: &TableSql,
    parent_columns: &[String],
    child: &TableSql,
    child_columns: &[String],
    child_condition: &str,
) -> String {
    format!(
        "WITH sel AS (SELECT {} FROM {} c WHERE {child_condition}) SELECT {} FROM {} p WHERE ({}) IN (SELECT * FROM sel)",
        qualified("c", child_columns),
        child.from,
        parent.key_text("p"),
        parent.from,
        qualified("p", parent_columns),
    )
}

/// Keys of the `child` rows referencing the `parent` rows whose keys are parameters `$1…`;
/// with `with_reference`, each row also gives the text of its referencing columns.
pub fn children_of(
    child: &TableSql,
    child_columns: &[String],
    parent: &TableSql,
    parent_columns: &[String],
    with_reference: bool,
) -> String {
    let reference = if with_reference {
        let texts: Vec<String> = child_columns.iter().map(|c| format!("c.{}::text", quote_ident(c))).collect();
        format!(", {}", texts.join(", "))
    } else {
        String::new()
    };
    format!(
        "WITH par AS (SELECT {} FROM {} p WHERE {}) SELECT {}{reference} FROM {} c WHERE ({}) IN (SELECT * FROM par)",
        qualified("p", parent_columns),
        parent.from,
        parent.key_in_params("p", 1),
        child.key_text("c"),
        child.from,
        qualified("c", child_columns),
    )
}

/// A table's selected rows as a predicate over `alias`: any of the filters, or a listed key.
pub fn selection_predicate(table: &TableSql, alias: &str, filters: &[String], keys: &[&Key]) -> String {
    let mut parts: Vec<String> = filters.iter().map(|w| format!("({w})")).collect();
    if !keys.is_empty() {
        parts.push(table.key_in_literal(alias, keys));
    }
    if parts.is_empty() { "false".to_string() } else { parts.join(" OR ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customers() -> TableSql {
        TableSql {
            from: "ONLY \"public\".\"customers\"".into(),
            columns: vec!["\"id\"".into()],
            row_key: RowKey::PrimaryKey(vec![("id".into(), "character varying(5)".into())]),
        }
    }

    #[test]
    fn array_literals_escape_quotes_and_backslashes_inside_a_string_literal() {
        let items = ["a", "b\"c", "d\\e", "it's"];
        assert_eq!(array_literal(items.into_iter()), r#"'{"a","b\"c","d\\e","it''s"}'"#);
        assert_eq!(array_literal(std::iter::empty()), "'{}'");
    }

    #[test]
    fn keys_are_cast_back_to_the_key_types() {
        let t = customers();
        assert_eq!(
            t.key_in_params("p", 1),
            "(p.\"id\") IN (SELECT k.k0::character varying(5) FROM unnest($1::text[]) AS k(k0))"
        );
        let ctid = TableSql { row_key: RowKey::Ctid, ..customers() };
        assert_eq!(ctid.key_text("t"), "t.tableoid::text, t.ctid::text");
        assert!(ctid.key_in_params("t", 3).contains("k.k0::oid, k.k1::tid FROM unnest($3::text[], $4::text[])"));
    }

    #[test]
    fn an_empty_selection_selects_nothing() {
        assert_eq!(selection_predicate(&customers(), "t", &[], &[]), "false");
        let key: Key = vec!["ALFKI".into()].into_boxed_slice();
        let p = selection_predicate(&customers(), "t", &["x > 1".into()], &[&key]);
        assert!(p.starts_with("(x > 1) OR (t.\"id\") IN"), "{p}");
    }
}
