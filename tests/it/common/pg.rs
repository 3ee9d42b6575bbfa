//! A throwaway PostgreSQL cluster for the integration tests.
//!
//! [`cluster()`] starts one cluster per test binary on first use (`initdb` into a fresh directory
//! under `/tmp`, `pg_ctl start` on a free port of 127.0.0.1, trust authentication, superuser
//! `postgres`) and shares it between the binary's tests; each test then makes its own database
//! with [`Cluster::create_database`], [`Cluster::trade`] or [`Cluster::club`] (the project's own
//! fixtures in `tests/fixtures/pg/`; the public sample databases are for the corpus tests only,
//! tests/it/corpus.rs).
//!
//! Stopping: the Rust test harness never drops statics, so a watchdog shell is started beside
//! the cluster, detached (own process group, output to /dev/null). Its stdin is a pipe whose
//! only write end this process holds; when the process ends, however it ends (success, panic,
//! abort, SIGKILL), the kernel closes the pipe, the watchdog's `cat` sees end-of-file, and it
//! runs `pg_ctl stop -m immediate` and removes the cluster's directory. A cluster made with
//! [`Cluster::start`] and dropped is stopped the same way.
//!
//! TLS: the server runs with `ssl = on` and a certificate for `localhost` and `127.0.0.1`
//! signed by a test CA that the `openssl` program makes at start, in the cluster's `tls/`
//! directory ([`Cluster::ca_cert`]). pg_hba's `host` lines take TLS and plain connections alike.
//! The server also trusts that CA for client certificates (`ssl_ca_file`): a client may present
//! one signed with [`Cluster::ca_key`] (it shows in `pg_stat_ssl.client_dn`), none is required.
//!
//! Root: initdb and postgres refuse to run as root, so when the tests run as uid 0 (as CI
//! does), the directory is chowned to the `postgres` user (or `$DOPPEL_PG_USER`) and the
//! server programs and the watchdog run under that user's uid/gid (`CommandExt::uid/gid`, no
//! runuser or su needed). Clients (psql) connect over TCP as whoever runs the tests.
//!
//! Environment:
//! - `DOPPEL_PG_BIN`: directory with initdb, pg_ctl and postgres (default: `pg_config
//!   --bindir`, then the newest `/usr/lib/postgresql/*/bin`, then `/usr/pgsql-*/bin`, then PATH).
//! - `DOPPEL_PG_USER`: the unprivileged user to run the server as when root (default `postgres`).
//! - `DOPPEL_PG_KEEP=1`: no watchdog; the cluster keeps running after the tests for
//!   inspection (its directory and URL are printed on stderr; stop it yourself).
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const INSTALL_HINT: &str = "The PostgreSQL integration tests start their own throwaway server and need \
    PostgreSQL's server programs (initdb, pg_ctl, postgres) and client (psql). Install them \
    (Debian/Ubuntu: `apt-get install postgresql`; Fedora/RHEL: `dnf install postgresql-server`; \
    macOS: `brew install postgresql`), or point DOPPEL_PG_BIN at the directory holding initdb.";

/// A running throwaway cluster.
pub struct Cluster {
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// Always "127.0.0.1".
    pub host: String,
    /// The cluster's directory: `data/` (PGDATA), `postgres.log`, and the Unix socket.
    pub dir: PathBuf,
    /// PGDATA.
    pub data_dir: PathBuf,
    /// The server log (`pg_ctl -l`).
    pub log_file: PathBuf,
    /// Directory of the server's programs (initdb, pg_ctl, postgres, and usually psql, pg_dump).
    pub bin_dir: PathBuf,
    /// How long initdb + start took.
    pub startup: Duration,
    /// The test CA's and the server's keys and certificates (`ca.crt`, `server.crt`, …).
    tls_dir: PathBuf,
    /// The user the server runs as when the tests run as root.
    run_as: Option<PgUser>,
    counter: AtomicUsize,
    /// Dataset name → template database holding it, loaded once per cluster.
    templates: Mutex<HashMap<String, String>>,
    /// The write end of the watchdog's stdin; closing it (drop or process exit) stops the
    /// cluster. `None` with DOPPEL_PG_KEEP.
    _watchdog: Option<Mutex<ChildStdin>>,
}

#[derive(Clone, Debug)]
struct PgUser {
    name: String,
    uid: u32,
    gid: u32,
}

/// The cluster shared by all tests of this test binary, started on first use.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
    match CLUSTER.get_or_init(Cluster::try_start) {
        Ok(c) => c,
        Err(message) => panic!("{message}"),
    }
}

impl Cluster {
    /// Starts a private cluster (most tests want the shared [`cluster()`]); it is stopped and
    /// removed when dropped or when the process exits. Panics with instructions on failure.
    pub fn start() -> Cluster {
        Cluster::try_start().unwrap_or_else(|message| panic!("{message}"))
    }

    fn try_start() -> Result<Cluster, String> {
        let begin = Instant::now();
        let bin_dir = find_bin_dir()?;
        let run_as = if current_uid()? == 0 { Some(pg_user()?) } else { None };

        // The parents of the directory must be traversable by the server's user: /tmp is.
        let dir = tempfile::Builder::new()
            .prefix("doppel-pg-")
            .tempdir_in("/tmp")
            .map_err(|e| format!("cannot create a directory for the test cluster under /tmp: {e}"))?
            .keep();
        if let Some(user) = &run_as {
            std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid))
                .map_err(|e| format!("cannot chown {} to {}: {e}", dir.display(), user.name))?;
        }
        let data_dir = dir.join("data");
        let log_file = dir.join("postgres.log");
        let tls_dir = dir.join("tls");
        let keep = std::env::var_os("DOPPEL_PG_KEEP").is_some_and(|v| !v.is_empty() && v != "0");

        let mut cluster = Cluster {
            port: 0,
            host: "127.0.0.1".to_string(),
            dir,
            data_dir,
            log_file,
            bin_dir,
            startup: Duration::ZERO,
            tls_dir,
            run_as,
            counter: AtomicUsize::new(0),
            templates: Mutex::new(HashMap::new()),
            _watchdog: None,
        };
        // The watchdog first, so that even a failure below leaves nothing behind.
        if !keep {
            cluster._watchdog = Some(Mutex::new(cluster.spawn_watchdog()?));
        }

        let out = cluster
            .server_command("initdb")
            .arg("-D")
            .arg(&cluster.data_dir)
            .args(["--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C", "--no-sync"])
            .output()
            .map_err(|e| format!("cannot run initdb from {}: {e}\n{INSTALL_HINT}", cluster.bin_dir.display()))?;
        if !out.status.success() {
            return Err(format!("initdb failed ({}):\n{}", out.status, output_text(&out)));
        }

        cluster.make_certificates()?;

        let mut last_error = String::new();
        for _attempt in 0..10 {
            let port = free_port()?;
            // Each attempt's log alone decides whether to retry.
            let _ = std::fs::remove_file(&cluster.log_file);
            let options = format!(
                "-p {port} -k '{}' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
                 -c full_page_writes=off -c max_connections=200 -c ssl=on -c ssl_cert_file='{}' \
                 -c ssl_key_file='{}' -c ssl_ca_file='{}'",
                cluster.dir.display(),
                cluster.tls_dir.join("server.crt").display(),
                cluster.tls_dir.join("server.key").display(),
                cluster.ca_cert().display()
            );
            let out = cluster
                .server_command("pg_ctl")
                .arg("-D")
                .arg(&cluster.data_dir)
                .arg("-o")
                .arg(&options)
                .arg("-l")
                .arg(&cluster.log_file)
                .args(["-w", "-t", "60", "start"])
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("cannot run pg_ctl: {e}\n{INSTALL_HINT}"))?;
            if out.status.success() {
                cluster.port = port;
                cluster.startup = begin.elapsed();
                eprintln!(
                    "test cluster: PostgreSQL on {}:{port} in {}, started in {} ms",
                    cluster.host,
                    cluster.dir.display(),
                    cluster.startup.as_millis()
                );
                if keep {
                    eprintln!(
                        "DOPPEL_PG_KEEP: test cluster in {} at {} (stop: pg_ctl -D {} stop)",
                        cluster.dir.display(),
                        cluster.url("postgres"),
                        cluster.data_dir.display()
                    );
                }
                return Ok(cluster);
            }
            let log = std::fs::read_to_string(&cluster.log_file).unwrap_or_default();
            last_error = format!("pg_ctl start failed ({}):\n{}\nserver log:\n{log}", out.status, output_text(&out));
            // Another process took the port between our probe and the server's bind: retry.
            if !(log.contains("could not bind") || log.contains("already in use")) {
                break;
            }
        }
        Err(last_error)
    }

    /// The test CA's certificate (PEM), which signed the server's certificate for `localhost`
    /// and `127.0.0.1`: the `sslrootcert` for `verify-ca` and `verify-full`.
    pub fn ca_cert(&self) -> PathBuf {
        self.tls_dir.join("ca.crt")
    }

    /// The test CA's private key, to sign client certificates with.
    pub fn ca_key(&self) -> PathBuf {
        self.tls_dir.join("ca.key")
    }

    /// Makes the test CA and the server's key and certificate in `tls/` with `openssl`; the
    /// server's key is private to the server's user, as PostgreSQL demands.
    fn make_certificates(&self) -> Result<(), String> {
        std::fs::create_dir(&self.tls_dir).map_err(|e| format!("cannot create {}: {e}", self.tls_dir.display()))?;
        std::fs::write(
            self.tls_dir.join("server.ext"),
            "subjectAltName = DNS:localhost, IP:127.0.0.1\nbasicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n",
        )
        .map_err(|e| format!("cannot write the server certificate's extensions: {e}"))?;
        let new_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        let steps = [
            format!(
                "req -x509 {new_key} -keyout ca.key -out ca.crt -days 30 -subj /CN=doppel-test-CA \
                 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
            ),
            format!("req {new_key} -keyout server.key -out server.csr -subj /CN=localhost"),
            "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 30 \
             -extfile server.ext"
                .to_string(),
        ];
        for step in &steps {
            let args: Vec<&str> = step.split_whitespace().collect();
            let out = Command::new("openssl")
                .args(&args)
                .current_dir(&self.tls_dir)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("cannot run openssl to make the test cluster's TLS certificates: {e}; install it (Debian/Ubuntu: apt-get install openssl)"))?;
            if !out.status.success() {
                return Err(format!("openssl {} failed ({}):\n{}", args.join(" "), out.status, output_text(&out)));
            }
        }
        let key = self.tls_dir.join("server.key");
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(|e| format!("cannot chmod {}: {e}", key.display()))?;
        if let Some(user) = &self.run_as {
            // The directory too: the watchdog removes it as that user.
            let entries = std::fs::read_dir(&self.tls_dir).map_err(|e| e.to_string())?.flatten().map(|e| e.path());
            for path in entries.chain([self.tls_dir.clone()]) {
                std::os::unix::fs::chown(&path, Some(user.uid), Some(user.gid))
                    .map_err(|e| format!("cannot chown {} to {}: {e}", path.display(), user.name))?;
            }
        }
        Ok(())
    }

    /// `postgres://postgres@127.0.0.1:PORT/DB` (trust authentication, superuser `postgres`).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@{}:{}/{}", self.host, self.port, db)
    }

    /// Creates an empty database named after `prefix` plus a unique suffix and returns the
    /// name. Safe to call from parallel tests.
    pub fn create_database(&self, prefix: &str) -> String {
        let name = self.unique_name(prefix);
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        name
    }

    /// Runs `sql` (any number of statements and psql meta-commands) through
    /// `psql -X -q -A -t -v ON_ERROR_STOP=1` against `db` and returns its stdout: one line per
    /// row, columns separated by `|`. Panics with psql's stderr when anything fails.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let mut child = self
            .client("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(self.url(db))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run psql: {e}\n{INSTALL_HINT}"));
        let mut stdin = child.stdin.take().expect("psql stdin");
        let input = sql.to_string();
        // A thread, so that a large result cannot block psql while we are still writing.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
        let out = child.wait_with_output().expect("wait for psql");
        writer.join().expect("psql stdin writer");
        if !out.status.success() {
            panic!("psql failed on database {db} ({}):\n{}\nSQL: {}", out.status, output_text(&out), excerpt(sql));
        }
        String::from_utf8(out.stdout).expect("psql output is UTF-8")
    }

    /// Like [`Cluster::psql`] for a query returning one value: the trimmed output.
    pub fn scalar(&self, db: &str, sql: &str) -> String {
        self.psql(db, sql).trim().to_string()
    }

    /// Runs the SQL file `path` with `psql -f` (ON_ERROR_STOP) against `db`; panics with
    /// psql's stderr on failure.
    pub fn load_file(&self, db: &str, path: &Path) {
        let out = self
            .client("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(self.url(db))
            .arg("-f")
            .arg(path)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run psql: {e}\n{INSTALL_HINT}"));
        if !out.status.success() {
            panic!("psql -f {} failed on database {db} ({}):\n{}", path.display(), out.status, output_text(&out));
        }
    }

    /// A new database holding the trade fixture (`tests/fixtures/pg/trade.sql`: `public`
    /// schema, 14 tables of customers, employees, orders...); returns its name.
    pub fn trade(&self) -> String {
        self.dataset("trade", &fixture_file("trade.sql"))
    }

    /// A new database holding the club fixture (`tests/fixtures/pg/club.sql`: `cd` schema,
    /// 3 tables of members, facilities and bookings); returns its name.
    pub fn club(&self) -> String {
        self.dataset("club", &fixture_file("club.sql"))
    }

    /// A new database (named after `prefix`) holding the end-to-end benchmark's fixture
    /// (scripts/bench/fixture.sql) with `customers` and `orders` rows from `seed`.
    pub fn bench(&self, prefix: &str, customers: usize, orders: usize, seed: &str) -> String {
        let db = self.create_database(prefix);
        let out = self
            .client("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(self.url(&db))
            .args(["-v", &format!("customers={customers}"), "-v", &format!("orders={orders}")])
            .args(["-v", &format!("seed={seed}"), "-f"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench/fixture.sql"))
            .output()
            .expect("run psql");
        assert!(out.status.success(), "fixture.sql failed: {}", String::from_utf8_lossy(&out.stderr));
        db
    }

    /// A new database holding the SQL file `file`, cloned from a template database into which
    /// the file is loaded once per cluster (so parallel tests share one load).
    pub fn dataset(&self, name: &str, file: &Path) -> String {
        let template = {
            let mut templates = self.templates.lock().unwrap_or_else(|e| e.into_inner());
            match templates.get(name) {
                Some(t) => t.clone(),
                None => {
                    let t = self.create_database(&format!("template_{name}"));
                    self.load_file(&t, file);
                    // Nobody may connect to it any more: CREATE DATABASE ... TEMPLATE needs that.
                    self.psql("postgres", &format!("ALTER DATABASE \"{t}\" WITH ALLOW_CONNECTIONS false"));
                    templates.insert(name.to_string(), t.clone());
                    t
                }
            }
        };
        let db = self.unique_name(name);
        self.psql("postgres", &format!("CREATE DATABASE \"{db}\" TEMPLATE \"{template}\""));
        db
    }

    /// A command for a client program (psql, pg_dump, pg_restore, ...) of the cluster's
    /// version, with every `PG*` variable of the environment removed so that only the URL
    /// decides where it connects.
    pub fn client(&self, program: &str) -> Command {
        let local = self.bin_dir.join(program);
        let mut cmd = Command::new(if local.is_file() { local } else { PathBuf::from(program) });
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(key);
            }
        }
        cmd.env("PGCONNECT_TIMEOUT", "10");
        cmd
    }

    /// The postmaster's process id (first line of `postmaster.pid`), while it runs.
    pub fn postmaster_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// The server log so far (to print when a test fails).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    fn unique_name(&self, prefix: &str) -> String {
        let mut clean: String = prefix
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
            .take(40)
            .collect();
        if clean.is_empty() || clean.starts_with(|c: char| c.is_ascii_digit()) {
            clean.insert_str(0, "db_");
        }
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        format!("{clean}_{}_{n}", std::process::id())
    }

    /// A server program (initdb, pg_ctl) run as the server's user, from the cluster directory.
    fn server_command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(program));
        cmd.current_dir(&self.dir).env("HOME", &self.dir).env("LC_ALL", "C");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(key);
            }
        }
        if let Some(user) = &self.run_as {
            cmd.uid(user.uid).gid(user.gid).env("USER", &user.name).env("LOGNAME", &user.name);
        }
        cmd
    }

    /// Starts the watchdog: `cat` blocks on a pipe only this process writes to; at end-of-file
    /// (this process is gone, or the Cluster was dropped) it stops the server and removes the
    /// directory. It runs as the server's user, in its own process group (so Ctrl-C in a
    /// terminal does not kill it before it has cleaned up), with no inherited output.
    fn spawn_watchdog(&self) -> Result<ChildStdin, String> {
        const SCRIPT: &str = r#"
cat >/dev/null 2>&1
if [ -f "$2/postmaster.pid" ]; then
  "$1" -D "$2" -m immediate -w -t 30 stop >/dev/null 2>&1
  if [ -f "$2/postmaster.pid" ]; then
    kill -KILL "$(head -n 1 "$2/postmaster.pid")" 2>/dev/null
  fi
fi
rm -rf "$3"
"#;
        let mut cmd = Command::new("/bin/sh");
        cmd.current_dir(&self.dir).env("HOME", &self.dir);
        if let Some(user) = &self.run_as {
            cmd.uid(user.uid).gid(user.gid);
        }
        cmd.arg("-c")
            .arg(SCRIPT)
            .arg("doppel-pg-watchdog")
            .arg(self.bin_dir.join("pg_ctl"))
            .arg(&self.data_dir)
            .arg(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let mut child = cmd.spawn().map_err(|e| format!("cannot start the test cluster's watchdog (/bin/sh): {e}"))?;
        Ok(child.stdin.take().expect("watchdog stdin"))
    }
}

/// `tests/fixtures/pg/<name>`: a PostgreSQL fixture the project makes itself.
pub fn fixture_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pg").join(name)
}

fn find_bin_dir() -> Result<PathBuf, String> {
    let has_server = |d: &Path| ["initdb", "pg_ctl", "postgres"].iter().all(|p| d.join(p).is_file());
    if let Some(d) = std::env::var_os("DOPPEL_PG_BIN").filter(|d| !d.is_empty()) {
        let d = PathBuf::from(d);
        return if has_server(&d) {
            Ok(d)
        } else {
            Err(format!("DOPPEL_PG_BIN={} does not hold initdb, pg_ctl and postgres.\n{INSTALL_HINT}", d.display()))
        };
    }
    let mut candidates = Vec::new();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").stderr(Stdio::null()).output()
        && out.status.success()
    {
        candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    for parent in ["/usr/lib/postgresql", "/usr"] {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(parent)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let version = if parent == "/usr" { name.strip_prefix("pgsql-")? } else { &name };
                Some((version.split('.').next()?.parse().ok()?, entry.path().join("bin")))
            })
            .collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev().map(|(_, p)| p));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates.into_iter().find(|d| has_server(d)).ok_or_else(|| {
        format!("PostgreSQL's server programs were not found (looked at pg_config --bindir, /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin and PATH).\n{INSTALL_HINT}")
    })
}

fn current_uid() -> Result<u32, String> {
    id(&["-u"])
}

fn pg_user() -> Result<PgUser, String> {
    let name = std::env::var("DOPPEL_PG_USER").ok().filter(|n| !n.is_empty()).unwrap_or_else(|| "postgres".into());
    let problem = |e: String| {
        format!(
            "the tests run as root, and PostgreSQL refuses to run as root, so the test cluster runs as \
             the user `{name}`, which does not exist ({e}). Create it (`useradd --system {name}`; the \
             Debian/Ubuntu postgresql package does), set DOPPEL_PG_USER to another unprivileged user, \
             or run the tests as a normal user."
        )
    };
    let uid = id(&["-u", &name]).map_err(problem)?;
    let gid = id(&["-g", &name]).map_err(problem)?;
    Ok(PgUser { name, uid, gid })
}

fn id(args: &[&str]) -> Result<u32, String> {
    let out = Command::new("id").args(args).output().map_err(|e| format!("cannot run `id`: {e}"))?;
    if !out.status.success() {
        return Err(format!("`id {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|e| format!("`id {}`: {e}", args.join(" ")))
}

/// A port that was free on 127.0.0.1 a moment ago (the caller retries on a clash).
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot bind a TCP port on 127.0.0.1: {e}"))?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn output_text(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match (stdout.trim().is_empty(), stderr.trim().is_empty()) {
        (true, true) => "(no output)".into(),
        (false, true) => stdout.trim_end().to_string(),
        (true, false) => stderr.trim_end().to_string(),
        (false, false) => format!("{}\n{}", stdout.trim_end(), stderr.trim_end()),
    }
}

fn excerpt(sql: &str) -> String {
    let sql = sql.trim();
    match sql.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &sql[..i]),
        None => sql.to_string(),
    }
}

/// Structures the trade and club fixtures lack, for the PostgreSQL target and dump tests: sequences
/// (called and never called), an identity ALWAYS column, a stored generated column, a serial, a
/// deferrable foreign key, a quoted schema and table, and text with tabs, newlines, backslashes
/// and a lone `\.` line.
pub const SEQUENCES_FIXTURE: &str = r#"
CREATE SCHEMA "Odd Schema";
CREATE SEQUENCE public.counter START 100 INCREMENT 5;
SELECT nextval('public.counter'), nextval('public.counter'), nextval('public.counter');
CREATE SEQUENCE public.unused START 7;
CREATE TABLE public.items (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    qty int NOT NULL CHECK (qty > 0),
    total int GENERATED ALWAYS AS (qty * 2) STORED,
    ref bigint NOT NULL DEFAULT nextval('public.counter')
);
INSERT INTO public.items (name, qty) SELECT 'name ' || i, i FROM generate_series(1, 250) i;
DELETE FROM public.items WHERE id % 7 = 0;
CREATE TABLE "Odd Schema"."Mixed Case" (
    k serial PRIMARY KEY,
    item int REFERENCES public.items (id) DEFERRABLE INITIALLY DEFERRED,
    "Note" text
);
INSERT INTO "Odd Schema"."Mixed Case" (item, "Note") SELECT id, E'tab\there\nnewline \\ back' FROM public.items WHERE id < 50;
INSERT INTO "Odd Schema"."Mixed Case" (item, "Note") VALUES (NULL, NULL), (1, ''), (2, E'\\.');
"#;
