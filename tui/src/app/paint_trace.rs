//! Paints a core [`TraceFrame`]: the per-queue table, the event at the cursor, findings, the
//! selected queue's ring dump and the per-queue timeline. Like `paint`, it computes nothing.

use ratatui::Frame as Term;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ringside_core::command::PaneId;
use ringside_core::view::trace::{QUEUE_COLUMNS, TRACE_TIMELINE_LEGEND, TraceFrame, TraceView};

use super::paint::{
    FindingLine, Hit, cell, chrome, findings_list, play_and_marks, screen, scroll, titled_block,
};
use super::theme::Theme;

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
            PaneId::Cache | PaneId::Transport => None,
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
    let [q, e, lower, tl] = Layout::vertical([
        Constraint::Length(queues_h),
        Constraint::Length(event_h),
        Constraint::Length(lower_h),
        Constraint::Length(timeline_h),
    ])
    .areas(body);
    s.queues = Some(q);
    s.event = (event_h >= 3).then_some(e);
    s.timeline = (timeline_h >= 3).then_some(tl);
    if lower_h >= 3 {
        if v.ring.is_some() && body.width >= 120 {
            let [f, r] =
                Layout::horizontal([Constraint::Fill(1), Constraint::Length(64)]).areas(lower);
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

/// Paints a trace frame; returns the clickable areas.
pub fn paint_trace(t: &mut Term<'_>, frame: &TraceFrame, theme: &Theme) -> Vec<Hit> {
    let area = t.area();
    let mut hits = Vec::new();
    let [head, body, status, hint] = screen(area);
    let v = &frame.view;
    header(t, head, frame, theme);
    let slots = layout(body, v, frame.ui.focus, frame.ui.zoom);
    for (p, r) in [
        (PaneId::Ring, slots.queues),
        (PaneId::Narration, slots.event),
        (PaneId::Findings, slots.findings),
        (PaneId::Memory, slots.ring),
        (PaneId::Timeline, slots.timeline),
    ] {
        if let Some(r) = r {
            hits.push(Hit {
                area: r,
                pane: p,
                index: None,
            });
        }
    }
    if let Some(r) = slots.queues {
        queues(t, r, frame, theme, &mut hits);
    }
    if let Some(r) = slots.event {
        event(t, r, frame, theme);
    }
    if let Some(r) = slots.findings {
        findings(t, r, frame, theme, &mut hits);
    }
    if let Some(r) = slots.ring {
        ring(t, r, frame, theme);
    }
    if let Some(r) = slots.timeline {
        timeline(t, r, frame, theme, &mut hits);
    }
    chrome(t, area, status, hint, &frame.ui, theme);
    hits
}

fn header(t: &mut Term<'_>, area: Rect, f: &TraceFrame, theme: &Theme) {
    let h = &f.view.header;
    let mut spans = vec![
        Span::styled(" ringside ", theme.key()),
        Span::styled(format!(" event {}/{}", h.step, h.steps), theme.label()),
    ];
    if let Some(l) = h.line {
        spans.push(Span::styled(format!("  line {l}"), theme.label()));
    }
    play_and_marks(&mut spans, &f.ui, h.mark_delta, theme);
    spans.push(Span::raw(format!("  {}", h.source)));
    t.render_widget(Line::from(spans), area);
}

fn queues(t: &mut Term<'_>, area: Rect, f: &TraceFrame, theme: &Theme, hits: &mut Vec<Hit>) {
    let v = &f.view;
    let block = titled_block(PaneId::Ring, &f.ui, theme, "queues (↑/↓ select)");
    let inner = block.inner(area);
    t.render_widget(block, area);
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
    let mut lines = vec![Line::styled(head, theme.label())];
    let rows = inner.height.saturating_sub(1) as usize;
    let sel = v.queues.iter().position(|q| q.selected).unwrap_or(0);
    let first = scroll(sel, rows, v.queues.len());
    for (i, q) in v.queues.iter().enumerate().skip(first).take(rows) {
        let name_style = match (q.selected, q.current) {
            (true, _) => theme.selected(),
            (false, true) => theme.cursor(),
            _ => Style::new(),
        };
        let mut spans = vec![
            Span::styled(format!("{:<8}", q.name), name_style),
            Span::raw(format!(" {:<7}{:>5}", q.layout, q.size)),
        ];
        for (c, w) in q.cells.iter().zip(&widths).take(shown) {
            spans.push(Span::raw(" "));
            spans.push(cell(c, *w, Style::new(), theme));
        }
        if device {
            spans.push(Span::styled(format!("  {}", q.device), theme.dim()));
        }
        lines.push(Line::from(spans));
        hits.push(Hit {
            area: Rect::new(inner.x, inner.y + (lines.len() - 1) as u16, inner.width, 1),
            pane: PaneId::Ring,
            index: Some(i),
        });
    }
    t.render_widget(Paragraph::new(lines), inner);
}

fn event(t: &mut Term<'_>, area: Rect, f: &TraceFrame, theme: &Theme) {
    let lines = match &f.view.event {
        Some(e) => {
            let mut fields = vec![Span::styled(format!("line {} ", e.line), theme.label())];
            for (k, v) in &e.fields {
                fields.push(Span::styled(format!("{k}="), theme.dim()));
                fields.push(Span::raw(format!("{v}  ")));
            }
            vec![Line::raw(e.raw.clone()), Line::from(fields)]
        }
        None => vec![Line::styled(
            "before the first event: → steps one event, ⇧→ the selected queue's next",
            theme.dim(),
        )],
    };
    let block = titled_block(PaneId::Narration, &f.ui, theme, "event");
    t.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

fn findings(t: &mut Term<'_>, area: Rect, f: &TraceFrame, theme: &Theme, hits: &mut Vec<Hit>) {
    let v = &f.view;
    let title = format!("findings up to here ({})", v.findings.len());
    let block = titled_block(PaneId::Findings, &f.ui, theme, &title);
    let rows = v.findings.iter().map(|r| FindingLine {
        location: r.line.map_or("    -".to_string(), |l| format!("{l:>5}")),
        severity: r.severity,
        text: &r.text,
        change: r.change,
        hit: r.step.and_then(|s| usize::try_from(s).ok()),
        // A trace's findings are the detectors' reading of what QEMU logged.
        ground_truth: false,
    });
    findings_list(
        t,
        area,
        block,
        rows,
        "no findings up to this event",
        theme,
        hits,
    );
}

fn ring(t: &mut Term<'_>, area: Rect, f: &TraceFrame, theme: &Theme) {
    let Some(r) = &f.view.ring else {
        let block = titled_block(PaneId::Memory, &f.ui, theme, "ring dump");
        t.render_widget(
            Paragraph::new("no ring dump of this queue (open with --rings DIR)")
                .style(theme.dim())
                .block(block),
            area,
        );
        return;
    };
    let title = format!("ring dump {}", r.title);
    let block = titled_block(PaneId::Memory, &f.ui, theme, &title);
    let mut lines = vec![Line::styled(r.when.clone(), theme.label())];
    lines.extend(r.lines.iter().map(|l| Line::raw(l.clone())));
    t.render_widget(Paragraph::new(lines).block(block), area);
}

fn timeline(t: &mut Term<'_>, area: Rect, f: &TraceFrame, theme: &Theme, hits: &mut Vec<Hit>) {
    let tl = &f.view.timeline;
    let block = titled_block(PaneId::Timeline, &f.ui, theme, "events per queue");
    let inner = block.inner(area);
    t.render_widget(block, area);
    let label_w = 9;
    let glyph_line = |label: &str, glyphs: &str, style: Style| {
        let mut spans = vec![Span::styled(format!("{label:<label_w$}"), style)];
        for (k, c) in glyphs.chars().enumerate() {
            let s = if Some(k) == tl.cursor {
                theme.cursor()
            } else {
                Style::new()
            };
            spans.push(Span::styled(c.to_string(), s));
        }
        Line::from(spans)
    };
    let room = inner.height as usize;
    // Flags and legend first to go; lanes stay in queue order.
    let lanes = tl.lanes.len().min(room.saturating_sub(1).max(1));
    let sel = f.view.queues.iter().position(|q| q.selected).unwrap_or(0);
    let first = scroll(sel, lanes, tl.lanes.len());
    let mut lines: Vec<Line> = tl
        .lanes
        .iter()
        .skip(first)
        .take(lanes)
        .map(|l| glyph_line(&l.label, &l.glyphs, theme.label()))
        .collect();
    if room > lanes {
        lines.push(glyph_line("", &tl.flags, theme.label()));
    }
    if room > lanes + 1 {
        lines.push(Line::styled(TRACE_TIMELINE_LEGEND, theme.dim()));
    }
    let columns = tl.flags.chars().count();
    for k in 0..columns.min(inner.width.saturating_sub(label_w as u16) as usize) {
        hits.push(Hit {
            area: Rect::new(
                inner.x + label_w as u16 + k as u16,
                inner.y,
                1,
                inner.height,
            ),
            pane: PaneId::Timeline,
            index: usize::try_from(tl.first).ok().map(|s| s + k),
        });
    }
    t.render_widget(Paragraph::new(lines), inner);
}
