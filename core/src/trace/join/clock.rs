//! The guest's clock against the host's, from the capture's anchors.
//!
//! The guest stamps its trace with its own TAI clock; QEMU with the host's wall clock. An
//! anchor is one process in the guest writing a marker (`ringside-anchor N begin`, guest time
//! `b`), writing byte `N & 0xff` to the host bridge's PCI config register 0x3c, which QEMU logs
//! as `pci_cfg_write i440FX 00:00.0 @0x3c <- 0xN` at host time `q` from the vCPU thread in the
//! middle of that write, and writing `ringside-anchor N end` (guest time `e`). So the offset
//! `host - guest` lies in `[q - e, q - b]`.
//!
//! Under TCG the guest clock stands still while the VM is stopped (a QMP `stop`, an I/O error
//! with `rerror=stop`), so the offset jumps by the stop's length at each one: the anchors are
//! split at every VM stop and each stretch gets its own line, fitted through the intervals'
//! midpoints weighted by `1/width²` (an anchor whose process was preempted between its markers
//! has a wide interval and says little). A stretch without anchors takes its neighbour's offset
//! moved by the stop's length, and says so.
//!
//! The **spread** of a stretch is how well its offset is known: the width of its narrowest
//! anchor (the fitted line and the true offset both pass through it) plus the furthest the
//! fitted line misses any anchor's interval (anchors that disagree). Past
//! [`super::JoinOptions::max_spread_us`] the join refuses (see there for why).

use serde::Serialize;

use crate::finding::fmt_time;
use crate::trace::event::{EventKind, NO_TIME};
use crate::trace::import::driver::DriverTrace;
use crate::trace::import::qmp::{QmpBody, QmpTranscript};
use crate::trace::import::store::TraceStore;

/// One matched anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Anchor {
    /// Its number.
    pub n: u32,
    /// Guest time of the `begin` marker, µs.
    pub guest_begin: u64,
    /// Guest time of the `end` marker, µs.
    pub guest_end: u64,
    /// Host time of QEMU's `pci_cfg_write`, µs.
    pub host: u64,
    /// Guest trace line of the `begin` marker.
    pub guest_line: u32,
    /// QEMU trace line of the write.
    pub host_line: u32,
}

impl Anchor {
    /// The lowest offset (host − guest, µs) it allows.
    pub fn lo(&self) -> i64 {
        self.host as i64 - self.guest_end as i64
    }
    /// The highest.
    pub fn hi(&self) -> i64 {
        self.host as i64 - self.guest_begin as i64
    }
    /// The interval's width, µs.
    pub fn width(&self) -> u64 {
        self.guest_end.saturating_sub(self.guest_begin)
    }
}

/// A stretch of the run between VM stops, with its own offset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stretch {
    /// Host time at which it begins (the `RESUME` before it), µs; `None` from the start.
    pub from_us: Option<u64>,
    /// Host time of the `STOP` that ends it; `None` to the end.
    pub to_us: Option<u64>,
    /// Its anchors (indices into [`GuestClock::anchors`]).
    pub anchors: Vec<usize>,
    /// Offset host − guest at `t0_us`, µs.
    pub offset_us: f64,
    /// Drift of the offset, µs per second of host time.
    pub drift_ppm: f64,
    /// Host time the offset is given at (its first anchor, or the stretch's start), µs.
    pub t0_us: u64,
    /// How well the offset is known, µs (see the module's doc).
    pub spread_us: u64,
    /// The narrowest anchor's width, µs.
    pub narrowest_us: u64,
    /// The furthest the fitted line misses an anchor's interval, µs (0: it passes through
    /// every one).
    pub misfit_us: u64,
    /// No anchors: the offset was carried over a stop from the neighbouring stretch.
    pub inferred: bool,
    /// Guest time at which it begins (where the stop falls on the guest's clock), µs.
    pub guest_from: u64,
}

impl Stretch {
    /// The offset (µs) at host time `t`.
    fn offset_at(&self, t: u64) -> f64 {
        self.offset_us + self.drift_ppm * 1e-6 * (t as f64 - self.t0_us as f64)
    }
    /// Host time of a guest time in this stretch.
    fn to_host(&self, g: u64) -> u64 {
        // host = g + offset(host); offset moves by ppm, so one refinement is exact to well
        // under a microsecond.
        let first = g as f64 + self.offset_at(g.saturating_add_signed(self.offset_us as i64));
        let host = g as f64 + self.offset_at(first.max(0.0) as u64);
        host.max(0.0) as u64
    }
}

/// Why two clocks could not be aligned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// What is wrong, and what to do.
    pub message: String,
}

/// The guest clock mapped onto the host's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuestClock {
    /// Every matched anchor, in order.
    pub anchors: Vec<Anchor>,
    /// The stretches between VM stops.
    pub stretches: Vec<Stretch>,
    /// Where the stops came from (`qmp.jsonl STOP/RESUME events`, `QEMU's trace`).
    pub stops_from: String,
    /// Anchors that could not be used, in words.
    pub notes: Vec<String>,
}

/// The VM's stops: `(stop, resume)` host times, µs (`resume` `None` when it never resumed).
fn stops(store: &TraceStore, qmp: Option<&QmpTranscript>) -> (Vec<(u64, Option<u64>)>, String) {
    let mut out: Vec<(u64, Option<u64>)> = Vec::new();
    if let Some(q) = qmp {
        for r in &q.records {
            if let QmpBody::Event {
                name,
                time_us: Some(t),
                ..
            } = &r.body
            {
                match name.as_str() {
                    "STOP" => out.push((*t, None)),
                    "RESUME" => {
                        if let Some(last) = out.last_mut().filter(|s| s.1.is_none()) {
                            last.1 = Some(*t);
                        }
                    }
                    _ => {}
                }
            }
        }
        if !out.is_empty() {
            return (out, format!("{} STOP/RESUME events", q.source));
        }
    }
    for e in store.events() {
        if let EventKind::RunState { running } = e.kind
            && e.time_us != NO_TIME
        {
            if !running {
                out.push((e.time_us, None));
            } else if let Some(last) = out.last_mut().filter(|s| s.1.is_none()) {
                last.1 = Some(e.time_us);
            }
        }
    }
    let from = if out.is_empty() {
        "none seen (no QMP STOP event, no virtio_rng_vm_state_change in the trace)".to_string()
    } else {
        format!("{}: virtio_rng_vm_state_change", store.source())
    };
    (out, from)
}

/// QEMU's `pci_cfg_write <dev> <bdf> @0x<off> <- 0x<val>` lines: (event index, bdf, offset,
/// value).
fn cfg_writes(store: &TraceStore) -> Vec<(usize, String, u64, u64)> {
    let mut out = Vec::new();
    for (i, e) in store.events().iter().enumerate() {
        let EventKind::Unknown { name, text } = e.kind else {
            continue;
        };
        if store.name(name) != "pci_cfg_write" || e.time_us == NO_TIME {
            continue;
        }
        let t = store.text(text);
        let Some(args) = t.split_once("pci_cfg_write ").map(|x| x.1) else {
            continue;
        };
        let w: Vec<&str> = args.split_whitespace().collect();
        if let [_, bdf, off, "<-", val] = w.as_slice() {
            let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok();
            if let (Some(off), Some(val)) = (off.strip_prefix('@').and_then(hex), hex(val)) {
                out.push((i, bdf.to_string(), off, val));
            }
        }
    }
    out
}

impl GuestClock {
    /// Matches the guest's anchors with QEMU's writes and fits each stretch between stops.
    pub fn fit(
        driver: &DriverTrace,
        store: &TraceStore,
        qmp: Option<&QmpTranscript>,
    ) -> Result<GuestClock, Refusal> {
        let mut notes = Vec::new();
        // Anchor numbers with both markers, in order of their begin.
        let mut marks: Vec<(u32, u64, u64, u32)> = Vec::new();
        for a in driver.anchors.iter().filter(|a| a.begin) {
            match driver
                .anchors
                .iter()
                .find(|e| !e.begin && e.n == a.n && e.line > a.line)
            {
                Some(e) => marks.push((a.n, a.time_us, e.time_us, a.line)),
                None => notes.push(format!(
                    "anchor {} (line {}) has no end marker: not used",
                    a.n, a.line
                )),
            }
        }
        let writes = cfg_writes(store);
        let events = store.events();
        let mut anchors: Vec<Anchor> = Vec::new();
        let mut next = 0;
        for (n, b, e, line) in marks {
            // The first write of the anchor's byte to 0x3c after the previous anchor's.
            let found = writes
                .iter()
                .enumerate()
                .skip(next)
                .find(|(_, w)| w.2 == 0x3c && w.3 == u64::from(n & 0xff));
            match found {
                Some((k, w)) => {
                    next = k + 1;
                    let ev = &events[w.0];
                    anchors.push(Anchor {
                        n,
                        guest_begin: b,
                        guest_end: e,
                        host: ev.time_us,
                        guest_line: line,
                        host_line: ev.line,
                    });
                }
                None => notes.push(format!(
                    "anchor {n} (guest line {line}): no `pci_cfg_write … @0x3c <- {:#x}` after \
                     the previous anchor's in {}: not used",
                    n & 0xff,
                    store.source()
                )),
            }
        }
        if anchors.is_empty() {
            return Err(Refusal {
                message: format!(
                    "no clock anchor: {} has {} ringside-anchor markers and {} has no matching \
                     `pci_cfg_write … @0x3c` (capture with `-trace pci_cfg_write -msg \
                     timestamp=on` and traces/anchor.c in the guest); the guest's and the host's \
                     clocks cannot be aligned, so the two sides cannot be put in order",
                    driver.source(),
                    driver.anchors.len(),
                    store.source()
                ),
            });
        }
        let (stops, stops_from) = stops(store, qmp);
        // Stretch k runs from the resume of stop k-1 to stop k.
        let mut stretches: Vec<Stretch> = (0..=stops.len())
            .map(|k| Stretch {
                from_us: k
                    .checked_sub(1)
                    .and_then(|p| stops.get(p))
                    .and_then(|s| s.1),
                to_us: stops.get(k).map(|s| s.0),
                anchors: Vec::new(),
                offset_us: 0.0,
                drift_ppm: 0.0,
                t0_us: 0,
                spread_us: 0,
                narrowest_us: 0,
                misfit_us: 0,
                inferred: true,
                guest_from: 0,
            })
            .collect();
        for (i, a) in anchors.iter().enumerate() {
            let k = stops.iter().filter(|s| s.0 < a.host).count();
            if let Some(s) = stretches.get_mut(k) {
                s.anchors.push(i);
            }
        }
        // A drift is seen only over a long enough stretch; shorter ones take the drift of the
        // longest that shows one (the same two crystals), else none.
        let span = |s: &Stretch| {
            let hosts = s
                .anchors
                .iter()
                .filter_map(|&i| anchors.get(i))
                .map(|a| a.host);
            hosts.clone().max().unwrap_or(0) - hosts.min().unwrap_or(0)
        };
        let mut drift: Option<(u64, f64)> = None;
        for s in stretches.iter_mut().filter(|s| s.anchors.len() >= 3) {
            if span(s) >= MIN_DRIFT_SPAN_US {
                fit_line(s, &anchors, None);
                if drift.is_none_or(|d| span(s) > d.0) {
                    drift = Some((span(s), s.drift_ppm));
                }
            }
        }
        for s in stretches.iter_mut().filter(|s| !s.anchors.is_empty()) {
            if s.anchors.len() < 3 || span(s) < MIN_DRIFT_SPAN_US {
                fit_line(s, &anchors, Some(drift.map_or(0.0, |d| d.1)));
            }
        }
        // Stretches without anchors: carried over the stop from a fitted neighbour, forwards
        // then backwards.
        let mut fitted: Vec<bool> = stretches.iter().map(|s| !s.anchors.is_empty()).collect();
        for k in 1..stretches.len() {
            if !fitted[k] && fitted[k - 1] {
                let (stop, resume) = stops[k - 1];
                let prev = stretches[k - 1].clone();
                let s = &mut stretches[k];
                s.t0_us = resume.unwrap_or(stop);
                s.offset_us = prev.offset_at(stop) + (s.t0_us - stop) as f64;
                carry(s, &prev);
                fitted[k] = true;
            }
        }
        for k in (0..stretches.len().saturating_sub(1)).rev() {
            if !fitted[k] && fitted[k + 1] {
                let (stop, resume) = stops[k];
                let next = stretches[k + 1].clone();
                let back = resume.unwrap_or(stop);
                let s = &mut stretches[k];
                s.t0_us = stop;
                s.offset_us = next.offset_at(back) - (back - stop) as f64;
                carry(s, &next);
                fitted[k] = true;
            }
        }
        // Where each stop falls on the guest's clock.
        for k in 1..stretches.len() {
            let stop = stops[k - 1].0;
            let g = stop as f64 - stretches[k - 1].offset_at(stop);
            stretches[k].guest_from = g.max(0.0) as u64;
        }
        Ok(GuestClock {
            anchors,
            stretches,
            stops_from,
            notes,
        })
    }

    /// The stretch a guest time falls in.
    fn stretch(&self, guest_us: u64) -> Option<&Stretch> {
        let k = self
            .stretches
            .partition_point(|s| s.guest_from <= guest_us)
            .saturating_sub(1);
        self.stretches.get(k)
    }

    /// The host time of a guest time, µs.
    pub fn to_host(&self, guest_us: u64) -> u64 {
        self.stretch(guest_us)
            .map_or(guest_us, |s| s.to_host(guest_us))
    }

    /// The largest spread over the stretches whose guest times hold `[from, to]`.
    pub fn spread_over(&self, from: u64, to: u64) -> u64 {
        self.stretches
            .iter()
            .enumerate()
            .filter(|(k, s)| {
                let end = self.stretches.get(k + 1).map_or(u64::MAX, |n| n.guest_from);
                s.guest_from <= to && end >= from
            })
            .map(|(_, s)| s.spread_us)
            .max()
            .unwrap_or(0)
    }

    /// The VM's stops, host µs: `(stop, resume)`, `u64::MAX` when it never resumed.
    fn stops(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.stretches
            .windows(2)
            .filter_map(|w| Some((w[0].to_us?, w[1].from_us.unwrap_or(u64::MAX))))
    }

    /// Host µs between `a` and `b` during which the VM ran (its stops left out): how long
    /// the guest had to act.
    pub fn running_between(&self, a: u64, b: u64) -> u64 {
        let stopped: u64 = self
            .stops()
            .map(|(s, r)| r.min(b).saturating_sub(s.max(a)))
            .sum();
        b.saturating_sub(a).saturating_sub(stopped)
    }

    /// The host time at which the VM has run `us` µs since `t`.
    pub fn after_running(&self, t: u64, us: u64) -> u64 {
        let mut end = t.saturating_add(us);
        for (s, r) in self.stops() {
            if s < end && r > t {
                if r == u64::MAX {
                    // Stopped for good: it never runs that long.
                    return u64::MAX;
                }
                end = end.saturating_add(r - s.max(t));
            }
        }
        end
    }

    /// The clock's report, one line per stretch.
    pub fn describe(&self) -> Vec<String> {
        self.stretches
            .iter()
            .map(|s| {
                let span = format!(
                    "{}..{}",
                    s.from_us.map_or("start".to_string(), fmt_time),
                    s.to_us.map_or("end".to_string(), fmt_time)
                );
                if s.inferred {
                    format!(
                        "host {span}: no anchor; offset {:+.6} s carried over the stop (the \
                         guest clock stands still while the VM is stopped), spread {} µs",
                        s.offset_us / 1e6,
                        s.spread_us
                    )
                } else {
                    format!(
                        "host {span}: {} anchors, offset {:+.6} s at {}, drift {:+.1} µs/s, \
                         spread {} µs (narrowest anchor {} µs{})",
                        s.anchors.len(),
                        s.offset_us / 1e6,
                        fmt_time(s.t0_us),
                        s.drift_ppm,
                        s.spread_us,
                        s.narrowest_us,
                        if s.misfit_us == 0 {
                            "; the fit passes through every anchor's interval".to_string()
                        } else {
                            format!(
                                "; the fit misses an anchor's interval by {} µs",
                                s.misfit_us
                            )
                        }
                    )
                }
            })
            .collect()
    }
}

/// A stretch without anchors takes its neighbour's drift and spread.
fn carry(s: &mut Stretch, from: &Stretch) {
    s.drift_ppm = from.drift_ppm;
    s.narrowest_us = from.narrowest_us;
    s.misfit_us = from.misfit_us;
    s.spread_us = from.spread_us;
    s.inferred = true;
}

/// Anchors must span this much host time (µs) for a stretch's own drift to be fitted: the
/// captures' anchor intervals are 110–200 µs wide, so over half a second a drift is known to
/// about ±300 µs/s; over the 76 ms of guest-ioerror's second stretch it would be ±2000 µs/s,
/// noise.
const MIN_DRIFT_SPAN_US: u64 = 500_000;

/// Weighted least squares of the interval midpoints against host time; with `drift` given,
/// only the offset is fitted.
fn fit_line(s: &mut Stretch, anchors: &[Anchor], drift: Option<f64>) {
    let pts: Vec<&Anchor> = s.anchors.iter().filter_map(|&i| anchors.get(i)).collect();
    let Some(first) = pts.first() else {
        return;
    };
    let t0 = first.host;
    let (mut sw, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for a in &pts {
        let w = 1.0 / (a.width().max(1) as f64).powi(2);
        let x = (a.host - t0) as f64;
        let y = (a.lo() + a.hi()) as f64 / 2.0;
        sw += w;
        sx += w * x;
        sy += w * y;
    }
    let (mx, my) = (sx / sw, sy / sw);
    let (mut vx, mut cxy) = (0.0, 0.0);
    for a in &pts {
        let w = 1.0 / (a.width().max(1) as f64).powi(2);
        let x = (a.host - t0) as f64 - mx;
        let y = (a.lo() + a.hi()) as f64 / 2.0 - my;
        vx += w * x * x;
        cxy += w * x * y;
    }
    let slope = match drift {
        Some(ppm) => ppm * 1e-6,
        None if vx > 0.0 => cxy / vx,
        None => 0.0,
    };
    s.offset_us = my - slope * mx;
    s.drift_ppm = slope * 1e6;
    s.t0_us = t0;
    s.inferred = false;
    s.narrowest_us = pts.iter().map(|a| a.width()).min().unwrap_or(0);
    s.misfit_us = pts
        .iter()
        .map(|a| {
            let f = s.offset_at(a.host);
            let miss = if f < a.lo() as f64 {
                a.lo() as f64 - f
            } else if f > a.hi() as f64 {
                f - a.hi() as f64
            } else {
                0.0
            };
            miss.ceil() as u64
        })
        .max()
        .unwrap_or(0);
    s.spread_us = s.narrowest_us + s.misfit_us;
}

/// QEMU's vhost-user messages against DPDK's: the same host clock, DPDK's lines stamped when a
/// reader got them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DpdkClock {
    /// Message pairs compared (QEMU's k-th `vhost_user_write` with DPDK's k-th `read
    /// message`).
    pub pairs: usize,
    /// DPDK's time minus QEMU's over the pairs after the first: min, median, max, µs.
    pub lag_us: (i64, i64, i64),
    /// The first message's lag (the connection's first is read late).
    pub first_lag_us: i64,
}

impl DpdkClock {
    /// Pairs the messages; a refusal when their sequences differ (the log is another run's).
    pub fn pair(
        store: &TraceStore,
        dpdk: &crate::trace::import::dpdk::DpdkLog,
    ) -> Result<DpdkClock, Refusal> {
        use crate::trace::import::dpdk::DpdkKind;
        let qemu: Vec<(u32, u64, u32)> = store
            .events()
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::VhostUser {
                    req, reply: false, ..
                } => Some((req, e.time_us, e.line)),
                _ => None,
            })
            .collect();
        let dp: Vec<(u32, u64, u32)> = dpdk
            .events
            .iter()
            .filter_map(|e| match e.kind {
                DpdkKind::Message { req } => Some((req, e.time_us, e.line)),
                _ => None,
            })
            .collect();
        let name = crate::trace::event::vhost_user_request;
        if let Some(k) = (0..qemu.len().min(dp.len())).find(|&k| qemu[k].0 != dp[k].0) {
            return Err(Refusal {
                message: format!(
                    "{}:{} is vhost-user message {} ({}) and {}:{} is {} ({}): the {}th \
                     messages differ, so the DPDK log is not this run's; DPDK's side is not \
                     joined",
                    store.source(),
                    qemu[k].2,
                    qemu[k].0,
                    name(qemu[k].0),
                    dpdk.source,
                    dp[k].2,
                    dp[k].0,
                    name(dp[k].0),
                    k + 1
                ),
            });
        }
        if qemu.len() != dp.len() || qemu.is_empty() {
            return Err(Refusal {
                message: format!(
                    "{} has {} vhost-user messages (vhost_user_write) and {} has {} (read \
                     message): they do not pair one to one, so the DPDK log is not this run's \
                     (or one of them is cut); DPDK's side is not joined",
                    store.source(),
                    qemu.len(),
                    dpdk.source,
                    dp.len()
                ),
            });
        }
        if qemu.iter().any(|q| q.1 == NO_TIME) || dp.iter().any(|d| d.1 == NO_TIME) {
            return Err(Refusal {
                message: "the vhost-user messages lack timestamps (QEMU's -msg timestamp=on, a \
                          stamp on each DPDK line as traces/tslines.py writes): DPDK's packets \
                          cannot be placed in time; DPDK's side is not joined"
                    .into(),
            });
        }
        let mut lags: Vec<i64> = qemu
            .iter()
            .zip(&dp)
            .skip(1)
            .map(|(q, d)| d.1 as i64 - q.1 as i64)
            .collect();
        lags.sort_unstable();
        let mid = lags.get(lags.len() / 2).copied().unwrap_or(0);
        Ok(DpdkClock {
            pairs: qemu.len(),
            lag_us: (
                lags.first().copied().unwrap_or(0),
                mid,
                lags.last().copied().unwrap_or(0),
            ),
            first_lag_us: dp[0].1 as i64 - qemu[0].1 as i64,
        })
    }
}
