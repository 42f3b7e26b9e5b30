//! Criterion bench: RIB building blocks on synthetic inputs.
//!
//! * `intern/*`: interning 1000 sets per iteration out of 100k distinct
//!   sets, by value (`intern`) and through the raw-bytes cache
//!   (`intern_raw`, hit path).
//! * `best_path/*`: `select_best` and `rank` over 2, 8 and 17 paths.
//! * `adj_in/insert_1m`: 1M prefixes into an empty Adj-RIB-In.
//! * `adj_out/mark_and_drain_1m`: 1M prefixes marked in an Adj-RIB-Out,
//!   then drained by one member in batches of 4096.
//! * `adj_out/dense_mark_and_drain_1m`: the same in a `DenseAdjRibOut`
//!   following a Loc-RIB of the 1M prefixes (built, and each prefix's
//!   slot read, outside the timing: the shard reads it with the paths).
//! * `loc/withdraw_all_1m{,_recorded,_dense}`: a peer with 1M prefixes
//!   goes down; `_recorded` records the Loc-RIB's removals, `_dense` also
//!   hands them to a dense Adj-RIB-Out with one member, as the shard does.
//!
//! Before the groups run, it prints bytes per path for 1M prefixes × 2
//! peers: `AdjRibIn::heap_bytes` (hashbrown `allocation_size` + slot
//! vectors) and the process RSS growth as a cross-check.
//!
//! Run: `CARGO_TARGET_DIR=/work/target cargo bench -p rampart-benches
//! --bench rib -- --warm-up-time 1 --measurement-time 3`

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rampart_core::attr::{AsPath, Community, Origin, PathAttributes};
use rampart_core::nlri::{Ipv4Prefix, Prefix};
use rampart_core::rib::{
    AdjRibIn, AdjRibOut, Advertised, AttrSet, BestPathOptions, DenseAdjRibOut, Drain, Interner,
    LocRib, Path, PeerId, PeerInfo, PeerTable, Removal, SessionKind, rank, select_best,
};

const SETS: u32 = 100_000;
const PREFIXES: u32 = 1_000_000;

/// A deterministic xorshift generator (no RNG dependency).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 32) as u32
    }
}

/// Attribute set `k`: a 2–6 AS path ending in an origin AS, MED, 0–3
/// communities, next hop from a peer LAN.
fn attrs(k: u32) -> PathAttributes {
    let mut r = Rng(u64::from(k)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(1));
    let len = 2 + r.next() % 5;
    let path = (0..len).map(|i| {
        if i == 0 {
            64_500 + k % 8
        } else {
            1 + r.next() % 60_000
        }
    });
    PathAttributes {
        origin: Some(if k.is_multiple_of(10) {
            Origin::Incomplete
        } else {
            Origin::Igp
        }),
        as_path: AsPath::from_sequence(path),
        next_hop: Some(rampart_core::attr::NextHop::V4(Ipv4Addr::new(
            192,
            0,
            2,
            (k % 8) as u8,
        ))),
        med: k.is_multiple_of(3).then_some(r.next() % 100),
        communities: (0..k % 4)
            .map(|i| Community::new(64_500, i as u16))
            .collect(),
        ..PathAttributes::default()
    }
}

/// A toy wire form: the AS path, MED and community count as u32s. Only the
/// miss path parses it; the bench measures hits.
fn raw(a: &PathAttributes) -> Vec<u8> {
    let mut out: Vec<u8> = a.as_path.iter().flat_map(u32::to_be_bytes).collect();
    out.extend(a.med.unwrap_or(u32::MAX).to_be_bytes());
    out.extend((a.communities.len() as u32).to_be_bytes());
    out
}

fn prefix(i: u32) -> Prefix {
    // /24s from 1.0.0.0 plus every 16th prefix a /32 host route.
    let len = if i.is_multiple_of(16) { 32 } else { 24 };
    let addr = if len == 32 { (i << 8) | 1 } else { i << 8 };
    Prefix::V4(Ipv4Prefix::new(Ipv4Addr::from_bits(0x0100_0000 + addr), len).unwrap())
}

fn peer(n: u32) -> PeerId {
    PeerId::new(n).unwrap()
}

fn peer_table(n: u32) -> PeerTable {
    let mut t = PeerTable::new(Ipv4Addr::new(10, 255, 255, 1));
    for i in 0..n {
        let b = i.to_be_bytes();
        t.insert(
            peer(i),
            PeerInfo {
                bgp_id: Ipv4Addr::new(10, b[1], b[2], b[3]),
                addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, b[3])),
                asn: 64_500 + i % 8,
                kind: if i % 5 == 4 {
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

fn rss_bytes() -> Option<usize> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Prints bytes per path for 1M prefixes × 2 peers over 300k sets.
fn report_memory() {
    let rss0 = rss_bytes();
    let mut interner = Interner::new();
    let sets: Vec<AttrSet> = (0..300_000).map(|k| interner.intern(attrs(k))).collect();
    let rss1 = rss_bytes();
    let mut rib = AdjRibIn::new();
    for i in 0..PREFIXES {
        for p in 0..2 {
            let s = sets[((i * 7 + p * 13) % 300_000) as usize].clone();
            rib.insert(prefix(i), Path::new(s, peer(p), 0)).unwrap();
        }
    }
    let rss2 = rss_bytes();
    let paths = rib.path_count() as f64;
    println!(
        "memory: {} prefixes, {} paths, {} sets; table {:.1} B/path (heap_bytes), \
         sets {:.1} B/path (interner heap_bytes)",
        rib.len(),
        rib.path_count(),
        interner.len(),
        rib.heap_bytes() as f64 / paths,
        interner.heap_bytes() as f64 / paths,
    );
    if let (Some(a), Some(b), Some(c)) = (rss0, rss1, rss2) {
        println!(
            "memory: RSS growth: table {:.1} B/path, sets {:.1} B/path",
            c.saturating_sub(b) as f64 / paths,
            b.saturating_sub(a) as f64 / paths,
        );
    }
    black_box((rib, sets, interner));
}

fn bench_intern(c: &mut Criterion) {
    let all: Vec<PathAttributes> = (0..SETS).map(attrs).collect();
    let raws: Vec<Vec<u8>> = all.iter().map(raw).collect();
    let mut interner = Interner::new();
    let keep: Vec<AttrSet> = raws
        .iter()
        .zip(&all)
        .map(|(r, a)| interner.intern_raw(r, |_| Some(a.clone())).unwrap())
        .collect();
    // 1000 lookups per iteration, spread over the table.
    let picks: Vec<usize> = (0..1000).map(|i| (i * 7919) % SETS as usize).collect();

    let mut g = c.benchmark_group("intern");
    g.throughput(Throughput::Elements(picks.len() as u64));
    g.bench_function("intern_hit_1000", |b| {
        b.iter_batched(
            || picks.iter().map(|&i| all[i].clone()).collect::<Vec<_>>(),
            |batch| {
                for a in batch {
                    black_box(interner.intern(a));
                }
            },
            BatchSize::SmallInput,
        );
    });
    g.bench_function("intern_raw_hit_1000", |b| {
        b.iter(|| {
            for &i in &picks {
                black_box(interner.intern_raw(&raws[i], |_| None));
            }
        });
    });
    g.finish();
    black_box(keep);
}

fn bench_best_path(c: &mut Criterion) {
    let peers = peer_table(17);
    let opts = BestPathOptions::default();
    let mut g = c.benchmark_group("best_path");
    g.throughput(Throughput::Elements(1));
    for n in [2u32, 8, 17] {
        // Same LOCAL_PREF and similar lengths, so most steps are reached.
        let paths: Vec<Path> = (0..n)
            .map(|i| {
                let mut a = attrs(i * 31);
                a.as_path = AsPath::from_sequence([64_500 + i % 3, 3356, 15_169]);
                a.med = Some(i % 4);
                Path::new(AttrSet::new(a), peer(i), 0)
            })
            .collect();
        g.bench_function(format!("select_best_{n}"), |b| {
            b.iter(|| black_box(select_best(black_box(&paths), &peers, &opts)));
        });
        g.bench_function(format!("rank_{n}"), |b| {
            b.iter(|| black_box(rank(black_box(&paths), &peers, &opts)));
        });
    }
    g.finish();
}

fn bench_adj_in(c: &mut Criterion) {
    let mut interner = Interner::new();
    let sets: Vec<AttrSet> = (0..SETS).map(|k| interner.intern(attrs(k))).collect();
    let routes: Vec<(Prefix, Path)> = (0..PREFIXES)
        .map(|i| {
            let s = sets[(i % SETS) as usize].clone();
            (prefix(i), Path::new(s, peer(1), 0))
        })
        .collect();
    let mut g = c.benchmark_group("adj_in");
    g.sample_size(10);
    g.throughput(Throughput::Elements(u64::from(PREFIXES)));
    g.bench_function("insert_1m", |b| {
        b.iter_batched(
            || routes.clone(),
            |routes| {
                let mut rib = AdjRibIn::new();
                for (p, path) in routes {
                    rib.insert(p, path).unwrap();
                }
                rib
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

/// Takes batches from `drain` until one comes back empty; returns the
/// prefixes taken.
fn drain_all(mut drain: impl FnMut() -> Drain) -> usize {
    std::iter::from_fn(|| Some(drain()).filter(|d| !d.is_empty()))
        .map(|d| d.len())
        .sum()
}

/// Marks 1M prefixes in an Adj-RIB-Out with one member, then drains them
/// in batches of 4096 grouped by attribute set.
fn bench_adj_out(c: &mut Criterion) {
    let mut interner = Interner::new();
    let sets: Vec<AttrSet> = (0..SETS).map(|k| interner.intern(attrs(k))).collect();
    let states: Vec<(Prefix, Advertised)> = (0..PREFIXES)
        .map(|i| {
            let attrs = sets[(i % SETS) as usize].clone();
            (prefix(i), Advertised { attrs, path_id: 0 })
        })
        .collect();
    let mut g = c.benchmark_group("adj_out");
    g.sample_size(10);
    g.throughput(Throughput::Elements(u64::from(PREFIXES)));
    g.bench_function("mark_and_drain_1m", |b| {
        b.iter_batched(
            || states.clone(),
            |states| {
                let mut out = AdjRibOut::new();
                let m = out.add_member();
                for (p, s) in states {
                    out.mark(p, Some(s)).unwrap();
                }
                let n = drain_all(|| out.drain(m, 4096));
                assert_eq!(n, PREFIXES as usize);
                out
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

/// A Loc-RIB holding `routes` from peer 1, recording its removals when
/// `record`.
fn loc_of(routes: &[(Prefix, Path)], peers: &PeerTable, record: bool) -> LocRib {
    let mut loc = LocRib::new(BestPathOptions::default());
    if record {
        loc.record_removals();
    }
    for (p, path) in routes {
        let _ = loc.announce(*p, path.clone(), peers).unwrap();
    }
    loc
}

/// The dense Adj-RIB-Out and the Loc-RIB changes of a route server: see
/// the module doc.
fn bench_dense(c: &mut Criterion) {
    let mut interner = Interner::new();
    let sets: Vec<AttrSet> = (0..SETS).map(|k| interner.intern(attrs(k))).collect();
    let routes: Vec<(Prefix, Path)> = (0..PREFIXES)
        .map(|i| {
            let s = sets[(i % SETS) as usize].clone();
            (prefix(i), Path::new(s, peer(1), 0))
        })
        .collect();
    let peers = peer_table(1);
    let loc = loc_of(&routes, &peers, true);
    let mut g = c.benchmark_group("adj_out");
    g.sample_size(10);
    g.throughput(Throughput::Elements(u64::from(PREFIXES)));
    // The shard reads each prefix's Loc-RIB slot with its paths anyway.
    let states: Vec<(Prefix, Option<u32>, Advertised)> = routes
        .iter()
        .map(|(p, path)| {
            let attrs = path.attrs().clone();
            (*p, loc.paths_at(p).0, Advertised { attrs, path_id: 0 })
        })
        .collect();
    g.bench_function("dense_mark_and_drain_1m", |b| {
        b.iter_batched(
            || states.clone(),
            |states| {
                let mut out = DenseAdjRibOut::new();
                let m = out.add_member();
                for (p, slot, state) in states {
                    out.mark_at(p, slot, Some(state), false).unwrap();
                }
                let n = drain_all(|| out.drain(&loc, m, 4096));
                assert_eq!(n, PREFIXES as usize);
                out
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
    let mut g = c.benchmark_group("loc");
    g.sample_size(10);
    g.throughput(Throughput::Elements(u64::from(PREFIXES)));
    g.bench_function("withdraw_all_1m", |b| {
        b.iter_batched(
            || loc_of(&routes, &peers, false),
            |mut loc| {
                assert_eq!(loc.withdraw_all(peer(1), &peers).len(), PREFIXES as usize);
                loc
            },
            BatchSize::LargeInput,
        );
    });
    g.bench_function("withdraw_all_1m_recorded", |b| {
        b.iter_batched(
            || loc_of(&routes, &peers, true),
            |mut loc| {
                assert_eq!(loc.withdraw_all(peer(1), &peers).len(), PREFIXES as usize);
                let removed: usize = loc
                    .removals()
                    .map(|r| match r {
                        Removal::Moved { .. } => 1,
                        Removal::Compacted { removed, .. } => removed.len(),
                    })
                    .sum();
                assert_eq!(removed, PREFIXES as usize);
                loc
            },
            BatchSize::LargeInput,
        );
    });
    g.bench_function("withdraw_all_1m_dense", |b| {
        b.iter_batched(
            || {
                let loc = loc_of(&routes, &peers, true);
                let mut out = DenseAdjRibOut::new();
                let m = out.add_member();
                for (p, path) in &routes {
                    let state = Advertised {
                        attrs: path.attrs().clone(),
                        path_id: 0,
                    };
                    out.mark_at(*p, loc.paths_at(p).0, Some(state), false)
                        .unwrap();
                }
                drain_all(|| out.drain(&loc, m, 4096));
                (loc, out)
            },
            |(mut loc, mut out)| {
                let gone = loc.withdraw_all(peer(1), &peers);
                for r in loc.removals() {
                    out.removed(&r);
                }
                assert_eq!(gone.len(), PREFIXES as usize);
                assert_eq!(out.dirty_len(), PREFIXES as usize);
                (loc, out)
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    report_memory();
    bench_intern(c);
    bench_best_path(c);
    bench_adj_in(c);
    bench_adj_out(c);
    bench_dense(c);
}

criterion_group!(rib, benches);
criterion_main!(rib);
