//! What `ringside replay --guest` prints of the join: the clock alignment per stretch, each
//! queue's pairing with its buffers counted by how far they got, and the latency of each stage.

use std::fmt;

use serde::Serialize;

use super::buffers::{Buffer, NONE, TAKEN_BACK};
use super::clock::{DpdkClock, Stretch};
use super::{EventRef, Join, Joined, Side};
use crate::trace::import::Capture;

/// Latency of one stage over a queue's buffers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageLatency {
    /// `add → pop`.
    pub stage: String,
    /// Buffers measured.
    pub n: usize,
    /// Median, 90th percentile and largest, µs.
    pub median_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// Largest.
    pub max_us: u64,
}

/// One queue of the join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueJoin {
    /// `blk0.q0`.
    pub name: String,
    /// `req.0 (virtio0)`.
    pub driver_name: String,
    /// Who serves it.
    pub device_name: String,
    /// Buffers the driver added.
    pub added: usize,
    /// Popped by the device.
    pub popped: usize,
    /// Used by the device.
    pub used: usize,
    /// Reaped by the driver.
    pub reaped: usize,
    /// Taken back unused (device removal).
    pub taken_back: usize,
    /// Latencies by stage.
    pub latency: Vec<StageLatency>,
}

/// The join's part of a replay report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JoinReport {
    /// The driver's trace.
    pub driver: String,
    /// DPDK's log, when given.
    pub dpdk: Option<String>,
    /// Why there is no join.
    pub refused: Option<String>,
    /// The clock's stretches.
    pub stretches: Vec<Stretch>,
    /// The clock in words, one line per stretch.
    pub clock: Vec<String>,
    /// Anchors matched.
    pub anchors: usize,
    /// DPDK against QEMU.
    pub dpdk_clock: Option<DpdkClock>,
    /// The queues.
    pub queues: Vec<QueueJoin>,
    /// Steps of the joined timeline.
    pub steps: u64,
    /// What the cross-checks found.
    pub notes: Vec<String>,
}

/// The stages measured: from, to, name.
const STAGES: [(usize, usize, &str); 4] = [
    (0, 2, "add → pop"),
    (2, 4, "pop → used"),
    (4, 8, "used → reap"),
    (0, 8, "add → reap"),
];

fn pct(v: &[u64], p: usize) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let i = ((v.len() - 1) * p) / 100;
    v[i]
}

impl Join {
    /// A buffer's stage times (host µs), [`None`] for stages not reached.
    pub fn stage_times(&self, capture: &Capture, b: &Buffer) -> [Option<u64>; 9] {
        let dev = self.device_side_of(b.queue);
        std::array::from_fn(|k| {
            let s = super::Stage::ALL[k];
            let i = b.at(s);
            (i != NONE)
                .then(|| {
                    let side = if s.on_driver() { Side::Driver } else { dev };
                    self.time(capture, EventRef { side, index: i })
                })
                .flatten()
        })
    }

    /// The join's report.
    pub fn report(&self, capture: &Capture) -> JoinReport {
        let queues = self
            .queues
            .iter()
            .enumerate()
            .map(|(qi, q)| {
                let bufs: Vec<&Buffer> = self
                    .buffers
                    .iter()
                    .filter(|b| usize::from(b.queue) == qi)
                    .collect();
                let times: Vec<[Option<u64>; 9]> =
                    bufs.iter().map(|b| self.stage_times(capture, b)).collect();
                let latency = STAGES
                    .iter()
                    .filter_map(|&(a, z, name)| {
                        let mut v: Vec<u64> = times
                            .iter()
                            .filter_map(|t| Some(t[z]?.saturating_sub(t[a]?)))
                            .collect();
                        v.sort_unstable();
                        (!v.is_empty()).then(|| StageLatency {
                            stage: name.into(),
                            n: v.len(),
                            median_us: pct(&v, 50),
                            p90_us: pct(&v, 90),
                            max_us: v.last().copied().unwrap_or(0),
                        })
                    })
                    .collect();
                QueueJoin {
                    name: q.name.clone(),
                    driver_name: q.driver_name.clone(),
                    device_name: q.device_name.clone(),
                    added: bufs.len(),
                    popped: bufs.iter().filter(|b| b.pop != NONE).count(),
                    used: bufs.iter().filter(|b| b.used != NONE).count(),
                    reaped: bufs
                        .iter()
                        .filter(|b| b.reap != NONE && b.flags & TAKEN_BACK == 0)
                        .count(),
                    taken_back: bufs.iter().filter(|b| b.flags & TAKEN_BACK != 0).count(),
                    latency,
                }
            })
            .collect();
        JoinReport {
            driver: capture
                .driver
                .as_ref()
                .map_or(String::new(), |d| d.source().to_string()),
            dpdk: capture.dpdk.as_ref().map(|d| d.source.clone()),
            refused: None,
            stretches: self.clock.stretches.clone(),
            clock: self.clock.describe(),
            anchors: self.clock.anchors.len(),
            dpdk_clock: self.dpdk_clock.clone(),
            queues,
            steps: self.merge.len,
            notes: self.notes.clone(),
        }
    }
}

/// The report of a join, or of its refusal.
pub fn report_of(joined: &Joined, capture: &Capture) -> JoinReport {
    match joined {
        Ok(j) => j.report(capture),
        Err(r) => JoinReport {
            driver: capture
                .driver
                .as_ref()
                .map_or(String::new(), |d| d.source().to_string()),
            dpdk: capture.dpdk.as_ref().map(|d| d.source.clone()),
            refused: Some(r.message.clone()),
            stretches: Vec::new(),
            clock: Vec::new(),
            anchors: 0,
            dpdk_clock: None,
            queues: Vec::new(),
            steps: 0,
            notes: Vec::new(),
        },
    }
}

fn us(v: u64) -> String {
    if v >= 1_000_000 {
        format!("{:.2} s", v as f64 / 1e6)
    } else if v >= 1000 {
        format!("{:.1} ms", v as f64 / 1e3)
    } else {
        format!("{v} µs")
    }
}

impl fmt::Display for JoinReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "joined with the driver's trace {}", self.driver)?;
        if let Some(r) = &self.refused {
            return writeln!(f, "  not joined: {r}");
        }
        writeln!(
            f,
            "  clock: {} anchors; guest TAI + offset = host time, per stretch between VM stops:",
            self.anchors
        )?;
        for l in &self.clock {
            writeln!(f, "    {l}")?;
        }
        if let (Some(d), Some(c)) = (&self.dpdk, &self.dpdk_clock) {
            writeln!(
                f,
                "  {d}: {} vhost-user messages pair one to one with QEMU's; DPDK's line time \
                 minus QEMU's: {} to {} (median {}), the first {} (a line is stamped when a \
                 reader got it)",
                c.pairs,
                us_signed(c.lag_us.0),
                us_signed(c.lag_us.2),
                us_signed(c.lag_us.1),
                us_signed(c.first_lag_us)
            )?;
        }
        writeln!(
            f,
            "  {:<9} {:<20} {:<30} {:>6} {:>6} {:>6} {:>6} {:>6}",
            "queue", "driver", "device", "added", "popped", "used", "reaped", "back"
        )?;
        for q in &self.queues {
            writeln!(
                f,
                "  {:<9} {:<20} {:<30} {:>6} {:>6} {:>6} {:>6} {:>6}",
                q.name,
                q.driver_name,
                q.device_name,
                q.added,
                q.popped,
                q.used,
                q.reaped,
                q.taken_back
            )?;
            for l in &q.latency {
                writeln!(
                    f,
                    "  {:<9}   {:<12} n {:>4}  median {:>9}  p90 {:>9}  max {:>9}",
                    "",
                    l.stage,
                    l.n,
                    us(l.median_us),
                    us(l.p90_us),
                    us(l.max_us)
                )?;
            }
        }
        for n in &self.notes {
            writeln!(f, "  note: {n}")?;
        }
        Ok(())
    }
}

fn us_signed(v: i64) -> String {
    if v < 0 {
        format!("-{}", us(v.unsigned_abs()))
    } else {
        format!("+{}", us(v as u64))
    }
}
