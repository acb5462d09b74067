//! The packed virtqueue (virtio 1.2 §2.8): one descriptor ring both sides write, AVAIL and USED
//! flag bits read against each side's wrap counter, and two event suppression areas.
//!
//! The driver fills slots in ring order and flips its wrap counter at the end of the ring; the
//! device marks lists used in completion order, possibly out of order, writing one used
//! descriptor per list at its own position. Each side polls exactly one slot: the next one.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::behaviour::{
    DeviceFault, DriverFault, IdPlacement, IdSource, UsedLenRead, UsedWriteFlag,
};
use crate::features::Features;
use crate::finding::Code;
use crate::layout::{
    PackedLayout, PackedPos, RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE,
    RING_EVENT_FLAGS_ENABLE, VIRTQ_DESC_F_AVAIL, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT,
    VIRTQ_DESC_F_USED, VIRTQ_DESC_F_WRITE, WrapCounter, packed_need_event,
};
use crate::memory::{Agent, DescPart, Field, Halt, Ordering};
use crate::queue::{Batch, broke, send_interrupt, send_kick, take_at, take_batch};
use crate::queue::{BufferSpec, Chain, Ctx, NotifyDecision, Pick, Segment};

const DRV: Agent = Agent::Driver;
const DEV: Agent = Agent::Device;

/// Flags that make a descriptor available in the lap of wrap counter `w`: AVAIL = w, USED = !w.
#[inline]
pub fn avail_flags(w: WrapCounter) -> u16 {
    if w.0 {
        VIRTQ_DESC_F_AVAIL
    } else {
        VIRTQ_DESC_F_USED
    }
}

/// Flags that mark a descriptor used in the lap of wrap counter `w`: AVAIL = USED = w.
#[inline]
pub fn used_flags(w: WrapCounter) -> u16 {
    if w.0 {
        VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED
    } else {
        0
    }
}

/// The (AVAIL, USED) bits of a flags word as the two-character code the UIs show: `10` is
/// available in lap 1, `01` available in lap 0, `11` used in lap 1, `00` used in lap 0 (and
/// the zeroed initial state).
pub fn bits_code(flags: u16) -> &'static str {
    match (
        flags & VIRTQ_DESC_F_AVAIL != 0,
        flags & VIRTQ_DESC_F_USED != 0,
    ) {
        (true, false) => "10",
        (false, true) => "01",
        (true, true) => "11",
        (false, false) => "00",
    }
}

/// The AVAIL and USED bits.
const AVAIL_USED: u16 = VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED;

/// Device's availability test: AVAIL == its avail wrap counter and USED != it, which is
/// exactly the two bits [`avail_flags`] sets (one compare: the real rings poll with it).
#[inline]
pub fn is_avail(flags: u16, w: WrapCounter) -> bool {
    flags & AVAIL_USED == avail_flags(w)
}

/// Driver's used test: AVAIL == USED == its used wrap counter (both bits; spec issue #29),
/// which is exactly the two bits [`used_flags`] sets.
#[inline]
pub fn is_used(flags: u16, w: WrapCounter) -> bool {
    flags & AVAIL_USED == used_flags(w)
}

/// What the driver remembers about a buffer ID it made available (Linux's `desc_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdState {
    /// Ring slots the list occupies.
    pub num: u16,
    /// First slot.
    pub slot: u16,
    /// Writable bytes offered.
    pub writable: u32,
}

/// The driver side of a packed ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedDriver {
    /// Next slot to fill and the driver's (avail) wrap counter.
    pub next_avail: PackedPos,
    /// Next slot to poll for a used descriptor and the used wrap counter.
    pub next_used: PackedPos,
    /// Free ring slots.
    pub num_free: u16,
    /// Free buffer IDs (a stack).
    pub free_ids: Vec<u16>,
    /// Per buffer ID: the list it names, while outstanding.
    pub ids: Vec<Option<IdState>>,
    /// Buffer IDs in the order they were made available.
    pub order: VecDeque<u16>,
    /// Head slots whose flags are written but not yet stored (published by `publish`), with
    /// the flags to store.
    pub pending: Vec<(u16, u16)>,
    /// Slots made available since the last kick decision.
    pub added_since_kick: u16,
    /// Shadow of `driver_event.flags`.
    pub event_flags: u16,
}

impl PackedDriver {
    /// A driver for a freshly zeroed ring of `size` slots.
    pub fn new(size: u16) -> Self {
        PackedDriver {
            next_avail: PackedPos::START,
            next_used: PackedPos::START,
            num_free: size,
            free_ids: (0..size).rev().collect(),
            ids: vec![None; usize::from(size)],
            order: VecDeque::new(),
            pending: Vec::new(),
            added_since_kick: 0,
            event_flags: RING_EVENT_FLAGS_ENABLE,
        }
    }

    /// Writes one list into the ring: every descriptor but the head gets its flags now, the
    /// head's flags wait for [`publish`](Self::publish) so one store exposes the whole list.
    /// Returns the buffer ID, or `None` when there is no room.
    pub(crate) fn add(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &PackedLayout,
        buf: &BufferSpec,
    ) -> Result<Option<u16>, Halt> {
        let indirect = buf.indirect
            && (cx.has(Features::INDIRECT_DESC)
                || cx.driver().has(DriverFault::NestedIndirect)
                || cx.driver().has(DriverFault::IndirectWithNext));
        let segs = buf.chain_order(cx.driver().has(DriverFault::WritableFirst));
        let n = buf.segments();
        let need = if indirect { 1 } else { n as u16 };
        if n == 0 {
            return Ok(None);
        }
        let reuse = cx.driver().has(DriverFault::ReuseId);
        if need > self.num_free || (self.free_ids.is_empty() && !reuse) {
            let msg = format!(
                "no room for a {need}-descriptor buffer: {} of {} slots free",
                self.num_free, l.size
            );
            cx.finding(Code::QueueFull, DRV, msg);
            return Ok(None);
        }
        let id = match (reuse, self.order.front()) {
            (true, Some(&outstanding)) => outstanding,
            _ => match self.free_ids.pop() {
                Some(id) => id,
                None => return Ok(None),
            },
        };
        let first = self.next_avail;
        let writable = buf.writable_bytes();
        let every = cx.driver().id_placement == IdPlacement::Every;
        let p = Ordering::Plain;
        if indirect {
            let table = cx.alloc().table(id);
            for k in 0..n {
                let (len, w) = segs.at(k);
                let mut flags = if w { VIRTQ_DESC_F_WRITE } else { 0 };
                if k == 0 && cx.driver().has(DriverFault::NestedIndirect) {
                    flags |= VIRTQ_DESC_F_INDIRECT;
                }
                let base = table + 16 * k as u64;
                let f = |part| Field::Indirect {
                    parent: first.slot,
                    index: k as u16,
                    part,
                };
                let addr = cx.alloc().segment(id, k);
                cx.bus.store(DRV, f(DescPart::Addr), base, 8, addr, p)?;
                cx.bus
                    .store(DRV, f(DescPart::Len), base + 8, 4, len.into(), p)?;
                cx.bus
                    .store(DRV, f(DescPart::Flags), base + 14, 2, flags.into(), p)?;
            }
            let mut len = 16 * n as u32;
            if cx.driver().has(DriverFault::IndirectBadSize) {
                len -= 1;
            }
            let base = l.desc(first.slot);
            let f = |part| Field::Desc {
                index: first.slot,
                part,
            };
            cx.bus.store(DRV, f(DescPart::Addr), base, 8, table, p)?;
            cx.bus
                .store(DRV, f(DescPart::Len), base + 8, 4, len.into(), p)?;
            cx.bus
                .store(DRV, f(DescPart::Id), base + 12, 2, id.into(), p)?;
            let mut flags = VIRTQ_DESC_F_INDIRECT | avail_flags(first.wrap);
            if cx.driver().has(DriverFault::IndirectWithNext) {
                // The fault: a stray NEXT on the indirect descriptor, as if a list went on.
                flags |= VIRTQ_DESC_F_NEXT;
            }
            self.pending.push((first.slot, flags));
        } else {
            let mut pos = first;
            for k in 0..n {
                let (len, w) = segs.at(k);
                let last = k + 1 == n;
                let mut flags = avail_flags(pos.wrap);
                if w {
                    flags |= VIRTQ_DESC_F_WRITE;
                }
                if !last {
                    flags |= VIRTQ_DESC_F_NEXT;
                }
                let base = l.desc(pos.slot);
                let slot = pos.slot;
                let f = |part| Field::Desc { index: slot, part };
                let addr = cx.alloc().segment(id, k);
                cx.bus.store(DRV, f(DescPart::Addr), base, 8, addr, p)?;
                cx.bus
                    .store(DRV, f(DescPart::Len), base + 8, 4, len.into(), p)?;
                if last || every {
                    cx.bus
                        .store(DRV, f(DescPart::Id), base + 12, 2, id.into(), p)?;
                }
                if k == 0 {
                    self.pending.push((slot, flags));
                } else {
                    cx.bus
                        .store(DRV, f(DescPart::Flags), base + 14, 2, flags.into(), p)?;
                }
                pos = pos.advance(1, l.size);
            }
        }
        self.next_avail = first.advance(need, l.size);
        self.num_free -= need;
        self.added_since_kick = self.added_since_kick.wrapping_add(need);
        if let Some(s) = self.ids.get_mut(usize::from(id)) {
            *s = Some(IdState {
                num: need,
                slot: first.slot,
                writable,
            });
        }
        self.order.push_back(id);
        Ok(Some(id))
    }

    /// Exposes every added list: stores the pending head flags, the first head last, so that
    /// a batch becomes visible with a single store-release.
    #[inline(always)]
    pub(crate) fn publish(&mut self, cx: &mut Ctx<'_>, l: &PackedLayout) -> Result<(), Halt> {
        while let Some((slot, flags)) = self.pending.pop() {
            let order = if self.pending.is_empty() {
                Ordering::Release
            } else {
                Ordering::Plain
            };
            let f = Field::Desc {
                index: slot,
                part: DescPart::Flags,
            };
            cx.bus
                .store(DRV, f, l.desc(slot) + 14, 2, flags.into(), order)?;
        }
        Ok(())
    }

    /// Decides whether to kick (Linux's `virtqueue_kick_prepare_packed`) and sends it.
    pub(crate) fn kick(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &PackedLayout,
    ) -> Result<NotifyDecision, Halt> {
        let needed = event_check(
            cx,
            DRV,
            l.device_event,
            [Field::DeviceEventFlags, Field::DeviceEventOffWrap],
            self.next_avail,
            self.added_since_kick,
            l.size,
        )?;
        self.added_since_kick = 0;
        let value = cx.kick_value(self.next_avail.off_wrap());
        send_kick(cx, needed, value)
    }

    /// Disables used-buffer notifications.
    pub(crate) fn disable_cb(&mut self, cx: &mut Ctx<'_>, l: &PackedLayout) -> Result<(), Halt> {
        self.event_flags = RING_EVENT_FLAGS_DISABLE;
        let v = RING_EVENT_FLAGS_DISABLE;
        let f = Field::DriverEventFlags;
        cx.bus
            .store(DRV, f, l.driver_event + 2, 2, v.into(), Ordering::Plain)
    }

    /// Enables used-buffer notifications (with EVENT_IDX: at the next used slot), then
    /// re-checks that slot. Returns whether a used descriptor was already waiting.
    pub(crate) fn enable_cb(&mut self, cx: &mut Ctx<'_>, l: &PackedLayout) -> Result<bool, Halt> {
        let p = Ordering::Plain;
        if cx.has(Features::EVENT_IDX) {
            let ow = self.next_used.off_wrap();
            cx.bus.store(
                DRV,
                Field::DriverEventOffWrap,
                l.driver_event,
                2,
                ow.into(),
                p,
            )?;
            self.event_flags = RING_EVENT_FLAGS_DESC;
        } else {
            self.event_flags = RING_EVENT_FLAGS_ENABLE;
        }
        let v = self.event_flags;
        let f = Field::DriverEventFlags;
        cx.bus
            .store(DRV, f, l.driver_event + 2, 2, v.into(), Ordering::Release)?;
        if cx.driver().has(DriverFault::NoRecheck) {
            return Ok(false);
        }
        let slot = self.next_used.slot;
        let f = Field::Desc {
            index: slot,
            part: DescPart::Flags,
        };
        let fl = cx.bus.load(DRV, f, l.desc(slot) + 14, 2, Ordering::Fence)? as u16;
        Ok(is_used(fl, self.next_used.wrap))
    }

    /// Reclaims up to `max` used lists (Linux's `virtqueue_get_buf_ctx_packed`).
    #[inline(always)]
    pub(crate) fn reclaim(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &PackedLayout,
        max: u16,
    ) -> Result<u16, Halt> {
        let mut done = 0;
        while done < max {
            let slot = self.next_used.slot;
            let base = l.desc(slot);
            let ff = |part| Field::Desc { index: slot, part };
            let flags = cx
                .bus
                .load(DRV, ff(DescPart::Flags), base + 14, 2, Ordering::Acquire)?
                as u16;
            if !is_used(flags, self.next_used.wrap) {
                break;
            }
            let id = cx
                .bus
                .load(DRV, ff(DescPart::Id), base + 12, 2, Ordering::Plain)?
                as u16;
            let len = cx
                .bus
                .load(DRV, ff(DescPart::Len), base + 8, 4, Ordering::Plain)?
                as u32;
            if usize::from(id) >= self.ids.len() {
                cx.finding(Code::UsedIdOutOfRange, DRV, format!("id {id} out of range"));
                return Ok(done);
            }
            // Linux's test: the ID's desc_state still holds a buffer.
            let outstanding = self.ids[usize::from(id)].is_some();
            let Some(pos) = self
                .order
                .iter()
                .position(|&o| o == id)
                .filter(|_| outstanding)
            else {
                cx.finding(
                    Code::UsedIdNotOutstanding,
                    DRV,
                    format!("id {id} is not a head"),
                );
                return Ok(done);
            };
            let write = flags & VIRTQ_DESC_F_WRITE != 0;
            if !write && len != 0 {
                let msg = format!(
                    "used descriptor {slot} (id {id}) has len {len} but no WRITE flag: len is reserved without WRITE; {}",
                    match cx.driver().used_len {
                        UsedLenRead::RespectWrite => "this driver reads it as 0 (spec)",
                        UsedLenRead::IgnoreWrite => "this driver reads it anyway (Linux)",
                    }
                );
                cx.finding(Code::UsedLenWithoutWrite, DRV, msg);
            }
            // Under IN_ORDER one used descriptor stands for every list up to and including id.
            let in_order = cx.has(Features::IN_ORDER);
            let taken = if in_order { pos + 1 } else { 1 };
            let mut skip = 0u16;
            for _ in 0..taken {
                let t = take_at(&mut self.order, if in_order { 0 } else { pos });
                let Some(t) = t else { break };
                if let Some(st) = self.ids.get_mut(usize::from(t)).and_then(Option::take) {
                    if t == id
                        && write | (cx.driver().used_len == UsedLenRead::IgnoreWrite)
                        && len > st.writable
                    {
                        let msg =
                            format!("used len {len} is larger than in buflen {}", st.writable);
                        cx.finding(Code::UsedLenTooLong, DRV, msg);
                    }
                    skip += st.num;
                    self.num_free += st.num;
                }
                self.free_ids.push(t);
            }
            self.next_used = self.next_used.advance(skip, l.size);
            done += taken as u16;
        }
        if done > 0 && self.event_flags == RING_EVENT_FLAGS_DESC {
            let ow = self.next_used.off_wrap();
            cx.bus.store(
                DRV,
                Field::DriverEventOffWrap,
                l.driver_event,
                2,
                ow.into(),
                Ordering::Fence,
            )?;
        }
        Ok(done)
    }
}

/// A used descriptor written but whose flags wait for `publish`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUsed {
    /// Slot.
    pub slot: u16,
    /// Flags to store.
    pub flags: u16,
}

/// The device side of a packed ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedDevice {
    /// Next slot to poll for an available descriptor and the avail wrap counter.
    pub next_avail: PackedPos,
    /// Next slot to write a used descriptor and the used wrap counter.
    pub next_used: PackedPos,
    /// Lists popped and not yet completed, in pop order.
    pub inflight: VecDeque<Chain>,
    /// Used descriptors whose flags are not yet stored.
    pub pending: Vec<PendingUsed>,
    /// Used slots published since the last interrupt decision.
    pub used_since_signal: u16,
    /// Used slots written but not yet published.
    pub unpublished: u16,
    /// Position after the last published used descriptor, with its wrap counter.
    pub published: PackedPos,
    /// The driver's next position as the last kick's notification data gave it.
    pub notified: Option<PackedPos>,
    /// Whether the device has found the ring broken.
    pub broken: bool,
}

impl Default for PackedDevice {
    fn default() -> Self {
        PackedDevice {
            next_avail: PackedPos::START,
            next_used: PackedPos::START,
            inflight: VecDeque::new(),
            pending: Vec::new(),
            used_since_signal: 0,
            unpublished: 0,
            published: PackedPos::START,
            notified: None,
            broken: false,
        }
    }
}

impl PackedDevice {
    /// Pops up to `max` available lists in ring order.
    pub(crate) fn pop(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &PackedLayout,
        max: u16,
    ) -> Result<u16, Halt> {
        let mut popped = 0;
        let limit = self.notified.take();
        while popped < max && !self.broken {
            let head = self.next_avail;
            if limit == Some(head) {
                break;
            }
            let base = l.desc(head.slot);
            let hs = head.slot;
            let ff = |part| Field::Desc { index: hs, part };
            let flags = cx
                .bus
                .load(DEV, ff(DescPart::Flags), base + 14, 2, Ordering::Acquire)?
                as u16;
            if !is_avail(flags, head.wrap) {
                break;
            }
            let Some(chain) = self.read_list(cx, l, head, flags)? else {
                break;
            };
            self.next_avail = head.advance(chain.descs, l.size);
            self.inflight.push_back(chain);
            popped += 1;
        }
        Ok(popped)
    }

    fn read_list(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &PackedLayout,
        head: PackedPos,
        head_flags: u16,
    ) -> Result<Option<Chain>, Halt> {
        let p = Ordering::Plain;
        let mut segments = SmallVec::new();
        let mut pos = head;
        let mut flags = head_flags;
        let mut n = 0u16;
        let mut writable_seen = false;
        let mut head_id = None;
        loop {
            n += 1;
            if u32::from(n) > u32::from(l.size) {
                broke(
                    &mut self.broken,
                    cx,
                    Code::LoopedDescriptor,
                    "Virtqueue size exceeded".into(),
                );
                return Ok(None);
            }
            let base = l.desc(pos.slot);
            let s = pos.slot;
            let ff = |part| Field::Desc { index: s, part };
            if n > 1 {
                flags = cx.bus.load(DEV, ff(DescPart::Flags), base + 14, 2, p)? as u16;
                if !is_avail(flags, pos.wrap) {
                    let msg = format!(
                        "desc[{}] continues a list but its AVAIL/USED bits {} do not say available for wrap counter {}",
                        pos.slot,
                        bits_code(flags),
                        pos.wrap
                    );
                    broke(&mut self.broken, cx, Code::WrapDesync, msg);
                    return Ok(None);
                }
            }
            let addr = cx.bus.load(DEV, ff(DescPart::Addr), base, 8, p)?;
            let len = cx.bus.load(DEV, ff(DescPart::Len), base + 8, 4, p)? as u32;
            let last = flags & VIRTQ_DESC_F_NEXT == 0;
            let read_id = match cx.device().id_source {
                IdSource::QemuPre91 => n == 1,
                IdSource::Last => last,
            };
            let mut id = None;
            if read_id {
                id = Some(cx.bus.load(DEV, ff(DescPart::Id), base + 12, 2, p)? as u16);
            }
            if n == 1 {
                head_id = id;
            }
            if flags & VIRTQ_DESC_F_INDIRECT != 0 {
                if !cx.has(Features::INDIRECT_DESC) {
                    let msg = format!(
                        "desc[{}] is INDIRECT but VIRTIO_F_INDIRECT_DESC was not negotiated",
                        pos.slot
                    );
                    broke(&mut self.broken, cx, Code::IndirectNotNegotiated, msg);
                    return Ok(None);
                }
                if !last || n > 1 {
                    broke(
                        &mut self.broken,
                        cx,
                        Code::IndirectWithNext,
                        "Indirect descriptor in a NEXT-linked list".into(),
                    );
                    return Ok(None);
                }
                if len == 0 || !len.is_multiple_of(16) {
                    broke(
                        &mut self.broken,
                        cx,
                        Code::IndirectBadSize,
                        "Invalid size for indirect buffer table".into(),
                    );
                    return Ok(None);
                }
                for k in 0..len / 16 {
                    let tb = addr + 16 * u64::from(k);
                    let f = |part| Field::Indirect {
                        parent: head.slot,
                        index: k as u16,
                        part,
                    };
                    let a = cx.bus.load(DEV, f(DescPart::Addr), tb, 8, p)?;
                    let ln = cx.bus.load(DEV, f(DescPart::Len), tb + 8, 4, p)? as u32;
                    let fl = cx.bus.load(DEV, f(DescPart::Flags), tb + 14, 2, p)? as u16;
                    if fl & VIRTQ_DESC_F_INDIRECT != 0 {
                        broke(
                            &mut self.broken,
                            cx,
                            Code::NestedIndirect,
                            "Nested indirect descriptor".into(),
                        );
                        return Ok(None);
                    }
                    let w = fl & VIRTQ_DESC_F_WRITE != 0;
                    if !w && writable_seen {
                        broke(
                            &mut self.broken,
                            cx,
                            Code::ReadableAfterWritable,
                            "Incorrect order for descriptors".into(),
                        );
                        return Ok(None);
                    }
                    writable_seen |= w;
                    segments.push(Segment {
                        addr: a,
                        len: ln,
                        write: w,
                    });
                }
            } else {
                let w = flags & VIRTQ_DESC_F_WRITE != 0;
                if !w && writable_seen {
                    broke(
                        &mut self.broken,
                        cx,
                        Code::ReadableAfterWritable,
                        "Incorrect order for descriptors".into(),
                    );
                    return Ok(None);
                }
                writable_seen |= w;
                segments.push(Segment {
                    addr,
                    len,
                    write: w,
                });
            }
            if last {
                let id = id.or(head_id).unwrap_or(0);
                if n > 1 && cx.device().id_source == IdSource::QemuPre91 {
                    self.lint_id_placement(cx, l, head, pos, id);
                }
                return Ok(Some(Chain {
                    id,
                    slot: head.slot,
                    descs: n,
                    segments,
                }));
            }
            pos = pos.advance(1, l.size);
        }
    }

    /// Interop lint for the `QemuPre91` compat device: the spec puts the buffer ID in the last
    /// descriptor, QEMU 4.2 to 9.0 read the head's. Compares the two places (without a
    /// recorded access: this is ringside looking, not the device) and says when they disagree.
    fn lint_id_placement(
        &self,
        cx: &mut Ctx<'_>,
        l: &PackedLayout,
        head: PackedPos,
        last: PackedPos,
        used: u16,
    ) {
        let head_id = cx.bus.mem.read_le(l.desc(head.slot) + 12, 2) as u16;
        let last_id = cx.bus.mem.read_le(l.desc(last.slot) + 12, 2) as u16;
        if head_id != last_id {
            let msg = format!(
                "buffer ID differs between head desc[{}] ({head_id}) and last desc[{}] ({last_id}); this device used {used}: a driver that writes the ID only in the last descriptor (spec) breaks devices that read the head (QEMU 4.2 to 9.0; QEMU 9.1 reads the last, as the spec says)",
                head.slot, last.slot
            );
            cx.ground_truth(Code::IdPlacement, DEV, msg);
        }
    }

    /// Writes used descriptors (id, len) for `count` outstanding lists, deferring their flags
    /// to `publish`. Under IN_ORDER one descriptor carrying the last buffer's ID covers the
    /// batch and lands on the batch's first slot.
    #[inline(always)]
    pub(crate) fn complete(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &PackedLayout,
        count: u16,
        pick: Pick,
        written: Option<u32>,
        done: &mut Vec<u16>,
    ) -> Result<u16, Halt> {
        let mut batch = Batch::new();
        take_batch(
            cx,
            &mut self.inflight,
            count,
            pick,
            written,
            done,
            &mut batch,
        )?;
        let n = batch.len() as u16;
        if cx.has(Features::IN_ORDER) {
            if let Some(&(id, len, _)) = batch.last() {
                let skip: u16 = batch.iter().map(|b| b.2).sum();
                self.write_used(cx, l, id, len, skip)?;
            }
        } else {
            for &(id, len, descs) in &batch {
                self.write_used(cx, l, id, len, descs)?;
            }
        }
        Ok(n)
    }

    fn write_used(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &PackedLayout,
        id: u16,
        len: u32,
        skip: u16,
    ) -> Result<(), Halt> {
        let pos = self.next_used;
        let base = l.desc(pos.slot);
        let s = pos.slot;
        let ff = |part| Field::Desc { index: s, part };
        let p = Ordering::Plain;
        cx.bus
            .store(DEV, ff(DescPart::Id), base + 12, 2, id.into(), p)?;
        cx.bus
            .store(DEV, ff(DescPart::Len), base + 8, 4, len.into(), p)?;
        let wrap = if cx.device().has(DeviceFault::WrongWrap) {
            pos.wrap.flip()
        } else {
            pos.wrap
        };
        let mut flags = used_flags(wrap);
        if len > 0 && cx.device().used_write == UsedWriteFlag::Spec {
            flags |= VIRTQ_DESC_F_WRITE;
        }
        if cx.device().has(DeviceFault::EarlyPublish) {
            // The fault: each used descriptor's flags go out as soon as it is written, the
            // batch's first one first, so a polling driver can see part of the batch.
            let f = Field::Desc {
                index: pos.slot,
                part: DescPart::Flags,
            };
            let r = Ordering::Release;
            cx.bus.store(DEV, f, base + 14, 2, flags.into(), r)?;
        } else {
            self.pending.push(PendingUsed {
                slot: pos.slot,
                flags,
            });
        }
        self.next_used = pos.advance(skip, l.size);
        self.unpublished = self.unpublished.wrapping_add(skip);
        Ok(())
    }

    /// Stores the pending used flags, the first one last, so a batch is seen whole.
    #[inline(always)]
    pub(crate) fn publish(&mut self, cx: &mut Ctx<'_>, l: &PackedLayout) -> Result<(), Halt> {
        while let Some(u) = self.pending.pop() {
            let order = if self.pending.is_empty() {
                Ordering::Release
            } else {
                Ordering::Plain
            };
            let f = Field::Desc {
                index: u.slot,
                part: DescPart::Flags,
            };
            cx.bus
                .store(DEV, f, l.desc(u.slot) + 14, 2, u.flags.into(), order)?;
        }
        self.used_since_signal = self.used_since_signal.wrapping_add(self.unpublished);
        self.unpublished = 0;
        self.published = self.next_used;
        Ok(())
    }

    /// What ringside sees in memory after a completion and before the device's publish: the
    /// batch's first used descriptor already marked used while the batch has more than one
    /// (its flags were stored before the others': a driver polling in between saw part of
    /// the batch). Under IN_ORDER one descriptor covers the batch and shows it whole. Read
    /// without a recorded access: ringside looking.
    pub(crate) fn exposed_early(&self, cx: &mut Ctx<'_>, l: &PackedLayout) -> Option<String> {
        if cx.has(Features::IN_ORDER) {
            return None;
        }
        let at = self.published;
        let flags = cx.bus.mem.read_le(l.desc(at.slot) + 14, 2) as u16;
        (self.unpublished > 0 && is_used(flags, at.wrap)).then(|| {
            format!(
                "desc[{}] is marked used (flags {}) before the device published its batch: a driver polling during the batch saw it before the rest",
                at.slot,
                bits_code(flags)
            )
        })
    }

    /// Decides whether to interrupt (QEMU's `vring_packed_need_event`, with the lap fixup:
    /// an armed slot in the other lap counts `Q` earlier).
    pub(crate) fn interrupt(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &PackedLayout,
    ) -> Result<NotifyDecision, Halt> {
        let needed = event_check(
            cx,
            DEV,
            l.driver_event,
            [Field::DriverEventFlags, Field::DriverEventOffWrap],
            self.published,
            self.used_since_signal,
            l.size,
        )?;
        self.used_since_signal = 0;
        send_interrupt(cx, needed)
    }

    /// Disables available-buffer notifications.
    pub(crate) fn disable_notify(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &PackedLayout,
    ) -> Result<(), Halt> {
        let v = RING_EVENT_FLAGS_DISABLE;
        cx.bus.store(
            DEV,
            Field::DeviceEventFlags,
            l.device_event + 2,
            2,
            v.into(),
            Ordering::Plain,
        )
    }

    /// Enables available-buffer notifications (with EVENT_IDX: at the next slot to poll) and
    /// re-checks that slot. Returns whether a descriptor was already available.
    pub(crate) fn enable_notify(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &PackedLayout,
    ) -> Result<bool, Halt> {
        let p = Ordering::Plain;
        let flags = if cx.has(Features::EVENT_IDX) {
            if !cx.device().has(DeviceFault::NoAvailEvent) {
                let ow = self.next_avail.off_wrap();
                cx.bus.store(
                    DEV,
                    Field::DeviceEventOffWrap,
                    l.device_event,
                    2,
                    ow.into(),
                    p,
                )?;
            }
            RING_EVENT_FLAGS_DESC
        } else {
            RING_EVENT_FLAGS_ENABLE
        };
        cx.bus.store(
            DEV,
            Field::DeviceEventFlags,
            l.device_event + 2,
            2,
            flags.into(),
            Ordering::Release,
        )?;
        if cx.device().has(DeviceFault::NoRecheck) {
            return Ok(false);
        }
        let s = self.next_avail.slot;
        let f = Field::Desc {
            index: s,
            part: DescPart::Flags,
        };
        let fl = cx.bus.load(DEV, f, l.desc(s) + 14, 2, Ordering::Fence)? as u16;
        Ok(is_avail(fl, self.next_avail.wrap))
    }

    /// Takes in a kick's value. With NOTIFICATION_DATA it names the first slot (and lap) the
    /// driver has not made available, so the next pop stops there without polling the slot
    /// the driver is still writing.
    pub(crate) fn notified(&mut self, cx: &Ctx<'_>, value: u32) {
        if cx.has(Features::NOTIFICATION_DATA) {
            self.notified = Some(PackedPos::from_off_wrap((value >> 16) as u16));
        }
    }
}

/// The notification check both sides make against the other's event suppression area at
/// `area` (Linux's `virtqueue_kick_prepare_packed`, QEMU's `vring_packed_need_event`): read
/// the flags after a full fence; with DESC and EVENT_IDX, read `off_wrap` and test whether the
/// armed slot lies in the `count` slots just before `new`, counting an armed slot from the
/// other lap `Q` earlier.
fn event_check(
    cx: &mut Ctx<'_>,
    agent: Agent,
    area: u64,
    [flags_field, off_wrap_field]: [Field; 2],
    new: PackedPos,
    count: u16,
    size: u16,
) -> Result<bool, Halt> {
    let flags = cx
        .bus
        .load(agent, flags_field, area + 2, 2, Ordering::Fence)? as u16;
    if flags != RING_EVENT_FLAGS_DESC || !cx.has(Features::EVENT_IDX) {
        return Ok(flags != RING_EVENT_FLAGS_DISABLE);
    }
    let ow = cx
        .bus
        .load(agent, off_wrap_field, area, 2, Ordering::Plain)? as u16;
    Ok(packed_need_event(ow, new, count, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_bits_follow_the_wrap_counter_table() {
        let w1 = WrapCounter(true);
        let w0 = WrapCounter(false);
        assert_eq!(bits_code(avail_flags(w1)), "10");
        assert_eq!(bits_code(avail_flags(w0)), "01");
        assert_eq!(bits_code(used_flags(w1)), "11");
        assert_eq!(bits_code(used_flags(w0)), "00");
        assert!(is_avail(avail_flags(w1), w1));
        assert!(!is_avail(avail_flags(w1), w0));
        assert!(is_used(used_flags(w1), w1));
        // Spec issue #29: an available descriptor of lap 0 must not look used to a driver in
        // lap 0 just because USED matches.
        assert!(!is_used(avail_flags(w0), w0));
        // The zeroed ring looks "used in lap 0": harmless, since the driver starts in lap 1.
        assert!(is_used(0, w0));
        assert!(!is_used(0, w1));
        assert!(!is_avail(0, w1));
    }

    #[test]
    fn the_one_compare_tests_are_the_spec_rules_for_every_flags_word() {
        for flags in 0..=u16::MAX {
            let (a, u) = (
                flags & VIRTQ_DESC_F_AVAIL != 0,
                flags & VIRTQ_DESC_F_USED != 0,
            );
            for w in [WrapCounter(false), WrapCounter(true)] {
                assert_eq!(is_avail(flags, w), a == w.0 && u != w.0, "{flags:#x} {w}");
                assert_eq!(is_used(flags, w), a == w.0 && u == w.0, "{flags:#x} {w}");
            }
        }
    }
}
