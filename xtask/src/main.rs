//! ringside's development tasks, run as `cargo xtask TASK` (an alias in `.cargo/config.toml`).
//!
//! - `cargo xtask web`: builds the browser app into `web/dist/` (index.html, the .wasm, the
//!   JavaScript glue): the `ringside-web` library for wasm32-unknown-unknown in the `web`
//!   profile, then wasm-bindgen-cli at exactly the version in Cargo.lock (installed with
//!   `cargo install` when missing or different). No trunk and no wasm-opt: trunk downloads
//!   binaries, and Debian's wasm-opt breaks the output (see docs/PERFORMANCE.md).
//! - `cargo xtask serve [--port N]`: serves `web/dist/` on 127.0.0.1 and prints the URL.

mod serve;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

/// The gzipped .wasm must stay under this (issue 12).
const WASM_GZIP_BUDGET: u64 = 3_000_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("web") => web(),
        Some("serve") => serve::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask web            build the browser app into web/dist/\n       cargo xtask serve [--port N]  serve web/dist/ on 127.0.0.1"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace's root (xtask lives one level below it).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The web app's output folder.
pub fn dist() -> PathBuf {
    root().join("web").join("dist")
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("xtask: {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{:?} failed ({status})", cmd.get_program());
    }
    Ok(())
}

/// The version of a package in Cargo.lock.
fn locked_version(lock: &str, package: &str) -> Option<String> {
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l.trim() == format!("name = \"{package}\"") {
            let v = lines.next()?.trim();
            return Some(
                v.strip_prefix("version = \"")?
                    .trim_end_matches('"')
                    .to_string(),
            );
        }
    }
    None
}

fn ensure_target() -> anyhow::Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    let installed = out
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-unknown-unknown"))
        .unwrap_or(false);
    if !installed {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    Ok(())
}

/// wasm-bindgen-cli at `version`, installed when missing or different.
fn ensure_bindgen(version: &str) -> anyhow::Result<()> {
    let have = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if have == format!("wasm-bindgen {version}") {
        return Ok(());
    }
    eprintln!(
        "xtask: need wasm-bindgen {version} (Cargo.lock), have {:?}: installing (a few minutes)",
        if have.is_empty() { "none" } else { &have }
    );
    // Not --locked: the registry here lacks a version its lock file pins.
    run(Command::new(cargo()).args(["install", "wasm-bindgen-cli", "--version", version]))
}

fn gzip_len(bytes: &[u8]) -> anyhow::Result<u64> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)?;
    Ok(enc.finish()?.len() as u64)
}

fn web() -> anyhow::Result<()> {
    let root = root();
    let lock =
        std::fs::read_to_string(root.join("Cargo.lock")).context("cannot read Cargo.lock")?;
    let version = locked_version(&lock, "wasm-bindgen")
        .context("Cargo.lock has no wasm-bindgen: is ringside-web in the workspace?")?;
    ensure_target()?;
    ensure_bindgen(&version)?;
    run(Command::new(cargo()).current_dir(&root).args([
        "build",
        "-p",
        "ringside-web",
        "--lib",
        "--profile",
        "web",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let wasm = target_dir.join("wasm32-unknown-unknown/web/ringside_web.wasm");
    let dist = dist();
    if dist.exists() {
        std::fs::remove_dir_all(&dist)
            .with_context(|| format!("cannot clear {}", dist.display()))?;
    }
    std::fs::create_dir_all(&dist)?;
    run(Command::new("wasm-bindgen")
        .args([
            "--target",
            "web",
            "--no-typescript",
            "--out-name",
            "ringside_web",
            "--out-dir",
        ])
        .arg(&dist)
        .arg(&wasm))?;
    std::fs::copy(root.join("web/index.html"), dist.join("index.html"))
        .context("cannot copy web/index.html")?;
    let bytes = std::fs::read(dist.join("ringside_web_bg.wasm"))?;
    let gz = gzip_len(&bytes)?;
    let js = std::fs::read(dist.join("ringside_web.js"))?;
    println!(
        "built {}: ringside_web_bg.wasm {} bytes ({} gzipped), ringside_web.js {} bytes ({} gzipped)",
        dist.display(),
        bytes.len(),
        gz,
        js.len(),
        gzip_len(&js)?
    );
    if gz > WASM_GZIP_BUDGET {
        bail!("the .wasm is {gz} bytes gzipped, over the {WASM_GZIP_BUDGET}-byte budget");
    }
    println!("serve it with `cargo xtask serve`");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locked_version_is_the_one_under_the_name() {
        let lock = "[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"9.9.9\"\n\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(locked_version(lock, "eframe"), None);
    }
}
