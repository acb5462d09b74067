//! The canonical event model every importer produces.
//!
//! A QEMU trace names things by host pointers (`vdev 0x55d6…`, `vq 0x7f01…`, `elem 0x55e6…`).
//! Those pointers are the only identity a trace carries, so the model keeps them, but interned
//! into small [`ObjId`]s: an event is then a fixed-size `Copy` record of 40 bytes, which is what
//! lets a gigabyte trace sit in memory and be stepped through at random. Free text (arguments of
//! events the replay does not model, whole unknown lines) goes to a side arena and is referred to
//! by [`TextId`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// An interned host pointer (`vdev`, `vq`, `elem`, …). Index into the store's object table.
pub type ObjId = u32;
/// An interned event name. Index into the store's name table.
pub type NameId = u32;
/// A span of kept text (event arguments or a whole unknown line). Index into the text arena.
pub type TextId = u32;

/// Sentinel for "the line had no timestamp" (no `-msg timestamp=on`).
pub const NO_TIME: u64 = u64::MAX;

/// Which kind of virtio device an event family or a QMP name stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DeviceType {
    /// Not known (yet).
    Unknown,
    /// virtio-blk (device id 2).
    Blk,
    /// virtio-net (device id 1).
    Net,
    /// virtio-rng (device id 4).
    Rng,
    /// virtio-balloon (device id 5).
    Balloon,
    /// virtio-serial / console (device id 3).
    Serial,
    /// virtio-scsi (device id 8).
    Scsi,
    /// virtio-gpu (device id 16).
    Gpu,
    /// virtio-input (device id 18).
    Input,
    /// virtio-iommu (device id 23).
    Iommu,
    /// virtio-mem (device id 24).
    Mem,
    /// Any other device QEMU names.
    Other,
}

impl DeviceType {
    /// QEMU's name for the device (as in `x-query-virtio`'s `name`).
    pub fn name(self) -> &'static str {
        match self {
            DeviceType::Unknown => "unknown",
            DeviceType::Blk => "virtio-blk",
            DeviceType::Net => "virtio-net",
            DeviceType::Rng => "virtio-rng",
            DeviceType::Balloon => "virtio-balloon",
            DeviceType::Serial => "virtio-serial",
            DeviceType::Scsi => "virtio-scsi",
            DeviceType::Gpu => "virtio-gpu",
            DeviceType::Input => "virtio-input",
            DeviceType::Iommu => "virtio-iommu",
            DeviceType::Mem => "virtio-mem",
            DeviceType::Other => "virtio-other",
        }
    }

    /// Parses QEMU's device name (`virtio-blk`, `vhost-user-blk`, …).
    pub fn from_qemu_name(name: &str) -> DeviceType {
        let n = name.trim();
        let tail = n
            .strip_prefix("virtio-")
            .or_else(|| n.strip_prefix("vhost-user-"))
            .or_else(|| n.strip_prefix("vhost-"))
            .unwrap_or(n);
        match tail {
            "blk" => DeviceType::Blk,
            "net" => DeviceType::Net,
            "rng" => DeviceType::Rng,
            "balloon" => DeviceType::Balloon,
            "serial" | "console" => DeviceType::Serial,
            "scsi" => DeviceType::Scsi,
            "gpu" => DeviceType::Gpu,
            "input" => DeviceType::Input,
            "iommu" => DeviceType::Iommu,
            "mem" => DeviceType::Mem,
            _ => DeviceType::Other,
        }
    }
}

impl fmt::Display for DeviceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which trace-event family a recognised but unmodelled event belongs to. Kept so that counts
/// and exports can group them, and so that "unknown" really means "not a virtio event".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Family {
    /// `virtio_*` core, transport (`virtio_pci_*`, `virtio_mmio_*`) or device events.
    Virtio,
    /// `vhost_*` events (vhost, vhost-user, vhost-vdpa).
    Vhost,
}

/// What happened. Every variant is `Copy` and at most 20 bytes, so an [`Event`] is 40.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// `virtio_queue_notify vdev %p n %d vq %p`: the driver kicked queue `n` (available-buffer
    /// notification). The only event that names both the device and the queue index, so replay
    /// learns each `vq` pointer's identity from it.
    QueueNotify {
        /// The device.
        vdev: ObjId,
        /// Queue index within the device.
        queue: u16,
        /// The queue.
        vq: ObjId,
    },
    /// `virtio_notify vdev %p vq %p` (or `virtio_notify_irqfd`, `irqfd` true): the device
    /// interrupted the driver (used-buffer notification). QEMU traces it only when
    /// `virtio_should_notify` said yes, so its absence is meaningful.
    Notify {
        /// The device.
        vdev: ObjId,
        /// The queue.
        vq: ObjId,
        /// Sent through the irqfd path (dataplane / vhost) rather than `virtio_irq`.
        irqfd: bool,
    },
    /// `virtqueue_alloc_element elem %p size %zd in_num %u out_num %u`: an element is about to
    /// be popped (its memory allocated).
    AllocElement {
        /// The element.
        elem: ObjId,
        /// Writable (device-written) scatter-gather entries.
        in_num: u16,
        /// Readable (driver-written) scatter-gather entries.
        out_num: u16,
    },
    /// `virtqueue_pop vq %p elem %p in_num %u out_num %u`: the device took one available buffer
    /// (split: `last_avail_idx += 1`; packed: `last_avail_idx += ndescs`).
    Pop {
        /// The queue.
        vq: ObjId,
        /// The element, the buffer's identity until it is filled.
        elem: ObjId,
        /// Writable entries.
        in_num: u16,
        /// Readable entries.
        out_num: u16,
    },
    /// `virtqueue_fill vq %p elem %p len %u idx %u`: the device wrote a used element at offset
    /// `idx` from `used_idx` (not yet visible to the driver).
    Fill {
        /// The queue.
        vq: ObjId,
        /// The element being completed.
        elem: ObjId,
        /// Bytes written into the buffer.
        len: u32,
        /// Offset within the pending batch.
        idx: u16,
    },
    /// `virtqueue_flush vq %p count %u`: the device published `count` filled elements
    /// (split: `used.idx += count`).
    Flush {
        /// The queue.
        vq: ObjId,
        /// Elements published.
        count: u16,
    },
    /// `virtio_set_status vdev %p val %u`: the driver wrote the status byte; 0 is a reset.
    SetStatus {
        /// The device.
        vdev: ObjId,
        /// New status.
        status: u8,
    },
    /// The VM stopped or resumed (`virtio_rng_vm_state_change … running %d`). QMP snapshots
    /// are taken while stopped, so these mark where a snapshot belongs in the trace.
    RunState {
        /// Running after the change.
        running: bool,
    },
    /// `vhost_dev_start` / `vhost_dev_stop` `%p:%s vrings:%d`: QEMU handed a device's rings to
    /// its vhost backend (start: `SET_VRING_NUM/ADDR/BASE/KICK/CALL`, then enable) or took them
    /// back (stop: `GET_VRING_BASE` reads the backend's `last_avail_idx`). From then on the
    /// backend, not QEMU, pops and completes: QEMU's trace shows no virtqueue events for it.
    VhostDev {
        /// The `struct vhost_dev` pointer (not the `vdev`).
        hdev: ObjId,
        /// The device type from the name QEMU prints (`virtio-blk`).
        device: DeviceType,
        /// Start (true) or stop.
        start: bool,
    },
    /// `vhost_user_write` / `vhost_user_read` `req:%d flags:0x%x`: a vhost-user message sent to
    /// the backend, or a reply read from it. The trace names no device.
    VhostUser {
        /// `VhostUserRequest` number (8 `SET_VRING_NUM`, 11 `GET_VRING_BASE`, 12
        /// `SET_VRING_KICK`, 13 `SET_VRING_CALL`, 18 `SET_VRING_ENABLE`, …).
        req: u32,
        /// Header flags (version 0x1, reply 0x4, need-reply 0x8).
        flags: u32,
        /// A reply read from the backend (`vhost_user_read`).
        reply: bool,
    },
    /// A device-specific event (`virtio_blk_*`, `virtio_rng_*`, `virtio_net_*`, …). Its family
    /// tells the device type; `obj` is the device pointer when the event names one.
    Device {
        /// The device pointer (`vdev %p`, `rng %p`), or `u32::MAX` when the event has none.
        obj: ObjId,
        /// The device type the event family belongs to.
        device: DeviceType,
        /// Event name.
        name: NameId,
        /// Arguments as printed.
        text: TextId,
    },
    /// Another virtio or vhost event, recognised by name but not modelled by replay.
    Other {
        /// Family.
        family: Family,
        /// Event name.
        name: NameId,
        /// Arguments as printed.
        text: TextId,
    },
    /// A line that is not a (well-formed) virtio, virtqueue or vhost event: kept whole and
    /// counted, never dropped.
    Unknown {
        /// First word of the line (or `<garbage>`), interned.
        name: NameId,
        /// The whole line.
        text: TextId,
    },
}

/// Marks [`EventKind::Device::obj`] as "no device pointer in this event".
pub const NO_OBJ: ObjId = u32::MAX;

/// One trace event: what, where in the file, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Microseconds since the epoch from the `tid@sec.usec:` prefix, or [`NO_TIME`].
    pub time_us: u64,
    /// 1-based line number in the trace file (for messages and `--until-line`).
    pub line: u32,
    /// Thread id from the prefix, or 0.
    pub tid: u32,
    /// What happened.
    pub kind: EventKind,
}

impl Event {
    /// The timestamp, if the trace had one.
    pub fn time(&self) -> Option<u64> {
        (self.time_us != NO_TIME).then_some(self.time_us)
    }
}

/// The vhost-user request names (the vhost-user protocol's `VhostUserRequest`, QEMU 7.2).
pub fn vhost_user_request(req: u32) -> &'static str {
    usize::try_from(req)
        .ok()
        .and_then(|i| VHOST_USER_REQUESTS.get(i))
        .copied()
        .unwrap_or("UNKNOWN")
}

/// The request number of a vhost-user request name (`SET_VRING_BASE`), as QEMU numbers it;
/// DPDK's newer `BACKEND` spellings name the same requests as QEMU 7.2's `SLAVE` ones.
pub fn vhost_user_request_number(name: &str) -> Option<u32> {
    let name = name.replace("BACKEND", "SLAVE");
    VHOST_USER_REQUESTS
        .iter()
        .position(|n| *n == name)
        .map(|i| i as u32)
}

/// `VhostUserRequest` by number.
const VHOST_USER_REQUESTS: [&str; 41] = [
    "NONE",
    "GET_FEATURES",
    "SET_FEATURES",
    "SET_OWNER",
    "RESET_OWNER",
    "SET_MEM_TABLE",
    "SET_LOG_BASE",
    "SET_LOG_FD",
    "SET_VRING_NUM",
    "SET_VRING_ADDR",
    "SET_VRING_BASE",
    "GET_VRING_BASE",
    "SET_VRING_KICK",
    "SET_VRING_CALL",
    "SET_VRING_ERR",
    "GET_PROTOCOL_FEATURES",
    "SET_PROTOCOL_FEATURES",
    "GET_QUEUE_NUM",
    "SET_VRING_ENABLE",
    "SEND_RARP",
    "NET_SET_MTU",
    "SET_SLAVE_REQ_FD",
    "IOTLB_MSG",
    "SET_VRING_ENDIAN",
    "GET_CONFIG",
    "SET_CONFIG",
    "CREATE_CRYPTO_SESSION",
    "CLOSE_CRYPTO_SESSION",
    "POSTCOPY_ADVISE",
    "POSTCOPY_LISTEN",
    "POSTCOPY_END",
    "GET_INFLIGHT_FD",
    "SET_INFLIGHT_FD",
    "GPU_SET_SOCKET",
    "RESET_DEVICE",
    "VRING_KICK",
    "GET_MAX_MEM_SLOTS",
    "ADD_MEM_REG",
    "REM_MEM_REG",
    "SET_STATUS",
    "GET_STATUS",
];

/// Formats microseconds since the epoch the way QEMU prints them (`sec.usec`); it lives with
/// the findings, which print trace times too and sit below the trace layer.
pub use crate::finding::fmt_time;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_stay_small() {
        // The memory budget per event in docs/PERFORMANCE.md depends on this.
        assert!(std::mem::size_of::<Event>() <= 40);
        assert!(std::mem::size_of::<EventKind>() <= 20);
    }

    #[test]
    fn qemu_names_map_to_types() {
        assert_eq!(DeviceType::from_qemu_name("virtio-blk"), DeviceType::Blk);
        assert_eq!(
            DeviceType::from_qemu_name("vhost-user-blk"),
            DeviceType::Blk
        );
        assert_eq!(DeviceType::from_qemu_name("virtio-net"), DeviceType::Net);
        assert_eq!(DeviceType::from_qemu_name("virtio-9p"), DeviceType::Other);
        assert_eq!(fmt_time(1_700_000_000_123_456), "1700000000.123456");
    }
}
