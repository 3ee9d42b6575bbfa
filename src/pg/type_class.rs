//! Classifying the columns' PostgreSQL types once, from the catalog: the kind of the
//! resolved base type ([`TypeKind::classify`]), an enum's labels, and whether a domain in
//! the chain has CHECK constraints or is NOT NULL. Carried on the Arrow field as the
//! `pg.kind`, `pg.enum.labels`, `pg.domain.check` and `pg.domain.not_null` metadata of
//! [`crate::type_kind`].

use std::collections::{HashMap, HashSet};

use postgres::Client;

use super::types::ColumnKind;
use super::types::resolve_domain;
use crate::type_kind::{
    PG_BASE_TYPE, PG_DOMAIN_CHECK, PG_DOMAIN_NOT_NULL, PG_ELEMENT_KIND, PG_ENUM_LABELS, PG_KIND, TypeKind,
};

/// What the plan needs to know about a column's type beyond its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeClass {
    pub kind: TypeKind,
    /// An enum's labels in sort order (empty for other kinds).
    pub enum_labels: Vec<String>,
    /// A domain in the chain has a CHECK constraint.
    pub domain_check: bool,
    /// A domain in the chain is NOT NULL.
    pub domain_not_null: bool,
    /// For a domain: its base type with the typmod in effect (`format_type`).
    pub base_type: Option<String>,
    /// For an array: the kind of its element type (a domain element: `other`).
    pub element_kind: Option<TypeKind>,
}

impl TypeClass {
    /// A type read natively or as plain text, with no domain.
    pub fn plain(kind: &ColumnKind) -> TypeClass {
        let kind = if *kind == ColumnKind::Text { TypeKind::String } else { TypeKind::Native };
        TypeClass {
            kind,
            enum_labels: Vec::new(),
            domain_check: false,
            domain_not_null: false,
            base_type: None,
            element_kind: None,
        }
    }

    /// Adds the class to a field's metadata.
    pub fn annotate(&self, metadata: &mut arrow_schema::Metadata) {
        metadata.insert(PG_KIND, self.kind.name().to_string());
        if self.kind == TypeKind::Enum {
            metadata.insert(PG_ENUM_LABELS, serde_json::Value::from(self.enum_labels.clone()).to_string());
        }
        if self.domain_check {
            metadata.insert(PG_DOMAIN_CHECK, "true".to_string());
        }
        if self.domain_not_null {
            metadata.insert(PG_DOMAIN_NOT_NULL, "true".to_string());
        }
        if let Some(element) = self.element_kind {
            metadata.insert(PG_ELEMENT_KIND, element.name().to_string());
        }
        if let Some(base) = &self.base_type {
            metadata.insert(PG_BASE_TYPE, base.clone());
        }
    }
}

/// Classifies each `(type oid, kind doppel reads it as)`: one entry per distinct type oid.
/// `domains` is [`super::catalog::read_domains`]'s map.
pub fn read_type_classes(
    client: &mut Client,
    columns: &[(u32, ColumnKind)],
    domains: &HashMap<u32, (u32, i32)>,
) -> Result<HashMap<u32, TypeClass>, postgres::Error> {
    let constrained: HashMap<u32, (bool, bool)> = client
        .query(
            "SELECT t.oid, EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.contypid = t.oid AND k.contype = 'c'), \
                    t.typnotnull \
             FROM pg_catalog.pg_type t WHERE t.typtype = 'd'",
            &[],
        )?
        .into_iter()
        .map(|r| (r.get::<_, u32>(0), (r.get::<_, bool>(1), r.get::<_, bool>(2))))
        .collect();
    // Each column type: its base and the domain flags along the chain.
    let mut resolved: HashMap<u32, (u32, bool, bool, ColumnKind)> = HashMap::new();
    for &(type_oid, kind) in columns {
        let (mut current, mut check, mut not_null) = (type_oid, false, false);
        for _ in 0..64 {
            let Some(&(base, _)) = domains.get(&current) else { break };
            let (c, n) = constrained.get(&current).copied().unwrap_or((false, false));
            check |= c;
            not_null |= n;
            current = base;
        }
        resolved.insert(type_oid, (current, check, not_null, kind));
    }
    let bases: Vec<u32> = resolved.values().map(|r| r.0).collect::<HashSet<_>>().into_iter().collect();
    let rows = client.query(
        "SELECT t.oid, t.typtype::text, t.typcategory::text, \
                ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder), \
                el.oid, el.typtype::text, el.typcategory::text \
         FROM pg_catalog.pg_type t \
         LEFT JOIN pg_catalog.pg_type el ON el.oid = t.typelem AND t.typcategory = 'A' \
         WHERE t.oid = ANY($1)",
        &[&bases],
    )?;
    let mut elements: HashMap<u32, TypeKind> = HashMap::new();
    for r in &rows {
        if let (Some(oid), Some(typtype), Some(category)) =
            (r.get::<_, Option<u32>>(4), r.get::<_, Option<String>>(5), r.get::<_, Option<String>>(6))
        {
            let kind =
                if typtype == "d" { TypeKind::Other } else { TypeKind::classify(oid, &typtype, &category, true) };
            elements.insert(r.get(0), kind);
        }
    }
    let base_info: HashMap<u32, (String, String, Vec<String>)> =
        rows.into_iter().map(|r| (r.get::<_, u32>(0), (r.get(1), r.get(2), r.get(3)))).collect();
    // Domains: the base type as format_type spells it with the typmod in effect.
    let mut base_types: HashMap<u32, String> = HashMap::new();
    for &(type_oid, _) in columns {
        if !domains.contains_key(&type_oid) || base_types.contains_key(&type_oid) {
            continue;
        }
        let (base, typmod) = resolve_domain(type_oid, -1, domains);
        let name: String = client.query_one("SELECT pg_catalog.format_type($1, $2)", &[&base, &typmod])?.get(0);
        base_types.insert(type_oid, name);
    }
    Ok(resolved
        .into_iter()
        .map(|(type_oid, (base, domain_check, domain_not_null, kind))| {
            let as_text = kind == ColumnKind::Text;
            let (type_kind, enum_labels) = match base_info.get(&base) {
                Some((typtype, category, labels)) => {
                    (TypeKind::classify(base, typtype, category, as_text), labels.clone())
                }
                None if as_text => (TypeKind::Other, Vec::new()),
                None => (TypeKind::Native, Vec::new()),
            };
            let base_type = base_types.get(&type_oid).cloned();
            let element_kind = elements.get(&base).copied();
            let class =
                TypeClass { kind: type_kind, enum_labels, domain_check, domain_not_null, base_type, element_kind };
            (type_oid, class)
        })
        .collect())
}
