//! The [`App`]: what a face holds. One [`Controller`] (whatever is open), and the face's
//! [`Files`], through which the requests a controller makes of the outside world (save, load,
//! compare with a scenario file) are met. Core reads and writes nothing itself: the terminal
//! UI's files are the disk, the browser's are the files the user dropped or picked.

use super::controller::scenario::{CompareWith, SavedSession, ScenarioUi};
use super::controller::trace::TraceUi;
use super::controller::{Controller, Request};
use super::screen::{Screen, Size};
use crate::command::{Command, KeyPress};
use crate::engine::EngineError;
use crate::scenario::{EMBEDDED, Scenario, ScenarioError};
use crate::trace::import::sniff::{InputKind, sniff};
use crate::trace::{Capture, TraceStore};

/// Files as a face has them.
pub trait Files {
    /// The bytes of a file, or why not (the message names no path: the caller adds it).
    fn read(&mut self, name: &str) -> Result<Vec<u8>, String>;
    /// Writes a file, or says why not.
    fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), String>;
    /// Keeps a piece of state between runs (the course progress), or says why not. A face
    /// that keeps nothing (tests, `--no-save`) accepts and forgets.
    fn keep(&mut self, key: &str, bytes: &[u8]) -> Result<(), String> {
        let _ = (key, bytes);
        Ok(())
    }
}

/// Something could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// The scenario could not be loaded.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The engine rejected the scenario.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The trace, QMP transcript or ring dumps could not be imported.
    #[error(transparent)]
    Trace(#[from] Box<crate::trace::TraceError>),
    /// A file that is not a scenario, a saved session or a trace.
    #[error(
        "{name}: {what} ({why}); expected a scenario (`ringside list` names them), a .ron scenario or saved session, or a QEMU trace log"
    )]
    NotOpenable {
        /// The file.
        name: String,
        /// What it looks like.
        what: String,
        /// Why the sniffer says so.
        why: String,
    },
    /// A saved session is malformed.
    #[error("{path}: not a saved session: {message}")]
    Saved {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// What a face holds: the open controller and the face's files.
pub struct App {
    current: Box<dyn Controller>,
    files: Box<dyn Files>,
}

impl App {
    /// An app showing `controller`, with the face's files.
    pub fn new(controller: Box<dyn Controller>, files: Box<dyn Files>) -> App {
        App {
            current: controller,
            files,
        }
    }

    /// Opens a target the way `ringside tui TARGET` does: an embedded scenario by name, else
    /// the file of that name, as a saved session, a scenario, or a QEMU trace.
    pub fn open(target: &str, mut files: Box<dyn Files>) -> Result<App, UiError> {
        let controller = match EMBEDDED.iter().find(|(n, _)| *n == target) {
            Some(_) => Box::new(ScenarioUi::with_scenario(
                target,
                Scenario::embedded(target)?,
            )?) as Box<dyn Controller>,
            None => {
                let bytes = read(files.as_mut(), target)?;
                open_bytes(target, &bytes, files.as_mut())?
            }
        };
        Ok(App::new(controller, files))
    }

    /// Handles a key.
    pub fn key(&mut self, key: KeyPress) {
        if let Some(r) = self.current.key(key) {
            self.fulfil(r);
        }
    }

    /// Applies a command.
    pub fn apply(&mut self, cmd: Command) {
        if let Some(r) = self.current.apply(cmd) {
            self.fulfil(r);
        }
    }

    /// Play: `elapsed_us` microseconds passed since the last tick.
    pub fn tick(&mut self, elapsed_us: u64) {
        self.current.tick(elapsed_us);
    }

    /// The screen for a face of this size.
    pub fn screen(&mut self, size: Size) -> Screen {
        self.current.screen(size)
    }

    /// Steps per second while playing.
    pub fn playing(&self) -> Option<u32> {
        self.current.playing()
    }

    /// Whether the user asked to quit.
    pub fn should_quit(&self) -> bool {
        self.current.should_quit()
    }

    fn fulfil(&mut self, r: Request) {
        match r {
            Request::Save { path, bytes } => match self.files.write(&path, &bytes) {
                Ok(()) => self.current.message(false, format!("saved to {path}")),
                Err(e) => self.current.message(true, format!("{path}: {e}")),
            },
            Request::Load(path) => {
                let opened = read(self.files.as_mut(), &path).and_then(|bytes| {
                    let saved = SavedSession::parse(&path, &String::from_utf8_lossy(&bytes))?;
                    restore(&saved, self.files.as_mut())
                });
                match opened {
                    Ok(c) => {
                        self.current = c;
                        self.current.message(false, format!("loaded {path}"));
                    }
                    Err(e) => self.current.message(true, e.to_string()),
                }
            }
            Request::Keep { key, bytes } => {
                if let Err(e) = self.files.keep(&key, &bytes) {
                    self.current
                        .message(true, format!("cannot keep the {key}: {e}"));
                }
            }
            Request::Compare(name) => {
                let done = find_scenario(&name, self.files.as_mut())
                    .map_err(|e| e.to_string())
                    .and_then(|s| self.current.compare(&name, s));
                if let Err(e) = done {
                    self.current.message(true, e);
                }
            }
        }
    }
}

fn read(files: &mut dyn Files, path: &str) -> Result<Vec<u8>, UiError> {
    files.read(path).map_err(|message| UiError::Io {
        path: path.to_string(),
        message,
    })
}

/// An embedded scenario by name, else a RON file read through the face's files.
pub fn find_scenario(name: &str, files: &mut dyn Files) -> Result<Scenario, UiError> {
    if EMBEDDED.iter().any(|(n, _)| *n == name) {
        return Ok(Scenario::embedded(name)?);
    }
    match files.read(name) {
        Ok(bytes) => Ok(Scenario::parse(name, &String::from_utf8_lossy(&bytes))?),
        Err(_) if !name.ends_with(".ron") && !name.contains('/') => {
            Err(Scenario::embedded(name).unwrap_err().into())
        }
        Err(message) => Err(UiError::Io {
            path: name.to_string(),
            message,
        }),
    }
}

/// A saved session on its scenario (and the scenario it compares with).
fn restore(saved: &SavedSession, files: &mut dyn Files) -> Result<Box<dyn Controller>, UiError> {
    let scenario = find_scenario(&saved.scenario, files)?;
    let mut ui = ScenarioUi::restore(saved, scenario)?;
    if let Some(CompareWith::Scenario(name)) = &saved.compare {
        let other = find_scenario(name, files)?;
        ui.compare(name, other).map_err(|message| UiError::Saved {
            path: saved.scenario.clone(),
            message,
        })?;
    }
    Ok(Box::new(ui))
}

/// Opens a file's bytes by what they are: a saved session, a scenario, or a QEMU trace log.
/// A `.ron` file that parses as neither gets the scenario loader's located error; anything else
/// says what it looks like and what was expected.
pub fn open_bytes(
    name: &str,
    bytes: &[u8],
    files: &mut dyn Files,
) -> Result<Box<dyn Controller>, UiError> {
    let text = || String::from_utf8_lossy(bytes);
    let s = sniff(name, bytes);
    match s.kind {
        InputKind::SavedSession => restore(&SavedSession::parse(name, &text())?, files),
        InputKind::TraceLog => {
            let store = TraceStore::parse(bytes, name).map_err(Box::new)?;
            Ok(Box::new(TraceUi::new(Capture::new(store))))
        }
        InputKind::Scenario => Ok(Box::new(ScenarioUi::with_scenario(
            name,
            Scenario::parse(name, &text())?,
        )?)),
        // A scenario with a syntax error sniffs as nothing: the loader says where.
        _ if name.ends_with(".ron") => Err(Scenario::parse(name, &text()).err().map_or_else(
            || UiError::NotOpenable {
                name: name.to_string(),
                what: s.kind.describe().to_string(),
                why: s.why.clone(),
            },
            UiError::from,
        )),
        k => Err(UiError::NotOpenable {
            name: name.to_string(),
            what: k.describe().to_string(),
            why: s.why,
        }),
    }
}
