//! What `ringside replay` prints and `--json` serialises: the queues' counters at the end of
//! the window, the vhost devices, the backend log, the findings.

use std::fmt;

use serde::Serialize;

use super::apply::Replayer;
use crate::finding::Finding;
use crate::layout::PackedPos;
use crate::trace::error::ImportWarning;
use crate::trace::event::{DeviceType, fmt_time};
use crate::trace::import::backend::{BackendReport, BlockCounts};
use crate::trace::import::store::ImportStats;
use crate::trace::join::JoinReport;
use crate::trace::state::{DeviceState, QueueLayout, ReplayState};

/// One queue in a report.
#[derive(Debug, Clone, Serialize)]
pub struct QueueReport {
    /// `virtio-blk@0x…`.
    pub device: String,
    /// Device type.
    pub device_type: DeviceType,
    /// Queue index.
    pub queue: u16,
    /// `vq` pointer.
    pub vq: String,
    /// Layout.
    pub layout: QueueLayout,
    /// Size, when known.
    pub size: Option<u16>,
    /// Served by a vhost backend (counters from QMP, see [`QueueState::vhost`](crate::trace::state::QueueState::vhost)).
    pub vhost: bool,
    /// Pops (total).
    pub pops: u64,
    /// Fills (total).
    pub fills: u64,
    /// Flushes (total).
    pub flushes: u64,
    /// QEMU's `last_avail_idx` now.
    pub last_avail_idx: u16,
    /// QEMU's `used_idx` now.
    pub used_idx: u16,
    /// QEMU's `inuse` now.
    pub inuse: u32,
    /// Kicks (total).
    pub kicks: u64,
    /// Interrupts (total).
    pub interrupts: u64,
    /// Resets.
    pub resets: u32,
    /// Line of the reset that zeroed its indices, after it had moved buffers.
    pub reset_line: Option<u32>,
    /// Packed: next available slot and wrap counter.
    pub avail_pos: Option<PackedPos>,
    /// Packed: next used slot and wrap counter.
    pub used_pos: Option<PackedPos>,
}

impl QueueReport {
    /// Queue `qi` of a state, as the report shows it.
    pub(super) fn of(r: &Replayer, st: &ReplayState, qi: usize) -> Option<QueueReport> {
        let q = st.queues.get(qi)?;
        Some(QueueReport {
            device: r.label(st, qi),
            device_type: st
                .devices
                .get(q.dev)
                .map_or(DeviceType::Unknown, |d| d.device_type),
            queue: q.queue,
            vq: format!("{:#x}", q.vq),
            layout: q.layout,
            size: q.size,
            vhost: q.vhost,
            pops: q.pops,
            fills: q.fills,
            flushes: q.flushes,
            last_avail_idx: q.last_avail_idx.0,
            used_idx: q.used_idx.0,
            inuse: q.inuse,
            kicks: q.kicks,
            interrupts: q.interrupts,
            resets: q.resets,
            reset_line: q.reset_line,
            avail_pos: q.avail_pos,
            used_pos: q.used_pos,
        })
    }
}

/// What `ringside replay` prints (and `--json` serialises).
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    /// Trace file.
    pub trace: String,
    /// Events replayed (the window).
    pub steps: usize,
    /// Events in the trace.
    pub events: usize,
    /// Last line replayed.
    pub last_line: Option<u64>,
    /// Time of the last replayed event.
    pub last_time_us: Option<u64>,
    /// Import counts.
    pub stats: ImportStats,
    /// Devices.
    pub devices: Vec<DeviceState>,
    /// Queues.
    pub queues: Vec<QueueReport>,
    /// QMP snapshots compared with the trace.
    pub qmp_snapshots_checked: usize,
    /// Ring dumps compared with the trace.
    pub dumps_checked: usize,
    /// `x-query-virtio-vhost-queue-status` answers compared with QEMU's queue status.
    pub vhost_queues_checked: usize,
    /// The vhost backend's log, when given.
    pub backend: Option<BackendReport>,
    /// The join with the driver's trace, when given.
    pub join: Option<JoinReport>,
    /// Findings, in trace order.
    pub findings: Vec<Finding>,
    /// Import warnings of all inputs (each is also a `bad-input` finding, which is how the
    /// text report prints it: once).
    pub warnings: Vec<ImportWarning>,
}

impl ReplayReport {
    /// Whether an error-level finding exists (`ringside check` exits 1).
    pub fn has_errors(&self) -> bool {
        crate::finding::has_errors(&self.findings)
    }

    /// The findings alone, one per line (what `ringside check` prints).
    pub fn findings_text(&self) -> String {
        let mut s = String::new();
        for f in &self.findings {
            s.push_str(&f.to_string());
            s.push('\n');
        }
        s
    }
}

impl fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} of {} events, {} lines ({} unknown)",
            self.trace, self.steps, self.events, self.stats.lines, self.stats.unknown_lines
        )?;
        if let Some(l) = self.last_line {
            write!(f, ", up to line {l}")?;
        }
        if let Some(t) = self.last_time_us {
            write!(f, " @{}", fmt_time(t))?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<28} {:>5} {:<6} {:>5} {:>7} {:>7} {:>7} {:>8} {:>8} {:>5} {:>6} {:>6}  packed avail/used",
            "device",
            "queue",
            "layout",
            "size",
            "pops",
            "fills",
            "flushes",
            "last_av",
            "used_idx",
            "inuse",
            "kicks",
            "irqs"
        )?;
        for q in &self.queues {
            let size = q.size.map_or("-".into(), |s| s.to_string());
            let qn = if q.queue == u16::MAX {
                "?".to_string()
            } else {
                q.queue.to_string()
            };
            write!(
                f,
                "{:<28} {:>5} {:<6} {:>5} {:>7} {:>7} {:>7} {:>8} {:>8} {:>5} {:>6} {:>6}",
                q.device,
                qn,
                q.layout.to_string(),
                size,
                q.pops,
                q.fills,
                q.flushes,
                q.last_avail_idx,
                q.used_idx,
                q.inuse,
                q.kicks,
                q.interrupts
            )?;
            if let (Some(a), Some(u)) = (q.avail_pos, q.used_pos) {
                write!(f, "  {a} / {u}")?;
            }
            writeln!(f)?;
        }
        for line in reset_notes(&self.queues) {
            writeln!(f, "note: {line}")?;
        }
        for d in &self.devices {
            if let Some(v) = &d.vhost {
                let reqs: Vec<String> =
                    v.requests.iter().map(|(k, n)| format!("{k} {n}")).collect();
                writeln!(
                    f,
                    "{}: rings served by the {} backend (vhost_dev {:#x}), {} start(s), {} \
                     stop(s), {} now; messages: {}; {} replies. Its queues' counters are QMP's \
                     at the last snapshot: the backend's pops and completions are not in QEMU's \
                     trace",
                    d.label(),
                    v.backend,
                    v.hdev,
                    v.starts,
                    v.stops,
                    if v.started { "started" } else { "stopped" },
                    if reqs.is_empty() {
                        "-".to_string()
                    } else {
                        reqs.join(", ")
                    },
                    v.replies
                )?;
            }
        }
        if let Some(b) = &self.backend {
            let c = |c: &BlockCounts| {
                format!(
                    "{} reads ({} bytes), {} writes ({} bytes)",
                    c.reads, c.bytes_read, c.writes, c.bytes_written
                )
            };
            writeln!(
                f,
                "backend log {}: {} lines, {}",
                b.source,
                b.lines,
                c(&b.total)
            )?;
            if let Some(w) = &b.in_window {
                writeln!(f, "  up to the end of the window: {}", c(w))?;
            }
            for w in &b.windows {
                writeln!(
                    f,
                    "  {} (lines {}-{}, {}-{}): {}",
                    w.label,
                    w.from_line,
                    w.to_line,
                    fmt_time(w.from_us),
                    fmt_time(w.to_us),
                    c(&w.counts)
                )?;
            }
            writeln!(f, "  note: {}", b.note)?;
        }
        if let Some(j) = &self.join {
            write!(f, "{j}")?;
        }
        if self.qmp_snapshots_checked + self.dumps_checked + self.vhost_queues_checked > 0 {
            writeln!(
                f,
                "cross-checked: {} QMP snapshots, {} ring dumps, {} vhost queue statuses",
                self.qmp_snapshots_checked, self.dumps_checked, self.vhost_queues_checked
            )?;
        }
        if self.findings.is_empty() {
            writeln!(f, "no findings")?;
        }
        for x in &self.findings {
            writeln!(f, "{x}")?;
        }
        Ok(())
    }
}

/// Queues whose indices read 0 because their device was reset after it moved buffers, grouped
/// by the reset's line: what the counters table would otherwise show without a word.
pub fn reset_notes(queues: &[QueueReport]) -> Vec<String> {
    let mut by_line: Vec<(u32, Vec<String>)> = Vec::new();
    for q in queues {
        let Some(l) = q.reset_line else { continue };
        if q.last_avail_idx != 0 || q.used_idx != 0 {
            continue;
        }
        let name = format!("{} q{}", q.device, q.queue);
        match by_line.iter_mut().find(|x| x.0 == l) {
            Some(x) => x.1.push(name),
            None => by_line.push((l, vec![name])),
        }
    }
    by_line
        .into_iter()
        .map(|(l, names)| reset_note(l, &names))
        .collect()
}

/// The words for queues zeroed by the reset at `line`.
pub fn reset_note(line: u32, names: &[String]) -> String {
    format!(
        "last_av and used_idx of {} read 0: the device was reset at line {line} \
         (virtio_set_status val 0; a guest's power-off resets every device at the end of a \
         capture); pops, fills and flushes count the whole trace",
        names.join(", ")
    )
}

/// The words for a device whose rings a vhost backend serves.
pub fn vhost_note(d: &DeviceState) -> Option<String> {
    let v = d.vhost.as_ref()?;
    Some(format!(
        "{}: rings served by the {} backend (vhost_dev {:#x}), {}: its pops and completions are \
         not in QEMU's trace; its queues' counters are QMP's at the last snapshot",
        d.label(),
        v.backend,
        v.hdev,
        if v.started { "started" } else { "stopped" }
    ))
}
