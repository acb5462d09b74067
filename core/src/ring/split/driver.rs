//! The split ring's driver side (Linux's `virtqueue_add_split`, `virtqueue_kick_prepare_split`,
//! `virtqueue_get_buf_ctx_split`, `detach_buf_split`).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::behaviour::DriverFault;
use crate::features::Features;
use crate::finding::Code;
use crate::layout::{
    RingIdx, SplitLayout, VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT,
    VIRTQ_DESC_F_WRITE, VIRTQ_USED_F_NO_NOTIFY, vring_need_event,
};
use crate::memory::{Agent, DescPart, Field, Halt, Ordering};
use crate::ring::{BufferSpec, Ctx, NotifyDecision, send_kick};

const DRV: Agent = Agent::Driver;

/// What the driver remembers about a chain it made available (Linux's `desc_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadState {
    /// Table entries the chain holds (1 when indirect).
    pub num: u16,
    /// Writable bytes offered.
    pub writable: u32,
}

/// Descriptor indices of one chain, inline for the common short chains.
pub type Descs = SmallVec<[u16; 8]>;

/// The driver side of a split ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitDriver {
    /// Free descriptors, used as a stack like Linux's `free_head` list.
    pub free: Vec<u16>,
    /// Next descriptor for IN_ORDER allocation (descriptors are used in ring order).
    pub next_desc: u16,
    /// Shadow of `avail.idx`, counting added but unpublished entries.
    pub avail_idx: RingIdx,
    /// The last value stored to `avail.idx`.
    pub published: RingIdx,
    /// `avail.idx` when the driver last decided whether to kick (`old` in `vring_need_event`).
    pub kicked_at: RingIdx,
    /// Next used entry to read (`last_used_idx`).
    pub last_used: RingIdx,
    /// Per head descriptor: the chain it starts, while the device may hold it.
    pub heads: Vec<Option<HeadState>>,
    /// Per descriptor: the next one in its chain, as the driver linked it (Linux's
    /// `desc_extra[].next`), so freeing a chain needs no read of shared memory.
    pub chain_next: Vec<u16>,
    /// Outstanding heads in the order they were added.
    pub order: VecDeque<u16>,
    /// Whether used-buffer notifications are wanted.
    pub callbacks: bool,
    /// IN_ORDER: the used entry read at the start of a batch, `(id, len)`, until the buffer
    /// it names is reclaimed (Linux's `vq->batch_last`). Every buffer before it in ring order
    /// is used too, with its whole writable length.
    #[serde(default)]
    pub batch_last: Option<(u16, u32)>,
}

/// The `num` descriptors of the chain starting at `head`, following the driver's own record
/// of each descriptor's successor (`next` is [`SplitDriver::chain_next`]).
fn links(next: &[u16], head: u16, num: u16) -> impl Iterator<Item = u16> + '_ {
    (0..num).scan(head, |d, _| {
        let here = *d;
        *d = next.get(usize::from(here)).copied().unwrap_or(0);
        Some(here)
    })
}

impl SplitDriver {
    /// A driver for a freshly zeroed ring of `size` entries.
    pub fn new(size: u16) -> Self {
        SplitDriver {
            free: (0..size).rev().collect(),
            next_desc: 0,
            avail_idx: RingIdx(0),
            published: RingIdx(0),
            kicked_at: RingIdx(0),
            last_used: RingIdx(0),
            heads: vec![None; usize::from(size)],
            chain_next: vec![0; usize::from(size)],
            order: VecDeque::new(),
            callbacks: true,
            batch_last: None,
        }
    }

    /// The descriptors of the outstanding chain starting at `head`.
    pub fn chain(&self, head: u16) -> Descs {
        match self.heads.get(usize::from(head)) {
            Some(Some(st)) => links(&self.chain_next, head, st.num).collect(),
            _ => Descs::new(),
        }
    }

    /// Takes `n` free descriptors for a new chain and links them in
    /// [`chain_next`](Self::chain_next), as Linux's `virtqueue_add_split` follows and keeps
    /// `desc_extra[].next` while it fills the descriptors. Returns the head (`n` is at least 1).
    fn alloc(&mut self, n: usize, size: u16, in_order: bool) -> Option<u16> {
        if self.free.len() < n {
            return None;
        }
        if in_order {
            // IN_ORDER: descriptors are used in ring order, so allocate sequentially.
            let first = u32::from(self.next_desc);
            let size = u32::from(size);
            let at = |k: u32| ((first + k) % size) as u16;
            for k in 1..n as u32 {
                self.chain_next[usize::from(at(k - 1))] = at(k);
            }
            // The chain is the `n` descriptors from `first` on, round the ring.
            self.free
                .retain(|&d| (u32::from(d) + size - first) % size >= n as u32);
            self.next_desc = at(n as u32);
            return Some(first as u16);
        }
        // The top `n` of the stack, the top one first.
        let at = self.free.len() - n;
        for w in self.free[at..].windows(2) {
            self.chain_next[usize::from(w[1])] = w[0];
        }
        let head = self.free[self.free.len() - 1];
        self.free.truncate(at);
        Some(head)
    }

    /// Returns a chain's descriptors to the free list, head on top, as Linux's
    /// `detach_buf_split` does.
    fn release(&mut self, head: u16) -> Option<HeadState> {
        let st = self.heads.get_mut(usize::from(head))?.take()?;
        // Walk the chain onto the stack, then flip that part so the head ends up on top.
        let at = self.free.len();
        self.free.extend(links(&self.chain_next, head, st.num));
        self.free[at..].reverse();
        Some(st)
    }

    /// Adds one buffer: writes its descriptors and the available ring entry, but does not
    /// publish `avail.idx` (Linux's `virtqueue_add_split` up to, not including, the kick).
    /// Returns the head, or `None` when the ring has no room.
    pub(crate) fn add(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &SplitLayout,
        buf: &BufferSpec,
    ) -> Result<Option<u16>, Halt> {
        let indirect = buf.indirect
            && (cx.has(Features::INDIRECT_DESC)
                || cx.driver().has(DriverFault::NestedIndirect)
                || cx.driver().has(DriverFault::IndirectWithNext));
        let segs = buf.chain_order(cx.driver().has(DriverFault::WritableFirst));
        let n = buf.segments();
        if n == 0 {
            return Ok(None);
        }
        let need = if indirect { 1 } else { n };
        let in_order = cx.has(Features::IN_ORDER);
        let reuse = cx.driver().has(DriverFault::ReuseInflight) && self.free.len() < need;
        let head = if reuse {
            // The fault: take descriptors of the oldest outstanding chain without reclaiming.
            // They are linked already, as that chain.
            match self
                .order
                .front()
                .map(|&h| (h, self.heads.get(usize::from(h))))
            {
                Some((h, Some(Some(st)))) if usize::from(st.num) >= need => h,
                _ => return Ok(None),
            }
        } else {
            match self.alloc(need, l.size, in_order) {
                Some(h) => h,
                None => {
                    let msg = format!(
                        "no room for a {need}-descriptor buffer: {} of {} descriptors free",
                        self.free.len(),
                        l.size
                    );
                    cx.finding(Code::QueueFull, DRV, msg);
                    return Ok(None);
                }
            }
        };
        if indirect {
            let table = cx.alloc().table(head);
            for k in 0..n {
                let (len, w) = segs.at(k);
                let next = if k + 1 < n { k as u16 + 1 } else { 0 };
                let mut flags = if w { VIRTQ_DESC_F_WRITE } else { 0 };
                if k + 1 < n {
                    flags |= VIRTQ_DESC_F_NEXT;
                }
                if k == 0 && cx.driver().has(DriverFault::NestedIndirect) {
                    flags |= VIRTQ_DESC_F_INDIRECT;
                }
                let addr = cx.alloc().segment(head, k);
                let base = table + 16 * k as u64;
                let f = |part| Field::Indirect {
                    parent: head,
                    index: k as u16,
                    part,
                };
                write_desc(cx, base, f, addr, len, flags, next)?;
            }
            let mut len = 16 * n as u32;
            if cx.driver().has(DriverFault::IndirectBadSize) {
                len -= 1;
            }
            let mut flags = VIRTQ_DESC_F_INDIRECT;
            if cx.driver().has(DriverFault::IndirectWithNext) {
                flags |= VIRTQ_DESC_F_NEXT;
            }
            let f = |part| Field::Desc { index: head, part };
            write_desc(cx, l.desc(head), f, table, len, flags, head)?;
        } else {
            let mut d = head;
            for k in 0..n {
                let (len, w) = segs.at(k);
                let mut flags = if w { VIRTQ_DESC_F_WRITE } else { 0 };
                let mut next = 0;
                if k + 1 < n {
                    next = self.chain_next[usize::from(d)];
                    flags |= VIRTQ_DESC_F_NEXT;
                } else if cx.driver().has(DriverFault::LoopChain) {
                    flags |= VIRTQ_DESC_F_NEXT;
                    next = head;
                }
                let addr = cx.alloc().segment(head, k);
                let f = |part| Field::Desc { index: d, part };
                write_desc(cx, l.desc(d), f, addr, len, flags, next)?;
                d = next;
            }
        }
        let slot = self.avail_idx.slot(l.size);
        let entry = cx.driver().find(|f| match f {
            DriverFault::BadHead(v) => Some(*v),
            _ => None,
        });
        let entry = entry.unwrap_or(head);
        let f = Field::AvailRing(slot);
        cx.bus
            .store(DRV, f, l.avail_ring(slot), 2, entry.into(), Ordering::Plain)?;
        self.avail_idx = self.avail_idx.wrapping_add(1);
        // The faulty reuse records the new buffer over the old one's state, as Linux's
        // desc_state[head] would be overwritten: the head is now listed twice.
        self.heads[usize::from(head)] = Some(HeadState {
            num: need as u16,
            writable: buf.writable_bytes(),
        });
        self.order.push_back(head);
        Ok(Some(head))
    }

    /// Publishes the added entries: the release store of `avail.idx` (spec §2.7.13 steps 3-4).
    #[inline(always)]
    pub(crate) fn publish(&mut self, cx: &mut Ctx<'_>, l: &SplitLayout) -> Result<(), Halt> {
        let jump = cx.driver().find(|f| match f {
            DriverFault::AvailIdxJump(n) => Some(*n),
            _ => None,
        });
        let value = self.avail_idx.wrapping_add(jump.unwrap_or(0));
        let f = Field::AvailIdx;
        cx.bus
            .store(DRV, f, l.avail_idx(), 2, value.0.into(), Ordering::Release)?;
        self.published = value;
        Ok(())
    }

    /// Decides whether the device needs a kick and sends it (Linux's `virtqueue_kick_prepare`
    /// and `virtqueue_notify`). With EVENT_IDX the test is `vring_need_event(avail_event,
    /// new, old)` over everything published since the last check.
    pub(crate) fn kick(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &SplitLayout,
    ) -> Result<NotifyDecision, Halt> {
        let new = self.published;
        let old = self.kicked_at;
        let needed = if cx.has(Features::EVENT_IDX) {
            let ev = cx
                .bus
                .load(DRV, Field::AvailEvent, l.avail_event(), 2, Ordering::Fence)?;
            vring_need_event(ev as u16, new.0, old.0)
        } else {
            let fl = cx
                .bus
                .load(DRV, Field::UsedFlags, l.used_flags(), 2, Ordering::Fence)?;
            fl as u16 & VIRTQ_USED_F_NO_NOTIFY == 0
        };
        self.kicked_at = new;
        let value = cx.kick_value(self.avail_idx.0);
        send_kick(cx, needed, value)
    }

    /// Turns used-buffer notifications off (Linux's `virtqueue_disable_cb_split`).
    pub(crate) fn disable_cb(&mut self, cx: &mut Ctx<'_>, l: &SplitLayout) -> Result<(), Halt> {
        self.callbacks = false;
        if cx.has(Features::EVENT_IDX) {
            // Move used_event half a lap away so no window can contain it.
            let v = self.last_used.0.wrapping_sub(0x8000);
            cx.bus.store(
                DRV,
                Field::UsedEvent,
                l.used_event(),
                2,
                v.into(),
                Ordering::Plain,
            )
        } else {
            let v = VIRTQ_AVAIL_F_NO_INTERRUPT;
            cx.bus.store(
                DRV,
                Field::AvailFlags,
                l.avail_flags(),
                2,
                v.into(),
                Ordering::Plain,
            )
        }
    }

    /// Turns used-buffer notifications on, then re-checks the used ring (the spec's receive
    /// loop, §2.7.14 note). Returns whether used buffers were already waiting; without the
    /// re-check (fault `NoRecheck`) it cannot know and says no.
    pub(crate) fn enable_cb(&mut self, cx: &mut Ctx<'_>, l: &SplitLayout) -> Result<bool, Halt> {
        self.callbacks = true;
        if cx.has(Features::EVENT_IDX) {
            let v = self.last_used.0;
            cx.bus.store(
                DRV,
                Field::UsedEvent,
                l.used_event(),
                2,
                v.into(),
                Ordering::Plain,
            )?;
        } else {
            cx.bus.store(
                DRV,
                Field::AvailFlags,
                l.avail_flags(),
                2,
                0,
                Ordering::Plain,
            )?;
        }
        if cx.driver().has(DriverFault::NoRecheck) {
            return Ok(false);
        }
        let idx = cx
            .bus
            .load(DRV, Field::UsedIdx, l.used_idx(), 2, Ordering::Fence)?;
        Ok(idx as u16 != self.last_used.0)
    }

    /// Reclaims up to `max` used buffers (Linux's `virtqueue_get_buf`), validating each id the
    /// device returns the way Linux's `BAD_RING` checks do. Returns how many were reclaimed.
    #[inline(always)]
    pub(crate) fn reclaim(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &SplitLayout,
        max: u16,
    ) -> Result<u16, Halt> {
        let used = RingIdx(
            cx.bus
                .load(DRV, Field::UsedIdx, l.used_idx(), 2, Ordering::Acquire)? as u16,
        );
        let pending = used.since(self.last_used);
        if pending > l.size {
            cx.finding(
                Code::UsedIdxJump,
                DRV,
                format!(
                    "used index moved from {} to {}: more than the queue size {}",
                    self.last_used, used, l.size
                ),
            );
            return Ok(0);
        }
        let done = if cx.has(Features::IN_ORDER) {
            self.reclaim_in_order(cx, l, used, max)?
        } else {
            self.reclaim_any_order(cx, l, used, max)?
        };
        if cx.has(Features::EVENT_IDX) && self.callbacks && done > 0 {
            let v = self.last_used.0;
            cx.bus.store(
                DRV,
                Field::UsedEvent,
                l.used_event(),
                2,
                v.into(),
                Ordering::Fence,
            )?;
        }
        Ok(done)
    }

    /// Reclaims used entries one by one, each naming its own head, in any order (Linux's
    /// `virtqueue_get_buf_ctx_split`). Returns how many entries were consumed.
    #[inline(always)]
    fn reclaim_any_order(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &SplitLayout,
        used: RingIdx,
        max: u16,
    ) -> Result<u16, Halt> {
        let mut done = 0;
        while self.last_used != used && done < max {
            let slot = self.last_used.slot(l.size);
            let Some((head, len)) = self.used_entry(cx, l, slot)? else {
                self.last_used = self.last_used.wrapping_add(1);
                done += 1;
                continue;
            };
            if self.order.front() == Some(&head) {
                self.order.pop_front();
            } else if let Some(p) = self.order.iter().position(|&h| h == head) {
                self.order.remove(p);
            }
            let st = self.release(head);
            self.check_len(cx, st, len);
            self.last_used = self.last_used.wrapping_add(1);
            done += 1;
        }
        Ok(done)
    }

    /// Reclaims under IN_ORDER the way Linux's `virtqueue_get_buf_ctx_split_in_order` does
    /// (spec §2.7.9): buffers come back in the order they were made available, and the
    /// device may write one used entry per batch, at the batch's first slot, naming the
    /// batch's last buffer. So the driver reads the entry at `last_used` when a batch starts,
    /// then gives back buffers in order, one per used index, until it reaches the one the
    /// entry names; the others are used whole. Returns how many were reclaimed.
    fn reclaim_in_order(
        &mut self,
        cx: &mut Ctx<'_>,
        l: &SplitLayout,
        used: RingIdx,
        max: u16,
    ) -> Result<u16, Halt> {
        let mut done = 0;
        while done < max && (self.batch_last.is_some() || self.last_used != used) {
            let (last_id, last_len) = match self.batch_last {
                Some(b) => b,
                None => {
                    let slot = self.last_used.slot(l.size);
                    let Some(entry) = self.used_entry(cx, l, slot)? else {
                        self.last_used = self.last_used.wrapping_add(1);
                        done += 1;
                        continue;
                    };
                    self.batch_last = Some(entry);
                    entry
                }
            };
            let Some(head) = self.order.pop_front() else {
                self.batch_last = None;
                break;
            };
            let st = self.release(head);
            if head == last_id {
                self.batch_last = None;
                self.check_len(cx, st, last_len);
            }
            self.last_used = self.last_used.wrapping_add(1);
            done += 1;
        }
        Ok(done)
    }

    /// Reads `used.ring[slot]` and checks its id the way Linux's `BAD_RING` checks do:
    /// `(head, len)`, or `None` (with a finding) when the id is no outstanding head.
    fn used_entry(
        &self,
        cx: &mut Ctx<'_>,
        l: &SplitLayout,
        slot: u16,
    ) -> Result<Option<(u16, u32)>, Halt> {
        let base = l.used_elem(slot);
        let id = cx
            .bus
            .load(DRV, Field::UsedId(slot), base, 4, Ordering::Plain)? as u32;
        let len =
            cx.bus
                .load(DRV, Field::UsedLen(slot), base + 4, 4, Ordering::Plain)? as u32;
        if id >= u32::from(l.size) {
            cx.finding(Code::UsedIdOutOfRange, DRV, format!("id {id} out of range"));
            return Ok(None);
        }
        if !self.heads.get(id as usize).is_some_and(Option::is_some) {
            let msg = format!("id {id} is not a head!");
            cx.finding(Code::UsedIdNotOutstanding, DRV, msg);
            return Ok(None);
        }
        Ok(Some((id as u16, len)))
    }

    /// Linux's check of a used length against what the buffer offered.
    fn check_len(&self, cx: &mut Ctx<'_>, st: Option<HeadState>, len: u32) {
        if let Some(st) = st
            && len > st.writable
        {
            let msg = format!("used len {len} is larger than in buflen {}", st.writable);
            cx.finding(Code::UsedLenTooLong, DRV, msg);
        }
    }
}

fn write_desc(
    cx: &mut Ctx<'_>,
    base: u64,
    field: impl Fn(DescPart) -> Field,
    addr: u64,
    len: u32,
    flags: u16,
    next: u16,
) -> Result<(), Halt> {
    let p = Ordering::Plain;
    cx.bus.store(DRV, field(DescPart::Addr), base, 8, addr, p)?;
    cx.bus
        .store(DRV, field(DescPart::Len), base + 8, 4, len.into(), p)?;
    cx.bus
        .store(DRV, field(DescPart::Flags), base + 12, 2, flags.into(), p)?;
    cx.bus
        .store(DRV, field(DescPart::Next), base + 14, 2, next.into(), p)
}
