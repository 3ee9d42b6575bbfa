//! `doppel profile`: the shape of a PostgreSQL source (catalog and planner statistics, no
//! personal values) as a TOML profile, for `doppel generate --profile`.

use crate::error::{Error, Result};
use crate::generate::stats::read_profile;
use crate::rules::load_rules;
use crate::scan;
use crate::source::Location;
use crate::source::postgres::PostgresSource;

use super::ProfileArgs;
use super::output::{data_out, print_json, write_stdout};

/// The `--json` schema's name and version: bumped when a field changes meaning or goes.
pub const SCHEMA: &str = "doppel.profile/1";

pub fn profile(args: ProfileArgs) -> Result<()> {
    let out = data_out(args.out.as_deref(), args.json, "profile")?;
    let rules = load_rules(&args.rules)?;
    let from = Location::parse(&args.from);
    let Location::Postgres(url) = &from else {
        return Err(Error::Usage(format!(
            "{}: doppel profile reads a PostgreSQL database's statistics; give --from postgres://…",
            from.display()
        )));
    };
    let source = PostgresSource::open(url)?;
    let plan = scan::bind(&rules, crate::source::Source::tables(&source))?;
    let profile = read_profile(&source, url, &plan)?;
    let text = profile.to_toml().map_err(|m| Error::source(from.display(), m))?;
    match out {
        Some(path) => {
            crate::sink::file::write_new(path, text.as_bytes()).map_err(|e| {
                Error::target(path.display(), format!("cannot create the profile ({e}); it must not exist yet"))
            })?;
        }
        None => write_stdout(text.as_bytes(), "the profile")?,
    }
    let columns: usize = profile.tables.iter().map(|t| t.columns.len()).sum();
    let personal: usize = profile.tables.iter().flat_map(|t| &t.columns).filter(|c| c.is_personal()).count();
    crate::progress::say(format_args!(
        "profiled {} tables, {columns} columns ({personal} personal: no values recorded)",
        profile.tables.len()
    ));
    if args.json {
        print_json(&serde_json::json!({
            "schema": SCHEMA,
            "source": from.display(),
            "out": out.map(|p| p.display().to_string()),
            "tables": profile.tables.len(),
            "columns": columns,
            "personal_columns": personal,
        }))?;
    }
    Ok(())
}
