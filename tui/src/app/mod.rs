//! The stepping UI: terminal setup and teardown, the event loop, and input mapping. Every
//! decision is core's ([`Ui`]); this module turns crossterm events into keys and clicks and
//! paints the frames core returns.

mod paint;
mod paint_trace;
mod theme;

use std::io::{IsTerminal, stdout};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyEvent, KeyEventKind,
    KeyModifiers, MouseButton, MouseEventKind,
};
use ratatui::crossterm::execute;
use ratatui::layout::{Position, Size};
use ringside_core::command::{Command, Key, KeyPress};
use ringside_core::ui::{Opened, Ui};
use ringside_core::view::FrameOptions;

pub use paint::{Hit, paint};
pub use paint_trace::paint_trace;
pub use theme::Theme;

/// Exit code when stdout or stdin is not a terminal.
const EXIT_NOT_A_TTY: u8 = 2;

/// Opens the UI on a scenario, a saved session, a QEMU trace (with its QMP transcript and ring
/// dumps), or (with `None`) the tutorial's first chapter.
pub fn open(
    target: Option<&str>,
    qmp: Option<&std::path::Path>,
    rings: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    if !stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "ringside: the stepping UI needs a terminal (stdin and stdout are not both TTYs); use `ringside run` for headless output"
        );
        return Ok(ExitCode::from(EXIT_NOT_A_TTY));
    }
    let mut ui = match target {
        None => Ui::tutorial()
            .map(|u| Opened::Scenario(Box::new(u)))
            .map_err(anyhow::Error::from),
        Some(t) => crate::files::open_target(t, qmp, rings),
    }
    .with_context(|| format!("cannot open {}", target.unwrap_or("the tutorial")))?;
    run(&mut ui)?;
    Ok(ExitCode::SUCCESS)
}

/// Frame options for a terminal of this size.
pub fn options(size: Size) -> FrameOptions {
    FrameOptions {
        memory_rows: 16,
        timeline_ops: usize::from(size.width.max(8)),
    }
}

fn restore() {
    let _ = execute!(stdout(), DisableMouseCapture);
    ratatui::restore();
}

/// Timeline columns of a trace frame for a terminal of this size.
pub fn trace_columns(size: Size) -> usize {
    usize::from(size.width.saturating_sub(12).max(8))
}

/// Builds the frame for the terminal's size and paints it; returns the clickable areas.
pub fn draw(t: &mut ratatui::Frame<'_>, ui: &mut Opened, theme: &Theme) -> Vec<Hit> {
    let size = t.area().as_size();
    match ui {
        Opened::Scenario(u) => paint(t, &u.frame(options(size)), theme),
        Opened::Trace(u) => paint_trace(t, &u.frame(trace_columns(size)), theme),
    }
}

fn key_to(ui: &mut Opened, k: KeyPress) {
    match ui {
        Opened::Scenario(u) => u.key(k),
        Opened::Trace(u) => u.key(k),
    }
}

fn apply(ui: &mut Opened, c: Command) {
    match ui {
        Opened::Scenario(u) => u.apply(c),
        Opened::Trace(u) => u.apply(c),
    }
}

fn run(ui: &mut Opened) -> anyhow::Result<()> {
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    // ratatui's hook restores the screen; ours also gives the mouse back, before it.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(stdout(), DisableMouseCapture);
        hook(info);
    }));
    let result = (|| -> anyhow::Result<()> {
        execute!(stdout(), EnableMouseCapture)?;
        let theme = Theme::from_env();
        let mut hits: Vec<Hit> = Vec::new();
        loop {
            let (quit, playing) = match &*ui {
                Opened::Scenario(u) => (u.should_quit(), u.playing()),
                Opened::Trace(u) => (u.should_quit(), u.playing()),
            };
            if quit {
                break;
            }
            terminal.draw(|t| hits = draw(t, ui, &theme))?;
            let timeout = match playing {
                Some(sps) => Duration::from_millis(1000 / u64::from(sps.max(1))),
                None => Duration::from_secs(3600),
            };
            if !event::poll(timeout)? {
                match ui {
                    Opened::Scenario(u) => u.tick(),
                    Opened::Trace(u) => u.tick(),
                }
                continue;
            }
            match event::read()? {
                Event::Key(k) if k.kind != KeyEventKind::Release => {
                    if let Some(k) = key(k) {
                        key_to(ui, k);
                    }
                }
                Event::Mouse(m) if m.kind == MouseEventKind::Down(MouseButton::Left) => {
                    if let Some(c) = click(&hits, Position::new(m.column, m.row)) {
                        apply(ui, c);
                    }
                }
                Event::Mouse(m) if m.kind == MouseEventKind::ScrollDown => {
                    apply(ui, Command::Move(1))
                }
                Event::Mouse(m) if m.kind == MouseEventKind::ScrollUp => {
                    apply(ui, Command::Move(-1))
                }
                // A resize just repaints, at the new size, on the next turn.
                _ => {}
            }
        }
        Ok(())
    })();
    restore();
    result
}

/// A crossterm key as core's key.
pub fn key(k: KeyEvent) -> Option<KeyPress> {
    let shift = k.modifiers.contains(KeyModifiers::SHIFT);
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let key = match k.code {
        KeyCode::Char(c) => {
            return Some(KeyPress {
                key: Key::Char(c),
                shift: false,
                ctrl,
            });
        }
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => return Some(KeyPress::plain(Key::BackTab)),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::F(n) => Key::F(n),
        _ => return None,
    };
    Some(KeyPress { key, shift, ctrl })
}

/// The command a click at `at` means: select the item under it, or focus its pane.
pub fn click(hits: &[Hit], at: Position) -> Option<Command> {
    let item = hits.iter().filter(|h| h.area.contains(at)).find_map(|h| {
        h.index.map(|index| Command::Select {
            pane: h.pane,
            index,
        })
    });
    item.or_else(|| {
        hits.iter()
            .find(|h| h.area.contains(at))
            .map(|h| Command::FocusPane(h.pane))
    })
}
