//! Paints a core [`Screen`] with ratatui: a bordered block per pane, the bars and the overlay,
//! each span in the theme's style for its role. Nothing here decides what or where: core laid
//! the screen out for this size.

use ratatui::Frame as Term;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ringside_core::face::screen::{self, Screen};

use super::theme::Theme;

fn rect(r: screen::Rect) -> Rect {
    Rect::new(r.x, r.y, r.width, r.height)
}

fn line<'a>(l: &'a screen::Line, theme: &Theme) -> Line<'a> {
    Line::from(
        l.spans
            .iter()
            .map(|s| Span::styled(s.text.as_str(), theme.style(s.style)))
            .collect::<Vec<_>>(),
    )
}

fn lines<'a>(ls: &'a [screen::Line], theme: &Theme) -> Vec<Line<'a>> {
    ls.iter().map(|l| line(l, theme)).collect()
}

fn bar(t: &mut Term<'_>, b: &screen::Bar, theme: &Theme) {
    t.render_widget(Paragraph::new(lines(&b.lines, theme)), rect(b.area));
}

/// Paints a screen.
pub fn paint(t: &mut Term<'_>, s: &Screen, theme: &Theme) {
    bar(t, &s.header, theme);
    for p in &s.panes {
        let block = Block::new()
            .borders(Borders::ALL)
            .border_style(theme.border(p.focused))
            .title(p.title.as_str());
        t.render_widget(
            Paragraph::new(lines(&p.lines, theme)).block(block),
            rect(p.area),
        );
    }
    bar(t, &s.status, theme);
    bar(t, &s.hints, theme);
    if let Some(o) = &s.overlay {
        let r = rect(o.area);
        let block = Block::new()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(o.title.as_str())
            .title_bottom(o.footer.as_str());
        t.render_widget(Clear, r);
        t.render_widget(Paragraph::new(lines(&o.lines, theme)).block(block), r);
    }
}
