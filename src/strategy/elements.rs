//! Element-wise rules on arrays of strings (`text[]`, `varchar(n)[]`, `citext[]`, any
//! number of dimensions): `mask`, `hash`, `fake` and `redact` on an array column apply to
//! each element, bound as on a column of the element type (so a `varchar(n)` element's
//! length is checked as a column's would be). NULL elements stay NULL, the array's shape and
//! bounds (`[0:1]={…}`) are kept, and every element is written quoted, which PostgreSQL reads
//! back as the same string whatever it holds.

use arrow_array::ArrayRef;

use super::apply::{CellError, ColumnInput, map_text};
use super::fit::Declared;
use super::{Behaviour, Strategy};

/// A strategy applied to each element of an array held as PostgreSQL's text form.
#[derive(Clone)]
pub struct Elements(pub Box<Strategy>);

impl Behaviour for Elements {
    fn action(&self) -> &'static str {
        self.0.action()
    }

    fn describe(&self) -> String {
        format!("{} (on each element)", self.0.describe())
    }

    fn keyed(&self) -> bool {
        self.0.behaviour().keyed()
    }

    /// The elements were checked against the element type as the rule was bound.
    fn fit(&self, _declared: &Declared) -> Result<Option<usize>, String> {
        Ok(None)
    }

    fn apply(&self, c: &ColumnInput) -> Result<ArrayRef, CellError> {
        let inner = self.0.behaviour();
        let mut element = String::new();
        map_text(c.input, |s, out| {
            map_elements(s, out, |e, o| {
                element.clear();
                inner.text_value(c.key, e, c.attempt, &mut element)?;
                o.push_str(&element);
                Ok(())
            })
        })
    }
}

/// Rewrites the array `text` into `out`, each non-NULL element through `f`. `Err` (never
/// quoting the value) when `text` is not an array in PostgreSQL's text form.
pub fn map_elements(
    text: &str,
    out: &mut String,
    mut f: impl FnMut(&str, &mut String) -> Result<(), String>,
) -> Result<(), String> {
    let not_array = || "a value is not an array in PostgreSQL's text form".to_string();
    let mut rest = text;
    if rest.starts_with('[') {
        let end = rest.find('=').ok_or_else(not_array)?;
        out.push_str(&rest[..=end]);
        rest = &rest[end + 1..];
    }
    let chars: Vec<char> = rest.chars().collect();
    let (mut i, mut depth) = (0usize, 0usize);
    let mut element = String::new();
    let mut mapped = String::new();
    while i < chars.len() {
        match chars[i] {
            '{' => {
                depth += 1;
                out.push('{');
                i += 1;
            }
            '}' if depth > 0 => {
                depth -= 1;
                out.push('}');
                i += 1;
            }
            ',' if depth > 0 => {
                out.push(',');
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            _ if depth == 0 => return Err(not_array()),
            '"' => {
                element.clear();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(not_array()),
                        Some('"') => break,
                        Some('\\') => {
                            element.push(*chars.get(i + 1).ok_or_else(not_array)?);
                            i += 2;
                        }
                        Some(&c) => {
                            element.push(c);
                            i += 1;
                        }
                    }
                }
                i += 1;
                write_element(&element, out, &mut mapped, &mut f)?;
            }
            _ => {
                element.clear();
                while let Some(&c) = chars.get(i) {
                    if c == ',' || c == '}' {
                        break;
                    }
                    if c == '\\' {
                        element.push(*chars.get(i + 1).ok_or_else(not_array)?);
                        i += 2;
                        continue;
                    }
                    element.push(c);
                    i += 1;
                }
                let trimmed = element.trim_end();
                if trimmed.eq_ignore_ascii_case("NULL") {
                    out.push_str("NULL");
                } else {
                    let owned = trimmed.to_string();
                    write_element(&owned, out, &mut mapped, &mut f)?;
                }
            }
        }
    }
    if depth != 0 {
        return Err(not_array());
    }
    Ok(())
}

fn write_element(
    element: &str,
    out: &mut String,
    mapped: &mut String,
    f: &mut impl FnMut(&str, &mut String) -> Result<(), String>,
) -> Result<(), String> {
    mapped.clear();
    f(element, mapped)?;
    out.push('"');
    for c in mapped.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upper(text: &str) -> Result<String, String> {
        let mut out = String::new();
        map_elements(text, &mut out, |e, o| {
            o.push_str(&e.to_uppercase());
            Ok(())
        })
        .map(|()| out)
    }

    #[test]
    fn elements_are_mapped_and_shape_nulls_and_bounds_kept() {
        assert_eq!(upper("{a,b}").unwrap(), "{\"A\",\"B\"}");
        assert_eq!(upper("{}").unwrap(), "{}");
        assert_eq!(upper("{{a,NULL},{\"d e\",\"{x}\"}}").unwrap(), "{{\"A\",NULL},{\"D E\",\"{X}\"}}");
        assert_eq!(upper("[0:1]={\"q\\\"uote\",\"b\\\\s\"}").unwrap(), "[0:1]={\"Q\\\"UOTE\",\"B\\\\S\"}");
        assert_eq!(upper("{\"NULL\",\"\"}").unwrap(), "{\"NULL\",\"\"}");
        for bad in ["{zq", "zq", "{\"zq}", "[0:1]{zq}", "{zq}}"] {
            let e = upper(bad).unwrap_err();
            assert!(!e.contains("zq"), "{e}");
        }
    }
}
