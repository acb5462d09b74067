#!/usr/bin/env python3
"""Kprobe event definitions for the capture guest, with struct offsets read
from the guest kernel's own BTF (Python 3 stdlib + Debian's bpftool).

    python3 traces/kprobes.py --kver 6.1.0-57-amd64 --work DIR \
        --events OUT/kprobe_events.txt --offsets OUT/btf-offsets.txt

1. vmlinux is unpacked from /boot/vmlinuz-KVER (xz, gzip or zstd payload of
   the bzImage); its .BTF section is the base for the modules' split BTF.
2. `bpftool btf dump file vmlinux format raw` and
   `bpftool -B vmlinux btf dump file virtio_ring.ko format raw` give every
   struct's members with their bit offsets; this script parses those dumps.
3. Each fetch argument below names a path through the structs
   (vring_virtqueue -> vq.vdev -> virtio_device.index, ...); the offsets and
   sizes come from the dumps, never from constants in this file, so a
   different kernel build gives the right offsets or a clear error.

The --events file has one command per line, for the guest's /init:
    kprobe <definition>          append to tracing/kprobe_events
    filter <group/event> <expr>  write to events/<group/event>/filter
The --offsets file lists every struct member used, with its byte offset,
size and the BTF type it came from (copied into each capture).
"""
import argparse
import gzip
import lzma
import os
import re
import subprocess
import sys

GROUP = "ringside"

# -- BTF ------------------------------------------------------------------------
TYPE = re.compile(r"^\[(\d+)\] (\w+) '([^']*)'(.*)$")
MEMBER = re.compile(r"^\t'([^']*)' type_id=(\d+) bits_offset=(\d+)")
ATTR = re.compile(r"(\w+)=(\S+)")


class Btf:
    """Types from `bpftool ... format raw` dumps, by id."""

    def __init__(self):
        self.types = {}

    def load(self, text, source):
        cur = None
        for line in text.splitlines():
            m = TYPE.match(line)
            if m:
                tid, kind, name, rest = int(m.group(1)), m.group(2), m.group(3), m.group(4)
                cur = {"kind": kind, "name": name, "attrs": dict(ATTR.findall(rest)),
                       "members": [], "source": source}
                self.types[tid] = cur
                continue
            m = MEMBER.match(line)
            if m and cur is not None:
                cur["members"].append((m.group(1), int(m.group(2)), int(m.group(3))))

    def strip(self, tid):
        """Follow typedef/const/volatile to the underlying type."""
        t = self.types[tid]
        while t["kind"] in ("TYPEDEF", "CONST", "VOLATILE", "RESTRICT", "TYPE_TAG"):
            tid = int(t["attrs"]["type_id"])
            t = self.types[tid]
        return tid, t

    def struct(self, name):
        found = [i for i, t in self.types.items()
                 if t["kind"] in ("STRUCT", "UNION") and t["name"] == name
                 and int(t["attrs"].get("vlen", "0")) > 0]
        if not found:
            sys.exit("kprobes.py: struct %s not in the BTF dumps" % name)
        return found[0]

    def member(self, sid, name):
        """(byte offset, type id) of member `name` of struct id `sid`,
        looking into anonymous struct/union members as C does."""
        t = self.types[sid]
        for mname, mtid, bits in t["members"]:
            if mname == name:
                if bits % 8:
                    sys.exit("kprobes.py: %s.%s is a bit field" % (t["name"], name))
                return bits // 8, mtid
        for mname, mtid, bits in t["members"]:
            if mname == "(anon)":
                _, inner = self.strip(mtid)
                if inner["kind"] in ("STRUCT", "UNION"):
                    r = self.member(self.strip(mtid)[0], name)
                    if r is not None:
                        return bits // 8 + r[0], r[1]
        return None

    def path(self, struct, dotted):
        """Byte offset and final type id of struct.a.b.c."""
        sid = self.struct(struct)
        off = 0
        tid = sid
        for part in dotted.split("."):
            sid = self.strip(tid)[0]
            r = self.member(sid, part)
            if r is None:
                sys.exit("kprobes.py: no member %s in %s (path %s.%s)" % (
                    part, self.types[sid]["name"], struct, dotted))
            off += r[0]
            tid = r[1]
        return off, tid

    def scalar(self, tid):
        """(size, signed, kind) of a scalar or pointer type."""
        _, t = self.strip(tid)
        if t["kind"] == "PTR":
            return 8, False, "ptr"
        if t["kind"] == "INT":
            return int(t["attrs"]["size"]), t["attrs"].get("encoding") == "SIGNED", t["name"]
        if t["kind"] == "ENUM":
            return int(t["attrs"]["size"]), False, "enum"
        sys.exit("kprobes.py: type %s %s is not a scalar" % (t["kind"], t["name"]))


# -- kernel files --------------------------------------------------------------------
def extract_vmlinux(vmlinuz, out):
    data = open(vmlinuz, "rb").read()
    for magic, how in ((b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"),
                       (b"\x1f\x8b\x08", "gzip")):
        at = data.find(magic)
        if at < 0:
            continue
        if how == "xz":
            body = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[at:])
        elif how == "gzip":
            body = gzip.GzipFile(fileobj=__import__("io").BytesIO(data[at:])).read()
        else:
            body = subprocess.run(["zstd", "-dc"], input=data[at:], capture_output=True).stdout
        if body[:4] == b"\x7fELF":
            open(out, "wb").write(body)
            return how
    sys.exit("kprobes.py: no ELF payload found in %s" % vmlinuz)


def module_file(kver, name):
    base = "/lib/modules/%s/kernel/drivers/virtio/%s.ko" % (kver, name)
    for suffix, cmd in (("", None), (".xz", ["xz", "-dc"]), (".zst", ["zstd", "-qdc"])):
        if os.path.exists(base + suffix):
            return base + suffix, cmd
    sys.exit("kprobes.py: %s not found" % base)


def bpftool_raw(args):
    r = subprocess.run(["bpftool"] + args + ["format", "raw"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("kprobes.py: bpftool %s failed: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


# -- the events ---------------------------------------------------------------------
# A fetch is (field name, chain, type override) where chain is a list of
# (struct, member path) steps: each step after the first is reached through
# the pointer read by the previous one.  Type override None = from BTF:
# unsigned -> u8/u16/u32/u64, signed -> s.., pointers -> x64.
VVQ = "vring_virtqueue"
COMMON = [
    ("packed", [(VVQ, "packed_ring")], "u8"),
    ("dev", [(VVQ, "vq.vdev"), ("virtio_device", "index")], None),
    ("q", [(VVQ, "vq.index")], None),
    ("name", [(VVQ, "vq.name")], "string"),
    ("free", [(VVQ, "vq.num_free")], None),
]
SPLIT = [
    ("num", [(VVQ, "split.vring.num")], None),
    ("free_head", [(VVQ, "free_head")], None),
    ("added", [(VVQ, "num_added")], None),
    ("last_used", [(VVQ, "last_used_idx")], None),
    ("avail_idx_shadow", [(VVQ, "split.avail_idx_shadow")], None),
    ("avail_flags_shadow", [(VVQ, "split.avail_flags_shadow")], "x16"),
    ("avail_idx", [(VVQ, "split.vring.avail"), ("vring_avail", "idx")], "u16"),
    ("used_idx", [(VVQ, "split.vring.used"), ("vring_used", "idx")], "u16"),
    ("used_flags", [(VVQ, "split.vring.used"), ("vring_used", "flags")], "x16"),
]
PACKED = [
    ("num", [(VVQ, "packed.vring.num")], None),
    ("free_head", [(VVQ, "free_head")], None),
    ("added", [(VVQ, "num_added")], None),
    ("last_used", [(VVQ, "last_used_idx")], "x16"),
    ("next_avail", [(VVQ, "packed.next_avail_idx")], None),
    ("avail_wrap", [(VVQ, "packed.avail_wrap_counter")], "u8"),
    ("avail_used_flags", [(VVQ, "packed.avail_used_flags")], "x16"),
    ("event_flags_shadow", [(VVQ, "packed.event_flags_shadow")], "x16"),
    ("drv_off_wrap", [(VVQ, "packed.vring.driver"), ("vring_packed_desc_event", "off_wrap")], "x16"),
    ("drv_flags", [(VVQ, "packed.vring.driver"), ("vring_packed_desc_event", "flags")], "x16"),
    ("dev_off_wrap", [(VVQ, "packed.vring.device"), ("vring_packed_desc_event", "off_wrap")], "x16"),
    ("dev_flags", [(VVQ, "packed.vring.device"), ("vring_packed_desc_event", "flags")], "x16"),
]

# (event, symbol, vq argument, extra args, layouts): layouts "both" makes
# <event>_s (filter packed==0, split fields) and <event>_p (filter packed==1,
# packed fields); "split"/"packed" make one event without a filter.
PROBES = [
    ("add_sgs", "virtio_ring:virtqueue_add_sgs", "$arg1",
     [("out", "$arg3:u32"), ("in", "$arg4:u32"), ("data", "$arg5:x64")], "both"),
    ("add_outbuf", "virtio_ring:virtqueue_add_outbuf", "$arg1",
     [("sgs", "$arg3:u32"), ("data", "$arg4:x64")], "both"),
    ("add_inbuf", "virtio_ring:virtqueue_add_inbuf", "$arg1",
     [("sgs", "$arg3:u32"), ("data", "$arg4:x64")], "both"),
    ("add_inbuf_ctx", "virtio_ring:virtqueue_add_inbuf_ctx", "$arg1",
     [("sgs", "$arg3:u32"), ("data", "$arg4:x64"), ("ctx", "$arg5:x64")], "both"),
    ("kick_prepare", "virtio_ring:virtqueue_kick_prepare", "$arg1", [], "both"),
    ("notify", "virtio_pci:vp_notify", "$arg1", [], "both"),
    ("interrupt", "virtio_ring:vring_interrupt", "$arg2", [("irq", "$arg1:s32")], "both"),
    ("detach_split", "virtio_ring:detach_buf_split", "$arg1", [("head", "$arg2:u32")], "split"),
    ("detach_packed", "virtio_ring:detach_buf_packed", "$arg1", [("id", "$arg2:u32")], "packed"),
]
# Return probes: (event, symbol, fetch, filter or None).
RETPROBES = [
    ("add_sgs_ret", "virtio_ring:virtqueue_add_sgs", "ret=$retval:s32", "ret!=0"),
    ("add_outbuf_ret", "virtio_ring:virtqueue_add_outbuf", "ret=$retval:s32", "ret!=0"),
    ("add_inbuf_ret", "virtio_ring:virtqueue_add_inbuf", "ret=$retval:s32", "ret!=0"),
    ("add_inbuf_ctx_ret", "virtio_ring:virtqueue_add_inbuf_ctx", "ret=$retval:s32", "ret!=0"),
    ("kick_prepare_ret", "virtio_ring:virtqueue_kick_prepare", "notify=$retval:u8", None),
    ("interrupt_ret", "virtio_ring:vring_interrupt", "ret=$retval:s32", None),
    # Only reaps that return a buffer: virtio_net's control queue spins on
    # virtqueue_get_buf (hundreds of empty polls per command).  The ring
    # state of a reap is in the detach_* event just before its return.
    ("get_buf_split_ret", "virtio_ring:virtqueue_get_buf_ctx_split", "token=$retval:x64", "token!=0"),
    ("get_buf_packed_ret", "virtio_ring:virtqueue_get_buf_ctx_packed", "token=$retval:x64", "token!=0"),
    ("detach_unused_ret", "virtio_ring:virtqueue_detach_unused_buf", "token=$retval:x64", None),
]


def fetch(btf, vq, chain, override, used):
    expr = vq
    size = signed = kind = None
    for i, (struct, member) in enumerate(chain):
        off, tid = btf.path(struct, member)
        size, signed, kind = btf.scalar(tid)
        used.append((struct, member, off, size, kind, btf.types[btf.struct(struct)]["source"]))
        if i + 1 < len(chain) and kind != "ptr":
            sys.exit("kprobes.py: %s.%s is not a pointer" % (struct, member))
        expr = "+%d(%s)" % (off, expr)
    if override is None:
        t = ("x64" if kind == "ptr" else ("s" if signed else "u") + str(size * 8))
    else:
        t = override
        want = {"u8": 1, "x16": 2, "u16": 2, "u32": 4, "string": 8}[t]
        if size != want:
            sys.exit("kprobes.py: %s is %d bytes, fetched as %s" % (chain[-1][1], size, t))
        if t == "string":
            expr = "+0(%s)" % expr  # char *name: the string it points to
    return "%s:%s" % (expr, t)


def build(btf):
    lines, used = [], []
    for event, sym, vq, extra, layouts in PROBES:
        variants = {"both": [("_s", SPLIT, "packed==0"), ("_p", PACKED, "packed==1")],
                    "split": [("", SPLIT, None)], "packed": [("", PACKED, None)]}[layouts]
        for suffix, fields, filt in variants:
            args = ["vq=%s:x64" % vq]
            for name, chain, override in COMMON + fields:
                args.append("%s=%s" % (name, fetch(btf, vq, chain, override, used)))
            args += ["%s=%s" % kv for kv in extra]
            name = "%s/%s%s" % (GROUP, event, suffix)
            lines.append("kprobe p:%s %s %s" % (name, sym, " ".join(args)))
            if filt:
                lines.append("filter %s %s" % (name, filt))
    for event, sym, arg, filt in RETPROBES:
        name = "%s/%s" % (GROUP, event)
        lines.append("kprobe r:%s %s %s" % (name, sym, arg))
        if filt:
            lines.append("filter %s %s" % (name, filt))
    return lines, used


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kver", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--offsets", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    vmlinux = os.path.join(a.work, "vmlinux-" + a.kver)
    how = extract_vmlinux("/boot/vmlinuz-" + a.kver, vmlinux)
    ring, cmd = module_file(a.kver, "virtio_ring")
    if cmd:
        plain = os.path.join(a.work, "virtio_ring.ko")
        with open(plain, "wb") as f:
            subprocess.run(cmd + [ring], stdout=f, check=True)
        ring_plain = plain
    else:
        ring_plain = ring
    btf = Btf()
    btf.load(bpftool_raw(["btf", "dump", "file", vmlinux]), "vmlinux")
    btf.load(bpftool_raw(["-B", vmlinux, "btf", "dump", "file", ring_plain]), "virtio_ring.ko")
    lines, used = build(btf)
    with open(a.events, "w") as f:
        f.write("\n".join(lines) + "\n")
    seen = set()
    with open(a.offsets, "w") as f:
        f.write("# Struct members read by the kprobe fetch args, from the BTF of\n")
        f.write("# /boot/vmlinuz-%s (vmlinux, %s payload) and %s\n" % (a.kver, how, ring))
        f.write("# via: bpftool btf dump file vmlinux format raw;\n")
        f.write("#      bpftool -B vmlinux btf dump file virtio_ring.ko format raw\n")
        f.write("# columns (tab-separated): struct.member, byte offset, size in bytes,\n")
        f.write("# BTF type of the member, file whose BTF defines the struct\n")
        for struct, member, off, size, kind, source in used:
            if (struct, member) in seen:
                continue
            seen.add((struct, member))
            f.write("%s.%s\t%d\t%d\t%s\t%s\n" % (struct, member, off, size, kind, source))
    print("kprobes.py: %d kprobe lines, %d struct members (kernel %s)" % (
        sum(l.startswith("kprobe") for l in lines), len(seen), a.kver))


if __name__ == "__main__":
    main()
