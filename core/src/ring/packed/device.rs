//! The packed ring's device side (QEMU's `virtqueue_packed_pop`, `virtqueue_packed_fill`,
//! `virtqueue_packed_flush`, `virtio_packed_should_notify`).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::behaviour::{DeviceFault, IdSource, UsedWriteFlag};
use crate::features::Features;
use crate::finding::Code;
use crate::layout::{
    PackedLayout, PackedPos, RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE,
    RING_EVENT_FLAGS_ENABLE, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE,
};
use crate::memory::{Agent, DescPart, Field, Halt, Ordering};
use crate::ring::{Batch, broke, send_interrupt, take_batch};
use crate::ring::{Chain, Ctx, NotifyDecision, Pick, Segment};

use super::{bits_code, event_check, is_avail, is_used, used_flags};

const DEV: Agent = Agent::Device;

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
    /// An interrupt decision was made since the used position last wrapped (QEMU's
    /// `signalled_used_valid`): until then the event window means nothing and QEMU notifies.
    #[serde(default)]
    pub signalled_valid: bool,
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
            signalled_valid: false,
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
        // QEMU's `virtqueue_packed_flush` forgets what it signalled when `used_idx` wraps.
        if self.next_used.wrap != self.published.wrap {
            self.signalled_valid = false;
        }
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

    /// Decides whether to interrupt (QEMU's `virtio_packed_should_notify`: DISABLE never,
    /// ENABLE always, DESC by `vring_packed_need_event` with the lap fixup, an armed slot in
    /// the other lap counting `Q` earlier; and, like QEMU, always when nothing was signalled
    /// since the start or the used position's last wrap).
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
            (self.published, self.used_since_signal),
            l.size,
            !self.signalled_valid,
        )?;
        self.signalled_valid = true;
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
