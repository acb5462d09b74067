//! Loading a scenario file: RON in, a [`Scenario`] or an error that says where (file, line,
//! column), what shape was expected there, and which word was probably meant.
//!
//! Two kinds of mistake need catching. Syntax and shape errors come from the RON parser with a
//! position. A misspelt field is harder: serde skips unknown fields unless a type forbids them,
//! and the engine's types (queue, buffers, ops, behaviours) accept them silently. The loader
//! therefore watches for every ignored field and reports the first one as an error.

use super::Scenario;
use super::cache::CacheSpecError;
use crate::cache::CacheError;
use crate::engine::{Engine, EngineError};
use crate::layout::{LINUX_USED_ALIGN, LayoutError, MAX_QUEUE_SIZE, MIN_USED_ALIGN};
use crate::suggest;

/// Fields of the engine's own types, which the loader can only check by name: a misspelt one
/// is matched against these for the hint. Fields of the scenario's own types are checked by
/// the parser, which knows their exact lists.
const ENGINE_FIELDS: &[&str] = &[
    // EngineConfig
    "queue",
    "device_features",
    "driver_features",
    "device_refuses",
    "device_transitional",
    "driver_legacy_fallback",
    "driver",
    "device",
    // QueueConfig, BufferArea
    "layout",
    "size",
    "base",
    "buffers",
    "index",
    "used_align",
    "data",
    "stride",
    "tables",
    // DriverBehaviour, DeviceBehaviour
    "id_placement",
    "used_len",
    "faults",
    "id_source",
    "used_write",
    "touch_payload",
    // Op variants' fields, BufferSpec
    "buffer",
    "count",
    "max",
    "pick",
    "written",
    "fault",
    "on",
    "times",
    "ops",
    "readable",
    "writable",
    "indirect",
];

/// The top-level shape, shown when a file does not even start like a scenario.
const SHAPE: &str = "Scenario(title: \"...\", engine: (queue: (layout: Split, size: 8), device_features: [...], driver_features: [...]), steps: [(op: Negotiate), ...], expect: [...])";

/// A scenario could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    /// RON syntax or shape error, or a misspelt field or name.
    #[error(
        "{file}:{line}:{column}: {message}{}{}",
        opt("expected", expected),
        opt("hint", hint)
    )]
    Parse {
        /// File name.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What went wrong.
        message: String,
        /// The shape or words accepted at that place.
        expected: Option<String>,
        /// A likely fix ("did you mean ...?").
        hint: Option<String>,
    },
    /// Neither an embedded name nor an existing file.
    #[error(
        "no embedded scenario named `{name}` and no such file{hint} (`ringside list` shows the names)"
    )]
    NotFound {
        /// What was asked for.
        name: String,
        /// "; did you mean ...?" or empty.
        hint: String,
    },
    /// The file exists but cannot be read.
    #[error("{file}: {message}")]
    Io {
        /// File name.
        file: String,
        /// The OS error.
        message: String,
    },
    /// The engine rejected the configuration (a queue size the layout does not allow...).
    #[error("{file}: {source}")]
    Engine {
        /// File or scenario name.
        file: String,
        /// Why.
        source: EngineError,
    },
    /// The cache settings cannot be modelled.
    #[error("{file}: cache: {source}")]
    Cache {
        /// File or scenario name.
        file: String,
        /// Why.
        source: super::cache::CacheSpecError,
    },
    /// An expectation compares against another scenario that cannot be loaded or run.
    #[error("{file}: expectation refers to `{other}`: {message}")]
    Reference {
        /// This scenario.
        file: String,
        /// The one it refers to.
        other: String,
        /// What went wrong with it.
        message: String,
    },
}

fn opt(label: &str, v: &Option<String>) -> String {
    v.as_ref()
        .map(|s| format!("\n  {label}: {s}"))
        .unwrap_or_default()
}

/// Parses a scenario. `file` names it in errors.
pub fn load(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let scenario: Scenario = load_as(file, text, &SCENARIO)?;
    check_values(file, text, &scenario)?;
    Ok(scenario)
}

/// What a kind of file looks like at its top level, for errors about its shape.
pub(crate) struct Shape {
    /// The top-level struct's name (`Scenario`, `Chapter`).
    pub name: &'static str,
    /// The shape shown under "expected" when the file does not even start like one.
    pub example: &'static str,
    /// Where to find examples.
    pub examples: &'static str,
}

/// The scenario file's shape.
const SCENARIO: Shape = Shape {
    name: "Scenario",
    example: SHAPE,
    examples: "a scenario file holds one `Scenario(...)`; scenarios/talk/ has examples",
};

/// Parses any RON file kind with the scenario loader's error quality: a syntax or shape error
/// at its line and column with what was expected there and a "did you mean", and a misspelt
/// field that serde would have skipped reported as an error at its place.
pub(crate) fn load_as<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
    shape: &Shape,
) -> Result<T, ScenarioError> {
    let mut ignored: Vec<String> = Vec::new();
    let parsed = (|| {
        let mut de = ron::Deserializer::from_str(text)?;
        let value: T = serde_ignored::deserialize(&mut de, |path| {
            ignored.push(path.to_string());
        })
        .map_err(|e| de.span_error(e))?;
        de.end().map_err(|e| de.span_error(e))?;
        Ok::<_, ron::error::SpannedError>(value)
    })();
    let value = parsed.map_err(|e| match (&e.code, ignored.first()) {
        // A misspelt required field is first an unknown one, then a missing one: say the
        // cause, at the misspelling, with the missing field as the likely meaning.
        (ron::error::Error::MissingStructField { field, .. }, Some(path)) => {
            let mut err = unknown_field(file, text, path);
            if let ScenarioError::Parse { message, hint, .. } = &mut err {
                let name = path.rsplit('.').next().unwrap_or(path);
                message.push_str(&format!("; `{field}` is missing"));
                if suggest::closest(name, [*field]).is_some() {
                    *hint = Some(format!("did you mean `{field}`?"));
                }
            }
            err
        }
        _ => from_ron(file, text, e, shape),
    })?;
    if let Some(path) = ignored.first() {
        return Err(unknown_field(file, text, path));
    }
    Ok(value)
}

/// Values that parse but cannot run (a queue size the layout forbids, a cache line size the
/// model rejects) are reported at their field, like a parse error.
pub(crate) fn check_values(file: &str, text: &str, s: &Scenario) -> Result<(), ScenarioError> {
    let at = |field: &str, message: String, expected: &str, hint: String| {
        let place = locate_field(text, field).unwrap_or((1, 1));
        located(file, place, message, expected, hint)
    };
    if let Err(e) = Engine::new(s.engine.clone()) {
        if let EngineError::Layout(LayoutError::UsedAlign { align }) = e {
            let up = align.max(MIN_USED_ALIGN).next_power_of_two();
            return Err(at(
                "used_align",
                e.to_string(),
                "a power of 2 of at least 4",
                format!(
                    "try {up}, or leave `used_align` out for Linux's {LINUX_USED_ALIGN} (4 packs the used ring right after the avail ring)"
                ),
            ));
        }
        let size = s.engine.queue.size.clamp(1, MAX_QUEUE_SIZE);
        let up = size.next_power_of_two().min(MAX_QUEUE_SIZE);
        let down = if up == size { size } else { up / 2 };
        return Err(at(
            "size",
            e.to_string(),
            &format!(
                "a split ring: a power of 2 up to {MAX_QUEUE_SIZE}; a packed ring: 1 to {MAX_QUEUE_SIZE}"
            ),
            format!("try {down} or {up}, or a packed ring, which takes any size"),
        ));
    }
    if let Err(e) = s.cache.validate() {
        let (field, expected) = match &e {
            CacheSpecError::Cache(CacheError::LineSize(_)) => {
                ("line_size", "a power-of-2 line size")
            }
            CacheSpecError::Cache(_) => (
                "l1_size",
                "an L1 size that is a whole, non-zero number of sets of l1_ways lines",
            ),
            CacheSpecError::Layout(_) => (
                "also_resident",
                "rings that could exist: (layout: Split|Packed, size: N, base: ADDRESS)",
            ),
        };
        let hint = format!(
            "leave `{field}` out for the talk's machine (64-byte lines, a 32 KiB 8-way L1)"
        );
        return Err(at(field, e.to_string(), expected, hint));
    }
    Ok(())
}

/// A check that failed after parsing, reported at `(line, column)` like a parse error.
pub(crate) fn located(
    file: &str,
    (line, column): (usize, usize),
    message: String,
    expected: &str,
    hint: String,
) -> ScenarioError {
    ScenarioError::Parse {
        file: file.to_string(),
        line,
        column,
        message,
        expected: Some(expected.to_string()),
        hint: Some(hint),
    }
}

/// Whether only whitespace and comments follow `line:column` (1-based).
fn at_end(text: &str, line: usize, column: usize) -> bool {
    text.lines()
        .enumerate()
        .skip(line.saturating_sub(1))
        .all(|(i, l)| {
            let rest: String = if i + 1 == line {
                l.chars().skip(column.saturating_sub(1)).collect()
            } else {
                l.to_string()
            };
            strip_comment_and_strings(&rest).trim().is_empty()
        })
}

fn from_ron(file: &str, text: &str, e: ron::error::SpannedError, shape: &Shape) -> ScenarioError {
    use ron::error::Error as E;
    let (line, column) = (e.span.start.line, e.span.start.col);
    let (message, expected, hint) = match &e.code {
        E::NoSuchStructField {
            expected,
            found,
            outer,
        } => (
            format!("unknown field `{found}`{}", within(outer)),
            Some(format!("one of the fields {}", list(expected))),
            closest(found, expected),
        ),
        E::NoSuchEnumVariant {
            expected,
            found,
            outer,
        } => (
            format!("unknown name `{found}`{}", within(outer)),
            Some(format!("one of {}", list(expected))),
            closest(found, expected),
        ),
        E::MissingStructField { field, outer } => (
            format!("missing field `{field}`{}", within(outer)),
            (outer.as_deref() == Some(shape.name) || outer.is_none())
                .then(|| shape.example.to_string()),
            Some(format!("add `{field}: ...` (see docs/scenario-format.md)")),
        ),
        E::DuplicateStructField { field, outer } => (
            format!("field `{field}` given twice{}", within(outer)),
            None,
            Some(format!("keep one `{field}`")),
        ),
        E::InvalidValueForType { expected, found } => {
            (format!("found {found}"), Some(expected.clone()), None)
        }
        E::ExpectedDifferentLength { expected, found } => (
            format!("found {found} element(s)"),
            Some(expected.clone()),
            None,
        ),
        E::Message(m) => split_hint(m),
        E::Eof => (
            "the file ends too early".to_string(),
            Some(shape.example.to_string()),
            Some("check for an unclosed `(` or `[`".to_string()),
        ),
        E::ExpectedNamedStructLike(name) if *name == shape.name => (
            e.code.to_string(),
            Some(shape.example.to_string()),
            Some(shape.examples.to_string()),
        ),
        other if at_end(text, line, column) => (
            format!("{other} (the file ends here)"),
            Some(shape.example.to_string()),
            Some("check for an unclosed `(` or `[`".to_string()),
        ),
        other => (
            other.to_string(),
            None,
            Some("docs/scenario-format.md gives every field with its type".to_string()),
        ),
    };
    ScenarioError::Parse {
        file: file.to_string(),
        line,
        column,
        message,
        expected,
        hint,
    }
}

/// Custom messages (features, finding codes) carry their own "; did you mean" tail: move it to
/// the hint.
fn split_hint(m: &str) -> (String, Option<String>, Option<String>) {
    let (msg, hint) = match m.split_once("; did you mean") {
        Some((a, b)) => (a.to_string(), Some(format!("did you mean{b}"))),
        None => (m.to_string(), None),
    };
    match msg.split_once("; expected ") {
        Some((a, b)) => (a.to_string(), Some(b.to_string()), hint),
        None => (msg, None, hint),
    }
}

fn within(outer: &Option<String>) -> String {
    outer
        .as_ref()
        .map(|o| format!(" in `{o}`"))
        .unwrap_or_default()
}

fn list(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn closest(found: &str, expected: &[&str]) -> Option<String> {
    suggest::closest(found, expected.iter().copied()).map(|c| format!("did you mean `{c}`?"))
}

/// An ignored field, found by its path (`steps.3.op.?.buffr`): locate it in the text.
fn unknown_field(file: &str, text: &str, path: &str) -> ScenarioError {
    let name = path.rsplit('.').next().unwrap_or(path);
    let (line, column) = locate_field(text, name).unwrap_or((1, 1));
    ScenarioError::Parse {
        file: file.to_string(),
        line,
        column,
        message: format!("unknown field `{name}` (at {path})"),
        expected: None,
        hint: closest(name, ENGINE_FIELDS).or_else(|| {
            Some("remove it; docs/scenario-format.md lists the fields of each part".to_string())
        }),
    }
}

/// Line and column (1-based) of the first `name:` outside comments and strings.
pub(crate) fn locate_field(text: &str, name: &str) -> Option<(usize, usize)> {
    for (ln, line) in text.lines().enumerate() {
        let code = strip_comment_and_strings(line);
        let mut from = 0;
        while let Some(off) = code[from..].find(name) {
            let at = from + off;
            let before_ok = code[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            let after = code[at + name.len()..].trim_start();
            if before_ok && after.starts_with(':') {
                return Some((ln + 1, code[..at].chars().count() + 1));
            }
            from = at + name.len();
        }
    }
    None
}

/// The line with `// comments` cut and string contents blanked (same length, so columns hold).
pub(crate) fn strip_comment_and_strings(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_str = false;
    let mut prev = '\0';
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if in_str {
            if c == '"' && prev != '\\' {
                in_str = false;
                out.push('"');
            } else {
                out.push(' ');
            }
        } else if c == '"' {
            in_str = true;
            out.push('"');
        } else if c == '/' && chars.peek() == Some(&'/') {
            break;
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_outside_strings_and_comments() {
        let t = "// buffr: no\n  (say: \"buffr: no\", buffr: 1)";
        assert_eq!(locate_field(t, "buffr"), Some((2, 22)));
        assert_eq!(locate_field(t, "nope"), None);
    }

    #[test]
    fn custom_messages_split_into_message_expected_and_hint() {
        let (m, e, h) = split_hint("unknown feature `X`; expected one of A, B; did you mean `A`?");
        assert_eq!(m, "unknown feature `X`");
        assert_eq!(e.as_deref(), Some("one of A, B"));
        assert_eq!(h.as_deref(), Some("did you mean `A`?"));
    }

    #[test]
    fn a_misspelt_required_field_is_unknown_with_a_did_you_mean() {
        let text = include_str!("../../../scenarios/tutorial/01-split-basics.ron").replacen(
            "device_features:",
            "device_feature:",
            1,
        );
        let e = load("t.ron", &text).unwrap_err();
        let ScenarioError::Parse {
            line,
            message,
            hint,
            ..
        } = &e
        else {
            panic!("{e}")
        };
        assert!(message.starts_with("unknown field `device_feature`"), "{e}");
        assert_eq!(
            hint.as_deref(),
            Some("did you mean `device_features`?"),
            "{e}"
        );
        let want = text
            .lines()
            .position(|l| l.contains("device_feature:"))
            .unwrap()
            + 1;
        assert_eq!(*line, want, "{e}");
    }
}
