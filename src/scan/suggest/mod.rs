//! From what a column's name and sampled values say to one suggested rule and the reason.
//!
//! The order of judgement, for every column:
//!
//! 1. **Type first.** Booleans, numbers, dates and binary data can only hold so much: a
//!    number is kept unless its name says it is personal (a phone, a postcode, a salary) or
//!    its values are card numbers; a date is kept unless its name says birth or its values
//!    spread like birth dates; binary data (pictures, documents) is never kept.
//! 2. **Validated values beat names.** Text whose sampled values are mostly emails, IBANs
//!    or card numbers (checksums pass) is treated as such whatever its name; phones, IP
//!    addresses, postcodes, person names and birth-like dates count when the name does not
//!    already say what the column is.
//! 3. **Names.** The dictionary ([`super::dictionary`]) says what a column holds. Some words
//!    depend on the table: a `name` or `title` is a person's (or their job title) in a
//!    table about people, a thing's elsewhere; a city is personal next to other personal
//!    data (with a postcode and a birth date it narrows a person down), and is kept alone.
//! 4. **Keep only what was judged.** Keys (primary and foreign, or `*_id` columns), product
//!    and reference data, coarse geography (country, region), amounts, enumerations (few
//!    distinct values, each repeated) are kept when no personal data was found in their
//!    values. Anything else gets a transforming rule and the `# review` mark.
//!
//! A table is **about people** when its name says so (`customers`, `Mitarbeiter`; the head of
//! a compound: `customer_demographics` is about demographics) or when it holds a column that
//! identifies a person by its name or the shape of its values (names, emails, phones,
//! addresses, birth dates, national or bank numbers). Person names found only in the values
//! of a column whose name does not say so (`director`, `artist`) are transformed, but do not
//! make the table about people: such a row refers to people and is about something else.

use std::collections::BTreeMap;

use arrow_schema::{DataType, Field};

use super::dictionary::{Concept, Tokens};
use super::evidence::{Evidence, JsonEvidence, Kind, TextEvidence};
pub use crate::rules::suggestion::{Action, Rule, Suggestion};

mod text;

use crate::strategy::fake::{self, FakeSpec, Generator, Locale};
use text::text;

/// What the column is in its table's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRole {
    PrimaryKey,
    /// References `table.column`; `declared` is false when inferred from the name.
    ForeignKey {
        table: String,
        column: String,
        declared: bool,
    },
}

/// Everything known about one column.
#[derive(Debug, Clone)]
pub struct Column {
    pub field: Field,
    pub tokens: Tokens,
    pub concepts: Vec<Concept>,
    pub evidence: Evidence,
    pub json: Option<JsonEvidence>,
    pub key: Option<KeyRole>,
    /// `n` of a declared `varchar(n)` / `char(n)`.
    pub limit: Option<usize>,
    /// PostgreSQL's name of the type, when the source knows it.
    pub pg_type: Option<String>,
}

/// What the table's name and other columns say.
#[derive(Debug, Clone, Default)]
pub struct TableContext {
    /// Why the table is about people; `None` when it is not.
    pub about_people: Option<String>,
    /// The table's name names reference data (products, categories, regions, states, ...).
    pub reference: bool,
    /// Columns that will get fake first and last names (for email templates).
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The single-column primary key, if any.
    pub single_pk: Option<String>,
    /// Some column holds person names (by its name or its values).
    pub names_a_person: bool,
    pub sampled: usize,
}

/// Concepts that identify a person on their own; a table holding one is about people.
const IDENTIFYING: &[Concept] = &[
    Concept::NationalId,
    Concept::Card,
    Concept::Iban,
    Concept::Email,
    Concept::Phone,
    Concept::BirthDate,
    Concept::Username,
    Concept::FirstName,
    Concept::LastName,
    Concept::FullName,
    Concept::Address,
];

/// Concepts naming data that is not about a person by itself.
const NEUTRAL: &[Concept] =
    &[Concept::Country, Concept::Region, Concept::Product, Concept::Measure, Concept::Status, Concept::Id];

/// Concepts that narrow a person down without naming them: in a table about people, such a
/// column kept or coarsened (`noise`, `generalise`) is suggested as a quasi-identifier.
const QUASI_IDENTIFYING: &[Concept] =
    &[Concept::BirthDate, Concept::Postcode, Concept::City, Concept::Gender, Concept::JobTitle, Concept::Age];

/// The columns of a table about people that narrow a person down (by name or detected kind:
/// birth date, postcode, city, gender, job title, age) and keep something of their value
/// (kept, `noise`, `generalise`): the table's suggested `quasi_identifiers`. A column that
/// gets a fake, hash or mask no longer narrows anyone down; a table not about people has none.
pub fn quasi_identifiers(columns: &[Column], ctx: &TableContext, suggested: &[(String, Suggestion)]) -> Vec<String> {
    if ctx.about_people.is_none() {
        return Vec::new();
    }
    columns
        .iter()
        .zip(suggested)
        .filter(|(c, (_, s))| {
            let narrows = c.concept().is_some_and(|k| QUASI_IDENTIFYING.contains(&k) || k == Concept::Title);
            let keeps_something = match &s.action {
                Action::Keep => c.key.is_none(),
                Action::Rule(r) => matches!(r.action, "noise" | "generalise"),
            };
            narrows && keeps_something
        })
        .map(|(_, (name, _))| name.clone())
        .collect()
}

impl Column {
    /// What the column most likely is: a validated value kind first, then the name.
    pub fn concept(&self) -> Option<Concept> {
        let named = self.concepts.first().copied();
        let Evidence::Text(t) = &self.evidence else { return named };
        // Checksums and unmistakable shapes win over any name.
        for (kind, concept) in [(Kind::Email, Concept::Email), (Kind::Iban, Concept::Iban), (Kind::Card, Concept::Card)]
        {
            if t.mostly(kind, 0.6) {
                return Some(concept);
            }
        }
        let weakly_named = named.is_none_or(|c| NEUTRAL.contains(&c) || matches!(c, Concept::Name | Concept::Title));
        if (weakly_named && self.key.is_none()) || named.is_none() {
            let by_value = [
                (Kind::Ip, Concept::Ip, 0.6),
                (Kind::Phone, Concept::Phone, 0.6),
                (Kind::Postcode, Concept::Postcode, 0.6),
                (Kind::BirthLikeDate, Concept::BirthDate, 0.8),
            ];
            for (kind, concept, share) in by_value {
                if t.mostly(kind, share) {
                    return Some(concept);
                }
            }
            if named.is_none() && t.values() > 0 {
                let names = t.whole(Kind::PersonName) + t.whole(Kind::FirstName);
                if names as f64 >= 0.5 * t.values() as f64 {
                    return Some(if t.whole(Kind::PersonName) >= t.whole(Kind::FirstName) {
                        Concept::FullName
                    } else {
                        Concept::FirstName
                    });
                }
            }
        }
        named
    }

    /// Whether this column identifies a person (makes its table about people).
    pub fn identifies(&self) -> bool {
        matches!(self.field.data_type(), DataType::Utf8 | DataType::LargeUtf8)
            && self.concept().is_some_and(|c| IDENTIFYING.contains(&c))
            || matches!(self.field.data_type(), DataType::Date32 | DataType::Date64 | DataType::Timestamp(..))
                && self.concept() == Some(Concept::BirthDate)
    }

    /// Whether this column says the table's rows are people: it identifies a person, and not
    /// only because its values look like person names. A column of names under a role's name
    /// (`director`, `artist`) names people a row refers to, while the row is a film or an album.
    pub fn identifies_the_row(&self) -> bool {
        let names_by_value =
            self.concepts.is_empty() && matches!(self.concept(), Some(Concept::FullName | Concept::FirstName));
        self.identifies() && !names_by_value
    }

    fn non_null(&self) -> usize {
        self.evidence.non_null()
    }

    fn key_why(&self) -> Option<String> {
        match &self.key {
            Some(KeyRole::PrimaryKey) => Some("primary key: identifies a row, not a person by itself".into()),
            Some(KeyRole::ForeignKey { table, column, declared: true }) => {
                Some(format!("foreign key to {table}.{column}: kept like the key it references"))
            }
            Some(KeyRole::ForeignKey { table, column, declared: false }) => {
                Some(format!("references {table}.{column} (inferred from the name): kept like that key"))
            }
            None if self.concepts.contains(&Concept::Id) => Some("an identifier (by its name)".into()),
            None => None,
        }
    }

    /// `no personal data found in N sampled values`, or that none were sampled.
    fn clean(&self) -> String {
        match self.non_null() {
            0 => "no values sampled".into(),
            _ => format!("no personal data found in {}", self.sampled()),
        }
    }

    fn sampled(&self) -> String {
        match self.non_null() {
            0 => "no values sampled".into(),
            1 => "1 sampled value".into(),
            n => format!("{n} sampled values"),
        }
    }

    fn is_string_type(&self) -> bool {
        let Some(t) = &self.pg_type else { return true };
        ["text", "character", "varchar", "bpchar", "citext", "name"].iter().any(|p| t.starts_with(p))
            && !t.ends_with("[]")
    }
}

fn is_text(dt: &DataType) -> bool {
    matches!(dt, DataType::Utf8 | DataType::LargeUtf8)
}

/// Suggests a rule for `col` in a table with context `ctx`.
pub fn suggest(col: &Column, ctx: &TableContext) -> Suggestion {
    let s = suggest_by_type(col, ctx);
    fit_length(s, col.limit)
}

/// The longest text a rule can make, when known or measured: the generator's fixed bound
/// ([`fake::max_chars`]), else the longest value measured over the `en` data of fake
/// 5.1.0 with a margin (full names 24 → 30, street addresses 29, companies 31 and cities
/// 36 → 40, job titles 49 → 50 characters); emails and URLs are given 64.
fn longest_output(rule: &Rule) -> Option<usize> {
    let generator = |r: &Rule| {
        r.options.iter().find(|(k, _)| *k == "generator").and_then(|(_, v)| v.as_str()).and_then(Generator::parse)
    };
    match rule.action {
        "template" => Some(64),
        "fake" => {
            let g = generator(rule)?;
            fake::max_chars(&FakeSpec::new(g)).or(match g {
                Generator::FullName => Some(30),
                Generator::StreetAddress | Generator::Company | Generator::City => Some(40),
                Generator::JobTitle => Some(50),
                Generator::Date => Some(10),
                Generator::Email | Generator::Url | Generator::Username => Some(64),
                _ => None,
            })
        }
        _ => None,
    }
}

/// A generated value that may not fit a `varchar(n)` makes the run stop: use the fallback
/// (a mask keeps the length) when the rule's values can be longer than the column allows.
fn fit_length(mut s: Suggestion, limit: Option<usize>) -> Suggestion {
    let (Some(limit), Action::Rule(rule)) = (limit, &s.action) else { return s };
    let Some(longest) = longest_output(rule) else { return s };
    if longest <= limit {
        return s;
    }
    // Another Latin-script locale whose names are all short enough (`cy_gb` first names
    // have at most 9 characters, `en` ones 11).
    if let Some(g) =
        rule.options.iter().find(|(k, _)| *k == "generator").and_then(|(_, v)| v.as_str()).and_then(Generator::parse)
    {
        let locales =
            [Locale::FrFr, Locale::DeDe, Locale::NlNl, Locale::ItIt, Locale::PtPt, Locale::CyGb, Locale::TrTr];
        let fits = locales.iter().find_map(|&locale| {
            let n = fake::max_chars(&FakeSpec { locale, ..FakeSpec::new(g) })?;
            (n <= limit).then_some((locale, n))
        });
        if let Some((locale, n)) = fits {
            let rule = rule.clone().opt("locale", locale.name());
            s.why = format!(
                "{}; `{}` values in locale {} have at most {n} characters, as the column allows {limit}",
                s.why,
                g.name(),
                locale.name()
            );
            s.action = Action::Rule(rule);
            return s;
        }
    }
    let Some(fallback) = s.fallback.take() else { return s };
    s.why = format!(
        "{}; `{}` can make values of {longest} characters and the column holds {limit}, so `{}`",
        s.why, rule.action, fallback.action
    );
    s.action = Action::Rule(fallback);
    s
}

fn suggest_by_type(col: &Column, ctx: &TableContext) -> Suggestion {
    let dt = col.field.data_type().clone();
    match dt {
        DataType::Boolean => Suggestion::keep("a true/false flag"),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => integer(col),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => integer(col),
        DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => number(col),
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => date(col, ctx),
        DataType::FixedSizeBinary(16) => match col.concept() {
            Some(c @ (Concept::Secret | Concept::NationalId)) => {
                Suggestion::rule(Rule::new("hash"), format!("the name says {}: keyed hash", c.describe()))
            }
            _ => Suggestion::keep(
                col.key_why().unwrap_or_else(|| "a uuid: a random identifier, not personal by itself".into()),
            ),
        },
        DataType::Binary | DataType::LargeBinary | DataType::FixedSizeBinary(_) | DataType::BinaryView => {
            binary(col, ctx)
        }
        DataType::Utf8 | DataType::LargeUtf8 => text(col, ctx),
        _ => unjudged(col, format!("a {dt} column: scan cannot look into its values")),
    }
}

/// A safe rule for a column scan cannot judge: NULL when allowed, else one that replaces
/// every value and fits the type.
pub fn safe_rule(field: &Field) -> Rule {
    let dt = field.data_type();
    if field.is_nullable() && !crate::type_kind::domain_not_null(field) {
        return Rule::new("null");
    }
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 => safe_text_rule(field),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::FixedSizeBinary(16) => {
            Rule::new("hash")
        }
        // One digit: ±10 % moves none of its values (the plan refuses it); one unit does.
        DataType::Decimal128(1, scale) => Rule::new("noise").opt("absolute", 10f64.powi(-i32::from(*scale))),
        DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) => Rule::new("noise").opt("relative", 0.1),
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => Rule::new("noise").opt("duration", "30d"),
        DataType::Boolean => Rule::fake("boolean"),
        DataType::Binary | DataType::LargeBinary => Rule::new("constant").opt("value", ""),
        _ => Rule::new("null"),
    }
}

/// The safe rule of a NOT NULL text column: a format-preserving mask on strings, else a rule
/// that writes valid values of the column's PostgreSQL type (its `fake` generator, or a
/// constant PostgreSQL accepts); `keep` only when nothing else is valid (an unknown type, a
/// domain with CHECK constraints), always marked for review by the caller.
fn safe_text_rule(field: &Field) -> Rule {
    use crate::type_kind::{TypeKind, domain_check};
    let kind = TypeKind::of(field);
    if domain_check(field) {
        return Rule::new("keep");
    }
    match kind {
        None | Some(TypeKind::String | TypeKind::Native) => Rule::mask_fp(),
        Some(TypeKind::Enum) => Rule::fake("enum"),
        Some(TypeKind::Inet | TypeKind::Cidr) => Rule::fake("ip"),
        Some(TypeKind::Macaddr | TypeKind::Macaddr8) => Rule::fake("mac_address"),
        Some(_) => match crate::strategy::pg_types::placeholder(field) {
            Some(value) => Rule::new("constant").opt("value", value),
            None => Rule::new("keep"),
        },
    }
}

fn unjudged(col: &Column, why: String) -> Suggestion {
    Suggestion::rule(safe_rule(&col.field), why).review()
}

fn integer(col: &Column) -> Suggestion {
    let Evidence::Int(e) = &col.evidence else { return unjudged(col, "no integer values could be read".into()) };
    let says = |c: Concept| format!("the name says {}", c.describe());
    if col.tokens.head_counts() {
        return Suggestion::keep("a counter (by the last word of its name)");
    }
    let declared_key = matches!(col.key, Some(KeyRole::PrimaryKey | KeyRole::ForeignKey { declared: true, .. }));
    match col.concept() {
        // `card_id`, `phone_id`: a declared key's values number rows; the name only says what
        // the rows are about.
        Some(c @ (Concept::Card | Concept::Iban | Concept::Phone | Concept::Username | Concept::Ip | Concept::Mac))
            if declared_key =>
        {
            let why = col.key_why().unwrap_or_default();
            Suggestion::keep(format!("{why}; the name says {}, but a declared key numbers rows", c.describe()))
        }
        Some(c @ (Concept::Secret | Concept::NationalId | Concept::Card | Concept::Iban | Concept::Phone)) => {
            Suggestion::rule(Rule::new("hash").domain(domain_of(c)), format!("{}: keyed permutation", says(c)))
        }
        Some(c @ (Concept::Username | Concept::Ip | Concept::Mac)) => {
            Suggestion::rule(Rule::new("hash"), format!("{}: keyed permutation", says(c)))
        }
        Some(Concept::Postcode) => {
            let digits = e.max_digits.clamp(1, 9);
            let max = 10_i64.pow(digits) - 1;
            Suggestion::rule(
                Rule::fake("integer").opt("min", 0).opt("max", max),
                format!("{}: a keyed fake number of at most {digits} digits", says(Concept::Postcode)),
            )
        }
        Some(Concept::BirthDate) if e.max_digits <= 4 => Suggestion::rule(
            Rule::new("noise").opt("absolute", 2),
            "the name says a birth year: moved by up to 2 years",
        ),
        Some(Concept::BirthDate) => Suggestion::rule(
            Rule::new("hash"),
            "the name says a birth date stored as a number: keyed permutation (noise would make invalid dates)",
        )
        .review(),
        Some(Concept::Salary | Concept::Age | Concept::Geo) => number(col),
        _ if e.non_null >= 5 && e.cards as f64 >= 0.8 * e.non_null as f64 => Suggestion::rule(
            Rule::new("hash").domain("card"),
            format!("{} of {} are card numbers (Luhn check passes): keyed permutation", e.cards, col.sampled()),
        ),
        _ => Suggestion::keep(col.key_why().unwrap_or_else(|| match col.concept() {
            Some(Concept::Measure) => "an amount, count or quantity".to_string(),
            _ => "a number; neither its name nor its values suggest personal data".to_string(),
        })),
    }
}

fn number(col: &Column) -> Suggestion {
    let says = |c: Concept| format!("the name says {}", c.describe());
    match col.concept() {
        Some(c @ Concept::Salary) => {
            Suggestion::rule(Rule::new("noise").opt("relative", 0.1), format!("{}: moved by up to 10%", says(c)))
        }
        Some(c @ Concept::Age) => {
            Suggestion::rule(Rule::new("noise").opt("absolute", 2), format!("{}: moved by up to 2", says(c)))
        }
        Some(c @ Concept::Geo) => {
            // Never below one unit of the column: the plan refuses noise that cannot move a value.
            let step = match col.field.data_type() {
                DataType::Decimal128(_, scale) => 10f64.powi(-i32::from(*scale)),
                DataType::Float16 | DataType::Float32 | DataType::Float64 => 0.0,
                _ => 1.0,
            };
            let amount = step.max(0.05);
            let why = if amount == 0.05 {
                format!("{}: moved by up to 0.05 degrees (about 5 km)", says(c))
            } else {
                format!("{}: moved by up to {amount}, one unit of the column", says(c))
            };
            Suggestion::rule(Rule::new("noise").opt("absolute", amount), why)
        }
        Some(c) if IDENTIFYING.contains(&c) || matches!(c, Concept::Secret | Concept::Postcode) => {
            unjudged(col, format!("{} stored as a number", says(c)))
        }
        Some(Concept::Measure) => Suggestion::keep("an amount, price or quantity"),
        _ => Suggestion::keep(
            col.key_why().unwrap_or_else(|| "a number; neither its name nor its values suggest personal data".into()),
        ),
    }
}

fn date(col: &Column, ctx: &TableContext) -> Suggestion {
    let Evidence::Date(e) = &col.evidence else { return unjudged(col, "no dates could be read".into()) };
    if col.concept() == Some(Concept::BirthDate) {
        return Suggestion::rule(
            Rule::new("noise").opt("duration", "365d"),
            "the name says a birth date: moved by up to a year either way",
        );
    }
    if e.looks_like_birth_dates() && ctx.about_people.is_none() {
        return Suggestion::keep(format!(
            "a date; {} spread over {} years like birth dates, but the table's rows are not people",
            col.sampled(),
            e.years.len()
        ));
    }
    if e.looks_like_birth_dates() {
        return Suggestion::rule(
            Rule::new("noise").opt("duration", "365d"),
            format!(
                "{} spread over {} years like birth dates (1900 to 14 years ago): moved by up to a year",
                col.sampled(),
                e.years.len()
            ),
        )
        .review();
    }
    Suggestion::keep(match e.non_null {
        0 => "a date or time; not a birth date by its name (no values sampled)".to_string(),
        _ => "a date or time of an event; not a birth date by its name, nor by its spread".to_string(),
    })
}

fn binary(col: &Column, ctx: &TableContext) -> Suggestion {
    if ctx.reference {
        return Suggestion::keep(
            "binary content of reference data (by the table's name): a product's or category's picture or document",
        );
    }
    let why = match col.concept() {
        Some(Concept::Photo) => {
            "the name says a photo or picture: binary content can show or hold anything".to_string()
        }
        _ => "binary content: scan cannot look into it, and it can hold anything".to_string(),
    };
    let s = Suggestion::rule(safe_rule(&col.field), why);
    if col.concept() == Some(Concept::Photo) { s } else { s.review() }
}

/// The domain shared by every column of a kind, so one real value gets one replacement in
/// every table.
fn domain_of(c: Concept) -> &'static str {
    match c {
        Concept::Secret => "secret",
        Concept::NationalId => "national_id",
        Concept::Card => "card",
        Concept::Iban => "iban",
        Concept::Email => "email",
        Concept::Ip => "ip",
        Concept::Mac => "mac",
        Concept::Phone => "phone",
        Concept::BirthDate => "birth_date",
        Concept::Username => "username",
        Concept::FirstName => "first_name",
        Concept::LastName => "last_name",
        Concept::FullName | Concept::Name => "full_name",
        Concept::Address => "address",
        Concept::Postcode => "postcode",
        Concept::City => "city",
        Concept::Company => "company",
        Concept::JobTitle | Concept::Title => "job_title",
        Concept::Url | Concept::Photo => "url",
        _ => "other",
    }
}

/// A rule for a column holding `c` (text), with its reason; `None` for concepts that are
/// judged by their values (free text, labels).
fn personal_text(col: &Column, ctx: &TableContext, c: Concept) -> Option<Suggestion> {
    let says = format!("the name says {}", c.describe());
    let ev = match &col.evidence {
        Evidence::Text(t) => Some(t),
        _ => None,
    };
    let confirmed = |k: Kind| -> String {
        match ev {
            Some(t) if t.whole(k) > 0 => format!("; {} of {} are {}", t.whole(k), col.sampled(), k.describe()),
            _ => String::new(),
        }
    };
    let why_named = |kind: Kind| -> String {
        if col.concepts.first() == Some(&c) {
            format!("{says}{}", confirmed(kind))
        } else {
            let t = ev.map(|t| t.whole(kind)).unwrap_or(0);
            format!("{t} of {} are {}", col.sampled(), kind.describe())
        }
    };
    let pk_unique = ctx.single_pk.as_deref() == Some(col.field.name().as_str());
    let mask = |domain: &str| Rule::mask_fp().domain(domain);
    let d = domain_of(c);
    Some(match c {
        Concept::Secret => {
            let length = col.limit.unwrap_or(32).clamp(1, 32) as i64;
            Suggestion::rule(Rule::new("hash").opt("length", length), format!("{says}: replaced by a keyed hash"))
        }
        Concept::NationalId => Suggestion::rule(mask(d), format!("{says}: random digits and letters, same format")),
        Concept::Card => {
            if ev.is_some_and(|t| t.mostly(Kind::Card, 0.6)) {
                Suggestion::rule(Rule::fake("credit_card").domain(d), why_named(Kind::Card)).or(mask(d))
            } else {
                Suggestion::rule(mask(d), format!("{says} (or part of one): random digits, same format"))
            }
        }
        Concept::Iban => {
            if ev.is_some_and(|t| t.mostly(Kind::Iban, 0.6)) {
                Suggestion::rule(Rule::fake("iban").domain(d), why_named(Kind::Iban)).or(mask(d))
            } else {
                Suggestion::rule(mask(d), format!("{says}: random digits and letters, same format"))
            }
        }
        Concept::Email => email(col, ctx, pk_unique, d, why_named(Kind::Email)),
        Concept::Ip => {
            let v6 = ev.is_some_and(|t| t.ipv6 * 2 > t.whole(Kind::Ip) && t.ipv6 > 0);
            Suggestion::rule(Rule::fake(if v6 { "ipv6" } else { "ipv4" }).domain(d), why_named(Kind::Ip)).or(mask(d))
        }
        Concept::Mac => Suggestion::rule(Rule::fake("mac_address").domain(d), says).or(mask(d)),
        Concept::Phone => {
            Suggestion::rule(mask(d), format!("{}: random digits, same format and length", why_named(Kind::Phone)))
        }
        Concept::BirthDate => {
            Suggestion::rule(Rule::fake("date"), format!("{}: a fake date", why_named(Kind::BirthLikeDate))).or(mask(d))
        }
        Concept::Username => {
            let mut rule = Rule::fake("username").domain(d);
            if pk_unique {
                rule = rule.opt("unique", true);
            }
            Suggestion::rule(rule, format!("{says}: a fake user name")).or(mask(d))
        }
        Concept::FirstName => {
            Suggestion::rule(Rule::fake("first_name").domain(d), why_named(Kind::FirstName)).or(mask(d))
        }
        Concept::LastName => Suggestion::rule(Rule::fake("last_name").domain(d), says).or(mask(d)),
        Concept::FullName => {
            Suggestion::rule(Rule::fake("full_name").domain(d), why_named(Kind::PersonName)).or(mask(d))
        }
        Concept::Address => Suggestion::rule(Rule::fake("street_address").domain(d), says).or(mask(d)),
        Concept::Postcode => {
            Suggestion::rule(mask(d), format!("{}: random digits and letters, same format", why_named(Kind::Postcode)))
        }
        Concept::City => match &ctx.about_people {
            Some(about) => Suggestion::rule(
                Rule::fake("city").domain(d),
                format!(
                    "{says} in a table about people ({about}): with a postcode or birth date it narrows a person down"
                ),
            )
            .or(mask(d)),
            None => return None,
        },
        Concept::Geo => Suggestion::rule(Rule::mask_fp(), format!("{says}: random digits, same format")),
        Concept::Photo => Suggestion::rule(
            Rule::fake("url").domain(d),
            format!("{says} (a path or link): a picture's file name is often the person's name"),
        )
        .or(mask(d)),
        Concept::Url => {
            Suggestion::rule(Rule::fake("url").domain(d), format!("{says}: links often name a person or their company"))
                .or(mask(d))
        }
        Concept::Salary | Concept::Age => Suggestion::rule(Rule::mask_fp(), format!("{says}: random digits")),
        Concept::Company if !ctx.names_a_person => {
            return Some(Suggestion::keep(format!(
                "{says}, in a table that names no person: a business's name; a sole trader's would name its owner, \
                 so read some values"
            )));
        }
        Concept::Company => Suggestion::rule(
            Rule::fake("company").domain(d),
            format!("{says}: a business name is often a person's name (sole traders, family firms)"),
        )
        .or(mask(d)),
        Concept::JobTitle | Concept::Title | Concept::Name => return titled(col, ctx, c, &says, d),
        _ => return None,
    })
}

/// An email column: an address built from the row's fake names when the table has first and
/// last name columns, a fake one otherwise; `null` (or a fake address) if that does not bind.
fn email(col: &Column, ctx: &TableContext, pk_unique: bool, d: &str, why: String) -> Suggestion {
    let unique = if pk_unique { ", unique like the primary key" } else { "" };
    let mut rule = match (&ctx.first_name, &ctx.last_name) {
        (Some(f), Some(l)) => Rule::new("template").opt("template", format!("{{{f}|slug}}.{{{l}|slug}}@example.com")),
        _ => Rule::fake("email"),
    };
    let made = if rule.action == "template" {
        "an address built from the row's fake first and last names"
    } else {
        "a fake address at example.com"
    };
    if pk_unique {
        rule = rule.opt("unique", true);
    }
    let fallback = if col.field.is_nullable() { Rule::new("null") } else { Rule::fake("email").domain(d) };
    Suggestion::rule(rule.domain(d), format!("{why}: {made}{unique}")).or(fallback)
}

/// A job title, title or name column: personal in a table about people (or when the name
/// says a person's name), a thing's otherwise.
fn titled(col: &Column, ctx: &TableContext, c: Concept, says: &str, d: &str) -> Option<Suggestion> {
    Some(match &ctx.about_people {
        Some(about) if c != Concept::Name => Suggestion::rule(
            Rule::fake("job_title").domain(domain_of(Concept::JobTitle)),
            format!("the name says a title in a table about people ({about}): a rare job title identifies"),
        )
        .or(Rule::mask_fp().domain(domain_of(Concept::JobTitle))),
        Some(about) => Suggestion::rule(
            Rule::fake("full_name").domain(d),
            format!("the name says a name in a table about people ({about})"),
        )
        .or(Rule::mask_fp().domain(d)),
        None if c == Concept::JobTitle => Suggestion::rule(
            Rule::fake("job_title").domain(domain_of(Concept::JobTitle)),
            format!("{says}: a rare job title identifies"),
        )
        .or(Rule::mask_fp().domain(domain_of(Concept::JobTitle))),
        None if col.tokens.names_people() => Suggestion::rule(
            Rule::fake("full_name").domain(domain_of(Concept::FullName)),
            "the name says a person's name".to_string(),
        )
        .or(Rule::mask_fp().domain(d)),
        None => return None,
    })
}
/// The table context from its name and columns.
pub fn context(table: &str, columns: &[Column], primary_key: Option<&[String]>, sampled: usize) -> TableContext {
    let name_tokens = Tokens::of(table.split_once('.').map_or(table, |(_, t)| t));
    let about_people = if name_tokens.head_names_people() {
        Some("the table's name says so".to_string())
    } else {
        let identifying: Vec<&str> =
            columns.iter().filter(|c| c.identifies_the_row()).map(|c| c.field.name().as_str()).collect();
        (!identifying.is_empty()).then(|| format!("it has {}", identifying.join(", ")))
    };
    let reference = about_people.is_none()
        && name_tokens.concepts().iter().any(|c| matches!(c, Concept::Product | Concept::Region | Concept::Country));
    let named = |want: Concept| {
        columns
            .iter()
            .find(|c| is_text(c.field.data_type()) && c.concept() == Some(want))
            .map(|c| c.field.name().clone())
            .filter(|n| n.chars().all(|ch| ch.is_alphanumeric() || ch == '_'))
    };
    TableContext {
        about_people,
        reference,
        first_name: named(Concept::FirstName),
        last_name: named(Concept::LastName),
        single_pk: primary_key.filter(|k| k.len() == 1).map(|k| k[0].clone()),
        names_a_person: columns.iter().any(|c| {
            is_text(c.field.data_type())
                && matches!(c.concept(), Some(Concept::FirstName | Concept::LastName | Concept::FullName))
        }),
        sampled,
    }
}

/// Counts for the summary line.
#[derive(Debug, Default)]
pub struct Tally {
    pub kept: usize,
    pub transformed: usize,
    pub review: usize,
    pub by_action: BTreeMap<&'static str, usize>,
}

impl Tally {
    pub fn add(&mut self, s: &Suggestion) {
        match &s.action {
            Action::Keep => self.kept += 1,
            Action::Rule(r) => {
                self.transformed += 1;
                *self.by_action.entry(r.action).or_default() += 1;
            }
        }
        if s.review {
            self.review += 1;
        }
    }
}

#[cfg(test)]
mod tests;
