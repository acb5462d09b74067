//! What the course remembers between runs: chapters done, where the learner stopped, and the
//! answers given. A face stores it (the TUI in a RON file in the user's config directory, the
//! web app in local storage); core only turns it into text and back, so a corrupt file becomes
//! a [`ProgressError`] the face reports once before starting afresh.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::CHAPTERS;
use super::checkpoint::Verdict;

/// The format written today. A file with a larger version was written by a newer ringside.
pub const VERSION: u32 = 1;

fn version() -> u32 {
    VERSION
}

fn first_chapter() -> u8 {
    1
}

/// Where the learner is: a chapter, a part of it, and a micro step of that part's run (an
/// event index in a trace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    /// Chapter number (1-based).
    #[serde(default = "first_chapter")]
    pub chapter: u8,
    /// Part index (0-based).
    #[serde(default)]
    pub part: usize,
    /// Micro step (scenario) or event (trace) of the part's run.
    #[serde(default)]
    pub step: u64,
}

impl Default for Place {
    fn default() -> Self {
        Place {
            chapter: 1,
            part: 0,
            step: 0,
        }
    }
}

/// How a checkpoint was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Answered right.
    Right,
    /// Answered wrong.
    Wrong,
    /// Skipped.
    Skipped,
}

/// The last answer to one checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The chapter.
    pub chapter: u8,
    /// The checkpoint's id within it.
    pub checkpoint: String,
    /// What the learner typed (`None` when skipped).
    #[serde(default)]
    pub given: Option<String>,
    /// How it went.
    pub outcome: Outcome,
}

/// The learner's progress through the course.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    /// Format version ([`VERSION`]).
    #[serde(default = "version")]
    pub version: u32,
    /// Chapters finished.
    #[serde(default)]
    pub done: BTreeSet<u8>,
    /// Where to resume.
    #[serde(default)]
    pub at: Place,
    /// The last answer to each checkpoint answered or skipped, in the order first answered.
    #[serde(default)]
    pub answers: Vec<Answer>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            version: VERSION,
            done: BTreeSet::new(),
            at: Place::default(),
            answers: Vec::new(),
        }
    }
}

/// A progress text that cannot be used. The face reports it once and starts afresh.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ProgressError {
    /// 1-based line, when the text itself is at fault.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ProgressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, "{l}:{c}: ")?;
        }
        write!(
            f,
            "{}; the progress is not usable and will be replaced by a fresh one (chapter 1)",
            self.message
        )
    }
}

impl Progress {
    /// Reads a progress text, checking that it fits this course.
    pub fn parse(text: &str) -> Result<Progress, ProgressError> {
        let p: Progress = ron::from_str(text).map_err(|e| ProgressError {
            line: Some(e.span.start.line),
            column: Some(e.span.start.col),
            message: e.code.to_string(),
        })?;
        let bad = |message: String| ProgressError {
            line: None,
            column: None,
            message,
        };
        if p.version > VERSION {
            return Err(bad(format!(
                "written by a newer ringside (format {}, this one reads {VERSION})",
                p.version
            )));
        }
        let n = CHAPTERS.len();
        let in_course = |c: u8| c >= 1 && usize::from(c) <= n;
        if let Some(c) = p.done.iter().find(|c| !in_course(**c)) {
            return Err(bad(format!(
                "chapter {c} is marked done; the course has 1 to {n}"
            )));
        }
        if !in_course(p.at.chapter) {
            return Err(bad(format!(
                "resumes at chapter {}; the course has 1 to {n}",
                p.at.chapter
            )));
        }
        if let Some(a) = p.answers.iter().find(|a| !in_course(a.chapter)) {
            return Err(bad(format!(
                "an answer belongs to chapter {}; the course has 1 to {n}",
                a.chapter
            )));
        }
        Ok(p)
    }

    /// The text to store.
    pub fn to_ron(&self) -> String {
        let cfg = ron::ser::PrettyConfig::new().struct_names(true);
        // Serialising plain data cannot fail; an empty text would only restart the course.
        ron::ser::to_string_pretty(self, cfg).unwrap_or_default()
    }

    /// Records an answer (replacing an earlier one to the same checkpoint). Unreadable text is
    /// not an answer and is not recorded.
    pub fn answer(&mut self, chapter: u8, checkpoint: &str, given: &str, verdict: &Verdict) {
        let outcome = match verdict {
            Verdict::Right { .. } => Outcome::Right,
            Verdict::Wrong { .. } => Outcome::Wrong,
            Verdict::Unreadable { .. } => return,
        };
        self.put(Answer {
            chapter,
            checkpoint: checkpoint.to_string(),
            given: Some(given.trim().to_string()),
            outcome,
        });
    }

    /// Records a skipped checkpoint.
    pub fn skip(&mut self, chapter: u8, checkpoint: &str) {
        self.put(Answer {
            chapter,
            checkpoint: checkpoint.to_string(),
            given: None,
            outcome: Outcome::Skipped,
        });
    }

    fn put(&mut self, a: Answer) {
        match self
            .answers
            .iter_mut()
            .find(|x| x.chapter == a.chapter && x.checkpoint == a.checkpoint)
        {
            Some(x) => *x = a,
            None => self.answers.push(a),
        }
    }

    /// The last answer to a checkpoint.
    pub fn answered(&self, chapter: u8, checkpoint: &str) -> Option<&Answer> {
        self.answers
            .iter()
            .find(|a| a.chapter == chapter && a.checkpoint == checkpoint)
    }

    /// Marks a chapter done and moves the resume point to the start of the next one (it stays
    /// at the last chapter's end when the course is finished).
    pub fn finish(&mut self, chapter: u8) {
        self.done.insert(chapter);
        if usize::from(chapter) < CHAPTERS.len() {
            self.at = Place {
                chapter: chapter + 1,
                part: 0,
                step: 0,
            };
        }
    }

    /// Whether every chapter is done.
    pub fn complete(&self) -> bool {
        (1..=CHAPTERS.len()).all(|c| u8::try_from(c).is_ok_and(|c| self.done.contains(&c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::PaneId;

    fn wrong() -> Verdict {
        Verdict::Wrong {
            answer: "3".into(),
            given: "2".into(),
            pane: PaneId::Ring,
            field: None,
            explanation: String::new(),
        }
    }

    #[test]
    fn progress_survives_a_round_trip_through_its_text() {
        let mut p = Progress::default();
        p.answer(3, "next-slot", " 2 ", &wrong());
        p.skip(3, "wrap");
        p.finish(1);
        p.finish(2);
        p.at.step = 117;
        let text = p.to_ron();
        assert_eq!(Progress::parse(&text).unwrap(), p);
        assert_eq!(p.at.chapter, 3);
        assert_eq!(
            p.answered(3, "next-slot").unwrap().given.as_deref(),
            Some("2")
        );
        assert_eq!(p.answered(3, "wrap").unwrap().outcome, Outcome::Skipped);
        // A new answer replaces the old one.
        p.answer(
            3,
            "wrap",
            "1",
            &Verdict::Right {
                answer: "1".into(),
                explanation: String::new(),
            },
        );
        assert_eq!(p.answers.len(), 2);
        assert_eq!(p.answered(3, "wrap").unwrap().outcome, Outcome::Right);
        // Unreadable text is not an answer.
        p.answer(
            3,
            "x",
            "?",
            &Verdict::Unreadable {
                message: String::new(),
            },
        );
        assert!(p.answered(3, "x").is_none());
    }

    #[test]
    fn an_empty_text_is_a_fresh_start_and_a_corrupt_one_an_error_with_its_place() {
        assert_eq!(Progress::parse("()").unwrap(), Progress::default());
        let e = Progress::parse("Progress(\n  done: [1, 2,\n").unwrap_err();
        assert!(e.line.is_some_and(|l| l >= 2), "{e:?}");
        assert!(e.to_string().contains("will be replaced"), "{e}");
        let e = Progress::parse("(done: [1], colour: 3)").unwrap_err();
        assert!(e.message.contains("colour"), "{e}");
        let e = Progress::parse("(at: (chapter: 99))").unwrap_err();
        assert!(e.message.contains("chapter 99"), "{e}");
        let e = Progress::parse("(version: 7)").unwrap_err();
        assert!(e.message.contains("newer"), "{e}");
        assert!(Progress::parse("\u{0}\u{1}garbage").is_err());
    }

    #[test]
    fn the_course_is_complete_when_every_chapter_is_done() {
        let mut p = Progress::default();
        for c in 1..=CHAPTERS.len() as u8 {
            assert!(!p.complete());
            p.finish(c);
        }
        assert!(p.complete());
        assert_eq!(usize::from(p.at.chapter), CHAPTERS.len());
    }
}
