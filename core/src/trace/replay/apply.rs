//! Applying events: the [`Replayer`] turns one trace event into the next [`ReplayState`], and
//! runs the streaming detectors (leaks, double and unknown completions, flush mismatches,
//! size exceeded, spurious notifications, resets with buffers in flight) and the end-of-window
//! ones (`Replayer::finish`).
//!
//! - split rings: `last_avail_idx` = pops, `used_idx` = sum of flush counts, `inuse` = pops −
//!   flushed (as QEMU's `virtqueue_split_flush` does `inuse -= count`);
//! - packed rings: the same counts, plus slot positions and wrap counters derived by advancing
//!   `PackedPos` by each element's descriptor count (1 with indirect descriptors, else
//!   `in_num + out_num`); QEMU 7.2 traces no flush there, so each fill completes;
//! - notifications both ways (`virtio_queue_notify` kicks, `virtio_notify[_irqfd]`
//!   interrupts), resets on `virtio_set_status … val 0`.

use std::collections::HashMap;

use super::ReplayOptions;
use super::identity::{Facts, Identity, learn_facts, learn_identity};
use super::snapshot::{VhostSync, vhost_syncs};
use crate::finding::{Code, Finding, Severity};
use crate::layout::{RingIdx, RingKind};
use crate::trace::event::{DeviceType, Event, EventKind, NO_OBJ, ObjId};
use crate::trace::import::qmp::QmpTranscript;
use crate::trace::import::ringdump::DumpInput;
use crate::trace::import::store::TraceStore;
use crate::trace::state::{
    DeviceState, Outstanding, QueueLayout, QueueState, ReplayState, VhostState, default_size,
    vhost_user_request,
};

/// Where findings go during a pass (or nowhere, when seeking).
pub(super) struct Sink<'a> {
    /// Where findings go; `None` when seeking.
    pub(super) out: Option<&'a mut Vec<Finding>>,
}

impl Sink<'_> {
    pub(super) fn push(&mut self, f: impl FnOnce() -> Finding) {
        if let Some(o) = self.out.as_deref_mut() {
            o.push(f());
        }
    }
}

/// The replay engine: applies events one by one to a [`ReplayState`].
#[derive(Debug, Clone)]
pub struct Replayer {
    pub(super) ident: Identity,
    pub(super) facts: Facts,
    pub(super) opts: ReplayOptions,
    /// QEMU's counters for the queues a vhost backend serves, by the step of the snapshot
    /// that read them (see [`Replayer::sync_vhost`]).
    pub(super) vhost_syncs: Vec<VhostSync>,
}

impl Replayer {
    /// Prepares a replay of `store` (identities are learned from the whole trace).
    pub fn new(
        store: &TraceStore,
        qmp: Option<&QmpTranscript>,
        rings: &[DumpInput],
        opts: &ReplayOptions,
    ) -> Replayer {
        Replayer {
            ident: learn_identity(store, store.events(), qmp),
            facts: learn_facts(qmp, rings),
            opts: opts.clone(),
            vhost_syncs: qmp.map(|q| vhost_syncs(store, q)).unwrap_or_default(),
        }
    }

    /// The state before the first event: every device and queue the trace names, zeroed.
    pub fn initial(&self, store: &TraceStore) -> ReplayState {
        let mut st = ReplayState {
            step: 0,
            devices: Vec::new(),
            queues: Vec::new(),
            vq_index: HashMap::new(),
            elem_alloc: HashMap::new(),
        };
        for &v in &self.ident.order {
            let (t, src) = self
                .ident
                .types
                .get(&v)
                .copied()
                .unwrap_or((DeviceType::Unknown, "not known"));
            st.devices.push(DeviceState {
                vdev: store.object(v),
                obj: v,
                device_type: t,
                type_source: src,
                status: 0,
                resets: 0,
                features: self.facts.features.get(&t).cloned().unwrap_or_default(),
                vhost: self.ident.vhost.get(&v).map(|&h| VhostState {
                    backend: if self.ident.vhost_user {
                        "vhost-user"
                    } else {
                        "vhost"
                    },
                    hdev: store.object(h),
                    ..VhostState::default()
                }),
            });
        }
        let mut vqs: Vec<(&ObjId, &(ObjId, u16))> = self.ident.vq.iter().collect();
        vqs.sort_by_key(|(vq, (vdev, q))| {
            (self.ident.order.iter().position(|x| x == vdev), *q, **vq)
        });
        for (&vq, &(vdev, q)) in vqs {
            let dev = self
                .ident
                .order
                .iter()
                .position(|x| *x == vdev)
                .unwrap_or(0);
            self.add_queue(&mut st, store, dev, q, Some(vq));
        }
        // A vhost device's queues: as many as QMP's num-vqs.
        for dev in 0..st.devices.len() {
            let Some(d) = st.devices.get(dev).filter(|d| d.vhost.is_some()) else {
                continue;
            };
            let n = self
                .facts
                .vhost_vqs
                .get(&d.device_type)
                .copied()
                .unwrap_or(1);
            // Only the queues QEMU's trace does not show already (a kick before the backend
            // took over, virtio-net's control queue QEMU serves itself).
            for q in 0..n {
                if !st.queues.iter().any(|x| x.dev == dev && x.queue == q) {
                    self.add_queue(&mut st, store, dev, q, None);
                }
            }
        }
        st
    }

    /// Adds queue `q` of device `dev`: the one whose `vq` pointer is given, or, without one, a
    /// queue a vhost backend serves.
    fn add_queue(
        &self,
        st: &mut ReplayState,
        store: &TraceStore,
        dev: usize,
        q: u16,
        vq: Option<ObjId>,
    ) {
        let t = st
            .devices
            .get(dev)
            .map_or(DeviceType::Unknown, |d| d.device_type);
        let cfg = self
            .opts
            .ring_kind
            .map(|k| k == RingKind::Packed)
            .or_else(|| self.facts.packed.get(&t).copied());
        let layout = self.layout_for(vq, 0, cfg);
        let size = self
            .facts
            .sizes
            .get(&(t, q))
            .copied()
            .or_else(|| default_size(t, q));
        let mut qs = match vq {
            Some(vq) => {
                st.vq_index.insert(vq, st.queues.len());
                QueueState::new(dev, q, (store.object(vq), vq), (layout, cfg), size)
            }
            None => QueueState::new(dev, q, (0, NO_OBJ), (layout, cfg), size),
        };
        qs.vhost = vq.is_none();
        st.queues.push(qs);
    }

    /// A queue's layout in an epoch: what the trace shows there (QEMU 7.2 traces flushes only
    /// on split rings, see [`super::identity::epoch_layouts`]), else what the options, QMP or
    /// a dump say (`cfg`), else unknown: never a guess that would replay a packed ring as split.
    fn layout_for(&self, vq: Option<ObjId>, epoch: u32, cfg: Option<bool>) -> QueueLayout {
        if let Some(k) = vq.and_then(|vq| self.ident.layouts.get(&(vq, epoch))) {
            return (*k).into();
        }
        match cfg {
            Some(true) => QueueLayout::Packed,
            Some(false) => QueueLayout::Split,
            None => QueueLayout::Unknown,
        }
    }

    fn queue_of(&self, st: &mut ReplayState, store: &TraceStore, vq: ObjId) -> usize {
        if let Some(&i) = st.vq_index.get(&vq) {
            return i;
        }
        // A vq never kicked: a device of its own, type unknown.
        st.devices.push(DeviceState {
            vdev: 0,
            obj: NO_OBJ,
            device_type: DeviceType::Unknown,
            type_source: "vq never kicked",
            status: 0,
            resets: 0,
            features: Vec::new(),
            vhost: None,
        });
        let dev = st.devices.len() - 1;
        self.add_queue(st, store, dev, u16::MAX, Some(vq));
        st.queues.len() - 1
    }

    fn indirect(&self, d: Option<&DeviceState>) -> bool {
        if let Some(d) = d
            && !d.features.is_empty()
        {
            return d.has("VIRTIO_RING_F_INDIRECT_DESC");
        }
        self.opts.indirect.unwrap_or(true)
    }

    /// Applies one event without collecting findings (for stepping and exporters).
    pub fn step(&self, st: &mut ReplayState, store: &TraceStore, e: &Event) {
        self.apply(st, store, e, &mut Sink { out: None });
    }

    /// Applies one event.
    pub(super) fn apply(
        &self,
        st: &mut ReplayState,
        store: &TraceStore,
        e: &Event,
        sink: &mut Sink<'_>,
    ) {
        self.apply_event(st, store, e, sink);
        if !self.vhost_syncs.is_empty() {
            self.sync_vhost(st);
        }
    }

    /// The event itself: counters, positions, the streaming detectors.
    fn apply_event(
        &self,
        st: &mut ReplayState,
        store: &TraceStore,
        e: &Event,
        sink: &mut Sink<'_>,
    ) {
        st.step += 1;
        let line = e.line;
        let time = e.time();
        match e.kind {
            EventKind::AllocElement {
                elem,
                in_num,
                out_num,
            } => {
                st.elem_alloc.insert(elem, (in_num, out_num));
            }
            EventKind::Pop {
                vq,
                elem,
                in_num,
                out_num,
            } => {
                let qi = self.queue_of(st, store, vq);
                let dev = st.queues.get(qi).map(|q| q.dev);
                let indirect = self.indirect(dev.and_then(|d| st.devices.get(d)));
                let label = self.label(st, qi);
                let Some(q) = st.queues.get_mut(qi) else {
                    return;
                };
                q.pops += 1;
                q.inuse += 1;
                q.popped_unknown |= q.layout == QueueLayout::Unknown;
                let ndescs = if indirect {
                    1
                } else {
                    in_num.saturating_add(out_num).max(1)
                };
                match (q.avail_pos, q.size) {
                    (Some(p), Some(size)) => {
                        let np = p.advance(ndescs, size);
                        q.avail_pos = Some(np);
                        q.last_avail_idx = RingIdx(np.slot);
                    }
                    _ => q.last_avail_idx = q.last_avail_idx.wrapping_add(1),
                }
                if let Some(prev) = q.outstanding.get(&elem).copied() {
                    // QEMU frees an element only after completing it (or detaching it, which is
                    // not traced): the same pointer popped again means the first was dropped.
                    let (qn, ptr) = (q.queue, store.object(elem));
                    let l2 = label.clone();
                    sink.push(|| {
                        Finding::seen(
                            Code::Leak,
                            Severity::Warning,
                            format!(
                                "elem {ptr:#x} popped again while its pop at line {} was never                                  completed: that buffer was dropped without virtqueue_fill",
                                prev.line
                            ),
                        )
                        .at(u64::from(line), time)
                        .on(l2, Some(qn))
                    });
                }
                q.outstanding.insert(
                    elem,
                    Outstanding {
                        line,
                        time: e.time_us,
                        seq: q.pops,
                        ndescs,
                        in_num,
                        out_num,
                    },
                );
                q.done.remove(&elem);
                q.last_pop = Some(line);
                if let Some(size) = q.size
                    && q.inuse > u32::from(size)
                {
                    let n = q.inuse;
                    let qn = q.queue;
                    sink.push(|| {
                        Finding::seen(
                            Code::SizeExceeded,
                            Severity::Error,
                            format!("Virtqueue size exceeded ({n} buffers in flight, size {size})"),
                        )
                        .at(u64::from(line), time)
                        .on(label, Some(qn))
                    });
                }
            }
            EventKind::Fill { vq, elem, len, idx } => {
                let qi = self.queue_of(st, store, vq);
                let label = self.label(st, qi);
                let ptr = store.object(elem);
                let Some(q) = st.queues.get_mut(qi) else {
                    return;
                };
                q.fills += 1;
                let qn = q.queue;
                match q.outstanding.remove(&elem) {
                    Some(o) => {
                        q.pending_ndescs += u32::from(o.ndescs);
                        q.max_done_seq = q.max_done_seq.max(o.seq);
                    }
                    None => {
                        q.pending_ndescs += 1;
                        match q.done.get(&elem) {
                            Some(&first) => sink.push(|| {
                                Finding::seen(
                                    Code::DoubleCompletion,
                                    Severity::Error,
                                    format!(
                                        "buffer elem {ptr:#x} completed twice (virtqueue_fill at \
                                         line {first} and again here, len {len}, no pop between)"
                                    ),
                                )
                                .at(u64::from(line), time)
                                .on(label, Some(qn))
                            }),
                            None => sink.push(|| {
                                Finding::seen(
                                    Code::UnknownCompletion,
                                    Severity::Warning,
                                    format!(
                                        "virtqueue_fill of elem {ptr:#x} that was never popped \
                                         (did the trace start late?)"
                                    ),
                                )
                                .at(u64::from(line), time)
                                .on(label, Some(qn))
                            }),
                        }
                    }
                }
                q.done.insert(elem, line);
                let _ = idx;
                if let (Some(p), Some(size)) = (q.used_pos, q.size) {
                    // Packed: QEMU 7.2 traces no flush, so each fill is a completion.
                    let n = u16::try_from(q.pending_ndescs).unwrap_or(u16::MAX);
                    let np = p.advance(n, size);
                    q.used_pos = Some(np);
                    q.used_idx = RingIdx(np.slot);
                    q.inuse = q.inuse.saturating_sub(1);
                    q.completed += 1;
                    q.pending_ndescs = 0;
                    if q.flushes_since_irq > 0 {
                        q.unsignalled_batches += 1;
                    }
                    q.flushes_since_irq += 1;
                    q.last_flush = Some((line, e.time_us));
                } else {
                    q.pending_fills = q.pending_fills.saturating_add(1);
                }
            }
            EventKind::Flush { vq, count } => {
                let qi = self.queue_of(st, store, vq);
                let label = self.label(st, qi);
                let Some(q) = st.queues.get_mut(qi) else {
                    return;
                };
                q.flushes += 1;
                q.completed += u64::from(count);
                if count != q.pending_fills {
                    let (p, qn) = (q.pending_fills, q.queue);
                    sink.push(|| {
                        Finding::seen(
                            Code::FlushMismatch,
                            Severity::Error,
                            format!(
                                "virtqueue_flush count {count} after {p} virtqueue_fill since the \
                                 previous flush"
                            ),
                        )
                        .at(u64::from(line), time)
                        .on(label, Some(qn))
                    });
                }
                match (q.used_pos, q.size) {
                    (Some(p), Some(size)) => {
                        let n = u16::try_from(q.pending_ndescs).unwrap_or(u16::MAX);
                        let np = p.advance(n, size);
                        q.used_pos = Some(np);
                        q.used_idx = RingIdx(np.slot);
                    }
                    _ => q.used_idx = q.used_idx.wrapping_add(count),
                }
                q.inuse = q.inuse.saturating_sub(u32::from(count));
                q.pending_fills = 0;
                q.pending_ndescs = 0;
                if q.flushes_since_irq > 0 {
                    q.unsignalled_batches += 1;
                }
                q.flushes_since_irq += 1;
                q.last_flush = Some((line, e.time_us));
            }
            EventKind::Notify { vq, .. } => {
                let qi = self.queue_of(st, store, vq);
                let label = self.label(st, qi);
                let Some(q) = st.queues.get_mut(qi) else {
                    return;
                };
                q.interrupts += 1;
                if q.flushes_since_irq > 0 {
                    q.signalled_batches += 1;
                } else if let Some((l, u)) = q.last_irq
                    && u == q.used_idx.0
                    && q.layout != QueueLayout::Unknown
                {
                    let (qn, used) = (q.queue, q.used_idx);
                    sink.push(|| {
                        Finding::seen(
                            Code::SpuriousNotification,
                            Severity::Info,
                            format!(
                                "used-buffer notification with used.idx still {used}, as at the \
                                 previous one (line {l})"
                            ),
                        )
                        .at(u64::from(line), time)
                        .on(label, Some(qn))
                    });
                }
                q.flushes_since_irq = 0;
                q.last_irq = Some((line, q.used_idx.0));
            }
            EventKind::QueueNotify { vq, .. } => {
                let qi = self.queue_of(st, store, vq);
                if let Some(q) = st.queues.get_mut(qi) {
                    q.kicks += 1;
                    q.last_kick = Some((line, e.time_us));
                }
            }
            EventKind::SetStatus { vdev, status } => {
                let Some(di) = st.devices.iter().position(|d| d.obj == vdev) else {
                    return;
                };
                let label = st
                    .devices
                    .get(di)
                    .map(DeviceState::label)
                    .unwrap_or_default();
                let old = st.devices.get(di).map_or(0, |d| d.status);
                if let Some(d) = st.devices.get_mut(di) {
                    d.status = status;
                    if status == 0 && old != 0 {
                        d.resets += 1;
                    }
                }
                if status & 0x40 != 0 && old & 0x40 == 0 {
                    let l2 = label.clone();
                    sink.push(|| {
                        Finding::seen(
                            Code::DeviceBroken,
                            Severity::Error,
                            format!(
                                "status {status:#04x} has VIRTIO_CONFIG_S_NEEDS_RESET: QEMU hit a \
                                 virtio_error on this device (see QEMU's stderr for the message)"
                            ),
                        )
                        .at(u64::from(line), time)
                        .on(l2, None)
                    });
                }
                if status == 0 {
                    for q in st.queues.iter_mut().filter(|q| q.dev == di) {
                        q.epoch += 1;
                        if !q.outstanding.is_empty() && old != 0 {
                            let (n, qn) = (q.outstanding.len(), q.queue);
                            let l2 = label.clone();
                            sink.push(|| {
                                Finding::seen(
                                    Code::ResetInFlight,
                                    Severity::Info,
                                    format!("device reset dropped {n} buffers in flight"),
                                )
                                .at(u64::from(line), time)
                                .on(l2, Some(qn))
                            });
                        }
                        if old != 0 || q.pops > 0 {
                            q.reset(line);
                        }
                        let vq = Some(q.vq_obj).filter(|&v| v != NO_OBJ);
                        // A reset alone changes no layout: an epoch that shows none keeps the
                        // one the queue last ran with.
                        let want = match self.layout_for(vq, q.epoch, q.packed_cfg) {
                            QueueLayout::Unknown => q.layout,
                            known => known,
                        };
                        if want != q.layout {
                            q.set_layout(want);
                        }
                    }
                }
            }
            EventKind::VhostDev { hdev, start, .. } => {
                let vdev = self.ident.hdev.get(&hdev).copied();
                if let Some(v) = st
                    .devices
                    .iter_mut()
                    .find(|d| Some(d.obj) == vdev)
                    .and_then(|d| d.vhost.as_mut())
                {
                    v.started = start;
                    if start {
                        v.starts += 1;
                    } else {
                        v.stops += 1;
                    }
                }
            }
            EventKind::VhostUser { req, reply, .. } => {
                let mut served = st.devices.iter_mut().filter_map(|d| d.vhost.as_mut());
                if let (Some(v), None) = (served.next(), served.next()) {
                    if reply {
                        v.replies += 1;
                    } else {
                        *v.requests.entry(vhost_user_request(req)).or_insert(0) += 1;
                    }
                }
            }
            EventKind::RunState { .. }
            | EventKind::Device { .. }
            | EventKind::Other { .. }
            | EventKind::Unknown { .. } => {}
        }
    }

    pub(super) fn label(&self, st: &ReplayState, qi: usize) -> String {
        st.queues
            .get(qi)
            .and_then(|q| st.devices.get(q.dev))
            .map(|d| {
                if d.vdev == 0 {
                    format!("{}@vq", d.device_type)
                } else {
                    d.label()
                }
            })
            .unwrap_or_default()
    }

    /// End-of-window checks: leaks, buffers in flight, silent stalls.
    pub(super) fn finish(&self, st: &ReplayState, store: &TraceStore, sink: &mut Sink<'_>) {
        for (qi, q) in st.queues.iter().enumerate() {
            let label = self.label(st, qi);
            if q.popped_unknown {
                sink.push(|| {
                    Finding::seen(
                        Code::LayoutUnknown,
                        Severity::Info,
                        "ring layout unknown: this stretch of the trace has no virtqueue_flush \
                         (split only) and no completion followed by more traffic (packed), and \
                         no QMP status or ring dump says; pops and completions are counted, \
                         positions and layout checks are left out (add --qmp)",
                    )
                    .on(label.clone(), Some(q.queue))
                });
            }
            let mut out: Vec<(&ObjId, &Outstanding)> = q.outstanding.iter().collect();
            out.sort_by_key(|(_, o)| o.seq);
            let mut in_flight = 0;
            for (&elem, o) in out {
                if o.seq < q.max_done_seq {
                    let later = q.max_done_seq - o.seq;
                    let ptr = store.object(elem);
                    sink.push(|| {
                        Finding::seen(
                            Code::Leak,
                            Severity::Warning,
                            format!(
                                "buffer elem {ptr:#x} (in_num {} out_num {}) popped here was \
                                 never completed, while buffers popped up to {later} pops \
                                 later were",
                                o.in_num, o.out_num
                            ),
                        )
                        .at(u64::from(o.line), (o.time != u64::MAX).then_some(o.time))
                        .on(label.clone(), Some(q.queue))
                    });
                } else {
                    in_flight += 1;
                }
            }
            if in_flight > 0 {
                sink.push(|| {
                    Finding::seen(
                        Code::InFlight,
                        Severity::Info,
                        format!("{in_flight} buffers still in flight where the replay ends"),
                    )
                    .on(label.clone(), Some(q.queue))
                });
            }
            // Silent stall: this queue's completions were always signalled, the last batch was
            // not, and nobody touched the queue afterwards.
            if let (Some((fl, ft)), Some((il, used_at_irq))) = (q.last_flush, q.last_irq) {
                let later_kick = q.last_kick.is_some_and(|(k, _)| k > fl);
                if q.flushes_since_irq > 0
                    && q.unsignalled_batches == 0
                    && q.signalled_batches >= 2
                    && !later_kick
                    && q.last_pop.is_none_or(|p| p <= fl)
                {
                    let used = q.used_idx;
                    sink.push(|| {
                        Finding::seen(
                            Code::Stall,
                            Severity::Warning,
                            format!(
                                "used.idx moved to {used} after the last used-buffer notification \
                                 (line {il}, used.idx {used_at_irq}) and neither side touched the \
                                 queue again; every earlier completion on this queue was \
                                 notified, so the driver may be asleep waiting for an interrupt"
                            ),
                        )
                        .at(u64::from(fl), (ft != u64::MAX).then_some(ft))
                        .on(label.clone(), Some(q.queue))
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_positions_wrap() {
        // Queue of 4, no indirect: three pops of 2 descriptors each cross the end once.
        let mut t = String::from("virtio_queue_notify vdev 0x1 n 0 vq 0x2\n");
        for e in 0..3 {
            t += &format!("virtqueue_pop vq 0x2 elem 0x{e}0 in_num 1 out_num 1\n");
            // QEMU 7.2 traces no virtqueue_flush on packed rings.
            t += &format!("virtqueue_fill vq 0x2 elem 0x{e}0 len 1 idx 0\n");
        }
        let store = TraceStore::from_bytes(t.as_bytes(), "p.log");
        let r = Replayer::new(
            &store,
            None,
            &[],
            &ReplayOptions {
                ring_kind: Some(RingKind::Packed),
                indirect: Some(false),
                ..Default::default()
            },
        );
        let mut st = r.initial(&store);
        st.queues[0].size = Some(4);
        let mut none = Sink { out: None };
        for e in store.events() {
            r.apply(&mut st, &store, e, &mut none);
        }
        let q = &st.queues[0];
        // 6 descriptors in a ring of 4: slot 2 of the second lap (wrap counter 0).
        let want = crate::layout::PackedPos {
            slot: 2,
            wrap: crate::layout::WrapCounter(false),
        };
        assert_eq!(q.avail_pos, Some(want));
        assert_eq!(q.used_pos, Some(want));
        assert_eq!(q.last_avail_idx, RingIdx(2));
        assert_eq!((q.inuse, q.completed), (0, 3));
    }
}
