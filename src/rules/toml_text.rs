//! Names in the TOML files doppel writes (rules suggested by `scan`, schema locks, the
//! snippets `check` prints for drift): keys and strings with the toml crate's own escaping
//! (`toml_writer`), always on one line, so that a name holding any character, a newline or
//! any other control character included, reads back as the same name.

use toml_writer::{ToTomlKey, ToTomlValue, TomlStringBuilder};

/// A TOML key: bare when it can be, quoted (and escaped) otherwise; never multi-line.
pub fn key(name: &str) -> String {
    name.to_toml_key()
}

/// A TOML string on one line: a basic or literal string, never a multi-line one.
pub fn string(text: &str) -> String {
    let builder = TomlStringBuilder::new(text);
    builder.as_basic_pretty().or_else(|| builder.as_literal()).unwrap_or_else(|| builder.as_basic()).to_toml_value()
}

/// A TOML comment's text on one line: control characters (a newline in a name) become spaces.
pub fn comment(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character PostgreSQL allows in an identifier that TOML must escape.
    fn control_characters() -> impl Iterator<Item = char> {
        (0x01u8..=0x1f).chain([0x7f]).map(char::from)
    }

    #[test]
    fn names_with_every_control_character_round_trip_as_keys_and_strings_on_one_line() {
        for c in control_characters() {
            for name in [format!("a{c}b"), format!("{c}"), format!("x\"{c}'y\\"), format!("{c}{c}\n")] {
                let (k, s) = (key(&name), string(&name));
                assert!(!k.contains(['\n', '\r']) && !s.contains(['\n', '\r']), "{name:?}: {k} / {s}");
                let text = format!("[tables.{k}]\n{k} = {s}\nkeep = [{s}, {s}]\n");
                let parsed: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{name:?}: {e}\n{text}"));
                let table = parsed["tables"][&name].as_table().unwrap();
                assert_eq!(table[&name].as_str(), Some(name.as_str()));
                assert_eq!(table["keep"][1].as_str(), Some(name.as_str()));
            }
        }
        assert_eq!(key("first_name"), "first_name");
        assert_eq!(key("first name"), "\"first name\"");
        assert_eq!(string("plain"), "\"plain\"");
        assert_eq!(comment("x\ny\u{7f}"), "x y ");
    }
}
