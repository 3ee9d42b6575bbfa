//! A column's type as a dump's DDL spells it (a parsed `TypeName`) → what the catalog would
//! say of it: `format_type`'s text, the base type's oid, typtype and typcategory, and the
//! typmod in effect, so that [`crate::pg::types::ColumnKind::of`] and
//! [`crate::type_kind::TypeKind::classify`] give a dump's columns the same Arrow types and
//! kinds as a live source's.
//!
//! Built-in types are known by their internal names (`int4`, `varchar`, …); user types by the
//! dump's own `CREATE TYPE … AS ENUM`, `CREATE DOMAIN`, `CREATE TYPE … AS (…)` and
//! `CREATE TYPE … AS RANGE`. Like `format_type` with the default search path, a user type
//! in `public` is named without its schema. A type the dump does not define (an extension's)
//! is text of kind `other`, except `citext`, which is a string.

use std::collections::HashMap;

use pg_query::NodeEnum;
use pg_query::protobuf::TypeName;

/// What the catalog knows of a base (non-domain) type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseType {
    pub oid: u32,
    pub typtype: &'static str,
    pub category: &'static str,
    /// For an array: the element's oid, typtype and category.
    pub element: Option<(u32, &'static str, &'static str)>,
}

/// A type the dump defines.
#[derive(Debug, Clone)]
pub enum UserType {
    Enum(Vec<String>),
    Composite,
    Range,
    /// Over `base`, with or without CHECKs and NOT NULL.
    Domain {
        base: TypeName,
        check: bool,
        not_null: bool,
    },
}

/// A column type resolved through the dump's own types.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// `format_type(atttypid, atttypmod)`.
    pub pg_type: String,
    pub base: BaseType,
    /// The typmod in effect (the column's, else the nearest domain's), as PostgreSQL encodes it.
    pub typmod: i32,
    pub enum_labels: Vec<String>,
    pub domain_check: bool,
    pub domain_not_null: bool,
    /// For a domain: its base type's `format_type`.
    pub base_type: Option<String>,
    /// For a domain column, the domain's name (`schema.name`).
    pub domain: Option<String>,
}

impl Resolved {
    /// A type that is not a domain and has no enum labels.
    fn plain(pg_type: String, base: BaseType, typmod: i32) -> Resolved {
        Resolved {
            pg_type,
            base,
            typmod,
            enum_labels: Vec::new(),
            domain_check: false,
            domain_not_null: false,
            base_type: None,
            domain: None,
        }
    }
}

/// `(schema, name)` of user types, as the DDL qualifies them (pg_dump always does).
pub type UserTypes = HashMap<(String, String), UserType>;

/// Built-in types: internal name → (`format_type`'s name without modifiers, oid, typcategory).
fn builtin(name: &str) -> Option<(&'static str, u32, &'static str)> {
    Some(match name {
        "bool" => ("boolean", 16, "B"),
        "bytea" => ("bytea", 17, "U"),
        "char" => ("\"char\"", 18, "Z"),
        "name" => ("name", 19, "S"),
        "int8" => ("bigint", 20, "N"),
        "int2" => ("smallint", 21, "N"),
        "int4" => ("integer", 23, "N"),
        "text" => ("text", 25, "S"),
        "oid" => ("oid", 26, "N"),
        "json" => ("json", 114, "U"),
        "xml" => ("xml", 142, "U"),
        "point" => ("point", 600, "G"),
        "lseg" => ("lseg", 601, "G"),
        "path" => ("path", 602, "G"),
        "box" => ("box", 603, "G"),
        "polygon" => ("polygon", 604, "G"),
        "line" => ("line", 628, "G"),
        "cidr" => ("cidr", 650, "I"),
        "float4" => ("real", 700, "N"),
        "float8" => ("double precision", 701, "N"),
        "circle" => ("circle", 718, "G"),
        "macaddr8" => ("macaddr8", 774, "U"),
        "money" => ("money", 790, "N"),
        "macaddr" => ("macaddr", 829, "U"),
        "inet" => ("inet", 869, "I"),
        "bpchar" => ("character", 1042, "S"),
        "varchar" => ("character varying", 1043, "S"),
        "date" => ("date", 1082, "D"),
        "time" => ("time", 1083, "D"),
        "timestamp" => ("timestamp", 1114, "D"),
        "timestamptz" => ("timestamp", 1184, "D"),
        "interval" => ("interval", 1186, "T"),
        "timetz" => ("time", 1266, "D"),
        "bit" => ("bit", 1560, "V"),
        "varbit" => ("bit varying", 1562, "V"),
        "numeric" => ("numeric", 1700, "N"),
        "uuid" => ("uuid", 2950, "U"),
        "pg_lsn" => ("pg_lsn", 3220, "U"),
        "tsvector" => ("tsvector", 3614, "U"),
        "tsquery" => ("tsquery", 3615, "U"),
        "jsonb" => ("jsonb", 3802, "U"),
        "int4range" => ("int4range", 3904, "R"),
        "numrange" => ("numrange", 3906, "R"),
        "tsrange" => ("tsrange", 3908, "R"),
        "tstzrange" => ("tstzrange", 3910, "R"),
        "daterange" => ("daterange", 3912, "R"),
        "int8range" => ("int8range", 3926, "R"),
        _ => return None,
    })
}

/// An oid for user types: outside the built-in range, never a built-in's.
const USER_OID: u32 = 1 << 30;

/// The integer typmods of `t` (`varchar(40)` → `[40]`).
fn typmod_ints(t: &TypeName) -> Option<Vec<i32>> {
    t.typmods
        .iter()
        .map(|n| match n.node.as_ref()? {
            NodeEnum::AConst(c) => match c.val.as_ref()? {
                pg_query::protobuf::a_const::Val::Ival(i) => Some(i.ival),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The type's name parts (`["pg_catalog", "int4"]`, `["public", "mood"]`, `["text"]`).
pub fn name_parts(t: &TypeName) -> Vec<String> {
    t.names
        .iter()
        .filter_map(|n| match n.node.as_ref()? {
            NodeEnum::String(s) => Some(s.sval.clone()),
            _ => None,
        })
        .collect()
}

/// `format_type`'s name and the encoded typmod of a built-in type with typmods `mods`.
fn builtin_text(internal: &str, shown: &str, mods: &[i32]) -> (String, i32) {
    let precision = |base: &str, suffix: &str| match mods.first() {
        Some(p) => (format!("{base}({p}){suffix}"), *p),
        None => (format!("{base}{suffix}"), -1),
    };
    match internal {
        "varchar" | "bpchar" | "bit" | "varbit" => match mods.first() {
            Some(n) => (format!("{shown}({n})"), if internal.ends_with("char") { n + 4 } else { *n }),
            None if internal == "bpchar" => ("bpchar".into(), -1),
            None => (shown.into(), -1),
        },
        "numeric" => match mods {
            [p] => (format!("numeric({p},0)"), (p << 16) + 4),
            [p, s] => (format!("numeric({p},{s})"), ((p << 16) | (s & 0x7ff)) + 4),
            _ => ("numeric".into(), -1),
        },
        "time" | "timestamp" => precision(shown, " without time zone"),
        "timetz" | "timestamptz" => precision(shown, " with time zone"),
        "interval" => match mods {
            // INTERVAL fields and precision: kept as text; the name is what the dump says.
            [] => ("interval".into(), -1),
            _ => ("interval".into(), -1),
        },
        _ => (shown.into(), -1),
    }
}

/// An identifier as `quote_ident` writes it: quoted only when it is not a plain lower-case
/// name (keywords aside).
fn ident_text(name: &str) -> String {
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain { name.to_string() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

/// How `format_type` names a user type `schema.name` (unqualified in `public`).
fn user_text(schema: &str, name: &str) -> String {
    if schema == "public" || schema.is_empty() {
        ident_text(name)
    } else {
        format!("{}.{}", ident_text(schema), ident_text(name))
    }
}

/// Resolves `t` through `types`; `None` with a message naming the type when it cannot be.
pub fn resolve(t: &TypeName, types: &UserTypes) -> Result<Resolved, String> {
    resolve_depth(t, types, 0)
}

fn resolve_depth(t: &TypeName, types: &UserTypes, depth: u32) -> Result<Resolved, String> {
    let parts = name_parts(t);
    let mods = typmod_ints(t).ok_or_else(|| format!("type {} has a modifier that is not a number", parts.join(".")))?;
    let array = !t.array_bounds.is_empty();
    let internal = match parts.as_slice() {
        [s, n] if s == "pg_catalog" => Some(n.as_str()),
        [n] => Some(n.as_str()),
        _ => None,
    };
    let mut resolved = if let Some((shown, oid, category)) = internal.and_then(builtin) {
        let (pg_type, typmod) = builtin_text(internal.unwrap_or_default(), shown, &mods);
        let typtype = if category == "R" { "r" } else { "b" };
        Resolved::plain(pg_type, BaseType { oid, typtype, category, element: None }, typmod)
    } else {
        let (schema, name) = match parts.as_slice() {
            [s, n] => (s.clone(), n.clone()),
            [n] => ("public".to_string(), n.clone()),
            _ => return Err(format!("type {} is not a name doppel can look up", parts.join("."))),
        };
        let pg_type = user_text(&schema, &name);
        let plain = |typtype, category| {
            Resolved::plain(pg_type.clone(), BaseType { oid: USER_OID, typtype, category, element: None }, -1)
        };
        match types.get(&(schema.clone(), name.clone())) {
            Some(UserType::Enum(labels)) => Resolved { enum_labels: labels.clone(), ..plain("e", "E") },
            Some(UserType::Composite) => plain("c", "C"),
            Some(UserType::Range) => plain("r", "R"),
            Some(UserType::Domain { base, check, not_null }) if depth < 64 => {
                let inner = resolve_depth(base, types, depth + 1)?;
                Resolved {
                    pg_type: pg_type.clone(),
                    base_type: Some(inner.base_type.clone().unwrap_or(inner.pg_type.clone())),
                    domain_check: *check || inner.domain_check,
                    domain_not_null: *not_null || inner.domain_not_null,
                    domain: Some(format!("{schema}.{name}")),
                    ..inner
                }
            }
            Some(UserType::Domain { .. }) => return Err(format!("domain {schema}.{name} nests too deeply")),
            // An extension's type (the dump creates the extension, not the type).
            None if name == "citext" => plain("b", "S"),
            None => plain("b", "U"),
        }
    };
    if array {
        let element = (resolved.base.oid, resolved.base.typtype, resolved.base.category);
        let element_domain = resolved.domain.is_some();
        let element = Some(if element_domain { (element.0, "d", element.2) } else { element });
        let base = BaseType { oid: USER_OID + 1, typtype: "b", category: "A", element };
        resolved = Resolved::plain(format!("{}[]", resolved.pg_type), base, -1);
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The column type of `CREATE TABLE t (c <ty>)`.
    fn type_of(ty: &str, types: &UserTypes) -> Resolved {
        let parsed = pg_query::parse(&format!("CREATE TABLE t (c {ty})"), 0).unwrap();
        let stmt = parsed.protobuf.stmts[0].stmt.as_ref().unwrap().node.as_ref().unwrap();
        let NodeEnum::CreateStmt(create) = stmt else { panic!() };
        let NodeEnum::ColumnDef(col) = create.table_elts[0].node.as_ref().unwrap() else { panic!() };
        resolve(col.type_name.as_ref().unwrap(), types).unwrap()
    }

    #[test]
    fn builtin_types_are_named_as_format_type_names_them() {
        let none = UserTypes::new();
        for (ty, shown) in [
            ("integer", "integer"),
            ("bigint", "bigint"),
            ("character varying(40)", "character varying(40)"),
            ("character varying", "character varying"),
            ("character(3)", "character(3)"),
            ("numeric(12,2)", "numeric(12,2)"),
            ("numeric", "numeric"),
            ("timestamp with time zone", "timestamp with time zone"),
            ("timestamp(3) without time zone", "timestamp(3) without time zone"),
            ("time without time zone", "time without time zone"),
            ("double precision", "double precision"),
            ("text[]", "text[]"),
            ("boolean", "boolean"),
            ("jsonb", "jsonb"),
            ("\"char\"", "\"char\""),
        ] {
            assert_eq!(type_of(ty, &none).pg_type, shown, "{ty}");
        }
        let numeric = type_of("numeric(12,2)", &none);
        assert_eq!(crate::pg::types::numeric_typmod(numeric.typmod), Some((12, 2)));
    }

    #[test]
    fn user_types_resolve_through_the_dump() {
        let mut types = UserTypes::new();
        types.insert(("public".into(), "mood".into()), UserType::Enum(vec!["sad".into(), "ok".into()]));
        let parsed = pg_query::parse("CREATE TABLE t (c character varying(5))", 0).unwrap();
        let NodeEnum::CreateStmt(create) = parsed.protobuf.stmts[0].stmt.as_ref().unwrap().node.as_ref().unwrap()
        else {
            panic!()
        };
        let NodeEnum::ColumnDef(col) = create.table_elts[0].node.as_ref().unwrap() else { panic!() };
        types.insert(
            ("app".into(), "code".into()),
            UserType::Domain { base: col.type_name.clone().unwrap(), check: true, not_null: false },
        );
        let mood = type_of("public.mood", &types);
        assert_eq!((mood.pg_type.as_str(), mood.base.typtype), ("mood", "e"));
        assert_eq!(mood.enum_labels, ["sad", "ok"]);
        let code = type_of("app.code", &types);
        assert_eq!(code.pg_type, "app.code");
        assert_eq!(code.base.oid, 1043);
        assert_eq!(code.base_type.as_deref(), Some("character varying(5)"));
        assert!(code.domain_check);
        assert_eq!(type_of("public.mood[]", &types).base.category, "A");
    }
}
