//! The `hash` rule: its options, binding to a column type, fit check and application to
//! arrays. The hashes and permutations themselves are in [`super`].

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, Int16Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, FixedSizeBinaryArray, PrimitiveArray};
use arrow_schema::DataType;
use serde::Deserialize;

use super::{format_uuid, hash_hex, parse_uuid, permute_int, permute_uuid};
use crate::secret::DomainKey;
use crate::strategy::apply::{CellError, ColumnInput, Regenerate, map_text};
use crate::strategy::fit::Declared;
use crate::strategy::types::{int_bits, is_text, is_uuid_binary};
use crate::strategy::values::text_key;
use crate::strategy::words::Words;
use crate::strategy::{Behaviour, BindContext, Bound, RuleOptions, Strategy};

/// `action = "hash"`: keyed blake3 pseudonym.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashRule {
    /// `"hex"` (text columns): lowercase hex of the keyed hash. `"preserve"`: a keyed
    /// permutation (integers stay distinct integers of the same sign, width and bit
    /// length, values below 2^16 shuffled among themselves, so keys stay in the range
    /// the source uses; uuids, binary or text, stay valid distinct uuids). Default: `hex`
    /// for text, `preserve` for integer and uuid columns.
    #[serde(default)]
    pub format: Option<HashFormat>,
    /// Hex characters kept, 1 to 64 (default 32). Only with `format = "hex"`.
    #[serde(default)]
    pub length: Option<usize>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub unique: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HashFormat {
    Hex,
    Preserve,
}

/// The bound `hash`: one of three forms, chosen by the column type and `format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashSpec {
    /// Lowercase hex of the keyed hash, `length` characters.
    Hex { length: usize },
    /// Integer permutation of `bits`-bit integers that keeps sign and bit length.
    Int { bits: u32 },
    /// Uuid permutation (binary or text column).
    Uuid,
}

impl RuleOptions for HashRule {
    fn action(&self) -> &'static str {
        "hash"
    }

    fn bind(&self, ctx: &BindContext) -> Result<Bound, Vec<String>> {
        let dt = ctx.data_type();
        let written = self.format.is_some();
        let format = self.format.unwrap_or(if is_text(dt) { HashFormat::Hex } else { HashFormat::Preserve });
        let spec = match format {
            HashFormat::Hex => {
                ctx.text_only("hash with format = \"hex\"")?;
                let length = self.length.unwrap_or(32);
                if !(1..=64).contains(&length) {
                    return Err(vec![format!("`length` must be between 1 and 64 hex characters, not {length}")]);
                }
                HashSpec::Hex { length }
            }
            HashFormat::Preserve => {
                if self.length.is_some() {
                    return Err(vec!["`length` applies only to format = \"hex\"".into()]);
                }
                if let Some(bits) = int_bits(dt) {
                    HashSpec::Int { bits }
                } else if is_uuid_binary(dt) || is_text(dt) {
                    HashSpec::Uuid
                } else if written {
                    return Err(vec![format!(
                        "format = \"preserve\" works on Int8/16/32/64, uuid (FixedSizeBinary(16)) and uuid text columns, and this column is {dt}"
                    )]);
                } else {
                    return Err(vec![format!(
                        "`hash` works on text, integer and uuid columns, and this column is {dt}; use `null` or \
                         `constant` for it"
                    )]);
                }
            }
        };
        Ok(Bound { strategy: Strategy::Hash(spec), domain: ctx.domain_of(&self.domain), unique: self.unique })
    }
}

impl Behaviour for HashSpec {
    fn action(&self) -> &'static str {
        "hash"
    }

    fn describe(&self) -> String {
        match self {
            HashSpec::Hex { length } => Words::new("hash").opt("format", "hex").opt("length", *length as i64).finish(),
            HashSpec::Int { bits } => {
                format!(
                    "{} (a keyed permutation of {bits}-bit integers)",
                    Words::new("hash").opt("format", "preserve").finish()
                )
            }
            HashSpec::Uuid => {
                format!("{} (a keyed permutation of uuids)", Words::new("hash").opt("format", "preserve").finish())
            }
        }
    }

    fn fit(&self, declared: &Declared) -> Result<Option<usize>, String> {
        let limit = declared.limit;
        match self {
            HashSpec::Hex { length } if *length > limit => declared.too_long(
                format!("`hash` with length = {length}"),
                *length,
                &format!("use `length = {limit}` or less"),
            ),
            HashSpec::Uuid if limit < 36 => declared.too_long(
                "`hash` with format = \"preserve\" (uuid text)".into(),
                36,
                "use format = \"hex\" with a `length` that fits",
            ),
            HashSpec::Hex { .. } | HashSpec::Uuid | HashSpec::Int { .. } => Ok(None),
        }
    }

    fn apply(&self, c: &ColumnInput) -> Result<ArrayRef, CellError> {
        let input = c.input;
        match (self, input.data_type()) {
            (HashSpec::Int { bits }, _) => hash_ints(input, c.key, *bits),
            (HashSpec::Uuid, DataType::FixedSizeBinary(16)) => {
                let a = input.as_fixed_size_binary();
                let iter = (0..input.len()).map(|i| {
                    a.is_valid(i).then(|| {
                        let v: [u8; 16] = a.value(i).try_into().unwrap_or([0; 16]);
                        permute_uuid(c.key, v)
                    })
                });
                let out =
                    FixedSizeBinaryArray::try_from_sparse_iter_with_size(iter, 16).map_err(|e| (0, e.to_string()))?;
                Ok(Arc::new(out))
            }
            (HashSpec::Hex { .. } | HashSpec::Uuid, _) => {
                map_text(input, |s, out| self.text_value(c.key, s, c.attempt, out))
            }
        }
    }

    fn text_value(&self, key: &DomainKey, s: &str, attempt: u32, out: &mut String) -> Result<(), String> {
        match self {
            HashSpec::Hex { length } => {
                let mut buf = Vec::with_capacity(s.len() + 1);
                text_key(s, &mut buf);
                if attempt > 0 {
                    buf.extend_from_slice(&attempt.to_le_bytes());
                }
                hash_hex(key, &buf, *length, out);
            }
            HashSpec::Uuid => {
                let u = parse_uuid(s).ok_or("the value is not a uuid; hash with format = \"preserve\" on a text column needs uuid text (use format = \"hex\" otherwise)")?;
                format_uuid(&permute_uuid(key, u), out);
            }
            HashSpec::Int { .. } => return Err(format!("{} does not apply to text", self.describe())),
        }
        Ok(())
    }

    fn regenerate_text(&self, r: &Regenerate) -> Option<Result<String, String>> {
        match self {
            HashSpec::Hex { .. } | HashSpec::Uuid => r.by_text_value(self),
            HashSpec::Int { .. } => None,
        }
    }
}

fn hash_ints(input: &ArrayRef, key: &DomainKey, bits: u32) -> Result<ArrayRef, CellError> {
    macro_rules! permute {
        ($t:ty, $native:ty) => {{
            let a = input.as_primitive::<$t>();
            let out: PrimitiveArray<$t> = a.unary(|v| permute_int(key, v as i64, bits) as $native);
            Ok(Arc::new(out.with_data_type(input.data_type().clone())))
        }};
    }
    match input.data_type() {
        DataType::Int8 => permute!(Int8Type, i8),
        DataType::Int16 => permute!(Int16Type, i16),
        DataType::Int32 => permute!(Int32Type, i32),
        DataType::Int64 => permute!(Int64Type, i64),
        other => Err((0, format!("hash preserve expects an integer column, found {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::fit::{check, declared_text as field};

    #[test]
    fn hash_lengths_are_checked_against_the_declared_length() {
        let c = field("character varying(12)");
        assert_eq!(check(&c, &Strategy::Hash(HashSpec::Hex { length: 12 })), Ok(None));
        let e = check(&c, &Strategy::Hash(HashSpec::Hex { length: 16 })).unwrap_err();
        assert!(e.contains("use `length = 12` or less"), "{e}");
        assert!(check(&c, &Strategy::Hash(HashSpec::Uuid)).is_err());
    }
}
