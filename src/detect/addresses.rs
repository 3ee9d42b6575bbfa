//! IBANs and IP addresses in free text. See [`super`] for what matches and what does not.

use std::net::Ipv6Addr;

use regex::Regex;

use super::checksum::iban_valid;
use super::{Detector, Finding, is_word};

pub(super) fn find_ibans(re: &Regex, text: &str, hits: &mut Vec<Finding>) {
    let b = text.as_bytes();
    let mut at = 0;
    while let Some(m) = re.find_at(text, at) {
        let start = m.start();
        at = m.end();
        // Candidate ends: after each group of letters/digits (followed by a non-word
        // byte), within 34 characters.
        let mut ends = [0usize; 34];
        let mut n_ends = 0;
        let mut q = m.end();
        let mut count = 4;
        loop {
            while q < b.len() && b[q].is_ascii_alphanumeric() && count < 34 {
                q += 1;
                count += 1;
            }
            if q < b.len() && is_word(b[q]) {
                break; // longer than any IBAN, or glued to `_`
            }
            if count >= 15 && n_ends < ends.len() {
                ends[n_ends] = q;
                n_ends += 1;
            }
            if b.get(q) == Some(&b' ') && b.get(q + 1).is_some_and(u8::is_ascii_alphanumeric) {
                q += 1;
            } else {
                break;
            }
        }
        if let Some(&end) = ends[..n_ends].iter().rev().find(|&&end| iban_valid(&text[start..end])) {
            let detector = Detector::Iban;
            hits.push(Finding { start, end, detector });
            at = end;
        }
    }
}

pub(super) fn find_ipv4(re: &Regex, text: &str, hits: &mut Vec<Finding>) {
    let b = text.as_bytes();
    for m in re.find_iter(text) {
        let (s, e) = (m.start(), m.end());
        let octets_ok =
            m.as_str().split('.').all(|o| o.bytes().fold(0u32, |acc, c| acc * 10 + u32::from(c - b'0')) <= 255);
        let dotted_before = s >= 2 && b[s - 1] == b'.' && b[s - 2].is_ascii_digit();
        let dotted_after = b.get(e) == Some(&b'.') && b.get(e + 1).is_some_and(u8::is_ascii_digit);
        if octets_ok && !dotted_before && !dotted_after {
            let detector = Detector::Ip;
            hits.push(Finding { start: s, end: e, detector });
        }
    }
}

pub(super) fn find_ipv6(re: &Regex, text: &str, hits: &mut Vec<Finding>) {
    let b = text.as_bytes();
    for m in re.find_iter(text) {
        let (mut s, mut e) = (m.start(), m.end());
        while e > s && b[e - 1] == b'.' {
            e -= 1;
        }
        if b.get(s) == Some(&b':') && b.get(s + 1) != Some(&b':') {
            s += 1;
        }
        if (s > 0 && is_word(b[s - 1])) || (e < b.len() && is_word(b[e])) {
            continue;
        }
        if !b[s..e].iter().any(u8::is_ascii_digit) {
            continue;
        }
        let parses = |e: usize| text[s..e].parse::<Ipv6Addr>().is_ok();
        let end = if parses(e) {
            e
        } else if e > s + 1 && b[e - 1] == b':' && parses(e - 1) {
            e - 1
        } else {
            continue;
        };
        let detector = Detector::Ip;
        hits.push(Finding { start: s, end, detector });
    }
}
