//! Everything that defines an engine before any op runs: the queue's size, layout and place,
//! both sides' feature bits and behaviours. Below the engine and the rings, which both read it.

use serde::{Deserialize, Serialize};

use crate::behaviour::{DeviceBehaviour, DriverBehaviour};
use crate::features::Features;
use crate::layout::{LINUX_USED_ALIGN, RingKind};

/// Where the driver puts buffer payloads and indirect tables: a fixed stride per descriptor
/// slot, so that addresses are stable and readable in the hex view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BufferArea {
    /// Base of the payload area.
    pub data: u64,
    /// Bytes reserved per segment.
    pub stride: u64,
    /// Base of the indirect tables.
    pub tables: u64,
}

impl BufferArea {
    /// Address for segment `seg` of the buffer that starts at slot/id `owner`.
    pub fn segment(&self, owner: u16, seg: usize) -> u64 {
        self.data + (u64::from(owner) * 8 + seg as u64) * self.stride
    }
    /// Address of the indirect table for head/id `owner` (room for 64 entries each).
    pub fn table(&self, owner: u16) -> u64 {
        self.tables + u64::from(owner) * 64 * 16
    }
}

fn default_base() -> u64 {
    0x10000
}
fn default_area() -> BufferArea {
    BufferArea {
        data: 0x100_0000,
        stride: 0x1000,
        tables: 0x80_0000,
    }
}
fn yes() -> bool {
    true
}
fn default_used_align() -> u64 {
    LINUX_USED_ALIGN
}

/// Where and how big the queue is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueConfig {
    /// Layout wanted; packed needs VIRTIO_F_RING_PACKED negotiated.
    pub layout: RingKind,
    /// Queue size.
    pub size: u32,
    /// Where the rings start (areas follow one another, aligned).
    #[serde(default = "default_base")]
    pub base: u64,
    /// Where buffers and indirect tables go.
    #[serde(default = "default_area")]
    pub buffers: BufferArea,
    /// Queue index (used in notifications).
    #[serde(default)]
    pub index: u16,
    /// Split ring, modern interface: the used ring starts at the next multiple of this after
    /// the available ring. The default is Linux's (64, `SMP_CACHE_BYTES`), what the captured
    /// QEMU traces show; 4 packs it as tightly as the spec allows. The legacy interface
    /// always uses 4096 (Queue Align).
    #[serde(default = "default_used_align")]
    pub used_align: u64,
}

/// Everything that defines an engine before any op runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// The queue.
    pub queue: QueueConfig,
    /// Bits the device offers.
    pub device_features: Features,
    /// Bits the driver knows and wants.
    pub driver_features: Features,
    /// The device clears FEATURES_OK when the driver accepts all of these together.
    #[serde(default)]
    pub device_refuses: Option<Features>,
    /// A transitional device also speaks the legacy (0.9) interface to a driver without
    /// VERSION_1.
    #[serde(default = "yes")]
    pub device_transitional: bool,
    /// A driver that falls back to the legacy interface when the device lacks VERSION_1.
    #[serde(default = "yes")]
    pub driver_legacy_fallback: bool,
    /// Driver modes and faults.
    #[serde(default)]
    pub driver: DriverBehaviour,
    /// Device modes and faults.
    #[serde(default)]
    pub device: DeviceBehaviour,
}

impl EngineConfig {
    /// A modern split or packed queue with both sides offering and wanting `features` (plus
    /// VERSION_1, and RING_PACKED for packed).
    pub fn simple(layout: RingKind, size: u32, features: Features) -> Self {
        let mut f = features.or(Features::VERSION_1);
        if layout == RingKind::Packed {
            f = f.or(Features::RING_PACKED);
        }
        EngineConfig {
            queue: QueueConfig {
                layout,
                size,
                base: default_base(),
                buffers: default_area(),
                index: 0,
                used_align: LINUX_USED_ALIGN,
            },
            device_features: f,
            driver_features: f,
            device_refuses: None,
            device_transitional: true,
            driver_legacy_fallback: true,
            driver: DriverBehaviour::default(),
            device: DeviceBehaviour::default(),
        }
    }
}
