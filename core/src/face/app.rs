//! The [`App`]: what a face holds. One [`Controller`] (whatever is open), and the face's
//! [`Files`], through which the requests a controller makes of the outside world (save, load,
//! compare with a scenario file) are met. Core reads and writes nothing itself: the terminal
//! UI's files are the disk, the browser's are the files the user dropped or picked.

use super::catalog::{COURSE, chapter_run, is_embedded};
use super::controller::scenario::{CompareWith, SavedSession, ScenarioUi};
use super::controller::trace::TraceUi;
use super::controller::tutorial::TutorialUi;
use super::controller::{Controller, Request};
use super::error::UiError;
use super::link::{Link, LinkError, Opened};
use super::screen::{Screen, Size};
use crate::bench::SavedBench;
use crate::command::{Command, Dir, Item, KeyPress, PaneId};
use crate::scenario::{EMBEDDED, Scenario, ScenarioError};
use crate::trace::import::archive;
use crate::trace::import::sniff::{InputKind, sniff};
use crate::trace::{Capture, CaptureFiles, NamedFile, TraceStore};
use crate::tutorial::{CHAPTERS, Chapter, Lesson, Progress, TRACES};

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
    /// What is kept under a key ([`BENCH_KEY`]: the latest saved bench result), with a name
    /// for it that errors can show (a path); `Ok(None)` when nothing is, or why it cannot be
    /// read. A face that keeps nothing has nothing.
    fn recall(&mut self, key: &str) -> Result<Option<NamedFile>, String> {
        let _ = key;
        Ok(None)
    }
}

/// The key the latest saved bench result (`ringside bench --save`'s bench.json) is kept and
/// recalled under: the terminal reads it from the user's data directory, the browser keeps
/// the one the user opened in its local storage.
pub const BENCH_KEY: &str = "bench";

/// What a face holds: the open controller and the face's files.
pub struct App {
    current: Box<dyn Controller>,
    files: Box<dyn Files>,
    /// The latest saved bench result, handed to every controller opened.
    bench: SavedBench,
    /// The link the user asked for and the face has not taken yet.
    asked_link: Option<Link>,
}

impl App {
    /// An app showing `controller`, with the face's files; the latest saved bench result the
    /// files recall goes to the controller (a corrupt one as its located error).
    pub fn new(mut controller: Box<dyn Controller>, mut files: Box<dyn Files>) -> App {
        let bench = match files.recall(BENCH_KEY) {
            Ok(None) => SavedBench::Missing,
            Ok(Some((name, bytes))) => SavedBench::from_file(&name, &bytes),
            Err(e) => SavedBench::Unusable(e),
        };
        controller.saved_bench(&bench);
        App {
            current: controller,
            files,
            bench,
            asked_link: None,
        }
    }

    /// Takes files the user gave at once (dropped or picked): a saved bench result among them
    /// is read, kept ([`Files::keep`] under [`BENCH_KEY`]) and shown next to the model from
    /// then on; the others open together as [`open_files`] opens them, replacing what is open.
    /// Returns the name of what opened, `None` when the files were only a bench result. A
    /// corrupt bench result is an error naming where it is broken; nothing else opens then.
    pub fn give(&mut self, given: Vec<NamedFile>) -> Result<Option<String>, UiError> {
        let (benches, rest): (Vec<NamedFile>, Vec<NamedFile>) = given
            .into_iter()
            .partition(|(n, b)| sniff(n, b).kind == InputKind::BenchResult);
        if let Some((name, bytes)) = benches.last() {
            let saved = SavedBench::from_file(name, bytes);
            if let SavedBench::Unusable(why) = saved {
                return Err(UiError::Bench(why));
            }
            self.bench = saved;
            self.current.saved_bench(&self.bench);
            let kept = self.files.keep(BENCH_KEY, bytes);
            let note = match kept {
                Ok(()) => String::new(),
                Err(e) => format!(" (not kept for next time: {e})"),
            };
            self.current.message(
                false,
                format!("bench result {name} shown next to the model in the cache pane{note}"),
            );
        }
        if rest.is_empty() {
            return Ok(None);
        }
        let (name, mut c) = open_files(rest, self.files.as_mut())?;
        c.saved_bench(&self.bench);
        self.current = c;
        Ok(Some(name))
    }

    /// Opens what a link names where the link was made: the same step, marks, pane focus
    /// and zoom, selected slot and comparison. Something the app carries opens by name; a
    /// file from the sender's disk opens from the face's files, and when the face has no file
    /// of that name the error says to open it. A step past the end is an error (the link is
    /// stale: the scenario changed since), so the face can fall back with a note.
    pub fn from_link(link: &Link, mut files: Box<dyn Files>) -> Result<App, UiError> {
        let mut controller = match &link.open {
            Opened::Embedded(name) => open_embedded(name).unwrap_or_else(|| {
                Err(LinkError {
                    field: format!("open={name}"),
                    message: format!(
                        "this version of ringside carries nothing named `{name}`{}",
                        crate::suggest::hint(name, EMBEDDED.iter().map(|(n, _)| *n))
                    ),
                }
                .into())
            })?,
            Opened::Local(name) => {
                let bytes = files.read(name).map_err(|_| UiError::Io {
                    path: name.clone(),
                    message: format!(
                        "the link was made with this file open from the sender's disk; open it \
                         here to continue at step {}",
                        link.step
                    ),
                })?;
                open_bytes(name, &bytes, files.as_mut())?
            }
        };
        let end = controller.end();
        if link.step > end || link.marks.iter().any(|&m| m > end) {
            return Err(LinkError {
                field: format!("step={}", link.step),
                message: format!(
                    "past the end: `{}` has {end} positions now (the link is older than it)",
                    link.open.name()
                ),
            }
            .into());
        }
        place(controller.as_mut(), link);
        Ok(App::new(controller, files))
    }

    /// What a link to the current view keeps.
    pub fn link(&self) -> Link {
        self.current.link()
    }

    /// The link the user asked for (`:link`), once.
    pub fn take_asked_link(&mut self) -> Option<Link> {
        self.asked_link.take()
    }

    /// The last cursor position of what is open.
    pub fn end(&self) -> u64 {
        self.current.end()
    }

    /// Shows a message on the status line (a face's own news: a file opened, a link copied).
    pub fn message(&mut self, error: bool, text: String) {
        self.current.message(error, text);
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

    /// Whether the keys go to an open prompt, question or help overlay, not the keymap
    /// ([`Controller::captures_keys`]).
    pub fn captures_keys(&self) -> bool {
        self.current.captures_keys()
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
                    Ok(mut c) => {
                        c.saved_bench(&self.bench);
                        self.current = c;
                        self.current.message(false, format!("loaded {path}"));
                    }
                    Err(e) => self.current.message(true, e.to_string()),
                }
            }
            Request::CopyLink => {
                let link = self.current.link();
                self.current
                    .message(false, format!("link: #{}", link.fragment()));
                self.asked_link = Some(link);
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

/// Puts a freshly opened controller where a link was: marks first (each set at its step),
/// the comparison and the selected slot, the focus and zoom, then the cursor, reached from
/// the step before it so that the last step's changes show as they did to the sender.
fn place(c: &mut dyn Controller, link: &Link) {
    for &m in &link.marks {
        c.apply(Command::Goto(m));
        c.apply(Command::Mark);
    }
    if link.compare {
        c.apply(Command::Compare(None));
    }
    if let Some(slot) = link.selected {
        c.apply(Command::Select {
            pane: PaneId::Ring,
            item: Item::Slot(slot),
        });
    }
    c.apply(Command::FocusPane(link.focus));
    if link.zoom {
        c.apply(Command::Zoom);
    }
    c.apply(Command::Goto(link.step.saturating_sub(1)));
    if link.step > 0 {
        c.apply(Command::Step(Dir::Forward));
    }
    c.message(false, format!("opened from a link at step {}", link.step));
}

/// Opens something the app carries, by the name [`is_embedded`] accepts; `None` when there
/// is nothing of that name.
pub fn open_embedded(name: &str) -> Option<Result<Box<dyn Controller>, UiError>> {
    if name == COURSE {
        return Some(
            TutorialUi::list(Progress::default(), None)
                .map(|t| Box::new(t) as Box<dyn Controller>)
                .map_err(|message| UiError::Io {
                    path: COURSE.into(),
                    message,
                }),
        );
    }
    if EMBEDDED.iter().any(|(n, _)| *n == name) {
        let open = || -> Result<Box<dyn Controller>, UiError> {
            Ok(Box::new(ScenarioUi::with_scenario(
                name,
                Scenario::embedded(name)?,
            )?))
        };
        return Some(open());
    }
    if let Some(t) = TRACES.iter().find(|t| t.name == name) {
        return Some(Ok(Box::new(TraceUi::new(t.capture()))));
    }
    let (chapter, part) = chapter_run(name)?;
    if !is_embedded(name) {
        return None;
    }
    let open = || -> Result<Box<dyn Controller>, UiError> {
        let ch = Chapter::get(chapter)?;
        let p = ch.parts.get(part - 1).ok_or_else(|| LinkError {
            field: format!("open={name}"),
            message: format!("chapter {chapter} has {} runs", ch.parts.len()),
        })?;
        match p.lesson(chapter, part - 1)? {
            Lesson::Scenario { name, scenario } => {
                Ok(Box::new(ScenarioUi::with_scenario(&name, *scenario)?))
            }
            Lesson::Trace(t) => open_embedded(t.name).unwrap_or_else(|| {
                Err(ScenarioError::NotFound {
                    name: t.name.to_string(),
                    hint: String::new(),
                }
                .into())
            }),
        }
    };
    Some(open())
}

/// One thing the app carries, for a face's list of what to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name [`open_embedded`] takes.
    pub name: String,
    /// What to show for it.
    pub title: String,
}

/// What the app carries, in two lists: the tutorial's runs in course order (titled "3.1
/// chapter title: part title"), and the embedded scenarios by name (titled by their own
/// titles). A chapter that does not parse is left out of the list (its error shows when
/// opened by name).
pub fn catalogue() -> (Vec<Entry>, Vec<Entry>) {
    let mut tutorial = Vec::new();
    for (i, _) in CHAPTERS.iter().enumerate() {
        let Ok(ch) = Chapter::get(i as u8 + 1) else {
            continue;
        };
        for (k, part) in ch.parts.iter().enumerate() {
            tutorial.push(Entry {
                name: format!("chapter-{}/{}", ch.number, k + 1),
                title: format!("{}.{} {}: {}", ch.number, k + 1, ch.title, part.title),
            });
        }
    }
    let scenarios = EMBEDDED
        .iter()
        .map(|(name, text)| Entry {
            name: (*name).to_string(),
            title: Scenario::parse(name, text)
                .map(|s| s.title)
                .unwrap_or_default(),
        })
        .collect();
    (tutorial, scenarios)
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

/// Opens files handed over together (dropped on the browser page or picked at once) by what
/// each is ([`sniff`]): a QEMU trace log with what lies beside it (a QMP transcript, ring
/// dumps as the files of a rings folder or as zips, a backend log, the guest driver's ftrace
/// text and DPDK's log, which join the two sides of the rings) becomes one capture, in
/// whatever order the files come; a zip that holds a trace log counts as its files. Without a
/// trace log, the first file that opens is shown (a scenario, a saved session). Returns the
/// name of what opened; the error is the first file's when none does.
pub fn open_files(
    given: Vec<NamedFile>,
    files: &mut dyn Files,
) -> Result<(String, Box<dyn Controller>), UiError> {
    let mut all: Vec<(NamedFile, InputKind)> = Vec::new();
    for (name, bytes) in given {
        if archive::is_zip(&bytes) {
            let inner = archive::unzip(&bytes, &name).map_err(Box::new)?;
            if inner
                .iter()
                .any(|(n, b)| sniff(n, b).kind == InputKind::TraceLog)
            {
                all.extend(inner.into_iter().map(|(n, b)| {
                    let k = sniff(&n, &b).kind;
                    ((n, b), k)
                }));
                continue;
            }
        }
        let k = sniff(&name, &bytes).kind;
        all.push(((name, bytes), k));
    }
    let traces: Vec<&str> = all
        .iter()
        .filter(|(_, k)| *k == InputKind::TraceLog)
        .map(|((n, _), _)| n.as_str())
        .collect();
    if traces.len() > 1 {
        return Err(UiError::NotOpenable {
            name: traces.join(", "),
            what: "several QEMU trace logs".into(),
            why: "one capture has one trace".into(),
        });
    }
    if let [trace] = traces[..] {
        let trace = trace.to_string();
        let mut capture = CaptureFiles::default();
        let mut log = None;
        for ((name, bytes), kind) in all {
            match kind {
                InputKind::TraceLog => log = Some(bytes),
                InputKind::QmpTranscript if capture.qmp.is_none() => {
                    capture.qmp = Some((name, bytes))
                }
                InputKind::RingDumpZip | InputKind::RingDumpIndex | InputKind::RingDump => {
                    capture.rings.push((name, bytes))
                }
                InputKind::BackendLog if capture.backend.is_none() => {
                    capture.backend = Some((name, bytes))
                }
                InputKind::DriverTrace if capture.guest.is_none() => {
                    capture.guest = Some((name, bytes))
                }
                InputKind::DpdkLog if capture.dpdk.is_none() => capture.dpdk = Some((name, bytes)),
                _ => {}
            }
        }
        let store = TraceStore::parse(&log.unwrap_or_default(), &trace).map_err(Box::new)?;
        let c = Capture::load(store, capture).map_err(Box::new)?;
        return Ok((trace, Box::new(TraceUi::new(c))));
    }
    let mut first_error = None;
    for ((name, bytes), _) in all {
        match open_bytes(&name, &bytes, files) {
            Ok(c) => return Ok((name, c)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| UiError::Io {
        path: String::new(),
        message: "no file given".into(),
    }))
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
