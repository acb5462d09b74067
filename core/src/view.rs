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

pub mod trace;

use serde::{Deserialize, Serialize};

use crate::cache::geometry::CacheGeometry;
use crate::cache::{AgentCounts, MODEL_NOTE, Mesi};
use crate::engine::{Engine, Ring};
use crate::features::{Features, Status};
use crate::finding::Severity;
use crate::layout::{
    DESC_SIZE, PackedLayout, PackedPos, RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE, RingIdx,
    RingLayout, SplitLayout, VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT,
    VIRTQ_DESC_F_WRITE, VIRTQ_USED_F_NO_NOTIFY, vring_need_event,
};
use crate::memory::{Access, AccessKind, Agent, Field, Ordering, Space};
use crate::op::Op;
use crate::packed::{PackedDevice, PackedDriver, bits_code};
use crate::session::Session;
use crate::split::{SplitDevice, SplitDriver};

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
    /// Selected ring slot.
    pub selected: u16,
    /// Selected cache line (index into the ring's lines).
    pub cache_line: usize,
    /// Memory cursor; `None` follows the access at the cursor.
    pub memory_cursor: Option<u64>,
    /// Narration per flattened op.
    pub say: &'a [Option<String>],
    /// The scenario title.
    pub title: &'a str,
    /// The tutorial chapter.
    pub chapter: Option<&'a str>,
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
    /// The ring entries.
    pub rows: Vec<SlotRow>,
}

/// A split ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitPane {
    /// Descriptor table.
    pub descs: Vec<DescRow>,
    /// Available ring.
    pub avail: RingSide,
    /// Used ring.
    pub used: RingSide,
    /// The driver's kick decision (window over avail.idx, event `avail_event`).
    pub kick: EventWindow,
    /// The device's interrupt decision (window over used.idx, event `used_event`).
    pub interrupt: EventWindow,
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
    /// The descriptor ring.
    pub descs: Vec<DescRow>,
    /// Driver: next avail and next used, with wrap counters.
    pub driver: String,
    /// Device: next avail and next used, with wrap counters.
    pub device: String,
    /// Driver event suppression (written by the driver: interrupts).
    pub driver_event: EventArea,
    /// Device event suppression (written by the device: kicks).
    pub device_event: EventArea,
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
    /// Status values written so far, in order, with their names.
    pub walk: Vec<String>,
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
    /// How the ring sits in the talk's 32 KB 8-way L1.
    pub sets: String,
    /// The ring's lines, in address order.
    pub lines: Vec<CacheLineRow>,
    /// Fields of the selected line.
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

/// Sorted, merged address ranges `[start, end)` stored to in a step range.
#[derive(Debug, Default)]
struct Stores {
    ranges: Vec<(u64, u64)>,
    fields: Vec<Field>,
}

impl Stores {
    fn between(log: &[Access], a: u64, b: u64) -> Self {
        let (lo, hi) = (a.min(b) as usize, a.max(b) as usize);
        let slice = log.get(lo..hi.min(log.len())).unwrap_or(&[]);
        let mut ranges = Vec::new();
        let mut fields = Vec::new();
        for x in slice.iter().filter(|x| x.kind == AccessKind::Store) {
            match x.space {
                Space::Guest => ranges.push((x.addr, x.addr + u64::from(x.size.max(1)))),
                Space::Transport => fields.push(x.field),
            }
        }
        // Merging needs the starts in order only; comparing one key is cheaper than the pair.
        ranges.sort_unstable_by_key(|r| r.0);
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
        for (s, e) in ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        Stores {
            ranges: merged,
            fields,
        }
    }

    fn hits(&self, addr: u64, len: u64) -> bool {
        let i = self.ranges.partition_point(|r| r.1 <= addr);
        self.ranges.get(i).is_some_and(|r| r.0 < addr + len)
    }
}

/// Change levels for a session position.
struct Changes {
    strong: Stores,
    weak: Stores,
}

impl Changes {
    fn at(&self, addr: u64, len: u64) -> Change {
        if self.strong.hits(addr, len) {
            Change::Strong
        } else if self.weak.hits(addr, len) {
            Change::Weak
        } else {
            Change::None
        }
    }

    fn field(&self, f: Field) -> Change {
        if self.strong.fields.contains(&f) {
            Change::Strong
        } else if self.weak.fields.contains(&f) {
            Change::Weak
        } else {
            Change::None
        }
    }

    fn step(&self, step: u64, cursor: u64, ctx: &ViewContext<'_>) -> Change {
        let within = |a: u64, b: u64| a.min(b) <= step && step <= a.max(b);
        if step == cursor || (ctx.previous != cursor && within(ctx.previous, cursor)) {
            Change::Strong
        } else if ctx.mark.is_some_and(|m| within(m, cursor)) {
            Change::Weak
        } else {
            Change::None
        }
    }
}

/// The bytes of the ring areas at the cursor, read once per frame.
struct Bytes {
    base: u64,
    data: Vec<u8>,
}

impl Bytes {
    fn read(session: &mut Session, base: u64, len: u64) -> Self {
        let mut data = vec![0u8; len as usize];
        session.peek(base, &mut data);
        Bytes { base, data }
    }

    fn le(&self, addr: u64, size: usize) -> u64 {
        let off = addr.wrapping_sub(self.base) as usize;
        let mut b = [0u8; 8];
        if let Some(s) = self.data.get(off..off + size) {
            b[..size].copy_from_slice(s);
        }
        u64::from_le_bytes(b)
    }
    fn u16(&self, addr: u64) -> u16 {
        self.le(addr, 2) as u16
    }
    fn u32(&self, addr: u64) -> u32 {
        self.le(addr, 4) as u32
    }
}

/// Builds the view of a session at its cursor.
/// Field labels of a ring's cache lines. They depend only on the layout and the line size, so
/// a UI keeps one of these per session and the labels are worked out once, not every frame.
#[derive(Debug, Default, Clone)]
pub struct LineLabels {
    key: Option<(RingLayout, u64)>,
    labels: Vec<String>,
}

impl LineLabels {
    /// The label of every line of the ring, in address order.
    fn of(&mut self, layout: &RingLayout, size: u64) -> &[String] {
        if self.key != Some((*layout, size)) {
            let (start, len) = span(layout);
            let first = start / size * size;
            self.labels = (first..start + len)
                .step_by(size as usize)
                .map(|addr| row_label(layout, addr, size))
                .collect();
            self.key = Some((*layout, size));
        }
        &self.labels
    }
}

/// Builds the view of a session at its cursor. `labels` carries the cache-line labels from one
/// frame to the next.
pub fn build(session: &mut Session, ctx: &ViewContext<'_>, labels: &mut LineLabels) -> SessionView {
    let cursor = session.position().step;
    let changes = Changes {
        strong: Stores::between(session.log(), ctx.previous, cursor),
        weak: ctx
            .mark
            .map(|m| Stores::between(session.log(), m, cursor))
            .unwrap_or_default(),
    };
    let layout = session.state().ring.as_ref().map(Ring::layout);
    let (ring, memory) = match layout {
        Some(layout) => {
            let (start, len) = span(&layout);
            let bytes = Bytes::read(session, start, len);
            let ring = ring_pane(session.state(), &bytes, &changes, ctx);
            let memory = memory_pane(session, Some(layout), &changes, ctx);
            (ring, memory)
        }
        None => (
            RingPane::NotSetUp,
            memory_pane(session, None, &changes, ctx),
        ),
    };
    let cache = cache_pane(session, layout.as_ref(), &changes, ctx, labels);
    SessionView {
        header: header(session, ctx),
        ring,
        transport: transport_pane(session.state(), &changes),
        memory,
        cache,
        narration: narration(session, ctx),
        findings: findings(session, &changes, ctx),
        timeline: timeline(session, ctx),
    }
}

fn span(layout: &RingLayout) -> (u64, u64) {
    let areas = layout.areas();
    let start = areas.iter().map(|a| a.1).min().unwrap_or(0);
    let end = areas.iter().map(|a| a.1 + a.2).max().unwrap_or(0);
    (start, end - start)
}

/// Steps between the two latest marks.
fn mark_delta(marks: &[u64]) -> Option<u64> {
    match marks {
        [.., a, b] => Some(a.abs_diff(*b)),
        _ => None,
    }
}

fn header(session: &Session, ctx: &ViewContext<'_>) -> Header {
    let p = session.position();
    let e = session.state();
    let kind = match &e.ring {
        Some(r) => r.layout().kind().to_string(),
        None => "no queue yet".into(),
    };
    let mark_delta = mark_delta(ctx.marks);
    Header {
        title: ctx.title.to_string(),
        chapter: ctx.chapter.map(str::to_string),
        kind,
        size: e.config.queue.size,
        step: p.step,
        steps: session.len(),
        op: p.op,
        ops: session.ops().len(),
        mark_delta,
    }
}

fn ring_pane(e: &Engine, b: &Bytes, ch: &Changes, ctx: &ViewContext<'_>) -> RingPane {
    match &e.ring {
        None => RingPane::NotSetUp,
        Some(Ring::Split {
            layout,
            driver,
            device,
        }) => RingPane::Split(split_pane(e, layout, driver, device, b, ch, ctx)),
        Some(Ring::Packed {
            layout,
            driver,
            device,
        }) => RingPane::Packed(packed_pane(layout, driver, device, b, ch, ctx)),
    }
}

/// Appends `v` in decimal, right-aligned in `width` columns. The frame formats a few thousand
/// numbers per paint; this skips `format!`'s machinery (docs/PERFORMANCE.md, TUI paint).
fn push_dec(out: &mut String, v: u64, width: usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let digits = buf.len() - i;
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(digits)));
    out.extend(buf[i..].iter().map(|&d| char::from(d)));
}

/// `v` in decimal.
fn dec(v: u64) -> String {
    let mut s = String::with_capacity(20);
    push_dec(&mut s, v, 0);
    s
}

/// Appends `0x` and `v` in hex, zero-padded to at least `digits` digits (as `{v:#0w$x}`).
fn push_hex(out: &mut String, v: u64, digits: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n = ((64 - v.leading_zeros() as usize).div_ceil(4))
        .max(digits)
        .max(1);
    out.push_str("0x");
    out.extend((0..n).rev().map(|k| {
        let nibble = if k < 16 { (v >> (4 * k)) & 15 } else { 0 };
        char::from(HEX[nibble as usize])
    }));
}

fn push_flag_letters(out: &mut String, flags: u16) {
    for (bit, c) in [
        (VIRTQ_DESC_F_NEXT, 'N'),
        (VIRTQ_DESC_F_WRITE, 'W'),
        (VIRTQ_DESC_F_INDIRECT, 'I'),
    ] {
        out.push(if flags & bit != 0 { c } else { '·' });
    }
}

fn desc_row(
    base: u64,
    slot: u16,
    b: &Bytes,
    ch: &Changes,
    packed: bool,
    owner: Owner,
    selected: bool,
) -> DescRow {
    let a = base + DESC_SIZE * u64::from(slot);
    let (link_at, flags_at) = if packed {
        (a + 12, a + 14)
    } else {
        (a + 14, a + 12)
    };
    let flags = b.u16(flags_at);
    let mut flags_text = String::with_capacity(16);
    push_hex(&mut flags_text, u64::from(flags), 4);
    flags_text.push(' ');
    push_flag_letters(&mut flags_text, flags);
    if packed {
        flags_text.push(' ');
        flags_text.push_str(bits_code(flags));
    }
    let mut addr = String::with_capacity(18);
    push_hex(&mut addr, b.le(a, 8), 0);
    DescRow {
        slot,
        addr: Cell::new(addr, ch.at(a, 8)),
        len: Cell::new(dec(u64::from(b.u32(a + 8))), ch.at(a + 8, 4)),
        flags: Cell::new(flags_text, ch.at(flags_at, 2)),
        link: Cell::new(dec(u64::from(b.u16(link_at))), ch.at(link_at, 2)),
        owner,
        notes: Vec::new(),
        selected,
    }
}

/// Who owns each descriptor of a split table.
fn split_desc_owners(
    l: &SplitLayout,
    driver: &SplitDriver,
    device: &SplitDevice,
    b: &Bytes,
) -> Vec<Owner> {
    let q = l.size;
    let mut owners = vec![Owner::Driver; usize::from(q)];
    for &d in &driver.free {
        if let Some(o) = owners.get_mut(usize::from(d)) {
            *o = Owner::Free;
        }
    }
    // Heads the device has returned (published used entries the driver has not reclaimed).
    let returned: Vec<u16> = (0..device.published.since(driver.last_used).min(q))
        .map(|k| b.u32(l.used_elem(driver.last_used.wrapping_add(k).slot(q))) as u16)
        .collect();
    let unpublished = usize::from(driver.avail_idx.since(driver.published));
    let n = driver.order.len();
    for (i, &head) in driver.order.iter().enumerate() {
        let owner = if i + unpublished >= n || returned.contains(&head) {
            Owner::Driver
        } else {
            Owner::Device
        };
        for &d in &driver.chain(head) {
            if let Some(x) = owners.get_mut(usize::from(d)) {
                *x = owner;
            }
        }
    }
    owners
}

/// Owner of ring entry `slot` when entries `[from, from + device)` belong to the device and the
/// next `driver` entries to the driver.
fn window_owner(
    slot: u16,
    from: RingIdx,
    q: u16,
    first: (u16, Owner),
    then: (u16, Owner),
) -> Owner {
    let k = (u32::from(slot) + u32::from(q) - u32::from(from.slot(q))) % u32::from(q);
    let a = u32::from(first.0.min(q));
    if k < a {
        first.1
    } else if k < a + u32::from(then.0) {
        then.1
    } else {
        Owner::Free
    }
}

fn split_pane(
    e: &Engine,
    l: &SplitLayout,
    driver: &SplitDriver,
    device: &SplitDevice,
    b: &Bytes,
    ch: &Changes,
    ctx: &ViewContext<'_>,
) -> SplitPane {
    let q = l.size;
    let owners = split_desc_owners(l, driver, device, b);
    let mut descs: Vec<DescRow> = (0..q)
        .map(|i| {
            let o = owners[usize::from(i)];
            desc_row(l.desc, i, b, ch, false, o, i == ctx.selected)
        })
        .collect();
    if let Some(&top) = driver.free.last()
        && let Some(r) = descs.get_mut(usize::from(top))
    {
        r.notes.push("next free".into());
    }
    let in_avail = driver.published.since(device.last_avail);
    let unpublished = driver.avail_idx.since(driver.published);
    let avail_rows = (0..q)
        .map(|i| {
            let a = l.avail_ring(i);
            let owner = window_owner(
                i,
                device.last_avail,
                q,
                (in_avail, Owner::Device),
                (unpublished, Owner::Driver),
            );
            let mut notes = Vec::new();
            if driver.avail_idx.slot(q) == i {
                notes.push("drv".into());
            }
            if device.last_avail.slot(q) == i {
                notes.push("dev".into());
            }
            SlotRow {
                slot: i,
                entry: Cell::new(dec(u64::from(b.u16(a))), ch.at(a, 2)),
                owner,
                notes,
            }
        })
        .collect();
    let returned = device.published.since(driver.last_used);
    let written = device.used_idx.since(device.published);
    let used_rows = (0..q)
        .map(|i| {
            let a = l.used_elem(i);
            let owner = window_owner(
                i,
                driver.last_used,
                q,
                (returned, Owner::Driver),
                (written, Owner::Device),
            );
            let mut notes = Vec::new();
            if device.used_idx.slot(q) == i {
                notes.push("dev".into());
            }
            if driver.last_used.slot(q) == i {
                notes.push("drv".into());
            }
            SlotRow {
                slot: i,
                entry: {
                    let mut e = String::with_capacity(12);
                    push_dec(&mut e, u64::from(b.u32(a)), 3);
                    e.push(' ');
                    push_dec(&mut e, u64::from(b.u32(a + 4)), 5);
                    Cell::new(e, ch.at(a, 8))
                },
                owner,
                notes,
            }
        })
        .collect();
    let cell16 = |a: u64| Cell::new(b.u16(a).to_string(), ch.at(a, 2));
    let event_idx = e.features().contains(Features::EVENT_IDX);
    let used_event = b.u16(l.used_event());
    let avail_event = b.u16(l.avail_event());
    let interrupt = {
        let (new, old) = (device.published.0, device.signalled.map(|s| s.0));
        let no_int = b.u16(l.avail_flags()) & VIRTQ_AVAIL_F_NO_INTERRUPT != 0;
        window(
            event_idx,
            ("used_event", used_event),
            (new, old),
            ("avail.flags NO_INTERRUPT", no_int),
            "interrupt",
        )
    };
    let kick = {
        let (new, old) = (driver.published.0, Some(driver.kicked_at.0));
        let no_notify = b.u16(l.used_flags()) & VIRTQ_USED_F_NO_NOTIFY != 0;
        window(
            event_idx,
            ("avail_event", avail_event),
            (new, old),
            ("used.flags NO_NOTIFY", no_notify),
            "kick",
        )
    };
    SplitPane {
        descs,
        avail: RingSide {
            flags: cell16(l.avail_flags()),
            idx: cell16(l.avail_idx()),
            event: cell16(l.used_event()),
            rows: avail_rows,
        },
        used: RingSide {
            flags: cell16(l.used_flags()),
            idx: cell16(l.used_idx()),
            event: cell16(l.avail_event()),
            rows: used_rows,
        },
        kick,
        interrupt,
    }
}

/// Works out a notification decision with real numbers, as `vring_need_event` does.
fn window(
    event_idx: bool,
    (name, event): (&str, u16),
    (new, old): (u16, Option<u16>),
    (flag, suppressed): (&str, bool),
    what: &str,
) -> EventWindow {
    let fires = if event_idx {
        old.is_none_or(|o| vring_need_event(event, new, o))
    } else {
        !suppressed
    };
    let verdict = if fires {
        what.to_string()
    } else {
        format!("no {what}")
    };
    let text = match (event_idx, old) {
        (true, Some(o)) => format!(
            "{name} {event} {} [{o}, {new}) → {verdict}",
            if vring_need_event(event, new, o) {
                "∈"
            } else {
                "∉"
            }
        ),
        (true, None) => format!("{name} {event}, no decision yet → {verdict}"),
        (false, _) => format!("{flag} {} → {verdict}", u8::from(suppressed)),
    };
    EventWindow {
        event_idx,
        event,
        old,
        new,
        fires,
        text,
    }
}

/// Slots from `a` to `b` going forward (a full lap when equal slots differ in wrap).
fn dist(a: PackedPos, b: PackedPos, q: u16) -> u32 {
    let q = u32::from(q);
    let d = (u32::from(b.slot) + q - u32::from(a.slot)) % q;
    if d == 0 && a.wrap != b.wrap { q } else { d }
}

fn packed_owners(q: u16, driver: &PackedDriver, device: &PackedDevice) -> Vec<Owner> {
    let start = driver.next_used;
    // Regions going forward from the driver's next used slot: used and returned (driver),
    // popped or written and unpublished (device), available (device; unpublished: driver),
    // then free.
    let returned = dist(start, device.published, q);
    let in_device = returned + dist(device.published, device.next_avail, q);
    let avail_end = in_device + dist(device.next_avail, driver.next_avail, q);
    let offset =
        |slot: u16| (u32::from(slot) + u32::from(q) - u32::from(start.slot)) % u32::from(q);
    let unpublished_from = driver
        .pending
        .iter()
        .map(|&(slot, _)| offset(slot))
        .filter(|&k| k >= in_device)
        .min()
        .unwrap_or(avail_end);
    (0..q)
        .map(|s| {
            let k = offset(s);
            if k < returned {
                Owner::Driver
            } else if k < in_device {
                Owner::Device
            } else if k < avail_end {
                if k >= unpublished_from {
                    Owner::Driver
                } else {
                    Owner::Device
                }
            } else {
                Owner::Free
            }
        })
        .collect()
}

fn event_area(b: &Bytes, base: u64, ch: &Changes) -> EventArea {
    let ow = b.u16(base);
    let flags = b.u16(base + 2);
    let name = match flags {
        RING_EVENT_FLAGS_DISABLE => "DISABLE",
        RING_EVENT_FLAGS_DESC => "DESC",
        0 => "ENABLE",
        _ => "reserved",
    };
    EventArea {
        off_wrap: Cell::new(PackedPos::from_off_wrap(ow).to_string(), ch.at(base, 2)),
        flags: Cell::new(format!("{flags} {name}"), ch.at(base + 2, 2)),
    }
}

fn packed_pane(
    l: &PackedLayout,
    driver: &PackedDriver,
    device: &PackedDevice,
    b: &Bytes,
    ch: &Changes,
    ctx: &ViewContext<'_>,
) -> PackedPane {
    let q = l.size;
    let owners = packed_owners(q, driver, device);
    let mut descs: Vec<DescRow> = (0..q)
        .map(|i| {
            let o = owners[usize::from(i)];
            desc_row(l.desc, i, b, ch, true, o, i == ctx.selected)
        })
        .collect();
    let marks = [
        ("drv.avail", driver.next_avail),
        ("drv.used", driver.next_used),
        ("dev.avail", device.next_avail),
        ("dev.used", device.next_used),
    ];
    for (name, p) in marks {
        if let Some(r) = descs.get_mut(usize::from(p.slot)) {
            r.notes.push(format!("{name} w{}", p.wrap));
        }
    }
    PackedPane {
        descs,
        driver: format!(
            "driver: next avail {}  next used {}",
            driver.next_avail, driver.next_used
        ),
        device: format!(
            "device: next avail {}  next used {}",
            device.next_avail, device.next_used
        ),
        driver_event: event_area(b, l.driver_event, ch),
        device_event: event_area(b, l.device_event, ch),
    }
}

fn transport_pane(e: &Engine, ch: &Changes) -> TransportPane {
    let t = &e.transport;
    let offered = e.config.device_features;
    let all = offered.or(e.config.driver_features).or(t.driver_features);
    let negotiated = t.negotiated.unwrap_or(Features::NONE);
    let features = all
        .bits()
        .map(|bit| {
            let f = Features(1 << bit);
            FeatureRow {
                name: Features::bit_name(bit),
                offered: offered.contains(f),
                accepted: t.driver_features.contains(f),
                negotiated: negotiated.contains(f),
            }
        })
        .collect();
    TransportPane {
        features,
        status: Cell::new(t.status.to_string(), ch.field(Field::Status)),
        walk: t.walk.iter().map(|&v| Status(v).to_string()).collect(),
        legacy: t.legacy,
    }
}

/// Address of descriptor `slot`.
pub(crate) fn desc_addr(layout: &RingLayout, slot: u16) -> u64 {
    let base = match layout {
        RingLayout::Split(l) => l.desc,
        RingLayout::Packed(l) => l.desc,
    };
    base + DESC_SIZE * u64::from(slot)
}

/// The start of the field after (or before) the one at `addr`; bytes outside the ring areas
/// count as one-byte fields.
pub(crate) fn next_field(layout: Option<&RingLayout>, addr: u64, dir: crate::command::Dir) -> u64 {
    let extent = |a: u64| {
        layout
            .and_then(|l| field_extent(l, a))
            .map_or((a, 1), |(_, s, n)| (s, n))
    };
    let (start, len) = extent(addr);
    match dir {
        crate::command::Dir::Forward => start + len,
        crate::command::Dir::Back => extent(start.saturating_sub(1)).0,
    }
}

/// The field containing `addr` and its extent (fields are at most 8 bytes wide).
fn field_extent(layout: &RingLayout, addr: u64) -> Option<(Field, u64, u64)> {
    let f = layout.field_at(addr)?;
    let mut start = addr;
    while start > addr.saturating_sub(7) && layout.field_at(start - 1) == Some(f) {
        start -= 1;
    }
    let mut end = addr + 1;
    while end < start + 8 && layout.field_at(end) == Some(f) {
        end += 1;
    }
    Some((f, start, end - start))
}

fn memory_pane(
    session: &mut Session,
    layout: Option<RingLayout>,
    ch: &Changes,
    ctx: &ViewContext<'_>,
) -> MemoryPane {
    let guest = |a: &Access| (a.space == Space::Guest).then_some(a.addr);
    let default = layout
        .map(|l| span(&l).0)
        .unwrap_or(session.state().config.queue.base);
    let cursor = ctx
        .memory_cursor
        .or_else(|| session.last_access().and_then(guest))
        .or_else(|| session.next_access().and_then(guest))
        .unwrap_or(default);
    let extent = layout.and_then(|l| field_extent(&l, cursor));
    let (cur_start, cur_len) = extent.map_or((cursor, 1), |(_, s, n)| (s, n));
    let rows_n = ctx.options.memory_rows.max(1) as u64;
    let first = (cursor & !15).saturating_sub(16 * (rows_n / 3));
    let mut data = vec![0u8; (16 * rows_n) as usize];
    session.peek(first, &mut data);
    let label = match extent {
        Some((f, s, n)) => {
            let mut v = [0u8; 8];
            session.peek(s, &mut v[..n as usize]);
            let v = u64::from_le_bytes(v);
            format!("{cursor:#x}: {f} = {v:#x} ({v}), {n} byte(s) LE")
        }
        None => format!("{cursor:#x}: outside the ring areas"),
    };
    let rows = data
        .chunks(16)
        .enumerate()
        .map(|(r, chunk)| {
            let addr = first + 16 * r as u64;
            let bytes = chunk
                .iter()
                .enumerate()
                .map(|(i, &value)| {
                    let a = addr + i as u64;
                    HexByte {
                        value,
                        change: ch.at(a, 1),
                        cursor: (cur_start..cur_start + cur_len).contains(&a),
                    }
                })
                .collect();
            HexRow {
                addr,
                bytes,
                label: layout.map(|l| row_label(&l, addr, 16)).unwrap_or_default(),
            }
        })
        .collect();
    MemoryPane {
        cursor,
        label,
        rows,
    }
}

/// Names of the fields starting in `len` bytes, with runs of ring entries shortened to a
/// range: `avail.ring[6..7] used_event`, `desc[3]`.
fn row_label(layout: &RingLayout, addr: u64, len: u64) -> String {
    // (stem, index) per field: entries of one array share a stem.
    let key = |f: Field| -> (String, Option<u16>) {
        match f {
            Field::Desc { index, .. } => ("desc".into(), Some(index)),
            Field::AvailRing(n) => ("avail.ring".into(), Some(n)),
            Field::UsedId(n) | Field::UsedLen(n) => ("used.ring".into(), Some(n)),
            other => (other.to_string(), None),
        }
    };
    let mut groups: Vec<(String, Option<(u16, u16)>)> = Vec::new();
    let mut prev = None;
    for a in addr..addr + len {
        let f = layout.field_at(a);
        if f != prev
            && let Some(f) = f
        {
            let (stem, idx) = key(f);
            match (groups.last_mut(), idx) {
                (Some((s, Some((_, hi)))), Some(i)) if *s == stem => *hi = i,
                (Some((s, None)), None) if *s == stem => {}
                _ => groups.push((stem, idx.map(|i| (i, i)))),
            }
        }
        prev = f;
    }
    let names: Vec<String> = groups
        .into_iter()
        .map(|(stem, r)| match r {
            Some((lo, hi)) if lo == hi => format!("{stem}[{lo}]"),
            Some((lo, hi)) => format!("{stem}[{lo}..{hi}]"),
            None => stem,
        })
        .collect();
    names.join(" ")
}

/// One access in the words the narration uses: `desc[3].flags ← 0x0003 (driver, release)`.
pub fn describe(a: &Access) -> String {
    let order = match a.order {
        Ordering::Plain => "",
        Ordering::Acquire => ", acquire",
        Ordering::Release => ", release",
        Ordering::Fence => ", after a full barrier",
    };
    let width = 2 + 2 * a.size.min(8) as usize;
    match a.kind {
        AccessKind::Store => format!(
            "{} ← {:#0width$x} ({}{order}; was {:#x})",
            a.field, a.value, a.agent, a.old
        ),
        AccessKind::Load => format!(
            "{} → {:#0width$x} ({} reads{order})",
            a.field, a.value, a.agent
        ),
    }
}

fn narration(session: &Session, ctx: &ViewContext<'_>) -> Narration {
    let p = session.position();
    let ops = session.ops();
    let op = ops.get(p.op);
    Narration {
        op: match op {
            Some(o) => format!(
                "op {}/{}: {} {} ({:?})",
                p.op + 1,
                ops.len(),
                o.agent(),
                o.name(),
                o.kind()
            ),
            None => format!("end of run: {} ops", ops.len()),
        },
        agent: op.map(Op::agent),
        say: ctx.say.get(p.op).cloned().flatten(),
        outcome: session
            .outcome(p.op)
            .map(|n| n.to_string())
            .unwrap_or_default(),
        last: session.last_access().map(describe),
        next: session.next_access().map(describe),
    }
}

fn findings(session: &Session, ch: &Changes, ctx: &ViewContext<'_>) -> Vec<FindingRow> {
    let cursor = session.position().step;
    session
        .state()
        .findings
        .0
        .iter()
        .map(|f| {
            let step = f.step().unwrap_or_default();
            FindingRow {
                step,
                severity: f.severity,
                text: format!("{}: {}", f.code, f.message),
                change: ch.step(step, cursor, ctx),
            }
        })
        .collect()
}

fn glyph(op: &Op) -> char {
    match op {
        Op::Negotiate => 'N',
        Op::SetStatus(_) => 's',
        Op::WriteFeatures(_) => 'f',
        Op::Reset => 'R',
        Op::NeedsReset => '!',
        Op::Add { .. } => 'a',
        Op::Publish => 'p',
        Op::Kick => 'k',
        Op::DisableInterrupts | Op::DisableNotifications => 'd',
        Op::EnableInterrupts | Op::EnableNotifications => 'e',
        Op::Reclaim { .. } => 'r',
        Op::Pop { .. } => 'P',
        Op::Complete { .. } => 'c',
        Op::PublishUsed => 'u',
        Op::Interrupt => 'i',
        Op::DriverFault { .. } | Op::DeviceFault { .. } | Op::Repeat { .. } => 'x',
    }
}

/// The legend for the timeline glyphs.
pub const TIMELINE_LEGEND: &str = "N negotiate  a add  p publish  k kick  P pop  c fill  u flush  i interrupt  r reclaim  d/e disable/enable  ↯ notified  ! finding";

fn timeline(session: &Session, ctx: &ViewContext<'_>) -> Timeline {
    let total = session.ops().len();
    let cur = session.position().op;
    let span = ctx.options.timeline_ops.max(1);
    let first = cur.saturating_sub(span / 2).min(total.saturating_sub(span));
    let fin = session.final_state();
    let in_op = |step: u64, i: usize| {
        let (s, e) = (session.op_start(i), session.op_start(i + 1));
        s <= step && step < e.max(s + 1)
    };
    let ops = session
        .ops()
        .iter()
        .enumerate()
        .skip(first)
        .take(span)
        .map(|(i, op)| TimelineOp {
            index: i,
            start: session.op_start(i),
            agent: op.agent(),
            glyph: glyph(op),
            current: i == cur,
            notified: fin.notifications.iter().any(|n| in_op(n.step, i)),
            marked: ctx.marks.iter().any(|&m| in_op(m, i)),
            finding: fin
                .findings
                .0
                .iter()
                .filter_map(|f| f.step())
                .any(|s| in_op(s, i)),
        })
        .collect();
    Timeline { ops, total }
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

fn mesi_owner(states: [Mesi; 2]) -> Owner {
    match states {
        [Mesi::Invalid, Mesi::Invalid] => Owner::Free,
        [Mesi::Invalid, _] => Owner::Device,
        [_, Mesi::Invalid] => Owner::Driver,
        _ => Owner::Shared,
    }
}

fn counts(c: &AgentCounts) -> String {
    format!("{}/{} ({})", c.loads, c.stores, c.transfers())
}

fn cache_pane(
    session: &Session,
    layout: Option<&RingLayout>,
    ch: &Changes,
    ctx: &ViewContext<'_>,
    labels: &mut LineLabels,
) -> CachePane {
    let model = session.cache();
    let t = model.totals();
    let buffers = session.state().ledger.reclaimed;
    let per = if buffers > 0 {
        format!(
            ", {:.1} per buffer over {buffers}",
            t.transfers() as f64 / buffers as f64
        )
    } else {
        String::new()
    };
    let summary = format!(
        "{}B lines: {} transfers (drv→dev {}, dev→drv {}){per}",
        model.line_size(),
        t.transfers(),
        t.driver_to_device(),
        t.device_to_driver()
    );
    let Some(layout) = layout else {
        return CachePane {
            summary,
            sets: String::new(),
            lines: Vec::new(),
            fields: Vec::new(),
            note: MODEL_NOTE.to_string(),
        };
    };
    let geometry = CacheGeometry::default();
    let occ = geometry.occupancy(&layout.areas());
    let sets = format!(
        "{} KB {}-way L1, {} sets: the ring needs {} way(s) of its busiest set{}",
        geometry.size() / 1024,
        geometry.ways(),
        geometry.sets(),
        occ.ways_needed,
        if occ.fits { ", fits" } else { ": does not fit" }
    );
    let size = model.line_size();
    let (start, len) = span(layout);
    let first = start / size * size;
    let labels = labels.of(layout, size);
    // One pass over the model for every line's transfers (lines without any are absent).
    let hot: std::collections::HashMap<u64, u64> = model
        .ranked_lines(usize::MAX)
        .into_iter()
        .map(|l| (l.addr, l.transfers))
        .collect();
    let lines: Vec<CacheLineRow> = (first..start + len)
        .step_by(size as usize)
        .enumerate()
        .map(|(i, addr)| {
            let states = model.state(addr);
            CacheLineRow {
                addr,
                owner: mesi_owner(states),
                states: format!("{} {}", states[0], states[1]),
                transfers: hot.get(&addr).copied().unwrap_or(0),
                label: labels.get(i).cloned().unwrap_or_default(),
                change: ch.at(addr, size),
                selected: i == ctx.cache_line,
            }
        })
        .collect();
    let fields = lines
        .get(ctx.cache_line)
        .and_then(|l| model.line(l.addr))
        .map(|r| {
            r.fields
                .iter()
                .map(|f| CacheFieldRow {
                    offset: f.offset,
                    field: f.name.clone(),
                    driver: counts(&f.driver),
                    device: counts(&f.device),
                    transfers: f.transfers,
                })
                .collect()
        })
        .unwrap_or_default();
    CachePane {
        summary,
        sets,
        lines,
        fields,
        note: MODEL_NOTE.to_string(),
    }
}

#[cfg(test)]
mod number_tests {
    use super::*;

    #[test]
    fn hand_formatting_matches_format() {
        for v in [0u64, 1, 9, 10, 255, 4096, 65535, 0x1234_5678_9abc, u64::MAX] {
            assert_eq!(dec(v), v.to_string());
            for w in [0, 3, 5] {
                let mut s = String::new();
                push_dec(&mut s, v, w);
                assert_eq!(s, format!("{v:>w$}"));
            }
            for d in [0, 4] {
                let mut s = String::new();
                push_hex(&mut s, v, d);
                assert_eq!(s, format!("{v:#0w$x}", w = d + 2), "{v} {d}");
            }
        }
    }
}
