//! `ringside bench`: the JSON it prints and saves, the one-CPU fallback to notifications, bad
//! options, and Ctrl-C stopping cleanly with partial results.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ringside_core::bench::{BenchMode, BenchReport, Wake, predict};
use ringside_core::layout::RingKind;

fn ringside(args: &[&str], data_dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ringside"))
        .arg("bench")
        .args(args)
        .env("RINGSIDE_DATA_DIR", data_dir)
        .output()
        .expect("run ringside")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ringside-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn json_has_every_configuration_with_the_model_and_save_keeps_it() {
    let dir = scratch("json");
    let out = ringside(&["--json", "--save", "--buffers", "20000"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = BenchReport::parse("stdout", &text(&out.stdout)).unwrap();
    // Both layouts at batches 1 and 4, ping-pong.
    let shapes: Vec<_> = printed
        .results
        .iter()
        .map(|r| (r.config.layout, r.config.batch, r.config.outstanding))
        .collect();
    assert_eq!(
        shapes,
        [
            (RingKind::Split, 1, 1),
            (RingKind::Packed, 1, 1),
            (RingKind::Split, 4, 4),
            (RingKind::Packed, 4, 4)
        ]
    );
    for r in &printed.results {
        assert_eq!(r.buffers, 20_000);
        assert!(r.ns_per_buffer.is_some_and(|ns| ns > 0.0), "{r:?}");
        assert_eq!(r.config.mode, BenchMode::Poll);
        let want = predict(&r.config).unwrap().misses_per_buffer;
        assert_eq!(r.model_misses_per_buffer, Some(want));
    }
    assert_eq!(printed.ratios.len(), 2);
    let saved = std::fs::read_to_string(dir.join("bench.json")).unwrap();
    assert_eq!(BenchReport::parse("saved", &saved).unwrap(), printed);
    assert!(
        text(&out.stderr).contains("saved to"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn one_cpu_runs_with_notifications_and_says_why() {
    let dir = scratch("one");
    let args = [
        "--json",
        "--driver-cpu",
        "0",
        "--device-cpu",
        "0",
        "--layout",
        "packed",
        "--batch",
        "1",
        "--buffers",
        "3000",
    ];
    let out = ringside(&args, &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = BenchReport::parse("stdout", &text(&out.stdout)).unwrap();
    let x = &r.results[0];
    assert_eq!(
        (x.config.mode, x.wake),
        (BenchMode::Notify, Some(Wake::Park))
    );
    assert_eq!((x.driver_cpu, x.device_cpu), (Some(0), Some(0)));
    assert!(x.counts.kicks > 0 && x.counts.interrupts > 0, "{x:?}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("polling there would spin"))
    );
    assert!(!dir.exists(), "nothing saved without --save");
}

#[test]
fn the_table_names_its_columns_and_the_model() {
    let out = ringside(
        &["--layout", "split", "--batch", "1", "--buffers", "5000"],
        &scratch("t"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("ns/buffer") && s.contains("model misses"), "{s}");
    let row = s.lines().find(|l| l.starts_with("split")).unwrap();
    assert!(
        row.contains("4.98"),
        "split ping-pong, model 4.98 misses: {row}"
    );
}

#[test]
fn bad_options_exit_2_with_the_fix() {
    let d = scratch("bad");
    let out = ringside(&["--ring-size", "768"], &d);
    assert_eq!(out.status.code(), Some(2));
    let e = text(&out.stderr);
    assert!(
        e.contains("power of 2") && e.contains("--layout packed"),
        "{e}"
    );
    let out = ringside(&["--event-idx"], &d);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("needs --notify"));
    let out = ringside(&["--batch", "4", "--outstanding", "2"], &d);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--outstanding 2 must be between"));
}

#[test]
fn ctrl_c_stops_cleanly_and_prints_what_was_measured() {
    let child = Command::new(env!("CARGO_BIN_EXE_ringside"))
        .args(["bench", "--json", "--layout", "split", "--duration", "60"])
        .env("RINGSIDE_DATA_DIR", scratch("int"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let t = Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let r = BenchReport::parse("stdout", &text(&out.stdout)).unwrap();
    // The first configuration, cut short; the second never started.
    assert_eq!(r.results.len(), 1);
    let x = &r.results[0];
    assert!(x.interrupted && x.buffers > 0, "{x:?}");
    assert!(x.warnings.iter().any(|w| w.contains("Ctrl-C")), "{x:?}");
}
