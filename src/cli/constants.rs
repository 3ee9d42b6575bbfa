//! Constants on columns whose PostgreSQL type travels as text are checked by the source
//! database when there is one: `check` and `run` ask it whether it accepts each constant's
//! text as a value of the column's type (domain CHECK constraints included), so a constant
//! PostgreSQL would refuse is a plan error naming file:line and table.column, not a failed
//! load. Offline (a Parquet source), what `strategy::pg_types::constant_fits` judges is all.

use arrow_array::Array;
use arrow_array::cast::AsArray;

use crate::error::{Error, Problem, Problems, Result};
use crate::plan::Plan;
use crate::schema::PG_TYPE;
use crate::source::Source;
use crate::strategy::Strategy;
use crate::type_kind::TypeKind;

/// `Err` listing every constant of `plan` the source's database refuses for its column's type.
pub fn check_constants(plan: &Plan, source: &dyn Source) -> Result<()> {
    let mut problems = Vec::new();
    for table in &plan.tables {
        for c in &table.columns {
            let Strategy::Constant(constant) = &c.strategy else { continue };
            let field = table.schema.field(c.index);
            let (Some(_), Some(pg_type)) = (TypeKind::of(field), field.metadata().get(PG_TYPE)) else { continue };
            let Some(values) = constant.0.as_string_opt::<i32>() else { continue };
            if values.is_empty() || values.is_null(0) {
                continue;
            }
            if source.accepts_text(pg_type, values.value(0))? == Some(false) {
                problems.push(
                    Problem::new(format!(
                        "the constant is not a valid value of type {pg_type} (the source database refuses it); \
                         write it in PostgreSQL's text form of the type"
                    ))
                    .at(&c.origin.file, Some(c.origin.line))
                    .table(&table.name)
                    .column(&c.name),
                );
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(Error::Rules(Problems(problems))) }
}
