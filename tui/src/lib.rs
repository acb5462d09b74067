//! ringside's terminal face, as a library so that tests and benches can paint frames.
//!
//! The binary (`src/main.rs`) parses arguments; [`app`] runs the stepping UI; [`files`] reads
//! the files the command line names into the bytes core takes.

pub mod app;
pub mod files;
pub mod progress;
pub mod saved_bench;
