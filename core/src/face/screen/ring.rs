//! The ring pane of a scenario: the descriptor table beside the available and used rings with
//! the two notification decisions (split), or the descriptor ring with both sides' positions
//! and the event suppression areas (packed).

use super::{Constraint, Emphasis, Line, Rect, Style, Target, columns, scroll, wrap};
use crate::command::{Command, Item, PaneId};
use crate::view::{Cell, DescRow, EventArea, EventWindow, Owner, PackedPane, RingPane};
use crate::view::{RingSide, SessionView, SlotRow, SplitPane};

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
        RingPane::NotSetUp => NOT_SET_UP
            .iter()
            .map(|&t| Line::styled(t, Style::DIM))
            .collect(),
        RingPane::Split(s) => split(area, s, targets),
        RingPane::Packed(p) => packed(area, p, targets),
    }
}

fn desc_line(r: &DescRow, packed: bool, with_addr: bool) -> Line {
    let own = Style::owner(r.owner);
    let slot_style = if r.selected {
        own.with(Emphasis::Selected)
    } else {
        own
    };
    let mut l = Line::styled(format!("{:>4} ", r.slot), slot_style);
    if with_addr {
        cell(&mut l, &r.addr, 10);
        l.push(" ", Style::PLAIN);
    }
    cell(&mut l, &r.len, 5);
    l.push(" ", Style::PLAIN);
    if packed {
        cell(&mut l, &r.link, 4);
        l.push(" ", Style::PLAIN);
        cell(&mut l, &r.flags, 13);
    } else {
        cell(&mut l, &r.flags, 10);
        l.push(" ", Style::PLAIN);
        cell(&mut l, &r.link, 4);
    }
    l.push(format!(" {}", owner_tag(r.owner)), own);
    if !r.notes.is_empty() {
        l.push(format!(" ◀ {}", r.notes.join(", ")), Style::LABEL);
    }
    l
}

fn desc_table(area: Rect, descs: &[DescRow], packed: bool, targets: &mut Vec<Target>) -> Vec<Line> {
    // Below 48 columns the address goes (the memory pane still shows it).
    let with_addr = area.width >= 48;
    let head = match (packed, with_addr) {
        (true, true) => "slot       addr   len   id  flags NWI AU own",
        (true, false) => "slot   len   id  flags NWI AU own",
        (false, true) => "slot       addr   len      flags  next own",
        (false, false) => "slot   len      flags  next own",
    };
    let height = area.height.saturating_sub(1) as usize;
    let sel = descs.iter().position(|r| r.selected).unwrap_or(0);
    let first = scroll(sel, height, descs.len());
    let mut lines = vec![Line::styled(head, Style::LABEL)];
    for (i, r) in descs.iter().enumerate().skip(first).take(height) {
        lines.push(desc_line(r, packed, with_addr));
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

fn side_lines(name: &str, s: &RingSide, event: &str, height: usize, entry_head: &str) -> Vec<Line> {
    let mut top = Line::styled(format!("{name} "), Style::LABEL);
    top.push("flags ", Style::PLAIN);
    cell(&mut top, &s.flags, 1);
    top.push(" idx ", Style::PLAIN);
    cell(&mut top, &s.idx, 1);
    let mut ev = Line::plain(format!("{event} "));
    cell(&mut ev, &s.event, 1);
    let mut lines = vec![top, ev, Line::styled(entry_head, Style::DIM)];
    let rows = height.saturating_sub(3);
    let keep = s.rows.iter().position(|r| !r.notes.is_empty()).unwrap_or(0);
    let first = scroll(keep, rows, s.rows.len());
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

fn split(area: Rect, s: &SplitPane, targets: &mut Vec<Target>) -> Vec<Line> {
    let [rings, _] = area.rows([Constraint::Min(3), Constraint::Length(2)]);
    // Narrow terminals cut the descriptors' notes first, never the avail and used rings.
    let desc_w = rings.width.saturating_sub(42).min(58);
    let [desc, avail, used] = rings.cols([
        Constraint::Length(desc_w),
        Constraint::Length(21),
        Constraint::Min(21),
    ]);
    let d = desc_table(desc, &s.descs, false, targets);
    let h = usize::from(avail.height);
    let a = side_lines("AVAIL", &s.avail, "used_event", h, "slot  head");
    let u = side_lines("USED", &s.used, "avail_event", h, "slot  id   len");
    let mut lines = columns(
        &[
            (usize::from(desc.width), &d),
            (usize::from(avail.width), &a),
            (usize::from(used.width), &u),
        ],
        usize::from(rings.height),
    );
    lines.push(window_line("kick", &s.kick));
    lines.push(window_line("interrupt", &s.interrupt));
    lines
}

fn event_area(line: &mut Line, name: &str, e: &EventArea) {
    line.push(format!("{name} "), Style::LABEL);
    line.push("off_wrap ", Style::PLAIN);
    cell(line, &e.off_wrap, 1);
    line.push(" flags ", Style::PLAIN);
    cell(line, &e.flags, 1);
    line.push("   ", Style::PLAIN);
}

fn packed(area: Rect, p: &PackedPane, targets: &mut Vec<Target>) -> Vec<Line> {
    let [desc, info] = area.rows([Constraint::Min(3), Constraint::Length(4)]);
    let mut lines = desc_table(desc, &p.descs, true, targets);
    lines.resize(usize::from(desc.height), Line::default());
    let mut events = Line::default();
    event_area(&mut events, "driver_event", &p.driver_event);
    event_area(&mut events, "device_event", &p.device_event);
    let info_lines = [
        Line::plain(format!("{}   {}", p.driver, p.device)),
        events,
        Line::styled(AU_LEGEND, Style::DIM),
    ];
    let mut info_lines = wrap(&info_lines, usize::from(info.width), false);
    info_lines.truncate(usize::from(info.height));
    lines.extend(info_lines);
    lines
}
