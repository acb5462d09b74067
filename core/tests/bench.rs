//! `ringside bench`'s core side: the model's prediction for a bench configuration, the saved
//! file's shape, and the rows the UIs show.

use ringside_core::bench::{
    BenchConfig, BenchError, BenchMode, BenchReport, BenchResult, Counts, Machine, RowSource, Wake,
    predict, ratios, rows,
};
use ringside_core::config::EngineConfig;
use ringside_core::features::Features;
use ringside_core::layout::RingKind;
use ringside_core::scenario::{Run, Scenario};

fn cfg(layout: RingKind, batch: u16, in_order: bool) -> BenchConfig {
    BenchConfig {
        layout,
        ring_size: 256,
        batch,
        outstanding: batch,
        in_order,
        event_idx: false,
        mode: BenchMode::Poll,
    }
}

fn scenario_misses(name: &str) -> f64 {
    let s = Scenario::embedded(name).unwrap();
    let run = Run::measure(name, &s).unwrap();
    run.report.cache.misses_per_buffer.unwrap()
}

/// A polled ping-pong bench configuration is exactly the talk's scenario of the same shape:
/// the bench's model and `ringside run` agree to the last bit.
#[test]
fn the_model_of_a_ping_pong_run_is_the_talks_scenario() {
    for (name, c) in [
        ("split-unbatched", cfg(RingKind::Split, 1, false)),
        ("split-batched", cfg(RingKind::Split, 4, false)),
        ("packed-unbatched", cfg(RingKind::Packed, 1, false)),
        ("packed-batched", cfg(RingKind::Packed, 4, false)),
        ("in-order", cfg(RingKind::Packed, 8, true)),
    ] {
        let p = predict(&c).unwrap();
        assert_eq!(p.misses_per_buffer, scenario_misses(name), "{name}");
        assert_eq!(p.buffers, 512, "{name}");
    }
}

/// Notifications with EVENT_IDX move the event-index lines too: the model counts them. In the
/// engine's contiguous layout the used ring starts on the next 64-byte boundary (Linux's
/// `vring_init`), so `used_event` (the avail ring's tail) and `avail_event` (the used ring's)
/// each cost about one transfer a buffer of their own, and `used.idx` shares no line with
/// `used_event`: its count stays what it is when polling.
#[test]
fn notify_mode_with_event_idx_adds_the_event_lines() {
    let poll = predict(&cfg(RingKind::Split, 1, false)).unwrap();
    let mut n = cfg(RingKind::Split, 1, false);
    n.mode = BenchMode::Notify;
    n.event_idx = true;
    let notify = predict(&n).unwrap();
    assert!(
        !poll.per_field.contains_key("avail_event"),
        "{:?}",
        poll.per_field
    );
    assert!(
        notify.per_field.contains_key("avail_event"),
        "{:?}",
        notify.per_field
    );
    for field in ["avail_event", "used_event"] {
        assert!(
            notify.per_field[field] > 0.9,
            "{field}: {:?}",
            notify.per_field
        );
    }
    assert_eq!(notify.per_field["used.idx"], poll.per_field["used.idx"]);
    assert!(notify.misses_per_buffer > poll.misses_per_buffer);
}

/// Packed takes any size; a deeper pipeline is a different schedule.
#[test]
fn packed_models_any_size_and_outstanding_changes_the_schedule() {
    let mut c = cfg(RingKind::Packed, 1, false);
    c.ring_size = 768;
    let one = predict(&c).unwrap();
    assert_eq!(one.buffers, 1536);
    c.outstanding = 64;
    let deep = c.ops();
    let made = deep
        .iter()
        .filter(|o| matches!(o, ringside_core::op::Op::Publish))
        .count();
    let reclaims = deep
        .iter()
        .filter(|o| matches!(o, ringside_core::op::Op::Reclaim { .. }))
        .count();
    assert_eq!(
        made - reclaims,
        63,
        "63 buffers stay in flight ahead of the device"
    );
    assert!(predict(&c).is_ok());
}

#[test]
fn bad_configurations_say_what_to_change() {
    let mut c = cfg(RingKind::Split, 4, false);
    c.ring_size = 768;
    assert!(matches!(c.check(), Err(BenchError::Layout(_))));
    let mut c = cfg(RingKind::Split, 4, false);
    c.outstanding = 2;
    let e = c.check().unwrap_err().to_string();
    assert!(
        e.contains("--outstanding 2 must be between the batch (4)"),
        "{e}"
    );
    let mut c = cfg(RingKind::Packed, 1, false);
    c.event_idx = true;
    assert!(
        c.check()
            .unwrap_err()
            .to_string()
            .contains("needs --notify")
    );
    let mut c = cfg(RingKind::Packed, 1, false);
    c.ring_size = 4;
    c.batch = 8;
    assert!(c.check().unwrap_err().to_string().contains("at most 4"));
}

fn result(layout: RingKind, batch: u16, ns: f64) -> BenchResult {
    let config = cfg(layout, batch, false);
    let p = predict(&config).unwrap();
    BenchResult {
        config,
        wake: None,
        driver_cpu: Some(0),
        device_cpu: Some(1),
        pinned: true,
        buffers: 1_000_000,
        timed_buffers: 999_000,
        seconds: ns * 999_000.0 / 1e9,
        ns_per_buffer: Some(ns),
        buffers_per_s: Some(1e9 / ns),
        best_ns_per_buffer: Some(ns * 0.9),
        counts: Counts::default(),
        interrupted: false,
        model_misses_per_buffer: Some(p.misses_per_buffer),
        model_cycles_per_buffer: Some(p.cycles_separate),
        warnings: Vec::new(),
    }
}

fn report() -> BenchReport {
    let results = vec![
        result(RingKind::Split, 1, 200.0),
        result(RingKind::Packed, 1, 150.0),
        result(RingKind::Split, 4, 80.0),
    ];
    BenchReport {
        format: 1,
        ringside: "0.1.0".into(),
        taken_at: "2026-11-26T10:00:00Z".into(),
        machine: Machine {
            cpus: 2,
            cpu_model: Some("AMD EPYC".into()),
            load_average: Some(0.5),
        },
        ratios: ratios(&results),
        results,
        warnings: Vec::new(),
    }
}

#[test]
fn ratios_pair_split_and_packed_of_the_same_configuration_only() {
    let r = report();
    assert_eq!(r.ratios.len(), 1, "batch 4 has no packed run");
    let q = &r.ratios[0];
    assert_eq!(q.batch, 1);
    assert_eq!(q.measured, Some(0.75));
    assert_eq!(q.fastest, Some(150.0 * 0.9 / (200.0 * 0.9)));
    let s = predict(&cfg(RingKind::Split, 1, false)).unwrap();
    let p = predict(&cfg(RingKind::Packed, 1, false)).unwrap();
    assert_eq!(
        q.model_misses,
        Some(p.misses_per_buffer / s.misses_per_buffer)
    );
}

#[test]
fn the_json_has_the_documented_fields_and_reads_back() {
    let r = report();
    let text = serde_json::to_string_pretty(&r).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let first = &v["results"][0];
    for key in [
        "layout",
        "batch",
        "outstanding",
        "ring_size",
        "driver_cpu",
        "device_cpu",
        "mode",
        "buffers",
        "ns_per_buffer",
        "buffers_per_s",
        "model_misses_per_buffer",
    ] {
        assert!(first.get(key).is_some(), "results[0] lacks {key}: {first}");
    }
    assert_eq!(first["layout"], "split");
    assert_eq!(v["results"][1]["layout"], "packed");
    assert_eq!(first["mode"], "poll");
    assert_eq!(BenchReport::parse("saved.json", &text).unwrap(), r);
}

#[test]
fn a_bad_saved_file_names_the_place_and_the_remedy() {
    let e = BenchReport::parse("b.json", "{\n  \"format\": 1,\n  \"ringside\": 5\n}")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("b.json:3:"), "{e}");
    assert!(e.contains("ringside bench --save"), "{e}");
    let e = BenchReport::parse("b.json", "{\"format\": 9}").unwrap_err();
    assert!(
        matches!(e, BenchError::Format { found: Some(9), .. }),
        "{e}"
    );
    let e = BenchReport::parse("b.json", "[1,").unwrap_err().to_string();
    assert!(e.starts_with("b.json:1:"), "{e}");
}

#[test]
fn rows_show_measured_and_model_for_the_scenarios_layout() {
    let engine = EngineConfig::simple(RingKind::Split, 256, Features::NONE);
    let none = rows(None, &engine);
    assert_eq!(none.len(), 1);
    assert_eq!(none[0].source, RowSource::Note);
    assert!(none[0].value.contains("ringside bench --save"));

    let r = report();
    let got = rows(Some(&r), &engine);
    let measured: Vec<_> = got
        .iter()
        .filter(|x| x.source == RowSource::Measured)
        .collect();
    // Two split results, then the one packed/split ratio; no packed result row.
    assert_eq!(measured.len(), 3, "{got:#?}");
    assert!(
        measured[0].label.starts_with("split 256, batch 1"),
        "{got:#?}"
    );
    assert!(
        measured[0]
            .value
            .starts_with("200.0 ns/buffer, 5.00 M buffers/s")
    );
    assert!(measured[1].label.starts_with("split 256, batch 4"));
    assert!(measured[2].label.contains("packed/split"), "{got:#?}");
    assert_eq!(measured[2].value, "0.75x (fastest stretches 0.75x)");
    // Each measured configuration is followed by the model's numbers for it.
    let i = got.iter().position(|x| x == measured[0]).unwrap();
    assert_eq!(got[i + 1].source, RowSource::Model);
    let s = predict(&cfg(RingKind::Split, 1, false)).unwrap();
    assert!(
        got[i + 1]
            .value
            .starts_with(&format!("{:.2} misses/buffer", s.misses_per_buffer)),
        "{:?}",
        got[i + 1]
    );

    let packed = EngineConfig::simple(RingKind::Packed, 256, Features::NONE);
    let got = rows(Some(&r), &packed);
    assert!(
        got.iter()
            .any(|x| x.label.starts_with("packed 256, batch 1"))
    );
    let mut only_split = r.clone();
    only_split
        .results
        .retain(|x| x.config.layout == RingKind::Split);
    let got = rows(Some(&only_split), &packed);
    assert!(
        got.iter()
            .any(|x| x.value == "run `ringside bench --layout packed --save`")
    );
    let _ = Wake::Park;
}

/// Files that recall one saved bench result, as a face's data directory or local storage does.
struct Saved(Option<Vec<u8>>);

impl ringside_core::face::app::Files for Saved {
    fn read(&mut self, name: &str) -> Result<Vec<u8>, String> {
        Err(format!("no file {name} here"))
    }
    fn write(&mut self, _: &str, _: &[u8]) -> Result<(), String> {
        Err("read-only".into())
    }
    fn recall(&mut self, key: &str) -> Result<Option<(String, Vec<u8>)>, String> {
        assert_eq!(key, ringside_core::face::app::BENCH_KEY);
        Ok(self.0.clone().map(|b| ("bench.json".to_string(), b)))
    }
}

/// The bench.json `ringside bench --save --buffers 20000` wrote on this machine.
const SAVED: &str = include_str!("fixtures/bench.json");

/// The cache pane of `scenario` with `saved` recalled, zoomed so that it shows everything.
fn cache_pane(scenario: &str, saved: Option<Vec<u8>>) -> Vec<String> {
    use ringside_core::command::{Command, PaneId};
    use ringside_core::face::app::App;
    use ringside_core::face::screen::Size;
    let mut app = App::open(scenario, Box::new(Saved(saved))).unwrap();
    app.apply(Command::FocusPane(PaneId::Cache));
    app.apply(Command::Zoom);
    let screen = app.screen(Size::new(200, 60));
    let pane = screen.pane(PaneId::Cache).expect("the cache pane is shown");
    pane.lines.iter().map(|l| l.text()).collect()
}

/// The saved result of the scenario's layout at its batch of 1, from the file itself.
fn saved_result(layout: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(SAVED).unwrap();
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["layout"] == layout && r["batch"] == 1)
        .unwrap()
        .clone()
}

/// The scenario screen shows the saved bench result next to the model: a measured row with
/// the file's time per buffer for the scenario's layout, followed by a model row with the
/// model's misses for the same configuration; the other layout's times are not shown as this
/// scenario's.
#[test]
fn the_cache_pane_shows_the_saved_result_measured_next_to_the_model() {
    for (scenario, layout, other) in [
        ("split-unbatched", "split", "packed"),
        ("packed-unbatched", "packed", "split"),
    ] {
        let lines = cache_pane(scenario, Some(SAVED.as_bytes().to_vec()));
        let r = saved_result(layout);
        let ns = format!("{:.1} ns/buffer", r["ns_per_buffer"].as_f64().unwrap());
        let at = lines
            .iter()
            .position(|l| l.starts_with("measured ") && l.contains(&ns))
            .unwrap_or_else(|| panic!("{scenario}: no measured row with {ns}:\n{lines:#?}"));
        assert!(
            lines[at].contains(&format!("{layout} 256, batch 1, outstanding 1, poll")),
            "{}",
            lines[at]
        );
        let misses = format!(
            "{:.2} misses/buffer",
            r["model_misses_per_buffer"].as_f64().unwrap()
        );
        assert!(
            lines[at + 1].starts_with("model ") && lines[at + 1].contains(&misses),
            "{scenario}: the row after the measured one is the model's {misses}: {}",
            lines[at + 1]
        );
        let theirs = format!(
            "{:.1} ns/buffer",
            saved_result(other)["ns_per_buffer"].as_f64().unwrap()
        );
        assert!(
            !lines.iter().any(|l| l.contains(&theirs)),
            "{scenario} shows the {other} ring's time {theirs}"
        );
        assert!(lines.iter().any(|l| l.contains("from: bench.json")));
    }
}

/// Without a saved result the pane says how to make one; a corrupt file shows where it is
/// broken, not a panic and not the same note as no file.
#[test]
fn no_saved_result_says_how_and_a_corrupt_one_says_where() {
    let measured = |lines: &[String]| lines.iter().any(|l| l.contains("ns/buffer"));
    let none = cache_pane("split-unbatched", None);
    assert!(!measured(&none), "{none:#?}");
    let none = none.join("\n");
    assert!(none.contains("note     no bench result saved"), "{none}");
    assert!(none.contains("ringside bench --save"), "{none}");
    let cut = &SAVED[..300];
    let line = cut.lines().count();
    let broken = cache_pane("split-unbatched", Some(cut.as_bytes().to_vec()));
    assert!(!measured(&broken), "{broken:#?}");
    let broken = broken.join("\n");
    assert!(
        broken.contains("saved bench unusable") && broken.contains(&format!("bench.json:{line}:")),
        "{broken}"
    );
}
