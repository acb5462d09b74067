#!/usr/bin/env python3
"""Check the driver-side captures (traces/<name>/guest-trace.txt; run by
traces/capture-guest.sh; stdlib only) and print their clock anchors.

For each capture it checks that:
  - the directory is under 2 MB;
  - guest-trace.txt is ftrace text with no lost events (the guest printed
    its ring buffer stats on the console: overrun 0, dropped 0);
  - the guest found every probed symbol in /proc/kallsyms;
  - the driver events of the capture's ring layout are there (add, kick,
    notify, interrupt, detach, reap) and none of the other layout's;
  - every anchor has its begin and end marker in the guest trace and its
    pci_cfg_write in QEMU's trace.log, and the anchors agree on one clock
    offset that may drift linearly: a least-squares line through the
    midpoints of the intervals [qemu - end, qemu - begin] passes through
    every interval.  Each stretch between QMP STOP events gets its own line
    (the guest clock stands still while the VM is stopped);
  - dpdk-*: dpdk.log has the vhost-user negotiation, the memory table, the
    ring addresses, the ring base at stop and testpmd's per-packet lines;
  - dpdk-stall: the host stopped and continued testpmd and the guest's tx
    watchdog fired; guest-ioerror: QEMU reported BLOCK_IO_ERROR.
It prints each anchor's offset interval and exits 1 on a failure.
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LIMIT = 2 * 1024 * 1024
FTRACE = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\] (\S+) (\d+\.\d+): (\w+): (.*)$")
ANCHOR = re.compile(r"ringside-anchor (\d+) (begin|end)")
QLINE = re.compile(r"^(\d+)@(\d+\.\d+):(\w+) (.*)$")
PCI = re.compile(r"^\S+ \S+ @0x3c <- 0x([0-9a-f]+)$")
SYMBOLS = ["virtqueue_add_sgs", "virtqueue_add_outbuf", "virtqueue_add_inbuf",
           "virtqueue_add_inbuf_ctx", "virtqueue_kick_prepare", "vp_notify",
           "vring_interrupt", "virtqueue_get_buf_ctx_split",
           "virtqueue_get_buf_ctx_packed", "detach_buf_split", "detach_buf_packed"]


def anchors(d, say):
    guest, qemu = {}, []
    for line in open(os.path.join(d, "guest-trace.txt"), errors="replace"):
        m = FTRACE.match(line)
        if m and m.group(6) == "tracing_mark_write":
            a = ANCHOR.match(m.group(7))
            if a:
                guest.setdefault(int(a.group(1)), {})[a.group(2)] = float(m.group(5))
    for line in open(os.path.join(d, "trace.log"), errors="replace"):
        m = QLINE.match(line.rstrip("\n"))
        if m and m.group(3) == "pci_cfg_write":
            p = PCI.match(m.group(4))
            if p:
                qemu.append((float(m.group(2)), int(p.group(1), 16)))
    rows = []
    for n in sorted(guest):
        g = guest[n]
        if "begin" not in g or "end" not in g:
            say("anchor %d lacks a marker" % n)
            continue
        # The write of value n&0xff closest after the begin marker's time
        # shifted by the previous anchor's offset (or the first one).
        cands = [t for t, v in qemu if v == n & 0xff]
        if not cands:
            say("anchor %d: no pci_cfg_write of 0x%x in trace.log" % (n, n & 0xff))
            continue
        if rows:
            guess = g["begin"] + (rows[-1][1] + rows[-1][2]) / 2
            t = min(cands, key=lambda c: abs(c - guess))
        else:
            t = cands[0]  # nothing else writes the host bridge's 0x3c
        rows.append((n, t - g["end"], t - g["begin"], t))
    return rows


def segments(d, rows):
    """Anchors split where QEMU stopped the VM (QMP STOP events): the guest
    clock does not run while the VM is stopped, so the offset jumps."""
    stops = []
    for line in open(os.path.join(d, "qmp.jsonl")):
        o = json.loads(line)
        if o.get("event") == "STOP":
            stops.append(o["timestamp"]["seconds"] + o["timestamp"]["microseconds"] / 1e6)
    segs, cur = [], []
    for r in rows:
        if cur and any(cur[-1][3] < s < r[3] for s in stops):
            segs.append(cur)
            cur = []
        cur.append(r)
    return segs + ([cur] if cur else [])


def line_fit(seg):
    """Offset = a + b * (t - t0), least squares over the interval midpoints
    weighted by 1/width^2 (an anchor whose process was preempted between
    its markers has a wide interval and says little)."""
    t0 = seg[0][3]
    xs = [r[3] - t0 for r in seg]
    ys = [(r[1] + r[2]) / 2 for r in seg]
    ws = [1.0 / max(r[2] - r[1], 1e-6) ** 2 for r in seg]
    sw = sum(ws)
    mx = sum(w * x for w, x in zip(ws, xs)) / sw
    my = sum(w * y for w, y in zip(ws, ys)) / sw
    vx = sum(w * (x - mx) ** 2 for w, x in zip(ws, xs))
    b = sum(w * (x - mx) * (y - my) for w, x, y in zip(ws, xs, ys)) / vx if vx > 1e-12 else 0.0
    return my - b * mx, b, t0, seg[-1][3]


def check(d, problems):
    name = os.path.basename(d)
    say = lambda msg: problems.append("%s: %s" % (name, msg))
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)
    if size > LIMIT:
        say("%d bytes > 2 MB" % size)
    serial = open(os.path.join(d, "serial.log"), errors="replace").read()
    st = re.search(r"ftrace cpu0 stats: .*?overrun: (\d+).*?dropped events: (\d+)", serial)
    if not st or st.group(1) != "0" or st.group(2) != "0":
        say("ftrace lost events or printed no stats")
    for s in SYMBOLS:
        if not re.search(r"^RINGSIDE-KALLSYMS %s \S+ t %s\b" % (s, s), serial, re.M):
            say("%s not in the guest's kallsyms" % s)
    text = open(os.path.join(d, "guest-trace.txt"), errors="replace").read()
    if not text.startswith("# tracer: nop"):
        say("guest-trace.txt is not ftrace output")
    events = {}
    for line in text.splitlines():
        m = FTRACE.match(line)
        if m:
            events[m.group(6)] = events.get(m.group(6), 0) + 1
    packed = "packed" in name
    sfx = "_p" if packed else "_s"
    need = ["kick_prepare" + sfx, "kick_prepare_ret", "notify" + sfx,
            "interrupt" + sfx, "interrupt_ret",
            "detach_packed" if packed else "detach_split",
            "get_buf_packed_ret" if packed else "get_buf_split_ret",
            "add_inbuf_ctx" + sfx, "add_outbuf" + sfx]
    if name.startswith("guest-"):
        need += ["add_sgs" + sfx, "add_inbuf" + sfx]
    for ev in need:
        if not events.get(ev):
            say("no %s event" % ev)
    other = "_s" if packed else "_p"
    wrong = [e for e in events if e.endswith(other) or
             e in ("detach_split", "get_buf_split_ret") and packed or
             e in ("detach_packed", "get_buf_packed_ret") and not packed]
    if wrong:
        say("events of the other layout: %s" % wrong)
    rows = anchors(d, say)
    fits = []
    for seg in segments(d, rows):
        fit = line_fit(seg)
        fits.append(fit)
        for n, lo, hi, t in seg:
            want = fit[0] + fit[1] * (t - seg[0][3])
            if not lo - 1e-6 <= want <= hi + 1e-6:
                say("anchor %d: offset interval [%.6f, %.6f] misses the fitted %.6f" % (
                    n, lo, hi, want))
    if name.startswith("dpdk-"):
        dl = open(os.path.join(d, "dpdk.log"), errors="replace").read()
        for what, pat in (("features", r"negotiated Virtio features: 0x"),
                          ("memory table", r"guest memory region"),
                          ("ring addresses", r"VHOST_USER_SET_VRING_ADDR"),
                          ("ring base at stop", r"vring base idx:\d+"),
                          ("per-packet lines", r"port 0/queue 0: (received|sent) \d+ packets")):
            if not re.search(pat, dl):
                say("dpdk.log has no %s (%s)" % (what, pat))
        feats = re.findall(r"negotiated Virtio features: (0x[0-9a-f]+)", dl)
        if feats and bool(int(feats[-1], 16) >> 34 & 1) != packed:
            say("negotiated features %s vs packed=%s" % (feats[-1], packed))
    if name == "dpdk-stall":
        acts = open(os.path.join(d, "host-actions.log")).read()
        if "SIGSTOP" not in acts or "SIGCONT" not in acts:
            say("host-actions.log lacks SIGSTOP/SIGCONT")
        if "NETDEV WATCHDOG" not in serial:
            say("the guest's tx watchdog did not fire")
    if name == "guest-ioerror":
        qmp = [json.loads(l) for l in open(os.path.join(d, "qmp.jsonl"))]
        if not any(o.get("event") == "BLOCK_IO_ERROR" for o in qmp):
            say("no BLOCK_IO_ERROR in qmp.jsonl")
    return size, events, rows, fits


def main():
    names = sys.argv[1:] or sorted(
        n for n in os.listdir(HERE) if os.path.isfile(os.path.join(HERE, n, "guest-trace.txt")))
    problems = []
    for n in names:
        size, events, rows, fits = check(os.path.join(HERE, n), problems)
        print("%-14s %8d bytes  %5d driver events" % (
            n, size, sum(v for k, v in events.items() if k != "tracing_mark_write")))
        for a, e, b, t in rows:
            print("    anchor %3d  qemu %.6f  offset qemu-guest in [%.6f, %.6f] (%3.0f us)" % (
                a, t, e, b, (b - e) * 1e6))
        for a, b, t0, t1 in fits:
            print("    segment qemu %.3f..%.3f: offset %.6f s at its start, drift %+.1f us/s" % (
                t0, t1, a, b * 1e6))
    if problems:
        print("\nPROBLEMS:")
        for p in problems:
            print("  " + p)
        sys.exit(1)
    print("\nall checks passed")


if __name__ == "__main__":
    main()
