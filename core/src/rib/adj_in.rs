//! Adj-RIB-In (RFC 4271 §3.2, §9.1): the paths received from every peer of
//! one RIB shard, after import policy, with the graceful-restart helper
//! operations of RFC 4724 §4.2.
//!
//! One table holds all peers: per prefix a small vector of [`Path`]s keyed
//! by `(peer, path_id)`. That is what the decision process reads, so best
//! path needs one lookup per prefix.
//!
//! Memory (64-bit, measured by `tests::bytes_per_path_one_peer` and
//! `bytes_per_path_two_peers`):
//!
//! ```text
//! slot      = Ipv4Prefix (8) + Paths (16)  = 24 bytes (IPv6: 40)
//! index     = 5 bytes per hash bucket, 1.1–2.3 buckets per prefix
//! slots     = in chunks of 4096: at most one chunk spare
//! Paths     = one path inline, or a pointer to a heap vector of
//!             16 bytes per path plus a 16-byte header
//! 1,107,938 prefixes × 1 peer (the 2026 full table): 33.5 bytes per path
//! 1M prefixes × 1 peer:  34.6 bytes per path
//! 1M prefixes × 2 peers: 41.3 bytes per path (the vector: 48 bytes)
//! ```
//!
//! plus the interned attribute sets, shared by all paths. One path per
//! prefix is the route server's common case (each tenant announces its
//! own prefixes). Vectors grow by a quarter, so on the route-views2 slice
//! (41k prefixes × 17 full-feed peers, `real_data_tests`) the table costs
//! about 20 bytes per path.

use smallvec::SmallVec;

use super::prefix_map::{PrefixMap, Removed};
use super::{Path, PeerId, RibError, RouteId};
use crate::nlri::{AfiSafi, Prefix};

mod paths;

pub use paths::Paths;

/// Adj-RIB-In of all peers of one shard.
#[derive(Debug, Default)]
pub struct AdjRibIn {
    table: PrefixMap<Paths>,
    per_peer: hashbrown::HashMap<PeerId, usize, foldhash::fast::RandomState>,
    paths: usize,
    /// Prefixes that left the table, oldest first, while recorded
    /// ([`AdjRibIn::record_removals`]).
    removals: Option<Vec<Removal>>,
}

/// Prefixes that left an [`AdjRibIn`] (their last path went) and how the
/// slots moved, for tables kept by slot alongside it (a dense
/// Adj-RIB-Out, [`DenseAdjRibOut`](super::adj_out::DenseAdjRibOut)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// `prefix` left `slot` of its family's table; the family's last slot,
    /// `moved_from`, moved into the hole (`None` when `slot` was the last).
    Moved {
        /// The prefix removed.
        prefix: Prefix,
        /// The slot it had.
        slot: u32,
        /// The slot that moved into `slot`.
        moved_from: Option<u32>,
    },
    /// Many prefixes of one family left at once (a peer went down): the
    /// kept slots moved down in order over them.
    Compacted {
        /// The family: IPv6, or IPv4.
        v6: bool,
        /// The prefixes removed with the slots they had, by ascending slot.
        removed: Vec<(u32, Prefix)>,
    },
}

impl From<Removed<Prefix>> for Removal {
    fn from(r: Removed<Prefix>) -> Self {
        match r {
            Removed::Moved {
                key,
                slot,
                moved_from,
            } => Self::Moved {
                prefix: key,
                slot,
                moved_from,
            },
            Removed::Compacted(removed) => Self::Compacted {
                v6: matches!(removed.first(), Some((_, Prefix::V6(_)))),
                removed,
            },
        }
    }
}

impl AdjRibIn {
    /// An empty table.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty table with room for `prefixes` IPv4 prefixes (IPv6 ones
    /// have a table of their own, grown as they come).
    #[must_use]
    pub fn with_capacity(prefixes: usize) -> Self {
        Self {
            table: PrefixMap::with_capacity(prefixes),
            ..Self::default()
        }
    }

    /// From now on records every prefix that leaves the table, in order,
    /// for [`removals`](Self::removals).
    pub fn record_removals(&mut self) {
        self.removals.get_or_insert_with(Vec::new);
    }

    /// True when removals are recorded and not yet taken.
    #[must_use]
    pub fn has_removals(&self) -> bool {
        self.removals.as_ref().is_some_and(|r| !r.is_empty())
    }

    /// Takes the removals recorded since the last call, oldest first
    /// (none when not recording). The list keeps its room for the next
    /// few, not a whole table's (a peer with a full table went down).
    pub fn removals(&mut self) -> impl Iterator<Item = Removal> + '_ {
        /// Removals the list keeps room for (4 KiB).
        const KEEP: usize = 256;
        let (whole, part) = match self.removals.as_mut() {
            Some(r) if r.capacity() > KEEP => (std::mem::take(r), None),
            Some(r) => (Vec::new(), Some(r.drain(..))),
            None => (Vec::new(), None),
        };
        whole.into_iter().chain(part.into_iter().flatten())
    }

    /// The slot of `prefix` in its family's table and its paths; no slot
    /// (and no paths) when it has none. A slot stays the prefix's until a
    /// [`Removal`] moves it.
    #[must_use]
    pub fn get_indexed(&self, prefix: &Prefix) -> (Option<u32>, &[Path]) {
        match self.table.get_indexed(prefix) {
            Some((slot, paths)) => (Some(slot), &**paths),
            None => (None, &[]),
        }
    }

    /// The prefix at `slot` of the IPv6 table (`v6`) or the IPv4 one.
    #[must_use]
    pub fn key_at(&self, v6: bool, slot: u32) -> Option<Prefix> {
        self.table.at_slot(v6, slot).map(|(k, _)| k)
    }

    /// Removes `prefix` from the table, recording the removal.
    fn remove_prefix(&mut self, prefix: &Prefix) {
        if let Some((r, _)) = self.table.remove_reporting(prefix)
            && let Some(list) = &mut self.removals
        {
            list.push(Removal::from(r));
        }
    }

    /// Stores `path` for `prefix`, replacing the path with the same
    /// `(peer, path_id)`; returns the replaced path. The new path is fresh:
    /// a refreshed route is no longer stale (RFC 4724 §4.2).
    ///
    /// # Errors
    /// [`RibError::Full`] when the table cannot take another prefix.
    pub fn insert(&mut self, prefix: Prefix, path: Path) -> Result<Option<Path>, RibError> {
        self.insert_then(prefix, path, |_, _, _, _| ())
            .map(|(old, ())| old)
    }

    /// [`insert`](Self::insert), then `then(paths, front, at, old)` on the
    /// prefix's paths, where `front` is the first path before the insert,
    /// `at` the index the new path took and `old` the path it replaced:
    /// one table lookup for both (the Loc-RIB keeps its selected path
    /// first).
    pub(crate) fn insert_then<R>(
        &mut self,
        prefix: Prefix,
        path: Path,
        then: impl FnOnce(&mut Paths, Option<RouteId>, usize, Option<&Path>) -> R,
    ) -> Result<(Option<Path>, R), RibError> {
        let paths = self.table.get_or_insert_with(prefix, Paths::new)?;
        let front = paths.first().map(Path::route_id);
        let (peer, id) = (path.peer(), path.path_id());
        if let Some((at, slot)) = paths
            .iter_mut()
            .enumerate()
            .find(|(_, p)| p.is_key(peer, id))
        {
            let old = std::mem::replace(slot, path);
            let r = then(paths, front, at, Some(&old));
            return Ok((Some(old), r));
        }
        paths.push(path);
        let r = then(paths, front, paths.len() - 1, None);
        self.paths += 1;
        *self.per_peer.entry(peer).or_insert(0) += 1;
        Ok((None, r))
    }

    /// Removes the path `(peer, path_id)` of `prefix`; returns it.
    pub fn withdraw(&mut self, prefix: &Prefix, peer: PeerId, path_id: u32) -> Option<Path> {
        self.withdraw_then(prefix, peer, path_id, |_, _, _, _| ())
            .map(|(old, ())| old)
    }

    /// [`withdraw`](Self::withdraw), then `then(paths, front, at, old)` on
    /// the paths left (possibly none), `front` being the first path before
    /// and `old` the path removed from index `at`.
    pub(crate) fn withdraw_then<R>(
        &mut self,
        prefix: &Prefix,
        peer: PeerId,
        path_id: u32,
        then: impl FnOnce(&mut Paths, Option<RouteId>, usize, &Path) -> R,
    ) -> Option<(Path, R)> {
        let paths = self.table.get_mut(prefix)?;
        let pos = paths.iter().position(|p| p.is_key(peer, path_id))?;
        let front = paths.first().map(Path::route_id);
        let old = paths.remove(pos)?;
        let r = then(paths, front, pos, &old);
        if paths.is_empty() {
            self.remove_prefix(prefix);
        }
        self.paths -= 1;
        self.dec_peer(peer, 1);
        Some((old, r))
    }

    fn dec_peer(&mut self, peer: PeerId, n: usize) {
        if let Some(c) = self.per_peer.get_mut(&peer) {
            *c = c.saturating_sub(n);
            if *c == 0 {
                self.per_peer.remove(&peer);
            }
        }
    }

    /// Removes every path of `peer` matching `pred`; returns the prefixes
    /// that lost a path, in table order, each with what `then(paths,
    /// front)` returned for it (`front`: the first path before).
    pub(crate) fn remove_where<R>(
        &mut self,
        peer: PeerId,
        mut pred: impl FnMut(&Prefix, &Path) -> bool,
        mut then: impl FnMut(&mut Paths, Option<RouteId>, &[Path]) -> R,
    ) -> Vec<(Prefix, R)> {
        if !self.per_peer.contains_key(&peer) {
            return Vec::new();
        }
        let mut changed = Vec::new();
        let mut removed = 0;
        let visit = |prefix: &Prefix, paths: &mut Paths| {
            let front = paths.first().map(Path::route_id);
            // Moved out in order (the others keep theirs: the selected
            // path stays first unless it goes).
            let mut gone: SmallVec<[Path; 2]> = SmallVec::new();
            let mut i = 0;
            while let Some(p) = paths.get(i) {
                if p.peer() == peer && pred(prefix, p) {
                    // `get(i)` found it, so `remove(i)` does too.
                    let Some(p) = paths.remove(i) else { break };
                    gone.push(p);
                } else {
                    i += 1;
                }
            }
            if !gone.is_empty() {
                removed += gone.len();
                changed.push((*prefix, then(paths, front, &gone)));
            }
            !paths.is_empty()
        };
        match &mut self.removals {
            Some(list) => self
                .table
                .retain_reporting(visit, |r| list.push(Removal::from(r))),
            None => self.table.retain(visit),
        }
        self.paths -= removed;
        self.dec_peer(peer, removed);
        changed
    }

    /// Removes every path of `peer` (session down, RFC 4271 §8.2.2 "deletes
    /// all routes associated with this connection"); returns the prefixes
    /// that lost a path, for the Loc-RIB to recompute. One pass over the
    /// table.
    pub fn withdraw_all(&mut self, peer: PeerId) -> Vec<Prefix> {
        prefixes(self.remove_where(peer, |_, _| true, |_, _, _| ()))
    }

    /// Removes the paths of `peer` for prefixes of `family` (IPv4 or IPv6
    /// unicast; other families hold none); returns the prefixes that lost
    /// a path.
    // RFC 4760 §7 (the "AFI/SAFI disable" of RFC 7606 §2): "the speaker
    // MUST delete all the BGP routes received from that neighbor whose
    // AFI/SAFI is the same as the one carried in the incorrect MP_REACH_NLRI
    // or MP_UNREACH_NLRI attribute."
    pub fn withdraw_family(&mut self, peer: PeerId, family: AfiSafi) -> Vec<Prefix> {
        prefixes(self.remove_where(peer, in_family(family), |_, _, _| ()))
    }

    /// Marks every path of `peer` stale when its session goes down with
    /// graceful restart negotiated; returns the number of paths marked.
    // RFC 4724 §4.2: "the Receiving Speaker MUST retain the routes received
    // from the Restarting Speaker for all the address families that were
    // previously received in the Graceful Restart Capability and MUST mark
    // them as stale routing information."
    pub fn mark_stale(&mut self, peer: PeerId) -> usize {
        self.mark_stale_where(peer, |_| true)
    }

    /// Marks the paths of `peer` in `family` stale: the peer began an
    /// enhanced route refresh of the family; returns the number marked.
    // RFC 7313 §4: "Upon receipt of a BoRR message, the receiving speaker
    // MUST mark all routes previously received from that peer for that
    // <AFI, SAFI> as stale".
    pub fn mark_stale_family(&mut self, peer: PeerId, family: AfiSafi) -> usize {
        self.mark_stale_where(peer, |prefix| is_of(prefix, family))
    }

    fn mark_stale_where(&mut self, peer: PeerId, pick: impl Fn(&Prefix) -> bool) -> usize {
        if !self.per_peer.contains_key(&peer) {
            return 0;
        }
        let mut n = 0;
        for (prefix, paths) in self.table.iter_mut() {
            if !pick(&prefix) {
                continue;
            }
            for p in paths.iter_mut().filter(|p| p.peer() == peer) {
                p.set_stale(true);
                n += 1;
            }
        }
        n
    }

    /// Removes the paths of `peer` in `family` still stale: the peer ended
    /// its enhanced route refresh of the family; returns the prefixes that
    /// lost a path.
    // RFC 7313 §4: "Upon receipt of an EoRR message, the receiving speaker
    // MUST immediately remove all the routes from the peer that are still
    // marked as stale for that <AFI, SAFI>."
    pub fn sweep_stale_family(&mut self, peer: PeerId, family: AfiSafi) -> Vec<Prefix> {
        prefixes(self.remove_where(peer, |x, p| p.is_stale() && is_of(x, family), |_, _, _| ()))
    }

    /// Removes the paths of `peer` still stale (End-of-RIB received or the
    /// restart timer expired); returns the prefixes that lost a path.
    // RFC 4724 §4.2: "Once the End-of-RIB marker for an address family is
    // received from the peer, it MUST immediately remove any routes from the
    // peer that are still marked as stale for that address family."
    pub fn sweep_stale(&mut self, peer: PeerId) -> Vec<Prefix> {
        prefixes(self.remove_where(peer, |_, p| p.is_stale(), |_, _, _| ()))
    }

    /// Starts loading the index line of `prefix` into the cache without
    /// waiting for it: call it some way ahead of a lookup of `prefix` so
    /// that the cache misses of a batch overlap.
    pub fn prefetch(&self, prefix: &Prefix) {
        self.table.prefetch(prefix);
    }

    /// Starts loading the entry of `prefix` into the cache, reading its
    /// index line (best [`prefetch`](Self::prefetch)ed some time before).
    /// Returns the slot read from the index line: the prefix's own when
    /// it is in the table (likely, not checked).
    pub fn prefetch_entry(&self, prefix: &Prefix) -> Option<u32> {
        self.table.prefetch_slot(prefix)
    }

    /// The paths of `prefix` (empty when unknown). In arrival order unless
    /// a [`LocRib`](super::LocRib) owns the table: then the selected path
    /// comes first and the others in no set order.
    #[must_use]
    pub fn get(&self, prefix: &Prefix) -> &[Path] {
        self.table.get(prefix).map_or(&[], |p| &**p)
    }

    /// True when `prefix` has the path `(peer, path_id)`.
    #[must_use]
    pub fn has(&self, prefix: &Prefix, peer: PeerId, path_id: u32) -> bool {
        self.get(prefix).iter().any(|p| p.is_key(peer, path_id))
    }

    /// Number of paths from `peer`.
    #[must_use]
    pub fn count(&self, peer: PeerId) -> usize {
        self.per_peer.get(&peer).copied().unwrap_or(0)
    }

    /// Number of prefixes with at least one path.
    #[must_use]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when the table holds no path.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// Total number of paths.
    #[must_use]
    pub const fn path_count(&self) -> usize {
        self.paths
    }

    /// Every prefix with its paths, in table order (deterministic for a
    /// given sequence of operations; not sorted).
    pub fn iter(&self) -> impl Iterator<Item = (Prefix, &[Path])> {
        self.table.iter().map(|(p, v)| (p, &**v))
    }

    /// Bytes this table allocates (index, slots, spilled path vectors);
    /// attribute sets are the [`Interner`](super::Interner)'s.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        let spilled: usize = self.table.iter().map(|(_, v)| v.heap_bytes()).sum();
        self.table.heap_bytes() + spilled + self.per_peer.allocation_size()
    }
}

/// A `remove_where` predicate: the prefix is of `family` (IPv4 or IPv6
/// unicast; no prefix is of another family).
pub(crate) fn in_family(family: AfiSafi) -> impl Fn(&Prefix, &Path) -> bool {
    move |prefix, _| is_of(prefix, family)
}

/// True when `prefix` is of `family` (IPv4 or IPv6 unicast).
pub(crate) fn is_of(prefix: &Prefix, family: AfiSafi) -> bool {
    match prefix {
        Prefix::V4(_) => family == AfiSafi::IPV4_UNICAST,
        Prefix::V6(_) => family == AfiSafi::IPV6_UNICAST,
    }
}

fn prefixes(changed: Vec<(Prefix, ())>) -> Vec<Prefix> {
    changed.into_iter().map(|(p, ())| p).collect()
}

#[cfg(test)]
mod tests;
