//! The controller both faces share: it owns the sessions and the UI state, applies
//! [`Command`]s and keys, and hands out [`Frame`]s. A face only turns its input into
//! [`KeyPress`]es or commands and paints what [`Ui::frame`] returns.

use serde::{Deserialize, Serialize};

mod chrome;
/// The trace controller.
pub mod trace;

use chrome::Chrome;
pub use trace::TraceUi;

use crate::command::{
    Command, Condition, Dir, KeyPress, PaneId, ParseError, PromptKind, parse_palette,
};
use crate::engine::{EngineError, Ring};
use crate::features::Features;
use crate::layout::RingKind;
use crate::op::Op;
use crate::scenario::{Scenario, ScenarioError};
use crate::session::Session;
use crate::view::{self, Frame, FrameOptions, ViewContext};

/// The UI could not open or save something.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// The scenario could not be loaded.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The engine rejected the scenario.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The trace, QMP transcript or ring dumps could not be imported.
    #[error(transparent)]
    Trace(#[from] Box<crate::trace::TraceError>),
    /// A saved session is malformed.
    #[error("{path}: not a saved session: {message}")]
    Saved {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

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
    /// Selected ring slot.
    #[serde(default)]
    pub selected: u16,
    /// Compared session.
    #[serde(default)]
    pub compare: Option<CompareWith>,
}

/// One stepped session and what the view needs besides it.
struct Side {
    label: String,
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

/// The controller.
pub struct Ui {
    source: String,
    scenario: Scenario,
    main: Side,
    compare: Option<(CompareWith, Side)>,
    chrome: Chrome,
    selected: u16,
    cache_line: usize,
    cache_lines: usize,
    memory_cursor: Option<u64>,
    shown_memory_cursor: u64,
}

impl Ui {
    /// Opens a scenario (embedded name or RON file) or a saved session file.
    pub fn open(source: &str) -> Result<Ui, UiError> {
        if let Ok(text) = std::fs::read_to_string(source)
            && let Ok(saved) = ron::from_str::<SavedSession>(&text)
        {
            return Ui::restore(&saved);
        }
        let scenario = Scenario::find(source)?;
        Ui::with_scenario(source, scenario)
    }

    /// Opens the tutorial's first chapter.
    pub fn tutorial() -> Result<Ui, UiError> {
        let scenario = Scenario::tutorial_start()?;
        let name = crate::scenario::EMBEDDED[0].0;
        Ui::with_scenario(name, scenario)
    }

    /// Opens a scenario already loaded; `source` is how to find it again (for saving).
    pub fn with_scenario(source: &str, scenario: Scenario) -> Result<Ui, UiError> {
        let main = Side::new(source.to_string(), &scenario)?;
        Ok(Ui {
            source: source.to_string(),
            scenario,
            main,
            compare: None,
            chrome: Chrome::new(PaneId::Ring),
            selected: 0,
            cache_line: 0,
            cache_lines: 0,
            memory_cursor: None,
            shown_memory_cursor: 0,
        })
    }

    fn restore(saved: &SavedSession) -> Result<Ui, UiError> {
        let scenario = Scenario::find(&saved.scenario)?;
        let mut ui = Ui::with_scenario(&saved.scenario, scenario)?;
        ui.main.session.seek(saved.step);
        ui.main.previous = ui.main.cursor();
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
        ui.selected = saved.selected;
        if let Some(c) = &saved.compare {
            ui.start_compare(c.clone())?;
        }
        Ok(ui)
    }

    /// What would be saved now.
    pub fn saved(&self) -> SavedSession {
        SavedSession {
            scenario: self.source.clone(),
            step: self.main.cursor(),
            marks: self.chrome.marks.clone(),
            breakpoints: self
                .chrome
                .breakpoints
                .iter()
                .map(ToString::to_string)
                .collect(),
            focus: self.chrome.focus,
            zoom: self.chrome.zoom,
            selected: self.selected,
            compare: self.compare.as_ref().map(|c| c.0.clone()),
        }
    }

    /// The main session.
    pub fn session(&self) -> &Session {
        &self.main.session
    }

    /// Whether the user asked to quit.
    pub fn should_quit(&self) -> bool {
        self.chrome.quit
    }

    /// Steps per second while playing.
    pub fn playing(&self) -> Option<u32> {
        self.chrome.playing()
    }

    /// One play tick: a micro step forward, stopping at the end.
    pub fn tick(&mut self) {
        if !self.chrome.playing {
            return;
        }
        if self.main.cursor() >= self.main.session.len() {
            self.chrome.playing = false;
            self.info("end of run".into());
            return;
        }
        self.move_to(self.main.cursor() + 1);
    }

    /// Handles a key: prompt editing, the help overlay, or the keymap.
    pub fn key(&mut self, key: KeyPress) {
        if let Some(cmd) = self.chrome.key(key) {
            self.apply(cmd);
        }
    }

    fn info(&mut self, text: String) {
        self.chrome.info(text);
    }

    fn error(&mut self, text: String) {
        self.chrome.error(text);
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

    /// Applies a command.
    pub fn apply(&mut self, cmd: Command) {
        let cursor = self.main.cursor();
        let Some(cmd) = self.chrome.apply(cmd, cursor) else {
            return;
        };
        match cmd {
            Command::Step(Dir::Forward) => self.move_to(cursor + 1),
            Command::Step(Dir::Back) => self.move_to(cursor.saturating_sub(1)),
            Command::Op(dir) => {
                self.main.previous = cursor;
                match dir {
                    Dir::Forward => self.main.session.op_forward(),
                    Dir::Back => self.main.session.op_back(),
                }
                self.sync_compare();
            }
            Command::First => self.move_to(0),
            Command::Last => self.move_to(u64::MAX),
            Command::Goto(s) => self.move_to(s),
            Command::GotoLine(_) => {
                self.error("a scenario has no trace lines: `g` takes a step".into())
            }
            Command::Continue(dir) => self.continue_to(dir),
            Command::Play => {
                self.chrome.playing = !self.chrome.playing;
                if self.chrome.playing && cursor >= self.main.session.len() {
                    self.move_to(0);
                }
            }
            Command::NextMark => {
                if let Some(m) = self.chrome.next_mark(cursor) {
                    self.move_to(m);
                }
            }
            Command::Break(c) if c.trace_only() => self.error(format!(
                "`{c}` reads trace state: open a QEMU trace to use it"
            )),
            Command::Break(c) => {
                let n = c.hits(&self.main.session).len();
                self.info(format!(
                    "breakpoint {}: {c} ({n} hit(s) in this run)",
                    self.chrome.breakpoints.len() + 1
                ));
                self.chrome.breakpoints.push(c);
            }
            Command::Move(d) => self.move_selection(d),
            Command::Select { pane, index } => self.select(pane, index),
            Command::Search(text) => {
                self.chrome.search = Some(text);
                self.search_next(Dir::Forward);
            }
            Command::SearchNext(dir) => self.search_next(dir),
            Command::Escape if !self.chrome.escape() => self.memory_cursor = None,
            Command::Compare(with) => {
                let with = with.map_or(CompareWith::OtherLayout, CompareWith::Scenario);
                if self.compare.is_some() {
                    self.compare = None;
                    self.info("compare off".into());
                } else if let Err(e) = self.start_compare(with) {
                    self.error(e.to_string());
                }
            }
            Command::Save(path) => {
                let text = ron::ser::to_string_pretty(&self.saved(), Default::default())
                    .unwrap_or_default();
                match std::fs::write(&path, text) {
                    Ok(()) => self.info(format!("saved to {path}")),
                    Err(e) => self.error(format!("{path}: {e}")),
                }
            }
            Command::Load(path) => match load_saved(&path).and_then(|s| Ui::restore(&s)) {
                Ok(ui) => {
                    *self = ui;
                    self.info(format!("loaded {path}"));
                }
                Err(e) => self.error(e.to_string()),
            },
            // The chrome's own commands never get here.
            _ => {}
        }
    }

    fn start_compare(&mut self, with: CompareWith) -> Result<(), UiError> {
        let side = match &with {
            CompareWith::OtherLayout => {
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
                Side::new(format!("{kind} ring, same ops"), &other)?
            }
            CompareWith::Scenario(name) => {
                let s = Scenario::find(name)?;
                Side::new(s.title.clone(), &s)?
            }
        };
        self.info(format!("comparing with {}", side.label));
        self.compare = Some((with, side));
        self.sync_compare();
        Ok(())
    }

    fn continue_to(&mut self, dir: Dir) {
        let (cursor, len) = (self.main.cursor(), self.main.session.len());
        let end = if dir == Dir::Forward { len } else { 0 };
        let hits: Vec<Vec<u64>> = self
            .chrome
            .breakpoints
            .iter()
            .map(|c| c.hits(&self.main.session))
            .collect();
        if let Some(h) = self.chrome.continue_to(cursor, dir, end, &hits) {
            self.move_to(h);
        }
    }

    fn search_next(&mut self, dir: Dir) {
        let Some(term) = self.chrome.search.clone() else {
            self.error("no search: press / to search".into());
            return;
        };
        let s = &self.main.session;
        let mut hits: Vec<u64> = s
            .log()
            .iter()
            .filter(|a| a.field.to_string().contains(&term))
            .map(|a| a.step + 1)
            .collect();
        hits.extend((0..s.ops().len()).filter_map(|i| {
            let op = &s.ops()[i];
            let outcome = s.outcome(i).map(|n| n.to_string()).unwrap_or_default();
            (op.name().contains(&term) || outcome.contains(&term)).then(|| s.op_start(i))
        }));
        hits.sort_unstable();
        hits.dedup();
        if let Some(h) = self.chrome.search_to(&hits, self.main.cursor(), dir) {
            self.move_to(h);
        }
    }

    fn queue_size(&self) -> u16 {
        match &self.main.session.state().ring {
            Some(r) => r.layout().size(),
            None => self.scenario.engine.queue.size.min(u32::from(u16::MAX)) as u16,
        }
    }

    fn select_slot(&mut self, slot: usize) {
        let q = usize::from(self.queue_size().max(1));
        self.selected = slot.min(q - 1) as u16;
        if let Some(r) = &self.main.session.state().ring {
            self.memory_cursor = Some(view::desc_addr(&r.layout(), self.selected));
        }
    }

    fn move_selection(&mut self, d: i32) {
        let dir = if d < 0 { Dir::Back } else { Dir::Forward };
        let n = d.unsigned_abs() as usize;
        match self.chrome.focus {
            PaneId::Ring => {
                let s = (i64::from(self.selected) + i64::from(d)).max(0) as usize;
                self.select_slot(s);
            }
            PaneId::Memory => {
                let layout = self.main.session.state().ring.as_ref().map(Ring::layout);
                let mut c = self.shown_memory_cursor;
                for _ in 0..n {
                    c = view::next_field(layout.as_ref(), c, dir);
                }
                self.memory_cursor = Some(c);
            }
            PaneId::Findings => {
                let hits = Condition::Finding(None).hits(&self.main.session);
                let mut c = self.main.cursor();
                for _ in 0..n {
                    c = crate::command::next_hit(&hits, c, dir).unwrap_or(c);
                }
                self.move_to(c);
            }
            PaneId::Timeline => {
                for _ in 0..n {
                    self.apply(Command::Op(dir));
                }
            }
            PaneId::Cache => {
                let i = (self.cache_line as i64 + i64::from(d)).max(0) as usize;
                self.cache_line = i.min(self.cache_lines.saturating_sub(1));
            }
            PaneId::Narration | PaneId::Transport => {}
        }
    }

    fn select(&mut self, pane: PaneId, index: usize) {
        self.chrome.focus = pane;
        match pane {
            PaneId::Ring => self.select_slot(index),
            PaneId::Findings => {
                let f = self
                    .main
                    .session
                    .state()
                    .findings
                    .0
                    .get(index)
                    .and_then(|f| f.step());
                if let Some(step) = f {
                    self.move_to(step);
                }
            }
            PaneId::Timeline => {
                let s = self.main.session.op_start(index);
                self.move_to(s);
            }
            PaneId::Memory => self.memory_cursor = Some(index as u64),
            PaneId::Cache => self.cache_line = index,
            PaneId::Narration | PaneId::Transport => {}
        }
    }

    /// The frame to paint.
    pub fn frame(&mut self, options: FrameOptions) -> Frame {
        let cursor = self.main.cursor();
        let mark = self.chrome.mark_before(cursor);
        let marks = self.chrome.marks.clone();
        let ctx = ViewContext {
            previous: self.main.previous,
            mark,
            marks: &marks,
            selected: self.selected,
            cache_line: self.cache_line,
            memory_cursor: self.memory_cursor,
            say: &self.main.say,
            title: &self.main.title,
            chapter: self.main.chapter.as_deref(),
            options,
        };
        let main = view::build(&mut self.main.session, &ctx, &mut self.main.labels);
        self.shown_memory_cursor = main.memory.cursor;
        self.cache_lines = main.cache.lines.len();
        let compare = self.compare.as_mut().map(|(_, side)| {
            let ctx = ViewContext {
                previous: side.previous,
                mark: None,
                marks: &[],
                say: &side.say,
                title: &side.title,
                chapter: side.chapter.as_deref(),
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
            ui: self.ui_view(),
        }
    }

    fn ui_view(&self) -> crate::view::UiView {
        self.chrome.view()
    }
}

/// The command an Enter on a prompt means (scenario and trace share the prompts).
fn submitted(kind: PromptKind, text: &str) -> Result<Command, ParseError> {
    match kind {
        PromptKind::Goto => parse_palette(&format!("goto {text}")).map_err(|e| ParseError {
            column: e.column.saturating_sub(5).max(1),
            ..e
        }),
        PromptKind::Break => Condition::parse(text).map(Command::Break),
        PromptKind::Search => Ok(Command::Search(text.to_string())),
        PromptKind::Palette => parse_palette(text),
    }
}

/// What `ringside tui TARGET` opened.
pub enum Opened {
    /// A scenario or a saved session.
    Scenario(Box<Ui>),
    /// A QEMU trace.
    Trace(Box<TraceUi>),
}

/// Opens a scenario (embedded name, RON file or saved session). Traces are opened from bytes
/// by the face ([`TraceUi::new`] on a [`crate::trace::Capture`]): core reads no files.
pub fn open_target(target: &str) -> Result<Opened, UiError> {
    Ui::open(target).map(|ui| Opened::Scenario(Box::new(ui)))
}

fn load_saved(path: &str) -> Result<SavedSession, UiError> {
    let text = std::fs::read_to_string(path).map_err(|e| UiError::Io {
        path: path.to_string(),
        message: e.to_string(),
    })?;
    ron::from_str(&text).map_err(|e| UiError::Saved {
        path: path.to_string(),
        message: e.to_string(),
    })
}
