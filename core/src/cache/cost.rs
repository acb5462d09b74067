//! What the counted transfers would cost under two cache topologies.
//!
//! The talk found that cache synchronisation dominates when the driver's and the device's
//! threads run on cores with separate caches, and that split and packed perform similarly when
//! both threads share a cache. The model counts transfers once ([`super::Totals`]) and prices
//! them under both topologies, so one run shows both. **The cycle constants are model
//! assumptions, not measurements**; they are plain fields so a user can put in their own CPU's
//! numbers.

use std::fmt;

use serde::Serialize;

use super::Totals;

/// Model assumption: cycles of a load or store that hits the agent's own L1 (4 to 5 cycles on
/// current x86 and Arm cores).
pub const L1_HIT_CYCLES: u64 = 4;
/// Model assumption: cycles of a cross-core cache-to-cache transfer (a HITM or a read for
/// ownership snooped out of the other core's private cache): about 30 ns at 3.3 GHz, within
/// the tens of nanoseconds usually reported for same-socket core-to-core transfers.
pub const CROSS_CORE_TRANSFER_CYCLES: u64 = 100;
/// Model assumption: cycles of a "transfer" when both CPUs share the cache level that holds the
/// line (hyperthreads, or cores on one L2): the other side's write is found there, an L2-class
/// hit (about 14 cycles on Skylake).
pub const SHARED_CACHE_TRANSFER_CYCLES: u64 = 14;

/// Where the driver's and the device's CPUs meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Topology {
    /// Private caches: every transfer is a cross-core cache-to-cache move.
    Separate,
    /// One shared cache level: a transfer is a hit in that level, cheap.
    Shared,
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Topology::Separate => "separate caches",
            Topology::Shared => "shared cache",
        })
    }
}

/// Per-event cycle costs (model assumptions; defaults are the constants of this module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CostModel {
    /// Cycles of a line touch that needs no transfer.
    pub l1_hit_cycles: u64,
    /// Cycles of a transfer between separate caches.
    pub cross_core_transfer_cycles: u64,
    /// Cycles of a transfer through a shared cache.
    pub shared_cache_transfer_cycles: u64,
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel {
            l1_hit_cycles: L1_HIT_CYCLES,
            cross_core_transfer_cycles: CROSS_CORE_TRANSFER_CYCLES,
            shared_cache_transfer_cycles: SHARED_CACHE_TRANSFER_CYCLES,
        }
    }
}

/// The estimated memory-access cost of a run under one topology (a model result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TopologyCost {
    /// The topology.
    pub topology: Topology,
    /// Cycles charged per transfer under it.
    pub transfer_cycles: u64,
    /// Transfers counted.
    pub transfers: u64,
    /// Line touches that needed no transfer, charged as L1 hits.
    pub hits: u64,
    /// `hits × l1_hit_cycles + transfers × transfer_cycles`.
    pub cycles: u64,
}

impl CostModel {
    /// Cycles per transfer under `t`.
    pub fn transfer_cycles(&self, t: Topology) -> u64 {
        match t {
            Topology::Separate => self.cross_core_transfer_cycles,
            Topology::Shared => self.shared_cache_transfer_cycles,
        }
    }

    /// Prices the same totals under both topologies: every line touch is a hit except the
    /// transfers, which cost the topology's transfer price. Upgrades are not priced (see the
    /// module rules in [`super`]).
    pub fn estimate(&self, t: &Totals) -> [TopologyCost; 2] {
        let transfers = t.transfers();
        let hits = t.touches().saturating_sub(transfers);
        [Topology::Separate, Topology::Shared].map(|topology| {
            let transfer_cycles = self.transfer_cycles(topology);
            TopologyCost {
                topology,
                transfer_cycles,
                transfers,
                hits,
                cycles: hits
                    .saturating_mul(self.l1_hit_cycles)
                    .saturating_add(transfers.saturating_mul(transfer_cycles)),
            }
        })
    }
}

impl fmt::Display for TopologyCost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "model: {}: {} cycles ({} transfers × {} + {} hits)",
            self.topology, self.cycles, self.transfers, self.transfer_cycles, self.hits
        )
    }
}
