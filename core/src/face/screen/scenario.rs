//! The screen of a scenario session: where each pane goes for a size, and what it says.

use super::chrome::{self, FindingLine};
use super::ring;
use super::{Constraint, Emphasis, Line, Pane, Rect, Screen, Size, Span, Style, Target};
use super::{scroll, wrap};
use crate::command::{Command, Item, PaneId};
use crate::memory::Agent;
use crate::view::{Frame, Owner, RingPane, SessionView, TIMELINE_LEGEND, UiView};

/// Frame options for a screen of this size: how many hex rows and timeline ops to build.
pub fn options(size: Size) -> crate::view::FrameOptions {
    crate::view::FrameOptions {
        memory_rows: 16,
        timeline_ops: usize::from(size.cols.max(8)),
    }
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
    let [top, narr, lower, time] = body.rows([
        Constraint::Length(ring_h),
        Constraint::Length(narration_h),
        Constraint::Length(lower_h),
        Constraint::Length(timeline_h),
    ]);
    if body.width >= 150 {
        let [ring, side] = top.cols([Constraint::Min(80), Constraint::Length(46)]);
        s.ring = Some(ring);
        s.transport = Some(side);
    } else {
        s.ring = Some(top);
    }
    s.narration = (narration_h > 0).then_some(narr);
    s.timeline = (timeline_h > 0).then_some(time);
    if lower_h > 0 && body.width >= 150 {
        let [mem, cache, fin] = lower.cols([
            Constraint::Length(84),
            Constraint::Length(64),
            Constraint::Min(20),
        ]);
        s.memory = Some(mem);
        s.cache = Some(cache);
        s.findings = (fin.width >= 20).then_some(fin);
    } else if lower_h > 0 {
        let [mem, fin] = lower.cols([Constraint::Length(84), Constraint::Min(20)]);
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
                    let [a, b] = ring.rows([Constraint::Fill(1), Constraint::Fill(1)]);
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

/// The screen of a scenario frame.
pub fn screen(frame: &Frame, size: Size) -> Screen {
    let [head, body, status, hint] = chrome::bands(size);
    let mut panes = Vec::new();
    let mut targets = Vec::new();
    match &frame.compare {
        Some((label, other)) => {
            let [l, r] = body.cols([Constraint::Fill(1), Constraint::Fill(1)]);
            session(l, &frame.main, &frame.ui, None, &mut panes, &mut targets);
            // The compared side follows the main one: nothing in it is clickable.
            let mut ignored = Vec::new();
            session(r, other, &frame.ui, Some(label), &mut panes, &mut ignored);
            chrome::focus_targets(&panes[..panes.len() / 2], &mut targets);
        }
        None => {
            session(body, &frame.main, &frame.ui, None, &mut panes, &mut targets);
            chrome::focus_targets(&panes, &mut targets);
        }
    }
    Screen {
        size,
        header: super::Bar {
            area: head,
            line: header(frame),
        },
        panes,
        status: chrome::status(status, &frame.ui),
        hints: chrome::hints(hint, &frame.ui),
        overlay: frame
            .ui
            .help
            .as_ref()
            .map(|(scroll, rows)| chrome::help(size.rect(), *scroll, rows)),
        targets,
    }
}

fn header(f: &Frame) -> Line {
    let h = &f.main.header;
    let mut l = Line::new(vec![
        chrome::badge(),
        Span::new(
            format!(
                " step {}/{}  op {}/{}  {} q={} ",
                h.step,
                h.steps,
                (h.op + 1).min(h.ops),
                h.ops,
                h.kind,
                h.size,
            ),
            Style::LABEL,
        ),
    ]);
    chrome::play_and_marks(&mut l, &f.ui, h.mark_delta);
    l.push(format!("  {}", h.title), Style::PLAIN);
    if let Some(c) = &h.chapter {
        l.push(format!("  [{c}]"), Style::DIM);
    }
    l
}

fn session(
    area: Rect,
    v: &SessionView,
    ui: &UiView,
    label: Option<&String>,
    panes: &mut Vec<Pane>,
    targets: &mut Vec<Target>,
) {
    // Rows the ring wants: every slot, its heading, the event lines and the borders.
    let ring_rows = match &v.ring {
        RingPane::NotSetUp => 4,
        RingPane::Split(s) => s.descs.len() as u16 + 5,
        RingPane::Packed(p) => p.descs.len() as u16 + 7,
    };
    let slots = layout(area, ui.focus, ui.zoom, ring_rows.max(8));
    if let Some(r) = slots.ring {
        let extra = match label {
            Some(l) => format!(" — {l}"),
            None => format!(" — {}", v.header.kind),
        };
        let name = format!("{}{extra}", PaneId::Ring.title());
        let lines = ring::lines(r.inner(), v, targets);
        panes.push(chrome::pane(PaneId::Ring, r, ui, &name, lines));
    }
    if let Some(r) = slots.transport {
        panes.push(chrome::pane(
            PaneId::Transport,
            r,
            ui,
            PaneId::Transport.title(),
            transport(v),
        ));
    }
    if let Some(r) = slots.narration {
        let lines = wrap(&narration(v), usize::from(r.inner().width), true);
        panes.push(chrome::pane(
            PaneId::Narration,
            r,
            ui,
            PaneId::Narration.title(),
            lines,
        ));
    }
    if let Some(r) = slots.memory {
        let lines = memory(r.inner(), v, targets);
        panes.push(chrome::pane(
            PaneId::Memory,
            r,
            ui,
            PaneId::Memory.title(),
            lines,
        ));
    }
    if let Some(r) = slots.cache {
        let lines = cache(r.inner(), v, targets);
        let name = format!("{} (model)", PaneId::Cache.title());
        panes.push(chrome::pane(PaneId::Cache, r, ui, &name, lines));
    }
    if let Some(r) = slots.findings {
        let rows = v.findings.iter().map(|f| FindingLine {
            location: format!("{:>5}", f.step),
            severity: f.severity,
            text: &f.text,
            change: f.change,
            command: Some(Command::Select {
                pane: PaneId::Findings,
                item: Item::Step(f.step),
            }),
        });
        let lines = chrome::findings_list(r.inner(), rows, "no findings up to this step", targets);
        let name = format!("{} ({})", PaneId::Findings.title(), v.findings.len());
        panes.push(chrome::pane(PaneId::Findings, r, ui, &name, lines));
    }
    if let Some(r) = slots.timeline {
        let lines = timeline(r.inner(), v, targets);
        let name = format!("{} ({} ops)", PaneId::Timeline.title(), v.timeline.total);
        panes.push(chrome::pane(PaneId::Timeline, r, ui, &name, lines));
    }
}

fn transport(v: &SessionView) -> Vec<Line> {
    let tp = &v.transport;
    let walk: Vec<String> = tp.walk.iter().map(u8::to_string).collect();
    let mut status = Line::styled("status ", Style::LABEL);
    status.push(
        tp.status.text.clone(),
        Style::PLAIN.changed(tp.status.change),
    );
    let mut lines = vec![
        status,
        Line::plain(format!("walk {}", walk.join("→"))),
        Line::styled("offered accepted negotiated  feature", Style::LABEL),
    ];
    let tick = |b: bool| if b { "   ✓    " } else { "   ·    " };
    for r in &tp.features {
        let style = if r.negotiated {
            Style::LABEL
        } else {
            Style::PLAIN
        };
        let mut l = Line::plain(format!(
            "{}{} {}  ",
            tick(r.offered),
            tick(r.accepted),
            tick(r.negotiated)
        ));
        l.push(r.name.clone(), style);
        lines.push(l);
    }
    if tp.legacy {
        lines.push(Line::styled("legacy (0.9) interface", Style::LABEL));
    }
    lines
}

fn narration(v: &SessionView) -> Vec<Line> {
    let n = &v.narration;
    let who = match n.agent {
        Some(Agent::Driver) => Style::owner(Owner::Driver),
        Some(Agent::Device) => Style::owner(Owner::Device),
        None => Style::PLAIN,
    };
    let mut head = Line::styled(n.op.clone(), who.with(Emphasis::Bold));
    head.push("  ", Style::PLAIN);
    head.push(n.outcome.clone(), Style::DIM);
    let mut lines = vec![head];
    if let Some(s) = &n.say {
        lines.push(Line::plain(s.clone()));
    }
    if let Some(l) = &n.last {
        let mut x = Line::styled("did  ", Style::LABEL);
        x.push(l.clone(), Style::PLAIN);
        lines.push(x);
    }
    if let Some(l) = &n.next {
        let mut x = Line::styled("next ", Style::LABEL);
        x.push(l.clone(), Style::PLAIN);
        lines.push(x);
    }
    lines
}

/// Every byte value as two hex digits: the hex pane shows hundreds per frame.
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

fn memory(inner: Rect, v: &SessionView, targets: &mut Vec<Target>) -> Vec<Line> {
    let m = &v.memory;
    let mut lines = vec![Line::styled(m.label.clone(), Style::LABEL)];
    let height = inner.height.saturating_sub(1) as usize;
    let keep = m
        .rows
        .iter()
        .position(|r| r.addr == m.cursor & !15)
        .unwrap_or(0);
    let first = scroll(keep, height, m.rows.len());
    for (i, r) in m.rows.iter().enumerate().skip(first).take(height) {
        let mut l = Line::styled(format!("{:#010x} ", r.addr), Style::DIM);
        for (k, b) in r.bytes.iter().enumerate() {
            let base = if b.cursor {
                Style::PLAIN.with(Emphasis::Cursor)
            } else {
                Style::PLAIN
            };
            l.push(HEX_BYTES[usize::from(b.value)], base.changed(b.change));
            l.push(if k == 7 { "  " } else { " " }, Style::PLAIN);
        }
        l.push(r.label.clone(), Style::DIM);
        lines.push(l);
        targets.push(Target {
            area: inner.row(1 + (i - first) as u16),
            command: Command::Select {
                pane: PaneId::Memory,
                item: Item::Address(r.addr),
            },
        });
    }
    lines
}

fn cache(inner: Rect, v: &SessionView, targets: &mut Vec<Target>) -> Vec<Line> {
    let c = &v.cache;
    let mut lines = vec![
        Line::styled(c.summary.clone(), Style::LABEL),
        Line::styled(c.sets.clone(), Style::DIM),
        Line::styled("line       drv dev xfer fields", Style::LABEL),
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
        let own = Style::owner(l.owner);
        let addr_style = if l.selected {
            own.with(Emphasis::Selected)
        } else {
            own
        };
        let mut line = Line::styled(format!("{:#08x} ", l.addr), addr_style.changed(l.change));
        line.push(format!(" {}  {} ", l.states, ring::owner_tag(l.owner)), own);
        line.push(format!("{:>4} ", l.transfers), Style::PLAIN);
        line.push(l.label.clone(), Style::DIM);
        lines.push(line);
        targets.push(Target {
            area: inner.row((lines.len() - 1) as u16),
            command: Command::Select {
                pane: PaneId::Cache,
                item: Item::Line(i),
            },
        });
    }
    if let Some(l) = c.lines.get(sel).filter(|_| !c.fields.is_empty()) {
        lines.push(Line::styled(
            format!(
                "line {:#x}: +off field   drv ld/st (xfer)  dev ld/st (xfer)",
                l.addr
            ),
            Style::LABEL,
        ));
        for r in &c.fields {
            lines.push(Line::plain(format!(
                "  +{:<3} {:<18} {:>10} {:>10} {:>3}",
                r.offset, r.field, r.driver, r.device, r.transfers
            )));
        }
    }
    lines
}

fn timeline(inner: Rect, v: &SessionView, targets: &mut Vec<Target>) -> Vec<Line> {
    let tl = &v.timeline;
    let width = inner.width.saturating_sub(5) as usize;
    let cur = tl
        .ops
        .iter()
        .position(|o| o.current)
        .unwrap_or(tl.ops.len().saturating_sub(1));
    let first = scroll(cur, width, tl.ops.len());
    let shown = &tl.ops[first.min(tl.ops.len())..(first + width).min(tl.ops.len())];
    let lane = |agent: Agent| {
        let (name, owner) = match agent {
            Agent::Driver => ("drv ", Owner::Driver),
            Agent::Device => ("dev ", Owner::Device),
        };
        let mut l = Line::styled(name, Style::owner(owner));
        for o in shown {
            let text = if o.agent == agent {
                o.glyph.to_string()
            } else {
                " ".into()
            };
            let style = if o.current {
                Style::PLAIN.with(Emphasis::Cursor)
            } else {
                Style::PLAIN
            };
            l.push(text, style);
        }
        l
    };
    let mut events = Line::plain("    ");
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
        let style = if o.finding {
            Style::ERROR
        } else {
            Style::LABEL
        };
        events.push(c, style);
    }
    for (k, o) in shown.iter().enumerate() {
        targets.push(Target {
            area: Rect::new(inner.x + 4 + k as u16, inner.y, 1, inner.height),
            command: Command::Select {
                pane: PaneId::Timeline,
                item: Item::Step(o.start),
            },
        });
    }
    let mut lines = vec![lane(Agent::Driver), lane(Agent::Device), events];
    if inner.height > 3 {
        lines.push(Line::styled(TIMELINE_LEGEND, Style::DIM));
    }
    lines
}
