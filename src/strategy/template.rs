//! Parsing `template` strings: `"{first_name|slug}.{last_name|slug}@example.com"`.
//!
//! `{column}` inserts another column's *output* value of the same row (after its own rule
//! ran), `{column|filter|filter}` applies filters in order: `lower`, `upper`, `slug`
//! (lowercase ASCII letters and digits, everything else dropped; accents are folded where
//! possible). `{{` and `}}` write literal braces. A NULL value inserts nothing.

/// A parsed template, bound to column indexes of its table.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
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
        Ok(Template { source: text.to_string(), parts })
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
}
