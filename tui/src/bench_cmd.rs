//! `ringside bench`: real split and packed rings between two pinned threads
//! (`ringside-rings`), timed, next to what the engine and cache model predict for the same
//! configuration (`ringside_core::bench`). This module parses, shows progress, handles Ctrl-C
//! and prints; the rings, the threads and the model live in the libraries.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ringside_core::bench::{
    BenchConfig, BenchMode, BenchReport, BenchResult, FORMAT, Wake, predict, ratios,
};
use ringside_core::layout::RingKind;
use ringside_rings::harness::{self, Limit, Measured, Pin, Plan};
use ringside_tui::saved_bench;

/// Exit code when Ctrl-C cut the runs short (the shell's 128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

/// Set by Ctrl-C: the run in progress drains and stops; no further run starts.
static CANCEL: AtomicBool = AtomicBool::new(false);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LayoutArg {
    Split,
    Packed,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum WakeArg {
    /// std's park/unpark (a futex).
    Park,
    /// A mutex and a condition variable (like an eventfd).
    Condvar,
}

/// `ringside bench`'s options.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Ring layout(s) to run.
    #[arg(long, value_enum, default_value = "both")]
    layout: LayoutArg,
    /// Buffers per publish, comma-separated for several runs (1 = unbatched).
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    batch: Vec<u16>,
    /// Most buffers in flight [default: the batch: strict ping-pong, as ringtest's
    /// `--outstanding 1` at batch 1].
    #[arg(long)]
    outstanding: Option<u16>,
    /// Ring size (split: a power of 2; packed: any size up to 32768).
    #[arg(long, default_value_t = 256)]
    ring_size: u32,
    /// Negotiate IN_ORDER: descriptors in ring order, one used entry per batch.
    #[arg(long)]
    in_order: bool,
    /// Notification mode instead of polling: idle sides sleep and are woken this way.
    #[arg(long, value_enum)]
    notify: Option<WakeArg>,
    /// Suppress notifications with event indices (EVENT_IDX; needs --notify).
    #[arg(long)]
    event_idx: bool,
    /// CPU for the driver thread [default: the first CPU this process may use].
    #[arg(long)]
    driver_cpu: Option<usize>,
    /// CPU for the device thread [default: the last one, as ringtest's run-on-all.sh puts
    /// the host].
    #[arg(long)]
    device_cpu: Option<usize>,
    /// Buffers per configuration.
    #[arg(long, default_value_t = 2_000_000)]
    buffers: u64,
    /// Seconds per configuration, instead of a buffer count.
    #[arg(long, conflicts_with = "buffers")]
    duration: Option<f64>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Keep the result as the latest one, for the TUI and web app to show.
    #[arg(long)]
    save: bool,
}

/// The configurations to run, checked.
fn configs(a: &BenchArgs, mode: BenchMode) -> anyhow::Result<Vec<BenchConfig>> {
    let layouts: &[RingKind] = match a.layout {
        LayoutArg::Split => &[RingKind::Split],
        LayoutArg::Packed => &[RingKind::Packed],
        LayoutArg::Both => &[RingKind::Split, RingKind::Packed],
    };
    let mut out = Vec::new();
    for &batch in &a.batch {
        for &layout in layouts {
            let c = BenchConfig {
                layout,
                ring_size: a.ring_size,
                batch,
                outstanding: a.outstanding.unwrap_or(batch),
                in_order: a.in_order,
                event_idx: a.event_idx,
                mode,
            };
            c.check().with_context(|| {
                let hint = if layout == RingKind::Split && !a.ring_size.is_power_of_two() {
                    " (--layout packed runs any size)"
                } else {
                    ""
                };
                format!("{layout} ring, batch {batch}{hint}")
            })?;
            out.push(c);
        }
    }
    Ok(out)
}

/// Now as RFC 3339 UTC, to the second.
fn now_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Why one run's numbers may not be trusted.
fn warnings(m: &Measured, load: Option<f64>, cpus: usize) -> Vec<String> {
    let mut w = Vec::new();
    for (who, pin) in ["driver", "device"].iter().zip(m.pins) {
        if let Pin::Refused(c) = pin {
            w.push(format!(
                "the OS refused to pin the {who} thread to CPU {c}: it ran wherever the scheduler put it"
            ));
        }
    }
    if let Some(l) = load.filter(|&l| l > cpus as f64) {
        w.push(format!(
            "load average {l:.2} above the {cpus} CPUs before this run: other work competed for them"
        ));
    }
    if m.counts.lost_wakeups > 0 {
        w.push(format!(
            "{} sleeps timed out with work waiting: a notification was lost",
            m.counts.lost_wakeups
        ));
    }
    if m.interrupted {
        w.push(format!("cut short by Ctrl-C after {} buffers", m.buffers));
    }
    w
}

fn progress_bar(label: String, limit: Limit) -> ProgressBar {
    let (len, template) = match limit {
        Limit::Buffers(n) => (
            Some(n),
            "{prefix} [{bar:30}] {human_pos}/{human_len} buffers ({per_sec}, {eta} left)",
        ),
        Limit::Time(_) => (None, "{prefix} {spinner} {human_pos} buffers ({per_sec})"),
    };
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let pb = ProgressBar::with_draw_target(len, ProgressDrawTarget::hidden()).with_style(style);
    pb.set_prefix(label);
    pb
}

fn label(c: &BenchConfig) -> String {
    format!(
        "{} {} batch {} outstanding {} {}",
        c.layout,
        c.ring_size,
        c.batch,
        c.outstanding,
        match c.mode {
            BenchMode::Poll => "poll",
            BenchMode::Notify => "notify",
        }
    )
}

/// Runs `ringside bench`.
pub fn run(a: &BenchArgs) -> anyhow::Result<ExitCode> {
    let cpus = harness::cpus();
    let machine = harness::machine();
    let driver_cpu = a.driver_cpu.unwrap_or(cpus[0]);
    let device_cpu = a.device_cpu.unwrap_or(cpus[cpus.len() - 1]);
    let mut notes = Vec::new();
    let mut wake = a.notify.map(|w| match w {
        WakeArg::Park => Wake::Park,
        WakeArg::Condvar => Wake::Condvar,
    });
    if driver_cpu == device_cpu && wake.is_none() {
        notes.push(format!(
            "both threads on CPU {driver_cpu}: polling there would spin away each time slice, so notification mode (park) is used"
        ));
        wake = Some(Wake::Park);
    }
    if cpus.len() < 2 {
        notes.push(format!(
            "this process may use {} CPU for 2 threads: they take turns, so the numbers time the scheduler",
            cpus.len()
        ));
    }
    let mode = if wake.is_some() {
        BenchMode::Notify
    } else {
        BenchMode::Poll
    };
    let runs = configs(a, mode)?;
    let limit = match a.duration {
        Some(s) if s > 0.0 && s.is_finite() => Limit::Time(Duration::from_secs_f64(s)),
        Some(s) => anyhow::bail!("--duration {s}: give a positive number of seconds"),
        None if a.buffers == 0 => anyhow::bail!("--buffers 0: give at least 1"),
        None => Limit::Buffers(a.buffers),
    };
    // A second Ctrl-C exits at once.
    let _ = ctrlc::set_handler(|| {
        if CANCEL.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
    let mut results = Vec::new();
    for c in runs {
        if CANCEL.load(Ordering::SeqCst) {
            break;
        }
        let plan = Plan {
            config: c,
            wake: wake.unwrap_or(Wake::Park),
            driver_cpu: Some(driver_cpu),
            device_cpu: Some(device_cpu),
            limit,
        };
        let load = harness::load_average();
        let pb = progress_bar(label(&c), limit);
        let t0 = Instant::now();
        let mut shown = false;
        let m = harness::run(&plan, &CANCEL, &mut |done| {
            if !shown && t0.elapsed() > Duration::from_secs(1) {
                pb.set_draw_target(ProgressDrawTarget::stderr());
                shown = true;
            }
            pb.set_position(done);
        });
        pb.finish_and_clear();
        let m = m.with_context(|| label(&c))?;
        let model = predict(&c).ok();
        let one_cpu = driver_cpu == device_cpu;
        let ns = m.ns_per_buffer();
        results.push(BenchResult {
            config: c,
            wake,
            driver_cpu: Some(driver_cpu),
            device_cpu: Some(device_cpu),
            pinned: m.pins.iter().all(|p| matches!(p, Pin::Pinned(_))),
            buffers: m.buffers,
            timed_buffers: m.timed_buffers,
            seconds: m.elapsed.as_secs_f64(),
            ns_per_buffer: ns,
            buffers_per_s: ns.map(|ns| 1e9 / ns),
            best_ns_per_buffer: m.best_ns_per_buffer,
            counts: m.counts,
            interrupted: m.interrupted,
            model_misses_per_buffer: model.as_ref().map(|p| p.misses_per_buffer),
            model_cycles_per_buffer: model.as_ref().map(|p| {
                if one_cpu {
                    p.cycles_shared
                } else {
                    p.cycles_separate
                }
            }),
            warnings: warnings(&m, load, machine.cpus),
        });
    }
    let interrupted = CANCEL.load(Ordering::SeqCst);
    let report = BenchReport {
        format: FORMAT,
        ringside: env!("CARGO_PKG_VERSION").to_string(),
        taken_at: now_utc(),
        machine,
        ratios: ratios(&results),
        results,
        warnings: notes,
    };
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        out!("{}", table(&report, a))?;
    }
    if a.save {
        let p = saved_bench::save(&report)?;
        eprintln!("saved to {}", p.display());
    }
    Ok(if interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.prec$}"))
}

/// The default output: a header, one row per configuration, the ratios, the warnings.
fn table(r: &BenchReport, a: &BenchArgs) -> String {
    let mut o = String::new();
    let m = &r.machine;
    let first = r.results.first();
    let _ = writeln!(
        o,
        "ringside bench: {} CPUs ({}), load {}; driver on CPU {}, device on CPU {}; {} per configuration",
        m.cpus,
        m.cpu_model.as_deref().unwrap_or("unknown CPU"),
        opt(m.load_average, 2),
        opt(first.and_then(|x| x.driver_cpu).map(|c| c as f64), 0),
        opt(first.and_then(|x| x.device_cpu).map(|c| c as f64), 0),
        match a.duration {
            Some(s) => format!("{s} s"),
            None => format!("{} buffers", a.buffers),
        }
    );
    let _ = writeln!(
        o,
        "{:<7}{:>6}{:>6}{:>5}  {:<15}{:>11}{:>9}{:>13}  {:>13}{:>14}",
        "layout",
        "size",
        "batch",
        "out",
        "mode",
        "ns/buffer",
        "fastest",
        "M buffers/s",
        "model misses",
        "model cycles"
    );
    for x in &r.results {
        let c = &x.config;
        let mode = match (c.mode, x.wake) {
            (BenchMode::Notify, Some(w)) => format!("notify {w}"),
            _ => "poll".into(),
        };
        let mut flags = String::new();
        if c.in_order {
            flags.push_str(" IN_ORDER");
        }
        if c.event_idx {
            flags.push_str(" EVENT_IDX");
        }
        let _ = writeln!(
            o,
            "{:<7}{:>6}{:>6}{:>5}  {:<15}{:>11}{:>9}{:>13}  {:>13}{:>14}{}{}",
            c.layout.to_string(),
            c.ring_size,
            c.batch,
            c.outstanding,
            mode,
            opt(x.ns_per_buffer, 1),
            opt(x.best_ns_per_buffer, 1),
            opt(x.buffers_per_s.map(|b| b / 1e6), 2),
            opt(x.model_misses_per_buffer, 2),
            opt(x.model_cycles_per_buffer, 0),
            flags,
            if x.interrupted { "  (interrupted)" } else { "" }
        );
    }
    for q in &r.ratios {
        let _ = writeln!(
            o,
            "packed/split, batch {} outstanding {}: measured {} (fastest {})   model: misses {}, cycles {}",
            q.batch,
            q.outstanding,
            opt(q.measured, 2) + "x",
            opt(q.fastest, 2) + "x",
            opt(q.model_misses, 2) + "x",
            opt(q.model_cycles, 2) + "x",
        );
    }
    let _ = writeln!(
        o,
        "fastest = ns/buffer over the fastest 4096 buffers in a row, after the warm-up (what the rings do when nothing else interferes)"
    );
    let _ = writeln!(
        o,
        "model = ringside's engine and cache model on the same configuration (cycles: separate caches, or one shared cache when both threads share a CPU)"
    );
    for w in &r.warnings {
        let _ = writeln!(o, "note: {w}");
    }
    for x in &r.results {
        for w in &x.warnings {
            let _ = writeln!(o, "warning ({}): {w}", label(&x.config));
        }
    }
    o
}
