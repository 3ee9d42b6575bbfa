//! Checks across tables, on the source's keys and access facts: what binding one table's
//! rules to its columns cannot see.
//!
//! - **A copied table's foreign key must not reference a skipped table.** The copy would
//!   hold references to rows that are not there: a database target's foreign key fails in
//!   post-data (and the run is rolled back), a Parquet or dump output is silently broken.
//!   It is fine when every column of the foreign key is set to NULL by its rule (`null`),
//!   because NULL references nothing.
//! - **A copied table must be readable in full.** PostgreSQL row-level security policies
//!   that apply to the reading role would hide rows ([`SourceTable::row_security`]).
//!
//! Both work from the rules as written, so they are reported even when a table's column
//! rules have other problems, together with every other plan problem.

use crate::error::Problem;
use crate::rules::{ColumnRule, RuleSet, TableAction};

use super::SourceTable;

/// Adds a problem for every copied table that references a skipped one through a foreign
/// key whose columns are not all nulled, and for every copied table under row security.
pub(super) fn check(rules: &RuleSet, tables: &[SourceTable], problems: &mut Vec<Problem>) {
    for table in tables {
        let Some(table_rules) = rules.tables.get(&table.name) else { continue };
        if table_rules.action == TableAction::Skip {
            continue;
        }
        let at =
            |message: String| Problem::new(message).at(&table_rules.file, Some(table_rules.line)).table(&table.name);
        if table.row_security {
            problems.push(at(
                "row-level security policies on this table apply to the role doppel reads as, so reading it \
                 would silently return only the rows they allow. Read as the table's owner (without FORCE ROW \
                 LEVEL SECURITY), a superuser or a role with BYPASSRLS, or set action = \"skip\""
                    .into(),
            ));
        }
        for fk in &table.foreign_keys {
            let referenced_skipped =
                rules.tables.get(&fk.references_table).is_some_and(|r| r.action == TableAction::Skip);
            if !referenced_skipped {
                continue;
            }
            let nulled = |column: &String| {
                table_rules.columns.iter().any(|c| c.name == *column && c.rule == Some(ColumnRule::Null))
            };
            if fk.columns.iter().all(nulled) {
                continue;
            }
            let columns = fk.columns.join(", ");
            problems.push(at(format!(
                "foreign key {} ({columns}) references {}, which the rules skip: the copy would refer to rows \
                 that are not there. Copy {} too, skip {} as well, or set {} to {{ action = \"null\" }}",
                fk.name,
                fk.references_table,
                fk.references_table,
                table.name,
                if fk.columns.len() == 1 { columns.clone() } else { format!("each of {columns}") },
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use arrow_schema::{DataType, Field, Schema};

    use super::*;
    use crate::error::Error;
    use crate::plan::bind;
    use crate::rules::parse_rules;
    use crate::schema::ForeignKey;

    fn table(name: &str, columns: &[&str], foreign_keys: Vec<ForeignKey>) -> SourceTable {
        let fields: Vec<Field> = columns.iter().map(|c| Field::new(*c, DataType::Int32, true)).collect();
        SourceTable {
            primary_key: Some(vec![columns[0].to_string()]),
            foreign_keys,
            ..SourceTable::new(name, Arc::new(Schema::new(fields)))
        }
    }

    fn fk(name: &str, columns: &[&str], references: &str, references_columns: &[&str]) -> ForeignKey {
        ForeignKey {
            name: name.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            references_table: references.into(),
            references_columns: references_columns.iter().map(|c| c.to_string()).collect(),
            deferrable: false,
        }
    }

    /// customers ← orders (customer_id); orders ← order_lines (order_id, order_no) composite;
    /// order_lines ← order_lines (parent_line) self-reference.
    fn shop() -> Vec<SourceTable> {
        vec![
            table("public.customers", &["id"], vec![]),
            table(
                "public.order_lines",
                &["id", "order_id", "order_no", "parent_line"],
                vec![
                    fk("lines_order_fk", &["order_id", "order_no"], "public.orders", &["id", "no"]),
                    fk("lines_parent_fk", &["parent_line"], "public.order_lines", &["id"]),
                ],
            ),
            table(
                "public.orders",
                &["id", "no", "customer_id"],
                vec![fk("orders_customer_fk", &["customer_id"], "public.customers", &["id"])],
            ),
        ]
    }

    fn problems(rules: &str) -> Vec<Problem> {
        let set = parse_rules(&[(PathBuf::from("r.toml"), format!("version = 1\n{rules}"))]).unwrap();
        match bind(&set, &shop()) {
            Ok(_) => Vec::new(),
            Err(Error::Rules(p)) => p.0,
            Err(e) => panic!("{e}"),
        }
    }

    const ALL_COPIED: &str = r#"
[tables."public.customers"]
keep = ["id"]
[tables."public.orders"]
keep = ["id", "no", "customer_id"]
[tables."public.order_lines"]
keep = ["id", "order_id", "order_no", "parent_line"]
"#;

    #[test]
    fn references_between_copied_tables_are_fine() {
        assert_eq!(problems(ALL_COPIED), vec![]);
        // A self-reference is never to a skipped table, and skipping the referencing side is fine.
        let rules =
            ALL_COPIED.replace("keep = [\"id\", \"order_id\", \"order_no\", \"parent_line\"]", "action = \"skip\"");
        assert_eq!(problems(&rules), vec![]);
    }

    #[test]
    fn a_reference_to_a_skipped_table_is_a_plan_error_naming_everything() {
        let rules = ALL_COPIED.replace("keep = [\"id\"]", "action = \"skip\"");
        let p = problems(&rules);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].table.as_deref(), Some("public.orders"));
        assert_eq!(p[0].line, Some(5));
        let m = &p[0].message;
        for part in ["orders_customer_fk", "(customer_id)", "references public.customers", "Copy public.customers"] {
            assert!(m.contains(part), "{part}: {m}");
        }
        assert!(m.contains("skip public.orders as well") && m.contains("set customer_id to { action = \"null\" }"));
    }

    #[test]
    fn nulling_every_column_of_the_key_makes_it_fine_and_some_of_them_does_not() {
        let skipped_orders = r#"
[tables."public.customers"]
keep = ["id"]
[tables."public.orders"]
action = "skip"
[tables."public.order_lines"]
keep = ["id", "parent_line"]
[tables."public.order_lines".columns]
"#;
        let p = problems(&format!(
            "{skipped_orders}order_id = {{ action = \"null\" }}\norder_no = {{ action = \"keep\" }}\n"
        ));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].message.contains("lines_order_fk (order_id, order_no)"), "{}", p[0].message);
        assert!(p[0].message.contains("set each of order_id, order_no to"), "{}", p[0].message);
        let p = problems(&format!(
            "{skipped_orders}order_id = {{ action = \"null\" }}\norder_no = {{ action = \"null\" }}\n"
        ));
        assert_eq!(p, vec![]);
    }

    #[test]
    fn reported_together_with_column_problems() {
        let rules = ALL_COPIED.replace("keep = [\"id\"]", "action = \"skip\"").replace("\"customer_id\"]", "]");
        let p = problems(&rules);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p.iter().any(|p| p.column.as_deref() == Some("customer_id") && p.message.contains("no rule")));
        assert!(p.iter().any(|p| p.message.contains("orders_customer_fk")));
    }

    #[test]
    fn row_security_on_a_copied_table_is_a_plan_error_and_skipping_it_is_fine() {
        let mut tables = shop();
        tables[0].row_security = true;
        let set = parse_rules(&[(PathBuf::from("r.toml"), format!("version = 1\n{ALL_COPIED}"))]).unwrap();
        let Err(Error::Rules(p)) = bind(&set, &tables) else { panic!("row security must be refused") };
        assert_eq!(p.0.len(), 1);
        assert_eq!(p.0[0].table.as_deref(), Some("public.customers"));
        assert!(p.0[0].message.contains("row-level security") && p.0[0].message.contains("BYPASSRLS"));
        tables[0].foreign_keys.clear();
        tables[2].foreign_keys.clear();
        let rules = ALL_COPIED.replace("keep = [\"id\"]", "action = \"skip\"");
        let set = parse_rules(&[(PathBuf::from("r.toml"), format!("version = 1\n{rules}"))]).unwrap();
        bind(&set, &tables).unwrap();
    }
}
