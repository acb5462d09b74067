//! Paints a core [`Screen`] with egui, cell by cell in a monospace font: a bordered box per
//! pane with its title on the top border, the bars, and the overlay (cleared, then drawn).
//! Nothing here decides what or where: core laid the screen out for this many cells.
//!
//! Text goes one galley per run of a line (egui caches galleys, so an unchanged line costs a
//! hash). A character whose glyph is not one cell wide in the font (a symbol the monospace
//! font lacks, drawn from a fallback font) is drawn alone, centred on its cells, so the grid
//! never drifts. The screen's text also goes to the accessibility tree: each pane as a node
//! labelled with its title, each line as a label node, so a screen reader (and the tests) can
//! read what is shown.

use std::collections::HashMap;

use egui::text::{LayoutJob, TextFormat};
use egui::{Color32, CornerRadius, FontId, Id, Pos2, Rect as PxRect, Stroke, StrokeKind, Vec2};
use ringside_core::face::screen::{self, Line, Screen, Size, text};

fn char_width(c: char) -> u16 {
    let mut b = [0; 4];
    text::width(c.encode_utf8(&mut b)) as u16
}

use crate::theme::Theme;

/// The cell grid: where cell (0, 0) is and how big a cell is, in points.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Top-left corner of cell (0, 0).
    pub origin: Pos2,
    /// One cell.
    pub cell: Vec2,
    /// The monospace font the cells are measured in.
    pub font: FontId,
}

impl Grid {
    /// The grid of `font` at `origin`, measured with the context's fonts.
    pub fn measure(ctx: &egui::Context, font: FontId, origin: Pos2) -> Grid {
        let cell = ctx.fonts_mut(|f| Vec2::new(f.glyph_width(&font, 'M'), f.row_height(&font)));
        Grid { origin, cell, font }
    }

    /// How many cells fit in `avail` points.
    pub fn size_for(&self, avail: Vec2) -> Size {
        let cols = (avail.x / self.cell.x)
            .floor()
            .clamp(1.0, f32::from(u16::MAX));
        let rows = (avail.y / self.cell.y)
            .floor()
            .clamp(1.0, f32::from(u16::MAX));
        Size::new(cols as u16, rows as u16)
    }

    /// The cell under a point, if on the grid.
    pub fn cell_at(&self, p: Pos2, size: Size) -> Option<(u16, u16)> {
        let d = p - self.origin;
        if d.x < 0.0 || d.y < 0.0 {
            return None;
        }
        let (x, y) = ((d.x / self.cell.x) as u32, (d.y / self.cell.y) as u32);
        (x < u32::from(size.cols) && y < u32::from(size.rows)).then_some((x as u16, y as u16))
    }

    /// The top-left corner of a cell.
    pub fn pos(&self, x: u16, y: u16) -> Pos2 {
        self.origin + Vec2::new(f32::from(x) * self.cell.x, f32::from(y) * self.cell.y)
    }

    /// A rectangle of cells in points.
    pub fn rect(&self, r: screen::Rect) -> PxRect {
        PxRect::from_min_size(
            self.pos(r.x, r.y),
            Vec2::new(
                f32::from(r.width) * self.cell.x,
                f32::from(r.height) * self.cell.y,
            ),
        )
    }
}

/// Which characters are exactly as wide as their cells in the grid's font, learned once each.
#[derive(Debug, Default)]
pub struct Glyphs {
    fits: HashMap<char, bool>,
    font: Option<FontId>,
}

impl Glyphs {
    fn fits(&mut self, ctx: &egui::Context, grid: &Grid, c: char, cells: u16) -> bool {
        if c.is_ascii() {
            return true;
        }
        if self.font.as_ref() != Some(&grid.font) {
            self.fits.clear();
            self.font = Some(grid.font.clone());
        }
        *self.fits.entry(c).or_insert_with(|| {
            let w = ctx.fonts_mut(|f| f.glyph_width(&grid.font, c));
            (w - grid.cell.x * f32::from(cells)).abs() < 0.25
        })
    }
}

/// Paints screens on one egui painter.
pub struct Painter<'a> {
    painter: &'a egui::Painter,
    grid: &'a Grid,
    theme: Theme,
    glyphs: &'a mut Glyphs,
    /// Parent id of the accessibility nodes.
    id: Id,
}

impl<'a> Painter<'a> {
    /// A painter of screens on `painter`'s layer, in `grid`'s cells.
    pub fn new(
        painter: &'a egui::Painter,
        grid: &'a Grid,
        theme: Theme,
        glyphs: &'a mut Glyphs,
        id: Id,
    ) -> Self {
        Painter {
            painter,
            grid,
            theme,
            glyphs,
            id,
        }
    }

    /// Paints a whole screen.
    pub fn screen(&mut self, s: &Screen) {
        let whole = self.grid.rect(s.size.rect());
        self.painter
            .rect_filled(whole, CornerRadius::ZERO, self.theme.background());
        self.bar("header", &s.header);
        for (i, p) in s.panes.iter().enumerate() {
            self.boxed(p.area, &p.title, None, p.focused);
            let inner = p.area.inner();
            for (r, l) in p.lines.iter().take(usize::from(inner.height)).enumerate() {
                self.line(inner.x, inner.y + r as u16, inner.width, l);
            }
            self.node(("pane", i), egui::Role::Pane, &p.title);
            for (r, l) in p.lines.iter().take(usize::from(inner.height)).enumerate() {
                self.node(("line", i, r), egui::Role::Label, &l.text());
            }
        }
        self.bar("status", &s.status);
        self.bar("hints", &s.hints);
        if let Some(o) = &s.overlay {
            self.painter.rect_filled(
                self.grid.rect(o.area),
                CornerRadius::ZERO,
                self.theme.background(),
            );
            self.boxed(o.area, &o.title, Some(&o.footer), true);
            let inner = o.area.inner();
            for (r, l) in o.lines.iter().take(usize::from(inner.height)).enumerate() {
                self.line(inner.x, inner.y + r as u16, inner.width, l);
                self.node(("overlay", r), egui::Role::Label, &l.text());
            }
            self.node("overlay", egui::Role::Dialog, &o.title);
        }
    }

    /// An accessibility node (when AccessKit is on: in tests, and for screen readers).
    fn node(&self, key: impl std::hash::Hash + std::fmt::Debug, role: egui::Role, label: &str) {
        let ctx = self.painter.ctx();
        ctx.accesskit_node_builder(self.id.with(key), |n| {
            n.set_role(role);
            n.set_label(label.to_string());
        });
    }

    fn bar(&mut self, name: &str, b: &screen::Bar) {
        for (r, l) in b.lines.iter().take(usize::from(b.area.height)).enumerate() {
            self.line(b.area.x, b.area.y + r as u16, b.area.width, l);
        }
        self.node(name, egui::Role::Label, &b.text());
    }

    /// A box of cells: a line through the middle of its border cells, the title on the top
    /// border and the footer on the bottom one, each from the second cell.
    fn boxed(&mut self, area: screen::Rect, title: &str, footer: Option<&str>, focused: bool) {
        if area.width < 2 || area.height < 2 {
            return;
        }
        let half = self.grid.cell * 0.5;
        let outer = self.grid.rect(area);
        let r = PxRect::from_min_max(outer.min + half, outer.max - half);
        let color = self.theme.border(focused);
        let width = if focused { 2.0 } else { 1.0 };
        self.painter.rect_stroke(
            r,
            CornerRadius::same(3),
            Stroke::new(width, color),
            StrokeKind::Middle,
        );
        let room = area.width - 2;
        for (row, text) in [(area.y, Some(title)), (area.y + area.height - 1, footer)] {
            let Some(text) = text.filter(|t| !t.is_empty()) else {
                continue;
            };
            let mut l = Line::plain(text);
            l.truncate(usize::from(room));
            let cells = l.width() as u16;
            self.painter.rect_filled(
                self.grid.rect(screen::Rect::new(area.x + 1, row, cells, 1)),
                CornerRadius::ZERO,
                self.theme.background(),
            );
            self.text_run(area.x + 1, row, &l, color);
        }
    }

    /// Text in one colour (titles).
    fn text_run(&mut self, x: u16, y: u16, l: &Line, color: Color32) {
        let mut job = Job::new(self.grid.font.clone());
        let mut col = 0;
        for c in l.text().chars() {
            let w = char_width(c);
            self.put(&mut job, x, y, col, c, w, color, false);
            col += w;
        }
        self.flush(&mut job, x, y);
    }

    /// One line of spans from cell `(x, y)`, at most `width` cells.
    pub fn line(&mut self, x: u16, y: u16, width: u16, l: &Line) {
        let mut job = Job::new(self.grid.font.clone());
        let mut col: u16 = 0;
        for span in &l.spans {
            let look = self.theme.look(span.style);
            if let Some(bg) = look.bg {
                let cells = (text::width(&span.text) as u16).min(width.saturating_sub(col));
                self.painter.rect_filled(
                    self.grid.rect(screen::Rect::new(x + col, y, cells, 1)),
                    CornerRadius::ZERO,
                    bg,
                );
            }
            for c in span.text.chars() {
                let w = char_width(c);
                if col + w > width {
                    break;
                }
                self.put(&mut job, x, y, col, c, w, look.fg, look.underline);
                col += w;
            }
        }
        self.flush(&mut job, x, y);
    }

    /// Adds a character at column `col` to the run, or, when its glyph does not fit its cells,
    /// paints what the run holds and the character alone, centred on its cells.
    #[allow(clippy::too_many_arguments)]
    fn put(
        &mut self,
        job: &mut Job,
        x: u16,
        y: u16,
        col: u16,
        c: char,
        w: u16,
        color: Color32,
        underline: bool,
    ) {
        if w == 0 {
            return;
        }
        if self.glyphs.fits(self.painter.ctx(), self.grid, c, w) {
            if job.text.is_empty() {
                job.col = col;
            }
            job.push(c, color, underline);
            return;
        }
        self.flush(job, x, y);
        let cell = self.grid.rect(screen::Rect::new(x + col, y, w, 1));
        let mut one = Job::new(self.grid.font.clone());
        one.push(c, color, underline);
        let galley = self.painter.layout_job(one.finish());
        let pos = cell.center() - galley.size() * 0.5;
        self.painter.galley(pos, galley, color);
    }

    /// Paints the run collected so far.
    fn flush(&mut self, job: &mut Job, x: u16, y: u16) {
        if job.text.is_empty() {
            return;
        }
        let col = job.col;
        let done = std::mem::replace(job, Job::new(self.grid.font.clone()));
        let galley = self.painter.layout_job(done.finish());
        self.painter
            .galley(self.grid.pos(x + col, y), galley, Color32::PLACEHOLDER);
    }
}

/// A run of characters that all fit their cells, in sections of one format each.
struct Job {
    font: FontId,
    col: u16,
    text: String,
    sections: Vec<(usize, Color32, bool)>,
}

impl Job {
    fn new(font: FontId) -> Self {
        Job {
            font,
            col: 0,
            text: String::new(),
            sections: Vec::new(),
        }
    }

    fn push(&mut self, c: char, color: Color32, underline: bool) {
        if self
            .sections
            .last()
            .is_none_or(|&(_, col, u)| col != color || u != underline)
        {
            self.sections.push((self.text.len(), color, underline));
        }
        self.text.push(c);
    }

    fn finish(self) -> LayoutJob {
        let mut job = LayoutJob {
            text: self.text,
            ..LayoutJob::default()
        };
        job.wrap.max_width = f32::INFINITY;
        let ends: Vec<usize> = self
            .sections
            .iter()
            .skip(1)
            .map(|s| s.0)
            .chain([job.text.len()])
            .collect();
        for (&(start, color, underline), end) in self.sections.iter().zip(ends) {
            job.sections.push(egui::text::LayoutSection {
                leading_space: 0.0,
                byte_range: egui::text::ByteIndex(start)..egui::text::ByteIndex(end),
                format: TextFormat {
                    font_id: self.font.clone(),
                    color,
                    underline: if underline {
                        Stroke::new(1.0, color)
                    } else {
                        Stroke::NONE
                    },
                    ..TextFormat::default()
                },
            });
        }
        job
    }
}
