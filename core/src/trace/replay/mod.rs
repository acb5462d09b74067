//! Replay: a trace becomes per-queue ring counters over time, checked as it goes.
//!
//! QEMU's trace shows the device side of each virtqueue. From it replay rebuilds, per device
//! and queue, what QEMU's `VirtQueue` held at every step:
//!
//! - [`identity`]: which `vq` is which device's queue, device types, sizes, features, layouts,
//!   learned before the first event;
//! - [`state`](crate::trace::state): what replay knows at a step, QEMU's own counters per queue;
//! - [`apply`]: one event applied ([`Replayer`]), with the streaming detectors;
//! - [`crosscheck`]: the replayed counters against QMP snapshots, ring dumps, vhost views;
//! - [`pass`]: the one walk over the window that produces a [`ReplayReport`] ([`report`]);
//! - [`session`]: a trace opened for stepping ([`TraceSession`]), checkpoints from that pass.
//!
//! QMP snapshots and ring dumps, when given, fill in sizes and features and are cross-checked
//! at the trace step where the VM was stopped for them.

use serde::Serialize;

use super::import::store::TraceStore;
use crate::layout::RingKind;

pub mod apply;
pub mod crosscheck;
pub mod identity;
pub mod pass;
pub mod report;
pub mod session;
pub mod snapshot;

pub use apply::Replayer;
pub use pass::replay;
pub use report::{QueueReport, ReplayReport};
pub use session::TraceSession;

/// What to replay and how.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReplayOptions {
    /// Stop after the last event on or before this line (`--until-line N`).
    pub until_line: Option<u64>,
    /// Stop after the last event at or before this time, µs since the epoch (`--until-time`).
    pub until_time_us: Option<u64>,
    /// Every queue's layout where the trace does not show it (otherwise QMP or the dumps say,
    /// else it is unknown).
    pub ring_kind: Option<RingKind>,
    /// Whether drivers use indirect descriptors (packed descriptor counts); QMP overrides.
    pub indirect: Option<bool>,
}

/// Parses `--until-time`: `sec.usec` (as the trace prints it) or plain seconds.
pub fn parse_time(s: &str) -> Option<u64> {
    let (sec, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
    let sec: u64 = sec.parse().ok()?;
    if frac.len() > 6 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let us: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().ok()?
    };
    sec.checked_mul(1_000_000)?.checked_add(us)
}

/// The window an options set selects: number of events replayed.
pub fn window(store: &TraceStore, opts: &ReplayOptions) -> usize {
    let mut n = store.events().len();
    if let Some(l) = opts.until_line {
        n = n.min(store.steps_until_line(l));
    }
    if let Some(t) = opts.until_time_us {
        n = n.min(store.steps_until_time(t));
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_time_parses_like_the_trace_prints() {
        assert_eq!(parse_time("1700000000.123456"), Some(1_700_000_000_123_456));
        assert_eq!(parse_time("12.5"), Some(12_500_000));
        assert_eq!(parse_time("12"), Some(12_000_000));
        assert_eq!(parse_time("1.1234567"), None);
        assert_eq!(parse_time("x"), None);
    }
}
