//! Trace replay: QEMU trace logs, QMP transcripts and ring memory dumps, imported into one
//! event model, replayed into per-queue ring counters, and checked by the detectors.
//!
//! The submodules are the pipeline's stages: [`qemu_log`] and [`store`] turn a log into a
//! compact indexed event list ([`event`] is its model), [`qmp`] and [`ringdump`] read the other
//! two evidence sources, and [`replay`] walks the events to rebuild what each queue's counters
//! were at every step.

// Import errors are rare and must carry file, line/offset, expectation and hint (the brief's
// error contract), so they are large by design; boxing them would only add noise at call sites.
#![allow(clippy::result_large_err)]

pub mod backend;
pub mod counter;
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

pub use backend::BackendLog;
pub use replay::{
    ReplayOptions, ReplayReport, TraceSession, replay, replay_files, replay_files_with_backend,
    replay_with_backend,
};
pub mod export;

pub use export::{export_chrome, export_chrome_string};
