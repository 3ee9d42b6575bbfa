#!/usr/bin/env bash
# PostgreSQL → PostgreSQL and PostgreSQL → Parquet throughput against PostgreSQL's own copy,
# measured in the same run on a throwaway server (a first, rough version of issue 5's
# benchmark).
#
#   bash scripts/bench_pg.sh [ROWS] [REPETITIONS]      (defaults: 1000000, 3)
#
# Creates a 14-column customers table of ROWS rows, then for each repetition times:
#   raw       createdb + pg_dump --section=pre-data | psql + COPY binary pipe + post-data
#   keep      doppel run, every column kept, into a new database
#   anon      doppel run, 10 columns transformed (fake, template unique, mask, noise, redact)
#   parquet   doppel run, same anonymisation, to Parquet
# and prints each time with its ratio to raw (throughput ratio = raw time / doppel time).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rows=${1:-1000000}
reps=${2:-3}
bin=$(pg_config --bindir)
work=$(mktemp -d /tmp/doppel-bench-pg.XXXXXX)
port=$((20000 + RANDOM % 20000))
as_pg=()
if [ "$(id -u)" = 0 ]; then chown postgres "$work"; as_pg=(runuser -u postgres --); fi
cleanup() { "${as_pg[@]}" "$bin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
"${as_pg[@]}" "$bin/initdb" -D "$work/data" --auth=trust -U postgres >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -D "$work/data" -o "-p $port -k $work -c fsync=off -c synchronous_commit=off" \
  -l "$work/log" -w start >/dev/null
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
url=postgres://postgres@127.0.0.1:$port
psql -qXc "CREATE DATABASE bench"
psql -qX -d bench <<SQL
CREATE TABLE customers AS SELECT g::bigint AS id, 'First'||(g%997) AS first_name, 'Last'||(g%1999) AS last_name,
  'user'||g||'@mail.example.com' AS email, '+44 20 '||lpad((g%100000000)::text,8,'0') AS phone,
  date '1950-01-01' + (g%20000) AS date_of_birth, (g%300)||' Main Street' AS street, 'City'||(g%500) AS city,
  lpad((g%99999)::text,5,'0') AS postcode, 'DE'::text AS country,
  timestamptz '2025-01-01' - (g||' minutes')::interval AS created_at,
  md5(g::text)||md5((g+1)::text)||' notes, call +44 20 7946 '||lpad((g%10000)::text,4,'0') AS notes,
  (g%10000)::int AS loyalty_points, ((g%100000)/100.0)::numeric(12,2) AS balance
FROM generate_series(1, $rows) g;
ALTER TABLE customers ADD PRIMARY KEY (id);
VACUUM ANALYZE customers;
SQL
keep="$work/keep.toml"; anon="$work/anon.toml"
cat > "$keep" <<'TOML'
version = 1
[tables."public.customers"]
keep = ["id","first_name","last_name","email","phone","date_of_birth","street","city","postcode","country","created_at","notes","loyalty_points","balance"]
TOML
cat > "$anon" <<'TOML'
version = 1
[tables."public.customers"]
keep = ["country","created_at","loyalty_points","city"]
[tables."public.customers".columns]
id = { action = "hash", domain = "customer_id" }
first_name = { action = "fake", generator = "first_name" }
last_name = { action = "fake", generator = "last_name" }
email = { action = "template", template = "{first_name|slug}.{last_name|slug}@example.com", unique = true }
phone = { action = "mask", format_preserving = true, keep_first = 3 }
date_of_birth = { action = "noise", duration = "180d" }
street = { action = "fake", generator = "street_address" }
postcode = { action = "fake", generator = "postcode" }
notes = { action = "redact" }
balance = { action = "noise", absolute = 25 }
TOML
key="$work/key"; printf 'bench-key-not-secret-0123456789abcdef\n' > "$key"; chmod 600 "$key"
cargo build --release --quiet
doppel=target/release/doppel
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
raw() {
  psql -qXc "DROP DATABASE IF EXISTS raw_t" -c "CREATE DATABASE raw_t"
  pg_dump --schema-only --section=pre-data bench | psql -qX -d raw_t
  psql -qX -d bench -c "COPY customers TO STDOUT (FORMAT binary)" | psql -qX -d raw_t -c "COPY customers FROM STDIN (FORMAT binary)"
  pg_dump --schema-only --section=post-data bench | psql -qX -d raw_t
}
to_db() { psql -qXc "DROP DATABASE IF EXISTS $2"; "$doppel" run --quiet --rules "$1" --from "$url/bench" --to "$url/$2" --key-file "$key"; }
to_parquet() { "$doppel" run --quiet --replace --rules "$anon" --from "$url/bench" --to "$work/out" --key-file "$key"; }
echo "rows: $rows, cores: $(nproc), $(psql -qXtAc 'SHOW server_version')"
for i in $(seq "$reps"); do
  r=$(secs raw); k=$(secs to_db "$keep" keep_t); a=$(secs to_db "$anon" anon_t); p=$(secs to_parquet)
  printf 'run %d: raw %.2fs | keep %.2fs (%.2fx) | anon %.2fs (%.2fx) | anon->parquet %.2fs (%.2fx)\n' \
    "$i" "$r" "$k" "$(echo "$r / $k" | bc -l)" "$a" "$(echo "$r / $a" | bc -l)" "$p" "$(echo "$r / $p" | bc -l)"
done
