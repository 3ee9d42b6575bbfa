//! Carried columns: the kept columns of a table whose other columns are transformed, moved
//! from the source's `COPY … TO STDOUT` to the sink's `COPY … FROM STDIN` (or SQL dump) as the
//! bytes of their fields, never decoded.
//!
//! [`crate::pg::raw_copy`] passes whole tables through when nothing changes them. In a table
//! where some columns are transformed, the others still cost a decode into Arrow and an encode
//! back (numbers, dates and timestamps are the costly ones) for values that come out as they
//! went in. When the sink writes COPY data in a format the source can produce, the pipeline asks
//! the source to *carry* the kept columns that no rule reads (a template may read a kept column:
//! that one is decoded): each comes as a `Binary` Arrow column whose field is marked with
//! [`CARRIED`], holding per row the field exactly as it stands in the COPY data (text: still
//! escaped; binary: the value's bytes without the length), NULL as NULL. The sink's encoder
//! writes those bytes back as they are.
//!
//! ```text
//! source COPY ──▶ decoder: rule-read columns ─decode─▶ Arrow ─transform─▶ encode ──▶ sink COPY
//!                          carried columns   ─bytes─▶ Binary ─────────────────────▶ (as they are)
//! ```
//!
//! The report's utility figures need a carried column's values: [`decode`] turns its bytes back
//! into the column the source would have decoded, off the path to the sink, for the columns
//! [`decodable`] says it can.
//!
//! Which format: the sink's (text for SQL dumps and tables loaded as text; binary for tables
//! loaded in binary, only from a source server of the same major version, and only when every
//! decoded column has a binary decoder, see [`crate::pg::decode_binary`]). A carried column
//! never reaches a transform, a Parquet writer or anything that reads values.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BinaryArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::decode::ColumnBuilder;
use super::decode_binary::{append_binary, binary_form, numeric_text};
use super::raw_copy::CopyFormat;
use super::text_forms::ValueError;
use super::types::ColumnKind;

/// Field metadata key marking a carried column; its value is the COPY format of its bytes.
pub const CARRIED: &str = "doppel.carried";

/// The format of the bytes of `field`, when it is a carried column.
pub fn carried_format(field: &Field) -> Option<CopyFormat> {
    match field.metadata().get(CARRIED).map(String::as_str) {
        Some("text") => Some(CopyFormat::Text),
        Some("binary") => Some(CopyFormat::Binary),
        _ => None,
    }
}

/// `schema` with the fields at `carried` (indexes) replaced by carried columns of `format`:
/// nullable `Binary`, their other metadata (`pg.type` …) kept.
pub fn carrying_schema(schema: &Schema, carried: &[usize], format: CopyFormat) -> SchemaRef {
    let value = match format {
        CopyFormat::Text => "text",
        CopyFormat::Binary => "binary",
    };
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if carried.contains(&i) {
                let metadata = f.metadata().clone().with(CARRIED, value);
                Field::new(f.name(), DataType::Binary, true).with_metadata(metadata)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `sink_schema` with the carried fields of `batch_schema` in place of its own (same
/// positions): the schema under which a sink encodes a batch that carries columns.
pub fn with_carried_fields(sink_schema: &SchemaRef, batch_schema: &Schema) -> SchemaRef {
    if !batch_schema.fields().iter().any(|f| carried_format(f).is_some()) {
        return sink_schema.clone();
    }
    let fields: Vec<Field> = sink_schema
        .fields()
        .iter()
        .zip(batch_schema.fields())
        .map(
            |(own, theirs)| {
                if carried_format(theirs).is_some() { theirs.as_ref().clone() } else { own.as_ref().clone() }
            },
        )
        .collect();
    Arc::new(Schema::new_with_metadata(fields, sink_schema.metadata().clone()))
}

/// Whether [`decode`] can give back the values of a column of `kind`, whose type the catalog
/// names `pg_type`, carried in `format`: always from text; from binary, the types whose binary
/// form the binary decoder reads ([`super::decode_binary`]) and `numeric`.
pub fn decodable(kind: ColumnKind, pg_type: &str, format: CopyFormat) -> bool {
    match format {
        CopyFormat::Text => true,
        CopyFormat::Binary => is_numeric(pg_type) || binary_form(kind, pg_type).is_some(),
    }
}

fn is_numeric(pg_type: &str) -> bool {
    pg_type.split('(').next().unwrap_or(pg_type) == "numeric"
}

/// The values of a carried column: its bytes (`array`, as the source gave them in `format`)
/// decoded as the source decodes a column of `kind` whose type the catalog names `pg_type`.
/// Only for columns [`decodable`] accepts.
pub fn decode(
    array: &BinaryArray,
    format: CopyFormat,
    kind: ColumnKind,
    pg_type: &str,
) -> Result<ArrayRef, ValueError> {
    let mut column = ColumnBuilder::new(kind, array.len());
    let mut scratch = Vec::new();
    let numeric = is_numeric(pg_type);
    let jsonb = match format {
        CopyFormat::Binary if !numeric => binary_form(kind, pg_type).ok_or(ValueError::Syntax("binary form"))?,
        _ => false,
    };
    for value in array.iter() {
        let Some(v) = value else {
            column.append_null();
            continue;
        };
        match format {
            CopyFormat::Text => {
                column.append(super::copy_text::unescape(v, &mut scratch).map_err(ValueError::from)?)?
            }
            CopyFormat::Binary if numeric => {
                numeric_text(v, &mut scratch)?;
                column.append(&scratch)?;
            }
            CopyFormat::Binary => append_binary(&mut column, v, jsonb)?,
        }
    }
    Ok(column.finish())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn carried_fields_are_binary_marked_and_keep_their_metadata() {
        let field = Field::new("amount", DataType::Int64, false)
            .with_metadata(HashMap::from([("pg.type".to_string(), "bigint".to_string())]));
        let schema = Schema::new(vec![field, Field::new("name", DataType::Utf8, true)]);
        let carrying = carrying_schema(&schema, &[0], CopyFormat::Binary);
        assert_eq!(carrying.field(0).data_type(), &DataType::Binary);
        assert!(carrying.field(0).is_nullable());
        assert_eq!(carrying.field(0).metadata().get("pg.type").map(String::as_str), Some("bigint"));
        assert_eq!(carried_format(carrying.field(0)), Some(CopyFormat::Binary));
        assert_eq!(carried_format(carrying.field(1)), None);
        assert_eq!(carried_format(carrying_schema(&schema, &[1], CopyFormat::Text).field(1)), Some(CopyFormat::Text));
    }

    #[test]
    fn a_sink_schema_takes_only_the_carried_fields_of_a_batch() {
        let sink = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Utf8, false),
        ]));
        assert!(Arc::ptr_eq(&with_carried_fields(&sink, &sink), &sink));
        let batch = carrying_schema(&sink, &[0], CopyFormat::Text);
        let merged = with_carried_fields(&sink, &batch);
        assert_eq!(merged.field(0), batch.field(0));
        assert_eq!(merged.field(1), sink.field(1));
    }

    /// `numeric_send`'s form: digit count, weight, sign, display scale, base-10000 digits.
    fn numeric(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut v = Vec::new();
        for w in [digits.len() as u16, weight as u16, sign, dscale].into_iter().chain(digits.iter().copied()) {
            v.extend_from_slice(&w.to_be_bytes());
        }
        v
    }

    #[test]
    fn carried_bytes_decode_to_the_values_the_source_would_have_decoded() {
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Decimal128Type, Int64Type, TimestampMicrosecondType};

        // Binary: bigint, timestamptz, and numeric(10,2) through its text form.
        let ints = BinaryArray::from_iter([Some(42i64.to_be_bytes().to_vec()), None]);
        let decoded = decode(&ints, CopyFormat::Binary, ColumnKind::Int64, "bigint").unwrap();
        assert_eq!(decoded.as_primitive::<Int64Type>().iter().collect::<Vec<_>>(), [Some(42), None]);
        let micros_since_2000 = 86_400_000_000i64;
        let stamps = BinaryArray::from_iter_values([micros_since_2000.to_be_bytes()]);
        let decoded = decode(&stamps, CopyFormat::Binary, ColumnKind::TimestampTz, "timestamp with time zone").unwrap();
        assert_eq!(
            decoded.as_primitive::<TimestampMicrosecondType>().value(0),
            946_684_800_000_000 + micros_since_2000
        );
        let amounts = BinaryArray::from_iter_values([
            numeric(0, 0, 2, &[1234, 5600]),
            numeric(-1, 0, 2, &[500]),
            numeric(1, 0x4000, 2, &[1, 0, 5000]),
            numeric(0, 0, 2, &[]),
        ]);
        let kind = ColumnKind::Decimal { precision: 12, scale: 2 };
        assert!(decodable(kind, "numeric(12,2)", CopyFormat::Binary));
        let decoded = decode(&amounts, CopyFormat::Binary, kind, "numeric(12,2)").unwrap();
        let cents: Vec<i128> = decoded.as_primitive::<Decimal128Type>().values().to_vec();
        assert_eq!(cents, [123456, 5, -1000050, 0]);
        let nan = BinaryArray::from_iter_values([numeric(0, 0xC000, 0, &[])]);
        assert!(decode(&nan, CopyFormat::Binary, kind, "numeric(12,2)").is_err(), "NaN has no Decimal128 value");
        let text = decode(&amounts, CopyFormat::Binary, ColumnKind::Text, "numeric").unwrap();
        let text: Vec<&str> = text.as_string::<i32>().iter().map(Option::unwrap).collect();
        assert_eq!(text, ["1234.56", "0.05", "-10000.50", "0.00"]);

        // Text: still escaped.
        let notes = BinaryArray::from_iter([Some(&b"a\\tb\nc"[..]), None]);
        let decoded = decode(&notes, CopyFormat::Text, ColumnKind::Text, "text").unwrap();
        assert_eq!(decoded.as_string::<i32>().iter().collect::<Vec<_>>(), [Some("a\tb\nc"), None]);

        // Enums have no binary decoder here.
        assert!(!decodable(ColumnKind::Text, "mood", CopyFormat::Binary));
        assert!(decodable(ColumnKind::Text, "mood", CopyFormat::Text));
    }
}
