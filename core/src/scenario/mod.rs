//! Scenarios: a titled, narrated list of ops on a configured engine, with the expectations a
//! run must meet, written in RON and embedded in the binaries.
//!
//! [`format`](mod@format) loads a file with errors that point at a line and column and suggest the word
//! that was probably meant; [`report`] runs a scenario and summarises what the engine did;
//! [`expect`] checks that summary against the scenario's expectations. The format is
//! documented field by field in `docs/scenario-format.md`.

pub mod cache;
pub mod expect;
pub mod format;
pub mod metric;
pub mod report;
pub mod run;

use serde::{Deserialize, Serialize};

use crate::config::EngineConfig;
use crate::engine::EngineError;
use crate::op::Op;
use crate::session::Session;

pub use cache::{CacheSpec, CacheSummary, CpuTopology, L1Picture, ResidentRing};
pub use expect::{Against, Bound, Expectation, Relation};
pub use format::ScenarioError;
pub use metric::Metric;
pub use report::Report;
pub use run::Run;

/// One step of a scenario: an op and what to say about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The op.
    pub op: Op,
    /// Narration shown while this op runs.
    #[serde(default)]
    pub say: Option<String>,
}

/// A scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Title.
    pub title: String,
    /// Tutorial chapter, if part of the tutorial.
    #[serde(default)]
    pub chapter: Option<String>,
    /// One-line description for `ringside list`.
    #[serde(default)]
    pub description: String,
    /// The engine: queue layout and size, features offered and accepted, both sides' modes
    /// and faults.
    pub engine: EngineConfig,
    /// The cache topology the cache model assumes (defaults: the talk's machine).
    #[serde(default)]
    pub cache: CacheSpec,
    /// The steps.
    pub steps: Vec<Step>,
    /// What a run must show; `ringside run` and `cargo test` check every one.
    #[serde(default)]
    pub expect: Vec<Expectation>,
}

macro_rules! embedded {
    ($($name:literal => $path:literal,)*) => {
        /// Embedded scenarios: `(name, RON text)`. The first is the tutorial's first chapter.
        pub const EMBEDDED: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../../scenarios/", $path))),)*
        ];
    };
}

embedded! {
    "tutorial-split-basics" => "tutorial/01-split-basics.ron",
    "event-idx" => "talk/event-idx.ron",
    "in-order" => "talk/in-order.ron",
    "negotiation-features-ok-refused" => "talk/negotiation-features-ok-refused.ron",
    "negotiation-legacy-refused" => "talk/negotiation-legacy-refused.ron",
    "negotiation-legacy" => "talk/negotiation-legacy.ron",
    "negotiation-new-driver" => "talk/negotiation-new-driver.ron",
    "negotiation-old-driver" => "talk/negotiation-old-driver.ron",
    "notification-data" => "talk/notification-data.ron",
    "notification-data-split" => "talk/notification-data-split.ron",
    "packed-batched" => "talk/packed-batched.ron",
    "packed-out-of-order" => "talk/packed-out-of-order.ron",
    "packed-unbatched" => "talk/packed-unbatched.ron",
    "packed-wrap" => "talk/packed-wrap.ron",
    "pow2-cache" => "talk/pow2-cache.ron",
    "pow2-cache-768" => "talk/pow2-cache-768.ron",
    "split-batched" => "talk/split-batched.ron",
    "split-unbatched" => "talk/split-unbatched.ron",
    "split-vs-packed" => "talk/split-vs-packed.ron",
    "chain-order-violation" => "corner/chain-order-violation.ron",
    "indirect-misuse" => "corner/indirect-misuse.ron",
    "missed-kick-no-recheck" => "corner/missed-kick-no-recheck.ron",
    "missed-kick-device-no-recheck" => "corner/missed-kick-device-no-recheck.ron",
    "packed-eventidx-lap" => "corner/packed-eventidx-lap.ron",
    "packed-fullring-chain" => "corner/packed-fullring-chain.ron",
    "packed-id-every" => "corner/packed-id-every.ron",
    "packed-id-last-only" => "corner/packed-id-last-only.ron",
    "packed-multibuffer" => "corner/packed-multibuffer.ron",
    "packed-multibuffer-partial" => "corner/packed-multibuffer-partial.ron",
    "packed-q5" => "corner/packed-q5.ron",
    "packed-used-len-strict" => "corner/packed-used-len-strict.ron",
    "split-bad-avail-idx" => "corner/split-bad-avail-idx.ron",
    "split-eventidx-batch" => "corner/split-eventidx-batch.ron",
    "split-loop" => "corner/split-loop.ron",
}

impl Scenario {
    /// Parses RON text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, ScenarioError> {
        format::load(file, text)
    }

    /// An embedded scenario by name (files are the faces' to read: see [`Scenario::parse`]).
    pub fn embedded(name: &str) -> Result<Self, ScenarioError> {
        match EMBEDDED.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => Self::parse(n, text),
            None => Err(ScenarioError::NotFound {
                name: name.to_string(),
                hint: crate::suggest::hint(name, EMBEDDED.iter().map(|(n, _)| *n)),
            }),
        }
    }

    /// The first chapter of the tutorial: what `ringside` opens with no arguments.
    pub fn tutorial_start() -> Result<Self, ScenarioError> {
        Self::embedded(EMBEDDED[0].0)
    }

    /// The ops, in order (repeats not yet flattened).
    pub fn ops(&self) -> Vec<Op> {
        self.steps.iter().map(|s| s.op.clone()).collect()
    }

    /// Runs it into a session.
    pub fn session(&self) -> Result<Session, EngineError> {
        Session::new(self.engine.clone(), &self.ops())
    }

    /// For each flattened op of the session, the index of the scenario step it came from.
    pub fn step_of_op(&self) -> Vec<usize> {
        self.steps
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                std::iter::repeat_n(i, Op::flatten(std::slice::from_ref(&s.op)).len())
            })
            .collect()
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

    #[test]
    fn repeats_map_back_to_their_step() {
        let s = Scenario::parse(
            "r.ron",
            "(title: \"r\", engine: (queue: (layout: Split, size: 8), device_features: [], driver_features: []), steps: [(op: Negotiate), (op: Repeat(times: 2, ops: [Kick, Kick])), (op: Kick)])",
        )
        .unwrap();
        assert_eq!(s.step_of_op(), vec![0, 1, 1, 1, 1, 2]);
    }
}
