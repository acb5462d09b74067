//! Expectations: what a scenario's run must show, checked against the numbers the engine
//! computes. Nothing here holds a result; every observed value comes from the run.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::metric::Metric;
use super::report::Checked;
use super::run::Run;
use super::{Scenario, ScenarioError};
use crate::features::Features;
use crate::finding::Code;
use crate::layout::RingKind;
use crate::memory::{Access, AccessKind, Agent};
use crate::op::Op;

/// Where a number must lie.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Bound {
    /// Exactly this.
    Is(f64),
    /// Within `[min, max]`.
    Between(f64, f64),
    /// At least this.
    AtLeast(f64),
    /// At most this.
    AtMost(f64),
}

impl Bound {
    /// Whether `v` lies within.
    pub fn holds(self, v: f64) -> bool {
        const EPS: f64 = 1e-9;
        match self {
            Bound::Is(x) => (v - x).abs() <= EPS,
            Bound::Between(lo, hi) => v >= lo - EPS && v <= hi + EPS,
            Bound::AtLeast(lo) => v >= lo - EPS,
            Bound::AtMost(hi) => v <= hi + EPS,
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Is(x) => write!(f, "= {}", num(*x)),
            Bound::Between(lo, hi) => write!(f, "in [{}, {}]", num(*lo), num(*hi)),
            Bound::AtLeast(lo) => write!(f, ">= {}", num(*lo)),
            Bound::AtMost(hi) => write!(f, "<= {}", num(*hi)),
        }
    }
}

/// A number as people write it: integers without a fraction, others to three places.
pub fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}

/// What a relative expectation compares with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Against {
    /// Another scenario (embedded name or path), run as it is.
    Scenario(String),
    /// This same scenario with the ring layout switched (RING_PACKED added to or removed from
    /// both sides' features to match): the same workload on the other layout.
    Layout(RingKind),
    /// This same scenario with these features taken from both sides' offers.
    Without(Features),
}

/// How this run's metric must relate to the other's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Relation {
    /// Strictly smaller.
    Less,
    /// Strictly larger.
    Greater,
    /// Equal.
    Equal,
    /// `this / other` within the bound.
    Ratio(Bound),
}

/// A finding code as written in a scenario: its kebab-case name, as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FindingCode(pub Code);

impl Serialize for FindingCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

impl<'de> Deserialize<'de> for FindingCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Code::parse(&name).map(FindingCode).ok_or_else(|| {
            let names = Code::ALL.iter().map(|c| c.name());
            let hint = crate::suggest::hint(&name, names.clone());
            serde::de::Error::custom(format!(
                "unknown finding code `{name}`; expected one of {}{hint}",
                names.collect::<Vec<_>>().join(", ")
            ))
        })
    }
}

fn at_least_once() -> Bound {
    Bound::AtLeast(1.0)
}

/// One thing a run must show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Expectation {
    /// A metric lies within a bound: `Metric(Kicks, Is(1))`.
    Metric(Metric, Bound),
    /// Misses per buffer caused by one field class (`desc.flags`, `avail.idx`,
    /// `used.ring.id`...: the field's name without indices) lie within a bound.
    FieldMisses(String, Bound),
    /// A finding with this code was raised: `Finding("stall")`.
    Finding(FindingCode),
    /// No finding with this code was raised.
    NoFinding(FindingCode),
    /// The set of finding codes raised is exactly this (each at least once, no others).
    Findings(Vec<FindingCode>),
    /// No findings at all.
    Clean,
    /// The negotiated feature set is exactly this.
    Negotiated(Features),
    /// Whether the legacy (0.9) interface is in use.
    Legacy(bool),
    /// The status values the driver wrote, in order.
    StatusWalk(Vec<u8>),
    /// The number of logged accesses matching all given filters lies within `count`
    /// (default: at least once). `field` is the field's name as ringside prints it
    /// (`desc[0].id`, `avail.idx`, `used.ring[3].len`).
    Access {
        /// Who made it.
        #[serde(default)]
        agent: Option<Agent>,
        /// Load or Store.
        #[serde(default)]
        kind: Option<AccessKind>,
        /// The field.
        field: String,
        /// The value loaded or stored.
        #[serde(default)]
        value: Option<u64>,
        /// How many such accesses.
        #[serde(default = "at_least_once")]
        count: Bound,
    },
    /// The first access to `earlier` comes before the first access to `later` (both matching
    /// `agent` and `kind` when given), and both happen.
    Before {
        /// Who made them.
        #[serde(default)]
        agent: Option<Agent>,
        /// Load or Store.
        #[serde(default)]
        kind: Option<AccessKind>,
        /// The field accessed first.
        earlier: String,
        /// The field accessed after it.
        later: String,
    },
    /// The same scenario with both sides' faults switched off (the engine's fault lists
    /// emptied, `DriverFault`/`DeviceFault` steps dropped) meets all of these: a fault
    /// scenario shows the correct code beside the faulty one, so the lesson is the difference.
    WithoutFaults(Vec<Expectation>),
    /// A metric compared with the same metric of another run.
    Relative {
        /// The metric.
        metric: Metric,
        /// The other run.
        against: Against,
        /// How they must relate.
        is: Relation,
    },
}

fn codes_text(codes: &[Code]) -> String {
    if codes.is_empty() {
        return "none".into();
    }
    codes
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn metric_text(v: Option<f64>) -> String {
    v.map(num).unwrap_or_else(|| "n/a".into())
}

// Running with the check lives here, beside the checks, so that a run knows nothing of
// expectations and expectations can run other scenarios for comparison.
impl Run {
    /// Runs `scenario` (known as `name`) and checks its expectations. Expectations comparing
    /// against another scenario or layout run that one too.
    pub fn new(name: &str, scenario: &Scenario) -> Result<Run, ScenarioError> {
        let mut run = Run::measure(name, scenario)?;
        let checked = check_all(name, scenario, &run)?;
        run.report.passed = checked.iter().all(|c| c.pass);
        run.report.expectations = checked;
        Ok(run)
    }
}

/// Checks every expectation of `scenario` against `run`.
pub fn check_all(
    name: &str,
    scenario: &Scenario,
    run: &Run,
) -> Result<Vec<Checked>, ScenarioError> {
    scenario
        .expect
        .iter()
        .map(|e| check(name, scenario, run, e))
        .collect()
}

fn check(
    name: &str,
    scenario: &Scenario,
    run: &Run,
    e: &Expectation,
) -> Result<Checked, ScenarioError> {
    let r = &run.report;
    let mut raised: Vec<Code> = Vec::new();
    for f in &r.findings {
        if !raised.contains(&f.code) {
            raised.push(f.code);
        }
    }
    let out = |expected: String, observed: String, pass: bool| Checked {
        expected,
        observed,
        pass,
    };
    Ok(match e {
        Expectation::Metric(m, b) => {
            let v = run.metric(*m);
            out(
                format!("{m:?} {b}"),
                metric_text(v),
                v.is_some_and(|v| b.holds(v)),
            )
        }
        Expectation::FieldMisses(class, b) => {
            let v = (r.buffers > 0).then(|| r.cache.per_field.get(class).copied().unwrap_or(0.0));
            out(
                format!("misses per buffer on {class} {b}"),
                metric_text(v),
                v.is_some_and(|v| b.holds(v)),
            )
        }
        Expectation::Finding(c) => out(
            format!("finding {}", c.0),
            format!("findings: {}", codes_text(&raised)),
            raised.contains(&c.0),
        ),
        Expectation::NoFinding(c) => out(
            format!("no finding {}", c.0),
            format!("findings: {}", codes_text(&raised)),
            !raised.contains(&c.0),
        ),
        Expectation::Findings(want) => {
            let want: Vec<Code> = want.iter().map(|c| c.0).collect();
            let pass =
                want.iter().all(|c| raised.contains(c)) && raised.iter().all(|c| want.contains(c));
            out(
                format!("findings exactly {}", codes_text(&want)),
                format!("findings: {}", codes_text(&raised)),
                pass,
            )
        }
        Expectation::Clean => out(
            "no findings".into(),
            format!("findings: {}", codes_text(&raised)),
            raised.is_empty(),
        ),
        Expectation::Negotiated(f) => out(
            format!("negotiated {f}"),
            format!("negotiated {}", r.negotiated),
            r.negotiated == *f,
        ),
        Expectation::Legacy(l) => out(
            format!("legacy interface {l}"),
            format!("legacy interface {}", r.legacy),
            r.legacy == *l,
        ),
        Expectation::StatusWalk(w) => out(
            format!("status walk {w:?}"),
            format!("status walk {:?}", r.status_walk),
            r.status_walk == *w,
        ),
        Expectation::Access {
            agent,
            kind,
            field,
            value,
            count,
        } => {
            let n = run
                .session
                .log()
                .iter()
                .filter(|a| matches(a, *agent, *kind, field) && value.is_none_or(|x| a.value == x))
                .count();
            let val = value.map(|v| format!(" = {v}")).unwrap_or_default();
            out(
                format!("{}{field}{val}: count {count}", who_what(*agent, *kind)),
                format!("count {n}"),
                count.holds(n as f64),
            )
        }
        Expectation::Before {
            agent,
            kind,
            earlier,
            later,
        } => {
            let log = run.session.log();
            let first = |f: &str| {
                log.iter()
                    .find(|a| matches(a, *agent, *kind, f))
                    .map(|a| a.step)
            };
            let (a, b) = (first(earlier), first(later));
            let at = |s: Option<u64>| {
                s.map(|s| format!("step {s}"))
                    .unwrap_or_else(|| "never".into())
            };
            out(
                format!("{0}{earlier} before {0}{later}", who_what(*agent, *kind)),
                format!("{earlier} at {}, {later} at {}", at(a), at(b)),
                matches!((a, b), (Some(a), Some(b)) if a < b),
            )
        }
        Expectation::WithoutFaults(inner) => {
            let label = format!("{name} (without faults)");
            let fixed = without_faults(scenario);
            let other = Run::measure(&label, &fixed).map_err(|e| ScenarioError::Reference {
                file: name.to_string(),
                other: label.clone(),
                message: e.to_string(),
            })?;
            let parts = inner
                .iter()
                .map(|e| check(&label, &fixed, &other, e))
                .collect::<Result<Vec<_>, _>>()?;
            let join =
                |f: &dyn Fn(&Checked) -> &str| parts.iter().map(f).collect::<Vec<_>>().join("; ");
            out(
                format!("without faults: {}", join(&|c| &c.expected)),
                format!("without faults: {}", join(&|c| &c.observed)),
                parts.iter().all(|c| c.pass),
            )
        }
        Expectation::Relative {
            metric,
            against,
            is,
        } => {
            let other = other_run(name, scenario, against)?;
            let a = run.metric(*metric);
            let b = other.metric(*metric);
            let pass = match (a, b, is) {
                (Some(a), Some(b), Relation::Less) => a < b,
                (Some(a), Some(b), Relation::Greater) => a > b,
                (Some(a), Some(b), Relation::Equal) => Bound::Is(b).holds(a),
                (Some(a), Some(b), Relation::Ratio(bound)) => b != 0.0 && bound.holds(a / b),
                _ => false,
            };
            let vs = match against {
                Against::Scenario(s) => format!("`{s}`"),
                Against::Layout(k) => format!("the same workload on a {k} ring"),
                Against::Without(f) => format!("the same workload without {f}"),
            };
            let rel = match is {
                Relation::Less => "less than".to_string(),
                Relation::Greater => "greater than".to_string(),
                Relation::Equal => "equal to".to_string(),
                Relation::Ratio(bound) => format!("ratio {bound} to"),
            };
            let ratio = match (a, b) {
                (Some(a), Some(b)) if b != 0.0 => format!(" (ratio {})", num(a / b)),
                _ => String::new(),
            };
            out(
                format!("{metric:?} {rel} {vs}"),
                format!("{} vs {}{ratio}", metric_text(a), metric_text(b)),
                pass,
            )
        }
    })
}

fn matches(a: &Access, agent: Option<Agent>, kind: Option<AccessKind>, field: &str) -> bool {
    agent.is_none_or(|x| a.agent == x)
        && kind.is_none_or(|x| a.kind == x)
        && a.field.to_string() == field
}

fn who_what(agent: Option<Agent>, kind: Option<AccessKind>) -> String {
    let who = agent.map(|a| format!("{a} ")).unwrap_or_default();
    let what = kind
        .map(|k| format!("{k:?} ").to_lowercase())
        .unwrap_or_default();
    format!("{who}{what}")
}

/// `scenario` with every fault switched off: the correct code on both sides, same steps.
fn without_faults(scenario: &Scenario) -> Scenario {
    fn keep(op: &Op) -> Option<Op> {
        match op {
            Op::DriverFault { .. } | Op::DeviceFault { .. } => None,
            Op::Repeat { times, ops } => Some(Op::Repeat {
                times: *times,
                ops: ops.iter().filter_map(keep).collect(),
            }),
            other => Some(other.clone()),
        }
    }
    let mut s = scenario.clone();
    s.engine.driver.faults.clear();
    s.engine.device.faults.clear();
    s.steps.retain_mut(|step| match keep(&step.op) {
        Some(op) => {
            step.op = op;
            true
        }
        None => false,
    });
    s
}

/// Runs what a relative expectation compares with (its own expectations are not checked).
fn other_run(name: &str, scenario: &Scenario, against: &Against) -> Result<Run, ScenarioError> {
    let wrap = |other: &str, e: ScenarioError| ScenarioError::Reference {
        file: name.to_string(),
        other: other.to_string(),
        message: e.to_string(),
    };
    match against {
        Against::Scenario(other) => {
            let s = Scenario::embedded(other).map_err(|e| wrap(other, e))?;
            Run::measure(other, &s).map_err(|e| wrap(other, e))
        }
        Against::Layout(kind) => {
            let mut s = scenario.clone();
            s.engine.queue.layout = *kind;
            let adjust = |f: Features| match kind {
                RingKind::Packed => f.or(Features::RING_PACKED),
                RingKind::Split => f.minus(Features::RING_PACKED),
            };
            s.engine.device_features = adjust(s.engine.device_features);
            s.engine.driver_features = adjust(s.engine.driver_features);
            let label = format!("{name} ({kind})");
            Run::measure(&label, &s).map_err(|e| wrap(&label, e))
        }
        Against::Without(f) => {
            let mut s = scenario.clone();
            s.engine.device_features = s.engine.device_features.minus(*f);
            s.engine.driver_features = s.engine.driver_features.minus(*f);
            let label = format!("{name} (without {f})");
            Run::measure(&label, &s).map_err(|e| wrap(&label, e))
        }
    }
}
