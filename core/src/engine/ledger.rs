//! What the engine keeps beside the ring: the transport's status and features, the live ring,
//! the ledger of every buffer's whereabouts, and the counters a summary needs.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::features::{Features, Status};
use crate::layout::{PackedLayout, RingLayout, SplitLayout};
use crate::ring::packed::{PackedDevice, PackedDriver};
use crate::ring::split::{SplitDevice, SplitDriver};

/// The transport's view: status and features.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Transport {
    /// Device status byte.
    pub status: Status,
    /// Bits the driver wrote.
    pub driver_features: Features,
    /// The negotiated set, once FEATURES_OK held (or, legacy, once DRIVER_OK was set).
    pub negotiated: Option<Features>,
    /// Whether the legacy interface is in use.
    pub legacy: bool,
    /// Status values written, in order: the walk.
    pub walk: Vec<u8>,
}

/// A live ring: its layout and both sides' private state.
// An explicit tag: `Option<Ring>` and the layout dispatch every op makes become one byte
// compare each, where the niche encoding cost a compare against a 64-bit constant per check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[repr(u8)]
pub enum Ring {
    /// Split.
    Split {
        /// Where it is.
        layout: SplitLayout,
        /// Driver state.
        driver: SplitDriver,
        /// Device state.
        device: SplitDevice,
    },
    /// Packed.
    Packed {
        /// Where it is.
        layout: PackedLayout,
        /// Driver state.
        driver: PackedDriver,
        /// Device state.
        device: PackedDevice,
    },
}

impl Ring {
    /// The layout.
    pub fn layout(&self) -> RingLayout {
        match self {
            Ring::Split { layout, .. } => RingLayout::Split(*layout),
            Ring::Packed { layout, .. } => RingLayout::Packed(*layout),
        }
    }
}

/// Where every buffer is, kept by ringside (not by either side): the ground truth that lets
/// the engine notice a buffer that was lost or used twice.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Ledger {
    /// IDs (split: heads) published and not yet popped, in order.
    pub available: VecDeque<u16>,
    /// IDs used (published by the device) and not yet reclaimed.
    pub used: VecDeque<u16>,
    /// Buffers made available so far.
    pub made_available: u64,
    /// Buffers reclaimed by the driver so far.
    pub reclaimed: u64,
    /// Buffers popped by the device so far.
    pub popped: u64,
    /// Buffers completed by the device so far.
    pub completed: u64,
    pub(super) added_unpublished: Vec<u16>,
    pub(super) completed_unpublished: Vec<u16>,
}

impl Ledger {
    /// IDs (split: heads) the driver added and has not published yet, oldest first.
    pub fn unpublished(&self) -> &[u16] {
        &self.added_unpublished
    }

    /// Where an outstanding buffer is, given the ids the device holds in flight: `None` once
    /// it is reclaimed (or lost). The stages in the order a buffer goes through them.
    pub fn whereabouts(
        &self,
        id: u16,
        mut inflight: impl Iterator<Item = u16>,
    ) -> Option<&'static str> {
        if self.added_unpublished.contains(&id) {
            Some("added, not yet published")
        } else if self.available.contains(&id) {
            Some("made available, not yet popped by the device")
        } else if inflight.any(|i| i == id) {
            Some("popped, held by the device")
        } else if self.completed_unpublished.contains(&id) {
            Some("completed by the device, not yet published")
        } else if self.used.contains(&id) {
            Some("in the used ring, not yet reclaimed")
        } else {
            None
        }
    }
}

/// Counters a summary needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counters {
    /// Kick decisions that said notify.
    pub kicks_needed: u64,
    /// Kick decisions that said no (suppressed).
    pub kicks_suppressed: u64,
    /// Interrupt decisions that said notify.
    pub interrupts_needed: u64,
    /// Interrupt decisions that said no.
    pub interrupts_suppressed: u64,
    /// Step of the last driver publish.
    pub last_publish: Option<u64>,
    /// Step of the last kick sent.
    pub last_kick: Option<u64>,
    /// Step of the last device publish.
    pub last_used_publish: Option<u64>,
    /// Step of the last interrupt sent.
    pub last_interrupt: Option<u64>,
    /// Step of the last time the driver re-enabled interrupts and its re-check of the ring
    /// found used buffers waiting (Linux's `virtqueue_enable_cb` returning false): from then
    /// on it knows, and polls again instead of sleeping.
    #[serde(default)]
    pub driver_recheck: Option<u64>,
    /// Step of the last time the device re-enabled notifications and its re-check of the ring
    /// found buffers waiting (QEMU's `virtio_queue_set_notification(vq, 1)` then
    /// `virtio_queue_empty`): it goes on popping instead of waiting for a kick.
    #[serde(default)]
    pub device_recheck: Option<u64>,
}
