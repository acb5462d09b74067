//! Controllers: what turns [`Command`]s into a new state and hands out [`Screen`]s.
//!
//! Every controller a face can open (a scenario, a trace, and whatever comes next) implements
//! [`Controller`]; a face holds one through [`App`](super::app::App) and never asks which it is.
//! Stepping through something (a scenario's micro steps, a trace's events) works the same
//! everywhere, so it is written once, in [`Stepper`]: moving the cursor, marks, breakpoints,
//! continue, play, search, prompts and help. What differs lives in a [`Document`]: what a step
//! is, what a whole op is, how a breakpoint is evaluated, what a selection means, and the
//! screen.

mod breaks;
mod chrome;
pub mod scenario;
pub mod trace;
pub mod tutorial;

use crate::bench::SavedBench;
use crate::command::{Command, Condition, Dir, Item, KeyPress, PaneId, ParseError, PromptKind};
use crate::command::{next_hit, parse_palette};
use crate::face::link::{Link, Opened};
use crate::face::screen::{Screen, Size};
use crate::view::UiView;

use chrome::Chrome;

/// What a controller asks its face to do with the outside world: core reads and writes no
/// files, so saving, loading and opening another scenario go through the [`App`](super::app::App).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Write these bytes to this file.
    Save {
        /// File name.
        path: String,
        /// Contents.
        bytes: Vec<u8>,
    },
    /// Read a saved session from this file and open it.
    Load(String),
    /// Open this scenario (embedded name or file) beside the current one.
    Compare(String),
    /// Make a link to the view.
    CopyLink,
    /// Keep this state between runs under a name (the course progress): the terminal writes
    /// it to the user's config directory, the browser to its local storage.
    Keep {
        /// What it is.
        key: String,
        /// Its bytes.
        bytes: Vec<u8>,
    },
}

/// What a document says back to a command it handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Nothing to say.
    Done,
    /// Information for the status line.
    Info(String),
    /// An error for the status line.
    Error(String),
    /// Something only the face can do.
    Request(Request),
}

/// One thing a face can open and step.
pub trait Controller {
    /// Handles a key: prompt editing, the help overlay, or the keymap.
    fn key(&mut self, key: KeyPress) -> Option<Request>;
    /// Applies a command.
    fn apply(&mut self, cmd: Command) -> Option<Request>;
    /// Play: `elapsed_us` microseconds have passed since the last tick (the face keeps the
    /// clock; core has none). Moves as many positions as the speed says, so a slow paint does
    /// not slow the play down.
    fn tick(&mut self, elapsed_us: u64);
    /// The screen for a face of this size.
    fn screen(&mut self, size: Size) -> Screen;
    /// Steps per second while playing.
    fn playing(&self) -> Option<u32>;
    /// Whether the user asked to quit.
    fn should_quit(&self) -> bool;
    /// Whether the keys go to something open rather than to the keymap: a prompt or an
    /// answer being typed (where `q` is a letter) or the help overlay (where `q` closes it).
    /// A face that handles a bound key itself (the page, which cannot quit) asks this first.
    fn captures_keys(&self) -> bool;
    /// Shows a message on the status line.
    fn message(&mut self, error: bool, text: String);
    /// What a link to this view keeps.
    fn link(&self) -> Link;
    /// The last cursor position (the cursor runs from 0 to this).
    fn end(&self) -> u64;
    /// Opens a scenario beside the current one, when this controller can compare.
    fn compare(&mut self, name: &str, scenario: crate::scenario::Scenario) -> Result<(), String> {
        let _ = (name, scenario);
        Err("compare works on scenarios".into())
    }
    /// Takes the latest saved bench result, to show next to the model where the model's
    /// numbers are (the scenario screen's cache pane); a controller without them ignores it.
    fn saved_bench(&mut self, saved: &SavedBench) {
        let _ = saved;
    }
}

/// The stepper's own state that a saved session keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepperState {
    /// Marks.
    pub marks: Vec<u64>,
    /// Breakpoints in their canonical text.
    pub breakpoints: Vec<String>,
    /// Focused pane.
    pub focus: PaneId,
    /// Focused pane zoomed.
    pub zoom: bool,
}

impl StepperState {
    /// The link of a stepped view: what is open, the cursor and this state.
    pub fn link(&self, open: Opened, step: u64) -> Link {
        Link {
            step,
            marks: self.marks.clone(),
            focus: self.focus,
            zoom: self.zoom,
            ..Link::at_start(open)
        }
    }
}

/// What a [`Stepper`] steps through.
pub trait Document {
    /// What one cursor position is called in messages: "step" or "event".
    const UNIT: &'static str;
    /// What the whole thing is called: "run" or "trace".
    const WHOLE: &'static str;
    /// The last cursor position (the cursor runs from 0 to this).
    fn end(&self) -> u64;
    /// The cursor.
    fn cursor(&self) -> u64;
    /// Moves the cursor (clamped to the end), remembering where it was for change levels.
    fn seek(&mut self, to: u64);
    /// Shift+←/→: a whole op, or the selected queue's previous/next event.
    fn op(&mut self, dir: Dir) -> Reply;
    /// Where `g line N` goes, with a message, or why it cannot.
    fn line(&self, line: u64) -> Result<(u64, String), String>;
    /// Every position at which a breakpoint stops, ascending; or why the condition does not
    /// apply here.
    fn hits(&self, c: &Condition) -> Result<Vec<u64>, String>;
    /// Every position whose access, op or event matches a search term, ascending.
    fn search(&self, term: &str) -> Vec<u64>;
    /// Moves the selection of the focused pane; may move the cursor.
    fn move_selection(&mut self, focus: PaneId, by: i32, breakpoints: &[Condition]);
    /// Selects an item (a click); a [`Item::Step`] has already moved the cursor.
    fn select(&mut self, item: Item);
    /// Esc with nothing else to close: drop the selection's pin, if any.
    fn escape(&mut self) {}
    /// Commands only some documents know (compare, save, load); others get an error.
    fn other(&mut self, cmd: Command) -> Reply;
    /// The bytes of a saved session of this document with the stepper's state, when it can be
    /// saved.
    fn save(&self, state: &StepperState) -> Result<Vec<u8>, String> {
        let _ = state;
        Err(format!(
            "save and load work on scenarios, not a {}",
            Self::WHOLE
        ))
    }
    /// Opens a scenario beside this one, when the document can compare.
    fn compare(&mut self, name: &str, scenario: crate::scenario::Scenario) -> Result<(), String> {
        let _ = (name, scenario);
        Err("compare works on scenarios, not traces".into())
    }
    /// Takes the latest saved bench result ([`Controller::saved_bench`]).
    fn saved_bench(&mut self, saved: &SavedBench) {
        let _ = saved;
    }
    /// What a link to this document at its cursor keeps, with the stepper's state.
    fn link(&self, state: &StepperState) -> Link;
    /// The screen.
    fn screen(&mut self, size: Size, ui: UiView, marks: &[u64], mark: Option<u64>) -> Screen;
}

/// A document and the state every stepped view keeps around it.
pub struct Stepper<D> {
    doc: D,
    chrome: Chrome,
}

impl<D: Document> Stepper<D> {
    fn with(doc: D) -> Self {
        Stepper {
            doc,
            chrome: Chrome::new(PaneId::Ring),
        }
    }

    /// The document.
    pub fn document(&self) -> &D {
        &self.doc
    }

    /// The cursor.
    pub fn cursor(&self) -> u64 {
        self.doc.cursor()
    }

    /// Marks, breakpoints, focus and zoom, as a saved session keeps them.
    pub fn state(&self) -> StepperState {
        StepperState {
            marks: self.chrome.marks.clone(),
            breakpoints: self
                .chrome
                .breakpoints
                .iter()
                .map(ToString::to_string)
                .collect(),
            focus: self.chrome.focus,
            zoom: self.chrome.zoom,
        }
    }

    fn move_to(&mut self, to: u64) {
        self.doc.seek(to.min(self.doc.end()));
    }

    fn continue_to(&mut self, dir: Dir) {
        let cursor = self.doc.cursor();
        let hits: Vec<Vec<u64>> = self
            .chrome
            .breakpoints
            .iter()
            .map(|c| self.doc.hits(c).unwrap_or_default())
            .collect();
        if let Some(h) = self.chrome.continue_to(cursor, dir, &hits, D::UNIT) {
            self.move_to(h);
        }
    }

    fn add_break(&mut self, c: Condition) {
        match self.doc.hits(&c) {
            Ok(h) => {
                self.chrome.info(format!(
                    "breakpoint {}: {c} ({} hit(s) in this {})",
                    self.chrome.breakpoints.len() + 1,
                    h.len(),
                    D::WHOLE
                ));
                self.chrome.breakpoints.push(c);
            }
            Err(e) => self.chrome.error(e),
        }
    }

    fn search_next(&mut self, dir: Dir) {
        let Some(term) = self.chrome.search.clone() else {
            self.chrome.error("no search: press / to search".into());
            return;
        };
        let hits = self.doc.search(&term);
        if let Some(h) = self
            .chrome
            .search_to(&hits, self.doc.cursor(), dir, D::UNIT)
        {
            self.move_to(h);
        }
    }

    fn run(&mut self, cmd: Command) -> Option<Request> {
        let cursor = self.doc.cursor();
        let cmd = self.chrome.apply(cmd, cursor, D::UNIT)?;
        match cmd {
            Command::Step(Dir::Forward) => self.move_to(cursor + 1),
            Command::Step(Dir::Back) => self.move_to(cursor.saturating_sub(1)),
            Command::Op(dir) => {
                let r = self.doc.op(dir);
                return self.reply(r);
            }
            Command::First => self.move_to(0),
            Command::Last => self.move_to(u64::MAX),
            Command::Goto(s) => {
                if s > self.doc.end() {
                    self.chrome.info(format!(
                        "{} {s} is past the end: the {} has {} {}s",
                        D::UNIT,
                        D::WHOLE,
                        self.doc.end(),
                        D::UNIT
                    ));
                }
                self.move_to(s);
            }
            Command::GotoLine(l) => match self.doc.line(l) {
                Ok((s, text)) => {
                    self.move_to(s);
                    self.chrome.info(text);
                }
                Err(e) => self.chrome.error(e),
            },
            Command::Continue(dir) => self.continue_to(dir),
            Command::Play => {
                self.chrome.playing = !self.chrome.playing;
                if self.chrome.playing && cursor >= self.doc.end() {
                    self.move_to(0);
                }
            }
            Command::NextMark => {
                if let Some(m) = self.chrome.next_mark(cursor) {
                    self.move_to(m);
                }
            }
            Command::Break(c) => self.add_break(c),
            Command::Move(d) => {
                let focus = self.chrome.focus;
                let bps = self.chrome.breakpoints.clone();
                self.doc.move_selection(focus, d, &bps);
            }
            Command::Select { pane, item } => {
                self.chrome.focus = pane;
                match item {
                    Item::Step(s) => self.move_to(s),
                    other => self.doc.select(other),
                }
            }
            Command::Search(text) => {
                self.chrome.search = Some(text);
                self.search_next(Dir::Forward);
            }
            Command::SearchNext(dir) => self.search_next(dir),
            Command::Save(path) => match self.doc.save(&self.state()) {
                Ok(bytes) => return Some(Request::Save { path, bytes }),
                Err(e) => self.chrome.error(e),
            },
            Command::Load(path) => return Some(Request::Load(path)),
            Command::CopyLink => return Some(Request::CopyLink),
            Command::Escape => {
                if !self.chrome.escape() {
                    self.doc.escape();
                }
            }
            other => {
                let r = self.doc.other(other);
                return self.reply(r);
            }
        }
        None
    }

    fn reply(&mut self, r: Reply) -> Option<Request> {
        match r {
            Reply::Done => {}
            Reply::Info(t) => self.chrome.info(t),
            Reply::Error(t) => self.chrome.error(t),
            Reply::Request(q) => return Some(q),
        }
        None
    }
}

impl<D: Document> Controller for Stepper<D> {
    fn key(&mut self, key: KeyPress) -> Option<Request> {
        let cmd = self.chrome.key(key)?;
        self.apply(cmd)
    }

    fn apply(&mut self, cmd: Command) -> Option<Request> {
        self.run(cmd)
    }

    fn tick(&mut self, elapsed_us: u64) {
        if !self.chrome.playing {
            return;
        }
        if self.doc.cursor() >= self.doc.end() {
            self.chrome.playing = false;
            self.chrome.info(format!("end of {}", D::WHOLE));
            return;
        }
        let steps = self.chrome.due(elapsed_us);
        if steps > 0 {
            self.move_to(self.doc.cursor() + steps);
        }
    }

    fn screen(&mut self, size: Size) -> Screen {
        let mark = self.chrome.mark_before(self.doc.cursor());
        let marks = self.chrome.marks.clone();
        let ui = self.chrome.view();
        self.doc.screen(size, ui, &marks, mark)
    }

    fn playing(&self) -> Option<u32> {
        self.chrome.playing()
    }

    fn should_quit(&self) -> bool {
        self.chrome.quit
    }

    fn captures_keys(&self) -> bool {
        self.chrome.captures_keys()
    }

    fn message(&mut self, error: bool, text: String) {
        self.chrome.say(error, text);
    }

    fn link(&self) -> Link {
        self.doc.link(&self.state())
    }

    fn end(&self) -> u64 {
        self.doc.end()
    }

    fn compare(&mut self, name: &str, scenario: crate::scenario::Scenario) -> Result<(), String> {
        self.doc.compare(name, scenario)
    }

    fn saved_bench(&mut self, saved: &SavedBench) {
        self.doc.saved_bench(saved);
    }
}

/// The command an Enter on a prompt means (every controller shares the prompts).
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

/// The step a relative move of `by` hits from `cursor` goes to.
fn hop(hits: &[u64], cursor: u64, by: i32) -> u64 {
    let dir = if by < 0 { Dir::Back } else { Dir::Forward };
    let mut c = cursor;
    for _ in 0..by.unsigned_abs() {
        c = next_hit(hits, c, dir).unwrap_or(c);
    }
    c
}
