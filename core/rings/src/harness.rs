//! The two-thread run behind `ringside bench`: a driver thread and a device thread, each pinned
//! to its CPU, pass buffers through one ring until a count or a time is reached, and the
//! driver's clock says how long it took.
//!
//! The loops follow ringtest's `run_guest` and `run_host` (`tools/virtio/ringtest/main.c`): the
//! driver takes back whatever is used and makes a batch available whenever the outstanding cap
//! allows, with one publish; the device takes up to a batch, marks it used and publishes once.
//! One difference: ringtest's guest fills a descriptor when the cap allows it, this driver adds
//! the next batch while it waits (adding only stages it in private memory; see `staged.rs`), so
//! that when a buffer comes back only the publish is left to do.
//! Polling spins on the ring without `pause`, as ringtest does without `--relax`. In
//! notification mode a side with nothing to do re-arms notifications, re-checks, and sleeps on
//! a doorbell (std's park/unpark, a futex underneath, or a mutex and condition variable, like an
//! eventfd); the other side rings it when the ring's suppression test says so.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Condvar, Mutex, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use ringside_core::bench::{BenchConfig, BenchMode, Counts, Wake};
use ringside_core::layout::{LayoutError, RingKind};

use crate::{Buffer, Device, Driver, Options, packed, split};

/// When a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// After this many buffers.
    Buffers(u64),
    /// After this long (the driver stops adding, then drains).
    Time(Duration),
}

/// One run's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// What runs: layout, ring size, batch, outstanding cap, features, polling or
    /// notifications; the same description the model reads (`ringside_core::bench`).
    pub config: BenchConfig,
    /// How a sleeping side is woken in notify mode.
    pub wake: Wake,
    /// CPU for the driver thread (`None`: not pinned).
    pub driver_cpu: Option<usize>,
    /// CPU for the device thread.
    pub device_cpu: Option<usize>,
    /// When to stop.
    pub limit: Limit,
}

impl Plan {
    fn notify(&self) -> bool {
        self.config.mode == BenchMode::Notify
    }
}

/// Whether a thread got the CPU it asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    /// Not asked.
    Free,
    /// Pinned to this CPU.
    Pinned(usize),
    /// The OS refused this CPU.
    Refused(usize),
}

/// What a run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Buffers that made the round trip.
    pub buffers: u64,
    /// Of which timed (the first ones warm the caches up and are not).
    pub timed_buffers: u64,
    /// Time the timed buffers took, on the driver's clock.
    pub elapsed: Duration,
    /// Nanoseconds per buffer in the fastest stretch of 4096 buffers after the warm-up (on a
    /// busy machine, what the rings do when nothing else interferes).
    pub best_ns_per_buffer: Option<f64>,
    /// Notifications, sleeps, lost wake-ups.
    pub counts: Counts,
    /// Whether the run was cut short (Ctrl-C).
    pub interrupted: bool,
    /// The driver's and the device's pinning.
    pub pins: [Pin; 2],
}

impl Measured {
    /// Nanoseconds per timed buffer.
    pub fn ns_per_buffer(&self) -> Option<f64> {
        (self.timed_buffers > 0).then(|| self.elapsed.as_nanos() as f64 / self.timed_buffers as f64)
    }
}

/// A run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The ring cannot be built.
    Layout(LayoutError),
    /// Bad settings.
    Plan(String),
    /// A side found the other breaking the protocol, or a buffer came back wrong.
    Broken(String),
    /// A thread panicked.
    Panicked(&'static str),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Layout(e) => write!(f, "{e}"),
            RunError::Plan(m) => f.write_str(m),
            RunError::Broken(m) => write!(f, "ring broken: {m}"),
            RunError::Panicked(who) => write!(f, "the {who} thread panicked"),
        }
    }
}

impl std::error::Error for RunError {}

/// Runs `plan`. `cancel` stops it early (the driver stops adding and drains what is in flight);
/// `progress` is called on the calling thread about ten times a second with the buffers done.
pub fn run(
    plan: &Plan,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<Measured, RunError> {
    let c = &plan.config;
    c.check().map_err(|e| RunError::Plan(e.to_string()))?;
    let options = Options {
        in_order: c.in_order,
        event_idx: c.event_idx,
    };
    match c.layout {
        RingKind::Split => {
            let (d, v) = split::pair(c.ring_size, options).map_err(RunError::Layout)?;
            drive(plan, d, v, cancel, progress)
        }
        RingKind::Packed => {
            let (d, v) = packed::pair(c.ring_size, options).map_err(RunError::Layout)?;
            drive(plan, d, v, cancel, progress)
        }
    }
}

/// Keeps a value on its own pair of cache lines (the adjacent-line prefetcher fetches pairs).
#[repr(align(128))]
struct Padded<T>(T);

/// A sleeping side's doorbell.
struct Bell {
    wake: Wake,
    thread: OnceLock<Thread>,
    rings: Mutex<u64>,
    cv: Condvar,
}

/// A polling side looks up from the ring (stop, failure) once per this many empty polls.
const LOOK_UP: u32 = 4096;

/// A sleep longer than this with work waiting means a lost wake-up.
const LOST: Duration = Duration::from_millis(250);

impl Bell {
    fn new(wake: Wake) -> Bell {
        Bell {
            wake,
            thread: OnceLock::new(),
            rings: Mutex::new(0),
            cv: Condvar::new(),
        }
    }

    fn ring(&self) {
        match self.wake {
            Wake::Park => {
                if let Some(t) = self.thread.get() {
                    t.unpark();
                }
            }
            Wake::Condvar => {
                *self.rings.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                self.cv.notify_one();
            }
        }
    }

    /// Sleeps until rung (or spuriously woken); `true` when it timed out instead.
    fn wait(&self, seen: &mut u64) -> bool {
        match self.wake {
            Wake::Park => {
                let t0 = Instant::now();
                thread::park_timeout(LOST);
                t0.elapsed() >= LOST
            }
            Wake::Condvar => {
                let g = self.rings.lock().unwrap_or_else(|e| e.into_inner());
                let (g, r) = self
                    .cv
                    .wait_timeout_while(g, LOST, |n| *n == *seen)
                    .unwrap_or_else(|e| e.into_inner());
                *seen = *g;
                r.timed_out()
            }
        }
    }
}

/// What the threads share besides the ring.
struct Shared {
    /// Buffers done, published by the driver now and then for the progress bar.
    completed: Padded<AtomicU64>,
    /// Set by the driver when everything is back: the device may stop.
    done: Padded<AtomicBool>,
    /// Set by the device when it found the ring broken.
    device_failed: Padded<AtomicBool>,
    driver_bell: Bell,
    device_bell: Bell,
    start: Barrier,
}

/// The payload length of every buffer (ringtest passes empty buffers; the engine's model
/// offers 64 writable bytes).
const BUF_LEN: u32 = 64;
/// Where buffer `i` claims to live (never dereferenced).
fn buf_addr(i: u64) -> u64 {
    0x100_0000 + (i % 32768) * 0x1000
}

fn pin(cpu: Option<usize>) -> Pin {
    match cpu {
        None => Pin::Free,
        Some(id) if core_affinity::set_for_current(core_affinity::CoreId { id }) => Pin::Pinned(id),
        Some(id) => Pin::Refused(id),
    }
}

fn drive<D: Driver, V: Device>(
    plan: &Plan,
    drv: D,
    dev: V,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<Measured, RunError> {
    let wake = plan.wake;
    let sh = Shared {
        completed: Padded(AtomicU64::new(0)),
        done: Padded(AtomicBool::new(false)),
        device_failed: Padded(AtomicBool::new(false)),
        driver_bell: Bell::new(wake),
        device_bell: Bell::new(wake),
        start: Barrier::new(2),
    };
    let me = thread::current();
    thread::scope(|s| {
        let device = s.spawn(|| device_loop(plan, dev, &sh));
        let driver = s.spawn(|| {
            let out = driver_loop(plan, drv, &sh, cancel);
            // Wake the reporting thread at once (it would otherwise finish its nap).
            me.unpark();
            out
        });
        while !driver.is_finished() {
            thread::park_timeout(Duration::from_millis(100));
            progress(sh.completed.0.load(Ordering::Relaxed));
        }
        let d = driver.join().map_err(|_| RunError::Panicked("driver"));
        if d.is_err() {
            // Let the device go whatever happened to the driver.
            sh.done.0.store(true, Ordering::Release);
            sh.device_bell.ring();
        }
        let v = device.join().map_err(|_| RunError::Panicked("device"))?;
        let (mut m, dpin) = d??;
        let (vpin, dev) = v?;
        m.pins = [dpin, vpin];
        m.counts.interrupts = dev.interrupts;
        m.counts.sleeps += dev.sleeps;
        m.counts.lost_wakeups += dev.lost_wakeups;
        progress(m.buffers);
        Ok(m)
    })
}

type DriverOut = Result<(Measured, Pin), RunError>;

fn driver_loop<D: Driver>(plan: &Plan, d: D, sh: &Shared, cancel: &AtomicBool) -> DriverOut {
    // On this thread's stack, lines of its own (the closure that brought it is a heap block
    // that may sit next to the device's).
    let mut d = Padded(d);
    let d = &mut d.0;
    let pinned = pin(plan.driver_cpu);
    let _ = sh.driver_bell.thread.set(thread::current());
    sh.start.wait();
    let notify = plan.notify();
    let (target, deadline) = match plan.limit {
        Limit::Buffers(n) => (n, None),
        Limit::Time(t) => (u64::MAX, Some(Instant::now() + t)),
    };
    // The first two laps of the ring (at least 1000 buffers) warm it up, untimed.
    let warmup = (2 * u64::from(plan.config.ring_size))
        .max(1000)
        .min(target / 10);
    let (batch, cap) = (
        u64::from(plan.config.batch),
        u64::from(plan.config.outstanding),
    );
    let mut m = Measured {
        buffers: 0,
        timed_buffers: 0,
        elapsed: Duration::ZERO,
        best_ns_per_buffer: None,
        counts: Counts::default(),
        interrupted: false,
        pins: [Pin::Free; 2],
    };
    // Buffers added (staged or published), published, and back.
    let (mut added, mut published, mut completed) = (0u64, 0u64, 0u64);
    // When timing started, and the buffers done by then.
    let mut t0 = (warmup == 0).then(|| (Instant::now(), 0u64));
    let mut block: Option<(Instant, u64)> = None;
    let mut stop = target == 0;
    let mut bad = None;
    let mut seen = 0;
    let mut spins = 0u32;
    let mut dog = Watchdog {
        at: Instant::now(),
        completed: 0,
    };
    loop {
        // Take back what the device used (ringtest's `get_buf` loop), at most what is out: a
        // look at the slot after the last one out would only pull in a line the driver is
        // about to write.
        let out = (published - completed).min(u64::from(u16::MAX)) as u16;
        let n = d.reclaim(out, |u| {
            if u.len.is_some_and(|l| l != BUF_LEN) && bad.is_none() {
                bad = Some(format!("buffer {} came back with len {:?}", u.token, u.len));
            }
        });
        if n > 0 {
            let before = completed;
            completed += u64::from(n);
            if before < warmup && completed >= warmup {
                t0 = Some((Instant::now(), completed));
            }
            if completed >> 12 != before >> 12 {
                sh.completed.0.store(completed, Ordering::Relaxed);
                // The fastest stretch of 4096 buffers after the warm-up: what the machine does
                // when nothing else gets in the way.
                let now = Instant::now();
                if let Some((t, c)) = block.filter(|_| completed > warmup) {
                    let ns = now.duration_since(t).as_nanos() as f64 / (completed - c) as f64;
                    m.best_ns_per_buffer = Some(m.best_ns_per_buffer.map_or(ns, |b| b.min(ns)));
                }
                block = Some((now, completed));
            }
        }
        // Keep the next batch ready: adding only stages it in the driver's own memory (the
        // rings write nothing shared before `publish`), so it is done while buffers are out.
        let want = batch.min(target - added);
        let staged = added > published;
        if !staged && !stop && want > 0 && u64::from(d.free()) >= want {
            for _ in 0..want {
                d.add(
                    Buffer {
                        addr: buf_addr(added),
                        len: BUF_LEN,
                    },
                    added,
                );
                added += 1;
            }
        }
        // Make it available once the outstanding cap allows (ringtest's `add_inbuf` runs
        // only then).
        let ready = added - published;
        let publish = ready > 0 && published - completed + ready <= cap;
        if publish {
            d.publish();
            published = added;
            if notify && d.kick_needed() {
                sh.device_bell.ring();
                m.counts.kicks += 1;
            }
        }
        // While buffers move, look up only once in a while: errors, Ctrl-C, the clock.
        let busy = n > 0 || publish;
        spins = spins.wrapping_add(1);
        let lap = spins.is_multiple_of(256);
        if busy && !lap {
            continue;
        }
        if let Some(e) = bad.take().or_else(|| d.broken().map(str::to_string)) {
            return Err(stop_device(sh, RunError::Broken(e)));
        }
        if sh.device_failed.0.load(Ordering::Relaxed) {
            return Err(RunError::Broken("the device stopped".into()));
        }
        if !stop && cancel.load(Ordering::Relaxed) {
            stop = true;
            m.interrupted = true;
        }
        if lap && deadline.is_some_and(|t| Instant::now() >= t) {
            stop = true;
        }
        if completed == added && (stop || added >= target) {
            break;
        }
        if busy {
            continue;
        }
        if !notify {
            // ringtest's `poll_used()`: spin on the used ring alone, looking up now and then.
            let mut k = 0u32;
            while !d.used_pending() {
                k = k.wrapping_add(1);
                if k.is_multiple_of(LOOK_UP) {
                    if sh.device_failed.0.load(Ordering::Relaxed) || cancel.load(Ordering::Relaxed)
                    {
                        break;
                    }
                    if dog.stalled(completed) {
                        return Err(stop_device(sh, dog.error(published, completed)));
                    }
                }
            }
        } else if !d.enable_cb() {
            m.counts.sleeps += 1;
            if sh.driver_bell.wait(&mut seen) && d.enable_cb() {
                m.counts.lost_wakeups += 1;
            }
            if dog.stalled(completed) {
                return Err(stop_device(sh, dog.error(published, completed)));
            }
        }
    }
    if let Some((t, c)) = t0 {
        m.elapsed = t.elapsed();
        m.timed_buffers = completed - c;
    }
    m.buffers = completed;
    sh.completed.0.store(completed, Ordering::Relaxed);
    sh.done.0.store(true, Ordering::Release);
    sh.device_bell.ring();
    Ok((m, pinned))
}

/// Tells the device to stop, for a driver that gives up with `e`.
fn stop_device(sh: &Shared, e: RunError) -> RunError {
    sh.done.0.store(true, Ordering::Release);
    sh.device_bell.ring();
    e
}

/// How long a waiting driver tolerates no buffer coming back before it calls the ring stalled.
const STALL: Duration = Duration::from_secs(10);

/// Notices a run that stopped moving: a driver waiting for buffers that never come back
/// (a broken device, a lost notification with nothing to recover it) fails instead of hanging.
struct Watchdog {
    at: Instant,
    completed: u64,
}

impl Watchdog {
    /// Whether nothing came back for [`STALL`] (measured between calls).
    fn stalled(&mut self, completed: u64) -> bool {
        if completed != self.completed {
            self.completed = completed;
            self.at = Instant::now();
            return false;
        }
        self.at.elapsed() > STALL
    }

    fn error(&self, started: u64, completed: u64) -> RunError {
        RunError::Broken(format!(
            "stalled: no buffer came back for {} s with {} of {started} outstanding",
            STALL.as_secs(),
            started - completed
        ))
    }
}

type DeviceOut = Result<(Pin, Counts), RunError>;

fn device_loop<V: Device>(plan: &Plan, v: V, sh: &Shared) -> DeviceOut {
    let mut v = Padded(v);
    let v = &mut v.0;
    let pinned = pin(plan.device_cpu);
    let _ = sh.device_bell.thread.set(thread::current());
    sh.start.wait();
    let notify = plan.notify();
    let mut c = Counts::default();
    let mut seen = 0;
    loop {
        let mut n = 0;
        while n < plan.config.batch {
            match v.pop() {
                Some(p) => {
                    v.push_used(p.id, p.buf.len);
                    n += 1;
                }
                None => break,
            }
        }
        if n > 0 {
            v.publish_used();
            if notify && v.interrupt_needed() {
                sh.driver_bell.ring();
                c.interrupts += 1;
            }
            continue;
        }
        if let Some(e) = v.broken() {
            let e = e.to_string();
            // Tell the driver that nothing more will come.
            sh.device_failed.0.store(true, Ordering::Relaxed);
            sh.driver_bell.ring();
            return Err(RunError::Broken(e));
        }
        if sh.done.0.load(Ordering::Acquire) {
            return Ok((pinned, c));
        }
        if !notify {
            // ringtest's `poll_avail()`.
            let mut k = 0u32;
            while !v.avail_pending() {
                k = k.wrapping_add(1);
                if k.is_multiple_of(LOOK_UP) && sh.done.0.load(Ordering::Acquire) {
                    break;
                }
            }
        } else if !v.enable_notify() && !sh.done.0.load(Ordering::Acquire) {
            c.sleeps += 1;
            if sh.device_bell.wait(&mut seen) && v.enable_notify() {
                c.lost_wakeups += 1;
            }
        }
    }
}

/// CPUs this process may run on (what pinning can use).
pub fn cpus() -> Vec<usize> {
    match core_affinity::get_core_ids() {
        Some(ids) if !ids.is_empty() => ids.into_iter().map(|c| c.id).collect(),
        _ => (0..thread::available_parallelism().map_or(1, |n| n.get())).collect(),
    }
}

/// The one-minute load average (Linux `/proc/loadavg`).
pub fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// The machine: CPUs, CPU model (`/proc/cpuinfo`), load average now.
pub fn machine() -> ringside_core::bench::Machine {
    let model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    });
    ringside_core::bench::Machine {
        cpus: cpus().len(),
        cpu_model: model,
        load_average: load_average(),
    }
}
