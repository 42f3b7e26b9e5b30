//! Best-path invariants (RFC 4271 §9.1.2.2, RFC 4456 §9) on arbitrary small
//! path sets: `rank` is a permutation, the winner of `select_best` is the
//! first of `rank` and does not depend on input order (deterministic MED or
//! always-compare-MED), `compare` is antisymmetric and, with
//! always-compare-MED, transitive; rank keys sort exactly as `rank`.
//!
//! Input: option byte ‖ 12 bytes per path (at most 8 paths).
#![no_main]

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use rampart_core::attr::{AsPath, Origin, PathAttributes, RareAttributes};
use rampart_core::rib::{
    AttrSet, BestPathOptions, Path, PeerId, PeerInfo, PeerTable, SessionKind, compare, rank,
    rank_keys, select_best,
};

const PATH_BYTES: usize = 12;

fn peers() -> PeerTable {
    let mut t = PeerTable::new(Ipv4Addr::new(10, 0, 0, 1));
    for i in 0..4u8 {
        let kind = match i {
            0 | 1 => SessionKind::Ebgp,
            2 => SessionKind::Ibgp,
            _ => SessionKind::Confed,
        };
        let info = PeerInfo {
            // Peers 0 and 1 share a BGP identifier so later steps matter.
            bgp_id: Ipv4Addr::new(192, 0, 2, i.max(1)),
            addr: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 4 - i)),
            asn: 64_500 + u32::from(i),
            kind,
            rr_client: i == 2,
            igp_cost: u32::from(i % 2) * 10,
        };
        t.insert(PeerId::new(u32::from(i)).expect("small id"), info);
    }
    t
}

fn path(b: &[u8], index: usize) -> Path {
    let first_as = 65_000 + u32::from(b[0] % 3);
    let mut asns = vec![first_as];
    asns.extend((0..b[1] % 4).map(|k| 65_100 + u32::from(k)));
    let attrs = PathAttributes {
        origin: match b[2] % 4 {
            0 => Some(Origin::Igp),
            1 => Some(Origin::Egp),
            2 => Some(Origin::Incomplete),
            _ => None,
        },
        as_path: AsPath::from_sequence(asns),
        med: (b[3] & 0x80 != 0).then_some(u32::from(b[3] & 0x03)),
        local_pref: (b[4] & 0x80 != 0).then_some(100 + u32::from(b[4] & 0x01)),
        rare: RareAttributes {
            originator_id: (b[5] & 0x80 != 0).then(|| Ipv4Addr::new(192, 0, 2, b[5] & 0x03)),
            cluster_list: vec![Ipv4Addr::new(10, 1, 1, 1); usize::from(b[6] % 3)].into(),
            ..RareAttributes::default()
        }
        .into(),
        ..PathAttributes::default()
    };
    let peer = PeerId::new(u32::from(b[7] % 5)).expect("small id");
    // Path ids are unique per set, so (peer, path id) names one path.
    let path_id = u32::from(b[8] % 2) * 100 + index as u32;
    Path::new(AttrSet::new(attrs), peer, path_id)
}

fuzz_target!(|data: &[u8]| {
    let Some((&o, rest)) = data.split_first() else {
        return;
    };
    let mut opts = BestPathOptions::default();
    opts.always_compare_med = o & 1 != 0;
    opts.deterministic_med = o & 2 == 0;
    opts.med_missing_as_worst = o & 4 != 0;
    let paths: Vec<Path> = rest
        .chunks_exact(PATH_BYTES)
        .take(8)
        .enumerate()
        .map(|(i, c)| path(c, i))
        .collect();
    let peers = peers();
    let order = rank(&paths, &peers, &opts);
    let mut sorted: Vec<usize> = order.to_vec();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..paths.len()).collect::<Vec<_>>(),
        "rank is not a permutation"
    );
    let best = select_best(&paths, &peers, &opts);
    assert_eq!(
        best,
        order.first().copied(),
        "select_best disagrees with rank"
    );
    for a in &paths {
        assert_eq!(
            compare(a, a, &peers, &opts),
            Ordering::Equal,
            "path not equal to itself"
        );
        for b in &paths {
            let ab = compare(a, b, &peers, &opts);
            assert_eq!(
                ab,
                compare(b, a, &peers, &opts).reverse(),
                "compare not antisymmetric"
            );
            if opts.always_compare_med {
                for c in &paths {
                    if ab == Ordering::Less && compare(b, c, &peers, &opts) == Ordering::Less {
                        assert_eq!(
                            compare(a, c, &peers, &opts),
                            Ordering::Less,
                            "not transitive"
                        );
                    }
                }
            }
        }
    }
    if opts.always_compare_med || opts.deterministic_med {
        let keys = rank_keys(&paths, &peers, &opts);
        assert!(
            order.windows(2).all(|w| keys[w[0]] <= keys[w[1]]),
            "rank not sorted by rank keys"
        );
        // Order independence: the same path wins when the input is reversed.
        let rev: Vec<Path> = paths.iter().rev().cloned().collect();
        let best_rev = select_best(&rev, &peers, &opts).map(|i| paths.len() - 1 - i);
        assert_eq!(best, best_rev, "winner depends on input order");
        // Removing the winner makes the runner-up win.
        if let Some(w) = best {
            let rest: Vec<Path> = paths
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != w)
                .map(|(_, p)| p.clone())
                .collect();
            let next = select_best(&rest, &peers, &opts).map(|i| if i >= w { i + 1 } else { i });
            assert_eq!(
                next,
                order.get(1).copied(),
                "runner-up is not the second of rank"
            );
        }
    }
});
