//! What an update group is sent for a path: the role rules of RFC 7947
//! (route server clients), RFC 4456 (reflection) and RFC 4271 (iBGP), and
//! the attribute rewriting they call for.
//!
//! Rewritten attribute sets are cached per group by source set, so a
//! rewrite is built once per distinct set, not once per prefix.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use rampart_core::rib::{AttrSet, Path, PeerInfo, SessionKind};

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
}

impl Source {
    pub(crate) fn of(info: &PeerInfo) -> Self {
        match (info.kind, info.rr_client) {
            (SessionKind::Ebgp, _) => Self::External,
            (_, true) => Self::Client,
            (_, false) => Self::NonClient,
        }
    }
}

/// Export rules and the rewrite cache of one update group.
#[derive(Debug)]
pub(crate) struct Exporter {
    role: Role,
    cluster_id: Ipv4Addr,
    cache: HashMap<AttrSet, AttrSet>,
    gc_at: usize,
}

impl Exporter {
    pub(crate) fn new(role: Role, cluster_id: Ipv4Addr) -> Self {
        Self {
            role,
            cluster_id,
            cache: HashMap::new(),
            gc_at: 1024,
        }
    }

    /// The attribute set this group advertises for `path` learned from a
    /// peer described by `info`, or `None` when the group must not get it.
    pub(crate) fn export(&mut self, path: &Path, info: &PeerInfo) -> Option<AttrSet> {
        let source = Source::of(info);
        let cluster_id = self.cluster_id;
        match (self.role, source) {
            // RFC 7947 §2.2: a route server passes routes on unchanged (no
            // own AS, NEXT_HOP, MED and communities as received).
            (Role::RsClient, _) => Some(path.attrs().clone()),
            // RFC 4456 §6: "A route from a Non-Client IBGP peer: Reflect to
            // all the Clients." Never between non-clients.
            (Role::Ibgp, Source::NonClient) => None,
            // RFC 4456 §6: routes from clients go to clients and
            // non-clients, with ORIGINATOR_ID and CLUSTER_LIST (§8).
            (Role::RrClient | Role::Ibgp, Source::Client | Source::NonClient) => {
                Some(self.rewrite(path.attrs(), |a| {
                    // RFC 4456 §8: "This attribute will be created by an RR
                    // in reflecting a route"; "A BGP Speaker SHOULD NOT
                    // create an ORIGINATOR_ID attribute if one already
                    // exists."
                    a.originator_id.get_or_insert(info.bgp_id);
                    // RFC 4456 §8: "When an RR reflects a route, it MUST
                    // prepend the local CLUSTER_ID to the CLUSTER_LIST."
                    a.cluster_list.insert(0, cluster_id);
                    a.local_pref.get_or_insert(DEFAULT_LOCAL_PREF);
                }))
            }
            // An external route to internal peers: as learned, with
            // LOCAL_PREF, which "MUST" go to internal peers (RFC 4271
            // §5.1.5).
            (Role::RrClient | Role::Ibgp, Source::External) => {
                Some(self.rewrite(path.attrs(), |a| {
                    a.local_pref.get_or_insert(DEFAULT_LOCAL_PREF);
                }))
            }
            // RFC 8212: no routes to an eBGP peer without an export policy;
            // the policy engine (#4) is what evaluates the named policies.
            (Role::Ebgp, _) => None,
        }
    }

    fn rewrite(
        &mut self,
        src: &AttrSet,
        f: impl FnOnce(&mut rampart_core::attr::PathAttributes),
    ) -> AttrSet {
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

/// RFC 4456 §8 loop prevention on receipt from an internal peer: "If the
/// local CLUSTER_ID is found in the CLUSTER_LIST, the advertisement
/// received SHOULD be ignored", and a route whose ORIGINATOR_ID is our own
/// BGP Identifier is ignored too.
pub(crate) fn reflection_loop(
    attrs: &rampart_core::attr::PathAttributes,
    router_id: Ipv4Addr,
    cluster_id: Ipv4Addr,
) -> bool {
    attrs.originator_id == Some(router_id) || attrs.cluster_list.contains(&cluster_id)
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

    const CLUSTER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

    #[test]
    fn route_server_clients_get_the_path_unchanged() {
        let p = path();
        let mut e = Exporter::new(Role::RsClient, CLUSTER);
        let out = e
            .export(&p, &info(SessionKind::Ebgp, false, [1, 1, 1, 1]))
            .unwrap();
        assert!(out.ptr_eq(p.attrs()));
    }

    #[test]
    fn reflection_sets_originator_and_prepends_cluster_id_once_per_set() {
        let p = path();
        let mut e = Exporter::new(Role::RrClient, CLUSTER);
        let client = info(SessionKind::Ibgp, true, [10, 0, 0, 7]);
        let out = e.export(&p, &client).unwrap();
        let a = out.attrs();
        assert_eq!(a.originator_id, Some(Ipv4Addr::new(10, 0, 0, 7)));
        assert_eq!(a.cluster_list, vec![CLUSTER]);
        assert_eq!(a.local_pref, Some(DEFAULT_LOCAL_PREF));
        assert_eq!(a.med, Some(5));
        // The same source set gives the same rewritten handle.
        assert!(e.export(&p, &client).unwrap().ptr_eq(&out));
    }

    #[test]
    fn existing_originator_id_is_kept() {
        let mut a = path().attrs().attrs().clone();
        a.originator_id = Some(Ipv4Addr::new(10, 9, 9, 9));
        a.cluster_list = vec![Ipv4Addr::new(192, 0, 2, 99)];
        let p = Path::new(AttrSet::new(a), PeerId::new(1).unwrap(), 0);
        let mut e = Exporter::new(Role::Ibgp, CLUSTER);
        let out = e
            .export(&p, &info(SessionKind::Ibgp, true, [10, 0, 0, 7]))
            .unwrap();
        assert_eq!(out.attrs().originator_id, Some(Ipv4Addr::new(10, 9, 9, 9)));
        assert_eq!(
            out.attrs().cluster_list,
            vec![CLUSTER, Ipv4Addr::new(192, 0, 2, 99)]
        );
    }

    #[test]
    fn non_client_routes_are_not_reflected_to_non_clients_and_ebgp_needs_policy() {
        let p = path();
        let non_client = info(SessionKind::Ibgp, false, [10, 0, 0, 8]);
        assert!(
            Exporter::new(Role::Ibgp, CLUSTER)
                .export(&p, &non_client)
                .is_none()
        );
        assert!(
            Exporter::new(Role::RrClient, CLUSTER)
                .export(&p, &non_client)
                .is_some()
        );
        let ext = info(SessionKind::Ebgp, false, [1, 1, 1, 1]);
        assert!(
            Exporter::new(Role::Ebgp, CLUSTER)
                .export(&p, &ext)
                .is_none()
        );
        let to_ibgp = Exporter::new(Role::Ibgp, CLUSTER).export(&p, &ext).unwrap();
        assert_eq!(to_ibgp.attrs().local_pref, Some(DEFAULT_LOCAL_PREF));
        assert!(to_ibgp.attrs().cluster_list.is_empty());
        assert_eq!(to_ibgp.attrs().originator_id, None);
    }

    #[test]
    fn loops_are_detected() {
        let mut a = PathAttributes::default();
        let me = Ipv4Addr::new(192, 0, 2, 10);
        assert!(!reflection_loop(&a, me, CLUSTER));
        a.cluster_list = vec![Ipv4Addr::new(1, 1, 1, 1), CLUSTER];
        assert!(reflection_loop(&a, me, CLUSTER));
        a.cluster_list.clear();
        a.originator_id = Some(me);
        assert!(reflection_loop(&a, me, CLUSTER));
    }
}
