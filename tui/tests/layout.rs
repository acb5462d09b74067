//! Layout by priority, painted on a TestBackend at the sizes people use (80x24, 120x40, 160x50,
//! 220x60): no word is ever shown in part, no pane vanishes on a large queue, the ring scrolls
//! around the cursor, the help reaches its end.

use std::collections::HashSet;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ringside_core::command::{Command, Dir, Key, KeyPress, PaneId};
use ringside_core::face::controller::Controller;
use ringside_core::face::controller::scenario::ScenarioUi;
use ringside_core::face::controller::trace::TraceUi;
use ringside_core::face::screen::{Rect, Screen, Size};
use ringside_core::scenario::Scenario;
use ringside_tui::app::{Theme, paint};

const SIZES: [(u16, u16); 4] = [(80, 24), (120, 40), (160, 50), (220, 60)];

fn scenario(name: &str) -> ScenarioUi {
    ScenarioUi::with_scenario(name, Scenario::embedded(name).unwrap()).unwrap()
}

fn trace(dir: &str) -> TraceUi {
    let d = format!("../traces/{dir}");
    let p = |f: &str| std::path::PathBuf::from(format!("{d}/{f}"));
    let capture = ringside_tui::files::capture(
        &p("trace.log"),
        &ringside_tui::files::Beside {
            qmp: Some(&p("qmp.jsonl")),
            rings: Some(&p("rings")),
            ..Default::default()
        },
    )
    .unwrap();
    TraceUi::new(capture)
}

/// The painted text of one rectangle, row by row.
fn rows(t: &Terminal<TestBackend>, r: Rect) -> Vec<String> {
    let b = t.backend().buffer();
    (r.y..r.y + r.height)
        .map(|y| {
            (r.x..r.x + r.width)
                .map(|x| b[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect()
}

fn paint_at(ui: &mut dyn Controller, w: u16, h: u16) -> (Screen, Terminal<TestBackend>) {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    let s = ui.screen(Size::new(w, h));
    t.draw(|f| paint(f, &s, &Theme::new(true))).unwrap();
    (s, t)
}

fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split_whitespace()
}

/// Every word a pane can show: its lines when it has a huge screen to itself.
fn vocabulary(ui: &mut dyn Controller, p: PaneId) -> HashSet<String> {
    ui.apply(Command::FocusPane(p));
    ui.apply(Command::Zoom);
    let s = ui.screen(Size::new(1000, 1200));
    ui.apply(Command::Zoom);
    let mut words = HashSet::new();
    for pane in &s.panes {
        words.extend(tokens(&pane.title).map(str::to_string));
        for l in &pane.lines {
            words.extend(tokens(&l.text()).map(str::to_string));
        }
    }
    for bar in [&s.header, &s.status, &s.hints] {
        words.extend(tokens(&bar.text()).map(str::to_string));
    }
    words
}

/// Scroll marks and counts a fitted pane adds: `↑12`, `↓230`, `+2`, `↓ 7 more (e zooms)`.
fn is_fit_mark(w: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    ["↑", "↓", "+"]
        .iter()
        .any(|m| w.strip_prefix(m).is_some_and(digits))
        || ["↓", "more", "(e", "zooms)"].contains(&w)
        || digits(w)
}

/// Paints `ui` at every size with every pane focused and checks each visible word against the
/// pane's vocabulary: a word cut by the layout is not in it.
fn no_cut_words(name: &str, ui: &mut dyn Controller, panes: &[PaneId]) {
    let mut vocab: HashSet<String> = HashSet::new();
    for &p in panes {
        vocab.extend(vocabulary(ui, p));
    }
    for (w, h) in SIZES {
        for &focus in panes {
            ui.apply(Command::FocusPane(focus));
            let (s, t) = paint_at(ui, w, h);
            for pane in &s.panes {
                // The timeline's lanes are a window of glyphs, not words.
                if pane.id == PaneId::Timeline {
                    continue;
                }
                let title = rows(
                    &t,
                    Rect::new(pane.area.x + 1, pane.area.y, pane.area.width - 2, 1),
                );
                for (k, row) in rows(&t, pane.area.inner()).iter().chain(&title).enumerate() {
                    for word in tokens(row) {
                        let word = word.trim_matches(|c| c == '─' || c == '│');
                        assert!(
                            word.is_empty() || vocab.contains(word) || is_fit_mark(word),
                            "{name} at {w}x{h}, focus {focus:?}: pane {:?} row {k} shows `{word}`, a word cut short:\n{row}",
                            pane.id
                        );
                    }
                }
            }
            for bar in [s.header.area, s.status.area, s.hints.area] {
                for row in rows(&t, bar) {
                    for word in tokens(&row) {
                        assert!(
                            vocab.contains(word) || is_fit_mark(word),
                            "{name} at {w}x{h}: bar shows `{word}`"
                        );
                    }
                }
            }
        }
    }
}

fn go(ui: &mut dyn Controller, ops: usize) {
    for _ in 0..ops {
        ui.apply(Command::Op(Dir::Forward));
    }
}

#[test]
fn no_word_is_cut_at_any_size_in_any_pane() {
    for (name, ops) in [
        ("tutorial-split-basics", 4),
        ("split-unbatched", 40),
        ("pow2-cache", 12),
        ("packed-out-of-order", 8),
        ("negotiation-features-ok-refused", 1),
    ] {
        let mut ui = scenario(name);
        go(&mut ui, ops);
        no_cut_words(name, &mut ui, &PaneId::ALL);
    }
    let mut ui = scenario("tutorial-split-basics");
    ui.apply(Command::Compare(None));
    go(&mut ui, 5);
    no_cut_words("compare", &mut ui, &PaneId::ALL);
    let mut ui = trace("split-wrap");
    ui.apply(Command::GotoLine(3000));
    no_cut_words(
        "split-wrap trace",
        &mut ui,
        &[
            PaneId::Ring,
            PaneId::Narration,
            PaneId::Findings,
            PaneId::Memory,
            PaneId::Timeline,
        ],
    );
}

#[test]
fn no_pane_vanishes_on_a_large_queue() {
    for name in ["split-unbatched", "pow2-cache"] {
        for (w, h) in [(160, 50), (220, 60)] {
            let mut ui = scenario(name);
            go(&mut ui, 30);
            let s = ui.screen(Size::new(w, h));
            for p in [
                PaneId::Ring,
                PaneId::Narration,
                PaneId::Cache,
                PaneId::Memory,
                PaneId::Findings,
                PaneId::Timeline,
            ] {
                assert!(s.pane(p).is_some(), "{name} at {w}x{h}: no {p:?} pane");
            }
            let ring = s.pane(PaneId::Ring).unwrap();
            assert!(
                ring.area.height <= h * 2 / 5 + 1,
                "{name}: the ring grew to {} rows",
                ring.area.height
            );
        }
    }
}

#[test]
fn every_pane_is_one_key_away_and_shows_when_focused() {
    for (w, h) in SIZES {
        let mut ui = scenario("split-unbatched");
        go(&mut ui, 30);
        let s = ui.screen(Size::new(w, h));
        let hidden: Vec<PaneId> = PaneId::ALL
            .into_iter()
            .filter(|p| s.pane(*p).is_none())
            .collect();
        let hint = s.hints.text();
        for p in &hidden {
            let key = (PaneId::ALL.iter().position(|q| q == p).unwrap() + 1).to_string();
            assert!(
                hint.contains(&key) && hint.contains("more panes"),
                "{w}x{h}: {hint}"
            );
        }
        for p in PaneId::ALL {
            ui.key(KeyPress::ch(char::from(
                b'1' + PaneId::ALL.iter().position(|q| *q == p).unwrap() as u8,
            )));
            let s = ui.screen(Size::new(w, h));
            let pane = s
                .pane(p)
                .unwrap_or_else(|| panic!("{w}x{h}: {p:?} focused but not shown"));
            assert!(pane.focused);
            let least = if p == PaneId::Timeline { 4 } else { 5 };
            assert!(
                pane.area.height >= least,
                "{w}x{h}: {p:?} has {} rows",
                pane.area.height
            );
        }
    }
}

/// The row of the ring pane whose slot column reads `slot`.
fn slot_row(s: &Screen, slot: u16) -> Option<String> {
    s.pane(PaneId::Ring)?
        .lines
        .iter()
        .map(|l| l.text())
        .find(|t| t.split_whitespace().next() == Some(&slot.to_string()))
}

#[test]
fn the_ring_scrolls_around_the_cursor() {
    let mut ui = scenario("packed-unbatched");
    // Deep into the run: the driver is well past the first screenful of slots.
    go(&mut ui, 600);
    let step = ui.session().position().step;
    let touched = ui.session().log()[..step as usize]
        .iter()
        .rev()
        .find_map(|a| match a.field {
            ringside_core::memory::Field::Desc { index, .. } => Some(index),
            _ => None,
        })
        .unwrap();
    assert!(touched > 40, "slot {touched}");
    let s = ui.screen(Size::new(160, 50));
    let ring = s.pane(PaneId::Ring).unwrap();
    assert!(
        slot_row(&s, touched).is_some(),
        "slot {touched} not shown:\n{:#?}",
        ring.lines.iter().map(|l| l.text()).collect::<Vec<_>>()
    );
    let head = ring.lines[0].text();
    assert!(
        head.contains('↑') && head.contains('↓'),
        "no scroll hint: {head}"
    );
    // A selection moves the window to it.
    ui.apply(Command::Select {
        pane: PaneId::Ring,
        item: ringside_core::command::Item::Slot(3),
    });
    let s = ui.screen(Size::new(160, 50));
    assert!(slot_row(&s, 3).is_some());
    assert!(slot_row(&s, touched).is_none());
    // Esc goes back to following the cursor.
    ui.apply(Command::Escape);
    ui.apply(Command::Escape);
    assert!(slot_row(&ui.screen(Size::new(160, 50)), touched).is_some());
}

#[test]
fn a_refused_condition_lists_every_name_it_knows() {
    // `op` with a bad name answers with the list of every op and kind: at 80 columns it wraps
    // onto the status rows instead of being cut.
    let mut ui = scenario("tutorial-split-basics");
    ui.apply(Command::Prompt(ringside_core::command::PromptKind::Break));
    for c in "op nosuchop".chars() {
        ui.key(KeyPress::ch(c));
    }
    ui.key(KeyPress::plain(Key::Enter));
    let (s, t) = paint_at(&mut ui, 80, 24);
    let shown = rows(&t, s.status.area).join(" ");
    assert!(s.status.area.height > 1, "{shown}");
    // The last name of the list (the last op kind) is on screen.
    for name in ["reclaim", "transport", "notify"] {
        assert!(shown.contains(name), "{name} missing from: {shown}");
    }
}

#[test]
fn help_scrolls_to_its_end_and_lists_the_palette() {
    let mut ui = scenario("tutorial-split-basics");
    ui.apply(Command::Help);
    for _ in 0..40 {
        ui.key(KeyPress::plain(Key::PageDown));
    }
    let (s, t) = paint_at(&mut ui, 160, 50);
    let o = s.overlay.unwrap();
    let text = rows(&t, o.area.inner()).join("\n");
    assert!(text.contains("Commands (type : first)"), "{text}");
    let last = ringside_core::command::PALETTE.last().unwrap().0;
    assert!(
        text.lines().any(|l| l.trim_start().starts_with(last)),
        "{text}"
    );
}

fn joined(dir: &str) -> TraceUi {
    let d = format!("../traces/{dir}");
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

#[test]
fn joined_traces_cut_no_word_in_their_panes() {
    // Both sides' view and the buffer's path join the trace panes; at the real faults'
    // findings, where they hold the most text.
    let panes = [
        PaneId::Ring,
        PaneId::Narration,
        PaneId::Findings,
        PaneId::Transport,
        PaneId::Cache,
        PaneId::Timeline,
    ];
    for (name, code) in [
        ("guest-ioerror", "buffer-held"),
        ("dpdk-stall", "added-unpopped"),
    ] {
        let mut ui = joined(name);
        let c = ringside_core::command::Condition::parse(&format!("finding {code}")).unwrap();
        let step = ui.hits(&c)[0];
        ui.apply(Command::Goto(step));
        no_cut_words(name, &mut ui, &panes);
        // Each of those panes is one key away and shows when focused.
        for (w, h) in SIZES {
            for p in panes {
                ui.apply(Command::FocusPane(p));
                let s = ui.screen(Size::new(w, h));
                assert!(
                    s.pane(p).is_some(),
                    "{name} at {w}x{h}: {p:?} focused, not shown"
                );
            }
        }
    }
}
