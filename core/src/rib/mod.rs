//! RIB building blocks: interned attribute sets, Adj-RIB-In, Loc-RIB,
//! Adj-RIB-Out and the decision process ([RFC 4271 §9.1], [RFC 4456 §9]).
//!
//! Every type here is a plain single-owner struct: `Send`, not `Sync`, no
//! locks. The server shards the RIB by prefix hash and gives each worker its
//! own [`Interner`], [`AdjRibIn`], [`LocRib`] and [`AdjRibOut`]s.
//!
//! ```text
//!  UPDATE attrs --Interner--> AttrSet (Arc, one per distinct set)
//!        |
//!  LocRib owns the AdjRibIn (post-policy): all peers of the shard, one entry
//!           prefix -> [best Path, other paths...]
//!        |  select_best (best_path) on every change moves the winner first;
//!        |  rank / best_for: ADD-PATH and the per-client view
//!        |  export policy per update group
//!  AdjRibOut: prefix -> advertised state + change log, cursors per member
//! ```
//!
//! Memory layout (see [`AdjRibIn`]): a [`Path`] is 16 bytes (attribute
//! handle, peer id with the stale flag folded in, ADD-PATH id); the prefix
//! tables are dense slots (in chunks) plus a hash index of `u32` slot numbers.
//! Measured (`heap_bytes`, allocator overhead excluded):
//!
//! ```text
//! synthetic 1M prefixes x 1 peer, 300k sets:   table 32.5 B/path, sets 43.1 B/path
//! synthetic 1M prefixes x 2 peers, 300k sets:  table 40.2 B/path, sets 21.6 B/path
//! route-views2 slice, 41k prefixes x 20 peers: table 20.1 B/path, sets 34.4 B/path
//! ```
//!
//! (the `bytes_per_path` and `route_views_slice_through_the_rib` tests
//! print them). The sets dominate where few paths share one:
//! `PathAttributes` is 96 bytes before its vectors (152 before the rare
//! attributes went behind one pointer, 248 before the rarely used lists
//! became `ThinVec`s).
//!
//! [RFC 4271 §9.1]: https://www.rfc-editor.org/rfc/rfc4271#section-9.1
//! [RFC 4456 §9]: https://www.rfc-editor.org/rfc/rfc4456#section-9

pub mod adj_in;
pub mod adj_out;
pub mod attr_intern;
pub mod best_path;
pub mod loc;
mod prefetch;
mod prefix_map;
#[cfg(test)]
mod real_data_tests;
mod slot_index;
mod slots;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hashbrown::HashMap;

pub use adj_in::{AdjRibIn, Removal};
pub use adj_out::{AdjRibOut, Advertised, DenseAdjRibOut, Drain, MemberId, MemberPosition, OutKey};
pub use attr_intern::{AttrSet, InternStats, Interner};
pub use best_path::{
    BestPathOptions, RankKey, best_accepted, compare, rank, rank_keys, select_best, unchanged_by,
};
pub use loc::{LocChange, LocRib, Reselected};

/// A table operation failed because a shard table is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RibError {
    /// A prefix table already holds `u32::MAX` prefixes (slot numbers are
    /// 32-bit to keep the hash index at 4 bytes per bucket).
    #[error("RIB table full ({0} prefixes)")]
    Full(usize),
}

/// A peer handle inside one RIB: a number below 2³¹ handed out by the
/// server. The top bit is reserved: [`Path`] stores its stale flag there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(u32);

impl PeerId {
    /// Largest valid id (2³¹ − 1).
    pub const MAX: u32 = (1 << 31) - 1;

    /// A peer id, or `None` when `id` exceeds [`PeerId::MAX`].
    #[must_use]
    pub const fn new(id: u32) -> Option<Self> {
        if id > Self::MAX { None } else { Some(Self(id)) }
    }

    /// The number.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl std::fmt::Display for PeerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "peer#{}", self.0)
    }
}

/// The kind of BGP session a path was learned over (RFC 4271 §9.1.2.2 d;
/// confederation peers per RFC 5065 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum SessionKind {
    /// External peer (different AS).
    #[default]
    Ebgp,
    /// Internal peer (same AS), including route-reflector clients.
    Ibgp,
    /// Confederation-external peer (another member AS of our confederation).
    /// Counts as internal in the decision process, as in FRR.
    Confed,
}

impl SessionKind {
    /// True for iBGP and confederation sessions: the paths that lose step d
    /// of RFC 4271 §9.1.2.2 against eBGP paths.
    #[must_use]
    pub const fn is_internal(self) -> bool {
        !matches!(self, Self::Ebgp)
    }
}

/// What the decision process needs to know about the peer a path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerInfo {
    /// The peer's BGP identifier from its OPEN (RFC 4271 §4.2).
    pub bgp_id: Ipv4Addr,
    /// The peer's transport address.
    pub addr: IpAddr,
    /// The peer's AS number (4-octet).
    pub asn: u32,
    /// Session kind.
    pub kind: SessionKind,
    /// The peer is a route-reflector client (RFC 4456 §6); export rules use
    /// it, best path does not.
    pub rr_client: bool,
    /// Interior cost to this peer's next hops (RFC 4271 §9.1.2.2 e). Rampart
    /// runs no IGP: the cost is configured per peer and defaults to 0, so
    /// [`Path`] needs no field for it.
    pub igp_cost: u32,
}

impl PeerInfo {
    /// The stand-in for a [`PeerId`] missing from the [`PeerTable`]: it loses
    /// every tie-breaker (highest identifier, address and cost, internal).
    pub const UNKNOWN: Self = Self {
        bgp_id: Ipv4Addr::BROADCAST,
        addr: IpAddr::V6(Ipv6Addr::from_bits(u128::MAX)),
        asn: 0,
        kind: SessionKind::Ibgp,
        rr_client: false,
        igp_cost: u32::MAX,
    };
}

/// Peers known to one RIB shard, and the local router identifier.
#[derive(Debug, Clone)]
pub struct PeerTable {
    local_id: Ipv4Addr,
    peers: HashMap<PeerId, PeerInfo, foldhash::fast::RandomState>,
}

impl PeerTable {
    /// An empty table for a speaker whose BGP identifier is `local_id`.
    #[must_use]
    pub fn new(local_id: Ipv4Addr) -> Self {
        Self {
            local_id,
            peers: HashMap::default(),
        }
    }

    /// The local BGP identifier (RFC 4271 §4.2). Import uses it for the
    /// ORIGINATOR_ID loop check of RFC 4456 §8.
    #[must_use]
    pub const fn local_id(&self) -> Ipv4Addr {
        self.local_id
    }

    /// Adds or replaces a peer; returns the previous entry.
    pub fn insert(&mut self, id: PeerId, info: PeerInfo) -> Option<PeerInfo> {
        self.peers.insert(id, info)
    }

    /// Removes a peer (call after [`AdjRibIn::withdraw_all`]).
    pub fn remove(&mut self, id: PeerId) -> Option<PeerInfo> {
        self.peers.remove(&id)
    }

    /// The peer's entry, if known.
    #[must_use]
    pub fn get(&self, id: PeerId) -> Option<&PeerInfo> {
        self.peers.get(&id)
    }

    /// The peer's entry, or [`PeerInfo::UNKNOWN`].
    #[must_use]
    pub fn info(&self, id: PeerId) -> &PeerInfo {
        self.peers.get(&id).unwrap_or(&PeerInfo::UNKNOWN)
    }

    /// Number of peers.
    #[must_use]
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// True when no peer is known.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

const STALE_BIT: u32 = 1 << 31;

/// A copy of what [`Path::same_route`] compares (the attribute set by its
/// address), taken before a table change to tell whether the selected
/// route changed, and reported as the new selected route
/// ([`LocChange::NewBest`]). 16 bytes: taking or dropping one touches no
/// reference count (which sessions and shards on other threads share).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteId {
    attrs: usize,
    peer: u32,
    path_id: u32,
}

impl RouteId {
    /// The peer of the route.
    #[must_use]
    pub const fn peer(self) -> PeerId {
        PeerId(self.peer)
    }
}

/// One path for a prefix: the interned attributes, the peer it came from
/// and its received ADD-PATH identifier (RFC 7911 §3; 0 without ADD-PATH).
///
/// 16 bytes: the stale flag (graceful restart, RFC 4724 §4.2) lives in the
/// top bit of the peer number, which is why [`PeerId`] stops at 2³¹ − 1.
/// Equality compares the attribute handle by pointer and includes the flag;
/// use [`Path::same_route`] to ignore it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path {
    attrs: AttrSet,
    peer_flags: u32,
    path_id: u32,
}

impl Path {
    /// A fresh (not stale) path.
    #[must_use]
    pub fn new(attrs: AttrSet, peer: PeerId, path_id: u32) -> Self {
        Self {
            attrs,
            peer_flags: peer.0,
            path_id,
        }
    }

    /// The interned attribute set.
    #[must_use]
    pub const fn attrs(&self) -> &AttrSet {
        &self.attrs
    }

    /// The peer the path was learned from.
    #[must_use]
    pub const fn peer(&self) -> PeerId {
        PeerId(self.peer_flags & !STALE_BIT)
    }

    /// Received ADD-PATH path identifier, 0 when ADD-PATH is not in use.
    #[must_use]
    pub const fn path_id(&self) -> u32 {
        self.path_id
    }

    /// True when the path was retained across a peer restart and not yet
    /// refreshed (RFC 4724 §4.2).
    #[must_use]
    pub const fn is_stale(&self) -> bool {
        self.peer_flags & STALE_BIT != 0
    }

    /// Same attribute set, peer and path id, ignoring the stale flag.
    #[must_use]
    pub fn same_route(&self, other: &Self) -> bool {
        self.attrs == other.attrs && self.peer() == other.peer() && self.path_id == other.path_id
    }

    /// True when this path is the one `(peer, path_id)` names.
    #[must_use]
    pub const fn is_key(&self, peer: PeerId, path_id: u32) -> bool {
        self.peer().0 == peer.0 && self.path_id == path_id
    }

    /// What identifies the route for change detection: attribute set (by
    /// handle), peer and path id; the stale flag left out, as in
    /// [`Path::same_route`].
    pub(crate) fn route_id(&self) -> RouteId {
        RouteId {
            attrs: self.attrs.addr(),
            peer: self.peer().0,
            path_id: self.path_id,
        }
    }

    pub(crate) const fn set_stale(&mut self, stale: bool) {
        if stale {
            self.peer_flags |= STALE_BIT;
        } else {
            self.peer_flags &= !STALE_BIT;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::PathAttributes;

    #[test]
    fn path_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Path>(), 16);
        assert_eq!(std::mem::size_of::<Option<Path>>(), 16);
    }

    /// The lists a set rarely has (communities of each kind, CLUSTER_LIST,
    /// unknown attributes) are one pointer each while empty, so a set with
    /// its `Arc` counters fits jemalloc's 192-byte size class (it took
    /// the 320-byte one with a `Vec` each).
    #[test]
    fn attribute_set_is_compact() {
        let size = std::mem::size_of::<crate::attr::PathAttributes>();
        eprintln!("PathAttributes: {size} bytes");
        assert!(size + 16 <= 192, "{size}");
    }

    #[test]
    fn peer_id_rejects_top_bit() {
        assert!(PeerId::new(PeerId::MAX).is_some());
        assert!(PeerId::new(PeerId::MAX + 1).is_none());
    }

    #[test]
    fn stale_flag_does_not_change_peer() {
        let peer = PeerId::new(PeerId::MAX).unwrap();
        let mut p = Path::new(AttrSet::new(PathAttributes::default()), peer, 7);
        p.set_stale(true);
        assert!(p.is_stale());
        assert_eq!(p.peer(), peer);
        assert!(p.is_key(peer, 7));
        let q = p.clone();
        p.set_stale(false);
        assert!(!p.is_stale());
        assert!(p.same_route(&q));
        assert_ne!(p, q);
    }

    #[test]
    fn shard_types_are_send() {
        fn send<T: Send>() {}
        send::<Interner>();
        send::<AdjRibIn>();
        send::<LocRib>();
        send::<AdjRibOut>();
        send::<PeerTable>();
        send::<Path>();
    }

    #[test]
    fn confed_counts_as_internal() {
        assert!(!SessionKind::Ebgp.is_internal());
        assert!(SessionKind::Ibgp.is_internal());
        assert!(SessionKind::Confed.is_internal());
    }
}
