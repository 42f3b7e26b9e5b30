//! `show memory`: the bytes each RIB structure allocates, summed over the
//! shards and workers, per path where that is the unit (BIRD's `show
//! memory` gives the same split: routing tables, route attributes), and
//! the allocator's own totals, which include what no table counts
//! (fragmentation, message buffers, session state).
//!
//! Table figures are the structures' own `heap_bytes` estimates: the
//! allocation sizes of their vectors and hash tables, not the allocator's
//! per-allocation overhead.

use std::ops::AddAssign;

use serde::Serialize;

/// What one shard holds. Shapes: counts are prefixes, paths, groups or
/// sets as named; `*_bytes` are bytes.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct ShardMemory {
    /// Prefixes with at least one path after import policy.
    pub(crate) prefixes: usize,
    /// Paths after import policy (the Adj-RIB-In the decision runs on).
    pub(crate) paths: usize,
    /// The post-policy Adj-RIB-In with the Loc-RIB (the selected path is
    /// the first of each prefix's paths, so the Loc-RIB costs nothing
    /// more).
    pub(crate) loc_rib_bytes: usize,
    /// Paths kept before import policy (peers with an import filter).
    pub(crate) pre_policy_paths: usize,
    /// The pre-policy Adj-RIB-In.
    pub(crate) pre_policy_bytes: usize,
    /// Update groups.
    pub(crate) groups: usize,
    /// Adj-RIB-Out entries, summed over the groups.
    pub(crate) adj_out_entries: usize,
    /// The groups' Adj-RIB-Outs (tables, change logs, member cursors).
    pub(crate) adj_out_bytes: usize,
    /// Attribute sets made here: by import filters, export filters and
    /// the reflection and eBGP rewrites of each group.
    pub(crate) rewritten_sets: usize,
    /// Those sets with their tables.
    pub(crate) rewritten_set_bytes: usize,
}

impl AddAssign for ShardMemory {
    fn add_assign(&mut self, o: Self) {
        self.prefixes += o.prefixes;
        self.paths += o.paths;
        self.loc_rib_bytes += o.loc_rib_bytes;
        self.pre_policy_paths += o.pre_policy_paths;
        self.pre_policy_bytes += o.pre_policy_bytes;
        self.groups += o.groups;
        self.adj_out_entries += o.adj_out_entries;
        self.adj_out_bytes += o.adj_out_bytes;
        self.rewritten_sets += o.rewritten_sets;
        self.rewritten_set_bytes += o.rewritten_set_bytes;
    }
}

/// The attribute sets one worker's sessions interned from received
/// UPDATEs (shared by every shard that stores a path with them).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct InternMemory {
    /// Distinct sets.
    pub(crate) sets: usize,
    /// The sets, their vectors, the raw-bytes cache and both tables.
    pub(crate) bytes: usize,
}

/// The allocator's totals (jemalloc `stats.*`), bytes.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Allocator {
    /// Bytes the program holds in allocations.
    pub(crate) allocated: usize,
    /// Bytes in pages the allocator uses for them (with fragmentation).
    pub(crate) active: usize,
    /// Bytes of physical memory the allocator's pages occupy.
    pub(crate) resident: usize,
    /// Bytes mapped from the kernel.
    pub(crate) mapped: usize,
    /// Whether jemalloc's background thread runs: it returns pages freed
    /// for a while (decay, 10 s) to the system even when the daemon is
    /// idle. Without it that happens only as the daemon allocates.
    pub(crate) background_thread: bool,
}

impl Allocator {
    /// Reads jemalloc's statistics after refreshing them; `None` when they
    /// cannot be read.
    pub(crate) fn read() -> Option<Self> {
        use tikv_jemalloc_ctl::{background_thread, epoch, stats};
        epoch::advance().ok()?;
        Some(Self {
            allocated: stats::allocated::read().ok()?,
            active: stats::active::read().ok()?,
            resident: stats::resident::read().ok()?,
            mapped: stats::mapped::read().ok()?,
            background_thread: background_thread::read().ok()?,
        })
    }
}

/// The `show memory` answer.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct MemoryReport {
    /// Summed over the shards.
    pub(crate) tables: ShardMemory,
    /// Summed over the workers.
    pub(crate) received_sets: InternMemory,
    /// Every table and set counted above.
    pub(crate) counted_bytes: usize,
    /// `counted_bytes` per path after import policy (0 without paths).
    pub(crate) bytes_per_path: f64,
    pub(crate) allocator: Option<Allocator>,
    /// The process's resident set size (`VmRSS`), bytes.
    pub(crate) rss_bytes: Option<u64>,
}

impl MemoryReport {
    pub(crate) fn new(tables: ShardMemory, received_sets: InternMemory) -> Self {
        let counted_bytes = tables.loc_rib_bytes
            + tables.pre_policy_bytes
            + tables.adj_out_bytes
            + tables.rewritten_set_bytes
            + received_sets.bytes;
        #[allow(clippy::cast_precision_loss)] // a ratio for display
        let bytes_per_path = if tables.paths == 0 {
            0.0
        } else {
            counted_bytes as f64 / tables.paths as f64
        };
        Self {
            tables,
            received_sets,
            counted_bytes,
            bytes_per_path,
            allocator: Allocator::read(),
            rss_bytes: rss_bytes(),
        }
    }
}

/// `VmRSS` of this process from `/proc/self/status`, bytes.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
