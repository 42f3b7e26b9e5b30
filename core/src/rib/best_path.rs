//! The decision process: route selection among the paths of one prefix
//! ([RFC 4271 §9.1.2.2], with the route-reflection rules of [RFC 4456 §9]).
//!
//! Steps, most significant first; each removes the paths that lose it:
//!
//! ```text
//! 1. highest LOCAL_PREF (absent: BestPathOptions::default_local_pref, 100)
//! 2. shortest AS_PATH (AsPath::path_len: AS_SET counts 1, confed segments 0)
//! 3. lowest ORIGIN (IGP < EGP < INCOMPLETE; absent counts as INCOMPLETE)
//! 4. lowest MED, only among paths from the same neighbouring AS (leftmost AS
//!    of the AS_PATH) unless always_compare_med; absent MED = 0, or worst
//!    with med_missing_as_worst
//! 5. eBGP over iBGP (confederation peers count as iBGP)
//! 6. lowest IGP cost (PeerInfo::igp_cost)
//! 7. lowest BGP identifier; ORIGINATOR_ID replaces the peer's when present
//! 8. shortest CLUSTER_LIST (RFC 4456 §9, between steps f and g)
//! 9. lowest peer address
//! 10. lowest peer id, then lowest path id: makes the order total
//! ```
//!
//! # Why a plain comparator is not enough, and the total order used
//!
//! Step 4 compares MED only between paths from the same neighbouring AS, so
//! the pairwise comparison is not transitive: A (AS 1, MED 0) beats B (AS 1,
//! MED 5), B beats C (AS 2) on router id, and C beats A on router id.
//! Sorting with such a comparator breaks `sort`'s contract and makes the
//! winner depend on arrival order.
//!
//! With `deterministic_med` (the default) the set is ranked instead by a
//! per-path [`RankKey`] computed with the whole set in view:
//!
//! * paths are grouped by neighbouring AS and sorted inside their group by
//!   the *full* key (steps 1–10; inside a group MED always applies);
//! * each path's *lead* is the maximum of the MED-less key (steps 1–3,
//!   5–10) over itself and every path ranked before it in its group;
//! * `RankKey = (lead, full key)`, compared lexicographically.
//!
//! Both parts are plain lexicographic tuples, so the order is a total order
//! (`sort` laws hold). The first path is the group winner with the best
//! MED-less key: the same result as the elimination procedure of RFC 4271
//! §9.1.2.2 (checked against a reference implementation in the tests), and
//! independent of input order. Removing the first path and ranking again
//! yields the second, and so on: what per-client selection needs.
//!
//! With `always_compare_med` MED is an ordinary key component and the rank
//! key is just the full key. With both options off, [`select_best`] keeps
//! the classic order-dependent pairwise scan (best so far against each path
//! in slice order, as routers without deterministic MED do), and [`rank`]
//! repeats that scan on the remaining paths; [`rank_keys`] then still
//! describes the deterministic order.
//!
//! [RFC 4271 §9.1.2.2]: https://www.rfc-editor.org/rfc/rfc4271#section-9.1.2.2
//! [RFC 4456 §9]: https://www.rfc-editor.org/rfc/rfc4456#section-9

use std::cmp::{Ordering, Reverse};
use std::net::{IpAddr, Ipv4Addr};

use smallvec::SmallVec;

use super::{Path, PeerId, PeerTable};
use crate::attr::Origin;

/// Knobs of the decision process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct BestPathOptions {
    /// LOCAL_PREF assumed when the attribute is absent (e.g. eBGP-learned
    /// paths that import policy did not set it on). Default 100, as in most
    /// implementations.
    pub default_local_pref: u32,
    /// Compare MED between paths from different neighbouring ASes.
    pub always_compare_med: bool,
    /// Group by neighbouring AS before comparing (order-independent result).
    /// Default on.
    pub deterministic_med: bool,
    /// A missing MED is the worst value (`u32::MAX`) instead of 0.
    pub med_missing_as_worst: bool,
}

impl Default for BestPathOptions {
    fn default() -> Self {
        Self {
            default_local_pref: 100,
            always_compare_med: false,
            deterministic_med: true,
            med_missing_as_worst: false,
        }
    }
}

/// Comparison key of one path: lower is better, fields in step order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    local_pref: Reverse<u32>,
    as_path_len: u32,
    origin: Origin,
    med: u32,
    internal: bool,
    igp_cost: u32,
    router_id: Ipv4Addr,
    cluster_len: u32,
    peer_addr: IpAddr,
    peer: PeerId,
    path_id: u32,
}

impl Key {
    /// The key without step 4.
    const fn without_med(mut self) -> Self {
        self.med = 0;
        self
    }
}

/// A path's position in the total order of its set (see the module docs):
/// lower is better. Only keys built by one [`rank_keys`] call compare
/// meaningfully.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RankKey {
    lead: Key,
    full: Key,
}

/// Neighbouring AS used to group paths for MED (RFC 4271 §9.1.2.2 c):
/// `None` for an empty AS_PATH (local routes) or a leading AS_SET.
type Group = Option<u32>;

fn key_of(path: &Path, peers: &PeerTable, opts: &BestPathOptions) -> (Key, Group) {
    let a = path.attrs();
    let info = peers.info(path.peer());
    // RFC 4271 §9.1.2.2 c: "Routes that do not have the MULTI_EXIT_DISC
    // attribute are considered to have the lowest possible MULTI_EXIT_DISC
    // value." med_missing_as_worst is the common operator override.
    let missing_med = if opts.med_missing_as_worst {
        u32::MAX
    } else {
        0
    };
    let key = Key {
        local_pref: Reverse(a.local_pref.unwrap_or(opts.default_local_pref)),
        as_path_len: u32::try_from(a.as_path.path_len()).unwrap_or(u32::MAX),
        origin: a.origin.unwrap_or(Origin::Incomplete),
        med: a.med.unwrap_or(missing_med),
        internal: info.kind.is_internal(),
        igp_cost: info.igp_cost,
        // RFC 4456 §9: "If a route carries the ORIGINATOR_ID attribute, then
        // in Step f) of Section 9.1.2.2 of [1], the ORIGINATOR_ID SHOULD be
        // treated as the BGP Identifier of the BGP speaker that has
        // advertised the route."
        router_id: a.rare.originator_id.unwrap_or(info.bgp_id),
        // RFC 4456 §9: "the following rule SHOULD be inserted between Steps
        // f) and g): a BGP Speaker SHOULD prefer a route with the shorter
        // CLUSTER_LIST length."
        cluster_len: u32::try_from(a.rare.cluster_list.len()).unwrap_or(u32::MAX),
        peer_addr: info.addr,
        peer: path.peer(),
        path_id: path.path_id(),
    };
    (key, a.as_path.first_as())
}

type Keys = SmallVec<[(Key, Group); 16]>;

fn keys_of(paths: &[Path], peers: &PeerTable, opts: &BestPathOptions) -> Keys {
    paths.iter().map(|p| key_of(p, peers, opts)).collect()
}

/// The pairwise RFC comparison of two keyed paths (`Less`: `a` is better).
fn compare_keys(a: &(Key, Group), b: &(Key, Group), opts: &BestPathOptions) -> Ordering {
    // RFC 4271 §9.1.2.2 c: "MULTI_EXIT_DISC is only comparable between
    // routes learned from the same neighboring AS (the neighboring AS is
    // determined from the AS_PATH attribute)."
    if opts.always_compare_med || a.1 == b.1 {
        a.0.cmp(&b.0)
    } else {
        a.0.without_med().cmp(&b.0.without_med())
    }
}

/// Compares two paths of one prefix pairwise (`Less`: `a` is preferred).
///
/// This is the textbook comparison; without `always_compare_med` it is not
/// transitive across neighbouring ASes, so do not sort with it: use
/// [`rank`] or [`rank_keys`].
#[must_use]
pub fn compare(a: &Path, b: &Path, peers: &PeerTable, opts: &BestPathOptions) -> Ordering {
    compare_keys(&key_of(a, peers, opts), &key_of(b, peers, opts), opts)
}

/// Index of the pairwise-scan winner over `keys`, in slice order.
fn scan(keys: &Keys, alive: impl Fn(usize) -> bool, opts: &BestPathOptions) -> Option<usize> {
    let mut best: Option<(usize, &(Key, Group))> = None;
    for (i, k) in keys.iter().enumerate().filter(|(i, _)| alive(*i)) {
        match best {
            Some((_, b)) if compare_keys(k, b, opts) != Ordering::Less => {}
            _ => best = Some((i, k)),
        }
    }
    best.map(|(i, _)| i)
}

/// Steps 1–3 (LOCAL_PREF, AS_PATH length, ORIGIN) of a path: lower is
/// better. They apply to every path alike, before MED.
fn uniform_key(path: &Path, opts: &BestPathOptions) -> (Reverse<u32>, usize, Origin) {
    let a = path.attrs();
    (
        Reverse(a.local_pref.unwrap_or(opts.default_local_pref)),
        a.as_path.path_len(),
        a.origin.unwrap_or(Origin::Incomplete),
    )
}

/// True when a change that adds or removes the paths `changed` (none of
/// them `best`) leaves `best` selected, known without ranking the set:
/// each loses to `best` at steps 1–3 (RFC 4271 §9.1.2.2 a and b), which
/// eliminate it before MED is compared, so the paths that survive those
/// steps, and the selection made among them, stay the same.
///
/// Holds with deterministic MED (a path that loses steps 1–3 to the
/// winner cannot win its neighbouring AS's group and then beat the winner
/// on the MED-less key) and with always-compare-MED (a total order).
/// The order-dependent pairwise scan used with both off has no such
/// guarantee: `false` then.
#[must_use]
pub fn unchanged_by<'a>(
    best: &Path,
    changed: impl IntoIterator<Item = &'a Path>,
    opts: &BestPathOptions,
) -> bool {
    if !opts.deterministic_med && !opts.always_compare_med {
        return false;
    }
    let b = uniform_key(best, opts);
    changed.into_iter().all(|p| uniform_key(p, opts) > b)
}

/// Index of the deterministic-MED winner among the paths `alive` keeps:
/// best per group, then the best group winner by the MED-less key.
fn deterministic_winner(keys: &Keys, alive: impl Fn(usize) -> bool) -> Option<usize> {
    let mut winners: SmallVec<[(Group, usize, Key); 16]> = SmallVec::new();
    for (i, (k, g)) in keys.iter().enumerate().filter(|(i, _)| alive(*i)) {
        match winners.iter_mut().find(|w| w.0 == *g) {
            Some(w) if *k < w.2 => *w = (*g, i, *k),
            Some(_) => {}
            None => winners.push((*g, i, *k)),
        }
    }
    winners
        .iter()
        .min_by_key(|w| w.2.without_med())
        .map(|w| w.1)
}

/// Index of the best path in `paths`, or `None` when it is empty.
///
/// `peers` supplies each path's session data; paths from peers missing
/// from it lose every peer-based tie-breaker.
#[must_use]
pub fn select_best(paths: &[Path], peers: &PeerTable, opts: &BestPathOptions) -> Option<usize> {
    match paths {
        [] => return None,
        [_] => return Some(0),
        // Two paths: every mode reduces to the pairwise comparison.
        [a, b] => {
            let (ka, kb) = (key_of(a, peers, opts), key_of(b, peers, opts));
            return Some(usize::from(compare_keys(&kb, &ka, opts).is_lt()));
        }
        _ => {}
    }
    winner(&keys_of(paths, peers, opts), |_| true, opts)
}

/// Index of the winner among the keyed paths `alive` keeps, in the mode
/// `opts` selects.
fn winner(keys: &Keys, alive: impl Fn(usize) -> bool, opts: &BestPathOptions) -> Option<usize> {
    if opts.always_compare_med {
        keys.iter()
            .enumerate()
            .filter(|(i, _)| alive(*i))
            .min_by_key(|(_, k)| k.0)
            .map(|(i, _)| i)
    } else if opts.deterministic_med {
        deterministic_winner(keys, alive)
    } else {
        scan(keys, alive, opts)
    }
}

/// Index of the most preferred path of `paths`, in [`rank`] order, that
/// `accept` takes, leaving out the first `skip` paths of that order;
/// `None` when it takes none.
///
/// Selects again among the paths left after each refusal instead of
/// sorting the set: `accept` usually takes the first or second path it
/// is offered, so this costs one key per path and a scan or two, where
/// [`rank`] sorts. `skip` is 1 when `paths` starts with its selected path
/// (the Loc-RIB keeps it first) and that one is known to be refused.
pub fn best_accepted(
    paths: &[Path],
    peers: &PeerTable,
    opts: &BestPathOptions,
    skip: usize,
    mut accept: impl FnMut(&Path) -> bool,
) -> Option<usize> {
    let keys = keys_of(paths, peers, opts);
    let mut alive: SmallVec<[bool; 16]> = SmallVec::from_elem(true, paths.len());
    for _ in 0..skip {
        let i = winner(&keys, |i| alive.get(i) == Some(&true), opts)?;
        *alive.get_mut(i)? = false;
    }
    loop {
        let i = winner(&keys, |i| alive.get(i) == Some(&true), opts)?;
        if accept(paths.get(i)?) {
            return Some(i);
        }
        *alive.get_mut(i)? = false;
    }
}

fn rank_keys_of(keys: &Keys, opts: &BestPathOptions) -> SmallVec<[RankKey; 8]> {
    let mut out: SmallVec<[RankKey; 8]> = keys
        .iter()
        .map(|(k, _)| RankKey { lead: *k, full: *k })
        .collect();
    if opts.always_compare_med {
        return out;
    }
    let mut order: SmallVec<[usize; 8]> = (0..keys.len()).collect();
    order.sort_by_key(|&i| keys.get(i).map(|(k, g)| (*g, *k)));
    let mut current: Option<(Group, Key)> = None;
    for i in order {
        let (Some((k, g)), Some(out)) = (keys.get(i), out.get_mut(i)) else {
            continue;
        };
        let lead = match current {
            Some((cg, max)) if cg == *g => max.max(k.without_med()),
            _ => k.without_med(),
        };
        current = Some((*g, lead));
        out.lead = lead;
    }
    out
}

/// The [`RankKey`] of every path, index-aligned with `paths`: sorting
/// `paths` by them yields the deterministic preference order (module docs).
#[must_use]
pub fn rank_keys(
    paths: &[Path],
    peers: &PeerTable,
    opts: &BestPathOptions,
) -> SmallVec<[RankKey; 8]> {
    rank_keys_of(&keys_of(paths, peers, opts), opts)
}

/// Indices of `paths`, most preferred first. The first is
/// [`select_best`]'s answer; dropping it and ranking again gives the rest
/// in the same order.
#[must_use]
pub fn rank(paths: &[Path], peers: &PeerTable, opts: &BestPathOptions) -> SmallVec<[usize; 8]> {
    let keys = keys_of(paths, peers, opts);
    if !opts.always_compare_med && !opts.deterministic_med {
        let mut taken: SmallVec<[bool; 8]> = SmallVec::from_elem(false, keys.len());
        let mut out = SmallVec::new();
        loop {
            let next = scan(&keys, |i| taken.get(i) == Some(&false), opts);
            let Some(i) = next else { break };
            if let Some(t) = taken.get_mut(i) {
                *t = true;
            }
            out.push(i);
        }
        return out;
    }
    let rk = rank_keys_of(&keys, opts);
    let mut order: SmallVec<[usize; 8]> = (0..keys.len()).collect();
    order.sort_unstable_by_key(|&i| rk.get(i).copied());
    order
}

#[cfg(test)]
mod tests;
