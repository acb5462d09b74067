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

mod events;
mod joined;

use events::*;
pub use events::{describe_event, event_matches, is_notification};
use joined::*;
pub use joined::{joined_queue, replay_queue};
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
