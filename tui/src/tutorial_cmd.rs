//! `ringside tutorial` and `ringside run chapter-N`: the course from the command line. Core
//! runs the chapters, answers the checkpoints and renders the pages; this module prints and
//! writes files.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use ringside_core::scenario::Run;
use ringside_core::tutorial::{Chapter, Lesson, Subject, markdown};
use ringside_tui::progress::ProgressStore;

/// `ringside tutorial --markdown DIR`: writes every chapter's page and the index.
pub fn markdown(dir: &Path) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in markdown::pages()? {
        let path = dir.join(&name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        outln!("wrote {}", path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `ringside tutorial` without a terminal UI yet: the chapter list with the learner's place.
pub fn list(no_save: bool) -> anyhow::Result<ExitCode> {
    let store = ProgressStore::from_env(no_save);
    let (progress, warning) = store.load();
    if let Some(w) = warning {
        eprintln!("ringside: {w}");
    }
    for ch in Chapter::all()? {
        let mark = if progress.done.contains(&ch.number) {
            "done"
        } else if progress.at.chapter == ch.number {
            "here"
        } else {
            ""
        };
        outln!("{:>2}. {:<48} {mark}", ch.number, ch.title)?;
    }
    match store.path() {
        Some(p) => outln!("progress: {}", p.display())?,
        None => outln!("progress: not saved (--no-save or RINGSIDE_NO_SAVE)")?,
    }
    Ok(ExitCode::SUCCESS)
}

/// A chapter by `chapter-N`, its file name, or the path of a file whose top level is a
/// `Chapter`; `None` when `name` is none of these (it may be a scenario).
pub fn find(name: &str) -> Option<Result<Chapter, ringside_core::scenario::ScenarioError>> {
    if let Some(c) = Chapter::named(name) {
        return Some(c);
    }
    let text = std::fs::read_to_string(name).ok()?;
    ringside_core::tutorial::is_chapter(&text).then(|| Chapter::parse(name, &text))
}

/// `ringside run chapter-N` (or a chapter file): runs every part, checks its expectations and
/// prints each checkpoint with the answer the engine gives. Exit 1 when something fails.
pub fn run(chapter: &Chapter) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    let mut o = String::new();
    let _ = writeln!(o, "chapter {}: {}", chapter.number, chapter.title);
    for (i, part) in chapter.parts.iter().enumerate() {
        let _ = writeln!(o, "\npart {}: {}", i + 1, part.title);
        match part.lesson(chapter.number, i)? {
            Lesson::Scenario { name, scenario } => {
                let run = Run::new(&name, &scenario)?;
                o.push_str(&crate::scenario_cmd::summary(&run.report));
                failed |= !run.report.passed;
                let subject = Subject::Scenario {
                    name: &name,
                    scenario: &scenario,
                    session: &run.session,
                };
                for cp in &part.checkpoints {
                    line(&mut o, cp, subject, &mut failed);
                }
            }
            Lesson::Trace(t) => {
                let session = t.session();
                let _ = writeln!(o, "trace          {} ({} events)", t.path, session.len());
                o.push_str(&session.report().findings_text());
                for cp in &part.checkpoints {
                    line(&mut o, cp, Subject::Trace(&session), &mut failed);
                }
            }
        }
    }
    out!("{o}")?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn line(
    o: &mut String,
    cp: &ringside_core::tutorial::Checkpoint,
    subject: Subject<'_>,
    failed: &mut bool,
) {
    match cp.truth(subject) {
        Ok(t) => {
            let drift = match (cp.expect, t.value.number()) {
                (Some(b), Some(v)) if !b.holds(v) => format!("  FAILS: the narration assumes {b}"),
                (Some(_), None) => "  FAILS: `expect` on a worded answer".to_string(),
                _ => String::new(),
            };
            *failed |= !drift.is_empty();
            let field = t.field.map(|f| format!(" {f}")).unwrap_or_default();
            let _ = writeln!(
                o,
                "  checkpoint {:<20} {:>8}{drift}  [{:?}{field}]  {}",
                cp.id,
                t.value.to_string(),
                t.pane,
                t.evidence
            );
        }
        Err(e) => {
            *failed = true;
            let _ = writeln!(o, "  checkpoint {:<20} FAILS: {e}", cp.id);
        }
    }
}
