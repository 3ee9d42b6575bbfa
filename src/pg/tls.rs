//! TLS for every PostgreSQL connection doppel makes: libpq's `sslmode` and certificate settings
//! (URL parameters, `PGSSL*` variables, libpq's default files under `~/.postgresql/`) resolved
//! once into a rustls client configuration (pure Rust, the `ring` provider), the environment
//! that gives `pg_dump` and `psql` the same settings, and the wording of handshake failures.
//!
//! ```text
//! sslmode, sslrootcert, sslcert, sslkey ─┐
//! PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, … ├─▶ TlsSettings { mode, root cert, client cert }
//! ~/.postgresql/{root.crt,postgresql.*} ─┘        │
//!                                                 ├─▶ connector(): rustls, for connect and cancel
//!                                                 └─▶ child_env(): PGSSL* for pg_dump and psql
//! ```
//!
//! What is checked, as libpq does:
//!
//! | sslmode       | TLS                                   | server certificate                    |
//! |---------------|---------------------------------------|---------------------------------------|
//! | `disable`     | never                                 | —                                     |
//! | `allow`       | only if the server refuses plain      | chain, if a root certificate file exists |
//! | `prefer` (default) | if the server offers it, else plain (also after a failed handshake) | chain, if a root certificate file exists |
//! | `require`     | always                                | chain, if a root certificate file exists |
//! | `verify-ca`   | always                                | chain against the root certificates   |
//! | `verify-full` | always                                | chain, and the host name in the URL   |
//!
//! A self-signed server certificate listed in the root certificate file is trusted as it is
//! (within its validity period), as OpenSSL does; any other server certificate must be an X.509
//! v3 certificate that is not itself a CA. Host names are matched against the certificate's
//! subjectAltName entries (DNS names and IP addresses); unlike libpq, the subject's common name
//! is not used. `sslrootcert=system` trusts
//! the system's certificate store and requires `verify-full`, as in libpq 16. Unix-socket
//! connections never use TLS (the server does not offer it there), whatever the mode.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;
use x509_cert::der::Decode;

use crate::error::{Error, Result};

/// The TLS connector handed to the driver for connections and cancel requests.
pub type MakeTls = MakeRustlsConnect;

/// libpq's sslmode values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    const VALID: &'static str = "disable, allow, prefer, require, verify-ca, verify-full";

    fn parse(s: &str) -> Option<SslMode> {
        Some(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// True for the modes that refuse to connect without TLS.
    pub fn requires_tls(self) -> bool {
        matches!(self, SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

/// The certificates that verify the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootCerts {
    /// A PEM file (`sslrootcert`, PGSSLROOTCERT, or `~/.postgresql/root.crt`).
    File(PathBuf),
    /// `sslrootcert=system`: the system's trusted certificate store.
    System,
}

/// The ssl* settings the URL gave, before the environment and libpq's defaults fill in.
#[derive(Debug, Default)]
pub(super) struct TlsParams {
    /// The mode and where it came from ("the URL", "the URL (requiressl=1)").
    pub sslmode: Option<(String, &'static str)>,
    pub sslrootcert: Option<String>,
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
}

/// A setting's value and where it came from, for messages.
struct Setting {
    value: String,
    from: String,
}

fn setting(url: &Option<String>, url_name: &str, env: &dyn Fn(&str) -> Option<String>, var: &str) -> Option<Setting> {
    match url.as_ref().filter(|v| !v.is_empty()) {
        Some(v) => Some(Setting { value: v.clone(), from: format!("{url_name} in the URL") }),
        None => env(var).map(|value| Setting { value, from: var.to_string() }),
    }
}

/// TLS settings resolved from the URL, the environment and libpq's default files.
#[derive(Clone)]
pub struct TlsSettings {
    pub mode: SslMode,
    /// Where the mode came from ("the URL", "PGSSLMODE", "the default").
    pub mode_from: String,
    /// The root certificates considered: the configured or default file (even if missing, so
    /// that child processes make the same choice), or the system store.
    pub root_certs: Option<RootCerts>,
    /// True when the server's certificate chain is checked.
    pub verify_chain: bool,
    /// The client certificate and key files considered (configured or default, even if missing).
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// True when a client certificate is presented to the server.
    pub presents_client_cert: bool,
    connector: MakeTls,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("mode", &self.mode)
            .field("root_certs", &self.root_certs)
            .field("verify_chain", &self.verify_chain)
            .field("client_cert", &self.client_cert)
            .finish_non_exhaustive()
    }
}

impl TlsSettings {
    /// Resolves the URL's settings with `env` (PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY,
    /// HOME) filling in, and loads the certificate files. `shown` names the connection in
    /// errors.
    pub(super) fn resolve(
        params: &TlsParams,
        env: &dyn Fn(&str) -> Option<String>,
        shown: &str,
    ) -> Result<TlsSettings> {
        let fail = |message: String| Error::source(shown, message);
        let root_setting = setting(&params.sslrootcert, "sslrootcert", env, "PGSSLROOTCERT");
        let system = root_setting.as_ref().is_some_and(|s| s.value == "system");

        let (mode_text, mode_from) = match &params.sslmode {
            Some((mode, from)) => (mode.clone(), from.to_string()),
            None => match env("PGSSLMODE") {
                Some(mode) => (mode, "PGSSLMODE".to_string()),
                // libpq: sslrootcert=system makes verify-full the default.
                None if system => ("verify-full".to_string(), "the default with sslrootcert=system".to_string()),
                None => ("prefer".to_string(), "the default".to_string()),
            },
        };
        let mode = SslMode::parse(&mode_text).ok_or_else(|| {
            fail(format!("{mode_from} has an unknown sslmode '{mode_text}'; valid values: {}", SslMode::VALID))
        })?;
        if system && mode != SslMode::VerifyFull {
            return Err(fail(format!(
                "sslrootcert=system (from {}) trusts every certificate authority of the system, so it needs \
                 sslmode=verify-full, but {mode_from} says sslmode={}; use sslmode=verify-full",
                root_setting.as_ref().map_or("", |s| s.from.as_str()),
                mode.as_str()
            )));
        }

        let home_file = |name: &str| env("HOME").map(|h| Path::new(&h).join(".postgresql").join(name));
        let root_certs = if system {
            Some(RootCerts::System)
        } else {
            root_setting
                .as_ref()
                .map(|s| PathBuf::from(&s.value))
                .or_else(|| home_file("root.crt"))
                .map(RootCerts::File)
        };
        let cert_setting = setting(&params.sslcert, "sslcert", env, "PGSSLCERT");
        let key_setting = setting(&params.sslkey, "sslkey", env, "PGSSLKEY");
        let cert_file = cert_setting.as_ref().map(|s| PathBuf::from(&s.value)).or_else(|| home_file("postgresql.crt"));
        let key_file = key_setting.as_ref().map(|s| PathBuf::from(&s.value)).or_else(|| home_file("postgresql.key"));
        let client_cert = cert_file.zip(key_file);

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut settings = TlsSettings {
            mode,
            mode_from,
            root_certs,
            verify_chain: false,
            client_cert,
            presents_client_cert: false,
            connector: MakeTls::new(client_config(provider.clone(), Verifier::any(provider.clone()), None, shown)?),
        };
        if mode == SslMode::Disable {
            // Like libpq, no certificate file is read when TLS is off.
            return Ok(settings);
        }

        let roots = load_roots(settings.root_certs.as_ref(), mode, root_setting.as_ref(), shown)?;
        let client = load_client(settings.client_cert.as_ref(), cert_setting.as_ref(), key_setting.as_ref(), shown)?;

        let verifier = match roots {
            Some((roots, self_signed)) => {
                Verifier::checking(roots, self_signed, mode == SslMode::VerifyFull, provider.clone())
                    .map_err(|e| fail(format!("cannot use the root certificates ({e})")))?
            }
            None => Verifier::any(provider.clone()),
        };
        settings.verify_chain = verifier.chain.is_some();
        settings.presents_client_cert = client.is_some();
        settings.connector = MakeTls::new(client_config(provider, verifier, client, shown)?);
        Ok(settings)
    }

    /// The driver's first sslmode: `allow` starts without TLS (see [`super::connect`]).
    pub(super) fn driver_mode(&self) -> postgres::config::SslMode {
        match self.mode {
            SslMode::Disable | SslMode::Allow => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => postgres::config::SslMode::Require,
        }
    }

    /// The TLS connector for connections and cancel requests.
    pub fn connector(&self) -> MakeTls {
        self.connector.clone()
    }

    /// The libpq variables that make `pg_dump` and `psql` connect the same way: PGSSLMODE,
    /// and PGSSLROOTCERT, PGSSLCERT, PGSSLKEY with the files doppel considered (configured or
    /// default; a missing one is skipped by libpq as here).
    pub fn child_env(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![("PGSSLMODE", self.mode.as_str().to_string())];
        if self.mode == SslMode::Disable {
            return vars;
        }
        match &self.root_certs {
            Some(RootCerts::System) => vars.push(("PGSSLROOTCERT", "system".to_string())),
            Some(RootCerts::File(path)) => vars.push(("PGSSLROOTCERT", path.display().to_string())),
            None => {}
        }
        if let Some((cert, key)) = &self.client_cert {
            vars.push(("PGSSLCERT", cert.display().to_string()));
            vars.push(("PGSSLKEY", key.display().to_string()));
        }
        vars
    }

    /// What the root certificates are, for messages.
    fn roots_shown(&self) -> String {
        match &self.root_certs {
            Some(RootCerts::System) => "the system's trusted certificates".to_string(),
            Some(RootCerts::File(path)) => path.display().to_string(),
            None => "no root certificates".to_string(),
        }
    }

    /// Our words for a connection failure caused by TLS, or `None` when TLS was not the cause.
    pub(super) fn describe_failure(&self, e: &postgres::Error) -> Option<String> {
        if super::error::chain_mentions(e, "server does not support TLS") {
            return Some(format!(
                "the server does not accept TLS connections, and sslmode={} (from {}) does not connect without \
                 TLS; turn on ssl in the server's postgresql.conf, or use sslmode=prefer to fall back to an \
                 unencrypted connection",
                self.mode.as_str(),
                self.mode_from
            ));
        }
        let tls = rustls_cause(e);
        if tls.is_none() && !super::error::chain_mentions(e, "error performing TLS handshake") {
            return None;
        }
        let why_checked = match (&self.mode, &self.root_certs) {
            (SslMode::VerifyCa | SslMode::VerifyFull, _) => format!("sslmode={}", self.mode.as_str()),
            (_, Some(RootCerts::File(_))) => {
                format!("sslmode={} checks the chain because that file exists, as libpq does", self.mode.as_str())
            }
            _ => format!("sslmode={}", self.mode.as_str()),
        };
        let message = match tls {
            Some(rustls::Error::InvalidCertificate(cert)) => match cert {
                CertificateError::UnknownIssuer => format!(
                    "the server's TLS certificate is not signed by a CA in {} ({why_checked}); set sslrootcert \
                     (or PGSSLROOTCERT) to the file holding the CA certificate that signed the server's certificate",
                    self.roots_shown()
                ),
                CertificateError::NotValidForNameContext { expected, presented } => format!(
                    "the server's TLS certificate is not valid for the host name {} (it names: {}); connect by a \
                     name the certificate lists, or use sslmode=verify-ca to check the chain only",
                    expected.to_str(),
                    if presented.is_empty() {
                        "no subjectAltName".to_string()
                    } else {
                        presented.iter().map(|n| plain_name(n)).collect::<Vec<_>>().join(", ")
                    }
                ),
                CertificateError::NotValidForName => "the server's TLS certificate is not valid for the host name \
                     in the URL; connect by a name the certificate lists (its subjectAltName), or use \
                     sslmode=verify-ca to check the chain only"
                    .to_string(),
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    "the server's TLS certificate has expired; renew it on the server".to_string()
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    "the server's TLS certificate is not valid yet; check the clocks of this machine and the server"
                        .to_string()
                }
                CertificateError::Revoked => "the server's TLS certificate has been revoked".to_string(),
                other => format!(
                    "the server's TLS certificate does not verify ({other:?}, {why_checked}); a server certificate \
                     must be signed by a CA in {} and not be a CA certificate itself, or be a self-signed certificate \
                     listed there",
                    self.roots_shown()
                ),
            },
            Some(rustls::Error::AlertReceived(alert)) => format!(
                "the server ended the TLS handshake ({alert:?}){}; check the server's TLS settings and log",
                if self.presents_client_cert {
                    ", perhaps refusing doppel's client certificate (sslcert/sslkey)"
                } else {
                    "; if it asks for a client certificate, set sslcert and sslkey"
                }
            ),
            Some(other) => format!("the TLS handshake failed ({other}); check the server's TLS settings and log"),
            None => format!("the TLS handshake failed ({e}); check the server's TLS settings and log"),
        };
        Some(message)
    }
}

/// Root certificates, and the self-signed server certificates among them.
type Roots = (RootCertStore, Vec<CertificateDer<'static>>);

/// The root certificates to check the server's chain against, or `None` when the chain is not
/// checked; a missing file is an error for the verify modes only.
fn load_roots(
    root_certs: Option<&RootCerts>,
    mode: SslMode,
    root_setting: Option<&Setting>,
    shown: &str,
) -> Result<Option<Roots>> {
    Ok(match root_certs {
        Some(RootCerts::System) => Some((system_roots(shown)?, Vec::new())),
        Some(RootCerts::File(path)) if path.exists() => Some(file_roots(path, shown)?),
        Some(RootCerts::File(path)) => {
            if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) {
                let from = root_setting.map_or("libpq's default", |s| s.from.as_str());
                return Err(Error::source(
                    shown,
                    format!(
                        "sslmode={} checks the server's certificate, but the root certificate file {} (from {from}) \
                         does not exist; set sslrootcert (or PGSSLROOTCERT) to the file holding the CA certificate \
                         that signed the server's certificate, use sslrootcert=system for the system's trusted \
                         CAs, or use sslmode=require to encrypt without checking the certificate",
                        mode.as_str(),
                        path.display()
                    ),
                ));
            }
            if root_setting.is_some() {
                tracing::warn!(
                    file = %path.display(),
                    "the root certificate file does not exist; the server's certificate is not checked \
                     (sslmode={})",
                    mode.as_str()
                );
            }
            None
        }
        None => {
            if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) {
                return Err(Error::source(
                    shown,
                    format!(
                        "sslmode={} checks the server's certificate, but no root certificate file is set and HOME \
                         is not set (libpq's default is ~/.postgresql/root.crt); set sslrootcert or PGSSLROOTCERT",
                        mode.as_str()
                    ),
                ));
            }
            None
        }
    })
}

/// The client certificate and key to present, when the certificate file exists.
fn load_client(
    client_cert: Option<&(PathBuf, PathBuf)>,
    cert_setting: Option<&Setting>,
    key_setting: Option<&Setting>,
    shown: &str,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>> {
    Ok(match client_cert {
        Some((cert, key)) if cert.exists() => {
            let key_from = key_setting.map_or("libpq's default", |s| s.from.as_str());
            Some(client_identity(cert, key, key_from, shown)?)
        }
        Some((cert, _)) => {
            if let Some(s) = cert_setting {
                tracing::warn!(
                    file = %cert.display(),
                    "the client certificate file ({}) does not exist; no client certificate is sent",
                    s.from
                );
            }
            None
        }
        None => None,
    })
}

/// `DnsName("db.example")` or `IpAddress(10.0.0.1)` (how rustls lists a certificate's
/// names) as `db.example` or `10.0.0.1`.
fn plain_name(name: &str) -> &str {
    let inner = name
        .strip_prefix("DnsName(")
        .or_else(|| name.strip_prefix("IpAddress("))
        .and_then(|n| n.strip_suffix(')'))
        .unwrap_or(name);
    inner.strip_prefix('"').and_then(|n| n.strip_suffix('"')).unwrap_or(inner)
}

/// The rustls error under a driver error, if the handshake failed there. rustls errors sit
/// inside an `io::Error` (whose `source()` skips them), so each `io::Error` is opened.
fn rustls_cause(e: &postgres::Error) -> Option<&rustls::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(r) = c.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(r) = c.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()?.downcast_ref::<rustls::Error>())
        {
            return Some(r);
        }
        cause = c.source();
    }
    None
}

/// True when `e` is a failed TLS handshake (the server offered TLS and it did not complete).
pub(super) fn is_handshake_failure(e: &postgres::Error) -> bool {
    rustls_cause(e).is_some() || super::error::chain_mentions(e, "error performing TLS handshake")
}

fn client_config(
    provider: Arc<CryptoProvider>,
    verifier: Verifier,
    client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    shown: &str,
) -> Result<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::source(shown, format!("cannot set up TLS ({e})")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    match client {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(|e| {
            Error::source(
                shown,
                format!(
                    "the client certificate cannot be used with its key ({e}); check sslcert and sslkey: the \
                     certificate must be X.509 v3 and match the key"
                ),
            )
        }),
        None => Ok(builder.with_no_client_auth()),
    }
}

fn system_roots(shown: &str) -> Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found.errors.first().map(|e| format!(" ({e})")).unwrap_or_default();
        return Err(Error::source(
            shown,
            format!(
                "sslrootcert=system, but no trusted certificate was found in the system's store{why}; install the \
                 ca-certificates package, set SSL_CERT_FILE, or set sslrootcert to a CA file"
            ),
        ));
    }
    Ok(roots)
}

/// The certificates of a root certificate file, and those of them that are self-signed.
fn file_roots(path: &Path, shown: &str) -> Result<(RootCertStore, Vec<CertificateDer<'static>>)> {
    let certs = read_certificates(path, "root certificate", shown)?;
    let self_signed = certs.iter().filter(|c| is_self_signed(c)).cloned().collect();
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| {
            Error::source(
                shown,
                format!("the root certificate file {} holds a certificate that cannot be used ({e})", path.display()),
            )
        })?;
    }
    Ok((roots, self_signed))
}

/// True when the certificate's issuer is its subject.
fn is_self_signed(cert: &CertificateDer<'_>) -> bool {
    x509_cert::Certificate::from_der(cert.as_ref()).is_ok_and(|c| c.tbs_certificate.issuer == c.tbs_certificate.subject)
}

/// The PEM certificates of `path`; an error when it holds none.
fn read_certificates(path: &Path, what: &str, shown: &str) -> Result<Vec<CertificateDer<'static>>> {
    let bad = |why: String| Error::source(shown, format!("cannot read the {what} file {}: {why}", path.display()));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_string()));
    }
    Ok(certs)
}

/// The client certificate chain and key; the key file must exist, be private (libpq's rule:
/// no group or other access, or at most group read when owned by root) and be unencrypted.
fn client_identity(
    cert: &Path,
    key: &Path,
    key_from: &str,
    shown: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let chain = read_certificates(cert, "client certificate", shown)?;
    let fail = |message: String| Error::source(shown, message);
    let meta = std::fs::metadata(key).map_err(|e| {
        fail(format!(
            "the client certificate {} is there, but its private key {} (from {key_from}) cannot be read ({e}); set \
             sslkey (or PGSSLKEY) to the key file",
            cert.display(),
            key.display()
        ))
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mode = meta.permissions().mode();
        let too_open = if meta.uid() == 0 { mode & 0o037 != 0 } else { mode & 0o077 != 0 };
        if too_open {
            return Err(fail(format!(
                "the private key file {} has group or world access; run chmod 600 on it (0640 is allowed when \
                 root owns it)",
                key.display()
            )));
        }
    }
    let text =
        std::fs::read(key).map_err(|e| fail(format!("cannot read the private key file {} ({e})", key.display())))?;
    if text.windows(9).any(|w| w == b"ENCRYPTED") {
        return Err(fail(format!(
            "the private key file {} is encrypted, and doppel cannot ask for its passphrase (sslpassword is not \
             supported); decrypt it (openssl pkey -in KEY -out NEWKEY) and keep it at mode 600",
            key.display()
        )));
    }
    let private = PrivateKeyDer::from_pem_slice(&text).map_err(|e| {
        fail(format!("the private key file {} holds no PEM private key doppel can use ({e})", key.display()))
    })?;
    Ok((chain, private))
}

/// Checks the server's certificate as the mode says: not at all, the chain only, or the chain
/// and the host name. The handshake's signatures are always checked against the certificate.
#[derive(Debug)]
struct Verifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    /// Self-signed certificates of the root certificate file: a server presenting one of them
    /// is trusted without a chain (webpki refuses a CA certificate as the server's own).
    self_signed: Vec<CertificateDer<'static>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl Verifier {
    fn any(provider: Arc<CryptoProvider>) -> Verifier {
        Verifier { chain: None, self_signed: Vec::new(), check_name: false, provider }
    }

    fn checking(
        roots: RootCertStore,
        self_signed: Vec<CertificateDer<'static>>,
        check_name: bool,
        provider: Arc<CryptoProvider>,
    ) -> std::result::Result<Verifier, rustls::client::VerifierBuilderError> {
        let chain = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;
        Ok(Verifier { chain: Some(chain), self_signed, check_name, provider })
    }

    /// A self-signed certificate from the root file, presented as it is: within its validity
    /// period and, for verify-full, valid for the host name.
    fn verify_pinned(
        &self,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let cert = x509_cert::Certificate::from_der(end_entity.as_ref())
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let validity = &cert.tbs_certificate.validity;
        let now = now.as_secs();
        if now < validity.not_before.to_unix_duration().as_secs() {
            return Err(rustls::Error::InvalidCertificate(CertificateError::NotValidYet));
        }
        if now > validity.not_after.to_unix_duration().as_secs() {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
        }
        if self.check_name {
            verify_server_name(&ParsedCertificate::try_from(end_entity)?, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // WebPkiServerVerifier checks the chain (and revocation) first and the name last, so a
        // name error means the chain verified.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            Err(_) if self.self_signed.iter().any(|c| c.as_ref() == end_entity.as_ref()) => {
                self.verify_pinned(end_entity, server_name, now)
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A self-signed certificate for `localhost` made by the openssl program (a CA certificate,
    /// as `openssl req -x509` and PostgreSQL's documentation make them).
    fn self_signed(dir: &Path, name: &str) -> CertificateDer<'static> {
        let out = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
            .args(["-keyout", &format!("{name}.key"), "-out", &format!("{name}.crt"), "-days", "2"])
            .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"])
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        CertificateDer::from_pem_file(dir.join(format!("{name}.crt"))).unwrap()
    }

    fn verifier(trusted: &CertificateDer<'static>, check_name: bool) -> Verifier {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(trusted.clone()).unwrap();
        Verifier::checking(roots, vec![trusted.clone()], check_name, provider).unwrap()
    }

    fn check(v: &Verifier, cert: &CertificateDer<'_>, host: &str, now: UnixTime) -> std::result::Result<(), String> {
        let name = ServerName::try_from(host.to_string()).unwrap();
        v.verify_server_cert(cert, &[], &name, &[], now).map(|_| ()).map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn a_self_signed_server_certificate_in_the_root_file_is_trusted_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let pinned = self_signed(dir.path(), "pinned");
        let stranger = self_signed(dir.path(), "stranger");
        assert!(is_self_signed(&pinned));
        let now = UnixTime::now();
        let full = verifier(&pinned, true);
        check(&full, &pinned, "localhost", now).unwrap();
        let e = check(&full, &pinned, "db.example", now).unwrap_err();
        assert!(e.contains("NotValidForName"), "{e}");
        check(&verifier(&pinned, false), &pinned, "db.example", now).unwrap();
        // Another self-signed (CA) certificate is refused: webpki names the CA flag first.
        let e = check(&full, &stranger, "localhost", now).unwrap_err();
        assert!(e.contains("CaUsedAsEndEntity") || e.contains("UnknownIssuer"), "{e}");
        let later = UnixTime::since_unix_epoch(Duration::from_secs(now.as_secs() + 10 * 86_400));
        let e = check(&full, &pinned, "localhost", later).unwrap_err();
        assert!(e.contains("Expired"), "{e}");
    }

    #[test]
    fn rustls_names_are_shown_plainly() {
        assert_eq!(plain_name("DnsName(\"db.example\")"), "db.example");
        assert_eq!(plain_name("IpAddress(10.0.0.1)"), "10.0.0.1");
        assert_eq!(plain_name("other"), "other");
    }
}
