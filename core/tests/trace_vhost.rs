//! vhost-user-blk: the QEMU-side trace, the QMP answers and the daemon's own log of the real
//! capture in `traces/vhost-user-blk` (traces/README.md). Expectations come from substring
//! counts over the files, never from the code under test.

mod common;

use std::path::PathBuf;

use common::{capture, named};
use ringside_core::finding::Code;
use ringside_core::trace::qmp::QmpTranscript;
use ringside_core::trace::replay::ReplayReport;
use ringside_core::trace::{BackendLog, Capture, ReplayOptions, TraceSession, TraceStore, replay};

fn dir() -> PathBuf {
    common::dir("vhost-user-blk")
}

fn read(file: &str) -> String {
    std::fs::read_to_string(dir().join(file)).expect("capture file")
}

fn run(opts: &ReplayOptions) -> ReplayReport {
    let (name, bytes) = named(&dir().join("qsd-trace.log"));
    replay(
        &capture("vhost-user-blk").with_backend(BackendLog::parse(&bytes, &name)),
        opts,
    )
}

fn grep_c(text: &str, needle: &str) -> u64 {
    text.lines().filter(|l| l.contains(needle)).count() as u64
}

#[test]
fn the_vhost_device_is_a_device_with_its_lifecycle() {
    let trace = read("trace.log");
    let r = run(&ReplayOptions::default());
    // The vdev is the one whose status write comes right before the first vhost_dev_start.
    let lines: Vec<&str> = trace.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains(":vhost_dev_start "))
        .unwrap();
    let status = lines[..start]
        .iter()
        .rev()
        .find(|l| l.contains("virtio_set_status vdev "))
        .unwrap();
    let vdev = status
        .split("vdev ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let label = format!("vhost-user-blk@{vdev}");
    let dev = r.devices.iter().find(|d| d.label() == label).expect(&label);
    let v = dev.vhost.as_ref().unwrap();
    assert_eq!(v.backend, "vhost-user");
    assert_eq!(u64::from(v.starts), grep_c(&trace, ":vhost_dev_start "));
    assert_eq!(u64::from(v.stops), grep_c(&trace, ":vhost_dev_stop "));
    assert_eq!(u64::from(v.replies), grep_c(&trace, ":vhost_user_read "));
    for (name, req) in [
        ("SET_VRING_KICK", 12),
        ("SET_VRING_CALL", 13),
        ("GET_VRING_BASE", 11),
        ("SET_VRING_ENABLE", 18),
    ] {
        let want = grep_c(&trace, &format!(":vhost_user_write req:{req} "));
        assert_eq!(
            u64::from(v.requests.get(name).copied().unwrap_or(0)),
            want,
            "{name}"
        );
    }
    // One queue (num-queues=1), vring-num from QMP, served by the backend.
    let qs: Vec<_> = r.queues.iter().filter(|q| q.device == label).collect();
    assert_eq!(qs.len(), 1);
    assert!(qs[0].vhost);
    assert_eq!(qs[0].size, Some(128));
    assert_eq!(qs[0].pops, 0, "QEMU's trace has no pops for a vhost queue");
    // The rings' view from the backend agrees with QEMU's, and nothing is flagged.
    let qmp = read("qmp.jsonl");
    assert_eq!(
        r.vhost_queues_checked as u64,
        grep_c(&qmp, "\"avail-phys\"")
    );
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn at_the_done_stop_the_queue_holds_qmps_counters() {
    // QEMU reads last_avail_idx back from the backend (GET_VRING_BASE) when the VM stops; the
    // second stop marker is where the `done` snapshot belongs.
    let trace = read("trace.log");
    let qmp = read("qmp.jsonl");
    let stop = trace
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("state change to running 0"))
        .nth(1)
        .map(|(i, _)| i as u64 + 1)
        .unwrap();
    let reply = qmp
        .lines()
        .filter(|l| l.contains("\"name\": \"virtio-blk\"") && l.contains("\"last-avail-idx\""))
        .nth(1)
        .unwrap();
    let field = |k: &str| -> u16 {
        let rest = &reply[reply.find(&format!("\"{k}\": ")).unwrap() + k.len() + 4..];
        rest.split([',', '}'])
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let r = run(&ReplayOptions {
        until_line: Some(stop),
        ..Default::default()
    });
    let q = r.queues.iter().find(|q| q.vhost).unwrap();
    assert_eq!(q.last_avail_idx, field("last-avail-idx"));
    assert_eq!(q.used_idx, field("used-idx"));
    assert!(q.last_avail_idx > 0);
}

#[test]
fn the_daemon_log_is_counted_and_says_what_it_cannot_tell() {
    let qsd = read("qsd-trace.log");
    let r = run(&ReplayOptions::default());
    let b = r.backend.as_ref().unwrap();
    let bytes = |op: &str| -> u64 {
        qsd.lines()
            .filter(|l| l.starts_with(op))
            .map(|l| {
                let w: Vec<&str> = l.split(' ').collect();
                let i = w.iter().position(|x| *x == "bytes").unwrap();
                w[i + 1].parse::<u64>().unwrap()
            })
            .sum()
    };
    assert_eq!(b.lines, qsd.lines().count() as u64);
    assert_eq!(b.total.reads, grep_c(&qsd, "blk_co_preadv "));
    assert_eq!(b.total.writes, grep_c(&qsd, "blk_co_pwritev "));
    assert_eq!(b.total.bytes_read, bytes("blk_co_preadv "));
    assert_eq!(b.total.bytes_written, bytes("blk_co_pwritev "));
    assert!(!b.timed && b.windows.is_empty() && b.in_window.is_none());
    assert!(b.note.contains("no timestamps"), "{}", b.note);
    let text = r.to_string();
    assert!(text.contains("backend log"), "{text}");
}

#[test]
fn a_timed_backend_log_is_counted_per_vhost_session() {
    let trace = "\
1@100.000000:virtio_set_status vdev 0x10 val 15
1@100.000001:vhost_dev_start 0x20:virtio-blk vrings:1
1@101.000000:vhost_dev_stop 0x20:virtio-blk vrings:1
1@102.000000:vhost_dev_start 0x20:virtio-blk vrings:1
1@103.000000:vhost_dev_stop 0x20:virtio-blk vrings:1
";
    let log = "\
7@100.500000:blk_co_preadv blk 0x1 bs 0x2 offset 0 bytes 512 flags 0x0
7@101.500000:blk_co_pwritev blk 0x1 bs 0x2 offset 4096 bytes 4096 flags 0x0
7@102.500000:blk_co_pwritev blk 0x1 bs 0x2 offset 8192 bytes 4096 flags 0x0
7@102.600000:bdrv_co_pwritev_part bs 0x2 offset 8192 bytes 4096 flags 0x0
7@102.700000:blk_co_pwritev blk 0x1 bs 0x2 offset
";
    let store = TraceStore::from_bytes(trace.as_bytes(), "t.log");
    let b = BackendLog::parse(log.as_bytes(), "qsd.log");
    assert_eq!((b.other_lines, b.malformed_lines), (1, 1));
    let r = replay(
        &Capture::new(store).with_backend(b),
        &ReplayOptions::default(),
    );
    let br = r.backend.unwrap();
    let counts: Vec<(u64, u64)> = br
        .windows
        .iter()
        .map(|w| (w.counts.reads, w.counts.writes))
        .collect();
    // The write at 101.5 s falls between the sessions.
    assert_eq!(counts, vec![(1, 0), (0, 1)]);
    assert_eq!((br.total.reads, br.total.writes), (1, 2));
    let until = r.last_time_us.unwrap();
    assert_eq!(until, 103_000_000);
    assert_eq!(br.in_window.map(|c| c.writes), Some(2));
}

#[test]
fn an_edited_vhost_ring_address_is_a_mismatch() {
    // Move the backend's avail-phys of the first vhost queue status by 2 bytes.
    let text = read("qmp.jsonl");
    let line = text
        .lines()
        .position(|l| l.contains("\"avail-phys\""))
        .unwrap()
        + 1;
    let mut done = false;
    let edited: String = text
        .lines()
        .map(|l| {
            let mut l = l.to_string();
            if !done && l.contains("\"avail-phys\": ") {
                let i = l.find("\"avail-phys\": ").unwrap() + 14;
                let j = i + l[i..].find(',').unwrap();
                let v: u64 = l[i..j].parse().unwrap();
                l.replace_range(i..j, &(v + 2).to_string());
                done = true;
            }
            l + "\n"
        })
        .collect();
    let qmp = QmpTranscript::parse(edited.as_bytes(), "edited.jsonl");
    let r = replay(
        &Capture::new(common::store("vhost-user-blk")).with_qmp(qmp),
        &ReplayOptions::default(),
    );
    let m: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.code == Code::QmpMismatch)
        .collect();
    assert_eq!(m.len(), 1, "{:#?}", r.findings);
    assert!(m[0].message.contains("avail-phys"), "{}", m[0]);
    assert_eq!(
        m[0].seen_at()
            .and_then(|s| s.evidence.as_ref())
            .map(|e| e.to_string()),
        Some(format!("edited.jsonl:{line}"))
    );
}

#[test]
fn stepping_shows_what_the_report_shows_from_one_pass() {
    let d = dir();
    let store = TraceStore::from_bytes(&std::fs::read(d.join("trace.log")).unwrap(), "t.log");
    let qmp = QmpTranscript::parse(read("qmp.jsonl").as_bytes(), "qmp.jsonl");
    let opts = ReplayOptions::default();
    let c = Capture::new(store.clone()).with_qmp(qmp);
    let session = TraceSession::new(c.clone(), &opts);
    assert_eq!(session.report().to_string(), replay(&c, &opts).to_string());
    // A state rebuilt from a checkpoint is the state stepped from the start, on both sides of
    // every snapshot (where the vhost queue takes QEMU's counters).
    let r = session.replayer();
    let mut st = r.initial(&store);
    let n = store.events().len();
    for (i, e) in store.events().iter().enumerate() {
        r.step(&mut st, &store, e);
        if (i + 1) % 997 == 0 || i + 1 == n {
            assert_eq!(
                serde_json::to_string(&session.state_at(i + 1)).unwrap(),
                serde_json::to_string(&st).unwrap(),
                "step {}",
                i + 1
            );
        }
    }
    // At each snapshot's VM stop the vhost queue takes that snapshot's
    // `x-query-virtio-queue-status`, as the report's pass does (numbers read from the QMP
    // text, places from the trace text, not from the importer).
    let trace = read("trace.log");
    let stops: Vec<u64> = trace
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("state change to running 0"))
        .map(|(i, _)| i as u64 + 1)
        .collect();
    let text = read("qmp.jsonl");
    let statuses: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"last-avail-idx\"") && l.contains("virtio-blk"))
        .collect();
    assert_eq!(statuses.len(), 2, "idle and done");
    let field = |line: &str, k: &str| -> u16 {
        let at = line.find(&format!("\"{k}\": ")).unwrap() + k.len() + 4;
        line[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    for (stop, status) in stops.iter().zip(&statuses) {
        let at = session.state_at(store.steps_until_line(*stop));
        let q = at.queues.iter().find(|q| q.vhost).unwrap();
        assert_eq!(
            q.last_avail_idx.0,
            field(status, "last-avail-idx"),
            "{stop}"
        );
        assert_eq!(q.used_idx.0, field(status, "used-idx"), "{stop}");
    }
}
