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
//! head's store-release exposes the whole batch to a device that reads in ring order. A
//! descriptor's `id` and `flags` share a 32-bit word, so each side writes them together in the
//! one store that hands the slot over (ringtest's `ring.c` notes that writing "len and flags in
//! one access" is the alternative to its write barrier).

use ringside_core::layout::{
    DESC_ADDR, DESC_LEN, LayoutError, PACKED_DESC_ID, PackedLayout, PackedPos,
    RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE, RING_EVENT_FLAGS_ENABLE,
    VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, packed_need_event,
};
use ringside_core::ring::packed::{avail_flags, is_avail, is_used, used_flags};

use crate::ids::Ids;
use crate::mem::join;
use crate::staged::Staged;
use crate::sync::{Arc, Ordering::*, fence};
use crate::{Buffer, Device, Driver, Options, Popped, RingMem, Used};

/// A fresh zeroed packed ring of `size` slots: its driver and device halves.
pub fn pair(size: u32, opts: Options) -> Result<(PackedDriver, PackedDevice), LayoutError> {
    let l = PackedLayout::contiguous(size, 0)?;
    let mem = Arc::new(RingMem::new(l.device_event + 4));
    let driver = PackedDriver {
        mem: mem.clone(),
        l,
        opts,
        next_avail: PackedPos::START,
        next_used: PackedPos::START,
        ids: Ids::new(l.size, opts.in_order),
        staged: Staged::default(),
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
        staged: Staged::default(),
        skipped: None,
        unpublished: 0,
        used_since_signal: 0,
        published: PackedPos::START,
        broken: None,
    };
    Ok((driver, device))
}

/// The (`id`, `flags`) of an `id`+`flags` word (or the (`off_wrap`, `flags`) of an event
/// area).
#[inline(always)]
fn halves(w: u32) -> (u16, u16) {
    (w as u16, (w >> 16) as u16)
}

/// A descriptor waiting to be handed over ([`Staged`]): where, and what goes in it (`addr` only
/// from the driver: a used descriptor keeps it).
#[derive(Clone, Copy)]
struct Desc {
    slot: u16,
    addr: Option<u64>,
    len: u32,
    /// `id` and `flags`.
    word: u32,
}

/// Writes staged descriptors from the last to the first; the first's `id`+`flags` word goes
/// last, with release: the barrier (A or B) the caller names.
#[inline(always)]
fn expose(staged: &mut Staged<Desc>, mem: &RingMem, l: &PackedLayout) {
    staged.drain(|d, first| {
        let v = mem.view::<4>(l.desc(d.slot));
        if let Some(addr) = d.addr {
            v.store64(DESC_ADDR, addr);
        }
        v.store32(DESC_LEN, d.len, Relaxed);
        v.store32(
            PACKED_DESC_ID,
            d.word,
            if first { Release } else { Relaxed },
        );
    });
}

/// Whether the other side asked to be notified about `count` slots just published up to
/// `new` in a ring of `q`, read from its event suppression area at `area` (after the caller's
/// full barrier) as one snapshot of `off_wrap` and `flags`, as Linux reads it.
fn other_wants(
    mem: &RingMem,
    area: u64,
    event_idx: bool,
    new: PackedPos,
    count: u16,
    q: u16,
) -> bool {
    let (off_wrap, flags) = halves(mem.load32(area, Relaxed));
    if flags != RING_EVENT_FLAGS_DESC || !event_idx {
        return flags != RING_EVENT_FLAGS_DISABLE;
    }
    packed_need_event(off_wrap, new, count, q)
}

/// Arms the event area at `area` (at `pos` with EVENT_IDX, else plain ENABLE) and returns the
/// flags written. Linux writes `off_wrap`, `virtio_wmb`, then `flags`
/// (`virtqueue_enable_cb_prepare_packed`: "We need to update event offset and event wrap
/// counter first before updating event flags."); here they are one word, stored with release.
fn arm(mem: &RingMem, area: u64, event_idx: bool, pos: PackedPos) -> u16 {
    if event_idx {
        mem.store32(area, join(pos.off_wrap(), RING_EVENT_FLAGS_DESC), Release);
        RING_EVENT_FLAGS_DESC
    } else {
        mem.store16(area + 2, RING_EVENT_FLAGS_ENABLE, Release);
        RING_EVENT_FLAGS_ENABLE
    }
}

/// The driver half (Linux's `vring_virtqueue`, packed part).
pub struct PackedDriver {
    mem: Arc<RingMem>,
    l: PackedLayout,
    opts: Options,
    next_avail: PackedPos,
    next_used: PackedPos,
    /// Free buffer IDs and the tokens of outstanding ones.
    ids: Ids,
    /// Heads written but not yet exposed.
    staged: Staged<Desc>,
    added_since_kick: u16,
    /// Shadow of the driver event area's flags.
    event_flags: u16,
    broken: Option<String>,
}

impl PackedDriver {
    fn bad_ring(&mut self, msg: String) -> u16 {
        self.broken.get_or_insert(msg);
        0
    }
}

impl Driver for PackedDriver {
    #[inline]
    fn add(&mut self, buf: Buffer, token: u64) -> bool {
        let Some(id) = self.ids.give(token) else {
            return false;
        };
        let pos = self.next_avail;
        let flags = avail_flags(pos.wrap) | VIRTQ_DESC_F_WRITE;
        self.staged.push(Desc {
            slot: pos.slot,
            addr: Some(buf.addr),
            len: buf.len,
            word: join(id, flags),
        });
        self.next_avail = pos.advance(1, self.l.size);
        self.added_since_kick = self.added_since_kick.wrapping_add(1);
        true
    }

    #[inline]
    fn publish(&mut self) {
        // Barrier A, `virtio_wmb` in `virtqueue_add_packed`: "A driver MUST NOT make the first
        // descriptor in the list available before all subsequent descriptors comprising the
        // list are made available."
        expose(&mut self.staged, &self.mem, &self.l);
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
        if self.broken.is_some() {
            return 0;
        }
        while done < max {
            let pos = self.next_used;
            let d = self.mem.view::<4>(self.l.desc(pos.slot));
            let (id, flags) = halves(d.load32(PACKED_DESC_ID, Acquire));
            if !is_used(flags, pos.wrap) {
                break;
            }
            // Barrier B: the acquire above is `virtio_rmb` in `virtqueue_get_buf_ctx_packed`:
            // "Only get used elements after they have been exposed by host."
            let len = d.load32(DESC_LEN, Relaxed);
            // Under IN_ORDER one used descriptor stands for every buffer up to the one it names.
            let Some(n) = self.ids.span(id.into()) else {
                return self.bad_ring(format!("id {id} is not a head!"));
            };
            if let Err(e) = self.ids.take_used(id.into(), n, len, &mut f) {
                return self.bad_ring(e);
            }
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
        let pos = self.next_used;
        self.event_flags = arm(&self.mem, self.l.driver_event, self.opts.event_idx, pos);
        // Barrier D, `virtio_mb` in `virtqueue_poll`.
        fence(SeqCst);
        self.used_pending()
    }

    #[inline]
    fn used_pending(&self) -> bool {
        let pos = self.next_used;
        let (_, flags) = halves(
            self.mem
                .load32(self.l.desc(pos.slot) + PACKED_DESC_ID, Relaxed),
        );
        is_used(flags, pos.wrap)
    }

    fn free(&self) -> u16 {
        self.ids.free()
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
    /// Used descriptors written but not yet exposed.
    staged: Staged<Desc>,
    /// IN_ORDER: the last buffer used since the last publish, and how many it stands for.
    skipped: Option<(u16, u32, u16)>,
    unpublished: u16,
    used_since_signal: u16,
    published: PackedPos,
    broken: Option<String>,
}

impl PackedDevice {
    #[inline(always)]
    fn write_used(&mut self, id: u16, len: u32, skip: u16) {
        let pos = self.next_used;
        let write = if len > 0 { VIRTQ_DESC_F_WRITE } else { 0 };
        self.staged.push(Desc {
            slot: pos.slot,
            addr: None,
            len,
            word: join(id, used_flags(pos.wrap) | write),
        });
        self.next_used = pos.advance(skip, self.l.size);
        self.unpublished = self.unpublished.wrapping_add(skip);
    }
}

impl Device for PackedDevice {
    #[inline]
    fn pop(&mut self) -> Option<Popped> {
        let pos = self.next_avail;
        let d = self.mem.view::<4>(self.l.desc(pos.slot));
        let (id, flags) = halves(d.load32(PACKED_DESC_ID, Acquire));
        if !is_avail(flags, pos.wrap) || self.broken.is_some() {
            return None;
        }
        // Barrier A: the acquire above pairs with the driver's `virtio_wmb` before the flags
        // (ringtest's `use_buf`: "make sure length read below is not speculated").
        let buf = Buffer {
            addr: d.load64(DESC_ADDR),
            len: d.load32(DESC_LEN, Relaxed),
        };
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
        expose(&mut self.staged, &self.mem, &self.l);
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
        let pos = self.next_avail;
        arm(&self.mem, self.l.device_event, self.opts.event_idx, pos);
        // Barrier C: the full barrier after arming, pairing with `virtio_mb` in
        // `virtqueue_kick_prepare_packed`; `pop` re-reads the flags with Barrier A.
        fence(SeqCst);
        self.avail_pending()
    }

    #[inline]
    fn avail_pending(&self) -> bool {
        let pos = self.next_avail;
        let (_, flags) = halves(
            self.mem
                .load32(self.l.desc(pos.slot) + PACKED_DESC_ID, Relaxed),
        );
        is_avail(flags, pos.wrap)
    }

    fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }
}
