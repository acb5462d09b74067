//! The guest driver's side of the rings: Linux ftrace text (`cat /sys/kernel/tracing/trace`)
//! holding the kprobe events `traces/kprobes.py` defines on `virtio_ring` and `virtio_pci`.
//!
//! Each line is `<comm>-<pid> [<cpu>] <flags> <sec>.<usec>: <event>: <body>`. The comm is
//! right-aligned and may hold `-`, `/`, `:` or spaces, so a line is read from its `[cpu]`
//! anchor, not from the left. Entry events (`add_sgs_s`, `kick_prepare_p`, `detach_split`, …)
//! carry the queue (`vq` pointer, device index, queue index, name) and the driver's shadow
//! state read from `struct vring_virtqueue` at BTF offsets: free count, free head, the
//! avail/used shadows and what the driver read of the device's indices in ring memory. Return
//! events (`kick_prepare_ret`, `interrupt_ret`, `get_buf_split_ret`, …) carry one value and no
//! queue: each belongs to the latest unreturned entry of its function in the same CPU and
//! interrupt context, and is given that entry's queue here. `tracing_mark_write` lines are the
//! clock anchors (`ringside-anchor N begin|end`).
//!
//! An event is 40 bytes: the shadow fields are `u16`s (a ring has at most 32768 entries and
//! its indices are `u16`s), tokens are interned kernel pointers. What the record leaves out:
//! `inbuf_ctx`'s `ctx`, the packed `avail_used_flags` (it follows from `avail_wrap`, checked
//! here) and the comm/pid (the events are the driver's, whoever ran it).

use std::borrow::Cow;
use std::io::Read;

use serde::Serialize;

use super::intern::IdTable;
use super::lines::{MAX_LINE, find_byte, for_each_line, for_each_line_in};
use super::qemu_log::{HEX, digits, trim_end};
use crate::trace::error::{ImportWarning, TraceError, Warnings};

/// Index of a queue in [`DriverTrace::queues`].
pub type QueueId = u16;
/// Index of an interned token in [`DriverTrace::token`].
pub type TokenId = u32;

/// No queue (a return whose entry is not in the trace, a marker).
pub const NO_QUEUE: QueueId = u16::MAX;
/// No token (a reap that returned NULL).
pub const NO_TOKEN: TokenId = u32::MAX;

/// Which add function made a buffer available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AddFn {
    /// `virtqueue_add_sgs` (virtio-blk, virtio-net's control queue): `out` and `in` lists.
    Sgs,
    /// `virtqueue_add_outbuf` (virtio-net tx): device-readable.
    Outbuf,
    /// `virtqueue_add_inbuf` (virtio-rng, small rx buffers): device-writable.
    Inbuf,
    /// `virtqueue_add_inbuf_ctx` (virtio-net mergeable rx): device-writable with a context.
    InbufCtx,
}

impl AddFn {
    /// The kernel function.
    pub fn function(self) -> &'static str {
        match self {
            AddFn::Sgs => "virtqueue_add_sgs",
            AddFn::Outbuf => "virtqueue_add_outbuf",
            AddFn::Inbuf => "virtqueue_add_inbuf",
            AddFn::InbufCtx => "virtqueue_add_inbuf_ctx",
        }
    }
    fn event(self) -> &'static str {
        match self {
            AddFn::Sgs => "add_sgs",
            AddFn::Outbuf => "add_outbuf",
            AddFn::Inbuf => "add_inbuf",
            AddFn::InbufCtx => "add_inbuf_ctx",
        }
    }
}

/// What a driver event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum DriverKind {
    /// An add function's entry: a buffer about to be made available (`arg`: its token; the
    /// shadow's `free_head` is its head, or its buffer ID on a packed ring).
    Add(AddFn),
    /// `virtqueue_kick_prepare`'s entry: the driver decides whether to notify.
    KickPrepare,
    /// `vp_notify`'s entry: the doorbell write (the kick itself).
    Notify,
    /// `vring_interrupt`'s entry (`arg`: the irq).
    Interrupt,
    /// `detach_buf_split`/`_packed`'s entry: a used buffer taken back (`arg`: head or ID).
    Detach,
    /// An add function returned an error (`arg`: the error as an `i32`, e.g. -28 ENOSPC).
    AddFailed,
    /// `virtqueue_kick_prepare` returned (`arg`: 1 the driver kicks, 0 it does not).
    KickDecision,
    /// `vring_interrupt` returned (`arg`: 1 IRQ_HANDLED, 0 IRQ_NONE).
    InterruptDone,
    /// `virtqueue_get_buf_ctx_*` returned a token: the driver reaped a used buffer.
    Reap,
    /// `virtqueue_detach_unused_buf` returned (`arg`: the token, [`NO_TOKEN`] for NULL): a
    /// buffer taken back without the device using it (device removal).
    DetachUnused,
    /// A `trace_marker` line (`arg`: its text).
    Marker,
    /// Another ftrace event, kept by name (`arg`: `name: body`).
    Unknown,
}

impl DriverKind {
    /// Whether the event is an entry with the queue's shadow state.
    pub fn has_shadow(self) -> bool {
        matches!(
            self,
            DriverKind::Add(_)
                | DriverKind::KickPrepare
                | DriverKind::Notify
                | DriverKind::Interrupt
                | DriverKind::Detach
        )
    }
}

/// `flags` bits of a [`DriverEvent`].
const PACKED: u8 = 1;
const AVAIL_WRAP: u8 = 2;
const HARDIRQ: u8 = 4;
const SOFTIRQ: u8 = 8;

/// One driver event: 40 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverEvent {
    /// Guest TAI, µs.
    pub time_us: u64,
    /// 1-based line in the file.
    pub line: u32,
    /// The event's value: see [`DriverKind`].
    pub arg: u32,
    /// The queue ([`NO_QUEUE`] when not known).
    pub queue: QueueId,
    /// What it is.
    pub kind: DriverKind,
    flags: u8,
    /// Entry events: the shadow fields (see [`Shadow`]). Return events: the index of their
    /// entry event in the first two words (`u32::MAX` when none).
    data: [u16; 10],
}

/// The driver's view of one queue at an entry event, as the kprobe read it (before the call's
/// own effect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Shadow {
    /// Packed ring (else split).
    pub packed: bool,
    /// `num_free`: descriptors free.
    pub free: u16,
    /// `free_head`: the next chain's head (split) or the next buffer ID (packed).
    pub free_head: u16,
    /// `num_added`: buffers added since the last kick_prepare.
    pub added: u16,
    /// `last_used_idx`: split, the free-running count of used entries reaped; packed, the next
    /// used slot (bits 0–14) and the driver's used wrap counter (bit 15).
    pub last_used: u16,
    /// Split: `avail_idx_shadow`; packed: `next_avail_idx`.
    pub avail: u16,
    /// Packed: the driver's avail wrap counter.
    pub avail_wrap: bool,
    /// Split: `avail_flags_shadow` (bit 0 VRING_AVAIL_F_NO_INTERRUPT); packed:
    /// `event_flags_shadow` (0 enable, 1 disable, 2 desc).
    pub irq_flags: u16,
    /// Split: `avail->idx` read from ring memory; packed: driver event area `off_wrap`.
    pub avail_mem: u16,
    /// Split: `used->idx` read from ring memory (the device's); packed: device event area
    /// `off_wrap`.
    pub used_mem: u16,
    /// Split: `used->flags` (bit 0 VRING_USED_F_NO_NOTIFY); packed: device event area
    /// `flags` (0 enable, 1 disable, 2 desc).
    pub notify_flags: u16,
    /// Packed: driver event area `flags`.
    pub drv_flags: u16,
    /// Add events: `out`/`sgs` and `in` scatterlist counts (255 at most).
    pub sgs: (u8, u8),
}

impl Shadow {
    /// Packed: the next used slot the driver reads; split: `last_used` itself.
    pub fn used_slot(&self) -> u16 {
        if self.packed {
            self.last_used & 0x7fff
        } else {
            self.last_used
        }
    }
    /// Packed: the driver's used wrap counter (bit 15 of `last_used_idx` in Linux 6.1).
    pub fn used_wrap(&self) -> bool {
        self.last_used & 0x8000 != 0
    }
}

impl DriverEvent {
    /// Whether the event ran in a hard interrupt handler.
    pub fn in_hardirq(&self) -> bool {
        self.flags & HARDIRQ != 0
    }
    /// Whether the event ran in a softirq.
    pub fn in_softirq(&self) -> bool {
        self.flags & SOFTIRQ != 0
    }
    /// The shadow state of an entry event.
    pub fn shadow(&self) -> Option<Shadow> {
        if !self.kind.has_shadow() {
            return None;
        }
        let d = &self.data;
        let packed = self.flags & PACKED != 0;
        let sgs = (d[9] >> 8, d[9] & 0xff);
        let sgs = (sgs.0 as u8, sgs.1 as u8);
        Some(if packed {
            Shadow {
                packed,
                free: d[0],
                free_head: d[1],
                added: d[2],
                last_used: d[3],
                avail: d[4],
                avail_wrap: self.flags & AVAIL_WRAP != 0,
                irq_flags: d[5],
                avail_mem: d[6],
                used_mem: d[7],
                notify_flags: d[8] >> 8,
                drv_flags: d[8] & 0xff,
                sgs,
            }
        } else {
            Shadow {
                packed,
                free: d[0],
                free_head: d[1],
                added: d[2],
                last_used: d[3],
                avail: d[4],
                avail_wrap: false,
                irq_flags: d[5],
                avail_mem: d[6],
                used_mem: d[7],
                notify_flags: d[8],
                drv_flags: 0,
                sgs,
            }
        })
    }
    /// A return event's entry (index into [`DriverTrace::events`]).
    pub fn entry(&self) -> Option<u32> {
        if self.kind.has_shadow() || matches!(self.kind, DriverKind::Marker | DriverKind::Unknown) {
            return None;
        }
        let i = u32::from(self.data[0]) | u32::from(self.data[1]) << 16;
        (i != u32::MAX).then_some(i)
    }
    /// The token of an add, reap or detach-unused ([`NO_TOKEN`] otherwise).
    pub fn token(&self) -> TokenId {
        match self.kind {
            DriverKind::Add(_) | DriverKind::Reap | DriverKind::DetachUnused => self.arg,
            _ => NO_TOKEN,
        }
    }
    /// The signed value of a return (`AddFailed`, `InterruptDone`).
    pub fn ret(&self) -> i32 {
        self.arg as i32
    }
}

/// A queue as the driver names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriverQueue {
    /// The `struct virtqueue *`.
    pub vq: u64,
    /// `virtioN`'s N (the guest's device index, not the PCI slot).
    pub dev: i32,
    /// Queue index within the device.
    pub index: u16,
    /// The queue's name (`req.0`, `input.0`, `output.0`, `control`, `input`).
    pub name: String,
    /// Ring size.
    pub num: u32,
    /// Packed ring.
    pub packed: bool,
    /// Line of its first event.
    pub first_line: u32,
}

impl DriverQueue {
    /// The device type Linux's queue names imply (`req.N` blk, `input.N`/`output.N`/`control`
    /// net, `input` rng).
    pub fn device_type(&self) -> crate::trace::DeviceType {
        use crate::trace::DeviceType;
        let n = self.name.as_str();
        let numbered = |p: &str| {
            n.strip_prefix(p)
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        };
        if numbered("req.") {
            DeviceType::Blk
        } else if numbered("input.") || numbered("output.") || n == "control" {
            DeviceType::Net
        } else if n == "input" {
            DeviceType::Rng
        } else {
            DeviceType::Unknown
        }
    }
    /// Whether the device fills this queue's buffers on its own initiative (net rx): buffers
    /// wait there for packets, so a long wait is normal.
    pub fn device_initiated(&self) -> bool {
        self.name.starts_with("input.")
    }
}

/// A `ringside-anchor N begin|end` marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AnchorMark {
    /// The anchor's number.
    pub n: u32,
    /// Begin (else end).
    pub begin: bool,
    /// Guest time, µs.
    pub time_us: u64,
    /// Line.
    pub line: u32,
}

/// The ftrace header's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FtraceHeader {
    /// `entries-in-buffer/entries-written`.
    pub entries: Option<(u64, u64)>,
    /// `#P:N`: CPUs.
    pub cpus: Option<u32>,
    /// `# tracer: nop` seen.
    pub tracer: bool,
}

/// Counts from an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DriverStats {
    /// Bytes read.
    pub bytes: u64,
    /// Lines read.
    pub lines: u64,
    /// `#` lines.
    pub header_lines: u64,
    /// Empty lines.
    pub blank_lines: u64,
    /// Driver events (entries and returns).
    pub driver_events: u64,
    /// Marker lines.
    pub markers: u64,
    /// Other ftrace events.
    pub unknown_events: u64,
    /// Lines that did not parse (kept as unknown events or skipped, each with a warning).
    pub malformed_lines: u64,
    /// Returns whose entry is not in the trace.
    pub orphan_returns: u64,
}

/// A guest driver trace, imported.
#[derive(Debug, Clone)]
pub struct DriverTrace {
    source: String,
    events: Vec<DriverEvent>,
    queues: Vec<DriverQueue>,
    tokens: Vec<u64>,
    text: Vec<u8>,
    spans: Vec<(u32, u32)>,
    /// The clock anchors' markers, in file order.
    pub anchors: Vec<AnchorMark>,
    /// The header.
    pub header: FtraceHeader,
    /// Counts.
    pub stats: DriverStats,
    /// Problems met.
    pub warnings: Warnings,
}

/// Where a line failed: the byte column and what was expected there.
struct Miss {
    at: usize,
    expected: &'static str,
}

fn miss(at: usize, expected: &'static str) -> Miss {
    Miss { at, expected }
}

/// A cursor over a line.
struct Cur<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    #[inline]
    fn byte(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    /// Always inlined, as are [`Cur::num`] and its callers' field readers: the keys are
    /// constants there, and a compare of known length is a load or two instead of a `memcmp`
    /// call per field (measured: the calls took 9 % of the guest import's profile).
    #[inline(always)]
    fn lit(&mut self, l: &[u8], expected: &'static str) -> Result<(), Miss> {
        if self.s.get(self.pos..self.pos + l.len()) == Some(l) {
            self.pos += l.len();
            Ok(())
        } else {
            Err(miss(self.pos, expected))
        }
    }
    #[inline]
    fn skip_spaces(&mut self) {
        while self.byte() == Some(b' ') {
            self.pos += 1;
        }
    }
    /// `key=` then a number (decimal, `-`decimal or `0x`hex) ending in a space or the end.
    #[inline(always)]
    fn num(&mut self, key: &[u8], expected: &'static str) -> Result<i64, Miss> {
        self.lit(key, expected)?;
        let start = self.pos;
        let neg = self.byte() == Some(b'-');
        if neg {
            self.pos += 1;
        }
        let v = if self.s.get(self.pos..self.pos + 2) == Some(b"0x") {
            let mut j = self.pos + 2;
            let mut v: u64 = 0;
            while let Some(&c) = self.s.get(j) {
                let d = HEX[usize::from(c)];
                if d > 15 {
                    break;
                }
                v = (v << 4) | u64::from(d);
                j += 1;
            }
            if j == self.pos + 2 || j - self.pos - 2 > 16 {
                return Err(miss(start, expected));
            }
            self.pos = j;
            v as i64
        } else {
            let (v, end) = digits(self.s, self.pos).ok_or(miss(start, expected))?;
            self.pos = end;
            i64::try_from(v).map_err(|_| miss(start, expected))?
        };
        if !matches!(self.byte(), None | Some(b' ')) {
            return Err(miss(start, expected));
        }
        self.skip_spaces();
        Ok(if neg { -v } else { v })
    }
    /// `name="…"` (or `name=(fault)`): the string.
    fn string(&mut self, key: &[u8], expected: &'static str) -> Result<&'a [u8], Miss> {
        self.lit(key, expected)?;
        let start = self.pos;
        let v = if self.byte() == Some(b'"') {
            let rest = self.s.get(self.pos + 1..).unwrap_or_default();
            let end = rest
                .iter()
                .position(|&c| c == b'"')
                .ok_or(miss(start, expected))?;
            self.pos += end + 2;
            rest.get(..end).unwrap_or_default()
        } else if self.s.get(self.pos..self.pos + 7) == Some(b"(fault)") {
            self.pos += 7;
            b"(fault)"
        } else {
            return Err(miss(start, expected));
        };
        if !matches!(self.byte(), None | Some(b' ')) {
            return Err(miss(start, expected));
        }
        self.skip_spaces();
        Ok(v)
    }
    fn done(&mut self, expected: &'static str) -> Result<(), Miss> {
        self.skip_spaces();
        if self.pos < self.s.len() {
            Err(miss(self.pos, expected))
        } else {
            Ok(())
        }
    }
}

/// The fields of an entry event's queue, read before the layout's.
struct QueueFields<'a> {
    vq: u64,
    packed: bool,
    dev: i32,
    index: u16,
    name: &'a [u8],
    num: u32,
}

/// How an ftrace line begins: CPU, irq-context flags, time, event name and body.
struct Head<'a> {
    cpu: u16,
    ctx: u8,
    time_us: u64,
    name: &'a [u8],
    body: usize,
}

const SHAPE: &str = "`<comm>-<pid> [<cpu>] <5 flags> <sec>.<usec>: <event>: <body>` (ftrace text, \
                     as `cat /sys/kernel/tracing/trace` prints it)";

/// Parses the part of a line before the body.
fn head(line: &[u8]) -> Result<Head<'_>, Miss> {
    // The first `[` followed by digits, `] `, five flag bytes and a space: the CPU field.
    let mut from = 0;
    let open = loop {
        let i = line
            .get(from..)
            .and_then(|r| find_byte(r, b'['))
            .map(|i| i + from)
            .ok_or(miss(0, SHAPE))?;
        if let Some((_, e)) = digits(line, i + 1)
            && line.get(e..e + 2) == Some(b"] ")
            && line.get(e + 7) == Some(&b' ')
        {
            break i;
        }
        from = i + 1;
    };
    let (cpu, e) = digits(line, open + 1).ok_or(miss(open + 1, SHAPE))?;
    let flags = line.get(e + 2..e + 7).ok_or(miss(e + 2, SHAPE))?;
    let ctx = match flags.get(2) {
        Some(b'h' | b'H' | b'z') => HARDIRQ,
        Some(b's') => SOFTIRQ,
        _ => 0,
    };
    let mut c = Cur {
        s: line,
        pos: e + 8,
    };
    c.skip_spaces();
    let ts = "a timestamp `<sec>.<usec>: `";
    let (sec, dot) = digits(line, c.pos).ok_or(miss(c.pos, ts))?;
    (line.get(dot) == Some(&b'.'))
        .then_some(())
        .ok_or(miss(dot, ts))?;
    let (frac, end) = digits(line, dot + 1).ok_or(miss(dot + 1, ts))?;
    let n = end - dot - 1;
    // ftrace prints µs (6 digits); ns (9) under some trace_clock settings.
    let usec = match n {
        6 => frac,
        9 => frac / 1000,
        _ => return Err(miss(dot + 1, "6 (µs) or 9 (ns) decimals after the seconds")),
    };
    let time_us = sec
        .checked_mul(1_000_000)
        .and_then(|t| t.checked_add(usec))
        .ok_or(miss(c.pos, ts))?;
    c.pos = end;
    c.lit(b": ", ts)?;
    let start = c.pos;
    // The name runs to the first `:`; checked in one branch-free pass, and walked byte by
    // byte only when a byte does not belong (to say where).
    let rest = line.get(start..).unwrap_or_default();
    match find_byte(rest, b':') {
        Some(n) if rest.get(..n).is_some_and(name_bytes) => c.pos += n,
        _ => {
            while c.byte().is_some_and(is_name_byte) {
                c.pos += 1;
            }
        }
    }
    let name = line.get(start..c.pos).unwrap_or_default();
    if name.is_empty() {
        return Err(miss(start, "an event name"));
    }
    // `name: body`, or just `name:` with an empty body.
    let body = if line.get(c.pos..c.pos + 2) == Some(b": ") {
        c.pos + 2
    } else if c.pos + 1 == line.len() && line.get(c.pos) == Some(&b':') {
        line.len()
    } else {
        return Err(miss(c.pos, "`: ` after the event name"));
    };
    Ok(Head {
        cpu: u16::try_from(cpu).unwrap_or(u16::MAX),
        ctx,
        time_us,
        name,
        body,
    })
}

/// Whether `b` may be part of an event name: `[A-Za-z0-9_]`.
#[inline]
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether every byte of `s` may be part of an event name, without an early exit (so the
/// loop needs no branch per byte).
#[inline]
fn name_bytes(s: &[u8]) -> bool {
    s.iter().fold(true, |ok, &b| ok & is_name_byte(b))
}

/// What an event name stands for.
#[derive(Clone, Copy)]
enum Name {
    /// An entry with ring state: kind, layout (`Some(true)` packed, `Some(false)` split).
    Entry(DriverKind, bool),
    /// A return of this function.
    Ret(Func, &'static str),
    Marker,
}

/// The probed functions whose returns are matched to entries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Func {
    Add,
    KickPrepare,
    Interrupt,
    /// `get_buf` and `detach_unused` both return after a detach.
    GetBuf,
    DetachUnused,
}

fn name_of(n: &[u8]) -> Option<Name> {
    use DriverKind as K;
    let e = |k, packed| Some(Name::Entry(k, packed));
    match n {
        b"add_sgs_s" => e(K::Add(AddFn::Sgs), false),
        b"add_sgs_p" => e(K::Add(AddFn::Sgs), true),
        b"add_outbuf_s" => e(K::Add(AddFn::Outbuf), false),
        b"add_outbuf_p" => e(K::Add(AddFn::Outbuf), true),
        b"add_inbuf_s" => e(K::Add(AddFn::Inbuf), false),
        b"add_inbuf_p" => e(K::Add(AddFn::Inbuf), true),
        b"add_inbuf_ctx_s" => e(K::Add(AddFn::InbufCtx), false),
        b"add_inbuf_ctx_p" => e(K::Add(AddFn::InbufCtx), true),
        b"kick_prepare_s" => e(K::KickPrepare, false),
        b"kick_prepare_p" => e(K::KickPrepare, true),
        b"notify_s" => e(K::Notify, false),
        b"notify_p" => e(K::Notify, true),
        b"interrupt_s" => e(K::Interrupt, false),
        b"interrupt_p" => e(K::Interrupt, true),
        b"detach_split" => e(K::Detach, false),
        b"detach_packed" => e(K::Detach, true),
        b"add_sgs_ret" | b"add_outbuf_ret" | b"add_inbuf_ret" | b"add_inbuf_ctx_ret" => {
            Some(Name::Ret(Func::Add, "ret="))
        }
        b"kick_prepare_ret" => Some(Name::Ret(Func::KickPrepare, "notify=")),
        b"interrupt_ret" => Some(Name::Ret(Func::Interrupt, "ret=")),
        b"get_buf_split_ret" | b"get_buf_packed_ret" => Some(Name::Ret(Func::GetBuf, "token=")),
        b"detach_unused_ret" => Some(Name::Ret(Func::DetachUnused, "token=")),
        b"tracing_mark_write" => Some(Name::Marker),
        _ => None,
    }
}

/// The latest unreturned entries of one CPU and interrupt context.
#[derive(Default)]
struct Pending {
    key: (u16, u8),
    kick: Vec<u32>,
    irq: Vec<u32>,
    detach: Vec<u32>,
    add: Option<u32>,
}

/// Entries deeper than this are dropped from the oldest end (the kernel runs at most 10
/// kretprobe instances per function, `r10:`).
const MAX_PENDING: usize = 64;

/// Accumulates a trace while lines stream in.
struct Builder {
    t: DriverTrace,
    vq_index: IdTable,
    /// Each queue's fields (`vq=… packed=… dev=… q=… name="…" `) as the first event naming it
    /// spelled them: a later event spelling them byte for byte names the same queue, and its
    /// fields need not be parsed again (the most used queue is tried first).
    spellings: Vec<Vec<u8>>,
    last_spelled: usize,
    token_index: IdTable,
    pending: Vec<Pending>,
}

const SPLIT_FIELDS: &str = "the split fields `num= free_head= added= last_used= avail_idx_shadow= \
                            avail_flags_shadow= avail_idx= used_idx= used_flags=` in this order \
                            (traces/kprobes.py)";
const PACKED_FIELDS: &str = "the packed fields `num= free_head= added= last_used= next_avail= \
                             avail_wrap= avail_used_flags= event_flags_shadow= drv_off_wrap= \
                             drv_flags= dev_off_wrap= dev_flags=` in this order (traces/kprobes.py)";
const QUEUE_FIELDS: &str = "`(<symbol>+0x0/<size> [<module>]) vq=0x… packed=0|1 dev=N q=N \
                            name=\"…\" free=N` (traces/kprobes.py)";

fn u16_of(v: i64, at: usize, expected: &'static str) -> Result<u16, Miss> {
    u16::try_from(v).map_err(|_| miss(at, expected))
}

/// An entry's queue: one already known by the spelling of its fields, or fields read (and
/// where they end).
enum Named<'a> {
    Known(QueueId),
    New(QueueFields<'a>, usize),
}

/// Reads an entry's queue fields (`vq=… packed=… dev=… q=… name="…"`), checking `packed`
/// against the event's layout; `num` is read later and left 0. Returns them and where they end.
fn queue_fields<'a>(c: &mut Cur<'a>, packed: bool) -> Result<(QueueFields<'a>, usize), Miss> {
    let vq = c.num(b"vq=", QUEUE_FIELDS)? as u64;
    let p_at = c.pos;
    let p = c.num(b"packed=", QUEUE_FIELDS)?;
    if p != i64::from(packed) {
        return Err(miss(
            p_at,
            if packed {
                "packed=1 in a `_p`/`detach_packed` event (its filter is packed==1)"
            } else {
                "packed=0 in a `_s`/`detach_split` event (its filter is packed==0)"
            },
        ));
    }
    let d_at = c.pos;
    let dev = i32::try_from(c.num(b"dev=", QUEUE_FIELDS)?).map_err(|_| miss(d_at, QUEUE_FIELDS))?;
    let q_at = c.pos;
    let index = u16_of(c.num(b"q=", QUEUE_FIELDS)?, q_at, QUEUE_FIELDS)?;
    let name = c.string(b"name=", QUEUE_FIELDS)?;
    Ok((
        QueueFields {
            vq,
            packed,
            dev,
            index,
            name,
            num: 0,
        },
        c.pos,
    ))
}

impl Builder {
    fn new(source: &str) -> Builder {
        Builder {
            t: DriverTrace {
                source: source.to_string(),
                events: Vec::new(),
                queues: Vec::new(),
                tokens: Vec::new(),
                text: Vec::new(),
                spans: Vec::new(),
                anchors: Vec::new(),
                header: FtraceHeader::default(),
                stats: DriverStats::default(),
                warnings: Warnings::default(),
            },
            vq_index: IdTable::new(),
            spellings: Vec::new(),
            last_spelled: 0,
            token_index: IdTable::new(),
            pending: Vec::new(),
        }
    }

    fn warn(&mut self, line: u64, col: Option<usize>, message: String, expected: &str, hint: &str) {
        self.t.warnings.push(ImportWarning {
            file: self.t.source.clone(),
            line: Some(line),
            offset: None,
            column: col.map(|c| c as u64 + 1),
            message,
            expected: expected.to_string(),
            hint: hint.to_string(),
        });
    }

    fn text(&mut self, t: &[u8]) -> u32 {
        let id = self.t.spans.len() as u32;
        let t = t.get(..t.len().min(u16::MAX as usize)).unwrap_or_default();
        self.t
            .spans
            .push((self.t.text.len() as u32, t.len() as u32));
        self.t.text.extend_from_slice(t);
        id
    }

    fn token(&mut self, p: u64) -> TokenId {
        if p == 0 {
            return NO_TOKEN;
        }
        let next = self.t.tokens.len() as u32;
        let tokens = &self.t.tokens;
        let id = self
            .token_index
            .get_or_insert(p, |id| tokens.get(id as usize) == Some(&p), next);
        if id == next {
            self.t.tokens.push(p);
        }
        id
    }

    fn pending(&mut self, key: (u16, u8)) -> &mut Pending {
        let i = match self.pending.iter().position(|p| p.key == key) {
            Some(i) => i,
            None => {
                self.pending.push(Pending {
                    key,
                    ..Pending::default()
                });
                self.pending.len() - 1
            }
        };
        &mut self.pending[i]
    }

    /// The queue an entry names (a new one when its `vq` pointer is new, or was reused for
    /// another queue).
    fn queue(&mut self, q: &QueueFields<'_>, line: u32) -> QueueId {
        let same = |d: &DriverQueue| {
            d.vq == q.vq
                && d.dev == q.dev
                && d.index == q.index
                && d.packed == q.packed
                && d.name.as_bytes() == q.name
        };
        let next = self.t.queues.len() as u32;
        let queues = &self.t.queues;
        let id =
            self.vq_index
                .get_or_insert(q.vq, |id| queues.get(id as usize).is_some_and(same), next);
        if id == next {
            self.t.queues.push(DriverQueue {
                vq: q.vq,
                dev: q.dev,
                index: q.index,
                name: String::from_utf8_lossy(q.name).into_owned(),
                num: q.num,
                packed: q.packed,
                first_line: line,
            });
            self.spellings.push(Vec::new());
        }
        QueueId::try_from(id).unwrap_or(NO_QUEUE)
    }

    /// The known queue whose fields `rest` starts with, spelled exactly as they were when the
    /// queue was first seen (so that parsing them would give that queue again), and the length
    /// of that spelling. The spelling ends in the spaces before `free=`: a further space after
    /// it would be read differently, and is left to the parser.
    #[inline]
    fn spelled(&mut self, rest: &[u8], packed: bool) -> Option<(QueueId, usize)> {
        let fits = |i: usize| -> Option<usize> {
            let s = self.spellings.get(i)?;
            (!s.is_empty()
                && rest.starts_with(s)
                && rest.get(s.len()) != Some(&b' ')
                && self.t.queues.get(i).is_some_and(|q| q.packed == packed))
            .then_some(s.len())
        };
        let last = self.last_spelled;
        let (i, len) = fits(last)
            .map(|n| (last, n))
            .or_else(|| (0..self.spellings.len()).find_map(|i| fits(i).map(|n| (i, n))))?;
        self.last_spelled = i;
        Some((QueueId::try_from(i).ok()?, len))
    }

    fn line(&mut self, no: u64, line: &[u8]) {
        self.t.stats.lines += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first() == Some(&b'#') {
            self.header(no, line);
            return;
        }
        let lno = u32::try_from(no).unwrap_or(u32::MAX);
        let h = match head(line) {
            Ok(h) => h,
            // Blank lines have no `[cpu]`: told apart only here, so that an event line's
            // leading spaces (the right-aligned comm) are walked once.
            Err(_) if line.iter().all(|&c| c == b' ' || c == b'\t') => {
                self.t.stats.blank_lines += 1;
                return;
            }
            Err(m) => {
                self.t.stats.malformed_lines += 1;
                let printable = std::str::from_utf8(line).is_ok()
                    && line.iter().all(|&c| c >= 0x20 || c == b'\t');
                let what = if printable {
                    "not an ftrace event line".to_string()
                } else {
                    "binary data (control bytes or invalid UTF-8) where an ftrace line is expected"
                        .to_string()
                };
                self.warn(
                    no,
                    Some(m.at),
                    what,
                    m.expected,
                    "pass the guest's `cat /sys/kernel/tracing/trace` output as it was printed \
                     (traces/capture-guest.sh saves it as guest-trace.txt)",
                );
                return;
            }
        };
        let Some(name) = name_of(h.name) else {
            self.t.stats.unknown_events += 1;
            let text = self.text(line.get(h.body..).unwrap_or_default());
            let mut ev = self.event(lno, &h, DriverKind::Unknown, NO_QUEUE);
            ev.arg = text;
            self.t.events.push(ev);
            return;
        };
        let body = line.get(h.body..).unwrap_or_default();
        let res = match name {
            Name::Entry(kind, packed) => self.entry(lno, &h, kind, packed, body),
            Name::Ret(f, key) => self.ret(lno, &h, f, key, body),
            Name::Marker => {
                self.marker(lno, &h, body);
                Ok(())
            }
        };
        if let Err(m) = res {
            self.t.stats.malformed_lines += 1;
            let ev = String::from_utf8_lossy(h.name).into_owned();
            self.warn(
                no,
                Some(h.body + m.at),
                format!("malformed or truncated `{ev}` event, skipped"),
                m.expected,
                "the capture's kprobe definitions are in kprobe_events.txt; a line cut off by a \
                 full serial buffer ends mid-field",
            );
        }
    }

    fn event(&self, line: u32, h: &Head<'_>, kind: DriverKind, queue: QueueId) -> DriverEvent {
        DriverEvent {
            time_us: h.time_us,
            line,
            arg: 0,
            queue,
            kind,
            flags: h.ctx,
            data: [u16::MAX; 10],
        }
    }

    fn header(&mut self, no: u64, line: &[u8]) {
        self.t.stats.header_lines += 1;
        let s = String::from_utf8_lossy(line);
        if s.starts_with("# tracer:") {
            self.t.header.tracer = true;
        }
        if let Some(rest) = s.strip_prefix("# entries-in-buffer/entries-written: ") {
            let mut parts = rest.split_whitespace();
            let counts = parts.next().and_then(|c| {
                let (a, b) = c.split_once('/')?;
                Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?))
            });
            if let Some((inbuf, written)) = counts {
                self.t.header.entries = Some((inbuf, written));
                if inbuf < written {
                    self.warn(
                        no,
                        None,
                        format!(
                            "the ring buffer lost {} of {written} events (entries-in-buffer \
                             {inbuf}): the trace starts late, and buffers added before its start \
                             show as reaps without adds",
                            written - inbuf
                        ),
                        "entries-in-buffer equal to entries-written",
                        "make the buffer larger (buffer_size_kb) or the workload shorter",
                    );
                }
            }
            if let Some(p) = parts.find_map(|p| p.strip_prefix("#P:")) {
                self.t.header.cpus = p.parse().ok();
            }
        }
        if s.starts_with("##### CPU") {
            self.warn(
                no,
                None,
                "a per-CPU buffer starts here: events of that CPU before this line were \
                 overwritten"
                    .into(),
                "no `##### CPU N buffer started ####` line (nothing lost)",
                "make the buffer larger (buffer_size_kb)",
            );
        }
    }

    fn marker(&mut self, line: u32, h: &Head<'_>, body: &[u8]) {
        self.t.stats.markers += 1;
        let text = self.text(body);
        let mut ev = self.event(line, h, DriverKind::Marker, NO_QUEUE);
        ev.arg = text;
        self.t.events.push(ev);
        let s = trim_end(body);
        if let Some(rest) = s.strip_prefix(b"ringside-anchor ")
            && let Some((n, end)) = digits(rest, 0)
        {
            let word = rest.get(end..).unwrap_or_default();
            let begin = if word.starts_with(b" begin") {
                Some(true)
            } else if word == b" end" {
                Some(false)
            } else {
                None
            };
            if let (Some(begin), Ok(n)) = (begin, u32::try_from(n)) {
                self.t.anchors.push(AnchorMark {
                    n,
                    begin,
                    time_us: h.time_us,
                    line,
                });
            }
        }
    }

    fn entry(
        &mut self,
        line: u32,
        h: &Head<'_>,
        kind: DriverKind,
        packed: bool,
        body: &[u8],
    ) -> Result<(), Miss> {
        let mut c = Cur { s: body, pos: 0 };
        c.lit(b"(", QUEUE_FIELDS)?;
        let close = find_byte(body, b')').ok_or(miss(0, QUEUE_FIELDS))?;
        c.pos = close + 1;
        c.lit(b" ", QUEUE_FIELDS)?;
        let vq_at = c.pos;
        // The queue's fields, unless they are spelled as a known queue's were.
        let named = match self.spelled(body.get(vq_at..).unwrap_or_default(), packed) {
            Some((q, len)) => {
                c.pos = vq_at + len;
                Named::Known(q)
            }
            None => {
                let (f, end) = queue_fields(&mut c, packed)?;
                Named::New(f, end)
            }
        };
        let f_at = c.pos;
        let free = u16_of(c.num(b"free=", QUEUE_FIELDS)?, f_at, QUEUE_FIELDS)?;
        let lay = if packed { PACKED_FIELDS } else { SPLIT_FIELDS };
        let n_at = c.pos;
        let num = u32::try_from(c.num(b"num=", lay)?).map_err(|_| miss(n_at, lay))?;
        let mut data = [u16::MAX; 10];
        let mut flags = h.ctx;
        data[0] = free;
        #[inline(always)]
        fn f16(c: &mut Cur<'_>, key: &[u8], lay: &'static str) -> Result<u16, Miss> {
            let at = c.pos;
            u16_of(c.num(key, lay)?, at, lay)
        }
        data[1] = f16(&mut c, b"free_head=", lay)?;
        data[2] = f16(&mut c, b"added=", lay)?;
        data[3] = f16(&mut c, b"last_used=", lay)?;
        if packed {
            flags |= PACKED;
            data[4] = f16(&mut c, b"next_avail=", lay)?;
            let w_at = c.pos;
            let wrap = c.num(b"avail_wrap=", lay)?;
            if !(0..=1).contains(&wrap) {
                return Err(miss(w_at, "avail_wrap=0 or 1"));
            }
            if wrap == 1 {
                flags |= AVAIL_WRAP;
            }
            let a_at = c.pos;
            let auf = c.num(b"avail_used_flags=", lay)?;
            // Linux: 0x80 (AVAIL) while the wrap counter is 1, 0x8000 (USED) while it is 0.
            let want = if wrap == 1 { 0x80 } else { 0x8000 };
            if auf != want {
                return Err(miss(
                    a_at,
                    "avail_used_flags=0x80 while avail_wrap=1, 0x8000 while 0 (Linux 6.1)",
                ));
            }
            data[5] = f16(&mut c, b"event_flags_shadow=", lay)?;
            data[6] = f16(&mut c, b"drv_off_wrap=", lay)?;
            let df_at = c.pos;
            let drv_flags = f16(&mut c, b"drv_flags=", lay)?;
            data[7] = f16(&mut c, b"dev_off_wrap=", lay)?;
            let vf_at = c.pos;
            let dev_flags = f16(&mut c, b"dev_flags=", lay)?;
            // The event suppression flags are 0 (enable), 1 (disable) or 2 (desc); one byte
            // each keeps the record at 40 bytes.
            if drv_flags > 0xff {
                return Err(miss(
                    df_at,
                    "drv_flags below 0x100 (0 enable, 1 disable, 2 desc)",
                ));
            }
            if dev_flags > 0xff {
                return Err(miss(
                    vf_at,
                    "dev_flags below 0x100 (0 enable, 1 disable, 2 desc)",
                ));
            }
            data[8] = drv_flags | dev_flags << 8;
        } else {
            data[4] = f16(&mut c, b"avail_idx_shadow=", lay)?;
            data[5] = f16(&mut c, b"avail_flags_shadow=", lay)?;
            data[6] = f16(&mut c, b"avail_idx=", lay)?;
            data[7] = f16(&mut c, b"used_idx=", lay)?;
            data[8] = f16(&mut c, b"used_flags=", lay)?;
        }
        let sat = |v: i64| v.clamp(0, 255) as u16;
        let mut arg = 0u32;
        match kind {
            DriverKind::Add(f) => {
                let extra = match f {
                    AddFn::Sgs => "`out=N in=N data=0x…` after the layout's fields",
                    AddFn::InbufCtx => "`sgs=N data=0x… ctx=0x…` after the layout's fields",
                    _ => "`sgs=N data=0x…` after the layout's fields",
                };
                let (out, inn) = match f {
                    AddFn::Sgs => {
                        let o = c.num(b"out=", extra)?;
                        (o, c.num(b"in=", extra)?)
                    }
                    AddFn::Outbuf => (c.num(b"sgs=", extra)?, 0),
                    AddFn::Inbuf | AddFn::InbufCtx => (0, c.num(b"sgs=", extra)?),
                };
                data[9] = sat(out) << 8 | sat(inn);
                let token = c.num(b"data=", extra)? as u64;
                if f == AddFn::InbufCtx {
                    c.num(b"ctx=", extra)?;
                }
                arg = self.token(token);
            }
            DriverKind::Interrupt => {
                arg = c.num(b"irq=", "`irq=N` after the layout's fields")? as u32;
            }
            DriverKind::Detach => {
                let (key, exp): (&[u8], _) = if packed {
                    (b"id=", "`id=N` after the packed fields")
                } else {
                    (b"head=", "`head=N` after the split fields")
                };
                let at = c.pos;
                let v = c.num(key, exp)?;
                arg = u32::try_from(v).map_err(|_| miss(at, exp))?;
            }
            _ => {}
        }
        c.done("the end of the line after the event's fields")?;
        let queue = match named {
            Named::Known(q) => q,
            Named::New(mut f, end) => {
                f.num = num;
                let q = self.queue(&f, line);
                // The first spelling of a queue's fields is the one recognised from then on.
                if let Some(s) = self.spellings.get_mut(usize::from(q))
                    && s.is_empty()
                {
                    *s = body.get(vq_at..end).unwrap_or_default().to_vec();
                }
                q
            }
        };
        if let Some(q) = self.t.queues.get(usize::from(queue))
            && q.num != num
        {
            let (was, first) = (q.num, q.first_line);
            self.warn(
                u64::from(line),
                None,
                format!(
                    "queue `{}` has num={num} here, {was} at line {first}",
                    q.name
                ),
                "one ring size per queue while its vq pointer lives",
                "a different size means the queue was set up again; the size of its first event \
                 is used",
            );
        }
        let idx = self.t.events.len() as u32;
        let key = (h.cpu, h.ctx);
        let p = self.pending(key);
        let push = |v: &mut Vec<u32>| {
            if v.len() == MAX_PENDING {
                v.remove(0);
            }
            v.push(idx);
        };
        match kind {
            DriverKind::Add(_) => p.add = Some(idx),
            DriverKind::KickPrepare => push(&mut p.kick),
            DriverKind::Interrupt => push(&mut p.irq),
            DriverKind::Detach => push(&mut p.detach),
            _ => {}
        }
        self.t.events.push(DriverEvent {
            time_us: h.time_us,
            line,
            arg,
            queue,
            kind,
            flags,
            data,
        });
        self.t.stats.driver_events += 1;
        Ok(())
    }

    fn ret(
        &mut self,
        line: u32,
        h: &Head<'_>,
        f: Func,
        key: &'static str,
        body: &[u8],
    ) -> Result<(), Miss> {
        const RET: &str = "`(<caller>+0x…/0x… [<module>] <- <function>) <field>=<value>`";
        let mut c = Cur { s: body, pos: 0 };
        c.lit(b"(", RET)?;
        // The first ` <- `: found by its `<`.
        let mut from = 0;
        let arrow = loop {
            let lt = body
                .get(from..)
                .and_then(|r| find_byte(r, b'<'))
                .map(|i| i + from)
                .ok_or(miss(1, RET))?;
            if lt >= 1 && body.get(lt - 1..lt + 3) == Some(b" <- ") {
                break lt - 1;
            }
            from = lt + 1;
        };
        let close = body
            .get(arrow..)
            .and_then(|r| find_byte(r, b')'))
            .map(|i| i + arrow)
            .ok_or(miss(arrow, RET))?;
        c.pos = close + 1;
        c.lit(b" ", RET)?;
        let v = c.num(key.as_bytes(), RET)?;
        c.done("the end of the line after the return value")?;
        let p = self.pending((h.cpu, h.ctx));
        let (kind, entry) = match f {
            Func::Add => (DriverKind::AddFailed, p.add.take()),
            Func::KickPrepare => (DriverKind::KickDecision, p.kick.pop()),
            Func::Interrupt => (DriverKind::InterruptDone, p.irq.pop()),
            Func::GetBuf => (DriverKind::Reap, p.detach.pop()),
            // `detach_unused_buf` returns NULL without a detach when nothing is left.
            Func::DetachUnused if v == 0 => (DriverKind::DetachUnused, None),
            Func::DetachUnused => (DriverKind::DetachUnused, p.detach.pop()),
        };
        let arg = match kind {
            DriverKind::Reap | DriverKind::DetachUnused => self.token(v as u64),
            _ => v as i32 as u32,
        };
        let queue = entry
            .and_then(|i| self.t.events.get(i as usize))
            .map_or(NO_QUEUE, |e| e.queue);
        if entry.is_none() && !(f == Func::DetachUnused && v == 0) {
            self.t.stats.orphan_returns += 1;
        }
        let mut data = [u16::MAX; 10];
        let e = entry.unwrap_or(u32::MAX);
        data[0] = e as u16;
        data[1] = (e >> 16) as u16;
        self.t.events.push(DriverEvent {
            time_us: h.time_us,
            line,
            arg,
            queue,
            kind,
            flags: h.ctx,
            data,
        });
        self.t.stats.driver_events += 1;
        Ok(())
    }

    fn finish(mut self, bytes: u64, cut: &[(u64, u64)]) -> DriverTrace {
        for &(no, _) in cut {
            self.warn(
                no,
                None,
                format!("line longer than {MAX_LINE} bytes, cut"),
                "ftrace lines (well under 1 KiB)",
                "this is probably not a text trace",
            );
        }
        if self.t.stats.orphan_returns > 0 {
            let n = self.t.stats.orphan_returns;
            self.warn(
                0,
                None,
                format!(
                    "{n} return events have no entry event before them (the trace starts in the \
                     middle of a call, or entries were lost); their queue is unknown"
                ),
                "each `*_ret` after its function's entry event on the same CPU",
                "start tracing before the workload",
            );
            if let Some(w) = self.t.warnings.list.last_mut() {
                w.line = None;
            }
        }
        self.t.stats.bytes = bytes;
        self.t.events.shrink_to_fit();
        self.t
    }
}

impl DriverTrace {
    /// Imports a driver trace held in memory; bad lines become warnings.
    pub fn from_bytes(data: &[u8], source: &str) -> DriverTrace {
        let mut b = Builder::new(source);
        let mut cut = Vec::new();
        for_each_line_in(
            data,
            |no, _, l| b.line(no, l),
            |no, off| cut.push((no, off)),
        );
        b.finish(data.len() as u64, &cut)
    }

    /// Imports a driver trace from a reader, in one pass (it is never held as text).
    pub fn from_reader<R: Read>(r: R, source: &str) -> Result<DriverTrace, TraceError> {
        let mut b = Builder::new(source);
        let mut cut = Vec::new();
        let bytes = for_each_line(r, |no, _, l| b.line(no, l), |no, off| cut.push((no, off)))
            .map_err(|e| TraceError::Io {
                file: source.to_string(),
                message: e.to_string(),
                hint: "check the path and permissions",
            })?;
        Ok(b.finish(bytes, &cut))
    }

    /// Imports and checks that the bytes are a driver trace: at least one driver event or
    /// anchor; else an error saying what the bytes are.
    pub fn parse(data: &[u8], source: &str) -> Result<DriverTrace, TraceError> {
        Self::from_bytes(data, source).ensure(data)
    }

    /// This trace, if it holds a driver event or an anchor; else the error [`Self::parse`]
    /// gives, worded from `head`, the input's first bytes.
    pub fn ensure(self, head: &[u8]) -> Result<DriverTrace, TraceError> {
        if self.stats.driver_events > 0 || !self.anchors.is_empty() {
            return Ok(self);
        }
        let s = super::sniff::sniff(&self.source, head);
        let what = match s.kind {
            super::sniff::InputKind::Unknown => s.why,
            k => format!("{} ({})", k.describe(), s.why),
        };
        Err(TraceError::Unusable {
            file: self.source,
            what: format!("no driver event in it: {what}"),
            expected: "the guest's ftrace text (`cat /sys/kernel/tracing/trace`) with the kprobe \
                       events of traces/kprobes.py (add_*_s/_p, kick_prepare_*, notify_*, \
                       interrupt_*, detach_*, *_ret) and ringside-anchor markers"
                .into(),
            hint: match s.kind {
                super::sniff::InputKind::TraceLog => {
                    "this is a QEMU trace: pass it as the trace, and the guest's with --guest \
                     (traces/<capture>/guest-trace.txt)"
                }
                super::sniff::InputKind::DpdkLog => "this is DPDK's log: pass it with --dpdk",
                _ => "pass the guest's trace with --guest (traces/<capture>/guest-trace.txt)",
            }
            .into(),
        })
    }

    /// The file name.
    pub fn source(&self) -> &str {
        &self.source
    }
    /// Events in file (time) order.
    pub fn events(&self) -> &[DriverEvent] {
        &self.events
    }
    /// The queues, in order of first appearance.
    pub fn queues(&self) -> &[DriverQueue] {
        &self.queues
    }
    /// The kernel pointer a token id stands for (0 for [`NO_TOKEN`]).
    pub fn token(&self, id: TokenId) -> u64 {
        self.tokens.get(id as usize).copied().unwrap_or(0)
    }
    /// The id of a token value, if the trace has it.
    pub fn token_id(&self, value: u64) -> Option<TokenId> {
        self.tokens
            .iter()
            .position(|&t| t == value)
            .map(|i| i as u32)
    }
    /// Kept text (a marker's, an unknown event's).
    pub fn text(&self, id: u32) -> Cow<'_, str> {
        let bytes = self
            .spans
            .get(id as usize)
            .and_then(|&(s, l)| self.text.get(s as usize..(s + l) as usize))
            .unwrap_or_default();
        String::from_utf8_lossy(bytes)
    }

    /// The event's name as the trace prints it.
    pub fn event_name(&self, e: &DriverEvent) -> String {
        let sfx = if e.flags & PACKED != 0 { "_p" } else { "_s" };
        let packed = self
            .queues
            .get(usize::from(e.queue))
            .is_some_and(|q| q.packed);
        match e.kind {
            DriverKind::Add(f) => format!("{}{sfx}", f.event()),
            DriverKind::KickPrepare => format!("kick_prepare{sfx}"),
            DriverKind::Notify => format!("notify{sfx}"),
            DriverKind::Interrupt => format!("interrupt{sfx}"),
            DriverKind::Detach if e.flags & PACKED != 0 => "detach_packed".into(),
            DriverKind::Detach => "detach_split".into(),
            DriverKind::AddFailed => "add_ret".into(),
            DriverKind::KickDecision => "kick_prepare_ret".into(),
            DriverKind::InterruptDone => "interrupt_ret".into(),
            DriverKind::Reap if packed => "get_buf_packed_ret".into(),
            DriverKind::Reap => "get_buf_split_ret".into(),
            DriverKind::DetachUnused => "detach_unused_ret".into(),
            DriverKind::Marker => "tracing_mark_write".into(),
            DriverKind::Unknown => self
                .text(e.arg)
                .split(':')
                .next()
                .unwrap_or("?")
                .to_string(),
        }
    }

    /// The event's fields (name, value) as the kprobe printed them.
    pub fn fields(&self, e: &DriverEvent) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = Vec::new();
        let mut f = |k: &str, val: String| v.push((k.to_string(), val));
        if let Some(q) = self.queues.get(usize::from(e.queue)) {
            f("vq", format!("{:#x}", q.vq));
            if e.kind.has_shadow() {
                f("dev", q.dev.to_string());
                f("q", q.index.to_string());
            }
            f("name", format!("\"{}\"", q.name));
        }
        if let Some(s) = e.shadow() {
            f("free", s.free.to_string());
            f("free_head", s.free_head.to_string());
            f("added", s.added.to_string());
            if s.packed {
                f("last_used", format!("{:#x}", s.last_used));
                f("next_avail", s.avail.to_string());
                f("avail_wrap", u8::from(s.avail_wrap).to_string());
                f("event_flags_shadow", format!("{:#x}", s.irq_flags));
                f("drv_off_wrap", format!("{:#x}", s.avail_mem));
                f("drv_flags", format!("{:#x}", s.drv_flags));
                f("dev_off_wrap", format!("{:#x}", s.used_mem));
                f("dev_flags", format!("{:#x}", s.notify_flags));
            } else {
                f("last_used", s.last_used.to_string());
                f("avail_idx_shadow", s.avail.to_string());
                f("avail_flags_shadow", format!("{:#x}", s.irq_flags));
                f("avail_idx", s.avail_mem.to_string());
                f("used_idx", s.used_mem.to_string());
                f("used_flags", format!("{:#x}", s.notify_flags));
            }
        }
        match e.kind {
            DriverKind::Add(AddFn::Sgs) => {
                let s = e.shadow().map_or((0, 0), |s| s.sgs);
                f("out", s.0.to_string());
                f("in", s.1.to_string());
                f("data", format!("{:#x}", self.token(e.arg)));
            }
            DriverKind::Add(_) => {
                let s = e.shadow().map_or((0, 0), |s| s.sgs);
                f("sgs", (s.0 + s.1).to_string());
                f("data", format!("{:#x}", self.token(e.arg)));
            }
            DriverKind::Interrupt => f("irq", e.arg.to_string()),
            DriverKind::Detach if e.flags & PACKED != 0 => f("id", e.arg.to_string()),
            DriverKind::Detach => f("head", e.arg.to_string()),
            DriverKind::AddFailed | DriverKind::InterruptDone => f("ret", e.ret().to_string()),
            DriverKind::KickDecision => f("notify", e.arg.to_string()),
            DriverKind::Reap | DriverKind::DetachUnused => {
                f("token", format!("{:#x}", self.token(e.arg)))
            }
            DriverKind::Marker | DriverKind::Unknown => f("text", self.text(e.arg).into_owned()),
            _ => {}
        }
        v
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.events.capacity() * std::mem::size_of::<DriverEvent>()
            + self.tokens.capacity() * 8
            + self.text.capacity()
            + self.spans.capacity() * 8
            + self
                .queues
                .iter()
                .map(|q| std::mem::size_of::<DriverQueue>() + q.name.capacity())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADD: &str = "    kworker/0:1H-37      [000] d..1. 1796216537.631949: add_sgs_s: (virtqueue_add_sgs+0x0/0xd0 [virtio_ring]) vq=0xffff8d8303bc7600 packed=0 dev=0 q=0 name=\"req.0\" free=256 num=256 free_head=0 added=0 last_used=0 avail_idx_shadow=0 avail_flags_shadow=0x0 avail_idx=0 used_idx=0 used_flags=0x0 out=1 in=2 data=0xffff8d8303c42210";
    const DETACH: &str = "          <idle>-0       [000] d.h2. 1796216537.634502: detach_split: (detach_buf_split+0x0/0x150 [virtio_ring]) vq=0xffff8d8303bc7600 packed=0 dev=0 q=0 name=\"req.0\" free=255 num=256 free_head=1 added=0 last_used=0 avail_idx_shadow=1 avail_flags_shadow=0x1 avail_idx=1 used_idx=1 used_flags=0x0 head=0";
    const REAP: &str = "          <idle>-0       [000] d.h2. 1796216537.634687: get_buf_split_ret: (virtblk_done+0x87/0x100 [virtio_blk] <- virtqueue_get_buf_ctx_split) token=0xffff8d8303c42210";
    const PACKED: &str = "    kworker/0:1H-37      [000] d..1. 1796216588.750619: kick_prepare_p: (virtqueue_kick_prepare+0x0/0xd0 [virtio_ring]) vq=0xffff8c3683bd0e00 packed=1 dev=0 q=0 name=\"req.0\" free=255 num=256 free_head=1 added=1 last_used=0x8000 next_avail=1 avail_wrap=1 avail_used_flags=0x80 event_flags_shadow=0x0 drv_off_wrap=0x0 drv_flags=0x0 dev_off_wrap=0x8000 dev_flags=0x2";

    #[test]
    fn events_stay_small() {
        assert_eq!(std::mem::size_of::<DriverEvent>(), 40);
    }

    #[test]
    fn an_add_its_detach_and_its_reap() {
        let t = DriverTrace::from_bytes(format!("{ADD}\n{DETACH}\n{REAP}\n").as_bytes(), "g");
        assert!(t.warnings.list.is_empty(), "{:?}", t.warnings.list);
        let [add, det, reap] = t.events() else {
            panic!("{:?}", t.events())
        };
        assert_eq!(add.kind, DriverKind::Add(AddFn::Sgs));
        assert_eq!(t.token(add.arg), 0xffff_8d83_03c4_2210);
        let s = add.shadow().unwrap();
        assert_eq!((s.free, s.free_head, s.avail, s.sgs), (256, 0, 0, (1, 2)));
        assert_eq!(add.time_us, 1_796_216_537_631_949);
        assert_eq!(det.arg, 0);
        assert!(det.in_hardirq());
        assert_eq!(det.shadow().unwrap().irq_flags, 1);
        // The reap belongs to the detach before it, and so to its queue.
        assert_eq!(reap.kind, DriverKind::Reap);
        assert_eq!(reap.entry(), Some(1));
        assert_eq!(reap.queue, add.queue);
        assert_eq!(reap.token(), add.token());
        let q = &t.queues()[0];
        assert_eq!(
            (q.name.as_str(), q.num, q.dev, q.index),
            ("req.0", 256, 0, 0)
        );
        assert_eq!(q.device_type(), crate::trace::DeviceType::Blk);
    }

    #[test]
    fn packed_fields_keep_the_wrap_counters() {
        let t = DriverTrace::from_bytes(PACKED.as_bytes(), "g");
        assert!(t.warnings.list.is_empty(), "{:?}", t.warnings.list);
        let s = t.events()[0].shadow().unwrap();
        assert!(s.packed && s.avail_wrap && s.used_wrap());
        assert_eq!(
            (s.used_slot(), s.avail, s.used_mem, s.notify_flags),
            (0, 1, 0x8000, 2)
        );
        // The avail/used flags must follow the wrap counter.
        let bad = PACKED.replace("avail_used_flags=0x80 ", "avail_used_flags=0x8000 ");
        let t = DriverTrace::from_bytes(bad.as_bytes(), "g");
        assert_eq!(t.events().len(), 0);
        let w = &t.warnings.list[0];
        let col = PACKED.find("avail_used_flags").unwrap() + 1;
        assert_eq!((w.line, w.column), (Some(1), Some(col as u64)));
        assert!(
            w.to_string().starts_with(&format!("g:1:{col}: warning")),
            "{w}"
        );
    }

    #[test]
    fn a_cut_line_names_the_field_it_stopped_in() {
        let cut = &ADD[..ADD.find("used_idx=").unwrap() + 4];
        let t = DriverTrace::from_bytes(format!("{cut}\n{ADD}\n").as_bytes(), "g.txt");
        assert_eq!(t.events().len(), 1);
        assert_eq!(t.stats.malformed_lines, 1);
        let w = &t.warnings.list[0];
        assert_eq!(w.line, Some(1));
        assert_eq!(w.column, Some(ADD.find("used_idx=").unwrap() as u64 + 1));
        assert!(w.expected.contains("used_idx="), "{w:?}");
        // Garbage is a located warning too, never a panic.
        let t = DriverTrace::from_bytes(b"\x00\xff[12] x\n", "g.txt");
        assert_eq!(t.stats.malformed_lines, 1);
        assert!(DriverTrace::parse(b"hello\n", "g.txt").is_err());
    }

    #[test]
    fn a_queue_spelled_again_is_the_same_queue_and_is_still_checked() {
        // Spelled as before: the known queue, without reading its fields again.
        let two_spaces = DETACH.replace("name=\"req.0\" free=", "name=\"req.0\"  free=");
        let dev_00 = DETACH.replace(" dev=0 ", " dev=00 ");
        let t = DriverTrace::from_bytes(
            format!("{ADD}\n{DETACH}\n{two_spaces}\n{dev_00}\n").as_bytes(),
            "g",
        );
        assert!(t.warnings.list.is_empty(), "{:?}", t.warnings.list);
        assert_eq!(t.queues().len(), 1);
        assert!(t.events().iter().all(|e| e.queue == 0));
        // The same spelling in a packed event is still a layout mismatch, located.
        let packed_event = ADD
            .replace("add_sgs_s: ", "add_sgs_p: ")
            .replace("used_idx=0 used_flags=0x0", "next_avail=0");
        let t = DriverTrace::from_bytes(format!("{ADD}\n{packed_event}\n").as_bytes(), "g");
        assert_eq!(t.events().len(), 1);
        let w = &t.warnings.list[0];
        assert_eq!(w.line, Some(2));
        assert_eq!(
            w.column,
            Some(packed_event.find("packed=0").unwrap() as u64 + 1)
        );
        assert!(w.expected.contains("packed=1"), "{w:?}");
        // A vq pointer reused by another queue is a new queue, not the spelling's.
        let other = DETACH.replace("name=\"req.0\"", "name=\"input.0\"");
        let t = DriverTrace::from_bytes(format!("{ADD}\n{other}\n{DETACH}\n").as_bytes(), "g");
        let q: Vec<QueueId> = t.events().iter().map(|e| e.queue).collect();
        assert_eq!(q, [0, 1, 0]);
        assert_eq!(t.queues()[1].name, "input.0");
    }

    #[test]
    fn blank_lines_are_counted_not_warned_and_a_spaced_line_is_located() {
        let t = DriverTrace::from_bytes(format!("\n   \t \r\n{ADD}\n   x\n").as_bytes(), "g");
        assert_eq!(t.stats.blank_lines, 2);
        assert_eq!(t.events().len(), 1);
        // Spaces then text is not blank: a located warning on its line.
        assert_eq!(t.stats.malformed_lines, 1);
        assert_eq!(t.warnings.list.len(), 1);
        assert_eq!(t.warnings.list[0].line, Some(4));
    }

    #[test]
    fn comms_with_brackets_and_spaces_are_read_from_the_cpu_field() {
        let l = ADD.replacen("    kworker/0:1H-37", "  [weird] name x-1", 1);
        let t = DriverTrace::from_bytes(l.as_bytes(), "g");
        assert_eq!(t.events().len(), 1, "{:?}", t.warnings.list);
    }

    #[test]
    fn anchors_and_header_counts() {
        let text = "# tracer: nop\n#\n# entries-in-buffer/entries-written: 800/818   #P:1\n ringside-anchor-159     [000] ..... 1796216877.205669: tracing_mark_write: ringside-anchor 1 begin pci 0000:00:00.0 0x3c<-0x1\n ringside-anchor-159     [000] ..... 1796216877.206844: tracing_mark_write: ringside-anchor 1 end\n";
        let t = DriverTrace::from_bytes(text.as_bytes(), "g");
        assert_eq!(t.header.entries, Some((800, 818)));
        assert_eq!(t.header.cpus, Some(1));
        assert_eq!(t.anchors.len(), 2);
        assert!(t.anchors[0].begin && !t.anchors[1].begin);
        assert_eq!(t.anchors[1].time_us, 1_796_216_877_206_844);
        // 18 events lost is said, at the header line.
        assert!(
            t.warnings
                .list
                .iter()
                .any(|w| w.line == Some(3) && w.message.contains("lost 18")),
            "{:?}",
            t.warnings.list
        );
    }
}
