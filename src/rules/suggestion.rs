//! A rule suggested for one column, as a line of a rules file: what `doppel scan` writes, and
//! what the schema-drift guard ([`crate::plan::drift`]) puts in its report. Only the model
//! and its TOML rendering live here; how a column is judged is [`crate::scan::suggest`]'s.

use std::collections::BTreeMap;

use super::toml_text::{key, string};

/// Suggestions per `(table, column)`.
pub type Suggested = BTreeMap<(String, String), Suggestion>;

/// One rule as written in TOML: `{ action = "...", option = value, ... }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub action: &'static str,
    pub options: Vec<(&'static str, toml::Value)>,
    /// Only for `json`: the rules per path.
    pub paths: Vec<(String, Rule)>,
}

impl Rule {
    pub fn new(action: &'static str) -> Rule {
        Rule { action, options: Vec::new(), paths: Vec::new() }
    }

    pub fn opt(mut self, key: &'static str, value: impl Into<toml::Value>) -> Rule {
        self.options.push((key, value.into()));
        self
    }

    pub(crate) fn fake(generator: &str) -> Rule {
        Rule::new("fake").opt("generator", generator)
    }

    pub(crate) fn mask_fp() -> Rule {
        Rule::new("mask").opt("format_preserving", true)
    }

    pub(crate) fn domain(self, domain: &str) -> Rule {
        self.opt("domain", domain)
    }

    /// The inline TOML table.
    pub fn render(&self) -> String {
        let mut parts = vec![format!("action = {}", string(self.action))];
        for (k, v) in &self.options {
            match v {
                // Names (a domain named after a column) stay on one line, escaped.
                toml::Value::String(text) => parts.push(format!("{k} = {}", string(text))),
                other => parts.push(format!("{k} = {other}")),
            }
        }
        if !self.paths.is_empty() {
            let paths: Vec<String> = self.paths.iter().map(|(p, r)| format!("{} = {}", key(p), r.render())).collect();
            parts.push(format!("paths = {{ {} }}", paths.join(", ")));
        }
        format!("{{ {} }}", parts.join(", "))
    }
}

/// Keep, or a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Keep,
    Rule(Rule),
}

/// A suggestion for one column: the action, why, and whether scan is guessing.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub action: Action,
    pub why: String,
    /// Scan could not judge the column: the rule is a safe default to look at first.
    pub review: bool,
    /// A rule to use if [`Suggestion::action`] does not bind (a generated value too long
    /// for the column, say).
    pub fallback: Option<Rule>,
}

impl Suggestion {
    pub(crate) fn keep(why: impl Into<String>) -> Suggestion {
        Suggestion { action: Action::Keep, why: why.into(), review: false, fallback: None }
    }

    pub(crate) fn rule(rule: Rule, why: impl Into<String>) -> Suggestion {
        Suggestion { action: Action::Rule(rule), why: why.into(), review: false, fallback: None }
    }

    pub(crate) fn review(mut self) -> Suggestion {
        self.review = true;
        self
    }

    pub(crate) fn or(mut self, fallback: Rule) -> Suggestion {
        self.fallback = Some(fallback);
        self
    }

    pub fn is_keep(&self) -> bool {
        self.action == Action::Keep
    }
}
