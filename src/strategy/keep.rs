//! The `keep` and `null` strategies: copy the value unchanged (bit for bit), or replace every
//! value with NULL. Neither takes options; `keep` is the one way to copy a column.

use arrow_array::{Array, ArrayRef};

use super::apply::{CellError, ColumnInput};
use super::fit::Declared;
use super::{Behaviour, BindContext, Bound, RuleOptions, Strategy};

/// `action = "keep"`, and every entry of a table's `keep` list.
#[derive(Debug, Clone, Copy)]
pub struct Keep;

/// `action = "null"`.
#[derive(Debug, Clone, Copy)]
pub struct Null;

impl RuleOptions for Keep {
    fn action(&self) -> &'static str {
        "keep"
    }

    fn bind(&self, ctx: &BindContext) -> Result<Bound, Vec<String>> {
        ctx.plain(Strategy::Keep)
    }

    fn bind_in_json(&self, _default_domain: &str) -> Result<(Strategy, String), String> {
        Err("`keep` is the default for unlisted paths; remove this entry".into())
    }
}

impl Behaviour for Keep {
    fn action(&self) -> &'static str {
        "keep"
    }

    fn describe(&self) -> String {
        "keep".into()
    }

    fn keyed(&self) -> bool {
        false
    }

    /// It copies what the column held.
    fn fit(&self, _declared: &Declared) -> Result<Option<usize>, String> {
        Ok(None)
    }

    fn apply(&self, c: &ColumnInput) -> Result<ArrayRef, CellError> {
        Ok(c.input.clone())
    }
}

impl RuleOptions for Null {
    fn action(&self) -> &'static str {
        "null"
    }

    fn bind(&self, ctx: &BindContext) -> Result<Bound, Vec<String>> {
        if !ctx.field.is_nullable() {
            return Err(vec!["`null` on a column declared NOT NULL would break it; choose another action".into()]);
        }
        ctx.plain(Strategy::Null)
    }
}

impl Behaviour for Null {
    fn action(&self) -> &'static str {
        "null"
    }

    fn describe(&self) -> String {
        "null".into()
    }

    fn keyed(&self) -> bool {
        false
    }

    fn fit(&self, _declared: &Declared) -> Result<Option<usize>, String> {
        Ok(None)
    }

    fn apply(&self, c: &ColumnInput) -> Result<ArrayRef, CellError> {
        Ok(arrow_array::new_null_array(c.input.data_type(), c.input.len()))
    }
}
