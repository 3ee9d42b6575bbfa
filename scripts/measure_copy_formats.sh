#!/usr/bin/env bash
# PostgreSQL's own cost of COPY in text format against binary format, on both sides of a
# copy, to decide which format doppel's PostgreSQL source and target should speak (issue 3,
# point 1). Measures the server (and psql moving the bytes), not doppel.
#
#   bash scripts/measure_copy_formats.sh [ROWS] [REPETITIONS]      (defaults: 1000000, 3)
#
# On a throwaway server (scripts/lib_pg.sh), with two tables of ROWS rows: `customers`, the
# mostly-text 14-column table of scripts/lib_pg.sh (make_customers), and `typed`, numbers and times whose text
# forms cost the most to print and parse (bigint, double, numeric(12,2), timestamptz, date,
# uuid, int[]). For each table, each repetition times:
#   out text     COPY t TO STDOUT                    > /dev/null
#   out binary   COPY t TO STDOUT (FORMAT binary)    > /dev/null
#   in text      COPY t_in FROM STDIN                < the text dump
#   in binary    COPY t_in FROM STDIN (FORMAT binary) < the binary dump
# t_in has the same columns and no index (doppel loads before post-data too) and is emptied
# before every load, outside the timing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rows=${1:-1000000}
reps=${2:-3}
source scripts/lib_pg.sh
pg_start doppel-copy-formats
psql -qXc "CREATE DATABASE bench"
make_customers bench "$rows"
psql -qX -d bench <<SQL
CREATE TABLE typed AS SELECT g::bigint AS id, g * 1.000001::float8 AS ratio, (g % 100000 / 100.0)::numeric(12,2) AS amount,
  timestamptz '2020-01-01' + g * interval '1 second' AS at, date '2000-01-01' + g % 9000 AS day,
  md5(g::text)::uuid AS ref, ARRAY[g % 7, g % 11, g % 13]::int[] AS codes
FROM generate_series(1, $rows) g;
SQL
copy_out() { psql -qX -d bench -c "COPY $1 TO STDOUT $2" > /dev/null; }
copy_in() { psql -qX -d bench -c "COPY $1_in FROM STDIN $2" < "$3"; }
empty() { psql -qX -d bench -c "TRUNCATE $1_in" >/dev/null; }
echo "rows: $rows, cores: $(nproc), $(psql -qXtAc 'SHOW server_version')"
for t in customers typed; do
  psql -qX -d bench -c "CREATE TABLE ${t}_in (LIKE $t)"
  copy_out "$t" "" > /dev/null; psql -qX -d bench -c "COPY $t TO STDOUT" > "$work/$t.txt"
  psql -qX -d bench -c "COPY $t TO STDOUT (FORMAT binary)" > "$work/$t.bin"
  echo "$t: text $(stat -c %s "$work/$t.txt") bytes, binary $(stat -c %s "$work/$t.bin") bytes"
  for i in $(seq "$reps"); do
    ot=$(secs copy_out "$t" ""); ob=$(secs copy_out "$t" "(FORMAT binary)")
    empty "$t"; it=$(secs copy_in "$t" "" "$work/$t.txt")
    empty "$t"; ib=$(secs copy_in "$t" "(FORMAT binary)" "$work/$t.bin")
    printf '  run %d: out text %.2fs | out binary %.2fs (%.2fx) | in text %.2fs | in binary %.2fs (%.2fx)\n' \
      "$i" "$ot" "$ob" "$(echo "$ot / $ob" | bc -l)" "$it" "$ib" "$(echo "$it / $ib" | bc -l)"
  done
done
echo "(ratios: text time / binary time; above 1 means binary is faster)"
