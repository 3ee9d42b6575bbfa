//! Suggestions for text columns (and text-like ones: json, xml, network types): what the
//! sampled values say first, then the name, then a safe transforming rule.

use super::*;

pub(super) fn text(col: &Column, ctx: &TableContext) -> Suggestion {
    let pg = col.pg_type.as_deref().unwrap_or("");
    if pg == "json" || pg == "jsonb" || col.json.is_some() {
        return json(col, ctx);
    }
    if !col.is_string_type() {
        return non_string_text(col, ctx, pg);
    }
    let concept = col.concept();
    if let Some(c) = concept
        && let Some(s) = personal_text(col, ctx, c)
    {
        return s;
    }
    let Evidence::Text(t) = &col.evidence else { return unjudged(col, "no text values could be read".into()) };
    if concept == Some(Concept::Salutation) || concept == Some(Concept::Gender) {
        let c = concept.unwrap_or(Concept::Gender);
        if t.values() == 0 || t.enum_like() {
            return Suggestion::keep(format!(
                "the name says {}: few distinct values ({} in {}), not identifying alone",
                c.describe(),
                t.distinct(),
                col.sampled()
            ));
        }
        return Suggestion::rule(
            Rule::mask_fp(),
            format!("the name says {}, but its {} vary too much to keep", c.describe(), col.sampled()),
        )
        .review();
    }
    if concept == Some(Concept::FreeText) {
        return free_text(col, ctx, t);
    }
    if let Some(s) = personal_findings(col, t) {
        return s;
    }
    // No personal data in the values from here on.
    let clean = col.clean();
    if let Some(why) = col.key_why() {
        return Suggestion::keep(format!("{why}; {clean}"));
    }
    match concept {
        Some(c @ (Concept::Country | Concept::Region)) => {
            return Suggestion::keep(format!("the name says {}: coarse geography; {clean}", c.describe()));
        }
        Some(c @ (Concept::Product | Concept::Measure | Concept::Status)) => {
            return Suggestion::keep(format!("the name says {}; {clean}", c.describe()));
        }
        Some(Concept::City) => {
            return Suggestion::keep(format!(
                "the name says a city, in a table without other personal data: a city alone identifies no one; {clean}"
            ));
        }
        _ => {}
    }
    if t.values() == 0 {
        return Suggestion::rule(
            Rule::mask_fp(),
            "text, and no values sampled to judge it by: random characters, same format",
        )
        .review();
    }
    if t.enum_like() {
        return Suggestion::keep(format!(
            "an enumeration: {} distinct values, repeated, in {}; {clean}",
            t.distinct(),
            col.sampled()
        ));
    }
    if t.quantity_like() {
        return Suggestion::keep(format!("quantities with a unit (a duration, size or weight); {clean}"));
    }
    if t.label_lists() {
        return Suggestion::keep(format!("lists of labels from a small vocabulary (tags, genres); {clean}"));
    }
    if ctx.about_people.is_none() && (ctx.reference || t.average_words() <= 4.0) {
        let what = match (concept, ctx.reference) {
            (Some(Concept::Name), _) => "a thing's name",
            (Some(Concept::Title), _) => "a label or title",
            (_, true) => "reference data",
            _ => "short labels",
        };
        return Suggestion::keep(format!("{what} in a table whose rows are not people; {clean}"));
    }
    if t.average_words() > 4.0 {
        return Suggestion::rule(
            Rule::new("redact"),
            format!("free-form text; {clean}, but it may hold names or other details"),
        )
        .review();
    }
    let about = ctx.about_people.as_deref().unwrap_or("");
    Suggestion::rule(
        Rule::mask_fp(),
        format!("text scan cannot judge, in a table about people ({about}): random characters, same format"),
    )
    .review()
}

/// What personal data the values contain, as counts (`email addresses (3 of 40 sampled
/// values), ...`); `None` when nothing was found, or only a few person names.
pub(super) fn findings(col: &Column, t: &TextEvidence) -> Option<(String, bool)> {
    let strong = [Kind::Email, Kind::Phone, Kind::Iban, Kind::Card, Kind::Ip];
    let mut what: Vec<String> = strong
        .iter()
        .filter(|&&k| t.contains(k) > 0)
        .map(|&k| format!("{} ({} of {})", k.describe(), t.contains(k), col.sampled()))
        .collect();
    let only_names = what.is_empty();
    let names = t.contains(Kind::PersonName);
    let many_names = t.values() > 0 && names as f64 >= 0.3 * t.values() as f64;
    if only_names && !many_names {
        return None;
    }
    if names > 0 {
        what.push(format!("person names ({names} of {})", col.sampled()));
    }
    Some((what.join(", "), only_names))
}

/// Personal data found inside the values of a column whose name does not say what it is.
pub(super) fn personal_findings(col: &Column, t: &TextEvidence) -> Option<Suggestion> {
    let (what, only_names) = findings(col, t)?;
    let rule = if only_names && t.average_words() <= 3.0 {
        Rule::fake("full_name").domain(domain_of(Concept::FullName))
    } else if t.contains(Kind::PersonName) > 0 && col.limit.is_none() {
        // Prose naming people: redacting would leave the names no cue introduces (and the
        // addresses no detector knows), so the text is replaced whole.
        Rule::fake("paragraph")
    } else {
        Rule::new("redact")
    };
    Some(Suggestion::rule(rule, format!("personal data found inside the values: {what}")).or(Rule::mask_fp()).review())
}

pub(super) fn free_text(col: &Column, ctx: &TableContext, t: &TextEvidence) -> Suggestion {
    if let Some(about) = ctx
        .about_people
        .as_ref()
        .cloned()
        .or_else(|| col.tokens.names_people().then(|| "the column's name says so".to_string()))
    {
        let found = match findings(col, t) {
            Some((what, _)) => format!("; found inside: {what}"),
            None => String::new(),
        };
        if col.limit.is_none() {
            return Suggestion::rule(
                Rule::fake("paragraph"),
                format!(
                    "free text in a table about people ({about}){found}: replaced whole, since redacting leaves names that no cue introduces"
                ),
            )
            .or(Rule::mask_fp());
        }
        return Suggestion::rule(
            Rule::mask_fp(),
            format!("free text in a table about people ({about}){found}: random letters, same length and spacing"),
        );
    }
    if let Some(s) = personal_findings(col, t) {
        return s;
    }
    let clean = col.clean();
    if ctx.reference && t.values() > 0 {
        return Suggestion::keep(format!("free text describing reference data (by the table's name); {clean}"));
    }
    if col.tokens.describes_a_thing() && t.values() > 0 {
        return Suggestion::keep(format!(
            "a description of the row's thing in a table whose rows are not people; {clean}: kept, but read some \
             values to be sure it never mentions customers or staff"
        ));
    }
    Suggestion::rule(Rule::new("redact"), format!("free text; {clean}, but free text can mention anyone")).review()
}

/// Text columns of other PostgreSQL types (inet, numeric, interval, enums, arrays, ...).
pub(super) fn non_string_text(col: &Column, ctx: &TableContext, pg: &str) -> Suggestion {
    let base = pg.split('(').next().unwrap_or(pg);
    match base {
        "inet" | "cidr" => {
            return personal_text(col, ctx, Concept::Ip).unwrap_or_else(|| unjudged(col, "an IP address type".into()));
        }
        "macaddr" | "macaddr8" => {
            return personal_text(col, ctx, Concept::Mac).unwrap_or_else(|| unjudged(col, "a MAC address type".into()));
        }
        _ => {}
    }
    let personal =
        col.concept().filter(|c| IDENTIFYING.contains(c) || matches!(c, Concept::Secret | Concept::Postcode));
    if let Some(c) = personal {
        return unjudged(
            col,
            format!("the name says {}, in a column of type {pg}: check that the rule suits the type", c.describe()),
        );
    }
    let numeric_like = ["numeric", "decimal", "money", "interval", "time", "real", "double precision", "oid", "xid"];
    if numeric_like.iter().any(|n| base.starts_with(n)) {
        return Suggestion::keep(format!(
            "{}a value of type {pg}; its name does not suggest personal data",
            col.key_why().map(|k| format!("{k}; ")).unwrap_or_default()
        ));
    }
    if let Evidence::Text(t) = &col.evidence
        && personal_findings(col, t).is_none()
        && (t.enum_like() || col.key.is_some())
    {
        return Suggestion::keep(format!(
            "a value of type {pg} with few distinct values ({} in {}); no personal data found",
            t.distinct(),
            col.sampled()
        ));
    }
    unjudged(col, format!("a value of type {pg} scan cannot judge"))
}

/// JSON: a `json` rule for the paths holding personal data, when every other path was
/// judged; the whole value replaced otherwise.
pub(super) fn json(col: &Column, ctx: &TableContext) -> Suggestion {
    let Some(j) = &col.json else {
        return unjudged(col, "JSON, and no values sampled to judge it by".into());
    };
    if j.invalid > 0 || j.has_unaddressable_keys() {
        return unjudged(col, "JSON with values or keys a path rule cannot reach".into());
    }
    let mut paths: Vec<(String, Rule)> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    let mut reviewed = false;
    for (path, t) in &j.strings {
        let last = path.rsplit('.').next().unwrap_or(path).trim_end_matches("[*]");
        let tokens = Tokens::of(last);
        let field = Field::new(last, DataType::Utf8, true);
        let leaf = Column {
            field,
            concepts: tokens.concepts(),
            tokens,
            evidence: Evidence::Text(t.clone()),
            json: None,
            key: None,
            limit: None,
            pg_type: None,
        };
        let leaf_ctx = TableContext { first_name: None, last_name: None, single_pk: None, ..ctx.clone() };
        let s = text(&leaf, &leaf_ctx);
        let Action::Rule(mut rule) = s.action else { continue };
        // Inside JSON: no templates, no `unique`, and values are strings.
        rule.options.retain(|(k, _)| *k != "unique");
        if rule.action == "template" || rule.action == "null" {
            rule = Rule::fake("email").domain(domain_of(Concept::Email));
        }
        // JSON in a `varchar(n)` may already fill it: only rules that never lengthen a string
        // fit (see strategy::json), so what is not `redact` is masked whole.
        let mut why = s.why;
        if col.limit.is_some() && rule.action != "redact" && rule.action != "mask" {
            rule = Rule::new("mask");
            let column = col.pg_type.as_deref().unwrap_or("a column with a declared length");
            why.push_str(&format!(" (masked: a document in {column} may already fill it, so no value may grow)"));
        }
        reviewed |= s.review;
        reasons.push(format!("{path}: {why}"));
        paths.push((path.clone(), rule));
    }
    for (path, n) in &j.scalars {
        let last = path.rsplit('.').next().unwrap_or(path).trim_end_matches("[*]");
        let c = Tokens::of(last).concepts().first().copied();
        if let Some(c) = c.filter(|c| IDENTIFYING.contains(c) || matches!(c, Concept::Secret | Concept::Postcode)) {
            return unjudged(
                col,
                format!("JSON whose numbers or booleans at `{path}` ({n} seen) the name says are {}", c.describe()),
            );
        }
    }
    if paths.is_empty() {
        return Suggestion::keep(format!(
            "JSON: {} paths of text checked by name and value, none personal, in {}",
            j.strings.len(),
            col.sampled()
        ));
    }
    let mut rule = Rule::new("json");
    rule.paths = paths;
    let s = Suggestion::rule(rule, format!("JSON; paths: {}; other paths kept", reasons.join("; ")))
        .or(safe_rule(&col.field));
    if reviewed { s.review() } else { s }
}
