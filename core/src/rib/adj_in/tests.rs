use std::net::Ipv4Addr;

use super::*;
use crate::attr::{AsPath, PathAttributes};
use crate::nlri::Ipv4Prefix;
use crate::rib::{AttrSet, Interner};

fn pfx(i: u32) -> Prefix {
    Prefix::V4(Ipv4Prefix::new(Ipv4Addr::from_bits(i << 8), 24).unwrap())
}

fn peer(n: u32) -> PeerId {
    PeerId::new(n).unwrap()
}

fn set(asn: u32) -> AttrSet {
    AttrSet::new(PathAttributes {
        as_path: AsPath::from_sequence([asn]),
        ..PathAttributes::default()
    })
}

#[test]
fn insert_replaces_same_peer_and_path_id() {
    let mut rib = AdjRibIn::new();
    let (a, b) = (set(1), set(2));
    assert_eq!(
        rib.insert(pfx(1), Path::new(a.clone(), peer(1), 0)),
        Ok(None)
    );
    assert_eq!(
        rib.insert(pfx(1), Path::new(a.clone(), peer(1), 5)),
        Ok(None)
    );
    assert_eq!(
        rib.insert(pfx(1), Path::new(a.clone(), peer(2), 0)),
        Ok(None)
    );
    let old = rib
        .insert(pfx(1), Path::new(b.clone(), peer(1), 0))
        .unwrap();
    assert_eq!(old.map(|p| p.attrs().clone()), Some(a));
    assert_eq!(rib.get(&pfx(1)).len(), 3);
    assert_eq!(rib.count(peer(1)), 2);
    assert_eq!(rib.count(peer(2)), 1);
    assert_eq!(rib.path_count(), 3);
    assert!(rib.get(&pfx(1)).iter().any(|p| p.attrs() == &b));
}

#[test]
fn withdraw_removes_path_then_prefix() {
    let mut rib = AdjRibIn::new();
    rib.insert(pfx(1), Path::new(set(1), peer(1), 0)).unwrap();
    rib.insert(pfx(1), Path::new(set(1), peer(2), 0)).unwrap();
    assert!(rib.withdraw(&pfx(1), peer(1), 9).is_none());
    assert!(rib.withdraw(&pfx(2), peer(1), 0).is_none());
    assert!(rib.withdraw(&pfx(1), peer(1), 0).is_some());
    assert_eq!(rib.len(), 1);
    assert!(rib.withdraw(&pfx(1), peer(2), 0).is_some());
    assert!(rib.is_empty());
    assert!(rib.get(&pfx(1)).is_empty());
    assert_eq!(rib.count(peer(1)), 0);
    assert_eq!(rib.path_count(), 0);
}

#[test]
fn withdraw_all_reports_prefixes_and_keeps_other_peers() {
    let mut rib = AdjRibIn::new();
    for i in 0..100 {
        rib.insert(pfx(i), Path::new(set(1), peer(1), 0)).unwrap();
        if i % 2 == 0 {
            rib.insert(pfx(i), Path::new(set(2), peer(2), 0)).unwrap();
        }
    }
    let mut changed = rib.withdraw_all(peer(1));
    changed.sort();
    assert_eq!(changed, (0..100).map(pfx).collect::<Vec<_>>());
    assert_eq!(rib.len(), 50);
    assert_eq!(rib.count(peer(1)), 0);
    assert_eq!(rib.count(peer(2)), 50);
    for i in 0..100 {
        let want = usize::from(i % 2 == 0);
        assert_eq!(rib.get(&pfx(i)).len(), want, "prefix {i}");
    }
    assert!(rib.withdraw_all(peer(1)).is_empty());
}

#[test]
fn graceful_restart_sweeps_only_unrefreshed_paths() {
    let mut rib = AdjRibIn::new();
    for i in 0..10 {
        rib.insert(pfx(i), Path::new(set(1), peer(1), 0)).unwrap();
        rib.insert(pfx(i), Path::new(set(2), peer(2), 0)).unwrap();
    }
    assert_eq!(rib.mark_stale(peer(1)), 10);
    assert!(rib.get(&pfx(3)).iter().any(|p| p.is_stale()));
    // The peer comes back and re-announces prefixes 0..4.
    for i in 0..4 {
        rib.insert(pfx(i), Path::new(set(3), peer(1), 0)).unwrap();
    }
    let mut swept = rib.sweep_stale(peer(1));
    swept.sort();
    assert_eq!(swept, (4..10).map(pfx).collect::<Vec<_>>());
    assert_eq!(rib.count(peer(1)), 4);
    assert_eq!(rib.count(peer(2)), 10);
    assert!(rib.iter().all(|(_, ps)| ps.iter().all(|p| !p.is_stale())));
}

/// RFC 7313 §4: a refresh of one family marks and sweeps that family only.
#[test]
fn enhanced_refresh_sweeps_one_family() {
    let v6 = |i: u32| {
        Prefix::V6(
            crate::nlri::Ipv6Prefix::new(
                std::net::Ipv6Addr::new(0x2001, 0xdb8, i as u16, 0, 0, 0, 0, 0),
                48,
            )
            .unwrap(),
        )
    };
    let mut rib = AdjRibIn::new();
    for i in 0..4 {
        rib.insert(pfx(i), Path::new(set(1), peer(1), 0)).unwrap();
        rib.insert(v6(i), Path::new(set(1), peer(1), 0)).unwrap();
    }
    assert_eq!(rib.mark_stale_family(peer(1), AfiSafi::IPV4_UNICAST), 4);
    assert!(rib.get(&v6(0)).iter().all(|p| !p.is_stale()));
    rib.insert(pfx(0), Path::new(set(2), peer(1), 0)).unwrap();
    let mut swept = rib.sweep_stale_family(peer(1), AfiSafi::IPV4_UNICAST);
    swept.sort();
    assert_eq!(swept, (1..4).map(pfx).collect::<Vec<_>>());
    assert_eq!(rib.count(peer(1)), 5);
    // Nothing stale in IPv6: its sweep removes nothing.
    assert!(
        rib.sweep_stale_family(peer(1), AfiSafi::IPV6_UNICAST)
            .is_empty()
    );
}

/// Heap bytes per stored path, table alone and with the interned sets, for
/// `prefixes` IPv4 prefixes × `peers` peers sharing 300k attribute sets.
fn bytes_per_path(peers: u32, prefixes: u32) -> (f64, f64) {
    let mut interner = Interner::new();
    let sets: Vec<AttrSet> = (0..300_000u32)
        .map(|i| {
            interner.intern(PathAttributes {
                as_path: AsPath::from_sequence([64_512 + i % 1000, 3356, i]),
                med: Some(i),
                ..PathAttributes::default()
            })
        })
        .collect();
    let mut rib = AdjRibIn::new();
    for i in 0..prefixes {
        for pr in 0..peers {
            let s = sets[((i + pr * 7) % 300_000) as usize].clone();
            rib.insert(pfx(i), Path::new(s, peer(pr), 0)).unwrap();
        }
    }
    assert_eq!(rib.path_count(), (peers * prefixes) as usize);
    let paths = rib.path_count() as f64;
    let table = rib.heap_bytes() as f64 / paths;
    let with_sets = (rib.heap_bytes() + interner.heap_bytes()) as f64 / paths;
    println!(
        "adj-rib-in, {prefixes} prefixes, {peers} path(s) per prefix: {table:.1} bytes/path (table), \
         {with_sets:.1} bytes/path incl. {} interned sets",
        interner.len()
    );
    (table, with_sets)
}

/// One path per prefix (each tenant its own prefixes): the path is held in
/// the slot, no vector.
#[test]
fn bytes_per_path_one_peer() {
    // The 2026 full IPv4 table (shared/data: 1,107,938 prefixes) and a
    // round million, which lands just past a power of two of index
    // buckets' 7/8 (917,504 entries): the index there is 2^21 buckets.
    let (full, _) = bytes_per_path(1, 1_107_938);
    assert!(full <= 35.0, "{full} bytes per path");
    let (table, with_sets) = bytes_per_path(1, 1_000_000);
    assert!(table <= 36.0, "{table} bytes per path");
    // The 300k sets (a 3-AS path and a MED each): the `Arc`, the
    // attributes (no rare group), the path's one allocation and the
    // interner's bucket.
    let per_set = (with_sets - table) * 1_000_000.0 / 300_000.0;
    assert!(per_set <= 150.0, "{per_set} bytes per interned set");
}

/// Two paths per prefix: a heap vector per prefix.
#[test]
fn bytes_per_path_two_peers() {
    let (table, _) = bytes_per_path(2, 1_000_000);
    assert!(table <= 43.0, "{table} bytes per path");
}

#[test]
fn withdraw_family_removes_one_family_of_one_peer() {
    let v6 = |i: u128| {
        let a = std::net::Ipv6Addr::from(0x2001_0db8_u128 << 96 | i << 80);
        Prefix::V6(crate::nlri::Ipv6Prefix::new(a, 48).unwrap())
    };
    let mut rib = AdjRibIn::new();
    for i in 0..10 {
        rib.insert(pfx(i), Path::new(set(1), peer(1), 0)).unwrap();
        rib.insert(v6(i.into()), Path::new(set(1), peer(1), 0))
            .unwrap();
        rib.insert(v6(i.into()), Path::new(set(2), peer(2), 0))
            .unwrap();
    }
    let mut gone = rib.withdraw_family(peer(1), AfiSafi::IPV6_UNICAST);
    gone.sort();
    assert_eq!(gone, (0..10u128).map(v6).collect::<Vec<_>>());
    assert_eq!(rib.count(peer(1)), 10, "IPv4 paths stay");
    assert_eq!(rib.count(peer(2)), 10, "the other peer's stay");
    assert!((0..10).all(|i| rib.get(&pfx(i)).len() == 1));
    assert!(
        rib.withdraw_family(
            peer(1),
            AfiSafi::new(crate::iana::Afi::Ipv4, crate::iana::Safi::Multicast)
        )
        .is_empty()
    );
}

#[test]
fn recorded_removals_name_the_hole_and_the_slot_moved_into_it() {
    let mut t = AdjRibIn::new();
    t.record_removals();
    for i in 0..16 {
        t.insert(pfx(i), Path::new(set(1), peer(1), 0)).unwrap();
    }
    for i in [2, 9] {
        t.insert(pfx(i), Path::new(set(2), peer(2), 0)).unwrap();
    }
    let moved = |i, slot, moved_from| Removal::Moved {
        prefix: pfx(i),
        slot,
        moved_from,
    };
    // One prefix: the last slot moves into its hole.
    t.withdraw(&pfx(1), peer(1), 0);
    assert_eq!(
        t.removals().collect::<Vec<_>>(),
        vec![moved(1, 1, Some(15))]
    );
    assert_eq!(t.get_indexed(&pfx(15)).0, Some(1));
    assert_eq!(t.removals().count(), 0, "taken once");
    // A few at once: one by one from the last slot, so each move brings
    // a kept prefix down.
    t.withdraw_all(peer(2));
    t.withdraw(&pfx(14), peer(1), 0);
    assert_eq!(t.removals().collect::<Vec<_>>(), vec![moved(14, 14, None)]);
    for i in [3, 4] {
        t.insert(pfx(100 + i), Path::new(set(2), peer(2), 0))
            .unwrap();
    }
    t.withdraw_all(peer(2));
    assert_eq!(
        t.removals().collect::<Vec<_>>(),
        vec![moved(104, 15, None), moved(103, 14, None)]
    );
    // Many (a peer down): the kept slots move down in order.
    for i in [0, 3] {
        t.insert(pfx(i), Path::new(set(2), peer(2), 0)).unwrap();
    }
    let before: Vec<Prefix> = t.iter().map(|(p, _)| p).collect();
    t.withdraw_all(peer(1));
    let r: Vec<Removal> = t.removals().collect();
    let kept = [pfx(0), pfx(3)];
    let removed: Vec<(u32, Prefix)> = (0u32..)
        .zip(&before)
        .filter(|(_, p)| !kept.contains(p))
        .map(|(slot, p)| (slot, *p))
        .collect();
    assert_eq!(r, vec![Removal::Compacted { v6: false, removed }]);
    assert_eq!(t.key_at(false, 0), Some(pfx(0)));
    assert_eq!(t.key_at(false, 1), Some(pfx(3)));
    assert_eq!(t.len(), 2);
    // Not recorded unless asked for.
    let mut quiet = AdjRibIn::new();
    quiet.insert(pfx(1), Path::new(set(1), peer(1), 0)).unwrap();
    quiet.withdraw_all(peer(1));
    assert_eq!(quiet.removals().count(), 0);
}

#[test]
fn the_removal_list_gives_a_full_tables_room_back() {
    let mut t = AdjRibIn::new();
    t.record_removals();
    for i in 0..10_000 {
        t.insert(pfx(i), Path::new(set(1), peer(1), 0)).unwrap();
    }
    // One by one (withdrawals), not one compaction.
    for i in 0..10_000 {
        t.withdraw(&pfx(i), peer(1), 0);
    }
    assert_eq!(t.removals().count(), 10_000);
    assert_eq!(t.removals.as_ref().map(Vec::capacity), Some(0));
}
