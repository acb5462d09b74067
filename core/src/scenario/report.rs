//! Running a scenario headless and summarising it: layout, buffers, steps, accesses,
//! notifications each way, indices, findings, and the outcome of every expectation. This is
//! what `ringside run` prints (as text or JSON) and what `cargo test` checks.

use serde::Serialize;

use super::cache::CacheSummary;
use super::{Scenario, ScenarioError};
use crate::engine::{Engine, Ring};
use crate::features::Features;
use crate::finding::{Code, FindingSource, Severity};
use crate::memory::{AccessKind, Agent, Space};
use crate::session::Session;

/// Guest-memory accesses of a run, by side and kind (transport register accesses apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Accesses {
    /// All guest-memory accesses.
    pub total: u64,
    /// Driver loads.
    pub driver_loads: u64,
    /// Driver stores.
    pub driver_stores: u64,
    /// Device loads.
    pub device_loads: u64,
    /// Device stores.
    pub device_stores: u64,
    /// Transport register accesses (status, features, notify, interrupt): not memory.
    pub transport: u64,
}

/// Notifications each way, and the decisions that suppressed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Notifications {
    /// Available-buffer notifications (kicks) sent.
    pub driver_to_device: u64,
    /// Used-buffer notifications (interrupts) sent.
    pub device_to_driver: u64,
    /// Kick decisions that said "not needed".
    pub kicks_suppressed: u64,
    /// Interrupt decisions that said "not needed".
    pub interrupts_suppressed: u64,
}

/// Where each side's indices stand at the end. Split fills the first four, packed the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Indices {
    /// Split: `avail.idx` as the driver last published it.
    pub avail_idx: Option<u16>,
    /// Split: `used.idx` as the device last published it.
    pub used_idx: Option<u16>,
    /// Split: the device's `last_avail_idx`.
    pub last_avail_idx: Option<u16>,
    /// Split: the driver's `last_used_idx`.
    pub last_used_idx: Option<u16>,
    /// Packed: the driver's next slot to make available.
    pub driver_slot: Option<u16>,
    /// Packed: the driver's wrap counter.
    pub driver_wrap: Option<u16>,
    /// Packed: the device's next slot to mark used.
    pub device_slot: Option<u16>,
    /// Packed: the device's wrap counter.
    pub device_wrap: Option<u16>,
}

/// A finding as reported: the engine's finding plus the scenario step it happened in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingReport {
    /// Stable kebab-case code.
    pub code: Code,
    /// Severity.
    pub severity: Severity,
    /// Micro step (access number) at which it was detected.
    pub step: u64,
    /// Index of the scenario step (0-based) whose op was running; `None` for the end-of-run
    /// audit.
    pub scenario_step: Option<usize>,
    /// The side that detected or caused it.
    pub agent: Option<Agent>,
    /// The message.
    pub message: String,
    /// `detected` (a side read it in the ring) or `ground-truth` (only ringside's ledger and
    /// audit can know it).
    pub source: FindingSource,
}

/// The summary of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Name or path the scenario was run as.
    pub scenario: String,
    /// Its title.
    pub title: String,
    /// Ring layout actually used (`split` or `packed`; `none` if no queue was set up).
    pub layout: String,
    /// Queue size.
    pub size: u32,
    /// Negotiated features (empty when negotiation failed).
    pub negotiated: Features,
    /// Whether the legacy (0.9) interface is in use.
    pub legacy: bool,
    /// Final device status byte.
    pub status: u8,
    /// Status values the driver wrote, in order.
    pub status_walk: Vec<u8>,
    /// Buffers that made the whole round trip (reclaimed by the driver).
    pub buffers: u64,
    /// Buffers made available.
    pub made_available: u64,
    /// Scenario steps.
    pub scenario_steps: usize,
    /// Ops after expanding repeats.
    pub ops: usize,
    /// Micro steps: every access, memory or register.
    pub steps: u64,
    /// Memory accesses.
    pub accesses: Accesses,
    /// What the cache model makes of the run (model results).
    pub cache: CacheSummary,
    /// Notifications.
    pub notifications: Notifications,
    /// Final indices.
    pub indices: Indices,
    /// Findings, in step order.
    pub findings: Vec<FindingReport>,
    /// Every expectation with what the run showed.
    pub expectations: Vec<Checked>,
    /// Whether every expectation held.
    pub passed: bool,
}

impl Report {
    /// Summarises a finished session (expectations left empty).
    pub fn of(name: &str, scenario: &Scenario, session: &Session) -> Result<Report, ScenarioError> {
        let end: &Engine = session.final_state();
        let step_of_op = scenario.step_of_op();
        let mut accesses = Accesses::default();
        for a in session.log() {
            if a.space == Space::Transport {
                accesses.transport += 1;
                continue;
            }
            accesses.total += 1;
            let slot = match (a.agent, a.kind) {
                (Agent::Driver, AccessKind::Load) => &mut accesses.driver_loads,
                (Agent::Driver, AccessKind::Store) => &mut accesses.driver_stores,
                (Agent::Device, AccessKind::Load) => &mut accesses.device_loads,
                (Agent::Device, AccessKind::Store) => &mut accesses.device_stores,
            };
            *slot += 1;
        }
        let sent = |from: Agent| end.notifications.iter().filter(|n| n.from == from).count() as u64;
        let notifications = Notifications {
            driver_to_device: sent(Agent::Driver),
            device_to_driver: sent(Agent::Device),
            kicks_suppressed: end.counters.kicks_suppressed,
            interrupts_suppressed: end.counters.interrupts_suppressed,
        };
        let (layout, indices) = match &end.ring {
            Some(Ring::Split { driver, device, .. }) => (
                "split",
                Indices {
                    avail_idx: Some(driver.published.0),
                    used_idx: Some(device.published.0),
                    last_avail_idx: Some(device.last_avail.0),
                    last_used_idx: Some(driver.last_used.0),
                    ..Indices::default()
                },
            ),
            Some(Ring::Packed { driver, device, .. }) => (
                "packed",
                Indices {
                    driver_slot: Some(driver.next_avail.slot),
                    driver_wrap: Some(driver.next_avail.wrap.bit()),
                    device_slot: Some(device.next_used.slot),
                    device_wrap: Some(device.next_used.wrap.bit()),
                    ..Indices::default()
                },
            ),
            None => ("none", Indices::default()),
        };
        let op_of_finding = findings_per_op(scenario, session);
        let findings = end
            .findings
            .0
            .iter()
            .enumerate()
            .map(|(i, f)| FindingReport {
                code: f.code,
                severity: f.severity,
                step: f.step().unwrap_or_default(),
                scenario_step: op_of_finding
                    .get(i)
                    .and_then(|op| step_of_op.get(*op).copied()),
                agent: f.agent(),
                message: f.message.clone(),
                source: f.source,
            })
            .collect();
        let cache = scenario
            .cache
            .summarise(
                session.log(),
                end.ledger.reclaimed,
                end.ring.as_ref().map(Ring::layout),
            )
            .map_err(|source| ScenarioError::Cache {
                file: name.to_string(),
                source,
            })?;
        Ok(Report {
            scenario: name.to_string(),
            title: scenario.title.clone(),
            layout: layout.to_string(),
            size: scenario.engine.queue.size,
            negotiated: end.features(),
            legacy: end.transport.legacy,
            status: end.transport.status.0,
            status_walk: end.transport.walk.clone(),
            buffers: end.ledger.reclaimed,
            made_available: end.ledger.made_available,
            scenario_steps: scenario.steps.len(),
            ops: session.ops().len(),
            steps: session.len(),
            accesses,
            cache,
            notifications,
            indices,
            findings,
            expectations: Vec::new(),
            passed: true,
        })
    }
}

/// For each finding of the run, in order, the op that raised it. A finding's micro step
/// cannot say this on its own (a check made after an op's last access carries the next op's
/// first step), so the ops are replayed, recording off, counting findings after each. The
/// end-of-run audit's findings belong to no op and are left out.
fn findings_per_op(scenario: &Scenario, session: &Session) -> Vec<usize> {
    let Ok(mut e) = Engine::new(scenario.engine.clone()) else {
        return Vec::new();
    };
    e.bus.set_recording(false);
    let mut out = Vec::new();
    for (i, op) in session.ops().iter().enumerate() {
        // No budget is set, so an op always runs to its end.
        let _ = e.apply(op);
        out.resize(e.findings.0.len(), i);
    }
    out
}

/// An expectation with its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checked {
    /// What was expected, in words.
    pub expected: String,
    /// What the run showed.
    pub observed: String,
    /// Whether it held.
    pub pass: bool,
}
