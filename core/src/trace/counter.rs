//! The per-queue counters a trace replay keeps, by name: what breakpoints on a trace
//! (`blk0.q0.inuse > 3`) and the tutorial's trace questions read.

use serde::{Deserialize, Serialize};

use super::state::QueueState;

/// A per-queue counter of a replayed trace (docs/trace-format.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Counter {
    /// `virtqueue_pop`s.
    Pops,
    /// `virtqueue_fill`s.
    Fills,
    /// `virtqueue_flush`es.
    Flushes,
    /// Elements published by flushes.
    Completed,
    /// Driver kicks.
    Kicks,
    /// Interrupts.
    Interrupts,
    /// Resets.
    Resets,
    /// QEMU's `last_avail_idx`.
    LastAvailIdx,
    /// QEMU's `used_idx`.
    UsedIdx,
    /// QEMU's `inuse`.
    Inuse,
    /// Buffers popped and not yet filled.
    InFlight,
}

impl Counter {
    /// Every counter with its name.
    pub const ALL: [(&'static str, Counter); 11] = [
        ("pops", Counter::Pops),
        ("fills", Counter::Fills),
        ("flushes", Counter::Flushes),
        ("completed", Counter::Completed),
        ("kicks", Counter::Kicks),
        ("interrupts", Counter::Interrupts),
        ("resets", Counter::Resets),
        ("last_avail_idx", Counter::LastAvailIdx),
        ("used_idx", Counter::UsedIdx),
        ("inuse", Counter::Inuse),
        ("in_flight", Counter::InFlight),
    ];

    /// The counter's name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|c| c.1 == self).map_or("?", |c| c.0)
    }
}

impl Counter {
    /// Its value in a queue's replayed state.
    pub fn value(self, q: &QueueState) -> u64 {
        match self {
            Counter::Pops => q.pops,
            Counter::Fills => q.fills,
            Counter::Flushes => q.flushes,
            Counter::Completed => q.completed,
            Counter::Kicks => q.kicks,
            Counter::Interrupts => q.interrupts,
            Counter::Resets => u64::from(q.resets),
            Counter::LastAvailIdx => u64::from(q.last_avail_idx.0),
            Counter::UsedIdx => u64::from(q.used_idx.0),
            Counter::Inuse => u64::from(q.inuse),
            Counter::InFlight => q.in_flight() as u64,
        }
    }
}
