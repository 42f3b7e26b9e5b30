//! What an update group is sent for a path: the role rules of RFC 7947
//! (route server clients), RFC 4456 (reflection) and RFC 4271 (iBGP), and
//! the attribute rewriting they call for.
//!
//! Rewritten attribute sets are cached per group by source set, so a
//! rewrite is built once per distinct set, not once per prefix.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use rampart_core::attr::{NextHop, PathAttributes};
use rampart_core::nlri::Prefix;
use rampart_core::rib::{AttrSet, Interner, Path, PeerInfo, SessionKind};

use super::originate::LOCAL;
use super::policy::Chain;
use crate::config::Role;

/// LOCAL_PREF sent to internal peers for a path that has none
/// (RFC 4271 §5.1.5), the common default.
pub(crate) const DEFAULT_LOCAL_PREF: u32 = 100;

/// Where a path came from, as the export rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// An external peer or a route server client.
    External,
    /// A route reflector client (RFC 4456 §6).
    Client,
    /// An internal peer that is not a client.
    NonClient,
    /// The server itself (`[[route]]`).
    Local,
}

impl Source {
    pub(crate) fn of(path: &Path, info: &PeerInfo) -> Self {
        if path.peer() == LOCAL {
            return Self::Local;
        }
        match (info.kind, info.rr_client) {
            (SessionKind::Ebgp, _) => Self::External,
            (_, true) => Self::Client,
            (_, false) => Self::NonClient,
        }
    }
}

/// What an eBGP group's routes get (RFC 4271 §5.1.2, §5.1.3): the local AS
/// prepended and the session's own address as NEXT_HOP.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EbgpRewrite {
    pub(crate) local_as: u32,
    /// The session's local address; `None` keeps the NEXT_HOP.
    pub(crate) next_hop_self: Option<IpAddr>,
}

/// Export rules, export filters and the rewrite cache of one update group.
#[derive(Debug)]
pub(crate) struct Exporter {
    role: Role,
    cluster_id: Ipv4Addr,
    local_as: u32,
    chain: Option<Arc<Chain>>,
    ebgp: Option<EbgpRewrite>,
    /// Honour NO_ADVERTISE, NO_EXPORT and NO_EXPORT_SUBCONFED (RFC 1997).
    well_known: bool,
    cache: HashMap<AttrSet, AttrSet>,
    /// Sets the export filters rewrote, shared between prefixes.
    filtered: Interner,
    gc_at: usize,
}

impl Exporter {
    pub(crate) fn new(role: Role, cluster_id: Ipv4Addr, local_as: u32) -> Self {
        Self {
            role,
            cluster_id,
            local_as,
            chain: None,
            ebgp: None,
            well_known: true,
            cache: HashMap::new(),
            filtered: Interner::new(),
            gc_at: 1024,
        }
    }

    /// Runs `chain` before the role rules.
    pub(crate) fn with_filters(mut self, chain: Option<Arc<Chain>>) -> Self {
        self.chain = chain;
        self
    }

    /// True when the export filters read the RPKI state.
    pub(crate) fn reads_rpki(&self) -> bool {
        self.chain.as_ref().is_some_and(|c| c.reads_rpki())
    }

    /// Whether the well-known communities of RFC 1997 stop a path.
    pub(crate) fn with_communities(mut self, interpret: bool) -> Self {
        self.well_known = interpret;
        self
    }

    /// eBGP attribute rules toward this group's (single) member.
    pub(crate) fn with_ebgp(mut self, ebgp: EbgpRewrite) -> Self {
        self.ebgp = Some(ebgp);
        self
    }

    /// The attribute set this group advertises for `path` of `prefix`
    /// learned from a peer described by `info`, or `None` when the group
    /// must not get it (role rules, or the export filters reject it).
    pub(crate) fn export(
        &mut self,
        prefix: &Prefix,
        path: &Path,
        info: &PeerInfo,
    ) -> Option<AttrSet> {
        let source = Source::of(path, info);
        match (self.role, source) {
            // RFC 4456 §6: "A route from a Non-Client IBGP peer: Reflect to
            // all the Clients." Never between non-clients.
            (Role::Ibgp, Source::NonClient) => return None,
            // RFC 8212 §3: no routes to an eBGP peer without export policy.
            (Role::Ebgp, _) if self.chain.is_none() => return None,
            _ => {}
        }
        if self.well_known && !well_known_allows(self.role, path.attrs().attrs()) {
            return None;
        }
        let attrs = match &self.chain {
            Some(c) => c.run(*prefix, path.attrs(), &mut self.filtered).ok()?,
            None => path.attrs().clone(),
        };
        let cluster_id = self.cluster_id;
        match (self.role, source) {
            // The server's own routes go to its external clients with its
            // AS (RFC 4271 §5.1.2), to internal peers with LOCAL_PREF.
            (Role::RsClient, Source::Local) => {
                let local_as = self.local_as;
                Some(self.rewrite(&attrs, |a| a.as_path.prepend(local_as, 1)))
            }
            (Role::RrClient | Role::Ibgp, Source::Local) => Some(self.rewrite(&attrs, |a| {
                a.local_pref.get_or_insert(DEFAULT_LOCAL_PREF);
            })),
            // RFC 7947 §2.2: a route server passes routes on unchanged (no
            // own AS, NEXT_HOP, MED and communities as received).
            (Role::RsClient, _) => Some(attrs),
            // RFC 4456 §6: routes from clients go to clients and
            // non-clients, with ORIGINATOR_ID and CLUSTER_LIST (§8).
            (Role::RrClient | Role::Ibgp, Source::Client | Source::NonClient) => {
                Some(self.rewrite(&attrs, |a| {
                    // RFC 4456 §8: "This attribute will be created by an RR
                    // in reflecting a route"; "A BGP Speaker SHOULD NOT
                    // create an ORIGINATOR_ID attribute if one already
                    // exists."
                    a.rare.originator_id.get_or_insert(info.bgp_id);
                    // RFC 4456 §8: "When an RR reflects a route, it MUST
                    // prepend the local CLUSTER_ID to the CLUSTER_LIST."
                    a.rare.cluster_list.insert(0, cluster_id);
                    a.local_pref.get_or_insert(DEFAULT_LOCAL_PREF);
                }))
            }
            // An external route to internal peers: as learned, with
            // LOCAL_PREF, which "MUST" go to internal peers (RFC 4271
            // §5.1.5).
            (Role::RrClient | Role::Ibgp, Source::External) => Some(self.rewrite(&attrs, |a| {
                a.local_pref.get_or_insert(DEFAULT_LOCAL_PREF);
            })),
            (Role::Ebgp, _) => {
                let e = self.ebgp?;
                Some(self.rewrite(&attrs, |a| ebgp_rules(a, prefix, e)))
            }
        }
    }

    /// Attribute sets this exporter made (role rewrites and sets its
    /// filters changed) and the bytes they and their tables allocate.
    pub(crate) fn memory(&self) -> (usize, usize) {
        let rewrites: usize = self.cache.values().map(AttrSet::heap_bytes).sum();
        (
            self.cache.len() + self.filtered.len(),
            // A std `HashMap` slot is the pair plus one control byte.
            self.cache.capacity() * (2 * size_of::<AttrSet>() + 1)
                + rewrites
                + self.filtered.heap_bytes(),
        )
    }

    fn rewrite(&mut self, src: &AttrSet, f: impl FnOnce(&mut PathAttributes)) -> AttrSet {
        if let Some(out) = self.cache.get(src) {
            return out.clone();
        }
        let mut attrs = src.attrs().clone();
        f(&mut attrs);
        let out = AttrSet::new(attrs);
        if self.cache.len() >= self.gc_at {
            // Drop rewrites whose source set nobody else holds any more.
            self.cache.retain(|k, _| k.handle_count() > 1);
            self.gc_at = (self.cache.len() * 2).max(1024);
        }
        self.cache.insert(src.clone(), out.clone());
        out
    }
}

/// RFC 1997: "All routes received carrying a communities attribute
/// containing [NO_ADVERTISE] MUST NOT be advertised to other BGP peers";
/// NO_EXPORT routes "MUST NOT be advertised outside a BGP confederation
/// boundary", NO_EXPORT_SUBCONFED routes not to external peers. Route
/// server clients and eBGP peers are external; reflection clients and
/// iBGP peers internal. Read on the path as stored (after import policy,
/// before export filters, which may add them for the receiver).
fn well_known_allows(role: Role, a: &PathAttributes) -> bool {
    use rampart_core::attr::Community;
    let has = |c: Community| a.communities.contains(&c);
    if has(Community::NO_ADVERTISE) {
        return false;
    }
    let external = matches!(role, Role::RsClient | Role::Ebgp);
    !(external && (has(Community::NO_EXPORT) || has(Community::NO_EXPORT_SUBCONFED)))
}

/// The attribute rules toward an external peer.
fn ebgp_rules(a: &mut PathAttributes, prefix: &Prefix, e: EbgpRewrite) {
    // RFC 4271 §5.1.2: "the advertising speaker ... MUST prepend its own
    // AS number as the last element of the sequence".
    a.as_path.prepend(e.local_as, 1);
    // RFC 4271 §5.1.3: the NEXT_HOP toward an external peer is the
    // speaker's own address on the session (third-party next hops aside).
    match (prefix, e.next_hop_self) {
        (Prefix::V4(_), Some(IpAddr::V4(me))) => a.next_hop = Some(NextHop::V4(me)),
        (Prefix::V6(_), Some(IpAddr::V6(me))) => {
            a.next_hop = Some(NextHop::V6 {
                global: me,
                link_local: None,
            });
        }
        _ => {}
    }
    // RFC 4271 §5.1.5: LOCAL_PREF "MUST NOT" go to external peers;
    // §5.1.4: a received MED "MUST NOT be propagated to other neighboring
    // ASes"; RFC 4456 §8 attributes are internal.
    a.local_pref = None;
    a.med = None;
    a.rare.take_reflection();
}

/// RFC 4456 §8 loop prevention on receipt from an internal peer: "If the
/// local CLUSTER_ID is found in the CLUSTER_LIST, the advertisement
/// received SHOULD be ignored", and a route whose ORIGINATOR_ID is our own
/// BGP Identifier is ignored too.
pub(crate) fn reflection_loop(
    attrs: &rampart_core::attr::PathAttributes,
    router_id: Ipv4Addr,
    cluster_id: Ipv4Addr,
) -> bool {
    attrs.rare.originator_id == Some(router_id) || attrs.rare.cluster_list.contains(&cluster_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::attr::{AsPath, NextHop, PathAttributes};
    use rampart_core::rib::PeerId;

    fn info(kind: SessionKind, rr_client: bool, id: [u8; 4]) -> PeerInfo {
        PeerInfo {
            bgp_id: Ipv4Addr::from(id),
            addr: "198.18.0.9".parse().unwrap(),
            asn: 64500,
            kind,
            rr_client,
            igp_cost: 0,
        }
    }

    fn path() -> Path {
        let a = PathAttributes {
            as_path: AsPath::from_sequence([64501]),
            next_hop: Some(NextHop::V4("198.18.0.2".parse().unwrap())),
            med: Some(5),
            ..PathAttributes::default()
        };
        Path::new(AttrSet::new(a), PeerId::new(1).unwrap(), 0)
    }

    fn pfx() -> Prefix {
        "203.0.113.0/24".parse::<ipnet::IpNet>().unwrap().into()
    }

    const CLUSTER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

    #[test]
    fn well_known_communities_stop_paths_by_role() {
        use rampart_core::attr::Community;
        let with = |c: Community| {
            let mut a = path().attrs().attrs().clone();
            a.communities = vec![Community::new(64501, 1), c].into();
            Path::new(AttrSet::new(a), PeerId::new(1).unwrap(), 0)
        };
        let client = info(SessionKind::Ibgp, true, [10, 0, 0, 7]);
        let external = info(SessionKind::Ebgp, false, [10, 0, 0, 8]);
        let sends = |role: Role, interpret: bool, c: Community, from: &PeerInfo| {
            Exporter::new(role, CLUSTER, 64500)
                .with_communities(interpret)
                .export(&pfx(), &with(c), from)
                .is_some()
        };
        // NO_ADVERTISE: to nobody.
        for role in [Role::RrClient, Role::Ibgp, Role::RsClient] {
            assert!(
                !sends(role, true, Community::NO_ADVERTISE, &client),
                "{role:?}"
            );
        }
        // NO_EXPORT / NO_EXPORT_SUBCONFED: internal peers only.
        for c in [Community::NO_EXPORT, Community::NO_EXPORT_SUBCONFED] {
            assert!(sends(Role::RrClient, true, c, &client));
            assert!(sends(Role::Ibgp, true, c, &external));
            assert!(!sends(Role::RsClient, true, c, &external));
        }
        // Off (the route server client default): passed on unchanged.
        assert!(sends(
            Role::RsClient,
            false,
            Community::NO_EXPORT,
            &external
        ));
        assert!(sends(
            Role::RsClient,
            false,
            Community::NO_ADVERTISE,
            &external
        ));
        // Other communities never stop a path.
        assert!(sends(
            Role::RsClient,
            true,
            Community::new(65535, 666),
            &external
        ));
    }

    #[test]
    fn route_server_clients_get_the_path_unchanged() {
        let p = path();
        let mut e = Exporter::new(Role::RsClient, CLUSTER, 64500);
        let out = e
            .export(&pfx(), &p, &info(SessionKind::Ebgp, false, [1, 1, 1, 1]))
            .unwrap();
        assert!(out.ptr_eq(p.attrs()));
    }

    #[test]
    fn reflection_sets_originator_and_prepends_cluster_id_once_per_set() {
        let p = path();
        let mut e = Exporter::new(Role::RrClient, CLUSTER, 64500);
        let client = info(SessionKind::Ibgp, true, [10, 0, 0, 7]);
        let out = e.export(&pfx(), &p, &client).unwrap();
        let a = out.attrs();
        assert_eq!(a.rare.originator_id, Some(Ipv4Addr::new(10, 0, 0, 7)));
        assert_eq!(a.rare.cluster_list, vec![CLUSTER]);
        assert_eq!(a.local_pref, Some(DEFAULT_LOCAL_PREF));
        assert_eq!(a.med, Some(5));
        // The same source set gives the same rewritten handle.
        assert!(e.export(&pfx(), &p, &client).unwrap().ptr_eq(&out));
    }

    #[test]
    fn existing_originator_id_is_kept() {
        let mut a = path().attrs().attrs().clone();
        a.rare.originator_id = Some(Ipv4Addr::new(10, 9, 9, 9));
        a.rare.cluster_list = vec![Ipv4Addr::new(192, 0, 2, 99)].into();
        let p = Path::new(AttrSet::new(a), PeerId::new(1).unwrap(), 0);
        let mut e = Exporter::new(Role::Ibgp, CLUSTER, 64500);
        let out = e
            .export(&pfx(), &p, &info(SessionKind::Ibgp, true, [10, 0, 0, 7]))
            .unwrap();
        assert_eq!(
            out.attrs().rare.originator_id,
            Some(Ipv4Addr::new(10, 9, 9, 9))
        );
        assert_eq!(
            out.attrs().rare.cluster_list,
            vec![CLUSTER, Ipv4Addr::new(192, 0, 2, 99)]
        );
    }

    #[test]
    fn non_client_routes_are_not_reflected_to_non_clients_and_ebgp_needs_policy() {
        let p = path();
        let non_client = info(SessionKind::Ibgp, false, [10, 0, 0, 8]);
        assert!(
            Exporter::new(Role::Ibgp, CLUSTER, 64500)
                .export(&pfx(), &p, &non_client)
                .is_none()
        );
        assert!(
            Exporter::new(Role::RrClient, CLUSTER, 64500)
                .export(&pfx(), &p, &non_client)
                .is_some()
        );
        let ext = info(SessionKind::Ebgp, false, [1, 1, 1, 1]);
        assert!(
            Exporter::new(Role::Ebgp, CLUSTER, 64500)
                .export(&pfx(), &p, &ext)
                .is_none()
        );
        let to_ibgp = Exporter::new(Role::Ibgp, CLUSTER, 64500)
            .export(&pfx(), &p, &ext)
            .unwrap();
        assert_eq!(to_ibgp.attrs().local_pref, Some(DEFAULT_LOCAL_PREF));
        assert!(to_ibgp.attrs().rare.cluster_list.is_empty());
        assert_eq!(to_ibgp.attrs().rare.originator_id, None);
    }

    #[test]
    fn loops_are_detected() {
        let mut a = PathAttributes::default();
        let me = Ipv4Addr::new(192, 0, 2, 10);
        assert!(!reflection_loop(&a, me, CLUSTER));
        a.rare.cluster_list = vec![Ipv4Addr::new(1, 1, 1, 1), CLUSTER].into();
        assert!(reflection_loop(&a, me, CLUSTER));
        a.rare.cluster_list.clear();
        a.rare.originator_id = Some(me);
        assert!(reflection_loop(&a, me, CLUSTER));
    }
}
