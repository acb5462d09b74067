//! The page outside a browser: the desktop window (`cargo run -p ringside-web [#LINK]`) and
//! the tests. Dropped files are read at once; there is no file dialog, no address bar (the
//! link is printed), and `window.__ringside` is the last published state, kept here.

use std::sync::{Arc, Mutex};

use crate::ui::{Host, Incoming, PageState};

/// A host without a browser.
#[derive(Debug, Clone, Default)]
pub struct NativeHost {
    fragment: Option<String>,
    batches: Vec<Vec<Incoming>>,
    /// The last state published, shared with whoever made the host (tests).
    pub published: Arc<Mutex<Option<PageState>>>,
    /// Print links as they change (the desktop window), or not (tests).
    pub print_links: bool,
    /// The page may close (the desktop window).
    pub quits: bool,
}

impl NativeHost {
    /// A host whose page opens on `fragment` (a link's part after `#`), if given.
    pub fn new(fragment: Option<String>) -> Self {
        NativeHost {
            fragment: fragment.map(|f| f.trim_start_matches('#').to_string()),
            ..NativeHost::default()
        }
    }
}

impl Host for NativeHost {
    fn fragment(&self) -> Option<String> {
        self.fragment.clone()
    }

    fn show_fragment(&mut self, fragment: &str) {
        if self.print_links {
            println!("#{fragment}");
        }
    }

    fn url(&self, fragment: &str) -> String {
        format!("#{fragment}")
    }

    fn publish(&mut self, state: &PageState) {
        if let Ok(mut p) = self.published.lock() {
            *p = Some(state.clone());
        }
    }

    fn pick_files(&mut self) -> bool {
        false
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn read_dropped(&mut self, _: &egui::Context, files: Vec<egui::DroppedFileHandle>) {
        let batch = files
            .iter()
            .map(|f| {
                let name = f
                    .path()
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (name, f.bytes())
            })
            .collect();
        self.batches.push(batch);
    }

    #[cfg(target_arch = "wasm32")]
    fn read_dropped(&mut self, _: &egui::Context, _: Vec<egui::DroppedFileHandle>) {}

    fn take_files(&mut self) -> Vec<Vec<Incoming>> {
        std::mem::take(&mut self.batches)
    }

    fn now_ms(&self) -> f64 {
        0.0
    }

    fn can_quit(&self) -> bool {
        self.quits
    }
}
