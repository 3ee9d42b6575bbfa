//! The `constant` strategy: every value becomes one constant, parsed as the column's type.

use std::sync::Arc;

use arrow_array::{ArrayRef, StringArray};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::{DataType, Field};

use super::fit;

/// Builds the one-element array of a constant, parsed as the column's type; it must fit the
/// declared type (see [`fit::constant`]).
pub(crate) fn bind(value: &toml::Value, field: &Field) -> Result<ArrayRef, String> {
    let dt = field.data_type();
    let text = match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        _ => {
            return Err("a constant must be a string, number, boolean or date; arrays and tables are not values".into());
        }
    };
    fit::constant(&text, field)?;
    let input: ArrayRef = Arc::new(StringArray::from(vec![text]));
    if !arrow_cast::can_cast_types(&DataType::Utf8, dt) {
        return Err(format!("`constant` cannot produce values of type {dt}; use null, keep or another action"));
    }
    let options = CastOptions { safe: false, ..Default::default() };
    cast_with_options(&input, dt, &options)
        .map_err(|_| format!("the constant is not a valid {dt} value; write it as the column's type expects"))
}
