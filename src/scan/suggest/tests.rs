//! Tests of the suggestions: names, values and types to rules.

use super::*;

fn column(name: &str, dt: DataType, values: &[&str]) -> Column {
    let tokens = Tokens::of(name);
    let mut evidence = Evidence::for_type(&dt);
    if let Evidence::Text(t) = &mut evidence {
        for v in values {
            t.add(v);
        }
    }
    Column {
        field: Field::new(name, dt, true),
        concepts: tokens.concepts(),
        tokens,
        evidence,
        json: None,
        key: None,
        limit: None,
        pg_type: None,
    }
}

fn text_col(name: &str, values: &[&str]) -> Column {
    column(name, DataType::Utf8, values)
}

fn ctx_for(table: &str, columns: &[Column]) -> TableContext {
    context(table, columns, None, 10)
}

fn rule_of(s: &Suggestion) -> Option<(&'static str, String)> {
    match &s.action {
        Action::Keep => None,
        Action::Rule(r) => Some((r.action, r.render())),
    }
}

#[test]
fn multilingual_names_get_the_matching_generator() {
    let cols = [
        text_col("Vorname", &[]),
        text_col("nom_de_famille", &[]),
        text_col("correo_electronico", &[]),
        text_col("telefoon", &[]),
        text_col("Straße", &[]),
        text_col("code_postal", &[]),
    ];
    let ctx = ctx_for("public.kunden", &cols);
    assert!(ctx.about_people.is_some());
    let rendered: Vec<String> = cols.iter().map(|c| rule_of(&suggest(c, &ctx)).unwrap().1).collect();
    assert!(rendered[0].contains("first_name"), "{rendered:?}");
    assert!(rendered[1].contains("last_name"), "{rendered:?}");
    assert!(rendered[2].contains("template") && rendered[2].contains("{Vorname|slug}.{nom_de_famille|slug}"));
    assert!(rendered[3].contains("mask") && rendered[3].contains("phone"), "{rendered:?}");
    assert!(rendered[4].contains("street_address"), "{rendered:?}");
    assert!(rendered[5].contains("mask") && rendered[5].contains("postcode"), "{rendered:?}");
}

#[test]
fn validated_values_beat_a_vague_name() {
    let emails = ["ann@example.org", "bo@example.net", "cy@example.com"];
    let c = text_col("contact", &emails);
    let ctx = ctx_for("public.things", std::slice::from_ref(&c));
    let s = suggest(&c, &ctx);
    assert_eq!(rule_of(&s).unwrap().0, "fake");
    assert!(s.why.contains("3 of 3 sampled values are email addresses"), "{}", s.why);
    let ibans = ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"];
    let c = text_col("ref", &ibans);
    assert!(rule_of(&suggest(&c, &ctx)).unwrap().1.contains("iban"));
    // A failing checksum is not an IBAN: no evidence, so no iban rule.
    let c = text_col("ref", &["GB83WEST12345698765432", "DE88370400440532013000"]);
    assert!(!rule_of(&suggest(&c, &ctx)).map(|r| r.1).unwrap_or_default().contains("iban"));
}

#[test]
fn unjudged_columns_are_never_kept() {
    let ctx = TableContext::default();
    // No values at all.
    let s = suggest(&text_col("misc", &[]), &ctx);
    assert!(!s.is_keep() && s.review, "{s:?}");
    // Free-form prose with no finding, in a table scan cannot place.
    let prose = ["the parcel was left by the back door again today", "customer asked us to call back after six please"];
    let s = suggest(&text_col("misc", &prose), &ctx);
    assert_eq!(rule_of(&s).unwrap().0, "redact");
    assert!(s.review);
    // Binary content.
    let s = suggest(&column("blob", DataType::Binary, &[]), &ctx);
    assert_eq!(rule_of(&s).unwrap().0, "null");
    assert!(s.review);
    // Free text named as such, in a table about people.
    let cols = [text_col("surname", &[]), text_col("remarks", &prose)];
    let ctx = ctx_for("public.x", &cols);
    assert_eq!(rule_of(&suggest(&cols[1], &ctx)).unwrap().0, "fake");
    // Text in a table about people that scan cannot judge.
    let codes = ["A7X-22", "Q9Z-13", "B1C-88", "K4L-02"];
    let s = suggest(&text_col("misc", &codes), &ctx);
    assert!(!s.is_keep() && s.review, "{s:?}");
}

#[test]
fn judged_non_personal_columns_are_kept() {
    let ctx = TableContext::default();
    for dt in [DataType::Int32, DataType::Float64, DataType::Boolean, DataType::Decimal128(10, 2)] {
        assert!(suggest(&column("quantity", dt, &[]), &ctx).is_keep());
    }
    let statuses: Vec<&str> = ["paid", "open", "shipped"].iter().cycle().take(30).copied().collect();
    assert!(suggest(&text_col("state_of_play", &statuses), &ctx).is_keep());
    assert!(suggest(&text_col("country", &["France", "Spain"]), &ctx).is_keep());
    assert!(suggest(&column("order_date", DataType::Date32, &[]), &ctx).is_keep());
    let mut id = column("customer_id", DataType::Int64, &[]);
    id.key = Some(KeyRole::PrimaryKey);
    assert!(suggest(&id, &ctx).is_keep());
    // ... but an id that the name says is a national number is not.
    assert!(!suggest(&column("ssn", DataType::Int64, &[]), &ctx).is_keep());
}

#[test]
fn a_suggested_noise_is_never_below_one_unit_of_the_column() {
    let ctx = TableContext::default();
    let rendered = |dt: DataType| rule_of(&suggest(&column("latitude", dt, &[]), &ctx)).unwrap().1;
    assert!(rendered(DataType::Float64).contains("absolute = 0.05"), "{}", rendered(DataType::Float64));
    assert!(rendered(DataType::Decimal128(9, 6)).contains("absolute = 0.05"));
    assert!(
        rendered(DataType::Decimal128(5, 1)).contains("absolute = 0.1"),
        "{}",
        rendered(DataType::Decimal128(5, 1))
    );
    assert!(rendered(DataType::Int32).contains("absolute = 1"), "{}", rendered(DataType::Int32));
    let safe = safe_rule(&Field::new("x", DataType::Decimal128(1, 0), false)).render();
    assert!(safe.contains("absolute = 1"), "{safe}");
}

#[test]
fn birth_dates_by_name_or_by_spread() {
    let ctx = TableContext::default();
    for name in ["birth_date", "Geburtsdatum", "fecha_de_nacimiento", "date_de_naissance", "dob"] {
        let s = suggest(&column(name, DataType::Date32, &[]), &ctx);
        assert_eq!(rule_of(&s).unwrap().0, "noise", "{name}");
    }
    let mut c = column("d", DataType::Date32, &[]);
    let mut e = super::super::evidence::DateEvidence { non_null: 40, birth_range: 40, ..Default::default() };
    e.years.extend(1940..1980);
    c.evidence = Evidence::Date(e);
    // By spread: in a table about people; elsewhere (release dates of albums) it is kept.
    assert!(suggest(&c, &ctx).is_keep());
    let people = TableContext { about_people: Some("the table's name says so".into()), ..Default::default() };
    let s = suggest(&c, &people);
    assert_eq!(rule_of(&s).unwrap().0, "noise");
    assert!(s.review);
}

#[test]
fn counters_and_declared_keys_are_kept_whatever_their_names_say() {
    let ctx = TableContext::default();
    assert!(suggest(&column("login_count", DataType::Int32, &[]), &ctx).is_keep());
    assert!(!suggest(&column("login", DataType::Int32, &[]), &ctx).is_keep());
    let mut card = column("card_id", DataType::Int32, &[]);
    assert!(!suggest(&card, &ctx).is_keep(), "an undeclared card number");
    card.key = Some(KeyRole::PrimaryKey);
    assert!(suggest(&card, &ctx).is_keep());
    card.key = Some(KeyRole::ForeignKey { table: "app.cards".into(), column: "card_id".into(), declared: true });
    assert!(suggest(&card, &ctx).is_keep());
}

#[test]
fn a_city_is_personal_only_next_to_personal_data() {
    let alone = [text_col("city", &["Lyon", "Paris"]), text_col("warehouse_code", &["W1", "W2"])];
    let ctx = ctx_for("public.warehouses", &alone);
    assert!(suggest(&alone[0], &ctx).is_keep());
    let with = [text_col("city", &["Lyon", "Paris"]), text_col("phone", &[])];
    let ctx = ctx_for("public.sites", &with);
    assert!(!suggest(&with[0], &ctx).is_keep());
}

#[test]
fn reasons_never_hold_values() {
    let values = ["alice.secret@example.org", "+44 20 7946 0958", "Siobhan Lewis"];
    let c = text_col("misc", &values);
    let s = suggest(&c, &TableContext::default());
    for v in values {
        assert!(!s.why.contains(v), "{}", s.why);
    }
}

#[test]
fn a_table_that_refers_to_people_is_not_about_them() {
    // Person names found only in the values of a role's column (`director`): transformed,
    // but the film's title, length, genres and synopsis stay.
    let names = ["Martin Scorsese", "Greta Gerwig", "Sofia Coppola", "David Lynch"];
    let director = text_col("director", &names);
    let ctx = ctx_for("public.shows", std::slice::from_ref(&director));
    assert!(ctx.about_people.is_none(), "{ctx:?}");
    assert!(!suggest(&director, &ctx).is_keep());
    let titles: Vec<String> = (0..30).map(|i| format!("The Long Night {i}")).collect();
    let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
    assert!(suggest(&text_col("title", &titles), &ctx).is_keep());
    let lengths: Vec<String> = (0..30).map(|i| format!("{} min", 80 + i)).collect();
    let lengths: Vec<&str> = lengths.iter().map(String::as_str).collect();
    let s = suggest(&text_col("duration", &lengths), &ctx);
    assert!(s.is_keep() && s.why.contains("quantities"), "{s:?}");
    let kinds = ["Dramas", "Comedies", "International Movies", "Thrillers", "Documentaries", "Kids' TV"];
    let mut genres = Vec::new();
    for (i, a) in kinds.iter().enumerate() {
        for (j, b) in kinds.iter().enumerate().skip(i + 1) {
            genres.push(format!("{a}, {b}, {}", kinds[(i + j) % kinds.len()]));
        }
    }
    let genres: Vec<&str> = genres.iter().map(String::as_str).collect();
    let s = suggest(&text_col("listed_in", &genres), &ctx);
    assert!(s.is_keep() && s.why.contains("labels"), "{s:?}");
    let synopses: Vec<String> =
        (0..30).map(|i| format!("A small town faces its past when storm number {i} floods the old mill.")).collect();
    let synopses: Vec<&str> = synopses.iter().map(String::as_str).collect();
    let s = suggest(&text_col("description", &synopses), &ctx);
    assert!(s.is_keep() && s.why.contains("read some values"), "{s:?}");
    // The same synopses under a name that says people write it are not kept.
    assert!(!suggest(&text_col("notes", &synopses), &ctx).is_keep());
    // The head of a compound table name decides: demographics are not people.
    assert!(ctx_for("public.customer_demographics", &[]).about_people.is_none());
    assert!(ctx_for("public.crm_customers", &[]).about_people.is_some());
}

#[test]
fn a_business_name_is_kept_only_where_no_person_is_named() {
    let phone = text_col("phone", &["(503) 555-9831", "(503) 555-3199"]);
    let company = text_col("company_name", &["Speedy Express", "United Package"]);
    let ctx = ctx_for("public.shippers", &[phone.clone(), company.clone()]);
    assert!(suggest(&company, &ctx).is_keep());
    assert!(!suggest(&phone, &ctx).is_keep());
    let contact = text_col("contact_name", &["Ann Devon", "Peter Franken"]);
    let ctx = ctx_for("public.suppliers", &[contact, company.clone()]);
    assert!(!suggest(&company, &ctx).is_keep());
    // Pictures of reference data are kept; elsewhere binary content is not.
    let picture = column("picture", DataType::Binary, &[]);
    assert!(suggest(&picture, &ctx_for("public.categories", std::slice::from_ref(&picture))).is_keep());
    assert!(!suggest(&picture, &ctx_for("public.employees", std::slice::from_ref(&picture))).is_keep());
}

#[test]
fn kept_or_noised_columns_that_narrow_a_person_down_are_suggested_as_quasi_identifiers() {
    let cols = [
        column("id", DataType::Int32, &[]),
        column("date_of_birth", DataType::Date32, &[]),
        text_col("gender", &["f", "m", "f", "m", "f", "m"]),
        column("age", DataType::Int32, &[]),
        text_col("email", &[]),
        column("amount", DataType::Int32, &[]),
    ];
    let ctx = ctx_for("public.customers", &cols);
    assert!(ctx.about_people.is_some());
    let suggested: Vec<(String, Suggestion)> =
        cols.iter().map(|c| (c.field.name().clone(), suggest(c, &ctx))).collect();
    let names = quasi_identifiers(&cols, &ctx, &suggested);
    // The birth date is noised, the age noised, the gender kept; the email gets a fake.
    assert_eq!(names, ["date_of_birth", "gender", "age"], "{suggested:?}");
    // Not about people: none.
    let orders = TableContext::default();
    assert!(quasi_identifiers(&cols, &orders, &suggested).is_empty());
}
