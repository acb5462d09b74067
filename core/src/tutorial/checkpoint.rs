//! Checkpoints: the tutorial asks the learner to predict what a step will do before it runs,
//! and checks the prediction against the engine.
//!
//! A checkpoint stores the question's words and *how* to compute its answer, never the answer:
//! [`Checkpoint::truth`] reads it from the run (the access log, the cache model, a replay of
//! the steps so far, or a replayed trace). A wrong answer is explained by naming the pane that
//! shows the truth ([`PaneId`]) and the field in it, with the access that proves it, followed by
//! the rule the chapter author wrote (`why`), which cites the spec or the Linux/QEMU code.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::cache::CacheModel;
use crate::command::{Counter, FieldPattern, PaneId, parse_field};
use crate::features::Features;
use crate::finding::Code;
use crate::memory::{Access, AccessKind, Agent, Field};
use crate::scenario::expect::num;
use crate::scenario::{Bound, Metric, Run, Scenario};
use crate::session::Session;
use crate::trace::TraceSession;

/// Where a checkpoint is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum At {
    /// Before step `n` (0-based, as listed in the scenario's `steps`) runs; the answer is what
    /// the engine shows once that step (or, with `through`, the last step of the window) ran.
    Step(usize),
    /// In a trace: when the replay reaches trace line `n`; the answer is the replay's state
    /// once that line has been replayed.
    Line(u64),
    /// In a trace: the whole trace replayed.
    End,
}

/// How the answer is computed. Field names are ringside's (`avail.idx`, `desc[3].flags`,
/// `used.ring[0].len`, `queue_notify`, `status`); `[*]` in a pattern stands for the index the
/// question asks about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Question {
    /// The value a field holds when the window ends (the last store to it; rings start
    /// zeroed, so a field never stored reads 0).
    Value(String),
    /// The index that `[*]` stands for in the first access of the window that matches:
    /// `Index(agent: Device, kind: Load, field: "avail.ring[*]")` is "which avail slot does
    /// the device read first".
    Index {
        /// Who makes the access.
        agent: Agent,
        /// Load or store.
        kind: AccessKind,
        /// A field pattern with one `[*]`.
        field: String,
    },
    /// How many accesses of the window match (a pattern may use `[*]`).
    Count {
        /// Who makes them.
        agent: Agent,
        /// Load or store.
        kind: AccessKind,
        /// A field or a pattern with one `[*]`.
        field: String,
    },
    /// Cache-line transfers between the two CPUs during the window (the cache model's
    /// "misses").
    Transfers,
    /// Whether the window sends a notification: `Driver` a kick (a store to `queue_notify`),
    /// `Device` an interrupt (a store to `isr`). Answered yes or no.
    Notifies(Agent),
    /// The code of the first finding the engine raises during the window, or `none`. The
    /// end-of-run audit counts too, run as if the scenario stopped at the window's end: "if
    /// the driver sleeps now, what happens" is a question about that state.
    Finding,
    /// Whether all these features are negotiated when the window ends. Answered yes or no.
    Negotiated(Features),
    /// A metric of the run up to the window's end (the steps so far run on their own: wrap
    /// counters, slots, indices, status, buffers, misses, L1 ways...).
    Metric(Metric),
    /// How much a metric changes over the window.
    Change(Metric),
    /// Trace: a queue counter (`queue: "rng0.q0"`, named as breakpoints name queues).
    Counter {
        /// The queue.
        queue: String,
        /// The counter.
        counter: Counter,
    },
    /// Trace: the code of the first warning-or-worse finding on a queue, or `none`.
    FindingOn {
        /// The queue.
        queue: String,
    },
    /// Trace: the queue the first warning-or-worse finding names (`rng0.q0`).
    FindingQueue,
    /// Trace: the trace line of the first warning-or-worse finding.
    FindingLine,
    /// Trace joined with the guest driver's: a value of the driver's own view of a queue
    /// (`queue: "blk0.q0"`, named as the device side names it), the shadow state its probed
    /// calls read, as the trace screen's "both sides of the ring" pane shows it.
    Driver {
        /// The queue.
        queue: String,
        /// The value.
        field: DriverField,
    },
}

/// A value of the driver's shadow state of a queue (Linux's `struct vring_virtqueue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DriverField {
    /// Split: `avail_idx_shadow`, the avail idx the driver has published; packed: the next
    /// avail slot.
    AvailIdx,
    /// Split: `last_used_idx`, the used entries it has reaped; packed: the next used slot.
    LastUsed,
    /// `num_free`: descriptors free.
    Free,
}

impl DriverField {
    /// The name the both-sides rows and Linux use.
    pub fn name(self) -> &'static str {
        match self {
            DriverField::AvailIdx => "avail_idx_shadow",
            DriverField::LastUsed => "last_used_idx",
            DriverField::Free => "num_free",
        }
    }

    fn value(self, s: &crate::trace::import::driver::Shadow) -> u16 {
        match self {
            DriverField::AvailIdx if s.packed => s.avail & 0x7fff,
            DriverField::AvailIdx => s.avail,
            DriverField::LastUsed => s.used_slot(),
            DriverField::Free => s.free,
        }
    }
}

impl Question {
    /// Whether the question reads a replayed trace (else a scenario run).
    pub fn is_trace(&self) -> bool {
        matches!(
            self,
            Question::Counter { .. }
                | Question::FindingOn { .. }
                | Question::FindingQueue
                | Question::FindingLine
                | Question::Driver { .. }
        )
    }

    /// Checks what can be checked without running anything: field names and patterns.
    /// `Err` carries the message and what would be accepted.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let field_hint = "a field as ringside prints it: avail.idx, used.idx, desc[3].flags, avail.ring[2], used.ring[0].len, used_event, queue_notify, status";
        let pattern = |f: &str, need_star: bool| -> Result<(), (String, String)> {
            let stars = f.matches("[*]").count();
            if need_star && stars != 1 {
                return Err((
                    format!("`{f}` needs exactly one `[*]` for the index asked about"),
                    "a pattern such as avail.ring[*] or desc[*].flags".into(),
                ));
            }
            if FieldPattern::parse(f).is_none() {
                return Err((format!("unknown field `{f}`"), field_hint.into()));
            }
            Ok(())
        };
        match self {
            Question::Value(f) => match parse_field(f) {
                Some(_) => Ok(()),
                None => Err((format!("unknown field `{f}`"), field_hint.into())),
            },
            Question::Index { field, .. } => pattern(field, true),
            Question::Count { field, .. } => pattern(field, false),
            _ => Ok(()),
        }
    }
}

/// One question of a chapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Unique within its chapter; progress files record answers by it.
    pub id: String,
    /// Where it is asked.
    pub at: At,
    /// With `at: Step(n)`, the last step of the window the answer covers (default: `n`):
    /// "how many lines move for this buffer" spans the buffer's whole round trip.
    #[serde(default)]
    pub through: Option<usize>,
    /// The question, as the learner reads it.
    pub ask: String,
    /// How the engine computes the answer.
    pub answer: Question,
    /// The rule behind the answer, with its spec section or Linux/QEMU function: shown after
    /// the learner answers, right or wrong.
    pub why: String,
    /// The value the narration around the checkpoint assumes (yes/no as 1/0). Never shown and
    /// never used to judge an answer, which always comes from the run: `cargo test` fails when
    /// the engine's answer leaves this bound, so narration cannot silently drift from what the
    /// tool shows.
    #[serde(default)]
    pub expect: Option<Bound>,
}

/// The kind of answer a question takes, with the true value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Expected {
    /// A number (decimal, `0x` hex or `0b` binary accepted).
    Number(f64),
    /// Yes or no.
    YesNo(bool),
    /// One word of a known set (finding codes, queue names).
    Word {
        /// The true word.
        word: String,
        /// Every word that is a possible answer (for "did you mean").
        choices: Vec<String>,
    },
}

impl Expected {
    /// An answer of the same kind that is not this one: what a test types to see a question
    /// marked wrong (the next whole number, another choice, the other of yes and no).
    pub fn wrong_example(&self) -> String {
        match self {
            Expected::Number(n) if n.fract() == 0.0 => num(n + 1.0),
            Expected::Number(n) => num(n * 2.0 + 1.0),
            Expected::YesNo(b) => if *b { "no" } else { "yes" }.to_string(),
            Expected::Word { word, choices } => {
                choices.iter().find(|c| *c != word).unwrap_or(word).clone()
            }
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Number(v) => f.write_str(&num(*v)),
            Expected::YesNo(true) => f.write_str("yes"),
            Expected::YesNo(false) => f.write_str("no"),
            Expected::Word { word, .. } => f.write_str(word),
        }
    }
}

/// What the engine says the answer is, and where the learner can see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Truth {
    /// The answer.
    pub value: Expected,
    /// The pane that shows it.
    pub pane: PaneId,
    /// The field in that pane (a memory field name such as `desc[3].flags`, a register such
    /// as `queue_notify`, or a trace counter such as `rng0.q0.interrupts`), when there is one.
    pub field: Option<String>,
    /// The evidence, in words: the access, outcome or finding that shows the answer.
    pub evidence: String,
}

/// What the learner's answer earned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Verdict {
    /// Right; the explanation says why it is so.
    Right {
        /// The true answer.
        answer: String,
        /// Evidence and rule.
        explanation: String,
    },
    /// Wrong; the explanation points at the pane and field that show the truth.
    Wrong {
        /// The true answer.
        answer: String,
        /// What the learner said (normalised: `0x10` is shown as 16).
        given: String,
        /// The pane to look at.
        pane: PaneId,
        /// The field to look at.
        field: Option<String>,
        /// Where to look and why it is so.
        explanation: String,
    },
    /// The text is not an answer of the right kind; ask again (not counted).
    Unreadable {
        /// What was expected, with a "did you mean" when one fits.
        message: String,
    },
}

impl Expected {
    /// The answer as a number, for `expect` bounds: numbers as they are, yes 1 and no 0;
    /// `None` for words.
    pub fn number(&self) -> Option<f64> {
        match self {
            Expected::Number(v) => Some(*v),
            Expected::YesNo(b) => Some(f64::from(u8::from(*b))),
            Expected::Word { .. } => None,
        }
    }
}

impl Verdict {
    /// Whether the answer was right.
    pub fn is_right(&self) -> bool {
        matches!(self, Verdict::Right { .. })
    }
}

/// What a checkpoint is asked about: a scenario's run, or a replayed trace.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A scenario and its session (the session must be `scenario.session()`'s).
    Scenario {
        /// Name for error messages.
        name: &'a str,
        /// The scenario.
        scenario: &'a Scenario,
        /// Its session.
        session: &'a Session,
    },
    /// A replayed trace.
    Trace(&'a TraceSession),
}

/// A checkpoint that cannot be answered here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("checkpoint `{id}`: {message}")]
pub struct CheckpointError {
    /// The checkpoint.
    pub id: String,
    /// Why.
    pub message: String,
}

impl Checkpoint {
    /// The true answer, computed from the subject.
    pub fn truth(&self, subject: Subject<'_>) -> Result<Truth, CheckpointError> {
        let fail = |message: String| CheckpointError {
            id: self.id.clone(),
            message,
        };
        match subject {
            Subject::Scenario {
                name,
                scenario,
                session,
            } => {
                let At::Step(at) = self.at else {
                    return Err(fail(
                        "a scenario checkpoint is placed with `at: Step(n)`".into(),
                    ));
                };
                let through = self.through.unwrap_or(at);
                let n = scenario.steps.len();
                if at >= n || through >= n || through < at {
                    return Err(fail(format!(
                        "steps {at} to {through} are not a window of the scenario's {n} steps"
                    )));
                }
                let w = Window::of(name, scenario, session, at, through);
                self.answer.on_scenario(&w).map_err(fail)
            }
            Subject::Trace(t) => {
                let step = match self.at {
                    At::Line(l) => t.store().steps_until_line(l),
                    At::End => t.len(),
                    At::Step(_) => {
                        return Err(fail(
                            "a trace checkpoint is placed with `at: Line(n)` or `at: End`".into(),
                        ));
                    }
                };
                self.answer.on_trace(t, step).map_err(fail)
            }
        }
    }

    /// Checks the learner's answer against the truth.
    pub fn check(&self, truth: &Truth, given: &str) -> Verdict {
        let parsed = match parse_answer(&truth.value, given) {
            Ok(p) => p,
            Err(message) => return Verdict::Unreadable { message },
        };
        let answer = truth.value.to_string();
        let right = match (&truth.value, &parsed) {
            (Expected::Number(t), Expected::Number(g)) => close(*t, *g),
            (a, b) => a == b,
        };
        if right {
            return Verdict::Right {
                explanation: format!("Right: {answer}. {} {}", truth.evidence, self.why),
                answer,
            };
        }
        let field = truth
            .field
            .as_ref()
            .map(|f| format!(", field {f}"))
            .unwrap_or_default();
        Verdict::Wrong {
            explanation: format!(
                "Not {parsed}: the engine shows {answer}. Look at the {} pane ({:?}){field}: {} {}",
                truth.pane.title(),
                truth.pane,
                truth.evidence,
                self.why
            ),
            answer,
            given: parsed.to_string(),
            pane: truth.pane,
            field: truth.field.clone(),
        }
    }
}

/// Integers must match exactly; a fractional truth (misses per buffer) is matched within 5%.
fn close(truth: f64, given: f64) -> bool {
    if truth.fract() == 0.0 {
        given == truth
    } else {
        (given - truth).abs() <= 0.05 * truth.abs()
    }
}

/// Reads the learner's text as the kind of answer the truth is.
fn parse_answer(kind: &Expected, given: &str) -> Result<Expected, String> {
    let t = given
        .trim()
        .trim_end_matches('.')
        .trim()
        .to_ascii_lowercase();
    match kind {
        Expected::Number(_) => {
            let parsed = if let Some(h) = t.strip_prefix("0x") {
                u64::from_str_radix(h, 16).ok().map(|v| v as f64)
            } else if let Some(b) = t.strip_prefix("0b") {
                u64::from_str_radix(b, 2).ok().map(|v| v as f64)
            } else {
                t.parse::<f64>().ok().filter(|v| v.is_finite())
            };
            parsed.map(Expected::Number).ok_or_else(|| {
                format!(
                    "`{}` is not a number: answer with a number such as 3, 0x8002 or 0b101",
                    given.trim()
                )
            })
        }
        Expected::YesNo(_) => match t.as_str() {
            "y" | "yes" | "true" => Ok(Expected::YesNo(true)),
            "n" | "no" | "false" => Ok(Expected::YesNo(false)),
            _ => Err(format!("`{}`: answer yes or no", given.trim())),
        },
        Expected::Word { choices, .. } => {
            match choices.iter().find(|c| c.eq_ignore_ascii_case(&t)) {
                Some(c) => Ok(Expected::Word {
                    word: c.clone(),
                    choices: choices.clone(),
                }),
                None => Err(format!(
                    "`{}` is not one of the possible answers ({}){}",
                    given.trim(),
                    choices.join(", "),
                    crate::suggest::hint(&t, choices.iter().map(String::as_str))
                )),
            }
        }
    }
}

/// A checkpoint's window over a scenario's run: micro steps `[start, end)`, and the scenario
/// steps it spans.
struct Window<'a> {
    name: &'a str,
    scenario: &'a Scenario,
    session: &'a Session,
    at: usize,
    through: usize,
    start: u64,
    end: u64,
}

impl<'a> Window<'a> {
    fn of(
        name: &'a str,
        scenario: &'a Scenario,
        session: &'a Session,
        at: usize,
        through: usize,
    ) -> Self {
        let map = scenario.step_of_op();
        let first = |pred: &dyn Fn(usize) -> bool| {
            let op = map.iter().position(|&s| pred(s)).unwrap_or(map.len());
            session.op_start(op)
        };
        Window {
            name,
            scenario,
            session,
            at,
            through,
            start: first(&|s| s >= at),
            end: first(&|s| s > through),
        }
    }

    fn log(&self) -> &'a [Access] {
        let log = self.session.log();
        &log[(self.start as usize).min(log.len())..(self.end as usize).min(log.len())]
    }

    fn steps_text(&self) -> String {
        if self.at == self.through {
            format!("step {}", self.at + 1)
        } else {
            format!("steps {} to {}", self.at + 1, self.through + 1)
        }
    }

    /// The scenario's steps before `steps` run on their own, expectations not checked.
    fn prefix(&self, steps: usize) -> Result<Run, String> {
        let mut s = self.scenario.clone();
        s.steps.truncate(steps);
        s.expect.clear();
        Run::measure(self.name, &s).map_err(|e| e.to_string())
    }
}

/// The pane that shows a field.
fn pane_of(field: Field) -> PaneId {
    match field {
        Field::Payload { .. } | Field::Other => PaneId::Memory,
        Field::Status
        | Field::DeviceFeatures { .. }
        | Field::DriverFeatures { .. }
        | Field::QueueConfig => PaneId::Transport,
        Field::QueueNotify | Field::InterruptStatus => PaneId::Timeline,
        _ => PaneId::Ring,
    }
}

fn pane_of_pattern(pattern: &str) -> PaneId {
    parse_field(&pattern.replace("[*]", "[0]")).map_or(PaneId::Ring, pane_of)
}

/// The index `[*]` stands for in `name`, when `name` matches `pattern`.
fn star_index(pattern: &FieldPattern, name: &str) -> Option<u64> {
    let p = pattern.to_string();
    let (head, _) = p.split_once("[*]")?;
    name.strip_prefix(head)?
        .strip_prefix('[')?
        .split_once(']')?
        .0
        .parse()
        .ok()
}

fn access_text(a: &Access) -> String {
    let kind = match a.kind {
        AccessKind::Load => "load",
        AccessKind::Store => "store",
    };
    format!(
        "{} {kind} of {} = {:#x} (micro step {})",
        a.agent, a.field, a.value, a.step
    )
}

fn matching<'l>(
    log: &'l [Access],
    agent: Agent,
    kind: AccessKind,
    pattern: &'l FieldPattern,
) -> impl Iterator<Item = &'l Access> + 'l {
    log.iter()
        .filter(move |a| a.agent == agent && a.kind == kind && pattern.matches(a.field))
}

impl Question {
    fn on_scenario(&self, w: &Window<'_>) -> Result<Truth, String> {
        let number = |v: f64| Expected::Number(v);
        match self {
            Question::Value(name) => {
                let field = parse_field(name).ok_or_else(|| format!("unknown field `{name}`"))?;
                let log = &w.session.log()[..(w.end as usize).min(w.session.log().len())];
                let last = log
                    .iter()
                    .rev()
                    .find(|a| a.kind == AccessKind::Store && a.field == field);
                let (value, evidence) = match last {
                    Some(a) => (
                        a.value,
                        format!(
                            "After {}, {name} holds {:#x} ({}): the last store to it was the {}.",
                            w.steps_text(),
                            a.value,
                            a.value,
                            access_text(a)
                        ),
                    ),
                    None => (
                        0,
                        format!(
                            "Nothing has stored to {name} by the end of {}, and the rings start zeroed, so it reads 0.",
                            w.steps_text()
                        ),
                    ),
                };
                Ok(Truth {
                    value: number(value as f64),
                    pane: pane_of(field),
                    field: Some(name.clone()),
                    evidence,
                })
            }
            Question::Index { agent, kind, field } => {
                let pattern = FieldPattern::parse(field)
                    .ok_or_else(|| format!("unknown field pattern `{field}`"))?;
                let a = matching(w.log(), *agent, *kind, &pattern)
                    .next()
                    .ok_or_else(|| {
                        format!(
                            "no {agent} {kind:?} of {field} happens in {}",
                            w.steps_text()
                        )
                    })?;
                let name = a.field.to_string();
                let index = star_index(&pattern, &name)
                    .ok_or_else(|| format!("`{name}` has no index where `{field}` has `[*]`"))?;
                Ok(Truth {
                    value: number(index as f64),
                    pane: pane_of(a.field),
                    field: Some(name),
                    evidence: format!(
                        "The first {agent} {} matching {field} in {} is the {}.",
                        format!("{kind:?}").to_lowercase(),
                        w.steps_text(),
                        access_text(a)
                    ),
                })
            }
            Question::Count { agent, kind, field } => {
                let pattern = FieldPattern::parse(field)
                    .ok_or_else(|| format!("unknown field pattern `{field}`"))?;
                let hits: Vec<&Access> = matching(w.log(), *agent, *kind, &pattern).collect();
                let shown: Vec<String> = hits.iter().take(8).map(|a| access_text(a)).collect();
                let more = hits.len().saturating_sub(shown.len());
                let evidence = if hits.is_empty() {
                    format!("No {agent} {kind:?} matches {field} in {}.", w.steps_text())
                } else {
                    format!(
                        "In {}: {}{}.",
                        w.steps_text(),
                        shown.join("; "),
                        if more > 0 {
                            format!("; and {more} more")
                        } else {
                            String::new()
                        }
                    )
                };
                Ok(Truth {
                    value: number(hits.len() as f64),
                    pane: pane_of_pattern(field),
                    field: Some(field.clone()),
                    evidence,
                })
            }
            Question::Transfers => {
                let mut model =
                    CacheModel::new(w.scenario.cache.line_size).map_err(|e| e.to_string())?;
                let log = w.session.log();
                model.observe_all(&log[..(w.start as usize).min(log.len())]);
                let mut moved: Vec<(&Access, u32)> = Vec::new();
                for a in w.log() {
                    let n = model.observe(a);
                    if n > 0 {
                        moved.push((a, n));
                    }
                }
                let total: u32 = moved.iter().map(|m| m.1).sum();
                let fields: Vec<String> = moved.iter().map(|(a, _)| a.field.to_string()).collect();
                let evidence = if moved.is_empty() {
                    format!(
                        "No access in {} touched a line the other side had written (model).",
                        w.steps_text()
                    )
                } else {
                    let list: Vec<String> = moved.iter().map(|(a, _)| access_text(a)).collect();
                    format!(
                        "In {}, the cache model moves a line between the CPUs at: {} (model).",
                        w.steps_text(),
                        list.join("; ")
                    )
                };
                Ok(Truth {
                    value: number(f64::from(total)),
                    pane: PaneId::Cache,
                    field: (!fields.is_empty()).then(|| fields.join(", ")),
                    evidence,
                })
            }
            Question::Notifies(agent) => {
                let register = match agent {
                    Agent::Driver => Field::QueueNotify,
                    Agent::Device => Field::InterruptStatus,
                };
                let sent = w.log().iter().find(|a| {
                    a.agent == *agent && a.kind == AccessKind::Store && a.field == register
                });
                let map = w.scenario.step_of_op();
                let said: Vec<String> = map
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| (w.at..=w.through).contains(*s))
                    .filter(|(i, _)| {
                        let op = &w.session.ops()[*i];
                        op.agent() == *agent && op.kind() == crate::op::OpKind::Notify
                    })
                    .filter_map(|(i, _)| w.session.outcome(i).map(|n| n.to_string()))
                    .collect();
                let what = if said.is_empty() {
                    String::new()
                } else {
                    format!(" The engine's outcome: {}.", said.join("; "))
                };
                let evidence = match sent {
                    Some(a) => format!("The {}.{what}", access_text(a)),
                    None => format!(
                        "No {agent} store to {register} happens in {}.{what}",
                        w.steps_text()
                    ),
                };
                Ok(Truth {
                    value: Expected::YesNo(sent.is_some()),
                    pane: PaneId::Timeline,
                    field: Some(register.to_string()),
                    evidence,
                })
            }
            Question::Finding => {
                // The steps so far, run on their own: a finding raised by one of the window's
                // ops, or by the end-of-run audit, which judges the state the window leaves.
                let after = w.prefix(w.through + 1)?;
                let first = after.report.findings.iter().find(|f| {
                    f.scenario_step
                        .is_none_or(|s| (w.at..=w.through).contains(&s))
                });
                let mut choices: Vec<String> =
                    Code::ALL.iter().map(|c| c.name().to_string()).collect();
                choices.push("none".into());
                let (word, evidence) = match first {
                    Some(f) => {
                        let name = f.code.name();
                        let message = f
                            .message
                            .strip_prefix(&format!("{name}: "))
                            .unwrap_or(&f.message);
                        (
                            name.to_string(),
                            format!(
                                "After {} the engine reports {name}: {message}",
                                w.steps_text()
                            ),
                        )
                    }
                    None => (
                        "none".to_string(),
                        format!("{} raises no finding.", w.steps_text()),
                    ),
                };
                Ok(Truth {
                    value: Expected::Word { word, choices },
                    pane: PaneId::Findings,
                    field: None,
                    evidence,
                })
            }
            Question::Negotiated(f) => {
                let run = w.prefix(w.through + 1)?;
                let got = run.report.negotiated;
                let high = f.bits().any(|b| b >= 32);
                Ok(Truth {
                    value: Expected::YesNo(got.contains(*f)),
                    pane: PaneId::Transport,
                    field: Some(format!("driver_feature[{}]", u8::from(high))),
                    evidence: format!(
                        "After {} the negotiated set is {}.",
                        w.steps_text(),
                        if got == Features::NONE {
                            "empty".to_string()
                        } else {
                            got.to_string()
                        }
                    ),
                })
            }
            Question::Metric(m) => {
                let run = w.prefix(w.through + 1)?;
                let v = run
                    .metric(*m)
                    .ok_or_else(|| format!("{m:?} has no value after {}", w.steps_text()))?;
                let (pane, field, detail) = metric_place(*m, &run);
                Ok(Truth {
                    value: number(v),
                    pane,
                    field,
                    evidence: format!("After {}, {m:?} is {}{detail}.", w.steps_text(), num(v)),
                })
            }
            Question::Change(m) => {
                let before = w.prefix(w.at)?;
                let after = w.prefix(w.through + 1)?;
                let (a, b) = match (before.metric(*m), after.metric(*m)) {
                    (Some(a), Some(b)) => (a, b),
                    _ => {
                        return Err(format!(
                            "{m:?} has no value before and after {}",
                            w.steps_text()
                        ));
                    }
                };
                let (pane, field, detail) = metric_place(*m, &after);
                Ok(Truth {
                    value: number(b - a),
                    pane,
                    field,
                    evidence: format!(
                        "{m:?} goes from {} to {} over {}{detail}.",
                        num(a),
                        num(b),
                        w.steps_text()
                    ),
                })
            }
            Question::Counter { .. }
            | Question::FindingOn { .. }
            | Question::FindingQueue
            | Question::FindingLine
            | Question::Driver { .. } => Err("this question reads a trace, not a scenario".into()),
        }
    }

    fn on_trace(&self, t: &TraceSession, step: usize) -> Result<Truth, String> {
        let st = t.state_at(step);
        let names = crate::view::trace::queue_names(&st);
        let line = step
            .checked_sub(1)
            .and_then(|i| t.store().events().get(i))
            .map_or(0, |e| u64::from(e.line));
        let findings: Vec<&crate::finding::Finding> = t
            .findings_until(step)
            .into_iter()
            .filter(|f| f.severity >= crate::finding::Severity::Warning)
            .collect();
        let queue_of = |f: &crate::finding::Finding| -> Option<String> {
            let seen = f.seen_at()?;
            st.queues.iter().enumerate().find_map(|(i, q)| {
                let dev = st.devices.get(q.dev)?;
                let by_device = Some(dev.label()) == seen.device && Some(q.queue) == seen.queue;
                // A finding that needs both sides names the queue itself (`blk0.q0`).
                let by_name = seen.device.as_deref() == Some(names[i].as_str());
                (by_device || by_name).then(|| names[i].clone())
            })
        };
        let index_of = |queue: &str| -> Result<usize, String> {
            names.iter().position(|n| n == queue).ok_or_else(|| {
                format!(
                    "no queue `{queue}` in the trace (queues: {}){}",
                    names.join(", "),
                    crate::suggest::hint(queue, names.iter().map(String::as_str))
                )
            })
        };
        match self {
            Question::Counter { queue, counter } => {
                let q = &st.queues[index_of(queue)?];
                let v = counter.value(q);
                Ok(Truth {
                    value: Expected::Number(v as f64),
                    pane: PaneId::Ring,
                    field: Some(format!("{queue}.{}", counter.name())),
                    evidence: format!(
                        "Replayed up to line {line}, {queue}.{} is {v}.",
                        counter.name()
                    ),
                })
            }
            Question::FindingOn { queue } => {
                index_of(queue)?;
                let first = findings
                    .iter()
                    .find(|f| queue_of(f).as_deref() == Some(queue.as_str()));
                let mut choices: Vec<String> = crate::trace::detect::CATALOGUE
                    .iter()
                    .map(|c| c.0.name().to_string())
                    .collect();
                choices.push("none".into());
                let (word, evidence) = match first {
                    Some(f) => (f.code.to_string(), finding_text(f)),
                    None => (
                        "none".to_string(),
                        format!("No warning or error names {queue} up to line {line}."),
                    ),
                };
                Ok(Truth {
                    value: Expected::Word { word, choices },
                    pane: PaneId::Findings,
                    field: Some(queue.clone()),
                    evidence,
                })
            }
            Question::FindingQueue | Question::FindingLine => {
                let f = findings
                    .first()
                    .ok_or_else(|| format!("no warning or error up to line {line}"))?;
                let queue = queue_of(f)
                    .ok_or_else(|| format!("the first finding ({}) names no queue", f.code))?;
                let value = if *self == Question::FindingLine {
                    Expected::Number(f.line().unwrap_or(0) as f64)
                } else {
                    Expected::Word {
                        word: queue.clone(),
                        choices: names.clone(),
                    }
                };
                Ok(Truth {
                    value,
                    pane: PaneId::Findings,
                    field: Some(queue),
                    evidence: finding_text(f),
                })
            }
            Question::Driver { queue, field } => {
                let qi = index_of(queue)?;
                let j = t.join().ok_or_else(|| {
                    "this trace has no guest driver's trace joined to it (a Driver question needs one)"
                        .to_string()
                })?;
                let jq = crate::view::trace::joined_queue(j, &st, qi)
                    .ok_or_else(|| format!("no queue of the driver's trace pairs with {queue}"))?;
                let pos = t.position(t.step_of_device(step));
                let (gline, s) = j
                    .shadow_at(t.capture(), jq, &pos)
                    .ok_or_else(|| format!("the driver's trace has no call on {queue}"))?;
                let v = field.value(&s);
                let driver_name = j.queues.get(jq).map_or("", |q| q.driver_name.as_str());
                Ok(Truth {
                    value: Expected::Number(f64::from(v)),
                    // The joined trace screen's "both sides of the ring" pane.
                    pane: PaneId::Transport,
                    field: Some(format!("{queue} driver {}", field.name())),
                    evidence: format!(
                        "Replayed up to line {line}, the driver's {} for {queue} ({driver_name}) is {v}, as its probed call at guest line {gline} read it.",
                        field.name()
                    ),
                })
            }
            _ => Err("this question reads a scenario run, not a trace".into()),
        }
    }
}

fn finding_text(f: &crate::finding::Finding) -> String {
    let at = f
        .line()
        .map(|l| format!(" at line {l}"))
        .unwrap_or_default();
    format!("{}[{}]{at}: {}", f.severity, f.code, f.message)
}

/// The pane and field that show a metric, and a detail from the run.
fn metric_place(m: Metric, run: &Run) -> (PaneId, Option<String>, String) {
    let log = run.session.log();
    let last = |agent: Agent, kind: AccessKind, pattern: &str| -> Option<&Access> {
        let p = FieldPattern::parse(pattern)?;
        log.iter()
            .rev()
            .find(|a| a.agent == agent && a.kind == kind && p.matches(a.field))
    };
    let via = |a: Option<&Access>| -> (Option<String>, String) {
        match a {
            Some(a) => (
                Some(a.field.to_string()),
                format!("; see the {}", access_text(a)),
            ),
            None => (None, String::new()),
        }
    };
    match m {
        Metric::DriverWrap | Metric::DriverSlot => {
            let i = &run.report.indices;
            match (i.driver_slot, i.driver_wrap) {
                (Some(s), Some(w)) => (
                    PaneId::Ring,
                    Some(format!("desc[{s}].flags")),
                    format!(
                        ": the driver will make slot {s} available next, with AVAIL = {w} and USED = {} (its wrap counter and the opposite)",
                        1 - w
                    ),
                ),
                _ => (PaneId::Ring, None, String::new()),
            }
        }
        Metric::DeviceWrap | Metric::DeviceSlot => {
            let i = &run.report.indices;
            match (i.device_slot, i.device_wrap) {
                (Some(s), Some(w)) => (
                    PaneId::Ring,
                    Some(format!("desc[{s}].flags")),
                    format!(
                        ": the device will write its next used descriptor in slot {s}, with AVAIL = USED = {w} (its wrap counter)"
                    ),
                ),
                _ => (PaneId::Ring, None, String::new()),
            }
        }
        Metric::AvailIdx => (PaneId::Ring, Some("avail.idx".into()), String::new()),
        Metric::UsedIdx => (PaneId::Ring, Some("used.idx".into()), String::new()),
        Metric::LastAvailIdx => {
            let (f, d) = via(last(Agent::Device, AccessKind::Load, "avail.ring[*]"));
            (PaneId::Ring, f, d)
        }
        Metric::LastUsedIdx => {
            let (f, d) = via(last(Agent::Driver, AccessKind::Load, "used.ring[*].id"));
            (PaneId::Ring, f, d)
        }
        Metric::Buffers => {
            // What the driver last looked at to decide whether a buffer came back.
            let pattern = if run.report.layout == "packed" {
                "desc[*].flags"
            } else {
                "used.idx"
            };
            let (f, d) = via(last(Agent::Driver, AccessKind::Load, pattern));
            (PaneId::Ring, f, d)
        }
        Metric::MadeAvailable => (PaneId::Ring, None, String::new()),
        Metric::Status => (PaneId::Transport, Some("status".into()), String::new()),
        Metric::Kicks | Metric::KicksSuppressed | Metric::KicksPerBuffer => {
            (PaneId::Timeline, Some("queue_notify".into()), String::new())
        }
        Metric::Interrupts | Metric::InterruptsSuppressed | Metric::InterruptsPerBuffer => {
            (PaneId::Timeline, Some("isr".into()), String::new())
        }
        Metric::NotificationsPerBuffer | Metric::Ops | Metric::Steps => {
            (PaneId::Timeline, None, String::new())
        }
        Metric::Accesses
        | Metric::DriverLoads
        | Metric::DriverStores
        | Metric::DeviceLoads
        | Metric::DeviceStores
        | Metric::AccessesPerBuffer
        | Metric::DeviceStoresPerBuffer => (PaneId::Timeline, None, String::new()),
        Metric::Findings | Metric::Errors => (PaneId::Findings, None, String::new()),
        Metric::Misses
        | Metric::MissesPerBuffer
        | Metric::CyclesPerBuffer
        | Metric::Invalidations
        | Metric::InvalidationsPerBuffer => (PaneId::Cache, None, " (cache model)".into()),
        Metric::DescWays
        | Metric::RingWays
        | Metric::WaysNeeded
        | Metric::FreeWays
        | Metric::OverflowingSets
        | Metric::RingLines
        | Metric::FreeLines => {
            let d = run
                .report
                .cache
                .l1
                .map(|l| {
                    format!(
                        " (model: a {} KiB {}-way L1 has {} sets of {}-byte lines; the descriptor area takes {} way(s), all resident rings need {} in the fullest set, {} lines stay free)",
                        l.size / 1024,
                        l.ways,
                        l.sets,
                        run.report.cache.line_size,
                        l.desc_ways,
                        l.ways_needed,
                        l.free_lines
                    )
                })
                .unwrap_or_default();
            (PaneId::Cache, None, d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth(v: Expected) -> Truth {
        Truth {
            value: v,
            pane: PaneId::Ring,
            field: Some("avail.idx".into()),
            evidence: "evidence.".into(),
        }
    }

    fn cp() -> Checkpoint {
        Checkpoint {
            id: "t".into(),
            at: At::Step(0),
            through: None,
            ask: "?".into(),
            answer: Question::Value("avail.idx".into()),
            why: "Because (§2.7.6).".into(),
            expect: None,
        }
    }

    #[test]
    fn numbers_are_read_in_decimal_hex_and_binary() {
        let t = truth(Expected::Number(32770.0));
        for given in [
            "32770",
            "0x8002",
            "0X8002",
            "0b1000000000000010",
            " 32770. ",
        ] {
            assert!(cp().check(&t, given).is_right(), "{given}");
        }
        match cp().check(&t, "2") {
            Verdict::Wrong {
                given,
                pane,
                field,
                explanation,
                ..
            } => {
                assert_eq!(given, "2");
                assert_eq!(pane, PaneId::Ring);
                assert_eq!(field.as_deref(), Some("avail.idx"));
                assert!(
                    explanation.contains("ring pane (Ring), field avail.idx"),
                    "{explanation}"
                );
                assert!(explanation.ends_with("Because (§2.7.6)."), "{explanation}");
            }
            v => panic!("{v:?}"),
        }
        assert!(matches!(
            cp().check(&t, "three"),
            Verdict::Unreadable { .. }
        ));
    }

    #[test]
    fn a_fractional_truth_is_matched_within_five_percent_and_an_integer_exactly() {
        let t = truth(Expected::Number(4.98));
        assert!(cp().check(&t, "5").is_right());
        assert!(!cp().check(&t, "4.5").is_right());
        let t = truth(Expected::Number(5.0));
        assert!(!cp().check(&t, "4.98").is_right());
    }

    #[test]
    fn words_are_matched_case_blind_and_misspellings_get_a_hint() {
        let t = truth(Expected::Word {
            word: "stall".into(),
            choices: vec!["stall".into(), "leak".into(), "none".into()],
        });
        assert!(cp().check(&t, "STALL").is_right());
        assert!(!cp().check(&t, "leak").is_right());
        match cp().check(&t, "stal") {
            Verdict::Unreadable { message } => {
                assert!(message.contains("did you mean `stall`"), "{message}")
            }
            v => panic!("{v:?}"),
        }
        let t = truth(Expected::YesNo(false));
        assert!(cp().check(&t, "No").is_right());
        assert!(!cp().check(&t, "y").is_right());
        assert!(matches!(
            cp().check(&t, "maybe"),
            Verdict::Unreadable { .. }
        ));
    }

    #[test]
    fn patterns_need_one_star_where_an_index_is_asked() {
        let q = |f: &str| Question::Index {
            agent: Agent::Device,
            kind: AccessKind::Load,
            field: f.into(),
        };
        assert!(q("avail.ring[*]").validate().is_ok());
        assert!(q("avail.idx").validate().is_err());
        assert!(q("avail.rnig[*]").validate().is_err());
        assert!(
            Question::Value("used.ring[0].len".into())
                .validate()
                .is_ok()
        );
        assert!(Question::Value("used.ring[0]".into()).validate().is_err());
        let star = FieldPattern::parse("used.ring[*].id").unwrap();
        assert_eq!(star_index(&star, "used.ring[12].id"), Some(12));
        assert_eq!(star_index(&star, "used.idx"), None);
    }
}
