//! Drawings a graphical face shows beside the text panes: the rings as strips or circles of
//! slots coloured by owner, with both sides' positions and wrap counters, chain links and the
//! latest notifications between the two sides; the ring's cache lines as a grid coloured by the
//! CPU that holds each; the L1's sets and ways. Built here from the same view data as the
//! text, so every word and colour rule is core's; a face only places the shapes.

use serde::{Deserialize, Serialize};

use super::Style;
use crate::command::{Command, Item, PaneId};
use crate::memory::Agent;
use crate::scenario::L1Picture;
use crate::view::{
    Change, DescRow, IdPlace, NotifyRow, Owner, Position, RingPane, SessionView, SlotRow, Strip,
};

/// Everything drawn for one screen.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Pictures {
    /// One ring per session shown (two when comparing), main first.
    pub rings: Vec<RingPicture>,
    /// The main session's cache lines.
    pub cache: Option<CachePicture>,
    /// A trace joined with the driver's: both sides as lanes, the notifications between
    /// them, a buffer's path across them.
    pub joined: Option<JoinedPicture>,
}

/// A joined trace's timeline around the cursor: the driver's lane and the device's, each event
/// on the selected queue drawn on its side, kicks and interrupts as arrows between the lanes,
/// the chosen buffer's path as a line through its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinedPicture {
    /// `blk0.q0 ↔ req.0 (virtio0)`.
    pub title: String,
    /// The lanes' names, driver first.
    pub lanes: [String; 2],
    /// The events of the selected queue shown, in step order.
    pub events: Vec<LaneEvent>,
    /// Notifications between the lanes.
    pub arrows: Vec<ArrowPicture>,
    /// Steps of the chosen buffer's events, in order: the path to draw.
    pub path: Vec<u64>,
    /// The cursor's step.
    pub cursor: u64,
    /// How many events of other queues fall in the window (drawn as a count).
    pub others: usize,
}

/// One event on a lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaneEvent {
    /// Its step.
    pub step: u64,
    /// 0 the driver's lane, 1 the device's.
    pub lane: u8,
    /// Its glyph in the text timeline.
    pub glyph: char,
    /// Its name, shown on hover.
    pub label: String,
    /// Host time, µs.
    pub time_us: Option<u64>,
    /// On the chosen buffer's path.
    pub on_path: bool,
    /// A click goes there.
    pub command: Command,
}

/// A kick (driver to device) or an interrupt (device to driver).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrowPicture {
    /// The step of the event that sends or receives it.
    pub step: u64,
    /// Who sends it.
    pub from: Agent,
    /// `kick (vp_notify)`, `interrupt (virtio_notify)`.
    pub label: String,
}

/// One ring: its strips (split: descriptor table, available ring, used ring; packed: the one
/// descriptor ring), and the notifications lately sent between the two sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingPicture {
    /// `split ring, 8 slots`.
    pub title: String,
    /// A packed ring: draw its one strip as a circle, positions with their wrap counters.
    pub packed: bool,
    /// The strips, in the order they are read.
    pub strips: Vec<StripPicture>,
    /// The latest notifications, oldest first.
    pub notifications: Vec<NotifyPicture>,
    /// Words for the colours: owners, and what a packed slot's AVAIL/USED bits mean.
    pub legend: Vec<(Style, String)>,
}

/// Slots (or cache lines) a picture carries at most: a window around the sides' positions or
/// the selection. No face shows more at once, and building every slot's fields for a
/// 32768-entry ring took tens of milliseconds a frame.
pub const WINDOW: usize = 256;

/// The window of `len` items a picture carries: all of them, or [`WINDOW`] around `centre`.
fn window(len: usize, centre: usize) -> std::ops::Range<usize> {
    crate::view::centred_window(len, centre, WINDOW)
}

/// A row of slots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripPicture {
    /// `descriptor table`, `available ring`, `used ring`, `descriptor ring`.
    pub name: String,
    /// How many slots the strip has.
    pub len: usize,
    /// The slots, in slot order: all, or a window of [`WINDOW`] around the selected slot or
    /// the first position (each knows its slot number).
    pub slots: Vec<SlotPicture>,
    /// Positions the two sides keep in it.
    pub marks: Vec<MarkPicture>,
    /// Chain links: slot to slot (split descriptors with NEXT).
    pub links: Vec<(u16, u16)>,
}

/// One slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotPicture {
    /// The slot.
    pub slot: u16,
    /// Who may write it now: its colour.
    pub owner: Owner,
    /// Changed at the last step (flash) or since the mark.
    pub change: Change,
    /// A few characters inside it: a head, an id, a length.
    pub label: String,
    /// Lines shown on hover: every field with its value and who owns it.
    pub tooltip: Vec<String>,
    /// The selected slot.
    pub selected: bool,
    /// What a click on it does.
    pub command: Option<Command>,
}

/// A position one side keeps, drawn as a marker on its slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkPicture {
    /// The slot.
    pub slot: u16,
    /// Whose: drawn on the driver's side or the device's.
    pub agent: Agent,
    /// `driver next avail (wrap 1)`.
    pub label: String,
}

/// A notification, drawn as an arrow from its sender to the other side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyPicture {
    /// Who sent it.
    pub from: Agent,
    /// `kick at step 21`.
    pub label: String,
    /// Sent during the op at the cursor: drawn strong.
    pub now: bool,
}

/// A ring's cache lines, one cell each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachePicture {
    /// `64B lines: 12 transfers ...`.
    pub title: String,
    /// How many lines the ring spans.
    pub len: usize,
    /// The lines, in address order: all, or a window of [`WINDOW`] around the one drilled
    /// into.
    pub lines: Vec<LinePicture>,
    /// The L1's sets and ways, with every resident ring.
    pub l1: Option<L1Picture>,
}

/// One cache line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinePicture {
    /// Its address.
    pub addr: u64,
    /// The CPU holding it (driver's, device's, both, nobody): its colour.
    pub owner: Owner,
    /// Transfers so far.
    pub transfers: u64,
    /// Touched at the last step: a transfer flashes.
    pub change: Change,
    /// Lines shown on hover.
    pub tooltip: Vec<String>,
    /// Drilled into.
    pub selected: bool,
    /// What a click does.
    pub command: Command,
}

fn owner_word(o: Owner) -> &'static str {
    match o {
        Owner::Driver => "the driver",
        Owner::Device => "the device",
        Owner::Shared => "both sides",
        Owner::Free => "nobody",
    }
}

fn agent_word(a: Agent) -> &'static str {
    match a {
        Agent::Driver => "driver",
        Agent::Device => "device",
    }
}

fn marks(positions: &[Position], strip: Strip) -> Vec<MarkPicture> {
    positions
        .iter()
        .filter(|p| p.strip == strip)
        .map(|p| MarkPicture {
            slot: p.slot,
            agent: p.agent,
            label: match p.wrap {
                Some(w) => format!("{} {} (wrap {})", agent_word(p.agent), p.name, w.bit()),
                None => format!("{} {}", agent_word(p.agent), p.name),
            },
        })
        .collect()
}

/// The row a strip's window centres on: the selected slot, else the first position in the
/// strip (rows may start past slot 0 in a big ring: `view::ALL_ROWS`).
fn centre(
    slots: impl Iterator<Item = u16>,
    selected: Option<u16>,
    positions: &[Position],
    strip: Strip,
) -> usize {
    let slot = selected
        .or_else(|| positions.iter().find(|p| p.strip == strip).map(|p| p.slot))
        .unwrap_or(0);
    slots.take_while(|&s| s < slot).count()
}

fn desc_slots(
    descs: &[DescRow],
    packed: bool,
    ids: &[(u16, IdPlace)],
    positions: &[Position],
) -> Vec<SlotPicture> {
    let selected = descs.iter().find(|d| d.selected).map(|d| d.slot);
    let slots = descs.iter().map(|d| d.slot);
    let shown = window(
        descs.len(),
        centre(slots, selected, positions, Strip::Descriptors),
    );
    descs[shown]
        .iter()
        .map(|r| {
            let link = if packed { "id" } else { "next" };
            let mut tooltip = vec![
                format!("{}[{}], owned by {}", "desc", r.slot, owner_word(r.owner)),
                format!("addr {}", r.addr.text),
                format!("len {}", r.len.text),
                format!("flags {}", r.flags.text),
                format!("{link} {}", r.link.text),
            ];
            if packed
                && let Ok(id) = r.link.text.parse::<u16>()
                && let Some((_, place)) = ids.iter().find(|(i, _)| *i == id)
            {
                tooltip.push(format!("buffer {id}: {}", place_words(*place)));
            }
            tooltip.extend(r.notes.iter().map(|n| format!("◀ {n}")));
            SlotPicture {
                slot: r.slot,
                owner: r.owner,
                change: r.changed(),
                label: if packed {
                    r.link.text.clone()
                } else {
                    r.len.text.clone()
                },
                tooltip,
                selected: r.selected,
                command: Some(Command::Select {
                    pane: PaneId::Ring,
                    item: Item::Slot(r.slot),
                }),
            }
        })
        .collect()
}

fn place_words(p: IdPlace) -> &'static str {
    match p {
        IdPlace::Unpublished => "being written by the driver",
        IdPlace::Available => "available, not read by the device yet",
        IdPlace::Device => "with the device",
        IdPlace::Used => "used, not reclaimed by the driver yet",
    }
}

fn ring_slots(
    rows: &[SlotRow],
    what: &str,
    positions: &[Position],
    strip: Strip,
) -> Vec<SlotPicture> {
    let slots = rows.iter().map(|r| r.slot);
    rows[window(rows.len(), centre(slots, None, positions, strip))]
        .iter()
        .map(|r| SlotPicture {
            slot: r.slot,
            owner: r.owner,
            change: r.entry.change,
            label: r
                .entry
                .text
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string(),
            tooltip: vec![
                format!("{what}[{}], owned by {}", r.slot, owner_word(r.owner)),
                format!("entry {}", r.entry.text.trim()),
            ],
            selected: false,
            command: None,
        })
        .collect()
}

fn legend() -> Vec<(Style, String)> {
    [
        (Owner::Driver, "the driver's"),
        (Owner::Device, "the device's"),
        (Owner::Free, "free"),
    ]
    .into_iter()
    .map(|(o, t)| (Style::owner(o), t.to_string()))
    .collect()
}

fn notifications(rows: &[NotifyRow]) -> Vec<NotifyPicture> {
    rows.iter()
        .map(|n| NotifyPicture {
            from: n.from,
            label: format!("{} at step {}", n.text, n.step),
            now: n.now,
        })
        .collect()
}

/// The drawing of one session's ring; `label` names a compared session.
pub fn ring(v: &SessionView, label: Option<&str>) -> Option<RingPicture> {
    let title = |kind: &str, q: usize| match label {
        Some(l) => format!("{l}, {q} slots"),
        None => format!("{kind} ring, {q} slots"),
    };
    match &v.ring {
        RingPane::NotSetUp => None,
        RingPane::Split(s) => Some(RingPicture {
            title: title("split", usize::from(s.size)),
            packed: false,
            strips: vec![
                StripPicture {
                    name: "descriptor table".into(),
                    len: usize::from(s.size),
                    slots: desc_slots(&s.descs, false, &[], &s.positions),
                    marks: marks(&s.positions, Strip::Descriptors),
                    links: s
                        .descs
                        .iter()
                        .filter_map(|d| d.next.map(|n| (d.slot, n)))
                        .collect(),
                },
                StripPicture {
                    name: "available ring".into(),
                    len: usize::from(s.size),
                    slots: ring_slots(&s.avail.rows, "avail.ring", &s.positions, Strip::Avail),
                    marks: marks(&s.positions, Strip::Avail),
                    links: Vec::new(),
                },
                StripPicture {
                    name: "used ring".into(),
                    len: usize::from(s.size),
                    slots: ring_slots(&s.used.rows, "used.ring", &s.positions, Strip::Used),
                    marks: marks(&s.positions, Strip::Used),
                    links: Vec::new(),
                },
            ],
            notifications: notifications(&v.notifications),
            legend: legend(),
        }),
        RingPane::Packed(p) => {
            let ids: Vec<(u16, IdPlace)> = p.ids.iter().map(|r| (r.id, r.place)).collect();
            let mut legend = legend();
            legend.push((Style::DIM, super::ring::AU_LEGEND.to_string()));
            Some(RingPicture {
                title: title("packed", usize::from(p.size)),
                packed: true,
                strips: vec![StripPicture {
                    name: "descriptor ring".into(),
                    len: usize::from(p.size),
                    slots: desc_slots(&p.descs, true, &ids, &p.positions),
                    marks: marks(&p.positions, Strip::Descriptors),
                    links: Vec::new(),
                }],
                notifications: notifications(&v.notifications),
                legend,
            })
        }
    }
}

/// The drawing of a session's cache lines.
pub fn cache(v: &SessionView) -> Option<CachePicture> {
    let c = &v.cache;
    if c.lines.is_empty() {
        return None;
    }
    let shown = window(c.lines.len(), c.shown);
    Some(CachePicture {
        title: c.summary.clone(),
        len: c.lines.len(),
        lines: c
            .lines
            .iter()
            .enumerate()
            .skip(shown.start)
            .take(shown.len())
            .map(|(i, l)| LinePicture {
                addr: l.addr,
                owner: l.owner,
                transfers: l.transfers,
                change: l.change,
                tooltip: vec![
                    format!("line {:#x}: {}", l.addr, l.label),
                    format!("MESI driver/device: {}", l.states),
                    format!(
                        "held by {}; {} transfers so far",
                        owner_word(l.owner),
                        l.transfers
                    ),
                ],
                selected: i == c.shown,
                command: Command::Select {
                    pane: PaneId::Cache,
                    item: Item::Line(i),
                },
            })
            .collect(),
        l1: c.l1.clone(),
    })
}
