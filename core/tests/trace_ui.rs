//! The trace screen's frames on the real captures in traces/, checked against numbers counted
//! straight from the trace text (the way one would with grep), not through the importer.

mod common;

use ringside_core::command::{Command, Condition, Dir, PaneId};
use ringside_core::face::app::{App, Files};
use ringside_core::face::controller::Controller;
use ringside_core::face::controller::trace::TraceUi;
use ringside_core::face::screen::Size;
use ringside_core::trace::TraceStore;
use ringside_core::view::trace::{QUEUE_COLUMNS, QueueRow, TraceView};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../traces/");

fn open(name: &str) -> TraceUi {
    TraceUi::new(common::capture(name))
}

/// The disk, as a test's files.
struct Disk;

impl Files for Disk {
    fn read(&mut self, name: &str) -> Result<Vec<u8>, String> {
        std::fs::read(name).map_err(|e| e.to_string())
    }
    fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), String> {
        std::fs::write(name, bytes).map_err(|e| e.to_string())
    }
}

fn header(target: &str) -> Result<String, String> {
    let mut app = App::open(target, Box::new(Disk)).map_err(|e| e.to_string())?;
    Ok(app.screen(Size::new(120, 40)).header.text())
}

fn text(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}{name}/trace.log")).unwrap()
}

fn view(ui: &mut TraceUi) -> TraceView {
    ui.frame(80).view
}

fn cell(q: &QueueRow, col: &str) -> u64 {
    let i = QUEUE_COLUMNS.iter().position(|c| *c == col).unwrap();
    q.cells[i].text.parse().unwrap()
}

/// The `vq` pointer of queue `n` of device `vdev`, read from a kick line.
fn vq_of(text: &str, vdev: &str, n: u16) -> String {
    let needle = format!("virtio_queue_notify vdev {vdev} n {n} vq ");
    let line = text.lines().find(|l| l.contains(&needle)).unwrap();
    line.split(&needle).nth(1).unwrap().trim().to_string()
}

fn count(text: &str, needle: &str) -> u64 {
    text.lines().filter(|l| l.contains(needle)).count() as u64
}

#[test]
fn queue_counters_at_the_end_match_the_trace_text() {
    for name in ["split-wrap", "split-default", "packed"] {
        let t = text(name);
        let mut ui = open(name);
        ui.apply(Command::Last);
        let v = view(&mut ui);
        assert_eq!(
            v.header.steps,
            t.lines().filter(|l| !l.is_empty()).count() as u64
        );
        assert_eq!(v.header.step, v.header.steps);
        let blk = v.queues.iter().find(|q| q.name == "blk0.q0").unwrap();
        let vdev = blk.device.split('@').nth(1).unwrap();
        let vq = vq_of(&t, vdev, 0);
        assert_eq!(
            cell(blk, "pops"),
            count(&t, &format!("virtqueue_pop vq {vq} ")),
            "{name}"
        );
        assert_eq!(
            cell(blk, "fills"),
            count(&t, &format!("virtqueue_fill vq {vq} "))
        );
        assert_eq!(
            cell(blk, "flush"),
            count(&t, &format!("virtqueue_flush vq {vq} "))
        );
        assert_eq!(
            cell(blk, "kicks"),
            count(&t, &format!("virtio_queue_notify vdev {vdev} n 0 "))
        );
        // virtio_notify and virtio_notify_irqfd both print `vdev X vq Y`.
        assert_eq!(
            cell(blk, "irqs"),
            count(&t, &format!(" vdev {vdev} vq {vq}"))
        );
        assert!(blk.layout == if name == "packed" { "packed" } else { "split" });
    }
}

#[test]
fn goto_line_shows_that_line_raw_and_decoded() {
    let t = text("split-wrap");
    let mut ui = open("split-wrap");
    // The 500th line, whatever it is: the event pane shows it as QEMU printed it.
    ui.apply(Command::GotoLine(500));
    let v = view(&mut ui);
    let e = v.event.unwrap();
    assert_eq!(e.line, 500);
    assert_eq!(e.raw, t.lines().nth(499).unwrap());
    assert!(!e.fields.is_empty());
    assert_eq!(v.header.step, 500, "one event per line in this capture");
}

#[test]
fn shift_step_follows_the_selected_queue() {
    let t = text("split-wrap");
    let mut ui = open("split-wrap");
    let v = view(&mut ui);
    let sel = v.queues.iter().position(|q| q.selected).unwrap();
    // Select blk0.q0 with the keys' command, then walk its events.
    let blk = v.queues.iter().position(|q| q.name == "blk0.q0").unwrap();
    ui.apply(Command::FocusPane(PaneId::Ring));
    ui.apply(Command::Move(blk as i32 - sel as i32));
    let v = view(&mut ui);
    assert!(v.queues[blk].selected);
    let vdev = v.queues[blk].device.split('@').nth(1).unwrap().to_string();
    let vq = vq_of(&t, &vdev, 0);
    let on_blk: Vec<u64> = t
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(&format!("vq {vq}")))
        .map(|(i, _)| i as u64 + 1)
        .collect();
    let mut seen = Vec::new();
    for _ in 0..5 {
        ui.apply(Command::Op(Dir::Forward));
        seen.push(view(&mut ui).event.unwrap().line);
    }
    assert_eq!(seen, on_blk[..5]);
    ui.apply(Command::Op(Dir::Back));
    assert_eq!(view(&mut ui).event.unwrap().line, on_blk[3]);
}

#[test]
fn breakpoints_on_counters_events_and_notifications() {
    let t = text("split-wrap");
    let mut ui = open("split-wrap");
    let flushes = count(&t, "virtqueue_flush ");
    assert_eq!(
        ui.hits(&Condition::parse("event virtqueue_flush").unwrap())
            .len() as u64,
        flushes
    );
    assert_eq!(
        ui.hits(&Condition::parse("virtqueue_flush").unwrap()).len() as u64,
        flushes
    );
    // The spec's direction words: the driver notifies the device (a kick, QEMU's
    // virtio_queue_notify), the device notifies the driver (an interrupt, virtio_notify or
    // virtio_notify_irqfd).
    for kick in ["kick", "notify device"] {
        assert_eq!(
            ui.hits(&Condition::parse(kick).unwrap()).len() as u64,
            count(&t, "virtio_queue_notify "),
            "{kick}"
        );
    }
    for irq in ["interrupt", "notify driver"] {
        assert_eq!(
            ui.hits(&Condition::parse(irq).unwrap()).len() as u64,
            count(&t, "virtio_notify ") + count(&t, "virtio_notify_irqfd "),
            "{irq}"
        );
    }
    // inuse > 0 starts at a pop on that queue and ends at its flush.
    ui.apply(Command::Break(
        Condition::parse("blk0.q0.inuse > 0").unwrap(),
    ));
    ui.apply(Command::Continue(Dir::Forward));
    let v = view(&mut ui);
    let e = v.event.unwrap();
    assert!(e.raw.contains("virtqueue_pop"), "{}", e.raw);
    let blk = v.queues.iter().find(|q| q.name == "blk0.q0").unwrap();
    assert_eq!(cell(blk, "inuse"), 1);
    let first = v.header.step;
    ui.apply(Command::Continue(Dir::Forward));
    assert!(view(&mut ui).header.step > first);
    ui.apply(Command::Continue(Dir::Back));
    assert_eq!(view(&mut ui).header.step, first);
    // A queue that does not exist is refused, and so is a scenario-only condition.
    ui.apply(Command::Break(
        Condition::parse("blk7.q0.inuse > 0").unwrap(),
    ));
    ui.apply(Command::Break(Condition::parse("used.idx == 1").unwrap()));
    let f = ui.frame(80);
    assert_eq!(f.ui.breakpoints, vec!["blk0.q0.inuse > 0".to_string()]);
    assert!(f.ui.message.unwrap().error);
}

#[test]
fn findings_carry_lines_and_appear_when_reached() {
    // packed-wrap has line findings (checked by `ringside check`); whatever they are, each
    // appears exactly from its line on.
    let mut ui = open("packed-wrap");
    ui.apply(Command::Last);
    let all = view(&mut ui).findings;
    let lined: Vec<_> = all.iter().filter(|f| f.line.is_some()).collect();
    if let Some(f) = lined.first() {
        let line = f.line.unwrap();
        ui.apply(Command::GotoLine(line - 1));
        assert!(
            !view(&mut ui)
                .findings
                .iter()
                .any(|g| g.text == f.text && g.line == f.line)
        );
        ui.apply(Command::GotoLine(line));
        assert!(view(&mut ui).findings.iter().any(|g| g.text == f.text));
    }
    // Every finding is listed at the end, lined or not.
    assert_eq!(all.len(), ui.session().report().findings.len());
}

#[test]
fn ring_dumps_show_for_the_selected_queue() {
    let mut ui = open("split-wrap");
    ui.apply(Command::Last);
    let v = view(&mut ui);
    let r = v.ring.expect("split-wrap has dumps of every queue");
    let sel = v.queues.iter().find(|q| q.selected).unwrap();
    let want = sel.name.replace('.', "-");
    assert!(r.title.ends_with(&want), "{} vs {want}", r.title);
    assert!(r.lines.iter().any(|l| l.starts_with("avail: flags")));
}

#[test]
fn targets_open_as_scenarios_or_traces() {
    let trace = format!("{DIR}split-default/trace.log");
    let h = header(&trace).unwrap();
    assert!(h.contains(" event 0/"), "{h}");
    let name = ringside_core::scenario::EMBEDDED[0].0;
    let h = header(name).unwrap();
    assert!(h.contains(" step 0/"), "{h}");
    // A file that is neither: the scenario error.
    let readme = format!("{DIR}README.md");
    assert!(header(&readme).is_err());
}

#[test]
fn a_line_past_the_end_is_refused_and_the_cursor_stays() {
    let mut ui = open("split-wrap");
    ui.apply(Command::GotoLine(100));
    let at = view(&mut ui).header.step;
    ui.apply(Command::GotoLine(10_000_000));
    let f = ui.frame(80);
    assert_eq!(f.view.header.step, at);
    let m = f.ui.message.unwrap();
    assert!(
        m.error && m.text.contains("past the last event"),
        "{}",
        m.text
    );
}

#[test]
fn the_status_byte_is_decoded_in_the_event_pane() {
    let t = text("split-wrap");
    let n = t
        .lines()
        .position(|l| l.contains("virtio_set_status") && l.contains("val 15"))
        .unwrap() as u64
        + 1;
    let mut ui = open("split-wrap");
    ui.apply(Command::GotoLine(n));
    let e = view(&mut ui).event.unwrap();
    let val = e.fields.iter().find(|f| f.0 == "val").unwrap();
    assert_eq!(val.1, "15 (ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK)");
    assert!(e.raw.ends_with("val 15"), "{}", e.raw);
}

/// A capture's files as a person drops them on the page: in no particular order (ring dumps
/// first, the trace last), with a stray scenario among them.
fn dropped(name: &str) -> Vec<ringside_core::trace::NamedFile> {
    let d = common::dir(name);
    let mut v = common::files_of(&d.join("rings"));
    v.push(common::named(&d.join("qmp.jsonl")));
    v.push((
        "stray.ron".into(),
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scenarios/talk/packed-wrap.ron"
        ))
        .unwrap(),
    ));
    v.push(common::named(&d.join("trace.log")));
    v
}

#[test]
fn files_dropped_together_open_as_one_capture() {
    use ringside_core::face::app::open_files;
    let (name, mut c) = open_files(dropped("split-default"), &mut Disk).unwrap();
    assert!(name.ends_with("split-default/trace.log"), "{name}");
    // The same screens as the capture assembled by hand, QMP and ring dumps included...
    let mut by_hand = open("split-default");
    let trace_only = TraceUi::new(ringside_core::trace::Capture::new(common::store(
        "split-default",
    )));
    let mut trace_only: Box<dyn Controller> = Box::new(trace_only);
    let size = Size::new(160, 50);
    let mut differs = false;
    for step in [0, 300, 799] {
        c.apply(Command::Goto(step));
        by_hand.apply(Command::Goto(step));
        trace_only.apply(Command::Goto(step));
        let s = c.screen(size);
        assert_eq!(s.panes, by_hand.screen(size).panes, "step {step}");
        differs |= s.panes != trace_only.screen(size).panes;
    }
    // ...which the trace alone does not give.
    assert!(differs);
    // Two traces at once is an error that names both.
    let mut two = dropped("split-default");
    two.push(common::named(&common::dir("packed").join("trace.log")));
    let e = open_files(two, &mut Disk).err().unwrap().to_string();
    assert!(
        e.contains("split-default/trace.log") && e.contains("packed/trace.log"),
        "{e}"
    );
    // Without a trace, the first file that opens is shown.
    let (name, _) = open_files(dropped("split-default")[31..33].to_vec(), &mut Disk).unwrap();
    assert_eq!(name, "stray.ron");
}

/// The 1-based lines of `virtio_set_status vdev V val 0` after the device's last flush: the
/// resets that zeroed its indices for good (the guest's power-off), from the text.
fn final_resets(text: &str, vdev: &str, vq: &str) -> Vec<u64> {
    let lines: Vec<&str> = text.lines().collect();
    let last = lines
        .iter()
        .rposition(|l| l.contains(&format!("virtqueue_flush vq {vq} ")))
        .unwrap();
    (last..lines.len())
        .filter(|&i| lines[i].contains(&format!("virtio_set_status vdev {vdev} val 0")))
        .map(|i| i as u64 + 1)
        .collect()
}

#[test]
fn indices_zeroed_by_the_power_off_reset_say_so_and_where() {
    let t = text("split-default");
    let mut ui = open("split-default");
    ui.apply(Command::Last);
    let v = view(&mut ui);
    let blk = v.queues.iter().find(|q| q.name == "blk0.q0").unwrap();
    assert_eq!((cell(blk, "l.avail"), cell(blk, "used")), (0, 0));
    assert!(cell(blk, "pops") > 0);
    let vdev = blk.device.split('@').nth(1).unwrap();
    let resets = final_resets(&t, vdev, &vq_of(&t, vdev, 0));
    let note = v
        .notes
        .iter()
        .find(|n| n.contains("blk0.q0"))
        .expect("a note on blk0.q0's zeroes");
    assert!(
        resets.iter().any(|l| note.contains(&l.to_string())),
        "{note} (resets at lines {resets:?})"
    );
    // Before the first of those resets, the indices are the device's and no note is needed
    // for blk.
    ui.apply(Command::GotoLine(resets[0] - 1));
    let v = view(&mut ui);
    assert!(
        !v.notes.iter().any(|n| n.contains("blk0.q0")),
        "{:?}",
        v.notes
    );
    let blk = v.queues.iter().find(|q| q.name == "blk0.q0").unwrap();
    assert!(cell(blk, "used") > 0);
}

#[test]
fn a_vhost_user_device_s_rings_say_who_serves_them() {
    // What `ringside replay` prints of it, in the stepping view too.
    let mut ui = TraceUi::new(common::capture("vhost-user-blk"));
    ui.apply(Command::Last);
    let v = view(&mut ui);
    let note = v
        .notes
        .iter()
        .find(|n| n.contains("vhost-user-blk@"))
        .expect("a note on the vhost-user device");
    assert!(
        note.contains("rings served by the vhost-user backend"),
        "{note}"
    );
    assert!(note.contains("not in QEMU's trace"), "{note}");
    // Not on a capture without one.
    let mut ui = open("split-default");
    assert!(!view(&mut ui).notes.iter().any(|n| n.contains("served by")));
}

#[test]
fn ring_dumps_are_placed_at_the_snapshot_they_were_taken_in() {
    // The dumps handed over latest snapshot first: each still lands at the VM stop of its own
    // snapshot (the k-th `running 0` of the trace), whatever their order or labels.
    let mut c = common::capture("split-wrap");
    c.dumps.reverse();
    let t = text("split-wrap");
    let stops: Vec<u64> = t
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("virtio_rng_vm_state_change") && l.contains("running 0"))
        .map(|(i, _)| i as u64 + 1)
        .collect();
    let done = c
        .dumps
        .iter()
        .find(|d| d.snapshot.as_deref() == Some("done"))
        .unwrap()
        .taken_at
        .unwrap();
    let mut ui = TraceUi::new(c);
    ui.apply(Command::Last);
    let v = view(&mut ui);
    let r = v.ring.unwrap();
    assert!(r.title.starts_with("done"), "{}", r.title);
    let step = ui
        .session()
        .store()
        .steps_until_line(stops[done as usize - 1]);
    assert!(
        r.when.starts_with(&format!("taken at event {step},")),
        "{} (stop {done} at line {})",
        r.when,
        stops[done as usize - 1]
    );
}

/// The screen text of a controller at its last event.
fn last_screen(mut c: Box<dyn Controller>) -> String {
    let end = c.end();
    c.apply(Command::Goto(end));
    c.screen(Size::new(160, 50)).text()
}

/// Files handed over together (the browser's drop) join the way `--guest` and `--dpdk` do:
/// guest-split's driver trace and dpdk-split's DPDK log, in any order beside the QEMU trace,
/// give the very screen of the capture loaded with them named, and not the trace's alone.
#[test]
fn files_given_together_join_the_guest_trace_and_the_dpdk_log() {
    use ringside_core::face::app::open_files;
    use ringside_core::trace::{Capture, CaptureFiles};
    for (name, side) in [
        ("guest-split", "guest-trace.txt"),
        ("dpdk-split", "dpdk.log"),
    ] {
        let d = common::dir(name);
        let (trace, other) = (
            common::named(&d.join("trace.log")),
            common::named(&d.join(side)),
        );
        let (_, joined) = open_files(vec![other.clone(), trace.clone()], &mut Disk).unwrap();
        let mut files = CaptureFiles::default();
        if side == "dpdk.log" {
            files.dpdk = Some(other);
        } else {
            files.guest = Some(other);
        }
        let store = TraceStore::parse(&trace.1, &trace.0).unwrap();
        let named = TraceUi::new(Capture::load(store, files).unwrap());
        let (_, alone) = open_files(vec![trace], &mut Disk).unwrap();
        let joined = last_screen(joined);
        assert_eq!(joined, last_screen(Box::new(named)), "{name}");
        assert_ne!(
            joined,
            last_screen(alone),
            "{name}: the {side} changed nothing"
        );
    }
}
