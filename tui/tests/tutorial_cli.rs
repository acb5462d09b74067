//! `ringside tutorial` and `ringside run chapter-N`: the pages the command writes are core's,
//! a chapter runs headless with its checkpoints answered, a broken chapter file is bad input,
//! and saving can be turned off.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn ringside(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ringside"));
    c.args(args).current_dir(repo());
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().expect("run ringside")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn markdown_writes_the_pages_core_generates() {
    let dir = std::env::temp_dir().join(format!("ringside-pages-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = ringside(&["tutorial", "--markdown", dir.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let pages = ringside_core::tutorial::markdown::pages().unwrap();
    assert_eq!(pages.len(), 11);
    for (name, page) in pages {
        let written = std::fs::read_to_string(dir.join(&name)).unwrap();
        assert_eq!(written, page, "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_chapter_runs_headless_with_its_checkpoints_answered() {
    let out = ringside(&["run", "chapter-6"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.starts_with("chapter 6: Wrap counters"), "{s}");
    let lap0 = s
        .lines()
        .find(|l| l.contains("checkpoint lap0-flags"))
        .expect("lap0-flags");
    assert!(
        lap0.contains("32770") && lap0.contains("desc[0].flags"),
        "{lap0}"
    );
    assert!(!s.contains("FAIL"), "{s}");
    // The same chapter by its file.
    let out = ringside(&["run", "scenarios/tutorial/06-wrap-counters.ron"], &[]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_broken_chapter_file_is_bad_input_at_its_place() {
    let f = "scenarios/invalid/tutorial/unknown-question.ron";
    let out = ringside(&["run", f], &[]);
    assert_eq!(out.status.code(), Some(2));
    let e = text(&out.stderr);
    assert!(
        e.contains(&format!("{f}:")) && e.contains("did you mean `Transfers`?"),
        "{e}"
    );
}

#[test]
fn the_chapter_list_runs_without_saving_when_asked() {
    for (args, envs) in [
        (vec!["tutorial", "--no-save"], vec![]),
        (vec!["tutorial"], vec![("RINGSIDE_NO_SAVE", "1")]),
    ] {
        let out = ringside(&args, &envs);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let s = text(&out.stdout);
        assert!(
            s.contains(" 1. What a virtqueue is") && s.contains("10. Debugging a real trace"),
            "{s}"
        );
        assert!(
            s.contains("here"),
            "chapter 1 is where a fresh learner starts: {s}"
        );
        assert!(s.contains("progress: not saved"), "{s}");
    }
}
