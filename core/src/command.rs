//! Every user intent as data: the [`Command`] enum, the keymap that produces commands from
//! keys, the breakpoint condition language and the command palette's parser.
//!
//! Keys, the palette, saved sessions and tests all produce `Command`s, and the controllers of
//! [`crate::face::controller`] apply them. Both faces share all of it. Nothing here reads an
//! engine or a trace: conditions are data, evaluated by the controller of what is open.

mod breakpoint;
mod keymap;
mod palette;

use serde::{Deserialize, Serialize};

pub(crate) use breakpoint::next_hit;
pub use breakpoint::{
    Breakpoint, BufferRef, Cmp, Condition, Counter, FieldPattern, op_kind, parse_field,
};
pub use keymap::{Binding, Key, KeyPress, bindings, keymap_markdown, lookup};
pub use palette::{PALETTE, parse_palette};

/// Forwards or backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dir {
    /// Towards the end.
    Forward,
    /// Towards the start.
    Back,
}

/// The panes, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum PaneId {
    /// Descriptor table/ring with the avail and used rings or event areas.
    #[default]
    Ring,
    /// Hex memory.
    Memory,
    /// Narration of the current step.
    Narration,
    /// Findings.
    Findings,
    /// Timeline of both agents.
    Timeline,
    /// Features and status.
    Transport,
    /// Cache lines of the ring and the c2c drill-down.
    Cache,
    /// The course: the chapter list, a part's introduction, a checkpoint's question and its
    /// verdict. Not in the Tab order: it shows while the course is open.
    Lesson,
}

impl PaneId {
    /// All panes in Tab order.
    pub const ALL: [PaneId; 7] = [
        PaneId::Ring,
        PaneId::Cache,
        PaneId::Memory,
        PaneId::Narration,
        PaneId::Findings,
        PaneId::Timeline,
        PaneId::Transport,
    ];

    /// The pane's title.
    pub fn title(self) -> &'static str {
        match self {
            PaneId::Ring => "ring",
            PaneId::Memory => "memory",
            PaneId::Narration => "narration",
            PaneId::Findings => "findings",
            PaneId::Timeline => "timeline",
            PaneId::Transport => "features & status",
            PaneId::Cache => "cache lines",
            PaneId::Lesson => "course",
        }
    }

    /// The next (or previous) pane in Tab order.
    pub fn cycle(self, dir: Dir) -> PaneId {
        let n = Self::ALL.len();
        let i = Self::ALL.iter().position(|&p| p == self).unwrap_or(0);
        let j = match dir {
            Dir::Forward => (i + 1) % n,
            Dir::Back => (i + n - 1) % n,
        };
        Self::ALL[j]
    }
}

/// Something a click selects. Each pane's targets say which kind their rows are, so a click
/// means one thing whatever the pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Item {
    /// A descriptor slot of the ring.
    Slot(u16),
    /// A queue of a trace, by its row in the queue table.
    Queue(usize),
    /// A byte of guest memory (the hex pane's rows).
    Address(u64),
    /// A cache line of the ring, by its index among the ring's lines.
    Line(usize),
    /// A cursor position: a finding's step, a timeline op's first step, a trace event.
    Step(u64),
}

/// What a text prompt is asking for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PromptKind {
    /// A step number.
    Goto,
    /// A breakpoint condition.
    Break,
    /// A search term.
    Search,
    /// A palette command.
    Palette,
}

impl PromptKind {
    /// The prompt's leading text.
    pub fn label(self) -> &'static str {
        match self {
            PromptKind::Goto => "go to step (or `line N`): ",
            PromptKind::Break => "break on: ",
            PromptKind::Search => "/",
            PromptKind::Palette => ":",
        }
    }
}

/// One user intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// One micro step (one access).
    Step(Dir),
    /// One whole op.
    Op(Dir),
    /// To step 0.
    First,
    /// To the end.
    Last,
    /// To a micro step (in a trace: an event).
    Goto(u64),
    /// Trace: to the last event on or before a trace line.
    GotoLine(u64),
    /// Continue (or reverse-continue) to the next breakpoint hit.
    Continue(Dir),
    /// Play or pause.
    Play,
    /// Play faster.
    Faster,
    /// Play slower.
    Slower,
    /// Set a mark at the cursor (or remove the one there).
    Mark,
    /// Jump to the next mark.
    NextMark,
    /// Remove all marks.
    ClearMarks,
    /// Add a breakpoint.
    Break(Condition),
    /// Delete breakpoint `n` (1-based, as listed).
    DeleteBreak(usize),
    /// Delete every breakpoint.
    ClearBreaks,
    /// Focus the next or previous pane.
    Focus(Dir),
    /// Focus one pane.
    FocusPane(PaneId),
    /// Give the focused pane the whole screen, or stop.
    Zoom,
    /// Move the selection in the focused pane.
    Move(i32),
    /// Select an item of a pane (a click), focusing the pane.
    Select {
        /// Pane.
        pane: PaneId,
        /// Item.
        item: Item,
    },
    /// Search forwards for a field, op or outcome containing the text.
    Search(String),
    /// Next or previous search match.
    SearchNext(Dir),
    /// Open a text prompt.
    Prompt(PromptKind),
    /// Show or hide the help overlay.
    Help,
    /// Close the innermost popup, prompt or message.
    Escape,
    /// Compare with the same ops on the other layout (`None`), or another scenario; toggles.
    Compare(Option<String>),
    /// Save the session to a RON file.
    Save(String),
    /// Load a session from a RON file.
    Load(String),
    /// Make a link to this view (the browser app copies it; every face shows it).
    CopyLink,
    /// Open what is selected (a chapter of the course list).
    Activate,
    /// The course: the next or previous part (at a chapter's end, the next chapter).
    Part(Dir),
    /// The course: back to the chapter list.
    Course,
    /// Joined trace: choose a buffer (its path is drawn across the lanes) and go to its next
    /// stage after the cursor (or its first).
    FindBuffer(BufferRef),
    /// Quit.
    Quit,
}

/// A command could not be parsed. Columns are 1-based characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}; {hint}")]
pub struct ParseError {
    /// Where it went wrong.
    pub column: usize,
    /// What went wrong.
    pub message: String,
    /// What would be accepted.
    pub hint: String,
}

impl ParseError {
    fn new(column: usize, message: impl Into<String>, hint: impl Into<String>) -> Self {
        ParseError {
            column,
            message: message.into(),
            hint: hint.into(),
        }
    }
}
