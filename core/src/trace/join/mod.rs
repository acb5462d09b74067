//! Both sides of the rings on one timeline: the guest driver's kprobe trace joined with QEMU's
//! trace (and DPDK's log, when DPDK served rings as a vhost-user device).
//!
//! - [`clock`]: the guest clock mapped onto the host's from the capture's anchors, per stretch
//!   between VM stops, with its spread; the join refuses when the clocks are not known well
//!   enough to order events;
//! - [`pair`]: which driver queue (`req.0` of `virtio0`) is which device queue (`blk0.q0`, or
//!   DPDK's vring 1);
//! - [`buffers`]: each buffer followed from the driver's add (token, head or ID) through the
//!   device's pop, fill and used to the driver's reap, with the cross-checks that say whether
//!   the pairing holds;
//! - [`merge`]: the joined timeline, one cursor over all sides' events, causes before effects;
//! - [`sides`]: both sides' view of a ring at a step, and where they disagree;
//! - [`detect`]: the detectors that need both sides.
//!
//! Nothing here reads files or clocks: a [`Join`] is built from an imported
//! [`Capture`].

pub mod buffers;
pub mod clock;
pub mod detect;
pub mod merge;
pub mod pair;
pub mod report;
pub mod sides;

use serde::Serialize;

pub use buffers::{Buffer, NONE, Stage};
pub use clock::{DpdkClock, GuestClock, Refusal};
pub use merge::{Merge, Pos};
pub use pair::{DeviceSide, JoinedQueue};
pub use report::{JoinReport, report_of};
pub use sides::{SideRow, SidesView};

use crate::finding::Finding;
use crate::trace::event::NO_TIME;
use crate::trace::import::Capture;
use crate::trace::state::ReplayState;

/// Which input an event is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Side {
    /// QEMU's trace (the device model, or the vhost front end).
    Device = 0,
    /// The guest driver's trace.
    Driver = 1,
    /// DPDK's log (the device, for the rings it served).
    Dpdk = 2,
}

impl Side {
    /// All sides, in merge order.
    pub const ALL: [Side; 3] = [Side::Device, Side::Driver, Side::Dpdk];
    /// `device`, `driver`, `dpdk`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Device => "device",
            Side::Driver => "driver",
            Side::Dpdk => "dpdk",
        }
    }
}

/// One event of one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct EventRef {
    /// The input.
    pub side: Side,
    /// Index into that input's events.
    pub index: u32,
}

/// How strict the join is and the detectors' thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct JoinOptions {
    /// Refuse to join when a stretch's spread is larger (µs). 1 ms: the join orders the two
    /// sides by time only to place each side's events between the other's; which buffer is
    /// which comes from counts and heads, and a cause is never drawn after its effect (see
    /// [`merge`]). Within 1 ms the latencies by stage still mean something against the
    /// detectors' thresholds (50 ms and up) and the device's usual answer to a kick (35 µs
    /// median, 2.4 ms at most in the captures); past it, which of two events on different
    /// sides came first, and so how long a buffer waited at each stage, would be a guess.
    pub max_spread_us: u64,
    /// A kick is "not seen" when the device logs no kick of that queue this long after it
    /// (ms). The captures' device answered every kick within 2.4 ms.
    pub kick_ms: u64,
    /// An interrupt is "not handled" when the driver enters no `vring_interrupt` for that
    /// queue this long after it (ms).
    pub irq_ms: u64,
    /// The driver's used index may trail the device's this long before it is reported (ms).
    pub behind_ms: u64,
    /// A buffer the driver made available may wait this long for the device's pop (ms).
    pub pop_ms: u64,
    /// The device may hold a popped buffer this long before completing it (ms).
    pub held_ms: u64,
}

impl Default for JoinOptions {
    fn default() -> Self {
        JoinOptions {
            max_spread_us: 1000,
            kick_ms: 50,
            irq_ms: 50,
            behind_ms: 1000,
            pop_ms: 1000,
            held_ms: 1000,
        }
    }
}

/// Both sides joined.
#[derive(Debug, Clone)]
pub struct Join {
    /// The guest clock against the host's.
    pub clock: GuestClock,
    /// QEMU's vhost-user messages against DPDK's, when DPDK is joined.
    pub dpdk_clock: Option<DpdkClock>,
    /// The driver's queues and the device side of each.
    pub queues: Vec<JoinedQueue>,
    /// Every buffer the driver added, followed.
    pub buffers: Vec<Buffer>,
    /// Events that belong to one buffer, per side, sorted: `(event, buffer)`.
    refs: [Vec<(u32, u32)>; 3],
    /// The joined timeline.
    pub merge: Merge,
    /// The driver's events per queue (indices into its events), for the view at a step.
    pub(crate) per_queue: Vec<Vec<u32>>,
    /// The detectors' findings.
    pub findings: Vec<Finding>,
    /// What the cross-checks found, in words.
    pub notes: Vec<String>,
    /// Options used.
    pub opts: JoinOptions,
}

/// The join of a capture, or why there is none.
pub type Joined = Result<Join, Refusal>;

impl Join {
    /// Joins the driver's trace (and DPDK's log) of a capture with its QEMU trace; `st0` is
    /// the replay's state before the first event (devices and queues as QEMU names them).
    /// `None` when the capture has no driver trace.
    pub fn build(capture: &Capture, st0: &ReplayState, opts: JoinOptions) -> Option<Joined> {
        let driver = capture.driver.as_ref()?;
        Some(Self::build_with(capture, driver, st0, opts))
    }

    fn build_with(
        capture: &Capture,
        driver: &crate::trace::import::driver::DriverTrace,
        st0: &ReplayState,
        opts: JoinOptions,
    ) -> Joined {
        let store = &capture.store;
        if !store.events().iter().any(|e| e.time_us != NO_TIME) {
            return Err(Refusal {
                message: format!(
                    "{} has no timestamps (run QEMU with -msg timestamp=on): the driver's \
                     events cannot be placed among the device's",
                    store.source()
                ),
            });
        }
        let clock = GuestClock::fit(driver, store, capture.qmp.as_ref())?;
        let first = driver.events().first().map_or(0, |e| e.time_us);
        let last = driver.events().last().map_or(0, |e| e.time_us);
        if let Some(s) = clock.stretches.iter().enumerate().find(|(k, s)| {
            let end = clock
                .stretches
                .get(k + 1)
                .map_or(u64::MAX, |n| n.guest_from);
            s.spread_us > opts.max_spread_us && s.guest_from <= last && end >= first
        }) {
            let s = s.1;
            return Err(Refusal {
                message: format!(
                    "the guest clock is known only to ±{} µs in the stretch from {} (narrowest \
                     anchor {} µs, anchors disagree by {} µs), more than the {} µs the join \
                     needs to put the two sides' events in order (a kick and the pop it causes \
                     are tens of µs apart); refusing to join. Capture more anchors (traces/\
                     anchor.c after each phase), and check that every VM stop is in the QMP \
                     transcript",
                    s.spread_us,
                    s.from_us
                        .map_or("the start".to_string(), crate::finding::fmt_time),
                    s.narrowest_us,
                    s.misfit_us,
                    opts.max_spread_us
                ),
            });
        }
        let mut notes = clock.notes.clone();
        let (dpdk, dpdk_clock) = match capture.dpdk.as_ref() {
            Some(d) => match DpdkClock::pair(store, d) {
                Ok(c) => (Some(d), Some(c)),
                Err(r) => {
                    notes.push(r.message);
                    (None, None)
                }
            },
            None => (None, None),
        };
        let per_queue = pair::events_per_queue(driver);
        let queues = pair::pair(driver, st0, store, dpdk, &per_queue, &clock, &mut notes);
        let ctx = buffers::Ctx {
            store,
            driver,
            dpdk,
            clock: &clock,
            st0,
            per_queue: &per_queue,
        };
        let (buffers, refs) = buffers::follow(&ctx, &queues, &mut notes);
        let matched = detect::notifications(&ctx, &queues, &buffers, &opts);
        let cons = merge::constraints(&buffers, &queues, &matched);
        let merge = Merge::build(store, driver, dpdk, &clock, cons);
        if merge.held.0 > 0 {
            notes.push(format!(
                "{} events were drawn after their cause although their clocks put them up to {} \
                 µs before it (the guest clock's spread, or DPDK's late line stamps)",
                merge.held.0, merge.held.1
            ));
        }
        if merge.cycles > 0 {
            notes.push(format!(
                "{} times the two sides' pairings each waited for the other: the clocks decided \
                 the order there",
                merge.cycles
            ));
        }
        let mut join = Join {
            clock,
            dpdk_clock,
            queues,
            buffers,
            refs,
            merge,
            per_queue,
            findings: Vec::new(),
            notes,
            opts,
        };
        let findings = detect::run(&join, capture, &matched);
        join.findings = findings;
        Ok(join)
    }

    /// Approximate heap bytes held (the memory-per-event figure of docs/PERFORMANCE.md).
    pub fn heap_bytes(&self) -> usize {
        self.buffers.capacity() * std::mem::size_of::<Buffer>()
            + self.refs.iter().map(|r| r.capacity() * 8).sum::<usize>()
            + self
                .per_queue
                .iter()
                .map(|q| q.capacity() * 4)
                .sum::<usize>()
            + self.merge.heap_bytes()
            + self.notes.iter().map(String::capacity).sum::<usize>()
    }

    /// The buffer an event belongs to (its add, pop, fill, detach or reap), if any.
    pub fn buffer_of(&self, e: EventRef) -> Option<u32> {
        let r = &self.refs[e.side as usize];
        let i = r.partition_point(|x| x.0 < e.index);
        r.get(i).filter(|x| x.0 == e.index).map(|x| x.1)
    }

    /// The joined steps of a buffer's stages, in stage order, for the stages it reached.
    pub fn path(&self, capture: &Capture, b: u32) -> Vec<(Stage, u64)> {
        let Some(buf) = self.buffers.get(b as usize) else {
            return Vec::new();
        };
        let dev = self.device_side_of(buf.queue);
        Stage::ALL
            .iter()
            .filter_map(|&s| {
                let idx = buf.at(s);
                (idx != NONE).then(|| {
                    let side = if s.on_driver() { Side::Driver } else { dev };
                    (
                        s,
                        self.merge
                            .step_of(capture, &self.clock, EventRef { side, index: idx }),
                    )
                })
            })
            .collect()
    }

    /// Which input a queue's device events are in.
    pub fn device_side_of(&self, queue: u16) -> Side {
        match self.queues.get(usize::from(queue)).map(|q| &q.device) {
            Some(DeviceSide::Dpdk { .. }) => Side::Dpdk,
            _ => Side::Device,
        }
    }

    /// The host time of an event, µs (the driver's mapped through the clock; `None` when the
    /// line had no time).
    pub fn time(&self, capture: &Capture, e: EventRef) -> Option<u64> {
        let t = match e.side {
            Side::Device => capture.store.events().get(e.index as usize)?.time_us,
            Side::Driver => {
                let g = capture
                    .driver
                    .as_ref()?
                    .events()
                    .get(e.index as usize)?
                    .time_us;
                self.clock.to_host(g)
            }
            Side::Dpdk => capture.dpdk.as_ref()?.events.get(e.index as usize)?.time_us,
        };
        (t != NO_TIME).then_some(t)
    }

    /// Finds buffers by token (`0xffff…`) or head/ID: `(buffer, …)` in add order.
    pub fn find(&self, capture: &Capture, key: &BufferKey) -> Vec<u32> {
        let token = match key {
            BufferKey::Token(t) => capture.driver.as_ref().and_then(|d| d.token_id(*t)),
            BufferKey::Id(_) => None,
        };
        self.buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| match key {
                BufferKey::Token(_) => Some(b.token) == token,
                BufferKey::Id(id) => u32::from(b.head) == *id,
            })
            .map(|(i, _)| i as u32)
            .collect()
    }
}

/// How a user names a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BufferKey {
    /// The driver's token (`data` at the add, `token` at the reap).
    Token(u64),
    /// The head (split) or buffer ID (packed).
    Id(u32),
}
