//! The model's prediction for a bench configuration: the same buffers run through the engine
//! with the same features, and the access log through the cache model, exactly as
//! `ringside run` does for a scenario.
//!
//! The engine is sequential, so the two threads' interleaving is a fixed schedule. The driver
//! keeps `outstanding / batch` batches in flight (at least one, at most a ring's worth); each
//! round it adds and publishes a batch, the device pops, completes and publishes the oldest
//! batch, and the driver reclaims it. With an outstanding cap of one batch that is strict
//! ping-pong, the schedule a polled `--outstanding 1` run follows. In notify mode each round
//! also has the driver kick and arm its interrupt before it waits, and the device interrupt and
//! arm its notifications before it sleeps: a side that runs out of work every round.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{BenchConfig, BenchError, BenchMode};
use crate::config::EngineConfig;
use crate::engine::{Engine, Ring};
use crate::features::Features;
use crate::op::Op;
use crate::ring::{BufferSpec, Pick};
use crate::scenario::CacheSpec;

/// What the cache model makes of a bench configuration (model results).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Cache-line transfers between the two sides per buffer: the talk's "cache misses".
    pub misses_per_buffer: f64,
    /// Modelled memory cycles per buffer with separate caches (two CPUs).
    pub cycles_separate: f64,
    /// The same through one shared cache (both threads on one CPU, or SMT siblings).
    pub cycles_shared: f64,
    /// Misses per buffer by field class, only the classes that caused any.
    pub per_field: BTreeMap<String, f64>,
    /// Buffers the model's run passed.
    pub buffers: u64,
}

/// The buffer every bench round passes: one device-writable descriptor of 64 bytes, as the
/// talk's scenarios (`split-unbatched`, ...) use.
fn buffer() -> BufferSpec {
    BufferSpec {
        readable: Vec::new(),
        writable: vec![64],
        indirect: false,
    }
}

impl BenchConfig {
    /// The engine the model runs: both sides offering and accepting VERSION_1 (and
    /// RING_PACKED, IN_ORDER, EVENT_IDX as configured).
    pub fn engine(&self) -> EngineConfig {
        let mut f = Features::NONE;
        if self.in_order {
            f = f.or(Features::IN_ORDER);
        }
        if self.event_idx {
            f = f.or(Features::EVENT_IDX);
        }
        EngineConfig::simple(self.layout, self.ring_size, f)
    }

    /// The model's schedule (see the module documentation), repeats flattened.
    pub fn ops(&self) -> Vec<Op> {
        let notify = self.mode == BenchMode::Notify;
        let size = self.ring_size.min(u32::from(u16::MAX)) as u16;
        let lag = (self.outstanding / self.batch).clamp(1, (size / self.batch).max(1));
        let add = [
            Op::Add {
                buffer: buffer(),
                count: self.batch,
            },
            Op::Publish,
        ];
        let kick: &[Op] = if notify { &[Op::Kick] } else { &[] };
        let mut round: Vec<Op> = add.to_vec();
        round.extend_from_slice(kick);
        if notify {
            round.push(Op::EnableInterrupts);
        }
        round.extend([
            Op::Pop {
                max: Some(self.batch),
            },
            Op::Complete {
                count: self.batch,
                pick: Pick::Oldest,
                written: None,
            },
            Op::PublishUsed,
        ]);
        if notify {
            round.extend([Op::Interrupt, Op::EnableNotifications]);
        }
        round.push(Op::Reclaim { max: None });
        // At least 512 buffers and two laps of the ring, as the talk's scenarios run.
        let buffers = (2 * self.ring_size).max(512);
        let rounds = buffers.div_ceil(u32::from(self.batch));
        let mut ops = vec![Op::Negotiate];
        for _ in 1..lag {
            ops.extend_from_slice(&add);
            ops.extend_from_slice(kick);
        }
        ops.push(Op::Repeat {
            times: rounds,
            ops: round,
        });
        Op::flatten(&ops)
    }
}

/// Runs `cfg`'s schedule through the engine and the cache model (default topology: the talk's
/// machine, 64-byte lines).
pub fn predict(cfg: &BenchConfig) -> Result<Prediction, BenchError> {
    cfg.check()?;
    let mut e = Engine::new(cfg.engine())?;
    // No budget is set, so every op runs to its end.
    let _ = e.run(&cfg.ops(), |_, _| {});
    if let Some(f) = e.findings.0.first() {
        return Err(BenchError::Model(f.message.clone()));
    }
    let buffers = e.ledger.reclaimed;
    let summary = CacheSpec::default()
        .summarise(e.bus.log(), buffers, e.ring.as_ref().map(Ring::layout))
        .map_err(|err| BenchError::Model(err.to_string()))?;
    let missing = || BenchError::Model("no buffer made the round trip".into());
    Ok(Prediction {
        misses_per_buffer: summary.misses_per_buffer.ok_or_else(missing)?,
        cycles_separate: summary.cycles_per_buffer.ok_or_else(missing)?,
        cycles_shared: summary
            .other_topology_cycles_per_buffer
            .ok_or_else(missing)?,
        per_field: summary.per_field,
        buffers,
    })
}
