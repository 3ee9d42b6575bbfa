//! A dump's schema from its DDL, parsed with PostgreSQL's grammar ([`super::script`]): the
//! tables ([`PgTable`], as the catalog reader builds them for a live source, so plans, locks,
//! scans and sinks see the same columns, types and keys), the sequences with the values the
//! dump sets them to, and the dump's pre-data and post-data sections as SQL text for the
//! database and SQL dump targets.
//!
//! | statement                                        | gives                                   |
//! |--------------------------------------------------|-----------------------------------------|
//! | `CREATE TABLE` (columns, inline constraints)     | a table, NOT NULL, keys, CHECKs, generated columns |
//! | `ALTER TABLE … ADD CONSTRAINT`                   | primary, unique and foreign keys, CHECKs |
//! | `ALTER TABLE … ADD GENERATED … AS IDENTITY`      | an identity sequence owned by the column |
//! | `CREATE UNIQUE INDEX`                            | a unique key                            |
//! | `CREATE TYPE … AS ENUM / AS (…) / AS RANGE`, `CREATE DOMAIN` | column types ([`super::types`]) |
//! | `CREATE SEQUENCE`, `ALTER SEQUENCE … OWNED BY`   | sequences and their owning columns      |
//! | `SELECT pg_catalog.setval(…)`                    | a sequence's value                      |
//! | `SET client_encoding`                            | refused unless UTF8                     |
//! | `COPY` inside SQL (not a data block)             | refused                                 |
//! | anything else (functions, views, grants, …)      | passed to the targets unchanged         |
//!
//! Sections: everything before the first table data is pre-data, everything after the last
//! is post-data; `setval` calls are data. Partitioned tables and partitions are refused (a
//! live source reads a partitioned table through its parent; a dump holds each partition's
//! rows apart).

use std::collections::{BTreeMap, HashMap};

use pg_query::NodeEnum;
use pg_query::protobuf::{self, ConstrType, Node, RawStmt};

use super::script::{Piece, Script, check_copy};
use super::types::{self, Resolved, UserType, UserTypes};
use crate::pg::catalog::{PgColumn, PgTable};
use crate::pg::type_class::TypeClass;
use crate::pg::types::ColumnKind;
use crate::schema::{CheckConstraint, ForeignKey, UniqueKey};
use crate::type_kind::TypeKind;

/// A sequence of the dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    pub schema: String,
    pub name: String,
    pub ascending: bool,
    /// `schema.table` and column owning it (OWNED BY, or an identity column).
    pub owner: Option<(String, String)>,
    /// `setval`'s value and `is_called`; `None` when the dump does not set it.
    pub value: Option<(i64, bool)>,
}

/// What the DDL of a dump describes.
#[derive(Debug, Default)]
pub struct DumpSchema {
    /// Tables in name order.
    pub tables: Vec<PgTable>,
    /// Sequences in (schema, name) order.
    pub sequences: Vec<Sequence>,
    /// SQL before the first table data, as in the dump.
    pub pre_data: String,
    /// SQL after the last table data, as in the dump.
    pub post_data: String,
    /// The `SET` statements at the top of the dump (pg_dump's session settings).
    pub preamble: String,
}

struct ColumnDraft {
    name: String,
    type_name: protobuf::TypeName,
    not_null: bool,
    generated: bool,
    reads: Vec<String>,
}

#[derive(Default)]
struct TableDraft {
    schema: String,
    name: String,
    partitioned: bool,
    columns: Vec<ColumnDraft>,
    primary_key: Option<Vec<String>>,
    unique_keys: Vec<UniqueKey>,
    checks: Vec<CheckConstraint>,
    foreign_keys: Vec<ForeignKey>,
    /// Line of its CREATE TABLE.
    line: u64,
}

#[derive(Default)]
struct Collector {
    tables: BTreeMap<String, TableDraft>,
    types: UserTypes,
    /// Domain name → its CHECK constraints' names.
    domain_checks: HashMap<(String, String), Vec<String>>,
    sequences: BTreeMap<(String, String), Sequence>,
    partitions: Vec<(String, u64)>,
}

fn node(n: &Node) -> Option<&NodeEnum> {
    n.node.as_ref()
}

fn strings(nodes: &[Node]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(|n| match node(n)? {
            NodeEnum::String(s) => Some(s.sval.clone()),
            _ => None,
        })
        .collect()
}

fn relation_name(r: &protobuf::RangeVar) -> (String, String) {
    let schema = if r.schemaname.is_empty() { "public".to_string() } else { r.schemaname.clone() };
    (schema, r.relname.clone())
}

fn qualified(parts: &[String]) -> (String, String) {
    match parts {
        [s, n] => (s.clone(), n.clone()),
        [.., s, n] => (s.clone(), n.clone()),
        [n] => ("public".to_string(), n.clone()),
        [] => (String::new(), String::new()),
    }
}

/// The column names an expression reads (ColumnRef nodes), each once, in first-seen order.
fn column_refs(expr: &Node) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let Some(root) = node(expr) else { return found };
    if let NodeEnum::ColumnRef(c) = root
        && let Some(name) = strings(&c.fields).last()
    {
        found.push(name.clone());
    }
    for (child, _, _, _) in root.nodes() {
        if let pg_query::NodeRef::ColumnRef(c) = child
            && let Some(name) = strings(&c.fields).last()
            && !found.contains(name)
        {
            found.push(name.clone());
        }
    }
    found
}

/// The text of a statement of `text`, without its `;`.
pub fn statement_text<'a>(text: &'a str, s: &RawStmt) -> &'a str {
    let start = (s.stmt_location.max(0) as usize).min(text.len());
    let end = if s.stmt_len == 0 { text.len() } else { (start + s.stmt_len as usize).min(text.len()) };
    text[start..end].trim()
}

/// `setval('schema.name', value, is_called)`: the sequence and its value.
fn setval(stmt: &protobuf::SelectStmt) -> Option<((String, String), (i64, bool))> {
    let [target] = stmt.target_list.as_slice() else { return None };
    let NodeEnum::ResTarget(target) = node(target)? else { return None };
    let NodeEnum::FuncCall(call) = node(target.val.as_ref()?)? else { return None };
    if strings(&call.funcname).last().map(String::as_str) != Some("setval") {
        return None;
    }
    let constant = |n: &Node| match node(n)? {
        NodeEnum::AConst(c) => c.val.clone(),
        _ => None,
    };
    use protobuf::a_const::Val;
    let (name, value, called) = match call.args.as_slice() {
        [n, v] => (constant(n)?, constant(v)?, Some(Val::Boolval(protobuf::Boolean { boolval: true }))),
        [n, v, c] => (constant(n)?, constant(v)?, constant(c)),
        _ => return None,
    };
    let Val::Sval(name) = name else { return None };
    let value = match value {
        Val::Ival(i) => i64::from(i.ival),
        Val::Fval(f) => f.fval.parse().ok()?,
        _ => return None,
    };
    let called = match called? {
        Val::Boolval(b) => b.boolval,
        _ => return None,
    };
    let parsed = pg_query::parse(&format!("SELECT 1 FROM {}", name.sval), 0).ok()?;
    let from = parsed.protobuf.nodes().into_iter().find_map(|(n, _, _, _)| match n {
        pg_query::NodeRef::RangeVar(r) => Some(relation_name(r)),
        _ => None,
    })?;
    Some((from, (value, called)))
}

impl Collector {
    fn table(&mut self, schema: &str, name: &str) -> Option<&mut TableDraft> {
        self.tables.get_mut(&format!("{schema}.{name}"))
    }

    /// A table-level constraint (inline or added) on `schema.table`.
    fn constraint(&mut self, schema: &str, table: &str, c: &protobuf::Constraint, column: Option<&str>) {
        let keys =
            if c.keys.is_empty() { column.map(|c| vec![c.to_string()]).unwrap_or_default() } else { strings(&c.keys) };
        let Some(t) = self.table(schema, table) else { return };
        match ConstrType::try_from(c.contype) {
            Ok(ConstrType::ConstrPrimary) => {
                t.primary_key = Some(keys.clone());
                for col in t.columns.iter_mut().filter(|col| keys.contains(&col.name)) {
                    col.not_null = true;
                }
                t.unique_keys.push(UniqueKey {
                    name: c.conname.clone(),
                    columns: keys,
                    case_insensitive: Vec::new(),
                    partial: false,
                    expression: false,
                    nulls_not_distinct: false,
                    primary: true,
                });
            }
            Ok(ConstrType::ConstrUnique) => t.unique_keys.push(UniqueKey {
                name: c.conname.clone(),
                columns: keys,
                case_insensitive: Vec::new(),
                partial: false,
                expression: false,
                nulls_not_distinct: c.nulls_not_distinct,
                primary: false,
            }),
            Ok(ConstrType::ConstrNotnull) => {
                for col in t.columns.iter_mut().filter(|col| keys.contains(&col.name)) {
                    col.not_null = true;
                }
            }
            Ok(ConstrType::ConstrCheck) => {
                let mut columns = c.raw_expr.as_deref().map(column_refs).unwrap_or_default();
                let order: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
                columns.retain(|c| order.contains(&c.as_str()));
                columns.sort_by_key(|c| order.iter().position(|o| o == c));
                t.checks.push(CheckConstraint { name: c.conname.clone(), columns, domain: None, not_null: false });
            }
            Ok(ConstrType::ConstrForeign) => {
                let columns = if c.fk_attrs.is_empty() { keys } else { strings(&c.fk_attrs) };
                let references_table = c.pktable.as_ref().map(relation_name).map(|(s, n)| format!("{s}.{n}"));
                t.foreign_keys.push(ForeignKey {
                    name: c.conname.clone(),
                    columns,
                    references_table: references_table.unwrap_or_default(),
                    references_columns: strings(&c.pk_attrs),
                    deferrable: c.deferrable,
                });
            }
            _ => {}
        }
    }

    fn create_table(&mut self, create: &protobuf::CreateStmt, line: u64) -> Result<(), String> {
        let Some(relation) = create.relation.as_ref() else { return Ok(()) };
        let (schema, name) = relation_name(relation);
        if create.partbound.is_some() {
            self.partitions.push((format!("{schema}.{name}"), line));
        }
        let mut draft = TableDraft {
            schema: schema.clone(),
            name: name.clone(),
            partitioned: create.partspec.is_some(),
            line,
            ..TableDraft::default()
        };
        let mut inline = Vec::new();
        for element in &create.table_elts {
            match node(element) {
                Some(NodeEnum::ColumnDef(col)) => {
                    let Some(type_name) = col.type_name.clone() else {
                        return Err(format!("table {schema}.{name}: column {} has no type", col.colname));
                    };
                    let mut column = ColumnDraft {
                        name: col.colname.clone(),
                        type_name,
                        not_null: col.is_not_null,
                        generated: false,
                        reads: Vec::new(),
                    };
                    for c in &col.constraints {
                        let Some(NodeEnum::Constraint(c)) = node(c) else { continue };
                        match ConstrType::try_from(c.contype) {
                            Ok(ConstrType::ConstrNotnull) => column.not_null = true,
                            Ok(ConstrType::ConstrGenerated) => {
                                column.generated = true;
                                column.reads = c.raw_expr.as_deref().map(column_refs).unwrap_or_default();
                            }
                            Ok(ConstrType::ConstrIdentity) => column.not_null = true,
                            _ => inline.push((c.clone(), Some(col.colname.clone()))),
                        }
                    }
                    draft.columns.push(column);
                }
                Some(NodeEnum::Constraint(c)) => inline.push((c.clone(), None)),
                _ => {}
            }
        }
        // A generated column's reads, in attnum order.
        let order: Vec<String> = draft.columns.iter().map(|c| c.name.clone()).collect();
        for column in draft.columns.iter_mut().filter(|c| c.generated) {
            column.reads.retain(|r| order.contains(r) && *r != column.name);
            column.reads.sort_by_key(|r| order.iter().position(|o| o == r));
        }
        self.tables.insert(format!("{schema}.{name}"), draft);
        for (c, column) in inline {
            self.constraint(&schema, &name, &c, column.as_deref());
        }
        Ok(())
    }

    fn alter_table(&mut self, alter: &protobuf::AlterTableStmt) {
        let Some(relation) = alter.relation.as_ref() else { return };
        let (schema, table) = relation_name(relation);
        for cmd in &alter.cmds {
            let Some(NodeEnum::AlterTableCmd(cmd)) = node(cmd) else { continue };
            let def = cmd.def.as_deref().and_then(node);
            match (protobuf::AlterTableType::try_from(cmd.subtype), def) {
                (Ok(protobuf::AlterTableType::AtAddConstraint), Some(NodeEnum::Constraint(c))) => {
                    self.constraint(&schema, &table, c, None)
                }
                (Ok(protobuf::AlterTableType::AtAddIdentity), Some(NodeEnum::Constraint(c))) => {
                    let sequence = c.options.iter().find_map(|o| match node(o)? {
                        NodeEnum::DefElem(d) if d.defname == "sequence_name" => match node(d.arg.as_deref()?)? {
                            NodeEnum::List(l) => Some(qualified(&strings(&l.items))),
                            _ => None,
                        },
                        _ => None,
                    });
                    if let Some(key) = sequence {
                        let owner = Some((format!("{schema}.{table}"), cmd.name.clone()));
                        let seq = self.sequences.entry(key.clone()).or_insert_with(|| Sequence {
                            schema: key.0.clone(),
                            name: key.1.clone(),
                            ascending: true,
                            owner: None,
                            value: None,
                        });
                        seq.owner = owner;
                        seq.ascending = increment_positive(&c.options).unwrap_or(true);
                    }
                    if let Some(t) = self.table(&schema, &table) {
                        for col in t.columns.iter_mut().filter(|c| c.name == cmd.name) {
                            col.not_null = true;
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn unique_index(&mut self, index: &protobuf::IndexStmt) {
        if !index.unique {
            return;
        }
        let Some(relation) = index.relation.as_ref() else { return };
        let (schema, table) = relation_name(relation);
        let mut columns = Vec::new();
        let mut case_insensitive = Vec::new();
        let mut expression = false;
        for param in &index.index_params {
            let Some(NodeEnum::IndexElem(e)) = node(param) else { continue };
            if !e.name.is_empty() {
                columns.push(e.name.clone());
                continue;
            }
            let Some(expr) = e.expr.as_deref() else { continue };
            let reads = column_refs(expr);
            let case_fold = match node(expr) {
                Some(NodeEnum::FuncCall(f)) => {
                    matches!(strings(&f.funcname).last().map(String::as_str), Some("lower" | "upper"))
                        && reads.len() == 1
                        && f.args.len() == 1
                }
                _ => false,
            };
            if case_fold {
                case_insensitive.extend(reads.iter().cloned());
            } else {
                expression = true;
            }
            for r in reads {
                if !columns.contains(&r) {
                    columns.push(r);
                }
            }
        }
        let partial = index.where_clause.is_some();
        if let Some(t) = self.table(&schema, &table) {
            t.unique_keys.push(UniqueKey {
                name: index.idxname.clone(),
                columns,
                case_insensitive,
                partial,
                expression,
                nulls_not_distinct: index.nulls_not_distinct,
                primary: false,
            });
        }
    }

    fn statement(&mut self, stmt: &NodeEnum, line: u64) -> Result<(), String> {
        match stmt {
            NodeEnum::CreateStmt(create) => self.create_table(create, line)?,
            NodeEnum::AlterTableStmt(alter) => self.alter_table(alter),
            NodeEnum::IndexStmt(index) => self.unique_index(index),
            NodeEnum::CreateEnumStmt(e) => {
                let labels = e
                    .vals
                    .iter()
                    .filter_map(|v| match node(v)? {
                        NodeEnum::String(s) => Some(s.sval.clone()),
                        _ => None,
                    })
                    .collect();
                self.types.insert(qualified(&strings(&e.type_name)), UserType::Enum(labels));
            }
            NodeEnum::CompositeTypeStmt(c) => {
                if let Some(r) = c.typevar.as_ref() {
                    self.types.insert(relation_name(r), UserType::Composite);
                }
            }
            NodeEnum::CreateRangeStmt(r) => {
                self.types.insert(qualified(&strings(&r.type_name)), UserType::Range);
            }
            NodeEnum::CreateDomainStmt(d) => {
                let key = qualified(&strings(&d.domainname));
                let mut check_names = Vec::new();
                let mut not_null = false;
                for c in &d.constraints {
                    let Some(NodeEnum::Constraint(c)) = node(c) else { continue };
                    match ConstrType::try_from(c.contype) {
                        Ok(ConstrType::ConstrCheck) => check_names.push(c.conname.clone()),
                        Ok(ConstrType::ConstrNotnull) => not_null = true,
                        _ => {}
                    }
                }
                if let Some(base) = d.type_name.clone() {
                    let check = !check_names.is_empty();
                    self.types.insert(key.clone(), UserType::Domain { base, check, not_null });
                }
                self.domain_checks.insert(key, check_names);
            }
            NodeEnum::AlterDomainStmt(_) => {}
            NodeEnum::CreateSeqStmt(s) => {
                let Some(r) = s.sequence.as_ref() else { return Ok(()) };
                let (schema, name) = relation_name(r);
                let ascending = increment_positive(&s.options).unwrap_or(true);
                let seq = self.sequences.entry((schema.clone(), name.clone())).or_insert_with(|| Sequence {
                    schema,
                    name,
                    ascending,
                    owner: None,
                    value: None,
                });
                seq.ascending = ascending;
            }
            NodeEnum::AlterSeqStmt(s) => {
                let Some(r) = s.sequence.as_ref() else { return Ok(()) };
                let key = relation_name(r);
                for o in &s.options {
                    let Some(NodeEnum::DefElem(d)) = node(o) else { continue };
                    if d.defname != "owned_by" {
                        continue;
                    }
                    let Some(NodeEnum::List(l)) = d.arg.as_deref().and_then(node) else { continue };
                    let parts = strings(&l.items);
                    if let Some(seq) = self.sequences.get_mut(&key)
                        && parts.len() >= 2
                    {
                        let column = parts[parts.len() - 1].clone();
                        let (ts, tn) = qualified(&parts[..parts.len() - 1]);
                        seq.owner = Some((format!("{ts}.{tn}"), column));
                    }
                }
            }
            NodeEnum::CopyStmt(copy) => {
                let table =
                    copy.relation.as_ref().map(|r| format!("{}.{}", r.schemaname, r.relname)).unwrap_or_default();
                check_copy(copy, &table)?;
                return Err(format!(
                    "COPY {table} FROM stdin is not on a line of its own where pg_dump writes it; doppel reads \
                     pg_dump's output only"
                ));
            }
            NodeEnum::VariableSetStmt(v) if v.name == "client_encoding" => {
                let value = v.args.iter().find_map(|a| match node(a)? {
                    NodeEnum::AConst(c) => match c.val.as_ref()? {
                        protobuf::a_const::Val::Sval(s) => Some(s.sval.clone()),
                        _ => None,
                    },
                    _ => None,
                });
                if let Some(value) = value
                    && !value.eq_ignore_ascii_case("utf8")
                    && !value.eq_ignore_ascii_case("utf-8")
                {
                    return Err(format!(
                        "the dump is in the {value} encoding; doppel reads UTF8 dumps: take it with pg_dump -E UTF8"
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn setval(&mut self, key: (String, String), value: (i64, bool)) {
        let seq = self.sequences.entry(key.clone()).or_insert_with(|| Sequence {
            schema: key.0,
            name: key.1,
            ascending: true,
            owner: None,
            value: None,
        });
        seq.value = Some(value);
    }
}

/// Whether a sequence's options make it ascending (`INCREMENT BY` positive); `None` if unsaid.
fn increment_positive(options: &[Node]) -> Option<bool> {
    options.iter().find_map(|o| match node(o)? {
        NodeEnum::DefElem(d) if d.defname == "increment" => match node(d.arg.as_deref()?)? {
            NodeEnum::Integer(i) => Some(i.ival > 0),
            NodeEnum::Float(f) => Some(!f.fval.starts_with('-')),
            _ => None,
        },
        _ => None,
    })
}

/// The line of `text` (which starts at line `first`) where byte `at` is.
fn line_at(text: &str, first: u64, at: i32) -> u64 {
    let at = (at.max(0) as usize).min(text.len());
    first + text.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() as u64
}

/// Where the entry of the statement at `at` begins in `text`: the comment header (pg_dump's
/// `--\n-- Name: …`) before the statement, after the empty lines that end the entry before.
/// `at` is a statement's location: its first token, or just after the `;` before it.
fn entry_start(text: &str, at: usize) -> usize {
    let mut p = at.min(text.len());
    // The rest of the line of a `;` before the statement.
    if let Some(end) = text[p..].find('\n')
        && text[p..p + end].trim().is_empty()
        && !text[..p].ends_with('\n')
    {
        p += end + 1;
    }
    // Back over the comment and empty lines before the statement.
    while p > 0 {
        let line_start = text[..p - 1].rfind('\n').map_or(0, |i| i + 1);
        let line = &text[line_start..p];
        if line.starts_with("--") || line.trim().is_empty() {
            p = line_start;
        } else {
            break;
        }
    }
    p + text[p..].bytes().take_while(|&b| b == b'\n').count()
}

/// A section's text from its first statement to its last: without pg_dump's opening and
/// closing comment lines, nor the comment header of the table data that follows pre-data.
fn section_body(text: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let is_text = |l: &&str| !l.starts_with("--") && !l.trim().is_empty();
    match (lines.iter().position(is_text), lines.iter().rposition(is_text)) {
        (Some(first), Some(last)) => lines[first..=last].concat(),
        _ => String::new(),
    }
}

/// A statement for which pg_dump selects a tablespace: an index, or a constraint that builds one.
fn builds_index(stmt: &NodeEnum) -> bool {
    match stmt {
        NodeEnum::IndexStmt(_) => true,
        NodeEnum::AlterTableStmt(a) => a.cmds.iter().any(|c| match node(c) {
            Some(NodeEnum::AlterTableCmd(cmd)) => match cmd.def.as_deref().and_then(node) {
                Some(NodeEnum::Constraint(c)) => matches!(
                    ConstrType::try_from(c.contype),
                    Ok(ConstrType::ConstrPrimary | ConstrType::ConstrUnique | ConstrType::ConstrExclusion)
                ),
                _ => false,
            },
            _ => false,
        }),
        _ => false,
    }
}

/// Reads `script`'s DDL; errors are messages naming the line (the caller names the file).
pub fn read(script: &Script) -> Result<DumpSchema, String> {
    let mut c = Collector::default();
    let mut pre_data = String::new();
    let mut post_data = String::new();
    let mut preamble = String::new();
    let mut seen_data = false;
    let mut in_preamble = true;
    let mut tablespace_set = false;
    for piece in &script.pieces {
        let sql = match piece {
            Piece::Copy(_) => {
                seen_data = true;
                continue;
            }
            Piece::Sql(sql) => sql,
        };
        let mut post_from: Option<usize> = None;
        // Where pg_dump would say `SET default_tablespace` in a post-data section of its own.
        let mut tablespace_at: Option<usize> = None;
        for s in &sql.statements {
            let Some(stmt) = s.stmt.as_deref().and_then(node) else { continue };
            let line = line_at(&sql.text, sql.first_line, s.stmt_location);
            // pg_dump's session settings; not those it says before the entries that need them.
            let is_set = matches!(stmt, NodeEnum::VariableSetStmt(v)
                    if !matches!(v.name.as_str(), "default_tablespace" | "default_table_access_method" | "session_authorization"))
                || matches!(stmt, NodeEnum::SelectStmt(sel) if strings_of_call(sel) == Some("set_config"));
            if in_preamble && is_set {
                preamble.push_str(statement_text(&sql.text, s));
                preamble.push_str(";\n");
            } else {
                in_preamble = false;
            }
            if let NodeEnum::SelectStmt(sel) = stmt
                && let Some((key, value)) = setval(sel)
            {
                c.setval(key, value);
                seen_data = true;
                post_from = None;
                continue;
            }
            c.statement(stmt, line).map_err(|m| format!("line {line}: {m}"))?;
            if seen_data && post_from.is_none() {
                post_from = Some(s.stmt_location.max(0) as usize);
            }
            if seen_data && !tablespace_set && tablespace_at.is_none() && builds_index(stmt) {
                tablespace_at = Some(s.stmt_location.max(0) as usize);
            }
            if seen_data && matches!(stmt, NodeEnum::VariableSetStmt(v) if v.name == "default_tablespace") {
                tablespace_set = true;
            }
        }
        if !seen_data {
            pre_data.push_str(&sql.text);
        } else if let Some(from) = post_from {
            // From the first statement after the data on (comments before it included).
            let start = entry_start(&sql.text, from);
            match tablespace_at.map(|at| entry_start(&sql.text, at).max(start)) {
                Some(at) => {
                    post_data.push_str(&sql.text[start..at]);
                    post_data.push_str("SET default_tablespace = '';\n\n");
                    post_data.push_str(&sql.text[at..]);
                    tablespace_set = true;
                }
                None => post_data.push_str(&sql.text[start..]),
            }
        }
    }
    let (pre_data, post_data) = (section_body(&pre_data), section_body(&post_data));
    if let Some((name, line)) = c.partitions.first() {
        return Err(format!(
            "line {line}: table {name} is a partition; dumps with partitioned tables cannot be read as a source in \
             this version: restore the dump and read the database"
        ));
    }
    let domain_checks = std::mem::take(&mut c.domain_checks);
    let types = std::mem::take(&mut c.types);
    let mut tables = Vec::with_capacity(c.tables.len());
    for (_, draft) in std::mem::take(&mut c.tables) {
        tables.push(table(draft, &types, &domain_checks)?);
    }
    tables.sort_by_key(PgTable::name);
    Ok(DumpSchema { tables, sequences: c.sequences.into_values().collect(), pre_data, post_data, preamble })
}

fn strings_of_call(sel: &protobuf::SelectStmt) -> Option<&'static str> {
    let [target] = sel.target_list.as_slice() else { return None };
    let NodeEnum::ResTarget(target) = node(target)? else { return None };
    let NodeEnum::FuncCall(call) = node(target.val.as_ref()?)? else { return None };
    (strings(&call.funcname).last()? == "set_config").then_some("set_config")
}

fn table(
    draft: TableDraft,
    types: &UserTypes,
    domain_checks: &HashMap<(String, String), Vec<String>>,
) -> Result<PgTable, String> {
    let name = format!("{}.{}", draft.schema, draft.name);
    let mut columns = Vec::with_capacity(draft.columns.len());
    let mut checks = draft.checks;
    for col in draft.columns {
        let resolved = types::resolve(&col.type_name, types)
            .map_err(|m| format!("line {}: table {name}, column {}: {m}", draft.line, col.name))?;
        if let Some(domain) = &resolved.domain {
            let key = domain.split_once('.').map(|(s, n)| (s.to_string(), n.to_string())).unwrap_or_default();
            for check in domain_checks.get(&key).into_iter().flatten() {
                checks.push(CheckConstraint {
                    name: check.clone(),
                    columns: vec![col.name.clone()],
                    domain: Some(domain.clone()),
                    not_null: false,
                });
            }
            if resolved.domain_not_null {
                checks.push(CheckConstraint {
                    name: key.1.clone(),
                    columns: vec![col.name.clone()],
                    domain: Some(domain.clone()),
                    not_null: true,
                });
            }
        }
        columns.push(column(col, resolved));
    }
    let mut unique_keys = draft.unique_keys;
    unique_keys.sort_by(|a, b| a.name.cmp(&b.name));
    let mut foreign_keys = draft.foreign_keys;
    foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(PgTable {
        schema_name: draft.schema,
        table_name: draft.name,
        partitioned: draft.partitioned,
        columns,
        primary_key: draft.primary_key,
        unique_keys,
        checks,
        foreign_keys,
        row_security: false,
    })
}

fn column(col: ColumnDraft, r: Resolved) -> PgColumn {
    let kind = ColumnKind::of(r.base.oid, r.typmod);
    let as_text = kind == ColumnKind::Text;
    let element_kind = r.base.element.map(|(oid, typtype, category)| {
        if typtype == "d" { TypeKind::Other } else { TypeKind::classify(oid, typtype, category, true) }
    });
    let class = TypeClass {
        kind: TypeKind::classify(r.base.oid, r.base.typtype, r.base.category, as_text),
        enum_labels: r.enum_labels,
        domain_check: r.domain_check,
        domain_not_null: r.domain_not_null,
        base_type: r.base_type,
        element_kind,
    };
    PgColumn {
        name: col.name,
        pg_type: r.pg_type,
        kind,
        not_null: col.not_null,
        generated: col.generated,
        reads: col.reads,
        class,
    }
}
