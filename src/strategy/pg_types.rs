//! Which strategies can write valid values of which PostgreSQL types: the one table the plan
//! checks every rule against before binding it ([`check`]), `check --explain` and docs/rules.md
//! print ([`applicable`]). Columns with a native Arrow type are judged by their Arrow type in
//! each strategy's own binding; this table covers the types that travel as PostgreSQL's text
//! form (see [`crate::type_kind`]).
//!
//! | kind                              | what can write it (besides keep, null, constant)       |
//! |-----------------------------------|--------------------------------------------------------|
//! | string (text, varchar, char, citext, name) | every strategy                               |
//! | json, jsonb                       | `json`                                                 |
//! | inet, cidr                        | `fake` `ipv4`/`ipv6`, `fake` `ip` (family and prefix kept) |
//! | macaddr, macaddr8                 | `fake` `mac_address`                                   |
//! | numeric (as text), money          | `fake` `integer`/`decimal`                             |
//! | enum                              | `fake` `enum` (a keyed choice among its labels)        |
//! | interval                          | `noise` with a `duration` (the time part moves)        |
//! | arrays of strings                 | `mask`, `hash`, `fake`, `redact` on each element       |
//! | everything else                   | nothing                                                |
//!
//! A domain is judged by its base type; a domain with CHECK constraints takes only keep,
//! null and constant (a transformed value could break its constraint), and a NOT NULL
//! domain takes no `null`. A `constant` is checked here where its text can be judged without
//! a database (JSON parses, an enum label exists, numbers, network and MAC addresses, bit
//! strings); the source database judges the others when there is one (`cli::constants`).

use std::collections::HashMap;

use arrow_schema::{DataType, Field};

use super::elements::Elements;
use super::{BindContext, Bound, ColumnRule, Strategy, fit};
use crate::schema::PG_TYPE;
use crate::type_kind::{PG_KIND, TypeKind, domain_check, domain_not_null, element_kind, enum_labels};

/// `Err` (what can be used instead) when `rule` cannot write valid values of `field`'s type.
pub fn check(rule: &ColumnRule, field: &Field) -> Result<(), String> {
    let Some(kind) = TypeKind::of(field) else { return Ok(()) };
    let action = rule.action_name();
    let refusal = match rule {
        ColumnRule::Keep | ColumnRule::Constant(_) => None,
        ColumnRule::Null if domain_not_null(field) => Some("its domain is NOT NULL".to_string()),
        ColumnRule::Null => None,
        _ if domain_check(field) => {
            Some("its domain has CHECK constraints a transformed value could break".to_string())
        }
        // Strings take every strategy; each one's own binding checks the rest.
        _ if writes_text(kind) => None,
        ColumnRule::Mask(_) | ColumnRule::Hash(_) | ColumnRule::Fake(_) | ColumnRule::Redact(_)
            if strings_array(field) =>
        {
            None
        }
        ColumnRule::Fake(f) if fake_writes(&f.generator, kind) => None,
        ColumnRule::Json(_) if matches!(kind, TypeKind::Json | TypeKind::Jsonb) => None,
        ColumnRule::Noise(_) if kind == TypeKind::Interval => None,
        // `noise` refuses numbers held as text itself, saying why (beyond Arrow's decimals).
        ColumnRule::Noise(_) if kind == TypeKind::Numeric => None,
        ColumnRule::Fake(f) => Some(format!("generator `{}` does not make {} values", f.generator, kind.describe())),
        _ => Some(format!("it is {}, not free text", kind.describe())),
    };
    let Some(why) = refusal else { return Ok(()) };
    Err(format!(
        "`{action}` cannot write valid values of type {} ({why}); for this type use: {}",
        type_name(field),
        applicable(field).join(", ")
    ))
}

/// Binds `rule` to the column of `ctx`: refused when it cannot write valid values of the
/// column's type ([`check`]); on an array of strings, `mask`, `hash`, `fake` and `redact`
/// are bound as on a column of the element type and applied to each element
/// ([`super::elements`]).
pub fn bind(rule: &ColumnRule, ctx: &BindContext) -> Result<Bound, Vec<String>> {
    check(rule, ctx.field).map_err(|m| vec![m])?;
    let element_rule =
        matches!(rule, ColumnRule::Mask(_) | ColumnRule::Hash(_) | ColumnRule::Fake(_) | ColumnRule::Redact(_));
    if !(element_rule && strings_array(ctx.field)) {
        return rule.options().bind(ctx);
    }
    let array_type = base_name(ctx.field);
    let element_type = array_type.strip_suffix("[]").unwrap_or(&array_type);
    let metadata = HashMap::from([
        (PG_TYPE.to_string(), element_type.to_string()),
        (PG_KIND.to_string(), TypeKind::String.name().to_string()),
    ]);
    let element = Field::new(ctx.field.name(), DataType::Utf8, true).with_metadata(metadata);
    let element_ctx = BindContext { field: &element, schema: ctx.schema, default_domain: ctx.default_domain };
    let bound = rule.options().bind(&element_ctx)?;
    if bound.unique {
        return Err(vec!["`unique` does not apply to each element of an array; remove it".into()]);
    }
    match fit::check(&element, &bound.strategy) {
        Ok(None) => {}
        Ok(Some(limit)) => {
            return Err(vec![format!(
                "`{}` on each element of {array_type} cannot guarantee elements of at most {limit} characters; \
                 choose a rule whose values provably fit (`mask`, `hash` with a `length`, a generator with a longest value)",
                rule.action_name()
            )]);
        }
        Err(m) => return Err(vec![m]),
    }
    Ok(Bound { strategy: Strategy::Elements(Elements(Box::new(bound.strategy))), ..bound })
}

/// An array whose elements are strings (not a domain with CHECK constraints).
fn strings_array(field: &Field) -> bool {
    TypeKind::of(field) == Some(TypeKind::Array)
        && element_kind(field) == Some(TypeKind::String)
        && !domain_check(field)
}

/// The column's base type (a domain's, with its typmod), for what depends on the typmod.
fn base_name(field: &Field) -> String {
    field.metadata().get(crate::type_kind::PG_BASE_TYPE).cloned().unwrap_or_else(|| type_name(field))
}

/// The column's PostgreSQL type as written in messages.
fn type_name(field: &Field) -> String {
    field.metadata().get(PG_TYPE).cloned().unwrap_or_else(|| field.data_type().to_string())
}

fn writes_text(kind: TypeKind) -> bool {
    matches!(kind, TypeKind::String | TypeKind::Native)
}

/// Whether `fake` with `generator` writes valid values of `kind` (the generator's own
/// binding then checks the rest).
fn fake_writes(generator: &str, kind: TypeKind) -> bool {
    match kind {
        TypeKind::String | TypeKind::Native => true,
        TypeKind::Inet | TypeKind::Cidr => matches!(generator, "ipv4" | "ipv6" | "ip"),
        TypeKind::Macaddr | TypeKind::Macaddr8 => generator == "mac_address",
        TypeKind::Numeric | TypeKind::Money => matches!(generator, "integer" | "decimal"),
        TypeKind::Enum => generator == "enum",
        _ => false,
    }
}

/// The actions (with their generators where it matters) that can write valid values of a
/// column like `field`, for messages and `check --explain`. Every column takes `keep`.
pub fn applicable(field: &Field) -> Vec<String> {
    let mut out = vec!["keep".to_string()];
    if field.is_nullable() && !domain_not_null(field) {
        out.push("null".into());
    }
    let Some(kind) = TypeKind::of(field) else {
        out.push("constant".into());
        return out;
    };
    out.push(if kind == TypeKind::Enum { "constant (one of its labels)".into() } else { "constant".into() });
    if domain_check(field) {
        return out;
    }
    out.extend(kind_strategies(kind).iter().map(|s| s.to_string()));
    if strings_array(field) {
        out.push("mask, hash, fake, redact (on each element)".into());
    }
    out
}

/// The transforming strategies for a kind (besides keep, null and constant).
pub fn kind_strategies(kind: TypeKind) -> &'static [&'static str] {
    match kind {
        TypeKind::String | TypeKind::Native => &["mask", "hash", "fake", "generalise", "redact", "template", "json"],
        TypeKind::Json | TypeKind::Jsonb => &["json"],
        TypeKind::Inet | TypeKind::Cidr => &["fake (generator = \"ip\", \"ipv4\", \"ipv6\")"],
        TypeKind::Macaddr | TypeKind::Macaddr8 => &["fake (generator = \"mac_address\")"],
        TypeKind::Numeric | TypeKind::Money => &["fake (generator = \"integer\", \"decimal\")"],
        TypeKind::Enum => &["fake (generator = \"enum\")"],
        TypeKind::Interval => &["noise (duration = ...)"],
        _ => &[],
    }
}

/// `Err` when the text of a constant is certainly not a valid value of `field`'s type (see
/// the module docs for what is judged here). Never quotes the value.
pub fn constant_fits(text: &str, field: &Field) -> Result<(), String> {
    let Some(kind) = TypeKind::of(field) else { return Ok(()) };
    let name = type_name(field);
    let valid = match kind {
        TypeKind::Json | TypeKind::Jsonb => serde_json::from_str::<serde_json::Value>(text).is_ok(),
        TypeKind::Enum => match enum_labels(field) {
            Some(labels) => {
                if labels.iter().any(|l| l == text) {
                    return Ok(());
                }
                return Err(format!(
                    "the constant is not a label of the enum {name}; its labels are: {}",
                    labels.join(", ")
                ));
            }
            None => true,
        },
        TypeKind::Numeric | TypeKind::Money => is_number(text.trim()),
        TypeKind::Inet => network(text, false),
        TypeKind::Cidr => network(text, true),
        TypeKind::Macaddr => hex_digits(text) == Some(12),
        TypeKind::Macaddr8 => matches!(hex_digits(text), Some(12 | 16)),
        TypeKind::Bit => bit_string_fits(text, &base_name(field)),
        _ => true,
    };
    if valid { Ok(()) } else { Err(format!("the constant is not a valid value of type {name}")) }
}

/// A constant PostgreSQL accepts for a column like `field` whatever its values, for `scan`'s
/// safe rule on a NOT NULL column: `None` for string and native columns (other rules fit
/// them), for types with no such value known here, and for domains with CHECK constraints.
pub fn placeholder(field: &Field) -> Option<String> {
    let kind = TypeKind::of(field)?;
    if domain_check(field) {
        return None;
    }
    let name = base_name(field);
    let text = match kind {
        TypeKind::String | TypeKind::Native | TypeKind::Other => return None,
        TypeKind::Enum => return enum_labels(field)?.into_iter().next(),
        TypeKind::Json | TypeKind::Jsonb => "{}",
        TypeKind::Xml | TypeKind::Tsvector | TypeKind::Tsquery => "",
        TypeKind::Inet => "192.0.2.1",
        TypeKind::Cidr => "192.0.2.0/24",
        TypeKind::Macaddr => "02:00:00:00:00:00",
        TypeKind::Macaddr8 => "02:00:00:ff:fe:00:00:00",
        TypeKind::Interval => "00:00:00",
        TypeKind::Timetz => "00:00:00+00",
        TypeKind::Money | TypeKind::Numeric => "0",
        TypeKind::Bit if name.starts_with("bit varying") => "",
        TypeKind::Bit => {
            let n = name.split_once('(').and_then(|(_, r)| r.trim_end_matches(')').parse::<usize>().ok());
            return Some("0".repeat(n.unwrap_or(1)));
        }
        TypeKind::Array | TypeKind::Multirange => "{}",
        TypeKind::Range => "empty",
        TypeKind::Composite => "()",
        TypeKind::Geometric => match name.as_str() {
            "point" => "(0,0)",
            "line" => "{1,-1,0}",
            "lseg" => "[(0,0),(1,1)]",
            "box" => "(1,1),(0,0)",
            "path" => "[(0,0),(1,1)]",
            "polygon" => "((0,0),(1,1),(1,0))",
            "circle" => "<(0,0),1>",
            _ => return None,
        },
    };
    Some(text.to_string())
}

fn is_number(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    !(whole.is_empty() && fraction.is_empty()) && digits(whole) && digits(fraction) && exponent_ok
}

/// An IPv4 or IPv6 address with an optional prefix length; for `cidr`, no bits set right of
/// the prefix.
fn network(text: &str, cidr: bool) -> bool {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let Ok(ip) = addr.parse::<std::net::IpAddr>() else { return false };
    let width: u32 = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix.map(str::parse::<u32>) {
        None => width,
        Some(Ok(p)) if p <= width => p,
        Some(_) => return false,
    };
    if !cidr {
        return true;
    }
    let bits: u128 = match ip {
        std::net::IpAddr::V4(v4) => u128::from(u32::from(v4)),
        std::net::IpAddr::V6(v6) => u128::from(v6),
    };
    let host = width - prefix;
    host == 0 || bits & ((1u128 << host) - 1) == 0
}

/// The number of hex digits of a MAC address written with `:`, `-` or `.` separators.
fn hex_digits(text: &str) -> Option<usize> {
    let digits: Vec<char> = text.chars().filter(|c| !matches!(c, ':' | '-' | '.')).collect();
    digits.iter().all(char::is_ascii_hexdigit).then_some(digits.len())
}

/// `bit(n)` takes exactly n bits (`bit` alone one), `bit varying(n)` at most n.
fn bit_string_fits(text: &str, pg_type: &str) -> bool {
    if !text.chars().all(|c| c == '0' || c == '1') {
        return false;
    }
    let length = pg_type.split_once('(').and_then(|(_, rest)| rest.trim_end_matches(')').parse::<usize>().ok());
    if pg_type.starts_with("bit varying") {
        length.is_none_or(|n| text.len() <= n)
    } else {
        text.len() == length.unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::type_kind::{PG_DOMAIN_CHECK, PG_ENUM_LABELS, PG_KIND};
    use arrow_schema::DataType;
    use std::collections::HashMap;

    fn field(pg_type: &str, kind: &str, extra: &[(&str, &str)], nullable: bool) -> Field {
        let mut m =
            HashMap::from([(PG_TYPE.to_string(), pg_type.to_string()), (PG_KIND.to_string(), kind.to_string())]);
        m.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Field::new("c", DataType::Utf8, nullable).with_metadata(m)
    }

    fn rule(text: &str) -> ColumnRule {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn mask_on_tsvector_is_refused_naming_type_and_choices() {
        let f = field("tsvector", "tsvector", &[], false);
        let e = check(&rule("action = \"mask\""), &f).unwrap_err();
        assert!(e.contains("`mask` cannot write valid values of type tsvector"), "{e}");
        assert!(e.ends_with("for this type use: keep, constant"), "{e}");
        assert!(check(&rule("action = \"keep\""), &f).is_ok());
        let text = field("text", "string", &[], true);
        assert!(check(&rule("action = \"mask\""), &text).is_ok());
    }

    #[test]
    fn generators_and_domains_are_judged_by_the_base_type() {
        let inet = field("inet", "inet", &[], true);
        assert!(check(&rule("action = \"fake\"\ngenerator = \"ipv4\""), &inet).is_ok());
        assert!(check(&rule("action = \"fake\"\ngenerator = \"email\""), &inet).is_err());
        let checked = field("app.percent", "string", &[(PG_DOMAIN_CHECK, "true")], true);
        let e = check(&rule("action = \"mask\""), &checked).unwrap_err();
        assert!(e.contains("CHECK") && e.ends_with("use: keep, null, constant"), "{e}");
    }

    #[test]
    fn arrays_of_strings_take_element_rules_checked_against_the_element_type() {
        use crate::type_kind::PG_ELEMENT_KIND;
        let f = field("character varying(5)[]", "array", &[(PG_ELEMENT_KIND, "string")], true);
        let schema = arrow_schema::Schema::new(vec![f.clone()]);
        let ctx = BindContext { field: &f, schema: &schema, default_domain: "public.t.c" };
        let bound = bind(&rule("action = \"mask\""), &ctx).unwrap();
        assert!(matches!(bound.strategy, Strategy::Elements(_)), "{:?}", bound.strategy);
        let Err(e) = bind(&rule("action = \"fake\"\ngenerator = \"email\""), &ctx) else { panic!("accepted") };
        assert!(e[0].contains("(measured)") && e[0].contains("at most 5"), "{e:?}");
        assert!(bind(&rule("action = \"template\"\ntemplate = \"x\""), &ctx).is_err());
        let ints = field("integer[]", "array", &[(PG_ELEMENT_KIND, "native")], true);
        assert!(check(&rule("action = \"mask\""), &ints).is_err());
    }

    #[test]
    fn constants_are_checked_where_they_can_be() {
        let mood = field("app.mood", "enum", &[(PG_ENUM_LABELS, "[\"happy\",\"sad\"]")], true);
        assert!(constant_fits("sad", &mood).is_ok());
        let e = constant_fits("secret", &mood).unwrap_err();
        assert!(!e.contains("secret") && e.contains("happy, sad"), "{e}");
        assert!(constant_fits("{\"a\":1}", &field("jsonb", "jsonb", &[], true)).is_ok());
        assert!(constant_fits("{a", &field("jsonb", "jsonb", &[], true)).is_err());
        assert!(constant_fits("10.0.0.0/8", &field("cidr", "cidr", &[], true)).is_ok());
        assert!(constant_fits("10.0.0.1/8", &field("cidr", "cidr", &[], true)).is_err());
        assert!(constant_fits("10.0.0.1/8", &field("inet", "inet", &[], true)).is_ok());
        assert!(constant_fits("08:00:2b:01:02:03", &field("macaddr", "macaddr", &[], true)).is_ok());
        assert!(constant_fits("0101", &field("bit(4)", "bit", &[], true)).is_ok());
        assert!(constant_fits("01", &field("bit(4)", "bit", &[], true)).is_err());
        assert!(constant_fits("-1.5e3", &field("numeric", "numeric", &[], true)).is_ok());
        assert!(constant_fits("abc", &field("money", "money", &[], true)).is_err());
    }
}
