//! PostgreSQL URLs taken apart and put together: `postgres[ql]://user:password@host:port/db?…`
//! split into percent-decoded parts, the same URL naming another database, and the printable
//! form without the password. A libpq `key=value` connection string ([`super::conninfo`]) is
//! taken apart into the same parts, all as parameters.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::conninfo;
use crate::error::{Error, Result};

/// What a database name keeps unescaped in a URL: RFC 3986's unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// The parts of a libpq URL, percent-decoded; `None` where the URL does not say.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct UrlParts {
    pub user: Option<String>,
    pub password: Option<String>,
    pub hosts: Vec<String>,
    pub ports: Vec<String>,
    pub dbname: Option<String>,
    pub params: Vec<(String, String)>,
}

/// Whether `s` names a PostgreSQL connection: a `postgres[ql]://` URL or a libpq `key=value`
/// connection string.
pub fn is_connection(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://") || conninfo::is_conninfo(s)
}

/// A URL's parts ([`parse_url`]), or a connection string's pairs as parameters.
pub fn parse_connection(s: &str, shown: &str) -> Result<UrlParts> {
    if s.contains("://") {
        parse_url(s, shown)
    } else {
        Ok(UrlParts { params: conninfo::parse(s, shown)?, ..UrlParts::default() })
    }
}

impl UrlParts {
    /// Applies a service's parameters under the ones given explicitly (libpq's precedence:
    /// the string, then the service, then the environment).
    pub fn add_service(&mut self, service: Vec<(String, String)>) {
        let explicit = |key: &str| {
            self.params.iter().any(|(k, _)| k == key)
                || match key {
                    "host" => self.hosts.iter().any(|h| !h.is_empty()),
                    "port" => self.ports.iter().any(|p| !p.is_empty()),
                    "user" => self.user.is_some(),
                    "password" => self.password.is_some(),
                    "dbname" => self.dbname.is_some(),
                    "sslmode" => self.params.iter().any(|(k, _)| k == "requiressl"),
                    _ => false,
                }
        };
        let kept: Vec<(String, String)> = service.into_iter().filter(|(k, _)| !explicit(k)).collect();
        self.params.splice(0..0, kept);
    }

    /// Removes the `service` parameter and returns the service it names (the last one given).
    pub fn take_service(&mut self) -> Option<String> {
        let service = self.params.iter().rev().find(|(k, _)| k == "service").map(|(_, v)| v.clone());
        self.params.retain(|(k, _)| k != "service");
        service
    }
}

/// Splits `postgres[ql]://[user[:password]@][host][:port][,...][/dbname][?param=value&...]`.
pub fn parse_url(url: &str, shown: &str) -> Result<UrlParts> {
    let rest = url
        .strip_prefix("postgresql://")
        .or_else(|| url.strip_prefix("postgres://"))
        .ok_or_else(|| Error::source(shown, "not a PostgreSQL URL; expected postgres://… or postgresql://…"))?;
    let (before_query, query) = match rest.find('?') {
        Some(q) => (&rest[..q], Some(&rest[q + 1..])),
        None => (rest, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(p) => (&before_query[..p], Some(&before_query[p + 1..])),
        None => (before_query, None),
    };
    let mut parts = UrlParts::default();
    let hostspec = match authority.rfind('@') {
        Some(at) => {
            let creds = &authority[..at];
            match creds.find(':') {
                Some(c) => {
                    parts.user = Some(percent_decode(&creds[..c], "user name", shown)?);
                    parts.password = Some(percent_decode(&creds[c + 1..], "password", shown)?);
                }
                None => parts.user = Some(percent_decode(creds, "user name", shown)?),
            }
            &authority[at + 1..]
        }
        None => authority,
    };
    if !hostspec.is_empty() {
        for chunk in hostspec.split(',') {
            let (host, port) = if let Some(inner) = chunk.strip_prefix('[') {
                let close = inner
                    .find(']')
                    .ok_or_else(|| Error::source(shown, "an IPv6 host in the URL lacks its closing ']'"))?;
                let after = &inner[close + 1..];
                let port = match after.strip_prefix(':') {
                    Some(p) => p,
                    None if after.is_empty() => "",
                    None => return Err(Error::source(shown, "unexpected text after an IPv6 host in the URL")),
                };
                (&inner[..close], port)
            } else {
                match chunk.rfind(':') {
                    Some(c) => (&chunk[..c], &chunk[c + 1..]),
                    None => (chunk, ""),
                }
            };
            parts.hosts.push(percent_decode(host, "host", shown)?);
            parts.ports.push(percent_decode(port, "port", shown)?);
        }
    }
    if let Some(path) = path.filter(|p| !p.is_empty()) {
        parts.dbname = Some(percent_decode(path, "database name", shown)?);
    }
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                Error::source(shown, "a URL parameter lacks '='; write parameters as ?name=value&name=value")
            })?;
            let key = percent_decode(k, "parameter name", shown)?;
            let value = percent_decode(v, "parameter value", shown)?;
            parts.params.push((key, value));
        }
    }
    Ok(parts)
}

fn percent_decode(s: &str, what: &str, shown: &str) -> Result<String> {
    // Every '%' must start an escape of two hex digits (percent_decode_str would keep it as it is).
    let bytes = s.as_bytes();
    let well_formed = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'%')
        .all(|(i, _)| bytes.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)));
    if !well_formed {
        return Err(Error::source(shown, format!("the {what} in the URL has a bad percent-escape; write '%' as %25")));
    }
    percent_decode_str(s)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| Error::source(shown, format!("the {what} in the URL is not valid UTF-8 after percent-decoding")))
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; a connection string's
/// `password=secret` → `password=***`.
pub fn redact_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return if conninfo::is_conninfo(url) { conninfo::redact_password(url) } else { url.to_string() };
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => {
            format!("{}{}:***{}", &url[..scheme_end + 3], &authority[..colon], &rest[at..])
        }
        _ => url.to_string(),
    }
}

/// `url` naming database `dbname` instead (percent-encoded; query parameters kept). A
/// connection string gets `dbname='…'` at its end, which libpq and doppel read as the last word.
pub fn url_with_dbname(url: &str, dbname: &str) -> String {
    if !url.contains("://") && conninfo::is_conninfo(url) {
        return format!("{url} dbname={}", conninfo::quote(dbname));
    }
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let after = &rest[authority_end..];
    let query = after.find('?').map_or("", |i| &after[i..]);
    let encoded = utf8_percent_encode(dbname, UNRESERVED);
    format!("{}{}/{encoded}{query}", &url[..scheme_end], &rest[..authority_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parts_are_split_and_decoded() {
        let p =
            parse_url("postgresql://app:s%40cret@db.example:6543,[::1]:7/my%20db?sslmode=disable&x=1", "u").unwrap();
        assert_eq!(p.user.as_deref(), Some("app"));
        assert_eq!(p.password.as_deref(), Some("s@cret"));
        assert_eq!(p.hosts, vec!["db.example", "::1"]);
        assert_eq!(p.ports, vec!["6543", "7"]);
        assert_eq!(p.dbname.as_deref(), Some("my db"));
        assert_eq!(p.params, vec![("sslmode".into(), "disable".into()), ("x".into(), "1".into())]);
        assert_eq!(parse_url("postgres://", "u").unwrap(), UrlParts::default());
    }

    #[test]
    fn a_url_names_another_database_with_its_query_kept() {
        assert_eq!(
            url_with_dbname("postgres://u:p@h:5/prod?sslmode=require", "x y"),
            "postgres://u:p@h:5/x%20y?sslmode=require"
        );
        assert_eq!(url_with_dbname("postgresql://h", "st__doppel_7"), "postgresql://h/st__doppel_7");
        assert_eq!(url_with_dbname("postgres://h/?x=1", "d"), "postgres://h/d?x=1");
        let p = parse_url(&url_with_dbname("postgres://u@h/prod", "staging__doppel_9"), "u").unwrap();
        assert_eq!(p.dbname.as_deref(), Some("staging__doppel_9"));
        // A connection string: the last dbname counts, for libpq and for doppel.
        let s = url_with_dbname("service=prod dbname=shop", "it's x");
        assert_eq!(s, r"service=prod dbname=shop dbname='it\'s x'");
        let p = parse_connection(&s, "s").unwrap();
        assert_eq!(p.params.last(), Some(&("dbname".to_string(), "it's x".to_string())));
    }

    #[test]
    fn services_fill_only_what_the_string_leaves_out() {
        let mut p = parse_url("postgres://u@h/db?service=prod&sslmode=disable", "u").unwrap();
        assert_eq!(p.take_service().as_deref(), Some("prod"));
        let service = [("host", "sh"), ("port", "1"), ("user", "su"), ("dbname", "sd"), ("sslmode", "require")];
        p.add_service(service.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        assert_eq!(p.params, vec![("port".into(), "1".into()), ("sslmode".into(), "disable".into())]);
    }

    #[test]
    fn escapes_are_two_hex_digits_and_decode_to_utf8() {
        assert_eq!(percent_decode("a%2fb%2Fc%C3%A9", "x", "u").unwrap(), "a/b/cé");
        for bad in ["50%", "%2", "%zz", "a%g1"] {
            let e = percent_decode(bad, "password", "u").unwrap_err().to_string();
            assert!(e.contains("bad percent-escape"), "{bad}: {e}");
        }
        assert!(percent_decode("%ff", "x", "u").unwrap_err().to_string().contains("not valid UTF-8"));
        assert_eq!(url_with_dbname("postgres://h/x", "é~a.b"), "postgres://h/%C3%A9~a.b");
    }
}
