//! Loc-RIB (RFC 4271 §3.2, §9.1.2): the selected path per prefix, and the
//! per-client view a route server needs (RFC 7947 §2.3.2).
//!
//! The Loc-RIB owns the shard's Adj-RIB-In (post-policy) and keeps no table
//! of its own: the selected path of a prefix is the first path of its
//! Adj-RIB-In entry. Every change goes through the Loc-RIB, which reruns
//! the decision process on the prefix's paths in the same table visit and
//! moves the winner to the front, so a route costs one lookup, not one per
//! table, and the winner is never copied.
//!
//! ```text
//! Adj-RIB-In slot: prefix -> [best, other paths...]   (select_best = 0)
//! ```

use super::adj_in::{Paths, Removal, in_family, is_of};
use super::best_path::{BestPathOptions, best_accepted, rank, select_best, unchanged_by};
use super::{AdjRibIn, Path, PeerId, PeerTable, RibError, RouteId};
use crate::nlri::{AfiSafi, Prefix};

/// What a change did to a prefix's selected route.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum LocChange {
    /// The selected route is the same (a stale-flag change alone counts as
    /// unchanged: it is not re-advertised).
    Unchanged,
    /// A different path (attribute set, peer or path id) is now selected;
    /// [`LocRib::get`] reads it.
    NewBest(RouteId),
    /// The prefix has no path left.
    Withdrawn,
}

/// The outcome of one change for one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Reselected {
    /// The peer of the path selected before the change; `None` when the
    /// prefix had no path.
    pub was: Option<PeerId>,
    /// What happened to the selected route.
    pub change: LocChange,
}

/// The Adj-RIB-In post-policy of one shard with its selected paths.
#[derive(Debug, Default)]
pub struct LocRib {
    adj: AdjRibIn,
    opts: BestPathOptions,
}

/// Runs the decision process on `paths`, moves the winner to the front
/// and compares it with `front`, the route selected before.
fn reselect(
    paths: &mut Paths,
    front: Option<RouteId>,
    peers: &PeerTable,
    opts: &BestPathOptions,
) -> Reselected {
    let was = front.map(|f| f.peer());
    let Some(i) = select_best(paths, peers, opts) else {
        let change = match front {
            Some(_) => LocChange::Withdrawn,
            None => LocChange::Unchanged,
        };
        return Reselected { was, change };
    };
    paths.swap(0, i);
    let change = match paths.first() {
        Some(best) if Some(best.route_id()) != front => LocChange::NewBest(best.route_id()),
        _ => LocChange::Unchanged,
    };
    Reselected { was, change }
}

/// [`reselect`] after a change that added the path at index `added` and
/// removed the paths `removed`, without ranking when the path selected
/// before is still first (`best_kept`) and [`unchanged_by`] shows it
/// stands.
fn reselect_after<'a>(
    paths: &mut Paths,
    front: Option<RouteId>,
    best_kept: bool,
    added: Option<usize>,
    removed: impl IntoIterator<Item = &'a Path>,
    peers: &PeerTable,
    opts: &BestPathOptions,
) -> Reselected {
    let best = paths.first().filter(|_| best_kept);
    let stands = best.is_some_and(|b| {
        unchanged_by(b, added.and_then(|i| paths.get(i)), opts) && unchanged_by(b, removed, opts)
    });
    if stands {
        return Reselected {
            was: front.map(RouteId::peer),
            change: LocChange::Unchanged,
        };
    }
    reselect(paths, front, peers, opts)
}

impl LocRib {
    /// An empty Loc-RIB selecting with `opts`.
    #[must_use]
    pub fn new(opts: BestPathOptions) -> Self {
        Self {
            adj: AdjRibIn::new(),
            opts,
        }
    }

    /// The decision process options.
    #[must_use]
    pub const fn options(&self) -> &BestPathOptions {
        &self.opts
    }

    /// The Adj-RIB-In the selection is made from. Its paths of a prefix
    /// start with the selected one.
    #[must_use]
    pub const fn adj_in(&self) -> &AdjRibIn {
        &self.adj
    }

    /// Stores `path` for `prefix` in the Adj-RIB-In (replacing the path
    /// with the same `(peer, path_id)`, which is returned) and selects again.
    ///
    /// # Errors
    /// [`RibError::Full`] when the table cannot take another prefix.
    pub fn announce(
        &mut self,
        prefix: Prefix,
        path: Path,
        peers: &PeerTable,
    ) -> Result<(Option<Path>, Reselected), RibError> {
        let opts = &self.opts;
        self.adj.insert_then(prefix, path, |paths, front, at, old| {
            // The front path is the one selected before unless the new
            // path replaced it (`at` 0).
            reselect_after(paths, front, at != 0, Some(at), old, peers, opts)
        })
    }

    /// Removes the path `(peer, path_id)` of `prefix` and selects again;
    /// `None` when there was no such path.
    pub fn withdraw(
        &mut self,
        prefix: &Prefix,
        peer: PeerId,
        path_id: u32,
        peers: &PeerTable,
    ) -> Option<(Path, Reselected)> {
        let opts = &self.opts;
        self.adj
            .withdraw_then(prefix, peer, path_id, |paths, front, at, old| {
                // The selected path stays unless it was the one removed.
                reselect_after(paths, front, at != 0, None, [old], peers, opts)
            })
    }

    /// Removes every path of `peer` (session down, RFC 4271 §8.2.2) and
    /// selects again; one entry per prefix that lost a path.
    pub fn withdraw_all(&mut self, peer: PeerId, peers: &PeerTable) -> Vec<(Prefix, Reselected)> {
        self.remove_where(peer, |_, _| true, peers)
    }

    /// Removes the paths of `peer` that `pred` picks and selects again for
    /// each prefix that lost one.
    fn remove_where(
        &mut self,
        peer: PeerId,
        pred: impl FnMut(&Prefix, &Path) -> bool,
        peers: &PeerTable,
    ) -> Vec<(Prefix, Reselected)> {
        let opts = &self.opts;
        self.adj.remove_where(peer, pred, |paths, front, gone| {
            // The selected path stays first unless it went.
            let kept = front.is_some_and(|f| !gone.iter().any(|p| p.route_id() == f));
            reselect_after(paths, front, kept, None, gone, peers, opts)
        })
    }

    /// Removes the paths of `peer` for prefixes of `family` (RFC 4760 §7,
    /// the AFI/SAFI disable of RFC 7606 §2) and selects again.
    pub fn withdraw_family(
        &mut self,
        peer: PeerId,
        family: AfiSafi,
        peers: &PeerTable,
    ) -> Vec<(Prefix, Reselected)> {
        self.remove_where(peer, in_family(family), peers)
    }

    /// Marks every path of `peer` stale (RFC 4724 §4.2); the selection does
    /// not change. Returns the number of paths marked.
    pub fn mark_stale(&mut self, peer: PeerId) -> usize {
        self.adj.mark_stale(peer)
    }

    /// Marks the paths of `peer` in `family` stale (RFC 7313 §4, BoRR); the
    /// selection does not change. Returns the number of paths marked.
    pub fn mark_stale_family(&mut self, peer: PeerId, family: AfiSafi) -> usize {
        self.adj.mark_stale_family(peer, family)
    }

    /// Removes the paths of `peer` in `family` still stale (RFC 7313 §4,
    /// EoRR) and selects again.
    pub fn sweep_stale_family(
        &mut self,
        peer: PeerId,
        family: AfiSafi,
        peers: &PeerTable,
    ) -> Vec<(Prefix, Reselected)> {
        self.remove_where(peer, |x, p| p.is_stale() && is_of(x, family), peers)
    }

    /// Removes the paths of `peer` still stale (RFC 4724 §4.2) and selects
    /// again.
    pub fn sweep_stale(&mut self, peer: PeerId, peers: &PeerTable) -> Vec<(Prefix, Reselected)> {
        self.remove_where(peer, |_, p| p.is_stale(), peers)
    }

    /// The selected path of `prefix`.
    #[must_use]
    pub fn get(&self, prefix: &Prefix) -> Option<&Path> {
        self.adj.get(prefix).first()
    }

    /// [`AdjRibIn::prefetch`] of the table.
    pub fn prefetch(&self, prefix: &Prefix) {
        self.adj.prefetch(prefix);
    }

    /// [`AdjRibIn::prefetch_entry`] of the table: returns the slot
    /// `prefix` likely has.
    pub fn prefetch_entry(&self, prefix: &Prefix) -> Option<u32> {
        self.adj.prefetch_entry(prefix)
    }

    /// [`AdjRibIn::get_indexed`]: the slot of `prefix` and its candidate
    /// paths, the selected one first.
    #[must_use]
    pub fn paths_at(&self, prefix: &Prefix) -> (Option<u32>, &[Path]) {
        self.adj.get_indexed(prefix)
    }

    /// [`AdjRibIn::record_removals`] of the table.
    pub fn record_removals(&mut self) {
        self.adj.record_removals();
    }

    /// [`AdjRibIn::has_removals`] of the table.
    #[must_use]
    pub fn has_removals(&self) -> bool {
        self.adj.has_removals()
    }

    /// [`AdjRibIn::removals`] of the table: takes the prefixes that lost
    /// their last path, oldest first, with the slot moves they made.
    pub fn removals(&mut self) -> impl Iterator<Item = Removal> + '_ {
        self.adj.removals()
    }

    /// The candidate paths of `prefix`, the selected one first (the others
    /// in no order); empty when it has none.
    #[must_use]
    pub fn paths(&self, prefix: &Prefix) -> &[Path] {
        self.adj.get(prefix)
    }

    /// The candidates of `prefix`, most preferred first (ADD-PATH send,
    /// diagnostics).
    #[must_use]
    pub fn ranked(&self, prefix: &Prefix, peers: &PeerTable) -> Vec<Path> {
        let paths = self.adj.get(prefix);
        rank(paths, peers, &self.opts)
            .iter()
            .filter_map(|&i| paths.get(i).cloned())
            .collect()
    }

    /// The most preferred path of `prefix` that `accept` takes: the route
    /// a route-server client gets when its export policy rejects the overall
    /// best (and `accept` should reject the client's own paths).
    //
    // Path hiding mitigation (RFC 7947 §2.3.2): instead of a full RIB per
    // client, select again among the shared paths, so a client whose
    // policy filters the overall best still gets the next candidate it
    // accepts, in ranking order.
    pub fn best_for(
        &self,
        prefix: &Prefix,
        peers: &PeerTable,
        mut accept: impl FnMut(&Path) -> bool,
    ) -> Option<Path> {
        let paths = self.adj.get(prefix);
        if let Some(p) = paths.first().filter(|p| accept(p)) {
            return Some(p.clone());
        }
        let i = best_accepted(paths, peers, &self.opts, 1, accept)?;
        paths.get(i).cloned()
    }

    /// Number of prefixes with a selected path.
    #[must_use]
    pub fn len(&self) -> usize {
        self.adj.len()
    }

    /// True when nothing is selected.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.adj.is_empty()
    }

    /// Every prefix with its selected path, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (Prefix, &Path)> {
        self.adj
            .iter()
            .filter_map(|(prefix, paths)| Some((prefix, paths.first()?)))
    }
}

#[cfg(test)]
mod tests;
