//! Which sets and ways of a set-associative cache a list of memory areas occupies.
//!
//! The talk's power-of-2 myth: a 32 KB 8-way L1 has 64 sets of 64-byte lines, 4 KB per way, so
//! a 1024-entry descriptor table (16 KB) takes 4 ways of every set, and a TX plus an RX ring
//! fill all 8; a 768-entry ring leaves room. This module computes that from the areas (as
//! [`crate::layout::RingLayout::areas`] lists them) and the geometry; nothing is hard-coded.
//! It is a capacity picture of the modelled cache, assuming every line of the areas is
//! resident; it says nothing about which lines a real replacement policy would keep.

use std::fmt;

use serde::Serialize;

use super::{CacheError, DEFAULT_LINE_SIZE, line_shift};

/// The talk's L1: 32 KiB.
const DEFAULT_SIZE: u64 = 32 * 1024;
/// The talk's L1: 8 ways.
const DEFAULT_WAYS: u32 = 8;

/// Size, associativity and line size of one set-associative cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CacheGeometry {
    size: u64,
    ways: u32,
    line_size: u64,
}

impl Default for CacheGeometry {
    /// The talk's L1: 32 KiB, 8-way, 64-byte lines.
    fn default() -> Self {
        CacheGeometry {
            size: DEFAULT_SIZE,
            ways: DEFAULT_WAYS,
            line_size: DEFAULT_LINE_SIZE,
        }
    }
}

impl CacheGeometry {
    /// A cache of `size` bytes, `ways`-way associative, with `line_size`-byte lines. The size
    /// must be a whole, non-zero number of sets (the set count need not be a power of two).
    pub fn new(size: u64, ways: u32, line_size: u64) -> Result<Self, CacheError> {
        line_shift(line_size)?;
        let set_bytes = u64::from(ways).saturating_mul(line_size);
        if ways == 0 || size == 0 || !size.is_multiple_of(set_bytes) {
            return Err(CacheError::Geometry {
                size,
                ways,
                line_size,
            });
        }
        Ok(CacheGeometry {
            size,
            ways,
            line_size,
        })
    }

    /// Total bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Associativity.
    pub fn ways(&self) -> u32 {
        self.ways
    }
    /// Line size in bytes.
    pub fn line_size(&self) -> u64 {
        self.line_size
    }
    /// Number of sets: `size / (ways × line_size)`.
    pub fn sets(&self) -> u64 {
        self.size / (u64::from(self.ways) * self.line_size)
    }
    /// Bytes of one way (`size / ways`): the address stride at which lines collide in a set.
    pub fn way_bytes(&self) -> u64 {
        self.size / u64::from(self.ways)
    }
    /// The set an address maps to.
    pub fn set_of(&self, addr: u64) -> u64 {
        (addr / self.line_size) % self.sets()
    }

    /// The lines `[first, first + count)` an area of `len` bytes at `start` covers.
    fn lines(&self, start: u64, len: u64) -> (u64, u64) {
        if len == 0 {
            return (start / self.line_size, 0);
        }
        let first = start / self.line_size;
        let last = start.saturating_add(len - 1) / self.line_size;
        (first, last - first + 1)
    }

    /// How many of the lines `[first, first + count)` map to `set`: every full lap of the sets
    /// puts one line in each, and the remainder covers the sets just after `first`'s.
    fn lines_in_set(&self, (first, count): (u64, u64), set: u64) -> u64 {
        let sets = self.sets();
        let distance = (set + sets - first % sets) % sets;
        count / sets + u64::from(distance < count % sets)
    }

    /// Per set and per area, how many lines the areas put there, the ways that needs, and
    /// whether it fits. Areas are `(name, start, len)`; a line two areas share is counted once
    /// in the set totals.
    pub fn occupancy(&self, areas: &[(&str, u64, u64)]) -> Occupancy {
        let ranges: Vec<(u64, u64)> = areas
            .iter()
            .map(|&(_, start, len)| self.lines(start, len))
            .collect();
        let merged = merge(&ranges);
        let ways = u64::from(self.ways);
        let sets: Vec<SetOccupancy> = (0..self.sets())
            .map(|set| SetOccupancy {
                set,
                lines: ranges.iter().map(|&r| self.lines_in_set(r, set)).collect(),
                distinct: merged.iter().map(|&r| self.lines_in_set(r, set)).sum(),
            })
            .collect();
        let areas = areas
            .iter()
            .zip(&ranges)
            .enumerate()
            .map(|(i, (&(name, start, len), &(_, count)))| AreaOccupancy {
                name: name.to_string(),
                start,
                len,
                lines: count,
                ways: sets.iter().map(|s| s.lines[i]).max().unwrap_or(0),
                sets_touched: sets.iter().filter(|s| s.lines[i] > 0).count() as u64,
            })
            .collect();
        let ways_needed = sets.iter().map(|s| s.distinct).max().unwrap_or(0);
        Occupancy {
            geometry: *self,
            ways_needed,
            fits: ways_needed <= ways,
            free_ways: ways.saturating_sub(ways_needed),
            overflowing_sets: sets.iter().filter(|s| s.distinct > ways).count() as u64,
            areas,
            sets,
        }
    }
}

/// Merges line ranges `(first, count)` so that shared lines are counted once.
fn merge(ranges: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = ranges
        .iter()
        .filter(|r| r.1 > 0)
        .map(|&(first, count)| (first, first + count))
        .collect();
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (start, end) in v {
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out.into_iter().map(|(s, e)| (s, e - s)).collect()
}

/// One area's footprint in the cache (model result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AreaOccupancy {
    /// Area name.
    pub name: String,
    /// First byte.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// Lines it covers.
    pub lines: u64,
    /// Most lines it puts in any one set: the ways it needs on its own.
    pub ways: u64,
    /// Sets it puts at least one line in.
    pub sets_touched: u64,
}

/// One set's load (model result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetOccupancy {
    /// Set number.
    pub set: u64,
    /// Lines of each area mapping here, in the order the areas were given.
    pub lines: Vec<u64>,
    /// Distinct lines mapping here (a line two areas share counts once): the ways used.
    pub distinct: u64,
}

/// Where a list of areas lands in a set-associative cache (model result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Occupancy {
    /// The cache.
    pub geometry: CacheGeometry,
    /// Each area's footprint.
    pub areas: Vec<AreaOccupancy>,
    /// Each set's load.
    pub sets: Vec<SetOccupancy>,
    /// Most distinct lines in any set: the ways needed to keep every area resident.
    pub ways_needed: u64,
    /// Whether every set has room for all its lines.
    pub fits: bool,
    /// Ways left over in the fullest set (0 when it does not fit).
    pub free_ways: u64,
    /// Sets with more lines than ways.
    pub overflowing_sets: u64,
}

impl fmt::Display for Occupancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = &self.geometry;
        writeln!(
            f,
            "model: {} B {}-way cache, {} B lines: {} sets, {} B per way",
            g.size(),
            g.ways(),
            g.line_size(),
            g.sets(),
            g.way_bytes()
        )?;
        for a in &self.areas {
            writeln!(
                f,
                "model:   {:<14} {:#x}+{:<6} {} lines, up to {} ways, in {} sets",
                a.name, a.start, a.len, a.lines, a.ways, a.sets_touched
            )?;
        }
        writeln!(
            f,
            "model: needs {} of {} ways in the fullest set: {} ({} ways free, {} sets overflow)",
            self.ways_needed,
            g.ways(),
            if self.fits { "fits" } else { "does not fit" },
            self.free_ways,
            self.overflowing_sets
        )
    }
}
