//! The screen of a QEMU trace: the per-queue table, the event at the cursor, findings, the
//! selected queue's ring dump and the per-queue timeline.

use super::chrome::{self, FindingLine};
use super::wrap;
use super::{Constraint, Emphasis, Line, Rect, Screen, Size, Span, Style, Target, scroll};
use crate::command::{Command, Item, PaneId};
use crate::view::trace::{QUEUE_COLUMNS, TRACE_TIMELINE_LEGEND, TraceFrame, TraceView};

/// Timeline columns of a trace screen of this size.
pub fn columns(size: Size) -> usize {
    usize::from(size.cols.saturating_sub(12).max(8))
}

/// What each pane is called in a trace.
fn name(p: PaneId) -> &'static str {
    match p {
        PaneId::Ring => "queues (↑/↓ select)",
        PaneId::Narration => "event",
        PaneId::Memory => "ring dump",
        PaneId::Timeline => "events per queue",
        PaneId::Findings => "findings up to here",
        PaneId::Cache | PaneId::Transport | PaneId::Lesson => p.title(),
    }
}

/// Where the trace panes go.
#[derive(Default)]
struct Slots {
    queues: Option<Rect>,
    event: Option<Rect>,
    findings: Option<Rect>,
    ring: Option<Rect>,
    timeline: Option<Rect>,
}

impl Slots {
    fn slot(&mut self, p: PaneId) -> Option<&mut Option<Rect>> {
        match p {
            PaneId::Ring => Some(&mut self.queues),
            PaneId::Narration => Some(&mut self.event),
            PaneId::Findings => Some(&mut self.findings),
            PaneId::Memory => Some(&mut self.ring),
            PaneId::Timeline => Some(&mut self.timeline),
            PaneId::Cache | PaneId::Transport | PaneId::Lesson => None,
        }
    }
}

fn layout(body: Rect, v: &TraceView, focus: PaneId, zoom: bool) -> Slots {
    let mut s = Slots::default();
    if zoom && let Some(slot) = s.slot(focus) {
        *slot = Some(body);
        return s;
    }
    let h = body.height;
    let queues_h = (v.queues.len() as u16 + 3).min(h / 2).max(3.min(h));
    let event_h = 4.min(h - queues_h);
    let lanes = v.timeline.lanes.len() as u16;
    let left = h - queues_h - event_h;
    let timeline_h = (lanes + 4).min(left / 2 + 1).min(left);
    let lower_h = left - timeline_h;
    let [q, e, lower, tl] = body.rows([
        Constraint::Length(queues_h),
        Constraint::Length(event_h),
        Constraint::Length(lower_h),
        Constraint::Length(timeline_h),
    ]);
    s.queues = Some(q);
    s.event = (event_h >= 3).then_some(e);
    s.timeline = (timeline_h >= 3).then_some(tl);
    if lower_h >= 3 {
        if v.ring.is_some() && body.width >= 120 {
            let [f, r] = lower.cols([Constraint::Fill(1), Constraint::Length(64)]);
            s.findings = Some(f);
            s.ring = Some(r);
        } else {
            s.findings = Some(lower);
        }
    }
    // A focused pane with no place takes the lower band, else the timeline's.
    let shown = s.slot(focus).is_none_or(|r| r.is_some());
    if !shown {
        let donor = if lower_h >= 3 { lower } else { tl };
        s.findings = s.findings.filter(|_| lower_h < 3);
        s.ring = None;
        if lower_h < 3 {
            s.timeline = None;
        }
        if let Some(slot) = s.slot(focus) {
            *slot = Some(donor);
        }
    }
    s
}

/// The screen of a trace frame.
pub fn screen(frame: &TraceFrame, size: Size) -> Screen {
    let status_lines = chrome::status_lines(&frame.ui, size.cols);
    let [head, body, status, hint] = chrome::bands(size, status_lines.len());
    let v = &frame.view;
    let ui = &frame.ui;
    let mut slots = layout(body, v, ui.focus, ui.zoom);
    let mut panes = Vec::new();
    let mut targets = Vec::new();
    for p in [
        PaneId::Ring,
        PaneId::Narration,
        PaneId::Findings,
        PaneId::Memory,
        PaneId::Timeline,
    ] {
        let Some(Some(r)) = slots.slot(p).copied() else {
            continue;
        };
        let inner = r.inner();
        let (title, lines) = match p {
            PaneId::Ring => (name(p).to_string(), queues(inner, v, &mut targets)),
            PaneId::Narration => (
                name(p).to_string(),
                wrap(&event(v), usize::from(inner.width), false),
            ),
            PaneId::Findings => (
                format!("{} ({})", name(p), v.findings.len()),
                findings(inner, v, &mut targets),
            ),
            PaneId::Memory => match &v.ring {
                Some(d) => (format!("ring dump {}", d.title), dump(v)),
                None => (
                    name(p).to_string(),
                    vec![Line::styled(
                        "no ring dump of this queue (open with --rings DIR)",
                        Style::DIM,
                    )],
                ),
            },
            _ => (name(p).to_string(), timeline(inner, v, &mut targets)),
        };
        panes.push(chrome::pane(p, r, ui, &title, lines));
    }
    chrome::focus_targets(&panes, &mut targets);
    let hidden: Vec<PaneId> = [
        PaneId::Ring,
        PaneId::Narration,
        PaneId::Findings,
        PaneId::Memory,
        PaneId::Timeline,
    ]
    .into_iter()
    .filter(|&p| !slots.slot(p).is_some_and(|r| r.is_some()))
    .collect();
    Screen {
        size,
        header: chrome::bar(head, header(frame)),
        panes,
        status: chrome::status(status, status_lines),
        hints: chrome::hints(hint, ui, &hidden),
        overlay: ui
            .help
            .as_ref()
            .map(|(scroll, rows)| chrome::help(size.rect(), *scroll, rows)),
        targets,
        pictures: Default::default(),
    }
}

fn header(f: &TraceFrame) -> Line {
    let h = &f.view.header;
    let mut l = Line::new(vec![
        chrome::badge(),
        Span::new(format!(" event {}/{}", h.step, h.steps), Style::LABEL),
    ]);
    if let Some(n) = h.line {
        l.push(format!("  line {n}"), Style::LABEL);
    }
    chrome::play_and_marks(&mut l, &f.ui, h.mark_delta);
    l.push(format!("  {}", h.source), Style::PLAIN);
    l
}

fn queues(inner: Rect, v: &TraceView, targets: &mut Vec<Target>) -> Vec<Line> {
    // Column widths from the widest value, so the table is as narrow as the data.
    let widths: Vec<usize> = (0..QUEUE_COLUMNS.len())
        .map(|c| {
            v.queues
                .iter()
                .filter_map(|q| q.cells.get(c))
                .map(|x| x.text.len())
                .chain([QUEUE_COLUMNS[c].len()])
                .max()
                .unwrap_or(1)
        })
        .collect();
    let device = inner.width >= 150;
    // Packed positions only when a queue has them.
    let packed = v.queues.iter().any(|q| q.layout == "packed");
    let shown = if packed {
        QUEUE_COLUMNS.len()
    } else {
        QUEUE_COLUMNS.len() - 2
    };
    let mut head = format!("{:<9}{:<7}{:>5}", "queue", "layout", "size");
    for (c, w) in QUEUE_COLUMNS.iter().zip(&widths).take(shown) {
        head.push_str(&format!(" {c:>w$}"));
    }
    if device {
        head.push_str("  device");
    }
    let mut lines = vec![Line::styled(head, Style::LABEL)];
    let rows = inner.height.saturating_sub(1) as usize;
    let sel = v.queues.iter().position(|q| q.selected).unwrap_or(0);
    let first = scroll(sel, rows, v.queues.len());
    for (i, q) in v.queues.iter().enumerate().skip(first).take(rows) {
        let name_style = match (q.selected, q.current) {
            (true, _) => Style::PLAIN.with(Emphasis::Selected),
            (false, true) => Style::PLAIN.with(Emphasis::Cursor),
            _ => Style::PLAIN,
        };
        let mut l = Line::styled(format!("{:<8}", q.name), name_style);
        l.push(format!(" {:<7}{:>5}", q.layout, q.size), Style::PLAIN);
        for (c, w) in q.cells.iter().zip(&widths).take(shown) {
            l.push(" ", Style::PLAIN);
            l.push(format!("{:>w$}", c.text), Style::PLAIN.changed(c.change));
        }
        if device {
            l.push(format!("  {}", q.device), Style::DIM);
        }
        lines.push(l);
        targets.push(Target {
            area: inner.row((lines.len() - 1) as u16),
            command: Command::Select {
                pane: PaneId::Ring,
                item: Item::Queue(i),
            },
        });
    }
    lines
}

fn event(v: &TraceView) -> Vec<Line> {
    match &v.event {
        Some(e) => {
            let mut fields = Line::styled(format!("line {} ", e.line), Style::LABEL);
            for (k, val) in &e.fields {
                fields.push(format!("{k}="), Style::DIM);
                fields.push(format!("{val}  "), Style::PLAIN);
            }
            vec![Line::plain(e.raw.clone()), fields]
        }
        None => vec![Line::styled(
            "before the first event: → steps one event, ⇧→ the selected queue's next",
            Style::DIM,
        )],
    }
}

fn findings(inner: Rect, v: &TraceView, targets: &mut Vec<Target>) -> Vec<Line> {
    let rows = v.findings.iter().map(|r| FindingLine {
        location: r.line.map_or("    -".to_string(), |l| format!("{l:>5}")),
        severity: r.severity,
        text: &r.text,
        change: r.change,
        // A trace's findings are the detectors' reading of what QEMU logged.
        ground_truth: false,
        command: r.step.map(|s| Command::Select {
            pane: PaneId::Findings,
            item: Item::Step(s),
        }),
    });
    chrome::findings_list(inner, rows, "no findings up to this event", targets)
}

fn dump(v: &TraceView) -> Vec<Line> {
    let Some(r) = &v.ring else {
        return Vec::new();
    };
    let mut lines = vec![Line::styled(r.when.clone(), Style::LABEL)];
    lines.extend(r.lines.iter().map(|l| Line::plain(l.clone())));
    lines
}

fn timeline(inner: Rect, v: &TraceView, targets: &mut Vec<Target>) -> Vec<Line> {
    let tl = &v.timeline;
    let label_w = 9;
    let glyph_line = |label: &str, glyphs: &str| {
        let mut l = Line::styled(format!("{label:<label_w$}"), Style::LABEL);
        for (k, c) in glyphs.chars().enumerate() {
            let s = if Some(k) == tl.cursor {
                Style::PLAIN.with(Emphasis::Cursor)
            } else {
                Style::PLAIN
            };
            l.push(c.to_string(), s);
        }
        l
    };
    let room = inner.height as usize;
    // Flags and legend first to go; lanes stay in queue order.
    let lanes = tl.lanes.len().min(room.saturating_sub(1).max(1));
    let sel = v.queues.iter().position(|q| q.selected).unwrap_or(0);
    let first = scroll(sel, lanes, tl.lanes.len());
    let mut lines: Vec<Line> = tl
        .lanes
        .iter()
        .skip(first)
        .take(lanes)
        .map(|l| glyph_line(&l.label, &l.glyphs))
        .collect();
    if room > lanes {
        lines.push(glyph_line("", &tl.flags));
    }
    if room > lanes + 1 {
        lines.push(Line::styled(TRACE_TIMELINE_LEGEND, Style::DIM));
    }
    let columns = tl.flags.chars().count();
    for k in 0..columns.min(inner.width.saturating_sub(label_w as u16) as usize) {
        targets.push(Target {
            area: Rect::new(
                inner.x + label_w as u16 + k as u16,
                inner.y,
                1,
                inner.height,
            ),
            command: Command::Select {
                pane: PaneId::Timeline,
                item: Item::Step(tl.first + k as u64),
            },
        });
    }
    lines
}
