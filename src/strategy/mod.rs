//! Strategies: what a column's rule does, once its options are parsed and checked against the
//! column's type. This layer sits below [`crate::plan`] (which binds the rules of a schema
//! to strategies) and [`crate::transform`] (the engine that applies a plan to batches):
//!
//! ```text
//! rules (TOML model) ──▶ strategy (specs, fit checks, apply) ──▶ plan (bind to a schema) ──▶ transform (engine)
//! ```
//!
//! | module        | what it holds                                                            |
//! |---------------|--------------------------------------------------------------------------|
//! | [`constant`]  | the `constant` strategy                                                  |
//! | [`mask`]      | the `mask` strategy                                                      |
//! | [`hash`]      | the `hash` strategy: keyed hex digests and permutations                  |
//! | [`fake`]      | the `fake` strategy: generators and locales                              |
//! | [`noise`]     | the `noise` strategy: numbers and time shifts                            |
//! | [`redact`]    | the `redact` strategy, on top of [`crate::detect`]                       |
//! | [`json`]      | the `json` strategy: rules per path inside JSON values                   |
//! | [`template`]  | the `template` strategy: parsing and filters                             |
//! | [`fit`]       | generated values against the declared `varchar(n)`, `char(n)`, `numeric(p,s)` |
//! | [`apply`]     | one column's strategy applied to one array (the dispatch on [`Strategy`]) |
//! | [`values`]    | value keys and Arrow builders shared by the strategies                   |

pub mod apply;
pub mod constant;
pub mod fake;
pub mod fit;
pub mod hash;
pub mod json;
pub mod mask;
pub mod noise;
pub mod redact;
pub mod template;
pub(crate) mod types;
pub mod values;

use std::fmt;
use std::sync::Arc;

use arrow_array::ArrayRef;

use fake::FakeSpec;
use mask::MaskSpec;
use noise::Amount;
use redact::Redactor;

pub use template::Template;

/// A validated strategy, with options already parsed and checked against the column type.
#[derive(Clone)]
pub enum Strategy {
    Keep,
    Null,
    /// A one-element array of the column's type.
    Constant(ArrayRef),
    Mask(MaskSpec),
    HashHex {
        length: usize,
    },
    /// Integer permutation over the signed range of `bits`.
    HashInt {
        bits: u32,
    },
    /// Uuid permutation (binary or text column).
    HashUuid,
    Fake(FakeSpec),
    NoiseNumber(Amount),
    /// Shift in the column's own unit (days for dates, the timestamp's unit otherwise).
    NoiseShift {
        max_shift: i64,
    },
    Template(Template),
    Redact(Arc<Redactor>),
    Json(Vec<JsonPathRule>),
}

/// A rule applied to one path inside JSON values.
#[derive(Debug, Clone)]
pub struct JsonPathRule {
    pub path: String,
    pub steps: Vec<JsonStep>,
    pub strategy: Strategy,
    pub domain: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonStep {
    Key(String),
    EveryElement,
}

impl fmt::Debug for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Strategy {
    /// A one-line description for `check --explain` (never contains data).
    pub fn describe(&self) -> String {
        match self {
            Strategy::Keep => "keep".into(),
            Strategy::Null => "null".into(),
            Strategy::Constant(_) => "constant".into(),
            Strategy::Mask(m) => format!(
                "mask keep_first={} keep_last={}{}",
                m.keep_first,
                m.keep_last,
                if m.format_preserving { " format_preserving".to_string() } else { format!(" char='{}'", m.mask_char) }
            ),
            Strategy::HashHex { length } => format!("hash hex length={length}"),
            Strategy::HashInt { bits } => format!("hash preserve (keyed permutation of {bits}-bit integers)"),
            Strategy::HashUuid => "hash preserve (keyed permutation of uuids)".into(),
            Strategy::Fake(s) => format!("fake {} locale={}", s.generator.name(), s.locale.name()),
            Strategy::NoiseNumber(a) => format!("noise {a:?}"),
            Strategy::NoiseShift { max_shift } => format!("noise shift up to {max_shift} units"),
            Strategy::Template(t) => format!("template \"{}\"", t.source()),
            Strategy::Redact(_) => "redact".into(),
            Strategy::Json(paths) => {
                let list: Vec<String> =
                    paths.iter().map(|p| format!("{}: {}", p.path, p.strategy.describe())).collect();
                format!("json {{ {} }}", list.join("; "))
            }
        }
    }
}
