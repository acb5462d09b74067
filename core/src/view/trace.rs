//! The frame of a QEMU trace opened for stepping: the sibling of the scenario
//! [`Frame`](super::Frame), built from a [`TraceSession`] at a cursor (an event count) the same
//! way, without consulting neighbours, so the terminal and the browser paint the same thing.

use serde::{Deserialize, Serialize};

use super::{Cell, Change, UiView};
use crate::features::Status;
use crate::finding::Severity;
use crate::layout::{PackedPos, desc_flags_text};
use crate::trace::event::fmt_time;
use crate::trace::import::dpdk::DpdkKind;
use crate::trace::import::driver::DriverKind;
use crate::trace::join::{DeviceSide, EventRef, Join, NONE, Side, Stage};
use crate::trace::ringdump::{Inspection, RingState};
use crate::trace::state::{QueueState, ReplayState};
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
    /// Both sides, when the driver's trace is joined (the cursor then steps through every
    /// side's events).
    pub joined: Option<JoinedView>,
    /// Why the driver's trace given is not joined.
    pub not_joined: Option<String>,
    /// What the counters cannot say by themselves: queues zeroed by a reset, rings a vhost
    /// backend serves.
    pub notes: Vec<String>,
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
    /// Both sides are joined: a step is an event of either side.
    pub joined: bool,
    /// Where the event at the cursor is when it is not QEMU's (`guest line 123`).
    pub place: Option<String>,
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
    /// Which input: `device` (QEMU's trace), `driver` (the guest's), `dpdk`.
    pub side: String,
    /// The line in its input.
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
    /// Where it is, short: the trace line, `g123` (the guest's trace), or `-`.
    pub place: String,
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

/// Both sides of the selected queue at the cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinedView {
    /// The clock alignment, in words.
    pub clock: String,
    /// The selected queue as both sides name it (`blk0.q0 ↔ req.0 (virtio0)`), or why
    /// no driver queue pairs with it.
    pub queue: String,
    /// Both sides' view of the selected queue's ring.
    pub sides: Option<crate::trace::join::SidesView>,
    /// The selected buffer (or the cursor event's), stage by stage.
    pub buffer: Option<BufferView>,
    /// The timeline's columns: every event shown, whichever lane it is drawn in.
    pub columns: Vec<JoinedColumn>,
    /// Columns of the selected buffer's events.
    pub path: Vec<usize>,
}

/// One event of the joined timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinedColumn {
    /// The step that applies it.
    pub step: u64,
    /// `driver`, `device` or `dpdk`.
    pub side: String,
    /// On the selected queue (else drawn in the `other` lane).
    pub on_queue: bool,
    /// Its glyph.
    pub glyph: char,
    /// Its name (`add_sgs_s`, `virtqueue_pop`, `packet from the guest`).
    pub name: String,
    /// Host time, µs.
    pub time_us: Option<u64>,
    /// A notification drawn between the lanes: `Some(Device)` to the device (a kick),
    /// `Some(Driver)` to the driver (an interrupt).
    pub to: Option<crate::memory::Agent>,
}

/// A buffer followed across both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BufferView {
    /// `buffer 0xffff… head 3 on blk0.q0`.
    pub title: String,
    /// Its stages, in order, as far as it got.
    pub stages: Vec<StageRow>,
    /// Latencies by stage and in all, in words.
    pub summary: String,
    /// Chosen with `:buffer`/`:id` (else it is the cursor event's).
    pub chosen: bool,
}

/// One stage of a buffer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRow {
    /// `add`, `kick`, `pop`, …
    pub stage: String,
    /// Its step (click to go there).
    pub step: u64,
    /// `guest 123`, `line 456`, `dpdk 78`.
    pub place: String,
    /// Host time since the add, in words (`+70 µs`).
    pub since_add: String,
    /// Since the stage before (`+41 µs`).
    pub since_prev: String,
    /// The cursor is at it.
    pub here: bool,
    /// The cursor has passed it.
    pub done: bool,
}

/// The replayed queue a joined queue shows as (its row in the queues table).
pub fn replay_queue(j: &Join, st: &ReplayState, jq: usize) -> Option<usize> {
    (0..st.queues.len()).find(|&qi| joined_queue(j, st, qi) == Some(jq))
}

/// The legend of the joined timeline.
pub const JOINED_LEGEND: &str = "driver: A add  p prepare  K kick  I irq  D detach  R reap  device: k kick  P pop  c fill  u used  i irq  ↓ to the device  ↑ to the driver";

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
    /// The buffer chosen with `:buffer`/`:id`, when joined.
    pub buffer: Option<u32>,
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

/// Builds the view of a trace at the context's cursor (a step of the joined timeline when the
/// driver's trace is joined, else an event count of QEMU's trace).
pub fn build(session: &TraceSession, dumps: &[PlacedDump], ctx: &TraceContext<'_>) -> TraceView {
    let store = session.store();
    let events = store.events();
    let cursor = ctx.cursor.min(session.steps());
    let pos = session.position(cursor);
    let dev = pos.at[Side::Device as usize] as usize;
    let st = session.state_at(dev);
    let prev_dev = session.device_step(ctx.previous);
    let prev = (prev_dev != dev).then(|| session.state_at(prev_dev));
    let mark = ctx
        .mark
        .map(|m| session.device_step(m))
        .filter(|&m| m != dev)
        .map(|m| session.state_at(m));
    let names = queue_names(&st);
    // QEMU's event at the cursor, when the cursor's event is QEMU's.
    let current = match pos.last {
        Some(EventRef {
            side: Side::Device,
            index,
        }) => events.get(index as usize),
        _ => None,
    };
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
    let capture = session.capture();
    let event = pos.last.and_then(|e| event_view(capture, cursor, e));
    let place = match pos.last {
        Some(e) if e.side != Side::Device => event
            .as_ref()
            .map(|v| format!("{} line {}", short_side(&v.side), v.line)),
        _ => None,
    };
    let line = current.map(|e| u64::from(e.line));
    // Findings by the step that shows them: a joined finding names it, the others their
    // trace line's.
    let step_of = |f: &crate::finding::Finding| -> Option<u64> {
        let seen = f.seen_at()?;
        seen.step.or_else(|| {
            seen.line
                .map(|l| session.step_of_device(store.steps_until_line(l)))
        })
    };
    let row = |f: &crate::finding::Finding| {
        let step = step_of(f);
        let guest = f
            .seen_at()
            .and_then(|s| s.evidence.as_ref())
            .filter(|e| {
                capture
                    .driver
                    .as_ref()
                    .is_some_and(|d| d.source() == e.file)
            })
            .and_then(|e| e.line);
        TraceFindingRow {
            line: f.line(),
            place: match (f.line(), guest) {
                (Some(l), _) => l.to_string(),
                (None, Some(g)) => format!("g{g}"),
                (None, None) => "-".into(),
            },
            step,
            severity: severity(f.severity),
            text: finding_text(f),
            change: match (step, ctx.mark) {
                (Some(s), _) if s == cursor => Change::Strong,
                (Some(s), Some(m)) if s > m => Change::Weak,
                _ => Change::None,
            },
        }
    };
    let all = &session.report().findings;
    let mut findings: Vec<TraceFindingRow> = all
        .iter()
        .filter(|f| step_of(f).is_some_and(|s| s <= cursor))
        .map(row)
        .collect();
    findings.sort_by_key(|r| r.step);
    findings.extend(all.iter().filter(|f| step_of(f).is_none()).map(row));
    let finding_steps: Vec<u64> = all.iter().filter_map(step_of).collect();
    let join = session.join();
    let joined = join.map(|j| joined_view(session, j, &pos, &st, cursor, ctx, &finding_steps));
    let timeline = match &joined {
        Some(v) => joined_timeline(session, v, &st, ctx, cursor, &finding_steps),
        None => timeline(session, &st, &names, cursor, ctx),
    };
    let dev_cursor = dev as u64;
    let ring = dumps
        .iter()
        .filter(|d| d.queue == ctx.queue)
        .min_by_key(|d| match d.step {
            // The latest snapshot at or before the cursor, else the next one.
            Some(s) if s <= dev_cursor => (0, dev_cursor - s),
            Some(s) => (1, s - dev_cursor),
            None => (2, 0),
        })
        .map(|d| ring_view(d, dev_cursor));
    TraceView {
        header: TraceHeader {
            source: store.source().to_string(),
            step: cursor,
            steps: session.steps(),
            line,
            mark_delta: super::mark_delta(ctx.marks),
            joined: join.is_some(),
            place,
        },
        queues,
        event,
        findings,
        timeline,
        ring,
        joined,
        not_joined: session
            .joined()
            .and_then(|j| j.as_ref().err())
            .map(|r| r.message.clone()),
        notes: queue_notes(&st, &names, join.is_some()),
    }
}

/// Notes under the queues table.
fn queue_notes(st: &ReplayState, names: &[String], joined: bool) -> Vec<String> {
    use crate::trace::replay::report::{reset_note, vhost_note};
    let mut by_line: Vec<(u32, Vec<String>)> = Vec::new();
    for (i, q) in st.queues.iter().enumerate() {
        let Some(l) = q.reset_line else { continue };
        if q.last_avail_idx.0 != 0 || q.used_idx.0 != 0 {
            continue;
        }
        let name = names.get(i).cloned().unwrap_or_default();
        match by_line.iter_mut().find(|x| x.0 == l) {
            Some(x) => x.1.push(name),
            None => by_line.push((l, vec![name])),
        }
    }
    let mut out = Vec::new();
    for d in &st.devices {
        if let Some(mut n) = vhost_note(d) {
            if joined {
                n.push_str("; where the backend's log is joined, both sides of the ring show them");
            }
            out.push(n);
        }
    }
    // One note for every reset: the table has little room.
    match by_line.as_slice() {
        [] => {}
        [(l, n)] => out.push(reset_note(*l, n)),
        many => {
            let names: Vec<String> = many.iter().flat_map(|x| x.1.clone()).collect();
            let lines: Vec<String> = many.iter().map(|x| x.0.to_string()).collect();
            out.push(format!(
                "last_av and used_idx of {} read 0: their devices were reset at lines {} \
                 (status 0; a guest's power-off resets every device at the end of a capture)",
                names.join(", "),
                lines.join(", ")
            ));
        }
    }
    out
}

fn short_side(side: &str) -> &str {
    match side {
        "driver" => "guest",
        other => other,
    }
}

/// The event at the cursor, whichever input it is from.
fn event_view(capture: &crate::trace::Capture, step: u64, e: EventRef) -> Option<EventView> {
    match e.side {
        Side::Device => {
            let ev = capture.store.events().get(e.index as usize)?;
            let (raw, fields) = describe_event(&capture.store, ev);
            Some(EventView {
                step,
                side: "device".into(),
                line: u64::from(ev.line),
                raw,
                fields,
            })
        }
        Side::Driver => {
            let d = capture.driver.as_ref()?;
            let ev = d.events().get(e.index as usize)?;
            let fields = d.fields(ev);
            let mut raw = format!("{}: {}:", fmt_time(ev.time_us), d.event_name(ev));
            for (k, v) in &fields {
                raw.push_str(&format!(" {k}={v}"));
            }
            Some(EventView {
                step,
                side: "driver".into(),
                line: u64::from(ev.line),
                raw,
                fields,
            })
        }
        Side::Dpdk => {
            let d = capture.dpdk.as_ref()?;
            let ev = d.events.get(e.index as usize)?;
            let (name, fields) = describe_dpdk(&ev.kind);
            let mut raw = String::new();
            if let Some(t) = ev.time() {
                raw.push_str(&format!("{} ", fmt_time(t)));
            }
            raw.push_str(&name);
            Some(EventView {
                step,
                side: "dpdk".into(),
                line: u64::from(ev.line),
                raw,
                fields,
            })
        }
    }
}

/// A DPDK line's meaning and fields.
fn describe_dpdk(k: &DpdkKind) -> (String, Vec<(String, String)>) {
    let f = |a: &str, b: String| (a.to_string(), b);
    match *k {
        DpdkKind::Message { req } => (
            format!(
                "read message VHOST_USER_{}",
                crate::trace::event::vhost_user_request(req)
            ),
            vec![f("req", req.to_string())],
        ),
        DpdkKind::RingBaseSet {
            vring,
            last_used,
            last_avail,
        } => (
            format!("vring base idx:{vring} last_used_idx:{last_used} last_avail_idx:{last_avail}"),
            vec![
                f("vring", vring.to_string()),
                f("last_avail_idx", last_avail.to_string()),
            ],
        ),
        DpdkKind::RingBaseGet { vring, state } => (
            format!("vring base idx:{vring} file:{state}"),
            vec![f("vring", vring.to_string()), f("state", state.to_string())],
        ),
        DpdkKind::Enable { vring, on } => (
            format!("set queue enable: {} to qp idx: {vring}", u8::from(on)),
            vec![f("vring", vring.to_string())],
        ),
        DpdkKind::Status(s) => (
            format!("new device status({s:#010x})"),
            vec![f("status", Status(s).to_string())],
        ),
        DpdkKind::PeerClosed => ("vhost peer closed".into(), Vec::new()),
        DpdkKind::Burst {
            queue,
            from_guest,
            count,
        } => (
            format!(
                "port 0/queue {queue}: {} {count} packets",
                if from_guest { "received" } else { "sent" }
            ),
            vec![f("vring", k.vring().unwrap_or(0).to_string())],
        ),
        DpdkKind::Packet {
            from_guest,
            len,
            seq,
            ..
        } => {
            let mut v = vec![
                f("vring", k.vring().unwrap_or(0).to_string()),
                f("length", len.to_string()),
            ];
            if seq != u16::MAX {
                v.push(f("icmp seq", seq.to_string()));
            }
            (
                if from_guest {
                    "packet taken from the guest's transmit ring".into()
                } else {
                    "packet put into the guest's receive ring".into()
                },
                v,
            )
        }
    }
}

/// The joined queue a replayed queue is (QEMU's, or the vring DPDK served for it).
pub fn joined_queue(j: &Join, st: &ReplayState, qi: usize) -> Option<usize> {
    let q = st.queues.get(qi)?;
    let vhost = st.devices.get(q.dev).is_some_and(|d| d.vhost.is_some());
    j.queues.iter().position(|x| match x.device {
        DeviceSide::Qemu { queue, .. } => queue == qi,
        DeviceSide::Dpdk { vring } => vhost && q.queue == vring,
        DeviceSide::Missing => false,
    })
}

fn joined_view(
    session: &TraceSession,
    j: &Join,
    pos: &crate::trace::join::Pos,
    st: &ReplayState,
    cursor: u64,
    ctx: &TraceContext<'_>,
    _finding_steps: &[u64],
) -> JoinedView {
    let capture = session.capture();
    let jq = joined_queue(j, st, ctx.queue);
    let names = st.queue_names();
    let queue = match jq.and_then(|q| j.queues.get(q)) {
        Some(q) => format!("{} ↔ {}", q.name, q.driver_name),
        None => format!(
            "{}: no queue of the driver's trace pairs with it",
            names.get(ctx.queue).map_or("?", String::as_str)
        ),
    };
    let clock = clock_words(j);
    let sides = jq.and_then(|q| j.sides(capture, q, pos, st));
    let chosen = ctx.buffer.filter(|&b| (b as usize) < j.buffers.len());
    let b = chosen.or_else(|| pos.last.and_then(|e| j.buffer_of(e)));
    let buffer = b.map(|b| buffer_view(j, capture, b, cursor, chosen.is_some()));
    let span = ctx.columns.max(1) as u64;
    let first = cursor
        .saturating_sub(span / 2)
        .min(session.steps().saturating_sub(span))
        .max(1);
    let window = j.merge.window(capture, &j.clock, first, first + span - 1);
    let path_steps: Vec<u64> = b.map_or_else(Vec::new, |b| {
        j.path(capture, b).into_iter().map(|(_, s)| s).collect()
    });
    let mut columns = Vec::new();
    let mut path = Vec::new();
    for (k, &(step, e)) in window.iter().enumerate() {
        if path_steps.contains(&step) {
            path.push(k);
        }
        columns.push(joined_column(session, j, st, jq, step, e));
    }
    JoinedView {
        clock,
        queue,
        sides,
        buffer,
        columns,
        path,
    }
}

/// The clock in a few words.
fn clock_words(j: &Join) -> String {
    let fitted: Vec<&crate::trace::join::clock::Stretch> =
        j.clock.stretches.iter().filter(|s| !s.inferred).collect();
    let spread = j
        .clock
        .stretches
        .iter()
        .map(|s| s.spread_us)
        .max()
        .unwrap_or(0);
    let offsets: Vec<String> = fitted
        .iter()
        .map(|s| format!("{:.6} s", s.offset_us / 1e6))
        .collect();
    let stops = j.clock.stretches.len().saturating_sub(1);
    format!(
        "host clock = guest clock + {}, ±{spread} µs ({} anchors, {stops} VM stop(s))",
        offsets.join(" then "),
        j.clock.anchors.len()
    )
}

fn joined_column(
    session: &TraceSession,
    j: &Join,
    st: &ReplayState,
    jq: Option<usize>,
    step: u64,
    e: EventRef,
) -> JoinedColumn {
    use crate::memory::Agent;
    let capture = session.capture();
    let q = jq.and_then(|q| j.queues.get(q));
    let (on_queue, glyph, name, to) = match e.side {
        Side::Device => {
            let ev = capture.store.events().get(e.index as usize);
            let on = ev.is_some_and(|ev| {
                matches!(q.map(|q| q.device), Some(DeviceSide::Qemu { .. }))
                    && event_queue(&capture.store, st, ev)
                        == q.and_then(|q| match q.device {
                            DeviceSide::Qemu { queue, .. } => Some(queue),
                            _ => None,
                        })
            });
            let to = ev.and_then(|ev| match ev.kind {
                EventKind::QueueNotify { .. } => Some(Agent::Device),
                EventKind::Notify { .. } => Some(Agent::Driver),
                _ => None,
            });
            (
                on,
                ev.map_or('·', glyph),
                ev.map_or_else(String::new, |ev| capture.store.event_name(ev).to_string()),
                to,
            )
        }
        Side::Driver => {
            let d = capture.driver.as_ref();
            let ev = d.and_then(|d| d.events().get(e.index as usize));
            let on = ev.is_some_and(|ev| q.is_some_and(|q| q.driver == ev.queue));
            let (g, to) = match ev.map(|ev| ev.kind) {
                Some(DriverKind::Add(_)) => ('A', None),
                Some(DriverKind::KickPrepare | DriverKind::KickDecision) => ('p', None),
                Some(DriverKind::Notify) => ('K', Some(Agent::Device)),
                Some(DriverKind::Interrupt) => ('I', Some(Agent::Driver)),
                Some(DriverKind::Detach) => ('D', None),
                Some(DriverKind::Reap) => ('R', None),
                Some(DriverKind::DetachUnused) => ('x', None),
                Some(DriverKind::AddFailed) => ('!', None),
                Some(DriverKind::Marker) => ('m', None),
                _ => ('·', None),
            };
            (
                on,
                g,
                match (d, ev) {
                    (Some(d), Some(ev)) => d.event_name(ev),
                    _ => String::new(),
                },
                to,
            )
        }
        Side::Dpdk => {
            let ev = capture
                .dpdk
                .as_ref()
                .and_then(|d| d.events.get(e.index as usize));
            let on = ev.is_some_and(|ev| {
                matches!(ev.kind, DpdkKind::Packet { .. })
                    && q.is_some_and(|q| {
                        q.device
                            == DeviceSide::Dpdk {
                                vring: ev.kind.vring().unwrap_or(u16::MAX),
                            }
                    })
            });
            let g = match ev.map(|ev| ev.kind) {
                Some(DpdkKind::Packet { .. }) => 'P',
                Some(DpdkKind::Burst { .. }) => 'b',
                Some(DpdkKind::Message { .. }) => 'v',
                _ => '·',
            };
            (
                on,
                g,
                ev.map_or_else(String::new, |ev| describe_dpdk(&ev.kind).0),
                None,
            )
        }
    };
    JoinedColumn {
        step,
        side: e.side.name().to_string(),
        on_queue,
        glyph,
        name,
        time_us: j.time(capture, e),
        to: to.filter(|_| on_queue),
    }
}

/// The joined timeline as lanes: the driver's events on the selected queue, the
/// notifications between the sides, the device's, and every other event.
fn joined_timeline(
    session: &TraceSession,
    v: &JoinedView,
    st: &ReplayState,
    ctx: &TraceContext<'_>,
    cursor: u64,
    finding_steps: &[u64],
) -> TraceTimeline {
    let names = st.queue_names();
    let join = session.join();
    let jq = join
        .and_then(|j| joined_queue(j, st, ctx.queue))
        .and_then(|q| join?.queues.get(q));
    let driver_label = jq.map_or("driver".to_string(), |q| {
        session
            .capture()
            .driver
            .as_ref()
            .and_then(|d| d.queues().get(usize::from(q.driver)))
            .map_or("driver".to_string(), |dq| dq.name.clone())
    });
    let device_label = jq.map_or_else(
        || names.get(ctx.queue).cloned().unwrap_or_default(),
        |q| q.name.clone(),
    );
    let mut lanes = [
        Lane {
            label: driver_label,
            glyphs: String::new(),
        },
        Lane {
            label: "↓↑".into(),
            glyphs: String::new(),
        },
        Lane {
            label: device_label,
            glyphs: String::new(),
        },
        Lane {
            label: "other".into(),
            glyphs: String::new(),
        },
    ];
    let mut flags = String::new();
    for c in &v.columns {
        let on = c.on_queue;
        let drv = on && c.side == "driver";
        let dev = on && c.side != "driver";
        lanes[0].glyphs.push(if drv { c.glyph } else { ' ' });
        lanes[1].glyphs.push(match c.to {
            Some(crate::memory::Agent::Device) => '↓',
            Some(crate::memory::Agent::Driver) => '↑',
            None => ' ',
        });
        lanes[2].glyphs.push(if dev { c.glyph } else { ' ' });
        lanes[3].glyphs.push(if on { ' ' } else { c.glyph });
        flags.push(if ctx.marks.contains(&c.step) {
            'm'
        } else if finding_steps.contains(&c.step) {
            '!'
        } else if c.to.is_some() {
            '↯'
        } else {
            ' '
        });
    }
    let first = v.columns.first().map_or(1, |c| c.step);
    let cursor_col = v.columns.iter().position(|c| c.step == cursor);
    TraceTimeline {
        first,
        cursor: cursor_col,
        lanes: lanes.into_iter().collect(),
        flags,
    }
}

fn us(v: u64) -> String {
    if v >= 1_000_000 {
        format!("{:.2} s", v as f64 / 1e6)
    } else if v >= 10_000 {
        format!("{:.1} ms", v as f64 / 1e3)
    } else {
        format!("{v} µs")
    }
}

/// A buffer's stages, with their times and latencies.
fn buffer_view(
    j: &Join,
    capture: &crate::trace::Capture,
    b: u32,
    cursor: u64,
    chosen: bool,
) -> BufferView {
    let buf = j.buffers[b as usize];
    let q = &j.queues[usize::from(buf.queue)];
    let token = capture.driver.as_ref().map_or(0, |d| d.token(buf.token));
    let id = if q.packed { "ID" } else { "head" };
    let times = j.stage_times(capture, &buf);
    let dev = j.device_side_of(buf.queue);
    let path = j.path(capture, b);
    let add_t = times[0];
    let mut prev_t: Option<u64> = None;
    let mut stages = Vec::new();
    for (stage, step) in &path {
        let k = Stage::ALL.iter().position(|s| s == stage).unwrap_or(0);
        let t = times[k];
        let idx = buf.at(*stage);
        let place = if stage.on_driver() {
            capture
                .driver
                .as_ref()
                .and_then(|d| d.events().get(idx as usize))
                .map_or(String::new(), |e| format!("guest {}", e.line))
        } else if dev == Side::Dpdk {
            capture
                .dpdk
                .as_ref()
                .and_then(|d| d.events.get(idx as usize))
                .map_or(String::new(), |e| format!("dpdk {}", e.line))
        } else {
            capture
                .store
                .events()
                .get(idx as usize)
                .map_or(String::new(), |e| format!("line {}", e.line))
        };
        let rel = |a: Option<u64>| match (t, a) {
            (Some(t), Some(a)) if t >= a => format!("+{}", us(t - a)),
            (Some(t), Some(a)) => format!("-{}", us(a - t)),
            _ => String::new(),
        };
        stages.push(StageRow {
            stage: stage.name().to_string(),
            step: *step,
            place,
            since_add: rel(add_t),
            since_prev: if prev_t.is_some() {
                rel(prev_t)
            } else {
                String::new()
            },
            here: *step == cursor,
            done: *step <= cursor,
        });
        prev_t = t.or(prev_t);
    }
    let span = |a: usize, z: usize| Some(times[z]?.saturating_sub(times[a]?));
    let mut parts = Vec::new();
    for (a, z, name) in [
        (0, 2, "waited for the device"),
        (2, 4, "with the device"),
        (4, 8, "used, not yet reaped"),
    ] {
        if let Some(d) = span(a, z) {
            parts.push(format!("{name} {}", us(d)));
        }
    }
    let mut summary = parts.join(", ");
    if let Some(total) = span(0, 8) {
        summary.push_str(&format!("; out {} in all", us(total)));
        if let (Some(a), Some(z)) = (times[0], times[8]) {
            let run = j.clock.running_between(a, z);
            if run + 1000 < total {
                summary.push_str(&format!(
                    " (the VM was stopped {} of it: the guest's clock stood still)",
                    us(total - run)
                ));
            }
        }
    } else if buf.flags & crate::trace::join::buffers::TAKEN_BACK != 0 {
        summary.push_str("; taken back unused at device removal");
    } else if buf.pop == NONE {
        summary.push_str("; never taken by the device in the trace");
    }
    BufferView {
        title: format!(
            "buffer {token:#x} {id} {} on {} ({})",
            buf.head, q.name, q.driver_name
        ),
        stages,
        summary,
        chosen,
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
