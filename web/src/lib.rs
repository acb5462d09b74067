//! ringside in the browser: the same engine, keys and screens as the terminal UI, painted with
//! egui. Core builds every screen ([`ringside_core::face`]); this crate maps the browser's
//! input to core's keys and commands, paints the screens as a grid of cells, and keeps the
//! page's files, link and test state.
//!
//! Built for the web with `cargo xtask web` (wasm32, wasm-bindgen); `cargo run -p
//! ringside-web` opens the same page in a desktop window.

pub mod files;
pub mod input;
pub mod native;
pub mod paint;
pub mod picture;
pub mod theme;
pub mod ui;
#[cfg(target_arch = "wasm32")]
mod web;

pub use ui::{Host, PageState, WebApp};

impl eframe::App for WebApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        WebApp::ui(self, ui);
    }
}
