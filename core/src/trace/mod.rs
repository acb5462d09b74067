//! Trace replay: QEMU trace logs, QMP transcripts and ring memory dumps, imported into one
//! event model, replayed into per-queue ring counters, and checked by the detectors.
//!
//! The submodules are the pipeline's stages: [`qemu_log`] and [`store`] turn a log into a
//! compact indexed event list ([`event`] is its model), [`qmp`] and [`ringdump`] read the other
//! two evidence sources, and [`replay`] walks the events to rebuild what each queue's counters
//! were at every step.

pub mod error;
pub mod event;
pub mod qemu_log;
pub mod store;

pub use error::{ImportWarning, TraceError};
pub use event::{DeviceType, Event, EventKind};
pub use store::TraceStore;
pub mod qmp;
pub mod replay;
pub mod ringdump;

pub use replay::{ReplayOptions, ReplayReport, TraceSession, replay, replay_files};
