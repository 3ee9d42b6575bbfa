#!/usr/bin/env bash
# PostgreSQL's own cost of COPY in text format against binary format, on both sides of a
# copy, to decide which format doppel's PostgreSQL source and target should speak (issue 3,
# point 1). Measures the server (and psql moving the bytes), not doppel.
#
#   bash scripts/measure_copy_formats.sh [ROWS] [REPETITIONS]      (defaults: 1000000, 3)
#
# On a throwaway server (scripts/lib_pg.sh), with the 14-column customers table of
# scripts/bench_pg.sh, each repetition times:
#   out text     COPY customers TO STDOUT                    > /dev/null
#   out binary   COPY customers TO STDOUT (FORMAT binary)    > /dev/null
#   in text      COPY customers_in FROM STDIN                < the text dump
#   in binary    COPY customers_in FROM STDIN (FORMAT binary) < the binary dump
# customers_in has the same columns and no index (doppel loads before post-data too) and is
# emptied before every load, outside the timing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rows=${1:-1000000}
reps=${2:-3}
source scripts/lib_pg.sh
pg_start doppel-copy-formats
psql -qXc "CREATE DATABASE bench"
make_customers bench "$rows"
psql -qX -d bench -c "CREATE TABLE customers_in (LIKE customers)"
psql -qX -d bench -c "COPY customers TO STDOUT" > "$work/customers.txt"
psql -qX -d bench -c "COPY customers TO STDOUT (FORMAT binary)" > "$work/customers.bin"
copy_out() { psql -qX -d bench -c "COPY customers TO STDOUT $1" > /dev/null; }
copy_in() { psql -qX -d bench -c "COPY customers_in FROM STDIN $1" < "$2"; }
empty() { psql -qX -d bench -c "TRUNCATE customers_in" >/dev/null; }
echo "rows: $rows, cores: $(nproc), $(psql -qXtAc 'SHOW server_version')"
echo "bytes: text $(stat -c %s "$work/customers.txt"), binary $(stat -c %s "$work/customers.bin")"
for i in $(seq "$reps"); do
  ot=$(secs copy_out ""); ob=$(secs copy_out "(FORMAT binary)")
  empty; it=$(secs copy_in "" "$work/customers.txt")
  empty; ib=$(secs copy_in "(FORMAT binary)" "$work/customers.bin")
  printf 'run %d: out text %.2fs | out binary %.2fs (%.2fx) | in text %.2fs | in binary %.2fs (%.2fx)\n' \
    "$i" "$ot" "$ob" "$(echo "$ot / $ob" | bc -l)" "$it" "$ib" "$(echo "$it / $ib" | bc -l)"
done
echo "(ratios: text time / binary time; above 1 means binary is faster)"
