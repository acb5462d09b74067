//! The split ring (virtio 1.2 §2.7) over shared atomics: descriptor table, available ring and
//! used ring at the offsets `SplitLayout::contiguous` gives the engine.
//!
//! Each barrier is an ordering on one access, placed where Linux's `virtio_ring.c` (driver) and
//! `vringh.c` (device) put theirs; `tools/virtio/ringtest/virtio_ring_0_9.c` names the pairs
//! A to D, and so do the comments here:
//! - A: driver's `virtio_wmb` before `avail.idx` ↔ device's `virtio_rmb` after reading it;
//! - B: device's `virtio_wmb` before `used.idx` ↔ driver's `virtio_rmb` after reading it;
//! - C: driver's `virtio_mb` before reading `avail_event` ↔ device's `virtio_mb` after arming it;
//! - D: device's `virtio_mb` before reading `used_event` ↔ driver's `virtio_mb` after arming it.

use ringside_core::layout::{
    DESC_ADDR, DESC_LEN, LayoutError, RingIdx, SPLIT_DESC_FLAGS, SplitLayout, USED_ELEM_ID,
    USED_ELEM_LEN, VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT,
    VIRTQ_DESC_F_WRITE, VIRTQ_USED_F_NO_NOTIFY, vring_need_event,
};

use crate::ids::Ids;
use crate::mem::join;
use crate::staged::Staged;
use crate::sync::{Arc, Ordering::*, fence};
use crate::{Buffer, Device, Driver, Options, Popped, RingMem, Used};

/// A fresh zeroed split ring of `size` entries: its driver and device halves.
pub fn pair(size: u32, opts: Options) -> Result<(SplitDriver, SplitDevice), LayoutError> {
    let l = SplitLayout::contiguous(size, 0)?;
    let mem = Arc::new(RingMem::new(l.used + l.used_bytes()));
    let driver = SplitDriver {
        mem: mem.clone(),
        l,
        opts,
        ids: Ids::new(l.size, opts.in_order),
        avail_idx: RingIdx(0),
        published: RingIdx(0),
        kicked_at: RingIdx(0),
        last_used: RingIdx(0),
        staged: Staged::default(),
        broken: None,
    };
    let device = SplitDevice {
        mem,
        l,
        opts,
        last_avail: RingIdx(0),
        avail_seen: RingIdx(0),
        used_idx: RingIdx(0),
        published: RingIdx(0),
        signalled: None,
        skipped: None,
        broken: None,
    };
    Ok((driver, device))
}

/// A buffer added but not yet published ([`Staged`]): its head descriptor, its available ring
/// slot, and what the descriptor says.
#[derive(Clone, Copy)]
struct Entry {
    head: u16,
    slot: u16,
    buf: Buffer,
}

/// The driver half (Linux's `vring_virtqueue`, split part).
pub struct SplitDriver {
    mem: Arc<RingMem>,
    l: SplitLayout,
    opts: Options,
    /// Free heads and the tokens of outstanding ones.
    ids: Ids,
    /// Shadow of `avail.idx`, counting added but unpublished entries.
    avail_idx: RingIdx,
    published: RingIdx,
    kicked_at: RingIdx,
    last_used: RingIdx,
    /// Added, not yet published.
    staged: Staged<Entry>,
    broken: Option<String>,
}

impl SplitDriver {
    fn bad_ring(&mut self, msg: String) -> u16 {
        self.broken.get_or_insert(msg);
        0
    }
}

impl Driver for SplitDriver {
    #[inline]
    fn add(&mut self, buf: Buffer, token: u64) -> bool {
        let Some(head) = self.ids.give(token) else {
            return false;
        };
        self.staged.push(Entry {
            head,
            slot: self.l.slot(self.avail_idx),
            buf,
        });
        self.avail_idx = self.avail_idx.wrapping_add(1);
        true
    }

    #[inline]
    fn publish(&mut self) {
        let (m, l) = (&*self.mem, &self.l);
        self.staged.drain(|e, _| {
            let d = m.view::<4>(l.desc(e.head));
            d.store64(DESC_ADDR, e.buf.addr);
            d.store32(DESC_LEN, e.buf.len, Relaxed);
            // `flags` and `next` (0: a single descriptor), one word.
            d.store32(SPLIT_DESC_FLAGS, join(VIRTQ_DESC_F_WRITE, 0), Relaxed);
            m.store16(l.avail_ring(e.slot), e.head, Relaxed);
        });
        // Barrier A, `virtio_wmb` in `virtqueue_add_split`: "Descriptors and available array
        // need to be set before we expose the new available array entries."
        m.store16(l.avail_idx(), self.avail_idx.0, Release);
        self.published = self.avail_idx;
    }

    fn kick_needed(&mut self) -> bool {
        // Barrier C, `virtio_mb` in `virtqueue_kick_prepare_split`: "We need to expose
        // available array entries before checking avail event."
        fence(SeqCst);
        let (new, old) = (self.published, self.kicked_at);
        self.kicked_at = new;
        if self.opts.event_idx {
            let ev = self.mem.load16(self.l.avail_event(), Relaxed);
            vring_need_event(ev, new.0, old.0)
        } else {
            self.mem.load16(self.l.used_flags(), Relaxed) & VIRTQ_USED_F_NO_NOTIFY == 0
        }
    }

    #[inline]
    fn reclaim(&mut self, max: u16, mut f: impl FnMut(Used)) -> u16 {
        if self.broken.is_some() {
            return 0;
        }
        let q = self.l.size;
        let used = RingIdx(self.mem.load16(self.l.used_idx(), Acquire));
        // Barrier B: the acquire above is `virtio_rmb` in `virtqueue_get_buf_ctx_split`: "Only
        // get used array entries after they have been exposed by host."
        let pending = used.since(self.last_used);
        if pending > q {
            let msg = format!(
                "used index moved from {} to {}: more than the queue size {q}",
                self.last_used, used
            );
            return self.bad_ring(msg);
        }
        let mut done = 0;
        while self.last_used != used && done < max {
            // Under IN_ORDER the device may write only the last entry of a batch: read the
            // newest entry and take every buffer up to the one it names.
            let slot = if self.opts.in_order {
                self.l.slot(used.wrapping_add(u16::MAX))
            } else {
                self.l.slot(self.last_used)
            };
            let e = self.l.used_elem(slot);
            let id = self.mem.load32(e + USED_ELEM_ID, Relaxed);
            let len = self.mem.load32(e + USED_ELEM_LEN, Relaxed);
            // Under IN_ORDER one entry stands for every buffer up to the one it names, and for
            // no more than were used.
            let n = match self.ids.span(id) {
                Some(n) if n <= pending => n,
                _ => return self.bad_ring(format!("id {id} is not a head!")),
            };
            if let Err(e) = self.ids.take_used(id, n, len, &mut f) {
                return self.bad_ring(e);
            }
            self.last_used = self.last_used.wrapping_add(n);
            done += n;
        }
        if self.opts.event_idx && done > 0 {
            // `virtio_store_mb` in `virtqueue_get_buf_ctx_split`: "If we expect an interrupt for
            // the next entry, tell host by writing event index and flush out the write before
            // the read in the next get_buf call."
            self.mem.store16_mb(self.l.used_event(), self.last_used.0);
        }
        done
    }

    fn enable_cb(&mut self) -> bool {
        if self.opts.event_idx {
            self.mem
                .store16(self.l.used_event(), self.last_used.0, Relaxed);
        } else {
            self.mem.store16(self.l.avail_flags(), 0, Relaxed);
        }
        // Barrier D, `virtio_mb` in `virtqueue_poll`, after `virtqueue_enable_cb_prepare_split`
        // armed the event: pairs with the device's full barrier before it reads `used_event`.
        fence(SeqCst);
        self.used_pending()
    }

    #[inline]
    fn used_pending(&self) -> bool {
        self.mem.load16(self.l.used_idx(), Relaxed) != self.last_used.0
    }

    fn free(&self) -> u16 {
        self.ids.free()
    }

    fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }
}

/// The device half (vringh's `vringh`, QEMU's `VirtQueue`, split part).
pub struct SplitDevice {
    mem: Arc<RingMem>,
    l: SplitLayout,
    opts: Options,
    last_avail: RingIdx,
    /// The last `avail.idx` read: entries up to it are known available.
    avail_seen: RingIdx,
    /// Next used entry to write (counting unpublished ones).
    used_idx: RingIdx,
    published: RingIdx,
    /// `used.idx` at the last interrupt decision (QEMU's `signalled_used`).
    signalled: Option<RingIdx>,
    /// IN_ORDER: the last buffer used since the last publish, and how many it stands for.
    skipped: Option<(u16, u32, u16)>,
    broken: Option<String>,
}

impl SplitDevice {
    fn virtio_error(&mut self, msg: String) -> Option<Popped> {
        self.broken.get_or_insert(msg);
        None
    }

    fn write_used(&self, slot_idx: RingIdx, id: u16, len: u32) {
        let e = self.l.used_elem(self.l.slot(slot_idx));
        self.mem.store32(e + USED_ELEM_ID, u32::from(id), Relaxed);
        self.mem.store32(e + USED_ELEM_LEN, len, Relaxed);
    }
}

impl Device for SplitDevice {
    #[inline]
    fn pop(&mut self) -> Option<Popped> {
        if self.broken.is_some() {
            return None;
        }
        let m = &*self.mem;
        let q = self.l.size;
        if self.last_avail == self.avail_seen {
            // Barrier A: the acquire is vringh's `virtio_rmb` after reading `avail.idx`: "Only
            // get avail ring entries after they have been exposed by guest."
            self.avail_seen = RingIdx(m.load16(self.l.avail_idx(), Acquire));
            let n = self.avail_seen.since(self.last_avail);
            if n > q {
                let msg = format!(
                    "Guest moved used index from {} to {}",
                    self.last_avail, self.avail_seen
                );
                return self.virtio_error(msg);
            }
            if n == 0 {
                return None;
            }
        }
        let head = m.load16(self.l.avail_ring(self.l.slot(self.last_avail)), Relaxed);
        if head >= q {
            return self.virtio_error(format!("Guest says index {head} is available"));
        }
        let d = m.view::<4>(self.l.desc(head));
        let buf = Buffer {
            addr: d.load64(DESC_ADDR),
            len: d.load32(DESC_LEN, Relaxed),
        };
        // `flags` and `next`, one word; `next` matters only with NEXT, refused below.
        let flags = d.load32(SPLIT_DESC_FLAGS, Relaxed) as u16;
        if flags & (VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_INDIRECT) != 0 {
            let msg =
                format!("desc[{head}] flags {flags:#x}: this device takes single descriptors");
            return self.virtio_error(msg);
        }
        self.last_avail = self.last_avail.wrapping_add(1);
        if self.opts.event_idx {
            // QEMU's `virtqueue_pop` moves `avail_event` on with every buffer (as the engine's
            // pop does); ordered by Barrier C in `enable_notify` before any sleep.
            m.store16(self.l.avail_event(), self.last_avail.0, Relaxed);
        }
        Some(Popped { id: head, buf })
    }

    #[inline]
    fn push_used(&mut self, id: u16, len: u32) {
        if self.opts.in_order {
            let n = self.skipped.map_or(0, |s| s.2);
            self.skipped = Some((id, len, n + 1));
        } else {
            self.write_used(self.used_idx, id, len);
            self.used_idx = self.used_idx.wrapping_add(1);
        }
    }

    #[inline]
    fn publish_used(&mut self) {
        if let Some((id, len, n)) = self.skipped.take() {
            // IN_ORDER: one entry, the batch's last, in the batch's last slot.
            self.write_used(self.used_idx.wrapping_add(n - 1), id, len);
            self.used_idx = self.used_idx.wrapping_add(n);
        }
        // Barrier B, vringh's `virtio_wmb` in `__vringh_complete`: "Make sure buffer is
        // written before we update index."
        self.mem
            .store16(self.l.used_idx(), self.used_idx.0, Release);
        self.published = self.used_idx;
    }

    fn interrupt_needed(&mut self) -> bool {
        // Barrier D, vringh's `virtio_mb` in `__vringh_need_notify`: "Flush out used index
        // update. This is paired with the barrier that the Guest executes when enabling
        // interrupts."
        fence(SeqCst);
        let new = self.published;
        if self.opts.event_idx {
            let ev = self.mem.load16(self.l.used_event(), Relaxed);
            match self.signalled.replace(new) {
                None => new.0 != 0,
                Some(old) => vring_need_event(ev, new.0, old.0),
            }
        } else {
            self.mem.load16(self.l.avail_flags(), Relaxed) & VIRTQ_AVAIL_F_NO_INTERRUPT == 0
        }
    }

    fn enable_notify(&mut self) -> bool {
        let m = &*self.mem;
        if self.opts.event_idx {
            let idx = m.load16(self.l.avail_idx(), Relaxed);
            m.store16(self.l.avail_event(), idx, Relaxed);
        } else {
            m.store16(self.l.used_flags(), 0, Relaxed);
        }
        // Barrier C, vringh's `virtio_mb` in `__vringh_notify_enable`: "They could have slipped
        // one in as we were doing that: make sure it's written, then check again." (`pop`
        // reads `avail.idx` again, with Barrier A, before it reads what this found.)
        fence(SeqCst);
        self.avail_pending()
    }

    #[inline]
    fn avail_pending(&self) -> bool {
        self.last_avail != self.avail_seen
            || self.mem.load16(self.l.avail_idx(), Relaxed) != self.last_avail.0
    }

    fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }
}
