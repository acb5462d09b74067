//! What replay learns before the first event: which `vq` is which device's queue, each
//! device's type, and the sizes, features and layouts QMP and ring dumps tell.
//!
//! A QEMU trace names things by host pointers only. `virtio_queue_notify vdev n vq` is the one
//! event that ties a `vq` to a device and a queue index, so the whole trace is read for it first
//! (pops before a queue's first kick are placed too). Device types come from device events
//! (`virtio_blk_*` naming the `vdev`), `vhost_dev_start`, QMP names, or the queue layout.

use std::collections::HashMap;

use crate::layout::RingKind;
use crate::trace::event::{DeviceType, Event, EventKind, NO_OBJ, ObjId};
use crate::trace::import::qmp::{QmpBody, QmpTranscript};
use crate::trace::import::ringdump::DumpInput;
use crate::trace::import::store::TraceStore;

/// Static facts learned before replaying: identities, types, sizes, features.
#[derive(Debug, Clone, Default)]
pub(super) struct Identity {
    /// vq → (vdev, queue)
    pub(super) vq: HashMap<ObjId, (ObjId, u16)>,
    /// vdev → type and source
    pub(super) types: HashMap<ObjId, (DeviceType, &'static str)>,
    /// vdev order of first appearance
    pub(super) order: Vec<ObjId>,
    /// vdev → number of queues seen
    pub(super) nqueues: HashMap<ObjId, u16>,
    /// The layout the trace itself shows for a queue (`vq`) in an epoch (the span between two
    /// resets), see [`epoch_layouts`].
    pub(super) layouts: HashMap<(ObjId, u32), RingKind>,
    /// vdev → (hdev, type) for devices a vhost backend serves. `vhost_dev_start` names the
    /// `struct vhost_dev`, not the `vdev`; QEMU starts vhost from the device's status write,
    /// so the vdev is that of the `virtio_set_status` just before.
    pub(super) vhost: HashMap<ObjId, ObjId>,
    /// hdev → vdev.
    pub(super) hdev: HashMap<ObjId, ObjId>,
    /// `vhost-user` when vhost-user messages are in the trace.
    pub(super) vhost_user: bool,
}

pub(super) fn learn_identity(
    store: &TraceStore,
    events: &[Event],
    qmp: Option<&QmpTranscript>,
) -> Identity {
    let mut id = Identity::default();
    let see = |id: &mut Identity, v: ObjId| {
        if !id.order.contains(&v) {
            id.order.push(v);
        }
    };
    let mut last_status: Option<ObjId> = None;
    for e in events {
        match e.kind {
            EventKind::SetStatus { vdev, .. } => last_status = Some(vdev),
            EventKind::VhostDev { hdev, device, .. } => {
                if let Some(v) = id.hdev.get(&hdev).copied().or(last_status) {
                    id.hdev.entry(hdev).or_insert(v);
                    id.vhost.entry(v).or_insert(hdev);
                    id.types.entry(v).or_insert((device, "vhost_dev_start"));
                }
            }
            EventKind::VhostUser { .. } => id.vhost_user = true,
            _ => {}
        }
    }
    for e in events {
        match e.kind {
            EventKind::QueueNotify { vdev, queue, vq } => {
                see(&mut id, vdev);
                id.vq.entry(vq).or_insert((vdev, queue));
                let n = id.nqueues.entry(vdev).or_insert(0);
                *n = (*n).max(queue.saturating_add(1));
            }
            EventKind::SetStatus { vdev, .. } | EventKind::Notify { vdev, .. } => {
                see(&mut id, vdev)
            }
            EventKind::Device { obj, device, .. } if obj != NO_OBJ => {
                id.types.entry(obj).or_insert((device, "device events"));
            }
            _ => {}
        }
    }
    let _ = store;
    id.layouts = epoch_layouts(&id.vq, events);
    // QMP names: assign each device type QMP lists to the one trace device that can take it.
    if let Some(q) = qmp {
        let mut names: Vec<(DeviceType, Option<u64>)> = Vec::new();
        for r in &q.records {
            if let QmpBody::Status(st) = &r.body {
                let t = DeviceType::from_qemu_name(&st.name);
                if !names.iter().any(|(x, _)| *x == t) {
                    names.push((t, st.num_vqs));
                }
            }
        }
        names.retain(|(t, _)| !id.types.values().any(|(x, _)| x == t));
        let unknown: Vec<ObjId> = id
            .order
            .iter()
            .copied()
            .filter(|v| !id.types.contains_key(v))
            .collect();
        if names.len() == 1 && unknown.len() == 1 {
            if let (Some((t, _)), Some(v)) = (names.first(), unknown.first()) {
                id.types.insert(*v, (*t, "QMP device list"));
            }
        } else {
            for v in unknown {
                let nq = id.nqueues.get(&v).copied().unwrap_or(0);
                let fits: Vec<_> = names
                    .iter()
                    .filter(|(_, n)| n.is_some_and(|n| n == u64::from(nq)))
                    .collect();
                if let [(t, _)] = fits.as_slice() {
                    id.types.insert(v, (*t, "QMP num-vqs"));
                }
            }
        }
    }
    // Still unknown: a device with 3 or more queues and no device events is virtio-net.
    for &v in &id.order {
        if !id.types.contains_key(&v) && id.nqueues.get(&v).copied().unwrap_or(0) >= 3 {
            id.types
                .insert(v, (DeviceType::Net, "queue layout (rx/tx/ctrl)"));
        }
    }
    id
}

/// What one queue did in one epoch, as far as the layout goes.
#[derive(Debug, Clone, Copy, Default)]
struct EpochSeen {
    flush: bool,
    fill: bool,
    after_fill: bool,
}

/// The layout each queue's epochs show in QEMU 7.2's own events. `hw/virtio/virtio.c` traces
/// `virtqueue_flush` in `virtqueue_split_flush` only (`virtqueue_packed_flush` has no trace
/// point), while `virtqueue_fill`, `virtqueue_pop` and the notifications are traced for both
/// layouts. So:
///
/// - an epoch with a flush ran split (SeaBIOS drives a packed-capable device split before
///   Linux resets it and negotiates packed);
/// - an epoch with fills, traffic on the queue after a fill (a pop, a fill, a kick or an
///   interrupt: a split device would have flushed before any of those) and no flush ran packed;
/// - an epoch with no fill, or whose only fill ends the trace, shows nothing: left out, so
///   QMP, the dumps or "unknown" decide.
pub(super) fn epoch_layouts(
    vq_of: &HashMap<ObjId, (ObjId, u16)>,
    events: &[Event],
) -> HashMap<(ObjId, u32), RingKind> {
    let mut epoch: HashMap<ObjId, u32> = HashMap::new();
    let mut seen: HashMap<(ObjId, u32), EpochSeen> = HashMap::new();
    for e in events {
        let vq = match e.kind {
            EventKind::SetStatus { vdev, status: 0 } => {
                *epoch.entry(vdev).or_insert(0) += 1;
                continue;
            }
            EventKind::Flush { vq, .. }
            | EventKind::Fill { vq, .. }
            | EventKind::Pop { vq, .. }
            | EventKind::Notify { vq, .. }
            | EventKind::QueueNotify { vq, .. } => vq,
            _ => continue,
        };
        let ep = vq_of
            .get(&vq)
            .and_then(|(vdev, _)| epoch.get(vdev))
            .copied()
            .unwrap_or(0);
        let s = seen.entry((vq, ep)).or_default();
        s.after_fill |= s.fill;
        match e.kind {
            EventKind::Flush { .. } => s.flush = true,
            EventKind::Fill { .. } => s.fill = true,
            _ => {}
        }
    }
    seen.into_iter()
        .filter_map(|(k, s)| {
            let layout = if s.flush {
                RingKind::Split
            } else if s.fill && s.after_fill {
                RingKind::Packed
            } else {
                return None;
            };
            Some((k, layout))
        })
        .collect()
}

/// Per-device-type facts from QMP and dumps: layout, features, per-queue sizes.
#[derive(Debug, Clone, Default)]
pub(super) struct Facts {
    /// `num-vqs` of devices QMP says a vhost backend serves.
    pub(super) vhost_vqs: HashMap<DeviceType, u16>,
    pub(super) features: HashMap<DeviceType, Vec<String>>,
    pub(super) sizes: HashMap<(DeviceType, u16), u16>,
    pub(super) packed: HashMap<DeviceType, bool>,
}

pub(super) fn learn_facts(qmp: Option<&QmpTranscript>, rings: &[DumpInput]) -> Facts {
    let mut f = Facts::default();
    if let Some(q) = qmp {
        for r in &q.records {
            match &r.body {
                QmpBody::Status(st) => {
                    let t = DeviceType::from_qemu_name(&st.name);
                    f.packed.insert(t, st.has("VIRTIO_F_RING_PACKED"));
                    if st.vhost
                        && let Some(n) = st.num_vqs.and_then(|n| u16::try_from(n).ok())
                    {
                        f.vhost_vqs.insert(t, n);
                    }
                    f.features.insert(t, st.guest_features.clone());
                }
                QmpBody::QueueStatus(qs) => {
                    if let Ok(n) = u16::try_from(qs.vring_num)
                        && n > 0
                    {
                        let t = DeviceType::from_qemu_name(&qs.name);
                        f.sizes.insert((t, qs.queue_index), n);
                    }
                }
                _ => {}
            }
        }
    }
    for d in rings {
        let t = DeviceType::from_qemu_name(d.device_name.as_deref().unwrap_or(""));
        if let (Some(q), Some(n)) = (d.queue, d.size) {
            f.sizes.entry((t, q)).or_insert(n);
        }
        if let Some(k) = d.kind {
            f.packed.entry(t).or_insert(k == RingKind::Packed);
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layouts(t: &str) -> Vec<(u32, RingKind)> {
        let store = TraceStore::from_bytes(t.as_bytes(), "t.log");
        let id = learn_identity(&store, store.events(), None);
        let mut v: Vec<(u32, RingKind)> = id.layouts.iter().map(|(&(_, e), &k)| (e, k)).collect();
        v.sort_by_key(|x| x.0);
        v
    }

    #[test]
    fn each_epoch_shows_its_own_layout() {
        // SeaBIOS drives the device split (a flush), Linux resets it and runs it packed (fills,
        // more traffic, no flush), then a reset and one last fill that ends the trace.
        let t = "\
virtio_queue_notify vdev 0x1 n 0 vq 0x2
virtqueue_pop vq 0x2 elem 0x3 in_num 1 out_num 1
virtqueue_fill vq 0x2 elem 0x3 len 1 idx 0
virtqueue_flush vq 0x2 count 1
virtio_set_status vdev 0x1 val 0
virtqueue_pop vq 0x2 elem 0x3 in_num 1 out_num 1
virtqueue_fill vq 0x2 elem 0x3 len 1 idx 0
virtio_notify vdev 0x1 vq 0x2
virtio_set_status vdev 0x1 val 0
virtqueue_pop vq 0x2 elem 0x3 in_num 1 out_num 1
virtqueue_fill vq 0x2 elem 0x3 len 1 idx 0
";
        assert_eq!(layouts(t), [(0, RingKind::Split), (1, RingKind::Packed)]);
        // Split's pop-fill-pop-fill-flush batch (virtio-net rx) is split, not packed.
        let rx = "\
virtio_queue_notify vdev 0x1 n 0 vq 0x2
virtqueue_pop vq 0x2 elem 0x3 in_num 1 out_num 0
virtqueue_fill vq 0x2 elem 0x3 len 1 idx 0
virtqueue_pop vq 0x2 elem 0x4 in_num 1 out_num 0
virtqueue_fill vq 0x2 elem 0x4 len 1 idx 1
virtqueue_flush vq 0x2 count 2
";
        assert_eq!(layouts(rx), [(0, RingKind::Split)]);
    }
}
