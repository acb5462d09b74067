//! Why something could not be opened, read or saved: one error for every face.

use super::link::LinkError;
use crate::engine::EngineError;
use crate::scenario::ScenarioError;

/// Something could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// The scenario could not be loaded.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The engine rejected the scenario.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The trace, QMP transcript or ring dumps could not be imported.
    #[error(transparent)]
    Trace(#[from] Box<crate::trace::TraceError>),
    /// A file that is not a scenario, a saved session or a trace.
    #[error(
        "{name}: {what} ({why}); expected a scenario (`ringside list` names them), a .ron scenario or saved session, or a QEMU trace log"
    )]
    NotOpenable {
        /// The file.
        name: String,
        /// What it looks like.
        what: String,
        /// Why the sniffer says so.
        why: String,
    },
    /// A saved session is malformed.
    #[error("{path}: not a saved session: {message}")]
    Saved {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A saved bench result that cannot be used (where it is broken, what to do).
    #[error("{0}")]
    Bench(String),
    /// A link cannot be read, or no longer fits what it opens.
    #[error(transparent)]
    Link(#[from] LinkError),
}
