//! Ring memory dumps (QMP `pmemsave` of each area) decoded into ring state.
//!
//! A split queue is three files (descriptor table, available ring, used ring), a packed queue
//! one descriptor ring and two 4-byte event suppression structs. The bytes are placed into a
//! [`GuestMemory`] at their guest addresses (or at made-up aligned ones) and read back through
//! [`SplitLayout`]/[`PackedLayout`], so the offset arithmetic is the layout module's, not a
//! second copy. The queue size is taken from the caller or inferred from the file sizes.

use std::fmt;

use serde::Serialize;

use crate::finding::{Code, FileSpot, Finding, Severity};
use crate::layout::{
    self, LayoutError, PackedLayout, PackedPos, RingKind, SplitLayout, VIRTQ_DESC_F_AVAIL,
    VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_USED, VIRTQ_DESC_F_WRITE,
};
use crate::memory::GuestMemory;
use crate::trace::detect;
use crate::trace::error::TraceError;

/// The raw areas of one queue.
#[derive(Debug, Clone, Default)]
pub struct DumpInput {
    /// Name for messages (`idle-blk0-q0`).
    pub name: String,
    /// Split or packed.
    pub kind: Option<RingKind>,
    /// Queue size, if known.
    pub size: Option<u16>,
    /// Descriptor area bytes.
    pub desc: Vec<u8>,
    /// Driver area bytes (split: available ring; packed: driver event suppression).
    pub driver: Vec<u8>,
    /// Device area bytes (split: used ring; packed: device event suppression).
    pub device: Vec<u8>,
    /// Guest addresses of the three areas, if known.
    pub addrs: Option<(u64, u64, u64)>,
    /// File names of the three areas, for messages.
    pub files: [String; 3],
    /// Snapshot label (`idle`, `done`, from `rings/index.json` or the file names).
    pub snapshot: Option<String>,
    /// Which QMP snapshot (1-based: the k-th `stop`) the dump was taken in, when known: from the
    /// transcript's `pmemsave` of the file, else the label's order in `index.json`.
    pub taken_at: Option<u32>,
    /// QEMU device name (`virtio-blk`).
    pub device_name: Option<String>,
    /// Queue index.
    pub queue: Option<u16>,
}

/// One split descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Desc {
    /// Guest address.
    pub addr: u64,
    /// Length.
    pub len: u32,
    /// Flags.
    pub flags: u16,
    /// Split: next; packed: buffer id.
    pub next_or_id: u16,
}

/// A decoded split ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SplitState {
    /// Queue size.
    pub size: u16,
    /// Descriptor table.
    pub descs: Vec<Desc>,
    /// `avail.flags`.
    pub avail_flags: u16,
    /// `avail.idx`.
    pub avail_idx: u16,
    /// `avail.ring[]`.
    pub avail_ring: Vec<u16>,
    /// `used_event`, when the dump holds it.
    pub used_event: Option<u16>,
    /// `used.flags`.
    pub used_flags: u16,
    /// `used.idx`.
    pub used_idx: u16,
    /// `used.ring[]` as `(id, len)`.
    pub used_ring: Vec<(u32, u32)>,
    /// `avail_event`, when the dump holds it.
    pub avail_event: Option<u16>,
}

/// A decoded packed ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackedState {
    /// Queue size.
    pub size: u16,
    /// Descriptor ring (`next_or_id` is the buffer id).
    pub descs: Vec<Desc>,
    /// Driver event suppression `off_wrap` and `flags`.
    pub driver_event: (u16, u16),
    /// Device event suppression `off_wrap` and `flags`.
    pub device_event: (u16, u16),
    /// Where the driver's next descriptor goes, inferred from the AVAIL/USED bits: the first
    /// slot after the last one made available (None when the ring is still zeroed).
    pub driver_next: Option<PackedPos>,
}

/// A decoded ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "layout", rename_all = "lowercase")]
pub enum RingState {
    /// Split.
    Split(SplitState),
    /// Packed.
    Packed(PackedState),
}

/// What `inspect` returns: the state plus the dump-only findings.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// Dump name.
    pub name: String,
    /// Snapshot label.
    pub snapshot: Option<String>,
    /// Device name.
    pub device: Option<String>,
    /// Queue index.
    pub queue: Option<u16>,
    /// Whether the queue size was inferred from the file sizes.
    pub size_inferred: bool,
    /// The ring.
    pub state: RingState,
    /// What the dump alone shows.
    pub findings: Vec<Finding>,
}

fn bytes_err(file: &str, offset: u64, what: String, expected: String, hint: &str) -> TraceError {
    TraceError::Bytes {
        file: file.to_string(),
        offset,
        what,
        expected,
        hint: hint.to_string(),
    }
}

/// Infers (or checks) the queue size from the area lengths.
fn split_size(d: &DumpInput) -> Result<(u16, bool), TraceError> {
    let q = match d.size {
        Some(q) => q as usize,
        None => d.desc.len() / 16,
    };
    let file = |i: usize| d.files.get(i).cloned().unwrap_or_default();
    let check = layout::check_size(RingKind::Split, q as u32).map_err(|e| TraceError::Layout {
        file: file(0),
        source: e,
    })?;
    if d.desc.len() < 16 * q {
        return Err(bytes_err(
            &file(0),
            d.desc.len() as u64,
            format!("descriptor table dump ends after {} bytes", d.desc.len()),
            format!("16·Q = {} bytes for Q = {q}", 16 * q),
            "pmemsave size must be 16 × vring-num",
        ));
    }
    if d.driver.len() < 4 + 2 * q {
        return Err(bytes_err(
            &file(1),
            d.driver.len() as u64,
            format!("available ring dump ends after {} bytes", d.driver.len()),
            format!("4 + 2·Q = {} bytes (6 + 2·Q with EVENT_IDX)", 4 + 2 * q),
            "dump the whole avail ring: flags, idx, ring[Q], used_event",
        ));
    }
    if d.device.len() < 4 + 8 * q {
        return Err(bytes_err(
            &file(2),
            d.device.len() as u64,
            format!("used ring dump ends after {} bytes", d.device.len()),
            format!("4 + 8·Q = {} bytes (6 + 8·Q with EVENT_IDX)", 4 + 8 * q),
            "dump the whole used ring: flags, idx, ring[Q], avail_event",
        ));
    }
    Ok((check, d.size.is_none()))
}

/// The ring layout at the dumped areas' addresses, or, for dumps saved without them, at fixed
/// stand-in addresses (the bytes decode the same wherever they sit).
fn dump_layout<L>(
    d: &DumpInput,
    new: impl Fn(u64, u64, u64) -> Result<L, LayoutError>,
) -> Result<L, TraceError> {
    d.addrs
        .and_then(|(a, b, c)| new(a, b, c).ok())
        .map_or_else(|| new(0x1000_0000, 0x2000_0000, 0x3000_0000), Ok)
        .map_err(|e| TraceError::Layout {
            file: d.name.clone(),
            source: e,
        })
}

/// Decodes and checks one queue's dump.
pub fn inspect(d: &DumpInput) -> Result<Inspection, TraceError> {
    let kind = d
        .kind
        .unwrap_or(if d.driver.len() == 4 && d.device.len() == 4 {
            RingKind::Packed
        } else {
            RingKind::Split
        });
    let mut mem = GuestMemory::new();
    let (state, inferred) = match kind {
        RingKind::Split => {
            let (q, inferred) = split_size(d)?;
            let l = dump_layout(d, |a, b, c| SplitLayout::new(u32::from(q), a, b, c))?;
            mem.write(l.desc, &d.desc);
            mem.write(l.avail, &d.driver);
            mem.write(l.used, &d.device);
            let q16 = |m: &mut GuestMemory, a| m.read_le(a, 2) as u16;
            let has_used_event = d.driver.len() as u64 >= l.avail_bytes();
            let has_avail_event = d.device.len() as u64 >= l.used_bytes();
            let descs = (0..q)
                .map(|i| Desc {
                    addr: mem.read_le(l.desc(i), 8),
                    len: mem.read_le(l.desc(i) + 8, 4) as u32,
                    flags: q16(&mut mem, l.desc(i) + 12),
                    next_or_id: q16(&mut mem, l.desc(i) + 14),
                })
                .collect();
            let st = SplitState {
                size: q,
                descs,
                avail_flags: q16(&mut mem, l.avail_flags()),
                avail_idx: q16(&mut mem, l.avail_idx()),
                avail_ring: (0..q).map(|i| q16(&mut mem, l.avail_ring(i))).collect(),
                used_event: has_used_event.then(|| q16(&mut mem, l.used_event())),
                used_flags: q16(&mut mem, l.used_flags()),
                used_idx: q16(&mut mem, l.used_idx()),
                used_ring: (0..q)
                    .map(|i| {
                        (
                            mem.read_le(l.used_elem(i), 4) as u32,
                            mem.read_le(l.used_elem(i) + 4, 4) as u32,
                        )
                    })
                    .collect(),
                avail_event: has_avail_event.then(|| q16(&mut mem, l.avail_event())),
            };
            (RingState::Split(st), inferred)
        }
        RingKind::Packed => {
            let q = d.size.map_or(d.desc.len() / 16, usize::from);
            let file = |i: usize| d.files.get(i).cloned().unwrap_or_default();
            let q16 =
                layout::check_size(RingKind::Packed, q as u32).map_err(|e| TraceError::Layout {
                    file: file(0),
                    source: e,
                })?;
            if d.desc.len() < 16 * q || !d.desc.len().is_multiple_of(16) && d.size.is_none() {
                return Err(bytes_err(
                    &file(0),
                    d.desc.len() as u64,
                    format!("descriptor ring dump is {} bytes", d.desc.len()),
                    format!("a multiple of 16, at least 16·Q = {}", 16 * q),
                    "pmemsave size must be 16 × vring-num",
                ));
            }
            for (i, area) in [(1, &d.driver), (2, &d.device)] {
                if area.len() < 4 {
                    return Err(bytes_err(
                        &file(i),
                        area.len() as u64,
                        format!("event suppression dump is {} bytes", area.len()),
                        "4 bytes (off_wrap, flags)".into(),
                        "dump 4 bytes at vring-avail and vring-used",
                    ));
                }
            }
            let l = dump_layout(d, |a, b, c| PackedLayout::new(u32::from(q16), a, b, c))?;
            mem.write(l.desc, &d.desc);
            mem.write(l.driver_event, d.driver.get(..4).unwrap_or_default());
            mem.write(l.device_event, d.device.get(..4).unwrap_or_default());
            let descs: Vec<Desc> = (0..q16)
                .map(|i| Desc {
                    addr: mem.read_le(l.desc(i), 8),
                    len: mem.read_le(l.desc(i) + 8, 4) as u32,
                    next_or_id: mem.read_le(l.desc(i) + 12, 2) as u16,
                    flags: mem.read_le(l.desc(i) + 14, 2) as u16,
                })
                .collect();
            let ev =
                |m: &mut GuestMemory, a: u64| (m.read_le(a, 2) as u16, m.read_le(a + 2, 2) as u16);
            let driver_next = infer_driver_next(&descs);
            let st = PackedState {
                size: q16,
                descs,
                driver_event: ev(&mut mem, l.driver_event),
                device_event: ev(&mut mem, l.device_event),
                driver_next,
            };
            (RingState::Packed(st), d.size.is_none())
        }
    };
    let mut ins = Inspection {
        name: d.name.clone(),
        snapshot: d.snapshot.clone(),
        device: d.device_name.clone(),
        queue: d.queue,
        size_inferred: inferred,
        state,
        findings: Vec::new(),
    };
    ins.findings = check_state(&ins, None);
    Ok(ins)
}

fn bits(f: u16) -> (bool, bool) {
    (f & VIRTQ_DESC_F_AVAIL != 0, f & VIRTQ_DESC_F_USED != 0)
}

/// The driver's next slot: the descriptors the driver made available carry AVAIL != USED; the
/// first slot after the last such run (in ring order, starting from slot 0) is where it goes
/// next. Only a best guess from memory; replay knows better.
fn infer_driver_next(descs: &[Desc]) -> Option<PackedPos> {
    let q = descs.len();
    // The driver's lap is the AVAIL bit of slot 0 when slot 0 was ever written.
    let first = descs.first()?;
    if first.flags & (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED) == 0 && first.addr == 0 {
        return None;
    }
    let (a0, _) = bits(first.flags);
    // Slots written in the current lap have AVAIL == a0 (available) or AVAIL == USED == a0
    // (used in this lap); the boundary is the first slot whose AVAIL differs.
    let boundary = descs
        .iter()
        .position(|d| bits(d.flags).0 != a0)
        .unwrap_or(q);
    let slot = if boundary == q { 0 } else { boundary };
    let wrap = if boundary == q { !a0 } else { a0 };
    Some(PackedPos {
        slot: slot as u16,
        wrap: layout::WrapCounter(wrap),
    })
}

/// Options for cross-checking a dump against replayed counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expect {
    /// Replayed device `last_avail_idx` (split) at the dump's moment.
    pub last_avail_idx: Option<u16>,
    /// Replayed `used_idx` (split).
    pub used_idx: Option<u16>,
    /// Replayed next used position (packed).
    pub used_pos: Option<PackedPos>,
    /// EVENT_IDX negotiated.
    pub event_idx: Option<bool>,
}

/// The dump-only checks, plus the cross-checks when `expect` is given.
pub fn check_state(ins: &Inspection, expect: Option<Expect>) -> Vec<Finding> {
    let mut out = Vec::new();
    let dev = ins.device.clone().unwrap_or_else(|| ins.name.clone());
    let mk = |c: Code, s: Severity, m: String| {
        Finding::seen(c, s, m)
            .on(dev.clone(), ins.queue)
            .from_file(FileSpot::file(ins.name.clone()))
    };
    let e = expect.unwrap_or_default();
    match &ins.state {
        RingState::Split(st) => {
            let q = st.size;
            // Where the device will read from: replayed, else avail_event (QEMU writes
            // last_avail_idx there on every pop), else assume nothing in flight.
            let last = e
                .last_avail_idx
                .or(st.avail_event.filter(|_| e.event_idx != Some(false)))
                .unwrap_or(st.used_idx);
            if let Some(m) = detect::avail_jump(last, st.avail_idx, u32::from(q)) {
                out.push(mk(Code::AvailIdxJump, Severity::Error, m));
            } else {
                let n = st.avail_idx.wrapping_sub(last);
                for k in 0..n {
                    let slot = last.wrapping_add(k) % q;
                    let head = st.avail_ring.get(usize::from(slot)).copied().unwrap_or(0);
                    check_split_chain(st, head, &mut |c, s, m| out.push(mk(c, s, m)));
                }
            }
            // Used ids must name a descriptor.
            for (i, &(id, _)) in st.used_ring.iter().enumerate() {
                let written = st.used_idx >= q || (i as u16) < st.used_idx;
                if written && id >= u32::from(q) {
                    out.push(mk(
                        Code::UsedIdxJump,
                        Severity::Error,
                        format!("id {id} out of range (used.ring[{i}], queue size {q})"),
                    ));
                }
            }
            if let Some(x) = e.used_idx.filter(|&u| u != st.used_idx) {
                out.push(mk(
                    Code::DumpMismatch,
                    Severity::Error,
                    format!(
                        "used.idx in memory is {} but the replayed used_idx is {x}",
                        st.used_idx
                    ),
                ));
            }
            if e.event_idx == Some(true) && st.avail_event == Some(0) && st.used_idx > q {
                out.push(mk(
                    Code::EventIdxUnused,
                    Severity::Warning,
                    format!(
                        "VIRTIO_RING_F_EVENT_IDX negotiated but avail_event is still 0 after \
                         {} completions: the driver will kick only when avail.idx wraps \
                         (virtio-spec issue #35)",
                        st.used_idx
                    ),
                ));
            }
        }
        RingState::Packed(st) => {
            let q = st.size;
            let mut reserved = 0usize;
            let mut len_no_write = 0usize;
            for (i, d) in st.descs.iter().enumerate() {
                let known = VIRTQ_DESC_F_NEXT
                    | VIRTQ_DESC_F_WRITE
                    | VIRTQ_DESC_F_INDIRECT
                    | VIRTQ_DESC_F_AVAIL
                    | VIRTQ_DESC_F_USED;
                if d.flags & !known != 0 {
                    reserved += 1;
                    if reserved == 1 {
                        out.push(mk(
                            Code::ShiftAsMask,
                            Severity::Warning,
                            format!(
                                "desc[{i}].flags = {:#06x} sets reserved bits: AVAIL is 1 << 7 \
                                 and USED 1 << 15 (Linux's VRING_PACKED_DESC_F_AVAIL is the \
                                 shift 7, not the mask)",
                                d.flags
                            ),
                        ));
                    }
                }
                let (a, u) = bits(d.flags);
                if a == u && d.len > 0 && d.flags & VIRTQ_DESC_F_WRITE == 0 {
                    len_no_write += 1;
                }
                if a != u
                    && d.flags & VIRTQ_DESC_F_INDIRECT != 0
                    && d.flags & VIRTQ_DESC_F_NEXT != 0
                {
                    out.push(mk(
                        Code::IndirectMisuse,
                        Severity::Error,
                        format!("desc[{i}] has both INDIRECT and NEXT (a driver MUST NOT)"),
                    ));
                }
            }
            if len_no_write > 0 {
                out.push(mk(
                    Code::UsedLenWithoutWrite,
                    Severity::Info,
                    format!(
                        "{len_no_write} used descriptors carry a len but no VIRTQ_DESC_F_WRITE: \
                         the spec makes len reserved then, so a strict driver reads 0 (QEMU \
                         never sets WRITE in used descriptors; Linux reads len regardless)"
                    ),
                ));
            }
            // Buffer-id placement: available chains whose head id differs from the last one.
            let mut i = 0usize;
            while i < usize::from(q) {
                let head = st.descs.get(i).copied();
                let Some(h) = head else { break };
                let (a, u) = bits(h.flags);
                if a != u && h.flags & VIRTQ_DESC_F_NEXT != 0 {
                    let mut j = i;
                    while st
                        .descs
                        .get(j)
                        .is_some_and(|d| d.flags & VIRTQ_DESC_F_NEXT != 0)
                        && j < i + usize::from(q)
                    {
                        j += 1;
                    }
                    if let Some(last) = st.descs.get(j)
                        && last.next_or_id != h.next_or_id
                    {
                        out.push(mk(
                            Code::BufferIdPlacement,
                            Severity::Warning,
                            format!(
                                "chain at slot {i}: head carries buffer id {} but the last \
                                 descriptor (slot {j}) carries {}; the spec and QEMU since \
                                 9.1 read the last, QEMU 4.2 to 9.0 the head",
                                h.next_or_id, last.next_or_id
                            ),
                        ));
                    }
                    i = j + 1;
                } else {
                    i += 1;
                }
            }
            for (area, (_, flags)) in [("driver", st.driver_event), ("device", st.device_event)] {
                if flags > 2 {
                    out.push(mk(
                        Code::AreaSwap,
                        Severity::Warning,
                        format!(
                            "{area} event suppression flags = {flags}: only ENABLE 0, DISABLE 1 \
                             and DESC 2 exist; are the Driver and Device areas swapped (QEMU \
                             maps the Driver Area to vring-avail, the Device Area to vring-used)?"
                        ),
                    ));
                }
            }
            if let Some(p) = e.used_pos {
                let (prev, lap) = if p.slot == 0 {
                    (q.saturating_sub(1), p.wrap.flip())
                } else {
                    (p.slot - 1, p.wrap)
                };
                if let Some(d) = st.descs.get(usize::from(prev)) {
                    let (a, u) = bits(d.flags);
                    let touched = d.addr != 0 || d.flags != 0 || d.len != 0;
                    if touched && a == u && a != lap.0 {
                        out.push(mk(
                            Code::WrapDesync,
                            Severity::Error,
                            format!(
                                "the last used descriptor (slot {prev}) has AVAIL=USED={} but the \
                                 replayed device used wrap counter for it is {}",
                                u8::from(a),
                                lap
                            ),
                        ));
                    }
                }
            }
        }
    }
    out
}

fn check_split_chain(st: &SplitState, head: u16, out: &mut dyn FnMut(Code, Severity, String)) {
    let q = st.size;
    if head >= q {
        out(
            Code::BadHead,
            Severity::Error,
            format!("Guest says index {head} is available"),
        );
        return;
    }
    let mut i = head;
    let mut seen_write = false;
    for n in 0..=q {
        if n == q {
            out(
                Code::LoopedDescriptor,
                Severity::Error,
                format!("Looped descriptor (chain from head {head} is longer than {q})"),
            );
            return;
        }
        let Some(d) = st.descs.get(usize::from(i)) else {
            return;
        };
        if d.flags & VIRTQ_DESC_F_INDIRECT != 0 {
            if d.len == 0 || d.len % 16 != 0 {
                out(
                    Code::IndirectMisuse,
                    Severity::Error,
                    format!(
                        "Invalid size for indirect buffer table (desc[{i}].len = {})",
                        d.len
                    ),
                );
            }
            if d.flags & VIRTQ_DESC_F_NEXT != 0 {
                out(
                    Code::IndirectMisuse,
                    Severity::Error,
                    format!("desc[{i}] has both INDIRECT and NEXT (a driver MUST NOT)"),
                );
            }
        } else if d.len == 0 {
            out(
                Code::ZeroLength,
                Severity::Error,
                format!("virtio: zero sized buffers are not allowed (desc[{i}])"),
            );
        }
        let write = d.flags & VIRTQ_DESC_F_WRITE != 0;
        if seen_write && !write && d.flags & VIRTQ_DESC_F_INDIRECT == 0 {
            out(
                Code::DescriptorOrder,
                Severity::Error,
                format!(
                    "Incorrect order for descriptors (desc[{i}] readable after a writable one, chain from head {head})"
                ),
            );
        }
        seen_write |= write;
        if d.flags & VIRTQ_DESC_F_NEXT == 0 {
            return;
        }
        if d.next_or_id >= q {
            out(
                Code::BadNext,
                Severity::Error,
                format!("Desc next is {}", d.next_or_id),
            );
            return;
        }
        i = d.next_or_id;
    }
}

impl fmt::Display for Inspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if let (Some(d), Some(q)) = (&self.device, self.queue) {
            write!(f, " ({d} queue {q})")?;
        }
        writeln!(f)?;
        match &self.state {
            RingState::Split(s) => {
                writeln!(
                    f,
                    "  split, size {}{}",
                    s.size,
                    if self.size_inferred {
                        " (inferred)"
                    } else {
                        ""
                    }
                )?;
                let opt = |v: Option<u16>| v.map_or("-".to_string(), |v| v.to_string());
                writeln!(
                    f,
                    "  avail: flags {:#x} idx {} used_event {}",
                    s.avail_flags,
                    s.avail_idx,
                    opt(s.used_event)
                )?;
                writeln!(
                    f,
                    "  used:  flags {:#x} idx {} avail_event {}",
                    s.used_flags,
                    s.used_idx,
                    opt(s.avail_event)
                )?;
                let live = s.descs.iter().filter(|d| d.addr != 0).count();
                writeln!(f, "  descriptors with an address: {live}/{}", s.size)?;
            }
            RingState::Packed(p) => {
                writeln!(
                    f,
                    "  packed, size {}{}",
                    p.size,
                    if self.size_inferred {
                        " (inferred)"
                    } else {
                        ""
                    }
                )?;
                writeln!(
                    f,
                    "  driver event: off_wrap {:#06x} flags {}  device event: off_wrap {:#06x} flags {}",
                    p.driver_event.0, p.driver_event.1, p.device_event.0, p.device_event.1
                )?;
                let count =
                    |want: (bool, bool)| p.descs.iter().filter(|d| bits(d.flags) == want).count();
                writeln!(
                    f,
                    "  slots AVAIL/USED: 10={} 01={} 11={} 00={}",
                    count((true, false)),
                    count((false, true)),
                    count((true, true)),
                    count((false, false))
                )?;
                if let Some(n) = p.driver_next {
                    writeln!(f, "  driver's next slot (inferred): {n}")?;
                }
            }
        }
        for x in &self.findings {
            writeln!(f, "  {x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_dump(q: u16) -> DumpInput {
        let qs = usize::from(q);
        DumpInput {
            name: "t".into(),
            desc: vec![0; 16 * qs],
            driver: vec![0; 6 + 2 * qs],
            device: vec![0; 6 + 8 * qs],
            ..Default::default()
        }
    }

    #[test]
    fn split_size_is_inferred_and_fields_land_where_the_spec_puts_them() {
        let mut d = split_dump(8);
        // avail.idx = 1, ring[0] = 3, used_event = 0x0102
        d.driver[2] = 1;
        d.driver[4] = 3;
        d.driver[4 + 16] = 2;
        d.driver[4 + 17] = 1;
        // desc[3]: addr 0x1000, len 512, flags WRITE
        d.desc[48 + 1] = 0x10;
        d.desc[48 + 9] = 2;
        d.desc[48 + 12] = 2;
        let ins = inspect(&d).unwrap();
        let RingState::Split(s) = &ins.state else {
            panic!()
        };
        assert!(ins.size_inferred);
        assert_eq!((s.size, s.avail_idx, s.used_event), (8, 1, Some(0x0102)));
        assert_eq!(s.descs[3].addr, 0x1000);
        assert_eq!(s.descs[3].len, 512);
        assert!(ins.findings.is_empty(), "{:?}", ins.findings);
    }

    #[test]
    fn bad_chains_get_qemus_messages() {
        let mut d = split_dump(4);
        d.driver[2] = 2; // avail.idx = 2
        d.driver[4] = 9; // ring[0] = 9: bad head
        d.driver[6] = 0; // ring[1] = 0
        // desc[0] -> desc[1] -> desc[0]: a loop
        d.desc[8] = 1;
        d.desc[12] = 1;
        d.desc[14] = 1;
        d.desc[16 + 8] = 1;
        d.desc[16 + 12] = 1;
        d.desc[16 + 14] = 0;
        let ins = inspect(&d).unwrap();
        let msgs: Vec<_> = ins.findings.iter().map(|f| f.message.as_str()).collect();
        assert!(
            msgs.contains(&"Guest says index 9 is available"),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(|m| m.starts_with("Looped descriptor")),
            "{msgs:?}"
        );
    }

    #[test]
    fn short_dumps_are_errors_with_offsets() {
        let mut d = split_dump(8);
        d.size = Some(8);
        d.device.truncate(20);
        d.files[2] = "x-used.bin".into();
        let e = inspect(&d).unwrap_err().to_string();
        assert!(e.contains("x-used.bin: byte offset 20"), "{e}");
        assert!(e.contains("4 + 8·Q = 68"), "{e}");
        let mut d = split_dump(8);
        d.desc.truncate(100);
        assert!(inspect(&d).is_err());
    }
}
