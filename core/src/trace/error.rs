//! Errors and warnings of the importers.
//!
//! Bad input is the normal case for a debugger (a log cut off by a crash, a dump taken with the
//! wrong size), so every problem says where it is (file, line or byte offset), what was expected,
//! and what to try. Only problems that make the whole input unusable are errors; the rest are
//! [`ImportWarning`]s collected next to the data.

use std::fmt;

use serde::Serialize;
use thiserror::Error;

use crate::layout::LayoutError;

/// Why an input could not be imported at all.
#[derive(Debug, Error)]
pub enum TraceError {
    /// Reading a stream failed ([`crate::trace::TraceStore::from_reader`]). The error's text is
    /// kept, not the error itself, so that it is printed once.
    #[error("{file}: cannot read: {message} (hint: {hint})")]
    Io {
        /// File name (or `<memory>`).
        file: String,
        /// What the reader said.
        message: String,
        /// What to try.
        hint: &'static str,
    },
    /// A whole input is not what it was given as (an empty file, a QMP transcript passed as the
    /// trace, random bytes).
    #[error("{file}: {what}; expected {expected} (hint: {hint})")]
    Unusable {
        /// File name.
        file: String,
        /// What it is.
        what: String,
        /// What was expected.
        expected: String,
        /// What to try.
        hint: String,
    },
    /// A text input is unusable at a given line (and column, when known).
    #[error("{file}:{line}{}: {what}; expected {expected} (hint: {hint})", col(*.column))]
    Line {
        /// File name.
        file: String,
        /// 1-based line number.
        line: u64,
        /// 1-based column (bytes), when the importer knows it.
        column: Option<u64>,
        /// What was found.
        what: String,
        /// What the importer expected.
        expected: String,
        /// What to try.
        hint: String,
    },
    /// A binary input is unusable at a given byte offset (including "too short").
    #[error("{file}: byte offset {offset}: {what}; expected {expected} (hint: {hint})")]
    Bytes {
        /// File name.
        file: String,
        /// Byte offset of the problem.
        offset: u64,
        /// What was found.
        what: String,
        /// What the importer expected.
        expected: String,
        /// What to try.
        hint: String,
    },
    /// QEMU answered a QMP command with an error object.
    #[error("{file}:{line}: QMP command `{command}` failed: {class}: {desc} (hint: {hint})")]
    Qmp {
        /// File name.
        file: String,
        /// 1-based line of the error response.
        line: u64,
        /// The command it answers, if known.
        command: String,
        /// QMP error class (`GenericError`, `CommandNotFound`, …).
        class: String,
        /// QEMU's description.
        desc: String,
        /// What to try.
        hint: String,
    },
    /// A ring layout is impossible (size, alignment, overlap).
    #[error("{file}: {source}")]
    Layout {
        /// File name.
        file: String,
        /// The layout problem.
        #[source]
        source: LayoutError,
    },
}

/// `:COLUMN` after a line number, when there is a column.
fn col(column: Option<u64>) -> String {
    column.map_or_else(String::new, |c| format!(":{c}"))
}

/// A problem that does not stop the import: the offending line or record is kept (as an unknown
/// line) or skipped, and the warning says where and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportWarning {
    /// File name.
    pub file: String,
    /// 1-based line number, for text inputs.
    pub line: Option<u64>,
    /// Byte offset, for binary inputs (or the start of the line).
    pub offset: Option<u64>,
    /// 1-based column (bytes) within the line, when the importer knows where in it.
    pub column: Option<u64>,
    /// What is wrong.
    pub message: String,
    /// What was expected there.
    pub expected: String,
    /// What to try.
    pub hint: String,
}

impl ImportWarning {
    /// The warning as a [`TraceError`], for callers that want to be strict.
    pub fn into_error(self) -> TraceError {
        match self.line {
            Some(line) => TraceError::Line {
                file: self.file,
                line,
                column: self.column,
                what: self.message,
                expected: self.expected,
                hint: self.hint,
            },
            None => TraceError::Bytes {
                file: self.file,
                offset: self.offset.unwrap_or(0),
                what: self.message,
                expected: self.expected,
                hint: self.hint,
            },
        }
    }
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}{}", col(self.column))?;
        }
        if let Some(o) = self.offset.filter(|_| self.line.is_none()) {
            write!(f, ": byte offset {o}")?;
        }
        write!(f, ": warning: {}", self.message)?;
        if !self.expected.is_empty() {
            write!(f, "; expected {}", self.expected)?;
        }
        if !self.hint.is_empty() {
            write!(f, " (hint: {})", self.hint)?;
        }
        Ok(())
    }
}

/// At most this many warnings are kept per input; the rest are only counted, so a binary file
/// fed by mistake cannot fill memory with warnings.
pub const MAX_WARNINGS: usize = 200;

/// A bounded list of warnings plus a count of those that did not fit.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Warnings {
    /// The first [`MAX_WARNINGS`] warnings.
    pub list: Vec<ImportWarning>,
    /// How many more there were.
    pub dropped: u64,
}

impl Warnings {
    /// Adds one, or counts it when the list is full.
    pub fn push(&mut self, w: ImportWarning) {
        if self.list.len() < MAX_WARNINGS {
            self.list.push(w);
        } else {
            self.dropped += 1;
        }
    }
    /// Total number of warnings seen.
    pub fn total(&self) -> u64 {
        self.list.len() as u64 + self.dropped
    }
}
