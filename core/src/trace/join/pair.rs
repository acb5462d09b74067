//! Which driver queue is which device queue.
//!
//! The driver names a queue by its `struct virtqueue` pointer, `virtioN`'s N and the queue
//! index; QEMU by host pointers. Linux's queue names give the device type (`req.N` blk,
//! `input.N`/`output.N`/`control` net, `input` rng), so a driver device pairs with the QEMU
//! device of that type (in order of appearance when there are several), and a queue with the
//! device's queue of the same index. A vhost-user device's rx/tx rings are served by the
//! backend: with DPDK's log they pair with its vring of the same index; QEMU still serves
//! virtio-net's control queue, whose pops are in its trace.

use serde::Serialize;

use super::clock::GuestClock;
use crate::trace::event::{DeviceType, EventKind, NO_OBJ, ObjId};
use crate::trace::import::dpdk::DpdkLog;
use crate::trace::import::driver::DriverTrace;
use crate::trace::import::store::TraceStore;
use crate::trace::state::ReplayState;

/// Who serves a driver queue, as far as the inputs show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DeviceSide {
    /// QEMU: its queue (index into the replay's queues) and `vq`.
    Qemu {
        /// Index into [`ReplayState::queues`].
        queue: usize,
        /// The `vq` pointer, interned.
        #[serde(skip)]
        vq: ObjId,
    },
    /// DPDK, through this vring.
    Dpdk {
        /// The vring (the virtio queue index).
        vring: u16,
    },
    /// Nothing in the inputs.
    Missing,
}

/// A driver queue and its device side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JoinedQueue {
    /// Index into the driver's queues.
    pub driver: u16,
    /// The device side.
    pub device: DeviceSide,
    /// The name breakpoints use (`blk0.q0`), from the device side (`net0.q1` for DPDK's).
    pub name: String,
    /// `req.0 (virtio0)`.
    pub driver_name: String,
    /// `virtio-blk@0x…`, `DPDK vring 1`, or why there is none.
    pub device_name: String,
    /// The driver's ring size.
    pub size: u32,
    /// Packed ring.
    pub packed: bool,
    /// The device type the queue's name implies.
    pub device_type: DeviceType,
    /// Buffers wait on it for the device (net rx): a long wait is normal.
    pub device_initiated: bool,
}

/// The driver's events per queue: indices into its events.
pub(crate) fn events_per_queue(driver: &DriverTrace) -> Vec<Vec<u32>> {
    let mut v: Vec<Vec<u32>> = vec![Vec::new(); driver.queues().len()];
    for (i, e) in driver.events().iter().enumerate() {
        if let Some(q) = v.get_mut(usize::from(e.queue)) {
            q.push(i as u32);
        }
    }
    v
}

/// Pairs every driver queue with its device side.
pub(crate) fn pair(
    driver: &DriverTrace,
    st0: &ReplayState,
    store: &TraceStore,
    dpdk: Option<&DpdkLog>,
    per_queue: &[Vec<u32>],
    clock: &GuestClock,
    notes: &mut Vec<String>,
) -> Vec<JoinedQueue> {
    let names = st0.queue_names();
    // Pops per QEMU vq, to tell the queues QEMU serves.
    let mut pops: std::collections::HashMap<ObjId, u64> = std::collections::HashMap::new();
    for e in store.events() {
        if let EventKind::Pop { vq, .. } = e.kind {
            *pops.entry(vq).or_insert(0) += 1;
        }
    }
    // Driver devices (virtioN) by type, in order of first appearance; QEMU's likewise.
    let first_time = |q: usize| {
        per_queue
            .get(q)
            .and_then(|v| v.first())
            .and_then(|&i| driver.events().get(i as usize))
            .map_or(u64::MAX, |e| clock.to_host(e.time_us))
    };
    let mut driver_devs: Vec<(i32, DeviceType, u64)> = Vec::new();
    for (qi, q) in driver.queues().iter().enumerate() {
        let t = q.device_type();
        let at = first_time(qi);
        match driver_devs.iter_mut().find(|d| d.0 == q.dev) {
            Some(d) => d.2 = d.2.min(at),
            None => driver_devs.push((q.dev, t, at)),
        }
    }
    driver_devs.sort_by_key(|d| d.2);
    let qemu_devs = |t: DeviceType| -> Vec<usize> {
        (0..st0.devices.len())
            .filter(|&d| st0.devices[d].device_type == t && st0.devices[d].vdev != 0)
            .collect()
    };
    let mut out = Vec::new();
    for (qi, q) in driver.queues().iter().enumerate() {
        let t = q.device_type();
        let rank = driver_devs
            .iter()
            .filter(|d| d.1 == t)
            .position(|d| d.0 == q.dev)
            .unwrap_or(0);
        let devs = qemu_devs(t);
        let dev = devs.get(rank).copied();
        let qemu_q = dev.and_then(|d| {
            st0.queues
                .iter()
                .position(|x| x.dev == d && x.queue == q.index && x.vq_obj() != NO_OBJ)
        });
        let vhost = dev.is_some_and(|d| st0.devices[d].vhost.is_some());
        let served_by_qemu = qemu_q
            .filter(|&i| !vhost || pops.get(&st0.queues[i].vq_obj()).copied().unwrap_or(0) > 0);
        let (device, name, device_name) = if let Some(i) = served_by_qemu {
            let label = dev
                .and_then(|d| st0.devices.get(d))
                .map(|d| d.label())
                .unwrap_or_default();
            (
                DeviceSide::Qemu {
                    queue: i,
                    vq: st0.queues[i].vq_obj(),
                },
                names.get(i).cloned().unwrap_or_default(),
                label,
            )
        } else if vhost && dpdk.is_some() {
            let base = dev
                .and_then(|d| {
                    st0.queues
                        .iter()
                        .position(|x| x.dev == d && x.queue == q.index)
                })
                .and_then(|i| names.get(i).cloned())
                .unwrap_or_else(|| format!("net0.q{}", q.index));
            (
                DeviceSide::Dpdk { vring: q.index },
                base,
                format!("DPDK vring {}", q.index),
            )
        } else {
            let why = match (dev, vhost) {
                (None, _) => format!(
                    "no {} device in {} for virtio{}",
                    t.name(),
                    store.source(),
                    q.dev
                ),
                (Some(_), true) => {
                    "served by a vhost backend whose log is not given (--dpdk)".into()
                }
                (Some(_), false) => format!("no queue {} of that device in the trace", q.index),
            };
            notes.push(format!(
                "driver queue {} (virtio{} q{}): device side missing: {why}",
                q.name, q.dev, q.index
            ));
            (
                DeviceSide::Missing,
                format!("virtio{}.q{}", q.dev, q.index),
                why,
            )
        };
        out.push(JoinedQueue {
            driver: u16::try_from(qi).unwrap_or(u16::MAX),
            device,
            name,
            driver_name: format!("{} (virtio{})", q.name, q.dev),
            device_name,
            size: q.num,
            packed: q.packed,
            device_type: t,
            device_initiated: q.device_initiated(),
        });
    }
    out
}
