//! `show routes`: what the control thread asks each shard, and the rows it
//! gets back.

use std::net::IpAddr;
use std::sync::mpsc;

use ipnet::IpNet;
use rampart_core::attr::{NextHop, Origin, PathAttributes, SegmentType};
use rampart_core::nlri::Prefix;
use rampart_core::rib::{AttrSet, PeerId};
use serde::Serialize;

use crate::control::Table;

/// Which prefixes a query covers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Which {
    /// Every prefix (up to the limit).
    All,
    /// Exactly this prefix.
    Exact(Prefix),
    /// The longest prefix covering this one (an address is a /32 or /128).
    Longest(Prefix),
}

/// A `show routes` request as a shard runs it.
#[derive(Debug)]
pub(crate) struct RouteQuery {
    pub(crate) which: Which,
    pub(crate) table: Table,
    /// Paths from this peer; for [`Table::Out`], the peer routes go to.
    pub(crate) peer: Option<PeerId>,
    pub(crate) limit: usize,
    pub(crate) reply: mpsc::Sender<Vec<RouteRow>>,
}

/// One path in a `show routes` answer.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RouteRow {
    /// For sorting the merged answer.
    #[serde(skip)]
    pub(crate) key: Prefix,
    pub(crate) prefix: String,
    /// The peer the path was learned from.
    pub(crate) from: Option<IpAddr>,
    /// The Loc-RIB best path of the prefix.
    pub(crate) best: bool,
    /// Kept only before import policy (rejected by it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) filtered: bool,
    /// Why the import rejected it (with `filtered`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    pub(crate) as_path: String,
    pub(crate) next_hop: Option<String>,
    pub(crate) origin: Option<&'static str>,
    pub(crate) med: Option<u32>,
    pub(crate) local_pref: Option<u32>,
    pub(crate) communities: Vec<String>,
    pub(crate) large_communities: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) cluster_list: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) originator_id: Option<String>,
    /// The route's RPKI state (RFC 6811) under the VRPs in force, as
    /// received: `valid`, `invalid` or `not-found`; absent while no RPKI
    /// cache's payloads are in use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rpki: Option<&'static str>,
}

/// `AS_PATH` as operators write it: sets in braces.
pub(crate) fn as_path_text(a: &PathAttributes) -> String {
    let mut out = Vec::new();
    for s in a.as_path.segments() {
        let asns: Vec<String> = s.asns.iter().map(u32::to_string).collect();
        match s.kind {
            SegmentType::AsSet | SegmentType::ConfedSet => {
                out.push(format!("{{{}}}", asns.join(" ")))
            }
            _ => out.push(asns.join(" ")),
        }
    }
    out.join(" ")
}

fn next_hop_text(nh: &NextHop) -> String {
    match nh {
        NextHop::V4(a) => a.to_string(),
        NextHop::V6 { global, .. } => global.to_string(),
    }
}

impl RouteRow {
    pub(crate) fn new(prefix: &Prefix, from: Option<IpAddr>, attrs: &AttrSet) -> Self {
        let a = attrs.attrs();
        Self {
            key: *prefix,
            prefix: prefix.to_string(),
            from,
            best: false,
            filtered: false,
            reason: None,
            as_path: as_path_text(a),
            next_hop: a.next_hop.as_ref().map(next_hop_text),
            origin: a.origin.map(|o| match o {
                Origin::Igp => "igp",
                Origin::Egp => "egp",
                Origin::Incomplete => "incomplete",
            }),
            med: a.med,
            local_pref: a.local_pref,
            communities: a.communities.iter().map(ToString::to_string).collect(),
            large_communities: a
                .large_communities
                .iter()
                .map(ToString::to_string)
                .collect(),
            cluster_list: a
                .rare
                .cluster_list
                .iter()
                .map(ToString::to_string)
                .collect(),
            originator_id: a.rare.originator_id.map(|o| o.to_string()),
            rpki: None,
        }
    }
}

/// Parses `show routes` prefix text: a prefix, or an address (a host
/// prefix; only meaningful with longest match).
pub(crate) fn parse_prefix(text: &str) -> Option<Prefix> {
    if let Ok(n) = text.parse::<IpNet>() {
        return Some(Prefix::from(n.trunc()));
    }
    let a: IpAddr = text.parse().ok()?;
    Some(Prefix::from(IpNet::from(a)))
}

/// Every prefix covering `p` (itself included), longest first.
pub(crate) fn covering(p: Prefix) -> impl Iterator<Item = Prefix> {
    let net = IpNet::from(p);
    (0..=net.prefix_len()).rev().filter_map(move |len| {
        IpNet::new(net.addr(), len)
            .ok()
            .map(|n| Prefix::from(n.trunc()))
    })
}
