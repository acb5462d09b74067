//! The rows a screen shows for a saved bench result next to a scenario: what was measured on a
//! real machine, and what the cache model says for the very same configuration, each row
//! labelled as one or the other.

use serde::{Deserialize, Serialize};

use super::{BenchConfig, BenchReport, BenchResult, predict, ratios};
use crate::config::EngineConfig;
use crate::features::Features;

/// Where a row's number comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowSource {
    /// Timed on a real machine by `ringside bench`.
    Measured,
    /// Computed by the engine and the cache model.
    Model,
    /// Context or advice, no number.
    Note,
}

/// One labelled line: a UI shows `source`, `label` and `value` side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchRow {
    /// Measured, model or note.
    pub source: RowSource,
    /// What the number is about.
    pub label: String,
    /// The number, with its unit.
    pub value: String,
}

fn row(source: RowSource, label: impl Into<String>, value: impl Into<String>) -> BenchRow {
    BenchRow {
        source,
        label: label.into(),
        value: value.into(),
    }
}

/// How many measured configurations to list for one scenario.
const MAX_LISTED: usize = 6;

/// A short description of a measured configuration.
fn describe(r: &BenchResult) -> String {
    let c = &r.config;
    let mut s = format!(
        "{} {}, batch {}, outstanding {}, {}",
        c.layout,
        c.ring_size,
        c.batch,
        c.outstanding,
        match (c.mode, r.wake) {
            (super::BenchMode::Poll, _) => "poll".to_string(),
            (super::BenchMode::Notify, Some(w)) => format!("notify ({w})"),
            (super::BenchMode::Notify, None) => "notify".to_string(),
        }
    );
    if c.in_order {
        s.push_str(", IN_ORDER");
    }
    if c.event_idx {
        s.push_str(", EVENT_IDX");
    }
    match (r.driver_cpu, r.device_cpu) {
        (Some(d), Some(v)) if d == v => s.push_str(&format!(", one CPU ({d})")),
        (Some(d), Some(v)) => s.push_str(&format!(", CPUs {d}+{v}")),
        _ => s.push_str(", unpinned"),
    }
    s
}

/// The model's numbers for a configuration, as one value.
fn model_value(cfg: &BenchConfig, one_cpu: bool) -> String {
    match predict(cfg) {
        Ok(p) => {
            let (cycles, topo) = if one_cpu {
                (p.cycles_shared, "shared cache")
            } else {
                (p.cycles_separate, "separate caches")
            };
            format!(
                "{:.2} misses/buffer, {cycles:.0} cycles/buffer ({topo})",
                p.misses_per_buffer
            )
        }
        Err(e) => format!("not modelled: {e}"),
    }
}

/// The rows to show next to a scenario whose engine is `engine`: the latest saved bench
/// result's configurations with the scenario's layout (its ring size and features first), each
/// as a measured row and a model row for the same configuration; then packed/split ratios,
/// measured and model; or a note saying how to make a result when there is none or none fits.
/// The model rows are computed afresh, so they follow the current model.
pub fn rows(saved: Option<&BenchReport>, engine: &EngineConfig) -> Vec<BenchRow> {
    let layout = engine.queue.layout;
    let Some(report) = saved else {
        return vec![row(
            RowSource::Note,
            "no bench result saved",
            "run `ringside bench --save` in a terminal (a browser cannot run its threads: open \
             the bench.json it saves in the page)",
        )];
    };
    let m = &report.machine;
    let mut out = vec![row(
        RowSource::Note,
        "bench",
        format!(
            "measured {} on {} ({} CPUs{})",
            report.taken_at,
            m.cpu_model.as_deref().unwrap_or("an unknown CPU"),
            m.cpus,
            m.load_average
                .map(|l| format!(", load {l:.2}"))
                .unwrap_or_default()
        ),
    )];
    let f = engine.device_features.and(engine.driver_features);
    let (in_order, event_idx) = (
        f.contains(Features::IN_ORDER),
        f.contains(Features::EVENT_IDX),
    );
    let mut mine: Vec<&BenchResult> = report
        .results
        .iter()
        .filter(|r| r.config.layout == layout)
        .collect();
    // The scenario's size first, then its features, then the smallest batch and cap.
    mine.sort_by_key(|r| {
        let c = &r.config;
        (
            c.ring_size != engine.queue.size,
            (c.in_order, c.event_idx) != (in_order, event_idx),
            c.batch,
            c.outstanding,
        )
    });
    if mine.is_empty() {
        out.push(row(
            RowSource::Note,
            format!("no {layout} ring in the saved result"),
            format!("run `ringside bench --layout {layout} --save`"),
        ));
    }
    for r in mine.iter().take(MAX_LISTED) {
        let value = match (r.ns_per_buffer, r.buffers_per_s) {
            (Some(ns), Some(bps)) => {
                format!("{ns:.1} ns/buffer, {:.2} M buffers/s", bps / 1e6)
            }
            _ => "not timed (too few buffers)".into(),
        };
        let mut value = value;
        if !r.warnings.is_empty() {
            value.push_str(&format!(" ({} warnings)", r.warnings.len()));
        }
        out.push(row(RowSource::Measured, describe(r), value));
        out.push(row(
            RowSource::Model,
            "  same configuration",
            model_value(&r.config, r.one_cpu()),
        ));
    }
    for q in ratios(&report.results) {
        let at = format!(
            "packed/split, batch {}, outstanding {}, {}",
            q.batch,
            q.outstanding,
            match q.mode {
                super::BenchMode::Poll => "poll",
                super::BenchMode::Notify => "notify",
            }
        );
        let x = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.2}x"));
        out.push(row(
            RowSource::Measured,
            format!("{at}: time per buffer"),
            format!("{} (fastest stretches {})", x(q.measured), x(q.fastest)),
        ));
        out.push(row(
            RowSource::Model,
            format!("{at}: misses, cycles"),
            format!("{}, {}", x(q.model_misses), x(q.model_cycles)),
        ));
    }
    out
}

/// The latest saved bench result as a face handed it over: what the scenario screen shows
/// next to the model.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SavedBench {
    /// None saved (or the face keeps none).
    #[default]
    Missing,
    /// A result, and where it came from (a path, or "kept by this browser").
    Report {
        /// Where it came from.
        from: String,
        /// The result.
        report: Box<BenchReport>,
    },
    /// A saved file that cannot be used: the located error, with what to do.
    Unusable(String),
}

impl SavedBench {
    /// Reads a saved file's bytes; `name` names it in the error of a corrupt file.
    pub fn from_file(name: &str, bytes: &[u8]) -> SavedBench {
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                return SavedBench::Unusable(format!(
                    "{name}: byte {}: not UTF-8 text, so not a saved bench result; run \
                     `ringside bench --save` again to replace it",
                    e.valid_up_to()
                ));
            }
        };
        match BenchReport::parse(name, text) {
            Ok(report) => SavedBench::Report {
                from: name.to_string(),
                report: Box::new(report),
            },
            Err(e) => SavedBench::Unusable(e.to_string()),
        }
    }

    /// The rows for a scenario whose engine is `engine` ([`rows`]); an unusable file's error
    /// comes first, so that a corrupt file is never mistaken for no file.
    pub fn rows(&self, engine: &EngineConfig) -> Vec<BenchRow> {
        match self {
            SavedBench::Missing => rows(None, engine),
            SavedBench::Report { from, report } => {
                let mut out = rows(Some(report), engine);
                out.insert(1, row(RowSource::Note, "from", from.clone()));
                out
            }
            SavedBench::Unusable(why) => {
                let mut out = vec![row(RowSource::Note, "saved bench unusable", why.clone())];
                out.extend(rows(None, engine));
                out
            }
        }
    }
}
