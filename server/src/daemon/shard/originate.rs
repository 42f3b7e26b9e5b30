//! The server's own routes in a shard (`[[route]]`, RFC 4271 §9.2.2.2):
//! static routes as paths of the `LOCAL` peer, aggregates announced while
//! any shard's Loc-RIB holds a more-specific, and their replacement by a
//! reload in three steps (every shard withdraws what the new list drops
//! and stops counting, then every shard announces and counts again, then
//! aggregates kept through the reload with nothing under them any more are
//! withdrawn), so no shard counts against a list another shard no longer
//! has, and a route the reload keeps is never withdrawn and announced
//! again.

use std::sync::Arc;

use rampart_core::nlri::Prefix;
use rampart_core::rib::AttrSet;

use super::{Change, Shard, ShardMsg, shard_of};
use crate::daemon::group::Tables;
use crate::daemon::originate::{LOCAL, Originated};

impl Shard {
    /// Adds (or with `None` removes) the server's own path of `prefix`;
    /// a path with the same attributes as the one in place is left alone
    /// (a reload builds its sets afresh).
    pub(super) fn set_local(&mut self, prefix: Prefix, attrs: Option<AttrSet>) {
        let current = self
            .loc
            .adj_in()
            .get(&prefix)
            .iter()
            .find(|p| p.peer() == LOCAL);
        let unchanged = match (current, &attrs) {
            (Some(p), Some(a)) => p.attrs().attrs() == a.attrs(),
            (None, None) => true,
            _ => false,
        };
        if unchanged {
            return;
        }
        self.set_post(
            LOCAL,
            Change {
                prefix,
                path_id: 0,
                attrs,
            },
        );
    }

    /// Keeps the per-aggregate counts of this shard's Loc-RIB prefixes
    /// (not the server's own) under each aggregate, and tells the
    /// aggregate's shard when one becomes zero or non-zero.
    pub(super) fn count_contributors(&mut self, prefix: Prefix, was: bool, is: bool) {
        if was == is || self.replaced.is_some() {
            return;
        }
        for i in 0..self.originated.len() {
            let Some(o) = self.originated.get(i) else {
                continue;
            };
            if !o.aggregate || !o.covers(&prefix) {
                continue;
            }
            let owner = shard_of(&o.prefix, self.links.len());
            let Some(c) = self.covered.get_mut(i) else {
                continue;
            };
            let before = *c > 0;
            if is {
                *c += 1;
            } else {
                *c = c.saturating_sub(1);
            }
            if before != (*c > 0) {
                let msg = ShardMsg::Contributors {
                    aggregate: i,
                    shard: self.index,
                    present: *c > 0,
                };
                if owner == self.index {
                    self.handle(msg);
                } else if let Some(tx) = self.links.get(owner) {
                    let _ = tx.try_send(msg);
                }
            }
        }
    }

    /// A shard now has (or no longer has) more-specifics of aggregate `i`:
    /// the aggregate is announced while any shard has one.
    pub(super) fn contributors(&mut self, i: usize, shard: usize, present: bool) {
        let Some(mask) = self.contributors.get_mut(i) else {
            return;
        };
        let before = *mask != 0;
        let bit = 1u128 << (shard % 128);
        if present {
            *mask |= bit;
        } else {
            *mask &= !bit;
        }
        let now = *mask != 0;
        if before != now
            && let Some(o) = self.originated.get(i).cloned()
        {
            self.set_local(o.prefix, now.then_some(o.attrs));
        }
    }

    /// First step of a reload that changed the routes: this shard's own
    /// paths that the new list does not keep as they were go, `routes`
    /// replace the list, and aggregates are not counted until
    /// [`Shard::recount`]. A kept aggregate stays announced meanwhile;
    /// [`Shard::settle`] withdraws it if nothing is under it any more.
    pub(super) fn replace_originated(&mut self, routes: Arc<[Originated]>) {
        let old = std::mem::replace(&mut self.originated, routes);
        let gone: Vec<Prefix> = old
            .iter()
            .filter(|o| self.owns(&o.prefix))
            .filter(|o| !self.originated.iter().any(|n| same(n, o)))
            .map(|o| o.prefix)
            .collect();
        for prefix in gone {
            self.set_local(prefix, None);
        }
        self.replaced = Some(old);
        self.covered = vec![0; self.originated.len()];
        self.contributors = vec![0; self.originated.len()];
    }

    /// Second step: the new static routes are announced, the Loc-RIB's
    /// received prefixes counted under the new aggregates (each shard
    /// reports to an aggregate's shard as at start), and prefixes under an
    /// old or new summary-only aggregate exported again.
    pub(super) fn recount(&mut self) {
        let Some(old) = self.replaced.take() else {
            return;
        };
        let statics: Vec<(Prefix, AttrSet)> = self
            .originated
            .iter()
            .filter(|o| !o.aggregate && self.owns(&o.prefix))
            .filter(|o| !old.iter().any(|k| same(k, o)))
            .map(|o| (o.prefix, o.attrs.clone()))
            .collect();
        for (prefix, attrs) in statics {
            self.set_local(prefix, Some(attrs));
        }
        let received: Vec<Prefix> = self
            .loc
            .iter()
            .filter(|(_, p)| p.peer() != LOCAL)
            .map(|(p, _)| p)
            .collect();
        let hides =
            |list: &[Originated], p: &Prefix| list.iter().any(|o| o.summary_only && o.covers(p));
        for prefix in received {
            self.count_contributors(prefix, false, true);
            if hides(&old, &prefix) || hides(&self.originated, &prefix) {
                let t = Tables {
                    loc: &self.loc,
                    peers: &self.peers,
                    originated: &self.originated,
                };
                for g in &mut self.groups {
                    if g.update(&t, prefix).is_err() {
                        tracing::error!(shard = self.index, "Adj-RIB-Out full");
                    }
                }
            }
        }
    }

    /// Last step: aggregates of this shard that no shard reported a
    /// more-specific of during the recount are withdrawn (those the
    /// reload kept are still announced from before it).
    pub(super) fn settle(&mut self) {
        let bare: Vec<Prefix> = self
            .originated
            .iter()
            .zip(&self.contributors)
            .filter(|(o, mask)| o.aggregate && **mask == 0 && self.owns(&o.prefix))
            .map(|(o, _)| o.prefix)
            .collect();
        for prefix in bare {
            self.set_local(prefix, None);
        }
    }
}

/// The same route before and after a reload (attribute sets compared by
/// value: the new list's sets are built afresh).
fn same(a: &Originated, b: &Originated) -> bool {
    a.prefix == b.prefix
        && a.aggregate == b.aggregate
        && a.summary_only == b.summary_only
        && a.attrs.attrs() == b.attrs.attrs()
}
