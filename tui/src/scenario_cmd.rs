//! `ringside list`, `run` and `compare`: core runs the scenarios and checks them; this module
//! only prints.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use ringside_core::face::app::find_scenario;
use ringside_core::finding::FindingSource;
use ringside_core::scenario::expect::num;
use ringside_core::scenario::{EMBEDDED, Metric, Report, Run, Scenario};
use ringside_tui::app::Disk;

/// Exit code when an expectation fails.
const EXIT_FAILED: u8 = 1;

/// Lists embedded scenarios.
pub fn list() -> anyhow::Result<ExitCode> {
    let width = EMBEDDED.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, _) in EMBEDDED {
        let s = Scenario::embedded(name).with_context(|| format!("embedded scenario {name}"))?;
        let text = if s.description.is_empty() {
            &s.title
        } else {
            &s.description
        };
        outln!("{name:width$}  {text}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn load_and_run(name: &str) -> anyhow::Result<Run> {
    let s = find_scenario(name, &mut Disk::default())?;
    Ok(Run::new(name, &s)?)
}

/// Runs one scenario headless (or, given a chapter, every part of it).
pub fn run(name: &str, json: bool) -> anyhow::Result<ExitCode> {
    if let Some(chapter) = crate::tutorial_cmd::find(name) {
        return crate::tutorial_cmd::run(&chapter?);
    }
    let run = load_and_run(name)?;
    let r = &run.report;
    if json {
        outln!("{}", serde_json::to_string_pretty(r)?)?;
    } else {
        out!("{}", summary(r))?;
    }
    Ok(if r.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

/// The text `run` prints for one scenario.
pub fn summary(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "scenario       {}: {}", r.scenario, r.title);
    let _ = writeln!(
        o,
        "layout         {} ring, {} entries; negotiated {}{}; status {}",
        r.layout,
        r.size,
        r.negotiated,
        if r.legacy { " (legacy interface)" } else { "" },
        r.status
    );
    let _ = writeln!(
        o,
        "buffers        {} round trips ({} made available)",
        r.buffers, r.made_available
    );
    let _ = writeln!(
        o,
        "steps          {} scenario steps, {} ops, {} micro steps",
        r.scenario_steps, r.ops, r.steps
    );
    let a = &r.accesses;
    let _ = writeln!(
        o,
        "accesses       {} memory (driver {} loads, {} stores; device {} loads, {} stores), {} register",
        a.total, a.driver_loads, a.driver_stores, a.device_loads, a.device_stores, a.transport
    );
    let c = &r.cache;
    let opt = |v: Option<f64>| v.map(num).unwrap_or_else(|| "n/a".into());
    let _ = writeln!(
        o,
        "cache (model)  {} misses, {} per buffer ({} driver->device, {} device->driver); {} invalidations, {} per buffer; {} cycles/buffer with {:?} caches, {} with the other topology",
        c.misses,
        opt(c.misses_per_buffer),
        c.driver_to_device,
        c.device_to_driver,
        c.invalidations,
        opt(c.invalidations_per_buffer),
        opt(c.cycles_per_buffer),
        c.topology,
        opt(c.other_topology_cycles_per_buffer),
    );
    if !c.per_field.is_empty() {
        let fields: Vec<String> = c
            .per_field
            .iter()
            .map(|(k, v)| format!("{k} {}", num(*v)))
            .collect();
        let _ = writeln!(o, "  per field    {}", fields.join(", "));
    }
    if let Some(l) = &c.l1 {
        let _ = writeln!(o, "  L1           {l}");
    }
    let n = &r.notifications;
    let _ = writeln!(
        o,
        "notifications  driver->device {} ({} suppressed), device->driver {} ({} suppressed)",
        n.driver_to_device, n.kicks_suppressed, n.device_to_driver, n.interrupts_suppressed
    );
    let i = &r.indices;
    let idx: Vec<String> = [
        ("avail.idx", i.avail_idx),
        ("used.idx", i.used_idx),
        ("last_avail_idx", i.last_avail_idx),
        ("last_used_idx", i.last_used_idx),
        ("driver slot", i.driver_slot),
        ("driver wrap", i.driver_wrap),
        ("device slot", i.device_slot),
        ("device wrap", i.device_wrap),
    ]
    .iter()
    .filter_map(|(k, v)| v.map(|v| format!("{k} {v}")))
    .collect();
    if !idx.is_empty() {
        let _ = writeln!(o, "indices        {}", idx.join(", "));
    }
    if r.findings.is_empty() {
        let _ = writeln!(o, "findings       none");
    } else {
        let _ = writeln!(o, "findings       {}", r.findings.len());
        for f in &r.findings {
            let at = f
                .scenario_step
                .map(|s| format!("scenario step {s}"))
                .unwrap_or_else(|| "end-of-run audit".into());
            let truth = match f.source {
                FindingSource::GroundTruth => "[ground truth] ",
                FindingSource::Detected => "",
            };
            let _ = writeln!(
                o,
                "  {:7} {:24} step {} ({at}): {truth}{}",
                f.severity.to_string(),
                f.code.name(),
                f.step,
                f.message
            );
        }
    }
    if r.expectations.is_empty() {
        let _ = writeln!(o, "expectations   none");
    } else {
        let held = r.expectations.iter().filter(|c| c.pass).count();
        let _ = writeln!(o, "expectations   {held}/{} hold", r.expectations.len());
        for c in &r.expectations {
            let mark = if c.pass { "pass" } else { "FAIL" };
            let _ = writeln!(o, "  {mark}  {}  (observed: {})", c.expected, c.observed);
        }
    }
    o
}

/// The rows `compare` prints, in order.
const COMPARED: &[Metric] = &[
    Metric::Buffers,
    Metric::MissesPerBuffer,
    Metric::InvalidationsPerBuffer,
    Metric::CyclesPerBuffer,
    Metric::Steps,
    Metric::Accesses,
    Metric::AccessesPerBuffer,
    Metric::DriverStores,
    Metric::DeviceStores,
    Metric::DeviceStoresPerBuffer,
    Metric::Kicks,
    Metric::Interrupts,
    Metric::NotificationsPerBuffer,
    Metric::Findings,
];

/// Runs two scenarios side by side.
pub fn compare(a: &str, b: &str) -> anyhow::Result<ExitCode> {
    let ra = load_and_run(a)?;
    let rb = load_and_run(b)?;
    let layout = |r: &Report| format!("{} x{}", r.layout, r.size);
    let mut rows: Vec<(String, String, String)> = vec![
        ("scenario".into(), a.to_string(), b.to_string()),
        ("layout".into(), layout(&ra.report), layout(&rb.report)),
    ];
    for m in COMPARED {
        let v = |r: &Run| r.metric(*m).map(num).unwrap_or_else(|| "n/a".into());
        rows.push((format!("{m:?}"), v(&ra), v(&rb)));
    }
    let exp = |r: &Report| {
        let held = r.expectations.iter().filter(|c| c.pass).count();
        format!("{held}/{} hold", r.expectations.len())
    };
    rows.push(("expectations".into(), exp(&ra.report), exp(&rb.report)));
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let w2 = rows.iter().map(|r| r.2.chars().count()).max().unwrap_or(0);
    for (k, x, y) in rows {
        outln!("{k:w0$}  {x:>w1$}  {y:>w2$}")?;
    }
    Ok(ExitCode::SUCCESS)
}
