#!/usr/bin/env python3
"""QMP driver for traces/capture.sh (Python 3 stdlib only).

Connects to QEMU's QMP unix socket, watches the guest serial log for
"RINGSIDE-SNAP <label>" markers and, for each one, takes a snapshot:

  (--vhost only, while the VM still runs: x-query-virtio,
   x-query-virtio-status, and x-query-virtio-vhost-queue-status for each
   queue of each started vhost device; see vhost_running_view)
  stop
  x-query-virtio                       (device list)
  x-query-virtio-status                (per device)
  x-query-virtio-queue-status          (per queue)
  pmemsave of the descriptor, driver and device areas of each queue
  x-query-virtio-queue-element         (per queue: the head, without index,
                                        and the newest pending entry, with
                                        index; only for entries the driver
                                        made available and the device has not
                                        popped, see snapshot(); once without
                                        index on packed rings, which QEMU 7.2
                                        refuses)
  cont

Other console lines (traces/capture-guest.sh captures):
  "RINGSIDE-QUERY <label>"  only the vhost queries of the running VM
                            (vhost_running_view), no stop: ring addresses
                            of a vhost-user device while it runs
  "RINGSIDE-STALL stop|cont"  SIGSTOP/SIGCONT to the pid in --stall-pidfile
                            (dpdk-testpmd), logged in --actions
and, with --io-error-hold, a BLOCK_IO_ERROR event (QEMU stopped the VM on
an I/O error) makes it wait, snapshot "ioerror" and cont.

The guest prints "RINGSIDE-SNAP done" last and powers off a few seconds
later; this script then waits for QEMU to close the socket (or sends quit).

Transcript (--out, JSON lines): the first line is QEMU's greeting, then for
every command one line with the command exactly as sent and then QEMU's
reply exactly as received (asynchronous events, e.g. STOP/RESUME/SHUTDOWN,
are kept too, as received, where they arrive).  Every command carries an
"id" "<label>/<n>" that QEMU echoes in its reply.  Ring dumps go to
rings/<label>-<dev>-q<N>-{desc,avail,used}.bin (relative to QEMU's working
directory, the capture directory), and rings/index.json describes each dump
(guest physical address, size, vring-num, packed, event-idx, indirect).
"""
import argparse
import json
import os
import select
import signal
import socket
import sys
import time

VIRTIO_F_RING_PACKED = "VIRTIO_F_RING_PACKED"
VIRTIO_RING_F_EVENT_IDX = "VIRTIO_RING_F_EVENT_IDX"


class Qmp:
    def __init__(self, path, out, timeout):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.buf = b""
        self.out = out
        self.n = 0
        self.closed = False
        greeting = self._readline()
        if greeting is None:
            raise RuntimeError("no QMP greeting")

    def _readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                self.closed = True
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        self.out.write(line.decode("utf-8").rstrip("\r\n") + "\n")
        self.out.flush()
        return json.loads(line)

    def cmd(self, label, execute, arguments=None, check=True):
        self.n += 1
        msg = {"execute": execute}
        if arguments is not None:
            msg["arguments"] = arguments
        msg["id"] = "%s/%d" % (label, self.n)
        text = json.dumps(msg)
        self.out.write(text + "\n")
        self.out.flush()
        self.sock.sendall(text.encode() + b"\n")
        while True:
            resp = self._readline()
            if resp is None:
                raise RuntimeError("QMP closed during %s" % execute)
            if resp.get("id") == msg["id"]:
                break
        if "error" in resp and check:
            raise RuntimeError("%s failed: %s" % (execute, resp["error"]))
        return resp

    def pending_events(self):
        """Asynchronous events that have arrived (without blocking)."""
        events = []
        while True:
            if b"\n" not in self.buf:
                ready, _, _ = select.select([self.sock], [], [], 0)
                if not ready:
                    return events
            resp = self._readline()
            if resp is None:
                return events
            if "event" in resp:
                events.append(resp)

    def wait_closed(self, timeout):
        """Read events until QEMU closes the socket; False on timeout."""
        self.sock.settimeout(timeout)
        try:
            while self._readline() is not None:
                pass
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(None)
        return True


def features_of(status, key):
    """Feature names; QEMU 7.2 lists them as "NAME: description"."""
    f = status.get(key) or {}
    return {s.split(":")[0].strip()
            for s in f.get("transports", []) + f.get("dev-features", [])}


def le16(path, offset):
    with open(path, "rb") as f:
        f.seek(offset)
        b = f.read(2)
    return b[0] | (b[1] << 8)


def vhost_running_view(q, label):
    """vhost devices are only started while the VM runs (QEMU stops the
    backend's rings on "stop" and syncs last_avail_idx back into its own
    VirtQueue), so the vhost side is asked before "stop"."""
    for dev in q.cmd(label, "x-query-virtio")["return"]:
        st = q.cmd(label, "x-query-virtio-status", {"path": dev["path"]})["return"]
        if st.get("vhost-started") and "vhost-dev" in st:
            for qi in range(st["vhost-dev"]["nvqs"]):
                q.cmd(label, "x-query-virtio-vhost-queue-status",
                      {"path": dev["path"], "queue": qi}, check=False)


def snapshot(q, label, rings_dir, cwd, index, final, vhost_first):
    if vhost_first:
        vhost_running_view(q, label)
    q.cmd(label, "stop")
    devs = q.cmd(label, "x-query-virtio")["return"]
    for dev in devs:
        path = dev["path"]
        # /machine/peripheral/<id>/virtio-backend -> <id>
        parts = path.split("/")
        devid = parts[-2] if parts[-1] == "virtio-backend" else parts[-1]
        st = q.cmd(label, "x-query-virtio-status", {"path": path})["return"]
        feats = features_of(st, "guest-features")
        packed = VIRTIO_F_RING_PACKED in feats
        event_idx = VIRTIO_RING_F_EVENT_IDX in feats
        vhost = "vhost-dev" in st
        for qi in range(st["num-vqs"]):
            addrs = None
            if vhost:
                vs = q.cmd(label, "x-query-virtio-vhost-queue-status",
                           {"path": path, "queue": qi}, check=False)
                if "return" in vs:
                    r = vs["return"]
                    addrs = {"desc": r["desc-phys"], "avail": r["avail-phys"],
                             "used": r["used-phys"], "num": r["num"]}
            # On a started vhost device x-query-virtio-queue-status asks the
            # backend for the ring base (VHOST_USER_GET_VRING_BASE), which
            # stops the ring in the backend: only do it in the last snapshot.
            qs = None
            if not vhost or final or addrs is None:
                qs = q.cmd(label, "x-query-virtio-queue-status",
                           {"path": path, "queue": qi})["return"]
                if addrs is None:
                    addrs = {"desc": qs["vring-desc"], "avail": qs["vring-avail"],
                             "used": qs["vring-used"], "num": qs["vring-num"]}
            num = addrs["num"]
            if packed:
                # Descriptor ring + driver/device event suppression structs.
                sizes = {"desc": 16 * num, "avail": 4, "used": 4}
            else:
                extra = 2 if event_idx else 0  # used_event / avail_event
                sizes = {"desc": 16 * num,
                         "avail": 4 + 2 * num + extra,
                         "used": 4 + 8 * num + extra}
            files = {}
            for area in ("desc", "avail", "used"):
                addr = addrs[area]
                name = "%s-%s-q%d-%s.bin" % (label, devid, qi, area)
                fn = os.path.join(rings_dir, name)
                entry = {"file": fn, "snapshot": label, "device": devid,
                         "path": path, "virtio-name": dev["name"],
                         "queue": qi, "area": area, "addr": addr,
                         "size": sizes[area], "vring-num": num,
                         "packed": packed, "event-idx": event_idx,
                         "indirect": "VIRTIO_RING_F_INDIRECT_DESC" in feats,
                         "vhost": vhost}
                if addr == 0:
                    entry["skipped"] = "address is 0 (queue not set up)"
                else:
                    q.cmd(label, "pmemsave",
                          {"val": addr, "size": sizes[area], "filename": fn})
                    files[area] = os.path.join(cwd, fn)
                index.append(entry)
            # x-query-virtio-queue-element walks the descriptor chain of the
            # avail ring entry it is given and calls virtio_error() (device
            # marked broken, guest I/O hangs) on a stale chain with a bad
            # "next": only ask for entries the driver has made available and
            # the device has not popped yet, i.e. avail ring positions
            # [last_avail_idx, avail->idx).  Packed rings are refused by QEMU
            # 7.2 ("Packed ring not supported"); ask once to record that.
            if vhost or "avail" not in files:
                continue
            if packed:
                q.cmd(label, "x-query-virtio-queue-element",
                      {"path": path, "queue": qi}, check=False)
                continue
            last = qs["last-avail-idx"]
            avail_idx = le16(files["avail"], 2)
            pending = (avail_idx - last) & 0xffff
            if pending == 0 or pending > num:
                continue
            # Head of the queue (last_avail_idx), then the newest entry.
            q.cmd(label, "x-query-virtio-queue-element",
                  {"path": path, "queue": qi})
            if pending > 1:
                q.cmd(label, "x-query-virtio-queue-element",
                      {"path": path, "queue": qi,
                       "index": (last + pending - 1) & 0xffff})
    q.cmd(label, "cont")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--serial", required=True, help="guest serial log to watch")
    ap.add_argument("--out", required=True, help="transcript (JSON lines)")
    ap.add_argument("--rings", default="rings",
                    help="ring dump dir, relative to QEMU's cwd")
    ap.add_argument("--cwd", default=".", help="QEMU's cwd (for --rings)")
    ap.add_argument("--timeout", type=float, default=280)
    ap.add_argument("--vhost", action="store_true",
                    help="query vhost devices (while running) before each stop")
    ap.add_argument("--stall-pidfile",
                    help="on the guest's 'RINGSIDE-STALL stop' line send SIGSTOP to "
                    "the pid in this file, on 'RINGSIDE-STALL cont' SIGCONT")
    ap.add_argument("--io-error-hold", type=float, default=None,
                    help="when QEMU reports BLOCK_IO_ERROR (VM stopped by "
                    "rerror/werror=stop), wait this many seconds, snapshot "
                    "'ioerror', then cont")
    ap.add_argument("--actions", help="log of host actions (signals), with host time")
    a = ap.parse_args()
    actions = open(a.actions, "w") if a.actions else None

    def act(text):
        if actions:
            actions.write("%.6f %s\n" % (time.time(), text))
            actions.flush()

    os.makedirs(os.path.join(a.cwd, a.rings), exist_ok=True)
    index = []
    start = time.time()
    with open(a.out, "w") as out:
        q = Qmp(a.socket, out, 30)
        q.cmd("init", "qmp_capabilities")
        seen = 0
        labels = []
        while True:
            if time.time() - start > a.timeout:
                raise SystemExit("qmp.py: timeout waiting for the guest")
            try:
                with open(a.serial, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except FileNotFoundError:
                text = ""
            marks = [(l.split()[0], l.split()[1]) for l in text.splitlines()
                     if l.startswith(("RINGSIDE-SNAP ", "RINGSIDE-STALL ", "RINGSIDE-QUERY "))
                     and len(l.split()) > 1]
            for kind, label in marks[seen:]:
                if kind == "RINGSIDE-STALL":
                    pid = int(open(a.stall_pidfile).read().split()[0])
                    sig = signal.SIGSTOP if label == "stop" else signal.SIGCONT
                    os.kill(pid, sig)
                    act("%s pid %d (guest console: RINGSIDE-STALL %s)" % (
                        sig.name, pid, label))
                    continue
                if kind == "RINGSIDE-QUERY":
                    # The vhost view of the running VM, without stopping it.
                    vhost_running_view(q, label)
                    continue
                snapshot(q, label, a.rings, a.cwd, index, label == "done", a.vhost)
                labels.append(label)
            seen = len(marks)
            if a.io_error_hold is not None:
                errs = [e for e in q.pending_events() if e["event"] == "BLOCK_IO_ERROR"]
                if errs:
                    act("BLOCK_IO_ERROR seen; holding the stopped VM %.1f s" % a.io_error_hold)
                    time.sleep(a.io_error_hold)
                    snapshot(q, "ioerror", a.rings, a.cwd, index, False, a.vhost)
                    act("snapshot ioerror taken, VM continued")
                    labels.append("ioerror")
            if "done" in labels:
                break
            time.sleep(0.05)
        # The guest powers off by itself a few seconds after "done".
        if not q.wait_closed(60):
            q.cmd("end", "quit", check=False)
            q.wait_closed(10)
    with open(os.path.join(a.cwd, a.rings, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")
    print("qmp.py: snapshots %s, %d ring dumps" % (labels, len(index)))


if __name__ == "__main__":
    main()
