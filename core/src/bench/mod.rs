//! `ringside bench`'s data: a real two-thread ring run's configuration and result, the file
//! `ringside bench --save` keeps, and what the engine and cache model predict for the same
//! configuration.
//!
//! The runs themselves happen in `ringside-rings`: threads, clocks and files have no place in
//! core. Both faces need what is here: the terminal UI and the web app show the latest saved
//! result next to the model's numbers ([`rows`]), and the web app, which cannot run threads,
//! shows nothing else.

mod model;
mod show;

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::engine::EngineError;
use crate::layout::{LayoutError, RingKind, check_size};

pub use model::{Prediction, predict};
pub use show::{BenchRow, RowSource, SavedBench, rows};

/// The version of the saved file's shape; a file of another version is refused with a hint.
pub const FORMAT: u32 = 1;

/// Polling or notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BenchMode {
    /// Both sides spin on the ring; nobody notifies (ringtest's default).
    Poll,
    /// A side with nothing to do arms notifications and sleeps; the other wakes it.
    Notify,
}

/// How a sleeping side is woken in notify mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Wake {
    /// std's park/unpark (a futex on Linux).
    Park,
    /// A mutex-guarded counter and a condition variable (like an eventfd).
    Condvar,
}

impl fmt::Display for Wake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Wake::Park => "park",
            Wake::Condvar => "condvar",
        })
    }
}

/// `RingKind` as the bench's JSON spells it: `"split"` or `"packed"`.
mod lower_kind {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::layout::RingKind;

    pub fn serialize<S: Serializer>(k: &RingKind, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(k)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RingKind, D::Error> {
        match String::deserialize(d)?.as_str() {
            "split" => Ok(RingKind::Split),
            "packed" => Ok(RingKind::Packed),
            other => Err(D::Error::custom(format!(
                "layout {other:?}: expected \"split\" or \"packed\""
            ))),
        }
    }
}

/// What a bench run does, as far as the model is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BenchConfig {
    /// Split or packed.
    #[serde(with = "lower_kind")]
    pub layout: RingKind,
    /// Ring size (a power of 2 for split; any size up to 32768 for packed).
    pub ring_size: u32,
    /// Buffers the driver adds per publish, and the device uses per publish.
    pub batch: u16,
    /// Most buffers in flight at once; 1 is ringtest's `--outstanding 1` ping-pong.
    pub outstanding: u16,
    /// VIRTIO_F_IN_ORDER negotiated.
    pub in_order: bool,
    /// VIRTIO_RING_F_EVENT_IDX negotiated (notify mode only).
    pub event_idx: bool,
    /// Polling or notifications.
    pub mode: BenchMode,
}

impl BenchConfig {
    /// Checks that the configuration can run: a size the layout allows, a batch of at least 1,
    /// an outstanding cap between the batch and the ring size, EVENT_IDX only with
    /// notifications.
    pub fn check(&self) -> Result<(), BenchError> {
        let size = check_size(self.layout, self.ring_size)?;
        let bad = |m: String| Err(BenchError::Config(m));
        if self.batch == 0 {
            return bad("--batch must be at least 1".into());
        }
        if self.batch > size {
            return bad(format!(
                "--batch {} does not fit a ring of {size}: use at most {size}",
                self.batch
            ));
        }
        if self.outstanding < self.batch || self.outstanding > size {
            return bad(format!(
                "--outstanding {} must be between the batch ({}) and the ring size ({size})",
                self.outstanding, self.batch
            ));
        }
        if self.event_idx && self.mode == BenchMode::Poll {
            return bad("--event-idx suppresses notifications: it needs --notify".into());
        }
        Ok(())
    }
}

/// One measured configuration: what `ringside bench` prints per row and `--json` per
/// `results[]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    /// The configuration (its fields appear at this level in JSON).
    #[serde(flatten)]
    pub config: BenchConfig,
    /// How a sleeping side was woken (notify mode), else `null`.
    pub wake: Option<Wake>,
    /// CPU the driver thread was pinned to (`null`: not pinned).
    pub driver_cpu: Option<usize>,
    /// CPU the device thread was pinned to.
    pub device_cpu: Option<usize>,
    /// Whether both threads got the CPUs asked for.
    pub pinned: bool,
    /// Buffers that made the round trip.
    pub buffers: u64,
    /// Of which timed (the first laps of the ring warm it up).
    pub timed_buffers: u64,
    /// Seconds the timed buffers took.
    pub seconds: f64,
    /// Nanoseconds per timed buffer (`null` when nothing was timed).
    pub ns_per_buffer: Option<f64>,
    /// Timed buffers per second.
    pub buffers_per_s: Option<f64>,
    /// Nanoseconds per buffer in the fastest stretch of 4096 buffers after the warm-up: on a
    /// busy machine, what the rings do when nothing else gets in the way (`null` when the run
    /// was too short).
    #[serde(default)]
    pub best_ns_per_buffer: Option<f64>,
    /// Notifications and sleeps (their fields appear at this level in JSON).
    #[serde(flatten)]
    pub counts: Counts,
    /// Whether Ctrl-C cut the run short.
    pub interrupted: bool,
    /// The cache model's transfers per buffer for this configuration ([`predict`]).
    pub model_misses_per_buffer: Option<f64>,
    /// The model's memory cycles per buffer: separate caches for two CPUs, one shared cache
    /// when both threads share a CPU.
    pub model_cycles_per_buffer: Option<f64>,
    /// Why this number may not be trusted.
    pub warnings: Vec<String>,
}

/// What the two sides did besides passing buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Notifications the driver sent.
    pub kicks: u64,
    /// Notifications the device sent.
    pub interrupts: u64,
    /// Times a side went to sleep.
    pub sleeps: u64,
    /// Sleeps that timed out with work waiting: a wake-up was lost (0 unless notifications
    /// are broken).
    pub lost_wakeups: u64,
}

impl BenchResult {
    /// Whether both threads ran on the same CPU.
    pub fn one_cpu(&self) -> bool {
        self.driver_cpu.is_some() && self.driver_cpu == self.device_cpu
    }
}

/// The machine a bench ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// CPUs this process may use.
    pub cpus: usize,
    /// `model name` from /proc/cpuinfo, when known.
    pub cpu_model: Option<String>,
    /// One-minute load average before the runs, when known.
    pub load_average: Option<f64>,
}

/// Packed against split for one otherwise equal configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayoutRatio {
    /// Batch.
    pub batch: u16,
    /// Outstanding cap.
    pub outstanding: u16,
    /// Polling or notifications.
    pub mode: BenchMode,
    /// Driver CPU.
    pub driver_cpu: Option<usize>,
    /// Device CPU.
    pub device_cpu: Option<usize>,
    /// Packed ns/buffer ÷ split ns/buffer, measured.
    pub measured: Option<f64>,
    /// The same for their fastest stretches (`best_ns_per_buffer`).
    #[serde(default)]
    pub fastest: Option<f64>,
    /// Packed ÷ split misses per buffer, model.
    pub model_misses: Option<f64>,
    /// Packed ÷ split memory cycles per buffer, model.
    pub model_cycles: Option<f64>,
}

/// What `ringside bench --json` prints and `--save` keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// [`FORMAT`].
    pub format: u32,
    /// The ringside version that measured.
    pub ringside: String,
    /// When, UTC, RFC 3339.
    pub taken_at: String,
    /// Where.
    pub machine: Machine,
    /// One entry per configuration, in the order run.
    pub results: Vec<BenchResult>,
    /// Packed/split, measured and model, for each configuration run with both layouts.
    pub ratios: Vec<LayoutRatio>,
    /// Warnings about the whole run.
    pub warnings: Vec<String>,
}

impl BenchReport {
    /// Reads a saved report; `name` (a path) goes in errors.
    pub fn parse(name: &str, text: &str) -> Result<BenchReport, BenchError> {
        let err = |e: serde_json::Error| BenchError::Json {
            name: name.to_string(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        };
        let v: serde_json::Value = serde_json::from_str(text).map_err(err)?;
        let format = v.get("format").and_then(serde_json::Value::as_u64);
        if format != Some(u64::from(FORMAT)) {
            return Err(BenchError::Format {
                name: name.to_string(),
                found: format,
            });
        }
        serde_json::from_str(text).map_err(err)
    }
}

/// A value divided by another, when both exist and the divisor is not 0.
fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => Some(a / b),
        _ => None,
    }
}

/// Packed ÷ split for every configuration measured with both layouts (the same batch, cap,
/// features, mode, wake-up and CPUs; ring sizes may differ, as packed allows any).
pub fn ratios(results: &[BenchResult]) -> Vec<LayoutRatio> {
    let key = |r: &BenchResult| {
        let c = &r.config;
        (
            c.batch,
            c.outstanding,
            c.in_order,
            c.event_idx,
            c.mode,
            r.wake,
            r.driver_cpu,
            r.device_cpu,
        )
    };
    let mut out = Vec::new();
    for s in results
        .iter()
        .filter(|r| r.config.layout == RingKind::Split)
    {
        let same = |r: &&BenchResult| r.config.layout == RingKind::Packed && key(r) == key(s);
        let Some(p) = results
            .iter()
            .filter(same)
            .min_by_key(|p| p.config.ring_size.abs_diff(s.config.ring_size))
        else {
            continue;
        };
        out.push(LayoutRatio {
            batch: s.config.batch,
            outstanding: s.config.outstanding,
            mode: s.config.mode,
            driver_cpu: s.driver_cpu,
            device_cpu: s.device_cpu,
            measured: ratio(p.ns_per_buffer, s.ns_per_buffer),
            fastest: ratio(p.best_ns_per_buffer, s.best_ns_per_buffer),
            model_misses: ratio(p.model_misses_per_buffer, s.model_misses_per_buffer),
            model_cycles: ratio(p.model_cycles_per_buffer, s.model_cycles_per_buffer),
        });
    }
    out
}

/// A bench configuration or a saved result cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BenchError {
    /// The ring size does not fit the layout.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// Inconsistent settings.
    #[error("{0}")]
    Config(String),
    /// The model's engine could not be built.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The model's run raised a finding: a bug in the model's schedule, not in the input.
    #[error("the model's run of this configuration reported: {0}")]
    Model(String),
    /// A saved file is not valid JSON of the expected shape.
    #[error("{name}:{line}:{column}: {message}; run `ringside bench --save` again to replace it")]
    Json {
        /// The file.
        name: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde said.
        message: String,
    },
    /// A saved file of another format version.
    #[error(
        "{name}: saved bench format {found:?}, this ringside reads format {FORMAT}; run `ringside bench --save` again to replace it"
    )]
    Format {
        /// The file.
        name: String,
        /// The version found (`None`: no `format` field).
        found: Option<u64>,
    },
}
