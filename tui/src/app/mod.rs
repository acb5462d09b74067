//! The stepping UI: terminal setup and teardown, the event loop, and input mapping. Every
//! decision is core's ([`App`]); this module turns crossterm events into keys and clicks and
//! paints the screens core returns.

mod disk;
mod paint;
mod theme;

use std::io::{IsTerminal, stdout};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyEvent, KeyEventKind,
    KeyModifiers, MouseButton, MouseEventKind,
};
use ratatui::crossterm::execute;
use ringside_core::command::{Command, Key, KeyPress};
use ringside_core::face::app::App;
use ringside_core::face::controller::tutorial::TutorialUi;
use ringside_core::face::screen::{Screen, Size};

pub use disk::Disk;

use crate::progress::ProgressStore;
pub use paint::paint;
pub use theme::Theme;

/// Exit code when stdout or stdin is not a terminal.
const EXIT_NOT_A_TTY: u8 = 2;

/// What the stepping UI opens.
#[derive(Debug, Clone, Copy)]
pub enum Opening<'a> {
    /// The course where the learner left off (`ringside` with no arguments).
    Resume,
    /// The course's chapter list (`ringside tutorial`).
    Course,
    /// A scenario, a saved session, or a QEMU trace with its QMP transcript and ring dumps.
    Target {
        /// Scenario name or file, saved session, or trace file.
        target: &'a str,
        /// The files beside a trace.
        beside: crate::files::Beside<'a>,
    },
}

/// Opens the stepping UI; `no_save` keeps the course progress from being read or written.
pub fn open(what: Opening<'_>, no_save: bool) -> anyhow::Result<ExitCode> {
    if !stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "ringside: the stepping UI needs a terminal (stdin and stdout are not both TTYs); use `ringside run` for headless output"
        );
        return Ok(ExitCode::from(EXIT_NOT_A_TTY));
    }
    let mut app = match what {
        Opening::Target { target, beside } => {
            open_app(target, &beside).with_context(|| format!("cannot open {target}"))?
        }
        course => course_app(matches!(course, Opening::Resume), no_save)?,
    };
    run(&mut app)?;
    Ok(ExitCode::SUCCESS)
}

/// The course, with the progress kept in the user's config directory (unless `no_save` or
/// `RINGSIDE_NO_SAVE`): where the learner left off (`resume`) or the chapter list. A progress
/// file that cannot be used is reported once, in the course's status line, and replaced.
pub fn course_app(resume: bool, no_save: bool) -> anyhow::Result<App> {
    let store = ProgressStore::from_env(no_save);
    let (progress, warning) = store.load();
    let ui = if resume {
        TutorialUi::resume(progress, warning)
    } else {
        TutorialUi::list(progress, warning)
    }
    .map_err(|e| anyhow::anyhow!("cannot open the course: {e}"))?;
    Ok(App::new(Box::new(ui), Box::new(Disk::with_progress(store))))
}

/// What `ringside tui TARGET` opens: a trace with the files beside it, or what the target's
/// name or bytes are (scenario, saved session, trace).
pub fn open_app(target: &str, beside: &crate::files::Beside<'_>) -> anyhow::Result<App> {
    let controller = crate::files::open_target(target, beside)?;
    Ok(App::new(controller, Box::new(Disk::default())))
}

fn restore() {
    let _ = execute!(stdout(), DisableMouseCapture);
    ratatui::restore();
}

/// Builds the screen for the terminal's size and paints it; returns it (for clicks).
pub fn draw(t: &mut ratatui::Frame<'_>, app: &mut App, theme: &Theme) -> Screen {
    let a = t.area();
    let screen = app.screen(Size::new(a.width, a.height));
    paint(t, &screen, theme);
    screen
}

fn run(app: &mut App) -> anyhow::Result<()> {
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
        let mut shown: Option<Screen> = None;
        let mut played = Instant::now();
        loop {
            if app.should_quit() {
                break;
            }
            terminal.draw(|t| shown = Some(draw(t, app, &theme)))?;
            // While playing, wake at the play rate but at most about 60 times a second; core
            // turns the time that passed into steps.
            let timeout = match app.playing() {
                Some(sps) => Duration::from_micros(1_000_000 / u64::from(sps.max(1)))
                    .max(Duration::from_millis(16)),
                None => {
                    played = Instant::now();
                    Duration::from_secs(3600)
                }
            };
            if !event::poll(timeout)? {
                let now = Instant::now();
                let us = now.duration_since(played).as_micros();
                app.tick(u64::try_from(us).unwrap_or(u64::MAX));
                played = now;
                continue;
            }
            match event::read()? {
                Event::Key(k) if k.kind != KeyEventKind::Release => {
                    if let Some(k) = key(k) {
                        app.key(k);
                    }
                }
                Event::Mouse(m) if m.kind == MouseEventKind::Down(MouseButton::Left) => {
                    if let Some(c) = shown.as_ref().and_then(|s| s.command_at(m.column, m.row)) {
                        app.apply(c);
                    }
                }
                Event::Mouse(m) if m.kind == MouseEventKind::ScrollDown => {
                    app.apply(Command::Move(1))
                }
                Event::Mouse(m) if m.kind == MouseEventKind::ScrollUp => {
                    app.apply(Command::Move(-1))
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
