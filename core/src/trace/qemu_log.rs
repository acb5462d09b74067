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
//! ```
//!
//! Device events (`virtio_blk_*` "vdev %p req %p …", `virtio_rng_*` "rng %p: …",
//! `virtio_net_*`, …) are kept with their arguments and tell replay the device type; other
//! `virtio_*`/`virtqueue_*`/`vhost_*` events are kept by name. Anything else is an unknown line:
//! kept whole and counted.

use super::event::{DeviceType, EventKind, Family, NO_OBJ, NO_TIME};
use super::store::Builder;

/// The parts of a line before the event arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    /// Thread id, 0 when absent.
    pub tid: u32,
    /// Microseconds since the epoch, [`NO_TIME`] when absent.
    pub time_us: u64,
}

fn digits(s: &[u8], mut i: usize) -> Option<(u64, usize)> {
    let start = i;
    let mut v: u64 = 0;
    while let Some(&c) = s.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        i += 1;
    }
    (i > start).then_some((v, i))
}

/// Splits the optional `tid@sec.usec:` prefix off a line.
pub fn split_prefix(line: &[u8]) -> (Prefix, &[u8]) {
    let none = (
        Prefix {
            tid: 0,
            time_us: NO_TIME,
        },
        line,
    );
    if !line.first().is_some_and(u8::is_ascii_digit) {
        return none;
    }
    let parse = || -> Option<(Prefix, usize)> {
        let (tid, i) = digits(line, 0)?;
        (line.get(i) == Some(&b'@')).then_some(())?;
        let (sec, j) = digits(line, i + 1)?;
        (line.get(j) == Some(&b'.')).then_some(())?;
        let (usec, k) = digits(line, j + 1)?;
        (line.get(k) == Some(&b':')).then_some(())?;
        let us = sec.checked_mul(1_000_000)?.checked_add(usec)?;
        let tid = u32::try_from(tid).ok()?;
        Some((Prefix { tid, time_us: us }, k + 1))
    };
    match parse() {
        Some((p, rest)) => (p, line.get(rest..).unwrap_or_default()),
        None => none,
    }
}

/// A cursor over space-separated argument tokens.
struct Args<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Args<'a> {
    fn new(s: &'a [u8]) -> Self {
        Args { s, pos: 0 }
    }
    fn token(&mut self) -> Option<&'a [u8]> {
        let s = self.s;
        while s.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
        let start = self.pos;
        while let Some(&c) = s.get(self.pos) {
            if c == b' ' {
                break;
            }
            self.pos += 1;
        }
        (self.pos > start).then(|| s.get(start..self.pos)).flatten()
    }
    fn key(&mut self, k: &[u8]) -> Option<()> {
        (self.token()? == k).then_some(())
    }
    fn ptr(&mut self) -> Option<u64> {
        parse_ptr(self.token()?)
    }
    fn uint(&mut self) -> Option<u64> {
        let t = self.token()?;
        let (v, end) = digits(t, 0)?;
        (end == t.len()).then_some(v)
    }
    fn int(&mut self) -> Option<i64> {
        let t = self.token()?;
        let (neg, t) = match t.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, t),
        };
        let (v, end) = digits(t, 0)?;
        (end == t.len()).then_some(())?;
        let v = i64::try_from(v).ok()?;
        Some(if neg { -v } else { v })
    }
    fn kv_ptr(&mut self, k: &[u8]) -> Option<u64> {
        self.key(k)?;
        self.ptr()
    }
    fn kv_uint(&mut self, k: &[u8]) -> Option<u64> {
        self.key(k)?;
        self.uint()
    }
    fn done(&mut self) -> Option<()> {
        self.token().is_none().then_some(())
    }
}

/// Parses glibc's `%p`: `0x…` hex, or `(nil)` for NULL; a trailing `:` (as in `rng %p:`) is
/// allowed.
pub fn parse_ptr(t: &[u8]) -> Option<u64> {
    let t = t.strip_suffix(b":").unwrap_or(t);
    if t == b"(nil)" {
        return Some(0);
    }
    let hex = t.strip_prefix(b"0x")?;
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in hex {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        v = (v << 4) | u64::from(d);
    }
    Some(v)
}

fn u16_of(v: u64) -> Option<u16> {
    u16::try_from(v).ok()
}

/// The expected argument format of each modelled event, for warnings.
fn expected_format(name: &[u8]) -> &'static str {
    match name {
        b"virtqueue_pop" => "`vq %p elem %p in_num %u out_num %u`",
        b"virtqueue_fill" => "`vq %p elem %p len %u idx %u`",
        b"virtqueue_flush" => "`vq %p count %u`",
        b"virtqueue_alloc_element" => "`elem %p size %zd in_num %u out_num %u`",
        b"virtio_queue_notify" => "`vdev %p n %d vq %p`",
        b"virtio_notify" | b"virtio_notify_irqfd" => "`vdev %p vq %p`",
        b"virtio_set_status" => "`vdev %p val %u`",
        b"virtio_rng_vm_state_change" => "`rng %p: state change to running %d state %d`",
        _ => "QEMU 7.2's format for this event",
    }
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

/// Parses the modelled events; `None` means "malformed".
fn parse_modelled(b: &mut Builder, name: &[u8], args: &[u8]) -> Option<Option<EventKind>> {
    let mut a = Args::new(args);
    let kind = match name {
        b"virtqueue_pop" => {
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
        b"virtqueue_fill" => {
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
        b"virtqueue_flush" => {
            let vq = a.kv_ptr(b"vq")?;
            let count = u16_of(a.kv_uint(b"count")?)?;
            a.done()?;
            EventKind::Flush {
                vq: b.obj(vq),
                count,
            }
        }
        b"virtqueue_alloc_element" => {
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
        b"virtio_queue_notify" => {
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
        b"virtio_notify" | b"virtio_notify_irqfd" => {
            let vdev = a.kv_ptr(b"vdev")?;
            let vq = a.kv_ptr(b"vq")?;
            a.done()?;
            EventKind::Notify {
                vdev: b.obj(vdev),
                vq: b.obj(vq),
                irqfd: name == b"virtio_notify_irqfd",
            }
        }
        b"virtio_set_status" => {
            let vdev = a.kv_ptr(b"vdev")?;
            let val = u8::try_from(a.kv_uint(b"val")?).ok()?;
            a.done()?;
            EventKind::SetStatus {
                vdev: b.obj(vdev),
                status: val,
            }
        }
        b"virtio_rng_vm_state_change" => {
            a.kv_ptr(b"rng")?;
            for w in [&b"state"[..], b"change", b"to", b"running"] {
                a.key(w)?;
            }
            let running = a.int()?;
            a.key(b"state")?;
            a.int()?;
            a.done()?;
            EventKind::RunState {
                running: running != 0,
            }
        }
        _ => return Some(None),
    };
    Some(Some(kind))
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

fn is_event_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// Parses one line (without its newline) into the builder.
pub(crate) fn parse_line(b: &mut Builder, line_no: u32, offset: u64, raw: &[u8]) {
    let line = raw.strip_suffix(b"\r").unwrap_or(raw);
    let blank = |c: &u8| *c == b' ' || *c == b'\t';
    if line.first().is_none_or(blank) && line.iter().all(blank) {
        b.blank_line();
        return;
    }
    let (prefix, rest) = split_prefix(line);
    let (name, args) = match rest.iter().position(|&c| c == b' ') {
        Some(i) => (
            rest.get(..i).unwrap_or_default(),
            rest.get(i + 1..).unwrap_or_default(),
        ),
        None => (rest, &b""[..]),
    };
    let args = trim_end(args);
    if !is_event_name(name) {
        b.unknown(line_no, offset, prefix, line, true);
        return;
    }
    match parse_modelled(b, name, args) {
        Some(Some(kind)) => b.push(line_no, prefix, kind),
        None => {
            b.malformed(line_no, offset, name, expected_format(name), prefix, line);
        }
        Some(None) => {
            if let Some(&(_, device)) = DEVICE_PREFIXES.iter().find(|(p, _)| name.starts_with(p)) {
                let obj = device_obj(args).map_or(NO_OBJ, |p| b.obj(p));
                let name = b.name(name);
                let text = b.text(args);
                b.push(
                    line_no,
                    prefix,
                    EventKind::Device {
                        obj,
                        device,
                        name,
                        text,
                    },
                );
            } else if name.starts_with(b"virtio_") || name.starts_with(b"virtqueue_") {
                let (name, text) = (b.name(name), b.text(args));
                let family = Family::Virtio;
                b.push(line_no, prefix, EventKind::Other { family, name, text });
            } else if name.starts_with(b"vhost_") {
                let (name, text) = (b.name(name), b.text(args));
                let family = Family::Vhost;
                b.push(line_no, prefix, EventKind::Other { family, name, text });
            } else {
                b.unknown(line_no, offset, prefix, line, false);
            }
        }
    }
}

fn trim_end(s: &[u8]) -> &[u8] {
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
    fn pointers_follow_glibc() {
        assert_eq!(parse_ptr(b"0x55d6c0a0b1c0"), Some(0x55d6_c0a0_b1c0));
        assert_eq!(parse_ptr(b"(nil)"), Some(0));
        assert_eq!(parse_ptr(b"0x55e60c6392a0:"), Some(0x55e6_0c63_92a0));
        assert_eq!(parse_ptr(b"55d6"), None);
        assert_eq!(parse_ptr(b"0x"), None);
        assert_eq!(parse_ptr(b"0x12345678901234567"), None);
    }
}
