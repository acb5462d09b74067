//! ringside's terminal face, as a library so that tests and benches can paint frames.
//!
//! The binary (`src/main.rs`) parses arguments; [`app`] runs the stepping UI.

pub mod app;
pub mod saved_bench;
