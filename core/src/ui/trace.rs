//! The controller of a QEMU trace opened for stepping. The cursor is a number of events
//! applied; the keys, prompts, marks and breakpoints are the scenario controller's (one
//! [`Chrome`]), read against trace state.
//!
//! Panes: the ring pane holds the per-queue table (↑/↓ select a queue), narration the event at
//! the cursor, memory the selected queue's decoded ring dump, findings and timeline their own.
//! Shift+←/→ moves to the selected queue's previous/next event: when a queue hangs, its own
//! pops, fills, flushes, kicks and interrupts are the story, and other devices' traffic is noise.

use super::chrome::Chrome;
use crate::command::{Command, Condition, Dir, KeyPress, PaneId};
use crate::memory::Agent;
use crate::trace::replay::Replayer;
use crate::trace::ringdump;
use crate::trace::{Capture, DeviceType, EventKind, ReplayOptions, TraceSession};
use crate::view::trace::{
    PlacedDump, TraceContext, TraceFrame, event_matches, event_queue, line_step, queue_names,
};

/// The trace controller.
pub struct TraceUi {
    session: TraceSession,
    replayer: Replayer,
    dumps: Vec<PlacedDump>,
    names: Vec<String>,
    chrome: Chrome,
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
        TraceUi {
            session,
            replayer,
            dumps,
            names,
            chrome: Chrome::new(PaneId::Ring),
            cursor: 0,
            previous: 0,
            queue,
        }
    }

    /// The session.
    pub fn session(&self) -> &TraceSession {
        &self.session
    }

    /// Events applied.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Whether the user asked to quit.
    pub fn should_quit(&self) -> bool {
        self.chrome.quit
    }

    /// Events per second while playing.
    pub fn playing(&self) -> Option<u32> {
        self.chrome.playing()
    }

    fn len(&self) -> u64 {
        self.session.len() as u64
    }

    /// One play tick: an event forward, stopping at the end.
    pub fn tick(&mut self) {
        if !self.chrome.playing {
            return;
        }
        if self.cursor >= self.len() {
            self.chrome.playing = false;
            self.chrome.info("end of trace".into());
            return;
        }
        self.move_to(self.cursor + 1);
    }

    /// Handles a key: prompt editing, the help overlay, or the keymap.
    pub fn key(&mut self, key: KeyPress) {
        if let Some(cmd) = self.chrome.key(key) {
            self.apply(cmd);
        }
    }

    fn move_to(&mut self, step: u64) {
        self.previous = self.cursor;
        self.cursor = step.min(self.len());
    }

    /// Applies a command.
    pub fn apply(&mut self, cmd: Command) {
        let Some(cmd) = self.chrome.apply(cmd, self.cursor) else {
            return;
        };
        let cursor = self.cursor;
        match cmd {
            Command::Step(Dir::Forward) => self.move_to(cursor + 1),
            Command::Step(Dir::Back) => self.move_to(cursor.saturating_sub(1)),
            Command::Op(dir) => self.queue_step(dir),
            Command::First => self.move_to(0),
            Command::Last => self.move_to(u64::MAX),
            Command::Goto(s) => self.move_to(s),
            Command::GotoLine(l) => {
                let s = line_step(self.session.store(), l);
                self.move_to(s);
                self.chrome.info(format!("line {l}: step {s}"));
            }
            Command::Continue(dir) => {
                let end = if dir == Dir::Forward { self.len() } else { 0 };
                let hits: Vec<Vec<u64>> = self
                    .chrome
                    .breakpoints
                    .iter()
                    .map(|c| self.hits(c))
                    .collect();
                if let Some(h) = self.chrome.continue_to(cursor, dir, end, &hits) {
                    self.move_to(h);
                }
            }
            Command::Play => {
                self.chrome.playing = !self.chrome.playing;
                if self.chrome.playing && cursor >= self.len() {
                    self.move_to(0);
                }
            }
            Command::NextMark => {
                if let Some(m) = self.chrome.next_mark(cursor) {
                    self.move_to(m);
                }
            }
            Command::Break(c) => self.add_break(c),
            Command::Move(d) => self.move_selection(d),
            Command::Select { pane, index } => self.select(pane, index),
            Command::Search(text) => {
                self.chrome.search = Some(text);
                self.search_next(Dir::Forward);
            }
            Command::SearchNext(dir) => self.search_next(dir),
            Command::Escape => {
                self.chrome.escape();
            }
            Command::Compare(_) | Command::Save(_) | Command::Load(_) => self
                .chrome
                .error("compare, save and load work on scenarios, not traces".into()),
            // The chrome's own commands never get here.
            _ => {}
        }
    }

    fn add_break(&mut self, c: Condition) {
        if c.scenario_only() {
            self.chrome.error(format!(
                "`{c}` reads a scenario's memory or ops; on a trace use a queue counter \
                 (`{}.inuse > 3`), `event NAME`, `finding [CODE]` or `notify`",
                self.names.first().map_or("blk0.q0", String::as_str)
            ));
            return;
        }
        if let Condition::Counter { queue, .. } = &c
            && !self.names.contains(queue)
        {
            self.chrome.error(format!(
                "no queue `{queue}` in this trace; queues: {}",
                self.names.join(", ")
            ));
            return;
        }
        let n = self.hits(&c).len();
        self.chrome.info(format!(
            "breakpoint {}: {c} ({n} hit(s) in this trace)",
            self.chrome.breakpoints.len() + 1
        ));
        self.chrome.breakpoints.push(c);
    }

    /// Every step at which a condition stops a continue, ascending: right after the event
    /// that makes it true.
    pub fn hits(&self, c: &Condition) -> Vec<u64> {
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
            Condition::Notify(agent) => steps(&|k, _| match k {
                EventKind::QueueNotify { .. } => agent.is_none_or(|a| a == Agent::Driver),
                EventKind::Notify { .. } => agent.is_none_or(|a| a == Agent::Device),
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
                    return Vec::new();
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
        out
    }

    /// To the selected queue's next (or previous) event.
    fn queue_step(&mut self, dir: Dir) {
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
        // Step s shows event s-1: forward looks from event index c, back from c-2.
        let found = match dir {
            Dir::Forward => (c..n).find(|&i| on_queue(i)),
            Dir::Back => (0..c.saturating_sub(1)).rev().find(|&i| on_queue(i)),
        };
        let name = self.names.get(self.queue).cloned().unwrap_or_default();
        match found {
            Some(i) => self.move_to(i as u64 + 1),
            None => self
                .chrome
                .info(format!("no more events on {name} this way")),
        }
    }

    fn finding_steps(&self) -> Vec<u64> {
        self.hits(&Condition::Finding(None))
    }

    fn move_selection(&mut self, d: i32) {
        let dir = if d < 0 { Dir::Back } else { Dir::Forward };
        match self.chrome.focus {
            PaneId::Ring => {
                let q = (self.queue as i64 + i64::from(d)).max(0) as usize;
                self.queue = q.min(self.names.len().saturating_sub(1));
            }
            PaneId::Findings => {
                let hits = self.finding_steps();
                let mut c = self.cursor;
                for _ in 0..d.unsigned_abs() {
                    c = crate::command::next_hit(&hits, c, dir).unwrap_or(c);
                }
                self.move_to(c);
            }
            PaneId::Timeline => {
                for _ in 0..d.unsigned_abs() {
                    self.queue_step(dir);
                }
            }
            _ => {}
        }
    }

    fn select(&mut self, pane: PaneId, index: usize) {
        self.chrome.focus = pane;
        match pane {
            PaneId::Ring => self.queue = index.min(self.names.len().saturating_sub(1)),
            PaneId::Findings | PaneId::Timeline => self.move_to(index as u64),
            _ => {}
        }
    }

    fn search_next(&mut self, dir: Dir) {
        let Some(term) = self.chrome.search.clone() else {
            self.chrome.error("no search: press / to search".into());
            return;
        };
        let store = self.session.store();
        let hits: Vec<u64> = store
            .events()
            .iter()
            .enumerate()
            .filter(|(_, e)| event_matches(store, e, &term))
            .map(|(i, _)| i as u64 + 1)
            .collect();
        if let Some(h) = self.chrome.search_to(&hits, self.cursor, dir) {
            self.move_to(h);
        }
    }

    /// The frame to paint, with this many timeline columns.
    pub fn frame(&mut self, columns: usize) -> TraceFrame {
        let ctx = TraceContext {
            cursor: self.cursor,
            previous: self.previous,
            mark: self.chrome.mark_before(self.cursor),
            marks: &self.chrome.marks,
            queue: self.queue,
            columns,
        };
        TraceFrame {
            view: crate::view::trace::build(&self.session, &self.dumps, &ctx),
            ui: self.chrome.view(),
        }
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
