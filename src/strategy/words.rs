//! A bound rule in its rules file's own words, for `check --explain` and `Debug`: the action,
//! then each option as `key=value` with the value written as TOML writes it (`noise
//! duration="180d"`, `mask keep_first=3 keep_last=0 mask_char="*"`). Options the rule left
//! out appear with the value the binding chose, so the line says what will run.

use std::fmt::Write;

/// Builds one rule's description: [`Words::new`] with the action, then [`Words::opt`] per
/// option.
pub struct Words(String);

impl Words {
    pub fn new(action: &str) -> Words {
        Words(action.to_string())
    }

    /// Appends `key=value`, the value in TOML's notation.
    pub fn opt(mut self, key: &str, value: impl Into<toml::Value>) -> Words {
        let _ = write!(self.0, " {key}={}", value.into());
        self
    }

    /// Appends `key=value` when there is a value.
    pub fn opt_some<V: Into<toml::Value>>(self, key: &str, value: Option<V>) -> Words {
        match value {
            Some(v) => self.opt(key, v),
            None => self,
        }
    }

    pub fn finish(self) -> String {
        self.0
    }
}

/// A number as a rules file would write it: `25` for a whole number (TOML reads an integer
/// into the option's float), `0.1` otherwise.
pub fn number(x: f64) -> toml::Value {
    if x.fract() == 0.0 && x.abs() < 9e15 { toml::Value::Integer(x as i64) } else { toml::Value::Float(x) }
}

/// Microseconds as a `duration` option writes them: `"180d"`, `"1d12h"`, `"90s"` (largest
/// units first; weeks are written as days).
pub fn duration(micros: i64) -> String {
    const UNITS: [(&str, i64); 6] =
        [("d", 86_400_000_000), ("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000), ("ms", 1_000), ("us", 1)];
    let mut left = micros;
    let mut out = String::new();
    for (unit, per) in UNITS {
        if left >= per {
            let _ = write!(out, "{}{unit}", left / per);
            left %= per;
        }
    }
    if out.is_empty() { "0s".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_written_as_toml_writes_them() {
        let w = Words::new("mask").opt("keep_first", 3).opt("mask_char", "*").opt("format_preserving", false);
        assert_eq!(w.finish(), "mask keep_first=3 mask_char=\"*\" format_preserving=false");
        // Any string reads back as itself, whichever TOML quoting suits it.
        for s in ["a\"b\\", "it's", "plain", "{a|upper}"] {
            let written = Words::new("x").opt("p", s).finish();
            let back: toml::Table = toml::from_str(&written.replacen("x p=", "p = ", 1)).unwrap();
            assert_eq!(back["p"].as_str(), Some(s), "{written}");
        }
        assert_eq!(Words::new("x").opt_some::<i64>("n", None).finish(), "x");
        assert_eq!(number(25.0).to_string(), "25");
        assert_eq!(number(0.1).to_string(), "0.1");
        assert_eq!(number(-2.5).to_string(), "-2.5");
    }

    #[test]
    fn durations_read_back_to_the_same_microseconds() {
        use crate::strategy::noise::parse_duration_micros;
        for (micros, text) in [
            (180 * 86_400_000_000, "180d"),
            (36 * 3_600_000_000, "1d12h"),
            (90_000_000, "1m30s"),
            (1, "1us"),
            (1_500, "1ms500us"),
        ] {
            assert_eq!(duration(micros), text);
            assert_eq!(parse_duration_micros(text).unwrap(), micros);
        }
    }

    /// Every action, bound to a column it fits, described as its rules file writes it: no
    /// Rust `Debug` forms, no units the rules do not use.
    #[test]
    fn every_strategy_is_explained_in_its_rules_words() {
        use std::collections::{BTreeSet, HashMap};

        use arrow_schema::{DataType, Field, Schema, TimeUnit};

        use crate::schema::PG_TYPE;
        use crate::strategy::{ACTIONS, BindContext, ColumnRule, pg_types};
        use crate::type_kind::{PG_ELEMENT_KIND, PG_KIND};

        let array = Field::new("c", DataType::Utf8, true).with_metadata(HashMap::from([
            (PG_TYPE.to_string(), "text[]".to_string()),
            (PG_KIND.to_string(), "array".to_string()),
            (PG_ELEMENT_KIND.to_string(), "string".to_string()),
        ]));
        let micros = DataType::Timestamp(TimeUnit::Microsecond, None);
        let cases: Vec<(&str, DataType, &str)> = vec![
            ("action = \"keep\"", DataType::Int32, "keep"),
            ("action = \"null\"", DataType::Int32, "null"),
            ("action = \"constant\"\nvalue = \"n/a\"", DataType::Utf8, "constant value=\"n/a\""),
            ("action = \"constant\"\nvalue = 0", DataType::Int64, "constant value=0"),
            ("action = \"mask\"\nkeep_last = 4", DataType::Utf8, "mask keep_first=0 keep_last=4 mask_char=\"*\""),
            (
                "action = \"mask\"\nformat_preserving = true\nkeep_first = 3",
                DataType::Utf8,
                "mask keep_first=3 keep_last=0 format_preserving=true",
            ),
            ("action = \"hash\"", DataType::Utf8, "hash format=\"hex\" length=32"),
            ("action = \"hash\"", DataType::Int32, "hash format=\"preserve\" (a keyed permutation of 32-bit integers)"),
            (
                "action = \"hash\"",
                DataType::FixedSizeBinary(16),
                "hash format=\"preserve\" (a keyed permutation of uuids)",
            ),
            (
                "action = \"fake\"\ngenerator = \"city\"\nlocale = \"fr-FR\"",
                DataType::Utf8,
                "fake generator=\"city\" locale=\"fr_fr\"",
            ),
            (
                "action = \"fake\"\ngenerator = \"date\"\nmin = \"1950-01-01\"\nmax = \"2005-12-31\"",
                DataType::Date32,
                "fake generator=\"date\" locale=\"en\" min=\"1950-01-01\" max=\"2005-12-31\"",
            ),
            (
                "action = \"fake\"\ngenerator = \"datetime\"\nmin = \"2020-01-01T00:00:00Z\"",
                micros.clone(),
                "fake generator=\"datetime\" locale=\"en\" min=\"2020-01-01T00:00:00Z\"",
            ),
            (
                "action = \"fake\"\ngenerator = \"words\"\ncount = [2, 4]",
                DataType::Utf8,
                "fake generator=\"words\" locale=\"en\" count=[2, 4]",
            ),
            (
                "action = \"fake\"\ngenerator = \"decimal\"\nmin = 1\nmax = 9.5\nscale = 1",
                DataType::Float64,
                "fake generator=\"decimal\" locale=\"en\" min=1 max=9.5 scale=1",
            ),
            ("action = \"noise\"\nabsolute = 25", DataType::Float64, "noise absolute=25"),
            ("action = \"noise\"\nrelative = 0.1", DataType::Int64, "noise relative=0.1"),
            ("action = \"noise\"\nduration = \"180d\"", DataType::Date32, "noise duration=\"180d\""),
            ("action = \"noise\"\nduration = \"36h\"", micros, "noise duration=\"1d12h\""),
            ("action = \"generalise\"\nto = \"year\"", DataType::Date32, "generalise to=\"year\""),
            ("action = \"generalise\"\nband = 10", DataType::Int32, "generalise band=10"),
            ("action = \"generalise\"\nprefix = 3", DataType::Utf8, "generalise prefix=3"),
            ("action = \"template\"\ntemplate = \"{d|upper}-x\"", DataType::Utf8, "template template=\"{d|upper}-x\""),
            (
                "action = \"redact\"\ndetect = [\"email\", \"ip\"]\npatterns = ['\\bCUST-\\d{6}\\b']",
                DataType::Utf8,
                r#"redact detect=["email", "ip"] patterns=['\bCUST-\d{6}\b'] replacement="tag""#,
            ),
            (
                "action = \"redact\"\nreplacement = \"mask\"",
                DataType::Utf8,
                "redact detect=[\"email\", \"phone\", \"iban\", \"card\", \"ip\", \"name\"] replacement=\"mask\"",
            ),
            (
                "action = \"json\"\npaths = { \"contact.email\" = { action = \"fake\", generator = \"email\" }, \"a[*].n\" = { action = \"noise\", absolute = 2 } }",
                DataType::Utf8,
                "json paths={ \"a[*].n\" = noise absolute=2, \"contact.email\" = fake generator=\"email\" locale=\"en\" }",
            ),
        ];
        let mut seen = BTreeSet::new();
        for (rule, data_type, expected) in cases {
            let rule: ColumnRule = toml::from_str(rule).unwrap();
            seen.insert(rule.action_name());
            let field = Field::new("c", data_type, true);
            let schema = Schema::new(vec![field.clone(), Field::new("d", DataType::Utf8, true)]);
            let ctx = BindContext { field: &field, schema: &schema, default_domain: "t.c" };
            let bound = pg_types::bind(&rule, &ctx).unwrap_or_else(|e| panic!("{rule:?}: {e:?}"));
            assert_eq!(bound.strategy.describe(), expected);
            assert_eq!(format!("{:?}", bound.strategy), expected, "Debug is the same words");
        }
        assert_eq!(seen, ACTIONS.iter().copied().collect(), "a case for every action");

        // An element rule on an array of strings says so after the rule's own words.
        let rule: ColumnRule = toml::from_str("action = \"mask\"\nkeep_first = 1").unwrap();
        let schema = Schema::new(vec![array.clone()]);
        let ctx = BindContext { field: &array, schema: &schema, default_domain: "t.c" };
        let bound = pg_types::bind(&rule, &ctx).unwrap();
        assert_eq!(bound.strategy.describe(), "mask keep_first=1 keep_last=0 mask_char=\"*\" (on each element)");
    }
}
