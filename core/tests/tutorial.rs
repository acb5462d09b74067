//! The course, walked through core as a learner would: every chapter opens, every part runs
//! and meets its expectations, every checkpoint is asked exactly once at its place while
//! stepping, is answered right and wrong and skipped, and the verdicts point at the pane and
//! field that show the answer. The pages in docs/tutorial/ are what the chapters generate.
//! (Broken chapter files, scenarios/invalid/tutorial/, are checked with the broken scenarios
//! in core/tests/scenarios.rs.)

use std::path::{Path, PathBuf};

use ringside_core::scenario::{EMBEDDED, Run, Scenario};
use ringside_core::tutorial::progress::Outcome;
use ringside_core::tutorial::{
    CHAPTERS, Chapter, Checkpoint, Expected, Lesson, Progress, Source, Subject, Truth, Verdict,
    is_chapter, markdown, spec,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn ron_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    v.sort();
    v
}

#[test]
fn the_course_is_ten_chapters_in_order_each_embedded_from_its_file() {
    let chapters = Chapter::all().unwrap();
    assert_eq!(chapters.len(), 10);
    for (i, (ch, (file, text))) in chapters.iter().zip(CHAPTERS).enumerate() {
        assert_eq!(usize::from(ch.number), i + 1, "{file}");
        assert!(file.starts_with(&format!("{:02}-", i + 1)), "{file}");
        let on_disk =
            std::fs::read_to_string(repo().join("scenarios/tutorial").join(file)).unwrap();
        assert_eq!(&on_disk, text, "{file} is not what is embedded");
        assert!(
            !ch.goals.is_empty() && !ch.intro.is_empty() && !ch.summary.is_empty(),
            "{file}"
        );
        assert!(ch.checkpoints().count() >= 1, "{file} asks nothing");
        assert!(
            ch.links
                .iter()
                .any(|l| matches!(l, ringside_core::tutorial::Link::Spec(_))),
            "{file} links no spec section"
        );
        assert!(
            !ch.citations().is_empty(),
            "{file} cites no spec section in its text"
        );
    }
    // Every chapter file in scenarios/tutorial is in the course.
    for path in ron_files(&repo().join("scenarios/tutorial")) {
        let text = std::fs::read_to_string(&path).unwrap();
        if is_chapter(&text) {
            assert!(
                CHAPTERS.iter().any(|(_, t)| *t == text),
                "{} is not embedded",
                path.display()
            );
        }
    }
}

#[test]
fn the_embedded_scenarios_a_chapter_runs_cite_sections_the_spec_has() {
    for ch in Chapter::all().unwrap() {
        for part in &ch.parts {
            if let Source::Embedded(name) = &part.run {
                let s = Scenario::embedded(name).unwrap();
                for say in s.steps.iter().filter_map(|s| s.say.as_deref()) {
                    for c in spec::citations(say) {
                        assert!(spec::title(c).is_some(), "{name} cites §{c}: {say}");
                    }
                }
            }
        }
    }
}

/// Answers one checkpoint right, wrong, unreadably and by skipping, checking each verdict.
fn answer_every_way(chapter: u8, cp: &Checkpoint, truth: &Truth, progress: &mut Progress) {
    let where_ = format!("chapter {chapter} checkpoint {}", cp.id);
    // What the narration assumes must be what the engine shows.
    if let Some(b) = cp.expect {
        let v = truth
            .value
            .number()
            .unwrap_or_else(|| panic!("{where_}: expect on a word"));
        assert!(
            b.holds(v),
            "{where_}: the engine answers {v}, the narration assumes {b}"
        );
    }
    let right = truth.value.to_string();
    match cp.check(truth, &right) {
        Verdict::Right {
            answer,
            explanation,
        } => {
            assert_eq!(answer, right, "{where_}");
            assert!(explanation.contains(&cp.why), "{where_}: {explanation}");
        }
        v => panic!("{where_}: the true answer {right} was judged {v:?}"),
    }
    if let Expected::Number(n) = truth.value
        && n.fract() == 0.0
    {
        let hex = format!("{:#x}", n as u64);
        assert!(
            cp.check(truth, &hex).is_right(),
            "{where_}: {hex} not read as {n}"
        );
    }
    let bad = truth.value.wrong_example();
    let verdict = cp.check(truth, &bad);
    match &verdict {
        Verdict::Wrong {
            answer,
            given,
            pane,
            field,
            explanation,
        } => {
            assert_eq!(answer, &right, "{where_}");
            assert_eq!(
                given.to_ascii_lowercase(),
                bad.to_ascii_lowercase(),
                "{where_}"
            );
            assert_eq!(*pane, truth.pane, "{where_}");
            assert_eq!(field, &truth.field, "{where_}");
            assert!(
                explanation.contains(&format!("the engine shows {right}")),
                "{where_}: {explanation}"
            );
            assert!(
                explanation.contains(pane.title()),
                "{where_}: no pane in {explanation}"
            );
            if let Some(f) = field {
                assert!(
                    explanation.contains(f.as_str()),
                    "{where_}: no field in {explanation}"
                );
            }
            assert!(
                explanation.contains(&truth.evidence),
                "{where_}: {explanation}"
            );
            assert!(explanation.ends_with(&cp.why), "{where_}: {explanation}");
        }
        v => panic!("{where_}: the wrong answer {bad} was judged {v:?}"),
    }
    assert!(
        matches!(cp.check(truth, "banana?"), Verdict::Unreadable { .. }),
        "{where_}: nonsense was judged"
    );
    progress.answer(chapter, &cp.id, &bad, &verdict);
    assert_eq!(
        progress.answered(chapter, &cp.id).unwrap().outcome,
        Outcome::Wrong
    );
    progress.skip(chapter, &cp.id);
    assert_eq!(
        progress.answered(chapter, &cp.id).unwrap().outcome,
        Outcome::Skipped
    );
    progress.answer(chapter, &cp.id, &right, &cp.check(truth, &right));
    assert_eq!(
        progress.answered(chapter, &cp.id).unwrap().outcome,
        Outcome::Right
    );
}

#[test]
fn every_chapter_walks_to_its_end_and_every_checkpoint_is_asked_once_and_judged() {
    let mut progress = Progress::default();
    let mut asked_total = 0;
    for ch in Chapter::all().unwrap() {
        for (pi, part) in ch.parts.iter().enumerate() {
            let mut asked: Vec<&str> = Vec::new();
            match part.lesson(ch.number, pi).unwrap() {
                Lesson::Scenario { name, scenario } => {
                    let run = Run::new(&name, &scenario).unwrap();
                    let failed: Vec<_> =
                        run.report.expectations.iter().filter(|c| !c.pass).collect();
                    assert!(
                        failed.is_empty(),
                        "chapter {} part {}: {failed:?}",
                        ch.number,
                        pi + 1
                    );
                    let mut session = scenario.session().unwrap();
                    let subject_session = session.clone();
                    let subject = Subject::Scenario {
                        name: &name,
                        scenario: &scenario,
                        session: &subject_session,
                    };
                    // Step op by op to the end, as the UI would, asking what is due.
                    loop {
                        for cp in part.due(&scenario, &session) {
                            assert!(!asked.contains(&cp.id.as_str()), "{} asked twice", cp.id);
                            asked.push(&cp.id);
                            let truth = cp.truth(subject).unwrap_or_else(|e| panic!("{e}"));
                            answer_every_way(ch.number, cp, &truth, &mut progress);
                        }
                        let before = session.position().step;
                        session.op_forward();
                        progress.at.step = session.position().step;
                        if session.position().step == before {
                            break;
                        }
                    }
                    assert_eq!(session.position().step, session.len());
                }
                Lesson::Trace(t) => {
                    let trace = t.session();
                    for step in 0..=trace.len() {
                        for cp in part.due_in_trace(&trace, step) {
                            assert!(!asked.contains(&cp.id.as_str()), "{} asked twice", cp.id);
                            asked.push(&cp.id);
                            let truth = cp
                                .truth(Subject::Trace(&trace))
                                .unwrap_or_else(|e| panic!("{e}"));
                            answer_every_way(ch.number, cp, &truth, &mut progress);
                        }
                    }
                }
            }
            let all: Vec<&str> = part.checkpoints.iter().map(|c| c.id.as_str()).collect();
            assert_eq!(
                asked,
                all,
                "chapter {} part {}: asked {asked:?} of {all:?}",
                ch.number,
                pi + 1
            );
            asked_total += asked.len();
            progress.at.part = pi;
        }
        progress.finish(ch.number);
    }
    assert!(asked_total >= 30, "only {asked_total} checkpoints");
    assert!(progress.complete());
    assert_eq!(Progress::parse(&progress.to_ron()).unwrap(), progress);
}

#[test]
fn a_checkpoint_reads_the_run_so_a_different_run_gives_a_different_answer() {
    // The same question on a run whose rule differs: the answer follows the engine, it is not
    // a stored string. Chapter 5 asks where the chain's buffer ID goes; with the driver
    // placing IDs in every descriptor (Linux) the first ID store is in the chain's first slot.
    let ch = Chapter::get(5).unwrap();
    let part = &ch.parts[0];
    let cp = part.checkpoints.iter().find(|c| c.id == "id-slot").unwrap();
    let Lesson::Scenario { name, scenario } = part.lesson(5, 0).unwrap() else {
        panic!("chapter 5 part 1 is a scenario")
    };
    let truth = |s: &Scenario| {
        let session = s.session().unwrap();
        cp.truth(Subject::Scenario {
            name: &name,
            scenario: s,
            session: &session,
        })
        .unwrap()
        .value
    };
    assert_eq!(truth(&scenario), Expected::Number(1.0));
    let mut every = scenario.clone();
    every.engine.driver.id_placement = ringside_core::behaviour::IdPlacement::Every;
    assert_eq!(truth(&every), Expected::Number(0.0));
}

#[test]
fn a_checkpoint_that_does_not_fit_its_run_is_an_error_not_an_answer() {
    let ch = Chapter::get(1).unwrap();
    let Lesson::Scenario { name, scenario } = ch.parts[0].lesson(1, 0).unwrap() else {
        panic!()
    };
    let session = scenario.session().unwrap();
    let subject = Subject::Scenario {
        name: &name,
        scenario: &scenario,
        session: &session,
    };
    let mut cp = ch.parts[0].checkpoints[0].clone();
    cp.at = ringside_core::tutorial::At::Step(99);
    assert!(
        cp.truth(subject)
            .unwrap_err()
            .to_string()
            .contains("not a window")
    );
    // An access the window does not make.
    let mut cp = ch.parts[0].checkpoints[0].clone();
    cp.answer = ringside_core::tutorial::Question::Index {
        agent: ringside_core::memory::Agent::Device,
        kind: ringside_core::memory::AccessKind::Store,
        field: "avail.ring[*]".into(),
    };
    assert!(
        cp.truth(subject)
            .unwrap_err()
            .to_string()
            .contains("no device Store")
    );
}

#[test]
fn the_pages_in_docs_tutorial_are_what_the_chapters_generate() {
    let dir = repo().join("docs/tutorial");
    let pages = markdown::pages().unwrap();
    if std::env::var_os("RINGSIDE_BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &pages {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
    let mut stale = Vec::new();
    for (name, text) in &pages {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(t) if &t == text => {}
            _ => stale.push(name.clone()),
        }
    }
    assert!(
        stale.is_empty(),
        "docs/tutorial is stale: {stale:?}; regenerate with `ringside tutorial --markdown docs/tutorial` \
         (or RINGSIDE_BLESS=1 cargo test -p ringside-core --test tutorial)"
    );
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .collect();
    on_disk.sort();
    let mut generated: Vec<String> = pages.iter().map(|p| p.0.clone()).collect();
    generated.sort();
    assert_eq!(
        on_disk, generated,
        "docs/tutorial has pages no chapter generates"
    );
    // Every page shows a computed answer for every checkpoint of its chapter.
    for (ch, (file, _)) in Chapter::all().unwrap().iter().zip(CHAPTERS) {
        let page = &pages
            .iter()
            .find(|p| p.0 == markdown::page_name(file))
            .unwrap()
            .1;
        let answers = page.matches("Answer (computed by ringside)").count();
        assert_eq!(answers, ch.checkpoints().count(), "{file}");
    }
}

#[test]
fn the_trace_chapter_replays_a_capture_that_exists_and_names_its_edit() {
    let readme = std::fs::read_to_string(repo().join("traces/README.md")).unwrap();
    for t in ringside_core::tutorial::TRACES {
        let on_disk = std::fs::read(repo().join(t.path)).unwrap();
        assert_eq!(on_disk, t.log, "{} differs from what is embedded", t.path);
        for (path, bytes) in t.qmp.into_iter().chain(t.guest) {
            let on_disk = std::fs::read(repo().join(path)).unwrap();
            assert_eq!(on_disk, bytes, "{path} differs from what is embedded");
        }
        let dir = Path::new(t.path)
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            readme.contains(&format!("`{dir}/`")),
            "traces/README.md does not describe {dir}"
        );
    }
    let ch = Chapter::get(10).unwrap();
    assert!(ch.parts.iter().any(|p| matches!(p.run, Source::Trace(_))));
    assert!(
        ch.parts[0].intro.contains("documented edit"),
        "the chapter must say the trace was edited"
    );
}

/// `key=value` of a guest ftrace line.
fn guest_field(line: &str, key: &str) -> u64 {
    let at = line.find(&format!(" {key}=")).unwrap() + key.len() + 2;
    line[at..].split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn a_driver_question_reads_the_guest_trace_beside_the_device_side() {
    // Chapter 10's joined part asks both sides at the line the VM stopped; the driver's
    // answer must be what its probe printed (read here from the text), not QEMU's count.
    let ch = Chapter::get(10).unwrap();
    let (pi, part) = ch
        .parts
        .iter()
        .enumerate()
        .find(|(_, p)| matches!(&p.run, Source::Trace(n) if n == "held-read"))
        .expect("chapter 10 has a joined part");
    let Lesson::Trace(t) = part.lesson(10, pi).unwrap() else {
        panic!("a trace part")
    };
    let session = t.session();
    assert!(session.join().is_some(), "the part opens joined");
    let cp = |id: &str| part.checkpoints.iter().find(|c| c.id == id).unwrap();
    let truth = |id: &str| cp(id).truth(Subject::Trace(&session)).unwrap();
    let reaped = truth("driver-reaped");
    let used = truth("device-used");
    // Each answer's evidence names the guest line whose shadow it read.
    let guest = std::fs::read_to_string(repo().join(t.guest.unwrap().0)).unwrap();
    let probed = |truth: &ringside_core::tutorial::Truth| -> String {
        let n: usize = truth
            .evidence
            .split("guest line ")
            .nth(1)
            .unwrap()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let line = guest.lines().nth(n - 1).unwrap().to_string();
        assert!(line.contains("name=\"req.0\""), "{line}");
        line
    };
    let line = probed(&reaped);
    assert_eq!(
        reaped.value.number(),
        Some(guest_field(&line, "last_used") as f64),
        "{line}"
    );
    let published = truth("published");
    let line = probed(&published);
    assert_eq!(
        published.value.number(),
        Some(guest_field(&line, "avail_idx_shadow") as f64),
        "{line}"
    );
    // The two sides disagree on used there: the device had used entries the driver had not
    // reaped when the VM stopped.
    assert!(
        reaped.value.number() < used.value.number(),
        "{reaped:?} {used:?}"
    );
    // Without the guest's trace the question cannot be answered: an error, not a number.
    let alone = ringside_core::trace::TraceSession::new(
        ringside_core::trace::Capture::new(ringside_core::trace::TraceStore::from_bytes(
            t.log, t.path,
        )),
        &ringside_core::trace::ReplayOptions::default(),
    );
    let e = cp("driver-reaped")
        .truth(Subject::Trace(&alone))
        .unwrap_err();
    assert!(e.to_string().contains("guest driver's trace"), "{e}");
}

#[test]
fn every_shipped_scenario_name_a_chapter_uses_is_embedded() {
    for ch in Chapter::all().unwrap() {
        for l in &ch.links {
            if let ringside_core::tutorial::Link::Scenario(n) = l {
                assert!(
                    EMBEDDED.iter().any(|(e, _)| e == n),
                    "chapter {} links {n}",
                    ch.number
                );
            }
        }
    }
}
