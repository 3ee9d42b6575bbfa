//! Column-type questions the strategies' checks ask (text? which integer width? a uuid?).

use arrow_schema::DataType;

pub(crate) fn is_text(dt: &DataType) -> bool {
    matches!(dt, DataType::Utf8 | DataType::LargeUtf8)
}

pub(crate) fn int_bits(dt: &DataType) -> Option<u32> {
    match dt {
        DataType::Int8 => Some(8),
        DataType::Int16 => Some(16),
        DataType::Int32 => Some(32),
        DataType::Int64 => Some(64),
        _ => None,
    }
}

pub(crate) fn is_uuid_binary(dt: &DataType) -> bool {
    matches!(dt, DataType::FixedSizeBinary(16))
}

/// Inclusive range of an integer type.
pub(crate) fn int_range(dt: &DataType) -> Option<(i64, i64)> {
    Some(match dt {
        DataType::Int8 => (i8::MIN as i64, i8::MAX as i64),
        DataType::Int16 => (i16::MIN as i64, i16::MAX as i64),
        DataType::Int32 => (i32::MIN as i64, i32::MAX as i64),
        DataType::Int64 => (i64::MIN, i64::MAX),
        DataType::UInt8 => (0, u8::MAX as i64),
        DataType::UInt16 => (0, u16::MAX as i64),
        DataType::UInt32 => (0, u32::MAX as i64),
        DataType::UInt64 => (0, i64::MAX),
        _ => return None,
    })
}
