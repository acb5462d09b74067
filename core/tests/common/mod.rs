//! Reading the real captures in traces/ into the bytes core takes (core reads no files).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ringside_core::trace::import::dumpset;
use ringside_core::trace::{Capture, CaptureFiles, NamedFile, TraceStore};

/// `traces/NAME`.
pub fn dir(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../traces")).join(name)
}

/// A file as a face hands it over: its path as the name, its bytes.
pub fn named(path: &Path) -> NamedFile {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path.display().to_string(), bytes)
}

/// Every file of a directory, sorted by name.
pub fn files_of(dir: &Path) -> Vec<NamedFile> {
    let mut v: Vec<NamedFile> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| named(&e.unwrap().path()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// A capture's trace.
pub fn store(name: &str) -> TraceStore {
    let (n, b) = named(&dir(name).join("trace.log"));
    TraceStore::parse(&b, &n).unwrap()
}

/// A capture's trace with its QMP transcript and ring dumps.
pub fn capture(name: &str) -> Capture {
    let d = dir(name);
    Capture::load(
        store(name),
        CaptureFiles {
            qmp: Some(named(&d.join("qmp.jsonl"))),
            rings: files_of(&d.join("rings")),
            backend: None,
            ..CaptureFiles::default()
        },
    )
    .unwrap()
}

/// A capture's ring dumps alone.
pub fn dumps(name: &str) -> Vec<ringside_core::trace::ringdump::DumpInput> {
    dumpset::load_files(files_of(&dir(name).join("rings")), None)
        .unwrap()
        .dumps
}

/// A capture with the guest driver's trace beside it (and DPDK's log when the capture has
/// one), optionally edited: `edit(trace.log text, guest-trace.txt text)` returns the texts to
/// import instead (the tests' documented edits).
pub fn joined_with(name: &str, edit: impl FnOnce(String, String) -> (String, String)) -> Capture {
    use ringside_core::trace::import::{dpdk::DpdkLog, driver::DriverTrace};
    let d = dir(name);
    let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap();
    let (log, guest) = edit(read("trace.log"), read("guest-trace.txt"));
    let tname = d.join("trace.log").display().to_string();
    let gname = d.join("guest-trace.txt").display().to_string();
    let mut c = Capture::load(
        TraceStore::parse(log.as_bytes(), &tname).unwrap(),
        CaptureFiles {
            qmp: Some(named(&d.join("qmp.jsonl"))),
            ..CaptureFiles::default()
        },
    )
    .unwrap()
    .with_driver(DriverTrace::parse(guest.as_bytes(), &gname).unwrap());
    if d.join("dpdk.log").exists() {
        let (n, b) = named(&d.join("dpdk.log"));
        c = c.with_dpdk(DpdkLog::parse(&b, &n).unwrap());
    }
    c
}

/// A capture with both sides, as captured.
pub fn joined(name: &str) -> Capture {
    joined_with(name, |a, b| (a, b))
}
