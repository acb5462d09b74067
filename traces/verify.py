#!/usr/bin/env python3
"""Check the captures under traces/ (run by capture.sh; stdlib only).

For each traces/<name>/ it checks that:
  - the capture is under 2 MB;
  - trace.log has virtqueue_pop / virtqueue_fill / virtio_queue_notify /
    virtio_notify lines for the blk, net and rng devices, and
    virtqueue_flush for split-ring devices (QEMU 7.2 only traces
    virtqueue_flush on split rings);
  - the QMP transcript pairs every command with a reply carrying its id;
  - every device's negotiated features match the capture (packed,
    event_idx, indirect_desc);
  - every ring dump exists and has the size its layout implies.
It prints a summary table of trace event counts and exits 1 on a failure.

Trace lines name devices by pointer only.  The device of a vdev pointer is
found from device-specific events (virtio_blk_* "vdev P", virtio_rng_*
"rng P"); the net device is the remaining vdev with 3 queues; a vq pointer
belongs to the vdev of the virtio_queue_notify line that names both.
"""
import collections
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LIMIT = 2 * 1024 * 1024
LINE = re.compile(r"^(?:(\d+)@(\d+\.\d+):)?(\w+) (.*)$")
FIELD = re.compile(r"(\w+)[ :]+(0x[0-9a-f]+|\d+)")


def parse_trace(path):
    events = []
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line.rstrip("\n"))
            if not m:
                continue
            fields = dict(FIELD.findall(m.group(4)))
            events.append((m.group(3), fields, m.group(2)))
    return events


def attribute(events):
    """vdev pointer -> blk|net|rng, vq pointer -> (vdev, queue index)."""
    kind, vq_of, queues = {}, {}, collections.defaultdict(set)
    for name, f, _ in events:
        if name.startswith("virtio_blk_") and "vdev" in f:
            kind[f["vdev"]] = "blk"
        elif name.startswith("virtio_rng_") and "rng" in f:
            kind[f["rng"]] = "rng"
        if name == "virtio_queue_notify":
            vq_of[f["vq"]] = (f["vdev"], int(f["n"]))
            queues[f["vdev"]].add(int(f["n"]))
        if name == "virtio_set_status":
            queues.setdefault(f["vdev"], set())
    for vdev, qs in queues.items():
        if vdev not in kind and max(qs, default=-1) >= 1:
            kind[vdev] = "net"
    return kind, vq_of


def check_capture(d, problems):
    name = os.path.basename(d)
    say = lambda msg: problems.append("%s: %s" % (name, msg))
    size = sum(os.path.getsize(os.path.join(r, f))
               for r, _, fs in os.walk(d) for f in fs)
    if size > LIMIT:
        say("%d bytes > 2 MB" % size)

    # QMP transcript.
    statuses, sent = {}, {}
    with open(os.path.join(d, "qmp.jsonl")) as f:
        lines = [json.loads(l) for l in f]
    if "QMP" not in lines[0]:
        say("qmp.jsonl does not start with the QMP greeting")
    for obj in lines[1:]:
        if "execute" in obj:
            sent[obj["id"]] = obj
        elif "id" in obj:
            cmd = sent.pop(obj["id"], None)
            if cmd is None:
                say("reply without command: %s" % obj["id"])
            elif cmd["execute"] == "x-query-virtio-status" and "return" in obj:
                statuses[obj["return"]["name"]] = obj["return"]
    if sent:
        say("commands without reply: %s" % sorted(sent))

    want_packed = "packed" in name
    for vname, st in statuses.items():
        feats = {s.split(":")[0] for s in st["guest-features"]["transports"]}
        if ("VIRTIO_F_RING_PACKED" in feats) != want_packed:
            say("%s packed=%s" % (vname, "VIRTIO_F_RING_PACKED" in feats))
        if ("VIRTIO_RING_F_EVENT_IDX" in feats) == ("noevidx" in name):
            say("%s event_idx mismatch" % vname)
        if ("VIRTIO_RING_F_INDIRECT_DESC" in feats) == ("noindirect" in name):
            say("%s indirect_desc mismatch" % vname)

    # Ring dumps.
    with open(os.path.join(d, "rings", "index.json")) as f:
        index = json.load(f)
    for e in index:
        if "skipped" in e:
            continue
        num, area = e["vring-num"], e["area"]
        extra = 2 if e["event-idx"] else 0
        want = 16 * num if area == "desc" else (
            4 if e["packed"] else
            4 + 2 * num + extra if area == "avail" else 4 + 8 * num + extra)
        path = os.path.join(d, e["file"])
        if not os.path.exists(path):
            say("missing %s" % e["file"])
        elif os.path.getsize(path) != want or e["size"] != want:
            say("%s is %d bytes, want %d" % (e["file"], os.path.getsize(path), want))

    # Trace.
    events = parse_trace(os.path.join(d, "trace.log"))
    kind, vq_of = attribute(events)
    per = collections.Counter()
    for ev, f, _ in events:
        vdev = f.get("vdev")
        if vdev is None and "vq" in f and f["vq"] in vq_of:
            vdev = vq_of[f["vq"]][0]
        per[(kind.get(vdev, "?"), ev)] += 1
    vhost = os.path.exists(os.path.join(d, "qsd-trace.log"))
    for dev in ("blk", "net", "rng"):
        if dev == "blk" and vhost:
            continue  # served by qemu-storage-daemon, not by QEMU's virtqueue code
        need = ["virtqueue_pop", "virtqueue_fill", "virtio_queue_notify", "virtio_notify"]
        if not want_packed:
            need.append("virtqueue_flush")
        for ev in need:
            n = per[(dev, ev)] + (per[(dev, "virtio_notify_irqfd")] if ev == "virtio_notify" else 0)
            if n == 0:
                say("no %s for %s" % (ev, dev))
    if vhost:
        for ev in ("vhost_dev_start", "vhost_user_write"):
            if not any(e[0] == ev for e in events):
                say("no %s" % ev)
        q = parse_trace(os.path.join(d, "qsd-trace.log"))
        if not any(e[0] == "blk_co_preadv" for e in q):
            say("qsd-trace.log has no blk_co_preadv")
    return per, events, size


def main():
    # Driver-side captures (guest-trace.txt) are checked by verify_guest.py.
    names = sys.argv[1:] or sorted(
        n for n in os.listdir(HERE)
        if os.path.isfile(os.path.join(HERE, n, "qmp.jsonl"))
        and not os.path.exists(os.path.join(HERE, n, "guest-trace.txt")))
    problems, total = [], collections.Counter()
    for n in names:
        per, events, size = check_capture(os.path.join(HERE, n), problems)
        c = collections.Counter(e[0] for e in events)
        total.update(c)
        ts = "timestamps" if events and events[0][2] else "no timestamps"
        print("%-18s %8d bytes  %6d trace lines (%s)  pop blk/net/rng %d/%d/%d" % (
            n, size, len(events), ts, per[("blk", "virtqueue_pop")],
            per[("net", "virtqueue_pop")], per[("rng", "virtqueue_pop")]))
    print("\nevent counts over all trace.log files:")
    for ev, k in sorted(total.items(), key=lambda x: (-x[1], x[0])):
        print("  %6d %s" % (k, ev))
    if problems:
        print("\nPROBLEMS:")
        for p in problems:
            print("  " + p)
        sys.exit(1)
    print("\nall checks passed")


if __name__ == "__main__":
    main()
