-- The end-to-end benchmark's source database (issue 5): customers and orders of realistic
-- shape, generated in SQL, reproducible.
--
--   psql -X -v ON_ERROR_STOP=1 -d bench -v customers=1000000 -v orders=3000000 \
--        -v seed=doppel-bench-1 -f scripts/bench/fixture.sql
--
-- Every variable is optional (the defaults are shown). Run it in an empty database: it
-- drops and recreates public.customers and public.orders.
--
-- Reproducible: no random(). Every value is a pure function of (seed, row number) through
-- md5, so the same variables give the same rows on any run, machine or PostgreSQL version;
-- change `seed` for other content of the same shape. The helper functions live in pg_temp
-- and vanish with the session, so the database holds the two tables and nothing else.
--
-- Content: European customers (DE, FR, ES, AT, BE, CH) with names from word lists, emails
-- built from the names (unique: they carry the row number), phone numbers in the country's
-- format, street addresses, postcodes and cities that match the country, IBANs with a valid
-- mod-97 checksum, and notes of about 100 characters, some of them holding an email, a
-- phone number, an IBAN or a name (what `redact` must find). Orders belong to random
-- customers and mostly ship to the customer's own address.

\set ON_ERROR_STOP 1
\if :{?customers}
\else
  \set customers 1000000
\endif
\if :{?orders}
\else
  \set orders 3000000
\endif
\if :{?seed}
\else
  \set seed doppel-bench-1
\endif

SET client_min_messages = warning;
SET TimeZone = 'UTC';

DROP TABLE IF EXISTS public.orders, public.customers;

CREATE TABLE public.customers (
    id             bigint NOT NULL,
    first_name     text NOT NULL,
    last_name      text NOT NULL,
    email          text NOT NULL,
    phone          text,
    date_of_birth  date,
    street         text,
    city           text,
    postcode       text,
    country        text NOT NULL,
    iban           text,
    created_at     timestamptz NOT NULL,
    notes          text,
    loyalty_points integer NOT NULL
);

CREATE TABLE public.orders (
    id               bigint NOT NULL,
    customer_id      bigint NOT NULL,
    amount           numeric(12,2) NOT NULL,
    status           text NOT NULL,
    shipping_address text,
    created_at       timestamptz NOT NULL
);

-- Room for the hash joins and the sort of the orders below.
SET work_mem = '256MB';

-- Helpers, each one SQL expression so that the planner inlines it (no per-call overhead).
-- A number 0 .. 2^32-1 from 8 hex digits of an md5 at pos (1, 9, 17 or 25: independent).
CREATE FUNCTION pg_temp.n(h text, pos integer) RETURNS bigint
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT ('x' || substr(h, pos, 8))::bit(32)::bigint $$;

-- The element of arr chosen by the number k.
CREATE FUNCTION pg_temp.pick(arr text[], k bigint) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT arr[1 + (k % cardinality(arr))::integer] $$;

-- Lowercase ASCII letters only, accents folded, for email local parts (lower() alone
-- leaves non-ASCII letters as they are under the C locale).
CREATE FUNCTION pg_temp.slug(s text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT regexp_replace(lower(translate(replace(s, 'ß', 'ss'),
        'ÄÖÜÉäöüéèêëàâçñíìóòúùïîôø', 'AOUEaoueeeeaacniioouuiioo')), '[^a-z]', '', 'g') $$;

-- The IBAN of a two-letter country code and an all-digit BBAN: valid mod-97 check digits.
CREATE FUNCTION pg_temp.iban(country text, bban text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT country || lpad((98 - ((bban || (ascii(substr(country, 1, 1)) - 55)
        || (ascii(substr(country, 2, 1)) - 55) || '00')::numeric % 97))::text, 2, '0') || bban $$;

-- Customers. Each level is fenced (OFFSET 0) so that its columns are computed once per row.
-- Countries: 1 DE 40 %, 2 FR 20 %, 3 ES 15 %, 4 AT 10 %, 5 BE 8 %, 6 CH 7 %.
INSERT INTO public.customers
SELECT
    id,
    first_name,
    last_name,
    CASE email_style
        WHEN 0 THEN pg_temp.slug(first_name) || '.' || pg_temp.slug(last_name)
        WHEN 1 THEN left(pg_temp.slug(first_name), 1) || '.' || pg_temp.slug(last_name)
        ELSE pg_temp.slug(first_name) || '_' || pg_temp.slug(last_name)
    END || id || '@' || email_domain,
    phone,
    date_of_birth,
    street,
    city,
    postcode,
    country,
    iban,
    created_at,
    CASE note_kind
        WHEN 0 THEN format('Called about the delivery of order %s; prefers email to %s. Follow up by Friday.',
            order_no, pg_temp.slug(first_name) || '.' || pg_temp.slug(last_name) || '@example.net')
        WHEN 1 THEN format('Asked for a copy of the last invoice. Call back on %s between 9 and 17, not at weekends.', phone)
        WHEN 2 THEN format('Refund for the damaged parcel paid to IBAN %s; the customer accepted a voucher too.',
            refund_iban)
        WHEN 3 THEN format('Met %s %s at the trade fair; interested in the loyalty programme and the new catalogue.',
            first_name, last_name)
        WHEN 4 THEN 'No special instructions. Leave parcels with the neighbour if nobody answers the door bell.'
        WHEN 5 THEN format('Loyal customer since %s. Always ships express; complained once about the packaging quality.',
            extract(year FROM created_at))
        WHEN 6 THEN 'Prefers invoices on paper. Wrong size returned twice in spring; offered free returns for a year.'
        ELSE NULL
    END,
    loyalty_points
FROM (
    SELECT
        id, first_name, last_name, email_style, email_domain, date_of_birth, created_at, note_kind, order_no,
        loyalty_points,
        '+' || (ARRAY['49', '33', '34', '43', '32', '41'])[c] || ' ' || (ARRAY['30', '6', '91', '1', '2', '44'])[c]
            || CASE WHEN phone_area = 0 THEN '' ELSE phone_area::text END || ' ' || lpad(phone_number::text, 7, '0') AS phone,
        CASE WHEN c = 2 THEN street_no || ' ' || street_name ELSE street_name || ' ' || street_no END AS street,
        (ARRAY[
            ARRAY['Berlin', 'Hamburg', 'München', 'Köln', 'Frankfurt am Main', 'Leipzig', 'Dresden', 'Stuttgart'],
            ARRAY['Paris', 'Lyon', 'Marseille', 'Toulouse', 'Nantes', 'Lille', 'Bordeaux', 'Strasbourg'],
            ARRAY['Madrid', 'Barcelona', 'Valencia', 'Sevilla', 'Bilbao', 'Zaragoza', 'Málaga', 'Granada'],
            ARRAY['Wien', 'Graz', 'Linz', 'Salzburg', 'Innsbruck', 'Klagenfurt', 'Villach', 'Wels'],
            ARRAY['Bruxelles', 'Antwerpen', 'Gent', 'Liège', 'Brugge', 'Namur', 'Leuven', 'Mons'],
            ARRAY['Zürich', 'Genève', 'Basel', 'Bern', 'Lausanne', 'Luzern', 'Lugano', 'St. Gallen']
        ])[c][1 + (city_k % 8)::integer] AS city,
        -- five digits in DE, FR and ES, four in AT, BE and CH
        CASE WHEN c <= 3 THEN lpad((1000 + postcode_k % 98000)::text, 5, '0') ELSE (1000 + postcode_k % 9000)::text END
            AS postcode,
        country,
        CASE WHEN has_iban THEN pg_temp.iban(country, bban) END AS iban,
        pg_temp.iban(country, refund_bban) AS refund_iban
    FROM (
        SELECT
            id, c, first_name, last_name, email_style, email_domain, phone_area, phone_number, date_of_birth,
            created_at, has_iban, note_kind, order_no, loyalty_points, street_no, city_k, postcode_k,
            (ARRAY['DE', 'FR', 'ES', 'AT', 'BE', 'CH'])[c] AS country,
            (ARRAY[
                ARRAY['Hauptstraße', 'Bahnhofstraße', 'Gartenweg', 'Schulstraße', 'Lindenallee', 'Bergstraße', 'Friedrichstraße', 'Am Markt'],
                ARRAY['rue de la Paix', 'avenue Victor Hugo', 'rue du Moulin', 'boulevard Voltaire', 'rue des Lilas', 'place de la Gare', 'rue Pasteur', 'allée des Tilleuls'],
                ARRAY['Calle Mayor', 'Avenida de la Constitución', 'Calle del Sol', 'Paseo de Gracia', 'Calle Real', 'Plaza de España', 'Calle de Alcalá', 'Camino Viejo'],
                ARRAY['Hauptplatz', 'Wiener Straße', 'Kirchengasse', 'Mariahilfer Straße', 'Ringstraße', 'Lindengasse', 'Schlossberg', 'Dorfplatz'],
                ARRAY['Rue Neuve', 'Grote Markt', 'Avenue Louise', 'Kerkstraat', 'Stationsstraat', 'Rue Royale', 'Molenstraat', 'Chaussée de Wavre'],
                ARRAY['Bahnhofstrasse', 'Dorfstrasse', 'Rue du Rhône', 'Seestrasse', 'Kirchweg', 'Via Nassa', 'Marktgasse', 'Chemin des Vignes']
            ])[c][1 + (street_k % 8)::integer] AS street_name,
            -- BBAN lengths: DE 18, FR 23, ES 20, AT 16, BE 12, CH 17 digits
            left(bban_digits, (ARRAY[18, 23, 20, 16, 12, 17])[c]) AS bban,
            left(refund_digits, (ARRAY[18, 23, 20, 16, 12, 17])[c]) AS refund_bban
        FROM (
            SELECT
                id,
                1 + width_bucket(pg_temp.n(a, 1) % 100, ARRAY[40, 60, 75, 85, 93]) AS c,
                pg_temp.pick(ARRAY['Anna', 'Lukas', 'Marie', 'Jonas', 'Sophie', 'Felix', 'Lea', 'Maximilian',
                    'Hannah', 'Paul', 'Camille', 'Louis', 'Chloé', 'Hugo', 'Léa', 'Gabriel', 'Manon', 'Arthur',
                    'Lucía', 'Martina', 'Pablo', 'Sofía', 'Alejandro', 'Valentina', 'Daniel', 'Elena', 'Javier',
                    'Emma', 'Noah', 'Julia', 'Elias', 'Laura', 'Tobias', 'Lena', 'David', 'Sarah', 'Simon', 'Nina',
                    'Matteo', 'Giulia', 'Luca', 'Eva', 'Thomas', 'Anja', 'Jan', 'Inès', 'Théo', 'Zoë', 'Jürgen',
                    'Björn', 'Renée', 'Søren', 'Amélie', 'Niklas', 'Clara', 'Mia', 'Leon', 'Olivia', 'Finn',
                    'Charlotte', 'Ben', 'Isabel', 'Marco', 'Jeanne'], pg_temp.n(a, 9)) AS first_name,
                pg_temp.pick(ARRAY['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner',
                    'Becker', 'Hoffmann', 'Schäfer', 'Koch', 'Richter', 'Martin', 'Bernard', 'Dubois', 'Thomas',
                    'Robert', 'Richard', 'Petit', 'Durand', 'Lefèvre', 'Moreau', 'García', 'Fernández', 'González',
                    'Rodríguez', 'López', 'Martínez', 'Sánchez', 'Pérez', 'Gruber', 'Huber', 'Bauer', 'Pichler',
                    'Steiner', 'Peeters', 'Janssens', 'Maes', 'Jacobs', 'Mertens', 'Willems', 'Claes', 'Goossens',
                    'Dupont', 'Lambert', 'Meier', 'Keller', 'Brunner', 'Baumann', 'Frei', 'Zimmermann', 'Moser',
                    'Rossi', 'Bianchi', 'Weiß', 'Krüger', 'Öztürk', 'Nowak', 'Kowalski', 'van der Berg', 'de Vries',
                    'Van Damme', 'Le Gall', 'Fontaine'], pg_temp.n(a, 17)) AS last_name,
                pg_temp.n(a, 25) % 3 AS email_style,
                pg_temp.pick(ARRAY['gmail.com', 'web.de', 'gmx.de', 't-online.de', 'orange.fr', 'free.fr',
                    'outlook.com', 'hotmail.com', 'yahoo.es', 'icloud.com', 'proton.me', 'bluewin.ch'],
                    pg_temp.n(b, 1)) AS email_domain,
                pg_temp.n(b, 9) % 10 AS phone_area,
                pg_temp.n(b, 17) % 10000000 AS phone_number,
                date '1940-01-01' + (pg_temp.n(b, 25) % 25000)::integer AS date_of_birth,
                timestamptz '2015-01-01 00:00:00+00' + make_interval(secs => pg_temp.n(c, 1) % 315360000) AS created_at,
                pg_temp.n(c, 9) % 10 <> 0 AS has_iban,
                pg_temp.n(c, 17) % 8 AS note_kind,
                100000 + pg_temp.n(c, 25) % 900000 AS order_no,
                lpad((pg_temp.n(d, 1) % 1000000000)::text, 9, '0') || lpad((pg_temp.n(d, 9) % 1000000000)::text, 9, '0')
                    || lpad((pg_temp.n(d, 17) % 100000)::text, 5, '0') AS bban_digits,
                ((pg_temp.n(d, 25) % 100) ^ 2 / 2)::integer AS loyalty_points,
                lpad((pg_temp.n(e, 1) % 1000000000)::text, 9, '0') || lpad((pg_temp.n(e, 9) % 1000000000)::text, 9, '0')
                    || lpad((pg_temp.n(e, 17) % 100000)::text, 5, '0') AS refund_digits,
                1 + pg_temp.n(e, 25) % 180 AS street_no,
                pg_temp.n(f, 1) AS street_k,
                pg_temp.n(f, 9) AS city_k,
                pg_temp.n(f, 17) AS postcode_k
            FROM (
                SELECT id, md5(:'seed' || ':1:' || id) AS a, md5(:'seed' || ':2:' || id) AS b,
                    md5(:'seed' || ':3:' || id) AS c, md5(:'seed' || ':4:' || id) AS d,
                    md5(:'seed' || ':5:' || id) AS e, md5(:'seed' || ':6:' || id) AS f
                FROM generate_series(1, :customers::bigint) AS id
                OFFSET 0
            ) hashes
            OFFSET 0
        ) draws
        OFFSET 0
    ) parts
    OFFSET 0
) composed;

ALTER TABLE public.customers ADD CONSTRAINT customers_pkey PRIMARY KEY (id);
ALTER TABLE public.customers ADD CONSTRAINT customers_email_key UNIQUE (email);

-- Orders: a random customer each, placed after the customer signed up, amounts from 5.00 to
-- 1004.99, shipped to the customer's own address (15 % to another customer's: a gift).
INSERT INTO public.orders
SELECT
    o.id,
    o.customer_id,
    o.amount,
    CASE WHEN o.k < 55 THEN 'delivered' WHEN o.k < 70 THEN 'shipped' WHEN o.k < 80 THEN 'paid'
         WHEN o.k < 88 THEN 'pending' WHEN o.k < 95 THEN 'cancelled' ELSE 'refunded' END,
    ship.street || ', ' || ship.postcode || ' ' || ship.city,
    date_trunc('second', buyer.created_at + (timestamptz '2025-07-01 00:00:00+00' - buyer.created_at) * o.fraction)
FROM (
    SELECT
        id,
        1 + pg_temp.n(a, 1) % :customers::bigint AS customer_id,
        (500 + pg_temp.n(a, 9) % 100000) / 100.0 AS amount,
        pg_temp.n(a, 17) % 100 AS k,
        CASE WHEN pg_temp.n(a, 25) % 100 < 15 THEN 1 + pg_temp.n(b, 1) % :customers::bigint
             ELSE 1 + pg_temp.n(a, 1) % :customers::bigint END AS ship_to,
        (pg_temp.n(b, 9) % 10001) / 10000.0 AS fraction
    FROM (
        SELECT id, md5(:'seed' || ':order1:' || id) AS a, md5(:'seed' || ':order2:' || id) AS b
        FROM generate_series(1, :orders::bigint) AS id
        OFFSET 0
    ) hashes
    OFFSET 0
) o
JOIN public.customers buyer ON buyer.id = o.customer_id
JOIN public.customers ship ON ship.id = o.ship_to
ORDER BY o.id;

ALTER TABLE public.orders ADD CONSTRAINT orders_pkey PRIMARY KEY (id);
ALTER TABLE public.orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers (id);
CREATE INDEX orders_customer_id_idx ON public.orders (customer_id);

VACUUM (FREEZE, ANALYZE) public.customers, public.orders;
