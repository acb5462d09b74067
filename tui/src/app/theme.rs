//! Semantic roles to terminal styles. With `NO_COLOR` set, meaning moves to modifiers and text
//! (owner tags are always printed), never to colour alone.

use ratatui::style::{Color, Modifier, Style};
use ringside_core::face::screen::{self, Emphasis, Role};
use ringside_core::finding::Severity;
use ringside_core::view::{Change, Owner};

/// Styles for every role the frame uses.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    color: bool,
}

impl Theme {
    /// Colours unless `NO_COLOR` is set to anything non-empty (no-color.org).
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    /// A theme with or without colour.
    pub fn new(color: bool) -> Self {
        Theme { color }
    }

    fn pick(&self, colored: Style, plain: Style) -> Style {
        if self.color { colored } else { plain }
    }

    /// The terminal style of a screen style: the role's look, the emphasis over it, then the
    /// change level over both.
    pub fn style(&self, s: screen::Style) -> Style {
        let base = match s.role {
            Role::Plain => Style::new(),
            Role::Label => self.label(),
            Role::Dim => self.dim(),
            Role::Key => self.key(),
            Role::Owner(o) => self.owner(o),
            Role::Severity(v) => self.severity(v),
        };
        let base = match s.emphasis {
            Emphasis::None => base,
            Emphasis::Bold => base.add_modifier(Modifier::BOLD),
            Emphasis::Selected => base.patch(self.selected()),
            Emphasis::Cursor => base.patch(self.cursor()),
        };
        self.change(base, s.change)
    }

    /// Text of something owned by `o`.
    pub fn owner(&self, o: Owner) -> Style {
        match o {
            Owner::Driver => self.pick(Style::new().fg(Color::LightBlue), Style::new()),
            Owner::Device => self.pick(Style::new().fg(Color::LightMagenta), Style::new()),
            Owner::Shared => self.pick(Style::new().fg(Color::LightCyan), Style::new()),
            Owner::Free => Style::new().add_modifier(Modifier::DIM),
        }
    }

    /// A value that changed, over its base style.
    pub fn change(&self, base: Style, c: Change) -> Style {
        match c {
            Change::None => base,
            Change::Strong => self.pick(
                base.bg(Color::Yellow)
                    .fg(Color::Black)
                    .add_modifier(Modifier::BOLD),
                base.add_modifier(Modifier::REVERSED | Modifier::BOLD),
            ),
            Change::Weak => self.pick(
                base.fg(Color::Yellow).add_modifier(Modifier::UNDERLINED),
                base.add_modifier(Modifier::UNDERLINED),
            ),
        }
    }

    /// Pane border; focused or not.
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.pick(
                Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
                Style::new().add_modifier(Modifier::BOLD),
            )
        } else {
            self.pick(Style::new().fg(Color::DarkGray), Style::new())
        }
    }

    /// Headings and labels.
    pub fn label(&self) -> Style {
        self.pick(Style::new().fg(Color::Gray), Style::new())
            .add_modifier(Modifier::BOLD)
    }

    /// Secondary text.
    pub fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    /// The selected row.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// The cursor in the timeline and the memory field under the cursor.
    pub fn cursor(&self) -> Style {
        self.pick(
            Style::new().bg(Color::Cyan).fg(Color::Black),
            Style::new().add_modifier(Modifier::REVERSED),
        )
    }

    /// A finding of this severity.
    pub fn severity(&self, s: Severity) -> Style {
        match s {
            Severity::Error => self.pick(
                Style::new()
                    .fg(Color::LightRed)
                    .add_modifier(Modifier::BOLD),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Severity::Warning => self.pick(Style::new().fg(Color::Yellow), Style::new()),
            Severity::Info => self.dim(),
        }
    }

    /// Error messages.
    pub fn error(&self) -> Style {
        self.severity(Severity::Error)
    }

    /// Key names in hints.
    pub fn key(&self) -> Style {
        self.pick(
            Style::new().fg(Color::Black).bg(Color::Gray),
            Style::new().add_modifier(Modifier::REVERSED),
        )
    }
}
