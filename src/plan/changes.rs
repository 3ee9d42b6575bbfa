//! Every transforming rule must be able to change the value.
//!
//! `keep` is the one way to copy a column; a rule that provably copies every value unchanged
//! (a `redact` that looks for nothing, noise finer than the column can hold) would publish the
//! real values while the plan, `--explain` and the audit call them transformed. Such a rule
//! is a plan error. Strategy by strategy:
//!
//! | strategy | can it leave every value as it was? |
//! |---|---|
//! | `keep` | yes: that is what it is for |
//! | `null`, `constant` | no: one value for every row (a constant is the rules' text, not data) |
//! | `mask` | no: at least half of every non-empty value is masked (a value made only of `mask_char`, or in format-preserving mode only of separators, stays: that depends on the value, not the rule) |
//! | `hash`, `fake` | no: keyed pseudonyms and generated values; equal only by chance |
//! | `template` | no: it cannot read its own column |
//! | `redact` | yes with `detect = []` and no `patterns`: refused |
//! | `json` | as its paths' rules; `paths` cannot be empty |
//! | `noise`, `absolute` | yes below one unit of the column (1 for integers, `10^-s` for `numeric(p,s)`): refused. Floats: any positive amount moves values near zero |
//! | `noise`, `relative` | yes when even the largest value the type holds would move by less than one unit (or, for floats, by less than half a rounding step): refused. Values smaller than that stay as they are: zero under any amount, and numbers below `1 / relative` units |
//! | `noise`, `duration` | yes below one unit of the column (a day for dates): refused when bound |
//!
//! Each strategy answers for itself in [`crate::strategy::Behaviour::check_changes`] (`redact`,
//! `json` and `noise` have something to refuse).

use arrow_schema::Field;

use super::Strategy;

/// `Err` (what to do) when `strategy` cannot change any value of a column like `field`.
pub(super) fn check(field: &Field, strategy: &Strategy) -> Result<(), String> {
    strategy.behaviour().check_changes(field)
}
