//! The `constant` strategy: every value becomes one constant, parsed as the column's type.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, StringArray, UInt32Array};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::{DataType, Field};
use serde::Deserialize;

use super::apply::{CellError, ColumnInput};
use super::fit::{self, Declared};
use super::words::Words;
use super::{Behaviour, BindContext, Bound, RuleOptions, Strategy};

/// `action = "constant"`: replace every value, NULLs included, with one typed value. The
/// value is written as it would be in the column's type: `value = 0`, `value = "2020-01-01"`,
/// `value = "12.50"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstantRule {
    pub value: toml::Value,
}

/// The bound constant: a one-element array of the column's type, and the value as the rules
/// wrote it (for `--explain`).
#[derive(Debug, Clone)]
pub struct Constant(pub ArrayRef, pub toml::Value);

impl RuleOptions for ConstantRule {
    fn action(&self) -> &'static str {
        "constant"
    }

    fn bind(&self, ctx: &BindContext) -> Result<Bound, Vec<String>> {
        let value = bind(&self.value, ctx.field).map_err(|e| vec![e])?;
        ctx.plain(Strategy::Constant(Constant(value, self.value.clone())))
    }

    /// Inside JSON the constant is the JSON text of the value.
    fn bind_in_json(&self, default_domain: &str) -> Result<(Strategy, String), String> {
        let json = serde_json::to_value(&self.value).map_err(|e| format!("constant cannot be written as JSON: {e}"))?;
        let s = serde_json::to_string(&json).map_err(|e| e.to_string())?;
        let array = Arc::new(StringArray::from(vec![s]));
        Ok((Strategy::Constant(Constant(array, self.value.clone())), default_domain.to_string()))
    }
}

impl Behaviour for Constant {
    fn action(&self) -> &'static str {
        "constant"
    }

    fn describe(&self) -> String {
        Words::new("constant").opt("value", self.1.clone()).finish()
    }

    fn keyed(&self) -> bool {
        false
    }

    /// Checked as it is bound (`fit::constant`).
    fn fit(&self, _declared: &Declared) -> Result<Option<usize>, String> {
        Ok(None)
    }

    fn apply(&self, c: &ColumnInput) -> Result<ArrayRef, CellError> {
        let zeros = UInt32Array::from(vec![0u32; c.input.len()]);
        arrow_select::take::take(self.0.as_ref(), &zeros, None).map_err(|e| (0, e.to_string()))
    }
}

/// Builds the one-element array of a constant, parsed as the column's type; it must fit the
/// declared type (see [`fit::constant`]).
fn bind(value: &toml::Value, field: &Field) -> Result<ArrayRef, String> {
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
    super::pg_types::constant_fits(&text, field)?;
    let input: ArrayRef = Arc::new(StringArray::from(vec![text]));
    if !arrow_cast::can_cast_types(&DataType::Utf8, dt) {
        return Err(format!("`constant` cannot produce values of type {dt}; use null, keep or another action"));
    }
    let options = CastOptions { safe: false, ..Default::default() };
    cast_with_options(&input, dt, &options)
        .map_err(|_| format!("the constant is not a valid {dt} value; write it as the column's type expects"))
}
