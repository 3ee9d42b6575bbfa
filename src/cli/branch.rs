//! `doppel branch create|drop|list|prune`: branch databases for CI pipelines (see
//! [`crate::branch`]). Messages go to stderr; `list` prints its table on stdout, and every
//! subcommand with `--json` one JSON document (schemas `doppel.branch.<subcommand>/1`).

use clap::{Args, Subcommand};

use crate::branch::{self, Branch, Dropped, Server};
use crate::error::{Error, Result};

use serde_json::{Value, json};

use super::output::print_json;

#[derive(Debug, Args)]
pub struct BranchArgs {
    #[command(subcommand)]
    pub command: BranchCommand,
}

#[derive(Debug, Subcommand)]
pub enum BranchCommand {
    /// Create database NAME as a copy of a database doppel wrote.
    ///
    /// CREATE DATABASE NAME TEMPLATE DB (STRATEGY FILE_COPY on PostgreSQL 15 and later): a
    /// file-level copy on the server, no dump and restore. DB must carry doppel's marker (a
    /// finished `doppel run`, or another branch; any other database only with --force), must not
    /// be protected (not even with --force), and nobody may be connected to it meanwhile. The
    /// branch belongs to the role connecting; DB's grants, settings and comment are not copied.
    Create(CreateArgs),
    /// Drop branch NAME.
    ///
    /// Only databases made by `branch create` are dropped: never a `doppel run` output, a
    /// database doppel did not create, or a protected one. Other sessions on it make the drop
    /// fail unless --terminate-connections.
    Drop(DropArgs),
    /// List the branch databases of the server.
    ///
    /// A table (name, template, creation time in UTC, size) sorted by name, or JSON with --json.
    List(ListArgs),
    /// Drop every branch created more than DURATION ago.
    ///
    /// Ages are measured with the server's clock from the creation time in each branch's
    /// marker. Protected branches are kept; a branch that cannot be dropped (open sessions
    /// without --terminate-connections) is reported, the others are still dropped, and the exit
    /// code is 5.
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Any database on the server, to connect through; neither the template nor the branch
    /// dropped (default: the PG* environment variables, e.g. PGHOST, PGPORT, PGUSER, PGDATABASE).
    #[arg(long, value_name = "URL", default_value = "postgres://")]
    pub url: String,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The new database's name (at most 63 bytes; quoted, so any case and character).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The database to copy: one doppel wrote.
    #[arg(long, value_name = "DB")]
    pub template: String,
    /// Also copy a database doppel did not write (one that has no doppel marker). A protected
    /// database is refused even so.
    #[arg(long)]
    pub force: bool,
    /// Print what was created as JSON (schema doppel.branch.create/1) on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct DropArgs {
    /// The branch database to drop.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// End the other sessions on it instead of failing.
    #[arg(long)]
    pub terminate_connections: bool,
    /// Succeed (with a note) when no database NAME exists; without it, that is an error (exit 5).
    #[arg(long)]
    pub if_exists: bool,
    /// Print what was dropped as JSON (schema doppel.branch.drop/1) on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print the branches as JSON (schema doppel.branch.list/1: an array of {name, template,
    /// created_at, size_bytes}) instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Age limit: numbers with units w, d, h, m, s, e.g. 7d, 12h, 1d12h; from 0s to 36500d.
    #[arg(long, value_name = "DURATION", value_parser = super::bounds::age)]
    pub older_than: super::bounds::Age,
    /// End the other sessions on the branches dropped instead of skipping those branches.
    #[arg(long)]
    pub terminate_connections: bool,
    /// Only list what would be dropped.
    #[arg(long)]
    pub dry_run: bool,
    /// Print what was dropped, kept and could not be dropped as JSON (schema
    /// doppel.branch.prune/1) on stdout, also when some drops failed (exit 5).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

pub fn branch(args: BranchArgs) -> Result<()> {
    match args.command {
        BranchCommand::Create(a) => create(a),
        BranchCommand::Drop(a) => drop(a),
        BranchCommand::List(a) => list(a),
        BranchCommand::Prune(a) => prune(a),
    }
}

/// The `--json` schemas' names and versions (fields in docs/progress.md and docs/machine-output.md):
/// bumped when a field changes meaning or goes.
pub const CREATE_SCHEMA: &str = "doppel.branch.create/1";
pub const DROP_SCHEMA: &str = "doppel.branch.drop/1";
pub const LIST_SCHEMA: &str = "doppel.branch.list/1";
pub const PRUNE_SCHEMA: &str = "doppel.branch.prune/1";

fn create(args: CreateArgs) -> Result<()> {
    let mut server = Server::connect(&args.server.url)?;
    let started = std::time::Instant::now();
    let b = branch::create(&mut server, &args.name, &args.template, args.force)?;
    let seconds = started.elapsed().as_secs_f64();
    crate::say!("created branch {} from {} in {seconds:.1} s ({})", b.name, b.marker.template, size(b.size_bytes));
    if args.json {
        let mut doc = json!({"schema": CREATE_SCHEMA, "server": server.location()});
        extend(&mut doc, branch_json(&b));
        doc["seconds"] = json!(seconds);
        print_json(&doc)?;
    }
    Ok(())
}

fn drop(args: DropArgs) -> Result<()> {
    let mut server = Server::connect(&args.server.url)?;
    let dropped = branch::drop(&mut server, &args.name, args.terminate_connections)?;
    match &dropped {
        Dropped::Dropped(b) => crate::say!("dropped branch {} ({})", b.name, describe(b)),
        Dropped::Missing if args.if_exists => {
            crate::say!("no database {} on this server; nothing to do", args.name)
        }
        Dropped::Missing => {
            return Err(Error::target(
                format!("{} (database {})", server.location(), args.name),
                "no such database on this server; check the name and --url (give --if-exists to accept that)",
            ));
        }
    }
    if args.json {
        let mut doc = json!({"schema": DROP_SCHEMA, "server": server.location(), "name": args.name});
        match &dropped {
            Dropped::Dropped(b) => {
                doc["dropped"] = json!(true);
                extend(&mut doc, branch_json(b));
            }
            Dropped::Missing => {
                doc["dropped"] = json!(false);
                extend(&mut doc, json!({"template": null, "created_at": null, "size_bytes": null}));
            }
        }
        print_json(&doc)?;
    }
    Ok(())
}

fn list(args: ListArgs) -> Result<()> {
    let mut server = Server::connect(&args.server.url)?;
    let branches = branch::list(&mut server)?;
    if args.json {
        print_json(&json!({
            "schema": LIST_SCHEMA,
            "server": server.location(),
            "branches": branches.iter().map(branch_json).collect::<Vec<_>>(),
        }))?;
        return Ok(());
    }
    if branches.is_empty() {
        crate::say!("no branch databases on {}", server.location());
        return Ok(());
    }
    let rows: Vec<[String; 4]> =
        branches.iter().map(|b| [b.name.clone(), b.marker.template.clone(), created(b), size(b.size_bytes)]).collect();
    let header = ["NAME", "TEMPLATE", "CREATED (UTC)", "SIZE"].map(String::from);
    let widths: Vec<usize> =
        (0..4).map(|i| rows.iter().chain([&header]).map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    for row in [&header].into_iter().chain(&rows) {
        let line: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        println!("{}", line.join("  ").trim_end());
    }
    Ok(())
}

fn prune(args: PruneArgs) -> Result<()> {
    let older_than = args.older_than.duration;
    let mut server = Server::connect(&args.server.url)?;
    let pruned = branch::prune(&mut server, older_than, args.terminate_connections, args.dry_run)?;
    let verb = if args.dry_run { "would drop" } else { "dropped" };
    for b in &pruned.dropped {
        crate::say!("{verb} branch {} ({})", b.name, describe(b));
    }
    for b in &pruned.protected {
        crate::say!("kept branch {} ({}): it is protected", b.name, describe(b));
    }
    // Errors: printed even with --quiet.
    for (b, e) in &pruned.failed {
        eprintln!("could not drop branch {}: {e}", b.name);
    }
    crate::say!(
        "{verb} {} branch(es) older than {}; {} younger kept, {} protected kept, {} failed",
        pruned.dropped.len(),
        args.older_than.text,
        pruned.kept,
        pruned.protected.len(),
        pruned.failed.len()
    );
    if args.json {
        let failed: Vec<Value> = pruned
            .failed
            .iter()
            .map(|(b, e)| {
                let mut item = branch_json(b);
                item["error"] = json!(e.to_string());
                item
            })
            .collect();
        print_json(&json!({
            "schema": PRUNE_SCHEMA,
            "server": server.location(),
            "older_than": args.older_than.text,
            "dry_run": args.dry_run,
            "dropped": pruned.dropped.iter().map(branch_json).collect::<Vec<_>>(),
            "protected": pruned.protected.iter().map(branch_json).collect::<Vec<_>>(),
            "failed": failed,
            "kept_younger": pruned.kept,
        }))?;
    }
    if !pruned.failed.is_empty() {
        return Err(Error::target(
            server.location(),
            format!("{} branch(es) could not be dropped (see above); the others were", pruned.failed.len()),
        ));
    }
    Ok(())
}

/// A branch in the JSON documents: `{name, template, created_at, size_bytes}`.
fn branch_json(b: &Branch) -> Value {
    json!({
        "name": b.name,
        "template": b.marker.template,
        "created_at": created(b),
        "size_bytes": b.size_bytes,
    })
}

/// Adds `fields`' entries to the object `doc`.
fn extend(doc: &mut Value, fields: Value) {
    if let (Value::Object(doc), Value::Object(fields)) = (doc, fields) {
        doc.extend(fields);
    }
}

fn created(b: &Branch) -> String {
    b.marker.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn describe(b: &Branch) -> String {
    format!("branch of {}, created {} by {}", b.marker.template, created(b), b.marker.created_by)
}

/// A size in bytes for people: `812 kB`, `1.4 GB` (powers of 1024, like pg_size_pretty).
fn size(bytes: Option<i64>) -> String {
    let Some(bytes) = bytes else { return "?".to_string() };
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} bytes") } else { format!("{value:.1} {}", units[unit]) }
}

#[cfg(test)]
mod tests {
    use super::size;

    #[test]
    fn sizes_read_like_pg_size_pretty() {
        assert_eq!(size(None), "?");
        assert_eq!(size(Some(0)), "0 bytes");
        assert_eq!(size(Some(1023)), "1023 bytes");
        assert_eq!(size(Some(8_700_000)), "8.3 MB");
        assert_eq!(size(Some(1_324_000_000)), "1.2 GB");
    }
}
