//! A finished run: the session a scenario made and the report summarising it.

use super::metric::Metric;
use super::report::Report;
use super::{Scenario, ScenarioError};
use crate::finding::Severity;
use crate::session::Session;

/// A finished run: the session (for stepping and access queries) and its report.
#[derive(Debug, Clone)]
pub struct Run {
    /// The session, cursor at 0.
    pub session: Session,
    /// The summary, expectations checked.
    pub report: Report,
}

impl Run {
    /// Runs `scenario` and summarises it without checking expectations.
    pub fn measure(name: &str, scenario: &Scenario) -> Result<Run, ScenarioError> {
        let session = scenario.session().map_err(|source| ScenarioError::Engine {
            file: name.to_string(),
            source,
        })?;
        let report = Report::of(name, scenario, &session)?;
        Ok(Run { session, report })
    }

    /// The value of a metric in this run (`None` when it does not apply, e.g. a per-buffer
    /// number with no buffer completed, or a split index on a packed ring).
    pub fn metric(&self, m: Metric) -> Option<f64> {
        let r = &self.report;
        let per_buffer = |n: u64| (r.buffers > 0).then(|| n as f64 / r.buffers as f64);
        let idx = |v: Option<u16>| v.map(f64::from);
        let count = |c: u64| Some(c as f64);
        match m {
            Metric::Buffers => count(r.buffers),
            Metric::MadeAvailable => count(r.made_available),
            Metric::Ops => count(r.ops as u64),
            Metric::Steps => count(r.steps),
            Metric::Accesses => count(r.accesses.total),
            Metric::DriverLoads => count(r.accesses.driver_loads),
            Metric::DriverStores => count(r.accesses.driver_stores),
            Metric::DeviceLoads => count(r.accesses.device_loads),
            Metric::DeviceStores => count(r.accesses.device_stores),
            Metric::AccessesPerBuffer => per_buffer(r.accesses.total),
            Metric::DeviceStoresPerBuffer => per_buffer(r.accesses.device_stores),
            Metric::Kicks => count(r.notifications.driver_to_device),
            Metric::Interrupts => count(r.notifications.device_to_driver),
            Metric::KicksSuppressed => count(r.notifications.kicks_suppressed),
            Metric::InterruptsSuppressed => count(r.notifications.interrupts_suppressed),
            Metric::KicksPerBuffer => per_buffer(r.notifications.driver_to_device),
            Metric::InterruptsPerBuffer => per_buffer(r.notifications.device_to_driver),
            Metric::NotificationsPerBuffer => {
                per_buffer(r.notifications.driver_to_device + r.notifications.device_to_driver)
            }
            Metric::Findings => count(r.findings.len() as u64),
            Metric::Errors => count(
                r.findings
                    .iter()
                    .filter(|f| f.severity == Severity::Error)
                    .count() as u64,
            ),
            Metric::AvailIdx => idx(r.indices.avail_idx),
            Metric::UsedIdx => idx(r.indices.used_idx),
            Metric::LastAvailIdx => idx(r.indices.last_avail_idx),
            Metric::LastUsedIdx => idx(r.indices.last_used_idx),
            Metric::DriverSlot => idx(r.indices.driver_slot),
            Metric::DriverWrap => idx(r.indices.driver_wrap),
            Metric::DeviceSlot => idx(r.indices.device_slot),
            Metric::DeviceWrap => idx(r.indices.device_wrap),
            Metric::Status => Some(f64::from(r.status)),
            Metric::Misses => count(r.cache.misses),
            Metric::MissesPerBuffer => r.cache.misses_per_buffer,
            Metric::Invalidations => count(r.cache.invalidations),
            Metric::InvalidationsPerBuffer => r.cache.invalidations_per_buffer,
            Metric::CyclesPerBuffer => r.cache.cycles_per_buffer,
            Metric::DescWays => r.cache.l1.map(|l| l.desc_ways as f64),
            Metric::RingWays => r.cache.l1.map(|l| l.ring_ways as f64),
            Metric::WaysNeeded => r.cache.l1.map(|l| l.ways_needed as f64),
            Metric::FreeWays => r.cache.l1.map(|l| l.free_ways as f64),
            Metric::OverflowingSets => r.cache.l1.map(|l| l.overflowing_sets as f64),
            Metric::RingLines => r.cache.l1.map(|l| l.ring_lines as f64),
            Metric::FreeLines => r.cache.l1.map(|l| l.free_lines as f64),
        }
    }
}
