//! The RIB on a real table: the route-views2 slice of 2026-07-30 (41k
//! prefixes, 20 peers, 679k paths), read with bgpkit-parser as an
//! independent decoder. Skips with a message when the data is absent.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use bgpkit_parser::models::{self as bk, AsPathSegment, MetaCommunity};

use super::*;
use crate::attr::{
    Aggregator, AsPath, Community, LargeCommunity, NextHop, Origin, PathAttributes, RareAttributes,
    Segment, SegmentType,
};

const RIB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/mrt/sighops-asinfo/rib.20260730.1400.first41102pfx.trimmed.bz2"
);

fn segment(s: &AsPathSegment) -> Segment {
    let (kind, asns) = match s {
        AsPathSegment::AsSequence(a) => (SegmentType::AsSequence, a),
        AsPathSegment::AsSet(a) => (SegmentType::AsSet, a),
        AsPathSegment::ConfedSequence(a) => (SegmentType::ConfedSequence, a),
        AsPathSegment::ConfedSet(a) => (SegmentType::ConfedSet, a),
    };
    Segment {
        kind,
        asns: asns.iter().map(|a| a.to_u32()).collect(),
    }
}

fn attrs_of(e: &bk::BgpElem) -> PathAttributes {
    let mut a = PathAttributes {
        origin: e.origin.map(|o| match o {
            bk::Origin::IGP => Origin::Igp,
            bk::Origin::EGP => Origin::Egp,
            _ => Origin::Incomplete,
        }),
        as_path: AsPath::from_segments(
            e.as_path
                .iter()
                .flat_map(|p| p.segments.iter().map(segment)),
        ),
        next_hop: e.next_hop.map(|n| match n {
            IpAddr::V4(v4) => NextHop::V4(v4),
            IpAddr::V6(v6) => NextHop::V6 {
                global: v6,
                link_local: None,
            },
        }),
        med: e.med,
        local_pref: e.local_pref,
        rare: RareAttributes {
            atomic_aggregate: e.atomic,
            aggregator: e.aggr_asn.zip(e.aggr_ip).map(|(asn, addr)| Aggregator {
                asn: asn.to_u32(),
                addr,
            }),
            ..RareAttributes::default()
        }
        .into(),
        ..PathAttributes::default()
    };
    for c in e.communities.iter().flatten() {
        match c {
            MetaCommunity::Plain(bk::Community::Custom(asn, v)) => {
                a.communities.push(Community::new(asn.to_u32() as u16, *v));
            }
            MetaCommunity::Plain(bk::Community::NoExport) => {
                a.communities.push(Community::NO_EXPORT)
            }
            MetaCommunity::Plain(bk::Community::NoAdvertise) => {
                a.communities.push(Community::NO_ADVERTISE);
            }
            MetaCommunity::Plain(bk::Community::NoExportSubConfed) => {
                a.communities.push(Community::NO_EXPORT_SUBCONFED);
            }
            MetaCommunity::Large(l) => a.large_communities.push(LargeCommunity {
                global: l.global_admin,
                local1: l.local_data[0],
                local2: l.local_data[1],
            }),
            // Extended communities are rare in this slice; left out.
            _ => {}
        }
    }
    a
}

#[test]
fn route_views_slice_through_the_rib() {
    let Ok(file) = std::fs::File::open(RIB) else {
        println!("skipped: {RIB} not found (see shared/data/README.md)");
        return;
    };
    let parser = bgpkit_parser::BgpkitParser::from_reader(bzip2::read::BzDecoder::new(file));
    let mut interner = Interner::new();
    let mut loc = LocRib::default();
    let mut peers = PeerTable::new(Ipv4Addr::new(192, 0, 2, 1));
    let mut ids: HashMap<IpAddr, PeerId> = HashMap::new();
    for e in parser.into_elem_iter() {
        let next = PeerId::new(ids.len() as u32).unwrap();
        let id = *ids.entry(e.peer_ip).or_insert_with(|| {
            peers.insert(
                next,
                PeerInfo {
                    bgp_id: e.peer_bgp_id.unwrap_or(Ipv4Addr::UNSPECIFIED),
                    addr: e.peer_ip,
                    asn: e.peer_asn.to_u32(),
                    kind: SessionKind::Ebgp,
                    rr_client: false,
                    igp_cost: 0,
                },
            );
            next
        });
        let set = interner.intern(attrs_of(&e));
        let prefix = crate::nlri::Prefix::from(e.prefix.prefix);
        let path = Path::new(set, id, e.prefix.path_id.unwrap_or(0));
        let _ = loc.announce(prefix, path, &peers).unwrap();
    }
    let adj = loc.adj_in();
    assert!(adj.path_count() > 600_000, "{} paths", adj.path_count());
    for (p, paths) in adj.iter() {
        let ranked = loc.ranked(&p, &peers);
        assert!(ranked[0].same_route(loc.get(&p).unwrap()));
        assert!(ranked[0].same_route(&paths[select_best(paths, &peers, loc.options()).unwrap()]));
        assert_eq!(ranked.len(), paths.len());
    }
    let paths = adj.path_count() as f64;
    let table = adj.heap_bytes() as f64 / paths;
    let sets = interner.heap_bytes() as f64 / paths;
    println!(
        "route-views2 slice: {} prefixes, {} paths, {} peers, {} distinct sets; \
         Adj-RIB-In and Loc-RIB {table:.1} B/path, sets {sets:.1} B/path",
        adj.len(),
        adj.path_count(),
        peers.len(),
        interner.len(),
    );
    println!(
        "size_of::<PathAttributes>() = {}, heap per set {:.0} B",
        size_of::<PathAttributes>(),
        interner.heap_bytes() as f64 / interner.len() as f64
    );
    assert!(table <= 60.0, "{table} bytes per path");
    // Session down for the first peer: every prefix it had is recomputed.
    let first = PeerId::new(0).unwrap();
    let had = adj.count(first);
    let changed = loc.withdraw_all(first, &peers);
    assert_eq!(changed.len(), had);
    for (p, r) in changed {
        let paths = loc.adj_in().get(&p);
        match loc.get(&p) {
            Some(b) => {
                assert!(b.same_route(&paths[select_best(paths, &peers, loc.options()).unwrap()]));
                // The peer's own path cannot stay selected.
                assert!(r.was != Some(first) || r.change != LocChange::Unchanged);
            }
            None => assert!(paths.is_empty() && r.change == LocChange::Withdrawn),
        }
    }
    drop(loc);
    assert_eq!(interner.gc(), interner.stats().new_sets as usize);
}
