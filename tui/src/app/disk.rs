//! The terminal UI's files: the disk, relative to the working directory, the course
//! progress in the user's config directory, and the latest saved bench result in the data
//! directory (`ringside bench --save`).

use ringside_core::face::app::{BENCH_KEY, Files};
use ringside_core::face::controller::tutorial::PROGRESS_KEY;

use crate::progress::ProgressStore;

/// Files on disk.
#[derive(Debug, Clone)]
pub struct Disk {
    progress: ProgressStore,
}

impl Default for Disk {
    /// The disk, keeping no course progress.
    fn default() -> Self {
        Disk {
            progress: ProgressStore::off(),
        }
    }
}

impl Disk {
    /// The disk, keeping the course progress in `store`.
    pub fn with_progress(store: ProgressStore) -> Disk {
        Disk { progress: store }
    }
}

impl Files for Disk {
    fn read(&mut self, name: &str) -> Result<Vec<u8>, String> {
        std::fs::read(name).map_err(|e| e.to_string())
    }

    fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), String> {
        std::fs::write(name, bytes).map_err(|e| e.to_string())
    }

    fn keep(&mut self, key: &str, bytes: &[u8]) -> Result<(), String> {
        if key != PROGRESS_KEY {
            return Err(format!("nowhere to keep `{key}`"));
        }
        let text = String::from_utf8_lossy(bytes);
        let p = ringside_core::tutorial::Progress::parse(&text).map_err(|e| e.to_string())?;
        self.progress.save(&p).map_err(|e| format!("{e:#}"))
    }

    fn recall(&mut self, key: &str) -> Result<Option<(String, Vec<u8>)>, String> {
        if key != BENCH_KEY {
            return Ok(None);
        }
        crate::saved_bench::read()
    }
}
