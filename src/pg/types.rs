//! PostgreSQL types → Arrow types.
//!
//! | PostgreSQL (after resolving domains)     | Arrow                                   |
//! |------------------------------------------|-----------------------------------------|
//! | int2 / int4 / int8                       | Int16 / Int32 / Int64                   |
//! | float4 / float8 (NaN, ±Infinity kept)    | Float32 / Float64                       |
//! | bool                                     | Boolean                                 |
//! | text, varchar, bpchar (padding kept), name, citext | Utf8                          |
//! | date (±infinity: `i32::MAX` / `i32::MIN`) | Date32                                  |
//! | time, time(p) (24:00:00 as 86400000000)  | Time64(Microsecond)                     |
//! | timestamp (±infinity: `i64::MAX` / `MIN`) | Timestamp(Microsecond, None)           |
//! | timestamptz (likewise)                   | Timestamp(Microsecond, "UTC")           |
//! | numeric(p,s), 1 ≤ p ≤ 38, 0 ≤ s ≤ p      | Decimal128(p, s)                        |
//! | numeric without typmod, p > 38, s < 0 or s > p | Utf8 (PostgreSQL's text form)     |
//! | bytea                                    | Binary                                  |
//! | uuid                                     | FixedSizeBinary(16), `arrow.uuid`       |
//! | anything else (json, jsonb, xml, interval, timetz, money, inet, cidr, macaddr, enums, arrays, ranges, composites, tsvector, …) | Utf8 holding PostgreSQL's text form exactly |
//!
//! Intervals stay text: Arrow's Interval(MonthDayNano) would hold them, but Parquet cannot
//! (its INTERVAL is unsigned months/days/milliseconds, and the parquet crate refuses
//! MonthDayNano), and nanoseconds overflow before PostgreSQL's microseconds do. timetz has no
//! Arrow type (a time of day with its own offset).
//!
//! Every field carries `pg.type` = `format_type(atttypid, atttypmod)` (naming the domain
//! for a domain column), generated columns carry `pg.generated` = `stored` and
//! `pg.generated.reads`, the columns their expression reads (a JSON array of names).

use std::collections::HashMap;

use arrow_schema::{DataType, Field, TimeUnit};

use crate::schema::{PG_GENERATED, PG_TYPE};

/// Arrow's extension type name key.
pub const EXTENSION_NAME: &str = "ARROW:extension:name";

// Built-in type OIDs (fixed by PostgreSQL, pg_type.dat).
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
}

/// How a column's COPY text is decoded; one per Arrow type produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Bool,
    /// PostgreSQL's text form, unchanged.
    Text,
    Date,
    /// time without time zone: microseconds since midnight.
    Time,
    Timestamp,
    TimestampTz,
    Decimal {
        precision: u8,
        scale: i8,
    },
    Bytea,
    Uuid,
}

impl ColumnKind {
    /// Picks the kind for a base (non-domain) type and the typmod in effect.
    pub fn of(base_oid: u32, typmod: i32) -> ColumnKind {
        match base_oid {
            oid::INT2 => ColumnKind::Int16,
            oid::INT4 => ColumnKind::Int32,
            oid::INT8 => ColumnKind::Int64,
            oid::FLOAT4 => ColumnKind::Float32,
            oid::FLOAT8 => ColumnKind::Float64,
            oid::BOOL => ColumnKind::Bool,
            oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME => ColumnKind::Text,
            oid::DATE => ColumnKind::Date,
            oid::TIME => ColumnKind::Time,
            oid::TIMESTAMP => ColumnKind::Timestamp,
            oid::TIMESTAMPTZ => ColumnKind::TimestampTz,
            oid::NUMERIC => match numeric_typmod(typmod) {
                Some((p, s)) if (1..=38).contains(&p) && s >= 0 && s <= p => {
                    ColumnKind::Decimal { precision: p as u8, scale: s as i8 }
                }
                _ => ColumnKind::Text,
            },
            oid::BYTEA => ColumnKind::Bytea,
            oid::UUID => ColumnKind::Uuid,
            // citext, json, enums, arrays, …: the text form, exactly.
            _ => ColumnKind::Text,
        }
    }

    pub fn data_type(&self) -> DataType {
        match *self {
            ColumnKind::Int16 => DataType::Int16,
            ColumnKind::Int32 => DataType::Int32,
            ColumnKind::Int64 => DataType::Int64,
            ColumnKind::Float32 => DataType::Float32,
            ColumnKind::Float64 => DataType::Float64,
            ColumnKind::Bool => DataType::Boolean,
            ColumnKind::Text => DataType::Utf8,
            ColumnKind::Date => DataType::Date32,
            ColumnKind::Time => DataType::Time64(TimeUnit::Microsecond),
            ColumnKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            ColumnKind::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColumnKind::Decimal { precision, scale } => DataType::Decimal128(precision, scale),
            ColumnKind::Bytea => DataType::Binary,
            ColumnKind::Uuid => DataType::FixedSizeBinary(16),
        }
    }

    /// The kind whose [`Self::data_type`] is `data_type` (the mapping is one to one).
    pub fn of_data_type(data_type: &DataType) -> Option<ColumnKind> {
        Some(match data_type {
            DataType::Int16 => ColumnKind::Int16,
            DataType::Int32 => ColumnKind::Int32,
            DataType::Int64 => ColumnKind::Int64,
            DataType::Float32 => ColumnKind::Float32,
            DataType::Float64 => ColumnKind::Float64,
            DataType::Boolean => ColumnKind::Bool,
            DataType::Utf8 => ColumnKind::Text,
            DataType::Date32 => ColumnKind::Date,
            DataType::Time64(TimeUnit::Microsecond) => ColumnKind::Time,
            DataType::Timestamp(TimeUnit::Microsecond, None) => ColumnKind::Timestamp,
            DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if tz.as_ref() == "UTC" => ColumnKind::TimestampTz,
            DataType::Decimal128(precision, scale) => ColumnKind::Decimal { precision: *precision, scale: *scale },
            DataType::Binary => ColumnKind::Bytea,
            DataType::FixedSizeBinary(16) => ColumnKind::Uuid,
            _ => return None,
        })
    }

    /// The Arrow field for a column of this kind.
    pub fn field(&self, name: &str, pg_type: &str, nullable: bool, generated: bool) -> Field {
        let mut metadata = HashMap::from([(PG_TYPE.to_string(), pg_type.to_string())]);
        if generated {
            metadata.insert(PG_GENERATED.to_string(), "stored".to_string());
        }
        if *self == ColumnKind::Uuid {
            metadata.insert(EXTENSION_NAME.to_string(), "arrow.uuid".to_string());
        }
        Field::new(name, self.data_type(), nullable).with_metadata(metadata)
    }
}

/// `(precision, scale)` of a numeric typmod, `None` for an unconstrained numeric.
/// PostgreSQL 15 allows a negative scale and a scale above the precision.
pub fn numeric_typmod(typmod: i32) -> Option<(i32, i32)> {
    if typmod < 4 {
        return None;
    }
    let t = typmod - 4;
    let precision = (t >> 16) & 0xffff;
    let scale = ((t & 0x7ff) ^ 1024) - 1024;
    Some((precision, scale))
}

/// Resolves a (possibly nested) domain to its base type and the typmod in effect: the
/// column's own typmod, else the first domain in the chain that constrains one.
pub fn resolve_domain(type_oid: u32, typmod: i32, domains: &HashMap<u32, (u32, i32)>) -> (u32, i32) {
    let (mut current, mut effective) = (type_oid, typmod);
    // Domains cannot be cyclic, but do not trust the catalog blindly.
    for _ in 0..64 {
        match domains.get(&current) {
            Some(&(base, domain_typmod)) => {
                if effective < 0 {
                    effective = domain_typmod;
                }
                current = base;
            }
            None => break,
        }
    }
    (current, effective)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typmod(p: i32, s: i32) -> i32 {
        ((p << 16) | (s & 0x7ff)) + 4
    }

    #[test]
    fn numeric_typmods_decode() {
        assert_eq!(numeric_typmod(-1), None);
        assert_eq!(numeric_typmod(typmod(12, 2)), Some((12, 2)));
        assert_eq!(numeric_typmod(typmod(5, -2)), Some((5, -2)));
        assert_eq!(numeric_typmod(typmod(1000, 0)), Some((1000, 0)));
    }

    #[test]
    fn kinds_map_to_arrow_types() {
        assert_eq!(ColumnKind::of(oid::NUMERIC, typmod(12, 2)).data_type(), DataType::Decimal128(12, 2));
        assert_eq!(ColumnKind::of(oid::NUMERIC, typmod(38, 38)).data_type(), DataType::Decimal128(38, 38));
        for unsupported in [-1, typmod(39, 2), typmod(5, -2), typmod(2, 5)] {
            assert_eq!(ColumnKind::of(oid::NUMERIC, unsupported), ColumnKind::Text);
        }
        assert_eq!(ColumnKind::of(oid::BPCHAR, 9), ColumnKind::Text);
        assert_eq!(
            ColumnKind::of(oid::TIMESTAMPTZ, -1).data_type(),
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(ColumnKind::of(3802, -1), ColumnKind::Text); // jsonb
        assert_eq!(ColumnKind::of(1186, -1), ColumnKind::Text); // interval
        assert_eq!(ColumnKind::of(1266, -1), ColumnKind::Text); // timetz
        assert_eq!(ColumnKind::of(oid::TIME, 3).data_type(), DataType::Time64(TimeUnit::Microsecond));
        let f = ColumnKind::Uuid.field("id", "uuid", false, false);
        assert_eq!(f.metadata().get(EXTENSION_NAME).map(String::as_str), Some("arrow.uuid"));
        assert_eq!(f.data_type(), &DataType::FixedSizeBinary(16));
        let g = ColumnKind::Int32.field("g", "integer", true, true);
        assert_eq!(g.metadata().get(PG_GENERATED).map(String::as_str), Some("stored"));
        assert_eq!(g.metadata().get(PG_TYPE).map(String::as_str), Some("integer"));
    }

    #[test]
    fn domains_resolve_to_their_base_and_typmod() {
        // money_amount → numeric(12,2); positive_amount → money_amount.
        let domains = HashMap::from([(90001, (oid::NUMERIC, typmod(12, 2))), (90002, (90001, -1))]);
        assert_eq!(resolve_domain(90002, -1, &domains), (oid::NUMERIC, typmod(12, 2)));
        assert_eq!(resolve_domain(oid::INT4, -1, &domains), (oid::INT4, -1));
    }
}
