#!/usr/bin/env bash
# ringside's rings against the C rings of Linux tools/virtio/ringtest, side by side.
#
# Builds ringtest's split ring (virtio_ring_0_9) and its descriptor-ring prototype of the
# packed ring (ring) with the kernel's own Makefile, from Debian's linux-source package
# (`apt-get install linux-source-6.1`; the tarball lands in /usr/src), and `ringside` in
# release. Then, for ROUNDS rounds, runs each C ring and `ringside bench` on the same layout
# back to back, polling, guest/driver on the first CPU and host/device on the last (as
# ringtest's run-on-all.sh places the host), --outstanding 1, BUFFERS buffers each; the order
# of C and ringside alternates from round to round. Both are timed the same way, as whole
# processes (start-up included); ringside's own timer (warm-up excluded) is shown too.
#
# Prints one line per run and, per layout, the ratio ringside/C of each round with its median
# and spread, and the load average before and after.
#
# usage: core/rings/benches/ringtest.sh [ROUNDS [BUFFERS]]
#   env: LINUX_SOURCE=path/to/linux-source-X.tar.xz  RINGTEST_DIR=where to build (target/ringtest)
#        EXTRA="--ring-size 256 ..." more options for both (ringtest spellings differ: see below)
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
if [[ ! -x $RT/ring || ! -x $RT/virtio_ring_0_9 ]]; then
    mkdir -p "$WORK"
    top=$(basename "$TARBALL")
    top=${top%%.tar.*}
    # The Makefile needs only the directory itself: main.c/main.h and the ring sources.
    # virtio_ring_0_9.c includes <linux/virtio_ring.h>, the installed UAPI header.
    tar -xf "$TARBALL" -C "$WORK" --strip-components=1 "$top/tools/virtio/ringtest"
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
printf '%-7s %-6s %-9s %12s %14s\n' round layout who 'ns/buf(proc)' 'ns/buf(timer)'

RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"' EXIT
run_c() { # layout binary
    local t0 t1
    t0=$(now)
    "$RT/$2" --outstanding 1 --guest-affinity "$G" --host-affinity "$H" --run-cycles "$BUFFERS"
    t1=$(now)
    echo "$1 C $(echo "($t1 - $t0) * 1000000000 / $BUFFERS" | bc -l) -"
}
run_rs() { # layout
    local t0 t1 out
    t0=$(now)
    out=$("$RS" bench --json --layout "$1" --batch 1 --outstanding 1 --buffers "$BUFFERS" \
        --driver-cpu "$G" --device-cpu "$H" ${EXTRA:-})
    t1=$(now)
    echo "$1 ringside $(echo "($t1 - $t0) * 1000000000 / $BUFFERS" | bc -l) $(jq '.results[0].ns_per_buffer' <<<"$out")"
}
for ((r = 1; r <= ROUNDS; r++)); do
    for pair in "split virtio_ring_0_9" "packed ring"; do
        set -- $pair
        if ((r % 2)); then
            lines=$(run_c "$1" "$2"; run_rs "$1")
        else
            lines=$(run_rs "$1"; run_c "$1" "$2")
        fi
        while read -r layout who proc timer; do
            [[ $timer == - ]] || timer=$(printf '%.1f' "$timer")
            printf '%-7s %-6s %-9s %12.1f %14s\n' "$r" "$layout" "$who" "$proc" "$timer"
            echo "$r $layout $who $proc" >>"$RESULTS"
        done <<<"$lines"
    done
done
echo "# load after: $(load)"
python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for layout, c in (("split", "virtio_ring_0_9"), ("packed", "ring")):
    best = {who: min((float(x[3]) for x in rows if x[1] == layout and x[2] == who), default=None)
            for who in ("C", "ringside")}
    if best["C"] and best["ringside"]:
        print(f"# {layout}: best of each: C {best['C']:.1f} ns/buffer, ringside {best['ringside']:.1f}"
              f" ns/buffer, ratio {best['ringside'] / best['C']:.2f}")
    ratios = []
    for r in sorted({x[0] for x in rows}, key=int):
        get = lambda who: [float(x[3]) for x in rows if x[0] == r and x[1] == layout and x[2] == who]
        ours, theirs = get("ringside"), get("C")
        if ours and theirs:
            ratios.append(ours[0] / theirs[0])
    if ratios:
        print(f"# {layout}: ringside/C ({c}) per round: " + " ".join(f"{x:.2f}" for x in ratios)
              + f"; median {statistics.median(ratios):.2f}, min {min(ratios):.2f}, max {max(ratios):.2f}")
PY
