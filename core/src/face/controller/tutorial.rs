//! The course controller: the chapter list, and each chapter's parts stepped with the scenario
//! or trace controller, a course pane below them with the part's introduction, the question a
//! checkpoint asks before the learner steps on, and its verdict.
//!
//! A checkpoint is asked before the step it is placed at runs (or, in a trace, before the
//! replay passes its line): any move forward that would pass it stops there and asks. The
//! learner types an answer and presses Enter (the engine computes the truth; a wrong answer is
//! explained by the pane and field that show it, and that pane gets the focus), or presses
//! Esc to skip. Answers, skips, finished chapters and the place reached go into the
//! [`Progress`], which the face keeps between runs ([`Request::Keep`]).

use super::scenario::ScenarioUi;
use super::trace::TraceUi;
use super::{Controller, Request};
use crate::bench::SavedBench;
use crate::command::{Command, Dir, Key, KeyPress, PaneId, lookup};
use crate::face::catalog::COURSE;
use crate::face::link::{Link, Opened};
use crate::face::screen::chrome;
use crate::face::screen::{Bar, Line, Pane, Rect, Screen, Size, Style, Target, wrap};
use crate::scenario::Scenario;
use crate::tutorial::{
    At, Chapter, Checkpoint, EmbeddedTrace, Lesson, Progress, Subject, Truth, Verdict,
};
use crate::view::UiView;

/// The key the face keeps the course progress under ([`Request::Keep`]).
pub const PROGRESS_KEY: &str = "progress";

/// What a part runs, stepped by its own controller.
enum Run {
    Scenario {
        name: String,
        scenario: Box<Scenario>,
        ui: Box<ScenarioUi>,
    },
    Trace {
        trace: &'static EmbeddedTrace,
        ui: Box<TraceUi>,
    },
}

impl Run {
    fn controller(&mut self) -> &mut dyn Controller {
        match self {
            Run::Scenario { ui, .. } => ui.as_mut(),
            Run::Trace { ui, .. } => ui.as_mut(),
        }
    }

    fn controller_ref(&self) -> &dyn Controller {
        match self {
            Run::Scenario { ui, .. } => ui.as_ref(),
            Run::Trace { ui, .. } => ui.as_ref(),
        }
    }

    fn cursor(&self) -> u64 {
        match self {
            Run::Scenario { ui, .. } => ui.cursor(),
            Run::Trace { ui, .. } => ui.cursor(),
        }
    }

    fn end(&self) -> u64 {
        match self {
            Run::Scenario { ui, .. } => ui.session().len(),
            Run::Trace { ui, .. } => ui.session().steps(),
        }
    }

    /// The cursor position a checkpoint is asked at.
    fn stop(&self, cp: &Checkpoint) -> Option<u64> {
        match (self, cp.at) {
            (Run::Scenario { scenario, ui, .. }, At::Step(n)) => {
                let op = scenario.step_of_op().iter().position(|&s| s == n)?;
                Some(ui.session().op_start(op))
            }
            (Run::Trace { ui, .. }, At::Line(l)) => {
                let s = ui.session();
                Some(s.step_of_device(s.store().steps_until_line(l.saturating_sub(1))))
            }
            (Run::Trace { ui, .. }, At::End) => Some(ui.session().steps()),
            _ => None,
        }
    }

    fn truth(&self, cp: &Checkpoint) -> Result<Truth, String> {
        let subject = match self {
            Run::Scenario {
                name, scenario, ui, ..
            } => Subject::Scenario {
                name,
                scenario,
                session: ui.session(),
            },
            Run::Trace { ui, .. } => Subject::Trace(ui.session()),
        };
        cp.truth(subject).map_err(|e| e.to_string())
    }
}

/// A question being asked.
struct Asking {
    /// The checkpoint's index in the part.
    index: usize,
    /// What the learner has typed.
    text: String,
    /// The engine's answer.
    truth: Result<Truth, String>,
    /// Why the last Enter was not taken (an answer of the wrong kind).
    unreadable: Option<String>,
}

/// The verdict on the last answer, shown until the learner moves on.
struct Shown {
    ask: String,
    lines: Vec<Line>,
}

/// A part being stepped.
struct Open {
    chapter: usize,
    part: usize,
    run: Run,
    asking: Option<Asking>,
    shown: Option<Shown>,
}

enum View {
    List { selected: usize },
    Part(Box<Open>),
}

/// The course controller.
pub struct TutorialUi {
    chapters: Vec<Chapter>,
    progress: Progress,
    view: View,
    message: Option<(bool, String)>,
    quit: bool,
    /// The latest saved bench result, handed to each scenario run opened.
    bench: SavedBench,
}

impl TutorialUi {
    /// The chapter list, with the learner's progress (and a message to show once, such as a
    /// progress file that could not be used).
    pub fn list(progress: Progress, note: Option<String>) -> Result<Self, String> {
        let chapters = Chapter::all().map_err(|e| e.to_string())?;
        let selected = usize::from(progress.at.chapter.max(1) - 1).min(chapters.len() - 1);
        Ok(TutorialUi {
            chapters,
            progress,
            view: View::List { selected },
            message: note.map(|n| (true, n)),
            quit: false,
            bench: SavedBench::Missing,
        })
    }

    /// The course where the learner left off (chapter 1 the first time).
    pub fn resume(progress: Progress, note: Option<String>) -> Result<Self, String> {
        let mut t = Self::list(progress, note)?;
        let at = t.progress.at;
        let chapter = usize::from(at.chapter.max(1) - 1).min(t.chapters.len() - 1);
        t.open(chapter, at.part, at.step);
        Ok(t)
    }

    /// The progress as it stands.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// The chapter and part open, if one is.
    pub fn place(&self) -> Option<(u8, usize)> {
        match &self.view {
            View::Part(o) => Some((self.chapters[o.chapter].number, o.part)),
            View::List { .. } => None,
        }
    }

    /// The question being asked, if any.
    pub fn asking(&self) -> Option<&Checkpoint> {
        let View::Part(o) = &self.view else {
            return None;
        };
        let a = o.asking.as_ref()?;
        self.chapters[o.chapter].parts[o.part]
            .checkpoints
            .get(a.index)
    }

    /// The engine's answer to the open question: what a test answers with. A face never
    /// shows it before the learner has answered.
    pub fn truth(&self) -> Option<&Result<Truth, String>> {
        let View::Part(o) = &self.view else {
            return None;
        };
        o.asking.as_ref().map(|a| &a.truth)
    }

    /// The cursor of the open part's run.
    pub fn cursor(&self) -> Option<u64> {
        match &self.view {
            View::Part(o) => Some(o.run.cursor()),
            View::List { .. } => None,
        }
    }

    fn keep(&self) -> Request {
        Request::Keep {
            key: PROGRESS_KEY.into(),
            bytes: self.progress.to_ron().into_bytes(),
        }
    }

    /// Opens a part of a chapter at a cursor position (clamped to the part's end).
    fn open(&mut self, chapter: usize, part: usize, step: u64) {
        let ch = &self.chapters[chapter];
        let part = part.min(ch.parts.len().saturating_sub(1));
        let run = match ch.parts[part].lesson(ch.number, part) {
            Ok(Lesson::Scenario { name, scenario }) => {
                match ScenarioUi::with_scenario(&name, (*scenario).clone()) {
                    Ok(mut ui) => {
                        ui.saved_bench(&self.bench);
                        Run::Scenario {
                            name,
                            scenario,
                            ui: Box::new(ui),
                        }
                    }
                    Err(e) => return self.say(true, e.to_string()),
                }
            }
            Ok(Lesson::Trace(t)) => Run::Trace {
                trace: t,
                ui: Box::new(TraceUi::new(t.capture())),
            },
            Err(e) => return self.say(true, e.to_string()),
        };
        let mut open = Box::new(Open {
            chapter,
            part,
            run,
            asking: None,
            shown: None,
        });
        // Go to the place, stopping at a question not yet answered on the way.
        let to = step.min(open.run.end());
        if to > 0 {
            open.run.controller().apply(Command::Goto(to));
        }
        self.progress.at.chapter = ch.number;
        self.progress.at.part = part;
        self.view = View::Part(open);
        self.gate(0);
    }

    fn say(&mut self, error: bool, text: String) {
        self.message = Some((error, text));
    }

    /// After a move from `from`: if the cursor passed or reached a checkpoint not yet
    /// answered, go back to the first one and ask it.
    fn gate(&mut self, from: u64) {
        let View::Part(o) = &mut self.view else {
            return;
        };
        let ch = &self.chapters[o.chapter];
        let now = o.run.cursor();
        self.progress.at.step = now;
        if now < from || o.asking.is_some() {
            return;
        }
        let pending = ch.parts[o.part]
            .checkpoints
            .iter()
            .enumerate()
            .filter(|(_, c)| self.progress.answered(ch.number, &c.id).is_none())
            .filter_map(|(i, c)| o.run.stop(c).map(|s| (s, i)))
            .filter(|&(s, _)| s >= from && s <= now)
            .min();
        if let Some((stop, index)) = pending {
            if stop != now {
                o.run.controller().apply(Command::Goto(stop));
            }
            let cp = &ch.parts[o.part].checkpoints[index];
            o.asking = Some(Asking {
                index,
                text: String::new(),
                truth: o.run.truth(cp),
                unreadable: None,
            });
            o.shown = None;
            self.progress.at.step = stop;
        }
    }

    /// Keys while a question is open: the answer's text, Enter to check, Esc to skip.
    fn answer_key(&mut self, key: KeyPress) -> Option<Request> {
        let View::Part(o) = &mut self.view else {
            return None;
        };
        let a = o.asking.as_mut()?;
        match key.key {
            Key::Char(c) if !key.ctrl => {
                a.text.push(c);
                a.unreadable = None;
            }
            Key::Backspace => {
                a.text.pop();
                a.unreadable = None;
            }
            Key::Enter => return self.check(),
            Key::Esc => return self.skip(),
            _ => {}
        }
        None
    }

    fn check(&mut self) -> Option<Request> {
        let View::Part(o) = &mut self.view else {
            return None;
        };
        let ch = &self.chapters[o.chapter];
        let a = o.asking.as_mut()?;
        let cp = &ch.parts[o.part].checkpoints[a.index];
        let truth = match &a.truth {
            Ok(t) => t,
            Err(e) => {
                // A checkpoint the engine cannot answer here is skipped with the reason.
                let e = e.clone();
                return self.skip_with(format!("cannot be checked here: {e}"));
            }
        };
        let verdict = cp.check(truth, &a.text);
        if let Verdict::Unreadable { message } = &verdict {
            a.unreadable = Some(message.clone());
            return None;
        }
        self.progress.answer(ch.number, &cp.id, &a.text, &verdict);
        // The verdict's explanation already says right or wrong, the answer, and (when
        // wrong) the pane and field that show it; a wrong answer also moves the focus there.
        let (mark, style) = match &verdict {
            Verdict::Wrong { pane, .. } => {
                o.run.controller().apply(Command::FocusPane(*pane));
                ("✗ ", Style::ERROR)
            }
            _ => ("✓ ", Style::LABEL),
        };
        let explanation = match &verdict {
            Verdict::Right { explanation, .. } | Verdict::Wrong { explanation, .. } => {
                explanation.clone()
            }
            Verdict::Unreadable { message } => message.clone(),
        };
        let mut lines = vec![Line::styled(format!("{mark}{explanation}"), style)];
        lines.push(Line::styled("Step on (→) to see it happen.", Style::DIM));
        o.shown = Some(Shown {
            ask: cp.ask.clone(),
            lines,
        });
        o.asking = None;
        Some(self.keep())
    }

    fn skip(&mut self) -> Option<Request> {
        self.skip_with("skipped".into())
    }

    fn skip_with(&mut self, why: String) -> Option<Request> {
        let View::Part(o) = &mut self.view else {
            return None;
        };
        let ch = &self.chapters[o.chapter];
        let a = o.asking.take()?;
        let cp = &ch.parts[o.part].checkpoints[a.index];
        self.progress.skip(ch.number, &cp.id);
        let mut lines = vec![Line::styled(format!("Question {why}."), Style::DIM)];
        if let Ok(t) = &a.truth {
            lines.push(Line::plain(format!(
                "The answer was {}. {}",
                t.value, cp.why
            )));
        }
        o.shown = Some(Shown {
            ask: cp.ask.clone(),
            lines,
        });
        Some(self.keep())
    }

    /// ] and [: the next or previous part; past the last part, the chapter is done and the
    /// next one opens.
    fn part(&mut self, dir: Dir) -> Option<Request> {
        let View::Part(o) = &self.view else {
            return None;
        };
        let (chapter, part) = (o.chapter, o.part);
        let parts = self.chapters[chapter].parts.len();
        match dir {
            Dir::Forward if part + 1 < parts => self.open(chapter, part + 1, 0),
            Dir::Forward => {
                self.progress.finish(self.chapters[chapter].number);
                if chapter + 1 < self.chapters.len() {
                    self.open(chapter + 1, 0, 0);
                    self.say(
                        false,
                        format!("chapter {} done", self.chapters[chapter].number),
                    );
                } else {
                    self.view = View::List { selected: chapter };
                    self.say(false, "the course is done: every chapter finished".into());
                }
            }
            Dir::Back if part > 0 => self.open(chapter, part - 1, 0),
            Dir::Back if chapter > 0 => {
                let last = self.chapters[chapter - 1].parts.len().saturating_sub(1);
                self.open(chapter - 1, last, 0);
            }
            Dir::Back => {}
        }
        Some(self.keep())
    }

    fn run_command(&mut self, cmd: Command) -> Option<Request> {
        match cmd {
            Command::Course => {
                let selected = match &self.view {
                    View::Part(o) => o.chapter,
                    View::List { selected } => *selected,
                };
                self.view = View::List { selected };
                return Some(self.keep());
            }
            Command::Part(dir) => return self.part(dir),
            Command::Quit => {
                self.quit = true;
                return Some(self.keep());
            }
            _ => {}
        }
        match &mut self.view {
            View::List { selected } => {
                match cmd {
                    Command::Move(d) => {
                        let n = self.chapters.len() as i64;
                        *selected = (*selected as i64 + i64::from(d)).clamp(0, n - 1) as usize;
                    }
                    Command::Select {
                        item: crate::command::Item::Line(i),
                        ..
                    } => *selected = i.min(self.chapters.len() - 1),
                    Command::Activate => {
                        let c = *selected;
                        let (part, step) = if self.progress.at.chapter == self.chapters[c].number {
                            (self.progress.at.part, self.progress.at.step)
                        } else {
                            (0, 0)
                        };
                        self.open(c, part, step);
                        return Some(self.keep());
                    }
                    Command::Help => self.say(
                        false,
                        "↑/↓ choose a chapter, Enter opens it; in a chapter ? shows every key"
                            .into(),
                    ),
                    _ => {}
                }
                None
            }
            View::Part(o) => {
                if o.asking.is_some() {
                    // Only the answer keys and the course's own commands act on a question.
                    return None;
                }
                let from = o.run.cursor();
                if !matches!(cmd, Command::Help | Command::Escape) {
                    o.shown = None;
                }
                let r = o.run.controller().apply(cmd);
                self.gate(from);
                r
            }
        }
    }
}

impl Controller for TutorialUi {
    fn saved_bench(&mut self, saved: &SavedBench) {
        self.bench = saved.clone();
        if let View::Part(o) = &mut self.view {
            o.run.controller().saved_bench(saved);
        }
    }

    fn key(&mut self, key: KeyPress) -> Option<Request> {
        self.message = None;
        if let View::Part(o) = &mut self.view {
            if o.asking.is_some() {
                return self.answer_key(key);
            }
            // Keys the course owns; everything else is the part's controller's.
            return match lookup(key) {
                Some(c @ (Command::Part(_) | Command::Course)) => self.run_command(c),
                _ => {
                    let from = o.run.cursor();
                    o.shown = None;
                    let r = o.run.controller().key(key);
                    self.gate(from);
                    r
                }
            };
        }
        let cmd = lookup(key)?;
        self.run_command(cmd)
    }

    fn apply(&mut self, cmd: Command) -> Option<Request> {
        self.message = None;
        self.run_command(cmd)
    }

    fn tick(&mut self, elapsed_us: u64) {
        if let View::Part(o) = &mut self.view {
            if o.asking.is_some() {
                return;
            }
            let from = o.run.cursor();
            o.run.controller().tick(elapsed_us);
            self.gate(from);
            // A question stops the play.
            if let View::Part(o) = &mut self.view
                && o.asking.is_some()
                && o.run.controller().playing().is_some()
            {
                o.run.controller().apply(Command::Play);
            }
        }
    }

    fn screen(&mut self, size: Size) -> Screen {
        match &mut self.view {
            View::List { selected } => list_screen(
                &self.chapters,
                &self.progress,
                *selected,
                size,
                &self.message,
            ),
            View::Part(o) => part_screen(&self.chapters[o.chapter], o, size, &self.message),
        }
    }

    fn playing(&self) -> Option<u32> {
        match &self.view {
            View::Part(o) => match &o.run {
                Run::Scenario { ui, .. } => ui.playing(),
                Run::Trace { ui, .. } => ui.playing(),
            },
            View::List { .. } => None,
        }
    }

    fn should_quit(&self) -> bool {
        self.quit
            || match &self.view {
                View::Part(o) => o.run.controller_ref().should_quit(),
                View::List { .. } => false,
            }
    }

    fn captures_keys(&self) -> bool {
        match &self.view {
            View::Part(o) => o.asking.is_some() || o.run.controller_ref().captures_keys(),
            View::List { .. } => false,
        }
    }

    fn message(&mut self, error: bool, text: String) {
        match &mut self.view {
            View::Part(o) => o.run.controller().message(error, text),
            View::List { .. } => self.say(error, text),
        }
    }

    /// In a part, the link of its run (which opens that run by itself, without the course's
    /// questions); on the chapter list, the course.
    fn link(&self) -> Link {
        match &self.view {
            View::Part(o) => match &o.run {
                Run::Scenario { ui, .. } => ui.link(),
                Run::Trace { ui, .. } => ui.link(),
            },
            View::List { .. } => Link::at_start(Opened::Embedded(COURSE.into())),
        }
    }

    fn end(&self) -> u64 {
        match &self.view {
            View::Part(o) => o.run.end(),
            View::List { .. } => 0,
        }
    }
}

fn done_mark(progress: &Progress, ch: &Chapter) -> &'static str {
    if progress.done.contains(&ch.number) {
        "✓"
    } else if progress.at.chapter == ch.number {
        "▶"
    } else {
        " "
    }
}

fn list_screen(
    chapters: &[Chapter],
    progress: &Progress,
    selected: usize,
    size: Size,
    message: &Option<(bool, String)>,
) -> Screen {
    let [head, body, status, hint] = chrome::bands(size, 1);
    let ui = UiView {
        focus: PaneId::Lesson,
        ..UiView::default()
    };
    let [list_area, about_area] = if body.width >= 100 {
        body.cols([
            crate::face::screen::Constraint::Length(60),
            crate::face::screen::Constraint::Min(20),
        ])
    } else {
        let [a, b] = body.rows([
            crate::face::screen::Constraint::Length(chapters.len() as u16 + 2),
            crate::face::screen::Constraint::Min(0),
        ]);
        [a, b]
    };
    let inner = list_area.inner();
    let mut targets = Vec::new();
    let mut lines = Vec::new();
    for (i, ch) in chapters.iter().enumerate() {
        let style = if i == selected {
            Style::PLAIN.with(crate::face::screen::Emphasis::Selected)
        } else {
            Style::PLAIN
        };
        let mut l = Line::styled(format!("{} ", done_mark(progress, ch)), Style::LABEL);
        l.push(format!("{:>2}. {}", ch.number, ch.title), style);
        lines.push(l);
        targets.push(Target {
            area: inner.row(i as u16),
            command: Command::Select {
                pane: PaneId::Lesson,
                item: crate::command::Item::Line(i),
            },
        });
    }
    let done = progress.done.len();
    let list = chrome::pane(
        PaneId::Lesson,
        list_area,
        &ui,
        &format!("the course: {done} of {} chapters done", chapters.len()),
        lines,
    );
    let ch = &chapters[selected];
    let mut about = vec![Line::styled(
        format!("Chapter {}: {}", ch.number, ch.title),
        Style::LABEL,
    )];
    about.push(Line::plain(String::new()));
    about.push(Line::styled("You will be able to:", Style::LABEL));
    about.extend(ch.goals.iter().map(|g| Line::plain(format!("  · {g}"))));
    about.push(Line::plain(String::new()));
    about.push(Line::plain(ch.intro.clone()));
    let about_inner = about_area.inner();
    let about = wrap(&about, usize::from(about_inner.width), true);
    let mut panes = vec![list];
    if !about_area.is_empty() {
        panes.push(Pane {
            id: PaneId::Narration,
            area: about_area,
            title: format!("chapter {}", ch.number),
            focused: false,
            lines: crate::face::screen::clip(
                about,
                usize::from(about_inner.width),
                usize::from(about_inner.height),
            ),
        });
    }
    let mut header = Line::new(vec![chrome::badge()]);
    header.push(" the course: virtio rings chapter by chapter", Style::LABEL);
    let status_line = match message {
        Some((error, t)) => {
            Line::styled(t.clone(), if *error { Style::ERROR } else { Style::LABEL })
        }
        None => Line::styled(
            "Each chapter runs the engine step by step; questions ask you to predict before you step.",
            Style::DIM,
        ),
    };
    let mut hints = Line::default();
    for (k, t) in [("↑↓", "choose"), ("Enter", "open"), ("q", "quit")] {
        hints.push(k, Style::KEY);
        hints.push(format!(" {t}  "), Style::PLAIN);
    }
    Screen {
        size,
        header: chrome::bar(head, header),
        panes,
        status: chrome::bar(status, status_line),
        hints: chrome::bar(hint, hints),
        overlay: None,
        targets,
        pictures: Default::default(),
    }
}

/// The course pane's lines for an open part.
fn lesson_lines(ch: &Chapter, o: &Open) -> Vec<Line> {
    let part = &ch.parts[o.part];
    let mut lines = vec![Line::styled(
        format!(
            "Chapter {}: {} · part {}/{}: {}",
            ch.number,
            ch.title,
            o.part + 1,
            ch.parts.len(),
            part.title
        ),
        Style::LABEL,
    )];
    if let Some(a) = &o.asking {
        let cp = &part.checkpoints[a.index];
        lines.push(Line::styled(format!("Question: {}", cp.ask), Style::LABEL));
        let mut input = Line::styled("your answer: ", Style::LABEL);
        input.push(a.text.clone(), Style::PLAIN);
        input.push("█", Style::DIM);
        input.push("   Enter checks · Esc skips", Style::DIM);
        lines.push(input);
        if let Some(u) = &a.unreadable {
            lines.push(Line::styled(u.clone(), Style::ERROR));
        }
        return lines;
    }
    if let Some(s) = &o.shown {
        lines.push(Line::styled(format!("Question: {}", s.ask), Style::DIM));
        lines.extend(s.lines.iter().cloned());
        return lines;
    }
    let at_end = o.run.cursor() >= o.run.end();
    if o.run.cursor() == 0 && !part.intro.is_empty() {
        lines.push(Line::plain(part.intro.clone()));
    }
    let next = if at_end && o.part + 1 < ch.parts.len() {
        "End of this part: ] opens the next one."
    } else if at_end {
        "End of the chapter: ] marks it done and opens the next; t shows the chapter list."
    } else {
        "→ steps, ⇧→ a whole op; questions stop you before the step they ask about."
    };
    if at_end && o.part + 1 == ch.parts.len() && !ch.summary.is_empty() {
        lines.push(Line::plain(ch.summary.clone()));
    }
    if let (true, Run::Trace { trace, .. }) = (at_end, &o.run) {
        lines.push(Line::plain(format!(
            "The same findings from the files, on the command line: {}",
            trace.command()
        )));
    }
    lines.push(Line::styled(next, Style::DIM));
    lines
}

fn part_screen(ch: &Chapter, o: &mut Open, size: Size, message: &Option<(bool, String)>) -> Screen {
    let lesson = lesson_lines(ch, o);
    let width = usize::from(size.cols.saturating_sub(2)).max(1);
    let lesson = wrap(&lesson, width, true);
    // The course pane takes what its text needs, up to a third of the screen.
    let rows = (lesson.len() as u16 + 2).min(size.rows / 3).max(3);
    let inner_size = Size {
        rows: size.rows.saturating_sub(rows),
        ..size
    };
    let mut screen = o.run.controller().screen(inner_size);
    let y = screen.status.area.y;
    let area = Rect::new(0, y, size.cols, rows);
    let shift = |b: &mut Bar| b.area.y += rows;
    shift(&mut screen.status);
    shift(&mut screen.hints);
    screen.size = size;
    let ui = UiView {
        focus: if o.asking.is_some() {
            PaneId::Lesson
        } else {
            PaneId::Ring
        },
        ..UiView::default()
    };
    let lines = crate::face::screen::clip(lesson, width, usize::from(rows.saturating_sub(2)));
    let mut pane = chrome::pane(PaneId::Lesson, area, &ui, "course", lines);
    pane.focused = o.asking.is_some();
    screen.panes.push(pane);
    if let Some((error, t)) = message {
        let style = if *error { Style::ERROR } else { Style::LABEL };
        screen.status = chrome::bar(screen.status.area, Line::styled(t.clone(), style));
    }
    if o.asking.is_some() {
        let mut hints = Line::default();
        for (k, t) in [("Enter", "check"), ("Esc", "skip")] {
            hints.push(k, Style::KEY);
            hints.push(format!(" {t}  "), Style::PLAIN);
        }
        screen.hints = chrome::bar(screen.hints.area, hints);
    } else {
        let mut extra = Line::default();
        for (k, t) in [("]", "next part"), ("t", "chapters")] {
            extra.push(k, Style::KEY);
            extra.push(format!(" {t}  "), Style::PLAIN);
        }
        if let Some(l) = screen.hints.lines.first() {
            extra.extend(l.clone());
        }
        screen.hints = chrome::bar(screen.hints.area, extra);
    }
    screen
}
