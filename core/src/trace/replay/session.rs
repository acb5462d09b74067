//! A trace opened for stepping: the state at any step, from checkpoints.

use super::ReplayOptions;
use super::apply::{Replayer, Sink};
use super::pass::run;
use super::report::ReplayReport;
use crate::finding::Finding;
use crate::trace::import::Capture;
use crate::trace::import::store::TraceStore;
use crate::trace::join::{EventRef, Join, JoinOptions, Joined, Pos, Side};
use crate::trace::state::ReplayState;

/// (a full state every [`TraceSession::CHECKPOINT_EVERY`] events), as the TUI needs for
/// stepping forwards and backwards through millions of events.
#[derive(Debug)]
pub struct TraceSession {
    capture: Capture,
    replayer: Replayer,
    checkpoints: Vec<ReplayState>,
    report: ReplayReport,
    joined: Option<Joined>,
}

impl TraceSession {
    /// Events between checkpoints.
    pub const CHECKPOINT_EVERY: usize = 4096;

    /// Replays the capture once: the report (findings included) and a checkpoint every
    /// [`TraceSession::CHECKPOINT_EVERY`] events come from the same pass.
    pub fn new(capture: Capture, opts: &ReplayOptions) -> TraceSession {
        let c = &capture;
        let replayer = Replayer::new(&c.store, c.qmp.as_ref(), &c.dumps, opts);
        let initial = replayer.initial(&c.store);
        let joined = Join::build(c, &initial, JoinOptions::default());
        let mut checkpoints = vec![initial];
        let report = run(&replayer, c, opts, joined.as_ref(), &mut |st| {
            if st.step.is_multiple_of(Self::CHECKPOINT_EVERY) {
                checkpoints.push(st.clone());
            }
        });
        TraceSession {
            capture,
            replayer,
            checkpoints,
            report,
            joined,
        }
    }

    /// The inputs: the trace, QMP, ring dumps, backend log.
    pub fn capture(&self) -> &Capture {
        &self.capture
    }

    /// The join with the driver's trace: `None` without one, the refusal when the clocks
    /// could not be aligned.
    pub fn joined(&self) -> Option<&Joined> {
        self.joined.as_ref()
    }

    /// The join, when there is one.
    pub fn join(&self) -> Option<&Join> {
        self.joined.as_ref().and_then(|j| j.as_ref().ok())
    }

    /// The replayer, for stepping states of its own ([`Replayer::step`]).
    pub fn replayer(&self) -> &Replayer {
        &self.replayer
    }

    /// The imported trace.
    pub fn store(&self) -> &TraceStore {
        &self.capture.store
    }

    /// The whole-trace report (findings included).
    pub fn report(&self) -> &ReplayReport {
        &self.report
    }

    /// Number of steps (events).
    pub fn len(&self) -> usize {
        self.store().events().len()
    }

    /// Whether the trace has no events.
    pub fn is_empty(&self) -> bool {
        self.store().events().is_empty()
    }

    /// The state after `step` events (clamped to the trace length).
    pub fn state_at(&self, step: usize) -> ReplayState {
        let step = step.min(self.len());
        let cp = step / Self::CHECKPOINT_EVERY;
        let mut st = match self.checkpoints.get(cp).or(self.checkpoints.last()) {
            Some(s) => s.clone(),
            None => self.replayer.initial(self.store()),
        };
        let mut none = Sink { out: None };
        let from = st.step;
        for e in self.store().events().get(from..step).unwrap_or_default() {
            self.replayer.apply(&mut st, self.store(), e, &mut none);
        }
        st
    }

    /// Steps of the stepping timeline: every event of every side when the driver's trace is
    /// joined, else QEMU's events.
    pub fn steps(&self) -> u64 {
        self.join().map_or(self.len() as u64, |j| j.merge.len)
    }

    /// Where each side is after `step` steps of the timeline, and the event at the cursor.
    pub fn position(&self, step: u64) -> Pos {
        match self.join() {
            Some(j) => j.merge.seek(&self.capture, &j.clock, step),
            None => {
                let s = step.min(self.len() as u64);
                Pos {
                    at: [s as u32, 0, 0],
                    last: s.checked_sub(1).map(|i| EventRef {
                        side: Side::Device,
                        index: i as u32,
                    }),
                }
            }
        }
    }

    /// QEMU's events applied at a timeline step.
    pub fn device_step(&self, step: u64) -> usize {
        self.position(step).at[Side::Device as usize] as usize
    }

    /// The timeline step at which an event is applied (1-based: the cursor that shows it).
    pub fn step_of(&self, e: EventRef) -> u64 {
        match self.join() {
            Some(j) => j.merge.step_of(&self.capture, &j.clock, e),
            None => u64::from(e.index) + 1,
        }
    }

    /// The timeline step with `events` of QEMU's events applied (its last one at the cursor).
    pub fn step_of_device(&self, events: usize) -> u64 {
        match events.checked_sub(1) {
            Some(i) => self.step_of(EventRef {
                side: Side::Device,
                index: i as u32,
            }),
            None => 0,
        }
    }

    /// Findings up to and including a step's trace line.
    pub fn findings_until(&self, step: usize) -> Vec<&Finding> {
        let line = step
            .checked_sub(1)
            .and_then(|i| self.store().events().get(i))
            .map_or(0, |e| u64::from(e.line));
        self.report
            .findings
            .iter()
            .filter(|f| f.line().is_some_and(|l| l <= line))
            .collect()
    }
}
