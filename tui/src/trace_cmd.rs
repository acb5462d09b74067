//! `ringside replay`, `check`, `inspect` and `export`: the trace-debugging commands. All the
//! work is core's (`ringside_core::trace`); this module reads the files it is given
//! ([`ringside_tui::files`]), maps arguments and prints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use ringside_core::trace::{self, ReplayOptions, ringdump};
use ringside_tui::files;

/// What to replay and how far.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// QEMU trace log (`-trace 'virtqueue_*' -trace 'virtio_*' -D FILE`).
    pub trace: PathBuf,
    /// QMP transcript (JSON lines, pretty-printed objects, or a JSON array of messages or of
    /// request/response records) with x-query-virtio-* answers, to fill in and cross-check.
    #[arg(long)]
    pub qmp: Option<PathBuf>,
    /// Ring dumps saved with pmemsave: a directory (with or without its index.json) or a zip.
    #[arg(long)]
    pub rings: Option<PathBuf>,
    /// The vhost-user backend's own trace log (qemu-storage-daemon `--trace ... -D FILE`),
    /// counted beside the QEMU side.
    #[arg(long)]
    pub backend: Option<PathBuf>,
    /// The guest driver's ftrace text (kprobe events of traces/kprobes.py, guest-trace.txt):
    /// joined with QEMU's trace, each buffer followed across both sides.
    #[arg(long)]
    pub guest: Option<PathBuf>,
    /// dpdk-testpmd's log (vhost debug log, `set verbose 3` packets) when DPDK served rings
    /// as a vhost-user device.
    #[arg(long)]
    pub dpdk: Option<PathBuf>,
    /// Stop after this trace line.
    #[arg(long, value_name = "N")]
    pub until_line: Option<u64>,
    /// Stop at this time (`sec.usec` as the trace prints it, or seconds).
    #[arg(long, value_name = "T")]
    pub until_time: Option<String>,
}

impl ReplayArgs {
    fn options(&self) -> anyhow::Result<ReplayOptions> {
        let until_time_us = match &self.until_time {
            Some(t) => Some(trace::replay::parse_time(t).with_context(|| {
                format!("--until-time {t}: expected seconds, e.g. 1795598581.340183")
            })?),
            None => None,
        };
        Ok(ReplayOptions {
            until_line: self.until_line,
            until_time_us,
            ..ReplayOptions::default()
        })
    }

    fn report(&self) -> anyhow::Result<trace::ReplayReport> {
        let opts = self.options()?;
        let capture = files::capture(
            &self.trace,
            &files::Beside {
                qmp: self.qmp.as_deref(),
                rings: self.rings.as_deref(),
                backend: self.backend.as_deref(),
                guest: self.guest.as_deref(),
                dpdk: self.dpdk.as_deref(),
            },
        )?;
        Ok(trace::replay(&capture, &opts))
    }
}

/// `ringside replay`: per-queue counters and findings.
pub fn replay(args: &ReplayArgs, json: bool) -> anyhow::Result<ExitCode> {
    let report = args.report()?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        out!("{report}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `ringside check`: findings only; exit 1 when one is an error.
pub fn check(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let report = args.report()?;
    let text = report.findings_text();
    if text.is_empty() {
        outln!("no findings")?;
    }
    out!("{text}")?;
    Ok(if report.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `ringside inspect`: decodes ring dumps (a directory, with or without index.json, or a zip;
/// `--qmp` identifies dumps the folder does not describe itself).
pub fn inspect(path: &Path, qmp: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let qmp = match qmp {
        Some(p) => {
            let (name, bytes) = files::read(p)?;
            Some(trace::qmp::QmpTranscript::parse(&bytes, &name))
        }
        None => None,
    };
    let set = trace::import::dumpset::load_files(files::rings(path)?, qmp.as_ref())?;
    for w in &set.unused {
        eprintln!("ringside: {}: {}", w.file, w.message);
    }
    if set.dumps.is_empty() {
        bail!(
            "{}: no ring dumps found; expected the files pmemsave wrote (NAME-desc.bin with \
             NAME-avail.bin and NAME-used.bin, or -driver.bin and -device.bin for a packed \
             ring's event suppression areas) and, ideally, the index.json traces/qmp.py writes \
             beside them",
            path.display()
        );
    }
    let mut failed = false;
    let mut all = Vec::new();
    for r in set.dumps.iter().map(ringdump::inspect) {
        match r {
            Ok(i) if json => all.push(i),
            Ok(i) => outln!("{i}")?,
            Err(e) => {
                eprintln!("ringside: {e}");
                failed = true;
            }
        }
    }
    if json {
        outln!("{}", serde_json::to_string_pretty(&all)?)?;
    }
    Ok(if failed {
        ExitCode::from(crate::EXIT_BAD_INPUT)
    } else {
        ExitCode::SUCCESS
    })
}

/// `ringside export --format chrome`: Chrome trace-event JSON for Perfetto's UI.
pub fn export(args: &ReplayArgs, format: &str, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    if format != "chrome" {
        bail!(
            "unknown export format `{format}`: the one format is `chrome` (Chrome trace-event JSON, opens in Perfetto)"
        );
    }
    let store = files::trace(&args.trace)?;
    let opts = args.options()?;
    if let Some(note) = trace::untimed_note(&store) {
        eprintln!("ringside: note: {note}");
    }
    match out {
        Some(p) => {
            let f = std::fs::File::create(p)
                .with_context(|| format!("cannot create {}", p.display()))?;
            trace::export_chrome(&store, &opts, std::io::BufWriter::new(f))?;
        }
        None => trace::export_chrome(&store, &opts, std::io::stdout().lock())?,
    }
    Ok(ExitCode::SUCCESS)
}
