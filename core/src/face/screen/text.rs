//! Styled text in terminal cells: [`Span`]s of one [`Style`], [`Line`]s of spans, and the
//! operations a screen needs to lay them out (width, truncation, padding, word wrap).
//!
//! Widths are display cells (`unicode-width`), the unit both faces lay out in: the terminal
//! counts columns, and the browser app draws the same grid in a monospace font.

use serde::{Deserialize, Serialize};
use unicode_width::UnicodeWidthChar;

use crate::finding::Severity;
use crate::view::{Change, Owner};

/// What a piece of text is, for the theme to give it a look. Roles, not colours: each face
/// maps them to its own styles, and with colours off the meaning stays in modifiers and text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Role {
    /// Ordinary text.
    #[default]
    Plain,
    /// Headings, labels and decisions that fire.
    Label,
    /// Secondary text: legends, explanations, addresses.
    Dim,
    /// A key name in the hint bar, the app's badge.
    Key,
    /// Something owned by this side (a slot, a line, an agent's name).
    Owner(Owner),
    /// A finding of this severity, or an error message.
    Severity(Severity),
}

/// An emphasis on top of the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Emphasis {
    /// None.
    #[default]
    None,
    /// Bold.
    Bold,
    /// The selected item of a pane.
    Selected,
    /// The cursor: the timeline's current op, the memory field under the cursor.
    Cursor,
}

/// The look of a span: its role, an emphasis, and how recently its value changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Style {
    /// What the text is.
    pub role: Role,
    /// Emphasis over the role.
    pub emphasis: Emphasis,
    /// Changed at the last step (strong) or since the mark (weak).
    pub change: Change,
}

impl Style {
    /// Plain text.
    pub const PLAIN: Style = Style::of(Role::Plain);
    /// A label.
    pub const LABEL: Style = Style::of(Role::Label);
    /// Secondary text.
    pub const DIM: Style = Style::of(Role::Dim);
    /// A key name.
    pub const KEY: Style = Style::of(Role::Key);
    /// An error message.
    pub const ERROR: Style = Style::of(Role::Severity(Severity::Error));

    /// A role with no emphasis and no change.
    pub const fn of(role: Role) -> Style {
        Style {
            role,
            emphasis: Emphasis::None,
            change: Change::None,
        }
    }

    /// Text owned by `o`.
    pub const fn owner(o: Owner) -> Style {
        Style::of(Role::Owner(o))
    }

    /// The same style with a change level.
    pub const fn changed(self, change: Change) -> Style {
        Style { change, ..self }
    }

    /// The same style with an emphasis.
    pub const fn with(self, emphasis: Emphasis) -> Style {
        Style { emphasis, ..self }
    }
}

/// Display width of a string in cells.
pub fn width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Text of one style.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Span {
    /// The text (no newlines).
    pub text: String,
    /// Its look.
    pub style: Style,
}

impl Span {
    /// A span.
    pub fn new(text: impl Into<String>, style: Style) -> Span {
        Span {
            text: text.into(),
            style,
        }
    }

    /// Plain text.
    pub fn plain(text: impl Into<String>) -> Span {
        Span::new(text, Style::PLAIN)
    }
}

/// One row of styled text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Line {
    /// The spans, left to right.
    pub spans: Vec<Span>,
}

impl Line {
    /// A line of spans.
    pub fn new(spans: Vec<Span>) -> Line {
        Line { spans }
    }

    /// A line of one span.
    pub fn styled(text: impl Into<String>, style: Style) -> Line {
        Line::new(vec![Span::new(text, style)])
    }

    /// A line of plain text.
    pub fn plain(text: impl Into<String>) -> Line {
        Line::styled(text, Style::PLAIN)
    }

    /// Appends a span.
    pub fn push(&mut self, text: impl Into<String>, style: Style) {
        self.spans.push(Span::new(text, style));
    }

    /// Display width in cells.
    pub fn width(&self) -> usize {
        self.spans.iter().map(|s| width(&s.text)).sum()
    }

    /// The text without styles.
    pub fn text(&self) -> String {
        self.spans.iter().map(|s| s.text.as_str()).collect()
    }

    /// Cuts the line to at most `w` cells (a wide character that would straddle is dropped).
    pub fn truncate(&mut self, w: usize) {
        let mut used = 0;
        let mut keep = self.spans.len();
        for (i, s) in self.spans.iter_mut().enumerate() {
            let sw = width(&s.text);
            if used + sw <= w {
                used += sw;
                continue;
            }
            let mut cut = String::new();
            for c in s.text.chars() {
                let cw = c.width().unwrap_or(0);
                if used + cw > w {
                    break;
                }
                used += cw;
                cut.push(c);
            }
            s.text = cut;
            keep = i + 1;
            break;
        }
        self.spans.truncate(keep);
        self.spans.retain(|s| !s.text.is_empty());
    }

    /// Cuts the line to at most `w` cells at a word boundary, so no word is shown in part: the
    /// cut falls on the last space that fits (trailing spaces go too), or, with no space in
    /// reach, the line is emptied.
    pub fn fit_words(&mut self, w: usize) {
        if self.width() <= w {
            return;
        }
        let all = cells(self);
        let mut used = 0;
        let mut cut = 0;
        for (i, (c, _)) in all.iter().enumerate() {
            used += c.width().unwrap_or(0);
            if used > w {
                break;
            }
            if *c == ' ' || all.get(i + 1).is_some_and(|n| n.0 == ' ') {
                cut = i + 1;
            }
        }
        *self = join(trim_end(&all[..cut]));
    }

    /// Cuts or pads (with plain spaces) the line to exactly `w` cells.
    pub fn fit(&mut self, w: usize) {
        self.truncate(w);
        let pad = w - self.width();
        if pad > 0 {
            self.push(" ".repeat(pad), Style::PLAIN);
        }
    }

    /// Appends another line's spans.
    pub fn extend(&mut self, other: Line) {
        self.spans.extend(other.spans);
    }
}

impl From<&str> for Line {
    fn from(s: &str) -> Line {
        Line::plain(s)
    }
}

impl From<String> for Line {
    fn from(s: String) -> Line {
        Line::plain(s)
    }
}

/// One character with its style, the unit word wrapping works in.
type Cell = (char, Style);

fn cells(line: &Line) -> Vec<Cell> {
    line.spans
        .iter()
        .flat_map(|s| s.text.chars().map(move |c| (c, s.style)))
        .collect()
}

fn join(cells: &[Cell]) -> Line {
    let mut out = Line::default();
    for &(c, style) in cells {
        match out.spans.last_mut() {
            Some(s) if s.style == style => s.text.push(c),
            _ => out.spans.push(Span::new(c.to_string(), style)),
        }
    }
    out
}

fn trim_end(cells: &[Cell]) -> &[Cell] {
    let n = cells.iter().rposition(|c| c.0 != ' ').map_or(0, |i| i + 1);
    &cells[..n]
}

fn cell_width(cells: &[Cell]) -> usize {
    cells.iter().map(|(c, _)| c.width().unwrap_or(0)).sum()
}

/// Word-wraps lines to `w` cells: breaks at spaces (the spaces at a break are dropped), splits
/// a word longer than a whole row, and with `trim` also drops a line's leading spaces. Styles
/// carry over.
pub fn wrap(lines: &[Line], w: usize, trim: bool) -> Vec<Line> {
    let w = w.max(1);
    let mut out = Vec::new();
    for line in lines {
        let all = cells(line);
        if cell_width(&all) <= w && !(trim && all.first().is_some_and(|c| c.0 == ' ')) {
            out.push(line.clone());
            continue;
        }
        let mut row: Vec<Cell> = Vec::new();
        let mut first_row = true;
        let mut i = 0;
        while i < all.len() {
            // The next run: spaces, or a word.
            let space = all[i].0 == ' ';
            let end = (i..all.len())
                .find(|&k| (all[k].0 == ' ') != space)
                .unwrap_or(all.len());
            let run = &all[i..end];
            i = end;
            if space && row.is_empty() && (trim || !first_row) {
                continue;
            }
            let (rw, used) = (cell_width(run), cell_width(&row));
            if used + rw <= w {
                row.extend_from_slice(run);
                continue;
            }
            if !row.is_empty() {
                out.push(join(trim_end(&row)));
                row.clear();
                first_row = false;
            }
            if space {
                continue;
            }
            // A word longer than a row: fill rows with its pieces.
            for &c in run {
                if cell_width(&row) + c.0.width().unwrap_or(0) > w {
                    out.push(join(&row));
                    row.clear();
                }
                row.push(c);
            }
        }
        if !row.is_empty() || first_row {
            out.push(join(&row));
        }
    }
    out
}

/// Places blocks of lines side by side, `height` rows: each block cut at a word boundary or
/// padded to its width, the blocks one space apart.
pub fn columns(blocks: &[(usize, &[Line])], height: usize) -> Vec<Line> {
    (0..height)
        .map(|r| {
            let mut row = Line::default();
            for (i, (w, lines)) in blocks.iter().enumerate() {
                let mut l = lines.get(r).cloned().unwrap_or_default();
                l.fit_words(*w);
                if i + 1 < blocks.len() {
                    l.fit(*w + 1);
                }
                row.extend(l);
            }
            trim_line_end(&mut row);
            row
        })
        .collect()
}

fn trim_line_end(l: &mut Line) {
    while let Some(s) = l.spans.last_mut() {
        let t = s.text.trim_end_matches(' ').len();
        if t == 0 && s.style == Style::PLAIN {
            l.spans.pop();
        } else {
            if s.style == Style::PLAIN {
                s.text.truncate(t);
            }
            break;
        }
    }
}

/// A heading with how many rows are above and below the ones shown.
pub fn scrolled(mut head: Line, first: usize, shown: usize, len: usize) -> Line {
    let below = len.saturating_sub(first + shown);
    let mut more = Vec::new();
    if first > 0 {
        more.push(format!("↑{first}"));
    }
    if below > 0 {
        more.push(format!("↓{below}"));
    }
    if !more.is_empty() {
        head.push(format!("  {}", more.join(" ")), Style::DIM);
    }
    head
}

/// Fits lines into `width` x `height` cells: each cut at a word boundary, and when there are
/// more lines than rows, the last row says how many more (the pane scrolls or zooms to them).
pub fn clip(mut lines: Vec<Line>, width: usize, height: usize) -> Vec<Line> {
    for l in &mut lines {
        l.fit_words(width);
    }
    if lines.len() > height && height > 0 {
        let more = lines.len() - height + 1;
        lines.truncate(height - 1);
        let mut hint = Line::styled(format!("↓ {more} more (e zooms)"), Style::DIM);
        hint.fit_words(width);
        lines.push(hint);
    }
    lines
}

/// First row to show so that row `keep` stays visible in `height` rows out of `len`.
pub fn scroll(keep: usize, height: usize, len: usize) -> usize {
    if len <= height {
        0
    } else {
        keep.saturating_sub(height / 2).min(len - height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(Line::text).collect()
    }

    #[test]
    fn wrap_breaks_at_spaces_and_trims() {
        let l = Line::plain("the driver writes the queue notify register");
        assert_eq!(
            texts(&wrap(&[l], 16, true)),
            ["the driver", "writes the queue", "notify register"]
        );
    }

    #[test]
    fn wrap_splits_a_word_longer_than_a_row() {
        let l = Line::plain("ab 0123456789abcdef z");
        assert_eq!(
            texts(&wrap(&[l], 8, true)),
            ["ab", "01234567", "89abcdef", "z"]
        );
    }

    #[test]
    fn wrap_keeps_styles() {
        let mut l = Line::styled("did  ", Style::LABEL);
        l.push("avail.idx ← 0x0001", Style::PLAIN);
        let w = wrap(&[l], 12, true);
        assert_eq!(texts(&w), ["did", "avail.idx ←", "0x0001"]);
        assert_eq!(w[0].spans[0].style, Style::LABEL);
        assert_eq!(w[1].spans[0].style, Style::PLAIN);
    }

    #[test]
    fn fit_words_never_shows_part_of_a_word() {
        let mut l = Line::plain("status 15 (ACKNOWLEDGE | DRIVER | FEATURES_OK)");
        l.fit_words(30);
        assert_eq!(l.text(), "status 15 (ACKNOWLEDGE |");
        let mut l = Line::plain("FEATURES_OK|DRIVER_OK");
        l.fit_words(14);
        assert_eq!(l.text(), "");
        let mut l = Line::plain("   0  dev ◀ next free");
        l.fit_words(16);
        assert_eq!(l.text(), "   0  dev ◀ next");
    }

    #[test]
    fn columns_keep_a_gap_and_clip_says_what_is_hidden() {
        let a = [Line::plain("AVAIL flags 0 idx 512")];
        let b = [Line::plain("USED flags 0")];
        let row = &columns(&[(21, &a), (12, &b)], 1)[0];
        assert_eq!(row.text(), "AVAIL flags 0 idx 512 USED flags 0");
        let lines: Vec<Line> = (0..10).map(|i| Line::plain(format!("row {i}"))).collect();
        let c = clip(lines, 20, 4);
        assert_eq!(texts(&c), ["row 0", "row 1", "row 2", "↓ 7 more (e zooms)"]);
    }

    #[test]
    fn truncate_counts_cells_not_bytes() {
        let mut l = Line::plain("◀ drv.avail w1");
        l.truncate(5);
        assert_eq!(l.text(), "◀ drv");
        l.fit(7);
        assert_eq!(l.text(), "◀ drv  ");
        assert_eq!(l.width(), 7);
    }
}
