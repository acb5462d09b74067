//! Where `ringside bench --save` keeps the latest result, so that the stepping UI can show it
//! next to the model's numbers (`ringside_core::bench::rows`).
//!
//! The file is `bench.json` in the user's data directory (`$XDG_DATA_HOME/ringside` on Linux),
//! or in the directory `RINGSIDE_DATA_DIR` names (tests use that).

use std::path::PathBuf;

use anyhow::Context as _;
use ringside_core::bench::BenchReport;

/// The environment variable that moves the data directory.
pub const DIR_VAR: &str = "RINGSIDE_DATA_DIR";
/// The file's name in it.
pub const FILE: &str = "bench.json";

/// The saved result's path; `None` when no data directory can be found (no home directory).
pub fn path() -> Option<PathBuf> {
    let dir = match std::env::var_os(DIR_VAR) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => directories::ProjectDirs::from("", "", "ringside")?
            .data_dir()
            .to_path_buf(),
    };
    Some(dir.join(FILE))
}

/// The latest saved result's path and bytes, `None` when none was saved; core parses them
/// (`SavedBench::from_file`), so a corrupt file shows as its located error in the UI.
pub fn read() -> Result<Option<(String, Vec<u8>)>, String> {
    let Some(p) = path() else { return Ok(None) };
    match std::fs::read(&p) {
        Ok(bytes) => Ok(Some((p.display().to_string(), bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("reading {}: {e}", p.display())),
    }
}

/// Saves `report` as the latest result (written aside, then renamed over the old one).
pub fn save(report: &BenchReport) -> anyhow::Result<PathBuf> {
    let p = path().with_context(|| {
        format!("no data directory (no home directory?): set {DIR_VAR} to choose one")
    })?;
    let dir = p.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = p.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(&tmp, text + "\n").with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &p).with_context(|| format!("writing {}", p.display()))?;
    Ok(p)
}
