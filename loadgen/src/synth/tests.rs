use std::collections::{BTreeMap, HashMap, HashSet};

use ipnet::{Ipv4Net, Ipv6Net};
use rampart_core::nlri::Prefix;

use super::*;

fn cfg(ipv4: usize, ipv6: usize, share: f64, seed: u64) -> SynthConfig {
    SynthConfig {
        ipv4,
        ipv6,
        speakers: 2,
        seed,
        distinct_attr_share: share,
        ..SynthConfig::default()
    }
}

fn length_shares(table: &SynthTable, v6: bool) -> BTreeMap<u8, f64> {
    let mut counts: BTreeMap<u8, usize> = BTreeMap::new();
    let mut n = 0usize;
    for p in table.prefixes() {
        if matches!(p, Prefix::V6(_)) == v6 {
            *counts.entry(p.len()).or_default() += 1;
            n += 1;
        }
    }
    counts
        .into_iter()
        .map(|(l, c)| (l, c as f64 / n as f64))
        .collect()
}

/// Per-bucket: within ±1 percentage point of the measured share on 100k
/// prefixes (the brief allows ±2), and a chi-square over buckets with an
/// expected count ≥ 5 below a generous bound.
fn check_lengths(table: &SynthTable, v6: bool, target: &[(u8, u32)]) {
    let got = length_shares(table, v6);
    let want = Weighted::new(target);
    let n = 100_000.0;
    let mut chi2 = 0.0;
    let mut dof = 0usize;
    for (len, share) in want.shares() {
        let g = got.get(&len).copied().unwrap_or(0.0);
        assert!(
            (g - share).abs() <= 0.01,
            "v6={v6} /{len}: got {:.3} %, want {:.3} %",
            g * 100.0,
            share * 100.0
        );
        let expected = share * n;
        if expected >= 5.0 {
            chi2 += (g * n - expected).powi(2) / expected;
            dof += 1;
        }
    }
    for len in got.keys() {
        assert!(
            target.iter().any(|&(l, _)| l == *len),
            "v6={v6}: unexpected length /{len}"
        );
    }
    // Mean of chi2 is dof - 1, sd sqrt(2 dof); 4 dof is far out.
    assert!(
        chi2 < (dof as f64) * 4.0,
        "v6={v6}: chi-square {chi2:.1} over {dof} buckets"
    );
}

#[test]
fn prefix_lengths_follow_real_distribution() {
    let t = generate(&cfg(100_000, 100_000, 0.3, 7)).unwrap();
    check_lengths(&t, false, dist::IPV4_LENGTHS);
    check_lengths(&t, true, dist::IPV6_LENGTHS);
}

#[test]
fn prefixes_distinct_sorted_and_counted() {
    let t = generate(&cfg(50_000, 20_000, 0.3, 3)).unwrap();
    let p = t.prefixes();
    assert_eq!(p.len(), 70_000);
    assert_eq!(
        p.iter().filter(|p| matches!(p, Prefix::V4(_))).count(),
        50_000
    );
    let set: HashSet<_> = p.iter().collect();
    assert_eq!(set.len(), p.len(), "duplicate prefixes");
    assert!(p.windows(2).all(|w| w[0] < w[1]), "not strictly sorted");
    // Spread over the address space, not one /8.
    let slash8s: HashSet<_> = p
        .iter()
        .filter_map(|p| match p {
            Prefix::V4(v) => Some(v.bits() >> 24),
            Prefix::V6(_) => None,
        })
        .collect();
    assert!(slash8s.len() > 150, "only {} /8s used", slash8s.len());
}

/// Checked against an independently written list parsed with `ipnet`.
#[test]
fn no_bogons() {
    let v4: Vec<Ipv4Net> = [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let v6: Vec<Ipv6Net> = [
        "::/8",
        "2001:db8::/32",
        "2001::/23",
        "2002::/16",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let t = generate(&cfg(200_000, 50_000, 0.3, 11)).unwrap();
    for p in t.prefixes() {
        match p {
            Prefix::V4(x) => {
                let n = Ipv4Net::new(x.addr(), x.len()).unwrap();
                for b in &v4 {
                    assert!(!b.contains(&n) && !n.contains(b), "{n} overlaps bogon {b}");
                }
            }
            Prefix::V6(x) => {
                let n = Ipv6Net::new(x.addr(), x.len()).unwrap();
                assert!(n.addr().segments()[0] >> 13 == 1, "{n} outside 2000::/3");
                for b in &v6 {
                    assert!(!b.contains(&n) && !n.contains(b), "{n} overlaps bogon {b}");
                }
            }
        }
    }
}

#[test]
fn deterministic_for_a_seed() {
    let a = generate(&cfg(20_000, 5_000, 0.3, 42)).unwrap();
    let b = generate(&cfg(20_000, 5_000, 0.3, 42)).unwrap();
    let c = generate(&cfg(20_000, 5_000, 0.3, 43)).unwrap();
    for s in 0..2 {
        let ra = a.speaker_routes(s).unwrap().to_vec();
        let rb = b.speaker_routes(s).unwrap().to_vec();
        let rc = c.speaker_routes(s).unwrap().to_vec();
        assert_eq!(ra, rb, "speaker {s} differs for equal seeds");
        assert_ne!(ra, rc, "speaker {s} equal for different seeds");
    }
}

fn distinct_share(t: &SynthTable, speaker: usize) -> f64 {
    let r = t.speaker_routes(speaker).unwrap();
    let set: HashSet<&PathAttributes> = r.iter().map(|(_, a)| a).collect();
    set.len() as f64 / r.len() as f64
}

#[test]
fn distinct_attr_share_honoured() {
    for share in [0.05, 0.3, 0.8] {
        let t = generate(&cfg(100_000, 20_000, share, 5)).unwrap();
        for s in 0..2 {
            let got = distinct_share(&t, s);
            assert!(
                (got - share).abs() <= share * 0.05 + 0.002,
                "share {share}: speaker {s} has {got:.4}"
            );
        }
    }
}

#[test]
fn tiny_share_still_honoured_by_merging_origins() {
    let t = generate(&cfg(50_000, 0, 0.01, 9)).unwrap();
    let got = distinct_share(&t, 0);
    assert!((got - 0.01).abs() < 0.002, "got {got}");
}

#[test]
fn paths_realistic_and_loop_free() {
    let t = generate(&cfg(100_000, 10_000, 0.3, 13)).unwrap();
    for s in 0..2 {
        let r = t.speaker_routes(s).unwrap();
        let speaker = t.speakers()[s];
        let (mut total, mut prepended) = (0usize, 0usize);
        let mut hops: BTreeMap<u8, usize> = BTreeMap::new();
        // Per route, as the measured figures are per RIB entry.
        for (_, a) in r.iter() {
            let asns: Vec<u32> = a.as_path.iter().collect();
            assert!((2..=12).contains(&asns.len()), "path length {}", asns.len());
            assert_eq!(asns[0], speaker.asn);
            // Loop-free: an AS repeats only adjacently (prepending).
            let mut seen = HashSet::new();
            for (i, asn) in asns.iter().enumerate() {
                if i == 0 || asns[i - 1] != *asn {
                    assert!(seen.insert(*asn), "AS loop in {asns:?}");
                }
            }
            if seen.len() != asns.len() {
                prepended += 1;
            }
            *hops.entry(seen.len() as u8).or_default() += 1;
            total += asns.len();
        }
        let n = r.len() as f64;
        let mean = total as f64 / n;
        // Measured: 4.10 with prepends (route-views2, 2026-07-30).
        assert!(
            (3.95..=4.25).contains(&mean),
            "speaker {s}: mean path length {mean}"
        );
        let p = prepended as f64 / n;
        assert!(
            (0.16..=0.22).contains(&p),
            "speaker {s}: prepended share {p}"
        );
        for (h, want) in Weighted::new(dist::PATH_HOPS).shares() {
            let got = hops.get(&h).copied().unwrap_or(0) as f64 / n;
            assert!(
                (got - want).abs() <= 0.02,
                "speaker {s}: {h} hops {got:.3}, want {want:.3}"
            );
        }
    }
}

#[test]
fn speakers_compete_on_the_same_prefixes() {
    let t = generate(&cfg(10_000, 2_000, 0.3, 17)).unwrap();
    let r0 = t.speaker_routes(0).unwrap();
    let r1 = t.speaker_routes(1).unwrap();
    let (s0, s1) = (t.speakers()[0], t.speakers()[1]);
    let mut differ_beyond_first = 0;
    for ((p0, a0), (p1, a1)) in r0.iter().zip(r1.iter()) {
        assert_eq!(p0, p1);
        assert_eq!(a0.as_path.origin_as(), a1.as_path.origin_as());
        assert_eq!(a0.as_path.first_as(), Some(s0.asn));
        assert_eq!(a1.as_path.first_as(), Some(s1.asn));
        let want0 = match p0 {
            Prefix::V4(_) => NextHop::V4(s0.addr_v4),
            Prefix::V6(_) => NextHop::V6 {
                global: s0.addr_v6,
                link_local: None,
            },
        };
        assert_eq!(a0.next_hop, Some(want0));
        let tail0: Vec<u32> = a0.as_path.iter().skip(1).collect();
        let tail1: Vec<u32> = a1.as_path.iter().skip(1).collect();
        if tail0 != tail1 {
            differ_beyond_first += 1;
        }
    }
    assert!(
        differ_beyond_first > 12_000 / 4,
        "paths too similar: {differ_beyond_first}"
    );
}

#[test]
fn attribute_shares_and_origin_tail() {
    let t = generate(&cfg(200_000, 0, 0.3, 19)).unwrap();
    let r = t.speaker_routes(0).unwrap();
    let n = r.attr_sets().len() as f64;
    let share = |f: &dyn Fn(&PathAttributes) -> bool| {
        r.attr_sets().iter().filter(|a| f(a)).count() as f64 / n
    };
    let comm = share(&|a| !a.communities.is_empty());
    let large = share(&|a| !a.large_communities.is_empty());
    let med = share(&|a| a.med.is_some());
    assert!(
        (comm - dist::COMMUNITY_SHARE).abs() < 0.02,
        "communities {comm}"
    );
    assert!(
        (large - dist::LARGE_COMMUNITY_SHARE).abs() < 0.01,
        "large {large}"
    );
    // Repeats get a MED to stay distinct, so MED may run a little high.
    assert!((med - dist::MED_SHARE).abs() < 0.04, "med {med}");
    // Heavy tail of prefixes per origin: many single-prefix origins, a few
    // very large ones.
    let mut per_origin: HashMap<u32, usize> = HashMap::new();
    for (_, a) in r.iter() {
        *per_origin
            .entry(a.as_path.origin_as().unwrap())
            .or_default() += 1;
    }
    let origins = per_origin.len() as f64;
    let singles = per_origin.values().filter(|&&c| c == 1).count() as f64 / origins;
    let max = *per_origin.values().max().unwrap();
    assert!(
        (0.28..=0.42).contains(&singles),
        "single-prefix origins {singles}"
    );
    assert!((1_000..=3_100).contains(&max), "largest origin {max}");
    let mean = 200_000.0 / origins;
    assert!(
        (10.0..=20.0).contains(&mean),
        "mean prefixes per origin {mean}"
    );
}

#[test]
fn rejects_bad_config() {
    assert!(matches!(
        generate(&cfg(MAX_IPV4_PREFIXES + 1, 0, 0.3, 1)),
        Err(SynthError::TooLarge { .. })
    ));
    assert!(matches!(
        generate(&cfg(10, 0, 1.5, 1)),
        Err(SynthError::BadShare { .. })
    ));
    let empty = generate(&cfg(0, 0, 0.3, 1)).unwrap();
    assert!(empty.prefixes().is_empty());
    assert!(empty.speaker_routes(2).is_none());
}
