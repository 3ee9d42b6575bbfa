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
source scripts/lib_pg.sh
pg_start doppel-bench-pg
psql -qXc "CREATE DATABASE bench"
make_customers bench "$rows"
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
