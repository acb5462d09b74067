//! The trace document: a QEMU trace opened for stepping, alone or joined with the guest
//! driver's trace (and DPDK's log). The cursor is a step of the timeline: an event count of
//! QEMU's trace, or, joined, a count of every side's events in their joined order. The keys,
//! prompts, marks and breakpoints are every stepper's, read against trace state.
//!
//! Panes: the ring pane holds the per-queue table (↑/↓ select a queue), narration the event at
//! the cursor, memory the selected queue's decoded ring dump, findings and timeline their own;
//! joined, the transport pane shows both sides' view of the selected queue's ring and the cache
//! pane the selected buffer's path. Shift+←/→ moves to the selected queue's previous/next
//! event (either side's, joined): when a queue hangs, its own events are the story, and other
//! devices' traffic is noise.

use super::{Document, Reply, Stepper, StepperState, hop};
use crate::command::{BufferRef, Command, Condition, Dir, Item, PaneId};
use crate::face::link::{Link, Opened};
use crate::face::screen::{Screen, Size, trace as screen};
use crate::memory::Agent;
use crate::trace::import::dpdk::DpdkKind;
use crate::trace::import::driver::DriverKind;
use crate::trace::join::{BufferKey, DeviceSide, EventRef, Side};
use crate::trace::replay::Replayer;
use crate::trace::ringdump;
use crate::trace::state::ReplayState;
use crate::trace::{Capture, DeviceType, EventKind, ReplayOptions, TraceSession};
use crate::view::UiView;
use crate::view::trace::{
    PlacedDump, TraceContext, TraceFrame, event_matches, event_queue, joined_queue, line_step,
    queue_names, replay_queue,
};

/// The trace controller.
pub type TraceUi = Stepper<TraceDoc>;

/// A replayed trace, its ring dumps, the selected queue and buffer.
pub struct TraceDoc {
    session: TraceSession,
    replayer: Replayer,
    dumps: Vec<PlacedDump>,
    names: Vec<String>,
    cursor: u64,
    previous: u64,
    queue: usize,
    buffer: Option<u32>,
}

impl TraceUi {
    /// Opens an imported capture (see [`Capture::load`]); with the guest driver's trace in it
    /// the two sides are joined.
    pub fn new(capture: Capture) -> Self {
        let opts = ReplayOptions::default();
        let session = TraceSession::new(capture, &opts);
        let replayer = session.replayer().clone();
        let st = session.state_at(0);
        let names = queue_names(&st);
        let dumps = place_dumps(&session, &st, &session.capture().dumps);
        // Start on the busiest queue: the one a hang hunt most likely starts from (joined, by
        // the buffers both sides moved: DPDK's rings have no pops in QEMU's trace).
        let end = session.state_at(session.len());
        let busy = |i: usize| -> u64 {
            let joined = session.join().map_or(0, |j| {
                joined_queue(j, &end, i).map_or(0, |k| {
                    j.buffers
                        .iter()
                        .filter(|b| usize::from(b.queue) == k && b.pop != crate::trace::join::NONE)
                        .count() as u64
                })
            });
            joined.max(end.queues[i].pops)
        };
        let queue = (0..end.queues.len())
            .max_by_key(|&i| (busy(i), std::cmp::Reverse(i)))
            .unwrap_or(0);
        Stepper::with(TraceDoc {
            session,
            replayer,
            dumps,
            names,
            cursor: 0,
            previous: 0,
            queue,
            buffer: None,
        })
    }

    /// The session.
    pub fn session(&self) -> &TraceSession {
        &self.doc.session
    }

    /// Every step at which a condition stops a continue.
    pub fn hits(&self, c: &Condition) -> Vec<u64> {
        self.doc.hits(c).unwrap_or_default()
    }

    /// The frame: the structured view of the trace and the UI state, with this many timeline
    /// columns.
    pub fn frame(&mut self, columns: usize) -> TraceFrame {
        let mark = self.chrome.mark_before(self.doc.cursor);
        let marks = self.chrome.marks.clone();
        let ui = self.chrome.view();
        self.doc.frame(columns, ui, &marks, mark)
    }
}

impl TraceDoc {
    fn frame(&self, columns: usize, ui: UiView, marks: &[u64], mark: Option<u64>) -> TraceFrame {
        let ctx = TraceContext {
            cursor: self.cursor,
            previous: self.previous,
            mark,
            marks,
            queue: self.queue,
            columns,
            buffer: self.buffer,
        };
        TraceFrame {
            view: crate::view::trace::build(&self.session, &self.dumps, &ctx),
            ui,
        }
    }

    fn finding_steps(&self) -> Vec<u64> {
        self.hits(&Condition::Finding(None)).unwrap_or_default()
    }

    /// Timeline steps of QEMU's event indices (each hit right after its event).
    fn device_steps(&self, idx: impl Iterator<Item = usize>) -> Vec<u64> {
        idx.map(|i| {
            self.session.step_of(EventRef {
                side: Side::Device,
                index: i as u32,
            })
        })
        .collect()
    }

    /// Timeline steps of the driver's events that match.
    fn driver_steps(
        &self,
        f: &dyn Fn(&crate::trace::import::driver::DriverEvent) -> bool,
    ) -> Vec<u64> {
        let Some(d) = self.session.capture().driver.as_ref() else {
            return Vec::new();
        };
        if self.session.join().is_none() {
            return Vec::new();
        }
        d.events()
            .iter()
            .enumerate()
            .filter(|(_, e)| f(e))
            .map(|(j, _)| {
                self.session.step_of(EventRef {
                    side: Side::Driver,
                    index: j as u32,
                })
            })
            .collect()
    }

    /// Whether an event (of any side) is on the selected queue.
    fn on_queue(&self, st: &ReplayState, e: EventRef) -> bool {
        let cap = self.session.capture();
        let jq = self.session.join().and_then(|j| {
            j.queues.iter().find(|q| match q.device {
                DeviceSide::Qemu { queue, .. } => queue == self.queue,
                DeviceSide::Dpdk { vring } => st
                    .queues
                    .get(self.queue)
                    .is_some_and(|x| x.queue == vring && x.vhost),
                DeviceSide::Missing => false,
            })
        });
        match e.side {
            Side::Device => cap
                .store
                .events()
                .get(e.index as usize)
                .is_some_and(|ev| event_queue(&cap.store, st, ev) == Some(self.queue)),
            Side::Driver => cap
                .driver
                .as_ref()
                .and_then(|d| d.events().get(e.index as usize))
                .is_some_and(|ev| jq.is_some_and(|q| q.driver == ev.queue)),
            Side::Dpdk => cap
                .dpdk
                .as_ref()
                .and_then(|d| d.events.get(e.index as usize))
                .is_some_and(|ev| {
                    matches!(ev.kind, DpdkKind::Packet { .. })
                        && jq.is_some_and(|q| {
                            q.device
                                == DeviceSide::Dpdk {
                                    vring: ev.kind.vring().unwrap_or(u16::MAX),
                                }
                        })
                }),
        }
    }

    /// The buffers a user's name for one stands for.
    fn buffers_of(&self, b: &BufferRef) -> Vec<u32> {
        let Some(j) = self.session.join() else {
            return Vec::new();
        };
        let key = match *b {
            BufferRef::Token(t) => BufferKey::Token(t),
            BufferRef::Id(i) => BufferKey::Id(i),
        };
        j.find(self.session.capture(), &key)
    }

    /// Chooses a buffer and goes to its next stage after the cursor (wrapping to its first).
    fn find_buffer(&mut self, b: BufferRef) -> Reply {
        let Some(j) = self.session.join() else {
            return Reply::Error(
                "buffers are followed across both sides in a joined trace: open it with --guest \
                 (the driver's trace)"
                    .into(),
            );
        };
        let found = self.buffers_of(&b);
        if found.is_empty() {
            return Reply::Error(format!(
                "no buffer {} in this trace: tokens are the driver's `data=` at an add, IDs its \
                 `free_head=` (the head, or a packed ring's buffer ID)",
                match b {
                    BufferRef::Token(t) => format!("{t:#x}"),
                    BufferRef::Id(i) => format!("with head or ID {i}"),
                }
            ));
        }
        // Prefer the selected queue's; then the first whose path lies after the cursor.
        let cap = self.session.capture();
        let st = self.session.state_at(0);
        let on_sel = |&bi: &u32| {
            let q = j.buffers[bi as usize].queue;
            j.queues
                .get(usize::from(q))
                .is_some_and(|q| match q.device {
                    DeviceSide::Qemu { queue, .. } => queue == self.queue,
                    DeviceSide::Dpdk { vring } => st
                        .queues
                        .get(self.queue)
                        .is_some_and(|x| x.queue == vring && x.vhost),
                    DeviceSide::Missing => false,
                })
        };
        let pool: Vec<u32> = if found.iter().any(on_sel) {
            found.iter().copied().filter(on_sel).collect()
        } else {
            found.clone()
        };
        let paths: Vec<(u32, Vec<u64>)> = pool
            .iter()
            .map(|&bi| (bi, j.path(cap, bi).into_iter().map(|p| p.1).collect()))
            .collect();
        let next = paths
            .iter()
            .find_map(|(bi, p)| p.iter().find(|&&s| s > self.cursor).map(|&s| (*bi, s)))
            .or_else(|| {
                paths
                    .first()
                    .and_then(|(bi, p)| p.first().map(|&s| (*bi, s)))
            });
        let Some((bi, step)) = next else {
            return Reply::Error("that buffer has no event in the timeline".into());
        };
        let msg = format!(
            "following {} ({} buffer(s) by that name; :{} again for the next stage)",
            j.queues
                .get(usize::from(j.buffers[bi as usize].queue))
                .map_or(String::new(), |q| format!("{b} on {}", q.name)),
            found.len(),
            b
        );
        // Its queue becomes the selected one, so its path shows on the lanes.
        if let Some(q) = replay_queue(j, &st, usize::from(j.buffers[bi as usize].queue)) {
            self.queue = q;
        }
        self.buffer = Some(bi);
        self.seek(step);
        Reply::Info(msg)
    }
}

impl Document for TraceDoc {
    const UNIT: &'static str = "event";
    const WHOLE: &'static str = "trace";

    fn end(&self) -> u64 {
        self.session.steps()
    }

    fn cursor(&self) -> u64 {
        self.cursor
    }

    fn seek(&mut self, to: u64) {
        self.previous = self.cursor;
        self.cursor = to.min(self.end());
    }

    /// To the selected queue's next (or previous) event, of either side when joined.
    fn op(&mut self, dir: Dir) -> Reply {
        let st = self.session.state_at(0);
        let end = self.end();
        let c = self.cursor;
        const CHUNK: u64 = 2048;
        let found = match self.session.join() {
            None => {
                let store = self.session.store();
                let on = |i: usize| {
                    store
                        .events()
                        .get(i)
                        .is_some_and(|e| event_queue(store, &st, e) == Some(self.queue))
                };
                let n = store.events().len();
                let c = c as usize;
                // Event count s shows event s-1: forward looks from event index c, back from
                // c-2.
                match dir {
                    Dir::Forward => (c..n).find(|&i| on(i)).map(|i| i as u64 + 1),
                    Dir::Back => (0..c.saturating_sub(1))
                        .rev()
                        .find(|&i| on(i))
                        .map(|i| i as u64 + 1),
                }
            }
            Some(j) => {
                let cap = self.session.capture();
                let mut hit = None;
                match dir {
                    Dir::Forward => {
                        let mut from = c + 1;
                        while from <= end && hit.is_none() {
                            let to = (from + CHUNK - 1).min(end);
                            hit = j
                                .merge
                                .window(cap, &j.clock, from, to)
                                .into_iter()
                                .find(|(_, e)| self.on_queue(&st, *e))
                                .map(|(s, _)| s);
                            from = to + 1;
                        }
                    }
                    Dir::Back => {
                        let mut to = c.saturating_sub(1);
                        while to >= 1 && hit.is_none() {
                            let from = to.saturating_sub(CHUNK - 1).max(1);
                            hit = j
                                .merge
                                .window(cap, &j.clock, from, to)
                                .into_iter()
                                .rev()
                                .find(|(_, e)| self.on_queue(&st, *e))
                                .map(|(s, _)| s);
                            to = from - 1;
                        }
                    }
                }
                hit
            }
        };
        match found {
            Some(s) => {
                self.seek(s);
                Reply::Done
            }
            None => {
                let name = self.names.get(self.queue).cloned().unwrap_or_default();
                Reply::Info(format!("no more events on {name} this way"))
            }
        }
    }

    fn line(&self, line: u64) -> Result<(u64, String), String> {
        let store = self.session.store();
        let last = store.events().last().map_or(0, |e| u64::from(e.line));
        if line > last {
            return Err(format!(
                "line {line} is past the last event (line {last}): the cursor stays"
            ));
        }
        let s = self.session.step_of_device(line_step(store, line) as usize);
        Ok((s, format!("line {line}: event {s}")))
    }

    /// Every step at which a condition stops a continue, ascending: right after the event
    /// that makes it true.
    fn hits(&self, c: &Condition) -> Result<Vec<u64>, String> {
        if c.scenario_only() {
            return Err(format!(
                "`{c}` reads a scenario's memory or ops; on a trace use a queue counter \
                 (`{}.inuse > 3`), `event NAME`, `finding [CODE]`, `kick`, `interrupt` or, \
                 joined, `buffer 0x…`",
                self.names.first().map_or("blk0.q0", String::as_str)
            ));
        }
        let store = self.session.store();
        let events = store.events();
        let device = |f: &dyn Fn(&EventKind, &str) -> bool| -> Vec<u64> {
            self.device_steps(
                events
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| f(&e.kind, store.event_name(e)))
                    .map(|(i, _)| i),
            )
        };
        let mut out = match c {
            Condition::Event(name) => {
                let mut v = device(&|_, n| n == name);
                if let Some(d) = self.session.capture().driver.as_ref() {
                    v.extend(self.driver_steps(&|e| d.event_name(e) == *name));
                }
                v
            }
            // A kick notifies the device; an interrupt notifies the driver. Joined, both
            // sides' ends of it stop: the driver's doorbell write and QEMU's kick, QEMU's
            // interrupt and the driver's handler.
            Condition::Notify(to) => {
                let mut v = device(&|k, _| match k {
                    EventKind::QueueNotify { .. } => to.is_none_or(|a| a == Agent::Device),
                    EventKind::Notify { .. } => to.is_none_or(|a| a == Agent::Driver),
                    _ => false,
                });
                v.extend(self.driver_steps(&|e| match e.kind {
                    DriverKind::Notify => to.is_none_or(|a| a == Agent::Device),
                    DriverKind::Interrupt => to.is_none_or(|a| a == Agent::Driver),
                    _ => false,
                }));
                v
            }
            Condition::Finding(code) => self
                .session
                .report()
                .findings
                .iter()
                .filter(|f| code.as_deref().is_none_or(|c| f.code.name() == c))
                .filter_map(|f| {
                    let s = f.seen_at()?;
                    s.step.or_else(|| {
                        s.line
                            .map(|l| self.session.step_of_device(line_step(store, l) as usize))
                    })
                })
                .collect(),
            Condition::Buffer(b) => {
                let Some(j) = self.session.join() else {
                    return Err(
                        "`buffer`/`id` follow a buffer across both sides: open the trace with \
                         --guest (the driver's trace)"
                            .into(),
                    );
                };
                let found = self.buffers_of(b);
                if found.is_empty() {
                    return Err(format!("no {b} in this trace"));
                }
                found
                    .iter()
                    .flat_map(|&bi| j.path(self.session.capture(), bi))
                    .map(|(_, s)| s)
                    .collect()
            }
            Condition::Counter {
                queue,
                counter,
                cmp,
                value,
            } => {
                let Some(qi) = self.names.iter().position(|n| n == queue) else {
                    return Err(format!(
                        "no queue `{queue}` in this trace; queues: {}",
                        self.names.join(", ")
                    ));
                };
                let mut st = self.replayer.initial(store);
                let read = |st: &ReplayState| st.queues.get(qi).map(|q| counter.value(q));
                let mut before = read(&st).is_some_and(|v| cmp.holds(v, *value));
                let mut idx = Vec::new();
                for (i, e) in events.iter().enumerate() {
                    self.replayer.step(&mut st, store, e);
                    let now = read(&st).is_some_and(|v| cmp.holds(v, *value));
                    if now && !before {
                        idx.push(i);
                    }
                    before = now;
                }
                self.device_steps(idx.into_iter())
            }
            _ => Vec::new(),
        };
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn search(&self, term: &str) -> Vec<u64> {
        let store = self.session.store();
        let mut out = self.device_steps(
            store
                .events()
                .iter()
                .enumerate()
                .filter(|(_, e)| event_matches(store, e, term))
                .map(|(i, _)| i),
        );
        if let Some(d) = self.session.capture().driver.as_ref() {
            out.extend(self.driver_steps(&|e| {
                d.event_name(e).contains(term)
                    || d.fields(e)
                        .iter()
                        .any(|(k, v)| format!("{k}={v}").contains(term))
            }));
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn move_selection(&mut self, focus: PaneId, by: i32, _: &[Condition]) {
        let dir = if by < 0 { Dir::Back } else { Dir::Forward };
        match focus {
            PaneId::Ring => {
                let q = (self.queue as i64 + i64::from(by)).max(0) as usize;
                self.queue = q.min(self.names.len().saturating_sub(1));
            }
            PaneId::Findings => {
                let to = hop(&self.finding_steps(), self.cursor, by);
                self.seek(to);
            }
            PaneId::Timeline => {
                for _ in 0..by.unsigned_abs() {
                    self.op(dir);
                }
            }
            _ => {}
        }
    }

    fn select(&mut self, item: Item) {
        if let Item::Queue(q) = item {
            self.queue = q.min(self.names.len().saturating_sub(1));
        }
    }

    /// Esc forgets the chosen buffer: the path drawn is again the cursor event's.
    fn escape(&mut self) {
        self.buffer = None;
    }

    fn other(&mut self, cmd: Command) -> Reply {
        match cmd {
            Command::Compare(_) => Reply::Error("compare works on scenarios, not traces".into()),
            Command::FindBuffer(b) => self.find_buffer(b),
            _ => Reply::Done,
        }
    }

    /// A trace the app carries (a tutorial capture) is linked by name; any other is a file
    /// from the user's disk.
    fn link(&self, state: &StepperState) -> Link {
        let source = self.session.store().source();
        let open = match crate::tutorial::TRACES.iter().find(|t| t.path == source) {
            Some(t) => Opened::Embedded(t.name.to_string()),
            None => Opened::Local(source.to_string()),
        };
        state.link(open, self.cursor)
    }

    fn screen(&mut self, size: Size, ui: UiView, marks: &[u64], mark: Option<u64>) -> Screen {
        let frame = self.frame(screen::columns(size), ui, marks, mark);
        screen::screen(&frame, size)
    }
}

/// Decodes each dump and places it: on its queue (device type and index) and at its
/// snapshot's step. A dump says which snapshot it was taken in (`DumpInput::taken_at`, from the
/// rings' index or the QMP transcript), and snapshot k is at the trace's k-th VM stop, as replay
/// checks them (docs/trace-format.md §4–5). The step is QEMU's event count there.
fn place_dumps(
    session: &TraceSession,
    st: &ReplayState,
    inputs: &[ringdump::DumpInput],
) -> Vec<PlacedDump> {
    let stops: Vec<u64> = session
        .store()
        .events()
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e.kind, EventKind::RunState { running: false }))
        .map(|(i, _)| i as u64 + 1)
        .collect();
    inputs
        .iter()
        .filter_map(|d| {
            let inspection = ringdump::inspect(d).ok()?;
            let t = DeviceType::from_qemu_name(d.device_name.as_deref()?);
            let queue = st.queues.iter().position(|q| {
                Some(q.queue) == d.queue
                    && st.devices.get(q.dev).is_some_and(|x| x.device_type == t)
            })?;
            let step = d
                .taken_at
                .and_then(|k| k.checked_sub(1))
                .and_then(|k| stops.get(k as usize).copied());
            Some(PlacedDump {
                queue,
                inspection,
                step,
            })
        })
        .collect()
}
