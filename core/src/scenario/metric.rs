//! The numbers a run produces: the vocabulary expectations compare and `ringside run`
//! prints.

use serde::{Deserialize, Serialize};

/// A number a run produces. Per-buffer metrics divide by the buffers that made the whole
/// round trip (`Buffers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Metric {
    /// Buffers reclaimed by the driver (whole round trips).
    Buffers,
    /// Buffers made available.
    MadeAvailable,
    /// Ops after expanding repeats.
    Ops,
    /// Micro steps (every access, memory or register).
    Steps,
    /// Guest-memory accesses.
    Accesses,
    /// Driver loads from guest memory.
    DriverLoads,
    /// Driver stores to guest memory.
    DriverStores,
    /// Device loads from guest memory.
    DeviceLoads,
    /// Device stores to guest memory.
    DeviceStores,
    /// Guest-memory accesses per buffer.
    AccessesPerBuffer,
    /// Device stores per buffer.
    DeviceStoresPerBuffer,
    /// Available-buffer notifications sent.
    Kicks,
    /// Used-buffer notifications sent.
    Interrupts,
    /// Kick decisions that said "not needed".
    KicksSuppressed,
    /// Interrupt decisions that said "not needed".
    InterruptsSuppressed,
    /// Kicks per buffer.
    KicksPerBuffer,
    /// Interrupts per buffer.
    InterruptsPerBuffer,
    /// Kicks and interrupts per buffer.
    NotificationsPerBuffer,
    /// Findings of any severity.
    Findings,
    /// Findings of severity error.
    Errors,
    /// Split: `avail.idx` as published.
    AvailIdx,
    /// Split: `used.idx` as published.
    UsedIdx,
    /// Split: the device's `last_avail_idx`.
    LastAvailIdx,
    /// Split: the driver's `last_used_idx`.
    LastUsedIdx,
    /// Packed: the driver's next slot.
    DriverSlot,
    /// Packed: the driver's wrap counter (0 or 1).
    DriverWrap,
    /// Packed: the device's next used slot.
    DeviceSlot,
    /// Packed: the device's wrap counter (0 or 1).
    DeviceWrap,
    /// The final device status byte.
    Status,
    /// Cache-line transfers between the sides (model): the talk's cache misses.
    Misses,
    /// Misses per buffer (model).
    MissesPerBuffer,
    /// Invalidation messages (model): stores to a line the other side held clean; no data
    /// moves, so not misses.
    Invalidations,
    /// Invalidations per buffer (model).
    InvalidationsPerBuffer,
    /// Modelled memory cycles per buffer under the scenario's topology.
    CyclesPerBuffer,
    /// L1 ways the ring's descriptor area needs on its own (model).
    DescWays,
    /// L1 ways the whole ring needs on its own (model).
    RingWays,
    /// L1 ways all resident rings need in the fullest set (model).
    WaysNeeded,
    /// L1 ways left in the fullest set (model).
    FreeWays,
    /// L1 sets with more ring lines than ways (model).
    OverflowingSets,
    /// L1 lines all resident rings cover (model).
    RingLines,
    /// L1 lines left for other data (model).
    FreeLines,
}
