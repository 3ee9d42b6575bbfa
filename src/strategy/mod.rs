//! Strategies: what a column's rule does. Each strategy is one file or folder, whole: its
//! rule options (the serde struct users write), the binding that checks them against the
//! column's type, the fit and "can it change a value" checks, the description for
//! `check --explain`, and the code that applies it to an array. The set of strategies is
//! registered in one place, the registry below: [`ColumnRule`] (one variant per action, as
//! written) and [`Strategy`] (one variant per bound strategy), each with the one `match` that
//! hands a variant to its module ([`ColumnRule::options`], [`Strategy::behaviour`]).
//!
//! ```text
//! ColumnRule ──RuleOptions::bind(BindContext)──▶ Strategy ──Behaviour::{fit, check_changes, apply, describe}
//! ```
//!
//! This layer sits below [`crate::plan`] (which binds the rules of a schema to strategies)
//! and [`crate::transform`] (the engine that applies a plan to batches); [`crate::rules`]
//! parses rules files into [`ColumnRule`]s.
//!
//! | module        | what it holds                                                            |
//! |---------------|--------------------------------------------------------------------------|
//! | [`keep`]      | the `keep` and `null` strategies                                         |
//! | [`constant`]  | the `constant` strategy                                                  |
//! | [`mask`]      | the `mask` strategy                                                      |
//! | [`hash`]      | the `hash` strategy: keyed hex digests and permutations (rule in `hash/rule.rs`) |
//! | [`fake`]      | the `fake` strategy: generators and locales (rule in `fake/bind.rs`, apply in `fake/apply.rs`) |
//! | [`noise`]     | the `noise` strategy: numbers and time shifts (apply in `noise/apply.rs`) |
//! | [`generalise`] | the `generalise` strategy: dates to a year or month, numbers to bands, text to a prefix |
//! | [`redact`]    | the `redact` strategy, on top of [`crate::detect`]                       |
//! | [`json`]      | the `json` strategy: rules per path inside JSON values                   |
//! | [`template`]  | the `template` strategy: parsing, filters, evaluation                    |
//! | [`elements`]  | a text strategy applied to each element of an array of strings       |
//! | [`pg_types`]  | which strategies can write valid values of which PostgreSQL types (text-carried ones) |
//! | [`fit`]       | generated values against the declared `varchar(n)`, `char(n)`, `numeric(p,s)` (generic part) |
//! | [`apply`]     | one column's strategy applied to one array (generic part: text mapping, unique retries) |
//! | [`values`]    | value keys and Arrow builders shared by the strategies                   |

pub mod apply;
pub mod constant;
pub mod elements;
pub mod fake;
pub mod fit;
pub mod generalise;
pub mod hash;
pub mod json;
pub mod keep;
pub mod mask;
pub mod noise;
pub mod pg_types;
pub mod redact;
pub mod tag;
pub mod template;
pub(crate) mod types;
pub mod values;
pub mod words;

use std::fmt;
use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field, Schema};
use serde::Deserialize;

use crate::secret::DomainKey;
use apply::{CellError, ColumnInput, Regenerate};
use fake::FakeSpec;
use mask::MaskSpec;
use redact::Redactor;

pub use json::{JsonPathRule, JsonStep};
pub use template::Template;

// ---------------------------------------------------------------------------------------
// The registry: every strategy appears here, and only here, by name.
// ---------------------------------------------------------------------------------------

/// One column's rule. `action` selects the strategy; the other keys are its options, in the
/// strategy's own module.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ColumnRule {
    /// Copy the value unchanged (bit for bit).
    Keep,
    /// Replace every value with NULL. The column must be nullable.
    Null,
    /// Replace every value, NULLs included, with one typed value ([`constant::ConstantRule`]).
    Constant(constant::ConstantRule),
    /// Hide characters of a text value ([`mask::MaskRule`]).
    Mask(mask::MaskRule),
    /// Keyed blake3 pseudonym ([`hash::HashRule`]).
    Hash(hash::HashRule),
    /// A synthetic value from a generator, seeded by the keyed hash of the original value
    /// ([`fake::FakeRule`]).
    Fake(fake::FakeRule),
    /// Numbers moved by a keyed random amount; dates and timestamps shifted by a duration
    /// ([`noise::NoiseRule`]).
    Noise(noise::NoiseRule),
    /// A coarser value of the same type: dates to a year or month, numbers to a band, text
    /// to a prefix ([`generalise::GeneraliseRule`]).
    Generalise(generalise::GeneraliseRule),
    /// Text built from other columns' output values in the same row
    /// ([`template::TemplateRule`]).
    Template(template::TemplateRule),
    /// Find personal data inside free text and replace it ([`redact::RedactRule`]).
    Redact(redact::RedactRule),
    /// Rules for paths inside JSON text ([`json::JsonRule`]).
    Json(json::JsonRule),
}

/// The actions, as written in rules, in the order of [`ColumnRule`].
pub const ACTIONS: &[&str] =
    &["keep", "null", "constant", "mask", "hash", "fake", "noise", "generalise", "template", "redact", "json"];

impl ColumnRule {
    /// The strategy module that binds this rule.
    pub fn options(&self) -> &dyn RuleOptions {
        match self {
            ColumnRule::Keep => &keep::Keep,
            ColumnRule::Null => &keep::Null,
            ColumnRule::Constant(r) => r,
            ColumnRule::Mask(r) => r,
            ColumnRule::Hash(r) => r,
            ColumnRule::Fake(r) => r,
            ColumnRule::Noise(r) => r,
            ColumnRule::Generalise(r) => r,
            ColumnRule::Template(r) => r,
            ColumnRule::Redact(r) => r,
            ColumnRule::Json(r) => r,
        }
    }

    /// The strategy name as written in rules.
    pub fn action_name(&self) -> &'static str {
        self.options().action()
    }
}

/// A validated strategy, with options already parsed and checked against the column type.
#[derive(Clone)]
pub enum Strategy {
    Keep,
    Null,
    Constant(constant::Constant),
    Mask(MaskSpec),
    Hash(hash::HashSpec),
    Fake(FakeSpec),
    Noise(noise::NoiseSpec),
    Generalise(generalise::GeneraliseSpec),
    Template(Template),
    Redact(Arc<Redactor>),
    Json(json::JsonPaths),
    /// A text strategy applied to each element of an array of strings ([`elements`]).
    Elements(elements::Elements),
}

impl Strategy {
    /// The strategy module that describes, checks and applies this strategy.
    pub fn behaviour(&self) -> &dyn Behaviour {
        match self {
            Strategy::Keep => &keep::Keep,
            Strategy::Null => &keep::Null,
            Strategy::Constant(s) => s,
            Strategy::Mask(s) => s,
            Strategy::Hash(s) => s,
            Strategy::Fake(s) => s,
            Strategy::Noise(s) => s,
            Strategy::Generalise(s) => s,
            Strategy::Template(s) => s,
            Strategy::Redact(s) => s.as_ref(),
            Strategy::Json(s) => s,
            Strategy::Elements(s) => s,
        }
    }

    /// A one-line description for `check --explain` (never contains data).
    pub fn describe(&self) -> String {
        self.behaviour().describe()
    }

    /// The rule's action name as written in rules files (`hash` for every form of hash).
    pub fn action(&self) -> &'static str {
        self.behaviour().action()
    }
}

impl fmt::Debug for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

// ---------------------------------------------------------------------------------------
// What every strategy module implements.
// ---------------------------------------------------------------------------------------

/// A rule's options, as written: binding them to a column. Implemented by each strategy's
/// rule struct (and by [`keep::Keep`] / [`keep::Null`], which take no options).
pub trait RuleOptions {
    /// The action name as written in rules.
    fn action(&self) -> &'static str;

    /// Checks the options against the column and builds the strategy. Every message names
    /// the problem and what to do instead, never a value.
    ///
    /// `ctx.field` is the Arrow field with its metadata: [`crate::schema::PG_TYPE`] names the
    /// PostgreSQL type when the source knows it. This is where a strategy refuses column
    /// types it cannot write valid values for.
    fn bind(&self, ctx: &BindContext) -> Result<Bound, Vec<String>>;

    /// Binds the rule to a path inside JSON values (see [`json`]): `(strategy, domain)`.
    /// By default the rule is bound as on a nullable text column and `unique` is refused;
    /// JSON numbers and values of other types are checked at run time.
    fn bind_in_json(&self, default_domain: &str) -> Result<(Strategy, String), String> {
        let text = Field::new("json", DataType::Utf8, true);
        let schema = Schema::new(vec![text.clone()]);
        let ctx = BindContext { field: &text, schema: &schema, default_domain };
        let bound = self.bind(&ctx).map_err(|e| e.join("; "))?;
        if bound.unique {
            return Err("`unique` is not available inside JSON".into());
        }
        Ok((bound.strategy, bound.domain))
    }
}

/// What a bound strategy does. Implemented by each strategy's bound spec; reached through
/// [`Strategy::behaviour`].
pub trait Behaviour {
    /// The action name as written in rules.
    fn action(&self) -> &'static str;

    /// A one-line description for `check --explain` (never contains data).
    fn describe(&self) -> String;

    /// Whether the output depends on the column's domain key (`--explain` then shows the
    /// domain).
    fn keyed(&self) -> bool {
        true
    }

    /// Its values against the column's declared `varchar(n)` / `char(n)` (see [`fit`]):
    /// `Ok(None)` when every value provably fits, `Ok(Some(limit))` to check each value at
    /// run time, `Err` when no value can be relied on to fit. The default checks at run time.
    fn fit(&self, declared: &fit::Declared) -> Result<Option<usize>, String> {
        Ok(Some(declared.limit))
    }

    /// `Err` (what to do) when the rule cannot change any value of a column like `field`
    /// (see `plan::changes`).
    fn check_changes(&self, _field: &Field) -> Result<(), String> {
        Ok(())
    }

    /// Applies the strategy to every row of `c.input`. NULL stays NULL except for `constant`.
    fn apply(&self, c: &ColumnInput) -> Result<ArrayRef, CellError>;

    /// The strategy on one text value (text columns and JSON strings).
    fn text_value(&self, _key: &DomainKey, _s: &str, _attempt: u32, _out: &mut String) -> Result<(), String> {
        Err(format!("{} does not apply to text", self.describe()))
    }

    /// Re-generates one text value of a unique column at `r.attempt` without arrays; `None`
    /// when the strategy cannot (the caller then recomputes the row through `apply`).
    fn regenerate_text(&self, _r: &Regenerate) -> Option<Result<String, String>> {
        None
    }
}

/// What binding a rule to a column sees.
pub struct BindContext<'a> {
    /// The column: name, Arrow type, nullability, and metadata (`pg.type` and the other
    /// `pg.*` keys of [`crate::schema`]).
    pub field: &'a Field,
    /// The table's schema (templates read other columns).
    pub schema: &'a Schema,
    /// `schema.table.column`: the domain when the rule names none.
    pub default_domain: &'a str,
}

impl BindContext<'_> {
    pub fn data_type(&self) -> &DataType {
        self.field.data_type()
    }

    /// The column's PostgreSQL type as the catalog spells it (`character varying(40)`,
    /// `numeric(12,2)`, a domain's or enum's name), when the source knows it: what a
    /// strategy checks to refuse PostgreSQL types it cannot write valid values for.
    pub fn pg_type(&self) -> Option<&str> {
        self.field.metadata().get(crate::schema::PG_TYPE).map(String::as_str)
    }

    /// The rule's `domain`, or the column's own.
    pub fn domain_of(&self, domain: &Option<String>) -> String {
        domain.clone().unwrap_or_else(|| self.default_domain.to_string())
    }

    /// A strategy with the column's own domain and no `unique`.
    pub fn plain(&self, strategy: Strategy) -> Result<Bound, Vec<String>> {
        Ok(Bound { strategy, domain: self.default_domain.to_string(), unique: false })
    }

    /// `Err` unless the column is text.
    pub fn text_only(&self, action: &str) -> Result<(), Vec<String>> {
        let dt = self.data_type();
        if types::is_text(dt) {
            Ok(())
        } else {
            Err(vec![format!("`{action}` works on text columns, and this column is {dt}")])
        }
    }
}

/// A rule bound to a column.
pub struct Bound {
    pub strategy: Strategy,
    pub domain: String,
    pub unique: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_registered_once_and_in_order() {
        for (i, name) in ACTIONS.iter().enumerate() {
            assert!(!ACTIONS[..i].contains(name), "{name} twice");
        }
        assert_eq!(ColumnRule::Keep.action_name(), ACTIONS[0]);
        assert_eq!(ColumnRule::Null.action_name(), ACTIONS[1]);
        // Every action parses as a rule with that name (the options below are the required ones).
        let required = |action: &str| match action {
            "constant" => "value = 1",
            "fake" => "generator = \"email\"",
            "template" => "template = \"x\"",
            "json" => "paths = {}",
            "generalise" => "prefix = 2",
            _ => "",
        };
        for name in ACTIONS {
            let text = format!("action = \"{name}\"\n{}", required(name));
            let rule: ColumnRule = toml::from_str(&text).unwrap();
            assert_eq!(rule.action_name(), *name);
        }
    }
}
