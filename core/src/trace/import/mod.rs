//! The importers: each input a debugging session brings, turned from bytes into data.
//!
//! [`qemu_log`] parses QEMU's `log` trace-backend lines and [`store`] keeps them as compact
//! indexed events; [`qmp`] reads QMP transcripts, [`ringdump`] `pmemsave` ring dumps and
//! [`backend`] a vhost backend's own log.

pub mod backend;
pub mod lines;
pub mod qemu_log;
pub mod qmp;
pub mod ringdump;
pub mod store;
