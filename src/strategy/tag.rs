//! The distinguishing tag of a `unique` template's value that another, lower-ranked input
//! already produced (see [`crate::transform::unique`]); `check` adds its length to the
//! template's longest value ([`max_added_chars`]).
//!
//! ```text
//! ann.smith@example.com  ──position 2, form 0──▶  ann.smith.2@example.com
//!                        ──position 2, form 1──▶  ann.smith.x2@example.com
//! ann-smith              ──position 3, form 0──▶  ann-smith-3
//! ```
//!
//! The tag goes before the last `@` (emails stay emails) after a `.`, or at the end after a
//! `-`: `form` letters `x`, then the position in decimal. The insertion can be undone from the
//! output alone (the last `@`, then the last `.` or `-` before it, then letters and digits), so
//! two different (value, position, form) triples never make the same text: tagged values of
//! different groups, and of different positions in one group, never collide. Only a value that
//! already existed untagged can equal a tagged one; the next form is then used.

/// Forms tried before a tagged value that collides with an existing value is an error.
pub const MAX_FORMS: u32 = 8;

/// `value` with the tag of `position` (2 for the second-ranked input) in `form`.
pub fn tagged(value: &str, position: u32, form: u32) -> String {
    let mut tag = String::with_capacity(form as usize + 11);
    for _ in 0..form {
        tag.push('x');
    }
    tag.push_str(&position.to_string());
    match value.rfind('@') {
        Some(at) => format!("{}.{tag}{}", &value[..at], &value[at..]),
        None => format!("{value}-{tag}"),
    }
}

/// The most characters a tag adds: a separator, `MAX_FORMS - 1` letters and ten digits.
pub const fn max_added_chars() -> usize {
    1 + MAX_FORMS as usize - 1 + 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_go_before_the_last_at_or_at_the_end() {
        assert_eq!(tagged("ann.smith@example.com", 2, 0), "ann.smith.2@example.com");
        assert_eq!(tagged("a@b@example.com", 3, 1), "a@b.x3@example.com");
        assert_eq!(tagged("ann-smith", 12, 0), "ann-smith-12");
        assert_eq!(tagged("", 2, 2), "-xx2");
        assert_eq!(tagged("x@y", u32::MAX, MAX_FORMS - 1).chars().count() - 3, max_added_chars());
    }

    /// Distinct triples give distinct texts, also where values already look tagged.
    #[test]
    fn different_values_positions_and_forms_never_make_the_same_text() {
        let values = ["a@x", "a.2@x", "a.x2@x", "a-2", "a", "a-x2", "a.1@x", "@", "a.@x", "a2@x", "a-", ""];
        let mut seen = std::collections::HashMap::new();
        for v in values {
            for position in [1, 2, 12, 21] {
                for form in 0..3 {
                    let t = tagged(v, position, form);
                    if let Some(previous) = seen.insert(t.clone(), (v, position, form)) {
                        panic!("{t} from {previous:?} and {:?}", (v, position, form));
                    }
                }
            }
        }
    }
}
