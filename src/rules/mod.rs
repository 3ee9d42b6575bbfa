//! Rules: loading TOML files (one file or a directory of them) into a [`RuleSet`], with
//! structural checks, and the schema lock recorded beside them ([`lock`]). Binding rules to
//! a real schema happens in [`crate::plan`].

mod load;
pub mod lock;
pub mod model;
pub mod suggestion;
pub mod toml_text;

pub use load::{ColumnEntry, Lined, RuleSet, SubsetSpec, TableRules, load_rules, parse_rules};
pub use lock::{SchemaLock, lock_path};
pub use model::{ColumnRule, HashFormat, RULES_VERSION, TableAction};
