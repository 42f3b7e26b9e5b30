//! A common per-prefix shape for comparing our routes with bgpkit-parser's
//! `BgpElem`s: kind, peer, prefix, path id, next hop, AS path, communities
//! and large communities.

use std::net::IpAddr;

use bgpkit_parser::models::{AsPathSegment, Community as BkCommunity, ElemType, MetaCommunity};
use rampart_core::attr::{NextHop, SegmentType};
use rampart_core::mrt::{Route, RouteKind};

/// One prefix event in a form both parsers map to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Elem {
    /// `'A'` for announcements and RIB entries, `'W'` for withdrawals.
    pub kind: char,
    /// Peer address.
    pub peer: IpAddr,
    /// Peer AS.
    pub peer_as: u32,
    /// Prefix, as text.
    pub prefix: String,
    /// ADD-PATH path identifier.
    pub path_id: Option<u32>,
    /// Next hop (announcements only).
    pub next_hop: Option<IpAddr>,
    /// AS path segments as (type code, ASNs).
    pub as_path: Vec<(u8, Vec<u32>)>,
    /// Standard communities as 32-bit values.
    pub communities: Vec<u32>,
    /// Large communities.
    pub large: Vec<[u32; 3]>,
}

/// The address bgpkit reports for an MP next hop: the first address,
/// unless it is link-local and the second is not (its `global_addr`).
#[must_use]
pub fn next_hop_addr(nh: &NextHop) -> IpAddr {
    match *nh {
        NextHop::V4(a) => IpAddr::V4(a),
        NextHop::V6 { global, link_local } => match link_local {
            Some(ll) if global.is_unicast_link_local() && !ll.is_unicast_link_local() => {
                IpAddr::V6(ll)
            }
            _ => IpAddr::V6(global),
        },
    }
}

/// Our route as an [`Elem`].
#[must_use]
pub fn from_route(r: &Route) -> Elem {
    let a = &r.attrs;
    let announce = r.kind != RouteKind::Withdraw;
    let as_path = a
        .as_path
        .segments()
        .map(|s| {
            let t = match s.kind {
                SegmentType::AsSet => 1,
                SegmentType::AsSequence => 2,
                SegmentType::ConfedSequence => 3,
                SegmentType::ConfedSet => 4,
            };
            (t, s.asns.to_vec())
        })
        .collect();
    Elem {
        kind: if announce { 'A' } else { 'W' },
        peer: r.peer.addr,
        peer_as: r.peer.asn,
        prefix: r.prefix.to_string(),
        path_id: r.path_id,
        next_hop: if announce {
            a.next_hop.as_ref().map(next_hop_addr)
        } else {
            None
        },
        as_path,
        communities: a.communities.iter().map(|c| c.0).collect(),
        large: a
            .large_communities
            .iter()
            .map(|l| [l.global, l.local1, l.local2])
            .collect(),
    }
}

/// A bgpkit elem as an [`Elem`].
#[must_use]
pub fn from_bgpkit(e: &bgpkit_parser::BgpElem) -> Elem {
    let announce = e.elem_type == ElemType::ANNOUNCE;
    let as_path = e
        .as_path
        .as_ref()
        .map(|p| {
            p.segments
                .iter()
                .map(|s| {
                    let (t, v) = match s {
                        AsPathSegment::AsSet(v) => (1, v),
                        AsPathSegment::AsSequence(v) => (2, v),
                        AsPathSegment::ConfedSequence(v) => (3, v),
                        AsPathSegment::ConfedSet(v) => (4, v),
                    };
                    (t, v.iter().map(|a| u32::from(*a)).collect())
                })
                .collect()
        })
        .unwrap_or_default();
    let mut communities = Vec::new();
    let mut large = Vec::new();
    for c in e.communities.iter().flatten() {
        match c {
            MetaCommunity::Plain(c) => communities.push(match c {
                BkCommunity::NoExport => 0xFFFF_FF01,
                BkCommunity::NoAdvertise => 0xFFFF_FF02,
                BkCommunity::NoExportSubConfed => 0xFFFF_FF03,
                BkCommunity::Custom(asn, v) => (u32::from(*asn) << 16) | u32::from(*v),
            }),
            MetaCommunity::Large(l) => {
                large.push([l.global_admin, l.local_data[0], l.local_data[1]])
            }
            _ => {}
        }
    }
    Elem {
        kind: if announce { 'A' } else { 'W' },
        peer: e.peer_ip,
        peer_as: u32::from(e.peer_asn),
        prefix: e.prefix.prefix.to_string(),
        path_id: e.prefix.path_id,
        next_hop: if announce { e.next_hop } else { None },
        as_path,
        communities,
        large,
    }
}

/// bgpkit's elems for one record, as [`Elem`]s, sorted.
///
/// bgpkit's RIB elems carry the record's prefix without the entry's ADD-PATH
/// path identifier (RFC 8050 §4.1 puts it in the RIB entry); it is taken
/// from bgpkit's own decoded RIB entries, which come out one elem per entry
/// in entry order.
pub fn bgpkit_record_elems(
    elementor: &mut bgpkit_parser::Elementor,
    rec: bgpkit_parser::MrtRecord,
) -> Vec<Elem> {
    use bgpkit_parser::models::{MrtMessage, TableDumpV2Message};
    let path_ids: Option<Vec<Option<u32>>> = match &rec.message {
        MrtMessage::TableDumpV2Message(TableDumpV2Message::RibAfi(t)) => {
            Some(t.rib_entries.iter().map(|e| e.path_id).collect())
        }
        _ => None,
    };
    let mut v: Vec<Elem> = elementor
        .record_to_elems(rec)
        .iter()
        .map(from_bgpkit)
        .collect();
    if let Some(ids) = path_ids.filter(|ids| ids.len() == v.len()) {
        for (e, id) in v.iter_mut().zip(ids) {
            e.path_id = id;
        }
    }
    v.sort();
    v
}
