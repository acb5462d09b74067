//! End to end: the real binary in a tmux pseudo-terminal. Steps, goes back, opens the help,
//! quits, reading the screen each time. Needs tmux (`apt-get install -y tmux`).

use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

struct Tmux(String);

impl Tmux {
    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(args)
            .output()
            .expect("tmux is needed for this test: apt-get install -y tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.0];
        args.extend(keys);
        self.tmux(&args);
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", &self.0])
    }

    /// Waits until the screen contains `text`; fails with the screen otherwise.
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(10) {
                panic!("`{text}` never appeared; screen:\n{s}");
            }
            sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the screen no longer contains `text` (a lone Escape reaches the program
    /// only after tmux's escape-time, so closing a popup is not instant).
    fn wait_gone(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if !s.contains(text) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(10) {
                panic!("`{text}` never went away; screen:\n{s}");
            }
            sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .output();
    }
}

/// Whether tmux can run here. CI (`.ci/run` installs tmux and sets `CI`) must have it; a
/// developer's machine without it skips these two tests with a note instead of failing the
/// README's `cargo test --workspace`.
fn tmux_available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "CI must run the tmux end-to-end tests: apt-get install -y tmux"
    );
    if !ok {
        eprintln!("skipping: tmux is not installed (apt-get install -y tmux)");
    }
    ok
}

#[test]
fn step_back_help_and_quit_in_a_real_terminal() {
    if !tmux_available() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_ringside");
    let t = Tmux(format!("ringside-e2e-{}", std::process::id()));
    let status = Command::new("tmux")
        .args(["new-session", "-d", "-s", &t.0, "-x", "100", "-y", "30"])
        .arg(format!(
            "{bin} tui tutorial-split-basics; echo EXITED $?; sleep 30"
        ))
        .status()
        .expect("tmux is needed for this test: apt-get install -y tmux");
    assert!(status.success());
    t.wait_for("step 0/41");
    t.keys(&["Right", "Right", "Right"]);
    t.wait_for("step 3/41");
    // Shift+→ finishes the negotiation op: the queue now exists.
    t.keys(&["S-Right"]);
    let s = t.wait_for("step 11/41  op 2/9");
    assert!(s.contains("ring — split") && s.contains("AVAIL"), "{s}");
    t.keys(&["Left"]);
    t.wait_for("step 10/41");
    t.keys(&["?"]);
    t.wait_for("help — Esc or ? closes");
    t.keys(&["Escape"]);
    let s = t.wait_gone("help — Esc");
    assert!(s.contains("step 10/41"), "{s}");
    t.keys(&["q"]);
    t.wait_for("EXITED 0");
}

#[test]
fn no_arguments_open_the_course_and_a_question_waits_for_its_answer() {
    if !tmux_available() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_ringside");
    let t = Tmux(format!("ringside-e2e-course-{}", std::process::id()));
    let status = Command::new("tmux")
        .args(["new-session", "-d", "-s", &t.0, "-x", "100", "-y", "30"])
        .arg(format!(
            "RINGSIDE_NO_SAVE=1 {bin}; echo EXITED $?; sleep 30"
        ))
        .status()
        .expect("tmux is needed for this test: apt-get install -y tmux");
    assert!(status.success());
    t.wait_for("Chapter 1: What a virtqueue is");
    // Stepping past the negotiation reaches the first question, which stops the cursor.
    t.keys(&["S-Right", "S-Right"]);
    let s = t.wait_for("your answer:");
    assert!(s.contains("desc[1].flags"), "{s}");
    t.keys(&["S-Right"]);
    t.keys(&["2", "Enter"]);
    t.wait_for("✓ Right: 2.");
    t.keys(&["t"]);
    t.wait_for("the course: 0 of 10 chapters done");
    t.keys(&["q"]);
    t.wait_for("EXITED 0");
}

#[test]
fn a_trace_opens_steps_and_quits() {
    if !tmux_available() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_ringside");
    let d = concat!(env!("CARGO_MANIFEST_DIR"), "/../traces/split-wrap");
    let t = Tmux(format!("ringside-e2e-trace-{}", std::process::id()));
    let status = Command::new("tmux")
        .args(["new-session", "-d", "-s", &t.0, "-x", "120", "-y", "40"])
        .arg(format!(
            "{bin} tui {d}/trace.log --qmp {d}/qmp.jsonl --rings {d}/rings; echo EXITED $?; sleep 30"
        ))
        .status()
        .expect("tmux is needed for this test: apt-get install -y tmux");
    assert!(status.success());
    let s = t.wait_for("event 0/6197");
    assert!(s.contains("queues") && s.contains("blk0.q0"), "{s}");
    t.keys(&["Right", "Right"]);
    let s = t.wait_for("event 2/6197  line 2");
    assert!(s.contains("virtio_set_status"), "{s}");
    t.keys(&["g"]);
    t.wait_for("go to step (or `line N`)");
    t.keys(&["line 3000", "Enter"]);
    t.wait_for("line 3000");
    t.keys(&["End"]);
    t.wait_for("event 6197/6197");
    t.keys(&["q"]);
    t.wait_for("EXITED 0");
}

#[test]
fn without_a_terminal_it_says_so_and_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_ringside"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a terminal"));
}

/// The saved bench result in the data directory (`RINGSIDE_DATA_DIR`, as `ringside bench
/// --save` writes it) shows in the scenario's cache pane: the split ring's measured time from
/// the file next to the model's misses; with no file there, the pane says how to make one.
#[test]
fn the_saved_bench_result_shows_next_to_the_model() {
    if !tmux_available() {
        return;
    }
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/fixtures/bench.json"
    );
    let saved = std::fs::read_to_string(fixture).unwrap();
    let v: serde_json::Value = serde_json::from_str(&saved).unwrap();
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
    let bin = env!("CARGO_BIN_EXE_ringside");
    for with_file in [true, false] {
        let dir = std::env::temp_dir().join(format!(
            "ringside-e2e-bench-{with_file}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if with_file {
            std::fs::write(dir.join("bench.json"), &saved).unwrap();
        }
        let t = Tmux(format!(
            "ringside-e2e-bench-{with_file}-{}",
            std::process::id()
        ));
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &t.0, "-x", "200", "-y", "50"])
            .arg(format!(
                "RINGSIDE_DATA_DIR={} {bin} tui split-unbatched; echo EXITED $?; sleep 30",
                dir.display()
            ))
            .status()
            .expect("tmux is needed for this test: apt-get install -y tmux");
        assert!(status.success());
        t.wait_for("step 0/");
        // Focus the cache pane (2) and give it the screen (e).
        t.keys(&["2", "e"]);
        t.wait_for("1 3 4 5 6 7 more panes");
        let s = t.wait_for(if with_file {
            &ns
        } else {
            "no bench result saved"
        });
        assert!(
            s.contains("measured by `ringside bench` vs the model"),
            "{s}"
        );
        if with_file {
            let row = s
                .lines()
                .position(|l| l.contains("measured split 256, batch 1") && l.contains(&ns))
                .unwrap_or_else(|| panic!("no measured row with {ns}:\n{s}"));
            let next = s.lines().nth(row + 1).unwrap_or_default();
            assert!(next.contains("model") && next.contains(&misses), "{s}");
        } else {
            assert!(!s.contains(&ns), "{s}");
        }
        t.keys(&["q"]);
        t.wait_for("EXITED 0");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
