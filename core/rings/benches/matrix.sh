#!/usr/bin/env bash
# The packed/split table of docs/PERFORMANCE.md: `ringside bench` at batch 1 and 4, on two CPUs
# polling, on two CPUs with notifications (park, EVENT_IDX), and on one CPU (notifications),
# ROUNDS rounds, the three settings interleaved within each round. Prints per row the median
# ns/buffer with its range, and per setting and batch the packed/split ratio of each round
# (median, range) and of the fastest 4096-buffer stretches (the best of all rounds) next to the
# model's ratio; the load average before and after.
#
# Each run lasts SECONDS (a cross-CPU wake-up costs far more than a buffer does polling, so a
# count would not fit both).
#
# usage: core/rings/benches/matrix.sh [ROUNDS [SECONDS]]
set -euo pipefail

ROUNDS=${1:-5}
SECONDS_EACH=${2:-1}
cd "$(dirname "$0")/../../.."
cargo build -q --release -p ringside-tui
RS=$PWD/target/release/ringside
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

CPUS=($(taskset -pc $$ 2>/dev/null | sed 's/.*: //' | tr ',' '\n' | while read -r r; do
    if [[ $r == *-* ]]; then seq "${r%-*}" "${r#*-}"; else echo "$r"; fi
done))
((${#CPUS[@]})) || CPUS=($(seq 0 $(($(nproc) - 1))))
A=${CPUS[0]}
B=${CPUS[-1]}
echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
echo "# ${SECONDS_EACH} s per configuration, $ROUNDS rounds; CPUs $A and $B"

declare -A SETTINGS=(
    [two-poll]="--driver-cpu $A --device-cpu $B"
    [two-notify]="--driver-cpu $A --device-cpu $B --notify park --event-idx"
    [one-notify]="--driver-cpu $A --device-cpu $A --notify park --event-idx"
)
for ((r = 1; r <= ROUNDS; r++)); do
    for s in two-poll two-notify one-notify; do
        "$RS" bench --json --batch 1,4 --duration "$SECONDS_EACH" ${SETTINGS[$s]} >"$OUT/$s.$r.json"
    done
done
echo "# load after: $(cut -d' ' -f1 /proc/loadavg)"
python3 - "$OUT" <<'PY'
import glob, json, os, statistics, sys
runs = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    setting = os.path.basename(f).split(".")[0]
    runs.setdefault(setting, []).append(json.load(open(f)))
def rng(xs):
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"
print(f"{'setting':<11} {'layout':<7} {'batch':>5}  {'ns/buffer median (range)':<30} {'fastest stretch':>15} {'model misses':>12}")
for setting in ("two-poll", "two-notify", "one-notify"):
    reports = runs.get(setting, [])
    if not reports:
        continue
    rows = {}
    for rep in reports:
        for x in rep["results"]:
            if x["ns_per_buffer"] is not None:
                rows.setdefault((x["layout"], x["batch"]), []).append(x)
    for (layout, batch), xs in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0] != "split")):
        ns = [x["ns_per_buffer"] for x in xs]
        best = [x["best_ns_per_buffer"] for x in xs if x.get("best_ns_per_buffer")]
        cell = f"{statistics.median(ns):.1f} ({min(ns):.1f}-{max(ns):.1f})"
        fast = f"{min(best):.1f}" if best else "n/a"
        print(f"{setting:<11} {layout:<7} {batch:>5}  {cell:<30} {fast:>15} {xs[0]['model_misses_per_buffer']:>12.2f}")
print()
print(f"{'setting':<11} {'batch':>5}  {'packed/split measured median (range)':<38} {'fastest':>8} {'model misses':>12} {'model cycles':>12}")
for setting in ("two-poll", "two-notify", "one-notify"):
    by_batch = {}
    for rep in runs.get(setting, []):
        for q in rep["ratios"]:
            if q["measured"] is not None:
                by_batch.setdefault(q["batch"], []).append(q)
    best = {}
    for rep in runs.get(setting, []):
        for x in rep["results"]:
            if x.get("best_ns_per_buffer"):
                key = (x["layout"], x["batch"])
                best[key] = min(best.get(key, 1e300), x["best_ns_per_buffer"])
    for batch, qs in sorted(by_batch.items()):
        fast = "n/a"
        if ("split", batch) in best and ("packed", batch) in best:
            fast = f"{best[('packed', batch)] / best[('split', batch)]:.2f}"
        print(f"{setting:<11} {batch:>5}  {rng([q['measured'] for q in qs]):<38} {fast:>8} "
              f"{qs[0]['model_misses']:>12.2f} {qs[0]['model_cycles']:>12.2f}")
PY
