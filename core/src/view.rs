//! The `Frame`: everything a UI paints, as plain data.
//!
//! A frame is built from a [`Session`] at its cursor "without consulting any of its neighbours"
//! (Python Tutor's rule): every cell is already formatted and carries semantic roles (who owns
//! it, whether it changed since the previous step or since the last mark), so the terminal UI
//! and the browser app paint the same thing and compute nothing of their own.
//!
//! Ownership is derived from the engine's private state at the cursor, the way the real code
//! would answer "may I touch this slot?": a split descriptor belongs to the device from the
//! store of `avail.idx` that publishes its chain until the store of `used.idx` that returns it;
//! a packed slot belongs to whoever's region of the ring it lies in, between the four
//! positions both sides keep (driver: next avail, next used; device: next avail, next used).
//!
//! This file holds the data types; [`build`] assembles them from the submodules: `ring` (the
//! ring pane), `ownership` (who may write what), `panes` (features, memory, narration,
//! findings, timeline, cache lines), `changes` (change levels and the bytes read per frame)
//! and `format` (number formatting). [`trace`] is the trace screen's sibling.

mod build;
mod changes;
mod format;
mod ownership;
mod panes;
mod ring;
pub mod trace;

pub(crate) use build::mark_delta;
pub use build::{LineLabels, build};
pub use panes::{TIMELINE_LEGEND, describe};
pub(crate) use panes::{desc_addr, next_field};
pub use ring::{ALL_ROWS, ROW_WINDOW, centred_window};

use build::*;
use changes::*;
use format::*;
use ownership::*;
use panes::*;
use ring::*;

use serde::{Deserialize, Serialize};

use crate::cache::{AgentCounts, MODEL_NOTE, Mesi};
use crate::engine::{Engine, Ring};
use crate::features::Features;
use crate::finding::{FindingSource, Severity};
use crate::layout::{
    DESC_SIZE, PackedLayout, PackedPos, RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE, RingIdx,
    RingLayout, SplitLayout, VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT,
    VIRTQ_DESC_F_WRITE, VIRTQ_USED_F_NO_NOTIFY, WrapCounter, vring_need_event,
};
use crate::memory::{Access, AccessKind, Agent, Field, Ordering, Space};
use crate::op::Op;
use crate::ring::packed::{PackedDevice, PackedDriver, bits_code};
use crate::ring::split::{SplitDevice, SplitDriver};
use crate::session::Session;

/// Who may write a slot, a field or a cache line right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Owner {
    /// The driver.
    Driver,
    /// The device.
    Device,
    /// Both sides hold it (a cache line in both caches).
    Shared,
    /// Nobody: a free descriptor, a stale ring entry, an invalid cache line.
    Free,
}

/// How recently a value changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Change {
    /// Not since the last mark.
    #[default]
    None,
    /// Since the last mark, not at the previous step.
    Weak,
    /// Since the previous cursor position.
    Strong,
}

/// One formatted value and how recently it changed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Cell {
    /// The text to show.
    pub text: String,
    /// Change level.
    pub change: Change,
}

impl Cell {
    fn new(text: String, change: Change) -> Self {
        Cell { text, change }
    }
}

/// Options a UI passes to fit the frame to its space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameOptions {
    /// Hex rows in the memory pane.
    pub memory_rows: usize,
    /// Ops shown in the timeline.
    pub timeline_ops: usize,
}

impl Default for FrameOptions {
    fn default() -> Self {
        FrameOptions {
            memory_rows: 8,
            timeline_ops: 64,
        }
    }
}

/// What the view of one session depends on besides the session itself.
#[derive(Debug, Clone, Copy)]
pub struct ViewContext<'a> {
    /// The cursor before the last movement: changes since then are strong.
    pub previous: u64,
    /// The reference mark: changes since then are weak.
    pub mark: Option<u64>,
    /// All marks.
    pub marks: &'a [u64],
    /// Selected ring slot; `None` follows the slot the cursor's access touches.
    pub selected: Option<u16>,
    /// Selected cache line (index into the ring's lines); `None` follows the line the cursor's
    /// access touched.
    pub cache_line: Option<usize>,
    /// Memory cursor; `None` follows the access at the cursor.
    pub memory_cursor: Option<u64>,
    /// Narration per flattened op.
    pub say: &'a [Option<String>],
    /// The scenario title.
    pub title: &'a str,
    /// The tutorial chapter.
    pub chapter: Option<&'a str>,
    /// The scenario's cache topology (its L1 and the other rings resident in it).
    pub cache: &'a crate::scenario::CacheSpec,
    /// Sizes.
    pub options: FrameOptions,
}

/// Everything about one session at its cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    /// Title bar.
    pub header: Header,
    /// Descriptor table or ring, avail/used rings or event areas.
    pub ring: RingPane,
    /// Features and status.
    pub transport: TransportPane,
    /// Hex rows.
    pub memory: MemoryPane,
    /// The ring's cache lines.
    pub cache: CachePane,
    /// What is happening.
    pub narration: Narration,
    /// Findings up to the cursor.
    pub findings: Vec<FindingRow>,
    /// Both agents' ops around the cursor.
    pub timeline: Timeline,
    /// The latest notifications up to the cursor, oldest first.
    pub notifications: Vec<NotifyRow>,
}

/// One notification sent: a kick (the driver notifies the device) or an interrupt (the device
/// notifies the driver).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyRow {
    /// The micro step of the register write.
    pub step: u64,
    /// Who sent it.
    pub from: Agent,
    /// `kick` or `interrupt`, with the value written.
    pub text: String,
    /// Sent during the op at the cursor.
    pub now: bool,
}

/// The title bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Scenario title.
    pub title: String,
    /// Tutorial chapter.
    pub chapter: Option<String>,
    /// "split", "packed" or "no queue yet".
    pub kind: String,
    /// Queue size (configured).
    pub size: u32,
    /// Micro step at the cursor.
    pub step: u64,
    /// Total micro steps.
    pub steps: u64,
    /// Op at the cursor (0-based).
    pub op: usize,
    /// Number of ops.
    pub ops: usize,
    /// Steps between the two latest marks, if two are set.
    pub mark_delta: Option<u64>,
}

/// One descriptor (split table entry or packed ring slot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescRow {
    /// Slot.
    pub slot: u16,
    /// `addr`.
    pub addr: Cell,
    /// `len`.
    pub len: Cell,
    /// `flags`, in hex and decoded (N/W/I; packed: AVAIL/USED as `10` etc.).
    pub flags: Cell,
    /// Split: `next`; packed: buffer `id`.
    pub link: Cell,
    /// Who may write it.
    pub owner: Owner,
    /// Positions both sides keep that point here (e.g. "drv.avail w1").
    pub notes: Vec<String>,
    /// The selected slot.
    pub selected: bool,
    /// Split: the descriptor `next` names when NEXT is set (the chain's next link).
    pub next: Option<u16>,
    /// INDIRECT is set: the buffer points at a table of descriptors.
    pub indirect: bool,
}

/// One entry of an available or used ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotRow {
    /// Slot.
    pub slot: u16,
    /// The entry: a head (avail) or "id len" (used).
    pub entry: Cell,
    /// Who may write it.
    pub owner: Owner,
    /// Indices pointing here.
    pub notes: Vec<String>,
}

/// The notification decision one side makes, with its numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventWindow {
    /// Whether EVENT_IDX is negotiated (else the flags decide).
    pub event_idx: bool,
    /// The event index the other side wrote (`used_event` or `avail_event`).
    pub event: u16,
    /// Index at the last decision, if any (`old`).
    pub old: Option<u16>,
    /// Index published now (`new`).
    pub new: u16,
    /// Whether a notification is due now.
    pub fires: bool,
    /// The decision worked out in words.
    pub text: String,
}

/// One side (avail or used) of a split ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingSide {
    /// `flags`.
    pub flags: Cell,
    /// `idx`.
    pub idx: Cell,
    /// `used_event` (in the avail ring) or `avail_event` (in the used ring).
    pub event: Cell,
    /// The ring entries: all, or a window as for the descriptors.
    pub rows: Vec<SlotRow>,
}

/// The part of a ring a position points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Strip {
    /// The descriptor table (split) or the descriptor ring (packed).
    Descriptors,
    /// The split available ring.
    Avail,
    /// The split used ring.
    Used,
}

/// A position one side keeps in its private state, where the drawings mark it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Which part of the ring.
    pub strip: Strip,
    /// The slot it points at.
    pub slot: u16,
    /// Whose it is.
    pub agent: Agent,
    /// What it is, in the code's words: `next avail`, `last_avail_idx`, `used_idx`.
    pub name: String,
    /// Packed: the wrap counter that goes with it.
    pub wrap: Option<WrapCounter>,
}

/// A split ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitPane {
    /// Queue size: slots in the table and in each ring.
    pub size: u16,
    /// Descriptor table: every slot, or for a ring bigger than [`ALL_ROWS`] a window of
    /// [`ROW_WINDOW`] slots around the focus (each row knows its slot).
    pub descs: Vec<DescRow>,
    /// Available ring.
    pub avail: RingSide,
    /// Used ring.
    pub used: RingSide,
    /// The driver's kick decision (window over avail.idx, event `avail_event`).
    pub kick: EventWindow,
    /// The device's interrupt decision (window over used.idx, event `used_event`).
    pub interrupt: EventWindow,
    /// Both sides' positions.
    pub positions: Vec<Position>,
}

/// A packed event suppression area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventArea {
    /// `off_wrap`, decoded as slot/wrap.
    pub off_wrap: Cell,
    /// `flags`, decoded.
    pub flags: Cell,
}

/// A packed ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedPane {
    /// Queue size.
    pub size: u16,
    /// Descriptor ring: all slots, or a window as for a split table.
    pub descs: Vec<DescRow>,
    /// Driver: next avail and next used, with wrap counters.
    pub driver: String,
    /// Device: next avail and next used, with wrap counters.
    pub device: String,
    /// Driver event suppression (written by the driver: interrupts).
    pub driver_event: EventArea,
    /// Device event suppression (written by the device: kicks).
    pub device_event: EventArea,
    /// The buffer IDs the driver has out, in the order it made them available.
    pub ids: Vec<IdRow>,
    /// Both sides' positions, with their wrap counters.
    pub positions: Vec<Position>,
}

/// Where an outstanding packed buffer is. A slot's owner says who may write that slot next;
/// a buffer ID's place says where the buffer is, and the two differ once buffers are used out
/// of order (the device writes ID 8's used descriptor into slot 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IdPlace {
    /// Written by the driver, its head's flags not stored yet.
    Unpublished,
    /// Available: the device has not read it yet.
    Available,
    /// Read by the device, not used yet.
    Device,
    /// Used by the device, not reclaimed by the driver yet.
    Used,
}

/// One outstanding buffer ID of a packed ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRow {
    /// The buffer ID.
    pub id: u16,
    /// The slot its list started in.
    pub slot: u16,
    /// Where the buffer is.
    pub place: IdPlace,
}

/// The ring pane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RingPane {
    /// Before DRIVER_OK there is no queue.
    NotSetUp,
    /// Split.
    Split(SplitPane),
    /// Packed.
    Packed(PackedPane),
}

impl RingPane {
    /// The descriptors shown, split or packed.
    pub fn descs(&self) -> &[DescRow] {
        match self {
            RingPane::NotSetUp => &[],
            RingPane::Split(s) => &s.descs,
            RingPane::Packed(p) => &p.descs,
        }
    }

    /// The slot a ring too big to show whole is centred on: the selected one, else the one the
    /// cursor's access changed, else the first one a position points at.
    pub fn focus_slot(&self) -> u16 {
        let d = self.descs();
        d.iter()
            .find(|r| r.selected)
            .or_else(|| d.iter().find(|r| r.changed() == Change::Strong))
            .or_else(|| d.iter().find(|r| !r.notes.is_empty()))
            .map_or(0, |r| r.slot)
    }
}

impl DescRow {
    /// The strongest change among its fields.
    pub fn changed(&self) -> Change {
        [&self.addr, &self.len, &self.flags, &self.link]
            .iter()
            .map(|c| c.change)
            .max_by_key(|c| match c {
                Change::None => 0,
                Change::Weak => 1,
                Change::Strong => 2,
            })
            .unwrap_or_default()
    }
}

/// One feature bit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureRow {
    /// Name.
    pub name: String,
    /// The device offers it.
    pub offered: bool,
    /// The driver accepted (wrote) it.
    pub accepted: bool,
    /// It is negotiated.
    pub negotiated: bool,
}

/// Features and device status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransportPane {
    /// Every bit either side knows.
    pub features: Vec<FeatureRow>,
    /// The status byte.
    pub status: Cell,
    /// Status values written so far, in order.
    pub walk: Vec<u8>,
    /// Legacy (0.9) interface in use.
    pub legacy: bool,
}

/// One byte of the hex view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HexByte {
    /// Value.
    pub value: u8,
    /// Change level.
    pub change: Change,
    /// Part of the field under the memory cursor.
    pub cursor: bool,
}

/// Sixteen bytes of memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HexRow {
    /// Address of the first byte.
    pub addr: u64,
    /// The bytes.
    pub bytes: Vec<HexByte>,
    /// The fields that start in this row.
    pub label: String,
}

/// The memory pane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryPane {
    /// Address under the cursor.
    pub cursor: u64,
    /// The field under the cursor and its value.
    pub label: String,
    /// The rows.
    pub rows: Vec<HexRow>,
}

/// A cache line of the ring (model results).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheLineRow {
    /// Line address.
    pub addr: u64,
    /// Who holds it: one side (Modified/Exclusive), both (Shared), or nobody yet.
    pub owner: Owner,
    /// MESI state on the driver's and the device's side.
    pub states: String,
    /// Transfers so far.
    pub transfers: u64,
    /// The fields the line holds.
    pub label: String,
    /// Touched since the previous step (strong) or the mark (weak).
    pub change: Change,
    /// The line selected for the drill-down.
    pub selected: bool,
}

/// One field of the selected line: the c2c drill-down (model results).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheFieldRow {
    /// Offset in the line.
    pub offset: u32,
    /// Field name.
    pub field: String,
    /// Driver loads/stores (transfers).
    pub driver: String,
    /// Device loads/stores (transfers).
    pub device: String,
    /// Transfers its accesses caused.
    pub transfers: u64,
}

/// The cache pane: the ring's lines, one line's fields, the totals and the set/way picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachePane {
    /// Totals in words.
    pub summary: String,
    /// How the ring and the scenario's other resident rings sit in its L1, set by set.
    pub l1: Option<crate::scenario::L1Picture>,
    /// The ring's lines, in address order.
    pub lines: Vec<CacheLineRow>,
    /// The line drilled into: the selected one, else the one the cursor's access touched.
    pub shown: usize,
    /// Fields of the line drilled into.
    pub fields: Vec<CacheFieldRow>,
    /// The model's caveat.
    pub note: String,
}

/// What is happening at the cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Narration {
    /// The op at the cursor: "op 3/9 driver publish".
    pub op: String,
    /// Its agent.
    pub agent: Option<Agent>,
    /// What the scenario says about it.
    pub say: Option<String>,
    /// What the op does in all (the engine's summary).
    pub outcome: String,
    /// The access just performed.
    pub last: Option<String>,
    /// The access the next step performs.
    pub next: Option<String>,
}

/// A finding up to the cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRow {
    /// Step.
    pub step: u64,
    /// Severity.
    pub severity: Severity,
    /// `code: message`.
    pub text: String,
    /// Found at the cursor (strong) or since the mark (weak).
    pub change: Change,
    /// Detected by a side, or ringside's ground truth (shown apart: no real peer sees it).
    #[serde(default)]
    pub source: FindingSource,
}

/// One op on the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineOp {
    /// Op index.
    pub index: usize,
    /// First micro step.
    pub start: u64,
    /// Who performs it.
    pub agent: Agent,
    /// One character for its kind.
    pub glyph: char,
    /// The op under the cursor.
    pub current: bool,
    /// It sent a kick or an interrupt.
    pub notified: bool,
    /// A mark lies inside it.
    pub marked: bool,
    /// It raised a finding.
    pub finding: bool,
}

/// Both agents' ops around the cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// The ops shown.
    pub ops: Vec<TimelineOp>,
    /// Total ops.
    pub total: usize,
}

/// A whole screen: the session, the compared session if any, and the UI's own state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// The session being stepped.
    pub main: SessionView,
    /// The session stepped alongside it, with its label.
    pub compare: Option<(String, SessionView)>,
    /// Focus, prompt, help, messages, breakpoints and hints.
    pub ui: UiView,
    /// The latest saved bench result next to the model, for the main session's configuration
    /// (measured, model and note rows).
    pub bench: Vec<crate::bench::BenchRow>,
    /// The same for the compared session's configuration (empty without one).
    pub compare_bench: Vec<crate::bench::BenchRow>,
}

/// A text prompt being typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptView {
    /// Leading text (`:`, `/`, `break on: `).
    pub label: String,
    /// What was typed.
    pub text: String,
    /// Why the last Enter was refused (with the column).
    pub error: Option<String>,
}

/// A one-line message for the status bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// An error (drawn as one) rather than information.
    pub error: bool,
    /// The text.
    pub text: String,
}

/// One line of the help overlay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpRow {
    /// Section.
    pub section: String,
    /// Keys.
    pub keys: String,
    /// What they do.
    pub desc: String,
}

/// The UI's own state, as the painter needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UiView {
    /// Focused pane.
    pub focus: crate::command::PaneId,
    /// The focused pane has the whole screen.
    pub zoom: bool,
    /// Playing, at this many steps per second.
    pub playing: Option<u32>,
    /// Play speed in steps per second.
    pub speed: u32,
    /// A prompt being typed.
    pub prompt: Option<PromptView>,
    /// The last message.
    pub message: Option<Message>,
    /// The help overlay, scrolled by this many rows, when open.
    pub help: Option<(usize, Vec<HelpRow>)>,
    /// Breakpoints, numbered from 1 in this order.
    pub breakpoints: Vec<String>,
    /// Marks.
    pub marks: Vec<u64>,
    /// Hint bar: key and label.
    pub hints: Vec<(String, String)>,
    /// Current search term.
    pub search: Option<String>,
}
