//! The [`Screen`]: one whole picture for a face to paint, laid out in cells.
//!
//! Every controller hands out the same type, built for the face's size: the header, the panes
//! (each with a core-defined identity, a title, its area and its text already fitted), the
//! status line, the key hints, an overlay (help) and the click targets. A face draws borders
//! around panes, maps each [`Style`] to its own colours, and turns a click into the command of
//! the target under it ([`Screen::command_at`]); it decides nothing else.

pub mod chrome;
pub mod layout;
pub mod picture;
mod ring;
pub mod scenario;
pub mod text;
pub mod trace;

use serde::{Deserialize, Serialize};

pub use layout::{Constraint, Rect, split};
pub use text::{Emphasis, Line, Role, Span, Style, clip, columns, scroll, scrolled, wrap};

use crate::command::{Command, PaneId};

/// The room a face has: the text grid in cells, and whether it draws pictures beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Size {
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
    /// The face has a picture panel open (the web app's): the screen carries
    /// [`Screen::pictures`]. Without one (the terminal) it carries none, and building them
    /// would cost a split ring of 1024 most of its frame.
    #[serde(default)]
    pub pictures: bool,
}

impl Size {
    /// A text grid of `cols` x `rows` cells, no pictures.
    pub const fn new(cols: u16, rows: u16) -> Size {
        Size {
            cols,
            rows,
            pictures: false,
        }
    }

    /// The same grid, with pictures beside it.
    pub const fn with_pictures(self) -> Size {
        Size {
            pictures: true,
            ..self
        }
    }

    /// The whole screen as a rectangle.
    pub fn rect(self) -> Rect {
        Rect::new(0, 0, self.cols, self.rows)
    }
}

/// Text outside the panes: the header, the status line, the hint bar. One row each, but for
/// a status message too long for one row, which wraps onto a few.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Bar {
    /// Where.
    pub area: Rect,
    /// What, one line per row of the area.
    pub lines: Vec<Line>,
}

impl Bar {
    /// The text, rows joined by spaces.
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(Line::text)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One pane: a bordered box with a title and lines inside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pane {
    /// Which pane.
    pub id: PaneId,
    /// The box, border included; the text goes in [`Rect::inner`].
    pub area: Rect,
    /// The title on the top border, with its number and focus mark.
    pub title: String,
    /// It has the focus (the face draws the border as focused).
    pub focused: bool,
    /// The lines inside, top first; each fits the inner width.
    pub lines: Vec<Line>,
}

/// A box drawn over the panes (the help).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overlay {
    /// The box, border included.
    pub area: Rect,
    /// Title on the top border.
    pub title: String,
    /// Text on the bottom border.
    pub footer: String,
    /// The lines inside.
    pub lines: Vec<Line>,
}

/// Something clickable and the command a click on it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Where.
    pub area: Rect,
    /// What a click there does.
    pub command: Command,
}

/// Everything a face paints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screen {
    /// Its size.
    pub size: Size,
    /// The top row.
    pub header: Bar,
    /// The panes, in painting order.
    pub panes: Vec<Pane>,
    /// The row under the panes: prompt, message or state.
    pub status: Bar,
    /// The bottom row: the most used keys.
    pub hints: Bar,
    /// A box over everything, when open.
    pub overlay: Option<Overlay>,
    /// Clickable items, most specific first; a click elsewhere in a pane focuses it.
    pub targets: Vec<Target>,
    /// Drawings for a face that can draw (the terminal shows the text panes only).
    pub pictures: picture::Pictures,
}

impl Screen {
    /// The command a click at cell `(x, y)` means: the first target there, else focusing the
    /// pane under it.
    pub fn command_at(&self, x: u16, y: u16) -> Option<Command> {
        if self.overlay.is_some() {
            return None;
        }
        self.targets
            .iter()
            .find(|t| t.area.contains(x, y))
            .map(|t| t.command.clone())
    }

    /// The pane with this identity, if it is on screen.
    pub fn pane(&self, id: PaneId) -> Option<&Pane> {
        self.panes.iter().find(|p| p.id == id)
    }

    /// The screen as plain text, one row per line: what a test or a screen reader reads.
    pub fn text(&self) -> String {
        let (w, h) = (usize::from(self.size.cols), usize::from(self.size.rows));
        let mut grid = vec![vec![' '; w]; h];
        let mut put = |area: Rect, r: u16, line: &Line| {
            let y = usize::from(area.y + r);
            let mut x = usize::from(area.x);
            let end = (x + usize::from(area.width)).min(w);
            if y >= h {
                return;
            }
            for c in line.text().chars() {
                if x >= end {
                    break;
                }
                grid[y][x] = c;
                x += text::width(&c.to_string()).max(1);
            }
        };
        for bar in [&self.header, &self.status, &self.hints] {
            for (r, l) in bar.lines.iter().enumerate() {
                put(bar.area, r as u16, l);
            }
        }
        for p in &self.panes {
            put(p.area, 0, &Line::plain(p.title.clone()));
            let inner = p.area.inner();
            for (r, l) in p.lines.iter().enumerate().take(usize::from(inner.height)) {
                put(inner, r as u16, l);
            }
        }
        if let Some(o) = &self.overlay {
            let inner = o.area.inner();
            for (r, l) in o.lines.iter().enumerate().take(usize::from(inner.height)) {
                put(inner, r as u16, l);
            }
        }
        grid.into_iter()
            .map(|row| row.into_iter().collect::<String>().trim_end().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}
