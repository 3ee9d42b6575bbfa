//! What kind of PostgreSQL type a column holds, as every layer reads it from the column's
//! field metadata: a PostgreSQL source classifies each column's type once (`pg::type_class`,
//! from the resolved base type's `typtype`, `typcategory` and oid) and writes [`PG_KIND`],
//! [`PG_ENUM_LABELS`] and the domain flags; the plan asks [`TypeKind::of`] which strategies
//! can write valid values of it.
//!
//! Types mapped to native Arrow types (integers, floats, bool, date, time, timestamps,
//! numeric(p,s), bytea, uuid) are [`TypeKind::Native`]: their Arrow type says all. The
//! others travel as text holding PostgreSQL's text form, and their kind says what text the
//! target accepts. A field without `pg.type` (a Parquet source) is judged by its Arrow type
//! alone; a field with `pg.type` but no `pg.kind` (a Parquet file written by an older doppel)
//! is classified by the type's name, and a name not recognised is [`TypeKind::Other`].

use arrow_schema::{DataType, Field};

use crate::schema::PG_TYPE;

/// Field metadata of a domain column: its base type with the typmod in effect, as
/// `format_type` spells it (`character varying(10)` for a domain over varchar(10)).
pub const PG_BASE_TYPE: &str = "pg.base_type";
/// Field metadata: the kind of the column's (base) PostgreSQL type ([`TypeKind::name`]).
pub const PG_KIND: &str = "pg.kind";
/// Field metadata of an array column: the kind of its element type ([`TypeKind::name`]).
pub const PG_ELEMENT_KIND: &str = "pg.element.kind";
/// Field metadata of an enum column (or a domain over one): its labels in sort order, as a
/// JSON array of strings.
pub const PG_ENUM_LABELS: &str = "pg.enum.labels";
/// Field metadata of a domain column whose domain (or a domain it is based on) has CHECK
/// constraints: `true`.
pub const PG_DOMAIN_CHECK: &str = "pg.domain.check";
/// Field metadata of a domain column whose domain (or a base domain) is NOT NULL: `true`.
pub const PG_DOMAIN_NOT_NULL: &str = "pg.domain.not_null";

/// The kinds of PostgreSQL types, as far as writing valid values of them goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypeKind {
    /// Mapped to a native Arrow type: the Arrow type decides.
    Native,
    /// text, varchar(n), char(n), name, citext and other string-category types.
    String,
    Json,
    Jsonb,
    Xml,
    Tsvector,
    Tsquery,
    Inet,
    Cidr,
    Macaddr,
    Macaddr8,
    Interval,
    Timetz,
    Money,
    /// bit(n) and bit varying(n).
    Bit,
    /// numeric without a precision Arrow can hold, as text.
    Numeric,
    Enum,
    Array,
    Range,
    Multirange,
    Composite,
    /// point, line, lseg, box, path, polygon, circle.
    Geometric,
    /// Anything else (hstore, oid, pg_lsn, …): refused to every transforming rule.
    Other,
}

/// Every kind, in documentation order.
pub const KINDS: &[TypeKind] = &[
    TypeKind::Native,
    TypeKind::String,
    TypeKind::Json,
    TypeKind::Jsonb,
    TypeKind::Xml,
    TypeKind::Tsvector,
    TypeKind::Tsquery,
    TypeKind::Inet,
    TypeKind::Cidr,
    TypeKind::Macaddr,
    TypeKind::Macaddr8,
    TypeKind::Interval,
    TypeKind::Timetz,
    TypeKind::Money,
    TypeKind::Bit,
    TypeKind::Numeric,
    TypeKind::Enum,
    TypeKind::Array,
    TypeKind::Range,
    TypeKind::Multirange,
    TypeKind::Composite,
    TypeKind::Geometric,
    TypeKind::Other,
];

impl TypeKind {
    /// The name written in `pg.kind`.
    pub fn name(self) -> &'static str {
        match self {
            TypeKind::Native => "native",
            TypeKind::String => "string",
            TypeKind::Json => "json",
            TypeKind::Jsonb => "jsonb",
            TypeKind::Xml => "xml",
            TypeKind::Tsvector => "tsvector",
            TypeKind::Tsquery => "tsquery",
            TypeKind::Inet => "inet",
            TypeKind::Cidr => "cidr",
            TypeKind::Macaddr => "macaddr",
            TypeKind::Macaddr8 => "macaddr8",
            TypeKind::Interval => "interval",
            TypeKind::Timetz => "timetz",
            TypeKind::Money => "money",
            TypeKind::Bit => "bit",
            TypeKind::Numeric => "numeric",
            TypeKind::Enum => "enum",
            TypeKind::Array => "array",
            TypeKind::Range => "range",
            TypeKind::Multirange => "multirange",
            TypeKind::Composite => "composite",
            TypeKind::Geometric => "geometric",
            TypeKind::Other => "other",
        }
    }

    pub fn parse(name: &str) -> Option<TypeKind> {
        KINDS.iter().copied().find(|k| k.name() == name)
    }

    /// Classifies a base (non-domain) type from the catalog: its oid, `typtype`,
    /// `typcategory`, and whether doppel reads it as text.
    pub fn classify(oid: u32, typtype: &str, typcategory: &str, as_text: bool) -> TypeKind {
        if !as_text {
            return TypeKind::Native;
        }
        match (typtype, typcategory) {
            ("e", _) => return TypeKind::Enum,
            ("r", _) => return TypeKind::Range,
            ("m", _) => return TypeKind::Multirange,
            ("c", _) => return TypeKind::Composite,
            (_, "A") => return TypeKind::Array,
            _ => {}
        }
        match oid {
            114 => TypeKind::Json,
            3802 => TypeKind::Jsonb,
            142 => TypeKind::Xml,
            3614 => TypeKind::Tsvector,
            3615 => TypeKind::Tsquery,
            869 => TypeKind::Inet,
            650 => TypeKind::Cidr,
            829 => TypeKind::Macaddr,
            774 => TypeKind::Macaddr8,
            1186 => TypeKind::Interval,
            1266 => TypeKind::Timetz,
            790 => TypeKind::Money,
            1560 | 1562 => TypeKind::Bit,
            1700 => TypeKind::Numeric,
            _ if typcategory == "S" => TypeKind::String,
            _ if typcategory == "G" => TypeKind::Geometric,
            _ => TypeKind::Other,
        }
    }

    /// Classifies by the name `format_type` gives (for fields without `pg.kind`). Domains,
    /// enums, composites and extension types other than citext are not recognised by name.
    pub fn from_type_name(pg_type: &str) -> TypeKind {
        if pg_type.ends_with(']') {
            return TypeKind::Array;
        }
        let base = pg_type.split('(').next().unwrap_or(pg_type).trim();
        match base {
            "text" | "character varying" | "character" | "name" | "citext" | "\"char\"" => TypeKind::String,
            "json" => TypeKind::Json,
            "jsonb" => TypeKind::Jsonb,
            "xml" => TypeKind::Xml,
            "tsvector" => TypeKind::Tsvector,
            "tsquery" => TypeKind::Tsquery,
            "inet" => TypeKind::Inet,
            "cidr" => TypeKind::Cidr,
            "macaddr" => TypeKind::Macaddr,
            "macaddr8" => TypeKind::Macaddr8,
            "interval" => TypeKind::Interval,
            "time with time zone" => TypeKind::Timetz,
            "money" => TypeKind::Money,
            "bit" | "bit varying" => TypeKind::Bit,
            "numeric" => TypeKind::Numeric,
            "point" | "line" | "lseg" | "box" | "path" | "polygon" | "circle" => TypeKind::Geometric,
            "int4range" | "int8range" | "numrange" | "tsrange" | "tstzrange" | "daterange" => TypeKind::Range,
            "int4multirange" | "int8multirange" | "nummultirange" | "tsmultirange" | "tstzmultirange"
            | "datemultirange" => TypeKind::Multirange,
            _ => TypeKind::Other,
        }
    }

    /// The kind of a column, when it matters: `None` for columns whose Arrow type is not
    /// text, and for text columns whose source names no PostgreSQL type (any text fits).
    pub fn of(field: &Field) -> Option<TypeKind> {
        if !matches!(field.data_type(), DataType::Utf8 | DataType::LargeUtf8) {
            return None;
        }
        let metadata = field.metadata();
        let pg_type = metadata.get(PG_TYPE)?;
        let kind = match metadata.get(PG_KIND).and_then(|k| TypeKind::parse(k)) {
            Some(k) => k,
            None => TypeKind::from_type_name(pg_type),
        };
        Some(kind)
    }

    /// A phrase for messages: `an enum`, `a range`, …
    pub fn describe(self) -> &'static str {
        match self {
            TypeKind::Native => "a type with its own Arrow form",
            TypeKind::String => "a string type",
            TypeKind::Json | TypeKind::Jsonb => "JSON",
            TypeKind::Xml => "XML",
            TypeKind::Tsvector => "a text-search document",
            TypeKind::Tsquery => "a text-search query",
            TypeKind::Inet | TypeKind::Cidr => "a network address",
            TypeKind::Macaddr | TypeKind::Macaddr8 => "a MAC address",
            TypeKind::Interval => "an interval",
            TypeKind::Timetz => "a time with time zone",
            TypeKind::Money => "money",
            TypeKind::Bit => "a bit string",
            TypeKind::Numeric => "a numeric held as text",
            TypeKind::Enum => "an enum",
            TypeKind::Array => "an array",
            TypeKind::Range => "a range",
            TypeKind::Multirange => "a multirange",
            TypeKind::Composite => "a composite type",
            TypeKind::Geometric => "a geometric type",
            TypeKind::Other => "a type doppel does not know",
        }
    }
}

/// The labels of an enum column, from [`PG_ENUM_LABELS`].
pub fn enum_labels(field: &Field) -> Option<Vec<String>> {
    serde_json::from_str(field.metadata().get(PG_ENUM_LABELS)?).ok()
}

/// The kind of an array column's elements, from [`PG_ELEMENT_KIND`].
pub fn element_kind(field: &Field) -> Option<TypeKind> {
    TypeKind::parse(field.metadata().get(PG_ELEMENT_KIND)?)
}

/// Whether the column's domain has CHECK constraints.
pub fn domain_check(field: &Field) -> bool {
    field.metadata().get(PG_DOMAIN_CHECK).is_some_and(|v| v == "true")
}

/// Whether the column's domain is NOT NULL (the column then takes no NULL either).
pub fn domain_not_null(field: &Field) -> bool {
    field.metadata().get(PG_DOMAIN_NOT_NULL).is_some_and(|v| v == "true")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn kinds_round_trip_and_classify() {
        for k in KINDS {
            assert_eq!(TypeKind::parse(k.name()), Some(*k));
        }
        assert_eq!(TypeKind::classify(3614, "b", "U", true), TypeKind::Tsvector);
        assert_eq!(TypeKind::classify(99999, "e", "E", true), TypeKind::Enum);
        assert_eq!(TypeKind::classify(1009, "b", "A", true), TypeKind::Array);
        assert_eq!(TypeKind::classify(99998, "b", "S", true), TypeKind::String);
        assert_eq!(TypeKind::classify(99997, "b", "U", true), TypeKind::Other);
        assert_eq!(TypeKind::classify(23, "b", "N", false), TypeKind::Native);
        assert_eq!(TypeKind::from_type_name("character varying(40)"), TypeKind::String);
        assert_eq!(TypeKind::from_type_name("text[]"), TypeKind::Array);
        assert_eq!(TypeKind::from_type_name("app.mood"), TypeKind::Other);
    }

    #[test]
    fn fields_say_their_kind() {
        let plain = Field::new("a", DataType::Utf8, true);
        assert_eq!(TypeKind::of(&plain), None, "no pg.type: any text fits");
        let meta = |pairs: &[(&str, &str)]| {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>()
        };
        let tsv = plain.clone().with_metadata(meta(&[(PG_TYPE, "tsvector")]));
        assert_eq!(TypeKind::of(&tsv), Some(TypeKind::Tsvector));
        let mood = plain.clone().with_metadata(meta(&[
            (PG_TYPE, "app.mood"),
            (PG_KIND, "enum"),
            (PG_ENUM_LABELS, "[\"a\",\"b\"]"),
        ]));
        assert_eq!(TypeKind::of(&mood), Some(TypeKind::Enum));
        assert_eq!(enum_labels(&mood), Some(vec!["a".to_string(), "b".to_string()]));
        let int = Field::new("i", DataType::Int32, true).with_metadata(meta(&[(PG_TYPE, "integer")]));
        assert_eq!(TypeKind::of(&int), None);
    }
}
