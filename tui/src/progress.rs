//! Where the terminal keeps the learner's course progress: `progress.ron` in the user's config
//! directory (`~/.config/ringside/` on Linux, per the `directories` crate). Core turns the
//! progress into text and back ([`Progress`]); this module only reads and writes the file.
//!
//! `--no-save` or the environment variable `RINGSIDE_NO_SAVE` (any value but empty or `0`)
//! turns storage off: the course starts at chapter 1 and nothing is written, as tests need.
//! A file that cannot be used is reported once, in the warning [`ProgressStore::load`]
//! returns, and replaced by a fresh progress, so the next run starts cleanly.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use ringside_core::tutorial::Progress;

/// The environment variable that turns saving off.
pub const NO_SAVE_ENV: &str = "RINGSIDE_NO_SAVE";

/// The progress file, or none when saving is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressStore {
    path: Option<PathBuf>,
}

impl ProgressStore {
    /// The store the command line asks for: none with `--no-save` or `RINGSIDE_NO_SAVE`, else
    /// the user's config directory (none either when the platform has no home directory).
    pub fn from_env(no_save: bool) -> ProgressStore {
        let off =
            no_save || std::env::var_os(NO_SAVE_ENV).is_some_and(|v| !v.is_empty() && v != "0");
        let path = (!off)
            .then(|| directories::ProjectDirs::from("", "", "ringside"))
            .flatten()
            .map(|d| d.config_dir().join("progress.ron"));
        ProgressStore { path }
    }

    /// A store at a given file (tests).
    pub fn at(path: impl Into<PathBuf>) -> ProgressStore {
        ProgressStore {
            path: Some(path.into()),
        }
    }

    /// A store that never reads or writes.
    pub fn off() -> ProgressStore {
        ProgressStore { path: None }
    }

    /// The file, when saving is on.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The saved progress, or a fresh one. A file that exists but cannot be read or used gives
    /// a fresh progress and a warning to show once; the file is replaced so that the warning
    /// is not repeated next time.
    pub fn load(&self) -> (Progress, Option<String>) {
        let Some(path) = &self.path else {
            return (Progress::default(), None);
        };
        let problem = match std::fs::read_to_string(path) {
            Ok(text) => match Progress::parse(&text) {
                Ok(p) => return (p, None),
                Err(e) => e.to_string(),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return (Progress::default(), None);
            }
            Err(e) => format!("{e}; starting afresh at chapter 1"),
        };
        let fresh = Progress::default();
        let replaced = match self.save(&fresh) {
            Ok(()) => String::new(),
            Err(e) => format!(" (and it could not be replaced: {e:#})"),
        };
        (
            fresh,
            Some(format!(
                "course progress {}: {problem}{replaced}",
                path.display()
            )),
        )
    }

    /// Writes the progress (a no-op when saving is off). The text goes to a temporary file
    /// first and is renamed over the old one, so a crash never leaves half a file.
    pub fn save(&self, p: &Progress) -> anyhow::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let tmp = path.with_extension("ron.tmp");
        std::fs::write(&tmp, p.to_ron())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ringside-progress-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("sub").join("progress.ron")
    }

    #[test]
    fn progress_is_saved_and_loaded_back() {
        let path = scratch("round-trip");
        let store = ProgressStore::at(&path);
        assert_eq!(store.load(), (Progress::default(), None));
        let mut p = Progress::default();
        p.finish(1);
        p.skip(2, "status-after");
        store.save(&p).unwrap();
        assert_eq!(store.load(), (p, None));
        let _ = std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap());
    }

    #[test]
    fn a_corrupt_file_is_reported_once_and_replaced() {
        let path = scratch("corrupt");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "Progress(done: [1, 2").unwrap();
        let store = ProgressStore::at(&path);
        let (p, warning) = store.load();
        assert_eq!(p, Progress::default());
        let w = warning.expect("a warning");
        assert!(w.contains("progress.ron") && w.contains("replaced"), "{w}");
        // Replaced: the second load is clean.
        assert_eq!(store.load(), (Progress::default(), None));
        let _ = std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap());
    }

    #[test]
    fn saving_off_reads_and_writes_nothing() {
        let store = ProgressStore::off();
        assert_eq!(store.path(), None);
        let mut p = Progress::default();
        p.finish(1);
        store.save(&p).unwrap();
        assert_eq!(store.load().0, Progress::default());
        assert_eq!(ProgressStore::from_env(true), ProgressStore::off());
    }
}
