//! The atomics the rings are built from: std's, or loom's when built with `--cfg loom`, so that
//! the same ring code runs in the model checker (`tests/loom.rs`) and at full speed.

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, Ordering, fence};

#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, Ordering, fence};

/// A fresh zeroed word.
#[inline]
pub(crate) fn zero() -> AtomicU32 {
    AtomicU32::new(0)
}
