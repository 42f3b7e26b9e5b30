use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;

use super::*;
use crate::attr::{AsPath, PathAttributes, RareAttributes, SegmentType};
use crate::rib::{AttrSet, PeerInfo, SessionKind};

fn peer(n: u32) -> PeerId {
    PeerId::new(n).unwrap()
}

fn info(n: u8, kind: SessionKind) -> PeerInfo {
    PeerInfo {
        bgp_id: Ipv4Addr::new(10, 0, 0, n),
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)),
        asn: 64_500 + u32::from(n),
        kind,
        rr_client: false,
        igp_cost: 0,
    }
}

/// Peers 1..=9: eBGP, with identifier and address growing with the number.
fn table() -> PeerTable {
    let mut t = PeerTable::new(Ipv4Addr::new(10, 255, 255, 1));
    for n in 1..=9u8 {
        t.insert(peer(u32::from(n)), info(n, SessionKind::Ebgp));
    }
    t
}

fn base(first_as: u32) -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: AsPath::from_sequence([first_as, 65_000]),
        ..PathAttributes::default()
    }
}

fn path(n: u32, attrs: PathAttributes) -> Path {
    Path::new(AttrSet::new(attrs), peer(n), 0)
}

/// Winner's peer number under `opts`.
fn winner(paths: &[Path], peers: &PeerTable, opts: &BestPathOptions) -> u32 {
    paths[select_best(paths, peers, opts).unwrap()].peer().get()
}

fn best(paths: &[Path]) -> u32 {
    winner(paths, &table(), &BestPathOptions::default())
}

#[test]
fn empty_and_single() {
    let t = table();
    let o = BestPathOptions::default();
    assert_eq!(select_best(&[], &t, &o), None);
    assert_eq!(select_best(&[path(1, base(1))], &t, &o), Some(0));
    assert!(rank(&[], &t, &o).is_empty());
}

#[test]
fn local_pref_highest_wins() {
    let a = path(
        1,
        PathAttributes {
            local_pref: Some(100),
            ..base(1)
        },
    );
    let b = path(
        2,
        PathAttributes {
            local_pref: Some(200),
            ..base(2)
        },
    );
    assert_eq!(best(&[a, b]), 2);
}

#[test]
fn local_pref_absent_uses_default() {
    let none = path(2, base(2));
    let lp99 = path(
        1,
        PathAttributes {
            local_pref: Some(99),
            ..base(1)
        },
    );
    let lp101 = path(
        1,
        PathAttributes {
            local_pref: Some(101),
            ..base(1)
        },
    );
    assert_eq!(
        best(&[lp99.clone(), none.clone()]),
        2,
        "absent = 100 beats 99"
    );
    assert_eq!(best(&[lp101, none.clone()]), 1, "101 beats absent = 100");
    let opts = BestPathOptions {
        default_local_pref: 50,
        ..BestPathOptions::default()
    };
    assert_eq!(winner(&[lp99, none], &table(), &opts), 1);
}

#[test]
fn as_path_shorter_wins() {
    let long = path(
        1,
        PathAttributes {
            as_path: AsPath::from_sequence([1, 2, 3]),
            ..base(1)
        },
    );
    let short = path(
        2,
        PathAttributes {
            as_path: AsPath::from_sequence([4, 5]),
            ..base(2)
        },
    );
    assert_eq!(best(&[long, short]), 2);
}

#[test]
fn as_set_counts_as_one() {
    let mut with_set = AsPath::from_sequence([7]);
    with_set.push_segment(SegmentType::AsSet, &[8, 9, 10, 11]);
    // [7 {8 9 10 11}] has length 2, shorter than a 3-AS sequence.
    let a = path(
        2,
        PathAttributes {
            as_path: with_set,
            ..base(2)
        },
    );
    let b = path(
        1,
        PathAttributes {
            as_path: AsPath::from_sequence([1, 2, 3]),
            ..base(1)
        },
    );
    assert_eq!(best(&[b, a]), 2);
}

#[test]
fn origin_lowest_wins() {
    let egp = path(
        1,
        PathAttributes {
            origin: Some(Origin::Egp),
            ..base(1)
        },
    );
    let igp = path(
        2,
        PathAttributes {
            origin: Some(Origin::Igp),
            ..base(2)
        },
    );
    let missing = path(
        3,
        PathAttributes {
            origin: None,
            ..base(3)
        },
    );
    assert_eq!(best(&[egp.clone(), igp]), 2);
    assert_eq!(
        best(&[missing, egp]),
        1,
        "missing ORIGIN counts as INCOMPLETE"
    );
}

#[test]
fn med_lowest_wins_same_neighbour_as() {
    let a = path(
        1,
        PathAttributes {
            med: Some(50),
            ..base(7)
        },
    );
    let b = path(
        2,
        PathAttributes {
            med: Some(10),
            ..base(7)
        },
    );
    assert_eq!(best(&[a, b]), 2);
}

#[test]
fn med_ignored_between_different_neighbour_as() {
    let a = path(
        1,
        PathAttributes {
            med: Some(50),
            ..base(7)
        },
    );
    let b = path(
        2,
        PathAttributes {
            med: Some(10),
            ..base(8)
        },
    );
    // MED not comparable: falls through to the lower BGP identifier (peer 1).
    assert_eq!(best(&[a.clone(), b.clone()]), 1);
    let always = BestPathOptions {
        always_compare_med: true,
        ..BestPathOptions::default()
    };
    assert_eq!(winner(&[a, b], &table(), &always), 2);
}

#[test]
fn missing_med_is_zero_or_worst() {
    let none = path(2, base(7));
    let med5 = path(
        1,
        PathAttributes {
            med: Some(5),
            ..base(7)
        },
    );
    assert_eq!(
        best(&[med5.clone(), none.clone()]),
        2,
        "missing = 0 beats 5"
    );
    let worst = BestPathOptions {
        med_missing_as_worst: true,
        ..BestPathOptions::default()
    };
    assert_eq!(winner(&[med5, none], &table(), &worst), 1);
}

#[test]
fn ebgp_preferred_over_ibgp() {
    let mut t = table();
    t.insert(peer(1), info(1, SessionKind::Ibgp));
    let paths = [path(1, base(1)), path(2, base(2))];
    assert_eq!(winner(&paths, &t, &BestPathOptions::default()), 2);
}

#[test]
fn confed_counts_as_ibgp() {
    let mut t = table();
    t.insert(peer(1), info(1, SessionKind::Confed));
    t.insert(peer(3), info(3, SessionKind::Ibgp));
    let paths = [path(1, base(1)), path(2, base(2))];
    assert_eq!(winner(&paths, &t, &BestPathOptions::default()), 2);
    // Confed against iBGP: no preference, the identifier decides.
    let paths = [path(3, base(3)), path(1, base(1))];
    assert_eq!(winner(&paths, &t, &BestPathOptions::default()), 1);
}

#[test]
fn igp_cost_lowest_wins() {
    let mut t = table();
    t.insert(
        peer(1),
        PeerInfo {
            igp_cost: 20,
            ..info(1, SessionKind::Ibgp)
        },
    );
    t.insert(
        peer(2),
        PeerInfo {
            igp_cost: 10,
            ..info(2, SessionKind::Ibgp)
        },
    );
    let paths = [path(1, base(1)), path(2, base(2))];
    assert_eq!(winner(&paths, &t, &BestPathOptions::default()), 2);
}

#[test]
fn bgp_id_lowest_wins() {
    let mut t = table();
    // Peer 2 has the lower identifier but the higher address.
    t.insert(
        peer(2),
        PeerInfo {
            bgp_id: Ipv4Addr::new(1, 1, 1, 1),
            ..info(2, SessionKind::Ebgp)
        },
    );
    let paths = [path(1, base(1)), path(2, base(2))];
    assert_eq!(winner(&paths, &t, &BestPathOptions::default()), 2);
}

#[test]
fn originator_id_replaces_bgp_id() {
    let a = path(
        1,
        PathAttributes {
            rare: RareAttributes {
                originator_id: Some(Ipv4Addr::new(10, 9, 9, 9)),
                ..RareAttributes::default()
            }
            .into(),
            ..base(1)
        },
    );
    let b = path(2, base(2));
    assert_eq!(best(&[a, b]), 2);
}

#[test]
fn cluster_list_shorter_wins() {
    let id = Some(Ipv4Addr::new(10, 1, 1, 1));
    let cl = |n: u8| {
        (0..n)
            .map(|i| Ipv4Addr::new(172, 16, 0, i))
            .collect::<Vec<_>>()
    };
    let a = path(
        1,
        PathAttributes {
            rare: RareAttributes {
                originator_id: id,
                cluster_list: cl(2).into(),
                ..RareAttributes::default()
            }
            .into(),
            ..base(1)
        },
    );
    let b = path(
        2,
        PathAttributes {
            rare: RareAttributes {
                originator_id: id,
                cluster_list: cl(1).into(),
                ..RareAttributes::default()
            }
            .into(),
            ..base(2)
        },
    );
    assert_eq!(best(&[a, b]), 2);
}

#[test]
fn peer_address_lowest_wins() {
    let mut t = table();
    let same_id = Ipv4Addr::new(10, 0, 0, 50);
    t.insert(
        peer(1),
        PeerInfo {
            bgp_id: same_id,
            ..info(9, SessionKind::Ebgp)
        },
    );
    t.insert(
        peer(2),
        PeerInfo {
            bgp_id: same_id,
            ..info(3, SessionKind::Ebgp)
        },
    );
    let paths = [path(1, base(1)), path(2, base(2))];
    assert_eq!(winner(&paths, &t, &BestPathOptions::default()), 2);
}

#[test]
fn unknown_peer_loses_ties() {
    let paths = [path(99, base(1)), path(9, base(2))];
    assert_eq!(best(&paths), 9);
}

/// A (AS 1, MED 0, id .3), B (AS 1, MED 5, id .1), C (AS 2, id .2): the
/// pairwise comparison is cyclic (A > B > C > A).
fn med_cycle() -> Vec<Path> {
    vec![
        path(
            3,
            PathAttributes {
                med: Some(0),
                ..base(1)
            },
        ),
        path(
            1,
            PathAttributes {
                med: Some(5),
                ..base(1)
            },
        ),
        path(2, base(2)),
    ]
}

#[test]
fn deterministic_med_is_order_independent_where_scan_is_not() {
    let t = table();
    let det = BestPathOptions::default();
    let scan = BestPathOptions {
        deterministic_med: false,
        ..det
    };
    let abc = med_cycle();
    let bca = vec![abc[1].clone(), abc[2].clone(), abc[0].clone()];
    assert_eq!(winner(&abc, &t, &det), 2);
    assert_eq!(winner(&bca, &t, &det), 2);
    assert_eq!(winner(&abc, &t, &scan), 2);
    assert_eq!(winner(&bca, &t, &scan), 3, "the arrival-order scan differs");
}

#[test]
fn rank_follows_groups_under_deterministic_med() {
    let t = table();
    let paths = med_cycle();
    let order: Vec<u32> = rank(&paths, &t, &BestPathOptions::default())
        .iter()
        .map(|&i| paths[i].peer().get())
        .collect();
    // C wins; then A (AS 1's winner); B only after A, despite its lower id.
    assert_eq!(order, [2, 3, 1]);
}

// ---- property tests -------------------------------------------------------

#[derive(Debug, Clone)]
struct Gen {
    peer: u32,
    path_id: u32,
    local_pref: Option<u32>,
    asns: Vec<u32>,
    origin: u8,
    med: Option<u32>,
    originator: Option<u8>,
    cluster_len: u8,
}

fn gen_path() -> impl Strategy<Value = Gen> {
    (
        (1u32..7, 0u32..2, prop::option::of(99u32..102)),
        (
            prop::collection::vec(1u32..4, 0..3),
            0u8..3,
            prop::option::of(0u32..3),
        ),
        (prop::option::of(1u8..4), 0u8..3),
    )
        .prop_map(
            |((peer, path_id, local_pref), (asns, origin, med), (originator, cluster_len))| Gen {
                peer,
                path_id,
                local_pref,
                asns,
                origin,
                med,
                originator,
                cluster_len,
            },
        )
}

fn gen_peers() -> impl Strategy<Value = PeerTable> {
    prop::collection::vec((0u8..3, 1u8..4, 0u32..2), 6).prop_map(|v| {
        let mut t = PeerTable::new(Ipv4Addr::LOCALHOST);
        for (n, (kind, id, igp)) in (1u32..).zip(v) {
            let kind = [SessionKind::Ebgp, SessionKind::Ibgp, SessionKind::Confed][kind as usize];
            let mut i = info(n as u8, kind);
            i.bgp_id = Ipv4Addr::new(10, 0, 0, id);
            i.igp_cost = igp;
            t.insert(peer(n), i);
        }
        t
    })
}

fn build(gens: &[Gen]) -> Vec<Path> {
    let mut seen = std::collections::HashSet::new();
    gens.iter()
        .filter(|g| seen.insert((g.peer, g.path_id)))
        .map(|g| {
            let attrs = PathAttributes {
                origin: [Some(Origin::Igp), Some(Origin::Egp), None][g.origin as usize],
                as_path: AsPath::from_sequence(g.asns.iter().copied()),
                local_pref: g.local_pref,
                med: g.med,
                rare: RareAttributes {
                    originator_id: g.originator.map(|o| Ipv4Addr::new(10, 0, 0, o)),
                    cluster_list: vec![Ipv4Addr::UNSPECIFIED; g.cluster_len as usize].into(),
                    ..RareAttributes::default()
                }
                .into(),
                ..PathAttributes::default()
            };
            Path::new(AttrSet::new(attrs), peer(g.peer), g.path_id)
        })
        .collect()
}

fn all_opts() -> impl Strategy<Value = BestPathOptions> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(always, det, worst)| BestPathOptions {
        always_compare_med: always,
        deterministic_med: det,
        med_missing_as_worst: worst,
        ..BestPathOptions::default()
    })
}

/// Order-independent modes: deterministic MED or always-compare MED.
fn det_opts() -> impl Strategy<Value = BestPathOptions> {
    all_opts().prop_filter("order-independent mode", |o| {
        o.always_compare_med || o.deterministic_med
    })
}

/// RFC 4271 §9.1.2.2 as written: successive elimination over the set.
fn rfc_best(paths: &[Path], peers: &PeerTable, opts: &BestPathOptions) -> usize {
    let keys: Vec<(Key, Group)> = paths.iter().map(|p| key_of(p, peers, opts)).collect();
    let mut c: Vec<usize> = (0..paths.len()).collect();
    let keep_min = |c: &mut Vec<usize>, f: &dyn Fn(&Key) -> Key| {
        let m = c.iter().map(|&i| f(&keys[i].0)).min().unwrap();
        c.retain(|&i| f(&keys[i].0) == m);
    };
    let zero = Key {
        med: 0,
        internal: false,
        igp_cost: 0,
        router_id: Ipv4Addr::UNSPECIFIED,
        cluster_len: 0,
        peer_addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        peer: peer(0),
        path_id: 0,
        ..keys[0].0
    };
    keep_min(&mut c, &|k| Key {
        local_pref: k.local_pref,
        as_path_len: k.as_path_len,
        origin: k.origin,
        ..zero
    });
    // c) MED among routes from the same neighbouring AS (or all).
    let snapshot = c.clone();
    c.retain(|&i| {
        !snapshot.iter().any(|&j| {
            (opts.always_compare_med || keys[j].1 == keys[i].1) && keys[j].0.med < keys[i].0.med
        })
    });
    keep_min(&mut c, &|k| Key {
        internal: k.internal,
        ..zero
    });
    keep_min(&mut c, &|k| Key {
        igp_cost: k.igp_cost,
        ..zero
    });
    keep_min(&mut c, &|k| Key {
        router_id: k.router_id,
        ..zero
    });
    keep_min(&mut c, &|k| Key {
        cluster_len: k.cluster_len,
        ..zero
    });
    keep_min(&mut c, &|k| Key {
        peer_addr: k.peer_addr,
        ..zero
    });
    keep_min(&mut c, &|k| Key {
        peer: k.peer,
        path_id: k.path_id,
        ..zero
    });
    assert_eq!(c.len(), 1);
    c[0]
}

fn routes(paths: &[Path], order: &[usize]) -> Vec<(u32, u32)> {
    order
        .iter()
        .map(|&i| (paths[i].peer().get(), paths[i].path_id()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn rank_keys_are_a_strict_total_order(
        gens in prop::collection::vec(gen_path(), 1..12), peers in gen_peers(), opts in det_opts()
    ) {
        let paths = build(&gens);
        let rk = rank_keys(&paths, &peers, &opts);
        for (i, a) in rk.iter().enumerate() {
            for (j, b) in rk.iter().enumerate() {
                // Total and antisymmetric: distinct paths never tie.
                prop_assert_eq!(a == b, i == j);
                prop_assert_eq!(a.cmp(b), b.cmp(a).reverse());
                for c in &rk {
                    if a < b && b < c { prop_assert!(a < c); }
                }
            }
        }
        let mut sorted: Vec<usize> = (0..paths.len()).collect();
        sorted.sort_by_key(|&i| rk[i]);
        let ranked = rank(&paths, &peers, &opts);
        prop_assert_eq!(sorted.as_slice(), ranked.as_slice());
    }

    /// Whenever `unchanged_by` says a change keeps the selection, the RFC
    /// elimination over the changed set picks the same path: for a path
    /// added, removed, or replacing another one of the same peer.
    #[test]
    fn unchanged_by_agrees_with_rfc_elimination(
        gens in prop::collection::vec(gen_path(), 2..12),
        peers in gen_peers(),
        opts in all_opts(),
        pick in any::<prop::sample::Index>(),
        kind in 0u8..3,
    ) {
        let mut paths = build(&gens);
        prop_assume!(paths.len() >= 2);
        // The set before the change leaves out `subject` (an addition) or
        // holds it (a removal); a replacement swaps in a path of the same
        // peer and path id with another attribute set.
        let at = pick.index(paths.len());
        let subject = paths.remove(at);
        let before_best = |set: &[Path]| set[select_best(set, &peers, &opts).unwrap()].clone();
        let (before, after, added, removed) = match kind {
            0 => {
                let before = paths.clone();
                paths.push(subject.clone());
                (before, paths, Some(subject), None)
            }
            1 => {
                let mut before = paths.clone();
                before.push(subject.clone());
                (before, paths, None, Some(subject))
            }
            _ => {
                let old = paths.remove(0);
                let new = Path::new(subject.attrs().clone(), old.peer(), old.path_id());
                let mut before = paths.clone();
                before.push(old.clone());
                paths.push(new.clone());
                (before, paths, Some(new), Some(old))
            }
        };
        let best = before_best(&before);
        let is_subject = |p: &Option<Path>| p.as_ref().is_some_and(|p| p.same_route(&best));
        prop_assume!(!is_subject(&removed));
        prop_assume!(!is_subject(&added));
        if unchanged_by(&best, added.iter().chain(&removed), &opts) {
            prop_assert!(opts.deterministic_med || opts.always_compare_med);
            let now = &after[rfc_best(&after, &peers, &opts)];
            prop_assert!(now.same_route(&best), "{now:?} replaced {best:?}");
        }
    }

    /// Selecting again after each refusal finds the path a walk down the
    /// ranking finds, for any accepted subset and any number skipped.
    #[test]
    fn best_accepted_is_the_first_accepted_in_rank_order(
        gens in prop::collection::vec(gen_path(), 1..12),
        peers in gen_peers(),
        opts in all_opts(),
        taken in prop::collection::vec(any::<bool>(), 12),
        skip in 0usize..3,
    ) {
        let paths = build(&gens);
        let accept = |p: &Path| taken[(p.peer().get() as usize * 2 + p.path_id() as usize) % 12];
        let want = rank(&paths, &peers, &opts)
            .into_iter()
            .skip(skip)
            .find(|&i| accept(&paths[i]));
        let mut offered = 0;
        let got = best_accepted(&paths, &peers, &opts, skip, |p| {
            offered += 1;
            accept(p)
        });
        prop_assert_eq!(got, want);
        prop_assert!(offered <= paths.len().saturating_sub(skip));
    }

    #[test]
    fn best_matches_rfc_elimination(
        gens in prop::collection::vec(gen_path(), 1..12), peers in gen_peers(), opts in det_opts()
    ) {
        let paths = build(&gens);
        let got = select_best(&paths, &peers, &opts).unwrap();
        prop_assert_eq!(got, rfc_best(&paths, &peers, &opts));
    }

    #[test]
    fn result_independent_of_input_order(
        (paths, shuffled) in prop::collection::vec(gen_path(), 1..12).prop_flat_map(|g| {
            let p = build(&g);
            (Just(p.clone()), Just(p).prop_shuffle())
        }),
        peers in gen_peers(), opts in det_opts()
    ) {
        let a = routes(&paths, &rank(&paths, &peers, &opts));
        let b = routes(&shuffled, &rank(&shuffled, &peers, &opts));
        prop_assert_eq!(&a, &b);
        let best = &shuffled[select_best(&shuffled, &peers, &opts).unwrap()];
        prop_assert_eq!((best.peer().get(), best.path_id()), a[0]);
    }

    #[test]
    fn rank_is_repeated_selection(
        gens in prop::collection::vec(gen_path(), 1..10), peers in gen_peers(), opts in all_opts()
    ) {
        let mut rest = build(&gens);
        let ranked = routes(&rest, &rank(&rest, &peers, &opts));
        let mut selected = Vec::new();
        while let Some(i) = select_best(&rest, &peers, &opts) {
            let p = rest.remove(i);
            selected.push((p.peer().get(), p.path_id()));
        }
        prop_assert_eq!(ranked, selected);
    }

    #[test]
    fn pairwise_compare_is_antisymmetric_and_transitive_with_always_compare_med(
        gens in prop::collection::vec(gen_path(), 1..8), peers in gen_peers(), opts in all_opts()
    ) {
        let paths = build(&gens);
        for a in &paths {
            for b in &paths {
                let ab = compare(a, b, &peers, &opts);
                prop_assert_eq!(ab, compare(b, a, &peers, &opts).reverse());
                prop_assert_eq!(ab == Ordering::Equal, a.is_key(b.peer(), b.path_id()));
                if opts.always_compare_med {
                    for c in &paths {
                        if ab.is_lt() && compare(b, c, &peers, &opts).is_lt() {
                            prop_assert!(compare(a, c, &peers, &opts).is_lt());
                        }
                    }
                }
            }
        }
    }
}
