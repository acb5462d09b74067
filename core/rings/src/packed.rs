//! The packed ring (virtio 1.2 §2.8) over shared atomics: one descriptor ring both sides write
//! and two event suppression areas, at the offsets `PackedLayout::contiguous` gives the engine.
//! Any size from 1 to 32768 works: positions advance with their wrap counters, never a mask.
//!
//! Barriers, paired as in `tools/virtio/ringtest/ring.c`:
//! - A: driver's `virtio_wmb` before a head's flags ↔ device's `virtio_rmb` after reading them;
//! - B: device's write barrier before a used descriptor's flags ↔ driver's `virtio_rmb` after
//!   reading them;
//! - C: driver's `virtio_mb` before reading the device's event area ↔ device's full barrier
//!   after arming it;
//! - D: device's full barrier before reading the driver's event area ↔ driver's `virtio_mb`
//!   after arming it.
//!
//! A batch is published the way the engine publishes it (DPDK's batched enqueue): every
//! descriptor written, then the heads' flags from the last to the first, so that the first
//! head's store-release exposes the whole batch to a device that reads in ring order.

use ringside_core::layout::{
    LayoutError, PackedLayout, PackedPos, RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE,
    RING_EVENT_FLAGS_ENABLE, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE,
    packed_need_event,
};
use ringside_core::packed::{avail_flags, is_avail, is_used, used_flags};

use crate::sync::{Arc, Ordering::*, fence};
use crate::{Buffer, Device, Driver, Options, Popped, RingMem, Used};

/// A fresh zeroed packed ring of `size` slots: its driver and device halves.
pub fn pair(size: u32, opts: Options) -> Result<(PackedDriver, PackedDevice), LayoutError> {
    let l = PackedLayout::contiguous(size, 0)?;
    let mem = Arc::new(RingMem::new(l.device_event + 4));
    let q = usize::from(l.size);
    let driver = PackedDriver {
        mem: mem.clone(),
        l,
        opts,
        next_avail: PackedPos::START,
        next_used: PackedPos::START,
        num_free: l.size,
        free_ids: (0..l.size).rev().collect(),
        next_id: 0,
        tokens: vec![0; q].into(),
        busy: vec![false; q].into(),
        pending: Vec::with_capacity(q),
        added_since_kick: 0,
        event_flags: RING_EVENT_FLAGS_ENABLE,
        broken: None,
    };
    let device = PackedDevice {
        mem,
        l,
        opts,
        next_avail: PackedPos::START,
        next_used: PackedPos::START,
        pending: Vec::with_capacity(q),
        skipped: None,
        unpublished: 0,
        used_since_signal: 0,
        published: PackedPos::START,
        broken: None,
    };
    Ok((driver, device))
}

/// `slot + k` in a ring of `q` slots.
fn plus(slot: u16, k: u16, q: u16) -> u16 {
    PackedPos {
        slot,
        ..PackedPos::START
    }
    .advance(k, q)
    .slot
}

/// A slot's flags word.
fn flags_at(l: &PackedLayout, slot: u16) -> u64 {
    l.desc(slot) + 14
}

/// Stores pending (slot, flags) words from the last to the first; the first goes last, with
/// release: the barrier (A or B) its caller names.
fn store_flags_first_last(mem: &RingMem, l: &PackedLayout, pending: &mut Vec<(u16, u16)>) {
    while let Some((slot, flags)) = pending.pop() {
        let order = if pending.is_empty() { Release } else { Relaxed };
        mem.store16(flags_at(l, slot), flags, order);
    }
}

/// Whether the other side asked to be notified about `count` slots just published up to
/// `new`, read from its event suppression area at `area` (after the caller's full barrier).
fn other_wants(
    mem: &RingMem,
    area: u64,
    event_idx: bool,
    new: PackedPos,
    count: u16,
    q: u16,
) -> bool {
    let flags = mem.load16(area + 2, Relaxed);
    if flags != RING_EVENT_FLAGS_DESC || !event_idx {
        return flags != RING_EVENT_FLAGS_DISABLE;
    }
    packed_need_event(mem.load16(area, Relaxed), new, count, q)
}

/// The driver half (Linux's `vring_virtqueue`, packed part).
pub struct PackedDriver {
    mem: Arc<RingMem>,
    l: PackedLayout,
    opts: Options,
    next_avail: PackedPos,
    next_used: PackedPos,
    num_free: u16,
    /// Free buffer IDs as a stack, as the engine keeps them (unused under IN_ORDER).
    free_ids: Vec<u16>,
    /// IN_ORDER: IDs are handed out in ring order; the oldest outstanding one.
    next_id: u16,
    /// Per buffer ID: the token it was added with, and whether the device holds it.
    tokens: Box<[u64]>,
    busy: Box<[bool]>,
    /// Head slots written but not yet exposed, with the flags that expose them.
    pending: Vec<(u16, u16)>,
    added_since_kick: u16,
    /// Shadow of the driver event area's flags.
    event_flags: u16,
    broken: Option<String>,
}

impl PackedDriver {
    /// The ring's layout.
    pub fn layout(&self) -> PackedLayout {
        self.l
    }

    /// The shared memory (for tests that read the ring's bytes).
    pub fn memory(&self) -> &RingMem {
        &self.mem
    }

    fn bad_ring(&mut self, msg: String) -> u16 {
        self.broken.get_or_insert(msg);
        0
    }

    fn release(&mut self, id: u16, len: Option<u32>, f: &mut impl FnMut(Used)) {
        self.busy[usize::from(id)] = false;
        if !self.opts.in_order {
            self.free_ids.push(id);
        }
        self.num_free += 1;
        f(Used {
            token: self.tokens[usize::from(id)],
            len,
        });
    }
}

impl Driver for PackedDriver {
    #[inline]
    fn add(&mut self, buf: Buffer, token: u64) -> bool {
        if self.num_free == 0 {
            return false;
        }
        let q = self.l.size;
        let id = if self.opts.in_order {
            let id = self.next_id;
            self.next_id = plus(id, 1, q);
            id
        } else {
            self.free_ids.pop().unwrap_or_default()
        };
        let pos = self.next_avail;
        let d = self.l.desc(pos.slot);
        let m = &*self.mem;
        m.store64(d, buf.addr);
        m.store32(d + 8, buf.len);
        m.store16(d + 12, id, Relaxed);
        self.pending
            .push((pos.slot, avail_flags(pos.wrap) | VIRTQ_DESC_F_WRITE));
        self.next_avail = pos.advance(1, q);
        self.num_free -= 1;
        self.added_since_kick = self.added_since_kick.wrapping_add(1);
        self.tokens[usize::from(id)] = token;
        self.busy[usize::from(id)] = true;
        true
    }

    #[inline]
    fn publish(&mut self) {
        // Barrier A, `virtio_wmb` in `virtqueue_add_packed`: "A driver MUST NOT make the first
        // descriptor in the list available before all subsequent descriptors comprising the
        // list are made available."
        store_flags_first_last(&self.mem, &self.l, &mut self.pending);
    }

    fn kick_needed(&mut self) -> bool {
        // Barrier C, `virtio_mb` in `virtqueue_kick_prepare_packed`: "We need to expose the
        // new flags value before checking notification suppressions."
        fence(SeqCst);
        let count = std::mem::take(&mut self.added_since_kick);
        let area = self.l.device_event;
        other_wants(
            &self.mem,
            area,
            self.opts.event_idx,
            self.next_avail,
            count,
            self.l.size,
        )
    }

    #[inline]
    fn reclaim(&mut self, max: u16, mut f: impl FnMut(Used)) -> u16 {
        let q = self.l.size;
        let mut done = 0;
        while done < max && self.broken.is_none() {
            let pos = self.next_used;
            let flags = self.mem.load16(flags_at(&self.l, pos.slot), Acquire);
            if !is_used(flags, pos.wrap) {
                break;
            }
            // Barrier B: the acquire above is `virtio_rmb` in `virtqueue_get_buf_ctx_packed`:
            // "Only get used elements after they have been exposed by host."
            let d = self.l.desc(pos.slot);
            let id = self.mem.load16(d + 12, Relaxed);
            let len = self.mem.load32(d + 8);
            if id >= q {
                return self.bad_ring(format!("id {id} out of range"));
            }
            if !self.busy[usize::from(id)] {
                return self.bad_ring(format!("id {id} is not a head!"));
            }
            let n = if self.opts.in_order {
                // One used descriptor stands for every buffer up to and including `id`; IDs
                // went out in ring order, so the oldest outstanding one is `q - free` back.
                let oldest = plus(self.next_id, self.num_free, q);
                let n = plus(id, q - oldest, q) + 1;
                if n > q - self.num_free {
                    return self.bad_ring(format!("id {id} is not a head!"));
                }
                for k in 0..n - 1 {
                    self.release(plus(oldest, k, q), None, &mut f);
                }
                n
            } else {
                1
            };
            self.release(id, Some(len), &mut f);
            self.next_used = pos.advance(n, q);
            done += n;
        }
        if done > 0 && self.event_flags == RING_EVENT_FLAGS_DESC {
            // `virtio_store_mb` in `virtqueue_get_buf_ctx_packed`: "If we expect an interrupt
            // for the next entry, tell host by writing event index and flush out the write
            // before the read in the next get_buf call."
            self.mem
                .store16_mb(self.l.driver_event, self.next_used.off_wrap());
        }
        done
    }

    fn enable_cb(&mut self) -> bool {
        let area = self.l.driver_event;
        self.event_flags = if self.opts.event_idx {
            self.mem.store16(area, self.next_used.off_wrap(), Relaxed);
            RING_EVENT_FLAGS_DESC
        } else {
            RING_EVENT_FLAGS_ENABLE
        };
        // `virtio_wmb` in `virtqueue_enable_cb_prepare_packed`: "We need to update event offset
        // and event wrap counter first before updating event flags."
        self.mem.store16(area + 2, self.event_flags, Release);
        // Barrier D, `virtio_mb` in `virtqueue_poll`.
        fence(SeqCst);
        let pos = self.next_used;
        is_used(
            self.mem.load16(flags_at(&self.l, pos.slot), Relaxed),
            pos.wrap,
        )
    }

    fn free(&self) -> u16 {
        self.num_free
    }

    fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }
}

/// The device half (QEMU's `VirtQueue`, packed part).
pub struct PackedDevice {
    mem: Arc<RingMem>,
    l: PackedLayout,
    opts: Options,
    next_avail: PackedPos,
    next_used: PackedPos,
    /// Used descriptors written but not yet exposed, with the flags that expose them.
    pending: Vec<(u16, u16)>,
    /// IN_ORDER: the last buffer used since the last publish, and how many it stands for.
    skipped: Option<(u16, u32, u16)>,
    unpublished: u16,
    used_since_signal: u16,
    published: PackedPos,
    broken: Option<String>,
}

impl PackedDevice {
    fn write_used(&mut self, id: u16, len: u32, skip: u16) {
        let pos = self.next_used;
        let d = self.l.desc(pos.slot);
        self.mem.store16(d + 12, id, Relaxed);
        self.mem.store32(d + 8, len);
        let write = if len > 0 { VIRTQ_DESC_F_WRITE } else { 0 };
        self.pending.push((pos.slot, used_flags(pos.wrap) | write));
        self.next_used = pos.advance(skip, self.l.size);
        self.unpublished = self.unpublished.wrapping_add(skip);
    }
}

impl Device for PackedDevice {
    #[inline]
    fn pop(&mut self) -> Option<Popped> {
        if self.broken.is_some() {
            return None;
        }
        let pos = self.next_avail;
        let m = &*self.mem;
        let flags = m.load16(flags_at(&self.l, pos.slot), Acquire);
        if !is_avail(flags, pos.wrap) {
            return None;
        }
        // Barrier A: the acquire above pairs with the driver's `virtio_wmb` before the flags
        // (ringtest's `use_buf`: "make sure length read below is not speculated").
        let d = self.l.desc(pos.slot);
        let buf = Buffer {
            addr: m.load64(d),
            len: m.load32(d + 8),
        };
        let id = m.load16(d + 12, Relaxed);
        if flags & (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT) != 0 {
            let msg = format!(
                "desc[{}] flags {flags:#x}: this device takes single descriptors",
                pos.slot
            );
            self.broken.get_or_insert(msg);
            return None;
        }
        self.next_avail = pos.advance(1, self.l.size);
        Some(Popped { id, buf })
    }

    #[inline]
    fn push_used(&mut self, id: u16, len: u32) {
        if self.opts.in_order {
            let n = self.skipped.map_or(0, |s| s.2);
            self.skipped = Some((id, len, n + 1));
        } else {
            self.write_used(id, len, 1);
        }
    }

    #[inline]
    fn publish_used(&mut self) {
        if let Some((id, len, n)) = self.skipped.take() {
            // IN_ORDER: one used descriptor, carrying the batch's last ID, in its first slot.
            self.write_used(id, len, n);
        }
        // Barrier B, the write barrier before a used descriptor's flags (QEMU's
        // `virtqueue_packed_fill_desc`; ringtest's `use_buf`: "Make sure len is valid before
        // flags").
        store_flags_first_last(&self.mem, &self.l, &mut self.pending);
        self.used_since_signal = self.used_since_signal.wrapping_add(self.unpublished);
        self.unpublished = 0;
        self.published = self.next_used;
    }

    fn interrupt_needed(&mut self) -> bool {
        // Barrier D: the full barrier before reading the driver's event area, pairing with
        // `virtio_mb` in the driver's `virtqueue_poll`.
        fence(SeqCst);
        let count = std::mem::take(&mut self.used_since_signal);
        let area = self.l.driver_event;
        other_wants(
            &self.mem,
            area,
            self.opts.event_idx,
            self.published,
            count,
            self.l.size,
        )
    }

    fn enable_notify(&mut self) -> bool {
        let area = self.l.device_event;
        let flags = if self.opts.event_idx {
            self.mem.store16(area, self.next_avail.off_wrap(), Relaxed);
            RING_EVENT_FLAGS_DESC
        } else {
            RING_EVENT_FLAGS_ENABLE
        };
        self.mem.store16(area + 2, flags, Release);
        // Barrier C: the full barrier after arming, pairing with `virtio_mb` in
        // `virtqueue_kick_prepare_packed`; `pop` re-reads the flags with Barrier A.
        fence(SeqCst);
        let pos = self.next_avail;
        is_avail(
            self.mem.load16(flags_at(&self.l, pos.slot), Relaxed),
            pos.wrap,
        )
    }

    fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }
}
