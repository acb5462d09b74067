//! The `ringside` binary: exit codes (0 all expectations hold, 1 one fails, 2 bad input), the
//! JSON shape of `run --json`, `list` and `compare`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ringside(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ringside"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run ringside")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn list_names_every_embedded_scenario_with_a_description() {
    let out = ringside(&["list"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    for (name, _) in ringside_core::scenario::EMBEDDED {
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(*name))
            .unwrap_or_else(|| panic!("{name} not listed"));
        assert!(line.len() > name.len() + 10, "{line}");
    }
}

#[test]
fn a_passing_run_exits_0_and_prints_the_summary() {
    let out = ringside(&["run", "split-unbatched"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    for key in [
        "layout",
        "buffers",
        "steps",
        "accesses",
        "cache (model)",
        "per field",
        "notifications",
        "findings",
        "expectations",
    ] {
        assert!(s.contains(key), "no `{key}` in\n{s}");
    }
    assert!(!s.contains("FAIL"), "{s}");
}

#[test]
fn a_failing_expectation_exits_1_and_says_which() {
    let out = ringside(&["run", "tui/tests/fixtures/failing.ron"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("1/3 hold"), "{s}");
    assert!(s.contains("FAIL  MissesPerBuffer <= 1"), "{s}");
    assert!(s.contains("FAIL  finding stall"), "{s}");
}

#[test]
fn bad_input_exits_2_with_place_and_hint() {
    let out = ringside(&["run", "scenarios/invalid/unknown-op.ron"]);
    assert_eq!(out.status.code(), Some(2));
    let e = text(&out.stderr);
    assert!(
        e.contains("scenarios/invalid/unknown-op.ron:6:35: unknown name `Kik`"),
        "{e}"
    );
    assert!(e.contains("hint: did you mean `Kick`?"), "{e}");
    let out = ringside(&["run", "split-unbatchd"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("did you mean `split-unbatched`?"),
        "{}",
        text(&out.stderr)
    );
    let out = ringside(&[
        "compare",
        "split-unbatched",
        "scenarios/invalid/unclosed.ron",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_has_the_documented_shape() {
    let out = ringside(&["run", "packed-id-last-only", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["scenario"], "packed-id-last-only");
    assert_eq!(v["layout"], "packed");
    assert!(v["buffers"].is_u64());
    assert!(v["steps"].is_u64());
    assert!(v["cache"]["misses_per_buffer"].is_f64());
    assert!(v["cache"]["per_field"].is_object());
    assert!(v["notifications"]["driver_to_device"].is_u64());
    assert!(v["notifications"]["device_to_driver"].is_u64());
    let findings = v["findings"].as_array().expect("findings[]");
    assert!(!findings.is_empty());
    for f in findings {
        assert!(f["code"].is_string(), "{f}");
        assert!(f["severity"].is_string(), "{f}");
        assert!(f["step"].is_u64(), "{f}");
        assert!(f["message"].is_string(), "{f}");
    }
    assert_eq!(findings[0]["code"], "id-placement");
    assert_eq!(findings[0]["severity"], "warning");
    let exp = v["expectations"].as_array().expect("expectations[]");
    assert!(!exp.is_empty());
    for e in exp {
        assert!(
            e["expected"].is_string() && e["observed"].is_string(),
            "{e}"
        );
        assert_eq!(e["pass"], true, "{e}");
    }
    assert_eq!(v["passed"], true);
}

#[test]
fn json_of_a_failing_run_exits_1_too() {
    let out = ringside(&["run", "tui/tests/fixtures/failing.ron", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["passed"], false);
}

#[test]
fn compare_prints_both_side_by_side() {
    let out = ringside(&["compare", "split-unbatched", "packed-unbatched"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    let row = s
        .lines()
        .find(|l| l.starts_with("MissesPerBuffer"))
        .expect("misses row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells.len(), 3, "{row}");
    let split: f64 = cells[1].parse().unwrap();
    let packed: f64 = cells[2].parse().unwrap();
    assert!(split > packed, "{row}");
    assert!(s.lines().next().unwrap().contains("packed-unbatched"));
    // Both value columns are right-aligned: every row ends at the same column.
    let ends: Vec<usize> = s.lines().map(|l| l.chars().count()).collect();
    assert!(ends.iter().all(|&e| e == ends[0]), "{s}");
}
