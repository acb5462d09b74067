//! App-side frame time of the browser app at 1280x800: core building the screen and the page
//! painting it (egui layout and tessellation; the GPU upload is the browser's), for a
//! 1024-entry packed ring and a 32768-entry split ring, stood in the middle of a run with a
//! mark behind. "step + frame" is what a key press costs: the key goes in, core steps, the
//! screen is rebuilt and painted; "screen" is core's part alone.

use std::rc::Rc;

use criterion::{Criterion, criterion_group, criterion_main};
use egui::{Event, Key, Modifiers, Pos2, RawInput, Rect, vec2};
use ringside_core::command::Command;
use ringside_core::face::app::App;
use ringside_core::face::controller::scenario::ScenarioUi;
use ringside_core::face::screen::Size;
use ringside_core::scenario::Scenario;
use ringside_web::WebApp;
use ringside_web::files::{NoStore, PageFiles};
use ringside_web::native::NativeHost;

/// A ring of `size` entries under `rounds` rounds of `batch` buffers each way.
fn ring(layout: &str, size: u32, batch: u32, rounds: u32) -> App {
    let packed = if layout == "Packed" {
        ", \"RING_PACKED\""
    } else {
        ""
    };
    let text = format!(
        r#"Scenario(
    title: "bench: {size}-entry {layout} ring",
    engine: (
        queue: (layout: {layout}, size: {size}),
        device_features: ["VERSION_1", "EVENT_IDX"{packed}],
        driver_features: ["VERSION_1", "EVENT_IDX"{packed}],
    ),
    steps: [
        (op: Negotiate),
        (op: Repeat(times: {rounds}, ops: [
            Add(buffer: (readable: [16], writable: [512]), count: {batch}),
            Publish, Kick, Pop(max: None), Complete(count: {batch}), PublishUsed, Interrupt,
            Reclaim(max: None),
        ])),
    ],
)"#
    );
    let scenario = Scenario::parse("bench.ron", &text).expect("the bench scenario parses");
    let ui = ScenarioUi::with_scenario("bench.ron", scenario).expect("the bench scenario runs");
    App::new(Box::new(ui), Box::new(PageFiles::new(Rc::new(NoStore))))
}

fn input(events: Vec<Event>) -> RawInput {
    RawInput {
        screen_rect: Some(Rect::from_min_size(Pos2::ZERO, vec2(1280.0, 800.0))),
        events,
        ..RawInput::default()
    }
}

fn key(k: Key) -> Event {
    Event::Key {
        key: k,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: Modifiers::NONE,
    }
}

/// One frame of the page: egui's pass and the tessellation of what it painted.
fn frame(ctx: &egui::Context, page: &mut WebApp, events: Vec<Event>) -> usize {
    let mut out = ctx.run_ui(input(events), |ui| page.ui(ui));
    out.textures_delta.clear();
    ctx.tessellate(out.shapes, out.pixels_per_point).len()
}

fn bench(c: &mut Criterion) {
    for (name, layout, size, batch, rounds) in [
        ("packed 1024", "Packed", 1024, 256, 8),
        ("split 32768", "Split", 32768, 1024, 4),
    ] {
        let mut app = ring(layout, size, batch, rounds);
        let mid = app.end() / 2;
        app.apply(Command::Goto(mid - 2000));
        app.apply(Command::Mark);
        app.apply(Command::Goto(mid));
        let mut page = WebApp::new(Box::new(NativeHost::new(None)), Rc::new(NoStore));
        page.show(app);
        let ctx = egui::Context::default();
        for _ in 0..3 {
            frame(&ctx, &mut page, Vec::new());
        }
        let cells = page.screen().map_or(Size::new(0, 0), |s| s.size);
        let mut forward = true;
        c.bench_function(
            &format!(
                "web {name}: step + frame at 1280x800 ({}x{} cells)",
                cells.cols, cells.rows
            ),
            |b| {
                b.iter(|| {
                    forward = !forward;
                    let k = if forward {
                        Key::ArrowRight
                    } else {
                        Key::ArrowLeft
                    };
                    frame(&ctx, &mut page, vec![key(k)])
                })
            },
        );
        c.bench_function(&format!("web {name}: frame, nothing changed"), |b| {
            b.iter(|| {
                frame(
                    &ctx,
                    &mut page,
                    vec![Event::PointerMoved(Pos2::new(600.0, 400.0))],
                )
            })
        });
        let mut app = ring(layout, size, batch, rounds);
        app.apply(Command::Goto(mid));
        c.bench_function(&format!("web {name}: core screen alone"), |b| {
            b.iter(|| app.screen(cells))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
