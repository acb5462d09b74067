//! What an op did, and why an engine could not be built.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::layout::LayoutError;
use crate::ring::NotifyDecision;

/// What applying an op did: data, put into words only when someone reads it (formatting a
/// line per op would cost more than the ring work itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// A transport or fault op, already in words (these are rare).
    Said(String),
    /// The driver added this many buffers, unpublished. Which ones (heads or IDs) are the
    /// tail of [`Ledger::unpublished`](crate::engine::Ledger::unpublished) right after the op; a [`Session`](crate::session::Session)
    /// keeps them. Not carried here: a list in every outcome cost an op a tenth of its time.
    Added(u16),
    /// The driver published this many buffers.
    Published(usize),
    /// The driver's kick decision.
    Kicked(NotifyDecision),
    /// The driver turned interrupts off.
    InterruptsOff,
    /// The driver turned interrupts on; whether the re-check found used buffers waiting.
    InterruptsOn(bool),
    /// The driver reclaimed this many buffers.
    Reclaimed(u16),
    /// The device popped this many buffers.
    Popped(u16),
    /// The device completed this many buffers, unpublished.
    Completed(u16),
    /// The device published this many used buffers.
    PublishedUsed(usize),
    /// The device's interrupt decision.
    Interrupted(NotifyDecision),
    /// The device turned kicks off.
    NotificationsOff,
    /// The device turned kicks on; whether the re-check found buffers waiting.
    NotificationsOn(bool),
    /// A ring op with no ring to act on.
    NoQueue(&'static str),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let waiting = |more: bool| {
            if more {
                "re-check finds work already waiting"
            } else {
                "nothing waiting"
            }
        };
        match self {
            Outcome::Said(s) => f.write_str(s),
            Outcome::Added(n) => write!(f, "driver adds {n} buffer(s)"),
            Outcome::Published(n) => write!(f, "driver publishes {n} buffer(s)"),
            Outcome::Kicked(d) => f.write_str(match (d.needed, d.sent) {
                (true, true) => "driver kicks the device",
                (true, false) => "driver should kick but does not",
                (false, _) => "driver skips the kick: the device asked not to be notified",
            }),
            Outcome::InterruptsOff => f.write_str("driver disables used-buffer notifications"),
            Outcome::InterruptsOn(m) => write!(f, "driver re-enables interrupts; {}", waiting(*m)),
            Outcome::Reclaimed(n) => write!(f, "driver reclaims {n} used buffer(s)"),
            Outcome::Popped(n) => write!(f, "device pops {n} buffer(s)"),
            Outcome::Completed(n) => write!(f, "device completes {n} buffer(s), not yet published"),
            Outcome::PublishedUsed(n) => write!(f, "device publishes {n} used buffer(s)"),
            Outcome::Interrupted(d) => f.write_str(match (d.needed, d.sent) {
                (true, true) => "device interrupts the driver",
                (true, false) => "device should interrupt but does not",
                (false, _) => "device skips the interrupt: the driver asked not to be interrupted",
            }),
            Outcome::NotificationsOff => {
                f.write_str("device disables available-buffer notifications")
            }
            Outcome::NotificationsOn(m) => {
                write!(f, "device re-enables notifications; {}", waiting(*m))
            }
            Outcome::NoQueue(op) => write!(f, "{op}: no queue yet"),
        }
    }
}

/// An engine could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The ring does not fit the layout rules.
    #[error(transparent)]
    Layout(#[from] LayoutError),
}
