//! The replay pass: one walk over the window with the detectors on, and its report.

use super::ReplayOptions;
use super::apply::{Replayer, Sink};
use super::crosscheck::{PendingKick, snapshot_steps};
use super::report::{QueueReport, ReplayReport};
use super::state::ReplayState;
use super::window;
use crate::finding::{Code, FileSpot, Finding, Severity};
use crate::trace::error::ImportWarning;
use crate::trace::event::{Event, EventKind};
use crate::trace::import::backend::{BackendLog, BackendReport};
use crate::trace::import::qmp::{QmpBody, QmpTranscript, QueueStatus};
use crate::trace::import::ringdump::DumpInput;
use crate::trace::import::store::TraceStore;

/// Replays a trace with optional QMP transcript and ring dumps: the library call behind
/// `ringside replay` and `ringside check`.
pub fn replay(
    store: &TraceStore,
    qmp: Option<&QmpTranscript>,
    rings: &[DumpInput],
    opts: &ReplayOptions,
) -> ReplayReport {
    replay_with_backend(store, qmp, rings, None, opts)
}

/// [`replay`] with the vhost backend's own log beside the trace (`--backend FILE`): its block
/// requests are counted and shown with the vhost device (see [`crate::trace::import::backend`]
/// for what such a log can and cannot tell).
pub fn replay_with_backend(
    store: &TraceStore,
    qmp: Option<&QmpTranscript>,
    rings: &[DumpInput],
    backend: Option<&BackendLog>,
    opts: &ReplayOptions,
) -> ReplayReport {
    let r = Replayer::new(store, qmp, rings, opts);
    run(&r, store, qmp, rings, backend, opts, &mut |_| {})
}

/// The one pass over the window: every event applied with the streaming detectors on, the
/// snapshots' cross-checks at their steps, the end-of-window checks, the report. `on_step` sees
/// the state after each event (the stepping session keeps its checkpoints from it).
pub(super) fn run(
    r: &Replayer,
    store: &TraceStore,
    qmp: Option<&QmpTranscript>,
    rings: &[DumpInput],
    backend: Option<&BackendLog>,
    opts: &ReplayOptions,
    on_step: &mut dyn FnMut(&ReplayState),
) -> ReplayReport {
    let mut st = r.initial(store);
    let mut findings = Vec::new();
    let end = window(store, opts);
    let events = store.events().get(..end).unwrap_or_default();

    // Probes: at which steps QMP snapshots and dumps are checked.
    let mut probes: Vec<(usize, u32)> = Vec::new();
    if let Some(q) = qmp {
        for (k, s) in snapshot_steps(store, q).into_iter().enumerate() {
            match s {
                Some(s) if s <= end => probes.push((s, k as u32 + 1)),
                Some(_) => {}
                None => findings.push(
                    Finding::seen(
                        Code::BadInput,
                        Severity::Warning,
                        format!(
                            "QMP snapshot {} could not be placed in the trace (no VM stop marker \
                             `virtio_rng_vm_state_change … running 0` and no timestamps): not \
                             cross-checked",
                            k + 1
                        ),
                    )
                    .from_file(FileSpot::file(q.source.clone())),
                ),
            }
        }
    }
    // Dump labels in order of appearance ↔ snapshots 1, 2, …
    let mut labels: Vec<String> = Vec::new();
    for d in rings {
        if let Some(l) = &d.snapshot
            && !labels.contains(l)
        {
            labels.push(l.clone());
        }
    }
    let mut qmp_checked = 0;
    let mut dumps_checked = 0;
    let mut next_probe = 0;
    let mut kicks: Vec<PendingKick> = Vec::new();
    probes.sort_unstable();
    let do_probe = |st: &ReplayState,
                    snap: u32,
                    at: &Event,
                    findings: &mut Vec<Finding>,
                    kicks: &mut Vec<PendingKick>,
                    qmp_checked: &mut usize,
                    dumps_checked: &mut usize| {
        let mut sink = Sink {
            out: Some(findings),
        };
        let mut from_qmp = Vec::new();
        let mut statuses: Vec<&QueueStatus> = Vec::new();
        if let Some(q) = qmp {
            for (rec, qs) in q.queue_statuses().filter(|(r, _)| r.snapshot == snap) {
                from_qmp.extend(r.check_qmp_queue(st, qs, rec.line, &q.source, at, &mut sink));
                statuses.push(qs);
            }
            *qmp_checked += 1;
        }
        let label = labels.get(snap as usize - 1);
        for d in rings
            .iter()
            .filter(|d| d.snapshot.as_ref() == label && label.is_some())
        {
            let t = d.device_name.as_deref().unwrap_or("");
            let qs = statuses
                .iter()
                .find(|s| s.name == t && Some(s.queue_index) == d.queue)
                .copied();
            kicks.extend(r.check_dump(st, d, qs, at, &mut sink));
            *dumps_checked += 1;
        }
        // After the dumps': a dump's avail.idx is the driver's own word, the better proof.
        kicks.append(&mut from_qmp);
    };
    for e in events {
        let mut sink = Sink {
            out: Some(&mut findings),
        };
        r.apply(&mut st, store, e, &mut sink);
        while let Some(&(s, snap)) = probes.get(next_probe) {
            if s > st.step {
                break;
            }
            do_probe(
                &st,
                snap,
                e,
                &mut findings,
                &mut kicks,
                &mut qmp_checked,
                &mut dumps_checked,
            );
            next_probe += 1;
        }
        on_step(&st);
    }
    // QMP device status: broken devices.
    if let Some(q) = qmp {
        for rec in &q.records {
            if let QmpBody::Status(s) = &rec.body
                && (s.broken || s.status & 0x40 != 0)
            {
                findings.push(
                    Finding::seen(
                        Code::DeviceBroken,
                        Severity::Error,
                        format!(
                            "QMP x-query-virtio-status: {} is {} (status {:#04x})",
                            s.name,
                            if s.broken { "broken" } else { "NEEDS_RESET" },
                            s.status
                        ),
                    )
                    .from_file(FileSpot::line(q.source.clone(), rec.line))
                    .on(s.name.clone(), None),
                );
            }
        }
    }
    let mut vhost_checked = 0;
    {
        let mut sink = Sink {
            out: Some(&mut findings),
        };
        if let Some(q) = qmp {
            vhost_checked = r.check_vhost_rings(&st, q, &mut sink);
        }
        r.check_pending_kicks(&st, &kicks, &mut sink);
        r.finish(&st, store, &mut sink);
    }
    if store.stats.unknown_lines > 0 {
        findings.push(
            Finding::seen(
                Code::UnknownLines,
                Severity::Info,
                format!(
                    "{} lines are not virtio/virtqueue/vhost events ({} malformed); kept as \
                     unknown events",
                    store.stats.unknown_lines, store.stats.malformed_lines
                ),
            )
            .from_file(FileSpot::file(store.source())),
        );
    }
    let mut warnings: Vec<ImportWarning> = store.warnings.list.clone();
    if let Some(q) = qmp {
        warnings.extend(q.warnings.list.iter().cloned());
    }
    for w in &warnings {
        let spot = match w.line {
            Some(l) => FileSpot::line(w.file.clone(), l),
            None => FileSpot::offset(w.file.clone(), w.offset.unwrap_or(0)),
        };
        findings.push(
            Finding::seen(Code::BadInput, Severity::Warning, w.message.clone()).from_file(spot),
        );
    }
    findings.sort_by_key(|f| (f.line().is_none(), f.line()));
    let last = events.last();
    ReplayReport {
        trace: store.source().to_string(),
        steps: end,
        events: store.events().len(),
        last_line: last.map(|e| u64::from(e.line)),
        last_time_us: last.and_then(Event::time),
        stats: store.stats,
        devices: st.devices.clone(),
        queues: (0..st.queues.len())
            .filter_map(|qi| QueueReport::of(r, &st, qi))
            .collect(),
        qmp_snapshots_checked: qmp_checked,
        dumps_checked,
        vhost_queues_checked: vhost_checked,
        backend: backend.map(|b| {
            BackendReport::new(
                b,
                &vhost_sessions(events),
                opts.until_time_us.or(last.and_then(Event::time)),
            )
        }),
        findings,
        warnings,
    }
}

/// The spans between `vhost_dev_start` and `vhost_dev_stop` (or the end) in `events`:
/// `(from_line, from_us, to_line, to_us)`.
fn vhost_sessions(events: &[Event]) -> Vec<(u64, u64, u64, u64)> {
    let mut out = Vec::new();
    let mut open: Option<&Event> = None;
    for e in events {
        match e.kind {
            EventKind::VhostDev { start: true, .. } => open = open.or(Some(e)),
            EventKind::VhostDev { start: false, .. } => {
                if let Some(s) = open.take() {
                    out.push((u64::from(s.line), s.time_us, u64::from(e.line), e.time_us));
                }
            }
            _ => {}
        }
    }
    if let (Some(s), Some(e)) = (open, events.last()) {
        out.push((u64::from(s.line), s.time_us, u64::from(e.line), e.time_us));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::event::DeviceType;

    const SPLIT: &str = "\
virtio_set_status vdev 0x100 val 15
virtio_queue_notify vdev 0x100 n 0 vq 0x200
virtqueue_alloc_element elem 0x300 size 240 in_num 2 out_num 1
virtqueue_pop vq 0x200 elem 0x300 in_num 2 out_num 1
virtio_blk_handle_read vdev 0x100 req 0x300 sector 0 nsectors 1
virtqueue_pop vq 0x200 elem 0x301 in_num 2 out_num 1
virtqueue_fill vq 0x200 elem 0x301 len 513 idx 0
virtqueue_flush vq 0x200 count 1
virtio_notify vdev 0x100 vq 0x200
virtqueue_fill vq 0x200 elem 0x301 len 513 idx 0
virtqueue_flush vq 0x200 count 1
";

    #[test]
    fn split_counters_and_streaming_detectors() {
        let store = TraceStore::from_bytes(SPLIT.as_bytes(), "t.log");
        let rep = replay(&store, None, &[], &ReplayOptions::default());
        let q = &rep.queues[0];
        assert_eq!(q.device_type, DeviceType::Blk);
        assert_eq!((q.pops, q.fills, q.flushes), (2, 2, 2));
        assert_eq!((q.last_avail_idx, q.used_idx), (2, 2));
        // inuse = pops - flushed, saturating, as QEMU's.
        assert_eq!(q.inuse, 0);
        let codes: Vec<_> = rep.findings.iter().map(|f| (f.code, f.line())).collect();
        assert!(
            codes.contains(&(Code::DoubleCompletion, Some(10))),
            "{codes:?}"
        );
        // elem 0x300 was popped at line 4 and never filled while 0x301 (popped later) was.
        assert!(codes.contains(&(Code::Leak, Some(4))), "{codes:?}");
        assert!(rep.has_errors());
    }

    #[test]
    fn until_line_cuts_the_window() {
        let store = TraceStore::from_bytes(SPLIT.as_bytes(), "t.log");
        let opts = ReplayOptions {
            until_line: Some(8),
            ..Default::default()
        };
        let rep = replay(&store, None, &[], &opts);
        assert_eq!(rep.last_line, Some(8));
        let q = &rep.queues[0];
        assert_eq!((q.pops, q.flushes, q.used_idx, q.inuse), (2, 1, 1, 1));
        assert!(
            !rep.findings
                .iter()
                .any(|f| f.code == Code::DoubleCompletion)
        );
    }
}
