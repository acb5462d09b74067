//! Trace replay: QEMU trace logs, QMP transcripts and ring memory dumps, imported into one
//! event model, replayed into per-queue ring counters, and checked by the detectors.
//!
//! The layers point one way: [`event`] is the model and [`error`] the importers' errors;
//! [`import`] turns each input into data; [`detect`] is the detectors' vocabulary and pure
//! checks; [`replay`](mod@replay) walks the events to rebuild what each queue's counters were at every step
//! and runs the detectors; [`export`] writes a replay for other viewers.

// Import errors are rare and must carry file, line/offset, expectation and hint (the brief's
// error contract), so they are large by design; boxing them would only add noise at call sites.
#![allow(clippy::result_large_err)]

pub mod counter;
pub mod detect;
pub mod error;
pub mod event;
pub mod export;
pub mod import;
pub mod join;
pub mod replay;
pub mod state;

// The importers by their own names (`trace::qmp`, `trace::ringdump`, ...), as the faces and
// tests have always called them.
pub use import::{backend, qemu_log, qmp, ringdump, store};

pub use backend::BackendLog;
pub use error::{ImportWarning, TraceError};
pub use event::{DeviceType, Event, EventKind};
pub use export::{export_chrome, export_chrome_string, untimed_note};
pub use import::{Capture, CaptureFiles, NamedFile};
pub use replay::{ReplayOptions, ReplayReport, TraceSession, replay};
pub use store::TraceStore;
