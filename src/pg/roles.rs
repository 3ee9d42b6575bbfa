//! `--role-map FROM=TO`: carry the source's ownership and privileges over to the roles of the
//! target server.
//!
//! By default the schema is restored with `pg_dump --no-owner --no-privileges`: every object
//! belongs to the role doppel connects as, and no GRANT is replayed, so roles that exist in
//! production but not on the target can never break a load. With a role map, pg_dump keeps
//! owners and privileges and [`RoleMap::rewrite`] filters its plain SQL, statement line by
//! statement line (pg_dump writes each of these on one line, outside any quoted body):
//!
//! | statement                                         | mapped role      | other role |
//! |---------------------------------------------------|------------------|------------|
//! | `ALTER … OWNER TO r;`                             | renamed          | dropped (owner: doppel's role) |
//! | `GRANT … TO r [WITH GRANT OPTION];`, `REVOKE … FROM r;` | renamed    | dropped    |
//! | the same to or from `PUBLIC`                      | kept as it is    |            |
//! | `SET SESSION AUTHORIZATION r;` (grants made by another grantor) | renamed | dropped, with its `RESET` |
//! | `ALTER DEFAULT PRIVILEGES FOR ROLE r … TO g;`     | both renamed     | dropped unless both are mapped (or `PUBLIC`) |
//!
//! So only roles named on the left of the map are ever referred to on the target, under the
//! name on the right. Row-security policies (`CREATE POLICY … TO r`) are restored as pg_dump
//! writes them: their roles must exist on the target.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::pg::ident::quote_ident;

/// Source role → target role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleMap {
    map: BTreeMap<String, String>,
    /// Privileges of `PUBLIC` are dropped too ([`RoleMap::rewrite_dump`] without a map).
    drop_public: bool,
}

impl RoleMap {
    /// Parses `FROM=TO` pairs (role names as the catalog spells them, without quotes).
    pub fn parse(pairs: &[String]) -> Result<RoleMap> {
        let mut map = BTreeMap::new();
        for pair in pairs {
            let Some((from, to)) = pair.split_once('=') else {
                return Err(Error::Usage(format!(
                    "--role-map {pair}: expected SOURCE_ROLE=TARGET_ROLE, e.g. --role-map app_owner=staging_owner"
                )));
            };
            if from.is_empty() || to.is_empty() {
                return Err(Error::Usage(format!("--role-map {pair}: both role names are needed")));
            }
            if map.insert(from.to_string(), to.to_string()).is_some() {
                return Err(Error::Usage(format!("--role-map: role {from} is mapped twice")));
            }
        }
        Ok(RoleMap { map, drop_public: false })
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The target roles, which must exist on the target server.
    pub fn target_roles(&self) -> impl Iterator<Item = &str> {
        self.map.values().map(String::as_str)
    }

    /// The pg_dump options that decide owners and privileges.
    pub fn pg_dump_args(&self) -> &'static [&'static str] {
        if self.is_empty() { &["--no-owner", "--no-privileges"] } else { &[] }
    }

    /// The quoted target name of a role as pg_dump wrote it (`PUBLIC` stays), or `None` when
    /// the role is not mapped.
    fn target_of(&self, written: &str) -> Option<String> {
        if written == "PUBLIC" {
            return (!self.drop_public).then(|| written.to_string());
        }
        self.map.get(&unquote(written)).map(|to| quote_ident(to))
    }

    /// Rewrites pg_dump's plain SQL as the module docs say. Also returns the source roles
    /// whose statements were dropped, for the log.
    pub fn rewrite(&self, sql: &str) -> (String, Vec<String>) {
        self.rewrite_lines(sql, false)
    }

    /// [`RoleMap::rewrite`] of a whole dump's SQL (a dump file's, with its owners and
    /// privileges), where pg_dump wrote each of these statements followed by one empty line: a
    /// dropped statement takes its empty line along, so the SQL reads as pg_dump would have
    /// written it without the statement. Without a map, privileges of `PUBLIC` go too, as
    /// `pg_dump --no-owner --no-privileges` leaves out every owner and privilege.
    pub fn rewrite_dump(&self, sql: &str) -> (String, Vec<String>) {
        let map = RoleMap { map: self.map.clone(), drop_public: self.is_empty() };
        map.rewrite_lines(sql, true)
    }

    fn rewrite_lines(&self, sql: &str, with_empty_line: bool) -> (String, Vec<String>) {
        let mut out = String::with_capacity(sql.len());
        let mut after_drop = false;
        let mut dropped: Vec<String> = Vec::new();
        let mut quotes = DollarQuotes::default();
        let mut skipping_authorization = false;
        for line in sql.split_inclusive('\n') {
            let outside = !quotes.inside();
            quotes.scan(line);
            if !outside {
                out.push_str(line);
                continue;
            }
            let statement = line.trim_end_matches(['\n', '\r']);
            if std::mem::take(&mut after_drop) && with_empty_line && statement.is_empty() {
                continue;
            }
            if statement == "RESET SESSION AUTHORIZATION;" && skipping_authorization {
                skipping_authorization = false;
                continue;
            }
            match self.rewrite_statement(statement) {
                Rewrite::Keep => out.push_str(line),
                Rewrite::Replace(text) => {
                    out.push_str(&text);
                    out.push('\n');
                }
                Rewrite::Drop(role) => {
                    after_drop = true;
                    if statement.starts_with("SET SESSION AUTHORIZATION ") {
                        skipping_authorization = true;
                    }
                    let role = unquote(&role);
                    if !dropped.contains(&role) {
                        dropped.push(role);
                    }
                }
            }
        }
        (out, dropped)
    }

    fn rewrite_statement(&self, statement: &str) -> Rewrite {
        if let Some(rest) = statement.strip_prefix("SET SESSION AUTHORIZATION ") {
            let role = rest.trim_end_matches(';');
            return match self.target_of(role) {
                Some(to) => Rewrite::Replace(format!("SET SESSION AUTHORIZATION {to};")),
                None => Rewrite::Drop(role.to_string()),
            };
        }
        if let Some(rest) = statement.strip_prefix("ALTER DEFAULT PRIVILEGES FOR ROLE ") {
            let Some((owner, after)) = split_first_ident(rest) else { return Rewrite::Keep };
            let Some(owner_to) = self.target_of(owner) else { return Rewrite::Drop(owner.to_string()) };
            return match self.rewrite_grantee(after, &[" TO ", " FROM "]) {
                Rewrite::Replace(after) => {
                    Rewrite::Replace(format!("ALTER DEFAULT PRIVILEGES FOR ROLE {owner_to}{after}"))
                }
                Rewrite::Keep => Rewrite::Replace(format!("ALTER DEFAULT PRIVILEGES FOR ROLE {owner_to}{after}")),
                dropped => dropped,
            };
        }
        if statement.starts_with("ALTER ") && statement.contains(" OWNER TO ") {
            return self.rewrite_grantee(statement, &[" OWNER TO "]);
        }
        if statement.starts_with("GRANT ") {
            return self.rewrite_grantee(statement, &[" TO "]);
        }
        if statement.starts_with("REVOKE ") {
            return self.rewrite_grantee(statement, &[" FROM "]);
        }
        Rewrite::Keep
    }

    /// Rewrites the role that ends `statement` (after the last of `markers`, before the `;`
    /// and an optional ` WITH GRANT OPTION`).
    fn rewrite_grantee(&self, statement: &str, markers: &[&str]) -> Rewrite {
        let Some(body) = statement.strip_suffix(';') else { return Rewrite::Keep };
        let (body, suffix) = match body.strip_suffix(" WITH GRANT OPTION") {
            Some(b) => (b, " WITH GRANT OPTION;"),
            None => (body, ";"),
        };
        let Some((role_start, role)) = last_ident(body) else { return Rewrite::Keep };
        if !markers.iter().any(|m| body[..role_start].ends_with(m)) {
            return Rewrite::Keep;
        }
        match self.target_of(role) {
            Some(to) => Rewrite::Replace(format!("{}{to}{suffix}", &body[..role_start])),
            None => Rewrite::Drop(role.to_string()),
        }
    }
}

enum Rewrite {
    Keep,
    Replace(String),
    /// The statement names this role, which is not mapped.
    Drop(String),
}

/// A role name as pg_dump writes it (`app`, `"App Owner"`) → as the catalog spells it.
fn unquote(written: &str) -> String {
    match written.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => written.to_string(),
    }
}

/// The identifier that ends `s`: its byte offset and its written form.
fn last_ident(s: &str) -> Option<(usize, &str)> {
    if s.ends_with('"') {
        // Walk back over the quoted name; doubled quotes are part of it.
        let bytes = s.as_bytes();
        let mut i = bytes.len() - 1;
        loop {
            let j = s[..i].rfind('"')?;
            if j > 0 && bytes[j - 1] == b'"' {
                i = j - 1;
                continue;
            }
            return Some((j, &s[j..]));
        }
    }
    let start = s.rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).map_or(0, |i| i + 1);
    (start < s.len()).then(|| (start, &s[start..]))
}

/// The identifier that starts `s`, and the rest.
fn split_first_ident(s: &str) -> Option<(&str, &str)> {
    if let Some(inner) = s.strip_prefix('"') {
        let mut i = 0;
        let bytes = inner.as_bytes();
        while i < bytes.len() {
            if bytes[i] == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    i += 2;
                    continue;
                }
                return Some((&s[..i + 2], &s[i + 2..]));
            }
            i += 1;
        }
        return None;
    }
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$')).unwrap_or(s.len());
    (end > 0).then(|| (&s[..end], &s[end..]))
}

/// Tracks whether a line ends inside a dollar-quoted body (`$$ … $$`, `$fn$ … $fn$`), where a
/// line that looks like a GRANT is function text and must not be touched.
#[derive(Default)]
struct DollarQuotes {
    open: Option<String>,
}

impl DollarQuotes {
    fn inside(&self) -> bool {
        self.open.is_some()
    }

    fn scan(&mut self, line: &str) {
        let mut rest = line;
        while let Some(start) = rest.find('$') {
            let after = &rest[start + 1..];
            let tag_len = after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
            if !after[tag_len..].starts_with('$') {
                rest = &after[tag_len..];
                continue;
            }
            let tag = &rest[start..start + tag_len + 2];
            match &self.open {
                Some(open) if open == tag => self.open = None,
                Some(_) => {}
                None => self.open = Some(tag.to_string()),
            }
            rest = &rest[start + tag.len()..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dumps_dropped_statement_takes_its_empty_line_along() {
        let sql = "CREATE TABLE t (a int);\n\nALTER TABLE t OWNER TO app;\n\nGRANT SELECT ON TABLE t TO PUBLIC;\n\n";
        let none = RoleMap::default();
        assert_eq!(none.rewrite_dump(sql).0, "CREATE TABLE t (a int);\n\n");
        assert_eq!(none.rewrite(sql).0, "CREATE TABLE t (a int);\n\n\nGRANT SELECT ON TABLE t TO PUBLIC;\n\n");
    }

    fn map(pairs: &[&str]) -> RoleMap {
        RoleMap::parse(&pairs.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn owners_and_grants_of_mapped_roles_are_renamed_and_the_rest_dropped() {
        let sql = "\
CREATE TABLE public.t (id integer);
ALTER TABLE public.t OWNER TO prod_owner;
ALTER SCHEMA s OWNER TO \"Prod \"\"Admin\"\"\";
GRANT SELECT ON TABLE public.t TO prod_reader;
GRANT ALL ON TABLE public.t TO prod_reader WITH GRANT OPTION;
GRANT SELECT(id) ON TABLE public.t TO someone_else;
REVOKE ALL ON TABLE public.t FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM prod_owner;
SET SESSION AUTHORIZATION prod_only;
GRANT SELECT ON TABLE public.t TO prod_reader;
RESET SESSION AUTHORIZATION;
ALTER DEFAULT PRIVILEGES FOR ROLE prod_owner IN SCHEMA public GRANT SELECT ON TABLES TO prod_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE prod_owner IN SCHEMA public GRANT SELECT ON TABLES TO other;
";
        let (out, dropped) =
            map(&["prod_owner=stage_owner", "prod_reader=stage reader", "Prod \"Admin\"=admin"]).rewrite(sql);
        assert_eq!(
            out,
            "\
CREATE TABLE public.t (id integer);
ALTER TABLE public.t OWNER TO \"stage_owner\";
ALTER SCHEMA s OWNER TO \"admin\";
GRANT SELECT ON TABLE public.t TO \"stage reader\";
GRANT ALL ON TABLE public.t TO \"stage reader\" WITH GRANT OPTION;
REVOKE ALL ON TABLE public.t FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM \"stage_owner\";
GRANT SELECT ON TABLE public.t TO \"stage reader\";
ALTER DEFAULT PRIVILEGES FOR ROLE \"stage_owner\" IN SCHEMA public GRANT SELECT ON TABLES TO \"stage reader\";
"
        );
        assert_eq!(dropped, vec!["someone_else", "prod_only", "other"]);
    }

    #[test]
    fn function_bodies_are_left_alone() {
        let sql = "\
CREATE FUNCTION public.f() RETURNS void
    LANGUAGE plpgsql
    AS $_$
GRANT SELECT ON TABLE public.t TO prod_reader;
$_$;
ALTER FUNCTION public.f() OWNER TO prod_reader;
";
        let (out, _) = map(&["prod_reader=r"]).rewrite(sql);
        assert!(out.contains("$_$\nGRANT SELECT ON TABLE public.t TO prod_reader;\n$_$;"), "{out}");
        assert!(out.ends_with("ALTER FUNCTION public.f() OWNER TO \"r\";\n"), "{out}");
    }

    #[test]
    fn bad_pairs_are_usage_errors() {
        for bad in ["nope", "=x", "x=", "a=b,a=c"] {
            let pairs: Vec<String> = bad.split(',').map(String::from).collect();
            assert!(RoleMap::parse(&pairs).is_err(), "{bad}");
        }
        assert_eq!(map(&[]).pg_dump_args(), ["--no-owner", "--no-privileges"]);
        assert!(map(&["a=b"]).pg_dump_args().is_empty());
    }
}
