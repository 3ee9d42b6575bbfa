//! TLS against the test cluster (`ssl = on`, a server certificate for `localhost` and
//! `127.0.0.1` signed by the harness's test CA). These tests' own cluster refuses every
//! unencrypted TCP connection (`hostnossl … reject` in pg_hba.conf), so a success here means
//! TLS, for doppel's own connections and for its pg_dump and psql children alike.
//!
//! Checked: each sslmode reaches the server over TLS (`pg_stat_ssl`) or is refused with a
//! clear message; a certificate from another CA is refused under verify-ca, verify-full, and
//! require when `~/.postgresql/root.crt` exists (libpq's rule); verify-full checks the host
//! name and verify-ca does not; a missing root certificate file is an error before connecting;
//! a client certificate is presented; `doppel run` PG → PG works over verify-full.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::pg::Cluster;
use doppel::error::Error;
use doppel::pg::connect::ConnectParams;

/// A cluster of these tests' own, made TLS-only once: refusing plain connections on the
/// shared cluster would break every other test.
fn tls_only() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let c = Cluster::start();
        let hba = c.data_dir.join("pg_hba.conf");
        let text = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
        // Rewritten in place: the file keeps its owner (the server's user).
        std::fs::write(&hba, format!("hostnossl all all 127.0.0.1/32 reject\n{text}")).expect("write pg_hba.conf");
        assert_eq!(c.scalar("postgres", "SELECT pg_reload_conf()"), "t");
        // The reload is asynchronous: wait until a plain connection is refused.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while connect(&format!("{}?sslmode=disable", c.url("postgres"))).is_ok() {
            assert!(std::time::Instant::now() < deadline, "pg_hba.conf reload did not take effect");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        c
    })
}

/// Connects through doppel's own code with no PG* variable and no HOME.
fn connect(url: &str) -> Result<postgres::Client, Error> {
    connect_with(url, &[])
}

fn connect_with(url: &str, env: &[(&str, String)]) -> Result<postgres::Client, Error> {
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    ConnectParams::resolve(url, &move |name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))?.connect()
}

/// The message of a connection that must fail.
fn refused(url: &str, env: &[(&str, String)]) -> String {
    match connect_with(url, env) {
        Ok(_) => panic!("{url} connected, but should have been refused"),
        Err(e) => e.to_string(),
    }
}

/// `(ssl, client_dn)` of the session as the server sees it.
fn ssl_state(client: &mut postgres::Client) -> (bool, Option<String>) {
    let row = client
        .query_one("SELECT ssl, client_dn FROM pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid()", &[])
        .unwrap();
    (row.get(0), row.get(1))
}

fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl").args(args.split_whitespace()).current_dir(dir).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A certificate authority the server's certificate does not come from: `<dir>/other-ca.crt`.
fn other_ca(dir: &Path) -> PathBuf {
    openssl(
        dir,
        "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other-ca.key -out other-ca.crt \
         -days 2 -subj /CN=another-CA -addext basicConstraints=critical,CA:TRUE",
    );
    dir.join("other-ca.crt")
}

fn with_params(url: &str, params: &str) -> String {
    format!("{url}?{params}")
}

#[test]
fn every_mode_that_may_use_tls_reaches_the_server_over_tls() {
    let c = tls_only();
    let db = c.create_database("tls_modes");
    let ca = c.ca_cert().display().to_string();
    let ip = c.url(&db);
    let name = ip.replace("127.0.0.1", "localhost");
    for url in [
        ip.clone(),
        with_params(&ip, "sslmode=prefer"),
        // Refused without TLS, then tried again with TLS, as libpq does.
        with_params(&ip, "sslmode=allow"),
        with_params(&ip, "sslmode=require"),
        with_params(&ip, "requiressl=1"),
        with_params(&ip, &format!("sslmode=verify-ca&sslrootcert={ca}")),
        with_params(&ip, &format!("sslmode=verify-full&sslrootcert={ca}")),
        with_params(&name, &format!("sslmode=verify-full&sslrootcert={ca}")),
    ] {
        let mut client = connect(&url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(ssl_state(&mut client), (true, None), "{url}");
    }
    // PGSSLMODE and PGSSLROOTCERT do the same as the URL.
    let env = [("PGSSLMODE", "verify-full".to_string()), ("PGSSLROOTCERT", ca.clone())];
    let mut client = connect_with(&name, &env).unwrap();
    assert!(ssl_state(&mut client).0);
}

#[test]
fn disable_against_a_tls_only_server_is_refused_with_the_servers_reason() {
    let c = tls_only();
    let db = c.create_database("tls_disable");
    let e = refused(&with_params(&c.url(&db).replace("postgres@", "postgres:hunter2@"), "sslmode=disable"), &[]);
    assert!(e.contains(&format!("127.0.0.1:{}/{db}", c.port)), "{e}");
    assert!(e.contains("pg_hba.conf") && e.contains("no encryption"), "{e}");
    assert!(e.contains("use sslmode=require"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
}

#[test]
fn a_certificate_from_another_ca_is_refused() {
    let c = tls_only();
    let db = c.create_database("tls_wrong_ca");
    let dir = tempfile::tempdir().unwrap();
    let wrong = other_ca(dir.path()).display().to_string();
    for mode in ["verify-ca", "verify-full"] {
        let url = with_params(&c.url(&db), &format!("sslmode={mode}&sslrootcert={wrong}"));
        let e = refused(&url, &[]);
        assert!(e.contains(&format!("127.0.0.1:{}/{db}", c.port)), "{e}");
        assert!(e.contains("not signed by a CA in") && e.contains(&wrong), "{e}");
        assert!(e.contains("set sslrootcert"), "{e}");
    }

    // The server's own certificate is no root: it is not self-signed, and OpenSSL (libpq) would
    // not trust it alone either.
    let leaf = c.ca_cert().with_file_name("server.crt").display().to_string();
    let e = refused(&with_params(&c.url(&db), &format!("sslmode=verify-ca&sslrootcert={leaf}")), &[]);
    assert!(e.contains("not signed by a CA in") && e.contains(&leaf), "{e}");

    // libpq's rule: with ~/.postgresql/root.crt present, require checks the chain too.
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".postgresql")).unwrap();
    let root = home.path().join(".postgresql/root.crt");
    std::fs::copy(&wrong, &root).unwrap();
    let env = [("HOME", home.path().display().to_string())];
    let require = with_params(&c.url(&db), "sslmode=require");
    let e = refused(&require, &env);
    assert!(e.contains("not signed by a CA") && e.contains("because that file exists"), "{e}");
    // prefer falls back to an unencrypted connection, which this server refuses.
    let e = refused(&c.url(&db), &env);
    assert!(e.contains("no encryption"), "{e}");
    // With the right CA there, require and the default both connect over TLS.
    std::fs::copy(c.ca_cert(), &root).unwrap();
    assert!(ssl_state(&mut connect_with(&require, &env).unwrap()).0);
    assert!(ssl_state(&mut connect_with(&c.url(&db), &env).unwrap()).0);
}

#[test]
fn verify_full_checks_the_host_name_and_verify_ca_does_not() {
    let c = tls_only();
    // A name for this machine that is not in the certificate and reaches 127.0.0.1.
    let Some(host) = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && h != "localhost")
        .filter(|h| {
            std::net::ToSocketAddrs::to_socket_addrs(&(h.as_str(), c.port))
                .is_ok_and(|mut a| a.any(|a| a.ip() == std::net::Ipv4Addr::LOCALHOST))
        })
    else {
        eprintln!("skipped: this machine's host name does not resolve to 127.0.0.1");
        return;
    };
    let db = c.create_database("tls_host_name");
    let ca = c.ca_cert().display().to_string();
    let url = c.url(&db).replace("127.0.0.1", &host);
    let e = refused(&with_params(&url, &format!("sslmode=verify-full&sslrootcert={ca}")), &[]);
    assert!(e.contains(&format!("{host}:{}/{db}", c.port)), "{e}");
    assert!(e.contains(&format!("not valid for the host name {host}")), "{e}");
    assert!(e.contains("(it names: localhost, 127.0.0.1)") && e.contains("verify-ca"), "{e}");
    let mut client = connect(&with_params(&url, &format!("sslmode=verify-ca&sslrootcert={ca}"))).unwrap();
    assert!(ssl_state(&mut client).0);
}

#[test]
fn a_missing_root_certificate_is_an_error_before_connecting() {
    let c = tls_only();
    let url = with_params(&c.url("postgres"), "sslmode=verify-full&sslrootcert=/nonexistent/ca.crt");
    let e = ConnectParams::resolve(&url, &|_| None).unwrap_err().to_string();
    assert!(e.contains("/nonexistent/ca.crt") && e.contains("does not exist"), "{e}");
    // Without sslrootcert, libpq's default ~/.postgresql/root.crt is the one missing.
    let home = tempfile::tempdir().unwrap();
    let env = [("HOME", home.path().display().to_string())];
    let e = refused(&with_params(&c.url("postgres"), "sslmode=verify-ca"), &env);
    assert!(e.contains(".postgresql/root.crt") && e.contains("libpq's default"), "{e}");
}

#[test]
fn a_client_certificate_is_presented_to_the_server() {
    let c = tls_only();
    let db = c.create_database("tls_client_cert");
    let dir = tempfile::tempdir().unwrap();
    openssl(
        dir.path(),
        "req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout client.key -out client.csr \
         -subj /CN=doppel-client",
    );
    // Extensions make it an X.509 v3 certificate; rustls refuses v1.
    std::fs::write(dir.path().join("client.ext"), "extendedKeyUsage = clientAuth\n").unwrap();
    openssl(
        dir.path(),
        &format!(
            "x509 -req -extfile client.ext -in client.csr -CA {} -CAkey {} -CAcreateserial -CAserial {}/ca.srl -out client.crt -days 2",
            c.ca_cert().display(),
            c.ca_key().display(),
            dir.path().display()
        ),
    );
    let (cert, key) = (dir.path().join("client.crt"), dir.path().join("client.key"));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let url = with_params(
        &c.url(&db),
        &format!(
            "sslmode=verify-full&sslrootcert={}&sslcert={}&sslkey={}",
            c.ca_cert().display(),
            cert.display(),
            key.display()
        ),
    );
    let mut client = connect(&url).unwrap();
    assert_eq!(ssl_state(&mut client), (true, Some("/CN=doppel-client".to_string())));
    // PGSSLCERT and PGSSLKEY too.
    let env = [("PGSSLCERT", cert.display().to_string()), ("PGSSLKEY", key.display().to_string())];
    let mut client = connect_with(&with_params(&c.url(&db), "sslmode=require"), &env).unwrap();
    assert_eq!(ssl_state(&mut client).1.as_deref(), Some("/CN=doppel-client"));
    // A key others can read is refused, as libpq does.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = refused(&url, &[]);
    assert!(e.contains("group or world access") && e.contains("chmod 600"), "{e}");
}

#[test]
fn doppel_run_copies_a_database_over_verify_full_with_its_children_on_tls_too() {
    let c = tls_only();
    let source = c.club();
    let target = format!("{source}_tls_copy");
    let rules = common::root().join("tests/fixtures/pg/club.toml");
    let verify = format!("sslmode=verify-full&sslrootcert={}", c.ca_cert().display());
    // A password in the URL (ignored by the trusting server) must not show anywhere.
    let url = |db: &str| with_params(&c.url(db).replace("postgres@", "postgres:hunter2@"), &verify);
    let (from, to) = (url(&source), url(&target));
    let out = common::doppel_run(&rules, &from, &to, &[]);
    // pg_dump (pre- and post-data from the source) and psql (into the target) connect over
    // TCP; this server refuses them unless they use TLS.
    assert!(out.status.success(), "{}", common::stderr(&out));
    for table in ["cd.bookings", "cd.facilities", "cd.members"] {
        let count = |db: &str| c.scalar(db, &format!("SELECT count(*) FROM {table}"));
        assert_eq!(count(&source), count(&target), "{table}");
    }
    let constraints = "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
                       WHERE n.nspname = 'cd'";
    assert_eq!(c.scalar(&source, constraints), c.scalar(&target, constraints), "post-data arrived");

    // The wrong CA: exit code 4 (source), a message naming the place and what to do.
    let dir = tempfile::tempdir().unwrap();
    let wrong = other_ca(dir.path()).display().to_string();
    let bad_from = with_params(
        &c.url(&source).replace("postgres@", "postgres:hunter2@"),
        &format!("sslmode=verify-ca&sslrootcert={wrong}"),
    );
    let other_target = format!("{source}_tls_never");
    let to = url(&other_target);
    let out = common::doppel_run(&rules, &bad_from, &to, &[]);
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{}/{source}", c.port)) && err.contains("set sslrootcert"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
