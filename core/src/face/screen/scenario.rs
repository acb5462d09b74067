//! The screen of a scenario session: where each pane goes for a size, and what it says.

use super::chrome::{self, FindingLine};
use super::ring;
use super::{Constraint, Emphasis, Line, Pane, Rect, Screen, Size, Span, Style, Target};
use super::{clip, scroll, scrolled, wrap};
use crate::bench::{BenchRow, RowSource};
use crate::command::{Command, Item, PaneId};
use crate::finding::FindingSource;
use crate::memory::Agent;
use crate::view::{Frame, Owner, SessionView, TIMELINE_LEGEND, UiView};

/// Frame options for a screen of this size: how many hex rows and timeline ops to build.
pub fn options(size: Size) -> crate::view::FrameOptions {
    crate::view::FrameOptions {
        memory_rows: usize::from(size.rows.max(16)),
        timeline_ops: usize::from(size.cols.max(8)),
    }
}

/// Where the panes of one session go, and which panes had no room.
#[derive(Debug, Default, Clone)]
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
            PaneId::Lesson => None,
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
            PaneId::Lesson => {}
        }
    }

    /// The panes with no place, in key order.
    fn hidden(&self) -> Vec<PaneId> {
        PaneId::ALL
            .into_iter()
            .filter(|&p| self.get(p).is_none())
            .collect()
    }
}

/// Rows (borders included) the panes of one session want at a width.
#[derive(Debug, Clone, Copy)]
struct Wants {
    /// The ring shown whole.
    ring: u16,
    /// The narration's head, did and next lines.
    narration_min: u16,
    /// The narration shown whole.
    narration: u16,
}

/// The fewest rows a ring pane is worth showing in: its column heads, a few slots and (split)
/// the two notification decisions.
const RING_MIN: u16 = 8;
/// The lower band (memory, cache lines, findings) below this many rows is not worth showing.
const LOWER_MIN: u16 = 6;
/// Width of the features and status pane, beside the ring on wide screens.
const TRANSPORT_W: u16 = 46;
/// Width of the cache pane: the line table and the c2c drill-down.
const CACHE_W: u16 = 66;
/// Width the memory pane wants: the hex rows and their field labels; the labels go first.
const MEMORY_W: u16 = 84;
/// The hex rows without their labels.
const MEMORY_MIN_W: u16 = 62;
/// The narrowest findings pane.
const FINDINGS_MIN_W: u16 = 24;

/// Splits the body by priority. The narration keeps its op, did and next lines and the ring
/// its columns; the ring takes at most two fifths of the rows and scrolls around the cursor
/// rather than growing; then the narration in full, the timeline, and the lower band (cache
/// lines, findings, memory, as wide as they fit). A focused pane with no place is given one:
/// the others shrink to their minimums to make room.
fn layout(body: Rect, focus: PaneId, zoom: bool, w: Wants) -> Slots {
    if zoom {
        let mut s = Slots::default();
        s.set(focus, Some(body));
        return s;
    }
    let s = plan(body, w, None);
    if s.get(focus).is_some() {
        return s;
    }
    plan(body, w, Some(focus))
}

/// One layout; `must` is a pane that has to get a place.
fn plan(body: Rect, w: Wants, must: Option<PaneId>) -> Slots {
    let mut s = Slots::default();
    let h = body.height;
    let wide = body.width >= 150;
    let in_band = must.is_some_and(|p| {
        matches!(p, PaneId::Memory | PaneId::Cache | PaneId::Findings)
            || (p == PaneId::Transport && !wide)
    });
    let mut left = h;
    let mut take = |want: u16| {
        let t = want.min(left);
        left -= t;
        t
    };
    let mut narration = take(w.narration_min);
    // Rows kept back for the pane that must be shown, before the ring's.
    let reserve = match must {
        _ if in_band => take(10),
        Some(PaneId::Timeline) => take(4),
        _ => 0,
    };
    let mut ring = take(RING_MIN.min(w.ring));
    let cap = (h * 2 / 5).max(RING_MIN);
    let mut grow = |now: &mut u16, want: u16| {
        let g = want.saturating_sub(*now).min(left);
        *now += g;
        left -= g;
    };
    if must.is_none() {
        grow(&mut ring, w.ring.min(cap));
        grow(&mut narration, w.narration);
    }
    let mut timeline = match must {
        Some(PaneId::Timeline) => reserve,
        None if left >= 4 => {
            left -= 4;
            4
        }
        _ => 0,
    };
    let mut lower = if in_band {
        reserve + std::mem::take(&mut left)
    } else if left >= LOWER_MIN {
        std::mem::take(&mut left)
    } else {
        0
    };
    if timeline == 4 && lower >= 14 {
        timeline += 2;
        lower -= 2;
    }
    // What is left goes to the ring (up to all its rows), then the narration.
    let g = w.ring.saturating_sub(ring).min(left);
    ring += g;
    narration += left - g;
    let [top, narr, band, time] = body.rows([
        Constraint::Length(ring),
        Constraint::Length(narration),
        Constraint::Length(lower),
        Constraint::Length(timeline),
    ]);
    if wide && ring > 0 {
        let [r, side] = top.cols([Constraint::Min(80), Constraint::Length(TRANSPORT_W)]);
        s.ring = Some(r);
        s.transport = Some(side);
    } else {
        s.ring = (ring > 0).then_some(top);
    }
    s.narration = (narration >= 3).then_some(narr);
    s.timeline = (timeline > 0).then_some(time);
    if lower > 0 {
        place_band(&mut s, band);
        if let Some(p) = must.filter(|&p| s.get(p).is_none()) {
            for q in [PaneId::Memory, PaneId::Cache, PaneId::Findings] {
                s.set(q, None);
            }
            s.set(p, Some(band));
        }
    }
    s
}

/// The lower band's panes, by priority: cache lines, findings, then memory as wide as it
/// fits; a narrow band shows the cache lines alone, a narrower one the findings.
fn place_band(s: &mut Slots, band: Rect) {
    let w = band.width;
    if w >= CACHE_W + FINDINGS_MIN_W + MEMORY_MIN_W {
        let mem = (w - CACHE_W - FINDINGS_MIN_W).min(MEMORY_W);
        let [m, c, f] = band.cols([
            Constraint::Length(mem),
            Constraint::Length(CACHE_W),
            Constraint::Min(FINDINGS_MIN_W),
        ]);
        s.memory = Some(m);
        s.cache = Some(c);
        s.findings = Some(f);
    } else if w >= CACHE_W + FINDINGS_MIN_W {
        let [c, f] = band.cols([Constraint::Length(CACHE_W), Constraint::Min(FINDINGS_MIN_W)]);
        s.cache = Some(c);
        s.findings = Some(f);
    } else if w >= CACHE_W {
        s.cache = Some(band);
    } else {
        s.findings = Some(band);
    }
}

/// The screen of a scenario frame.
pub fn screen(frame: &Frame, size: Size) -> Screen {
    let status_lines = chrome::status_lines(&frame.ui, size.cols);
    let [head, body, status, hint] = chrome::bands(size, status_lines.len());
    let mut panes = Vec::new();
    let mut targets = Vec::new();
    let hidden = match &frame.compare {
        Some((label, other)) => {
            let [l, r] = body.cols([Constraint::Fill(1), Constraint::Fill(1)]);
            let main = (&frame.main, frame.bench.as_slice());
            let hidden = session(l, main, &frame.ui, None, &mut panes, &mut targets);
            // The compared side follows the main one: nothing in it is clickable.
            let mut ignored = Vec::new();
            let n = panes.len();
            let other = (other, frame.compare_bench.as_slice());
            session(r, other, &frame.ui, Some(label), &mut panes, &mut ignored);
            chrome::focus_targets(&panes[..n], &mut targets);
            hidden
        }
        None => {
            let main = (&frame.main, frame.bench.as_slice());
            let hidden = session(body, main, &frame.ui, None, &mut panes, &mut targets);
            chrome::focus_targets(&panes, &mut targets);
            hidden
        }
    };
    Screen {
        size,
        header: chrome::bar(head, header(frame)),
        panes,
        status: chrome::status(status, status_lines),
        hints: chrome::hints(hint, &frame.ui, &hidden),
        overlay: frame
            .ui
            .help
            .as_ref()
            .map(|(scroll, rows)| chrome::help(size.rect(), *scroll, rows)),
        targets,
        pictures: if size.pictures {
            pictures(frame)
        } else {
            Default::default()
        },
    }
}

fn pictures(frame: &Frame) -> super::picture::Pictures {
    use super::picture;
    let mut rings: Vec<_> = picture::ring(&frame.main, None).into_iter().collect();
    if let Some((label, other)) = &frame.compare {
        rings.extend(picture::ring(other, Some(label)));
    }
    picture::Pictures {
        rings,
        cache: picture::cache(&frame.main),
        ..Default::default()
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

/// Lays out and fills one session's panes (with the saved bench rows for its configuration);
/// returns the panes that had no room.
fn session(
    area: Rect,
    (v, bench): (&SessionView, &[BenchRow]),
    ui: &UiView,
    label: Option<&String>,
    panes: &mut Vec<Pane>,
    targets: &mut Vec<Target>,
) -> Vec<PaneId> {
    let inner_w = usize::from(area.width.saturating_sub(2));
    let narr = narration(v, inner_w);
    let wants = Wants {
        ring: ring::rows(v) + 2,
        narration_min: narr.head_rows() + 2,
        narration: narr.rows() + 2,
    };
    let slots = layout(area, ui.focus, ui.zoom, wants);
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
        let inner = r.inner();
        let lines = wrap(&transport(v), usize::from(inner.width), false);
        let lines = clip(lines, usize::from(inner.width), usize::from(inner.height));
        panes.push(chrome::pane(
            PaneId::Transport,
            r,
            ui,
            PaneId::Transport.title(),
            lines,
        ));
    }
    if let Some(r) = slots.narration {
        let lines = narr.fit(r.inner());
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
        let lines = cache(r.inner(), v, bench, targets);
        let name = format!("{} (model)", PaneId::Cache.title());
        panes.push(chrome::pane(PaneId::Cache, r, ui, &name, lines));
    }
    if let Some(r) = slots.findings {
        let rows = v.findings.iter().map(|f| FindingLine {
            location: format!("{:>5}", f.step),
            severity: f.severity,
            text: &f.text,
            change: f.change,
            ground_truth: f.source == FindingSource::GroundTruth,
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
    slots.hidden()
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

/// The narration pane's text at a width: what the op is, the scenario's words about it, the
/// access just done and the next one.
struct Narr {
    /// The op line, wrapped.
    head: Vec<Line>,
    /// The scenario's narration, wrapped.
    say: Vec<Line>,
    /// The did and next lines, wrapped.
    tail: Vec<Line>,
}

impl Narr {
    /// Rows that must show: the op, did and next.
    fn head_rows(&self) -> u16 {
        (self.head.len() + self.tail.len()) as u16
    }

    /// Rows to show it all.
    fn rows(&self) -> u16 {
        self.head_rows() + self.say.len() as u16
    }

    /// The lines for an area: the op, did and next always; the narration in between as far as
    /// it fits, its last row saying how much more there is.
    fn fit(self, inner: Rect) -> Vec<Line> {
        let h = usize::from(inner.height);
        let room = h.saturating_sub(self.head.len() + self.tail.len());
        let say = if self.say.len() > room {
            super::clip(self.say, usize::from(inner.width), room)
        } else {
            self.say
        };
        let mut lines = self.head;
        lines.extend(say);
        lines.extend(self.tail);
        super::clip(lines, usize::from(inner.width), h)
    }
}

fn narration(v: &SessionView, width: usize) -> Narr {
    let n = &v.narration;
    let who = match n.agent {
        Some(Agent::Driver) => Style::owner(Owner::Driver),
        Some(Agent::Device) => Style::owner(Owner::Device),
        None => Style::PLAIN,
    };
    let mut head = Line::styled(n.op.clone(), who.with(Emphasis::Bold));
    head.push("  ", Style::PLAIN);
    head.push(n.outcome.clone(), Style::DIM);
    let say: Vec<Line> = n.say.iter().map(|s| Line::plain(s.clone())).collect();
    let mut tail = Vec::new();
    if let Some(l) = &n.last {
        let mut x = Line::styled("did  ", Style::LABEL);
        x.push(l.clone(), Style::PLAIN);
        tail.push(x);
    }
    if let Some(l) = &n.next {
        let mut x = Line::styled("next ", Style::LABEL);
        x.push(l.clone(), Style::PLAIN);
        tail.push(x);
    }
    Narr {
        head: wrap(&[head], width, true),
        say: wrap(&say, width, true),
        tail: wrap(&tail, width, true),
    }
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

/// One character per set: how many ways `n` lines take, `!` past the ways there are.
fn ways_row(sets: impl Iterator<Item = u64>, ways: u32) -> String {
    sets.map(|n| match n {
        0 => '·',
        n if n > u64::from(ways) => '!',
        n => char::from_digit(n as u32, 36).unwrap_or('+'),
    })
    .collect()
}

/// The saved bench result next to the model, one wrapped entry per row, each tagged with
/// where its number comes from.
fn bench_lines(rows: &[BenchRow], w: usize) -> Vec<Line> {
    if rows.is_empty() {
        return Vec::new();
    }
    let mut out = wrap(
        &[Line::styled(
            "measured by `ringside bench` vs the model, same configuration:",
            Style::LABEL,
        )],
        w,
        true,
    );
    // With numbers to show, they come first and the notes (when, where, from which file)
    // after them: a short pane shows the first measured/model pair.
    let numbers = rows.iter().any(|r| r.source == RowSource::Measured);
    let (notes, rest): (Vec<&BenchRow>, Vec<&BenchRow>) = rows
        .iter()
        .partition(|r| numbers && r.source == RowSource::Note);
    for r in rest.into_iter().chain(notes) {
        let (tag, style) = match r.source {
            RowSource::Measured => ("measured ", Style::PLAIN),
            RowSource::Model => ("model    ", Style::LABEL),
            RowSource::Note => ("note     ", Style::DIM),
        };
        let mut l = Line::styled(tag, style.with(Emphasis::Bold));
        l.push(format!("{}: {}", r.label.trim_start(), r.value), style);
        out.extend(wrap(&[l], w, true));
    }
    out
}

fn cache(inner: Rect, v: &SessionView, bench: &[BenchRow], targets: &mut Vec<Target>) -> Vec<Line> {
    let c = &v.cache;
    let w = usize::from(inner.width);
    let mut bench = bench_lines(bench, w);
    // Rows kept for the saved bench result before the set/way picture: its heading and the
    // first measured/model pair.
    let bench_first = bench.len().min(5);
    let mut lines = wrap(&[Line::styled(c.summary.clone(), Style::LABEL)], w, true);
    if let Some(l1) = &c.l1 {
        lines.extend(wrap(
            &[Line::styled(l1.summary.clone(), Style::DIM)],
            w,
            true,
        ));
        // The set/way picture, when the pane is tall enough to keep a few lines below it.
        if usize::from(inner.height) >= lines.len() + 3 + 6 + bench_first && l1.sets.len() <= w {
            lines.extend(wrap(
                &[Line::styled(
                    "ways each set holds, set 0 first: this ring, then all rings (! overflows)",
                    Style::DIM,
                )],
                w,
                true,
            ));
            lines.push(Line::plain(ways_row(l1.sets.iter().map(|s| s.0), l1.ways)));
            lines.push(Line::plain(ways_row(
                l1.sets.iter().map(|s| s.0 + s.1),
                l1.ways,
            )));
        }
    }
    // The line table keeps at least four rows; the drill-down of one line gets the rest.
    let h = usize::from(inner.height);
    let top = lines.len() + 1;
    let detail = if c.fields.is_empty() {
        0
    } else {
        (c.fields.len() + 1).min(h.saturating_sub(top + 4))
    };
    // The saved bench result gets what the drill-down and the table leave, the table keeping
    // at least half of it (and four rows); cut short, its last row says how to see the rest.
    // Every row is tagged measured, model or note, so a number is never taken for the other.
    let left = h.saturating_sub(top + detail);
    let room = left.saturating_sub(c.lines.len().clamp(1, 4.max(left / 2)));
    if bench.len() > room {
        // At least the heading, so that the pane says the result is there.
        let kept = room.saturating_sub(1).max(room.min(1));
        let more = bench.len() - kept;
        bench.truncate(kept);
        if room > kept {
            bench.push(Line::styled(format!("↓ {more} more (e zooms)"), Style::DIM));
        }
    }
    let rows = h.saturating_sub(top + detail + bench.len()).max(1);
    let first = scroll(c.shown, rows, c.lines.len());
    let head = Line::styled("line       drv dev xfer fields", Style::LABEL);
    lines.push(scrolled(
        head,
        first,
        rows.min(c.lines.len()),
        c.lines.len(),
    ));
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
    if let Some(l) = c.lines.get(c.shown).filter(|_| !c.fields.is_empty()) {
        lines.push(Line::styled(
            format!(
                "line {:#x}: +off field   drv ld/st (xfer)  dev ld/st (xfer)",
                l.addr
            ),
            Style::LABEL,
        ));
        let fields = c
            .fields
            .iter()
            .map(|r| {
                Line::plain(format!(
                    "  +{:<3} {:<18} {:>10} {:>10} {:>3}",
                    r.offset, r.field, r.driver, r.device, r.transfers
                ))
            })
            .collect();
        lines.extend(clip(fields, w, detail.saturating_sub(1)));
    }
    lines.extend(bench);
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
