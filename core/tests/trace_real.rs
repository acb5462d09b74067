//! Replay of the real QEMU 7.2 captures in `traces/` (see traces/README.md).
//!
//! Expected numbers never come from the code under test. The captures may be regenerated
//! (`traces/capture.sh`), so instead of pinning numbers that change with every boot, each test
//! derives them the way one would by hand: plain substring counts (what `grep -c` gives) and
//! QEMU's own counters read out of qmp.jsonl by substring search, never by the QMP parser.

mod common;

use common::{capture, dir, dumps, store};
use ringside_core::finding::Code;
use ringside_core::trace::event::DeviceType;
use ringside_core::trace::qmp::QmpTranscript;
use ringside_core::trace::replay::{QueueReport, ReplayReport, parse_time};
use ringside_core::trace::ringdump::{self, RingState};
use ringside_core::trace::{Capture, ReplayOptions, TraceStore, replay};

fn full(name: &str, opts: &ReplayOptions) -> ReplayReport {
    replay(&capture(name), opts)
}

fn read(name: &str, file: &str) -> String {
    std::fs::read_to_string(dir(name).join(file)).expect("capture file")
}

/// `grep -c needle`.
fn grep_c(text: &str, needle: &str) -> u64 {
    text.lines().filter(|l| l.contains(needle)).count() as u64
}

/// Line number of the n-th (1-based) line containing `needle` (`grep -n … | sed -n Np`).
fn grep_n(text: &str, needle: &str, n: usize) -> u64 {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(n - 1)
        .map(|(i, _)| i as u64 + 1)
        .expect("marker present")
}

/// The blk device's vq pointer: the `vq` of `virtio_queue_notify vdev <blk vdev> n 0`, where
/// the blk vdev is the one `virtio_blk_handle_*` names.
fn blk_vq(trace: &str) -> String {
    let vdev = trace
        .lines()
        .find(|l| l.contains("virtio_blk_handle_"))
        .and_then(|l| l.split("vdev ").nth(1))
        .and_then(|r| r.split(' ').next())
        .unwrap();
    let kick = trace
        .lines()
        .find(|l| l.contains(&format!("virtio_queue_notify vdev {vdev} n 0 ")))
        .unwrap();
    kick.rsplit(' ').next().unwrap().to_string()
}

/// `"key": N` out of the n-th (1-based) QMP reply line for blk0's queue 0 status.
fn qmp_blk_q0(qmp: &str, n: usize, key: &str) -> u64 {
    let line = qmp
        .lines()
        .filter(|l| {
            l.starts_with("{\"return\"")
                && l.contains("\"name\": \"virtio-blk\"")
                && l.contains("\"queue-index\": 0,")
                && l.contains("\"last-avail-idx\"")
        })
        .nth(n - 1)
        .expect("queue status reply");
    let pat = format!("\"{key}\": ");
    let rest = &line[line.find(&pat).unwrap() + pat.len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn queue(r: &ReplayReport, t: DeviceType, q: u16) -> &QueueReport {
    r.queues
        .iter()
        .find(|x| x.device_type == t && x.queue == q)
        .unwrap_or_else(|| panic!("no {t} queue {q} in {:#?}", r.queues))
}

#[test]
fn split_default_counts_match_grep() {
    let trace = read("split-default", "trace.log");
    let vq = blk_vq(&trace);
    let r = full("split-default", &ReplayOptions::default());
    // Every line is a virtio event (`grep -vc '^virt'` is 0).
    assert_eq!(r.stats.lines, trace.lines().count() as u64);
    assert_eq!(grep_c(&trace, "virt"), r.stats.lines);
    assert_eq!(r.stats.unknown_lines, 0);
    let b = queue(&r, DeviceType::Blk, 0);
    let want = (
        grep_c(&trace, &format!("virtqueue_pop vq {vq} ")),
        grep_c(&trace, &format!("virtqueue_fill vq {vq} ")),
        grep_c(&trace, &format!("virtqueue_flush vq {vq} ")),
    );
    assert!(want.0 > 10, "the boot reads the disk");
    assert_eq!((b.pops, b.fills, b.flushes), want);
    let kicks = trace
        .lines()
        .filter(|l| l.contains("virtio_queue_notify") && l.ends_with(&format!(" vq {vq}")))
        .count() as u64;
    let irqs = trace
        .lines()
        .filter(|l| l.contains("virtio_notify") && l.ends_with(&format!(" vq {vq}")))
        .count() as u64;
    assert_eq!((b.kicks, b.interrupts), (kicks, irqs));
    // virtio-net has rx/tx/ctrl queues (notify n 0, 1, 2) and no vdev-naming events: its type
    // comes from QMP or the queue layout. Its ctrl queue is 64 entries (QMP vring-num).
    assert_eq!(queue(&r, DeviceType::Net, 2).size, Some(64));
    assert!(r.queues.iter().any(|q| q.device_type == DeviceType::Rng));
    // One snapshot per `stop` command; rings/index.json lists one desc area per queue each.
    let qmp = read("split-default", "qmp.jsonl");
    let index = read("split-default", "rings/index.json");
    assert_eq!(
        r.qmp_snapshots_checked as u64,
        grep_c(&qmp, "\"execute\": \"stop\"")
    );
    assert_eq!(r.dumps_checked as u64, grep_c(&index, "\"area\": \"desc\""));
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
    // Replay up to the first `state change to running 0` (the first QMP `stop`) and compare
    // with QEMU's own x-query-virtio-queue-status for blk0 at that snapshot.
    let trace = read("split-default", "trace.log");
    let qmp = read("split-default", "qmp.jsonl");
    let stop = grep_n(&trace, "state change to running 0", 1);
    let opts = ReplayOptions {
        until_line: Some(stop),
        ..Default::default()
    };
    let r = full("split-default", &opts);
    let b = queue(&r, DeviceType::Blk, 0);
    let want = (
        qmp_blk_q0(&qmp, 1, "last-avail-idx"),
        qmp_blk_q0(&qmp, 1, "used-idx"),
        qmp_blk_q0(&qmp, 1, "inuse"),
    );
    assert_eq!(
        (
            u64::from(b.last_avail_idx),
            u64::from(b.used_idx),
            u64::from(b.inuse)
        ),
        want
    );
    assert_eq!(r.last_line, Some(stop));
}

#[test]
fn packed_positions_match_qemus_own_counters() {
    // At the second stop QEMU's QMP last-avail-idx/used-idx for packed blk0 q0 are slots: with
    // indirect descriptors one per buffer, without them in_num + out_num per buffer. Replay
    // derives them from pops/fills alone. (At the time of writing: 39 and 150.)
    for name in ["packed-noindirect", "packed"] {
        let trace = read(name, "trace.log");
        let qmp = read(name, "qmp.jsonl");
        let stop = grep_n(&trace, "state change to running 0", 2);
        let opts = ReplayOptions {
            until_line: Some(stop),
            ..Default::default()
        };
        let r = full(name, &opts);
        let b = queue(&r, DeviceType::Blk, 0);
        assert_eq!(b.layout.to_string(), "packed", "{name}");
        let (a, u) = (b.avail_pos.unwrap(), b.used_pos.unwrap());
        let want = (
            qmp_blk_q0(&qmp, 2, "last-avail-idx"),
            qmp_blk_q0(&qmp, 2, "used-idx"),
        );
        assert_eq!((u64::from(a.slot), u64::from(u.slot)), want, "{name}");
        // SeaBIOS drove the queue split before Linux reset it: the only flushes in the trace.
        let vq = blk_vq(&trace);
        assert_eq!(
            b.flushes,
            grep_c(&trace, &format!("virtqueue_flush vq {vq} ")),
            "{name}"
        );
        assert!(
            !r.findings.iter().any(|f| f.code == Code::QmpMismatch),
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
    let mut c = capture("split-default");
    c.store = TraceStore::from_bytes(out.as_bytes(), "mutated.log");
    let r = replay(&c, &ReplayOptions::default());
    let codes: Vec<_> = r.findings.iter().map(|f| f.code).collect();
    assert!(codes.contains(&Code::FlushMismatch), "{codes:?}");
    assert!(codes.contains(&Code::Leak), "{codes:?}");
    assert!(!codes.contains(&Code::QmpMismatch), "{codes:?}");
    assert!(r.has_errors());
    // The flush mismatch is reported on the flush right after the dropped line (line numbers
    // shift by one after the deletion).
    let fm = r
        .findings
        .iter()
        .find(|f| f.code == Code::FlushMismatch)
        .unwrap();
    assert_eq!(fm.line(), Some(dropped as u64));
}

#[test]
fn an_edited_qmp_counter_is_a_mismatch() {
    // Lower the `done` snapshot's blk0 used-idx by one.
    let text = read("split-default", "qmp.jsonl");
    let trace = read("split-default", "trace.log");
    let used = qmp_blk_q0(&text, 2, "used-idx");
    let (from, to) = (
        format!("\"used-idx\": {used},"),
        format!("\"used-idx\": {},", used - 1),
    );
    let mut edited = String::new();
    let mut hits = 0;
    for l in text.lines() {
        if l.contains("\"name\": \"virtio-blk\"")
            && l.contains("\"last-avail-idx\"")
            && l.contains(&from)
        {
            hits += 1;
            if hits == 2 {
                edited.push_str(&l.replace(&from, &to));
                edited.push('\n');
                continue;
            }
        }
        edited.push_str(l);
        edited.push('\n');
    }
    assert!(hits >= 1);
    // If idle and done had the same used-idx, edit the second such line (the done snapshot).
    let qmp = QmpTranscript::parse(edited.as_bytes(), "edited.jsonl");
    let r = replay(
        &Capture::new(store("split-default")).with_qmp(qmp),
        &ReplayOptions::default(),
    );
    let m: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.code == Code::QmpMismatch)
        .collect();
    assert_eq!(m.len(), usize::from(hits >= 2), "{m:#?}");
    if let Some(m) = m.first() {
        let want = format!("used-idx {} (replayed {used})", used - 1);
        assert!(m.message.contains(&want), "{}", m.message);
        // Placed at the second VM stop.
        assert_eq!(
            m.line(),
            Some(grep_n(&trace, "state change to running 0", 2))
        );
    }
}

#[test]
fn ring_dumps_agree_with_qmp() {
    // split-default/rings/idle-blk0-q0-*: avail.idx and used.idx in memory equal QMP's
    // shadow-avail-idx and used-idx at that snapshot, and QEMU wrote avail_event =
    // last-avail-idx on its last pop (EVENT_IDX is negotiated by default).
    let qmp = read("split-default", "qmp.jsonl");
    let dumps = dumps("split-default");
    let d = dumps.iter().find(|d| d.name == "idle-blk0-q0").unwrap();
    let ins = ringdump::inspect(d).unwrap();
    let RingState::Split(s) = &ins.state else {
        panic!("split expected")
    };
    let want = (
        qmp_blk_q0(&qmp, 1, "shadow-avail-idx"),
        qmp_blk_q0(&qmp, 1, "used-idx"),
        qmp_blk_q0(&qmp, 1, "last-avail-idx"),
    );
    assert_eq!(
        (
            u64::from(s.avail_idx),
            u64::from(s.used_idx),
            s.avail_event.map(u64::from)
        ),
        (want.0, want.1, Some(want.2))
    );
    assert_eq!(u64::from(s.size), qmp_blk_q0(&qmp, 1, "vring-num"));
    assert!(!ins.size_inferred);
    // A dump cut short is an error naming the file and the offset.
    let mut short = d.clone();
    short.device.truncate(100);
    let e = ringdump::inspect(&short).unwrap_err().to_string();
    assert!(e.contains("byte offset 100"), "{e}");
}

#[test]
fn timestamps_and_until_time() {
    let store = store("split-default-ts");
    assert_eq!(store.stats.timestamped_events, store.stats.lines);
    let t = store.events()[99].time().unwrap();
    let opts = ReplayOptions {
        until_time_us: parse_time(&ringside_core::trace::event::fmt_time(t)),
        ..Default::default()
    };
    let r = replay(&Capture::new(store.clone()), &opts);
    // Events are in time order in this single-threaded capture, so the window ends at or
    // after event 100 and before any later timestamp.
    assert!(r.steps >= 100);
    assert!(
        store.events()[r.steps..]
            .iter()
            .all(|e| e.time().unwrap() > t)
    );
}

#[test]
fn a_kick_the_device_never_answers_is_unserviced() {
    // Delete every line naming the blk vq after its last kick before the `done` stop of
    // split-default: the pops that answered the kick are gone, so at the stop the driver has
    // kicked, the `done` ring dump shows the buffers it made available, and the device never
    // pops again. Expected: kick-unserviced at that kick, with as many pending buffers as pops
    // were deleted before the stop (counted here by plain substring search).
    let text = read("split-default", "trace.log");
    let vq = blk_vq(&text);
    let stop = grep_n(&text, "state change to running 0", 2) as usize;
    let kick = text
        .lines()
        .take(stop)
        .enumerate()
        .filter(|(_, l)| l.starts_with("virtio_queue_notify ") && l.ends_with(&vq))
        .map(|(i, _)| i + 1)
        .last()
        .unwrap();
    let pop = format!("virtqueue_pop vq {vq} ");
    let lost = text
        .lines()
        .take(stop)
        .skip(kick)
        .filter(|l| l.starts_with(&pop))
        .count();
    assert!(lost > 0, "the kick was answered by pops before the stop");
    let mut out = String::new();
    for (i, l) in text.lines().enumerate() {
        if i + 1 > kick && l.contains(&vq) {
            continue;
        }
        out.push_str(l);
        out.push('\n');
    }
    let mut c = capture("split-default");
    c.store = TraceStore::from_bytes(out.as_bytes(), "mutated.log");
    let r = replay(&c, &ReplayOptions::default());
    let ku: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.code == Code::KickUnserviced)
        .collect();
    assert_eq!(ku.len(), 1, "{:#?}", r.findings);
    let f = ku[0];
    let seen = f.seen_at().unwrap();
    assert_eq!(seen.line, Some(kick as u64));
    assert_eq!(seen.queue, Some(0));
    assert!(
        seen.device.as_deref().unwrap().starts_with("virtio-blk"),
        "{f}"
    );
    assert!(seen.evidence.as_ref().unwrap().file.contains("done"), "{f}");
    assert!(
        f.message
            .contains(&format!("shows {lost} available buffers")),
        "{f}"
    );

    // The real trace answers every kick.
    let r = full("split-default", &ReplayOptions::default());
    assert!(!r.findings.iter().any(|f| f.code == Code::KickUnserviced));
}

#[test]
fn packed_captures_replay_packed_without_qmp() {
    // QEMU 7.2 traces virtqueue_flush only on split rings: a packed capture must be learned as
    // packed from its own events, with no errors, and count what the QMP-aided replay counts.
    for name in [
        "packed",
        "packed-noevidx",
        "packed-noindirect",
        "packed-wrap",
    ] {
        assert!(
            read(name, "qmp.jsonl").contains("VIRTIO_F_RING_PACKED"),
            "{name} negotiated packed rings (QMP's guest-features)"
        );
        assert_eq!(
            grep_c(&read(name, "trace.log"), "virtqueue_flush"),
            1,
            "{name}"
        );
        let alone = replay(&Capture::new(store(name)), &ReplayOptions::default());
        assert!(!alone.has_errors(), "{name}:\n{}", alone.findings_text());
        let with = full(name, &ReplayOptions::default());
        for (a, w) in alone.queues.iter().zip(&with.queues) {
            assert_eq!(
                a.layout.to_string(),
                "packed",
                "{name} {} q{}",
                a.device,
                a.queue
            );
            assert_eq!(
                (a.pops, a.fills, a.inuse),
                (w.pops, w.fills, w.inuse),
                "{name} {} q{}",
                a.device,
                a.queue
            );
        }
    }
    for name in ["split-default", "split-wrap", "split-noindirect"] {
        let alone = replay(&Capture::new(store(name)), &ReplayOptions::default());
        assert!(alone.queues.iter().all(|q| q.layout.to_string() == "split"));
        assert!(!alone.has_errors(), "{name}:\n{}", alone.findings_text());
    }
}

#[test]
fn a_trace_that_cannot_tell_the_layout_says_unknown() {
    // The first blk pop and fill of the packed capture, cut right after the fill: no flush, no
    // traffic after the fill, no QMP: nothing tells split from packed.
    let text = read("packed", "trace.log");
    let fill = text
        .lines()
        .position(|l| l.contains("virtqueue_fill"))
        .unwrap();
    let cut: String = text
        .lines()
        .take(fill + 1)
        .map(|l| format!("{l}\n"))
        .collect();
    let r = replay(
        &Capture::new(TraceStore::parse(cut.as_bytes(), "cut.log").unwrap()),
        &ReplayOptions::default(),
    );
    let filled = r.queues.iter().find(|q| q.fills == 1).unwrap();
    assert_eq!(filled.layout.to_string(), "unknown");
    assert!(
        r.findings.iter().any(|f| f.code == Code::LayoutUnknown
            && f.seen_at().and_then(|s| s.device.as_deref()) == Some(&filled.device)),
        "{}",
        r.findings_text()
    );
    assert!(!r.has_errors(), "{}", r.findings_text());
}

#[test]
fn a_zipped_rings_folder_reads_like_the_folder() {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in common::files_of(&dir("split-default").join("rings")) {
        let base = name.rsplit('/').next().unwrap();
        w.start_file(format!("rings/{base}"), opts).unwrap();
        w.write_all(&bytes).unwrap();
    }
    let zipped = w.finish().unwrap().into_inner();
    let d = dir("split-default");
    let c = Capture::load(
        store("split-default"),
        ringside_core::trace::CaptureFiles {
            qmp: Some(common::named(&d.join("qmp.jsonl"))),
            rings: vec![("rings.zip".into(), zipped)],
            backend: None,
            ..ringside_core::trace::CaptureFiles::default()
        },
    )
    .unwrap();
    let from_zip = replay(&c, &ReplayOptions::default());
    let from_dir = full("split-default", &ReplayOptions::default());
    assert_eq!(from_zip.dumps_checked, 10);
    assert_eq!(from_zip.to_string(), from_dir.to_string());
}
