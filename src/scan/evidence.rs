//! What sampled values say about a column: counts of values that are, or contain, personal
//! data of each kind, and a few shape statistics. Only counts are kept; a value never leaves
//! the function that looks at it.
//!
//! The detectors are [`crate::detect`]'s (the `redact` strategy's too: email, phone, IBAN
//! with the mod-97 check, card numbers with the Luhn check, IPv4/IPv6, person names from
//! [`crate::detect::names`]), run on each value alone, plus postcode shapes of several
//! countries and dates that could be birth dates.

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_cast::cast;
use arrow_schema::DataType;
use chrono::Datelike;
use regex::Regex;

use crate::detect::names::{find_names, is_first_name};
use crate::detect::{Detector, Detectors, luhn_valid};

/// Whole-value kinds recognised in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Email,
    Phone,
    Iban,
    Card,
    Ip,
    /// One of several countries' postcode shapes that are hard to mistake (`SW1A 1AA`,
    /// `1012 AB`, `K1A 0B1`, `12345-6789`, `00-950`, `1000-001`, `123-4567`, `D-10115`).
    Postcode,
    /// A single word that is a known first name.
    FirstName,
    /// A known first name followed by one or two capitalised words, or a name after a cue.
    PersonName,
    /// A date (`YYYY-MM-DD`, `DD.MM.YYYY`, `DD/MM/YYYY`) between 1900 and 14 years ago.
    BirthLikeDate,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Email => "email addresses",
            Kind::Phone => "phone numbers",
            Kind::Iban => "IBANs (valid checksum)",
            Kind::Card => "card numbers (valid Luhn check)",
            Kind::Ip => "IP addresses",
            Kind::Postcode => "postcodes",
            Kind::FirstName => "known first names",
            Kind::PersonName => "person names",
            Kind::BirthLikeDate => "dates in a birth-date range",
        }
    }
}

/// The detectors but names, one set each, so a finding's kind is known.
struct EachDetector {
    each: Vec<(Detector, Detectors)>,
}

fn detectors() -> &'static EachDetector {
    static D: OnceLock<EachDetector> = OnceLock::new();
    D.get_or_init(|| EachDetector {
        each: Detector::ALL
            .iter()
            .filter(|&&d| d != Detector::Name)
            .map(|&d| (d, Detectors::new(&[d]).expect("built-in detectors compile")))
            .collect(),
    })
}

fn kind_of(d: Detector) -> Kind {
    match d {
        Detector::Email => Kind::Email,
        Detector::Phone => Kind::Phone,
        Detector::Iban => Kind::Iban,
        Detector::Card => Kind::Card,
        Detector::Ip => Kind::Ip,
        Detector::Name => Kind::PersonName,
    }
}

fn postcode_shapes() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"^(?:",
            r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}", // UK
            r"|[1-9][0-9]{3} ?[A-Z]{2}",                // NL
            r"|[A-Z][0-9][A-Z] ?[0-9][A-Z][0-9]",       // CA
            r"|[0-9]{5}-[0-9]{4}",                      // US ZIP+4
            r"|[0-9]{2}-[0-9]{3}",                      // PL
            r"|[0-9]{4}-[0-9]{3}",                      // PT
            r"|[0-9]{5}-[0-9]{3}",                      // BR
            r"|[0-9]{3}-[0-9]{4}",                      // JP
            r"|[0-9]{3} [0-9]{2}",                      // SE, CZ, SK, GR
            r"|[A-Z]{1,2}-[0-9]{4,5}",                  // D-10115, CH-8001
            r")$"
        ))
        .expect("postcode shapes compile")
    })
}

/// `^[0-9]{4,5}$`: a postcode in much of Europe and the US, but also just a number.
fn plain_postcode(v: &str) -> bool {
    (4..=5).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit())
}

/// The latest birth year counted as plausible: 14 years before this year.
fn latest_birth_year() -> i32 {
    chrono::Utc::now().year() - 14
}

fn text_date_year(v: &str) -> Option<i32> {
    let formats = ["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d"];
    formats.iter().find_map(|f| chrono::NaiveDate::parse_from_str(v, f).ok()).map(|d| d.year())
}

/// A number followed by one unit word: `90 min`, `2 Seasons`, `1.5 kg`, `12%`.
fn is_quantity(v: &str) -> bool {
    let number_end = v.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ',')).unwrap_or(v.len());
    let (number, unit) = v.split_at(number_end);
    let unit = unit.trim_start();
    number.starts_with(|c: char| c.is_ascii_digit())
        && (1..=12).contains(&unit.chars().count())
        && unit.chars().all(|c| c.is_alphabetic() || matches!(c, '%' | '°' | '.' | '/'))
}

/// The items of a comma-separated list of two or more items of at most three words each.
fn list_items(v: &str) -> Option<Vec<&str>> {
    let items: Vec<&str> = v.split(',').map(str::trim).collect();
    let short = |i: &&str| !i.is_empty() && i.split_whitespace().count() <= 3;
    (items.len() >= 2 && items.iter().all(short)).then_some(items)
}

/// Counts over the sampled values of a text column (or of one path inside JSON values).
#[derive(Debug, Default, Clone)]
pub struct TextEvidence {
    pub non_null: usize,
    pub empty: usize,
    /// Values that are wholly of a kind.
    pub whole: BTreeMap<Kind, usize>,
    /// Values that contain at least one finding of a kind (free text).
    pub contains: BTreeMap<Kind, usize>,
    /// Values that are 4 or 5 digits.
    pub plain_postcodes: usize,
    /// Values starting with `http://`, `https://` or `www.`.
    pub urls: usize,
    /// Values holding a JSON object or array.
    pub json: usize,
    pub total_words: usize,
    pub max_chars: usize,
    /// IPv6 addresses among the `Ip` values.
    pub ipv6: usize,
    /// Values that are a number and a unit (`90 min`, `2 Seasons`, `1.5 kg`).
    pub quantities: usize,
    /// Values that are comma-separated lists of two or more short items (`Dramas, Comedies`).
    pub lists: usize,
    /// Items of those lists, counted.
    pub list_items: usize,
    distinct: HashSet<u64>,
    /// Distinct items of those lists.
    distinct_items: HashSet<u64>,
    hasher: RandomState,
}

impl TextEvidence {
    /// Looks at one non-null value.
    pub fn add(&mut self, raw: &str) {
        self.non_null += 1;
        let v = raw.trim();
        if v.is_empty() {
            self.empty += 1;
            return;
        }
        self.distinct.insert(self.hasher.hash_one(v));
        self.max_chars = self.max_chars.max(v.chars().count());
        self.total_words += v.split_whitespace().count();
        for (d, r) in &detectors().each {
            let spans = r.spans(v);
            if !spans.is_empty() {
                *self.contains.entry(kind_of(*d)).or_default() += 1;
                if spans == [(0, v.len())] {
                    *self.whole.entry(kind_of(*d)).or_default() += 1;
                    if *d == Detector::Ip && v.contains(':') {
                        self.ipv6 += 1;
                    }
                }
            }
        }
        let names = find_names(v);
        if !names.is_empty() {
            *self.contains.entry(Kind::PersonName).or_default() += 1;
            if names.len() == 1 && names[0].0 == 0 && names[0].1 == v.len() {
                *self.whole.entry(Kind::PersonName).or_default() += 1;
            }
        }
        if !v.contains(char::is_whitespace) && is_first_name(v) {
            *self.whole.entry(Kind::FirstName).or_default() += 1;
        }
        if postcode_shapes().is_match(&v.to_uppercase()) {
            *self.whole.entry(Kind::Postcode).or_default() += 1;
        }
        if plain_postcode(v) {
            self.plain_postcodes += 1;
        }
        if text_date_year(v).is_some_and(|y| (1900..=latest_birth_year()).contains(&y)) {
            *self.whole.entry(Kind::BirthLikeDate).or_default() += 1;
        }
        let lower = v.get(..8).unwrap_or(v).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https:/") || lower.starts_with("www.") {
            self.urls += 1;
        }
        if (v.starts_with('{') || v.starts_with('[')) && serde_json::from_str::<serde_json::Value>(v).is_ok() {
            self.json += 1;
        }
        if is_quantity(v) {
            self.quantities += 1;
        }
        if let Some(items) = list_items(v) {
            self.lists += 1;
            self.list_items += items.len();
            for item in items {
                self.distinct_items.insert(self.hasher.hash_one(item.to_lowercase()));
            }
        }
    }

    /// Non-empty values looked at.
    pub fn values(&self) -> usize {
        self.non_null - self.empty
    }

    pub fn distinct(&self) -> usize {
        self.distinct.len()
    }

    pub fn whole(&self, k: Kind) -> usize {
        self.whole.get(&k).copied().unwrap_or(0)
    }

    pub fn contains(&self, k: Kind) -> usize {
        self.contains.get(&k).copied().unwrap_or(0)
    }

    /// Whether at least `share` of the non-empty values are wholly of kind `k`.
    pub fn mostly(&self, k: Kind, share: f64) -> bool {
        self.values() > 0 && self.whole(k) as f64 >= share * self.values() as f64
    }

    pub fn average_words(&self) -> f64 {
        if self.values() == 0 { 0.0 } else { self.total_words as f64 / self.values() as f64 }
    }

    /// Few distinct values, each seen several times: an enumeration (status, type, code).
    pub fn enum_like(&self) -> bool {
        let d = self.distinct();
        self.values() >= 2 && d <= 30 && d * 3 <= self.values() * 2 && self.average_words() <= 3.0
    }

    /// Most values are a number with a unit: a duration, size or weight.
    pub fn quantity_like(&self) -> bool {
        self.values() >= 5 && self.quantities * 10 >= self.values() * 9
    }

    /// Most values are lists of labels drawn from a small vocabulary (genres, tags): at most
    /// 200 distinct items, each seen three times on average.
    pub fn label_lists(&self) -> bool {
        let d = self.distinct_items.len();
        self.values() >= 10 && self.lists * 2 >= self.values() && d <= 200 && d * 3 <= self.list_items
    }
}

/// Counts over the sampled values of an integer column.
#[derive(Debug, Default, Clone)]
pub struct IntEvidence {
    pub non_null: usize,
    /// Values of 13 to 19 digits passing the Luhn check.
    pub cards: usize,
    /// Most digits of any value.
    pub max_digits: u32,
}

/// Counts over the sampled values of a date or timestamp column.
#[derive(Debug, Default, Clone)]
pub struct DateEvidence {
    pub non_null: usize,
    /// Values between 1900 and 14 years ago.
    pub birth_range: usize,
    /// Distinct years seen.
    pub years: HashSet<i32>,
}

impl DateEvidence {
    /// Spread and range of birth dates: every value in the birth range, over at least 15
    /// distinct years (order, hire or event dates cluster in a few years).
    pub fn looks_like_birth_dates(&self) -> bool {
        self.non_null >= 5 && self.birth_range == self.non_null && self.years.len() >= 15
    }
}

/// What the sample says about one column.
#[derive(Debug, Clone)]
pub enum Evidence {
    Text(TextEvidence),
    Int(IntEvidence),
    Date(DateEvidence),
    /// Other types: only how many values were not null.
    Other {
        non_null: usize,
    },
}

impl Evidence {
    pub fn for_type(dt: &DataType) -> Evidence {
        match dt {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Evidence::Text(TextEvidence::default()),
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
                Evidence::Int(IntEvidence::default())
            }
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                Evidence::Int(IntEvidence::default())
            }
            DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => Evidence::Date(DateEvidence::default()),
            _ => Evidence::Other { non_null: 0 },
        }
    }

    pub fn non_null(&self) -> usize {
        match self {
            Evidence::Text(t) => t.non_null,
            Evidence::Int(i) => i.non_null,
            Evidence::Date(d) => d.non_null,
            Evidence::Other { non_null } => *non_null,
        }
    }

    /// Adds the values of one sampled array of this column.
    pub fn add_array(&mut self, array: &ArrayRef) {
        match self {
            Evidence::Text(t) => {
                let Ok(strings) = cast(array, &DataType::Utf8) else { return };
                for v in strings.as_string::<i32>().iter().flatten() {
                    t.add(v);
                }
            }
            Evidence::Int(e) => {
                let Ok(ints) = cast(array, &DataType::Decimal128(38, 0)) else { return };
                for v in ints.as_primitive::<arrow_array::types::Decimal128Type>().iter().flatten() {
                    e.non_null += 1;
                    let digits = v.unsigned_abs().to_string();
                    e.max_digits = e.max_digits.max(digits.len() as u32);
                    if (13..=19).contains(&digits.len()) && luhn_valid(&digits) {
                        e.cards += 1;
                    }
                }
            }
            Evidence::Date(e) => {
                let Ok(dates) = cast(array, &DataType::Date32) else { return };
                let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
                let latest = latest_birth_year();
                for days in dates.as_primitive::<arrow_array::types::Date32Type>().iter().flatten() {
                    e.non_null += 1;
                    let Some(d) = epoch.checked_add_signed(chrono::Duration::days(i64::from(days))) else { continue };
                    let y = d.year();
                    e.years.insert(y);
                    if (1900..=latest).contains(&y) {
                        e.birth_range += 1;
                    }
                }
            }
            Evidence::Other { non_null } => *non_null += array.len() - array.null_count(),
        }
    }
}

/// What the sample says about the paths inside a JSON column: per path of string values
/// (`contact.email`, `items[*].note`), the same counts as for a text column, and per path
/// the number of non-string scalars (numbers, booleans).
#[derive(Debug, Default, Clone)]
pub struct JsonEvidence {
    pub strings: BTreeMap<String, TextEvidence>,
    pub scalars: BTreeMap<String, usize>,
    /// Values that did not parse as JSON.
    pub invalid: usize,
}

impl JsonEvidence {
    pub fn add_array(&mut self, array: &ArrayRef) {
        let Ok(strings) = cast(array, &DataType::Utf8) else { return };
        for v in strings.as_string::<i32>().iter().flatten() {
            match serde_json::from_str::<serde_json::Value>(v) {
                Ok(json) => self.walk(&json, String::new()),
                Err(_) => self.invalid += 1,
            }
        }
    }

    fn walk(&mut self, v: &serde_json::Value, path: String) {
        use serde_json::Value;
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    // Keys the path syntax cannot spell are left to the column-level rule.
                    if k.is_empty() || k.contains(['.', '[', ']']) {
                        self.scalars.entry(format!("{path}\u{0}")).or_default();
                        continue;
                    }
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    self.walk(child, p);
                }
            }
            Value::Array(items) => {
                for child in items {
                    self.walk(child, format!("{path}[*]"));
                }
            }
            Value::String(s) => self.strings.entry(path).or_default().add(s),
            Value::Null => {}
            Value::Bool(_) | Value::Number(_) => *self.scalars.entry(path).or_default() += 1,
        }
    }

    /// Whether a key could not be expressed as a path (see `JsonEvidence::walk`).
    pub fn has_unaddressable_keys(&self) -> bool {
        self.scalars.keys().any(|k| k.ends_with('\u{0}'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(values: &[&str]) -> TextEvidence {
        let mut t = TextEvidence::default();
        for v in values {
            t.add(v);
        }
        t
    }

    #[test]
    fn validators_recognise_whole_values() {
        let t = text(&["alice@example.com", "bob.smith@mail.example.co.uk", "not an email"]);
        assert_eq!(t.whole(Kind::Email), 2);
        let t = text(&["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "GB83WEST12345698765432"]);
        assert_eq!(t.whole(Kind::Iban), 2, "the bad checksum does not count");
        let t = text(&["4111 1111 1111 1111", "4111111111111112"]);
        assert_eq!(t.whole(Kind::Card), 1, "Luhn");
        let t = text(&["+44 20 7946 0958", "(020) 7946 0958", "06-12345678", "12345"]);
        assert_eq!(t.whole(Kind::Phone), 3);
        let t = text(&["192.168.1.10", "2001:db8::1", "1.2.3.4.5"]);
        assert_eq!((t.whole(Kind::Ip), t.ipv6), (2, 1));
        let t = text(&["SW1A 1AA", "1012 AB", "K1A 0B1", "00-950", "12345-6789", "hello"]);
        assert_eq!(t.whole(Kind::Postcode), 5);
        let t = text(&["12345", "1012"]);
        assert_eq!((t.whole(Kind::Postcode), t.plain_postcodes), (0, 2));
        let t = text(&["Juan", "Siobhan Lewis", "Tennis Court 1", "Chai"]);
        assert_eq!((t.whole(Kind::FirstName), t.whole(Kind::PersonName)), (1, 1));
        let t = text(&["1968-12-08", "24.03.1980", "2199-01-01", "soon"]);
        assert_eq!(t.whole(Kind::BirthLikeDate), 2);
    }

    #[test]
    fn free_text_findings_are_counted() {
        let t = text(&[
            "Please call me on +44 20 7946 0958 tomorrow",
            "Refund to GB82 WEST 1234 5698 7654 32, thanks",
            "Kind regards, Ainhoa",
            "Shipped on Monday",
        ]);
        assert_eq!(t.contains(Kind::Phone), 1);
        assert_eq!(t.contains(Kind::Iban), 1);
        assert_eq!(t.contains(Kind::PersonName), 1);
        assert_eq!(t.whole(Kind::Phone), 0);
        assert!(t.average_words() > 3.0);
    }

    #[test]
    fn enumerations_and_dates() {
        let statuses: Vec<&str> = ["paid", "shipped", "open"].iter().cycle().take(30).copied().collect();
        assert!(text(&statuses).enum_like());
        assert!(!text(&["a1", "b2", "c3", "d4"]).enum_like());
        let mut births = DateEvidence::default();
        for y in 1940..1990 {
            births.non_null += 1;
            births.birth_range += 1;
            births.years.insert(y);
        }
        assert!(births.looks_like_birth_dates());
        let mut orders = DateEvidence { non_null: 800, birth_range: 800, ..Default::default() };
        orders.years.extend([1996, 1997, 1998]);
        assert!(!orders.looks_like_birth_dates());
    }

    #[test]
    fn json_paths_are_walked() {
        let mut j = JsonEvidence::default();
        let a: ArrayRef = std::sync::Arc::new(arrow_array::StringArray::from(vec![
            r#"{"contact": {"email": "a@example.com", "phone": "+44 20 7946 0958"}, "tags": ["x", "y"], "n": 3}"#,
            "not json",
        ]));
        j.add_array(&a);
        assert_eq!(j.strings["contact.email"].whole(Kind::Email), 1);
        assert_eq!(j.strings["contact.phone"].whole(Kind::Phone), 1);
        assert_eq!(j.strings["tags[*]"].values(), 2);
        assert_eq!(j.scalars["n"], 1);
        assert_eq!(j.invalid, 1);
    }
}
