//! The joined timeline: every side's events in one order, one cursor over them.
//!
//! Each side keeps its own order (its file's). Between sides, the next event is the one with
//! the earliest host time (the driver's mapped through the clock), unless it is the effect of
//! an event of another side not yet shown: a pop waits for its buffer's add, a device's kick
//! for the driver's doorbell write it answers, a detach for the device's completion, the
//! driver's interrupt handler for the device's interrupt. Clocks known to a few hundred
//! microseconds would otherwise draw some effects before their causes; the build counts those
//! it held back, and by how much.
//!
//! Nothing per event is stored: a checkpoint of the three positions every
//! [`Merge::CHECKPOINT_EVERY`] steps, and the constraints (a few per buffer). Seeking replays
//! the merge from the checkpoint before.

use serde::Serialize;

use super::buffers::{Buffer, NONE};
use super::clock::GuestClock;
use super::detect::Matched;
use super::pair::{DeviceSide, JoinedQueue};
use super::{EventRef, Side};
use crate::trace::event::NO_TIME;
use crate::trace::import::Capture;
use crate::trace::import::dpdk::DpdkLog;
use crate::trace::import::driver::DriverTrace;
use crate::trace::import::store::TraceStore;

/// Where the cursor is: events applied per side, and the last one shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pos {
    /// Events applied of each side ([`Side`] order).
    pub at: [u32; 3],
    /// The event at the cursor (the last applied).
    pub last: Option<EventRef>,
}

/// The merged order.
#[derive(Debug, Clone)]
pub struct Merge {
    checkpoints: Vec<[u32; 3]>,
    /// Per side, sorted: `(event, the event it must follow)`.
    cons: [Vec<(u32, EventRef)>; 3],
    lens: [u32; 3],
    /// Steps in all.
    pub len: u64,
    /// Events held back behind their cause: how many, and the largest time by which their
    /// clock put them earlier (µs).
    pub held: (u64, u64),
    /// Times two sides each waited for the other (their pairings disagree): the clock
    /// decided.
    pub cycles: u64,
}

/// The inputs the merge reads times from.
struct Sources<'a> {
    store: &'a TraceStore,
    driver: Option<&'a DriverTrace>,
    dpdk: Option<&'a DpdkLog>,
    clock: &'a GuestClock,
}

impl Sources<'_> {
    fn time(&self, side: Side, i: u32) -> u64 {
        let t = match side {
            Side::Device => self
                .store
                .events()
                .get(i as usize)
                .map_or(NO_TIME, |e| e.time_us),
            Side::Driver => self
                .driver
                .and_then(|d| d.events().get(i as usize))
                .map_or(NO_TIME, |e| self.clock.to_host(e.time_us)),
            Side::Dpdk => self
                .dpdk
                .and_then(|d| d.events.get(i as usize))
                .map_or(NO_TIME, |e| e.time_us),
        };
        if t == NO_TIME { 0 } else { t }
    }
}

/// The constraints buffers and notifications put on the order.
pub(crate) fn constraints(
    buffers: &[Buffer],
    queues: &[JoinedQueue],
    matched: &Matched,
) -> [Vec<(u32, EventRef)>; 3] {
    let mut cons: [Vec<(u32, EventRef)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let drv = |i| EventRef {
        side: Side::Driver,
        index: i,
    };
    for b in buffers {
        let dev = match queues.get(usize::from(b.queue)).map(|q| q.device) {
            Some(DeviceSide::Dpdk { .. }) => Side::Dpdk,
            _ => Side::Device,
        };
        // A pop follows its buffer's add, and the doorbell that covered it when one did.
        if b.pop != NONE {
            let cause = if b.kick != NONE { b.kick } else { b.add };
            cons[dev as usize].push((b.pop, drv(cause)));
        }
        // The handler that saw it ran after the device used it.
        if b.irq != NONE && b.used != NONE {
            cons[Side::Driver as usize].push((
                b.irq,
                EventRef {
                    side: dev,
                    index: b.used,
                },
            ));
        }
        if b.detach != NONE && b.used != NONE {
            cons[Side::Driver as usize].push((
                b.detach,
                EventRef {
                    side: dev,
                    index: b.used,
                },
            ));
        }
    }
    for k in &matched.kicks {
        if k.device != NONE {
            cons[Side::Device as usize].push((k.device, drv(k.driver)));
        }
    }
    for k in &matched.irqs {
        if k.driver != NONE {
            cons[Side::Driver as usize].push((
                k.driver,
                EventRef {
                    side: Side::Device,
                    index: k.device,
                },
            ));
        }
    }
    for c in &mut cons {
        // One constraint per event: the latest of what it must follow.
        c.sort_unstable_by_key(|x| (x.0, x.1.side, x.1.index));
        let mut out: Vec<(u32, EventRef)> = Vec::with_capacity(c.len());
        for x in c.drain(..) {
            match out.last_mut() {
                // Sorted: the later one is the stronger.
                Some(last) if last.0 == x.0 => *last = x,
                _ => out.push(x),
            }
        }
        *c = out;
    }
    cons
}

impl Merge {
    /// Steps between checkpoints.
    pub const CHECKPOINT_EVERY: u64 = 4096;

    /// Merges the sides once, keeping checkpoints.
    pub(crate) fn build(
        store: &TraceStore,
        driver: &DriverTrace,
        dpdk: Option<&DpdkLog>,
        clock: &GuestClock,
        cons: [Vec<(u32, EventRef)>; 3],
    ) -> Merge {
        let lens = [
            store.events().len() as u32,
            driver.events().len() as u32,
            dpdk.map_or(0, |d| d.events.len() as u32),
        ];
        let mut m = Merge {
            checkpoints: vec![[0; 3]],
            cons,
            lens,
            len: lens.iter().map(|&l| u64::from(l)).sum(),
            held: (0, 0),
            cycles: 0,
        };
        let src = Sources {
            store,
            driver: Some(driver),
            dpdk,
            clock,
        };
        let mut pos = [0u32; 3];
        let mut cur = [0usize; 3];
        let mut step = 0u64;
        while let Some((side, held, cycle)) = m.next(&src, &pos, &mut cur) {
            if cycle {
                m.cycles += 1;
            }
            if let Some(d) = held {
                m.held.0 += 1;
                m.held.1 = m.held.1.max(d);
            }
            pos[side as usize] += 1;
            step += 1;
            if step.is_multiple_of(Self::CHECKPOINT_EVERY) {
                m.checkpoints.push(pos);
            }
        }
        m
    }

    /// The side of the next event, and how long an earlier-clocked event was held back for
    /// it, if one was.
    fn next(
        &self,
        src: &Sources<'_>,
        pos: &[u32; 3],
        cur: &mut [usize; 3],
    ) -> Option<(Side, Option<u64>, bool)> {
        // Per side: its next event's time and, when it must wait, the side it waits for.
        let mut cand: [Option<(u64, Option<Side>)>; 3] = [None; 3];
        for s in Side::ALL {
            let k = s as usize;
            if pos[k] >= self.lens[k] {
                continue;
            }
            let t = src.time(s, pos[k]);
            let cons = &self.cons[k];
            while cons.get(cur[k]).is_some_and(|c| c.0 < pos[k]) {
                cur[k] += 1;
            }
            let waits = match cons.get(cur[k]) {
                Some(&(i, after)) if i == pos[k] && pos[after.side as usize] <= after.index => {
                    Some(after.side)
                }
                _ => None,
            };
            cand[k] = Some((t, waits));
        }
        let earliest = |ready_only: bool| {
            Side::ALL
                .iter()
                .filter_map(|&s| cand[s as usize].map(|c| (c, s)))
                .filter(|((_, w), _)| !ready_only || w.is_none())
                .min_by_key(|((t, _), s)| (*t, *s as usize))
                .map(|((t, w), s)| (t, w, s))
        };
        let (at, aw, a) = earliest(false)?;
        let Some(b) = aw else {
            return Some((a, None, false));
        };
        // The earliest waits for side `b`; if `b`'s next waits too, on anything, the two
        // sides' pairings disagree (a cycle): the clock decides.
        if cand[b as usize].is_none_or(|c| c.1.is_some()) {
            return Some((a, None, true));
        }
        match earliest(true) {
            Some((rt, _, r)) => Some((r, Some(rt.saturating_sub(at)), false)),
            None => Some((a, None, true)),
        }
    }

    fn sources<'a>(&self, capture: &'a Capture, clock: &'a GuestClock) -> Sources<'a> {
        Sources {
            store: &capture.store,
            driver: capture.driver.as_ref(),
            dpdk: capture.dpdk.as_ref().filter(|_| self.lens[2] > 0),
            clock,
        }
    }

    fn cursors(&self, pos: &[u32; 3]) -> [usize; 3] {
        std::array::from_fn(|k| self.cons[k].partition_point(|c| c.0 < pos[k]))
    }

    /// The positions after `step` steps.
    pub fn seek(&self, capture: &Capture, clock: &GuestClock, step: u64) -> Pos {
        let step = step.min(self.len);
        let c = (step / Self::CHECKPOINT_EVERY) as usize;
        let mut pos = self.checkpoints.get(c).copied().unwrap_or([0; 3]);
        let mut s = c as u64 * Self::CHECKPOINT_EVERY;
        let src = self.sources(capture, clock);
        let mut cur = self.cursors(&pos);
        let mut last = None;
        while s < step {
            let Some((side, _, _)) = self.next(&src, &pos, &mut cur) else {
                break;
            };
            last = Some(EventRef {
                side,
                index: pos[side as usize],
            });
            pos[side as usize] += 1;
            s += 1;
        }
        if last.is_none() && step > 0 {
            // The checkpoint itself: the event before it is found by stepping from the one
            // before.
            let p = self.seek(capture, clock, step - 1);
            return Pos {
                at: pos,
                last: self.after(capture, clock, &p),
            };
        }
        Pos { at: pos, last }
    }

    /// The event the step after `p` applies.
    pub fn after(&self, capture: &Capture, clock: &GuestClock, p: &Pos) -> Option<EventRef> {
        let src = self.sources(capture, clock);
        let mut cur = self.cursors(&p.at);
        self.next(&src, &p.at, &mut cur)
            .map(|(side, _, _)| EventRef {
                side,
                index: p.at[side as usize],
            })
    }

    /// The step at which an event is applied (1-based: the cursor that shows it).
    pub fn step_of(&self, capture: &Capture, clock: &GuestClock, e: EventRef) -> u64 {
        let k = e.side as usize;
        let c = self
            .checkpoints
            .partition_point(|cp| cp[k] <= e.index)
            .saturating_sub(1);
        let mut pos = self.checkpoints.get(c).copied().unwrap_or([0; 3]);
        let mut s = c as u64 * Self::CHECKPOINT_EVERY;
        let src = self.sources(capture, clock);
        let mut cur = self.cursors(&pos);
        while pos[k] <= e.index {
            let Some((side, _, _)) = self.next(&src, &pos, &mut cur) else {
                break;
            };
            pos[side as usize] += 1;
            s += 1;
        }
        s
    }

    /// Events of one side, in joined order, as `(step, index)` for the steps `from..to`
    /// (1-based steps).
    pub fn window(
        &self,
        capture: &Capture,
        clock: &GuestClock,
        from: u64,
        to: u64,
    ) -> Vec<(u64, EventRef)> {
        let p = self.seek(capture, clock, from.saturating_sub(1));
        let src = self.sources(capture, clock);
        let mut pos = p.at;
        let mut cur = self.cursors(&pos);
        let mut out = Vec::new();
        let mut s = from.saturating_sub(1);
        while s < to.min(self.len) {
            let Some((side, _, _)) = self.next(&src, &pos, &mut cur) else {
                break;
            };
            s += 1;
            out.push((
                s,
                EventRef {
                    side,
                    index: pos[side as usize],
                },
            ));
            pos[side as usize] += 1;
        }
        out
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.checkpoints.capacity() * 12
            + self
                .cons
                .iter()
                .map(|c| c.capacity() * std::mem::size_of::<(u32, EventRef)>())
                .sum::<usize>()
    }

    /// Events per side in the timeline.
    pub fn lens(&self) -> [u32; 3] {
        self.lens
    }
}
