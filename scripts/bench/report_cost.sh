#!/usr/bin/env bash
# The cost of the report's utility figures (docs/report.md, "Cost"): the shop fixture's tables,
# each repeated COPIES times (pyarrow, from $DOPPEL_PYTHON or target/pyenv), copied Parquet →
# Parquet with the shop rules, REPS times each without and with --report, alternating; prints
# every run's wall-clock and CPU seconds, their medians and the difference.
#
#   bash scripts/bench/report_cost.sh [COPIES=100] [REPS=5] [THREADS=2]
#   INSTRUCTIONS=1 bash scripts/bench/report_cost.sh 10   # instructions (valgrind callgrind)
#
# Times on a busy machine vary by tens of percent from run to run; the instruction counts
# (one run each under callgrind, all threads) do not, and are what docs/report.md quotes.
#
# Uses target/release/doppel (cargo build --release first). DOPPEL_KEY may be any test key.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
COPIES="${1:-100}" REPS="${2:-5}" THREADS="${3:-2}"
PY="${DOPPEL_PYTHON:-target/pyenv/bin/python}"
DOPPEL=target/release/doppel
export DOPPEL_KEY="${DOPPEL_KEY:-report-cost-0123456789abcdef0123456789}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$PY" - "$WORK/data" "$COPIES" <<'PY'
import glob, os, sys
import pyarrow as pa, pyarrow.parquet as pq
out, copies = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
for f in sorted(glob.glob("fixtures/shop/data/*.parquet")):
    t = pq.read_table(f)
    pq.write_table(pa.concat_tables([t] * copies), os.path.join(out, os.path.basename(f)))
PY
rows=$("$PY" -c "import glob,pyarrow.parquet as pq;print(sum(pq.ParquetFile(f).metadata.num_rows for f in glob.glob('$WORK/data/*.parquet')))")
echo "rows: $rows, threads: $THREADS, $("$DOPPEL" --version)"
if [ -n "${INSTRUCTIONS:-}" ]; then
  count() { # count EXTRA… → instructions executed by the run
    rm -rf "$WORK/out" "$WORK/r.json"
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$DOPPEL" -q run --rules rules/shop.toml \
      --from "$WORK/data" --to "$WORK/out" --threads "$THREADS" "$@" 2>&1 | awk '/refs:/ {gsub(",", "", $NF); print $NF}'
  }
  ip=$(count) ir=$(count --report "$WORK/r.json")
  echo "instructions without --report: $ip"
  echo "instructions with --report:    $ir"
  echo "instruction cost of --report: $(echo "scale=1; ($ir - $ip) * 100 / $ip" | bc)%"
  exit 0
fi
# One run: "wall-seconds cpu-seconds" (CPU = user + system).
run() {
  rm -rf "$WORK/out" "$WORK/r.json"
  local TIMEFORMAT='%R %U %S' t
  t=$( { time "$DOPPEL" -q run --rules rules/shop.toml --from "$WORK/data" --to "$WORK/out" --threads "$THREADS" "$@" >/dev/null; } 2>&1 )
  awk '{printf "%.2f %.2f\n", $1, $2 + $3}' <<<"$t"
}
plain_wall=() plain_cpu=() report_wall=() report_cpu=()
for _ in $(seq "$REPS"); do
  read -r w c < <(run); plain_wall+=("$w"); plain_cpu+=("$c")
  read -r w c < <(run --report "$WORK/r.json"); report_wall+=("$w"); report_cpu+=("$c")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
cost() { echo "scale=1; ($2 - $1) * 100 / $1" | bc; }
for what in wall cpu; do
  p="plain_$what[@]" r="report_$what[@]"
  mp=$(median "${!p}") mr=$(median "${!r}")
  echo "$what seconds without --report: ${!p} (median $mp)"
  echo "$what seconds with --report:    ${!r} (median $mr)"
  echo "$what cost of --report: $(cost "$mp" "$mr")%"
done
