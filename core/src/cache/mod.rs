//! A cache-line model of the access stream: who moves which line to whom, and why.
//!
//! The talk's performance argument for the packed ring is a count of cache lines that move
//! between the driver's and the device's CPU (reference §3.5). This module replays the engine's
//! [`Access`] log against a two-agent model of private caches and counts those moves, and it
//! attributes every move to the field that caused it, the way `perf c2c` does, so a UI can show
//! *which* field of *which* line costs what. It knows nothing about rings: it sees addresses,
//! sizes and field names only.
//!
//! **Everything here is a model result, not a measurement.** The rules:
//!
//! - Only [`Space::Guest`] accesses are modelled; transport registers are not cached memory.
//! - A line has a history: its last writer and the set of agents holding a valid copy since that
//!   write. Each agent's MESI state is derived from it (see [`Mesi`]).
//! - A **transfer** is counted when an agent touches a line last written by the other agent and
//!   does not hold a copy of that write yet: the data must come out of the other side's cache.
//!   A load doing so is a *load hit-modified* ([`AgentCounts::load_hitm`], c2c's HITM); a store
//!   doing so is a *store invalidation* ([`AgentCounts::store_invalidate`]): the writer takes the
//!   modified line from the other cache and invalidates it there (a read-for-ownership). This is
//!   reference §3.5's "read by the other, or written when the other side holds it".
//! - An **invalidation** is counted when an agent stores to a line the other agent holds a clean
//!   copy of (both hold it Shared, or only the other holds it): the writer's cache sends the
//!   other an invalidation, a coherence message, and no data moves
//!   ([`AgentCounts::invalidations`], [`Totals::invalidations`]). Invalidations are counted
//!   apart from transfers and not costed. The talk's "cache misses" are transfers: a miss is a
//!   line the reader or writer must fetch and wait for, while an invalidation is acknowledged
//!   behind the writer's store buffer and never stalls a load. In a ping-pong every line a side
//!   fetched is invalidated once before the other side fetches it back, so invalidations track
//!   transfers one for one (split: about 5 of each per buffer, packed: 2); counting both as
//!   misses would give 10 and 4, twice the talk's figures. `docs/model-vs-talk.md` lists both.
//! - First touches are not transfers: a line nobody has written yet comes from memory, which
//!   costs the same in every layout and vanishes in steady state.
//! - An access touches every line it covers (a straddling field touches two, a payload of many
//!   KB touches all of its lines). A zero-length access touches nothing.
//!
//! Costs under two topologies (separate caches vs one shared cache) are in [`cost`], and the
//! set-associative capacity view (which sets and ways a ring occupies) is in [`geometry`].

pub mod cost;
pub mod geometry;

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use serde::Serialize;
use thiserror::Error;

use crate::memory::{Access, AccessKind, Agent, Field, Space};

pub use cost::{CostModel, Topology, TopologyCost};
pub use geometry::{AreaOccupancy, CacheGeometry, Occupancy, SetOccupancy};

/// The line size of every x86 and most Arm cores, and the one the talk's numbers assume.
pub const DEFAULT_LINE_SIZE: u64 = 64;
/// Smallest line size accepted: below this a line holds less than one descriptor member.
pub const MIN_LINE_SIZE: u64 = 8;
/// Largest line size accepted: beyond any real cache, and keeps in-line offsets small.
pub const MAX_LINE_SIZE: u64 = 4096;

/// Why a cache model or geometry cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CacheError {
    /// The line size is not a power of two in the accepted range.
    #[error(
        "line size {0} must be a power of two between {MIN_LINE_SIZE} and {MAX_LINE_SIZE} bytes"
    )]
    LineSize(u64),
    /// The cache cannot be divided into whole sets of `ways` lines.
    #[error("a {size}-byte cache cannot be split into {ways} ways of {line_size}-byte lines")]
    Geometry {
        /// Cache size in bytes.
        size: u64,
        /// Associativity.
        ways: u32,
        /// Line size in bytes.
        line_size: u64,
    },
}

/// Checks a line size and returns its log2, the shift from an address to its line number.
fn line_shift(line_size: u64) -> Result<u32, CacheError> {
    if line_size.is_power_of_two() && (MIN_LINE_SIZE..=MAX_LINE_SIZE).contains(&line_size) {
        Ok(line_size.trailing_zeros())
    } else {
        Err(CacheError::LineSize(line_size))
    }
}

/// One agent's MESI state for a line, derived from the line's history.
///
/// With two agents and no evictions the history determines it: a line's only holder is
/// Modified if it wrote the line last and Exclusive if nobody wrote it; two holders share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Mesi {
    /// Only this agent holds the line, and it holds the latest write.
    Modified,
    /// Only this agent holds the line, clean (nobody has written it).
    Exclusive,
    /// Both agents hold a clean copy.
    Shared,
    /// This agent holds no valid copy: its next access misses.
    Invalid,
}

impl fmt::Display for Mesi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mesi::Modified => "M",
            Mesi::Exclusive => "E",
            Mesi::Shared => "S",
            Mesi::Invalid => "I",
        })
    }
}

/// Model counters for one agent, at one of three levels: a field of a line, a line, or all
/// lines. Loads and stores count line touches (an access covering three lines counts three).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AgentCounts {
    /// Loads that touched the line(s).
    pub loads: u64,
    /// Stores that touched the line(s).
    pub stores: u64,
    /// Loads that had to fetch a line the other agent had modified (c2c's HITM): transfers.
    pub load_hitm: u64,
    /// Stores that had to take a line the other agent had modified (a read-for-ownership that
    /// fetches the data and invalidates the other copy): transfers.
    pub store_invalidate: u64,
    /// Stores to a line the other agent held a clean copy of: an invalidation message, no
    /// data moved, so not a transfer.
    pub invalidations: u64,
}

impl AgentCounts {
    /// Lines moved into this agent's cache from the other's.
    pub fn transfers(&self) -> u64 {
        self.load_hitm + self.store_invalidate
    }

    fn record(&mut self, kind: AccessKind, touch: Touch) {
        match kind {
            AccessKind::Load => self.loads += 1,
            AccessKind::Store => self.stores += 1,
        }
        match touch {
            Touch::Hit => {}
            Touch::LoadHitm => self.load_hitm += 1,
            Touch::StoreInvalidate => self.store_invalidate += 1,
            Touch::Invalidate => self.invalidations += 1,
        }
    }

    fn add(&mut self, o: &AgentCounts) {
        self.loads += o.loads;
        self.stores += o.stores;
        self.load_hitm += o.load_hitm;
        self.store_invalidate += o.store_invalidate;
        self.invalidations += o.invalidations;
    }
}

/// What one touch of one line did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Touch {
    Hit,
    LoadHitm,
    StoreInvalidate,
    Invalidate,
}

/// Index of an agent in per-agent arrays.
fn slot(a: Agent) -> usize {
    match a {
        Agent::Driver => 0,
        Agent::Device => 1,
    }
}

/// Counters for a `[driver, device]` pair.
type PerAgent = [AgentCounts; 2];

/// Counters of one field at one offset inside one line.
#[derive(Debug, Clone, PartialEq)]
struct FieldRow {
    offset: u32,
    field: Field,
    counts: PerAgent,
}

/// Whether `b` is counted on the row of `a`. Payload and indirect-table memory is reused by
/// later buffers under other IDs; keying rows by ID would grow a line's rows without bound, so
/// such rows are keyed by offset (and table entry) and named after the latest buffer.
fn same_row(a: Field, b: Field) -> bool {
    match (a, b) {
        (Field::Payload { .. }, Field::Payload { .. }) => true,
        (
            Field::Indirect {
                index: i, part: p, ..
            },
            Field::Indirect {
                index: j, part: q, ..
            },
        ) => i == j && p == q,
        _ => a == b,
    }
}

/// One cache line's history and counters.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    number: u64,
    last_writer: Option<Agent>,
    /// Bit `slot(agent)` set: the agent holds a valid copy.
    holders: u8,
    counts: PerAgent,
    rows: Vec<FieldRow>,
}

impl Line {
    fn new(number: u64) -> Self {
        Line {
            number,
            last_writer: None,
            holders: 0,
            counts: PerAgent::default(),
            rows: Vec::new(),
        }
    }

    /// Applies one touch to the history and says what it cost.
    fn touch(&mut self, me: Agent, kind: AccessKind) -> Touch {
        let mine = 1u8 << slot(me);
        let theirs = 1u8 << slot(me.other());
        let moved = self.last_writer == Some(me.other()) && self.holders & mine == 0;
        match kind {
            AccessKind::Load => {
                self.holders |= mine;
                if moved { Touch::LoadHitm } else { Touch::Hit }
            }
            AccessKind::Store => {
                let t = if moved {
                    Touch::StoreInvalidate
                } else if self.holders & theirs != 0 {
                    Touch::Invalidate
                } else {
                    Touch::Hit
                };
                self.holders = mine;
                self.last_writer = Some(me);
                t
            }
        }
    }

    fn state(&self, a: Agent) -> Mesi {
        let mine = 1u8 << slot(a);
        if self.holders & mine == 0 {
            Mesi::Invalid
        } else if self.holders != mine {
            Mesi::Shared
        } else if self.last_writer == Some(a) {
            Mesi::Modified
        } else {
            Mesi::Exclusive
        }
    }

    fn row(&mut self, offset: u32, field: Field) -> &mut FieldRow {
        // Search from the end: the fields touched last are the likeliest to be touched next.
        match self
            .rows
            .iter()
            .rposition(|r| r.offset == offset && same_row(r.field, field))
        {
            Some(i) => &mut self.rows[i],
            None => {
                self.rows.push(FieldRow {
                    offset,
                    field,
                    counts: PerAgent::default(),
                });
                let last = self.rows.len() - 1;
                &mut self.rows[last]
            }
        }
    }
}

/// A multiplicative hash for line numbers: the std SipHash costs more than the rest of a touch.
#[derive(Debug, Clone, Copy, Default)]
struct LineHasher(u64);

impl Hasher for LineHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        // FxHash's step: the odd constant spreads sequential line numbers over all bits.
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Model totals over all lines, so a caller can divide by buffers for "misses per buffer".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Guest-memory accesses observed.
    pub accesses: u64,
    /// Transport-register accesses skipped (not cached memory).
    pub ignored: u64,
    /// The driver's counters summed over all lines.
    pub driver: AgentCounts,
    /// The device's counters summed over all lines.
    pub device: AgentCounts,
}

impl Totals {
    /// All transfers, both directions.
    pub fn transfers(&self) -> u64 {
        self.driver.transfers() + self.device.transfers()
    }
    /// Lines moved from the driver's cache into the device's (the device's misses).
    pub fn driver_to_device(&self) -> u64 {
        self.device.transfers()
    }
    /// Lines moved from the device's cache into the driver's (the driver's misses).
    pub fn device_to_driver(&self) -> u64 {
        self.driver.transfers()
    }
    /// Invalidation messages, both directions: stores to lines the other side held clean.
    pub fn invalidations(&self) -> u64 {
        self.driver.invalidations + self.device.invalidations
    }
    /// Line touches (every load and store of every line), the base of the cost estimate.
    pub fn touches(&self) -> u64 {
        self.driver.loads + self.driver.stores + self.device.loads + self.device.stores
    }
}

/// The two-agent cache-line model. Feed it every access with [`CacheModel::observe`].
///
/// `Clone` so sessions can checkpoint it with the engine; `PartialEq` so replays can be
/// compared. All counts it reports are model results.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheModel {
    shift: u32,
    lines: Vec<Line>,
    index: HashMap<u64, usize, BuildHasherDefault<LineHasher>>,
    totals: Totals,
}

impl Default for CacheModel {
    fn default() -> Self {
        CacheModel {
            shift: DEFAULT_LINE_SIZE.trailing_zeros(),
            lines: Vec::new(),
            index: HashMap::default(),
            totals: Totals::default(),
        }
    }
}

impl CacheModel {
    /// An empty model with `line_size`-byte lines (a power of two, 8 to 4096).
    pub fn new(line_size: u64) -> Result<Self, CacheError> {
        Ok(CacheModel {
            shift: line_shift(line_size)?,
            ..CacheModel::default()
        })
    }

    /// Line size in bytes.
    pub fn line_size(&self) -> u64 {
        1 << self.shift
    }

    /// Applies one access and returns how many transfers it caused (0 for transport accesses).
    pub fn observe(&mut self, a: &Access) -> u32 {
        if a.space != Space::Guest {
            self.totals.ignored += 1;
            return 0;
        }
        self.totals.accesses += 1;
        if a.size == 0 {
            return 0;
        }
        let first = a.addr >> self.shift;
        let last = a.addr.saturating_add(u64::from(a.size) - 1) >> self.shift;
        let mask = self.line_size() - 1;
        let who = slot(a.agent);
        let mut moved = 0;
        for number in first..=last {
            let i = *self.index.entry(number).or_insert_with(|| {
                self.lines.push(Line::new(number));
                self.lines.len() - 1
            });
            let line = &mut self.lines[i];
            let touch = line.touch(a.agent, a.kind);
            // An offset inside a line is below MAX_LINE_SIZE, so it fits in a u32.
            let offset = if number == first {
                (a.addr & mask) as u32
            } else {
                0
            };
            let row = line.row(offset, a.field);
            row.field = a.field;
            row.counts[who].record(a.kind, touch);
            line.counts[who].record(a.kind, touch);
            let total = match a.agent {
                Agent::Driver => &mut self.totals.driver,
                Agent::Device => &mut self.totals.device,
            };
            total.record(a.kind, touch);
            moved += u32::from(matches!(touch, Touch::LoadHitm | Touch::StoreInvalidate));
        }
        moved
    }

    /// Applies a whole log in order and returns the transfers it caused.
    pub fn observe_all<'a>(&mut self, log: impl IntoIterator<Item = &'a Access>) -> u64 {
        log.into_iter().map(|a| u64::from(self.observe(a))).sum()
    }

    /// Totals so far.
    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    fn line_at(&self, addr: u64) -> Option<&Line> {
        self.index
            .get(&(addr >> self.shift))
            .and_then(|&i| self.lines.get(i))
    }

    /// `[driver, device]` MESI state of the line holding `addr` (both Invalid if never touched).
    pub fn state(&self, addr: u64) -> [Mesi; 2] {
        self.line_at(addr).map_or([Mesi::Invalid; 2], |l| {
            [l.state(Agent::Driver), l.state(Agent::Device)]
        })
    }

    fn summary(&self, l: &Line) -> LineSummary {
        let [driver, device] = l.counts;
        LineSummary {
            addr: l.number << self.shift,
            transfers: driver.transfers() + device.transfers(),
            load_hitm: driver.load_hitm + device.load_hitm,
            store_invalidate: driver.store_invalidate + device.store_invalidate,
            invalidations: driver.invalidations + device.invalidations,
            driver_state: l.state(Agent::Driver),
            device_state: l.state(Agent::Device),
            last_writer: l.last_writer,
            driver,
            device,
        }
    }

    /// Drill-down into the line holding `addr`: per offset and field, who loaded and stored it
    /// how often and which transfers it caused. `None` if the line was never touched.
    pub fn line(&self, addr: u64) -> Option<LineReport> {
        let l = self.line_at(addr)?;
        let mut fields: Vec<FieldReport> = l
            .rows
            .iter()
            .map(|r| {
                let [driver, device] = r.counts;
                FieldReport {
                    offset: r.offset,
                    name: r.field.to_string(),
                    field: r.field,
                    transfers: driver.transfers() + device.transfers(),
                    driver,
                    device,
                }
            })
            .collect();
        fields.sort_by(|a, b| a.offset.cmp(&b.offset).then_with(|| a.name.cmp(&b.name)));
        Some(LineReport {
            summary: self.summary(l),
            fields,
        })
    }

    /// The `limit` lines with the most transfers, most first (ties by address): c2c's "Shared
    /// Data Cache Line Table". Lines without transfers are left out.
    pub fn ranked_lines(&self, limit: usize) -> Vec<LineSummary> {
        let mut v: Vec<LineSummary> = self
            .lines
            .iter()
            .map(|l| self.summary(l))
            .filter(|s| s.transfers > 0)
            .collect();
        v.sort_by(|a, b| b.transfers.cmp(&a.transfers).then(a.addr.cmp(&b.addr)));
        v.truncate(limit);
        v
    }

    /// Counters summed per field class (`desc.flags`, `avail.ring`, `used.idx`, `buffer.data`:
    /// the field's name without indices), most transfers first.
    pub fn by_class(&self) -> Vec<ClassTotals> {
        let mut map: HashMap<String, PerAgent> = HashMap::new();
        for r in self.lines.iter().flat_map(|l| &l.rows) {
            let e = map.entry(class_name(&r.field.to_string())).or_default();
            e[0].add(&r.counts[0]);
            e[1].add(&r.counts[1]);
        }
        let mut v: Vec<ClassTotals> = map
            .into_iter()
            .map(|(class, [driver, device])| ClassTotals {
                class,
                transfers: driver.transfers() + device.transfers(),
                driver,
                device,
            })
            .collect();
        v.sort_by(|a, b| {
            b.transfers
                .cmp(&a.transfers)
                .then_with(|| a.class.cmp(&b.class))
        });
        v
    }

    /// Everything at once, for the CLI's JSON and text output: totals, the cost under each
    /// topology, per-class totals and the `limit` hottest lines.
    pub fn report(&self, limit: usize, costs: &CostModel) -> CacheReport {
        let t = self.totals;
        CacheReport {
            note: MODEL_NOTE,
            line_size: self.line_size(),
            transfers: t.transfers(),
            driver_to_device: t.driver_to_device(),
            device_to_driver: t.device_to_driver(),
            invalidations: t.invalidations(),
            totals: t,
            costs: costs.estimate(&t).to_vec(),
            classes: self.by_class(),
            lines: self.ranked_lines(limit),
        }
    }
}

/// A field's class: its display name with every `[index]` removed, so `desc[3].flags` and
/// `desc[7].flags` add up under `desc.flags`. Derived from `Field`'s Display so the names stay
/// the ones the rest of ringside shows.
fn class_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0u32;
    for c in name.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Said with every report: these numbers come from the model, not from hardware.
pub const MODEL_NOTE: &str =
    "model: two-agent cache-line model (ringside reference §3.5), not a hardware measurement";

/// One line in the ranked table (model results).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineSummary {
    /// Address of the line's first byte.
    pub addr: u64,
    /// Transfers into either cache.
    pub transfers: u64,
    /// Of which loads of a modified line.
    pub load_hitm: u64,
    /// Of which stores taking a modified line.
    pub store_invalidate: u64,
    /// Invalidations (stores to a line the other side held clean): not transfers.
    pub invalidations: u64,
    /// The driver's MESI state now.
    pub driver_state: Mesi,
    /// The device's MESI state now.
    pub device_state: Mesi,
    /// Who wrote the line last.
    pub last_writer: Option<Agent>,
    /// The driver's counters on this line.
    pub driver: AgentCounts,
    /// The device's counters on this line.
    pub device: AgentCounts,
}

/// One field at one offset of a line (model results).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldReport {
    /// Byte offset inside the line where the field's accesses start.
    pub offset: u32,
    /// The field's display name (for reused buffer memory: the latest buffer).
    pub name: String,
    /// The field.
    pub field: Field,
    /// Transfers this field's accesses caused.
    pub transfers: u64,
    /// The driver's counters on this field.
    pub driver: AgentCounts,
    /// The device's counters on this field.
    pub device: AgentCounts,
}

/// Drill-down into one line: c2c's per-line, per-offset view (model results).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineReport {
    /// The line's totals and state.
    pub summary: LineSummary,
    /// Its fields by offset.
    pub fields: Vec<FieldReport>,
}

/// Counters summed over every field of one class (model results).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassTotals {
    /// Class name, e.g. `desc.flags`.
    pub class: String,
    /// Transfers caused by accesses to fields of this class.
    pub transfers: u64,
    /// The driver's counters.
    pub driver: AgentCounts,
    /// The device's counters.
    pub device: AgentCounts,
}

/// The whole model report (model results).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CacheReport {
    /// [`MODEL_NOTE`].
    pub note: &'static str,
    /// Line size in bytes.
    pub line_size: u64,
    /// All transfers.
    pub transfers: u64,
    /// Lines moved driver → device.
    pub driver_to_device: u64,
    /// Lines moved device → driver.
    pub device_to_driver: u64,
    /// Invalidation messages (not transfers).
    pub invalidations: u64,
    /// Raw totals.
    pub totals: Totals,
    /// Estimated cost under each topology.
    pub costs: Vec<TopologyCost>,
    /// Totals per field class.
    pub classes: Vec<ClassTotals>,
    /// The hottest lines.
    pub lines: Vec<LineSummary>,
}

fn counts_cell(c: &AgentCounts) -> String {
    format!(
        "{}L/{}S hitm {} store-hitm {} inval {}",
        c.loads, c.stores, c.load_hitm, c.store_invalidate, c.invalidations
    )
}

impl fmt::Display for LineSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "model: line {:#x} transfers {} (hitm {}, store-hitm {}) invalidations {} state drv {} dev {} | driver {} | device {}",
            self.addr,
            self.transfers,
            self.load_hitm,
            self.store_invalidate,
            self.invalidations,
            self.driver_state,
            self.device_state,
            counts_cell(&self.driver),
            counts_cell(&self.device),
        )
    }
}

impl fmt::Display for LineReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.summary)?;
        for r in &self.fields {
            writeln!(
                f,
                "model:   +{:<4} {:<24} transfers {:<6} driver {} | device {}",
                r.offset,
                r.name,
                r.transfers,
                counts_cell(&r.driver),
                counts_cell(&r.device),
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for CacheReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.note)?;
        writeln!(
            f,
            "model: {} accesses, {} transfers ({} driver→device, {} device→driver), {} invalidations, {}-byte lines",
            self.totals.accesses,
            self.transfers,
            self.driver_to_device,
            self.device_to_driver,
            self.invalidations,
            self.line_size
        )?;
        for c in &self.costs {
            writeln!(f, "{c}")?;
        }
        for c in &self.classes {
            writeln!(
                f,
                "model: class {:<22} transfers {:<6} driver {} | device {}",
                c.class,
                c.transfers,
                counts_cell(&c.driver),
                counts_cell(&c.device)
            )?;
        }
        for l in &self.lines {
            writeln!(f, "{l}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
