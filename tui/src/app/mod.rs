//! The stepping UI.

use std::process::ExitCode;

/// Opens the UI on a scenario, a file, or (with `None`) the tutorial's first chapter.
pub fn open(target: Option<&str>) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the stepping UI is not built yet (target: {target:?})")
}
