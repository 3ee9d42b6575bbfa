//! Connecting: the `postgres://` URL or `key=value` string, its connection service (see
//! [`super::conninfo`]) and the libpq environment variables resolved into one
//! connection configuration, the printable location used in every message (host, port,
//! database and user, never the password), opening a session (over TLS as `sslmode` says, see
//! [`super::tls`]) with settings that make the COPY text forms unambiguous, and turning driver
//! errors into messages that say what to do without quoting any cell value.
//!
//! ```text
//! URL parts ──┐
//!             ├─▶ ConnectParams { config, location, tls } ──▶ connect() ──▶ postgres::Client
//! PG* vars ───┘        (URL wins)                              (TLS per sslmode; session settings)
//! ```
//!
//! Every connection doppel makes goes through [`ConnectParams::connect`]: the source's
//! coordinator and readers, the database target and its maintenance connections, and
//! `doppel protect`; cancel requests use [`TlsSettings::connector`], and `pg_dump`/`psql`
//! children get the same settings from [`TlsSettings::child_env`].

use std::time::Duration;

use postgres::config::{Host, SslMode, TargetSessionAttrs};
use postgres::{Client, Config};

use super::tls::{self, TlsParams, TlsSettings};
use super::{conninfo, error, pgpass, url};
use crate::error::{Error, Result};

/// Session settings applied on every connection (coordinator and readers) so that the text
/// forms of COPY are unambiguous and the row order of a table scan is stable.
pub const SESSION_SETTINGS: &str = "SET datestyle = 'ISO, YMD'; \
     SET intervalstyle = 'postgres'; \
     SET extra_float_digits = 3; \
     SET timezone = 'UTC'; \
     SET bytea_output = 'hex'; \
     SET client_encoding = 'UTF8'; \
     SET synchronize_seqscans = off; \
     SET max_parallel_workers_per_gather = 0; \
     SET statement_timeout = 0; \
     SET idle_in_transaction_session_timeout = 0";

/// Where to connect, and the printable form of it.
#[derive(Clone)]
pub struct ConnectParams {
    pub config: Config,
    /// `postgresql://user@host:port/db`, or `postgresql://user@/db?host=/socket/dir&port=N`;
    /// never contains the password.
    pub location: String,
    pub user: String,
    pub dbname: String,
    /// sslmode and certificates, resolved; the connector for connections and cancel requests.
    pub tls: TlsSettings,
}

impl std::fmt::Debug for ConnectParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectParams").field("location", &self.location).finish_non_exhaustive()
    }
}

/// Connection parameters accepted in the URL's query string, a connection string or a
/// service file.
pub(super) const SUPPORTED_PARAMS: &[&str] = &[
    "host",
    "port",
    "user",
    "password",
    "passfile",
    "dbname",
    "service",
    "sslmode",
    "requiressl",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
    "application_name",
    "fallback_application_name",
    "options",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "target_session_attrs",
];

fn parse_secs(value: &str, name: &str, shown: &str) -> Result<Option<Duration>> {
    let secs: i64 = value
        .trim()
        .parse()
        .map_err(|_| Error::source(shown, format!("connection parameter {name} must be a whole number of seconds")))?;
    Ok((secs > 0).then(|| Duration::from_secs(secs as u64)))
}

/// The hosts and port numbers to try, with libpq's defaults: port 5432, the local server's
/// socket directory (else `localhost`) when no host is given, `localhost` for an empty one.
fn hosts_and_ports(hosts: Vec<String>, ports: &[String], shown: &str) -> Result<(Vec<String>, Vec<u16>)> {
    let mut port_numbers = Vec::new();
    for p in ports {
        if p.is_empty() {
            port_numbers.push(5432);
        } else {
            port_numbers.push(
                p.trim()
                    .parse::<u16>()
                    .map_err(|_| Error::source(shown, "the port must be a number from 1 to 65535 (URL or PGPORT)"))?,
            );
        }
    }
    if port_numbers.is_empty() {
        port_numbers.push(5432);
    }
    let hosts: Vec<String> = if hosts.iter().all(|h| h.is_empty()) {
        vec![default_socket_dir(port_numbers[0]).unwrap_or_else(|| "localhost".to_string())]
    } else {
        hosts.into_iter().map(|h| if h.is_empty() { "localhost".to_string() } else { h }).collect()
    };
    if port_numbers.len() != 1 && port_numbers.len() != hosts.len() {
        return Err(Error::source(shown, "give one port, or one port per host"));
    }
    Ok((hosts, port_numbers))
}

/// The directory of the local server's socket, as libpq would pick it, if one is there.
fn default_socket_dir(port: u16) -> Option<String> {
    ["/var/run/postgresql", "/run/postgresql", "/tmp"]
        .into_iter()
        .find(|dir| std::path::Path::new(&format!("{dir}/.s.PGSQL.{port}")).exists())
        .map(str::to_string)
}

/// What the URL says, its query parameters applied over its parts; `None` or empty where it
/// says nothing. Parameters that map straight onto the driver's configuration (keepalives,
/// tcp_user_timeout, target_session_attrs) are set on it as they are read.
#[derive(Default)]
struct UrlSettings {
    hosts: Vec<String>,
    ports: Vec<String>,
    user: Option<String>,
    password: Option<String>,
    passfile: Option<String>,
    dbname: Option<String>,
    tls_params: TlsParams,
    connect_timeout: Option<Duration>,
    application_name: Option<String>,
    fallback_application_name: Option<String>,
    options: Option<String>,
}

impl UrlSettings {
    fn of(parts: &url::UrlParts, config: &mut Config, shown: &str) -> Result<UrlSettings> {
        let mut s = UrlSettings {
            hosts: parts.hosts.clone(),
            ports: parts.ports.clone(),
            user: parts.user.clone().filter(|u| !u.is_empty()),
            password: parts.password.clone(),
            dbname: parts.dbname.clone(),
            ..UrlSettings::default()
        };
        for (key, value) in &parts.params {
            match key.as_str() {
                "host" => s.hosts = value.split(',').map(str::to_string).collect(),
                "port" => s.ports = value.split(',').map(str::to_string).collect(),
                "user" => s.user = Some(value.clone()).filter(|u| !u.is_empty()),
                "password" => s.password = Some(value.clone()),
                "passfile" => s.passfile = Some(value.clone()).filter(|f| !f.is_empty()),
                "dbname" => s.dbname = Some(value.clone()).filter(|d| !d.is_empty()),
                "sslmode" => s.tls_params.sslmode = Some((value.clone(), "the URL")),
                // libpq: requiressl=1 means require, 0 means prefer; sslmode wins when both are given.
                "requiressl" if !parts.params.iter().any(|(k, _)| k == "sslmode") => {
                    let mode = if value.trim() == "1" { "require" } else { "prefer" };
                    s.tls_params.sslmode = Some((mode.to_string(), "the URL (requiressl)"));
                }
                "requiressl" => {}
                "sslrootcert" => s.tls_params.sslrootcert = Some(value.clone()),
                "sslcert" => s.tls_params.sslcert = Some(value.clone()),
                "sslkey" => s.tls_params.sslkey = Some(value.clone()),
                "connect_timeout" => s.connect_timeout = parse_secs(value, key, shown)?,
                "application_name" => s.application_name = Some(value.clone()),
                "fallback_application_name" => s.fallback_application_name = Some(value.clone()),
                "options" => s.options = Some(value.clone()),
                "keepalives" => {
                    config.keepalives(value.trim() != "0");
                }
                "keepalives_idle" => {
                    if let Some(d) = parse_secs(value, key, shown)? {
                        config.keepalives_idle(d);
                    }
                }
                "keepalives_interval" => {
                    if let Some(d) = parse_secs(value, key, shown)? {
                        config.keepalives_interval(d);
                    }
                }
                "keepalives_count" => {
                    let n = value.trim().parse().map_err(|_| {
                        Error::source(shown, "connection parameter keepalives_count must be a whole number")
                    })?;
                    config.keepalives_retries(n);
                }
                "tcp_user_timeout" => {
                    // libpq takes milliseconds here.
                    let ms: u64 = value.trim().parse().map_err(|_| {
                        Error::source(shown, "connection parameter tcp_user_timeout must be milliseconds")
                    })?;
                    if ms > 0 {
                        config.tcp_user_timeout(Duration::from_millis(ms));
                    }
                }
                "target_session_attrs" => {
                    let attrs = match value.as_str() {
                        "any" => TargetSessionAttrs::Any,
                        "read-write" => TargetSessionAttrs::ReadWrite,
                        "read-only" => TargetSessionAttrs::ReadOnly,
                        _ => {
                            return Err(Error::source(
                                shown,
                                "target_session_attrs must be any, read-write or read-only",
                            ));
                        }
                    };
                    config.target_session_attrs(attrs);
                }
                // Other TLS settings (sslcrl, sslpassword, sslsni, ssl_min_protocol_version, …)
                // and GSSAPI encryption are not used.
                k if k.starts_with("ssl") || k == "gssencmode" => {}
                other => {
                    return Err(Error::source(
                        shown,
                        format!(
                            "unsupported connection parameter '{other}'; supported: {}",
                            SUPPORTED_PARAMS.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(s)
    }
}

impl ConnectParams {
    /// Resolves `url` with the process environment filling unset parts.
    pub fn from_url(url: &str) -> Result<ConnectParams> {
        ConnectParams::resolve(url, &|name| std::env::var(name).ok())
    }

    /// Resolves `url` (a `postgres://` URL or a `key=value` connection string), then the
    /// service it or PGSERVICE names (PGSERVICEFILE, `~/.pg_service.conf`, PGSYSCONFDIR; see
    /// [`conninfo::service`]) for what it leaves out, then `env` for what both leave out
    /// (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGPASSFILE, PGSSLMODE, PGSSLROOTCERT,
    /// PGSSLCERT, PGSSLKEY, PGCONNECT_TIMEOUT, PGAPPNAME, PGOPTIONS, and HOME for libpq's
    /// default files): libpq's precedence. Reads the certificate files the TLS settings name.
    pub fn resolve(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<ConnectParams> {
        let shown = url::redact_url_password(url);
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        let mut parts = url::parse_connection(url, &shown)?;
        if let Some(service) = parts.take_service().or_else(|| env("PGSERVICE")) {
            parts.add_service(conninfo::service(&service, &env, &shown)?);
        }
        let mut config = Config::new();
        let UrlSettings {
            mut hosts,
            mut ports,
            user,
            password,
            passfile,
            dbname,
            tls_params,
            mut connect_timeout,
            application_name,
            fallback_application_name,
            options,
        } = UrlSettings::of(&parts, &mut config, &shown)?;

        // TLS first: a bad mode or a missing certificate is the most important thing to report.
        let tls = TlsSettings::resolve(&tls_params, &env, &shown)?;
        if hosts.iter().all(|h| h.is_empty()) {
            hosts = env("PGHOST").map(|h| h.split(',').map(str::to_string).collect()).unwrap_or_default();
        }
        if ports.iter().all(|p| p.is_empty()) {
            ports = env("PGPORT").map(|p| p.split(',').map(str::to_string).collect()).unwrap_or_default();
        }
        let user = match user.or_else(|| env("PGUSER")).or_else(|| env("USER")).or_else(|| env("LOGNAME")) {
            Some(u) => u,
            None => {
                return Err(Error::source(
                    &shown,
                    "no user name; put it in the URL (postgres://USER@host/db) or set PGUSER",
                ));
            }
        };
        let password = password.or_else(|| env("PGPASSWORD"));
        let dbname = dbname.or_else(|| env("PGDATABASE")).unwrap_or_else(|| user.clone());
        let passfile = passfile
            .or_else(|| env("PGPASSFILE"))
            .map(std::path::PathBuf::from)
            .or_else(|| env("HOME").map(|h| std::path::Path::new(&h).join(".pgpass")));
        if connect_timeout.is_none()
            && let Some(t) = env("PGCONNECT_TIMEOUT")
        {
            connect_timeout = parse_secs(&t, "PGCONNECT_TIMEOUT", &shown)?;
        }

        let (hosts, port_numbers) = hosts_and_ports(hosts, &ports, &shown)?;

        for h in &hosts {
            config.host(h);
        }
        for p in &port_numbers {
            config.port(*p);
        }
        config.user(&user);
        let password = password.or_else(|| {
            let file = passfile.as_deref()?;
            let port = port_numbers[0].to_string();
            pgpass::password(file, &hosts[0], &port, &dbname, &user)
        });
        if let Some(pw) = &password {
            config.password(pw);
        }
        config.dbname(&dbname);
        // The server never offers TLS on a Unix socket, and libpq does not ask there.
        let over_tcp = hosts.iter().any(|h| !h.starts_with('/'));
        config.ssl_mode(if over_tcp { tls.driver_mode() } else { SslMode::Disable });
        if let Some(t) = connect_timeout {
            config.connect_timeout(t);
        }
        match application_name.or_else(|| env("PGAPPNAME")).or(fallback_application_name) {
            Some(name) => config.application_name(&name),
            None => config.application_name("doppel"),
        };
        if let Some(o) = options.or_else(|| env("PGOPTIONS")) {
            config.options(&o);
        }
        // Server notices are logged by code only: their text can quote data.
        config.notice_callback(|notice| {
            tracing::debug!(sqlstate = notice.code().code(), severity = notice.severity(), "server notice")
        });

        let location = location_string(&user, &hosts, &port_numbers, &dbname);
        Ok(ConnectParams { config, location, user, dbname, tls })
    }

    /// The same connection to database `dbname` of the same server.
    pub fn with_dbname(&self, dbname: &str) -> ConnectParams {
        let mut config = self.config.clone();
        config.dbname(dbname);
        let location = match self.location.rfind(&format!("/{}", self.dbname)) {
            Some(i) => format!("{}/{}{}", &self.location[..i], dbname, &self.location[i + 1 + self.dbname.len()..]),
            None => self.location.clone(),
        };
        ConnectParams { config, location, dbname: dbname.to_string(), ..self.clone() }
    }

    /// Opens a session (TLS as the settings say) and applies [`SESSION_SETTINGS`].
    pub fn connect(&self) -> Result<Client> {
        let mut client = self.open_session().map_err(|e| connect_error(&e, self))?;
        client.batch_execute(SESSION_SETTINGS).map_err(|e| query_error(&e, self, "applying session settings"))?;
        Ok(client)
    }
}

impl ConnectParams {
    /// The driver's connection, with libpq's second tries: `allow` starts without TLS and tries
    /// again with TLS when the server refuses; `prefer` starts with TLS when the server offers
    /// it and tries again without when the handshake fails.
    fn open_session(&self) -> std::result::Result<Client, postgres::Error> {
        let with_mode = |mode: SslMode| {
            let mut config = self.config.clone();
            config.ssl_mode(mode);
            config
        };
        let over_tcp = self.config.get_hosts().iter().any(|h| matches!(h, Host::Tcp(_)));
        let first = self.config.connect(self.tls.connector());
        match first {
            Err(e) if over_tcp && self.tls.mode == tls::SslMode::Allow && e.as_db_error().is_some() => {
                tracing::debug!(location = %self.location, "refused without TLS; trying again with TLS (sslmode=allow)");
                with_mode(SslMode::Require).connect(self.tls.connector())
            }
            Err(e) if over_tcp && self.tls.mode == tls::SslMode::Prefer && tls::is_handshake_failure(&e) => {
                tracing::warn!(
                    location = %self.location,
                    error = %e,
                    "TLS handshake failed; connecting without TLS (sslmode=prefer)"
                );
                with_mode(SslMode::Disable).connect(self.tls.connector())
            }
            other => other,
        }
    }
}

fn location_string(user: &str, hosts: &[String], ports: &[u16], dbname: &str) -> String {
    let port_of = |i: usize| ports.get(i).or(ports.first()).copied().unwrap_or(5432);
    if hosts.iter().any(|h| h.starts_with('/')) {
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        format!("postgresql://{user}@/{dbname}?host={}&port={}", hosts.join(","), ports.join(","))
    } else {
        let hostports: Vec<String> = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| if h.contains(':') { format!("[{h}]:{}", port_of(i)) } else { format!("{h}:{}", port_of(i)) })
            .collect();
        format!("postgresql://{user}@{}/{dbname}", hostports.join(","))
    }
}

/// A failure to open a session as `p`, in [`error::connect_failure`]'s words.
fn connect_error(e: &postgres::Error, p: &ConnectParams) -> Error {
    let tls_failure = |e: &postgres::Error| p.tls.describe_failure(e);
    Error::source(
        &p.location,
        error::connect_failure(e, &p.user, &p.dbname, p.tls.mode == tls::SslMode::Disable, &tls_failure),
    )
}

/// A failure of a query on an open session. Only the SQLSTATE and our own words are shown:
/// server messages for query errors can quote data (e.g. "invalid input syntax for …").
pub fn query_error(e: &postgres::Error, p: &ConnectParams, doing: &str) -> Error {
    Error::source(&p.location, format!("{doing}: {}", error::describe_query_error(e, &p.user)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn url_wins_over_environment() {
        let env = env_of(&[
            ("PGHOST", "envhost"),
            ("PGPORT", "7777"),
            ("PGUSER", "envuser"),
            ("PGPASSWORD", "envpw"),
            ("PGDATABASE", "envdb"),
        ]);
        let p = ConnectParams::resolve("postgres://app:pw@db:6000/prod", &env).unwrap();
        assert_eq!(p.location, "postgresql://app@db:6000/prod");
        assert_eq!(p.config.get_password(), Some(&b"pw"[..]));
        let p = ConnectParams::resolve("postgres://", &env).unwrap();
        assert_eq!(p.location, "postgresql://envuser@envhost:7777/envdb");
        assert_eq!(p.config.get_password(), Some(&b"envpw"[..]));
        // A host without a port takes PGPORT, like libpq.
        let p = ConnectParams::resolve("postgres://db/x", &env).unwrap();
        assert_eq!(p.location, "postgresql://envuser@db:7777/x");
        let p = ConnectParams::resolve("postgres:///x?host=/tmp&port=55432", &env).unwrap();
        assert_eq!(p.location, "postgresql://envuser@/x?host=/tmp&port=55432");
    }

    #[test]
    fn password_file_supplies_the_password_when_none_is_given() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "# comment\nother:5432:*:*:nope\ndb.example:*:shop:app:pa\\:ss\n*:*:*:*:fallback\n")
            .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let path = file.to_str().unwrap().to_string();
        let env = move |name: &str| (name == "PGPASSFILE").then(|| path.clone());
        let p = ConnectParams::resolve("postgres://app@db.example/shop", &env).unwrap();
        assert_eq!(p.config.get_password(), Some(&b"pa:ss"[..]));
        let p = ConnectParams::resolve("postgres://other@db.example/x", &env).unwrap();
        assert_eq!(p.config.get_password(), Some(&b"fallback"[..]));
        let p = ConnectParams::resolve("postgres://app:inurl@db.example/shop", &env).unwrap();
        assert_eq!(p.config.get_password(), Some(&b"inurl"[..]), "the URL wins");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let p = ConnectParams::resolve("postgres://app@db.example/shop", &env).unwrap();
        assert_eq!(p.config.get_password(), None, "a readable password file is ignored");
    }

    #[test]
    fn key_value_strings_resolve_like_urls() {
        let env = env_of(&[("PGPORT", "7777"), ("PGUSER", "envuser")]);
        let p = ConnectParams::resolve("host=db port=6000 user=app dbname='my db' password='pw \\x'", &env).unwrap();
        assert_eq!(p.location, "postgresql://app@db:6000/my db");
        assert_eq!(p.config.get_password(), Some(&b"pw x"[..]), "a backslash takes the next character");
        let p = ConnectParams::resolve("host=/tmp dbname=x", &env).unwrap();
        assert_eq!(p.location, "postgresql://envuser@/x?host=/tmp&port=7777", "the environment fills the rest");
        let e = ConnectParams::resolve("host=db password=hunter2 sslmode=maybe", &env).unwrap_err().to_string();
        assert!(!e.contains("hunter2") && e.contains("password=***"), "{e}");
    }

    #[test]
    fn services_sit_between_the_string_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("services.conf");
        std::fs::write(&file, "[prod]\nhost=svchost\nport=6543\nuser=svcuser\ndbname=svcdb\nsslmode=disable\n")
            .unwrap();
        let path = file.display().to_string();
        let env = move |name: &str| match name {
            "PGSERVICEFILE" => Some(path.clone()),
            "PGHOST" => Some("envhost".to_string()),
            "PGDATABASE" => Some("envdb".to_string()),
            "PGSERVICE" => Some("prod".to_string()),
            _ => None,
        };
        let p = ConnectParams::resolve("service=prod dbname=mine", &env).unwrap();
        assert_eq!(p.location, "postgresql://svcuser@svchost:6543/mine", "explicit keys beat the service");
        assert_eq!(p.tls.mode, tls::SslMode::Disable);
        let p = ConnectParams::resolve("postgres://other@h2/x", &env).unwrap();
        assert_eq!(p.location, "postgresql://other@h2:6543/x", "PGSERVICE applies under a URL too");
        let p = ConnectParams::resolve("postgres:///?service=prod&port=1", &env).unwrap();
        assert_eq!(p.location, "postgresql://svcuser@svchost:1/svcdb");
        let e = ConnectParams::resolve("service=nope", &env).unwrap_err().to_string();
        assert!(e.contains("service \"nope\" not found in") && e.contains("services.conf"), "{e}");
    }

    #[test]
    fn location_never_holds_the_password() {
        let p = ConnectParams::resolve("postgres://app:hunter2@db/prod", &env_of(&[])).unwrap();
        assert!(!p.location.contains("hunter2"));
        assert!(!format!("{p:?}").contains("hunter2"));
        let e = ConnectParams::resolve("postgres://app:hunter2@db/prod?bogus=1", &env_of(&[])).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(e.to_string().contains("bogus"), "{e}");
    }

    fn mode_of(url: &str, env: &dyn Fn(&str) -> Option<String>) -> (tls::SslMode, SslMode) {
        let p = ConnectParams::resolve(url, env).unwrap();
        (p.tls.mode, p.config.get_ssl_mode())
    }

    #[test]
    fn sslmode_comes_from_the_url_then_pgsslmode_then_prefer() {
        use tls::SslMode as Mode;
        let none = env_of(&[]);
        assert_eq!(mode_of("postgres://u@db/x", &none), (Mode::Prefer, SslMode::Prefer), "libpq's default");
        assert_eq!(mode_of("postgres://u@db/x?sslmode=disable", &none), (Mode::Disable, SslMode::Disable));
        // allow starts without TLS; connect() tries again with TLS if the server refuses.
        assert_eq!(mode_of("postgres://u@db/x?sslmode=allow", &none), (Mode::Allow, SslMode::Disable));
        assert_eq!(mode_of("postgres://u@db/x?sslmode=require", &none), (Mode::Require, SslMode::Require));
        assert_eq!(mode_of("postgres://u@db/x?requiressl=1", &none), (Mode::Require, SslMode::Require));
        assert_eq!(mode_of("postgres://u@db/x?requiressl=0", &none), (Mode::Prefer, SslMode::Prefer));
        assert_eq!(mode_of("postgres://u@db/x?sslmode=disable&requiressl=1", &none).0, Mode::Disable);
        let env = env_of(&[("PGSSLMODE", "require")]);
        assert_eq!(mode_of("postgres://u@db/x", &env).0, Mode::Require);
        assert_eq!(mode_of("postgres://u@db/x?sslmode=disable", &env).0, Mode::Disable, "the URL wins");
        // The server never offers TLS on a Unix socket: the driver does not ask there.
        assert_eq!(mode_of("postgres://u@/x?host=/tmp&sslmode=require", &env).1, SslMode::Disable);

        let e = ConnectParams::resolve("postgres://u@db/x?sslmode=maybe", &none).unwrap_err().to_string();
        assert!(e.contains("unknown sslmode 'maybe'") && e.contains("verify-full"), "{e}");
        let e = ConnectParams::resolve("postgres://db/x", &env_of(&[("PGSSLMODE", "on")])).unwrap_err();
        assert!(e.to_string().contains("PGSSLMODE"), "{e}");
    }

    #[test]
    fn verify_modes_need_a_root_certificate_and_system_needs_verify_full() {
        let none = env_of(&[]);
        for mode in ["verify-ca", "verify-full"] {
            let url = format!("postgres://u:hunter2@db/x?sslmode={mode}&sslrootcert=/no/such/ca.crt");
            let e = ConnectParams::resolve(&url, &none).unwrap_err().to_string();
            assert!(e.contains("/no/such/ca.crt") && e.contains("does not exist") && e.contains(mode), "{e}");
            assert!(!e.contains("hunter2"), "{e}");
            let e = ConnectParams::resolve(&format!("postgres://u@db/x?sslmode={mode}"), &none).unwrap_err();
            assert!(e.to_string().contains("HOME is not set"), "{e}");
        }
        // require and prefer go on without a missing root certificate file, unchecked.
        let p = ConnectParams::resolve("postgres://u@db/x?sslmode=require&sslrootcert=/no/such/ca.crt", &none).unwrap();
        assert!(!p.tls.verify_chain);
        let e = ConnectParams::resolve("postgres://u@db/x?sslrootcert=system&sslmode=require", &none).unwrap_err();
        assert!(e.to_string().contains("needs sslmode=verify-full"), "{e}");
        let e = ConnectParams::resolve("postgres://u@db/x?sslmode=disable", &env_of(&[("PGSSLROOTCERT", "system")]))
            .unwrap_err();
        assert!(e.to_string().contains("PGSSLROOTCERT"), "{e}");
    }

    #[test]
    fn certificate_files_are_checked_when_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.crt");
        std::fs::write(&garbage, "not a certificate\n").unwrap();
        let url = format!("postgres://u@db/x?sslmode=verify-ca&sslrootcert={}", garbage.display());
        let e = ConnectParams::resolve(&url, &env_of(&[])).unwrap_err().to_string();
        assert!(e.contains("holds no PEM certificate") && e.contains("garbage.crt"), "{e}");

        // A client certificate whose key others may read, or that is encrypted, is refused
        // (the PEM framing is all that is read before the key).
        let cert = dir.path().join("client.crt");
        std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
        let key = dir.path().join("client.key");
        std::fs::write(&key, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
            .unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let url = format!("postgres://u@db/x?sslmode=require&sslcert={}&sslkey={}", cert.display(), key.display());
        let e = ConnectParams::resolve(&url, &env_of(&[])).unwrap_err().to_string();
        assert!(e.contains("group or world access") && e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = ConnectParams::resolve(&url, &env_of(&[])).unwrap_err().to_string();
        assert!(e.contains("is encrypted"), "{e}");
        let e = ConnectParams::resolve(
            &format!("postgres://u@db/x?sslmode=require&sslcert={}&sslkey=/no/such.key", cert.display()),
            &env_of(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("/no/such.key") && e.contains("set sslkey"), "{e}");
        // With sslmode=disable no file is read at all.
        ConnectParams::resolve(
            &format!("postgres://u@db/x?sslmode=disable&sslrootcert={}", garbage.display()),
            &env_of(&[]),
        )
        .unwrap();
    }

    #[test]
    fn child_programs_get_the_resolved_tls_settings() {
        let home = |name: &str| (name == "HOME").then(|| "/home/app".to_string());
        let p = ConnectParams::resolve("postgres://u@db/x?sslmode=require", &home).unwrap();
        assert_eq!(
            p.tls.child_env(),
            vec![
                ("PGSSLMODE", "require".to_string()),
                ("PGSSLROOTCERT", "/home/app/.postgresql/root.crt".to_string()),
                ("PGSSLCERT", "/home/app/.postgresql/postgresql.crt".to_string()),
                ("PGSSLKEY", "/home/app/.postgresql/postgresql.key".to_string()),
            ]
        );
        let p =
            ConnectParams::resolve("postgres://u@db/x?sslmode=prefer&sslrootcert=/ca.pem&sslcert=/c&sslkey=/k", &home)
                .unwrap();
        let vars = p.tls.child_env();
        assert!(vars.contains(&("PGSSLROOTCERT", "/ca.pem".to_string())), "{vars:?}");
        assert!(vars.contains(&("PGSSLCERT", "/c".to_string())) && vars.contains(&("PGSSLKEY", "/k".to_string())));
        let p = ConnectParams::resolve("postgres://u@db/x?sslmode=disable", &home).unwrap();
        assert_eq!(p.tls.child_env(), vec![("PGSSLMODE", "disable".to_string())]);
    }

    #[test]
    fn defaults_follow_libpq() {
        let p = ConnectParams::resolve("postgres://db", &env_of(&[("USER", "osuser")])).unwrap();
        assert_eq!(p.location, "postgresql://osuser@db:5432/osuser");
        let e = ConnectParams::resolve("postgres://db/x:1", &env_of(&[])).unwrap_err();
        assert!(e.to_string().contains("user"), "{e}");
        assert!(ConnectParams::resolve("postgres://u@db:notaport/x", &env_of(&[])).is_err());
    }

    #[test]
    fn the_maintenance_location_names_the_other_database() {
        let p = ConnectParams::resolve("postgres://u:pw@db:6000/staging", &|_| None).unwrap();
        let m = p.with_dbname("postgres");
        assert_eq!(m.location, "postgresql://u@db:6000/postgres");
        assert_eq!(m.config.get_dbname(), Some("postgres"));
    }
}
