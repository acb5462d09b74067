//! The screen of a QEMU trace: the per-queue table, the event at the cursor, findings, the
//! selected queue's ring dump and the per-queue timeline. Joined with the driver's trace, the
//! timeline has the driver's lane, the notifications and the device's lane of the selected
//! queue (the selected buffer's path emphasised across them), and two panes more: both sides'
//! view of the ring at the cursor, and the buffer's path with its latencies.

use super::chrome::{self, FindingLine};
use super::picture::{ArrowPicture, JoinedPicture, LaneEvent, Pictures};
use super::wrap;
use super::{Constraint, Emphasis, Line, Rect, Screen, Size, Span, Style, Target, scroll};
use crate::command::{Command, Item, PaneId};
use crate::memory::Agent;
use crate::view::trace::{
    JOINED_LEGEND, QUEUE_COLUMNS, TRACE_TIMELINE_LEGEND, TraceFrame, TraceView,
};

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
        PaneId::Transport => "both sides of the ring",
        PaneId::Cache => "buffer path",
        PaneId::Lesson => p.title(),
    }
}

/// The panes of a trace screen, in painting order.
const PANES: [PaneId; 7] = [
    PaneId::Ring,
    PaneId::Narration,
    PaneId::Findings,
    PaneId::Transport,
    PaneId::Cache,
    PaneId::Memory,
    PaneId::Timeline,
];

/// Where the trace panes go.
#[derive(Default)]
struct Slots {
    queues: Option<Rect>,
    event: Option<Rect>,
    findings: Option<Rect>,
    ring: Option<Rect>,
    timeline: Option<Rect>,
    sides: Option<Rect>,
    buffer: Option<Rect>,
}

impl Slots {
    fn slot(&mut self, p: PaneId) -> Option<&mut Option<Rect>> {
        match p {
            PaneId::Ring => Some(&mut self.queues),
            PaneId::Narration => Some(&mut self.event),
            PaneId::Findings => Some(&mut self.findings),
            PaneId::Memory => Some(&mut self.ring),
            PaneId::Timeline => Some(&mut self.timeline),
            PaneId::Transport => Some(&mut self.sides),
            PaneId::Cache => Some(&mut self.buffer),
            PaneId::Lesson => None,
        }
    }
}

/// The panes a view has: the joined ones only when both sides are joined.
fn panes_of(v: &TraceView) -> Vec<PaneId> {
    PANES
        .into_iter()
        .filter(|p| v.joined.is_some() || !matches!(p, PaneId::Transport | PaneId::Cache))
        .collect()
}

fn layout(body: Rect, v: &TraceView, focus: PaneId, zoom: bool) -> Slots {
    let mut s = Slots::default();
    if zoom && let Some(slot) = s.slot(focus) {
        *slot = Some(body);
        return s;
    }
    let joined = v.joined.is_some();
    let h = body.height;
    let queues_cap = if joined { h / 4 } else { h / 2 };
    // Each note's rows once wrapped to the pane.
    let inner_w = usize::from(body.width.saturating_sub(2)).max(1);
    let notes: u16 = v
        .notes
        .iter()
        .map(|n| wrap(&[Line::plain(n.clone())], inner_w, true).len() as u16)
        .sum();
    let queues_h = (v.queues.len() as u16 + 3 + notes)
        .min(queues_cap)
        .max(3.min(h));
    let event_h = 4.min(h - queues_h);
    let lanes = v.timeline.lanes.len() as u16;
    let left = h - queues_h - event_h;
    // Joined, the two panes of both sides come before the timeline's flags and legend.
    let spare = if joined { 0 } else { 1 };
    let timeline_h = (lanes + 4).min(left / 2 + spare).min(left);
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
        if joined {
            // Both sides and the buffer first; findings when there is room for a third.
            if body.width >= 150 {
                let [f, sd, b] = lower.cols([
                    Constraint::Fill(1),
                    Constraint::Length(58),
                    Constraint::Length(52),
                ]);
                s.findings = Some(f);
                s.sides = Some(sd);
                s.buffer = Some(b);
            } else {
                let [sd, b] = lower.cols([Constraint::Fill(1), Constraint::Fill(1)]);
                s.sides = Some(sd);
                s.buffer = Some(b);
            }
        } else if v.ring.is_some() && body.width >= 120 {
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
        if lower_h >= 3 {
            s.findings = None;
            s.sides = None;
            s.buffer = None;
        } else {
            s.timeline = None;
        }
        s.ring = None;
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
    let all = panes_of(v);
    for &p in &all {
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
            PaneId::Transport => (name(p).to_string(), sides(inner, v)),
            PaneId::Cache => (name(p).to_string(), buffer(inner, v, &mut targets)),
            _ => (
                if v.joined.is_some() {
                    "both sides, selected queue".to_string()
                } else {
                    name(p).to_string()
                },
                timeline(inner, v, &mut targets),
            ),
        };
        panes.push(chrome::pane(p, r, ui, &title, lines));
    }
    chrome::focus_targets(&panes, &mut targets);
    let hidden: Vec<PaneId> = all
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
        pictures: if size.pictures {
            pictures(v)
        } else {
            Default::default()
        },
    }
}

fn header(f: &TraceFrame) -> Line {
    let h = &f.view.header;
    let unit = if h.joined { "step" } else { "event" };
    let mut l = Line::new(vec![
        chrome::badge(),
        Span::new(format!(" {unit} {}/{}", h.step, h.steps), Style::LABEL),
    ]);
    if let Some(p) = &h.place {
        l.push(format!("  {p}"), Style::LABEL);
    } else if let Some(n) = h.line {
        l.push(format!("  line {n}"), Style::LABEL);
    }
    chrome::play_and_marks(&mut l, &f.ui, h.mark_delta);
    l.push(format!("  {}", h.source), Style::PLAIN);
    if h.joined {
        l.push("  +driver", Style::PLAIN);
    }
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
    // The notes under the table, in the rows left.
    let left = usize::from(inner.height).saturating_sub(lines.len());
    let notes: Vec<Line> = v
        .notes
        .iter()
        .flat_map(|n| {
            wrap(
                &[Line::styled(n.clone(), Style::DIM)],
                usize::from(inner.width),
                true,
            )
        })
        .take(left)
        .collect();
    lines.extend(notes);
    lines
}

fn event(v: &TraceView) -> Vec<Line> {
    match &v.event {
        Some(e) => {
            let place = match e.side.as_str() {
                "driver" => format!("driver, guest line {} ", e.line),
                "dpdk" => format!("DPDK, line {} ", e.line),
                _ if v.joined.is_some() => format!("device, line {} ", e.line),
                _ => format!("line {} ", e.line),
            };
            let mut fields = Line::styled(place, Style::LABEL);
            for (k, val) in &e.fields {
                fields.push(format!("{k}="), Style::DIM);
                fields.push(format!("{val}  "), Style::PLAIN);
            }
            vec![Line::plain(e.raw.clone()), fields]
        }
        None => {
            let mut lines = vec![Line::styled(
                "before the first event: → steps one event, ⇧→ the selected queue's next",
                Style::DIM,
            )];
            if let Some(why) = &v.not_joined {
                lines.push(Line::styled(
                    format!("driver trace not joined: {why}"),
                    Style::ERROR,
                ));
            }
            lines
        }
    }
}

fn findings(inner: Rect, v: &TraceView, targets: &mut Vec<Target>) -> Vec<Line> {
    let rows = v.findings.iter().map(|r| FindingLine {
        location: format!("{:>5}", r.place),
        severity: r.severity,
        text: &r.text,
        change: r.change,
        // A trace's findings are the detectors' reading of what the sides logged.
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

/// Both sides' view of the selected queue's ring: one row per quantity, the driver's value
/// beside the device's, a disagreement marked and said in words under it.
fn sides(inner: Rect, v: &TraceView) -> Vec<Line> {
    let Some(j) = &v.joined else {
        return Vec::new();
    };
    let w = usize::from(inner.width);
    let mut lines = vec![Line::styled(j.queue.clone(), Style::LABEL)];
    let Some(s) = &j.sides else {
        lines.extend(wrap(
            &[Line::styled(
                "the driver's trace has no queue that pairs with the selected one: ↑/↓ in the \
                 queues pane picks another",
                Style::DIM,
            )],
            w,
            true,
        ));
        return lines;
    };
    let what_w = s
        .rows
        .iter()
        .map(|r| r.what.len())
        .max()
        .unwrap_or(8)
        .max(4);
    let val_w = (w.saturating_sub(what_w + 4) / 2).max(6);
    let mut head = Line::styled(format!("{:<what_w$}", ""), Style::DIM);
    head.push(format!(" {:<val_w$}", "driver"), Style::LABEL);
    head.push(format!(" {:<val_w$}", "device"), Style::LABEL);
    lines.push(head);
    for r in &s.rows {
        let mark = if r.agree { " " } else { "≠" };
        let style = if r.agree {
            Style::PLAIN
        } else {
            Style::of(super::Role::Severity(crate::finding::Severity::Warning))
        };
        let cut = |t: &str| -> String {
            if t.chars().count() <= val_w {
                t.to_string()
            } else {
                // Whole words only: keep what fits.
                let mut out = String::new();
                for word in t.split(' ') {
                    if out.chars().count() + word.chars().count() + 1 > val_w {
                        break;
                    }
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push_str(word);
                }
                out
            }
        };
        let mut l = Line::styled(format!("{:<what_w$}", r.what), Style::DIM);
        l.push(format!(" {:<val_w$}", cut(&r.driver)), style);
        l.push(format!(" {:<val_w$}", cut(&r.device)), style);
        l.push(mark, style);
        lines.push(l);
        if !r.note.is_empty() {
            lines.extend(wrap(
                &[Line::styled(format!("  {}", r.note), Style::DIM)],
                w,
                true,
            ));
        }
    }
    if let Some(n) = s.next_line {
        lines.extend(wrap(
            &[Line::styled(
                format!("driver's shadow as its next probed call read it (guest line {n})"),
                Style::DIM,
            )],
            w,
            true,
        ));
    }
    lines.extend(wrap(&[Line::styled(j.clock.clone(), Style::DIM)], w, true));
    lines
}

/// The chosen buffer's (or the cursor event's) stages: each row clickable to go there.
fn buffer(inner: Rect, v: &TraceView, targets: &mut Vec<Target>) -> Vec<Line> {
    let Some(j) = &v.joined else {
        return Vec::new();
    };
    let w = usize::from(inner.width);
    let Some(b) = &j.buffer else {
        return wrap(
            &[Line::styled(
                "no buffer at the cursor: step onto an add, pop, fill, detach or reap, or \
                 type :buffer 0x… (its token) or :id N (its head or ID)",
                Style::DIM,
            )],
            w,
            true,
        );
    };
    let mut lines = wrap(&[Line::styled(b.title.clone(), Style::LABEL)], w, true);
    if b.chosen {
        lines.push(Line::styled(
            "chosen with :buffer/:id; Esc forgets it",
            Style::DIM,
        ));
    }
    // The time since the stage before only when it fits whole.
    let prev_col = w >= 54;
    let row = |a: &str, b: &str, c: &str, d: &str, e: &str| {
        let mut t = format!("{a:<12}{b:>7} {c:<12}{d:>11}");
        if prev_col {
            t.push_str(&format!("{e:>11}"));
        }
        t
    };
    lines.push(Line::styled(
        row("stage", "step", "where", "since add", "since prev"),
        Style::DIM,
    ));
    for r in &b.stages {
        let style = if r.here {
            Style::PLAIN.with(Emphasis::Cursor)
        } else if r.done {
            Style::PLAIN
        } else {
            Style::DIM
        };
        let l = Line::styled(
            row(
                &r.stage,
                &r.step.to_string(),
                &r.place,
                &r.since_add,
                &r.since_prev,
            ),
            style,
        );
        let row = lines.len() as u16;
        if row < inner.height {
            targets.push(Target {
                area: inner.row(row),
                command: Command::Select {
                    pane: PaneId::Cache,
                    item: Item::Step(r.step),
                },
            });
        }
        lines.push(l);
    }
    lines.extend(wrap(&[Line::plain(b.summary.clone())], w, true));
    lines
}

fn timeline(inner: Rect, v: &TraceView, targets: &mut Vec<Target>) -> Vec<Line> {
    let tl = &v.timeline;
    let label_w = 9;
    let path: &[usize] = v.joined.as_ref().map_or(&[], |j| j.path.as_slice());
    let glyph_line = |label: &str, glyphs: &str| {
        let label: String = label.chars().take(label_w - 1).collect();
        let mut l = Line::styled(format!("{label:<label_w$}"), Style::LABEL);
        for (k, c) in glyphs.chars().enumerate() {
            let s = if Some(k) == tl.cursor {
                Style::PLAIN.with(Emphasis::Cursor)
            } else if path.contains(&k) && c != ' ' {
                Style::PLAIN.with(Emphasis::Selected)
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
    let sel = if v.joined.is_some() {
        0
    } else {
        v.queues.iter().position(|q| q.selected).unwrap_or(0)
    };
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
        let legend = if v.joined.is_some() {
            JOINED_LEGEND
        } else {
            TRACE_TIMELINE_LEGEND
        };
        lines.push(Line::styled(legend, Style::DIM));
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

/// The joined timeline as a drawing: the selected queue's events on their side's lane,
/// kicks and interrupts between, the buffer's path.
fn pictures(v: &TraceView) -> Pictures {
    let Some(j) = &v.joined else {
        return Pictures::default();
    };
    let mut events = Vec::new();
    let mut arrows = Vec::new();
    let mut others = 0;
    for (k, c) in j.columns.iter().enumerate() {
        if !c.on_queue {
            others += 1;
            continue;
        }
        let lane = u8::from(c.side != "driver");
        events.push(LaneEvent {
            step: c.step,
            lane,
            glyph: c.glyph,
            label: c.name.clone(),
            time_us: c.time_us,
            on_path: j.path.contains(&k),
            command: Command::Select {
                pane: PaneId::Timeline,
                item: Item::Step(c.step),
            },
        });
        if let Some(to) = c.to {
            let from = match to {
                Agent::Device => Agent::Driver,
                Agent::Driver => Agent::Device,
            };
            arrows.push(ArrowPicture {
                step: c.step,
                from,
                label: match to {
                    Agent::Device => format!("kick ({})", c.name),
                    Agent::Driver => format!("interrupt ({})", c.name),
                },
            });
        }
    }
    let path = j
        .path
        .iter()
        .filter_map(|&k| j.columns.get(k).map(|c| c.step))
        .collect();
    let lanes = v
        .timeline
        .lanes
        .iter()
        .map(|l| l.label.clone())
        .collect::<Vec<_>>();
    Pictures {
        joined: Some(JoinedPicture {
            title: j.queue.clone(),
            lanes: [
                lanes.first().cloned().unwrap_or_default(),
                lanes.get(2).cloned().unwrap_or_default(),
            ],
            events,
            arrows,
            path,
            cursor: v.header.step,
            others,
        }),
        ..Pictures::default()
    }
}
