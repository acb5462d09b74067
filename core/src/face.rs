//! What every face (the terminal UI, the browser app) stands on: the [`screen::Screen`] a
//! controller hands out for a size, laid out in cells, with every word, number, role and click
//! target decided here.

pub mod screen;
