//! Time travel over a run: every micro step reachable forwards and backwards.
//!
//! The engine is deterministic, so a state never needs to be stored to be recovered: it can be
//! recomputed from an earlier one. A session runs its ops once, keeping the full access log and
//! a checkpoint (a clone of the engine) every few ops. To show micro step `s`, it clones the
//! nearest checkpoint before the op that contains `s`, replays whole ops up to that op with
//! recording off, and then runs that op with a micro-step budget so it stops right after the
//! `s`-th access. Seeking costs at most one checkpoint interval of replay, wherever `s` is.

use std::fmt;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::cache::{CacheError, CacheModel};
use crate::config::EngineConfig;
use crate::engine::{Engine, EngineError, Outcome};
use crate::memory::Access;
use crate::op::Op;

/// Ops between checkpoints. Small enough that a seek replays little, large enough that
/// checkpoints (a copy of the touched guest pages each) stay cheap.
const CHECKPOINT_EVERY: usize = 32;
/// Accesses between cache-model checkpoints: the model costs tens of nanoseconds per access,
/// so a seek replays at most a fraction of a millisecond.
const CACHE_CHECKPOINT_EVERY: usize = 4096;

/// Where the cursor is, in both granularities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Micro step: the number of accesses performed.
    pub step: u64,
    /// The op the next access belongs to (equals the op count at the end).
    pub op: usize,
    /// Accesses of that op already performed.
    pub within: u64,
}

/// What one op did, with the details the engine's [`Outcome`] leaves out: Display puts it in
/// words ("driver adds 2 buffer(s): [5, 3]").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Narration<'a> {
    /// What the engine reported.
    pub outcome: &'a Outcome,
    /// For an add, the buffers added (split: heads, packed: buffer IDs) in order; else empty.
    pub added: &'a [u16],
}

impl fmt::Display for Narration<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.outcome {
            Outcome::Added(_) => write!(f, "{}: {:?}", self.outcome, self.added),
            other => other.fmt(f),
        }
    }
}

/// A run of ops with time travel.
#[derive(Debug, Clone)]
pub struct Session {
    ops: Vec<Op>,
    /// `op_start[i]`: the micro step at which op `i` starts; one extra entry for the end.
    op_start: Vec<u64>,
    outcomes: Vec<Outcome>,
    /// Per op, the buffers an add added (empty for other ops).
    added: Vec<SmallVec<[u16; 4]>>,
    checkpoints: Vec<Engine>,
    log: Vec<Access>,
    end: Engine,
    view: Engine,
    cursor: u64,
    /// Cache model states after 0, N, 2N, ... accesses.
    cache_checkpoints: Vec<CacheModel>,
    cache: CacheModel,
}

impl Session {
    /// Runs `ops` (after flattening repeats) on a fresh engine and places the cursor at 0.
    pub fn new(config: EngineConfig, ops: &[Op]) -> Result<Self, EngineError> {
        let start = Engine::new(config)?;
        let ops = Op::flatten(ops);
        let mut engine = start.clone();
        let mut op_start = Vec::with_capacity(ops.len() + 1);
        let mut outcomes = Vec::with_capacity(ops.len());
        let mut added = Vec::with_capacity(ops.len());
        let mut checkpoints = Vec::new();
        let mut log = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            if i % CHECKPOINT_EVERY == 0 {
                checkpoints.push(engine.clone());
            }
            op_start.push(engine.bus.steps());
            // No budget is set, so `Halt` cannot happen; the arm keeps the types honest.
            let said = engine.apply(op).unwrap_or(Outcome::Said(String::new()));
            let ids = match said {
                Outcome::Added(n) => {
                    let all = engine.ledger.unpublished();
                    SmallVec::from_slice(&all[all.len().saturating_sub(n.into())..])
                }
                _ => SmallVec::new(),
            };
            added.push(ids);
            outcomes.push(said);
            log.append(&mut engine.bus.take_log());
        }
        op_start.push(engine.bus.steps());
        if checkpoints.is_empty() {
            checkpoints.push(engine.clone());
        }
        engine.audit();
        let mut s = Session {
            ops,
            op_start,
            outcomes,
            added,
            checkpoints,
            log,
            view: start,
            end: engine,
            cursor: 0,
            cache_checkpoints: Vec::new(),
            cache: CacheModel::default(),
        };
        s.rebuild_cache(CacheModel::default());
        s.seek(0);
        Ok(s)
    }

    /// Uses a cache model with another line size (the default is 64 bytes).
    pub fn set_line_size(&mut self, line_size: u64) -> Result<(), CacheError> {
        self.rebuild_cache(CacheModel::new(line_size)?);
        let at = self.cursor;
        self.seek(at);
        Ok(())
    }

    fn rebuild_cache(&mut self, mut model: CacheModel) {
        self.cache_checkpoints.clear();
        for chunk in self.log.chunks(CACHE_CHECKPOINT_EVERY) {
            self.cache_checkpoints.push(model.clone());
            model.observe_all(chunk);
        }
        self.cache_checkpoints.push(model);
    }

    /// The cache model having seen every access up to the cursor (a model, not a measurement).
    pub fn cache(&self) -> &CacheModel {
        &self.cache
    }

    /// The cache model having seen the whole run.
    pub fn final_cache(&self) -> &CacheModel {
        self.cache_checkpoints.last().unwrap_or(&self.cache)
    }

    /// Total micro steps.
    pub fn len(&self) -> u64 {
        self.op_start.last().copied().unwrap_or(0)
    }

    /// Whether the run has no steps.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The flattened ops.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// What op `op` did (Display puts it in words).
    pub fn outcome(&self, op: usize) -> Option<Narration<'_>> {
        Some(Narration {
            outcome: self.outcomes.get(op)?,
            added: self.added.get(op).map_or(&[], |a| &a[..]),
        })
    }

    /// Micro step at which op `i` starts (`i == ops().len()` gives the end).
    pub fn op_start(&self, i: usize) -> u64 {
        self.op_start.get(i).copied().unwrap_or_else(|| self.len())
    }

    /// The whole access log.
    pub fn log(&self) -> &[Access] {
        &self.log
    }

    /// The engine as it is at the cursor.
    pub fn state(&self) -> &Engine {
        &self.view
    }

    /// The engine after the last op, with the end-of-run audit applied.
    pub fn final_state(&self) -> &Engine {
        &self.end
    }

    /// The cursor.
    pub fn position(&self) -> Position {
        self.position_of(self.cursor)
    }

    /// The position of any step.
    pub fn position_of(&self, step: u64) -> Position {
        let op = self.op_index(step);
        let within = step - self.op_start(op).min(step);
        Position { step, op, within }
    }

    /// The op that micro step `step` belongs to: the last op starting at or before it whose
    /// accesses are not all done. Ops without accesses are skipped over.
    fn op_index(&self, step: u64) -> usize {
        // First op whose end is after `step`.
        let ends = &self.op_start[1..];
        ends.partition_point(|&e| e <= step).min(self.ops.len())
    }

    /// Moves the cursor to micro step `step` (clamped to the run).
    pub fn seek(&mut self, step: u64) {
        let step = step.min(self.len());
        let op = self.op_index(step);
        let ck = (op / CHECKPOINT_EVERY).min(self.checkpoints.len().saturating_sub(1));
        let mut e = self.checkpoints[ck].clone();
        e.bus.set_recording(false);
        // No budget is set, so the replay runs to the end of the slice.
        let _ = e.run(&self.ops[ck * CHECKPOINT_EVERY..op], |_, _| {});
        // At an op boundary the state is "before the op": running it up to its first access
        // would show private bookkeeping (a free-list pop) that belongs to the next step.
        if op < self.ops.len() && step > self.op_start(op) {
            e.bus.set_budget(step);
            let _ = e.apply(&self.ops[op]);
            e.bus.set_budget(u64::MAX);
        } else if op >= self.ops.len() {
            e.audit();
        }
        self.view = e;
        self.cursor = step;
        let ck = (step as usize / CACHE_CHECKPOINT_EVERY)
            .min(self.cache_checkpoints.len().saturating_sub(1));
        let mut c = self.cache_checkpoints.get(ck).cloned().unwrap_or_default();
        let from = (ck * CACHE_CHECKPOINT_EVERY).min(self.log.len());
        let to = (step as usize).min(self.log.len());
        c.observe_all(&self.log[from..to]);
        self.cache = c;
    }

    /// One micro step forward.
    pub fn step_forward(&mut self) {
        self.seek(self.cursor.saturating_add(1));
    }

    /// One micro step back.
    pub fn step_back(&mut self) {
        self.seek(self.cursor.saturating_sub(1));
    }

    /// To the end of the current op (or of the next one, if at an op boundary).
    pub fn op_forward(&mut self) {
        let p = self.position();
        let target = self.op_start(p.op + 1);
        self.seek(target);
    }

    /// To the start of the current op (or of the previous one, if at its start).
    pub fn op_back(&mut self) {
        let p = self.position();
        let start = self.op_start(p.op);
        let target = if start < self.cursor {
            start
        } else {
            // At an op boundary: the previous op with at least one access.
            let mut i = p.op;
            while i > 0 && self.op_start(i - 1) == self.cursor {
                i -= 1;
            }
            self.op_start(i.saturating_sub(1))
        };
        self.seek(target);
    }

    /// The access the next step performs, if any.
    pub fn next_access(&self) -> Option<&Access> {
        self.log.get(self.cursor as usize)
    }

    /// Copies guest memory at the cursor into `buf`, starting at `addr`. Takes `&mut self` only
    /// because guest memory keeps a small page lookup cache; the state is not changed.
    pub fn peek(&mut self, addr: u64, buf: &mut [u8]) {
        self.view.bus.mem.read(addr, buf);
    }

    /// The access the last step performed, if any.
    pub fn last_access(&self) -> Option<&Access> {
        self.cursor
            .checked_sub(1)
            .and_then(|s| self.log.get(s as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Features;
    use crate::layout::RingKind;
    use crate::ring::{BufferSpec, Pick};

    fn ops() -> Vec<Op> {
        let buf = BufferSpec {
            readable: vec![32],
            writable: vec![256],
            indirect: false,
        };
        vec![
            Op::Negotiate,
            Op::Repeat {
                times: 40,
                ops: vec![
                    Op::Add {
                        buffer: buf,
                        count: 2,
                    },
                    Op::Publish,
                    Op::Kick,
                    Op::Pop { max: None },
                    Op::Complete {
                        count: 2,
                        pick: Pick::Newest,
                        written: Some(100),
                    },
                    Op::PublishUsed,
                    Op::Interrupt,
                    Op::Reclaim { max: None },
                ],
            },
        ]
    }

    #[test]
    fn an_add_is_narrated_with_the_buffers_it_put_in_the_ring() {
        use crate::memory::{AccessKind, DescPart, Field};
        let one = BufferSpec {
            readable: vec![16],
            writable: vec![],
            indirect: false,
        };
        let add = |count| Op::Add {
            buffer: one.clone(),
            count,
        };
        // The second add reuses what the reclaim freed, so its ids are not 0, 1, 2 again.
        let ops = vec![
            Op::Negotiate,
            add(3),
            Op::Publish,
            Op::Pop { max: None },
            Op::Complete {
                count: 2,
                pick: Pick::Newest,
                written: None,
            },
            Op::PublishUsed,
            Op::Reclaim { max: None },
            add(3),
        ];
        for kind in [RingKind::Split, RingKind::Packed] {
            let s = Session::new(EngineConfig::simple(kind, 8, Features::NONE), &ops).unwrap();
            let mut adds = 0;
            for (i, op) in ops.iter().enumerate() {
                let n = s.outcome(i).unwrap();
                if !matches!(op, Op::Add { .. }) {
                    assert!(n.added.is_empty());
                    assert_eq!(n.to_string(), n.outcome.to_string());
                    continue;
                }
                adds += 1;
                // What the op itself stored: the avail ring entries (split), the descriptors'
                // buffer IDs (packed).
                let (from, to) = (s.op_start(i) as usize, s.op_start(i + 1) as usize);
                let stored: Vec<u16> = s.log()[from..to]
                    .iter()
                    .filter(|a| a.kind == AccessKind::Store)
                    .filter(|a| match (kind, a.field) {
                        (RingKind::Split, Field::AvailRing(_)) => true,
                        (RingKind::Packed, Field::Desc { part, .. }) => part == DescPart::Id,
                        _ => false,
                    })
                    .map(|a| a.value as u16)
                    .collect();
                assert_eq!(stored.len(), 3, "{kind} op {i}");
                assert_eq!(n.added, &stored[..], "{kind} op {i}");
                assert_eq!(
                    n.to_string(),
                    format!("driver adds 3 buffer(s): {stored:?}"),
                    "{kind} op {i}"
                );
            }
            assert_eq!(adds, 2);
        }
    }

    #[test]
    fn seeking_matches_a_straight_run_at_every_op_boundary() {
        for kind in [RingKind::Split, RingKind::Packed] {
            let cfg = EngineConfig::simple(kind, 8, Features::EVENT_IDX);
            let mut s = Session::new(cfg.clone(), &ops()).unwrap();
            let mut straight = Engine::new(cfg).unwrap();
            straight.bus.set_recording(false);
            for (i, op) in s.ops().to_vec().iter().enumerate() {
                s.seek(s.op_start(i));
                assert_eq!(s.state(), &straight, "{kind} before op {i}");
                straight.apply(op).unwrap();
            }
        }
    }

    #[test]
    fn stepping_forward_n_and_back_n_restores_the_state() {
        let cfg = EngineConfig::simple(RingKind::Packed, 4, Features::NONE);
        let mut s = Session::new(cfg, &ops()).unwrap();
        s.seek(123);
        let before = s.state().clone();
        for _ in 0..57 {
            s.step_forward();
        }
        assert_ne!(s.state(), &before);
        for _ in 0..57 {
            s.step_back();
        }
        assert_eq!(s.state(), &before);
        assert_eq!(s.position().step, 123);
    }

    #[test]
    fn a_micro_step_shows_exactly_the_accesses_before_it() {
        let cfg = EngineConfig::simple(RingKind::Split, 8, Features::NONE);
        let mut s = Session::new(cfg, &ops()).unwrap();
        // Find the first store of avail.idx and stand just before and just after it.
        let at = s
            .log()
            .iter()
            .position(|a| a.field == crate::memory::Field::AvailIdx)
            .unwrap() as u64;
        let addr = s.log()[at as usize].addr;
        s.seek(at);
        let mut mem = s.state().bus.mem.clone();
        assert_eq!(mem.read_le(addr, 2), 0);
        s.step_forward();
        let mut mem = s.state().bus.mem.clone();
        assert_eq!(mem.read_le(addr, 2), 2);
        assert_eq!(s.last_access().map(|a| a.step), Some(at));
    }

    #[test]
    fn peek_reads_memory_at_the_cursor() {
        let cfg = EngineConfig::simple(RingKind::Split, 8, Features::NONE);
        let mut s = Session::new(cfg, &ops()).unwrap();
        let store = *s
            .log()
            .iter()
            .find(|a| a.field == crate::memory::Field::AvailIdx)
            .unwrap();
        let mut b = [0u8; 2];
        s.seek(store.step);
        s.peek(store.addr, &mut b);
        assert_eq!(u16::from_le_bytes(b), 0);
        s.step_forward();
        s.peek(store.addr, &mut b);
        assert_eq!(u64::from(u16::from_le_bytes(b)), store.value);
    }

    #[test]
    fn the_cache_model_follows_the_cursor() {
        let cfg = EngineConfig::simple(RingKind::Split, 8, Features::NONE);
        let mut s = Session::new(cfg, &ops()).unwrap();
        let total = s.final_cache().totals().transfers();
        assert!(total > 0);
        s.seek(u64::MAX);
        assert_eq!(s.cache(), s.final_cache());
        // Halfway, the model has seen exactly the first half of the log.
        let half = s.len() / 2;
        s.seek(half);
        let mut fresh = CacheModel::default();
        fresh.observe_all(&s.log()[..half as usize]);
        assert_eq!(s.cache(), &fresh);
        assert!(s.cache().totals().transfers() < total);
        s.set_line_size(128).unwrap();
        assert!(s.set_line_size(3).is_err());
    }

    #[test]
    fn op_steps_land_on_op_boundaries() {
        let cfg = EngineConfig::simple(RingKind::Split, 8, Features::NONE);
        let mut s = Session::new(cfg, &ops()).unwrap();
        s.seek(0);
        s.op_forward();
        // The first op is the negotiation walk.
        assert_eq!(s.position().step, s.op_start(1));
        s.op_forward();
        assert_eq!(s.position().step, s.op_start(2));
        s.step_forward();
        s.op_back();
        assert_eq!(s.position().step, s.op_start(2));
        s.op_back();
        assert_eq!(s.position().step, s.op_start(1));
        s.seek(u64::MAX);
        assert_eq!(s.position().step, s.len());
        assert_eq!(s.state().ledger.reclaimed, 80);
    }
}
