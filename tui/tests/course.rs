//! The course in the terminal's test harness: every chapter walked to its end through the
//! controller the TUI runs, each screen painted on a TestBackend, every checkpoint answered
//! right in one walk and wrong in another.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ringside_core::command::{Command, Dir, Key, KeyPress, PaneId};
use ringside_core::face::controller::Controller;
use ringside_core::face::controller::tutorial::TutorialUi;
use ringside_core::face::screen::{Screen, Size};
use ringside_core::tutorial::progress::Outcome;
use ringside_core::tutorial::{Chapter, Progress};
use ringside_tui::app::{Theme, paint};

fn painted(ui: &mut TutorialUi) -> (Screen, String) {
    let mut t = Terminal::new(TestBackend::new(140, 45)).unwrap();
    let s = ui.screen(Size::new(140, 45));
    t.draw(|f| paint(f, &s, &Theme::new(true))).unwrap();
    let b = t.backend().buffer().clone();
    let text = b
        .content
        .chunks(140)
        .map(|r| r.iter().map(|c| c.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n");
    (s, text)
}

fn type_answer(ui: &mut TutorialUi, text: &str) {
    for c in text.chars() {
        ui.key(KeyPress::ch(c));
    }
    ui.key(KeyPress::plain(Key::Enter));
}

/// Walks the whole course; returns how many questions were asked.
fn walk(right: bool) -> usize {
    let mut ui = TutorialUi::list(Progress::default(), None).unwrap();
    let (_, text) = painted(&mut ui);
    assert!(text.contains("1. What a virtqueue is"), "{text}");
    ui.key(KeyPress::plain(Key::Enter));
    let mut asked = 0;
    for _ in 0..10_000 {
        if ui.progress().complete() {
            break;
        }
        let (_, text) = painted(&mut ui);
        if let Some(cp) = ui.asking().cloned() {
            let (chapter, _) = ui.place().unwrap();
            assert!(text.contains("Question:"), "{text}");
            let truth = ui.truth().unwrap().clone().expect("the engine answers it");
            let given = if right {
                truth.value.to_string()
            } else {
                truth.value.wrong_example()
            };
            type_answer(&mut ui, &given);
            assert!(ui.asking().is_none(), "{}: `{given}` was not taken", cp.id);
            let (s, text) = painted(&mut ui);
            let lesson = s.pane(PaneId::Lesson).unwrap();
            let first = lesson
                .lines
                .iter()
                .map(|l| l.text())
                .find(|t| t.starts_with('✓') || t.starts_with('✗'))
                .unwrap_or_else(|| panic!("{}: no verdict:\n{text}", cp.id));
            let a = ui.progress().answered(chapter, &cp.id).unwrap();
            if right {
                assert_eq!(a.outcome, Outcome::Right, "{}", cp.id);
                assert!(first.starts_with("✓ Right"), "{}: {first}", cp.id);
            } else {
                assert_eq!(a.outcome, Outcome::Wrong, "{}", cp.id);
                assert!(first.starts_with("✗ Not"), "{}: {first}", cp.id);
                // The wrong answer points at the pane that shows the truth, and focuses it.
                let shown = s.panes.iter().find(|p| p.focused).map(|p| p.id);
                assert!(
                    shown == Some(truth.pane),
                    "{}: the {:?} pane should have the focus:\n{text}",
                    cp.id,
                    truth.pane
                );
                assert!(first.contains(truth.pane.title()), "{}: {first}", cp.id);
            }
            asked += 1;
            continue;
        }
        let before = (ui.place(), ui.cursor());
        ui.apply(Command::Last);
        if ui.asking().is_none() && (ui.place(), ui.cursor()) == before {
            ui.apply(Command::Part(Dir::Forward));
        }
    }
    assert!(
        ui.progress().complete(),
        "the walk did not finish the course"
    );
    asked
}

fn checkpoints() -> usize {
    Chapter::all()
        .unwrap()
        .iter()
        .map(|c| c.parts.iter().map(|p| p.checkpoints.len()).sum::<usize>())
        .sum()
}

#[test]
fn every_chapter_walked_with_every_question_answered_right() {
    assert_eq!(walk(true), checkpoints());
}

#[test]
fn every_chapter_walked_with_every_question_answered_wrong() {
    assert_eq!(walk(false), checkpoints());
}

#[test]
fn a_question_stops_a_jump_and_can_be_skipped() {
    let mut ui = TutorialUi::list(Progress::default(), None).unwrap();
    ui.apply(Command::Activate);
    // The first question of chapter 1 stops a jump to the end, before its step runs.
    ui.apply(Command::Last);
    let cp = ui.asking().cloned().expect("a question");
    let at = ui.cursor().unwrap();
    ui.apply(Command::Step(Dir::Forward));
    assert_eq!(ui.cursor(), Some(at), "stepping waits for the answer");
    ui.key(KeyPress::plain(Key::Esc));
    assert!(ui.asking().is_none());
    assert_eq!(
        ui.progress().answered(1, &cp.id).unwrap().outcome,
        Outcome::Skipped
    );
    let (_, text) = painted(&mut ui);
    assert!(
        text.contains("Question skipped") && text.contains("The answer was"),
        "{text}"
    );
    // An answer of the wrong kind is asked again, not counted.
    ui.apply(Command::Last);
    let next = ui.asking().cloned().expect("the next question");
    type_answer(&mut ui, "zzz-not-an-answer");
    assert_eq!(ui.asking().map(|c| c.id.clone()), Some(next.id.clone()));
    assert!(ui.progress().answered(1, &next.id).is_none());
}

#[test]
fn the_course_resumes_where_the_learner_left_off() {
    // The first chapter with two parts, its second part, some steps in.
    let ch = Chapter::all()
        .unwrap()
        .into_iter()
        .find(|c| c.parts.len() > 1)
        .unwrap();
    let mut p = Progress::default();
    for n in 1..ch.number {
        p.finish(n);
    }
    // Every question of the chapter answered, so nothing stops the resume on its way.
    for part in &ch.parts {
        for c in &part.checkpoints {
            p.skip(ch.number, &c.id);
        }
    }
    p.at.part = 1;
    p.at.step = 3;
    let ui = TutorialUi::resume(p, None).unwrap();
    assert_eq!(ui.place(), Some((ch.number, 1)));
    assert_eq!(ui.cursor(), Some(3));
}

#[test]
fn a_progress_warning_is_shown_once_on_the_list() {
    let mut ui =
        TutorialUi::list(Progress::default(), Some("progress.ron: 1:5: bad".into())).unwrap();
    let (_, text) = painted(&mut ui);
    assert!(text.contains("progress.ron: 1:5: bad"), "{text}");
    ui.apply(Command::Move(1));
    let (_, text) = painted(&mut ui);
    assert!(!text.contains("progress.ron"), "{text}");
}
