//! What replay knows at one step: every device and queue, with QEMU's own counters.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::layout::{PackedPos, RingIdx, RingKind};
use crate::trace::event::{DeviceType, ObjId};

/// One device as replay knows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceState {
    /// The `vdev` pointer.
    pub vdev: u64,
    /// Interned id.
    #[serde(skip)]
    pub obj: ObjId,
    /// Inferred type.
    pub device_type: DeviceType,
    /// How the type was learned.
    pub type_source: &'static str,
    /// Last status byte written.
    pub status: u8,
    /// Number of resets (status 0 after a non-zero status).
    pub resets: u32,
    /// Negotiated features, when QMP said.
    pub features: Vec<String>,
    /// The vhost backend serving this device's rings, when one does.
    pub vhost: Option<VhostState>,
}

impl DeviceState {
    /// `virtio-blk@0x55e60c401370`, or `vhost-user-blk@0x…` for a device a vhost-user backend
    /// serves.
    pub fn label(&self) -> String {
        match &self.vhost {
            Some(v) => {
                let t = self.device_type.name();
                let short = t.strip_prefix("virtio-").unwrap_or(t);
                format!("{}-{short}@{:#x}", v.backend, self.vdev)
            }
            None => format!("{}@{:#x}", self.device_type, self.vdev),
        }
    }
    pub(super) fn has(&self, f: &str) -> bool {
        self.features.iter().any(|x| x == f)
    }
}

/// A device whose rings a vhost backend serves: QEMU's trace shows its lifecycle
/// (`vhost_dev_start`/`_stop`, vhost-user messages), not its virtqueue events.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VhostState {
    /// `vhost-user` when the trace has vhost-user messages, else `vhost`.
    pub backend: &'static str,
    /// The `struct vhost_dev` pointer `vhost_dev_start` prints.
    pub hdev: u64,
    /// Whether the backend holds the rings now (between `vhost_dev_start` and `_stop`).
    pub started: bool,
    /// `vhost_dev_start`s so far.
    pub starts: u32,
    /// `vhost_dev_stop`s so far.
    pub stops: u32,
    /// vhost-user messages sent so far, by request name (`SET_VRING_KICK`, …). Only
    /// attributed when the trace has a single vhost device (the messages name none).
    pub requests: std::collections::BTreeMap<&'static str, u32>,
    /// vhost-user replies read so far.
    pub replies: u32,
}

pub use crate::trace::event::{vhost_user_request, vhost_user_request_number};

/// A buffer popped and not yet filled.
#[derive(Debug, Clone, Copy)]
pub(super) struct Outstanding {
    /// Line of its pop.
    pub(super) line: u32,
    /// Time of its pop, or [`crate::trace::event::NO_TIME`].
    pub(super) time: u64,
    /// Which pop of its queue it was.
    pub(super) seq: u64,
    /// Descriptors it took (packed positions advance by this).
    pub(super) ndescs: u16,
    /// Writable entries.
    pub(super) in_num: u16,
    /// Readable entries.
    pub(super) out_num: u16,
}

/// One queue's counters at a step.
#[derive(Debug, Clone, Serialize)]
pub struct QueueState {
    /// Index into the device list.
    pub dev: usize,
    /// Queue index within the device (`u16::MAX` when the `vq` was never kicked).
    pub queue: u16,
    /// The `vq` pointer.
    pub vq: u64,
    /// Interned `vq`.
    #[serde(skip)]
    pub(super) vq_obj: ObjId,
    /// Resets of the device so far (status 0 writes), which select the layout per epoch.
    #[serde(skip)]
    pub(super) epoch: u32,
    /// Whether the device negotiates packed rings, when QMP, a dump or the options say.
    #[serde(skip)]
    pub(super) packed_cfg: Option<bool>,
    /// Layout (in the current epoch).
    pub layout: QueueLayout,
    /// Buffers were popped while the layout was unknown.
    #[serde(skip)]
    pub(super) popped_unknown: bool,
    /// Queue size, when known (QMP, dumps, defaults for the device type).
    pub size: Option<u16>,
    /// Served by a vhost backend: the trace has no virtqueue events for it, and its
    /// `last_avail_idx`/`used_idx`/`inuse` are QEMU's at the latest QMP snapshot (read back
    /// from the backend with `GET_VRING_BASE` when the VM stopped).
    pub vhost: bool,
    /// `virtqueue_pop`s (total over resets).
    pub pops: u64,
    /// `virtqueue_fill`s (total).
    pub fills: u64,
    /// `virtqueue_flush`es (total).
    pub flushes: u64,
    /// Elements published by flushes (total).
    pub completed: u64,
    /// Driver kicks (total).
    pub kicks: u64,
    /// Device interrupts (total).
    pub interrupts: u64,
    /// Resets seen.
    pub resets: u32,
    /// Trace line of the status-0 write that last reset the queue's device, once it had
    /// moved buffers: its indices read 0 from there (a guest's power-off resets every device
    /// at the end of a capture).
    pub reset_line: Option<u32>,
    /// QEMU's `last_avail_idx` (split: free-running; packed: the slot).
    pub last_avail_idx: RingIdx,
    /// QEMU's `used_idx` (split: free-running; packed: the slot).
    pub used_idx: RingIdx,
    /// QEMU's `inuse`.
    pub inuse: u32,
    /// Packed: device's next available position and wrap counter.
    pub avail_pos: Option<PackedPos>,
    /// Packed: device's next used position and wrap counter.
    pub used_pos: Option<PackedPos>,
    #[serde(skip)]
    pub(super) outstanding: HashMap<ObjId, Outstanding>,
    #[serde(skip)]
    pub(super) done: HashMap<ObjId, u32>,
    #[serde(skip)]
    pub(super) max_done_seq: u64,
    #[serde(skip)]
    pub(super) pending_fills: u16,
    #[serde(skip)]
    pub(super) pending_ndescs: u32,
    #[serde(skip)]
    pub(super) last_kick: Option<(u32, u64)>,
    #[serde(skip)]
    pub(super) last_pop: Option<u32>,
    #[serde(skip)]
    pub(super) last_flush: Option<(u32, u64)>,
    #[serde(skip)]
    pub(super) last_irq: Option<(u32, u16)>,
    #[serde(skip)]
    pub(super) flushes_since_irq: u32,
    #[serde(skip)]
    pub(super) signalled_batches: u64,
    #[serde(skip)]
    pub(super) unsignalled_batches: u64,
}

impl QueueState {
    pub(super) fn new(
        dev: usize,
        queue: u16,
        vq: (u64, ObjId),
        (layout, packed_cfg): (QueueLayout, Option<bool>),
        size: Option<u16>,
    ) -> Self {
        let packed = layout == QueueLayout::Packed;
        QueueState {
            dev,
            queue,
            vq: vq.0,
            vq_obj: vq.1,
            epoch: 0,
            packed_cfg,
            layout,
            popped_unknown: false,
            size,
            vhost: false,
            pops: 0,
            fills: 0,
            flushes: 0,
            completed: 0,
            kicks: 0,
            interrupts: 0,
            resets: 0,
            reset_line: None,
            last_avail_idx: RingIdx(0),
            used_idx: RingIdx(0),
            inuse: 0,
            avail_pos: packed.then_some(PackedPos::START),
            used_pos: packed.then_some(PackedPos::START),
            outstanding: HashMap::new(),
            done: HashMap::new(),
            max_done_seq: 0,
            pending_fills: 0,
            pending_ndescs: 0,
            last_kick: None,
            last_pop: None,
            last_flush: None,
            last_irq: None,
            flushes_since_irq: 0,
            signalled_batches: 0,
            unsignalled_batches: 0,
        }
    }

    pub(super) fn set_layout(&mut self, layout: QueueLayout) {
        let packed = layout == QueueLayout::Packed;
        self.layout = layout;
        self.avail_pos = packed.then_some(PackedPos::START);
        self.used_pos = packed.then_some(PackedPos::START);
    }

    pub(super) fn reset(&mut self, line: u32) {
        if self.pops > 0 {
            self.reset_line = Some(line);
        }
        let packed = self.layout == QueueLayout::Packed;
        self.last_avail_idx = RingIdx(0);
        self.used_idx = RingIdx(0);
        self.inuse = 0;
        self.avail_pos = packed.then_some(PackedPos::START);
        self.used_pos = packed.then_some(PackedPos::START);
        self.outstanding.clear();
        self.done.clear();
        self.pending_fills = 0;
        self.pending_ndescs = 0;
        self.last_irq = None;
        self.flushes_since_irq = 0;
        self.resets += 1;
    }

    /// The last kick, when no pop came after it: the device has not yet acted on it.
    pub(super) fn unanswered_kick(&self) -> Option<(u32, u64)> {
        self.last_kick
            .filter(|&(k, _)| self.last_pop.is_none_or(|p| p < k))
    }

    /// The interned `vq` pointer ([`crate::trace::event::NO_OBJ`] for a queue only a vhost
    /// backend serves).
    pub fn vq_obj(&self) -> ObjId {
        self.vq_obj
    }

    /// Buffers popped and not yet filled.
    pub fn in_flight(&self) -> usize {
        self.outstanding.len()
    }

    /// Whether a net queue is a receive queue (device-initiated: available buffers wait for
    /// packets, so pending work there is normal).
    pub(super) fn is_rx(&self, t: DeviceType, nqueues: u16) -> bool {
        t == DeviceType::Net && self.queue.is_multiple_of(2) && self.queue + 1 < nqueues.max(2)
    }
}

/// A replayed queue's layout: what the trace, QMP or a ring dump shows, or unknown when none
/// does (replay then counts pops and completions but runs no layout-specific check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum QueueLayout {
    /// Descriptor table, available ring, used ring.
    Split,
    /// One descriptor ring.
    Packed,
    /// Nothing says.
    Unknown,
}

impl From<RingKind> for QueueLayout {
    fn from(k: RingKind) -> Self {
        match k {
            RingKind::Split => QueueLayout::Split,
            RingKind::Packed => QueueLayout::Packed,
        }
    }
}

impl fmt::Display for QueueLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QueueLayout::Split => "split",
            QueueLayout::Packed => "packed",
            QueueLayout::Unknown => "unknown",
        })
    }
}

/// Default queue sizes of QEMU 7.2 devices, used when neither QMP nor dumps say.
pub(super) fn default_size(t: DeviceType, queue: u16) -> Option<u16> {
    match t {
        DeviceType::Blk => Some(256),
        DeviceType::Net if queue == 2 => Some(64),
        DeviceType::Net => Some(256),
        DeviceType::Rng => Some(8),
        _ => None,
    }
}

/// The replay state at one step: every device and queue.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayState {
    /// Events applied.
    pub step: usize,
    /// Devices.
    pub devices: Vec<DeviceState>,
    /// Queues.
    pub queues: Vec<QueueState>,
    #[serde(skip)]
    pub(super) vq_index: HashMap<ObjId, usize>,
    #[serde(skip)]
    pub(super) elem_alloc: HashMap<ObjId, (u16, u16)>,
}

impl ReplayState {
    /// Index (into [`ReplayState::queues`]) of the queue a `vq` pointer belongs to, if any
    /// event named it yet.
    pub fn queue_of(&self, vq: ObjId) -> Option<usize> {
        self.vq_index.get(&vq).copied()
    }

    /// Short names of every queue (`blk0.q0`, `net0.q2`): device type, its number among
    /// devices of that type in order of appearance, and queue index. Breakpoints, the
    /// tutorial and the join's findings name queues so.
    pub fn queue_names(&self) -> Vec<String> {
        let mut seen: Vec<DeviceType> = Vec::new();
        let dev_names: Vec<String> = self
            .devices
            .iter()
            .map(|d| {
                let n = seen.iter().filter(|&&t| t == d.device_type).count();
                seen.push(d.device_type);
                let t = d.device_type.name();
                format!("{}{n}", t.strip_prefix("virtio-").unwrap_or(t))
            })
            .collect();
        self.queues
            .iter()
            .map(|q| {
                let dev = dev_names.get(q.dev).map_or("dev", String::as_str);
                format!("{dev}.q{}", q.queue)
            })
            .collect()
    }
}
