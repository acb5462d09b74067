//! ringside-core: the virtio engine and everything ringside's terminal and browser faces share.
//!
//! A virtqueue's whole story is the bytes both sides read and write. The engine runs a faithful
//! virtio 1.2 driver and device over a simulated guest memory and records every access, so that
//! a UI can show who touched which field when, step it forwards and backwards, and count what
//! each access costs in cache-line transfers. No terminal, no pixels, no clock, no threads: the
//! crate builds for wasm32.
//!
//! The layers, each using only those above it in this list (docs/ARCHITECTURE.md draws them):
//!
//! - vocabulary: [`memory`] (guest memory, the bus and its access log), [`layout`] (the byte
//!   layouts and spec constants), [`features`], [`behaviour`], [`finding`], [`config`];
//! - the rings: [`ring`] (what both layouts share), [`ring::split`] and [`ring::packed`], each
//!   a driver and a device; [`op`] the operations;
//! - [`engine`]: one queue, its transport and ledger; [`session`] time travel over a run;
//!   [`cache`] the cache-line model read from the access log;
//! - inputs: [`scenario`] (RON scenarios, runs, expectations), [`trace`] (QEMU, guest and DPDK
//!   captures: import, replay, join, detectors), [`tutorial`], [`bench`](mod@bench) (the model beside
//!   `ringside bench`);
//! - what the faces use: [`command`] (the input vocabulary), [`view`] (frames), [`face`] (the
//!   app, the controllers and the [`Screen`] every face paints).
//!
//! # Driving an engine
//!
//! The driver offers three buffers (a 16-byte request and a 64-byte reply each); the device
//! pops them and completes the newest first, out of order. The used ring then holds one entry
//! whose id is the head of the third chain: descriptors 4 and 5 (Linux's free list hands out
//! 0-1, 2-3, 4-5), and `used.idx` is 1.
//!
//! ```
//! use ringside_core::{BufferSpec, Engine, EngineConfig, Features, Op, Pick, Ring, RingKind};
//!
//! let mut engine = Engine::new(EngineConfig::simple(RingKind::Split, 8, Features::NONE))?;
//! let buffer = BufferSpec { readable: vec![16], writable: vec![64], indirect: false };
//! for op in [
//!     Op::Negotiate,
//!     Op::Add { buffer, count: 3 },
//!     Op::Publish,
//!     Op::Kick,
//!     Op::Pop { max: None },
//!     Op::Complete { count: 1, pick: Pick::Newest, written: None },
//!     Op::PublishUsed,
//! ] {
//!     engine.apply(&op).expect("no step budget set");
//! }
//! let Some(Ring::Split { layout, .. }) = &engine.ring else { unreachable!() };
//! let (idx, elem) = (layout.used_idx(), layout.used_elem(0));
//! let mem = &mut engine.bus.mem;
//! assert_eq!(mem.read_le(idx, 2), 1); // used.idx
//! assert_eq!(mem.read_le(elem, 4), 4); // used.ring[0].id: the third chain's head
//! assert_eq!(mem.read_le(elem + 4, 4), 64); // used.ring[0].len: the reply's bytes
//! assert!(engine.findings.0.is_empty());
//! # Ok::<(), ringside_core::EngineError>(())
//! ```
#![deny(missing_docs)]

pub mod behaviour;
pub mod bench;
pub mod cache;
pub mod command;
pub mod config;
pub mod engine;
pub mod face;
pub mod features;
pub mod finding;
pub mod layout;
pub mod memory;
pub mod op;
pub mod ring;
pub mod scenario;
pub mod session;
pub mod suggest;
pub mod trace;
pub mod tutorial;
pub mod view;

pub use config::{EngineConfig, QueueConfig};
pub use engine::{Engine, EngineError, Outcome, Ring};
pub use face::app::{App, Files};
pub use face::controller::Controller;
pub use face::screen::Screen;
pub use features::Features;
pub use finding::{Code, Finding, Severity};
pub use layout::{PackedLayout, RingKind, SplitLayout};
pub use op::Op;
pub use ring::{BufferSpec, Pick};
pub use scenario::{Run, Scenario};
pub use session::Session;
pub use trace::{Capture, TraceSession, TraceStore};
