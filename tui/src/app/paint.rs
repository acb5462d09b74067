//! Paints a core [`Frame`] with ratatui. Nothing here computes state: it places the frame's
//! cells, and records where clickable things landed so a click can become a command.

use ratatui::Frame as Term;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ringside_core::command::PaneId;
use ringside_core::finding::{FindingSource, Severity};
use ringside_core::memory::Agent;
use ringside_core::view::{
    Cell, Change, DescRow, EventWindow, Frame, PackedPane, RingPane, RingSide, SessionView,
    SlotRow, SplitPane, TIMELINE_LEGEND, UiView,
};

use super::theme::{Theme, owner_tag};

/// Every byte value as two hex digits: the hex pane paints hundreds per frame without
/// formatting or allocating.
const HEX_BYTES: [&str; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    const PAIRS: [[u8; 2]; 256] = {
        let mut t = [[0u8; 2]; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = [DIGITS[i >> 4], DIGITS[i & 15]];
            i += 1;
        }
        t
    };
    let mut out = [""; 256];
    let mut i = 0;
    while i < 256 {
        out[i] = match std::str::from_utf8(&PAIRS[i]) {
            Ok(s) => s,
            Err(_) => "??",
        };
        i += 1;
    }
    out
};

/// Something clickable: a pane, and an item in it (see `Command::Select`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Where.
    pub area: Rect,
    /// Which pane.
    pub pane: PaneId,
    /// Which item, if the area is one.
    pub index: Option<usize>,
}

/// Where the panes of one session go.
#[derive(Debug, Default, Clone, Copy)]
struct Slots {
    ring: Option<Rect>,
    transport: Option<Rect>,
    cache: Option<Rect>,
    narration: Option<Rect>,
    memory: Option<Rect>,
    findings: Option<Rect>,
    timeline: Option<Rect>,
}

impl Slots {
    fn get(&self, p: PaneId) -> Option<Rect> {
        match p {
            PaneId::Ring => self.ring,
            PaneId::Memory => self.memory,
            PaneId::Narration => self.narration,
            PaneId::Findings => self.findings,
            PaneId::Timeline => self.timeline,
            PaneId::Transport => self.transport,
            PaneId::Cache => self.cache,
        }
    }

    fn set(&mut self, p: PaneId, r: Option<Rect>) {
        match p {
            PaneId::Ring => self.ring = r,
            PaneId::Memory => self.memory = r,
            PaneId::Narration => self.narration = r,
            PaneId::Findings => self.findings = r,
            PaneId::Timeline => self.timeline = r,
            PaneId::Transport => self.transport = r,
            PaneId::Cache => self.cache = r,
        }
    }
}

/// Splits the body by priority: the ring first, then narration, timeline, memory and findings,
/// transport. Whatever does not fit collapses; a focused pane that collapsed takes the slot of
/// the lowest-priority pane shown.
fn layout(body: Rect, focus: PaneId, zoom: bool, ring_rows: u16) -> Slots {
    let mut s = Slots::default();
    if zoom {
        s.set(focus, Some(body));
        return s;
    }
    let h = body.height;
    let narration_h = match h {
        0..16 => 0,
        16..30 => 5,
        _ => 8,
    };
    let timeline_h = match h {
        0..20 => 0,
        20..40 => 4,
        _ => 6,
    };
    let rest = h - narration_h - timeline_h;
    // The ring takes what it needs (at least 10 rows); memory and findings get the rest.
    let ring_h = ring_rows.clamp(10.min(rest), rest);
    let lower_h = if rest - ring_h >= 6 { rest - ring_h } else { 0 };
    let ring_h = rest - lower_h;
    let [top, narr, lower, time] = Layout::vertical([
        Constraint::Length(ring_h),
        Constraint::Length(narration_h),
        Constraint::Length(lower_h),
        Constraint::Length(timeline_h),
    ])
    .areas(body);
    if body.width >= 150 {
        let [ring, side] =
            Layout::horizontal([Constraint::Min(80), Constraint::Length(46)]).areas(top);
        s.ring = Some(ring);
        s.transport = Some(side);
    } else {
        s.ring = Some(top);
    }
    s.narration = (narration_h > 0).then_some(narr);
    s.timeline = (timeline_h > 0).then_some(time);
    if lower_h > 0 && body.width >= 150 {
        let [mem, cache, fin] = Layout::horizontal([
            Constraint::Length(84),
            Constraint::Length(64),
            Constraint::Min(20),
        ])
        .areas(lower);
        s.memory = Some(mem);
        s.cache = Some(cache);
        s.findings = (fin.width >= 20).then_some(fin);
    } else if lower_h > 0 {
        let [mem, fin] =
            Layout::horizontal([Constraint::Length(84), Constraint::Min(20)]).areas(lower);
        s.memory = Some(mem);
        s.findings = (fin.width >= 20).then_some(fin);
    }
    if s.get(focus).is_none() {
        // Borrow the place of the lowest-priority pane on screen that is big enough to use,
        // else the lower half of the ring together with the narration below it.
        let donor = [
            PaneId::Findings,
            PaneId::Memory,
            PaneId::Timeline,
            PaneId::Narration,
        ]
        .into_iter()
        .find(|p| s.get(*p).is_some_and(|r| r.height >= 8));
        match donor {
            Some(d) => {
                let r = s.get(d);
                s.set(d, None);
                s.set(focus, r);
            }
            None => {
                if let Some(ring) = s.ring {
                    let [a, b] =
                        Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).areas(ring);
                    let below = s.narration.take().map_or(0, |n| n.height);
                    s.ring = Some(a);
                    s.set(
                        focus,
                        Some(Rect {
                            height: b.height + below,
                            ..b
                        }),
                    );
                }
            }
        }
    }
    s
}

/// Paints a frame; returns the clickable areas.
pub fn paint(t: &mut Term<'_>, frame: &Frame, theme: &Theme) -> Vec<Hit> {
    let area = t.area();
    let mut hits = Vec::new();
    let [head, body, status, hint] = screen(area);
    header(t, head, frame, theme);
    match &frame.compare {
        Some((label, other)) => {
            let [l, r] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(body);
            session(t, l, &frame.main, frame, theme, &mut hits, None);
            session(t, r, other, frame, theme, &mut Vec::new(), Some(label));
        }
        None => session(t, body, &frame.main, frame, theme, &mut hits, None),
    }
    chrome(t, area, status, hint, &frame.ui, theme);
    hits
}

/// Every screen's rows: the header, the body, the status line and the hint bar.
pub(super) fn screen(area: Rect) -> [Rect; 4] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// The status line, the hint bar and the help overlay: the same on every screen.
pub(super) fn chrome(
    t: &mut Term<'_>,
    area: Rect,
    status: Rect,
    hint: Rect,
    ui: &UiView,
    theme: &Theme,
) {
    status_line(t, status, ui, theme);
    hint_bar(t, hint, ui, theme);
    if let Some((scroll, rows)) = &ui.help {
        help(t, area, *scroll, rows, theme);
    }
}

fn header(t: &mut Term<'_>, area: Rect, f: &Frame, theme: &Theme) {
    let h = &f.main.header;
    let mut spans = vec![
        Span::styled(" ringside ", theme.key()),
        Span::styled(
            format!(
                " step {}/{}  op {}/{}  {} q={} ",
                h.step,
                h.steps,
                (h.op + 1).min(h.ops),
                h.ops,
                h.kind,
                h.size,
            ),
            theme.label(),
        ),
    ];
    play_and_marks(&mut spans, &f.ui, h.mark_delta, theme);
    spans.push(Span::raw(format!("  {}", h.title)));
    if let Some(c) = &h.chapter {
        spans.push(Span::styled(format!("  [{c}]"), theme.dim()));
    }
    t.render_widget(Line::from(spans), area);
}

/// The header's play speed and marks, the same for scenarios and traces.
pub(super) fn play_and_marks(
    spans: &mut Vec<Span<'_>>,
    ui: &UiView,
    mark_delta: Option<u64>,
    theme: &Theme,
) {
    if let Some(sps) = ui.playing {
        spans.push(Span::styled(format!("  ▶ {sps}/s"), theme.label()));
    }
    if !ui.marks.is_empty() {
        let marks: Vec<String> = ui.marks.iter().map(u64::to_string).collect();
        spans.push(Span::raw(format!("  marks {}", marks.join(","))));
        if let Some(d) = mark_delta {
            spans.push(Span::raw(format!(" Δ{d}")));
        }
    }
}

pub(super) fn pane_block<'a>(p: PaneId, ui: &UiView, theme: &Theme, extra: &str) -> Block<'a> {
    titled_block(p, ui, theme, &format!("{}{extra}", p.title()))
}

/// A pane's frame: its number, a focus mark and a title.
pub(super) fn titled_block<'a>(p: PaneId, ui: &UiView, theme: &Theme, title: &str) -> Block<'a> {
    let focused = ui.focus == p;
    let n = PaneId::ALL.iter().position(|&x| x == p).unwrap_or(0) + 1;
    let mark = if focused { "▶" } else { "" };
    Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(format!("{mark}{n} {title}"))
}

#[allow(clippy::too_many_arguments)]
fn session(
    t: &mut Term<'_>,
    area: Rect,
    v: &SessionView,
    f: &Frame,
    theme: &Theme,
    hits: &mut Vec<Hit>,
    label: Option<&String>,
) {
    // Rows the ring wants: every slot, its heading, the event lines and the borders.
    let ring_rows = match &v.ring {
        RingPane::NotSetUp => 4,
        RingPane::Split(s) => s.descs.len() as u16 + 5,
        RingPane::Packed(p) => p.descs.len() as u16 + 7,
    };
    let slots = layout(area, f.ui.focus, f.ui.zoom, ring_rows.max(8));
    for p in PaneId::ALL {
        if let Some(r) = slots.get(p) {
            hits.push(Hit {
                area: r,
                pane: p,
                index: None,
            });
        }
    }
    if let Some(r) = slots.ring {
        let extra = match label {
            Some(l) => format!(" — {l}"),
            None => format!(" — {}", v.header.kind),
        };
        let block = pane_block(PaneId::Ring, &f.ui, theme, &extra);
        let inner = block.inner(r);
        t.render_widget(block, r);
        ring(t, inner, v, theme, hits);
    }
    if let Some(r) = slots.transport {
        transport(t, r, v, f, theme);
    }
    if let Some(r) = slots.narration {
        narration(t, r, v, f, theme);
    }
    if let Some(r) = slots.memory {
        memory(t, r, v, f, theme, hits);
    }
    if let Some(r) = slots.cache {
        cache(t, r, v, f, theme, hits);
    }
    if let Some(r) = slots.findings {
        findings(t, r, v, f, theme, hits);
    }
    if let Some(r) = slots.timeline {
        timeline(t, r, v, f, theme, hits);
    }
}

pub(super) fn cell<'a>(c: &Cell, width: usize, base: Style, theme: &Theme) -> Span<'a> {
    Span::styled(format!("{:>width$}", c.text), theme.change(base, c.change))
}

/// First row to show so that `keep` stays visible in `height` rows out of `len`.
pub(super) fn scroll(keep: usize, height: usize, len: usize) -> usize {
    if len <= height {
        0
    } else {
        keep.saturating_sub(height / 2).min(len - height)
    }
}

fn desc_line<'a>(r: &DescRow, theme: &Theme, packed: bool, with_addr: bool) -> Line<'a> {
    let own = theme.owner(r.owner);
    let slot_style = if r.selected {
        own.patch(theme.selected())
    } else {
        own
    };
    let mut spans = vec![Span::styled(format!("{:>4} ", r.slot), slot_style)];
    if with_addr {
        spans.push(cell(&r.addr, 10, Style::new(), theme));
        spans.push(Span::raw(" "));
    }
    spans.extend([cell(&r.len, 5, Style::new(), theme), Span::raw(" ")]);
    if packed {
        spans.push(cell(&r.link, 4, Style::new(), theme));
        spans.push(Span::raw(" "));
        spans.push(cell(&r.flags, 13, Style::new(), theme));
    } else {
        spans.push(cell(&r.flags, 10, Style::new(), theme));
        spans.push(Span::raw(" "));
        spans.push(cell(&r.link, 4, Style::new(), theme));
    }
    spans.push(Span::styled(format!(" {}", owner_tag(r.owner)), own));
    if !r.notes.is_empty() {
        spans.push(Span::styled(
            format!(" ◀ {}", r.notes.join(", ")),
            theme.label(),
        ));
    }
    Line::from(spans)
}

fn ring(t: &mut Term<'_>, area: Rect, v: &SessionView, theme: &Theme, hits: &mut Vec<Hit>) {
    match &v.ring {
        RingPane::NotSetUp => {
            let p = Paragraph::new(vec![
                Line::from("No queue yet: the driver sets it up during negotiation,"),
                Line::from("just before DRIVER_OK. Step forward (→) to watch the status walk."),
            ])
            .style(theme.dim());
            t.render_widget(p, area);
        }
        RingPane::Split(s) => split(t, area, s, theme, hits),
        RingPane::Packed(p) => packed(t, area, p, theme, hits),
    }
}

fn desc_table(
    t: &mut Term<'_>,
    area: Rect,
    descs: &[DescRow],
    packed: bool,
    theme: &Theme,
    hits: &mut Vec<Hit>,
) {
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
    let mut lines = vec![Line::styled(head, theme.label())];
    for (i, r) in descs.iter().enumerate().skip(first).take(height) {
        lines.push(desc_line(r, theme, packed, with_addr));
        let y = area.y + 1 + (i - first) as u16;
        hits.push(Hit {
            area: Rect::new(area.x, y, area.width, 1),
            pane: PaneId::Ring,
            index: Some(usize::from(r.slot)),
        });
    }
    t.render_widget(Paragraph::new(lines), area);
}

fn side_lines<'a>(
    name: &str,
    s: &RingSide,
    event: &str,
    theme: &Theme,
    height: usize,
    entry_head: &str,
) -> Vec<Line<'a>> {
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{name} "), theme.label()),
            Span::raw("flags "),
            cell(&s.flags, 1, Style::new(), theme),
            Span::raw(" idx "),
            cell(&s.idx, 1, Style::new(), theme),
        ]),
        Line::from(vec![
            Span::raw(format!("{event} ")),
            cell(&s.event, 1, Style::new(), theme),
        ]),
        Line::styled(entry_head.to_string(), theme.dim()),
    ];
    let rows = height.saturating_sub(3);
    let keep = s.rows.iter().position(|r| !r.notes.is_empty()).unwrap_or(0);
    let first = scroll(keep, rows, s.rows.len());
    lines.extend(
        s.rows
            .iter()
            .skip(first)
            .take(rows)
            .map(|r| slot_line(r, theme)),
    );
    lines
}

fn slot_line<'a>(r: &SlotRow, theme: &Theme) -> Line<'a> {
    let own = theme.owner(r.owner);
    let mut spans = vec![
        Span::styled(format!("{:>4} ", r.slot), own),
        cell(&r.entry, 5, Style::new(), theme),
        Span::styled(format!(" {}", owner_tag(r.owner)), own),
    ];
    if !r.notes.is_empty() {
        spans.push(Span::styled(
            format!(" ◀{}", r.notes.join(",")),
            theme.label(),
        ));
    }
    Line::from(spans)
}

fn window_line<'a>(who: &str, w: &EventWindow, theme: &Theme) -> Line<'a> {
    let verdict = if w.fires { theme.label() } else { theme.dim() };
    Line::from(vec![
        Span::styled(format!("{who}: "), theme.label()),
        Span::styled(w.text.clone(), verdict),
    ])
}

fn split(t: &mut Term<'_>, area: Rect, s: &SplitPane, theme: &Theme, hits: &mut Vec<Hit>) {
    let [rings, windows] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(2)]).areas(area);
    // Narrow terminals cut the descriptors' notes first, never the avail and used rings.
    let desc_w = rings.width.saturating_sub(42).min(58);
    let [desc, avail, used] = Layout::horizontal([
        Constraint::Length(desc_w),
        Constraint::Length(21),
        Constraint::Min(21),
    ])
    .areas(rings);
    desc_table(t, desc, &s.descs, false, theme, hits);
    let h = avail.height as usize;
    t.render_widget(
        Paragraph::new(side_lines(
            "AVAIL",
            &s.avail,
            "used_event",
            theme,
            h,
            "slot  head",
        )),
        avail,
    );
    t.render_widget(
        Paragraph::new(side_lines(
            "USED",
            &s.used,
            "avail_event",
            theme,
            h,
            "slot  id   len",
        )),
        used,
    );
    t.render_widget(
        Paragraph::new(vec![
            window_line("kick", &s.kick, theme),
            window_line("interrupt", &s.interrupt, theme),
        ]),
        windows,
    );
}

fn packed(t: &mut Term<'_>, area: Rect, p: &PackedPane, theme: &Theme, hits: &mut Vec<Hit>) {
    let [desc, info] = Layout::vertical([Constraint::Min(3), Constraint::Length(4)]).areas(area);
    desc_table(t, desc, &p.descs, true, theme, hits);
    let ev = |name: &str, e: &ringside_core::view::EventArea| {
        vec![
            Span::styled(format!("{name} "), theme.label()),
            Span::raw("off_wrap "),
            cell(&e.off_wrap, 1, Style::new(), theme),
            Span::raw(" flags "),
            cell(&e.flags, 1, Style::new(), theme),
            Span::raw("   "),
        ]
    };
    let mut events = ev("driver_event", &p.driver_event);
    events.extend(ev("device_event", &p.device_event));
    let lines = vec![
        Line::from(format!("{}   {}", p.driver, p.device)),
        Line::from(events),
        Line::styled(
            "AU = AVAIL/USED bits: 10 avail (lap 1), 01 avail (lap 0), 11 used (lap 1), 00 used (lap 0) or never written",
            theme.dim(),
        ),
    ];
    t.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), info);
}

fn transport(t: &mut Term<'_>, area: Rect, v: &SessionView, f: &Frame, theme: &Theme) {
    let tp = &v.transport;
    let block = pane_block(PaneId::Transport, &f.ui, theme, "");
    let mut lines = vec![
        Line::from(vec![
            Span::styled("status ", theme.label()),
            cell(&tp.status, 1, Style::new(), theme),
        ]),
        Line::from(format!(
            "walk {}",
            tp.walk
                .iter()
                .map(|w| w.split(' ').next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("→")
        )),
        Line::styled("offered accepted negotiated  feature", theme.label()),
    ];
    let tick = |b: bool| if b { "   ✓    " } else { "   ·    " };
    for r in &tp.features {
        let style = if r.negotiated {
            theme.label()
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            Span::raw(format!(
                "{}{} {}  ",
                tick(r.offered),
                tick(r.accepted),
                tick(r.negotiated)
            )),
            Span::styled(r.name.clone(), style),
        ]));
    }
    if tp.legacy {
        lines.push(Line::styled("legacy (0.9) interface", theme.label()));
    }
    t.render_widget(Paragraph::new(lines).block(block), area);
}

fn narration(t: &mut Term<'_>, area: Rect, v: &SessionView, f: &Frame, theme: &Theme) {
    let n = &v.narration;
    let who = match n.agent {
        Some(a) => theme.owner(match a {
            Agent::Driver => ringside_core::view::Owner::Driver,
            Agent::Device => ringside_core::view::Owner::Device,
        }),
        None => Style::new(),
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(n.op.clone(), who.add_modifier(Modifier::BOLD)),
        Span::raw("  "),
        Span::styled(n.outcome.clone(), theme.dim()),
    ])];
    if let Some(s) = &n.say {
        lines.push(Line::from(s.clone()));
    }
    if let Some(l) = &n.last {
        lines.push(Line::from(vec![
            Span::styled("did  ", theme.label()),
            Span::raw(l.clone()),
        ]));
    }
    if let Some(x) = &n.next {
        lines.push(Line::from(vec![
            Span::styled("next ", theme.label()),
            Span::raw(x.clone()),
        ]));
    }
    let block = pane_block(PaneId::Narration, &f.ui, theme, "");
    t.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
        area,
    );
}

fn memory(
    t: &mut Term<'_>,
    area: Rect,
    v: &SessionView,
    f: &Frame,
    theme: &Theme,
    hits: &mut Vec<Hit>,
) {
    let m = &v.memory;
    let block = pane_block(PaneId::Memory, &f.ui, theme, "");
    let inner = block.inner(area);
    t.render_widget(block, area);
    let mut lines = vec![Line::styled(m.label.clone(), theme.label())];
    let height = inner.height.saturating_sub(1) as usize;
    let keep = m
        .rows
        .iter()
        .position(|r| r.addr == m.cursor & !15)
        .unwrap_or(0);
    let first = scroll(keep, height, m.rows.len());
    for (i, r) in m.rows.iter().enumerate().skip(first).take(height) {
        let mut spans = vec![Span::styled(format!("{:#010x} ", r.addr), theme.dim())];
        for (k, b) in r.bytes.iter().enumerate() {
            let base = if b.cursor {
                theme.cursor()
            } else {
                Style::new()
            };
            spans.push(Span::styled(
                HEX_BYTES[usize::from(b.value)],
                theme.change(base, b.change),
            ));
            spans.push(Span::raw(if k == 7 { "  " } else { " " }));
        }
        spans.push(Span::styled(r.label.clone(), theme.dim()));
        lines.push(Line::from(spans));
        hits.push(Hit {
            area: Rect::new(inner.x, inner.y + 1 + (i - first) as u16, inner.width, 1),
            pane: PaneId::Memory,
            index: usize::try_from(r.addr).ok(),
        });
    }
    t.render_widget(Paragraph::new(lines), inner);
}

fn cache(
    t: &mut Term<'_>,
    area: Rect,
    v: &SessionView,
    f: &Frame,
    theme: &Theme,
    hits: &mut Vec<Hit>,
) {
    let c = &v.cache;
    let block = pane_block(PaneId::Cache, &f.ui, theme, " (model)");
    let inner = block.inner(area);
    t.render_widget(block, area);
    let mut lines = vec![
        Line::styled(c.summary.clone(), theme.label()),
        Line::styled(c.sets.clone(), theme.dim()),
        Line::styled("line       drv dev xfer fields", theme.label()),
    ];
    let detail = if c.fields.is_empty() {
        0
    } else {
        c.fields.len() + 2
    };
    let rows = (inner.height as usize)
        .saturating_sub(3 + detail.min(inner.height as usize / 2))
        .max(1);
    let sel = c.lines.iter().position(|l| l.selected).unwrap_or(0);
    let first = scroll(sel, rows, c.lines.len());
    for (i, l) in c.lines.iter().enumerate().skip(first).take(rows) {
        let own = theme.owner(l.owner);
        let addr_style = if l.selected {
            own.patch(theme.selected())
        } else {
            own
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:#08x} ", l.addr),
                theme.change(addr_style, l.change),
            ),
            Span::styled(format!(" {}  {} ", l.states, owner_tag(l.owner)), own),
            Span::raw(format!("{:>4} ", l.transfers)),
            Span::styled(l.label.clone(), theme.dim()),
        ]));
        hits.push(Hit {
            area: Rect::new(inner.x, inner.y + (lines.len() - 1) as u16, inner.width, 1),
            pane: PaneId::Cache,
            index: Some(i),
        });
    }
    if let Some(l) = c.lines.get(sel).filter(|_| !c.fields.is_empty()) {
        lines.push(Line::styled(
            format!(
                "line {:#x}: +off field   drv ld/st (xfer)  dev ld/st (xfer)",
                l.addr
            ),
            theme.label(),
        ));
        for r in &c.fields {
            lines.push(Line::from(format!(
                "  +{:<3} {:<18} {:>10} {:>10} {:>3}",
                r.offset, r.field, r.driver, r.device, r.transfers
            )));
        }
    }
    t.render_widget(Paragraph::new(lines), inner);
}

fn findings(
    t: &mut Term<'_>,
    area: Rect,
    v: &SessionView,
    f: &Frame,
    theme: &Theme,
    hits: &mut Vec<Hit>,
) {
    let block = pane_block(
        PaneId::Findings,
        &f.ui,
        theme,
        &format!(" ({})", v.findings.len()),
    );
    let rows = v.findings.iter().enumerate().map(|(i, r)| FindingLine {
        location: format!("{:>5}", r.step),
        severity: r.severity,
        text: &r.text,
        change: r.change,
        hit: Some(i),
        ground_truth: r.source == FindingSource::GroundTruth,
    });
    findings_list(
        t,
        area,
        block,
        rows,
        "no findings up to this step",
        theme,
        hits,
    );
}

/// One row of a findings pane, scenario or trace.
pub(super) struct FindingLine<'a> {
    /// Step or trace line, right-aligned.
    pub location: String,
    pub severity: Severity,
    pub text: &'a str,
    pub change: Change,
    /// What a click on the row selects.
    pub hit: Option<usize>,
    /// ringside's ground truth rather than a side's detection: marked `truth`, dimmed.
    pub ground_truth: bool,
}

/// Paints a findings pane: the newest rows that fit, each clickable, or `empty` when none.
pub(super) fn findings_list<'a>(
    t: &mut Term<'_>,
    area: Rect,
    block: Block<'_>,
    rows: impl ExactSizeIterator<Item = FindingLine<'a>>,
    empty: &str,
    theme: &Theme,
    hits: &mut Vec<Hit>,
) {
    let inner = block.inner(area);
    t.render_widget(block, area);
    if rows.len() == 0 {
        t.render_widget(Paragraph::new(empty).style(theme.dim()), inner);
        return;
    }
    let first = rows.len().saturating_sub(inner.height as usize);
    let mut lines = Vec::new();
    for (k, r) in rows.skip(first).enumerate() {
        if let Some(index) = r.hit {
            hits.push(Hit {
                area: Rect::new(inner.x, inner.y + k as u16, inner.width, 1),
                pane: PaneId::Findings,
                index: Some(index),
            });
        }
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} ", r.location),
                theme.change(theme.dim(), r.change),
            ),
            Span::styled(
                format!("{:<7} ", r.severity.to_string()),
                theme.severity(r.severity),
            ),
            if r.ground_truth {
                Span::styled("truth ", theme.dim())
            } else {
                Span::raw("")
            },
            Span::raw(r.text.to_string()),
        ]));
    }
    t.render_widget(Paragraph::new(lines), inner);
}

fn timeline(
    t: &mut Term<'_>,
    area: Rect,
    v: &SessionView,
    f: &Frame,
    theme: &Theme,
    hits: &mut Vec<Hit>,
) {
    let tl = &v.timeline;
    let block = pane_block(
        PaneId::Timeline,
        &f.ui,
        theme,
        &format!(" ({} ops)", tl.total),
    );
    let inner = block.inner(area);
    t.render_widget(block, area);
    let width = inner.width.saturating_sub(5) as usize;
    let cur = tl
        .ops
        .iter()
        .position(|o| o.current)
        .unwrap_or(tl.ops.len().saturating_sub(1));
    let first = scroll(cur, width, tl.ops.len());
    let shown = &tl.ops[first.min(tl.ops.len())..(first + width).min(tl.ops.len())];
    let lane = |agent: Agent| {
        let mut spans = vec![Span::styled(
            if agent == Agent::Driver {
                "drv "
            } else {
                "dev "
            },
            theme.owner(match agent {
                Agent::Driver => ringside_core::view::Owner::Driver,
                Agent::Device => ringside_core::view::Owner::Device,
            }),
        )];
        for o in shown {
            let text = if o.agent == agent {
                o.glyph.to_string()
            } else {
                " ".into()
            };
            let style = if o.current {
                theme.cursor()
            } else {
                Style::new()
            };
            spans.push(Span::styled(text, style));
        }
        Line::from(spans)
    };
    let mut events = vec![Span::raw("    ")];
    for o in shown {
        let c = if o.marked {
            "m"
        } else if o.finding {
            "!"
        } else if o.notified {
            "↯"
        } else {
            " "
        };
        events.push(Span::styled(
            c,
            if o.finding {
                theme.error()
            } else {
                theme.label()
            },
        ));
    }
    for (k, o) in shown.iter().enumerate() {
        hits.push(Hit {
            area: Rect::new(inner.x + 4 + k as u16, inner.y, 1, inner.height),
            pane: PaneId::Timeline,
            index: Some(o.index),
        });
    }
    let mut lines = vec![lane(Agent::Driver), lane(Agent::Device), Line::from(events)];
    if inner.height > 3 {
        lines.push(Line::styled(TIMELINE_LEGEND, theme.dim()));
    }
    t.render_widget(Paragraph::new(lines), inner);
}

fn status_line(t: &mut Term<'_>, area: Rect, ui: &UiView, theme: &Theme) {
    let line = if let Some(p) = &ui.prompt {
        let mut spans = vec![
            Span::styled(p.label.clone(), theme.label()),
            Span::raw(p.text.clone()),
            Span::styled("█", theme.dim()),
        ];
        if let Some(e) = &p.error {
            spans.push(Span::styled(format!("   {e}"), theme.error()));
        }
        Line::from(spans)
    } else if let Some(m) = &ui.message {
        Line::styled(
            m.text.clone(),
            if m.error {
                theme.error()
            } else {
                theme.label()
            },
        )
    } else {
        let mut s = String::new();
        if !ui.breakpoints.is_empty() {
            let list: Vec<String> = ui
                .breakpoints
                .iter()
                .enumerate()
                .map(|(i, b)| format!("{}:{b}", i + 1))
                .collect();
            s.push_str(&format!("breakpoints {}  ", list.join("  ")));
        }
        if let Some(q) = &ui.search {
            s.push_str(&format!("search /{q}  "));
        }
        s.push_str(&format!("speed {}/s", ui.speed));
        Line::styled(s, theme.dim())
    };
    t.render_widget(line, area);
}

fn hint_bar(t: &mut Term<'_>, area: Rect, ui: &UiView, theme: &Theme) {
    let mut spans = Vec::new();
    for (k, label) in &ui.hints {
        spans.push(Span::styled(k.replace("Shift+", "⇧"), theme.key()));
        spans.push(Span::raw(format!(" {label}  ")));
    }
    t.render_widget(Line::from(spans), area);
}

fn help(
    t: &mut Term<'_>,
    area: Rect,
    scroll_by: usize,
    rows: &[ringside_core::view::HelpRow],
    theme: &Theme,
) {
    let w = area.width.min(90);
    let h = area.height.saturating_sub(2).min(40);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    let mut lines = Vec::new();
    let mut section = "";
    for row in rows {
        if row.section != section {
            section = &row.section;
            lines.push(Line::styled(section.to_string(), theme.label()));
        }
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<18}", row.keys), theme.label()),
            Span::raw(row.desc.clone()),
        ]));
    }
    let max = lines.len().saturating_sub(h.saturating_sub(2) as usize);
    let first = scroll_by.min(max);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(" help — Esc or ? closes, ↑/↓ scroll ")
        .title_bottom(concat!(" ringside ", env!("CARGO_PKG_VERSION"), " "));
    t.render_widget(Clear, r);
    t.render_widget(
        Paragraph::new(lines.split_off(first.min(lines.len())))
            .wrap(Wrap { trim: false })
            .block(block),
        r,
    );
}
