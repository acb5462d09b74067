//! The detectors that need both sides: each finding names the buffer, both sides' events (the
//! guest trace's line and QEMU's, or DPDK's) and the step of the joined timeline.
//!
//! - `kick-unseen`: the driver wrote the doorbell (`vp_notify`) and QEMU logged no
//!   `virtio_queue_notify` of that queue within [`JoinOptions::kick_ms`]. One device kick
//!   answers every doorbell write before it (an ioeventfd counts them), so only a kick left
//!   without any later one is reported.
//! - `interrupt-unhandled`: QEMU sent a used-buffer notification and the driver entered no
//!   `vring_interrupt` for that queue within [`JoinOptions::irq_ms`].
//! - `used-behind`: the driver reaped a buffer more than [`JoinOptions::behind_ms`] after the
//!   device published it; said with whether the device interrupted meanwhile and whether the
//!   driver had asked for no interrupt.
//! - `completed-unreaped`: the device completed a buffer and the driver never reaped it
//!   (or took it back unused at device removal).
//! - `added-unpopped`: buffers the driver made available waited more than
//!   [`JoinOptions::pop_ms`] (or for ever) for the device, on queues the driver fills (not net
//!   receive queues, whose buffers wait for packets by design).
//! - `kick-suppressed`: no doorbell covered such buffers, because every `kick_prepare`
//!   returned 0: the used ring's NO_NOTIFY flag, an event-idx window the new avail index did
//!   not cross, or the packed device area's DISABLE explains the missing kick.
//! - `buffer-held`: the device popped a buffer and completed it more than
//!   [`JoinOptions::held_ms`] later, or never; with the VM stops and QMP events in between.
//!
//! No detector judges what happens after one side's trace ends: a buffer the driver added
//! 10 ms before its trace stops was not "never popped".

use serde::Serialize;

use super::buffers::{Buffer, Ctx, NONE, TAKEN_BACK};
use super::pair::{DeviceSide, JoinedQueue};
use super::{EventRef, Join, JoinOptions, Side};
use crate::finding::{Code, FileSpot, Finding, Severity, fmt_time};
use crate::trace::event::{EventKind, NO_TIME};
use crate::trace::import::Capture;
use crate::trace::import::driver::{DriverKind, DriverTrace};
use crate::trace::import::qmp::QmpBody;

/// A driver doorbell write and the device kick that answered it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct KickMatch {
    /// Joined queue.
    pub queue: u16,
    /// The driver's `notify_*` event.
    pub driver: u32,
    /// QEMU's `virtio_queue_notify`, [`NONE`] when none came within the threshold.
    pub device: u32,
    /// QEMU's next kick of the queue at any distance ([`NONE`] when none).
    pub next: u32,
}

/// A device interrupt and the driver's handler that answered it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IrqMatch {
    /// Joined queue.
    pub queue: u16,
    /// QEMU's `virtio_notify[_irqfd]`.
    pub device: u32,
    /// The driver's `interrupt_*`, [`NONE`] when none came within the threshold.
    pub driver: u32,
    /// The driver's next `interrupt_*` on the queue at any distance.
    pub next: u32,
}

/// Notifications matched across the sides (QEMU-served queues; DPDK logs neither).
#[derive(Debug, Clone, Default)]
pub struct Matched {
    /// Every driver doorbell write judged.
    pub kicks: Vec<KickMatch>,
    /// Every device interrupt judged.
    pub irqs: Vec<IrqMatch>,
}

/// The first index of `times` (ascending) at or after `t`.
fn first_at(times: &[(u32, u64)], t: u64) -> Option<(u32, u64)> {
    let k = times.partition_point(|x| x.1 < t);
    times.get(k).copied()
}

/// Matches kicks and interrupts on every QEMU-served queue.
///
/// A doorbell write is answered by the device's last kick before the pop of the first buffer
/// it covered (the device pops in response to the kick), found in the device's order,
/// not by the clocks alone: two round trips of virtio-net's control queue are closer together
/// than the clocks' spread. A doorbell write that covered no new buffer is answered by the
/// device's first kick at or after it. An interrupt is answered by the driver's first
/// `vring_interrupt` at or after it that is later than the one answering the previous
/// interrupt, or, when the interrupt signalled buffers, by the handler that saw them (the last
/// `vring_interrupt` before their detach).
pub(crate) fn notifications(
    ctx: &Ctx<'_>,
    queues: &[JoinedQueue],
    buffers: &[Buffer],
    opts: &JoinOptions,
) -> Matched {
    let mut m = Matched::default();
    let events = ctx.store.events();
    let spread = ctx.clock.spread_over(0, u64::MAX);
    let (drv_first, drv_last) = driver_span(ctx);
    let dev_last = events
        .iter()
        .rev()
        .find(|e| e.time_us != NO_TIME)
        .map_or(0, |e| e.time_us);
    for (qi, jq) in queues.iter().enumerate() {
        let DeviceSide::Qemu { vq, .. } = jq.device else {
            continue;
        };
        let mut dev_kicks: Vec<(u32, u64)> = Vec::new();
        let mut dev_irqs: Vec<(u32, u64)> = Vec::new();
        for (i, e) in events.iter().enumerate() {
            match e.kind {
                EventKind::QueueNotify { vq: v, .. } if v == vq && e.time_us != NO_TIME => {
                    dev_kicks.push((i as u32, e.time_us))
                }
                EventKind::Notify { vq: v, .. } if v == vq && e.time_us != NO_TIME => {
                    dev_irqs.push((i as u32, e.time_us))
                }
                _ => {}
            }
        }
        let mut drv_kicks: Vec<(u32, u64)> = Vec::new();
        let mut drv_irqs: Vec<(u32, u64)> = Vec::new();
        for &j in ctx
            .per_queue
            .get(usize::from(jq.driver))
            .into_iter()
            .flatten()
        {
            let Some(e) = ctx.driver.events().get(j as usize) else {
                continue;
            };
            match e.kind {
                DriverKind::Notify => drv_kicks.push((j, ctx.clock.to_host(e.time_us))),
                DriverKind::Interrupt => drv_irqs.push((j, ctx.clock.to_host(e.time_us))),
                _ => {}
            }
        }
        // The first pop of the buffers each doorbell write covered.
        let mut covered: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
        for b in buffers.iter().filter(|b| usize::from(b.queue) == qi) {
            if b.kick != NONE && b.pop != NONE {
                let e = covered.entry(b.kick).or_insert(b.pop);
                *e = (*e).min(b.pop);
            }
        }
        let mut floor = 0u32;
        for &(j, t) in &drv_kicks {
            // Judged only while the device's trace runs on past the threshold (of the VM's
            // running time: nothing runs while it is stopped).
            let deadline = ctx.clock.after_running(t, opts.kick_ms * 1000);
            if deadline > dev_last {
                continue;
            }
            let from = t.saturating_sub(spread);
            let next = first_at(&dev_kicks, from);
            let device = match covered.get(&j) {
                // The device's last kick before the pop it caused, if at or after the
                // doorbell (within the spread).
                Some(&pop) => dev_kicks
                    .iter()
                    .rev()
                    .find(|k| k.0 < pop)
                    .filter(|k| k.1 >= from)
                    .map_or(NONE, |k| k.0),
                None => next
                    .filter(|n| n.0 >= floor && n.1 <= deadline)
                    .map_or(NONE, |n| n.0),
            };
            if device != NONE {
                floor = device;
            }
            // A covered buffer popped in time was seen, kick logged or not (the device was
            // already busy with the queue).
            let popped_in_time = covered
                .get(&j)
                .is_some_and(|&pop| ctx.device_time(false, pop) <= deadline);
            if device == NONE && popped_in_time {
                continue;
            }
            m.kicks.push(KickMatch {
                queue: qi as u16,
                driver: j,
                device,
                next: next.map_or(NONE, |n| n.0),
            });
        }
        // The driver's own interrupt suppression over time: (host time, asked for none).
        let asked: Vec<(u64, bool)> = ctx
            .per_queue
            .get(usize::from(jq.driver))
            .into_iter()
            .flatten()
            .filter_map(|&j| {
                let e = ctx.driver.events().get(j as usize)?;
                let s = e.shadow()?;
                let off = if s.packed {
                    s.irq_flags == 1
                } else {
                    s.irq_flags & 1 != 0
                };
                Some((ctx.clock.to_host(e.time_us), off))
            })
            .collect();
        // The handler that saw the buffers each interrupt signalled.
        let mut seen_by: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
        for b in buffers.iter().filter(|b| usize::from(b.queue) == qi) {
            if b.dev_irq != NONE && b.irq != NONE {
                let e = seen_by.entry(b.dev_irq).or_insert(b.irq);
                *e = (*e).min(b.irq);
            }
        }
        let mut floor = 0u32;
        for &(i, t) in &dev_irqs {
            // Judged only inside the driver's trace, and only where the driver wanted
            // interrupts (a queue without a callback, or one the driver polls, has
            // VRING_AVAIL_F_NO_INTERRUPT set: its device may notify, and nobody listens).
            let deadline = ctx.clock.after_running(t, opts.irq_ms * 1000);
            if t < drv_first || deadline > drv_last {
                continue;
            }
            let k = asked.partition_point(|a| a.0 <= t);
            if k.checked_sub(1)
                .and_then(|k| asked.get(k))
                .is_some_and(|a| a.1)
            {
                continue;
            }
            let from = t.saturating_sub(spread);
            let next = drv_irqs
                .iter()
                .find(|d| d.0 > floor && d.1 >= from)
                .copied();
            let driver = match seen_by.get(&i) {
                Some(&j) => drv_irqs
                    .iter()
                    .find(|d| d.0 == j)
                    .filter(|d| d.1 <= deadline)
                    .map_or(NONE, |d| d.0),
                None => next.filter(|n| n.1 <= deadline).map_or(NONE, |n| n.0),
            };
            if driver != NONE {
                floor = driver;
            }
            m.irqs.push(IrqMatch {
                queue: qi as u16,
                device: i,
                driver,
                next: next.map_or(NONE, |n| n.0),
            });
        }
    }
    m
}

/// Host times of the driver trace's first and last events.
fn driver_span(ctx: &Ctx<'_>) -> (u64, u64) {
    let ev = ctx.driver.events();
    (
        ev.first().map_or(0, |e| ctx.clock.to_host(e.time_us)),
        ev.last().map_or(0, |e| ctx.clock.to_host(e.time_us)),
    )
}

/// What the detectors read.
struct Scene<'a> {
    join: &'a Join,
    capture: &'a Capture,
    driver: &'a DriverTrace,
    drv_last: u64,
    dev_last: u64,
    dpdk_last: u64,
}

impl Scene<'_> {
    fn t(&self, side: Side, i: u32) -> u64 {
        self.join
            .time(self.capture, EventRef { side, index: i })
            .unwrap_or(0)
    }
    fn step(&self, side: Side, i: u32) -> u64 {
        self.join
            .merge
            .step_of(self.capture, &self.join.clock, EventRef { side, index: i })
    }
    /// Host µs the VM ran between two host times.
    fn running(&self, a: u64, b: u64) -> u64 {
        self.join.clock.running_between(a, b)
    }
    fn dev(&self, b: &Buffer) -> Side {
        self.join.device_side_of(b.queue)
    }
    fn dev_end(&self, b: &Buffer) -> u64 {
        if self.dev(b) == Side::Dpdk {
            self.dpdk_last
        } else {
            self.dev_last
        }
    }
    fn gline(&self, j: u32) -> u32 {
        self.driver.events().get(j as usize).map_or(0, |e| e.line)
    }
    /// `guest-trace.txt:123`.
    fn gspot(&self, j: u32) -> FileSpot {
        FileSpot::line(self.driver.source(), u64::from(self.gline(j)))
    }
    /// A device event's place: `line N` of QEMU's trace, or `dpdk.log:N`.
    fn dspot(&self, side: Side, i: u32) -> String {
        match side {
            Side::Dpdk => {
                let d = self.capture.dpdk.as_ref();
                format!(
                    "{}:{}",
                    d.map_or("dpdk.log", |d| d.source.as_str()),
                    d.and_then(|d| d.events.get(i as usize))
                        .map_or(0, |e| e.line)
                )
            }
            _ => format!(
                "line {}",
                self.capture
                    .store
                    .events()
                    .get(i as usize)
                    .map_or(0, |e| e.line)
            ),
        }
    }
    fn qemu_line(&self, i: u32) -> u64 {
        self.capture
            .store
            .events()
            .get(i as usize)
            .map_or(0, |e| u64::from(e.line))
    }
    /// `buffer 0xffff… (head 5)` / `(ID 5)`.
    fn name(&self, b: &Buffer) -> String {
        let packed = self
            .join
            .queues
            .get(usize::from(b.queue))
            .is_some_and(|q| q.packed);
        format!(
            "buffer {:#x} ({} {})",
            self.driver.token(b.token),
            if packed { "ID" } else { "head" },
            b.head
        )
    }
    fn queue(&self, b: &Buffer) -> &JoinedQueue {
        &self.join.queues[usize::from(b.queue)]
    }
    /// A finding on a buffer's queue, at a joined step.
    fn finding(&self, code: Code, sev: Severity, b: &Buffer, msg: String, step: u64) -> Finding {
        let q = self.queue(b);
        let index = q.name.rsplit_once(".q").and_then(|x| x.1.parse().ok());
        Finding::seen(code, sev, msg)
            .on(q.name.clone(), index)
            .at_step(step)
    }
}

fn ms(us: u64) -> String {
    if us >= 10_000_000 {
        format!("{:.1} s", us as f64 / 1e6)
    } else if us >= 1_000_000 {
        format!("{:.2} s", us as f64 / 1e6)
    } else {
        format!("{:.1} ms", us as f64 / 1e3)
    }
}

/// Runs every detector.
pub(crate) fn run(join: &Join, capture: &Capture, matched: &Matched) -> Vec<Finding> {
    let Some(driver) = capture.driver.as_ref() else {
        return Vec::new();
    };
    let sc = Scene {
        join,
        capture,
        driver,
        drv_last: driver
            .events()
            .last()
            .map_or(0, |e| join.clock.to_host(e.time_us)),
        dev_last: capture
            .store
            .events()
            .iter()
            .rev()
            .find(|e| e.time_us != NO_TIME)
            .map_or(0, |e| e.time_us),
        dpdk_last: capture
            .dpdk
            .as_ref()
            .and_then(|d| d.events.iter().rev().find(|e| e.time_us != NO_TIME))
            .map_or(0, |e| e.time_us),
    };
    let mut out = Vec::new();
    kicks(&sc, matched, &mut out);
    irqs(&sc, matched, &mut out);
    reaps(&sc, &mut out);
    waits(&sc, &mut out);
    held(&sc, &mut out);
    for n in &join.notes {
        if n.contains("is off") || n.contains("disagree") || n.contains("another order") {
            out.push(
                Finding::seen(Code::JoinMismatch, Severity::Warning, n.clone())
                    .from_file(FileSpot::file(driver.source())),
            );
        }
    }
    out
}

/// The buffer a kick covered, for the message.
fn kicked_buffer<'a>(sc: &'a Scene<'_>, queue: u16, j: u32) -> Option<&'a Buffer> {
    sc.join
        .buffers
        .iter()
        .filter(|b| b.queue == queue && b.kick == j)
        .min_by_key(|b| b.add)
}

fn kicks(sc: &Scene<'_>, m: &Matched, out: &mut Vec<Finding>) {
    for k in m.kicks.iter().filter(|k| k.device == NONE) {
        let Some(b) = kicked_buffer(sc, k.queue, k.driver) else {
            continue;
        };
        let t = sc.t(Side::Driver, k.driver);
        let next = if k.next == NONE {
            "and none later in its trace".to_string()
        } else {
            format!(
                "its next is at line {}, {} later",
                sc.qemu_line(k.next),
                ms(sc.t(Side::Device, k.next).saturating_sub(t))
            )
        };
        let q = sc.queue(b);
        out.push(
            sc.finding(
                Code::KickUnseen,
                Severity::Warning,
                b,
                format!(
                    "the driver kicked {} ({}) at {} (vp_notify) for {} added at guest line {}, \
                     and the device logged no virtio_queue_notify of that queue within {} ms: {}",
                    q.name,
                    q.driver_name,
                    sc.gspot(k.driver),
                    sc.name(b),
                    sc.gline(b.add),
                    sc.join.opts.kick_ms,
                    next
                ),
                sc.step(Side::Driver, k.driver),
            )
            .from_file(sc.gspot(k.driver)),
        );
    }
}

fn irqs(sc: &Scene<'_>, m: &Matched, out: &mut Vec<Finding>) {
    for k in m.irqs.iter().filter(|k| k.driver == NONE) {
        let b = sc
            .join
            .buffers
            .iter()
            .filter(|b| b.queue == k.queue && b.dev_irq == k.device)
            .min_by_key(|b| b.used);
        let Some(b) = b else { continue };
        let t = sc.t(Side::Device, k.device);
        let next = if k.next == NONE {
            "and none later in its trace".to_string()
        } else {
            format!(
                "its next is at {}, {} later",
                sc.gspot(k.next),
                ms(sc.t(Side::Driver, k.next).saturating_sub(t))
            )
        };
        let q = sc.queue(b);
        out.push(
            sc.finding(
                Code::InterruptUnhandled,
                Severity::Warning,
                b,
                format!(
                    "the device notified the driver of {} used on {} (virtio_notify at line {}, \
                     used at line {}), and the driver entered no vring_interrupt for {} within \
                     {} ms: {}",
                    sc.name(b),
                    q.name,
                    sc.qemu_line(k.device),
                    sc.qemu_line(b.used),
                    q.driver_name,
                    sc.join.opts.irq_ms,
                    next
                ),
                sc.step(Side::Device, k.device),
            )
            .at(sc.qemu_line(k.device), Some(t))
            .from_file(FileSpot::file(sc.driver.source())),
        );
    }
}

/// The driver's interrupt suppression on a queue just before host time `t`, in words, and
/// whether it asked for no interrupt.
fn suppression(sc: &Scene<'_>, b: &Buffer, t: u64) -> (bool, String) {
    let q = sc.queue(b);
    let list = sc
        .join
        .per_queue
        .get(usize::from(q.driver))
        .map_or(&[][..], Vec::as_slice);
    let shadow = list
        .iter()
        .rev()
        .filter(|&&j| sc.t(Side::Driver, j) <= t)
        .find_map(|&j| sc.driver.events().get(j as usize)?.shadow().map(|s| (j, s)));
    match shadow {
        Some((j, s)) if !s.packed && s.irq_flags & 1 != 0 => (
            true,
            format!(
                "the driver had asked for no interrupt (avail flags {:#x}, \
                 VRING_AVAIL_F_NO_INTERRUPT, at guest line {})",
                s.irq_flags,
                sc.gline(j)
            ),
        ),
        Some((j, s)) if s.packed && s.irq_flags == 1 => (
            true,
            format!(
                "the driver had disabled interrupts (event flags DISABLE at guest line {})",
                sc.gline(j)
            ),
        ),
        Some((j, s)) => (
            false,
            format!(
                "the driver's interrupts were on (flags {:#x} at guest line {})",
                s.irq_flags,
                sc.gline(j)
            ),
        ),
        None => (false, "the driver's flags are not in its trace".into()),
    }
}

fn reaps(sc: &Scene<'_>, out: &mut Vec<Finding>) {
    let behind = sc.join.opts.behind_ms * 1000;
    // used-behind: per queue, the worst buffer of each run of late reaps.
    let mut worst: Vec<Option<(u64, &Buffer, u32)>> = vec![None; sc.join.queues.len()];
    let flush = |w: &mut Option<(u64, &Buffer, u32)>, out: &mut Vec<Finding>| {
        let Some((wait, b, n)) = w.take() else { return };
        let dev = sc.dev(b);
        let used_t = sc.t(dev, b.used);
        let (asked, flags) = suppression(sc, b, used_t);
        let irq = if b.dev_irq != NONE {
            format!(
                "the device notified at line {} and ",
                sc.qemu_line(b.dev_irq)
            )
        } else if dev == Side::Dpdk {
            String::new()
        } else {
            "the device sent no interrupt for it and ".to_string()
        };
        let sev = if b.dev_irq != NONE && !asked {
            Severity::Warning
        } else {
            Severity::Info
        };
        let more = if n > 1 {
            format!(" ({n} buffers in this run)")
        } else {
            String::new()
        };
        let q = sc.queue(b);
        out.push(
            sc.finding(
                Code::UsedBehind,
                sev,
                b,
                format!(
                    "the driver's used index trailed the device's on {} for {} of the VM's \
                     running time: {} was used at {} and the driver detached it only at \
                     {}{more}; {irq}{flags}",
                    q.name,
                    ms(wait),
                    sc.name(b),
                    sc.dspot(dev, b.used),
                    sc.gspot(b.detach),
                ),
                sc.step(dev, b.used),
            )
            .from_file(sc.gspot(b.detach)),
        );
    };
    for b in &sc.join.buffers {
        if b.used == NONE {
            continue;
        }
        let dev = sc.dev(b);
        let used_t = sc.t(dev, b.used);
        if used_t > sc.drv_last {
            continue;
        }
        let q = usize::from(b.queue);
        if b.detach == NONE || b.flags & TAKEN_BACK != 0 {
            flush(&mut worst[q], out);
            // Judged when the driver's trace runs on long enough for an interrupt to arrive.
            if sc.running(used_t, sc.drv_last) <= sc.join.opts.irq_ms * 1000 {
                continue;
            }
            let (asked, flags) = suppression(sc, b, used_t);
            let (sev, how) = if b.flags & TAKEN_BACK != 0 && b.reap != NONE {
                (
                    Severity::Info,
                    format!(
                        "it took it back unused at {} (virtqueue_detach_unused_buf, device \
                         removal): its completion was never seen",
                        sc.gspot(b.reap)
                    ),
                )
            } else {
                let irq = if b.dev_irq != NONE {
                    format!("the device notified at line {}", sc.qemu_line(b.dev_irq))
                } else {
                    "the device sent no interrupt for it".to_string()
                };
                // Lazily reaped queues (a driver that asked for no interrupt reaps when it
                // next adds) are said, not warned about.
                let sev = if b.dev_irq != NONE && !asked {
                    Severity::Warning
                } else {
                    Severity::Info
                };
                (
                    sev,
                    format!(
                        "its trace ends {} of running time later without a detach of it; \
                         {irq}, and {flags}",
                        ms(sc.running(used_t, sc.drv_last))
                    ),
                )
            };
            let q = sc.queue(b);
            out.push(
                sc.finding(
                    Code::CompletedUnreaped,
                    sev,
                    b,
                    format!(
                        "the device completed {} on {} ({}), and the driver never reaped it: {how}",
                        sc.name(b),
                        q.name,
                        sc.dspot(dev, b.used),
                    ),
                    sc.step(dev, b.used),
                )
                .from_file(sc.gspot(b.add)),
            );
            continue;
        }
        let wait = sc.running(used_t, sc.t(Side::Driver, b.detach));
        if wait > behind {
            let w = &mut worst[q];
            match w {
                Some((x, _, n)) => {
                    *n += 1;
                    if wait > *x {
                        let n = *n;
                        *w = Some((wait, b, n));
                    }
                }
                None => *w = Some((wait, b, 1)),
            }
        } else {
            flush(&mut worst[q], out);
        }
    }
    for w in &mut worst {
        flush(w, out);
    }
}

/// The device's wish about kicks when the driver decided, in words: why `kick_prepare`
/// returned 0.
fn kick_reason(sc: &Scene<'_>, b: &Buffer, decisions: &[u32]) -> String {
    let q = sc.queue(b);
    let entry = decisions
        .first()
        .and_then(|&j| sc.driver.events().get(j as usize))
        .and_then(|e| e.entry())
        .and_then(|k| sc.driver.events().get(k as usize).map(|e| (k, e)));
    let event_idx = event_idx(sc);
    match entry.and_then(|(k, e)| e.shadow().map(|s| (k, s))) {
        Some((k, s)) if !s.packed && s.notify_flags & 1 != 0 && !event_idx.unwrap_or(false) => {
            format!(
                "the used ring's flags were {:#x} (VRING_USED_F_NO_NOTIFY) at {}: the device \
                 had asked not to be kicked",
                s.notify_flags,
                sc.gspot(k)
            )
        }
        Some((k, s)) if s.packed && s.notify_flags == 1 => format!(
            "the device's event suppression flags were DISABLE (0x1) at {}: it had asked not \
             to be kicked",
            sc.gspot(k)
        ),
        Some((k, s)) if s.packed && s.notify_flags == 2 => format!(
            "the device's event suppression was DESC at off_wrap {:#x} ({}), a position these \
             adds did not reach",
            s.used_mem,
            sc.gspot(k)
        ),
        Some((k, s)) if !s.packed && event_idx == Some(true) => format!(
            "VIRTIO_RING_F_EVENT_IDX was negotiated, so the driver kicks only when its new \
             avail index passes the device's avail_event (vring_need_event); the device had \
             left avail_event behind (used.flags {:#x} at {}; a polling device such as DPDK's \
             does not move it), so none of these adds crossed it",
            s.notify_flags,
            sc.gspot(k)
        ),
        Some((k, s)) => format!(
            "nothing recorded explains it (used.flags {:#x} at {}, EVENT_IDX {} on {})",
            s.notify_flags,
            sc.gspot(k),
            match event_idx {
                Some(true) => "negotiated",
                Some(false) => "not negotiated",
                None => "not known",
            },
            q.name
        ),
        None => "the driver's kick decisions are not in its trace".into(),
    }
}

/// Whether EVENT_IDX was negotiated, from QMP's features or DPDK's (bit 29).
fn event_idx(sc: &Scene<'_>) -> Option<bool> {
    if let Some((f, _)) = sc.capture.dpdk.as_ref().and_then(|d| d.features) {
        return Some(f & (1 << 29) != 0);
    }
    let q = sc.capture.qmp.as_ref()?;
    q.records.iter().find_map(|r| match &r.body {
        QmpBody::Status(s) if !s.guest_features.is_empty() => {
            Some(s.has("VIRTIO_RING_F_EVENT_IDX"))
        }
        _ => None,
    })
}

fn waits(sc: &Scene<'_>, out: &mut Vec<Finding>) {
    let limit = sc.join.opts.pop_ms * 1000;
    for (qi, q) in sc.join.queues.iter().enumerate() {
        if q.device_initiated || q.device == DeviceSide::Missing {
            continue;
        }
        let bufs: Vec<&Buffer> = sc
            .join
            .buffers
            .iter()
            .filter(|b| usize::from(b.queue) == qi)
            .collect();
        let mut run: Vec<(&Buffer, u64, bool)> = Vec::new();
        let emit = |run: &mut Vec<(&Buffer, u64, bool)>, out: &mut Vec<Finding>| {
            if run.is_empty() {
                return;
            }
            let (first, _, _) = run[0];
            let (worst, wait, never) = *run.iter().max_by_key(|x| x.1).unwrap_or(&run[0]);
            let n = run.len();
            let dev = sc.dev(first);
            let popped = if never {
                format!(
                    "{} was never popped ({} to the end of the device's log)",
                    sc.name(worst),
                    ms(wait)
                )
            } else {
                format!(
                    "the longest, {}, was popped at {} after {}",
                    sc.name(worst),
                    sc.dspot(dev, worst.pop),
                    ms(wait)
                )
            };
            let kicked = run.iter().find(|x| x.0.kick != NONE);
            let why = match kicked {
                Some((b, _, _)) => format!(
                    "the driver kicked at {} and the device did not pop",
                    sc.gspot(b.kick)
                ),
                None => "no kick covered them".into(),
            };
            let last = run[n - 1].0;
            out.push(
                sc.finding(
                    Code::AddedUnpopped,
                    Severity::Warning,
                    first,
                    format!(
                        "{n} buffers the driver made available on {} between {} and guest line \
                         {} waited more than {} for the device: the first, {}, added at {}; \
                         {popped}; {why}",
                        q.name,
                        sc.gspot(first.add),
                        sc.gline(last.add),
                        ms(limit),
                        sc.name(first),
                        sc.gspot(first.add),
                    ),
                    sc.step(Side::Driver, first.add),
                )
                .from_file(sc.gspot(first.add)),
            );
            if kicked.is_none() {
                // Why the driver did not kick: its kick_prepare decisions after these adds.
                let list = sc
                    .join
                    .per_queue
                    .get(usize::from(q.driver))
                    .map_or(&[][..], Vec::as_slice);
                let decisions: Vec<u32> = list
                    .iter()
                    .copied()
                    .filter(|&j| j > first.add && j <= last.add + 2)
                    .filter(|&j| {
                        sc.driver
                            .events()
                            .get(j as usize)
                            .is_some_and(|e| e.kind == DriverKind::KickDecision)
                    })
                    .collect();
                let zeros = decisions
                    .iter()
                    .filter(|&&j| {
                        sc.driver
                            .events()
                            .get(j as usize)
                            .is_some_and(|e| e.arg == 0)
                    })
                    .count();
                if zeros > 0 && zeros == decisions.len() {
                    out.push(
                        sc.finding(
                            Code::KickSuppressed,
                            Severity::Info,
                            first,
                            format!(
                                "no kick for the {n} buffers added to {} from {} to guest line \
                                 {}: kick_prepare returned 0 all {zeros} times, because {}",
                                q.name,
                                sc.gspot(first.add),
                                sc.gline(last.add),
                                kick_reason(sc, first, &decisions)
                            ),
                            sc.step(Side::Driver, decisions[0]),
                        )
                        .from_file(sc.gspot(decisions[0])),
                    );
                }
            }
            run.clear();
        };
        for b in bufs {
            let add_t = sc.t(Side::Driver, b.add);
            let (wait, never) = if b.pop != NONE {
                (sc.running(add_t, sc.t(sc.dev(b), b.pop)), false)
            } else if b.flags & TAKEN_BACK == 0 || b.reap == NONE {
                (sc.running(add_t, sc.dev_end(b)), true)
            } else {
                // Taken back before the device popped it: it waited until then.
                (sc.running(add_t, sc.t(Side::Driver, b.reap)), true)
            };
            if wait > limit {
                run.push((b, wait, never));
            } else {
                emit(&mut run, out);
            }
        }
        emit(&mut run, out);
    }
}

fn held(sc: &Scene<'_>, out: &mut Vec<Finding>) {
    let limit = sc.join.opts.held_ms * 1000;
    for b in &sc.join.buffers {
        if b.pop == NONE || sc.dev(b) != Side::Device {
            continue;
        }
        let pop_t = sc.t(Side::Device, b.pop);
        let (end_t, done) = if b.fill != NONE {
            (sc.t(Side::Device, b.fill), true)
        } else {
            (sc.dev_last, false)
        };
        let held = end_t.saturating_sub(pop_t);
        if held <= limit {
            continue;
        }
        let q = sc.queue(b);
        let completed = if done {
            format!("completed at line {}", sc.qemu_line(b.fill))
        } else {
            "never completed in its trace".into()
        };
        let guest = if b.add != NONE && b.reap != NONE {
            let g = |j: u32| sc.driver.events().get(j as usize).map_or(0, |e| e.time_us);
            format!(
                "; by the guest's own clock the buffer was out {} (add at guest line {}, reap \
                 at {})",
                ms(g(b.reap).saturating_sub(g(b.add))),
                sc.gline(b.add),
                sc.gline(b.reap)
            )
        } else {
            String::new()
        };
        let qmp = qmp_between(sc, pop_t, end_t);
        out.push(
            sc.finding(
                Code::BufferHeld,
                Severity::Warning,
                b,
                format!(
                    "the device held {} on {} for {}: popped at line {}, {completed}{qmp}{guest}",
                    sc.name(b),
                    q.name,
                    ms(held),
                    sc.qemu_line(b.pop),
                ),
                sc.step(Side::Device, b.pop),
            )
            .at(sc.qemu_line(b.pop), Some(pop_t))
            .from_file(sc.gspot(b.add)),
        );
    }
}

/// QMP events between two host times, in words: `; meanwhile qmp.jsonl:5 BLOCK_IO_ERROR
/// (device d0, …), :6 STOP, :62 RESUME`.
fn qmp_between(sc: &Scene<'_>, from: u64, to: u64) -> String {
    let Some(q) = sc.capture.qmp.as_ref() else {
        return String::new();
    };
    let evs: Vec<String> = q
        .records
        .iter()
        .filter_map(|r| match &r.body {
            QmpBody::Event {
                name,
                time_us: Some(t),
                detail,
            } if *t >= from && *t <= to => Some(if detail.is_empty() {
                format!("{}:{} {name} at {}", q.source, r.line, fmt_time(*t))
            } else {
                format!(
                    "{}:{} {name} ({detail}) at {}",
                    q.source,
                    r.line,
                    fmt_time(*t)
                )
            }),
            _ => None,
        })
        .collect();
    if evs.is_empty() {
        return String::new();
    }
    let stopped = q.records.iter().any(|r| {
        matches!(&r.body, QmpBody::Event { name, time_us: Some(t), .. }
            if name == "STOP" && *t >= from && *t <= to)
    });
    let clock = if stopped {
        "; the VM was stopped meanwhile, and the guest's clock stands still while it is"
    } else {
        ""
    };
    format!("; meanwhile {}{clock}", evs.join(", "))
}
