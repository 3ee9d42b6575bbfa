//! The `fake` identifier generators: IBANs (with national check digits), card numbers,
//! network addresses and uuids. Check digits come from [`crate::detect::checksum`].

use std::fmt::Write as _;
use std::net::Ipv6Addr;

use fake::rand::rngs::ChaCha8Rng;
use fake::rand::{Rng, RngExt};

use crate::detect::checksum::{iban_check_digits, luhn_check_digit};

use super::Locale;
use super::helpers::Buf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum IbanCountry {
    De,
    Fr,
    Nl,
    Gb,
    Es,
    It,
    Be,
    At,
}

pub(super) const IBAN_COUNTRIES: [IbanCountry; 8] = [
    IbanCountry::De,
    IbanCountry::Fr,
    IbanCountry::Nl,
    IbanCountry::Gb,
    IbanCountry::Es,
    IbanCountry::It,
    IbanCountry::Be,
    IbanCountry::At,
];

impl IbanCountry {
    pub(super) fn code(self) -> &'static str {
        match self {
            IbanCountry::De => "DE",
            IbanCountry::Fr => "FR",
            IbanCountry::Nl => "NL",
            IbanCountry::Gb => "GB",
            IbanCountry::Es => "ES",
            IbanCountry::It => "IT",
            IbanCountry::Be => "BE",
            IbanCountry::At => "AT",
        }
    }

    /// Characters of the whole IBAN (country code, check digits, BBAN).
    pub(super) fn length(self) -> usize {
        match self {
            IbanCountry::De | IbanCountry::Gb => 22,
            IbanCountry::Fr | IbanCountry::It => 27,
            IbanCountry::Nl => 18,
            IbanCountry::Es => 24,
            IbanCountry::Be => 16,
            IbanCountry::At => 20,
        }
    }
}

/// The IBAN country of a locale, when it has one of [`IBAN_COUNTRIES`].
pub(super) fn iban_country(locale: Locale) -> Option<IbanCountry> {
    match locale {
        Locale::DeDe => Some(IbanCountry::De),
        Locale::FrFr => Some(IbanCountry::Fr),
        Locale::NlNl => Some(IbanCountry::Nl),
        Locale::ItIt => Some(IbanCountry::It),
        Locale::CyGb => Some(IbanCountry::Gb),
        _ => None,
    }
}

pub(super) fn iban(locale: Locale, rng: &mut ChaCha8Rng, out: &mut String) {
    let country = iban_country(locale).unwrap_or_else(|| IBAN_COUNTRIES[rng.random_range(0..IBAN_COUNTRIES.len())]);
    let bban = bban(country, rng);
    let check = iban_check_digits(country.code(), bban.bytes());
    out.push_str(country.code());
    out.push(char::from(b'0' + check / 10));
    out.push(char::from(b'0' + check % 10));
    out.push_str(bban.as_str());
}

/// The national part of an IBAN, with national check digits where the country has them.
pub(super) fn bban(country: IbanCountry, rng: &mut ChaCha8Rng) -> Buf<32> {
    let mut b = Buf::<32>::new();
    match country {
        // Bankleitzahl (8, first digit 1-8) + account (10).
        IbanCountry::De => {
            b.push(b'0' + rng.random_range(1..=8u8));
            b.digits(rng, 17);
        }
        // Bank (5) + branch (5) + account (11) + RIB key (2).
        IbanCountry::Fr => {
            b.digits(rng, 21);
            let key = rib_key(b.number(0, 5), b.number(5, 10), b.number(10, 21));
            b.push(b'0' + (key / 10) as u8);
            b.push(b'0' + (key % 10) as u8);
        }
        // Bank code (4 letters) + account (10).
        IbanCountry::Nl => {
            b.letters(rng, 4);
            b.digits(rng, 10);
        }
        // Bank code (4 letters) + sort code (6) + account (8).
        IbanCountry::Gb => {
            b.letters(rng, 4);
            b.digits(rng, 14);
        }
        // Bank (4) + branch (4) + 2 check digits + account (10).
        IbanCountry::Es => {
            let mut bank_branch = [0u8; 10];
            let mut account = [0u8; 10];
            for d in bank_branch[2..].iter_mut().chain(account.iter_mut()) {
                *d = rng.random_range(0..10u8);
            }
            let dc1 = es_check_digit(&bank_branch);
            let dc2 = es_check_digit(&account);
            for &d in &bank_branch[2..] {
                b.push(b'0' + d);
            }
            b.push(b'0' + dc1);
            b.push(b'0' + dc2);
            for &d in &account {
                b.push(b'0' + d);
            }
        }
        // CIN (1 letter) + ABI (5) + CAB (5) + account (12).
        IbanCountry::It => {
            let mut rest = Buf::<22>::new();
            rest.digits(rng, 22);
            b.push(it_cin(rest.bytes()));
            b.push_str(rest.as_str());
        }
        // Bank (3) + account (7) + check (2) = first 10 digits mod 97 (97 for 0).
        IbanCountry::Be => {
            b.digits(rng, 10);
            let check = match b.number(0, 10) % 97 {
                0 => 97,
                c => c,
            };
            b.push(b'0' + (check / 10) as u8);
            b.push(b'0' + (check % 10) as u8);
        }
        // Bank (5) + account (11).
        IbanCountry::At => {
            b.push(b'0' + rng.random_range(1..=9u8));
            b.digits(rng, 15);
        }
    }
    b
}

/// French RIB key.
pub(super) fn rib_key(bank: u64, branch: u64, account: u64) -> u64 {
    97 - (89 * bank + 15 * branch + 3 * account) % 97
}

/// Spanish "dígito de control" over 10 digits (values 0-9).
pub(super) fn es_check_digit(digits: &[u8; 10]) -> u8 {
    const WEIGHTS: [u32; 10] = [1, 2, 4, 8, 5, 10, 9, 7, 3, 6];
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(&d, w)| u32::from(d) * w).sum();
    match 11 - sum % 11 {
        11 => 0,
        10 => 1,
        d => d as u8,
    }
}

/// Italian CIN over ABI + CAB + account (22 ASCII digits).
pub(super) fn it_cin(digits: &[u8]) -> u8 {
    const ODD: [u32; 10] = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21];
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let v = usize::from(c.wrapping_sub(b'0') % 10);
            // Positions 1, 3, 5, ... (1-based) use the "odd" table.
            if i % 2 == 0 { ODD[v] } else { v as u32 }
        })
        .sum();
    b'A' + (sum % 26) as u8
}

/// Prefixes of well-known payment-processor test cards, and the card length.
pub(super) const CARD_PREFIXES: &[(&str, usize)] = &[
    ("424242", 16),
    ("400005", 16),
    ("411111", 16),
    ("401288", 16),
    ("555555", 16),
    ("510510", 16),
    ("222300", 16),
    ("378282", 15),
    ("371449", 15),
];

pub(super) fn credit_card(rng: &mut ChaCha8Rng, out: &mut String) {
    let (prefix, len) = CARD_PREFIXES[rng.random_range(0..CARD_PREFIXES.len())];
    let mut b = Buf::<19>::new();
    b.push_str(prefix);
    b.digits(rng, len - 1 - prefix.len());
    let check = luhn_check_digit(b.bytes());
    b.push(b'0' + check);
    out.push_str(b.as_str());
}

pub(super) fn ipv4(rng: &mut ChaCha8Rng, out: &mut String) {
    // 1..=223 without 10 and 127.
    let mut first = rng.random_range(1..=221u8);
    if first >= 10 {
        first += 1;
    }
    if first >= 127 {
        first += 1;
    }
    let (b, c) = (rng.random::<u8>(), rng.random::<u8>());
    let d = rng.random_range(1..=254u8);
    let _ = write!(out, "{first}.{b}.{c}.{d}");
}

pub(super) fn ipv6(rng: &mut ChaCha8Rng, out: &mut String) {
    let mut s = [0u16; 6];
    for x in &mut s {
        *x = rng.random();
    }
    let addr = Ipv6Addr::new(0x2001, 0x0db8, s[0], s[1], s[2], s[3], s[4], s[5]);
    let _ = write!(out, "{addr}");
}

/// An address of `input`'s family (an `inet` or `cidr` text form) with random bits, the same
/// prefix length written the same way, and zero host bits when `input` has them (so a `cidr`
/// value stays one). `Err` (never quoting the value) when `input` is not an address.
pub(crate) fn ip_like(rng: &mut ChaCha8Rng, input: &str, out: &mut String) -> Result<(), String> {
    let not_an_address = || "a value is not an IP address in inet/cidr form".to_string();
    let (addr, prefix) = match input.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (input, None),
    };
    let ip: std::net::IpAddr = addr.parse().map_err(|_| not_an_address())?;
    let width: u32 = if ip.is_ipv4() { 32 } else { 128 };
    let length = match prefix.map(str::parse::<u32>) {
        None => width,
        Some(Ok(p)) if p <= width => p,
        Some(_) => return Err(not_an_address()),
    };
    let original: u128 = match ip {
        std::net::IpAddr::V4(v4) => u128::from(u32::from(v4)),
        std::net::IpAddr::V6(v6) => u128::from(v6),
    };
    let host = width - length;
    let host_mask: u128 = if host == 0 {
        0
    } else if host == 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    };
    let mut bits: u128 = if width == 32 { u128::from(rng.random::<u32>()) } else { rng.random::<u128>() };
    if host > 0 && original & host_mask == 0 {
        bits &= !host_mask;
    }
    if width == 32 {
        let _ = write!(out, "{}", std::net::Ipv4Addr::from(bits as u32));
    } else {
        let _ = write!(out, "{}", Ipv6Addr::from(bits));
    }
    if prefix.is_some() {
        let _ = write!(out, "/{length}");
    }
    Ok(())
}

pub(super) fn mac_address(rng: &mut ChaCha8Rng, out: &mut String) {
    let mut m: [u8; 6] = rng.random();
    // Locally administered, unicast.
    m[0] = (m[0] & 0xfc) | 0x02;
    let _ = write!(out, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
}

pub(super) fn uuid_v4(rng: &mut ChaCha8Rng) -> [u8; 16] {
    let mut u = [0u8; 16];
    u[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    u[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    u
}
