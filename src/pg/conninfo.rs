//! libpq's other ways of naming a connection, besides the `postgres://` URL: the `key=value`
//! connection string (`host=db port=5432 dbname='my db'`) and connection services
//! (`service=name` or `PGSERVICE`, looked up in `PGSERVICEFILE` or `~/.pg_service.conf`, then
//! in `PGSYSCONFDIR/pg_service.conf`). Both end as the same `(key, value)` parameters a URL's
//! query string gives, so [`super::connect`] resolves every form alike. Messages name the
//! string's keys, the file and its line, never a value (a value may be a password).

use std::path::{Path, PathBuf};

use super::connect::SUPPORTED_PARAMS;
use crate::error::{Error, Result};

/// libpq's keywords besides the ones doppel applies ([`SUPPORTED_PARAMS`]): accepted in a
/// string or service file, so that it is recognised, and then refused or left alone as a URL's
/// parameter would be.
const OTHER_KEYWORDS: &[&str] = &[
    "hostaddr",
    "client_encoding",
    "channel_binding",
    "require_auth",
    "load_balance_hosts",
    "gssencmode",
    "gssdelegation",
    "krbsrvname",
    "gsslib",
    "sslcrl",
    "sslcrldir",
    "sslpassword",
    "sslsni",
    "sslcompression",
    "sslcertmode",
    "sslnegotiation",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
];

/// Whether `key` is a libpq connection keyword.
fn is_keyword(key: &str) -> bool {
    SUPPORTED_PARAMS.contains(&key) || OTHER_KEYWORDS.contains(&key)
}

/// Whether `s` is a `key=value` connection string: its first word is a libpq keyword followed
/// by `=`. A path such as `data/year=2024` is not (its "key" is no keyword), so a Parquet
/// directory whose name holds `=` stays a path.
pub fn is_conninfo(s: &str) -> bool {
    let s = s.trim_start();
    let key_end = s.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(s.len());
    let rest = s[key_end..].trim_start();
    rest.starts_with('=') && is_keyword(&s[..key_end])
}

/// Splits a connection string into its `(key, value)` pairs, in order, as libpq reads it:
/// whitespace between pairs and around `=`; a value is either a run of non-space characters or
/// single-quoted, and in both `\` takes the next character literally (`'it\'s'`, `a\ b`).
/// `shown` names the string in errors (its password hidden).
pub fn parse(s: &str, shown: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(Error::source(
                shown,
                format!("missing \"=\" after \"{key}\" in the connection string; write key=value pairs"),
            ));
        }
        if !is_keyword(&key) {
            return Err(Error::source(
                shown,
                format!(
                    "invalid connection option \"{key}\" in the connection string; valid: {}",
                    SUPPORTED_PARAMS.join(", ")
                ),
            ));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\\') => value.extend(chars.next()),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => {
                        return Err(Error::source(
                            shown,
                            format!("the quoted value of \"{key}\" in the connection string has no closing '"),
                        ));
                    }
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
}

/// `value` written so that [`parse`] reads it back: single-quoted, `\` and `'` escaped.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// The connection string with the value of every `password` replaced by `***`.
pub fn redact_password(s: &str) -> String {
    match parse(s, "") {
        Ok(pairs) => pairs
            .iter()
            .map(|(k, v)| if k == "password" { format!("{k}=***") } else { format!("{k}={}", shown_value(v)) })
            .collect::<Vec<_>>()
            .join(" "),
        // Not readable: show only the keys that can be made out, never a value.
        Err(_) => "(a connection string that cannot be read)".into(),
    }
}

fn shown_value(v: &str) -> String {
    if !v.is_empty() && v.chars().all(|c| !c.is_whitespace() && c != '\\' && c != '\'') {
        v.to_string()
    } else {
        quote(v)
    }
}

/// The default directory of the system-wide service file, where `PGSYSCONFDIR` is not set:
/// Debian's and Ubuntu's libpq look in `/etc/postgresql-common`.
pub const DEFAULT_SYSCONFDIR: &str = "/etc/postgresql-common";

/// The parameters of service `name`, as libpq finds them: in `PGSERVICEFILE` (else
/// `~/.pg_service.conf`) when that file exists and defines the service, else in
/// `PGSYSCONFDIR/pg_service.conf` ([`DEFAULT_SYSCONFDIR`] when unset). `Err` names the files
/// searched when no file defines it, or the file and line of a malformed entry.
pub fn service(name: &str, env: &dyn Fn(&str) -> Option<String>, shown: &str) -> Result<Vec<(String, String)>> {
    let user_file =
        env("PGSERVICEFILE").map(PathBuf::from).or_else(|| env("HOME").map(|h| Path::new(&h).join(".pg_service.conf")));
    let system_file =
        Path::new(&env("PGSYSCONFDIR").unwrap_or_else(|| DEFAULT_SYSCONFDIR.to_string())).join("pg_service.conf");
    let mut searched = Vec::new();
    for file in user_file.into_iter().chain([system_file]) {
        if !file.is_file() {
            searched.push(format!("{} (absent)", file.display()));
            continue;
        }
        let text = std::fs::read_to_string(&file)
            .map_err(|e| Error::source(shown, format!("cannot read the service file {}: {e}", file.display())))?;
        if let Some(params) = service_in(&text, name, &file, shown)? {
            return Ok(params);
        }
        searched.push(file.display().to_string());
    }
    Err(Error::source(
        shown,
        format!(
            "definition of service \"{name}\" not found in {}; define [{name}] there, or set PGSERVICEFILE to the \
             file that defines it",
            searched.join(" or ")
        ),
    ))
}

/// Service `name`'s `key=value` lines in the service file `text` (`None` when it has no
/// `[name]` section). As in libpq: `#` starts a comment line, the key and value are not trimmed
/// around `=`, and a line without `=`, an unknown key or a nested `service` is an error.
fn service_in(text: &str, name: &str, file: &Path, shown: &str) -> Result<Option<Vec<(String, String)>>> {
    let mut params: Option<Vec<(String, String)>> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = || format!("service file {}, line {}", file.display(), i + 1);
        if let Some(section) = line.strip_prefix('[') {
            if params.is_some() {
                break;
            }
            if section.strip_suffix(']').unwrap_or(section) == name {
                params = Some(Vec::new());
            }
            continue;
        }
        let Some(params) = params.as_mut() else { continue };
        let Some((key, value)) = line.split_once('=') else {
            return Err(Error::source(shown, format!("syntax error in {}: expected key=value", at())));
        };
        if key == "service" {
            return Err(Error::source(shown, format!("nested service specifications are not supported ({})", at())));
        }
        if !is_keyword(key) {
            return Err(Error::source(
                shown,
                format!("syntax error in {}: \"{key}\" is not a connection option", at()),
            ));
        }
        params.push((key.to_string(), value.to_string()));
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &str) -> Vec<(String, String)> {
        parse(s, "t").unwrap()
    }

    fn kv(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn connection_strings_are_read_as_libpq_reads_them() {
        assert_eq!(pairs("host=db port=5432"), kv(&[("host", "db"), ("port", "5432")]));
        assert_eq!(pairs("  host = db\tdbname=  'my db' "), kv(&[("host", "db"), ("dbname", "my db")]));
        assert_eq!(pairs(r"password='it\'s \\ x' user=a\ b"), kv(&[("password", r"it's \ x"), ("user", "a b")]));
        assert_eq!(pairs("dbname='' host=h"), kv(&[("dbname", ""), ("host", "h")]));
        assert_eq!(pairs("options='-c lock_timeout=5s'"), kv(&[("options", "-c lock_timeout=5s")]));
        let e = parse("host=db password='hunter2", "t").unwrap_err().to_string();
        assert!(e.contains("\"password\"") && e.contains("closing") && !e.contains("hunter2"), "{e}");
        let e = parse("host db", "t").unwrap_err().to_string();
        assert!(e.contains("missing \"=\" after \"host\""), "{e}");
        let e = parse("hots=db", "t").unwrap_err().to_string();
        assert!(e.contains("invalid connection option \"hots\""), "{e}");
        for v in ["plain", "with space", "it's", r"back\slash", ""] {
            assert_eq!(pairs(&format!("dbname={}", quote(v))), kv(&[("dbname", v)]), "{v}");
        }
    }

    #[test]
    fn only_strings_starting_with_a_keyword_are_connection_strings() {
        assert!(is_conninfo("host=db dbname=x"));
        assert!(is_conninfo("service=prod"));
        assert!(is_conninfo(" dbname = x"));
        assert!(!is_conninfo("data/year=2024"));
        assert!(!is_conninfo("out/shop"));
        assert!(!is_conninfo("host"));
        assert!(!is_conninfo("postgres://h/db?host=x"));
    }

    #[test]
    fn passwords_are_hidden() {
        let shown = redact_password("host=db password='s3 cr3t' user=app dbname='my db'");
        assert_eq!(shown, "host=db password=*** user=app dbname='my db'");
        assert!(!redact_password("password='unterminated").contains("unterminated"));
    }

    #[test]
    fn services_are_found_first_in_the_user_file_then_in_the_system_one() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("user.conf");
        std::fs::write(
            &user,
            "# comment\n[other]\nhost=x\n\n[prod]\nhost=db.internal\nport=6543\ndbname=shop\n[next]\nhost=y\n",
        )
        .unwrap();
        let sys = dir.path().join("sys");
        std::fs::create_dir(&sys).unwrap();
        std::fs::write(sys.join("pg_service.conf"), "[sysonly]\nhost=central\n").unwrap();
        let (user_s, sys_s) = (user.display().to_string(), sys.display().to_string());
        let env = move |k: &str| match k {
            "PGSERVICEFILE" => Some(user_s.clone()),
            "PGSYSCONFDIR" => Some(sys_s.clone()),
            _ => None,
        };
        assert_eq!(
            service("prod", &env, "t").unwrap(),
            kv(&[("host", "db.internal"), ("port", "6543"), ("dbname", "shop")])
        );
        assert_eq!(service("sysonly", &env, "t").unwrap(), kv(&[("host", "central")]));
        let e = service("nope", &env, "t").unwrap_err().to_string();
        assert!(
            e.contains("service \"nope\" not found") && e.contains("user.conf") && e.contains("pg_service.conf"),
            "{e}"
        );

        std::fs::write(&user, "[prod]\nhost=db\npassword=hunter2\nbogus\n").unwrap();
        let e = service("prod", &env, "t").unwrap_err().to_string();
        assert!(e.contains("user.conf, line 4") && !e.contains("hunter2"), "{e}");
        std::fs::write(&user, "[prod]\nservice=other\n").unwrap();
        assert!(service("prod", &env, "t").unwrap_err().to_string().contains("nested service"));
        std::fs::write(&user, "[prod]\nhost = db\n").unwrap();
        assert!(service("prod", &env, "t").unwrap_err().to_string().contains("\"host \" is not a connection option"));
    }
}
