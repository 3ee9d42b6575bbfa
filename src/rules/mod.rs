//! Rules: loading TOML files (one file or a directory of them) into a [`RuleSet`], with
//! structural checks. Binding rules to a real schema happens in [`crate::plan`].

mod load;
pub mod model;

pub use load::{ColumnEntry, RuleSet, TableRules, load_rules, parse_rules};
pub use model::{ColumnRule, HashFormat, RULES_VERSION, TableAction};
