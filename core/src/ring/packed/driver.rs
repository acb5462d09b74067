//! The packed ring's driver side (Linux's `virtqueue_add_packed`,
//! `virtqueue_kick_prepare_packed`, `virtqueue_get_buf_ctx_packed`, `detach_buf_packed`).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::behaviour::{DriverFault, IdPlacement, UsedLenRead};
use crate::features::Features;
use crate::finding::Code;
use crate::layout::{
    PackedLayout, PackedPos, RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE,
    RING_EVENT_FLAGS_ENABLE, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE,
};
use crate::memory::{Agent, DescPart, Field, Halt, Ordering};
use crate::ring::{BufferSpec, Ctx, NotifyDecision};
use crate::ring::{send_kick, take_at};

use super::{avail_flags, event_check, is_used};

const DRV: Agent = Agent::Driver;

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
            (self.next_avail, self.added_since_kick),
            l.size,
            false,
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
