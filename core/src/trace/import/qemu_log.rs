//! QEMU `log` trace-backend lines → [`EventKind`]s.
//!
//! QEMU 7.2's log backend prints `name fmt\n`, or `tid@sec.usec:name fmt\n` with
//! `-msg timestamp=on`, where `fmt` is the format string from the `trace-events` files. The
//! formats parsed field by field here are those of `hw/virtio/trace-events` (QEMU 7.2):
//!
//! ```text
//! virtqueue_alloc_element "elem %p size %zd in_num %u out_num %u"
//! virtqueue_fill          "vq %p elem %p len %u idx %u"
//! virtqueue_flush         "vq %p count %u"
//! virtqueue_pop           "vq %p elem %p in_num %u out_num %u"
//! virtio_queue_notify     "vdev %p n %d vq %p"
//! virtio_notify_irqfd     "vdev %p vq %p"
//! virtio_notify           "vdev %p vq %p"
//! virtio_set_status       "vdev %p val %u"
//! virtio_rng_vm_state_change "rng %p: state change to running %d state %d"
//! vhost_dev_start         "%p:%s vrings:%d"
//! vhost_dev_stop          "%p:%s vrings:%d"
//! vhost_user_write        "req:%d flags:0x%x"
//! vhost_user_read         "req:%d flags:0x%x"
//! ```
//!
//! Device events (`virtio_blk_*` "vdev %p req %p …", `virtio_rng_*` "rng %p: …",
//! `virtio_net_*`, …) are kept with their arguments and tell replay the device type; other
//! `virtio_*`/`virtqueue_*`/`vhost_*` events are kept by name. Anything else is an unknown line:
//! kept whole and counted.

use crate::trace::event::{DeviceType, EventKind, Family, NO_OBJ, NO_TIME, NameId, ObjId, TextId};

/// Where parsed lines go. The parser only recognises; the receiver interns, keeps and counts
/// (the store's builder does), so the importer feeds the store without knowing it.
pub(crate) trait LogSink {
    /// Interns a host pointer.
    fn obj(&mut self, p: u64) -> ObjId;
    /// Interns an event name.
    fn name(&mut self, n: &[u8]) -> NameId;
    /// Keeps a piece of text.
    fn text(&mut self, t: &[u8]) -> TextId;
    /// One event of line `line`.
    fn push(&mut self, line: u32, p: Prefix, kind: EventKind);
    /// An empty line.
    fn blank_line(&mut self);
    /// A line that is not a virtio/vhost event (`odd`: not even a name at its start).
    fn unknown(&mut self, line: u32, offset: u64, p: Prefix, raw: &[u8], odd: bool);
    /// A modelled event whose arguments do not match `expected` (often a truncated line).
    fn malformed(
        &mut self,
        line: u32,
        offset: u64,
        name: &[u8],
        expected: &str,
        p: Prefix,
        raw: &[u8],
    );
}

/// The parser's memory from one line to the next: the last line's prefix and the event names
/// seen lately, which let most lines skip the slow path.
#[derive(Debug, Default)]
pub(crate) struct LogParser {
    prefix_memo: PrefixMemo,
    name_memo: NameMemo,
}

/// The parts of a line before the event arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    /// Thread id, 0 when absent.
    pub tid: u32,
    /// Microseconds since the epoch, [`NO_TIME`] when absent.
    pub time_us: u64,
}

/// Value of each byte as a hex digit, or `0xff`.
pub(crate) const HEX: [u8; 256] = {
    let mut t = [0xff; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Bytes an event name is made of: `[a-z0-9_]`.
const NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
        c += 1;
    }
    t
};

/// A decimal number at `s[i..]`: its value and where it ends (`None` without digits or on
/// overflow).
#[inline]
pub(crate) fn digits(s: &[u8], i: usize) -> Option<(u64, usize)> {
    // One digit at a time: numbers in a trace have steady lengths, so the loop's exit is
    // predicted and this beats word-at-a-time (SWAR) conversion, whose length mask puts a data
    // dependency in front of the next field (measured: SWAR was 7-15 % slower per import).
    // Up to 19 digits cannot overflow, so this needs no overflow checks; longer numbers are
    // redone with checks.
    let mut end = i;
    let mut v: u64 = 0;
    while let Some(&c) = s.get(end) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        v = v.wrapping_mul(10).wrapping_add(u64::from(d));
        end += 1;
    }
    match end - i {
        0 => None,
        1..=19 => Some((v, end)),
        _ => long_digits(s.get(i..end)?).map(|v| (v, end)),
    }
}

/// [`digits`] of 20 digits or more, with overflow checks: out of the way of the common case,
/// so that `digits` stays small enough to be inlined into the field readers.
#[cold]
fn long_digits(s: &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    for &c in s {
        v = v
            .checked_mul(10)?
            .checked_add(u64::from(c.wrapping_sub(b'0')))?;
    }
    Some(v)
}

/// A parsed `tid@sec.usec:` prefix: the values, where the `.` is, and where the prefix ends.
struct Parsed {
    tid: u32,
    sec: u64,
    dot: usize,
    time_us: u64,
    end: usize,
}

impl Parsed {
    /// The prefix's values and the rest of `line`, the line it was parsed from.
    #[inline]
    fn split(self, line: &[u8]) -> (Prefix, &[u8]) {
        let prefix = Prefix {
            tid: self.tid,
            time_us: self.time_us,
        };
        (prefix, line.get(self.end..).unwrap_or_default())
    }
}

/// Parses the `tid@sec.usec:` prefix at the start of a line, if there is one.
#[inline]
fn parse_prefix(line: &[u8]) -> Option<Parsed> {
    let (tid, i) = digits(line, 0)?;
    (line.get(i) == Some(&b'@')).then_some(())?;
    let (sec, dot) = digits(line, i + 1)?;
    (line.get(dot) == Some(&b'.')).then_some(())?;
    let (time_us, end) = usec_at(line, dot + 1, sec)?;
    let tid = u32::try_from(tid).ok()?;
    Some(Parsed {
        tid,
        sec,
        dot,
        time_us,
        end,
    })
}

/// The `usec:` part at `line[i..]`, added to `sec` seconds: the time in microseconds and the
/// end of the prefix.
#[inline]
fn usec_at(line: &[u8], i: usize, sec: u64) -> Option<(u64, usize)> {
    let (usec, k) = digits(line, i)?;
    (line.get(k) == Some(&b':')).then_some(())?;
    Some((sec.checked_mul(1_000_000)?.checked_add(usec)?, k + 1))
}

/// No prefix.
const NO_PREFIX: Prefix = Prefix {
    tid: 0,
    time_us: NO_TIME,
};

/// Splits the optional `tid@sec.usec:` prefix off a line.
pub fn split_prefix(line: &[u8]) -> (Prefix, &[u8]) {
    match parse_prefix(line) {
        Some(p) => p.split(line),
        None => (NO_PREFIX, line),
    }
}

/// How many leading bytes of a line the memos below compare.
const HEAD: usize = 32;

/// Up to [`HEAD`] remembered bytes, zero-padded words, compared against the start of a line
/// with four masked word compares (no `memcmp` call, no length-dependent loop).
#[derive(Debug, Default, Clone, Copy)]
struct Head {
    words: [u64; HEAD / 8],
    len: usize,
}

impl Head {
    /// `bytes`, if they fit.
    fn of(bytes: &[u8]) -> Option<Head> {
        let mut padded = [0u8; HEAD];
        padded.get_mut(..bytes.len())?.copy_from_slice(bytes);
        let mut words = [0; HEAD / 8];
        for (w, c) in words.iter_mut().zip(padded.chunks_exact(8)) {
            *w = u64::from_le_bytes(c.try_into().unwrap_or_default());
        }
        Some(Head {
            words,
            len: bytes.len(),
        })
    }

    /// Whether `line` starts with these bytes (`false` for lines under [`HEAD`] bytes).
    #[inline(always)]
    fn starts(&self, line: &[u8]) -> bool {
        let Some(l) = line.get(..HEAD) else {
            return false;
        };
        let mut diff = 0;
        for (i, (a, b)) in l.chunks_exact(8).zip(&self.words).enumerate() {
            let a = u64::from_le_bytes(a.try_into().unwrap_or_default());
            let valid = self.len.saturating_sub(8 * i).min(8);
            diff |= (a ^ b) & u64::MAX.checked_shr(64 - 8 * valid as u32).unwrap_or(0);
        }
        diff == 0
    }
}

/// The last line's `tid@sec.` and its values. Consecutive lines of a trace almost always come
/// from the same thread in the same second, so a line starting with the same bytes only needs
/// its microseconds parsed: the same result as [`split_prefix`] for about half the work.
#[derive(Debug, Default)]
struct PrefixMemo {
    head: Head,
    tid: u32,
    sec: u64,
}

impl PrefixMemo {
    /// Whether `line` starts with the remembered `tid@sec.`.
    #[inline]
    fn same_head(&self, line: &[u8]) -> bool {
        self.head.len > 0 && self.head.starts(line)
    }

    /// [`split_prefix`], remembering the head for the next line.
    #[inline]
    fn split<'a>(&mut self, line: &'a [u8]) -> (Prefix, &'a [u8]) {
        if self.same_head(line)
            && let Some((time_us, end)) = usec_at(line, self.head.len, self.sec)
        {
            let p = Prefix {
                tid: self.tid,
                time_us,
            };
            return (p, line.get(end..).unwrap_or_default());
        }
        let Some(p) = parse_prefix(line) else {
            return (NO_PREFIX, line);
        };
        if let Some(head) = line.get(..=p.dot).and_then(Head::of) {
            *self = PrefixMemo {
                head,
                tid: p.tid,
                sec: p.sec,
            };
        }
        p.split(line)
    }
}

/// glibc's `%p` at `s[i..]`: `0x` and 1–16 hex digits, or `(nil)` for NULL, optionally
/// followed by `:` (as in `rng %p:`), and then a space or the end. Returns the value and the
/// end of the token.
#[inline]
fn ptr_at(s: &[u8], i: usize) -> Option<(u64, usize)> {
    let (v, mut j) = if s.get(i..i + 2) == Some(b"0x") {
        let mut j = i + 2;
        let mut v: u64 = 0;
        while let Some(&c) = s.get(j) {
            let d = HEX[usize::from(c)];
            if d > 15 {
                break;
            }
            v = (v << 4) | u64::from(d);
            j += 1;
        }
        if j == i + 2 || j - i - 2 > 16 {
            return None;
        }
        (v, j)
    } else if s.get(i..i + 5) == Some(b"(nil)") {
        (0, i + 5)
    } else {
        return None;
    };
    if s.get(j) == Some(&b':') {
        j += 1;
    }
    matches!(s.get(j), None | Some(b' ')).then_some((v, j))
}

/// A cursor over the space-separated arguments, reading each field in place (no token
/// slices, no comparisons of unknown length).
struct Args<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Args<'a> {
    fn new(s: &'a [u8]) -> Self {
        Args { s, pos: 0 }
    }
    #[inline]
    fn skip_spaces(&mut self) {
        while self.s.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
    }
    /// Whether a token ending at `i` really ends there.
    #[inline]
    fn ends_at(&self, i: usize) -> bool {
        matches!(self.s.get(i), None | Some(b' '))
    }
    /// The next token, whatever it is.
    fn token(&mut self) -> Option<&'a [u8]> {
        self.skip_spaces();
        let start = self.pos;
        while !self.ends_at(self.pos) {
            self.pos += 1;
        }
        (self.pos > start)
            .then(|| self.s.get(start..self.pos))
            .flatten()
    }
    /// The next token is exactly `k`.
    #[inline]
    fn key<const N: usize>(&mut self, k: &[u8; N]) -> Option<()> {
        self.skip_spaces();
        let end = self.pos + N;
        (self.s.get(self.pos..end)? == k && self.ends_at(end)).then(|| self.pos = end)
    }
    #[inline]
    fn ptr(&mut self) -> Option<u64> {
        self.skip_spaces();
        let (v, end) = ptr_at(self.s, self.pos)?;
        self.pos = end;
        Some(v)
    }
    #[inline]
    fn uint(&mut self) -> Option<u64> {
        self.skip_spaces();
        let (v, end) = digits(self.s, self.pos)?;
        self.ends_at(end).then(|| {
            self.pos = end;
            v
        })
    }
    fn int(&mut self) -> Option<i64> {
        parse_int(self.token()?)
    }
    #[inline]
    fn kv_ptr<const N: usize>(&mut self, k: &[u8; N]) -> Option<u64> {
        self.key(k)?;
        self.ptr()
    }
    #[inline]
    fn kv_uint<const N: usize>(&mut self, k: &[u8; N]) -> Option<u64> {
        self.key(k)?;
        self.uint()
    }
    #[inline]
    fn done(&mut self) -> Option<()> {
        self.skip_spaces();
        (self.pos >= self.s.len()).then_some(())
    }
}

/// Parses a whole `%d` token.
fn parse_int(t: &[u8]) -> Option<i64> {
    let neg = t.first() == Some(&b'-');
    let (v, end) = digits(t, usize::from(neg))?;
    (end == t.len()).then_some(())?;
    let v = i64::try_from(v).ok()?;
    Some(if neg { -v } else { v })
}

/// Parses glibc's `%p`: `0x…` hex, or `(nil)` for NULL; a trailing `:` (as in `rng %p:`) is
/// allowed.
pub fn parse_ptr(t: &[u8]) -> Option<u64> {
    ptr_at(t, 0).and_then(|(v, end)| (end == t.len()).then_some(v))
}

fn u16_of(v: u64) -> Option<u16> {
    u16::try_from(v).ok()
}

/// The events replay models, each parsed field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Modelled {
    Pop,
    Fill,
    Flush,
    AllocElement,
    QueueNotify,
    Notify,
    NotifyIrqfd,
    SetStatus,
    RunState,
    VhostDevStart,
    VhostDevStop,
    VhostUserWrite,
    VhostUserRead,
}

impl Modelled {
    /// QEMU's format for the event's arguments, for warnings.
    fn format(self) -> &'static str {
        match self {
            Modelled::Pop => "`vq %p elem %p in_num %u out_num %u`",
            Modelled::Fill => "`vq %p elem %p len %u idx %u`",
            Modelled::Flush => "`vq %p count %u`",
            Modelled::AllocElement => "`elem %p size %zd in_num %u out_num %u`",
            Modelled::QueueNotify => "`vdev %p n %d vq %p`",
            Modelled::Notify | Modelled::NotifyIrqfd => "`vdev %p vq %p`",
            Modelled::SetStatus => "`vdev %p val %u`",
            Modelled::RunState => "`rng %p: state change to running %d state %d`",
            Modelled::VhostDevStart | Modelled::VhostDevStop => "`%p:%s vrings:%d`",
            Modelled::VhostUserWrite | Modelled::VhostUserRead => "`req:%d flags:0x%x`",
        }
    }
}

/// The modelled event a line (after its prefix) starts with, and the length of its name: a
/// few fixed-size compares instead of scanning and looking up the name.
#[inline]
fn modelled_name(rest: &[u8]) -> Option<(Modelled, usize)> {
    use Modelled::*;
    let word = |t: &[u8], w: &[u8]| t.starts_with(w).then_some(w.len());
    let (m, n) = if let Some(t) = rest.strip_prefix(b"virtqueue_") {
        let (m, n) = match t.first()? {
            b'p' => (Pop, word(t, b"pop")?),
            b'f' if t.get(1) == Some(&b'i') => (Fill, word(t, b"fill")?),
            b'f' => (Flush, word(t, b"flush")?),
            b'a' => (AllocElement, word(t, b"alloc_element")?),
            _ => return None,
        };
        (m, n + b"virtqueue_".len())
    } else if let Some(t) = rest.strip_prefix(b"virtio_") {
        let (m, n) = match t.first()? {
            b'n' if t.get(6) == Some(&b'_') => (NotifyIrqfd, word(t, b"notify_irqfd")?),
            b'n' => (Notify, word(t, b"notify")?),
            b'q' => (QueueNotify, word(t, b"queue_notify")?),
            b's' => (SetStatus, word(t, b"set_status")?),
            b'r' => (RunState, word(t, b"rng_vm_state_change")?),
            _ => return None,
        };
        (m, n + b"virtio_".len())
    } else if let Some(t) = rest.strip_prefix(b"vhost_") {
        let (m, n) = match (t.first()?, t.get(5), t.get(6)) {
            (b'd', _, Some(b'a')) => (VhostDevStart, word(t, b"dev_start")?),
            (b'd', _, _) => (VhostDevStop, word(t, b"dev_stop")?),
            (b'u', Some(b'w'), _) => (VhostUserWrite, word(t, b"user_write")?),
            (b'u', _, _) => (VhostUserRead, word(t, b"user_read")?),
            _ => return None,
        };
        (m, n + b"vhost_".len())
    } else {
        return None;
    };
    matches!(rest.get(n), None | Some(b' ')).then_some((m, n))
}

/// Device-event families: name prefix → device type.
const DEVICE_PREFIXES: &[(&[u8], DeviceType)] = &[
    (b"virtio_blk_", DeviceType::Blk),
    (b"virtio_net_", DeviceType::Net),
    (b"virtio_rng_", DeviceType::Rng),
    (b"virtio_balloon_", DeviceType::Balloon),
    (b"virtio_serial_", DeviceType::Serial),
    (b"virtio_console_", DeviceType::Serial),
    (b"virtio_scsi_", DeviceType::Scsi),
    (b"virtio_gpu_", DeviceType::Gpu),
    (b"virtio_input_", DeviceType::Input),
    (b"virtio_iommu_", DeviceType::Iommu),
    (b"virtio_mem_", DeviceType::Mem),
];

/// Parses a modelled event's arguments; `None` means "malformed".
fn parse_modelled(b: &mut impl LogSink, m: Modelled, args: &[u8]) -> Option<EventKind> {
    let mut a = Args::new(args);
    let kind = match m {
        Modelled::Pop => {
            let vq = a.kv_ptr(b"vq")?;
            let elem = a.kv_ptr(b"elem")?;
            let in_num = u16_of(a.kv_uint(b"in_num")?)?;
            let out_num = u16_of(a.kv_uint(b"out_num")?)?;
            a.done()?;
            EventKind::Pop {
                vq: b.obj(vq),
                elem: b.obj(elem),
                in_num,
                out_num,
            }
        }
        Modelled::Fill => {
            let vq = a.kv_ptr(b"vq")?;
            let elem = a.kv_ptr(b"elem")?;
            let len = u32::try_from(a.kv_uint(b"len")?).ok()?;
            let idx = u16_of(a.kv_uint(b"idx")?)?;
            a.done()?;
            EventKind::Fill {
                vq: b.obj(vq),
                elem: b.obj(elem),
                len,
                idx,
            }
        }
        Modelled::Flush => {
            let vq = a.kv_ptr(b"vq")?;
            let count = u16_of(a.kv_uint(b"count")?)?;
            a.done()?;
            EventKind::Flush {
                vq: b.obj(vq),
                count,
            }
        }
        Modelled::AllocElement => {
            let elem = a.kv_ptr(b"elem")?;
            a.kv_uint(b"size")?;
            let in_num = u16_of(a.kv_uint(b"in_num")?)?;
            let out_num = u16_of(a.kv_uint(b"out_num")?)?;
            a.done()?;
            EventKind::AllocElement {
                elem: b.obj(elem),
                in_num,
                out_num,
            }
        }
        Modelled::QueueNotify => {
            let vdev = a.kv_ptr(b"vdev")?;
            a.key(b"n")?;
            let n = u16::try_from(a.int()?).ok()?;
            let vq = a.kv_ptr(b"vq")?;
            a.done()?;
            EventKind::QueueNotify {
                vdev: b.obj(vdev),
                queue: n,
                vq: b.obj(vq),
            }
        }
        Modelled::Notify | Modelled::NotifyIrqfd => {
            let vdev = a.kv_ptr(b"vdev")?;
            let vq = a.kv_ptr(b"vq")?;
            a.done()?;
            EventKind::Notify {
                vdev: b.obj(vdev),
                vq: b.obj(vq),
                irqfd: m == Modelled::NotifyIrqfd,
            }
        }
        Modelled::SetStatus => {
            let vdev = a.kv_ptr(b"vdev")?;
            let val = u8::try_from(a.kv_uint(b"val")?).ok()?;
            a.done()?;
            EventKind::SetStatus {
                vdev: b.obj(vdev),
                status: val,
            }
        }
        Modelled::RunState => {
            a.kv_ptr(b"rng")?;
            a.key(b"state")?;
            a.key(b"change")?;
            a.key(b"to")?;
            a.key(b"running")?;
            let running = a.int()?;
            a.key(b"state")?;
            a.int()?;
            a.done()?;
            EventKind::RunState {
                running: running != 0,
            }
        }
        Modelled::VhostDevStart | Modelled::VhostDevStop => {
            let t = a.token()?;
            let colon = t.iter().position(|&c| c == b':')?;
            let hdev = parse_ptr(t.get(..colon)?)?;
            let name = std::str::from_utf8(t.get(colon + 1..)?).ok()?;
            let vrings = a.token()?.strip_prefix(b"vrings:")?;
            parse_int(vrings)?;
            a.done()?;
            EventKind::VhostDev {
                hdev: b.obj(hdev),
                device: DeviceType::from_qemu_name(name),
                start: m == Modelled::VhostDevStart,
            }
        }
        Modelled::VhostUserWrite | Modelled::VhostUserRead => {
            let req = parse_int(a.token()?.strip_prefix(b"req:")?)?;
            let flags = parse_ptr(a.token()?.strip_prefix(b"flags:")?)?;
            a.done()?;
            EventKind::VhostUser {
                req: u32::try_from(req).ok()?,
                flags: u32::try_from(flags).ok()?,
                reply: m == Modelled::VhostUserRead,
            }
        }
    };
    Some(kind)
}

/// The arguments of the block layer's `blk_co_preadv`/`blk_co_pwritev` (`blk %p bs %p offset
/// %PRId64 bytes %PRId64 flags 0x%x`): offset and bytes.
pub(crate) fn parse_blk_co(args: &[u8]) -> Option<(u64, u64)> {
    let mut a = Args::new(trim_end(args));
    a.kv_ptr(b"blk")?;
    a.kv_ptr(b"bs")?;
    let offset = a.kv_uint(b"offset")?;
    let bytes = a.kv_uint(b"bytes")?;
    a.kv_ptr(b"flags")?;
    a.done()?;
    Some((offset, bytes))
}

/// The device pointer a device event names: the value after `vdev` or `rng`.
fn device_obj(args: &[u8]) -> Option<u64> {
    let mut a = Args::new(args);
    let k = a.token()?;
    if k == b"vdev" || k == b"rng" {
        a.ptr()
    } else {
        None
    }
}

impl LogParser {
    /// Parses one line (without its newline) into `b`.
    #[inline]
    pub(crate) fn line(&mut self, b: &mut impl LogSink, line_no: u32, offset: u64, raw: &[u8]) {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let blank = |c: &u8| *c == b' ' || *c == b'\t';
        if line.first().is_none_or(blank) && line.iter().all(blank) {
            b.blank_line();
            return;
        }
        let (prefix, rest) = self.prefix_memo.split(line);
        if let Some((m, n)) = modelled_name(rest) {
            let args = trim_end(rest.get(n + 1..).unwrap_or_default());
            match parse_modelled(b, m, args) {
                Some(kind) => b.push(line_no, prefix, kind),
                None => {
                    let name = rest.get(..n).unwrap_or_default();
                    b.malformed(line_no, offset, name, m.format(), prefix, line);
                }
            }
            return;
        }
        let memo = &mut self.name_memo;
        let Some((n, class, name)) = memo.find(rest).or_else(|| classify(memo, b, rest)) else {
            b.unknown(line_no, offset, prefix, line, name_len(rest).is_none());
            return;
        };
        let args = trim_end(rest.get(n + 1..).unwrap_or_default());
        let text = b.text(args);
        let kind = match class {
            Class::Device(device) => EventKind::Device {
                obj: device_obj(args).map_or(NO_OBJ, |p| b.obj(p)),
                device,
                name,
                text,
            },
            Class::Other(family) => EventKind::Other { family, name, text },
        };
        b.push(line_no, prefix, kind);
    }
}

/// The length of the event name `[a-z0-9_]+` at the start of `rest`, if one ends there in a
/// space or the end of the line.
#[inline]
fn name_len(rest: &[u8]) -> Option<usize> {
    let mut n = 0;
    while rest.get(n).is_some_and(|&c| NAME_BYTE[usize::from(c)]) {
        n += 1;
    }
    (n > 0 && matches!(rest.get(n), None | Some(b' '))).then_some(n)
}

/// What kind of event a name that is not modelled field by field stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// A device event (`virtio_blk_*`, ...).
    Device(DeviceType),
    /// Another virtio or vhost event.
    Other(Family),
}

/// Finds and classifies the event name at the start of `rest` the slow way, interning it and
/// remembering it in the name memo: its length, class and id, or `None` for a line that is
/// not a virtio/vhost event.
fn classify(
    memo: &mut NameMemo,
    b: &mut impl LogSink,
    rest: &[u8],
) -> Option<(usize, Class, NameId)> {
    let n = name_len(rest)?;
    let name = rest.get(..n)?;
    let class =
        if let Some(&(_, device)) = DEVICE_PREFIXES.iter().find(|(p, _)| name.starts_with(p)) {
            Class::Device(device)
        } else if name.starts_with(b"virtio_") || name.starts_with(b"virtqueue_") {
            Class::Other(Family::Virtio)
        } else if name.starts_with(b"vhost_") {
            Class::Other(Family::Vhost)
        } else {
            return None;
        };
    let id = b.name(name);
    memo.remember(name, class, id);
    Some((n, class, id))
}

/// One remembered event name.
#[derive(Debug, Clone, Copy)]
struct KnownName {
    name: Head,
    class: Class,
    id: NameId,
}

/// The device and other event names seen lately, 16 of them direct-mapped by their second
/// word: a line naming one of them skips the name scan, the classification and the interning
/// lookup (four masked word compares instead).
#[derive(Debug, Default)]
struct NameMemo([Option<KnownName>; 16]);

impl NameMemo {
    /// The slot for a name whose second word is `w1` (the first is `virtio_b`-like for most).
    #[inline]
    fn slot(w1: u64) -> usize {
        (w1.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 60) as usize
    }

    /// The remembered name `rest` starts with, if any: its length, class and id.
    #[inline]
    fn find(&self, rest: &[u8]) -> Option<(usize, Class, NameId)> {
        let w1 = u64::from_le_bytes(rest.get(8..16)?.try_into().ok()?);
        let k = self.0.get(Self::slot(w1))?.as_ref()?;
        let len = k.name.len;
        (k.name.starts(rest) && matches!(rest.get(len), None | Some(b' ')))
            .then_some((len, k.class, k.id))
    }

    /// Remembers `name` (a whole, classified name) as `id`; names over [`HEAD`] bytes are not
    /// remembered.
    fn remember(&mut self, name: &[u8], class: Class, id: NameId) {
        let Some(name) = Head::of(name) else {
            return;
        };
        // Names shorter than 9 bytes all share slot 0's second word; they are rare.
        if let Some(slot) = self.0.get_mut(Self::slot(name.words[1])) {
            *slot = Some(KnownName { name, class, id });
        }
    }
}

pub(crate) fn trim_end(s: &[u8]) -> &[u8] {
    let mut end = s.len();
    while end > 0 && matches!(s.get(end - 1), Some(b' ' | b'\t')) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_optional_and_exact() {
        let (p, rest) = split_prefix(b"12345@1700000000.123456:virtqueue_pop vq 0x1");
        assert_eq!(p.tid, 12345);
        assert_eq!(p.time_us, 1_700_000_000_123_456);
        assert_eq!(rest, b"virtqueue_pop vq 0x1");
        let (p, rest) = split_prefix(b"virtqueue_pop vq 0x1");
        assert_eq!(p.time_us, NO_TIME);
        assert_eq!(rest, b"virtqueue_pop vq 0x1");
        // Not a prefix: no colon.
        let (p, rest) = split_prefix(b"12@3.4 foo");
        assert_eq!(p.time_us, NO_TIME);
        assert_eq!(rest, b"12@3.4 foo");
    }

    #[test]
    fn the_prefix_memo_agrees_with_a_fresh_parse_line_after_line() {
        // Lines whose heads share, almost share or do not share the previous line's
        // `tid@sec.`, with broken prefixes and prefix-less lines among them.
        let heads: [&[u8]; 9] = [
            b"22603@1795598581.",
            b"22603@1795598582.",
            b"22604@1795598581.",
            b"2260@31795598581.",
            b"7@1.",
            b"123456789012@1795598581.",
            b"22603@17955985811234567890123.",
            b"22603@1795598581:",
            b"",
        ];
        let tails: [&[u8]; 6] = [
            b"241938:virtqueue_pop vq 0x564a8c489240 elem 0x7f3c0c01b010",
            b"000001:virtio_notify vdev 0x1 vq 0x2",
            b"24193:x",
            b"241938 virtqueue_flush vq 0x564a8c489240 count 1 and more",
            b"99999999999999999999:virtqueue_flush vq 0x564a8c489240 count 1",
            b"virtqueue_fill vq 0x564a8c489240 elem 0x7f3c0c01b010 len 1 idx 0",
        ];
        let mut memo = PrefixMemo::default();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut hits = 0;
        for _ in 0..5_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut line = heads[(x % 9) as usize].to_vec();
            line.extend_from_slice(tails[(x / 9 % 6) as usize]);
            let cut = (x / 54 % 3) as usize * (x / 162 % 20) as usize;
            line.truncate(line.len().saturating_sub(cut));
            hits += usize::from(memo.same_head(&line));
            let want = split_prefix(&line);
            assert_eq!(
                memo.split(&line),
                want,
                "{}",
                String::from_utf8_lossy(&line)
            );
        }
        // The fast path was really taken.
        assert!(hits > 200, "{hits}");
    }

    #[test]
    fn digits_match_a_plain_loop() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = (x % 24) as usize;
            let mut s: Vec<u8> = (0..n)
                .map(|k| b'0' + ((x >> (k % 60)) % 10) as u8)
                .collect();
            if x.is_multiple_of(5) && n > 0 {
                s[(x as usize / 7) % n] = [b'/', b':', b' ', b'a', 0x3a][(x / 3 % 5) as usize];
            }
            let end = s
                .iter()
                .position(|c| !c.is_ascii_digit())
                .unwrap_or(s.len());
            let naive = s[..end].iter().try_fold(0u64, |v, &c| {
                v.checked_mul(10)?.checked_add(u64::from(c - b'0'))
            });
            let want = if end == 0 {
                None
            } else {
                naive.map(|v| (v, end))
            };
            assert_eq!(digits(&s, 0), want, "{}", String::from_utf8_lossy(&s));
        }
        assert_eq!(digits(b"18446744073709551615", 0), Some((u64::MAX, 20)));
        assert_eq!(digits(b"18446744073709551616", 0), None);
    }

    #[test]
    fn pointers_follow_glibc() {
        assert_eq!(
            parse_ptr(b"0x0123456789abcdef"),
            Some(0x0123_4567_89ab_cdef)
        );
        // Every length and a stop of every kind after it, against a plain parse.
        let digits = b"7f01d4238010a9bCDe5";
        for len in 0..=18 {
            for stop in [&b""[..], b" elem 0x1", b": 64", b"g", b"::", b"\xff"] {
                let mut t = b"0x".to_vec();
                t.extend_from_slice(&digits[..len]);
                let tail_ok = stop.is_empty() || stop == b": 64" || stop.starts_with(b" ");
                let want = (1..=16).contains(&len).then(|| {
                    u64::from_str_radix(std::str::from_utf8(&digits[..len]).unwrap(), 16).unwrap()
                });
                let want = want.filter(|_| tail_ok);
                let end = t.len() + usize::from(stop.starts_with(b":"));
                t.extend_from_slice(stop);
                assert_eq!(ptr_at(&t, 0), want.map(|v| (v, end)), "{t:?}");
            }
        }
        assert_eq!(parse_ptr(b"0xABCDEF0123"), Some(0xab_cdef_0123));
        assert_eq!(parse_ptr(b"0x12345678g"), None);
        assert_eq!(parse_ptr(b"0x55d6c0a0b1c0"), Some(0x55d6_c0a0_b1c0));
        assert_eq!(parse_ptr(b"(nil)"), Some(0));
        assert_eq!(parse_ptr(b"0x55e60c6392a0:"), Some(0x55e6_0c63_92a0));
        assert_eq!(parse_ptr(b"55d6"), None);
        assert_eq!(parse_ptr(b"0x"), None);
        assert_eq!(parse_ptr(b"0x12345678901234567"), None);
    }
}
