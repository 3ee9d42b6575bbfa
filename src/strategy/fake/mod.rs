//! The `fake` strategy: replace a value by a synthetic value of the same kind.
//!
//! A `fake` rule names a *generator* (below) and, optionally, a `locale` and a few options.
//! Every value comes from the random generator the caller passes in, which is seeded from a
//! keyed hash of the input value, so the output is a pure function of (generator options,
//! rng state): the same input gets the same fake in every table, run and thread count.
//! Nothing here reads the clock or a thread-local random generator.
//!
//! Text data (names, streets, cities, companies, job titles, phone formats, lorem words) comes
//! from the tables of the [`fake`](https://docs.rs/fake/5.1.0) crate, version 5.1.0, for the
//! chosen locale. Where fake 5.1.0 has no data for a locale (for example job titles in
//! `fr_fr`; streets and cities in `ja_jp`, `zh_tw`, `ar_sa`) the English tables are used
//! rather than mixing English street types with names in another script. A few gaps and
//! flaws of fake 5.1.0 are fixed here: French cities and regions, Japanese prefectures,
//! Chinese provinces, German, Chinese, Taiwanese and Saudi phone formats, company name
//! patterns, UK, Dutch and Japanese postcodes, German and Dutch street names.
//!
//! # Generators
//!
//! | generator        | produces | options | example (`en`) |
//! |------------------|----------|---------|----------------|
//! | `first_name`     | text     | locale  | `Maude` |
//! | `last_name`      | text     | locale  | `Schaden` |
//! | `full_name`      | text     | locale  | `Maude Schaden` (order and spacing follow the locale) |
//! | `email`          | text     | locale, `email_domain` | `maude.schaden@example.com` |
//! | `username`       | text     | locale  | `mschaden` |
//! | `phone`          | text     | locale  | `(512) 555-0142` / `04 12 34 56 78` (`fr_fr`) |
//! | `cell_phone`     | text     | locale  | `06 12 34 56 78` (`fr_fr`) |
//! | `street`         | text     | locale  | `Schaden Avenue` / `Rue Dupont` |
//! | `street_address` | text     | locale  | `1234 Schaden Avenue` / `Müllerstraße 12` (`de_de`) |
//! | `city`           | text     | locale  | `Port Maudeton` |
//! | `postcode`       | text     | locale  | `12345` / `1234 AB` (`nl_nl`) / `123-4567` (`ja_jp`) |
//! | `country`        | text     | locale  | `Peru` / `Pérou` (`fr_fr`) |
//! | `country_code`   | text     | none    | `PE` (ISO 3166-1 alpha-2) |
//! | `state`          | text     | locale  | `Ohio` / `Bayern` / `Bretagne` / `東京都` |
//! | `company`        | text     | locale  | `Schaden and Kuhn`, `Kuhn LLC` |
//! | `job_title`      | text     | locale  | `Senior Marketing Analyst` |
//! | `iban`           | text     | locale  | `DE89370400440532013000` |
//! | `credit_card`    | text     | none    | `4242421234567897` |
//! | `ipv4`           | text     | none    | `83.12.201.7` |
//! | `ipv6`           | text     | none    | `2001:db8:5a1:c3:ff02:1:88:9` |
//! | `mac_address`    | text     | none    | `02:5a:c1:00:3f:9e` |
//! | `uuid`           | uuid     | none    | random version-4 uuid |
//! | `url`            | text     | `email_domain` | `https://example.org/dolor/quia` |
//! | `word`           | text     | locale  | `dolor` |
//! | `words`          | text     | locale, `count` (words, default 3..=6) | `dolor sit quia` |
//! | `sentence`       | text     | locale, `count` (words, default 6..=14) | `Dolor sit quia amet.` |
//! | `paragraph`      | text     | locale, `count` (sentences, default 3..=6) | several sentences |
//! | `time_zone`      | text     | locale  | `Europe/Paris` |
//! | `currency_code`  | text     | none    | `EUR` (ISO 4217) |
//! | `date`           | date     | `min`, `max` | default 1940-01-01 ..= 2010-12-31 |
//! | `datetime`       | datetime | `min`, `max` | default 2015-01-01T00:00:00Z ..= 2025-12-31T23:59:59.999999Z |
//! | `integer`        | integer  | `min`, `max` | default 0 ..= 1000000 |
//! | `decimal`        | decimal  | `min`, `max`, `scale` (default 2) | default 0 ..= 10000 |
//! | `latitude`       | decimal  | `min`, `max`, `scale` (default 6) | default -90 ..= 90 |
//! | `longitude`      | decimal  | `min`, `max`, `scale` (default 6) | default -180 ..= 180 |
//! | `boolean`        | boolean  | none    | `true` |
//!
//! # Options
//!
//! - `locale`: one of `en` (default), `fr_fr`, `de_de`, `it_it`, `pt_br`, `pt_pt`, `nl_nl`,
//!   `ja_jp`, `zh_cn`, `zh_tw`, `ar_sa`, `cy_gb`, `tr_tr`, `fa_ir` (case and `-`/`_` do not
//!   matter). Generators that do not depend on the locale ignore it.
//! - `min`, `max`: inclusive bounds, for `date` (days since 1970-01-01, years 1 to 9999),
//!   `datetime` (microseconds since 1970-01-01T00:00:00Z, years 1 to 9999), `integer` (whole
//!   numbers within the 64-bit range), `decimal`, `latitude`, `longitude`. Values are drawn
//!   uniformly. A bound left out keeps its default, and must still be on the right side of
//!   the other one.
//! - `count`: `[low, high]`, inclusive, at least 1: the number of words for `words` and
//!   `sentence` (at most 1000), of sentences for `paragraph` (at most 100).
//! - `email_domain`: the domain of `email` addresses and `url`s. Defaults are the reserved
//!   domains `example.com` (email) and `example.org` (url), which can never reach a real
//!   mailbox or site; if you set your own, pick one you control or a reserved name
//!   (`*.example`, `*.test`, `*.invalid`).
//! - `scale`: decimal places for `decimal` (default 2), `latitude` and `longitude` (default
//!   6), at most 10. Values are multiples of `10^-scale` within the range, and with a scale
//!   `|min|` and `|max|` times `10^scale` must stay below 2^53 (about 9.007e15) so that
//!   every such multiple is exact.
//!
//! # Details
//!
//! - `email` and `username` are always ASCII: accented Latin letters are folded (`Müller`
//!   gives `muller`) and locales whose names are not in Latin script (`ja_jp`, `zh_cn`,
//!   `zh_tw`, `ar_sa`, `fa_ir`) use English names for them.
//! - `iban`: a valid ISO 13616 IBAN (mod-97 check digits, correct length and national check
//!   digits where the country has them), written without spaces. The country follows the
//!   locale for `de_de` (DE), `fr_fr` (FR), `nl_nl` (NL), `it_it` (IT) and `cy_gb` (GB), and is
//!   otherwise one of DE, FR, NL, GB, ES, IT, BE, AT. Bank and account numbers are random.
//! - `credit_card`: a 16-digit (Visa, Mastercard) or 15-digit (Amex) number passing the
//!   Luhn check, built on prefixes of the well-known payment-processor test cards
//!   (`424242`, `411111`, `555555`, `378282`, ...), written without spaces.
//! - `uuid`: 16 random bytes with the version-4 and RFC 4122 variant bits set.
//! - `ipv4`: a unicast-looking address (first octet 1 to 223, never 10 or 127; last octet
//!   1 to 254). `ipv6`: an address in the documentation prefix `2001:db8::/32`, written in
//!   the RFC 5952 short form. `mac_address`: a locally administered unicast address, so it
//!   cannot be a real vendor's.
//! - `phone`, `cell_phone` follow the locale's formats; the numbers are random and may be
//!   assigned to someone in real life, but are not derived from the input.
//! - Text in `zh_cn` (`word`, `words`, `sentence`, `paragraph`) is written without spaces and
//!   ends sentences with `。`.
//!
//! # Unique columns
//!
//! When a generated value collides with another input's value in a unique column, the caller
//! generates again with `attempt` 1, 2, ... For `email`, `username` and `url` a later attempt
//! keeps the natural shape and adds a number drawn from the rng, longer at each attempt
//! (`john.smith42@example.com`, then `john.smith317@example.com`, ...); `full_name` adds a
//! middle initial (`John Q. Smith`) in Latin-script locales; every other generator draws a
//! fresh value from another stream of the rng. Attempt 0 always looks natural.
//!
//! Files: this one holds the rule model ([`Generator`], [`Locale`], [`FakeSpec`]) and
//! [`generate`]; `ranges` the ranges and option checks, `locales` the per-locale tables,
//! `text` the text generators, `ids` IBANs, cards and network addresses, `helpers` the small
//! shared pieces, `tests` the tests.

use std::fmt;
use std::sync::Arc;

use fake::locales::{Data, EN};
use fake::rand::RngExt;
use fake::rand::rngs::ChaCha8Rng;

mod apply;
pub(crate) mod bind;
mod helpers;
mod ids;
mod locales;
mod ranges;
#[cfg(test)]
mod tests;
mod text;

pub use bind::FakeRule;
use helpers::{numerify, pick};
pub(crate) use ids::ip_like;
use ids::{CARD_PREFIXES, IBAN_COUNTRIES, credit_card, iban, iban_country, ipv4, ipv6, mac_address, uuid_v4};
use locales::locale_data;
use ranges::{
    DEFAULT_SENTENCE_WORDS, DEFAULT_SENTENCES, DEFAULT_WORDS, MAX_SCALE, MAX_SENTENCES, MAX_WORDS, RANGE_GENERATORS,
    bounds, count, decimal, is_host_name, join_names, range_rules, validate_range,
};
use text::{company, email, full_name, job_title, sentence, street, street_address, url, username, words};

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/// One generator name as written in rules (snake_case), e.g. `first_name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Generator {
    FirstName,
    LastName,
    FullName,
    Email,
    Username,
    Phone,
    CellPhone,
    Street,
    /// Building number and street, in the order of the locale.
    StreetAddress,
    City,
    Postcode,
    Country,
    CountryCode,
    State,
    Company,
    JobTitle,
    Iban,
    CreditCard,
    Ipv4,
    Ipv6,
    MacAddress,
    Uuid,
    Url,
    Word,
    Words,
    Sentence,
    Paragraph,
    TimeZone,
    CurrencyCode,
    Date,
    DateTime,
    Integer,
    Decimal,
    Latitude,
    Longitude,
    Boolean,
    /// A keyed choice among an enum column's labels.
    Enum,
    /// An address of the input's family, with its prefix length (and zero host bits when the
    /// input has them): for `inet` and `cidr` columns.
    Ip,
}

/// What kind of value a generator produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    Text,
    Date,
    DateTime,
    Integer,
    Decimal,
    Boolean,
    Uuid,
}

/// A locale of the fake crate 5.1.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    En,
    FrFr,
    DeDe,
    ItIt,
    PtBr,
    PtPt,
    NlNl,
    JaJp,
    ZhCn,
    ZhTw,
    ArSa,
    CyGb,
    TrTr,
    FaIr,
}

/// Options from the rule, already validated (see [`validate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FakeSpec {
    pub generator: Generator,
    pub locale: Locale,
    /// Inclusive lower bound for `date` (days since 1970-01-01), `datetime` (microseconds
    /// since 1970-01-01T00:00:00Z), `integer`, `decimal`, `latitude`, `longitude`.
    /// `None` = the default: 1940-01-01 for dates, 2015-01-01T00:00:00Z for datetimes,
    /// 0 for integers and decimals, -90 / -180 for latitudes / longitudes.
    pub min: Option<f64>,
    /// Inclusive upper bound, same units as `min`. `None` = the default: 2010-12-31 for
    /// dates, 2025-12-31T23:59:59.999999Z for datetimes, 1000000 for integers, 10000 for
    /// decimals, 90 / 180 for latitudes / longitudes.
    pub max: Option<f64>,
    /// For `words` and `sentence`: number of words; for `paragraph`: number of sentences.
    /// Inclusive range. `None` = 3..=6 words, 6..=14 words, 3..=6 sentences.
    pub count: Option<(usize, usize)>,
    /// For `email` and `url`: the domain to use. `None` = `example.com` (email),
    /// `example.org` (url): reserved domains, never real mailboxes.
    pub email_domain: Option<String>,
    /// Decimal places for `decimal` (default 2), `latitude` and `longitude` (default 6).
    pub scale: Option<u32>,
    /// For `enum`: the column's labels (from the catalog), never empty once bound.
    pub labels: Option<Arc<[String]>>,
    /// A text column's declared `varchar(n)` / `char(n)` when the generator has no fixed
    /// longest value (emails, names, addresses): a value longer than `n` characters is made
    /// again from another keyed seed, up to [`FIT_ATTEMPTS`] times, so values fit by
    /// construction (see [`super::fit`]).
    pub fit_within: Option<usize>,
}

/// Seeds tried for a value that must fit a declared length: the plan accepts a generator on
/// such a column only when the chance that none of them fits is below one in 10^9.
pub const FIT_ATTEMPTS: u32 = 32;

/// The seeds of the re-tries for length stay clear of the attempts of `unique` (at most
/// [`crate::transform::unique::MAX_ATTEMPTS`]): re-try `j` of attempt `a` is `a + j * FIT_SEED_STRIDE`.
pub const FIT_SEED_STRIDE: u32 = 1 << 16;

/// A generated value.
#[derive(Debug, Clone, PartialEq)]
pub enum FakeValue {
    Text(String),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01T00:00:00Z.
    DateTime(i64),
    Integer(i64),
    Decimal(f64),
    Boolean(bool),
    /// The 16 bytes of a version-4 uuid, in network order.
    Uuid([u8; 16]),
}

impl Generator {
    /// Every generator, in the order used by [`Generator::valid_names`].
    pub const ALL: &'static [Generator] = &[
        Generator::FirstName,
        Generator::LastName,
        Generator::FullName,
        Generator::Email,
        Generator::Username,
        Generator::Phone,
        Generator::CellPhone,
        Generator::Street,
        Generator::StreetAddress,
        Generator::City,
        Generator::Postcode,
        Generator::Country,
        Generator::CountryCode,
        Generator::State,
        Generator::Company,
        Generator::JobTitle,
        Generator::Iban,
        Generator::CreditCard,
        Generator::Ipv4,
        Generator::Ipv6,
        Generator::MacAddress,
        Generator::Uuid,
        Generator::Url,
        Generator::Word,
        Generator::Words,
        Generator::Sentence,
        Generator::Paragraph,
        Generator::TimeZone,
        Generator::CurrencyCode,
        Generator::Date,
        Generator::DateTime,
        Generator::Integer,
        Generator::Decimal,
        Generator::Latitude,
        Generator::Longitude,
        Generator::Boolean,
        Generator::Enum,
        Generator::Ip,
    ];

    /// The name written in rules, e.g. `"first_name"`.
    pub fn name(self) -> &'static str {
        match self {
            Generator::FirstName => "first_name",
            Generator::LastName => "last_name",
            Generator::FullName => "full_name",
            Generator::Email => "email",
            Generator::Username => "username",
            Generator::Phone => "phone",
            Generator::CellPhone => "cell_phone",
            Generator::Street => "street",
            Generator::StreetAddress => "street_address",
            Generator::City => "city",
            Generator::Postcode => "postcode",
            Generator::Country => "country",
            Generator::CountryCode => "country_code",
            Generator::State => "state",
            Generator::Company => "company",
            Generator::JobTitle => "job_title",
            Generator::Iban => "iban",
            Generator::CreditCard => "credit_card",
            Generator::Ipv4 => "ipv4",
            Generator::Ipv6 => "ipv6",
            Generator::MacAddress => "mac_address",
            Generator::Uuid => "uuid",
            Generator::Url => "url",
            Generator::Word => "word",
            Generator::Words => "words",
            Generator::Sentence => "sentence",
            Generator::Paragraph => "paragraph",
            Generator::TimeZone => "time_zone",
            Generator::CurrencyCode => "currency_code",
            Generator::Date => "date",
            Generator::DateTime => "datetime",
            Generator::Integer => "integer",
            Generator::Decimal => "decimal",
            Generator::Latitude => "latitude",
            Generator::Longitude => "longitude",
            Generator::Boolean => "boolean",
            Generator::Enum => "enum",
            Generator::Ip => "ip",
        }
    }

    /// Parses a generator name (ASCII case-insensitive).
    pub fn parse(s: &str) -> Option<Generator> {
        let s = s.trim();
        Self::ALL.iter().copied().find(|g| g.name().eq_ignore_ascii_case(s))
    }

    /// All generator names, comma-separated, for error messages.
    pub fn valid_names() -> String {
        join_names(Self::ALL.iter().map(|g| g.name()))
    }

    /// The kind of value this generator produces.
    pub fn output(self) -> OutputKind {
        match self {
            Generator::Date => OutputKind::Date,
            Generator::DateTime => OutputKind::DateTime,
            Generator::Integer => OutputKind::Integer,
            Generator::Decimal | Generator::Latitude | Generator::Longitude => OutputKind::Decimal,
            Generator::Boolean => OutputKind::Boolean,
            Generator::Uuid => OutputKind::Uuid,
            Generator::FirstName
            | Generator::LastName
            | Generator::FullName
            | Generator::Email
            | Generator::Username
            | Generator::Phone
            | Generator::CellPhone
            | Generator::Street
            | Generator::StreetAddress
            | Generator::City
            | Generator::Postcode
            | Generator::Country
            | Generator::CountryCode
            | Generator::State
            | Generator::Company
            | Generator::JobTitle
            | Generator::Iban
            | Generator::CreditCard
            | Generator::Ipv4
            | Generator::Ipv6
            | Generator::MacAddress
            | Generator::Url
            | Generator::Word
            | Generator::Words
            | Generator::Sentence
            | Generator::Paragraph
            | Generator::TimeZone
            | Generator::CurrencyCode
            | Generator::Enum
            | Generator::Ip => OutputKind::Text,
        }
    }

    /// Generators whose retries append a number instead of drawing from a new stream.
    fn suffixes_on_retry(self) -> bool {
        matches!(self, Generator::Email | Generator::Username | Generator::Url)
    }
}

impl fmt::Display for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Locale {
    /// Every locale, in the order used by [`Locale::valid_names`].
    pub const ALL: &'static [Locale] = &[
        Locale::En,
        Locale::FrFr,
        Locale::DeDe,
        Locale::ItIt,
        Locale::PtBr,
        Locale::PtPt,
        Locale::NlNl,
        Locale::JaJp,
        Locale::ZhCn,
        Locale::ZhTw,
        Locale::ArSa,
        Locale::CyGb,
        Locale::TrTr,
        Locale::FaIr,
    ];

    /// The name written in rules, e.g. `"fr_fr"`.
    pub fn name(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::FrFr => "fr_fr",
            Locale::DeDe => "de_de",
            Locale::ItIt => "it_it",
            Locale::PtBr => "pt_br",
            Locale::PtPt => "pt_pt",
            Locale::NlNl => "nl_nl",
            Locale::JaJp => "ja_jp",
            Locale::ZhCn => "zh_cn",
            Locale::ZhTw => "zh_tw",
            Locale::ArSa => "ar_sa",
            Locale::CyGb => "cy_gb",
            Locale::TrTr => "tr_tr",
            Locale::FaIr => "fa_ir",
        }
    }

    /// Parses a locale name; ASCII case does not matter and `-` may stand for `_`
    /// (`fr_fr`, `fr-FR`, `FR_FR` are the same).
    pub fn parse(s: &str) -> Option<Locale> {
        let s = s.trim();
        let norm = |b: u8| {
            if b == b'-' { b'_' } else { b.to_ascii_lowercase() }
        };
        Self::ALL.iter().copied().find(|l| {
            let n = l.name();
            n.len() == s.len() && n.bytes().zip(s.bytes()).all(|(a, b)| a == norm(b))
        })
    }

    /// All locale names, comma-separated, for error messages.
    pub fn valid_names() -> String {
        join_names(Self::ALL.iter().map(|l| l.name()))
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FakeSpec {
    /// A spec with the given generator, locale `en` and every option at its default.
    pub fn new(generator: Generator) -> FakeSpec {
        FakeSpec {
            generator,
            locale: Locale::En,
            min: None,
            max: None,
            count: None,
            email_domain: None,
            scale: None,
            labels: None,
            fit_within: None,
        }
    }
}

/// Generates one value.
///
/// `attempt` > 0 means a previous attempt collided with another input's value in a unique
/// column (see the module docs, "Unique columns"). Never panics, whatever the spec; specs
/// that [`validate`] rejects get their options clamped or swapped into something usable.
pub fn generate(spec: &FakeSpec, rng: &mut ChaCha8Rng, attempt: u32) -> FakeValue {
    let g = spec.generator;
    if attempt > 0 && !g.suffixes_on_retry() {
        // Works whether or not the caller already mixed the attempt into the seed.
        let stream = rng.get_stream();
        rng.set_stream(stream.wrapping_add(u64::from(attempt)));
    }
    let d = locale_data(spec.locale);
    let mut out = String::with_capacity(24);
    match g {
        Generator::Date => {
            let (lo, hi) = bounds(spec);
            return FakeValue::Date(rng.random_range(lo as i32..=hi as i32));
        }
        Generator::DateTime => {
            let (lo, hi) = bounds(spec);
            return FakeValue::DateTime(rng.random_range(lo as i64..=hi as i64));
        }
        Generator::Integer => {
            let (lo, hi) = bounds(spec);
            return FakeValue::Integer(rng.random_range(lo as i64..=hi as i64));
        }
        Generator::Decimal | Generator::Latitude | Generator::Longitude => {
            return FakeValue::Decimal(decimal(spec, rng));
        }
        Generator::Boolean => return FakeValue::Boolean(rng.random::<bool>()),
        Generator::Uuid => return FakeValue::Uuid(uuid_v4(rng)),
        Generator::FirstName => out.push_str(pick(rng, d.first_names)),
        Generator::LastName => out.push_str(pick(rng, d.last_names)),
        Generator::FullName => full_name(d, rng, attempt, &mut out),
        Generator::Email => email(spec, d, rng, attempt, &mut out),
        Generator::Username => username(d, rng, attempt, &mut out),
        Generator::Phone => numerify(pick(rng, d.phone_formats), rng, &mut out),
        Generator::CellPhone => numerify(pick(rng, d.cell_formats), rng, &mut out),
        Generator::Street => street(d, rng, &mut out),
        Generator::StreetAddress => street_address(d, rng, &mut out),
        Generator::City => out = (d.city)(rng),
        Generator::Postcode => numerify(pick(rng, d.postcode_formats), rng, &mut out),
        Generator::Country => out.push_str(pick(rng, d.countries)),
        Generator::CountryCode => out.push_str(pick(rng, EN::ADDRESS_COUNTRY_CODE)),
        Generator::State => out.push_str(pick(rng, d.states)),
        Generator::Company => company(d, rng, &mut out),
        Generator::JobTitle => job_title(d, rng, &mut out),
        Generator::Iban => iban(spec.locale, rng, &mut out),
        Generator::CreditCard => credit_card(rng, &mut out),
        Generator::Ipv4 => ipv4(rng, &mut out),
        Generator::Ipv6 => ipv6(rng, &mut out),
        Generator::MacAddress => mac_address(rng, &mut out),
        Generator::Url => url(spec, rng, attempt, &mut out),
        Generator::Word => out.push_str(pick(rng, d.lorem)),
        Generator::Words => {
            let (lo, hi) = count(spec, DEFAULT_WORDS, MAX_WORDS);
            let n = rng.random_range(lo..=hi);
            words(d, rng, n, &mut out);
        }
        Generator::Sentence => {
            let (lo, hi) = count(spec, DEFAULT_SENTENCE_WORDS, MAX_WORDS);
            let n = rng.random_range(lo..=hi);
            sentence(d, rng, n, &mut out);
        }
        Generator::Paragraph => {
            let (lo, hi) = count(spec, DEFAULT_SENTENCES, MAX_SENTENCES);
            let n = rng.random_range(lo..=hi);
            for i in 0..n {
                if i > 0 && !d.cjk_text {
                    out.push(' ');
                }
                let (wlo, whi) = DEFAULT_SENTENCE_WORDS;
                let w = rng.random_range(wlo..=whi);
                sentence(d, rng, w, &mut out);
            }
        }
        Generator::TimeZone => out.push_str(pick(rng, d.time_zones)),
        Generator::CurrencyCode => out.push_str(pick(rng, EN::CURRENCY_CODE)),
        Generator::Enum => {
            let labels = spec.labels.as_deref().unwrap_or_default();
            if !labels.is_empty() {
                out.push_str(&labels[rng.random_range(0..labels.len())]);
            }
        }
        // Without an input address (see `ids::ip_like`, which the text path uses): IPv4.
        Generator::Ip => ipv4(rng, &mut out),
    }
    FakeValue::Text(out)
}

/// The most characters a value of this generator can have as text, when its data or
/// format fixes that: names, countries, states, time zones and words picked from the
/// locale's lists, phone numbers and postcodes from its formats, codes, `iban` (by the
/// locale's country, else the longest of the countries), `credit_card`, `ipv4` (15),
/// `ipv6` (39), `mac_address` (17), `uuid` (36), `boolean` (5). `None` when the length has
/// no fixed bound (emails, full names, addresses, companies, sentences, numbers, dates).
/// The plan compares it with a column's declared `varchar(n)` / `char(n)`.
pub fn max_chars(spec: &FakeSpec) -> Option<usize> {
    let d = locale_data(spec.locale);
    let longest = |list: &[&str]| list.iter().map(|s| s.chars().count()).max();
    match spec.generator {
        Generator::FirstName => longest(d.first_names),
        Generator::LastName => longest(d.last_names),
        Generator::Phone => longest(d.phone_formats),
        Generator::CellPhone => longest(d.cell_formats),
        Generator::Postcode => longest(d.postcode_formats),
        Generator::Country => longest(d.countries),
        Generator::State => longest(d.states),
        Generator::TimeZone => longest(d.time_zones),
        Generator::Word => longest(d.lorem),
        Generator::CountryCode => longest(EN::ADDRESS_COUNTRY_CODE),
        Generator::CurrencyCode => longest(EN::CURRENCY_CODE),
        Generator::Iban => match iban_country(spec.locale) {
            Some(country) => Some(country.length()),
            None => IBAN_COUNTRIES.iter().map(|c| c.length()).max(),
        },
        Generator::CreditCard => CARD_PREFIXES.iter().map(|&(_, len)| len).max(),
        Generator::Ipv4 => Some("255.255.255.255".len()),
        Generator::Ipv6 => Some("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff".len()),
        Generator::MacAddress => Some("ff:ff:ff:ff:ff:ff".len()),
        Generator::Uuid => Some(36),
        Generator::Boolean => Some("false".len()),
        Generator::Enum => spec.labels.as_deref().unwrap_or_default().iter().map(|l| l.chars().count()).max(),
        Generator::Ip => Some("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128".len()),
        Generator::FullName
        | Generator::Email
        | Generator::Username
        | Generator::Street
        | Generator::StreetAddress
        | Generator::City
        | Generator::Company
        | Generator::JobTitle
        | Generator::Url
        | Generator::Words
        | Generator::Sentence
        | Generator::Paragraph
        | Generator::Date
        | Generator::DateTime
        | Generator::Integer
        | Generator::Decimal
        | Generator::Latitude
        | Generator::Longitude => None,
    }
}

/// Validates a spec built from user options. Returns every problem found, joined by `; `,
/// each naming the option and the valid choices.
pub fn validate(spec: &FakeSpec) -> Result<(), String> {
    let g = spec.generator;
    let mut errors: Vec<String> = Vec::new();

    if spec.min.is_some() || spec.max.is_some() {
        match range_rules(g) {
            None => errors.push(format!("min and max apply only to {RANGE_GENERATORS}, not to `{g}`")),
            Some(r) => validate_range(spec, &r, &mut errors),
        }
    }

    if let Some((lo, hi)) = spec.count {
        let cap = match g {
            Generator::Words | Generator::Sentence => Some(MAX_WORDS),
            Generator::Paragraph => Some(MAX_SENTENCES),
            _ => None,
        };
        match cap {
            None => errors.push(format!("count applies only to words, sentence, paragraph, not to `{g}`")),
            Some(cap) => {
                if lo < 1 {
                    errors.push("count must start at 1 or more".to_string());
                }
                if lo > hi {
                    errors.push("count must be [low, high] with low <= high".to_string());
                }
                if hi > cap {
                    errors.push(format!("count for `{g}` must be at most {cap}"));
                }
            }
        }
    }

    if let Some(domain) = &spec.email_domain {
        if !matches!(g, Generator::Email | Generator::Url) {
            errors.push(format!("email_domain applies only to email, url, not to `{g}`"));
        } else if !is_host_name(domain) {
            errors.push(
                "email_domain must be a domain name such as example.com (ASCII letters, digits, \
                 '-' and '.', labels of 1 to 63 characters)"
                    .to_string(),
            );
        }
    }

    if let Some(scale) = spec.scale {
        if !matches!(g, Generator::Decimal | Generator::Latitude | Generator::Longitude) {
            errors.push(format!("scale applies only to decimal, latitude, longitude, not to `{g}`"));
        } else if scale > MAX_SCALE {
            errors.push(format!("scale must be at most {MAX_SCALE}"));
        }
    }

    if errors.is_empty() { Ok(()) } else { Err(errors.join("; ")) }
}
