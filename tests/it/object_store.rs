//! Object storage (`s3://…`) against a local S3-compatible server: moto's server mode from
//! scripts/test.sh's venv, started per test on a free port with authentication on (its IAM
//! holds two users, whose keys the tests use). The stored objects are read back with boto3,
//! independently of doppel.
//!
//! Covered: `run` Parquet(S3) → Parquet(S3) of the shop fixture byte-identical to the local
//! run (with `--verify` and `--report`); `generate` to S3 (folders of parts) byte-identical to
//! the local generation; `scan` and `verify` reading S3 as they read the local copy; a run
//! that fails half-way publishes nothing, leaves the old output and no staging objects; a run
//! that fails while publishing (a copy refused by the store's policy) leaves a prefix doppel
//! refuses to read until a whole output replaces it; wrong
//! credentials and a missing bucket give clear errors without the secret. `doppel profile`
//! reads only PostgreSQL, so it has no object-store form to test. Skipped with a notice when
//! DOPPEL_PYTHON (the venv with pyarrow and moto) is not set.

use crate::common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use common::*;

/// What every Python helper starts with: an S3 client for the test server, from the
/// environment [`Moto::env`] sets.
const PRELUDE: &str = "import os, sys, boto3
s3 = boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name='us-east-1',
                  aws_access_key_id=os.environ['AWS_ACCESS_KEY_ID'],
                  aws_secret_access_key=os.environ['AWS_SECRET_ACCESS_KEY'])
def keys(prefix):
    pages = s3.get_paginator('list_objects_v2').paginate(Bucket='bkt', Prefix=prefix)
    return [o['Key'] for page in pages for o in page.get('Contents', [])]
";

/// The server's first seven requests go unauthenticated (moto's INITIAL_NO_AUTH_ACTION_COUNT):
/// two users with their policies and keys, and the bucket. Everything after is checked. The
/// user `doppel` may do anything; `limited` may not write `bkt/out/public.orders.parquet`.
const SETUP: &str = "import json, os, boto3
kw = dict(endpoint_url=os.environ['AWS_ENDPOINT_URL'], region_name='us-east-1')
iam = boto3.client('iam', aws_access_key_id='AKIAIOSFODNN7EXAMPLE', aws_secret_access_key='setup', **kw)
allow = {'Effect': 'Allow', 'Action': '*', 'Resource': '*'}
deny = {'Effect': 'Deny', 'Action': 's3:PutObject', 'Resource': 'arn:aws:s3:::bkt/out/public.orders.parquet'}
keys = []
for user, statements in [('doppel', [allow]), ('limited', [allow, deny])]:
    iam.create_user(UserName=user)
    policy = {'Version': '2012-10-17', 'Statement': statements}
    iam.put_user_policy(UserName=user, PolicyName='p', PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)['AccessKey']
    keys += [key['AccessKeyId'], key['SecretAccessKey']]
boto3.client('s3', aws_access_key_id=keys[0], aws_secret_access_key=keys[1], **kw).create_bucket(Bucket='bkt')
print(' '.join(keys))
";

/// moto's server on a port of 127.0.0.1 the system picks, printed once it listens; it runs
/// until its stdin closes (the test drops it) or it is killed.
const SERVER: &str = "import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
";

/// A moto server with the bucket `bkt`, stopped when dropped.
struct Moto {
    child: Child,
    python: String,
    endpoint: String,
    key_id: String,
    secret: String,
    /// The key of the user `limited` (see [`SETUP`]).
    limited: (String, String),
}

impl Moto {
    /// `None` (with a notice) when there is no venv to run it from.
    fn start() -> Option<Moto> {
        let Some(python) = python() else {
            eprintln!("skipped: DOPPEL_PYTHON (pyarrow and moto) is not set; run through scripts/test.sh");
            return None;
        };
        // The server binds a port the system picks and prints it: a port chosen here and
        // handed over could be taken by another test's server in between.
        let mut child = Command::new(&python)
            .args(["-c", SERVER])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "7")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto's server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("read moto's port");
        let port: u16 = line.trim().parse().unwrap_or_else(|_| {
            panic!(
                "moto's server did not start (printed {line:?}): scripts/test.sh installs moto[server] into its venv"
            )
        });
        let endpoint = format!("http://127.0.0.1:{port}");
        let mut moto =
            Moto { child, python, endpoint, key_id: String::new(), secret: String::new(), limited: Default::default() };
        let out = moto.python(SETUP, &[]);
        let keys: Vec<String> = out.split_whitespace().map(str::to_string).collect();
        let [id, secret, limited_id, limited_secret] =
            <[String; 4]>::try_from(keys).expect("the setup prints two keys");
        (moto.key_id, moto.secret, moto.limited) = (id, secret, (limited_id, limited_secret));
        Some(moto)
    }

    /// The environment doppel and the helpers read the store's settings from.
    fn env<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("AWS_")) {
            cmd.env_remove(name);
        }
        cmd.env("AWS_ACCESS_KEY_ID", &self.key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ALLOW_HTTP", "true")
    }

    /// Runs a Python helper (after [`PRELUDE`]) with `args`; its stdout.
    fn python(&self, script: &str, args: &[&str]) -> String {
        let mut cmd = Command::new(&self.python);
        self.env(&mut cmd).arg("-c").arg(format!("{PRELUDE}\n{script}")).args(args);
        let out = cmd.output().expect("run python");
        assert!(out.status.success(), "python helper failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn doppel<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Output {
        let mut cmd = doppel_command(args, Some(TEST_KEY));
        self.env(&mut cmd).output().expect("run doppel")
    }

    /// Every object under `prefix/` and its bytes, by key relative to the prefix.
    fn objects(&self, prefix: &str) -> BTreeMap<String, Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        let script = "for i, k in enumerate(keys(sys.argv[1] + '/')):
    s3.download_file('bkt', k, os.path.join(sys.argv[2], str(i)))
    print(k[len(sys.argv[1]) + 1:])";
        let listed = self.python(script, &[prefix, dir.path().to_str().unwrap()]);
        listed
            .lines()
            .enumerate()
            .map(|(i, key)| (key.to_string(), std::fs::read(dir.path().join(i.to_string())).unwrap()))
            .collect()
    }

    /// Uploads the files of `dir` (one level of folders) under `prefix/`.
    fn upload(&self, dir: &Path, prefix: &str) {
        let script = "root, prefix = sys.argv[1], sys.argv[2]
for base, _, files in os.walk(root):
    for f in files:
        path = os.path.join(base, f)
        s3.upload_file(path, 'bkt', prefix + '/' + os.path.relpath(path, root))";
        self.python(script, &[dir.to_str().unwrap(), prefix]);
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The files under `dir` (and its folders) and their bytes, by relative `/`-separated path,
/// without the local target's lock files.
fn local_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(dir)
        .into_iter()
        .map(|(path, bytes)| (path.to_string_lossy().into_owned(), bytes))
        .filter(|(name, _)| !name.ends_with(".doppel-lock"))
        .collect()
}

fn assert_same_files(stored: &BTreeMap<String, Vec<u8>>, local: &BTreeMap<String, Vec<u8>>) {
    let (a, b): (Vec<&String>, Vec<&String>) = (stored.keys().collect(), local.keys().collect());
    assert_eq!(a, b, "the same objects as local files");
    for (name, bytes) in stored {
        assert!(bytes == &local[name], "{name}: the stored object differs from the local file");
    }
}

fn ok(out: &Output) {
    assert!(out.status.success(), "{}", stderr(out));
}

fn rules() -> String {
    shop_rules().to_str().unwrap().to_string()
}

#[test]
fn a_run_from_s3_to_s3_writes_the_bytes_of_the_local_run_and_scan_and_verify_read_s3() {
    let Some(moto) = Moto::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local");
    ok(&run_shop(&local, TEST_KEY, &[]));
    moto.upload(&fixture_dir(), "src");

    let report = dir.path().join("report.json");
    let rules = rules();
    let report_arg = report.to_str().unwrap();
    let args = run_args(Path::new(&rules), "s3://bkt/src", "s3://bkt/out", &["--verify", "--report", report_arg]);
    ok(&moto.doppel(&args));
    let stored = moto.objects("out");
    assert_same_files(&stored, &local_files(&local));

    // The report identifies the files read and written by their bytes, as for local paths.
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let text = report.to_string();
    let hash = blake3::hash(&stored["public.customers.parquet"]).to_hex().to_string();
    assert!(text.contains("s3://bkt/out") && text.contains(&hash), "{text}");

    // scan reads the S3 copy of the fixture as it reads the local one.
    let scan = |from: &str| moto.doppel(&["scan", "--quiet", "--from", from]);
    let (remote, local_scan) = (scan("s3://bkt/src"), scan(fixture_dir().to_str().unwrap()));
    ok(&remote);
    // The same rules; only the first line names the source.
    let body = |o: &Output| String::from_utf8_lossy(&o.stdout).split_once('\n').unwrap().1.to_string();
    assert_eq!(body(&remote), body(&local_scan));

    // verify reads both sides from S3.
    let verify =
        moto.doppel(&["verify", "--quiet", "--rules", &rules, "--from", "s3://bkt/src", "--to", "s3://bkt/out"]);
    ok(&verify);

    // A target inside the source is refused before anything is written.
    let inside = moto.doppel(&run_args(Path::new(&rules), "s3://bkt/src", "s3://bkt/src/out", &[]));
    assert_eq!(inside.status.code(), Some(2), "{}", stderr(&inside));
    assert!(stderr(&inside).contains("is inside s3://bkt/src"), "{}", stderr(&inside));
}

#[test]
fn generate_to_s3_writes_the_bytes_of_the_local_generation() {
    let Some(moto) = Moto::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_, profile) = crate::generate::into_postgres::trade_profile(dir.path());
    let local = dir.path().join("local");
    let extra = ["--quiet", "--scale", "2", "--file-rows", "300"];
    ok(&crate::generate::into_postgres::generate(&profile, local.to_str().unwrap(), &extra));
    let rules = root().join("tests/fixtures/pg/trade.toml");
    let mut args = vec!["generate", "--rules", rules.to_str().unwrap(), "--profile", profile.to_str().unwrap()];
    args.extend(["--to", "s3://bkt/gen"]);
    args.extend(extra);
    ok(&moto.doppel(&args));
    let stored = moto.objects("gen");
    assert!(stored.keys().any(|k| k.contains("/part-")), "some table is a folder of parts: {:?}", stored.keys());
    assert_same_files(&stored, &local_files(&local));
}

#[test]
fn a_failed_run_publishes_nothing_and_leaves_the_old_output_and_no_staging() {
    let Some(moto) = Moto::start() else { return };
    let rules = rules();
    let rules = Path::new(&rules);
    let fixture = fixture_dir();
    ok(&moto.doppel(&run_args(rules, fixture.to_str().unwrap(), "s3://bkt/out", &[])));
    let before = moto.objects("out");
    assert!(before.contains_key(".doppel-output"));

    // Not replaced without --replace.
    let again = moto.doppel(&run_args(rules, fixture.to_str().unwrap(), "s3://bkt/out", &[]));
    assert_eq!(again.status.code(), Some(5));
    assert!(stderr(&again).contains("pass --replace"), "{}", stderr(&again));

    // A source with a corrupt page in one table: the other tables are staged, then the run fails.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    for (name, bytes) in local_files(&fixture) {
        std::fs::write(bad.join(name), bytes).unwrap();
    }
    let orders = bad.join("public.orders.parquet");
    let mut bytes = std::fs::read(&orders).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 256].fill(0xFF);
    std::fs::write(&orders, bytes).unwrap();
    let failed = moto.doppel(&run_args(rules, bad.to_str().unwrap(), "s3://bkt/out", &["--replace"]));
    assert_eq!(failed.status.code(), Some(4), "{}", stderr(&failed));
    assert!(stderr(&failed).contains("public.orders.parquet"), "{}", stderr(&failed));
    assert_eq!(moto.objects("out"), before, "the old output is untouched and no staging object is left");

    // The same with a replacing run that succeeds: a whole new output, no staging left.
    ok(&moto.doppel(&run_args(rules, fixture.to_str().unwrap(), "s3://bkt/out", &["--replace"])));
    assert_eq!(moto.objects("out"), before, "the same run publishes the same bytes, and nothing else");
}

#[test]
fn a_run_that_fails_while_publishing_leaves_a_prefix_doppel_refuses_until_a_whole_output_replaces_it() {
    let Some(moto) = Moto::start() else { return };
    let rules = rules();
    let fixture = fixture_dir();
    let args = |extra: &[&str]| run_args(Path::new(&rules), fixture.to_str().unwrap(), "s3://bkt/out", extra);
    ok(&moto.doppel(&args(&[])));
    let old = moto.objects("out");

    // Another key, so that every table differs; `limited` may not write public.orders.parquet,
    // which the publish reaches after public.customers.parquet and public.order_items.parquet.
    let mut cmd = doppel_command(&args(&["--replace"]), Some(OTHER_KEY));
    moto.env(&mut cmd).env("AWS_ACCESS_KEY_ID", &moto.limited.0).env("AWS_SECRET_ACCESS_KEY", &moto.limited.1);
    let failed = cmd.output().unwrap();
    let err = stderr(&failed);
    assert_eq!(failed.status.code(), Some(5), "{err}");
    assert!(err.contains("s3://bkt/out/public.orders.parquet: access denied"), "{err}");
    assert!(!err.contains(&moto.limited.1), "{err}");
    let half = moto.objects("out");
    assert!(half.contains_key(".doppel-publishing"), "{:?}", half.keys());
    assert!(!half.keys().any(|k| k.starts_with(".doppel-partial-")), "staging removed: {:?}", half.keys());
    assert_ne!(half["public.customers.parquet"], old["public.customers.parquet"], "copied before the failure");
    assert_eq!(half["public.orders.parquet"], old["public.orders.parquet"], "not reached");

    let refused = moto.doppel(&["scan", "--from", "s3://bkt/out"]);
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("failed while publishing"), "{}", stderr(&refused));

    // A whole output replaces the mix: the bytes of a clean run with that key, nothing else.
    let mut cmd = doppel_command(&args(&["--replace"]), Some(OTHER_KEY));
    ok(&moto.env(&mut cmd).output().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local");
    ok(&run_shop(&local, OTHER_KEY, &[]));
    assert_same_files(&moto.objects("out"), &local_files(&local));
}

#[test]
fn wrong_credentials_and_a_missing_bucket_are_clear_errors_without_the_secret() {
    let Some(moto) = Moto::start() else { return };
    let fixture = fixture_dir();
    let rules = rules();
    let args = run_args(Path::new(&rules), fixture.to_str().unwrap(), "s3://bkt/out", &[]);
    let wrong = "wrong-secret-0123456789";
    let mut cmd = doppel_command(&args, Some(TEST_KEY));
    let denied = moto.env(&mut cmd).env("AWS_SECRET_ACCESS_KEY", wrong).output().unwrap();
    let err = stderr(&denied);
    assert_eq!(denied.status.code(), Some(5), "{err}");
    assert!(err.contains("s3://bkt/out") && err.contains("access denied"), "{err}");
    assert!(err.contains("AWS_SECRET_ACCESS_KEY") && !err.contains(wrong) && !err.contains(&moto.secret), "{err}");

    let mut cmd = doppel_command(&["scan", "--from", "s3://bkt/out"], None);
    let denied = moto.env(&mut cmd).env("AWS_SECRET_ACCESS_KEY", wrong).output().unwrap();
    assert_eq!(denied.status.code(), Some(4), "{}", stderr(&denied));
    assert!(!stderr(&denied).contains(wrong));

    let missing = moto.doppel(&run_args(Path::new(&rules), fixture.to_str().unwrap(), "s3://nosuchbucket/x", &[]));
    let err = stderr(&missing);
    assert_eq!(missing.status.code(), Some(5), "{err}");
    assert!(err.contains("s3://nosuchbucket: the bucket does not exist") && !err.contains(&moto.secret), "{err}");

    let mut cmd = doppel_command(&["scan", "--from", "s3://bkt/out"], None);
    let unreachable = moto.env(&mut cmd).env("AWS_ENDPOINT_URL", "http://127.0.0.1:1").output().unwrap();
    assert_eq!(unreachable.status.code(), Some(4), "{}", stderr(&unreachable));
    assert!(stderr(&unreachable).contains("cannot reach the store"), "{}", stderr(&unreachable));

    let userinfo = format!("s3://{}:{}@bkt/out", moto.key_id, moto.secret);
    let refused = moto.doppel(&["scan", "--from", &userinfo]);
    let err = stderr(&refused);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(err.contains("from the environment only") && !err.contains(&moto.secret), "{err}");
    assert!(moto.objects("out").is_empty(), "nothing was written");
}
