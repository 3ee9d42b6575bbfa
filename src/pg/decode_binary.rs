//! Decoding binary COPY tuples into Arrow builders, for tables read with carried columns in
//! binary ([`super::carried`]): the columns rules read are decoded, the others keep their bytes.
//!
//! ```text
//! Chunker (whole tuples) ─▶ tuple: count, then per field: length (-1: NULL), bytes
//!                              ├─ decoded column ─▶ binary form decoder (per ColumnKind) ─▶ builder
//!                              └─ carried column ─▶ the bytes ─▶ Binary builder
//! ```
//!
//! The values come out exactly as [`super::decode`] makes them from COPY text (days and
//! microseconds since 1970, infinities as the `text_forms` sentinels), so a rule gives the same
//! output whichever way its column was read. Only types whose binary form is simple are decoded
//! here ([`binary_form`]); a table whose decoded columns include another type
//! (numeric, arrays, enums …) is read as text instead.

use arrow_array::RecordBatch;
use arrow_array::builder::BinaryBuilder;
use arrow_schema::{ArrowError, SchemaRef};

use super::decode::{ColumnBuilder, RowFailure, RowProblem, take_batch};
use super::text_forms::{DATE_INFINITY, DATE_NEG_INFINITY, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY, ValueError};
use super::types::ColumnKind;
use crate::schema::PG_TYPE;

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
const EPOCH_MICROS: i64 = 946_684_800_000_000;

/// How a column of `kind`, whose type the catalog names `pg_type`, is decoded from binary:
/// `Some(true)` for jsonb (a version byte, then the text), `Some(false)` for the others, `None`
/// when its binary form is not decoded here. Domains over numbers, dates and times have their
/// base type's binary form; text kinds are decoded only for the types whose binary form is
/// their text (enums, arrays, ranges and domains over text are not). Numeric is not decoded.
pub(super) fn binary_form(kind: ColumnKind, pg_type: &str) -> Option<bool> {
    match kind {
        ColumnKind::Text => match pg_type.split('(').next().unwrap_or(pg_type) {
            "text" | "character varying" | "character" | "json" => Some(false),
            "jsonb" => Some(true),
            _ => None,
        },
        ColumnKind::Decimal { .. } => None,
        _ => Some(false),
    }
}

/// Appends one non-NULL value to `column`, given the bytes of its binary form.
pub(super) fn append_binary(column: &mut ColumnBuilder, v: &[u8], jsonb: bool) -> Result<(), ValueError> {
    match column {
        ColumnBuilder::Int16(b) => b.append_value(i16::from_be_bytes(fixed(v, "smallint")?)),
        ColumnBuilder::Int32(b) => b.append_value(i32::from_be_bytes(fixed(v, "integer")?)),
        ColumnBuilder::Int64(b) => b.append_value(i64::from_be_bytes(fixed(v, "bigint")?)),
        ColumnBuilder::Float32(b) => b.append_value(f32::from_bits(u32::from_be_bytes(fixed(v, "real")?))),
        ColumnBuilder::Float64(b) => b.append_value(f64::from_bits(u64::from_be_bytes(fixed(v, "double precision")?))),
        ColumnBuilder::Bool(b) => b.append_value(fixed::<1>(v, "boolean")?[0] != 0),
        ColumnBuilder::Text(b) => {
            let text = match (jsonb, v.split_first()) {
                (false, _) => v,
                (true, Some((1, text))) => text,
                (true, _) => return Err(ValueError::Syntax("jsonb (binary form, version 1)")),
            };
            b.append_value(std::str::from_utf8(text).map_err(|_| ValueError::InvalidUtf8)?);
        }
        ColumnBuilder::Date(b) => {
            let days = match i32::from_be_bytes(fixed(v, "date")?) {
                i32::MAX => DATE_INFINITY,
                i32::MIN => DATE_NEG_INFINITY,
                d => d.checked_add(EPOCH_DAYS).ok_or(ValueError::OutOfRange("Date32"))?,
            };
            b.append_value(days);
        }
        ColumnBuilder::Time(b) => b.append_value(i64::from_be_bytes(fixed(v, "time")?)),
        ColumnBuilder::Timestamp(b, _) => {
            let micros = match i64::from_be_bytes(fixed(v, "timestamp")?) {
                i64::MAX => TIMESTAMP_INFINITY,
                i64::MIN => TIMESTAMP_NEG_INFINITY,
                t => t.checked_add(EPOCH_MICROS).ok_or(ValueError::OutOfRange("Timestamp(µs)"))?,
            };
            b.append_value(micros);
        }
        ColumnBuilder::Bytea(b, _) | ColumnBuilder::Carried(b) => b.append_value(v),
        ColumnBuilder::Uuid(b) => b.append_value(fixed::<16>(v, "uuid")?).expect("a uuid is 16 bytes"),
        // Refused by `binary_form`.
        ColumnBuilder::Decimal(..) => return Err(ValueError::Syntax("numeric (binary form)")),
    }
    Ok(())
}

/// The text form of a `numeric` given its binary form (PostgreSQL's `numeric_send`: digit
/// count, weight, sign, display scale, then base-10000 digits), written into `out` as
/// `numeric_out` writes it: the display scale's digits after the point, `NaN`, `Infinity`.
pub(super) fn numeric_text(v: &[u8], out: &mut Vec<u8>) -> Result<(), ValueError> {
    const SYNTAX: ValueError = ValueError::Syntax("numeric (binary form)");
    let word = |i: usize| v.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or(SYNTAX);
    let (ndigits, weight, sign, dscale) = (word(0)? as usize, word(2)? as i16 as i32, word(4)?, word(6)? as i32);
    if v.len() != 8 + 2 * ndigits {
        return Err(SYNTAX);
    }
    out.clear();
    match sign {
        0x0000 => {}
        0x4000 => out.push(b'-'),
        0xC000 => {
            out.extend_from_slice(b"NaN");
            return Ok(());
        }
        0xD000 => {
            out.extend_from_slice(b"Infinity");
            return Ok(());
        }
        0xF000 => {
            out.extend_from_slice(b"-Infinity");
            return Ok(());
        }
        _ => return Err(SYNTAX),
    }
    let digit = |d: i32| -> Result<u16, ValueError> {
        match usize::try_from(d) {
            Ok(d) if d < ndigits => word(8 + 2 * d).and_then(|w| if w < 10_000 { Ok(w) } else { Err(SYNTAX) }),
            _ => Ok(0),
        }
    };
    // The four decimal digits of a base-10000 digit.
    let group = |w: u16| [w / 1000, w / 100 % 10, w / 10 % 10, w % 10].map(|x| b'0' + x as u8);
    if weight < 0 {
        out.push(b'0');
    } else {
        for d in 0..=weight {
            let digits = group(digit(d)?);
            // The first group without its leading zeros (but one digit at least).
            let skip = if d == 0 { digits[..3].iter().take_while(|&&c| c == b'0').count() } else { 0 };
            out.extend_from_slice(&digits[skip..]);
        }
    }
    if dscale > 0 {
        out.push(b'.');
        let start = out.len();
        let mut d = weight + 1;
        while ((out.len() - start) as i32) < dscale {
            out.extend_from_slice(&group(digit(d)?));
            d += 1;
        }
        out.truncate(start + dscale as usize);
    }
    Ok(())
}

/// The `N` bytes of a fixed-size binary form.
fn fixed<const N: usize>(v: &[u8], what: &'static str) -> Result<[u8; N], ValueError> {
    v.try_into().map_err(|_| ValueError::Syntax(what))
}

/// Turns binary COPY tuples into `RecordBatch`es of a fixed schema.
pub struct BinaryRowDecoder {
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    /// Per column: jsonb's version byte comes first.
    jsonb: Vec<bool>,
    batch_rows: usize,
    in_batch: usize,
    rows: u64,
}

impl BinaryRowDecoder {
    /// A decoder for rows of `kinds` under `schema` (which marks the `carried` columns), or
    /// `None` when a column that is not carried has no binary decoder here.
    pub fn new(
        schema: SchemaRef,
        kinds: &[ColumnKind],
        carried: &[usize],
        batch_rows: usize,
    ) -> Option<BinaryRowDecoder> {
        let batch_rows = batch_rows.max(1);
        let mut columns = Vec::with_capacity(kinds.len());
        let mut jsonb = Vec::with_capacity(kinds.len());
        for (i, kind) in kinds.iter().enumerate() {
            if carried.contains(&i) {
                columns.push(ColumnBuilder::Carried(BinaryBuilder::with_capacity(batch_rows, batch_rows * 8)));
                jsonb.push(false);
            } else {
                let pg_type = schema.fields().get(i)?.metadata().get(PG_TYPE)?;
                jsonb.push(binary_form(*kind, pg_type)?);
                columns.push(ColumnBuilder::new(*kind, batch_rows));
            }
        }
        Some(BinaryRowDecoder { schema, columns, jsonb, batch_rows, in_batch: 0, rows: 0 })
    }

    /// Rows decoded so far, in all batches.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn has_rows(&self) -> bool {
        self.in_batch > 0
    }

    /// Decodes the whole tuples of `chunk` (as [`super::raw_copy::Chunker`] cuts them: field
    /// counts and lengths already checked), handing each full batch to `full`.
    pub fn push_tuples<E>(
        &mut self,
        chunk: &[u8],
        mut full: impl FnMut(&mut Self) -> Result<(), E>,
        failed: impl Fn(RowFailure) -> E,
    ) -> Result<(), E> {
        let mut at = 0;
        while at < chunk.len() {
            let row = self.rows + 1;
            at = self.push_tuple(chunk, at + 2, row).map_err(&failed)?;
            self.rows += 1;
            self.in_batch += 1;
            if self.in_batch >= self.batch_rows {
                full(self)?;
            }
        }
        Ok(())
    }

    /// Decodes the fields of one tuple starting at `at`; returns where the next tuple starts.
    fn push_tuple(&mut self, chunk: &[u8], mut at: usize, row: u64) -> Result<usize, RowFailure> {
        let truncated =
            || RowFailure { row, column: None, problem: RowProblem::Value(ValueError::Syntax("binary COPY tuple")) };
        for (i, (column, jsonb)) in self.columns.iter_mut().zip(&self.jsonb).enumerate() {
            let length = chunk.get(at..at + 4).ok_or_else(truncated)?;
            let length = i32::from_be_bytes([length[0], length[1], length[2], length[3]]);
            at += 4;
            if length < 0 {
                column.append_null();
                continue;
            }
            let value = chunk.get(at..at + length as usize).ok_or_else(truncated)?;
            at += length as usize;
            append_binary(column, value, *jsonb).map_err(|e| RowFailure {
                row,
                column: Some(i),
                problem: RowProblem::Value(e),
            })?;
        }
        Ok(at)
    }

    /// Takes the rows decoded since the last batch as a `RecordBatch`.
    pub fn finish_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        take_batch(&self.schema, &mut self.columns, &mut self.in_batch)
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Date32Type, Int64Type, TimestampMicrosecondType};
    use arrow_schema::{Field, Schema};

    use super::*;

    fn tuple(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut out = (fields.len() as i16).to_be_bytes().to_vec();
        for f in fields {
            match f {
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(bytes) => {
                    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                    out.extend_from_slice(bytes);
                }
            }
        }
        out
    }

    fn decoder(columns: &[(ColumnKind, &str)], carried: &[usize], batch_rows: usize) -> Option<BinaryRowDecoder> {
        let fields: Vec<Field> =
            columns.iter().enumerate().map(|(i, (k, t))| k.field(&format!("c{i}"), t, true, false)).collect();
        let kinds: Vec<ColumnKind> = columns.iter().map(|(k, _)| *k).collect();
        let schema = super::super::carried::carrying_schema(
            &Schema::new(fields),
            carried,
            super::super::raw_copy::CopyFormat::Binary,
        );
        BinaryRowDecoder::new(schema, &kinds, carried, batch_rows)
    }

    #[test]
    fn binary_fields_decode_to_the_values_text_gives() {
        let columns = [
            (ColumnKind::Int64, "bigint"),
            (ColumnKind::Text, "jsonb"),
            (ColumnKind::Date, "date"),
            (ColumnKind::TimestampTz, "timestamp with time zone"),
            (ColumnKind::Decimal { precision: 12, scale: 2 }, "numeric(12,2)"),
        ];
        let mut d = decoder(&columns, &[4], 10).expect("numeric is carried, the rest decoded");
        let mut chunk = tuple(&[
            Some(&7i64.to_be_bytes()),
            Some(b"\x01{\"a\": 1}"),
            Some(&i32::MAX.to_be_bytes()),
            Some(&0i64.to_be_bytes()),
            Some(b"numeric bytes"),
        ]);
        chunk.extend(tuple(&[None, None, Some(&(-1i32).to_be_bytes()), None, None]));
        let mut batches = Vec::new();
        d.push_tuples(
            &chunk,
            |d| -> Result<(), RowFailure> {
                batches.push(d.finish_batch().unwrap());
                Ok(())
            },
            |f| f,
        )
        .unwrap();
        assert_eq!(d.rows(), 2);
        let batch = d.finish_batch().unwrap();
        assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(0), 7);
        assert!(batch.column(0).is_null(1));
        assert_eq!(batch.column(1).as_string::<i32>().value(0), "{\"a\": 1}");
        assert_eq!(batch.column(2).as_primitive::<Date32Type>().value(0), DATE_INFINITY);
        assert_eq!(batch.column(2).as_primitive::<Date32Type>().value(1), EPOCH_DAYS - 1, "1999-12-31");
        assert_eq!(batch.column(3).as_primitive::<TimestampMicrosecondType>().value(0), EPOCH_MICROS);
        assert_eq!(batch.column(4).as_binary::<i32>().value(0), b"numeric bytes");
        assert!(batches.is_empty());
    }

    #[test]
    fn types_without_a_binary_decoder_refuse_unless_carried() {
        assert!(decoder(&[(ColumnKind::Decimal { precision: 12, scale: 2 }, "numeric(12,2)")], &[], 10).is_none());
        assert!(decoder(&[(ColumnKind::Text, "mood")], &[], 10).is_none(), "an enum");
        assert!(decoder(&[(ColumnKind::Text, "integer[]")], &[], 10).is_none(), "an array");
        assert!(decoder(&[(ColumnKind::Text, "mood")], &[0], 10).is_some());
        assert!(decoder(&[(ColumnKind::Text, "character varying(20)")], &[], 10).is_some());
    }

    #[test]
    fn a_short_field_names_its_row_and_column() {
        let mut d = decoder(&[(ColumnKind::Int32, "integer")], &[], 10).unwrap();
        let chunk = tuple(&[Some(&[0, 1])]);
        let failure = d.push_tuples(&chunk, |_| Ok(()), |f| f).unwrap_err();
        assert_eq!((failure.row, failure.column), (1, Some(0)));
    }
}
