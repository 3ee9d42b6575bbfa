-- A schema written for scan's quality test: what the public samples lack. Several schemas,
-- quoted and German names, citext and expression indexes, enums, domains with CHECKs, arrays,
-- ranges, composites, network and text-search types; tables about people beside tables that
-- only refer to people (albums by artists) or are named after them (customer_segments);
-- counters, durations, genre lists and integer keys whose names sound personal (card_id,
-- login_count); unique NOT NULL birth dates and salaries, which noise cannot keep distinct.
-- Every column is labelled in labels.toml under [hostile."schema.table"].
-- Values are made up; names come from common first names and invented surnames.

CREATE EXTENSION IF NOT EXISTS citext;
CREATE SCHEMA app;
CREATE SCHEMA media;
CREATE SCHEMA hr;
CREATE SCHEMA crm;

CREATE TYPE app.account_status AS ENUM ('active', 'locked', 'closed');
CREATE TYPE app.card_brand AS ENUM ('visa', 'mastercard', 'amex');
CREATE DOMAIN app.percent AS numeric(5, 2) CHECK (VALUE BETWEEN 0 AND 100);
CREATE TYPE media.credit AS (role text, position int);

CREATE TABLE app.accounts (
    account_id serial PRIMARY KEY,
    login citext NOT NULL UNIQUE,
    e_mail citext NOT NULL,
    "displayName" text,
    login_count integer NOT NULL DEFAULT 0,
    last_login_ip inet,
    device_mac macaddr,
    signed_up timestamptz NOT NULL,
    birthday date,
    search tsvector,
    prefs jsonb,
    tags text[],
    status app.account_status NOT NULL,
    discount app.percent
);
CREATE UNIQUE INDEX accounts_email_lower ON app.accounts (lower(e_mail));

CREATE TABLE app.cards (
    card_id serial PRIMARY KEY,
    account_id integer NOT NULL REFERENCES app.accounts,
    card_number text NOT NULL,
    holder text NOT NULL,
    brand app.card_brand NOT NULL,
    valid_during daterange
);

CREATE TABLE app.card_events (
    event_id bigserial PRIMARY KEY,
    card_id integer NOT NULL REFERENCES app.cards,
    amount money NOT NULL,
    happened_at timestamptz NOT NULL,
    attempts smallint NOT NULL
);

CREATE TABLE media.albums (
    album_id serial PRIMARY KEY,
    title text NOT NULL,
    artist text NOT NULL,
    running_time interval,
    length_label text,
    genres text,
    released date,
    credits media.credit[],
    rating numeric(3, 1)
);

CREATE TABLE hr."Mitarbeiter" (
    "PersonalNr" integer PRIMARY KEY,
    "Vorname" text NOT NULL,
    "Nachname" text NOT NULL,
    "Straße" text,
    "PLZ" varchar(5),
    "Geburtsdatum" date NOT NULL UNIQUE,
    "Gehalt" numeric(10, 2) NOT NULL UNIQUE,
    "Abteilung" text
);

CREATE TABLE crm.customer_segments (
    segment_id integer PRIMARY KEY,
    segment_name text NOT NULL,
    description text
);

-- Invented surnames: two syllables from lists that make no common word.
CREATE FUNCTION pg_temp.surname(g int) RETURNS text LANGUAGE sql AS $$
    SELECT (ARRAY['Brom', 'Quil', 'Thorn', 'Vex', 'Ash', 'Marl', 'Dun', 'Fair', 'Holl', 'Kest'])[g % 10 + 1]
        || (ARRAY['wick', 'ton', 'bury', 'stead', 'field', 'more', 'combe', 'ridge', 'ley'])[(g / 10) % 9 + 1]
$$;
CREATE FUNCTION pg_temp.first_name(g int) RETURNS text LANGUAGE sql AS $$
    SELECT (ARRAY['Anna', 'Bruno', 'Clara', 'David', 'Elena', 'Frank', 'Greta', 'Hugo', 'Irene', 'James',
                  'Karen', 'Laura', 'Maria', 'Peter', 'Sofia', 'Thomas'])[g % 16 + 1]
$$;
-- A 16-digit number passing the Luhn check (4 + 14 digits from g + check digit).
CREATE FUNCTION pg_temp.card(g int) RETURNS text LANGUAGE sql AS $$
    WITH d AS (SELECT '4' || lpad((g * 7919)::text, 14, '3') AS body),
         s AS (SELECT sum(CASE WHEN (15 - i) % 2 = 0
                               THEN (substr(body, i, 1)::int * 2) % 10 + (substr(body, i, 1)::int * 2) / 10
                               ELSE substr(body, i, 1)::int END) AS total
               FROM d, generate_series(1, 15) i)
    SELECT body || ((10 - total % 10) % 10)::text FROM d, s
$$;

INSERT INTO app.accounts (login, e_mail, "displayName", login_count, last_login_ip, device_mac, signed_up,
                          birthday, search, prefs, tags, status, discount)
SELECT lower(pg_temp.first_name(g)) || '_' || lower(pg_temp.surname(g)) || g,
       pg_temp.first_name(g) || '.' || pg_temp.surname(g) || g || '@example.net',
       pg_temp.first_name(g) || ' ' || pg_temp.surname(g),
       (g * 37) % 500,
       ('10.' || g % 200 || '.' || g % 7 || '.' || g % 250 + 1)::inet,
       ('08:00:2b:01:' || lpad(to_hex(g % 256), 2, '0') || ':' || lpad(to_hex(g * 3 % 256), 2, '0'))::macaddr,
       timestamptz '2021-01-01 00:00+00' + g * interval '7 hours',
       date '1950-01-01' + (g * 193) % 18000,
       to_tsvector('english', pg_temp.first_name(g) || ' ' || pg_temp.surname(g)),
       jsonb_build_object('theme', (ARRAY['dark', 'light'])[g % 2 + 1], 'phone', '+44 20 7946 ' || lpad(g::text, 4, '0')),
       ARRAY[(ARRAY['beta', 'newsletter', 'vip'])[g % 3 + 1], 'mobile'],
       (ARRAY['active', 'locked', 'closed'])[g % 3 + 1]::app.account_status,
       (g % 20) * 2.5
FROM generate_series(1, 240) g;

INSERT INTO app.cards (account_id, card_number, holder, brand, valid_during)
SELECT g, pg_temp.card(g), upper(pg_temp.first_name(g) || ' ' || pg_temp.surname(g)),
       (ARRAY['visa', 'mastercard', 'amex'])[g % 3 + 1]::app.card_brand,
       daterange(date '2024-01-01' + g, date '2028-01-01' + g)
FROM generate_series(1, 200) g;

INSERT INTO app.card_events (card_id, amount, happened_at, attempts)
SELECT g % 200 + 1, ((g * 13) % 9000 / 100.0)::numeric::money,
       timestamptz '2025-01-01 00:00+00' + g * interval '53 minutes', (g % 3 + 1)::smallint
FROM generate_series(1, 800) g;

INSERT INTO media.albums (title, artist, running_time, length_label, genres, released, credits, rating)
SELECT (ARRAY['Northern', 'Quiet', 'Electric', 'Paper', 'Golden', 'Hollow', 'Silver', 'Broken'])[g % 8 + 1] || ' '
           || (ARRAY['Lights', 'Rivers', 'Hours', 'Hearts', 'Roads', 'Skies', 'Echoes'])[g % 7 + 1]
           || CASE WHEN g > 56 THEN ' ' || (g / 56 + 1) ELSE '' END,
       pg_temp.first_name(g * 3) || ' ' || pg_temp.surname(g * 7),
       make_interval(mins => 30 + g % 40, secs => g % 60),
       (30 + g % 40) || ' min',
       (ARRAY['Rock', 'Pop', 'Jazz', 'Folk', 'Soul', 'Blues'])[g % 6 + 1] || ', '
           || (ARRAY['Indie', 'Electronic', 'Acoustic', 'Live'])[g % 4 + 1],
       date '1970-01-01' + g * 97,
       ARRAY[ROW('producer', 1)::media.credit, ROW('engineer', 2)::media.credit],
       (g % 50) / 10.0
FROM generate_series(1, 120) g;

INSERT INTO hr."Mitarbeiter"
SELECT 1000 + g, pg_temp.first_name(g * 5), pg_temp.surname(g * 11),
       (ARRAY['Lindenweg', 'Gartenstraße', 'Bergstraße', 'Am Markt'])[g % 4 + 1] || ' ' || g,
       lpad(((g * 7919) % 90000 + 10000)::text, 5, '0'),
       date '1960-01-01' + (g * 211) % 15000,
       30000 + (g * 1237) % 50000,
       (ARRAY['Einkauf', 'Vertrieb', 'Technik', 'Personal'])[g % 4 + 1]
FROM generate_series(1, 60) g;

INSERT INTO crm.customer_segments VALUES
    (1, 'Bargain hunters', 'Customers who buy mostly during sales and respond to discount codes.'),
    (2, 'Loyal regulars', 'Customers with more than ten orders a year and a low return rate.'),
    (3, 'New arrivals', 'Customers whose first order was placed within the last ninety days.'),
    (4, 'Lapsed', 'Customers without an order in the last eighteen months.');
