#!/usr/bin/env bash
# End-to-end throughput of the main job on a large shop input (Parquet -> Parquet).
#
#   bash scripts/bench_e2e.sh [CUSTOMERS] [REPETITIONS]     (defaults: 1000000, 3)
#
# Generates the input once with fixtures/shop/make_shop.py (cached under target/bench-input),
# builds doppel in release mode, runs the shop rules REPETITIONS times, and prints, per run and
# as the median: wall time, rows/s, CPU time (user+sys) and peak RSS. Needs pyarrow for the
# generator (scripts/test.sh installs it into target/pyenv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

customers=${1:-1000000}
reps=${2:-3}
python=${DOPPEL_PYTHON:-target/pyenv/bin/python}
[ -x "$python" ] || python=python3
input="target/bench-input/shop-$customers"
output="target/bench-output/shop-$customers"

if [ ! -f "$input/public.customers.parquet" ]; then
  echo "generating $customers customers into $input" >&2
  "$python" fixtures/shop/make_shop.py --out "$input" --customers "$customers" >&2
fi
cargo build --release --quiet
key=$(mktemp)
chmod 600 "$key"
printf 'bench-key-not-secret-0123456789abcdef\n' > "$key"
trap 'rm -f "$key"' EXIT

results=()
for i in $(seq "$reps"); do
  log=$(mktemp)
  /usr/bin/time -f '%e %U %S %M' -o "$log.time" target/release/doppel run --quiet --replace \
    --rules rules/shop.toml --from "$input" --to "$output" --key-file "$key" 2> "$log"
  rows=$(grep -o 'done: [0-9]*' "$log" | grep -o '[0-9]*')
  read -r wall user sys rss < "$log.time"
  line=$(awk -v r="$rows" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" \
    'BEGIN { printf "%.2f s  %.0f rows/s  cpu %.2f s  peak RSS %.0f MiB  (%d rows)", w, r / w, u + s, m / 1024, r }')
  echo "run $i: $line"
  results+=("$wall $line")
  rm -f "$log" "$log.time"
done
median=$(printf '%s\n' "${results[@]}" | sort -n | awk -v n="$reps" 'NR == int((n + 1) / 2) { $1 = ""; print }')
echo "median:$median  ($(nproc) cores)"
