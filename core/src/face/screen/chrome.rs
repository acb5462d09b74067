//! The parts of a screen every controller shares: the rows around the panes (header badge,
//! play state and marks, status line, hint bar), pane titles, the help overlay and the
//! findings list.

use super::{Bar, Constraint, Line, Overlay, Pane, Rect, Size, Span, Style, Target};
use crate::command::{Command, PaneId};
use crate::finding::Severity;
use crate::view::{Change, HelpRow, UiView};

/// The four bands of every screen: header, body, status line (`status_rows` tall), hint bar.
pub fn bands(size: Size, status_rows: usize) -> [Rect; 4] {
    size.rect().rows([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(status_rows.max(1) as u16),
        Constraint::Length(1),
    ])
}

/// The most rows a status message takes; longer ones end with a note that there is more.
const STATUS_ROWS: usize = 6;

/// The app's badge that opens the header.
pub fn badge() -> Span {
    Span::new(" ringside ", Style::KEY)
}

/// The header's play speed and marks, the same for scenarios and traces.
pub fn play_and_marks(line: &mut Line, ui: &UiView, mark_delta: Option<u64>) {
    if let Some(sps) = ui.playing {
        line.push(format!("  ▶ {sps}/s"), Style::LABEL);
    }
    if !ui.marks.is_empty() {
        let marks: Vec<String> = ui.marks.iter().map(u64::to_string).collect();
        line.push(format!("  marks {}", marks.join(",")), Style::PLAIN);
        if let Some(d) = mark_delta {
            line.push(format!(" Δ{d}"), Style::PLAIN);
        }
    }
}

/// A pane's title: its number (the key that focuses it), a focus mark and its name.
pub fn title(p: PaneId, ui: &UiView, name: &str) -> String {
    let mark = if ui.focus == p { "▶" } else { "" };
    match PaneId::ALL.iter().position(|&x| x == p) {
        Some(i) => format!("{mark}{} {name}", i + 1),
        None => format!("{mark}{name}"),
    }
}

/// A pane with its standard title; every line is cut to the inner width at a word boundary
/// (a pane that wants a line whole wraps it first).
pub fn pane(p: PaneId, area: Rect, ui: &UiView, name: &str, mut lines: Vec<Line>) -> Pane {
    let inner = area.inner();
    lines.truncate(usize::from(inner.height));
    for l in &mut lines {
        l.fit_words(usize::from(inner.width));
    }
    let mut title = Line::plain(title(p, ui, name));
    title.fit_words(usize::from(area.width.saturating_sub(2)));
    Pane {
        id: p,
        area,
        title: title.text(),
        focused: ui.focus == p,
        lines,
    }
}

/// A one-row bar, its line cut to the width at a word boundary.
pub fn bar(area: Rect, mut line: Line) -> Bar {
    line.fit_words(usize::from(area.width));
    Bar {
        area,
        lines: vec![line],
    }
}

/// Focus targets for every pane on screen (after the item targets, so items win).
pub fn focus_targets(panes: &[Pane], targets: &mut Vec<Target>) {
    for p in panes {
        targets.push(Target {
            area: p.area,
            command: Command::FocusPane(p.id),
        });
    }
}

/// The status line's rows at a width: the prompt being typed (and why the last Enter was
/// refused), else the last message, else breakpoints, search and speed. A long message (a
/// refused condition lists every name it knows) wraps onto up to `STATUS_ROWS` rows rather
/// than being cut.
pub fn status_lines(ui: &UiView, width: u16) -> Vec<Line> {
    let line = if let Some(p) = &ui.prompt {
        let mut l = Line::styled(p.label.clone(), Style::LABEL);
        l.push(p.text.clone(), Style::PLAIN);
        l.push("█", Style::DIM);
        if let Some(e) = &p.error {
            l.push(format!("   {e}"), Style::ERROR);
        }
        l
    } else if let Some(m) = &ui.message {
        let style = if m.error { Style::ERROR } else { Style::LABEL };
        Line::styled(m.text.clone(), style)
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
        Line::styled(s, Style::DIM)
    };
    super::clip(
        super::wrap(&[line], usize::from(width), true),
        usize::from(width),
        STATUS_ROWS,
    )
}

/// The status bar in its band.
pub fn status(area: Rect, lines: Vec<Line>) -> Bar {
    Bar { area, lines }
}

/// The hint bar: panes with no room on screen (each one key away), then the keys with a hint
/// in keymap order, as many as fit whole.
pub fn hints(area: Rect, ui: &UiView, hidden: &[PaneId]) -> Bar {
    let mut line = Line::default();
    if !hidden.is_empty() {
        let keys: Vec<String> = hidden
            .iter()
            .map(|p| (PaneId::ALL.iter().position(|q| q == p).unwrap_or(0) + 1).to_string())
            .collect();
        line.push(keys.join(" "), Style::KEY);
        line.push(" more panes  ", Style::PLAIN);
    }
    for (k, label) in &ui.hints {
        let mut hint = Line::styled(k.replace("Shift+", "⇧"), Style::KEY);
        hint.push(format!(" {label}  "), Style::PLAIN);
        if line.width() + hint.width() > usize::from(area.width) + 2 {
            break;
        }
        line.extend(hint);
    }
    bar(area, line)
}

/// The help overlay, centred, scrolled by `scroll_by` rows (clamped so the end stays reachable
/// and shown).
pub fn help(area: Rect, scroll_by: usize, rows: &[HelpRow]) -> Overlay {
    let w = area.width.min(90);
    let h = area.height.saturating_sub(2).min(40);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    // Keys in a column, their descriptions wrapped beside it.
    const KEYS_W: usize = 20;
    let desc_w = usize::from(r.inner().width).saturating_sub(KEYS_W).max(10);
    let mut lines = Vec::new();
    let mut section = "";
    for row in rows {
        if row.section != section {
            section = &row.section;
            lines.push(Line::styled(section.to_string(), Style::LABEL));
        }
        let desc = super::wrap(&[Line::plain(row.desc.clone())], desc_w, true);
        let keys = format!("  {:<w$}", row.keys, w = KEYS_W - 2);
        for (i, d) in desc.into_iter().enumerate() {
            let mut l = if i == 0 {
                Line::styled(keys.clone(), Style::LABEL)
            } else {
                Line::plain(" ".repeat(KEYS_W))
            };
            l.extend(d);
            lines.push(l);
        }
    }
    let max = lines.len().saturating_sub(h.saturating_sub(2) as usize);
    let first = scroll_by.min(max);
    Overlay {
        area: r,
        title: " help — Esc or ? closes, ↑/↓ scroll ".into(),
        footer: concat!(" ringside ", env!("CARGO_PKG_VERSION"), " ").into(),
        lines: lines.into_iter().skip(first).collect(),
    }
}

/// One row of a findings pane, scenario or trace.
pub struct FindingLine<'a> {
    /// Step or trace line, right-aligned.
    pub location: String,
    /// Severity.
    pub severity: Severity,
    /// The finding.
    pub text: &'a str,
    /// How recent.
    pub change: Change,
    /// ringside's ground truth rather than a side's detection: marked `truth`, dimmed.
    pub ground_truth: bool,
    /// What a click on the row does.
    pub command: Option<Command>,
}

/// A findings pane's lines: the newest rows that fit, each clickable, or `empty` when none.
pub fn findings_list<'a>(
    inner: Rect,
    rows: impl ExactSizeIterator<Item = FindingLine<'a>>,
    empty: &str,
    targets: &mut Vec<Target>,
) -> Vec<Line> {
    if rows.len() == 0 {
        return super::wrap(
            &[Line::styled(empty, Style::DIM)],
            usize::from(inner.width),
            true,
        );
    }
    let first = rows.len().saturating_sub(inner.height as usize);
    let mut lines = Vec::new();
    for (k, r) in rows.skip(first).enumerate() {
        if let Some(command) = r.command {
            targets.push(Target {
                area: inner.row(k as u16),
                command,
            });
        }
        let mut l = Line::styled(format!("{} ", r.location), Style::DIM.changed(r.change));
        l.push(
            format!("{:<7} ", r.severity.to_string()),
            Style::of(super::Role::Severity(r.severity)),
        );
        if r.ground_truth {
            l.push("truth ", Style::DIM);
        }
        l.push(r.text.to_string(), Style::PLAIN);
        lines.push(l);
    }
    lines
}
