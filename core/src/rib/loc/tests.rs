use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;

use super::*;
use crate::attr::{AsPath, PathAttributes};
use crate::nlri::Ipv4Prefix;
use crate::rib::{AttrSet, Interner, PeerId, PeerInfo, SessionKind};

fn pfx(i: u32) -> Prefix {
    Prefix::V4(Ipv4Prefix::new(Ipv4Addr::from_bits(i << 8), 24).unwrap())
}

fn peer(n: u32) -> PeerId {
    PeerId::new(n).unwrap()
}

fn peers() -> PeerTable {
    let mut t = PeerTable::new(Ipv4Addr::new(10, 255, 0, 1));
    for n in 1..=5u8 {
        t.insert(
            peer(u32::from(n)),
            PeerInfo {
                bgp_id: Ipv4Addr::new(10, 0, 0, n),
                addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)),
                asn: 64_500 + u32::from(n),
                kind: if n == 5 {
                    SessionKind::Ibgp
                } else {
                    SessionKind::Ebgp
                },
                rr_client: false,
                igp_cost: 0,
            },
        );
    }
    t
}

/// Six attribute sets differing in path length, LOCAL_PREF and MED.
fn sets(i: &mut Interner) -> Vec<AttrSet> {
    (0..6u32)
        .map(|k| {
            i.intern(PathAttributes {
                as_path: AsPath::from_sequence((0..=k % 3).map(|x| 64_600 + x)),
                local_pref: (k == 4).then_some(50),
                med: Some(k),
                ..PathAttributes::default()
            })
        })
        .collect()
}

#[test]
fn update_reports_new_best_unchanged_and_withdrawn() {
    let t = peers();
    let s = sets(&mut Interner::new());
    let mut adj = AdjRibIn::new();
    let mut loc = LocRib::default();
    let p = pfx(1);
    assert_eq!(loc.update(p, &adj, &t), LocChange::Unchanged);
    adj.insert(p, Path::new(s[2].clone(), peer(1), 0)).unwrap();
    assert!(matches!(loc.update(p, &adj, &t), LocChange::NewBest(b) if b.peer() == peer(1)));
    assert_eq!(loc.update(p, &adj, &t), LocChange::Unchanged);
    // A shorter path from peer 2 takes over.
    adj.insert(p, Path::new(s[0].clone(), peer(2), 0)).unwrap();
    assert!(matches!(loc.update(p, &adj, &t), LocChange::NewBest(b) if b.peer() == peer(2)));
    // A worse path from peer 3 changes nothing.
    adj.insert(p, Path::new(s[1].clone(), peer(3), 0)).unwrap();
    assert_eq!(loc.update(p, &adj, &t), LocChange::Unchanged);
    // Marking stale is not a new best.
    adj.mark_stale(peer(2));
    assert_eq!(loc.update(p, &adj, &t), LocChange::Unchanged);
    assert!(loc.get(&p).unwrap().is_stale());
    for prefix in adj.withdraw_all(peer(2)) {
        assert!(
            matches!(loc.update(prefix, &adj, &t), LocChange::NewBest(b) if b.peer() == peer(3))
        );
    }
    adj.withdraw(&p, peer(1), 0);
    adj.withdraw(&p, peer(3), 0);
    assert_eq!(loc.update(p, &adj, &t), LocChange::Withdrawn);
    assert!(loc.is_empty());
}

#[test]
fn best_for_skips_rejected_paths_in_rank_order() {
    let t = peers();
    let s = sets(&mut Interner::new());
    let mut adj = AdjRibIn::new();
    let loc = LocRib::default();
    let p = pfx(9);
    adj.insert(p, Path::new(s[2].clone(), peer(1), 0)).unwrap(); // 3 ASes
    adj.insert(p, Path::new(s[0].clone(), peer(2), 0)).unwrap(); // 1 AS: best
    adj.insert(p, Path::new(s[1].clone(), peer(3), 0)).unwrap(); // 2 ASes
    let ranked: Vec<u32> = loc
        .ranked(&p, &adj, &t)
        .iter()
        .map(|x| x.peer().get())
        .collect();
    assert_eq!(ranked, [2, 3, 1]);
    let all = loc.best_for(&p, &adj, &t, |_| true).unwrap();
    assert_eq!(all.peer(), peer(2));
    // Client 2 never gets its own path: the next one is peer 3's.
    let for_2 = loc.best_for(&p, &adj, &t, |x| x.peer() != peer(2)).unwrap();
    assert_eq!(for_2.peer(), peer(3));
    let only_1 = loc.best_for(&p, &adj, &t, |x| x.peer() == peer(1)).unwrap();
    assert_eq!(only_1.peer(), peer(1));
    assert!(loc.best_for(&p, &adj, &t, |_| false).is_none());
    assert!(loc.best_for(&pfx(10), &adj, &t, |_| true).is_none());
}

#[derive(Debug, Clone)]
enum Op {
    Insert {
        prefix: u32,
        peer: u32,
        path_id: u32,
        set: usize,
    },
    Withdraw {
        prefix: u32,
        peer: u32,
        path_id: u32,
    },
    WithdrawAll {
        peer: u32,
    },
    MarkStale {
        peer: u32,
    },
    SweepStale {
        peer: u32,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u32..8, 1u32..6, 0u32..2, 0usize..6)
            .prop_map(|(prefix, peer, path_id, set)| Op::Insert { prefix, peer, path_id, set }),
        3 => (0u32..8, 1u32..6, 0u32..2)
            .prop_map(|(prefix, peer, path_id)| Op::Withdraw { prefix, peer, path_id }),
        1 => (1u32..6).prop_map(|peer| Op::WithdrawAll { peer }),
        1 => (1u32..6).prop_map(|peer| Op::MarkStale { peer }),
        1 => (1u32..6).prop_map(|peer| Op::SweepStale { peer }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// After any operation sequence the Loc-RIB equals best over the
    /// Adj-RIB-In for every prefix, and replaying the reported changes
    /// reproduces the Loc-RIB.
    #[test]
    fn loc_rib_equals_best_over_adj_rib_in(
        ops in prop::collection::vec(op(), 0..80), det in any::<bool>()
    ) {
        let t = peers();
        let s = sets(&mut Interner::new());
        let opts = BestPathOptions { deterministic_med: det, ..BestPathOptions::default() };
        let mut adj = AdjRibIn::new();
        let mut loc = LocRib::new(opts);
        let mut mirror: BTreeMap<Prefix, Path> = BTreeMap::new();
        for op in ops {
            let touched = match op {
                Op::Insert { prefix, peer: n, path_id, set } => {
                    adj.insert(pfx(prefix), Path::new(s[set].clone(), peer(n), path_id)).unwrap();
                    vec![pfx(prefix)]
                }
                Op::Withdraw { prefix, peer: n, path_id } => {
                    adj.withdraw(&pfx(prefix), peer(n), path_id);
                    vec![pfx(prefix)]
                }
                Op::WithdrawAll { peer: n } => adj.withdraw_all(peer(n)),
                Op::MarkStale { peer: n } => { adj.mark_stale(peer(n)); Vec::new() }
                Op::SweepStale { peer: n } => adj.sweep_stale(peer(n)),
            };
            for prefix in touched {
                match loc.update(prefix, &adj, &t) {
                    LocChange::Unchanged => {}
                    LocChange::NewBest(p) => { mirror.insert(prefix, p); }
                    LocChange::Withdrawn => { prop_assert!(mirror.remove(&prefix).is_some()); }
                }
            }
        }
        for i in 0..8 {
            let prefix = pfx(i);
            let paths = adj.get(&prefix);
            let want = select_best(paths, &t, &opts).map(|k| &paths[k]);
            let got = loc.get(&prefix);
            prop_assert_eq!(want.is_some(), got.is_some());
            if let (Some(w), Some(g)) = (want, got) {
                prop_assert!(w.same_route(g));
                prop_assert!(mirror[&prefix].same_route(g));
            }
        }
        prop_assert_eq!(loc.len(), adj.len());
        prop_assert_eq!(mirror.len(), adj.len());
        prop_assert_eq!(adj.path_count(), adj.iter().map(|(_, p)| p.len()).sum::<usize>());
        for n in 1..6 {
            let c = adj.iter().flat_map(|(_, p)| p).filter(|p| p.peer() == peer(n)).count();
            prop_assert_eq!(adj.count(peer(n)), c);
        }
    }
}
