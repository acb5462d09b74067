//! The frame of a QEMU trace opened for stepping: the sibling of the scenario
//! [`Frame`](super::Frame), built from a [`TraceSession`] at a cursor (an event count) the same
//! way, without consulting neighbours, so the terminal and the browser paint the same thing.

use serde::{Deserialize, Serialize};

use super::{Cell, Change, UiView};
use crate::features::Status;
use crate::finding::Severity;
use crate::layout::{PackedPos, desc_flags_text};
use crate::trace::event::fmt_time;
use crate::trace::replay::{QueueState, ReplayState};
use crate::trace::ringdump::{Inspection, RingState};
use crate::trace::{Event, EventKind, TraceSession, TraceStore};

/// A whole trace screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceFrame {
    /// The trace at the cursor.
    pub view: TraceView,
    /// Focus, prompt, help, messages, breakpoints and hints (as for scenarios).
    pub ui: UiView,
}

/// Everything about a trace at its cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceView {
    /// Title bar.
    pub header: TraceHeader,
    /// Every queue's counters after the event at the cursor.
    pub queues: Vec<QueueRow>,
    /// The event at the cursor (the last one applied).
    pub event: Option<EventView>,
    /// Findings whose line is at or before the cursor's, then those from QMP or dumps.
    pub findings: Vec<TraceFindingRow>,
    /// Events per queue around the cursor.
    pub timeline: TraceTimeline,
    /// The selected queue's decoded ring dump, when `--rings` has one.
    pub ring: Option<RingDumpView>,
}

/// The title bar of a trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceHeader {
    /// Trace file.
    pub source: String,
    /// Events applied (the cursor).
    pub step: u64,
    /// Events in the trace.
    pub steps: u64,
    /// Trace line of the event at the cursor.
    pub line: Option<u64>,
    /// Steps between the two latest marks, if two are set.
    pub mark_delta: Option<u64>,
}

/// One queue's counters (docs/trace-format.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueRow {
    /// Short name used by breakpoints: `blk0.q0`.
    pub name: String,
    /// `virtio-blk@0x…`.
    pub device: String,
    /// Queue index.
    pub queue: u16,
    /// `split` or `packed`.
    pub layout: String,
    /// Queue size, when known.
    pub size: String,
    /// Counters in [`QUEUE_COLUMNS`] order.
    pub cells: Vec<Cell>,
    /// The selected queue.
    pub selected: bool,
    /// The event at the cursor is on this queue.
    pub current: bool,
}

/// Column names of [`QueueRow::cells`].
/// (`l.avail` is QEMU's `last_avail_idx`, `used` its `used_idx`; the positions are the
/// packed ring's next avail/used slot and wrap counter.)
pub const QUEUE_COLUMNS: [&str; 10] = [
    "pops",
    "fills",
    "flush",
    "l.avail",
    "used",
    "inuse",
    "kicks",
    "irqs",
    "avail.pos",
    "used.pos",
];

/// The event at the cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    /// Its step (1-based: the cursor).
    pub step: u64,
    /// Trace line.
    pub line: u64,
    /// The line as QEMU prints it (rebuilt from the parsed fields for modelled events).
    pub raw: String,
    /// Decoded fields: name and value.
    pub fields: Vec<(String, String)>,
}

/// A finding of the trace detectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceFindingRow {
    /// Trace line, or `None` for QMP/dump evidence.
    pub line: Option<u64>,
    /// The step the line corresponds to (for jumping).
    pub step: Option<u64>,
    /// Severity.
    pub severity: Severity,
    /// `code device qN: message`.
    pub text: String,
    /// At the cursor's event (strong) or since the mark (weak).
    pub change: Change,
}

/// One lane (a queue, or "other") of the trace timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lane {
    /// `blk0.q0`.
    pub label: String,
    /// One glyph per shown event (space when the event is not on this lane).
    pub glyphs: String,
}

/// Events around the cursor, one column each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceTimeline {
    /// Step reached by applying the event of column 0.
    pub first: u64,
    /// Column of the cursor's event, if shown.
    pub cursor: Option<usize>,
    /// Lanes: every queue, then the device/other events.
    pub lanes: Vec<Lane>,
    /// Per column: `m` mark, `!` finding, `↯` notification, space.
    pub flags: String,
}

/// The legend of the trace timeline glyphs.
pub const TRACE_TIMELINE_LEGEND: &str = "k kick  a alloc  P pop  c fill  u flush  i interrupt  s status  · other  m mark  ! finding  ↯ notify";

/// A decoded ring dump of the selected queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingDumpView {
    /// The dump's name (`busy-blk0-q0`).
    pub title: String,
    /// Where the snapshot was taken relative to the cursor, in words.
    pub when: String,
    /// Decoded lines: indices, event suppression, then entries.
    pub lines: Vec<String>,
}

/// A decoded dump, the queue it belongs to and the step at which it was taken.
#[derive(Debug, Clone)]
pub struct PlacedDump {
    /// Index into the replay's queues.
    pub queue: usize,
    /// The decoded dump.
    pub inspection: Inspection,
    /// Its snapshot's step, when it could be placed.
    pub step: Option<u64>,
}

/// What the trace view depends on besides the session.
#[derive(Debug, Clone, Copy)]
pub struct TraceContext<'a> {
    /// Cursor: events applied.
    pub cursor: u64,
    /// Cursor before the last move.
    pub previous: u64,
    /// Reference mark.
    pub mark: Option<u64>,
    /// All marks.
    pub marks: &'a [u64],
    /// Selected queue (index into the replay's queues).
    pub queue: usize,
    /// Timeline columns.
    pub columns: usize,
}

/// Short names of every queue (`blk0.q0`, `net0.q2`), as [`ReplayState::queue_names`] gives.
pub fn queue_names(st: &ReplayState) -> Vec<String> {
    st.queue_names()
}

/// The queue an event is on, as an index into the state's queues.
pub fn event_queue(store: &TraceStore, st: &ReplayState, e: &Event) -> Option<usize> {
    let vq = match e.kind {
        EventKind::QueueNotify { vq, .. }
        | EventKind::Notify { vq, .. }
        | EventKind::Pop { vq, .. }
        | EventKind::Fill { vq, .. }
        | EventKind::Flush { vq, .. } => vq,
        _ => return None,
    };
    let ptr = store.object(vq);
    st.queues.iter().position(|q| q.vq == ptr)
}

/// Whether an event is a notification (a kick or an interrupt).
pub fn is_notification(e: &Event) -> bool {
    matches!(
        e.kind,
        EventKind::QueueNotify { .. } | EventKind::Notify { .. }
    )
}

/// The line as QEMU prints it and the decoded fields (name, value).
pub fn describe_event(store: &TraceStore, e: &Event) -> (String, Vec<(String, String)>) {
    let p = |id| format!("{:#x}", store.object(id));
    let f = |k: &str, v: String| (k.to_string(), v);
    let fields = match e.kind {
        EventKind::QueueNotify { vdev, queue, vq } => {
            vec![
                f("vdev", p(vdev)),
                f("n", queue.to_string()),
                f("vq", p(vq)),
            ]
        }
        EventKind::Notify { vdev, vq, .. } => vec![f("vdev", p(vdev)), f("vq", p(vq))],
        EventKind::AllocElement {
            elem,
            in_num,
            out_num,
        } => vec![
            f("elem", p(elem)),
            f("in_num", in_num.to_string()),
            f("out_num", out_num.to_string()),
        ],
        EventKind::Pop {
            vq,
            elem,
            in_num,
            out_num,
        } => vec![
            f("vq", p(vq)),
            f("elem", p(elem)),
            f("in_num", in_num.to_string()),
            f("out_num", out_num.to_string()),
        ],
        EventKind::Fill { vq, elem, len, idx } => vec![
            f("vq", p(vq)),
            f("elem", p(elem)),
            f("len", len.to_string()),
            f("idx", idx.to_string()),
        ],
        EventKind::Flush { vq, count } => vec![f("vq", p(vq)), f("count", count.to_string())],
        EventKind::SetStatus { vdev, status } => {
            vec![f("vdev", p(vdev)), f("val", status.to_string())]
        }
        EventKind::RunState { running } => vec![f("running", u8::from(running).to_string())],
        EventKind::VhostDev { hdev, device, .. } => {
            vec![f("hdev", p(hdev)), f("device", device.to_string())]
        }
        EventKind::VhostUser { req, flags, .. } => {
            vec![f("req", req.to_string()), f("flags", format!("{flags:#x}"))]
        }
        EventKind::Device { text, .. } | EventKind::Other { text, .. } => {
            vec![f("args", store.text(text).into_owned())]
        }
        EventKind::Unknown { text, .. } => vec![f("line", store.text(text).into_owned())],
    };
    let mut raw = String::new();
    if let Some(t) = e.time() {
        raw.push_str(&format!("{}@{}:", e.tid, fmt_time(t)));
    }
    match e.kind {
        EventKind::Unknown { text, .. } => raw = store.text(text).into_owned(),
        EventKind::Device { text, .. } | EventKind::Other { text, .. } => {
            raw.push_str(store.event_name(e));
            raw.push(' ');
            raw.push_str(&store.text(text));
        }
        EventKind::RunState { running } => {
            raw.push_str(store.event_name(e));
            raw.push_str(&format!(" running {}", u8::from(running)));
        }
        // QEMU prints these as `%p:%s vrings:%d` and `req:%d flags:0x%x`; the vring count is
        // not kept in the event record, so the rebuilt line stops before it.
        EventKind::VhostDev { hdev, device, .. } => {
            raw.push_str(store.event_name(e));
            raw.push_str(&format!(" {}:{device}", p(hdev)));
        }
        EventKind::VhostUser { req, flags, .. } => {
            raw.push_str(store.event_name(e));
            raw.push_str(&format!(" req:{req} flags:{flags:#x}"));
        }
        _ => {
            raw.push_str(store.event_name(e));
            for (k, v) in &fields {
                raw.push_str(&format!(" {k} {v}"));
            }
        }
    }
    // The values as a reader wants them: a status byte by its bits.
    let fields = fields
        .into_iter()
        .map(|(k, v)| match e.kind {
            EventKind::SetStatus { status, .. } if k == "val" => (k, Status(status).to_string()),
            _ => (k, v),
        })
        .collect();
    (raw, fields)
}

/// Whether the search term occurs in an event's line.
pub fn event_matches(store: &TraceStore, e: &Event, term: &str) -> bool {
    describe_event(store, e).0.contains(term)
}

fn glyph(e: &Event) -> char {
    match e.kind {
        EventKind::QueueNotify { .. } => 'k',
        EventKind::Notify { .. } => 'i',
        EventKind::AllocElement { .. } => 'a',
        EventKind::Pop { .. } => 'P',
        EventKind::Fill { .. } => 'c',
        EventKind::Flush { .. } => 'u',
        EventKind::SetStatus { .. } => 's',
        _ => '·',
    }
}

/// Strong when the value differs from the previous cursor's, weak when from the mark's.
fn change_of<T: PartialEq>(now: &T, prev: Option<T>, mark: Option<T>) -> Change {
    if prev.is_some_and(|p| p != *now) {
        Change::Strong
    } else if mark.is_some_and(|m| m != *now) {
        Change::Weak
    } else {
        Change::None
    }
}

fn queue_row(
    name: String,
    st: &ReplayState,
    q: &QueueState,
    prev: Option<&QueueState>,
    mark: Option<&QueueState>,
) -> QueueRow {
    let num = |v: fn(&QueueState) -> u64| {
        let now = v(q);
        Cell {
            text: now.to_string(),
            change: change_of(&now, prev.map(v), mark.map(v)),
        }
    };
    let pos = |v: fn(&QueueState) -> Option<PackedPos>| {
        let now = v(q);
        Cell {
            text: now.map_or("-".into(), |p| p.to_string()),
            change: change_of(&now, prev.map(v), mark.map(v)),
        }
    };
    QueueRow {
        name,
        device: st
            .devices
            .get(q.dev)
            .map_or_else(String::new, |d| d.label()),
        queue: q.queue,
        layout: q.layout.to_string(),
        size: q.size.map_or("?".into(), |s| s.to_string()),
        cells: vec![
            num(|q| q.pops),
            num(|q| q.fills),
            num(|q| q.flushes),
            num(|q| u64::from(q.last_avail_idx.0)),
            num(|q| u64::from(q.used_idx.0)),
            num(|q| u64::from(q.inuse)),
            num(|q| q.kicks),
            num(|q| q.interrupts),
            pos(|q| q.avail_pos),
            pos(|q| q.used_pos),
        ],
        selected: false,
        current: false,
    }
}

fn severity(s: crate::finding::Severity) -> Severity {
    match s {
        crate::finding::Severity::Info => Severity::Info,
        crate::finding::Severity::Warning => Severity::Warning,
        crate::finding::Severity::Error => Severity::Error,
    }
}

/// The step a trace line corresponds to: the number of events on or before it.
pub fn line_step(store: &TraceStore, line: u64) -> u64 {
    store.steps_until_line(line) as u64
}

fn ring_view(d: &PlacedDump, cursor: u64) -> RingDumpView {
    let ins = &d.inspection;
    let when = match d.step {
        Some(s) if s <= cursor => format!("taken at event {s}, {} event(s) ago", cursor - s),
        Some(s) => format!("taken at event {s}, {} event(s) ahead", s - cursor),
        None => "not placed in the trace".into(),
    };
    // The inspector's own summary, then the entries.
    let mut lines: Vec<String> = ins
        .to_string()
        .lines()
        .skip(1)
        .map(|l| l.trim_start().to_string())
        .collect();
    match &ins.state {
        RingState::Split(s) => {
            let n = usize::from(s.size.max(1));
            let shown = s.size.min(8).min(s.avail_idx.max(s.used_idx));
            lines.push("avail.ring, newest last:".into());
            let from = s.avail_idx.wrapping_sub(shown);
            for k in 0..shown {
                let idx = from.wrapping_add(k);
                let slot = usize::from(idx) % n;
                let head = s.avail_ring.get(slot).copied().unwrap_or(0);
                lines.push(format!("  [{slot:>3}] idx {idx:>5} head {head}"));
            }
            lines.push("used.ring, newest last:".into());
            let from = s.used_idx.wrapping_sub(shown);
            for k in 0..shown {
                let idx = from.wrapping_add(k);
                let slot = usize::from(idx) % n;
                let (id, len) = s.used_ring.get(slot).copied().unwrap_or((0, 0));
                lines.push(format!("  [{slot:>3}] idx {idx:>5} id {id:>3} len {len}"));
            }
            lines.push("descriptors with an address:".into());
            for (i, d) in s.descs.iter().enumerate().filter(|(_, d)| d.addr != 0) {
                lines.push(format!(
                    "  desc[{i:>3}] {:#014x} len {:>6} {} next {}",
                    d.addr,
                    d.len,
                    desc_flags_text(d.flags),
                    d.next_or_id
                ));
            }
        }
        RingState::Packed(p) => {
            if let Some(n) = p.driver_next {
                lines.push(format!("driver's next slot (from the bits): {n}"));
            }
            lines.push("descriptors with an address (A/U = AVAIL/USED bits):".into());
            for (i, d) in p.descs.iter().enumerate().filter(|(_, d)| d.addr != 0) {
                let a = (d.flags >> 7) & 1;
                let u = (d.flags >> 15) & 1;
                lines.push(format!(
                    "  [{i:>3}] {:#014x} len {:>6} A{a}U{u} {} id {}",
                    d.addr,
                    d.len,
                    desc_flags_text(d.flags),
                    d.next_or_id
                ));
            }
        }
    }
    RingDumpView {
        title: ins.name.clone(),
        when,
        lines,
    }
}

/// Builds the view of a trace at the context's cursor.
pub fn build(session: &TraceSession, dumps: &[PlacedDump], ctx: &TraceContext<'_>) -> TraceView {
    let store = session.store();
    let events = store.events();
    let cursor = ctx.cursor.min(events.len() as u64);
    let st = session.state_at(cursor as usize);
    let prev = (ctx.previous != cursor).then(|| session.state_at(ctx.previous as usize));
    let mark = ctx
        .mark
        .filter(|&m| m != cursor)
        .map(|m| session.state_at(m as usize));
    let names = queue_names(&st);
    let current = cursor.checked_sub(1).and_then(|i| events.get(i as usize));
    let current_q = current.and_then(|e| event_queue(store, &st, e));
    let queues = st
        .queues
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let mut r = queue_row(
                names.get(i).cloned().unwrap_or_default(),
                &st,
                q,
                prev.as_ref().and_then(|p| p.queues.get(i)),
                mark.as_ref().and_then(|m| m.queues.get(i)),
            );
            r.selected = i == ctx.queue;
            r.current = Some(i) == current_q;
            r
        })
        .collect();
    let event = current.map(|e| {
        let (raw, fields) = describe_event(store, e);
        EventView {
            step: cursor,
            line: u64::from(e.line),
            raw,
            fields,
        }
    });
    let line = current.map(|e| u64::from(e.line));
    let mark_line = ctx
        .mark
        .and_then(|m| m.checked_sub(1))
        .and_then(|i| events.get(i as usize))
        .map(|e| u64::from(e.line));
    let row = |f: &crate::finding::Finding| TraceFindingRow {
        line: f.line(),
        step: f.line().map(|l| line_step(store, l)),
        severity: severity(f.severity),
        text: finding_text(f),
        change: match (f.line(), line, mark_line) {
            (Some(l), Some(c), _) if l == c => Change::Strong,
            (Some(l), _, Some(m)) if l > m => Change::Weak,
            _ => Change::None,
        },
    };
    let mut findings: Vec<TraceFindingRow> = session
        .findings_until(cursor as usize)
        .into_iter()
        .map(row)
        .collect();
    findings.extend(
        session
            .report()
            .findings
            .iter()
            .filter(|f| f.line().is_none())
            .map(row),
    );
    let timeline = timeline(session, &st, &names, cursor, ctx);
    let ring = dumps
        .iter()
        .filter(|d| d.queue == ctx.queue)
        .min_by_key(|d| match d.step {
            // The latest snapshot at or before the cursor, else the next one.
            Some(s) if s <= cursor => (0, cursor - s),
            Some(s) => (1, s - cursor),
            None => (2, 0),
        })
        .map(|d| ring_view(d, cursor));
    TraceView {
        header: TraceHeader {
            source: store.source().to_string(),
            step: cursor,
            steps: events.len() as u64,
            line,
            mark_delta: super::mark_delta(ctx.marks),
        },
        queues,
        event,
        findings,
        timeline,
        ring,
    }
}

fn finding_text(f: &crate::finding::Finding) -> String {
    let mut s = f.code.to_string();
    let seen = f.seen_at().cloned().unwrap_or_default();
    if let Some(d) = &seen.device {
        s.push(' ');
        s.push_str(d);
        if let Some(q) = seen.queue {
            s.push_str(&format!(" q{q}"));
        }
    }
    if let Some(e) = &seen.evidence {
        s.push_str(&format!(" ({e})"));
    }
    s.push_str(": ");
    s.push_str(&f.message);
    s
}

fn timeline(
    session: &TraceSession,
    st: &ReplayState,
    names: &[String],
    cursor: u64,
    ctx: &TraceContext<'_>,
) -> TraceTimeline {
    let store = session.store();
    let events = store.events();
    let span = ctx.columns.max(1) as u64;
    let total = events.len() as u64;
    // Column k shows event index `first + k`; applying it reaches step `first + k + 1`.
    let at = cursor.saturating_sub(1);
    let first = at.saturating_sub(span / 2).min(total.saturating_sub(span));
    let shown = events
        .get(first as usize..(first + span).min(total) as usize)
        .unwrap_or_default();
    let mut lanes: Vec<Lane> = names
        .iter()
        .map(|n| Lane {
            label: n.clone(),
            glyphs: String::new(),
        })
        .collect();
    let mut other = Lane {
        label: "other".into(),
        glyphs: String::new(),
    };
    let finding_lines: Vec<u64> = session
        .report()
        .findings
        .iter()
        .filter_map(|f| f.line())
        .collect();
    let mut flags = String::new();
    for (k, e) in shown.iter().enumerate() {
        let q = event_queue(store, st, e);
        for (i, lane) in lanes.iter_mut().enumerate() {
            lane.glyphs.push(if q == Some(i) { glyph(e) } else { ' ' });
        }
        other.glyphs.push(if q.is_none() { glyph(e) } else { ' ' });
        let step = first + k as u64 + 1;
        flags.push(if ctx.marks.contains(&step) {
            'm'
        } else if finding_lines.contains(&u64::from(e.line)) {
            '!'
        } else if is_notification(e) {
            '↯'
        } else {
            ' '
        });
    }
    lanes.push(other);
    TraceTimeline {
        first: first + 1,
        cursor: (cursor > 0 && at >= first && at < first + span).then(|| (at - first) as usize),
        lanes,
        flags,
    }
}
