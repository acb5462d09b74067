//! What every face (the terminal UI, the browser app) stands on: the [`app::App`] that holds
//! whatever is open, the [`controller`]s that apply commands, and the [`screen::Screen`] a
//! controller hands out for a size, laid out in cells, with every word, number, role and click
//! target decided here.

pub mod app;
pub mod catalog;
pub mod controller;
pub mod error;
pub mod link;
pub mod screen;
