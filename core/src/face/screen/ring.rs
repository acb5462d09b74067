//! The ring pane of a scenario: the descriptor table beside the available and used rings with
//! the two notification decisions (split), or the descriptor ring with both sides' positions,
//! the event suppression areas and the outstanding buffer IDs (packed).
//!
//! A ring bigger than the pane scrolls: the table centres on the selected slot, or the slot the
//! cursor's access touched, and its heading says how many rows are above and below. Columns
//! are sized to their contents, one space apart, and give way by priority (the address, then
//! the hex of the flags, then the position notes) rather than being cut mid-word.

use super::{Constraint, Emphasis, Line, Rect, Style, Target, columns, scroll, scrolled, wrap};
use crate::command::{Command, Item, PaneId};
use crate::view::{Cell, Change, DescRow, EventArea, EventWindow, Owner, PackedPane, RingPane};
use crate::view::{IdPlace, RingSide, SessionView, SlotRow, SplitPane};

/// The tag printed next to anything owned, so ownership never depends on colour alone.
pub fn owner_tag(o: Owner) -> &'static str {
    match o {
        Owner::Driver => "drv",
        Owner::Device => "dev",
        Owner::Shared => "shr",
        Owner::Free => " - ",
    }
}

/// What the AVAIL/USED column of a packed descriptor means.
pub const AU_LEGEND: &str = "AU = AVAIL/USED bits: 10 avail (lap 1), 01 avail (lap 0), 11 used (lap 1), 00 used (lap 0) or never written";

/// What the ring pane says before the queue exists.
pub const NOT_SET_UP: [&str; 2] = [
    "No queue yet: the driver sets it up during negotiation,",
    "just before DRIVER_OK. Step forward (→) to watch the status walk.",
];

/// Rows (inside the borders) the ring pane needs to show everything.
pub fn rows(v: &SessionView) -> u16 {
    let rows = match &v.ring {
        RingPane::NotSetUp => 2,
        RingPane::Split(s) => usize::from(s.size) + 2 + 1 + 2,
        RingPane::Packed(p) => usize::from(p.size) + 1 + 6,
    };
    rows.min(usize::from(u16::MAX - 2)) as u16
}

/// A cell's text right-aligned in `width`, in the style of its change.
fn cell(line: &mut Line, c: &Cell, width: usize) {
    line.push(
        format!("{:>width$}", c.text),
        Style::PLAIN.changed(c.change),
    );
}

/// The ring pane's lines for its inner area.
pub fn lines(area: Rect, v: &SessionView, targets: &mut Vec<Target>) -> Vec<Line> {
    match &v.ring {
        RingPane::NotSetUp => {
            let lines: Vec<Line> = NOT_SET_UP
                .iter()
                .map(|&t| Line::styled(t, Style::DIM))
                .collect();
            wrap(&lines, usize::from(area.width), true)
        }
        RingPane::Split(s) => split(area, s, v.ring.focus_slot(), targets),
        RingPane::Packed(p) => packed(area, p, v.ring.focus_slot(), targets),
    }
}

/// Which columns of the descriptor table fit.
#[derive(Debug, Clone, Copy)]
struct DescCols {
    addr: bool,
    hex: bool,
}

impl DescCols {
    /// Widest first: everything, then without the address, then without the hex flags.
    fn for_width(w: u16, packed: bool) -> DescCols {
        let full = if packed { 44 } else { 42 };
        let no_addr = full - 11;
        DescCols {
            addr: w >= full,
            hex: w >= no_addr,
        }
    }

    fn head(self, packed: bool) -> &'static str {
        match (packed, self.addr, self.hex) {
            (true, true, _) => "slot       addr   len   id  flags NWI AU own",
            (true, false, true) => "slot   len   id  flags NWI AU own",
            (true, false, false) => "slot   len   id NWI AU own",
            (false, true, _) => "slot       addr   len  flags NWI  next own",
            (false, false, true) => "slot   len  flags NWI  next own",
            (false, false, false) => "slot   len NWI  next own",
        }
    }
}

/// `notes` after a row, as many whole ones as fit in `room` cells, then how many did not.
fn push_notes(l: &mut Line, notes: &[String], room: usize) {
    if notes.is_empty() {
        return;
    }
    let mut text = String::from(" ◀ ");
    let mut shown = 0;
    for (i, n) in notes.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let rest = notes.len() - i - 1;
        let more = if rest > 0 {
            format!(" +{rest}")
        } else {
            String::new()
        };
        if super::text::width(&text) + sep.len() + super::text::width(n) + more.len() > room {
            break;
        }
        text.push_str(sep);
        text.push_str(n);
        shown += 1;
    }
    if shown < notes.len() {
        if shown == 0 {
            text = format!(" ◀ +{}", notes.len());
        } else {
            text.push_str(&format!(" +{}", notes.len() - shown));
        }
    }
    if super::text::width(&text) <= room {
        l.push(text, Style::LABEL);
    }
}

fn desc_line(r: &DescRow, packed: bool, cols: DescCols, width: u16) -> Line {
    let own = Style::owner(r.owner);
    let slot_style = if r.selected {
        own.with(Emphasis::Selected)
    } else {
        own
    };
    let mut l = Line::styled(format!("{:>4} ", r.slot), slot_style);
    if cols.addr {
        cell(&mut l, &r.addr, 10);
        l.push(" ", Style::PLAIN);
    }
    cell(&mut l, &r.len, 5);
    l.push(" ", Style::PLAIN);
    // The flags cell is `0x0001 N··` (split) or `0x0081 N·· 10` (packed): the hex goes first.
    let flags = if cols.hex {
        r.flags.clone()
    } else {
        Cell {
            text: r.flags.text.split_once(' ').map_or("", |x| x.1).to_string(),
            change: r.flags.change,
        }
    };
    let flags_w = match (packed, cols.hex) {
        (true, true) => 13,
        (true, false) => 6,
        (false, true) => 10,
        (false, false) => 3,
    };
    if packed {
        cell(&mut l, &r.link, 4);
        l.push(" ", Style::PLAIN);
        cell(&mut l, &flags, flags_w);
    } else {
        cell(&mut l, &flags, flags_w);
        l.push(" ", Style::PLAIN);
        cell(&mut l, &r.link, 4);
    }
    l.push(format!(" {}", owner_tag(r.owner)), own);
    let room = usize::from(width).saturating_sub(l.width());
    push_notes(&mut l, &r.notes, room);
    l
}

/// Slots before a ring's first row: rows may cover a window of a big ring (`view::ALL_ROWS`),
/// and the scroll hints count the whole ring.
fn skipped<T>(rows: &[T], slot: impl Fn(&T) -> u16) -> usize {
    rows.first().map_or(0, |r| usize::from(slot(r)))
}

fn desc_table(
    area: Rect,
    (descs, size): (&[DescRow], u16),
    packed: bool,
    keep: u16,
    targets: &mut Vec<Target>,
) -> Vec<Line> {
    let cols = DescCols::for_width(area.width, packed);
    let height = area.height.saturating_sub(1) as usize;
    let keep = descs.iter().position(|r| r.slot == keep).unwrap_or(0);
    let first = scroll(keep, height, descs.len());
    let shown = height.min(descs.len());
    let head = Line::styled(cols.head(packed), Style::LABEL);
    let before = skipped(descs, |r| r.slot);
    let mut lines = vec![scrolled(head, before + first, shown, usize::from(size))];
    for (i, r) in descs.iter().enumerate().skip(first).take(height) {
        lines.push(desc_line(r, packed, cols, area.width));
        targets.push(Target {
            area: area.row(1 + (i - first) as u16),
            command: Command::Select {
                pane: PaneId::Ring,
                item: Item::Slot(r.slot),
            },
        });
    }
    lines
}

fn side_lines(
    name: &str,
    (s, size): (&RingSide, u16),
    event: &str,
    height: usize,
    entry_head: &str,
) -> Vec<Line> {
    let mut top = Line::styled(format!("{name} "), Style::LABEL);
    top.push("flags ", Style::PLAIN);
    cell(&mut top, &s.flags, 1);
    top.push(" idx ", Style::PLAIN);
    cell(&mut top, &s.idx, 1);
    let mut ev = Line::plain(format!("{event} "));
    cell(&mut ev, &s.event, 1);
    let rows = height.saturating_sub(3);
    let keep = s
        .rows
        .iter()
        .position(|r| r.entry.change == Change::Strong)
        .or_else(|| s.rows.iter().position(|r| !r.notes.is_empty()))
        .unwrap_or(0);
    let first = scroll(keep, rows, s.rows.len());
    let head = Line::styled(entry_head, Style::DIM);
    let mut lines = vec![
        top,
        ev,
        scrolled(
            head,
            skipped(&s.rows, |r| r.slot) + first,
            rows.min(s.rows.len()),
            usize::from(size),
        ),
    ];
    lines.extend(s.rows.iter().skip(first).take(rows).map(slot_line));
    lines
}

fn slot_line(r: &SlotRow) -> Line {
    let own = Style::owner(r.owner);
    let mut l = Line::styled(format!("{:>4} ", r.slot), own);
    cell(&mut l, &r.entry, 5);
    l.push(format!(" {}", owner_tag(r.owner)), own);
    if !r.notes.is_empty() {
        l.push(format!(" ◀{}", r.notes.join(",")), Style::LABEL);
    }
    l
}

fn window_line(who: &str, w: &EventWindow) -> Line {
    let verdict = if w.fires { Style::LABEL } else { Style::DIM };
    let mut l = Line::styled(format!("{who}: "), Style::LABEL);
    l.push(w.text.clone(), verdict);
    l
}

/// The widest line of a block.
fn widest(lines: &[Line]) -> u16 {
    lines.iter().map(Line::width).max().unwrap_or(0) as u16
}

fn split(area: Rect, s: &SplitPane, keep: u16, targets: &mut Vec<Target>) -> Vec<Line> {
    let windows = [
        window_line("kick", &s.kick),
        window_line("interrupt", &s.interrupt),
    ];
    let windows = wrap(&windows, usize::from(area.width), true);
    let [rings, _] = area.rows([Constraint::Min(3), Constraint::Length(windows.len() as u16)]);
    let h = usize::from(rings.height);
    let a = side_lines("AVAIL", (&s.avail, s.size), "used_event", h, "slot  head");
    let u = side_lines(
        "USED",
        (&s.used, s.size),
        "avail_event",
        h,
        "slot  id   len",
    );
    // The avail and used rings are never cut; the descriptor table takes the rest.
    let (aw, uw) = (widest(&a), widest(&u));
    let desc_w = rings.width.saturating_sub(aw + uw + 2);
    let desc = Rect::new(rings.x, rings.y, desc_w, rings.height);
    let d = desc_table(desc, (&s.descs, s.size), false, keep, targets);
    let desc_w = widest(&d).min(desc_w);
    let mut lines = columns(
        &[
            (usize::from(desc_w), &d),
            (usize::from(aw), &a),
            (usize::from(uw), &u),
        ],
        h,
    );
    lines.extend(windows);
    lines
}

fn event_area(name: &str, e: &EventArea) -> Line {
    let mut line = Line::styled(format!("{name} "), Style::LABEL);
    line.push("off_wrap ", Style::PLAIN);
    cell(&mut line, &e.off_wrap, 1);
    line.push(" flags ", Style::PLAIN);
    cell(&mut line, &e.flags, 1);
    line
}

/// The outstanding buffer IDs by where they are: `IDs out: with the device 0-7; used 8`.
fn ids_line(p: &PackedPane) -> Line {
    let mut l = Line::styled("buffer IDs out:", Style::LABEL);
    if p.ids.is_empty() {
        l.push(" none", Style::DIM);
        return l;
    }
    for (place, words, owner) in [
        (IdPlace::Unpublished, "being written", Owner::Driver),
        (IdPlace::Available, "available", Owner::Device),
        (IdPlace::Device, "with the device", Owner::Device),
        (IdPlace::Used, "used, not reclaimed", Owner::Driver),
    ] {
        let ids: Vec<u16> = p
            .ids
            .iter()
            .filter(|r| r.place == place)
            .map(|r| r.id)
            .collect();
        if !ids.is_empty() {
            l.push(format!(" {words} "), Style::PLAIN);
            l.push(ranges(&ids), Style::owner(owner));
            l.push(";", Style::PLAIN);
        }
    }
    if let Some(last) = l.spans.last_mut() {
        last.text.pop();
    }
    l
}

/// `0-3 5 9-10`: ascending runs as ranges.
fn ranges(ids: &[u16]) -> String {
    let mut v = ids.to_vec();
    v.sort_unstable();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        out.push(if j > i {
            format!("{}-{}", v[i], v[j])
        } else {
            v[i].to_string()
        });
        i = j + 1;
    }
    out.join(" ")
}

fn packed(area: Rect, p: &PackedPane, keep: u16, targets: &mut Vec<Target>) -> Vec<Line> {
    let info = [
        ids_line(p),
        Line::plain(p.driver.clone()),
        Line::plain(p.device.clone()),
        event_area("driver_event", &p.driver_event),
        event_area("device_event", &p.device_event),
        Line::styled(AU_LEGEND, Style::DIM),
    ];
    let info = wrap(&info, usize::from(area.width), true);
    // The table keeps at least four rows; the information below gives way from the bottom.
    let info_h = (info.len() as u16).min(area.height.saturating_sub(5));
    let [desc, _] = area.rows([Constraint::Min(1), Constraint::Length(info_h)]);
    let mut lines = desc_table(desc, (&p.descs, p.size), true, keep, targets);
    lines.resize(usize::from(desc.height), Line::default());
    lines.extend(info.into_iter().take(usize::from(info_h)));
    lines
}
