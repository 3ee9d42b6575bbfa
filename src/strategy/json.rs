//! The `json` strategy: rules applied to paths inside JSON text.
//!
//! A path is a list of keys with `[*]` stepping into every element of an array
//! (`contact.email`, `items[*].name`, `[*].phone`). A path that is absent in a value is
//! skipped, and so is one cut short by a JSON `null`, `true`/`false`, an empty string, an
//! empty array or an empty object (they hold nothing). Text strategies (`mask`, `hash`, `fake`,
//! `redact`) apply to JSON strings, `noise` and number generators to JSON numbers, `null` and
//! `constant` to anything. A value of the wrong JSON type at a listed path is a row error, never
//! a silent pass-through; so is a value on the way that cannot hold the rest of the path (a
//! string where `contact.email` needs `contact` to be an object, an object where `[*]` needs
//! an array), since the personal data the path names may sit in it in another shape. Parts of
//! the document no path names are kept as they are (key order and number text preserved).
//!
//! `noise` on a JSON integer keeps it an integer and moves it as [`super::noise::noise_int`]
//! does over 64-bit integers (a non-zero whole offset from an amount of one); other numbers
//! move as floats. A number that cannot move within its range is a row error, never clamped.

use std::collections::BTreeMap;

use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field};
use serde::Deserialize;
use serde_json::{Number, Value};

use super::fit::Declared;
use super::noise::NoiseSpec;
use super::redact::Fit;
use super::{Behaviour, BindContext, Bound, ColumnRule, RuleOptions, Strategy};
use crate::secret::DomainKey;

use super::apply::{CellError, ColumnInput, map_text, text_value};
use super::fake::{FakeValue, OutputKind, generate};
use super::noise::{noise_float, noise_int};
use super::values::{fake_text, float_key, text_key};

/// `action = "json"`: rules for paths inside JSON text:
/// `paths = { "contact.email" = { action = "fake", generator = "email" } }`.
/// Paths are dot-separated keys; `[*]` steps into every array element. Unlisted parts are kept.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonRule {
    pub paths: BTreeMap<String, ColumnRule>,
    #[serde(default)]
    pub domain: Option<String>,
}

/// The bound `json`: one rule per path, in path order.
#[derive(Debug, Clone)]
pub struct JsonPaths(pub Vec<JsonPathRule>);

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

impl RuleOptions for JsonRule {
    fn action(&self) -> &'static str {
        "json"
    }

    fn bind(&self, ctx: &BindContext) -> Result<Bound, Vec<String>> {
        ctx.text_only("json")?;
        let base = ctx.domain_of(&self.domain);
        let mut bound = Vec::new();
        let mut errors = Vec::new();
        for (path, rule) in &self.paths {
            match bind_path(path, rule, &base) {
                Ok(p) => bound.push(p),
                Err(e) => errors.push(format!("path `{path}`: {e}")),
            }
        }
        if self.paths.is_empty() {
            errors.push("`paths` is empty; list at least one JSON path, or use keep".into());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // In a column with a declared length, a redacted string is never longer than the
        // one it replaces (see `fit` below).
        if super::fit::declared_limit(ctx.field).is_some() {
            for p in &mut bound {
                if let Strategy::Redact(r) = &p.strategy {
                    p.strategy = Strategy::Redact(std::sync::Arc::new((**r).clone().fitting(Fit::NoLonger)));
                }
            }
        }
        Ok(Bound { strategy: Strategy::Json(JsonPaths(bound)), domain: base, unique: false })
    }

    fn bind_in_json(&self, _default_domain: &str) -> Result<(Strategy, String), String> {
        Err("`json` cannot nest; list deeper paths instead".into())
    }
}

/// Parses `a.b[*].c` into steps.
fn parse_path(path: &str) -> Result<Vec<JsonStep>, String> {
    let mut steps = Vec::new();
    for (n, part) in path.split('.').enumerate() {
        let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if key.is_empty() && (n != 0 || rest.is_empty()) {
            return Err("empty key; write paths as `key.sub_key` or `items[*].email`".into());
        }
        if !key.is_empty() {
            steps.push(JsonStep::Key(key.to_string()));
        }
        while let Some(r) = rest.strip_prefix("[*]") {
            steps.push(JsonStep::EveryElement);
            rest = r;
        }
        if !rest.is_empty() {
            return Err("only `[*]` may follow a key; write paths as `key.sub_key` or `items[*].email`".into());
        }
    }
    Ok(steps)
}

/// JSON scalars are bound as text (strings) or Float64 (numbers) by each rule's
/// [`RuleOptions::bind_in_json`]; the runtime checks the JSON type of each value and reports
/// a row error on a mismatch.
fn bind_path(path: &str, rule: &ColumnRule, base_domain: &str) -> Result<JsonPathRule, String> {
    let steps = parse_path(path)?;
    let (strategy, domain) = rule.options().bind_in_json(&format!("{base_domain}.{path}"))?;
    Ok(JsonPathRule { path: path.to_string(), steps, strategy, domain })
}

impl Behaviour for JsonPaths {
    fn action(&self) -> &'static str {
        "json"
    }

    fn describe(&self) -> String {
        let list: Vec<String> = self
            .0
            .iter()
            .map(|p| format!("{} = {}", toml::Value::from(p.path.as_str()), p.strategy.describe()))
            .collect();
        format!("json paths={{ {} }}", list.join(", "))
    }

    /// A document read from the column may already be as long as its type allows, so a
    /// rewritten document fits only if no path's rule makes a value longer than the one it
    /// replaces ([`never_longer`]); the document is written back compactly, never longer
    /// than it was read. Accepted, every value is still checked at run time.
    fn fit(&self, declared: &Declared) -> Result<Option<usize>, String> {
        let longer: Vec<String> = self
            .0
            .iter()
            .filter(|p| !never_longer(&p.strategy))
            .map(|p| format!("`{}` ({})", p.path, p.strategy.describe()))
            .collect();
        if longer.is_empty() {
            return Ok(Some(declared.limit));
        }
        Err(format!(
            "the documents have no longest length within the column's type {pg_type}: a document read may already \
             be {limit} characters long, all that {pg_type} holds, and the rule{s} at {paths} can make a value \
             longer than the one {they} replace{verb}, so a rewritten document could be longer than {limit}; use \
             `mask` or `redact` at {those} path{s} (they never lengthen a value), or widen the column (`text`, \
             `json` or `jsonb`)",
            pg_type = declared.pg_type,
            limit = declared.limit,
            paths = longer.join(", "),
            s = if longer.len() == 1 { "" } else { "s" },
            they = if longer.len() == 1 { "it" } else { "they" },
            verb = if longer.len() == 1 { "s" } else { "" },
            those = if longer.len() == 1 { "that" } else { "those" },
        ))
    }

    /// As its paths' rules (numbers checked as Float64, the rest as text).
    fn check_changes(&self, _field: &Field) -> Result<(), String> {
        let errors: Vec<String> = self
            .0
            .iter()
            .filter_map(|p| {
                let number = matches!(p.strategy, Strategy::Noise(NoiseSpec::Number(_)));
                let dt = if number { DataType::Float64 } else { DataType::Utf8 };
                let field = Field::new("json", dt, true);
                p.strategy.behaviour().check_changes(&field).err().map(|e| format!("path `{}`: {e}", p.path))
            })
            .collect();
        if errors.is_empty() { Ok(()) } else { Err(errors.join("; ")) }
    }

    fn apply(&self, c: &ColumnInput) -> Result<ArrayRef, CellError> {
        map_text(c.input, |s, out| apply_json(&self.0, c.json_keys, s, out))
    }
}

/// Whether a path's rule never makes a JSON value's text longer than the value it replaces:
/// `mask` keeps a string's length with characters JSON writes as they are (a plain mask's
/// character must not need escaping), `redact` with `replacement = "mask"` or kept no longer
/// than the string ([`super::redact::Fit::NoLonger`]). Every other rule can (`null` is four
/// characters where a number may be one).
fn never_longer(strategy: &Strategy) -> bool {
    match strategy {
        Strategy::Mask(spec) => spec.format_preserving || !matches!(spec.mask_char, '"' | '\\' | '\u{0}'..='\u{1f}'),
        Strategy::Redact(r) => r.never_longer(),
        _ => false,
    }
}

/// Rewrites the JSON document `s` and appends it to `out`. `keys[i]` is the domain key of
/// `paths[i]`.
pub fn apply_json(paths: &[JsonPathRule], keys: &[DomainKey], s: &str, out: &mut String) -> Result<(), String> {
    let mut doc: Value = serde_json::from_str(s)
        .map_err(|e| format!("the value is not valid JSON (line {}, column {})", e.line(), e.column()))?;
    for (rule, path_key) in paths.iter().zip(keys) {
        visit(&mut doc, &rule.steps, 0, &rule.path, &mut |v| apply_scalar(rule, path_key, v))?;
    }
    out.push_str(&serde_json::to_string(&doc).map_err(|e| format!("cannot write JSON: {e}"))?);
    Ok(())
}

/// Walks `steps[depth..]` from `v` and calls `f` on every value the path reaches. A missing key
/// or a `null` on the way ends the walk (the path is absent); any other value that cannot hold
/// the next step is an error naming the path and the step, never the value.
fn visit(
    v: &mut Value,
    steps: &[JsonStep],
    depth: usize,
    path: &str,
    f: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let Some(step) = steps.get(depth) else { return f(v) };
    match (step, v) {
        // Nothing personal can sit in these: the path is absent.
        (_, Value::Null | Value::Bool(_)) => Ok(()),
        (_, Value::String(s)) if s.is_empty() => Ok(()),
        (JsonStep::Key(k), Value::Object(map)) => match map.get_mut(k) {
            Some(child) => visit(child, steps, depth + 1, path, f),
            None => Ok(()),
        },
        (JsonStep::EveryElement, Value::Array(items)) => {
            for item in items {
                visit(item, steps, depth + 1, path, f)?;
            }
            Ok(())
        }
        (_, Value::Array(items)) if items.is_empty() => Ok(()),
        (_, Value::Object(map)) if map.is_empty() => Ok(()),
        (step, other) => {
            let (expected, at) = match step {
                JsonStep::Key(k) => ("an object", format!("key `{k}`")),
                JsonStep::EveryElement => ("an array", "`[*]`".to_string()),
            };
            let place = if depth == 0 { "the document".to_string() } else { format!("the value before {at}") };
            Err(format!(
                "path `{path}`: {place} holds {}, and the path needs {expected} there; fix the \
                 document or add a rule for the shorter path",
                json_type(other)
            ))
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn apply_scalar(rule: &JsonPathRule, key: &DomainKey, v: &mut Value) -> Result<(), String> {
    let mismatch = |v: &Value, expected: &str| {
        format!("path `{}` holds {}, and its rule expects {expected}", rule.path, json_type(v))
    };
    match &rule.strategy {
        Strategy::Null => *v = Value::Null,
        Strategy::Constant(constant) => {
            use arrow_array::cast::AsArray;
            let text = constant.0.as_string::<i32>().value(0);
            *v = serde_json::from_str(text).map_err(|e| e.to_string())?;
        }
        _ if v.is_null() => {}
        Strategy::Noise(NoiseSpec::Number(amount)) => {
            let Value::Number(n) = v else { return Err(mismatch(v, "a number")) };
            let Some(f) = n.as_f64() else { return Err(format!("path `{}` holds a number out of range", rule.path)) };
            let mut buf = Vec::new();
            float_key(f, &mut buf);
            let cannot_move = || {
                format!(
                    "path `{}`: noise cannot move this number within the range of its JSON type in either direction; \
                     lower the amount",
                    rule.path
                )
            };
            let mut rng = key.rng(b"noise", &buf, 0);
            *v = if n.is_i64() || n.is_u64() {
                // An integer stays an integer and moves like an integer column's values (a
                // non-zero whole offset from an amount of one); never clamped at i64's ends.
                let i = n.as_i64().ok_or_else(cannot_move)?;
                Value::Number(Number::from(
                    noise_int(i, *amount, i64::MIN, i64::MAX, &mut rng).ok_or_else(cannot_move)?,
                ))
            } else {
                let noisy = noise_float(f, *amount, f64::MAX, &mut rng).ok_or_else(cannot_move)?;
                Number::from_f64(noisy).map(Value::Number).unwrap_or(Value::Null)
            };
        }
        Strategy::Fake(spec) if spec.generator.output() != OutputKind::Text => {
            let mut buf = Vec::new();
            match v {
                Value::String(s) => text_key(s, &mut buf),
                Value::Number(n) => float_key(n.as_f64().unwrap_or_default(), &mut buf),
                other => return Err(mismatch(other, "a string or number")),
            }
            let value = generate(spec, &mut key.rng(b"fake", &buf, 0), 0);
            *v = match value {
                FakeValue::Integer(i) => Value::Number(i.into()),
                FakeValue::Decimal(f) => Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null),
                FakeValue::Boolean(b) => Value::Bool(b),
                other => {
                    let mut s = String::new();
                    fake_text(&other, &mut s);
                    Value::String(s)
                }
            };
        }
        strategy => {
            let Value::String(s) = v else { return Err(mismatch(v, "a string")) };
            let mut out = String::with_capacity(s.len());
            text_value(strategy, key, s, 0, &mut out)?;
            *s = out;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::fit::{check, declared_text};

    fn bound(field: &Field, paths: &str) -> Result<Strategy, Vec<String>> {
        let rule: JsonRule = toml::from_str(&format!("paths = {{ {paths} }}")).unwrap();
        let schema = arrow_schema::Schema::new(vec![field.clone()]);
        let ctx = BindContext { field, schema: &schema, default_domain: "d" };
        rule.bind(&ctx).map(|b| b.strategy)
    }

    #[test]
    fn in_a_column_with_a_declared_length_only_paths_that_never_lengthen_a_value_are_accepted() {
        let field = declared_text("character varying(200)");
        let keep_length = r#""a.mail" = { action = "mask" }, "b[*].note" = { action = "redact" }, "c" = { action = "mask", format_preserving = true }"#;
        assert_eq!(check(&field, &bound(&field, keep_length).unwrap()), Ok(Some(200)));
        let longer = r#""a.mail" = { action = "fake", generator = "email" }, "b" = { action = "null" }, "c" = { action = "mask" }"#;
        let e = check(&field, &bound(&field, longer).unwrap()).unwrap_err();
        assert!(
            e.starts_with("the documents have no longest length within the column's type character varying(200): a document read may already be 200 characters long"),
            "{e}"
        );
        assert!(
            e.contains(
                "the rules at `a.mail` (fake generator=\"email\" locale=\"en\"), `b` (null) can make a value longer"
            ),
            "{e}"
        );
        // A mask character JSON must escape writes two characters for one.
        let quote = r#""a" = { action = "mask", mask_char = '"' }"#;
        assert!(check(&field, &bound(&field, quote).unwrap()).is_err());
        // Without a declared length nothing is checked, and redact keeps its tags.
        let text = Field::new("c", DataType::Utf8, true);
        assert_eq!(check(&text, &bound(&text, longer).unwrap()), Ok(None));
    }

    #[test]
    fn documents_rewritten_by_paths_that_never_lengthen_are_never_longer_than_they_were_read() {
        let field = declared_text("character varying(400)");
        let Strategy::Json(paths) =
            bound(&field, r#""a" = { action = "mask" }, "b[*]" = { action = "redact" }, "c.d" = { action = "mask", format_preserving = true }"#)
                .unwrap()
        else {
            panic!("json")
        };
        let key = crate::secret::Key::from_text("unit-test-key-0123456789abcdef0123456789").unwrap();
        let keys: Vec<DomainKey> = paths.0.iter().map(|p| key.domain(&p.domain)).collect();
        let documents = [
            r#"{"a": "Zo\u00eb \"x\"", "b": ["ip ::1", "7", "mail a@b.co"], "c": {"d": "Ab-12\n"}}"#,
            r#"{ "a" : "\u0001\u001f\/" , "n": 1.0E+2, "m": -0, "b": [] , "a": "dup" }"#,
            r#"{"z": [1, 2.50, {"x": null}], "a": "q"}"#,
            r#"{"b": ["\u00e9t\u00e9 ::1 0.0.0.0"], "c": {"d": "\ud83d\ude00 9"}}"#,
        ];
        for doc in documents {
            let mut out = String::new();
            apply_json(&paths.0, &keys, doc, &mut out).unwrap();
            assert!(out.chars().count() <= doc.chars().count(), "{doc} -> {out}");
        }
        let mut out = String::new();
        apply_json(&paths.0, &keys, r#"{"b": ["ip ::1", "x@example.com"]}"#, &mut out).unwrap();
        assert_eq!(out, r#"{"b":["ip ::0","[EMAIL]"]}"#);
    }
}
