//! The keymap as data: every binding has keys, a command and a description. The hint bar, the
//! `?` overlay, the web help and `docs/keymap.md` are all generated from [`bindings`].

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Command, Dir, PaneId, PromptKind};

/// A key, independent of any terminal library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Key {
    /// A printable character (its case carries Shift).
    Char(char),
    /// ←
    Left,
    /// →
    Right,
    /// ↑
    Up,
    /// ↓
    Down,
    /// Home
    Home,
    /// End
    End,
    /// Page Up
    PageUp,
    /// Page Down
    PageDown,
    /// Tab
    Tab,
    /// Shift+Tab
    BackTab,
    /// Enter
    Enter,
    /// Escape
    Esc,
    /// Backspace
    Backspace,
    /// A function key.
    F(u8),
}

/// A key with its modifiers. For [`Key::Char`] Shift is folded into the character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyPress {
    /// The key.
    pub key: Key,
    /// Shift held (not for characters).
    pub shift: bool,
    /// Ctrl held.
    pub ctrl: bool,
}

impl KeyPress {
    /// A key without modifiers.
    pub const fn plain(key: Key) -> Self {
        KeyPress {
            key,
            shift: false,
            ctrl: false,
        }
    }

    /// A key with Shift.
    pub const fn shift(key: Key) -> Self {
        KeyPress {
            key,
            shift: true,
            ctrl: false,
        }
    }

    /// A character key.
    pub const fn ch(c: char) -> Self {
        Self::plain(Key::Char(c))
    }
}

impl fmt::Display for KeyPress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl+")?;
        }
        if self.shift {
            f.write_str("Shift+")?;
        }
        match self.key {
            Key::Char(' ') => f.write_str("Space"),
            Key::Char(c) => write!(f, "{c}"),
            Key::Left => f.write_str("←"),
            Key::Right => f.write_str("→"),
            Key::Up => f.write_str("↑"),
            Key::Down => f.write_str("↓"),
            Key::Home => f.write_str("Home"),
            Key::End => f.write_str("End"),
            Key::PageUp => f.write_str("PgUp"),
            Key::PageDown => f.write_str("PgDn"),
            Key::Tab => f.write_str("Tab"),
            Key::BackTab => f.write_str("Shift+Tab"),
            Key::Enter => f.write_str("Enter"),
            Key::Esc => f.write_str("Esc"),
            Key::Backspace => f.write_str("Backspace"),
            Key::F(n) => write!(f, "F{n}"),
        }
    }
}

/// One binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// Keys that trigger it (the first is the one shown in hints).
    pub keys: Vec<KeyPress>,
    /// What it does.
    pub command: Command,
    /// Short label for the hint bar.
    pub hint: Option<&'static str>,
    /// One line for the help overlay and docs.
    pub desc: &'static str,
    /// Help section.
    pub section: &'static str,
}

impl Binding {
    /// The keys as text: `→ l`.
    pub fn keys_text(&self) -> String {
        let keys: Vec<String> = self.keys.iter().map(ToString::to_string).collect();
        keys.join(" ")
    }
}

fn b(
    section: &'static str,
    keys: &[KeyPress],
    command: Command,
    hint: Option<&'static str>,
    desc: &'static str,
) -> Binding {
    Binding {
        keys: keys.to_vec(),
        command,
        hint,
        desc,
        section,
    }
}

/// The keymap, in help order. Hints appear in the bottom bar in this order.
pub fn bindings() -> Vec<Binding> {
    use Command as C;
    use KeyPress as K;
    const STEP: &str = "Stepping";
    const BREAK: &str = "Breakpoints, marks, search";
    const VIEW: &str = "Panes";
    const APP: &str = "Other";
    let mut v = vec![
        b(
            STEP,
            &[K::plain(Key::Right), K::ch('l')],
            C::Step(Dir::Forward),
            Some("step"),
            "micro step forward: one load or store (in a trace: one event)",
        ),
        b(
            STEP,
            &[K::plain(Key::Left), K::ch('h')],
            C::Step(Dir::Back),
            None,
            "micro step back (in a trace: one event)",
        ),
        b(
            STEP,
            &[K::shift(Key::Right), K::ch('L')],
            C::Op(Dir::Forward),
            Some("op"),
            "to the end of the op (the next op at a boundary); in a trace: the selected queue's next event (its pops, fills, flushes, kicks, interrupts: what a hang hunt follows)",
        ),
        b(
            STEP,
            &[K::shift(Key::Left), K::ch('H')],
            C::Op(Dir::Back),
            None,
            "to the start of the op (the previous op at a boundary); in a trace: the selected queue's previous event",
        ),
        b(STEP, &[K::ch(' ')], C::Play, Some("play"), "play or pause"),
        b(
            STEP,
            &[K::ch('+'), K::ch('=')],
            C::Faster,
            None,
            "play faster",
        ),
        b(STEP, &[K::ch('-')], C::Slower, None, "play slower"),
        b(
            STEP,
            &[K::plain(Key::Home)],
            C::First,
            None,
            "to the first step",
        ),
        b(
            STEP,
            &[K::plain(Key::End)],
            C::Last,
            None,
            "to the last step",
        ),
        b(
            STEP,
            &[K::ch('g')],
            C::Prompt(PromptKind::Goto),
            None,
            "go to a step number (in a trace: an event number, or `line N`)",
        ),
        b(
            BREAK,
            &[K::ch('b')],
            C::Prompt(PromptKind::Break),
            Some("break"),
            "add a breakpoint: `used.idx == 7`, `store desc[0].flags`, `xfer desc[*].flags` (a cache-line transfer), `finding`, `op pop`, `kick`, `interrupt`; in a trace: `blk0.q0.inuse > 3`, `event virtqueue_pop`, `finding stall`, `kick`; in a joined trace: `buffer 0x…` (a driver token) or `id N` (head or buffer ID), every step of that buffer's path",
        ),
        b(
            BREAK,
            &[K::ch('B')],
            C::ClearBreaks,
            None,
            "delete all breakpoints",
        ),
        b(
            BREAK,
            &[K::ch('c')],
            C::Continue(Dir::Forward),
            Some("cont"),
            "continue to the next breakpoint hit",
        ),
        b(
            BREAK,
            &[K::ch('C')],
            C::Continue(Dir::Back),
            None,
            "reverse-continue to the previous breakpoint hit",
        ),
        b(
            BREAK,
            &[K::ch('m')],
            C::Mark,
            Some("mark"),
            "set a mark here (or remove it); changes since the mark show weakly",
        ),
        b(
            BREAK,
            &[K::ch('\'')],
            C::NextMark,
            None,
            "jump to the next mark",
        ),
        b(
            BREAK,
            &[K::ch('M')],
            C::ClearMarks,
            None,
            "remove all marks",
        ),
        b(
            BREAK,
            &[K::ch('/')],
            C::Prompt(PromptKind::Search),
            None,
            "search fields, ops and outcomes (in a trace: event lines)",
        ),
        b(
            BREAK,
            &[K::ch('n')],
            C::SearchNext(Dir::Forward),
            None,
            "next search match",
        ),
        b(
            BREAK,
            &[K::ch('N')],
            C::SearchNext(Dir::Back),
            None,
            "previous search match",
        ),
        b(
            VIEW,
            &[K::plain(Key::Tab)],
            C::Focus(Dir::Forward),
            Some("pane"),
            "focus the next pane",
        ),
        b(
            VIEW,
            &[K::plain(Key::BackTab)],
            C::Focus(Dir::Back),
            None,
            "focus the previous pane",
        ),
        b(
            VIEW,
            &[K::plain(Key::Down), K::ch('j')],
            C::Move(1),
            None,
            "select the next slot, field, finding or op in the focused pane (in a trace: queue, finding, queue event)",
        ),
        b(
            VIEW,
            &[K::plain(Key::Up), K::ch('k')],
            C::Move(-1),
            None,
            "select the previous one",
        ),
        b(
            VIEW,
            &[K::plain(Key::PageDown)],
            C::Move(10),
            None,
            "move the selection 10 down",
        ),
        b(
            VIEW,
            &[K::plain(Key::PageUp)],
            C::Move(-10),
            None,
            "move the selection 10 up",
        ),
        b(
            VIEW,
            &[K::ch('e')],
            C::Zoom,
            None,
            "give the focused pane the whole screen, or stop",
        ),
        b(
            VIEW,
            &[K::ch('x')],
            C::Compare(None),
            None,
            "compare with the same ops on the other ring layout, side by side",
        ),
    ];
    for (i, p) in PaneId::ALL.iter().enumerate() {
        let digit = char::from(b'1' + i as u8);
        v.push(b(
            VIEW,
            &[K::ch(digit)],
            C::FocusPane(*p),
            None,
            pane_desc(*p),
        ));
    }
    const COURSE: &str = "The course (ringside tutorial)";
    v.extend([
        b(
            COURSE,
            &[K::plain(Key::Enter)],
            C::Activate,
            None,
            "open the chosen chapter; with a question showing, check the answer typed",
        ),
        b(
            COURSE,
            &[K::ch(']')],
            C::Part(Dir::Forward),
            None,
            "the next part of the chapter (at its end, the next chapter)",
        ),
        b(
            COURSE,
            &[K::ch('[')],
            C::Part(Dir::Back),
            None,
            "the previous part",
        ),
        b(
            COURSE,
            &[K::ch('t')],
            C::Course,
            None,
            "back to the chapter list",
        ),
        b(
            APP,
            &[
                K::ch(':'),
                K {
                    key: Key::Char('k'),
                    shift: false,
                    ctrl: true,
                },
            ],
            C::Prompt(PromptKind::Palette),
            Some("cmd"),
            "command palette (goto, break, delete, compare, save, load ...)",
        ),
        b(
            APP,
            &[K::ch('?'), K::plain(Key::F(1))],
            C::Help,
            Some("help"),
            "this help",
        ),
        b(
            APP,
            &[K::plain(Key::Esc)],
            C::Escape,
            None,
            "close the help, the prompt or the message",
        ),
        b(APP, &[K::ch('q')], C::Quit, Some("quit"), "quit"),
    ]);
    v
}

fn pane_desc(p: PaneId) -> &'static str {
    match p {
        PaneId::Ring => "focus the ring pane",
        PaneId::Memory => "focus the memory pane",
        PaneId::Narration => "focus the narration pane",
        PaneId::Findings => "focus the findings pane",
        PaneId::Timeline => "focus the timeline pane",
        PaneId::Transport => "focus the features & status pane",
        PaneId::Cache => "focus the cache pane (↑/↓ pick a line for the c2c drill-down)",
        PaneId::Lesson => "the course's pane",
    }
}

/// The command bound to a key, if any.
pub fn lookup(key: KeyPress) -> Option<Command> {
    bindings()
        .into_iter()
        .find(|b| b.keys.contains(&key))
        .map(|b| b.command)
}

/// `docs/keymap.md`, generated.
pub fn keymap_markdown() -> String {
    let mut out = String::from(
        "# Keymap\n\nGenerated from `ringside_core::command::bindings()`; do not edit by hand\n(`UPDATE_DOCS=1 cargo test -p ringside-core --test keymap_doc` rewrites it).\n",
    );
    let mut section = "";
    for b in bindings() {
        if b.section != section {
            section = b.section;
            out.push_str(&format!("\n## {section}\n\n| Keys | Action |\n|---|---|\n"));
        }
        let keys: Vec<String> = b.keys.iter().map(|k| format!("`{k}`")).collect();
        out.push_str(&format!(
            "| {} | {} |\n",
            keys.join(" "),
            b.desc.replace('|', "\\|")
        ));
    }
    out.push_str("\n## Command palette (`:`)\n\n| Command | Action |\n|---|---|\n");
    for (cmd, desc) in super::PALETTE {
        out.push_str(&format!("| `{cmd}` | {desc} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice() {
        let all: Vec<KeyPress> = bindings().into_iter().flat_map(|b| b.keys).collect();
        for (i, k) in all.iter().enumerate() {
            assert!(!all[i + 1..].contains(k), "{k} bound twice");
        }
    }

    #[test]
    fn the_conventional_keys_do_what_the_anchors_say() {
        assert_eq!(
            lookup(KeyPress::plain(Key::Right)),
            Some(Command::Step(Dir::Forward))
        );
        assert_eq!(
            lookup(KeyPress::shift(Key::Left)),
            Some(Command::Op(Dir::Back))
        );
        assert_eq!(
            lookup(KeyPress::ch('C')),
            Some(Command::Continue(Dir::Back))
        );
        assert_eq!(lookup(KeyPress::ch('q')), Some(Command::Quit));
        assert_eq!(lookup(KeyPress::ch('Z')), None);
    }
}
