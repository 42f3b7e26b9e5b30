//! Routes the server originates (`[[route]]`): static announcements (an
//! anycast service prefix) and aggregates of received more-specifics
//! (RFC 4271 §9.2.2.2), held in the shards as paths of [`LOCAL`].
//!
//! An aggregate's prefix lives in one shard, its more-specifics in all of
//! them: each shard counts the Loc-RIB prefixes it has under each
//! aggregate and tells the aggregate's shard when its count becomes zero or
//! non-zero; the aggregate is announced while any shard has one.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use rampart_core::attr::{Aggregator, Community, NextHop, Origin, PathAttributes, RareAttributes};
use rampart_core::nlri::Prefix;
use rampart_core::rib::{AttrSet, PeerId, PeerInfo, SessionKind};

use crate::config::{Config, NextHopSetting};

/// The peer id of the server's own routes (never a session's).
pub(crate) const LOCAL: PeerId = match PeerId::new(PeerId::MAX) {
    Some(id) => id,
    None => unreachable!(),
};

/// What the decision process knows of [`LOCAL`].
pub(crate) fn local_info(router_id: Ipv4Addr, local_as: u32) -> PeerInfo {
    PeerInfo {
        bgp_id: router_id,
        addr: IpAddr::V4(router_id),
        asn: local_as,
        kind: SessionKind::Ibgp,
        rr_client: false,
        igp_cost: 0,
    }
}

/// One configured route, ready for the shards.
#[derive(Debug, Clone)]
pub(crate) struct Originated {
    pub(crate) prefix: Prefix,
    pub(crate) attrs: AttrSet,
    /// Announced only while a more-specific is in the Loc-RIB.
    pub(crate) aggregate: bool,
    /// The more-specifics of this aggregate are not advertised.
    pub(crate) summary_only: bool,
}

impl Originated {
    /// True when `p` is strictly more specific than this route's prefix.
    pub(crate) fn covers(&self, p: &Prefix) -> bool {
        let (net, p) = (IpNet::from(self.prefix), IpNet::from(*p));
        p.prefix_len() > net.prefix_len() && net.contains(&p)
    }
}

/// The next hop `self` means: the first listen address of the family (the
/// router ID for IPv4 when none).
fn self_next_hop(config: &Config, v4: bool) -> Option<NextHop> {
    let listen = config.global.listen.iter().find(|a| a.is_ipv4() == v4);
    match (listen, v4) {
        (Some(IpAddr::V4(a)), _) => Some(NextHop::V4(*a)),
        (Some(IpAddr::V6(a)), _) => Some(NextHop::V6 {
            global: *a,
            link_local: None,
        }),
        (None, true) => Some(NextHop::V4(config.global.router_id)),
        (None, false) => None,
    }
}

/// The configured routes with their attributes: ORIGIN IGP, an empty
/// AS_PATH (the export rules prepend the local AS toward external peers),
/// the configured communities, and for aggregates ATOMIC_AGGREGATE and
/// AGGREGATOR (RFC 4271 §5.1.6, §5.1.7). A route whose next hop `self` has
/// no address of its family is skipped with a warning.
pub(crate) fn routes(config: &Config) -> Vec<Originated> {
    let g = &config.global;
    config
        .routes
        .iter()
        .filter_map(|r| {
            let v4 = matches!(r.prefix, IpNet::V4(_));
            let next_hop = match r.next_hop {
                NextHopSetting::SelfAddress => self_next_hop(config, v4),
                NextHopSetting::Address(IpAddr::V4(a)) => Some(NextHop::V4(a)),
                NextHopSetting::Address(IpAddr::V6(a)) => Some(NextHop::V6 {
                    global: a,
                    link_local: None,
                }),
            };
            let Some(next_hop) = next_hop else {
                tracing::warn!(prefix = %r.prefix, "no local address of the route's family for next-hop self; route not originated");
                return None;
            };
            let attrs = PathAttributes {
                origin: Some(Origin::Igp),
                next_hop: Some(next_hop),
                rare: RareAttributes {
                    atomic_aggregate: r.aggregate,
                    aggregator: r.aggregate.then_some(Aggregator {
                        asn: g.local_as,
                        addr: g.router_id,
                    }),
                    ..RareAttributes::default()
                }
                .into(),
                communities: r
                    .communities
                    .iter()
                    .map(|(a, v)| Community((u32::from(*a) << 16) | u32::from(*v)))
                    .collect(),
                ..PathAttributes::default()
            };
            Some(Originated {
                prefix: Prefix::from(r.prefix),
                attrs: AttrSet::new(attrs),
                aggregate: r.aggregate,
                summary_only: r.summary_only,
            })
        })
        .collect()
}
