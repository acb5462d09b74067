//! A scenario's cache topology and what the cache model makes of its run: transfers (the
//! talk's "cache misses") per buffer, in total and per field class, their cost under the
//! chosen topology, and where the rings sit in the L1's sets and ways.
//!
//! Every number here is computed by [`crate::cache`] from the run's access log and the rings'
//! layouts; this module only maps the scenario's settings onto the model and divides by the
//! buffers the run completed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cache::{CacheError, CacheGeometry, CacheModel, CostModel, MODEL_NOTE, Topology};
use crate::layout::{LayoutError, PackedLayout, RingKind, RingLayout, SplitLayout};
use crate::memory::Access;

/// Where the driver's and the device's CPUs meet (maps onto [`Topology`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CpuTopology {
    /// Separate private caches: every transfer is a cross-core move.
    #[default]
    Separate,
    /// One shared cache (hyperthreads, a shared L2): transfers are cheap.
    Shared,
}

impl From<CpuTopology> for Topology {
    fn from(t: CpuTopology) -> Topology {
        match t {
            CpuTopology::Separate => Topology::Separate,
            CpuTopology::Shared => Topology::Shared,
        }
    }
}

/// Another ring resident in the same L1 (the RX ring beside a TX ring), for the set/way view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidentRing {
    /// Its layout.
    pub layout: RingKind,
    /// Its size.
    pub size: u32,
    /// Where it starts.
    pub base: u64,
}

fn default_line_size() -> u64 {
    CacheGeometry::default().line_size()
}
fn default_l1_size() -> u64 {
    CacheGeometry::default().size()
}
fn default_l1_ways() -> u32 {
    CacheGeometry::default().ways()
}

/// The cache topology a scenario runs under. Every field has a default: the talk's machine
/// (64-byte lines, separate caches, a 32 KiB 8-way L1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    /// Cache line size in bytes.
    #[serde(default = "default_line_size")]
    pub line_size: u64,
    /// Separate or shared caches (prices the transfers).
    #[serde(default)]
    pub topology: CpuTopology,
    /// L1 size in bytes, for the set/way view.
    #[serde(default = "default_l1_size")]
    pub l1_size: u64,
    /// L1 associativity.
    #[serde(default = "default_l1_ways")]
    pub l1_ways: u32,
    /// Other rings sharing the L1.
    #[serde(default)]
    pub also_resident: Vec<ResidentRing>,
}

impl Default for CacheSpec {
    fn default() -> Self {
        CacheSpec {
            line_size: default_line_size(),
            topology: CpuTopology::default(),
            l1_size: default_l1_size(),
            l1_ways: default_l1_ways(),
            also_resident: Vec::new(),
        }
    }
}

/// The cache settings cannot be modelled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheSpecError {
    /// Bad line size or L1 geometry.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// A resident ring that cannot exist.
    #[error("also_resident: {0}")]
    Layout(#[from] LayoutError),
}

/// Where the rings sit in the L1 (model result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct L1Summary {
    /// L1 bytes.
    pub size: u64,
    /// L1 ways.
    pub ways: u32,
    /// L1 sets.
    pub sets: u64,
    /// Ways the scenario ring's descriptor area needs on its own.
    pub desc_ways: u64,
    /// Ways the scenario ring (all its areas) needs on its own.
    pub ring_ways: u64,
    /// Ways every ring together (with `also_resident`) needs in the fullest set.
    pub ways_needed: u64,
    /// Ways left for other data in the fullest set.
    pub free_ways: u64,
    /// Sets with more ring lines than ways.
    pub overflowing_sets: u64,
    /// Lines all resident rings cover.
    pub ring_lines: u64,
    /// L1 lines left for other data when every ring line is resident (0 when they do not
    /// all fit).
    pub free_lines: u64,
}

impl std::fmt::Display for L1Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} KiB {}-way, {} sets: descriptors take {} way(s), the ring {}; all rings need {} in the fullest set, {} free lines, {} set(s) overflow",
            self.size / 1024,
            self.ways,
            self.sets,
            self.desc_ways,
            self.ring_ways,
            self.ways_needed,
            self.free_lines,
            self.overflowing_sets
        )
    }
}

/// Where the rings sit in the L1, set by set: the picture behind [`L1Summary`] (model
/// result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct L1Picture {
    /// The numbers, in words: the same line `ringside run` prints.
    pub summary: String,
    /// Ways per set.
    pub ways: u32,
    /// Per set: lines of the scenario's ring, and lines of the other resident rings.
    pub sets: Vec<(u64, u64)>,
    /// How to read the drawing, in words.
    pub key: String,
}

/// What the cache model says about a run (model results).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CacheSummary {
    /// Says these are model numbers.
    pub note: &'static str,
    /// Line size.
    pub line_size: u64,
    /// The topology the cost is given for.
    pub topology: CpuTopology,
    /// Line transfers between the two sides: the talk's cache misses.
    pub misses: u64,
    /// Of which driver -> device.
    pub driver_to_device: u64,
    /// Of which device -> driver.
    pub device_to_driver: u64,
    /// Misses per completed buffer.
    pub misses_per_buffer: Option<f64>,
    /// Invalidation messages: stores to a line the other side held clean. Not misses (no data
    /// moves, the writer does not wait), counted apart.
    pub invalidations: u64,
    /// Invalidations per completed buffer.
    pub invalidations_per_buffer: Option<f64>,
    /// Misses per completed buffer by field class (`desc.flags`, `avail.idx`, ...), only the
    /// classes that caused any.
    pub per_field: BTreeMap<String, f64>,
    /// Modelled memory cycles per buffer under `topology`.
    pub cycles_per_buffer: Option<f64>,
    /// The same under the other topology, for comparison.
    pub other_topology_cycles_per_buffer: Option<f64>,
    /// The L1 picture; `None` when no ring was set up.
    pub l1: Option<L1Summary>,
}

impl CacheSpec {
    /// Runs the model over `log` for a run that completed `buffers` buffers on `ring`.
    pub fn summarise(
        &self,
        log: &[Access],
        buffers: u64,
        ring: Option<RingLayout>,
    ) -> Result<CacheSummary, CacheSpecError> {
        let mut model = CacheModel::new(self.line_size)?;
        model.observe_all(log);
        let totals = *model.totals();
        let per = |n: f64| (buffers > 0).then(|| n / buffers as f64);
        let mut per_field = BTreeMap::new();
        for c in model.by_class().into_iter().filter(|c| c.transfers > 0) {
            if let Some(v) = per(c.transfers as f64) {
                per_field.insert(c.class, v);
            }
        }
        let costs = CostModel::default().estimate(&totals);
        let want: Topology = self.topology.into();
        let cycles = |mine: bool| {
            costs
                .iter()
                .find(|c| (c.topology == want) == mine)
                .and_then(|c| per(c.cycles as f64))
        };
        let l1 = ring.map(|r| self.l1(r)).transpose()?;
        Ok(CacheSummary {
            note: MODEL_NOTE,
            line_size: self.line_size,
            topology: self.topology,
            misses: totals.transfers(),
            driver_to_device: totals.driver_to_device(),
            device_to_driver: totals.device_to_driver(),
            misses_per_buffer: per(totals.transfers() as f64),
            invalidations: totals.invalidations(),
            invalidations_per_buffer: per(totals.invalidations() as f64),
            per_field,
            cycles_per_buffer: cycles(true),
            other_topology_cycles_per_buffer: cycles(false),
            l1,
        })
    }

    /// Checks that every setting can be modelled: the line size, the L1 geometry, the
    /// resident rings.
    pub fn validate(&self) -> Result<(), CacheSpecError> {
        CacheModel::new(self.line_size)?;
        self.geometry()?;
        self.resident_areas()?;
        Ok(())
    }

    fn geometry(&self) -> Result<CacheGeometry, CacheError> {
        CacheGeometry::new(self.l1_size, self.l1_ways, self.line_size)
    }

    fn resident_areas(&self) -> Result<Vec<(&'static str, u64, u64)>, LayoutError> {
        let mut out = Vec::new();
        for r in &self.also_resident {
            let l = match r.layout {
                RingKind::Split => RingLayout::Split(SplitLayout::contiguous(r.size, r.base)?),
                RingKind::Packed => RingLayout::Packed(PackedLayout::contiguous(r.size, r.base)?),
            };
            out.extend(l.areas());
        }
        Ok(out)
    }

    /// The L1 set by set: how many lines of the ring and of the other resident rings each set
    /// holds, with the summary in words.
    pub fn l1_picture(&self, ring: RingLayout) -> Result<L1Picture, CacheSpecError> {
        let g = self.geometry()?;
        let own = g.occupancy(&ring.areas());
        let mut all = ring.areas();
        all.extend(self.resident_areas()?);
        let together = g.occupancy(&all);
        Ok(L1Picture {
            summary: self.l1(ring)?.to_string(),
            ways: g.ways(),
            sets: own
                .sets
                .iter()
                .zip(&together.sets)
                .map(|(o, t)| (o.distinct, t.distinct - o.distinct))
                .collect(),
            key: format!(
                "a column per set, set 0 on the left; a cell per line held, from the bottom: \
                 this ring's, then the other rings'; above the line, past the {} ways, a set \
                 overflows and evicts",
                g.ways()
            ),
        })
    }

    /// The L1 numbers for a run on `ring`.
    pub fn l1(&self, ring: RingLayout) -> Result<L1Summary, CacheSpecError> {
        let g = self.geometry()?;
        let own = ring.areas();
        let alone = g.occupancy(&own);
        let mut all = own.clone();
        all.extend(self.resident_areas()?);
        let together = g.occupancy(&all);
        let ring_lines = together.sets.iter().map(|s| s.distinct).sum();
        let desc_ways = alone
            .areas
            .iter()
            .find(|a| a.name == "desc")
            .map_or(0, |a| a.ways);
        Ok(L1Summary {
            size: g.size(),
            ways: g.ways(),
            sets: g.sets(),
            desc_ways,
            ring_ways: alone.ways_needed,
            ways_needed: together.ways_needed,
            free_ways: together.free_ways,
            overflowing_sets: together.overflowing_sets,
            ring_lines,
            free_lines: (g.sets() * u64::from(g.ways())).saturating_sub(ring_lines),
        })
    }
}
