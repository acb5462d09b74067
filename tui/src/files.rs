//! Paths to bytes: the terminal face's file reading. Core reads no files (the browser has no
//! paths); this module reads what the command line names and hands core named bytes.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};
use ringside_core::face::app::{find_scenario, open_bytes};
use ringside_core::face::controller::Controller;
use ringside_core::face::controller::scenario::ScenarioUi;
use ringside_core::face::controller::trace::TraceUi;
use ringside_core::trace::import::driver::DriverTrace;
use ringside_core::trace::import::sniff::{InputKind, sniff};
use ringside_core::trace::{Capture, CaptureFiles, NamedFile, TraceStore};

use crate::app::Disk;

/// How much of a file is read to tell what it is.
const HEAD: u64 = 64 * 1024;

/// A path as a name for messages.
fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// A whole file.
pub fn read(path: &Path) -> anyhow::Result<NamedFile> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok((shown(path), bytes))
}

/// The first bytes of a file, to sniff.
fn head(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut buf = Vec::new();
    (&mut f)
        .take(HEAD)
        .read_to_end(&mut buf)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(buf)
}

/// A QEMU trace, streamed (a trace may be larger than memory as text) and checked to be one.
pub fn trace(path: &Path) -> anyhow::Result<TraceStore> {
    if path.is_dir() {
        bail!(
            "{} is a directory; expected a QEMU trace log (the file `-D` names)",
            path.display()
        );
    }
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let size = f.metadata().ok().map(|m| m.len());
    let store = TraceStore::from_sized_reader(f, &shown(path), size)?;
    Ok(store.ensure_trace(&head(path)?)?)
}

/// The ring dumps a path names: every file of a directory (its subdirectories too, as a zip
/// holds them), or one file (a zip archive, or a single dump).
pub fn rings(path: &Path) -> anyhow::Result<Vec<NamedFile>> {
    if !path.is_dir() {
        return Ok(vec![read(path)?]);
    }
    let mut out = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let entries =
            std::fs::read_dir(&d).with_context(|| format!("cannot list {}", d.display()))?;
        for e in entries {
            let p = e
                .with_context(|| format!("cannot list {}", d.display()))?
                .path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                out.push(read(&p)?);
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The files beside a trace, by path: `--qmp`, `--rings`, `--backend`, `--guest`, `--dpdk`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Beside<'a> {
    /// QMP transcript.
    pub qmp: Option<&'a Path>,
    /// Ring dumps: a directory or a zip.
    pub rings: Option<&'a Path>,
    /// A vhost backend's own trace log.
    pub backend: Option<&'a Path>,
    /// The guest driver's ftrace text.
    pub guest: Option<&'a Path>,
    /// DPDK's testpmd / vhost log.
    pub dpdk: Option<&'a Path>,
}

impl Beside<'_> {
    /// Whether any file is named (then the target is a trace).
    pub fn any(&self) -> bool {
        self.qmp.is_some()
            || self.rings.is_some()
            || self.backend.is_some()
            || self.guest.is_some()
            || self.dpdk.is_some()
    }
}

/// The guest driver's trace, streamed (it is the larger of the two sides) and checked to be one.
pub fn driver(path: &Path) -> anyhow::Result<DriverTrace> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let t = DriverTrace::from_reader(f, &shown(path))?;
    Ok(t.ensure(&head(path)?)?)
}

/// A trace and the files beside it, imported.
pub fn capture(trace_path: &Path, beside: &Beside<'_>) -> anyhow::Result<Capture> {
    let store = trace(trace_path)?;
    let files = CaptureFiles {
        qmp: beside.qmp.map(read).transpose()?,
        rings: match beside.rings {
            Some(p) => rings(p)?,
            None => Vec::new(),
        },
        backend: beside.backend.map(read).transpose()?,
        guest: None,
        dpdk: beside.dpdk.map(read).transpose()?,
    };
    let mut c = Capture::load(store, files)?;
    if let Some(g) = beside.guest {
        c = c.with_driver(driver(g)?);
    }
    Ok(c)
}

/// What `ringside tui TARGET` opens: with a file beside it (`--qmp`, `--rings`, `--guest`, …)
/// a trace; else a file is
/// sniffed (a trace log is streamed; a scenario or saved session goes to core as bytes), and
/// anything that is not a file is a scenario name.
pub fn open_target(target: &str, beside: &Beside<'_>) -> anyhow::Result<Box<dyn Controller>> {
    let path = Path::new(target);
    let open_trace = || -> anyhow::Result<Box<dyn Controller>> {
        let c = capture(path, beside)?;
        Ok(Box::new(TraceUi::new(c)))
    };
    if beside.any() {
        return open_trace();
    }
    if !path.is_file() {
        let s = find_scenario(target, &mut Disk::default())?;
        return Ok(Box::new(ScenarioUi::with_scenario(target, s)?));
    }
    if sniff(target, &head(path)?).kind == InputKind::TraceLog {
        return open_trace();
    }
    let (name, bytes) = read(path)?;
    Ok(open_bytes(&name, &bytes, &mut Disk::default())?)
}
