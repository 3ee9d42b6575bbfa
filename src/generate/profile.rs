//! The profile: the shape of a database, learnt from its catalog and planner statistics, as a
//! reviewable TOML file (`doppel profile`), and what `doppel generate` reads.
//!
//! ```text
//! version = 1
//! source = "db.example:5432/shop user app"        # never a password
//! [schema]  pre_data = """CREATE TABLE …"""  post_data = """ALTER TABLE … ADD CONSTRAINT …"""
//! [[tables]]  name = "public.orders"  rows = 830  primary_key = ["order_id"]
//!   [[tables.foreign_keys]]  name, columns, references_table, references_columns
//!   [[tables.unique]]        name, columns
//!   [[tables.checks]]        name, definition (pg_get_constraintdef)
//!   [[tables.columns]]       name, type, kind, not_null, rule, generator, null_frac,
//!                            avg_width, n_distinct, most_common_vals/freqs, histogram_bounds
//! ```
//!
//! Statistics keep PostgreSQL's conventions (`pg_stats`): `null_frac` is the fraction of NULL
//! rows; `n_distinct` > 0 is a count of distinct values, < 0 is minus a fraction of the rows
//! (it grows with the table), 0 unknown; `most_common_vals` are text forms with their
//! `most_common_freqs` (fractions of all rows); `histogram_bounds` split the other non-NULL
//! values into buckets of equal population.
//!
//! **Personal columns** (whose rule is not `keep`) carry only `null_frac`, `avg_width` and
//! `n_distinct`, and the rule (`rule`, and `generator` for `fake`): never a value. Skipped
//! tables are not in the profile. [`Profile::check_no_values`] enforces this on every profile
//! read or written.

use std::sync::Arc;

use arrow_schema::{Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::pg::types::ColumnKind;
use crate::schema::{ForeignKey, SourceTable};

/// The profile format's version; a profile of another version is refused.
pub const PROFILE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub version: u32,
    /// Where the profile was read from: host, port, database and user (never a password).
    pub source: String,
    /// Tables the rules skip: named (so the rules bind), never described.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
    /// The tables the rules copy, by `schema.table`.
    pub tables: Vec<TableProfile>,
    /// The schema's DDL, to create a target database without the source.
    pub schema: SchemaDdl,
}

/// `pg_dump --schema-only` of the source, in its pre-data and post-data sections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaDdl {
    pub pre_data: String,
    pub post_data: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableProfile {
    /// `schema.table`, as in rules files.
    pub name: String,
    /// `pg_class.reltuples` after ANALYZE (an estimate for large tables).
    pub rows: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique: Vec<UniqueProfile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKeyProfile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckProfile>,
    pub columns: Vec<ColumnProfile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UniqueProfile {
    pub name: String,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignKeyProfile {
    pub name: String,
    pub columns: Vec<String>,
    pub references_table: String,
    pub references_columns: Vec<String>,
    #[serde(default)]
    pub deferrable: bool,
}

impl ForeignKeyProfile {
    pub fn of(f: &ForeignKey) -> ForeignKeyProfile {
        let ForeignKey { name, columns, references_table, references_columns, deferrable } = f.clone();
        ForeignKeyProfile { name, columns, references_table, references_columns, deferrable }
    }

    pub fn to_foreign_key(&self) -> ForeignKey {
        let ForeignKeyProfile { name, columns, references_table, references_columns, deferrable } = self.clone();
        ForeignKey { name, columns, references_table, references_columns, deferrable }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckProfile {
    pub name: String,
    /// `pg_get_constraintdef`, e.g. `CHECK ((quantity > 0))`.
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnProfile {
    pub name: String,
    /// `format_type(atttypid, atttypmod)`, e.g. `character varying(40)`.
    #[serde(rename = "type")]
    pub pg_type: String,
    /// How the column is held in Arrow (see [`kind_name`]).
    pub kind: String,
    #[serde(default)]
    pub not_null: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub generated: bool,
    /// The rule's action (`keep`, `fake`, `mask`, …); any other than `keep` makes the
    /// column personal.
    pub rule: String,
    /// For `fake`: the generator name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    /// No statistics: the column was never analysed (or the role may not read them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_frac: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_width: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_distinct: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub most_common_vals: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub most_common_freqs: Vec<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub histogram_bounds: Vec<String>,
}

impl ColumnProfile {
    /// Whether the rules treat the column as personal data (its rule is not `keep`).
    pub fn is_personal(&self) -> bool {
        self.rule != "keep"
    }
}

impl Profile {
    /// Parses a profile file's text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Profile, String> {
        let profile: Profile = toml::from_str(text).map_err(|e| format!("{origin}: not a doppel profile: {e}"))?;
        if profile.version != PROFILE_VERSION {
            return Err(format!(
                "{origin}: profile version {} is not supported (this doppel reads version {PROFILE_VERSION}); \
                 make it again with doppel profile",
                profile.version
            ));
        }
        profile.check_no_values().map_err(|m| format!("{origin}: {m}"))?;
        for t in &profile.tables {
            for c in &t.columns {
                if parse_kind(&c.kind).is_none() {
                    return Err(format!(
                        "{origin}: {}.{}: unknown kind {:?}; valid kinds: {KIND_NAMES}",
                        t.name, c.name, c.kind
                    ));
                }
            }
        }
        Ok(profile)
    }

    /// The profile as TOML, with a header saying what it is.
    pub fn to_toml(&self) -> Result<String, String> {
        self.check_no_values()?;
        let body = toml::to_string(self).map_err(|e| format!("cannot write the profile as TOML: {e}"))?;
        Ok(format!(
            "# doppel profile: the shape of {} from its catalog and planner statistics.\n\
             # Personal columns (rule other than keep) carry no values: null_frac, avg_width and n_distinct only.\n\
             # Review it before sharing; `doppel generate --profile` reads it.\n{body}",
            crate::rules::toml_text::comment(&self.source)
        ))
    }

    /// Refuses a profile in which a personal column carries values (most common values or
    /// histogram bounds): such a file must not be written, and is not trusted when read.
    pub fn check_no_values(&self) -> Result<(), String> {
        let leaks: Vec<String> = self
            .tables
            .iter()
            .flat_map(|t| t.columns.iter().map(move |c| (t, c)))
            .filter(|(_, c)| c.is_personal() && (!c.most_common_vals.is_empty() || !c.histogram_bounds.is_empty()))
            .map(|(t, c)| format!("{}.{}", t.name, c.name))
            .collect();
        if leaks.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "personal columns carry values (most_common_vals or histogram_bounds): {}; a profile holds values \
                 of kept columns only",
                leaks.join(", ")
            ))
        }
    }

    /// Every table as a source would present it (skipped ones without columns), for binding
    /// the rules.
    pub fn source_tables(&self) -> Vec<SourceTable> {
        let mut tables: Vec<SourceTable> = self.tables.iter().map(TableProfile::source_table).collect();
        tables.extend(self.skipped.iter().map(|n| SourceTable::new(n.clone(), Arc::new(Schema::empty()))));
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        tables
    }

    pub fn table(&self, name: &str) -> Option<&TableProfile> {
        self.tables.iter().find(|t| t.name == name)
    }
}

impl TableProfile {
    /// The Arrow schema the table's rows are generated in (as the PostgreSQL source reads it).
    pub fn arrow_schema(&self) -> SchemaRef {
        let fields: Vec<_> =
            self.columns.iter().map(|c| kind_of(c).field(&c.name, &c.pg_type, !c.not_null, c.generated)).collect();
        Arc::new(Schema::new(fields))
    }

    /// The table as a source would present it, for binding the rules.
    pub fn source_table(&self) -> SourceTable {
        SourceTable {
            name: self.name.clone(),
            schema: self.arrow_schema(),
            primary_key: self.primary_key.clone(),
            unique_keys: Vec::new(),
            checks: Vec::new(),
            foreign_keys: self.foreign_keys.iter().map(ForeignKeyProfile::to_foreign_key).collect(),
            row_security: false,
        }
    }

    pub fn column(&self, name: &str) -> Option<&ColumnProfile> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn kinds(&self) -> Vec<ColumnKind> {
        self.columns.iter().map(kind_of).collect()
    }
}

/// The column's kind; [`Profile::from_toml`] refused unknown ones, so text is the fallback
/// only for profiles built in memory.
pub fn kind_of(c: &ColumnProfile) -> ColumnKind {
    parse_kind(&c.kind).unwrap_or(ColumnKind::Text)
}

const KIND_NAMES: &str =
    "int16, int32, int64, float32, float64, bool, text, date, time, timestamp, timestamptz, decimal(p,s), bytea, uuid";

/// The name a profile gives a [`ColumnKind`], e.g. `int16`, `decimal(12,2)`.
pub fn kind_name(kind: ColumnKind) -> String {
    match kind {
        ColumnKind::Int16 => "int16".into(),
        ColumnKind::Int32 => "int32".into(),
        ColumnKind::Int64 => "int64".into(),
        ColumnKind::Float32 => "float32".into(),
        ColumnKind::Float64 => "float64".into(),
        ColumnKind::Bool => "bool".into(),
        ColumnKind::Text => "text".into(),
        ColumnKind::Date => "date".into(),
        ColumnKind::Time => "time".into(),
        ColumnKind::Timestamp => "timestamp".into(),
        ColumnKind::TimestampTz => "timestamptz".into(),
        ColumnKind::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
        ColumnKind::Bytea => "bytea".into(),
        ColumnKind::Uuid => "uuid".into(),
    }
}

/// Inverse of [`kind_name`].
pub fn parse_kind(s: &str) -> Option<ColumnKind> {
    Some(match s {
        "int16" => ColumnKind::Int16,
        "int32" => ColumnKind::Int32,
        "int64" => ColumnKind::Int64,
        "float32" => ColumnKind::Float32,
        "float64" => ColumnKind::Float64,
        "bool" => ColumnKind::Bool,
        "text" => ColumnKind::Text,
        "date" => ColumnKind::Date,
        "time" => ColumnKind::Time,
        "timestamp" => ColumnKind::Timestamp,
        "timestamptz" => ColumnKind::TimestampTz,
        "bytea" => ColumnKind::Bytea,
        "uuid" => ColumnKind::Uuid,
        other => {
            let inner = other.strip_prefix("decimal(")?.strip_suffix(')')?;
            let (p, s) = inner.split_once(',')?;
            ColumnKind::Decimal { precision: p.trim().parse().ok()?, scale: s.trim().parse().ok()? }
        }
    })
}

/// Parses PostgreSQL's text form of a one-dimensional array (`{a,"b c",NULL}`) into its
/// elements' text forms; `NULL` elements are left out. Errors never quote the text.
pub fn parse_array_text(s: &str) -> Result<Vec<String>, String> {
    // A lower bound decoration (`[0:2]={…}`) may precede the braces.
    let body = match s.find('=') {
        Some(i) if s.starts_with('[') => &s[i + 1..],
        _ => s,
    };
    let inner = body
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .ok_or_else(|| "an array's text form does not start with { and end with }".to_string())?;
    let mut out = Vec::new();
    if inner.is_empty() {
        return Ok(out);
    }
    let mut chars = inner.chars().peekable();
    loop {
        let mut element = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => element.push(chars.next().ok_or("an array element ends in a backslash")?),
                    Some('"') => break,
                    Some(c) => element.push(c),
                    None => return Err("an array element's quotes are not closed".into()),
                }
            }
        } else {
            let mut depth = 0usize;
            while let Some(&c) = chars.peek() {
                if c == ',' && depth == 0 {
                    break;
                }
                match c {
                    '{' => depth += 1,
                    '}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
                element.push(c);
                chars.next();
            }
        }
        if quoted || element != "NULL" {
            out.push(element);
        }
        match chars.next() {
            Some(',') => continue,
            None => break,
            Some(_) => return Err("an array's text form has text after a quoted element".into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_text_forms_parse() {
        assert_eq!(parse_array_text("{}").unwrap(), Vec::<String>::new());
        assert_eq!(parse_array_text("{1,2,3}").unwrap(), ["1", "2", "3"]);
        assert_eq!(
            parse_array_text(r#"{"a b","c,d","e\"f",NULL,"NULL",x}"#).unwrap(),
            ["a b", "c,d", "e\"f", "NULL", "x"]
        );
        assert_eq!(parse_array_text(r#"{"{1,2}","{3}"}"#).unwrap(), ["{1,2}", "{3}"]);
        assert_eq!(parse_array_text("[0:1]={7,8}").unwrap(), ["7", "8"]);
        assert!(parse_array_text("1,2").is_err());
        assert!(parse_array_text(r#"{"open}"#).is_err());
    }

    #[test]
    fn kinds_round_trip() {
        for k in [
            ColumnKind::Int16,
            ColumnKind::Decimal { precision: 12, scale: 2 },
            ColumnKind::TimestampTz,
            ColumnKind::Uuid,
        ] {
            assert_eq!(parse_kind(&kind_name(k)), Some(k));
        }
        assert_eq!(parse_kind("decimal(12"), None);
    }

    fn column(rule: &str) -> ColumnProfile {
        ColumnProfile {
            name: "c".into(),
            pg_type: "text".into(),
            kind: "text".into(),
            not_null: false,
            generated: false,
            rule: rule.into(),
            generator: None,
            null_frac: Some(0.0),
            avg_width: Some(5),
            n_distinct: Some(-1.0),
            most_common_vals: vec!["secret".into()],
            most_common_freqs: vec![0.5],
            histogram_bounds: Vec::new(),
        }
    }

    #[test]
    fn a_personal_column_with_values_is_refused_and_a_profile_round_trips() {
        let mut p = Profile {
            version: PROFILE_VERSION,
            source: "h:5432/db user u".into(),
            skipped: vec!["public.audit".into()],
            tables: vec![TableProfile {
                name: "public.t".into(),
                rows: 2,
                primary_key: None,
                unique: Vec::new(),
                foreign_keys: Vec::new(),
                checks: Vec::new(),
                columns: vec![column("mask")],
            }],
            schema: SchemaDdl { pre_data: "CREATE TABLE t (c text);\n".into(), post_data: String::new() },
        };
        let e = p.to_toml().unwrap_err();
        assert!(e.contains("public.t.c") && !e.contains("secret"), "{e}");
        p.tables[0].columns[0] = column("keep");
        let text = p.to_toml().unwrap();
        assert_eq!(Profile::from_toml(&text, "p.toml").unwrap(), p);
    }
}
