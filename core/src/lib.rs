//! ringside-core: the virtio engine and everything ringside's terminal and browser faces share.
//!
//! A virtqueue's whole story is the bytes both sides read and write. The engine runs a faithful
//! virtio 1.2 driver and device over a simulated guest memory and records every access, so that
//! a UI can show who touched which field when, step it forwards and backwards, and count what
//! each access costs in cache-line transfers. No terminal, no pixels, no clock, no threads: the
//! crate builds for wasm32.
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
