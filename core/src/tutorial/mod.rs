//! The onboarding course: ten chapters, each one or more runs (scenarios or a replayed QEMU
//! trace) with narration and checkpoints, written in RON under `scenarios/tutorial/` and
//! embedded in the binaries like the scenarios.
//!
//! A chapter file holds a [`Chapter`]: its number, title, goals and text, its [`Part`]s and
//! its [`Link`]s. A part runs a scenario written in place, an embedded scenario from
//! `scenarios/talk/` or `scenarios/corner/` by name, or an embedded trace; its
//! [`Checkpoint`]s ask the learner to predict what a step will do, and the engine supplies the
//! answer ([`checkpoint`]). [`progress`] is what a face remembers between runs; [`markdown`]
//! renders each chapter as the page in `docs/tutorial/`. The format is documented in
//! `docs/scenario-format.md` (section "Tutorial chapters").
//!
//! The UI's calls, in order: [`Chapter::all`] for the chapter list, [`Chapter::get`] to open
//! one, [`Part::lesson`] for each part's scenario or trace, [`Part::due`] /
//! [`Part::due_in_trace`] at the cursor for the checkpoint to ask, [`Checkpoint::truth`] and
//! [`Checkpoint::check`] for the learner's answer, and [`progress::Progress`] to remember it.

pub mod checkpoint;
pub mod markdown;
pub mod progress;
pub mod spec;

use serde::{Deserialize, Serialize};

use crate::scenario::format::{self, Shape};
use crate::scenario::{EMBEDDED, Scenario, ScenarioError};
use crate::session::Session;
use crate::suggest;
use crate::trace::import::driver::DriverTrace;
use crate::trace::qmp::QmpTranscript;
use crate::trace::{Capture, ReplayOptions, TraceSession, TraceStore};

pub use checkpoint::{
    At, Checkpoint, CheckpointError, DriverField, Expected, Question, Subject, Truth, Verdict,
};
pub use progress::{Progress, ProgressError};

/// A chapter could not be run or rendered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TutorialError {
    /// A chapter file, or a scenario a part runs, is at fault.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A checkpoint cannot be answered from its run.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// Where the code a chapter cites lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Project {
    /// Linux (the driver side), cited at v6.1, the guest kernel of the captures.
    Linux,
    /// QEMU (the device side), cited at v7.2.0, the version that made the captures.
    Qemu,
}

/// A pointer out of a chapter: to the spec, another scenario or chapter, or a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Link {
    /// A virtio v1.2 section by number: `Spec("2.7.9")`.
    Spec(String),
    /// An embedded scenario by name: `Scenario("split-unbatched")`.
    Scenario(String),
    /// Another chapter by number.
    Chapter(u8),
    /// A function in Linux or QEMU: `Code(project: Linux, file: "drivers/virtio/virtio_ring.c",
    /// function: "virtqueue_add_split")`.
    Code {
        /// Which project.
        project: Project,
        /// The file, from the project's root.
        file: String,
        /// The function.
        function: String,
    },
}

/// What a part runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Source {
    /// A scenario written in the chapter file.
    Inline(Box<Scenario>),
    /// An embedded scenario (`ringside list` names them), run as it ships.
    Embedded(String),
    /// An embedded trace ([`TRACES`]) by name.
    Trace(String),
}

/// One run of a chapter, with the checkpoints asked along it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// Shown above the run.
    pub title: String,
    /// What to watch for, read before stepping.
    #[serde(default)]
    pub intro: String,
    /// What runs.
    pub run: Source,
    /// The questions, in the order they are asked.
    #[serde(default)]
    pub checkpoints: Vec<Checkpoint>,
}

/// A chapter file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chapter {
    /// 1 to 10: its place in the course.
    pub number: u8,
    /// Its title.
    pub title: String,
    /// What the learner can do at the end, one line each.
    pub goals: Vec<String>,
    /// Read first.
    pub intro: String,
    /// The runs.
    pub parts: Vec<Part>,
    /// Further reading.
    #[serde(default)]
    pub links: Vec<Link>,
    /// What the learner now knows.
    #[serde(default)]
    pub summary: String,
}

/// What a part opens: a scenario (to step with a [`Session`]) or a trace.
#[derive(Debug, Clone)]
pub enum Lesson {
    /// A scenario and the name it runs under.
    Scenario {
        /// Name (`chapter-3/1` for one written in the chapter, else the embedded name).
        name: String,
        /// The scenario.
        scenario: Box<Scenario>,
    },
    /// An embedded trace.
    Trace(&'static EmbeddedTrace),
}

/// A real capture shipped in the binary for the tutorial. Swapping the capture a chapter
/// debugs means changing the files below (or adding an entry and naming it in the chapter):
/// the chapter's checkpoints read whatever the replay of these bytes shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedTrace {
    /// Name chapters use.
    pub name: &'static str,
    /// Where the file is in the repository (shown to the learner, to run `ringside check`).
    pub path: &'static str,
    /// The QEMU trace log.
    pub log: &'static [u8],
    /// Its QMP transcript, when one belongs with it.
    pub qmp: Option<(&'static str, &'static [u8])>,
    /// The guest driver's trace taken beside it, when the capture has both sides: the part
    /// opens joined, as `--guest` opens it.
    pub guest: Option<(&'static str, &'static [u8])>,
}

impl EmbeddedTrace {
    /// Replays it for stepping.
    pub fn session(&self) -> TraceSession {
        TraceSession::new(self.capture(), &ReplayOptions::default())
    }

    /// Its trace, QMP transcript and guest trace, imported.
    pub fn capture(&self) -> Capture {
        let store = TraceStore::from_bytes(self.log, self.path);
        let mut capture = Capture::new(store);
        if let Some((p, b)) = self.qmp {
            capture = capture.with_qmp(QmpTranscript::parse(b, p));
        }
        if let Some((p, b)) = self.guest {
            capture = capture.with_driver(DriverTrace::from_bytes(b, p));
        }
        capture
    }

    /// The files as `ringside check` and `ringside tui` take them: the trace, then `--qmp`
    /// and `--guest` when it has them.
    pub fn args(&self) -> String {
        let mut c = self.path.to_string();
        if let Some((q, _)) = self.qmp {
            c.push_str(&format!(" --qmp {q}"));
        }
        if let Some((g, _)) = self.guest {
            c.push_str(&format!(" --guest {g}"));
        }
        c
    }

    /// The command that shows the same findings from the files.
    pub fn command(&self) -> String {
        format!("ringside check {}", self.args())
    }
}

/// The traces chapters replay. `lost-interrupt` is a documented edit of a real capture (see
/// `traces/README.md`); `held-read` is a run that really went wrong (guest-ioerror: a read
/// failed, the VM stopped with it in flight), both sides of it, about 0.5 MB in all.
pub const TRACES: &[EmbeddedTrace] = &[
    EmbeddedTrace {
        name: "lost-interrupt",
        path: "traces/tutorial-lost-interrupt/trace.log",
        log: include_bytes!("../../../traces/tutorial-lost-interrupt/trace.log"),
        qmp: None,
        guest: None,
    },
    EmbeddedTrace {
        name: "held-read",
        path: "traces/guest-ioerror/trace.log",
        log: include_bytes!("../../../traces/guest-ioerror/trace.log"),
        qmp: Some((
            "traces/guest-ioerror/qmp.jsonl",
            include_bytes!("../../../traces/guest-ioerror/qmp.jsonl"),
        )),
        guest: Some((
            "traces/guest-ioerror/guest-trace.txt",
            include_bytes!("../../../traces/guest-ioerror/guest-trace.txt"),
        )),
    },
];

macro_rules! chapters {
    ($($file:literal,)*) => {
        /// The chapter files, `(file name, RON text)`, in course order.
        pub const CHAPTERS: &[(&str, &str)] = &[
            $(($file, include_str!(concat!("../../../scenarios/tutorial/", $file))),)*
        ];
    };
}

chapters! {
    "01-virtqueue.ron",
    "02-negotiation.ron",
    "03-split-ring.ron",
    "04-split-cost.ron",
    "05-packed-ring.ron",
    "06-wrap-counters.ron",
    "07-in-order.ron",
    "08-notifications.ron",
    "09-power-of-2.ron",
    "10-real-trace.ron",
}

/// The chapter file's shape, for errors.
const CHAPTER: Shape = Shape {
    name: "Chapter",
    example: "Chapter(number: 1, title: \"...\", goals: [\"...\"], intro: \"...\", parts: [(title: \"...\", run: Inline(Scenario(...)), checkpoints: [...])], links: [...], summary: \"...\")",
    examples: "a chapter file holds one `Chapter(...)`; scenarios/tutorial/ has the course",
};

impl Chapter {
    /// Parses and checks a chapter file; `file` names it in errors, which point at the line
    /// and column of the field at fault.
    pub fn parse(file: &str, text: &str) -> Result<Chapter, ScenarioError> {
        let chapter: Chapter = format::load_as(file, text, &CHAPTER)?;
        chapter.validate(file, text)?;
        Ok(chapter)
    }

    /// Every chapter of the course, in order.
    pub fn all() -> Result<Vec<Chapter>, ScenarioError> {
        CHAPTERS.iter().map(|(f, t)| Chapter::parse(f, t)).collect()
    }

    /// Chapter `number` (1-based).
    pub fn get(number: u8) -> Result<Chapter, ScenarioError> {
        let (file, text) = CHAPTERS
            .get(usize::from(number).wrapping_sub(1))
            .ok_or_else(|| ScenarioError::NotFound {
                name: format!("chapter-{number}"),
                hint: format!("; the course has chapters 1 to {}", CHAPTERS.len()),
            })?;
        Chapter::parse(file, text)
    }

    /// An embedded chapter by `chapter-N` or its file name (`03-split-ring`); `None` when the
    /// name is neither (it may be a scenario). Reading a chapter file from disk is the face's
    /// job: core has no file system; it gets the text and calls [`Chapter::parse`].
    pub fn named(name: &str) -> Option<Result<Chapter, ScenarioError>> {
        if let Some(n) = name
            .strip_prefix("chapter-")
            .and_then(|n| n.parse::<u8>().ok())
        {
            return Some(Chapter::get(n));
        }
        let stem = name.trim_end_matches(".ron");
        CHAPTERS
            .iter()
            .find(|(f, _)| f.trim_end_matches(".ron") == stem)
            .map(|(f, t)| Chapter::parse(f, t))
    }

    /// Every checkpoint with its part index.
    pub fn checkpoints(&self) -> impl Iterator<Item = (usize, &Checkpoint)> {
        self.parts
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.checkpoints.iter().map(move |c| (i, c)))
    }

    /// The name a part's run goes by (`chapter-3/1` for a scenario written in the chapter).
    pub fn part_name(&self, part: usize) -> String {
        match self.parts.get(part).map(|p| &p.run) {
            Some(Source::Embedded(n) | Source::Trace(n)) => n.clone(),
            _ => format!("chapter-{}/{}", self.number, part + 1),
        }
    }

    /// Checks what serde cannot: names that must exist, checkpoints that must fit their run,
    /// citations of sections the spec has. Each error points at its place in the text.
    fn validate(&self, file: &str, text: &str) -> Result<(), ScenarioError> {
        let at_nth = |anchor: &str,
                      nth: usize,
                      field: Option<&str>,
                      message: String,
                      expected: &str,
                      hint: String| {
            let place = locate_nth(text, anchor, nth, field);
            format::located(file, place, message, expected, hint)
        };
        let at =
            |anchor: &str, field: Option<&str>, message: String, expected: &str, hint: String| {
                at_nth(anchor, 0, field, message, expected, hint)
            };
        if self.number == 0 || usize::from(self.number) > CHAPTERS.len().max(1) {
            return Err(at(
                "number",
                None,
                format!("chapter number {} is not in the course", self.number),
                &format!("a number from 1 to {}", CHAPTERS.len()),
                "number the chapters in course order".into(),
            ));
        }
        if self.parts.is_empty() {
            return Err(at(
                "parts",
                None,
                "a chapter needs at least one part".into(),
                "parts: [(title: \"...\", run: Inline(Scenario(...)))]",
                "add the run the chapter is about".into(),
            ));
        }
        let mut ids: Vec<&str> = Vec::new();
        for (pi, part) in self.parts.iter().enumerate() {
            let order = |c: &Checkpoint| match c.at {
                At::Step(s) => s as u64,
                At::Line(l) => l,
                At::End => u64::MAX,
            };
            if let Some(w) = part
                .checkpoints
                .windows(2)
                .find(|w| order(&w[1]) < order(&w[0]))
            {
                return Err(at(
                    &format!("\"{}\"", w[1].id),
                    Some("at"),
                    format!(
                        "checkpoint `{}` comes before `{}` in the run but after it in the list",
                        w[1].id, w[0].id
                    ),
                    "checkpoints listed in the order they are asked",
                    format!("move `{}` up", w[1].id),
                ));
            }
            let steps = match &part.run {
                Source::Inline(s) => {
                    format::check_values(file, text, s)?;
                    Some(s.steps.len())
                }
                Source::Embedded(name) => {
                    let found = EMBEDDED.iter().find(|(n, _)| n == name);
                    let Some((n, t)) = found else {
                        return Err(at(
                            &format!("\"{name}\""),
                            None,
                            format!("no embedded scenario named `{name}`"),
                            "a name `ringside list` prints",
                            suggest::closest(name, EMBEDDED.iter().map(|(n, _)| *n))
                                .map(|c| format!("did you mean `{c}`?"))
                                .unwrap_or_else(|| "`ringside list` names them all".into()),
                        ));
                    };
                    Some(Scenario::parse(n, t)?.steps.len())
                }
                Source::Trace(name) => {
                    if !TRACES.iter().any(|t| t.name == name) {
                        return Err(at(
                            &format!("\"{name}\""),
                            None,
                            format!("no embedded trace named `{name}`"),
                            &format!(
                                "one of {}",
                                TRACES
                                    .iter()
                                    .map(|t| format!("`{}`", t.name))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            suggest::closest(name, TRACES.iter().map(|t| t.name))
                                .map(|c| format!("did you mean `{c}`?"))
                                .unwrap_or_else(|| {
                                    "traces are listed in core/src/tutorial/mod.rs (TRACES)".into()
                                }),
                        ));
                    }
                    None
                }
            };
            for cp in &part.checkpoints {
                let anchor = format!("\"{}\"", cp.id);
                if ids.contains(&cp.id.as_str()) {
                    return Err(at_nth(
                        &anchor,
                        1,
                        None,
                        format!("checkpoint id `{}` is used twice in this chapter", cp.id),
                        "an id unique within the chapter",
                        "progress files record answers by id: rename one".into(),
                    ));
                }
                ids.push(&cp.id);
                let kind_ok = match (steps, cp.at) {
                    (Some(n), At::Step(s)) => {
                        let through = cp.through.unwrap_or(s);
                        if s >= n || through >= n || through < s {
                            return Err(at(
                                &anchor,
                                Some(if s >= n { "at" } else { "through" }),
                                format!(
                                    "checkpoint `{}` covers steps {s} to {through}, but part {} has steps 0 to {}",
                                    cp.id,
                                    pi + 1,
                                    n.saturating_sub(1)
                                ),
                                "Step(n) with n counted from 0 in the part's steps, and through >= n",
                                "count the steps of the run from 0".into(),
                            ));
                        }
                        !cp.answer.is_trace()
                    }
                    (None, At::Line(_) | At::End) => cp.answer.is_trace() && cp.through.is_none(),
                    _ => false,
                };
                if !kind_ok {
                    let (expected, hint) = if steps.is_some() {
                        (
                            "at: Step(n) with a question about the scenario (Value, Index, Count, Transfers, Notifies, Finding, Negotiated, Metric, Change)",
                            "trace questions (Counter, FindingOn, FindingQueue, FindingLine, Driver) belong to trace parts",
                        )
                    } else {
                        (
                            "at: Line(n) or End with a trace question (Counter, FindingOn, FindingQueue, FindingLine) and no `through`",
                            "scenario questions belong to scenario parts",
                        )
                    };
                    return Err(at(
                        &anchor,
                        Some("at"),
                        format!("checkpoint `{}` does not fit its part's run", cp.id),
                        expected,
                        hint.into(),
                    ));
                }
                let worded = matches!(
                    cp.answer,
                    Question::Finding | Question::FindingOn { .. } | Question::FindingQueue
                );
                if worded && cp.expect.is_some() {
                    return Err(at(
                        &anchor,
                        Some("expect"),
                        format!("checkpoint `{}` answers with a word; `expect` bounds a number", cp.id),
                        "no `expect` here",
                        "check a finding code with the scenario's expectations (Finding(\"code\")) instead".into(),
                    ));
                }
                if let Err((message, expected)) = cp.answer.validate() {
                    return Err(at(
                        &anchor,
                        Some("answer"),
                        format!("checkpoint `{}`: {message}", cp.id),
                        &expected,
                        "docs/scenario-format.md lists the questions and field names".into(),
                    ));
                }
            }
        }
        for link in &self.links {
            match link {
                Link::Spec(n) if spec::title(n).is_none() => {
                    return Err(at(
                        &format!("\"{n}\""),
                        None,
                        format!("the virtio v1.2 specification has no section {n}"),
                        "a section number such as 2.7.6 (core/src/tutorial/spec.rs lists them)",
                        suggest::closest(n, spec::SECTIONS.iter().map(|s| s.0))
                            .map(|c| {
                                format!("did you mean `{c}` ({})?", spec::title(c).unwrap_or(""))
                            })
                            .unwrap_or_else(|| {
                                "check the number in the v1.2 table of contents".into()
                            }),
                    ));
                }
                Link::Scenario(n) if !EMBEDDED.iter().any(|(e, _)| e == n) => {
                    return Err(at(
                        &format!("\"{n}\""),
                        None,
                        format!("no embedded scenario named `{n}`"),
                        "a name `ringside list` prints",
                        suggest::closest(n, EMBEDDED.iter().map(|(e, _)| *e))
                            .map(|c| format!("did you mean `{c}`?"))
                            .unwrap_or_else(|| "`ringside list` names them all".into()),
                    ));
                }
                Link::Chapter(c) if *c == 0 || usize::from(*c) > CHAPTERS.len() => {
                    return Err(at(
                        &format!("Chapter({c})"),
                        None,
                        format!("there is no chapter {c}"),
                        &format!("a chapter from 1 to {}", CHAPTERS.len()),
                        "link to a chapter of the course".into(),
                    ));
                }
                _ => {}
            }
        }
        for cited in self.citations() {
            if spec::title(cited).is_none() {
                return Err(at(
                    &format!("§{cited}"),
                    None,
                    format!("the text cites §{cited}, which virtio v1.2 does not have"),
                    "a section number such as §2.7.6",
                    suggest::closest(cited, spec::SECTIONS.iter().map(|s| s.0))
                        .map(|c| format!("did you mean §{c} ({})?", spec::title(c).unwrap_or("")))
                        .unwrap_or_else(|| "check the number in the v1.2 table of contents".into()),
                ));
            }
        }
        Ok(())
    }

    /// Every `§N.N` the chapter's own text cites (intro, parts, steps, checkpoints, summary).
    pub fn citations(&self) -> Vec<&str> {
        let mut texts: Vec<&str> = vec![&self.intro, &self.summary];
        for p in &self.parts {
            texts.push(&p.intro);
            if let Source::Inline(s) = &p.run {
                texts.extend(s.steps.iter().filter_map(|s| s.say.as_deref()));
            }
            for c in &p.checkpoints {
                texts.push(&c.ask);
                texts.push(&c.why);
            }
        }
        texts.into_iter().flat_map(spec::citations).collect()
    }
}

/// Whether a RON text's top level is a `Chapter(...)` (comments skipped).
pub fn is_chapter(text: &str) -> bool {
    text.lines()
        .map(format::strip_comment_and_strings)
        .map(|l| l.trim().to_string())
        .find(|l| !l.is_empty())
        .is_some_and(|l| l.starts_with("Chapter"))
}

/// Line and column (1-based) of the `nth` (0-based) occurrence of `anchor` in the text
/// (outside comments), then of the first `field:` after it when given; the start of the file
/// when the anchor is not there.
fn locate_nth(text: &str, anchor: &str, nth: usize, field: Option<&str>) -> (usize, usize) {
    let code: Vec<String> = text
        .lines()
        .map(|l| {
            // Comments go, string contents stay: anchors are often strings.
            let stripped = format::strip_comment_and_strings(l);
            l.chars().take(stripped.chars().count()).collect()
        })
        .collect();
    let found = code
        .iter()
        .enumerate()
        .flat_map(|(i, l)| {
            l.match_indices(anchor)
                .map(move |(at, _)| (i, l[..at].chars().count()))
        })
        .nth(nth);
    let Some((line, col)) = found else {
        return format::locate_field(text, anchor).unwrap_or((1, 1));
    };
    let Some(field) = field else {
        return (line + 1, col + 1);
    };
    let rest = code[line + 1..].join("\n");
    let tail: String = code[line].chars().skip(col).collect();
    format::locate_field(&format!("{tail}\n{rest}"), field)
        .map(|(l, c)| {
            if l == 1 {
                (line + 1, col + c)
            } else {
                (line + l, c)
            }
        })
        .unwrap_or((line + 1, col + 1))
}

impl Part {
    /// What the part opens. `chapter` is its chapter's number and `index` its place, for the
    /// name of a scenario written in the chapter.
    pub fn lesson(&self, chapter: u8, index: usize) -> Result<Lesson, ScenarioError> {
        match &self.run {
            Source::Inline(s) => Ok(Lesson::Scenario {
                name: format!("chapter-{chapter}/{}", index + 1),
                scenario: s.clone(),
            }),
            Source::Embedded(name) => Ok(Lesson::Scenario {
                name: name.clone(),
                scenario: Box::new(Scenario::embedded(name)?),
            }),
            Source::Trace(name) => TRACES
                .iter()
                .find(|t| t.name == name)
                .map(Lesson::Trace)
                .ok_or_else(|| ScenarioError::NotFound {
                    name: name.clone(),
                    hint: String::new(),
                }),
        }
    }

    /// The checkpoints to ask with a scenario session's cursor where it is: those placed
    /// before the step whose first op starts at the cursor. The UI asks them (or lets the
    /// learner skip them) before stepping on.
    pub fn due(&self, scenario: &Scenario, session: &Session) -> Vec<&Checkpoint> {
        let cursor = session.position().step;
        let map = scenario.step_of_op();
        let starting: Vec<usize> = (0..scenario.steps.len())
            .filter(|s| {
                map.iter()
                    .position(|x| x == s)
                    .is_some_and(|op| session.op_start(op) == cursor)
            })
            .collect();
        self.checkpoints
            .iter()
            .filter(|c| matches!(c.at, At::Step(s) if starting.contains(&s)))
            .collect()
    }

    /// The checkpoints to ask in a trace replayed up to `step` events: `Line(n)` when the next
    /// event to replay is the first at or after line `n`, `End` at the end.
    pub fn due_in_trace(&self, trace: &TraceSession, step: usize) -> Vec<&Checkpoint> {
        let events = trace.store().events();
        let prev = step
            .checked_sub(1)
            .and_then(|i| events.get(i))
            .map_or(0, |e| u64::from(e.line));
        let next = events.get(step).map(|e| u64::from(e.line));
        self.checkpoints
            .iter()
            .filter(|c| match c.at {
                At::Line(l) => next.is_some_and(|n| l > prev && l <= n),
                At::End => step >= trace.len(),
                At::Step(_) => false,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_and_the_field_after_them_are_located() {
        let t = "// \"x\" in a comment\n(id: \"x\",\n  at: Step(9), answer: Transfers)";
        assert_eq!(locate_nth(t, "\"x\"", 0, None), (2, 6));
        assert_eq!(locate_nth(t, "\"x\"", 0, Some("at")), (3, 3));
        assert_eq!(locate_nth(t, "\"x\"", 0, Some("answer")), (3, 16));
        assert_eq!(locate_nth(t, "\"y\"", 0, None), (1, 1));
        assert_eq!(locate_nth(t, "\"x\"", 1, None), (1, 1));
    }

    #[test]
    fn a_chapter_file_is_told_from_a_scenario_file() {
        assert!(is_chapter("// c\n\nChapter(number: 1)"));
        assert!(!is_chapter("// Chapter(\nScenario(title: \"Chapter\")"));
    }
}
