//! Painting one frame of a 1024-entry ring at 200x60, and one step plus repaint.

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ringside_core::command::{Command, Dir};
use ringside_core::config::EngineConfig;
use ringside_core::face::controller::Controller;
use ringside_core::face::controller::scenario::ScenarioUi;
use ringside_core::face::screen::Size;
use ringside_core::features::Features;
use ringside_core::layout::RingKind;
use ringside_core::op::Op;
use ringside_core::ring::{BufferSpec, Pick};
use ringside_core::scenario::{Scenario, Step};
use ringside_tui::app::{Theme, paint};

fn big(kind: RingKind) -> ScenarioUi {
    let buf = BufferSpec {
        readable: vec![16],
        writable: vec![512],
        indirect: false,
    };
    let round = vec![
        Op::Add {
            buffer: buf,
            count: 256,
        },
        Op::Publish,
        Op::Kick,
        Op::Pop { max: None },
        Op::Complete {
            count: 256,
            pick: Pick::Oldest,
            written: Some(64),
        },
        Op::PublishUsed,
        Op::Interrupt,
        Op::Reclaim { max: None },
    ];
    let ops = [
        Op::Negotiate,
        Op::Repeat {
            times: 8,
            ops: round,
        },
    ];
    let scenario = Scenario {
        title: "bench: 1024-entry ring".into(),
        chapter: None,
        description: String::new(),
        engine: EngineConfig::simple(kind, 1024, Features::EVENT_IDX),
        steps: ops.into_iter().map(|op| Step { op, say: None }).collect(),
        cache: Default::default(),
        expect: Vec::new(),
    };
    ScenarioUi::with_scenario("bench", scenario).unwrap()
}

fn bench(c: &mut Criterion) {
    for kind in [RingKind::Split, RingKind::Packed] {
        let mut ui = big(kind);
        // Stand in the middle of the run, a mark behind, so every change level is exercised.
        let mid = ui.session().len() / 2;
        ui.apply(Command::Goto(mid - 5000));
        ui.apply(Command::Mark);
        ui.apply(Command::Goto(mid));
        let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
        let theme = Theme::new(true);
        let size = Size::new(200, 60);
        c.bench_function(&format!("paint {kind} 1024 at 200x60"), |b| {
            b.iter(|| {
                let screen = ui.screen(size);
                term.draw(|f| {
                    paint(f, &screen, &theme);
                })
                .unwrap();
            })
        });
        let mut forward = true;
        c.bench_function(&format!("step + paint {kind} 1024 at 200x60"), |b| {
            b.iter(|| {
                // Alternate so the cursor stays in place over any number of iterations.
                let d = if forward { Dir::Forward } else { Dir::Back };
                forward = !forward;
                ui.apply(Command::Step(d));
                let screen = ui.screen(size);
                term.draw(|f| {
                    paint(f, &screen, &theme);
                })
                .unwrap();
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
