//! Parsing `template` strings: `"{first_name|slug}.{last_name|slug}@example.com"`.
//!
//! `{column}` inserts another column's *output* value of the same row (after its own rule
//! ran), `{column|filter|filter}` applies filters in order: `lower`, `upper`, `slug`
//! (lowercase ASCII letters and digits, everything else dropped; accents are folded where
//! possible). `{{` and `}}` write literal braces. A NULL value inserts nothing.
//!
//! Templates read other columns' outputs, so they are evaluated after them (the plan's
//! evaluation order), and a `unique` template's colliding value gets a tag of its position
//! (`crate::transform::unique::tag`).

use arrow_array::{Array, ArrayRef};
use serde::Deserialize;

use super::apply::{CellError, ColumnInput, map_text_indexed};
use super::fit::{Declared, Longest};
use super::tag;
use super::words::Words;
use super::{Behaviour, BindContext, Bound, RuleOptions, Strategy};

/// `action = "template"`: text built from other columns' output values in the same row, e.g.
/// `"{first_name|slug}.{last_name|slug}@example.com"`. Filters: `lower`, `upper`, `slug`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateRule {
    pub template: String,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub domain: Option<String>,
}

impl RuleOptions for TemplateRule {
    fn action(&self) -> &'static str {
        "template"
    }

    fn bind(&self, ctx: &BindContext) -> Result<Bound, Vec<String>> {
        ctx.text_only("template")?;
        let names: Vec<String> = ctx.schema.fields().iter().map(|f| f.name().clone()).collect();
        let t = Template::parse(&self.template, &names, ctx.field.name()).map_err(|e| vec![e])?;
        Ok(Bound { strategy: Strategy::Template(t), domain: ctx.domain_of(&self.domain), unique: self.unique })
    }

    fn bind_in_json(&self, _default_domain: &str) -> Result<(Strategy, String), String> {
        Err("`template` is not available inside JSON".into())
    }
}

/// A parsed template, bound to column indexes of its table.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
    /// The table's column names, for messages.
    names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Literal(String),
    Column { index: usize, filters: Vec<Filter> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Lower,
    Upper,
    Slug,
}

impl Template {
    /// Parses `text` against the table's column names; `own` is the column being built.
    pub fn parse(text: &str, columns: &[String], own: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err("unmatched `}` in template; write `}}` for a literal brace".into()),
                '{' => {
                    let mut inner = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => inner.push(c),
                            None => return Err("unclosed `{` in template; write `{{` for a literal brace".into()),
                        }
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(parse_placeholder(&inner, columns, own)?);
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        if !parts.iter().any(|p| matches!(p, Part::Column { .. })) {
            return Err("the template refers to no column; use `constant` for a fixed value".into());
        }
        Ok(Template { source: text.to_string(), parts, names: columns.to_vec() })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Column indexes the template reads.
    pub fn references(&self) -> Vec<usize> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Column { index, .. } => Some(*index),
                Part::Literal(_) => None,
            })
            .collect()
    }
}

impl Template {
    /// The longest value the template can make, with how it adds up (names and lengths,
    /// never values): its fixed text, each inserted value after its filters (`column(i)`
    /// gives the longest value of column `i` after its rule), and with `unique` the most a
    /// collision's number adds ([`tag::max_added_chars`]). `Err` when a column it reads
    /// has no longest value.
    pub fn longest(
        &self,
        unique: bool,
        column: &mut dyn FnMut(usize) -> Result<Longest, String>,
    ) -> Result<(Longest, Vec<String>), String> {
        let fixed: usize = self
            .parts
            .iter()
            .map(|p| match p {
                Part::Literal(l) => l.chars().count(),
                Part::Column { .. } => 0,
            })
            .sum();
        let mut total = Longest { chars: fixed, ascii: true };
        let mut parts = vec![format!("{fixed} of fixed text")];
        for part in &self.parts {
            let Part::Column { index, filters } = part else { continue };
            let inserted = filters.iter().fold(column(*index)?, |l, f| f.longest(l));
            total = Longest { chars: total.chars + inserted.chars, ascii: total.ascii && inserted.ascii };
            parts.push(format!("{} up to {}", self.placeholder_text(*index, filters), inserted.chars));
        }
        if unique {
            total.chars += tag::max_added_chars();
            parts.push(format!("up to {} for the number `unique` adds to a collision", tag::max_added_chars()));
        }
        Ok((total, parts))
    }

    /// `{column|filter}` as written, from the column's index (for messages).
    fn placeholder_text(&self, index: usize, filters: &[Filter]) -> String {
        let name = self.names.get(index).map(String::as_str).unwrap_or("?");
        let filters: String = filters.iter().map(|f| format!("|{}", f.name())).collect();
        format!("`{{{name}{filters}}}`")
    }
}

/// Most characters one character becomes in Unicode's lowercase mapping (`İ` is `i̇`).
pub const LOWER_GROWTH: usize = 2;
/// Most characters one character becomes in Unicode's uppercase mapping (`ß` is `SS`, `ΐ`
/// three characters).
pub const UPPER_GROWTH: usize = 3;
/// Most characters `slug` makes of one character (`ß` is `ss`, `Æ` is `ae`).
pub const SLUG_GROWTH: usize = 2;

impl Filter {
    pub fn name(self) -> &'static str {
        match self {
            Filter::Lower => "lower",
            Filter::Upper => "upper",
            Filter::Slug => "slug",
        }
    }

    /// The longest result of the filter on a value of at most `l`: ASCII text keeps its
    /// length under case mapping and `slug` (which makes ASCII); other text may grow by
    /// Unicode's case mappings and accent folding.
    pub fn longest(self, l: Longest) -> Longest {
        let growth = match self {
            _ if l.ascii => 1,
            Filter::Lower => LOWER_GROWTH,
            Filter::Upper => UPPER_GROWTH,
            Filter::Slug => SLUG_GROWTH,
        };
        Longest { chars: l.chars * growth, ascii: l.ascii || self == Filter::Slug }
    }
}

fn parse_placeholder(inner: &str, columns: &[String], own: &str) -> Result<Part, String> {
    let mut pieces = inner.split('|').map(str::trim);
    let name = pieces.next().unwrap_or_default();
    if name == own {
        return Err(format!("the template refers to its own column `{own}`"));
    }
    let index = columns.iter().position(|c| c == name).ok_or_else(|| {
        format!("the template refers to `{name}`, which is not a column of this table; columns: {}", columns.join(", "))
    })?;
    let filters = pieces
        .map(|f| match f {
            "lower" => Ok(Filter::Lower),
            "upper" => Ok(Filter::Upper),
            "slug" => Ok(Filter::Slug),
            other => Err(format!("unknown template filter `{other}`; valid filters: lower, upper, slug")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Part::Column { index, filters })
}

/// Applies `filters` to `value`, appending the result to `out`.
pub fn apply_filters(value: &str, filters: &[Filter], out: &mut String) {
    if filters.is_empty() {
        out.push_str(value);
        return;
    }
    let mut current = value.to_string();
    for f in filters {
        current = match f {
            Filter::Lower => current.to_lowercase(),
            Filter::Upper => current.to_uppercase(),
            Filter::Slug => slug(&current),
        };
    }
    out.push_str(&current);
}

/// Lowercase ASCII letters and digits; accented Latin letters folded; others dropped.
fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for lc in s.chars().flat_map(char::to_lowercase) {
        if lc.is_ascii_alphanumeric() {
            out.push(lc);
        } else if let Some(folded) = crate::detect::names::fold_accent(lc) {
            out.push_str(folded);
        }
    }
    out
}

impl Behaviour for Template {
    fn action(&self) -> &'static str {
        "template"
    }

    fn describe(&self) -> String {
        Words::new("template").opt("template", self.source()).finish()
    }

    /// The fixed text alone must fit. The whole longest value, which needs the rules of the
    /// columns it reads, is checked by [`super::fit::templates`]; every value is checked at run
    /// time too, as a last line of defence.
    fn fit(&self, declared: &Declared) -> Result<Option<usize>, String> {
        let fixed: usize = self
            .parts()
            .iter()
            .map(|p| match p {
                Part::Literal(l) => l.chars().count(),
                Part::Column { .. } => 0,
            })
            .sum();
        if fixed > declared.limit {
            declared.too_long("the template's fixed text alone".into(), fixed, "shorten the template")
        } else {
            Ok(Some(declared.limit))
        }
    }

    fn apply(&self, c: &ColumnInput) -> Result<ArrayRef, CellError> {
        let references = self.references();
        let formatters: Vec<Option<arrow_cast::display::ArrayFormatter>> = c
            .columns
            .iter()
            .enumerate()
            .map(|(i, col)| {
                references
                    .contains(&i)
                    .then(|| arrow_cast::display::ArrayFormatter::try_new(col.as_ref(), &Default::default()).ok())
                    .flatten()
            })
            .collect();
        let mut scratch = String::new();
        map_text_indexed(c.input, |row, _own, out| {
            for part in self.parts() {
                match part {
                    Part::Literal(l) => out.push_str(l),
                    Part::Column { index, filters } => {
                        let col = &c.columns[*index];
                        if col.is_null(row) {
                            continue;
                        }
                        scratch.clear();
                        if let Some(f) = &formatters[*index] {
                            use std::fmt::Write;
                            let _ = write!(scratch, "{}", f.value(row));
                        }
                        apply_filters(&scratch, filters, out);
                    }
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<String> {
        ["first", "last", "email"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_columns_filters_and_escapes() {
        let t = Template::parse("{{{first|slug}}}.{last|lower|upper}@x", &cols(), "email").unwrap();
        assert_eq!(t.references(), vec![0, 1]);
        assert_eq!(t.parts()[0], Part::Literal("{".into()));
        assert_eq!(t.parts()[2], Part::Literal("}.".into()));
        assert_eq!(t.parts()[3], Part::Column { index: 1, filters: vec![Filter::Lower, Filter::Upper] });
    }

    #[test]
    fn rejects_unknown_columns_filters_self_and_unbalanced() {
        assert!(Template::parse("{nope}", &cols(), "email").unwrap_err().contains("first, last, email"));
        assert!(Template::parse("{first|title}", &cols(), "email").unwrap_err().contains("lower, upper, slug"));
        assert!(Template::parse("{email}", &cols(), "email").unwrap_err().contains("own column"));
        assert!(Template::parse("{first", &cols(), "email").is_err());
        assert!(Template::parse("first}", &cols(), "email").is_err());
        assert!(Template::parse("static", &cols(), "email").is_err());
    }

    #[test]
    fn slug_folds_accents_and_drops_the_rest() {
        let mut out = String::new();
        apply_filters("Zoë Núñez-Groß 2", &[Filter::Slug], &mut out);
        assert_eq!(out, "zoenunezgross2");
    }

    #[test]
    fn the_filters_grow_a_character_by_at_most_their_growth_and_keep_ascii_lengths() {
        let (mut lower, mut upper, mut slug) = (0, 0, 0);
        for c in (0..=char::MAX as u32).filter_map(char::from_u32) {
            let one = c.to_string();
            let filtered = |f: Filter| {
                let mut out = String::new();
                apply_filters(&one, &[f], &mut out);
                out
            };
            let (l, u, s) = (filtered(Filter::Lower), filtered(Filter::Upper), filtered(Filter::Slug));
            lower = lower.max(l.chars().count());
            upper = upper.max(u.chars().count());
            slug = slug.max(s.chars().count());
            assert!(s.is_ascii());
            if c.is_ascii() {
                assert!(l.len() == 1 && u.len() == 1 && s.len() <= 1 && l.is_ascii() && u.is_ascii(), "{c:?}");
            }
        }
        assert_eq!((lower, upper, slug), (LOWER_GROWTH, UPPER_GROWTH, SLUG_GROWTH));
        let text = Longest::text(10);
        assert_eq!(Filter::Upper.longest(text), Longest::text(30));
        assert_eq!(Filter::Slug.longest(text), Longest::ascii(20));
        assert_eq!(Filter::Upper.longest(Filter::Slug.longest(text)), Longest::ascii(20));
        assert_eq!(Filter::Lower.longest(Longest::ascii(10)), Longest::ascii(10));
    }

    #[test]
    fn templates_are_refused_when_their_fixed_text_is_too_long() {
        use crate::strategy::fit::{check, declared_text as field};
        let names = vec!["a".to_string(), "c".to_string()];
        let t = |s: &str| Strategy::Template(Template::parse(s, &names, "c").unwrap());
        assert_eq!(check(&field("character varying(12)"), &t("{a}@example.com")), Ok(Some(12)));
        let e = check(&field("character varying(10)"), &t("{a}@example.com")).unwrap_err();
        assert!(e.contains("fixed text alone makes values of 12 characters"), "{e}");
    }
}
