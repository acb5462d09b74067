//! The cross-checks: replayed counters against what QEMU itself said (QMP snapshots), against
//! guest memory (ring dumps), and the vhost backend's view of a ring against QEMU's.
//!
//! A snapshot is placed in the trace at its VM stop (see `snapshot_steps`); the checks run
//! there with the state replayed up to it. Kicks a snapshot proves unanswered wait for the end
//! of the window (`Replayer::check_pending_kicks`): a later pop answers them.

use super::apply::{Replayer, Sink};
use crate::finding::{Code, FileSpot, Finding, Severity};
use crate::layout::{RingIdx, vring_need_event};
use crate::trace::detect;
use crate::trace::event::{DeviceType, Event};
use crate::trace::import::qmp::{QmpBody, QmpTranscript, QueueStatus};
use crate::trace::import::ringdump::{self, DumpInput, Expect, RingState};
use crate::trace::state::{QueueLayout, ReplayState};

/// A kick the device had not acted on when a snapshot proved work pending on its queue: a
/// `kick-unserviced` finding unless the queue is popped later in the window (a reset does not
/// answer a kick: it throws the work away).
#[derive(Debug, Clone)]
pub(super) struct PendingKick {
    /// The queue.
    qi: usize,
    /// Line and time of the kick.
    kick: (u32, u64),
    /// What proved the work pending, and where.
    proof: String,
    evidence: FileSpot,
}

impl Replayer {
    /// The queue of a device type and index, when exactly one device has that type.
    pub(super) fn find_queue(st: &ReplayState, t: DeviceType, queue: u16) -> Option<usize> {
        let devs: Vec<usize> = st
            .devices
            .iter()
            .enumerate()
            .filter(|(_, d)| d.device_type == t)
            .map(|(i, _)| i)
            .collect();
        let [d] = devs.as_slice() else { return None };
        st.queues
            .iter()
            .position(|q| q.dev == *d && q.queue == queue)
    }

    /// Takes a snapshot's QMP counters for the queues a vhost backend serves, at the step of
    /// that snapshot: QEMU read them back from the backend (`GET_VRING_BASE`) when the VM
    /// stopped, and the trace has nothing else about them. Part of applying an event, so that a
    /// state rebuilt from a checkpoint and one reached in the pass agree.
    pub(super) fn sync_vhost(&self, st: &mut ReplayState) {
        let from = self.vhost_syncs.partition_point(|s| s.step < st.step);
        let now = self.vhost_syncs.get(from..).unwrap_or_default();
        for s in now.iter().take_while(|s| s.step == st.step) {
            if let Some(q) = Self::find_queue(st, s.device, s.queue)
                .and_then(|qi| st.queues.get_mut(qi))
                .filter(|q| q.vhost)
            {
                q.last_avail_idx = RingIdx(s.last_avail_idx);
                q.used_idx = RingIdx(s.used_idx);
                q.inuse = s.inuse;
            }
        }
    }

    /// Compares each `x-query-virtio-vhost-queue-status` answer (the ring as QEMU gave it to
    /// the backend) with QEMU's own `x-query-virtio-queue-status` for the same queue (the one
    /// of the snapshot the answer precedes, else any): size, the three area addresses, and, on
    /// split rings, the area sizes the size and EVENT_IDX imply. Returns how many were compared.
    pub(super) fn check_vhost_rings(
        &self,
        st: &ReplayState,
        qmp: &QmpTranscript,
        sink: &mut Sink<'_>,
    ) -> usize {
        let mut checked = 0;
        for (rec, vs) in qmp.vhost_queue_statuses() {
            let qn = vs.queue.unwrap_or(0);
            // QEMU's own status of the same queue while it was set up: a status read after the
            // driver let the device go (a reset: every address 0) says nothing of the ring the
            // backend was given.
            let same = |qs: &&QueueStatus| {
                qs.name == vs.name && qs.queue_index == qn && qs.vring_desc != 0
            };
            let mine = qmp
                .queue_statuses()
                .filter(|(r, qs)| r.snapshot > rec.snapshot && same(qs))
                .chain(qmp.queue_statuses().filter(|(_, qs)| same(qs)))
                .map(|(_, qs)| qs)
                .next();
            let Some(qs) = mine else { continue };
            checked += 1;
            let t = DeviceType::from_qemu_name(&vs.name);
            let qi = Self::find_queue(st, t, qn);
            let q = qi.and_then(|i| st.queues.get(i));
            let mut diffs = Vec::new();
            let mut differ = |what: &str, backend: u64, qemu: u64| {
                if backend != qemu {
                    diffs.push(format!("{what} {backend} (QEMU {qemu})"));
                }
            };
            differ("num", u64::from(vs.num), u64::from(qs.vring_num));
            differ("desc-phys", vs.desc_phys, qs.vring_desc);
            differ("avail-phys", vs.avail_phys, qs.vring_avail);
            differ("used-phys", vs.used_phys, qs.vring_used);
            if q.is_some_and(|q| q.layout == QueueLayout::Split) {
                // EVENT_IDX as negotiated when the answer was read: the device's status of the
                // same query, else the replayed device's.
                let ev = qmp
                    .records
                    .iter()
                    .rev()
                    .filter(|r| r.line <= rec.line)
                    .filter_map(|r| match &r.body {
                        QmpBody::Status(ds)
                            if ds.name == vs.name && !ds.guest_features.is_empty() =>
                        {
                            Some(ds.has("VIRTIO_RING_F_EVENT_IDX"))
                        }
                        _ => None,
                    })
                    .next()
                    .unwrap_or_else(|| {
                        q.and_then(|q| st.devices.get(q.dev))
                            .is_some_and(|d| d.has("VIRTIO_RING_F_EVENT_IDX"))
                    });
                let (n, e) = (u64::from(qs.vring_num), if ev { 2 } else { 0 });
                differ("desc-size", vs.desc_size, 16 * n);
                differ("avail-size", vs.avail_size, 4 + 2 * n + e);
                differ("used-size", vs.used_size, 4 + 8 * n + e);
            }
            if diffs.is_empty() {
                continue;
            }
            let label = qi.map_or_else(|| vs.name.clone(), |i| self.label(st, i));
            sink.push(|| {
                Finding::seen(
                    Code::QmpMismatch,
                    Severity::Error,
                    format!(
                        "x-query-virtio-vhost-queue-status (the ring as the backend was given \
                         it) disagrees with QEMU's queue: {}",
                        diffs.join(", ")
                    ),
                )
                .from_file(FileSpot::line(qmp.source.clone(), rec.line))
                .on(label, Some(qn))
            });
        }
        checked
    }

    /// Compares one QMP queue status with the replayed state.
    pub(super) fn check_qmp_queue(
        &self,
        st: &ReplayState,
        qs: &QueueStatus,
        qmp_line: u64,
        file: &str,
        at: &Event,
        sink: &mut Sink<'_>,
    ) -> Option<PendingKick> {
        let t = DeviceType::from_qemu_name(&qs.name);
        let where_ = |f: Finding| {
            f.from_file(FileSpot::line(file, qmp_line))
                .at(u64::from(at.line), at.time())
        };
        if qs.inuse > qs.vring_num && qs.vring_num > 0 {
            sink.push(|| {
                where_(Finding::seen(
                    Code::SizeExceeded,
                    Severity::Error,
                    format!(
                        "Virtqueue size exceeded (QMP inuse {} > vring-num {})",
                        qs.inuse, qs.vring_num
                    ),
                ))
                .on(qs.name.clone(), Some(qs.queue_index))
            });
        }
        let qi = Self::find_queue(st, t, qs.queue_index)?;
        let q = st.queues.get(qi)?;
        let label = self.label(st, qi);
        if q.layout == QueueLayout::Split
            && let Some(m) =
                detect::avail_jump(qs.last_avail_idx, qs.shadow_avail_idx, qs.vring_num)
        {
            sink.push(|| {
                where_(Finding::seen(Code::AvailIdxJump, Severity::Error, m))
                    .on(label.clone(), Some(q.queue))
            });
        }
        let mut diffs = Vec::new();
        // A vhost queue's counters are QMP's own (see `sync_vhost`): nothing to compare.
        if q.vhost {
            return None;
        }
        if qs.last_avail_idx != q.last_avail_idx.0 {
            diffs.push(format!(
                "last-avail-idx {} (replayed {})",
                qs.last_avail_idx, q.last_avail_idx
            ));
        }
        if qs.used_idx != q.used_idx.0 {
            diffs.push(format!(
                "used-idx {} (replayed {})",
                qs.used_idx, q.used_idx
            ));
        }
        if qs.inuse != q.inuse {
            diffs.push(format!("inuse {} (replayed {})", qs.inuse, q.inuse));
        }
        if !diffs.is_empty() {
            sink.push(|| {
                where_(Finding::seen(
                    Code::QmpMismatch,
                    Severity::Error,
                    format!(
                        "x-query-virtio-queue-status disagrees with the trace: {}",
                        diffs.join(", ")
                    ),
                ))
                .on(label.clone(), Some(q.queue))
            });
        }
        // QEMU's own view: it read avail.idx (shadow) past what it popped (last-avail-idx).
        let pending = qs.shadow_avail_idx.wrapping_sub(qs.last_avail_idx);
        self.pending_kick(st, qi, pending, || {
            (
                format!(
                    "x-query-virtio-queue-status shows {pending} available buffers QEMU read but \
                     never popped (shadow-avail-idx {}, last-avail-idx {})",
                    qs.shadow_avail_idx, qs.last_avail_idx
                ),
                FileSpot::line(file, qmp_line),
            )
        })
    }

    /// A [`PendingKick`] for queue `qi` when `pending` split-ring buffers were available at a
    /// snapshot, the device was running (DRIVER_OK, not NEEDS_RESET), and its last kick had no
    /// pop after it. Receive queues are left out: buffers waiting there are normal.
    fn pending_kick(
        &self,
        st: &ReplayState,
        qi: usize,
        pending: u16,
        proof: impl FnOnce() -> (String, FileSpot),
    ) -> Option<PendingKick> {
        let q = st.queues.get(qi)?;
        let dev = st.devices.get(q.dev)?;
        let nq = st.queues.iter().filter(|x| x.dev == q.dev).count() as u16;
        let running = dev.status & 0x04 != 0 && dev.status & 0x40 == 0;
        if pending == 0
            || q.layout != QueueLayout::Split
            || !running
            || q.is_rx(dev.device_type, nq)
        {
            return None;
        }
        let kick = q.unanswered_kick()?;
        let (proof, evidence) = proof();
        Some(PendingKick {
            qi,
            kick,
            proof,
            evidence,
        })
    }

    /// `kick-unserviced` for each pending kick the rest of the window never answered.
    pub(super) fn check_pending_kicks(
        &self,
        st: &ReplayState,
        kicks: &[PendingKick],
        sink: &mut Sink<'_>,
    ) {
        let mut seen: Vec<(usize, u32)> = Vec::new();
        for k in kicks {
            let Some(q) = st.queues.get(k.qi) else {
                continue;
            };
            let answered = q.last_pop.is_some_and(|p| p > k.kick.0);
            if answered || seen.contains(&(k.qi, k.kick.0)) {
                continue;
            }
            seen.push((k.qi, k.kick.0));
            let label = self.label(st, k.qi);
            sink.push(|| {
                Finding::seen(
                    Code::KickUnserviced,
                    Severity::Warning,
                    format!(
                        "the driver kicked here and the device never popped again up to the end \
                         of the window, while the device was running and {}",
                        k.proof
                    ),
                )
                .at(
                    u64::from(k.kick.0),
                    (k.kick.1 != u64::MAX).then_some(k.kick.1),
                )
                .on(label, Some(q.queue))
                .from_file(k.evidence.clone())
            });
        }
    }

    /// Cross-checks a ring dump taken at the current step, and audits notifications with the
    /// event indices it holds.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check_dump(
        &self,
        st: &ReplayState,
        d: &DumpInput,
        qs: Option<&QueueStatus>,
        at: &Event,
        sink: &mut Sink<'_>,
    ) -> Result<Option<PendingKick>, String> {
        let name = d.device_name.as_deref().ok_or(
            "its device is not known (no index.json `virtio-name`, no QMP x-query-virtio or \
             pmemsave naming it)",
        )?;
        let queue = d.queue.ok_or("its queue index is not known")?;
        let t = DeviceType::from_qemu_name(name);
        let qi = Self::find_queue(st, t, queue)
            .ok_or_else(|| format!("the trace has no single {name} device with a queue {queue}"))?;
        let ins = ringdump::inspect(d).map_err(|e| format!("it does not decode: {e}"))?;
        Ok(self.audit_dump(st, d, qi, &ins, qs, at, sink))
    }

    /// [`Replayer::check_dump`] once the dump is tied to queue `qi` and decoded.
    #[allow(clippy::too_many_arguments)]
    fn audit_dump(
        &self,
        st: &ReplayState,
        d: &DumpInput,
        qi: usize,
        ins: &ringdump::Inspection,
        qs: Option<&QueueStatus>,
        at: &Event,
        sink: &mut Sink<'_>,
    ) -> Option<PendingKick> {
        let q = st.queues.get(qi)?;
        let dev = st.devices.get(q.dev);
        let event_idx = dev
            .filter(|d| !d.features.is_empty())
            .map(|d| d.has("VIRTIO_RING_F_EVENT_IDX"));
        let expect = Expect {
            last_avail_idx: (q.layout == QueueLayout::Split).then_some(q.last_avail_idx.0),
            used_idx: (q.layout == QueueLayout::Split).then_some(q.used_idx.0),
            used_pos: q.used_pos,
            event_idx,
        };
        let label = self.label(st, qi);
        let nq = st.queues.iter().filter(|x| x.dev == q.dev).count() as u16;
        let dtype = dev.map_or(DeviceType::Unknown, |d| d.device_type);
        for f in ringdump::check_state(ins, Some(expect)) {
            // A receive queue's device keeps notifications off while it has buffers, and QEMU
            // writes avail_event only while they are on: a 0 there is by design.
            if f.code == Code::EventIdxUnused && q.is_rx(dtype, nq) {
                continue;
            }
            let queue = f.seen_at().and_then(|s| s.queue);
            sink.push(|| f.at(u64::from(at.line), at.time()).on(label.clone(), queue));
        }
        let RingState::Split(s) = &ins.state else {
            return None;
        };
        // Used-buffer notification audit: QEMU's virtio_split_should_notify at this moment.
        let unsignalled = q.flushes_since_irq > 0;
        if unsignalled && let Some(fl) = q.last_flush.map(|x| x.0) {
            let should = match (event_idx, s.used_event, qs) {
                (Some(true), Some(ev), Some(qs)) => crate::layout::split_should_notify(
                    ev,
                    s.used_idx,
                    qs.signalled_used,
                    qs.signalled_used_valid,
                ),
                (Some(false), _, _) => s.avail_flags & 1 == 0,
                _ => false,
            };
            if should {
                let why = match (s.used_event, qs) {
                    (Some(ev), Some(qs)) if event_idx == Some(true) => format!(
                        "used_event {ev} lies in (signalled {}, used.idx {}]",
                        qs.signalled_used, s.used_idx
                    ),
                    _ => "avail.flags has no VRING_AVAIL_F_NO_INTERRUPT".to_string(),
                };
                sink.push(|| {
                    Finding::seen(
                        Code::MissingNotification,
                        Severity::Error,
                        format!(
                            "no used-buffer notification after the flush at line {fl}, but {why}: \
                             the driver was owed an interrupt"
                        ),
                    )
                    .at(u64::from(at.line), at.time())
                    .on(label.clone(), Some(q.queue))
                    .from_file(FileSpot::file(d.name.clone()))
                });
            }
        }
        // Available-buffer side: work pending and the device idle. A kick not yet answered
        // is a pending kick (`kick-unserviced` if the rest of the window does not pop either).
        let pending = s.avail_idx.wrapping_sub(q.last_avail_idx.0);
        if q.layout != QueueLayout::Split || pending == 0 || q.is_rx(dtype, nq) {
            return None;
        }
        let kick = self.pending_kick(st, qi, pending, || {
            (
                format!(
                    "the ring dump shows {pending} available buffers (avail.idx {}, replayed \
                     last_avail_idx {})",
                    s.avail_idx, q.last_avail_idx
                ),
                FileSpot::file(d.name.clone()),
            )
        });
        if kick.is_some() || q.unanswered_kick().is_some() {
            return kick;
        }
        let armed = match event_idx {
            Some(true) => s
                .avail_event
                .is_some_and(|ev| vring_need_event(ev, s.avail_idx, q.last_avail_idx.0)),
            _ => s.used_flags & 1 == 0,
        };
        let (code_, sev, msg) = if armed {
            (
                Code::MissingNotification,
                Severity::Error,
                format!(
                    "{pending} available buffers (avail.idx {}, last_avail_idx {}) and the \
                     device asked to be notified, but the driver never kicked",
                    s.avail_idx, q.last_avail_idx
                ),
            )
        } else {
            (
                Code::Stall,
                Severity::Warning,
                format!(
                    "{pending} available buffers (avail.idx {}, last_avail_idx {}), no kick \
                     and the device did not ask for one: both sides may be asleep",
                    s.avail_idx, q.last_avail_idx
                ),
            )
        };
        sink.push(|| {
            Finding::seen(code_, sev, msg)
                .at(u64::from(at.line), at.time())
                .on(label.clone(), Some(q.queue))
                .from_file(FileSpot::file(d.name.clone()))
        });
        None
    }
}
