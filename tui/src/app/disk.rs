//! The terminal UI's files: the disk, relative to the working directory.

use ringside_core::face::app::Files;

/// Files on disk.
#[derive(Debug, Default, Clone, Copy)]
pub struct Disk;

impl Files for Disk {
    fn read(&mut self, name: &str) -> Result<Vec<u8>, String> {
        std::fs::read(name).map_err(|e| e.to_string())
    }

    fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), String> {
        std::fs::write(name, bytes).map_err(|e| e.to_string())
    }
}
