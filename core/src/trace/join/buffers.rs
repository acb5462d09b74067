//! Each buffer followed across both sides: the driver's add (its token, and its head on a
//! split ring or buffer ID on a packed one), the kick that covered it, the device's pop, fill
//! and used (QEMU's `virtqueue_flush`, or the fill itself on a packed ring; one line of DPDK's),
//! the interrupt, and the driver's detach and reap.
//!
//! The device pops in avail order, so the n-th pop of a queue in the device's epoch (between
//! resets) is the buffer at avail position n, the n-th the driver made available. QEMU's fill
//! names the popped element; the driver's detach names the head (or ID) and its reap the token.
//! DPDK prints no index at all: the n-th packet it dequeued from the guest's transmit ring is
//! the n-th buffer there counted from the ring base it was handed; the n-th packet it put into
//! the receive ring fills the next buffer in avail order, unless the ring was full (testpmd then
//! drops the rest of the burst, and prints it all the same): a burst takes only as many buffers
//! as the driver had made available by then. The cross-checks (descriptor counts at the pop,
//! tokens at the reap, the order of reaps against the order of completions, the ring base DPDK
//! returned) say whether the pairing holds; each disagreement is a note.

use std::collections::HashMap;

use serde::Serialize;

use super::clock::GuestClock;
use super::pair::{DeviceSide, JoinedQueue};
use crate::trace::event::{EventKind, NO_TIME};
use crate::trace::import::dpdk::{DpdkKind, DpdkLog};
use crate::trace::import::driver::{DriverKind, DriverTrace, NO_TOKEN, TokenId};
use crate::trace::import::store::TraceStore;
use crate::trace::state::ReplayState;

/// No event.
pub const NONE: u32 = u32::MAX;

/// Taken back by `virtqueue_detach_unused_buf` (device removal), not reaped.
pub const TAKEN_BACK: u8 = 1;
/// The token reaped differs from the token added.
pub const TOKEN_MISMATCH: u8 = 2;
/// The add failed (`ret != 0`): never made available.
pub const ADD_FAILED: u8 = 4;

/// A buffer's stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Stage {
    /// The driver made it available.
    Add,
    /// The driver's kick (`vp_notify`) that covered it.
    Kick,
    /// The device took it.
    Pop,
    /// The device wrote its used element.
    Fill,
    /// The device published it (split: `virtqueue_flush`).
    Used,
    /// The device's interrupt after it was used.
    Interrupt,
    /// The driver's `vring_interrupt` that saw it.
    Handler,
    /// The driver took it back (`detach_buf_*`).
    Detach,
    /// The driver got its token back.
    Reap,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 9] = [
        Stage::Add,
        Stage::Kick,
        Stage::Pop,
        Stage::Fill,
        Stage::Used,
        Stage::Interrupt,
        Stage::Handler,
        Stage::Detach,
        Stage::Reap,
    ];
    /// Whether the driver's trace holds it (else the device's input).
    pub fn on_driver(self) -> bool {
        matches!(
            self,
            Stage::Add | Stage::Kick | Stage::Handler | Stage::Detach | Stage::Reap
        )
    }
    /// Its name in the UIs.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Add => "add",
            Stage::Kick => "kick",
            Stage::Pop => "pop",
            Stage::Fill => "fill",
            Stage::Used => "used",
            Stage::Interrupt => "interrupt",
            Stage::Handler => "irq handler",
            Stage::Detach => "detach",
            Stage::Reap => "reap",
        }
    }
}

/// One buffer's path: event indices of each stage ([`NONE`] when not reached or not seen).
/// Pop, fill and used index QEMU's events, or DPDK's when DPDK serves the queue; interrupt
/// QEMU's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Buffer {
    /// Index into the join's queues.
    pub queue: u16,
    /// Head (split) or buffer ID (packed).
    pub head: u16,
    /// The driver's token.
    pub token: TokenId,
    /// Where the driver made it available: split, the free-running avail index; packed, the
    /// slot with the wrap counter in bit 15.
    pub avail: u16,
    /// [`TAKEN_BACK`], [`TOKEN_MISMATCH`], [`ADD_FAILED`].
    pub flags: u8,
    /// Stage events.
    pub add: u32,
    /// See [`Stage::Kick`].
    pub kick: u32,
    /// See [`Stage::Pop`].
    pub pop: u32,
    /// See [`Stage::Fill`].
    pub fill: u32,
    /// See [`Stage::Used`].
    pub used: u32,
    /// See [`Stage::Interrupt`].
    pub dev_irq: u32,
    /// See [`Stage::Handler`].
    pub irq: u32,
    /// See [`Stage::Detach`].
    pub detach: u32,
    /// See [`Stage::Reap`].
    pub reap: u32,
    /// Bytes the device wrote (QEMU's fill `len`), or the frame's length (DPDK).
    pub len: u32,
}

impl Buffer {
    fn new(queue: u16, head: u16, token: TokenId, avail: u16, add: u32) -> Buffer {
        Buffer {
            queue,
            head,
            token,
            avail,
            flags: 0,
            add,
            kick: NONE,
            pop: NONE,
            fill: NONE,
            used: NONE,
            dev_irq: NONE,
            irq: NONE,
            detach: NONE,
            reap: NONE,
            len: 0,
        }
    }
    /// The event of a stage.
    pub fn at(&self, s: Stage) -> u32 {
        match s {
            Stage::Add => self.add,
            Stage::Kick => self.kick,
            Stage::Pop => self.pop,
            Stage::Fill => self.fill,
            Stage::Used => self.used,
            Stage::Interrupt => self.dev_irq,
            Stage::Handler => self.irq,
            Stage::Detach => self.detach,
            Stage::Reap => self.reap,
        }
    }
}

/// What following buffers reads.
pub(crate) struct Ctx<'a> {
    pub(crate) store: &'a TraceStore,
    pub(crate) driver: &'a DriverTrace,
    pub(crate) dpdk: Option<&'a DpdkLog>,
    pub(crate) clock: &'a GuestClock,
    pub(crate) st0: &'a ReplayState,
    pub(crate) per_queue: &'a [Vec<u32>],
}

impl Ctx<'_> {
    /// Host time of a driver event.
    pub(crate) fn driver_time(&self, j: u32) -> u64 {
        self.driver
            .events()
            .get(j as usize)
            .map_or(0, |e| self.clock.to_host(e.time_us))
    }
    /// Host time of a device event (QEMU's, or DPDK's for `dpdk`).
    pub(crate) fn device_time(&self, dpdk: bool, i: u32) -> u64 {
        let t = if dpdk {
            self.dpdk
                .and_then(|d| d.events.get(i as usize))
                .map_or(NO_TIME, |e| e.time_us)
        } else {
            self.store
                .events()
                .get(i as usize)
                .map_or(NO_TIME, |e| e.time_us)
        };
        if t == NO_TIME { 0 } else { t }
    }
}

/// Follows every buffer; returns them (in add order) and the per-side index of events that
/// belong to one buffer.
pub(crate) fn follow(
    ctx: &Ctx<'_>,
    queues: &[JoinedQueue],
    notes: &mut Vec<String>,
) -> (Vec<Buffer>, [Vec<(u32, u32)>; 3]) {
    let mut all: Vec<Buffer> = Vec::new();
    let mut lists: Vec<Vec<u32>> = Vec::new();
    for (qi, jq) in queues.iter().enumerate() {
        let list = driver_pass(ctx, qi as u16, jq, &mut all, notes);
        match jq.device {
            DeviceSide::Qemu { vq, .. } => qemu_pass(ctx, jq, vq, &list, &mut all, notes),
            DeviceSide::Dpdk { vring } => dpdk_pass(ctx, jq, vring, &list, &mut all, notes),
            DeviceSide::Missing => {}
        }
        handlers(ctx, jq, &list, &mut all);
        lists.push(list);
    }
    let mut refs: [Vec<(u32, u32)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for (bi, b) in all.iter().enumerate() {
        let bi = bi as u32;
        let dev = match queues.get(usize::from(b.queue)).map(|q| q.device) {
            Some(DeviceSide::Dpdk { .. }) => 2,
            _ => 0,
        };
        for d in [b.add, b.detach, b.reap] {
            if d != NONE {
                refs[1].push((d, bi));
            }
        }
        for d in [b.pop, b.fill] {
            if d != NONE {
                refs[dev].push((d, bi));
            }
        }
    }
    for r in &mut refs {
        r.sort_unstable();
        r.dedup_by_key(|x| x.0);
    }
    (all, refs)
}

/// The driver's side of one queue: adds, kicks, detaches, reaps. Returns the queue's buffers
/// in add order.
fn driver_pass(
    ctx: &Ctx<'_>,
    qi: u16,
    jq: &JoinedQueue,
    all: &mut Vec<Buffer>,
    notes: &mut Vec<String>,
) -> Vec<u32> {
    let events = ctx.driver.events();
    let mut list: Vec<u32> = Vec::new();
    let mut out: HashMap<u16, u32> = HashMap::new();
    let mut unkicked: Vec<u32> = Vec::new();
    let (mut stray_detach, mut mismatched, mut reused) = (0u32, 0u32, 0u32);
    let mut first_stray: Option<u32> = None;
    for &j in ctx
        .per_queue
        .get(usize::from(jq.driver))
        .into_iter()
        .flatten()
    {
        let Some(e) = events.get(j as usize) else {
            continue;
        };
        match e.kind {
            DriverKind::Add(_) => {
                let Some(s) = e.shadow() else { continue };
                let avail = if s.packed {
                    (s.avail & 0x7fff) | if s.avail_wrap { 0x8000 } else { 0 }
                } else {
                    s.avail
                };
                let b = all.len() as u32;
                all.push(Buffer::new(qi, s.free_head, e.arg, avail, j));
                if out.insert(s.free_head, b).is_some() {
                    reused += 1;
                }
                list.push(b);
                unkicked.push(b);
            }
            DriverKind::AddFailed => {
                if let Some(&b) = list.last()
                    && e.entry() == Some(all[b as usize].add)
                {
                    all[b as usize].flags |= ADD_FAILED;
                    out.retain(|_, v| *v != b);
                    unkicked.retain(|&x| x != b);
                    list.pop();
                }
            }
            DriverKind::Notify => {
                for b in unkicked.drain(..) {
                    all[b as usize].kick = j;
                }
            }
            DriverKind::Detach => {
                let head = u16::try_from(e.arg).unwrap_or(u16::MAX);
                match out.remove(&head) {
                    Some(b) => all[b as usize].detach = j,
                    None => {
                        stray_detach += 1;
                        first_stray.get_or_insert(e.line);
                    }
                }
            }
            DriverKind::Reap | DriverKind::DetachUnused => {
                let Some(d) = e.entry() else { continue };
                if let Some(&b) = list.iter().rev().find(|&&b| all[b as usize].detach == d) {
                    let buf = &mut all[b as usize];
                    buf.reap = j;
                    if e.kind == DriverKind::DetachUnused {
                        buf.flags |= TAKEN_BACK;
                    }
                    if e.arg != NO_TOKEN && e.arg != buf.token {
                        buf.flags |= TOKEN_MISMATCH;
                        mismatched += 1;
                    }
                }
            }
            _ => {}
        }
    }
    if stray_detach > 0 {
        notes.push(format!(
            "{}: {stray_detach} detaches of a head no traced add made available (first at \
             {}:{}): buffers added before the trace began",
            jq.name,
            ctx.driver.source(),
            first_stray.unwrap_or(0)
        ));
    }
    if mismatched > 0 {
        notes.push(format!(
            "{}: {mismatched} reaps returned another token than their head's add: the driver's \
             desc_state and the trace disagree",
            jq.name
        ));
    }
    if reused > 0 {
        notes.push(format!(
            "{}: {reused} adds reused a head still outstanding",
            jq.name
        ));
    }
    list
}

/// QEMU's side of one queue, in the device epoch the driver's adds fall in.
fn qemu_pass(
    ctx: &Ctx<'_>,
    jq: &JoinedQueue,
    vq: crate::trace::event::ObjId,
    list: &[u32],
    all: &mut [Buffer],
    notes: &mut Vec<String>,
) {
    let Some(&first) = list.first() else {
        return;
    };
    let t_add = ctx.driver_time(all[first as usize].add);
    let events = ctx.store.events();
    let vdev = match jq.device {
        DeviceSide::Qemu { queue, .. } => ctx
            .st0
            .queues
            .get(queue)
            .and_then(|q| ctx.st0.devices.get(q.dev))
            .map(|d| d.obj),
        _ => None,
    };
    let resets: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            matches!(e.kind, EventKind::SetStatus { vdev: v, status: 0 } if Some(v) == vdev)
        })
        .map(|(i, _)| i)
        .collect();
    // The epoch of the first add: after the last reset before it, up to the next reset.
    let start = resets
        .iter()
        .rev()
        .find(|&&i| events[i].time_us <= t_add)
        .map_or(0, |&i| i + 1);
    let end = resets
        .iter()
        .find(|&&i| i >= start && events[i].time_us > t_add)
        .copied()
        .unwrap_or(events.len());
    // A driver trace that starts after the epoch's first buffers (split): skip the pops of
    // the avail positions before its first add.
    let skip = if jq.packed {
        0
    } else {
        usize::from(all[first as usize].avail)
    };
    let drv_end = ctx
        .driver
        .events()
        .last()
        .map_or(0, |e| ctx.clock.to_host(e.time_us));
    let mut next = 0usize;
    let mut pops = 0usize;
    let mut elems: HashMap<crate::trace::event::ObjId, u32> = HashMap::new();
    let mut unpublished: Vec<u32> = Vec::new();
    let mut unsignalled: Vec<u32> = Vec::new();
    let (mut extra, mut short) = (0u32, 0u32);
    for (i, e) in events.iter().enumerate().take(end).skip(start) {
        let i = i as u32;
        match e.kind {
            EventKind::Pop {
                vq: v,
                elem,
                in_num,
                out_num,
            } if v == vq => {
                pops += 1;
                if pops <= skip {
                    continue;
                }
                let Some(&b) = list.get(next) else {
                    // Pops after the driver's trace ends are buffers it never saw added.
                    if e.time_us != NO_TIME && e.time_us <= drv_end {
                        extra += 1;
                    }
                    continue;
                };
                next += 1;
                let buf = &mut all[b as usize];
                buf.pop = i;
                // The pop's iovecs can only be as many as the add's scatterlists or more.
                if let Some(s) = ctx
                    .driver
                    .events()
                    .get(buf.add as usize)
                    .and_then(|a| a.shadow())
                    && (out_num < u16::from(s.sgs.0) || in_num < u16::from(s.sgs.1))
                {
                    short += 1;
                }
                elems.insert(elem, b);
            }
            EventKind::Fill {
                vq: v, elem, len, ..
            } if v == vq => {
                if let Some(b) = elems.remove(&elem) {
                    let buf = &mut all[b as usize];
                    buf.fill = i;
                    buf.len = len;
                    if jq.packed {
                        buf.used = i;
                        unsignalled.push(b);
                    } else {
                        unpublished.push(b);
                    }
                }
            }
            EventKind::Flush { vq: v, .. } if v == vq => {
                for b in unpublished.drain(..) {
                    all[b as usize].used = i;
                    unsignalled.push(b);
                }
            }
            EventKind::Notify { vq: v, .. } if v == vq => {
                for b in unsignalled.drain(..) {
                    all[b as usize].dev_irq = i;
                }
            }
            _ => {}
        }
    }
    if extra > 0 {
        notes.push(format!(
            "{}: the device popped {extra} more buffers than the driver's trace added before it \
             ends",
            jq.name
        ));
    }
    if short > 0 {
        notes.push(format!(
            "{}: {short} pops took fewer descriptors than their add's scatterlists: the \
             pairing by order is off there",
            jq.name
        ));
    }
    check_reap_order(ctx, jq, list, all, notes);
}

/// The driver reaps used buffers in used order: each detach should take the oldest buffer
/// the device has used and the driver not yet detached.
fn check_reap_order(
    ctx: &Ctx<'_>,
    jq: &JoinedQueue,
    list: &[u32],
    all: &[Buffer],
    notes: &mut Vec<String>,
) {
    let mut by_used: Vec<(u32, u32)> = list
        .iter()
        .map(|&b| &all[b as usize])
        .filter(|b| b.fill != NONE && b.detach != NONE && b.flags & TAKEN_BACK == 0)
        .map(|b| (b.fill, b.detach))
        .collect();
    by_used.sort_unstable();
    let out_of_order = by_used.windows(2).filter(|w| w[1].1 < w[0].1).count();
    if out_of_order > 0 {
        notes.push(format!(
            "{}: {out_of_order} buffers were detached by the driver in another order than the \
             device completed them ({})",
            jq.name,
            ctx.driver.source()
        ));
    }
}

/// DPDK's side of one vring: packets in order from the ring base of the session the driver's
/// adds fall in.
fn dpdk_pass(
    ctx: &Ctx<'_>,
    jq: &JoinedQueue,
    vring: u16,
    list: &[u32],
    all: &mut [Buffer],
    notes: &mut Vec<String>,
) {
    let Some(dpdk) = ctx.dpdk else { return };
    let Some(&first) = list.first() else { return };
    let t_add = ctx.driver_time(all[first as usize].add);
    let ev = &dpdk.events;
    let sets: Vec<usize> = (0..ev.len())
        .filter(|&k| matches!(ev[k].kind, DpdkKind::RingBaseSet { vring: v, .. } if v == vring))
        .collect();
    let gets: Vec<usize> = (0..ev.len())
        .filter(|&k| matches!(ev[k].kind, DpdkKind::RingBaseGet { vring: v, .. } if v == vring))
        .collect();
    // The first session still running at the first add (or handed the ring after it).
    let Some((set, get)) = sets
        .iter()
        .map(|&s| (s, gets.iter().copied().find(|&g| g > s)))
        .find(|&(_, g)| g.is_none_or(|g| ev[g].time_us >= t_add))
    else {
        notes.push(format!(
            "{}: DPDK's log has no `vring base idx:{vring}` hand-over: its packets are not \
             joined",
            jq.name
        ));
        return;
    };
    let DpdkKind::RingBaseSet { last_avail, .. } = ev[set].kind else {
        return;
    };
    let base_at = list.iter().position(|&b| {
        let a = all[b as usize].avail;
        if jq.packed {
            a == (last_avail & 0x7fff) | 0x8000
        } else {
            a == last_avail
        }
    });
    let start = base_at.unwrap_or_else(|| {
        notes.push(format!(
            "{}: no traced add is at avail position {last_avail}, where DPDK was handed vring \
             {vring} (dpdk line {}): packets paired from the first traced add",
            jq.name, ev[set].line
        ));
        0
    });
    let until = get.unwrap_or(ev.len());
    let mut next = start;
    let mut accepted_in_burst = u16::MAX;
    let mut seen_in_burst = 0u16;
    let (mut dropped, mut extra) = (0u32, 0u32);
    for (k, e) in ev.iter().enumerate().take(until).skip(set) {
        match e.kind {
            DpdkKind::Burst {
                from_guest, count, ..
            } if e.kind.vring() == Some(vring) => {
                seen_in_burst = 0;
                accepted_in_burst = if from_guest {
                    count
                } else {
                    // Buffers the driver had made available by the burst's time.
                    let avail = list
                        .iter()
                        .skip(next)
                        .take_while(|&&b| ctx.driver_time(all[b as usize].add) <= e.time_us)
                        .count();
                    count.min(u16::try_from(avail).unwrap_or(u16::MAX))
                };
            }
            DpdkKind::Packet { len, .. } if e.kind.vring() == Some(vring) => {
                seen_in_burst = seen_in_burst.saturating_add(1);
                if seen_in_burst > accepted_in_burst {
                    dropped += 1;
                    continue;
                }
                let Some(&b) = list.get(next) else {
                    extra += 1;
                    continue;
                };
                next += 1;
                let buf = &mut all[b as usize];
                buf.pop = k as u32;
                buf.fill = k as u32;
                buf.used = k as u32;
                buf.len = u32::from(len);
            }
            _ => {}
        }
    }
    let taken = (next - start) as u32;
    if dropped > 0 {
        notes.push(format!(
            "{}: {dropped} packets testpmd printed as sent found the receive ring full (its \
             TX-dropped) and were not put in it",
            jq.name
        ));
    }
    if extra > 0 {
        notes.push(format!(
            "{}: DPDK moved {extra} more packets than the driver's trace added buffers",
            jq.name
        ));
    }
    if let Some(g) = get
        && let DpdkKind::RingBaseGet { state, .. } = ev[g].kind
    {
        let expect = if jq.packed {
            // The next buffer's position, or, when every added buffer went, the driver's own
            // next avail slot and wrap counter after its last add.
            list.get(next)
                .map(|&b| u32::from(all[b as usize].avail))
                .or_else(|| {
                    let last = ctx
                        .per_queue
                        .get(usize::from(jq.driver))?
                        .iter()
                        .rev()
                        .find_map(|&j| ctx.driver.events().get(j as usize)?.shadow())?;
                    Some(u32::from(last.avail & 0x7fff) | if last.avail_wrap { 0x8000 } else { 0 })
                })
        } else {
            Some(u32::from(last_avail.wrapping_add(taken as u16)))
        };
        match expect {
            Some(x) if x == state => notes.push(format!(
                "{}: DPDK returned vring {vring} at {state} (dpdk line {}), where the {taken} \
                 buffers paired with its packets end: the pairing holds",
                jq.name, ev[g].line
            )),
            Some(x) => notes.push(format!(
                "{}: DPDK returned vring {vring} at {state} (dpdk line {}), but pairing {taken} \
                 buffers from {last_avail} ends at {x}: the pairing by order is off",
                jq.name, ev[g].line
            )),
            None => {}
        }
    }
}

/// The driver's `vring_interrupt` that saw each used buffer: the last one on its queue
/// before its detach, if it came after the device used it (within the clock's spread). A
/// device interrupt after the buffer's detach was not for it: the driver had already reaped it
/// (with event-idx the device signals a batch once, and a handler reaps all it finds).
fn handlers(ctx: &Ctx<'_>, jq: &JoinedQueue, list: &[u32], all: &mut [Buffer]) {
    let irqs: Vec<u32> = ctx
        .per_queue
        .get(usize::from(jq.driver))
        .into_iter()
        .flatten()
        .copied()
        .filter(|&j| {
            ctx.driver
                .events()
                .get(j as usize)
                .is_some_and(|e| e.kind == DriverKind::Interrupt)
        })
        .collect();
    let dpdk = matches!(jq.device, DeviceSide::Dpdk { .. });
    let spread = ctx.clock.spread_over(0, u64::MAX);
    // DPDK stamps a line when a reader got it, up to milliseconds late.
    let slack = if dpdk { 20_000 } else { spread };
    for &b in list {
        let buf = &mut all[b as usize];
        // A doorbell after the device had already taken the buffer did not cover it: the
        // device found it on its own (QEMU's handler takes all it finds; DPDK polls).
        // (DPDK's stamps are late: a doorbell later than even the stamp came after.)
        let kick_slack = if dpdk { 0 } else { spread };
        if buf.kick != NONE
            && buf.pop != NONE
            && ctx.driver_time(buf.kick) > ctx.device_time(dpdk, buf.pop) + kick_slack
        {
            buf.kick = NONE;
        }
        if buf.used == NONE || buf.detach == NONE {
            continue;
        }
        let detach_t = ctx.driver_time(buf.detach);
        if buf.dev_irq != NONE && ctx.device_time(dpdk, buf.dev_irq) > detach_t + slack {
            buf.dev_irq = NONE;
        }
        let used_t = ctx.device_time(dpdk, buf.used);
        let k = irqs.partition_point(|&j| j < buf.detach);
        // After the driver's own add and kick of it (the device used it after those).
        let after = if buf.kick != NONE { buf.kick } else { buf.add };
        if let Some(&j) = k.checked_sub(1).and_then(|k| irqs.get(k))
            && j > after
            && ctx.driver_time(j) + slack >= used_t
        {
            buf.irq = j;
            // A device interrupt later than the handler that saw the buffer did not wake it.
            if buf.dev_irq != NONE && ctx.device_time(dpdk, buf.dev_irq) > ctx.driver_time(j) {
                buf.dev_irq = NONE;
            }
        }
    }
}
