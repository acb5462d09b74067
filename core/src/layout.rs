//! Byte layouts of split and packed virtqueues (virtio 1.2 §2.7 and §2.8), their constants, and
//! the small types that keep ring arithmetic honest.
//!
//! Everything here is pure arithmetic on addresses: where `avail.ring[5]` lives, which field a
//! byte belongs to. The rings' behaviour lives in `split` and `packed`.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::memory::{DescPart, Field};

/// Size of one descriptor, split or packed.
pub const DESC_SIZE: u64 = 16;
/// Byte offset of `addr` (u64) in a split or packed descriptor.
pub const DESC_ADDR: u64 = 0;
/// Byte offset of `len` (u32) in a split or packed descriptor.
pub const DESC_LEN: u64 = 8;
/// Byte offset of `flags` (u16) in a split descriptor (`virtq_desc`).
pub const SPLIT_DESC_FLAGS: u64 = 12;
/// Byte offset of `next` (u16) in a split descriptor.
pub const SPLIT_DESC_NEXT: u64 = 14;
/// Byte offset of the buffer `id` (u16) in a packed descriptor (`pvirtq_desc`).
pub const PACKED_DESC_ID: u64 = 12;
/// Byte offset of `flags` (u16) in a packed descriptor.
pub const PACKED_DESC_FLAGS: u64 = 14;
/// Byte offset of `id` (u32) in a used ring element (`virtq_used_elem`).
pub const USED_ELEM_ID: u64 = 0;
/// Byte offset of `len` (u32) in a used ring element.
pub const USED_ELEM_LEN: u64 = 4;
/// Largest queue size the spec allows (both layouts).
pub const MAX_QUEUE_SIZE: u32 = 32768;

/// Descriptor flag: the buffer continues via `next` (split) or the next slot (packed).
pub const VIRTQ_DESC_F_NEXT: u16 = 1;
/// Descriptor flag: device-writable buffer (in a used packed descriptor: data was written).
pub const VIRTQ_DESC_F_WRITE: u16 = 2;
/// Descriptor flag: the buffer holds a table of descriptors.
pub const VIRTQ_DESC_F_INDIRECT: u16 = 4;
/// Where Linux's modern virtio-pci driver starts the split used ring: at the next multiple of
/// `SMP_CACHE_BYTES` (64 on x86) after the available ring (`vp_modern_create_virtqueue` passes
/// it to `vring_create_virtqueue`, and `vring_init` rounds up to it), so the avail ring's tail
/// and the used ring's header never share a cache line. The QEMU captures in `traces/` show it:
/// every split queue's used ring is 64-byte aligned, 26 to 58 bytes after the avail ring.
pub const LINUX_USED_ALIGN: u64 = 64;
/// The legacy (0.9) interface's Queue Align on PCI: the used ring starts on the next 4096-byte
/// page (`VIRTIO_PCI_VRING_ALIGN`, Linux's `vring_size`).
pub const LEGACY_USED_ALIGN: u64 = 4096;
/// The least alignment the spec allows for the split used ring.
pub const MIN_USED_ALIGN: u64 = 4;

/// Packed descriptor flag AVAIL (a mask, bit 7; Linux's header gives the shift 7).
pub const VIRTQ_DESC_F_AVAIL: u16 = 1 << 7;
/// Packed descriptor flag USED (a mask, bit 15; Linux's header gives the shift 15).
pub const VIRTQ_DESC_F_USED: u16 = 1 << 15;

/// A descriptor's flags by name, as the spec spells them: `NEXT|WRITE`, `INDIRECT`,
/// `WRITE|AVAIL`; `0` for none, and any unknown bits in hex.
pub fn desc_flags_text(flags: u16) -> String {
    let known = [
        (VIRTQ_DESC_F_NEXT, "NEXT"),
        (VIRTQ_DESC_F_WRITE, "WRITE"),
        (VIRTQ_DESC_F_INDIRECT, "INDIRECT"),
        (VIRTQ_DESC_F_AVAIL, "AVAIL"),
        (VIRTQ_DESC_F_USED, "USED"),
    ];
    let mut names: Vec<String> = known
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| (*n).to_string())
        .collect();
    let rest = flags & !known.iter().fold(0, |a, (b, _)| a | b);
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    if names.is_empty() {
        "0".into()
    } else {
        names.join("|")
    }
}
/// `avail.flags` bit: the driver asks not to be interrupted.
pub const VIRTQ_AVAIL_F_NO_INTERRUPT: u16 = 1;
/// `used.flags` bit: the device asks not to be notified.
pub const VIRTQ_USED_F_NO_NOTIFY: u16 = 1;
/// Packed event suppression: notifications enabled.
pub const RING_EVENT_FLAGS_ENABLE: u16 = 0;
/// Packed event suppression: notifications disabled.
pub const RING_EVENT_FLAGS_DISABLE: u16 = 1;
/// Packed event suppression: notify at the descriptor named by `off_wrap` (needs EVENT_IDX).
pub const RING_EVENT_FLAGS_DESC: u16 = 2;

/// A free-running 16-bit ring index (`avail.idx`, `used.idx`, `last_avail_idx`). It wraps at
/// 65536, never at the queue size; the slot is `idx % Q`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct RingIdx(pub u16);

impl RingIdx {
    /// The ring slot this index names in a queue of `size` entries.
    #[inline]
    pub fn slot(self, size: u16) -> u16 {
        // Split rings are powers of 2, so this is a mask; the modulo covers any size.
        if size.is_power_of_two() {
            return self.0 & (size - 1);
        }
        (u32::from(self.0) % u32::from(size.max(1))) as u16
    }
    /// `self + n`, wrapping at 2^16.
    pub fn wrapping_add(self, n: u16) -> RingIdx {
        RingIdx(self.0.wrapping_add(n))
    }
    /// How far `self` is ahead of `older`, modulo 2^16.
    pub fn since(self, older: RingIdx) -> u16 {
        self.0.wrapping_sub(older.0)
    }
}

impl fmt::Display for RingIdx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A packed ring wrap counter. Both sides start at 1 (`WrapCounter::START`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WrapCounter(pub bool);

impl WrapCounter {
    /// The value both sides start with.
    pub const START: WrapCounter = WrapCounter(true);
    /// Flipped.
    #[inline]
    pub fn flip(self) -> WrapCounter {
        WrapCounter(!self.0)
    }
    /// As a bit.
    #[inline]
    pub fn bit(self) -> u16 {
        u16::from(self.0)
    }
}

impl fmt::Display for WrapCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.bit())
    }
}

/// A position in a packed ring together with the lap it is in: what each side keeps as
/// `next_avail`/`next_used` plus its wrap counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PackedPos {
    /// Slot, always `< Q`.
    pub slot: u16,
    /// Wrap counter for this lap.
    pub wrap: WrapCounter,
}

impl PackedPos {
    /// Slot 0 of the first lap.
    pub const START: PackedPos = PackedPos {
        slot: 0,
        wrap: WrapCounter::START,
    };

    /// Moves `n` slots on in a ring of `size`, flipping the counter each time the end is passed.
    #[inline]
    pub fn advance(self, n: u16, size: u16) -> PackedPos {
        let mut slot = u32::from(self.slot) + u32::from(n);
        let mut wrap = self.wrap;
        let q = u32::from(size);
        while slot >= q {
            slot -= q;
            wrap = wrap.flip();
        }
        PackedPos {
            slot: slot as u16,
            wrap,
        }
    }

    /// `off_wrap` encoding used by event suppression and notification data: offset in bits
    /// 0..15, wrap counter in bit 15.
    #[inline]
    pub fn off_wrap(self) -> u16 {
        self.slot | (self.wrap.bit() << 15)
    }

    /// Decodes an `off_wrap` value.
    #[inline]
    pub fn from_off_wrap(v: u16) -> PackedPos {
        PackedPos {
            slot: v & 0x7fff,
            wrap: WrapCounter(v >> 15 != 0),
        }
    }
}

impl fmt::Display for PackedPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/w{}", self.slot, self.wrap)
    }
}

/// Which ring layout a queue uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RingKind {
    /// Descriptor table + available ring + used ring (§2.7).
    Split,
    /// One descriptor ring + two event suppression areas (§2.8).
    Packed,
}

impl fmt::Display for RingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RingKind::Split => "split",
            RingKind::Packed => "packed",
        })
    }
}

/// Why a layout cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LayoutError {
    /// Queue size outside what the layout allows.
    #[error("queue size {size} is not valid for a {kind} ring: {why}")]
    Size {
        /// The size asked for.
        size: u32,
        /// The layout.
        kind: RingKind,
        /// What the spec requires.
        why: &'static str,
    },
    /// An area is not aligned as the spec requires.
    #[error("{area} at {addr:#x} must be aligned to {align} bytes (virtio 1.2 §2.7/§2.8)")]
    Align {
        /// Area name.
        area: &'static str,
        /// Its address.
        addr: u64,
        /// Required alignment.
        align: u64,
    },
    /// The used ring alignment asked for is not a power of 2 of at least 4.
    #[error(
        "used ring alignment {align} must be a power of 2 of at least 4 bytes (virtio 1.2 §2.7: the used ring is 4-byte aligned; Linux uses 64, legacy 4096)"
    )]
    UsedAlign {
        /// The alignment asked for.
        align: u64,
    },
    /// Two areas overlap.
    #[error("{a} [{a_start:#x}, {a_end:#x}) overlaps {b} [{b_start:#x}, {b_end:#x})")]
    Overlap {
        /// First area.
        a: &'static str,
        /// Its start.
        a_start: u64,
        /// Its end.
        a_end: u64,
        /// Second area.
        b: &'static str,
        /// Its start.
        b_start: u64,
        /// Its end.
        b_end: u64,
    },
}

/// Checks a queue size for a layout.
pub fn check_size(kind: RingKind, size: u32) -> Result<u16, LayoutError> {
    let bad = |why| Err(LayoutError::Size { size, kind, why });
    if size == 0 || size > MAX_QUEUE_SIZE {
        return bad("it must be between 1 and 32768");
    }
    if kind == RingKind::Split && !size.is_power_of_two() {
        return bad("a split ring's size must be a power of 2");
    }
    Ok(size as u16)
}

type Area = (&'static str, u64, u64, u64);

fn check_areas(areas: &[Area]) -> Result<(), LayoutError> {
    for &(name, addr, len, align) in areas {
        if addr % align != 0 {
            return Err(LayoutError::Align {
                area: name,
                addr,
                align,
            });
        }
        let _ = len;
    }
    for (i, &(a, a_start, a_len, _)) in areas.iter().enumerate() {
        for &(b, b_start, b_len, _) in &areas[i + 1..] {
            let (a_end, b_end) = (a_start + a_len, b_start + b_len);
            if a_start < b_end && b_start < a_end {
                return Err(LayoutError::Overlap {
                    a,
                    a_start,
                    a_end,
                    b,
                    b_start,
                    b_end,
                });
            }
        }
    }
    Ok(())
}

fn desc_field(rel: u64, slot: u16, packed: bool) -> Field {
    let part = match (rel % DESC_SIZE, packed) {
        (o, _) if o < DESC_LEN => DescPart::Addr,
        (o, _) if o < SPLIT_DESC_FLAGS => DescPart::Len,
        (o, false) if o < SPLIT_DESC_NEXT => DescPart::Flags,
        (_, false) => DescPart::Next,
        (o, true) if o < PACKED_DESC_FLAGS => DescPart::Id,
        _ => DescPart::Flags,
    };
    Field::Desc { index: slot, part }
}

/// Where a split virtqueue's three areas live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitLayout {
    /// Queue size Q (power of 2).
    pub size: u16,
    /// Descriptor table (Descriptor Area), 16-byte aligned, 16·Q bytes.
    pub desc: u64,
    /// Available ring (Driver Area), 2-byte aligned, 6 + 2·Q bytes.
    pub avail: u64,
    /// Used ring (Device Area), 4-byte aligned, 6 + 8·Q bytes.
    pub used: u64,
}

impl SplitLayout {
    /// Checks sizes, alignment and overlap.
    pub fn new(size: u32, desc: u64, avail: u64, used: u64) -> Result<Self, LayoutError> {
        let size = check_size(RingKind::Split, size)?;
        let l = SplitLayout {
            size,
            desc,
            avail,
            used,
        };
        check_areas(&[
            ("descriptor table", desc, l.desc_bytes(), 16),
            ("available ring", avail, l.avail_bytes(), 2),
            ("used ring", used, l.used_bytes(), 4),
        ])?;
        Ok(l)
    }

    /// The three areas one after another from `base` as Linux's modern driver lays them out:
    /// [`contiguous_aligned`](Self::contiguous_aligned) with the used ring on the next
    /// 64-byte boundary ([`LINUX_USED_ALIGN`]).
    pub fn contiguous(size: u32, base: u64) -> Result<Self, LayoutError> {
        Self::contiguous_aligned(size, base, LINUX_USED_ALIGN)
    }

    /// The three areas one after another from `base`: the table 16-byte aligned, the
    /// available ring right after it, the used ring at the next multiple of `used_align` after
    /// that (Linux's `vring_init`). `used_align` is a power of 2 of at least 4: 4 packs the
    /// used ring as tightly as the spec allows, which puts the avail ring's tail and the used
    /// ring's header in one cache line that both sides write.
    pub fn contiguous_aligned(size: u32, base: u64, used_align: u64) -> Result<Self, LayoutError> {
        if !used_align.is_power_of_two() || used_align < MIN_USED_ALIGN {
            return Err(LayoutError::UsedAlign { align: used_align });
        }
        let q = u64::from(check_size(RingKind::Split, size)?);
        let desc = base.next_multiple_of(16);
        let avail = desc + 16 * q;
        let used = (avail + 6 + 2 * q).next_multiple_of(used_align);
        Self::new(size, desc, avail, used)
    }

    /// The legacy (virtio 0.9) layout: one block, used ring at the next `align` boundary.
    pub fn legacy(size: u32, base: u64, align: u64) -> Result<Self, LayoutError> {
        let q = u64::from(check_size(RingKind::Split, size)?);
        let avail = base + 16 * q;
        let used = (avail + 6 + 2 * q).next_multiple_of(align);
        Self::new(size, base, avail, used)
    }

    /// Which layout this is.
    pub fn kind(&self) -> RingKind {
        RingKind::Split
    }
    /// Bytes of the descriptor table.
    pub fn desc_bytes(&self) -> u64 {
        DESC_SIZE * u64::from(self.size)
    }
    /// The ring slot of a free-running index: [`RingIdx::slot`] for a size known to be a power
    /// of 2 (as [`SplitLayout::new`] checks), one mask.
    #[inline]
    pub fn slot(&self, idx: RingIdx) -> u16 {
        idx.0 & (self.size - 1)
    }
    /// Bytes of the available ring including `used_event`.
    pub fn avail_bytes(&self) -> u64 {
        6 + 2 * u64::from(self.size)
    }
    /// Bytes of the used ring including `avail_event`.
    pub fn used_bytes(&self) -> u64 {
        6 + 8 * u64::from(self.size)
    }

    /// Address of `desc[i]`.
    #[inline]
    pub fn desc(&self, i: u16) -> u64 {
        self.desc + DESC_SIZE * u64::from(i)
    }
    /// Address of `avail.flags`.
    #[inline]
    pub fn avail_flags(&self) -> u64 {
        self.avail
    }
    /// Address of `avail.idx`.
    #[inline]
    pub fn avail_idx(&self) -> u64 {
        self.avail + 2
    }
    /// Address of `avail.ring[slot]`.
    #[inline]
    pub fn avail_ring(&self, slot: u16) -> u64 {
        self.avail + 4 + 2 * u64::from(slot)
    }
    /// Address of `used_event` (`avail.ring[Q]`).
    #[inline]
    pub fn used_event(&self) -> u64 {
        self.avail_ring(self.size)
    }
    /// Address of `used.flags`.
    #[inline]
    pub fn used_flags(&self) -> u64 {
        self.used
    }
    /// Address of `used.idx`.
    #[inline]
    pub fn used_idx(&self) -> u64 {
        self.used + 2
    }
    /// Address of `used.ring[slot].id`; `len` follows 4 bytes later.
    #[inline]
    pub fn used_elem(&self, slot: u16) -> u64 {
        self.used + 4 + 8 * u64::from(slot)
    }
    /// Address of `avail_event` (`used.ring[Q]`).
    #[inline]
    pub fn avail_event(&self) -> u64 {
        self.used_elem(self.size)
    }

    /// The field a guest address belongs to, if it is inside one of the three areas.
    pub fn field_at(&self, addr: u64) -> Option<Field> {
        let q = u64::from(self.size);
        if (self.desc..self.desc + self.desc_bytes()).contains(&addr) {
            let rel = addr - self.desc;
            return Some(desc_field(rel, (rel / DESC_SIZE) as u16, false));
        }
        if (self.avail..self.avail + self.avail_bytes()).contains(&addr) {
            return Some(match addr - self.avail {
                0 | 1 => Field::AvailFlags,
                2 | 3 => Field::AvailIdx,
                r if r >= 4 + 2 * q => Field::UsedEvent,
                r => Field::AvailRing(((r - 4) / 2) as u16),
            });
        }
        if (self.used..self.used + self.used_bytes()).contains(&addr) {
            return Some(match addr - self.used {
                0 | 1 => Field::UsedFlags,
                2 | 3 => Field::UsedIdx,
                r if r >= 4 + 8 * q => Field::AvailEvent,
                r if (r - 4) % 8 < USED_ELEM_LEN => Field::UsedId(((r - 4) / 8) as u16),
                r => Field::UsedLen(((r - 4) / 8) as u16),
            });
        }
        None
    }
}

/// Where a packed virtqueue's areas live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedLayout {
    /// Queue size Q (1..=32768, any value).
    pub size: u16,
    /// Descriptor ring (Descriptor Area), 16-byte aligned.
    pub desc: u64,
    /// Driver event suppression (Driver Area, QEMU's "avail" address), 4-byte aligned: written
    /// by the driver, read by the device, controls used-buffer notifications.
    pub driver_event: u64,
    /// Device event suppression (Device Area, QEMU's "used" address), 4-byte aligned: written
    /// by the device, controls available-buffer notifications.
    pub device_event: u64,
}

impl PackedLayout {
    /// Checks size, alignment and overlap.
    pub fn new(
        size: u32,
        desc: u64,
        driver_event: u64,
        device_event: u64,
    ) -> Result<Self, LayoutError> {
        let size = check_size(RingKind::Packed, size)?;
        let l = PackedLayout {
            size,
            desc,
            driver_event,
            device_event,
        };
        check_areas(&[
            ("descriptor ring", desc, l.desc_bytes(), 16),
            ("driver event suppression", driver_event, 4, 4),
            ("device event suppression", device_event, 4, 4),
        ])?;
        Ok(l)
    }

    /// Ring then the two event areas, one after another from `base`.
    pub fn contiguous(size: u32, base: u64) -> Result<Self, LayoutError> {
        let q = u64::from(check_size(RingKind::Packed, size)?);
        let desc = base.next_multiple_of(16);
        Self::new(size, desc, desc + 16 * q, desc + 16 * q + 4)
    }

    /// Which layout this is.
    pub fn kind(&self) -> RingKind {
        RingKind::Packed
    }
    /// Bytes of the descriptor ring.
    pub fn desc_bytes(&self) -> u64 {
        DESC_SIZE * u64::from(self.size)
    }
    /// Address of descriptor slot `i`.
    #[inline]
    pub fn desc(&self, i: u16) -> u64 {
        self.desc + DESC_SIZE * u64::from(i)
    }

    /// The field a guest address belongs to, if it is inside one of the areas.
    pub fn field_at(&self, addr: u64) -> Option<Field> {
        if (self.desc..self.desc + self.desc_bytes()).contains(&addr) {
            let rel = addr - self.desc;
            return Some(desc_field(rel, (rel / DESC_SIZE) as u16, true));
        }
        let ev = |base: u64, off_wrap, flags| {
            (base..base + 4)
                .contains(&addr)
                .then(|| if addr - base < 2 { off_wrap } else { flags })
        };
        ev(
            self.driver_event,
            Field::DriverEventOffWrap,
            Field::DriverEventFlags,
        )
        .or_else(|| {
            ev(
                self.device_event,
                Field::DeviceEventOffWrap,
                Field::DeviceEventFlags,
            )
        })
    }
}

/// Either layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RingLayout {
    /// Split.
    Split(SplitLayout),
    /// Packed.
    Packed(PackedLayout),
}

impl RingLayout {
    /// Queue size.
    pub fn size(&self) -> u16 {
        match self {
            RingLayout::Split(l) => l.size,
            RingLayout::Packed(l) => l.size,
        }
    }
    /// Which layout.
    pub fn kind(&self) -> RingKind {
        match self {
            RingLayout::Split(_) => RingKind::Split,
            RingLayout::Packed(_) => RingKind::Packed,
        }
    }
    /// The field at a guest address.
    pub fn field_at(&self, addr: u64) -> Option<Field> {
        match self {
            RingLayout::Split(l) => l.field_at(addr),
            RingLayout::Packed(l) => l.field_at(addr),
        }
    }
    /// `(name, start, length)` of each area, in address order of the spec's listing.
    pub fn areas(&self) -> Vec<(&'static str, u64, u64)> {
        match self {
            RingLayout::Split(l) => vec![
                ("desc", l.desc, l.desc_bytes()),
                ("avail", l.avail, l.avail_bytes()),
                ("used", l.used, l.used_bytes()),
            ],
            RingLayout::Packed(l) => vec![
                ("desc", l.desc, l.desc_bytes()),
                ("driver_event", l.driver_event, 4),
                ("device_event", l.device_event, 4),
            ],
        }
    }
}

/// The canonical event check shared by the spec, Linux and QEMU: true iff `event` lies in
/// `[old, new)` modulo 2^16. Never an equality test: a batch may jump over the event index.
pub fn vring_need_event(event: u16, new: u16, old: u16) -> bool {
    new.wrapping_sub(event).wrapping_sub(1) < new.wrapping_sub(old)
}

/// The split-ring used-buffer notification rule QEMU applies in `virtio_split_should_notify`
/// with EVENT_IDX: notify iff `used_event` lies in `(signalled_used, used_idx]`, i.e.
/// `vring_need_event(used_event, used_idx, signalled_used)`, or when the last signal is not
/// valid.
pub fn split_should_notify(
    used_event: u16,
    used_idx: u16,
    signalled_used: u16,
    signalled_valid: bool,
) -> bool {
    !signalled_valid || vring_need_event(used_event, used_idx, signalled_used)
}

/// The packed ring's event test (Linux's `virtqueue_kick_prepare_packed`, QEMU's
/// `vring_packed_need_event`): whether the slot armed in `off_wrap` lies in the `count` slots
/// just before `new`, an armed slot from the other lap counting `size` slots earlier.
#[inline]
pub fn packed_need_event(off_wrap: u16, new: PackedPos, count: u16, size: u16) -> bool {
    let ev = PackedPos::from_off_wrap(off_wrap);
    let mut off = ev.slot;
    if ev.wrap != new.wrap {
        off = off.wrapping_sub(size);
    }
    vring_need_event(off, new.slot, new.slot.wrapping_sub(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_window_is_half_open_on_the_old_side() {
        // Signalled at 5, now 8: event 5 was already covered, 6..=7 fire (vring_need_event's
        // [old, new) window is over the index *before* the entry written).
        assert!(!split_should_notify(4, 8, 5, true));
        assert!(split_should_notify(5, 8, 5, true));
        assert!(split_should_notify(7, 8, 5, true));
        assert!(!split_should_notify(8, 8, 5, true));
        assert!(split_should_notify(8, 8, 5, false));
    }

    #[test]
    fn split_offsets_match_the_spec_structs() {
        let l = SplitLayout::contiguous_aligned(256, 0x10000, MIN_USED_ALIGN).unwrap();
        assert_eq!(l.avail, 0x10000 + 4096);
        assert_eq!(l.avail_ring(5), l.avail + 4 + 10);
        assert_eq!(l.used_event(), l.avail + 4 + 512);
        // used ring: 4-aligned after 6 + 2*256 = 518 bytes of avail ring.
        assert_eq!(l.used, (l.avail + 518).next_multiple_of(4));
        assert_eq!(l.avail_event(), l.used + 4 + 8 * 256);
        assert_eq!(l.field_at(l.used_elem(2) + 4), Some(Field::UsedLen(2)));
        assert_eq!(l.field_at(l.used_elem(2) + 3), Some(Field::UsedId(2)));
        assert_eq!(
            l.field_at(l.desc(3) + 12),
            Some(Field::Desc {
                index: 3,
                part: DescPart::Flags
            })
        );
        assert_eq!(l.field_at(l.used_event()), Some(Field::UsedEvent));
        assert_eq!(l.field_at(l.avail_event() + 1), Some(Field::AvailEvent));
        assert_eq!(l.field_at(l.used + l.used_bytes()), None);
    }

    #[test]
    fn the_default_layout_is_where_linux_put_the_captured_rings() {
        // traces/split-default/qmp.jsonl (QEMU 7.2, Linux guest, modern virtio-pci): a
        // 256-entry queue at 0x29e0000 has its avail ring at 0x29e1000 and its used ring at
        // 0x29e1240, the first 64-byte boundary after the avail ring's 518 bytes; a 64-entry
        // queue at 0x2bfb000: avail 0x2bfb400, used 0x2bfb4c0; 8 entries at 0x2b8f000: avail
        // 0x2b8f080, used 0x2b8f0c0.
        for (q, desc, avail, used) in [
            (256, 0x29e_0000, 0x29e_1000, 0x29e_1240),
            (64, 0x2bf_b000, 0x2bf_b400, 0x2bf_b4c0),
            (8, 0x2b8_f000, 0x2b8_f080, 0x2b8_f0c0),
        ] {
            let l = SplitLayout::contiguous(q, desc).unwrap();
            assert_eq!((l.desc, l.avail, l.used), (desc, avail, used), "Q={q}");
        }
        // The spec's minimum packs the used ring 4 bytes after used_event.
        let l = SplitLayout::contiguous_aligned(256, 0x29e_0000, 4).unwrap();
        assert_eq!(l.used, 0x29e_1208);
        assert!(matches!(
            SplitLayout::contiguous_aligned(8, 0, 48),
            Err(LayoutError::UsedAlign { align: 48 })
        ));
        assert!(SplitLayout::contiguous_aligned(8, 0, 2).is_err());
    }

    #[test]
    fn legacy_layout_puts_used_on_the_next_page() {
        // Linux vring_size(256, 4096) = ALIGN(16*256 + 2*(3+256), 4096) + 2*3 + 8*256 = 10246.
        let l = SplitLayout::legacy(256, 0, 4096).unwrap();
        assert_eq!(l.used, 8192);
        assert_eq!(l.used + l.used_bytes(), 10246);
    }

    #[test]
    fn sizes_and_alignment_are_checked() {
        assert!(SplitLayout::contiguous(768, 0).is_err());
        assert!(SplitLayout::contiguous(65536, 0).is_err());
        assert!(PackedLayout::contiguous(768, 0).is_ok());
        assert!(PackedLayout::contiguous(0, 0).is_err());
        assert!(matches!(
            SplitLayout::new(4, 0x1008, 0x2000, 0x3000),
            Err(LayoutError::Align { .. })
        ));
        assert!(matches!(
            SplitLayout::new(4, 0x1000, 0x1020, 0x3000),
            Err(LayoutError::Overlap { .. })
        ));
    }

    #[test]
    fn need_event_is_a_window_not_an_equality() {
        // Event 5 inside [3, 7) fires even though the batch jumped over it.
        assert!(vring_need_event(5, 7, 3));
        assert!(!vring_need_event(7, 7, 3));
        assert!(vring_need_event(3, 7, 3));
        // Across the 16-bit wrap.
        assert!(vring_need_event(0xffff, 2, 0xfffe));
        assert!(!vring_need_event(2, 2, 0xfffe));
        // The spec's example: used_event = 0 fires on the first buffer.
        assert!(vring_need_event(0, 1, 0));
    }

    #[test]
    fn packed_positions_flip_the_wrap_counter_at_the_end() {
        let p = PackedPos::START.advance(3, 4);
        assert_eq!((p.slot, p.wrap), (3, WrapCounter(true)));
        let p = p.advance(1, 4);
        assert_eq!((p.slot, p.wrap), (0, WrapCounter(false)));
        assert_eq!(
            PackedPos::from_off_wrap(p.advance(5, 4).off_wrap()),
            p.advance(5, 4)
        );
        assert_eq!(PackedPos::START.off_wrap(), 0x8000);
    }
}
