//! The page, driven natively through egui_kittest (no GPU): keys, clicks and dropped files
//! go in as egui input, and what the page shows is read back from its accessibility tree
//! (each pane, each line of text, the tool bar's labels) and its published state.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use egui::{Event, Key, Modifiers, PointerButton, Pos2};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use ringside_core::command::{Command, Item, PaneId};
use ringside_web::WebApp;
use ringside_web::files::{NoStore, Store};
use ringside_web::native::NativeHost;

fn page(fragment: Option<&str>) -> Harness<'static, WebApp> {
    let app = WebApp::new(
        Box::new(NativeHost::new(fragment.map(String::from))),
        Rc::new(NoStore),
    );
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut WebApp| app.ui(ui), app);
    h.run();
    h
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// A file dropped on the page, as egui hands it over.
#[derive(Debug)]
struct Dropped {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.path
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        Ok(self.bytes.clone())
    }
}

fn drop_files(h: &mut Harness<'static, WebApp>, files: &[(&str, Vec<u8>)]) {
    for (name, bytes) in files {
        h.input_mut().dropped_files.push(Arc::new(Dropped {
            path: PathBuf::from(name),
            bytes: bytes.clone(),
        }));
    }
    h.run();
}

/// Whether some node's label or value contains `text`: panes and lines are labelled, egui's
/// own labels carry their text as the value.
fn shows(h: &Harness<'static, WebApp>, text: &str) -> bool {
    h.query_all_by(|n| {
        n.label().is_some_and(|l| l.contains(text)) || n.value().is_some_and(|v| v.contains(text))
    })
    .next()
    .is_some()
}

#[track_caller]
fn assert_shows(h: &Harness<'static, WebApp>, text: &str) {
    assert!(
        shows(h, text),
        "nothing shows {text:?}; the page:\n{}",
        h.state().screen().map(|s| s.text()).unwrap_or_default()
    );
}

fn typed(h: &mut Harness<'static, WebApp>, text: &str) {
    h.event(Event::Text(text.into()));
    h.run();
}

fn step(h: &Harness<'static, WebApp>) -> u64 {
    h.state().state().step
}

/// The centre of the first cell of the screen target whose command this is.
fn target(h: &Harness<'static, WebApp>, cmd: &Command) -> Pos2 {
    let app = h.state();
    let screen = app.screen().expect("a screen was painted");
    let t = screen
        .targets
        .iter()
        .find(|t| &t.command == cmd)
        .unwrap_or_else(|| panic!("no target for {cmd:?}"));
    let grid = app.grid().expect("a grid");
    grid.pos(t.area.x, t.area.y) + grid.cell * 0.5
}

fn click_at(h: &mut Harness<'static, WebApp>, pos: Pos2) {
    h.event(Event::PointerMoved(pos));
    for pressed in [true, false] {
        h.event(Event::PointerButton {
            pos,
            button: PointerButton::Primary,
            pressed,
            modifiers: Modifiers::NONE,
        });
    }
    h.run();
}

#[test]
fn the_page_opens_on_the_course_and_the_keys_step_it() {
    let mut h = page(None);
    let s = h.state().state().clone();
    assert_eq!(s.open, "chapter-1/1");
    assert_eq!(s.step, 0);
    assert_shows(&h, &format!("0 / {}", s.end));
    assert_shows(&h, " step 0/");
    h.key_press(Key::ArrowRight);
    h.run();
    assert_eq!(step(&h), 1);
    assert_shows(&h, " step 1/");
    assert_shows(&h, &format!("1 / {}", s.end));
    assert!(!shows(&h, " step 0/"));
    typed(&mut h, "l");
    assert_eq!(step(&h), 2);
    h.key_press(Key::ArrowLeft);
    h.run();
    assert_eq!(step(&h), 1);
    // Shift+L types "L": a whole op, several micro steps.
    h.key_press_modifiers(Modifiers::SHIFT, Key::L);
    typed(&mut h, "L");
    assert!(step(&h) > 2, "{}", step(&h));
    // The course stops at its first question, before the step it asks about, and takes the
    // answer from the keys; answered, End goes on (to the next question or the end).
    h.key_press(Key::End);
    h.run();
    let asked = step(&h);
    assert!(asked < s.end);
    assert_shows(
        &h,
        "Question: The driver is about to add a chain of two descriptors",
    );
    typed(&mut h, "2");
    assert_shows(&h, "your answer: 2");
    h.key_press(Key::Enter);
    h.run();
    assert!(!shows(&h, "your answer: 2"));
    h.key_press(Key::End);
    h.run();
    assert!(step(&h) > asked, "{} after {asked}", step(&h));
}

/// The page cannot quit, so `q` there says how to leave; but where the keys go to something
/// open, `q` is what it is there: a letter in the `:` palette or an answer, and the key that
/// closes help.
#[test]
fn q_closes_help_and_is_a_letter_in_a_prompt() {
    const LEAVE: &str = "here, close the tab";
    let mut h = page(Some("open=split-unbatched&step=3"));
    typed(&mut h, "?");
    assert!(h.state().state().help);
    typed(&mut h, "q");
    assert!(!h.state().state().help, "q closes help");
    assert!(!shows(&h, LEAVE));
    typed(&mut h, ":");
    typed(&mut h, "goq");
    assert_shows(&h, "goq");
    assert!(!shows(&h, LEAVE));
    h.key_press(Key::Escape);
    h.run();
    typed(&mut h, "q");
    assert_shows(&h, LEAVE);
}

#[test]
fn tab_and_digits_move_the_focus_and_space_plays() {
    let mut h = page(None);
    assert_shows(&h, "▶1 ring");
    h.key_press(Key::Tab);
    h.run();
    assert_eq!(
        h.state().state().focus.as_deref(),
        Some("▶2 cache lines (model)")
    );
    typed(&mut h, "6");
    assert_shows(&h, "▶6 timeline");
    assert!(!shows(&h, "▶1 ring"));
    // Playing repaints by itself: a few frames at a time.
    h.event(Event::Text(" ".into()));
    h.run_steps(3);
    assert!(h.state().state().playing.is_some());
    h.get_by_label("■ pause");
    h.event(Event::Text(" ".into()));
    h.run_steps(3);
    assert!(h.state().state().playing.is_none());
    h.get_by_label("▶ play");
}

#[test]
fn the_buttons_and_the_screen_take_clicks() {
    let mut h = page(Some("open=split-unbatched&step=30"));
    // The text panes alone, so every pane has room.
    h.get_by_label("Hide pictures").click();
    h.run();
    h.get_by_label("▶").click();
    h.run();
    assert_eq!(step(&h), 31);
    h.get_by_label("◀").click();
    h.get_by_label("◀").click();
    h.run();
    assert_eq!(step(&h), 29);
    // A click on a slot of the ring selects it; the link keeps the selection.
    let slot = Command::Select {
        pane: PaneId::Ring,
        item: Item::Slot(3),
    };
    let pos = target(&h, &slot);
    click_at(&mut h, pos);
    assert!(
        h.state().state().link.contains("&slot=3"),
        "{}",
        h.state().state().link
    );
    // A click elsewhere in a pane focuses it.
    let pos = target(&h, &Command::FocusPane(PaneId::Memory));
    click_at(&mut h, pos + egui::vec2(40.0, 40.0));
    assert_eq!(h.state().state().focus.as_deref(), Some("▶3 memory"));
    h.get_by_label("Help").click();
    h.run();
    assert!(h.state().state().help);
    assert_shows(&h, "micro step forward: one load or store");
    h.key_press(Key::Escape);
    h.run();
    assert!(!h.state().state().help);
}

#[test]
fn a_slot_shows_its_owner() {
    // split-unbatched at step 36: the driver has published buffer 0 (avail.idx 1), so slot 0
    // is the device's until it returns it; at step 30 the driver was still writing it.
    let h = page(Some("open=split-unbatched&step=30"));
    let slot0 = |owner: &'static str| {
        move |n: &egui_kittest::kittest::AccessKitNode<'_>| {
            n.label()
                .is_some_and(|l| l.trim_start().starts_with("0  0x1000000") && l.contains(owner))
        }
    };
    h.get_by(slot0(" drv"));
    assert!(h.query_by(slot0(" dev")).is_none());
    let h = page(Some("open=split-unbatched&step=36"));
    h.get_by(slot0(" dev"));
    assert!(h.query_by(slot0(" drv")).is_none());
}

#[test]
fn the_wheel_moves_the_selection() {
    let mut h = page(Some("open=split-unbatched&step=30&slot=4"));
    h.event(Event::MouseWheel {
        unit: egui::MouseWheelUnit::Line,
        delta: egui::vec2(0.0, -2.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Wheel,
        modifiers: Modifiers::NONE,
    });
    h.run();
    assert!(
        h.state().state().link.contains("&slot=6"),
        "{}",
        h.state().state().link
    );
}

#[test]
fn the_palette_opens_with_colon_and_ctrl_k() {
    let mut h = page(Some("open=split-unbatched&step=0"));
    h.key_press_modifiers(Modifiers::CTRL, Key::K);
    h.run();
    assert!(
        h.state().state().status.starts_with(':'),
        "{}",
        h.state().state().status
    );
    typed(&mut h, "goto 7");
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(step(&h), 7);
    typed(&mut h, ":link");
    // The copy is in the output of the frame that handled the key (one event, one frame).
    h.event(Event::Key {
        key: Key::Enter,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: Modifiers::NONE,
    });
    h.step();
    let copied: Vec<String> = h
        .output()
        .platform_output
        .commands
        .iter()
        .filter_map(|c| match c {
            egui::OutputCommand::CopyText(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(copied, ["#open=split-unbatched&step=7"]);
    h.run();
    assert_shows(&h, "link copied: #open=split-unbatched&step=7");
}

#[test]
fn a_link_opens_at_its_step_and_a_bad_one_falls_back_with_a_note() {
    let h = page(Some("#open=packed-wrap&step=25&marks=10&pane=cache&zoom=1"));
    let s = h.state().state();
    assert_eq!((s.open.as_str(), s.step), ("packed-wrap", 25));
    assert_eq!(s.panes, ["▶2 cache lines (model)"]);
    assert_shows(&h, " step 25/");
    assert_shows(&h, "marks 10");
    assert_eq!(
        s.link,
        "open=packed-wrap&step=25&marks=10&pane=cache&zoom=1"
    );

    let h = page(Some("open=packed-wrap&step=ten"));
    let s = h.state().state();
    assert_eq!((s.open.as_str(), s.step), ("chapter-1/1", 0));
    assert_shows(
        &h,
        "The link could not be opened, so this is the start page. bad link: `step=ten`: `ten` is not a step number",
    );

    let h = page(Some("open=packed-wrap&step=900000"));
    assert_eq!(h.state().state().open, "chapter-1/1");
    assert_shows(&h, "bad link: `step=900000`: past the end");
}

#[test]
fn a_link_to_a_local_file_waits_for_that_file() {
    let mut h = page(Some("file=mine.ron&step=5&pane=memory"));
    assert_eq!(h.state().state().open, "chapter-1/1");
    assert_shows(&h, "open from the sender's disk");
    let text = std::fs::read(repo("scenarios/talk/packed-wrap.ron")).unwrap();
    drop_files(&mut h, &[("mine.ron", text)]);
    let s = h.state().state();
    assert_eq!((s.open.as_str(), s.step, s.local), ("mine.ron", 5, true));
    assert_eq!(s.focus.as_deref(), Some("▶3 memory"));
    assert_eq!(s.note, None);
}

#[test]
fn a_dropped_qemu_trace_replays() {
    let mut h = page(None);
    let log = std::fs::read(repo("traces/split-default/trace.log")).unwrap();
    drop_files(&mut h, &[("trace.log", log)]);
    let s = h.state().state().clone();
    assert_eq!((s.open.as_str(), s.local, s.step), ("trace.log", true, 0));
    assert!(s.end > 100, "{}", s.end);
    assert_eq!(s.status, "opened trace.log");
    assert_eq!(s.error, None);
    h.key_press(Key::End);
    h.run();
    assert_eq!(step(&h), s.end);
    assert_shows(&h, &format!("event {}/{}", s.end, s.end));
}

#[test]
fn a_bad_file_shows_its_located_error_and_keeps_the_view() {
    let mut h = page(None);
    h.key_press(Key::ArrowRight);
    h.run();
    let bad = std::fs::read(repo("scenarios/invalid/unknown-op.ron")).unwrap();
    drop_files(&mut h, &[("unknown-op.ron", bad)]);
    // The located text the file's own header comment gives (the CLI prints the same).
    assert_shows(
        &h,
        "cannot open unknown-op.ron: unknown-op.ron:6:35: unknown name `Kik` in `Op`",
    );
    let s = h.state().state();
    assert!(s.error.as_deref().unwrap().contains("did you mean `Kick`?"));
    assert_eq!((s.open.as_str(), s.step), ("chapter-1/1", 1));
    h.get_by_label("Dismiss").click();
    h.run();
    assert_eq!(h.state().state().error, None);
}

#[test]
fn the_open_menu_lists_the_tutorial_and_the_scenarios() {
    let mut h = page(None);
    h.get_by_label("Open ▾").click();
    h.run();
    h.get_by_label_contains("5.1 ").click();
    h.run();
    let s = h.state().state();
    assert!(
        s.open.starts_with("chapter-5/1") || s.open == "packed-unbatched",
        "{}",
        s.open
    );
    h.get_by_label("Open ▾").click();
    h.run();
    let entry = h.get_by_label_contains("split-vs-packed  —");
    entry.scroll_to_me();
    h.run();
    h.get_by_label_contains("split-vs-packed  —").click();
    h.run();
    assert_eq!(h.state().state().open, "split-vs-packed");
}

#[test]
fn a_capture_dropped_as_many_files_opens_as_one() {
    let dir = repo("traces/split-default");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("rings"))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files.push((
        "qmp.jsonl".into(),
        std::fs::read(dir.join("qmp.jsonl")).unwrap(),
    ));
    files.push((
        "trace.log".into(),
        std::fs::read(dir.join("trace.log")).unwrap(),
    ));
    let texts = |files: &[(String, Vec<u8>)]| {
        let mut h = page(None);
        let refs: Vec<(&str, Vec<u8>)> =
            files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
        drop_files(&mut h, &refs);
        h.key_press(Key::End);
        h.run();
        let s = h.state().state().clone();
        assert_eq!((s.open.as_str(), s.error), ("trace.log", None));
        (s.status, h.state().screen().unwrap().panes.clone())
    };
    let (status, all) = texts(&files);
    assert!(status.starts_with("opened trace.log with "), "{status}");
    assert!(status.contains("qmp.jsonl"), "{status}");
    let (_, alone) = texts(&files[files.len() - 1..]);
    // The QMP transcript and the dumps change what the panes say.
    assert_ne!(all, alone);
}

#[test]
fn the_pictures_show_owners_take_clicks_and_hover() {
    let mut h = page(Some("open=split-unbatched&step=36"));
    assert!(h.state().state().pictures);
    assert_shows(&h, "split ring, 256 slots");
    // Slot 0 of the descriptor table belongs to the device once buffer 0 is published.
    h.get_by_label("desc[0], owned by the device");
    assert!(!shows(&h, "desc[0], owned by the driver"));
    // A click on a slot selects it in every pane (the link keeps it).
    h.get_by_label("desc[5], owned by nobody").click();
    h.run();
    assert!(
        h.state().state().link.contains("&slot=5"),
        "{}",
        h.state().state().link
    );
    // Hovering shows its fields.
    h.get_by_label("desc[0], owned by the device").hover();
    h.run();
    assert_shows(&h, "addr 0x1000000");
    // Hidden, the panel is gone and the grid takes the width.
    let cols = h.state().state().cols;
    h.get_by_label("Hide pictures").click();
    h.run();
    assert!(!h.state().state().pictures);
    assert!(h.state().state().cols > cols);
}

#[test]
fn the_packed_ring_is_a_circle_with_both_sides_positions() {
    let h = page(Some("open=packed-wrap&step=60"));
    assert_shows(&h, "packed ring, 8 slots");
    assert_shows(&h, "descriptor ring");
    // Both sides' positions, each with its wrap counter, on the slots the text pane names.
    assert_shows(&h, "driver next avail (wrap ");
    assert_shows(&h, "device next avail (wrap ");
    h.get_by_label("desc[0], owned by the device");
}

/// Local storage in memory: what the page keeps survives a reload that shares it.
#[derive(Default)]
struct MemStore(std::cell::RefCell<std::collections::BTreeMap<String, Vec<u8>>>);

impl ringside_web::files::Store for MemStore {
    fn load(&self, _: &str) -> Option<Vec<u8>> {
        None
    }
    fn save(&self, _: &str, _: &[u8]) -> Result<(), String> {
        Ok(())
    }
    fn keep(&self, key: &str, bytes: &[u8]) -> Result<(), String> {
        self.0.borrow_mut().insert(key.to_string(), bytes.to_vec());
        Ok(())
    }
    fn kept(&self, key: &str) -> Option<Vec<u8>> {
        self.0.borrow().get(key).cloned()
    }
}

fn page_with(store: Rc<MemStore>, fragment: &str) -> Harness<'static, WebApp> {
    let app = WebApp::new(Box::new(NativeHost::new(Some(fragment.to_string()))), store);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut WebApp| app.ui(ui), app);
    h.run();
    h
}

/// The browser cannot run `ringside bench`: the cache pane says how to make a result; a
/// dropped bench.json shows its measured time next to the model's misses for the same
/// configuration, is kept in local storage for the next visit, and a corrupt one shows where
/// it is broken.
#[test]
fn a_dropped_bench_result_shows_next_to_the_model_and_is_kept() {
    let store = Rc::new(MemStore::default());
    let at = "open=split-unbatched&step=30&pane=cache&zoom=1";
    let mut h = page_with(store.clone(), at);
    assert_shows(&h, "no bench result saved: run `ringside bench --save`");
    let saved = std::fs::read(repo("core/tests/fixtures/bench.json")).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&saved).unwrap();
    let split = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["layout"] == "split" && r["batch"] == 1)
        .unwrap();
    let ns = format!("{:.1} ns/buffer", split["ns_per_buffer"].as_f64().unwrap());
    let misses = format!(
        "{:.2} misses/buffer",
        split["model_misses_per_buffer"].as_f64().unwrap()
    );
    drop_files(&mut h, &[("bench.json", saved.clone())]);
    assert_eq!(h.state().state().error, None);
    assert_eq!(
        h.state().state().open,
        "split-unbatched",
        "the scenario stays open"
    );
    let measured = format!("measured split 256, batch 1, outstanding 1, poll, CPUs 0+1: {ns}");
    assert_shows(&h, &measured);
    assert_shows(&h, &format!("model    same configuration: {misses}"));
    assert!(!shows(&h, "no bench result saved"));
    assert_eq!(store.kept("bench").as_deref(), Some(saved.as_slice()));

    // The next visit recalls it.
    let h = page_with(store.clone(), at);
    assert_shows(&h, &measured);

    // A corrupt one is refused with the place it breaks; the kept one stays.
    let mut h = page_with(store.clone(), at);
    let cut = saved[..300].to_vec();
    let line = String::from_utf8_lossy(&cut).lines().count();
    drop_files(&mut h, &[("bench.json", cut)]);
    let error = h.state().state().error.clone().unwrap_or_default();
    assert!(error.contains(&format!("bench.json:{line}:")), "{error}");
    assert_shows(&h, &measured);
    assert_eq!(store.kept("bench").as_deref(), Some(saved.as_slice()));
}

/// The labels of the drawn nodes that satisfy `keep`.
fn labels(h: &Harness<'static, WebApp>, keep: impl Fn(&str) -> bool) -> Vec<String> {
    h.query_all_by(|n| n.label().is_some_and(|l| keep(&l)))
        .filter_map(|n| n.accesskit_node().label())
        .collect()
}

/// The step an event node's label names (`… at step N[, on the buffer's path]`).
fn step_of(label: &str) -> u64 {
    let rest = label.rsplit_once(" at step ").unwrap().1;
    rest.split(',').next().unwrap().parse().unwrap()
}

/// guest-split's QEMU trace and guest driver trace dropped together open as one joined
/// capture; its timeline is drawn with both lanes, the driver's events on one and the
/// device's on the other, kicks and interrupts between them and the followed buffer's path
/// through both; a click on an event moves the cursor to its step.
#[test]
fn a_joined_capture_draws_both_lanes_and_a_click_moves_the_cursor() {
    let mut h = page(None);
    let dir = repo("traces/guest-split");
    drop_files(
        &mut h,
        &[
            ("trace.log", std::fs::read(dir.join("trace.log")).unwrap()),
            (
                "guest-trace.txt",
                std::fs::read(dir.join("guest-trace.txt")).unwrap(),
            ),
        ],
    );
    let s = h.state().state().clone();
    assert_eq!((s.open.as_str(), s.error), ("trace.log", None));
    assert_eq!(s.status, "opened trace.log with guest-trace.txt");
    // At a blk request's pop (trace line 700, then the queue's next event): the driver's add
    // and kick before it, the device's fill after.
    typed(&mut h, ":line 700");
    h.key_press(Key::Enter);
    h.run();
    h.key_press_modifiers(Modifiers::SHIFT, Key::ArrowRight);
    h.run();
    let at = step(&h);
    assert!(h.state().state().pictures);
    assert_shows(&h, "joined timeline: ");
    assert_eq!(labels(&h, |l| l.starts_with("driver lane: ")).len(), 1);
    assert_eq!(labels(&h, |l| l.starts_with("device lane: ")).len(), 1);
    let driver = labels(&h, |l| l.starts_with("driver: "));
    let device = labels(&h, |l| l.starts_with("device: "));
    assert!(
        !driver.is_empty() && !device.is_empty(),
        "{driver:?} {device:?}"
    );
    // Both sides of one buffer: the path runs through events of both lanes.
    let path = labels(&h, |l| l.ends_with(", on the buffer's path"));
    assert!(
        path.iter().any(|l| l.starts_with("driver: "))
            && path.iter().any(|l| l.starts_with("device: ")),
        "{path:?}"
    );
    assert!(
        !labels(&h, |l| l.starts_with("kick (")
            || l.starts_with("interrupt ("))
        .is_empty(),
        "no notification drawn"
    );
    assert_shows(&h, &format!("cursor at step {at}"));
    // A click on a device event elsewhere goes there.
    let other = device
        .iter()
        .find(|l| step_of(l) != at)
        .expect("another device event")
        .clone();
    h.get_by_label(&other).click();
    h.run();
    assert_eq!(step(&h), step_of(&other), "{other}");
    assert_shows(&h, &format!("cursor at step {}", step_of(&other)));
    // Hovering an event shows its name, step and host time.
    let driver_event = labels(&h, |l| l.starts_with("driver: ") && l.contains(" at step "))
        .first()
        .expect("a driver event")
        .clone();
    h.get_by_label(&driver_event).hover();
    h.run();
    assert_shows(&h, &format!("step {}", step_of(&driver_event)));
    assert_shows(&h, "host time ");
}

/// A course part draws its run's rings like the scenario does by itself: the course pane
/// sits over the run's screen, the pictures come with it.
#[test]
fn a_course_part_draws_its_rings() {
    let mut h = page(None);
    assert_eq!(h.state().state().open, "chapter-1/1");
    // Past the negotiation: the queue exists.
    h.key_press_modifiers(Modifiers::SHIFT, Key::ArrowRight);
    typed(&mut h, "L");
    assert!(h.state().state().pictures);
    assert_shows(&h, "split ring, 8 slots");
    h.get_by_label("desc[0], owned by nobody");
}

/// The L1 picture says how to read it: its key names the ways a set holds before it
/// overflows.
#[test]
fn the_l1_picture_has_its_key() {
    let h = page(Some("open=chapter-6/1&step=30"));
    assert!(h.state().state().pictures);
    assert_shows(&h, "L1 sets and ways");
    assert_shows(&h, "a column per set, set 0 on the left");
    assert_shows(&h, "past the 8 ways, a set overflows");
}

/// Walks the whole course in the page, from the start page to the end of chapter 10, with
/// the keys a learner presses (End to run to the next question or the part's end, the answer
/// typed and Enter, `]` for the next part). A second course controller, driven with the same
/// commands, supplies the engine's answer to each question and checks that the page is where
/// it should be. Returns how many questions the page asked.
fn walk_the_course(right: bool) -> usize {
    use ringside_core::face::controller::Controller;
    use ringside_core::face::controller::tutorial::{PROGRESS_KEY, TutorialUi};
    use ringside_core::tutorial::Progress;
    use ringside_core::tutorial::progress::Outcome;

    let store = Rc::new(MemStore::default());
    let mut h = page_with(store.clone(), "");
    let mut shadow = TutorialUi::resume(Progress::default(), None).unwrap();
    let mut asked = 0;
    for _ in 0..10_000 {
        if shadow.progress().complete() {
            break;
        }
        let s = h.state().state().clone();
        // The page runs the same part (its link names the part's run) at the same step.
        let link = ringside_core::face::link::Link::parse(&s.link).unwrap();
        assert_eq!(
            link.open,
            shadow.link().open,
            "{shadow_place:?}",
            shadow_place = shadow.place()
        );
        assert_eq!(Some(s.step), shadow.cursor(), "in {}", s.open);
        if let Some(cp) = shadow.asking().cloned() {
            assert_shows(&h, "Question:");
            let truth = shadow
                .truth()
                .unwrap()
                .clone()
                .expect("the engine answers it");
            let given = if right {
                truth.value.to_string()
            } else {
                truth.value.wrong_example()
            };
            typed(&mut h, &given);
            h.key_press(Key::Enter);
            h.run();
            for c in given.chars() {
                shadow.key(ringside_core::command::KeyPress::ch(c));
            }
            shadow.key(ringside_core::command::KeyPress::plain(
                ringside_core::command::Key::Enter,
            ));
            let verdict = if right { "✓ Right" } else { "✗ Not" };
            assert!(
                shows(&h, verdict),
                "{} in {}: the page does not show {verdict:?} after `{given}`:\n{}",
                cp.id,
                s.open,
                h.state().screen().map(|s| s.text()).unwrap_or_default()
            );
            if !right {
                // The wrong answer focuses the pane that shows the truth.
                let screen = h.state().screen().unwrap();
                let focus = screen.panes.iter().find(|p| p.focused).map(|p| p.id);
                assert_eq!(focus, Some(truth.pane), "{}: the focused pane", cp.id);
            }
            asked += 1;
            continue;
        }
        let before = (shadow.place(), shadow.cursor());
        h.key_press(Key::End);
        h.run();
        shadow.apply(Command::Last);
        if shadow.asking().is_none() && (shadow.place(), shadow.cursor()) == before {
            typed(&mut h, "]");
            shadow.apply(Command::Part(ringside_core::command::Dir::Forward));
        }
    }
    assert!(shadow.progress().complete(), "the walk did not finish");
    // What the page kept in local storage is the finished course with every answer marked.
    let kept = store
        .kept(PROGRESS_KEY)
        .expect("the page keeps the progress");
    let kept = Progress::parse(std::str::from_utf8(&kept).unwrap()).unwrap();
    assert!(kept.complete(), "the page's progress is not complete");
    let want = if right {
        Outcome::Right
    } else {
        Outcome::Wrong
    };
    for ch in ringside_core::tutorial::Chapter::all().unwrap() {
        for cp in ch.parts.iter().flat_map(|p| &p.checkpoints) {
            let a = kept.answered(ch.number, &cp.id);
            assert_eq!(a.map(|a| &a.outcome), Some(&want), "{}", cp.id);
        }
    }
    asked
}

fn course_questions() -> usize {
    ringside_core::tutorial::Chapter::all()
        .unwrap()
        .iter()
        .flat_map(|c| &c.parts)
        .map(|p| p.checkpoints.len())
        .sum()
}

#[test]
fn the_whole_course_walked_in_the_page_answering_right() {
    assert_eq!(walk_the_course(true), course_questions());
}

#[test]
fn the_whole_course_walked_in_the_page_answering_wrong() {
    assert_eq!(walk_the_course(false), course_questions());
}
