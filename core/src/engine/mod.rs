//! The engine: one virtqueue with its driver, its device, the transport between them, and the
//! guest memory they share. It applies [`Op`]s, one micro step per access, and keeps the
//! findings, notifications and a ledger of every buffer's whereabouts.

mod ledger;
mod outcome;

pub use ledger::{Counters, Ledger, Ring, Transport};
pub use outcome::{EngineError, Outcome};

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::config::EngineConfig;
use crate::features::{Features, Status};
use crate::finding::{Code, Findings};
use crate::layout::{LEGACY_USED_ALIGN, PackedLayout, RingKind, SplitLayout};
use crate::memory::{AccessKind, Agent, Bus, Field, Halt};
use crate::op::Op;
use crate::ring::packed::{PackedDevice, PackedDriver};
use crate::ring::split::{SplitDevice, SplitDriver};
use crate::ring::{Ctx, Notification, NotifyDecision};

/// Runs the same body on either layout: both sides of both layouts have the same methods.
macro_rules! on_ring {
    ($ring:expr, |$l:ident, $drv:ident, $dev:ident| $body:expr) => {
        match $ring {
            Ring::Split {
                layout: $l,
                driver: $drv,
                device: $dev,
            } => $body,
            Ring::Packed {
                layout: $l,
                driver: $drv,
                device: $dev,
            } => $body,
        }
    };
}

/// One ring op on one layout: the body [`Engine::apply`] and [`Engine::run`] share. A macro,
/// not a function, because the two layouts' sides are different types with the same methods
/// (as in [`on_ring`]), and because `?` must leave the caller.
macro_rules! ring_step {
    ($op:expr, $cx:ident, $l:ident, $drv:ident, $dev:ident, $ledger:ident, $counters:ident, $step0:ident) => {
        match $op {
            Op::Add { buffer, count } => {
                let first = $ledger.added_unpublished.len();
                for _ in 0..*count {
                    match $drv.add(&mut $cx, $l, buffer)? {
                        Some(id) => {
                            // The driver's own books now list the id twice: it was still
                            // outstanding (added and not yet reclaimed) when reused.
                            if $drv.order.iter().filter(|&&o| o == id).nth(1).is_some() {
                                let inflight = $dev.inflight.iter().map(|c| c.id);
                                let at = $ledger.whereabouts(id, inflight);
                                reused(&mut $cx, $l.kind(), id, at.unwrap_or("not yet reclaimed"));
                            }
                            $ledger.added_unpublished.push(id)
                        }
                        None => break,
                    }
                }
                Outcome::Added(($ledger.added_unpublished.len() - first) as u16)
            }
            Op::Publish => {
                $drv.publish(&mut $cx, $l)?;
                let n = $ledger.added_unpublished.len();
                $ledger.made_available += n as u64;
                push_all(&mut $ledger.available, &$ledger.added_unpublished);
                $ledger.added_unpublished.clear();
                $counters.last_publish = Some($step0);
                Outcome::Published(n)
            }
            Op::Kick => {
                let d = $drv.kick(&mut $cx, $l)?;
                if let Some(n) = $cx.notifications.last().filter(|_| d.sent) {
                    $dev.notified(&$cx, n.value);
                }
                count_decision($counters, &mut $cx, Agent::Driver, d, $step0);
                Outcome::Kicked(d)
            }
            Op::DisableInterrupts => {
                $drv.disable_cb(&mut $cx, $l)?;
                Outcome::InterruptsOff
            }
            Op::EnableInterrupts => {
                let more = $drv.enable_cb(&mut $cx, $l)?;
                if more {
                    $counters.driver_recheck = Some($step0);
                }
                Outcome::InterruptsOn(more)
            }
            Op::Reclaim { max } => {
                let before = $drv.order.len();
                let n = $drv.reclaim(&mut $cx, $l, max.unwrap_or(u16::MAX))?;
                $ledger.reclaimed += (before - $drv.order.len()) as u64;
                // Used entries consumed, good or bad: a bad id still uses up its entry.
                drain(&mut $ledger.used, n.into());
                Outcome::Reclaimed(n)
            }
            Op::Pop { max } => {
                let n = $dev.pop(&mut $cx, $l, max.unwrap_or(u16::MAX))?;
                $ledger.popped += u64::from(n);
                drain(&mut $ledger.available, n.into());
                Outcome::Popped(n)
            }
            Op::Complete {
                count,
                pick,
                written,
            } => {
                let done = &mut $ledger.completed_unpublished;
                let n = $dev.complete(&mut $cx, $l, *count, *pick, *written, done)?;
                $ledger.completed += u64::from(n);
                // A batch already visible before the device's publish: ground truth, seen in
                // the bytes (no driver reads mid-op; one polling then would see part of it).
                if n > 1
                    && let Some(msg) = $dev.exposed_early(&mut $cx, $l)
                {
                    $cx.ground_truth(Code::PartialPublication, Agent::Device, msg);
                }
                Outcome::Completed(n)
            }
            Op::PublishUsed => {
                $dev.publish(&mut $cx, $l)?;
                let n = $ledger.completed_unpublished.len();
                push_all(&mut $ledger.used, &$ledger.completed_unpublished);
                $ledger.completed_unpublished.clear();
                $counters.last_used_publish = Some($step0);
                Outcome::PublishedUsed(n)
            }
            Op::Interrupt => {
                let d = $dev.interrupt(&mut $cx, $l)?;
                count_decision($counters, &mut $cx, Agent::Device, d, $step0);
                Outcome::Interrupted(d)
            }
            Op::DisableNotifications => {
                $dev.disable_notify(&mut $cx, $l)?;
                Outcome::NotificationsOff
            }
            Op::EnableNotifications => {
                let more = $dev.enable_notify(&mut $cx, $l)?;
                if more {
                    $counters.device_recheck = Some($step0);
                }
                Outcome::NotificationsOn(more)
            }
            other => Outcome::Said(format!("{} is not a ring operation", other.name())),
        }
    };
}

/// One virtqueue, its two sides and their shared memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Engine {
    /// The configuration it was built from.
    pub config: EngineConfig,
    /// Memory and access log.
    #[serde(skip)]
    pub bus: Bus,
    /// Status and features.
    pub transport: Transport,
    /// The ring, once set up.
    pub ring: Option<Ring>,
    /// Findings so far.
    pub findings: Findings,
    /// Notifications so far.
    pub notifications: Vec<Notification>,
    /// Buffer whereabouts.
    pub ledger: Ledger,
    /// Counters.
    pub counters: Counters,
}

impl Engine {
    /// An engine in the reset state. Checks the layout now so that bad input fails early.
    pub fn new(config: EngineConfig) -> Result<Self, EngineError> {
        let q = &config.queue;
        SplitLayout::contiguous_aligned(q.size, q.base, q.used_align)
            .map(|_| ())
            .or_else(|e| match q.layout {
                RingKind::Packed => PackedLayout::contiguous(q.size, q.base).map(|_| ()),
                RingKind::Split => Err(e),
            })?;
        Ok(Engine {
            config,
            bus: Bus::new(),
            transport: Transport::default(),
            ring: None,
            findings: Findings::default(),
            notifications: Vec::new(),
            ledger: Ledger::default(),
            counters: Counters::default(),
        })
    }

    /// Negotiated features (none before negotiation).
    pub fn features(&self) -> Features {
        self.transport.negotiated.unwrap_or(Features::NONE)
    }

    fn note(&mut self, code: Code, agent: Agent, msg: String) {
        let step = self.bus.steps();
        self.findings.push(code, step, Some(agent), msg);
    }

    fn reg(
        &mut self,
        agent: Agent,
        kind: AccessKind,
        field: Field,
        value: u64,
        old: u64,
    ) -> Result<(), Halt> {
        self.bus.register(agent, kind, field, value, old)
    }

    /// Applies one op. `Err(Halt)` means the micro-step budget ran out part way: the state is
    /// exactly "after the accesses made so far". Inlined into every caller: as a call, each op
    /// paid a frame and a trip of its outcome through memory (a third more time at one buffer
    /// per op). Several ops in a row are cheaper through [`run`](Self::run).
    #[inline(always)]
    pub fn apply(&mut self, op: &Op) -> Result<Outcome, Halt> {
        if op.is_control() {
            return self.control_op(op);
        }
        let Some(RingParts {
            ring,
            mut cx,
            ledger,
            counters,
            early,
        }) = self.ring_parts()
        else {
            return Ok(self.no_queue(op));
        };
        if early {
            before_driver_ok(cx.findings, cx.bus.steps(), op);
        }
        let step0 = cx.bus.steps();
        Ok(on_ring!(ring, |l, drv, dev| ring_step!(
            op, cx, l, drv, dev, ledger, counters, step0
        )))
    }

    /// Applies `ops` in order, handing `sink` each op's index and outcome, and stops at the
    /// first [`Halt`]. The same as [`apply`](Self::apply) on each op in turn, but a stretch of
    /// ring ops shares one set-up (the context, the layout's dispatch, the DRIVER_OK state,
    /// which ring ops cannot change): at one buffer per round of six ops that set-up was about
    /// a tenth of the instructions. A caller that replays without reading outcomes (a seek)
    /// passes `|_, _| {}`.
    #[inline(always)]
    pub fn run(&mut self, ops: &[Op], mut sink: impl FnMut(usize, Outcome)) -> Result<(), Halt> {
        let mut i = 0;
        while let Some(op) = ops.get(i) {
            if op.is_control() {
                sink(i, self.control_op(op)?);
                i += 1;
                continue;
            }
            let Some(RingParts {
                ring,
                mut cx,
                ledger,
                counters,
                early,
            }) = self.ring_parts()
            else {
                sink(i, self.no_queue(op));
                i += 1;
                continue;
            };
            i = on_ring!(ring, |l, drv, dev| {
                while let Some(op) = ops.get(i).filter(|op| !op.is_control()) {
                    if early {
                        before_driver_ok(cx.findings, cx.bus.steps(), op);
                    }
                    let step0 = cx.bus.steps();
                    let out = ring_step!(op, cx, l, drv, dev, ledger, counters, step0);
                    sink(i, out);
                    i += 1;
                }
                i
            });
        }
        Ok(())
    }

    /// The ring and what a ring op works on beside it, borrowed apart; `None` before the queue
    /// is set up. The set-up [`apply`](Self::apply) does per op and [`run`](Self::run) per
    /// stretch of ring ops.
    #[inline(always)]
    fn ring_parts(&mut self) -> Option<RingParts<'_>> {
        Some(RingParts {
            ring: self.ring.as_mut()?,
            cx: Ctx {
                bus: &mut self.bus,
                findings: &mut self.findings,
                features: self.transport.negotiated.unwrap_or(Features::NONE),
                config: &self.config,
                notifications: &mut self.notifications,
            },
            ledger: &mut self.ledger,
            counters: &mut self.counters,
            early: !self.transport.status.has(Status::DRIVER_OK) && !self.transport.legacy,
        })
    }

    /// A ring op before the queue exists: a finding, and nothing else happens.
    #[cold]
    fn no_queue(&mut self, op: &Op) -> Outcome {
        let msg = format!(
            "{} before the queue was set up (status {})",
            op.name(),
            self.transport.status
        );
        self.note(Code::BeforeDriverOk, op.agent(), msg);
        Outcome::NoQueue(op.name())
    }

    /// Transport and fault-switch ops: rare, kept out of the ring ops' way.
    #[cold]
    #[inline(never)]
    fn control_op(&mut self, op: &Op) -> Result<Outcome, Halt> {
        Ok(match op {
            Op::Negotiate => Outcome::Said(self.negotiate()?),
            Op::SetStatus(v) => Outcome::Said(self.set_status(*v)?),
            Op::WriteFeatures(f) => Outcome::Said(self.write_features(*f)?),
            Op::Reset => {
                self.write_status_reg(0)?;
                self.reset_state();
                Outcome::Said("reset: status 0, queue state cleared".into())
            }
            Op::NeedsReset => {
                let old = self.transport.status.0;
                let new = old | Status::NEEDS_RESET;
                self.reg(
                    Agent::Device,
                    AccessKind::Store,
                    Field::Status,
                    new.into(),
                    old.into(),
                )?;
                self.transport.status = Status(new);
                self.note(
                    Code::Reset,
                    Agent::Device,
                    "device set DEVICE_NEEDS_RESET".into(),
                );
                Outcome::Said("device sets DEVICE_NEEDS_RESET".into())
            }
            Op::DriverFault { fault, on } => {
                let f = &mut self.config.driver.faults;
                f.retain(|x| x != fault);
                if *on {
                    f.push(*fault);
                }
                Outcome::Said(format!(
                    "driver fault {fault:?} {}",
                    if *on { "on" } else { "off" }
                ))
            }
            Op::DeviceFault { fault, on } => {
                let f = &mut self.config.device.faults;
                f.retain(|x| x != fault);
                if *on {
                    f.push(*fault);
                }
                Outcome::Said(format!(
                    "device fault {fault:?} {}",
                    if *on { "on" } else { "off" }
                ))
            }
            Op::Repeat { .. } => Outcome::Said("repeat (flattened by the session)".into()),
            other => Outcome::Said(format!("{} is not a transport operation", other.name())),
        })
    }

    fn write_status_reg(&mut self, new: u8) -> Result<(), Halt> {
        let old = self.transport.status.0;
        self.reg(
            Agent::Driver,
            AccessKind::Store,
            Field::Status,
            new.into(),
            old.into(),
        )?;
        self.transport.status = Status(new);
        self.transport.walk.push(new);
        Ok(())
    }

    fn reset_state(&mut self) {
        self.transport.status = Status(0);
        self.transport.negotiated = None;
        self.transport.driver_features = Features::NONE;
        self.transport.legacy = false;
        if let Some(r) = self.ring.take() {
            for (_, start, len) in r.layout().areas() {
                self.bus.mem.fill(start, len, 0);
            }
        }
        self.ledger = Ledger::default();
    }

    /// A raw status write by the driver, checked against §2.1 and §3.1.
    fn set_status(&mut self, v: u8) -> Result<String, Halt> {
        let old = self.transport.status;
        self.write_status_reg(v)?;
        if v == 0 {
            self.reset_state();
            return Ok("driver writes status 0: reset".into());
        }
        if old.0 & !v != 0 {
            let msg = format!("driver cleared status bits: {} -> {}", old, Status(v));
            self.note(Code::StatusCleared, Agent::Driver, msg);
        }
        let set = v & !old.0;
        let s = Status(v);
        let order_ok = |bit: u8, needs: u8| set & bit == 0 || s.has(needs);
        let mut bad = Vec::new();
        if !order_ok(Status::DRIVER, Status::ACKNOWLEDGE) {
            bad.push("DRIVER before ACKNOWLEDGE");
        }
        if !order_ok(Status::FEATURES_OK, Status::DRIVER) {
            bad.push("FEATURES_OK before DRIVER");
        }
        if !self.transport.legacy && !order_ok(Status::DRIVER_OK, Status::FEATURES_OK) {
            bad.push("DRIVER_OK before FEATURES_OK");
        }
        if old.has(Status::FAILED) && set != 0 {
            bad.push("status set after FAILED without a reset");
        }
        for b in bad {
            self.note(
                Code::StatusOrder,
                Agent::Driver,
                format!("{b} (status {})", Status(v)),
            );
        }
        if set & Status::FEATURES_OK != 0 {
            self.features_ok_check()?;
        }
        if set & Status::DRIVER_OK != 0 && self.ring.is_none() {
            self.setup_queue()?;
        }
        Ok(format!("driver writes status {}", self.transport.status))
    }

    fn write_features(&mut self, f: Features) -> Result<String, Halt> {
        if self.transport.status.has(Status::FEATURES_OK) {
            let msg = format!("driver wrote feature bits {f} after FEATURES_OK");
            self.note(Code::FeaturesAfterOk, Agent::Driver, msg);
        }
        for sel in 0..2u8 {
            let old = self.transport.driver_features.word(sel);
            self.reg(
                Agent::Driver,
                AccessKind::Store,
                Field::DriverFeatures { select: sel },
                f.word(sel).into(),
                old.into(),
            )?;
        }
        let not_offered = f.minus(self.config.device_features);
        if not_offered != Features::NONE {
            let msg = format!("driver accepted {not_offered}, which the device did not offer");
            self.note(Code::FeatureNotOffered, Agent::Driver, msg);
        }
        self.transport.driver_features = f;
        Ok(format!("driver writes features {f}"))
    }

    /// The device's answer to FEATURES_OK: keep it, or clear it to refuse the subset.
    fn features_ok_check(&mut self) -> Result<(), Halt> {
        let accepted = self.transport.driver_features;
        let offered = self.config.device_features;
        let refuse_combo = self
            .config
            .device_refuses
            .is_some_and(|r| r != Features::NONE && accepted.contains(r));
        let not_offered = accepted.minus(offered) != Features::NONE;
        // The driver reads the status back.
        let cur = self.transport.status.0;
        if refuse_combo || not_offered {
            let new = cur & !Status::FEATURES_OK;
            self.reg(
                Agent::Device,
                AccessKind::Store,
                Field::Status,
                new.into(),
                cur.into(),
            )?;
            self.transport.status = Status(new);
            self.reg(
                Agent::Driver,
                AccessKind::Load,
                Field::Status,
                new.into(),
                new.into(),
            )?;
            let msg = format!("device refused features {accepted}: FEATURES_OK not set on re-read");
            self.note(Code::FeaturesRefused, Agent::Device, msg);
        } else {
            self.reg(
                Agent::Driver,
                AccessKind::Load,
                Field::Status,
                cur.into(),
                cur.into(),
            )?;
            self.transport.negotiated = Some(accepted);
        }
        Ok(())
    }

    fn setup_queue(&mut self) -> Result<(), Halt> {
        let negotiated = match self.transport.negotiated {
            Some(n) => n,
            None if self.transport.legacy => {
                let n = self
                    .transport
                    .driver_features
                    .and(self.config.device_features);
                self.transport.negotiated = Some(n);
                n
            }
            None => {
                self.note(
                    Code::StatusOrder,
                    Agent::Driver,
                    "DRIVER_OK without negotiated features".into(),
                );
                return Ok(());
            }
        };
        let q = self.config.queue.clone();
        let mut kind = q.layout;
        if kind == RingKind::Packed && !negotiated.contains(Features::RING_PACKED) {
            let msg = "a packed ring was asked for but VIRTIO_F_RING_PACKED was not negotiated: using a split ring".to_string();
            self.note(Code::PackedNotNegotiated, Agent::Driver, msg);
            kind = RingKind::Split;
        }
        self.reg(
            Agent::Driver,
            AccessKind::Store,
            Field::QueueConfig,
            q.size.into(),
            0,
        )?;
        let ring = match kind {
            RingKind::Split => {
                let layout = if self.transport.legacy {
                    SplitLayout::legacy(q.size, q.base, LEGACY_USED_ALIGN)
                } else {
                    SplitLayout::contiguous_aligned(q.size, q.base, q.used_align)
                };
                match layout {
                    Ok(layout) => Ring::Split {
                        layout,
                        driver: SplitDriver::new(layout.size),
                        device: SplitDevice::default(),
                    },
                    Err(e) => {
                        self.note(
                            Code::StatusOrder,
                            Agent::Driver,
                            format!("queue setup failed: {e}"),
                        );
                        return Ok(());
                    }
                }
            }
            RingKind::Packed => match PackedLayout::contiguous(q.size, q.base) {
                Ok(layout) => Ring::Packed {
                    layout,
                    driver: PackedDriver::new(layout.size),
                    device: PackedDevice::default(),
                },
                Err(e) => {
                    self.note(
                        Code::StatusOrder,
                        Agent::Driver,
                        format!("queue setup failed: {e}"),
                    );
                    return Ok(());
                }
            },
        };
        let areas = ring.layout().areas();
        let start = areas.iter().map(|a| a.1).min().unwrap_or(0);
        let end = areas.iter().map(|a| a.1 + a.2).max().unwrap_or(0);
        self.bus.mem.pin(start, end - start);
        for (_, start, len) in areas {
            self.bus.mem.fill(start, len, 0);
        }
        self.ring = Some(ring);
        Ok(())
    }

    /// The §3.1.1 walk, each register access a micro step.
    fn negotiate(&mut self) -> Result<String, Halt> {
        self.write_status_reg(0)?;
        self.reset_state();
        self.write_status_reg(Status::ACKNOWLEDGE)?;
        self.write_status_reg(Status::ACKNOWLEDGE | Status::DRIVER)?;
        let offered = self.config.device_features;
        for sel in 0..2u8 {
            let w = offered.word(sel);
            self.reg(
                Agent::Driver,
                AccessKind::Load,
                Field::DeviceFeatures { select: sel },
                w.into(),
                w.into(),
            )?;
        }
        let wants = self.config.driver_features;
        let device_modern = offered.contains(Features::VERSION_1);
        let driver_modern = wants.contains(Features::VERSION_1);
        let legacy = match (driver_modern, device_modern) {
            (true, true) => false,
            (true, false) if self.config.driver_legacy_fallback => true,
            (true, false) => {
                self.write_status_reg(Status::ACKNOWLEDGE | Status::DRIVER | Status::FAILED)?;
                let msg = "device does not offer VIRTIO_F_VERSION_1 and this driver has no legacy interface: FAILED".to_string();
                self.note(Code::FeaturesRefused, Agent::Driver, msg);
                return Ok("negotiation failed: modern-only driver, legacy device".into());
            }
            (false, _) if !device_modern || self.config.device_transitional => true,
            (false, _) => {
                self.write_status_reg(Status::ACKNOWLEDGE | Status::DRIVER | Status::FAILED)?;
                let msg =
                    "legacy driver and a non-transitional (modern-only) device: FAILED".to_string();
                self.note(Code::FeaturesRefused, Agent::Driver, msg);
                return Ok("negotiation failed: legacy driver, modern-only device".into());
            }
        };
        // Legacy interface: only the low 32 feature bits exist.
        let accepted = if legacy {
            Features(wants.and(offered).0 & 0xffff_ffff)
        } else {
            wants.and(offered)
        };
        self.transport.legacy = legacy;
        let words = if legacy { 1 } else { 2 };
        for sel in 0..words {
            let w = accepted.word(sel);
            self.reg(
                Agent::Driver,
                AccessKind::Store,
                Field::DriverFeatures { select: sel },
                w.into(),
                0,
            )?;
        }
        self.transport.driver_features = accepted;
        if legacy {
            self.transport.negotiated = Some(accepted);
        } else {
            self.write_status_reg(Status::ACKNOWLEDGE | Status::DRIVER | Status::FEATURES_OK)?;
            self.features_ok_check()?;
            if !self.transport.status.has(Status::FEATURES_OK) {
                self.write_status_reg(self.transport.status.0 | Status::FAILED)?;
                return Ok(format!("negotiation failed: device refused {accepted}"));
            }
        }
        self.setup_queue()?;
        let s = self.transport.status.0 | Status::DRIVER_OK;
        self.write_status_reg(s)?;
        Ok(format!(
            "negotiated {} ({}): {}",
            self.features(),
            if legacy {
                "legacy 0.9 interface"
            } else {
                "virtio 1.x"
            },
            self.transport.status
        ))
    }

    /// End-of-run audit: buffers that are nowhere (lost), and work left with nobody to wake.
    /// Both are ringside's ground truth: the audit sees both sides and the whole run.
    /// Work is stranded only if it was published after the waiting side's last notification
    /// *and* after its last re-check that found work: a side that re-enables notifications
    /// and re-reads the ring (Linux's `virtqueue_enable_cb`, QEMU's
    /// `virtio_queue_set_notification` and re-read) cannot miss what was there before.
    pub fn audit(&mut self) {
        let step = self.bus.steps();
        let (outstanding, inflight): (Vec<u16>, Vec<u16>) = match &self.ring {
            Some(Ring::Split { driver, device, .. }) => (
                driver.order.iter().copied().collect(),
                device.inflight.iter().map(|c| c.id).collect(),
            ),
            Some(Ring::Packed { driver, device, .. }) => (
                driver.order.iter().copied().collect(),
                device.inflight.iter().map(|c| c.id).collect(),
            ),
            None => return,
        };
        let l = &self.ledger;
        for id in outstanding {
            if l.whereabouts(id, inflight.iter().copied()).is_none() {
                self.findings.ground_truth(
                    Code::LostBuffer,
                    step,
                    None,
                    format!("buffer {id} was made available and never came back: the device no longer holds it and the used ring does not name it"),
                );
            }
        }
        // A side is woken by a notification or knows by itself: its re-check after re-enabling
        // notifications found the work waiting. Only work published after both is stranded.
        let c = self.counters;
        let l = &self.ledger;
        if !l.available.is_empty()
            && inflight.is_empty()
            && c.last_kick.max(c.device_recheck) < c.last_publish
        {
            let msg = format!(
                "stall: {} buffer(s) available since step {}, no kick since and the device did not re-check the ring; it is waiting for a notification that will not come",
                l.available.len(),
                c.last_publish.unwrap_or(0)
            );
            self.findings
                .ground_truth(Code::Stall, step, Some(Agent::Driver), msg);
        }
        if !l.used.is_empty() && c.last_interrupt.max(c.driver_recheck) < c.last_used_publish {
            let msg = format!(
                "stall: {} used buffer(s) published at step {}, no interrupt since and the driver did not re-check the ring; it is waiting for an interrupt that will not come",
                l.used.len(),
                c.last_used_publish.unwrap_or(0)
            );
            self.findings
                .ground_truth(Code::Stall, step, Some(Agent::Device), msg);
        }
    }
}

/// Counts a kick or interrupt decision made at `step0`, and notes a needed notification that
/// was not sent.
/// What [`Engine::ring_parts`] lends a ring op.
struct RingParts<'a> {
    ring: &'a mut Ring,
    cx: Ctx<'a>,
    ledger: &'a mut Ledger,
    counters: &'a mut Counters,
    /// A modern queue before DRIVER_OK: kicks and device ops are findings.
    early: bool,
}

/// The finding when the driver adds a buffer under an id (split: head) that is still
/// outstanding in its own books: it writes over descriptors, or reuses an ID, that a buffer in
/// flight still names. Only ringside sees the driver's books and the ledger together, so it is
/// ground truth; what a real peer sees is the consequence (the second completion of the id is
/// "not a head" to Linux's driver).
#[cold]
#[inline(never)]
fn reused(cx: &mut Ctx<'_>, kind: RingKind, id: u16, at: &str) {
    let (code, msg) = match kind {
        RingKind::Split => (
            Code::OwnershipViolation,
            format!(
                "driver wrote a new chain over desc[{id}], whose chain is still outstanding ({at})"
            ),
        ),
        RingKind::Packed => (
            Code::IdReused,
            format!("driver made buffer ID {id} available while it is still outstanding ({at})"),
        ),
    };
    cx.ground_truth(code, Agent::Driver, msg);
}

/// The finding for a kick or a device op on a modern queue before DRIVER_OK (§3.1.1: the
/// device must not use the queue, nor the driver notify it, before then).
#[cold]
fn before_driver_ok(findings: &mut Findings, step: u64, op: &Op) {
    let agent = op.agent();
    let what = match agent {
        Agent::Driver if matches!(op, Op::Kick) => "driver notified the device before DRIVER_OK",
        Agent::Device => "device used the queue before DRIVER_OK",
        Agent::Driver => return,
    };
    findings.push(Code::BeforeDriverOk, step, Some(agent), what.into());
}

fn count_decision(c: &mut Counters, cx: &mut Ctx<'_>, agent: Agent, d: NotifyDecision, step0: u64) {
    match (agent, d.needed) {
        (Agent::Driver, true) => c.kicks_needed += 1,
        (Agent::Driver, false) => c.kicks_suppressed += 1,
        (Agent::Device, true) => c.interrupts_needed += 1,
        (Agent::Device, false) => c.interrupts_suppressed += 1,
    }
    if d.sent {
        match agent {
            Agent::Driver => c.last_kick = Some(step0),
            Agent::Device => c.last_interrupt = Some(step0),
        }
    }
    if d.needed && !d.sent {
        let what = match agent {
            Agent::Driver => "the device's event index asked for a kick and the driver sent none",
            Agent::Device => {
                "the driver's event index asked for an interrupt and the device sent none"
            }
        };
        // The other side cannot see a notification that never came: ringside knows it was due.
        cx.ground_truth(Code::MissedNotification, agent, what.into());
    }
}

/// Appends `from` to `q`, one by one for the same reason as [`ids`].
#[inline]
fn push_all(q: &mut VecDeque<u16>, from: &[u16]) {
    for &id in from {
        q.push_back(id);
    }
}

/// Drops the first `n` entries (all of them, in the common case, without a `Drain`).
fn drain(q: &mut VecDeque<u16>, n: usize) {
    if n >= q.len() {
        q.clear();
    } else {
        q.drain(..n);
    }
}
