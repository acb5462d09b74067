#!/usr/bin/env bash
# ringside's rings against the C rings of Linux tools/virtio/ringtest, side by side.
#
# Extracts tools/virtio/ringtest from Debian's linux-source package (`apt-get install
# linux-source-6.1`; the tarball lands in /usr/src) and builds its split ring
# (virtio_ring_0_9) and its descriptor-ring prototype of the packed ring (ring) with the
# kernel's own Makefile, and `ringside` in release. One measurement line is added to ringtest's
# main.c first (the rings are untouched): the guest prints the fastest stretch of 4096
# completions, the same statistic `ringside bench` reports as best_ns_per_buffer. On a machine
# shared with other work a whole run mostly measures how often the threads were preempted; the
# fastest stretch is what the ring does when nothing interferes.
#
# Then, for ROUNDS rounds, runs each C ring and `ringside bench` on the same layout back to
# back, polling, guest/driver on the first CPU and host/device on the last (as ringtest's
# run-on-all.sh places the host), --outstanding 1, BUFFERS buffers each; the order of C and
# ringside alternates from round to round. Whole runs are timed the same way for both, as
# processes (start-up included); ringside's own timer (warm-up excluded) is shown too.
#
# Prints one line per run, then per layout the ratio ringside/C of each round for whole runs
# and for the fastest stretches, with medians and ranges, and the load average before and after.
#
# usage: core/rings/benches/ringtest.sh [ROUNDS [BUFFERS]]
#   env: LINUX_SOURCE=path/to/linux-source-X.tar.xz  RINGTEST_DIR=where to build (target/ringtest)
set -euo pipefail

ROUNDS=${1:-5}
BUFFERS=${2:-2000000}
cd "$(dirname "$0")/../../.."
ROOT=$PWD

TARBALL=${LINUX_SOURCE:-$(ls /usr/src/linux-source-*.tar.* 2>/dev/null | sort -V | tail -1 || true)}
if [[ -z "$TARBALL" || ! -f "$TARBALL" ]]; then
    echo "no linux-source tarball: apt-get install linux-source-6.1 (or set LINUX_SOURCE)" >&2
    exit 2
fi
WORK=${RINGTEST_DIR:-$ROOT/target/ringtest}
RT=$WORK/tools/virtio/ringtest
if ! grep -q ringside_best "$RT/main.c" 2>/dev/null || [[ ! -x $RT/ring || ! -x $RT/virtio_ring_0_9 ]]; then
    mkdir -p "$WORK"
    top=$(basename "$TARBALL")
    top=${top%%.tar.*}
    # The Makefile needs only the directory itself: main.c/main.h and the ring sources.
    # virtio_ring_0_9.c includes <linux/virtio_ring.h>, the installed UAPI header.
    tar -xf "$TARBALL" -C "$WORK" --strip-components=1 "$top/tools/virtio/ringtest"
    # The measurement line: in run_guest, after each completion, every 4096 completions read
    # the clock and keep the fastest stretch; print it when the run ends.
    python3 - "$RT/main.c" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("#include <limits.h>\n", """#include <limits.h>
#include <time.h>
/* ringside_best: the fastest stretch of 4096 completions (added by ringside's ringtest.sh) */
static double ringside_best = 1e300, ringside_last;
static void ringside_block(void)
{
	struct timespec t;
	double now;

	clock_gettime(CLOCK_MONOTONIC, &t);
	now = t.tv_sec * 1e9 + t.tv_nsec;
	if (ringside_last && now - ringside_last < ringside_best)
		ringside_best = now - ringside_last;
	ringside_last = now;
}
""", 1)
old = """				++completed;
				if (__builtin_expect(completed == bufs, false))
					return;"""
new = """				++completed;
				if (completed % 4096 == 0)
					ringside_block();
				if (__builtin_expect(completed == bufs, false)) {
					fprintf(stderr, "ringside_best %.1f\\n", ringside_best / 4096);
					return;
				}"""
assert s.count(old) == 1, "ringtest's main.c changed: update ringtest.sh"
s = s.replace(old, new)
open(p, "w").write(s)
PY
    make -s -C "$RT" clean >/dev/null 2>&1 || true
    make -s -C "$RT" ring virtio_ring_0_9
fi
cargo build -q --release -p ringside-tui
RS=$ROOT/target/release/ringside

CPUS=($(taskset -pc $$ 2>/dev/null | sed 's/.*: //' | tr ',' '\n' | while read -r r; do
    if [[ $r == *-* ]]; then seq "${r%-*}" "${r#*-}"; else echo "$r"; fi
done))
((${#CPUS[@]})) || CPUS=($(seq 0 $(($(nproc) - 1))))
G=${CPUS[0]}
H=${CPUS[-1]}

now() { echo "$EPOCHREALTIME"; }
load() { cut -d' ' -f1 /proc/loadavg; }

echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs"
echo "# guest/driver CPU $G, host/device CPU $H, $BUFFERS buffers, --outstanding 1, polling, load $(load)"
echo "# ringtest from $TARBALL"
printf '%-6s %-7s %-9s %14s %14s %14s\n' round layout who 'ns/buf(proc)' 'ns/buf(timer)' 'ns/buf(best)'

RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"' EXIT
run_c() { # layout binary
    local t0 t1 best
    t0=$(now)
    best=$("$RT/$2" --outstanding 1 --guest-affinity "$G" --host-affinity "$H" \
        --run-cycles "$BUFFERS" 2>&1 | awk '/ringside_best/ {print $2}')
    t1=$(now)
    echo "$1 C $(echo "($t1 - $t0) * 1000000000 / $BUFFERS" | bc -l) - ${best:--}"
}
run_rs() { # layout
    local t0 t1 out
    t0=$(now)
    out=$("$RS" bench --json --layout "$1" --batch 1 --outstanding 1 --buffers "$BUFFERS" \
        --driver-cpu "$G" --device-cpu "$H")
    t1=$(now)
    echo "$1 ringside $(echo "($t1 - $t0) * 1000000000 / $BUFFERS" | bc -l)" \
        "$(jq '.results[0].ns_per_buffer' <<<"$out") $(jq '.results[0].best_ns_per_buffer' <<<"$out")"
}
num() { [[ $1 == - || $1 == null ]] && echo - || printf '%.1f' "$1"; }
for ((r = 1; r <= ROUNDS; r++)); do
    for pair in "split virtio_ring_0_9" "packed ring"; do
        set -- $pair
        if ((r % 2)); then
            lines=$(run_c "$1" "$2"; run_rs "$1")
        else
            lines=$(run_rs "$1"; run_c "$1" "$2")
        fi
        while read -r layout who proc timer best; do
            printf '%-6s %-7s %-9s %14s %14s %14s\n' "$r" "$layout" "$who" "$(num "$proc")" \
                "$(num "$timer")" "$(num "$best")"
            echo "$r $layout $who $proc $best" >>"$RESULTS"
        done <<<"$lines"
    done
done
echo "# load after: $(load)"
python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
def ratios(layout, col):
    out = []
    for r in sorted({x[0] for x in rows}, key=int):
        get = lambda who: [x[col] for x in rows if x[0] == r and x[1] == layout and x[2] == who]
        ours, theirs = get("ringside"), get("C")
        if ours and theirs and "-" not in (ours[0], theirs[0]):
            out.append(float(ours[0]) / float(theirs[0]))
    return out
for layout, c in (("split", "virtio_ring_0_9"), ("packed", "ring")):
    for col, what in ((3, "whole runs"), (4, "fastest stretches")):
        xs = ratios(layout, col)
        if xs:
            print(f"# {layout} vs {c}, {what}: ringside/C " + " ".join(f"{x:.2f}" for x in xs)
                  + f"; median {statistics.median(xs):.2f}, min {min(xs):.2f}, max {max(xs):.2f}")
PY
