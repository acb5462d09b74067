//! The split ring's device side (QEMU's `virtqueue_split_pop`, `virtqueue_split_fill`,
//! `virtqueue_split_flush`, `virtio_split_should_notify`).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::behaviour::DeviceFault;
use crate::features::Features;
use crate::finding::Code;
use crate::layout::{
    RingIdx, SplitLayout, VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT,
    VIRTQ_DESC_F_WRITE, VIRTQ_USED_F_NO_NOTIFY,
};
use crate::memory::{Agent, DescPart, Field, Halt, Ordering};
use crate::ring::{
    Batch, Chain, Ctx, NotifyDecision, Pick, Segment, broke, send_interrupt, take_batch,
};

const DEV: Agent = Agent::Device;

/// The device side of a split ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitDevice {
    /// Next available entry to pop (QEMU's `last_avail_idx`).
    pub last_avail: RingIdx,
    /// The last `avail.idx` read (QEMU's `shadow_avail_idx`).
    pub avail_seen: RingIdx,
    /// Shadow of `used.idx` including entries written but not yet published.
    pub used_idx: RingIdx,
    /// The last value stored to `used.idx`.
    pub published: RingIdx,
    /// `used.idx` at the last interrupt decision (QEMU's `signalled_used`); `None` until the
    /// first decision and after `publish` forgets it (QEMU's
    /// `signalled_used_valid` false).
    pub signalled: Option<RingIdx>,
    /// Chains popped and not yet completed, in pop order.
    pub inflight: VecDeque<Chain>,
    /// Whether the device has found the ring broken (QEMU's `vdev->broken`): it stops.
    pub broken: bool,
    /// Whether available-buffer notifications are wanted.
    pub notifications: bool,
    /// `avail.idx` as the last kick's notification data gave it, not yet acted on.
    pub notified: Option<RingIdx>,
}

impl Default for SplitDevice {
    fn default() -> Self {
        SplitDevice {
            last_avail: RingIdx(0),
            avail_seen: RingIdx(0),
            used_idx: RingIdx(0),
            published: RingIdx(0),
            signalled: None,
            inflight: VecDeque::new(),
            broken: false,
            notifications: true,
            notified: None,
        }
    }
}

impl SplitDevice {
    /// Pops up to `max` available chains (QEMU's `virtqueue_pop`), checking each the way QEMU
    /// does. Returns how many were popped.
    #[inline]
    pub(crate) fn pop(&mut self, cx: &mut Ctx<'_>, l: &SplitLayout, max: u16) -> Result<u16, Halt> {
        if self.broken {
            return Ok(0);
        }
        self.avail_seen = match self.notified.take() {
            Some(idx) => idx,
            None => {
                RingIdx(
                    cx.bus
                        .load(DEV, Field::AvailIdx, l.avail_idx(), 2, Ordering::Acquire)?
                        as u16,
                )
            }
        };
        let n = self.avail_seen.since(self.last_avail);
        if n > l.size {
            let msg = format!(
                "Guest moved used index from {} to {}",
                self.last_avail, self.avail_seen
            );
            broke(&mut self.broken, cx, Code::AvailIdxJump, msg);
            return Ok(0);
        }
        let mut popped = 0;
        while popped < max && self.last_avail != self.avail_seen {
            let slot = self.last_avail.slot(l.size);
            let head = cx.bus.load(
                DEV,
                Field::AvailRing(slot),
                l.avail_ring(slot),
                2,
                Ordering::Plain,
            )? as u16;
            if head >= l.size {
                let msg = format!("Guest says index {head} is available");
                broke(&mut self.broken, cx, Code::HeadOutOfRange, msg);
                return Ok(popped);
            }
            // The chain is read straight into its place at the back of `inflight` rather than
            // built on the stack and moved there. It is taken back out if it is broken, or if
            // the budget halts the pop before the chain counts as popped (after `avail_event`).
            self.inflight.push_back(Chain {
                id: head,
                slot: head,
                descs: 0,
                segments: SmallVec::new(),
            });
            let back = self.inflight.len() - 1;
            let chain = &mut self.inflight[back];
            let read = Self::read_chain(cx, l, chain, &mut self.broken);
            if !matches!(read, Ok(true)) {
                self.inflight.pop_back();
                return read.map(|_| popped);
            }
            self.last_avail = self.last_avail.wrapping_add(1);
            if cx.has(Features::EVENT_IDX) && !cx.device().has(DeviceFault::NoAvailEvent) {
                let v = self.last_avail.0;
                let r = Ordering::Plain;
                let stored = cx
                    .bus
                    .store(DEV, Field::AvailEvent, l.avail_event(), 2, v.into(), r);
                if let Err(halt) = stored {
                    self.inflight.pop_back();
                    return Err(halt);
                }
            }
            popped += 1;
        }
        Ok(popped)
    }

    /// Walks one chain from its head (`chain.id`), reading each descriptor field by field, into
    /// `chain`'s segments and descriptor count. Returns whether the chain is usable; if not,
    /// the device has reported why and is `broken`.
    fn read_chain(
        cx: &mut Ctx<'_>,
        l: &SplitLayout,
        chain: &mut Chain,
        broken: &mut bool,
    ) -> Result<bool, Halt> {
        let segments = &mut chain.segments;
        let mut i = chain.id;
        let mut seen = 0u32;
        let mut writable_seen = false;
        loop {
            seen += 1;
            if seen > u32::from(l.size) {
                broke(
                    broken,
                    cx,
                    Code::LoopedDescriptor,
                    "Looped descriptor".into(),
                );
                return Ok(false);
            }
            let f = |part| Field::Desc { index: i, part };
            let d = read_desc(cx, l.desc(i), f)?;
            if d.flags & VIRTQ_DESC_F_INDIRECT != 0 {
                if !cx.has(Features::INDIRECT_DESC) {
                    let msg = format!(
                        "desc[{i}] is INDIRECT but VIRTIO_F_INDIRECT_DESC was not negotiated"
                    );
                    broke(broken, cx, Code::IndirectNotNegotiated, msg);
                    return Ok(false);
                }
                if d.flags & VIRTQ_DESC_F_NEXT != 0 {
                    let msg = "Indirect descriptor with NEXT flag".into();
                    broke(broken, cx, Code::IndirectWithNext, msg);
                    return Ok(false);
                }
                if d.len == 0 || !d.len.is_multiple_of(16) {
                    let msg = "Invalid size for indirect buffer table".into();
                    broke(broken, cx, Code::IndirectBadSize, msg);
                    return Ok(false);
                }
                if !Self::read_indirect(cx, i, d, segments, &mut writable_seen, broken)? {
                    return Ok(false);
                }
                break;
            }
            let write = d.flags & VIRTQ_DESC_F_WRITE != 0;
            if !write && writable_seen {
                broke(
                    broken,
                    cx,
                    Code::ReadableAfterWritable,
                    "Incorrect order for descriptors".into(),
                );
                return Ok(false);
            }
            writable_seen |= write;
            segments.push(Segment {
                addr: d.addr,
                len: d.len,
                write,
            });
            if d.flags & VIRTQ_DESC_F_NEXT == 0 {
                break;
            }
            if d.next >= l.size {
                broke(
                    broken,
                    cx,
                    Code::NextOutOfRange,
                    format!("Desc next is {}", d.next),
                );
                return Ok(false);
            }
            i = d.next;
        }
        chain.descs = seen as u16;
        Ok(true)
    }

    fn read_indirect(
        cx: &mut Ctx<'_>,
        parent: u16,
        table: RawDesc,
        segments: &mut SmallVec<[Segment; 4]>,
        writable_seen: &mut bool,
        broken: &mut bool,
    ) -> Result<bool, Halt> {
        let n = table.len / 16;
        let mut k = 0u32;
        let mut seen = 0u32;
        loop {
            seen += 1;
            if seen > n {
                broke(
                    broken,
                    cx,
                    Code::LoopedDescriptor,
                    "Looped descriptor".into(),
                );
                return Ok(false);
            }
            let index = k as u16;
            let f = |part| Field::Indirect {
                parent,
                index,
                part,
            };
            let d = read_desc(cx, table.addr + 16 * u64::from(k), f)?;
            if d.flags & VIRTQ_DESC_F_INDIRECT != 0 {
                let msg = "Nested indirect descriptor".into();
                broke(broken, cx, Code::NestedIndirect, msg);
                return Ok(false);
            }
            let write = d.flags & VIRTQ_DESC_F_WRITE != 0;
            if !write && *writable_seen {
                broke(
                    broken,
                    cx,
                    Code::ReadableAfterWritable,
                    "Incorrect order for descriptors".into(),
                );
                return Ok(false);
            }
            *writable_seen |= write;
            segments.push(Segment {
                addr: d.addr,
                len: d.len,
                write,
            });
            if d.flags & VIRTQ_DESC_F_NEXT == 0 {
                return Ok(true);
            }
            if u32::from(d.next) >= n {
                broke(
                    broken,
                    cx,
                    Code::NextOutOfRange,
                    format!("Desc next is {}", d.next),
                );
                return Ok(false);
            }
            k = u32::from(d.next);
        }
    }

    /// Completes `count` outstanding chains: writes the payload (if configured) and the used
    /// ring entries, without publishing `used.idx` (QEMU's `virtqueue_fill`). Under IN_ORDER
    /// one entry stands for the batch: the last buffer's id and len, at the batch's first
    /// slot (§2.7.9). Returns how many were completed.
    #[inline(always)]
    pub(crate) fn complete(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &SplitLayout,
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
            // §2.7.9: one entry for the whole batch, naming its last buffer, written where the
            // batch starts; the device then skips forward by the batch (`used_idx += n`).
            if let Some(&(id, len, _)) = batch.last() {
                self.write_used(cx, l, self.used_idx.slot(l.size), id, len)?;
            }
        } else {
            let early = cx.device().has(DeviceFault::EarlyPublish);
            for (k, &(id, len, _)) in batch.iter().enumerate() {
                let slot = self.used_idx.wrapping_add(k as u16).slot(l.size);
                self.write_used(cx, l, slot, id, len)?;
                if early && k + 1 < batch.len() {
                    self.publish_early(cx, l, k + 1)?;
                }
            }
        }
        self.used_idx = self.used_idx.wrapping_add(n);
        Ok(n)
    }

    /// Stores one used element, `id` then `len` (QEMU's `vring_used_write`).
    fn write_used(
        &self,
        cx: &mut Ctx<'_>,
        l: &SplitLayout,
        slot: u16,
        id: u16,
        len: u32,
    ) -> Result<(), Halt> {
        let base = l.used_elem(slot);
        let p = Ordering::Plain;
        cx.bus
            .store(DEV, Field::UsedId(slot), base, 4, id.into(), p)?;
        cx.bus
            .store(DEV, Field::UsedLen(slot), base + 4, 4, len.into(), p)
    }

    /// The `EarlyPublish` fault: publishes `used.idx` after `done` entries of a batch.
    /// Out of line so that the usual completion does not carry its set-up.
    #[cold]
    #[inline(never)]
    fn publish_early(&self, cx: &mut Ctx<'_>, l: &SplitLayout, done: usize) -> Result<(), Halt> {
        let v = self.used_idx.wrapping_add(done as u16);
        let r = Ordering::Release;
        cx.bus
            .store(DEV, Field::UsedIdx, l.used_idx(), 2, v.0.into(), r)
    }

    /// What ringside sees in memory after a completion and before the device's publish:
    /// `used.idx` as the bytes hold it, if it has moved past what the device last published
    /// but not over the whole batch it wrote (a driver polling meanwhile saw part of it).
    /// Read without a recorded access: this is ringside looking, not the device.
    pub(crate) fn exposed_early(&self, cx: &mut Ctx<'_>, l: &SplitLayout) -> Option<String> {
        let v = RingIdx(cx.bus.mem.read_le(l.used_idx(), 2) as u16);
        let seen = v.since(self.published);
        (seen > 0 && seen < self.used_idx.since(self.published)).then(|| {
            format!(
                "used.idx reads {v} before the device published its batch of {} (last published {}): a driver polling now sees {seen} of its entries, a partial request",
                self.used_idx.since(self.published),
                self.published
            )
        })
    }

    /// Publishes completed entries with the release store of `used.idx` (QEMU's
    /// `virtqueue_flush`). Like QEMU it forgets what it last signalled once `used.idx` has
    /// run half the index space past it, where `[signalled, new)` would stop meaning "since
    /// the last interrupt": the next check then notifies unconditionally.
    #[inline(always)]
    pub(crate) fn publish(&mut self, cx: &mut Ctx<'_>, l: &SplitLayout) -> Result<(), Halt> {
        let (old, new) = (self.published, self.used_idx);
        cx.bus.store(
            DEV,
            Field::UsedIdx,
            l.used_idx(),
            2,
            new.0.into(),
            Ordering::Release,
        )?;
        self.published = new;
        // QEMU: `(int16_t)(new - signalled_used) < (uint16_t)(new - old)`, in int arithmetic.
        if let Some(s) = self.signalled
            && i32::from(new.0.wrapping_sub(s.0) as i16) < i32::from(new.since(old))
        {
            self.signalled = None;
        }
        Ok(())
    }

    /// Decides whether the driver needs an interrupt and sends it (QEMU's
    /// `virtio_split_should_notify`: compares against what it last signalled, never equality;
    /// with nothing signalled yet, or forgotten, it notifies: `!signalled_used_valid`).
    pub(crate) fn interrupt(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &SplitLayout,
    ) -> Result<NotifyDecision, Halt> {
        let new = self.published;
        let empty = self.inflight.is_empty() && self.avail_seen == self.last_avail;
        let on_empty = cx.has(Features::NOTIFY_ON_EMPTY) && empty;
        let needed = if cx.has(Features::EVENT_IDX) {
            let ev = cx
                .bus
                .load(DEV, Field::UsedEvent, l.used_event(), 2, Ordering::Fence)?
                as u16;
            let old = self.signalled.replace(new);
            let since = old.map_or(0, |o| o.0);
            crate::layout::split_should_notify(ev, new.0, since, old.is_some()) || on_empty
        } else {
            let fl = cx
                .bus
                .load(DEV, Field::AvailFlags, l.avail_flags(), 2, Ordering::Fence)?
                as u16;
            fl & VIRTQ_AVAIL_F_NO_INTERRUPT == 0 || on_empty
        };
        send_interrupt(cx, needed)
    }

    /// Turns available-buffer notifications off (QEMU's `virtio_queue_set_notification(0)`:
    /// with EVENT_IDX there is nothing to write).
    pub(crate) fn disable_notify(&mut self, cx: &mut Ctx<'_>, l: &SplitLayout) -> Result<(), Halt> {
        self.notifications = false;
        if cx.has(Features::EVENT_IDX) {
            return Ok(());
        }
        let v = VIRTQ_USED_F_NO_NOTIFY;
        cx.bus.store(
            DEV,
            Field::UsedFlags,
            l.used_flags(),
            2,
            v.into(),
            Ordering::Plain,
        )
    }

    /// Turns available-buffer notifications on and re-checks the ring. Returns whether buffers
    /// were already waiting.
    pub(crate) fn enable_notify(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &SplitLayout,
    ) -> Result<bool, Halt> {
        self.notifications = true;
        if cx.has(Features::EVENT_IDX) {
            if !cx.device().has(DeviceFault::NoAvailEvent) {
                let idx = cx
                    .bus
                    .load(DEV, Field::AvailIdx, l.avail_idx(), 2, Ordering::Plain)?;
                cx.bus.store(
                    DEV,
                    Field::AvailEvent,
                    l.avail_event(),
                    2,
                    idx,
                    Ordering::Plain,
                )?;
            }
        } else {
            cx.bus
                .store(DEV, Field::UsedFlags, l.used_flags(), 2, 0, Ordering::Plain)?;
        }
        if cx.device().has(DeviceFault::NoRecheck) {
            return Ok(false);
        }
        let idx =
            cx.bus
                .load(DEV, Field::AvailIdx, l.avail_idx(), 2, Ordering::Fence)? as u16;
        self.avail_seen = RingIdx(idx);
        Ok(self.avail_seen != self.last_avail)
    }

    /// Takes in a kick's value. With NOTIFICATION_DATA it carries the driver's `avail.idx`, so
    /// the next pop need not read it from memory (spec §2.9; the talk's hardware offload).
    pub(crate) fn notified(&mut self, cx: &Ctx<'_>, value: u32) {
        if cx.has(Features::NOTIFICATION_DATA) {
            self.notified = Some(RingIdx((value >> 16) as u16));
        }
    }
}

/// A descriptor as read from memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawDesc {
    pub addr: u64,
    pub len: u32,
    pub flags: u16,
    pub next: u16,
}

fn read_desc(
    cx: &mut Ctx<'_>,
    base: u64,
    field: impl Fn(DescPart) -> Field,
) -> Result<RawDesc, Halt> {
    let p = Ordering::Plain;
    let addr = cx.bus.load(DEV, field(DescPart::Addr), base, 8, p)?;
    let len = cx.bus.load(DEV, field(DescPart::Len), base + 8, 4, p)? as u32;
    let flags = cx.bus.load(DEV, field(DescPart::Flags), base + 12, 2, p)? as u16;
    let next = cx.bus.load(DEV, field(DescPart::Next), base + 14, 2, p)? as u16;
    Ok(RawDesc {
        addr,
        len,
        flags,
        next,
    })
}
