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
//! Which format: the sink's (text for SQL dumps and tables loaded as text; binary for tables
//! loaded in binary, only from a source server of the same major version, and only when every
//! decoded column has a binary decoder, see [`crate::pg::decode_binary`]). A carried column
//! never reaches a transform, a Parquet writer or anything that reads values.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::raw_copy::CopyFormat;

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
}
