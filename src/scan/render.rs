//! The rules file text, in the layout of the committed `rules/*.toml`: a header, then per
//! table a `keep` list and a `columns` table, every line followed by a comment saying why.

use super::ScannedTable;
use super::suggest::{Action, Tally};
use crate::rules::toml_text::{comment, key, string};

fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n >= width { s.to_string() } else { format!("{s}{}", " ".repeat(width - n)) }
}

pub(super) fn render(tables: &[ScannedTable], location: &str, sample_rows: usize) -> String {
    let mut tally = Tally::default();
    for t in tables {
        for (_, s) in &t.columns {
            tally.add(s);
        }
    }
    let columns = tally.kept + tally.transformed;
    let mut out = String::new();
    out.push_str(&format!(
        "# Rules suggested by `doppel scan` for {}, from at most {sample_rows} sampled rows per table.\n",
        comment(location)
    ));
    out.push_str(
        "#\n\
         # Every column of every table has a rule and a comment saying why. Lines marked `# review`\n\
         # are guesses: scan could not judge the column from its name and values and chose a rule\n\
         # that transforms it. Read every line before using these rules: scan suggests, people decide.\n",
    );
    out.push_str(&format!(
        "#\n# {} tables, {columns} columns: {} kept, {} transformed, {} to review.\nversion = 1\n",
        tables.len(),
        tally.kept,
        tally.transformed,
        tally.review
    ));
    for t in tables {
        let table_key = key(&t.name);
        let about = match &t.context.about_people {
            Some(why) => format!("about people ({why})"),
            None => "not about people".to_string(),
        };
        let rows = if t.sampled == 1 { "1 row".to_string() } else { format!("{} rows", t.sampled) };
        out.push_str(&format!("\n# {}: {rows} sampled; {}.\n", comment(&t.name), comment(&about)));
        out.push_str(&format!("[tables.{table_key}]\n"));
        if t.columns.is_empty() {
            out.push_str("# no columns: copying it copies only its number of rows; action = \"skip\" leaves it out\n");
        }
        let why = |s: &super::suggest::Suggestion| {
            if s.review { format!("# review: {}", comment(&s.why)) } else { format!("# {}", comment(&s.why)) }
        };
        let kept: Vec<(String, String)> =
            t.columns.iter().filter(|(_, s)| s.is_keep()).map(|(n, s)| (format!("{},", string(n)), why(s))).collect();
        if !kept.is_empty() {
            let width = kept.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0).min(40);
            out.push_str("keep = [\n");
            for (k, w) in &kept {
                out.push_str(&format!("  {} {w}\n", pad(k, width)));
            }
            out.push_str("]\n");
        }
        if !t.quasi_identifiers.is_empty() {
            let names: Vec<String> = t.quasi_identifiers.iter().map(|n| string(n)).collect();
            out.push_str(
                "# kept or coarsened columns that narrow a person down: `run --report` counts the rows unique on them\n",
            );
            out.push_str(&format!("quasi_identifiers = [{}]\n", names.join(", ")));
        }
        let rules: Vec<(String, String, String)> = t
            .columns
            .iter()
            .filter_map(|(n, s)| match &s.action {
                Action::Rule(r) => Some((key(n), r.render(), why(s))),
                Action::Keep => None,
            })
            .collect();
        if !rules.is_empty() {
            out.push_str(&format!("\n[tables.{table_key}.columns]\n"));
            let width = rules.iter().map(|(k, _, _)| k.chars().count()).max().unwrap_or(0).min(24);
            for (k, r, w) in &rules {
                out.push_str(&format!("{} = {r}  {w}\n", pad(k, width)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_comments_stay_valid_toml() {
        assert_eq!(key("first_name"), "first_name");
        assert_eq!(key("first name"), "\"first name\"");
        for odd in ["a\"b", "it's", "a.b", "ünï"] {
            let line = format!("{} = 1", key(odd));
            let parsed: toml::Table = toml::from_str(&line).unwrap();
            assert!(parsed.contains_key(odd), "{line}");
        }
        assert_eq!(comment("x\ny"), "x y");
    }
}
