//! The trace document: a QEMU trace opened for stepping. The cursor is a number of events
//! applied; the keys, prompts, marks and breakpoints are every stepper's, read against trace
//! state.
//!
//! Panes: the ring pane holds the per-queue table (↑/↓ select a queue), narration the event at
//! the cursor, memory the selected queue's decoded ring dump, findings and timeline their own.
//! Shift+←/→ moves to the selected queue's previous/next event: when a queue hangs, its own
//! pops, fills, flushes, kicks and interrupts are the story, and other devices' traffic is noise.

use super::{Document, Reply, Stepper, StepperState, hop};
use crate::command::{Command, Condition, Dir, Item, PaneId};
use crate::face::link::{Link, Opened};
use crate::face::screen::{Screen, Size, trace as screen};
use crate::memory::Agent;
use crate::trace::replay::Replayer;
use crate::trace::ringdump;
use crate::trace::{Capture, DeviceType, EventKind, ReplayOptions, TraceSession};
use crate::view::UiView;
use crate::view::trace::{
    PlacedDump, TraceContext, TraceFrame, event_matches, event_queue, line_step, queue_names,
};

/// The trace controller.
pub type TraceUi = Stepper<TraceDoc>;

/// A replayed trace, its ring dumps and the selected queue.
pub struct TraceDoc {
    session: TraceSession,
    replayer: Replayer,
    dumps: Vec<PlacedDump>,
    names: Vec<String>,
    cursor: u64,
    previous: u64,
    queue: usize,
}

impl TraceUi {
    /// Opens an imported capture (see [`Capture::load`]).
    pub fn new(capture: Capture) -> Self {
        let opts = ReplayOptions::default();
        let session = TraceSession::new(capture, &opts);
        let replayer = session.replayer().clone();
        let st = session.state_at(0);
        let names = queue_names(&st);
        let dumps = place_dumps(&session, &st, &session.capture().dumps);
        // Start on the busiest queue: the one a hang hunt most likely starts from.
        let end = session.state_at(session.len());
        let queue = (0..end.queues.len())
            .max_by_key(|&i| (end.queues[i].pops, std::cmp::Reverse(i)))
            .unwrap_or(0);
        Stepper::with(TraceDoc {
            session,
            replayer,
            dumps,
            names,
            cursor: 0,
            previous: 0,
            queue,
        })
    }

    /// The session.
    pub fn session(&self) -> &TraceSession {
        &self.doc.session
    }

    /// Every event count at which a condition stops a continue.
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
        };
        TraceFrame {
            view: crate::view::trace::build(&self.session, &self.dumps, &ctx),
            ui,
        }
    }

    fn finding_steps(&self) -> Vec<u64> {
        self.hits(&Condition::Finding(None)).unwrap_or_default()
    }
}

impl Document for TraceDoc {
    const UNIT: &'static str = "event";
    const WHOLE: &'static str = "trace";

    fn end(&self) -> u64 {
        self.session.len() as u64
    }

    fn cursor(&self) -> u64 {
        self.cursor
    }

    fn seek(&mut self, to: u64) {
        self.previous = self.cursor;
        self.cursor = to.min(self.end());
    }

    /// To the selected queue's next (or previous) event.
    fn op(&mut self, dir: Dir) -> Reply {
        let store = self.session.store();
        let st = self.session.state_at(0);
        let on_queue = |i: usize| {
            store
                .events()
                .get(i)
                .is_some_and(|e| event_queue(store, &st, e) == Some(self.queue))
        };
        let n = store.events().len();
        let c = self.cursor as usize;
        // Event count s shows event s-1: forward looks from event index c, back from c-2.
        let found = match dir {
            Dir::Forward => (c..n).find(|&i| on_queue(i)),
            Dir::Back => (0..c.saturating_sub(1)).rev().find(|&i| on_queue(i)),
        };
        match found {
            Some(i) => {
                self.seek(i as u64 + 1);
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
        let s = line_step(store, line);
        Ok((s, format!("line {line}: event {s}")))
    }

    /// Every event count at which a condition stops a continue, ascending: right after the
    /// event that makes it true.
    fn hits(&self, c: &Condition) -> Result<Vec<u64>, String> {
        if c.scenario_only() {
            return Err(format!(
                "`{c}` reads a scenario's memory or ops; on a trace use a queue counter \
                 (`{}.inuse > 3`), `event NAME`, `finding [CODE]`, `kick` or `interrupt`",
                self.names.first().map_or("blk0.q0", String::as_str)
            ));
        }
        let store = self.session.store();
        let events = store.events();
        let steps = |f: &dyn Fn(&EventKind, &str) -> bool| -> Vec<u64> {
            events
                .iter()
                .enumerate()
                .filter(|(_, e)| f(&e.kind, store.event_name(e)))
                .map(|(i, _)| i as u64 + 1)
                .collect()
        };
        let mut out = match c {
            Condition::Event(name) => steps(&|_, n| n == name),
            // A kick notifies the device; an interrupt notifies the driver.
            Condition::Notify(to) => steps(&|k, _| match k {
                EventKind::QueueNotify { .. } => to.is_none_or(|a| a == Agent::Device),
                EventKind::Notify { .. } => to.is_none_or(|a| a == Agent::Driver),
                _ => false,
            }),
            Condition::Finding(code) => self
                .session
                .report()
                .findings
                .iter()
                .filter(|f| code.as_deref().is_none_or(|c| f.code.name() == c))
                .filter_map(|f| f.line().map(|l| line_step(store, l)))
                .collect(),
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
                let read = |st: &crate::trace::replay::ReplayState| {
                    st.queues.get(qi).map(|q| counter.value(q))
                };
                let mut before = read(&st).is_some_and(|v| cmp.holds(v, *value));
                let mut out = Vec::new();
                for (i, e) in events.iter().enumerate() {
                    self.replayer.step(&mut st, store, e);
                    let now = read(&st).is_some_and(|v| cmp.holds(v, *value));
                    if now && !before {
                        out.push(i as u64 + 1);
                    }
                    before = now;
                }
                out
            }
            _ => Vec::new(),
        };
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn search(&self, term: &str) -> Vec<u64> {
        let store = self.session.store();
        store
            .events()
            .iter()
            .enumerate()
            .filter(|(_, e)| event_matches(store, e, term))
            .map(|(i, _)| i as u64 + 1)
            .collect()
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

    fn other(&mut self, cmd: Command) -> Reply {
        match cmd {
            Command::Compare(_) => Reply::Error("compare works on scenarios, not traces".into()),
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
        Link::of(open, self.cursor, state)
    }

    fn screen(&mut self, size: Size, ui: UiView, marks: &[u64], mark: Option<u64>) -> Screen {
        let frame = self.frame(screen::columns(size), ui, marks, mark);
        screen::screen(&frame, size)
    }
}

/// Decodes each dump and places it: on its queue (device type and index) and at its snapshot's
/// step (snapshot labels in order of appearance ↔ the VM stops in the trace, as replay checks
/// them, docs/trace-format.md §4–5).
fn place_dumps(
    session: &TraceSession,
    st: &crate::trace::replay::ReplayState,
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
    let mut labels: Vec<&str> = Vec::new();
    for d in inputs {
        if let Some(l) = d.snapshot.as_deref()
            && !labels.contains(&l)
        {
            labels.push(l);
        }
    }
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
                .snapshot
                .as_deref()
                .and_then(|l| labels.iter().position(|x| *x == l))
                .and_then(|k| stops.get(k).copied());
            Some(PlacedDump {
                queue,
                inspection,
                step,
            })
        })
        .collect()
}
