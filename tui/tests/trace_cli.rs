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
    use ringside_core::ui::Opened;
    use ringside_tui::files::open_target;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../traces/");
    let trace = format!("{dir}split-default/trace.log");
    assert!(matches!(
        open_target(&trace, None, None),
        Ok(Opened::Trace(_))
    ));
    let name = ringside_core::scenario::EMBEDDED[0].0;
    assert!(matches!(
        open_target(name, None, None),
        Ok(Opened::Scenario(_))
    ));
    // A file that is neither says what it is and what was expected.
    let readme = format!("{dir}README.md");
    let e = open_target(&readme, None, None).err().unwrap().to_string();
    assert!(e.contains("not an input ringside reads"), "{e}");
    assert!(e.contains("expected a scenario"), "{e}");
}
