//! The replay pass: one walk over the window with the detectors on, and its report.

use super::ReplayOptions;
use super::apply::{Replayer, Sink};
use super::crosscheck::PendingKick;
use super::report::{QueueReport, ReplayReport};
use super::snapshot::snapshot_steps;
use super::window;
use crate::finding::{Code, FileSpot, Finding, Severity};
use crate::trace::error::ImportWarning;
use crate::trace::event::{Event, EventKind};
use crate::trace::import::Capture;
use crate::trace::import::backend::BackendReport;
use crate::trace::import::qmp::{QmpBody, QueueStatus};
use crate::trace::join::{Join, JoinOptions, Joined, report_of};
use crate::trace::state::ReplayState;

/// Replays a capture (the trace, and the QMP transcript, ring dumps and backend log beside it
/// when there are some): the library call behind `ringside replay` and `ringside check`. The
/// backend's block requests are counted and shown with the vhost device (see
/// [`crate::trace::import::backend`] for what such a log can and cannot tell).
pub fn replay(capture: &Capture, opts: &ReplayOptions) -> ReplayReport {
    let r = Replayer::new(&capture.store, capture.qmp.as_ref(), &capture.dumps, opts);
    let joined = Join::build(capture, &r.initial(&capture.store), JoinOptions::default());
    run(&r, capture, opts, joined.as_ref(), &mut |_| {})
}

/// An input left out, as a finding.
fn unused(spot: FileSpot, message: String) -> Finding {
    Finding::seen(Code::InputUnused, Severity::Warning, message).from_file(spot)
}

/// The one pass over the window: every event applied with the streaming detectors on, the
/// snapshots' cross-checks at their steps, the end-of-window checks, the report. `on_step` sees
/// the state after each event (the stepping session keeps its checkpoints from it).
pub(super) fn run(
    r: &Replayer,
    capture: &Capture,
    opts: &ReplayOptions,
    joined: Option<&Joined>,
    on_step: &mut dyn FnMut(&ReplayState),
) -> ReplayReport {
    let (store, qmp, rings) = (&capture.store, capture.qmp.as_ref(), &capture.dumps);
    let backend = capture.backend.as_ref();
    let mut st = r.initial(store);
    let mut findings: Vec<Finding> = capture
        .unused
        .iter()
        .map(|w| unused(FileSpot::file(w.file.clone()), w.message.clone()))
        .collect();
    let end = window(store, opts);
    let events = store.events().get(..end).unwrap_or_default();

    // Probes: at which steps QMP snapshots and dumps are checked. Snapshot k is the k-th
    // `stop` of the transcript; a dump says which it was taken in.
    let snaps = qmp.map_or(0, |q| q.stop_times.len());
    let dumped = rings.iter().filter_map(|d| d.taken_at).max().unwrap_or(0);
    let steps = snapshot_steps(store, qmp, snaps.max(dumped as usize));
    let mut probes: Vec<(usize, u32)> = Vec::new();
    for (k, s) in steps.iter().enumerate() {
        let snap = k as u32 + 1;
        match *s {
            Some(s) if s <= end => probes.push((s, snap)),
            Some(_) => {}
            None => {
                let why = "no VM stop marker `virtio_rng_vm_state_change … running 0` for it in \
                           the trace, and no timestamps to place its QMP STOP event";
                if let Some(q) = qmp.filter(|_| k < snaps) {
                    findings.push(
                        Finding::seen(
                            Code::BadInput,
                            Severity::Warning,
                            format!(
                                "QMP snapshot {snap} could not be placed in the trace ({why}): \
                                 not cross-checked"
                            ),
                        )
                        .from_file(FileSpot::file(q.source.clone())),
                    );
                }
                for d in rings.iter().filter(|d| d.taken_at == Some(snap)) {
                    findings.push(unused(
                        FileSpot::file(d.name.clone()),
                        format!("ring dump of snapshot {snap} not placed in the trace ({why})"),
                    ));
                }
            }
        }
    }
    for d in rings.iter().filter(|d| d.taken_at.is_none()) {
        findings.push(unused(
            FileSpot::file(d.name.clone()),
            "ring dump not tied to a snapshot (no index.json, no pmemsave of it in a QMP \
             transcript): decoded (`ringside inspect`), not cross-checked"
                .into(),
        ));
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
        let mut left_out = Vec::new();
        let mut sink = Sink {
            out: Some(&mut *findings),
        };
        let mut from_qmp = Vec::new();
        let mut statuses: Vec<&QueueStatus> = Vec::new();
        if let Some(q) = qmp.filter(|_| snap as usize <= snaps) {
            for (rec, qs) in q.queue_statuses().filter(|(r, _)| r.snapshot == snap) {
                from_qmp.extend(r.check_qmp_queue(st, qs, rec.line, &q.source, at, &mut sink));
                statuses.push(qs);
            }
            *qmp_checked += 1;
        }
        for d in rings.iter().filter(|d| d.taken_at == Some(snap)) {
            let t = d.device_name.as_deref().unwrap_or("");
            let qs = statuses
                .iter()
                .find(|s| s.name == t && Some(s.queue_index) == d.queue)
                .copied();
            match r.check_dump(st, d, qs, at, &mut sink) {
                Ok(k) => {
                    kicks.extend(k);
                    *dumps_checked += 1;
                }
                Err(why) => left_out.push(unused(
                    FileSpot::file(d.name.clone()),
                    format!("ring dump not cross-checked: {why}"),
                )),
            }
        }
        // After the dumps': a dump's avail.idx is the driver's own word, the better proof.
        kicks.append(&mut from_qmp);
        findings.append(&mut left_out);
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
    match joined {
        Some(Ok(j)) => findings.extend(j.findings.iter().cloned()),
        Some(Err(refusal)) => findings.push(
            Finding::seen(
                Code::ClockUnaligned,
                Severity::Error,
                refusal.message.clone(),
            )
            .from_file(FileSpot::file(
                capture.driver.as_ref().map_or("", |d| d.source()),
            )),
        ),
        None => {}
    }
    if let (Some(d), None) = (capture.dpdk.as_ref(), capture.driver.as_ref()) {
        findings.push(unused(
            FileSpot::file(d.source.clone()),
            "DPDK's packets are joined to the rings through the driver's trace: give it with \
             --guest (DPDK prints no descriptor index, so its packets are paired with the \
             driver's buffers by order)"
                .into(),
        ));
    }
    if let Some(d) = capture.driver.as_ref() {
        for w in &d.warnings.list {
            findings.push(
                Finding::seen(Code::BadInput, Severity::Warning, w.to_string()).from_file(
                    FileSpot {
                        file: w.file.clone(),
                        line: w.line,
                        offset: None,
                    },
                ),
            );
        }
    }
    if let Some(d) = capture.dpdk.as_ref() {
        for w in &d.warnings.list {
            findings.push(
                Finding::seen(Code::BadInput, Severity::Warning, w.to_string()).from_file(
                    FileSpot {
                        file: w.file.clone(),
                        line: w.line,
                        offset: None,
                    },
                ),
            );
        }
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
        let mut message = w.message.clone();
        if !w.expected.is_empty() {
            message.push_str(&format!("; expected {}", w.expected));
        }
        if !w.hint.is_empty() {
            message.push_str(&format!(" (hint: {})", w.hint));
        }
        findings.push(Finding::seen(Code::BadInput, Severity::Warning, message).from_file(spot));
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
        join: joined.map(|j| report_of(j, capture)),
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
    use crate::trace::import::store::TraceStore;

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
        let rep = replay(&Capture::new(store), &ReplayOptions::default());
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
        let rep = replay(&Capture::new(store.clone()), &opts);
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
