//! The `fake` rule: its options, and binding them to a column (the generator, locale and
//! options parsed and checked against the column's type).

use arrow_schema::DataType;
use serde::Deserialize;

use super::{FakeSpec, Generator, Locale, OutputKind, max_chars};
use crate::strategy::fake;
use crate::strategy::types::{int_range, is_text, is_uuid_binary};
use crate::strategy::{BindContext, Bound, RuleOptions, Strategy};
use crate::type_kind::TypeKind;

/// `action = "fake"`: a synthetic value from a generator, seeded by the keyed hash of the
/// original value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FakeRule {
    /// Generator name, e.g. `"first_name"`, `"email"`, `"date"` (see docs/rules.md).
    pub generator: String,
    /// Locale of the generated text: `en` (default), `fr_fr`, `de_de`, ...
    #[serde(default)]
    pub locale: Option<String>,
    /// Lower bound for `date` (`"1950-01-01"`), `datetime` (`"2020-01-01T00:00:00Z"`),
    /// `integer` and `decimal` (numbers).
    #[serde(default)]
    pub min: Option<toml::Value>,
    /// Upper bound, inclusive; same forms as `min`.
    #[serde(default)]
    pub max: Option<toml::Value>,
    /// `[min, max]` number of words (`words`) or sentences (`paragraph`).
    #[serde(default)]
    pub count: Option<[usize; 2]>,
    /// Mail domain for `email` and host for `url` (default example.com / example.org).
    #[serde(default)]
    pub email_domain: Option<String>,
    /// Decimal places for `decimal` when the column is text or float (default 2).
    #[serde(default)]
    pub scale: Option<u32>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub unique: bool,
}

impl RuleOptions for FakeRule {
    fn action(&self) -> &'static str {
        "fake"
    }

    fn bind(&self, ctx: &BindContext) -> Result<Bound, Vec<String>> {
        let labels = if Generator::parse(&self.generator) == Some(Generator::Enum) {
            match crate::type_kind::enum_labels(ctx.field) {
                Some(labels) if !labels.is_empty() => Some(labels.into()),
                _ => {
                    return Err(vec![
                        "generator `enum` needs an enum column read from PostgreSQL (its labels come from the catalog)"
                            .into(),
                    ]);
                }
            }
        } else {
            None
        };
        let network = matches!(TypeKind::of(ctx.field), Some(TypeKind::Inet | TypeKind::Cidr));
        if Generator::parse(&self.generator) == Some(Generator::Ip) && !network {
            return Err(vec!["generator `ip` keeps an address's family and prefix: it works on inet and cidr columns; use `ipv4` or `ipv6` on text".into()]);
        }
        let spec = FakeSpec { labels, ..bind(ctx.data_type(), self)? };
        // A generator without a longest value on a `varchar(n)` makes values that fit.
        let fit_within = crate::strategy::fit::declared_limit(ctx.field).filter(|_| max_chars(&spec).is_none());
        let spec = FakeSpec { fit_within, ..spec };
        Ok(Bound { strategy: Strategy::Fake(spec), domain: ctx.domain_of(&self.domain), unique: self.unique })
    }

    /// Inside JSON a generator makes text, numbers or booleans as its kind says; `unique` is
    /// not checked there.
    fn bind_in_json(&self, default_domain: &str) -> Result<(Strategy, String), String> {
        let spec = bind(&DataType::Utf8, self).map_err(|e| e.join("; "))?;
        if matches!(spec.generator, Generator::Enum | Generator::Ip) {
            return Err(format!(
                "generator `{}` works on enum, inet and cidr columns, not inside JSON",
                spec.generator
            ));
        }
        Ok((Strategy::Fake(spec), self.domain.clone().unwrap_or_else(|| default_domain.to_string())))
    }
}

/// The spec of `rule` on a column of type `dt`.
fn bind(dt: &DataType, rule: &FakeRule) -> Result<FakeSpec, Vec<String>> {
    let FakeRule { generator, locale, min, max, count, email_domain, scale, .. } = rule;
    let mut errors = Vec::new();
    let generator = match Generator::parse(generator) {
        Some(g) => Some(g),
        None => {
            errors.push(format!("unknown generator `{generator}`; valid generators: {}", Generator::valid_names()));
            None
        }
    };
    let locale = match locale.as_deref() {
        None => Some(Locale::En),
        Some(l) => Locale::parse(l).or_else(|| {
            errors.push(format!("unknown locale `{l}`; valid locales: {}", Locale::valid_names()));
            None
        }),
    };
    let (Some(generator), Some(locale)) = (generator, locale) else { return Err(errors) };
    let kind = generator.output();
    if !fits(kind, dt) {
        return Err(vec![format!(
            "generator `{}` makes {kind:?} values, which do not fit a {dt} column; choose a generator for this type",
            generator.name()
        )]);
    }
    let bound = |v: &Option<toml::Value>, which: &str| -> Result<Option<f64>, String> {
        let Some(v) = v else { return Ok(None) };
        let parsed = match (kind, v) {
            (OutputKind::Integer | OutputKind::Decimal, toml::Value::Integer(i)) => Some(*i as f64),
            (OutputKind::Integer | OutputKind::Decimal, toml::Value::Float(f)) => Some(*f),
            (OutputKind::Date, toml::Value::String(s)) => parse_date_days(s).map(|d| d as f64),
            (OutputKind::Date, toml::Value::Datetime(d)) => parse_date_days(&d.to_string()).map(|d| d as f64),
            (OutputKind::DateTime, toml::Value::String(s)) => parse_datetime_micros(s).map(|m| m as f64),
            (OutputKind::DateTime, toml::Value::Datetime(d)) => parse_datetime_micros(&d.to_string()).map(|m| m as f64),
            _ => None,
        };
        parsed.map(Some).ok_or_else(|| {
            format!(
                "`{which}` does not fit generator `{}`: use a number for integer/decimal, \"YYYY-MM-DD\" for date, \"YYYY-MM-DDTHH:MM:SSZ\" for datetime",
                generator.name()
            )
        })
    };
    let (mut min, mut max) = match (bound(min, "min"), bound(max, "max")) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            errors.extend(a.err());
            errors.extend(b.err());
            return Err(errors);
        }
    };
    if kind == OutputKind::Integer
        && let Some((lo, hi)) = int_range(dt)
    {
        for (v, which) in [(min, "min"), (max, "max")] {
            if v.is_some_and(|v| v < lo as f64 || v > hi as f64) {
                errors.push(format!("`{which}` is outside the range of {dt} ({lo} to {hi})"));
            }
        }
        // Default range 0..=1_000_000 is narrowed to what the type holds.
        if min.is_none() && max.is_none() && hi < 1_000_000 {
            min = Some(0.0);
            max = Some(hi as f64);
        }
    }
    let spec = FakeSpec {
        generator,
        locale,
        min,
        max,
        count: count.map(|[a, b]| (a, b)),
        email_domain: email_domain.clone(),
        scale: *scale,
        labels: None,
        fit_within: None,
    };
    if let Err(e) = fake::validate(&spec) {
        errors.push(e);
    }
    if errors.is_empty() { Ok(spec) } else { Err(errors) }
}

/// Whether a generator's output kind can be written into a column of type `dt`.
pub(crate) fn fits(kind: OutputKind, dt: &DataType) -> bool {
    if is_text(dt) {
        return true;
    }
    match kind {
        OutputKind::Text => false,
        OutputKind::Date => matches!(dt, DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)),
        OutputKind::DateTime => matches!(dt, DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)),
        OutputKind::Integer => {
            int_range(dt).is_some() || matches!(dt, DataType::Float32 | DataType::Float64 | DataType::Decimal128(..))
        }
        OutputKind::Decimal => matches!(dt, DataType::Float32 | DataType::Float64 | DataType::Decimal128(..)),
        OutputKind::Boolean => matches!(dt, DataType::Boolean),
        OutputKind::Uuid => is_uuid_binary(dt),
    }
}

fn parse_date_days(s: &str) -> Option<i32> {
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some((d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days() as i32)
}

fn parse_datetime_micros(s: &str) -> Option<i64> {
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_micros());
    }
    parse_date_days(s).map(|d| d as i64 * 86_400_000_000)
}
