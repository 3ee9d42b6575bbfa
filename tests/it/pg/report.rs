//! The audit report of a PostgreSQL run: the source database identified by place, server
//! version, snapshot and its time; a SQL dump target by its hash; reruns differ only in times.

use crate::common;

use common::pg::cluster;
use common::{doppel_run, root, stderr};

#[test]
fn a_postgres_run_reports_its_snapshot_and_its_output_hash_and_reruns_differ_only_in_times() {
    let c = cluster();
    let source = c.club();
    let dir = tempfile::tempdir().unwrap();
    let rules = root().join("tests/fixtures/pg/club.toml");
    let run = |name: &str| -> serde_json::Value {
        let file = dir.path().join(format!("{name}.sql"));
        let report = dir.path().join(format!("{name}.json"));
        let out = doppel_run(&rules, &c.url(&source), file.to_str().unwrap(), &["--report", report.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let hash = blake3::hash(&std::fs::read(&file).unwrap()).to_hex().to_string();
        assert_eq!(json["target"]["kind"], "sql_dump");
        assert_eq!(json["target"]["file"]["blake3"], hash);
        json
    };
    let a = run("a");
    assert_eq!(a["source"]["kind"], "postgres");
    assert_eq!(a["source"]["database"], source.as_str());
    assert!(a["source"]["server_version"].as_str().unwrap().starts_with("15."), "{}", a["source"]);
    assert!(!a["source"]["location"].as_str().unwrap().contains("password"));
    assert!(a["source"]["snapshot_taken_at"].as_str().unwrap().ends_with('Z'));
    let members = a["tables"].as_array().unwrap().iter().find(|t| t["table"] == "cd.members").unwrap();
    let surname = members["columns"].as_array().unwrap().iter().find(|col| col["column"] == "surname").unwrap();
    assert_eq!(surname["type"], "character varying(200)");
    assert_ne!(surname["action"], "keep");
    assert_eq!(members["rows_read"], members["rows_written"]);

    let strip = |mut v: serde_json::Value| {
        for key in ["started_at", "seconds"] {
            v[key] = serde_json::Value::Null;
        }
        for key in ["snapshot", "snapshot_taken_at"] {
            v["source"][key] = serde_json::Value::Null;
        }
        v["target"]["path"] = serde_json::Value::Null;
        v["target"]["file"]["name"] = serde_json::Value::Null;
        for t in v["tables"].as_array_mut().unwrap() {
            t["seconds"] = serde_json::Value::Null;
        }
        v
    };
    assert_eq!(strip(a), strip(run("b")));
}
