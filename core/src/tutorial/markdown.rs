//! Each chapter as a Markdown page (`docs/tutorial/NN-name.md`), generated from the chapter
//! file and its runs: the narration is the chapter's, and every answer, negotiated feature
//! set and checked expectation on the page is computed by running the engine, so a page that
//! disagrees with the tool is stale (`core/tests/tutorial.rs` fails; `ringside tutorial
//! --markdown docs/tutorial` rewrites them).

use std::fmt::Write as _;

use super::checkpoint::{At, Checkpoint, Subject};
use super::{CHAPTERS, Chapter, Lesson, Link, Project, Source, TutorialError, spec};
use crate::op::Op;
use crate::scenario::{EMBEDDED, Run, Scenario};

/// The specification the tutorial cites.
pub const SPEC_URL: &str =
    "https://docs.oasis-open.org/virtio/virtio/v1.2/cs01/virtio-v1.2-cs01.html";

/// Every page: `(file name, Markdown)`, the index (`README.md`) first.
pub fn pages() -> Result<Vec<(String, String)>, TutorialError> {
    let chapters = Chapter::all()?;
    let mut out = vec![("README.md".to_string(), index(&chapters))];
    for (ch, (file, _)) in chapters.iter().zip(CHAPTERS) {
        out.push((page_name(file), page(ch, file)?));
    }
    Ok(out)
}

/// The page name of a chapter file (`03-split-ring.ron` -> `03-split-ring.md`).
pub fn page_name(file: &str) -> String {
    format!("{}.md", file.trim_end_matches(".ron"))
}

fn header(source: &str) -> String {
    format!(
        "<!-- Generated from {source} by `ringside tutorial --markdown docs/tutorial`. Edit the \
         chapter file, not this page: core/tests/tutorial.rs fails when they differ. -->\n\n"
    )
}

/// The course's table of contents.
pub fn index(chapters: &[Chapter]) -> String {
    let mut o = header("scenarios/tutorial/*.ron");
    o.push_str("# The ringside course: virtio rings, chapter by chapter\n\n");
    o.push_str(
        "Start it with `cargo run --release` (or `ringside tutorial`): the terminal UI opens \
         the chapter list where you left off. Each chapter steps real runs of ringside's \
         engine and asks you to predict what happens before it happens; every answer below \
         is computed by the engine, not typed in. Spec sections are those of virtio v1.2 \
         ([the specification](",
    );
    o.push_str(SPEC_URL);
    o.push_str(")).\n\n");
    for (ch, (file, _)) in chapters.iter().zip(CHAPTERS) {
        let _ = writeln!(
            o,
            "{}. [{}]({}): {}",
            ch.number,
            ch.title,
            page_name(file),
            ch.goals.first().map_or("", String::as_str)
        );
    }
    o
}

fn op_text(op: &Op) -> String {
    ron::ser::to_string(op).unwrap_or_else(|_| op.name().to_string())
}

fn link_text(link: &Link, chapters: &[(&str, &str)]) -> String {
    match link {
        Link::Spec(n) => format!(
            "virtio v1.2 §{n} {} ([spec]({SPEC_URL}))",
            spec::title(n).unwrap_or("")
        ),
        Link::Scenario(n) => {
            let what = EMBEDDED
                .iter()
                .find(|(e, _)| e == n)
                .and_then(|(e, t)| Scenario::parse(e, t).ok())
                .map(|s| s.description)
                .unwrap_or_default();
            format!("Scenario `{n}`: {what} (`ringside run {n}`)")
        }
        Link::Chapter(c) => {
            let file = chapters
                .get(usize::from(*c).wrapping_sub(1))
                .map(|(f, _)| page_name(f))
                .unwrap_or_default();
            format!("[Chapter {c}]({file})")
        }
        Link::Code {
            project,
            file,
            function,
        } => {
            let (name, url) = match project {
                Project::Linux => (
                    "Linux 6.1",
                    format!("https://elixir.bootlin.com/linux/v6.1/source/{file}"),
                ),
                Project::Qemu => (
                    "QEMU 7.2",
                    format!("https://gitlab.com/qemu-project/qemu/-/blob/v7.2.0/{file}"),
                ),
            };
            format!("{name} `{function}()` in [{file}]({url})")
        }
    }
}

fn checkpoint_block(
    o: &mut String,
    cp: &Checkpoint,
    subject: Subject<'_>,
    place: &str,
) -> Result<(), TutorialError> {
    let truth = cp.truth(subject)?;
    let _ = writeln!(o, "> **Predict** ({place}): {}", cp.ask);
    o.push_str(">\n> <details><summary>Answer (computed by ringside)</summary>\n>\n");
    let field = truth
        .field
        .as_ref()
        .map(|f| format!(", field `{f}`"))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "> **{}**. Shown in the {} pane{field}. {} {}\n>\n> </details>\n",
        truth.value,
        truth.pane.title(),
        truth.evidence,
        cp.why
    );
    Ok(())
}

fn scenario_section(
    o: &mut String,
    part: &super::Part,
    name: &str,
    s: &Scenario,
) -> Result<(), TutorialError> {
    let run = Run::new(name, s)?;
    let e = &s.engine;
    let r = &run.report;
    let _ = writeln!(
        o,
        "Setup: a {} ring of {} entries. The device offers {}; the driver knows {}. Negotiated: {}.{}\n",
        e.queue.layout,
        e.queue.size,
        e.device_features,
        e.driver_features,
        if r.negotiated.0 == 0 {
            "nothing (negotiation failed)".to_string()
        } else {
            r.negotiated.to_string()
        },
        faults(s)
    );
    let subject = Subject::Scenario {
        name,
        scenario: s,
        session: &run.session,
    };
    for (i, step) in s.steps.iter().enumerate() {
        for cp in part.checkpoints.iter().filter(|c| c.at == At::Step(i)) {
            let place = match cp.through {
                Some(t) if t != i => {
                    format!("before step {}, about steps {} to {}", i + 1, i + 1, t + 1)
                }
                _ => format!("before step {}", i + 1),
            };
            checkpoint_block(o, cp, subject, &place)?;
        }
        let _ = write!(o, "{}. `{}`", i + 1, op_text(&step.op));
        match &step.say {
            Some(say) => {
                let _ = writeln!(o, ": {say}\n");
            }
            None => o.push_str("\n\n"),
        }
    }
    if !r.expectations.is_empty() {
        o.push_str("What the run shows (each line is checked by `cargo test`):\n\n");
        for c in &r.expectations {
            let mark = if c.pass { "holds" } else { "FAILS" };
            let _ = writeln!(o, "- {}: {} ({mark})", c.expected, c.observed);
        }
        o.push('\n');
    }
    Ok(())
}

fn faults(s: &Scenario) -> String {
    let d = &s.engine.driver.faults;
    let v = &s.engine.device.faults;
    if d.is_empty() && v.is_empty() {
        return String::new();
    }
    let list = |x: &dyn std::fmt::Debug| format!("{x:?}");
    format!(" Faults injected: driver {}, device {}.", list(d), list(v))
}

/// One chapter's page. `file` is its file name under `scenarios/tutorial/`.
pub fn page(ch: &Chapter, file: &str) -> Result<String, TutorialError> {
    let mut o = header(&format!("scenarios/tutorial/{file}"));
    let _ = writeln!(o, "# Chapter {}: {}\n", ch.number, ch.title);
    let _ = writeln!(
        o,
        "In the terminal: `ringside tutorial` and pick chapter {n}. Headless: `ringside run chapter-{n}` runs every part and checks it.\n",
        n = ch.number
    );
    o.push_str("**By the end you can:**\n\n");
    for g in &ch.goals {
        let _ = writeln!(o, "- {g}");
    }
    let _ = writeln!(o, "\n{}\n", ch.intro);
    for (i, part) in ch.parts.iter().enumerate() {
        let _ = writeln!(o, "## {}. {}\n", i + 1, part.title);
        if !part.intro.is_empty() {
            let _ = writeln!(o, "{}\n", part.intro);
        }
        match part.lesson(ch.number, i)? {
            Lesson::Scenario { name, scenario } => {
                if let Source::Embedded(n) = &part.run {
                    let _ = writeln!(
                        o,
                        "This part runs the shipped scenario `{n}` (`ringside run {n}`).\n"
                    );
                }
                scenario_section(&mut o, part, &name, &scenario)?;
            }
            Lesson::Trace(t) => {
                let session = t.session();
                let _ = writeln!(
                    o,
                    "Trace: `{}` ({} events). Replay it yourself: `{}`; step it: `ringside tui {}`.\n",
                    t.path,
                    session.len(),
                    t.command(),
                    t.args()
                );
                for cp in &part.checkpoints {
                    let place = match cp.at {
                        At::Line(l) => format!("at trace line {l}"),
                        _ => "with the whole trace replayed".to_string(),
                    };
                    checkpoint_block(&mut o, cp, Subject::Trace(&session), &place)?;
                }
                let findings = session.report().findings_text();
                if !findings.is_empty() {
                    o.push_str("What `ringside check` reports:\n\n```text\n");
                    o.push_str(&findings);
                    o.push_str("```\n\n");
                }
            }
        }
    }
    if !ch.links.is_empty() {
        o.push_str("## Read more\n\n");
        for l in &ch.links {
            let _ = writeln!(o, "- {}", link_text(l, CHAPTERS));
        }
        o.push('\n');
    }
    if !ch.summary.is_empty() {
        let _ = writeln!(o, "## What you now know\n\n{}", ch.summary);
    }
    Ok(o)
}
