//! Scenarios: a titled, narrated list of ops on a configured engine, written in RON and
//! embedded in the binaries.

use serde::{Deserialize, Serialize};

use crate::engine::{EngineConfig, EngineError};
use crate::op::Op;
use crate::session::Session;

/// One step of a scenario: an op and what to say about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The op.
    pub op: Op,
    /// Narration shown while this op runs.
    #[serde(default)]
    pub say: Option<String>,
}

/// A scenario file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    /// Title.
    pub title: String,
    /// Tutorial chapter, if part of the tutorial.
    #[serde(default)]
    pub chapter: Option<String>,
    /// One-line description for `ringside list`.
    #[serde(default)]
    pub description: String,
    /// The engine.
    pub engine: EngineConfig,
    /// The steps.
    pub steps: Vec<Step>,
}

/// A scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// RON syntax or shape error.
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        /// File name.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What went wrong.
        message: String,
    },
    /// Neither an embedded name nor a readable file.
    #[error("no scenario named `{0}` and no such file")]
    NotFound(String),
    /// The engine rejected the configuration.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Embedded scenarios: `(name, RON text)`.
pub const EMBEDDED: &[(&str, &str)] = &[(
    "tutorial-split-basics",
    include_str!("../../scenarios/tutorial/01-split-basics.ron"),
)];

impl Scenario {
    /// Parses RON text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, ScenarioError> {
        ron::from_str(text).map_err(|e| ScenarioError::Parse {
            file: file.to_string(),
            line: e.span.start.line,
            column: e.span.start.col,
            message: e.code.to_string(),
        })
    }

    /// An embedded scenario by name, or a RON file by path.
    pub fn find(name_or_path: &str) -> Result<Self, ScenarioError> {
        if let Some((n, text)) = EMBEDDED.iter().find(|(n, _)| *n == name_or_path) {
            return Self::parse(n, text);
        }
        match std::fs::read_to_string(name_or_path) {
            Ok(text) => Self::parse(name_or_path, &text),
            Err(_) => Err(ScenarioError::NotFound(name_or_path.to_string())),
        }
    }

    /// The first chapter of the tutorial: what `ringside` opens with no arguments.
    pub fn tutorial_start() -> Result<Self, ScenarioError> {
        Self::find(EMBEDDED[0].0)
    }

    /// The ops, in order.
    pub fn ops(&self) -> Vec<Op> {
        self.steps.iter().map(|s| s.op.clone()).collect()
    }

    /// Runs it into a session.
    pub fn session(&self) -> Result<Session, EngineError> {
        Session::new(self.engine.clone(), &self.ops())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tutorial_parses_and_runs_clean() {
        let s = Scenario::tutorial_start().unwrap();
        let sess = s.session().unwrap();
        assert!(
            sess.final_state().findings.0.is_empty(),
            "{:?}",
            sess.final_state().findings
        );
        assert!(sess.len() > 20);
    }

    #[test]
    fn a_bad_file_names_line_and_column() {
        let e = Scenario::parse("bad.ron", "Scenario(\n  title: 5,\n)").unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("bad.ron:2:"), "{s}");
    }
}
