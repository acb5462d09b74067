//! Where QEMU's snapshots land in the trace: the step of each VM stop a QMP snapshot or ring
//! dump was taken in, and the vhost queue statuses those snapshots read, placed at their steps.

use crate::trace::event::{DeviceType, EventKind};
use crate::trace::import::qmp::QmpTranscript;
use crate::trace::import::store::TraceStore;

/// QEMU's counters of one queue a vhost backend may serve, as a QMP snapshot read them.
#[derive(Debug, Clone)]
pub(super) struct VhostSync {
    /// Step of the snapshot (events applied; at least 1).
    pub(super) step: usize,
    /// Device type and queue index the answer names.
    pub(super) device: DeviceType,
    pub(super) queue: u16,
    /// `last-avail-idx`, `used-idx`, `inuse`.
    pub(super) last_avail_idx: u16,
    pub(super) used_idx: u16,
    pub(super) inuse: u32,
}

/// Every queue status of every snapshot placed in the trace, in step order (the transcript's
/// order within a step).
pub(super) fn vhost_syncs(store: &TraceStore, qmp: &QmpTranscript) -> Vec<VhostSync> {
    let steps = snapshot_steps(store, Some(qmp), qmp.stop_times.len());
    let mut out: Vec<VhostSync> = qmp
        .queue_statuses()
        .filter_map(|(rec, qs)| {
            let k = usize::try_from(rec.snapshot.checked_sub(1)?).ok()?;
            let step = (*steps.get(k)?)?;
            Some(VhostSync {
                step: step.max(1),
                device: DeviceType::from_qemu_name(&qs.name),
                queue: qs.queue_index,
                last_avail_idx: qs.last_avail_idx,
                used_idx: qs.used_idx,
                inuse: qs.inuse,
            })
        })
        .collect();
    out.sort_by_key(|s| s.step);
    out
}

/// The step (number of events applied) at which each of the first `n` snapshots was taken: the
/// k-th VM stop in the trace (`virtio_rng_vm_state_change … running 0`), else the time of the
/// QMP `STOP` event of the k-th `stop` command, when the trace has timestamps.
pub(super) fn snapshot_steps(
    store: &TraceStore,
    qmp: Option<&QmpTranscript>,
    n: usize,
) -> Vec<Option<usize>> {
    let stops: Vec<usize> = store
        .events()
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e.kind, EventKind::RunState { running: false }))
        .map(|(i, _)| i + 1)
        .collect();
    let timed = store.stats.timestamped_events > 0;
    (0..n)
        .map(|k| {
            stops.get(k).copied().or_else(|| {
                let t = qmp?.stop_times.get(k).copied().flatten()?;
                timed.then(|| store.steps_until_time(t))
            })
        })
        .collect()
}
