//! The trace commands run on the real captures in traces/.

use std::process::Command;

fn ringside(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ringside"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run ringside");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn replay_prints_every_queue_of_the_capture() {
    let (code, out, err) = ringside(&[
        "replay",
        "traces/split-default/trace.log",
        "--qmp",
        "traces/split-default/qmp.jsonl",
        "--rings",
        "traces/split-default/rings",
    ]);
    assert_eq!(code, 0, "{err}");
    for dev in ["virtio-blk", "virtio-net", "virtio-rng"] {
        assert!(out.contains(dev), "{dev} missing:\n{out}");
    }
    assert!(
        out.contains("cross-checked: 2 QMP snapshots, 10 ring dumps"),
        "{out}"
    );
}

#[test]
fn replay_json_has_the_queues() {
    let (code, out, err) = ringside(&["replay", "traces/packed/trace.log", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let queues = v["queues"].as_array().expect("queues array");
    assert_eq!(queues.len(), 5, "{out}");
}

#[test]
fn check_exits_1_on_a_corrupted_trace() {
    // Drop every virtqueue_fill line of the blk queue: pops never completed, flushes that
    // count more than was filled.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../traces/split-default/trace.log"
    ))
    .unwrap();
    let dir = std::env::temp_dir().join(format!("ringside-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("trace.log");
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("virtqueue_fill"))
        .collect();
    std::fs::write(&bad, kept.join("\n")).unwrap();
    let (code, out, _) = ringside(&["check", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("flush-mismatch"), "{out}");
    let (code, out, _) = ringside(&["check", "traces/split-default/trace.log"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no findings"), "{out}");
}

#[test]
fn bad_paths_and_formats_exit_2_with_a_message() {
    let (code, _, err) = ringside(&["replay", "traces/no-such-file.log"]);
    assert_eq!(code, 2);
    assert!(err.contains("traces/no-such-file.log"), "{err}");
    let (code, _, err) = ringside(&["export", "traces/packed/trace.log", "--format", "svg"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown export format `svg`"), "{err}");
    let (code, _, err) = ringside(&["replay", "traces/packed/trace.log", "--until-time", "noon"]);
    assert_eq!(code, 2);
    assert!(err.contains("--until-time noon"), "{err}");
}

#[test]
fn export_writes_chrome_trace_json() {
    let (code, out, err) = ringside(&["export", "traces/split-default-ts/trace.log"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let events = v["traceEvents"].as_array().expect("traceEvents");
    assert!(
        events
            .iter()
            .any(|e| e["ph"] == "X" || e["ph"] == "i" || e["ph"] == "B"),
        "no timed events"
    );
}

#[test]
fn inspect_on_a_directory_without_dumps_says_so() {
    let dir = std::env::temp_dir().join(format!("ringside-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (code, _, err) = ringside(&["inspect", dir.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("no ring dumps found"), "{err}");
}

#[test]
fn inspect_decodes_the_dumps() {
    let (code, out, err) = ringside(&["inspect", "traces/packed/rings"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("packed, size 256"), "{out}");
}

#[test]
fn replay_reads_the_vhost_backend_log_beside_the_trace() {
    let log = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../traces/vhost-user-blk/qsd-trace.log"
    ))
    .unwrap();
    // Counted independently of the importer: the daemon's block reads.
    let reads = log
        .lines()
        .filter(|l| l.starts_with("blk_co_preadv "))
        .count();
    let (code, out, err) = ringside(&[
        "replay",
        "traces/vhost-user-blk/trace.log",
        "--qmp",
        "traces/vhost-user-blk/qmp.jsonl",
        "--backend",
        "traces/vhost-user-blk/qsd-trace.log",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("vhost-user-blk@"), "{out}");
    assert!(
        out.contains(&format!("{reads} reads")),
        "{reads} reads:\n{out}"
    );
}

#[test]
fn a_reader_that_goes_away_is_not_a_panic() {
    // `ringside export ... | head -c 1`: the pipe closes while ringside is still writing.
    for args in [
        &["list"][..],
        &["export", "traces/split-wrap/trace.log"][..],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ringside"))
            .args(args)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run ringside");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}

#[test]
fn targets_open_as_scenarios_or_traces() {
    use ringside_core::face::screen::Size;
    use ringside_tui::files::open_target;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../traces/");
    // What opened shows in its header: a trace counts events, a scenario steps.
    let header = |t: &str| {
        let mut c = open_target(t, &Default::default()).unwrap();
        c.screen(Size::new(120, 40)).header.text()
    };
    let trace = format!("{dir}split-default/trace.log");
    assert!(header(&trace).contains(" event 0/"));
    let name = ringside_core::scenario::EMBEDDED[0].0;
    assert!(header(name).contains(" step 0/"));
    // A file that is neither says what it is and what was expected.
    let readme = format!("{dir}README.md");
    let e = open_target(&readme, &Default::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("not an input ringside reads"), "{e}");
    assert!(e.contains("expected a scenario"), "{e}");
}

/// A fresh directory under the system's temp dir.
fn scratch(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ringside-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn capture_file(capture: &str, file: &str) -> std::path::PathBuf {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../traces"))
        .join(capture)
        .join(file)
}

/// Copies a capture's ring dumps (without index.json), renaming the area words.
fn resave_rings(capture: &str, areas: [(&str, &str); 3], tag: &str) -> std::path::PathBuf {
    let d = scratch(tag);
    for e in std::fs::read_dir(capture_file(capture, "rings")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        let Some(stem) = name.strip_suffix(".bin") else {
            continue;
        };
        let (head, area) = stem.rsplit_once('-').unwrap();
        let to = areas.iter().find(|a| a.0 == area).unwrap().1;
        std::fs::copy(&p, d.join(format!("{head}-{to}.bin"))).unwrap();
    }
    d
}

#[test]
fn inputs_that_are_not_traces_exit_2_saying_what_they_are() {
    let d = scratch("not-traces");
    let empty = d.join("empty.log");
    std::fs::write(&empty, b"").unwrap();
    // Bytes that are no text (a fixed xorshift stream, so the test is the same every run).
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let noise: Vec<u8> = (0..4000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let random = d.join("random.log");
    std::fs::write(&random, &noise).unwrap();
    let qmp = capture_file("split-default", "qmp.jsonl");
    let qmp = qmp.to_str().unwrap();
    for (file, says) in [
        (empty.to_str().unwrap(), "the file is empty"),
        (random.to_str().unwrap(), "binary data"),
        (qmp, "pass it with --qmp"),
    ] {
        for cmd in ["replay", "check", "export"] {
            let (code, out, err) = ringside(&[cmd, file]);
            assert_eq!(code, 2, "{cmd} {file}: {out}{err}");
            assert!(err.contains(says), "{cmd} {file}: {err}");
            assert!(err.contains("expected a QEMU trace log"), "{err}");
            assert_eq!(err.matches(file).count(), 1, "said once: {err}");
        }
    }
}

#[test]
fn a_warning_is_printed_once() {
    let d = scratch("warn-once");
    let mut text = std::fs::read(capture_file("split-default", "trace.log")).unwrap();
    text.extend_from_slice(b"\xff\xfe not a trace line\n");
    let t = d.join("trace.log");
    std::fs::write(&t, &text).unwrap();
    let (code, out, err) = ringside(&["replay", t.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("binary data").count(), 1, "{out}");
}

#[test]
fn ring_dumps_saved_other_ways_are_all_used() {
    let trace = capture_file("packed", "trace.log");
    let qmp = capture_file("packed", "qmp.jsonl");
    // The spec's words for a packed ring's areas, and no index.json: QMP's pmemsave commands
    // and queue statuses say which dump is which.
    let spec = resave_rings(
        "packed",
        [("desc", "desc"), ("avail", "driver"), ("used", "device")],
        "rings-spec",
    );
    let (code, out, err) = ringside(&[
        "replay",
        trace.to_str().unwrap(),
        "--qmp",
        qmp.to_str().unwrap(),
        "--rings",
        spec.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("cross-checked: 2 QMP snapshots, 10 ring dumps"),
        "{out}"
    );
    assert!(!out.contains("input-unused"), "{out}");
    let (code, out, err) = ringside(&["inspect", spec.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("  packed, size ").count(), 10, "{out}");
    // A split capture's folder without its index.json.
    let bare = resave_rings(
        "split-default",
        [("desc", "desc"), ("avail", "avail"), ("used", "used")],
        "rings-bare",
    );
    let (code, out, err) = ringside(&[
        "replay",
        capture_file("split-default", "trace.log").to_str().unwrap(),
        "--qmp",
        capture_file("split-default", "qmp.jsonl").to_str().unwrap(),
        "--rings",
        bare.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("cross-checked: 2 QMP snapshots, 10 ring dumps"),
        "{out}"
    );
    // Without QMP nothing says which snapshot a bare dump belongs to: said, not dropped.
    let (code, out, err) = ringside(&[
        "check",
        capture_file("split-default", "trace.log").to_str().unwrap(),
        "--rings",
        bare.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("input-unused").count(), 10, "{out}");
    assert!(out.contains("not tied to a snapshot"), "{out}");
}

#[test]
fn a_qmp_transcript_saved_as_request_response_records_reads_like_the_original() {
    // traces/split-default/qmp.jsonl re-saved as one JSON array: each command with its reply
    // as {"request", "response"}, events and the greeting as they are.
    let text = std::fs::read_to_string(capture_file("split-default", "qmp.jsonl")).unwrap();
    let mut pending: Vec<(String, serde_json::Value)> = Vec::new();
    let mut records = Vec::new();
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let id = v.get("id").map(|i| i.to_string());
        if v.get("execute").is_some() {
            pending.push((id.unwrap_or_default(), v));
        } else if let Some(id) =
            id.filter(|_| v.get("return").is_some() || v.get("error").is_some())
        {
            let at = pending.iter().position(|p| p.0 == id).unwrap();
            let (_, req) = pending.remove(at);
            records.push(serde_json::json!({"request": req, "response": v}));
        } else {
            records.push(v);
        }
    }
    assert!(pending.is_empty());
    let d = scratch("qmp-records");
    let q = d.join("qmp.json");
    std::fs::write(&q, serde_json::to_string_pretty(&records).unwrap()).unwrap();
    let trace = capture_file("split-default", "trace.log");
    let run = |qmp: &str| {
        let (code, out, err) = ringside(&["replay", trace.to_str().unwrap(), "--qmp", qmp]);
        assert_eq!(code, 0, "{err}");
        out
    };
    let records = run(q.to_str().unwrap());
    let original = run(capture_file("split-default", "qmp.jsonl").to_str().unwrap());
    assert!(!records.contains("bad-input"), "{records}");
    assert!(
        records.contains("cross-checked: 2 QMP snapshots"),
        "{records}"
    );
    // The same replay, findings included, but for the one QMP error response QEMU gave, which
    // names its file and line.
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.contains("qmp.json"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(strip(&records), strip(&original));
}

#[test]
fn a_backend_log_whose_lines_carry_stamps_is_timed() {
    // traces/vhost-user-blk/qsd-trace.log's real lines, re-saved as `ts '%.s'` would: each
    // behind an epoch stamp. The stamps are the test's (qemu-storage-daemon writes none), one
    // millisecond apart from the first vhost_dev_start of the QEMU trace.
    let log = std::fs::read_to_string(capture_file("vhost-user-blk", "qsd-trace.log")).unwrap();
    let reads = log
        .lines()
        .filter(|l| l.starts_with("blk_co_preadv "))
        .count();
    let trace = std::fs::read_to_string(capture_file("vhost-user-blk", "trace.log")).unwrap();
    let start = trace
        .lines()
        .find(|l| l.contains(":vhost_dev_start "))
        .unwrap();
    let t0: f64 = start.split(['@', ':']).nth(1).unwrap().parse().unwrap();
    let d = scratch("qsd-ts");
    let stamped: String = log
        .lines()
        .enumerate()
        .map(|(i, l)| format!("{:.6} {l}\n", t0 + (i as f64 + 1.0) / 1000.0))
        .collect();
    let b = d.join("qsd-ts.log");
    std::fs::write(&b, stamped).unwrap();
    let (code, out, err) = ringside(&[
        "replay",
        capture_file("vhost-user-blk", "trace.log")
            .to_str()
            .unwrap(),
        "--backend",
        b.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("{reads} reads")),
        "{reads} reads:\n{out}"
    );
    assert!(out.contains("up to the end of the window"), "{out}");
    assert!(!out.contains("no timestamps"), "{out}");
}

#[test]
fn export_of_an_untimed_trace_says_it_uses_line_numbers() {
    let (code, _, err) = ringside(&["export", "traces/split-default/trace.log"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("line numbers as time"), "{err}");
    let (code, _, err) = ringside(&["export", "traces/split-default-ts/trace.log"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("line numbers"), "{err}");
}

#[test]
fn check_with_the_guest_trace_names_the_held_read() {
    // guest-ioerror: the real I/O error that stopped the VM with a read in flight.
    let (code, out, err) = ringside(&[
        "check",
        "traces/guest-ioerror/trace.log",
        "--qmp",
        "traces/guest-ioerror/qmp.jsonl",
        "--guest",
        "traces/guest-ioerror/guest-trace.txt",
    ]);
    assert_eq!(code, 0, "warnings only: {out}{err}");
    let held = out
        .lines()
        .find(|l| l.starts_with("warning[buffer-held]"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        held.contains("blk0.q0") && held.contains("BLOCK_IO_ERROR"),
        "{held}"
    );
    assert!(held.contains(" step "), "{held}");
}

#[test]
fn replay_joins_dpdk_and_says_how_the_clocks_and_rings_agree() {
    let (code, out, err) = ringside(&[
        "replay",
        "traces/dpdk-stall/trace.log",
        "--guest",
        "traces/dpdk-stall/guest-trace.txt",
        "--dpdk",
        "traces/dpdk-stall/dpdk.log",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("joined with the driver's trace"), "{out}");
    assert!(out.contains("14 anchors"), "{out}");
    assert!(
        out.contains("42 vhost-user messages pair one to one"),
        "{out}"
    );
    assert!(out.contains("DPDK returned vring 1 at 321"), "{out}");
    assert!(out.contains("warning[added-unpopped]"), "{out}");
    // JSON carries the join too.
    let (_, json, _) = ringside(&[
        "replay",
        "traces/dpdk-stall/trace.log",
        "--guest",
        "traces/dpdk-stall/guest-trace.txt",
        "--dpdk",
        "traces/dpdk-stall/dpdk.log",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let q = v["join"]["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "net0.q1")
        .unwrap();
    assert_eq!(q["popped"], 321);
}

#[test]
fn a_wrong_file_given_as_a_side_is_an_error_that_says_what_it_is() {
    // QEMU's trace given as the guest's.
    let (code, _, err) = ringside(&[
        "replay",
        "traces/guest-split/trace.log",
        "--guest",
        "traces/guest-split/trace.log",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("traces/guest-split/trace.log"), "{err}");
    assert!(
        err.contains("no driver event") && err.contains("a QEMU trace log"),
        "{err}"
    );
    assert!(err.contains("--guest"), "{err}");
    // The guest's trace given as DPDK's log.
    let (code, _, err) = ringside(&[
        "replay",
        "traces/dpdk-split/trace.log",
        "--dpdk",
        "traces/dpdk-split/guest-trace.txt",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no vhost-user message or packet line"),
        "{err}"
    );
    assert!(err.contains("guest driver trace"), "{err}");
}
