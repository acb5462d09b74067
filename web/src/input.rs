//! egui's input as core's: keys as [`KeyPress`]es (core's keymap gives them meaning; this
//! module knows no binding), the mouse wheel as selection moves.
//!
//! A printable key arrives twice from egui, as a key and as the text it types; the text is
//! what counts (it carries Shift and the keyboard layout: `?`, `:`, `L`), so only keys that
//! type nothing are taken from key events, and letters only with Ctrl (Ctrl+K).

use egui::{Event, Key as EKey, Modifiers, MouseWheelUnit};
use ringside_core::command::{Key, KeyPress};

/// What the user did, in core's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A key.
    Key(KeyPress),
    /// The wheel moved this many rows (down is positive).
    Wheel(i32),
}

/// Rows the wheel has moved but not yet turned into moves.
#[derive(Debug, Default, Clone, Copy)]
pub struct Wheel {
    rows: f32,
}

/// Turns a frame's events into inputs. `row` is a text row's height in points (the wheel
/// moves by rows, whatever unit it reports in).
pub fn inputs(events: &[Event], wheel: &mut Wheel, row: f32) -> Vec<Input> {
    let mut out = Vec::new();
    for e in events {
        match e {
            Event::Text(t) => out.extend(t.chars().map(|c| Input::Key(KeyPress::ch(c)))),
            Event::Paste(t) => out.extend(
                t.chars()
                    .filter(|c| !c.is_control())
                    .map(|c| Input::Key(KeyPress::ch(c))),
            ),
            Event::Key {
                key,
                pressed: true,
                modifiers,
                ..
            } => out.extend(key_press(*key, *modifiers).map(Input::Key)),
            Event::MouseWheel { unit, delta, .. } => {
                wheel.rows -= match unit {
                    MouseWheelUnit::Point => delta.y / row.max(1.0),
                    MouseWheelUnit::Line => delta.y,
                    MouseWheelUnit::Page => delta.y * 10.0,
                };
                let whole = wheel.rows.trunc();
                if whole != 0.0 {
                    wheel.rows -= whole;
                    out.push(Input::Wheel(whole as i32));
                }
            }
            _ => {}
        }
    }
    out
}

/// A key that types no text, as core's key; a letter with Ctrl as that letter with Ctrl.
pub fn key_press(key: EKey, m: Modifiers) -> Option<KeyPress> {
    let ctrl = m.ctrl || m.command;
    let k = match key {
        EKey::ArrowLeft => Key::Left,
        EKey::ArrowRight => Key::Right,
        EKey::ArrowUp => Key::Up,
        EKey::ArrowDown => Key::Down,
        EKey::Home => Key::Home,
        EKey::End => Key::End,
        EKey::PageUp => Key::PageUp,
        EKey::PageDown => Key::PageDown,
        EKey::Tab if m.shift => return Some(KeyPress::plain(Key::BackTab)),
        EKey::Tab => Key::Tab,
        EKey::Enter => Key::Enter,
        EKey::Escape => Key::Esc,
        EKey::Backspace => Key::Backspace,
        EKey::F1 => Key::F(1),
        EKey::F2 => Key::F(2),
        EKey::F3 => Key::F(3),
        EKey::F4 => Key::F(4),
        EKey::F5 => Key::F(5),
        EKey::F6 => Key::F(6),
        EKey::F7 => Key::F(7),
        EKey::F8 => Key::F(8),
        EKey::F9 => Key::F(9),
        EKey::F10 => Key::F(10),
        EKey::F11 => Key::F(11),
        EKey::F12 => Key::F(12),
        other if ctrl => {
            let name = other.name();
            let mut chars = name.chars();
            return match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii_alphabetic() => Some(KeyPress {
                    key: Key::Char(c.to_ascii_lowercase()),
                    shift: false,
                    ctrl: true,
                }),
                _ => None,
            };
        }
        _ => return None,
    };
    Some(KeyPress {
        key: k,
        shift: m.shift,
        ctrl,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringside_core::command::{Command, Dir, PromptKind, lookup};

    fn key(key: EKey, modifiers: Modifiers) -> Event {
        Event::Key {
            key,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers,
        }
    }

    fn commands(events: &[Event]) -> Vec<Option<Command>> {
        inputs(events, &mut Wheel::default(), 16.0)
            .into_iter()
            .map(|i| match i {
                Input::Key(k) => lookup(k),
                Input::Wheel(_) => None,
            })
            .collect()
    }

    #[test]
    fn typed_keys_count_once_and_carry_shift() {
        // Shift+L types "L": one op forward, not a step (the key event is ignored).
        let shift = Modifiers::SHIFT;
        assert_eq!(
            commands(&[key(EKey::L, shift), Event::Text("L".into())]),
            [Some(Command::Op(Dir::Forward))]
        );
        assert_eq!(
            commands(&[key(EKey::ArrowRight, shift)]),
            [Some(Command::Op(Dir::Forward))]
        );
        assert_eq!(
            commands(&[key(EKey::Tab, shift)]),
            [Some(Command::Focus(Dir::Back))]
        );
        assert_eq!(
            commands(&[key(EKey::K, Modifiers::CTRL)]),
            [Some(Command::Prompt(PromptKind::Palette))]
        );
    }

    #[test]
    fn the_wheel_moves_by_whole_rows() {
        let mut w = Wheel::default();
        let wheel = |dy: f32| Event::MouseWheel {
            unit: MouseWheelUnit::Point,
            delta: egui::vec2(0.0, dy),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
            modifiers: Modifiers::NONE,
        };
        assert_eq!(inputs(&[wheel(-10.0)], &mut w, 16.0), []);
        assert_eq!(inputs(&[wheel(-10.0)], &mut w, 16.0), [Input::Wheel(1)]);
        assert_eq!(inputs(&[wheel(40.0)], &mut w, 16.0), [Input::Wheel(-2)]);
    }
}
