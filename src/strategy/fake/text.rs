//! The `fake` text generators: names, emails, usernames, URLs, addresses, companies, job
//! titles and lorem words.

use std::fmt::Write as _;

use fake::rand::RngExt;
use fake::rand::rngs::ChaCha8Rng;

use super::FakeSpec;
use super::helpers::{Buf, expand, numerify, pick, retry_number, slug};
use super::locales::{EN_DATA, LocaleData, NumberStyle};

pub(super) fn full_name(d: &LocaleData, rng: &mut ChaCha8Rng, attempt: u32, out: &mut String) {
    let initial = (attempt > 0 && d.ascii_names).then(|| char::from(b'A' + rng.random_range(0..26u8)));
    expand(d.name_tpl, rng, out, |key, rng, out| match key {
        "FirstName" => {
            out.push_str(pick(rng, d.first_names));
            if let Some(c) = initial {
                out.push(' ');
                out.push(c);
                out.push('.');
            }
        }
        "LastName" => out.push_str(pick(rng, d.last_names)),
        _ => {}
    });
}

/// An ASCII first and last name (slugs), from the locale or, for non-Latin scripts or
/// names that fold to nothing, from the English tables.
pub(super) fn ascii_name(d: &LocaleData, rng: &mut ChaCha8Rng) -> (Buf<40>, Buf<40>) {
    if d.ascii_names {
        let f: Buf<40> = slug(pick(rng, d.first_names));
        let l: Buf<40> = slug(pick(rng, d.last_names));
        if !f.is_empty() && !l.is_empty() {
            return (f, l);
        }
    }
    let f = slug(pick(rng, EN_DATA.first_names));
    let l = slug(pick(rng, EN_DATA.last_names));
    if f.is_empty() || l.is_empty() {
        let mut f = Buf::new();
        f.push_str("user");
        let mut l = Buf::new();
        l.push_str("name");
        return (f, l);
    }
    (f, l)
}

pub(super) fn first_char(b: &Buf<40>) -> &str {
    b.as_str().get(..1).unwrap_or("")
}

pub(super) fn email(spec: &FakeSpec, d: &LocaleData, rng: &mut ChaCha8Rng, attempt: u32, out: &mut String) {
    let (f, l) = ascii_name(d, rng);
    let (f, l) = (&f, &l);
    match rng.random_range(0..10u8) {
        0..=3 => push_all(out, &[f.as_str(), ".", l.as_str()]),
        4 => push_all(out, &[f.as_str(), l.as_str()]),
        5 => push_all(out, &[f.as_str(), "_", l.as_str()]),
        6 | 7 => push_all(out, &[first_char(f), ".", l.as_str()]),
        8 => push_all(out, &[first_char(f), l.as_str()]),
        _ => push_all(out, &[l.as_str(), ".", f.as_str()]),
    }
    if attempt > 0 {
        let _ = write!(out, "{}", retry_number(rng, attempt));
    }
    out.push('@');
    out.push_str(spec.email_domain.as_deref().unwrap_or("example.com"));
}

pub(super) fn username(d: &LocaleData, rng: &mut ChaCha8Rng, attempt: u32, out: &mut String) {
    let (f, l) = ascii_name(d, rng);
    let (f, l) = (&f, &l);
    match rng.random_range(0..10u8) {
        0 | 1 => push_all(out, &[first_char(f), l.as_str()]),
        2 | 3 => push_all(out, &[f.as_str(), ".", l.as_str()]),
        4 => push_all(out, &[f.as_str(), "_", l.as_str()]),
        5 => push_all(out, &[f.as_str(), l.as_str()]),
        6 => push_all(out, &[l.as_str(), first_char(f)]),
        7 => {
            out.push_str(f.as_str());
            let _ = write!(out, "{}", rng.random_range(10..100u32));
        }
        8 => {
            push_all(out, &[first_char(f), l.as_str()]);
            let _ = write!(out, "{}", rng.random_range(10..100u32));
        }
        _ => push_all(out, &[f.as_str(), first_char(l)]),
    }
    if attempt > 0 {
        let _ = write!(out, "{}", retry_number(rng, attempt));
    }
}

pub(super) fn push_all(out: &mut String, parts: &[&str]) {
    for p in parts {
        out.push_str(p);
    }
}

pub(super) fn url(spec: &FakeSpec, rng: &mut ChaCha8Rng, attempt: u32, out: &mut String) {
    out.push_str("https://");
    out.push_str(spec.email_domain.as_deref().unwrap_or("example.org"));
    let segments = rng.random_range(1..=3u8);
    for _ in 0..segments {
        out.push('/');
        out.push_str(pick(rng, EN_DATA.lorem));
    }
    if rng.random_bool(0.3) {
        out.push('-');
        out.push_str(pick(rng, EN_DATA.lorem));
    }
    if attempt > 0 {
        let _ = write!(out, "-{}", retry_number(rng, attempt));
    }
}

pub(super) fn street(d: &LocaleData, rng: &mut ChaCha8Rng, out: &mut String) {
    let d = if d.en_streets { &EN_DATA } else { d };
    expand(d.street_tpl, rng, out, |key, rng, out| match key {
        "StreetName" => {
            let names = if rng.random::<bool>() { d.first_names } else { d.last_names };
            out.push_str(pick(rng, names));
        }
        "StreetSuffix" => out.push_str(pick(rng, d.street_suffixes)),
        _ => {}
    });
}

pub(super) fn street_address(d: &LocaleData, rng: &mut ChaCha8Rng, out: &mut String) {
    match d.number_style {
        NumberStyle::UsBefore => {
            let _ = write!(out, "{} ", rng.random_range(1..=9999u32));
            street(d, rng, out);
        }
        NumberStyle::Before => {
            let _ = write!(out, "{} ", rng.random_range(1..=199u32));
            street(d, rng, out);
        }
        NumberStyle::After => {
            street(d, rng, out);
            let _ = write!(out, " {}", rng.random_range(1..=199u32));
            if rng.random_bool(0.1) {
                out.push(char::from(b'a' + rng.random_range(0..3u8)));
            }
        }
        NumberStyle::AfterComma => {
            street(d, rng, out);
            let _ = write!(out, ", {}", rng.random_range(1..=199u32));
        }
        NumberStyle::AfterFormat => {
            street(d, rng, out);
            out.push(' ');
            numerify(pick(rng, d.building_formats), rng, out);
        }
        NumberStyle::ZhHao => {
            street(d, rng, out);
            let _ = write!(out, "{}号", rng.random_range(1..=999u32));
        }
    }
}

pub(super) fn company(d: &LocaleData, rng: &mut ChaCha8Rng, out: &mut String) {
    let d = if d.en_companies { &EN_DATA } else { d };
    expand(pick(rng, d.company_tpls), rng, out, |key, rng, out| match key {
        "Name_1" | "Name_2" => out.push_str(pick(rng, d.last_names)),
        "Suffix" => out.push_str(pick(rng, d.company_suffixes)),
        _ => {}
    });
}

pub(super) fn job_title(d: &LocaleData, rng: &mut ChaCha8Rng, out: &mut String) {
    expand(d.job_title_tpl, rng, out, |key, rng, out| match key {
        "Seniority" => out.push_str(pick(rng, d.job_seniority)),
        "Field" => out.push_str(pick(rng, d.job_field)),
        "Position" => out.push_str(pick(rng, d.job_position)),
        _ => {}
    });
}

pub(super) fn words(d: &LocaleData, rng: &mut ChaCha8Rng, n: usize, out: &mut String) {
    for i in 0..n {
        if i > 0 && !d.cjk_text {
            out.push(' ');
        }
        out.push_str(pick(rng, d.lorem));
    }
}

pub(super) fn sentence(d: &LocaleData, rng: &mut ChaCha8Rng, n: usize, out: &mut String) {
    let start = out.len();
    words(d, rng, n, out);
    if let Some(first) = out.get_mut(start..start + 1) {
        first.make_ascii_uppercase();
    }
    out.push_str(if d.cjk_text { "。" } else { "." });
}
