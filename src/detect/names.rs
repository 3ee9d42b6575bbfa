//! Person names inside free text (the `name` detector), and the accent folding that name
//! lookups, `doppel scan`'s column names and the `fake` generators share.
//!
//! Names have no checksum, so this detector uses two signals and accepts a few false
//! positives (a street called "Rose Street") to avoid leaking real names:
//!
//! 1. **Known first name + capitalised word**: a capitalised word found in the first-name
//!    lists of the `fake` crate (English, French, German, Italian, Portuguese, Dutch,
//!    Turkish, Welsh; compared without accents) followed by one or two capitalised words
//!    (`Siobhan Lewis`, `Anaïs Richard`, `Mary Ann Smith`).
//! 2. **Cue + capitalised words**: one to three capitalised words right after a phrase that
//!    introduces a person: `this is`, `my name is`, `I am`, `I'm`, `regards,`, `thanks,`,
//!    `cheers,`, `best,`, `spoke to`, `spoke with`, `talked to`, `called`, `contact`, `ask
//!    for`, and titles `Mr`, `Mrs`, `Ms`, `Miss`, `Dr`, `Herr`, `Frau`, `Mme`, `M.`, `Sr`,
//!    `Sra`, `Sig.`, `Dhr.`, `Mevr.`.
//!
//! A single capitalised known first name with no cue (`Will`, `May`, `Mark`) is left alone:
//! those are too often ordinary words.

use std::sync::OnceLock;

use foldhash::HashSet;

use fake::locales::{CY_GB, DE_DE, Data, EN, FR_FR, IT_IT, NL_NL, PT_BR, PT_PT, TR_TR};

/// Lowercase, accent-folded form used for dictionary lookups (also by `doppel scan` for
/// column names).
pub(crate) fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for lc in word.chars().flat_map(char::to_lowercase) {
        match fold_accent(lc) {
            Some(folded) => out.push_str(folded),
            None => out.push(lc),
        }
    }
    out
}

/// The ASCII spelling of a lowercase accented Latin letter (`ü` gives `u`, `ß` gives `ss`).
pub(crate) fn fold_accent(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ß' => "ss",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'þ' => "th",
        _ => return None,
    })
}

/// Whether `word` is a known first name (compared folded, see [`fold`]). ASCII words, most of
/// them, are lowercased on the stack: the detector sees a capitalised word in nearly every text.
pub(crate) fn is_first_name(word: &str) -> bool {
    const SHORT: usize = 32;
    if word.len() <= SHORT && word.is_ascii() {
        let mut buffer = [0u8; SHORT];
        let lower = &mut buffer[..word.len()];
        lower.copy_from_slice(word.as_bytes());
        lower.make_ascii_lowercase();
        // ASCII stays ASCII when lowercased.
        return std::str::from_utf8(lower).is_ok_and(|w| first_names().contains(w));
    }
    first_names().contains(&fold(word))
}

/// Known first names, folded (see [`fold`]).
fn first_names() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        let lists: [&[&str]; 10] = [
            EN::NAME_FIRST_NAME,
            FR_FR::NAME_FIRST_NAME,
            DE_DE::NAME_FIRST_NAME,
            IT_IT::NAME_FIRST_NAME,
            PT_BR::NAME_FIRST_NAME,
            PT_PT::NAME_FIRST_NAME,
            NL_NL::NAME_FIRST_NAME,
            TR_TR::NAME_FIRST_NAME,
            CY_GB::NAME_FIRST_NAME,
            EXTRA_FIRST_NAMES,
        ];
        lists.iter().flat_map(|l| l.iter()).filter(|n| n.len() > 2).map(|n| fold(n)).collect()
    })
}

/// Common Spanish and international first names missing from the fake crate's lists.
const EXTRA_FIRST_NAMES: &[&str] = &[
    "Ainhoa",
    "Alejandro",
    "Álvaro",
    "Begoña",
    "Carmen",
    "Concepción",
    "Dolores",
    "Encarnación",
    "Guillermo",
    "Inmaculada",
    "Iñaki",
    "Itziar",
    "Javier",
    "Jesús",
    "Jorge",
    "José",
    "Josefa",
    "Juan",
    "Lucía",
    "Manuel",
    "Mercedes",
    "Montserrat",
    "Nerea",
    "Pilar",
    "Rocío",
    "Sergio",
    "Siobhan",
    "Teresa",
    "Xavier",
    "Aoife",
    "Niamh",
    "Saoirse",
    "Sinead",
    "Ciaran",
    "Els",
    "Anouk",
    "Sanne",
    "Femke",
    "Maarten",
    "Joost",
    "Bram",
    "Daan",
    "Lotte",
    "Fleur",
    "Jeroen",
    "Sem",
    "Ruud",
];

/// Lowercase name particles that may sit between the capitalised parts of a surname.
const PARTICLES: &[&str] =
    &["van", "von", "de", "der", "den", "da", "di", "del", "la", "le", "du", "ter", "ten", "dos", "das", "y", "zu"];

/// Lowercase cue phrases, each followed by the name.
const CUES: &[&str] = &[
    "this is",
    "my name is",
    "i am",
    "i'm",
    "regards,",
    "thanks,",
    "thank you,",
    "cheers,",
    "best,",
    "spoke to",
    "spoke with",
    "talked to",
    "called",
    "contact",
    "ask for",
    "mr",
    "mr.",
    "mrs",
    "mrs.",
    "ms",
    "ms.",
    "miss",
    "dr",
    "dr.",
    "herr",
    "frau",
    "mme",
    "m.",
    "sr",
    "sr.",
    "sra",
    "sra.",
    "sig.",
    "dhr.",
    "mevr.",
    "neighbour",
    "neighbor",
];

struct Word {
    start: usize,
    end: usize,
    capitalised: bool,
}

fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if !c.is_alphabetic() {
            continue;
        }
        let mut end = i + c.len_utf8();
        while let Some(&(j, d)) = iter.peek() {
            if d.is_alphabetic()
                || ((d == '\'' || d == '-') && text[j + 1..].chars().next().is_some_and(char::is_alphabetic))
            {
                end = j + d.len_utf8();
                iter.next();
            } else {
                break;
            }
        }
        out.push(Word { start: i, end, capitalised: c.is_uppercase() });
    }
    out
}

/// Whether only a single space (or a space after a comma-free gap) separates two words.
fn adjacent(text: &str, a: &Word, b: &Word) -> bool {
    &text[a.end..b.start] == " "
}

/// Byte ranges of person names found in `text`.
pub fn find_names(text: &str) -> Vec<(usize, usize)> {
    let ws = words(text);
    let mut found = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        let w = &ws[i];
        if !w.capitalised {
            i += 1;
            continue;
        }
        let known = is_first_name(&text[w.start..w.end]);
        let cued = cue_before(&text[..w.start]);
        // Extend over following capitalised words (at most two more), and over name
        // particles when a capitalised word follows them (`van Vliet`, `de la Cruz`).
        let mut last = i;
        let mut extra = 0;
        let mut k = i + 1;
        while k < ws.len() && extra < 2 && adjacent(text, &ws[k - 1], &ws[k]) {
            if ws[k].capitalised {
                last = k;
                extra += 1;
                k += 1;
            } else if PARTICLES.contains(&&text[ws[k].start..ws[k].end]) {
                k += 1;
            } else {
                break;
            }
        }
        if cued || (known && last > i) {
            found.push((w.start, ws[last].end));
            i = last + 1;
        } else {
            i += 1;
        }
    }
    found
}

/// Whether `before` (the text up to a word) ends with a cue (in any ASCII case) and one space.
fn cue_before(before: &str) -> bool {
    let Some(trimmed) = before.strip_suffix(' ') else { return false };
    // `contact: Ann Lee`: a colon may also follow the cue.
    let cued = |text: &str| {
        let bytes = text.as_bytes();
        CUES.iter().any(|cue| {
            bytes.len() >= cue.len() && bytes[bytes.len() - cue.len()..].eq_ignore_ascii_case(cue.as_bytes()) && {
                // The cue is ASCII, so this cut is at a character boundary.
                let head = &text[..text.len() - cue.len()];
                head.chars().next_back().is_none_or(|c| !c.is_alphanumeric())
            }
        })
    };
    cued(trimmed) || trimmed.strip_suffix(':').is_some_and(cued)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<&str> {
        find_names(text).into_iter().map(|(a, b)| &text[a..b]).collect()
    }

    #[test]
    fn known_first_name_followed_by_a_capitalised_word() {
        assert_eq!(names("Hi, this is Siobhan Lewis. Call me."), vec!["Siobhan Lewis"]);
        assert_eq!(names("Spoke to Antoine Nicolas (partner) about it"), vec!["Antoine Nicolas"]);
        assert_eq!(names("Ticket from Anaïs Richard today"), vec!["Anaïs Richard"]);
        assert_eq!(names("Mary Ann Smith called"), vec!["Mary Ann Smith"]);
        assert_eq!(names("accepted by my neighbour Emma van Vliet."), vec!["Emma van Vliet"]);
        assert_eq!(names("with Els de la Cruz and"), vec!["Els de la Cruz"]);
        assert_eq!(names("Company contact: Zorvek Quillan, phone 1"), vec!["Zorvek Quillan"]);
    }

    #[test]
    fn cues_introduce_names_even_unknown_ones() {
        assert_eq!(names("Kind regards, Ainhoa"), vec!["Ainhoa"]);
        assert_eq!(names("Thanks, Zbigniew Wozniak"), vec!["Zbigniew Wozniak"]);
        assert_eq!(names("Please ask for Mrs Okonkwo at the desk"), vec!["Mrs Okonkwo"]);
        assert_eq!(names("Dr. Okonkwo will call"), vec!["Okonkwo"]);
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        assert!(names("Will you ship on May 3? The Box Was Wet.").is_empty());
        assert!(names("Order shipped to New York on Monday").is_empty());
        assert!(names("mark the parcel as fragile").is_empty());
    }
}
