#!/usr/bin/env bash
# The cost of the report's utility figures (docs/report.md, "Cost"): the shop fixture's tables,
# each repeated COPIES times (pyarrow, from $DOPPEL_PYTHON or target/pyenv), copied Parquet →
# Parquet with the shop rules, REPS times each without and with --report, alternating; prints
# every time and the medians.
#
#   bash scripts/bench/report_cost.sh [COPIES=100] [REPS=5] [THREADS=2]
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
run() { # run NAME EXTRA… → seconds
  rm -rf "$WORK/out" "$WORK/r.json"
  local start end
  start=$(date +%s.%N)
  "$DOPPEL" -q run --rules rules/shop.toml --from "$WORK/data" --to "$WORK/out" --threads "$THREADS" "$@"
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
plain=() report=()
for _ in $(seq "$REPS"); do
  plain+=("$(run)")
  report+=("$(run --report "$WORK/r.json")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mp=$(median "${plain[@]}") mr=$(median "${report[@]}")
echo "without --report: ${plain[*]} (median $mp s)"
echo "with --report:    ${report[*]} (median $mr s)"
echo "cost: $(echo "scale=1; ($mr - $mp) * 100 / $mp" | bc)%"
