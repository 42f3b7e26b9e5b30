//! Loc-RIB (RFC 4271 §3.2, §9.1.2): the selected path per prefix, and the
//! per-client view a route server needs (RFC 7947 §2.3.2).
//!
//! The Loc-RIB does not copy candidate paths: it keeps the winner (16
//! bytes) per prefix and reads candidates from the shard's [`AdjRibIn`]
//! when asked for a ranking. Call [`LocRib::update`] for every prefix the
//! Adj-RIB-In changed (the lists [`AdjRibIn::withdraw_all`] and
//! [`AdjRibIn::sweep_stale`] return included).

use smallvec::SmallVec;

use super::best_path::{BestPathOptions, rank, select_best};
use super::prefix_map::PrefixMap;
use super::{AdjRibIn, Path, PeerTable};
use crate::nlri::Prefix;

/// What [`LocRib::update`] did to a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum LocChange {
    /// The selected route is the same (a stale-flag change alone counts as
    /// unchanged: it is not re-advertised).
    Unchanged,
    /// A different path (attribute set, peer or path id) is now selected.
    NewBest(Path),
    /// The prefix has no path left.
    Withdrawn,
}

/// The selected path per prefix of one shard.
#[derive(Debug, Default)]
pub struct LocRib {
    table: PrefixMap<Path>,
    opts: BestPathOptions,
}

impl LocRib {
    /// An empty Loc-RIB selecting with `opts`.
    #[must_use]
    pub fn new(opts: BestPathOptions) -> Self {
        Self {
            table: PrefixMap::default(),
            opts,
        }
    }

    /// The decision process options.
    #[must_use]
    pub const fn options(&self) -> &BestPathOptions {
        &self.opts
    }

    /// Recomputes `prefix` from `adj` and reports the change. Call after
    /// every Adj-RIB-In change to the prefix.
    pub fn update(&mut self, prefix: Prefix, adj: &AdjRibIn, peers: &PeerTable) -> LocChange {
        let paths = adj.get(&prefix);
        let Some(best) = select_best(paths, peers, &self.opts).and_then(|i| paths.get(i)) else {
            return match self.table.remove(&prefix) {
                Some(_) => LocChange::Withdrawn,
                None => LocChange::Unchanged,
            };
        };
        match self.table.get_mut(&prefix) {
            Some(old) => {
                let same = old.same_route(best);
                *old = best.clone();
                if same {
                    LocChange::Unchanged
                } else {
                    LocChange::NewBest(best.clone())
                }
            }
            None => match self.table.get_or_insert_with(prefix, || best.clone()) {
                Ok(_) => LocChange::NewBest(best.clone()),
                // Not reachable: the Loc-RIB never holds more prefixes than
                // the Adj-RIB-In, whose insert fails first.
                Err(_) => LocChange::Unchanged,
            },
        }
    }

    /// The selected path of `prefix`.
    #[must_use]
    pub fn get(&self, prefix: &Prefix) -> Option<&Path> {
        self.table.get(prefix)
    }

    /// The candidates of `prefix` in `adj`, most preferred first (ADD-PATH
    /// send, diagnostics).
    #[must_use]
    pub fn ranked(&self, prefix: &Prefix, adj: &AdjRibIn, peers: &PeerTable) -> Vec<Path> {
        let paths = adj.get(prefix);
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
    // client, walk the shared ranking, so a client whose policy filters the
    // overall best still gets the next candidate it accepts.
    pub fn best_for(
        &self,
        prefix: &Prefix,
        adj: &AdjRibIn,
        peers: &PeerTable,
        mut accept: impl FnMut(&Path) -> bool,
    ) -> Option<Path> {
        let paths = adj.get(prefix);
        let first = select_best(paths, peers, &self.opts)?;
        if let Some(p) = paths.get(first).filter(|p| accept(p)) {
            return Some(p.clone());
        }
        let order: SmallVec<[usize; 8]> = rank(paths, peers, &self.opts);
        order
            .iter()
            .skip(1)
            .filter_map(|&i| paths.get(i))
            .find(|p| accept(p))
            .cloned()
    }

    /// Number of prefixes with a selected path.
    #[must_use]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when nothing is selected.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// Every prefix with its selected path, in table order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Prefix, &Path)> {
        self.table.iter()
    }

    /// Bytes this table allocates (attribute sets excluded).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.table.heap_bytes()
    }
}

#[cfg(test)]
mod tests;
