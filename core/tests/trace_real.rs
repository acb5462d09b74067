//! Replay of the real QEMU 7.2 captures in `traces/` (see traces/README.md).
//!
//! Golden numbers were read once from the files with grep, never computed by the code under
//! test; each assertion says how. When the captures are regenerated these must be re-read.

use std::path::{Path, PathBuf};

use ringside_core::detect::code;
use ringside_core::trace::event::DeviceType;
use ringside_core::trace::qmp::QmpTranscript;
use ringside_core::trace::replay::{QueueReport, ReplayReport, parse_time};
use ringside_core::trace::ringdump::{self, RingState};
use ringside_core::trace::{ReplayOptions, TraceStore, replay, replay_files};

fn dir(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../traces")).join(name)
}

fn full(name: &str, opts: &ReplayOptions) -> ReplayReport {
    let d = dir(name);
    replay_files(
        &d.join("trace.log"),
        Some(&d.join("qmp.jsonl")),
        Some(&d.join("rings")),
        opts,
    )
    .expect("capture readable")
}

fn queue(r: &ReplayReport, t: DeviceType, q: u16) -> &QueueReport {
    r.queues
        .iter()
        .find(|x| x.device_type == t && x.queue == q)
        .unwrap_or_else(|| panic!("no {t} queue {q} in {:#?}", r.queues))
}

#[test]
fn split_default_counts_match_grep() {
    let r = full("split-default", &ReplayOptions::default());
    // `wc -l trace.log` = 801, every line a virtio event.
    assert_eq!(r.stats.lines, 801);
    assert_eq!(r.stats.unknown_lines, 0);
    // The blk vq is the one `virtio_queue_notify vdev <blk vdev> n 0` names;
    // `grep -c "virtqueue_pop vq $blkvq "` = 40, fill 40, flush 40,
    // `grep -c "virtio_queue_notify .* vq $blkvq$"` = 44, `virtio_notify.* vq $blkvq$` = 39.
    let b = queue(&r, DeviceType::Blk, 0);
    assert_eq!((b.pops, b.fills, b.flushes), (40, 40, 40));
    assert_eq!((b.kicks, b.interrupts), (44, 39));
    // virtio-net has rx/tx/ctrl queues (notify n 0, 1, 2) and no vdev-naming events: its type
    // comes from QMP or the queue layout.
    assert_eq!(queue(&r, DeviceType::Net, 2).size, Some(64));
    assert!(r.queues.iter().any(|q| q.device_type == DeviceType::Rng));
    // Two `stop` commands in qmp.jsonl; rings/index.json lists 10 desc areas.
    assert_eq!(r.qmp_snapshots_checked, 2);
    assert_eq!(r.dumps_checked, 10);
    // A healthy boot: QMP and dumps agree with the trace, nothing is an error.
    let errors: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.severity.to_string() == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn split_until_the_first_stop_matches_qmp_by_hand() {
    // Line 197 is the first `state change to running 0`; at that snapshot qmp.jsonl's
    // x-query-virtio-queue-status for blk0 says last-avail-idx 3, used-idx 3, inuse 0.
    let opts = ReplayOptions {
        until_line: Some(197),
        ..Default::default()
    };
    let r = full("split-default", &opts);
    let b = queue(&r, DeviceType::Blk, 0);
    assert_eq!((b.last_avail_idx, b.used_idx, b.inuse), (3, 3, 0));
    assert_eq!(r.last_line, Some(197));
}

#[test]
fn packed_positions_match_qemus_own_counters() {
    // packed-noindirect: QMP at the `done` stop (trace line 674) says blk0 q0 last-avail-idx
    // 150 = used-idx: the slots of all descriptors (in_num + out_num each, no indirect) since
    // Linux's reset. packed (indirect on) says 39: one slot per buffer.
    for (name, want) in [("packed-noindirect", 150u16), ("packed", 39)] {
        let opts = ReplayOptions {
            until_line: Some(674),
            ..Default::default()
        };
        let r = full(name, &opts);
        let b = queue(&r, DeviceType::Blk, 0);
        assert_eq!(b.layout.to_string(), "packed", "{name}");
        let (a, u) = (b.avail_pos.unwrap(), b.used_pos.unwrap());
        assert_eq!((a.slot, u.slot), (want, want), "{name}");
        assert!(a.wrap.0 && u.wrap.0, "{name}: first lap");
        // SeaBIOS drove the queue split before Linux reset it: the one flush in the trace.
        assert_eq!(b.flushes, 1, "{name}");
        assert!(
            !r.findings.iter().any(|f| f.code == code::QMP_MISMATCH),
            "{name}: {:#?}",
            r.findings
        );
    }
}

#[test]
fn a_deleted_fill_is_caught_twice() {
    // Drop the 5th blk virtqueue_fill of split-default: the flush after it publishes an
    // element never filled, and the element pointer is popped again (QEMU reuses the freed
    // allocation) while the first pop was never completed. QMP cannot see it: used.idx follows
    // the flush count, which the deletion leaves alone.
    let d = dir("split-default");
    let text = std::fs::read_to_string(d.join("trace.log")).unwrap();
    let blkvq = text
        .lines()
        .find(|l| l.starts_with("virtqueue_fill"))
        .and_then(|l| l.split(' ').nth(2))
        .unwrap()
        .to_string();
    let mut n = 0;
    let mut dropped = 0;
    let mut out = String::new();
    for (i, l) in text.lines().enumerate() {
        if l.starts_with(&format!("virtqueue_fill vq {blkvq} ")) {
            n += 1;
            if n == 5 {
                dropped = i + 1;
                continue;
            }
        }
        out.push_str(l);
        out.push('\n');
    }
    let store = TraceStore::from_bytes(out.as_bytes(), "mutated.log");
    let qmp = QmpTranscript::open(&d.join("qmp.jsonl")).unwrap();
    let rings = ringdump::load_dir(&d.join("rings")).unwrap();
    let r = replay(&store, Some(&qmp), &rings, &ReplayOptions::default());
    let codes: Vec<_> = r.findings.iter().map(|f| f.code).collect();
    assert!(codes.contains(&code::FLUSH_MISMATCH), "{codes:?}");
    assert!(codes.contains(&code::LEAK), "{codes:?}");
    assert!(!codes.contains(&code::QMP_MISMATCH), "{codes:?}");
    assert!(r.has_errors());
    // The flush mismatch is reported on the flush right after the dropped line (line numbers
    // shift by one after the deletion).
    let fm = r
        .findings
        .iter()
        .find(|f| f.code == code::FLUSH_MISMATCH)
        .unwrap();
    assert_eq!(fm.line, Some(dropped as u64));
}

#[test]
fn an_edited_qmp_counter_is_a_mismatch() {
    // The `done` snapshot's blk0 queue status says "used-idx": 39; claim 38 instead.
    let d = dir("split-default");
    let text = std::fs::read_to_string(d.join("qmp.jsonl")).unwrap();
    let mut edited = String::new();
    let mut hits = 0;
    for l in text.lines() {
        if l.contains("\"name\": \"virtio-blk\"") && l.contains("\"used-idx\": 39,") {
            hits += 1;
            edited.push_str(&l.replace("\"used-idx\": 39,", "\"used-idx\": 38,"));
        } else {
            edited.push_str(l);
        }
        edited.push('\n');
    }
    assert_eq!(hits, 1);
    let qmp = QmpTranscript::parse(edited.as_bytes(), "edited.jsonl");
    let store = TraceStore::open(&d.join("trace.log")).unwrap();
    let r = replay(&store, Some(&qmp), &[], &ReplayOptions::default());
    let m: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.code == code::QMP_MISMATCH)
        .collect();
    assert_eq!(m.len(), 1, "{m:#?}");
    assert!(
        m[0].message.contains("used-idx 38 (replayed 39)"),
        "{}",
        m[0].message
    );
    // Placed at the second VM stop, trace line 755.
    assert_eq!(m[0].line, Some(755));
}

#[test]
fn ring_dumps_agree_with_qmp() {
    // split-default/rings/idle-blk0-q0-*: avail.idx and used.idx are QMP's 3 and 3 (the
    // x-query-virtio-queue-status at that snapshot); QEMU wrote avail_event = 3 on its last
    // pop (EVENT_IDX is negotiated by default).
    let dumps = ringdump::load_dir(&dir("split-default/rings")).unwrap();
    let d = dumps.iter().find(|d| d.name == "idle-blk0-q0").unwrap();
    let ins = ringdump::inspect(d).unwrap();
    let RingState::Split(s) = &ins.state else {
        panic!("split expected")
    };
    assert_eq!(
        (s.size, s.avail_idx, s.used_idx, s.avail_event),
        (256, 3, 3, Some(3))
    );
    assert!(!ins.size_inferred);
    // A dump cut short is an error naming the file and the offset.
    let mut short = d.clone();
    short.device.truncate(100);
    let e = ringdump::inspect(&short).unwrap_err().to_string();
    assert!(e.contains("byte offset 100"), "{e}");
}

#[test]
fn timestamps_and_until_time() {
    let store = TraceStore::open(&dir("split-default-ts/trace.log")).unwrap();
    assert_eq!(store.stats.timestamped_events, store.stats.lines);
    let t = store.events()[99].time().unwrap();
    let opts = ReplayOptions {
        until_time_us: parse_time(&ringside_core::trace::event::fmt_time(t)),
        ..Default::default()
    };
    let r = replay(&store, None, &[], &opts);
    // Events are in time order in this single-threaded capture, so the window ends at or
    // after event 100 and before any later timestamp.
    assert!(r.steps >= 100);
    assert!(
        store.events()[r.steps..]
            .iter()
            .all(|e| e.time().unwrap() > t)
    );
}
