//! Key screens painted on a TestBackend: insta snapshots of the text, and explicit style
//! assertions where colour carries meaning.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use ringside_core::command::{Command, Dir, PaneId};
use ringside_core::face::controller::Controller;
use ringside_core::face::controller::scenario::ScenarioUi;
use ringside_core::face::controller::trace::TraceUi;
use ringside_core::face::screen::Size;
use ringside_core::memory::Field;
use ringside_tui::app::{Theme, paint};

fn screen(ui: &mut ScenarioUi, w: u16, h: u16, color: bool) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    let s = ui.screen(Size::new(w, h));
    t.draw(|f| {
        paint(f, &s, &Theme::new(color));
    })
    .unwrap();
    t.backend().buffer().clone()
}

fn text(b: &Buffer) -> String {
    let w = b.area.width as usize;
    b.content
        .chunks(w)
        .map(|row| {
            row.iter()
                .map(|c| c.symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The cell where `needle` starts on the first line containing it (after `after` on that line).
fn find(b: &Buffer, needle: &str, after: &str) -> (u16, u16) {
    let t = text(b);
    for (y, line) in t.lines().enumerate() {
        if let Some(a) = line.find(after) {
            let chars_before_a = line[..a].chars().count();
            if let Some(x) = line[a..].find(needle) {
                let x = chars_before_a + line[a..a + x].chars().count();
                return (x as u16, y as u16);
            }
        }
    }
    panic!("`{needle}` after `{after}` not on screen:\n{t}");
}

fn at_publish(ui: &mut ScenarioUi) {
    let s = ui
        .session()
        .log()
        .iter()
        .find(|a| a.field == Field::AvailIdx)
        .unwrap()
        .step;
    ui.apply(Command::Goto(s));
    ui.apply(Command::Step(Dir::Forward));
}

#[test]
fn tutorial_start_80x24() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    insta::assert_snapshot!(text(&screen(&mut ui, 80, 24, true)));
}

#[test]
fn after_publish_200x60() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    at_publish(&mut ui);
    insta::assert_snapshot!(text(&screen(&mut ui, 200, 60, true)));
}

#[test]
fn help_overlay_100x30() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    ui.apply(Command::Help);
    insta::assert_snapshot!(text(&screen(&mut ui, 100, 30, true)));
}

#[test]
fn compare_split_and_packed_160x40() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    ui.apply(Command::Compare(None));
    for _ in 0..3 {
        ui.apply(Command::Op(Dir::Forward));
    }
    insta::assert_snapshot!(text(&screen(&mut ui, 160, 40, true)));
}

#[test]
fn ownership_and_changes_are_coloured() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    at_publish(&mut ui);
    let b = screen(&mut ui, 200, 60, true);
    // Descriptor 0 now belongs to the device: its owner tag is in the device colour.
    let (x, y) = find(&b, "dev", "0x0001 N··");
    assert_eq!(b[(x, y)].fg, Color::LightMagenta);
    // avail.idx just changed: strong highlight.
    let (x, y) = find(&b, "1", "idx ");
    assert_eq!(b[(x, y)].bg, Color::Yellow, "{}", text(&b));
    assert!(b[(x, y)].modifier.contains(Modifier::BOLD));
    // A free descriptor is dim.
    let (x, y) = find(&b, " - ", "0x0000 ···");
    assert!(b[(x + 1, y)].modifier.contains(Modifier::DIM));
}

#[test]
fn no_color_keeps_meaning_in_modifiers() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    at_publish(&mut ui);
    let b = screen(&mut ui, 200, 60, false);
    assert!(
        b.content
            .iter()
            .all(|c| c.fg == Color::Reset && c.bg == Color::Reset)
    );
    let (x, y) = find(&b, "1", "idx ");
    assert!(b[(x, y)].modifier.contains(Modifier::REVERSED));
    // The owner is still written out.
    find(&b, "dev", "0x0001 N··");
}

#[test]
fn clicks_select_slots_and_focus_panes() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    ui.apply(Command::Last);
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let s = ui.screen(Size::new(120, 40));
    t.draw(|f| paint(f, &s, &Theme::new(true))).unwrap();
    let b = t.backend().buffer().clone();
    let (x, y) = find(&b, "   3", "│");
    let cmd = s.command_at(x + 3, y).unwrap();
    assert_eq!(
        cmd,
        Command::Select {
            pane: PaneId::Ring,
            item: ringside_core::command::Item::Slot(3)
        }
    );
    let (x, y) = find(&b, "narration", "");
    let cmd = s.command_at(x, y + 1).unwrap();
    assert_eq!(cmd, Command::FocusPane(PaneId::Narration));
}

fn trace_screen(ui: &mut TraceUi, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    let s = ui.screen(Size::new(w, h));
    t.draw(|f| {
        paint(f, &s, &Theme::new(true));
    })
    .unwrap();
    t.backend().buffer().clone()
}

fn split_wrap() -> TraceUi {
    // Relative to the crate (cargo runs tests there), so the header is the same on any machine.
    let d = "../traces/split-wrap";
    let qmp = format!("{d}/qmp.jsonl");
    let rings = format!("{d}/rings");
    let capture = ringside_tui::files::capture(
        std::path::Path::new(&format!("{d}/trace.log")),
        &ringside_tui::files::Beside {
            qmp: Some(std::path::Path::new(&qmp)),
            rings: Some(std::path::Path::new(&rings)),
            ..Default::default()
        },
    )
    .unwrap();
    TraceUi::new(capture)
}

#[test]
fn trace_split_wrap_160x45() {
    let mut ui = split_wrap();
    ui.apply(Command::GotoLine(3000));
    ui.apply(Command::Mark);
    ui.apply(Command::Op(Dir::Forward));
    ui.apply(Command::Op(Dir::Forward));
    let b = trace_screen(&mut ui, 160, 45);
    insta::assert_snapshot!(text(&b));
}

#[test]
fn trace_counters_that_changed_are_highlighted() {
    let mut ui = split_wrap();
    // A blk pop: its pops and inuse change at this event.
    let c = ringside_core::command::Condition::parse("blk0.q0.inuse > 0").unwrap();
    ui.apply(Command::Break(c));
    ui.apply(Command::Continue(Dir::Forward));
    let b = trace_screen(&mut ui, 120, 40);
    let t = text(&b);
    let y = t.lines().position(|l| l.contains("blk0.q0")).unwrap() as u16;
    let x = t.lines().nth(y as usize).unwrap().find("blk0.q0").unwrap() as u16;
    let strong = (x..x + 60)
        .filter(|&x| b[(x, y)].bg == Color::Yellow)
        .count();
    assert!(strong > 0, "{t}");
    // The other queues did not change.
    let y = t.lines().position(|l| l.contains("rng0.q0")).unwrap() as u16;
    assert!((0..120).all(|x| b[(x, y)].bg != Color::Yellow));
}

#[test]
fn trace_fits_80x24() {
    let mut ui = split_wrap();
    ui.apply(Command::Last);
    let t = text(&trace_screen(&mut ui, 80, 24));
    for pane in ["queues", "event", "findings", "events per queue", "blk0.q0"] {
        assert!(t.contains(pane), "{pane}:\n{t}");
    }
}

#[test]
fn focused_cache_pane_is_usable_at_80x24() {
    let mut ui = ScenarioUi::tutorial().unwrap();
    ui.apply(Command::Last);
    ui.apply(Command::FocusPane(PaneId::Cache));
    let b = screen(&mut ui, 80, 24, true);
    let t = text(&b);
    let top = t.lines().position(|l| l.contains("2 cache lines")).unwrap();
    let bottom = t
        .lines()
        .skip(top + 1)
        .position(|l| l.starts_with('└'))
        .unwrap();
    // Summary, sets, heading and at least five lines of the ring's cache lines.
    assert!(bottom >= 8, "cache pane has {bottom} inner rows:\n{t}");
    assert!(t.contains("line       drv dev xfer fields"), "{t}");
    insta::assert_snapshot!(t);
}

#[test]
fn odd_traces_and_tiny_terminals_do_not_panic() {
    use ringside_core::trace::{Capture, TraceStore};
    for data in [
        &b""[..],
        b"garbage \xff\x00\n",
        b"virtqueue_pop vq 0x1 elem 0x2 in_num 1 out_num 1\nvirtqueue_flush vq 0x1 count 9\n",
    ] {
        let mut ui = TraceUi::new(Capture::new(TraceStore::from_bytes(data, "odd")));
        for cmd in [
            Command::Step(Dir::Forward),
            Command::Op(Dir::Forward),
            Command::Op(Dir::Back),
            Command::Move(5),
            Command::Last,
            Command::GotoLine(u64::MAX),
            Command::Continue(Dir::Back),
            Command::Search("x".into()),
            Command::FocusPane(PaneId::Cache),
            Command::Zoom,
        ] {
            ui.apply(cmd);
            for (w, h) in [(1, 1), (20, 6), (80, 24), (200, 60)] {
                trace_screen(&mut ui, w, h);
            }
        }
    }
}

#[test]
fn ground_truth_findings_are_marked_apart_from_detections() {
    // A stall is known only to ringside's audit: its row says `truth`, dimmed; a finding the
    // device reads in the ring (QEMU's "Looped descriptor") carries no such mark.
    let sc = ringside_core::scenario::Scenario::embedded("missed-kick-no-recheck").unwrap();
    let mut ui = ScenarioUi::with_scenario("missed-kick-no-recheck", sc).unwrap();
    for c in [
        Command::Last,
        Command::FocusPane(PaneId::Findings),
        Command::Zoom,
    ] {
        ui.apply(c);
    }
    let b = screen(&mut ui, 160, 24, true);
    let (x, y) = find(&b, "truth stall: ", "error");
    assert!(b[(x, y)].modifier.contains(Modifier::DIM), "{}", text(&b));
    let sc = ringside_core::scenario::Scenario::embedded("split-loop").unwrap();
    let mut ui = ScenarioUi::with_scenario("split-loop", sc).unwrap();
    for c in [
        Command::Last,
        Command::FocusPane(PaneId::Findings),
        Command::Zoom,
    ] {
        ui.apply(c);
    }
    let t = text(&screen(&mut ui, 160, 24, false));
    assert!(t.contains("looped-descriptor: Looped descriptor"), "{t}");
    assert!(!t.contains("truth looped-descriptor"), "{t}");
}

/// A capture with the guest driver's trace (and DPDK's log) beside QEMU's.
fn joined(name: &str) -> TraceUi {
    let d = format!("../traces/{name}");
    let p = |f: &str| std::path::PathBuf::from(format!("{d}/{f}"));
    let (qmp, guest, dpdk) = (p("qmp.jsonl"), p("guest-trace.txt"), p("dpdk.log"));
    let capture = ringside_tui::files::capture(
        &p("trace.log"),
        &ringside_tui::files::Beside {
            qmp: Some(&qmp),
            guest: Some(&guest),
            dpdk: dpdk.exists().then_some(dpdk.as_path()),
            ..Default::default()
        },
    )
    .unwrap();
    TraceUi::new(capture)
}

/// The step of the first finding with this code.
fn finding_step(ui: &TraceUi, code: &str) -> u64 {
    let c = ringside_core::command::Condition::parse(&format!("finding {code}")).unwrap();
    ui.hits(&c)[0]
}

#[test]
fn joined_guest_ioerror_at_the_held_read_120x40() {
    // The real fault: the device popped the read that failed, QEMU stopped the VM with it in
    // flight. The cursor on that pop: both sides' view and the buffer's path across the stop.
    let mut ui = joined("guest-ioerror");
    let s = finding_step(&ui, "buffer-held");
    ui.apply(Command::Goto(s));
    let b = trace_screen(&mut ui, 120, 40);
    let t = text(&b);
    assert!(
        t.contains("buffer path") && t.contains("both sides of the ring"),
        "{t}"
    );
    assert!(t.contains("stopped 3.08 s of it"), "{t}");
    insta::assert_snapshot!(t);
}

#[test]
fn joined_dpdk_stall_following_a_buffer_80x24() {
    // The real fault: testpmd stopped, the transmit ring fills with no kick. Following the
    // first buffer added after the stop.
    let mut ui = joined("dpdk-stall");
    let s = finding_step(&ui, "added-unpopped");
    ui.apply(Command::Goto(s));
    let b = trace_screen(&mut ui, 80, 24);
    insta::assert_snapshot!(text(&b));
}

#[test]
fn joined_split_path_on_the_lanes_160x50() {
    // guest-split as captured, at a blk request's pop: the lanes show the driver's add and
    // kick above, QEMU's pop below, the path emphasised.
    let mut ui = joined("guest-split");
    ui.apply(Command::GotoLine(700));
    ui.apply(Command::Op(Dir::Forward));
    let b = trace_screen(&mut ui, 160, 50);
    let t = text(&b);
    // The path's glyphs are painted emphasised on the lanes (the cursor's own pop has the
    // cursor's look): the device lane's fill (the lane row, not the queue table's) and the
    // driver lane's add.
    let lane = |label: &str| {
        t.lines()
            .position(|l| l.starts_with(&format!("│{label} ")) && !l.contains("split"))
            .unwrap() as u16
    };
    let emphasised = |y: u16, glyph: &str| {
        (0..b.area.width).any(|x| {
            let c = &b[(x, y)];
            c.symbol() == glyph
                && c.modifier
                    .intersects(Modifier::REVERSED | Modifier::UNDERLINED)
        })
    };
    assert!(emphasised(lane("blk0.q0"), "c"), "{t}");
    assert!(emphasised(lane("req.0"), "A"), "{t}");
    insta::assert_snapshot!(t);
}
