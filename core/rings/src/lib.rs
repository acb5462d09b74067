//! ringside-rings: real split and packed virtqueues in memory shared between two threads, and
//! the harness that times them (`ringside bench`).
//!
//! ringside's engine *models* a ring: one thread plays both sides and a cache model counts the
//! lines that would move between two CPUs. This crate runs the real thing so that the model's
//! story can be checked on the machine at hand: a driver half and a device half, each owned by
//! its own thread, talking only through one shared block of atomics laid out byte for byte as
//! `ringside_core::layout` lays the engine's rings out, with acquire/release exactly where
//! Linux's `drivers/virtio/virtio_ring.c` has its barriers (each one says which).
//!
//! The halves do what the engine's ops do, in the same order, so that the engine's cache-model
//! count for a bench configuration (`ringside_core::bench::predict`) is a prediction for the
//! very stores and loads timed here. Buffers are single descriptors, as in Linux's
//! `tools/virtio/ringtest`; the device does not touch payload memory.
//!
//! No `unsafe`: built with `--cfg loom`, the same code runs over loom's atomics
//! (`tests/loom.rs`).

mod ids;
mod mem;
pub mod packed;
pub mod split;
mod staged;
mod sync;

#[cfg(not(loom))]
pub mod harness;

pub use mem::{LINE, RingMem};
pub use ringside_core::layout::{LayoutError, RingKind};

/// One buffer as its descriptor carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffer {
    /// Guest address (never dereferenced here: the rings move metadata only).
    pub addr: u64,
    /// Length in bytes; the buffer is device-writable.
    pub len: u32,
}

/// A buffer the device took from the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Popped {
    /// What the device hands back in the used entry: the head descriptor (split) or the
    /// buffer ID (packed).
    pub id: u16,
    /// The descriptor's contents.
    pub buf: Buffer,
}

/// A used buffer back at the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Used {
    /// The token the driver added it with (Linux's `data`).
    pub token: u64,
    /// Bytes the device says it wrote; `None` for a buffer whose used entry an IN_ORDER
    /// device skipped (a later entry of its batch stands for it).
    pub len: Option<u32>,
}

/// The optional features a ring runs with (both sides alike: they stand for bits both sides
/// negotiated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// VIRTIO_F_IN_ORDER: descriptors in ring order, one used entry per published batch.
    pub in_order: bool,
    /// VIRTIO_RING_F_EVENT_IDX: suppression by event indices instead of flags.
    pub event_idx: bool,
}

/// The driver half of a ring, owned by one thread.
pub trait Driver: Send {
    /// Writes one buffer into the ring, unpublished. `false` when the ring is full.
    fn add(&mut self, buf: Buffer, token: u64) -> bool;
    /// Makes every added buffer visible to the device.
    fn publish(&mut self);
    /// Whether the device wants a notification for what was published since the last call
    /// (Linux's `virtqueue_kick_prepare`).
    fn kick_needed(&mut self) -> bool;
    /// Takes up to `max` used buffers, handing each to `f`; returns how many.
    fn reclaim(&mut self, max: u16, f: impl FnMut(Used)) -> u16;
    /// Asks for used-buffer notifications, then re-checks the ring (Linux's
    /// `virtqueue_enable_cb`): `true` when used buffers are already waiting.
    fn enable_cb(&mut self) -> bool;
    /// Whether a used buffer is waiting (ringtest's `!used_empty()`): a plain look that
    /// orders nothing, for polling; `reclaim` reads again with the barrier.
    fn used_pending(&self) -> bool;
    /// Free ring entries.
    fn free(&self) -> u16;
    /// The device's protocol violation that stopped this driver, worded as Linux words it.
    fn broken(&self) -> Option<&str>;
}

/// The device half of a ring, owned by one thread.
pub trait Device: Send {
    /// Takes the next available buffer, if any.
    fn pop(&mut self) -> Option<Popped>;
    /// Marks a popped buffer used with `len` bytes written, unpublished.
    fn push_used(&mut self, id: u16, len: u32);
    /// Makes every used buffer visible to the driver.
    fn publish_used(&mut self);
    /// Whether the driver wants an interrupt for what was published since the last call.
    fn interrupt_needed(&mut self) -> bool;
    /// Asks for available-buffer notifications, then re-checks the ring: `true` when buffers
    /// are already waiting.
    fn enable_notify(&mut self) -> bool;
    /// Whether a buffer is waiting (ringtest's `!avail_empty()`): a plain look that orders
    /// nothing, for polling; `pop` reads again with the barrier.
    fn avail_pending(&self) -> bool;
    /// The driver's protocol violation that stopped this device, worded as QEMU words it.
    fn broken(&self) -> Option<&str>;
}
