//! `ringside list`, `run` and `compare`.

use std::process::ExitCode;

/// Lists embedded scenarios.
pub fn list() -> anyhow::Result<ExitCode> {
    anyhow::bail!("no scenarios yet")
}

/// Runs one scenario headless.
pub fn run(name: &str, json: bool) -> anyhow::Result<ExitCode> {
    anyhow::bail!("cannot run {name} yet (json: {json})")
}

/// Runs two scenarios side by side.
pub fn compare(a: &str, b: &str) -> anyhow::Result<ExitCode> {
    anyhow::bail!("cannot compare {a} and {b} yet")
}
