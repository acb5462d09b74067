//! Semantic roles to colours, dark and light: the same mapping as the terminal's theme
//! (driver blue, device magenta, shared cyan, free dim; a value changed at the last step on a
//! yellow background, one changed since the mark in yellow underlined). Meaning never rests on
//! colour alone: core prints owner tags and marks in the text.

use egui::Color32;
use ringside_core::face::screen::{Emphasis, Role, Style};
use ringside_core::finding::Severity;
use ringside_core::view::{Change, Owner};

/// How one span looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    /// Text colour.
    pub fg: Color32,
    /// Cell background, when not the page's.
    pub bg: Option<Color32>,
    /// Underlined.
    pub underline: bool,
}

/// The page's palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// Dark (the default) or light.
    pub dark: bool,
}

impl Theme {
    /// The dark or light theme.
    pub fn new(dark: bool) -> Self {
        Theme { dark }
    }

    fn pick(&self, dark: Color32, light: Color32) -> Color32 {
        if self.dark { dark } else { light }
    }

    /// The grid's background.
    pub fn background(&self) -> Color32 {
        self.pick(
            Color32::from_rgb(22, 24, 28),
            Color32::from_rgb(250, 250, 247),
        )
    }

    /// Ordinary text.
    pub fn text(&self) -> Color32 {
        self.pick(
            Color32::from_rgb(220, 222, 226),
            Color32::from_rgb(30, 32, 36),
        )
    }

    fn strong_text(&self) -> Color32 {
        self.pick(Color32::WHITE, Color32::BLACK)
    }

    fn dim(&self) -> Color32 {
        self.pick(
            Color32::from_rgb(128, 132, 140),
            Color32::from_rgb(125, 128, 134),
        )
    }

    fn label(&self) -> Color32 {
        self.pick(
            Color32::from_rgb(200, 204, 212),
            Color32::from_rgb(70, 74, 82),
        )
    }

    /// The colour of something `o` owns (slots, cache lines, an agent's name). The pictures
    /// use it too.
    pub fn owner(&self, o: Owner) -> Color32 {
        match o {
            Owner::Driver => self.pick(
                Color32::from_rgb(110, 165, 255),
                Color32::from_rgb(20, 90, 210),
            ),
            Owner::Device => self.pick(
                Color32::from_rgb(235, 120, 235),
                Color32::from_rgb(165, 30, 165),
            ),
            Owner::Shared => self.pick(
                Color32::from_rgb(90, 215, 225),
                Color32::from_rgb(0, 130, 140),
            ),
            Owner::Free => self.dim(),
        }
    }

    fn severity(&self, s: Severity) -> Color32 {
        match s {
            Severity::Error => self.pick(
                Color32::from_rgb(255, 105, 100),
                Color32::from_rgb(190, 20, 20),
            ),
            Severity::Warning => self.pick(
                Color32::from_rgb(240, 210, 90),
                Color32::from_rgb(150, 105, 0),
            ),
            Severity::Info => self.dim(),
        }
    }

    /// Error text outside the grid (the page's error box).
    pub fn error(&self) -> Color32 {
        self.severity(Severity::Error)
    }

    /// The yellow of changes.
    pub fn change(&self) -> Color32 {
        self.pick(
            Color32::from_rgb(245, 215, 60),
            Color32::from_rgb(250, 220, 70),
        )
    }

    fn weak_change(&self) -> Color32 {
        self.pick(
            Color32::from_rgb(245, 215, 60),
            Color32::from_rgb(150, 110, 0),
        )
    }

    /// A pane's border, focused or not.
    pub fn border(&self, focused: bool) -> Color32 {
        if focused {
            self.pick(
                Color32::from_rgb(80, 200, 220),
                Color32::from_rgb(0, 120, 150),
            )
        } else {
            self.pick(
                Color32::from_rgb(70, 74, 82),
                Color32::from_rgb(190, 192, 196),
            )
        }
    }

    fn cursor(&self) -> Color32 {
        self.pick(
            Color32::from_rgb(80, 200, 220),
            Color32::from_rgb(120, 210, 230),
        )
    }

    /// The look of a screen style: the role's colour, the emphasis over it, then the change
    /// level over both (the terminal theme's order).
    pub fn look(&self, s: Style) -> Look {
        let mut look = Look {
            fg: match s.role {
                Role::Plain => self.text(),
                Role::Label => self.label(),
                Role::Dim => self.dim(),
                Role::Key => Color32::BLACK,
                Role::Owner(o) => self.owner(o),
                Role::Severity(v) => self.severity(v),
            },
            bg: (s.role == Role::Key)
                .then(|| self.pick(Color32::from_gray(170), Color32::from_gray(200))),
            underline: false,
        };
        match s.emphasis {
            Emphasis::None => {}
            Emphasis::Bold => {
                if matches!(s.role, Role::Plain | Role::Label) {
                    look.fg = self.strong_text();
                }
            }
            Emphasis::Selected => {
                look.bg = Some(look.fg);
                look.fg = self.background();
            }
            Emphasis::Cursor => {
                look.bg = Some(self.cursor());
                look.fg = Color32::BLACK;
            }
        }
        match s.change {
            Change::None => {}
            Change::Strong => {
                look.bg = Some(self.change());
                look.fg = Color32::BLACK;
            }
            Change::Weak => {
                look.fg = self.weak_change();
                look.underline = true;
            }
        }
        look
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_differ_and_changes_win_over_roles() {
        for dark in [true, false] {
            let t = Theme::new(dark);
            let owners = [Owner::Driver, Owner::Device, Owner::Shared, Owner::Free];
            for (i, a) in owners.iter().enumerate() {
                for b in &owners[i + 1..] {
                    assert_ne!(t.owner(*a), t.owner(*b), "{a:?} {b:?} dark={dark}");
                }
            }
            let strong = t.look(Style::owner(Owner::Device).changed(Change::Strong));
            assert_eq!(strong.bg, Some(t.change()));
            let weak = t.look(Style::owner(Owner::Device).changed(Change::Weak));
            assert!(weak.underline && weak.bg.is_none());
            let sel = t.look(Style::owner(Owner::Driver).with(Emphasis::Selected));
            assert_eq!(sel.bg, Some(t.owner(Owner::Driver)));
        }
    }
}
