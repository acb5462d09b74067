//! The scenario document: a session stepped access by access, with an optional second session
//! (the other ring layout, or another scenario) kept at the same op, the selected slot, cache
//! line and memory cursor, and save/load of the whole state.

use serde::{Deserialize, Serialize};

use super::{Document, Reply, Request, Stepper, StepperState, hop};
use crate::bench::SavedBench;
use crate::command::{Command, Condition, Dir, Item, PaneId};
use crate::engine::Ring;
use crate::face::catalog::is_embedded;
use crate::face::error::UiError;
use crate::face::link::{Link, Opened};
use crate::face::screen::{Screen, Size, scenario as screen};
use crate::features::Features;
use crate::layout::RingKind;
use crate::op::Op;
use crate::scenario::Scenario;
use crate::session::Session;
use crate::view::{self, Frame, FrameOptions, UiView, ViewContext};

/// The scenario controller.
pub type ScenarioUi = Stepper<ScenarioDoc>;

/// What a compared session runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompareWith {
    /// The same ops on the other ring layout.
    OtherLayout,
    /// Another scenario (name or file).
    Scenario(String),
}

/// A session saved to RON: enough to come back to the same screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedSession {
    /// Scenario name or file.
    pub scenario: String,
    /// Micro step.
    pub step: u64,
    /// Marks.
    #[serde(default)]
    pub marks: Vec<u64>,
    /// Breakpoints in their canonical text.
    #[serde(default)]
    pub breakpoints: Vec<String>,
    /// Focused pane.
    #[serde(default)]
    pub focus: PaneId,
    /// Focused pane zoomed.
    #[serde(default)]
    pub zoom: bool,
    /// Selected ring slot (`None`: the ring pane follows the access at the cursor).
    #[serde(default)]
    pub selected: Option<u16>,
    /// Compared session.
    #[serde(default)]
    pub compare: Option<CompareWith>,
}

impl SavedSession {
    /// The link of this session; `embedded` says whether the app carries its scenario.
    pub fn link(&self, embedded: bool) -> Link {
        let open = if embedded {
            Opened::Embedded(self.scenario.clone())
        } else {
            Opened::Local(self.scenario.clone())
        };
        Link {
            open,
            step: self.step,
            marks: self.marks.clone(),
            focus: self.focus,
            zoom: self.zoom,
            selected: self.selected,
            compare: self.compare == Some(CompareWith::OtherLayout),
        }
    }

    /// Parses a saved session; `path` names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<SavedSession, UiError> {
        ron::from_str(text).map_err(|e| UiError::Saved {
            path: path.to_string(),
            message: e.to_string(),
        })
    }

    /// The RON text of it.
    pub fn to_ron(&self) -> String {
        ron::ser::to_string_pretty(self, Default::default()).unwrap_or_default()
    }
}

/// One stepped session and what the view needs besides it.
struct Side {
    label: String,
    engine: crate::config::EngineConfig,
    cache: crate::scenario::CacheSpec,
    title: String,
    chapter: Option<String>,
    session: Session,
    say: Vec<Option<String>>,
    previous: u64,
    labels: view::LineLabels,
}

impl Side {
    fn new(label: String, scenario: &Scenario) -> Result<Self, UiError> {
        let session = scenario.session()?;
        let mut say = Vec::with_capacity(session.ops().len());
        for step in &scenario.steps {
            let n = Op::flatten(std::slice::from_ref(&step.op)).len();
            say.extend(std::iter::repeat_n(step.say.clone(), n));
        }
        Ok(Side {
            label,
            engine: scenario.engine.clone(),
            cache: scenario.cache.clone(),
            title: scenario.title.clone(),
            chapter: scenario.chapter.clone(),
            session,
            say,
            previous: 0,
            labels: view::LineLabels::default(),
        })
    }

    fn cursor(&self) -> u64 {
        self.session.position().step
    }

    fn seek(&mut self, step: u64) {
        self.previous = self.cursor();
        self.session.seek(step);
    }
}

/// A scenario session and its selections.
pub struct ScenarioDoc {
    source: String,
    scenario: Scenario,
    main: Side,
    compare: Option<(CompareWith, Side)>,
    selected: Option<u16>,
    cache_line: Option<usize>,
    /// The lines the cache pane had and the one it drilled into, in the last frame.
    cache_lines: (usize, usize),
    memory_cursor: Option<u64>,
    shown_memory_cursor: u64,
    /// The slot the ring pane centred on in the last frame (where ↑/↓ start from).
    shown_slot: u16,
    /// The latest saved bench result, shown next to the model.
    bench: SavedBench,
}

impl ScenarioUi {
    /// Opens the tutorial's first chapter.
    pub fn tutorial() -> Result<Self, UiError> {
        let scenario = Scenario::tutorial_start()?;
        let name = crate::scenario::EMBEDDED[0].0;
        Self::with_scenario(name, scenario)
    }

    /// Opens a scenario already loaded; `source` is how to find it again (for saving).
    pub fn with_scenario(source: &str, scenario: Scenario) -> Result<Self, UiError> {
        let main = Side::new(source.to_string(), &scenario)?;
        Ok(Stepper::with(ScenarioDoc {
            source: source.to_string(),
            scenario,
            main,
            compare: None,
            selected: None,
            cache_line: None,
            cache_lines: (0, 0),
            memory_cursor: None,
            shown_memory_cursor: 0,
            shown_slot: 0,
            bench: SavedBench::Missing,
        }))
    }

    /// Comes back to a saved state, on its scenario (already found). A compared scenario other
    /// than the other layout is left to the caller (`Command::Compare`).
    pub fn restore(saved: &SavedSession, scenario: Scenario) -> Result<Self, UiError> {
        let mut ui = Self::with_scenario(&saved.scenario, scenario)?;
        ui.doc.main.session.seek(saved.step);
        ui.doc.main.previous = ui.doc.main.cursor();
        ui.chrome.marks = saved.marks.clone();
        for (i, b) in saved.breakpoints.iter().enumerate() {
            let c = Condition::parse(b).map_err(|e| UiError::Saved {
                path: saved.scenario.clone(),
                message: format!("breakpoint {}: {e}", i + 1),
            })?;
            ui.chrome.breakpoints.push(c);
        }
        ui.chrome.focus = saved.focus;
        ui.chrome.zoom = saved.zoom;
        ui.doc.selected = saved.selected;
        if saved.compare == Some(CompareWith::OtherLayout) {
            ui.doc.start_compare(CompareWith::OtherLayout, None)?;
        }
        Ok(ui)
    }

    /// What would be saved now.
    pub fn saved(&self) -> SavedSession {
        self.doc.saved(&self.state())
    }

    /// The main session.
    pub fn session(&self) -> &Session {
        &self.doc.main.session
    }

    /// The frame: the structured view of both sessions and the UI state.
    pub fn frame(&mut self, options: FrameOptions) -> Frame {
        let cursor = self.doc.cursor();
        let mark = self.chrome.mark_before(cursor);
        let marks = self.chrome.marks.clone();
        let ui = self.chrome.view();
        self.doc.frame(options, ui, &marks, mark)
    }
}

impl ScenarioDoc {
    fn saved(&self, state: &StepperState) -> SavedSession {
        SavedSession {
            scenario: self.source.clone(),
            step: self.main.cursor(),
            marks: state.marks.clone(),
            breakpoints: state.breakpoints.clone(),
            focus: state.focus,
            zoom: state.zoom,
            selected: self.selected,
            compare: self.compare.as_ref().map(|c| c.0.clone()),
        }
    }

    fn move_to(&mut self, step: u64) {
        self.main.seek(step);
        self.sync_compare();
    }

    /// Keeps the compared session at the same op, and as far into it as the main one.
    fn sync_compare(&mut self) {
        let p = self.main.session.position();
        let at_end = p.step >= self.main.session.len();
        if let Some((_, side)) = self.compare.as_mut() {
            let s = &side.session;
            let target = if at_end {
                s.len()
            } else {
                (s.op_start(p.op) + p.within).min(s.op_start(p.op + 1))
            };
            side.seek(target);
        }
    }

    /// Starts comparing; `other` is the other scenario, already found, for
    /// [`CompareWith::Scenario`].
    fn start_compare(
        &mut self,
        with: CompareWith,
        other: Option<Scenario>,
    ) -> Result<String, UiError> {
        let side = match (&with, other) {
            (CompareWith::Scenario(_), Some(s)) => Side::new(s.title.clone(), &s)?,
            _ => {
                let mut other = self.scenario.clone();
                let q = &mut other.engine.queue;
                let (kind, f) = match q.layout {
                    RingKind::Split => (RingKind::Packed, Features::RING_PACKED),
                    RingKind::Packed => (RingKind::Split, Features::NONE),
                };
                q.layout = kind;
                for set in [
                    &mut other.engine.device_features,
                    &mut other.engine.driver_features,
                ] {
                    *set = set.minus(Features::RING_PACKED).or(f);
                }
                let mut side = Side::new(format!("{kind} ring, same ops"), &other)?;
                // The scenario's words describe its own layout; on the other one they would
                // name the wrong fields. The engine's summary of each op stays.
                let note = format!(
                    "(The scenario's narration is written for the {} ring; the line above is \
                     what this op did on the {kind} ring.)",
                    self.scenario.engine.queue.layout
                );
                for say in side.say.iter_mut().filter(|s| s.is_some()) {
                    *say = Some(note.clone());
                }
                side
            }
        };
        let text = format!("comparing with {}", side.label);
        self.compare = Some((with, side));
        self.sync_compare();
        Ok(text)
    }

    fn queue_size(&self) -> u16 {
        match &self.main.session.state().ring {
            Some(r) => r.layout().size(),
            None => self.scenario.engine.queue.size.min(u32::from(u16::MAX)) as u16,
        }
    }

    fn select_slot(&mut self, slot: usize) {
        let q = usize::from(self.queue_size().max(1));
        let slot = slot.min(q - 1) as u16;
        self.selected = Some(slot);
        if let Some(r) = &self.main.session.state().ring {
            self.memory_cursor = Some(view::desc_addr(&r.layout(), slot));
        }
    }

    fn frame(
        &mut self,
        options: FrameOptions,
        ui: UiView,
        marks: &[u64],
        mark: Option<u64>,
    ) -> Frame {
        let ctx = ViewContext {
            previous: self.main.previous,
            mark,
            marks,
            selected: self.selected,
            cache_line: self.cache_line,
            memory_cursor: self.memory_cursor,
            say: &self.main.say,
            title: &self.main.title,
            chapter: self.main.chapter.as_deref(),
            cache: &self.main.cache,
            options,
        };
        let main = view::build(&mut self.main.session, &ctx, &mut self.main.labels);
        self.shown_memory_cursor = main.memory.cursor;
        self.shown_slot = main.ring.focus_slot();
        self.cache_lines = (main.cache.lines.len(), main.cache.shown);
        let bench = self.bench.rows(&self.main.engine);
        let compare_bench = self
            .compare
            .as_ref()
            .map(|(_, side)| self.bench.rows(&side.engine))
            .unwrap_or_default();
        let compare = self.compare.as_mut().map(|(_, side)| {
            let ctx = ViewContext {
                previous: side.previous,
                mark: None,
                marks: &[],
                say: &side.say,
                title: &side.title,
                chapter: side.chapter.as_deref(),
                cache: &side.cache,
                memory_cursor: None,
                ..ctx
            };
            (
                side.label.clone(),
                view::build(&mut side.session, &ctx, &mut side.labels),
            )
        });
        Frame {
            main,
            compare,
            ui,
            bench,
            compare_bench,
        }
    }
}

impl Document for ScenarioDoc {
    const UNIT: &'static str = "step";
    const WHOLE: &'static str = "run";

    fn end(&self) -> u64 {
        self.main.session.len()
    }

    fn cursor(&self) -> u64 {
        self.main.cursor()
    }

    fn seek(&mut self, to: u64) {
        self.move_to(to);
    }

    fn op(&mut self, dir: Dir) -> Reply {
        self.main.previous = self.main.cursor();
        match dir {
            Dir::Forward => self.main.session.op_forward(),
            Dir::Back => self.main.session.op_back(),
        }
        self.sync_compare();
        Reply::Done
    }

    fn line(&self, _: u64) -> Result<(u64, String), String> {
        Err("a scenario has no trace lines: `g` takes a step".into())
    }

    fn hits(&self, c: &Condition) -> Result<Vec<u64>, String> {
        if c.trace_only() {
            return Err(format!(
                "`{c}` reads trace state: open a QEMU trace to use it"
            ));
        }
        Ok(super::breaks::hits(&self.main.session, c))
    }

    fn search(&self, term: &str) -> Vec<u64> {
        let s = &self.main.session;
        let mut hits: Vec<u64> = s
            .log()
            .iter()
            .filter(|a| a.field.to_string().contains(term))
            .map(|a| a.step + 1)
            .collect();
        hits.extend((0..s.ops().len()).filter_map(|i| {
            let op = &s.ops()[i];
            let outcome = s.outcome(i).map(|n| n.to_string()).unwrap_or_default();
            (op.name().contains(term) || outcome.contains(term)).then(|| s.op_start(i))
        }));
        hits.sort_unstable();
        hits.dedup();
        hits
    }

    fn move_selection(&mut self, focus: PaneId, by: i32, _: &[Condition]) {
        let dir = if by < 0 { Dir::Back } else { Dir::Forward };
        match focus {
            PaneId::Ring => {
                let from = self.selected.unwrap_or(self.shown_slot);
                let s = (i64::from(from) + i64::from(by)).max(0) as usize;
                self.select_slot(s);
            }
            PaneId::Memory => {
                let layout = self.main.session.state().ring.as_ref().map(Ring::layout);
                let mut c = self.shown_memory_cursor;
                for _ in 0..by.unsigned_abs() {
                    c = view::next_field(layout.as_ref(), c, dir);
                }
                self.memory_cursor = Some(c);
            }
            PaneId::Findings => {
                let hits = super::breaks::hits(&self.main.session, &Condition::Finding(None));
                let to = hop(&hits, self.main.cursor(), by);
                self.move_to(to);
            }
            PaneId::Timeline => {
                for _ in 0..by.unsigned_abs() {
                    self.op(dir);
                }
            }
            PaneId::Cache => {
                let (n, shown) = self.cache_lines;
                let from = self.cache_line.unwrap_or(shown);
                let i = (from as i64 + i64::from(by)).max(0) as usize;
                self.cache_line = Some(i.min(n.saturating_sub(1)));
            }
            PaneId::Narration | PaneId::Transport | PaneId::Lesson => {}
        }
    }

    fn select(&mut self, item: Item) {
        match item {
            Item::Slot(slot) => self.select_slot(usize::from(slot)),
            Item::Address(a) => self.memory_cursor = Some(a),
            Item::Line(i) => self.cache_line = Some(i),
            Item::Queue(_) | Item::Step(_) => {}
        }
    }

    /// Esc: the memory, ring and cache panes follow the cursor's access again.
    fn escape(&mut self) {
        self.memory_cursor = None;
        self.selected = None;
        self.cache_line = None;
    }

    fn other(&mut self, cmd: Command) -> Reply {
        match cmd {
            Command::Compare(with) => {
                if self.compare.is_some() {
                    self.compare = None;
                    return Reply::Info("compare off".into());
                }
                match with {
                    Some(name) => Reply::Request(Request::Compare(name)),
                    None => match self.start_compare(CompareWith::OtherLayout, None) {
                        Ok(t) => Reply::Info(t),
                        Err(e) => Reply::Error(e.to_string()),
                    },
                }
            }
            _ => Reply::Done,
        }
    }

    fn save(&self, state: &StepperState) -> Result<Vec<u8>, String> {
        Ok(self.saved(state).to_ron().into_bytes())
    }

    fn link(&self, state: &StepperState) -> Link {
        self.saved(state).link(is_embedded(&self.source))
    }

    fn compare(&mut self, name: &str, scenario: Scenario) -> Result<(), String> {
        self.start_compare(CompareWith::Scenario(name.to_string()), Some(scenario))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn saved_bench(&mut self, saved: &SavedBench) {
        self.bench = saved.clone();
    }

    fn screen(&mut self, size: Size, ui: UiView, marks: &[u64], mark: Option<u64>) -> Screen {
        let frame = self.frame(screen::options(size), ui, marks, mark);
        screen::screen(&frame, size)
    }
}
