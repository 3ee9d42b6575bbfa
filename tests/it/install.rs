//! The container image definition (`Dockerfile`, `.dockerignore`; see docs/install.md). No
//! image registry is reachable where the suite runs, so the image is built only where `docker`
//! answers and both base images are already present; otherwise the test says it skipped. The
//! Dockerfile is always checked: known instructions, a first `FROM` (or `ARG`), `COPY --from`
//! naming an earlier stage, every file the build copies let through by `.dockerignore` and
//! present, and the runtime stage installing the PostgreSQL client the docs state.

use std::collections::HashSet;
use std::process::{Command, Stdio};

use crate::common::root;

const INSTRUCTIONS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// The PostgreSQL major version of the image's client programs (docs/install.md says it too).
const PG_MAJOR: &str = "15";

/// The Dockerfile's instructions, `(keyword, arguments)`, continuation lines joined, comments
/// and blank lines left out.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                let (keyword, args) = current.split_once(char::is_whitespace).unwrap_or((current.as_str(), ""));
                out.push((keyword.to_string(), args.trim().to_string()));
                current.clear();
            }
        }
    }
    assert!(current.is_empty(), "the Dockerfile ends inside a continued line");
    out
}

/// What `.dockerignore` lets into the build context: it ignores everything (`*`) and lists the
/// exceptions (`!path`).
fn allowed() -> Vec<String> {
    let text = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert_eq!(lines.first(), Some(&"*"), ".dockerignore starts by ignoring everything");
    lines[1..]
        .iter()
        .map(|l| l.strip_prefix('!').unwrap_or_else(|| panic!("not an exception: {l}")).to_string())
        .collect()
}

#[test]
fn the_dockerfile_is_well_formed_and_copies_only_what_the_context_holds() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let steps = instructions(&text);
    let first_from = steps.iter().position(|(k, _)| k == "FROM").expect("a FROM");
    assert!(steps[..first_from].iter().all(|(k, _)| k == "ARG"), "only ARG may come before the first FROM");
    let allowed = allowed();
    let mut stages: HashSet<String> = HashSet::new();
    let mut stage_count = 0;
    for (keyword, args) in &steps {
        assert!(INSTRUCTIONS.contains(&keyword.as_str()), "unknown instruction {keyword}");
        assert_eq!(keyword, &keyword.to_uppercase(), "instructions are written in capitals: {keyword}");
        assert!(!args.is_empty() || keyword == "ONBUILD", "{keyword} without arguments");
        match keyword.as_str() {
            "FROM" => {
                stage_count += 1;
                let words: Vec<&str> = args.split_whitespace().collect();
                if let [_, as_, name] = words[..] {
                    assert!(as_.eq_ignore_ascii_case("as"), "FROM {args}");
                    stages.insert(name.to_string());
                } else {
                    assert_eq!(words.len(), 1, "FROM {args}");
                }
            }
            "COPY" => {
                let words: Vec<&str> = args.split_whitespace().collect();
                if let Some(stage) = words[0].strip_prefix("--from=") {
                    assert!(stages.contains(stage), "COPY --from={stage} names no earlier stage");
                    continue;
                }
                for source in &words[..words.len() - 1] {
                    assert!(root().join(source).exists(), "COPY {source}: not in the repository");
                    assert!(allowed.iter().any(|a| a == source), "COPY {source}: .dockerignore keeps it out");
                }
            }
            "ENTRYPOINT" | "CMD" => {
                let list: Vec<String> = serde_json::from_str(args).unwrap_or_else(|e| panic!("{keyword} {args}: {e}"));
                assert!(!list.is_empty(), "{keyword} in exec form");
            }
            _ => {}
        }
    }
    assert_eq!(stage_count, 2, "a build stage and a runtime stage");
    assert!(text.contains(&format!("postgresql-client-{PG_MAJOR}")), "the runtime installs the stated client");
    assert!(text.contains("cargo install --locked --path ."), "the image builds as docs/install.md says");
    // Every bench the manifest names is in the context (cargo reads their paths).
    assert!(allowed.iter().any(|a| a == "benches"));
}

/// `docker` answering, with every base image of the Dockerfile present locally.
fn docker_with_base_images(images: &[String]) -> Result<(), String> {
    let status = |args: &[&str]| {
        Command::new("docker")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !status(&["info"]) {
        return Err("docker is not installed or its daemon does not answer".into());
    }
    match images.iter().find(|image| !status(&["image", "inspect", image])) {
        Some(missing) => Err(format!("base image {missing} is not present locally (no registry is reachable here)")),
        None => Ok(()),
    }
}

#[test]
fn the_image_builds_and_runs_where_docker_and_its_base_images_are_present() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let rust_version =
        text.lines().find_map(|l| l.strip_prefix("ARG RUST_VERSION=")).expect("ARG RUST_VERSION=… in the Dockerfile");
    let images = [format!("rust:{rust_version}-bookworm"), "debian:bookworm-slim".to_string()];
    if let Err(why) = docker_with_base_images(&images) {
        eprintln!("image build skipped: {why}; the Dockerfile was checked without it");
        return;
    }
    let tag = "doppel-test-image:latest";
    let build = Command::new("docker").args(["build", "--pull=false", "-t", tag, "."]).current_dir(root()).output();
    let build = build.expect("run docker build");
    assert!(build.status.success(), "docker build failed:\n{}", String::from_utf8_lossy(&build.stderr));
    let run = |args: &[&str]| {
        let out = Command::new("docker").args(["run", "--rm"]).args(args).output().expect("run docker");
        assert!(out.status.success(), "docker run {args:?}:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(run(&[tag, "--version"]).starts_with("doppel "));
    for program in ["pg_dump", "pg_restore", "psql"] {
        let version = run(&["--entrypoint", program, tag, "--version"]);
        assert!(version.contains(&format!(") {PG_MAJOR}.")), "{program}: {version}");
    }
}
